//! What every command shares, the local ones (`cli`) and the GitHub ones (`github`) alike: the exit
//! status, the rule-selection flags and their checks, configuration discovery, severity flags and
//! today's date.
//!
//! It sits below both front-ends so neither imports the other's internals.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;

use crate::audit::RunOptions;
use crate::config::{self, Config};
use crate::model::Severity;
use crate::rules;

/// Exit status of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything passed.
    Passed = 0,
    /// A gate failed (findings at or above `--fail-on`).
    GateFailed = 1,
    /// The tool could not do its job (bad flags, unreadable input).
    Error = 2,
}

/// Which rules run and which configuration applies: shared by every command that audits.
#[derive(Debug, Clone, Default, Args)]
pub struct RuleSelection {
    /// Only run these rules (ids, names, areas or id prefixes; repeatable, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Do not run these rules (ids, names, areas or id prefixes; repeatable, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Configuration file (default: `.clustergpt.yaml` in this directory or a parent).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Ignore any `.clustergpt.yaml`.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
}

impl RuleSelection {
    /// Checks that every `--select`/`--ignore` entry names something.
    ///
    /// # Errors
    /// The first entry that is not a rule id, rule name, area or id prefix.
    pub fn check(&self) -> anyhow::Result<()> {
        for s in self.select.iter().chain(&self.ignore) {
            if !rules::selector_is_known(s) {
                bail!("`{s}` is not a rule id, rule name or area; `clustergpt rules` lists them");
            }
        }
        Ok(())
    }

    /// The configuration these flags name (see [`resolve_config`]).
    ///
    /// # Errors
    /// When the config file is unreadable or invalid.
    pub fn resolve_config(&self) -> anyhow::Result<Config> {
        resolve_config(self.config.as_ref(), self.no_config)
    }

    /// The run options of these flags, with the date exemptions expire against.
    #[must_use]
    pub fn run_options(&self, today: String) -> RunOptions {
        RunOptions { select: self.select.clone(), ignore: self.ignore.clone(), today: Some(today) }
    }
}

/// Writes rendered output to its file, or to stdout.
///
/// # Errors
/// When the file or stdout cannot be written.
pub fn write_output(path: Option<&PathBuf>, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

/// Which files a directory walk leaves out: shared by every command that reads paths.
#[derive(Debug, Clone, Default, Args)]
pub struct WalkFilter {
    /// Leave out paths matching this glob (gitignore syntax, e.g. `vendor/`, `*.generated.yaml`;
    /// repeatable). Paths named on the command line are always read.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Read files that `.gitignore` leaves out (honoured by default inside a git repository).
    #[arg(long)]
    pub no_ignore: bool,
}

impl WalkFilter {
    /// The filter of these flags plus the config's `exclude:` (rooted at the config file's
    /// directory).
    ///
    /// # Errors
    /// A glob that does not parse.
    pub fn filter(&self, config: &Config) -> anyhow::Result<crate::source::Filter> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let config_dir = config.path.as_ref().and_then(|p| p.parent()).map_or_else(
            || cwd.clone(),
            |d| {
                if d.as_os_str().is_empty() { cwd.clone() } else { d.to_path_buf() }
            },
        );
        let config_origin =
            config.path.as_ref().map_or_else(|| "exclude:".to_string(), |p| format!("{}: exclude", p.display()));
        let globs = [
            (cwd.as_path(), self.exclude.as_slice(), "--exclude"),
            (config_dir.as_path(), config.exclude.as_slice(), config_origin.as_str()),
        ];
        crate::source::Filter::new(globs, !self.no_ignore).map_err(anyhow::Error::msg)
    }
}

/// Helm values for the charts given as paths, as `helm template` takes them.
#[derive(Debug, Clone, Default, Args)]
pub struct ChartFlags {
    /// A values file for the charts given as paths, after the chart's `values.yaml` and any listed
    /// in `.clustergpt.yaml` (repeatable; the last wins, as with `helm template --values`).
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// A value for the charts given as paths, as `helm template --set KEY=VALUE` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ChartFlags {
    /// The render options with these values added to every chart among `paths`.
    ///
    /// # Errors
    /// When values are given but no path is a chart directory, or a `--set` has no `=`.
    pub fn apply(
        &self,
        mut opts: crate::source::render::RenderOptions,
        paths: &[PathBuf],
    ) -> anyhow::Result<crate::source::render::RenderOptions> {
        if self.values.is_empty() && self.set.is_empty() {
            return Ok(opts);
        }
        if let Some(s) = self.set.iter().find(|s| !s.contains('=')) {
            anyhow::bail!("--set {s}: give KEY=VALUE, e.g. --set image.tag=1.4");
        }
        let charts: Vec<&PathBuf> = paths.iter().filter(|p| p.join("Chart.yaml").is_file()).collect();
        if charts.is_empty() {
            anyhow::bail!(
                "--values and --set apply to a Helm chart given as a path (a directory holding Chart.yaml), and none of {} is one",
                paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            );
        }
        if let Some(v) = self.values.iter().find(|v| !v.is_file()) {
            anyhow::bail!("--values {}: no such file", v.display());
        }
        let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        };
        for chart in charts {
            let i = match opts.targets.iter().position(|t| same(&t.path, chart)) {
                Some(i) => i,
                None => {
                    opts.targets.push(crate::source::render::Target {
                        path: chart.clone(),
                        ..crate::source::render::Target::default()
                    });
                    opts.targets.len() - 1
                }
            };
            let t = &mut opts.targets[i];
            t.values.extend(self.values.iter().cloned());
            t.set.extend(self.set.iter().cloned());
        }
        Ok(opts)
    }
}

