use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::security::common::check_pod_flag;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// The pod spec does not set `hostPID: true` (any workload kind, CronJobs included).
    ///
    /// ## Why it matters
    /// In the node's PID namespace the pod sees every process on the node, can read their
    /// environment and command lines (secrets often live there), and with `SYS_PTRACE` or root
    /// can attach to them: an easy escape to the node.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostPID: true
    ///   containers:
    ///     - name: agent
    ///       image: example/agent:1.0
    /// ```
    ///
    /// ## Fix
    /// Remove `hostPID` (it defaults to false). Node agents that truly need it should be exempted
    /// with a reason instead. The automatic fix removes the field and is unsafe: a workload that
    /// really needs the host namespace stops working.
    pub struct HostPid;
    meta {
        id: "SEC008",
        name: "host-pid",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Pod shares the node's process namespace",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["hostPIDSet"],
            kube_score: &[],
            kube_linter: &["host-pid"],
            checkov: &["CKV_K8S_17"],
            trivy: &["KSV010"],
        },
    }
}

impl Rule for HostPid {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        check_pod_flag(cx, idx, "hostPID", "share the node's process namespace (hostPID: true)", out);
    }
}
