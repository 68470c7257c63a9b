//! Git as an input source: manifests as they were at a commit, read without touching the working
//! tree, and the one place the crate runs `git`.
//!
//! `git ls-tree` lists the files under the given paths at the commit and `git cat-file --batch`
//! reads their blobs; names are shown the way `analyze` shows the same paths in the working tree,
//! so base and head reports line up.
//!
//! Errors say what went wrong, never which flag to use instead: each command adds its own advice.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::source::{self, Input};
use crate::yaml::Limits;

/// Why git could not give what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `git` could not be started (not installed, not on `PATH`).
    #[error("cannot run git: {0}")]
    GitMissing(#[source] std::io::Error),
    /// The directory is not inside a git work tree.
    #[error("{} is not inside a git repository ({detail})", dir.display())]
    NotARepo {
        /// The directory.
        dir: PathBuf,
        /// What git said.
        detail: String,
    },
    /// The text cannot be a ref (empty, or it would read as an option).
    #[error("`{rev}` is not a git ref")]
    InvalidRef {
        /// The text.
        rev: String,
    },
    /// The ref names no commit in this repository (a shallow clone, or not fetched).
    #[error("git ref `{rev}` not found in this repository")]
    RefNotFound {
        /// The ref.
        rev: String,
    },
    /// Standard input (`-`) has no version at a commit.
    #[error("standard input (`-`) has no version at a commit; give the paths of the manifests")]
    Stdin,
    /// A path outside the repository.
    #[error("{} is outside the git repository at {}", path.display(), top.display())]
    OutsideRepo {
        /// The path as given.
        path: PathBuf,
        /// The repository's top directory.
        top: PathBuf,
    },
    /// A git command failed.
    #[error("git {command} failed: {detail}")]
    Failed {
        /// The git subcommand.
        command: String,
        /// The first line git printed on stderr.
        detail: String,
    },
    /// The commit's files could not be written to a temporary directory.
    #[error("cannot write the commit's files to a temporary directory: {0}")]
    TempTree(#[source] std::io::Error),
    /// Reading git's output failed or it was not what git prints.
    #[error("reading git {command}: {detail}")]
    Read {
        /// The git subcommand.
        command: String,
        /// What was wrong.
        detail: String,
    },
}

/// The subcommand in an argument list, for messages: the first word that is not an option.
fn subcommand(args: &[&str]) -> String {
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if *a == "-c" || *a == "-C" {
            skip = true;
        } else if !a.starts_with('-') {
            return (*a).to_string();
        }
    }
    args.first().map(|s| (*s).to_string()).unwrap_or_default()
}

fn stderr_line(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or_default().trim().to_string()
}

/// `git ARGS` in `dir`: every git process of the crate starts here.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("git");
    c.args(args).current_dir(dir);
    c
}

/// Runs git in `dir` with stdin closed and returns its output, whether git succeeded or not.
///
/// # Errors
/// [`Error::GitMissing`] when git cannot be started.
pub fn output(dir: &Path, args: &[&str]) -> Result<Output, Error> {
    command(dir, args).stdin(Stdio::null()).output().map_err(Error::GitMissing)
}

/// Runs git in `dir` and returns what it printed on stdout.
///
/// # Errors
/// [`Error::GitMissing`], or [`Error::Failed`] with git's first stderr line.
pub fn run(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let o = output(dir, args)?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(Error::Failed { command: subcommand(args), detail: stderr_line(&o) })
    }
}

