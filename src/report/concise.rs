//! One line per finding, `path:line:col: severity RULE message`: the shape editors, GitHub
//! problem matchers and ruff's concise output use, so a click or a regex finds the line.

use std::fmt::Write as _;

use crate::audit::Audit;
use crate::model::Finding;
use crate::report::terminal::clean;

/// Renders the findings, in the audit's order (file, line, column, rule).
#[must_use]
pub fn render(audit: &Audit) -> String {
    let mut out = String::new();
    for f in &audit.findings {
        let _ = writeln!(out, "{}: {} {} {}", clean(&place(f)), f.severity, f.rule, clean(&f.message));
    }
    out
}

/// `path:line:col` for a file; the object for a live finding, which has no file.
fn place(f: &Finding) -> String {
    match (&f.location.file, f.location.line, f.location.column) {
        (Some(file), Some(line), Some(col)) => format!("{file}:{line}:{col}"),
        (Some(file), Some(line), None) => format!("{file}:{line}"),
        (Some(file), None, _) => file.clone(),
        (None, _, _) => match &f.object.context {
            Some(context) => format!("{context}:{}", f.object),
            None => f.object.to_string(),
        },
    }
}
