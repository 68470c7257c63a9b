//! Markdown report through handlebars templates (`templates/report.md.hbs`).
//!
//! Everything a manifest controls (names, messages, evidence, paths) is escaped: the template's
//! `{{value}}` goes through [`escape`] (Markdown and HTML neutralized, table-safe, one line), and the
//! view fields ending in `_md` are fragments built here with [`code`] and [`fenced`]. So a manifest
//! can neither inject HTML, mention people, nor break a table or a list.

use std::collections::BTreeMap;

use handlebars::{Handlebars, handlebars_helper};
use serde::Serialize;
use serde_json::Value;

use crate::audit::Audit;
use crate::model::{Finding, FixOp, Severity};
use crate::report::applicability_name;

const TEMPLATE: &str = include_str!("templates/report.md.hbs");

/// How many findings the "Top findings" table shows.
pub const TOP: usize = 10;

/// Renders the Markdown report.
///
/// # Errors
/// When the template fails to render.
pub fn render(audit: &Audit) -> anyhow::Result<String> {
    render_template(TEMPLATE, &View::of(audit))
}

/// Renders a Markdown handlebars template with our escaping and helpers, then squeezes the blank
/// lines conditional sections leave behind (Markdown needs at most one) and ends with one newline.
///
/// # Errors
/// When the template fails to render.
pub fn render_template(template: &str, data: &impl Serialize) -> anyhow::Result<String> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(escape);
    hb.register_helper("plural", Box::new(plural));
    hb.register_template_string("t", template)?;
    let mut out = hb.render("t", data)?;
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    Ok(out)
}

handlebars_helper!(plural: |n: u64, word: str| format!("{n} {word}{}", if n == 1 { "" } else { "s" }));

#[derive(Serialize)]
struct Count {
    name: String,
    count: usize,
}

#[derive(Serialize)]
struct View {
    files: usize,
    read_from: String,
    objects: usize,
    findings: usize,
    risk_score: u32,
    risk_meaning: &'static str,
    rules_run: usize,
    severities: Vec<Count>,
    areas: Vec<Count>,
    kinds: Vec<Count>,
    relations: Vec<Count>,
    namespaces_md: String,
    namespace_count: usize,
    top: Vec<TopRow>,
    diagnoses: Vec<DiagnosisView>,
    groups: Vec<Group>,
    errors: Vec<ErrorRow>,
    internal_errors: Vec<InternalRow>,
    not_evaluated: Vec<GapRow>,
    skipped: Vec<SkippedRow>,
    suppressed: Vec<SuppressedRow>,
    exemption_notes: Vec<NoteRow>,
    cost: Option<CostView>,
    baseline: Option<BaselineView>,
    explanation: Option<ExplanationView>,
    remediation_md: Option<String>,
}

/// `analyze --explain`: the narrative, who wrote it, and its actions.
#[derive(Serialize)]
struct ExplanationView {
    source_md: String,
    reason: Option<String>,
    exec_summary: String,
    cto_summary: String,
    actions: Vec<ActionView>,
}

#[derive(Serialize)]
struct ActionView {
    priority: String,
    action: String,
    findings_md: String,
    command_md: Option<String>,
}

impl ExplanationView {
    fn of(e: &crate::audit::Explanation) -> ExplanationView {
        let source_md = if e.source == "template" {
            "the built-in template".to_string()
        } else {
            format!("model {}", code(&e.source, false))
        };
        ExplanationView {
            source_md,
            reason: e.reason.clone(),
            exec_summary: e.exec_summary.clone(),
            cto_summary: e.cto_summary.clone(),
            actions: e
                .sre_actions
                .iter()
                .map(|a| ActionView {
                    priority: a.priority.clone(),
                    action: a.action.clone(),
                    findings_md: a.finding_ids.iter().map(|id| code(id, false)).collect::<Vec<_>>().join(", "),
                    command_md: a.command.as_deref().map(|c| fenced("sh", c)),
                })
                .collect(),
        }
    }
}

