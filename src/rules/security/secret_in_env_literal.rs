use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::security::common::credential;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No container (init containers included) sets a credential as a literal `env` value:
    /// - a variable whose name is a credential's, read word by word (case-insensitive, `_`, `-`, `.`
    ///   and camelCase separate words): a word `PASSWORD`, `PASSWD`, `PASSPHRASE`, `PWD`, `PASS`,
    ///   `SECRET`, `TOKEN`, `BEARER` or `APIKEY` (or one ending so: `PGPASSWORD`), or `KEY` after
    ///   `API`, `PRIVATE`, `ACCESS`, `SECRET`, `SIGNING`, `ENCRYPTION` or `MASTER`; also
    ///   `AWS_SECRET_ACCESS_KEY`, `GOOGLE_APPLICATION_CREDENTIALS`, `OCI_CLI_KEY_CONTENT` and `AZURE_*KEY`;
    /// - any variable whose value holds a PEM private key (`-----BEGIN ... PRIVATE KEY-----`), a URL
    ///   with a password (`postgres://app:hunter2@db/app`), or a token with a well-known prefix
    ///   (`ghp_`, `github_pat_`, `glpat-`, `xoxb-`, `sk_live_`...).
    ///
    /// Names about a credential rather than holding one are fine: a word after the credential word
    /// saying what the variable holds (`SECRET_ID`, `AWS_ACCESS_KEY_ID`, `DB_PASSWORD_FILE`,
    /// `TOKEN_PATH`, `TOKEN_TTL`, `TLS_SECRET_NAME`), and counts and sizes (`MAX_TOKENS`,
    /// `PASSWORD_MIN_LENGTH`). Values that cannot be a credential are fine too: variables set through
    /// `valueFrom`, empty values, booleans and flags (`MYSQL_ALLOW_EMPTY_PASSWORD: "1"`,
    /// `ENABLE_SECRET_SYNC: "true"`), references to other variables (`$(DB_PASSWORD)`), templates
    /// and `<placeholders>`, file paths (`GOOGLE_APPLICATION_CREDENTIALS: /var/secrets/key.json`),
    /// URLs without a password, and plain numbers under a secret or token name (a numeric
    /// password is still reported).
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
                let Some(found) = credential(name, value) else { continue };
                let reason = found.reason();
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
                                    value: json!({"secretKeyRef": {"name": "<SECRET_NAME>", "key": "<SECRET_KEY>"}}).into(),
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
