//! Fixes: from a finding's semantic operations to text edits, line suggestions and patches, and
//! the verified apply loop behind `clustergpt fix`.
//!
//! Every applied fix is checked: the file must still parse, the object must equal the original
//! with the operations applied (so nothing else changed), the targeted finding must be gone, and
//! no new finding may appear. Otherwise the fix is dropped and the reason reported.

pub mod edit;
mod json_check;
pub mod patch;
mod region;
pub mod source_edit;
mod verify;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::audit::{Audit, RunOptions};
use crate::config::Config;
use crate::model::{Applicability, Finding, Fix, FixOp, Object, ObjectRef, Origin, Suggestion};
use crate::yaml::{self, Limits, Node};
use verify::Checker;

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
pub(super) fn reads_back_as(mut got: Value, prefix: &str, expected: &Value) -> bool {
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
    let (p, o_end, _, replacement) = line_diff_text(original, fixed)?;
    Some(Suggestion {
        file: file.to_string(),
        start_line: u32::try_from(p + 1).ok()?,
        end_line: u32::try_from(o_end).ok()?,
        replacement,
    })
}

/// The lines `p..o_end` of `o` (0-based, end exclusive) that become `replacement` (without its
/// final newline) to turn `o` into `f`; `None` when nothing changed.
/// The lines of `o` that `f` changes: the first changed line (0-based), the end of the replaced
/// lines (exclusive), the count of `o`'s lines, and the replacement (without its last newline).
/// A pure insertion takes the line before it (or after it, at the top) along.
/// A List item's suggestion computes this for every fix, on the item's kilobyte of text.
pub(crate) fn line_diff_text(o: &str, f: &str) -> Option<(usize, usize, usize, String)> {
    if o == f {
        return None;
    }
    let (ob, fb) = (o.as_bytes(), f.as_bytes());
    let newlines = |b: &[u8]| memchr::memchr_iter(b'\n', b).count();
    let lines = |b: &[u8]| newlines(b) + usize::from(!b.is_empty() && !b.ends_with(b"\n"));
    let (o_lines, f_lines) = (lines(ob), lines(fb));
    let common = common_prefix(ob, fb);
    let mut p = newlines(&ob[..common]);
    let max_s = o_lines.min(f_lines) - p;
    let tail = common_suffix(ob, fb);
    // A line starts `d` bytes before the end when the byte before it is a newline (or it is the
    // text's start); a trailing line is the same in both when it starts at the same distance.
    // Below `tail` the bytes before are the same in both, so only `d == tail` needs both checked.
    let starts_at = |b: &[u8], d: usize| d == b.len() || (d < b.len() && b[b.len() - d - 1] == b'\n');
    let inside = if tail > 1 { newlines(&ob[ob.len() - tail..ob.len() - 1]) } else { 0 };
    let at_edge = usize::from(tail > 0 && starts_at(ob, tail) && starts_at(fb, tail));
    let mut s = (inside + at_edge).min(max_s);
    if o_lines - s == p {
        // Nothing replaced, only inserted: include the line before (or after, at the top).
        if p > 0 {
            p -= 1;
        } else if s > 0 {
            s -= 1;
        } else {
            return None;
        }
    }
    // Byte offsets in `f` of line `p` and of the line `s` lines before the end.
    let from = if p == 0 { 0 } else { memchr::memchr_iter(b'\n', fb).nth(p - 1)? + 1 };
    let to = if s == 0 {
        fb.len()
    } else {
        // The `s`-th line start from the end: after the `s`-th newline before the last byte, or
        // the text's start (by construction `f` has `s` line starts there).
        memchr::memrchr_iter(b'\n', &fb[..fb.len().saturating_sub(1)]).nth(s - 1).map_or(0, |i| i + 1)
    };
    let replacement = f.get(from..to.max(from))?;
    let replacement = replacement.strip_suffix('\n').map_or(replacement, |r| r.strip_suffix('\r').unwrap_or(r));
    Some((p, o_lines - s, o_lines, replacement.to_string()))
}

/// Length of the common prefix, compared a block at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 32 <= n && a[i..i + 32] == b[i..i + 32] {
        i += 32;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Length of the common suffix, compared a block at a time.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (la, lb) = (a.len(), b.len());
    let mut i = 0;
    while i + 32 <= n && a[la - i - 32..la - i] == b[lb - i - 32..lb - i] {
        i += 32;
    }
    while i < n && a[la - i - 1] == b[lb - i - 1] {
        i += 1;
    }
    i
}

