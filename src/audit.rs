//! The audit engine: runs selected rules over objects and produces one sorted, fingerprinted Audit.
//!
//! Pure: no I/O, no clock (today's date comes in as a parameter for exemption expiry).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::{Config, Exemption, glob_match};
use crate::graph::Graph;
use crate::model::{Area, Finding, FixOp, Location, Object, ObjectRef, Origin, Severity};
use crate::rules::diagnosis::common::LiveIndex;
use crate::rules::{self, Context, Rule, Violation};
use crate::source::{Input, InputError, Skipped};

/// Version of the JSON audit schema.
pub const SCHEMA_VERSION: &str = "2";

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
    /// JSON pointer of the field the suppressed finding is about.
    pub path: String,
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

/// A rule that panicked on an object: a bug in ClusterGPT. The rest of the audit ran; this rule's
/// result for this object is missing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InternalError {
    /// Rule id.
    pub rule: String,
    /// The object it was checking.
    pub object: ObjectRef,
    /// Where the object is (its file and first line, when from a file).
    pub location: Location,
    /// What happened, with the panic message.
    pub message: String,
}

/// Counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Contexts of live clusters read (live or replayed from a snapshot, which audits exactly as
    /// the live run that wrote it), sorted.
    #[serde(default)]
    pub contexts: Vec<String>,
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
    /// Documents that are not Kubernetes objects, and duplicate objects.
    pub skipped: Vec<Skipped>,
    /// Rules that failed on an object (bugs): the audit is incomplete for those.
    #[serde(default)]
    pub internal_errors: Vec<InternalError>,
    /// Findings exemptions removed.
    pub suppressed: Vec<Suppressed>,
    /// Exemptions that matched nothing, expired, or are malformed.
    pub exemption_notes: Vec<ExemptionNote>,
    /// Rule ids that ran.
    pub rules_run: Vec<String>,
    /// Cluster resource types that could not be read, with the rules left unevaluated there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_evaluated: Vec<crate::coverage::NotEvaluated>,
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
    /// The narrative `analyze --explain` adds (a model's validated answer, or the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// What `remediate` planned and did on the live objects, step by step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<crate::remediation::Remediation>,
}

impl Audit {
    /// Everything but the findings (to render them apart: `report::json`).
    #[must_use]
    pub fn without_findings(&self) -> Audit {
        Audit {
            schema_version: self.schema_version.clone(),
            findings: Vec::new(),
            errors: self.errors.clone(),
            skipped: self.skipped.clone(),
            internal_errors: self.internal_errors.clone(),
            suppressed: self.suppressed.clone(),
            exemption_notes: self.exemption_notes.clone(),
            rules_run: self.rules_run.clone(),
            not_evaluated: self.not_evaluated.clone(),
            architecture: self.architecture.clone(),
            summary: self.summary.clone(),
            cost: self.cost.clone(),
            baseline: self.baseline.clone(),
            explanation: self.explanation.clone(),
            remediation: self.remediation.clone(),
        }
    }
}

/// A narrative of the audit: it restates findings, it never changes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The model that wrote it, or `template`.
    pub source: String,
    /// Why the template was used instead of a model's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A few sentences on the state of the input.
    pub exec_summary: String,
    /// The same for a non-technical reader.
    pub cto_summary: String,
    /// What to do, most urgent first, each citing findings.
    pub sre_actions: Vec<SreAction>,
    /// A pull request title for the fixes.
    pub pr_title: String,
    /// Its body (Markdown).
    pub pr_body: String,
    /// One narrative per live diagnosis (`DIA*` finding) in the facts, in the facts' order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<DiagnosisNarrative>,
}

/// A few sentences on one live diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosisNarrative {
    /// The diagnosis finding's fingerprint.
    pub finding_id: String,
    /// What fails, the likely cause and what to do, restating the diagnosis.
    pub narrative: String,
    /// The model that wrote it, or `template` (a model's answer may leave a diagnosis out).
    pub source: String,
}

/// One action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SreAction {
    /// Fingerprints of the findings it addresses.
    pub finding_ids: Vec<String>,
    /// What to do.
    pub action: String,
    /// One of the fix commands the audit rendered, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `p1` (now) to `p3` (eventually).
    pub priority: String,
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
    /// The file is in the previous format (old fingerprints): it was matched by the old
    /// fingerprints; rewrite it with `clustergpt baseline write`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legacy_format: bool,
}

/// The rules a configuration and the command line select, in id order.
#[must_use]
pub fn selected_rules(config: &Config, opts: &RunOptions) -> Vec<&'static dyn Rule> {
    let select = if opts.select.is_empty() { &config.select } else { &opts.select };
    rules::select(select, config.ignore.iter().chain(&opts.ignore), &config.rules)
}

