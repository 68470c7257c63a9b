//! `clustergpt audit-issue`: one open issue with the latest full audit, for `on: schedule`.
//!
//! The issue is found by its hidden marker *and* our bot login (the same rules as the sticky
//! summary comment, so pasting the marker into another issue takes nothing over). It is created
//! when the audit has something to report, its body is edited in place when the audit changed
//! (skipped when unchanged), and it is closed when the audit is clean: no finding at or above
//! `--fail-on` (when given, else in the configuration) or, without a threshold, no finding at all.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Parser};
use serde_json::{Value, json};

use super::api::{Api, ApiConfig, Method, RetryPolicy};
use super::{Inputs, Posted, blocking};
use crate::audit::{self, Audit};
use crate::config::Config;
use crate::settings::{RuleSelection, Status, parse_severity};
use crate::yaml::{Limits, PointerExt};

/// GitHub's limit on an issue body is 65,536 characters; stay under it.
pub const MAX_BODY: usize = 60_000;

/// Flags of `clustergpt audit-issue`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  clustergpt audit-issue k8s/                         (inside GitHub Actions, on schedule)\n  clustergpt audit-issue --repo o/r --token-env GITHUB_TOKEN --fail-on high k8s/\n  clustergpt audit-issue --repo o/r --dry-run k8s/"
)]
pub struct AuditIssueArgs {
    /// Manifest paths, relative to the working directory inside the repository (default `.`); read
    /// as committed at HEAD (the default branch's checkout), or from disk outside a git repository.
    pub paths: Vec<PathBuf>,
    /// Also propose the safe fixes as one pull request into the checked-out branch (from
    /// `clustergpt/fixes/<branch>`), updated on every run and closed when nothing is left to fix.
    #[arg(long)]
    pub open_fix_pr: bool,
    /// With --open-fix-pr: the fix PR's title and description are written by the model
    /// `OPENAI_API_KEY`, `CLUSTERGPT_LLM_BASE_URL` or the config's `llm:` configures, from redacted
    /// facts; else (and on any failure) by the built-in template.
    #[arg(long, requires = "open_fix_pr")]
    pub explain: bool,
    /// Explainer switches.
    #[command(flatten)]
    pub explain_switches: crate::settings::ExplainSwitches,
    /// Repository as OWNER/NAME (default: $GITHUB_REPOSITORY).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// REST API URL (default: $GITHUB_API_URL, else https://api.github.com).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Name of the environment variable holding the token.
    #[arg(long, value_name = "NAME", default_value = "GITHUB_TOKEN")]
    pub token_env: String,
    /// Login the issue is opened as: only issues by this login carrying the marker are ours.
    #[arg(long, value_name = "LOGIN", default_value = super::DEFAULT_BOT)]
    pub bot_login: String,
    /// Id in the hidden marker, to keep several audits' issues apart.
    #[arg(long, value_name = "ID", default_value = "default")]
    pub marker_id: String,
    /// Title of the issue when it is created.
    #[arg(long, value_name = "TEXT", default_value = "ClusterGPT audit")]
    pub title: String,
    /// The audit is clean (and the issue closed) when nothing is at or above this severity;
    /// without it (and without `fail_on` in the configuration), only when there is no finding at all.
    /// The exit status is 1 when the audit is not clean.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Rule selection and configuration.
    #[command(flatten)]
    pub rules: RuleSelection,
    /// Which files directory walks leave out.
    #[command(flatten)]
    pub walk: crate::settings::WalkFilter,
    /// Send no writes: print the exact requests.
    #[arg(long)]
    pub dry_run: bool,
    /// Time budget in seconds for all GitHub requests.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub api_timeout: u64,
}

#[derive(Parser)]
struct Only {
    #[command(flatten)]
    args: AuditIssueArgs,
}

/// Parses `audit-issue` flags (without the program and subcommand names).
///
/// # Errors
/// Clap's error.
pub fn parse_args<I, S>(argv: I) -> Result<AuditIssueArgs, clap::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let mut all: Vec<std::ffi::OsString> = vec!["clustergpt-audit-issue".into()];
    all.extend(argv.into_iter().map(Into::into));
    Only::try_parse_from(all).map(|p| p.args)
}

/// The hidden marker of the audit issue.
#[must_use]
pub fn marker(id: &str) -> String {
    format!("<!-- clustergpt:audit-issue id={id} -->")
}

