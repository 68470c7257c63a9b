//! `diff --base` and `pr` build each side's kustomizations and charts from that side's own git
//! tree: unchanged objects keep their fingerprints, an overlay raising replicas shows a cost delta,
//! a finding a patch introduces is new on the patch line, and `pr` comments on that line. Kustomize
//! runs through the real `kustomize` or `kubectl kustomize` (skipped, with the reason printed, when
//! neither is on PATH); the Helm cases need `helm` (the `render` CI job, `CLUSTERGPT_HELM=1`).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod github_fake;

use std::path::{Path, PathBuf};
use std::process::Command;

use clustergpt::cli::Status;
use clustergpt::github::Posted;
use clustergpt::source::render;
use serde_json::Value;

const BASE_KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.2.3
          securityContext:
            allowPrivilegeEscalation: false
          resources:
            requests:
              cpu: 500m
              memory: 512Mi
";

const OVERLAY: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
namePrefix: prod-
resources:
  - ../../base
patches:
  - path: patch.yaml
";

const PATCH_BASE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
";

/// The PR's patch: twice the replicas, and a privileged container (line 12).
const PATCH_HEAD: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 6
  template:
    spec:
      containers:
        - name: web
          securityContext:
            privileged: true
";

const PLAIN: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  a: b
";

fn kustomize_base() -> Vec<(&'static str, &'static str)> {
    vec![
        ("k8s/base/kustomization.yaml", BASE_KUSTOMIZATION),
        ("k8s/base/deployment.yaml", DEPLOYMENT),
        ("k8s/overlays/prod/kustomization.yaml", OVERLAY),
        ("k8s/overlays/prod/patch.yaml", PATCH_BASE),
        ("k8s/plain.yaml", PLAIN),
    ]
}

fn kustomize_tool() -> bool {
    if render::kustomize_tool().is_none() {
        eprintln!("skipping: neither kustomize nor kubectl is on PATH");
        return false;
    }
    true
}