/// A cluster resource type that could not be read, and the rules it leaves unevaluated.
#[derive(Serialize)]
struct GapRow {
    context_md: String,
    resource_md: String,
    reason: String,
    message: String,
    rules: String,
}

#[derive(Serialize)]
struct CostView {
    total: String,
    total_max: Option<String>,
    currency: String,
    hours: String,
    namespaces: Vec<CostNamespaceRow>,
    workloads: Vec<CostRow>,
    assumptions_md: Vec<String>,
    unpriced: Vec<UnpricedRow>,
    nodes: Vec<NodeRow>,
}

/// One node of a live cluster.
#[derive(Serialize)]
struct NodeRow {
    node_md: String,
    context_md: String,
    instance_md: String,
    cpu: String,
    memory: String,
    pods: u64,
    monthly: String,
    idle: String,
}

#[derive(Serialize)]
struct CostNamespaceRow {
    namespace_md: String,
    monthly: String,
}

#[derive(Serialize)]
struct CostRow {
    object_md: String,
    pods: String,
    cpu: String,
    memory: String,
    storage: String,
    monthly: String,
    assumptions_md: String,
}

#[derive(Serialize)]
struct UnpricedRow {
    object_md: String,
    reason_md: String,
}

#[derive(Serialize)]
struct BaselineView {
    file_md: String,
    hidden: usize,
    legacy: bool,
    stale: Vec<StaleRow>,
}

#[derive(Serialize)]
struct StaleRow {
    rule: String,
    object_md: String,
    path_md: String,
    fingerprint_md: String,
}

#[derive(Serialize)]
struct TopRow {
    severity: &'static str,
    rule_md: String,
    object_md: String,
    location_md: String,
    message_md: String,
}

#[derive(Serialize)]
struct Group {
    title: &'static str,
    count: usize,
    findings: Vec<FindingView>,
}

/// One finding: a table row, and one line of evidence and fix under the table.
#[derive(Serialize)]
struct FindingView {
    rule: String,
    rule_md: String,
    object_md: String,
    location_md: String,
    message_md: String,
    fix_cell_md: String,
    evidence_md: String,
    fix_md: Option<String>,
}

#[derive(Serialize)]
struct DiagnosisView {
    rule: String,
    severity: &'static str,
    class_md: String,
    object_md: String,
    location_md: String,
    summary: String,
    since_md: Option<String>,
    count: u64,
    manifest_md: Option<String>,
    hypotheses: Vec<HypothesisView>,
}

#[derive(Serialize)]
struct HypothesisView {
    cause: String,
    confidence: &'static str,
    subclass_md: Option<String>,
    evidence: Vec<EvidenceRow>,
}

impl DiagnosisView {
    fn of(f: &Finding) -> Option<DiagnosisView> {
        let d = f.diagnosis.as_ref()?;
        Some(DiagnosisView {
            rule: f.rule.clone(),
            severity: f.severity.as_str(),
            class_md: code(&d.class, false),
            object_md: code(&f.object.to_string(), false),
            location_md: location(f, false),
            summary: d.summary.clone(),
            since_md: d.since.as_deref().map(|t| code(t, false)),
            count: d.count,
            manifest_md: d.manifest.as_ref().map(|m| {
                let at = match (&m.location.file, m.location.line) {
                    (Some(file), Some(line)) => code(&format!("{file}:{line}"), false),
                    (Some(file), None) => code(file, false),
                    (None, _) => code(&m.object.to_string(), false),
                };
                match &m.fix {
                    Some(f) => format!("{at}, fix ({}): {}", applicability_name(f.applicability), escape(&f.title)),
                    None => at,
                }
            }),
            hypotheses: d
                .hypotheses
                .iter()
                .map(|h| HypothesisView {
                    cause: h.cause.clone(),
                    confidence: h.confidence.as_str(),
                    subclass_md: h.subclass.as_deref().map(|x| code(x, false)),
                    evidence: h
                        .evidence
                        .iter()
                        .map(|e| EvidenceRow { path_md: code(&e.path, false), value_md: code(&e.value, false) })
                        .collect(),
                })
                .collect(),
        })
    }
}