/// The fingerprint of a finding: 32 lowercase hex digits of the SHA-256 of rule id, object
/// identity (source, API group, kind, namespace, name) and field path, NUL-separated. The source
/// is [`Origin::identity_source`]: the file path as given (normalised), or the context name.
/// Never line numbers, never the order of objects: stable across reruns and line moves, distinct
/// across files.
#[must_use]
pub fn fingerprint(rule: &str, source: &str, object: &ObjectRef, path: &str) -> String {
    let ns = object.namespace.as_deref().unwrap_or("");
    hex32([rule, source, object.group(), &object.kind, ns, &object.name, path])
}

/// The first 16 bytes of the SHA-256 of the NUL-terminated parts, as lowercase hex.
pub(crate) fn hex32<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for part in parts {
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

/// Whether `s` has the one fingerprint format: exactly 32 lowercase hex digits.
#[must_use]
pub fn is_fingerprint(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Runs the audit.
#[must_use]
pub fn run(input: Input, config: &Config, opts: &RunOptions) -> Audit {
    run_with_objects(input, config, opts).0
}

/// Runs the audit and hands back the objects too (fixes need their source nodes).
#[must_use]
pub fn run_with_objects(input: Input, config: &Config, opts: &RunOptions) -> (Audit, Vec<Object>) {
    let selected = selected_rules(config, opts);
    run_rules(input, config, opts, &selected)
}

/// The engine over an explicit list of rules.
fn run_rules(input: Input, config: &Config, opts: &RunOptions, selected: &[&'static dyn Rule]) -> (Audit, Vec<Object>) {
    let Input { objects, mut errors, mut skipped, files, gaps, usage, logs, history } = input;
    // Both read the objects alone: the duplicate check takes the second core while the graph
    // is built (each is tens of milliseconds on a 10,000-object List).
    let (graph, duplicate) = if objects.len() < PARALLEL_BUILD_MIN {
        let duplicate = duplicates(&objects, &mut skipped);
        (Graph::build(&objects), duplicate)
    } else {
        std::thread::scope(|scope| {
            let dups = scope.spawn(|| {
                let mut extra = Vec::new();
                let d = duplicates(&objects, &mut extra);
                (d, extra)
            });
            let graph = Graph::build(&objects);
            let (duplicate, extra) = dups.join().unwrap_or_else(|_| {
                let mut extra = Vec::new();
                (duplicates(&objects, &mut extra), extra)
            });
            skipped.extend(extra);
            (graph, duplicate)
        })
    };
    let cx =
        Context::new(&objects, &graph, &config.rules).with_logs(&logs).with_history(&history).with_selected(selected);
    // Rules are pure and read shared data: check slices of the objects on every core, then merge
    // in object order (the findings are sorted afterwards anyway).
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).clamp(1, 8);
    let chunk = objects.len().div_ceil(threads).max(256);
    let ranges: Vec<std::ops::Range<usize>> =
        (0..objects.len()).step_by(chunk).map(|s| s..(s + chunk).min(objects.len())).collect();
    let lookups = crate::cost::Lookups::build(&objects);
    let shared = Shared {
        objects: &objects,
        graph: &graph,
        cx: &cx,
        selected,
        config,
        opts,
        duplicate: &duplicate,
        lookups: Some(&lookups),
    };
    let partials: Vec<Partial> = if ranges.len() <= 1 {
        vec![check_range(0..objects.len(), &shared, objects.len() * FINDINGS_HINT)]
    } else {
        std::thread::scope(|scope| {
            // The first slice's vector becomes the audit's: room for all findings.
            let room = |r: &std::ops::Range<usize>| if r.start == 0 { objects.len() } else { r.len() } * FINDINGS_HINT;
            let handles: Vec<_> = ranges
                .iter()
                .map(|r| {
                    let (r, shared, room) = (r.clone(), &shared, room(r));
                    scope.spawn(move || check_range(r, shared, room))
                })
                .collect();
            handles
                .into_iter()
                .zip(&ranges)
                // Rule panics are caught per check; anything else is a bug: run the slice again
                // here so it surfaces as usual.
                .map(|(h, r)| h.join().unwrap_or_else(|_| check_range(r.clone(), &shared, room(r))))
                .collect()
        })
    };
    let mut exemption_used = vec![false; config.exemptions.len()];
    let mut notes: Vec<ExemptionNote> = Vec::new();
    let mut internal_errors: Vec<InternalError> = Vec::new();
    let mut suppressed: Vec<(bool, Suppressed)> = Vec::new();
    let mut findings: Vec<(bool, Finding)> = Vec::new();
    for p in partials {
        if findings.is_empty() {
            findings = p.findings;
        } else {
            findings.extend(p.findings);
        }
        suppressed.extend(p.suppressed);
        notes.extend(p.notes);
        internal_errors.extend(p.internal_errors);
        for (u, used) in exemption_used.iter_mut().zip(p.exemption_used) {
            *u |= used;
        }
    }
    // A duplicate object (same identity as an earlier one) repeats the earlier copy's findings
    // under the same fingerprints: keep what only the copy has.
    let findings = first_copies(findings, |f| f.fingerprint.clone());
    let mut suppressed = first_copies(suppressed, |s| format!("{} {}", s.fingerprint, s.by));

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

    // The cost report reads only objects and graph: build it beside the sort (one core each).
    let cost_report =
        || crate::cost::Estimator::new(&objects, &graph, &config.prices, &config.cost).with_usage(&usage).report();
    let (findings, cost) = std::thread::scope(|scope| {
        let cost = scope.spawn(cost_report);
        let findings = sorted(findings);
        (findings, cost.join().unwrap_or_else(|_| cost_report()))
    });
    errors.sort();
    skipped.sort();
    notes.sort();
    // Duplicate objects repeat their annotation's notes.
    notes.dedup();
    internal_errors.sort();
    suppressed.sort_by(|a, b| (&a.fingerprint, &a.by).cmp(&(&b.fingerprint, &b.by)));

    let mut by_severity: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    let mut by_area: BTreeMap<Area, usize> = BTreeMap::new();
    for f in &findings {
        *by_severity.entry(f.severity).or_insert(0) += 1;
        *by_area.entry(f.area).or_insert(0) += 1;
    }
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut contexts: BTreeSet<String> = BTreeSet::new();
    for o in &objects {
        *kinds.entry(o.kind.clone()).or_insert(0) += 1;
        match &o.origin {
            Origin::File { .. } => {}
            Origin::Cluster { context, .. } | Origin::Snapshot { context, .. } => {
                contexts.insert(context.clone());
            }
        }
    }
    // A cluster with nothing readable still counts as read.
    contexts.extend(gaps.iter().map(|g| g.context.clone()));
    let summary = Summary {
        files,
        contexts: contexts.into_iter().collect(),
        objects: objects.len(),
        findings: findings.len(),
        risk_score: risk_score(&by_severity, objects.len()),
        by_severity,
        by_area,
    };
    let rules_run: Vec<String> = selected.iter().map(|r| r.meta().id.to_string()).collect();
    let audit = Audit {
        schema_version: SCHEMA_VERSION.to_string(),
        findings,
        errors,
        skipped,
        internal_errors,
        suppressed,
        exemption_notes: notes,
        not_evaluated: crate::coverage::not_evaluated(&gaps, &rules_run),
        rules_run,
        architecture: Architecture {
            kinds,
            namespaces: graph.namespaces().iter().cloned().collect(),
            relations: graph.edge_counts(),
        },
        summary,
        cost: crate::cost::CostReport {
            usage_history: history.iter().map(crate::cost::prometheus::UsageHistory::note).collect(),
            ..cost
        },
        baseline: None,
        explanation: None,
        remediation: None,
    };
    drop(cx);
    drop(graph);
    (audit, objects)
}

/// The identity of an object: what its fingerprints hash besides rule and path.
/// Name first: the map only finds equal keys, and the source (a file path every item of a List
/// shares) compared first made each lookup compare it in full.
type IdentityKey<'a> = (&'a str, Option<&'a str>, &'a str, &'a str, String);

fn identity(o: &Object) -> IdentityKey<'_> {
    (&o.name, o.effective_namespace(), &o.kind, crate::model::api_group(&o.api_version), o.origin.identity_source())
}

/// From this many objects the duplicate check runs on its own thread beside the graph build.
const PARALLEL_BUILD_MIN: usize = 2048;

/// Marks objects whose identity an earlier object already has (the same kind, namespace and
/// name twice in one file or one cluster), and notes each in `skipped`. Such a pair is a genuine
/// duplicate, not two objects: Kubernetes would keep only one of them.
fn duplicates(objects: &[Object], skipped: &mut Vec<Skipped>) -> Vec<bool> {
    let mut first: BTreeMap<IdentityKey<'_>, usize> = BTreeMap::new();
    let mut out = vec![false; objects.len()];
    for (i, o) in objects.iter().enumerate() {
        let j = match first.entry(identity(o)) {
            Entry::Vacant(v) => {
                v.insert(i);
                continue;
            }
            Entry::Occupied(e) => *e.get(),
        };
        out[i] = true;
        let Some(earlier) = objects.get(j) else { continue };
        let at = match (&earlier.origin, earlier.locate("").line) {
            (Origin::File { document, .. }, Some(line)) => format!(" at line {line} (document {document})"),
            (Origin::File { document, .. }, None) => format!(" in document {document}"),
            _ => String::new(),
        };
        let (source, document) = match &o.origin {
            Origin::File { path, document, .. } => (path.clone(), Some(*document)),
            Origin::Cluster { context, .. } => {
                (crate::source::cluster_source(context, &ObjectRef::of(o).to_string()), None)
            }
            // Named like the live object, so a snapshot replay reports what the live run did.
            Origin::Snapshot { context, .. } => {
                (crate::source::cluster_source(context, &ObjectRef::of(o).to_string()), None)
            }
        };
        skipped.push(Skipped {
            source,
            document,
            line: o.locate("").line,
            reason: format!(
                "duplicate object: {} is already defined{at}; findings both copies share are reported once",
                ObjectRef::of(o)
            ),
        });
    }
    out
}

/// Keeps every item of first copies, and the items of duplicate copies (`true`) whose key no
/// earlier item has.
fn first_copies<T>(items: Vec<(bool, T)>, key: impl Fn(&T) -> String) -> Vec<T> {
    if items.iter().all(|(dup, _)| !dup) {
        return items.into_iter().map(|(_, t)| t).collect();
    }
    let mut seen: BTreeSet<String> = items.iter().filter(|(dup, _)| !dup).map(|(_, t)| key(t)).collect();
    items.into_iter().filter_map(|(dup, t)| (!dup || seen.insert(key(&t))).then_some(t)).collect()
}

/// What every slice of the check reads.
struct Shared<'s, 'a> {
    objects: &'a [Object],
    graph: &'a Graph,
    cx: &'s Context<'a>,
    selected: &'s [&'static dyn Rule],
    config: &'s Config,
    opts: &'s RunOptions,
    duplicate: &'s [bool],
    /// The cost lookups, when built already.
    lookups: Option<&'s crate::cost::Lookups>,
}

