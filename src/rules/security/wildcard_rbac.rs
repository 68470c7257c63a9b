use crate::declare_rule;
use crate::model::{Area, Severity};
use crate::rules::security::common::{Builtin, for_each_role_rule};
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
        for_each_role_rule(cx, idx, Builtin::Bootstrap, |_, rule| {
            let fields: Vec<&str> =
                ["verbs", "resources", "apiGroups"].into_iter().filter(|f| rule.list(f).contains(&"*")).collect();
            let Some(first) = fields.first() else { return };
            let i = rule.index;
            let what = match fields.as_slice() {
                [a, b] => format!("{a} and {b}"),
                [a, b, c] => format!("{a}, {b} and {c}"),
                _ => fields.join(", "),
            };
            let mut v = Violation::new(format!("{}/{first}", rule.path), format!("rule {i} grants `*` in {what}"));
            for f in &fields {
                v = v.evidence(rule.evidence(f));
            }
            out.push(v);
        });
    }
}
