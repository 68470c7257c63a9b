//! Renderers over the Audit model. Nothing renders from anything else.

pub mod concise;
pub mod diff_md;
pub mod diff_terminal;
pub mod html;
pub mod json;
pub mod markdown;
pub mod pdf;
pub mod rules_doc;
pub mod sarif;
pub mod terminal;
pub mod view;

use crate::audit::Summary;
use crate::model::{Applicability, Finding};
use crate::source::Skipped;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, coloured on a TTY.
    Terminal,
    /// Versioned JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// Markdown.
    Markdown,
    /// One line per finding: `path:line:col: severity RULE message`.
    Concise,
    /// One self-contained HTML file.
    Html,
    /// A PDF document (to a file only).
    Pdf,
}

impl Format {
    /// Parses `terminal`, `concise`, `json`, `sarif`, `md`/`markdown`, `html`, `pdf`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "terminal" | "text" | "human" => Some(Format::Terminal),
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            "md" | "markdown" => Some(Format::Markdown),
            "concise" => Some(Format::Concise),
            "html" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }
}

/// The name of an applicability as the JSON writes it: `safe`, `unsafe`, `display-only`.
#[must_use]
pub fn applicability_name(a: Applicability) -> &'static str {
    match a {
        Applicability::Safe => "safe",
        Applicability::Unsafe => "unsafe",
        Applicability::DisplayOnly => "display-only",
    }
}

/// Where a finding's object was read from, for grouping: its file, or `context NAME` for live
/// and snapshot objects.
#[must_use]
pub fn source_label(f: &Finding) -> String {
    match (&f.location.file, &f.object.context) {
        (Some(file), _) => file.clone(),
        (None, Some(context)) => format!("context {context}"),
        (None, None) => "(no file)".to_string(),
    }
}

/// What an audit read, for "N findings in M objects from ...": `3 files`, `context prod`,
/// or both joined with `and` (a snapshot replay reads as the live run that wrote it).
#[must_use]
pub fn read_from(s: &Summary) -> String {
    let list = |word: &str, items: &[String]| match items {
        [one] => format!("{word} {one}"),
        many => format!("{word}s {}", many.join(", ")),
    };
    let mut parts = Vec::new();
    if s.files > 0 || s.contexts.is_empty() {
        parts.push(format!("{} file{}", s.files, if s.files == 1 { "" } else { "s" }));
    }
    if !s.contexts.is_empty() {
        parts.push(list("context", &s.contexts));
    }
    parts.join(" and ")
}

/// Where a skipped entry is: `file:line (document N)`, or its source alone.
#[must_use]
pub fn skipped_at(s: &Skipped) -> String {
    let mut at = s.source.clone();
    if let Some(line) = s.line {
        at.push_str(&format!(":{line}"));
    }
    if let Some(d) = s.document {
        at.push_str(&format!(" (document {d})"));
    }
    at
}
