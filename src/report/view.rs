//! The one view model every document renderer (Markdown, HTML, PDF) formats.
//!
//! Built from an [`Audit`] (or a [`Diff`]), it holds what a document shows and in which order:
//! (1) the executive summary, (2) the SRE action list, (3) the details, then the architecture
//! summary, the cost table, what was not evaluated and the inputs read. Values are plain,
//! unescaped text: renderers escape. Fields named `*_code` (and [`Loc::text`]) are shown literally
//! as code; fields named `*_inline` are text whose `backticked` parts are code (as rule messages
//! write them); every other string is plain text.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::audit::Audit;
use crate::cost::money;
use crate::diff::{Diff, Status, percent_text, signed_money};
use crate::model::{Applicability, Area, Finding, Severity};
use crate::report::applicability_name;

/// How many actions the executive summary names as "the things to do first".
pub const FIRST: usize = 3;
/// How many findings the "Top findings" table shows.
pub const TOP: usize = 10;
/// How many commands one derived action lists before saying how many more there are.
const MAX_COMMANDS: usize = 5;

/// A count with its name (`High`, `security`, `Deployment`).
#[derive(Debug, Clone, Serialize)]
pub struct Count {
    /// Display name.
    pub name: String,
    /// Machine key (lowercase severity or area), for anchors and styling.
    pub key: String,
    /// How many.
    pub count: usize,
}

/// A place: `file:line`, a field path, or (when `context`) the name of a cluster context.
#[derive(Debug, Clone, Serialize)]
pub struct Loc {
    /// The text is a context name (rendered "context NAME").
    pub context: bool,
    /// Shown as code.
    pub text: String,
}

/// The whole audit report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Document title.
    pub title: String,
    /// What was audited, e.g. `3 files` or `context prod`.
    pub subject: String,
    /// Level 1.
    pub executive: Executive,
    /// Level 2: prioritised actions, most urgent first.
    pub actions: Vec<Action>,
    /// Whether the actions are the explainer's (else derived from the findings by rule).
    pub actions_from_explainer: bool,
    /// Level 3: live failures first.
    pub diagnoses: Vec<DiagnosisView>,
    /// Level 3: every finding grouped by area (diagnosis first) then object.
    pub details: Vec<AreaGroup>,
    /// Every finding in the audit's order (file, line, rule).
    pub findings: Vec<FindingView>,
    /// The most severe findings, at most [`TOP`].
    pub top: Vec<FindingView>,
    /// Objects and how they relate.
    pub architecture: ArchitectureView,
    /// Cost tables; absent when nothing was priced.
    pub cost: Option<CostView>,
    /// Cluster resource types that could not be read.
    pub not_evaluated: Vec<GapView>,
    /// What was read and what was left out.
    pub inputs: Inputs,
    /// What `remediate` did, when it ran.
    #[serde(skip)]
    pub remediation: Option<crate::remediation::Remediation>,
}

/// Level 1: the state in a few numbers and the three things to do first.
#[derive(Debug, Clone, Serialize)]
pub struct Executive {
    /// Findings shown.
    pub findings: usize,
    /// Objects audited.
    pub objects: usize,
    /// 0–100, higher is worse.
    pub risk_score: u32,
    /// The score's band in words.
    pub risk_meaning: &'static str,
    /// The most severe finding's severity, or `none`.
    pub top_severity: &'static str,
    /// Every severity, most severe first.
    pub severities: Vec<Count>,
    /// Areas with findings.
    pub areas: Vec<Count>,
    /// Findings per area and severity (rows: areas with findings; columns: [`Severity::ALL`]).
    pub area_severity: Vec<AreaSeverity>,
    /// Estimated monthly cost, when anything was priced.
    pub monthly: Option<String>,
    /// The same with autoscalers at their maximum, when different.
    pub monthly_max: Option<String>,
    /// Monthly cost of the workloads that carry a critical or high finding.
    pub at_risk: Option<String>,
    /// What applying every fix changes in the monthly cost, when a fix changes it.
    pub fix_delta: Option<String>,
    /// The first things to do: the head of [`Report::actions`] (at most [`FIRST`]).
    pub first: Vec<Action>,
    /// The explainer's narrative, when configured.
    pub explanation: Option<ExplanationView>,
}

/// One area's findings by severity.
#[derive(Debug, Clone, Serialize)]
pub struct AreaSeverity {
    /// The area.
    pub area: String,
    /// Counts in [`Severity::ALL`] order.
    pub counts: Vec<Count>,
}

/// `analyze --explain`: the narrative and who wrote it.
#[derive(Debug, Clone, Serialize)]
pub struct ExplanationView {
    /// A model's name; absent for the built-in template.
    pub model: Option<String>,
    /// Why a model's answer was not used.
    pub reason: Option<String>,
    /// For a non-technical reader.
    pub cto_summary: String,
    /// A few sentences on the state of the input.
    pub exec_summary: String,
}

/// A finding an action names.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRef {
    /// The finding's fingerprint (its id), also its anchor.
    pub id: String,
    /// Rule id.
    pub rule: String,
    /// `Kind/namespace/name`.
    pub object: String,
}

