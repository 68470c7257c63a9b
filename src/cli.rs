//! Command-line interface: parses flags, resolves configuration, runs commands, owns exit codes.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::audit::{self, Audit};
use crate::config;
use crate::model::Severity;
use crate::report::{self, Format};
use crate::rules;
use crate::settings::parse_severity;
// Shared with `github`; re-exported so `cli::Status` and friends keep working.
pub use crate::settings::{ClusterArgs, ExplainSwitches, RuleSelection, Status, resolve_config, today};
use crate::source;
use crate::yaml::Limits;

/// Audits Kubernetes manifests: reliability, security, cost and architecture findings with fixes.
#[derive(Debug, Parser)]
#[command(name = "clustergpt", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit manifests (files, directories, or `-` for stdin), a live cluster (`--cluster`) or a
    /// snapshot of one (`--snapshot FILE`).
    Analyze(AnalyzeArgs),
    /// Save what a cluster holds to a compressed, versioned file that `analyze --snapshot` replays.
    Snapshot(SnapshotArgs),
    /// The cost part of `analyze`: monthly cost per workload and namespace, node prices and idle
    /// capacity, and the cost rules (right-sizing with `--prometheus`). Takes the same inputs and
    /// flags as `analyze`.
    Cost(AnalyzeArgs),
    /// List rules, or explain one.
    Rules(RulesArgs),
    /// Apply fixes to manifest files, keeping their formatting (prints a diff unless --write).
    Fix(FixArgs),
    /// Write a commented default `.clustergpt.yaml`.
    Init(InitArgs),
    /// Compare a base with a head: new and resolved findings, monthly cost change, gates.
    Diff(DiffArgs),
    /// Accept today's findings: `baseline write FILE`, then `analyze --baseline FILE`.
    Baseline(BaselineArgs),
    /// Review a GitHub pull request: review comments with suggested changes, a sticky summary
    /// comment, a check run, SARIF and step outputs (what the GitHub Action runs).
    Pr(Box<crate::github::PrArgs>),
    /// Keep one open GitHub issue with the latest full audit: created, updated in place, closed
    /// when clean (for scheduled workflows).
    AuditIssue(Box<crate::github::issue::AuditIssueArgs>),
    /// Apply fixes to a live cluster: plan, server-side dry run, backup, patch, verify, roll back;
    /// or, for GitOps-managed objects, a pull request to the manifests.
    Remediate(Box<crate::remediate::cli::RemediateArgs>),
    /// Show what the explainer does with an audit: the facts, the prompt, the answer and the
    /// validation verdict (`--facts facts.json` or `--audit audit.json`).
    Explain(ExplainArgs),
}

/// Flags of `explain`.
#[derive(Debug, Args)]
#[command(
    group = clap::ArgGroup::new("input").required(true),
    after_help = "Examples:\n  clustergpt analyze k8s/ --format json=audit.json && clustergpt explain --audit audit.json\n  clustergpt explain --facts facts.json --anonymize --format json"
)]
pub struct ExplainArgs {
    /// A facts document (`clustergpt.facts/v1`, as `explain --format json` prints under `facts`).
    #[arg(long, value_name = "FILE", group = "input")]
    pub facts: Option<PathBuf>,
    /// A JSON audit (`analyze --format json`); the facts are built from it.
    #[arg(long, value_name = "FILE", group = "input")]
    pub audit: Option<PathBuf>,
    /// `terminal` (sections for people) or `json`.
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: RulesFormat,
    /// Configuration file with the `llm:` block (default: `.clustergpt.yaml` here or in a parent).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Ignore any `.clustergpt.yaml`.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Explainer switches.
    #[command(flatten)]
    pub switches: ExplainSwitches,
}

