//! `.clustergpt.yaml`: selection, severity overrides, rule settings, exemptions.
//!
//! Parsed through our own YAML tree so every error names the line; unknown keys are errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::Severity;
use crate::quantity::Quantity;
use crate::rules::RuleSettings;
use crate::yaml::{self, Limits, Node, NodeKind};

/// The file name looked up from the working directory upward.
pub const FILE_NAME: &str = ".clustergpt.yaml";

/// An exemption: rules that do not apply to matching objects, with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    /// Rule ids or names (empty: all rules).
    pub rules: Vec<String>,
    /// Namespace to match (glob with `*`).
    pub namespace: Option<String>,
    /// Kind to match.
    pub kind: Option<String>,
    /// Object name to match (glob with `*`).
    pub name: Option<String>,
    /// Why the exemption exists (required).
    pub reason: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// `YYYY-MM-DD` after which it no longer applies.
    pub expires: Option<String>,
    /// Line in the config file, for reports.
    pub line: u32,
}

/// Configuration for a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// Where it was read from.
    pub path: Option<PathBuf>,
    /// Rules, names or areas to run (empty: defaults).
    pub select: Vec<String>,
    /// Rules, names or areas not to run.
    pub ignore: Vec<String>,
    /// Gate: fail at or above this severity.
    pub fail_on: Option<Severity>,
    /// Severity per rule id or name.
    pub severity: BTreeMap<String, Severity>,
    /// Rule settings.
    pub rules: RuleSettings,
    /// Exemptions.
    pub exemptions: Vec<Exemption>,
    /// Honour `clustergpt.io/ignore` annotations on objects.
    pub allow_annotation_exemptions: bool,
    /// Prices for cost estimates (`prices:`).
    pub prices: crate::cost::PriceModel,
    /// Cost settings that are not prices (`cost:`).
    pub cost: crate::cost::CostSettings,
    /// Globs left out of directory walks (`exclude:`), rooted at the config file's directory.
    pub exclude: Vec<String>,
    /// Namespaces `remediate` may patch (`remediation: {namespaces: [...]}`); empty: any.
    pub remediation_namespaces: Vec<String>,
    /// `cluster.crds`: live reads also list every custom resource type (as `--crds`).
    pub cluster_crds: bool,
    /// Rendering Kustomize and Helm targets (`render:`).
    pub render: RenderSettings,
    /// The explainer's endpoint (`llm:`); environment variables take precedence.
    pub llm: LlmSettings,
    /// `report.paper`: the PDF's page size (`--paper` takes precedence).
    pub report_paper: Paper,
}

/// Paper sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// 210 × 297 mm.
    #[default]
    A4,
    /// 8.5 × 11 in.
    Letter,
}

impl Paper {
    /// Parses `a4` or `letter` (any case).
    #[must_use]
    pub fn parse(s: &str) -> Option<Paper> {
        match s.to_ascii_lowercase().as_str() {
            "a4" => Some(Paper::A4),
            "letter" => Some(Paper::Letter),
            _ => None,
        }
    }

    /// Width and height in points.
    #[must_use]
    pub fn size(self) -> (f64, f64) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }
}

/// `llm:`: the explainer's OpenAI-compatible endpoint. The key is named, never written: only
/// `api_key_env`, the name of the environment variable holding it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LlmSettings {
    /// Base URL up to `/v1`.
    pub base_url: Option<String>,
    /// Model id.
    pub model: Option<String>,
    /// Name of the environment variable holding the key.
    pub api_key_env: Option<String>,
    /// Per attempt.
    pub timeout_seconds: Option<u64>,
    /// Sent with every request.
    pub max_completion_tokens: Option<u32>,
    /// Pseudonymise every object and namespace name sent (as `--anonymize`).
    pub anonymize: bool,
    /// Names always pseudonymised (globs with `*`).
    pub anonymize_patterns: Vec<String>,
    /// Azure OpenAI: the `api-version` (setting it selects Azure).
    pub azure_api_version: Option<String>,
    /// Azure OpenAI: the deployment (default: the model).
    pub azure_deployment: Option<String>,
}