/// Level 2: one thing to do.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// `p1` (now) to `p3` (eventually).
    pub priority: String,
    /// The most severe finding it resolves.
    pub severity: String,
    /// What to do (`backticked` parts are code).
    pub title_inline: String,
    /// The findings it resolves.
    pub findings: Vec<FindingRef>,
    /// Commands that apply it (`clustergpt fix …`, `kubectl patch …`).
    pub commands: Vec<String>,
    /// Commands left out of `commands`.
    pub more_commands: usize,
    /// Its effect on the monthly cost, signed, when it has one.
    pub cost: Option<String>,
}

/// Level 3: one area's findings, by object.
#[derive(Debug, Clone, Serialize)]
pub struct AreaGroup {
    /// The area.
    pub area: String,
    /// Findings in it.
    pub count: usize,
    /// Objects in the audit's order.
    pub objects: Vec<ObjectGroup>,
}

/// The findings of one object in one area, most severe first.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectGroup {
    /// `Kind/namespace/name`.
    pub object: String,
    /// Where it is.
    pub source: String,
    /// Its findings.
    pub findings: Vec<FindingView>,
}

/// One finding with its evidence and fix.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// Fingerprint: the finding's id and anchor.
    pub id: String,
    /// Rule id.
    pub rule: String,
    /// Rule name.
    pub name: String,
    /// Lowercase severity.
    pub severity: &'static str,
    /// Severity title (`High`).
    pub severity_title: &'static str,
    /// Lowercase area.
    pub area: &'static str,
    /// `Kind/namespace/name`.
    pub object: String,
    /// Where.
    pub location: Loc,
    /// The field path in the object.
    pub path: String,
    /// What is wrong (`backticked` parts are code).
    pub message_inline: String,
    /// Facts behind it: `(path, value)`; the field path alone when there are none.
    pub evidence: Vec<EvidenceView>,
    /// The fix.
    pub fix: Option<FixView>,
    /// The manifest a live finding's object was deployed from (right-sizing), with its fix.
    pub manifest: Option<ManifestView>,
}

/// One fact: a field and its value.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    /// Field path (code).
    pub path: String,
    /// Value (code); absent when only the field is named.
    pub value: Option<String>,
}

/// How to fix a finding.
#[derive(Debug, Clone, Serialize)]
pub struct FixView {
    /// `safe`, `unsafe`, `display-only`.
    pub applicability: &'static str,
    /// What it does (`backticked` parts are code).
    pub title_inline: String,
    /// Its effect on the monthly cost, signed.
    pub cost: Option<String>,
    /// A note (`backticked` parts are code).
    pub note_inline: Option<String>,
    /// Why the file cannot be edited automatically.
    pub edit_error: Option<String>,
    /// `clustergpt fix FILE --select RULE`, when the file can be edited.
    pub command: Option<String>,
    /// A one-line `kubectl patch` for the live object.
    pub kubectl: Option<String>,
    /// Why Kubernetes would refuse the patch (`backticked` parts are code).
    pub refused_inline: Option<String>,
    /// The operations as one-line RFC 6902 JSON, for live objects without a patch.
    pub json_patch: Option<String>,
}

/// A live failure.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosisView {
    /// The finding's fingerprint.
    pub id: String,
    /// Rule id.
    pub rule: String,
    /// Lowercase severity.
    pub severity: &'static str,
    /// Diagnosis class (code).
    pub class: String,
    /// `Kind/namespace/name`.
    pub object: String,
    /// Where.
    pub location: Loc,
    /// What fails.
    pub summary: String,
    /// Since when (code).
    pub since: Option<String>,
    /// How often.
    pub count: u64,
    /// The linked manifest (`file:line`, code) and its fix.
    pub manifest: Option<ManifestView>,
    /// Causes, most likely first.
    pub hypotheses: Vec<HypothesisView>,
    /// `analyze --explain`: the narrative of this diagnosis and who wrote it.
    pub narrative: Option<NarrativeView>,
}

/// An explainer's narrative of one diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct NarrativeView {
    /// The narrative.
    pub text: String,
    /// A model's name; absent for the built-in template.
    pub model: Option<String>,
}

/// The manifest a live object was deployed from.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestView {
    /// `file:line`, the file, or the object (code).
    pub at: String,
    /// The fix's applicability and title.
    pub fix: Option<(String, String)>,
}

impl ManifestView {
    fn of(m: &crate::model::ManifestLink) -> ManifestView {
        ManifestView {
            at: match (&m.location.file, m.location.line) {
                (Some(file), Some(line)) => format!("{file}:{line}"),
                (Some(file), None) => file.clone(),
                (None, _) => m.object.to_string(),
            },
            fix: m.fix.as_ref().map(|x| (applicability_name(x.applicability).to_string(), x.title.to_string())),
        }
    }
}

/// One cause.
#[derive(Debug, Clone, Serialize)]
pub struct HypothesisView {
    /// The cause.
    pub cause: String,
    /// `high`, `medium`, `low`.
    pub confidence: &'static str,
    /// Sub-class (code).
    pub subclass: Option<String>,
    /// Facts.
    pub evidence: Vec<EvidenceView>,
}

/// Objects by kind and relations.
#[derive(Debug, Clone, Serialize)]
pub struct ArchitectureView {
    /// Objects audited.
    pub objects: usize,
    /// Namespaces (code).
    pub namespaces: Vec<String>,
    /// Objects per kind.
    pub kinds: Vec<Count>,
    /// Relations per kind (`Selects`, `RoutesTo`, …).
    pub relations: Vec<Count>,
}