/// Adds the text edit (as a line suggestion), the patch and the YAML snippet to every fix.
pub fn enrich(audit: &mut Audit, objects: &[Object]) {
    let enricher = Enricher::new(objects);
    // Every finding's fix is computed on its own, so contiguous slices run on every core; the
    // output does not depend on how they are cut.
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let chunk = audit.findings.len().div_ceil(threads).max(MIN_ENRICH_CHUNK);
    if audit.findings.len() <= chunk {
        enricher.enrich(&mut audit.findings);
        return;
    }
    std::thread::scope(|scope| {
        for part in audit.findings.chunks_mut(chunk) {
            let enricher = &enricher;
            scope.spawn(move || enricher.enrich(part));
        }
    });
}

/// Enriches any slice of an audit's findings (what [`enrich`] does to all of them): a report
/// can enrich a batch, write it and drop its suggestions and patches before the next.
pub struct Enricher<'a> {
    objects: &'a [Object],
    index: Index<'a>,
    /// Each document's style, found once: a JSON List is one document of megabytes, and every
    /// batch of its findings would scan it again.
    styles: StyleCache,
}

/// Documents' styles by (file, document start).
type StyleCache = std::sync::Mutex<BTreeMap<(String, usize), Option<edit::FileStyle>>>;

impl<'a> Enricher<'a> {
    /// Indexes the objects the findings are about.
    #[must_use]
    pub fn new(objects: &'a [Object]) -> Enricher<'a> {
        let mut index: Index<'_> = BTreeMap::new();
        for (i, o) in objects.iter().enumerate() {
            index.entry(o.file()).or_default().entry(ObjectRef::of(o)).or_insert(i);
        }
        Enricher { objects, index, styles: std::sync::Mutex::default() }
    }

    /// Adds suggestions, patches and edit errors to these findings' fixes.
    pub fn enrich(&self, findings: &mut [Finding]) {
        enrich_slice(findings, self.objects, &self.index, &self.styles);
    }
}

/// Below this many findings a thread costs more than it saves.
const MIN_ENRICH_CHUNK: usize = 512;

/// Objects by file, then identity (looked up without copying a finding's identity).
type Index<'a> = BTreeMap<Option<&'a str>, BTreeMap<ObjectRef, usize>>;

fn enrich_slice(findings: &mut [Finding], objects: &[Object], index: &Index<'_>, styles: &StyleCache) {
    // Findings come sorted by file and line, so the findings of one document (and of one List
    // item) are adjacent: keep their parses for the next finding.
    let mut cursor = Cursor { styles, doc: None, item: None };
    // The findings of one object come together and share its identity's `Arc`: look it up once.
    let mut last: Option<(*const ObjectRef, Option<String>, Option<usize>)> = None;
    for f in findings {
        // A built object is in its target's output, whatever file the finding points at.
        let file = f.rendered.as_ref().map_or(f.location.file.as_deref(), |r| Some(r.target.as_str()));
        let ptr = std::sync::Arc::as_ptr(&f.object);
        let found = match &last {
            Some((p, last_file, i)) if *p == ptr && last_file.as_deref() == file => *i,
            _ => {
                let i = index.get(&file).and_then(|m| m.get(&*f.object)).copied();
                last = Some((ptr, file.map(str::to_string), i));
                i
            }
        };
        let Some(i) = found else { continue };
        let Some(obj) = objects.get(i) else { continue };
        let Some(fix) = f.fix.as_mut() else { continue };
        fix.patch = patch::patch_for(obj, fix).map(Box::new);
        if fix.ops.is_empty() {
            continue;
        }
        match document_suggestion(obj, i, fix, &mut cursor) {
            Ok(s) => fix.suggestion = s.map(Box::new),
            Err(e) => fix.edit_error = Some(e),
        }
    }
}

/// What `enrich` keeps between findings: the current document and List item.
struct Cursor<'s> {
    /// Styles this or other slices found already.
    styles: &'s StyleCache,
    /// (file, document start) and what is known of the document, computed when first needed.
    doc: Option<((String, usize), DocState)>,
    /// Object index and its item's own parse.
    item: Option<(usize, Option<region::Item>)>,
}