/// Flags of `fix`.
#[derive(Debug, Args)]
pub struct FixArgs {
    /// Files or directories to fix.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Write the fixes into the files (default: print a unified diff and change nothing).
    #[arg(long, conflicts_with = "diff")]
    pub write: bool,
    /// Print a unified diff (the default).
    #[arg(long)]
    pub diff: bool,
    /// Also apply unsafe fixes (they change scheduling, security posture or cost).
    #[arg(long = "unsafe")]
    pub allow_unsafe: bool,
    /// Rule selection (only the selected rules' findings are fixed) and configuration.
    #[command(flatten)]
    pub rules: RuleSelection,
    /// Which files directory walks leave out.
    #[command(flatten)]
    pub walk: crate::settings::WalkFilter,
    /// Helm values for the charts given as paths.
    #[command(flatten)]
    pub chart: crate::settings::ChartFlags,
    /// Print the summary of applied, skipped and failed fixes as JSON on stderr.
    #[arg(long)]
    pub json_summary: bool,
    /// Live state (kubectl JSON dumps, files or directories, or a snapshot) whose diagnoses link
    /// to these manifests: their manifest fixes (e.g. raising limits.memory after OOM kills) are
    /// applied too, and right-sizing fixes when the snapshot holds usage history or --prometheus
    /// is given.
    #[arg(long, value_name = "PATH")]
    pub live: Vec<PathBuf>,
    /// With --live: Prometheus base URL for usage history, so right-sizing fixes (CST005) land in
    /// the manifests (see `analyze --prometheus`).
    #[arg(long, value_name = "URL", requires = "live")]
    pub prometheus: Option<String>,
    /// How far back usage is read from Prometheus (1h to 90d).
    #[arg(long, value_name = "WINDOW", default_value = "7d", requires = "prometheus")]
    pub window: String,
    /// List every skipped fix, not only how many were skipped and why.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// When to colour terminal output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour text written to stdout.
    fn for_stdout(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// Flags of `snapshot`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  clustergpt snapshot --cluster --context prod -o prod.snap.json.zst")]
pub struct SnapshotArgs {
    /// The cluster to read.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The file to write (zstd-compressed JSON, e.g. `prod.snap.json.zst`).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

/// Flags of `analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Files or directories to audit (`.yaml`, `.yml`, `.json`, recursively; default `.`); `-`
    /// reads stdin.
    #[arg(conflicts_with_all = ["cluster", "snapshot"])]
    pub paths: Vec<PathBuf>,
    /// The live cluster to audit instead of files.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Audit a snapshot written by `clustergpt snapshot` (its read time is "now", so the same
    /// snapshot always gives the same report).
    #[arg(long, value_name = "FILE", conflicts_with = "cluster")]
    pub snapshot: Option<PathBuf>,
    /// Exit 2 when a cluster resource type could not be read (forbidden, timed out), so some
    /// rules were not evaluated.
    #[arg(long)]
    pub require_complete: bool,
    /// Output format, optionally to a file: `terminal`, `concise`, `json`, `sarif`, `md`, `html`, `pdf` (to a file); e.g. `--format sarif=out.sarif`. Repeatable.
    /// Helm values for the charts given as paths.
    #[command(flatten)]
    pub chart: crate::settings::ChartFlags,
    #[arg(long = "format", short = 'f', value_name = "FORMAT[=PATH]")]
    pub formats: Vec<String>,
    /// The PDF's page size (default `report.paper` in .clustergpt.yaml, else a4).
    #[arg(long, value_enum, value_name = "SIZE")]
    pub paper: Option<PaperChoice>,
    /// Exit 1 when a finding at or above this severity remains: critical, high, medium, low or info.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Show only findings at or above this severity (the `--fail-on` gate still sees all).
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<String>,
    /// Rule selection and configuration.
    #[command(flatten)]
    pub rules: RuleSelection,
    /// Which files directory walks leave out.
    #[command(flatten)]
    pub walk: crate::settings::WalkFilter,
    /// Colour terminal output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Report only findings not in this baseline file (written by `baseline write`), and list
    /// baseline entries that no longer match.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Manifests the live objects were deployed from (files or directories): each diagnosis names
    /// the manifest file and line, and its fix where one exists.
    #[arg(long, value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
    /// Add a narrative (executive and CTO summaries, SRE actions, PR text) to the JSON and
    /// Markdown reports: written by the model `OPENAI_API_KEY`, `CLUSTERGPT_LLM_BASE_URL` or the
    /// config's `llm:` configures, from redacted facts, else by the built-in template. Without it
    /// nothing is sent.
    #[arg(long)]
    pub explain: bool,
    /// Explainer switches.
    #[command(flatten)]
    pub explain_switches: ExplainSwitches,
}

/// Flags of `diff`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  clustergpt diff --base origin/main k8s/\n  clustergpt diff --base-dir old/ --head-dir new/\n  clustergpt diff base-audit.json head-audit.json\n  clustergpt diff monday.snap.json.zst friday.snap.json.zst\n  clustergpt diff --base origin/main k8s/ --fail-on-new high --max-cost-increase 10%"
)]
pub struct DiffArgs {
    /// Head paths (default `.`), compared with the same paths at `--base`; or two saved JSON audits
    /// (`clustergpt analyze --format json`): `BASE.json HEAD.json`; or two cluster snapshots
    /// (`clustergpt snapshot`): `MONDAY.snap.json.zst FRIDAY.snap.json.zst`.
    pub paths: Vec<PathBuf>,
    /// Git ref of the base (e.g. `origin/main`): the same paths are read from that commit through git,
    /// without touching the working tree.
    #[arg(long, value_name = "REF", conflicts_with = "base_dir")]
    pub base: Option<String>,
    /// Directory holding the base manifests.
    #[arg(long, value_name = "DIR")]
    pub base_dir: Option<PathBuf>,
    /// Directory holding the head manifests (default: the paths, or `.`).
    #[arg(long, value_name = "DIR", requires = "base_dir")]
    pub head_dir: Option<PathBuf>,
    /// Output format, optionally to a file: `terminal`, `json`, `md`, `html`, `pdf` (to a file); e.g. `--format md=comment.md`. Repeatable.
    #[arg(long = "format", short = 'f', value_name = "FORMAT[=PATH]")]
    pub formats: Vec<String>,
    /// The PDF's page size (default `report.paper` in .clustergpt.yaml, else a4).
    #[arg(long, value_enum, value_name = "SIZE")]
    pub paper: Option<PaperChoice>,
    /// Exit 1 when the change introduces a finding at or above this severity.
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
    /// Colour terminal output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

/// Flags of `baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: BaselineAction,
}

/// `baseline` sub-actions.
#[derive(Debug, Subcommand)]
pub enum BaselineAction {
    /// Write the fingerprints of today's findings to FILE.
    Write(BaselineWriteArgs),
}

/// Flags of `baseline write`.
#[derive(Debug, Args)]
pub struct BaselineWriteArgs {
    /// The baseline file to write (e.g. `.clustergpt-baseline.json`).
    pub file: PathBuf,
    /// Files or directories to audit.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Rule selection and configuration.
    #[command(flatten)]
    pub rules: RuleSelection,
    /// Which files directory walks leave out.
    #[command(flatten)]
    pub walk: crate::settings::WalkFilter,
    /// Helm values for the charts given as paths.
    #[command(flatten)]
    pub chart: crate::settings::ChartFlags,
}

/// Flags of `rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// `explain ID` prints a rule's documentation.
    #[command(subcommand)]
    pub action: Option<RulesAction>,
    /// Output format: `terminal` (one line per rule) or `json`, as `analyze` names them.
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: RulesFormat,
}

/// Formats of `rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// One line per rule (`table` is accepted too).
    #[value(alias = "table")]
    Terminal,
    /// A JSON array of rule descriptions.
    Json,
}

/// `--paper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PaperChoice {
    /// 210 × 297 mm.
    A4,
    /// 8.5 × 11 in.
    Letter,
}

impl PaperChoice {
    /// The PDF options: this paper (else the config's) and the report's time.
    fn pdf(choice: Option<PaperChoice>, config: &config::Config, time: String) -> report::pdf::Options {
        let paper = match choice {
            Some(PaperChoice::A4) => report::pdf::Paper::A4,
            Some(PaperChoice::Letter) => report::pdf::Paper::Letter,
            None => config.report_paper,
        };
        report::pdf::Options { paper, time: Some(time) }
    }
}

/// Formats of `diff`: a diff has no SARIF form (SARIF describes one audit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffFormat {
    /// Human-readable, coloured on a TTY.
    Terminal,
    /// Versioned JSON.
    Json,
    /// Markdown (a PR comment).
    Markdown,
    /// One self-contained HTML file.
    Html,
    /// A PDF document (to a file only).
    Pdf,
}

impl DiffFormat {
    fn parse(name: &str) -> anyhow::Result<DiffFormat> {
        match Format::parse(name) {
            Some(Format::Terminal) => Ok(DiffFormat::Terminal),
            Some(Format::Json) => Ok(DiffFormat::Json),
            Some(Format::Markdown) => Ok(DiffFormat::Markdown),
            Some(Format::Html) => Ok(DiffFormat::Html),
            Some(Format::Pdf) => Ok(DiffFormat::Pdf),
            Some(Format::Sarif) => {
                bail!(
                    "diff renders terminal, json, md, html or pdf; SARIF describes one audit, so use `analyze --format sarif`"
                )
            }
            Some(Format::Concise) => {
                bail!(
                    "diff renders terminal, json, md, html or pdf; for one line per finding use `analyze --format concise`"
                )
            }
            None => bail!("unknown format `{name}`; diff renders terminal, json, md, html or pdf (optionally `=PATH`)"),
        }
    }
}

