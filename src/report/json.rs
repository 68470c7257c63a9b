//! The versioned JSON audit (contract documented in docs/json-schema.md).

use crate::audit::Audit;

/// Renders the audit as pretty JSON with a trailing newline.
///
/// # Errors
/// Only if serialization fails, which the types rule out.
pub fn render(audit: &Audit) -> serde_json::Result<String> {
    let mut out = Vec::new();
    write(audit, &mut out)?;
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// Writes what [`render`] returns to `w` without building it in memory first.
///
/// # Errors
/// When writing fails.
pub fn write(audit: &Audit, w: &mut dyn std::io::Write) -> serde_json::Result<()> {
    serde_json::to_writer_pretty(&mut *w, audit)?;
    w.write_all(b"\n").map_err(serde_json::Error::io)
}
