//! Fixes: from a finding's semantic operations to text edits, line suggestions and patches, and
//! the verified apply loop behind `clustergpt fix`.
//!
//! Every applied fix is checked: the file must still parse, the object must equal the original
//! with the operations applied (so nothing else changed), the targeted finding must be gone, and
//! no new finding may appear. Otherwise the fix is dropped and the reason reported.

pub mod edit;
pub mod patch;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::audit::{self, Audit, RunOptions};
use crate::config::Config;
use crate::model::{Applicability, Finding, Fix, FixOp, Object, ObjectRef, Origin, Suggestion};
use crate::source::{self, Input};
use crate::yaml::{self, Limits, Node};

/// Applies a fix's operations to a file's text and returns the new text.
///
/// `doc_range` is the byte range of the object's YAML document; only that document is re-parsed.
///
/// # Errors
/// Why no faithful edit exists, or why the edit was rejected.
pub fn apply_to_text(
    text: &str,
    json: bool,
    doc_range: (usize, usize),
    prefix: &str,
    body: &Value,
    fix: &Fix,
) -> Result<String, String> {
    let (a, b) = doc_range;
    if a > b || b > text.len() || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
        return Err("the document's position in the file is out of date".to_string());
    }
    let doc = apply_to_document(&text[a..b], json, prefix, body, fix)?;
    let mut out = String::with_capacity(text.len() + doc.len());
    out.push_str(&text[..a]);
    out.push_str(&doc);
    out.push_str(&text[b..]);
    Ok(out)
}

/// Applies a fix to the text of one YAML document (or a whole JSON file) and returns its new text.
///
/// # Errors
/// Why no faithful edit exists, or why the edit was rejected.
pub fn apply_to_document(doc_text: &str, json: bool, prefix: &str, body: &Value, fix: &Fix) -> Result<String, String> {
    apply_to_document_parsed(doc_text, json, prefix, body, fix, None)
}

/// A document parsed once and reused for every fix on it.
pub struct ParsedDoc {
    root: Node,
    style: edit::FileStyle,
}

impl ParsedDoc {
    /// Parses a document's text.
    ///
    /// # Errors
    /// When it does not parse or is empty.
    pub fn new(doc_text: &str, json: bool) -> Result<ParsedDoc, String> {
        let docs =
            yaml::parse_stream(doc_text, Limits::default()).map_err(|e| format!("the document does not parse: {e}"))?;
        let root = docs.into_iter().next().and_then(|d| d.root).ok_or("the document is empty")?;
        let style = edit::detect_style(doc_text, &root, json);
        Ok(ParsedDoc { root, style })
    }
}

fn apply_to_document_parsed(
    doc_text: &str,
    json: bool,
    prefix: &str,
    body: &Value,
    fix: &Fix,
    parsed: Option<&ParsedDoc>,
) -> Result<String, String> {
    let expected = edit::apply_ops_json(body, &fix.ops)?;
    let mut doc = doc_text.to_string();
    let mut created = Vec::new();
    for (i, op) in fix.ops.iter().enumerate() {
        if i == 0
            && !matches!(op, FixOp::Create { .. })
            && let Some(p) = parsed
        {
            // The document as read: its parse is shared by every finding on it.
            let node = object_node(&p.root, prefix)?;
            let e = edit::op_edit(&doc, node, body, op, p.style)?;
            doc = e.apply(&doc);
            continue;
        }
        if let FixOp::Create { value } = op {
            if json {
                return Err("a JSON file holds one object; create the new object in a file of its own".to_string());
            }
            if !prefix.is_empty() {
                return Err("the object is an item of a list, not a document of its own; create the new object in a file of its own".to_string());
            }
            let docs =
                yaml::parse_stream(&doc, Limits::default()).map_err(|e| format!("the document does not parse: {e}"))?;
            let root = docs.first().and_then(|d| d.root.as_ref()).ok_or("the document is empty")?;
            let style = edit::detect_style(&doc, root, json);
            doc = append_document(&doc, value, style);
            created.push(value.clone());
            continue;
        }
        let docs =
            yaml::parse_stream(&doc, Limits::default()).map_err(|e| format!("the document does not parse: {e}"))?;
        let root = docs.first().and_then(|d| d.root.as_ref()).ok_or("the document is empty")?;
        let node = object_node(root, prefix)?;
        let style = edit::detect_style(&doc, root, json);
        let e = edit::op_edit(&doc, node, &node.to_json(), op, style)?;
        doc = e.apply(&doc);
    }
    let docs =
        yaml::parse_stream(&doc, Limits::default()).map_err(|e| format!("the edit would break the file ({e})"))?;
    let root = docs.first().and_then(|d| d.root.as_ref()).ok_or("the edit would empty the document")?;
    if docs.len() != 1 + created.len() || !reads_back_as(object_node(root, prefix)?.to_json(), prefix, &expected) {
        return Err("the text edit would not produce exactly the fixed object".to_string());
    }
    for (d, value) in docs[1..].iter().zip(&created) {
        if d.root.as_ref().map(Node::to_json).as_ref() != Some(value) {
            return Err("the new document would not read back as the created object".to_string());
        }
    }
    Ok(doc)
}

