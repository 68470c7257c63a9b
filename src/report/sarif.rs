//! SARIF 2.1.0 for GitHub code scanning.
//!
//! One run. `tool.driver.rules` describes every rule that ran (docs as `help`, `security-severity`
//! by severity); each finding is a result with its file region, the object as a logical location,
//! and the audit fingerprint as `partialFingerprints`, so alerts keep their identity when lines move.
//! Input errors, internal errors and skipped documents are tool execution notifications; exemption problems are
//! tool configuration notifications. Columns count Unicode code points (`columnKind`), as the audit does.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value, json};

use crate::audit::Audit;
use crate::model::{Finding, Location, Severity};
use crate::report::applicability_name;
use crate::rules;

/// The `$schema` URI written at the top.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key of the audit fingerprint in `partialFingerprints`; the version names the fingerprint
/// algorithm (v2: the object's file or context is part of its identity).
pub const FINGERPRINT_KEY: &str = "clustergptFingerprint/v2";

/// The `uriBaseId` of relative file paths: the directory the audit ran in (the repository root in CI).
pub const SRCROOT: &str = "%SRCROOT%";

/// Renders SARIF.
///
/// # Errors
/// Only if serialization fails.
pub fn render(audit: &Audit) -> serde_json::Result<String> {
    let mut out = Vec::new();
    write(audit, &mut out)?;
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// Writes SARIF to `w`, one result at a time: a large audit's results are never all held as JSON
/// values at once. The bytes are those of [`to_value`] printed pretty, plus a newline.
///
/// # Errors
/// When writing fails.
pub fn write(audit: &Audit, w: &mut dyn std::io::Write) -> serde_json::Result<()> {
    let index = rule_index(audit);
    let envelope = envelope(audit, &index, Value::Null);
    let results = Results { audit, index: &index };
    serde_json::to_writer_pretty(&mut *w, &Spliced { value: &envelope, results: &results })?;
    w.write_all(b"\n").map_err(serde_json::Error::io)
}

/// Serializes a JSON value with the (null) `results` placeholder replaced by the streamed results.
struct Spliced<'a> {
    value: &'a Value,
    results: &'a Results<'a>,
}

impl Serialize for Spliced<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    if k == "results" && v.is_null() {
                        map.serialize_entry(k, self.results)?;
                    } else {
                        map.serialize_entry(k, &Spliced { value: v, results: self.results })?;
                    }
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Spliced { value: v, results: self.results })?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Every finding as a SARIF result, built one at a time as it is written.
struct Results<'a> {
    audit: &'a Audit,
    index: &'a BTreeMap<&'a str, usize>,
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.audit.findings.len()))?;
        for f in &self.audit.findings {
            seq.serialize_element(&result(f, self.index.get(f.rule.as_ref()).copied()))?;
        }
        seq.end()
    }
}

fn rule_index(audit: &Audit) -> BTreeMap<&str, usize> {
    let mut ids: Vec<&str> =
        audit.rules_run.iter().map(String::as_str).chain(audit.findings.iter().map(|f| f.rule.as_ref())).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect()
}

/// The SARIF log as a JSON value.
#[must_use]
pub fn to_value(audit: &Audit) -> Value {
    let index = rule_index(audit);
    let results: Vec<Value> = audit.findings.iter().map(|f| result(f, index.get(f.rule.as_ref()).copied())).collect();
    envelope(audit, &index, Value::Array(results))
}

/// The SARIF log around its results.
fn envelope(audit: &Audit, index: &BTreeMap<&str, usize>, results: Value) -> Value {
    let rules: Vec<Value> = index.keys().map(|id| descriptor(audit, id)).collect();

    let mut driver = Map::new();
    driver.insert("name".into(), json!("clustergpt"));
    driver.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    driver.insert("semanticVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    if let Some(uri) = information_uri() {
        driver.insert("informationUri".into(), json!(uri));
    }
    driver.insert("rules".into(), Value::Array(rules));
    driver.insert(
        "notifications".into(),
        json!(
            NOTIFICATIONS
                .iter()
                .map(|(id, text)| json!({
                    "id": id,
                    "shortDescription": { "text": text },
                }))
                .collect::<Vec<_>>()
        ),
    );

    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": Value::Object(driver) },
            "columnKind": "unicodeCodePoints",
            "invocations": [invocation(audit)],
            "results": results,
            "properties": {
                "schemaVersion": audit.schema_version,
                "summary": audit.summary,
                "suppressed": audit.suppressed.len(),
            },
        }],
    })
}

/// Notification descriptors: id and description, indexed by position.
const NOTIFICATIONS: [(&str, &str); 5] = [
    ("input-error", "An input file or document could not be read; it was not audited"),
    ("skipped-document", "A document is not a Kubernetes object (or duplicates another) and was skipped"),
    ("exemption", "An exemption matched nothing, expired, or is malformed"),
    ("internal-error", "A rule failed on an object (a bug in clustergpt); its result for that object is missing"),
    ("not-evaluated", "A cluster resource type could not be listed; the rules that read it were not evaluated there"),
];

