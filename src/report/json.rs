//! The versioned JSON audit (contract documented in docs/json-schema.md).

use crate::audit::Audit;

/// Renders the audit as pretty JSON with a trailing newline.
///
/// # Errors
/// Only if serialization fails, which the types rule out.
pub fn render(audit: &Audit) -> serde_json::Result<String> {
    let mut s = serde_json::to_string_pretty(audit)?;
    s.push('\n');
    Ok(s)
}
