use serde_json::json;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::reliability::common::{Budget, protected_floor};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A PodDisruptionBudget whose selected workloads are scaled by a HorizontalPodAutoscaler (or a KEDA
    /// ScaledObject) does not require more available pods than the autoscaler's floor: `minAvailable`
    /// (a number, or a percentage rounded up as the disruption controller does) is compared with the
    /// sum of `minReplicas` of the autoscalers (plus `replicas` of other selected workloads). Reported on
    /// the budget. When `minAvailable` equals the floor, REL011 reports it instead (no pod can be
    /// evicted at the floor either).
    ///
    /// An HPA without `minReplicas` has a floor of 1, as Kubernetes defaults it; Polaris's
    /// `pdbMinAvailableGreaterThanHPAMinReplicas` skips such HPAs, so this rule flags one case it passes.
    ///
    /// ## Why it matters
    /// Whenever the autoscaler sits at its minimum, the budget can never be met: the workload counts as
    /// disrupted while it is healthy, no pod can be evicted, and every node drain hangs on it.
    ///
    /// ## Example
    /// ```yaml
    /// kind: PodDisruptionBudget
    /// spec:
    ///   minAvailable: 10
    /// ---
    /// kind: HorizontalPodAutoscaler
    /// spec:
    ///   minReplicas: 5
    /// ```
    ///
    /// ## Fix
    /// Lower `minAvailable` below the autoscaler's `minReplicas`, or use `maxUnavailable: 1`, which holds
    /// at every scale. The automatic fix sets `minAvailable` to one less than the floor (when the floor
    /// is at least 2) and is unsafe: it lets drains evict pods the budget used to hold.
    pub struct PdbMinAvailableAboveHpaMin;
    meta {
        id: "REL017",
        name: "pdb-min-available-above-hpa-min",
        area: Area::Reliability,
        severity: Severity::High,
        default_enabled: true,
        summary: "PodDisruptionBudget minAvailable is above the autoscaler's minReplicas",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["pdbMinAvailableGreaterThanHPAMinReplicas"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for PdbMinAvailableAboveHpaMin {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "PodDisruptionBudget" {
            return;
        }
        let path = "/spec/minAvailable";
        let Some(raw) = o.get(path) else { return };
        let Some(min) = Budget::of(Some(raw)) else { return };
        let Some((targets, floor, scalers)) = protected_floor(cx, idx) else { return };
        if scalers.is_empty() || floor <= 0 {
            return;
        }
        let required = min.scaled(floor);
        if required <= floor {
            return;
        }
        let names: Vec<String> =
            targets.iter().filter_map(|&t| cx.object(t)).map(|t| format!("{} `{}`", t.kind, t.name)).collect();
        let mut v = Violation::new(
            path,
            format!(
                "PodDisruptionBudget `{}` requires {required} available pods but the autoscaler may scale {} down to {floor}",
                o.name,
                names.join(", ")
            ),
        )
        .evidence(Evidence::field(path, raw));
        for a in &scalers {
            if let Some(h) = cx.object(a.idx) {
                v = v.evidence(Evidence::note("graph", format!("{} `{}` minReplicas = {}", h.kind, h.name, a.min)));
            }
        }
        if floor >= 2 {
            v = v.fix(
                Fix::new(
                    format!("Require at most {} available pods", floor - 1),
                    Applicability::Unsafe,
                    vec![FixOp::Replace { path: path.to_string(), value: json!(floor - 1).into() }],
                )
                .with_note("lets drains evict pods the budget used to hold"),
            );
        }
        out.push(v);
    }
}
