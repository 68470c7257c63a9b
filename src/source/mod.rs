//! Reading manifests from files, directories and stdin into objects.
//!
//! Every problem is recorded (errors for what could not be read, skipped entries for documents
//! that are not Kubernetes objects) and the rest of the input is still read.
//!
//! Besides YAML streams, the shapes real dumps come in are read: API lists whose items carry no
//! `kind` (`DeploymentList` from the API server or a support bundle), a top-level sequence of
//! objects, and JSON values concatenated in one stream. Files that are not objects (component
//! configuration, Kustomize patches) are listed as skipped, with what to do instead.

pub mod filter;
pub mod helm;
mod json_list;
mod json_stream;
pub mod kustomize;
pub mod provenance;
pub mod render;
mod walk;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use filter::Filter;

use crate::model::{Object, Origin, SourceFile};
use crate::yaml::{self, Limits, Node, NodeKind, SpanIndex};

/// An input that could not be read: a file or document, or (live) a cluster resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InputError {
    /// What could not be read: a file path (`-` for stdin), or `cluster:CONTEXT/RESOURCE` for a
    /// cluster resource (see [`cluster_source`]).
    pub source: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// What went wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{}:{}: {}", self.source, l, c, self.message),
            (Some(l), None) => write!(f, "{}:{}: {}", self.source, l, self.message),
            _ => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// Something that was read but not audited: a document that is not a Kubernetes object, or a
/// duplicate object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Skipped {
    /// Where: a file path, or `cluster:CONTEXT/RESOURCE` (see [`cluster_source`]).
    pub source: String,
    /// Document index in the file, from 0 (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// 1-based line where the document (or item) starts (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Why it was skipped.
    pub reason: String,
}

/// The `source` of an error or skip about a cluster resource: `cluster:CONTEXT/RESOURCE`
/// (`cluster:prod/secrets` for Secrets the credentials may not list).
#[must_use]
pub fn cluster_source(context: &str, resource: &str) -> String {
    format!("{CLUSTER_PREFIX}{context}/{resource}")
}

/// How a non-file `source` starts.
pub const CLUSTER_PREFIX: &str = "cluster:";

/// The file an error or skip is about, `None` for cluster sources and stdin.
#[must_use]
pub fn source_file(source: &str) -> Option<&str> {
    (!source.starts_with(CLUSTER_PREFIX) && source != "-").then_some(source)
}

/// Everything read from the inputs.
#[derive(Debug, Default, Clone)]
pub struct Input {
    /// The objects, in input order.
    pub objects: Vec<Object>,
    /// Files and documents that could not be read.
    pub errors: Vec<InputError>,
    /// Documents that are not Kubernetes objects.
    pub skipped: Vec<Skipped>,
    /// Number of files read.
    pub files: usize,
    /// Resource types a cluster did not let us list (live runs and snapshot replays).
    pub gaps: Vec<Gap>,
    /// What live clusters' metrics APIs reported (or why they did not).
    pub usage: Vec<crate::cost::ClusterUsage>,
    /// Classified previous logs of crashing containers (`--logs`; live runs and snapshot replays).
    pub logs: Vec<crate::rules::diagnosis::logs::PreviousLog>,
    /// Container usage over a window from Prometheus (`--prometheus`; live runs and snapshot replays).
    pub history: Vec<crate::cost::prometheus::UsageHistory>,
}

