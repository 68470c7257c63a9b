//! Where a Kustomize-built object's fields are set in the files people edit.
//!
//! `kustomize build` with `buildMetadata: [originAnnotations, transformerAnnotations]` says which
//! resource file (or generator) each object comes from and which kustomizations transformed it,
//! but not which patch set which field. So each field is traced and *proven*: a field maps to a
//! patch's line only when that patch targets the object and its value equals the rendered value,
//! to the resource file's line only when the value there equals the rendered value. A field that
//! exists but cannot be proven gets the file with no line, never a wrong line.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::model::{EditAt, EditKind, SourceFile, SourcePos};
use crate::yaml::{self, Limits, Node, NodeKind, Style, escape_segment};

/// The annotation naming an object's origin.
pub const ORIGIN: &str = "config.kubernetes.io/origin";
/// The annotation listing the transformers that changed an object.
pub const TRANSFORMATIONS: &str = "alpha.config.kubernetes.io/transformations";

/// How sure a field's source is: a later or stronger entry replaces a weaker one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// A block of a patch (the patch mentions the block, the base defines it).
    PatchBlock,
    /// The resource file.
    Resource,
    /// A value set by a patch or a transformer setting (namespace, namePrefix, labels).
    Set,
}

/// Paths: how a path the tool printed (relative to the wrapper) is shown to the user (relative to
/// the target as the user gave it).
pub struct Paths {
    /// The generated wrapper kustomization's directory (canonical).
    pub wrapper: PathBuf,
    /// The target directory (canonical).
    pub target: PathBuf,
    /// The target as given.
    pub given: PathBuf,
}

impl Paths {
    /// The absolute path of a path the tool printed.
    #[must_use]
    pub fn absolute(&self, printed: &str) -> PathBuf {
        lexical(&self.wrapper.join(printed))
    }

    /// An absolute path as the user sees it: through the target as given.
    #[must_use]
    pub fn display(&self, abs: &Path) -> String {
        let rel = relative(&self.target, abs);
        let shown = lexical(&self.given.join(rel));
        let s = shown.display().to_string();
        if s.is_empty() { ".".to_string() } else { s }
    }
}

/// A file read while tracing: its text (shown path) and documents (stream index, root).
pub struct ReadFile {
    /// The text, under the path as shown.
    pub source: Arc<SourceFile>,
    /// Each document with a root: its index in the stream and the root.
    pub docs: Vec<(usize, Node)>,
}

impl ReadFile {
    /// Reads and parses a file; `None` when it cannot be read or parsed.
    #[must_use]
    pub fn read(abs: &Path, shown: String) -> Option<ReadFile> {
        let text = std::fs::read_to_string(abs).ok()?;
        let docs = yaml::parse_stream(&text, Limits::default()).ok()?;
        let docs = docs.into_iter().filter_map(|d| Some((d.index, d.root?))).collect();
        Some(ReadFile { source: Arc::new(SourceFile { path: shown, text, json: false }), docs })
    }
}

/// Files read while tracing, parsed once.
#[derive(Default)]
pub struct Files {
    parsed: BTreeMap<PathBuf, Option<ReadFile>>,
}

impl Files {
    fn read(&mut self, abs: &Path, paths: &Paths) -> Option<&ReadFile> {
        self.parsed.entry(abs.to_path_buf()).or_insert_with(|| ReadFile::read(abs, paths.display(abs))).as_ref()
    }
}

/// A trace in progress: field pointer → (rank, position), and the nodes that can change it.
struct Trace<'a> {
    body: &'a Value,
    fields: BTreeMap<String, (Rank, SourcePos)>,
    edits: BTreeMap<String, Vec<EditAt>>,
}

impl Trace<'_> {
    fn put(&mut self, pointer: &str, rank: Rank, pos: SourcePos, edit: Option<EditAt>) {
        match self.fields.get(pointer) {
            Some((r, _)) if *r > rank => {}
            _ => {
                self.fields.insert(pointer.to_string(), (rank, pos));
            }
        }
        if let Some(e) = edit {
            // One per kind: a later patch overrides an earlier one.
            let list = self.edits.entry(pointer.to_string()).or_default();
            list.retain(|x| x.kind != e.kind);
            list.push(e);
            list.sort_by_key(|x| x.kind);
        }
    }
}

