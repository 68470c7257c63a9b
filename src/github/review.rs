//! Review comments: where each new finding may be anchored, its body (with a GitHub suggested
//! change when the fix's line replacement lies inside one hunk), and the plan that makes reruns
//! idempotent (hidden fingerprint markers, stale comments deleted unless someone replied).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::hunks::Hunks;
use crate::model::{Applicability, Finding, Severity, Suggestion};
use crate::report::applicability_name;
use crate::report::markdown::{code, escape, fenced, patch_yaml};
use crate::yaml::PointerExt;

/// At most this many inline comments are kept on a pull request; the rest go to the summary.
pub const MAX_COMMENTS: usize = 30;

/// The longest replacement we put in a suggestion block.
const MAX_SUGGESTION: usize = 30_000;

/// The hidden marker of a finding's comment (`id` keeps several configurations apart).
#[must_use]
pub fn finding_marker(id: &str, fingerprint: &str) -> String {
    format!("<!-- clustergpt:finding id={id} fp={fingerprint} -->")
}

/// The marker at the top of our reviews.
pub const REVIEW_MARKER: &str = "<!-- clustergpt:review -->";

/// The fingerprint in a comment's marker, if the body has one: 32 lowercase hex digits (see
/// [`crate::audit::is_fingerprint`]). Markers of the previous release (`-2` suffixes) are still
/// recognised as ours, so their comments are cleaned up as stale instead of being left behind.
#[must_use]
pub fn parse_finding_marker<'a>(body: &'a str, id: &str) -> Option<&'a str> {
    let head = format!("<!-- clustergpt:finding id={id} fp=");
    let start = body.find(&head)? + head.len();
    let rest = &body[start..];
    let end = rest.find(" -->")?;
    let fp = &rest[..end];
    let legacy = fp.split_once('-').is_some_and(|(hex, n)| {
        crate::audit::is_fingerprint(hex) && !n.is_empty() && n.len() <= 6 && n.bytes().all(|b| b.is_ascii_digit())
    });
    (crate::audit::is_fingerprint(fp) || legacy).then_some(fp)
}

/// One comment of a review, anchored on the RIGHT side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedComment {
    /// Fingerprint of the finding.
    pub fingerprint: String,
    /// Repository-relative path.
    pub path: String,
    /// First line of a multi-line comment.
    pub start_line: Option<u32>,
    /// (Last) line.
    pub line: u32,
    /// Whether the body holds a suggested change.
    pub suggestion: bool,
    /// Markdown body, marker first.
    pub body: String,
}

impl PlannedComment {
    /// The comment as the reviews API takes it.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "path": self.path, "body": self.body, "line": self.line, "side": "RIGHT" });
        if let Some(s) = self.start_line {
            v["start_line"] = json!(s);
            v["start_side"] = json!("RIGHT");
        }
        v
    }
}

/// Emoji for a severity.
#[must_use]
pub fn severity_icon(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🔴",
        Severity::High => "🟠",
        Severity::Medium => "🟡",
        Severity::Low => "🔵",
        Severity::Info => "⚪",
    }
}

/// The suggestion usable for a finding: on its own file (for a built object, on the patch or
/// values file its fix edits), whole lines inside one hunk, from a fix that may be applied (not
/// display-only, whose values are placeholders).
#[must_use]
pub fn usable_suggestion<'a>(f: &'a Finding, hunks: &Hunks) -> Option<&'a Suggestion> {
    let fix = f.fix.as_ref()?;
    if fix.applicability == Applicability::DisplayOnly {
        return None;
    }
    let s = fix.suggestion.as_deref()?;
    let file = f.location.file.as_deref()?;
    if (s.file != file && f.rendered.is_none()) || s.replacement.len() > MAX_SUGGESTION || s.replacement.contains('\0')
    {
        return None;
    }
    hunks.containing(&s.file, s.start_line, s.end_line).map(|_| s)
}