/// `render:`: which Kustomize and Helm targets are built, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSettings {
    /// Find kustomizations and charts in the directories analysed (`discover`, default true).
    pub discover: bool,
    /// Longest a tool may run per target (`timeout_seconds`, default 120).
    pub timeout_seconds: u64,
    /// Targets listed explicitly (`targets`).
    pub targets: Vec<RenderTarget>,
}

impl Default for RenderSettings {
    fn default() -> RenderSettings {
        RenderSettings { discover: true, timeout_seconds: 120, targets: Vec::new() }
    }
}

/// One `render.targets` entry: a kustomization or chart directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderTarget {
    /// Directory, relative to the config file.
    pub path: PathBuf,
    /// Helm values files, in order (relative to the config file).
    pub values: Vec<PathBuf>,
    /// Helm `--set` entries.
    pub set: Vec<String>,
    /// Helm release name.
    pub release: Option<String>,
    /// Helm release namespace.
    pub namespace: Option<String>,
}

impl Config {
    /// The render options: targets resolved against the config file's directory.
    #[must_use]
    pub fn render_options(&self) -> crate::source::render::RenderOptions {
        let base = self.path.as_ref().and_then(|p| p.parent()).map(Path::to_path_buf).unwrap_or_default();
        let at = |p: &PathBuf| if p.is_absolute() || base.as_os_str().is_empty() { p.clone() } else { base.join(p) };
        crate::source::render::RenderOptions {
            discover: self.render.discover,
            timeout: std::time::Duration::from_secs(self.render.timeout_seconds),
            targets: self
                .render
                .targets
                .iter()
                .map(|t| crate::source::render::Target {
                    path: at(&t.path),
                    values: t.values.iter().map(at).collect(),
                    set: t.set.clone(),
                    release: t.release.clone(),
                    namespace: t.namespace.clone(),
                })
                .collect(),
        }
    }
}

impl Config {
    /// Defaults, as `clustergpt init` writes them.
    #[must_use]
    pub fn defaults() -> Config {
        Config { allow_annotation_exemptions: true, ..Config::default() }
    }
}

/// A config error with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Config path.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Finds `.clustergpt.yaml` in `start` or its parents.
#[must_use]
pub fn discover(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

/// Reads and validates a config file.
///
/// # Errors
/// Every problem found, each with its line.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError { file: file.clone(), line: 1, column: 1, message: format!("cannot read: {e}") }]
    })?;
    let mut cfg = parse(&file, &text)?;
    cfg.path = Some(path.to_path_buf());
    Ok(cfg)
}

