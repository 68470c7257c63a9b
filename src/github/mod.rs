//! Pull-request mode (`clustergpt pr`): everything the GitHub Action does.
//!
//! 1. The PR context comes from the Actions event payload and environment, or flags.
//! 2. Base (the merge base of the PR's base and head commits) and head are read through git at
//!    their commits, audited and compared ([`crate::diff`]).
//! 3. New findings on changed lines become review comments (suggested changes where the fix's line
//!    replacement lies inside one hunk), all in one review; anchors are checked against the PR's
//!    hunks first, a 422 falls back to the summary. Hidden fingerprint markers make reruns
//!    idempotent; our stale comments are deleted unless someone replied.
//! 4. One sticky summary comment (marker + our bot login) with the diff report, a check run with
//!    annotations, SARIF, the step summary and step outputs.
//! 5. Without write permission (forks), workflow commands and the step summary carry the findings;
//!    `--emit-artifact` / `--post-artifact` split the work for the fork-safe two-stage pattern.
//!
//! The rest of the crate is synchronous; this command runs a current-thread tokio runtime, and
//! everything that blocks (git, files, whole audits) runs on its blocking pool ([`blocking`]), so
//! the async code only waits on the network.

pub mod actions;
pub mod api;
pub mod artifact;
pub mod checks;
pub mod context;
pub mod fixpr;
pub mod hunks;
pub mod issue;
pub mod review;
pub mod summary;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Parser};
use serde_json::{Value, json};

use crate::audit::{self, Audit};
use crate::diff::{CostLimit, Diff, Gate};
use crate::model::{Finding, Severity};
use crate::settings::{RuleSelection, Status, parse_severity};
use crate::yaml::Limits;
use crate::yaml::PointerExt;
use api::{Api, ApiConfig, ApiError, Clock, Method, RetryPolicy};
use context::{ActionsEnv, ContextFlags, EventFacts, PrContext};
use hunks::Hunks;
use summary::Behavior;

/// The login our comments are written under with the Actions `GITHUB_TOKEN`.
pub const DEFAULT_BOT: &str = "github-actions[bot]";

/// Flags of `clustergpt pr`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  clustergpt pr k8s/                                   (inside GitHub Actions, on pull_request)\n  clustergpt pr --repo o/r --pr 42 --token-env GITHUB_TOKEN k8s/\n  clustergpt pr --repo o/r --pr 42 --dry-run k8s/\n  clustergpt pr --emit-artifact out/ k8s/              (fork-safe stage 1, no token needed)\n  clustergpt pr --post-artifact out/                   (stage 2, in a workflow_run job)"
)]
pub struct PrArgs {
    /// Manifest paths, relative to the working directory inside the repository (default `.`).
    pub paths: Vec<PathBuf>,
    /// Repository as OWNER/NAME (default: $GITHUB_REPOSITORY).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// Pull request number (default: from $GITHUB_EVENT_PATH).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Base commit (default: the event's pull_request.base.sha, else asked from the API).
    #[arg(long, value_name = "SHA")]
    pub base_sha: Option<String>,
    /// Head commit (default: the event's pull_request.head.sha, else asked from the API).
    #[arg(long, value_name = "SHA")]
    pub head_sha: Option<String>,
    /// REST API URL (default: $GITHUB_API_URL, else https://api.github.com; GitHub Enterprise
    /// Server: https://HOST/api/v3).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Name of the environment variable holding the token (the token itself is never a flag).
    #[arg(long, value_name = "NAME", default_value = "GITHUB_TOKEN")]
    pub token_env: String,
    /// Login our comments are posted as: matched, with the hidden marker, to find our own
    /// comments (a GitHub App's is `NAME[bot]`; a personal token's is the user's login).
    #[arg(long, value_name = "LOGIN", default_value = DEFAULT_BOT)]
    pub bot_login: String,
    /// What happens to the previous summary comment.
    #[arg(long, value_enum, default_value = "update")]
    pub comment_behavior: Behavior,
    /// Inline review comments kept on the PR at most (0 to 30); the rest are summarised.
    #[arg(long, value_name = "N", default_value_t = review::MAX_COMMENTS)]
    pub max_comments: usize,
    /// Id in the hidden markers, to keep several configurations' comments apart.
    #[arg(long, value_name = "ID", default_value = "default")]
    pub marker_id: String,
    /// Name of the check run.
    #[arg(long, value_name = "NAME", default_value = "ClusterGPT")]
    pub check_name: String,
    /// Do not post review comments.
    #[arg(long)]
    pub no_review: bool,
    /// Do not post the summary comment.
    #[arg(long)]
    pub no_summary: bool,
    /// Do not create a check run.
    #[arg(long)]
    pub no_check_run: bool,
    /// Exit 1 when the head has a finding at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Exit 1 when the PR introduces a finding at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on_new: Option<String>,
    /// Exit 1 when the monthly cost rises by more than this amount (`100`) or percentage (`10%`).
    #[arg(long, value_name = "AMOUNT|PERCENT")]
    pub max_cost_increase: Option<String>,
    /// Rule selection and configuration.
    #[command(flatten)]
    pub rules: RuleSelection,
    /// Which files directory walks leave out.
    #[command(flatten)]
    pub walk: crate::settings::WalkFilter,
    /// Write SARIF 2.1.0 of the head here (for github/codeql-action/upload-sarif, category `clustergpt`).
    #[arg(long, value_name = "PATH")]
    pub sarif_file: Option<PathBuf>,
    /// Write the Markdown report here (default in Actions: $RUNNER_TEMP/clustergpt-report.md).
    #[arg(long, value_name = "PATH")]
    pub report_file: Option<PathBuf>,
    /// Send no writes: print the exact requests (reads are still sent; without access to the
    /// API, hunks come from the local git diff).
    #[arg(long)]
    pub dry_run: bool,
    /// Stage 1 of the fork-safe pattern: write the results to DIR instead of posting them.
    #[arg(long, value_name = "DIR", conflicts_with = "post_artifact")]
    pub emit_artifact: Option<PathBuf>,
    /// Stage 2: post the results in DIR (validated as untrusted input); no checkout needed.
    #[arg(long, value_name = "DIR")]
    pub post_artifact: Option<PathBuf>,
    /// Time budget in seconds for all GitHub requests, retries and rate-limit waits included.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub api_timeout: u64,
    /// Apply the safe fixes to the head's manifests, commit them to `clustergpt/fixes/<head-branch>`
    /// and open (or update) a pull request from it into the PR's head branch; close it when nothing
    /// is left to fix. Needs `contents: write` and `pull-requests: write`.
    #[arg(long, conflicts_with_all = ["emit_artifact", "post_artifact"])]
    pub open_fix_pr: bool,
    /// Add a collapsed "Summary" of the new findings to the summary comment, and let a model write
    /// the fix PR's description: the model `OPENAI_API_KEY`, `CLUSTERGPT_LLM_BASE_URL` or the
    /// config's `llm:` configures, from redacted facts; else the built-in template.
    #[arg(long)]
    pub explain: bool,
    /// Explainer switches.
    #[command(flatten)]
    pub explain_switches: crate::settings::ExplainSwitches,
}

