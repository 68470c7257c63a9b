//! `clustergpt pr` on a multi-region GitOps layout (one Deployment, same kind/namespace/name, in
//! `k8s/regions/eu-west/` and `k8s/regions/us-east/`) against the loopback GitHub: reruns are
//! idempotent and the fork artifact round-trips.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod github_fake;

use std::collections::BTreeSet;

use clustergpt::cli::Status;
use clustergpt::github::Posted;
use clustergpt::github::review::parse_finding_marker;
use github_fake::*;
use serde_json::Value;

fn fixture(region: &str) -> String {
    let p = format!("{}/manifests-fixtures/regions/k8s/regions/{region}/worker.yaml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(p).unwrap()
}

fn regions() -> Harness {
    let (eu, us) = (fixture("eu-west"), fixture("us-east"));
    Harness::new(
        &[("README2.md", "x\n")],
        &[("k8s/regions/eu-west/worker.yaml", &eu), ("k8s/regions/us-east/worker.yaml", &us)],
    )
}

/// The one fingerprint format (kept local so this file also runs against older builds).
fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn markers(comments: &[Value]) -> Vec<String> {
    comments
        .iter()
        .map(|c| parse_finding_marker(c["body"].as_str().unwrap(), "default").unwrap_or("<none>").to_string())
        .collect()
}

#[test]
fn ten_reruns_on_a_multi_region_repo_leave_the_same_comments() {
    let h = regions();
    let (o, out) = h.run(&[]);
    assert_eq!(o.status, Status::Passed, "{out}");
    let first = h.state().review_comments.clone();
    let first_summary = h.state().issue_comments.clone();
    assert!(first.len() >= 2, "{first:?}");
    // Comments on both copies, each with a well-formed marker of its own.
    let paths: BTreeSet<&str> = first.iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(paths, BTreeSet::from(["k8s/regions/eu-west/worker.yaml", "k8s/regions/us-east/worker.yaml"]));
    let fps = markers(&first);
    assert!(fps.iter().all(|fp| is_hex32(fp)), "{fps:?}");
    assert_eq!(fps.iter().collect::<BTreeSet<_>>().len(), fps.len(), "{fps:?}");
    for _ in 0..9 {
        let (o, out) = h.run(&[]);
        assert_eq!(o.summary, Posted::Done("unchanged, not updated".into()), "{out}");
        let present = format!("{} already present", first.len());
        assert!(matches!(&o.review, Posted::Done(s) if *s == present), "{:?}", o.review);
    }
    let st = h.state();
    assert_eq!(st.review_comments, first, "byte-identical comments after ten runs");
    assert_eq!(st.issue_comments, first_summary, "one summary comment, never edited");
    assert_eq!(st.reviews.len(), 1, "one review in ten runs");
    drop(st);
    let writes = h.writes();
    let posts_to = |suffix: &str| writes.iter().filter(|(m, p, _)| m == "POST" && p.ends_with(suffix)).count();
    assert_eq!(posts_to("/reviews"), 1);
    assert_eq!(posts_to("/issues/7/comments"), 1);
    assert!(writes.iter().all(|(m, _, _)| m != "PATCH" && m != "DELETE"), "{writes:?}");
}

fn post(h: &Harness, dir: &std::path::Path) -> anyhow::Result<clustergpt::github::Outcome> {
    let mut inputs = h.inputs();
    let empty = tempfile::tempdir().unwrap();
    inputs.cwd = empty.path().to_path_buf();
    let args = clustergpt::github::parse_args(["--post-artifact", dir.to_str().unwrap()]).unwrap();
    let mut out = Vec::new();
    h.rt.block_on(clustergpt::github::run_outcome(&args, &inputs, &mut out))
}

#[test]
fn the_artifact_of_a_multi_region_repo_round_trips() {
    let h = regions();
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = h.run(&["--emit-artifact", dir.path().to_str().unwrap()]);
    assert_eq!(o.status, Status::Passed, "{out}");
    assert!(h.requests().is_empty(), "stage 1 needs no API");
    let o = post(&h, dir.path()).expect("the artifact just written is accepted");
    assert!(matches!(o.review, Posted::Done(_)), "{:?}", o.review);
    assert!(matches!(o.summary, Posted::Done(_)), "{:?}", o.summary);
    let two_stage = h.state().reviews[0]["comments"].clone();

    let direct = regions();
    direct.run(&[]);
    assert_eq!(two_stage, direct.state().reviews[0]["comments"], "the same review as a direct run");

    // Posting the same artifact again changes nothing.
    let o = post(&h, dir.path()).unwrap();
    assert!(matches!(&o.review, Posted::Done(s) if s.ends_with("already present")), "{:?}", o.review);
    assert_eq!(h.state().reviews.len(), 1);
}
