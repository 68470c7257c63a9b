use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::security::common::check_pod_flag;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// The pod spec does not set `hostIPC: true` (any workload kind, CronJobs included).
    ///
    /// ## Why it matters
    /// In the node's IPC namespace the pod can read and write shared memory and message queues
    /// of every process on the node, and interfere with them.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostIPC: true
    ///   containers:
    ///     - name: agent
    ///       image: example/agent:1.0
    /// ```
    ///
    /// ## Fix
    /// Remove `hostIPC` (it defaults to false). Node agents that truly need it should be exempted
    /// with a reason instead. The automatic fix removes the field and is unsafe: a workload that
    /// really needs the host namespace stops working.
    pub struct HostIpc;
    meta {
        id: "SEC009",
        name: "host-ipc",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Pod shares the node's IPC namespace",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["hostIPCSet"],
            kube_score: &[],
            kube_linter: &["host-ipc"],
            checkov: &["CKV_K8S_18"],
            trivy: &["KSV008"],
        },
    }
}

impl Rule for HostIpc {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        check_pod_flag(cx, idx, "hostIPC", "share the node's IPC namespace (hostIPC: true)", out);
    }
}
