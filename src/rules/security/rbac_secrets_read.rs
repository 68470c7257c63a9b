use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::security::common::{is_bootstrap_default, role_rules, rule_reads_secrets, str_list};
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
        let Some(o) = cx.object(idx) else { return };
        if !matches!(o.kind.as_str(), "Role" | "ClusterRole") || is_bootstrap_default(o) {
            return;
        }
        let scope = if o.kind == "ClusterRole" { "in every namespace it is bound for" } else { "in its namespace" };
        for (i, rule) in role_rules(o) {
            if !rule_reads_secrets(rule) {
                continue;
            }
            let path = format!("/rules/{i}");
            let names = str_list(rule, "resourceNames");
            let what =
                if names.is_empty() { "all Secrets".to_string() } else { format!("Secrets {}", names.join(", ")) };
            let verbs: Vec<&str> = str_list(rule, "verbs");
            let mut v = Violation::new(&path, format!("rule {i} allows reading {what} {scope}"))
                .evidence(Evidence::note(format!("{path}/resources"), str_list(rule, "resources").join(", ")))
                .evidence(Evidence::note(format!("{path}/verbs"), verbs.join(", ")));
            if !names.is_empty() {
                v = v.evidence(Evidence::note(format!("{path}/resourceNames"), names.join(", ")));
            }
            out.push(v);
        }
    }
}
