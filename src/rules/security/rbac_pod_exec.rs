use crate::declare_rule;
use crate::model::{Area, Severity};
use crate::rules::security::common::{Builtin, for_each_role_rule};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No Role or ClusterRole lets its holders exec into or attach to pods: a rule on the core API
    /// group (`""` or `*`) with resources `pods/exec`, `pods/attach` (or `*`, `*/exec`, `*/attach`)
    /// and verb `create`, `get` (exec also works through a websocket `get`) or `*`.
    /// Roles Kubernetes or GKE define are skipped: names starting with `system:`,
    /// `gce:podsecuritypolicy:calico-sa`, the ClusterRoles `admin`, `edit` and `cluster-admin`,
    /// and roles labelled `kubernetes.io/bootstrapping: rbac-defaults`.
    /// Bindings to such roles are covered by SEC019.
    ///
    /// ## Why it matters
    /// Exec and attach give a shell inside running pods: their files, their environment (secrets),
    /// their ServiceAccount token and their network position. It is rarely needed outside
    /// break-glass access, and it bypasses image and admission controls.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Role
    /// rules:
    ///   - apiGroups: [""]
    ///     resources: ["pods/exec"]
    ///     verbs: ["create"]
    /// ```
    ///
    /// ## Fix
    /// Remove `pods/exec` and `pods/attach` (and wildcards that include them) from the role; grant
    /// them only through a separate, audited break-glass role. There is no automatic fix.
    pub struct RbacPodExec;
    meta {
        id: "SEC018",
        name: "rbac-pod-exec",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Role allows exec or attach into pods",
        fix: None,
        equivalents: Equivalents {
            polaris: &["clusterrolePodExecAttach", "rolePodExecAttach"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for RbacPodExec {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        for_each_role_rule(cx, idx, Builtin::PolarisDefaults, |_, rule| {
            if rule.allows_exec() {
                out.push(
                    Violation::new(&rule.path, format!("rule {} allows exec or attach into pods", rule.index))
                        .evidence(rule.evidence("resources"))
                        .evidence(rule.evidence("verbs")),
                );
            }
        });
    }
}
