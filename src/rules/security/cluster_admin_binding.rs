use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::security::common::{Binding, Builtin, RbacRule, binding, rbac_rules};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No ClusterRoleBinding or RoleBinding grants cluster-admin power: a `roleRef` to the
    /// `cluster-admin` ClusterRole, or to a Role or ClusterRole in the input with a rule on
    /// apiGroups `*` and resources `*` with verbs `*` (or all of get, list, watch, create, update,
    /// patch and delete).
    /// Bindings Kubernetes or GKE create are skipped: names starting with `system:`,
    /// `gce:podsecuritypolicy:calico-sa`, the ClusterRoleBinding named `cluster-admin`, and
    /// bindings labelled `kubernetes.io/bootstrapping: rbac-defaults`.
    /// A binding to a `system:` role is still checked: the role's name proves nothing.
    ///
    /// ## Why it matters
    /// cluster-admin can do anything, everywhere (through a RoleBinding: anything in that
    /// namespace, including reading every Secret and changing its RBAC). A compromised subject
    /// with it is a compromised cluster or namespace.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ClusterRoleBinding
    /// metadata: { name: ci-deployer }
    /// roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
    /// subjects:
    ///   - { kind: ServiceAccount, name: deployer, namespace: ci }
    /// ```
    ///
    /// ## Fix
    /// Bind a role that lists only the resources and verbs the subject needs, in the namespaces
    /// it needs them. There is no automatic fix: only the owner knows what is needed.
    pub struct ClusterAdminBinding;
    meta {
        id: "SEC017",
        name: "cluster-admin-binding",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Binding grants cluster-admin or an equivalent wildcard role",
        fix: None,
        equivalents: Equivalents {
            polaris: &[
                "clusterrolebindingClusterAdmin",
                "rolebindingClusterAdminClusterRole",
                "rolebindingClusterAdminRole",
            ],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for ClusterAdminBinding {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(b) = binding(cx, idx, Builtin::PolarisDefaults) else { return };
        let (kind, name) = (b.role_kind, &b.role_name);
        if kind == "ClusterRole" && name == "cluster-admin" {
            out.push(Violation::new(Binding::PATH, "binds the cluster-admin ClusterRole").evidence(b.evidence()));
            return;
        }
        let Some(role) = b.role else { return };
        if let Some(rule) = rbac_rules(role).find(RbacRule::is_admin) {
            let i = rule.index;
            out.push(
                Violation::new(
                    Binding::PATH,
                    format!(
                        "binds {kind} `{name}`, whose rule {i} grants every verb on every resource in every API group"
                    ),
                )
                .evidence(b.evidence())
                .evidence(Evidence::note(
                    format!("{}/rules/{i}", role.display_id()),
                    "apiGroups: *, resources: *, all verbs",
                )),
            );
        }
    }
}
