use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::security::common::{is_bootstrap_default, role_rules, rule_allows_exec, str_list};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

/// Roles Kubernetes or GKE define, which are expected to allow exec.
pub fn is_default_role(kind: &str, name: &str) -> bool {
    name.starts_with("system:")
        || name == "gce:podsecuritypolicy:calico-sa"
        || (kind == "ClusterRole" && matches!(name, "admin" | "edit" | "cluster-admin"))
}

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
        let Some(o) = cx.object(idx) else { return };
        if !matches!(o.kind.as_str(), "Role" | "ClusterRole")
            || is_default_role(&o.kind, &o.name)
            || is_bootstrap_default(o)
        {
            return;
        }
        for (i, rule) in role_rules(o) {
            if !rule_allows_exec(rule) {
                continue;
            }
            let path = format!("/rules/{i}");
            out.push(
                Violation::new(&path, format!("rule {i} allows exec or attach into pods"))
                    .evidence(Evidence::note(format!("{path}/resources"), str_list(rule, "resources").join(", ")))
                    .evidence(Evidence::note(format!("{path}/verbs"), str_list(rule, "verbs").join(", "))),
            );
        }
    }
}