/// Where a finding's comment goes, with its body; `None` when it cannot go on the diff.
#[must_use]
pub fn place(f: &Finding, hunks: &Hunks, id: &str) -> Option<PlannedComment> {
    let file = f.location.file.as_deref()?;
    if let Some(s) = usable_suggestion(f, hunks) {
        return Some(PlannedComment {
            fingerprint: f.fingerprint.clone(),
            path: s.file.clone(),
            start_line: (s.start_line < s.end_line).then_some(s.start_line),
            line: s.end_line,
            suggestion: true,
            body: comment_body(f, Some(s), id),
        });
    }
    let line = f.location.line?;
    hunks.contains_line(file, line).then(|| PlannedComment {
        fingerprint: f.fingerprint.clone(),
        path: file.to_string(),
        start_line: None,
        line,
        suggestion: false,
        body: comment_body(f, None, id),
    })
}

/// A suggestion block; an empty replacement deletes the lines.
#[must_use]
pub fn suggestion_block(replacement: &str) -> String {
    if replacement.is_empty() { "```suggestion\n```".to_string() } else { fenced("suggestion", replacement) }
}

/// The Markdown body of a finding's review comment.
#[must_use]
pub fn comment_body(f: &Finding, suggestion: Option<&Suggestion>, id: &str) -> String {
    let mut s = finding_marker(id, &f.fingerprint);
    let _ = write!(
        s,
        "\n{} **{}** · **{}** {} · {}\n\n{}\n",
        severity_icon(f.severity),
        escape(f.severity.as_str()),
        escape(&f.rule),
        code(&f.name, false),
        code(&f.object.to_string(), false),
        crate::report::diff_md::escape_with_code(&f.message, false)
    );
    if !f.evidence.is_empty() {
        s.push_str("\nEvidence:\n");
        for e in f.evidence.iter().take(5) {
            let _ = writeln!(s, "- {} = {}", code(&e.path, false), code(&e.value, false));
        }
    }
    if let Some(fix) = &f.fix {
        let kind = applicability_name(fix.applicability);
        let cost = f
            .cost
            .as_ref()
            .map(|c| format!(" · {} per month", escape(&crate::diff::signed_money(&c.currency, c.monthly_delta))))
            .unwrap_or_default();
        match suggestion {
            Some(sug) => {
                let _ = write!(s, "\n**Suggested change** ({kind} fix): {}{cost}\n", escape(&fix.title));
                if let Some(note) = &fix.note {
                    let _ = writeln!(s, "\n{}", escape(note));
                }
                let _ = writeln!(s, "\n{}", suggestion_block(&sug.replacement));
            }
            None => {
                let _ = write!(s, "\n**Fix** ({kind}): {}{cost}\n", escape(&fix.title));
                if let Some(note) = &fix.note {
                    let _ = writeln!(s, "\n{}", escape(note));
                }
                let (yaml, kubectl) = match &fix.patch {
                    Some(p) => (p.yaml.clone(), p.kubectl.clone()),
                    None => (patch_yaml(&fix.ops), None),
                };
                if !yaml.trim().is_empty() || kubectl.is_some() {
                    s.push_str("\n<details><summary>Patch");
                    if kubectl.is_some() {
                        s.push_str(" and kubectl command");
                    }
                    s.push_str("</summary>\n\n");
                    if !yaml.trim().is_empty() {
                        let _ = writeln!(s, "{}\n", fenced("yaml", &yaml));
                    }
                    if let Some(k) = kubectl {
                        let _ = writeln!(s, "{}\n", fenced("sh", &k));
                    }
                    s.push_str("</details>\n");
                }
            }
        }
    }
    s
}

/// One of our comments already on the pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// Comment id.
    pub id: u64,
    /// Fingerprint from its marker.
    pub fingerprint: String,
    /// Whether it still sits on a line of the current diff (`line` is not null).
    pub current: bool,
    /// Whether someone replied to it.
    pub replied: bool,
}

