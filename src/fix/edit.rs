//! Turning one semantic fix operation into a text edit that changes only what it fixes.
//!
//! The edit is computed against the current text and its freshly parsed node tree, so several
//! operations are applied one after another, re-parsing in between. Comments, blank lines, key
//! order, quoting, line endings and a missing final newline outside the edit stay byte-identical.
//! Where no faithful edit exists (flow collections that are not empty, anchors and aliases,
//! values produced by merge keys), the operation fails with the reason and the fix is display-only.

use serde_json::Value;

use crate::model::FixOp;
use crate::yaml::{self, Node, NodeKind, Style};

/// A replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Start byte (inclusive).
    pub start: usize,
    /// End byte (exclusive).
    pub end: usize,
    /// Replacement text.
    pub text: String,
}

impl Edit {
    /// Applies the edit to a text.
    #[must_use]
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.text.len());
        out.push_str(&text[..self.start]);
        out.push_str(&self.text);
        out.push_str(&text[self.end..]);
        out
    }
}

/// How the file is written, so new text looks like its neighbours.
#[derive(Debug, Clone, Copy)]
pub struct FileStyle {
    /// `\n` or `\r\n`.
    pub nl: &'static str,
    /// Spaces per nesting level.
    pub unit: usize,
    /// Block sequences under a key are indented (`key:\n  - a`) rather than not (`key:\n- a`).
    pub seq_indented: bool,
    /// The file is JSON.
    pub json: bool,
}

/// Detects the file's style from its text and one document's tree.
#[must_use]
pub fn detect_style(text: &str, root: &Node, json: bool) -> FileStyle {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut unit = None;
    let mut seq_indented = None;
    let mut todo = vec![root];
    while let Some(n) = todo.pop() {
        if unit.is_some() && seq_indented.is_some() {
            break;
        }
        match &n.kind {
            NodeKind::Map(entries) if !n.flow => {
                for (k, v) in entries {
                    let kcol = column(text, k.span.start.byte);
                    match &v.kind {
                        NodeKind::Map(inner) if !v.flow && !inner.is_empty() && unit.is_none() => {
                            let c = column(text, inner[0].0.span.start.byte);
                            if c > kcol && starts_line(text, inner[0].0.span.start.byte) {
                                unit = Some(c - kcol);
                            }
                        }
                        NodeKind::Seq(items) if !v.flow && !items.is_empty() && seq_indented.is_none() => {
                            if let Some(d) = dash_column(text, &items[0]) {
                                seq_indented = Some(d > kcol);
                            }
                        }
                        _ => {}
                    }
                    todo.push(v);
                }
            }
            NodeKind::Seq(items) => todo.extend(items.iter()),
            _ => {}
        }
    }
    FileStyle { nl, unit: unit.unwrap_or(2), seq_indented: seq_indented.unwrap_or(true), json }
}

/// Byte where `byte`'s line starts.
pub(crate) fn line_start(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].rfind('\n').map_or(0, |i| i + 1)
}

/// 0-based byte column; indentation is ASCII, so this is also the character column.
fn column(text: &str, byte: usize) -> usize {
    byte - line_start(text, byte)
}

/// Whether only whitespace precedes `byte` on its line.
fn starts_line(text: &str, byte: usize) -> bool {
    text[line_start(text, byte)..byte].bytes().all(|b| b == b' ' || b == b'\t')
}

/// Column of the `-` that introduces a block sequence item.
fn dash_column(text: &str, item: &Node) -> Option<usize> {
    let start = item.span.start.byte;
    let ls = line_start(text, start);
    let before = &text[ls..start];
    let trimmed = before.trim_end();
    if trimmed.ends_with('-') && trimmed[..trimmed.len() - 1].trim().is_empty() {
        Some(trimmed.len() - 1)
    } else if item.span.start.byte < text.len() && text.as_bytes()[start] == b'-' {
        Some(column(text, start))
    } else {
        None
    }
}

/// Where the text after a node's last meaningful character ends: the start of the next line
/// (or the end of the file).
pub(crate) fn after_line(text: &str, node_end: usize) -> usize {
    let p = text[..node_end.min(text.len())].trim_end().len();
    match text[p..].find('\n') {
        Some(i) => p + i + 1,
        None => text.len(),
    }
}

fn is_null_scalar(n: &Node) -> bool {
    matches!(&n.kind, NodeKind::Scalar { text, style: Style::Plain, tag: None } if text.is_empty() || text == "~" || text == "null")
}

