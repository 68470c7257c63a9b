//! Renderers over the Audit model. Nothing renders from anything else.

pub mod json;
pub mod markdown;
pub mod sarif;
pub mod terminal;

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
