//! `clustergpt remediate`: flags, the run (plan → dry run → confirmation → backup, patch,
//! verify, roll back), what it prints, and `--rollback DIR`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::Value;

use super::apply::{Cluster, Proven};
use super::{Item, Record as _, Remediation, backup, plan, verify};
use crate::audit::{self, Audit, RunOptions};
use crate::config::Config;
use crate::model::ObjectRef;
use crate::report::Format;
use crate::settings::ClusterArgs;
use crate::settings::{RuleSelection, Status};

/// Flags of `remediate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  clustergpt remediate --cluster --dry-run\n  clustergpt remediate --cluster --target deploy/payments/api --select DIA001 --unsafe --apply\n  clustergpt remediate --snapshot prod.snap.json.zst --manifests k8s/ --open-fix-pr\n  clustergpt remediate --rollback backups/2026-12-01T09-41-00Z/"
)]
pub struct RemediateArgs {
    /// The cluster to remediate (one context).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Plan from a snapshot (`clustergpt snapshot`); nothing is sent to a cluster.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cluster", "dry_run", "apply"])]
    pub snapshot: Option<PathBuf>,
    /// Rule selection (only the selected rules' fixes are planned) and configuration.
    #[command(flatten)]
    pub rules: RuleSelection,
    /// Only this object: KIND/NAMESPACE/NAME or KIND/NAME (`deploy/shop/api`); repeatable.
    #[arg(long = "target", value_name = "KIND/NS/NAME")]
    pub targets: Vec<String>,
    /// Also plan unsafe fixes (they change scheduling, security posture or cost).
    #[arg(long = "unsafe")]
    pub allow_unsafe: bool,
    /// Patch objects Argo CD, Flux or Helm manage (their next sync may revert it).
    #[arg(long)]
    pub force_live: bool,
    /// Send every patch as a server-side dry run (`dryRun=All`) and show what it would change.
    #[arg(long, conflicts_with = "apply")]
    pub dry_run: bool,
    /// Apply the patches that passed their dry run: backup, patch, verify, roll back on failure.
    #[arg(long)]
    pub apply: bool,
    /// Apply without asking (needed when stdin is not a terminal).
    #[arg(long, requires = "apply")]
    pub yes: bool,
    /// Refuse to apply when the plan patches more objects than this.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_objects: usize,
    /// Seconds verification of one object may take (rollout, restarts, the diagnosis again).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub verify_timeout: u64,
    /// Seconds restarts must stay flat once a rollout is done.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub verify_settle: u64,
    /// Milliseconds between reads while verifying.
    #[arg(long, value_name = "MS", default_value_t = 2000, hide = true)]
    pub poll_interval_ms: u64,
    /// Keep a patch whose verification failed (restore it later with --rollback DIR).
    #[arg(long, requires = "apply")]
    pub no_rollback: bool,
    /// Where backups go: DIR/<UTC time>/<cluster>/<kind>-<namespace>-<name>.yaml.
    #[arg(long, value_name = "DIR", default_value = "backups")]
    pub backup_dir: PathBuf,
    /// Write the plan (and what happened) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,
    /// The audit with its `remediation` section: `json` or `md`, optionally `=PATH`. Repeatable.
    #[arg(long = "format", short = 'f', value_name = "FORMAT[=PATH]")]
    pub formats: Vec<String>,
    /// Restore the objects backed up in DIR (a run's backup directory), each only if nobody
    /// changed it since the patch.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["snapshot", "dry_run", "apply"])]
    pub rollback: Option<PathBuf>,
    /// Manifests the live objects were deployed from (committed in this git checkout): with
    /// --open-fix-pr, the fixes go there.
    #[arg(long, value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
    /// Write the fixes into the --manifests files and open one pull request (GitOps clusters).
    #[arg(long, requires = "manifests", conflicts_with_all = ["dry_run", "apply"])]
    pub open_fix_pr: bool,
    /// With --open-fix-pr: the pull request's title and description are written by the model
    /// `OPENAI_API_KEY`, `CLUSTERGPT_LLM_BASE_URL` or the config's `llm:` configures, from redacted
    /// facts; else (and on any failure) by the built-in template.
    #[arg(long, requires = "open_fix_pr")]
    pub explain: bool,
    /// Explainer switches.
    #[command(flatten)]
    pub explain_switches: crate::settings::ExplainSwitches,
    /// The repository for --open-fix-pr, `owner/name` (default: GITHUB_REPOSITORY).
    #[arg(long, value_name = "OWNER/NAME", requires = "open_fix_pr")]
    pub repo: Option<String>,
    /// The branch the fix PR goes into (default: the checked-out branch).
    #[arg(long, value_name = "BRANCH", requires = "open_fix_pr")]
    pub base_branch: Option<String>,
    /// Environment variable holding the GitHub token for --open-fix-pr.
    #[arg(long, value_name = "NAME", default_value = "GITHUB_TOKEN", requires = "open_fix_pr")]
    pub token_env: String,
}