/// Whether the edited object reads back as `expected`. An item of an API list (`DeploymentList`)
/// takes apiVersion and kind from the list, so its text may lack what the object carries.
fn reads_back_as(mut got: Value, prefix: &str, expected: &Value) -> bool {
    if prefix.contains("/items/")
        && let (Some(g), Some(e)) = (got.as_object_mut(), expected.as_object())
    {
        for k in ["apiVersion", "kind"] {
            if let (false, Some(v)) = (g.contains_key(k), e.get(k)) {
                g.insert(k.to_string(), v.clone());
            }
        }
    }
    got == *expected
}

/// Appends `value` as a new YAML document after a document's text, in the file's style.
fn append_document(doc: &str, value: &Value, style: edit::FileStyle) -> String {
    let nl = style.nl;
    let mut out = doc.to_string();
    // Keep the document's own trailing text; a missing final newline is added before the separator.
    let had_final_newline = out.ends_with('\n');
    if !had_final_newline {
        out.push_str(nl);
    }
    out.push_str("---");
    out.push_str(nl);
    let mut block = edit::to_block_yaml_styled(value, style);
    if !had_final_newline {
        block = block.trim_end_matches(['\n', '\r']).to_string();
    }
    out.push_str(&block);
    out
}

fn object_node<'a>(root: &'a Node, prefix: &str) -> Result<&'a Node, String> {
    if prefix.is_empty() {
        return Ok(root);
    }
    let (_, node, depth) = root.locate(prefix);
    if depth == yaml::pointer_segments(prefix).count() {
        Ok(node)
    } else {
        Err("the object is gone from its list".to_string())
    }
}

/// The smallest whole-line replacement that turns `original` into `fixed`.
///
/// A pure insertion is widened to the line before it, because a suggestion must replace at least one line.
#[must_use]
pub fn line_suggestion(file: &str, original: &str, fixed: &str) -> Option<Suggestion> {
    if original == fixed {
        return None;
    }
    let o: Vec<&str> = original.split_inclusive('\n').collect();
    let f: Vec<&str> = fixed.split_inclusive('\n').collect();
    let mut p = o.iter().zip(&f).take_while(|(x, y)| x == y).count();
    let max_s = o.len().min(f.len()) - p;
    let mut s = o.iter().rev().zip(f.iter().rev()).take(max_s).take_while(|(x, y)| x == y).count();
    if o.len() - s == p {
        // Nothing replaced, only inserted: include the line before (or after, at the top).
        if p > 0 {
            p -= 1;
        } else if s > 0 {
            s -= 1;
        } else {
            return None;
        }
    }
    let replacement: String = f[p..f.len() - s].concat();
    let replacement =
        replacement.strip_suffix('\n').map_or(replacement.as_str(), |r| r.strip_suffix('\r').unwrap_or(r)).to_string();
    Some(Suggestion {
        file: file.to_string(),
        start_line: u32::try_from(p + 1).ok()?,
        end_line: u32::try_from(o.len() - s).ok()?,
        replacement,
    })
}

