//! Kustomize patch files.
//!
//! A file that a kustomization lists under `patches` (path form), `patchesStrategicMerge` or
//! `patchesJson6902` holds a partial object (or JSON patch operations) that Kustomize merges into a
//! resource: audited on its own it yields false findings (no selector, no containers...). Such files
//! are listed as skipped; the built output is what to audit. Kustomize itself is not run here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Skipped;
use super::provenance::lexical;
use crate::yaml::{self, Limits, Node, NodeKind};

/// The file names Kustomize reads a kustomization from.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether a path names a kustomization file.
#[must_use]
pub fn is_kustomization(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| FILE_NAMES.contains(&n))
}

/// Everything a kustomization reads, as written (relative to its directory): resources and bases
/// (files or directories), components, patch files, generator and replacement files. Remote
/// resources (URLs) are left out. Text that does not parse lists nothing.
#[must_use]
pub fn references(text: &str) -> Vec<String> {
    let Ok(docs) = yaml::parse_stream(text, Limits::default()) else { return Vec::new() };
    let Some(root) = docs.into_iter().next().and_then(|d| d.root) else { return Vec::new() };
    let items = |n: &Node, key: &str| -> Vec<Node> {
        match n.get(key).map(|n| &n.kind) {
            Some(NodeKind::Seq(items)) => items.clone(),
            _ => Vec::new(),
        }
    };
    let mut out = patch_paths(text);
    for key in
        ["resources", "bases", "components", "crds", "transformers", "generators", "validators", "configurations"]
    {
        out.extend(items(&root, key).iter().filter_map(Node::as_str).filter(|s| !s.contains('\n')).map(str::to_string));
    }
    for key in ["configMapGenerator", "secretGenerator"] {
        for g in items(&root, key) {
            for k in ["files", "envs"] {
                // `files` entries may be `key=path`.
                out.extend(
                    items(&g, k).iter().filter_map(Node::as_str).map(|s| s.rsplit('=').next().unwrap_or(s).to_string()),
                );
            }
            if let Some(e) = g.get("env").and_then(Node::as_str) {
                out.push(e.to_string());
            }
        }
    }
    out.extend(items(&root, "replacements").iter().filter_map(|r| r.get("path")?.as_str().map(str::to_string)));
    out.retain(|p| {
        !p.trim().is_empty() && !p.contains("://") && !p.starts_with("git@") && !p.starts_with("github.com/")
    });
    out
}

/// Whether a kustomization is a `kind: Component` (only ever included by another one).
#[must_use]
pub fn is_component(text: &str) -> bool {
    let Ok(docs) = yaml::parse_stream(text, Limits::default()) else { return false };
    docs.into_iter()
        .next()
        .and_then(|d| d.root)
        .is_some_and(|r| r.get("kind").and_then(Node::as_str) == Some("Component"))
}

/// The patch files a kustomization lists, as written (relative to its directory). Inline patches
/// are not files and are left out; text that does not parse lists nothing.
#[must_use]
pub fn patch_paths(text: &str) -> Vec<String> {
    let Ok(docs) = yaml::parse_stream(text, Limits::default()) else { return Vec::new() };
    let Some(root) = docs.into_iter().next().and_then(|d| d.root) else { return Vec::new() };
    let items = |key: &str| -> Vec<Node> {
        match root.get(key).map(|n| &n.kind) {
            Some(NodeKind::Seq(items)) => items.clone(),
            _ => Vec::new(),
        }
    };
    let mut out = Vec::new();
    for key in ["patches", "patchesJson6902"] {
        out.extend(items(key).iter().filter_map(|i| i.get("path")?.as_str().map(str::to_string)));
    }
    // A strategic-merge entry is a path or an inline patch (a block of YAML).
    out.extend(
        items("patchesStrategicMerge")
            .iter()
            .filter_map(Node::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.contains('\n') && !s.starts_with('{'))
            .map(str::to_string),
    );
    out.retain(|p| !p.trim().is_empty());
    out
}

/// The patch files listed by a set of kustomizations.
#[derive(Debug, Default)]
pub struct Patches {
    /// Patch file (normalized) → the kustomization that lists it.
    by_path: BTreeMap<PathBuf, PathBuf>,
    /// Paths are compared by their canonical form on disk (else lexically).
    on_disk: bool,
}