impl RemediateArgs {
    fn verify_options(&self) -> verify::Options {
        verify::Options {
            timeout: Duration::from_secs(self.verify_timeout.max(1)),
            poll: Duration::from_millis(self.poll_interval_ms.max(1)),
            settle: Duration::from_secs(self.verify_settle),
        }
    }

    fn read_options(&self, read_at: String) -> crate::cluster::Options {
        self.cluster.options(read_at)
    }
}

/// Where human-readable lines go: stdout, unless a report does.
struct Out {
    to_stderr: bool,
}

impl Out {
    fn line(&self, s: &str) {
        if self.to_stderr {
            eprintln!("{s}");
        } else {
            println!("{s}");
        }
    }
}

/// Runs `remediate`.
///
/// # Errors
/// Bad flags, unreadable input, an unreachable cluster, refusals (more objects than
/// `--max-objects`, no confirmation), unwritable outputs.
pub fn run(a: &RemediateArgs) -> anyhow::Result<Status> {
    let config = a.rules.resolve_config()?;
    a.rules.check()?;
    let formats = formats(&a.formats)?;
    let out = Out { to_stderr: formats.iter().any(|(_, p)| p.is_none()) };
    crate::cluster::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the runtime")?;
    if let Some(dir) = &a.rollback {
        let r = rt.block_on(rollback(a, dir, &out))?;
        let failed = r.items.iter().any(|i| i.status != "rolled-back");
        let mut audit = empty_audit();
        audit.remediation = Some(r);
        write_reports(&audit, &formats, a.plan_out.as_ref())?;
        return Ok(if failed { Status::GateFailed } else { Status::Passed });
    }
    if !a.cluster.cluster && a.snapshot.is_none() {
        bail!("remediate needs --cluster (the current context, or --context NAME) or --snapshot FILE");
    }
    if a.cluster.contexts.len() > 1 {
        bail!("remediate works on one cluster at a time: pass one --context");
    }
    let targets =
        a.targets.iter().map(|t| plan::Target::parse(t)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;

    let started = crate::settings::now_utc();
    let (input, day) = if a.cluster.cluster {
        let (reads, errors) = crate::cluster::read_all(&a.read_options(started.clone()))?;
        if reads.is_empty() {
            for e in &errors {
                eprintln!("error: {e}");
            }
            bail!("the cluster could not be read; nothing was planned");
        }
        (crate::cluster::into_input(reads, errors), started.get(..10).unwrap_or_default().to_string())
    } else {
        let path = a.snapshot.clone().unwrap_or_default();
        let snap = crate::cluster::snapshot::Snapshot::read(&path)?;
        let day = snap.read_at().map_or_else(crate::settings::today, |t| t.get(..10).unwrap_or_default().to_string());
        (snap.into_input(&path.display().to_string()), day)
    };
    let run_opts = a.rules.run_options(day);
    let (mut audit, objects) = audit::run_with_objects(input, &config, &run_opts);
    for e in &audit.errors {
        eprintln!("error: {e}");
    }
    let popts = plan::Options { targets, allow_unsafe: a.allow_unsafe, force_live: a.force_live };
    let mut r = plan::build(&audit, &objects, &popts, &started);
    if let Some(ctx) = objects.iter().find_map(|o| o.origin.context()) {
        r.context.get_or_insert_with(|| ctx.to_string());
    }
    allow_namespaces(&mut r, &config.remediation_namespaces);
    print_plan(&out, &r);
    // The plan is on disk before anything is sent; the end of the run rewrites it with what happened.
    if let Some(p) = &a.plan_out {
        let text = serde_json::to_string_pretty(&r)? + "\n";
        std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }

    if a.open_fix_pr {
        let status = super::gitops::open_fix_pr(a, &mut audit, &objects, &mut r)?;
        if let Some(line) = &r.pull_request {
            out.line(line);
        }
        finish(&mut audit, r, &formats, a.plan_out.as_ref())?;
        return Ok(status);
    }
    if !(a.dry_run || a.apply) {
        finish(&mut audit, r, &formats, a.plan_out.as_ref())?;
        if !r_has_items(&audit) {
            return Ok(Status::Passed);
        }
        out.line("nothing was sent: --dry-run asks the server, --apply changes the cluster");
        return Ok(Status::Passed);
    }
    r.mode = if a.apply { "apply" } else { "dry-run" }.to_string();
    if a.apply && r.items.len() > a.max_objects {
        finish(&mut audit, r, &formats, a.plan_out.as_ref())?;
        bail!(
            "the plan patches {} objects, more than --max-objects {}: narrow it with --target or --select, or raise --max-objects",
            audit.remediation.as_ref().map_or(0, |r| r.items.len()),
            a.max_objects
        );
    }
    // Diagnosis rules each object had: verification flags any other as new.
    let before: BTreeMap<String, BTreeSet<String>> =
        audit.findings.iter().filter(|f| f.area == crate::model::Area::Diagnosis).fold(BTreeMap::new(), |mut m, f| {
            m.entry(key(&f.object)).or_default().insert(f.rule.to_string());
            m
        });
    let status = rt.block_on(async {
        let (context, client) = crate::cluster::connect(&a.read_options(String::new())).await?;
        let cluster = Cluster { client, context, timeout: Duration::from_secs(a.cluster.request_timeout.max(1)) };
        r.context = Some(cluster.context.clone());
        let proven = dry_run_all(&cluster, &mut r, &out).await;
        if !a.apply {
            return anyhow::Ok(status_of(&r));
        }
        if proven.iter().all(Option::is_none) {
            out.line("nothing to apply: no patch passed its dry run");
            return Ok(status_of(&r));
        }
        let n = proven.iter().flatten().count();
        if !confirmed(a.yes, n, &cluster.context)? {
            r.warnings.push("not applied: the confirmation was declined".to_string());
            out.line("not applied");
            return Ok(Status::Passed);
        }
        let env = Env { cluster: &cluster, config: &config, run_opts: &run_opts, a, before: &before };
        let dir = a.backup_dir.join(backup::dir_name(&r.started_at));
        r.backup_dir = Some(dir.display().to_string());
        for (item, proven) in r.items.iter_mut().zip(proven) {
            if let Some(p) = proven {
                apply_one(&env, &dir, item, &p, &out).await;
            }
        }
        Ok(status_of(&r))
    })?;
    finish(&mut audit, r, &formats, a.plan_out.as_ref())?;
    Ok(status)
}

fn r_has_items(audit: &Audit) -> bool {
    audit.remediation.as_ref().is_some_and(|r| !r.items.is_empty())
}

/// Identity of an object across reads (the UID changes when it is recreated; the name does not).
fn key(o: &ObjectRef) -> String {
    format!("{}/{}/{}", o.kind, o.namespace.as_deref().unwrap_or_default(), o.name)
}

/// Drops the items outside `remediation.namespaces` of the config (when it names any).
fn allow_namespaces(r: &mut Remediation, allowed: &[String]) {
    if allowed.is_empty() {
        return;
    }
    let (keep, drop): (Vec<Item>, Vec<Item>) = std::mem::take(&mut r.items)
        .into_iter()
        .partition(|i| i.object.namespace.as_ref().is_some_and(|ns| allowed.iter().any(|a| a == ns)));
    r.items = keep;
    for i in drop {
        for f in &i.fixes {
            r.skipped.push(super::Skipped {
                rule: f.rule.clone(),
                object: i.object.to_string(),
                title: f.title.clone(),
                reason: format!(
                    "namespace {} is not in remediation.namespaces of the config",
                    i.object.namespace.as_deref().unwrap_or("(cluster-scoped)")
                ),
            });
        }
    }
}

fn status_of(r: &Remediation) -> Status {
    let failed = r.items.iter().any(|i| {
        matches!(i.status.as_str(), "dry-run-failed" | "verify-failed" | "rolled-back" | "rollback-failed")
            || (r.mode == "apply" && i.status == "not-applied" && i.steps.iter().any(|s| !s.ok))
    });
    if failed { Status::GateFailed } else { Status::Passed }
}

fn print_plan(out: &Out, r: &Remediation) {
    if r.items.is_empty() {
        out.line("remediation plan: nothing to patch");
    } else {
        out.line(&format!(
            "remediation plan{}: {} object{}",
            r.context.as_ref().map(|c| format!(" for {c}")).unwrap_or_default(),
            r.items.len(),
            if r.items.len() == 1 { "" } else { "s" }
        ));
    }
    for i in &r.items {
        out.line(&format!("  {} ({} patch)", i.object, i.patch_type));
        for f in &i.fixes {
            out.line(&format!("    {} {}: {}", f.rule, word(f.applicability), f.title));
        }
        out.line(&format!("    patch: {}", serde_json::to_string(&i.patch).unwrap_or_default()));
    }
    for s in &r.skipped {
        out.line(&format!("  skipped {} on {}: {} ({})", s.rule, s.object, s.title, s.reason));
    }
    for w in &r.warnings {
        out.line(&format!("warning: {w}"));
    }
}

fn word(a: crate::model::Applicability) -> &'static str {
    match a {
        crate::model::Applicability::Safe => "safe",
        crate::model::Applicability::Unsafe => "unsafe",
        crate::model::Applicability::DisplayOnly => "manual",
    }
}