/// `rules` sub-actions.
#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Print a rule's documentation.
    Explain {
        /// Rule id or name.
        id: String,
    },
}

/// Flags of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(default_value = config::FILE_NAME)]
    pub path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Runs a parsed command line.
///
/// # Errors
/// Tool errors (bad flags, unreadable config, unwritable output); the caller exits 2.
pub fn run(cli: Cli) -> anyhow::Result<Status> {
    match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Cost(mut a) => {
            if a.rules.select.is_empty() {
                a.rules.select = vec!["cost".to_string()];
            }
            analyze(a)
        }
        Command::Snapshot(s) => snapshot_cmd(&s),
        Command::Rules(r) => rules_cmd(r),
        Command::Fix(f) => fix_cmd(f),
        Command::Init(i) => init(i),
        Command::Diff(d) => diff_cmd(d),
        Command::Baseline(b) => baseline_cmd(b),
        Command::Pr(p) => crate::github::run_cli(*p),
        Command::AuditIssue(a) => crate::github::issue::run_cli(*a),
        Command::Remediate(r) => crate::remediate::cli::run(&r),
        Command::Explain(e) => explain_cmd(&e),
    }
}

/// `--format NAME[=PATH]` flags, each name parsed by the command's own format set.
fn parse_formats<F>(
    specs: &[String],
    terminal: F,
    parse: impl Fn(&str) -> anyhow::Result<F>,
) -> anyhow::Result<Vec<(F, Option<PathBuf>)>> {
    if specs.is_empty() {
        return Ok(vec![(terminal, None)]);
    }
    let mut out = Vec::new();
    for spec in specs {
        let (name, path) = match spec.split_once('=') {
            Some((n, p)) if !p.is_empty() => (n, Some(PathBuf::from(p))),
            Some((n, _)) => (n, None),
            None => (spec.as_str(), None),
        };
        out.push((parse(name)?, path));
    }
    if out.iter().filter(|(_, p)| p.is_none()).count() > 1 {
        bail!("only one --format may write to stdout; give the others a path, e.g. --format sarif=out.sarif");
    }
    Ok(out)
}

use crate::settings::write_output;

/// Writes a document through `write` to a file (buffered) or stdout.
fn stream_output(
    path: Option<&PathBuf>,
    write: impl FnOnce(&mut dyn Write) -> serde_json::Result<()>,
) -> anyhow::Result<()> {
    match path {
        Some(p) => {
            let file = std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
            write(&mut w).with_context(|| format!("cannot write {}", p.display()))?;
            w.flush().with_context(|| format!("cannot write {}", p.display()))?;
        }
        None => {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            write(&mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}

/// [`stream_output`], creating the file on the first write instead of before `write` starts:
/// the enriching JSON writer starts its workers first, so truncating a large earlier report
/// (tens of milliseconds on ext4) overlaps their work. Errors read exactly as
/// [`stream_output`]'s.
fn stream_output_created_late(
    path: Option<&PathBuf>,
    write: impl FnOnce(&mut dyn Write) -> serde_json::Result<()>,
) -> anyhow::Result<()> {
    let Some(p) = path else { return stream_output(None, write) };
    let context = || format!("cannot write {}", p.display());
    let mut late = CreatedLate { path: p, file: None, failed: None };
    let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut late);
    let written = write(&mut w);
    let flushed = written.is_ok().then(|| w.flush());
    drop(w);
    if let Some(e) = late.failed.take() {
        return Err(e).with_context(context);
    }
    if late.file.is_none() {
        late.file = Some(std::fs::File::create(p).with_context(context)?);
    }
    written.with_context(context)?;
    flushed.transpose().with_context(context)?;
    Ok(())
}

/// A file created when first written to; `failed` keeps `File::create`'s error.
struct CreatedLate<'p> {
    path: &'p std::path::Path,
    file: Option<std::fs::File>,
    failed: Option<std::io::Error>,
}

impl CreatedLate<'_> {
    fn file(&mut self) -> std::io::Result<&mut std::fs::File> {
        if self.failed.is_some() {
            return Err(std::io::Error::other("the file could not be created"));
        }
        if self.file.is_none() {
            match std::fs::File::create(self.path) {
                Ok(f) => self.file = Some(f),
                Err(e) => {
                    let kind = e.kind();
                    self.failed = Some(e);
                    return Err(std::io::Error::new(kind, "the file could not be created"));
                }
            }
        }
        self.file.as_mut().ok_or_else(|| std::io::Error::other("the file could not be created"))
    }
}

impl Write for CreatedLate<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.file()?.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

