//! The check run: one per run on the pull request's head commit, its conclusion from the gates,
//! an annotation for every new finding with a file location, sent 50 per request (GitHub's limit).

use serde_json::{Value, json};

use crate::diff::Diff;
use crate::model::{Finding, Severity};

/// GitHub takes at most 50 annotations per request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;

/// A check run's summary may hold 65,535 characters.
const MAX_OUTPUT: usize = 65_000;

/// `failure`, `warning` or `notice`.
#[must_use]
pub fn annotation_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "failure",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// The annotation of a finding, if it has a file and line.
#[must_use]
pub fn annotation(f: &Finding) -> Option<Value> {
    let path = f.location.file.as_deref()?;
    let line = f.location.line?;
    let mut message = format!("{}: {}", f.object, f.message);
    if let Some(fix) = &f.fix {
        message.push_str(&format!("\nFix ({}): {}", crate::report::applicability_name(fix.applicability), fix.title));
    }
    let mut a = json!({
        "path": path,
        "start_line": line,
        "end_line": line,
        "annotation_level": annotation_level(f.severity),
        "title": cut(&format!("{} {} ({})", f.rule, f.name, f.severity), 255),
        "message": cut(&message, 60_000),
    });
    if let Some(k) = f.fix.as_ref().and_then(|x| x.patch.as_ref()).and_then(|p| p.kubectl.as_ref()) {
        a["raw_details"] = json!(cut(k, 60_000));
    }
    Some(a)
}

/// The requests that make the check run: a POST, then one PATCH per further batch of 50
/// annotations. With more than one batch, the run is created `in_progress` and the last PATCH
/// completes it (annotations are appended on each update).
#[must_use]
pub fn requests(name: &str, head_sha: &str, external_id: &str, diff: &Diff, summary_md: &str) -> (Value, Vec<Value>) {
    let annotations: Vec<Value> = diff.new.iter().filter_map(annotation).collect();
    let conclusion = if diff.passed() { "success" } else { "failure" };
    let title = cut(&diff.verdict(), 1000);
    let mut summary = cut(summary_md, MAX_OUTPUT);
    let unlocated = diff.new.len() - annotations.len();
    if unlocated > 0 {
        summary = cut(
            &format!("{summary}\n\n{unlocated} new finding(s) have no file location and are not annotated."),
            MAX_OUTPUT,
        );
    }
    let batches: Vec<&[Value]> = annotations.chunks(ANNOTATIONS_PER_REQUEST).collect();
    let output = |batch: &[Value]| json!({ "title": title, "summary": summary, "annotations": batch });
    let first_batch = batches.first().copied().unwrap_or(&[]);
    let mut create = json!({
        "name": name,
        "head_sha": head_sha,
        "external_id": external_id,
        "output": output(first_batch),
    });
    let mut patches = Vec::new();
    if batches.len() <= 1 {
        create["status"] = json!("completed");
        create["conclusion"] = json!(conclusion);
    } else {
        create["status"] = json!("in_progress");
        for (i, batch) in batches.iter().enumerate().skip(1) {
            let mut p = json!({ "output": output(batch) });
            if i == batches.len() - 1 {
                p["status"] = json!("completed");
                p["conclusion"] = json!(conclusion);
            }
            patches.push(p);
        }
    }
    (create, patches)
}