#[derive(Default)]
struct DocState {
    parsed: Option<Result<ParsedDoc, String>>,
    style: Option<Option<edit::FileStyle>>,
}

impl Cursor<'_> {
    fn doc(&mut self, path: &str, a: usize) -> &mut DocState {
        if self.doc.as_ref().is_none_or(|(k, _)| k.0 != path || k.1 != a) {
            self.doc = Some(((path.to_string(), a), DocState::default()));
        }
        &mut self.doc.get_or_insert_with(|| ((path.to_string(), a), DocState::default())).1
    }

    /// The parse of document `a..b` of a file.
    fn parsed(&mut self, path: &str, text: &str, (a, b): (usize, usize), json: bool) -> Option<&ParsedDoc> {
        self.doc(path, a).parsed.get_or_insert_with(|| ParsedDoc::new(&text[a..b], json)).as_ref().ok()
    }

    /// The style of document `a..b`: a JSON document's without parsing it.
    fn style(&mut self, path: &str, text: &str, (a, b): (usize, usize), json: bool) -> Option<edit::FileStyle> {
        if let Some(style) = self.doc(path, a).style {
            return style;
        }
        // Found under the lock, and the parse dropped: the first chunks of a large YAML List on
        // every core would each parse (and hold) the whole document at once.
        let style = match self.styles.lock() {
            Ok(mut m) => *m.entry((path.to_string(), a)).or_insert_with(|| document_style(&text[a..b], json)),
            Err(_) => document_style(&text[a..b], json),
        };
        self.doc(path, a).style = Some(style);
        style
    }
}

/// The style of a document's text: a JSON document's without parsing it.
pub(super) fn document_style(doc_text: &str, json: bool) -> Option<edit::FileStyle> {
    match json_style(doc_text).filter(|_| json) {
        Some(style) => Some(style),
        None => ParsedDoc::new(doc_text, json).ok().map(|p| p.style),
    }
}

/// The style of a JSON document, without parsing it: JSON is all flow, so nothing but its line
/// endings is detected (as `edit::detect_style` would).
fn json_style(doc_text: &str) -> Option<edit::FileStyle> {
    doc_text.trim_start().starts_with(['{', '[']).then(|| edit::FileStyle {
        nl: if doc_text.contains("\r\n") { "\r\n" } else { "\n" },
        unit: 2,
        seq_indented: true,
        json: true,
    })
}

/// The line suggestion for a fix, computed on the object's document alone (files can be large),
/// and for a List item on the item alone.
fn document_suggestion(obj: &Object, i: usize, fix: &Fix, cursor: &mut Cursor) -> Result<Option<Suggestion>, String> {
    // Live and snapshot objects have no file to edit: their fix is the patch alone. So are built
    // (Kustomize, Helm) objects for now: their text is the tool's output, not a file to edit.
    let Origin::File { prefix, .. } = &obj.origin else { return Ok(None) };
    if let Some(prov) = &obj.provenance {
        // A built object's text is the tool's output: the edit goes to the file that sets the field.
        let edit = source_edit::translate(prov, &obj.body, &fix.ops)?;
        let fixed = edit.apply(fix)?;
        return Ok(line_suggestion(&edit.source.path, &edit.source.text, &fixed));
    }
    let (Some(src), Some((a, b))) = (&obj.source, obj.doc_range) else {
        return Err("the object was not read from a file".to_string());
    };
    let text = &src.text;
    if a > b || b > text.len() || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
        return Err("the document's position in the file is out of date".to_string());
    }
    let old = &text[a..b];
    if !prefix.is_empty()
        && let Some(root) = obj.spans.as_ref().and_then(|s| s.root())
        && let (Some(s), Some(e)) = (root.start.byte.checked_sub(a), root.end.byte.checked_sub(a))
        && e <= old.len()
    {
        // A List item: its own text is enough, however large the List.
        let style = cursor.style(&src.path, text, (a, b), src.json);
        if cursor.item.as_ref().is_none_or(|(k, _)| *k != i) {
            cursor.item = Some((i, region::Item::parse(old, s, e, &obj.body)));
        }
        if let (Some(style), Some((_, Some(item)))) = (style, &cursor.item)
            && let Some(done) = region::item_suggestion(&src.path, old, root.start.line, item, obj, fix, style)
        {
            return done;
        }
    }
    let parsed = cursor.parsed(&src.path, text, (a, b), src.json);
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
pub(super) fn text_edit(obj: &Object, fix: &Fix) -> Result<String, String> {
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
    /// How the fixes were verified.
    #[serde(skip)]
    pub verification: VerificationStats,
}