/// Walk state: where the pointer led.
struct Walk<'a> {
    /// Deepest node reached.
    node: &'a Node,
    /// The mapping key under which `node` sits (for indentation of created children).
    key: Option<&'a Node>,
    /// Segments consumed.
    depth: usize,
}

fn walk<'a>(root: &'a Node, segs: &[String], body: &Value) -> Result<Walk<'a>, String> {
    let mut node = root;
    let mut key = None;
    let mut json = Some(body);
    for (i, seg) in segs.iter().enumerate() {
        if node.shared {
            return Err("the value is an anchor or alias shared with other nodes; edit it by hand".to_string());
        }
        let next = match &node.kind {
            NodeKind::Map(_) => node.entry(seg).map(|(k, v)| (Some(k), v)),
            NodeKind::Seq(items) => seg.parse::<usize>().ok().and_then(|ix| items.get(ix)).map(|v| (None, v)),
            NodeKind::Scalar { .. } => None,
        };
        match next {
            Some((k, v)) => {
                if k.is_some() {
                    key = k;
                }
                node = v;
                json = json.and_then(|j| match j {
                    Value::Object(m) => m.get(seg),
                    Value::Array(a) => seg.parse::<usize>().ok().and_then(|ix| a.get(ix)),
                    _ => None,
                });
            }
            None => {
                let from_merge = json
                    .and_then(|j| j.as_object())
                    .is_some_and(|m| m.contains_key(seg) && matches!(node.kind, NodeKind::Map(_)));
                if from_merge {
                    return Err(
                        "the value comes from a merge key (`<<`); edit the anchored mapping by hand".to_string()
                    );
                }
                return Ok(Walk { node, key, depth: i });
            }
        }
    }
    if node.shared {
        return Err("the value is an anchor or alias shared with other nodes; edit it by hand".to_string());
    }
    Ok(Walk { node, key, depth: segs.len() })
}

/// Computes the edit for one operation.
///
/// # Errors
/// The reason no faithful edit exists.
pub fn op_edit(text: &str, root: &Node, body: &Value, op: &FixOp, st: FileStyle) -> Result<Edit, String> {
    match op {
        FixOp::Add { path, value } => add(text, root, body, path, value, st),
        FixOp::Replace { path, value } => {
            let segs: Vec<String> = yaml::pointer_segments(path).collect();
            let w = walk(root, &segs, body)?;
            if w.depth < segs.len() {
                return Err(format!("`{path}` does not exist, so it cannot be replaced"));
            }
            replace(text, w.node, w.key, value, st)
        }
        FixOp::Remove { path } => remove(text, root, body, path, st),
        FixOp::Create { .. } => Err("a new object is a new document, not an edit of this one".to_string()),
    }
}

fn replace(text: &str, node: &Node, key: Option<&Node>, value: &Value, st: FileStyle) -> Result<Edit, String> {
    let (start, end) = (node.span.start.byte, node.span.end.byte);
    match &node.kind {
        NodeKind::Scalar { style, .. } => {
            let new = if st.json { json_text(value) } else { scalar_text(value, Some(*style))? };
            if matches!(style, Style::Literal | Style::Folded) {
                return Err("the value is a block scalar; edit it by hand".to_string());
            }
            Ok(Edit { start, end, text: new })
        }
        _ if node.flow || st.json => Ok(Edit { start, end, text: json_text(value) }),
        NodeKind::Seq(items) => {
            let (Some(first), Some(last), Value::Array(new_items)) = (items.first(), items.last(), value) else {
                return Err("replacing a block list with something else; edit it by hand".to_string());
            };
            if new_items.is_empty() {
                return empty_after_key(text, key, node, "[]", st);
            }
            let dash = dash_column(text, first).ok_or("cannot find the list's `-`")?;
            let ls = line_start(text, first.span.start.byte);
            if !text[ls..ls + dash].trim().is_empty() {
                return Err("the list shares its first line with other content; edit it by hand".to_string());
            }
            let mut block = String::new();
            for item in new_items {
                emit_item(&mut block, item, dash, st);
            }
            Ok(Edit { start: ls, end: after_line(text, last.span.end.byte), text: block })
        }
        NodeKind::Map(entries) => {
            let (Some((first, _)), Some((_, last)), Value::Object(new_entries)) =
                (entries.first(), entries.last(), value)
            else {
                return Err("replacing a block mapping with something else; edit it by hand".to_string());
            };
            if new_entries.is_empty() {
                return empty_after_key(text, key, node, "{}", st);
            }
            if !starts_line(text, first.span.start.byte) {
                return Err("the mapping shares its first line with a list dash; edit it by hand".to_string());
            }
            let indent = column(text, first.span.start.byte);
            let mut block = String::new();
            for (k, v) in new_entries {
                emit_entry(&mut block, k, v, indent, st);
            }
            let ls = line_start(text, first.span.start.byte);
            Ok(Edit { start: ls, end: after_line(text, last.span.end.byte), text: block })
        }
    }
}

