use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation, is_true};

declare_rule! {
    /// ## What it checks
    /// Neither the pod nor any container sets `securityContext.windowsOptions.hostProcess: true`.
    ///
    /// ## Why it matters
    /// A Windows HostProcess container runs directly on the node as a host process, with the
    /// node's network and filesystem and, usually, SYSTEM privileges: it is the Windows
    /// equivalent of a privileged container.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     windowsOptions:
    ///       hostProcess: true
    ///       runAsUserName: "NT AUTHORITY\\SYSTEM"
    ///   hostNetwork: true
    /// ```
    ///
    /// ## Fix
    /// Run the workload as a normal Windows container; node agents that truly need host access
    /// should be exempted with a reason. There is no automatic fix: a HostProcess workload does
    /// not work as a normal container, and the API requires `hostNetwork` to match.
    pub struct HostProcess;
    meta {
        id: "SEC024",
        name: "host-process",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Windows pod runs as a HostProcess on the node",
        fix: None,
        equivalents: Equivalents {
            polaris: &["hostProcess"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for HostProcess {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let rel = "/securityContext/windowsOptions/hostProcess";
        if is_true(w.spec(rel)) {
            let path = w.spec_field(rel);
            out.push(
                Violation::new(&path, "pods run as HostProcess containers on the node")
                    .evidence(Evidence::field(&path, &serde_json::Value::Bool(true))),
            );
        }
        for c in w.containers() {
            if is_true(c.get(rel)) {
                let path = c.field(rel);
                out.push(
                    Violation::new(&path, format!("container `{}` runs as a HostProcess on the node", c.name()))
                        .evidence(Evidence::field(&path, &serde_json::Value::Bool(true))),
                );
            }
        }
    }
}
