//! The Markdown diff report, laid out as people know it from Infracost: a verdict line, the gates,
//! a table of changed workloads, new findings by severity with location and fix, resolved findings,
//! and a collapsed details section. Rendered through `templates/diff.md.hbs` from the shared diff
//! view model ([`DiffReport`], which the HTML and PDF diffs format too); this module only formats.
//! The PR summary comment and the audit issue are this same renderer.
//!
//! Text from manifests is escaped as in the Markdown audit report. The output always stays under
//! [`MAX_CHARS`] (GitHub comments hold 65,536): when longer, whole lines are cut from the middle
//! and a note says how much and where to get everything.

use serde::Serialize;

use crate::diff::Diff;
use crate::model::Severity;
use crate::report::markdown::{code, escape, render_template};
use crate::report::view::{self, DeltaRow, DiffReport, FindingView};

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
    render_report(&DiffReport::of(diff), max)
}

/// Renders a diff view as Markdown, cutting lines from the middle to stay under `max` bytes.
///
/// # Errors
/// When the template fails to render.
pub fn render_report(report: &DiffReport, max: usize) -> anyhow::Result<String> {
    let out = render_template(TEMPLATE, &View::of(report))?;
    Ok(truncate_middle(&out, max))
}

/// The template's data: the view's fields, with Markdown fragments (`_md`) where text mixes code.
#[derive(Serialize)]
struct View<'a> {
    base_label_md: String,
    head_label_md: String,
    verdict: &'a str,
    currency: &'a str,
    hours: &'a str,
    baseline: &'a str,
    head: &'a str,
    gates: Vec<GateRow<'a>>,
    changed: Vec<Row<'a>>,
    total: Row<'a>,
    new_count: usize,
    new_groups: Vec<Group>,
    resolved_count: usize,
    resolved: Vec<FindingRow>,
    base_findings: usize,
    head_findings: usize,
    unchanged: usize,
    workloads: Vec<Row<'a>>,
    assumptions_md: Vec<String>,
    unpriced: Vec<UnpricedRow>,
    head_errors: Vec<ErrorRow>,
    base_errors: Vec<ErrorRow>,
}

#[derive(Serialize)]
struct GateRow<'a> {
    name: &'a str,
    result_md: &'static str,
    reason: &'a str,
}

#[derive(Serialize)]
struct Row<'a> {
    object_md: String,
    status: &'static str,
    baseline: &'a str,
    head: &'a str,
    delta: &'a str,
    percent: &'a str,
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

fn row(w: &DeltaRow) -> Row<'_> {
    Row {
        object_md: code(&w.object, true),
        status: w.status,
        baseline: &w.base,
        head: &w.head,
        delta: &w.delta,
        percent: &w.percent,
    }
}

fn finding_row(f: &FindingView, with_fix: bool) -> FindingRow {
    // A finding with neither file nor context is placed by its field alone, which the line names.
    let location = match &f.location {
        l if l.context => format!(" · context {}", code(&l.text, false)),
        l if l.text == f.path => String::new(),
        l => format!(" · {}", code(&l.text, false)),
    };
    FindingRow {
        head_md: format!(
            "**{}** {} · {}{location} · field {}",
            escape(&f.rule),
            code(&f.name, false),
            code(&f.object, false),
            code(&f.path, false)
        ),
        message_md: escape_with_code(&short(&f.message_inline), false),
        fix: f.fix.as_ref().filter(|_| with_fix).map(|fix| FixRow {
            applicability: fix.applicability,
            title: short(&fix.title_inline),
            cost_md: fix.cost.as_ref().map(|c| format!("{} per month", escape(c))),
        }),
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

impl<'a> View<'a> {
    fn of(r: &'a DiffReport) -> View<'a> {
        let errors = |list: &[view::ErrorRow]| -> Vec<ErrorRow> {
            list.iter()
                .map(|e| ErrorRow { location_md: code(&e.location, false), message: short(&e.message) })
                .collect()
        };
        View {
            base_label_md: code(&r.base, false),
            head_label_md: code(&r.head, false),
            verdict: &r.verdict,
            currency: &r.currency,
            hours: &r.hours,
            baseline: &r.base_monthly,
            head: &r.head_monthly,
            gates: r
                .gates
                .iter()
                .map(|g| GateRow {
                    name: &g.name,
                    result_md: if g.passed { "✅ passed" } else { "❌ failed" },
                    reason: &g.reason,
                })
                .collect(),
            changed: r.changed.iter().map(row).collect(),
            total: Row {
                object_md: String::new(),
                status: "",
                baseline: &r.base_monthly,
                head: &r.head_monthly,
                delta: &r.delta,
                percent: &r.percent,
            },
            new_count: r.new.len(),
            new_groups: Severity::ALL
                .iter()
                .filter_map(|s| {
                    let findings: Vec<FindingRow> =
                        r.new.iter().filter(|f| f.severity == s.as_str()).map(|f| finding_row(f, true)).collect();
                    (!findings.is_empty()).then(|| Group {
                        title: view::severity_title(*s),
                        count: findings.len(),
                        findings,
                    })
                })
                .collect(),
            resolved_count: r.resolved.len(),
            resolved: r.resolved.iter().map(|f| finding_row(f, false)).collect(),
            base_findings: r.base_findings,
            head_findings: r.head_findings,
            unchanged: r.unchanged,
            workloads: r.workloads.iter().map(row).collect(),
            assumptions_md: r.assumptions_inline.iter().map(|a| escape_with_code(a, false)).collect(),
            unpriced: r
                .unpriced
                .iter()
                .map(|u| UnpricedRow {
                    object_md: code(&u.object, false),
                    reason_md: escape_with_code(&short(&u.reason_inline), false),
                })
                .collect(),
            head_errors: errors(&r.head_errors),
            base_errors: errors(&r.base_errors),
        }
    }
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
