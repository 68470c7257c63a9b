//! The fork-safe two-stage pattern (`--emit-artifact` then `--post-artifact`, the artifact treated
//! as hostile), and the whole command run as the action runs it: the binary, a real-shaped
//! `pull_request` event payload, the Actions environment, a loopback API.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod github_fake;
mod llm_stub;

use std::process::Command;

use clustergpt::cli::Status;
use clustergpt::github::Posted;
use github_fake::*;
use serde_json::{Value, json};

fn emit(h: &Harness) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let (o, out) = h.run(&["--emit-artifact", &d]);
    assert_eq!(o.status, Status::Passed, "{out}");
    assert!(out.contains("clustergpt-pr.json"), "{out}");
    dir
}

fn post(h: &Harness, dir: &std::path::Path) -> anyhow::Result<clustergpt::github::Outcome> {
    let mut inputs = h.inputs();
    // The posting job never checks out the PR: an empty directory, not a repository.
    let empty = tempfile::tempdir().unwrap();
    inputs.cwd = empty.path().to_path_buf();
    let args = clustergpt::github::parse_args(["--post-artifact", dir.to_str().unwrap()]).unwrap();
    let mut out = Vec::new();
    h.rt.block_on(clustergpt::github::run_outcome(&args, &inputs, &mut out))
}

#[test]
fn emit_then_post_gives_the_same_review_as_a_direct_run() {
    let h = standard();
    let dir = emit(&h);
    assert!(h.requests().is_empty(), "stage 1 needs no API at all");
    let o = post(&h, dir.path()).unwrap();
    assert!(matches!(o.review, Posted::Done(_)), "{:?}", o.review);
    assert!(matches!(o.summary, Posted::Done(_)));
    assert!(matches!(o.check_run, Posted::Done(_)));
    let two_stage: Vec<Value> = h.state().reviews[0]["comments"].as_array().unwrap().clone();

    let direct = standard();
    direct.run(&[]);
    let one_stage: Vec<Value> = direct.state().reviews[0]["comments"].as_array().unwrap().clone();
    assert_eq!(two_stage, one_stage);
    let a = h.state().issue_comments[0]["body"].as_str().unwrap().to_string();
    let b = direct.state().issue_comments[0]["body"].as_str().unwrap().to_string();
    assert_eq!(a, b, "the posting job renders the same summary from the data");
}

fn tamper(dir: &std::path::Path, f: impl FnOnce(&mut Value)) {
    let p = dir.join("clustergpt-pr.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
}

#[test]
fn hostile_artifacts_are_refused_before_any_request() {
    let h = standard();
    type Tamper = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Tamper)> = vec![
        ("another repository", Box::new(|v: &mut Value| v["repository"] = json!("evil/repo"))),
        (
            "path escaping the repository",
            Box::new(|v: &mut Value| v["new"][0]["location"]["file"] = json!("../../etc/passwd")),
        ),
        ("absolute path", Box::new(|v: &mut Value| v["new"][0]["location"]["file"] = json!("/etc/passwd"))),
        ("marker breakout", Box::new(|v: &mut Value| v["new"][0]["fingerprint"] = json!("aa --> <img src=x>"))),
        ("unknown field", Box::new(|v: &mut Value| v["post_this"] = json!("@everyone"))),
        ("bad head sha", Box::new(|v: &mut Value| v["head_sha"] = json!("main"))),
        ("version", Box::new(|v: &mut Value| v["clustergpt_artifact"] = json!(99))),
        ("control characters", Box::new(|v: &mut Value| v["new"][0]["message"] = json!("a\u{1b}[31mb"))),
        (
            "suggestion elsewhere",
            Box::new(|v: &mut Value| {
                let f =
                    v["new"].as_array_mut().unwrap().iter_mut().find(|f| f["fix"]["suggestion"].is_object()).unwrap();
                f["fix"]["suggestion"]["file"] = json!(".github/workflows/ci.yml");
            }),
        ),
        ("not JSON numbers", Box::new(|v: &mut Value| v["cost"]["delta_monthly"] = json!("NaN"))),
    ];
    for (name, f) in cases {
        let dir = emit(&h);
        tamper(dir.path(), f);
        let err = post(&h, dir.path()).expect_err(name);
        assert!(format!("{err:#}").contains("artifact"), "{name}: {err:#}");
    }
    // A symbolic link instead of the file.
    let dir = emit(&h);
    let real = dir.path().join("real.json");
    std::fs::rename(dir.path().join("clustergpt-pr.json"), &real).unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("clustergpt-pr.json")).unwrap();
    let err = post(&h, dir.path()).unwrap_err();
    assert!(format!("{err:#}").contains("links are refused"), "{err:#}");
    assert!(h.requests().is_empty(), "nothing was sent for a refused artifact");
}