#[derive(Parser)]
struct PrOnly {
    #[command(flatten)]
    args: PrArgs,
}

/// Parses `pr` flags (without the program and subcommand names), for tests and embedding.
///
/// # Errors
/// Clap's error.
pub fn parse_args<I, S>(argv: I) -> Result<PrArgs, clap::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let mut all: Vec<std::ffi::OsString> = vec!["clustergpt-pr".into()];
    all.extend(argv.into_iter().map(Into::into));
    PrOnly::try_parse_from(all).map(|p| p.args)
}

/// What a run needs from its surroundings; tests build it by hand.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The Actions environment.
    pub env: ActionsEnv,
    /// The token.
    pub token: Option<String>,
    /// Clock for retries.
    pub clock: Clock,
    /// Retry policy (its `total` is replaced by `--api-timeout`).
    pub retry: RetryPolicy,
    /// Working directory (inside the repository).
    pub cwd: PathBuf,
    /// Today, for exemption expiry.
    pub today: String,
}

/// Runs `clustergpt pr` from the command line.
///
/// # Errors
/// When the tool cannot do its job (bad flags, missing commits, invalid artifact).
pub fn run_cli(a: PrArgs) -> anyhow::Result<Status> {
    api::install_crypto_provider();
    let env = ActionsEnv::from_process();
    let token = std::env::var(&a.token_env).ok().filter(|t| !t.trim().is_empty());
    let inputs = Inputs {
        env,
        token,
        clock: Clock::real(),
        retry: RetryPolicy::default(),
        cwd: std::env::current_dir().context("cannot read the working directory")?,
        today: crate::settings::today(),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the runtime")?;
    let mut out = std::io::stdout().lock();
    rt.block_on(run(&a, &inputs, &mut out))
}

/// What happened to one thing we post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Done; what was done.
    Done(String),
    /// Not attempted; why.
    Skipped(String),
    /// The token may not do it (403/404).
    Denied(String),
    /// It failed otherwise.
    Failed(String),
}

impl Posted {
    fn done(&self) -> bool {
        matches!(self, Posted::Done(_))
    }
}

/// The outcome of a run, for callers and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Exit status.
    pub status: Status,
    /// Review comments.
    pub review: Posted,
    /// Summary comment.
    pub summary: Posted,
    /// Check run.
    pub check_run: Posted,
    /// Whether workflow commands were printed for the findings.
    pub printed_commands: bool,
    /// Requests a dry run would have sent.
    pub dry_run_requests: Vec<api::Recorded>,
    /// The remediation pull request (`--open-fix-pr`).
    pub fix_pr: Posted,
}

/// Runs `clustergpt pr`, writing human lines and workflow commands to `out`.
///
/// # Errors
/// When the tool cannot do its job.
pub async fn run(a: &PrArgs, inputs: &Inputs, out: &mut dyn Write) -> anyhow::Result<Status> {
    run_outcome(a, inputs, out).await.map(|o| o.status)
}

/// Runs blocking work (git, files, whole audits) on the runtime's blocking pool, so its own
/// thread only ever waits on the network. A panic in `f` carries on as the panic it was.
pub(crate) async fn blocking<T, F>(f: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| match e.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        Err(e) => anyhow!("background work was cancelled: {e}"),
    })
}

fn check_flags(a: &PrArgs) -> anyhow::Result<()> {
    if a.max_comments > review::MAX_COMMENTS {
        bail!("--max-comments is at most {}", review::MAX_COMMENTS);
    }
    let id_ok =
        |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !id_ok(&a.marker_id) {
        bail!("--marker-id may hold letters, digits, `-`, `_` and `.` (at most 64)");
    }
    if a.check_name.trim().is_empty() || a.check_name.len() > 100 || a.check_name.chars().any(char::is_control) {
        bail!("--check-name must be a single line of at most 100 characters");
    }
    if a.bot_login.is_empty()
        || a.bot_login.len() > 100
        || a.bot_login.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        bail!("--bot-login must be a GitHub login such as github-actions[bot]");
    }
    a.rules.check()
}