/// The cost section.
#[derive(Debug, Clone, Serialize)]
pub struct CostView {
    /// Monthly total.
    pub total: String,
    /// With autoscalers at their maximum, when different.
    pub total_max: Option<String>,
    /// ISO currency.
    pub currency: String,
    /// Hours per month.
    pub hours: String,
    /// Per namespace.
    pub namespaces: Vec<CostNamespaceRow>,
    /// Per workload.
    pub workloads: Vec<CostRow>,
    /// Assumptions (`backticked` parts are code).
    pub assumptions_inline: Vec<String>,
    /// Objects not priced.
    pub unpriced: Vec<UnpricedRow>,
    /// Nodes of live clusters.
    pub nodes: Vec<NodeRow>,
    /// Where usage comes from (metrics API, Prometheus for right-sizing), or why there is none
    /// (`backticked` parts are code).
    pub usage_inline: Vec<String>,
}

/// One namespace's cost.
#[derive(Debug, Clone, Serialize)]
pub struct CostNamespaceRow {
    /// Namespace (code).
    pub namespace: String,
    /// Monthly (a range with autoscalers).
    pub monthly: String,
    /// Monthly as a number, for charts.
    pub value: f64,
}

/// One workload's cost.
#[derive(Debug, Clone, Serialize)]
pub struct CostRow {
    /// `Kind/namespace/name` (code).
    pub object: String,
    /// Pods counted.
    pub pods: String,
    /// vCPU per pod.
    pub cpu: String,
    /// Memory per pod.
    pub memory: String,
    /// Storage.
    pub storage: String,
    /// Monthly (a range with autoscalers).
    pub monthly: String,
    /// What the estimate assumed (`backticked` parts are code).
    pub assumptions_inline: Vec<String>,
}

/// An object not priced.
#[derive(Debug, Clone, Serialize)]
pub struct UnpricedRow {
    /// `Kind/namespace/name` (code).
    pub object: String,
    /// Why (`backticked` parts are code).
    pub reason_inline: String,
}

/// What the estimate could not price, for the audit's and the diff's reports alike.
fn unpriced_rows(list: &[crate::cost::Unpriced]) -> Vec<UnpricedRow> {
    list.iter()
        .map(|u| UnpricedRow {
            object: match &u.namespace {
                Some(ns) => format!("{}/{ns}/{}", u.kind, u.name),
                None => format!("{}/{}", u.kind, u.name),
            },
            reason_inline: u.reason.clone(),
        })
        .collect()
}

/// One node of a live cluster.
#[derive(Debug, Clone, Serialize)]
pub struct NodeRow {
    /// Name (code).
    pub node: String,
    /// Context (code), or empty.
    pub context: String,
    /// Instance type (code), or empty.
    pub instance: String,
    /// `requested / allocatable` vCPU.
    pub cpu: String,
    /// `requested / allocatable GiB`.
    pub memory: String,
    /// Pods.
    pub pods: u64,
    /// Monthly.
    pub monthly: String,
    /// Idle part of monthly.
    pub idle: String,
    /// vCPU requested, allocatable and used (when metrics answered), for charts.
    pub cpu_values: (f64, f64, Option<f64>),
}

/// A cluster resource type that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct GapView {
    /// Context (code).
    pub context: String,
    /// Resource (code).
    pub resource: String,
    /// `forbidden`, `not-found`, ….
    pub reason: String,
    /// What the server said.
    pub message: String,
    /// Rules not evaluated there.
    pub rules: String,
}

/// What was read and what was left out.
#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    /// `3 files`, `context prod`, or both.
    pub read_from: String,
    /// Files read.
    pub files: usize,
    /// Contexts read.
    pub contexts: Vec<String>,
    /// Rules that ran.
    pub rules_run: usize,
    /// Inputs that could not be read.
    pub errors: Vec<ErrorRow>,
    /// Rules that failed on an object.
    pub internal_errors: Vec<InternalRow>,
    /// Documents skipped.
    pub skipped: Vec<SkippedRow>,
    /// Findings exemptions removed.
    pub suppressed: Vec<SuppressedRow>,
    /// Exemptions with a problem.
    pub exemption_notes: Vec<NoteRow>,
    /// What the baseline hid.
    pub baseline: Option<BaselineView>,
}

/// An input that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    /// `file:line:col` (code).
    pub location: String,
    /// What went wrong.
    pub message: String,
}

/// A rule that failed on an object.
#[derive(Debug, Clone, Serialize)]
pub struct InternalRow {
    /// Rule id.
    pub rule: String,
    /// Object (code).
    pub object: String,
    /// Where; absent when unknown.
    pub location: Option<Loc>,
    /// The error.
    pub message: String,
}

/// A skipped document.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedRow {
    /// `file:line` (code).
    pub location: String,
    /// Document index, or empty.
    pub document: String,
    /// Why.
    pub reason: String,
}

/// A finding an exemption removed.
#[derive(Debug, Clone, Serialize)]
pub struct SuppressedRow {
    /// Rule id.
    pub rule: String,
    /// Object (code).
    pub object: String,
    /// The exemption.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// An exemption with a problem.
#[derive(Debug, Clone, Serialize)]
pub struct NoteRow {
    /// The exemption (code).
    pub source: String,
    /// The problem.
    pub message: String,
}

/// What `--baseline` hid.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineView {
    /// The baseline file (code).
    pub file: String,
    /// Findings hidden.
    pub hidden: usize,
    /// Written by an older release.
    pub legacy: bool,
    /// Entries that match nothing.
    pub stale: Vec<StaleRow>,
}