/// How [`fix_files_with`] verified the fixes it tried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerificationStats {
    /// Passes over the findings.
    pub passes: usize,
    /// Fixes checked by re-auditing only what they can affect.
    pub incremental: usize,
    /// Of those, fixes of List items edited and read on the item's own text (the List's file is
    /// neither copied nor read again).
    pub items: usize,
    /// Fixes checked by re-auditing everything.
    pub full: usize,
    /// Passes redone with full re-audits because the incremental bookkeeping disagreed with a
    /// full audit (zero unless a rule reads objects beyond what the incremental check re-checks).
    pub redone_passes: usize,
}

/// Why a fix is not applied in this run (unsafe without `--unsafe`, display-only), or `None`.
#[must_use]
pub fn skip_reason(fix: &Fix, allow_unsafe: bool) -> Option<String> {
    match fix.applicability {
        Applicability::Safe => None,
        Applicability::Unsafe if allow_unsafe => None,
        Applicability::Unsafe => Some("unsafe: pass --unsafe to apply".to_string()),
        Applicability::DisplayOnly => {
            Some(fix.note.as_deref().unwrap_or("display-only: needs values only you know").to_string())
        }
    }
}

/// Applies the manifest fixes of diagnoses linked to built (Kustomize, Helm) objects of `built`:
/// each moves onto the patch, values or resource file that sets the field ([`source_edit`]) and is
/// applied to that file in `files` (added, as read when building, when not there yet). Returns
/// the report and the fingerprints it handled; links to other objects are left to
/// [`apply_linked`].
#[must_use]
pub fn apply_linked_built(
    files: &mut Vec<(String, String)>,
    live: &Audit,
    built: &[Object],
    allow_unsafe: bool,
) -> (FixReport, BTreeSet<String>) {
    let mut report = FixReport::default();
    let mut handled = BTreeSet::new();
    for f in &live.findings {
        let Some(link) = f.manifest_link() else { continue };
        let Some(fix) = &link.fix else { continue };
        let Some(obj) = built.iter().find(|o| {
            o.provenance.is_some()
                && ObjectRef::of(o) == link.object
                && o.locate(&link.location.path).file == link.location.file
        }) else {
            continue;
        };
        handled.insert(f.fingerprint.clone());
        let na = |reason: String| NotApplied {
            rule: f.rule.to_string(),
            fingerprint: f.fingerprint.clone(),
            object: link.object.to_string(),
            title: fix.title.to_string(),
            reason,
        };
        if let Some(reason) = skip_reason(fix, allow_unsafe) {
            report.skipped.push(na(reason));
            continue;
        }
        let Some(prov) = &obj.provenance else { continue };
        let edit = match source_edit::translate(prov, &obj.body, &fix.ops) {
            Ok(e) => e,
            Err(reason) => {
                report.failed.push(na(reason));
                continue;
            }
        };
        let wanted = crate::model::normalize_path(&edit.source.path);
        let i = match files.iter().position(|(p, _)| crate::model::normalize_path(p) == wanted) {
            Some(i) => i,
            None => {
                files.push((edit.source.path.clone(), edit.source.text.clone()));
                files.len() - 1
            }
        };
        let slot = &mut files[i];
        match source_edit::apply_to_source(&slot.1, edit.document, &edit.ops, fix) {
            Ok(fixed) => keep(&mut report, slot, fixed, f, link.object.to_string(), fix),
            Err(e) => report.failed.push(na(e)),
        }
    }
    (report, handled)
}

