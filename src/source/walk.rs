//! Finding the manifest files under the paths the user gave.
//!
//! Directories are walked recursively in sorted order, hidden entries skipped. Symbolic links are
//! followed, but every directory and file is visited once, by its canonical path: a link back to an
//! ancestor (a loop) is reported and not followed, and a directory or file reached a second time
//! through another link is read once. `--exclude`, `exclude:` and `.gitignore` prune the walk (see
//! [`super::filter`]); what they left out is reported once per path given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::filter::{Filter, GitignoreStack, Reason};
use super::{InputError, Skipped, is_manifest_path, kustomize};

/// What a walk found.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// Manifest files (and `-` for stdin), in walk order.
    pub files: Vec<PathBuf>,
    /// Kustomization files in the walked directories and next to files given by name, which say
    /// which files are patches.
    pub kustomizations: Vec<PathBuf>,
    /// Directories (walked, not named files' directories) that hold a kustomization.
    pub kustomize_dirs: Vec<PathBuf>,
    /// Directories that hold a Helm chart (`Chart.yaml` and `templates/`).
    pub charts: Vec<PathBuf>,
    /// Paths that could not be read.
    pub errors: Vec<InputError>,
    /// Links not followed (loops) and files or directories reached twice.
    pub skipped: Vec<Skipped>,
}

struct Walker<'f> {
    out: Collected,
    filter: &'f Filter,
    /// `.gitignore` rules in force; only used when the walk is inside a repository.
    gitignore: Option<GitignoreStack>,
    /// Paths left out under the current root, with why.
    left_out: Vec<(PathBuf, Reason)>,
    /// Canonical directory → the path it was first read through.
    dirs: BTreeMap<PathBuf, PathBuf>,
    /// Canonical file → the path it was first read through.
    files: BTreeMap<PathBuf, PathBuf>,
    /// Canonical directories being walked, outermost first: a link to one of them is a loop.
    stack: Vec<(PathBuf, PathBuf)>,
    /// Manifest files met (including ones already read through another path).
    seen: usize,
}

fn error(path: &Path, message: String) -> InputError {
    InputError { source: path.display().to_string(), line: None, column: None, message }
}

fn skipped(path: &Path, reason: String) -> Skipped {
    Skipped { source: path.display().to_string(), document: None, line: None, reason }
}

/// Lists the manifest files under `paths`: directories recursively, files as given (whatever their
/// extension), `-` as stdin.
pub(crate) fn collect(paths: &[PathBuf], filter: &Filter) -> Collected {
    let mut w = Walker {
        out: Collected::default(),
        filter,
        gitignore: None,
        left_out: Vec::new(),
        dirs: BTreeMap::new(),
        files: BTreeMap::new(),
        stack: Vec::new(),
        seen: 0,
    };
    for p in paths {
        if p.as_os_str() == "-" {
            w.out.files.push(p.clone());
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let before = w.seen;
                w.gitignore = match std::fs::canonicalize(p) {
                    Ok(c) if filter.honours_gitignore() && filter.repo_top(&c).is_some() => {
                        Some(GitignoreStack::above(&c, filter))
                    }
                    _ => None,
                };
                w.dir(p);
                w.report_left_out(p);
                if w.seen == before && !w.out.skipped.iter().any(|s| s.source == p.display().to_string()) {
                    w.out.errors.push(error(p, "no .yaml, .yml or .json files in this directory".to_string()));
                }
            }
            Ok(_) => {
                w.file(p);
                // A file named on its own may still be a patch of the kustomization next to it.
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                for name in kustomize::FILE_NAMES {
                    let k = dir.join(name);
                    if k.is_file() {
                        w.out.kustomizations.push(k);
                    }
                }
            }
            Err(e) => w.out.errors.push(error(p, format!("cannot read: {e}"))),
        }
    }
    w.out
}

