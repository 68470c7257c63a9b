//! A JSON-only reader that builds exactly the tree [`super::parse_stream`] builds with saphyr
//! (same text, styles, spans, flags), an order of magnitude faster and without the event stream.
//!
//! It is a shortcut, never a second grammar: whenever it is not sure saphyr would read the input
//! the same way (invalid JSON, tabs, lone `\r`, surrogate escapes, limits, ...) it answers `None`
//! and the caller takes saphyr's path, so error messages stay saphyr's.

use super::{Document, Limits, Node, NodeKind, Pos, Span, Style};

/// The document `parse_stream` gives for `text` holding one JSON object or array (whitespace
/// around it), or `None` when not sure.
pub(super) fn parse_document(text: &str, limits: Limits) -> Option<Document> {
    if text.len() > limits.max_bytes {
        return None;
    }
    let mut p = Reader::new(text, Pos { byte: 0, line: 1, col: 1 }, limits);
    p.skip_ws()?;
    if !matches!(p.peek(), Some(b'{' | b'[')) {
        return None;
    }
    let start = p.pos;
    let root = p.value(0)?;
    p.skip_ws()?;
    if p.pos.byte != text.len() {
        return None;
    }
    Some(Document { root: Some(root), index: 0, start })
}

/// Reads JSON from a position in a larger text, with that text's positions.
pub(crate) struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Where the reader is.
    pub(crate) pos: Pos,
    limits: Limits,
    /// Nodes built so far (collections, keys and scalars, as `parse_stream` counts them).
    pub(crate) nodes: usize,
}

/// A collection being read.
enum Frame {
    Seq { items: Vec<Node>, start: Pos },
    Map { entries: Vec<(Node, Node)>, key: Option<Node>, start: Pos },
}

/// saphyr counts open flow collections in a `u8`: one more is an error.
const MAX_FLOW_LEVEL: usize = 255;

/// Longest key text kept on this path (YAML caps implicit keys at 1024 characters).
const MAX_KEY_BYTES: usize = 1000;