#[derive(Serialize)]
struct EvidenceRow {
    path_md: String,
    value_md: String,
}

#[derive(Serialize)]
struct ErrorRow {
    location_md: String,
    message: String,
}

#[derive(Serialize)]
struct InternalRow {
    rule: String,
    object_md: String,
    location_md: String,
    message: String,
}

#[derive(Serialize)]
struct SkippedRow {
    location_md: String,
    document: String,
    reason: String,
}

#[derive(Serialize)]
struct SuppressedRow {
    rule: String,
    object_md: String,
    by: String,
    reason: String,
}

#[derive(Serialize)]
struct NoteRow {
    source_md: String,
    message: String,
}

impl View {
    fn of(audit: &Audit) -> View {
        let s = &audit.summary;
        let counts = |m: &BTreeMap<String, usize>| -> Vec<Count> {
            m.iter().map(|(name, count)| Count { name: name.clone(), count: *count }).collect()
        };
        let namespaces: Vec<String> = audit.architecture.namespaces.iter().map(|n| code(n, false)).collect();
        let mut by_severity: Vec<&Finding> = audit.findings.iter().collect();
        // Stable: equal severities keep the audit's file/line order.
        by_severity.sort_by_key(|f| std::cmp::Reverse(f.severity));
        View {
            files: s.files,
            read_from: crate::report::read_from(s),
            objects: s.objects,
            findings: s.findings,
            risk_score: s.risk_score,
            risk_meaning: crate::audit::risk_meaning(s.risk_score),
            rules_run: audit.rules_run.len(),
            severities: Severity::ALL
                .iter()
                .map(|sev| Count { name: title(*sev).to_string(), count: s.by_severity.get(sev).copied().unwrap_or(0) })
                .collect(),
            areas: s.by_area.iter().map(|(a, n)| Count { name: a.to_string(), count: *n }).collect(),
            kinds: counts(&audit.architecture.kinds),
            relations: counts(&audit.architecture.relations),
            namespace_count: namespaces.len(),
            namespaces_md: namespaces.join(", "),
            diagnoses: by_severity.iter().filter_map(|f| DiagnosisView::of(f)).collect(),
            top: by_severity
                .iter()
                .take(TOP)
                .map(|f| TopRow {
                    severity: title(f.severity),
                    rule_md: format!("{} {}", f.rule, code(&f.name, true)),
                    object_md: code(&f.object.to_string(), true),
                    location_md: location(f, true),
                    message_md: inline(&f.message, true),
                })
                .collect(),
            groups: Severity::ALL
                .iter()
                .filter_map(|sev| {
                    let findings: Vec<FindingView> =
                        audit.findings.iter().filter(|f| f.severity == *sev).map(FindingView::of).collect();
                    (!findings.is_empty()).then(|| Group { title: title(*sev), count: findings.len(), findings })
                })
                .collect(),
            errors: audit
                .errors
                .iter()
                .map(|e| {
                    let at = match (e.line, e.column) {
                        (Some(l), Some(c)) => format!("{}:{l}:{c}", e.source),
                        (Some(l), None) => format!("{}:{l}", e.source),
                        _ => e.source.clone(),
                    };
                    ErrorRow { location_md: code(&at, true), message: e.message.clone() }
                })
                .collect(),
            internal_errors: audit
                .internal_errors
                .iter()
                .map(|e| InternalRow {
                    rule: e.rule.clone(),
                    object_md: code(&e.object.to_string(), true),
                    location_md: match (&e.location.file, e.location.line, &e.object.context) {
                        (Some(file), Some(line), _) => code(&format!("{file}:{line}"), true),
                        (Some(file), None, _) => code(file, true),
                        (None, _, Some(context)) => format!("context {}", code(context, true)),
                        (None, _, None) => String::new(),
                    },
                    message: e.message.clone(),
                })
                .collect(),
            not_evaluated: audit
                .not_evaluated
                .iter()
                .map(|g| GapRow {
                    context_md: code(&g.context, true),
                    resource_md: code(&g.resource, true),
                    reason: g.reason.clone(),
                    message: g.message.clone(),
                    rules: if g.rules.is_empty() {
                        "none of the rules that ran".to_string()
                    } else {
                        g.rules.join(", ")
                    },
                })
                .collect(),
            skipped: audit
                .skipped
                .iter()
                .map(|k| SkippedRow {
                    location_md: code(&k.line.map_or_else(|| k.source.clone(), |l| format!("{}:{l}", k.source)), true),
                    document: k.document.map(|d| d.to_string()).unwrap_or_default(),
                    reason: k.reason.clone(),
                })
                .collect(),
            suppressed: audit
                .suppressed
                .iter()
                .map(|x| SuppressedRow {
                    rule: x.rule.clone(),
                    object_md: code(&x.object.to_string(), true),
                    by: x.by.clone(),
                    reason: x.reason.clone(),
                })
                .collect(),
            exemption_notes: audit
                .exemption_notes
                .iter()
                .map(|n| NoteRow { source_md: code(&n.source, true), message: n.message.clone() })
                .collect(),
            cost: CostView::of(&audit.cost),
            explanation: audit.explanation.as_ref().map(ExplanationView::of),
            remediation_md: audit.remediation.as_ref().map(remediation_md),
            baseline: audit.baseline.as_ref().map(|b| BaselineView {
                file_md: code(&b.file, false),
                hidden: b.hidden,
                legacy: b.legacy_format,
                stale: b
                    .stale
                    .iter()
                    .map(|e| StaleRow {
                        rule: e.rule.clone(),
                        object_md: code(&e.object, true),
                        path_md: code(&e.path, true),
                        fingerprint_md: code(&e.fingerprint, true),
                    })
                    .collect(),
            }),
        }
    }
}