/// Resolves a ref to a commit id.
///
/// # Errors
/// [`Error::InvalidRef`], [`Error::NotARepo`] when `dir` is not in a git work tree,
/// [`Error::RefNotFound`] when the ref names no commit there.
pub fn resolve(dir: &Path, rev: &str) -> Result<String, Error> {
    if rev.is_empty() || rev.starts_with('-') {
        return Err(Error::InvalidRef { rev: rev.to_string() });
    }
    let inside = output(dir, &["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() {
        return Err(Error::NotARepo { dir: dir.to_path_buf(), detail: stderr_line(&inside) });
    }
    let spec = format!("{rev}^{{commit}}");
    let o = output(dir, &["rev-parse", "--verify", "--quiet", &spec])?;
    let sha = String::from_utf8_lossy(&o.stdout).trim().to_string();
    if !o.status.success() || sha.is_empty() {
        return Err(Error::RefNotFound { rev: rev.to_string() });
    }
    Ok(sha)
}

/// A path without `.` and `..` components, lexically: `./k8s/` → `k8s`, `.` → empty.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// One file at the commit: its display name and blob id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    name: PathBuf,
    oid: String,
}

/// The repository's top directory, canonical.
fn toplevel(dir: &Path) -> Result<PathBuf, Error> {
    let o = output(dir, &["rev-parse", "--show-toplevel"])?;
    if !o.status.success() {
        return Err(Error::NotARepo { dir: dir.to_path_buf(), detail: stderr_line(&o) });
    }
    let top = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim_end_matches(['\n', '\r']));
    Ok(top.canonicalize().unwrap_or(top))
}

/// One `git ls-tree -z` record: mode, object type, object id and repository-relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// File mode (`100644`, `100755`, `120000` for a symlink).
    pub mode: String,
    /// `blob`, `tree` or `commit` (a submodule).
    pub kind: String,
    /// Object id.
    pub oid: String,
    /// Path, relative to the repository's top directory.
    pub path: String,
}

impl TreeEntry {
    /// A regular file: a blob that is not a symlink.
    #[must_use]
    pub fn is_file(&self) -> bool {
        self.kind == "blob" && self.mode != "120000"
    }
}

/// Lists the files under `pathspecs` at commit `sha` (`git ls-tree -r --full-name`), run in `dir`.
///
/// # Errors
/// When git fails.
pub fn ls_tree(dir: &Path, sha: &str, pathspecs: &[&str]) -> Result<Vec<TreeEntry>, Error> {
    let mut args = vec!["--literal-pathspecs", "ls-tree", "-r", "-z", "--full-name", sha, "--"];
    args.extend_from_slice(pathspecs);
    let o = output(dir, &args)?;
    if !o.status.success() {
        return Err(Error::Failed { command: format!("ls-tree {sha}"), detail: stderr_line(&o) });
    }
    let mut out = Vec::new();
    for rec in o.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        // `<mode> SP <type> SP <oid> TAB <path>`
        let text = String::from_utf8_lossy(rec);
        let Some((meta, path)) = text.split_once('\t') else { continue };
        let mut parts = meta.split(' ');
        if let (Some(mode), Some(kind), Some(oid)) = (parts.next(), parts.next(), parts.next()) {
            out.push(TreeEntry { mode: mode.into(), kind: kind.into(), oid: oid.into(), path: path.into() });
        }
    }
    Ok(out)
}

/// Lists the manifest files under `path` (as the user gave it, relative to `dir`) at commit `sha`.
fn list(
    dir: &Path,
    top: &Path,
    sha: &str,
    path: &Path,
    check: &mut source::filter::PathCheck,
) -> Result<Vec<Entry>, Error> {
    let cwd = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let abs = if path.is_absolute() { path.to_path_buf() } else { cwd.join(path) };
    // The path may not exist in the working tree (deleted by the change): fall back to lexical.
    let abs = abs.canonicalize().unwrap_or_else(|_| normalize(&abs));
    let Ok(rel) = abs.strip_prefix(top) else {
        return Err(Error::OutsideRepo { path: path.to_path_buf(), top: top.to_path_buf() });
    };
    let rel = rel.to_path_buf();
    let spec = if rel.as_os_str().is_empty() { ".".to_string() } else { rel.to_string_lossy().to_string() };
    // Blobs only: not symlinks or submodules.
    let mut raw: Vec<(PathBuf, String)> = ls_tree(top, sha, &[&spec])?
        .into_iter()
        .filter(TreeEntry::is_file)
        .map(|e| (PathBuf::from(e.path), e.oid))
        .collect();
    // A path naming one file is read whatever its extension, as `analyze` does.
    if raw.len() == 1 && raw[0].0 == rel {
        let (_, oid) = raw.remove(0);
        return Ok(vec![Entry { name: path.to_path_buf(), oid }]);
    }
    let mut out = Vec::new();
    for (name, oid) in raw {
        let Ok(rest) = name.strip_prefix(&rel) else { continue };
        let hidden = rest.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        if hidden || !source::is_manifest_path(rest) || check.leaves_out(&abs, &top.join(&name)) {
            continue;
        }
        out.push(Entry { name: path.join(rest), oid });
    }
    Ok(out)
}

