//! The answer a model must give: its JSON schema and the validation every answer passes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::facts::Facts;
use crate::audit::SreAction;

/// Version of the prompt and schema; part of the cache key.
pub const PROMPT_VERSION: &str = "clustergpt.explain/v2";

/// Length limits (characters).
const MAX_SUMMARY: usize = 2000;
const MAX_TITLE: usize = 120;
const MAX_BODY: usize = 8000;
const MAX_ACTION: usize = 600;
const MAX_ACTIONS: usize = 20;
const MAX_NARRATIVE: usize = 1000;

/// The JSON schema of an answer (strict mode: every property required, no extras).
#[must_use]
pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["exec_summary", "sre_actions", "pr_title", "pr_body", "cto_summary", "diagnoses"],
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
            "cto_summary": {"type": "string"},
            "diagnoses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["finding_id", "narrative"],
                    "properties": {
                        "finding_id": {"type": "string"},
                        "narrative": {"type": "string"}
                    }
                }
            }
        }
    })
}

/// An answer that parsed and passed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Narratives of diagnoses; a diagnosis left out gets the template's (so absent is allowed).
    #[serde(default)]
    pub diagnoses: Vec<NarrativeAnswer>,
}

/// One diagnosis narrative of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NarrativeAnswer {
    /// A diagnosis finding's id.
    pub finding_id: String,
    /// The narrative.
    pub narrative: String,
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
    let diagnoses = facts.diagnosis_ids();
    let mut narrated = BTreeSet::new();
    for n in &answer.diagnoses {
        if !diagnoses.contains(n.finding_id.as_str()) {
            return Err(format!(
                "a diagnosis narrative cites a finding that is not a diagnosis in the facts ({} characters)",
                n.finding_id.len()
            ));
        }
        if !narrated.insert(n.finding_id.as_str()) {
            return Err("two diagnosis narratives cite the same finding".to_string());
        }
        if n.narrative.trim().is_empty() || n.narrative.chars().count() > MAX_NARRATIVE {
            return Err(format!("a diagnosis narrative is empty or longer than {MAX_NARRATIVE} characters"));
        }
    }
    let facts_json = facts.to_json();
    let known: BTreeSet<&str> = super::pseudonym::tokens(&facts_json).map(|(_, _, t)| t).collect();
    let texts = [&answer.exec_summary, &answer.cto_summary, &answer.pr_title, &answer.pr_body]
        .into_iter()
        .chain(answer.sre_actions.iter().map(|a| &a.action))
        .chain(answer.diagnoses.iter().map(|n| &n.narrative));
    for t in texts {
        if invents_a_command(t, &commands) {
            return Err("the answer's text holds a kubectl command that is not a rendered fix command".to_string());
        }
        if let Some(name) = unknown_name(t, &known) {
            return Err(format!("the answer names an object that is not in the facts ({} characters)", name.len()));
        }
    }
    Ok(answer)
}

/// kubectl verbs that change a cluster: prose may name them only inside a rendered command.
const CHANGING_VERBS: &[&str] = &[
    "delete",
    "apply",
    "patch",
    "replace",
    "edit",
    "scale",
    "drain",
    "cordon",
    "uncordon",
    "exec",
    "create",
    "set",
    "label",
    "annotate",
    "rollout",
    "taint",
    "run",
    "cp",
    "autoscale",
    "expose",
];

/// Whether `text`, once the rendered commands are taken out, still runs `kubectl <changing verb>`.
fn invents_a_command(text: &str, commands: &BTreeSet<&str>) -> bool {
    let mut rest = text.to_string();
    // Longest first, so a command that contains another is removed whole.
    let mut cs: Vec<&&str> = commands.iter().collect();
    cs.sort_by_key(|c| std::cmp::Reverse(c.len()));
    for c in cs {
        rest = rest.replace(*c, " ");
    }
    let words: Vec<&str> = rest.split(|c: char| c.is_whitespace() || c == '`').filter(|w| !w.is_empty()).collect();
    words.windows(2).any(|w| {
        w[0].eq_ignore_ascii_case("kubectl") && {
            // `kubectl -n ns delete ...`: the verb is the first word that is not a flag or its value.
            let verb = w[1].to_ascii_lowercase();
            CHANGING_VERBS.contains(&verb.as_str()) || verb.starts_with('-')
        }
    })
}

/// Words that make the token after `/` an object name (`deployment/web`, `svc/api`).
const KIND_WORDS: &[&str] = &[
    "pod",
    "pods",
    "po",
    "deployment",
    "deployments",
    "deploy",
    "statefulset",
    "statefulsets",
    "sts",
    "daemonset",
    "daemonsets",
    "ds",
    "replicaset",
    "replicasets",
    "rs",
    "job",
    "jobs",
    "cronjob",
    "cronjobs",
    "cj",
    "service",
    "services",
    "svc",
    "configmap",
    "configmaps",
    "cm",
    "secret",
    "secrets",
    "ingress",
    "ingresses",
    "ing",
    "namespace",
    "namespaces",
    "ns",
    "pvc",
    "persistentvolumeclaim",
    "persistentvolumeclaims",
    "serviceaccount",
    "serviceaccounts",
    "sa",
    "hpa",
    "horizontalpodautoscaler",
    "node",
    "nodes",
    "pdb",
    "poddisruptionbudget",
    "networkpolicy",
    "networkpolicies",
    "netpol",
];

/// The first object name in `text` the facts do not hold: a pseudonym-shaped token that is not a
/// pseudonym in use, or the name in a `kind/name` reference.
fn unknown_name<'t>(text: &'t str, known: &BTreeSet<&str>) -> Option<&'t str> {
    let toks: Vec<(usize, usize, &str)> = super::pseudonym::tokens(text).collect();
    for (i, &(_, end, t)) in toks.iter().enumerate() {
        if super::pseudonym::is_pseudonym_shaped(t) && !known.contains(t) {
            return Some(t);
        }
        let slash = text.as_bytes().get(end) == Some(&b'/');
        if slash
            && KIND_WORDS.contains(&t.to_ascii_lowercase().as_str())
            && let Some(&(start, _, name)) = toks.get(i + 1)
            && start == end + 1
            && !known.contains(name)
        {
            return Some(name);
        }
    }
    None
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
