//! The audit engine: runs selected rules over objects and produces one sorted, fingerprinted Audit.
//!
//! Pure: no I/O, no clock (today's date comes in as a parameter for exemption expiry).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Config, Exemption, glob_match};
use crate::graph::Graph;
use crate::model::{Area, Finding, Object, ObjectRef, Severity};
use crate::rules::{self, Context, Rule, Violation};
use crate::source::{Input, InputError, Skipped};

/// Version of the JSON audit schema.
pub const SCHEMA_VERSION: &str = "1";

/// The annotation objects use to exempt themselves: `"SEC001,REL002: reason"`.
pub const IGNORE_ANNOTATION: &str = "clustergpt.io/ignore";

/// Options of one run that do not come from the config file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Extra selection from the command line (replaces the config's when not empty).
    pub select: Vec<String>,
    /// Extra ignores from the command line (added to the config's).
    pub ignore: Vec<String>,
    /// Today's date as `YYYY-MM-DD`, for exemption expiry.
    pub today: Option<String>,
}

/// A finding that an exemption suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppressed {
    /// Rule id.
    pub rule: String,
    /// Fingerprint of the suppressed finding.
    pub fingerprint: String,
    /// Object.
    pub object: ObjectRef,
    /// `config` (with line) or `annotation`.
    pub by: String,
    /// The exemption's reason.
    pub reason: String,
}

/// A problem with an exemption: it matched nothing, expired, or is malformed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExemptionNote {
    /// Where it is: `.clustergpt.yaml:12` or `Deployment/ns/name`.
    pub source: String,
    /// What is wrong.
    pub message: String,
}

/// Counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Objects audited.
    pub objects: usize,
    /// Findings reported.
    pub findings: usize,
    /// Findings per severity (every severity present, zero included).
    pub by_severity: BTreeMap<Severity, usize>,
    /// Findings per area.
    pub by_area: BTreeMap<Area, usize>,
    /// 0 (nothing found) to 100, from severity-weighted findings per object.
    pub risk_score: u32,
}

/// What the graph says about the whole input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Architecture {
    /// Objects per kind.
    pub kinds: BTreeMap<String, usize>,
    /// Namespaces seen.
    pub namespaces: Vec<String>,
    /// Relations per kind (Selects, RoutesTo, ...).
    pub relations: BTreeMap<String, usize>,
}

/// The result of an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    /// Schema version of this JSON.
    pub schema_version: String,
    /// Findings, sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    /// Inputs that could not be read.
    pub errors: Vec<InputError>,
    /// Documents that are not Kubernetes objects.
    pub skipped: Vec<Skipped>,
    /// Findings exemptions removed.
    pub suppressed: Vec<Suppressed>,
    /// Exemptions that matched nothing, expired, or are malformed.
    pub exemption_notes: Vec<ExemptionNote>,
    /// Rule ids that ran.
    pub rules_run: Vec<String>,
    /// Architecture summary.
    pub architecture: Architecture,
    /// Counts.
    pub summary: Summary,
    /// Monthly cost estimate (approximate, at the configured prices).
    #[serde(default)]
    pub cost: crate::cost::CostReport,
    /// What `analyze --baseline` hid and which baseline entries no longer match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineReport>,
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BaselineEntry {
    /// The finding's fingerprint (what matching uses).
    pub fingerprint: String,
    /// Rule id, for people reading the file.
    pub rule: String,
    /// `Kind/namespace/name`, for people reading the file.
    pub object: String,
    /// JSON pointer of the field, for people reading the file.
    pub path: String,
}

/// What applying a baseline did (`baseline` in the JSON audit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineReport {
    /// The baseline file as given.
    pub file: String,
    /// Findings hidden because the baseline holds them.
    pub hidden: usize,
    /// Baseline entries that match no finding any more (of the rules that ran): remove them.
    pub stale: Vec<BaselineEntry>,
}

/// The rules a configuration and the command line select, in id order.
#[must_use]
pub fn selected_rules(config: &Config, opts: &RunOptions) -> Vec<&'static dyn Rule> {
    let select = if opts.select.is_empty() { &config.select } else { &opts.select };
    rules::select(select, config.ignore.iter().chain(&opts.ignore), &config.rules)
}