fn pos(file: &str, line: Option<u32>, column: Option<u32>) -> SourcePos {
    SourcePos { file: file.to_string(), line, column }
}

/// Where a node starts, shifted (an inline patch inside a kustomization).
#[derive(Clone)]
struct At {
    file: String,
    /// Lines and columns to add to the node's; `None` when positions inside the text cannot be
    /// mapped to the file.
    offset: Option<(u32, u32)>,
    /// The file and document the nodes are in, when they can be edited there (not an inline
    /// patch, which is a string inside a kustomization), and what kind of file it is.
    doc: Option<(Arc<SourceFile>, usize, EditKind)>,
}

impl At {
    fn file(file: String) -> At {
        At { file, offset: Some((0, 0)), doc: None }
    }

    fn doc(source: &Arc<SourceFile>, document: usize, kind: EditKind) -> At {
        At { file: source.path.clone(), offset: Some((0, 0)), doc: Some((Arc::clone(source), document, kind)) }
    }

    fn edit(&self, pointer: &str) -> Option<EditAt> {
        let (source, document, kind) = self.doc.as_ref()?;
        Some(EditAt { source: Arc::clone(source), document: *document, pointer: pointer.to_string(), kind: *kind })
    }

    fn of(&self, n: &Node) -> SourcePos {
        match self.offset {
            Some((l, c)) => pos(&self.file, Some(n.span.start.line + l), Some(n.span.start.col + c)),
            None => pos(&self.file, None, None),
        }
    }
}

/// The result for one object: where the object comes from and where its fields are set.
pub struct Traced {
    /// The object's resource file (or generating kustomization) and line.
    pub object: Option<SourcePos>,
    /// Field pointer → source.
    pub fields: BTreeMap<String, SourcePos>,
    /// Field pointer → the nodes that can change it.
    pub edits: BTreeMap<String, Vec<EditAt>>,
}

/// Traces one rendered object (annotations already removed from `body`), given the values of its
/// origin and transformations annotations.
pub fn trace(
    body: &Value,
    origin: Option<&str>,
    transformations: Option<&str>,
    paths: &Paths,
    files: &mut Files,
) -> Traced {
    let mut t = Trace { body, fields: BTreeMap::new(), edits: BTreeMap::new() };
    let mut object = None;
    let origin = origin.and_then(parse_one);
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = body.ptr_str("/metadata/name").unwrap_or_default();
    let mut base_name: Option<String> = None;
    if let Some(o) = &origin {
        if let Some(p) = o.get("path").and_then(Node::as_str)
            && o.get("repo").is_none()
        {
            let abs = paths.absolute(p);
            let shown = paths.display(&abs);
            if let Some(read) = files.read(&abs, paths)
                && let Some((index, doc)) = pick(&read.docs, kind, name)
            {
                base_name = doc.get("metadata").and_then(|m| m.get("name")).and_then(Node::as_str).map(str::to_string);
                let at = At::doc(&read.source, *index, EditKind::Resource);
                object = Some(at.of(doc));
                walk(&mut t, doc, body, (String::new(), String::new()), &at, Rank::Resource, Rank::Resource);
                // The name is written here, whatever prefix or suffix the build adds (not edited:
                // renaming is not a fix).
                if let Some((k, _)) = doc.get("metadata").and_then(|m| m.entry("name")) {
                    t.put("/metadata/name", Rank::Set, at.of(k), None);
                }
            } else {
                object = Some(pos(&shown, None, None));
            }
        } else if let Some(k) = o.get("configuredIn").and_then(Node::as_str) {
            let abs = paths.absolute(k);
            let shown = paths.display(&abs);
            let generator =
                o.get("configuredBy").and_then(|b| b.get("kind")).and_then(Node::as_str).unwrap_or_default();
            object = Some(pos(&shown, None, None));
            if let Some(root) = files.read(&abs, paths).and_then(|r| r.docs.first()).map(|(_, n)| n.clone()) {
                let at = At::file(shown);
                if let Some(o) = generated(&mut t, &root, generator, name, &at) {
                    object = Some(o);
                }
            }
        }
    }
    // Transformers, in the order they ran: patches and settings of each kustomization once.
    let mut seen: Vec<PathBuf> = Vec::new();
    for step in transformations.and_then(parse_one).map(seq).unwrap_or_default() {
        let Some(k) = step.get("configuredIn").and_then(Node::as_str) else { continue };
        let abs = paths.absolute(k);
        if seen.contains(&abs) {
            continue;
        }
        seen.push(abs.clone());
        let Some((text, root)) =
            files.read(&abs, paths).and_then(|r| Some((r.source.text.clone(), r.docs.first()?.1.clone())))
        else {
            continue;
        };
        let at = At::file(paths.display(&abs));
        let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        settings(&mut t, &root, &at);
        patches(&mut t, (&text, &root), &dir, &at, paths, kind, name, base_name.as_deref());
    }
    Traced { object, fields: t.fields.into_iter().map(|(k, (_, p))| (k, p)).collect(), edits: t.edits }
}

