//! The sticky summary comment: one issue comment per pull request (per marker id), found by its
//! hidden marker *and* our bot login, so nobody can take it over by pasting the marker.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diff::Diff;
use crate::report::diff_md;
use crate::yaml::PointerExt;

/// GitHub's limit is 65,536; we stay well under it.
pub const MAX_SUMMARY: usize = 60_000;

/// What happens to an earlier summary comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Behavior {
    /// Edit the existing comment in place (skipped when the body is unchanged).
    #[default]
    Update,
    /// Post a new comment each time the body changes; keep the old ones.
    New,
    /// Post a new comment and minimize (hide) the previous one as outdated.
    HideAndNew,
    /// Post a new comment and delete the previous ones.
    DeleteAndNew,
}

impl Behavior {
    /// The kebab-case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Behavior::Update => "update",
            Behavior::New => "new",
            Behavior::HideAndNew => "hide-and-new",
            Behavior::DeleteAndNew => "delete-and-new",
        }
    }
}

/// The hidden marker of the summary comment.
#[must_use]
pub fn marker(id: &str) -> String {
    format!("<!-- clustergpt:summary id={id} -->")
}

/// Lines about the review and about what could not be posted, shown under the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// Markdown lines (already escaped).
    pub lines: Vec<String>,
}

/// The full comment body, under [`MAX_SUMMARY`] characters: marker, the diff report (cut in the
/// middle when needed), extra lines and the footer.
///
/// # Errors
/// When the report template fails.
pub fn body(diff: &Diff, extras: &Extras, marker_id: &str, head_sha: &str) -> anyhow::Result<String> {
    let head = marker(marker_id);
    let mut tail = String::new();
    if !extras.lines.is_empty() {
        tail.push('\n');
        for l in &extras.lines {
            tail.push_str(l);
            tail.push('\n');
        }
    }
    let short: String = head_sha.chars().take(7).collect();
    tail.push_str(&format!(
        "\n<sub>ClusterGPT · this comment is updated on every push · last run on commit `{short}`</sub>\n"
    ));
    // Keep the extras whole; cut the report.
    let tail = if tail.len() > MAX_SUMMARY / 4 { diff_md::truncate_middle(&tail, MAX_SUMMARY / 4) } else { tail };
    let budget = MAX_SUMMARY - head.len() - 1 - tail.len();
    let report = diff_md::render_limited(diff, budget)?;
    Ok(format!("{head}\n{report}{tail}"))
}

/// One of our summary comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// Comment id.
    pub id: u64,
    /// GraphQL node id (to minimize it).
    pub node_id: String,
    /// Its body.
    pub body: String,
}

/// Our summary comments (bot login and marker), oldest first.
#[must_use]
pub fn own_comments(list: &[Value], bot: &str, marker_id: &str) -> Vec<Existing> {
    let m = marker(marker_id);
    let mut out: Vec<Existing> = list
        .iter()
        .filter(|c| c.ptr("/user/login").and_then(Value::as_str).is_some_and(|l| l.eq_ignore_ascii_case(bot)))
        .filter_map(|c| {
            let body = c.get("body").and_then(Value::as_str)?;
            body.starts_with(&m).then(|| Existing {
                id: c.get("id").and_then(Value::as_u64).unwrap_or(0),
                node_id: c.get("node_id").and_then(Value::as_str).unwrap_or_default().to_string(),
                body: body.to_string(),
            })
        })
        .filter(|e| e.id != 0)
        .collect();
    out.sort_by_key(|e| e.id);
    out
}

/// What to do with the summary comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The latest comment already says this.
    Unchanged(u64),
    /// Edit this comment.
    Update(u64),
    /// Post a new comment, after minimizing these (node ids) and deleting these (ids).
    Create {
        /// Node ids to minimize.
        hide: Vec<String>,
        /// Ids to delete.
        delete: Vec<u64>,
    },
}

/// Decides what to do given our existing comments (oldest first).
#[must_use]
pub fn decide(existing: &[Existing], body: &str, behavior: Behavior) -> Action {
    let Some(latest) = existing.last() else { return Action::Create { hide: Vec::new(), delete: Vec::new() } };
    if latest.body.trim_end() == body.trim_end() {
        return Action::Unchanged(latest.id);
    }
    match behavior {
        Behavior::Update => Action::Update(latest.id),
        Behavior::New => Action::Create { hide: Vec::new(), delete: Vec::new() },
        Behavior::HideAndNew => Action::Create {
            hide: vec![latest.node_id.clone()].into_iter().filter(|n| !n.is_empty()).collect(),
            delete: Vec::new(),
        },
        Behavior::DeleteAndNew => Action::Create { hide: Vec::new(), delete: existing.iter().map(|e| e.id).collect() },
    }
}

/// The GraphQL mutation that hides a comment as outdated.
pub const MINIMIZE: &str = "mutation($id: ID!) { minimizeComment(input: {subjectId: $id, classifier: OUTDATED}) { minimizedComment { isMinimized } } }";