/// Replaces a block collection by an empty flow one written after its key: `key: {}`.
fn empty_after_key(text: &str, key: Option<&Node>, node: &Node, empty: &str, st: FileStyle) -> Result<Edit, String> {
    let k = key.ok_or("cannot empty a collection that has no key")?;
    let colon = text[k.span.end.byte..].find(':').map(|i| k.span.end.byte + i + 1).ok_or("no `:` after the key")?;
    Ok(Edit { start: colon, end: after_line(text, node.span.end.byte), text: format!(" {empty}{}", st.nl) })
}

fn add(text: &str, root: &Node, body: &Value, path: &str, value: &Value, st: FileStyle) -> Result<Edit, String> {
    let segs: Vec<String> = yaml::pointer_segments(path).collect();
    let w = walk(root, &segs, body)?;
    if w.depth == segs.len() {
        return replace(text, w.node, w.key, value, st);
    }
    let rest = &segs[w.depth..];
    let parent = w.node;
    // Build the value to insert: the first missing segment becomes the key, the others nest inside.
    let first = &rest[0];
    if rest[1..].iter().any(|s| s == "-" || s.parse::<usize>().is_ok()) {
        return Err(format!("`{path}` would create sequence items in a new list; edit it by hand"));
    }
    let mut nested = value.clone();
    for seg in rest[1..].iter().rev() {
        let mut m = serde_json::Map::new();
        m.insert(seg.clone(), nested);
        nested = Value::Object(m);
    }
    let append = first == "-" || first.parse::<usize>().is_ok();
    match &parent.kind {
        NodeKind::Seq(items) if append => {
            if first != "-" && first.parse::<usize>().ok() != Some(items.len()) {
                return Err(format!("`{path}` is past the end of the list"));
            }
            seq_append(text, parent, items, w.key, &nested, st)
        }
        NodeKind::Map(entries) if !append => map_insert(text, parent, entries, w.key, first, &nested, st),
        NodeKind::Scalar { .. } if is_null_scalar(parent) && !st.json => {
            // `key:` with no value: write the new children as its block value.
            let Some(k) = w.key else { return Err("cannot add under an empty document".to_string()) };
            let indent = column(text, k.span.start.byte) + st.unit;
            let mut block = String::new();
            if append {
                let dash = column(text, k.span.start.byte) + if st.seq_indented { st.unit } else { 0 };
                emit_item(&mut block, &nested, dash, st);
            } else {
                emit_entry(&mut block, first, &nested, indent, st);
            }
            let block = block.trim_end_matches(['\n', '\r']);
            // The empty scalar sits at the `:`; insert right after the key's colon.
            let colon =
                text[k.span.end.byte..].find(':').map(|i| k.span.end.byte + i + 1).ok_or("no `:` after the key")?;
            let line_end = after_line(text, colon);
            let rest_of_line = text[colon..line_end].trim_end_matches(['\n', '\r']);
            if !rest_of_line.trim().is_empty()
                && !rest_of_line.trim_start().starts_with('#')
                && rest_of_line.trim() != "~"
                && rest_of_line.trim() != "null"
            {
                return Err("unexpected text after the key".to_string());
            }
            let (start, end) = if rest_of_line.trim() == "~" || rest_of_line.trim() == "null" {
                (colon, colon + rest_of_line.len())
            } else {
                (colon, colon)
            };
            Ok(Edit { start, end, text: format!("{}{block}", st.nl) })
        }
        _ => Err(format!("`{path}` goes through a value that is not a mapping or list")),
    }
}