/// Resolves the configuration for a run: explicit path, discovered file, or defaults.
///
/// # Errors
/// When the config file is unreadable or invalid (every problem is listed with its line).
pub fn resolve_config(path: Option<&PathBuf>, no_config: bool) -> anyhow::Result<Config> {
    if no_config {
        return Ok(Config::defaults());
    }
    let found = match path {
        Some(p) => Some(p.clone()),
        // Reports name the config (exemption notes, suppressions): relative to the working
        // directory where it is under it, so no absolute path reaches a PR comment.
        None => std::env::current_dir().ok().and_then(|d| {
            let p = config::discover(&d)?;
            // Found in `d` or one of its parents: `../` once per level up.
            let up = p.parent().and_then(|dir| d.strip_prefix(dir).ok()).map(|rest| rest.components().count());
            Some(up.map_or(p, |n| {
                let mut rel: PathBuf = std::iter::repeat_n("..", n).collect();
                rel.push(config::FILE_NAME);
                rel
            }))
        }),
    };
    match found {
        None => Ok(Config::defaults()),
        Some(p) => config::load(&p).map_err(|errs| {
            let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("invalid configuration:\n  {}", lines.join("\n  "))
        }),
    }
}

/// Parses a severity flag (`--fail-on`, `--fail-on-new`).
///
/// # Errors
/// When the text names no severity.
pub fn parse_severity(flag: Option<&str>) -> anyhow::Result<Option<Severity>> {
    flag.map(|s| {
        Severity::parse(s).with_context(|| format!("unknown severity `{s}`; use critical, high, medium, low or info"))
    })
    .transpose()
}

/// Today's date (UTC) as `YYYY-MM-DD`, for exemption expiry.
#[must_use]
pub fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    crate::rules::diagnosis::common::civil_date(i64::try_from(secs / 86_400).unwrap_or(0))
}

/// The time a report carries (the PDF's page header and creation date), RFC 3339 or a day:
/// the input's own read time when it has one (a live cluster's, a snapshot's); else
/// `SOURCE_DATE_EPOCH` (seconds since 1970, the reproducible-builds convention) when set; else the
/// day of the run, which is also the day exemptions were checked against. Two runs on the same
/// input then give the same bytes (the same day, or always with `SOURCE_DATE_EPOCH`).
///
/// # Errors
/// When `SOURCE_DATE_EPOCH` is set but is not a number of seconds.
pub fn report_time(read_at: Option<&str>) -> anyhow::Result<String> {
    if let Some(t) = read_at {
        return Ok(t.to_string());
    }
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => {
            let secs: u64 = v.trim().parse().map_err(|_| {
                anyhow::anyhow!(
                    "SOURCE_DATE_EPOCH must be seconds since 1970-01-01 (e.g. `$(git log -1 --format=%ct)`), not `{v}`"
                )
            })?;
            Ok(crate::rules::diagnosis::common::format_time(secs))
        }
        _ => Ok(today()),
    }
}

/// The current time (UTC) as RFC 3339 to the second (`2026-12-02T00:09:05Z`), for snapshot read
/// times.
#[must_use]
pub fn now_utc() -> String {
    crate::rules::diagnosis::common::format_time(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::diagnosis::common::civil_date;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(59), "1970-03-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_819), "2027-01-01");
    }

    #[test]
    fn severities() {
        assert_eq!(parse_severity(Some("high")).unwrap(), Some(Severity::High));
        assert_eq!(parse_severity(None).unwrap(), None);
        assert!(parse_severity(Some("urgent")).unwrap_err().to_string().contains("unknown severity `urgent`"));
    }
}