impl Patches {
    /// Reads kustomization files from disk; patch paths are matched by canonical path, so a
    /// patch reached through a symbolic link is still recognised. Unreadable files list nothing.
    #[must_use]
    pub fn read(kustomizations: &[PathBuf]) -> Patches {
        let mut p = Patches { by_path: BTreeMap::new(), on_disk: true };
        let mut sorted = kustomizations.to_vec();
        sorted.sort();
        sorted.dedup();
        for k in sorted {
            if let Ok(text) = std::fs::read_to_string(&k) {
                p.add(&k, &text);
            }
        }
        p
    }

    /// Takes the kustomizations among files held in memory (a git tree, for one); paths are
    /// matched lexically, as given.
    #[must_use]
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a Path, &'a [u8])>) -> Patches {
        let mut p = Patches::default();
        let mut found: Vec<(&Path, &[u8])> = files.into_iter().filter(|(path, _)| is_kustomization(path)).collect();
        found.sort();
        for (path, bytes) in found {
            if let Ok(text) = std::str::from_utf8(bytes) {
                p.add(path, text);
            }
        }
        p
    }

    fn add(&mut self, kustomization: &Path, text: &str) {
        let dir = kustomization.parent().unwrap_or(Path::new(""));
        for rel in patch_paths(text) {
            let key = self.normalize(&dir.join(rel));
            self.by_path.entry(key).or_insert_with(|| kustomization.to_path_buf());
        }
    }

    fn normalize(&self, p: &Path) -> PathBuf {
        if self.on_disk
            && let Ok(c) = std::fs::canonicalize(p)
        {
            return c;
        }
        lexical(p)
    }

    /// Whether no kustomization listed any patch.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// The skipped entry for `file` when a kustomization lists it as a patch.
    #[must_use]
    pub fn skipped(&self, file: &Path) -> Option<Skipped> {
        if self.by_path.is_empty() {
            return None;
        }
        let k = self.by_path.get(&self.normalize(file))?;
        let dir = match k.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.display().to_string(),
            _ => ".".to_string(),
        };
        Some(Skipped {
            source: file.display().to_string(),
            // The whole file: it is not parsed.
            document: None,
            line: None,
            reason: format!(
                "Kustomize patch (listed in {}); audit the built output: `kubectl kustomize {dir} | clustergpt analyze -`",
                k.display()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_path_patches_but_not_inline_ones() {
        let text = "\
resources: [deployment.yaml]
patches:
  - path: replicas.yaml
    target: {kind: Deployment}
  - patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
patchesStrategicMerge:
  - memory.yaml
  - |-
    apiVersion: apps/v1
    kind: Deployment
patchesJson6902:
  - target: {group: apps, version: v1, kind: Deployment, name: web}
    path: ops/json-patch.yaml
";
        assert_eq!(patch_paths(text), ["replicas.yaml", "ops/json-patch.yaml", "memory.yaml"]);
        assert!(patch_paths("{{ not yaml").is_empty());
        assert!(patch_paths("patches: 3").is_empty());
    }

    #[test]
    fn matches_paths_lexically_in_memory() {
        let k = b"patches:\n  - path: ../../base/patches/p.yaml\npatchesStrategicMerge: [./local.yaml]\n";
        let files: Vec<(&Path, &[u8])> = vec![(Path::new("k8s/overlays/prod/kustomization.yaml"), k)];
        let p = Patches::from_files(files);
        let s = p.skipped(Path::new("k8s/base/patches/p.yaml")).map(|s| s.reason);
        assert_eq!(
            s.as_deref(),
            Some(
                "Kustomize patch (listed in k8s/overlays/prod/kustomization.yaml); audit the built output: \
                 `kubectl kustomize k8s/overlays/prod | clustergpt analyze -`"
            )
        );
        assert!(p.skipped(Path::new("k8s/overlays/prod/local.yaml")).is_some());
        assert!(p.skipped(Path::new("./k8s/overlays/prod/local.yaml")).is_some());
        assert!(p.skipped(Path::new("k8s/overlays/prod/kustomization.yaml")).is_none());
        assert_eq!(lexical(Path::new("/../a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(lexical(Path::new("../a")), PathBuf::from("../a"));
    }
}