impl Input {
    /// Renames every file this input names (objects' files, render targets and provenance, errors,
    /// skipped entries) with `file`, and rewrites paths inside messages with `text`: an input read
    /// from a copy of a tree is then named as the tree itself would be.
    pub fn rename_files(&mut self, file: &dyn Fn(&str) -> String, text: &dyn Fn(&str) -> String) {
        let mut sources: std::collections::BTreeMap<*const SourceFile, Arc<SourceFile>> =
            std::collections::BTreeMap::new();
        for o in &mut self.objects {
            if let Origin::File { path, .. } = &mut o.origin {
                *path = file(path);
            }
            if let Some(src) = &mut o.source {
                let key = Arc::as_ptr(src);
                // Objects of one file share its text: rename it once.
                let renamed = sources.entry(key).or_insert_with(|| {
                    Arc::new(SourceFile { path: file(&src.path), text: src.text.clone(), json: src.json })
                });
                *src = Arc::clone(renamed);
            }
            if let Some(p) = &mut o.provenance {
                let p = Arc::make_mut(p);
                p.rendered.target = file(&p.rendered.target);
                if let Some(pos) = &mut p.object {
                    pos.file = file(&pos.file);
                }
                for pos in p.fields.values_mut() {
                    pos.file = file(&pos.file);
                }
                // The files a fix of the object edits (patches, values files, resources).
                for e in p.edits.values_mut().flatten() {
                    let renamed = sources.entry(Arc::as_ptr(&e.source)).or_insert_with(|| {
                        Arc::new(SourceFile {
                            path: file(&e.source.path),
                            text: e.source.text.clone(),
                            json: e.source.json,
                        })
                    });
                    e.source = Arc::clone(renamed);
                }
            }
        }
        for e in &mut self.errors {
            if source_file(&e.source).is_some() {
                e.source = file(&e.source);
            }
            e.message = text(&e.message);
        }
        for s in &mut self.skipped {
            if source_file(&s.source).is_some() {
                s.source = file(&s.source);
            }
            s.reason = text(&s.reason);
        }
    }
}

/// A resource type of a cluster that could not be read (forbidden, not found, timed out): the
/// rules that needed it are reported "not evaluated" for that cluster, never as passed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Gap {
    /// The context (cluster) it is about.
    pub context: String,
    /// API group (`""` for core).
    pub group: String,
    /// Kind (`Secret`).
    pub kind: String,
    /// Plural resource name (`secrets`).
    pub resource: String,
    /// `forbidden`, `not-found`, `timeout`, `error`, `deadline`.
    pub reason: String,
    /// What the server or client said (`could not list secrets: forbidden: ...`).
    pub message: String,
}

/// Whether a path looks like a manifest file.
#[must_use]
pub fn is_manifest_path(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

/// Lists manifest files under the given paths: directories recursively (hidden entries skipped,
/// each directory and file once however many links lead to it), files as given. Sorted, so output
/// does not depend on directory order. Kustomize patch files are left out.
pub fn collect_files(paths: &[PathBuf], filter: &Filter, errors: &mut Vec<InputError>) -> Vec<PathBuf> {
    let c = walk::collect(paths, filter);
    errors.extend(c.errors);
    let patches = kustomize::Patches::read(&c.kustomizations);
    c.files.into_iter().filter(|f| patches.skipped(f).is_none()).collect()
}

/// Reads the given paths (`-` is stdin) into objects, honouring `.gitignore` in directory walks;
/// files as they are (Kustomize patch files skipped). See [`load_rendered`] for building
/// kustomizations and charts.
pub fn load_paths(paths: &[PathBuf], stdin: &mut dyn Read, limits: Limits) -> Input {
    load_paths_filtered(paths, stdin, limits, &Filter::default())
}

/// Reads the given paths (`-` is stdin) into objects, leaving out of directory walks what `filter`
/// excludes.
pub fn load_paths_filtered(paths: &[PathBuf], stdin: &mut dyn Read, limits: Limits, filter: &Filter) -> Input {
    let mut input = Input::default();
    let walked = walk::collect(paths, filter);
    input.errors.extend(walked.errors);
    input.skipped.extend(walked.skipped);
    let patches = kustomize::Patches::read(&walked.kustomizations);
    let files: Vec<PathBuf> = walked
        .files
        .into_iter()
        .filter(|f| match patches.skipped(f) {
            Some(s) => {
                input.skipped.push(s);
                false
            }
            None => true,
        })
        .collect();
    read_files(files, stdin, limits, &mut input);
    input
}

/// Reads the given paths like [`load_paths`], but a directory holding a kustomization is built
/// (only roots: a base an overlay includes is built through the overlay), and the files a
/// kustomization reads are audited through the built objects, not on their own.
pub fn load_rendered(
    paths: &[PathBuf],
    stdin: &mut dyn Read,
    limits: Limits,
    filter: &Filter,
    opts: &render::RenderOptions,
) -> Input {
    let plan = plan_rendered(paths, filter, opts);
    let mut input = Input { errors: plan.errors, skipped: plan.skipped, ..Input::default() };
    read_files(plan.files, stdin, limits, &mut input);
    build(&plan.targets, opts, limits, &mut input);
    input
}

/// What [`load_rendered`] does with the given paths: the files read as they are, the targets
/// built, and what is skipped.
#[derive(Debug, Default)]
pub struct RenderPlan {
    /// Files audited as they are.
    pub files: Vec<PathBuf>,
    /// Charts, then kustomizations, to build.
    pub targets: Vec<BuildTarget>,
    /// Files and targets left out, and why.
    pub skipped: Vec<Skipped>,
    /// What could not be read.
    pub errors: Vec<InputError>,
}

/// A directory to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildTarget {
    /// A Helm chart, with its values.
    Chart(render::Target),
    /// A kustomization directory (as given or found).
    Kustomize(PathBuf),
}