fn helm_tool() -> bool {
    if render::which("helm").is_none() {
        eprintln!("skipping: helm is not on PATH");
        return false;
    }
    true
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` with its temporary files in `tmp`.
fn run_in(dir: &Path, tmp: &Path, path_var: Option<&str>, args: &[&str]) -> Out {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clustergpt"));
    c.args(args).current_dir(dir).env("NO_COLOR", "1").env("TMPDIR", tmp);
    if let Some(p) = path_var {
        c.env("PATH", p);
    }
    let out = c.output().unwrap();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `RULE FILE:LINE` of each finding in a list of the diff's JSON.
fn placed(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let l = &f["location"];
            let line = l["line"].as_u64().map_or_else(|| "?".to_string(), |n| n.to_string());
            format!("{} {}:{line}", f["rule"].as_str().unwrap(), l["file"].as_str().unwrap_or("-"))
        })
        .collect()
}

fn workload_delta(v: &Value, name: &str) -> f64 {
    let w = v["cost"]["workloads"].as_array().unwrap().iter().find(|w| w["name"] == name);
    w.unwrap_or_else(|| panic!("no workload {name} in {}", v["cost"]))["delta_monthly"].as_f64().unwrap()
}

#[test]
fn diff_base_builds_the_base_overlay_from_its_own_tree() {
    if !kustomize_tool() {
        return;
    }
    let r = github_fake::repo(&kustomize_base(), &[("k8s/overlays/prod/patch.yaml", PATCH_HEAD)]);
    let repo = r.dir.path();
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let o = run_in(
        repo,
        tmp.path(),
        None,
        &["diff", "--no-config", "--base", "HEAD~1", "k8s/overlays/prod", "--format", "json"],
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stderr.is_empty(), "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    // Both sides built: the same objects fingerprint alike, so nothing is resolved and the
    // findings of the base deployment are unchanged, not new.
    assert_eq!(placed(&v["resolved"]), Vec::<String>::new());
    assert!(v["unchanged"].as_u64().unwrap() >= 3, "{}", v["unchanged"]);
    let new = placed(&v["new"]);
    assert!(new.contains(&"SEC001 k8s/overlays/prod/patch.yaml:12".to_string()), "{new:?}");
    // Every new finding comes from the patch: none from a base file read as it is.
    assert!(new.iter().all(|f| f.contains(" k8s/overlays/prod/patch.yaml:")), "{new:?}");
    let sec001 = v["new"].as_array().unwrap().iter().find(|f| f["rule"] == "SEC001").unwrap();
    assert_eq!(sec001["rendered"]["target"], "k8s/overlays/prod");
    assert_eq!(sec001["object"]["name"], "prod-web");
    // 3 → 6 replicas of 500m / 512Mi: the built objects carry the cost.
    let delta = workload_delta(&v, "prod-web");
    assert!(delta > 0.0, "{}", v["cost"]);
    assert_eq!(v["cost"]["delta_monthly"].as_f64(), Some(delta));
    // The base's tree and the render wrappers are gone.
    let left: Vec<PathBuf> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(left.is_empty(), "{left:?}");

    // The path spelled otherwise: both sides still agree.
    for path in ["./k8s/overlays/prod", "k8s/overlays/prod/", "k8s"] {
        let o = run_in(repo, tmp.path(), None, &["diff", "--no-config", "--base", "HEAD~1", path, "--format", "json"]);
        assert_eq!(o.code, Some(0), "{path}: {}", o.stderr);
        let v: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(placed(&v["resolved"]), Vec::<String>::new(), "{path}");
        assert!(
            placed(&v["new"]).contains(&"SEC001 k8s/overlays/prod/patch.yaml:12".to_string()),
            "{path}: {}",
            v["new"]
        );
        assert_eq!(workload_delta(&v, "prod-web"), delta, "{path}");
    }

    // From the base's directory, the overlay given as a sibling; an uncommitted edit resolves a
    // finding of the base file: the base names it as `analyze` does from there, `../base/...`.
    let edited = DEPLOYMENT.replace(
        "    spec:\n      containers:",
        "    spec:\n      automountServiceAccountToken: false\n      containers:",
    );
    std::fs::write(repo.join("k8s/base/deployment.yaml"), edited).unwrap();
    let o = run_in(
        &repo.join("k8s/base"),
        tmp.path(),
        None,
        &["diff", "--no-config", "--base", "HEAD", "../overlays/prod", "--format", "json"],
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v3: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(placed(&v3["resolved"]), ["SEC012 ../base/deployment.yaml:16"]);
    assert_eq!(v3["resolved"][0]["rendered"]["target"], "../overlays/prod");
    assert_eq!(placed(&v3["new"]), Vec::<String>::new());
    github_fake::git(repo, &["checkout", "--", "k8s/base/deployment.yaml"]);

    // From a subdirectory, the path relative to it: the same diff, names as given.
    let o = run_in(
        &repo.join("k8s"),
        tmp.path(),
        None,
        &["diff", "--no-config", "--base", "HEAD~1", ".", "--format", "json"],
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v2: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(placed(&v2["resolved"]), Vec::<String>::new());
    assert_eq!(v2["unchanged"], v["unchanged"]);
    assert!(placed(&v2["new"]).contains(&"SEC001 overlays/prod/patch.yaml:12".to_string()), "{}", v2["new"]);
    assert_eq!(workload_delta(&v2, "prod-web"), delta);
}

#[test]
fn without_a_kustomize_tool_both_sides_name_the_target_and_plain_files_still_diff() {
    let Some(git) = render::which("git") else {
        eprintln!("skipping: git is not on PATH");
        return;
    };
    // PATH holds git alone: no kustomize, no kubectl.
    let r = github_fake::repo(
        &kustomize_base(),
        &[("k8s/overlays/prod/patch.yaml", PATCH_HEAD), ("k8s/plain.yaml", &PLAIN.replace("a: b", "a: c"))],
    );
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(&git, bin.join("git")).unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let o = run_in(
        r.dir.path(),
        &work,
        bin.to_str(),
        &["diff", "--no-config", "--base", "HEAD~1", "k8s", "--format", "json"],
    );
    // The head could not be built: an error, exit 2; the base's is a warning naming the same target.
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("warning: base input not read: k8s/overlays/prod: a Kustomize target, but neither")),
        "{}",
        o.stderr
    );
    assert!(lines.iter().any(|l| l.starts_with("error: k8s/overlays/prod: a Kustomize target")), "{}", o.stderr);
    assert!(!o.stderr.contains("clustergpt-tree-"), "no temporary path is shown: {}", o.stderr);
    // The plain file is still read on both sides.
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(v["unchanged"].as_u64().is_some());
    assert_eq!(placed(&v["resolved"]), Vec::<String>::new());
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0, "the base's tree is removed");
}

const PRIVILEGED_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: tool
  namespace: shop
spec:
  containers:
    - name: tool
      image: registry.example.com/tool:1.0.0
      securityContext:
        privileged: true
";

#[test]
fn excludes_apply_to_the_built_base_as_to_the_head() {
    // The base is written out (it holds a kustomization) whether or not a tool can build it.
    let head_pod = PRIVILEGED_POD.replace("privileged: true", "privileged: false");
    let mut base = kustomize_base();
    base.push(("k8s/vendor/tool.yaml", PRIVILEGED_POD));
    let r = github_fake::repo(&base, &[("k8s/vendor/tool.yaml", &head_pod)]);
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let diff = |extra: &[&str]| {
        let args =
            [&["diff", "--no-config", "--base", "HEAD~1", "k8s", "--format", "json", "--select", "SEC001"][..], extra]
                .concat();
        let o = run_in(r.dir.path(), tmp.path(), None, &args);
        serde_json::from_str::<Value>(&o.stdout).unwrap_or_else(|e| panic!("{e}: {} {}", o.stdout, o.stderr))
    };
    assert_eq!(placed(&diff(&[])["resolved"]), ["SEC001 k8s/vendor/tool.yaml:11"]);
    assert_eq!(placed(&diff(&["--exclude", "vendor/"])["resolved"]), Vec::<String>::new());
}

/// Every name an input carries: objects' files, sources and provenance, errors, skipped entries.
fn names(input: &clustergpt::source::Input) -> Vec<String> {
    let mut out = Vec::new();
    for o in &input.objects {
        out.push(format!("{:?} {:?}", o.origin, o.source.as_ref().map(|s| s.path.clone())));
        out.push(format!("{:?}", o.provenance));
    }
    out.extend(input.errors.iter().map(|e| format!("{e:?}")));
    out.extend(input.skipped.iter().map(|s| format!("{s:?}")));
    out
}

#[test]
fn a_commit_read_from_its_tree_names_everything_as_the_working_tree_does() {
    if !kustomize_tool() {
        return;
    }
    let mut base = kustomize_base();
    base.push(("k8s/overlays/prod/not-yaml.yaml", "a: [b\n"));
    let r = github_fake::repo(&base, &[("k8s/overlays/prod/patch.yaml", PATCH_HEAD)]);
    // The working tree is the head commit: both readings must agree name for name.
    let top = r.dir.path().canonicalize().unwrap();
    let k8s = top.join("k8s");
    let opts = render::RenderOptions::default();
    let filter = clustergpt::source::Filter::default();
    let limits = clustergpt::yaml::Limits::default();
    let head =
        clustergpt::source::load_rendered(std::slice::from_ref(&k8s), &mut std::io::empty(), limits, &filter, &opts);
    let at_commit =
        clustergpt::git::load_rendered(&top, &r.head, std::slice::from_ref(&k8s), limits, &filter, &opts).unwrap();
    assert!(!head.objects.is_empty() && !head.skipped.is_empty() && !head.errors.is_empty(), "{head:?}");
    assert!(head.objects.iter().any(|o| o.provenance.is_some()));
    assert_eq!(names(&at_commit), names(&head));
    assert!(!format!("{at_commit:?}").contains("clustergpt-tree-"));
}

#[test]
fn a_commits_tree_is_written_out_with_links_inside_it_only() {
    let r = github_fake::repo(&kustomize_base(), &[("k8s/overlays/prod/patch.yaml", PATCH_HEAD)]);
    let top = r.dir.path();
    std::os::unix::fs::symlink("../base/deployment.yaml", top.join("k8s/overlays/inside.yaml")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", top.join("k8s/absolute.yaml")).unwrap();
    std::os::unix::fs::symlink("../../outside.yaml", top.join("k8s/escaping.yaml")).unwrap();
    github_fake::git(top, &["add", "-A"]);
    github_fake::git(top, &["commit", "-qm", "links"]);
    let entries = clustergpt::git::ls_tree(top, "HEAD", &[]).unwrap();
    let tree = clustergpt::git::materialize(top, &entries).unwrap();
    let root = tree.root.clone();
    assert_eq!(std::fs::read_to_string(root.join("k8s/overlays/prod/patch.yaml")).unwrap(), PATCH_HEAD);
    assert_eq!(std::fs::read_to_string(root.join("k8s/overlays/inside.yaml")).unwrap(), DEPLOYMENT);
    assert!(std::fs::symlink_metadata(root.join("k8s/overlays/inside.yaml")).unwrap().file_type().is_symlink());
    assert!(
        std::fs::symlink_metadata(root.join("k8s/absolute.yaml")).is_err(),
        "a link out of the tree is not written"
    );
    assert!(
        std::fs::symlink_metadata(root.join("k8s/escaping.yaml")).is_err(),
        "a link out of the tree is not written"
    );
    assert!(!root.join(".git").exists(), "files only, not the repository");
    drop(tree);
    assert!(!root.exists(), "removed on drop");
}

#[test]
fn pr_comments_on_the_patch_line_that_introduces_the_finding() {
    if !kustomize_tool() {
        return;
    }
    let h = github_fake::Harness::new(&kustomize_base(), &[("k8s/overlays/prod/patch.yaml", PATCH_HEAD)]);
    let (outcome, out) = h.run(&[]);
    assert_eq!(outcome.status, Status::Passed, "{out}");
    assert!(matches!(outcome.review, Posted::Done(_)), "{:?}", outcome.review);
    let st = h.state();
    let sec001 = sec001_comment(&st.reviews[0], "k8s/overlays/prod/patch.yaml", 12);
    assert_eq!(sec001["side"], "RIGHT");
    // The fix is a suggested change on the patch line itself.
    let body = sec001["body"].as_str().unwrap();
    assert!(body.contains("```suggestion\n            privileged: false\n```"), "{body}");
    // Nothing of the base deployment is new: every comment is on the patch.
    let paths: Vec<&str> =
        st.reviews[0]["comments"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert!(paths.iter().all(|p| *p == "k8s/overlays/prod/patch.yaml"), "{paths:?}");
    let summary = st.issue_comments[0]["body"].as_str().unwrap();
    assert!(
        summary
            .contains("**Monthly cost will increase by $39.26 (+100%) 📈 · 1 new finding (1 critical) · 0 resolved**"),
        "{summary}"
    );
    assert!(
        summary.contains("| `Deployment/shop/prod-web` | changed | $39.25 | $78.51 | +$39.26 | +100% |"),
        "{summary}"
    );
    assert!(summary.contains("`k8s/overlays/prod/patch.yaml:12`"), "{summary}");
}

// ---------- Helm ----------

const CHART: &str = "apiVersion: v2
name: api
version: 0.1.0
appVersion: \"1.4.0\"
";

const TEMPLATE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      containers:
        - name: api
          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"
          {{- with .Values.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
";

const VALUES: &str = "replicaCount: 1
image:
  repository: registry.example.com/api
  tag: \"1.4.0\"
resources:
  requests:
    cpu: 250m
    memory: 256Mi
";

const VALUES_PROD_BASE: &str = "replicaCount: 2
securityContext:
  runAsNonRoot: true
  allowPrivilegeEscalation: false
";

/// The PR: five replicas, and a privileged container (line 5).
const VALUES_PROD_HEAD: &str = "replicaCount: 5
securityContext:
  runAsNonRoot: true
  allowPrivilegeEscalation: false
  privileged: true
";

const CONFIG: &str = "render:
  targets:
    - path: charts/api
      values: [charts/api/values-prod.yaml]
";

/// The review's SEC001 comment, which must sit on `path` at `line`.
fn sec001_comment<'a>(review: &'a Value, path: &str, line: u64) -> &'a Value {
    let comments = review["comments"].as_array().unwrap();
    let at: Vec<(String, u64)> =
        comments.iter().map(|c| (c["path"].as_str().unwrap().to_string(), c["line"].as_u64().unwrap())).collect();
    assert!(at.contains(&(path.to_string(), line)), "{at:?}");
    comments
        .iter()
        .find(|c| c["line"] == line && c["body"].as_str().unwrap().contains("**SEC001**"))
        .unwrap_or_else(|| panic!("{comments:?}"))
}

fn chart_base() -> Vec<(&'static str, &'static str)> {
    vec![
        (".clustergpt.yaml", CONFIG),
        ("charts/api/Chart.yaml", CHART),
        ("charts/api/templates/deployment.yaml", TEMPLATE),
        ("charts/api/values.yaml", VALUES),
        ("charts/api/values-prod.yaml", VALUES_PROD_BASE),
    ]
}

#[test]
#[ignore = "needs helm on PATH; run with CLUSTERGPT_HELM=1 (the render CI job)"]
fn diff_base_renders_the_base_chart_with_its_own_values() {
    if std::env::var_os("CLUSTERGPT_HELM").is_none() || !helm_tool() {
        eprintln!("skipping: set CLUSTERGPT_HELM=1 with helm on PATH");
        return;
    }
    let r = github_fake::repo(&chart_base(), &[("charts/api/values-prod.yaml", VALUES_PROD_HEAD)]);
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let o = run_in(r.dir.path(), tmp.path(), None, &["diff", "--base", "HEAD~1", "charts", "--format", "json"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(placed(&v["resolved"]), Vec::<String>::new());
    assert!(v["unchanged"].as_u64().unwrap() >= 1, "{}", v["unchanged"]);
    let new = placed(&v["new"]);
    assert!(new.contains(&"SEC001 charts/api/values-prod.yaml:5".to_string()), "{new:?}");
    // 2 → 5 replicas of 250m / 256Mi.
    assert!(workload_delta(&v, "api") > 0.0, "{}", v["cost"]);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "the base's tree is removed");
}

#[test]
#[ignore = "needs helm on PATH; run with CLUSTERGPT_HELM=1 (the render CI job)"]
fn pr_comments_on_the_values_line_and_shows_the_cost_delta() {
    if std::env::var_os("CLUSTERGPT_HELM").is_none() || !helm_tool() {
        eprintln!("skipping: set CLUSTERGPT_HELM=1 with helm on PATH");
        return;
    }
    let h = github_fake::Harness::new(&chart_base(), &[("charts/api/values-prod.yaml", VALUES_PROD_HEAD)]);
    let config = h.path(".clustergpt.yaml");
    let argv = [
        "--pr",
        &github_fake::PR.to_string(),
        "--base-sha",
        &h.repo.base,
        "--head-sha",
        &h.repo.head,
        "--config",
        config.to_str().unwrap(),
        "charts",
    ]
    .map(str::to_string);
    let args = clustergpt::github::parse_args(argv).unwrap();
    let (outcome, out) = h.run_with(&args, &h.inputs());
    assert_eq!(outcome.status, Status::Passed, "{out}");
    assert!(matches!(outcome.review, Posted::Done(_)), "{:?}", outcome.review);
    let st = h.state();
    // The fix is a suggested change on the values line.
    let sec001 = sec001_comment(&st.reviews[0], "charts/api/values-prod.yaml", 5);
    let body = sec001["body"].as_str().unwrap();
    assert!(body.contains("```suggestion\n  privileged: false\n```"), "{body}");
    let summary = st.issue_comments[0]["body"].as_str().unwrap();
    assert!(summary.contains("**Monthly cost will increase by $"), "{summary}");
    assert!(summary.contains("· 0 resolved**"), "{summary}");
    assert!(summary.contains("/api` | changed |"), "{summary}");
}

