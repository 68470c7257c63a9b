use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::security::common::check_pod_flag;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// The pod spec does not set `hostNetwork: true` (any workload kind, CronJobs included).
    ///
    /// ## Why it matters
    /// With the node's network namespace the pod sees every interface of the node, can listen on
    /// any node port, reach services bound to localhost on the node (kubelet, metadata endpoints),
    /// and bypasses NetworkPolicies, which do not apply to host-network pods.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostNetwork: true
    ///   containers:
    ///     - name: agent
    ///       image: example/agent:1.0
    /// ```
    ///
    /// ## Fix
    /// Remove `hostNetwork` (it defaults to false). Node agents that truly need it should be exempted
    /// with a reason instead. The automatic fix removes the field and is unsafe: a workload that
    /// really needs the host namespace stops working.
    pub struct HostNetwork;
    meta {
        id: "SEC007",
        name: "host-network",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Pod shares the node's network namespace",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["hostNetworkSet"],
            kube_score: &[],
            kube_linter: &["host-network"],
            checkov: &["CKV_K8S_19"],
            trivy: &["KSV009"],
        },
    }
}

impl Rule for HostNetwork {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        check_pod_flag(cx, idx, "hostNetwork", "share the node's network namespace (hostNetwork: true)", out);
    }
}
