//! Helpers shared by the security rules: capabilities, RBAC rule matching, pointers.

use serde_json::Value;

use crate::graph::{Edge, role_ref};
use crate::model::{Applicability, Evidence, Fix, FixOp, Object};
use crate::rules::{Context, Violation};

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

/// Which RBAC objects a rule leaves alone because Kubernetes or the platform creates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Objects labelled `kubernetes.io/bootstrapping: rbac-defaults`: the API server's own roles
    /// and bindings, as found in cluster dumps. Every RBAC rule skips these.
    Bootstrap,
    /// Those, plus what Polaris treats as Kubernetes' or GKE's own by name: `system:*`,
    /// `gce:podsecuritypolicy:calico-sa`, the ClusterRoles `admin`, `edit` and `cluster-admin`,
    /// and the ClusterRoleBinding `cluster-admin`. The rules with Polaris equivalents
    /// (SEC017, SEC018, SEC019) skip these too, so their results compare.
    PolarisDefaults,
}

/// The ClusterRoles Kubernetes defines for users; `admin` and `edit` allow exec, `cluster-admin` everything.
pub const USER_FACING_CLUSTER_ROLES: &[&str] = &["admin", "edit", "cluster-admin"];

/// Whether an RBAC object (role or binding) is one of the `set` of built-ins.
#[must_use]
pub fn is_builtin_rbac(o: &Object, set: Builtin) -> bool {
    let bootstrap = o
        .labels()
        .and_then(|l| l.get("kubernetes.io/bootstrapping"))
        .and_then(Value::as_str)
        .is_some_and(|v| v == "rbac-defaults");
    bootstrap
        || (set == Builtin::PolarisDefaults
            && (o.name.starts_with("system:")
                || o.name == "gce:podsecuritypolicy:calico-sa"
                || (o.kind == "ClusterRole" && USER_FACING_CLUSTER_ROLES.contains(&o.name.as_str()))
                || (o.kind == "ClusterRoleBinding" && o.name == "cluster-admin")))
}

/// One rule of a Role or ClusterRole, its lists read once.
#[derive(Debug, Clone)]
pub struct RbacRule<'a> {
    /// Index in `rules`.
    pub index: usize,
    /// JSON pointer of the rule (`/rules/2`).
    pub path: String,
    /// `apiGroups`.
    pub api_groups: Vec<&'a str>,
    /// `resources`.
    pub resources: Vec<&'a str>,
    /// `verbs`.
    pub verbs: Vec<&'a str>,
    /// `resourceNames`.
    pub resource_names: Vec<&'a str>,
}

impl<'a> RbacRule<'a> {
    /// Reads rule `index` of a role.
    #[must_use]
    pub fn of(index: usize, rule: &'a Value) -> RbacRule<'a> {
        RbacRule {
            index,
            path: format!("/rules/{index}"),
            api_groups: str_list(rule, "apiGroups"),
            resources: str_list(rule, "resources"),
            verbs: str_list(rule, "verbs"),
            resource_names: str_list(rule, "resourceNames"),
        }
    }

    /// A list by its field name (`verbs`, `resources`, `apiGroups`, `resourceNames`).
    #[must_use]
    pub fn list(&self, field: &str) -> &[&'a str] {
        match field {
            "apiGroups" => &self.api_groups,
            "resources" => &self.resources,
            "verbs" => &self.verbs,
            "resourceNames" => &self.resource_names,
            _ => &[],
        }
    }

    /// Evidence of one of its lists, in the shape every RBAC rule uses: `/rules/i/<field>` = `a, b`.
    #[must_use]
    pub fn evidence(&self, field: &str) -> Evidence {
        Evidence::note(format!("{}/{field}", self.path), self.list(field).join(", "))
    }

    /// Whether `apiGroups` covers the core group (`""` or `*`).
    #[must_use]
    pub fn covers_core_group(&self) -> bool {
        self.api_groups.iter().any(|g| g.is_empty() || *g == "*")
    }

    /// Whether it lets its holder exec into or attach to pods: `create` (or `get`, which opens
    /// the same websocket) on `pods/exec` or `pods/attach` in the core group.
    #[must_use]
    pub fn allows_exec(&self) -> bool {
        self.covers_core_group()
            && self.resources.iter().any(|r| matches!(*r, "*" | "pods/exec" | "pods/attach" | "*/exec" | "*/attach"))
            && self.verbs.iter().any(|v| matches!(*v, "*" | "get" | "create"))
    }

    /// Whether it grants full control of every resource in every group (what `cluster-admin` grants).
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.api_groups.contains(&"*")
            && self.resources.contains(&"*")
            && (self.verbs.contains(&"*") || ALL_VERBS.iter().all(|v| self.verbs.contains(v)))
    }

