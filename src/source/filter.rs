//! Which walked paths are left out: `--exclude` globs, `exclude:` in the config, and `.gitignore`.
//!
//! Globs use gitignore syntax (`vendor/`, `*.generated.yaml`, `/charts/**/tests`), matched as git
//! matches them: a pattern with a slash is anchored to its root (the working directory for
//! `--exclude`, the config file's directory for `exclude:`), one without matches at any depth.
//! `.gitignore` files are honoured, as ripgrep and fd do, only inside a git repository: the
//! repository's `.git/info/exclude`, every `.gitignore` from the repository root down to the walked
//! directory, and those met while walking. Paths named on the command line are always read.

use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// What to leave out of directory walks.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Matchers from `--exclude` and `exclude:`, each rooted where its patterns were written.
    excludes: Vec<Gitignore>,
    /// Whether `.gitignore` files are honoured (`--no-ignore` turns this off).
    gitignore: bool,
    /// A commit's tree written out (canonical) and the repository top it stands for: paths in it
    /// are matched as the same paths in the repository, and it counts as a repository of its own.
    tree: Option<(PathBuf, PathBuf)>,
}

impl Default for Filter {
    /// No excludes; `.gitignore` honoured.
    fn default() -> Filter {
        Filter { excludes: Vec::new(), gitignore: true, tree: None }
    }
}

/// Why a path was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    Exclude,
    Gitignore,
}

impl Filter {
    /// A filter from globs rooted at directories (`--exclude` at the working directory, `exclude:`
    /// at the config file's directory).
    ///
    /// # Errors
    /// A glob that does not parse, named with where it came from.
    pub fn new<'a>(
        globs: impl IntoIterator<Item = (&'a Path, &'a [String], &'a str)>,
        gitignore: bool,
    ) -> Result<Filter, String> {
        let mut excludes = Vec::new();
        for (root, patterns, origin) in globs {
            if patterns.is_empty() {
                continue;
            }
            let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
            let mut b = GitignoreBuilder::new(&root);
            for p in patterns {
                b.add_line(None, p).map_err(|e| format!("{origin}: {e}"))?;
            }
            excludes.push(b.build().map_err(|e| format!("{origin}: {e}"))?);
        }
        Ok(Filter { excludes, gitignore, tree: None })
    }

    /// This filter for a walk of a commit's tree written out at `tree` (canonical): excludes
    /// match as at the same path under `top`, and `.gitignore` files are the commit's own.
    #[must_use]
    pub fn in_tree(&self, tree: &Path, top: &Path) -> Filter {
        Filter { tree: Some((tree.to_path_buf(), top.to_path_buf())), ..self.clone() }
    }

    /// The repository top directory `dir` (absolute, canonical) is in, if any.
    pub(crate) fn repo_top(&self, dir: &Path) -> Option<PathBuf> {
        if let Some((tree, _)) = &self.tree
            && dir.starts_with(tree)
        {
            return Some(tree.clone());
        }
        dir.ancestors().find(|a| a.join(".git").exists()).map(Path::to_path_buf)
    }

    pub(crate) fn honours_gitignore(&self) -> bool {
        self.gitignore
    }

    /// Whether `--exclude`/`exclude:` leaves out this path (absolute, canonical).
    pub(crate) fn excluded(&self, path: &Path, is_dir: bool) -> bool {
        let mapped;
        let path = match &self.tree {
            Some((tree, top)) if let Ok(rest) = path.strip_prefix(tree) => {
                mapped = top.join(rest);
                mapped.as_path()
            }
            _ => path,
        };
        self.excludes.iter().any(|g| path.starts_with(g.path()) && g.matched(path, is_dir).is_ignore())
    }
}

/// Answers "is this file left out?" for files not met by a walk (a git tree's entries), so that
/// `diff --base` reads the same files on both sides. Caches the rules per directory.
#[derive(Debug)]
pub struct PathCheck<'f> {
    filter: &'f Filter,
    rules: std::collections::BTreeMap<PathBuf, GitignoreStack>,
}