fn map_insert(
    text: &str,
    map: &Node,
    entries: &[(Node, Node)],
    key: Option<&Node>,
    first: &str,
    value: &Value,
    st: FileStyle,
) -> Result<Edit, String> {
    if st.json {
        let member = format!("{}: {}", json_text(&Value::String(first.to_string())), json_text(value));
        return Ok(match entries.last() {
            None => Edit { start: map.span.start.byte, end: map.span.end.byte, text: format!("{{{member}}}") },
            Some((lk, lv)) => {
                let pretty = lk.span.start.line != map.span.start.line;
                let sep = if pretty {
                    format!(",{}{}", st.nl, &text[line_start(text, lk.span.start.byte)..lk.span.start.byte])
                } else {
                    ", ".to_string()
                };
                let at = lv.span.end.byte;
                Edit { start: at, end: at, text: format!("{sep}{member}") }
            }
        });
    }
    if map.flow && (!entries.is_empty() || key.is_none()) {
        // `{a: 1}` → `{a: 1, b: 2}`: stay in flow style.
        let member = format!("{}: {}", flow_key(first), flow_text(value));
        return Ok(match entries.last() {
            None => Edit { start: map.span.start.byte, end: map.span.end.byte, text: format!("{{{member}}}") },
            Some((_, lv)) => Edit { start: lv.span.end.byte, end: lv.span.end.byte, text: format!(", {member}") },
        });
    }
    if map.flow {
        // `key: {}` becomes a block mapping.
        let Some(k) = key else { return Err("cannot add to an empty flow document".to_string()) };
        let indent = column(text, k.span.start.byte) + st.unit;
        let mut block = String::new();
        emit_entry(&mut block, first, value, indent, st);
        let block = block.trim_end_matches(['\n', '\r']);
        let start = text[..map.span.start.byte].trim_end_matches(' ').len();
        return Ok(Edit { start, end: map.span.end.byte, text: format!("{}{block}", st.nl) });
    }
    let Some((first_key, _)) = entries.first() else { return Err("empty block mapping".to_string()) };
    let indent = column(text, first_key.span.start.byte);
    let (_, last_value) = entries.last().ok_or("empty mapping")?;
    let at = after_line(text, last_value.span.end.byte.max(entries.last().map_or(0, |(k, _)| k.span.end.byte)));
    let mut block = String::new();
    emit_entry(&mut block, first, value, indent, st);
    Ok(insert_at(text, at, block, st))
}

fn seq_append(
    text: &str,
    seq: &Node,
    items: &[Node],
    key: Option<&Node>,
    value: &Value,
    st: FileStyle,
) -> Result<Edit, String> {
    if st.json {
        return Ok(match items.last() {
            None => {
                Edit { start: seq.span.start.byte, end: seq.span.end.byte, text: format!("[{}]", json_text(value)) }
            }
            Some(last) => {
                let at = last.span.end.byte;
                Edit { start: at, end: at, text: format!(", {}", json_text(value)) }
            }
        });
    }
    if seq.flow {
        if items.is_empty() {
            let Some(k) = key else { return Err("cannot add to an empty flow document".to_string()) };
            let dash = column(text, k.span.start.byte) + if st.seq_indented { st.unit } else { 0 };
            let mut block = String::new();
            emit_item(&mut block, value, dash, st);
            let block = block.trim_end_matches(['\n', '\r']);
            let start = text[..seq.span.start.byte].trim_end_matches(' ').len();
            return Ok(Edit { start, end: seq.span.end.byte, text: format!("{}{block}", st.nl) });
        }
        // Flow sequences take a flow item: `[a, b]` → `[a, b, c]`.
        let last = items.last().ok_or("empty")?;
        let item = flow_text(value);
        let at = last.span.end.byte;
        return Ok(Edit { start: at, end: at, text: format!(", {item}") });
    }
    let first = items.first().ok_or("empty block sequence")?;
    let dash = dash_column(text, first).ok_or("cannot find the list's `-`")?;
    let last = items.last().ok_or("empty block sequence")?;
    let at = after_line(text, last.span.end.byte);
    let mut block = String::new();
    emit_item(&mut block, value, dash, st);
    Ok(insert_at(text, at, block, st))
}

/// Inserts a block at a line start, or at the end of a file that lacks a final newline.
fn insert_at(text: &str, at: usize, block: String, st: FileStyle) -> Edit {
    if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
        let trimmed = block.trim_end_matches(['\n', '\r']).to_string();
        Edit { start: at, end: at, text: format!("{}{trimmed}", st.nl) }
    } else {
        Edit { start: at, end: at, text: block }
    }
}