    /// Whether it lets its holder read Secrets (`get`, `list` or `watch` on `secrets`).
    #[must_use]
    pub fn reads_secrets(&self) -> bool {
        self.covers_core_group()
            && self.resources.iter().any(|r| matches!(*r, "*" | "secrets"))
            && self.verbs.iter().any(|v| matches!(*v, "*" | "get" | "list" | "watch"))
    }
}

/// The rules of a Role or ClusterRole, in order (non-object entries skipped).
pub fn rbac_rules(role: &Object) -> impl Iterator<Item = RbacRule<'_>> {
    role.get("/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, r)| r.is_object())
        .map(|(i, r)| RbacRule::of(i, r))
}

/// Calls `f` with each rule of object `idx` when it is a Role or ClusterRole outside the `skip` set.
pub fn for_each_role_rule<'a>(
    cx: &Context<'a>,
    idx: usize,
    skip: Builtin,
    mut f: impl FnMut(&'a Object, RbacRule<'a>),
) {
    let Some(o) = cx.object(idx) else { return };
    if !matches!(o.kind.as_str(), "Role" | "ClusterRole") || is_builtin_rbac(o, skip) {
        return;
    }
    for rule in rbac_rules(o) {
        f(o, rule);
    }
}

/// A RoleBinding or ClusterRoleBinding and the role it grants.
#[derive(Debug, Clone)]
pub struct Binding<'a> {
    /// The binding.
    pub object: &'a Object,
    /// `roleRef.kind`: `Role` or `ClusterRole`.
    pub role_kind: &'static str,
    /// `roleRef.name`.
    pub role_name: String,
    /// The bound role, when it is in the input.
    pub role: Option<&'a Object>,
}

impl Binding<'_> {
    /// Where findings on a binding point: the role it names.
    pub const PATH: &'static str = "/roleRef/name";

    /// Evidence of the role name.
    #[must_use]
    pub fn evidence(&self) -> Evidence {
        Evidence::field(Self::PATH, &Value::String(self.role_name.clone()))
    }
}

/// Object `idx` as a binding with a valid `roleRef`, unless it is in the `skip` set.
#[must_use]
pub fn binding<'a>(cx: &Context<'a>, idx: usize, skip: Builtin) -> Option<Binding<'a>> {
    let o = cx.object(idx)?;
    if !matches!(o.kind.as_str(), "RoleBinding" | "ClusterRoleBinding") || is_builtin_rbac(o, skip) {
        return None;
    }
    let r = role_ref(o)?;
    let role = cx.graph.targets(idx, Edge::Grants).into_iter().find_map(|i| cx.object(i));
    Some(Binding { object: o, role_kind: r.kind, role_name: r.name, role })
}

/// The verbs that together amount to full control of a resource.
pub const ALL_VERBS: [&str; 7] = ["get", "list", "watch", "create", "update", "patch", "delete"];