impl CostView {
    fn of(c: &crate::cost::CostReport) -> Option<CostView> {
        if c.workloads.is_empty() && c.unpriced.is_empty() {
            return None;
        }
        let m = |v: f64| crate::cost::money(&c.currency, v);
        let range = |lo: f64, hi: f64| if hi == lo { m(lo) } else { format!("{}–{}", m(lo), m(hi)) };
        let num = |v: f64| {
            let s = format!("{v:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        Some(CostView {
            nodes: c
                .nodes
                .iter()
                .map(|n| NodeRow {
                    node_md: code(&n.name, true),
                    context_md: n.context.as_deref().map(|x| code(x, true)).unwrap_or_default(),
                    instance_md: n.instance_type.as_deref().map(|x| code(x, true)).unwrap_or_default(),
                    cpu: format!("{} / {}", num(n.cpu_requested), num(n.cpu_allocatable)),
                    memory: format!("{} / {} GiB", num(n.memory_requested_gib), num(n.memory_allocatable_gib)),
                    pods: n.pods,
                    monthly: m(n.monthly),
                    idle: m(n.idle_monthly),
                })
                .collect(),
            total: m(c.monthly_total),
            total_max: (c.monthly_total_max != c.monthly_total).then(|| m(c.monthly_total_max)),
            currency: c.currency.clone(),
            hours: num(c.hours_per_month),
            namespaces: c
                .namespaces
                .iter()
                .map(|n| CostNamespaceRow {
                    namespace_md: code(&n.namespace, true),
                    monthly: range(n.monthly, n.monthly_max),
                })
                .collect(),
            workloads: c
                .workloads
                .iter()
                .map(|w| CostRow {
                    object_md: code(&format!("{}/{}/{}", w.kind, w.namespace, w.name), true),
                    pods: match (w.replicas, w.replicas_max) {
                        (Some(r), Some(x)) => format!("{r}–{x}"),
                        (Some(r), None) => r.to_string(),
                        _ => String::new(),
                    },
                    cpu: if w.replicas.is_some() { num(w.cpu) } else { String::new() },
                    memory: if w.replicas.is_some() { format!("{} GiB", num(w.memory_gib)) } else { String::new() },
                    storage: if w.storage_gib > 0.0 { format!("{} GiB", num(w.storage_gib)) } else { String::new() },
                    monthly: range(w.monthly, w.monthly_max),
                    assumptions_md: w
                        .assumptions
                        .iter()
                        .map(|a| crate::report::diff_md::escape_with_code(a, true))
                        .collect::<Vec<_>>()
                        .join("; "),
                })
                .collect(),
            assumptions_md: c.assumptions.iter().map(|a| crate::report::diff_md::escape_with_code(a, false)).collect(),
            unpriced: c
                .unpriced
                .iter()
                .map(|u| UnpricedRow {
                    object_md: code(
                        &match &u.namespace {
                            Some(ns) => format!("{}/{ns}/{}", u.kind, u.name),
                            None => format!("{}/{}", u.kind, u.name),
                        },
                        true,
                    ),
                    reason_md: crate::report::diff_md::escape_with_code(&u.reason, true),
                })
                .collect(),
        })
    }
}

