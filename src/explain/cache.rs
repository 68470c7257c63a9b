//! Validated answers on disk, so a rerun on the same facts is free and byte-identical.
//!
//! The key is a SHA-256 over everything that shapes an answer: the prompt and schema version, the
//! schema, the model, the endpoint's host and port, and the canonical facts as sent (after
//! pseudonyms, which are stable, so anonymised runs hit the cache too). Only answers that passed
//! validation are stored; a hit is validated again before use, so a damaged file is a miss.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// `$XDG_CACHE_HOME` relative directory of the explainer's files.
const SUBDIR: &str = "clustergpt/explain";

/// A cache directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache in `dir` (created on first write).
    #[must_use]
    pub fn at(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// `$XDG_CACHE_HOME/clustergpt/explain`, else `$HOME/.cache/clustergpt/explain` (on Windows
    /// `%LOCALAPPDATA%\clustergpt\explain`); `None` when none of them is set.
    pub fn default_dir(get: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
        let set = |k: &str| get(k).filter(|v| !v.trim().is_empty()).map(PathBuf::from);
        let base = set("XDG_CACHE_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| set("HOME").map(|h| h.join(".cache")))
            .or_else(|| set("LOCALAPPDATA"))?;
        Some(base.join(SUBDIR))
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of an answer (64 hex characters).
    #[must_use]
    pub fn key(parts: &[&str]) -> String {
        let mut h = Sha256::new();
        for p in parts {
            // Length-prefixed, so no two part lists hash alike.
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn file(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The stored answer text, if any.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.file(key)).ok()
    }

    /// Stores an answer (already validated) atomically: a reader never sees half a file.
    ///
    /// # Errors
    /// When the directory or file cannot be written.
    pub fn put(&self, key: &str, answer: &str) -> Result<(), String> {
        create_private_dir(&self.dir)?;
        let tmp = self.dir.join(format!(".{key}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, answer).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, self.file(key)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", self.file(key).display())
        })
    }
}

/// Creates `dir` (and parents), readable by the owner only where the platform has modes.
///
/// # Errors
/// When it cannot be created.
pub fn create_private_dir(dir: &Path) -> Result<(), String> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_follows_xdg_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_string())
        };
        assert_eq!(
            Cache::default_dir(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/clustergpt/explain"))
        );
        // A relative XDG_CACHE_HOME is invalid by the spec: ignored.
        assert_eq!(
            Cache::default_dir(env(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/clustergpt/explain"))
        );
        assert_eq!(Cache::default_dir(env(&[])), None);
    }

    #[test]
    fn keys_separate_parts() {
        assert_ne!(Cache::key(&["ab", "c"]), Cache::key(&["a", "bc"]));
        assert_eq!(Cache::key(&["a"]).len(), 64);
    }
}
