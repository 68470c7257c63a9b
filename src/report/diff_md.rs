//! The Markdown diff report, laid out as people know it from Infracost: a verdict line, the gates,
//! a table of changed workloads, new findings by severity with location and fix, resolved findings,
//! and a collapsed details section. Rendered through `templates/diff.md.hbs`.
//!
//! Text from manifests is escaped as in the Markdown audit report. The output always stays under
//! [`MAX_CHARS`] (GitHub comments hold 65,536): when longer, whole lines are cut from the middle
//! and a note says how much and where to get everything.

use serde::Serialize;

use crate::cost::money;
use crate::diff::{Diff, Status, WorkloadDelta, percent_text, signed_money};
use crate::model::{Finding, Severity};
use crate::report::applicability_name;
use crate::report::markdown::{code, escape, render_template};

const TEMPLATE: &str = include_str!("templates/diff.md.hbs");

/// The most characters (bytes, which is stricter) a rendered diff may have.
pub const MAX_CHARS: usize = 60_000;

/// The longest message shown for one finding, in characters.
const MAX_MESSAGE: usize = 600;

/// Renders the diff as Markdown, under [`MAX_CHARS`].
///
/// # Errors
/// When the template fails to render.
pub fn render(diff: &Diff) -> anyhow::Result<String> {
    render_limited(diff, MAX_CHARS)
}

/// Renders the diff as Markdown, cutting lines from the middle to stay under `max` bytes.
///
/// # Errors
/// When the template fails to render.
pub fn render_limited(diff: &Diff, max: usize) -> anyhow::Result<String> {
    let out = render_template(TEMPLATE, &View::of(diff))?;
    Ok(truncate_middle(&out, max))
}

#[derive(Serialize)]
struct View {
    base_label_md: String,
    head_label_md: String,
    verdict: String,
    currency: String,
    hours: String,
    baseline: String,
    head: String,
    gates: Vec<GateRow>,
    changed: Vec<Row>,
    total: Row,
    new_count: usize,
    new_groups: Vec<Group>,
    resolved_count: usize,
    resolved: Vec<FindingRow>,
    base_findings: usize,
    head_findings: usize,
    unchanged: usize,
    workloads: Vec<Row>,
    assumptions_md: Vec<String>,
    unpriced: Vec<UnpricedRow>,
    head_errors: Vec<ErrorRow>,
    base_errors: Vec<ErrorRow>,
}

#[derive(Serialize)]
struct GateRow {
    name: String,
    result_md: &'static str,
    reason: String,
}

#[derive(Serialize)]
struct Row {
    object_md: String,
    status: &'static str,
    baseline: String,
    head: String,
    delta: String,
    percent: String,
}

#[derive(Serialize)]
struct Group {
    title: &'static str,
    count: usize,
    findings: Vec<FindingRow>,
}

#[derive(Serialize)]
struct FindingRow {
    head_md: String,
    message_md: String,
    fix: Option<FixRow>,
}

#[derive(Serialize)]
struct FixRow {
    applicability: &'static str,
    title: String,
    cost_md: Option<String>,
}

#[derive(Serialize)]
struct UnpricedRow {
    object_md: String,
    reason_md: String,
}

#[derive(Serialize)]
struct ErrorRow {
    location_md: String,
    message: String,
}

fn short(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE {
        return s.to_string();
    }
    let mut t: String = s.chars().take(MAX_MESSAGE).collect();
    t.push('…');
    t
}

fn row(d: &Diff, w: &WorkloadDelta) -> Row {
    let currency = d.cost.currency.as_str();
    Row {
        object_md: code(&format!("{}/{}/{}", w.kind, w.namespace, w.name), true),
        status: w.status.as_str(),
        baseline: if w.status == Status::Added { "-".to_string() } else { money(currency, w.baseline_monthly) },
        head: if w.status == Status::Removed { "-".to_string() } else { d.head_text(w) },
        delta: signed_money(currency, w.delta_monthly),
        percent: w.delta_percent.map_or_else(|| "-".to_string(), percent_text),
    }
}