impl BuildTarget {
    /// The directory built.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            BuildTarget::Chart(t) => &t.path,
            BuildTarget::Kustomize(p) => p,
        }
    }
}

/// Builds targets into `input` (a missing tool is an error on the target).
pub fn build(targets: &[BuildTarget], opts: &render::RenderOptions, limits: Limits, input: &mut Input) {
    let helm = render::which("helm");
    let tool = render::kustomize_tool();
    for t in targets {
        match t {
            BuildTarget::Chart(t) => match &helm {
                Some(h) => render::helm(&t.path, h, t, opts, limits, input),
                None => input.errors.push(render::missing_helm(&t.path)),
            },
            BuildTarget::Kustomize(d) => match &tool {
                Some(t) => render::kustomize(d, t, opts, limits, input),
                None => input.errors.push(render::missing_kustomize(d)),
            },
        }
    }
}

/// Plans [`load_rendered`]: discovery, roots, and the files targets read.
#[must_use]
pub fn plan_rendered(paths: &[PathBuf], filter: &Filter, opts: &render::RenderOptions) -> RenderPlan {
    use std::collections::BTreeSet;
    let mut plan = RenderPlan::default();
    let walked = walk::collect(paths, filter);
    plan.errors.extend(walked.errors);
    plan.skipped.extend(walked.skipped);
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| provenance::lexical(p));
    let mut dirs: Vec<PathBuf> = if opts.discover { walked.kustomize_dirs.clone() } else { Vec::new() };
    // Listed targets inside the paths analysed (`analyze one/file.yaml` builds nothing else).
    let given: Vec<PathBuf> = paths.iter().filter(|p| p.as_os_str() != "-").map(|p| canon(p)).collect();
    let listed: Vec<&render::Target> =
        opts.targets.iter().filter(|t| given.iter().any(|g| canon(&t.path).starts_with(g))).collect();
    dirs.extend(listed.iter().filter(|t| kustomization_in(&t.path).is_some()).map(|t| t.path.clone()));
    let mut by_canon: std::collections::BTreeMap<PathBuf, PathBuf> = std::collections::BTreeMap::new();
    for d in dirs {
        by_canon.entry(canon(&d)).or_insert(d);
    }
    // What each kustomization reads: those files are not audited alone, those directories are not roots.
    let mut read_by: std::collections::BTreeMap<PathBuf, &PathBuf> = std::collections::BTreeMap::new();
    let (mut read_dirs, mut components) = (BTreeSet::new(), BTreeSet::new());
    for (c, d) in &by_canon {
        let Some(k) = kustomization_in(d) else { continue };
        read_by.entry(canon(&k)).or_insert(d);
        let Ok(text) = std::fs::read_to_string(&k) else { continue };
        if kustomize::is_component(&text) {
            components.insert(c.clone());
        }
        for r in kustomize::references(&text) {
            let p = canon(&d.join(r));
            if p.is_dir() {
                read_dirs.insert(p);
            } else {
                read_by.entry(p).or_insert(d);
            }
        }
    }
    // Charts: found ones with default values, listed ones with theirs.
    let mut chart_targets: std::collections::BTreeMap<PathBuf, render::Target> = std::collections::BTreeMap::new();
    if opts.discover {
        for c in &walked.charts {
            chart_targets
                .entry(canon(c))
                .or_insert_with(|| render::Target { path: c.clone(), ..render::Target::default() });
        }
    }
    for t in listed.iter().filter(|t| t.path.join("Chart.yaml").is_file()) {
        chart_targets.insert(canon(&t.path), (*t).clone());
    }
    let charts: Vec<PathBuf> = chart_targets.keys().cloned().collect();
    let patches = kustomize::Patches::read(&walked.kustomizations);
    for f in walked.files {
        let c = canon(&f);
        if charts.iter().any(|ch| c.starts_with(ch)) {
            plan.skipped.push(Skipped {
                source: f.display().to_string(),
                document: None,
                line: None,
                reason: format!(
                    "part of a Helm chart; audit the rendered chart: `helm template {} | clustergpt analyze -`",
                    f.parent().map_or_else(|| ".".to_string(), |p| p.display().to_string())
                ),
            });
            continue;
        }
        if let Some(by) = read_by.get(&c) {
            let dir = by.display();
            plan.skipped.push(Skipped {
                source: f.display().to_string(),
                document: None,
                line: None,
                reason: format!("read by the kustomization in {dir}; audited through the built output"),
            });
            continue;
        }
        if let Some(s) = patches.skipped(&f) {
            plan.skipped.push(s);
            continue;
        }
        plan.files.push(f);
    }
    plan.targets.extend(chart_targets.into_values().map(BuildTarget::Chart));
    for (c, d) in by_canon {
        if read_dirs.contains(&c) {
            continue;
        }
        if components.contains(&c) {
            plan.skipped.push(Skipped {
                source: d.display().to_string(),
                document: None,
                line: None,
                reason: "a Kustomize component no kustomization here includes; it is built only as part of one"
                    .to_string(),
            });
            continue;
        }
        plan.targets.push(BuildTarget::Kustomize(d));
    }
    plan
}