/// The words of a variable or key name, upper-cased: split at `_`, `-`, `.`, `/` and at camelCase
/// boundaries (`dbPassword` → `DB`, `PASSWORD`).
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        cur.push(ch.to_ascii_uppercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Words that name a credential on their own; a word ending in one counts too (`PGPASSWORD`,
/// `AUTHTOKEN`), while plurals do not (`TOKENS` are usually counted, as in `MAX_TOKENS`).
const CREDENTIAL_WORDS: &[&str] = &["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY", "BEARER"];

/// `<word>_KEY` pairs that name a key that is itself a credential.
const KEY_QUALIFIERS: &[&str] = &["API", "PRIVATE", "ACCESS", "SECRET", "SIGNING", "ENCRYPTION", "MASTER"];

/// Words that, after the credential word, make the name about the credential rather than the
/// credential itself: `SECRET_ID`, `TOKEN_PATH`, `PASSWORD_FILE`, `TOKEN_TTL`, `SECRET_NAME`.
const ABOUT_WORDS: &[&str] = &[
    "ID",
    "IDS",
    "NAME",
    "NAMES",
    "REF",
    "PATH",
    "FILE",
    "FILENAME",
    "DIR",
    "LOCATION",
    "MOUNT",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "HEADER",
    "FIELD",
    "PARAM",
    "PREFIX",
    "SUFFIX",
    "TYPE",
    "KIND",
    "MODE",
    "METHOD",
    "ALGORITHM",
    "ALG",
    "ALGO",
    "TTL",
    "EXPIRY",
    "EXPIRES",
    "EXPIRE",
    "EXPIRATION",
    "LIFETIME",
    "DURATION",
    "TIMEOUT",
    "INTERVAL",
    "AGE",
    "VALIDITY",
    "ROTATION",
    "POLICY",
    "FORMAT",
    "VERSION",
    "ENABLED",
    "DISABLED",
    "REQUIRED",
    "AUDIENCE",
    "ISSUER",
    "SCOPE",
    "SCOPES",
    "PROVIDER",
    "STORE",
    "BACKEND",
    "ENGINE",
    "NAMESPACE",
    "ROUNDS",
    "COST",
    "KEYS",
];

/// Words that make the whole name a count or a size (`MAX_TOKENS`, `PASSWORD_MIN_LENGTH`).
const COUNT_WORDS: &[&str] = &["MAX", "MIN", "NUM", "NUMBER", "COUNT", "LIMIT", "LENGTH", "LEN", "SIZE", "PER", "BITS"];

/// What a name says about the value it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// Not a credential name.
    Plain,
    /// A password (`PASSWORD`, `PASSWD`, `PASSPHRASE`, `PWD`, `PASS`): any non-trivial value may be one.
    Password,
    /// A secret, token or key: counts and booleans in it are not credentials.
    Secret,
}

/// Classifies a variable or key name (Polaris's list, made word-aware):
/// `AWS_SECRET_ACCESS_KEY`, `GOOGLE_APPLICATION_CREDENTIALS`, `OCI_CLI_KEY_CONTENT`, `AZURE_*KEY`,
/// and names whose last credential word (`PASSWORD`, `SECRET`, `TOKEN`, `API_KEY`...) is not followed
/// by a word saying what about it the variable holds (`SECRET_ID`, `TOKEN_FILE`), in names that are
/// not counts (`MAX_TOKENS`, `PASSWORD_MIN_LENGTH`).
#[must_use]
pub fn name_kind(name: &str) -> NameKind {
    let words = name_words(name);
    let joined = words.join("_");
    if matches!(joined.as_str(), "AWS_SECRET_ACCESS_KEY" | "GOOGLE_APPLICATION_CREDENTIALS" | "OCI_CLI_KEY_CONTENT")
        || (joined.starts_with("AZURE_") && joined.len() > "AZURE_KEY".len() && joined.ends_with("KEY"))
    {
        return NameKind::Secret;
    }
    // The shell's working directory, not a password.
    if matches!(joined.as_str(), "PWD" | "OLDPWD") || words.iter().any(|w| COUNT_WORDS.contains(&w.as_str())) {
        return NameKind::Plain;
    }
    let mut last = None;
    for (i, w) in words.iter().enumerate() {
        let password =
            matches!(w.as_str(), "PWD" | "PASS") || ["PASSWORD", "PASSWD", "PASSPHRASE"].iter().any(|p| w.ends_with(p));
        let secret = CREDENTIAL_WORDS.iter().any(|c| w.ends_with(c))
            || (w == "KEY" && i > 0 && KEY_QUALIFIERS.contains(&words[i - 1].as_str()));
        if password {
            last = Some((i, NameKind::Password));
        } else if secret {
            last = Some((i, NameKind::Secret));
        }
    }
    match last {
        Some((i, kind)) if !words[i + 1..].iter().any(|w| ABOUT_WORDS.contains(&w.as_str())) => kind,
        _ => NameKind::Plain,
    }
}

/// Names that look like they hold a credential (see [`name_kind`]).
#[must_use]
pub fn is_sensitive_name(name: &str) -> bool {
    name_kind(name) != NameKind::Plain
}

/// Whether a value is only references to other variables (`$(DB_PASSWORD)`, `${TOKEN}`,
/// `$(USER):$(PASS)`), a template (`{{ .Values.token }}`) or a placeholder (`<token>`), which leak nothing.
fn is_reference_or_template(t: &str) -> bool {
    if (t.starts_with("{{") && t.ends_with("}}")) || (t.starts_with('<') && t.ends_with('>')) {
        return true;
    }
    let mut rest = t;
    let mut any = false;
    let mut left = String::new();
    while let Some(i) = rest.find('$') {
        left.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let close = match after.chars().next() {
            Some('(') => ')',
            Some('{') => '}',
            _ => {
                left.push('$');
                rest = after;
                continue;
            }
        };
        let Some(end) = after.find(close) else { return false };
        let inner = &after[1..end];
        if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return false;
        }
        any = true;
        rest = &after[end + 1..];
    }
    left.push_str(rest);
    // What is left around the references is punctuation (`:`, `@`, `/`), not a secret.
    any && !left.chars().any(|c| c.is_ascii_alphanumeric())
}

