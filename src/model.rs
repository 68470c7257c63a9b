//! The data model every part reads: objects with their origin, findings, fixes.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::yaml::PointerExt;
use crate::yaml::{Span, SpanIndex};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Worth fixing eventually.
    Low,
    /// Should be fixed.
    Medium,
    /// Fix before shipping.
    High,
    /// Fix now.
    Critical,
}

impl Severity {
    /// All severities, most severe first.
    pub const ALL: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info];

    /// The lowercase name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name such as `high`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    /// Availability and resilience.
    Reliability,
    /// Attack surface and least privilege.
    Security,
    /// Spend and efficiency.
    Cost,
    /// How objects fit together.
    Architecture,
    /// Live failures.
    Diagnosis,
    /// Manifests Kubernetes would reject or read differently.
    Schema,
}

impl Area {
    /// All areas.
    pub const ALL: [Area; 6] =
        [Area::Reliability, Area::Security, Area::Cost, Area::Architecture, Area::Diagnosis, Area::Schema];

    /// The lowercase name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Reliability => "reliability",
            Area::Security => "security",
            Area::Cost => "cost",
            Area::Architecture => "architecture",
            Area::Diagnosis => "diagnosis",
            Area::Schema => "schema",
        }
    }

    /// Parses a name such as `security`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an object came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A document in a file (or stdin, named `-`).
    File {
        /// Path as the user gave it (relative paths stay relative).
        path: String,
        /// Document index in the file, from 0.
        document: usize,
        /// JSON pointer of the object inside the document (`/items/3` for List items, empty otherwise).
        prefix: String,
    },
    /// An object read from a live cluster.
    Cluster {
        /// The kubeconfig context it was read through.
        context: String,
        /// The object's UID.
        uid: String,
    },
    /// An object replayed from a snapshot file of a cluster.
    Snapshot {
        /// The snapshot file.
        path: String,
        /// The cluster (context) name recorded in the snapshot.
        context: String,
        /// The object's UID.
        uid: String,
    },
}

impl Origin {
    /// The source part of an object's identity: the file path as given (normalised, see
    /// [`normalize_path`]) for files, the context name for clusters and for snapshots (so a
    /// snapshot replay fingerprints like the live run that wrote it).
    #[must_use]
    pub fn identity_source(&self) -> String {
        match self {
            Origin::File { path, .. } => normalize_path(path),
            Origin::Cluster { context, .. } | Origin::Snapshot { context, .. } => context.clone(),
        }
    }

    /// The context name of a live or snapshot object.
    #[must_use]
    pub fn context(&self) -> Option<&str> {
        match self {
            Origin::File { .. } => None,
            Origin::Cluster { context, .. } | Origin::Snapshot { context, .. } => Some(context),
        }
    }

    /// The UID of a live or snapshot object.
    #[must_use]
    pub fn uid(&self) -> Option<&str> {
        match self {
            Origin::File { .. } => None,
            Origin::Cluster { uid, .. } | Origin::Snapshot { uid, .. } => Some(uid),
        }
    }
}