fn find_object<'a>(objects: &'a [Object], f: &Finding) -> Option<&'a Object> {
    objects.iter().find(|o| o.file() == f.location.file.as_deref() && ObjectRef::of(o) == f.object)
}

/// Adds the text edit (as a line suggestion), the patch and the YAML snippet to every fix.
pub fn enrich(audit: &mut Audit, objects: &[Object]) {
    let mut index: BTreeMap<(Option<&str>, ObjectRef), usize> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        index.entry((o.file(), ObjectRef::of(o))).or_insert(i);
    }
    // Findings come sorted by file and line, so the findings of one document are mostly adjacent:
    // keep its parse for the next finding.
    let mut last: Option<((String, usize), Result<ParsedDoc, String>)> = None;
    for f in &mut audit.findings {
        let key = (f.location.file.as_deref(), f.object.clone());
        let Some(obj) = index.get(&key).and_then(|&i| objects.get(i)) else { continue };
        let Some(fix) = f.fix.as_mut() else { continue };
        fix.patch = patch::patch_for(obj, fix);
        if fix.ops.is_empty() {
            continue;
        }
        if let (Some(src), Some((a, b))) = (&obj.source, obj.doc_range) {
            let doc_key = (src.path.clone(), a);
            if last.as_ref().is_none_or(|(k, _)| *k != doc_key)
                && b <= src.text.len()
                && src.text.is_char_boundary(a)
                && src.text.is_char_boundary(b)
            {
                last = Some((doc_key, ParsedDoc::new(&src.text[a..b], src.json)));
            }
        }
        let parsed = last.as_ref().and_then(|(_, p)| p.as_ref().ok());
        match document_suggestion(obj, fix, parsed) {
            Ok(s) => fix.suggestion = s,
            Err(e) => fix.edit_error = Some(e),
        }
    }
}

/// The line suggestion for a fix, computed on the object's document alone (files can be large).
fn document_suggestion(obj: &Object, fix: &Fix, parsed: Option<&ParsedDoc>) -> Result<Option<Suggestion>, String> {
    // Live and snapshot objects have no file to edit: their fix is the patch alone.
    let Origin::File { prefix, .. } = &obj.origin else { return Ok(None) };
    let (Some(src), Some((a, b))) = (&obj.source, obj.doc_range) else {
        return Err("the object was not read from a file".to_string());
    };
    let text = &src.text;
    if a > b || b > text.len() || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
        return Err("the document's position in the file is out of date".to_string());
    }
    let old = &text[a..b];
    let new = apply_to_document_parsed(old, src.json, prefix, &obj.body, fix, parsed)?;
    // Lines before the document, from the object's own position (counting from the file's start
    // for every finding would be quadratic in files with many documents).
    let lines_before = match obj.spans.as_ref().and_then(|s| s.root()) {
        Some(n) if n.start.byte >= a && n.start.byte <= text.len() => {
            let inside = text[a..n.start.byte].bytes().filter(|c| *c == b'\n').count();
            (n.start.line - 1).saturating_sub(u32::try_from(inside).unwrap_or(0))
        }
        _ => u32::try_from(text[..a].bytes().filter(|c| *c == b'\n').count()).unwrap_or(0),
    };
    Ok(line_suggestion(&src.path, old, &new).map(|mut s| {
        s.start_line += lines_before;
        s.end_line += lines_before;
        s
    }))
}

