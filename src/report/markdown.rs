//! Markdown report through handlebars templates (`templates/report.md.hbs`), formatting the
//! shared view model ([`crate::report::view::Report`]).
//!
//! Everything a manifest controls (names, messages, evidence, paths) is escaped: the template's
//! `{{value}}` goes through [`escape`] (Markdown and HTML neutralized, table-safe, one line), and the
//! template fields ending in `_md` are fragments built here with [`code`] and [`fenced`]. So a
//! manifest can neither inject HTML, mention people, nor break a table or a list.

use handlebars::{Handlebars, handlebars_helper};
use serde::Serialize;
use serde_json::Value;

use crate::audit::Audit;
use crate::model::FixOp;
use crate::report::view::{self, Loc, Report};

const TEMPLATE: &str = include_str!("templates/report.md.hbs");

/// How many findings the "Top findings" table shows.
pub const TOP: usize = view::TOP;

/// Renders the Markdown report.
///
/// # Errors
/// When the template fails to render.
pub fn render(audit: &Audit) -> anyhow::Result<String> {
    render_report(&Report::of(audit))
}

/// Renders the Markdown report of a view.
///
/// # Errors
/// When the template fails to render.
pub fn render_report(report: &Report) -> anyhow::Result<String> {
    render_template(TEMPLATE, &View::of(report))
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

/// The template's data: the view's fields, with Markdown fragments (`_md`) where text mixes code.
#[derive(Serialize)]
struct View<'a> {
    files: usize,
    read_from: &'a str,
    objects: usize,
    findings: usize,
    risk_score: u32,
    risk_meaning: &'static str,
    rules_run: usize,
    severities: &'a [view::Count],
    areas: &'a [view::Count],
    kinds: &'a [view::Count],
    relations: &'a [view::Count],
    namespaces_md: String,
    namespace_count: usize,
    at_risk: Option<&'a str>,
    fix_delta: Option<&'a str>,
    first: Vec<ActionView>,
    actions: Vec<ActionView>,
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
    action_md: String,
    findings_md: String,
    cost: Option<String>,
    command_md: Option<String>,
    commands_md: String,
}