/// Like [`run`], returning everything that happened.
///
/// # Errors
/// When the tool cannot do its job.
pub async fn run_outcome(a: &PrArgs, inputs: &Inputs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    check_flags(a)?;
    let env = &inputs.env;
    let fail_on = parse_severity(a.fail_on.as_deref())?;
    let fail_on_new = parse_severity(a.fail_on_new.as_deref())?;
    let max_cost = match &a.max_cost_increase {
        Some(s) => Some(CostLimit::parse(s).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let event = match env.event_path.clone() {
        Some(p) => blocking(move || context::read_event(&p)).await?.map_err(anyhow::Error::msg)?,
        None => EventFacts::default(),
    };
    let api_cfg = ApiConfig {
        base_url: a
            .api_url
            .clone()
            .or_else(|| env.api_url.clone())
            .unwrap_or_else(|| "https://api.github.com".to_string()),
        graphql_url: if a.api_url.is_some() { None } else { env.graphql_url.clone() },
        token: inputs.token.clone(),
        retry: RetryPolicy {
            total: Duration::from_secs(a.api_timeout),
            // A dry run's reads are a convenience: give up quickly when the API is out of reach.
            max_attempts: if a.dry_run { inputs.retry.max_attempts.min(2) } else { inputs.retry.max_attempts },
            ..inputs.retry.clone()
        },
        clock: inputs.clock.clone(),
        dry_run: a.dry_run,
    };
    let flags =
        ContextFlags { repo: a.repo.clone(), pr: a.pr, base_sha: a.base_sha.clone(), head_sha: a.head_sha.clone() };

    // Stage 2: everything comes from the validated artifact, except the repository.
    if let Some(dir) = &a.post_artifact {
        let repo = a.repo.clone().or_else(|| env.repository.clone()).ok_or_else(|| {
            anyhow!("--post-artifact needs the repository: pass --repo OWNER/NAME or run inside GitHub Actions")
        })?;
        let (owner, name) = context::parse_repo(&repo).map_err(anyhow::Error::msg)?;
        let (dir, expected) = (dir.clone(), format!("{owner}/{name}"));
        let art = blocking(move || artifact::read(&dir, &expected)).await?.map_err(anyhow::Error::msg)?;
        if let Some(n) = a.pr
            && n != art.pull_request
        {
            bail!("the artifact is for pull request #{}, not #{n}", art.pull_request);
        }
        if let Some(sha) = &event.workflow_run_head_sha
            && !sha.eq_ignore_ascii_case(&art.head_sha)
        {
            bail!(
                "the artifact is for commit {}, but the workflow run that triggered this job built {sha}; refusing it",
                art.head_sha
            );
        }
        let ctx = PrContext {
            owner,
            repo: name,
            number: art.pull_request,
            base_sha: Some(art.base_sha.clone()),
            head_sha: Some(art.head_sha.clone()),
            fork: true,
        };
        let mut diff = art.to_diff();
        apply_gates(&mut diff, &art.head_counts, fail_on, fail_on_new, max_cost);
        let mut api = Api::new(&api_cfg).map_err(anyhow::Error::msg)?;
        // The PR may have moved on since the artifact was made: then only its check run is posted,
        // so an old summary never replaces a newer one.
        let current = api
            .request(Method::Get, &format!("{}/pulls/{}", ctx.repo_path(), ctx.number), None)
            .await
            .map_err(|e| anyhow!("cannot read pull request #{}: {e}", ctx.number))?;
        let current_head = current.ptr("/head/sha").and_then(Value::as_str).unwrap_or_default().to_string();
        let stale = !current_head.eq_ignore_ascii_case(&art.head_sha);
        let head_sha = art.head_sha.clone();
        return finish(a, inputs, out, &mut api, &ctx, &head_sha, diff, None, stale).await;
    }

    let mut ctx = context::resolve(&flags, env, &event).map_err(anyhow::Error::msg)?;
    let needs_api = a.emit_artifact.is_none() || ctx.base_sha.is_none() || ctx.head_sha.is_none();
    let mut api = if needs_api { Some(Api::new(&api_cfg).map_err(anyhow::Error::msg)?) } else { None };
    if ctx.base_sha.is_none() || ctx.head_sha.is_none() {
        let api = api.as_mut().ok_or_else(|| anyhow!("no API client"))?;
        let pr = api.request(Method::Get, &format!("{}/pulls/{}", ctx.repo_path(), ctx.number), None).await.map_err(
            |e| {
                anyhow!(
                    "cannot read pull request #{} to find its commits (or pass --base-sha and --head-sha): {e}",
                    ctx.number
                )
            },
        )?;
        let sha = |p: &str| pr.ptr(p).and_then(Value::as_str).filter(|s| context::is_sha(s)).map(str::to_string);
        ctx.base_sha = ctx.base_sha.clone().or_else(|| sha("/base/sha"));
        ctx.head_sha = ctx.head_sha.clone().or_else(|| sha("/head/sha"));
    }
    let (Some(base_sha), Some(head_sha)) = (ctx.base_sha.clone(), ctx.head_sha.clone()) else {
        bail!("cannot tell the pull request's base and head commits; pass --base-sha and --head-sha");
    };

    let analyzed = {
        let (a, inputs, base_sha, head_sha) = (a.clone(), inputs.clone(), base_sha.clone(), head_sha.clone());
        blocking(move || analyze(&a, &inputs, &base_sha, &head_sha)).await??
    };
    let Analyzed { mut diff, head, head_counts, merge_base } = analyzed;
    apply_gates(&mut diff, &head_counts, fail_on, fail_on_new, max_cost);
    if let Some(path) = a.sarif_file.clone() {
        blocking(move || -> anyhow::Result<()> {
            let text = sarif_with_category(&head)?;
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
        })
        .await??;
    }

    if let Some(dir) = &a.emit_artifact {
        let art =
            artifact::Artifact::of(&diff, &ctx.full_name(), ctx.number, &base_sha, &head_sha, head_counts.clone());
        let dir = dir.clone();
        let path = blocking(move || artifact::write(&dir, &art)).await?.map_err(anyhow::Error::msg)?;
        writeln!(out, "ClusterGPT: {}", diff.verdict())?;
        writeln!(out, "wrote {} for a later `clustergpt pr --post-artifact` job", path.display())?;
        let report = summary::body(&diff, &summary::Extras::default(), &a.marker_id, &head_sha)?;
        let report = strip_marker(&report, &a.marker_id);
        let rest = if env.in_actions { actions::print_findings(&diff.new, out)? } else { Vec::new() };
        side_channels(a, env, out, &diff, &report, &rest, None).await?;
        let status = exit_status(&diff);
        return Ok(Outcome {
            status,
            review: Posted::Skipped("--emit-artifact".into()),
            summary: Posted::Skipped("--emit-artifact".into()),
            check_run: Posted::Skipped("--emit-artifact".into()),
            printed_commands: env.in_actions,
            dry_run_requests: Vec::new(),
            fix_pr: Posted::Skipped("--emit-artifact".into()),
        });
    }

    let mut api = api.ok_or_else(|| anyhow!("no API client"))?;
    let local = if a.dry_run {
        let (cwd, head_sha) = (inputs.cwd.clone(), head_sha.clone());
        Some(blocking(move || local_hunks(&cwd, &merge_base, &head_sha)).await?)
    } else {
        None
    };
    let mut outcome = finish(a, inputs, out, &mut api, &ctx, &head_sha, diff, local, false).await?;
    if a.open_fix_pr {
        let printed = api.recorded.len();
        outcome.fix_pr = open_fix_pr(a, inputs, &mut api, &ctx, &head_sha).await;
        let line = match &outcome.fix_pr {
            Posted::Done(s) => format!("fix pull request: {s}"),
            Posted::Skipped(s) => format!("fix pull request: skipped ({s})"),
            Posted::Denied(s) => format!(
                "fix pull request: not permitted ({s}); --open-fix-pr needs `contents: write` and `pull-requests: write`"
            ),
            Posted::Failed(s) => format!("fix pull request: failed ({s})"),
        };
        writeln!(out, "{}", api.redact(&line))?;
        if api.dry_run() && api.recorded.len() > printed {
            writeln!(out, "\n--dry-run: {} more request(s) for the fix pull request:\n", api.recorded.len() - printed)?;
            for r in &api.recorded[printed..] {
                writeln!(out, "{}", r.render())?;
            }
            outcome.dry_run_requests = api.recorded.clone();
        }
    }
    Ok(outcome)
}

/// `--open-fix-pr`: safe fixes of the head's manifests, proposed into the PR's head branch.
async fn open_fix_pr(a: &PrArgs, inputs: &Inputs, api: &mut Api, ctx: &PrContext, head_sha: &str) -> Posted {
    if ctx.fork {
        return Posted::Skipped(
            "the pull request comes from a fork: a fix pull request cannot target its branch".into(),
        );
    }
    let repo = ctx.repo_path();
    let pr = match api.request(Method::Get, &format!("{repo}/pulls/{}", ctx.number), None).await {
        Ok(v) => v,
        Err(e) => return describe(&e),
    };
    let head_repo = pr.ptr("/head/repo/full_name").and_then(Value::as_str).unwrap_or_default();
    if !head_repo.is_empty() && !head_repo.eq_ignore_ascii_case(&ctx.full_name()) {
        return Posted::Skipped(
            "the pull request comes from a fork: a fix pull request cannot target its branch".into(),
        );
    }
    let Some(target) = pr.ptr("/head/ref").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string) else {
        return Posted::Failed("the pull request names no head branch".into());
    };
    if target.starts_with("clustergpt/fixes/") {
        return Posted::Skipped("this is a fix pull request itself".into());
    }
    let (rules, paths, cwd, today, sha) =
        (a.rules.clone(), a.paths.clone(), inputs.cwd.clone(), inputs.today.clone(), head_sha.to_string());
    let computed = blocking(move || -> Result<_, String> {
        let config = rules.resolve_config().map_err(|e| format!("{e:#}"))?;
        let files = fixpr::read_files_at(&cwd, &sha, &paths).map_err(|e| e.to_string())?;
        let (report, facts) = fixpr::compute(&files, &config, &rules.run_options(today));
        Ok((files, report, facts, config.llm))
    })
    .await;
    let (files, report, facts, llm) = match computed {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Posted::Failed(e),
        Err(e) => return Posted::Failed(format!("{e:#}")),
    };
    let t = fixpr::Target {
        repo_path: &repo,
        owner: &ctx.owner,
        branch: &target,
        head_sha,
        pull_request: Some(ctx.number),
    };
    let explainer = if a.explain {
        crate::explain::Explainer::configured(&llm, a.explain_switches.switches())
    } else {
        crate::explain::Explainer::Template
    };
    fixpr::publish(api, &t, &files, &report, facts, report.skipped.len(), &explainer).await
}

fn exit_status(diff: &Diff) -> Status {
    if !diff.context.head_errors.is_empty() {
        Status::Error
    } else if diff.passed() {
        Status::Passed
    } else {
        Status::GateFailed
    }
}

fn apply_gates(
    diff: &mut Diff,
    head_counts: &BTreeMap<Severity, usize>,
    fail_on: Option<Severity>,
    fail_on_new: Option<Severity>,
    max_cost: Option<CostLimit>,
) {
    diff.evaluate_gates(fail_on_new, max_cost);
    if let Some(min) = fail_on {
        let n: usize = head_counts.iter().filter(|(s, _)| **s >= min).map(|(_, n)| n).sum();
        let reason = if n == 0 {
            format!("no findings at or above {min} in the head")
        } else {
            format!("{n} finding{} at or above {min} in the head", if n == 1 { "" } else { "s" })
        };
        diff.gates.push(Gate { name: "fail-on".to_string(), passed: n == 0, reason });
    }
}

/// SARIF of the head with a stable `automationDetails.id` (the code-scanning category).
fn sarif_with_category(head: &Audit) -> anyhow::Result<String> {
    let mut v = crate::report::sarif::to_value(head);
    if let Some(run) = v.pointer_mut("/runs/0") {
        run["automationDetails"] = json!({ "id": "clustergpt/" });
    }
    let mut s = serde_json::to_string_pretty(&v)?;
    s.push('\n');
    Ok(s)
}

fn strip_marker(body: &str, marker_id: &str) -> String {
    body.strip_prefix(&summary::marker(marker_id)).map_or(body, |b| b.trim_start_matches('\n')).to_string()
}

struct Analyzed {
    diff: Diff,
    head: Audit,
    head_counts: BTreeMap<Severity, usize>,
    merge_base: String,
}

/// A commit of the PR, with what to do when it is missing (advice for `pr`, which reads both
/// commits from the clone it runs in).
fn commit(cwd: &Path, sha: &str, which: &str) -> anyhow::Result<String> {
    use crate::git::Error as G;
    crate::git::resolve(cwd, sha).map_err(|e| match e {
        G::GitMissing(_) => anyhow!("{e}; `clustergpt pr` reads the base and head commits through git: install it"),
        G::NotARepo { .. } => anyhow!("{e}; run `clustergpt pr` inside a clone of the repository"),
        G::RefNotFound { .. } | G::InvalidRef { .. } => anyhow!(
            "the {which} commit {sha} is not in this clone. Check out with full history (actions/checkout with `fetch-depth: 0`), or fetch it: `git fetch origin {sha}`"
        ),
        other => anyhow::Error::new(other).context(format!("the {which} commit {sha}")),
    })
}

fn analyze(a: &PrArgs, inputs: &Inputs, base_sha: &str, head_sha: &str) -> anyhow::Result<Analyzed> {
    let cwd = &inputs.cwd;
    let config = a.rules.resolve_config()?;
    let head = commit(cwd, head_sha, "head")?;
    let base = commit(cwd, base_sha, "base")?;
    // GitHub shows a PR's changes against the merge base; compare the same way so changes that
    // landed on the base branch meanwhile are not counted as the PR's.
    let merge_base = crate::git::run(cwd, &["merge-base", &base, &head])
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| context::is_sha(s))
        .unwrap_or(base);
    let paths: Vec<PathBuf> = if a.paths.is_empty() { vec![PathBuf::from(".")] } else { a.paths.clone() };
    let opts = a.rules.run_options(inputs.today.clone());
    let filter = a.walk.filter(&config)?;
    let render = config.render_options();
    // Each side's kustomizations and charts are built from that commit's own tree.
    let load = |sha: &str, which: &str| {
        crate::git::load_rendered(cwd, sha, &paths, Limits::default(), &filter, &render)
            .with_context(|| format!("cannot read the manifests at the {which} commit {sha}"))
    };
    let base_input = load(&merge_base, "base")?;
    let head_input = load(&head, "head")?;
    let mut base_audit = audit::run(base_input, &config, &opts);
    let (mut head_audit, objects) = audit::run_with_objects(head_input, &config, &opts);
    crate::fix::enrich(&mut head_audit, &objects);
    drop(objects);
    let prefix =
        crate::git::run(cwd, &["rev-parse", "--show-prefix"]).map(|s| s.trim().to_string()).unwrap_or_default();
    relativize(&mut head_audit, &prefix);
    relativize(&mut base_audit, &prefix);
    let short = |s: &str| s.chars().take(7).collect::<String>();
    let diff = Diff::new(&base_audit, &head_audit).labeled(short(&merge_base), short(&head));
    Ok(Analyzed { diff, head_counts: head_audit.summary.by_severity.clone(), head: head_audit, merge_base })
}

