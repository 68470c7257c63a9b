//! Helpers shared by the security rules: capabilities, RBAC rule matching, pointers.

use serde_json::Value;

use crate::graph::{Edge, role_ref};
use crate::model::{Applicability, Evidence, Fix, FixOp, Object};
use crate::rules::{Context, Violation};
use crate::workload::Workload;

/// Whether the pod runs on Windows (`spec.os.name: windows`), where Linux security settings do not apply.
#[must_use]
pub fn is_windows(w: &Workload<'_>) -> bool {
    w.spec("/os/name").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("windows"))
}

/// A capability name as the runtime reads it: upper case, without the `CAP_` prefix.
#[must_use]
pub fn normalize_cap(s: &str) -> String {
    let up = s.trim().to_ascii_uppercase();
    up.strip_prefix("CAP_").map_or(up.clone(), str::to_string)
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
#[must_use]
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The strings of an array field (`verbs`, `resources`, `apiGroups`); non-strings are skipped.
#[must_use]
pub fn str_list<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// The `rules` of a Role or ClusterRole, with their index.
pub fn role_rules(o: &Object) -> impl Iterator<Item = (usize, &Value)> {
    o.get("/rules").and_then(Value::as_array).into_iter().flatten().enumerate().filter(|(_, r)| r.is_object())
}

/// A role Kubernetes creates itself (`kubernetes.io/bootstrapping: rbac-defaults`), as found in cluster dumps.
#[must_use]
pub fn is_bootstrap_default(o: &Object) -> bool {
    o.labels()
        .and_then(|l| l.get("kubernetes.io/bootstrapping"))
        .and_then(Value::as_str)
        .is_some_and(|v| v == "rbac-defaults")
}

/// Bindings Kubernetes or GKE create, which Polaris does not alert on: `system:*`,
/// `gce:podsecuritypolicy:calico-sa`, and the ClusterRoleBinding named `cluster-admin`.
#[must_use]
pub fn is_default_binding(o: &Object) -> bool {
    o.name.starts_with("system:")
        || o.name == "gce:podsecuritypolicy:calico-sa"
        || (o.kind == "ClusterRoleBinding" && o.name == "cluster-admin")
        || is_bootstrap_default(o)
}

/// The Role or ClusterRole a binding grants, if it is in the input.
#[must_use]
pub fn bound_role<'a>(cx: &Context<'a>, idx: usize) -> Option<&'a Object> {
    cx.graph.targets(idx, Edge::Grants).into_iter().find_map(|i| cx.object(i))
}

/// The roleRef's kind and name, as written.
#[must_use]
pub fn role_ref_of(o: &Object) -> Option<(&'static str, String)> {
    role_ref(o).map(|r| (r.kind, r.name))
}

/// Whether a rule's `apiGroups` covers the core group (`""` or `*`).
#[must_use]
pub fn covers_core_group(rule: &Value) -> bool {
    str_list(rule, "apiGroups").iter().any(|g| g.is_empty() || *g == "*")
}

/// Whether an RBAC rule lets its holder exec into or attach to pods:
/// `create` (or `get`, which opens the same websocket) on `pods/exec` or `pods/attach` in the core group.
#[must_use]
pub fn rule_allows_exec(rule: &Value) -> bool {
    let resources = str_list(rule, "resources");
    let verbs = str_list(rule, "verbs");
    covers_core_group(rule)
        && resources.iter().any(|r| matches!(*r, "*" | "pods/exec" | "pods/attach" | "*/exec" | "*/attach"))
        && verbs.iter().any(|v| matches!(*v, "*" | "get" | "create"))
}

/// The verbs that together amount to full control of a resource.
pub const ALL_VERBS: [&str; 7] = ["get", "list", "watch", "create", "update", "patch", "delete"];

/// Whether an RBAC rule grants full control of every resource in every group (what `cluster-admin` grants).
#[must_use]
pub fn rule_is_admin(rule: &Value) -> bool {
    let verbs = str_list(rule, "verbs");
    str_list(rule, "apiGroups").contains(&"*")
        && str_list(rule, "resources").contains(&"*")
        && (verbs.contains(&"*") || ALL_VERBS.iter().all(|v| verbs.contains(v)))
}