/// What checking a few objects looks up among all of them, built in a pass over every object:
/// `fix` keeps them between edits that cannot change them.
pub struct Indexes {
    live: LiveIndex,
    cost: crate::cost::Lookups,
}

impl Indexes {
    /// Builds the indexes over `objects`.
    #[must_use]
    pub fn build(objects: &[Object], graph: &Graph) -> Indexes {
        Indexes { live: LiveIndex::build(objects, graph), cost: crate::cost::Lookups::build(objects) }
    }

    /// Whether editing `old` into `new` can change them: they read events, statuses, creation
    /// times and the objects cost lookups are made of.
    #[must_use]
    pub fn changed_by(old: &Object, new: &Object) -> bool {
        let read = |o: &Object| o.kind == "Event" || crate::cost::Lookups::KINDS.contains(&o.kind.as_str());
        read(old)
            || read(new)
            || old.body.get("status") != new.body.get("status")
            || old.get("/metadata/creationTimestamp") != new.get("/metadata/creationTimestamp")
    }
}

/// The findings `run` reports for some of the objects, unsorted: `fix` re-checks only the objects
/// an edit can affect. `graph` must be built over `objects`. Copies of one object (duplicates)
/// report a finding once, as `run` does. `indexes`, when given, were built over `objects`.
#[must_use]
pub fn findings_of(
    objects: &[Object],
    graph: &Graph,
    indexes: Option<&Indexes>,
    indices: &[usize],
    config: &Config,
    opts: &RunOptions,
) -> Vec<Finding> {
    let selected = selected_rules(config, opts);
    let cx = Context::new(objects, graph, &config.rules).with_selected(&selected).with_live(indexes.map(|x| &x.live));
    let shared = Shared {
        objects,
        graph,
        cx: &cx,
        selected: &selected,
        config,
        opts,
        duplicate: &[],
        lookups: indexes.map(|x| &x.cost),
    };
    let mut seen = BTreeSet::new();
    check_range(indices.iter().copied(), &shared, 0)
        .findings
        .into_iter()
        .filter_map(|(_, f)| seen.insert(f.fingerprint.clone()).then_some(f))
        .collect()
}

