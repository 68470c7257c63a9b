//! The diff for a terminal: verdict, gates, changed workloads, new and resolved findings.
//! Text from manifests goes through [`clean`].

use std::fmt::Write;

use crate::cost::money;
use crate::diff::{Diff, Status, percent_text, signed_money};
use crate::model::{Finding, Severity};
use crate::report::applicability_name;
use crate::report::terminal::clean;

fn paint(on: bool, code: &str, s: &str) -> String {
    if on { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;35",
        Severity::High => "1;31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    }
}

/// Renders the diff; `color` adds ANSI colours.
#[must_use]
pub fn render(d: &Diff, color: bool) -> String {
    let mut out = String::new();
    let c = &d.cost;
    let cur = c.currency.as_str();
    let ctx = &d.context;
    let label = |l: &str, f: &str| clean(if l.is_empty() { f } else { l });
    let _ = writeln!(
        out,
        "{}",
        paint(color, "1", &format!("{} → {}", label(&ctx.base_label, "base"), label(&ctx.head_label, "head")))
    );
    let _ = writeln!(out, "{}", paint(color, "1", &d.verdict()));
    let _ = writeln!(
        out,
        "Estimated monthly cost {} → {} ({cur}, {} hours/month, approximate)",
        money(cur, c.baseline_monthly),
        money(cur, c.head_monthly),
        trim(ctx.hours_per_month)
    );
    let changed = d.changed_workloads();
    if !changed.is_empty() {
        let _ = writeln!(out, "\n{}", paint(color, "1", "Cost changes"));
        let rows: Vec<[String; 6]> = changed
            .iter()
            .map(|w| {
                [
                    clean(&format!("{}/{}/{}", w.kind, w.namespace, w.name)),
                    w.status.as_str().to_string(),
                    if w.status == Status::Added { "-".to_string() } else { money(cur, w.baseline_monthly) },
                    if w.status == Status::Removed { "-".to_string() } else { d.head_text(w) },
                    signed_money(cur, w.delta_monthly),
                    w.delta_percent.map_or_else(|| "-".to_string(), percent_text),
                ]
            })
            .collect();
        let header = ["WORKLOAD", "STATUS", "BASELINE", "NEW", "CHANGE", "%"].map(str::to_string);
        let mut widths = [0usize; 6];
        for r in std::iter::once(&header).chain(&rows) {
            for (i, cell) in r.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        for r in std::iter::once(&header).chain(&rows) {
            let _ = writeln!(
                out,
                "  {:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {:>w5$}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4],
                w5 = widths[5]
            );
        }
    }
    if !d.new.is_empty() {
        let _ = writeln!(out, "\n{}", paint(color, "1", &format!("New findings ({})", d.new.len())));
        let mut sorted: Vec<&Finding> = d.new.iter().collect();
        sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in sorted {
            finding(&mut out, color, f, true);
        }
    }
    if !d.resolved.is_empty() {
        let _ = writeln!(out, "\n{}", paint(color, "1", &format!("Resolved findings ({})", d.resolved.len())));
        for f in &d.resolved {
            finding(&mut out, color, f, false);
        }
    }
    for e in &ctx.head_errors {
        let _ = writeln!(out, "{} {}", paint(color, "1;31", "error:"), clean(&e.to_string()));
    }
    for e in &ctx.base_errors {
        let _ = writeln!(out, "{} {}", paint(color, "33", "base error:"), clean(&e.to_string()));
    }
    if !d.gates.is_empty() {
        out.push('\n');
        for g in &d.gates {
            let mark = if g.passed { paint(color, "32", "passed") } else { paint(color, "1;31", "FAILED") };
            let _ = writeln!(out, "gate {} {mark}: {}", g.name, clean(&g.reason));
        }
    }
    out
}

fn finding(out: &mut String, color: bool, f: &Finding, with_fix: bool) {
    let pos = match (&f.location.file, f.location.line) {
        (Some(file), Some(l)) => format!("{file}:{l}"),
        (Some(file), None) => file.clone(),
        (None, _) => crate::report::source_label(f),
    };
    let _ = writeln!(
        out,
        "  {} {}  {}",
        paint(color, severity_code(f.severity), &format!("{:<8}", f.severity.as_str())),
        paint(color, "1", &format!("{} {}", f.rule, f.name)),
        clean(&f.message)
    );
    let _ = writeln!(
        out,
        "           {}",
        paint(color, "2", &clean(&format!("{} at {} ({})", f.object, f.location.path, pos)))
    );
    if with_fix && let Some(fix) = &f.fix {
        let cost = f
            .cost
            .as_ref()
            .map(|c| format!(", {} per month", signed_money(&c.currency, c.monthly_delta)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "           {} {} ({}{cost})",
            paint(color, "32", "fix:"),
            clean(&fix.title),
            applicability_name(fix.applicability)
        );
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