/// Our comments among the pull request's review comments: written by `bot` and carrying a marker
/// with our id.
#[must_use]
pub fn own_comments(list: &[Value], bot: &str, id: &str) -> Vec<Existing> {
    let replied_to: BTreeSet<u64> =
        list.iter().filter_map(|c| c.get("in_reply_to_id").and_then(Value::as_u64)).collect();
    let mut out: Vec<Existing> = list
        .iter()
        .filter(|c| c.ptr("/user/login").and_then(Value::as_str).is_some_and(|l| l.eq_ignore_ascii_case(bot)))
        .filter(|c| c.get("in_reply_to_id").and_then(Value::as_u64).is_none())
        .filter_map(|c| {
            let comment_id = c.get("id").and_then(Value::as_u64)?;
            let fp = parse_finding_marker(c.get("body").and_then(Value::as_str)?, id)?;
            Some(Existing {
                id: comment_id,
                fingerprint: fp.to_string(),
                current: c.get("line").is_some_and(|l| !l.is_null()),
                replied: replied_to.contains(&comment_id),
            })
        })
        .collect();
    out.sort_by_key(|e| e.id);
    out
}

/// Why a new finding has no inline comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotInline {
    /// Its lines are not in the diff (or it has no file location).
    OutsideDiff,
    /// Over the limit of inline comments.
    OverLimit,
}

/// What a run does to the review comments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewPlan {
    /// New comments, in severity then audit order.
    pub post: Vec<PlannedComment>,
    /// Our comments to delete: their finding is resolved (or, outdated, it is re-posted on its
    /// current line), and nobody replied.
    pub delete: Vec<u64>,
    /// Stale comments kept because someone replied.
    pub kept_replied: usize,
    /// Fingerprints of new findings that already have a comment.
    pub present: BTreeSet<String>,
    /// New findings without an inline comment, and why.
    pub not_inline: BTreeMap<String, NotInline>,
}

/// Plans the review: which comments to post and which of ours to delete.
#[must_use]
pub fn plan(new: &[Finding], hunks: &Hunks, existing: &[Existing], max: usize, id: &str) -> ReviewPlan {
    let new_fps: BTreeSet<&str> = new.iter().map(|f| f.fingerprint.as_str()).collect();
    let mut p = ReviewPlan::default();
    // Several comments of ours for one fingerprint: keep the first live one, delete the others.
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for e in existing {
        let fp = e.fingerprint.as_str();
        let wanted = new_fps.contains(fp);
        let live = e.current || e.replied;
        if wanted && live && !seen.contains(fp) {
            seen.insert(fp);
            p.present.insert(fp.to_string());
        } else if e.replied {
            p.kept_replied += usize::from(!wanted);
        } else {
            p.delete.push(e.id);
        }
    }
    // Most severe first, then the audit's order (file, line, rule).
    let mut order: Vec<&Finding> = new.iter().collect();
    order.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let mut room = max.saturating_sub(p.present.len());
    let mut planned: BTreeSet<&str> = BTreeSet::new();
    // One suggested change per edit: overlays built from one base give the same edit of the base
    // for each overlay's finding; the others are comments without it.
    let mut suggested: BTreeSet<(String, u32, u32, String)> = BTreeSet::new();
    for f in order {
        let fp = f.fingerprint.as_str();
        if p.present.contains(fp) || !planned.insert(fp) {
            continue;
        }
        match place(f, hunks, id) {
            Some(mut c) if room > 0 => {
                room -= 1;
                if let Some(s) = usable_suggestion(f, hunks)
                    && !suggested.insert((s.file.clone(), s.start_line, s.end_line, s.replacement.clone()))
                {
                    c.suggestion = false;
                    c.start_line = None;
                    c.body = comment_body(f, None, id);
                }
                p.post.push(c);
            }
            Some(_) => {
                p.not_inline.insert(fp.to_string(), NotInline::OverLimit);
            }
            None => {
                p.not_inline.insert(fp.to_string(), NotInline::OutsideDiff);
            }
        }
    }
    p
}