/// A path as identities use it: `/` separators, no `.` components or repeated separators, so
/// `./k8s/a.yaml`, `k8s//a.yaml` and `k8s\a.yaml` are one file. `..` and a leading `/` stay.
#[must_use]
pub fn normalize_path(path: &str) -> String {
    let unified = path.replace('\\', "/");
    let absolute = unified.starts_with('/');
    let parts: Vec<&str> = unified.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// The parsed source an object was read from, shared by the objects of one file.
#[derive(Debug)]
pub struct SourceFile {
    /// Path as the user gave it.
    pub path: String,
    /// The full text.
    pub text: String,
    /// Whether the file is JSON.
    pub json: bool,
}

/// The context name of objects read through the in-cluster service account (no kubeconfig
/// context: commands for them take none).
pub const IN_CLUSTER: &str = "in-cluster";

/// One Kubernetes object.
#[derive(Debug, Clone)]
pub struct Object {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name` (or `generateName`).
    pub name: String,
    /// `metadata.namespace`, `None` when unset.
    pub namespace: Option<String>,
    /// The whole object as JSON.
    pub body: Value,
    /// Where it came from.
    pub origin: Origin,
    /// Where each of its fields is in the file.
    pub spans: Option<Arc<SpanIndex>>,
    /// The file it is in.
    pub source: Option<Arc<SourceFile>>,
    /// Byte range of its YAML document in the file, so edits can re-parse just that document.
    pub doc_range: Option<(usize, usize)>,
    /// The kind has no namespace (computed once: rules ask for it constantly).
    pub cluster_scoped: bool,
    /// For an object rendered by Kustomize or Helm: the render and where each field is set.
    pub provenance: Option<Arc<Provenance>>,
}

/// The render an object came from: the tool, the target (chart or kustomization directory) and
/// the object's document in the rendered stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rendered {
    /// `kustomize` or `helm`.
    pub tool: String,
    /// The directory rendered, as given or found.
    pub target: String,
    /// Document index in the rendered output, from 0.
    pub document: usize,
}

/// A place in an editable source file; `line` is `None` when no line can be proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePos {
    /// File path (relative paths as the target was given).
    pub file: String,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
}

/// Where a rendered object's fields are set in the files people edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The render.
    pub rendered: Rendered,
    /// The file the object as a whole comes from (resource file, template), with its first line.
    pub object: Option<SourcePos>,
    /// JSON pointer of a rendered field → where its value is set.
    pub fields: BTreeMap<String, SourcePos>,
    /// JSON pointer of a rendered field → the nodes that can change it (see [`EditAt`]), at most
    /// one of each [`EditKind`].
    pub edits: BTreeMap<String, Vec<EditAt>>,
}

/// Where a rendered field can be changed: a node in a file people edit (a resource file, a
/// strategic-merge or JSON 6902 patch, a Helm values file). Only proven mappings get one: the
/// node's value is the rendered value, and what is added under the node reaches the rendered field
/// (a resource's block, a merge patch's block, a values block rendered with `toYaml`).
#[derive(Debug, Clone)]
pub struct EditAt {
    /// The file, as read when rendering (its path as shown).
    pub source: Arc<SourceFile>,
    /// The document's index in the file's stream, from 0.
    pub document: usize,
    /// JSON pointer of the node inside that document.
    pub pointer: String,
    /// What kind of file it is.
    pub kind: EditKind,
}

/// The kind of file an [`EditAt`] edits: it decides where a fix goes (the target's own patch or
/// values file before a base that other targets may share) and what it may do there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EditKind {
    /// A patch of the target (strategic merge or JSON 6902): what is set there overrides the base.
    Patch,
    /// The Helm values file given last (the chart's `values.yaml` when none is): overrides.
    Values,
    /// The resource file the object comes from: the only source of its fields, so a field can
    /// also be removed there.
    Resource,
}

impl PartialEq for EditAt {
    fn eq(&self, o: &EditAt) -> bool {
        self.source.path == o.source.path
            && self.document == o.document
            && self.pointer == o.pointer
            && self.kind == o.kind
    }
}

impl Eq for EditAt {}

impl Provenance {
    /// The editable source of a field: the deepest field on `pointer` that exists in `body` and
    /// whose source is known (a missing field is reported where its nearest parent is set). A
    /// field that exists but whose source is not proven gets the object's file with no line,
    /// never another field's line.
    #[must_use]
    pub fn locate(&self, body: &Value, pointer: &str) -> Option<SourcePos> {
        let mut prefixes = vec![String::new()];
        for seg in crate::yaml::pointer_segments(pointer) {
            let last = prefixes.last().cloned().unwrap_or_default();
            prefixes.push(format!("{last}/{}", crate::yaml::escape_segment(&seg)));
        }
        for p in prefixes.iter().rev() {
            if body.ptr(p).is_none() {
                continue;
            }
            if let Some(pos) = self.fields.get(p) {
                return Some(pos.clone());
            }
            // The field itself exists but where its value comes from is not proven.
            if p.len() == pointer.len() && !p.is_empty() {
                return self.object.as_ref().map(|o| SourcePos { line: None, column: None, ..o.clone() });
            }
        }
        self.object.clone()
    }
}

/// The location of a field in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// File path, if from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// JSON pointer inside the object.
    pub path: String,
    /// Span of the reported node, when known (boxed: a live finding has none, and a million
    /// findings each carry a location).
    #[serde(skip)]
    pub span: Option<Box<Span>>,
}

impl Object {
    /// Builds an object from its JSON body, reading identity fields from it.
    #[must_use]
    pub fn from_body(body: Value, origin: Origin) -> Object {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let meta = body.get("metadata");
        let name = meta
            .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let namespace = meta.and_then(|m| m.get("namespace")).and_then(Value::as_str).map(str::to_string);
        let kind = s(body.get("kind"));
        Object {
            api_version: s(body.get("apiVersion")),
            cluster_scoped: crate::kinds::is_cluster_scoped(&kind),
            kind,
            name,
            namespace,
            body,
            origin,
            spans: None,
            source: None,
            doc_range: None,
            provenance: None,
        }
    }

    /// `api group` of the apiVersion (empty for core).
    #[must_use]
    pub fn group(&self) -> &str {
        api_group(&self.api_version)
    }

    /// Reads a field by JSON pointer.
    #[must_use]
    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.body.ptr(pointer)
    }

    /// Labels of the object.
    #[must_use]
    pub fn labels(&self) -> Option<&serde_json::Map<String, Value>> {
        self.body.ptr("/metadata/labels").and_then(Value::as_object)
    }

    /// An annotation's value.
    #[must_use]
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.body.get("metadata")?.get("annotations")?.get(key)?.as_str()
    }

    /// The namespace the object lives in, `default` when unset for namespaced kinds.
    #[must_use]
    pub fn effective_namespace(&self) -> Option<&str> {
        if self.cluster_scoped { None } else { Some(self.namespace.as_deref().unwrap_or("default")) }
    }

    /// Identity for humans: `Kind/namespace/name` or `Kind/name` (see [`ObjectRef`]'s `Display`).
    #[must_use]
    pub fn display_id(&self) -> String {
        ObjectRef::of(self).to_string()
    }

    /// File path, if from a file (not for snapshots: their objects are not edited in place).
    #[must_use]
    pub fn file(&self) -> Option<&str> {
        match &self.origin {
            Origin::File { path, .. } => Some(path),
            Origin::Cluster { .. } | Origin::Snapshot { .. } => None,
        }
    }

    /// Locates a field: the deepest existing node on `pointer`, reported at its key. A rendered
    /// object reports the editable source (resource, patch, values file), see [`Provenance`].
    #[must_use]
    pub fn locate(&self, pointer: &str) -> Location {
        if let Some(p) = &self.provenance {
            let pos = p.locate(&self.body, pointer);
            return Location {
                file: pos.as_ref().map(|s| s.file.clone()),
                line: pos.as_ref().and_then(|s| s.line),
                column: pos.as_ref().and_then(|s| s.column),
                path: pointer.to_string(),
                span: None,
            };
        }
        let mut loc = Location {
            file: self.file().map(str::to_string),
            line: None,
            column: None,
            path: pointer.to_string(),
            span: None,
        };
        if let Some(span) = self.spans.as_ref().and_then(|s| s.locate(pointer)) {
            loc.line = Some(span.start.line);
            loc.column = Some(span.start.col);
            loc.span = Some(Box::new(span));
        }
        loc
    }
}

/// Object identity as shown in findings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace for namespaced kinds (defaulted to `default`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// UID for live and snapshot objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The context (cluster) a live or snapshot object was read from; files are named by
    /// `Location.file` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl ObjectRef {
    /// The reference of an object.
    #[must_use]
    pub fn of(o: &Object) -> ObjectRef {
        ObjectRef {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            namespace: o.effective_namespace().map(str::to_string),
            name: o.name.clone(),
            uid: o.origin.uid().map(str::to_string),
            context: o.origin.context().map(str::to_string),
        }
    }

    /// API group of the apiVersion (empty for the core group): identity uses the group, so
    /// `apps/v1beta1` → `apps/v1` keeps it.
    #[must_use]
    pub fn group(&self) -> &str {
        api_group(&self.api_version)
    }
}

/// `Kind/namespace/name`, or `Kind/name` for cluster-scoped kinds: how people name objects.
impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// The API group of an apiVersion: `apps/v1` → `apps`, `v1` → empty.
#[must_use]
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// One fact behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Evidence {
    /// JSON pointer of the field, or a description such as `graph` for cross-object facts.
    pub path: String,
    /// The value found there, as JSON text, or a description (`<unset>`).
    pub value: String,
}

impl Evidence {
    /// Evidence that a field has a value.
    #[must_use]
    pub fn field(path: impl Into<String>, value: &Value) -> Evidence {
        Evidence { path: path.into(), value: value_text(value) }
    }

    /// Evidence that a field is missing.
    #[must_use]
    pub fn unset(path: impl Into<String>) -> Evidence {
        Evidence { path: path.into(), value: "<unset>".to_string() }
    }

    /// Free-form evidence (cross-object facts).
    #[must_use]
    pub fn note(path: impl Into<String>, value: impl Into<String>) -> Evidence {
        Evidence { path: path.into(), value: value.into() }
    }
}

/// A JSON value as short text: strings without quotes.
#[must_use]
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a fix may be applied automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Keeps behaviour the user relies on; applied by default.
    Safe,
    /// Changes scheduling, security posture or cost; needs `--unsafe`.
    Unsafe,
    /// Shown, never applied (placeholders or no faithful edit).
    DisplayOnly,
}

/// One semantic edit on the object, addressed by JSON pointer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum FixOp {
    /// Add (or set) a value at a path, creating missing parents.
    Add {
        /// JSON pointer.
        path: String,
        /// The value (shared: a million findings set the same few values).
        #[serde(with = "shared")]
        value: Arc<Value>,
    },
    /// Replace an existing value.
    Replace {
        /// JSON pointer.
        path: String,
        /// The value (shared: a million findings set the same few values).
        #[serde(with = "shared")]
        value: Arc<Value>,
    },
    /// Remove a key or item.
    Remove {
        /// JSON pointer.
        path: String,
    },
    /// Create a new object (a PodDisruptionBudget for a workload, say), written as a new
    /// document right after this object's document.
    Create {
        /// The whole new object.
        #[serde(with = "shared")]
        value: Arc<Value>,
    },
}

/// Why operations could not be applied to an object's body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// A removal with an empty path (the whole object).
    #[error("empty path")]
    EmptyPath,
    /// The path to remove does not exist.
    #[error("`{path}` does not exist")]
    Missing {
        /// JSON pointer.
        path: String,
    },
    /// An array step that is not a number.
    #[error("`{segment}` is not an index")]
    NotAnIndex {
        /// The path segment.
        segment: String,
    },
    /// An array index past the end.
    #[error("`{path}`: index out of range")]
    OutOfRange {
        /// JSON pointer.
        path: String,
    },
    /// The path goes through a string, number or boolean.
    #[error("`{path}` goes through a scalar")]
    ThroughScalar {
        /// JSON pointer.
        path: String,
    },
}

impl FixOp {
    /// Applies this operation to a body, the way the text edits should: `Add` and `Replace` set
    /// the value (creating missing parents), `Remove` deletes it, `Create` changes nothing (the
    /// created object is separate).
    ///
    /// # Errors
    /// When the path cannot be followed.
    pub fn apply(&self, body: &mut Value) -> Result<(), OpError> {
        match self {
            FixOp::Add { path, value } | FixOp::Replace { path, value } => set_at(body, path, Value::clone(value)),
            FixOp::Create { .. } => Ok(()),
            FixOp::Remove { path } => remove_at(body, path),
        }
    }
}

/// The body after a fix's operations: what an edited file must read back as.
///
/// # Errors
/// When an operation's path cannot be followed.
pub fn apply_ops(body: &Value, ops: &[FixOp]) -> Result<Value, OpError> {
    let mut v = body.clone();
    for op in ops {
        op.apply(&mut v)?;
    }
    Ok(v)
}

fn remove_at(root: &mut Value, path: &str) -> Result<(), OpError> {
    let segs: Vec<String> = crate::yaml::pointer_segments(path).collect();
    let Some((last, parents)) = segs.split_last() else { return Err(OpError::EmptyPath) };
    let missing = || OpError::Missing { path: path.to_string() };
    let mut cur = root;
    for s in parents {
        cur = match cur {
            Value::Object(m) => m.get_mut(s).ok_or_else(missing)?,
            Value::Array(a) => s.parse::<usize>().ok().and_then(|i| a.get_mut(i)).ok_or_else(missing)?,
            _ => return Err(missing()),
        };
    }
    match cur {
        Value::Object(m) => {
            m.remove(last);
        }
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| OpError::NotAnIndex { segment: last.clone() })?;
            if i < a.len() {
                a.remove(i);
            }
        }
        _ => return Err(missing()),
    }
    Ok(())
}

fn set_at(root: &mut Value, path: &str, value: Value) -> Result<(), OpError> {
    // Borrowed segments, and keys copied only when a parent is created: every fix's expected
    // body (and its price) goes through here.
    let segs: Vec<std::borrow::Cow<'_, str>> = crate::yaml::pointer_segments_cow(path).collect();
    let Some((last, parents)) = segs.split_last() else {
        *root = value;
        return Ok(());
    };
    let through_scalar = || OpError::ThroughScalar { path: path.to_string() };
    let out_of_range = || OpError::OutOfRange { path: path.to_string() };
    let mut cur = root;
    for s in parents {
        if cur.is_null() {
            *cur = Value::Object(serde_json::Map::new());
        }
        cur = match cur {
            Value::Object(m) => {
                if !m.contains_key(s.as_ref()) {
                    m.insert(s.to_string(), Value::Null);
                }
                m.get_mut(s.as_ref()).ok_or_else(through_scalar)?
            }
            Value::Array(a) => {
                let i: usize = s.parse().map_err(|_| OpError::NotAnIndex { segment: s.to_string() })?;
                a.get_mut(i).ok_or_else(out_of_range)?
            }
            _ => return Err(through_scalar()),
        };
    }
    if cur.is_null() {
        *cur = Value::Object(serde_json::Map::new());
    }
    match cur {
        Value::Object(m) => {
            m.insert(last.to_string(), value);
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
            } else {
                let i: usize = last.parse().map_err(|_| OpError::NotAnIndex { segment: last.to_string() })?;
                if i == a.len() {
                    a.push(value);
                } else {
                    *a.get_mut(i).ok_or_else(out_of_range)? = value;
                }
            }
        }
        _ => return Err(through_scalar()),
    }
    Ok(())
}

/// A fix as semantic operations; materialized into text edits, patches and snippets elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// Imperative title, e.g. "Set privileged to false" (most are static text, not copied).
    pub title: std::borrow::Cow<'static, str>,
    /// Whether it may be applied automatically.
    pub applicability: Applicability,
    /// The operations.
    pub ops: Vec<FixOp>,
    /// Why the fix is not safe, or what placeholders must be filled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<std::borrow::Cow<'static, str>>,
    /// The whole-line replacement in the source file (for GitHub suggested changes), when a
    /// faithful text edit exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<Box<Suggestion>>,
    /// The same change as a patch for a live object, and as a YAML snippet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Box<Patch>>,
    /// Why no faithful text edit exists (the fix is then shown, never applied to the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_error: Option<String>,
}

/// Lines `start_line..=end_line` (1-based, of the original file) become `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// File path.
    pub file: String,
    /// First replaced line.
    pub start_line: u32,
    /// Last replaced line (inclusive).
    pub end_line: u32,
    /// The new text of those lines, without the final newline.
    pub replacement: String,
}

/// A fix rendered for live objects and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patch {
    /// `strategic` (strategic merge patch) or `json` (RFC 6902 JSON patch).
    #[serde(rename = "type")]
    pub patch_type: String,
    /// The patch body as compact JSON.
    pub body: String,
    /// The exact `kubectl patch` command; absent when Kubernetes refuses the change on a live
    /// object (see `refused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubectl: Option<String>,
    /// Why the change cannot be patched into a live object (an immutable field, the apiVersion):
    /// apply the fixed manifest, recreating the object where the reason says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The change as a YAML snippet of the object, for reading.
    pub yaml: String,
}