impl<'a> Reader<'a> {
    /// A reader at `at` (its byte offset into `text`, line and column).
    pub(crate) fn new(text: &'a str, at: Pos, limits: Limits) -> Reader<'a> {
        Reader { text, bytes: text.as_bytes(), pos: at, limits, nodes: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos.byte).copied()
    }

    /// Skips JSON whitespace; `None` on a tab or a `\r` not followed by `\n` (YAML reads those
    /// differently from JSON in places).
    pub(crate) fn skip_ws(&mut self) -> Option<()> {
        loop {
            self.skip_space_runs();
            match self.peek() {
                Some(b' ') => {
                    self.pos.byte += 1;
                    self.pos.col += 1;
                }
                Some(b'\n') => self.newline(1),
                Some(b'\r') if self.bytes.get(self.pos.byte + 1) == Some(&b'\n') => self.newline(2),
                Some(b'\r' | b'\t') => return None,
                _ => return Some(()),
            }
        }
    }

    /// Steps over one ASCII byte that is not a line break.
    pub(crate) fn bump(&mut self) {
        self.pos.byte += 1;
        self.pos.col += 1;
    }

    fn newline(&mut self, len: usize) {
        self.pos.byte += len;
        self.pos.line = self.pos.line.saturating_add(1);
        self.pos.col = 1;
    }

    /// Skips runs of eight spaces (pretty-printed JSON is mostly indentation).
    fn skip_space_runs(&mut self) {
        while self.bytes.get(self.pos.byte..self.pos.byte + 8) == Some(&b"        "[..]) {
            self.pos.byte += 8;
            self.pos.col += 8;
        }
    }

    /// Skips spaces on the current line only.
    pub(crate) fn skip_spaces(&mut self) {
        self.skip_space_runs();
        while self.peek() == Some(b' ') {
            self.pos.byte += 1;
            self.pos.col += 1;
        }
    }

    pub(crate) fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= self.limits.max_nodes).then_some(())
    }

    /// Reads one value; `depth` is the number of collections already open around it.
    pub(crate) fn value(&mut self, depth: usize) -> Option<Node> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // A value starts here.
            self.skip_ws()?;
            let mut done: Option<Node> = match self.peek()? {
                b'{' | b'[' => {
                    if depth + stack.len() >= self.limits.max_depth.min(MAX_FLOW_LEVEL) {
                        return None;
                    }
                    let start = self.pos;
                    let map = self.bytes[self.pos.byte] == b'{';
                    self.pos.byte += 1;
                    self.pos.col += 1;
                    self.skip_ws()?;
                    let close = if map { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos.byte += 1;
                        self.pos.col += 1;
                        self.count()?;
                        // saphyr ends a collection after the blanks that follow it on its line.
                        self.skip_spaces();
                        let kind = if map { NodeKind::Map(Vec::new()) } else { NodeKind::Seq(Vec::new()) };
                        Some(Node { kind, span: Span { start, end: self.pos }, flow: true, shared: false })
                    } else if map {
                        let key = self.key()?;
                        stack.push(Frame::Map { entries: Vec::new(), key: Some(key), start });
                        None
                    } else {
                        stack.push(Frame::Seq { items: Vec::new(), start });
                        None
                    }
                }
                b'"' => Some(self.string()?),
                _ => Some(self.plain()?),
            };
            // Close every collection this value completes.
            while let Some(node) = done.take() {
                let Some(top) = stack.last_mut() else { return Some(node) };
                match top {
                    Frame::Seq { items, .. } => items.push(node),
                    Frame::Map { entries, key, .. } => entries.push((key.take()?, node)),
                }
                self.skip_ws()?;
                let b = self.peek()?;
                self.pos.byte += 1;
                self.pos.col += 1;
                match (b, top) {
                    (b',', Frame::Seq { .. }) => {}
                    (b',', Frame::Map { key, .. }) => *key = Some(self.key_after_comma()?),
                    (b']', Frame::Seq { .. }) | (b'}', Frame::Map { .. }) => {
                        self.count()?;
                        self.skip_spaces();
                        done = Some(match stack.pop()? {
                            Frame::Seq { items, start } => Node {
                                kind: NodeKind::Seq(items),
                                span: Span { start, end: self.pos },
                                flow: true,
                                shared: false,
                            },
                            Frame::Map { entries, start, .. } => Node {
                                kind: NodeKind::Map(entries),
                                span: Span { start, end: self.pos },
                                flow: true,
                                shared: false,
                            },
                        });
                    }
                    _ => return None,
                }
            }
        }
    }

    /// Steps over one object or array without building it (to find where List items are), as
    /// [`Reader::value`] would: positions after it are the same, and whatever it would refuse
    /// outside strings is refused here too.
    pub(crate) fn skip_collection(&mut self) -> Option<()> {
        if !matches!(self.peek(), Some(b'{' | b'[')) {
            return None;
        }
        let bytes = self.bytes;
        let mut depth = 0usize;
        loop {
            let b = *bytes.get(self.pos.byte)?;
            match b {
                b'"' => {
                    let mut i = self.pos.byte + 1;
                    let mut col = self.pos.col + 1;
                    loop {
                        match *bytes.get(i)? {
                            b'"' => break,
                            b'\\' => {
                                // Escapes are ASCII; a bad one fails the item's own parse.
                                i += 2;
                                col += 2;
                            }
                            0x00..=0x1f => return None,
                            c => {
                                if c & 0xc0 != 0x80 {
                                    col += 1;
                                }
                                i += 1;
                            }
                        }
                    }
                    self.pos.byte = i + 1;
                    self.pos.col = col + 1;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        self.pos.byte += 1;
                        self.pos.col += 1;
                        self.skip_spaces();
                        return Some(());
                    }
                }
                b' ' | b'\n' | b'\r' | b'\t' => {
                    self.skip_ws()?;
                    continue;
                }
                _ => {}
            }
            self.pos.byte += 1;
            if b & 0xc0 != 0x80 {
                self.pos.col += 1;
            }
        }
    }

    fn key_after_comma(&mut self) -> Option<Node> {
        self.skip_ws()?;
        self.key()
    }

    /// A mapping key and its `:` (on the same line: a key's colon on the next line is YAML's
    /// corner, not kubectl's).
    pub(crate) fn key(&mut self) -> Option<Node> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let key = self.string()?;
        if key.span.end.byte - key.span.start.byte > MAX_KEY_BYTES {
            return None;
        }
        self.skip_spaces();
        if self.peek() != Some(b':') {
            return None;
        }
        self.pos.byte += 1;
        self.pos.col += 1;
        Some(key)
    }

    /// A double-quoted string, unescaped.
    fn string(&mut self) -> Option<Node> {
        self.count()?;
        let start = self.pos;
        let bytes = self.bytes;
        let mut i = start.byte + 1;
        let mut col = start.col + 1;
        let mut out: Option<String> = None;
        let mut run = i;
        loop {
            let b = *bytes.get(i)?;
            match b {
                b'"' => break,
                b'\\' => {
                    let o = out.get_or_insert_with(String::new);
                    o.push_str(self.text.get(run..i)?);
                    let e = *bytes.get(i + 1)?;
                    let (c, len) = match e {
                        b'"' => ('"', 2),
                        b'\\' => ('\\', 2),
                        b'/' => ('/', 2),
                        b'b' => ('\x08', 2),
                        b'f' => ('\x0c', 2),
                        b'n' => ('\n', 2),
                        b'r' => ('\r', 2),
                        b't' => ('\t', 2),
                        b'u' => {
                            let hex = self.text.get(i + 2..i + 6)?;
                            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                                return None;
                            }
                            // A surrogate (even a valid pair) is an error to saphyr.
                            (char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, 6)
                        }
                        _ => return None,
                    };
                    o.push(c);
                    i += len;
                    col += u32::try_from(len).ok()?;
                    run = i;
                }
                0x00..=0x1f => return None,
                // A byte order mark inside a document is an error to saphyr.
                0xef if bytes.get(i + 1..i + 3) == Some(&[0xbb, 0xbf]) => return None,
                0x80..=0xff => {
                    // Columns count characters: only a character's first byte counts.
                    if b & 0xc0 != 0x80 {
                        col += 1;
                    }
                    i += 1;
                }
                _ => {
                    i += 1;
                    col += 1;
                }
            }
        }
        let raw = self.text.get(run..i)?;
        let text = match out {
            Some(mut o) => {
                o.push_str(raw);
                o
            }
            None => raw.to_string(),
        };
        self.pos = Pos { byte: i + 1, line: start.line, col: col + 1 };
        Some(Node {
            kind: NodeKind::Scalar { text, style: Style::DoubleQuoted, tag: None },
            span: Span { start, end: self.pos },
            flow: false,
            shared: false,
        })
    }

    /// A number, `true`, `false` or `null`, kept as written (a plain scalar).
    fn plain(&mut self) -> Option<Node> {
        self.count()?;
        let start = self.pos;
        let b = self.bytes;
        let mut i = start.byte;
        let word = |w: &[u8]| b.get(i..i + w.len()) == Some(w);
        if word(b"true") {
            i += 4;
        } else if word(b"false") {
            i += 5;
        } else if word(b"null") {
            i += 4;
        } else {
            // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
            let digits = |i: &mut usize| {
                let from = *i;
                while b.get(*i).is_some_and(u8::is_ascii_digit) {
                    *i += 1;
                }
                *i > from
            };
            if b.get(i) == Some(&b'-') {
                i += 1;
            }
            match b.get(i) {
                Some(b'0') => i += 1,
                Some(b'1'..=b'9') => {
                    digits(&mut i);
                }
                _ => return None,
            }
            if b.get(i) == Some(&b'.') {
                i += 1;
                if !digits(&mut i) {
                    return None;
                }
            }
            if matches!(b.get(i), Some(b'e' | b'E')) {
                i += 1;
                if matches!(b.get(i), Some(b'+' | b'-')) {
                    i += 1;
                }
                if !digits(&mut i) {
                    return None;
                }
            }
        }
        // What may follow a plain scalar in JSON; anything else (`1x`, `truex`) is left to saphyr.
        if !matches!(b.get(i), None | Some(b' ' | b'\n' | b'\r' | b',' | b']' | b'}')) {
            return None;
        }
        let len = i - start.byte;
        self.pos = Pos { byte: i, line: start.line, col: start.col + u32::try_from(len).ok()? };
        Some(Node {
            kind: NodeKind::Scalar { text: self.text.get(start.byte..i)?.to_string(), style: Style::Plain, tag: None },
            span: Span { start, end: self.pos },
            flow: false,
            shared: false,
        })
    }
}