/// What checking a slice of the objects produced; `true` marks items of duplicate objects.
struct Partial {
    findings: Vec<(bool, Finding)>,
    suppressed: Vec<(bool, Suppressed)>,
    notes: Vec<ExemptionNote>,
    internal_errors: Vec<InternalError>,
    exemption_used: Vec<bool>,
}

/// Runs one rule's check, turning a panic into an internal error.
fn guarded_check(rule: &dyn Rule, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rule.check(cx, idx, out))).map_err(|payload| {
        // Whatever the rule pushed before panicking is not trusted.
        out.clear();
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string())
    })
}

/// Findings per object to make room for up front (a bare Pod has 11). Room that stays unused is
/// address space, never touched; growing instead copies every finding, and merging the slices
/// into a new vector held all of them twice: the audit's peak of memory on large inputs.
const FINDINGS_HINT: usize = 12;

/// Checks the objects of `range`; `room`: findings to make room for.
fn check_range(range: impl IntoIterator<Item = usize>, sh: &Shared<'_, '_>, room: usize) -> Partial {
    let (objects, config, opts) = (sh.objects, sh.config, sh.opts);
    let lookups = match sh.lookups {
        Some(l) => std::borrow::Cow::Borrowed(l),
        None => std::borrow::Cow::Owned(crate::cost::Lookups::build(objects)),
    };
    let estimator = crate::cost::Estimator::with_lookups(objects, sh.graph, &config.prices, &config.cost, lookups);
    let mut p = Partial {
        findings: Vec::with_capacity(room),
        suppressed: Vec::new(),
        notes: Vec::new(),
        internal_errors: Vec::new(),
        exemption_used: vec![false; config.exemptions.len()],
    };
    let mut violations = Vec::new();
    let mut interner = Interner::default();
    for idx in range {
        let Some(obj) = objects.get(idx) else { continue };
        let dup = sh.duplicate.get(idx).copied().unwrap_or(false);
        let annotation =
            if config.allow_annotation_exemptions { annotation_exemption(obj, &mut p.notes) } else { None };
        let oref = std::sync::Arc::new(ObjectRef::of(obj));
        let source = obj.origin.identity_source();
        for rule in sh.selected {
            violations.clear();
            let meta = rule.meta();
            if let Err(panic) = guarded_check(*rule, sh.cx, idx, &mut violations) {
                p.internal_errors.push(InternalError {
                    rule: meta.id.to_string(),
                    object: (*oref).clone(),
                    location: obj.locate(""),
                    message: format!("internal error in rule {} on {oref}: {panic}; please report it", meta.id),
                });
                continue;
            }
            // Diagnoses are about status by design, and carry their own pod evidence.
            if meta.area != Area::Diagnosis {
                sh.cx.after_check(idx, &mut violations);
            }
            for v in violations.drain(..) {
                let mut f = make_finding(&mut interner, *rule, config, obj, &oref, &source, v);
                if let Some(fix) = &f.fix {
                    f.cost = estimator.fix_impact(idx, fix).map(Box::new);
                }
                if let Some((rules, reason)) = &annotation
                    && rules
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case("all") || r.eq_ignore_ascii_case(meta.id) || r == meta.name)
                {
                    p.suppressed.push((dup, suppression(&f, "annotation".to_string(), reason.clone())));
                    continue;
                }
                if let Some(i) = matching_exemption(config, opts, meta.id, meta.name, obj) {
                    p.exemption_used[i] = true;
                    let e = &config.exemptions[i];
                    let by = format!("{}:{}", config_name(config), e.line);
                    p.suppressed.push((dup, suppression(&f, by, e.reason.clone())));
                    continue;
                }
                p.findings.push((dup, f));
            }
        }
    }
    p
}