trait StrPtr {
    fn ptr_str(&self, p: &str) -> Option<&str>;
}

impl StrPtr for Value {
    fn ptr_str(&self, p: &str) -> Option<&str> {
        self.pointer(p).and_then(Value::as_str)
    }
}

fn parse_one(text: &str) -> Option<Node> {
    yaml::parse_stream(text, Limits::default()).ok()?.into_iter().next()?.root
}

fn seq(n: Node) -> Vec<Node> {
    match n.kind {
        NodeKind::Seq(items) => items,
        _ => Vec::new(),
    }
}

fn items<'n>(n: &'n Node, key: &str) -> &'n [Node] {
    match n.get(key).map(|v| &v.kind) {
        Some(NodeKind::Seq(items)) => items,
        _ => &[],
    }
}

/// The document of a resource file the object comes from: same kind, and the rendered name is the
/// document's name with a prefix or suffix added (the longest such name).
fn pick<'d>(docs: &'d [(usize, Node)], kind: &str, rendered: &str) -> Option<(&'d usize, &'d Node)> {
    docs.iter()
        .filter(|(_, d)| d.get("kind").and_then(Node::as_str) == Some(kind))
        .filter_map(|(i, d)| {
            let n = d.get("metadata")?.get("name")?.as_str()?;
            rendered.contains(n).then_some((n.len(), (i, d)))
        })
        .max_by_key(|(l, _)| *l)
        .map(|(_, d)| d)
}

/// The key that identifies an item of a merged list (containers by `name`, mounts by `mountPath`).
const MERGE_KEYS: [&str; 4] = ["name", "mountPath", "containerPort", "devicePath"];

/// Walks a source node alongside the rendered value, recording where each field is. Scalars are
/// recorded only when equal to the rendered value (proof); blocks get `block` rank, values `leaf`.
/// `ptr` is the rendered field's pointer, `sptr` the source node's in its document (list items
/// merged by key sit at other indices).
fn walk(
    t: &mut Trace<'_>,
    src: &Node,
    rendered: &Value,
    (ptr, sptr): (String, String),
    at: &At,
    block: Rank,
    leaf: Rank,
) {
    match (&src.kind, rendered) {
        (NodeKind::Map(entries), Value::Object(map)) => {
            for (k, v) in entries {
                let Some(key) = k.as_str() else { continue };
                if key.starts_with("$patch") || key.starts_with("$setElementOrder") || key.starts_with("$retainKeys") {
                    continue;
                }
                let Some(r) = map.get(key) else { continue };
                let p = format!("{ptr}/{}", escape_segment(key));
                let sp = format!("{sptr}/{}", escape_segment(key));
                let rank = if matches!(v.kind, NodeKind::Scalar { .. }) { leaf } else { block };
                if !matches!(v.kind, NodeKind::Scalar { .. }) || v.to_json() == *r {
                    t.put(&p, rank, at.of(k), at.edit(&sp));
                }
                walk(t, v, r, (p, sp), at, block, leaf);
            }
        }
        (NodeKind::Seq(items), Value::Array(arr)) => {
            let keyed = items.iter().all(|i| MERGE_KEYS.iter().any(|k| i.get(k).is_some()));
            for (i, item) in items.iter().enumerate() {
                let j = if keyed && !items.is_empty() {
                    let key = MERGE_KEYS.iter().find(|k| item.get(k).is_some());
                    key.and_then(|k| {
                        let want = item.get(k)?.to_json();
                        arr.iter().position(|r| r.get(*k) == Some(&want))
                    })
                } else if items.len() == arr.len() {
                    Some(i)
                } else {
                    None
                };
                let Some(j) = j else { continue };
                let p = format!("{ptr}/{j}");
                let sp = format!("{sptr}/{i}");
                let scalar = matches!(item.kind, NodeKind::Scalar { .. });
                if !scalar || item.to_json() == arr[j] {
                    t.put(&p, if scalar { leaf } else { block }, at.of(item), at.edit(&sp));
                }
                walk(t, item, &arr[j], (p, sp), at, block, leaf);
            }
        }
        _ => {}
    }
}

