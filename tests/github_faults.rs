//! `clustergpt pr` when GitHub says no: forks' read-only tokens (403 → workflow commands), a 422
//! on the review (summary only), rate limits (429, secondary 403 with `retry-after`,
//! `x-ratelimit-reset`), 5xx, lost answers to POSTs, the time budget, and the token never shown.
//! Also the sticky summary's behaviours.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod github_fake;

use std::time::Duration;

use clustergpt::cli::Status;
use clustergpt::github::Posted;
use github_fake::*;
use serde_json::json;

fn secs(v: &[Duration]) -> Vec<u64> {
    v.iter().map(Duration::as_secs).collect()
}

#[test]
fn read_only_token_degrades_to_workflow_commands_and_keeps_the_gate() {
    let h = standard();
    h.state().deny_writes = true;
    let summary_file = h.path("step-summary.md");
    let output_file = h.path("github-output");
    let mut inputs = h.inputs();
    inputs.env.in_actions = true;
    inputs.env.step_summary = Some(summary_file.clone());
    inputs.env.output = Some(output_file.clone());
    let (o, out) = h.run_with(&h.args(&["--fail-on-new", "critical"]), &inputs);
    assert_eq!(o.status, Status::GateFailed, "the exit code still comes from the gates");
    assert!(matches!(o.review, Posted::Denied(_)), "{:?}", o.review);
    assert!(matches!(o.summary, Posted::Denied(_)));
    assert!(matches!(o.check_run, Posted::Denied(_)));
    assert!(o.printed_commands);
    assert!(
        out.contains(
            "::error file=k8s/app.yaml,line=30,title=SEC001 privileged-container (critical)::Deployment/shop/web: "
        ),
        "{out}"
    );
    assert!(out.contains("::notice file=k8s/app.yaml,line=20,title=REL012"), "{out}");
    assert!(out.contains("::warning::ClusterGPT: review comments were not posted: POST /repos/acme/shop/pulls/7/reviews: HTTP 403: Resource not accessible by integration."), "{out}");
    assert!(out.contains("two-stage pattern"));
    // Every command is one line: messages are escaped.
    assert!(out.lines().filter(|l| l.starts_with("::")).all(|l| !l.contains('\r')));
    let step = std::fs::read_to_string(&summary_file).unwrap();
    assert!(step.contains("## ClusterGPT"), "{step}");
    assert!(step.contains("> [!WARNING]"), "{step}");
    assert!(!step.contains("<!-- clustergpt:summary"), "no marker in the step summary");
    let outputs = std::fs::read_to_string(&output_file).unwrap();
    assert!(outputs.contains("new-findings=3\n"), "{outputs}");
    assert!(outputs.contains("new-critical=1\n"));
    assert!(outputs.contains("gate=failed\n"));
    assert!(!out.contains(TOKEN) && !step.contains(TOKEN) && !outputs.contains(TOKEN));
}

#[test]
fn more_than_ten_annotations_per_level_go_to_the_step_summary() {
    let head: String = (0..12)
        .map(|i| format!("---\n{}", deployment(&format!("app{i:02}"), 1, "            privileged: true\n")))
        .collect();
    let h = Harness::new(&[("README2.md", "x\n")], &[("k8s/many.yaml", &head)]);
    h.state().deny_writes = true;
    let summary_file = h.path("step-summary.md");
    let mut inputs = h.inputs();
    inputs.env.in_actions = true;
    inputs.env.step_summary = Some(summary_file.clone());
    let (_, out) = h.run_with(&h.args(&[]), &inputs);
    assert_eq!(out.lines().filter(|l| l.starts_with("::error file=")).count(), 10, "{out}");
    let step = std::fs::read_to_string(&summary_file).unwrap();
    assert!(step.contains("### More findings"), "{step}");
    // 12 errors (critical) and 24 warnings (medium): 2 and 14 over the limit.
    assert!(step.contains("these 16 were not annotated"), "{step}");
    assert_eq!(out.lines().filter(|l| l.starts_with("::warning file=")).count(), 10);
}

#[test]
fn review_rejected_with_422_still_posts_the_summary() {
    let h = standard();
    h.state().faults.push_back(Fault::new("POST", "/reviews", 422).body(json!({
        "message": "Unprocessable Entity", "errors": ["Pull request review thread line must be part of the diff"]
    })));
    let (o, out) = h.run(&[]);
    assert!(matches!(&o.review, Posted::Failed(s) if s.contains("HTTP 422")), "{:?}", o.review);
    assert!(matches!(o.summary, Posted::Done(_)));
    assert!(matches!(o.check_run, Posted::Done(_)));
    assert_eq!(o.status, Status::Passed, "{out}");
    let st = h.state();
    assert!(st.review_comments.is_empty());
    let body = st.issue_comments[0]["body"].as_str().unwrap();
    assert!(body.contains("⚠️ Review comments were not posted"), "{body}");
    assert!(body.contains("SEC001"), "every new finding is in the summary");
}

