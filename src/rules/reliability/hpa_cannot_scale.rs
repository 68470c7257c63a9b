use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::reliability::common::hpa_min;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A HorizontalPodAutoscaler has room to scale: `spec.maxReplicas` must be greater than
    /// `spec.minReplicas` (1 when unset, the Kubernetes default).
    ///
    /// Polaris's `hpaMaxAvailability` checks the same when `minReplicas` is set; without it Polaris
    /// accepts any `maxReplicas`, while this rule also flags `maxReplicas: 1` there (the default
    /// minimum is 1, so such an HPA can never scale either).
    ///
    /// ## Why it matters
    /// An autoscaler whose maximum equals its minimum never changes the replica count: under load the
    /// workload saturates while the HPA looks configured, and the fixed count it enforces overrides any
    /// `replicas` someone sets on the workload.
    ///
    /// ## Example
    /// ```yaml
    /// kind: HorizontalPodAutoscaler
    /// spec:
    ///   minReplicas: 5
    ///   maxReplicas: 5
    /// ```
    ///
    /// ## Fix
    /// Raise `maxReplicas` to what the cluster (and the budget) can afford at peak, or delete the HPA and
    /// set `replicas` on the workload if a fixed size is intended. The fix is display-only: the right
    /// ceiling depends on capacity and cost, so it shows a `<MAX_REPLICAS>` placeholder.
    pub struct HpaCannotScale;
    meta {
        id: "REL016",
        name: "hpa-cannot-scale",
        area: Area::Reliability,
        severity: Severity::Low,
        default_enabled: true,
        summary: "HorizontalPodAutoscaler has maxReplicas no greater than minReplicas",
        fix: Some(Applicability::DisplayOnly),
        equivalents: Equivalents {
            polaris: &["hpaMaxAvailability"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for HpaCannotScale {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "HorizontalPodAutoscaler" {
            return;
        }
        let path = "/spec/maxReplicas";
        let Some(raw) = o.get(path) else { return };
        let Some(max) = raw.as_i64() else { return };
        let min = hpa_min(o);
        if max > min {
            return;
        }
        let min_evidence = match o.get("/spec/minReplicas") {
            Some(v) if !v.is_null() => Evidence::field("/spec/minReplicas", v),
            _ => Evidence::note("/spec/minReplicas", "<unset> (defaults to 1)"),
        };
        let target = o.get("/spec/scaleTargetRef/name").and_then(Value::as_str).unwrap_or("its target");
        out.push(
            Violation::new(
                path,
                format!(
                    "HorizontalPodAutoscaler `{}` has maxReplicas {max} and minReplicas {min}, so it never scales `{target}`",
                    o.name
                ),
            )
            .evidence(Evidence::field(path, raw))
            .evidence(min_evidence)
            .fix(
                Fix::new("Raise maxReplicas", Applicability::DisplayOnly, vec![FixOp::Replace {
                    path: path.to_string(),
                    value: json!("<MAX_REPLICAS>").into(),
                }])
                .with_note("replace <MAX_REPLICAS> with the most replicas capacity and budget allow at peak"),
            ),
        );
    }
}
