//! Suggestions for the items of a `kind: List` document, computed from the item's own text.
//!
//! One List can hold thousands of objects (`kubectl get -o json`, often on one line). Editing,
//! re-parsing and diffing the whole document for every finding is quadratic, so here an item's
//! edits, verification and suggestion look only at the item's text and at the line it starts and
//! ends on. The item is parsed on its own, once for all its findings: a block item as whole lines
//! (its `- ` and trailing comments included), a flow or JSON item as its exact `{...}` span.
//!
//! Whenever this path cannot decide (the item's text does not parse on its own, an edit strays
//! outside it, verification fails), it returns `None` and the caller uses the whole document,
//! so error messages are exactly those of the document path.

use serde_json::Value;

use super::edit::{self, FileStyle, after_line, line_start};
use super::line_diff_text;
use crate::model::{Fix, FixOp, Object, Suggestion};
use crate::yaml::{self, Limits, Node, NodeKind};

/// Where an item's text lies in its document.
struct Region {
    /// First byte (a line start for block items).
    start: usize,
    /// End byte (exclusive; after the last line's newline for block items).
    end: usize,
    /// A block sequence item: `start..end` are whole lines that belong to the item alone.
    block: bool,
    /// Bytes before the item's first key inside the region (its `- `).
    lead: usize,
}

/// A List item parsed on its own, shared by every finding on it.
pub(super) struct Item {
    region: Region,
    root: Node,
    /// The item is JSON that `serde_json` reads exactly as the YAML parser does, so a fixed item
    /// can be verified with it (it is an order of magnitude faster).
    plain_json: bool,
}

impl Item {
    /// Parses the item whose node spans `start..end` of `doc_text`; `None` when its text does not
    /// stand on its own.
    pub(super) fn parse(doc_text: &str, start: usize, end: usize, body: &Value) -> Option<Item> {
        if start > end || !doc_text.is_char_boundary(start) || !doc_text.is_char_boundary(end) {
            return None;
        }
        let flow = doc_text.get(start..)?.starts_with('{');
        let region = if flow {
            Region { start, end, block: false, lead: 0 }
        } else {
            let ls = line_start(doc_text, start);
            let lead = &doc_text[ls..start];
            let dashes = lead.bytes().filter(|b| *b == b'-').count();
            if dashes > 1 || !lead.bytes().all(|b| b == b' ' || b == b'-') {
                return None;
            }
            Region { start: ls, end: after_line(doc_text, end), block: true, lead: start - ls }
        };
        let text = &doc_text[region.start..region.end];
        let root = parse_item(text, region.block)?;
        let node = item_node(&root, region.block)?;
        if node.span.start.byte != region.lead || !reads_back_as(node.to_json(), body) {
            return None;
        }
        let plain_json = flow && super::json_check::item_reads_back_as(text, body);
        Some(Item { region, root, plain_json })
    }
}

impl Item {
    /// The item's text in its document: whole lines for a block item, `{...}` for a flow one.
    pub(super) fn range(&self) -> std::ops::Range<usize> {
        self.region.start..self.region.end
    }

    /// Whether the item is a block sequence item (its text starts with its `- `).
    pub(super) fn block(&self) -> bool {
        self.region.block
    }
}

/// Parses an edited item's text (as [`item_edit`] made it) and gives the object's node, with
/// positions in that text.
pub(super) fn parse_edited(text: &str, block: bool) -> Option<Node> {
    let root = parse_item(text, block)?;
    match root.kind {
        NodeKind::Seq(items) if block && items.len() == 1 => items.into_iter().next(),
        NodeKind::Map(_) => Some(root),
        _ => None,
    }
}

/// Text outside a flow item that may share its first or last line without making a suggestion
/// replace another object: indentation and list or flow punctuation.
fn is_punctuation(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'-' | b',' | b'[' | b']' | b'{' | b'}')
}

/// Whether YAML reads a value written as JSON the way JSON does: no floats (`1e300` is a
/// string to YAML 1.1).
fn reads_alike(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_i64() || n.is_u64(),
        Value::Array(a) => a.iter().all(reads_alike),
        Value::Object(m) => m.values().all(reads_alike),
        Value::Null | Value::Bool(_) | Value::String(_) => true,
    }
}

/// The line suggestion for a fix on a List item.
///
/// `doc_text` is the item's document, `first_line` the 1-based line in the file where the item's
/// node starts. `None`: not decidable from the item alone; use the document path.
pub(super) fn item_suggestion(
    path: &str,
    doc_text: &str,
    first_line: u32,
    item: &Item,
    obj: &Object,
    fix: &Fix,
    style: FileStyle,
) -> Option<Result<Option<Suggestion>, String>> {
    let new = match item_edit(doc_text, item, obj, fix, style)? {
        Ok(new) => new,
        Err(e) => return Some(Err(e)),
    };
    let region = &item.region;
    let old = &doc_text[region.start..region.end];
    Some(Ok(suggest(path, doc_text, region, old, &new, first_line)))
}

