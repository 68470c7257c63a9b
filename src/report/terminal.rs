//! Human-readable report: findings grouped by file, coloured when writing to a terminal.
//!
//! Text from manifests goes through [`clean`], so a name cannot move the cursor, recolour the
//! terminal or fake extra lines.

use std::fmt::Write;

use crate::audit::Audit;
use crate::model::{Finding, Severity};
use crate::report::{applicability_name, read_from, skipped_at, source_label};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;35",
            Severity::High => "1;31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.wrap(code, &format!("{:<8}", s.as_str()))
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
}

/// Renders the report; `color` adds ANSI colours.
#[must_use]
pub fn render(audit: &Audit, color: bool) -> String {
    let mut out = Vec::new();
    // Writing to a vector cannot fail, and every piece written is a `str`.
    let _ = write(audit, color, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Renders the audit to `w` as it goes: a million findings make hundreds of megabytes of text,
/// which are never held whole.
pub fn write(audit: &Audit, color: bool, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    const FLUSH_AT: usize = 1 << 16;
    let p = Paint { on: color };
    let mut out = String::new();
    // Live failures first: they are what is broken now; configuration findings follow.
    let mut diagnoses: Vec<&Finding> = audit.findings.iter().filter(|f| f.diagnosis.is_some()).collect();
    if !diagnoses.is_empty() {
        diagnoses.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let _ = writeln!(out, "{}", p.bold("What is failing now"));
        for f in &diagnoses {
            finding(&mut out, &p, f);
            diagnosis(&mut out, &p, f);
            narrative(&mut out, &p, audit, f);
        }
        out.push('\n');
        if diagnoses.len() < audit.findings.len() {
            let _ = writeln!(out, "{}", p.bold("Configuration findings"));
        }
    }
    let mut current: Option<String> = None;
    for f in audit.findings.iter().filter(|f| f.diagnosis.is_none()) {
        let source = source_label(f);
        if current.as_ref() != Some(&source) {
            if current.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", p.bold(&clean(&source)));
            current = Some(source);
        }
        finding(&mut out, &p, f);
        if out.len() >= FLUSH_AT {
            w.write_all(out.as_bytes())?;
            out.clear();
        }
    }
    if audit.findings.iter().any(|f| f.diagnosis.is_none()) {
        out.push('\n');
    }
    // Input and internal errors go to stderr (`cli::report_problems`); the summary counts them.
    for g in &audit.not_evaluated {
        let rules = if g.rules.is_empty() { "no rule that ran reads it".to_string() } else { g.rules.join(", ") };
        let _ = writeln!(
            out,
            "{} context {}: {} ({}); not evaluated there: {}",
            p.wrap("1;33", "not evaluated:"),
            clean(&g.context),
            clean(&g.message),
            clean(&g.reason),
            clean(&rules)
        );
    }
    for s in &audit.skipped {
        let _ = writeln!(out, "{} {}: {}", p.dim("skipped:"), clean(&skipped_at(s)), clean(&s.reason));
    }
    for n in &audit.exemption_notes {
        let _ = writeln!(out, "{} {}: {}", p.wrap("33", "exemption:"), clean(&n.source), clean(&n.message));
    }
    if let Some(b) = &audit.baseline {
        baseline(&mut out, &p, b);
    }
    cost(&mut out, &p, &audit.cost);
    let s = &audit.summary;
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| s.by_severity.get(sev).filter(|n| **n > 0).map(|n| format!("{n} {sev}")))
        .collect();
    let mut problems = String::new();
    for (n, what) in [
        (audit.errors.len(), "input error"),
        (audit.internal_errors.len(), "internal error"),
        (audit.not_evaluated.len(), "unreadable resource type"),
    ] {
        if n > 0 {
            problems.push_str(&format!("; {n} {what}{}", plural(n)));
        }
    }
    let _ = writeln!(
        out,
        "{} {} finding{} in {} object{} from {}{}; risk score {}/100 ({}; higher is worse){}{}",
        p.bold("Summary:"),
        s.findings,
        plural(s.findings),
        s.objects,
        plural(s.objects),
        clean(&read_from(s)),
        if counts.is_empty() { String::new() } else { format!(" ({})", counts.join(", ")) },
        s.risk_score,
        crate::audit::risk_meaning(s.risk_score),
        problems,
        if audit.suppressed.is_empty() {
            String::new()
        } else {
            format!("; {} suppressed by exemptions", audit.suppressed.len())
        },
    );
    w.write_all(out.as_bytes())
}

/// How many of the most expensive workloads the terminal lists (JSON and Markdown list all).
pub const COST_TOP: usize = 10;

fn baseline(out: &mut String, p: &Paint, b: &crate::baseline::BaselineReport) {
    let _ =
        writeln!(out, "{} {} finding{} hidden by {}", p.dim("baseline:"), b.hidden, plural(b.hidden), clean(&b.file));
    if b.legacy_format {
        let _ = writeln!(
            out,
            "{} {} has fingerprints of an older release, still read by this one; rewrite it with `clustergpt baseline write`",
            p.wrap("33", "baseline:"),
            clean(&b.file)
        );
    }
    for e in &b.stale {
        let _ = writeln!(
            out,
            "{} {} on {} at {} no longer matches; remove it from the baseline ({})",
            p.wrap("33", "baseline:"),
            clean(&e.rule),
            clean(&e.object),
            clean(&e.path),
            clean(&e.fingerprint)
        );
    }
}

/// Node cost per cluster: what the nodes cost and how much of it no pod requests.
fn nodes(out: &mut String, p: &Paint, c: &crate::cost::CostReport) {
    let m = |v: f64| crate::cost::money(&c.currency, v);
    for k in &c.clusters {
        let at = if k.context.is_empty() { String::new() } else { format!(" of context {}", clean(&k.context)) };
        let _ = writeln!(
            out,
            "{} {} node{}{at} cost {} per month; {} of it idle (capacity no pod requests)",
            p.bold("Nodes:"),
            k.nodes,
            plural(k.nodes),
            m(k.monthly),
            m(k.idle_monthly)
        );
        match (&k.metrics, k.cpu_used, k.memory_used_gib) {
            (Some(note), Some(cpu), Some(mem)) => {
                let _ = writeln!(out, "  usage: pods use {cpu} vCPU and {mem} GiB ({})", clean(note));
            }
            (Some(note), _, _) => {
                let _ = writeln!(out, "  usage: {}", clean(note));
            }
            _ => {}
        }
    }
}

fn cost(out: &mut String, p: &Paint, c: &crate::cost::CostReport) {
    nodes(out, p, c);
    for h in &c.usage_history {
        let _ = writeln!(out, "{} {}", p.bold("Usage history:"), clean(&h.note));
    }
    if c.workloads.is_empty() && c.unpriced.is_empty() {
        return;
    }
    let m = |v: f64| crate::cost::money(&c.currency, v);
    let range = if c.monthly_total_max != c.monthly_total {
        format!(" (up to {} with autoscalers at their maximum)", m(c.monthly_total_max))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} {} per month{range}; approximate: {}, {} hours/month, list prices",
        p.bold("Cost:"),
        m(c.monthly_total),
        clean(&c.currency),
        trim_hours(c.hours_per_month)
    );
    let mut top: Vec<&crate::cost::WorkloadCost> = c.workloads.iter().filter(|w| w.monthly_max > 0.0).collect();
    top.sort_by(|a, b| b.monthly.total_cmp(&a.monthly).then(b.monthly_max.total_cmp(&a.monthly_max)));
    let shown = top.len().min(COST_TOP);
    let rows: Vec<(String, String, String)> = top
        .iter()
        .take(shown)
        .map(|w| {
            let id = clean(&format!("{}/{}/{}", w.kind, w.namespace, w.name));
            let pods = match (w.replicas, w.replicas_max) {
                (Some(r), Some(x)) => format!("{r}-{x} pods"),
                (Some(r), None) => format!("{r} pod{}", plural(usize::try_from(r).unwrap_or(usize::MAX))),
                _ if w.storage_gib > 0.0 => format!("{} GiB", w.storage_gib),
                _ => String::new(),
            };
            let money = if w.monthly_max != w.monthly {
                format!("{}-{}", m(w.monthly), m(w.monthly_max))
            } else {
                m(w.monthly)
            };
            (id, pods, money)
        })
        .collect();
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    for (id, pods, money) in &rows {
        let _ = writeln!(out, "  {id:<w0$}  {pods:<w1$}  {money}");
    }
    if top.len() > shown {
        let _ = writeln!(out, "  {}", p.dim(&format!("... and {} more (see --format json or md)", top.len() - shown)));
    }
    if c.namespaces.len() > 1 {
        let parts: Vec<String> =
            c.namespaces.iter().map(|n| format!("{} {}", clean(&n.namespace), m(n.monthly))).collect();
        let _ = writeln!(out, "  {} {}", p.dim("by namespace:"), parts.join(", "));
    }
    if !c.unpriced.is_empty() {
        let _ = writeln!(
            out,
            "  {} {} object{} (see --format json or md for why)",
            p.dim("not priced:"),
            c.unpriced.len(),
            plural(c.unpriced.len())
        );
    }
    out.push('\n');
}

