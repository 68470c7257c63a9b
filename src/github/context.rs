//! Which pull request we are looking at: from the Actions environment (`GITHUB_EVENT_PATH`,
//! `GITHUB_REPOSITORY`, `GITHUB_API_URL`), overridden by flags.

use std::path::PathBuf;

use serde_json::Value;

use crate::yaml::PointerExt;

/// The Actions environment, read once (tests build it by hand).
#[derive(Debug, Clone, Default)]
pub struct ActionsEnv {
    /// `GITHUB_EVENT_NAME`.
    pub event_name: Option<String>,
    /// `GITHUB_EVENT_PATH`.
    pub event_path: Option<PathBuf>,
    /// `GITHUB_REPOSITORY` (`owner/name`).
    pub repository: Option<String>,
    /// `GITHUB_API_URL`.
    pub api_url: Option<String>,
    /// `GITHUB_GRAPHQL_URL`.
    pub graphql_url: Option<String>,
    /// `GITHUB_STEP_SUMMARY`.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_OUTPUT`.
    pub output: Option<PathBuf>,
    /// `GITHUB_RUN_ID` and `GITHUB_RUN_ATTEMPT`, for the check run's external id.
    pub run_id: Option<String>,
    /// `RUNNER_TEMP`.
    pub runner_temp: Option<PathBuf>,
    /// `GITHUB_ACTIONS=true`.
    pub in_actions: bool,
}

impl ActionsEnv {
    /// Reads the process environment.
    #[must_use]
    pub fn from_process() -> ActionsEnv {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        ActionsEnv {
            event_name: var("GITHUB_EVENT_NAME"),
            event_path: var("GITHUB_EVENT_PATH").map(PathBuf::from),
            repository: var("GITHUB_REPOSITORY"),
            api_url: var("GITHUB_API_URL"),
            graphql_url: var("GITHUB_GRAPHQL_URL"),
            step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            run_id: var("GITHUB_RUN_ID").map(|id| format!("{id}-{}", var("GITHUB_RUN_ATTEMPT").unwrap_or_default())),
            runner_temp: var("RUNNER_TEMP").map(PathBuf::from),
            in_actions: var("GITHUB_ACTIONS").as_deref() == Some("true"),
        }
    }
}

/// What the event payload says about the pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFacts {
    /// PR number.
    pub number: Option<u64>,
    /// Base commit.
    pub base_sha: Option<String>,
    /// Head commit.
    pub head_sha: Option<String>,
    /// Whether the head is in another repository (a fork).
    pub fork: bool,
    /// For `workflow_run` events: the head commit of the run that made the artifact.
    pub workflow_run_head_sha: Option<String>,
}

/// Reads the event payload file.
///
/// # Errors
/// When it cannot be read or is not JSON.
pub fn read_event(path: &std::path::Path) -> Result<EventFacts, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the event payload {}: {e}", path.display()))?;
    if meta.len() > 64 * 1024 * 1024 {
        return Err(format!("the event payload {} is too large", path.display()));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the event payload {}: {e}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("the event payload {} is not JSON: {e}", path.display()))?;
    Ok(event_facts(&v))
}

/// The facts of an event payload.
#[must_use]
pub fn event_facts(v: &Value) -> EventFacts {
    let s = |p: &str| v.ptr(p).and_then(Value::as_str).map(str::to_string);
    let mut f = EventFacts::default();
    if v.get("pull_request").is_some_and(Value::is_object) {
        f.number =
            v.ptr("/pull_request/number").and_then(Value::as_u64).or_else(|| v.get("number").and_then(Value::as_u64));
        f.base_sha = s("/pull_request/base/sha");
        f.head_sha = s("/pull_request/head/sha");
        let head_repo = s("/pull_request/head/repo/full_name");
        let base_repo = s("/pull_request/base/repo/full_name");
        f.fork = match (head_repo, base_repo) {
            (Some(h), Some(b)) => !h.eq_ignore_ascii_case(&b),
            // A deleted fork has no head repository.
            (None, Some(_)) => true,
            _ => false,
        };
    }
    if v.get("workflow_run").is_some_and(Value::is_object) {
        f.workflow_run_head_sha = s("/workflow_run/head_sha");
        f.number = v.ptr("/workflow_run/pull_requests/0/number").and_then(Value::as_u64);
    }
    f
}

