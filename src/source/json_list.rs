//! A `kind: List` in JSON (`kubectl get pods -A -o json`) read item by item: the List's tree is
//! never built whole (hundreds of MB for a large dump), each item is parsed on its own with the
//! file's positions, turned into its object and dropped, on every core.
//!
//! The result is exactly what the whole-document path gives: the items take the same `add_node`
//! path, and whenever anything is unusual (not the reader's JSON, a repeated top-level key, a
//! limit) nothing built here is kept and the caller reads the file the ordinary way.

use std::sync::Arc;

use super::{Input, Place, add_node};
use crate::model::SourceFile;
use crate::yaml::json::Reader;
use crate::yaml::{Limits, Node, NodeKind, Pos};

/// Items below this many are read on one thread.
const PARALLEL_FROM: usize = 256;

/// The List's own fields and where its items are.
struct Outline {
    /// Where the List's `{` is.
    start: Pos,
    kind: String,
    api_version: String,
    /// Each item's start (always a `{`) and end, in file order.
    items: Vec<(Pos, Pos)>,
    /// Nodes outside the items, as `parse_stream` counts them.
    nodes: usize,
}

/// Reads `text` as a JSON List into `input`; gives the text back when it is not one this path
/// reads exactly like the document path.
pub(super) fn load(name: &str, text: String, json: bool, limits: Limits, input: &mut Input) -> Result<(), String> {
    if text.len() > limits.max_bytes {
        return Err(text);
    }
    let Some(outline) = outline(&text, Pos { byte: 0, line: 1, col: 1 }, limits) else { return Err(text) };
    let source = Arc::new(SourceFile { path: name.to_string(), text, json });
    match items(&source, &outline, 0, limits) {
        Some(mut read) => {
            let range = (outline.start.byte, source.text.len());
            for o in &mut read.objects {
                o.doc_range = Some(range);
            }
            input.objects.append(&mut read.objects);
            input.skipped.append(&mut read.skipped);
            Ok(())
        }
        None => Err(Arc::try_unwrap(source).map_or_else(|s| s.text.clone(), |s| s.text)),
    }
}

/// Reads JSON values one after another (`json_stream::split`'s ranges) into `input`, the Lists
/// among them item by item; gives the text back when one value is not read here exactly as
/// `json_stream::parse` and the document path would read it.
pub(super) fn load_stream(
    name: &str,
    text: String,
    ranges: &[(usize, usize)],
    limits: Limits,
    input: &mut Input,
) -> Result<(), String> {
    let source = Arc::new(SourceFile { path: name.to_string(), text, json: true });
    let back = |source: Arc<SourceFile>| Arc::try_unwrap(source).map_or_else(|s| s.text.clone(), |s| s.text);
    let mut out = Input::default();
    let mut cursor = super::json_stream::Cursor { pos: Pos { byte: 0, line: 1, col: 1 } };
    let len = source.text.len();
    for (index, &(a, b)) in ranges.iter().enumerate() {
        let Some(value) = source.text.get(a..b).filter(|v| v.len() <= limits.max_bytes) else {
            return Err(back(source));
        };
        let base = cursor.advance(&source.text, a);
        let range = (a, ranges.get(index + 1).map_or(len, |r| r.0));
        let before = out.objects.len();
        if let Some(outline) = outline(&source.text[..b], base, limits) {
            let Some(mut read) = items(&source, &outline, index, limits) else { return Err(back(source)) };
            out.objects.append(&mut read.objects);
            out.skipped.append(&mut read.skipped);
        } else {
            // As `json_stream::parse` reads a value.
            let Ok(docs) = crate::yaml::parse_stream(value, limits) else { return Err(back(source)) };
            if let Some(mut root) = docs.into_iter().find_map(|d| d.root) {
                super::json_stream::shift_node(&mut root, base);
                super::add_document(&source, index, base.line, root, &mut out);
            }
        }
        for o in &mut out.objects[before..] {
            o.doc_range = Some(range);
        }
    }
    input.objects.append(&mut out.objects);
    input.skipped.append(&mut out.skipped);
    Ok(())
}