impl<'f> PathCheck<'f> {
    #[must_use]
    pub fn new(filter: &'f Filter) -> PathCheck<'f> {
        PathCheck { filter, rules: std::collections::BTreeMap::new() }
    }

    /// Whether a walk from `root` (absolute, canonical) would leave out `file` (absolute, under
    /// `root`): the file or a directory between them is excluded or ignored.
    pub fn leaves_out(&mut self, root: &Path, file: &Path) -> bool {
        let Some(parent) = file.parent() else { return false };
        let mut chain: Vec<&Path> = file.ancestors().take_while(|a| a.starts_with(root) && *a != root).collect();
        chain.reverse();
        if chain.iter().any(|p| self.filter.excluded(p, *p != file)) {
            return true;
        }
        if !self.filter.gitignore {
            return false;
        }
        let filter = self.filter;
        let rules = self.rules.entry(parent.to_path_buf()).or_insert_with(|| {
            let mut g = GitignoreStack::above(parent, filter);
            g.enter(parent);
            g
        });
        chain.iter().any(|p| rules.ignored(p, *p != file))
    }
}

/// The `.gitignore` rules in force in one directory of a walk, innermost last.
#[derive(Debug, Clone, Default)]
pub(crate) struct GitignoreStack {
    layers: Vec<Gitignore>,
}

impl GitignoreStack {
    /// The rules that apply at `dir` (absolute, canonical) before its own `.gitignore` is read: the
    /// repository's `info/exclude` and the `.gitignore` files of its ancestors inside the
    /// repository. Empty outside a repository.
    pub(crate) fn above(dir: &Path, filter: &Filter) -> GitignoreStack {
        let Some(top) = filter.repo_top(dir) else { return GitignoreStack::default() };
        let mut layers = Vec::new();
        if let Some(g) = read(&top, &git_dir(&top).join("info").join("exclude")) {
            layers.push(g);
        }
        let mut chain: Vec<&Path> = dir.ancestors().skip(1).take_while(|a| a.starts_with(&top)).collect();
        chain.reverse();
        layers.extend(chain.into_iter().filter_map(|a| read(a, &a.join(".gitignore"))));
        GitignoreStack { layers }
    }

    /// Adds `dir`'s own `.gitignore`; returns whether there was one (to pop it afterwards).
    pub(crate) fn enter(&mut self, dir: &Path) -> bool {
        match read(dir, &dir.join(".gitignore")) {
            Some(g) => {
                self.layers.push(g);
                true
            }
            None => false,
        }
    }

    pub(crate) fn leave(&mut self) {
        self.layers.pop();
    }

    /// Whether the innermost rule that speaks about `path` ignores it (a later `!pattern` or a
    /// deeper `.gitignore` can re-include what an outer one ignored).
    pub(crate) fn ignored(&self, path: &Path, is_dir: bool) -> bool {
        for g in self.layers.iter().rev() {
            if !path.starts_with(g.path()) {
                continue;
            }
            match g.matched(path, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }
}

/// `.git` is a directory, or (worktrees, submodules) a file naming one.
fn git_dir(top: &Path) -> PathBuf {
    let dot = top.join(".git");
    if let Ok(text) = std::fs::read_to_string(&dot)
        && let Some(rest) = text.trim().strip_prefix("gitdir:")
    {
        let p = PathBuf::from(rest.trim());
        return if p.is_absolute() { p } else { top.join(p) };
    }
    dot
}

/// A rules file rooted at `root`; absent, unreadable or empty files give nothing (git ignores an
/// unreadable `.gitignore` too).
fn read(root: &Path, file: &Path) -> Option<Gitignore> {
    if !file.is_file() {
        return None;
    }
    let mut b = GitignoreBuilder::new(root);
    // A bad line is skipped, as git skips it; the rest of the file still applies.
    let _ = b.add(file);
    let g = b.build().ok()?;
    (!g.is_empty()).then_some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_and_unanchored_excludes() {
        let root = Path::new("/repo");
        let pats = vec!["vendor/".to_string(), "/charts/*/tests".to_string(), "*.generated.yaml".to_string()];
        let f = Filter::new([(root, pats.as_slice(), "--exclude")], true).unwrap_or_default();
        assert!(f.excluded(Path::new("/repo/a/vendor"), true));
        assert!(!f.excluded(Path::new("/repo/a/vendor"), false), "a trailing slash matches directories only");
        assert!(f.excluded(Path::new("/repo/charts/api/tests"), true));
        assert!(!f.excluded(Path::new("/repo/x/charts/api/tests"), true), "a slash anchors to the root");
        assert!(f.excluded(Path::new("/repo/k8s/x.generated.yaml"), false));
        assert!(!f.excluded(Path::new("/elsewhere/x.generated.yaml"), false), "outside its root");
    }

    #[test]
    fn in_a_commits_tree_excludes_match_as_in_the_repository() {
        let pats = vec!["/k8s/vendor/".to_string()];
        let f = Filter::new([(Path::new("/repo"), pats.as_slice(), "--exclude")], true).unwrap_or_default();
        let t = f.in_tree(Path::new("/tmp/tree"), Path::new("/repo"));
        assert!(t.excluded(Path::new("/tmp/tree/k8s/vendor"), true));
        assert!(!t.excluded(Path::new("/tmp/tree/k8s/app"), true));
        assert!(!f.excluded(Path::new("/tmp/tree/k8s/vendor"), true), "only the tree's filter maps");
        // The tree is a repository of its own for `.gitignore`, whatever is above it.
        assert_eq!(t.repo_top(Path::new("/tmp/tree/k8s")), Some(PathBuf::from("/tmp/tree")));
    }

    #[test]
    fn a_bad_glob_names_its_origin() {
        let pats = vec!["{a,b".to_string()];
        let e = Filter::new([(Path::new("/r"), pats.as_slice(), "--exclude")], true).err().unwrap_or_default();
        assert!(e.starts_with("--exclude: error parsing glob '{a,b': unclosed"), "{e}");
    }
}
