//! Where a `helm template` object's fields are set: the values key (in the values file that wins)
//! or the template line.
//!
//! `# Source:` names the template. A template line `key: {{ .Values.a.b }}` (with `quote`,
//! `default`) maps the rendered `key` to `a.b` in the values files, the last file given first
//! (`values-prod.yaml` before the chart's `values.yaml`); `toYaml .Values.x` (directly or through
//! `with`) maps the block and each field in it. Every mapping is proven: the rendered value must
//! equal what the values files hold, and exactly one rendered field may match. Anything else gets
//! the template file with no line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::provenance::{Paths, lexical};
use crate::model::{EditAt, EditKind, SourceFile, SourcePos};
use crate::yaml::{self, Limits, Node, NodeKind, escape_segment};

/// The merged values: each key path's value and where the winning file sets it.
#[derive(Default)]
pub struct Values {
    /// Merged values, as Helm merges them (maps deep, anything else replaced).
    merged: Value,
    /// Dotted key path → key position in the file that set it last.
    at: BTreeMap<String, SourcePos>,
    /// The values file given last (the one a fix edits: what it sets overrides the chart's
    /// defaults and earlier files) and its document.
    last: Option<(Arc<SourceFile>, usize)>,
}

impl Values {
    /// Reads the values files in Helm's order (the chart's `values.yaml` first, then each `-f`).
    #[must_use]
    pub fn read(files: &[(PathBuf, String)]) -> Values {
        let mut v = Values { merged: Value::Object(serde_json::Map::new()), at: BTreeMap::new(), last: None };
        for (abs, shown) in files {
            let Ok(text) = std::fs::read_to_string(abs) else { continue };
            let Ok(docs) = yaml::parse_stream(&text, Limits::default()) else { continue };
            let Some((index, root)) = docs.into_iter().find_map(|d| Some((d.index, d.root?))) else {
                v.last = None;
                continue;
            };
            merge(&mut v.merged, &root, "", shown, &mut v.at);
            v.last = matches!(root.kind, NodeKind::Map(_))
                .then(|| (Arc::new(SourceFile { path: shown.clone(), text, json: false }), index));
        }
        v
    }

    fn get(&self, dotted: &str) -> Option<(&Value, &SourcePos)> {
        Some((self.merged.pointer(&pointer(dotted))?, self.at.get(dotted)?))
    }

    /// The node of the last values file to edit for a values pointer.
    fn edit(&self, ptr: String) -> Option<EditAt> {
        let (source, document) = self.last.as_ref()?;
        Some(EditAt { source: Arc::clone(source), document: *document, pointer: ptr, kind: EditKind::Values })
    }
}

/// A dotted values path (`.Values.a.b` in a template) as a JSON pointer.
fn pointer(dotted: &str) -> String {
    dotted.split('.').map(|s| format!("/{}", escape_segment(s))).collect()
}

fn merge(into: &mut Value, node: &Node, prefix: &str, file: &str, at: &mut BTreeMap<String, SourcePos>) {
    let NodeKind::Map(entries) = &node.kind else { return };
    let Some(map) = into.as_object_mut() else { return };
    for (k, v) in entries {
        let Some(key) = k.as_str() else { continue };
        let dotted = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
        at.insert(
            dotted.clone(),
            SourcePos { file: file.to_string(), line: Some(k.span.start.line), column: Some(k.span.start.col) },
        );
        let is_map = matches!(v.kind, NodeKind::Map(_));
        match map.get_mut(key) {
            Some(existing) if is_map && existing.is_object() => merge(existing, v, &dotted, file, at),
            _ => {
                // Replaced: forget where the keys under the old value were.
                let under = format!("{dotted}.");
                at.retain(|k, _| !k.starts_with(&under));
                if is_map {
                    map.insert(key.to_string(), Value::Object(serde_json::Map::new()));
                    if let Some(m) = map.get_mut(key) {
                        merge(m, v, &dotted, file, at);
                    }
                } else {
                    map.insert(key.to_string(), v.to_json());
                }
            }
        }
    }
}

/// One use of values on a template line.
enum Use {
    /// `key: ...{{ .Values.a }}...`: the rendered `key`'s value is the line with each action
    /// replaced by its value.
    Scalar { key: String, parts: Vec<Part>, line: u32, column: u32 },
    /// `key:` followed by `toYaml .Values.a` (or `toYaml .` inside `with .Values.a`).
    Block { key: String, values: String },
}

enum Part {
    Text(String),
    /// A `.Values` key path, with its `default` literal if any.
    Values {
        path: String,
        default: Option<String>,
    },
    /// Anything else: the line cannot be proven.
    Unknown,
}

/// Where a rendered object's fields are set, and the values nodes that change them.
#[derive(Default)]
pub struct Traced {
    /// Field pointer → source.
    pub fields: BTreeMap<String, SourcePos>,
    /// Field pointer → the values node (in the values file given last) that sets it.
    pub edits: BTreeMap<String, Vec<EditAt>>,
}