/// A ConfigMap or Secret made by a generator: the generator's entry, and each literal's line.
fn generated(t: &mut Trace<'_>, root: &Node, generator: &str, rendered: &str, at: &At) -> Option<SourcePos> {
    let key = match generator {
        "ConfigMapGenerator" => "configMapGenerator",
        "SecretGenerator" => "secretGenerator",
        _ => return None,
    };
    let (_, entry) = items(root, key)
        .iter()
        .filter_map(|e| {
            let n = e.get("name")?.as_str()?;
            rendered.contains(n).then_some((n.len(), e))
        })
        .max_by_key(|(l, _)| *l)?;
    for lit in items(entry, "literals") {
        let Some((k, _)) = lit.as_str().and_then(|s| s.split_once('=')) else { continue };
        let p = format!("/data/{}", escape_segment(k.trim()));
        if t.body.pointer(&p).is_some() {
            t.put(&p, Rank::Set, at.of(lit), None);
        }
    }
    Some(at.of(entry))
}

/// `namespace` and `labels`/`commonLabels` of a kustomization, when the rendered value is the one
/// it sets. (A name keeps pointing at the resource's `name:`, where it is written.)
fn settings(t: &mut Trace<'_>, root: &Node, at: &At) {
    if let Some((k, v)) = root.entry("namespace")
        && v.as_str().is_some()
        && t.body.ptr_str("/metadata/namespace") == v.as_str()
    {
        t.put("/metadata/namespace", Rank::Set, at.of(k), None);
    }
    let mut labels: Vec<&Node> = Vec::new();
    if let Some(c) = root.get("commonLabels") {
        labels.push(c);
    }
    labels.extend(items(root, "labels").iter().filter_map(|l| l.get("pairs")));
    for block in labels {
        let NodeKind::Map(entries) = &block.kind else { continue };
        for (k, v) in entries {
            let Some(key) = k.as_str() else { continue };
            let p = format!("/metadata/labels/{}", escape_segment(key));
            if t.body.pointer(&p).is_some_and(|r| *r == v.to_json()) {
                t.put(&p, Rank::Set, at.of(k), None);
            }
        }
    }
}

/// One patch of a kustomization: its text, where that text is, and its target selector.
struct PatchSrc {
    text: String,
    at: At,
    target: Option<Node>,
    /// The patch file, when the patch is one (its documents can be edited).
    file: Option<Arc<SourceFile>>,
}