/// A baseline entry that matches nothing.
#[derive(Debug, Clone, Serialize)]
pub struct StaleRow {
    /// Rule id.
    pub rule: String,
    /// Object (code).
    pub object: String,
    /// Field (code).
    pub path: String,
    /// Fingerprint (code).
    pub fingerprint: String,
}

/// `Critical`, `High`, ….
#[must_use]
pub fn severity_title(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Info => "Info",
    }
}

fn area_order(a: Area) -> (u8, Area) {
    // Live failures first: they are happening now.
    (u8::from(a != Area::Diagnosis), a)
}

fn priority_of(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "p1",
        Severity::Medium => "p2",
        Severity::Low | Severity::Info => "p3",
    }
}

/// `file:line` (or the file); `context NAME` for live and snapshot objects; else the field path.
#[must_use]
pub fn location_of(f: &Finding) -> Loc {
    let loc = &f.location;
    match (&loc.file, loc.line, &f.object.context) {
        (Some(file), Some(line), _) => Loc { context: false, text: format!("{file}:{line}") },
        (Some(file), None, _) => Loc { context: false, text: file.clone() },
        (None, _, Some(context)) => Loc { context: true, text: context.clone() },
        (None, _, None) => Loc { context: false, text: loc.path.clone() },
    }
}

/// Formats numbers with at most three decimals, trailing zeros dropped.
fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl FindingView {
    /// The view of one finding.
    #[must_use]
    pub fn of(f: &Finding) -> FindingView {
        let mut evidence: Vec<EvidenceView> =
            f.evidence.iter().map(|e| EvidenceView { path: e.path.clone(), value: Some(e.value.clone()) }).collect();
        if evidence.is_empty() {
            evidence.push(EvidenceView { path: f.location.path.clone(), value: None });
        }
        FindingView {
            id: f.fingerprint.clone(),
            rule: f.rule.to_string(),
            name: f.name.to_string(),
            severity: f.severity.as_str(),
            severity_title: severity_title(f.severity),
            area: f.area.as_str(),
            object: f.object.to_string(),
            location: location_of(f),
            path: f.location.path.clone(),
            message_inline: f.message.clone(),
            evidence,
            fix: f.fix.as_ref().map(|fix| FixView::of(f, fix)),
            manifest: f.manifest.as_deref().map(ManifestView::of),
        }
    }
}

impl FixView {
    fn of(f: &Finding, fix: &crate::model::Fix) -> FixView {
        let command = match (&fix.edit_error, &f.location.file) {
            (None, Some(file)) if fix.applicability != Applicability::DisplayOnly => {
                let unsafe_flag = if fix.applicability == Applicability::Unsafe { " --unsafe" } else { "" };
                Some(format!("clustergpt fix {file} --select {}{unsafe_flag}", f.rule))
            }
            _ => None,
        };
        let (kubectl, refused_inline) = match fix.patch.as_ref() {
            Some(p) => match (&p.kubectl, &p.refused) {
                (Some(k), _) if !k.contains('\n') => (Some(k.clone()), None),
                (_, Some(why)) => (None, Some(why.clone())),
                _ => (None, None),
            },
            None => (None, None),
        };
        FixView {
            applicability: applicability_name(fix.applicability),
            title_inline: fix.title.to_string(),
            cost: f.cost.as_ref().map(|c| signed_money(&c.currency, c.monthly_delta)),
            note_inline: fix.note.as_deref().map(str::to_string),
            edit_error: fix.edit_error.clone(),
            command,
            kubectl,
            refused_inline,
            json_patch: (fix.patch.is_none() && !fix.ops.is_empty() && f.location.file.is_none())
                .then(|| serde_json::to_string(&fix.ops).unwrap_or_default()),
        }
    }
}

impl DiagnosisView {
    fn of(f: &Finding) -> Option<DiagnosisView> {
        let d = f.diagnosis.as_ref()?;
        let ev = |e: &crate::model::Evidence| EvidenceView { path: e.path.clone(), value: Some(e.value.clone()) };
        Some(DiagnosisView {
            id: f.fingerprint.clone(),
            rule: f.rule.to_string(),
            severity: f.severity.as_str(),
            class: d.class.clone(),
            object: f.object.to_string(),
            location: location_of(f),
            summary: d.summary.clone(),
            since: d.since.clone(),
            count: d.count,
            manifest: d.manifest.as_deref().map(ManifestView::of),
            hypotheses: d
                .hypotheses
                .iter()
                .map(|h| HypothesisView {
                    cause: h.cause.clone(),
                    confidence: h.confidence.as_str(),
                    subclass: h.subclass.clone(),
                    evidence: h.evidence.iter().map(ev).collect(),
                })
                .collect(),
            narrative: None,
        })
    }

    /// With the explainer's narrative of this diagnosis, if there is one.
    fn narrated(mut self, e: Option<&crate::audit::Explanation>) -> DiagnosisView {
        self.narrative = e.and_then(|e| e.diagnoses.iter().find(|n| n.finding_id == self.id)).map(|n| NarrativeView {
            text: n.narrative.clone(),
            model: (n.source != "template").then(|| n.source.clone()),
        });
        self
    }
}