#[test]
fn a_stale_artifact_posts_only_its_check_run() {
    let h = standard();
    let dir = emit(&h);
    h.state().head_sha = "f".repeat(40);
    let o = post(&h, dir.path()).unwrap();
    assert!(matches!(o.review, Posted::Skipped(_)));
    assert!(matches!(o.summary, Posted::Skipped(_)));
    assert!(matches!(o.check_run, Posted::Done(_)));
    let st = h.state();
    assert!(st.issue_comments.is_empty() && st.reviews.is_empty());
    assert_eq!(st.check_runs[0]["head_sha"], h.repo.head.as_str());
}

#[test]
fn the_workflow_run_must_match_the_artifact() {
    let h = standard();
    let dir = emit(&h);
    let event = h.path("event.json");
    std::fs::write(&event, json!({ "workflow_run": { "head_sha": "e".repeat(40), "pull_requests": [] } }).to_string())
        .unwrap();
    let mut inputs = h.inputs();
    inputs.env.event_path = Some(event);
    let args = clustergpt::github::parse_args(["--post-artifact", dir.path().to_str().unwrap()]).unwrap();
    let err = h.rt.block_on(clustergpt::github::run_outcome(&args, &inputs, &mut Vec::new())).unwrap_err();
    assert!(format!("{err:#}").contains("refusing it"), "{err:#}");
}

#[test]
fn missing_base_commit_names_the_fix() {
    let h = standard();
    let args = clustergpt::github::parse_args([
        "--pr",
        "7",
        "--base-sha",
        &"1".repeat(40),
        "--head-sha",
        &h.repo.head,
        "--no-config",
        "k8s",
    ])
    .unwrap();
    let err = h.rt.block_on(clustergpt::github::run_outcome(&args, &h.inputs(), &mut Vec::new())).unwrap_err();
    assert!(format!("{err:#}").contains("fetch-depth: 0"), "{err:#}");
}