/// The object's file text with the fix applied.
fn text_edit(obj: &Object, fix: &Fix) -> Result<String, String> {
    let (Some(src), Some(range), Origin::File { prefix, .. }) = (&obj.source, obj.doc_range, &obj.origin) else {
        return Err("the object was not read from a file".to_string());
    };
    apply_to_text(&src.text, src.json, range, prefix, &obj.body, fix)
}

/// A fix that was applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    /// Rule id.
    pub rule: String,
    /// Fingerprint of the finding it fixed.
    pub fingerprint: String,
    /// Object.
    pub object: String,
    /// Fix title.
    pub title: String,
    /// Safe or unsafe.
    pub applicability: Applicability,
}

/// A fix that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotApplied {
    /// Rule id.
    pub rule: String,
    /// Fingerprint.
    pub fingerprint: String,
    /// Object.
    pub object: String,
    /// Fix title.
    pub title: String,
    /// Why.
    pub reason: String,
}

/// The outcome of fixing a set of files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FixReport {
    /// Path → (original, fixed) for files that changed.
    #[serde(skip)]
    pub changed: BTreeMap<String, (String, String)>,
    /// Fixes applied, in order.
    pub applied: Vec<Applied>,
    /// Fixes that failed verification or have no faithful edit.
    pub failed: Vec<NotApplied>,
    /// Fixes not applied because they are unsafe (without `--unsafe`) or display-only.
    pub skipped: Vec<NotApplied>,
    /// Whether the loop stopped at its iteration cap with fixes still applying.
    pub did_not_converge: bool,
    /// The audit after fixing.
    #[serde(skip)]
    pub after: Option<Audit>,
}

/// Rules whose findings a fix may legitimately reveal: making a workload multi-replica is what
/// makes a missing PodDisruptionBudget or anti-affinity matter. Those are reported by the next
/// audit, not counted against the fix.
fn may_reveal(rule: &str) -> &'static [&'static str] {
    match rule {
        "REL007" => &["REL010", "REL012", "REL017"],
        // A privileged container passes the escalation check by construction; unprivileged, it must set it.
        "SEC001" => &["SEC002"],
        _ => &[],
    }
}

/// Maximum passes over the files; each pass applies every fix that still verifies.
pub const MAX_PASSES: usize = 10;