fn information_uri() -> Option<&'static str> {
    [env!("CARGO_PKG_REPOSITORY"), env!("CARGO_PKG_HOMEPAGE")].into_iter().find(|s| !s.is_empty())
}

/// SARIF `level` of a severity.
#[must_use]
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` score of a severity (critical above 9.0, high from 7.0, ...).
#[must_use]
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "7.5",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
        Severity::Info => "0.0",
    }
}

fn problem_severity(s: Severity) -> &'static str {
    match level(s) {
        "error" => "error",
        "warning" => "warning",
        _ => "recommendation",
    }
}

/// A rule's reportingDescriptor. Its severity is the one its findings carry in this audit (after
/// configuration overrides), or the rule's default when it found nothing.
fn descriptor(audit: &Audit, id: &str) -> Value {
    let found = audit.findings.iter().find(|f| f.rule == id);
    let rule = rules::find(id).map(|r| r.meta());
    let severity = found.map(|f| f.severity).or(rule.map(|m| m.severity)).unwrap_or(Severity::Medium);
    let (name, summary, doc, area) = match rule {
        Some(m) => (m.name.to_string(), m.summary.to_string(), m.doc_text(), Some(m.area)),
        None => {
            let name = found.map_or_else(|| id.to_string(), |f| f.name.to_string());
            (
                name,
                id.to_string(),
                format!("{id}: no documentation in this version of clustergpt."),
                found.map(|f| f.area),
            )
        }
    };
    let full = doc_section(&doc, "What it checks").map_or_else(|| summary.clone(), |s| unwrap_lines(&s));
    let tags: Vec<&str> = area.map(|a| vec![a.as_str()]).unwrap_or_default();
    json!({
        "id": id,
        "name": name,
        "shortDescription": { "text": summary },
        "fullDescription": { "text": full },
        "help": { "text": doc, "markdown": doc },
        "defaultConfiguration": { "level": level(severity) },
        "properties": {
            "tags": tags,
            "precision": "high",
            "security-severity": security_severity(severity),
            "problem.severity": problem_severity(severity),
        },
    })
}

/// The text of one `## Heading` section of a rule's docs (without the heading), trimmed.
fn doc_section(doc: &str, heading: &str) -> Option<String> {
    let mut out: Option<Vec<&str>> = None;
    let mut fence = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
        }
        if !fence && let Some(h) = line.strip_prefix("## ") {
            if out.is_some() {
                break;
            }
            if h.trim() == heading {
                out = Some(Vec::new());
            }
            continue;
        }
        if let Some(lines) = &mut out {
            lines.push(line);
        }
    }
    out.map(|l| l.join("\n").trim().to_string()).filter(|s| !s.is_empty())
}

/// Joins hard-wrapped lines into one line per paragraph or list item.
fn unwrap_lines(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines().map(str::trim) {
        let item = line.starts_with("- ") || line.starts_with("* ");
        if line.is_empty() {
            out.push_str("\n\n");
        } else if out.is_empty() || out.ends_with('\n') {
            out.push_str(line);
        } else if item {
            out.push('\n');
            out.push_str(line);
        } else {
            out.push(' ');
            out.push_str(line);
        }
    }
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    out
}

fn result(f: &Finding, rule_index: Option<usize>) -> Value {
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(f.rule));
    if let Some(i) = rule_index {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(level(f.severity)));
    r.insert("message".into(), json!({ "text": f.message }));
    let mut location = Map::new();
    if let Some(physical) = physical_location(&f.location) {
        location.insert("physicalLocation".into(), physical);
    }
    location.insert(
        "logicalLocations".into(),
        json!([{
            "name": f.object.name,
            "fullyQualifiedName": f.object.to_string(),
            "kind": "resource",
        }]),
    );
    r.insert("locations".into(), json!([Value::Object(location)]));
    r.insert("partialFingerprints".into(), json!({ FINGERPRINT_KEY: f.fingerprint }));
    let mut props = Map::new();
    props.insert("severity".into(), json!(f.severity));
    props.insert("area".into(), json!(f.area));
    props.insert("object".into(), json!(f.object.as_ref()));
    props.insert("path".into(), json!(f.location.path));
    props.insert("evidence".into(), json!(f.evidence));
    if let Some(fix) = &f.fix {
        let mut fx = Map::new();
        fx.insert("title".into(), json!(fix.title));
        fx.insert("applicability".into(), json!(applicability_name(fix.applicability)));
        if let Some(note) = &fix.note {
            fx.insert("note".into(), json!(note));
        }
        props.insert("fix".into(), Value::Object(fx));
    }
    if let Some(d) = &f.diagnosis {
        props.insert("diagnosis".into(), json!(d));
    }
    r.insert("properties".into(), Value::Object(props));
    Value::Object(r)
}

