use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::security::common::{is_bootstrap_default, role_rules, str_list};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No Role or ClusterRole rule uses `*` in `verbs`, `resources` or `apiGroups`.
    /// Roles Kubernetes creates itself (label `kubernetes.io/bootstrapping: rbac-defaults`,
    /// as seen in cluster dumps) are skipped.
    ///
    /// ## Why it matters
    /// A wildcard grants everything that exists today and everything added later: new verbs,
    /// new subresources (`pods/exec`, `serviceaccounts/token`), new CRDs and their secrets.
    /// Least privilege means listing what is needed.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: ["apps"]
    ///     resources: ["*"]
    ///     verbs: ["*"]
    /// ```
    ///
    /// ## Fix
    /// List the groups, resources and verbs the subject really uses:
    /// ```yaml
    /// rules:
    ///   - apiGroups: ["apps"]
    ///     resources: ["deployments"]
    ///     verbs: ["get", "list", "watch", "patch"]
    /// ```
    /// There is no automatic fix: only the role's owner knows what it needs.
    pub struct WildcardRbac;
    meta {
        id: "SEC016",
        name: "wildcard-rbac",
        area: Area::Security,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "RBAC rule grants a wildcard verb, resource or API group",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

impl Rule for WildcardRbac {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if !matches!(o.kind.as_str(), "Role" | "ClusterRole") || is_bootstrap_default(o) {
            return;
        }
        for (i, rule) in role_rules(o) {
            let fields: Vec<&str> =
                ["verbs", "resources", "apiGroups"].into_iter().filter(|f| str_list(rule, f).contains(&"*")).collect();
            let Some(first) = fields.first() else { continue };
            let path = format!("/rules/{i}/{first}");
            let mut v = Violation::new(
                &path,
                format!(
                    "rule {i} grants `*` in {}",
                    match fields.as_slice() {
                        [a, b] => format!("{a} and {b}"),
                        [a, b, c] => format!("{a}, {b} and {c}"),
                        _ => fields.join(", "),
                    }
                ),
            );
            for f in &fields {
                let p = format!("/rules/{i}/{f}");
                v = v.evidence(Evidence::field(&p, rule.get(*f).unwrap_or(&Value::Null)));
            }
            out.push(v);
        }
    }
}