/// The List's fields and item positions, when the text from `at` to its end is one JSON object
/// whose `kind` ends in `List`, with a string `apiVersion`, an `items` array of objects, and no
/// key twice.
fn outline(text: &str, at: Pos, limits: Limits) -> Option<Outline> {
    // An item is three collections deep; saphyr's and our budgets are checked inside it.
    if limits.max_depth < 3 {
        return None;
    }
    let mut r = Reader::new(text, at, limits);
    r.skip_ws()?;
    if r.peek() != Some(b'{') {
        return None;
    }
    let start = r.pos;
    r.bump();
    r.count()?;
    let mut keys: Vec<String> = Vec::new();
    let (mut kind, mut api_version, mut items) = (None, None, None);
    r.skip_ws()?;
    if r.peek() == Some(b'}') {
        return None;
    }
    loop {
        r.skip_ws()?;
        let key = r.key()?;
        let key = key.as_str()?.to_string();
        if keys.contains(&key) {
            return None;
        }
        r.skip_ws()?;
        if key == "items" && r.peek() == Some(b'[') {
            items = Some(item_positions(&mut r)?);
        } else {
            let value = r.value(1)?;
            match key.as_str() {
                "kind" => kind = Some(string(value)?),
                "apiVersion" => api_version = Some(string(value)?),
                _ => {}
            }
        }
        keys.push(key);
        r.skip_ws()?;
        let b = r.peek()?;
        r.bump();
        match b {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    r.skip_spaces();
    r.skip_ws()?;
    if r.pos.byte != text.len() {
        return None;
    }
    let (kind, api_version, items) = (kind?, api_version?, items?);
    if api_version.is_empty() || !kind.ends_with("List") || crate::kinds::config_file(&api_version, &kind).is_some() {
        return None;
    }
    Some(Outline { start, kind, api_version, items, nodes: r.nodes })
}

/// A double-quoted string's text.
fn string(node: Node) -> Option<String> {
    match node.kind {
        NodeKind::Scalar { text, style: crate::yaml::Style::DoubleQuoted, .. } => Some(text),
        _ => None,
    }
}

/// Steps over the `items` array, noting where each item starts and ends.
fn item_positions(r: &mut Reader<'_>) -> Option<Vec<(Pos, Pos)>> {
    r.bump();
    r.count()?;
    let mut out = Vec::new();
    r.skip_ws()?;
    if r.peek() == Some(b']') {
        r.bump();
        r.skip_spaces();
        return Some(out);
    }
    loop {
        r.skip_ws()?;
        if r.peek() != Some(b'{') {
            return None;
        }
        let start = r.pos;
        r.skip_collection()?;
        out.push((start, r.pos));
        r.skip_ws()?;
        let b = r.peek()?;
        r.bump();
        match b {
            b',' => {}
            b']' => break,
            _ => return None,
        }
    }
    r.skip_spaces();
    Some(out)
}

/// Parses every item into objects (or skipped entries) in item order, on every core; `None` when
/// one item is not read exactly as the document path would.
fn items(source: &Arc<SourceFile>, outline: &Outline, document: usize, limits: Limits) -> Option<Input> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let n = outline.items.len();
    let threads = if n < PARALLEL_FROM { 1 } else { threads.min(n).max(1) };
    let chunk = n.div_ceil(threads).max(1);
    let read = |first: usize, part: &[(Pos, Pos)]| -> Option<(Input, usize)> {
        let mut out = Input::default();
        let mut nodes = 0usize;
        for (k, &(start, end)) in part.iter().enumerate() {
            let i = first + k;
            let mut r = Reader::new(&source.text, start, limits);
            // Two collections are open around an item: the List and its `items`.
            let node = r.value(2)?;
            if r.pos != end {
                return None;
            }
            nodes += r.nodes;
            let place = Place::ListItem { index: i, list_kind: &outline.kind, list_api_version: &outline.api_version };
            add_node(source, document, start.line, format!("/items/{i}"), node, place, &mut out);
        }
        Some((out, nodes))
    };
    let parts: Vec<Option<(Input, usize)>> = if threads == 1 {
        vec![read(0, &outline.items)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = outline
                .items
                .chunks(chunk)
                .enumerate()
                .map(|(c, part)| scope.spawn(move || read(c * chunk, part)))
                .collect();
            // A panic is a bug; the document path then reads the file (and names the error).
            handles.into_iter().map(|h| h.join().ok().flatten()).collect()
        })
    };
    let mut all = Input::default();
    let mut nodes = outline.nodes;
    for part in parts {
        let (mut one, n) = part?;
        nodes = nodes.saturating_add(n);
        all.objects.append(&mut one.objects);
        all.skipped.append(&mut one.skipped);
    }
    // The document path counts every node of the file against the budget.
    (nodes <= limits.max_nodes).then_some(all)
}

