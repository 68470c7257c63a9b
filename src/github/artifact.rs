//! The two-stage pattern for pull requests from forks: the unprivileged `pull_request` job writes
//! an artifact (`--emit-artifact DIR`), a `workflow_run` job with a write token posts it
//! (`--post-artifact DIR`) without ever checking out the PR's code.
//!
//! The artifact comes from code the PR author controls, so the posting side treats it as hostile:
//! one regular file of bounded size, a strict schema (unknown fields rejected at the top level),
//! bounded counts and lengths, repository-relative paths without `..`, hex fingerprints, sane
//! line numbers and finite amounts. It carries data only: every Markdown body is rendered again
//! by the posting job, with its escaping, and the repository comes from the posting job's
//! environment, never from the artifact.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::context::is_sha;
use crate::diff::{CostDiff, DIFF_SCHEMA_VERSION, Diff, DiffContext};
use crate::model::{Finding, Severity};

/// The file inside the artifact directory.
pub const FILE_NAME: &str = "clustergpt-pr.json";

/// Format version.
pub const VERSION: u32 = 1;

/// Largest artifact file accepted.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

const MAX_FINDINGS: usize = 20_000;
const MAX_WORKLOADS: usize = 50_000;
const MAX_TEXT: usize = 8_192;
const MAX_REPLACEMENT: usize = 65_536;
const MAX_LINE: u32 = 10_000_000;

/// Labels and facts the report shows besides the diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// Base label.
    pub base_label: String,
    /// Head label.
    pub head_label: String,
    /// Hours per month of the estimate.
    pub hours_per_month: f64,
    /// Assumptions of the estimate.
    pub assumptions: Vec<String>,
    /// Findings in base.
    pub base_findings: usize,
    /// Findings in head.
    pub head_findings: usize,
}

/// What the unprivileged job hands over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Format version.
    pub clustergpt_artifact: u32,
    /// Version of the tool that wrote it.
    pub tool_version: String,
    /// `owner/name` of the base repository.
    pub repository: String,
    /// PR number.
    pub pull_request: u64,
    /// Base commit compared against.
    pub base_sha: String,
    /// Head commit.
    pub head_sha: String,
    /// New findings.
    pub new: Vec<Finding>,
    /// Resolved findings.
    pub resolved: Vec<Finding>,
    /// Findings in both.
    pub unchanged: usize,
    /// Cost change.
    pub cost: CostDiff,
    /// Report facts.
    pub facts: Facts,
    /// Head findings per severity (for `--fail-on`).
    pub head_counts: BTreeMap<Severity, usize>,
}

impl Artifact {
    /// The artifact of a diff.
    #[must_use]
    pub fn of(
        diff: &Diff,
        repository: &str,
        number: u64,
        base_sha: &str,
        head_sha: &str,
        head_counts: BTreeMap<Severity, usize>,
    ) -> Artifact {
        let c = &diff.context;
        Artifact {
            clustergpt_artifact: VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            repository: repository.to_string(),
            pull_request: number,
            base_sha: base_sha.to_string(),
            head_sha: head_sha.to_string(),
            new: diff.new.clone(),
            resolved: diff.resolved.clone(),
            unchanged: diff.unchanged,
            cost: diff.cost.clone(),
            facts: Facts {
                base_label: c.base_label.clone(),
                head_label: c.head_label.clone(),
                hours_per_month: c.hours_per_month,
                assumptions: c.assumptions.clone(),
                base_findings: c.base_findings,
                head_findings: c.head_findings,
            },
            head_counts,
        }
    }

    /// The diff again (gates are evaluated by the caller).
    #[must_use]
    pub fn to_diff(&self) -> Diff {
        Diff {
            schema_version: DIFF_SCHEMA_VERSION.to_string(),
            new: self.new.clone(),
            resolved: self.resolved.clone(),
            unchanged: self.unchanged,
            cost: self.cost.clone(),
            gates: Vec::new(),
            context: DiffContext {
                base_label: self.facts.base_label.clone(),
                head_label: self.facts.head_label.clone(),
                hours_per_month: self.facts.hours_per_month,
                assumptions: self.facts.assumptions.clone(),
                base_findings: self.facts.base_findings,
                head_findings: self.facts.head_findings,
                ..DiffContext::default()
            },
        }
    }
}