fn suppression(f: &Finding, by: String, reason: String) -> Suppressed {
    Suppressed {
        rule: f.rule.to_string(),
        fingerprint: f.fingerprint.clone(),
        object: (*f.object).clone(),
        path: f.location.path.clone(),
        by,
        reason,
    }
}

fn config_name(config: &Config) -> String {
    config.path.as_ref().map_or_else(|| crate::config::FILE_NAME.to_string(), |p| p.display().to_string())
}

/// Hands out one copy of each small fix value: a bare Pod's probe fix is two JSON maps of about
/// 640 bytes each, and a 100,000-pod cluster has 200,000 of them, all alike.
#[derive(Default)]
pub(crate) struct Interner {
    values: std::collections::HashMap<u64, Vec<std::sync::Arc<Value>>>,
    len: usize,
}

impl Interner {
    /// Most distinct values kept; past it new values are simply not shared.
    const MAX: usize = 1 << 16;

    fn share(&mut self, value: &mut std::sync::Arc<Value>) {
        let mut h = std::hash::DefaultHasher::new();
        let mut budget = 64usize;
        if !hash_value(value, &mut h, &mut budget) {
            return;
        }
        let bucket = self.values.entry(std::hash::Hasher::finish(&h)).or_default();
        if let Some(same) = bucket.iter().find(|s| ***s == **value) {
            *value = std::sync::Arc::clone(same);
        } else if self.len < Self::MAX {
            bucket.push(std::sync::Arc::clone(value));
            self.len += 1;
        }
    }
}

/// Hashes a value of at most `budget` nodes; `false` when it is larger (not worth sharing).
fn hash_value(v: &Value, h: &mut impl std::hash::Hasher, budget: &mut usize) -> bool {
    use std::hash::Hash;
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => (2u8, n.as_i64(), n.as_u64(), n.as_f64().map(f64::to_bits)).hash(h),
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(a) => {
            (4u8, a.len()).hash(h);
            return a.iter().all(|x| hash_value(x, h, budget));
        }
        Value::Object(m) => {
            (5u8, m.len()).hash(h);
            return m.iter().all(|(k, x)| {
                k.hash(h);
                hash_value(x, h, budget)
            });
        }
    }
    true
}

