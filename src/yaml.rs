//! YAML (and JSON) parsing into a position-carrying node tree.
//!
//! The tree is built from saphyr-parser's event stream rather than with a recursive loader,
//! so hostile input (deep nesting, alias bombs, huge files) meets explicit budgets and yields
//! an error instead of a stack overflow or unbounded memory.
//! Scalars are resolved the YAML 1.1 way, as Kubernetes does (`yes`/`on` are booleans).

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use serde_json::{Map, Number, Value};

pub(crate) mod json;

/// A position in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Byte offset from the start of the file.
    pub byte: usize,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
}

/// A half-open range in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// Where the node starts.
    pub start: Pos,
    /// Where it ends (exclusive).
    pub end: Pos,
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'single'`.
    SingleQuoted,
    /// `"double"`.
    DoubleQuoted,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

/// A node's content.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar with its text and style.
    Scalar {
        /// The scalar's text after unescaping.
        text: String,
        /// How it was quoted.
        style: Style,
        /// An explicit tag such as `!!str`, if any.
        tag: Option<String>,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

/// A YAML node with its source span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Content.
    pub kind: NodeKind,
    /// Where it is in the file. For an alias this is the alias' own span.
    pub span: Span,
    /// Written in flow style (`{}` / `[]`).
    pub flow: bool,
    /// Carries an anchor (`&a`) or is an expanded alias (`*a`): editing it would change other nodes.
    pub shared: bool,
}

/// Limits that keep hostile input bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum nesting depth of collections.
    pub max_depth: usize,
    /// Maximum number of nodes in one file, counting alias expansions.
    pub max_nodes: usize,
    /// Maximum file size in bytes.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 512, max_nodes: 5_000_000, max_bytes: 256 * 1024 * 1024 }
    }
}

/// A parse failure with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// The reason.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.col, self.message)
    }
}

/// One document of a stream: its root node (`None` for an empty document) and its span.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root, or `None` when the document holds nothing.
    pub root: Option<Node>,
    /// Index of the document in the stream, from 0.
    pub index: usize,
    /// Where the document starts (its `---` or first node).
    pub start: Pos,
}

/// Maps saphyr's character indices to byte offsets.
///
/// ASCII text maps one to one. Otherwise a checkpoint every 64 characters bounds each lookup to a
/// short walk, whatever order lookups come in.
struct Offsets<'a> {
    src: &'a str,
    ascii: bool,
    checkpoints: Vec<usize>,
}

const CHECKPOINT: usize = 64;

impl<'a> Offsets<'a> {
    fn new(src: &'a str) -> Self {
        let ascii = src.is_ascii();
        let mut checkpoints = Vec::new();
        if !ascii {
            checkpoints.reserve(src.len() / CHECKPOINT + 1);
            for (ci, (bi, _)) in src.char_indices().enumerate() {
                if ci % CHECKPOINT == 0 {
                    checkpoints.push(bi);
                }
            }
        }
        Offsets { src, ascii, checkpoints }
    }

    fn byte(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.src.len());
        }
        let slot = char_index / CHECKPOINT;
        let Some(&base) = self.checkpoints.get(slot) else { return self.src.len() };
        let bytes = self.src.as_bytes();
        let mut bi = base;
        for _ in 0..char_index % CHECKPOINT {
            if bi >= bytes.len() {
                break;
            }
            bi += utf8_len(bytes[bi]);
        }
        bi.min(bytes.len())
    }

    fn pos(&mut self, m: &saphyr_parser::Marker) -> Pos {
        Pos {
            byte: self.byte(m.index()),
            line: u32::try_from(m.line()).unwrap_or(u32::MAX),
            col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

fn utf8_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xff => 4,
        _ => 1,
    }
}

enum Frame {
    Seq { items: Vec<Node>, start: Span, anchor: usize, flow: bool },
    Map { entries: Vec<(Node, Node)>, key: Option<Node>, start: Span, anchor: usize, flow: bool },
}

/// Parses a YAML (or JSON) stream into documents.
///
/// # Errors
/// A syntax error, or input beyond `limits`, with the line and column where it was met.
pub fn parse_stream(src: &str, limits: Limits) -> Result<Vec<Document>, ParseError> {
    // JSON (`kubectl -o json`) takes a shortcut to the same tree; anything it is unsure of, saphyr.
    if src.trim_start().starts_with(['{', '['])
        && let Some(doc) = json::parse_document(src, limits)
    {
        return Ok(vec![doc]);
    }
    parse_stream_saphyr(src, limits)
}

/// [`parse_stream`] through saphyr alone.
fn parse_stream_saphyr(src: &str, limits: Limits) -> Result<Vec<Document>, ParseError> {
    if src.len() > limits.max_bytes {
        return Err(ParseError {
            line: 1,
            col: 1,
            message: format!(
                "file is {} bytes, over the {} byte limit; split it into smaller files",
                src.len(),
                limits.max_bytes
            ),
        });
    }
    let mut offsets = Offsets::new(src);
    let mut parser = Parser::new_from_str(src);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Node)> = Vec::new();
    let mut nodes = 0usize;
    let mut doc_root: Option<Node> = None;
    let mut doc_start = Pos::default();
    let mut in_doc = false;

    let scan_err = |e: ScanError, o: &mut Offsets<'_>| {
        let p = o.pos(e.marker());
        ParseError { line: p.line, col: p.col, message: e.info().to_string() }
    };

    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| scan_err(e, &mut offsets))?;
        let sp = Span { start: offsets.pos(&span.start), end: offsets.pos(&span.end) };
        let completed: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                in_doc = true;
                doc_start = sp.start;
                doc_root = None;
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                if in_doc {
                    docs.push(Document { root: non_empty(doc_root.take()), index: docs.len(), start: doc_start });
                }
                in_doc = false;
                None
            }
            Event::Alias(id) => {
                let Some((_, target)) = anchors.iter().rev().find(|(a, _)| *a == id) else {
                    return Err(err_at(sp.start, "alias refers to an unknown anchor"));
                };
                let size = count_nodes(target);
                nodes = nodes.saturating_add(size);
                if nodes > limits.max_nodes {
                    return Err(err_at(
                        sp.start,
                        &format!(
                            "alias expansion exceeds the budget of {} nodes (possible alias bomb)",
                            limits.max_nodes
                        ),
                    ));
                }
                let mut copy = target.clone();
                copy.span = sp;
                copy.shared = true;
                Some((copy, 0))
            }
            Event::Scalar(text, style, anchor, tag) => {
                nodes += 1;
                if nodes > limits.max_nodes {
                    return Err(err_at(sp.start, &format!("more than {} nodes in one file", limits.max_nodes)));
                }
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                // saphyr's span of an empty quoted scalar runs to the next token; end it at its closing quote.
                let sp = match style {
                    Style::SingleQuoted | Style::DoubleQuoted => quoted_span(src, sp),
                    _ => sp,
                };
                let node = Node {
                    kind: NodeKind::Scalar { text: text.into_owned(), style, tag },
                    span: sp,
                    flow: false,
                    shared: anchor != 0,
                };
                Some((node, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(err_at(sp.start, &format!("nesting deeper than {} levels", limits.max_depth)));
                }
                let flow = src.as_bytes().get(sp.start.byte) == Some(&b'[');
                stack.push(Frame::Seq { items: Vec::new(), start: sp, anchor, flow });
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(err_at(sp.start, &format!("nesting deeper than {} levels", limits.max_depth)));
                }
                let flow = src.as_bytes().get(sp.start.byte) == Some(&b'{');
                stack.push(Frame::Map { entries: Vec::new(), key: None, start: sp, anchor, flow });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { items, start, anchor, flow }) => {
                    nodes += 1;
                    let end = items.last().map_or(sp.end, |n| n.span.end.max(start.end));
                    let end = if flow { sp.end.max(end) } else { end };
                    Some((
                        Node {
                            kind: NodeKind::Seq(items),
                            span: Span { start: start.start, end },
                            flow,
                            shared: anchor != 0,
                        },
                        anchor,
                    ))
                }
                _ => return Err(err_at(sp.start, "unbalanced sequence end")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map { entries, start, anchor, flow, .. }) => {
                    nodes += 1;
                    let end = entries.last().map_or(sp.end, |(_, v)| v.span.end.max(start.end));
                    let end = if flow { sp.end.max(end) } else { end };
                    Some((
                        Node {
                            kind: NodeKind::Map(entries),
                            span: Span { start: start.start, end },
                            flow,
                            shared: anchor != 0,
                        },
                        anchor,
                    ))
                }
                _ => return Err(err_at(sp.start, "unbalanced mapping end")),
            },
        };
        if let Some((node, anchor)) = completed {
            if anchor != 0 {
                anchors.push((anchor, node.clone()));
            }
            match stack.last_mut() {
                None => doc_root = Some(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map { entries, key, .. }) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                },
            }
        }
    }
    if in_doc {
        docs.push(Document { root: non_empty(doc_root.take()), index: docs.len(), start: doc_start });
    }
    Ok(docs)
}

/// An empty document is parsed as an empty plain scalar; treat it as no content.
fn non_empty(root: Option<Node>) -> Option<Node> {
    root.filter(|n| !matches!(&n.kind, NodeKind::Scalar { text, style: Style::Plain, tag: None } if text.is_empty()))
}

/// The span of a quoted scalar from its opening to its closing quote.
fn quoted_span(src: &str, sp: Span) -> Span {
    let bytes = src.as_bytes();
    let start = sp.start.byte;
    let Some(&q) = bytes.get(start) else { return sp };
    if q != b'"' && q != b'\'' {
        return sp;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if q == b'"' => i += 2,
            b'\'' if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == q => {
                let end_byte = i + 1;
                let between = &src[start..end_byte];
                let newlines = between.matches('\n').count();
                let line = sp.start.line + u32::try_from(newlines).unwrap_or(0);
                let col = match between.rfind('\n') {
                    Some(nl) => between[nl + 1..].chars().count() + 1,
                    None => sp.start.col as usize + between.chars().count(),
                };
                let end = Pos { byte: end_byte, line, col: u32::try_from(col).unwrap_or(u32::MAX) };
                return Span { start: sp.start, end };
            }
            _ => i += 1,
        }
    }
    sp
}

fn err_at(p: Pos, message: &str) -> ParseError {
    ParseError { line: p.line, col: p.col, message: message.to_string() }
}

fn count_nodes(n: &Node) -> usize {
    // Iterative so that a deep alias target cannot overflow the stack.
    let mut count = 0usize;
    let mut todo = vec![n];
    while let Some(n) = todo.pop() {
        count += 1;
        match &n.kind {
            NodeKind::Scalar { .. } => {}
            NodeKind::Seq(items) => todo.extend(items.iter()),
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    todo.push(k);
                    todo.push(v);
                }
            }
        }
    }
    count
}

impl Node {
    /// The scalar text, if this node is a scalar.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Looks up a mapping key.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Looks up a mapping entry (key node and value node). The last duplicate wins, as in Kubernetes.
    #[must_use]
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().rev().find(|(k, _)| k.as_str() == Some(key)).map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follows a JSON pointer as deep as it exists. Returns the deepest node reached, its key node
    /// (when reached through a mapping key), and how many pointer segments were consumed.
    #[must_use]
    pub fn locate(&self, pointer: &str) -> (Option<&Node>, &Node, usize) {
        let mut key: Option<&Node> = None;
        let mut node = self;
        let mut depth = 0;
        for seg in pointer_segments_cow(pointer) {
            let next = match &node.kind {
                NodeKind::Map(_) => node.entry(&seg).map(|(k, v)| (Some(k), v)),
                NodeKind::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)).map(|v| (None, v)),
                NodeKind::Scalar { .. } => None,
            };
            match next {
                Some((k, v)) => {
                    key = k;
                    node = v;
                    depth += 1;
                }
                None => break,
            }
        }
        (key, node, depth)
    }

    /// Converts to a JSON value the way Kubernetes reads YAML (YAML 1.1 scalars, merge keys).
    #[must_use]
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar { text, style, tag } => resolve_scalar(text, *style, tag.as_deref()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = Map::new();
                let mut merges: Vec<&Node> = Vec::new();
                for (k, v) in entries {
                    let key = match &k.kind {
                        NodeKind::Scalar { text, style: Style::Plain, .. } if text == "<<" => {
                            merges.push(v);
                            continue;
                        }
                        NodeKind::Scalar { text, .. } => text.clone(),
                        _ => key_text(k),
                    };
                    map.insert(key, v.to_json());
                }
                // Merge keys: explicit keys win, earlier merge sources win over later ones.
                for m in merges {
                    let sources: Vec<&Node> = match &m.kind {
                        NodeKind::Seq(items) => items.iter().collect(),
                        _ => vec![m],
                    };
                    for s in sources {
                        if let Value::Object(src) = s.to_json() {
                            for (k, v) in src {
                                map.entry(k).or_insert(v);
                            }
                        }
                    }
                }
                Value::Object(map)
            }
        }
    }
}

fn key_text(k: &Node) -> String {
    match k.to_json() {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Splits a JSON pointer into unescaped segments.
pub fn pointer_segments(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer_segments_cow(pointer).map(std::borrow::Cow::into_owned)
}

/// Splits a JSON pointer into segments, allocating only for segments with escapes.
pub fn pointer_segments_cow(pointer: &str) -> impl Iterator<Item = std::borrow::Cow<'_, str>> + '_ {
    pointer.split('/').skip(1).map(|s| {
        if s.contains('~') {
            std::borrow::Cow::Owned(s.replace("~1", "/").replace("~0", "~"))
        } else {
            std::borrow::Cow::Borrowed(s)
        }
    })
}

/// Escapes one JSON pointer segment.
#[must_use]
pub fn escape_segment(seg: &str) -> String {
    if seg.contains(['~', '/']) { seg.replace('~', "~0").replace('/', "~1") } else { seg.to_string() }
}

/// Whether a plain scalar reads as a string, as [`resolve_scalar`] would resolve it, without
/// building the value (snippets ask it for every key and value they write).
pub(crate) fn plain_is_string(text: &str) -> bool {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => false,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => false,
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => false,
        _ if text.bytes().all(|b| b.is_ascii_alphabetic()) => true,
        _ => matches!(resolve_scalar(text, Style::Plain, None), Value::String(_)),
    }
}

/// Resolves a scalar as YAML 1.1 (go-yaml v2, which Kubernetes uses) would.
pub(crate) fn resolve_scalar(text: &str, style: Style, tag: Option<&str>) -> Value {
    if style != Style::Plain {
        return Value::String(text.to_string());
    }
    if let Some("!!str" | "tag:yaml.org,2002:str") = tag {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => {
            // JSON has no infinities; keep the text so nothing is lost.
            return Value::String(text.to_string());
        }
        _ => {}
    }
    if let Some(n) = resolve_int(text) {
        return Value::Number(n);
    }
    if looks_like_float(text)
        && let Ok(f) = text.replace('_', "").parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

fn resolve_int(text: &str) -> Option<Number> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || !body.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    let (radix, digits) = if let Some(h) = clean.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = clean.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = clean.strip_prefix("0b") {
        (2, b)
    } else if clean.len() > 1 && clean.starts_with('0') && clean.bytes().all(|b| b.is_ascii_digit()) {
        (8, &clean[1..])
    } else {
        (10, clean.as_str())
    };
    if digits.is_empty() {
        return None;
    }
    let v = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        let v = i64::try_from(v).ok()?;
        Some(Number::from(-v))
    } else {
        Some(Number::from(v))
    }
}

fn looks_like_float(text: &str) -> bool {
    let t = text.trim_start_matches(['-', '+']);
    let mut digits = false;
    let mut dot = false;
    let mut exp = false;
    let mut prev = ' ';
    for c in t.chars() {
        match c {
            '0'..='9' => digits = true,
            '_' => {}
            '.' if !dot && !exp => dot = true,
            'e' | 'E' if digits && !exp => exp = true,
            '-' | '+' if prev == 'e' || prev == 'E' => {}
            _ => return false,
        }
        prev = c;
    }
    digits && (dot || exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ptr` follows exactly the segments `pointer_segments_cow` gives.
    #[test]
    fn ptr_follows_the_pointer_segments() {
        fn reference<'v>(v: &'v Value, pointer: &str) -> Option<&'v Value> {
            if pointer.is_empty() {
                return Some(v);
            }
            if !pointer.starts_with('/') {
                return None;
            }
            let mut cur = v;
            for seg in pointer_segments_cow(pointer) {
                cur = match cur {
                    Value::Object(m) => m.get(seg.as_ref())?,
                    Value::Array(a) if !(seg.len() > 1 && seg.starts_with('0')) => a.get(seg.parse::<usize>().ok()?)?,
                    _ => return None,
                };
            }
            Some(cur)
        }
        let v = serde_json::json!({
            "": {"": 1, "x": [0, {"a/b": 2, "m~n": 3, "~1": 4, "é": [5]}]},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "n": null}
        });
        let pointers = [
            "",
            "/",
            "//",
            "///",
            "/x",
            "spec",
            "/spec",
            "/spec/",
            "/spec/containers",
            "/spec/containers/0",
            "/spec/containers/1/name",
            "/spec/containers/01",
            "/spec/containers/2",
            "/spec/containers/-",
            "/spec/containers/+1",
            "/spec/n",
            "/spec/n/x",
            "//x/1/a~1b",
            "//x/1/m~0n",
            "//x/1/~01",
            "//x/1/~1",
            "//x/1/é/0",
            "//x/1/é/0/",
            "//x/0",
            "//x/00",
            "/spec/containers/0/name/",
        ];
        for p in pointers {
            assert_eq!(v.ptr(p), reference(&v, p), "{p:?}");
        }
    }

    fn parse(src: &str) -> Vec<Document> {
        match parse_stream(src, Limits::default()) {
            Ok(d) => d,
            Err(e) => panic!("parse failed: {e}"),
        }
    }

    #[test]
    fn yaml_11_scalars() {
        let docs = parse("a: yes\nb: 'yes'\nc: 0777\nd: 1.5\ne: 500m\nf: ~\ng: 0x1F\nh: 1e3\ni: 1_000\n");
        let v = docs[0].root.as_ref().map(Node::to_json).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"a": true, "b": "yes", "c": 511, "d": 1.5, "e": "500m", "f": null, "g": 31, "h": 1000.0, "i": 1000})
        );
    }

    #[test]
    fn spans_and_locate() {
        let src = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx\n";
        let docs = parse(src);
        let root = docs[0].root.as_ref().expect("root");
        let (key, node, depth) = root.locate("/spec/containers/0/image");
        assert_eq!(depth, 4);
        assert_eq!(node.as_str(), Some("nginx"));
        let key = key.expect("key");
        assert_eq!((key.span.start.line, key.span.start.col), (5, 5));
        assert_eq!(&src[node.span.start.byte..node.span.end.byte], "nginx");
        let (_, node, depth) = root.locate("/spec/containers/0/resources/limits");
        assert_eq!(depth, 3);
        assert!(matches!(node.kind, NodeKind::Map(_)));
    }

    #[test]
    fn multibyte_offsets() {
        let src = "a: \"é日本\"\nb: x\n";
        let docs = parse(src);
        let root = docs[0].root.as_ref().expect("root");
        let (_, node, _) = root.locate("/b");
        assert_eq!(&src[node.span.start.byte..node.span.end.byte], "x");
    }

    #[test]
    fn merge_keys_and_empty_documents() {
        let docs = parse("---\nbase: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n---\n---\nk: v\n");
        assert_eq!(docs.len(), 3);
        assert!(docs[1].root.is_none());
        let v = docs[0].root.as_ref().map(Node::to_json).unwrap_or_default();
        assert_eq!(v["m"], serde_json::json!({"x": 1, "y": 3}));
    }

    #[test]
    fn alias_bomb_is_an_error() {
        let mut src = String::from("a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
        for i in 1..12 {
            let p = i - 1;
            src.push_str(&format!("a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"));
        }
        let err = parse_stream(&src, Limits::default()).expect_err("must fail");
        assert!(err.message.contains("alias"), "{err}");
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let src = "[".repeat(100_000);
        let err = parse_stream(&src, Limits::default()).expect_err("must fail");
        assert!(err.message.contains("nesting") || err.message.contains("recursion"), "{err}");
    }
}