fn analyze(a: AnalyzeArgs) -> anyhow::Result<Status> {
    let mut config = a.rules.resolve_config()?;
    let formats = parse_formats(&a.formats, Format::Terminal, |name| {
        Format::parse(name).with_context(|| {
            format!("unknown format `{name}`; use terminal, concise, json, sarif, md, html or pdf (optionally `=PATH`)")
        })
    })?;
    if formats.iter().any(|(f, p)| *f == Format::Pdf && p.is_none()) {
        bail!("a PDF is not written to the terminal; give it a path: --format pdf=report.pdf");
    }
    let fail_on = parse_severity(a.fail_on.as_deref())?.or(config.fail_on);
    config.fail_on = fail_on;
    a.rules.check()?;
    let mut timings = Timings::from_env();
    // `read_at`: the input's own time, which reports carry (see `settings::report_time`).
    let (input, day, read_at) = if a.cluster.cluster {
        let read_at = crate::settings::now_utc();
        let (reads, errors) = a.cluster.read(read_at.clone(), &config)?;
        (crate::cluster::into_input(reads, errors), day_of(&read_at), Some(read_at))
    } else if let Some(path) = &a.snapshot {
        let snap = crate::cluster::snapshot::Snapshot::read(path)?;
        // The snapshot's time is "now": a replay gives the same report whenever it runs.
        let day = snap.read_at().map_or_else(today, day_of);
        let read_at = snap.read_at().map(str::to_string);
        (snap.into_input(&path.display().to_string()), day, read_at)
    } else {
        let paths = if a.paths.is_empty() { vec![PathBuf::from(".")] } else { a.paths.clone() };
        let mut stdin = std::io::stdin().lock();
        let filter = a.walk.filter(&config)?;
        let render = a.chart.apply(config.render_options(), &paths)?;
        let mut input = source::load_rendered(&paths, &mut stdin as &mut dyn Read, Limits::default(), &filter, &render);
        // A kubectl dump's pods, with usage from the cluster's Prometheus (port-forwarded, say).
        if let Some(p) = a.cluster.prometheus(config.rules.rightsize_cpu_percentile, "")? {
            input.history.push(crate::cluster::prometheus::read_now(&p));
        }
        (input, today(), None)
    };
    let pdf = PaperChoice::pdf(a.paper, &config, crate::settings::report_time(read_at.as_deref())?);
    let opts = a.rules.run_options(day);
    timings.lap("read and parse");
    let (mut audit, objects) = audit::run_with_objects(input, &config, &opts);
    timings.lap("audit (graph, rules, cost)");
    if !a.manifests.is_empty() {
        let filter = a.walk.filter(&config)?;
        // Kustomize overlays and charts are built, so a diagnosis links to the patch or values
        // line that sets the field (their provenance), not to a temporary render.
        let render = config.render_options();
        let manifests = source::load_rendered(&a.manifests, &mut std::io::empty(), Limits::default(), &filter, &render);
        audit.errors.extend(manifests.errors.iter().cloned());
        crate::link::link(&mut audit, &objects, &manifests.objects);
    }
    if let Some(path) = &a.baseline {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read baseline {}", path.display()))?;
        let baseline =
            crate::baseline::Baseline::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        crate::baseline::apply(&mut audit, &baseline, &path.display().to_string());
    }
    // The gate sees every finding; `--min-severity` only hides some from the reports.
    let gate_status = gate(&audit, fail_on);
    let gate_count = fail_on.map_or(0, |min| audit::count_at_or_above(&audit, min));
    let hidden = match parse_severity(a.min_severity.as_deref())? {
        Some(min) => audit::retain_at_or_above(&mut audit, min),
        None => 0,
    };
    // Suggestions, patches and kubectl commands are shown by JSON, Markdown, HTML and PDF only
    // (SARIF and the terminal give fix titles). JSON alone among those enriches each batch of
    // findings as it writes it: the suggestions and patches of a large audit are never all held.
    let shows_fixes = |f: &Format| matches!(f, Format::Json | Format::Markdown | Format::Html | Format::Pdf);
    let enrich_while_writing = !a.explain
        && formats.iter().any(|(f, _)| matches!(f, Format::Json))
        && formats.iter().all(|(f, _)| matches!(f, Format::Json) || !shows_fixes(f));
    if !enrich_while_writing && (a.explain || formats.iter().any(|(f, _)| shows_fixes(f))) {
        // Line suggestions, patches and kubectl commands for every fix (the terminal shows titles
        // only); the explainer needs the commands too: they are the only ones an answer may quote.
        crate::fix::enrich(&mut audit, &objects);
        timings.lap("fix suggestions and patches");
    }
    if a.explain {
        crate::explain::explain_audit(
            &mut audit,
            &crate::explain::Explainer::configured(&config.llm, a.explain_switches.switches()),
        );
        timings.lap("explain");
    }
    let enricher = enrich_while_writing.then(|| crate::fix::Enricher::new(&objects));
    let color = a.color.for_stdout();
    for (format, path) in &formats {
        match format {
            // Large audits: stream, never hold the whole document as one string.
            Format::Json => match &enricher {
                Some(e) => {
                    stream_output_created_late(path.as_ref(), |w| report::json::write_enriching(&mut audit, e, w))?;
                }
                None => stream_output(path.as_ref(), |w| report::json::write(&audit, w))?,
            },
            Format::Sarif => stream_output(path.as_ref(), |w| report::sarif::write(&audit, w))?,
            Format::Terminal => stream_output(path.as_ref(), |w| {
                report::terminal::write(&audit, color && path.is_none(), w).map_err(serde_json::Error::io)
            })?,
            Format::Pdf => {
                let bytes = report::pdf::render(&audit, &pdf)?;
                let p = path.as_ref().context("internal: pdf without a path")?;
                std::fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
            }
            _ => write_output(path.as_ref(), &render(&audit, *format, color && path.is_none())?)?,
        }
    }
    timings.lap("render and write");
    timings.report();
    // Freeing every node one by one costs more than the exit that follows; the OS reclaims it.
    drop(enricher);
    std::mem::forget(objects);
    let mut err = std::io::stderr().lock();
    if std::io::stderr().is_terminal() {
        for path in formats.iter().filter_map(|(_, p)| p.as_ref()) {
            let n = audit.findings.len();
            writeln!(err, "wrote {} ({n} finding{})", path.display(), if n == 1 { "" } else { "s" })?;
        }
    }
    let status = exit_status(&mut err, &audit, hidden, a.require_complete, (gate_status, gate_count, fail_on));
    // A large audit's million allocations cost more to free one by one than the exit that follows.
    std::mem::forget(audit);
    status
}

/// The messages on stderr that end `analyze`, and its exit status (`gate`: the gate's status, the
/// findings counted and its severity).
fn exit_status(
    err: &mut dyn Write,
    audit: &Audit,
    hidden: usize,
    require_complete: bool,
    gate: (Status, usize, Option<Severity>),
) -> anyhow::Result<Status> {
    report_problems(err, audit)?;
    if hidden > 0 {
        writeln!(err, "{hidden} finding{} below --min-severity not shown", if hidden == 1 { "" } else { "s" })?;
    }
    if !audit.errors.is_empty() || !audit.internal_errors.is_empty() {
        // Everything readable was audited and reported; the run still did not see (or check) all its input.
        return Ok(Status::Error);
    }
    let unreadable = audit.not_evaluated.iter().filter(|n| n.reason != crate::cluster::OUT_OF_SCOPE).count();
    if require_complete && unreadable > 0 {
        writeln!(
            err,
            "clustergpt: {unreadable} cluster resource type(s) could not be read; --require-complete makes that exit 2"
        )?;
        return Ok(Status::Error);
    }
    let (status, n, fail_on) = gate;
    if let (Status::GateFailed, Some(min)) = (status, fail_on) {
        writeln!(err, "gate failed: {n} finding{} at or above {min}", if n == 1 { "" } else { "s" })?;
    }
    Ok(status)
}

/// Input and internal errors, one line each on stderr whatever the formats: the reports carry
/// them too, but a run that did not read everything must say so where a person or a log sees it.
fn report_problems(err: &mut dyn Write, audit: &Audit) -> std::io::Result<()> {
    for e in &audit.errors {
        writeln!(err, "error: {e}")?;
    }
    for e in &audit.internal_errors {
        let at = match (&e.location.file, e.location.line) {
            (Some(file), Some(line)) => format!("{file}:{line}: "),
            (Some(file), None) => format!("{file}: "),
            (None, _) => e.object.context.as_ref().map(|c| format!("context {c}: ")).unwrap_or_default(),
        };
        writeln!(err, "internal error: {at}{} ({})", e.message, e.rule)?;
    }
    Ok(())
}