impl Fix {
    /// A fix from operations.
    #[must_use]
    pub fn new(title: impl Into<std::borrow::Cow<'static, str>>, applicability: Applicability, ops: Vec<FixOp>) -> Fix {
        Fix { title: title.into(), applicability, ops, note: None, suggestion: None, patch: None, edit_error: None }
    }

    /// Adds an explanatory note.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<std::borrow::Cow<'static, str>>) -> Fix {
        self.note = Some(note.into());
        self
    }
}

/// (De)serializes a shared `ObjectRef` as the object itself.
/// Serde for a value shared through an `Arc`, written as the value itself.
mod shared {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().serialize(s)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Arc<T>, D::Error> {
        T::deserialize(d).map(Arc::new)
    }
}

/// One problem found on one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable hash of rule, object identity and field path.
    pub fingerprint: String,
    /// Rule id, e.g. `SEC001` (borrowed from the rule's metadata: no copy per finding).
    pub rule: std::borrow::Cow<'static, str>,
    /// Rule name, e.g. `privileged-container`.
    pub name: std::borrow::Cow<'static, str>,
    /// Severity after configuration.
    pub severity: Severity,
    /// Area.
    pub area: Area,
    /// What is wrong, specific to this object.
    pub message: String,
    /// The object, shared by every finding on it (one allocation per object, not per finding).
    #[serde(with = "shared")]
    pub object: std::sync::Arc<ObjectRef>,
    /// Where.
    pub location: Location,
    /// Facts behind it.
    pub evidence: Vec<Evidence>,
    /// A deterministic fix, when one exists.
    pub fix: Option<Box<Fix>>,
    /// How applying the fix changes the monthly cost, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Box<CostImpact>>,
    /// For live failures (area `diagnosis`): the class, hypotheses and their evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Box<Diagnosis>>,
    /// For an object rendered by Kustomize or Helm: the render it is in (`location` is then the
    /// editable source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<Box<Rendered>>,
    /// With `--manifests`, for a finding on a live object that only the live cluster can show
    /// (right-sizing from usage, `CST005`): the manifest it was deployed from and the fix there.
    /// Diagnoses carry theirs in `diagnosis.manifest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Box<ManifestLink>>,
}