/// Where every field of one object is in its file, without keeping the node tree: a sorted table
/// from a hash of the field's path to its span (key start to value end). A few dozen bytes per
/// field instead of the tree's nodes and strings, which matters at tens of thousands of objects.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    entries: Vec<(u64, Span)>,
    /// Keys set twice in one mapping (empty for almost every object).
    duplicates: Vec<DuplicateKey>,
}

/// A key that appears more than once in one mapping: Kubernetes' strict decoding (`kubectl apply`)
/// rejects the object; lenient tools keep the last value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// JSON pointer of the key (its last occurrence, the one lenient readers keep).
    pub pointer: String,
    /// The key.
    pub key: String,
    /// Every occurrence of the key, in file order.
    pub at: Vec<Span>,
}

/// The positions of each key repeated in one mapping, in order of first appearance. `<<` (merge
/// keys) may repeat.
fn repeated_keys(map: &[(Node, Node)]) -> Vec<Vec<usize>> {
    let mut keys: Vec<(&str, usize)> =
        map.iter().enumerate().filter_map(|(i, (k, _))| k.as_str().filter(|k| *k != "<<").map(|k| (k, i))).collect();
    keys.sort_unstable();
    let mut out: Vec<Vec<usize>> = keys
        .chunk_by(|x, y| x.0 == y.0)
        .filter(|run| run.len() > 1)
        .map(|run| run.iter().map(|(_, i)| *i).collect())
        .collect();
    out.sort_unstable();
    out
}