/// The pull request to review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrContext {
    /// Owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// PR number.
    pub number: u64,
    /// Base commit (the base branch's commit the event names).
    pub base_sha: Option<String>,
    /// Head commit.
    pub head_sha: Option<String>,
    /// Whether the head comes from a fork.
    pub fork: bool,
}

impl PrContext {
    /// `/repos/{owner}/{repo}`.
    #[must_use]
    pub fn repo_path(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.repo)
    }

    /// `owner/name`.
    #[must_use]
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }
}

/// Splits and checks `owner/name`.
///
/// # Errors
/// When it is not a repository name.
pub fn parse_repo(s: &str) -> Result<(String, String), String> {
    let ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p != "."
            && p != ".."
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match s.trim().split_once('/') {
        Some((o, r)) if ok(o) && ok(r) => Ok((o.to_string(), r.to_string())),
        _ => Err(format!("`{s}` is not a repository; write it as OWNER/NAME")),
    }
}

/// Whether a string is a full commit id (SHA-1 or SHA-256, lowercase hex).
#[must_use]
pub fn is_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Flags that name the pull request.
#[derive(Debug, Clone, Default)]
pub struct ContextFlags {
    /// `--repo`.
    pub repo: Option<String>,
    /// `--pr`.
    pub pr: Option<u64>,
    /// `--base-sha`.
    pub base_sha: Option<String>,
    /// `--head-sha`.
    pub head_sha: Option<String>,
}

/// Resolves the pull request from flags, then the event payload, then the environment.
///
/// # Errors
/// What is missing and how to give it.
pub fn resolve(flags: &ContextFlags, env: &ActionsEnv, event: &EventFacts) -> Result<PrContext, String> {
    let repo = flags.repo.clone().or_else(|| env.repository.clone()).ok_or(
        "no repository: pass --repo OWNER/NAME (inside GitHub Actions GITHUB_REPOSITORY gives it)".to_string(),
    )?;
    let (owner, repo) = parse_repo(&repo)?;
    let number = flags.pr.or(event.number).ok_or(
        "no pull request number: pass --pr N, or run on a `pull_request` event (GITHUB_EVENT_PATH gives it)"
            .to_string(),
    )?;
    if number == 0 {
        return Err("--pr must be a positive number".to_string());
    }
    let sha = |flag: &Option<String>, ev: &Option<String>, name: &str| -> Result<Option<String>, String> {
        match flag.clone().or_else(|| ev.clone()) {
            Some(s) if is_sha(&s.to_ascii_lowercase()) => Ok(Some(s.to_ascii_lowercase())),
            Some(s) => Err(format!("--{name} `{s}` is not a full commit id (40 hex digits)")),
            None => Ok(None),
        }
    };
    Ok(PrContext {
        owner,
        repo,
        number,
        base_sha: sha(&flags.base_sha, &event.base_sha, "base-sha")?,
        head_sha: sha(&flags.head_sha, &event.head_sha, "head-sha")?,
        fork: event.fork,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_pull_request_events() {
        let v = json!({
            "number": 7,
            "pull_request": {
                "number": 7,
                "base": { "sha": "a".repeat(40), "repo": { "full_name": "o/r" } },
                "head": { "sha": "b".repeat(40), "repo": { "full_name": "fork/r" } }
            }
        });
        let f = event_facts(&v);
        assert_eq!(f.number, Some(7));
        assert!(f.fork);
        let ctx = resolve(
            &ContextFlags::default(),
            &ActionsEnv { repository: Some("o/r".into()), ..ActionsEnv::default() },
            &f,
        )
        .unwrap();
        assert_eq!(ctx.repo_path(), "/repos/o/r");
        assert_eq!(ctx.head_sha.as_deref(), Some("b".repeat(40).as_str()));
    }

    #[test]
    fn rejects_bad_names() {
        assert!(parse_repo("o/r").is_ok());
        assert!(parse_repo("o/../x").is_err());
        assert!(parse_repo("o").is_err());
        assert!(parse_repo("o/r?x=1").is_err());
        assert!(!is_sha("abc"));
    }
}
