//! The remediation pull request of `clustergpt pr --open-fix-pr`.
//!
//! Safe fixes are applied to the manifests as they are at the PR's head commit (read through git,
//! like the rest of PR mode) and committed through the git data API: blobs → a tree on top of the
//! head commit's tree → a commit whose parent is the head commit. The commit goes on the fixed
//! branch `clustergpt/fixes/<target>` (force-updated), and one pull request from it into `<target>`
//! is opened or updated. For a PR run the target is the PR's **head branch**, so the author can merge
//! the fixes into their own PR before it lands. When nothing is left to fix, the open fix PR is closed.
//!
//! Reruns are idempotent: when the branch's commit already has the new tree on top of the same head
//! commit, no commit is made and the ref is not moved; the open PR is found by its head branch and
//! updated (only when its title or body changed), never opened twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Posted;
use super::api::{Api, ApiError, ErrorKind, Method};
use crate::audit::{self, RunOptions};
use crate::config::Config;
use crate::explain::Explainer;
use crate::explain::pr::{AppliedFact, FixFacts};
use crate::fix::FixReport;
use crate::model::Finding;
use crate::source::{self, Input};
use crate::yaml::{Limits, PointerExt};

/// The branch the fixes for `target` are committed to.
#[must_use]
pub fn branch_for(target: &str) -> String {
    format!("clustergpt/fixes/{target}")
}

/// A manifest file at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAt {
    /// Repository-relative path.
    pub path: String,
    /// Git file mode (`100644`, `100755`).
    pub mode: String,
    /// Its text.
    pub text: String,
}