/// Applies fixes to files, one at a time, verifying each.
///
/// `files` are (path, text) pairs; the whole set is audited together so cross-object rules see
/// every object. `allow_unsafe` includes unsafe fixes; `opts` selects which rules' fixes apply.
#[must_use]
pub fn fix_files(files: &[(String, String)], config: &Config, opts: &RunOptions, allow_unsafe: bool) -> FixReport {
    let mut texts: BTreeMap<String, String> = files.iter().cloned().collect();
    let originals = texts.clone();
    let mut parsed: BTreeMap<String, Input> = BTreeMap::new();
    for (path, text) in &texts {
        parsed.insert(path.clone(), parse_one(path, text));
    }
    let (mut audit, mut objects) = audit_all(&parsed, config, opts);
    let mut report = FixReport::default();
    let mut given_up: BTreeSet<String> = BTreeSet::new();
    let mut skipped_seen: BTreeSet<String> = BTreeSet::new();
    let mut converged = false;
    for _pass in 0..MAX_PASSES {
        let mut progress = false;
        let candidates: Vec<Finding> =
            audit.findings.iter().filter(|f| f.fix.is_some() && f.location.file.is_some()).cloned().collect();
        for f in candidates {
            let Some(fix) = f.fix.clone() else { continue };
            if given_up.contains(&f.fingerprint) {
                continue;
            }
            let object = f.object.to_string();
            let allowed = match fix.applicability {
                Applicability::Safe => true,
                Applicability::Unsafe => allow_unsafe,
                Applicability::DisplayOnly => false,
            };
            if !allowed {
                if skipped_seen.insert(f.fingerprint.clone()) {
                    let reason = match fix.applicability {
                        Applicability::Unsafe => "unsafe: pass --unsafe to apply".to_string(),
                        _ => fix.note.clone().unwrap_or_else(|| "display-only: needs values only you know".to_string()),
                    };
                    report.skipped.push(not_applied(&f, &fix, reason));
                }
                continue;
            }
            // The finding may already be gone after earlier fixes in this pass.
            if !audit.findings.iter().any(|g| g.fingerprint == f.fingerprint) {
                continue;
            }
            let Some(obj) = find_object(&objects, &f) else { continue };
            let Some(file) = f.location.file.clone() else { continue };
            let result = text_edit(obj, &fix).and_then(|fixed| {
                let mut trial = parsed.clone();
                let input = parse_one(&file, &fixed);
                if !input.errors.is_empty() {
                    return Err(format!("the fixed file does not parse: {}", input.errors[0]));
                }
                trial.insert(file.clone(), input);
                let (after, after_objects) = audit_all(&trial, config, opts);
                if after.findings.iter().any(|g| g.fingerprint == f.fingerprint) {
                    return Err("the finding remains after the edit".to_string());
                }
                let before: BTreeSet<&str> = audit.findings.iter().map(|g| g.fingerprint.as_str()).collect();
                let allowed_new = may_reveal(&f.rule);
                let new: Vec<String> = after
                    .findings
                    .iter()
                    .filter(|g| !before.contains(g.fingerprint.as_str()) && !allowed_new.contains(&g.rule.as_str()))
                    .map(|g| format!("{} {}", g.rule, g.message))
                    .collect();
                if !new.is_empty() {
                    return Err(format!("the edit introduces new findings: {}", new.join("; ")));
                }
                Ok((fixed, trial, after, after_objects))
            });
            match result {
                Ok((fixed, trial, after, after_objects)) => {
                    texts.insert(file, fixed);
                    parsed = trial;
                    audit = after;
                    objects = after_objects;
                    report.applied.push(Applied {
                        rule: f.rule.clone(),
                        fingerprint: f.fingerprint.clone(),
                        object,
                        title: fix.title.clone(),
                        applicability: fix.applicability,
                    });
                    progress = true;
                }
                Err(reason) => {
                    given_up.insert(f.fingerprint.clone());
                    report.failed.push(not_applied(&f, &fix, reason));
                }
            }
        }
        if !progress {
            converged = true;
            break;
        }
    }
    report.did_not_converge = !converged;
    for (path, text) in texts {
        if let Some(orig) = originals.get(&path)
            && *orig != text
        {
            report.changed.insert(path, (orig.clone(), text));
        }
    }
    report.after = Some(audit);
    report
}

fn not_applied(f: &Finding, fix: &Fix, reason: String) -> NotApplied {
    NotApplied {
        rule: f.rule.clone(),
        fingerprint: f.fingerprint.clone(),
        object: f.object.to_string(),
        title: fix.title.clone(),
        reason,
    }
}

fn parse_one(path: &str, text: &str) -> Input {
    let mut input = Input::default();
    source::load_text(path, text.to_string(), Limits::default(), &mut input);
    input
}

fn audit_all(parsed: &BTreeMap<String, Input>, config: &Config, opts: &RunOptions) -> (Audit, Vec<Object>) {
    let mut all = Input::default();
    for input in parsed.values() {
        all.objects.extend(input.objects.iter().cloned());
        all.errors.extend(input.errors.iter().cloned());
        all.skipped.extend(input.skipped.iter().cloned());
        all.files += input.files;
    }
    audit::run_with_objects(all, config, opts)
}

fn diff_name(side: &str, path: &str) -> String {
    if path.starts_with('/') { path.to_string() } else { format!("{side}/{}", path.trim_start_matches("./")) }
}

/// A unified diff of one file.
#[must_use]
pub fn unified_diff(path: &str, original: &str, fixed: &str) -> String {
    similar::TextDiff::from_lines(original, fixed)
        .unified_diff()
        .context_radius(3)
        .header(&diff_name("a", path), &diff_name("b", path))
        .to_string()
}
