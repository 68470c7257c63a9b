//! Renderers over the Audit model. Nothing renders from anything else.

pub mod diff_md;
pub mod diff_terminal;
pub mod json;
pub mod markdown;
pub mod rules_doc;
pub mod sarif;
pub mod terminal;

use crate::model::{Applicability, ObjectRef};

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
}

impl Format {
    /// Parses `terminal`, `json`, `sarif`, `md`/`markdown`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "terminal" | "text" | "human" => Some(Format::Terminal),
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// Object identity for humans: `Kind/namespace/name` or `Kind/name`.
#[must_use]
pub fn object_id(o: &ObjectRef) -> String {
    match &o.namespace {
        Some(ns) => format!("{}/{}/{}", o.kind, ns, o.name),
        None => format!("{}/{}", o.kind, o.name),
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