/// Workload identity as cost rows name it.
fn workload_key(f: &Finding) -> (String, String, String) {
    let ns = f.object.namespace.clone().unwrap_or_else(|| "default".to_string());
    (f.object.kind.clone(), ns, f.object.name.clone())
}

impl Report {
    /// The report of an audit.
    #[must_use]
    pub fn of(audit: &Audit) -> Report {
        let s = &audit.summary;
        let findings: Vec<FindingView> = audit.findings.iter().map(FindingView::of).collect();
        let mut by_severity: Vec<usize> = (0..audit.findings.len()).collect();
        // Stable: equal severities keep the audit's file/line order.
        by_severity.sort_by_key(|i| std::cmp::Reverse(audit.findings[*i].severity));
        let (actions, from_explainer) = match &audit.explanation {
            Some(e) if !e.sre_actions.is_empty() => (explainer_actions(audit, e), true),
            _ => (derived_actions(audit), false),
        };
        let cost = CostView::of(&audit.cost);
        let currency = audit.cost.currency.as_str();
        let at_risk = cost.as_ref().map(|_| {
            let risky: BTreeSet<(String, String, String)> =
                audit.findings.iter().filter(|f| f.severity >= Severity::High).map(workload_key).collect();
            let total: f64 = audit
                .cost
                .workloads
                .iter()
                .filter(|w| risky.contains(&(w.kind.clone(), w.namespace.clone(), w.name.clone())))
                .map(|w| w.monthly)
                .sum();
            money(currency, total)
        });
        let deltas: Vec<f64> = audit
            .findings
            .iter()
            .filter(|f| f.fix.is_some())
            .filter_map(|f| f.cost.as_ref())
            .map(|c| c.monthly_delta)
            .collect();
        let area_counts = |area: Area| -> Vec<Count> {
            Severity::ALL
                .iter()
                .map(|sev| Count {
                    name: severity_title(*sev).to_string(),
                    key: sev.as_str().to_string(),
                    count: audit.findings.iter().filter(|f| f.area == area && f.severity == *sev).count(),
                })
                .collect()
        };
        let executive = Executive {
            findings: s.findings,
            objects: s.objects,
            risk_score: s.risk_score,
            risk_meaning: crate::audit::risk_meaning(s.risk_score),
            top_severity: audit.findings.iter().map(|f| f.severity).max().map_or("none", Severity::as_str),
            severities: Severity::ALL
                .iter()
                .map(|sev| Count {
                    name: severity_title(*sev).to_string(),
                    key: sev.as_str().to_string(),
                    count: s.by_severity.get(sev).copied().unwrap_or(0),
                })
                .collect(),
            areas: s
                .by_area
                .iter()
                .map(|(a, n)| Count { name: a.to_string(), key: a.to_string(), count: *n })
                .collect(),
            area_severity: s
                .by_area
                .keys()
                .map(|a| AreaSeverity { area: a.to_string(), counts: area_counts(*a) })
                .collect(),
            monthly: cost.as_ref().map(|c| c.total.clone()),
            monthly_max: cost.as_ref().and_then(|c| c.total_max.clone()),
            at_risk,
            fix_delta: (!deltas.is_empty()).then(|| signed_money(currency, deltas.iter().sum())),
            first: actions.iter().take(FIRST).cloned().collect(),
            explanation: audit.explanation.as_ref().map(|e| ExplanationView {
                model: (e.source != "template").then(|| e.source.clone()),
                reason: e.reason.clone(),
                cto_summary: e.cto_summary.clone(),
                exec_summary: e.exec_summary.clone(),
            }),
        };
        Report {
            title: "ClusterGPT audit".to_string(),
            subject: crate::report::read_from(s),
            executive,
            actions,
            actions_from_explainer: from_explainer,
            diagnoses: by_severity
                .iter()
                .filter_map(|i| DiagnosisView::of(&audit.findings[*i]))
                .map(|d| d.narrated(audit.explanation.as_ref()))
                .collect(),
            details: details(audit, &findings),
            top: by_severity.iter().take(TOP).map(|i| findings[*i].clone()).collect(),
            findings,
            architecture: ArchitectureView {
                objects: s.objects,
                namespaces: audit.architecture.namespaces.clone(),
                kinds: counts(&audit.architecture.kinds),
                relations: counts(&audit.architecture.relations),
            },
            cost,
            not_evaluated: audit
                .not_evaluated
                .iter()
                .map(|g| GapView {
                    context: g.context.clone(),
                    resource: g.resource.clone(),
                    reason: g.reason.clone(),
                    message: g.message.clone(),
                    rules: if g.rules.is_empty() {
                        "none of the rules that ran".to_string()
                    } else {
                        g.rules.join(", ")
                    },
                })
                .collect(),
            inputs: inputs(audit),
            remediation: audit.remediation.clone(),
        }
    }
}

fn counts(m: &BTreeMap<String, usize>) -> Vec<Count> {
    m.iter().map(|(name, count)| Count { name: name.clone(), key: name.clone(), count: *count }).collect()
}

