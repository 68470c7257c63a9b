//! Library errors are typed and name no flag; each command adds advice about its own flags only.

use std::path::{Path, PathBuf};
use std::process::Command;

use clustergpt::git::{self, Error};
use clustergpt::github::api::{Clock, RetryPolicy};
use clustergpt::github::context::ActionsEnv;
use clustergpt::github::{Inputs, parse_args, run_outcome};
use clustergpt::yaml::Limits;

fn sh(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A repository with one commit holding `k8s/app.yaml`; returns the commit.
fn repo(dir: &Path) -> String {
    sh(dir, &["init", "-q"]);
    std::fs::create_dir(dir.join("k8s")).expect("mkdir");
    std::fs::write(
        dir.join("k8s/app.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n",
    )
    .expect("write");
    sh(dir, &["add", "."]);
    sh(dir, &["commit", "-q", "-m", "one"]);
    sh(dir, &["rev-parse", "HEAD"])
}

/// A directory that is not inside any git repository.
fn plain_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    let inside = Command::new("git").args(["rev-parse", "--is-inside-work-tree"]).current_dir(d.path()).output();
    assert!(inside.is_ok_and(|o| !o.status.success()), "the temporary directory is inside a git repository");
    d
}

#[test]
fn git_errors_are_typed() {
    let plain = plain_dir();
    assert!(matches!(git::resolve(plain.path(), "HEAD"), Err(Error::NotARepo { dir, .. }) if dir == plain.path()));

    let r = tempfile::tempdir().expect("tmp");
    let head = repo(r.path());
    assert_eq!(git::resolve(r.path(), "HEAD").expect("HEAD"), head);
    assert!(matches!(git::resolve(r.path(), "origin/main"), Err(Error::RefNotFound { rev }) if rev == "origin/main"));
    assert!(matches!(git::resolve(r.path(), "--all"), Err(Error::InvalidRef { .. })));
    let stdin = git::load(r.path(), &head, &[PathBuf::from("-")], Limits::default());
    assert!(matches!(stdin, Err(Error::Stdin)));
    let input = git::load(r.path(), &head, &[PathBuf::from("k8s")], Limits::default()).expect("load");
    assert_eq!(input.objects.len(), 1);
    assert_eq!(input.objects[0].name, "p");
}

fn inputs(cwd: &Path) -> Inputs {
    Inputs {
        env: ActionsEnv::default(),
        token: None,
        clock: Clock::virtual_at(1_700_000_000),
        retry: RetryPolicy::default(),
        cwd: cwd.to_path_buf(),
        today: "2026-01-01".to_string(),
    }
}

/// Runs `clustergpt pr` in stage-1 artifact mode (no API needed) and returns its error.
fn pr_error(cwd: &Path, base: &str, head: &str, path: &str) -> String {
    let art = tempfile::tempdir().expect("tmp");
    let a = parse_args([
        "--repo",
        "o/r",
        "--pr",
        "1",
        "--base-sha",
        base,
        "--head-sha",
        head,
        "--no-config",
        "--emit-artifact",
        art.path().to_str().expect("utf-8"),
        path,
    ])
    .expect("flags");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let err = rt.block_on(run_outcome(&a, &inputs(cwd), &mut Vec::new())).expect_err("pr fails");
    format!("{err:#}")
}

#[test]
fn pr_gives_no_advice_about_flags_it_does_not_have() {
    // Outside a clone: used to say "use --base-dir DIR or two saved JSON audits instead".
    let plain = plain_dir();
    let msg = pr_error(plain.path(), &"a".repeat(40), &"b".repeat(40), "k8s");
    assert!(!msg.contains("--base"), "{msg}");
    assert!(msg.contains("not inside a git repository"), "{msg}");
    assert!(msg.contains("inside a clone of the repository"), "{msg}");

    // Standard input has no version at a commit: used to say "--base cannot read stdin".
    let r = tempfile::tempdir().expect("tmp");
    let head = repo(r.path());
    let msg = pr_error(r.path(), &head, &head, "-");
    assert!(!msg.contains("--base"), "{msg}");
    assert!(msg.contains("standard input"), "{msg}");

    // A commit missing from the clone: the advice is about the checkout.
    let msg = pr_error(r.path(), &"c".repeat(40), &head, "k8s");
    assert!(!msg.contains("--base"), "{msg}");
    assert!(msg.contains("fetch-depth: 0"), "{msg}");
}

struct Out {
    code: Option<i32>,
    stderr: String,
}

fn run_in(dir: &Path, args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run clustergpt");
    Out { code: o.status.code(), stderr: String::from_utf8_lossy(&o.stderr).into_owned() }
}

#[test]
fn diff_keeps_its_own_advice() {
    let plain = plain_dir();
    let o = run_in(plain.path(), &["diff", "--no-config", "--base", "HEAD", "."]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("not inside a git repository"), "{}", o.stderr);
    assert!(o.stderr.contains("--base-dir"), "{}", o.stderr);

    let r = tempfile::tempdir().expect("tmp");
    repo(r.path());
    let o = run_in(r.path(), &["diff", "--no-config", "--base", "HEAD", "-"]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("--base HEAD: standard input"), "{}", o.stderr);
    let o = run_in(r.path(), &["diff", "--no-config", "--base", "origin/main", "k8s"]);
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr.contains("git ref `origin/main` not found") && o.stderr.contains("fetch-depth: 0"),
        "{}",
        o.stderr
    );
}