/// Reads blobs by object id through one `git cat-file --batch`, in the order given.
///
/// # Errors
/// When git cannot be run or a blob cannot be read.
pub fn read_blobs(dir: &Path, oids: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::with_capacity(oids.len());
    each_blob(dir, oids, |_, body| {
        out.push(body);
        Ok(())
    })?;
    Ok(out)
}

/// Hands each blob to `f` (its index in `oids` and its bytes) as `git cat-file --batch` reads it,
/// so a whole tree need not be held in memory.
fn each_blob(dir: &Path, oids: &[String], mut f: impl FnMut(usize, Vec<u8>) -> Result<(), Error>) -> Result<(), Error> {
    if oids.is_empty() {
        return Ok(());
    }
    let read_err = |detail: String| Error::Read { command: "cat-file".into(), detail };
    let mut child = command(dir, &["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(Error::GitMissing)?;
    let mut stdin = child.stdin.take().ok_or_else(|| read_err("no stdin".into()))?;
    let request: String = oids.iter().map(|o| format!("{o}\n")).collect();
    // Write from another thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || {
        let r = stdin.write_all(request.as_bytes());
        drop(stdin);
        r
    });
    let stdout = child.stdout.take().ok_or_else(|| read_err("no stdout".into()))?;
    let mut reader = BufReader::new(stdout);
    let mut result = Ok(());
    for (i, oid) in oids.iter().enumerate() {
        let mut read_one = || -> Result<Vec<u8>, Error> {
            let mut header = String::new();
            reader.read_line(&mut header).map_err(|e| read_err(e.to_string()))?;
            let fields: Vec<&str> = header.split_whitespace().collect();
            let size = match fields.as_slice() {
                [_, "blob", size] => {
                    size.parse::<usize>().map_err(|_| read_err(format!("bad header `{}`", header.trim())))?
                }
                _ => return Err(read_err(format!("cannot read blob {oid}: `{}`", header.trim()))),
            };
            let mut body = vec![0u8; size];
            reader.read_exact(&mut body).map_err(|e| read_err(e.to_string()))?;
            let mut nl = [0u8; 1];
            reader.read_exact(&mut nl).map_err(|e| read_err(e.to_string()))?;
            Ok(body)
        };
        result = read_one().and_then(|body| f(i, body));
        if result.is_err() {
            break;
        }
    }
    drop(reader);
    if result.is_err() {
        let _ = child.kill();
    }
    let _ = writer.join();
    let _ = child.wait();
    result
}

/// Reads the manifests under `paths` (relative to `dir`, the working directory) as they were at
/// commit `sha`. Paths that did not exist at the commit contribute nothing.
///
/// # Errors
/// When git fails, or [`Error::Stdin`] for `-`; unreadable documents become input errors as usual.
pub fn load(dir: &Path, sha: &str, paths: &[PathBuf], limits: Limits) -> Result<Input, Error> {
    load_filtered(dir, sha, paths, limits, &source::Filter::default())
}