/// Hashes rule id, object identity and field path: stable when lines move.
#[must_use]
pub fn fingerprint(rule: &str, object: &ObjectRef, path: &str) -> String {
    let mut h = Sha256::new();
    for part in [rule, &object.kind, object.namespace.as_deref().unwrap_or(""), &object.name, path] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for b in digest.iter().take(16) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// Runs the audit.
#[must_use]
pub fn run(input: Input, config: &Config, opts: &RunOptions) -> Audit {
    run_with_objects(input, config, opts).0
}

/// Runs the audit and hands back the objects too (fixes need their source nodes).
#[must_use]
pub fn run_with_objects(input: Input, config: &Config, opts: &RunOptions) -> (Audit, Vec<Object>) {
    let Input { objects, mut errors, mut skipped, files } = input;
    let graph = Graph::build(&objects);
    let cx = Context::new(&objects, &graph, &config.rules);
    let selected = selected_rules(config, opts);
    // Rules are pure and read shared data: check slices of the objects on every core, then merge
    // in object order (the findings are sorted afterwards anyway).
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).clamp(1, 8);
    let chunk = objects.len().div_ceil(threads).max(256);
    let ranges: Vec<std::ops::Range<usize>> =
        (0..objects.len()).step_by(chunk).map(|s| s..(s + chunk).min(objects.len())).collect();
    let partials: Vec<Partial> = if ranges.len() <= 1 {
        vec![check_range(0..objects.len(), &objects, &graph, &cx, &selected, config, opts)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = ranges
                .iter()
                .map(|r| {
                    let (r, objects, graph, cx, selected) = (r.clone(), &objects, &graph, &cx, &selected);
                    scope.spawn(move || check_range(r, objects, graph, cx, selected, config, opts))
                })
                .collect();
            handles
                .into_iter()
                .zip(&ranges)
                // A panicking rule is a bug; run its slice again here so the panic surfaces as usual.
                .map(|(h, r)| {
                    h.join().unwrap_or_else(|_| check_range(r.clone(), &objects, &graph, &cx, &selected, config, opts))
                })
                .collect()
        })
    };
    let mut exemption_used = vec![false; config.exemptions.len()];
    let mut notes: Vec<ExemptionNote> = Vec::new();
    let mut suppressed = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    for p in partials {
        findings.extend(p.findings);
        suppressed.extend(p.suppressed);
        notes.extend(p.notes);
        for (u, used) in exemption_used.iter_mut().zip(p.exemption_used) {
            *u |= used;
        }
    }

    for (i, e) in config.exemptions.iter().enumerate() {
        let source = format!("{}:{}", config_name(config), e.line);
        if is_expired(e, opts) {
            notes.push(ExemptionNote {
                source,
                message: format!("exemption expired on {}; it no longer applies", e.expires.as_deref().unwrap_or("")),
            });
        } else if !exemption_used[i] {
            notes.push(ExemptionNote {
                source,
                message: "exemption matched no finding; remove it or fix its match".to_string(),
            });
        }
    }

    let mut findings = sorted(findings);
    disambiguate(&mut findings);
    errors.sort();
    skipped.sort();
    notes.sort();
    suppressed.sort_by(|a, b| (&a.fingerprint, &a.by).cmp(&(&b.fingerprint, &b.by)));

    let mut by_severity: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    let mut by_area: BTreeMap<Area, usize> = BTreeMap::new();
    for f in &findings {
        *by_severity.entry(f.severity).or_insert(0) += 1;
        *by_area.entry(f.area).or_insert(0) += 1;
    }
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for o in &objects {
        *kinds.entry(o.kind.clone()).or_insert(0) += 1;
    }
    let summary = Summary {
        files,
        objects: objects.len(),
        findings: findings.len(),
        risk_score: risk_score(&by_severity, objects.len()),
        by_severity,
        by_area,
    };
    let audit = Audit {
        schema_version: SCHEMA_VERSION.to_string(),
        findings,
        errors,
        skipped,
        suppressed,
        exemption_notes: notes,
        rules_run: selected.iter().map(|r| r.meta().id.to_string()).collect(),
        architecture: Architecture {
            kinds,
            namespaces: graph.namespaces().iter().cloned().collect(),
            relations: graph.edge_counts(),
        },
        summary,
        cost: crate::cost::Estimator::new(&objects, &graph, &config.prices, &config.cost).report(),
        baseline: None,
    };
    drop(cx);
    drop(graph);
    (audit, objects)
}

/// What checking a slice of the objects produced.
struct Partial {
    findings: Vec<Finding>,
    suppressed: Vec<Suppressed>,
    notes: Vec<ExemptionNote>,
    exemption_used: Vec<bool>,
}