impl Finding {
    /// The manifest this live finding links to (a diagnosis's or a usage finding's).
    #[must_use]
    pub fn manifest_link(&self) -> Option<&ManifestLink> {
        self.diagnosis.as_deref().and_then(|d| d.manifest.as_deref()).or(self.manifest.as_deref())
    }
}

/// A live failure, diagnosed from status and events: what fails, since when, how often, and the
/// ranked causes with the evidence behind each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Stable machine-readable class (`oom-killed`, `crash-loop`, ...): a contract.
    pub class: String,
    /// One line on what fails, e.g. "3 of 5 pods: container app OOMKilled".
    pub summary: String,
    /// Earliest time the failure was seen in the input (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// How often it happened (restarts, event counts, affected objects), at least 1.
    pub count: u64,
    /// Causes, most likely first.
    pub hypotheses: Vec<Hypothesis>,
    /// The manifest the failing object was deployed from (`analyze --manifests`), when linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Box<ManifestLink>>,
}

/// Where a live object's manifest is, and the fix for that file when a deterministic one exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestLink {
    /// The manifest object.
    pub object: ObjectRef,
    /// The file, line and field to change.
    pub location: Location,
    /// A fix on the manifest (its operations address the manifest object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

/// One possible cause of a diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hypothesis {
    /// The cause, e.g. "command not found (exit code 127)".
    pub cause: String,
    /// A stable sub-class where the signals allow one (`exit-127`, `not-found`, `unauthorized`,
    /// `insufficient-cpu`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subclass: Option<String>,
    /// How sure the signals make it.
    pub confidence: Confidence,
    /// The facts behind it: status fields, events, node conditions.
    pub evidence: Vec<Evidence>,
}