/// Whether an RBAC rule lets its holder read Secrets (`get`, `list` or `watch` on `secrets`).
#[must_use]
pub fn rule_reads_secrets(rule: &Value) -> bool {
    covers_core_group(rule)
        && str_list(rule, "resources").iter().any(|r| matches!(*r, "*" | "secrets"))
        && str_list(rule, "verbs").iter().any(|v| matches!(*v, "*" | "get" | "list" | "watch"))
}

/// Names that look like they hold a credential (Polaris's list plus API keys and private keys).
#[must_use]
pub fn is_sensitive_name(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    up == "AWS_SECRET_ACCESS_KEY"
        || up == "GOOGLE_APPLICATION_CREDENTIALS"
        || up == "OCI_CLI_KEY_CONTENT"
        || (up.starts_with("AZURE_") && up.len() > "AZURE_KEY".len() && up.ends_with("KEY"))
        || ["PASSWORD", "TOKEN", "BEARER", "SECRET", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY"]
            .iter()
            .any(|w| up.contains(w))
}

/// Whether a value contains a PEM private key block (`-----BEGIN ... PRIVATE KEY-----`).
#[must_use]
pub fn contains_private_key(value: &str) -> bool {
    let up = value.to_ascii_uppercase();
    let mut rest = up.as_str();
    while let Some(i) = rest.find("-BEGIN") {
        let after = &rest[i + "-BEGIN".len()..];
        if after.starts_with(|c: char| c.is_whitespace())
            && let Some(j) = after.find("PRIVATE KEY-")
            && !after[..j].contains('\n')
        {
            return true;
        }
        rest = after;
    }
    false
}

/// Reports a pod-level boolean such as `hostNetwork: true`, with a fix that removes the field.
pub fn check_pod_flag(cx: &Context<'_>, idx: usize, field: &str, what: &str, out: &mut Vec<Violation>) {
    let Some(w) = cx.workload(idx) else { return };
    let rel = format!("/{field}");
    if !crate::rules::is_true(w.spec(&rel)) {
        return;
    }
    let path = w.spec_field(&rel);
    out.push(
        Violation::new(&path, format!("pods {what}")).evidence(Evidence::field(&path, &Value::Bool(true))).fix(
            Fix::new(format!("Remove {field}"), Applicability::Unsafe, vec![FixOp::Remove { path }])
                .with_note("a workload that really needs the host namespace stops working"),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn caps_normalize() {
        assert_eq!(normalize_cap("cap_sys_admin"), "SYS_ADMIN");
        assert_eq!(normalize_cap("nEt_aDmIn"), "NET_ADMIN");
    }

    #[test]
    fn sensitive_names() {
        for n in
            ["password", "my_password", "AWS_SECRET_ACCESS_KEY", "AZURE_BATCH_KEY", "GITHUB_TOKEN", "STRIPE_API_KEY"]
        {
            assert!(is_sensitive_name(n), "{n}");
        }
        for n in ["greeting", "user_name", "AZURE_KEY", "PORT", "KEYCLOAK_URL"] {
            assert!(!is_sensitive_name(n), "{n}");
        }
    }

    #[test]
    fn private_keys() {
        assert!(contains_private_key("---BEGIN OPENSSH PRIVATE KEY---\nxx"));
        assert!(contains_private_key("-----BEGIN PRIVATE KEY-----\nxx"));
        assert!(contains_private_key("-----begin rsa private key-----"));
        assert!(!contains_private_key("-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----"));
        assert!(!contains_private_key("-----BEGIN PUBLIC KEY-----"));
    }

    #[test]
    fn rbac_matching() {
        assert!(rule_allows_exec(&json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]})));
        assert!(!rule_allows_exec(&json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["list"]})));
        assert!(rule_is_admin(&json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ALL_VERBS})));
        assert!(!rule_is_admin(&json!({"apiGroups": [""], "resources": ["*"], "verbs": ["*"]})));
        assert!(rule_reads_secrets(&json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]})));
        assert!(!rule_reads_secrets(&json!({"apiGroups": ["apps"], "resources": ["secrets"], "verbs": ["list"]})));
    }
}