/// Writes the artifact into `dir` (created if missing).
///
/// # Errors
/// When the directory or file cannot be written.
pub fn write(dir: &Path, a: &Artifact) -> Result<std::path::PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(FILE_NAME);
    let mut text = serde_json::to_string_pretty(a).map_err(|e| e.to_string())?;
    text.push('\n');
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Reads and validates the artifact in `dir` against the repository the posting job runs for.
///
/// # Errors
/// Every problem found (the artifact is then not used at all).
pub fn read(dir: &Path, expected_repo: &str) -> Result<Artifact, String> {
    let path = dir.join(FILE_NAME);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("no artifact at {}: {e}", path.display()))?;
    if !meta.file_type().is_file() {
        return Err(format!("{} is not a regular file (links are refused)", path.display()));
    }
    if meta.len() > MAX_BYTES {
        return Err(format!("{} is larger than {} MiB", path.display(), MAX_BYTES / 1024 / 1024));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("{} is larger than {} MiB", path.display(), MAX_BYTES / 1024 / 1024));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", path.display()))?;
    let a: Artifact =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a valid artifact: {e}", path.display()))?;
    let problems = validate(&a, expected_repo);
    if problems.is_empty() {
        Ok(a)
    } else {
        Err(format!("the artifact {} was refused:\n  {}", path.display(), problems.join("\n  ")))
    }
}

fn text_ok(s: &str, max: usize) -> bool {
    s.len() <= max && !s.chars().any(|c| c == '\0' || (c.is_control() && c != '\n' && c != '\t'))
}