fn make_finding(
    shared: &mut Interner,
    rule: &dyn Rule,
    config: &Config,
    obj: &Object,
    oref: &std::sync::Arc<ObjectRef>,
    source: &str,
    v: Violation,
) -> Finding {
    let meta = rule.meta();
    let severity = config
        .severity
        .get(meta.id)
        .or_else(|| config.severity.get(meta.name))
        .or_else(|| config.severity.iter().find(|(k, _)| k.eq_ignore_ascii_case(meta.id)).map(|(_, s)| s))
        .copied()
        .unwrap_or(meta.severity);
    let Violation { path, message, mut evidence, mut fix, diagnosis, severity_cap } = v;
    let severity = severity_cap.map_or(severity, |cap| severity.min(cap));
    evidence.sort();
    evidence.dedup();
    // A vector grown by `push` holds room for 4; a finding keeps its 1 or 2 for the whole run
    // (a 100,000-pod cluster has a million findings).
    evidence.shrink_to_fit();
    if let Some(f) = &mut fix {
        f.ops.shrink_to_fit();
        for op in &mut f.ops {
            if let FixOp::Add { value, .. } | FixOp::Replace { value, .. } = op {
                shared.share(value);
            }
        }
    }
    Finding {
        fingerprint: fingerprint(meta.id, source, oref, &path),
        rule: meta.id.into(),
        name: meta.name.into(),
        severity,
        area: meta.area,
        message,
        object: oref.clone(),
        location: obj.locate(&path),
        evidence,
        fix: fix.map(Box::new),
        cost: None,
        diagnosis: diagnosis.map(Box::new),
        rendered: obj.provenance.as_ref().map(|p| Box::new(p.rendered.clone())),
        manifest: None,
    }
}

/// Sorts findings by file, position and rule: indices are sorted, then the (large) findings are
/// permuted in place, so no second copy of them is ever allocated. Files, contexts and objects
/// are compared once each and sorted by rank: comparing a million findings' identities string by
/// string was most of the sort.
pub(crate) fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    let ranks = Ranks::of(&findings);
    let key = |i: usize| {
        let f = &findings[i];
        let (file, context, object) = ranks.per_finding[i];
        (
            f.location.file.is_none(),
            file,
            context,
            f.location.line,
            f.location.column,
            object,
            f.rule.as_ref(),
            f.location.path.as_str(),
            f.fingerprint.as_str(),
        )
    };
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|a, b| key(*a).cmp(&key(*b)));
    drop(ranks);
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

/// Each finding's file, context and object as ranks that order like the values themselves
/// (equal values, equal ranks).
struct Ranks {
    per_finding: Vec<(u32, u32, u32)>,
}

impl Ranks {
    fn of(findings: &[Finding]) -> Ranks {
        // Findings of one object share its `Arc`, and come in runs: one lookup per run.
        let mut objects: Vec<&ObjectRef> = Vec::new();
        let mut slot: std::collections::HashMap<*const ObjectRef, u32> = std::collections::HashMap::new();
        let mut files: BTreeMap<&str, u32> = BTreeMap::new();
        let mut of_finding: Vec<(Option<&str>, u32)> = Vec::with_capacity(findings.len());
        let mut last: Option<(*const ObjectRef, u32)> = None;
        for f in findings {
            let ptr = std::sync::Arc::as_ptr(&f.object);
            let i = match last {
                Some((p, i)) if p == ptr => i,
                _ => {
                    let next = u32::try_from(objects.len()).unwrap_or(u32::MAX);
                    let i = *slot.entry(ptr).or_insert_with(|| {
                        objects.push(&f.object);
                        next
                    });
                    last = Some((ptr, i));
                    i
                }
            };
            let file = f.location.file.as_deref();
            if let Some(name) = file {
                files.entry(name).or_insert(0);
            }
            of_finding.push((file, i));
        }
        for (rank, r) in files.values_mut().enumerate() {
            *r = u32::try_from(rank).unwrap_or(u32::MAX);
        }
        let contexts: BTreeMap<Option<&str>, u32> =
            objects.iter().map(|o| o.context.as_deref()).collect::<BTreeSet<_>>().into_iter().zip(0u32..).collect();
        let mut by_value: Vec<u32> = (0..u32::try_from(objects.len()).unwrap_or(u32::MAX)).collect();
        by_value.sort_by(|a, b| objects[*a as usize].cmp(objects[*b as usize]));
        let mut object_rank = vec![0u32; objects.len()];
        let mut rank = 0u32;
        for (n, pair) in by_value.iter().enumerate() {
            if n > 0 && objects[by_value[n - 1] as usize] != objects[*pair as usize] {
                rank += 1;
            }
            object_rank[*pair as usize] = rank;
        }
        let per_finding = of_finding
            .into_iter()
            .map(|(file, i)| {
                let o = objects[i as usize];
                (
                    file.and_then(|f| files.get(f)).copied().unwrap_or(0),
                    contexts.get(&o.context.as_deref()).copied().unwrap_or(0),
                    object_rank[i as usize],
                )
            })
            .collect();
        Ranks { per_finding }
    }
}