/// The JSON pointer of `target` (a node inside `root`), found by a walk from the root; only asked
/// for when a mapping has a repeated key, so the fast path never builds path strings.
fn pointer_of(root: &Node, target: &Node) -> Option<String> {
    let mut todo: Vec<(&Node, String)> = vec![(root, String::new())];
    while let Some((n, path)) = todo.pop() {
        if std::ptr::eq(n, target) {
            return Some(path);
        }
        match &n.kind {
            NodeKind::Map(map) => {
                for (k, v) in map {
                    if let Some(key) = k.as_str() {
                        todo.push((v, format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))));
                    }
                }
            }
            NodeKind::Seq(items) => todo.extend(items.iter().enumerate().map(|(i, v)| (v, format!("{path}/{i}")))),
            NodeKind::Scalar { .. } => {}
        }
    }
    None
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// Continues an FNV-1a hash with one path segment (0xFF, never in UTF-8, separates segments).
fn hash_segment(mut h: u64, seg: &str) -> u64 {
    h ^= 0xff;
    h = h.wrapping_mul(FNV_PRIME);
    for b in seg.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

impl SpanIndex {
    /// Indexes an object's node: every mapping value (spanning from its key) and sequence item.
    #[must_use]
    pub fn build(root: &Node) -> SpanIndex {
        let mut entries = vec![(FNV_OFFSET, root.span)];
        let mut todo: Vec<(u64, &Node)> = vec![(FNV_OFFSET, root)];
        let mut index_buf = String::new();
        let mut duplicates = Vec::new();
        while let Some((h, n)) = todo.pop() {
            match &n.kind {
                NodeKind::Map(map) => {
                    for run in repeated_keys(map) {
                        let key = map[run[0]].0.as_str().unwrap_or_default();
                        let parent = pointer_of(root, n).unwrap_or_default();
                        let pointer = format!("{parent}/{}", key.replace('~', "~0").replace('/', "~1"));
                        let at = run.iter().map(|i| map[*i].0.span).collect();
                        duplicates.push(DuplicateKey { pointer, key: key.to_string(), at });
                    }
                    for (k, v) in map {
                        let Some(key) = k.as_str() else { continue };
                        let kh = hash_segment(h, key);
                        entries.push((kh, Span { start: k.span.start, end: v.span.end }));
                        todo.push((kh, v));
                    }
                }
                NodeKind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        index_buf.clear();
                        let _ = std::fmt::Write::write_fmt(&mut index_buf, format_args!("{i}"));
                        let ih = hash_segment(h, &index_buf);
                        entries.push((ih, item.span));
                        todo.push((ih, item));
                    }
                }
                NodeKind::Scalar { .. } => {}
            }
        }
        // Stable: for duplicate keys the later entry wins, as in Kubernetes.
        entries.sort_by_key(|(h, _)| *h);
        let mut dedup: Vec<(u64, Span)> = Vec::with_capacity(entries.len());
        for e in entries {
            match dedup.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => dedup.push(e),
            }
        }
        dedup.shrink_to_fit();
        duplicates.sort_by_key(|d: &DuplicateKey| d.at.first().map(|s| s.start.byte));
        SpanIndex { entries: dedup, duplicates }
    }

    /// Keys set more than once in one mapping, in file order.
    #[must_use]
    pub fn duplicates(&self) -> &[DuplicateKey] {
        &self.duplicates
    }

    fn get(&self, h: u64) -> Option<Span> {
        self.entries.binary_search_by_key(&h, |(k, _)| *k).ok().map(|i| self.entries[i].1)
    }

    /// The span of the deepest existing field on a JSON pointer (the object itself at worst).
    #[must_use]
    pub fn locate(&self, pointer: &str) -> Option<Span> {
        let mut prefixes = vec![FNV_OFFSET];
        let mut h = FNV_OFFSET;
        for seg in pointer_segments_cow(pointer) {
            h = hash_segment(h, &seg);
            prefixes.push(h);
        }
        prefixes.iter().rev().find_map(|h| self.get(*h))
    }

    /// The span of the whole object.
    #[must_use]
    pub fn root(&self) -> Option<Span> {
        self.get(FNV_OFFSET)
    }
}

