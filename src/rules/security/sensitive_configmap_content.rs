use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::security::common::{Credential, credential, escape_pointer};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No ConfigMap `data` entry looks like a credential, by the same test as SEC014 applied to the
    /// key and its value:
    /// - a key that is a credential's name (`db_password`, `github.token`, `AWS_SECRET_ACCESS_KEY`,
    ///   `AZURE_*KEY`...; not `secret_id`, `token_path` or `max_tokens`) with a value that could be
    ///   one (not empty, a boolean, a reference, a file path or a URL without a password);
    /// - a value holding a PEM private key (`-----BEGIN ... PRIVATE KEY-----`), a URL with a
    ///   password, or a token with a well-known prefix (`ghp_`, `glpat-`, `xoxb-`...), whatever the key.
    ///
    /// Findings never contain the value: it shows as `<redacted>`.
    ///
    /// ## Why it matters
    /// ConfigMaps are meant for non-confidential data: they are readable by far more people and
    /// controllers than Secrets, are never encrypted at rest, and their content ends up in logs,
    /// dashboards and `kubectl describe` output.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ConfigMap
    /// metadata: { name: app }
    /// data:
    ///   db_password: hunter2
    /// ```
    ///
    /// ## Fix
    /// Move the entry into a Secret and mount or reference the Secret instead, then rotate the
    /// credential. There is no automatic fix: the consumers of the ConfigMap must change too.
    pub struct SensitiveConfigmapContent;
    meta {
        id: "SEC015",
        name: "sensitive-configmap-content",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "ConfigMap holds what looks like a credential",
        fix: None,
        equivalents: Equivalents {
            polaris: &["sensitiveConfigmapContent"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for SensitiveConfigmapContent {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "ConfigMap" {
            return;
        }
        let Some(Value::Object(data)) = o.get("/data") else { return };
        for (key, value) in data {
            let text = value.as_str().unwrap_or_default();
            let reason = match credential(key, text) {
                None => continue,
                Some(Credential::SensitiveName) => "its key looks like a credential name".to_string(),
                Some(found) => format!("its value {}", found.reason()),
            };
            let path = format!("/data/{}", escape_pointer(key));
            out.push(
                Violation::new(&path, format!("entry `{key}` may be a credential: {reason}; keep it in a Secret"))
                    .evidence(Evidence::note(&path, "<redacted>")),
            );
        }
    }
}
