//! `clustergpt pr` against a loopback GitHub: review comment placement and bodies, idempotent
//! reruns, stale comment deletion, the comment cap, check-run annotation batches, dry runs.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod github_fake;

use clustergpt::cli::Status;
use clustergpt::github::Posted;
use github_fake::*;
use serde_json::{Value, json};

fn rule_of(body: &str) -> String {
    // `… **critical** · **SEC001** `privileged-container` …`
    body.split("· **").nth(1).and_then(|s| s.split("**").next()).unwrap_or_default().to_string()
}

#[test]
fn comments_land_on_changed_lines_with_suggested_changes() {
    let h = standard();
    let (outcome, out) = h.run(&[]);
    assert_eq!(outcome.status, Status::Passed, "{out}");
    assert!(matches!(outcome.review, Posted::Done(_)), "{:?}", outcome.review);

    let reviews: Vec<Value> = h
        .writes()
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/pulls/7/reviews"))
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!(reviews.len(), 1, "one review with every comment");
    let review = &reviews[0];
    assert_eq!(review["event"], "COMMENT");
    assert_eq!(review["commit_id"], h.repo.head.as_str());
    let comments = review["comments"].as_array().unwrap();
    // SEC001 (critical, with a suggestion) on the added line 30; SEC002 defers to it there.
    // REL010 (line 4) and REL012 (line 20) are outside the hunks (9-15, 27-33): summary only.
    let rules: Vec<String> = comments.iter().map(|c| rule_of(c["body"].as_str().unwrap())).collect();
    assert_eq!(rules, ["SEC001"]);
    for c in comments {
        assert_eq!(c["path"], "k8s/app.yaml");
        assert_eq!(c["line"], 30);
        assert_eq!(c["side"], "RIGHT");
        assert!(c.get("start_line").is_none(), "single-line anchors: {c}");
        assert!(c["body"].as_str().unwrap().starts_with("<!-- clustergpt:finding id=default fp="));
    }
    let sec001 = comments[0]["body"].as_str().unwrap();
    assert!(sec001.contains("**Suggested change** (unsafe fix): "), "{sec001}");
    assert!(sec001.contains("\n```suggestion\n            privileged: false\n```\n"), "{sec001}");

    // The summary lists what is not inline; the check run annotates all three new findings.
    let st = h.state();
    assert_eq!(st.issue_comments.len(), 1);
    let summary = st.issue_comments[0]["body"].as_str().unwrap();
    assert!(summary.starts_with("<!-- clustergpt:summary id=default -->\n## ClusterGPT"), "{summary}");
    assert!(summary.contains("Review comments: 1 of 3 new findings on changed lines. 2 outside the changed lines."));
    assert!(summary.contains("updated on every push"));
    assert!(summary.len() < 60_000);
    assert_eq!(st.check_runs.len(), 1);
    let run = &st.check_runs[0];
    assert_eq!(run["head_sha"], h.repo.head.as_str());
    assert_eq!(run["status"], "completed");
    assert_eq!(run["conclusion"], "success");
    assert_eq!(run["output"]["annotations"].as_array().unwrap().len(), 3);
    // Authorization is sent, and only as a header.
    drop(st);
    let raw = h.rt.block_on(h.server.received_requests()).unwrap();
    assert!(raw.iter().all(|r| r.headers.get("authorization").unwrap().to_str().unwrap() == format!("Bearer {TOKEN}")));
}

#[test]
fn multi_line_suggestion_inside_one_hunk_uses_start_line() {
    // REL011's fix for `minAvailable: 100%` removes that line and adds `maxUnavailable: 1` after
    // the selector: a replacement of lines 7-9, all inside the new file's single hunk.
    let pdb = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: search\n  namespace: shop\nspec:\n  minAvailable: 100%\n  selector:\n    matchLabels: {app: search}\n";
    let h = Harness::new(&[("README2.md", "x\n")], &[("k8s/pdb.yaml", pdb)]);
    let (outcome, out) = h.run(&[]);
    assert!(matches!(outcome.review, Posted::Done(_)), "{out}");
    let st = h.state();
    let c = st.reviews[0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| rule_of(c["body"].as_str().unwrap()) == "REL011")
        .cloned()
        .unwrap();
    assert_eq!((c["start_line"].as_u64(), c["line"].as_u64()), (Some(7), Some(9)), "{c}");
    assert_eq!(c["start_side"], "RIGHT");
    let body = c["body"].as_str().unwrap();
    assert!(
        body.contains("```suggestion\n  selector:\n    matchLabels: {app: search}\n  maxUnavailable: 1\n```"),
        "{body}"
    );
    // Every comment sits inside the hunk (the fake answers 422 otherwise) and no suggestion
    // carries placeholders of display-only fixes.
    for c in &st.review_comments {
        assert!(!c["body"].as_str().unwrap().contains("<HEALTH_PATH>"));
    }
}

