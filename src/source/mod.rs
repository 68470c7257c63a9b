//! Reading manifests from files, directories and stdin into objects.
//!
//! Every problem is recorded (errors for what could not be read, skipped entries for documents
//! that are not Kubernetes objects) and the rest of the input is still read.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Object, Origin, SourceFile};
use crate::yaml::{self, Limits, Node, NodeKind, SpanIndex};

/// A file or document that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InputError {
    /// File path (`-` for stdin).
    pub file: String,
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
            (Some(l), Some(c)) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
            (Some(l), None) => write!(f, "{}:{}: {}", self.file, l, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// A document that was read but is not a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Skipped {
    /// File path.
    pub file: String,
    /// Document index in the file, from 0.
    pub document: usize,
    /// 1-based line where the document starts.
    pub line: u32,
    /// Why it was skipped.
    pub reason: String,
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
}

/// Whether a path looks like a manifest file.
#[must_use]
pub fn is_manifest_path(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

/// Lists manifest files under the given paths: directories recursively (hidden entries skipped),
/// files as given. Sorted, so output does not depend on directory order.
pub fn collect_files(paths: &[PathBuf], errors: &mut Vec<InputError>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(p.clone());
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let before = out.len();
                walk(p, &mut out, errors);
                if out.len() == before {
                    errors.push(InputError {
                        file: p.display().to_string(),
                        line: None,
                        column: None,
                        message: "no .yaml, .yml or .json files in this directory".to_string(),
                    });
                }
            }
            Ok(_) => out.push(p.clone()),
            Err(e) => errors.push(InputError {
                file: p.display().to_string(),
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(InputError {
                file: dir.display().to_string(),
                line: None,
                column: None,
                message: format!("cannot list directory: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let hidden = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, out, errors);
        } else if is_manifest_path(&p) {
            out.push(p);
        }
    }
}

/// Reads the given paths (`-` is stdin) into objects.
pub fn load_paths(paths: &[PathBuf], stdin: &mut dyn Read, limits: Limits) -> Input {
    let mut input = Input::default();
    let files = collect_files(paths, &mut input.errors);
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
                file: name,
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
    input
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
                        file,
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
            file: name.to_string(),
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
                file: name.to_string(),
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
    let json = name.ends_with(".json") || text.trim_start().starts_with('{') && !name.ends_with(".yaml");
    // A leading BOM is not content.
    let text = match text.strip_prefix('\u{feff}') {
        Some(t) => t.to_string(),
        None => text,
    };
    let docs = match yaml::parse_stream(&text, limits) {
        Ok(d) => d,
        Err(e) => {
            let message = if text.contains("{{") {
                format!(
                    "{}; this looks like a Helm or Go template: render it first (`helm template <chart> | clustergpt analyze -`)",
                    e.message
                )
            } else {
                format!("invalid YAML: {}", e.message)
            };
            input.errors.push(InputError { file: name.to_string(), line: Some(e.line), column: Some(e.col), message });
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

fn add_document(source: &Arc<SourceFile>, index: usize, line: u32, root: Node, input: &mut Input) {
    let skip = |reason: String, input: &mut Input| {
        input.skipped.push(Skipped { file: source.path.clone(), document: index, line, reason });
    };
    if !matches!(root.kind, NodeKind::Map(_)) {
        skip("not a mapping, so not a Kubernetes object".to_string(), input);
        return;
    }
    let kind = root.get("kind").and_then(Node::as_str).unwrap_or_default().to_string();
    let api_version = root.get("apiVersion").and_then(Node::as_str).unwrap_or_default().to_string();
    if kind.is_empty() || api_version.is_empty() {
        let missing = match (api_version.is_empty(), kind.is_empty()) {
            (true, true) => "apiVersion and kind",
            (true, false) => "apiVersion",
            _ => "kind",
        };
        skip(format!("no {missing}, so not a Kubernetes object"), input);
        return;
    }
    if kind.ends_with("List") && root.get("items").is_some() {
        let NodeKind::Map(entries) = root.kind else { return };
        let items = entries.into_iter().rev().find(|(k, _)| k.as_str() == Some("items")).map(|(_, v)| v);
        match items.map(|n| n.kind) {
            Some(NodeKind::Seq(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    let item_line = item.span.start.line;
                    let has_identity = item.get("kind").is_some() && item.get("apiVersion").is_some();
                    if !has_identity {
                        input.skipped.push(Skipped {
                            file: source.path.clone(),
                            document: index,
                            line: item_line,
                            reason: format!("{kind} item {i} has no apiVersion or kind"),
                        });
                        continue;
                    }
                    push_object(source, index, format!("/items/{i}"), item, input);
                }
            }
            Some(NodeKind::Scalar { .. }) => {} // `items: null` is an empty list.
            _ => skip(format!("{kind} whose items is not a sequence"), input),
        }
        return;
    }
    push_object(source, index, String::new(), root, input);
}

fn push_object(source: &Arc<SourceFile>, document: usize, prefix: String, node: Node, input: &mut Input) {
    if !matches!(node.kind, NodeKind::Map(_)) {
        return;
    }
    let spans = SpanIndex::build(&node);
    let body = node.into_json();
    let origin = Origin::File { path: source.path.clone(), document, prefix };
    let mut obj = Object::from_body(body, origin);
    obj.spans = Some(Arc::new(spans));
    obj.source = Some(Arc::clone(source));
    input.objects.push(obj);
}