fn path_ok(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 4096
        && !p.starts_with('/')
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
        && p.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

fn finite(v: f64) -> bool {
    v.is_finite() && v.abs() < 1e15
}

/// Every problem with an artifact; empty when it may be used.
#[must_use]
pub fn validate(a: &Artifact, expected_repo: &str) -> Vec<String> {
    let mut p = Vec::new();
    if a.clustergpt_artifact != VERSION {
        p.push(format!("format version {} is not {VERSION}", a.clustergpt_artifact));
    }
    if !a.repository.eq_ignore_ascii_case(expected_repo) {
        p.push(format!("it is for repository `{}`, not `{expected_repo}`", a.repository.escape_debug()));
    }
    if a.pull_request == 0 || a.pull_request > u64::from(u32::MAX) {
        p.push("the pull request number is out of range".to_string());
    }
    for (name, sha) in [("base_sha", &a.base_sha), ("head_sha", &a.head_sha)] {
        if !is_sha(sha) {
            p.push(format!("{name} is not a commit id"));
        }
    }
    if !text_ok(&a.tool_version, 64) {
        p.push("tool_version is malformed".to_string());
    }
    if a.new.len() + a.resolved.len() > MAX_FINDINGS {
        p.push(format!("more than {MAX_FINDINGS} findings"));
    }
    for (list, name) in [(&a.new, "new"), (&a.resolved, "resolved")] {
        for (i, f) in list.iter().enumerate() {
            for e in finding_problems(f) {
                p.push(format!("{name}[{i}]: {e}"));
                if p.len() > 50 {
                    return p;
                }
            }
        }
    }
    let c = &a.cost;
    if c.workloads.len() > MAX_WORKLOADS {
        p.push(format!("more than {MAX_WORKLOADS} cost items"));
    }
    if !(c.currency.len() == 3 && c.currency.bytes().all(|b| b.is_ascii_uppercase())) {
        p.push("cost.currency is not an ISO code".to_string());
    }
    let amounts = [c.baseline_monthly, c.head_monthly, c.delta_monthly, c.delta_percent.unwrap_or(0.0)];
    if !amounts.into_iter().all(finite) {
        p.push("cost amounts must be finite numbers".to_string());
    }
    for (i, w) in c.workloads.iter().enumerate() {
        let nums = [w.baseline_monthly, w.head_monthly, w.delta_monthly, w.delta_percent.unwrap_or(0.0)];
        if !nums.into_iter().all(finite) || ![&w.kind, &w.namespace, &w.name].iter().all(|s| text_ok(s, 512)) {
            p.push(format!("cost.workloads[{i}] is malformed"));
            break;
        }
    }
    let fx = &a.facts;
    if !finite(fx.hours_per_month)
        || !text_ok(&fx.base_label, 256)
        || !text_ok(&fx.head_label, 256)
        || fx.assumptions.len() > 100
        || !fx.assumptions.iter().all(|s| text_ok(s, MAX_TEXT))
    {
        p.push("facts are malformed".to_string());
    }
    p
}

fn finding_problems(f: &Finding) -> Vec<String> {
    let mut p = Vec::new();
    if !crate::audit::is_fingerprint(&f.fingerprint) {
        p.push("fingerprint is not 32 lowercase hex digits".to_string());
    }
    let id_ok =
        |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !id_ok(&f.rule) || !id_ok(&f.name) {
        p.push("rule id or name is malformed".to_string());
    }
    if !text_ok(&f.message, MAX_TEXT) {
        p.push("message is too long or holds control characters".to_string());
    }
    let o = &f.object;
    if ![&o.kind, &o.name, &o.api_version].iter().all(|s| text_ok(s, 512))
        || o.namespace.as_deref().is_some_and(|s| !text_ok(s, 512))
        || o.uid.as_deref().is_some_and(|s| !text_ok(s, 128))
        || o.context.as_deref().is_some_and(|s| !text_ok(s, 512))
    {
        p.push("object is malformed".to_string());
    }
    let l = &f.location;
    if let Some(file) = &l.file
        && !path_ok(file)
    {
        p.push("location.file is not a repository-relative path".to_string());
    }
    if l.line.is_some_and(|n| n == 0 || n > MAX_LINE) || l.column.is_some_and(|n| n > MAX_LINE) {
        p.push("location line or column is out of range".to_string());
    }
    if !text_ok(&l.path, MAX_TEXT) {
        p.push("location.path is malformed".to_string());
    }
    if f.evidence.len() > 100 || !f.evidence.iter().all(|e| text_ok(&e.path, MAX_TEXT) && text_ok(&e.value, MAX_TEXT)) {
        p.push("evidence is malformed".to_string());
    }
    if let Some(fix) = &f.fix {
        if !text_ok(&fix.title, 1024)
            || fix.note.as_deref().is_some_and(|n| !text_ok(n, MAX_TEXT))
            || fix.ops.len() > 100
        {
            p.push("fix is malformed".to_string());
        }
        // A built object's fix edits the patch or values file that sets the field.
        if let Some(s) = &fix.suggestion
            && ((Some(&s.file) != l.file.as_ref() && f.rendered.is_none())
                || !path_ok(&s.file)
                || s.start_line == 0
                || s.end_line < s.start_line
                || s.end_line > MAX_LINE
                || !text_ok(&s.replacement, MAX_REPLACEMENT))
        {
            p.push("fix.suggestion does not match its finding".to_string());
        }
        if let Some(pt) = &fix.patch
            && !(text_ok(&pt.body, MAX_REPLACEMENT)
                && pt.kubectl.as_deref().is_none_or(|k| text_ok(k, MAX_REPLACEMENT))
                && pt.refused.as_deref().is_none_or(|r| text_ok(r, MAX_REPLACEMENT))
                && text_ok(&pt.yaml, MAX_REPLACEMENT)
                && text_ok(&pt.patch_type, 16))
        {
            p.push("fix.patch is malformed".to_string());
        }
        if fix.edit_error.as_deref().is_some_and(|e| !text_ok(e, MAX_TEXT)) {
            p.push("fix.edit_error is malformed".to_string());
        }
    }
    if let Some(c) = &f.cost
        && !(finite(c.monthly_before) && finite(c.monthly_after) && finite(c.monthly_delta) && text_ok(&c.currency, 8))
    {
        p.push("cost impact is malformed".to_string());
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(path_ok("k8s/app.yaml"));
        assert!(!path_ok("../etc/passwd"));
        assert!(!path_ok("/etc/passwd"));
        assert!(!path_ok("k8s//a.yaml"));
        assert!(!path_ok("a\nb"));
    }
}