#[test]
fn rate_limits_are_waited_out_as_github_asks() {
    let h = standard();
    {
        let mut st = h.state();
        // Primary limit on a read: wait until the reset time (+1 s).
        st.faults.push_back(
            Fault::new("GET", "/pulls/7/files", 403)
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", "1700000030")
                .body(json!({"message": "API rate limit exceeded"})),
        );
        // 429 on the review POST: retried (it was refused, not done) after retry-after.
        st.faults.push_back(Fault::new("POST", "/reviews", 429).header("retry-after", "7"));
        // Secondary limit on the summary POST: 403 with retry-after.
        st.faults.push_back(
            Fault::new("POST", "/issues/7/comments", 403)
                .header("retry-after", "3")
                .body(json!({"message": "You have exceeded a secondary rate limit"})),
        );
        // A secondary limit naming no time: the policy's wait (60 s by default).
        st.faults.push_back(
            Fault::new("POST", "/check-runs", 403).body(json!({"message": "You have exceeded a secondary rate limit"})),
        );
    }
    let (o, out) = h.run(&[]);
    assert!(matches!(o.review, Posted::Done(_)), "{out}");
    assert!(matches!(o.summary, Posted::Done(_)));
    assert!(matches!(o.check_run, Posted::Done(_)));
    assert_eq!(secs(&h.clock.sleeps()), [31, 7, 3, 60]);
    let st = h.state();
    assert_eq!(st.reviews.len(), 1);
    assert_eq!(st.issue_comments.len(), 1);
    assert_eq!(st.check_runs.len(), 1);
}

#[test]
fn server_errors_are_retried_with_backoff_for_idempotent_requests() {
    let h = standard();
    h.state().faults.push_back(Fault::new("GET", "/issues/7/comments", 502).times(2));
    let (o, _) = h.run(&[]);
    assert!(matches!(o.summary, Posted::Done(_)));
    assert_eq!(secs(&h.clock.sleeps()), [1, 2], "exponential backoff");
    assert_eq!(h.state().issue_comments.len(), 1);
}

#[test]
fn a_lost_answer_to_a_post_is_checked_before_sending_again() {
    let h = standard();
    {
        let mut st = h.state();
        // The summary comment is created, but the answer is a 502: no second comment.
        st.faults.push_back(Fault::new("POST", "/issues/7/comments", 502).after());
        // The review is refused with a 500 (not created): it is sent again, once.
        st.faults.push_back(Fault::new("POST", "/reviews", 500));
        // The check run is created, the answer lost: found by its external id.
        st.faults.push_back(Fault::new("POST", "/check-runs", 503).after());
    }
    let (o, out) = h.run(&[]);
    assert!(matches!(o.review, Posted::Done(_)), "{out}");
    assert!(matches!(o.summary, Posted::Done(_)), "{out}");
    assert!(matches!(o.check_run, Posted::Done(_)), "{out}");
    let st = h.state();
    assert_eq!(st.issue_comments.len(), 1, "one summary comment");
    assert_eq!(st.reviews.len(), 1, "one review");
    assert_eq!(st.review_comments.len(), 1);
    assert_eq!(st.check_runs.len(), 1, "one check run");
}

#[test]
fn a_failed_review_never_loses_the_summary() {
    let h = standard();
    h.state().faults.push_back(Fault::new("POST", "/reviews", 500).times(10));
    let (o, _) = h.run(&[]);
    assert!(matches!(o.review, Posted::Failed(_)), "{:?}", o.review);
    assert!(matches!(o.summary, Posted::Done(_)));
    assert_eq!(h.state().issue_comments.len(), 1);
}

#[test]
fn waits_past_the_time_budget_give_up() {
    let h = standard();
    h.state().faults.push_back(Fault::new("POST", "/reviews", 429).header("retry-after", "3600"));
    let (o, _) = h.run(&["--api-timeout", "120"]);
    assert!(matches!(&o.review, Posted::Failed(s) if s.contains("past the time budget of 120 s")), "{:?}", o.review);
    assert!(h.clock.sleeps().is_empty(), "never waited an hour");
    assert!(matches!(o.summary, Posted::Done(_)));
}