/// The fork-safe two stages (`--emit-artifact` in the PR's job, `--post-artifact` where the token
/// is) carry a built object's suggestion on the patch file, which the posting job accepts though
/// it is another file than the finding's: the same review as a direct run.
#[test]
fn an_artifact_carries_the_patch_line_suggestion_to_the_posting_job() {
    if !kustomize_tool() {
        return;
    }
    let h = github_fake::Harness::new(&kustomize_base(), &[("k8s/overlays/prod/patch.yaml", PATCH_HEAD)]);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (o, out) = h.run(&["--emit-artifact", dir.path().to_str().unwrap()]);
    assert_eq!(o.status, Status::Passed, "{out}");
    let mut inputs = h.inputs();
    // The posting job never checks out the PR: an empty directory, not a repository.
    let empty = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    inputs.cwd = empty.path().to_path_buf();
    let args = clustergpt::github::parse_args(["--post-artifact", dir.path().to_str().unwrap()]).unwrap();
    let mut sink = Vec::new();
    let posted = h.rt.block_on(clustergpt::github::run_outcome(&args, &inputs, &mut sink)).unwrap();
    assert!(matches!(posted.review, Posted::Done(_)), "{:?}", posted.review);
    let two_stage = h.state().reviews[0]["comments"].clone();
    let body =
        two_stage.as_array().unwrap().iter().find_map(|c| c["body"].as_str().filter(|b| b.contains("**SEC001**")));
    assert!(body.is_some_and(|b| b.contains("```suggestion\n            privileged: false\n```")), "{two_stage}");
    let direct = github_fake::Harness::new(&kustomize_base(), &[("k8s/overlays/prod/patch.yaml", PATCH_HEAD)]);
    direct.run(&[]);
    assert_eq!(two_stage, direct.state().reviews[0]["comments"]);
}
