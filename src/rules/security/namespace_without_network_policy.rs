use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every Namespace object in the input has at least one NetworkPolicy in the input.
    /// Namespaces Kubernetes manages itself (`kube-system`, `kube-public`, `kube-node-lease`)
    /// are skipped. Workloads in such namespaces are also reported by SEC021.
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

impl Rule for NamespaceWithoutNetworkPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "Namespace" || matches!(o.name.as_str(), "kube-system" | "kube-public" | "kube-node-lease") {
            return;
        }
        if o.name.is_empty() || cx.graph.namespace_has_network_policy(&o.name) {
            return;
        }
        out.push(
            Violation::new("/metadata/name", format!("namespace `{}` has no NetworkPolicy in the input", o.name))
                .evidence(Evidence::note(format!("graph: NetworkPolicy in namespace {}", o.name), "none")),
        );
    }
}