#[allow(clippy::too_many_arguments)]
fn patches(
    t: &mut Trace<'_>,
    (text, root): (&str, &Node),
    dir: &Path,
    at: &At,
    paths: &Paths,
    kind: &str,
    name: &str,
    base_name: Option<&str>,
) {
    let mut list: Vec<PatchSrc> = Vec::new();
    let from_file = |rel: &str, target: Option<Node>, list: &mut Vec<PatchSrc>| {
        let abs = lexical(&dir.join(rel));
        if let Ok(text) = std::fs::read_to_string(&abs) {
            let shown = paths.display(&abs);
            let file = Arc::new(SourceFile { path: shown.clone(), text: text.clone(), json: false });
            list.push(PatchSrc { text, at: At::file(shown), target, file: Some(file) });
        }
    };
    let inline = |n: &Node| -> Option<(String, At)> {
        let NodeKind::Scalar { text: patch, style, .. } = &n.kind else { return None };
        // A literal block's content starts on the line after its indicator, indented as that line.
        // (The span starts at the indicator or at the content: the indicator line holds the `|`.)
        let offset = matches!(style, Style::Literal).then(|| {
            let line = |i: u32| text.lines().nth(i.saturating_sub(1) as usize).unwrap_or_default();
            let start = n.span.start.line;
            let indicator = if line(start).contains('|') { start } else { start.saturating_sub(1) };
            let first = line(indicator + 1);
            let indent = first.len() - first.trim_start_matches(' ').len();
            (indicator, u32::try_from(indent).unwrap_or(0))
        });
        Some((patch.clone(), At { file: at.file.clone(), offset, doc: None }))
    };
    for key in ["patchesStrategicMerge"] {
        for p in items(root, key) {
            match p.as_str() {
                Some(s) if !s.contains('\n') && !s.trim_start().starts_with('{') => {
                    from_file(s.trim(), None, &mut list)
                }
                Some(_) => {
                    if let Some((text, at)) = inline(p) {
                        list.push(PatchSrc { text, at, target: None, file: None });
                    }
                }
                None => {}
            }
        }
    }
    for key in ["patchesJson6902", "patches"] {
        for p in items(root, key) {
            let target = p.get("target").cloned();
            if let Some(path) = p.get("path").and_then(Node::as_str) {
                from_file(path, target, &mut list);
            } else if let Some(n) = p.get("patch")
                && let Some((text, at)) = inline(n)
            {
                list.push(PatchSrc { text, at, target, file: None });
            }
        }
    }
    for p in list {
        let Ok(docs) = yaml::parse_stream(&p.text, Limits::default()) else { continue };
        let group_version = t.body.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let namespace = t.body.ptr_str("/metadata/namespace");
        if let Some(target) = &p.target
            && !selects(target, group_version, kind, name, base_name, namespace)
        {
            continue;
        }
        for (index, doc) in docs.into_iter().filter_map(|d| Some((d.index, d.root?))) {
            let at = match &p.file {
                Some(f) => At::doc(f, index, EditKind::Patch),
                None => p.at.clone(),
            };
            match &doc.kind {
                NodeKind::Seq(ops) => {
                    if p.target.is_none() {
                        continue;
                    }
                    for (i, op) in ops.iter().enumerate() {
                        json6902(t, op, i, &at);
                    }
                }
                NodeKind::Map(_) => {
                    // A strategic-merge patch names its object (a target may widen it).
                    if p.target.is_none() {
                        let pk = doc.get("kind").and_then(Node::as_str);
                        let pn = doc.get("metadata").and_then(|m| m.get("name")).and_then(Node::as_str);
                        if pk != Some(kind) || !(pn == Some(name) || pn.is_some() && pn == base_name) {
                            continue;
                        }
                    }
                    let body = t.body;
                    let NodeKind::Map(entries) = &doc.kind else { continue };
                    for (k, v) in entries {
                        let Some(key) = k.as_str() else { continue };
                        if matches!(key, "apiVersion" | "kind") {
                            continue;
                        }
                        let Some(r) = body.get(key) else { continue };
                        let ptr = format!("/{}", escape_segment(key));
                        if key == "metadata" {
                            // Its name and namespace select the object; they set nothing.
                            let NodeKind::Map(meta) = &v.kind else { continue };
                            for (mk, mv) in meta {
                                let Some(mkey) = mk.as_str() else { continue };
                                if matches!(mkey, "name" | "namespace") {
                                    continue;
                                }
                                let Some(mr) = r.get(mkey) else { continue };
                                let p2 = format!("{ptr}/{}", escape_segment(mkey));
                                walk(t, mv, mr, (p2.clone(), p2), &at, Rank::PatchBlock, Rank::Set);
                            }
                            continue;
                        }
                        walk(t, v, r, (ptr.clone(), ptr), &at, Rank::PatchBlock, Rank::Set);
                    }
                }
                NodeKind::Scalar { .. } => {}
            }
        }
    }
}