/// Reads the manifest files under `paths` (relative to `cwd`) at commit `sha`, with
/// repository-relative names. Files that are not UTF-8 are left out (they cannot be fixed).
///
/// # Errors
/// When git fails.
pub fn read_files_at(cwd: &Path, sha: &str, paths: &[PathBuf]) -> Result<Vec<FileAt>, crate::git::Error> {
    let specs: Vec<String> = if paths.is_empty() {
        vec![".".to_string()]
    } else {
        paths.iter().map(|p| p.to_string_lossy().to_string()).collect()
    };
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let entries: Vec<crate::git::TreeEntry> = crate::git::ls_tree(cwd, sha, &specs)?
        .into_iter()
        .filter(|e| {
            let hidden = Path::new(&e.path).components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            e.is_file() && !hidden && source::is_manifest_path(Path::new(&e.path))
        })
        .collect();
    let oids: Vec<String> = entries.iter().map(|e| e.oid.clone()).collect();
    let blobs = crate::git::read_blobs(cwd, &oids)?;
    let mut out: Vec<FileAt> = entries
        .into_iter()
        .zip(blobs)
        .filter_map(|(e, bytes)| {
            let text = String::from_utf8(bytes).ok()?;
            Some(FileAt { path: e.path, mode: e.mode, text })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Applies the safe fixes to `files` and gathers the facts the PR description is written from.
#[must_use]
pub fn compute(files: &[FileAt], config: &Config, opts: &RunOptions) -> (FixReport, Vec<AppliedFact>) {
    let pairs: Vec<(String, String)> = files.iter().map(|f| (f.path.clone(), f.text.clone())).collect();
    let report = crate::fix::fix_files(&pairs, config, opts, false);
    let mut input = Input::default();
    for (p, t) in &pairs {
        source::load_text(p, t.clone(), Limits::default(), &mut input);
    }
    let before = audit::run(input, config, opts);
    let by_fp: BTreeMap<&str, &Finding> = before.findings.iter().map(|f| (f.fingerprint.as_str(), f)).collect();
    let facts = report
        .applied
        .iter()
        .map(|a| {
            let f = by_fp.get(a.fingerprint.as_str());
            let meta = crate::rules::find(&a.rule).map(|r| r.meta());
            AppliedFact {
                rule: a.rule.clone(),
                rule_name: meta.map(|m| m.name.to_string()).unwrap_or_default(),
                title: a.title.clone(),
                object: a.object.clone(),
                file: f.and_then(|f| f.location.file.clone()),
                line: f.and_then(|f| f.location.line),
                why: meta.map(|m| m.summary.to_string()).unwrap_or_default(),
                message: f.map(|f| f.message.clone()).unwrap_or_default(),
                evidence: f
                    .map(|f| f.evidence.iter().map(|e| format!("{} = {}", e.path, e.value)).collect())
                    .unwrap_or_default(),
                cost: f.and_then(|f| f.cost.as_deref().cloned()),
                finding: f.map(|f| (*f).clone()),
            }
        })
        .collect();
    (report, facts)
}

/// Where the fix PR goes.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// `/repos/{owner}/{repo}`.
    pub repo_path: &'a str,
    /// Repository owner (for the `head=owner:branch` filter).
    pub owner: &'a str,
    /// The branch the fixes are proposed into.
    pub branch: &'a str,
    /// The commit the fixes were computed on (the fix commit's parent).
    pub head_sha: &'a str,
    /// The pull request the fixes are for.
    pub pull_request: Option<u64>,
}

/// Percent-encodes a ref path, keeping its `/`.
fn encode_ref(s: &str) -> String {
    s.split('/').map(super::percent_encode).collect::<Vec<_>>().join("/")
}

fn sha_at(v: &Value, ptr: &str) -> String {
    v.ptr(ptr).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Commits the fixes onto the fix branch and opens, updates or closes the fix PR.
pub async fn publish(
    api: &mut Api,
    t: &Target<'_>,
    files: &[FileAt],
    report: &FixReport,
    facts: Vec<AppliedFact>,
    skipped: usize,
    explainer: &Explainer,
) -> Posted {
    match publish_inner(api, t, files, report, facts, skipped, explainer).await {
        Ok(s) => Posted::Done(s),
        Err(e) => super::describe(&e),
    }
}

async fn publish_inner(
    api: &mut Api,
    t: &Target<'_>,
    files: &[FileAt],
    report: &FixReport,
    facts: Vec<AppliedFact>,
    skipped: usize,
    explainer: &Explainer,
) -> Result<String, ApiError> {
    let repo = t.repo_path;
    let branch = branch_for(t.branch);
    let head_filter = super::percent_encode(&format!("{}:{branch}", t.owner));
    let open = api.get_all(&format!("{repo}/pulls?head={head_filter}&state=open")).await?;
    let existing = open.iter().find(|p| p.ptr("/head/ref").and_then(Value::as_str).is_none_or(|r| r == branch));
    let existing_number = existing.and_then(|p| p.get("number").and_then(Value::as_u64));

    if report.changed.is_empty() {
        return Ok(match existing_number {
            Some(n) => {
                api.request(Method::Patch, &format!("{repo}/pulls/{n}"), Some(&json!({ "state": "closed" }))).await?;
                format!("nothing left to fix; closed #{n}")
            }
            None => "nothing to fix".to_string(),
        });
    }

    // The head commit's tree, and where the fix branch is now.
    let head_commit = api.request(Method::Get, &format!("{repo}/git/commits/{}", t.head_sha), None).await?;
    let head_tree = sha_at(&head_commit, "/tree/sha");
    let branch_sha =
        match api.request(Method::Get, &format!("{repo}/git/ref/heads/{}", encode_ref(&branch)), None).await {
            Ok(v) => Some(sha_at(&v, "/object/sha")).filter(|s| !s.is_empty()),
            Err(e) if e.kind == ErrorKind::Status(404) => None,
            Err(e) => return Err(e),
        };

    // Blobs, then the tree on top of the head's tree.
    let modes: BTreeMap<&str, &str> = files.iter().map(|f| (f.path.as_str(), f.mode.as_str())).collect();
    let mut entries = Vec::new();
    for (path, (_, fixed)) in &report.changed {
        let blob = api
            .request(
                Method::Post,
                &format!("{repo}/git/blobs"),
                Some(&json!({ "content": fixed, "encoding": "utf-8" })),
            )
            .await?;
        let mode = modes.get(path.as_str()).copied().unwrap_or("100644");
        entries.push(json!({ "path": path, "mode": mode, "type": "blob", "sha": sha_at(&blob, "/sha") }));
    }
    let tree = api
        .request(Method::Post, &format!("{repo}/git/trees"), Some(&json!({ "base_tree": head_tree, "tree": entries })))
        .await?;
    let tree_sha = sha_at(&tree, "/sha");

    // The branch already holds exactly this on top of the same head: no new commit.
    let mut up_to_date = false;
    if let Some(b) = &branch_sha {
        let c = api.request(Method::Get, &format!("{repo}/git/commits/{b}"), None).await?;
        let parent = sha_at(&c, "/parents/0/sha");
        up_to_date = !tree_sha.is_empty() && sha_at(&c, "/tree/sha") == tree_sha && parent == t.head_sha;
    }
    let mut what = Vec::new();
    if up_to_date {
        what.push(format!("branch {branch} already up to date"));
    } else {
        let n = facts.len();
        let message = format!(
            "ClusterGPT: apply {n} safe fix{}\n\n{}",
            if n == 1 { "" } else { "es" },
            facts.iter().map(|f| format!("- {} {} ({})", f.rule, f.title, f.object)).collect::<Vec<_>>().join("\n")
        );
        let commit = api
            .request(
                Method::Post,
                &format!("{repo}/git/commits"),
                Some(&json!({ "message": message, "tree": tree_sha, "parents": [t.head_sha] })),
            )
            .await?;
        let commit_sha = sha_at(&commit, "/sha");
        if branch_sha.is_some() {
            api.request(
                Method::Patch,
                &format!("{repo}/git/refs/heads/{}", encode_ref(&branch)),
                Some(&json!({ "sha": commit_sha, "force": true })),
            )
            .await?;
        } else {
            api.request(
                Method::Post,
                &format!("{repo}/git/refs"),
                Some(&json!({ "ref": format!("refs/heads/{branch}"), "sha": commit_sha })),
            )
            .await?;
        }
        what.push(format!("committed {} to {branch}", commit_sha.chars().take(7).collect::<String>()));
    }

    let fx = FixFacts {
        target_branch: t.branch.to_string(),
        source_sha: t.head_sha.to_string(),
        pull_request: t.pull_request,
        applied: facts,
        files: report.changed.keys().cloned().collect(),
        skipped,
    };
    let (title, body) = explainer.fix_pr_text(&fx).await;
    match (existing_number, existing) {
        (Some(n), Some(pr)) => {
            let same = pr.get("title").and_then(Value::as_str) == Some(title.as_str())
                && pr.get("body").and_then(Value::as_str).map(str::trim_end) == Some(body.trim_end());
            if same {
                what.push(format!("#{n} unchanged"));
            } else {
                api.request(
                    Method::Patch,
                    &format!("{repo}/pulls/{n}"),
                    Some(&json!({ "title": title, "body": body })),
                )
                .await?;
                what.push(format!("updated #{n}"));
            }
        }
        _ => {
            let pr = api
                .request(
                    Method::Post,
                    &format!("{repo}/pulls"),
                    Some(&json!({ "title": title, "head": branch, "base": t.branch, "body": body })),
                )
                .await?;
            let n = pr.get("number").and_then(Value::as_u64).unwrap_or(0);
            what.push(format!("opened #{n}"));
        }
    }
    Ok(what.join(", "))
}