/// Every finding by area (diagnosis first), then object in the audit's order, most severe first.
fn details(audit: &Audit, views: &[FindingView]) -> Vec<AreaGroup> {
    let mut areas: BTreeMap<(u8, Area), Vec<ObjectGroup>> = BTreeMap::new();
    let mut index: BTreeMap<(Area, String, String), usize> = BTreeMap::new();
    for (f, v) in audit.findings.iter().zip(views) {
        let source = crate::report::source_label(f);
        let groups = areas.entry(area_order(f.area)).or_default();
        let at = *index.entry((f.area, v.object.clone(), source.clone())).or_insert_with(|| {
            groups.push(ObjectGroup { object: v.object.clone(), source, findings: Vec::new() });
            groups.len() - 1
        });
        groups[at].findings.push(v.clone());
    }
    areas
        .into_iter()
        .map(|((_, area), mut objects)| {
            for o in &mut objects {
                o.findings.sort_by_key(|f| std::cmp::Reverse(Severity::parse(f.severity)));
            }
            AreaGroup { area: area.to_string(), count: objects.iter().map(|o| o.findings.len()).sum(), objects }
        })
        .collect()
}

fn finding_ref(f: &Finding) -> FindingRef {
    FindingRef { id: f.fingerprint.clone(), rule: f.rule.to_string(), object: f.object.to_string() }
}

fn cost_effect(findings: &[&Finding], currency: &str) -> Option<String> {
    let deltas: Vec<f64> = findings.iter().filter_map(|f| f.cost.as_ref()).map(|c| c.monthly_delta).collect();
    (!deltas.is_empty()).then(|| signed_money(currency, deltas.iter().sum()))
}

/// The explainer's actions, with the findings they cite resolved to rule and object.
fn explainer_actions(audit: &Audit, e: &crate::audit::Explanation) -> Vec<Action> {
    let by_id: BTreeMap<&str, &Finding> = audit.findings.iter().map(|f| (f.fingerprint.as_str(), f)).collect();
    e.sre_actions
        .iter()
        .map(|a| {
            let cited: Vec<&Finding> = a.finding_ids.iter().filter_map(|id| by_id.get(id.as_str()).copied()).collect();
            // Every id the answer cites (the explainer validated them against the findings).
            let refs = a
                .finding_ids
                .iter()
                .map(|id| {
                    by_id.get(id.as_str()).map_or_else(
                        || FindingRef { id: id.clone(), rule: String::new(), object: String::new() },
                        |f| finding_ref(f),
                    )
                })
                .collect();
            Action {
                priority: a.priority.clone(),
                severity: cited.iter().map(|f| f.severity).max().unwrap_or(Severity::Info).as_str().to_string(),
                title_inline: a.action.clone(),
                findings: refs,
                commands: a.command.iter().cloned().collect(),
                more_commands: 0,
                cost: cost_effect(&cited, &audit.cost.currency),
            }
        })
        .collect()
}

/// One action per rule: its findings, the `clustergpt fix` command for the files, the `kubectl`
/// commands for live objects; most severe first, then the most findings.
fn derived_actions(audit: &Audit) -> Vec<Action> {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &audit.findings {
        by_rule.entry(f.rule.as_ref()).or_default().push(f);
    }
    let mut actions: Vec<(Severity, usize, Action)> = by_rule
        .into_iter()
        .map(|(rule, fs)| {
            let severity = fs.iter().map(|f| f.severity).max().unwrap_or(Severity::Info);
            let first = fs[0];
            let titles: BTreeSet<&str> = fs.iter().filter_map(|f| f.fix.as_ref()).map(|x| x.title.as_ref()).collect();
            let what = match (titles.len(), fs.len()) {
                (1, 1) => titles.iter().next().map_or_else(|| first.message.clone(), |t| (*t).to_string()),
                (_, 1) => first.message.clone(),
                (1, n) if fs.iter().all(|f| f.fix.is_some()) => {
                    format!("{} ({n} objects)", titles.iter().next().copied().unwrap_or_default())
                }
                (0, n) => format!("Review {n} objects: {}", first.message),
                (_, n) => format!("Apply the fixes on {n} objects"),
            };
            let title = format!("{rule} {}: {what}", first.name);
            let editable: Vec<&Finding> = fs
                .iter()
                .copied()
                .filter(|f| {
                    f.location.file.is_some()
                        && f.fix
                            .as_ref()
                            .is_some_and(|x| x.edit_error.is_none() && x.applicability != Applicability::DisplayOnly)
                })
                .collect();
            let mut commands = Vec::new();
            if !editable.is_empty() {
                let files: BTreeSet<&str> = editable.iter().filter_map(|f| f.location.file.as_deref()).collect();
                let needs_unsafe =
                    editable.iter().any(|f| f.fix.as_ref().is_some_and(|x| x.applicability == Applicability::Unsafe));
                let files: Vec<&str> = files.into_iter().collect();
                commands.push(format!(
                    "clustergpt fix {} --select {rule}{}",
                    files.join(" "),
                    if needs_unsafe { " --unsafe" } else { "" }
                ));
            }
            let kubectl: BTreeSet<&str> = fs
                .iter()
                .filter(|f| f.location.file.is_none())
                .filter_map(|f| f.fix.as_ref()?.patch.as_ref()?.kubectl.as_deref())
                .filter(|k| !k.contains('\n'))
                .collect();
            commands.extend(kubectl.into_iter().map(str::to_string));
            let more_commands = commands.len().saturating_sub(MAX_COMMANDS);
            commands.truncate(MAX_COMMANDS);
            let fixed: Vec<&Finding> = fs.iter().copied().filter(|f| f.fix.is_some()).collect();
            let action = Action {
                priority: priority_of(severity).to_string(),
                severity: severity.as_str().to_string(),
                title_inline: title,
                findings: fs.iter().map(|f| finding_ref(f)).collect(),
                commands,
                more_commands,
                cost: cost_effect(&fixed, &audit.cost.currency),
            };
            (severity, fs.len(), action)
        })
        .collect();
    // Stable on the rule order: most severe, then most findings.
    actions.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    actions.into_iter().map(|(_, _, a)| a).collect()
}