#[cfg(test)]
mod tests {
    use super::super::{Input, load_text_as};
    use super::*;

    /// Reads `text` both ways and asserts the same objects, skips and errors; returns whether the
    /// item-by-item path took it.
    fn same(name: &str, text: &str, limits: Limits) -> bool {
        let took = outline(text, Pos { byte: 0, line: 1, col: 1 }, limits).is_some_and(|o| {
            let source = Arc::new(SourceFile { path: name.to_string(), text: text.to_string(), json: true });
            items(&source, &o, 0, limits).is_some()
        });
        same_either_way(name, text, limits);
        took
    }

    /// Asserts both paths give the same objects, skips and errors.
    fn same_either_way(name: &str, text: &str, limits: Limits) {
        let (mut fast, mut slow) = (Input::default(), Input::default());
        load_text_as(name, text.to_string(), limits, &mut fast, true);
        load_text_as(name, text.to_string(), limits, &mut slow, false);
        assert_eq!(fast.errors, slow.errors, "{name}: errors");
        assert_eq!(fast.skipped, slow.skipped, "{name}: skipped");
        assert_eq!(fast.objects.len(), slow.objects.len(), "{name}: objects");
        for (f, s) in fast.objects.iter().zip(&slow.objects) {
            assert_eq!(f.body, s.body, "{name}: body");
            assert_eq!(format!("{:?}", f.origin), format!("{:?}", s.origin), "{name}: origin");
            assert_eq!(format!("{:?}", f.spans), format!("{:?}", s.spans), "{name}: spans");
            assert_eq!(f.doc_range, s.doc_range, "{name}: document range");
            let (fs, ss) = (f.source.as_ref(), s.source.as_ref());
            assert_eq!(fs.map(|x| (&x.path, x.text.len(), x.json)), ss.map(|x| (&x.path, x.text.len(), x.json)));
            assert_eq!(
                (&f.api_version, &f.kind, &f.name, &f.namespace),
                (&s.api_version, &s.kind, &s.name, &s.namespace)
            );
        }
    }

    /// Whether the values of a stream are all read here.
    fn stream_taken(text: &str) -> bool {
        let Some(ranges) = super::super::json_stream::split(text) else { return false };
        load_stream("s.json", text.to_string(), &ranges, Limits::default(), &mut Input::default()).is_ok()
    }

    #[test]
    fn streams_match_the_document_path() {
        let list = r#"{"apiVersion": "apps/v1", "items": [{"metadata": {"name": "a"}}, {"kind": "Deployment", "metadata": {"name": "b"}}], "kind": "DeploymentList"}"#;
        let pod = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"é\"}\n}";
        let taken = [
            format!("{list}\n{list}\n"),
            format!("  {pod}\n\n{list} {pod}[{pod}, {{\"kind\": \"Service\"}}]\n"),
            format!("{list}\n{pod}\n").replace('\n', "\r\n"),
            format!("[1, 2]\n{list}"),
        ];
        for (i, t) in taken.iter().enumerate() {
            same_either_way(&format!("stream{i}.json"), t, Limits::default());
            assert!(stream_taken(t), "stream {i} not read here");
        }
        let left =
            [format!("{list}\n{{\"a\": 1,,}}\n"), format!("{list} {{\"b\": "), format!("{{'a': '}}{{'}}\n{list}")];
        for (i, t) in left.iter().enumerate() {
            same_either_way(&format!("left-stream{i}.json"), t, Limits::default());
            assert!(!stream_taken(t), "stream {i} read here");
        }
        if let (Some(a), Some(b)) = (gen_list(["pod", "300", "json"]), gen_list(["deployment", "40", "line"])) {
            let t = format!("{a}{b}\n{a}");
            same_either_way("generated-stream.json", &t, Limits::default());
            assert!(stream_taken(&t));
        }
        let small = Limits { max_depth: 64, max_nodes: 40, max_bytes: 400 };
        same_either_way("limits-stream.json", &format!("{list}\n{list}\n{pod}"), small);
        same_either_way("bytes-stream.json", &format!("{list}\n{pod}"), Limits { max_bytes: 100, ..Limits::default() });
    }