/// The item's text (its [`Item::range`] of `doc_text`) with the fix applied, verified to read
/// back as exactly the fixed object. `None`: not decidable from the item alone; use the document
/// path, whose error messages the `Err`s here repeat.
pub(super) fn item_edit(
    doc_text: &str,
    item: &Item,
    obj: &Object,
    fix: &Fix,
    style: FileStyle,
) -> Option<Result<String, String>> {
    let first_op = fix.ops.first()?;
    // The document path checks the operations against the object first, then refuses a new
    // object in a List; the same messages, without copying the document.
    let expected = match edit::apply_ops_json(&obj.body, &fix.ops) {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    if let FixOp::Create { .. } = first_op {
        return Some(Err(if style.json {
            "a JSON file holds one object; create the new object in a file of its own".to_string()
        } else {
            "the object is an item of a list, not a document of its own; create the new object in a file of its own"
                .to_string()
        }));
    }
    if fix.ops.iter().any(|op| matches!(op, FixOp::Create { .. })) {
        return None;
    }
    let region = &item.region;
    let old = &doc_text[region.start..region.end];
    let node = item_node(&item.root, region.block)?;
    let e = match edit::op_edit(old, node, &obj.body, first_op, style) {
        Ok(e) => e,
        Err(err) => return Some(Err(err)),
    };
    let mut new = e.apply(old);
    for op in &fix.ops[1..] {
        let root = parse_item(&new, region.block)?;
        let node = item_node(&root, region.block)?;
        match edit::op_edit(&new, node, &node.to_json(), op, style) {
            Ok(e) => new = e.apply(&new),
            Err(err) => return Some(Err(err)),
        }
    }
    // Verify: the item's new text reads back as exactly the fixed object, with its `- ` intact.
    if new.get(..region.lead) != old.get(..region.lead) {
        return None;
    }
    let fast = item.plain_json
        && fix.ops.iter().all(|op| match op {
            FixOp::Add { value, .. } | FixOp::Replace { value, .. } => reads_alike(value),
            FixOp::Remove { .. } => true,
            FixOp::Create { .. } => false,
        })
        && super::json_check::item_reads_back_as(&new, &expected);
    if !fast {
        let root = parse_item(&new, region.block)?;
        if !reads_back_as(item_node(&root, region.block)?.to_json(), &expected) {
            return None;
        }
    }
    Some(Ok(new))
}

/// Whether an item's text reads back as the object: an item of an API list (`DeploymentList`)
/// takes apiVersion and kind from the list, so its text may lack them.
fn reads_back_as(got: Value, expected: &Value) -> bool {
    super::reads_back_as(got, "/items/", expected)
}

/// Parses an item's text on its own: one document, no errors.
fn parse_item(text: &str, block: bool) -> Option<Node> {
    let docs = yaml::parse_stream(text, Limits::default()).ok()?;
    let [doc] = <[yaml::Document; 1]>::try_from(docs).ok()?;
    let root = doc.root?;
    // A block item parses as a one-item sequence (or, when its dash is on the line before, as
    // the mapping itself); a flow item as the mapping.
    if block || matches!(root.kind, NodeKind::Map(_)) { Some(root) } else { None }
}

/// The object inside an item's parse.
fn item_node(root: &Node, block: bool) -> Option<&Node> {
    match &root.kind {
        NodeKind::Seq(items) if block && items.len() == 1 => Some(&items[0]),
        NodeKind::Map(_) => Some(root),
        _ => None,
    }
}

/// The whole-line suggestion for an item whose text went from `old` to `new`; `None` when it
/// would replace a line that also holds text of other nodes (single-line JSON, say).
fn suggest(path: &str, doc_text: &str, region: &Region, old: &str, new: &str, first_line: u32) -> Option<Suggestion> {
    // A flow item may share its first and last line; those lines may be replaced only when the
    // rest of them is punctuation. Scanning stops at the first other byte, so a long line costs
    // nothing.
    let (before, before_ok) = if region.block { ("", true) } else { outside_before(doc_text, region.start) };
    let (after, after_ok) = if region.block { ("", true) } else { outside_after(doc_text, region.end) };
    if !before_ok && !after_ok && !old.contains('\n') {
        // One line shared with other nodes on both sides: every suggestion would replace them too.
        return None;
    }
    let old_text = format!("{before}{old}{after}");
    let new_text = format!("{before}{new}{after}");
    let (p, o_end, o_lines, replacement) = line_diff_text(&old_text, &new_text)?;
    if (!before_ok && p == 0) || (!after_ok && o_end == o_lines) {
        return None;
    }
    Some(Suggestion {
        file: path.to_string(),
        start_line: first_line.checked_add(u32::try_from(p).ok()?)?,
        end_line: first_line.checked_add(u32::try_from(o_end).ok()?)?.checked_sub(1)?,
        replacement,
    })
}

/// The text between the start of `at`'s line and `at`, and whether it is only punctuation.
fn outside_before(text: &str, at: usize) -> (&str, bool) {
    let bytes = text.as_bytes();
    let mut i = at;
    while i > 0 {
        match bytes[i - 1] {
            b'\n' => return (&text[i..at], true),
            b if is_punctuation(b) => i -= 1,
            _ => return ("", false),
        }
    }
    (&text[..at], true)
}

/// The text from `at` to the end of its line (newline included), and whether it is only punctuation.
fn outside_after(text: &str, at: usize) -> (&str, bool) {
    let bytes = text.as_bytes();
    let mut j = at;
    while j < bytes.len() {
        match bytes[j] {
            b'\n' => return (&text[at..=j], true),
            b if is_punctuation(b) => j += 1,
            _ => return ("", false),
        }
    }
    (&text[at..], true)
}