/// Whether a file is named like a snapshot (`x.snap.json.zst`, `x.zst`, `x.snap.json`).
fn is_snapshot_path(p: &std::path::Path) -> bool {
    let name = p.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    name.ends_with(".zst") || name.ends_with(".snap.json")
}

/// `YYYY-MM-DD` of an RFC 3339 time.
fn day_of(time: &str) -> String {
    time.get(..10).unwrap_or(time).to_string()
}

fn snapshot_cmd(s: &SnapshotArgs) -> anyhow::Result<Status> {
    if !s.cluster.cluster {
        bail!("snapshot reads a live cluster: pass --cluster (and --context NAME for another than the current one)");
    }
    // A snapshot records what was read; the right-sizing percentile (95 here) is kept with it.
    let (reads, errors) = s.cluster.read(crate::settings::now_utc(), &crate::config::Config::defaults())?;
    for e in &errors {
        eprintln!("clustergpt: error: {e}");
    }
    if reads.is_empty() {
        return Ok(Status::Error);
    }
    let snap = crate::cluster::snapshot::Snapshot::of(&reads);
    snap.write(&s.output)?;
    for c in &snap.clusters {
        eprintln!(
            "context {}: {} objects{}",
            c.context,
            c.objects.len(),
            if c.gaps.is_empty() { String::new() } else { format!(", {} resource type(s) not readable", c.gaps.len()) }
        );
        for g in &c.gaps {
            eprintln!("  not read: {}", g.message);
        }
    }
    eprintln!("wrote {}", s.output.display());
    Ok(if errors.is_empty() { Status::Passed } else { Status::Error })
}

/// Phase timings on stderr when `CLUSTERGPT_TIMINGS` is set, for profiling and BENCHMARKS.md.
struct Timings {
    start: Option<std::time::Instant>,
    last: std::time::Duration,
    laps: Vec<(&'static str, std::time::Duration, Option<String>)>,
}

impl Timings {
    fn from_env() -> Timings {
        let on = std::env::var_os("CLUSTERGPT_TIMINGS").is_some();
        Timings { start: on.then(std::time::Instant::now), last: std::time::Duration::ZERO, laps: Vec::new() }
    }

    fn lap(&mut self, phase: &'static str) {
        if let Some(start) = self.start {
            let now = start.elapsed();
            self.laps.push((phase, now - self.last, memory()));
            self.last = now;
        }
    }

    fn report(&self) {
        for (phase, d, mem) in &self.laps {
            let mem = mem.as_deref().map(|m| format!("  ({m})")).unwrap_or_default();
            eprintln!("timing: {phase:<28} {:>9.1} ms{mem}", d.as_secs_f64() * 1e3);
        }
    }
}

/// Resident and peak memory so far (Linux), for the phase timings.
fn memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        let kb: u64 =
            status.lines().find_map(|l| l.strip_prefix(name))?.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb / 1024)
    };
    Some(format!("rss {} MB, peak {} MB", field("VmRSS:")?, field("VmHWM:")?))
}

/// Applies the `--fail-on` gate.
#[must_use]
pub fn gate(audit: &Audit, fail_on: Option<Severity>) -> Status {
    match fail_on {
        Some(min) if audit::count_at_or_above(audit, min) > 0 => Status::GateFailed,
        _ => Status::Passed,
    }
}

/// Renders one format.
///
/// # Errors
/// When a renderer fails.
pub fn render(audit: &Audit, format: Format, color: bool) -> anyhow::Result<String> {
    Ok(match format {
        Format::Terminal => report::terminal::render(audit, color),
        Format::Json => report::json::render(audit)?,
        Format::Sarif => report::sarif::render(audit)?,
        Format::Markdown => report::markdown::render(audit)?,
        Format::Html => report::html::render(audit)?,
        Format::Pdf => bail!("a PDF is binary; render it with report::pdf::render"),
        Format::Concise => report::concise::render(audit),
    })
}

/// `explain`: exits 0 with a usable explanation (a model's valid answer, or the template when no
/// endpoint is configured), 1 when a configured model's answer was rejected, 2 on bad input.
fn explain_cmd(e: &ExplainArgs) -> anyhow::Result<Status> {
    let config = resolve_config(e.config.as_ref(), e.no_config)?;
    let facts = match (&e.facts, &e.audit) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let facts: crate::explain::Facts = serde_json::from_str(&text).map_err(|err| {
                anyhow::anyhow!(
                    "{}:{}:{}: not a facts document ({err}); `clustergpt explain --audit FILE --format json` prints one",
                    path.display(),
                    err.line(),
                    err.column()
                )
            })?;
            if facts.version != crate::explain::facts::FACTS_VERSION {
                bail!(
                    "{}: facts version `{}`; this clustergpt reads `{}`",
                    path.display(),
                    facts.version,
                    crate::explain::facts::FACTS_VERSION
                );
            }
            facts
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let audit: Audit = serde_json::from_str(&text).map_err(|err| {
                anyhow::anyhow!(
                    "{}:{}:{}: not a JSON audit ({err}); write one with `clustergpt analyze --format json=FILE`",
                    path.display(),
                    err.line(),
                    err.column()
                )
            })?;
            crate::explain::Facts::of(&audit)
        }
        (None, None) => bail!("give --facts FILE or --audit FILE"),
    };
    let explainer = crate::explain::Explainer::configured(&config.llm, e.switches.switches());
    let trace = explainer.trace_blocking(&facts);
    let text = match e.format {
        RulesFormat::Json => {
            let mut t = serde_json::to_string_pretty(&trace.to_json()).context("cannot render JSON")?;
            t.push('\n');
            t
        }
        RulesFormat::Terminal => trace.render(),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    let rejected = trace.explanation.source == "template" && trace.explanation.reason.is_some();
    Ok(if rejected { Status::GateFailed } else { Status::Passed })
}

fn rules_cmd(r: RulesArgs) -> anyhow::Result<Status> {
    let mut out = std::io::stdout().lock();
    match r.action {
        Some(RulesAction::Explain { id }) => {
            let Some(rule) = rules::find(&id) else {
                bail!("no rule `{id}`; `clustergpt rules` lists them");
            };
            let m = rule.meta();
            writeln!(
                out,
                "{} {} ({}, {}, {})\n",
                m.id,
                m.name,
                m.area,
                m.severity,
                if m.default_enabled { "on by default" } else { "off by default" }
            )?;
            writeln!(out, "{}", m.doc_text())?;
        }
        None => match r.format {
            RulesFormat::Json => {
                let list: Vec<serde_json::Value> = rules::registry().iter().map(|r| rule_json(r.meta())).collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            }
            RulesFormat::Terminal => {
                writeln!(out, "{:<7} {:<36} {:<13} {:<9} {:<4} equivalents", "ID", "NAME", "AREA", "SEVERITY", "ON")?;
                for rule in rules::registry() {
                    let m = rule.meta();
                    writeln!(
                        out,
                        "{:<7} {:<36} {:<13} {:<9} {:<4} {}",
                        m.id,
                        m.name,
                        m.area.as_str(),
                        m.severity.as_str(),
                        if m.default_enabled { "yes" } else { "no" },
                        equivalents_text(m)
                    )?;
                }
            }
        },
    }
    Ok(Status::Passed)
}