/// [`load`], leaving out what `filter` leaves out of a walk of the working tree (its `--exclude`
/// globs and today's `.gitignore` files), so both sides of a diff read the same files.
///
/// # Errors
/// As [`load`].
pub fn load_filtered(
    dir: &Path,
    sha: &str,
    paths: &[PathBuf],
    limits: Limits,
    filter: &source::Filter,
) -> Result<Input, Error> {
    if paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(Error::Stdin);
    }
    let top = toplevel(dir)?;
    let mut entries = Vec::new();
    let mut check = source::filter::PathCheck::new(filter);
    for p in paths {
        entries.extend(list(dir, &top, sha, p, &mut check)?);
    }
    // The order `analyze` walks directories in: by path components.
    entries.sort();
    let oids: Vec<String> = entries.iter().map(|e| e.oid.clone()).collect();
    let blobs = read_blobs(&top, &oids)?;
    let mut input = Input::default();
    // Kustomize patches are skipped as `analyze` skips them, so base and head agree.
    let patches = source::kustomize::Patches::from_files(
        entries.iter().zip(&blobs).map(|(e, b)| (e.name.as_path(), b.as_slice())),
    );
    for (e, bytes) in entries.iter().zip(blobs) {
        if let Some(s) = patches.skipped(&e.name) {
            input.skipped.push(s);
            continue;
        }
        source::load_bytes(&e.name.display().to_string(), bytes, limits, &mut input);
    }
    Ok(input)
}

/// A commit's whole tree written out to a temporary directory (removed on drop), so that its
/// kustomizations and charts are built exactly as `analyze` builds the working tree's.
pub struct Tree {
    _dir: tempfile::TempDir,
    /// The copy's top directory (canonical).
    pub root: PathBuf,
}

/// A repository path as a relative path of normal components only, none of them `.git` (git
/// never checks such paths out; anything else is not written).
fn safe_relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let normal = p.components().all(|c| matches!(c, Component::Normal(n) if !n.eq_ignore_ascii_case(".git")));
    (!path.is_empty() && normal).then(|| p.to_path_buf())
}

/// Writes a commit's tree (its `ls-tree -r` `entries`, read in `top`) into a new temporary directory:
/// files with their bytes, symbolic links that stay inside the tree as links, submodules as empty
/// directories (their contents are not in this repository).
///
/// # Errors
/// When git fails or the files cannot be written.
pub fn materialize(top: &Path, entries: &[TreeEntry]) -> Result<Tree, Error> {
    let dir = tempfile::Builder::new().prefix("clustergpt-tree-").tempdir().map_err(Error::TempTree)?;
    let root = dir.path().canonicalize().map_err(Error::TempTree)?;
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut links: Vec<(PathBuf, String)> = Vec::new();
    for e in entries {
        let Some(rel) = safe_relative(&e.path) else { continue };
        match (e.kind.as_str(), e.mode.as_str()) {
            ("blob", "120000") => links.push((rel, e.oid.clone())),
            ("blob", _) => files.push((rel, e.oid.clone())),
            ("commit", _) => std::fs::create_dir_all(root.join(rel)).map_err(Error::TempTree)?,
            _ => {}
        }
    }
    let write = |rel: &Path, bytes: &[u8]| -> Result<(), Error> {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::TempTree)?;
        }
        std::fs::write(&path, bytes).map_err(Error::TempTree)
    };
    let oids: Vec<String> = files.iter().map(|(_, o)| o.clone()).collect();
    each_blob(top, &oids, |i, bytes| write(&files[i].0, &bytes))?;
    let oids: Vec<String> = links.iter().map(|(_, o)| o.clone()).collect();
    each_blob(top, &oids, |i, bytes| {
        let rel = &links[i].0;
        let target = PathBuf::from(String::from_utf8_lossy(&bytes).into_owned());
        // A link is followed only where it stays in the tree: never into the machine's files.
        let resolved = rel.parent().unwrap_or(Path::new("")).join(&target);
        let inside =
            target.is_relative() && normalize(&resolved).components().all(|c| matches!(c, Component::Normal(_)));
        if inside {
            let path = root.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(Error::TempTree)?;
            }
            link(&target, &path)?;
        }
        Ok(())
    })?;
    Ok(Tree { _dir: dir, root })
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) -> Result<(), Error> {
    std::os::unix::fs::symlink(target, at).map_err(Error::TempTree)
}