impl CostView {
    fn of(c: &crate::cost::CostReport) -> Option<CostView> {
        if c.workloads.is_empty() && c.unpriced.is_empty() {
            return None;
        }
        let m = |v: f64| money(&c.currency, v);
        let range = |lo: f64, hi: f64| if hi == lo { m(lo) } else { format!("{}–{}", m(lo), m(hi)) };
        Some(CostView {
            total: m(c.monthly_total),
            total_max: (c.monthly_total_max != c.monthly_total).then(|| m(c.monthly_total_max)),
            currency: c.currency.clone(),
            hours: num(c.hours_per_month),
            namespaces: c
                .namespaces
                .iter()
                .map(|n| CostNamespaceRow {
                    namespace: n.namespace.clone(),
                    monthly: range(n.monthly, n.monthly_max),
                    value: n.monthly,
                })
                .collect(),
            workloads: c
                .workloads
                .iter()
                .map(|w| CostRow {
                    object: format!("{}/{}/{}", w.kind, w.namespace, w.name),
                    pods: match (w.replicas, w.replicas_max) {
                        (Some(r), Some(x)) => format!("{r}–{x}"),
                        (Some(r), None) => r.to_string(),
                        _ => String::new(),
                    },
                    cpu: if w.replicas.is_some() { num(w.cpu) } else { String::new() },
                    memory: if w.replicas.is_some() { format!("{} GiB", num(w.memory_gib)) } else { String::new() },
                    storage: if w.storage_gib > 0.0 { format!("{} GiB", num(w.storage_gib)) } else { String::new() },
                    monthly: range(w.monthly, w.monthly_max),
                    assumptions_inline: w.assumptions.clone(),
                })
                .collect(),
            assumptions_inline: c.assumptions.clone(),
            unpriced: unpriced_rows(&c.unpriced),
            nodes: c
                .nodes
                .iter()
                .map(|n| NodeRow {
                    node: n.name.clone(),
                    context: n.context.clone().unwrap_or_default(),
                    instance: n.instance_type.clone().unwrap_or_default(),
                    cpu: format!("{} / {}", num(n.cpu_requested), num(n.cpu_allocatable)),
                    memory: format!("{} / {} GiB", num(n.memory_requested_gib), num(n.memory_allocatable_gib)),
                    pods: n.pods,
                    monthly: m(n.monthly),
                    idle: m(n.idle_monthly),
                    cpu_values: (n.cpu_requested, n.cpu_allocatable, n.cpu_used),
                })
                .collect(),
            usage_inline: c
                .clusters
                .iter()
                .filter_map(|k| k.metrics.clone())
                .chain(c.usage_history.iter().map(|h| h.note.clone()))
                .collect(),
        })
    }
}

fn inputs(audit: &Audit) -> Inputs {
    let s = &audit.summary;
    Inputs {
        read_from: crate::report::read_from(s),
        files: s.files,
        contexts: s.contexts.clone(),
        rules_run: audit.rules_run.len(),
        errors: audit
            .errors
            .iter()
            .map(|e| {
                let at = match (e.line, e.column) {
                    (Some(l), Some(c)) => format!("{}:{l}:{c}", e.source),
                    (Some(l), None) => format!("{}:{l}", e.source),
                    _ => e.source.clone(),
                };
                ErrorRow { location: at, message: e.message.clone() }
            })
            .collect(),
        internal_errors: audit
            .internal_errors
            .iter()
            .map(|e| InternalRow {
                rule: e.rule.clone(),
                object: e.object.to_string(),
                location: match (&e.location.file, e.location.line, &e.object.context) {
                    (Some(file), Some(line), _) => Some(Loc { context: false, text: format!("{file}:{line}") }),
                    (Some(file), None, _) => Some(Loc { context: false, text: file.clone() }),
                    (None, _, Some(context)) => Some(Loc { context: true, text: context.clone() }),
                    (None, _, None) => None,
                },
                message: e.message.clone(),
            })
            .collect(),
        skipped: audit
            .skipped
            .iter()
            .map(|k| SkippedRow {
                location: k.line.map_or_else(|| k.source.clone(), |l| format!("{}:{l}", k.source)),
                document: k.document.map(|d| d.to_string()).unwrap_or_default(),
                reason: k.reason.clone(),
            })
            .collect(),
        suppressed: audit
            .suppressed
            .iter()
            .map(|x| SuppressedRow {
                rule: x.rule.clone(),
                object: x.object.to_string(),
                by: x.by.clone(),
                reason: x.reason.clone(),
            })
            .collect(),
        exemption_notes: audit
            .exemption_notes
            .iter()
            .map(|n| NoteRow { source: n.source.clone(), message: n.message.clone() })
            .collect(),
        baseline: audit.baseline.as_ref().map(|b| BaselineView {
            file: b.file.clone(),
            hidden: b.hidden,
            legacy: b.legacy_format,
            stale: b
                .stale
                .iter()
                .map(|e| StaleRow {
                    rule: e.rule.clone(),
                    object: e.object.clone(),
                    path: e.path.clone(),
                    fingerprint: e.fingerprint.clone(),
                })
                .collect(),
        }),
    }
}