fn finding_row(currency: &str, f: &Finding, with_fix: bool) -> FindingRow {
    let location = match (&f.location.file, f.location.line) {
        (Some(file), Some(line)) => format!(" · {}", code(&format!("{file}:{line}"), false)),
        (Some(file), None) => format!(" · {}", code(file, false)),
        (None, _) => f.object.context.as_ref().map(|c| format!(" · context {}", code(c, false))).unwrap_or_default(),
    };
    FindingRow {
        head_md: format!(
            "**{}** {} · {}{location} · field {}",
            escape(&f.rule),
            code(&f.name, false),
            code(&f.object.to_string(), false),
            code(&f.location.path, false)
        ),
        message_md: escape_with_code(&short(&f.message), false),
        fix: f.fix.as_ref().filter(|_| with_fix).map(|fix| FixRow {
            applicability: applicability_name(fix.applicability),
            title: short(&fix.title),
            cost_md: f.cost.as_ref().map(|c| {
                let cur = if c.currency.is_empty() { currency } else { c.currency.as_str() };
                format!("{} per month", escape(&signed_money(cur, c.monthly_delta)))
            }),
        }),
    }
}

fn severity_title(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Info => "Info",
    }
}

/// Escapes text for Markdown but shows its `backticked` parts as code spans (`table`: safe in a
/// table cell).
#[must_use]
pub fn escape_with_code(s: &str, table: bool) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 && !part.is_empty() {
            out.push_str(&code(part, table));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

impl View {
    fn of(d: &Diff) -> View {
        let c = &d.cost;
        let cur = c.currency.as_str();
        let ctx = &d.context;
        let label = |l: &str, fallback: &str| code(if l.is_empty() { fallback } else { l }, false);
        View {
            base_label_md: label(&ctx.base_label, "base"),
            head_label_md: label(&ctx.head_label, "head"),
            verdict: d.verdict(),
            currency: c.currency.clone(),
            hours: trim(ctx.hours_per_month),
            baseline: money(cur, c.baseline_monthly),
            head: money(cur, c.head_monthly),
            gates: d
                .gates
                .iter()
                .map(|g| GateRow {
                    name: g.name.clone(),
                    result_md: if g.passed { "✅ passed" } else { "❌ failed" },
                    reason: g.reason.clone(),
                })
                .collect(),
            changed: d.changed_workloads().into_iter().map(|w| row(d, w)).collect(),
            total: Row {
                object_md: String::new(),
                status: "",
                baseline: money(cur, c.baseline_monthly),
                head: money(cur, c.head_monthly),
                delta: signed_money(cur, c.delta_monthly),
                percent: c.delta_percent.map_or_else(|| "-".to_string(), percent_text),
            },
            new_count: d.new.len(),
            new_groups: Severity::ALL
                .iter()
                .filter_map(|s| {
                    let findings: Vec<FindingRow> =
                        d.new.iter().filter(|f| f.severity == *s).map(|f| finding_row(cur, f, true)).collect();
                    (!findings.is_empty()).then(|| Group { title: severity_title(*s), count: findings.len(), findings })
                })
                .collect(),
            resolved_count: d.resolved.len(),
            resolved: d.resolved.iter().map(|f| finding_row(cur, f, false)).collect(),
            base_findings: ctx.base_findings,
            head_findings: ctx.head_findings,
            unchanged: d.unchanged,
            workloads: c.workloads.iter().map(|w| row(d, w)).collect(),
            assumptions_md: ctx.assumptions.iter().map(|a| escape_with_code(a, false)).collect(),
            unpriced: ctx
                .unpriced
                .iter()
                .map(|u| UnpricedRow {
                    object_md: code(
                        &match &u.namespace {
                            Some(ns) => format!("{}/{ns}/{}", u.kind, u.name),
                            None => format!("{}/{}", u.kind, u.name),
                        },
                        false,
                    ),
                    reason_md: escape_with_code(&short(&u.reason), false),
                })
                .collect(),
            head_errors: errors(&ctx.head_errors),
            base_errors: errors(&ctx.base_errors),
        }
    }
}

fn errors(list: &[crate::source::InputError]) -> Vec<ErrorRow> {
    list.iter()
        .map(|e| {
            let at = match (e.line, e.column) {
                (Some(l), Some(c)) => format!("{}:{l}:{c}", e.source),
                (Some(l), None) => format!("{}:{l}", e.source),
                _ => e.source.clone(),
            };
            ErrorRow { location_md: code(&at, false), message: short(&e.message) }
        })
        .collect()
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Cuts whole lines from the middle of `text` so that it fits in `max` bytes, with a note saying
/// how much was left out; `<details>` blocks stay balanced. Text that fits is returned as is.
#[must_use]
pub fn truncate_middle(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let lines: Vec<&str> = text.lines().collect();
    // Room for the note and for closing and reopening <details> blocks around it.
    let reserve = 600;
    let budget = max.saturating_sub(reserve);
    let head_budget = budget * 7 / 10;
    let tail_budget = budget - head_budget;
    let mut head = 0;
    let mut used = 0;
    while head < lines.len() && used + lines[head].len() < head_budget {
        used += lines[head].len() + 1;
        head += 1;
    }
    let mut tail = lines.len();
    let mut used_tail = 0;
    while tail > head && used_tail + lines[tail - 1].len() < tail_budget {
        used_tail += lines[tail - 1].len() + 1;
        tail -= 1;
    }
    let cut_lines = tail - head;
    let cut_bytes: usize = lines[head..tail].iter().map(|l| l.len() + 1).sum();
    // Balance <details>: close what the head left open, reopen what the tail closes.
    let depth = |ls: &[&str]| -> i64 {
        ls.iter().map(|l| l.matches("<details").count() as i64 - l.matches("</details>").count() as i64).sum()
    };
    let open_in_head = depth(&lines[..head]).max(0);
    let mut unmatched_closes = 0i64;
    let mut d = 0i64;
    for l in &lines[tail..] {
        d += l.matches("<details").count() as i64;
        d -= l.matches("</details>").count() as i64;
        unmatched_closes = unmatched_closes.max(-d);
    }
    let mut out = String::with_capacity(max);
    for l in &lines[..head] {
        out.push_str(l);
        out.push('\n');
    }
    out.push('\n');
    for _ in 0..open_in_head {
        out.push_str("</details>\n\n");
    }
    out.push_str(&format!(
        "> ✂️ **Truncated:** {cut_lines} lines ({cut_bytes} characters) in the middle of this report were left out to stay under {} characters. Run `clustergpt diff --format json` for the complete diff.\n\n",
        group_thousands(max)
    ));
    for _ in 0..unmatched_closes {
        out.push_str("<details><summary>(continued)</summary>\n\n");
    }
    for l in &lines[tail..] {
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(truncate_middle("a\nb\n", 100), "a\nb\n");
    }

    #[test]
    fn long_text_is_cut_in_the_middle_and_stays_balanced() {
        let mut text = String::from("# top\n\n<details><summary>x</summary>\n\n");
        for i in 0..5000 {
            text.push_str(&format!("- line {i} with some padding text to make it longer\n"));
        }
        text.push_str("\n</details>\n\nend\n");
        let out = truncate_middle(&text, 10_000);
        assert!(out.len() <= 10_000, "{}", out.len());
        assert!(out.starts_with("# top\n"));
        assert!(out.ends_with("end\n"));
        assert!(out.contains("✂️ **Truncated:**"));
        assert_eq!(out.matches("<details").count(), out.matches("</details>").count(), "{out}");
    }

    #[test]
    fn backticked_parts_become_code() {
        assert_eq!(escape_with_code("set `cost.node_count` *now*", false), "set `cost.node_count` \\*now\\*");
        assert_eq!(escape_with_code("a `x|y` <b>", true), "a `x\\|y` &lt;b&gt;");
    }
}
