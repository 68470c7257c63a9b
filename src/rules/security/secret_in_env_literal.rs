use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::security::common::{contains_private_key, is_sensitive_name};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

/// A value that is only a reference to other variables (`$(DB_PASSWORD)`), which leaks nothing.
fn is_variable_reference(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("$(") && t.ends_with(')') && !t[2..t.len() - 1].contains(['(', ')', ' '])
}

/// Values that cannot be a credential: empty, a boolean flag, or a reference to other variables.
fn is_harmless_value(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || ["true", "false", "yes", "no"].iter().any(|b| t.eq_ignore_ascii_case(b)) || is_variable_reference(t)
}

declare_rule! {
    /// ## What it checks
    /// No container (init containers included) sets a credential as a literal `env` value:
    /// - a variable whose name looks like a credential (contains `PASSWORD`, `TOKEN`, `SECRET`,
    ///   `BEARER`, `API_KEY`, `APIKEY`, `PRIVATE_KEY` or `ACCESS_KEY`, or is `AWS_SECRET_ACCESS_KEY`,
    ///   `GOOGLE_APPLICATION_CREDENTIALS`, `OCI_CLI_KEY_CONTENT` or `AZURE_*KEY`; case-insensitive)
    ///   with a non-empty `value`;
    /// - any variable whose `value` holds a PEM private key (`-----BEGIN ... PRIVATE KEY-----`).
    ///
    /// Variables set through `valueFrom`, empty values, boolean flags (`ENABLE_SECRET_SYNC: "true"`)
    /// and pure references to other variables (`$(DB_PASSWORD)`) are fine.
    /// Findings never contain the value: it shows as `<redacted>`.
    ///
    /// ## Why it matters
    /// A literal value lives in the manifest, in git history, in every CI log that prints the
    /// manifest, and in the object anyone with `get` on the workload can read.
    /// Secrets are access-controlled separately, can be encrypted at rest, and rotate without
    /// editing the workload.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    ///   - name: DB_PASSWORD
    ///     value: hunter2
    /// ```
    ///
    /// ## Fix
    /// Move the value into a Secret and reference it:
    /// ```yaml
    /// env:
    ///   - name: DB_PASSWORD
    ///     valueFrom:
    ///       secretKeyRef: { name: db, key: password }
    /// ```
    /// The fix is display-only: the Secret's name and key (`<SECRET_NAME>`, `<SECRET_KEY>`) must be
    /// filled in, and the Secret created, by hand. Rotate the credential: it has been exposed.
    pub struct SecretInEnvLiteral;
    meta {
        id: "SEC014",
        name: "secret-in-env-literal",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container sets a credential as a literal environment variable",
        fix: Some(Applicability::DisplayOnly),
        equivalents: Equivalents {
            polaris: &["sensitiveContainerEnvVar"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for SecretInEnvLiteral {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.containers() {
            let Some(Value::Array(env)) = c.get("/env") else { continue };
            for (i, e) in env.iter().enumerate() {
                let Some(value) = e.get("value").and_then(Value::as_str) else { continue };
                let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
                let reason = if contains_private_key(value) {
                    "holds a private key"
                } else if is_sensitive_name(name) && !is_harmless_value(value) {
                    "looks like a credential"
                } else {
                    continue;
                };
                let path = c.field(&format!("/env/{i}/value"));
                let entry = c.field(&format!("/env/{i}"));
                out.push(
                    Violation::new(
                        &path,
                        format!("container `{}` sets `{name}`, which {reason}, as a literal value", c.name()),
                    )
                    .evidence(Evidence::note(&path, "<redacted>"))
                    .fix(
                        Fix::new(
                            format!("Read `{name}` from a Secret"),
                            Applicability::DisplayOnly,
                            vec![
                                FixOp::Remove { path: path.clone() },
                                FixOp::Add {
                                    path: format!("{entry}/valueFrom"),
                                    value: json!({"secretKeyRef": {"name": "<SECRET_NAME>", "key": "<SECRET_KEY>"}}),
                                },
                            ],
                        )
                        .with_note("create the Secret, fill in <SECRET_NAME> and <SECRET_KEY>, and rotate the exposed credential"),
                    ),
                );
            }
        }
    }
}
