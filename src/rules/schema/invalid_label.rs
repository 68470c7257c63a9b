use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity, value_text};
use crate::rules::schema::invalid_field::is_typed;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};
use crate::yaml::escape_segment;

declare_rule! {
    /// ## What it checks
    /// Label keys and values on the object's `metadata.labels` and on its pod template's labels
    /// follow the Kubernetes syntax:
    /// - a value is a string of at most 63 characters, empty or starting and ending with a letter or
    ///   digit, with only letters, digits, `-`, `_` and `.` in between;
    /// - a key is a name with the same syntax (non-empty), optionally prefixed by a DNS subdomain of
    ///   at most 253 characters and a `/`.
    ///
    /// Values that are not strings (`version: 1.0`, `enabled: true` unquoted) are reported here for
    /// custom resources and kinds SCH001 does not decode; SCH001 reports them for the others.
    ///
    /// ## Why it matters
    /// The API server rejects the object (`metadata.labels: Invalid value`), so the deploy fails.
    /// Typical causes are a version with `+` (`1.2.3+build`), a value over 63 characters from a
    /// long release name, or an unquoted number.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   labels:
    ///     helm.sh/chart: web-1.2.3+20240101   # `+` is not allowed
    ///     version: 1.10                       # a number: it must be quoted
    /// ```
    ///
    /// ## Fix
    /// Change the value (or key) to a valid one; for numbers and booleans, quote them as written.
    /// The fix for non-string values is display-only: it shows the value as a string, but the YAML
    /// reader may already have changed how it is written (`1.10` reads as 1.1, `yes` as true).
    /// Invalid strings have no automatic fix.
    pub struct InvalidLabel;
    meta {
        id: "SCH005",
        name: "invalid-label",
        area: Area::Schema,
        severity: Severity::High,
        default_enabled: true,
        summary: "Label key or value is not valid Kubernetes label syntax",
        fix: Some(Applicability::DisplayOnly),
        equivalents: Equivalents::NONE,
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Why a label value is invalid, or `None` when it is valid.
fn value_problem(v: &str) -> Option<String> {
    if v.is_empty() {
        return None;
    }
    if v.len() > 63 {
        return Some(format!("is {} characters long (at most 63)", v.len()));
    }
    name_problem(v)
}

fn name_problem(v: &str) -> Option<String> {
    let first = v.chars().next()?;
    let last = v.chars().last()?;
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Some("must start and end with a letter or digit".to_string());
    }
    if let Some(bad) = v.chars().find(|c| !is_name_char(*c)) {
        return Some(format!("contains `{bad}` (only letters, digits, `-`, `_` and `.` are allowed)"));
    }
    None
}

/// Why a label key is invalid, or `None` when it is valid.
fn key_problem(k: &str) -> Option<String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix {
        let valid_prefix = !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            });
        if !valid_prefix {
            return Some(format!("has prefix `{p}`, which is not a lowercase DNS subdomain"));
        }
    }
    if name.is_empty() {
        return Some("has an empty name".to_string());
    }
    if name.len() > 63 {
        return Some(format!("has a name {} characters long (at most 63)", name.len()));
    }
    name_problem(name).map(|p| format!("name {p}"))
}

impl Rule for InvalidLabel {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        let typed = is_typed(o);
        let mut maps = vec!["/metadata/labels".to_string()];
        if let Some(w) = cx.workload(idx)
            && w.pod_meta_path != "/metadata"
        {
            maps.push(format!("{}/labels", w.pod_meta_path));
        }
        for base in maps {
            let Some(Value::Object(labels)) = o.get(&base) else { continue };
            for (k, v) in labels {
                let path = format!("{base}/{}", escape_segment(k));
                if let Some(p) = key_problem(k) {
                    out.push(
                        Violation::new(&path, format!("label key `{k}` {p}: the API server rejects it"))
                            .evidence(Evidence::field(&path, v)),
                    );
                    continue;
                }
                match v {
                    Value::String(s) => {
                        if let Some(p) = value_problem(s) {
                            out.push(
                                Violation::new(
                                    &path,
                                    format!("label `{k}` value `{s}` {p}: the API server rejects it"),
                                )
                                .evidence(Evidence::field(&path, v)),
                            );
                        }
                    }
                    // Go decodes null into "", so an empty value is accepted.
                    Value::Null => {}
                    other if !typed => {
                        let text = value_text(other);
                        let mut viol = Violation::new(
                            &path,
                            format!("label `{k}` value {text} is not a string: the API server rejects it"),
                        )
                        .evidence(Evidence::field(&path, other));
                        if matches!(other, Value::Number(_) | Value::Bool(_)) {
                            viol = viol.fix(
                                Fix::new(
                                    "Quote the label value",
                                    Applicability::DisplayOnly,
                                    vec![FixOp::Replace { path: path.clone(), value: json!(text).into() }],
                                )
                                .with_note(
                                    "check the value as written in the file: YAML may have read `1.10` as 1.1 or \
                                     `yes` as true",
                                ),
                            );
                        }
                        out.push(viol);
                    }
                    _ => {}
                }
            }
        }
    }
}
