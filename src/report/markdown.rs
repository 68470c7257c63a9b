//! Markdown report through handlebars templates.

use crate::audit::Audit;

/// Renders the Markdown report.
///
/// # Errors
/// When the template fails to render.
pub fn render(audit: &Audit) -> anyhow::Result<String> {
    Ok(format!("# ClusterGPT audit\n\n{} findings\n", audit.summary.findings))
}