/// Parses config text.
///
/// # Errors
/// Every problem found, each with its line.
pub fn parse(file: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
    let docs = yaml::parse_stream(text, Limits { max_depth: 32, max_nodes: 100_000, max_bytes: 4 * 1024 * 1024 })
        .map_err(|e| vec![ConfigError { file: file.to_string(), line: e.line, column: e.col, message: e.message }])?;
    let mut cfg = Config::defaults();
    let Some(root) = docs.into_iter().find_map(|d| d.root) else { return Ok(cfg) };
    let mut p = P { file, errors: Vec::new() };
    let NodeKind::Map(entries) = &root.kind else {
        p.err(&root, "the config must be a mapping of keys such as `select`, `ignore`, `rules`");
        return Err(p.errors);
    };
    for (k, v) in entries {
        match k.as_str().unwrap_or_default() {
            "select" => cfg.select = p.strings(v),
            "ignore" => cfg.ignore = p.strings(v),
            "exclude" => cfg.exclude = p.strings(v),
            "fail_on" | "fail-on" => cfg.fail_on = p.severity(v),
            "severity" => {
                for (rk, rv) in p.map(v) {
                    if let (Some(id), Some(sev)) = (rk.as_str(), p.severity(rv)) {
                        if crate::rules::find(id).is_none() {
                            p.err(rk, &format!("unknown rule `{id}`; `clustergpt rules` lists them"));
                        }
                        cfg.severity.insert(id.to_string(), sev);
                    }
                }
            }
            "rules" => p.settings(v, &mut cfg.rules),
            "exemptions" => {
                if let NodeKind::Seq(items) = &v.kind {
                    for item in items {
                        if let Some(e) = p.exemption(item) {
                            cfg.exemptions.push(e);
                        }
                    }
                } else if !is_null(v) {
                    p.err(v, "`exemptions` must be a list");
                }
            }
            "allow_annotation_exemptions" => cfg.allow_annotation_exemptions = p.boolean(v).unwrap_or(true),
            "prices" => p.prices(v, &mut cfg.prices),
            "cost" => p.cost(v, &mut cfg.cost),
            "remediation" => {
                for (rk, rv) in p.map(v) {
                    match rk.as_str().unwrap_or_default() {
                        "namespaces" => cfg.remediation_namespaces = p.strings(rv),
                        other => p.err(rk, &format!("unknown remediation setting `{other}`; expected namespaces")),
                    }
                }
            }
            "render" => p.render(v, &mut cfg.render),
            "cluster" => {
                for (ck, cv) in p.map(v) {
                    match ck.as_str().unwrap_or_default() {
                        "crds" => cfg.cluster_crds = p.boolean(cv).unwrap_or(false),
                        other => p.err(ck, &format!("unknown cluster setting `{other}`; expected crds")),
                    }
                }
            }
            "llm" => p.llm(v, &mut cfg.llm),
            "report" => {
                for (rk, rv) in p.map(v) {
                    match rk.as_str().unwrap_or_default() {
                        "paper" => {
                            if let Some(text) = p.text(rv) {
                                match Paper::parse(&text) {
                                    Some(paper) => cfg.report_paper = paper,
                                    None => p.err(rv, &format!("unknown paper `{text}`; use a4 or letter")),
                                }
                            }
                        }
                        other => p.err(rk, &format!("unknown report setting `{other}`; expected paper")),
                    }
                }
            }
            other => p.err(
                k,
                &format!(
                    "unknown key `{other}`; expected one of select, ignore, exclude, fail_on, severity, rules, exemptions, allow_annotation_exemptions, prices, cost, remediation, render, cluster, llm, report"
                ),
            ),
        }
    }
    for id in cfg.select.iter().chain(&cfg.ignore) {
        if !crate::rules::selector_is_known(id) {
            p.errors.push(ConfigError {
                file: file.to_string(),
                line: 1,
                column: 1,
                message: format!("`{id}` in select/ignore is not a rule id, rule name or area"),
            });
        }
    }
    if p.errors.is_empty() { Ok(cfg) } else { Err(p.errors) }
}

fn is_null(n: &Node) -> bool {
    matches!(&n.kind, NodeKind::Scalar { text, style: yaml::Style::Plain, .. } if text.is_empty() || text == "~" || text == "null")
}

struct P<'a> {
    file: &'a str,
    errors: Vec<ConfigError>,
}