async fn dry_run_all(cluster: &Cluster, r: &mut Remediation, out: &Out) -> Vec<Option<Proven>> {
    let mut proven = Vec::new();
    for item in &mut r.items {
        let p = cluster.dry_run(item).await;
        out.line(&format!("dry run {}: {}", item.object, item.reason.clone().unwrap_or_else(|| item.status.clone())));
        for c in &item.diff {
            let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "(unset)".to_string(), |v| v.to_string());
            out.line(&format!("  ~ {}: {} → {}", c.path, show(&c.before), show(&c.after)));
        }
        proven.push(p);
    }
    proven
}

/// `--yes`, or a "y" typed on a terminal.
fn confirmed(yes: bool, n: usize, context: &str) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("--apply changes the cluster: confirm on a terminal, or pass --yes (stdin is not a terminal)");
    }
    eprint!("Apply {n} patch{} to context {context}? [y/N] ", if n == 1 { "" } else { "es" });
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// What applying one item needs.
struct Env<'a> {
    cluster: &'a Cluster,
    config: &'a Config,
    run_opts: &'a RunOptions,
    a: &'a RemediateArgs,
    before: &'a BTreeMap<String, BTreeSet<String>>,
}

/// Backup, patch, verify and, when verification fails, roll back one item.
async fn apply_one(env: &Env<'_>, dir: &Path, item: &mut Item, p: &Proven, out: &Out) {
    let cluster = env.cluster;
    let file = match backup::write(dir, &cluster.context, &item.object, &p.live) {
        Ok(f) => f,
        Err(e) => {
            item.step("backup", false, format!("cannot write the backup: {e}"));
            item.set("not-applied", Some("no backup could be written".into()));
            return;
        }
    };
    let rel = file.strip_prefix(dir).unwrap_or(&file).display().to_string();
    item.backup = Some(file.display().to_string());
    let rv = p.live.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut entry = backup::Entry {
        object: item.object.clone(),
        file: rel,
        resource_version: rv.clone(),
        patched_resource_version: None,
    };
    if let Err(e) = backup::record(dir, entry.clone()) {
        item.step("backup", false, format!("cannot write the backup index: {e}"));
        item.set("not-applied", Some("no backup could be written".into()));
        return;
    }
    item.step("backup", true, file.display().to_string());
    let answer = match cluster.patch(&item.object, &item.patch_type, &p.sent, false).await {
        Ok(v) => v,
        Err(e) => {
            item.step("patch", false, e.to_string());
            item.set("not-applied", Some(e.to_string()));
            out.line(&format!("{}: not applied: {e}", item.object));
            return;
        }
    };
    let patched = answer.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    entry.patched_resource_version = Some(patched.clone());
    if let Err(e) = backup::record(dir, entry) {
        item.step("backup", false, format!("cannot update the backup index: {e}"));
    }
    item.step("patch", true, format!("patched (resourceVersion {rv} → {patched})"));
    item.set("applied", None);
    out.line(&format!("{}: patched; verifying", item.object));

    let vopts = env.a.verify_options();
    let deadline = tokio::time::Instant::now() + vopts.timeout;
    let mut ok = verify::rollout_and_restarts(cluster, item, &vopts, "verify", deadline, true).await;
    if ok {
        ok = match fresh_audit(env, item).await {
            Ok(audit) => {
                let before = env.before.get(&key(&item.object)).cloned().unwrap_or_default();
                verify::findings_gone(item, &audit, &before)
            }
            Err(e) => {
                item.step("verify-diagnosis", false, e);
                false
            }
        };
    }
    if ok {
        item.set("verified", None);
        out.line(&format!("{}: verified", item.object));
        return;
    }
    let why = item.steps.last().map(|s| s.detail.clone()).unwrap_or_default();
    if env.a.no_rollback {
        item.set(
            "verify-failed",
            Some(format!(
                "{why}; kept (--no-rollback): restore with `clustergpt remediate --rollback {}`",
                dir.display()
            )),
        );
        out.line(&format!("{}: verification failed ({why}); not rolled back", item.object));
        return;
    }
    match backup::restore(cluster, &item.object, &p.live, &patched).await {
        Ok(what) => {
            item.step("rollback", true, what);
            let deadline = tokio::time::Instant::now() + vopts.timeout;
            let back = verify::rollout_and_restarts(cluster, item, &vopts, "verify-rollback", deadline, false).await;
            item.set("rolled-back", Some(format!("verification failed ({why}); rolled back to the backup")));
            if !back {
                item.reason =
                    Some(format!("verification failed ({why}); rolled back, but the rollback did not roll out"));
            }
            out.line(&format!("{}: verification failed ({why}); rolled back", item.object));
        }
        Err(e) => {
            item.step("rollback", false, e.clone());
            item.set("rollback-failed", Some(format!("verification failed ({why}); {e}")));
            out.line(&format!("{}: verification failed ({why}); {e}", item.object));
        }
    }
}