/// Traces one rendered object from its template (`abs`, shown as `shown`).
#[must_use]
pub fn trace(body: &Value, template: &str, shown: &str, values: &Values) -> Traced {
    let mut out = BTreeMap::new();
    let mut edits: BTreeMap<String, Vec<EditAt>> = BTreeMap::new();
    let leaves = leaves(body);
    for u in uses(template) {
        match u {
            Use::Scalar { key, parts, line, column } => {
                let mut text = String::new();
                let mut last_key: Option<SourcePos> = None;
                let mut ok = true;
                for p in &parts {
                    match p {
                        Part::Text(t) => text.push_str(t),
                        Part::Values { path, default } => match values.get(path) {
                            Some((v, at)) if !is_empty(v) => {
                                text.push_str(&scalar_text(v));
                                last_key = Some(at.clone());
                            }
                            _ => match default {
                                Some(d) => text.push_str(d),
                                None => ok = false,
                            },
                        },
                        Part::Unknown => ok = false,
                    }
                }
                if !ok {
                    continue;
                }
                // The rendered value is the values key's alone (no text around it): setting the key
                // sets the field.
                let sole = match parts
                    .iter()
                    .filter(|p| !matches!(p, Part::Text(t) if unquote(t.trim()).is_empty()))
                    .collect::<Vec<_>>()
                    .as_slice()
                {
                    [Part::Values { path, .. }] => Some(path.clone()),
                    _ => None,
                };
                let want = unquote(text.trim());
                let hits: Vec<&String> = leaves
                    .iter()
                    .filter(|(p, v)| last_segment(p) == key && scalar_text(v) == want)
                    .map(|(p, _)| p)
                    .collect();
                if let [p] = hits.as_slice() {
                    // From a values key when one is used, else the default on the template line.
                    let at = last_key.unwrap_or(SourcePos {
                        file: shown.to_string(),
                        line: Some(line),
                        column: Some(column),
                    });
                    if let Some(e) = sole.and_then(|d| values.edit(pointer(&d))) {
                        edits.insert((*p).clone(), vec![e]);
                    }
                    out.insert((*p).clone(), at);
                }
            }
            Use::Block { key, values: path } => {
                let Some((v, at)) = values.get(&path) else { continue };
                let hits: Vec<String> = blocks(body, &key, v);
                if let [p] = hits.as_slice() {
                    out.insert(p.clone(), at.clone());
                    under(v, (&path, &pointer(&path)), p, values, (&mut out, &mut edits));
                }
            }
        }
    }
    Traced { fields: out, edits }
}

/// Maps a values block and the fields in it to their keys (`vptr`: the block's pointer in the
/// values, `ptr`: the rendered field's).
fn under(
    v: &Value,
    (dotted, vptr): (&str, &str),
    ptr: &str,
    values: &Values,
    (out, edits): (&mut BTreeMap<String, SourcePos>, &mut BTreeMap<String, Vec<EditAt>>),
) {
    if let Some(e) = values.edit(vptr.to_string()) {
        edits.insert(ptr.to_string(), vec![e]);
    }
    if let Value::Object(m) = v {
        for (k, child) in m {
            let d = format!("{dotted}.{k}");
            let p = format!("{ptr}/{}", escape_segment(k));
            if let Some(at) = values.at.get(&d) {
                out.insert(p.clone(), at.clone());
            }
            under(child, (&d, &format!("{vptr}/{}", escape_segment(k))), &p, values, (&mut *out, &mut *edits));
        }
    }
}

fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Null) || v.as_str() == Some("")
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn unquote(s: &str) -> String {
    s.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(s).to_string()
}

fn last_segment(ptr: &str) -> String {
    yaml::pointer_segments(ptr).last().unwrap_or_default()
}