/// The kustomization file in a directory, if any.
fn kustomization_in(dir: &Path) -> Option<PathBuf> {
    kustomize::FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

fn read_files(files: Vec<PathBuf>, stdin: &mut dyn Read, limits: Limits, input: &mut Input) {
    let mut read: Vec<(String, Vec<u8>)> = Vec::with_capacity(files.len());
    for f in files {
        let name = f.display().to_string();
        let bytes = if name == "-" {
            let mut buf = Vec::new();
            stdin.take(limits.max_bytes as u64 + 1).read_to_end(&mut buf).map(|_| buf)
        } else {
            std::fs::read(&f)
        };
        match bytes {
            Ok(b) => read.push((name, b)),
            Err(e) => input.errors.push(InputError {
                source: name,
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    let parsed = parse_parallel(read, limits);
    for p in parsed {
        input.objects.extend(p.objects);
        input.errors.extend(p.errors);
        input.skipped.extend(p.skipped);
        input.files += p.files;
    }
}

/// A file to parse: its position in the input order, name and bytes.
type Work = (usize, String, Vec<u8>);

/// Parses files on every core; results come back in input order, so output stays deterministic.
fn parse_parallel(files: Vec<(String, Vec<u8>)>, limits: Limits) -> Vec<Input> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(files.len()).max(1);
    if threads == 1 {
        return files
            .into_iter()
            .map(|(name, bytes)| {
                let mut one = Input::default();
                load_bytes(&name, bytes, limits, &mut one);
                one
            })
            .collect();
    }
    // Deal files to threads largest first, so one big file does not leave the other cores idle.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files[i].1.len()));
    let mut buckets: Vec<(usize, Vec<Work>)> = (0..threads).map(|_| (0, Vec::new())).collect();
    let mut slots: Vec<Option<(String, Vec<u8>)>> = files.into_iter().map(Some).collect();
    for i in order {
        let Some((name, bytes)) = slots[i].take() else { continue };
        let Some(b) = buckets.iter_mut().min_by_key(|b| b.0) else { continue };
        b.0 += bytes.len();
        b.1.push((i, name, bytes));
    }
    let mut results: Vec<(usize, Input)> = std::thread::scope(|scope| {
        let handles: Vec<_> = buckets
            .into_iter()
            .map(|(_, work)| {
                let names: Vec<(usize, String)> = work.iter().map(|(i, n, _)| (*i, n.clone())).collect();
                let handle = scope.spawn(move || {
                    work.into_iter()
                        .map(|(i, name, bytes)| {
                            let mut one = Input::default();
                            load_bytes(&name, bytes, limits, &mut one);
                            (i, one)
                        })
                        .collect::<Vec<_>>()
                });
                (names, handle)
            })
            .collect();
        let mut out = Vec::new();
        for (names, h) in handles {
            match h.join() {
                Ok(done) => out.extend(done),
                // A parser panic is a bug; still, name every file it took down rather than drop them.
                Err(_) => out.extend(names.into_iter().map(|(i, file)| {
                    let mut failed = Input { files: 1, ..Input::default() };
                    failed.errors.push(InputError {
                        source: file,
                        line: None,
                        column: None,
                        message: "internal error while parsing this file; please report it".to_string(),
                    });
                    (i, failed)
                })),
            }
        }
        out
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, input)| input).collect()
}

/// Reads one file's bytes.
pub fn load_bytes(name: &str, bytes: Vec<u8>, limits: Limits, input: &mut Input) {
    input.files += 1;
    if bytes.len() > limits.max_bytes {
        input.errors.push(InputError {
            source: name.to_string(),
            line: None,
            column: None,
            message: format!("file is over the {} byte limit; split it into smaller files", limits.max_bytes),
        });
        return;
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
            input.errors.push(InputError {
                source: name.to_string(),
                line: Some(u32::try_from(line).unwrap_or(u32::MAX)),
                column: None,
                message: "not UTF-8 text (binary file?); manifests must be UTF-8 YAML or JSON".to_string(),
            });
            return;
        }
    };
    load_text(name, text, limits, input);
}

/// Reads one file's text.
pub fn load_text(name: &str, text: String, limits: Limits, input: &mut Input) {
    load_text_as(name, text, limits, input, true);
}

/// [`load_text`]; `lists` off reads a JSON List through its whole document's tree (for tests).
fn load_text_as(name: &str, text: String, limits: Limits, input: &mut Input, lists: bool) {
    // A leading BOM is not content.
    let text = match text.strip_prefix('\u{feff}') {
        Some(t) => t.to_string(),
        None => text,
    };
    let concatenated = json_stream::split(&text);
    let mut json = name.ends_with(".json") || text.trim_start().starts_with('{') && !name.ends_with(".yaml");
    // A JSON List (`kubectl get -o json`), alone or among other values: item by item, without
    // the whole document's tree.
    let text = if lists && text.trim_start().starts_with(['{', '[']) && helm_template_marker(&text).is_none() {
        let read = match &concatenated {
            Some(ranges) => json_list::load_stream(name, text, ranges, limits, input),
            None => json_list::load(name, text, json, limits, input),
        };
        match read {
            Ok(()) => return,
            Err(text) => text,
        }
    } else {
        text
    };
    let parsed = match &concatenated {
        Some(ranges) => match json_stream::parse(&text, ranges, limits) {
            Ok(docs) => {
                json = true;
                Ok(docs)
            }
            // Values one after another are not valid YAML; but if the split misread YAML flow
            // text (a brace in a single-quoted string), the YAML reading stands.
            Err(e) => yaml::parse_stream(&text, limits).map_err(|_| e),
        },
        None => yaml::parse_stream(&text, limits),
    };
    let docs = match parsed {
        _ if let Some((line, action)) = helm_template_marker(&text) => {
            // Parsed or not, a Helm template's objects are not the ones it renders: read they give
            // false findings (an image named `{{ .Values.image }}`), so none are audited.
            input.skipped.push(Skipped {
                source: name.to_string(),
                document: None,
                line: Some(line),
                reason: format!(
                    "a Helm template (`{action}`), not a manifest; audit it rendered: `helm template <chart> | clustergpt analyze -`"
                ),
            });
            return;
        }
        Ok(d) => d,
        Err(e) => {
            let message = if text.contains("{{") {
                format!(
                    "{}; this looks like a Helm or Go template: render it first (`helm template <chart> | clustergpt analyze -`)",
                    e.message
                )
            } else if concatenated.is_some() {
                format!("invalid JSON: {}", e.message)
            } else {
                format!("invalid YAML: {}", e.message)
            };
            input.errors.push(InputError {
                source: name.to_string(),
                line: Some(e.line),
                column: Some(e.col),
                message,
            });
            return;
        }
    };
    let len = text.len();
    let source = Arc::new(SourceFile { path: name.to_string(), text, json });
    let starts: Vec<usize> = docs.iter().map(|d| d.start.byte).collect();
    for (i, doc) in docs.into_iter().enumerate() {
        let Some(root) = doc.root else { continue };
        let range = (starts[i], starts.get(i + 1).copied().unwrap_or(len));
        let before = input.objects.len();
        add_document(&source, doc.index, doc.start.line, root, input);
        for o in &mut input.objects[before..] {
            o.doc_range = Some(range);
        }
    }
}

/// Where a node sits in its document, for skip reasons: `List item 3`, `item 2 of the sequence`.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// The document itself.
    Document,
    /// An item of a top-level sequence.
    Sequence(usize),
    /// An item of a `*List`: the list's kind and apiVersion.
    ListItem { index: usize, list_kind: &'a str, list_api_version: &'a str },
}

impl Place<'_> {
    fn describe(self) -> String {
        match self {
            Place::Document => String::new(),
            Place::Sequence(i) => format!("item {i} of the sequence: "),
            Place::ListItem { index, list_kind, .. } => format!("{list_kind} item {index}: "),
        }
    }

    /// The apiVersion and kind an item of a typed API list (`DeploymentList`) takes from the list.
    /// A generic `kind: List` gives none: its items can be of any kind.
    fn inherited(self) -> Option<(String, String)> {
        let Place::ListItem { list_kind, list_api_version, .. } = self else { return None };
        let kind = list_kind.strip_suffix("List").filter(|k| !k.is_empty())?;
        Some((list_api_version.to_string(), kind.to_string()))
    }
}

fn add_document(source: &Arc<SourceFile>, index: usize, line: u32, root: Node, input: &mut Input) {
    if let NodeKind::Seq(items) = root.kind {
        // A top-level sequence of objects (`- apiVersion: v1 ...`); one of anything else, such as
        // a JSON patch file, is not an object.
        let object_like = |n: &Node| n.get("kind").is_some() || n.get("apiVersion").is_some();
        if !items.iter().any(object_like) {
            let reason = "a sequence of non-objects (no item has an apiVersion or kind), so not a Kubernetes object";
            input.skipped.push(Skipped {
                source: source.path.clone(),
                document: Some(index),
                line: Some(line),
                reason: reason.to_string(),
            });
            return;
        }
        for (i, item) in items.into_iter().enumerate() {
            let item_line = item.span.start.line;
            add_node(source, index, item_line, format!("/{i}"), item, Place::Sequence(i), input);
        }
        return;
    }
    add_node(source, index, line, String::new(), root, Place::Document, input);
}

/// Reads one node as an object, the items of a `*List`, or a skipped entry with the reason.
fn add_node(
    source: &Arc<SourceFile>,
    document: usize,
    line: u32,
    prefix: String,
    node: Node,
    place: Place<'_>,
    input: &mut Input,
) {
    let skip = |reason: String, input: &mut Input| {
        let reason = format!("{}{reason}", place.describe());
        input.skipped.push(Skipped { source: source.path.clone(), document: Some(document), line: Some(line), reason });
    };
    if !matches!(node.kind, NodeKind::Map(_)) {
        skip("not a mapping, so not a Kubernetes object".to_string(), input);
        return;
    }
    let field = |k: &str| node.get(k).and_then(Node::as_str).unwrap_or_default().to_string();
    let (mut api_version, mut kind) = (field("apiVersion"), field("kind"));
    let mut fill = Vec::new();
    if let Some((list_api_version, list_item_kind)) = place.inherited() {
        if api_version.is_empty() {
            api_version = list_api_version;
            fill.push(("apiVersion", api_version.clone()));
        }
        if kind.is_empty() {
            kind = list_item_kind;
            fill.push(("kind", kind.clone()));
        }
    }
    if kind.is_empty() || api_version.is_empty() {
        let missing = match (api_version.is_empty(), kind.is_empty()) {
            (true, true) => "apiVersion and kind",
            (true, false) => "apiVersion",
            _ => "kind",
        };
        let mut reason = format!("no {missing}, so not a Kubernetes object");
        if let Some(tool) = tool_file(&source.path).filter(|_| matches!(place, Place::Document)) {
            reason = tool;
        } else if matches!(place, Place::ListItem { .. }) {
            reason.push_str(" (only a typed list such as DeploymentList gives its items one)");
        }
        skip(reason, input);
        return;
    }
    if let Some(what) = crate::kinds::config_file(&api_version, &kind) {
        let mut reason = format!("{api_version} {kind} is {what}, not a Kubernetes object");
        if api_version.starts_with("kustomize.config.k8s.io/") {
            let dir = parent_dir(&source.path);
            reason.push_str(&format!("; audit the built output: `kubectl kustomize {dir} | clustergpt analyze -`"));
        }
        skip(reason, input);
        return;
    }
    if kind.ends_with("List") && node.get("items").is_some() {
        let NodeKind::Map(entries) = node.kind else { return };
        let items = entries.into_iter().rev().find(|(k, _)| k.as_str() == Some("items")).map(|(_, v)| v);
        match items.map(|n| n.kind) {
            Some(NodeKind::Seq(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    let item_line = item.span.start.line;
                    let item_place = Place::ListItem { index: i, list_kind: &kind, list_api_version: &api_version };
                    add_node(source, document, item_line, format!("{prefix}/items/{i}"), item, item_place, input);
                }
            }
            Some(NodeKind::Scalar { .. }) => {} // `items: null` is an empty list.
            _ => skip(format!("{kind} whose items is not a sequence"), input),
        }
        return;
    }
    push_object(source, document, prefix, node, &fill, input);
}

/// The first line (1-based) and action of a Helm template action in `text`: `{{` followed by
/// `.Values`, `.Release`, `.Chart`, `.Capabilities`, `.Files` (or their `$.` forms) or `include`.
/// Other `{{ }}` (Prometheus rule annotations, Grafana dashboards, Argo notifications) is data.
fn helm_template_marker(text: &str) -> Option<(u32, String)> {
    const ROOTS: [&str; 5] = [".Values", ".Release", ".Chart", ".Capabilities", ".Files"];
    if !text.contains("{{") {
        return None;
    }
    for (i, line) in text.lines().enumerate() {
        let mut rest = without_comment(line);
        while let Some(at) = rest.find("{{") {
            let after = &rest[at + 2..];
            let body = after.trim_start_matches('-').trim_start();
            let body = body.strip_prefix('$').unwrap_or(body);
            let helm =
                ROOTS.iter().any(|r| body.strip_prefix(r).is_some_and(|t| t.starts_with(['.', ' ', '}', ')', '|'])))
                    || body.starts_with("include ");
            if helm {
                let end = after.find("}}").map_or(after.len(), |e| e + 2);
                let action: String = rest[at..at + 2 + end].chars().take(60).collect();
                return Some((u32::try_from(i + 1).unwrap_or(u32::MAX), action));
            }
            rest = after;
        }
    }
    None
}

/// A YAML line without its comment: `#` at the start or after a blank, outside quotes (close
/// enough for finding template actions; block scalars are taken as plain text).
fn without_comment(line: &str) -> &str {
    let (mut single, mut double, mut prev_blank) = (false, false, true);
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if prev_blank && !single && !double => return &line[..i],
            _ => {}
        }
        prev_blank = c == ' ' || c == '\t';
    }
    line
}

