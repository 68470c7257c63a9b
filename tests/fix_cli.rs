//! `clustergpt fix` end to end: diff by default, --write, --unsafe, --select, idempotence.

use std::path::{Path, PathBuf};
use std::process::Command;

fn demo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo-app");
    for e in std::fs::read_dir(&src).expect("demo") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, dir.path().join(p.file_name().expect("name"))).expect("copy");
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_clustergpt")).args(args).current_dir(dir).output().expect("run");
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let p = e.expect("entry").path();
            (p.display().to_string(), std::fs::read_to_string(&p).unwrap_or_default())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn diff_is_the_default_and_changes_nothing() {
    let dir = demo_copy();
    let before = snapshot(dir.path());
    let (code, out, err) = run(dir.path(), &["fix", "."]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("+++ b/storage.yaml"), "{out}");
    assert!(out.contains("-apiVersion: batch/v1beta1\n+apiVersion: batch/v1"), "safe SCH002 fix: {out}");
    assert!(!out.contains("replicas: 2"), "unsafe fixes need --unsafe: {out}");
    assert!(err.contains("would be applied"), "{err}");
    assert_eq!(before, snapshot(dir.path()));
}

#[test]
fn write_unsafe_fixes_and_a_second_run_changes_nothing() {
    let dir = demo_copy();
    let (code, _, err) = run(dir.path(), &["fix", ".", "--unsafe", "--write"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("applied REL007"), "{err}");
    let after_first = snapshot(dir.path());
    let (code, out, err) = run(dir.path(), &["fix", ".", "--unsafe", "--write"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.is_empty());
    assert!(err.contains("0 fixes applied"), "{err}");
    assert_eq!(after_first, snapshot(dir.path()), "fix is idempotent");
    // The applied fixes' findings are gone from a fresh audit.
    let (_, json, _) =
        run(dir.path(), &["analyze", ".", "--format", "json", "--select", "REL007,SEC001,SCH002,REL010"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["summary"]["findings"], 0, "{json}");
}

#[test]
fn select_limits_the_rules_fixed() {
    let dir = demo_copy();
    let (code, out, err) = run(dir.path(), &["fix", ".", "--unsafe", "--select", "REL007"]);
    assert_eq!(code, Some(0), "{err}");
    let changed: Vec<&str> = out.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).collect();
    assert_eq!(changed, vec!["+  replicas: 2"], "{out}");
}

#[test]
fn json_summary_lists_applied_failed_and_skipped() {
    let dir = demo_copy();
    let (code, _, err) = run(dir.path(), &["fix", ".", "--json-summary"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&err).expect("summary is JSON");
    assert!(v["applied"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(
        v["skipped"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["reason"].as_str().is_some_and(|r| r.contains("--unsafe"))))
    );
    assert_eq!(v["did_not_converge"], false);
}

#[test]
fn bad_input_exits_2_and_stdin_is_refused() {
    let dir = demo_copy();
    std::fs::write(dir.path().join("broken.yaml"), "a: [\n").expect("write");
    let (code, _, err) = run(dir.path(), &["fix", "."]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("broken.yaml"), "{err}");
    let (code, _, err) = run(dir.path(), &["fix", "-"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("write it to a file"), "{err}");
}

/// One Deployment as an item of a `kind: List`: its PodDisruptionBudget fix must create a new
/// object, which a List item cannot take, so that fix fails.
const LIST: &str = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    \
                    name: api\n    namespace: shop\n  spec:\n    replicas: 3\n    selector:\n      matchLabels: {app: api}\n    \
                    template:\n      metadata:\n        labels: {app: api}\n      spec:\n        containers:\n        \
                    - name: app\n          image: nginx:1.25\n";

#[test]
fn diff_mode_says_would_apply_names_namespaces_and_summarises_skips() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("list.yaml"), LIST).expect("write");
    let (code, _, err) = run(dir.path(), &["fix", "."]);
    assert_eq!(code, Some(0), "{err}");
    // Nothing safe to apply here: every fix is unsafe or needs values; one line per reason.
    assert!(err.contains("skipped 11 unsafe fixes") && err.contains("pass --unsafe"), "{err}");
    assert!(err.contains("skipped 2 fixes that need values only you know"), "{err}");
    assert!(!err.contains("skipped REL001"), "skips are listed only with --verbose: {err}");
    let (_, _, verbose) = run(dir.path(), &["fix", ".", "--verbose"]);
    assert!(verbose.contains("skipped REL001 on Deployment/shop/api"), "{verbose}");

    let (code, _, err) = run(dir.path(), &["fix", ".", "--unsafe"]);
    assert!(err.contains("would apply SEC006 unsafe on Deployment/shop/api"), "{err}");
    assert!(!err.contains("\napplied "), "nothing is applied without --write: {err}");
    // The PodDisruptionBudget cannot be added to a List item: exit 1, and say which.
    assert!(err.contains("failed REL010 on Deployment/shop/api"), "{err}");
    assert!(err.contains("error: 1 fix could not be applied (REL010)"), "{err}");
    assert_eq!(code, Some(1), "{err}");
}
