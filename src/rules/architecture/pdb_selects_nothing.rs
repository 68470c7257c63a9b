use serde_json::Value;

use crate::declare_rule;
use crate::graph::Edge;
use crate::model::{Area, Evidence, Severity};
use crate::rules::architecture::{any_workload_matches, operator_owner, without_controller_labels};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A PodDisruptionBudget selects the pods of at least one workload in its namespace.
    ///
    /// A PDB without `spec.selector` protects nothing (in `policy/v1` a missing selector selects no
    /// pod) and is always reported. For a PDB whose selector matches no workload, the rule stays
    /// silent, as for Services, when the input holds no workload in the namespace, when the selector
    /// only names labels controllers add at runtime, or when a custom resource in the namespace
    /// looks like the pods' owner (an operator creates them).
    ///
    /// ## Why it matters
    /// The budget protects nothing: node drains and cluster upgrades may evict every replica of the
    /// workload it was written for at once. Nothing warns about it until the outage.
    ///
    /// ## Example
    /// ```yaml
    /// kind: PodDisruptionBudget
    /// spec:
    ///   minAvailable: 1
    ///   selector:
    ///     matchLabels: { app: api-server }   # the pods are labelled app: api
    /// ```
    ///
    /// ## Fix
    /// Make the selector match the labels of the workload's pod template. There is no automatic fix:
    /// which workload the budget was meant for cannot be known.
    pub struct PdbSelectsNothing;
    meta {
        id: "ARC006",
        name: "pdb-selects-nothing",
        area: Area::Architecture,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "PodDisruptionBudget selects no workload in the input",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

impl Rule for PdbSelectsNothing {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "PodDisruptionBudget" {
            return;
        }
        let Some(selector) = o.get("/spec/selector").filter(|s| !s.is_null()) else {
            out.push(
                Violation::new("/spec/selector", "PodDisruptionBudget has no selector: it protects no pod")
                    .evidence(Evidence::unset("/spec/selector")),
            );
            return;
        };
        if !cx.graph.targets(idx, Edge::Protects).is_empty() {
            return;
        }
        let ns = o.effective_namespace().unwrap_or("default");
        let workloads = cx.graph.workloads_in(ns);
        if workloads == 0 {
            return;
        }
        let Some(relaxed) = without_controller_labels(selector) else { return };
        if any_workload_matches(cx, ns, &relaxed) || operator_owner(cx, ns, selector).is_some() {
            return;
        }
        let path = if selector.get("matchLabels").is_some_and(Value::is_object) {
            "/spec/selector/matchLabels"
        } else {
            "/spec/selector"
        };
        out.push(
            Violation::new(
                path,
                format!(
                    "selector matches no pods: none of the {workloads} workload(s) in namespace `{ns}` has these labels, \
                     so the budget protects nothing"
                ),
            )
            .evidence(Evidence::field("/spec/selector", selector))
            .evidence(Evidence::note("graph", format!("{workloads} workload(s) in namespace `{ns}`, none selected"))),
        );
    }
}