/// The review request: every planned comment in one review (event COMMENT).
#[must_use]
pub fn review_payload(head_sha: &str, comments: &[PlannedComment], not_inline: usize) -> Value {
    let mut body = format!(
        "{REVIEW_MARKER}\n**ClusterGPT** reviewed the Kubernetes changes: {} on changed lines.",
        plural(comments.len(), "new finding")
    );
    if not_inline > 0 {
        let _ =
            write!(body, " {} more {} in the summary comment.", not_inline, if not_inline == 1 { "is" } else { "are" });
    }
    json!({
        "commit_id": head_sha,
        "event": "COMMENT",
        "body": body,
        "comments": comments.iter().map(PlannedComment::to_json).collect::<Vec<_>>(),
    })
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let fp = "0123456789abcdef0123456789abcdef";
        let m = finding_marker("default", fp);
        assert_eq!(parse_finding_marker(&format!("{m}\nbody"), "default"), Some(fp));
        assert_eq!(parse_finding_marker(&m, "other"), None);
        assert_eq!(parse_finding_marker("<!-- clustergpt:finding id=default fp=zz -->", "default"), None);
        assert_eq!(parse_finding_marker("nothing", "default"), None);
        // One format: exactly 32 lowercase hex digits.
        for bad in ["0123abcd", "0123456789ABCDEF0123456789abcdef", "0123456789abcdef0123456789abcdef0"] {
            let m = finding_marker("default", bad);
            assert_eq!(parse_finding_marker(&m, "default"), None, "{bad}");
        }
        // The previous release's numbered markers are recognised (as stale comments of ours).
        let old = format!("{fp}-2");
        assert_eq!(parse_finding_marker(&finding_marker("default", &old), "default"), Some(old.as_str()));
        let m = finding_marker("default", &format!("{fp}-x"));
        assert_eq!(parse_finding_marker(&m, "default"), None);
    }

    #[test]
    fn one_suggested_change_per_edit_when_overlays_share_a_base() {
        let finding = |fp: &str, ns: &str| -> Finding {
            let f = json!({
                "fingerprint": fp, "rule": "REL004", "name": "missing-memory-limit", "severity": "medium",
                "area": "reliability", "message": "container `web` has no memory limit",
                "object": {"api_version": "apps/v1", "kind": "Deployment", "namespace": ns, "name": "web"},
                "location": {"file": "k8s/base/deploy.yaml", "line": 16, "path": "/spec/x"},
                "evidence": [],
                "fix": {"title": "Limit memory to 512Mi", "applicability": "unsafe", "ops": [],
                        "suggestion": {"file": "k8s/base/deploy.yaml", "start_line": 19, "end_line": 19,
                                       "replacement": "              memory: 128Mi\n            limits:\n              memory: 512Mi"}},
                "rendered": {"tool": "kustomize", "target": format!("k8s/overlays/{ns}"), "document": 0}
            });
            serde_json::from_value(f).expect("finding")
        };
        let new = [finding(&"a".repeat(32), "prod"), finding(&"b".repeat(32), "staging")];
        let mut hunks = Hunks::default();
        hunks.add_git_diff(
            "diff --git a/k8s/base/deploy.yaml b/k8s/base/deploy.yaml\n--- a/k8s/base/deploy.yaml\n+++ b/k8s/base/deploy.yaml\n@@ -14,3 +14,6 @@\n a\n b\n c\n+d\n+e\n+f\n",
        );
        let p = plan(&new, &hunks, &[], 10, "default");
        assert_eq!(p.post.len(), 2);
        assert_eq!(p.post.iter().filter(|c| c.suggestion).count(), 1, "{:?}", p.post);
        assert_eq!(p.post.iter().filter(|c| c.body.contains("```suggestion")).count(), 1);
        assert!(p.post.iter().all(|c| c.path == "k8s/base/deploy.yaml" && c.line == 19));
    }

    #[test]
    fn suggestion_fence_is_longer_than_backticks_inside() {
        assert_eq!(suggestion_block("a: ```x```"), "````suggestion\na: ```x```\n````");
        assert_eq!(suggestion_block(""), "```suggestion\n```");
    }
}