/// Keeps a linked fix's edit of a file: the file's text, its change since the run began, and the
/// fix as applied (named by the manifest object it edits).
fn keep(report: &mut FixReport, slot: &mut (String, String), fixed: String, f: &Finding, object: String, fix: &Fix) {
    let original = report.changed.get(&slot.0).map_or_else(|| slot.1.clone(), |(o, _)| o.clone());
    report.changed.insert(slot.0.clone(), (original, fixed.clone()));
    slot.1 = fixed;
    report.applied.push(Applied {
        rule: f.rule.to_string(),
        fingerprint: f.fingerprint.clone(),
        object,
        title: fix.title.to_string(),
        applicability: fix.applicability,
    });
}

/// Applies the manifest fixes of linked diagnoses (see [`crate::link`]) to `files`, one at a time:
/// each edit must re-parse and leave the manifest object equal to the original with the fix's
/// operations applied. Unsafe fixes need `allow_unsafe`. Returns what was applied, failed and
/// skipped, in the shape of a [`FixReport`] (its `changed` maps path → (original, fixed)).
#[must_use]
pub fn apply_linked(files: &mut [(String, String)], live: &Audit, allow_unsafe: bool) -> FixReport {
    let mut report = FixReport::default();
    for f in &live.findings {
        let Some(link) = f.manifest_link() else { continue };
        let Some(fix) = &link.fix else { continue };
        let object = link.object.to_string();
        let na = |reason: String| NotApplied {
            rule: f.rule.to_string(),
            fingerprint: f.fingerprint.clone(),
            object: object.clone(),
            title: fix.title.to_string(),
            reason,
        };
        if let Some(reason) = skip_reason(fix, allow_unsafe) {
            report.skipped.push(na(reason));
            continue;
        }
        let Some(file) = link.location.file.as_deref() else { continue };
        let Some(slot) = files.iter_mut().find(|(p, _)| p == file) else {
            report.failed.push(na(format!("{file} is not among the files to fix")));
            continue;
        };
        let input = verify::parse_one(&slot.0, &slot.1);
        let Some(obj) = input.objects.iter().find(|o| ObjectRef::of(o) == link.object) else {
            report.failed.push(na(format!("{object} is no longer in {file}")));
            continue;
        };
        match text_edit(obj, fix) {
            Ok(fixed) if verify::parse_one(&slot.0, &fixed).errors.is_empty() => {
                keep(&mut report, slot, fixed, f, object, fix);
            }
            Ok(_) => report.failed.push(na("the fixed file does not parse".to_string())),
            Err(e) => report.failed.push(na(e)),
        }
    }
    report
}

/// Rules whose findings a fix may legitimately reveal: making a workload multi-replica is what
/// makes a missing PodDisruptionBudget or anti-affinity matter. Those are reported by the next
/// audit, not counted against the fix.
#[must_use]
pub fn may_reveal(rule: &str) -> &'static [&'static str] {
    match rule {
        "REL007" => &["REL010", "REL012", "REL017"],
        // A privileged container passes the escalation check by construction; unprivileged, it must set it.
        "SEC001" => &["SEC002"],
        // Pods on the host network are outside every NetworkPolicy; on the pod network they are not.
        "SEC007" => &["SEC021"],
        _ => &[],
    }
}

/// A byte order mark.
const BOM: char = '\u{feff}';

/// Maximum passes over the files; each pass applies every fix that still verifies.
pub const MAX_PASSES: usize = 10;

/// How [`fix_files_with`] checks each fix against the rest of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Re-audit every object after every fix: the reference behaviour, quadratic in the input.
    Full,
    /// Re-parse the edited document and re-check only the objects the edit can affect (the
    /// edited objects and their graph neighbourhood, or more when an edit reaches further); one
    /// full audit per pass must agree, or the pass is redone with [`Verification::Full`].
    Incremental,
}

/// Applies fixes to files, one at a time, verifying each.
///
/// `files` are (path, text) pairs; the whole set is audited together so cross-object rules see
/// every object. `allow_unsafe` includes unsafe fixes; `opts` selects which rules' fixes apply.
#[must_use]
pub fn fix_files(files: &[(String, String)], config: &Config, opts: &RunOptions, allow_unsafe: bool) -> FixReport {
    fix_files_with(files, config, opts, allow_unsafe, Verification::Incremental)
}