impl Node {
    /// Converts to JSON like [`Node::to_json`], moving the strings instead of copying them.
    #[must_use]
    pub fn into_json(self) -> Value {
        match self.kind {
            NodeKind::Scalar { text, style, tag } => {
                if style == Style::Plain {
                    resolve_scalar(&text, style, tag.as_deref())
                } else {
                    Value::String(text)
                }
            }
            NodeKind::Seq(items) => Value::Array(items.into_iter().map(Node::into_json).collect()),
            NodeKind::Map(entries) => {
                if entries
                    .iter()
                    .any(|(k, _)| matches!(&k.kind, NodeKind::Scalar { text, style: Style::Plain, .. } if text == "<<"))
                {
                    // Merge keys need the borrowed path's precedence rules; they are rare.
                    return Node {
                        kind: NodeKind::Map(entries),
                        span: self.span,
                        flow: self.flow,
                        shared: self.shared,
                    }
                    .to_json();
                }
                let mut map = Map::new();
                for (k, v) in entries {
                    let key = match k.kind {
                        NodeKind::Scalar { text, .. } => text,
                        _ => key_text(&k),
                    };
                    map.insert(key, v.into_json());
                }
                Value::Object(map)
            }
        }
    }
}

/// JSON pointer lookup without the per-segment allocations of `serde_json::Value::pointer`
/// (rules look up fields millions of times on large inputs).
pub trait PointerExt {
    /// The value at a JSON pointer (`""` is the value itself).
    fn ptr(&self, pointer: &str) -> Option<&Value>;
}