impl FindingView {
    fn of(f: &Finding) -> FindingView {
        let mut evidence: Vec<String> =
            f.evidence.iter().map(|e| format!("{} = {}", code(&e.path, false), code(&e.value, false))).collect();
        if evidence.is_empty() {
            evidence.push(format!("field {}", code(&f.location.path, false)));
        }
        FindingView {
            rule: f.rule.clone(),
            rule_md: format!("{} {}", f.rule, code(&f.name, true)),
            object_md: code(&f.object.to_string(), true),
            location_md: location(f, true),
            message_md: inline(&f.message, true),
            fix_cell_md: f.fix.as_ref().map_or_else(String::new, |x| {
                format!("{}: {}", applicability_name(x.applicability), inline(&x.title, true))
            }),
            evidence_md: evidence.join("; "),
            fix_md: f.fix.as_ref().map(|fix| fix_line(f, fix)),
        }
    }
}

/// A fix on one line: what it does, its cost, and how to apply it (`clustergpt fix` for a file,
/// `kubectl patch` for a live object, or why Kubernetes would refuse the patch).
fn fix_line(f: &Finding, fix: &crate::model::Fix) -> String {
    let kind = applicability_name(fix.applicability);
    let mut s = format!("Fix ({kind}): {}", inline(&fix.title, false));
    if let Some(c) = &f.cost {
        let sign = if c.monthly_delta > 0.0 { "+" } else { "" };
        s.push_str(&format!(", {sign}{} per month", escape(&crate::cost::money(&c.currency, c.monthly_delta))));
    }
    if let Some(note) = &fix.note {
        s.push_str(&format!(" ({})", inline(note, false)));
    }
    if let Some(why) = &fix.edit_error {
        s.push_str(&format!("; not applied to the file automatically: {}", escape(why)));
    } else if let (Some(file), false) =
        (&f.location.file, fix.applicability == crate::model::Applicability::DisplayOnly)
    {
        let unsafe_flag = if fix.applicability == crate::model::Applicability::Unsafe { " --unsafe" } else { "" };
        s.push_str(&format!(": {}", code(&format!("clustergpt fix {file} --select {}{unsafe_flag}", f.rule), false)));
    }
    match fix.patch.as_ref() {
        Some(p) => match (&p.kubectl, &p.refused) {
            (Some(k), _) if !k.contains('\n') => s.push_str(&format!("; live: {}", code(k, false))),
            (_, Some(why)) => s.push_str(&format!("; live: {}", inline(why, false))),
            _ => {}
        },
        None if !fix.ops.is_empty() && f.location.file.is_none() => {
            s.push_str(&format!("; JSON patch: {}", code(&json_ops(&fix.ops), false)));
        }
        None => {}
    }
    s
}