/// The audit of a fresh read of the item's namespace.
async fn fresh_audit(env: &Env<'_>, item: &Item) -> Result<Audit, String> {
    let mut opts = env.a.read_options(crate::settings::now_utc());
    opts.namespaces = item.object.namespace.iter().cloned().collect();
    opts.progress = false;
    let read = crate::cluster::read_cluster(env.cluster.client.clone(), &env.cluster.context, &opts)
        .await
        .map_err(|e| format!("cannot read the cluster again: {e}"))?;
    let input = crate::cluster::into_input(vec![read], Vec::new());
    Ok(audit::run(input, env.config, env.run_opts))
}

/// `--rollback DIR`: every object of the backup index, restored with its precondition.
async fn rollback(a: &RemediateArgs, dir: &Path, out: &Out) -> anyhow::Result<Remediation> {
    let index = backup::read_index(dir).map_err(anyhow::Error::msg)?;
    let mut r = Remediation {
        mode: "rollback".to_string(),
        started_at: crate::settings::now_utc(),
        backup_dir: Some(dir.display().to_string()),
        ..Remediation::default()
    };
    let mut opts = a.read_options(String::new());
    if opts.contexts.is_empty()
        && let Some(ctx) = index.entries.iter().find_map(|e| e.object.context.clone())
    {
        opts.contexts = vec![ctx];
    }
    let (context, client) = crate::cluster::connect(&opts).await?;
    let cluster = Cluster { client, context, timeout: Duration::from_secs(a.cluster.request_timeout.max(1)) };
    r.context = Some(cluster.context.clone());
    for e in &index.entries {
        let mut item = Item {
            object: e.object.clone(),
            fixes: Vec::new(),
            patch_type: "merge".to_string(),
            patch: Value::Null,
            managed_by: None,
            status: "planned".to_string(),
            reason: None,
            diff: Vec::new(),
            backup: Some(dir.join(&e.file).display().to_string()),
            steps: Vec::new(),
        };
        let result = match backup::read_object(&dir.join(&e.file)) {
            Ok(body) => {
                let pre = e.patched_resource_version.clone().unwrap_or_else(|| e.resource_version.clone());
                backup::restore(&cluster, &e.object, &body, &pre).await
            }
            Err(err) => Err(err),
        };
        match result {
            Ok(what) => {
                item.step("rollback", true, what.clone());
                item.set("rolled-back", Some(what));
            }
            Err(err) => {
                item.step("rollback", false, err.clone());
                item.set("rollback-failed", Some(err));
            }
        }
        out.line(&format!("{}: {}", item.object, item.reason.clone().unwrap_or_default()));
        r.items.push(item);
    }
    r.finished_at = crate::settings::now_utc();
    Ok(r)
}