/// The issue body: marker, the Markdown report (cut in the middle when too long) and a footer.
///
/// # Errors
/// When the report template fails.
pub fn body(audit: &Audit, marker_id: &str) -> anyhow::Result<String> {
    let head = marker(marker_id);
    let tail =
        "\n<sub>ClusterGPT · this issue is updated by the scheduled audit and closed when the audit is clean</sub>\n";
    let report = crate::report::markdown::render(audit)?;
    let budget = MAX_BODY - head.len() - 1 - tail.len();
    let report = crate::report::diff_md::truncate_middle(&report, budget);
    Ok(format!("{head}\n{report}{tail}"))
}

/// One of our audit issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// Issue number.
    pub number: u64,
    /// Its body.
    pub body: String,
}

/// Our open audit issues (bot login and marker; pull requests excluded), oldest first.
#[must_use]
pub fn own_issues(list: &[Value], bot: &str, marker_id: &str) -> Vec<Existing> {
    let m = marker(marker_id);
    let mut out: Vec<Existing> = list
        .iter()
        .filter(|i| i.get("pull_request").is_none_or(Value::is_null))
        .filter(|i| i.ptr("/user/login").and_then(Value::as_str).is_some_and(|l| l.eq_ignore_ascii_case(bot)))
        .filter_map(|i| {
            let body = i.get("body").and_then(Value::as_str)?;
            let number = i.get("number").and_then(Value::as_u64).filter(|n| *n != 0)?;
            body.starts_with(&m).then(|| Existing { number, body: body.to_string() })
        })
        .collect();
    out.sort_by_key(|e| e.number);
    out
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueOutcome {
    /// Exit status.
    pub status: Status,
    /// What happened to the issue.
    pub issue: Posted,
    /// What happened to the fix pull request, when `--open-fix-pr` asked for one.
    pub fix_pr: Option<Posted>,
    /// Requests a dry run would have sent.
    pub dry_run_requests: Vec<super::api::Recorded>,
}

/// Runs `clustergpt audit-issue` from the command line.
///
/// # Errors
/// When the tool cannot do its job.
pub fn run_cli(a: AuditIssueArgs) -> anyhow::Result<Status> {
    super::api::install_crypto_provider();
    let env = super::context::ActionsEnv::from_process();
    let token = std::env::var(&a.token_env).ok().filter(|t| !t.trim().is_empty());
    let inputs = Inputs {
        env,
        token,
        clock: super::api::Clock::real(),
        retry: RetryPolicy::default(),
        cwd: std::env::current_dir().context("cannot read the working directory")?,
        today: crate::settings::today(),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the runtime")?;
    let mut out = std::io::stdout().lock();
    rt.block_on(run_outcome(&a, &inputs, &mut out)).map(|o| o.status)
}

fn load(a: &AuditIssueArgs, inputs: &Inputs, config: &crate::config::Config) -> anyhow::Result<crate::source::Input> {
    let filter = a.walk.filter(config)?;
    let paths: Vec<PathBuf> = if a.paths.is_empty() { vec![PathBuf::from(".")] } else { a.paths.clone() };
    match crate::git::resolve(&inputs.cwd, "HEAD") {
        Ok(head) => crate::git::load_filtered(&inputs.cwd, &head, &paths, Limits::default(), &filter)
            .context("cannot read the manifests committed at HEAD"),
        // Not a repository (or no commit yet): the files on disk are what there is.
        Err(_) => {
            let mut stdin = std::io::empty();
            let abs: Vec<PathBuf> = paths.iter().map(|p| inputs.cwd.join(p)).collect();
            Ok(crate::source::load_paths_filtered(&abs, &mut stdin, Limits::default(), &filter))
        }
    }
}

/// Runs `clustergpt audit-issue`, writing human lines to `out`.
///
/// # Errors
/// When the tool cannot do its job (bad flags, unreadable config, no repository).
pub async fn run_outcome(a: &AuditIssueArgs, inputs: &Inputs, out: &mut dyn Write) -> anyhow::Result<IssueOutcome> {
    let id_ok =
        |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !id_ok(&a.marker_id) {
        bail!("--marker-id may hold letters, digits, `-`, `_` and `.` (at most 64)");
    }
    if a.bot_login.is_empty() || a.bot_login.chars().any(|c| c.is_control() || c.is_whitespace()) {
        bail!("--bot-login must be a GitHub login such as github-actions[bot]");
    }
    if a.title.trim().is_empty() || a.title.len() > 256 || a.title.chars().any(char::is_control) {
        bail!("--title must be a single line of at most 256 characters");
    }
    a.rules.check()?;
    let env = &inputs.env;
    let repo = a.repo.clone().or_else(|| env.repository.clone()).ok_or_else(|| {
        anyhow::anyhow!("no repository: pass --repo OWNER/NAME (inside GitHub Actions GITHUB_REPOSITORY gives it)")
    })?;
    let (owner, name) = super::context::parse_repo(&repo).map_err(anyhow::Error::msg)?;
    // Configuration, git, the audit and the report block: they run off the runtime's thread.
    let (args, inputs_owned) = (a.clone(), inputs.clone());
    let audited = blocking(move || -> anyhow::Result<(Config, Audit, Option<crate::model::Severity>, String)> {
        let (a, inputs) = (&args, &inputs_owned);
        let config = a.rules.resolve_config()?;
        let fail_on = parse_severity(a.fail_on.as_deref())?.or(config.fail_on);
        let opts = a.rules.run_options(inputs.today.clone());
        let (mut audit, objects) = audit::run_with_objects(load(a, inputs, &config)?, &config, &opts);
        crate::fix::enrich(&mut audit, &objects);
        drop(objects);
        let body = body(&audit, &a.marker_id)?;
        Ok((config, audit, fail_on, body))
    })
    .await??;
    let (config, audit, fail_on, body) = audited;
    let relevant = audit.findings.iter().filter(|f| fail_on.is_none_or(|min| f.severity >= min)).count();
    let clean = relevant == 0 && audit.errors.is_empty();

    let cfg = ApiConfig {
        base_url: a
            .api_url
            .clone()
            .or_else(|| env.api_url.clone())
            .unwrap_or_else(|| "https://api.github.com".to_string()),
        graphql_url: None,
        token: inputs.token.clone(),
        retry: RetryPolicy { total: Duration::from_secs(a.api_timeout), ..inputs.retry.clone() },
        clock: inputs.clock.clone(),
        dry_run: a.dry_run,
    };
    let mut api = Api::new(&cfg).map_err(anyhow::Error::msg)?;
    let repo_path = format!("/repos/{owner}/{name}");
    let issue = sync_issue(a, &mut api, &repo_path, &body, clean).await;
    let fix_pr =
        if a.open_fix_pr { Some(open_fix_pr(a, inputs, &mut api, &owner, &repo_path, config).await) } else { None };

    let verdict = if clean {
        "clean".to_string()
    } else {
        format!("{relevant} finding{} to report", if relevant == 1 { "" } else { "s" })
    };
    writeln!(out, "ClusterGPT audit: {verdict}")?;
    let tag = if api.dry_run() { " (dry run, nothing sent)" } else { "" };
    let line = match &issue {
        Posted::Done(s) => format!("audit issue{tag}: {s}"),
        Posted::Skipped(s) => format!("audit issue{tag}: skipped ({s})"),
        Posted::Denied(s) => format!("audit issue{tag}: not permitted ({s}); grant `issues: write`"),
        Posted::Failed(s) => format!("audit issue{tag}: failed ({s})"),
    };
    writeln!(out, "{}", api.redact(&line))?;
    if let Some(p) = &fix_pr {
        let line = match p {
            Posted::Done(s) => format!("fix pull request{tag}: {s}"),
            Posted::Skipped(s) => format!("fix pull request{tag}: skipped ({s})"),
            Posted::Denied(s) => format!(
                "fix pull request{tag}: not permitted ({s}); grant `contents: write` and `pull-requests: write`"
            ),
            Posted::Failed(s) => format!("fix pull request{tag}: failed ({s})"),
        };
        writeln!(out, "{}", api.redact(&line))?;
    }
    if api.dry_run() {
        writeln!(out, "\n--dry-run: {} request(s) would be sent:\n", api.recorded.len())?;
        for r in &api.recorded {
            writeln!(out, "{}", r.render())?;
        }
    }
    let status = if !audit.errors.is_empty() {
        Status::Error
    } else if fail_on.is_some() && relevant > 0 {
        Status::GateFailed
    } else {
        Status::Passed
    };
    Ok(IssueOutcome { status, issue, fix_pr, dry_run_requests: api.recorded.clone() })
}

/// `audit-issue --open-fix-pr`: safe fixes of the checked-out branch (the default branch on a
/// schedule), proposed into that branch.
async fn open_fix_pr(
    a: &AuditIssueArgs,
    inputs: &Inputs,
    api: &mut Api,
    owner: &str,
    repo_path: &str,
    config: Config,
) -> Posted {
    let (rules, paths, cwd, today) = (a.rules.clone(), a.paths.clone(), inputs.cwd.clone(), inputs.today.clone());
    let llm = config.llm.clone();
    let computed = blocking(move || -> Result<_, Posted> {
        let git = |args: &[&str]| crate::git::run(&cwd, args).ok().map(|s| s.trim().to_string());
        let Some(head_sha) = git(&["rev-parse", "HEAD"]) else {
            return Err(Posted::Skipped("not in a git checkout: fixes are committed on top of HEAD".into()));
        };
        let branch = match git(&["rev-parse", "--abbrev-ref", "HEAD"]) {
            Some(b) if b != "HEAD" && !b.is_empty() => b,
            _ => return Err(Posted::Skipped("HEAD is detached: check out the branch the fixes should go into".into())),
        };
        if branch.starts_with("clustergpt/fixes/") {
            return Err(Posted::Skipped("this is a fix branch itself".into()));
        }
        let paths: Vec<PathBuf> = if paths.is_empty() { vec![PathBuf::from(".")] } else { paths };
        let files = super::fixpr::read_files_at(&cwd, &head_sha, &paths).map_err(|e| Posted::Failed(e.to_string()))?;
        let (report, facts) = super::fixpr::compute(&files, &config, &rules.run_options(today));
        Ok((head_sha, branch, files, report, facts))
    })
    .await;
    let (head_sha, branch, files, report, facts) = match computed {
        Ok(Ok(c)) => c,
        Ok(Err(p)) => return p,
        Err(e) => return Posted::Failed(format!("{e:#}")),
    };
    let t = super::fixpr::Target { repo_path, owner, branch: &branch, head_sha: &head_sha, pull_request: None };
    // With --explain, a configured model writes the description (from the applied fixes' facts).
    let explainer = if a.explain {
        crate::explain::Explainer::configured(&llm, a.explain_switches.switches())
    } else {
        crate::explain::Explainer::Template
    };
    super::fixpr::publish(api, &t, &files, &report, facts, report.skipped.len(), &explainer).await
}

async fn sync_issue(a: &AuditIssueArgs, api: &mut Api, repo: &str, body: &str, clean: bool) -> Posted {
    let list = match api.get_all(&format!("{repo}/issues?state=open")).await {
        Ok(l) => l,
        Err(e) if api.dry_run() => {
            let _ = e;
            Vec::new()
        }
        Err(e) => return super::describe(&e),
    };
    let own = own_issues(&list, &a.bot_login, &a.marker_id);
    let mut what = Vec::new();
    // Duplicates (two runs racing) are closed; the oldest one is kept.
    for extra in own.iter().skip(1) {
        let path = format!("{repo}/issues/{}", extra.number);
        match api
            .request(Method::Patch, &path, Some(&json!({ "state": "closed", "state_reason": "not_planned" })))
            .await
        {
            Ok(_) => what.push(format!("closed duplicate #{}", extra.number)),
            Err(e) => return super::describe(&e),
        }
    }
    let result = match (own.first(), clean) {
        (Some(i), true) => {
            let path = format!("{repo}/issues/{}", i.number);
            api.request(
                Method::Patch,
                &path,
                Some(&json!({ "body": body, "state": "closed", "state_reason": "completed" })),
            )
            .await
            .map(|_| format!("the audit is clean; closed #{}", i.number))
        }
        (None, true) => Ok("the audit is clean; no issue".to_string()),
        (Some(i), false) if i.body.trim_end() == body.trim_end() => Ok(format!("#{} unchanged, not updated", i.number)),
        (Some(i), false) => api
            .request(Method::Patch, &format!("{repo}/issues/{}", i.number), Some(&json!({ "body": body })))
            .await
            .map(|_| format!("updated #{}", i.number)),
        (None, false) => api
            .request(Method::Post, &format!("{repo}/issues"), Some(&json!({ "title": a.title, "body": body })))
            .await
            .map(|v| format!("opened #{}", v.get("number").and_then(Value::as_u64).unwrap_or(0))),
    };
    match result {
        Ok(s) => {
            what.push(s);
            Posted::Done(what.join(", "))
        }
        Err(e) => super::describe(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_our_marked_issues() {
        let m = marker("default");
        let list = vec![
            json!({ "number": 3, "user": { "login": "mallory" }, "body": format!("{m}\nhijack") }),
            json!({ "number": 4, "user": { "login": "github-actions[bot]" }, "body": "other" }),
            json!({ "number": 5, "user": { "login": "github-actions[bot]" }, "body": format!("{m}\nours"), "pull_request": { "url": "x" } }),
            json!({ "number": 6, "user": { "login": "github-actions[bot]" }, "body": format!("{m}\nours") }),
        ];
        let own = own_issues(&list, "github-actions[bot]", "default");
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].number, 6);
    }
}
