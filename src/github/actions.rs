//! The GitHub Actions runner's side channels, which need no token: workflow commands
//! (`::error file=...,line=...::message`), the step summary (`$GITHUB_STEP_SUMMARY`) and step
//! outputs (`$GITHUB_OUTPUT`).

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use crate::model::{Finding, Severity};

/// The runner shows at most this many annotations of each level per step; the rest are dropped
/// from the UI, so we list them in the step summary instead.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

/// The step summary of one step may hold at most 1 MiB.
pub const STEP_SUMMARY_MAX: usize = 1024 * 1024;

/// Escapes a workflow command's message: `%`, CR and LF.
#[must_use]
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as data, plus `:` and `,`.
#[must_use]
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A workflow command level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `::error`.
    Error,
    /// `::warning`.
    Warning,
    /// `::notice`.
    Notice,
}

impl Level {
    /// The command name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }

    /// The level a finding of this severity is shown at.
    #[must_use]
    pub fn of(s: Severity) -> Level {
        match s {
            Severity::Critical | Severity::High => Level::Error,
            Severity::Medium => Level::Warning,
            Severity::Low | Severity::Info => Level::Notice,
        }
    }
}

/// One workflow command line (without the final newline).
#[must_use]
pub fn command(level: Level, file: Option<&str>, line: Option<u32>, title: Option<&str>, message: &str) -> String {
    let mut props = Vec::new();
    if let Some(f) = file {
        props.push(format!("file={}", escape_property(f)));
        if let Some(l) = line {
            props.push(format!("line={l}"));
        }
    }
    if let Some(t) = title {
        props.push(format!("title={}", escape_property(t)));
    }
    let props = if props.is_empty() { String::new() } else { format!(" {}", props.join(",")) };
    format!("::{}{props}::{}", level.as_str(), escape_data(message))
}

/// The workflow command of a finding.
#[must_use]
pub fn finding_command(f: &Finding) -> String {
    let title = format!("{} {} ({})", f.rule, f.name, f.severity);
    let message = match &f.fix {
        Some(fix) => format!("{}: {}\nFix: {}", f.object, f.message, fix.title),
        None => format!("{}: {}", f.object, f.message),
    };
    command(Level::of(f.severity), f.location.file.as_deref(), f.location.line, Some(&title), &message)
}

/// Prints workflow commands for findings, at most [`ANNOTATIONS_PER_LEVEL`] per level, and returns
/// the findings that were not printed (for the step summary).
///
/// # Errors
/// When writing fails.
pub fn print_findings<'a>(findings: &'a [Finding], out: &mut dyn Write) -> std::io::Result<Vec<&'a Finding>> {
    let mut shown = [0usize; 3];
    let mut rest = Vec::new();
    for f in findings {
        let i = Level::of(f.severity) as usize;
        if shown[i] < ANNOTATIONS_PER_LEVEL {
            shown[i] += 1;
            writeln!(out, "{}", finding_command(f))?;
        } else {
            rest.push(f);
        }
    }
    Ok(rest)
}

/// Markdown list of findings the runner would not show as annotations.
#[must_use]
pub fn overflow_markdown(rest: &[&Finding]) -> String {
    use crate::report::markdown::{code, escape};
    if rest.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "\n### More findings\n\nThe runner shows {ANNOTATIONS_PER_LEVEL} annotations per level and step; these {} were not annotated:\n\n",
        rest.len()
    );
    for f in rest {
        let at = match (&f.location.file, f.location.line) {
            (Some(file), Some(line)) => code(&format!("{file}:{line}"), false),
            (Some(file), None) => code(file, false),
            _ => code(&f.location.path, false),
        };
        let _ = writeln!(s, "- **{}** {} {at}: {}", escape(f.severity.as_str()), escape(&f.rule), escape(&f.message));
    }
    s
}

/// Appends Markdown to the step summary, cut to stay under [`STEP_SUMMARY_MAX`] with what is
/// already there.
///
/// # Errors
/// When the file cannot be written.
pub fn append_step_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let existing = std::fs::metadata(path).map_or(0, |m| usize::try_from(m.len()).unwrap_or(usize::MAX));
    let room = STEP_SUMMARY_MAX.saturating_sub(existing).saturating_sub(1);
    let text = if markdown.len() > room {
        crate::report::diff_md::truncate_middle(markdown, room)
    } else {
        markdown.to_string()
    };
    if text.len() > room {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        f.write_all(b"\n")?;
    }
    Ok(())
}

/// Appends `name=value` step outputs. Values are single lines; anything else is rejected.
///
/// # Errors
/// When a name or value is not a single safe line, or the file cannot be written.
pub fn write_outputs(path: &Path, outputs: &[(String, String)]) -> std::io::Result<()> {
    let mut text = String::new();
    for (k, v) in outputs {
        let bad = |s: &str| s.contains(['\n', '\r']);
        if k.is_empty() || bad(k) || k.contains('=') || k.contains("<<") || bad(v) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("bad output `{k}`")));
        }
        let _ = writeln!(text, "{k}={v}");
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_the_runner_rules() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(
            command(Level::Error, Some("k8s/a,b.yaml"), Some(7), Some("SEC001: x"), "line1\nline2 :: x"),
            "::error file=k8s/a%2Cb.yaml,line=7,title=SEC001%3A x::line1%0Aline2 :: x"
        );
        assert_eq!(command(Level::Notice, None, Some(3), None, "hi"), "::notice::hi");
    }
}