/// The physicalLocation of a finding: file and region (from the span when known, else line and
/// column). `None` for findings without a file (live objects, stdin).
fn physical_location(loc: &Location) -> Option<Value> {
    let file = loc.file.as_deref().filter(|f| *f != "-")?;
    let mut region = Map::new();
    match (&loc.span, loc.line) {
        (Some(span), _) => {
            region.insert("startLine".into(), json!(span.start.line));
            region.insert("startColumn".into(), json!(span.start.col));
            // A span that ends at the start of a line ends with the previous line: leave out
            // endColumn, which then means "to the end of endLine".
            if span.end.line == span.start.line {
                region.insert("endLine".into(), json!(span.end.line));
                region.insert("endColumn".into(), json!(span.end.col.max(span.start.col + 1)));
            } else if span.end.line > span.start.line && span.end.col <= 1 {
                region.insert("endLine".into(), json!(span.end.line - 1));
            } else if span.end.line > span.start.line {
                region.insert("endLine".into(), json!(span.end.line));
                region.insert("endColumn".into(), json!(span.end.col));
            }
        }
        (None, Some(line)) => {
            region.insert("startLine".into(), json!(line));
            if let Some(col) = loc.column {
                region.insert("startColumn".into(), json!(col));
            }
        }
        (None, None) => {}
    }
    let mut physical = Map::new();
    physical.insert("artifactLocation".into(), artifact_location(file));
    if !region.is_empty() {
        physical.insert("region".into(), Value::Object(region));
    }
    Some(Value::Object(physical))
}

/// An artifactLocation: relative paths (forward slashes, no leading `./`) against `%SRCROOT%`,
/// absolute paths as `file://` URIs.
#[must_use]
pub fn artifact_location(file: &str) -> Value {
    let mut path = file.replace('\\', "/");
    while let Some(rest) = path.strip_prefix("./") {
        path = rest.to_string();
    }
    let drive = path.len() >= 2 && path.as_bytes()[1] == b':' && path.as_bytes()[0].is_ascii_alphabetic();
    if path.starts_with('/') || drive {
        let slash = if drive { "/" } else { "" };
        json!({ "uri": format!("file://{slash}{}", percent_encode(&path, drive)) })
    } else {
        json!({ "uri": percent_encode(&path, false), "uriBaseId": SRCROOT })
    }
}

/// Percent-encodes everything but unreserved characters and `/` (and a drive letter's colon).
fn percent_encode(path: &str, keep_drive_colon: bool) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, b) in path.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
            || (keep_drive_colon && i == 1 && b == b':');
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn notification(
    descriptor: usize,
    level: &str,
    text: String,
    file: Option<&str>,
    line: Option<u32>,
    column: Option<u32>,
) -> Value {
    let mut n = Map::new();
    n.insert("descriptor".into(), json!({ "id": NOTIFICATIONS[descriptor].0, "index": descriptor }));
    n.insert("level".into(), json!(level));
    n.insert("message".into(), json!({ "text": text }));
    if let Some(file) = file.filter(|f| *f != "-") {
        let mut physical = Map::new();
        physical.insert("artifactLocation".into(), artifact_location(file));
        if let Some(line) = line {
            let mut region = Map::new();
            region.insert("startLine".into(), json!(line));
            if let Some(col) = column {
                region.insert("startColumn".into(), json!(col));
            }
            physical.insert("region".into(), Value::Object(region));
        }
        n.insert("locations".into(), json!([{ "physicalLocation": Value::Object(physical) }]));
    }
    Value::Object(n)
}

fn invocation(audit: &Audit) -> Value {
    let mut execution: Vec<Value> = audit
        .errors
        .iter()
        .map(|e| {
            let file = crate::source::source_file(&e.source);
            notification(0, "error", format!("{}: {}", e.source, e.message), file, e.line, e.column)
        })
        .collect();
    execution.extend(audit.internal_errors.iter().map(|e| {
        let (file, line) = (e.location.file.as_deref(), e.location.line);
        notification(3, "error", e.message.clone(), file, line, None)
    }));
    execution.extend(audit.skipped.iter().map(|s| {
        let document = s.document.map(|d| format!(" (document {d})")).unwrap_or_default();
        let text = format!("{}{document} skipped: {}", s.source, s.reason);
        notification(1, "note", text, crate::source::source_file(&s.source), s.line, None)
    }));
    execution.extend(audit.not_evaluated.iter().map(|g| {
        let rules = if g.rules.is_empty() { "none".to_string() } else { g.rules.join(", ") };
        let text = format!("context {}: {} ({}); rules not evaluated there: {rules}", g.context, g.message, g.reason);
        notification(4, "warning", text, None, None, None)
    }));
    let configuration: Vec<Value> = audit
        .exemption_notes
        .iter()
        .map(|n| notification(2, "warning", format!("{}: {}", n.source, n.message), None, None, None))
        .collect();
    json!({
        // Input and internal errors make the run exit 2: the tool did not see or check everything.
        "executionSuccessful": audit.errors.is_empty() && audit.internal_errors.is_empty(),
        "toolExecutionNotifications": execution,
        "toolConfigurationNotifications": configuration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_keeps_paragraphs_and_list_items() {
        let text = "One line\nwrapped.\n\nWhen:\n- first\n  continued;\n- second.";
        assert_eq!(unwrap_lines(text), "One line wrapped.\n\nWhen:\n- first continued;\n- second.");
    }

    #[test]
    fn levels_and_scores() {
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Info), "note");
        assert_eq!(security_severity(Severity::Critical), "9.5");
    }
}