/// A fix's operations as one-line RFC 6902 JSON.
fn json_ops(ops: &[crate::model::FixOp]) -> String {
    serde_json::to_string(ops).unwrap_or_default()
}

/// Text with `code` spans: the spans stay code, the rest is escaped. Unbalanced backticks are
/// escaped as text.
fn inline(s: &str, table: bool) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape(s);
    }
    parts.iter().enumerate().map(|(i, p)| if i % 2 == 1 { code(p, table) } else { escape(p) }).collect()
}

fn title(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Info => "Info",
    }
}

/// `file:line` as a code span; `context NAME` for live and snapshot objects; else the field path.
fn location(f: &Finding, table: bool) -> String {
    let loc = &f.location;
    match (&loc.file, loc.line, &f.object.context) {
        (Some(file), Some(line), _) => code(&format!("{file}:{line}"), table),
        (Some(file), None, _) => code(file, table),
        (None, _, Some(context)) => format!("context {}", code(context, table)),
        (None, _, None) => code(&loc.path, table),
    }
}

/// Replaces line breaks and tabs with spaces and other control characters with U+FFFD.
fn one_line(s: &str) -> String {
    s.replace("\r\n", " ")
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// Escapes text for Markdown on one line, safe in table cells: Markdown punctuation is
/// backslash-escaped, `<`, `>` and `&` become entities (no HTML), `@` cannot mention anyone, and
/// line breaks become spaces.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in one_line(s).chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // A zero-width space after `@` keeps GitHub from notifying users and teams.
            '@' => out.push_str("@&#8203;"),
            c => out.push(c),
        }
    }
    out
}

/// The "Remediation" section: per object its fixes, status and every step with its time.
fn remediation_md(r: &crate::remediation::Remediation) -> String {
    let mut out = String::from("## Remediation\n\n");
    out.push_str(&format!(
        "Mode {}{}, started {}{}.\n",
        code(&r.mode, false),
        r.context.as_ref().map(|c| format!(" on context {}", code(c, false))).unwrap_or_default(),
        escape(&r.started_at),
        if r.finished_at.is_empty() { String::new() } else { format!(", finished {}", escape(&r.finished_at)) }
    ));
    if let Some(d) = &r.backup_dir {
        out.push_str(&format!("Backups: {}.\n", code(d, false)));
    }
    if let Some(pr) = &r.pull_request {
        out.push_str(&format!("{}.\n", escape(pr)));
    }
    for w in &r.warnings {
        out.push_str(&format!("\n> **Warning:** {}\n", escape(w)));
    }
    if r.items.is_empty() {
        out.push_str("\nNothing to patch.\n");
    }
    for i in &r.items {
        out.push_str(&format!("\n### {}: {}\n\n", code(&i.object.to_string(), false), escape(&i.status)));
        if let Some(reason) = &i.reason {
            out.push_str(&format!("{}\n\n", escape(reason)));
        }
        for f in &i.fixes {
            out.push_str(&format!("- {} {}\n", code(&f.rule, false), escape(&f.title)));
        }
        if !i.diff.is_empty() {
            out.push_str("\n| Field | Live | After |\n|---|---|---|\n");
            for c in &i.diff {
                let v = |v: &Option<Value>| {
                    v.as_ref().map_or_else(|| "(unset)".to_string(), |v| code(&v.to_string(), true))
                };
                out.push_str(&format!("| {} | {} | {} |\n", code(&c.path, true), v(&c.before), v(&c.after)));
            }
        }
        if !i.steps.is_empty() {
            out.push_str("\n| Time | Step | Result |\n|---|---|---|\n");
            for s in &i.steps {
                out.push_str(&format!(
                    "| {} | {} | {} {} |\n",
                    escape(&s.at),
                    escape(&s.step),
                    if s.ok { "ok:" } else { "failed:" },
                    escape(&one_line(&s.detail)).replace('|', "\\|")
                ));
            }
        }
    }
    if !r.skipped.is_empty() {
        out.push_str("\n### Not planned\n\n");
        for s in &r.skipped {
            out.push_str(&format!(
                "- {} on {}: {} ({})\n",
                code(&s.rule, false),
                code(&s.object, false),
                escape(&s.title),
                escape(&s.reason)
            ));
        }
    }
    out
}