/// Elsewhere links are left out, as a checkout without symlink support would.
#[cfg(not(unix))]
fn link(_: &Path, _: &Path) -> Result<(), Error> {
    Ok(())
}

/// Whether the files under the repository paths `given` at a commit hold something to render: a
/// kustomization or chart that discovery finds, or a target the configuration lists.
fn has_render_targets(
    entries: &[TreeEntry],
    given: &[PathBuf],
    cwd: &Path,
    top: &Path,
    opts: &source::render::RenderOptions,
) -> bool {
    let under = |p: &Path| {
        given.iter().any(|g| {
            p.strip_prefix(g)
                .is_ok_and(|rest| !rest.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')))
        })
    };
    let found = opts.discover
        && entries.iter().any(|e| {
            let p = Path::new(&e.path);
            (source::kustomize::is_kustomization(p) || p.file_name().is_some_and(|n| n == "Chart.yaml")) && under(p)
        });
    found
        || opts.targets.iter().any(|t| {
            let abs = if t.path.is_absolute() { normalize(&t.path) } else { normalize(&cwd.join(&t.path)) };
            abs.strip_prefix(top).is_ok_and(&under)
        })
}

/// How names in an input read from a [`Tree`] are shown: as `analyze` names the same files in the
/// working tree. A name the walk made is the path given with the rest appended, kept as spelled
/// (`./k8s/a.yaml`); a name provenance made is the path given joined with the way from it to the
/// file, made lexical (`../base/d.yaml` from a sibling stays `../base/d.yaml`).
struct Names {
    /// The tree's root, as text.
    tree: String,
    /// Each path as given, its place in the tree as text, and that place made lexical.
    given: Vec<(String, String, PathBuf)>,
    /// The working directory's place in the tree, as text, for messages.
    here: String,
    /// The repository's top directory, for the rest of the tree in messages.
    top: PathBuf,
}

impl Names {
    fn new(tree: &Path, here: &Path, top: &Path, given: &[(&Path, PathBuf)]) -> Names {
        Names {
            tree: tree.display().to_string(),
            given: given
                .iter()
                .map(|(p, t)| (p.display().to_string(), t.display().to_string(), source::provenance::lexical(t)))
                .collect(),
            here: here.display().to_string(),
            top: top.to_path_buf(),
        }
    }

    fn file(&self, s: &str) -> String {
        let sep = std::path::MAIN_SEPARATOR;
        let below =
            |s: &str, dir: &str| s.strip_prefix(dir).filter(|r| r.is_empty() || r.starts_with(sep)).map(str::to_string);
        for (given, at, _) in &self.given {
            if let Some(rest) = below(s, at) {
                return format!("{given}{rest}");
            }
        }
        if below(s, &self.tree).is_none() {
            return s.to_string();
        }
        let abs = source::provenance::lexical(Path::new(s));
        // The path given nearest to the file (the one its target was found under, in practice).
        let shared = |t: &Path| t.components().zip(abs.components()).take_while(|(a, b)| a == b).count();
        let mut best: Option<&(String, String, PathBuf)> = None;
        for g in &self.given {
            if best.is_none_or(|b| shared(&g.2) > shared(&b.2)) {
                best = Some(g);
            }
        }
        let Some((given, _, at)) = best else { return s.to_string() };
        let shown = source::provenance::lexical(&Path::new(given).join(source::provenance::relative(at, &abs)));
        if shown.as_os_str().is_empty() { ".".to_string() } else { shown.display().to_string() }
    }

    fn text(&self, s: &str) -> String {
        let sep = std::path::MAIN_SEPARATOR;
        s.replace(&format!("{}{sep}", self.here), "").replace(&self.tree, &self.top.display().to_string())
    }
}

/// Reads the paths at commit `sha` as `analyze` reads them in the working tree
/// ([`source::load_rendered`]): when they hold a kustomization or chart (found, or listed in the
/// configuration), the commit's whole tree is written to a temporary directory and built there,
/// every name in the result then given as the working tree names the same file, so both sides of
/// a diff fingerprint unchanged objects alike. Without one, the files are read from git directly
/// ([`load_filtered`]).
///
/// # Errors
/// As [`load`], or [`Error::TempTree`] when the tree cannot be written out. A target that cannot
/// be built (no tool, a failing build) is an input error, as in `analyze`.
pub fn load_rendered(
    dir: &Path,
    sha: &str,
    paths: &[PathBuf],
    limits: Limits,
    filter: &source::Filter,
    opts: &source::render::RenderOptions,
) -> Result<Input, Error> {
    if paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(Error::Stdin);
    }
    let top = toplevel(dir)?;
    let cwd = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut given = Vec::new();
    for p in paths {
        let abs = if p.is_absolute() { p.clone() } else { cwd.join(p) };
        let abs = abs.canonicalize().unwrap_or_else(|_| normalize(&abs));
        match abs.strip_prefix(&top) {
            Ok(rel) => given.push(rel.to_path_buf()),
            Err(_) => return Err(Error::OutsideRepo { path: p.clone(), top }),
        }
    }
    let specs: Vec<String> = given
        .iter()
        .map(|g| if g.as_os_str().is_empty() { ".".to_string() } else { g.display().to_string() })
        .collect();
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    if !has_render_targets(&ls_tree(&top, sha, &specs)?, &given, &cwd, &top, opts) {
        return load_filtered(dir, sha, paths, limits, filter);
    }
    // The whole tree: an overlay reaches its base outside the paths given, a chart its values.
    let tree = materialize(&top, &ls_tree(&top, sha, &[])?)?;
    let here = tree.root.join(cwd.strip_prefix(&top).unwrap_or(Path::new("")));
    let into = |p: &Path| -> PathBuf {
        if p.is_absolute() {
            let abs = p.canonicalize().unwrap_or_else(|_| normalize(p));
            abs.strip_prefix(&top).map_or_else(|_| p.to_path_buf(), |r| tree.root.join(r))
        } else {
            here.join(p)
        }
    };
    // Paths the commit does not have contribute nothing, as in [`load_filtered`].
    let tree_paths: Vec<PathBuf> = paths.iter().map(|p| into(p)).filter(|p| p.exists()).collect();
    let mut tree_opts = opts.clone();
    for t in &mut tree_opts.targets {
        t.path = into(&t.path);
        t.values = t.values.iter().map(|v| into(v)).collect();
    }
    let mut input = if tree_paths.is_empty() {
        Input::default()
    } else {
        let tree_filter = filter.in_tree(&tree.root, &top);
        source::load_rendered(&tree_paths, &mut std::io::empty(), limits, &tree_filter, &tree_opts)
    };
    let given: Vec<(&Path, PathBuf)> = paths.iter().map(|p| (p.as_path(), into(p))).collect();
    let names = Names::new(&tree.root, &here, &top, &given);
    input.rename_files(&|s| names.file(s), &|s| names.text(s));
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_git() {
        assert_eq!(normalize(Path::new("./k8s/")), PathBuf::from("k8s"));
        assert_eq!(normalize(Path::new(".")), PathBuf::new());
        assert_eq!(normalize(Path::new("a/../b")), PathBuf::from("b"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }

    #[test]
    fn names_the_subcommand() {
        assert_eq!(subcommand(&["-c", "core.quotePath=false", "diff", "a"]), "diff");
        assert_eq!(subcommand(&["--literal-pathspecs", "ls-tree", "-r"]), "ls-tree");
        assert_eq!(subcommand(&["rev-parse", "HEAD"]), "rev-parse");
    }

    fn names(given: &[&str]) -> Names {
        let here = Path::new("/t/tree-1/sub");
        let into =
            |p: &str| if p.starts_with('/') { Path::new("/t/tree-1").join(&p["/repo/".len()..]) } else { here.join(p) };
        let given: Vec<(&Path, PathBuf)> = given.iter().map(|p| (Path::new(*p), into(p))).collect();
        Names::new(Path::new("/t/tree-1"), here, Path::new("/repo"), &given)
    }

    #[test]
    fn names_in_a_tree_are_the_working_tree_names() {
        let n = names(&["k8s", "./other"]);
        // What the walk names: the path given, as spelled, and the rest.
        assert_eq!(n.file("/t/tree-1/sub/k8s/a.yaml"), "k8s/a.yaml");
        assert_eq!(n.file("/t/tree-1/sub/k8s"), "k8s");
        assert_eq!(n.file("/t/tree-1/sub/./other/b.yaml"), "./other/b.yaml");
        // What provenance names: lexical, from the path given.
        assert_eq!(n.file("/t/tree-1/sub/other/c.yaml"), "other/c.yaml");
        assert_eq!(n.file("/t/tree-1/base/d.yaml"), "../base/d.yaml");
        // Not in the tree, or a sibling whose name only starts the same: unchanged.
        assert_eq!(n.file("/t/tree-10/a.yaml"), "/t/tree-10/a.yaml");
        assert_eq!(n.file("/t/tree-1/sub/k8s2/a.yaml"), "k8s2/a.yaml");
        assert_eq!(n.file("-"), "-");
        assert_eq!(n.text("read by the kustomization in /t/tree-1/sub/k8s/o"), "read by the kustomization in k8s/o");
        assert_eq!(n.text("cannot read /t/tree-1/x.yaml"), "cannot read /repo/x.yaml");
        // From a sibling: the way up stays in the name, as `analyze` keeps it.
        let n = names(&["../overlays/prod"]);
        assert_eq!(n.file("/t/tree-1/sub/../overlays/prod"), "../overlays/prod");
        assert_eq!(n.file("/t/tree-1/sub/d.yaml"), "../sub/d.yaml");
        assert_eq!(n.file("/t/tree-1/overlays/prod/patch.yaml"), "../overlays/prod/patch.yaml");
        // Absolute paths given: absolute names.
        let a = names(&["/repo/sub/k8s"]);
        assert_eq!(a.file("/t/tree-1/sub/k8s/a.yaml"), "/repo/sub/k8s/a.yaml");
        assert_eq!(a.file("/t/tree-1/base/d.yaml"), "/repo/base/d.yaml");
    }

    #[test]
    fn only_plain_relative_paths_are_written() {
        assert_eq!(safe_relative("k8s/a.yaml"), Some(PathBuf::from("k8s/a.yaml")));
        assert_eq!(safe_relative("../etc/passwd"), None);
        assert_eq!(safe_relative("/etc/passwd"), None);
        assert_eq!(safe_relative("k8s/.git/config"), None);
        assert_eq!(safe_relative(".GIT"), None);
        assert_eq!(safe_relative(""), None);
    }

    #[test]
    fn errors_name_no_flags() {
        // Advice about flags belongs to the commands that have them.
        let errors = [
            Error::NotARepo { dir: PathBuf::from("/tmp/x"), detail: "fatal: not a git repository".into() },
            Error::RefNotFound { rev: "origin/main".into() },
            Error::InvalidRef { rev: "-x".into() },
            Error::Stdin,
            Error::GitMissing(std::io::Error::from(std::io::ErrorKind::NotFound)),
        ];
        for e in errors {
            assert!(!e.to_string().contains("--"), "{e}");
        }
    }
}