#[test]
fn ten_reruns_leave_exactly_the_same_comments() {
    let h = standard();
    h.run(&[]);
    let first: Vec<Value> = h.state().review_comments.clone();
    let first_summary = h.state().issue_comments.clone();
    for _ in 0..9 {
        let (o, out) = h.run(&[]);
        assert_eq!(o.summary, Posted::Done("unchanged, not updated".into()), "{out}");
        assert!(matches!(&o.review, Posted::Done(s) if s == "1 already present"), "{:?}", o.review);
    }
    let st = h.state();
    assert_eq!(st.review_comments, first, "no comment added, changed or removed");
    assert_eq!(st.issue_comments, first_summary, "one summary comment, never edited");
    assert_eq!(st.reviews.len(), 1, "one review in ten runs");
    drop(st);
    let writes = h.writes();
    let posts_to = |suffix: &str| writes.iter().filter(|(m, p, _)| m == "POST" && p.ends_with(suffix)).count();
    assert_eq!(posts_to("/reviews"), 1);
    assert_eq!(posts_to("/issues/7/comments"), 1);
    assert!(writes.iter().all(|(m, _, _)| m != "PATCH" && m != "DELETE"), "{writes:?}");
    assert_eq!(posts_to("/check-runs"), 10, "a check run per run");
}

#[test]
fn stale_comments_are_deleted_unless_someone_replied() {
    let h = standard();
    let marker = |fp: &str| format!("<!-- clustergpt:finding id=default fp={fp} -->\nold finding");
    {
        let mut st = h.state();
        let bot = json!({ "login": BOT });
        st.review_comments = vec![
            // Ours, finding resolved, nobody replied: deleted.
            json!({ "id": 1, "user": bot, "body": marker(&"a".repeat(32)), "path": "k8s/app.yaml", "line": 12 }),
            // Ours, finding resolved, but a person replied: kept.
            json!({ "id": 2, "user": bot, "body": marker(&"b".repeat(32)), "path": "k8s/app.yaml", "line": 13 }),
            json!({ "id": 3, "user": { "login": "alice" }, "body": "We need this, see ticket", "in_reply_to_id": 2 }),
            // Someone else pasting our marker: never ours to delete.
            json!({ "id": 4, "user": { "login": "mallory" }, "body": marker(&"c".repeat(32)), "path": "k8s/app.yaml", "line": 12 }),
            // Ours under another marker id (another configuration): not touched.
            json!({ "id": 5, "user": bot, "body": format!("<!-- clustergpt:finding id=other fp={} -->", "d".repeat(32)), "line": 12 }),
        ];
    }
    let (o, _) = h.run(&[]);
    assert!(
        matches!(&o.review, Posted::Done(s) if s.contains("1 stale deleted") && s.contains("1 stale kept (replied to)")),
        "{:?}",
        o.review
    );
    let deletes: Vec<String> = h.writes().into_iter().filter(|(m, _, _)| m == "DELETE").map(|(_, p, _)| p).collect();
    assert_eq!(deletes, ["/repos/acme/shop/pulls/comments/1"]);
    let ids: Vec<u64> = h.state().review_comments.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert!(ids.starts_with(&[2, 3, 4, 5]), "{ids:?}");
}

#[test]
fn outdated_own_comment_is_reposted_on_its_current_line() {
    let h = standard();
    h.run(&[]);
    // A push made our SEC001 comment outdated (GitHub sets `line` to null).
    let old_id = {
        let mut st = h.state();
        let c = st.review_comments.iter_mut().find(|c| c["body"].as_str().unwrap().contains("**SEC001**")).unwrap();
        c["line"] = Value::Null;
        c["id"].as_u64().unwrap()
    };
    let (o, _) = h.run(&[]);
    assert!(
        matches!(&o.review, Posted::Done(s) if s.contains("1 comment posted") && s.contains("1 stale deleted")),
        "{:?}",
        o.review
    );
    let st = h.state();
    assert_eq!(st.review_comments.len(), 1);
    assert!(st.review_comments.iter().all(|c| c["id"] != old_id && c["line"] == 30));
}