fn trim_hours(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn finding(out: &mut String, p: &Paint, f: &Finding) {
    let pos = match (f.location.line, f.location.column) {
        (Some(l), Some(c)) => format!("{l}:{c}"),
        (Some(l), None) => l.to_string(),
        _ => String::from("-"),
    };
    let _ = writeln!(
        out,
        "  {:>7}  {} {}  {}",
        pos,
        p.severity(f.severity),
        p.bold(&format!("{} {}", f.rule, f.name)),
        clean(&f.message)
    );
    // The full `path:line:col` makes the line clickable in editors' terminals.
    let at = match (&f.location.file, f.location.line, f.location.column) {
        (Some(file), Some(l), Some(c)) => format!("{file}:{l}:{c}  "),
        (Some(file), Some(l), None) => format!("{file}:{l}  "),
        _ => String::new(),
    };
    let _ = writeln!(out, "           {}", p.dim(&clean(&format!("{at}{} at {}", f.object, f.location.path))));
    if let Some(fix) = &f.fix {
        let cost = f
            .cost
            .as_ref()
            .map(|c| {
                let sign = if c.monthly_delta > 0.0 { "+" } else { "" };
                format!(", {sign}{} per month", crate::cost::money(&c.currency, c.monthly_delta))
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "           {} {} ({}{cost})",
            p.wrap("32", "fix:"),
            clean(&fix.title),
            applicability_name(fix.applicability)
        );
    }
    if let Some(m) = &f.manifest {
        manifest_link(out, p, m);
    }
}

/// `→ file:line  fix: ...`: where a live finding's manifest is and its fix there.
fn manifest_link(out: &mut String, p: &Paint, m: &crate::model::ManifestLink) {
    let at = match (&m.location.file, m.location.line) {
        (Some(file), Some(line)) => format!("{file}:{line}"),
        (Some(file), None) => file.clone(),
        (None, _) => m.object.to_string(),
    };
    let fix = m
        .fix
        .as_ref()
        .map(|f| format!("  fix: {} ({})", f.title, applicability_name(f.applicability)))
        .unwrap_or_default();
    let _ = writeln!(out, "           {} {}{}", p.wrap("32", "→"), clean(&at), clean(&fix));
}

/// How many evidence lines the terminal shows per hypothesis (JSON and Markdown carry all).
const EVIDENCE_SHOWN: usize = 4;

/// A diagnosis's hypotheses, most likely first, with their first evidence lines.
fn diagnosis(out: &mut String, p: &Paint, f: &Finding) {
    let Some(d) = &f.diagnosis else { return };
    let since = d.since.as_deref().map(|t| format!(", since {t}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "           {}",
        p.dim(&clean(&format!("class {}{since}, read from {}", d.class, source_label(f))))
    );
    if let Some(m) = &d.manifest {
        manifest_link(out, p, m);
    }
    for h in &d.hypotheses {
        let sub = h.subclass.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default();
        let _ = writeln!(
            out,
            "           {} {}{}",
            p.wrap("33", &format!("{}:", h.confidence.as_str())),
            clean(&h.cause),
            clean(&sub)
        );
        for e in h.evidence.iter().take(EVIDENCE_SHOWN) {
            let _ = writeln!(out, "             {}", p.dim(&clean(&format!("{} = {}", e.path, e.value))));
        }
        if h.evidence.len() > EVIDENCE_SHOWN {
            let _ = writeln!(
                out,
                "             {}",
                p.dim(&format!("... {} more (see --format json)", h.evidence.len() - EVIDENCE_SHOWN))
            );
        }
    }
}

/// `analyze --explain`: the explainer's narrative of a diagnosis and who wrote it.
fn narrative(out: &mut String, p: &Paint, audit: &Audit, f: &Finding) {
    let Some(n) = audit.explanation.as_ref().and_then(|e| e.diagnoses.iter().find(|n| n.finding_id == f.fingerprint))
    else {
        return;
    };
    let by = if n.source == "template" { "the built-in template".to_string() } else { n.source.clone() };
    let _ = writeln!(out, "           {} {}", p.bold("narrative:"), clean(&n.narrative));
    let _ = writeln!(out, "             {}", p.dim(&clean(&format!("written by {by}"))));
}

/// Makes text safe to print on a terminal: control characters (escape sequences, line breaks) and
/// bidirectional overrides are shown as `\u{..}` escapes instead of acting on the terminal.
#[must_use]
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() || bidi => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}