/// A code span showing `s` literally, whatever backticks it holds; `table` escapes `|` so the span
/// stays inside its cell.
#[must_use]
pub fn code(s: &str, table: bool) -> String {
    let mut text = one_line(s);
    if text.is_empty() {
        return "(empty)".to_string();
    }
    if table {
        text = text.replace('|', "\\|");
    }
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = text.starts_with('`') || text.ends_with('`') || (text.starts_with(' ') && text.ends_with(' '));
    let sp = if pad { " " } else { "" };
    format!("{ticks}{sp}{text}{sp}{ticks}")
}

/// A fenced code block whose fence is longer than any backtick run in `content`.
#[must_use]
pub fn fenced(lang: &str, content: &str) -> String {
    let fence = "`".repeat((longest_backtick_run(content) + 1).max(3));
    let body = content.trim_end_matches('\n');
    format!("{fence}{lang}\n{body}\n{fence}")
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// A fix's operations as a JSON Patch (RFC 6902) in YAML, one item per operation.
/// `add` here also creates missing parents, which RFC 6902 does not.
#[must_use]
pub fn patch_yaml(ops: &[FixOp]) -> String {
    let mut out = String::new();
    for op in ops {
        let (name, path, value) = match op {
            FixOp::Add { path, value } => ("add", path, Some(value)),
            FixOp::Replace { path, value } => ("replace", path, Some(value)),
            FixOp::Remove { path } => ("remove", path, None),
            FixOp::Create { value } => {
                out.push_str("- op: create\n  value:");
                yaml_value(value, 2, &mut out);
                out.push('\n');
                continue;
            }
        };
        out.push_str(&format!("- op: {name}\n  path: {}\n", yaml_scalar_str(path)));
        if let Some(v) = value {
            out.push_str("  value:");
            yaml_value(v, 2, &mut out);
            out.push('\n');
        }
    }
    out
}

/// Writes a value after a `key:` or `-` at `indent`: scalars and empty collections on the same
/// line, others as a block indented two more spaces.
fn yaml_value(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            newline(indent + 2, out);
            yaml_map(m, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            newline(indent + 2, out);
            yaml_seq(items, indent + 2, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&yaml_scalar(scalar));
        }
    }
}

/// Writes map entries at `indent`, the first one where the cursor is.
fn yaml_map(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            newline(indent, out);
        }
        out.push_str(&yaml_scalar_str(k));
        out.push(':');
        yaml_value(v, indent, out);
    }
}

/// Writes sequence items at `indent`, the first one where the cursor is; a map item starts on the
/// dash's line.
fn yaml_seq(items: &[Value], indent: usize, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            newline(indent, out);
        }
        out.push('-');
        match item {
            Value::Object(m) if !m.is_empty() => {
                out.push(' ');
                yaml_map(m, indent + 2, out);
            }
            other => yaml_value(other, indent, out),
        }
    }
}

fn newline(indent: usize, out: &mut String) {
    out.push('\n');
    out.push_str(&" ".repeat(indent));
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => yaml_scalar_str(s),
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
        other => other.to_string(),
    }
}