/// [`fix_files`] with a choice of how fixes are verified; both give the same report.
#[must_use]
pub fn fix_files_with(
    files: &[(String, String)],
    config: &Config,
    opts: &RunOptions,
    allow_unsafe: bool,
    verification: Verification,
) -> FixReport {
    // A byte order mark is not content (objects' positions are read after it): fix the text
    // after it, and give each changed file its mark back.
    let marked: BTreeSet<&str> = files.iter().filter(|(_, t)| t.starts_with(BOM)).map(|(p, _)| p.as_str()).collect();
    let originals: BTreeMap<String, String> =
        files.iter().map(|(p, t)| (p.clone(), t.strip_prefix(BOM).unwrap_or(t).to_string())).collect();
    let start = |texts: BTreeMap<String, String>| -> Box<dyn Checker + '_> {
        match verification {
            Verification::Full => Box::new(verify::Full::new(texts, config, opts)),
            Verification::Incremental => Box::new(verify::Incremental::new(texts, config, opts)),
        }
    };
    let mut checker = start(originals.clone());
    let mut report = FixReport::default();
    let mut seen = Seen::default();
    let mut converged = false;
    for _pass in 0..MAX_PASSES {
        let candidates: Vec<Finding> =
            checker.audit().findings.iter().filter(|f| f.fix.is_some() && f.location.file.is_some()).cloned().collect();
        report.verification.passes += 1;
        let mark = (report.applied.len(), report.failed.len(), report.skipped.len(), seen.clone());
        let texts = checker.texts().clone();
        let mut progress = run_pass(&mut *checker, &candidates, allow_unsafe, &mut report, &mut seen);
        if progress && !checker.end_pass() {
            // The incremental bookkeeping disagrees with a full audit: redo the pass the exact way.
            report.verification.redone_passes += 1;
            report.applied.truncate(mark.0);
            report.failed.truncate(mark.1);
            report.skipped.truncate(mark.2);
            seen = mark.3;
            let mut full = verify::Full::new(texts, config, opts);
            progress = run_pass(&mut full, &candidates, allow_unsafe, &mut report, &mut seen);
            checker = start(full.into_texts());
        }
        if !progress {
            converged = true;
            break;
        }
    }
    report.did_not_converge = !converged;
    let (texts, after) = checker.finish();
    for (path, text) in texts {
        if let Some(orig) = originals.get(&path)
            && *orig != text
        {
            let changed = if marked.contains(path.as_str()) {
                (format!("{BOM}{orig}"), format!("{BOM}{text}"))
            } else {
                (orig.clone(), text)
            };
            report.changed.insert(path, changed);
        }
    }
    report.after = Some(after);
    report
}

/// Fingerprints a run has given up on or reported as skipped.
#[derive(Debug, Clone, Default)]
struct Seen {
    given_up: BTreeSet<String>,
    skipped: BTreeSet<String>,
}

/// One pass over the candidates: applies every fix that still verifies. Returns whether any did.
fn run_pass(
    checker: &mut dyn Checker,
    candidates: &[Finding],
    allow_unsafe: bool,
    report: &mut FixReport,
    seen: &mut Seen,
) -> bool {
    let mut progress = false;
    for f in candidates {
        let Some(fix) = &f.fix else { continue };
        if seen.given_up.contains(&f.fingerprint) {
            continue;
        }
        if let Some(reason) = skip_reason(fix, allow_unsafe) {
            if seen.skipped.insert(f.fingerprint.clone()) {
                report.skipped.push(not_applied(f, fix, reason));
            }
            continue;
        }
        // The finding may already be gone after earlier fixes in this pass.
        if !checker.has(&f.fingerprint) {
            continue;
        }
        let Some(file) = &f.location.file else { continue };
        let Some(result) = checker.try_fix(f, file, fix, &mut report.verification) else { continue };
        match result {
            Ok(()) => {
                report.applied.push(Applied {
                    rule: f.rule.to_string(),
                    fingerprint: f.fingerprint.clone(),
                    object: f.object.to_string(),
                    title: fix.title.to_string(),
                    applicability: fix.applicability,
                });
                progress = true;
            }
            Err(reason) => {
                seen.given_up.insert(f.fingerprint.clone());
                report.failed.push(not_applied(f, fix, reason));
            }
        }
    }
    progress
}

/// A fix of a finding that was not applied, and why.
#[must_use]
pub fn not_applied(f: &Finding, fix: &Fix, reason: String) -> NotApplied {
    NotApplied {
        rule: f.rule.to_string(),
        fingerprint: f.fingerprint.clone(),
        object: f.object.to_string(),
        title: fix.title.to_string(),
        reason,
    }
}

