use crate::declare_rule;
use crate::model::{Area, Severity};
use crate::rules::security::common::{Builtin, for_each_role_rule};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No Role or ClusterRole lets its holders read Secrets: a rule on the core API group
    /// (`""` or `*`) with resources `secrets` (or `*`) and verb `get`, `list`, `watch` (or `*`).
    /// A rule limited by `resourceNames` is reported too, with those names in the evidence.
    /// Roles Kubernetes creates itself (label `kubernetes.io/bootstrapping: rbac-defaults`) are skipped.
    ///
    /// ## Why it matters
    /// Secrets hold passwords, tokens and keys; `list` and `watch` return their contents, not
    /// only their names. A ClusterRole that reads Secrets reads every namespace's credentials,
    /// ServiceAccount tokens included.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ClusterRole
    /// rules:
    ///   - apiGroups: [""]
    ///     resources: ["secrets"]
    ///     verbs: ["get", "list", "watch"]
    /// ```
    ///
    /// ## Fix
    /// Mount the Secrets the workload needs instead of reading them through the API; when API
    /// access is required, use a namespaced Role with `resourceNames` and only `get`.
    /// There is no automatic fix.
    pub struct RbacSecretsRead;
    meta {
        id: "SEC020",
        name: "rbac-secrets-read",
        area: Area::Security,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Role allows reading Secrets",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

impl Rule for RbacSecretsRead {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        for_each_role_rule(cx, idx, Builtin::Bootstrap, |role, rule| {
            if !rule.reads_secrets() {
                return;
            }
            let scope =
                if role.kind == "ClusterRole" { "in every namespace it is bound for" } else { "in its namespace" };
            let names = &rule.resource_names;
            let what =
                if names.is_empty() { "all Secrets".to_string() } else { format!("Secrets {}", names.join(", ")) };
            let mut v = Violation::new(&rule.path, format!("rule {} allows reading {what} {scope}", rule.index))
                .evidence(rule.evidence("resources"))
                .evidence(rule.evidence("verbs"));
            if !names.is_empty() {
                v = v.evidence(rule.evidence("resourceNames"));
            }
            out.push(v);
        });
    }
}