fn check_range(
    range: std::ops::Range<usize>,
    objects: &[Object],
    graph: &Graph,
    cx: &Context<'_>,
    selected: &[&'static dyn Rule],
    config: &Config,
    opts: &RunOptions,
) -> Partial {
    let estimator = crate::cost::Estimator::new(objects, graph, &config.prices, &config.cost);
    let mut p = Partial {
        findings: Vec::new(),
        suppressed: Vec::new(),
        notes: Vec::new(),
        exemption_used: vec![false; config.exemptions.len()],
    };
    let mut violations = Vec::new();
    for idx in range {
        let Some(obj) = objects.get(idx) else { continue };
        let annotation =
            if config.allow_annotation_exemptions { annotation_exemption(obj, &mut p.notes) } else { None };
        let oref = ObjectRef::of(obj);
        for rule in selected {
            violations.clear();
            rule.check(cx, idx, &mut violations);
            let meta = rule.meta();
            for v in violations.drain(..) {
                let mut f = make_finding(*rule, config, obj, &oref, v);
                if let Some(fix) = &f.fix {
                    f.cost = estimator.fix_impact(idx, fix);
                }
                if let Some((rules, reason)) = &annotation
                    && rules
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case("all") || r.eq_ignore_ascii_case(meta.id) || r == meta.name)
                {
                    p.suppressed.push(Suppressed {
                        rule: f.rule.clone(),
                        fingerprint: f.fingerprint.clone(),
                        object: oref.clone(),
                        by: "annotation".to_string(),
                        reason: reason.clone(),
                    });
                    continue;
                }
                if let Some(i) = matching_exemption(config, opts, meta.id, meta.name, obj) {
                    p.exemption_used[i] = true;
                    let e = &config.exemptions[i];
                    p.suppressed.push(Suppressed {
                        rule: f.rule.clone(),
                        fingerprint: f.fingerprint.clone(),
                        object: oref.clone(),
                        by: format!("{}:{}", config_name(config), e.line),
                        reason: e.reason.clone(),
                    });
                    continue;
                }
                p.findings.push(f);
            }
        }
    }
    p
}

fn config_name(config: &Config) -> String {
    config.path.as_ref().map_or_else(|| crate::config::FILE_NAME.to_string(), |p| p.display().to_string())
}

fn make_finding(rule: &dyn Rule, config: &Config, obj: &Object, oref: &ObjectRef, v: Violation) -> Finding {
    let meta = rule.meta();
    let severity = config
        .severity
        .get(meta.id)
        .or_else(|| config.severity.get(meta.name))
        .or_else(|| config.severity.iter().find(|(k, _)| k.eq_ignore_ascii_case(meta.id)).map(|(_, s)| s))
        .copied()
        .unwrap_or(meta.severity);
    let Violation { path, message, mut evidence, fix } = v;
    evidence.sort();
    evidence.dedup();
    Finding {
        fingerprint: fingerprint(meta.id, oref, &path),
        rule: meta.id.to_string(),
        name: meta.name.to_string(),
        severity,
        area: meta.area,
        message,
        object: oref.clone(),
        location: obj.locate(&path),
        evidence,
        fix,
        cost: None,
    }
}

/// Identical objects in several files (overlays, copies) would share fingerprints; number the repeats.
/// Expects findings sorted: the first in sort order keeps the plain fingerprint.
fn disambiguate(findings: &mut [Finding]) {
    let mut order: Vec<usize> = (0..findings.len()).collect();
    // Stable: equal fingerprints stay in sort order.
    order.sort_by(|a, b| findings[*a].fingerprint.cmp(&findings[*b].fingerprint));
    let mut run = 0usize;
    for k in 0..order.len() {
        let same = k > 0 && findings[order[k]].fingerprint == findings[order[k - 1]].fingerprint;
        run = if same { run + 1 } else { 1 };
        if run > 1 {
            let i = order[k];
            findings[i].fingerprint = format!("{}-{run}", findings[i].fingerprint);
        }
    }
}

/// Sorts findings by file, position and rule: indices are sorted, then the (large) findings are
/// permuted in place, so no second copy of them is ever allocated.
fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|a, b| sort_key(&findings[*a]).cmp(&sort_key(&findings[*b])));
    // Position `i` must receive the finding now at `order[i]`: follow each cycle once.
    for start in 0..order.len() {
        let mut i = start;
        while order[i] != start {
            let next = order[i];
            findings.swap(i, next);
            order[i] = i;
            i = next;
        }
        order[i] = i;
    }
    findings
}

type SortKey<'a> = (bool, Option<&'a str>, Option<u32>, Option<u32>, &'a str, &'a str, &'a str);

fn sort_key(f: &Finding) -> SortKey<'_> {
    (
        f.location.file.is_none(),
        f.location.file.as_deref(),
        f.location.line,
        f.location.column,
        f.rule.as_str(),
        f.location.path.as_str(),
        f.fingerprint.as_str(),
    )
}