/// Every scalar field of the object: pointer → value.
fn leaves(body: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut todo = vec![(String::new(), body)];
    while let Some((p, v)) = todo.pop() {
        match v {
            Value::Object(m) => todo.extend(m.iter().map(|(k, c)| (format!("{p}/{}", escape_segment(k)), c))),
            Value::Array(a) => todo.extend(a.iter().enumerate().map(|(i, c)| (format!("{p}/{i}"), c))),
            s => out.push((p, s.clone())),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The pointers of fields named `key` whose value equals `v`.
fn blocks(body: &Value, key: &str, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![(String::new(), body)];
    while let Some((p, cur)) = todo.pop() {
        match cur {
            Value::Object(m) => {
                for (k, c) in m {
                    let cp = format!("{p}/{}", escape_segment(k));
                    if k == key && c == v {
                        out.push(cp.clone());
                    }
                    todo.push((cp, c));
                }
            }
            Value::Array(a) => todo.extend(a.iter().enumerate().map(|(i, c)| (format!("{p}/{i}"), c))),
            _ => {}
        }
    }
    out.sort();
    out
}

/// The values uses of a template, line by line.
fn uses(template: &str) -> Vec<Use> {
    let mut out = Vec::new();
    let lines: Vec<&str> = template.lines().collect();
    let mut with: Vec<Option<String>> = Vec::new();
    let mut last_key: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let actions = actions(t);
        // Control structure: track `with .Values.x` for `toYaml .` inside it.
        if let Some(a) = actions.first()
            && t.starts_with("{{")
            && t.ends_with("}}")
            && actions.len() == 1
        {
            let words: Vec<&str> = a.split_whitespace().collect();
            match words.first().copied() {
                Some("with") => with.push(words.get(1).and_then(|w| w.strip_prefix(".Values.")).map(str::to_string)),
                Some("if" | "range" | "define" | "block") => with.push(None),
                Some("end") => {
                    with.pop();
                }
                Some("toYaml") => {
                    let arg = words.get(1).copied().unwrap_or_default();
                    let values = if arg == "." {
                        with.last().cloned().flatten()
                    } else {
                        arg.strip_prefix(".Values.").map(str::to_string)
                    };
                    if let (Some(values), Some(key)) = (values, last_key.clone()) {
                        out.push(Use::Block { key, values });
                    }
                }
                _ => {}
            }
            continue;
        }
        let body = t.strip_prefix("- ").unwrap_or(t);
        let Some((key, value)) = body.split_once(':') else { continue };
        let key = key.trim();
        if key.is_empty() || key.contains('{') || key.contains(' ') {
            continue;
        }
        last_key = Some(key.to_string());
        let value = value.trim();
        if !value.contains("{{") {
            continue;
        }
        let column = u32::try_from(line.len() - line.trim_start().len() + (t.len() - body.len()) + 1).unwrap_or(1);
        out.push(Use::Scalar {
            key: key.to_string(),
            parts: parts(value),
            line: u32::try_from(i + 1).unwrap_or(0),
            column,
        });
    }
    out
}

/// The inside of each `{{ ... }}` on a line, trimmed of `-` and spaces.
fn actions(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else { break };
        let inner = &rest[start + 2..start + end];
        out.push(inner.trim().trim_start_matches('-').trim_end_matches('-').trim().to_string());
        rest = &rest[start + end + 2..];
    }
    out
}

/// Splits a value into text and actions; an action is a `.Values` path with `quote`/`default`.
fn parts(value: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("{{") {
        out.push(Part::Text(rest[..start].to_string()));
        let Some(end) = rest[start..].find("}}") else {
            out.push(Part::Unknown);
            return out;
        };
        let inner = rest[start + 2..start + end].trim().trim_start_matches('-').trim_end_matches('-').trim();
        out.push(action(inner));
        rest = &rest[start + end + 2..];
    }
    out.push(Part::Text(rest.to_string()));
    out
}

/// `.Values.a.b`, `.Values.a | quote`, `.Values.a | default "x"`, `default "x" .Values.a`.
fn action(inner: &str) -> Part {
    let mut path = None;
    let mut default = None;
    for stage in inner.split('|') {
        let words: Vec<&str> = stage.split_whitespace().collect();
        match words.as_slice() {
            [v] if v.starts_with(".Values.") => path = Some(v.trim_start_matches(".Values.").to_string()),
            ["quote" | "squote" | "toString"] => {}
            ["default", d] => default = literal(d),
            ["default", d, v] if v.starts_with(".Values.") => {
                default = literal(d);
                path = Some(v.trim_start_matches(".Values.").to_string());
            }
            _ => return Part::Unknown,
        }
    }
    match path {
        Some(path) if path.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') => {
            Part::Values { path, default }
        }
        _ => Part::Unknown,
    }
}

fn literal(s: &str) -> Option<String> {
    if let Some(q) = s.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Some(q.to_string());
    }
    s.parse::<f64>().is_ok().then(|| s.to_string())
}

/// The template file a `# Source:` line names, under the chart directory (`api/templates/x.yaml`
/// → `<chart>/templates/x.yaml`).
#[must_use]
pub fn template_path(chart: &Path, source: &str) -> PathBuf {
    let rel: PathBuf = Path::new(source).components().skip(1).collect();
    lexical(&chart.join(rel))
}

/// The `# Source:` of each document of `helm template` output, by the document's start byte.
#[must_use]
pub fn sources(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(s) = line.trim_end().strip_prefix("# Source: ") {
            out.push((offset, s.trim().to_string()));
        }
        offset += line.len();
    }
    out
}

/// How a chart's files are shown: relative to the chart as given.
#[must_use]
pub fn paths(chart: &Path, given: &Path) -> Paths {
    Paths { wrapper: chart.to_path_buf(), target: chart.to_path_buf(), given: given.to_path_buf() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_with_quote_and_default() {
        assert!(matches!(action(".Values.a.b | quote"), Part::Values { path, default: None } if path == "a.b"));
        assert!(
            matches!(action(".Values.a | default \"x\" | quote"), Part::Values { default: Some(d), .. } if d == "x")
        );
        assert!(
            matches!(action("default 3 .Values.n"), Part::Values { path, default: Some(d) } if path == "n" && d == "3")
        );
        assert!(matches!(action(".Values.a | upper"), Part::Unknown));
        assert!(matches!(action(".Release.Name"), Part::Unknown));
    }
}