impl PointerExt for Value {
    fn ptr(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        if !pointer.starts_with('/') {
            return None;
        }
        // The segments of `pointer_segments_cow`, found by a byte loop: rules, the graph and
        // cost ask this millions of times of short pointers, where `split` and `contains` cost
        // more than the lookups.
        let bytes = pointer.as_bytes();
        let mut cur = self;
        let mut i = 1;
        loop {
            let mut j = i;
            let mut escaped = false;
            while let Some(&b) = bytes.get(j)
                && b != b'/'
            {
                escaped |= b == b'~';
                j += 1;
            }
            // `/` is ASCII: both ends are character boundaries.
            let raw = pointer.get(i..j)?;
            let seg = if escaped {
                std::borrow::Cow::Owned(raw.replace("~1", "/").replace("~0", "~"))
            } else {
                std::borrow::Cow::Borrowed(raw)
            };
            cur = match cur {
                Value::Object(m) => m.get(seg.as_ref())?,
                Value::Array(a) => {
                    if seg.len() > 1 && seg.starts_with('0') {
                        return None;
                    }
                    a.get(seg.parse::<usize>().ok()?)?
                }
                _ => return None,
            };
            if j >= bytes.len() {
                return Some(cur);
            }
            i = j + 1;
        }
    }
}