#[cfg(test)]
type SortKey<'a> =
    (bool, Option<&'a str>, Option<&'a str>, Option<u32>, Option<u32>, &'a ObjectRef, &'a str, &'a str, &'a str);

/// File (findings without one last, by context), position, object (for objects without lines),
/// rule, path, fingerprint.
#[cfg(test)]
fn sort_key(f: &Finding) -> SortKey<'_> {
    (
        f.location.file.is_none(),
        f.location.file.as_deref(),
        f.object.context.as_deref(),
        f.location.line,
        f.location.column,
        &f.object,
        f.rule.as_ref(),
        f.location.path.as_str(),
        f.fingerprint.as_str(),
    )
}

/// The risk score: 0 when nothing was found, else 1 to 100, higher is worse. The most severe
/// finding picks the band (critical 75-100, high 50-74, medium 25-49, low 1-24); within it, the
/// count of findings at that severity (and a quarter of those one level below) moves the score up
/// with diminishing returns. The size of the input does not dilute it: one privileged container
/// among a thousand clean objects is still a critical risk, and many hygiene findings never
/// outrank one critical.
pub(crate) fn risk_score(by_severity: &BTreeMap<Severity, usize>, _objects: usize) -> u32 {
    let n = |s: Severity| by_severity.get(&s).copied().unwrap_or(0) as f64;
    let (base, width, top, next) = if n(Severity::Critical) > 0.0 {
        (75.0, 25.0, n(Severity::Critical), n(Severity::High))
    } else if n(Severity::High) > 0.0 {
        (50.0, 24.0, n(Severity::High), n(Severity::Medium))
    } else if n(Severity::Medium) > 0.0 {
        (25.0, 24.0, n(Severity::Medium), n(Severity::Low))
    } else if n(Severity::Low) > 0.0 {
        (1.0, 23.0, n(Severity::Low), 0.0)
    } else {
        return 0;
    };
    let weight = top + next / 4.0;
    let score = base + width * (1.0 - (-weight / 5.0).exp());
    score.floor().clamp(base, base + width) as u32
}

/// What a risk score means, in a few words for reports.
#[must_use]
pub fn risk_meaning(score: u32) -> &'static str {
    match score {
        0 => "nothing found",
        1..=24 => "low-severity findings at worst",
        25..=49 => "medium-severity findings at worst",
        50..=74 => "high-severity findings, none critical",
        _ => "critical findings",
    }
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