impl Walker<'_> {
    /// One line per path given: how many entries the filters left out, the first few by name.
    fn report_left_out(&mut self, root: &Path) {
        for (reason, how, undo) in [
            (Reason::Exclude, "--exclude/exclude:", "narrow the globs to read them"),
            (Reason::Gitignore, ".gitignore", "--no-ignore reads them"),
        ] {
            let names: Vec<String> = self
                .left_out
                .iter()
                .filter(|(_, r)| *r == reason)
                .map(|(p, _)| p.strip_prefix(root).unwrap_or(p).display().to_string())
                .collect();
            if names.is_empty() {
                continue;
            }
            let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
            let more = if names.len() > shown.len() {
                format!(" and {} more", names.len() - shown.len())
            } else {
                String::new()
            };
            let what = if names.len() == 1 { "path" } else { "paths" };
            let reason = format!("{} {what} left out by {how} ({}{more}); {undo}", names.len(), shown.join(", "));
            self.out.skipped.push(skipped(root, reason));
        }
        self.left_out.clear();
    }

    fn file(&mut self, p: &Path) {
        self.seen += 1;
        let Ok(canonical) = std::fs::canonicalize(p) else {
            // Reading it will report why (a dangling link, for one).
            self.out.files.push(p.to_path_buf());
            return;
        };
        if let Some(first) = self.files.get(&canonical) {
            let reason = format!("same file as {}; read once", first.display());
            self.out.skipped.push(skipped(p, reason));
            return;
        }
        self.files.insert(canonical, p.to_path_buf());
        self.out.files.push(p.to_path_buf());
    }

    fn dir(&mut self, dir: &Path) {
        let canonical = match std::fs::canonicalize(dir) {
            Ok(c) => c,
            Err(e) => {
                self.out.errors.push(error(dir, format!("cannot list directory: {e}")));
                return;
            }
        };
        if let Some((_, ancestor)) = self.stack.iter().find(|(c, _)| *c == canonical) {
            let reason = format!(
                "symbolic link loop: this leads back to {}, which is being read; not followed",
                ancestor.display()
            );
            self.out.skipped.push(skipped(dir, reason));
            return;
        }
        if let Some(first) = self.dirs.get(&canonical) {
            let reason = format!("same directory as {}; read once", first.display());
            self.out.skipped.push(skipped(dir, reason));
            return;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.out.errors.push(error(dir, format!("cannot list directory: {e}")));
                return;
            }
        };
        self.dirs.insert(canonical.clone(), dir.to_path_buf());
        let own_gitignore = self.gitignore.as_mut().is_some_and(|g| g.enter(&canonical));
        self.stack.push((canonical.clone(), dir.to_path_buf()));
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let Some(name) = p.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
            if name.starts_with('.') {
                continue;
            }
            let is_dir = p.is_dir();
            if !is_dir && !is_manifest_path(&p) && !kustomize::FILE_NAMES.contains(&name.as_str()) {
                continue;
            }
            let abs = canonical.join(&name);
            if self.filter.excluded(&abs, is_dir) {
                self.left_out.push((p, Reason::Exclude));
                continue;
            }
            if self.gitignore.as_ref().is_some_and(|g| g.ignored(&abs, is_dir)) {
                self.left_out.push((p, Reason::Gitignore));
                continue;
            }
            if kustomize::FILE_NAMES.contains(&name.as_str()) {
                if !self.out.kustomizations.iter().any(|k| k.parent() == Some(dir)) {
                    self.out.kustomize_dirs.push(dir.to_path_buf());
                }
                self.out.kustomizations.push(p.clone());
            }
            if name == "Chart.yaml" && dir.join("templates").is_dir() {
                self.out.charts.push(dir.to_path_buf());
            }
            if is_dir {
                self.dir(&p);
            } else if is_manifest_path(&p) {
                self.file(&p);
            }
        }
        self.stack.pop();
        if own_gitignore && let Some(g) = self.gitignore.as_mut() {
            g.leave();
        }
    }
}