impl P<'_> {
    fn err(&mut self, n: &Node, message: &str) {
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line: n.span.start.line,
            column: n.span.start.col,
            message: message.to_string(),
        });
    }

    fn strings(&mut self, n: &Node) -> Vec<String> {
        match &n.kind {
            NodeKind::Seq(items) => items
                .iter()
                .filter_map(|i| {
                    let s = i.as_str().map(str::to_string);
                    if s.is_none() {
                        self.err(i, "expected a string");
                    }
                    s
                })
                .collect(),
            NodeKind::Scalar { text, .. } if is_null(n) => {
                let _ = text;
                Vec::new()
            }
            NodeKind::Scalar { text, .. } => {
                text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
            }
            NodeKind::Map(_) => {
                self.err(n, "expected a list of strings");
                Vec::new()
            }
        }
    }

    fn map<'n>(&mut self, n: &'n Node) -> Vec<(&'n Node, &'n Node)> {
        match &n.kind {
            NodeKind::Map(entries) => entries.iter().map(|(k, v)| (k, v)).collect(),
            _ if is_null(n) => Vec::new(),
            _ => {
                self.err(n, "expected a mapping");
                Vec::new()
            }
        }
    }

    fn severity(&mut self, n: &Node) -> Option<Severity> {
        let s = n.as_str().and_then(Severity::parse);
        if s.is_none() {
            self.err(n, "expected a severity: critical, high, medium, low or info");
        }
        s
    }

    fn boolean(&mut self, n: &Node) -> Option<bool> {
        let b = n.to_json().as_bool();
        if b.is_none() {
            self.err(n, "expected true or false");
        }
        b
    }

    fn quantity(&mut self, n: &Node) -> Option<f64> {
        let q = Quantity::from_json(&n.to_json()).map(Quantity::value);
        if q.is_none() {
            self.err(n, "expected a Kubernetes quantity such as `4`, `500m` or `16Gi`");
        }
        q
    }

    fn text(&mut self, n: &Node) -> Option<String> {
        let s = n.as_str().map(str::to_string);
        if s.is_none() {
            self.err(n, "expected a string");
        }
        s
    }

    fn settings(&mut self, n: &Node, s: &mut RuleSettings) {
        for (k, v) in self.map(n) {
            match k.as_str().unwrap_or_default() {
                "node_cpu" => s.node_cpu = self.quantity(v).unwrap_or(s.node_cpu),
                "node_memory" => s.node_memory = self.quantity(v).unwrap_or(s.node_memory),
                "high_cpu_request" => s.high_cpu_request = self.quantity(v).unwrap_or(s.high_cpu_request),
                "require_priority_class" => s.require_priority_class = self.boolean(v).unwrap_or(false),
                "allowed_registries" => s.allowed_registries = self.strings(v),
                "default_cpu_request" => s.default_cpu_request = self.quantity_text(v, &s.default_cpu_request),
                "default_memory_request" => s.default_memory_request = self.quantity_text(v, &s.default_memory_request),
                "default_cpu_limit" => s.default_cpu_limit = self.quantity_text(v, &s.default_cpu_limit),
                "default_memory_limit" => s.default_memory_limit = self.quantity_text(v, &s.default_memory_limit),
                "rightsize_cpu_percentile" => {
                    s.rightsize_cpu_percentile = self.bounded(v, 50.0, 100.0).unwrap_or(s.rightsize_cpu_percentile);
                }
                "rightsize_memory_buffer" => {
                    s.rightsize_memory_buffer = self.bounded(v, 0.0, 200.0).unwrap_or(s.rightsize_memory_buffer);
                }
                "rightsize_min_hours" => {
                    s.rightsize_min_hours = self.bounded(v, 0.0, 2160.0).unwrap_or(s.rightsize_min_hours);
                }
                other => self.err(
                    k,
                    &format!(
                        "unknown rule setting `{other}`; expected node_cpu, node_memory, high_cpu_request, require_priority_class, allowed_registries, default_cpu_request, default_memory_request, default_cpu_limit, default_memory_limit, rightsize_cpu_percentile, rightsize_memory_buffer, rightsize_min_hours"
                    ),
                ),
            }
        }
    }

    /// A number within `[lo, hi]`.
    fn bounded(&mut self, n: &Node, lo: f64, hi: f64) -> Option<f64> {
        let v = n.to_json();
        let x = v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()));
        let x = x.filter(|x| (lo..=hi).contains(x));
        if x.is_none() {
            self.err(n, &format!("expected a number from {lo} to {hi}"));
        }
        x
    }

    /// A price or count: a non-negative number.
    fn number(&mut self, n: &Node) -> Option<f64> {
        let v = n.to_json();
        let x = v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()));
        let x = x.filter(|x| x.is_finite() && *x >= 0.0);
        if x.is_none() {
            self.err(n, "expected a number of at least 0, such as `0.031611`");
        }
        x
    }

    fn prices(&mut self, n: &Node, p: &mut crate::cost::PriceModel) {
        for (k, v) in self.map(n) {
            match k.as_str().unwrap_or_default() {
                "currency" => {
                    if let Some(c) = self.text(v) {
                        if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                            p.currency = c;
                        } else {
                            self.err(v, "expected an ISO 4217 currency code such as `USD` or `EUR`");
                        }
                    }
                }
                "cpu_hour" => p.cpu_hour = self.number(v).unwrap_or(p.cpu_hour),
                "memory_gib_hour" => p.memory_gib_hour = self.number(v).unwrap_or(p.memory_gib_hour),
                "gpu_hour" => p.gpu_hour = self.number(v).unwrap_or(p.gpu_hour),
                "storage_gib_month" => p.storage_gib_month = self.number(v).unwrap_or(p.storage_gib_month),
                "load_balancer_hour" => p.load_balancer_hour = self.number(v).unwrap_or(p.load_balancer_hour),
                "storage_classes" => {
                    for (ck, cv) in self.map(v) {
                        if let (Some(class), Some(price)) = (ck.as_str(), self.number(cv)) {
                            p.storage_classes.insert(class.to_string(), price);
                        }
                    }
                }
                "instance_types" => {
                    for (ik, iv) in self.map(v) {
                        if let (Some(name), Some(price)) = (ik.as_str(), self.number(iv)) {
                            p.instance_types.insert(name.to_string(), price);
                        }
                    }
                }
                other => self.err(
                    k,
                    &format!(
                        "unknown price `{other}`; expected currency, cpu_hour, memory_gib_hour, gpu_hour, storage_gib_month, load_balancer_hour, storage_classes, instance_types"
                    ),
                ),
            }
        }
    }

    fn render(&mut self, n: &Node, r: &mut RenderSettings) {
        for (k, v) in self.map(n) {
            match k.as_str().unwrap_or_default() {
                "discover" => r.discover = self.boolean(v).unwrap_or(true),
                "timeout_seconds" => match v.to_json().as_u64() {
                    Some(s) if s > 0 => r.timeout_seconds = s,
                    _ => self.err(v, "expected a whole number of seconds above 0, such as `120`"),
                },
                "targets" => {
                    let NodeKind::Seq(items) = &v.kind else {
                        if !is_null(v) {
                            self.err(v, "`targets` must be a list of `{path: DIR}` entries");
                        }
                        continue;
                    };
                    for item in items {
                        let mut t = RenderTarget::default();
                        for (tk, tv) in self.map(item) {
                            match tk.as_str().unwrap_or_default() {
                                "path" => match tv.as_str() {
                                    Some(p) => t.path = PathBuf::from(p),
                                    None => self.err(tv, "expected a directory path"),
                                },
                                "values" => t.values = self.strings(tv).into_iter().map(PathBuf::from).collect(),
                                "set" => t.set = self.strings(tv),
                                "release" => t.release = tv.as_str().map(str::to_string),
                                "namespace" => t.namespace = tv.as_str().map(str::to_string),
                                other => self.err(
                                    tk,
                                    &format!("unknown render target key `{other}`; expected path, values, set, release, namespace"),
                                ),
                            }
                        }
                        if t.path.as_os_str().is_empty() {
                            self.err(item, "a render target needs `path`");
                        } else {
                            r.targets.push(t);
                        }
                    }
                }
                other => self
                    .err(k, &format!("unknown render setting `{other}`; expected discover, timeout_seconds, targets")),
            }
        }
    }

    fn llm(&mut self, n: &Node, l: &mut LlmSettings) {
        for (k, v) in self.map(n) {
            let text = |p: &mut Self| if is_null(v) { None } else { p.text(v).filter(|s| !s.trim().is_empty()) };
            match k.as_str().unwrap_or_default() {
                "base_url" => {
                    l.base_url = text(self);
                    if l.base_url.as_deref().is_some_and(|u| !u.starts_with("http://") && !u.starts_with("https://")) {
                        self.err(v, "expected an http:// or https:// URL up to `/v1`, such as `http://localhost:11434/v1`");
                    }
                }
                "model" => l.model = text(self),
                "azure_api_version" => l.azure_api_version = text(self),
                "azure_deployment" => l.azure_deployment = text(self),
                "api_key_env" => {
                    l.api_key_env = text(self);
                    let valid = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if l.api_key_env.as_deref().is_some_and(|s| !valid(s)) {
                        self.err(v, "expected the NAME of an environment variable, such as `OPENAI_API_KEY`");
                        l.api_key_env = None;
                    }
                }
                // A key in a file ends up in git: refuse it and say what to do instead.
                "api_key" | "key" | "token" => self.err(
                    k,
                    "the key is never written in the config: set `api_key_env` to the name of the environment variable that holds it",
                ),
                "timeout_seconds" => match v.to_json().as_u64() {
                    Some(s) if s > 0 => l.timeout_seconds = Some(s),
                    _ => self.err(v, "expected a whole number of seconds above 0, such as `60`"),
                },
                "max_completion_tokens" => match v.to_json().as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) if n >= 256 => l.max_completion_tokens = Some(n),
                    _ => self.err(v, "expected a whole number of tokens of at least 256, such as `2000`"),
                },
                "anonymize" => l.anonymize = self.boolean(v).unwrap_or(false),
                "anonymize_patterns" => l.anonymize_patterns = self.strings(v),
                other => self.err(
                    k,
                    &format!(
                        "unknown llm setting `{other}`; expected base_url, model, api_key_env, timeout_seconds, max_completion_tokens, anonymize, anonymize_patterns, azure_api_version, azure_deployment"
                    ),
                ),
            }
        }
    }

    fn cost(&mut self, n: &Node, c: &mut crate::cost::CostSettings) {
        for (k, v) in self.map(n) {
            match k.as_str().unwrap_or_default() {
                "hours_per_month" => match self.number(v) {
                    Some(h) if h > 0.0 && h <= 744.0 => c.hours_per_month = h,
                    Some(_) => self.err(v, "`hours_per_month` must be above 0 and at most 744 (31 days)"),
                    None => {}
                },
                "node_count" => match v.to_json().as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) => c.node_count = n,
                    None => self.err(v, "expected a whole number of nodes, such as `3`"),
                },
                "autoscaled_replicas" => match v.as_str() {
                    Some("min") => c.autoscaled_replicas = crate::cost::RangeEnd::Min,
                    Some("max") => c.autoscaled_replicas = crate::cost::RangeEnd::Max,
                    _ => self.err(v, "expected `min` or `max`"),
                },
                "batch_hours_per_month" => {
                    c.batch_hours_per_month = if is_null(v) {
                        None
                    } else {
                        match self.number(v) {
                            Some(h) if h <= 744.0 => Some(h),
                            Some(_) => {
                                self.err(v, "`batch_hours_per_month` must be at most 744 (31 days)");
                                None
                            }
                            None => None,
                        }
                    }
                }
                other => self.err(
                    k,
                    &format!(
                        "unknown cost setting `{other}`; expected hours_per_month, node_count, autoscaled_replicas, batch_hours_per_month"
                    ),
                ),
            }
        }
    }

    fn quantity_text(&mut self, n: &Node, current: &str) -> String {
        match self.quantity(n) {
            Some(_) => crate::model::value_text(&n.to_json()),
            None => current.to_string(),
        }
    }

    fn exemption(&mut self, n: &Node) -> Option<Exemption> {
        let mut e = Exemption {
            rules: Vec::new(),
            namespace: None,
            kind: None,
            name: None,
            reason: String::new(),
            owner: None,
            expires: None,
            line: n.span.start.line,
        };
        if !matches!(n.kind, NodeKind::Map(_)) {
            self.err(n, "an exemption is a mapping with `rules`, an object match and a `reason`");
            return None;
        }
        for (k, v) in self.map(n) {
            match k.as_str().unwrap_or_default() {
                "rules" => {
                    e.rules = self.strings(v);
                    for r in &e.rules {
                        if crate::rules::find(r).is_none() {
                            self.err(v, &format!("unknown rule `{r}`; `clustergpt rules` lists them"));
                        }
                    }
                }
                "namespace" => e.namespace = self.text(v),
                "kind" => e.kind = self.text(v),
                "name" => e.name = self.text(v),
                "reason" => e.reason = self.text(v).unwrap_or_default(),
                "owner" => e.owner = self.text(v),
                "expires" => {
                    let t = self.text(v);
                    if let Some(t) = &t
                        && !is_date(t)
                    {
                        self.err(v, "`expires` must be a date as YYYY-MM-DD");
                    }
                    e.expires = t;
                }
                other => self.err(
                    k,
                    &format!(
                        "unknown exemption key `{other}`; expected rules, namespace, kind, name, reason, owner, expires"
                    ),
                ),
            }
        }
        if e.reason.trim().is_empty() {
            self.err(n, "an exemption needs a `reason` saying why the rule does not apply");
            return None;
        }
        Some(e)
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Matches `pattern` (with `*` wildcards) against `text`.
#[must_use]
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The commented default config that `clustergpt init` writes.
pub const TEMPLATE: &str = include_str!("config_template.yaml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_defaults() {
        let cfg = parse("t", TEMPLATE).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(cfg.rules, RuleSettings::default());
        assert!(cfg.allow_annotation_exemptions);
        assert_eq!(cfg.report_paper, Paper::A4);
    }

    #[test]
    fn report_paper_parses_and_names_bad_values() {
        let cfg = parse("t", "report:\n  paper: Letter\n").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(cfg.report_paper, Paper::Letter);
        let errs = parse("t", "report:\n  paper: a5\n  margins: 2\n").expect_err("errors");
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].message.contains("unknown paper `a5`; use a4 or letter") && errs[0].line == 2, "{errs:?}");
        assert!(errs[1].message.contains("unknown report setting `margins`"), "{errs:?}");
    }

    /// Uncommenting every commented example (deleting `# `, as editors toggle comments) leaves a
    /// valid configuration that differs from the defaults.
    #[test]
    fn template_examples_uncomment_as_they_stand() {
        let example = |l: &str| {
            let t = l.trim_start().strip_prefix("# ")?;
            let key = t.trim_start().trim_start_matches("- ");
            let word = key.split(':').next()?;
            (key.contains(':') && !word.is_empty() && !word.contains(' ')).then(|| l.replacen("# ", "", 1))
        };
        let uncommented: Vec<String> = TEMPLATE.lines().map(|l| example(l).unwrap_or_else(|| l.to_string())).collect();
        let changed = TEMPLATE.lines().zip(&uncommented).filter(|(a, b)| a != b).count();
        assert!(changed >= 10, "{changed} example lines");
        let cfg = parse("t", &uncommented.join("\n")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(cfg.fail_on, Some(Severity::High));
        assert_eq!(cfg.severity.len(), 2);
        assert_eq!(cfg.exemptions.len(), 1);
        assert_eq!(cfg.cost.batch_hours_per_month, Some(20.0));
    }

    #[test]
    fn llm_settings_parse_and_refuse_an_inline_key() {
        let cfg = parse(
            "t",
            "llm:\n  base_url: http://localhost:11434/v1\n  model: llama3.1\n  api_key_env: MY_KEY\n  timeout_seconds: 5\n  max_completion_tokens: 900\n  anonymize: true\n  anonymize_patterns: [\"*prod*\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            cfg.llm,
            LlmSettings {
                base_url: Some("http://localhost:11434/v1".into()),
                model: Some("llama3.1".into()),
                api_key_env: Some("MY_KEY".into()),
                timeout_seconds: Some(5),
                max_completion_tokens: Some(900),
                anonymize: true,
                anonymize_patterns: vec!["*prod*".into()],
                azure_api_version: None,
                azure_deployment: None,
            }
        );
        let errs = parse("t", "llm:\n  model: x\n  api_key: sk-abc\n").err().unwrap_or_default();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 3);
        assert!(errs[0].message.contains("api_key_env"), "{}", errs[0].message);
        assert!(!errs[0].message.contains("sk-abc"));
        let errs = parse("t", "llm:\n  api_key_env: sk-abc-123\n  base_url: localhost\n").err().unwrap_or_default();
        assert_eq!(errs.len(), 2, "{errs:?}");
    }

    #[test]
    fn template_has_default_prices() {
        let cfg = parse("t", TEMPLATE).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(cfg.prices, crate::cost::PriceModel::default());
        assert_eq!(cfg.cost, crate::cost::CostSettings::default());
    }

    #[test]
    fn render_settings_parse_and_resolve_against_the_config_file() {
        let text = "render:\n  discover: false\n  timeout_seconds: 30\n  targets:\n    - path: k8s/overlays/prod\n    - path: charts/api\n      values: [values-prod.yaml]\n      set: [image.tag=1.4]\n      release: api\n      namespace: prod\n";
        let mut cfg = parse("c", text).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!cfg.render.discover);
        assert_eq!(cfg.render.targets[1].values, [PathBuf::from("values-prod.yaml")]);
        assert_eq!(cfg.render.targets[1].set, ["image.tag=1.4"]);
        assert_eq!(cfg.render.targets[1].release.as_deref(), Some("api"));
        cfg.path = Some(PathBuf::from("repo/.clustergpt.yaml"));
        let o = cfg.render_options();
        assert_eq!((o.discover, o.timeout.as_secs()), (false, 30));
        let dirs: Vec<&PathBuf> = o.targets.iter().map(|t| &t.path).collect();
        assert_eq!(dirs, [&PathBuf::from("repo/k8s/overlays/prod"), &PathBuf::from("repo/charts/api")]);
        assert_eq!(o.targets[1].values, [PathBuf::from("repo/values-prod.yaml")]);
        let errors =
            parse("c", "render:\n  targets:\n    - values: [a]\n  discovery: true\n").err().unwrap_or_default();
        let lines: Vec<(u32, &str)> = errors.iter().map(|e| (e.line, e.message.as_str())).collect();
        assert_eq!(
            lines,
            [
                (3, "a render target needs `path`"),
                (4, "unknown render setting `discovery`; expected discover, timeout_seconds, targets")
            ]
        );
    }

    #[test]
    fn prices_and_cost_settings_parse() {
        let cfg = parse(
            "c.yaml",
            "prices:\n  currency: EUR\n  cpu_hour: 0.05\n  storage_classes: {gp3: 0.08}\n  instance_types:\n    m5.large: 0.09\ncost:\n  node_count: 7\n  autoscaled_replicas: max\n  batch_hours_per_month: 10\n",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(cfg.prices.currency, "EUR");
        assert!((cfg.prices.cpu_hour - 0.05).abs() < 1e-12);
        assert_eq!(cfg.prices.storage_classes.get("gp3"), Some(&0.08));
        assert_eq!(cfg.prices.instance_hour("m5.large"), Some(0.09));
        assert_eq!(cfg.cost.node_count, 7);
        assert_eq!(cfg.cost.autoscaled_replicas, crate::cost::RangeEnd::Max);
        assert_eq!(cfg.cost.batch_hours_per_month, Some(10.0));
    }

    #[test]
    fn bad_prices_have_lines() {
        let errs = parse("c.yaml", "prices:\n  cpu_hour: -1\n  ram: 3\ncost:\n  nodes: 2\n").expect_err("must fail");
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert_eq!(errs[0].line, 2);
        assert!(errs[1].message.contains("unknown price `ram`"), "{errs:?}");
        assert!(errs[2].message.contains("unknown cost setting `nodes`"), "{errs:?}");
    }

    #[test]
    fn unknown_keys_have_lines() {
        let errs = parse("c.yaml", "select: [SEC001]\nrulez: {}\n").expect_err("must fail");
        assert_eq!(errs[0].line, 2);
        assert!(errs[0].message.contains("unknown key `rulez`"));
    }

    #[test]
    fn exemption_needs_reason() {
        let errs =
            parse("c.yaml", "exemptions:\n  - rules: [SEC001]\n    namespace: kube-system\n").expect_err("must fail");
        assert!(errs[0].message.contains("reason"), "{errs:?}");
    }

    #[test]
    fn globs() {
        assert!(glob_match("kube-*", "kube-system"));
        assert!(glob_match("*proxy*", "kube-proxy-x"));
        assert!(!glob_match("kube-*", "default"));
    }
}