/// Whether a value is a file path (`/var/secrets/key.json`, `./token`, `file:///...`): a pointer to
/// the credential, not the credential.
fn is_path(t: &str) -> bool {
    ["/", "./", "../", "~/", "file://"].iter().any(|p| t.starts_with(p)) && !t.contains(char::is_whitespace)
}

/// The password in a URL's userinfo (`scheme://user:password@host`), if any and not a reference.
fn url_password(t: &str) -> Option<&str> {
    let mut rest = t;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let authority = &after[..after.find(['/', '?', '#', ' ', '\n', ',']).unwrap_or(after.len())];
        if let Some((userinfo, _host)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
            && !password.is_empty()
            && !is_reference_or_template(password)
        {
            return Some(password);
        }
        rest = after;
    }
    None
}

/// Prefixes of access tokens whose format alone gives them away (GitHub, GitLab, Slack, Stripe live keys).
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxr-",
    "sk_live_",
    "rk_live_",
];

/// Why a name and value look like a credential in plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The value holds a PEM private key, whatever the name.
    PrivateKey,
    /// The value is a URL with a password in it (`postgres://app:hunter2@db/app`), whatever the name.
    UrlPassword,
    /// The value has the format of a well-known access token (`ghp_...`), whatever the name.
    AccessToken,
    /// The name is a credential's and the value could be one.
    SensitiveName,
}

impl Credential {
    /// What the value holds, for messages: "holds a private key".
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Credential::PrivateKey => "holds a private key",
            Credential::UrlPassword => "holds a URL with a password",
            Credential::AccessToken => "holds an access token",
            Credential::SensitiveName => "looks like a credential",
        }
    }
}