fn risk_score(by_severity: &BTreeMap<Severity, usize>, objects: usize) -> u32 {
    let weight = |s: Severity| match s {
        Severity::Critical => 10.0,
        Severity::High => 5.0,
        Severity::Medium => 2.0,
        Severity::Low => 0.5,
        Severity::Info => 0.0,
    };
    let points: f64 = by_severity.iter().map(|(s, n)| weight(*s) * *n as f64).sum();
    if points == 0.0 {
        return 0;
    }
    // Saturating curve over points per object: 1 critical per object ≈ 63, many ≈ 100.
    let per_object = points / objects.max(1) as f64;
    let score = 100.0 * (1.0 - (-per_object / 10.0).exp());
    score.round().clamp(1.0, 100.0) as u32
}

fn is_expired(e: &Exemption, opts: &RunOptions) -> bool {
    match (&e.expires, &opts.today) {
        (Some(exp), Some(today)) => today.as_str() > exp.as_str(),
        _ => false,
    }
}

fn matching_exemption(config: &Config, opts: &RunOptions, id: &str, name: &str, obj: &Object) -> Option<usize> {
    config.exemptions.iter().position(|e| {
        !is_expired(e, opts)
            && (e.rules.is_empty() || e.rules.iter().any(|r| r.eq_ignore_ascii_case(id) || r == name))
            && e.kind.as_deref().is_none_or(|k| k == obj.kind)
            && e.namespace.as_deref().is_none_or(|p| obj.effective_namespace().is_some_and(|ns| glob_match(p, ns)))
            && e.name.as_deref().is_none_or(|p| glob_match(p, &obj.name))
    })
}

/// Reads `clustergpt.io/ignore: "SEC001,REL002: reason"`. Without a reason it is not applied.
fn annotation_exemption(obj: &Object, notes: &mut Vec<ExemptionNote>) -> Option<(BTreeSet<String>, String)> {
    let value = obj.annotation(IGNORE_ANNOTATION)?;
    let (rules_part, reason) = match value.split_once(':') {
        Some((r, reason)) => (r, reason.trim()),
        None => (value, ""),
    };
    let rules: BTreeSet<String> =
        rules_part.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    let source = obj.display_id();
    if reason.is_empty() {
        notes.push(ExemptionNote {
            source,
            message: format!(
                "annotation {IGNORE_ANNOTATION} has no reason, so it is not applied; write it as \"RULE,RULE: why\""
            ),
        });
        return None;
    }
    for r in &rules {
        if !r.eq_ignore_ascii_case("all") && rules::find(r).is_none() {
            notes.push(ExemptionNote {
                source: source.clone(),
                message: format!("annotation names unknown rule `{r}`"),
            });
        }
    }
    Some((rules, reason.to_string()))
}

/// Recomputes the finding counts and risk score of the summary from `audit.findings` (after
/// findings were filtered, e.g. by a baseline).
pub fn refresh_summary(audit: &mut Audit) {
    let mut by_severity: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    let mut by_area: BTreeMap<Area, usize> = BTreeMap::new();
    for f in &audit.findings {
        *by_severity.entry(f.severity).or_insert(0) += 1;
        *by_area.entry(f.area).or_insert(0) += 1;
    }
    let s = &mut audit.summary;
    s.findings = audit.findings.len();
    s.risk_score = risk_score(&by_severity, s.objects);
    s.by_severity = by_severity;
    s.by_area = by_area;
}

/// Findings at or above a severity.
#[must_use]
pub fn count_at_or_above(audit: &Audit, min: Severity) -> usize {
    audit.findings.iter().filter(|f| f.severity >= min).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_place_sort_matches_a_plain_sort() {
        let objects: Vec<Object> = (0..40)
            .map(|i| {
                let body = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p{}", (i * 7) % 13)}, "spec": {"containers": [{"name": "a", "image": "x"}]}});
                Object::from_body(body, crate::model::Origin::File { path: format!("f{}.yaml", (i * 5) % 3), document: i, prefix: String::new() })
            })
            .collect();
        let input = Input { objects, errors: Vec::new(), skipped: Vec::new(), files: 3 };
        let a = run(input, &Config::defaults(), &RunOptions { select: vec!["all".into()], ..RunOptions::default() });
        let mut expected = a.findings.clone();
        expected.sort_by(|x, y| sort_key(x).cmp(&sort_key(y)));
        assert!(!expected.is_empty());
        assert_eq!(a.findings, expected);
    }
}