/// A string as a YAML scalar: plain when YAML 1.1 reads it back as the same string, else
/// double-quoted (JSON string syntax is valid YAML).
fn yaml_scalar_str(s: &str) -> String {
    let plain_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/'));
    let starts_ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '_');
    let keyword = matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "nan" | "inf"
    );
    // Numbers, dates and sexagesimals in YAML 1.1 all start with a digit; quantities such as 100m
    // and 128Mi have letters and stay plain.
    let numeric = s.starts_with(|c: char| c.is_ascii_digit())
        && (!s.contains(|c: char| c.is_ascii_alphabetic())
            || s.parse::<f64>().is_ok()
            || ["0x", "0o", "0b"].iter().any(|p| s.starts_with(p)));
    if plain_chars && starts_ok && !keyword && !numeric {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn escape_neutralizes_markdown_html_and_mentions() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("<b>&</b>"), "&lt;b&gt;&amp;&lt;/b&gt;");
        assert_eq!(escape("line\n# heading"), "line \\# heading");
        assert_eq!(escape("**x** _y_ [l](u) `c`"), "\\*\\*x\\*\\* \\_y\\_ \\[l\\](u) \\`c\\`");
        assert_eq!(escape("@team"), "@&#8203;team");
        assert_eq!(escape("a\u{1b}[31m"), "a\u{fffd}\\[31m");
    }

    #[test]
    fn code_spans_hold_any_backticks() {
        assert_eq!(code("web", false), "`web`");
        assert_eq!(code("a`b", false), "``a`b``");
        assert_eq!(code("`x`", false), "`` `x` ``");
        assert_eq!(code("a|b", true), "`a\\|b`");
        assert_eq!(code("a|b", false), "`a|b`");
        assert_eq!(code("a\nb", false), "`a b`");
        assert_eq!(code("", false), "(empty)");
    }

    #[test]
    fn fences_outgrow_the_content() {
        assert_eq!(fenced("yaml", "a: 1\n"), "```yaml\na: 1\n```");
        assert_eq!(fenced("", "x: \"````\""), "`````\nx: \"````\"\n`````");
    }

    #[test]
    fn patch_yaml_is_a_json_patch() {
        let ops = vec![
            FixOp::Replace { path: "/spec/replicas".into(), value: json!(2) },
            FixOp::Add {
                path: "/spec/template/spec/containers/0/resources".into(),
                value: json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {}}),
            },
            FixOp::Add { path: "/spec/x".into(), value: json!([{"name": "a", "value": "yes"}, "1.0", "<PATH>"]) },
            FixOp::Remove { path: "/spec/hostNetwork".into() },
        ];
        assert_eq!(
            patch_yaml(&ops),
            "- op: replace\n  path: /spec/replicas\n  value: 2\n\
             - op: add\n  path: /spec/template/spec/containers/0/resources\n  value:\n    limits: {}\n    requests:\n      cpu: 100m\n      memory: 128Mi\n\
             - op: add\n  path: /spec/x\n  value:\n    - name: a\n      value: \"yes\"\n    - \"1.0\"\n    - \"<PATH>\"\n\
             - op: remove\n  path: /spec/hostNetwork\n"
        );
        // Read back the way Kubernetes reads YAML, it is exactly the operations.
        let docs = crate::yaml::parse_stream(&patch_yaml(&ops), crate::yaml::Limits::default()).expect("valid YAML");
        let back = docs[0].root.as_ref().expect("document").to_json();
        assert_eq!(back, serde_json::to_value(&ops).expect("ops"));
    }

    #[test]
    fn yaml_scalars_keep_their_type() {
        for (s, out) in [
            ("100m", "100m"),
            ("128Mi", "128Mi"),
            ("nginx", "nginx"),
            ("1", "\"1\""),
            ("1e3", "\"1e3\""),
            ("0x1f", "\"0x1f\""),
            ("2026-01-01", "\"2026-01-01\""),
            ("on", "\"on\""),
            ("Null", "\"Null\""),
            ("", "\"\""),
            ("-x", "\"-x\""),
            ("a: b", "\"a: b\""),
        ] {
            assert_eq!(yaml_scalar_str(s), out, "{s}");
        }
    }
}