/// Whether `value`, stored under `name`, looks like a credential in plain text (SEC014, SEC015).
///
/// Values that cannot be a credential are never reported under a credential name: empty values,
/// booleans and flags (`true`, `yes`, `1`, `on`, `none`...), references to other variables
/// (`$(DB_PASSWORD)`), templates and `<placeholders>`, file paths, URLs without a password, and
/// plain numbers under a secret or token name (`TOKEN_TTL: 3600` is a count, a numeric password is not).
#[must_use]
pub fn credential(name: &str, value: &str) -> Option<Credential> {
    let t = value.trim();
    if contains_private_key(t) {
        return Some(Credential::PrivateKey);
    }
    let kind = name_kind(name);
    let flag = ["true", "false", "yes", "no", "on", "off", "y", "n", "1", "0", "enabled", "disabled", "none", "null"]
        .iter()
        .any(|b| t.eq_ignore_ascii_case(b));
    let harmless = t.is_empty()
        || flag
        || is_reference_or_template(t)
        || is_path(t)
        || t.contains("://")
        || (kind == NameKind::Secret && t.parse::<f64>().is_ok());
    if kind != NameKind::Plain && !harmless {
        return Some(Credential::SensitiveName);
    }
    if url_password(t).is_some() {
        return Some(Credential::UrlPassword);
    }
    (t.len() >= 20 && !t.contains(char::is_whitespace) && TOKEN_PREFIXES.iter().any(|p| t.starts_with(p)))
        .then_some(Credential::AccessToken)
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
        for n in [
            "password",
            "my_password",
            "AWS_SECRET_ACCESS_KEY",
            "AZURE_BATCH_KEY",
            "GITHUB_TOKEN",
            "STRIPE_API_KEY",
            "PGPASSWORD",
            "dbPassword",
            "CLIENT_SECRET",
            "SECRET_KEY_BASE",
            "DB_PASS",
            "REDIS_PWD",
            "JWT_SIGNING_KEY",
            "apiKey",
        ] {
            assert!(is_sensitive_name(n), "{n}");
        }
        for n in [
            "greeting",
            "user_name",
            "AZURE_KEY",
            "PORT",
            "KEYCLOAK_URL",
            "MAX_TOKENS",
            "MAX_NEW_TOKENS",
            "TOKEN_LIMIT",
            "PASSWORD_MIN_LENGTH",
            "SECRET_ID",
            "AWS_ACCESS_KEY_ID",
            "DB_PASSWORD_FILE",
            "VAULT_TOKEN_PATH",
            "TOKEN_TTL",
            "TLS_SECRET_NAME",
            "TOKENIZER",
            "PASSWORDLESS_LOGIN",
            "PWD",
            "BYPASS_CACHE",
            "KEY_FILE",
        ] {
            assert!(!is_sensitive_name(n), "{n}");
        }
    }

    #[test]
    fn credentials_by_name_and_value() {
        let yes = [
            ("DB_PASSWORD", "hunter2"),
            ("DB_PASSWORD", "12345"),
            ("API_KEY", "sk-abc123def456"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ("DATABASE_URL", "postgres://app:hunter2@db:5432/app"),
            ("BROKER", "amqp://guest:guest@rabbit:5672/"),
            ("GH", "ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "{\"type\": \"service_account\"}"),
        ];
        for (n, v) in yes {
            assert!(credential(n, v).is_some(), "{n}={v}");
        }
        let no = [
            ("MAX_TOKENS", "4096"),
            ("MYSQL_ALLOW_EMPTY_PASSWORD", "1"),
            ("ALLOW_EMPTY_PASSWORD", "yes"),
            ("MYSQL_RANDOM_ROOT_PASSWORD", "true"),
            ("SECRET_ID", "a1b2c3"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/var/secrets/google/key.json"),
            ("TOKEN_TTL", "3600"),
            ("AUTH_TOKEN", "86400"),
            ("OAUTH_TOKEN", "https://auth.example.com/oauth/token"),
            ("DATABASE_URL", "postgres://app@db:5432/app"),
            ("DATABASE_URL", "postgres://app:$(DB_PASSWORD)@db:5432/app"),
            ("REDIS_PASSWORD", ""),
            ("PGPASSWORD", "$(DB_PASSWORD)"),
            ("CREDS", "$(DB_USER):${DB_PASSWORD}"),
            ("API_TOKEN", "{{ .Values.token }}"),
            ("API_TOKEN", "<your token>"),
            ("GREETING", "hello"),
        ];
        for (n, v) in no {
            assert_eq!(credential(n, v), None, "{n}={v}");
        }
        assert_eq!(credential("X", "-----BEGIN RSA PRIVATE KEY-----\nxx"), Some(Credential::PrivateKey));
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
        let exec = json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]});
        let exec_list = json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["list"]});
        let admin = json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ALL_VERBS});
        let core_only = json!({"apiGroups": [""], "resources": ["*"], "verbs": ["*"]});
        let secrets = json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]});
        let apps_secrets = json!({"apiGroups": ["apps"], "resources": ["secrets"], "verbs": ["list"]});
        assert!(RbacRule::of(0, &exec).allows_exec());
        assert!(!RbacRule::of(0, &exec_list).allows_exec());
        assert!(RbacRule::of(0, &admin).is_admin());
        assert!(!RbacRule::of(0, &core_only).is_admin());
        assert!(RbacRule::of(0, &secrets).reads_secrets());
        assert!(!RbacRule::of(0, &apps_secrets).reads_secrets());
        assert_eq!(RbacRule::of(3, &secrets).evidence("verbs"), Evidence::note("/rules/3/verbs", "list"));
    }

    #[test]
    fn builtin_sets() {
        let o = |kind: &str, name: &str, labels: serde_json::Value| {
            Object::from_body(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
                       "metadata": {"name": name, "labels": labels}}),
                crate::model::Origin::File { path: "x.yaml".into(), document: 0, prefix: String::new() },
            )
        };
        let boot = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
        assert!(is_builtin_rbac(&o("ClusterRole", "mine", boot.clone()), Builtin::Bootstrap));
        assert!(!is_builtin_rbac(&o("ClusterRole", "system:x", json!({})), Builtin::Bootstrap));
        assert!(is_builtin_rbac(&o("ClusterRole", "system:x", json!({})), Builtin::PolarisDefaults));
        assert!(is_builtin_rbac(&o("ClusterRole", "edit", json!({})), Builtin::PolarisDefaults));
        assert!(!is_builtin_rbac(&o("Role", "edit", json!({})), Builtin::PolarisDefaults));
        assert!(is_builtin_rbac(&o("ClusterRoleBinding", "cluster-admin", json!({})), Builtin::PolarisDefaults));
        assert!(!is_builtin_rbac(&o("ClusterRoleBinding", "edit", json!({})), Builtin::PolarisDefaults));
    }
}