fn diff_name(side: &str, path: &str) -> String {
    if path.starts_with('/') { path.to_string() } else { format!("{side}/{}", path.trim_start_matches("./")) }
}

/// A unified diff of one file.
#[must_use]
pub fn unified_diff(path: &str, original: &str, fixed: &str) -> String {
    // Myers gives the smallest diff, in time that grows with the file's length times the number
    // of changes: a large List with thousands of scattered fixes takes minutes. Patience anchors
    // on lines that occur once on each side and diffs only between them (near-linear), at the
    // price of a less minimal diff around repeated lines.
    let lines = |t: &str| memchr::memchr_iter(b'\n', t.as_bytes()).count();
    let algorithm = if lines(original).max(lines(fixed)) > MYERS_MAX_LINES {
        similar::Algorithm::Patience
    } else {
        similar::Algorithm::Myers
    };
    similar::TextDiff::configure()
        .algorithm(algorithm)
        .diff_lines(original, fixed)
        .unified_diff()
        .context_radius(3)
        .header(&diff_name("a", path), &diff_name("b", path))
        .to_string()
}

/// Files up to this many lines are diffed with Myers' algorithm.
const MYERS_MAX_LINES: usize = 5_000;

#[cfg(test)]
mod line_diff_tests {
    use super::*;

    /// The line-by-line reference.
    fn line_diff(o: &[&str], f: &[&str]) -> Option<(usize, usize, String)> {
        if o == f {
            return None;
        }
        let mut p = o.iter().zip(f).take_while(|(x, y)| x == y).count();
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
        let replacement = replacement
            .strip_suffix('\n')
            .map_or(replacement.as_str(), |r| r.strip_suffix('\r').unwrap_or(r))
            .to_string();
        Some((p, o.len() - s, replacement))
    }

    /// The text diff answers exactly as the line-by-line one, on texts that differ anywhere.
    #[test]
    fn text_diff_matches_the_line_diff() {
        let pieces = ["a", "b", "\n", "\r\n", "  x: 1\n", "", "- y\n", "z", "\n\n"];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let mut o = String::new();
            for _ in 0..next(8) {
                o.push_str(pieces[next(pieces.len())]);
            }
            let mut f = o.clone();
            for _ in 0..1 + next(3) {
                let at = next(f.len() + 1);
                if !f.is_char_boundary(at) {
                    continue;
                }
                match next(3) {
                    0 => f.insert_str(at, pieces[next(pieces.len())]),
                    1 if at < f.len() => {
                        f.remove(at);
                    }
                    _ => f.insert(at, 'q'),
                }
            }
            let ol: Vec<&str> = o.split_inclusive('\n').collect();
            let fl: Vec<&str> = f.split_inclusive('\n').collect();
            let want = line_diff(&ol, &fl).map(|(p, e, r)| (p, e, ol.len(), r));
            assert_eq!(line_diff_text(&o, &f), want, "{o:?} -> {f:?}");
        }
    }

    /// A large file with scattered edits (a fixed List) is diffed past Myers' size: every
    /// changed line, and nothing else, is in the diff.
    #[test]
    fn a_large_file_diff_holds_exactly_the_changed_lines() {
        let n = MYERS_MAX_LINES + 1_000;
        let original: String = (0..n).map(|i| format!("  - name: item-{i}\n    image: app:1\n")).collect();
        let fixed: String = (0..n)
            .map(|i| {
                let tag = if i % 7 == 0 { "app:2" } else { "app:1" };
                format!("  - name: item-{i}\n    image: {tag}\n")
            })
            .collect();
        let diff = unified_diff("list.yaml", &original, &fixed);
        let changed = (0..n).filter(|i| i % 7 == 0).count();
        let minus = diff.lines().filter(|l| l.starts_with('-') && !l.starts_with("---")).collect::<Vec<_>>();
        let plus = diff.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).collect::<Vec<_>>();
        assert_eq!((minus.len(), plus.len()), (changed, changed));
        assert!(minus.iter().all(|l| *l == "-    image: app:1") && plus.iter().all(|l| *l == "+    image: app:2"));
    }
}