#[test]
fn the_token_never_appears_in_output() {
    let h = standard();
    {
        let mut st = h.state();
        // Even if an error message echoes it.
        st.faults.push_back(
            Fault::new("POST", "/reviews", 401).body(json!({ "message": format!("Bad credentials {TOKEN}") })),
        );
        st.deny_writes = true;
    }
    let mut inputs = h.inputs();
    inputs.env.in_actions = true;
    let (o, out) = h.run_with(&h.args(&[]), &inputs);
    assert!(out.contains("Bad credentials ***"), "{out}");
    assert!(!out.contains(TOKEN), "{out}");
    assert!(!format!("{o:?}").contains(TOKEN));
    let (_, dry) = h.run(&["--dry-run"]);
    assert!(!dry.contains(TOKEN));
    // A token with a line break is refused without being shown.
    let mut bad = h.inputs();
    bad.token = Some(format!("{TOKEN}\nx-injected: 1"));
    let mut sink = Vec::new();
    let err = h.rt.block_on(clustergpt::github::run_outcome(&h.args(&[]), &bad, &mut sink)).unwrap_err();
    assert!(!format!("{err:#}").contains(TOKEN), "{err:#}");
}

#[test]
fn summary_is_updated_only_when_it_changed_and_only_ours() {
    let h = standard();
    let marker = "<!-- clustergpt:summary id=default -->";
    {
        let mut st = h.state();
        // Someone pastes our marker: never ours to edit.
        st.issue_comments.push(
            json!({ "id": 1, "node_id": "IC_1", "user": { "login": "mallory" }, "body": format!("{marker}\nhijack") }),
        );
    }
    let (o, _) = h.run(&[]);
    assert_eq!(o.summary, Posted::Done("posted".into()));
    let id = {
        let st = h.state();
        assert_eq!(st.issue_comments.len(), 2);
        assert_eq!(st.issue_comments[0]["body"], format!("{marker}\nhijack"));
        st.issue_comments[1]["id"].as_u64().unwrap()
    };
    // Unchanged: skipped.
    let (o, _) = h.run(&[]);
    assert_eq!(o.summary, Posted::Done("unchanged, not updated".into()));
    // Our comment says something older: updated in place.
    h.state().issue_comments[1]["body"] = json!(format!("{marker}\nold report"));
    let (o, _) = h.run(&[]);
    assert_eq!(o.summary, Posted::Done("updated".into()));
    let patches: Vec<String> = h.writes().into_iter().filter(|(m, _, _)| m == "PATCH").map(|(_, p, _)| p).collect();
    assert_eq!(patches, [format!("/repos/acme/shop/issues/comments/{id}")]);
    assert_eq!(h.state().issue_comments.len(), 2);
}

fn with_old_summary(behavior: &str) -> Harness {
    let h = standard();
    let old = json!({
        "id": 5, "node_id": "IC_5", "user": { "login": BOT },
        "body": "<!-- clustergpt:summary id=default -->\nold report"
    });
    h.state().issue_comments.push(old);
    let (o, out) = h.run(&["--comment-behavior", behavior]);
    assert!(matches!(o.summary, Posted::Done(_)), "{out}");
    h
}

#[test]
fn behavior_new_keeps_the_old_comment() {
    let h = with_old_summary("new");
    assert_eq!(h.state().issue_comments.len(), 2);
    assert!(h.writes().iter().all(|(m, p, _)| !(m == "DELETE" && p.contains("/issues/"))));
    // Unchanged on a rerun: no third comment.
    h.run(&["--comment-behavior", "new"]);
    assert_eq!(h.state().issue_comments.len(), 2);
}

#[test]
fn behavior_hide_and_new_minimizes_the_old_comment() {
    let h = with_old_summary("hide-and-new");
    let st = h.state();
    assert_eq!(st.issue_comments.len(), 2);
    assert_eq!(st.minimized, ["IC_5"]);
    drop(st);
    let gql = h.writes().into_iter().find(|(_, p, _)| p == "/graphql").unwrap();
    assert!(
        gql.2["query"].as_str().unwrap().contains("minimizeComment(input: {subjectId: $id, classifier: OUTDATED})")
    );
}

#[test]
fn behavior_delete_and_new_deletes_after_posting() {
    let h = with_old_summary("delete-and-new");
    let st = h.state();
    assert_eq!(st.issue_comments.len(), 1);
    assert_ne!(st.issue_comments[0]["id"], 5);
    drop(st);
    let order: Vec<String> =
        h.writes().into_iter().filter(|(_, p, _)| p.contains("/issues/")).map(|(m, p, _)| format!("{m} {p}")).collect();
    assert_eq!(order, ["POST /repos/acme/shop/issues/7/comments", "DELETE /repos/acme/shop/issues/comments/5"]);
}