impl ActionView {
    /// `ids`: name the findings by fingerprint (the explainer's actions) rather than by rule and
    /// object.
    fn of(a: &view::Action, ids: bool) -> ActionView {
        let findings: Vec<String> = if ids {
            a.findings.iter().map(|f| code(&f.id, false)).collect()
        } else {
            let shown: Vec<String> = a.findings.iter().take(5).map(|f| code(&f.object, false)).collect();
            let mut v = shown;
            if a.findings.len() > 5 {
                v.push(format!("and {} more", a.findings.len() - 5));
            }
            v
        };
        let mut commands = a.commands.join("\n");
        if a.more_commands > 0 {
            commands.push_str(&format!("\n# and {} more", a.more_commands));
        }
        ActionView {
            priority: a.priority.clone(),
            action_md: inline(&a.title_inline, false),
            findings_md: findings.join(", "),
            cost: a.cost.clone(),
            command_md: (!a.commands.is_empty()).then(|| fenced("sh", &commands)),
            commands_md: {
                let mut v: Vec<String> = a.commands.iter().map(|c| code(c, false)).collect();
                if a.more_commands > 0 {
                    v.push(format!("and {} more", a.more_commands));
                }
                v.join(", ")
            },
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
    usage_md: Vec<String>,
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
    manifest_md: Option<String>,
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
    /// `analyze --explain`: the narrative and who wrote it (Markdown).
    narrative_md: Option<String>,
}

#[derive(Serialize)]
struct HypothesisView {
    cause: String,
    confidence: &'static str,
    subclass_md: Option<String>,
    evidence: Vec<EvidenceRow>,
}

impl DiagnosisView {
    fn of(d: &view::DiagnosisView) -> DiagnosisView {
        DiagnosisView {
            rule: d.rule.clone(),
            severity: d.severity,
            class_md: code(&d.class, false),
            object_md: code(&d.object, false),
            location_md: location(&d.location, false),
            summary: d.summary.clone(),
            since_md: d.since.as_deref().map(|t| code(t, false)),
            count: d.count,
            manifest_md: d.manifest.as_ref().map(manifest_line),
            hypotheses: d
                .hypotheses
                .iter()
                .map(|h| HypothesisView {
                    cause: h.cause.clone(),
                    confidence: h.confidence,
                    subclass_md: h.subclass.as_deref().map(|x| code(x, false)),
                    evidence: h
                        .evidence
                        .iter()
                        .map(|e| EvidenceRow {
                            path_md: code(&e.path, false),
                            value_md: code(e.value.as_deref().unwrap_or_default(), false),
                        })
                        .collect(),
                })
                .collect(),
            narrative_md: d.narrative.as_ref().map(|n| {
                let by = n.model.as_deref().map_or_else(|| "the built-in template".to_string(), |m| code(m, false));
                format!("{} (written by {by})", escape(&n.text))
            }),
        }
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

impl<'a> View<'a> {
    fn of(r: &'a Report) -> View<'a> {
        let x = &r.executive;
        let i = &r.inputs;
        let namespaces: Vec<String> = r.architecture.namespaces.iter().map(|n| code(n, false)).collect();
        View {
            files: i.files,
            read_from: &i.read_from,
            objects: x.objects,
            findings: x.findings,
            risk_score: x.risk_score,
            risk_meaning: x.risk_meaning,
            rules_run: i.rules_run,
            severities: &x.severities,
            areas: &x.areas,
            kinds: &r.architecture.kinds,
            relations: &r.architecture.relations,
            namespace_count: namespaces.len(),
            namespaces_md: namespaces.join(", "),
            at_risk: x.at_risk.as_deref().filter(|_| x.findings > 0),
            fix_delta: x.fix_delta.as_deref(),
            // The explainer's actions are shown with its narrative.
            first: if r.actions_from_explainer {
                Vec::new()
            } else {
                x.first.iter().map(|a| ActionView::of(a, false)).collect()
            },
            actions: if r.actions_from_explainer {
                Vec::new()
            } else {
                r.actions.iter().map(|a| ActionView::of(a, false)).collect()
            },
            diagnoses: r.diagnoses.iter().map(DiagnosisView::of).collect(),
            top: r
                .top
                .iter()
                .map(|f| TopRow {
                    severity: f.severity_title,
                    rule_md: format!("{} {}", f.rule, code(&f.name, true)),
                    object_md: code(&f.object, true),
                    location_md: location(&f.location, true),
                    message_md: inline(&f.message_inline, true),
                })
                .collect(),
            groups: crate::model::Severity::ALL
                .iter()
                .filter_map(|sev| {
                    let findings: Vec<FindingView> =
                        r.findings.iter().filter(|f| f.severity == sev.as_str()).map(FindingView::of).collect();
                    (!findings.is_empty()).then(|| Group {
                        title: view::severity_title(*sev),
                        count: findings.len(),
                        findings,
                    })
                })
                .collect(),
            errors: i
                .errors
                .iter()
                .map(|e| ErrorRow { location_md: code(&e.location, true), message: e.message.clone() })
                .collect(),
            internal_errors: i
                .internal_errors
                .iter()
                .map(|e| InternalRow {
                    rule: e.rule.clone(),
                    object_md: code(&e.object, true),
                    location_md: e.location.as_ref().map(|l| location(l, true)).unwrap_or_default(),
                    message: e.message.clone(),
                })
                .collect(),
            not_evaluated: r
                .not_evaluated
                .iter()
                .map(|g| GapRow {
                    context_md: code(&g.context, true),
                    resource_md: code(&g.resource, true),
                    reason: g.reason.clone(),
                    message: g.message.clone(),
                    rules: g.rules.clone(),
                })
                .collect(),
            skipped: i
                .skipped
                .iter()
                .map(|k| SkippedRow {
                    location_md: code(&k.location, true),
                    document: k.document.clone(),
                    reason: k.reason.clone(),
                })
                .collect(),
            suppressed: i
                .suppressed
                .iter()
                .map(|x| SuppressedRow {
                    rule: x.rule.clone(),
                    object_md: code(&x.object, true),
                    by: x.by.clone(),
                    reason: x.reason.clone(),
                })
                .collect(),
            exemption_notes: i
                .exemption_notes
                .iter()
                .map(|n| NoteRow { source_md: code(&n.source, true), message: n.message.clone() })
                .collect(),
            cost: r.cost.as_ref().map(CostView::of),
            explanation: x.explanation.as_ref().map(|e| ExplanationView {
                source_md: match &e.model {
                    None => "the built-in template".to_string(),
                    Some(m) => format!("model {}", code(m, false)),
                },
                reason: e.reason.clone(),
                exec_summary: e.exec_summary.clone(),
                cto_summary: e.cto_summary.clone(),
                actions: if r.actions_from_explainer {
                    r.actions.iter().map(|a| ActionView::of(a, true)).collect()
                } else {
                    Vec::new()
                },
            }),
            remediation_md: r.remediation.as_ref().map(remediation_md),
            baseline: i.baseline.as_ref().map(|b| BaselineView {
                file_md: code(&b.file, false),
                hidden: b.hidden,
                legacy: b.legacy,
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
    fn of(c: &view::CostView) -> CostView {
        let all = |v: &[String], table: bool| -> Vec<String> {
            v.iter().map(|a| crate::report::diff_md::escape_with_code(a, table)).collect()
        };
        CostView {
            total: c.total.clone(),
            total_max: c.total_max.clone(),
            currency: c.currency.clone(),
            hours: c.hours.clone(),
            namespaces: c
                .namespaces
                .iter()
                .map(|n| CostNamespaceRow { namespace_md: code(&n.namespace, true), monthly: n.monthly.clone() })
                .collect(),
            workloads: c
                .workloads
                .iter()
                .map(|w| CostRow {
                    object_md: code(&w.object, true),
                    pods: w.pods.clone(),
                    cpu: w.cpu.clone(),
                    memory: w.memory.clone(),
                    storage: w.storage.clone(),
                    monthly: w.monthly.clone(),
                    assumptions_md: all(&w.assumptions_inline, true).join("; "),
                })
                .collect(),
            assumptions_md: all(&c.assumptions_inline, false),
            unpriced: c
                .unpriced
                .iter()
                .map(|u| UnpricedRow {
                    object_md: code(&u.object, true),
                    reason_md: crate::report::diff_md::escape_with_code(&u.reason_inline, true),
                })
                .collect(),
            nodes: c
                .nodes
                .iter()
                .map(|n| NodeRow {
                    node_md: code(&n.node, true),
                    context_md: if n.context.is_empty() { String::new() } else { code(&n.context, true) },
                    instance_md: if n.instance.is_empty() { String::new() } else { code(&n.instance, true) },
                    cpu: n.cpu.clone(),
                    memory: n.memory.clone(),
                    pods: n.pods,
                    monthly: n.monthly.clone(),
                    idle: n.idle.clone(),
                })
                .collect(),
            usage_md: all(&c.usage_inline, false),
        }
    }
}

impl FindingView {
    fn of(f: &view::FindingView) -> FindingView {
        let evidence: Vec<String> = f
            .evidence
            .iter()
            .map(|e| match &e.value {
                Some(v) => format!("{} = {}", code(&e.path, false), code(v, false)),
                None => format!("field {}", code(&e.path, false)),
            })
            .collect();
        FindingView {
            rule: f.rule.clone(),
            rule_md: format!("{} {}", f.rule, code(&f.name, true)),
            object_md: code(&f.object, true),
            location_md: location(&f.location, true),
            message_md: inline(&f.message_inline, true),
            fix_cell_md: f
                .fix
                .as_ref()
                .map_or_else(String::new, |x| format!("{}: {}", x.applicability, inline(&x.title_inline, true))),
            evidence_md: evidence.join("; "),
            fix_md: f.fix.as_ref().map(fix_line),
            manifest_md: f.manifest.as_ref().map(manifest_line),
        }
    }
}

/// The manifest a live object was deployed from, and the fix there.
fn manifest_line(m: &view::ManifestView) -> String {
    let at = code(&m.at, false);
    match &m.fix {
        Some((kind, title)) => format!("{at}, fix ({kind}): {}", escape(title)),
        None => at,
    }
}

/// A fix on one line: what it does, its cost, and how to apply it (`clustergpt fix` for a file,
/// `kubectl patch` for a live object, or why Kubernetes would refuse the patch).
fn fix_line(fix: &view::FixView) -> String {
    let mut s = format!("Fix ({}): {}", fix.applicability, inline(&fix.title_inline, false));
    if let Some(c) = &fix.cost {
        s.push_str(&format!(", {} per month", escape(c)));
    }
    if let Some(note) = &fix.note_inline {
        s.push_str(&format!(" ({})", inline(note, false)));
    }
    if let Some(why) = &fix.edit_error {
        s.push_str(&format!("; not applied to the file automatically: {}", escape(why)));
    } else if let Some(command) = &fix.command {
        s.push_str(&format!(": {}", code(command, false)));
    }
    if let Some(k) = &fix.kubectl {
        s.push_str(&format!("; live: {}", code(k, false)));
    } else if let Some(why) = &fix.refused_inline {
        s.push_str(&format!("; live: {}", inline(why, false)));
    } else if let Some(ops) = &fix.json_patch {
        s.push_str(&format!("; JSON patch: {}", code(ops, false)));
    }
    s
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

/// A place as Markdown: a code span, `context NAME` for live and snapshot objects.
fn location(l: &Loc, table: bool) -> String {
    if l.context { format!("context {}", code(&l.text, table)) } else { code(&l.text, table) }
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
            FixOp::Replace { path: "/spec/replicas".into(), value: json!(2).into() },
            FixOp::Add {
                path: "/spec/template/spec/containers/0/resources".into(),
                value: json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {}}).into(),
            },
            FixOp::Add {
                path: "/spec/x".into(),
                value: json!([{"name": "a", "value": "yes"}, "1.0", "<PATH>"]).into(),
            },
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