/// How strongly the signals support a hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Circumstantial.
    Low,
    /// Consistent with the signals, not proven by them.
    Medium,
    /// A status field or event says so.
    High,
}

impl Confidence {
    /// The lowercase name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// What a fix costs: the monthly cost of the affected workloads before and after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostImpact {
    /// ISO currency code.
    pub currency: String,
    /// Monthly cost of the affected workloads today.
    pub monthly_before: f64,
    /// Monthly cost once the fix is applied.
    pub monthly_after: f64,
    /// `monthly_after - monthly_before`: positive when the fix costs more.
    pub monthly_delta: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_create_parents_and_refuse_what_they_cannot_follow() {
        let body = serde_json::json!({"a": 1, "l": [1], "n": null, "m": {"k": 0}});
        let add = |path: &str, v: Value| FixOp::Add { path: path.to_string(), value: v.into() };
        let apply = |ops: &[FixOp]| apply_ops(&body, ops);
        let with = |patch: Value| {
            let mut b = body.clone();
            if let (Some(b), Value::Object(p)) = (b.as_object_mut(), patch) {
                b.extend(p);
            }
            b
        };
        assert_eq!(apply(&[add("/b/c", 2.into())]), Ok(with(serde_json::json!({"b": {"c": 2}}))));
        assert_eq!(apply(&[add("/m/k", 3.into())]), Ok(with(serde_json::json!({"m": {"k": 3}}))));
        assert_eq!(apply(&[add("/m/j/i", 3.into())]), Ok(with(serde_json::json!({"m": {"k": 0, "j": {"i": 3}}}))));
        assert_eq!(apply(&[add("/n/x", 1.into())]), Ok(with(serde_json::json!({"n": {"x": 1}}))));
        assert_eq!(apply(&[add("/x~1y/o~0p", 1.into())]), Ok(with(serde_json::json!({"x/y": {"o~p": 1}}))));
        assert_eq!(apply(&[add("/l/-", 2.into())]), Ok(with(serde_json::json!({"l": [1, 2]}))));
        assert_eq!(apply(&[add("/l/1", 2.into())]), Ok(with(serde_json::json!({"l": [1, 2]}))));
        assert_eq!(apply(&[add("/l/0", 2.into())]), Ok(with(serde_json::json!({"l": [2]}))));
        assert_eq!(apply(&[add("", 2.into())]), Ok(2.into()));
        assert_eq!(apply(&[add("/a/b", 2.into())]), Err(OpError::ThroughScalar { path: "/a/b".into() }));
        assert_eq!(apply(&[add("/a/b/c", 2.into())]), Err(OpError::ThroughScalar { path: "/a/b/c".into() }));
        assert_eq!(apply(&[add("/l/5", 2.into())]), Err(OpError::OutOfRange { path: "/l/5".into() }));
        assert_eq!(apply(&[add("/l/5/x", 2.into())]), Err(OpError::OutOfRange { path: "/l/5/x".into() }));
        assert_eq!(apply(&[add("/l/x", 2.into())]), Err(OpError::NotAnIndex { segment: "x".into() }));
        assert_eq!(apply(&[add("/l/x/y", 2.into())]), Err(OpError::NotAnIndex { segment: "x".into() }));
    }