#[test]
fn comment_cap_and_annotation_batches() {
    // 30 new privileged Deployments in one new file: over 60 new findings, all on added lines.
    let head: String = (0..30)
        .map(|i| format!("---\n{}", deployment(&format!("app{i:02}"), 1, "            privileged: true\n")))
        .collect();
    let h = Harness::new(&[("README2.md", "x\n")], &[("k8s/many.yaml", &head)]);
    let (o, out) = h.run(&["--max-comments", "30"]);
    assert!(matches!(o.review, Posted::Done(_)), "{out}");
    let st = h.state();
    assert_eq!(st.review_comments.len(), 30, "at most 30 inline comments");
    // Most severe first: every critical SEC001 is commented.
    let critical = st.review_comments.iter().filter(|c| c["body"].as_str().unwrap().contains("**SEC001**")).count();
    assert_eq!(critical, 30);
    let summary = st.issue_comments[0]["body"].as_str().unwrap();
    assert!(summary.contains("over the limit of 30 inline comments"), "{summary}");
    // Annotations: created in_progress with 50, then PATCHes of at most 50, the last completing it.
    let run = &st.check_runs[0];
    let total = run["output"]["annotations"].as_array().unwrap().len();
    assert!(total > 50, "{total}");
    assert_eq!(run["status"], "completed");
    drop(st);
    let writes = h.writes();
    let create = writes.iter().find(|(m, p, _)| m == "POST" && p.ends_with("/check-runs")).unwrap();
    assert_eq!(create.2["status"], "in_progress");
    assert_eq!(create.2["output"]["annotations"].as_array().unwrap().len(), 50);
    let patches: Vec<&Value> =
        writes.iter().filter(|(m, p, _)| m == "PATCH" && p.contains("/check-runs/")).map(|(_, _, b)| b).collect();
    assert_eq!(patches.len(), total.div_ceil(50) - 1);
    assert!(patches.iter().all(|p| p["output"]["annotations"].as_array().unwrap().len() <= 50));
    assert_eq!(patches.last().unwrap()["conclusion"], "success");

    // A rerun keeps the same 30 comments: the cap counts what is already there.
    h.run(&[]);
    assert_eq!(h.state().review_comments.len(), 30);
    assert_eq!(h.state().reviews.len(), 1);
}

#[test]
fn dry_run_prints_the_requests_and_sends_no_write() {
    let h = standard();
    let (o, out) = h.run(&["--dry-run"]);
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    let methods: Vec<String> = o.dry_run_requests.iter().map(|r| format!("{} {}", r.method.as_str(), r.url)).collect();
    let base = h.server.uri();
    assert_eq!(
        methods,
        [
            format!("POST {base}/repos/acme/shop/pulls/7/reviews"),
            format!("POST {base}/repos/acme/shop/issues/7/comments"),
            format!("POST {base}/repos/acme/shop/check-runs"),
        ]
    );
    assert!(out.contains(&format!("POST {base}/repos/acme/shop/pulls/7/reviews\n{{\n")), "{out}");
    assert!(out.contains("\"event\": \"COMMENT\""));
    assert!(!out.contains(TOKEN));
    // The same plan as a real run: the body printed is the body that would be posted.
    let printed = &o.dry_run_requests[0].body.as_ref().unwrap()["comments"];
    let (_, _) = h.run(&[]);
    let sent = h.writes().into_iter().find(|(_, p, _)| p.ends_with("/reviews")).unwrap().2;
    assert_eq!(printed, &sent["comments"]);
}

#[test]
fn dry_run_without_api_access_uses_the_local_diff() {
    let h = standard();
    let mut inputs = h.inputs();
    // Nothing listens there: reads fail, hunks come from `git diff`.
    inputs.env.api_url = Some("http://127.0.0.1:9".to_string());
    inputs.retry.max_attempts = 1;
    let (o, out) = h.run_with(&h.args(&["--dry-run"]), &inputs);
    let review = o.dry_run_requests.iter().find(|r| r.url.ends_with("/reviews")).expect("review printed");
    assert_eq!(review.body.as_ref().unwrap()["comments"].as_array().unwrap().len(), 1, "{out}");
}