    fn gen_list(args: [&str; 3]) -> Option<String> {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen_list.py");
        match std::process::Command::new("python3").arg(script).args(args).output() {
            Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
            _ => {
                eprintln!("skipped gen_list.py {args:?}: python3 did not run it");
                None
            }
        }
    }

    #[test]
    fn generated_lists_match_the_document_path() {
        for args in
            [["pod", "600", "json"], ["pod", "600", "line"], ["deployment", "300", "json"], ["pod", "3", "json"]]
        {
            if let Some(text) = gen_list(args) {
                assert!(same("list.json", &text, Limits::default()), "{args:?} not read item by item");
                let crlf = text.replace('\n', "\r\n");
                assert!(same("crlf.json", &crlf, Limits::default()), "{args:?} with CRLF");
            }
        }
    }

    #[test]
    fn list_shapes_match_the_document_path() {
        let taken = [
            // A typed list: items take kind and apiVersion from it.
            r#"{"apiVersion": "apps/v1", "items": [{"metadata": {"name": "a"}, "spec": {}}, {"kind": "Deployment", "metadata": {"name": "é日本"}}], "kind": "DeploymentList", "metadata": {}}"#,
            // A generic List: items without a kind are skipped, nested Lists expanded.
            "{\n  \"kind\": \"List\",\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    {\"metadata\": {\"name\": \"x\"}},\n    {\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}}]},\n    {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\"}, \"data\": {\"k\": \"\\u00e9\\n\\\"\"}}  ,\n    {}\n  ]\n}\n",
            r#"{"apiVersion": "v1", "kind": "List", "items": []}"#,
            r#"  {"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"a","labels":{"a":"1","a":"2"}}}]}  "#,
        ];
        for (i, t) in taken.iter().enumerate() {
            assert!(same(&format!("taken{i}.json"), t, Limits::default()), "shape {i} not read item by item");
        }
        let left = [
            r#"{"apiVersion": "v1", "kind": "List", "kind": "List", "items": []}"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": [1, {"kind": "Pod"}]}"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": null}"#,
            r#"{"apiVersion": "v1", "kind": "Pod", "items": []}"#,
            r#"{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "KustomizationList", "items": []}"#,
            r#"{"apiVersion": 1, "kind": "List", "items": []}"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"a": 1,}]}"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"a": "\ud800"}]}"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"a":	1}]}"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"a": 1}]} x"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"a": 1}"#,
        ];
        for (i, t) in left.iter().enumerate() {
            assert!(!same(&format!("left{i}.json"), t, Limits::default()), "shape {i} read item by item");
        }
        // A Helm template is skipped before either path reads it.
        same(
            "helm.json",
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"image": "{{ .Values.image }}"}]}"#,
            Limits::default(),
        );
    }

    #[test]
    fn limits_are_the_document_paths() {
        let text = r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": {"y": {"z": "1"}}}}}]}"#;
        for max_nodes in [5, 15, 20, 25, 30, 1000] {
            for max_depth in [2, 3, 4, 5, 6, 7, 64] {
                same("limits.json", text, Limits { max_depth, max_nodes, max_bytes: 1 << 20 });
            }
        }
        same("bytes.json", text, Limits { max_bytes: 50, ..Limits::default() });
    }
}
