use crate::declare_rule;
use crate::graph::Edge;
use crate::model::{Area, Evidence, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation, is_true};

declare_rule! {
    /// ## What it checks
    /// The pods of every workload are selected by at least one NetworkPolicy in the input, in
    /// their namespace (`podSelector` matched against the pod template's labels; `{}` selects all).
    /// The message says when the namespace has no NetworkPolicy at all; then, when the Namespace
    /// object is in the input, SEC022 owns the problem (one finding on the Namespace naming these
    /// workloads) and this rule does not report it on every workload.
    /// Pods with `hostNetwork: true` are skipped: NetworkPolicies do not apply to them (see SEC007).
    ///
    /// ## Why it matters
    /// A pod no NetworkPolicy selects accepts traffic from, and sends traffic to, every pod in the
    /// cluster. One compromised workload can then reach databases, internal admin endpoints and
    /// other tenants' services directly.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata: { name: api, namespace: shop }
    /// spec:
    ///   template:
    ///     metadata: { labels: { app: api } }
    /// # ... and no NetworkPolicy in namespace shop selects app=api
    /// ```
    ///
    /// ## Fix
    /// Add a default-deny policy for the namespace and policies that allow the traffic each
    /// workload needs:
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: { name: default-deny, namespace: shop }
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Ingress, Egress]
    /// ```
    /// There is no automatic fix: allowed traffic depends on the application.
    /// (Polaris's `missingNetworkPolicy` is stricter and different: it wants one policy with both
    /// ingress and egress rules, and fails default-deny policies.)
    pub struct NoNetworkPolicy;
    meta {
        id: "SEC021",
        name: "no-network-policy",
        area: Area::Security,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Workload's pods are not selected by any NetworkPolicy",
        fix: None,
        equivalents: Equivalents {
            polaris: &[],
            kube_score: &[],
            kube_linter: &["non-isolated-pod"],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for NoNetworkPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        if is_true(w.spec("/hostNetwork")) || !cx.graph.sources(idx, Edge::Isolates).is_empty() {
            return;
        }
        let ns = w.object.effective_namespace().unwrap_or("default");
        let labels_path = format!("{}/labels", w.pod_meta_path);
        let labels = w.pod_labels.map_or_else(
            || "<none>".to_string(),
            |l| l.iter().map(|(k, v)| format!("{k}={}", crate::model::value_text(v))).collect::<Vec<_>>().join(","),
        );
        if super::namespace_without_network_policy::reports(cx, ns) {
            // SEC022 reports the namespace once, naming this workload.
            return;
        }
        let (message, note) = if cx.graph.namespace_has_network_policy(ns) {
            (
                format!(
                    "no NetworkPolicy in namespace `{ns}` selects these pods: all traffic to and from them is allowed"
                ),
                "NetworkPolicies exist in the namespace; none selects these labels",
            )
        } else {
            (
                format!("namespace `{ns}` has no NetworkPolicy at all: all traffic to and from these pods is allowed"),
                "no NetworkPolicy in the namespace",
            )
        };
        out.push(
            Violation::new(w.pod_meta_path, message)
                .evidence(Evidence::note(labels_path, labels))
                .evidence(Evidence::note(format!("graph: NetworkPolicy in namespace {ns}"), note)),
        );
    }
}