#[cfg(test)]
mod tests {
    //! The spec of this reader is saphyr: wherever it answers, the tree must be saphyr's.
    use super::super::parse_stream_saphyr;
    use super::*;
    use std::path::{Path, PathBuf};

    /// Compares both readers on `text`; returns whether the fast one answered.
    fn same(text: &str, limits: Limits, what: &str) -> bool {
        let Some(fast) = parse_document(text, limits) else { return false };
        let slow = match parse_stream_saphyr(text, limits) {
            Ok(d) => d,
            Err(e) => panic!("{what}: the fast reader accepted what saphyr rejects ({e}): {text:.200}"),
        };
        assert_eq!(slow.len(), 1, "{what}: one document");
        assert_eq!(slow[0].start, fast.start, "{what}: document start");
        assert_eq!(slow[0].index, fast.index, "{what}: index");
        if slow[0].root != fast.root {
            let (s, f) = (slow[0].root.as_ref(), fast.root.as_ref());
            panic!("{what}: trees differ: {}", first_difference(s, f));
        }
        true
    }

    /// The first differing node of two trees, for a readable failure.
    fn first_difference(a: Option<&Node>, b: Option<&Node>) -> String {
        let mut todo = vec![(a, b)];
        while let Some((a, b)) = todo.pop() {
            let (Some(a), Some(b)) = (a, b) else { return format!("{a:?} vs {b:?}") };
            if a.span != b.span || a.flow != b.flow || a.shared != b.shared {
                return format!("{:?} {} {} vs {:?} {} {}", a.span, a.flow, a.shared, b.span, b.flow, b.shared);
            }
            match (&a.kind, &b.kind) {
                (NodeKind::Map(x), NodeKind::Map(y)) if x.len() == y.len() => {
                    for ((ka, va), (kb, vb)) in x.iter().zip(y) {
                        todo.push((Some(va), Some(vb)));
                        todo.push((Some(ka), Some(kb)));
                    }
                }
                (NodeKind::Seq(x), NodeKind::Seq(y)) if x.len() == y.len() => {
                    todo.extend(x.iter().zip(y).map(|(p, q)| (Some(p), Some(q))));
                }
                (x, y) if x != y => return format!("{x:?} vs {y:?}"),
                _ => {}
            }
        }
        "equal".to_string()
    }

    fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                json_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn fixtures_read_alike() {
        let mut files = Vec::new();
        json_files(&root().join("manifests-fixtures"), &mut files);
        assert!(files.len() >= 10, "fixtures found: {}", files.len());
        let mut answered = 0;
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else { continue };
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            if same(text, Limits::default(), &f.display().to_string()) {
                answered += 1;
            } else if parse_stream_saphyr(text, Limits::default()).is_ok()
                && serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.is_object())
            {
                panic!("{}: valid JSON object left to saphyr", f.display());
            }
        }
        assert!(answered >= 10, "answered {answered} of {}", files.len());
    }

    #[test]
    fn corpus_reads_alike() {
        let corpus =
            std::env::var_os("CLUSTERGPT_CORPUS").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/corpus"));
        if !corpus.is_dir() {
            eprintln!("skipped: no corpus at {}", corpus.display());
            return;
        }
        for sub in ["live", "real"] {
            let mut files = Vec::new();
            json_files(&corpus.join(sub), &mut files);
            for f in &files {
                let Ok(text) = std::fs::read_to_string(f) else { continue };
                let ok_json = serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.is_object());
                let answered = same(&text, Limits::default(), &f.display().to_string());
                assert!(answered || !ok_json || sub == "real", "{}: kubectl JSON left to saphyr", f.display());
            }
        }
    }

    #[test]
    fn generated_lists_read_alike() {
        let script = root().join("scripts/gen_list.py");
        let mut texts = Vec::new();
        for args in [["pod", "300", "json"], ["pod", "300", "line"], ["deployment", "200", "json"]] {
            match std::process::Command::new("python3").arg(&script).args(args).output() {
                Ok(out) if out.status.success() => texts.push(String::from_utf8_lossy(&out.stdout).into_owned()),
                _ => eprintln!("skipped gen_list.py {args:?}: python3 did not run it"),
            }
        }
        // serde_json's own layouts, which other tools write.
        let v = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {}}, "spec": {"containers": []}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "é日本", "annotations": {"a/b": "x\ny\"z\\"}}}
        ], "metadata": {"resourceVersion": ""}});
        texts.push(serde_json::to_string(&v).unwrap_or_default());
        texts.push(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n");
        texts.push(serde_json::to_string_pretty(&v).unwrap_or_default().replace('\n', "\r\n") + "\r\n");
        for (i, t) in texts.iter().enumerate() {
            assert!(same(t, Limits::default(), &format!("generated {i}")), "generated {i} left to saphyr");
        }
    }

    #[test]
    fn edge_cases_read_alike() {
        let must = [
            r#"{"a": "\u00e9\u65e5", "b": "\/", "c": "\u0000", "d": "\b\f\n\r\t\"\\"}"#,
            "{\"é日本\": \"日本語 text\", \"x\": [\"🙂\", \"a\"]}\n",
            "{\n  \"a\": \"日本\",\n  \"b\": 1\n}",
            "{\r\n  \"a\": [\r\n    1,\r\n    2\r\n  ]\r\n}\r\n",
            r#"{"n": [-0, 0, 1e5, 1.0, 1E+2, -1.5e-3, 123456789012345678901234567890, 18446744073709551616]}"#,
            r#"{"t": true, "f": false, "z": null}"#,
            "{}",
            "[]",
            "  \n\n  {\"a\": {}, \"b\": [], \"c\": \"\", \"d\": [{}, [], [[]], {\"e\": {}}]}  \n\n",
            r#"{"a": 1, "a": 2, "": ""}"#,
            r#"{"a":1,"b":[1,2,{"c":"d"}],"e":""}"#,
            "[{\"a\": 1}, {\"b\": 2}]",
            "{\"a\" : 1}",
            "{\n\"a\":\n1\n,\n\"b\":\n2}",
        ];
        for (i, t) in must.iter().enumerate() {
            assert!(same(t, Limits::default(), &format!("edge {i}")), "edge {i} left to saphyr: {t}");
        }
        // Allowed either way, but never different.
        let either = [
            "{\"a\":\t1}",
            "{\"a\": 1}\r",
            "{\n\"a\"\n:\n1}",
            "{\"a\": \"\\ud83d\\ude00\"}",
            "{\"a\": \"\\ud83d\"}",
            "{\"a\": \"x\u{feff}\"}",
            "{\"a\": 01}",
            "{\"a\": 1,}",
            "{\"a\": .5}",
            "{\"a\": tru}",
            "{\"a\": \"\t\"}",
            "{\"a\": 1} {\"b\": 2}",
            "{\"a\": 1}\n---\n{\"b\": 2}",
            "{a: 1}",
            "{\"a\": 'b'}",
            "{\"a\": \"\u{7f}\u{85}\u{a0}\u{2028}\u{2029}\u{fffe}\u{ffff}\"}",
            "{\"\u{85}\": 1, \"b\": \"\u{2028}\"}\n",
            "[\n-1\n,\n-0.5]",
            "{\"a\": [\n---1]}",
            "{\"a\": \"#x\", \"b\": \"- x\", \"c\": \"x: y\", \"<<\": {\"d\": 1}}",
            "\"a\"",
            "1",
        ];
        for (i, t) in either.iter().enumerate() {
            same(t, Limits::default(), &format!("either {i}"));
        }
        let long_key = format!("{{\"{}\": 1}}", "k".repeat(2000));
        same(&long_key, Limits::default(), "long key");
    }

    #[test]
    fn limits_are_saphyrs() {
        let limits = Limits { max_depth: 20, max_nodes: 30, max_bytes: 200 };
        for depth in 15..25 {
            let t = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            same(&t, limits, &format!("depth {depth}"));
            let t = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            same(&t, limits, &format!("depth {depth} with a scalar"));
        }
        for n in 5..20 {
            let items = vec!["1"; n].join(",");
            same(&format!("[{items}]"), limits, &format!("{n} nodes"));
            let entries: Vec<String> = (0..n).map(|i| format!("\"k{i}\": {i}")).collect();
            same(&format!("{{{}}}", entries.join(", ")), limits, &format!("{n} entries"));
        }
        same(&format!("[\"{}\"]", "x".repeat(300)), limits, "too big");
        let deep = format!("{}{}", "[".repeat(255), "]".repeat(255));
        assert!(same(&deep, Limits::default(), "255 deep"));
        same(&format!("{}{}", "[".repeat(256), "]".repeat(256)), Limits::default(), "256 deep");
        same(&format!("{}{}", "[".repeat(600), "]".repeat(600)), Limits::default(), "600 deep");
        let very = "[".repeat(1_000_000);
        assert!(parse_document(&very, Limits::default()).is_none());
    }

    #[test]
    fn fuzz_mutations_agree() {
        let seeds = [
            "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n        {\n            \"kind\": \"Pod\",\n            \"metadata\": {\"name\": \"a-é\", \"labels\": {\"x\": \"1\"}},\n            \"spec\": {\"containers\": [{\"image\": \"nginx\", \"ports\": [{\"containerPort\": 80}]}]}\n        }\n    ],\n    \"kind\": \"List\"\n}\n",
            r#"{"a":[1,-2.5e3,true,false,null,"\u00e9\n",{},[]],"b":{"c":""}}"#,
        ];
        let alphabet: Vec<char> = "{}[]\",: \n\r\t\\0123456789-+.eEutrfnalsx/é日#'&*!|>-?%@`".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % (n.max(1) as u64)).unwrap_or(0)
        };
        let mut answered = 0;
        for round in 0..20_000 {
            let mut chars: Vec<char> = seeds[round % seeds.len()].chars().collect();
            for _ in 0..1 + next(3) {
                let at = next(chars.len() + 1);
                match next(4) {
                    0 if at < chars.len() => {
                        chars.remove(at);
                    }
                    1 => chars.insert(at, alphabet[next(alphabet.len())]),
                    2 if at < chars.len() => chars[at] = alphabet[next(alphabet.len())],
                    _ => {
                        let len = next(8).min(chars.len() - at.min(chars.len()));
                        let piece: Vec<char> = chars[at.min(chars.len())..at.min(chars.len()) + len].to_vec();
                        let to = next(chars.len() + 1);
                        for (k, c) in piece.into_iter().enumerate() {
                            chars.insert(to + k, c);
                        }
                    }
                }
            }
            let text: String = chars.into_iter().collect();
            if same(&text, Limits::default(), &format!("round {round}")) {
                answered += 1;
            }
        }
        assert!(answered > 1000, "the fast reader answered only {answered} mutations");
    }
}
