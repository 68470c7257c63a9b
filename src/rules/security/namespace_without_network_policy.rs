use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every Namespace object in the input has at least one NetworkPolicy in the input.
    /// Namespaces Kubernetes manages itself (`kube-system`, `kube-public`, `kube-node-lease`)
    /// are skipped. This rule owns the "no NetworkPolicy at all" problem: SEC021 does not repeat
    /// it on each of the namespace's workloads, which this finding names in its evidence.
    ///
    /// ## Why it matters
    /// Without any NetworkPolicy, every pod in the namespace accepts connections from every pod in
    /// the cluster and may connect anywhere. A default-deny policy is the baseline that makes
    /// the allowed flows explicit.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata: { name: shop }
    /// # ... and no NetworkPolicy with namespace: shop
    /// ```
    ///
    /// ## Fix
    /// Add a default-deny policy, then allow what each workload needs:
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: { name: default-deny, namespace: shop }
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Ingress, Egress]
    /// ```
    /// There is no automatic fix: a new object is needed, and allowed traffic depends on the apps.
    pub struct NamespaceWithoutNetworkPolicy;
    meta {
        id: "SEC022",
        name: "namespace-without-network-policy",
        area: Area::Security,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Namespace has no NetworkPolicy",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// How many workloads the evidence names before "and N more".
const SHOWN: usize = 5;

/// Whether this rule reports namespace `ns` (so SEC021 leaves the "no policy at all" case to it):
/// it runs, the Namespace object is in the input, Kubernetes does not manage it, and no
/// NetworkPolicy is in it.
#[must_use]
pub fn reports(cx: &Context<'_>, ns: &str) -> bool {
    cx.runs("SEC022")
        && !ns.is_empty()
        && !matches!(ns, "kube-system" | "kube-public" | "kube-node-lease")
        && cx.graph.find("Namespace", None, ns).is_some()
        && !cx.graph.namespace_has_network_policy(ns)
}

impl Rule for NamespaceWithoutNetworkPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "Namespace" || !reports(cx, &o.name) {
            return;
        }
        let mut v =
            Violation::new("/metadata/name", format!("namespace `{}` has no NetworkPolicy in the input", o.name))
                .evidence(Evidence::note(format!("graph: NetworkPolicy in namespace {}", o.name), "none"));
        // The workloads SEC021 would otherwise report one by one.
        if cx.runs("SEC021") {
            let mut names: Vec<String> = cx
                .graph
                .in_namespace(&o.name)
                .iter()
                .filter_map(|&i| cx.workload(i))
                .filter(|w| !crate::rules::is_true(w.spec("/hostNetwork")))
                .map(|w| format!("{} {}", w.object.kind, w.object.name))
                .collect();
            names.sort();
            names.dedup();
            if !names.is_empty() {
                let shown = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
                let more = names.len().saturating_sub(SHOWN);
                let value = if more > 0 { format!("{shown} and {more} more") } else { shown };
                v = v.evidence(Evidence::note("graph: workloads in the namespace", value));
            }
        }
        out.push(v);
    }
}
