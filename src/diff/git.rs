//! Reads manifests as they were at a git commit, through git, without touching the working tree.
//!
//! `git ls-tree` lists the files under the given paths at the commit and `git cat-file --batch`
//! reads their blobs; names are shown the way `analyze` shows the same paths in the working tree,
//! so base and head reports line up.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::source::{self, Input};
use crate::yaml::Limits;

fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output, String> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git ({e}); --base needs git installed, or use --base-dir / two saved audits"))
}

fn stderr_line(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or_default().trim().to_string()
}

/// Resolves a ref to a commit id, with an error that says how to fix a missing ref.
///
/// # Errors
/// When `dir` is not in a git repository or the ref does not name a commit there.
pub fn resolve(dir: &Path, rev: &str) -> Result<String, String> {
    if rev.is_empty() || rev.starts_with('-') {
        return Err(format!("`{rev}` is not a git ref"));
    }
    let inside = git(dir, &["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() {
        return Err(format!(
            "--base {rev}: {} is not inside a git repository ({}); use --base-dir DIR or two saved JSON audits instead",
            dir.display(),
            stderr_line(&inside)
        ));
    }
    let spec = format!("{rev}^{{commit}}");
    let o = git(dir, &["rev-parse", "--verify", "--quiet", &spec])?;
    let sha = String::from_utf8_lossy(&o.stdout).trim().to_string();
    if !o.status.success() || sha.is_empty() {
        return Err(format!(
            "git ref `{rev}` not found in this repository. In CI the base branch is usually missing from a shallow clone: \
             check out with full history (actions/checkout with `fetch-depth: 0`) or run `git fetch origin <base-branch>` first"
        ));
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
fn toplevel(dir: &Path) -> Result<PathBuf, String> {
    let o = git(dir, &["rev-parse", "--show-toplevel"])?;
    if !o.status.success() {
        return Err(format!("{} is not inside a git repository ({})", dir.display(), stderr_line(&o)));
    }
    let top = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim_end_matches(['\n', '\r']));
    Ok(top.canonicalize().unwrap_or(top))
}

/// Lists the manifest files under `path` (as the user gave it, relative to `dir`) at commit `sha`.
fn list(dir: &Path, top: &Path, sha: &str, path: &Path) -> Result<Vec<Entry>, String> {
    let cwd = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let abs = if path.is_absolute() { path.to_path_buf() } else { cwd.join(path) };
    // The path may not exist in the working tree (deleted by the change): fall back to lexical.
    let abs = abs.canonicalize().unwrap_or_else(|_| normalize(&abs));
    let Ok(rel) = abs.strip_prefix(top) else {
        return Err(format!("{} is outside the git repository at {}", path.display(), top.display()));
    };
    let rel = rel.to_path_buf();
    let spec = if rel.as_os_str().is_empty() { ".".to_string() } else { rel.to_string_lossy().to_string() };
    let o = git(top, &["--literal-pathspecs", "ls-tree", "-r", "-z", "--full-name", sha, "--", &spec])?;
    if !o.status.success() {
        return Err(format!("git ls-tree failed for `{spec}` at {sha}: {}", stderr_line(&o)));
    }
    let mut raw = Vec::new();
    for rec in o.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        // `<mode> SP <type> SP <oid> TAB <path>`
        let text = String::from_utf8_lossy(rec);
        let Some((meta, name)) = text.split_once('\t') else { continue };
        let mut parts = meta.split(' ');
        let (mode, kind, oid) = (parts.next(), parts.next(), parts.next());
        // Blobs only: not symlinks (120000) or submodules.
        if kind != Some("blob") || mode == Some("120000") {
            continue;
        }
        if let Some(oid) = oid {
            raw.push((PathBuf::from(name), oid.to_string()));
        }
    }
    // A path naming one file is read whatever its extension, as `analyze` does.
    if raw.len() == 1 && raw[0].0 == rel {
        let (_, oid) = raw.remove(0);
        return Ok(vec![Entry { name: path.to_path_buf(), oid }]);
    }
    let mut out = Vec::new();
    for (name, oid) in raw {
        let Ok(rest) = name.strip_prefix(&rel) else { continue };
        let hidden = rest.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        if hidden || !source::is_manifest_path(rest) {
            continue;
        }
        out.push(Entry { name: path.join(rest), oid });
    }
    Ok(out)
}

fn read_blobs(dir: &Path, oids: &[String]) -> Result<Vec<Vec<u8>>, String> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git cat-file: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("git cat-file has no stdin")?;
    let request: String = oids.iter().map(|o| format!("{o}\n")).collect();
    // Write from another thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || {
        let r = stdin.write_all(request.as_bytes());
        drop(stdin);
        r
    });
    let stdout = child.stdout.take().ok_or("git cat-file has no stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut out = Vec::with_capacity(oids.len());
    for oid in oids {
        let mut header = String::new();
        reader.read_line(&mut header).map_err(|e| format!("reading git cat-file: {e}"))?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        let size = match fields.as_slice() {
            [_, "blob", size] => size.parse::<usize>().map_err(|_| format!("git cat-file: bad header `{header}`"))?,
            _ => return Err(format!("git cat-file could not read blob {oid}: `{}`", header.trim())),
        };
        let mut body = vec![0u8; size];
        reader.read_exact(&mut body).map_err(|e| format!("reading git cat-file: {e}"))?;
        let mut nl = [0u8; 1];
        reader.read_exact(&mut nl).map_err(|e| format!("reading git cat-file: {e}"))?;
        out.push(body);
    }
    drop(reader);
    let _ = writer.join();
    let _ = child.wait();
    Ok(out)
}

/// Reads the manifests under `paths` (relative to `dir`, the working directory) as they were at
/// commit `sha`. Paths that did not exist at the commit contribute nothing.
///
/// # Errors
/// When git fails; unreadable documents become input errors as usual.
pub fn load(dir: &Path, sha: &str, paths: &[PathBuf], limits: Limits) -> Result<Input, String> {
    let top = toplevel(dir)?;
    let mut entries = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            return Err("--base cannot read stdin (`-`); give the paths of the manifests".to_string());
        }
        entries.extend(list(dir, &top, sha, p)?);
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
}
