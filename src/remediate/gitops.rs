//! `remediate --manifests DIR --open-fix-pr`: for clusters Argo CD, Flux or Helm sync from Git, the
//! diagnoses' fixes go into the manifests the live objects were deployed from (format-preserving,
//! each edit verified as `fix --live` does) and are proposed as one pull request through the fix-PR
//! code of `pr`/`audit-issue`: committed on top of HEAD to `clustergpt/fixes/<branch>`, the PR
//! opened or updated, idempotent on reruns.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};

use super::Remediation;
use super::cli::RemediateArgs;
use crate::audit::Audit;
use crate::explain::pr::AppliedFact;
use crate::github::Posted;
use crate::github::api::{Api, ApiConfig, Clock, RetryPolicy};
use crate::github::fixpr;
use crate::model::Object;
use crate::settings::Status;
use crate::source::{self, Input};
use crate::yaml::Limits;

/// Writes the linked fixes into the manifests at HEAD and opens (or updates) the fix PR.
///
/// # Errors
/// No git checkout, a detached HEAD, no repository or token.
pub(super) fn open_fix_pr(
    a: &RemediateArgs,
    audit: &mut Audit,
    objects: &[Object],
    r: &mut Remediation,
) -> anyhow::Result<Status> {
    r.mode = "fix-pr".to_string();
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let git = |args: &[&str]| crate::git::run(&cwd, args).ok().map(|s| s.trim().to_string());
    let head = git(&["rev-parse", "HEAD"])
        .ok_or_else(|| anyhow!("--open-fix-pr needs a git checkout: fixes are committed on top of HEAD"))?;
    let branch = match &a.base_branch {
        Some(b) => b.clone(),
        None => match git(&["rev-parse", "--abbrev-ref", "HEAD"]) {
            Some(b) if b != "HEAD" && !b.is_empty() => b,
            _ => bail!("HEAD is detached: check out the branch the fixes should go into, or pass --base-branch"),
        },
    };
    if branch.starts_with("clustergpt/fixes/") {
        bail!("this is a fix branch itself: check out the branch the fixes should go into");
    }
    let repo = a.repo.clone().or_else(|| std::env::var("GITHUB_REPOSITORY").ok()).ok_or_else(|| {
        anyhow!("no repository: pass --repo OWNER/NAME (inside GitHub Actions GITHUB_REPOSITORY gives it)")
    })?;
    let (owner, name) = crate::github::context::parse_repo(&repo).map_err(anyhow::Error::msg)?;
    let token = std::env::var(&a.token_env).ok().filter(|t| !t.trim().is_empty());
    if token.is_none() {
        bail!("--open-fix-pr needs a GitHub token in {} (contents: write, pull-requests: write)", a.token_env);
    }

    // The manifests as committed at HEAD, linked to the live objects.
    let paths: Vec<PathBuf> = a.manifests.clone();
    let files =
        fixpr::read_files_at(&cwd, &head, &paths).map_err(|e| anyhow!("cannot read the manifests at HEAD: {e}"))?;
    let mut manifests = Input::default();
    for f in &files {
        source::load_text(&f.path, f.text.clone(), Limits::default(), &mut manifests);
    }
    if !a.targets.is_empty() {
        let targets: Vec<super::plan::Target> =
            a.targets.iter().filter_map(|t| super::plan::Target::parse(t).ok()).collect();
        audit.findings.retain(|f| targets.iter().any(|t| t.matches(&f.object)));
    }
    crate::link::link(audit, objects, &manifests.objects);
    let mut pairs: Vec<(String, String)> = files.iter().map(|f| (f.path.clone(), f.text.clone())).collect();
    let report = crate::fix::apply_linked(&mut pairs, audit, a.allow_unsafe);
    let facts: Vec<AppliedFact> = report
        .applied
        .iter()
        .map(|x| {
            let f = audit.findings.iter().find(|f| f.fingerprint == x.fingerprint);
            let link = f.and_then(crate::model::Finding::manifest_link);
            let meta = crate::rules::find(&x.rule).map(|r| r.meta());
            AppliedFact {
                rule: x.rule.clone(),
                rule_name: meta.map(|m| m.name.to_string()).unwrap_or_default(),
                title: x.title.clone(),
                object: x.object.clone(),
                file: link.and_then(|l| l.location.file.clone()),
                line: link.and_then(|l| l.location.line),
                why: meta.map(|m| m.summary.to_string()).unwrap_or_default(),
                message: f.map(|f| f.message.clone()).unwrap_or_default(),
                evidence: f
                    .map(|f| f.evidence.iter().map(|e| format!("{} = {}", e.path, e.value)).collect())
                    .unwrap_or_default(),
                cost: None,
                finding: f.cloned(),
            }
        })
        .collect();
    for x in &report.failed {
        r.warnings.push(format!("fix {} on {} not written: {}", x.rule, x.object, x.reason));
    }
    for x in &report.skipped {
        r.warnings.push(format!("fix {} on {} not written: {}", x.rule, x.object, x.reason));
    }

    let base_url = std::env::var("GITHUB_API_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "https://api.github.com".to_string());
    let cfg = ApiConfig {
        base_url,
        graphql_url: None,
        token,
        retry: RetryPolicy { total: Duration::from_secs(300), ..RetryPolicy::default() },
        clock: Clock::real(),
        dry_run: false,
    };
    crate::github::api::install_crypto_provider();
    let repo_path = format!("/repos/{owner}/{name}");
    let t =
        fixpr::Target { repo_path: &repo_path, owner: &owner, branch: &branch, head_sha: &head, pull_request: None };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the runtime")?;
    let skipped = report.skipped.len();
    // With --explain, a configured model writes the description (from the applied fixes' facts).
    let explainer = if a.explain {
        let config = a.rules.resolve_config()?;
        crate::explain::Explainer::configured(&config.llm, a.explain_switches.switches())
    } else {
        crate::explain::Explainer::Template
    };
    // The client needs the runtime it runs on.
    let (posted, api) = rt.block_on(async {
        let mut api = Api::new(&cfg).map_err(anyhow::Error::msg)?;
        let posted = fixpr::publish(&mut api, &t, &files, &report, facts, skipped, &explainer).await;
        anyhow::Ok((posted, api))
    })?;
    let (line, status) = match &posted {
        Posted::Done(s) => (format!("fix pull request: {s}"), Status::Passed),
        Posted::Skipped(s) => (format!("fix pull request: skipped ({s})"), Status::Passed),
        Posted::Denied(s) => (
            format!(
                "fix pull request: not permitted ({s}); --open-fix-pr needs `contents: write` and `pull-requests: write`"
            ),
            Status::Error,
        ),
        Posted::Failed(s) => (format!("fix pull request: failed ({s})"), Status::Error),
    };
    r.pull_request = Some(api.redact(&line));
    Ok(status)
}