fn remove(text: &str, root: &Node, body: &Value, path: &str, st: FileStyle) -> Result<Edit, String> {
    let segs: Vec<String> = yaml::pointer_segments(path).collect();
    let Some((last, parent_segs)) = segs.split_last() else { return Err("cannot remove the whole object".to_string()) };
    let w = walk(root, parent_segs, body)?;
    if w.depth < parent_segs.len() {
        return Err(format!("`{path}` does not exist"));
    }
    let parent = w.node;
    match &parent.kind {
        NodeKind::Map(entries) => {
            let Some(pos) = entries.iter().rposition(|(k, _)| k.as_str() == Some(last.as_str())) else {
                return Err(format!("`{path}` does not exist"));
            };
            let (k, v) = &entries[pos];
            if k.shared || v.shared {
                return Err("the value is an anchor or alias shared with other nodes; edit it by hand".to_string());
            }
            if st.json || parent.flow {
                return Ok(if entries.len() == 1 {
                    Edit { start: parent.span.start.byte, end: parent.span.end.byte, text: "{}".to_string() }
                } else if pos > 0 {
                    Edit { start: entries[pos - 1].1.span.end.byte, end: v.span.end.byte, text: String::new() }
                } else {
                    Edit { start: k.span.start.byte, end: entries[1].0.span.start.byte, text: String::new() }
                });
            }
            if entries.len() == 1 && w.key.is_some() {
                // Removing the only key leaves an empty mapping, written `key: {}` as JSON would read it.
                return empty_after_key(text, w.key, parent, "{}", st);
            }
            if !starts_line(text, k.span.start.byte) {
                return Err("the key shares its line with a list dash; edit it by hand".to_string());
            }
            let start = line_start(text, k.span.start.byte);
            let end = after_line(text, v.span.end.byte.max(k.span.end.byte));
            Ok(Edit { start, end, text: String::new() })
        }
        NodeKind::Seq(items) => {
            let ix: usize = last.parse().map_err(|_| format!("`{last}` is not a list index"))?;
            let item = items.get(ix).ok_or_else(|| format!("`{path}` does not exist"))?;
            if st.json || parent.flow {
                return Ok(if items.len() == 1 {
                    Edit { start: parent.span.start.byte, end: parent.span.end.byte, text: "[]".to_string() }
                } else if ix > 0 {
                    Edit { start: items[ix - 1].span.end.byte, end: item.span.end.byte, text: String::new() }
                } else {
                    Edit { start: item.span.start.byte, end: items[1].span.start.byte, text: String::new() }
                });
            }
            let dash = dash_column(text, item).ok_or("cannot find the item's `-`")?;
            let ls = line_start(text, item.span.start.byte);
            if !text[ls..ls + dash].trim().is_empty() {
                return Err("the item shares its line with other content; edit it by hand".to_string());
            }
            Ok(Edit { start: ls, end: after_line(text, item.span.end.byte), text: String::new() })
        }
        NodeKind::Scalar { .. } => Err(format!("`{path}` does not exist")),
    }
}

/// Appends `n` spaces.
fn pad(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > 0 {
        let k = left.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        left -= k;
    }
}

/// Emits `key: value` at an indentation, in block style, ending with a newline.
fn emit_entry(out: &mut String, key: &str, value: &Value, indent: usize, st: FileStyle) {
    pad(out, indent);
    if plain_safe(key) {
        out.push_str(key);
    } else {
        out.push_str(&json_text(&Value::String(key.to_string())));
    }
    out.push(':');
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push_str(st.nl);
            for (ck, cv) in m {
                emit_entry(out, ck, cv, indent + st.unit, st);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            out.push_str(st.nl);
            let dash = indent + if st.seq_indented { st.unit } else { 0 };
            for item in a {
                emit_item(out, item, dash, st);
            }
        }
        other => {
            out.push(' ');
            push_scalar(out, other);
            out.push_str(st.nl);
        }
    }
}

/// Appends what `scalar_text(v, None)` returns (JSON for an empty map or list), without the
/// intermediate string: snippets write a few scalars for each of a hundred thousand fixes.
fn push_scalar(out: &mut String, v: &Value) {
    match v {
        Value::String(s) if plain_safe(s) => out.push_str(s),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Null => out.push_str("null"),
        Value::Number(n) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{n}");
        }
        Value::String(_) | Value::Array(_) | Value::Object(_) => out.push_str(&json_text(v)),
    }
}

