use crate::declare_rule;
use crate::model::{Area, Severity};
use crate::rules::security::common::{Binding, Builtin, RbacRule, USER_FACING_CLUSTER_ROLES, binding, rbac_rules};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

/// Built-in ClusterRoles (bootstrap policy) that grant no exec or attach, so bindings to them are fine
/// even when the role itself is not in the input.
const BUILTIN_CLUSTER_ROLES_WITHOUT_EXEC: &[&str] = &[
    "view",
    "system:aggregate-to-view",
    "system:auth-delegator",
    "system:basic-user",
    "system:discovery",
    "system:heapster",
    "system:kube-dns",
    "system:monitoring",
    "system:node-proxier",
    "system:persistent-volume-provisioner",
    "system:public-info-viewer",
];

/// Built-in Roles in `kube-system` that grant no exec or attach.
const BUILTIN_ROLES_WITHOUT_EXEC: &[&str] = &[
    "extension-apiserver-authentication-reader",
    "system::leader-locking-kube-controller-manager",
    "system::leader-locking-kube-scheduler",
];

declare_rule! {
    /// ## What it checks
    /// No RoleBinding or ClusterRoleBinding grants a role that allows exec or attach into pods
    /// (see SEC018 for what counts), and every binding's role can be checked:
    /// - the role is in the input and one of its rules allows `pods/exec` or `pods/attach`; or
    /// - the role is a built-in that allows them (`cluster-admin`, `admin`, `edit`); or
    /// - the role is not in the input at all, so nothing shows it does not. Built-in roles known to
    ///   grant neither are excepted: `view`, `system:auth-delegator`, `system:discovery`,
    ///   `system:basic-user`, `system:public-info-viewer` and similar ClusterRoles, and the
    ///   `kube-system` Role `extension-apiserver-authentication-reader`.
    ///
    /// Bindings Kubernetes or GKE create are skipped: names starting with `system:`,
    /// `gce:podsecuritypolicy:calico-sa`, the ClusterRoleBinding named `cluster-admin`, and
    /// bindings labelled `kubernetes.io/bootstrapping: rbac-defaults`.
    ///
    /// ## Why it matters
    /// The subjects of the binding can open a shell in running pods: read their files, environment
    /// and ServiceAccount tokens, and act from their network position.
    ///
    /// ## Example
    /// ```yaml
    /// kind: RoleBinding
    /// metadata: { name: support, namespace: shop }
    /// roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit }
    /// subjects:
    ///   - { kind: Group, name: support }
    /// ```
    ///
    /// ## Fix
    /// Bind a role without `pods/exec` and `pods/attach` (`view`, or a custom role), and keep exec
    /// for an audited break-glass binding. When the role lives outside these manifests, audit it
    /// together with them. There is no automatic fix.
    pub struct RbacBindingPodExec;
    meta {
        id: "SEC019",
        name: "rbac-binding-pod-exec",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Binding grants exec or attach into pods, or a role that cannot be checked",
        fix: None,
        equivalents: Equivalents {
            polaris: &[
                "clusterrolebindingPodExecAttach",
                "rolebindingClusterRolePodExecAttach",
                "rolebindingRolePodExecAttach",
            ],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for RbacBindingPodExec {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(b) = binding(cx, idx, Builtin::PolarisDefaults) else { return };
        let (kind, name) = (b.role_kind, b.role_name.as_str());
        let message = match b.role {
            Some(role) => match rbac_rules(role).find(RbacRule::allows_exec) {
                Some(rule) => {
                    format!("binds {kind} `{name}`, whose rule {} allows exec or attach into pods", rule.index)
                }
                None => return,
            },
            None if kind == "ClusterRole" && USER_FACING_CLUSTER_ROLES.contains(&name) => {
                format!("binds the built-in ClusterRole `{name}`, which allows exec and attach into pods")
            }
            None if kind == "ClusterRole" && BUILTIN_CLUSTER_ROLES_WITHOUT_EXEC.contains(&name) => return,
            None if kind == "Role"
                && b.object.effective_namespace() == Some("kube-system")
                && BUILTIN_ROLES_WITHOUT_EXEC.contains(&name) =>
            {
                return;
            }
            None => format!(
                "binds {kind} `{name}`, which is not in the input: it cannot be shown not to allow exec into pods"
            ),
        };
        out.push(Violation::new(Binding::PATH, message).evidence(b.evidence()));
    }
}
