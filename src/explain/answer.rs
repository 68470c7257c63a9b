//! The answer a model must give: its JSON schema and the validation every answer passes.

use serde::Deserialize;
use serde_json::{Value, json};

use super::facts::Facts;
use crate::audit::SreAction;

/// Version of the prompt and schema; part of the cache key.
pub const PROMPT_VERSION: &str = "clustergpt.explain/v1";

/// Length limits (characters).
const MAX_SUMMARY: usize = 2000;
const MAX_TITLE: usize = 120;
const MAX_BODY: usize = 8000;
const MAX_ACTION: usize = 600;
const MAX_ACTIONS: usize = 20;

/// The JSON schema of an answer (strict mode: every property required, no extras).
#[must_use]
pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["exec_summary", "sre_actions", "pr_title", "pr_body", "cto_summary"],
        "properties": {
            "exec_summary": {"type": "string"},
            "sre_actions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["finding_ids", "action", "command", "priority"],
                    "properties": {
                        "finding_ids": {"type": "array", "items": {"type": "string"}},
                        "action": {"type": "string"},
                        "command": {"type": ["string", "null"]},
                        "priority": {"type": "string", "enum": ["p1", "p2", "p3"]}
                    }
                }
            },
            "pr_title": {"type": "string"},
            "pr_body": {"type": "string"},
            "cto_summary": {"type": "string"}
        }
    })
}

/// An answer that parsed and passed validation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// See [`crate::audit::Explanation`].
    pub exec_summary: String,
    /// Actions.
    pub sre_actions: Vec<SreAction>,
    /// PR title.
    pub pr_title: String,
    /// PR body.
    pub pr_body: String,
    /// CTO summary.
    pub cto_summary: String,
}

/// Parses and validates a model's text against the facts; the error says why it was rejected.
///
/// # Errors
/// A short reason: not JSON, schema mismatch, unknown finding id, invented command, too long.
pub fn validate(text: &str, facts: &Facts) -> Result<Answer, String> {
    let body = unfence(text).ok_or_else(|| "the answer is not a JSON object".to_string())?;
    let answer: Answer =
        // The serde message could quote the model's text: report only where it went wrong.
        serde_json::from_str(body).map_err(|e| {
            format!("the answer does not match the schema (line {}, column {})", e.line(), e.column())
        })?;
    let ids = facts.finding_ids();
    let commands = facts.commands();
    if answer.sre_actions.len() > MAX_ACTIONS {
        return Err(format!("the answer has {} actions (at most {MAX_ACTIONS})", answer.sre_actions.len()));
    }
    for (field, value, max) in [
        ("exec_summary", &answer.exec_summary, MAX_SUMMARY),
        ("cto_summary", &answer.cto_summary, MAX_SUMMARY),
        ("pr_title", &answer.pr_title, MAX_TITLE),
        ("pr_body", &answer.pr_body, MAX_BODY),
    ] {
        if value.trim().is_empty() {
            return Err(format!("the answer's {field} is empty"));
        }
        if value.chars().count() > max {
            return Err(format!("the answer's {field} is longer than {max} characters"));
        }
    }
    for a in &answer.sre_actions {
        if a.action.trim().is_empty() || a.action.chars().count() > MAX_ACTION {
            return Err("an action is empty or too long".to_string());
        }
        if !matches!(a.priority.as_str(), "p1" | "p2" | "p3") {
            return Err("an action's priority is not p1, p2 or p3".to_string());
        }
        if a.finding_ids.is_empty() {
            return Err("an action cites no finding".to_string());
        }
        if let Some(id) = a.finding_ids.iter().find(|id| !ids.contains(id.as_str())) {
            return Err(format!("an action cites an unknown finding id ({} characters)", id.len()));
        }
        if let Some(c) = &a.command
            && !commands.contains(c.as_str())
        {
            return Err("an action's command is not one of the rendered fix commands".to_string());
        }
    }
    Ok(answer)
}

/// The JSON object in `text`: the whole text, or the inside of one ```` ```json ```` fence.
fn unfence(text: &str) -> Option<&str> {
    let t = text.trim();
    if t.starts_with('{') && t.ends_with('}') {
        return Some(t);
    }
    let start = t.find("```json").map(|i| i + "```json".len())?;
    let inner = &t[start..];
    let end = inner.find("```")?;
    // A second fence is ambiguous: refuse rather than guess which one counts.
    if inner[end + 3..].contains("```json") {
        return None;
    }
    let body = inner[..end].trim();
    (body.starts_with('{') && body.ends_with('}')).then_some(body)
}