/// Drops findings below `min` (what `--min-severity` hides) and recounts the summary's findings
/// by severity and area; the risk score still weighs everything found. Returns how many went.
pub fn retain_at_or_above(audit: &mut Audit, min: Severity) -> usize {
    let before = audit.findings.len();
    audit.findings.retain(|f| f.severity >= min);
    let s = &mut audit.summary;
    s.findings = audit.findings.len();
    for (sev, n) in &mut s.by_severity {
        if *sev < min {
            *n = 0;
        }
    }
    s.by_area.clear();
    for f in &audit.findings {
        *s.by_area.entry(f.area).or_insert(0) += 1;
    }
    before - audit.findings.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_fix_values_are_shared_between_findings() {
        let objects: Vec<Object> = (0..3)
            .map(|i| {
                let body = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p{i}")},
                    "spec": {"containers": [{"name": "a", "image": "x:1", "ports": [{"containerPort": 8080}]}]}});
                Object::from_body(
                    body,
                    crate::model::Origin::File { path: "pods.yaml".into(), document: i, prefix: String::new() },
                )
            })
            .collect();
        let input = Input { objects, files: 1, ..Input::default() };
        let a = run(input, &Config::defaults(), &RunOptions { select: vec!["REL005".into()], ..RunOptions::default() });
        let values: Vec<&std::sync::Arc<Value>> = a
            .findings
            .iter()
            .filter_map(|f| match f.fix.as_deref()?.ops.first()? {
                FixOp::Add { value, .. } => Some(value),
                _ => None,
            })
            .collect();
        assert_eq!(values.len(), 3);
        assert_eq!(**values[0], serde_json::json!({"tcpSocket": {"port": 8080}}));
        assert!(values.iter().all(|v| std::sync::Arc::ptr_eq(v, values[0])), "one probe value for all three pods");
    }

    #[test]
    fn in_place_sort_matches_a_plain_sort() {
        let objects: Vec<Object> = (0..40)
            .map(|i| {
                let body = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p{}", (i * 7) % 13)}, "spec": {"containers": [{"name": "a", "image": "x"}]}});
                // Files, and objects of two clusters (no lines: ordered by context and identity).
                let origin = if i % 4 == 3 {
                    crate::model::Origin::Cluster { context: ["prod", "dev"][i % 8 / 4].into(), uid: format!("u{i}") }
                } else {
                    crate::model::Origin::File { path: format!("f{}.yaml", (i * 5) % 3), document: i, prefix: String::new() }
                };
                Object::from_body(body, origin)
            })
            .collect();
        let input = Input { objects, files: 3, ..Input::default() };
        let a = run(input, &Config::defaults(), &RunOptions { select: vec!["all".into()], ..RunOptions::default() });
        let mut expected = a.findings.clone();
        expected.sort_by(|x, y| sort_key(x).cmp(&sort_key(y)));
        assert!(!expected.is_empty());
        assert_eq!(a.findings, expected);
    }

    #[test]
    fn fingerprints_have_one_format_and_hash_the_documented_parts() {
        let o = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "web".into(),
            uid: None,
            context: None,
        };
        let path = "/spec/template/spec/containers/1/securityContext/privileged";
        // The example in docs/json-schema.md.
        assert_eq!(fingerprint("SEC001", "k8s/web.yaml", &o, path), "689d26448bd159edbed1944adfb08a50");
        let fp = fingerprint("SEC001", "k8s/web.yaml", &o, path);
        assert!(is_fingerprint(&fp));
        assert_ne!(fp, fingerprint("SEC001", "k8s/other.yaml", &o, path));
        let beta = ObjectRef { api_version: "apps/v1beta1".into(), ..o.clone() };
        assert_eq!(fp, fingerprint("SEC001", "k8s/web.yaml", &beta, path));
        let ext = ObjectRef { api_version: "extensions/v1beta1".into(), ..o.clone() };
        assert_ne!(fp, fingerprint("SEC001", "k8s/web.yaml", &ext, path));
        assert!(!is_fingerprint(&format!("{fp}-2")));
        assert!(!is_fingerprint(&fp.to_uppercase()));
        assert!(!is_fingerprint(&fp[..31]));
    }

    /// A rule that panics on objects named `boom*` (after pushing a violation, which must not
    /// survive) and reports every other object.
    struct Panics;

    static PANICS_META: rules::RuleMeta = rules::RuleMeta {
        id: "TST999",
        name: "test-panics",
        area: Area::Reliability,
        severity: Severity::Low,
        default_enabled: false,
        summary: "Panics on purpose.",
        doc: "",
        fix: None,
        equivalents: rules::Equivalents::NONE,
    };

    impl Rule for Panics {
        fn meta(&self) -> &'static rules::RuleMeta {
            &PANICS_META
        }
        fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
            out.push(Violation::new("/metadata/name", "checked"));
            if cx.objects[idx].name.starts_with("boom") {
                panic!("bad state at object {idx}");
            }
        }
    }

    static PANICS: Panics = Panics;

    #[test]
    fn a_panicking_rule_becomes_an_internal_error_and_the_audit_goes_on() {
        // Enough objects for several threads; every 100th makes the rule panic.
        let objects: Vec<Object> = (0..600)
            .map(|i| {
                let name = if i % 100 == 7 { format!("boom{i}") } else { format!("ok{i}") };
                let body = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                    "spec": {"containers": [{"name": "a", "image": "x:1", "securityContext": {"privileged": true}}]}});
                Object::from_body(body, Origin::File { path: "pods.yaml".into(), document: i, prefix: String::new() })
            })
            .collect();
        let input = Input { objects, files: 1, ..Input::default() };
        let sec001 = rules::find("SEC001").expect("SEC001");
        let selected: Vec<&'static dyn Rule> = vec![sec001, &PANICS];
        let (a, _) = run_rules(input, &Config::defaults(), &RunOptions::default(), &selected);
        assert_eq!(a.internal_errors.len(), 6, "{:#?}", a.internal_errors);
        let e = &a.internal_errors[0];
        assert_eq!(e.rule, "TST999");
        assert_eq!(e.object.to_string(), "Pod/default/boom107");
        assert_eq!(e.location.file.as_deref(), Some("pods.yaml"));
        assert_eq!(
            e.message,
            "internal error in rule TST999 on Pod/default/boom107: bad state at object 107; please report it"
        );
        // Every other check ran: SEC001 on all 600, the panicking rule on the 594 others, and
        // nothing it pushed before panicking.
        let count = |rule: &str| a.findings.iter().filter(|f| f.rule == rule).count();
        assert_eq!(count("SEC001"), 600);
        assert_eq!(count("TST999"), 594);
        assert!(a.findings.iter().all(|f| !f.object.name.starts_with("boom") || f.rule == "SEC001"));
        assert_eq!(a.summary.findings, 1194);
        let text = crate::report::terminal::render(&a, false);
        // The errors themselves go to stderr (`cli::report_problems`); the report counts them.
        assert!(!text.contains("internal error in rule"), "{text}");
        assert!(text.contains("; 6 internal errors"), "{text}");
    }
}
