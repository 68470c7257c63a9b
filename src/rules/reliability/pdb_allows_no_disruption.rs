use serde_json::json;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::reliability::common::{Budget, protected_floor};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A PodDisruptionBudget allows at least one voluntary disruption. It is flagged when
    /// - `maxUnavailable` is `0` or `0%`;
    /// - `minAvailable` is `100%` (or more);
    /// - `minAvailable` (a number, or a percentage rounded up as the disruption controller does) is at
    ///   least the number of pods it protects: the `replicas` of the workloads whose pods it selects, or,
    ///   for a workload an autoscaler scales, the autoscaler's `minReplicas` (at that floor no pod may
    ///   be evicted). Where `minAvailable` is even above an autoscaler's floor, REL017 reports it instead.
    ///
    /// Counts are only compared when every selected workload's size is known from the input
    /// (DaemonSets and Jobs are skipped).
    ///
    /// ## Why it matters
    /// A budget that allows no disruption blocks every `kubectl drain`: node upgrades, cluster
    /// autoscaler scale-down and maintenance hang on these pods until someone deletes the budget by hand,
    /// which usually happens in a hurry and without the protection the budget was meant to give.
    ///
    /// ## Example
    /// ```yaml
    /// kind: PodDisruptionBudget
    /// spec:
    ///   maxUnavailable: 0
    /// ```
    ///
    /// ## Fix
    /// Allow one pod at a time to be disrupted:
    /// ```yaml
    /// spec:
    ///   maxUnavailable: 1
    /// ```
    /// The automatic fix sets `maxUnavailable: 1` (removing `minAvailable`). It is unsafe: it lets drains
    /// evict a pod the budget used to hold, so a single-replica workload goes down during the drain
    /// (run two replicas first, REL007).
    pub struct PdbAllowsNoDisruption;
    meta {
        id: "REL011",
        name: "pdb-allows-no-disruption",
        area: Area::Reliability,
        severity: Severity::High,
        default_enabled: true,
        summary: "PodDisruptionBudget allows no voluntary disruption",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["pdbDisruptionsIsZero"],
            kube_score: &[],
            kube_linter: &["pdb-max-unavailable", "pdb-min-available"],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for PdbAllowsNoDisruption {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "PodDisruptionBudget" {
            return;
        }
        let note = "lets drains evict pods the budget used to hold";
        let has_max = o.get("/spec/maxUnavailable").is_some_and(|v| !v.is_null());
        let to_max_one = |extra: Vec<FixOp>| {
            let mut ops = extra;
            if !has_max {
                ops.push(FixOp::Add { path: "/spec/maxUnavailable".to_string(), value: json!(1).into() });
            }
            Fix::new("Allow one pod to be unavailable", Applicability::Unsafe, ops).with_note(note)
        };
        let max_path = "/spec/maxUnavailable";
        if let Some(raw) = o.get(max_path)
            && Budget::of(Some(raw)).is_some_and(Budget::is_zero)
        {
            out.push(
                Violation::new(max_path, format!("PodDisruptionBudget `{}` allows no pod to be unavailable", o.name))
                    .evidence(Evidence::field(max_path, raw))
                    .fix(
                        Fix::new(
                            "Allow one pod to be unavailable",
                            Applicability::Unsafe,
                            vec![FixOp::Replace { path: max_path.to_string(), value: json!(1).into() }],
                        )
                        .with_note(note),
                    ),
            );
            return;
        }
        let min_path = "/spec/minAvailable";
        let Some(raw) = o.get(min_path) else { return };
        let Some(min) = Budget::of(Some(raw)) else { return };
        let remove_min = vec![FixOp::Remove { path: min_path.to_string() }];
        if let Budget::Percent(p) = min
            && p >= 100.0
        {
            out.push(
                Violation::new(
                    min_path,
                    format!("PodDisruptionBudget `{}` requires every pod to stay available", o.name),
                )
                .evidence(Evidence::field(min_path, raw))
                .fix(to_max_one(remove_min)),
            );
            return;
        }
        let Some((targets, floor, scalers)) = protected_floor(cx, idx) else { return };
        if floor <= 0 {
            return;
        }
        let required = min.scaled(floor);
        // Above an autoscaler's floor is REL017's finding.
        if required < floor || (required > floor && !scalers.is_empty()) {
            return;
        }
        let names: Vec<String> =
            targets.iter().filter_map(|&t| cx.object(t)).map(|t| format!("{} `{}`", t.kind, t.name)).collect();
        let at = if scalers.is_empty() { "" } else { " at the autoscaler's minimum" };
        let pods = if floor == 1 { "pod" } else { "pods" };
        let mut v = Violation::new(
            min_path,
            format!(
                "PodDisruptionBudget `{}` requires {required} of {floor} {pods}{at} to stay available, so no pod can be evicted",
                o.name
            ),
        )
        .evidence(Evidence::field(min_path, raw))
        .evidence(Evidence::note("graph", format!("protects {} ({floor} {pods}{at})", names.join(", "))));
        for a in &scalers {
            if let Some(h) = cx.object(a.idx) {
                v = v.evidence(Evidence::note("graph", format!("{} `{}` minReplicas = {}", h.kind, h.name, a.min)));
            }
        }
        out.push(v.fix(to_max_one(remove_min)));
    }
}
