use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, Severity};
use crate::rules::reliability::common::set;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every HorizontalPodAutoscaler keeps at least two replicas: `spec.minReplicas` unset (Kubernetes
    /// defaults it to 1) or `1` is flagged. `minReplicas: 0` (scale to zero, behind the
    /// `HPAScaleToZero` feature gate) is taken as deliberate and not flagged.
    ///
    /// Polaris's `hpaMinAvailability` passes an HPA without `minReplicas` (its schema only checks the
    /// field when present); this rule applies the Kubernetes default and flags it, since the HPA then
    /// scales down to a single pod just the same.
    ///
    /// ## Why it matters
    /// At low load the autoscaler scales the workload down to its minimum. With a minimum of one, every
    /// quiet period turns the workload into a single replica: a node drain or a crash then takes it down,
    /// and the HPA needs minutes of metrics before it scales back up.
    ///
    /// ## Example
    /// ```yaml
    /// kind: HorizontalPodAutoscaler
    /// spec:
    ///   minReplicas: 1
    ///   maxReplicas: 10
    /// ```
    ///
    /// ## Fix
    /// Set `minReplicas: 2` (raising `maxReplicas` to 2 if it is lower). The automatic fix is unsafe:
    /// it doubles the workload's cost at its floor.
    pub struct HpaMinReplicas;
    meta {
        id: "REL015",
        name: "hpa-min-replicas",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "HorizontalPodAutoscaler can scale down to one replica",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["hpaMinAvailability"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for HpaMinReplicas {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "HorizontalPodAutoscaler" {
            return;
        }
        let path = "/spec/minReplicas";
        let evidence = match o.get(path) {
            None | Some(Value::Null) => Evidence::note(path, "<unset> (defaults to 1)"),
            Some(v) if v.as_i64() == Some(1) => Evidence::field(path, v),
            // 0 is scale-to-zero; anything else is 2+ or malformed (the schema rules report it).
            Some(_) => return,
        };
        let mut ops = vec![set(o, path.to_string(), json!(2))];
        if o.get("/spec/maxReplicas").and_then(Value::as_i64).is_some_and(|m| m < 2) {
            ops.push(set(o, "/spec/maxReplicas".to_string(), json!(2)));
        }
        let target = o.get("/spec/scaleTargetRef/name").and_then(Value::as_str).unwrap_or("its target");
        out.push(
            Violation::new(
                path,
                format!("HorizontalPodAutoscaler `{}` can scale `{target}` down to a single replica", o.name),
            )
            .evidence(evidence)
            .fix(
                Fix::new("Keep at least 2 replicas", Applicability::Unsafe, ops)
                    .with_note("doubles the workload's cost at its minimum"),
            ),
        );
    }
}