fn empty_audit() -> Audit {
    audit::run(crate::source::Input::default(), &Config::defaults(), &RunOptions::default())
}

fn formats(specs: &[String]) -> anyhow::Result<Vec<(Format, Option<PathBuf>)>> {
    let mut out = Vec::new();
    for spec in specs {
        let (name, path) = match spec.split_once('=') {
            Some((n, p)) if !p.is_empty() => (n, Some(PathBuf::from(p))),
            Some((n, _)) => (n, None),
            None => (spec.as_str(), None),
        };
        match Format::parse(name) {
            Some(f @ (Format::Json | Format::Markdown)) => out.push((f, path)),
            _ => bail!("remediate writes json or md (optionally `=PATH`), not `{name}`"),
        }
    }
    if out.iter().filter(|(_, p)| p.is_none()).count() > 1 {
        bail!("only one --format may write to stdout; give the other a path, e.g. --format md=remediation.md");
    }
    Ok(out)
}

fn finish(
    audit: &mut Audit,
    mut r: Remediation,
    formats: &[(Format, Option<PathBuf>)],
    plan_out: Option<&PathBuf>,
) -> anyhow::Result<()> {
    r.finished_at = crate::settings::now_utc();
    audit.remediation = Some(r);
    write_reports(audit, formats, plan_out)
}

fn write_reports(
    audit: &Audit,
    formats: &[(Format, Option<PathBuf>)],
    plan_out: Option<&PathBuf>,
) -> anyhow::Result<()> {
    if let (Some(p), Some(r)) = (plan_out, &audit.remediation) {
        let text = serde_json::to_string_pretty(r)? + "\n";
        std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    for (f, path) in formats {
        let text = match f {
            Format::Json => serde_json::to_string_pretty(audit)? + "\n",
            _ => crate::report::markdown::render(audit)?,
        };
        crate::settings::write_output(path.as_ref(), &text)?;
    }
    Ok(())
}