    #[test]
    fn paths_are_normalised_for_identity() {
        assert_eq!(normalize_path("./k8s/a.yaml"), "k8s/a.yaml");
        assert_eq!(normalize_path("././k8s//regions/./a.yaml"), "k8s/regions/a.yaml");
        assert_eq!(normalize_path("k8s\\regions\\a.yaml"), "k8s/regions/a.yaml");
        assert_eq!(normalize_path("/abs/./a.yaml"), "/abs/a.yaml");
        assert_eq!(normalize_path("../shared/a.yaml"), "../shared/a.yaml");
        assert_eq!(normalize_path("-"), "-");
    }

    #[test]
    fn object_refs_display_as_people_name_objects() {
        let body = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        let o = Object::from_body(body, Origin::Cluster { context: "prod".into(), uid: "u1".into() });
        let r = ObjectRef::of(&o);
        assert_eq!(r.to_string(), "Deployment/default/web");
        assert_eq!((r.context.as_deref(), r.uid.as_deref(), r.group()), (Some("prod"), Some("u1"), "apps"));
        assert_eq!(o.display_id(), "Deployment/default/web");
        let role = serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "admin"}});
        let o = Object::from_body(role, Origin::File { path: "r.yaml".into(), document: 0, prefix: String::new() });
        assert_eq!(ObjectRef::of(&o).to_string(), "ClusterRole/admin");
        assert_eq!(o.origin.identity_source(), "r.yaml");
    }
}