/// Runs the binary as the composite action does.
#[test]
fn end_to_end_as_the_action_runs() {
    let h = standard();
    let event = h.path("event.json");
    std::fs::write(
        &event,
        json!({
            "action": "synchronize",
            "number": PR,
            "pull_request": {
                "number": PR,
                "state": "open",
                "base": { "ref": "main", "sha": h.repo.base, "repo": { "full_name": format!("{OWNER}/{REPO}") } },
                "head": { "ref": "feature", "sha": h.repo.head, "repo": { "full_name": format!("{OWNER}/{REPO}") } }
            },
            "repository": { "full_name": format!("{OWNER}/{REPO}") }
        })
        .to_string(),
    )
    .unwrap();
    let temp = tempfile::tempdir().unwrap();
    let step_summary = temp.path().join("summary.md");
    let output = temp.path().join("output");
    let sarif = temp.path().join("clustergpt.sarif");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_clustergpt"))
            .args(["pr", "--no-config", "--fail-on-new", "high", "--sarif-file", sarif.to_str().unwrap(), "k8s/"])
            .current_dir(h.repo.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", temp.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_REPOSITORY", format!("{OWNER}/{REPO}"))
            .env("GITHUB_API_URL", h.server.uri())
            .env("GITHUB_GRAPHQL_URL", format!("{}/graphql", h.server.uri()))
            .env("GITHUB_STEP_SUMMARY", &step_summary)
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("RUNNER_TEMP", temp.path())
            .env("GITHUB_TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    let o = run();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "gate fails on the new critical finding\n{stdout}\n{stderr}");
    assert!(stdout.contains("gate failed: fail-on-new: 1 new finding at or above high (1 critical)"), "{stdout}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    {
        let st = h.state();
        assert_eq!(st.reviews.len(), 1);
        assert_eq!(st.issue_comments.len(), 1);
        assert_eq!(st.check_runs[0]["conclusion"], "failure");
        assert_eq!(st.check_runs[0]["external_id"], "clustergpt-4242-1");
    }
    let outputs = std::fs::read_to_string(&output).unwrap();
    for line in ["new-findings=3", "new-critical=1", "new-high=0", "gate=failed", "currency=USD"] {
        assert!(outputs.lines().any(|l| l == line), "{line} in {outputs}");
    }
    let report_path = temp.path().join("clustergpt-report.md");
    assert!(outputs.contains(&format!("report-path={}", report_path.display())));
    assert!(outputs.contains("summary-comment-url=https://github.test/acme/shop/pull/7#issuecomment-"));
    assert!(std::fs::read_to_string(&report_path).unwrap().starts_with("## ClusterGPT"));
    assert!(std::fs::read_to_string(&step_summary).unwrap().contains("### New findings (3)"));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(s["version"], "2.1.0");
    assert_eq!(s["runs"][0]["automationDetails"]["id"], "clustergpt/");
    let uris: Vec<&str> = s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.pointer("/locations/0/physicalLocation/artifactLocation/uri").and_then(Value::as_str))
        .collect();
    assert!(!uris.is_empty() && uris.iter().all(|u| *u == "k8s/app.yaml"), "{uris:?}");

    // A rerun on the same commit: nothing new posted, the summary untouched.
    let o = run();
    assert_eq!(o.status.code(), Some(1));
    let st = h.state();
    assert_eq!((st.reviews.len(), st.issue_comments.len(), st.review_comments.len()), (1, 1, 1));
}

/// Stage 2 with `--explain`: the collapsed "Summary" is written from the artifact's findings (the
/// facts of its new findings) by the model the trusted `--config` names; nothing is checked out.
#[test]
fn post_artifact_with_explain_adds_the_summary_from_the_artifact() {
    let h = standard();
    let dir = emit(&h);
    let llm = h.rt.block_on(llm_stub::stub_server());
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("trusted.yaml");
    std::fs::write(&cfg, format!("llm:\n  base_url: {}/v1\n  model: stub-model\n", llm.uri())).unwrap();
    let mut inputs = h.inputs();
    let empty = tempfile::tempdir().unwrap();
    inputs.cwd = empty.path().to_path_buf();
    let args = clustergpt::github::parse_args([
        "--post-artifact",
        dir.path().to_str().unwrap(),
        "--explain",
        "--no-cache",
        "--config",
        cfg.to_str().unwrap(),
    ])
    .unwrap();
    let mut out = Vec::new();
    let o = h.rt.block_on(clustergpt::github::run_outcome(&args, &inputs, &mut out)).unwrap();
    assert!(matches!(o.summary, Posted::Done(_)), "{:?}", o.summary);
    let body = h.state().issue_comments[0]["body"].as_str().unwrap().to_string();
    assert!(
        body.contains("<details><summary>Summary (written by `stub-model` from redacted facts)</summary>"),
        "{body}"
    );
    let asked = h.rt.block_on(llm.received_requests()).unwrap_or_default();
    assert_eq!(asked.len(), 1);
    let sent: Value = serde_json::from_slice(&asked[0].body).unwrap();
    let facts = sent["messages"][1]["content"].as_str().unwrap();
    // The facts are the artifact's new findings, each of which the summary lists by rule.
    let facts: Value = serde_json::from_str(facts.split_once('\n').unwrap().1).unwrap();
    let findings = facts["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{facts}");
    for f in findings {
        assert!(body.contains(f["rule"].as_str().unwrap()), "{} in {body}", f["rule"]);
    }
}