/// One JSON 6902 operation: `add`/`replace` set the value at its path (and everything under it).
fn json6902(t: &mut Trace<'_>, op: &Node, index: usize, at: &At) {
    let Some(kind) = op.get("op").and_then(Node::as_str) else { return };
    if !matches!(kind, "add" | "replace") {
        return;
    }
    let (Some(path), Some((vk, value))) = (op.get("path").and_then(Node::as_str), op.entry("value")) else { return };
    let mut ptr = path.to_string();
    if let Some(parent) = path.strip_suffix("/-") {
        // Appended: the last item.
        let Some(len) = t.body.pointer(parent).and_then(Value::as_array).map(Vec::len) else { return };
        if len == 0 {
            return;
        }
        ptr = format!("{parent}/{}", len - 1);
    }
    let Some(r) = t.body.pointer(&ptr) else { return };
    if value.to_json() != *r && matches!(value.kind, NodeKind::Scalar { .. }) {
        return;
    }
    let sp = format!("/{index}/value");
    if value.to_json() == *r {
        t.put(&ptr, Rank::Set, at.of(vk), at.edit(&sp));
    }
    let r = r.clone();
    walk(t, value, &r, (ptr, sp), at, Rank::Set, Rank::Set);
}

/// Whether a patch `target` selects the object. Names may be regular expressions; one with
/// anything but plain characters is not evaluated here, so it selects nothing (no line rather
/// than a wrong one). Label and annotation selectors are not evaluated either.
fn selects(
    target: &Node,
    api_version: &str,
    kind: &str,
    name: &str,
    base_name: Option<&str>,
    namespace: Option<&str>,
) -> bool {
    let get = |k: &str| target.get(k).and_then(Node::as_str);
    if target.get("labelSelector").is_some() || target.get("annotationSelector").is_some() {
        return false;
    }
    let plain = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let ok = |want: Option<&str>, have: &str| want.is_none_or(|w| w == have);
    if !ok(get("kind"), kind) || !ok(get("group"), group) || !ok(get("version"), version) {
        return false;
    }
    if let Some(ns) = get("namespace")
        && Some(ns) != namespace
    {
        return false;
    }
    match get("name") {
        None => true,
        Some(n) if plain(n) => n == name || Some(n) == base_name,
        Some(_) => false,
    }
}

/// `a/./b/../c` → `a/c`, without touching the filesystem.
#[must_use]
pub fn lexical(p: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            c => out.push(c),
        }
    }
    out.iter().collect()
}

/// The relative path from directory `from` to `to` (both absolute and lexically normal).
#[must_use]
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let a: Vec<Component<'_>> = from.components().collect();
    let b: Vec<Component<'_>> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/a/b/c"), Path::new("/a/d/e.yaml")), PathBuf::from("../../d/e.yaml"));
        assert_eq!(relative(Path::new("/a"), Path::new("/a/x")), PathBuf::from("x"));
        let p = Paths {
            wrapper: PathBuf::from("/tmp/w"),
            target: PathBuf::from("/r/k8s/overlays/prod"),
            given: PathBuf::from("k8s/overlays/prod"),
        };
        let abs = p.absolute("../../r/k8s/base/deployment.yaml");
        assert_eq!(abs, PathBuf::from("/r/k8s/base/deployment.yaml"));
        assert_eq!(p.display(&abs), "k8s/base/deployment.yaml");
    }

    #[test]
    fn targets_with_regular_expressions_or_label_selectors_select_nothing() {
        let t = |s: &str| parse_one(s).expect("yaml");
        assert!(selects(&t("{kind: Deployment, name: web}"), "apps/v1", "Deployment", "prod-web", Some("web"), None));
        assert!(!selects(&t("{kind: Deployment, name: 'w.*'}"), "apps/v1", "Deployment", "web", None, None));
        assert!(!selects(&t("{labelSelector: 'a=b'}"), "apps/v1", "Deployment", "web", None, None));
        assert!(!selects(&t("{group: batch}"), "apps/v1", "Deployment", "web", None, None));
        assert!(selects(&t("{group: apps, version: v1}"), "apps/v1", "Deployment", "web", None, None));
    }
}