/// A path as the repository names it: `./k8s/a.yaml` run from `sub/` → `sub/k8s/a.yaml`.
#[must_use]
pub fn repo_relative(prefix: &str, file: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in Path::new(prefix).join(file).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().to_string()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts.join("/")
}

fn relativize(a: &mut Audit, prefix: &str) {
    for f in &mut a.findings {
        if let Some(file) = &f.location.file {
            f.location.file = Some(repo_relative(prefix, file));
        }
        if let Some(s) = f.fix.as_mut().and_then(|x| x.suggestion.as_mut()) {
            s.file = repo_relative(prefix, &s.file);
        }
    }
    for e in &mut a.errors {
        if crate::source::source_file(&e.source).is_some() {
            e.source = repo_relative(prefix, &e.source);
        }
    }
}

/// Hunks from the local git diff, for dry runs that cannot read the PR's files.
fn local_hunks(cwd: &Path, base: &str, head: &str) -> Hunks {
    let mut h = Hunks::default();
    if let Ok(d) = crate::git::run(
        cwd,
        &["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "-U3", "-M", base, head],
    ) {
        h.add_git_diff(&d);
    }
    h
}

fn describe(e: &ApiError) -> Posted {
    if e.is_permission() { Posted::Denied(e.to_string()) } else { Posted::Failed(e.to_string()) }
}

/// Posts a POST whose outcome may be unknown after a 5xx or a lost answer: before sending it
/// again, `probe` checks whether it landed.
async fn post_checked<F>(api: &mut Api, path: &str, body: &Value, mut probe: F) -> Result<Value, ApiError>
where
    F: AsyncFnMut(&mut Api) -> Option<Value>,
{
    let mut tries = 0u32;
    loop {
        tries += 1;
        match api.request(Method::Post, path, Some(body)).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_uncertain() && tries < 3 => {
                if let Some(found) = probe(api).await {
                    return Ok(found);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    a: &PrArgs,
    inputs: &Inputs,
    out: &mut dyn Write,
    api: &mut Api,
    ctx: &PrContext,
    head_sha: &str,
    diff: Diff,
    local: Option<Hunks>,
    stale: bool,
) -> anyhow::Result<Outcome> {
    let env = &inputs.env;
    let repo = ctx.repo_path();
    let n = ctx.number;
    let mut extras = summary::Extras::default();
    let mut notices: Vec<String> = Vec::new();

    // 1. Review comments.
    let review = if a.no_review {
        Posted::Skipped("--no-review".into())
    } else if stale {
        Posted::Skipped("the pull request has newer commits than the artifact".into())
    } else {
        post_review(a, api, ctx, head_sha, &diff, local, &mut extras).await
    };
    match &review {
        Posted::Denied(e) | Posted::Failed(e) => {
            extras.lines.push(format!(
                "⚠️ Review comments were not posted ({}); every new finding is listed above.",
                crate::report::markdown::escape(e)
            ));
            notices.push(format!("review comments were not posted: {e}"));
        }
        _ => {}
    }

    // 2. Summary comment, with the narrative of the new findings when asked.
    if a.explain {
        let rules = a.rules.clone();
        // Stage 2 of the fork-safe pattern has the secrets: its endpoint comes from the environment
        // or a `--config` the workflow names, never from a `.clustergpt.yaml` found in the working
        // directory (it may be the fork's checkout, and could send the key elsewhere).
        let trusted_only = a.post_artifact.is_some() && rules.config.is_none();
        let llm = if trusted_only {
            crate::config::LlmSettings::default()
        } else {
            blocking(move || rules.resolve_config().map(|c| c.llm)).await??
        };
        let explainer = crate::explain::Explainer::configured(&llm, a.explain_switches.switches());
        let new: Vec<&crate::model::Finding> = diff.new.iter().collect();
        let e = explainer.explain(&crate::explain::Facts::of_findings(&new)).await;
        extras.lines.push(crate::explain::summary_section(&e));
    }
    let body = summary::body(&diff, &extras, &a.marker_id, head_sha)?;
    let mut summary_url = None;
    let summary_posted = if a.no_summary {
        Posted::Skipped("--no-summary".into())
    } else if stale {
        Posted::Skipped("the pull request has newer commits than the artifact".into())
    } else {
        post_summary(a, api, &repo, n, &body, &mut summary_url).await
    };
    if let Posted::Denied(e) | Posted::Failed(e) = &summary_posted {
        notices.push(format!("the summary comment was not posted: {e}"));
    }

    // 3. Check run.
    let report = strip_marker(&body, &a.marker_id);
    let check_run = if a.no_check_run {
        Posted::Skipped("--no-check-run".into())
    } else {
        let external_id =
            format!("clustergpt-{}", env.run_id.clone().unwrap_or_else(|| head_sha.chars().take(12).collect()));
        post_check_run(api, &repo, head_sha, &a.check_name, &external_id, &diff, &report).await
    };
    if let Posted::Denied(e) | Posted::Failed(e) = &check_run {
        notices.push(format!("the check run was not created: {e}"));
    }

    // 4. Without review comments or a check run, the runner's annotations carry the findings.
    let denied = [&review, &summary_posted, &check_run].iter().any(|p| matches!(p, Posted::Denied(_)));
    let print_commands = !review.done() && !check_run.done() && (env.in_actions || denied) && !a.dry_run;
    let rest = if print_commands { actions::print_findings(&diff.new, out)? } else { Vec::new() };
    for notice in &notices {
        let hint = if denied {
            " A pull request from a fork gets a read-only token: use the two-stage pattern (docs/github-action.md#forks), or grant `pull-requests: write` and `checks: write`."
        } else {
            ""
        };
        let line = format!("ClusterGPT: {notice}.{hint}");
        if env.in_actions {
            writeln!(out, "{}", actions::command(actions::Level::Warning, None, None, None, &line))?;
        } else {
            writeln!(out, "warning: {line}")?;
        }
    }

    let mut step = report.clone();
    if !notices.is_empty() {
        step.push_str("\n> [!WARNING]\n");
        for notice in &notices {
            step.push_str(&format!("> ClusterGPT: {}.\n", crate::report::markdown::escape(notice)));
        }
    }
    side_channels(a, env, out, &diff, &step, &rest, summary_url.as_deref()).await?;

    writeln!(out, "ClusterGPT: {}", diff.verdict())?;
    let tag = if api.dry_run() { " (dry run, nothing sent)" } else { "" };
    for (what, p) in [("review", &review), ("summary comment", &summary_posted), ("check run", &check_run)] {
        let what = format!("{what}{tag}");
        let line = match p {
            Posted::Done(s) => format!("{what}: {s}"),
            Posted::Skipped(s) => format!("{what}: skipped ({s})"),
            Posted::Denied(s) => format!("{what}: not permitted ({s})"),
            Posted::Failed(s) => format!("{what}: failed ({s})"),
        };
        writeln!(out, "{}", api.redact(&line))?;
    }
    for g in diff.gates.iter().filter(|g| !g.passed) {
        writeln!(out, "gate failed: {}: {}", g.name, g.reason)?;
    }
    if api.dry_run() {
        writeln!(out, "\n--dry-run: {} request(s) would be sent:\n", api.recorded.len())?;
        for r in &api.recorded {
            writeln!(out, "{}", r.render())?;
        }
    }
    Ok(Outcome {
        status: exit_status(&diff),
        review,
        summary: summary_posted,
        check_run,
        printed_commands: print_commands,
        dry_run_requests: api.recorded.clone(),
        fix_pr: Posted::Skipped("--open-fix-pr not given".into()),
    })
}

async fn post_review(
    a: &PrArgs,
    api: &mut Api,
    ctx: &PrContext,
    head_sha: &str,
    diff: &Diff,
    local: Option<Hunks>,
    extras: &mut summary::Extras,
) -> Posted {
    let repo = ctx.repo_path();
    let n = ctx.number;
    let hunks = match api.get_all(&format!("{repo}/pulls/{n}/files")).await {
        Ok(files) => {
            let mut h = Hunks::default();
            for f in &files {
                if f.get("status").and_then(Value::as_str) == Some("removed") {
                    continue;
                }
                if let (Some(name), Some(patch)) =
                    (f.get("filename").and_then(Value::as_str), f.get("patch").and_then(Value::as_str))
                {
                    h.add_patch(name, patch);
                }
            }
            h
        }
        Err(e) => match local {
            Some(h) => h,
            None => return describe(&e),
        },
    };
    let existing = match api.get_all(&format!("{repo}/pulls/{n}/comments")).await {
        Ok(list) => review::own_comments(&list, &a.bot_login, &a.marker_id),
        Err(e) if api.dry_run() => {
            let _ = e;
            Vec::new()
        }
        Err(e) => return describe(&e),
    };
    let plan = review::plan(&diff.new, &hunks, &existing, a.max_comments, &a.marker_id);
    let outside = plan.not_inline.values().filter(|r| **r == review::NotInline::OutsideDiff).count();
    let over = plan.not_inline.len() - outside;
    let inline = plan.present.len() + plan.post.len();
    if !diff.new.is_empty() {
        let mut line = format!(
            "Review comments: {inline} of {} new finding{} on changed lines.",
            diff.new.len(),
            if diff.new.len() == 1 { "" } else { "s" }
        );
        if outside > 0 {
            line.push_str(&format!(" {outside} outside the changed lines."));
        }
        if over > 0 {
            line.push_str(&format!(" {over} over the limit of {} inline comments.", a.max_comments));
        }
        extras.lines.push(line);
    }
    let mut deleted = 0usize;
    let mut delete_error = None;
    for id in &plan.delete {
        match api.request(Method::Delete, &format!("{repo}/pulls/comments/{id}"), None).await {
            Ok(_) => deleted += 1,
            Err(e) => delete_error = Some(e),
        }
    }
    let mut what = Vec::new();
    if !plan.post.is_empty() {
        let payload = review::review_payload(head_sha, &plan.post, plan.not_inline.len());
        let wanted: Vec<String> = plan.post.iter().map(|c| c.fingerprint.clone()).collect();
        let bot = a.bot_login.clone();
        let list_path = format!("{repo}/pulls/{n}/comments");
        let probe = async |api: &mut Api| -> Option<Value> {
            let list = api.get_all(&list_path).await.ok()?;
            let own = review::own_comments(&list, &bot, &a.marker_id);
            wanted.iter().all(|fp| own.iter().any(|c| &c.fingerprint == fp)).then(|| json!({}))
        };
        match post_checked(api, &format!("{repo}/pulls/{n}/reviews"), &payload, probe).await {
            Ok(_) => {
                what.push(format!("{} comment{} posted", plan.post.len(), if plan.post.len() == 1 { "" } else { "s" }))
            }
            Err(e) if e.status() == Some(422) => {
                return Posted::Failed(format!(
                    "GitHub rejected the review (HTTP 422: {}); its findings are in the summary",
                    e.message
                ));
            }
            Err(e) => return describe(&e),
        }
    }
    if !plan.present.is_empty() {
        what.push(format!("{} already present", plan.present.len()));
    }
    if deleted > 0 {
        what.push(format!("{deleted} stale deleted"));
    }
    if plan.kept_replied > 0 {
        what.push(format!("{} stale kept (replied to)", plan.kept_replied));
    }
    if let Some(e) = delete_error {
        what.push(format!("could not delete a stale comment: {e}"));
    }
    if what.is_empty() {
        what.push("nothing to comment on".to_string());
    }
    Posted::Done(what.join(", "))
}

async fn post_summary(a: &PrArgs, api: &mut Api, repo: &str, n: u64, body: &str, url: &mut Option<String>) -> Posted {
    let list_path = format!("{repo}/issues/{n}/comments");
    let existing = match api.get_all(&list_path).await {
        Ok(list) => summary::own_comments(&list, &a.bot_login, &a.marker_id),
        Err(e) if api.dry_run() => {
            let _ = e;
            Vec::new()
        }
        Err(e) => return describe(&e),
    };
    match summary::decide(&existing, body, a.comment_behavior) {
        summary::Action::Unchanged(_) => Posted::Done("unchanged, not updated".into()),
        summary::Action::Update(id) => {
            match api
                .request(Method::Patch, &format!("{repo}/issues/comments/{id}"), Some(&json!({ "body": body })))
                .await
            {
                Ok(v) => {
                    *url = v.get("html_url").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
                    Posted::Done("updated".into())
                }
                Err(e) => describe(&e),
            }
        }
        summary::Action::Create { hide, delete } => {
            let bot = a.bot_login.clone();
            let marker_id = a.marker_id.clone();
            let probe_path = list_path.clone();
            let expected = body.to_string();
            let probe = async |api: &mut Api| -> Option<Value> {
                let list = api.get_all(&probe_path).await.ok()?;
                let own = summary::own_comments(&list, &bot, &marker_id);
                own.iter().find(|c| c.body.trim_end() == expected.trim_end()).map(|c| json!({ "id": c.id }))
            };
            let created = match post_checked(
                api,
                &format!("{repo}/issues/{n}/comments"),
                &json!({ "body": body }),
                probe,
            )
            .await
            {
                Ok(v) => v,
                Err(e) => return describe(&e),
            };
            *url = created.get("html_url").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
            let mut what = vec!["posted".to_string()];
            for node in &hide {
                if let Err(e) = api.graphql(summary::MINIMIZE, json!({ "id": node })).await {
                    what.push(format!("could not hide the previous one: {e}"));
                } else {
                    what.push("previous hidden".into());
                }
            }
            for id in &delete {
                if let Err(e) = api.request(Method::Delete, &format!("{repo}/issues/comments/{id}"), None).await {
                    what.push(format!("could not delete comment {id}: {e}"));
                }
            }
            if !delete.is_empty() {
                what.push(format!("{} previous deleted", delete.len()));
            }
            Posted::Done(what.join(", "))
        }
    }
}

async fn post_check_run(
    api: &mut Api,
    repo: &str,
    head_sha: &str,
    name: &str,
    external_id: &str,
    diff: &Diff,
    report: &str,
) -> Posted {
    let (create, patches) = checks::requests(name, head_sha, external_id, diff, report);
    let probe_path = format!("{repo}/commits/{head_sha}/check-runs?check_name={}", percent_encode(name));
    let ext = external_id.to_string();
    let probe = async |api: &mut Api| -> Option<Value> {
        let v = api.request(Method::Get, &probe_path, None).await.ok()?;
        v.get("check_runs")?
            .as_array()?
            .iter()
            .find(|r| r.get("external_id").and_then(Value::as_str) == Some(ext.as_str()))
            .cloned()
    };
    let created = match post_checked(api, &format!("{repo}/check-runs"), &create, probe).await {
        Ok(v) => v,
        Err(e) => return describe(&e),
    };
    let id = created.get("id").and_then(Value::as_u64).unwrap_or(0);
    for p in &patches {
        if let Err(e) = api.request(Method::Patch, &format!("{repo}/check-runs/{id}"), Some(p)).await {
            return Posted::Failed(format!("created, but adding annotations failed: {e}"));
        }
    }
    let annotations = diff.new.iter().filter(|f| checks::annotation(f).is_some()).count();
    Posted::Done(format!(
        "{} with {annotations} annotation{}",
        if diff.passed() { "success" } else { "failure" },
        if annotations == 1 { "" } else { "s" }
    ))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Step summary, report file and step outputs.
async fn side_channels(
    a: &PrArgs,
    env: &ActionsEnv,
    out: &mut dyn Write,
    diff: &Diff,
    report: &str,
    not_annotated: &[&Finding],
    summary_url: Option<&str>,
) -> anyhow::Result<()> {
    let report_path =
        a.report_file.clone().or_else(|| env.runner_temp.as_ref().map(|t| t.join("clustergpt-report.md")));
    let step_summary = env.step_summary.clone().map(|p| {
        let mut md = report.to_string();
        md.push_str(&actions::overflow_markdown(not_annotated));
        (p, md)
    });
    let outputs = env.output.clone().map(|p| {
        let count = |s: Severity| diff.new.iter().filter(|f| f.severity == s).count().to_string();
        let mut o: Vec<(String, String)> = vec![("new-findings".into(), diff.new.len().to_string())];
        for s in Severity::ALL {
            o.push((format!("new-{s}"), count(s)));
        }
        o.push(("resolved-findings".into(), diff.resolved.len().to_string()));
        o.push(("cost-delta".into(), format!("{:.2}", diff.cost.delta_monthly)));
        o.push(("cost-delta-percent".into(), diff.cost.delta_percent.map(|p| format!("{p:.2}")).unwrap_or_default()));
        o.push(("currency".into(), diff.cost.currency.clone()));
        o.push(("gate".into(), if diff.passed() { "passed".into() } else { "failed".into() }));
        if let Some(rp) = &report_path {
            o.push(("report-path".into(), rp.display().to_string()));
        }
        if let Some(s) = &a.sarif_file {
            o.push(("sarif-file".into(), s.display().to_string()));
        }
        if let Some(u) = summary_url {
            o.push(("summary-comment-url".into(), u.to_string()));
        }
        (p, o)
    });
    let report = report.to_string();
    // The files are written off the runtime's thread; a failed step summary is only a warning.
    let summary_error = blocking(move || -> anyhow::Result<Option<std::io::Error>> {
        if let Some(p) = &report_path {
            std::fs::write(p, &report).with_context(|| format!("cannot write {}", p.display()))?;
        }
        let summary_error = step_summary.and_then(|(p, md)| actions::append_step_summary(&p, &md).err());
        if let Some((p, o)) = &outputs {
            actions::write_outputs(p, o).with_context(|| format!("cannot write step outputs to {}", p.display()))?;
        }
        Ok(summary_error)
    })
    .await??;
    if let Some(e) = summary_error {
        writeln!(out, "warning: cannot write the step summary: {e}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_relative_paths() {
        assert_eq!(repo_relative("", "./k8s/a.yaml"), "k8s/a.yaml");
        assert_eq!(repo_relative("sub/", "k8s/a.yaml"), "sub/k8s/a.yaml");
        assert_eq!(repo_relative("sub/", "../k8s/a.yaml"), "k8s/a.yaml");
        assert_eq!(repo_relative("", "a.yaml"), "a.yaml");
    }

    #[test]
    fn flags_parse() {
        let a = parse_args(["--repo", "o/r", "--pr", "4", "--comment-behavior", "hide-and-new", "k8s/"]).unwrap();
        assert_eq!(a.pr, Some(4));
        assert_eq!(a.comment_behavior, Behavior::HideAndNew);
        assert_eq!(a.max_comments, 30);
        assert!(parse_args(["--emit-artifact", "a", "--post-artifact", "b"]).is_err());
    }
}