/// The reason a Helm chart's or Kustomize's own files are skipped, from the file name.
fn tool_file(path: &str) -> Option<String> {
    let name = Path::new(path).file_name()?.to_str()?;
    let dir = parent_dir(path);
    let (what, output, command) = match name {
        "Chart.yaml" | "Chart.yml" => ("Helm chart metadata", "rendered chart", "helm template"),
        "values.yaml" | "values.yml" => ("Helm chart values", "rendered chart", "helm template"),
        n if kustomize::FILE_NAMES.contains(&n) => ("a Kustomize file", "built output", "kubectl kustomize"),
        _ => return None,
    };
    Some(format!("{what}, not a Kubernetes object; audit the {output}: `{command} {dir} | clustergpt analyze -`"))
}

fn parent_dir(path: &str) -> String {
    match Path::new(path).parent() {
        Some(d) if !d.as_os_str().is_empty() => d.display().to_string(),
        _ => ".".to_string(),
    }
}

/// An edited List item read again on its own: `source` holds the item's text alone and `node` is
/// its parse. The object keeps its place in the file (`document`, `prefix`), and an item that
/// leaves apiVersion and kind to its typed list takes them from `list_kind` (`PodList`) and
/// `list_api_version`, as [`load_text`] would. `None` when the node is not one object.
pub(crate) fn read_item(
    source: &Arc<SourceFile>,
    document: usize,
    prefix: String,
    node: Node,
    list_kind: &str,
    list_api_version: &str,
) -> Option<Object> {
    let mut input = Input::default();
    let line = node.span.start.line;
    let place = Place::ListItem { index: 0, list_kind, list_api_version };
    add_node(source, document, line, prefix, node, place, &mut input);
    let [obj] = <[Object; 1]>::try_from(input.objects).ok()?;
    input.skipped.is_empty().then_some(obj)
}

fn push_object(
    source: &Arc<SourceFile>,
    document: usize,
    prefix: String,
    node: Node,
    fill: &[(&str, String)],
    input: &mut Input,
) {
    if !matches!(node.kind, NodeKind::Map(_)) {
        return;
    }
    let spans = SpanIndex::build(&node);
    let mut body = node.into_json();
    // An API list's items leave apiVersion and kind to the list; the object carries them.
    if let Some(map) = body.as_object_mut() {
        for (k, v) in fill {
            map.insert((*k).to_string(), serde_json::Value::String(v.clone()));
        }
    }
    let origin = Origin::File { path: source.path.clone(), document, prefix };
    let mut obj = Object::from_body(body, origin);
    obj.spans = Some(Arc::new(spans));
    obj.source = Some(Arc::clone(source));
    input.objects.push(obj);
}
