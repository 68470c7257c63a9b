//! Human-readable report: findings grouped by file, coloured when writing to a terminal.
//!
//! Text from manifests goes through [`clean`], so a name cannot move the cursor, recolour the
//! terminal or fake extra lines.

use std::fmt::Write;

use crate::audit::Audit;
use crate::model::{Finding, Severity};
use crate::report::{applicability_name, object_id};

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
    let p = Paint { on: color };
    let mut out = String::new();
    let mut current: Option<Option<&str>> = None;
    for f in &audit.findings {
        let file = f.location.file.as_deref();
        if current != Some(file) {
            if current.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", p.bold(&clean(file.unwrap_or("(cluster)"))));
            current = Some(file);
        }
        finding(&mut out, &p, f);
    }
    if !audit.findings.is_empty() {
        out.push('\n');
    }
    for e in &audit.errors {
        let _ = writeln!(out, "{} {}", p.wrap("1;31", "error:"), clean(&e.to_string()));
    }
    for s in &audit.skipped {
        let _ = writeln!(
            out,
            "{} {}:{} (document {}): {}",
            p.dim("skipped:"),
            clean(&s.file),
            s.line,
            s.document,
            clean(&s.reason)
        );
    }
    for n in &audit.exemption_notes {
        let _ = writeln!(out, "{} {}: {}", p.wrap("33", "exemption:"), clean(&n.source), clean(&n.message));
    }
    let s = &audit.summary;
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| s.by_severity.get(sev).filter(|n| **n > 0).map(|n| format!("{n} {sev}")))
        .collect();
    let _ = writeln!(
        out,
        "{} {} finding{} in {} object{} from {} file{}{}; risk score {}/100{}{}",
        p.bold("Summary:"),
        s.findings,
        plural(s.findings),
        s.objects,
        plural(s.objects),
        s.files,
        plural(s.files),
        if counts.is_empty() { String::new() } else { format!(" ({})", counts.join(", ")) },
        s.risk_score,
        if audit.errors.is_empty() {
            String::new()
        } else {
            format!("; {} input error{}", audit.errors.len(), plural(audit.errors.len()))
        },
        if audit.suppressed.is_empty() {
            String::new()
        } else {
            format!("; {} suppressed by exemptions", audit.suppressed.len())
        },
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn finding(out: &mut String, p: &Paint, f: &Finding) {
    let pos = match (f.location.line, f.location.column) {
        (Some(l), Some(c)) => format!("{l}:{c}"),
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
    let _ = writeln!(out, "           {}", p.dim(&clean(&format!("{} at {}", object_id(&f.object), f.location.path))));
    if let Some(fix) = &f.fix {
        let _ = writeln!(
            out,
            "           {} {} ({})",
            p.wrap("32", "fix:"),
            clean(&fix.title),
            applicability_name(fix.applicability)
        );
    }
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