#[test]
fn diff_formats_are_its_own() {
    let r = tempfile::tempdir().expect("tmp");
    repo(r.path());
    // An unknown format is an error that lists what diff renders: no SARIF, no terminal fallback.
    let o = run_in(r.path(), &["diff", "--no-config", "--base", "HEAD", "k8s", "--format", "pdfx"]);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("unknown format `pdfx`; diff renders terminal, json, md, html or pdf"), "{}", o.stderr);
    let o = run_in(r.path(), &["diff", "--no-config", "--base", "HEAD", "k8s", "--format", "sarif"]);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("SARIF describes one audit"), "{}", o.stderr);
    for f in ["terminal", "json", "md", "markdown", "html"] {
        let o = run_in(r.path(), &["diff", "--no-config", "--base", "HEAD", "k8s", "--format", f]);
        assert_eq!(o.code, Some(0), "{f}: {}", o.stderr);
    }
}

#[test]
fn rules_formats_are_a_closed_set() {
    let plain = plain_dir();
    let o = run_in(plain.path(), &["rules", "--format", "yaml"]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("[possible values: terminal, json]"), "{}", o.stderr);
    assert_eq!(run_in(plain.path(), &["rules", "--format", "json"]).code, Some(0));
}

#[test]
fn fix_pr_reads_the_commit_through_the_one_git_runner() {
    let r = tempfile::tempdir().expect("tmp");
    let head = repo(r.path());
    // Latin-1 bytes: a fix would have to rewrite them, so the file is left out, not mangled.
    std::fs::write(r.path().join("k8s/latin1.yaml"), b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n")
        .expect("write");
    std::fs::write(r.path().join("k8s/.hidden.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: h\n")
        .expect("write");
    sh(r.path(), &["add", "."]);
    sh(r.path(), &["commit", "-q", "-m", "two"]);
    let two = sh(r.path(), &["rev-parse", "HEAD"]);
    let files = clustergpt::github::fixpr::read_files_at(r.path(), &two, &[PathBuf::from("k8s")]).expect("read");
    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(names, ["k8s/app.yaml"]);
    assert_eq!(files[0].mode, "100644");
    assert!(files[0].text.contains("image: nginx:1.25"));
    // At the first commit, from a subdirectory, names stay repository-relative.
    let files = clustergpt::github::fixpr::read_files_at(&r.path().join("k8s"), &head, &[]).expect("read");
    assert_eq!(files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["k8s/app.yaml"]);
    let missing = clustergpt::github::fixpr::read_files_at(r.path(), &"d".repeat(40), &[]);
    assert!(matches!(missing, Err(Error::Failed { .. })), "{missing:?}");
}