/// The JSON description of a rule (`clustergpt rules --format json`).
#[must_use]
pub fn rule_json(m: &rules::RuleMeta) -> serde_json::Value {
    serde_json::json!({
        "id": m.id,
        "name": m.name,
        "area": m.area,
        "severity": m.severity,
        "default_enabled": m.default_enabled,
        "summary": m.summary,
        "fix": m.fix,
        "equivalents": {
            "polaris": m.equivalents.polaris,
            "kube_score": m.equivalents.kube_score,
            "kube_linter": m.equivalents.kube_linter,
            "checkov": m.equivalents.checkov,
            "trivy": m.equivalents.trivy,
        }
    })
}

fn equivalents_text(m: &rules::RuleMeta) -> String {
    let e = m.equivalents;
    let mut parts = Vec::new();
    for (tool, ids) in [
        ("polaris", e.polaris),
        ("kube-score", e.kube_score),
        ("kube-linter", e.kube_linter),
        ("checkov", e.checkov),
        ("trivy", e.trivy),
    ] {
        if !ids.is_empty() {
            parts.push(format!("{tool}: {}", ids.join(",")));
        }
    }
    parts.join("; ")
}

fn fix_cmd(a: FixArgs) -> anyhow::Result<Status> {
    let config = a.rules.resolve_config()?;
    a.rules.check()?;
    if a.paths.iter().any(|p| p.as_os_str() == "-") {
        bail!("fix works on files; to fix stdin, write it to a file first");
    }
    // Kustomize targets and charts are built: their objects are fixed through the files that set
    // their fields (after the plain files), and the files they read are not fixed on their own.
    let render = a.chart.apply(config.render_options(), &a.paths)?;
    let plan = source::plan_rendered(&a.paths, &a.walk.filter(&config)?, &render);
    let mut errors = plan.errors;
    let mut files = Vec::new();
    for p in plan.files {
        match std::fs::read_to_string(&p) {
            Ok(t) => files.push((p.display().to_string(), t)),
            Err(e) => errors.push(source::InputError {
                source: p.display().to_string(),
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    let opts = a.rules.run_options(today());
    // Diagnoses of the live state first: their manifest fixes edit the same files.
    let mut linked = crate::fix::FixReport::default();
    if !a.live.is_empty() {
        let (snapshots, dumps): (Vec<PathBuf>, Vec<PathBuf>) =
            a.live.iter().cloned().partition(|p| p.is_file() && is_snapshot_path(p));
        let mut live = source::load_paths(&dumps, &mut std::io::empty(), Limits::default());
        for p in &snapshots {
            let snap = crate::cluster::snapshot::Snapshot::read(p)?.into_input(&p.display().to_string());
            live.objects.extend(snap.objects);
            live.history.extend(snap.history);
        }
        if let Some(url) = &a.prometheus {
            let p = crate::cluster::prometheus::Options::from_flags(
                url,
                &a.window,
                config.rules.rightsize_cpu_percentile,
                &[],
                std::time::Duration::from_secs(30),
            )
            .map_err(anyhow::Error::msg)?;
            let h = crate::cluster::prometheus::read_now(&p);
            if !h.available {
                eprintln!("clustergpt: warning: {}", h.note);
            }
            live.history.push(h);
        }
        errors.extend(live.errors.iter().cloned());
        // What only the live state shows: failures, and requests against real usage.
        let diagnosis_only =
            audit::RunOptions { select: vec!["diagnosis".to_string(), "CST005".to_string()], ..opts.clone() };
        let (mut live_audit, live_objects) = audit::run_with_objects(live, &config, &diagnosis_only);
        // The manifests as `analyze --manifests` sees them: plain files, and built objects. Fixes
        // may add the patch, values or resource files a build reads; the plain pass then starts
        // from these edits.
        let mut link_files = files.clone();
        let mut manifests = source::Input::default();
        for (path, text) in &link_files {
            source::load_text(path, text.clone(), Limits::default(), &mut manifests);
        }
        // Built objects too (an overlay's `namePrefix` is in the live name): their fixes go to
        // the patch, values or resource file that sets the field.
        let mut built = source::Input::default();
        source::build(&plan.targets, &render, Limits::default(), &mut built);
        let plain = manifests.objects.len();
        manifests.objects.append(&mut built.objects);
        crate::link::link(&mut live_audit, &live_objects, &manifests.objects);
        let (through_build, handled) =
            crate::fix::apply_linked_built(&mut link_files, &live_audit, &manifests.objects[plain..], a.allow_unsafe);
        live_audit.findings.retain(|f| !handled.contains(&f.fingerprint));
        linked = crate::fix::apply_linked(&mut link_files, &live_audit, a.allow_unsafe);
        for (path, change) in through_build.changed {
            let now = linked.changed.remove(&path).map_or(change.1, |(_, f)| f);
            linked.changed.insert(path, (change.0, now));
        }
        linked.applied.splice(0..0, through_build.applied);
        linked.failed.splice(0..0, through_build.failed);
        linked.skipped.splice(0..0, through_build.skipped);
        for (path, text) in &mut files {
            if let Some((_, t)) = link_files.iter().find(|(f, _)| f == path) {
                text.clone_from(t);
            }
        }
    }
    // Files a live fix changed: built objects' fixes leave them to the next run.
    let cwd = std::env::current_dir().unwrap_or_default();
    let live_changed: std::collections::BTreeSet<PathBuf> =
        linked.changed.keys().map(|p| source::provenance::lexical(&cwd.join(p))).collect();
    let mut report = crate::fix::fix_files(&files, &config, &opts, a.allow_unsafe);
    // Diffs and writes start from the files as they were before the linked fixes.
    for (path, (original, fixed)) in linked.changed {
        let now = report.changed.remove(&path).map_or(fixed, |(_, f)| f);
        report.changed.insert(path, (original, now));
    }
    report.applied.splice(0..0, linked.applied);
    report.failed.splice(0..0, linked.failed);
    report.skipped.splice(0..0, linked.skipped);
    if !plan.targets.is_empty() {
        let (built, build_errors) =
            crate::fix_built::fix_built(&plan.targets, &render, &config, &opts, a.allow_unsafe, &live_changed);
        errors.extend(build_errors);
        for (path, change) in built.changed {
            report.changed.entry(path).or_insert(change);
        }
        report.applied.extend(built.applied);
        report.failed.extend(built.failed);
        report.skipped.extend(built.skipped);
    }
    let mut out = std::io::stdout().lock();
    for (path, (original, fixed)) in &report.changed {
        if a.write {
            std::fs::write(path, fixed).with_context(|| format!("cannot write {path}"))?;
        } else {
            out.write_all(crate::fix::unified_diff(path, original, fixed).as_bytes())?;
        }
    }
    out.flush()?;
    let mut err = std::io::stderr().lock();
    for e in &errors {
        writeln!(err, "error: {e}")?;
    }
    if let Some(after) = &report.after {
        for e in &after.errors {
            writeln!(err, "error: {e}")?;
        }
    }
    if a.json_summary {
        writeln!(err, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        let verb = if a.write { "applied" } else { "would apply" };
        for x in &report.applied {
            writeln!(err, "{verb} {} {} on {}: {}", x.rule, applicability_word(x.applicability), x.object, x.title)?;
        }
        for x in &report.failed {
            writeln!(err, "failed {} on {}: {} ({})", x.rule, x.object, x.title, x.reason)?;
        }
        if a.verbose {
            for x in &report.skipped {
                writeln!(err, "skipped {} on {}: {} ({})", x.rule, x.object, x.title, x.reason)?;
            }
        } else {
            skipped_summary(&mut err, &report.skipped)?;
        }
        if report.did_not_converge {
            writeln!(err, "warning: fixes did not converge after {} passes; run fix again", crate::fix::MAX_PASSES)?;
        }
        writeln!(
            err,
            "{} fix{} {}, {} failed, {} skipped in {} file{}",
            report.applied.len(),
            if report.applied.len() == 1 { "" } else { "es" },
            if a.write { "applied" } else { "would be applied" },
            report.failed.len(),
            report.skipped.len(),
            report.changed.len(),
            if report.changed.len() == 1 { "" } else { "s" }
        )?;
        if !report.failed.is_empty() {
            let rules: std::collections::BTreeSet<&str> = report.failed.iter().map(|x| x.rule.as_str()).collect();
            writeln!(
                err,
                "error: {} fix{} could not be applied ({}); the findings stay",
                report.failed.len(),
                if report.failed.len() == 1 { "" } else { "es" },
                rules.into_iter().collect::<Vec<_>>().join(", ")
            )?;
        }
    }
    let input_errors = !errors.is_empty() || report.after.as_ref().is_some_and(|x| !x.errors.is_empty());
    Ok(if input_errors {
        Status::Error
    } else if !report.failed.is_empty() {
        // A selected fix that could not be applied leaves its finding: as a gate would, exit 1.
        Status::GateFailed
    } else {
        Status::Passed
    })
}

/// Skipped fixes as one line per reason class, with what would include them.
fn skipped_summary(err: &mut dyn Write, skipped: &[crate::fix::NotApplied]) -> std::io::Result<()> {
    let unsafe_ = skipped.iter().filter(|x| x.reason.starts_with("unsafe")).count();
    let built = skipped.iter().filter(|x| x.reason.starts_with(crate::fix_built::NO_EDIT)).count();
    let manual = skipped.len() - unsafe_ - built;
    if built > 0 {
        writeln!(
            err,
            "skipped {built} fix{} of built objects that no patch, values or resource file can carry (a new object, an inline patch): --verbose lists them",
            if built == 1 { "" } else { "es" }
        )?;
    }
    if unsafe_ > 0 {
        writeln!(
            err,
            "skipped {unsafe_} unsafe fix{} (they change scheduling, security posture or cost): pass --unsafe to apply, --verbose to list",
            if unsafe_ == 1 { "" } else { "es" }
        )?;
    }
    if manual > 0 {
        writeln!(
            err,
            "skipped {manual} fix{} that need{} values only you know: --verbose lists them, `clustergpt analyze` shows each",
            if manual == 1 { "" } else { "es" },
            if manual == 1 { "s" } else { "" }
        )?;
    }
    Ok(())
}

fn applicability_word(a: crate::model::Applicability) -> &'static str {
    match a {
        crate::model::Applicability::Safe => "safe",
        crate::model::Applicability::Unsafe => "unsafe",
        crate::model::Applicability::DisplayOnly => "manual",
    }
}

fn init(i: InitArgs) -> anyhow::Result<Status> {
    if i.path.exists() && !i.force {
        bail!("{} already exists; pass --force to overwrite it", i.path.display());
    }
    std::fs::write(&i.path, config::TEMPLATE).with_context(|| format!("cannot write {}", i.path.display()))?;
    eprintln!("wrote {}", i.path.display());
    Ok(Status::Passed)
}

/// Reads a saved JSON audit (`analyze --format json`).
fn read_audit(path: &PathBuf) -> anyhow::Result<Audit> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!("{} is not JSON; save audits with `clustergpt analyze --format json=FILE`", path.display())
    })?;
    match v.get("schema_version").and_then(serde_json::Value::as_str) {
        Some(audit::SCHEMA_VERSION) => {}
        Some(other) => bail!(
            "{}: audit schema version `{other}` is not supported (this build reads `{}`); re-run analyze with this version",
            path.display(),
            audit::SCHEMA_VERSION
        ),
        None => bail!("{} is not a ClusterGPT audit (no `schema_version`)", path.display()),
    }
    serde_json::from_value(v).with_context(|| format!("{} is not a ClusterGPT audit", path.display()))
}

/// A `--base` failure with what to do about it (the flags named here are `diff`'s own).
fn base_error(rev: &str, e: crate::git::Error) -> anyhow::Error {
    use crate::git::Error as G;
    let hint = match &e {
        G::GitMissing(_) => "--base needs git installed, or use --base-dir DIR or two saved JSON audits",
        G::NotARepo { .. } => "use --base-dir DIR or two saved JSON audits instead",
        G::RefNotFound { .. } => {
            "in CI the base branch is usually missing from a shallow clone: check out with full history \
             (actions/checkout with `fetch-depth: 0`) or run `git fetch origin <base-branch>` first"
        }
        _ => "",
    };
    if hint.is_empty() {
        anyhow::Error::new(e).context(format!("--base {rev}"))
    } else {
        anyhow::anyhow!("--base {rev}: {e}; {hint}")
    }
}

fn diff_cmd(a: DiffArgs) -> anyhow::Result<Status> {
    let config = a.rules.resolve_config()?;
    a.rules.check()?;
    let formats = parse_formats(&a.formats, DiffFormat::Terminal, DiffFormat::parse)?;
    if formats.iter().any(|(f, p)| *f == DiffFormat::Pdf && p.is_none()) {
        bail!("a PDF is not written to the terminal; give it a path: --format pdf=diff.pdf");
    }
    let fail_on_new = parse_severity(a.fail_on_new.as_deref())?;
    let max_cost = match &a.max_cost_increase {
        Some(s) => Some(crate::diff::CostLimit::parse(s).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let opts = a.rules.run_options(today());
    let filter = a.walk.filter(&config)?;
    let head_paths: Vec<PathBuf> = if a.paths.is_empty() { vec![PathBuf::from(".")] } else { a.paths.clone() };
    let label = |ps: &[PathBuf]| ps.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ");
    // The head's read time when it has one (a snapshot), for the PDF.
    let mut read_at = None;
    // Both sides are read as `analyze` reads them: kustomizations and charts built.
    let render = config.render_options();
    let load = |paths: &[PathBuf]| {
        let mut stdin = std::io::stdin().lock();
        source::load_rendered(paths, &mut stdin as &mut dyn Read, Limits::default(), &filter, &render)
    };
    let (base, head, base_label, head_label) = if let Some(rev) = &a.base {
        let cwd = std::env::current_dir().context("cannot read the working directory")?;
        let sha = crate::git::resolve(&cwd, rev).map_err(|e| base_error(rev, e))?;
        // The base's kustomizations and charts are built from its own tree, never the working tree.
        let base_input = crate::git::load_rendered(&cwd, &sha, &head_paths, Limits::default(), &filter, &render)
            .map_err(|e| base_error(rev, e))?;
        let base = audit::run(base_input, &config, &opts);
        let head = audit::run(load(&head_paths), &config, &opts);
        (base, head, rev.clone(), label(&head_paths))
    } else if let Some(base_dir) = &a.base_dir {
        let head_paths = match &a.head_dir {
            Some(h) if !a.paths.is_empty() => {
                bail!("give the head either as --head-dir {} or as paths, not both", h.display())
            }
            Some(h) => vec![h.clone()],
            None => head_paths,
        };
        let base = audit::run(load(std::slice::from_ref(base_dir)), &config, &opts);
        let head = audit::run(load(&head_paths), &config, &opts);
        (base, head, base_dir.display().to_string(), label(&head_paths))
    } else if a.paths.len() == 2 && a.paths.iter().all(|p| p.is_file() && is_snapshot_path(p)) {
        // Two snapshots of a cluster: what changed between them, each audited at its own read time.
        let replay = |p: &PathBuf| -> anyhow::Result<(Audit, Option<String>)> {
            let snap = crate::cluster::snapshot::Snapshot::read(p)?;
            let day = snap.read_at().map_or_else(today, day_of);
            let at = snap.read_at().map(str::to_string);
            Ok((audit::run(snap.into_input(&p.display().to_string()), &config, &a.rules.run_options(day)), at))
        };
        let ((base, _), (head, head_at)) = (replay(&a.paths[0])?, replay(&a.paths[1])?);
        read_at = head_at;
        (base, head, a.paths[0].display().to_string(), a.paths[1].display().to_string())
    } else if a.paths.len() == 2
        && a.paths.iter().all(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")))
    {
        let base = read_audit(&a.paths[0])?;
        let head = read_audit(&a.paths[1])?;
        (base, head, a.paths[0].display().to_string(), a.paths[1].display().to_string())
    } else {
        if let Some(p) = a.paths.iter().find(|p| p.as_os_str() != "-" && !p.exists()) {
            bail!("{}: no such file or directory", p.display());
        }
        bail!(
            "diff needs a base: --base REF (a git ref such as origin/main), --base-dir DIR, two saved JSON audits (BASE.json HEAD.json) or two cluster snapshots (BASE.snap.json.zst HEAD.snap.json.zst)"
        );
    };
    let mut d = crate::diff::Diff::new(&base, &head).labeled(base_label, head_label);
    d.evaluate_gates(fail_on_new, max_cost);
    let color = a.color.for_stdout();
    for (format, path) in &formats {
        let text = match format {
            DiffFormat::Terminal => report::diff_terminal::render(&d, color && path.is_none()),
            DiffFormat::Json => d.to_json()?,
            DiffFormat::Markdown => report::diff_md::render(&d)?,
            DiffFormat::Html => report::html::render_diff(&d)?,
            DiffFormat::Pdf => {
                let opts = PaperChoice::pdf(a.paper, &config, crate::settings::report_time(read_at.as_deref())?);
                let bytes = report::pdf::render_diff(&report::view::DiffReport::of(&d), &opts)?;
                let p = path.as_ref().context("internal: pdf without a path")?;
                std::fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
                continue;
            }
        };
        write_output(path.as_ref(), &text)?;
    }
    let mut err = std::io::stderr().lock();
    for e in &base.errors {
        writeln!(err, "warning: base input not read: {e}")?;
    }
    for e in &head.errors {
        writeln!(err, "error: {e}")?;
    }
    for g in d.gates.iter().filter(|g| !g.passed) {
        writeln!(err, "gate failed: {}: {}", g.name, g.reason)?;
    }
    if !head.errors.is_empty() {
        return Ok(Status::Error);
    }
    Ok(if d.passed() { Status::Passed } else { Status::GateFailed })
}

fn baseline_cmd(b: BaselineArgs) -> anyhow::Result<Status> {
    match b.action {
        BaselineAction::Write(w) => {
            let config = w.rules.resolve_config()?;
            w.rules.check()?;
            let opts = w.rules.run_options(today());
            // Built as `analyze` builds them, so the fingerprints are the ones `analyze --baseline` sees.
            let render = w.chart.apply(config.render_options(), &w.paths)?;
            let mut stdin = std::io::stdin().lock();
            let input = source::load_rendered(
                &w.paths,
                &mut stdin as &mut dyn Read,
                Limits::default(),
                &w.walk.filter(&config)?,
                &render,
            );
            let audit = audit::run(input, &config, &opts);
            if !audit.errors.is_empty() {
                let mut err = std::io::stderr().lock();
                for e in &audit.errors {
                    writeln!(err, "error: {e}")?;
                }
                bail!(
                    "not writing {}: {} input{} could not be read, and their findings would look new later",
                    w.file.display(),
                    audit.errors.len(),
                    if audit.errors.len() == 1 { "" } else { "s" }
                );
            }
            let baseline = crate::baseline::Baseline::from_audit(&audit);
            std::fs::write(&w.file, baseline.to_json()?)
                .with_context(|| format!("cannot write {}", w.file.display()))?;
            eprintln!(
                "wrote {} with {} finding{}",
                w.file.display(),
                baseline.findings.len(),
                if baseline.findings.len() == 1 { "" } else { "s" }
            );
            Ok(Status::Passed)
        }
    }
}