/// Emits `- item` at the dash column.
fn emit_item(out: &mut String, value: &Value, dash: usize, st: FileStyle) {
    pad(out, dash);
    out.push_str("- ");
    match value {
        Value::Object(m) if !m.is_empty() => {
            // The first entry goes on the dash line: emit it at the item's indentation, then
            // drop that indentation.
            let at = out.len();
            for (ck, cv) in m {
                emit_entry(out, ck, cv, dash + 2, st);
            }
            out.replace_range(at..at + dash + 2, "");
        }
        other => {
            push_scalar(out, other);
            out.push_str(st.nl);
        }
    }
}

/// A value in YAML flow style: `{a: 1, b: [x, y]}`, quoting strings that flow syntax would split.
fn flow_text(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let members: Vec<String> = m.iter().map(|(k, x)| format!("{}: {}", flow_key(k), flow_text(x))).collect();
            format!("{{{}}}", members.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(flow_text).collect::<Vec<_>>().join(", ")),
        Value::String(s) if plain_safe(s) && !s.contains([':', ' ']) => s.clone(),
        Value::String(_) => json_text(v),
        other => scalar_text(other, None).unwrap_or_else(|_| json_text(other)),
    }
}

fn flow_key(k: &str) -> String {
    flow_text(&Value::String(k.to_string()))
}

fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Whether a string can be written unquoted and still read back as the same string.
fn plain_safe(s: &str) -> bool {
    !s.is_empty()
        && s.trim() == s
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-' | b'@' | b'+' | b'=' | b':' | b' ')
        })
        // Byte pairs, not `str::contains`: snippets ask this of every key and value they write.
        // (`" #"` cannot occur: `#` is not an allowed byte.)
        && !s.as_bytes().windows(2).any(|w| w == b": ")
        && !s.ends_with(':')
        && !s.starts_with(['-', '@', ':', '.'])
        && yaml::plain_is_string(s)
}

/// Renders a scalar, keeping the original quoting style where it still reads back the same.
fn scalar_text(v: &Value, style: Option<Style>) -> Result<String, String> {
    Ok(match v {
        Value::String(s) => match style {
            Some(Style::SingleQuoted) if !s.contains('\n') => format!("'{}'", s.replace('\'', "''")),
            Some(Style::DoubleQuoted) => json_text(v),
            _ if plain_safe(s) => s.clone(),
            _ => json_text(v),
        },
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".to_string(),
        Value::Array(_) | Value::Object(_) => return Err("not a scalar".to_string()),
    })
}

/// Applies operations to a JSON value the way the edits should: the expected object after a fix.
/// Kept for callers in `fix`; the operations themselves live in [`crate::model::apply_ops`].
///
/// # Errors
/// When a path cannot be applied.
pub fn apply_ops_json(body: &Value, ops: &[FixOp]) -> Result<Value, String> {
    crate::model::apply_ops(body, ops).map_err(|e| e.to_string())
}

/// Renders a JSON value as block YAML (2-space indentation, indented sequences), for snippets.
#[must_use]
pub fn to_block_yaml(value: &Value) -> String {
    to_block_yaml_styled(value, FileStyle { nl: "\n", unit: 2, seq_indented: true, json: false })
}

/// Renders a JSON value as block YAML in a file's style.
#[must_use]
pub fn to_block_yaml_styled(value: &Value, st: FileStyle) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                emit_entry(&mut out, k, v, 0, st);
            }
        }
        Value::Array(a) => {
            for item in a {
                emit_item(&mut out, item, 0, st);
            }
        }
        other => {
            out.push_str(&scalar_text(other, None).unwrap_or_default());
            out.push_str(st.nl);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_is_string_agrees_with_the_resolver() {
        let samples = [
            "",
            "~",
            "null",
            "Null",
            "y",
            "Y",
            "n",
            "yes",
            "On",
            "OFF",
            "true",
            "False",
            "app",
            "nginx",
            "Always",
            "ALL",
            "RuntimeDefault",
            "0x1F",
            "0o17",
            "017",
            "12",
            "-3",
            "+4",
            "1_000",
            "1.5",
            "1e3",
            ".inf",
            "-.Inf",
            ".nan",
            "NaN",
            "nan",
            "inf",
            "e",
            "E1",
            "1.2.3",
            "v1",
            "apps/v1",
            "512Mi",
            "0.5",
            "app-0",
            "a b",
            "10.0.0.1",
        ];
        for s in samples {
            assert_eq!(
                yaml::plain_is_string(s),
                matches!(yaml::resolve_scalar(s, Style::Plain, None), Value::String(_)),
                "{s:?}"
            );
        }
    }
}