/// The diff report: verdict, gates, cost delta per workload, new and resolved findings.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Document title.
    pub title: String,
    /// Base label (code).
    pub base: String,
    /// Head label (code).
    pub head: String,
    /// One line on cost and findings.
    pub verdict: String,
    /// ISO currency.
    pub currency: String,
    /// Hours per month.
    pub hours: String,
    /// Base monthly cost.
    pub base_monthly: String,
    /// Head monthly cost.
    pub head_monthly: String,
    /// Signed change.
    pub delta: String,
    /// Signed percentage, or `-`.
    pub percent: String,
    /// Gates.
    pub gates: Vec<GateView>,
    /// Workloads whose cost changed, largest change first.
    pub changed: Vec<DeltaRow>,
    /// Every priced workload, before and after (in the cost report's order).
    pub workloads: Vec<DeltaRow>,
    /// New findings.
    pub new: Vec<FindingView>,
    /// Resolved findings.
    pub resolved: Vec<FindingView>,
    /// Findings in base.
    pub base_findings: usize,
    /// Findings in head.
    pub head_findings: usize,
    /// Findings in both.
    pub unchanged: usize,
    /// Assumptions (`backticked` parts are code).
    pub assumptions_inline: Vec<String>,
    /// Objects of the head not priced.
    pub unpriced: Vec<UnpricedRow>,
    /// Inputs of the head that could not be read.
    pub head_errors: Vec<ErrorRow>,
    /// Inputs of the base that could not be read.
    pub base_errors: Vec<ErrorRow>,
}

/// A gate's result.
#[derive(Debug, Clone, Serialize)]
pub struct GateView {
    /// Name.
    pub name: String,
    /// Passed.
    pub passed: bool,
    /// Why.
    pub reason: String,
}

/// One workload's cost change.
#[derive(Debug, Clone, Serialize)]
pub struct DeltaRow {
    /// `Kind/namespace/name` (code).
    pub object: String,
    /// `added`, `removed`, `changed`.
    pub status: &'static str,
    /// Base monthly, or `-`.
    pub base: String,
    /// Head monthly, or `-`.
    pub head: String,
    /// Signed change.
    pub delta: String,
    /// Signed percentage, or `-`.
    pub percent: String,
    /// The change as a number, for charts.
    pub value: f64,
}

impl DiffReport {
    /// The report of a diff.
    #[must_use]
    pub fn of(d: &Diff) -> DiffReport {
        let c = &d.cost;
        let cur = c.currency.as_str();
        let ctx = &d.context;
        let label = |l: &str, fallback: &str| if l.is_empty() { fallback.to_string() } else { l.to_string() };
        let errors = |list: &[crate::source::InputError]| -> Vec<ErrorRow> {
            list.iter()
                .map(|e| ErrorRow {
                    location: match (e.line, e.column) {
                        (Some(l), Some(c)) => format!("{}:{l}:{c}", e.source),
                        (Some(l), None) => format!("{}:{l}", e.source),
                        _ => e.source.clone(),
                    },
                    message: e.message.clone(),
                })
                .collect()
        };
        let delta = |w: &crate::diff::WorkloadDelta| DeltaRow {
            object: format!("{}/{}/{}", w.kind, w.namespace, w.name),
            status: w.status.as_str(),
            base: if w.status == Status::Added { "-".to_string() } else { money(cur, w.baseline_monthly) },
            head: if w.status == Status::Removed { "-".to_string() } else { d.head_text(w) },
            delta: signed_money(cur, w.delta_monthly),
            percent: w.delta_percent.map_or_else(|| "-".to_string(), percent_text),
            value: w.delta_monthly,
        };
        let mut new: Vec<&Finding> = d.new.iter().collect();
        new.sort_by_key(|f| std::cmp::Reverse(f.severity));
        DiffReport {
            title: "ClusterGPT diff".to_string(),
            base: label(&ctx.base_label, "base"),
            head: label(&ctx.head_label, "head"),
            verdict: d.verdict(),
            currency: c.currency.clone(),
            hours: num(ctx.hours_per_month),
            base_monthly: money(cur, c.baseline_monthly),
            head_monthly: money(cur, c.head_monthly),
            delta: signed_money(cur, c.delta_monthly),
            percent: c.delta_percent.map_or_else(|| "-".to_string(), percent_text),
            gates: d
                .gates
                .iter()
                .map(|g| GateView { name: g.name.clone(), passed: g.passed, reason: g.reason.clone() })
                .collect(),
            changed: d.changed_workloads().into_iter().map(delta).collect(),
            workloads: c.workloads.iter().map(delta).collect(),
            new: new.into_iter().map(FindingView::of).collect(),
            resolved: d.resolved.iter().map(FindingView::of).collect(),
            base_findings: ctx.base_findings,
            head_findings: ctx.head_findings,
            unchanged: d.unchanged,
            assumptions_inline: ctx.assumptions.clone(),
            unpriced: unpriced_rows(&ctx.unpriced),
            head_errors: errors(&ctx.head_errors),
            base_errors: errors(&ctx.base_errors),
        }
    }
}
