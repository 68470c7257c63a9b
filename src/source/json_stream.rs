//! Several JSON documents one after another (`kubectl get pods -o json; kubectl get deploy -o json`
//! into one pipe: `{...}\n{...}`). That is not valid YAML, so the stream is split at the top-level
//! value boundaries and each value is parsed as a document of its own, with its positions moved to
//! where it sits in the file.

use crate::yaml::{self, Document, Limits, Node, NodeKind, ParseError, Pos};

/// Byte ranges of the top-level values when `text` is two or more JSON objects or arrays separated
/// only by whitespace. A last value that never closes runs to the end, so its parse error points
/// into it. `None` when the text is anything else (one value, YAML, ...).
#[must_use]
pub(crate) fn split(text: &str) -> Option<Vec<(usize, usize)>> {
    let bytes = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while bytes.get(i).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
            i += 1;
        }
        i
    };
    let mut ranges = Vec::new();
    let mut i = skip_ws(0);
    while i < bytes.len() {
        if !matches!(bytes[i], b'{' | b'[') {
            return None;
        }
        let start = i;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut end = None;
        while i < bytes.len() {
            // Indentation, eight spaces at a time: most of a pretty-printed List.
            while !in_string && bytes.get(i..i + 8) == Some(&b"        "[..]) {
                i += 8;
            }
            let Some(&b) = bytes.get(i) else { break };
            i += 1;
            if in_string {
                match b {
                    b'\\' => i += 1,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        match end {
            Some(e) => ranges.push((start, e)),
            None => {
                ranges.push((start, bytes.len()));
                break;
            }
        }
        i = skip_ws(i);
    }
    (ranges.len() >= 2).then_some(ranges)
}

/// Parses each range as one document. Document indexes count the values; positions are the
/// file's.
///
/// # Errors
/// The first value that does not parse, at its position in the file.
pub(crate) fn parse(text: &str, ranges: &[(usize, usize)], limits: Limits) -> Result<Vec<Document>, ParseError> {
    let mut docs = Vec::with_capacity(ranges.len());
    let mut cursor = Cursor { pos: Pos { byte: 0, line: 1, col: 1 } };
    for (index, &(a, b)) in ranges.iter().enumerate() {
        let base = cursor.advance(text, a);
        let parsed = yaml::parse_stream(&text[a..b], limits).map_err(|mut e| {
            let p = shift(Pos { byte: 0, line: e.line, col: e.col }, base);
            (e.line, e.col) = (p.line, p.col);
            e
        })?;
        // A JSON value is one document; anything else would have failed to parse.
        let mut root = parsed.into_iter().find_map(|d| d.root);
        if let Some(r) = root.as_mut() {
            shift_node(r, base);
        }
        docs.push(Document { root, index, start: base });
    }
    Ok(docs)
}

/// Walks forward through the text, tracking line and column.
pub(super) struct Cursor {
    pub(super) pos: Pos,
}

impl Cursor {
    pub(super) fn advance(&mut self, text: &str, to: usize) -> Pos {
        let seg = &text[self.pos.byte..to];
        match seg.rfind('\n') {
            Some(nl) => {
                self.pos.line += u32::try_from(seg.matches('\n').count()).unwrap_or(u32::MAX);
                self.pos.col = u32::try_from(seg[nl + 1..].chars().count() + 1).unwrap_or(u32::MAX);
            }
            None => self.pos.col += u32::try_from(seg.chars().count()).unwrap_or(u32::MAX),
        }
        self.pos.byte = to;
        self.pos
    }
}

/// A position in a value parsed on its own, moved to where the value starts in the file.
fn shift(p: Pos, base: Pos) -> Pos {
    Pos {
        byte: p.byte + base.byte,
        line: p.line + base.line - 1,
        col: if p.line == 1 { p.col + base.col - 1 } else { p.col },
    }
}

pub(super) fn shift_node(root: &mut Node, base: Pos) {
    // Iterative: a value can nest as deep as the parser's limit allows.
    let mut todo = vec![root];
    while let Some(n) = todo.pop() {
        n.span.start = shift(n.span.start, base);
        n.span.end = shift(n.span.end, base);
        match &mut n.kind {
            NodeKind::Scalar { .. } => {}
            NodeKind::Seq(items) => todo.extend(items.iter_mut()),
            NodeKind::Map(entries) => {
                for (k, v) in entries.iter_mut() {
                    todo.push(k);
                    todo.push(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_boundaries_only() {
        let text = "{\"a\": \"}{\\\"\", \"b\": [1, {}]}\n  {\"c\": 1}[2]";
        let r = split(text).unwrap_or_default();
        let parts: Vec<&str> = r.iter().map(|&(a, b)| &text[a..b]).collect();
        assert_eq!(parts, ["{\"a\": \"}{\\\"\", \"b\": [1, {}]}", "{\"c\": 1}", "[2]"]);
        assert_eq!(split("{\"a\": 1}\n"), None, "one value is an ordinary document");
        assert_eq!(split("{a: 1}\n---\n{b: 2}\n"), None, "YAML stream");
        assert_eq!(split("apiVersion: v1\n"), None);
        assert_eq!(split("{\"a\": 1} {\"b\": "), Some(vec![(0, 8), (9, 15)]), "an unclosed last value runs to the end");
    }

    #[test]
    fn positions_are_the_files() {
        let text = "{\"a\": 1}\n\n  {\"b\":\n   {\"c\": \"é\"}} {\"d\": 2}\n";
        let ranges = split(text).unwrap_or_default();
        let docs = parse(text, &ranges, Limits::default()).unwrap_or_default();
        assert_eq!(docs.len(), 3);
        let c = docs[1].root.as_ref().and_then(|r| r.get("b")).and_then(|b| b.get("c")).map(|n| n.span.start);
        assert_eq!(c, Some(Pos { byte: text.find("\"é\"").unwrap_or(0), line: 4, col: 10 }));
        let b = docs[1].root.as_ref().map(|r| r.span.start);
        assert_eq!(b, Some(Pos { byte: 12, line: 3, col: 3 }));
        let d = docs[2].root.as_ref().and_then(|r| r.get("d")).map(|n| n.span.start);
        assert_eq!(d, Some(Pos { byte: text.find('2').unwrap_or(0), line: 4, col: 22 }));
        assert_eq!(docs[2].index, 2);

        let bad = "{\"a\": 1}\n{\"b\": 1,,}\n";
        let err = parse(bad, &split(bad).unwrap_or_default(), Limits::default()).err();
        assert_eq!(err.map(|e| e.line), Some(2));
    }
}
