//! Backups: the live object as read before a patch, written to
//! `backups/<UTC time>/<cluster>/<kind>-<namespace>-<name>.yaml`, and an `index.json` beside the
//! cluster directories naming each file, its object and the `resourceVersion` the patch left. A
//! restore sends the backup's `spec`, labels and annotations as a merge patch with that
//! `resourceVersion` as a precondition: when someone changed the object after the patch, the
//! server refuses (409) and nothing is overwritten.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::apply::Cluster;
use crate::model::ObjectRef;

/// The index of one backup directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Index {
    /// One entry per patched object.
    pub entries: Vec<Entry>,
}

/// One backed-up object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The object.
    pub object: ObjectRef,
    /// The backup file, relative to the backup directory.
    pub file: String,
    /// `resourceVersion` of the backup (before the patch).
    pub resource_version: String,
    /// `resourceVersion` the patch left: the precondition of a restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patched_resource_version: Option<String>,
}

/// The name of a backup directory for a time (`2026-12-01T09:41:00Z` → `2026-12-01T09-41-00Z`).
#[must_use]
pub fn dir_name(now: &str) -> String {
    now.replace(':', "-")
}

/// A file name part without path separators.
fn part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

/// Writes the backup of `live` into `dir` (the run's backup directory) and returns its path.
///
/// # Errors
/// When the file cannot be written.
pub fn write(dir: &Path, context: &str, object: &ObjectRef, live: &Value) -> std::io::Result<PathBuf> {
    let mut body = live.clone();
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    let cluster_dir = dir.join(part(context));
    std::fs::create_dir_all(&cluster_dir)?;
    let file = cluster_dir.join(format!(
        "{}-{}-{}.yaml",
        object.kind.to_ascii_lowercase(),
        part(object.namespace.as_deref().unwrap_or("_cluster")),
        part(&object.name)
    ));
    // The object holds what its spec holds (environment values too): readable by its owner only.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&file)?, crate::fix::edit::to_block_yaml(&body).as_bytes())?;
    Ok(file)
}

/// Adds (or replaces) an entry of `dir/index.json`.
///
/// # Errors
/// When the index cannot be read or written.
pub fn record(dir: &Path, entry: Entry) -> std::io::Result<()> {
    let mut index = read_index(dir).unwrap_or_default();
    index.entries.retain(|e| e.object != entry.object);
    index.entries.push(entry);
    let text = serde_json::to_string_pretty(&index).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("index.json"), text + "\n")
}

/// Reads `dir/index.json`.
///
/// # Errors
/// When it is missing or not an index.
pub fn read_index(dir: &Path) -> Result<Index, String> {
    let path = dir.join("index.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a ClusterGPT backup index: {e}", path.display()))
}

/// Reads a backup file back into the object.
///
/// # Errors
/// When it cannot be read or parsed.
pub fn read_object(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let docs = crate::yaml::parse_stream(&text, crate::yaml::Limits::default())
        .map_err(|e| format!("{}:{}: {}", path.display(), e.line, e.message))?;
    docs.into_iter().find_map(|d| d.root).map(|n| n.to_json()).ok_or_else(|| format!("{} is empty", path.display()))
}

/// Annotations the controllers write (a Deployment's revision number, a DaemonSet's template
/// generation): a rollout changes them, and a restore must neither reset nor compare them.
const CONTROLLER_ANNOTATIONS: &[&str] = &["deployment.kubernetes.io/", "deprecated.daemonset.template.generation"];

/// The part of an object a restore puts back.
fn restorable(v: &Value) -> Value {
    let mut out = Map::new();
    if let Some(spec) = v.get("spec") {
        out.insert("spec".into(), spec.clone());
    }
    let mut meta = Map::new();
    for k in ["labels", "annotations"] {
        let mut m = v.pointer(&format!("/metadata/{k}")).cloned().unwrap_or_else(|| json!({}));
        if let Some(m) = m.as_object_mut() {
            m.retain(|key, _| !CONTROLLER_ANNOTATIONS.iter().any(|c| key.starts_with(c)));
        }
        meta.insert(k.into(), m);
    }
    out.insert("metadata".into(), Value::Object(meta));
    Value::Object(out)
}

/// Puts the backup's spec, labels and annotations back, with `precondition` (the
/// `resourceVersion` the patch left) so a later change by someone else is never overwritten.
///
/// # Errors
/// Why the object was not restored.
pub async fn restore(
    cluster: &Cluster,
    object: &ObjectRef,
    backup: &Value,
    precondition: &str,
) -> Result<String, String> {
    let current = cluster.get(object).await.map_err(|e| format!("cannot read the object: {e}"))?;
    let Some(mut patch) = super::plan::merge_diff(&restorable(&current), &restorable(backup)) else {
        return Ok("already as in the backup".to_string());
    };
    if let Some(m) = patch.as_object_mut() {
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("resourceVersion".into(), Value::String(precondition.to_string()));
        }
    }
    match cluster.patch(object, "merge", &patch, false).await {
        Ok(answer) => {
            let rv = answer.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default();
            Ok(format!("restored (resourceVersion {precondition} → {rv})"))
        }
        Err(super::apply::PatchError::Conflict(m)) => Err(format!(
            "not restored: the object changed after the patch (precondition resourceVersion {precondition}): {m}"
        )),
        Err(e) => Err(format!("not restored: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_have_no_colons() {
        assert_eq!(dir_name("2026-12-01T09:41:00Z"), "2026-12-01T09-41-00Z");
        assert_eq!(part("a/b:c"), "a_b_c");
    }

    #[test]
    fn restores_put_back_spec_labels_and_annotations() {
        let backup = json!({"metadata": {"name": "a", "labels": {"x": "1"},
            "annotations": {"deployment.kubernetes.io/revision": "2", "team": "a"}}, "spec": {"r": 1}, "status": {"s": 1}});
        // The controller's revision annotation is neither put back nor compared.
        assert_eq!(
            restorable(&backup),
            json!({"metadata": {"labels": {"x": "1"}, "annotations": {"team": "a"}}, "spec": {"r": 1}})
        );
    }
}