/// How to read live clusters (`analyze --cluster`, `snapshot --cluster`, `remediate --cluster`).
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Read a live cluster through the kubeconfig (the current context unless --context), read-only.
    #[arg(long)]
    pub cluster: bool,
    /// Context to read; repeat for several clusters in one report.
    #[arg(long = "context", value_name = "NAME", requires = "cluster")]
    pub contexts: Vec<String>,
    /// Namespace to read; repeatable (default: all namespaces and the cluster-scoped types; with
    /// namespaces, cluster-scoped types such as Nodes and ClusterRoles are not read).
    #[arg(long = "namespace", short = 'n', value_name = "NAMESPACE", requires = "cluster")]
    pub namespaces: Vec<String>,
    /// Kubeconfig file (default: KUBECONFIG, several files merged, then ~/.kube/config, then the
    /// in-cluster service account).
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub kubeconfig: Option<PathBuf>,
    /// Seconds to wait for one answer from the API server.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, requires = "cluster")]
    pub request_timeout: u64,
    /// Seconds the whole read of one cluster may take; what is not read by then is reported.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, requires = "cluster")]
    pub deadline: u64,
    /// Lists in flight at once, per cluster.
    #[arg(long, value_name = "N", default_value_t = 4, requires = "cluster")]
    pub concurrency: usize,
    /// Items per list page.
    #[arg(long, value_name = "N", default_value_t = 500, requires = "cluster")]
    pub page_size: u32,
    /// Read the previous log tail of crashing containers (last 200 lines, 64 KiB) and add what it
    /// says to their diagnosis; only the class and one redacted line are kept.
    #[arg(long, requires = "cluster")]
    pub logs: bool,
    /// With --logs: the most crashing pods whose logs are read, per cluster.
    #[arg(long, value_name = "N", default_value_t = 50, requires = "logs")]
    pub log_pods: usize,
    /// Prometheus base URL for container usage history (right-sizing, rule CST005): the
    /// cluster's, or any input's pods by namespace/name. `user:password@` in the URL gives Basic
    /// auth; a bearer token is read from CLUSTERGPT_PROMETHEUS_TOKEN.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// How far back usage is read from Prometheus: a number and m, h, d or w (1h to 90d).
    #[arg(long, value_name = "WINDOW", default_value = "7d", requires = "prometheus")]
    pub window: String,
    /// Also read every custom resource type the cluster serves (found by discovery), for the
    /// graph, snapshots and rules that read them (`cluster: {crds: true}` in the config).
    #[arg(long, requires = "cluster")]
    pub crds: bool,
}

impl ClusterArgs {
    pub(crate) fn options(&self, read_at: String) -> crate::cluster::Options {
        crate::cluster::Options {
            kubeconfig: self.kubeconfig.clone(),
            contexts: self.contexts.clone(),
            namespaces: self.namespaces.clone(),
            page_size: self.page_size.max(1),
            concurrency: self.concurrency.max(1),
            request_timeout: std::time::Duration::from_secs(self.request_timeout.max(1)),
            deadline: std::time::Duration::from_secs(self.deadline.max(1)),
            read_at,
            progress: std::io::stderr().is_terminal(),
            logs: self.logs,
            log_pods: self.log_pods,
            prometheus: None,
            crds: self.crds,
        }
    }

    /// What to read from Prometheus (`--prometheus`), for one cluster's context or `""` for
    /// whatever the input holds.
    ///
    /// # Errors
    /// When the window is not one.
    pub(crate) fn prometheus(
        &self,
        cpu_percentile: f64,
        context: &str,
    ) -> anyhow::Result<Option<crate::cluster::prometheus::Options>> {
        let Some(url) = &self.prometheus else { return Ok(None) };
        let timeout = std::time::Duration::from_secs(self.request_timeout.max(1));
        let opts = crate::cluster::prometheus::Options::from_flags(
            url,
            &self.window,
            cpu_percentile,
            &self.namespaces,
            timeout,
        )
        .map_err(anyhow::Error::msg)?;
        Ok(Some(crate::cluster::prometheus::Options { context: context.to_string(), ..opts }))
    }

    /// Reads the clusters: reads and contexts that could not be reached.
    pub(crate) fn read(
        &self,
        read_at: String,
        config: &crate::config::Config,
    ) -> anyhow::Result<(Vec<crate::cluster::ClusterRead>, Vec<crate::source::InputError>)> {
        let mut opts = self.options(read_at);
        opts.crds |= config.cluster_crds;
        opts.prometheus = self.prometheus(config.rules.rightsize_cpu_percentile, "")?;
        if opts.prometheus.is_some() && opts.contexts.len() > 1 {
            anyhow::bail!("--prometheus serves one cluster: read one --context at a time");
        }
        Ok(crate::cluster::read_all(&opts)?)
    }
}

/// `--anonymize`, `--no-cache` (with `--explain`).
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ExplainSwitches {
    /// With `--explain`: replace every object and namespace name with a stable pseudonym
    /// (`deploy-7f3a`) before anything is sent; the answer gets the real names back.
    #[arg(long)]
    pub anonymize: bool,
    /// With `--explain`: do not read or write the answer cache
    /// (`$XDG_CACHE_HOME/clustergpt/explain`).
    #[arg(long)]
    pub no_cache: bool,
}

impl ExplainSwitches {
    /// As the explainer takes them.
    #[must_use]
    pub fn switches(self) -> crate::explain::Switches {
        crate::explain::Switches { anonymize: self.anonymize, no_cache: self.no_cache }
    }
}
