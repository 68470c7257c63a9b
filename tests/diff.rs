//! The base ↔ head diff: fixture pairs under `manifests-fixtures/diff/<case>/{base,head}/`,
//! snapshots of their Markdown and JSON renderings, gates, the size limit, the CLI (directories,
//! saved audits, baselines) and `--base REF` against a temporary git repository.

use std::path::{Path, PathBuf};
use std::process::Command;

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::diff::{CostLimit, Diff, Status, WorkloadDelta};
use clustergpt::model::Severity;
use clustergpt::report::{diff_md, diff_terminal};
use clustergpt::source;
use clustergpt::yaml::Limits;

/// The rules the fixtures exercise; fixed so that new rules do not change these snapshots.
const RULES: [&str; 5] = ["REL001", "REL002", "REL007", "REL015", "SEC001"];

const CASES: [&str; 8] = [
    "replicas-changed",
    "requests-changed",
    "workload-added",
    "workload-removed",
    "workload-renamed",
    "hpa-added",
    "pvc-resized",
    "finding-fixed-and-introduced",
];

fn opts() -> RunOptions {
    RunOptions {
        select: RULES.iter().map(ToString::to_string).collect(),
        today: Some("2026-01-01".to_string()),
        ..RunOptions::default()
    }
}

fn audit_dir(dir: &str) -> Audit {
    let input = source::load_paths(&[PathBuf::from(dir)], &mut std::io::empty(), Limits::default());
    audit::run(input, &Config::defaults(), &opts())
}

fn case(name: &str) -> Diff {
    // Integration tests run in the crate root, so paths stay relative and snapshots portable.
    let base = format!("manifests-fixtures/diff/{name}/base");
    let head = format!("manifests-fixtures/diff/{name}/head");
    let (b, h) = (audit_dir(&base), audit_dir(&head));
    assert!(b.errors.is_empty() && h.errors.is_empty(), "{:?} {:?}", b.errors, h.errors);
    Diff::new(&b, &h).labeled(base, head)
}

fn only_change(d: &Diff) -> Vec<&WorkloadDelta> {
    d.cost.workloads.iter().filter(|w| w.status != Status::Unchanged).collect()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 0.005, "{a} != {b}");
}

#[test]
fn snapshots_of_every_case() {
    for name in CASES {
        let d = case(name);
        insta::assert_snapshot!(format!("{name}.md"), diff_md::render(&d).expect("md"));
        insta::assert_snapshot!(format!("{name}.json"), d.to_json().expect("json"));
    }
}

#[test]
fn replicas_changed() {
    // Pod: 0.5 CPU × 23.07603 + 0.5 GiB × 3.09301 = 13.08452; 2 → 4 replicas: 26.17 → 52.34.
    let d = case("replicas-changed");
    let ch = only_change(&d);
    assert_eq!(ch.len(), 1);
    assert_eq!((ch[0].kind.as_str(), ch[0].name.as_str(), ch[0].status), ("Deployment", "web", Status::Changed));
    close(ch[0].baseline_monthly, 26.17);
    close(ch[0].head_monthly, 52.34);
    close(ch[0].delta_monthly, 26.17);
    assert_eq!(ch[0].delta_percent, Some(100.0));
    assert!(d.new.is_empty() && d.resolved.is_empty());
    assert_eq!(d.verdict(), "Monthly cost will increase by $26.17 (+100%) 📈 · no new findings · 0 resolved");
}

#[test]
fn requests_changed() {
    // 3 × (0.25 × 23.07603 + 0.25 × 3.09301) = 19.63 → 3 × (23.07603 + 3.09301) = 78.51.
    let d = case("requests-changed");
    let ch = only_change(&d);
    assert_eq!(ch.len(), 1);
    close(ch[0].baseline_monthly, 19.63);
    close(ch[0].head_monthly, 78.51);
    close(ch[0].delta_monthly, 58.88);
    close(d.cost.delta_percent.expect("percent"), 299.95);
}

#[test]
fn workload_added() {
    // worker: 2 × (2 × 23.07603 + 4 × 3.09301) = 117.05.
    let d = case("workload-added");
    let ch = only_change(&d);
    assert_eq!(ch.len(), 1);
    assert_eq!((ch[0].name.as_str(), ch[0].namespace.as_str(), ch[0].status), ("worker", "jobs", Status::Added));
    close(ch[0].baseline_monthly, 0.0);
    close(ch[0].head_monthly, 117.05);
    assert_eq!(ch[0].delta_percent, None);
}

#[test]
fn workload_removed() {
    // legacy-reports: 23.07603 + 2 × 3.09301 = 29.26 and its LoadBalancer 0.025 × 730 = 18.25.
    let d = case("workload-removed");
    let ch = only_change(&d);
    let got: Vec<(&str, Status, f64)> = ch.iter().map(|w| (w.kind.as_str(), w.status, w.delta_monthly)).collect();
    assert_eq!(got, vec![("Deployment", Status::Removed, -29.26), ("Service", Status::Removed, -18.25)]);
    assert_eq!(ch[0].delta_percent, Some(-100.0));
    close(d.cost.delta_monthly, -47.51);
    // Its findings are resolved with it.
    assert!(!d.resolved.is_empty() && d.new.is_empty());
    assert!(d.resolved.iter().all(|f| f.object.name == "legacy-reports"));
}

#[test]
fn workload_renamed_is_removed_plus_added() {
    let d = case("workload-renamed");
    let got: Vec<(&str, Status)> = only_change(&d).iter().map(|w| (w.name.as_str(), w.status)).collect();
    assert_eq!(got, vec![("checkout", Status::Removed), ("checkout-v2", Status::Added)]);
    close(d.cost.delta_monthly, 0.0);
    assert_eq!(d.verdict(), "Monthly cost will not change · 1 new finding (1 medium) · 1 resolved");
    assert_eq!(d.new[0].rule, "REL007");
    assert_eq!(d.resolved[0].rule, "REL007");
}

#[test]
fn hpa_added() {
    // 2 replicas → HPA 3–12 (the total uses the minimum): 2 × 29.26205 = 58.52 → 3 × = 87.79.
    let d = case("hpa-added");
    let ch = only_change(&d);
    assert_eq!(ch.len(), 1);
    close(ch[0].baseline_monthly, 58.52);
    close(ch[0].head_monthly, 87.79);
    close(ch[0].delta_monthly, 29.27);
}

#[test]
fn pvc_resized() {
    // gp3 has no configured price: 0.04 per GiB-month. 20Gi = 0.80 → 100Gi = 4.00.
    let d = case("pvc-resized");
    let ch = only_change(&d);
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].kind, "PersistentVolumeClaim");
    close(ch[0].delta_monthly, 3.2);
    assert_eq!(ch[0].delta_percent, Some(400.0));
}

#[test]
fn finding_fixed_and_another_introduced() {
    let d = case("finding-fixed-and-introduced");
    let new: Vec<&str> = d.new.iter().map(|f| f.rule.as_ref()).collect();
    let resolved: Vec<&str> = d.resolved.iter().map(|f| f.rule.as_ref()).collect();
    assert_eq!(new, vec!["REL007"]);
    assert_eq!(resolved, vec!["SEC001"]);
    assert_eq!(d.unchanged, 0);
    // 2 → 1 replica of 0.5 CPU + 1 GiB (14.631025): 29.26 → 14.63.
    close(d.cost.delta_monthly, -14.63);
    // The new finding's fix (back to 2 replicas) costs what the change saved.
    close(d.new[0].cost.as_ref().expect("cost").monthly_delta, 14.63);
    assert_eq!(d.verdict(), "Monthly cost will decrease by $14.63 (-50%) 📉 · 1 new finding (1 medium) · 1 resolved");
    let md = diff_md::render(&d).expect("md");
    assert!(md.contains("Fix (unsafe): Run 2 replicas · +$14.63 per month"), "{md}");
}

#[test]
fn gates() {
    let mut d = case("finding-fixed-and-introduced");
    d.evaluate_gates(Some(Severity::Medium), Some(CostLimit::Amount(0.0)));
    assert_eq!(d.gates.len(), 2);
    assert!(!d.gates[0].passed);
    assert_eq!(d.gates[0].reason, "1 new finding at or above medium (1 medium)");
    assert!(d.gates[1].passed, "{:?}", d.gates[1]);
    d.evaluate_gates(Some(Severity::High), None);
    assert!(d.passed());
    assert_eq!(d.gates[0].reason, "no new findings at or above high");

    let mut d = case("replicas-changed");
    d.evaluate_gates(None, Some(CostLimit::Amount(20.0)));
    assert!(!d.passed());
    assert_eq!(d.gates[0].reason, "monthly cost would increase by $26.17 (+100%), over the limit of $20.00");
    d.evaluate_gates(None, Some(CostLimit::Percent(100.0)));
    assert!(d.passed(), "{:?}", d.gates);
    d.evaluate_gates(None, Some(CostLimit::Percent(99.0)));
    assert!(!d.passed());

    // From zero, any increase is over a percentage limit.
    let mut d = Diff::new(
        &audit_dir("manifests-fixtures/diff/pvc-resized/base"),
        &audit_dir("manifests-fixtures/diff/pvc-resized/head"),
    );
    d.cost.baseline_monthly = 0.0;
    d.cost.delta_percent = None;
    d.evaluate_gates(None, Some(CostLimit::Percent(50.0)));
    assert!(!d.passed());
    let json: serde_json::Value = serde_json::from_str(&d.to_json().expect("json")).expect("parse");
    assert_eq!(json["gates"][0]["name"], "max-cost-increase");
    assert_eq!(json["gates"][0]["passed"], false);
}

#[test]
fn json_has_exactly_the_contract_keys() {
    let d = case("workload-added");
    let v: serde_json::Value = serde_json::from_str(&d.to_json().expect("json")).expect("parse");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&v), ["cost", "gates", "new", "resolved", "schema_version", "unchanged"]);
    assert_eq!(
        keys(&v["cost"]),
        ["baseline_monthly", "currency", "delta_monthly", "delta_percent", "head_monthly", "workloads"]
    );
    assert_eq!(
        keys(&v["cost"]["workloads"][0]),
        ["baseline_monthly", "delta_monthly", "delta_percent", "head_monthly", "kind", "name", "namespace", "status"]
    );
    assert!(v["cost"]["workloads"].as_array().expect("array").iter().any(|w| w["status"] == "added"));
    assert!(v["unchanged"].is_u64());
}

#[test]
fn terminal_rendering() {
    let mut d = case("finding-fixed-and-introduced");
    d.evaluate_gates(Some(Severity::Medium), None);
    let t = diff_terminal::render(&d, false);
    assert!(t.contains("Monthly cost will decrease by $14.63 (-50%)"), "{t}");
    assert!(t.contains("Deployment/shop/payments  changed"), "{t}");
    assert!(t.contains("REL007 single-replica"), "{t}");
    assert!(t.contains("gate fail-on-new FAILED: 1 new finding at or above medium"), "{t}");
    assert!(!t.contains('\x1b'));
    assert!(diff_terminal::render(&d, true).contains("\x1b["));
}

/// Writes `n` Deployments with long names, each with a few findings, into `dir`.
fn many(dir: &Path, n: usize, replicas: u32, privileged: bool) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a-rather-long-service-name-for-the-size-test-{i:05}\n  namespace: team-{t}\nspec:\n  replicas: {replicas}\n  template:\n    spec:\n      containers:\n        - name: app\n          image: app:1\n          securityContext: {{privileged: {privileged}}}\n",
            t = i % 7
        ));
    }
    std::fs::write(dir.join("all.yaml"), text).expect("write");
}

#[test]
fn markdown_stays_under_the_limit_whatever_the_input() {
    let tmp = tempfile::tempdir().expect("tmp");
    many(&tmp.path().join("base"), 1500, 1, false);
    many(&tmp.path().join("head"), 1500, 3, true);
    let base = audit_dir(&tmp.path().join("base").display().to_string());
    let head = audit_dir(&tmp.path().join("head").display().to_string());
    let d = Diff::new(&base, &head);
    assert!(d.new.len() >= 1500 && d.resolved.len() >= 1500, "{} {}", d.new.len(), d.resolved.len());
    let md = diff_md::render(&d).expect("md");
    assert!(md.len() < 60_000, "{}", md.len());
    assert!(md.starts_with("## ClusterGPT"));
    assert!(md.contains("✂️ **Truncated:**"));
    assert_eq!(md.matches("<details").count(), md.matches("</details>").count());
    assert!(md.trim_end().ends_with("</details>"), "{}", &md[md.len() - 200..]);
}

// ---------- the corpus ----------

fn corpus_real() -> Option<PathBuf> {
    let p = std::env::var_os("CLUSTERGPT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
        .join("real");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: corpus not found at {} (set CLUSTERGPT_CORPUS)", p.display());
        None
    }
}

fn all_rules(paths: &[PathBuf]) -> Audit {
    let input = source::load_paths(paths, &mut std::io::empty(), Limits::default());
    audit::run(input, &Config::defaults(), &RunOptions { select: vec!["all".into()], ..RunOptions::default() })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

#[test]
fn corpus_against_itself_and_a_copy_with_doubled_replicas() {
    let Some(real) = corpus_real() else { return };
    let base = all_rules(std::slice::from_ref(&real));
    let same = Diff::new(&base, &all_rules(std::slice::from_ref(&real)));
    assert!(same.new.is_empty() && same.resolved.is_empty());
    assert_eq!(same.unchanged, base.findings.len());
    assert_eq!(same.cost.delta_monthly, 0.0);
    assert!(same.cost.workloads.iter().all(|w| w.status == Status::Unchanged));
    assert!(base.cost.monthly_total > 0.0);

    // Copy the corpus elsewhere and double one Deployment's replicas.
    let tmp = tempfile::tempdir().expect("tmp");
    let copy = tmp.path().join("real");
    copy_dir(&real, &copy);
    let target = base
        .cost
        .workloads
        .iter()
        .find(|w| {
            w.kind == "Deployment"
                && w.monthly > 0.0
                && w.replicas_max.is_none()
                && w.file.as_deref().is_some_and(|f| {
                    std::fs::read_to_string(f).is_ok_and(|t| {
                        t.matches("replicas:").count() == 1 && t.matches("kind: Deployment").count() == 1
                    })
                })
        })
        .expect("a Deployment with replicas and a cost");
    let file = PathBuf::from(target.file.as_deref().expect("file"));
    let rel = file.strip_prefix(&real).expect("inside the corpus");
    let text = std::fs::read_to_string(&file).expect("read");
    let n = target.replicas.expect("replicas");
    let changed = text.replacen(&format!("replicas: {n}"), &format!("replicas: {}", n * 2), 1);
    assert_ne!(changed, text, "{}", file.display());
    std::fs::write(copy.join(rel), changed).expect("write");

    let head = all_rules(&[copy]);
    let d = Diff::new(&base, &head);
    let ch = only_change(&d);
    assert_eq!(ch.len(), 1, "{ch:#?}");
    assert_eq!(
        (ch[0].kind.as_str(), ch[0].namespace.as_str(), ch[0].name.as_str()),
        ("Deployment", target.namespace.as_str(), target.name.as_str())
    );
    close(ch[0].delta_monthly, target.monthly);
    close(d.cost.delta_monthly, target.monthly);
    // Findings in another directory match by rule, object and field, so the copy changes none of them
    // (except those about the replica count itself).
    assert!(d.new.iter().chain(&d.resolved).all(|f| f.object.name == target.name), "{:#?}", d.new);
}

// ---------- the binary ----------

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run_in(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run clustergpt");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn cli_diff_of_directories_and_of_saved_audits() {
    let base = "manifests-fixtures/diff/replicas-changed/base";
    let head = "manifests-fixtures/diff/replicas-changed/head";
    let o = run_in(&root(), &["diff", "--no-config", "--base-dir", base, "--head-dir", head, "--format", "json"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["cost"]["delta_monthly"], 26.17);
    assert_eq!(v["gates"], serde_json::json!([]));

    let o =
        run_in(&root(), &["diff", "--no-config", "--base-dir", base, "--head-dir", head, "--max-cost-increase", "20"]);
    assert_eq!(o.code, Some(1), "{}{}", o.stdout, o.stderr);
    assert_eq!(
        o.stderr.lines().filter(|l| l.starts_with("gate failed:")).collect::<Vec<_>>(),
        vec!["gate failed: max-cost-increase: monthly cost would increase by $26.17 (+100%), over the limit of $20.00"]
    );

    // The same diff from two saved audits.
    let tmp = tempfile::tempdir().expect("tmp");
    let (bj, hj) = (tmp.path().join("base.json"), tmp.path().join("head.json"));
    for (dir, out) in [(base, &bj), (head, &hj)] {
        let o = run_in(&root(), &["analyze", "--no-config", dir, "--format", &format!("json={}", out.display())]);
        assert_eq!(o.code, Some(0), "{}", o.stderr);
    }
    let o = run_in(
        &root(),
        &[
            "diff",
            &bj.display().to_string(),
            &hj.display().to_string(),
            "--format",
            "md",
            "--max-cost-increase",
            "150%",
        ],
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(
        o.stdout.contains("**Monthly cost will increase by $26.17 (+100%) 📈 · no new findings · 0 resolved**"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("| `max-cost-increase` | ✅ passed |"), "{}", o.stdout);

    // Tool errors exit 2.
    let o = run_in(&root(), &["diff", "--no-config", "manifests-fixtures/diff"]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("diff needs a base"), "{}", o.stderr);
    let o = run_in(
        &root(),
        &["diff", "--no-config", "--base-dir", base, "--head-dir", head, "--max-cost-increase", "lots"],
    );
    assert_eq!(o.code, Some(2));
    let o = run_in(&root(), &["diff", "--no-config", "--base-dir", base, "--head-dir", head, "--format", "sarif"]);
    assert_eq!(o.code, Some(2));
}

#[test]
fn cli_baseline_write_and_analyze_with_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::copy(
        root().join("manifests-fixtures/diff/finding-fixed-and-introduced/base/payments.yaml"),
        dir.join("app.yaml"),
    )
    .expect("copy");
    let o =
        run_in(dir, &["baseline", "write", ".clustergpt-baseline.json", "--no-config", "--select", "REL007,SEC001"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".clustergpt-baseline.json")).expect("read"))
            .expect("json");
    assert_eq!(b["schema_version"], "2");
    assert_eq!(b["findings"].as_array().expect("array").len(), 1, "{b}");
    assert_eq!(b["findings"][0]["rule"], "SEC001");

    // Nothing new: the baseline hides SEC001 and the gate passes.
    let args = [
        "analyze",
        "--no-config",
        "--select",
        "REL007,SEC001",
        "--baseline",
        ".clustergpt-baseline.json",
        "--fail-on",
        "low",
    ];
    let o = run_in(dir, &[&args[..], &["--format", "json"]].concat());
    assert_eq!(o.code, Some(0), "{}{}", o.stdout, o.stderr);
    let a: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(a["findings"], serde_json::json!([]));
    assert_eq!(a["baseline"]["hidden"], 1);
    assert_eq!(a["summary"]["findings"], 0);

    // Fix SEC001 and drop a replica: REL007 is new (gate fails), the SEC001 entry is stale.
    std::fs::copy(
        root().join("manifests-fixtures/diff/finding-fixed-and-introduced/head/payments.yaml"),
        dir.join("app.yaml"),
    )
    .expect("copy");
    let o = run_in(dir, &[&args[..], &["--format", "json"]].concat());
    assert_eq!(o.code, Some(1), "{}{}", o.stdout, o.stderr);
    let a: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(a["findings"][0]["rule"], "REL007");
    assert_eq!(a["baseline"]["hidden"], 0);
    assert_eq!(a["baseline"]["stale"][0]["rule"], "SEC001");

    let o = run_in(dir, &["analyze", "--no-config", "--baseline", "missing.json"]);
    assert_eq!(o.code, Some(2));
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git").args(args).current_dir(dir).output().expect("git");
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn cli_diff_against_a_git_ref() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path();
    git(repo, &["init", "--quiet"]);
    git(repo, &["config", "user.name", "ClusterGPT Test"]);
    git(repo, &["config", "user.email", "test@example.invalid"]);
    git(repo, &["config", "commit.gpgsign", "false"]);
    let k8s = repo.join("k8s");
    std::fs::create_dir_all(k8s.join("sub")).expect("mkdir");
    let fx = root().join("manifests-fixtures/diff");
    std::fs::copy(fx.join("finding-fixed-and-introduced/base/payments.yaml"), k8s.join("payments.yaml")).expect("copy");
    std::fs::copy(fx.join("replicas-changed/base/web.yaml"), k8s.join("sub/web.yaml")).expect("copy");
    std::fs::copy(fx.join("workload-removed/base/legacy.yaml"), k8s.join("legacy.yaml")).expect("copy");
    std::fs::write(repo.join("README.md"), "not a manifest\n").expect("write");
    git(repo, &["add", "."]);
    git(repo, &["commit", "--quiet", "-m", "base"]);
    // Head: payments 2 → 1 replica without privileged, web 2 → 4 replicas, legacy removed,
    // worker added (committed), and an uncommitted edit on top.
    std::fs::copy(fx.join("finding-fixed-and-introduced/head/payments.yaml"), k8s.join("payments.yaml")).expect("copy");
    std::fs::remove_file(k8s.join("legacy.yaml")).expect("rm");
    std::fs::copy(fx.join("workload-added/head/worker.yaml"), k8s.join("worker.yaml")).expect("copy");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "--quiet", "-m", "head"]);
    std::fs::copy(fx.join("replicas-changed/head/web.yaml"), k8s.join("sub/web.yaml")).expect("copy");
    let status_before = Command::new("git").args(["status", "--porcelain"]).current_dir(repo).output().expect("git");

    let sel = ["--no-config", "--select", "REL007,SEC001"];
    let o = run_in(repo, &[&["diff", "--base", "HEAD~1", "k8s", "--format", "json"][..], &sel].concat());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    let deltas: Vec<(String, String, f64)> = v["cost"]["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .filter(|w| w["status"] != "unchanged")
        .map(|w| {
            (
                format!("{}/{}", w["kind"].as_str().unwrap_or(""), w["name"].as_str().unwrap_or("")),
                w["status"].as_str().unwrap_or("").to_string(),
                w["delta_monthly"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    // payments -14.63; web +26.17 (the uncommitted edit is the head); legacy -29.26 and its
    // LoadBalancer -18.25; worker +117.05. Total -14.63 + 26.17 - 29.26 - 18.25 + 117.05 = 81.08.
    assert_eq!(
        deltas,
        vec![
            ("Deployment/worker".to_string(), "added".to_string(), 117.05),
            ("Deployment/legacy-reports".to_string(), "removed".to_string(), -29.26),
            ("Deployment/payments".to_string(), "changed".to_string(), -14.63),
            ("Deployment/web".to_string(), "changed".to_string(), 26.17),
            ("Service/legacy-reports".to_string(), "removed".to_string(), -18.25),
        ]
    );
    assert_eq!(v["cost"]["delta_monthly"], 81.08);
    let new: Vec<&str> = v["new"].as_array().expect("new").iter().filter_map(|f| f["rule"].as_str()).collect();
    let resolved: Vec<&str> =
        v["resolved"].as_array().expect("resolved").iter().filter_map(|f| f["rule"].as_str()).collect();
    assert_eq!(new, vec!["REL007"]);
    assert_eq!(resolved, vec!["REL007", "SEC001"], "legacy's REL007 and payments' SEC001");
    // Base files are named as the working tree names them.
    assert_eq!(v["resolved"][1]["location"]["file"], "k8s/payments.yaml");

    // Each gate, alone and together: one line per failed gate, exit 1.
    let gate = |extra: &[&str]| run_in(repo, &[&["diff", "--base", "HEAD~1", "k8s"][..], &sel, extra].concat());
    let failed =
        |o: &Out| o.stderr.lines().filter(|l| l.starts_with("gate failed:")).map(str::to_string).collect::<Vec<_>>();
    let o = gate(&["--fail-on-new", "medium"]);
    assert_eq!((o.code, failed(&o).len()), (Some(1), 1), "{}", o.stderr);
    assert!(failed(&o)[0].starts_with("gate failed: fail-on-new: 1 new finding at or above medium"), "{}", o.stderr);
    let o = gate(&["--fail-on-new", "high"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let o = gate(&["--max-cost-increase", "80"]);
    assert_eq!((o.code, failed(&o).len()), (Some(1), 1), "{}", o.stderr);
    let o = gate(&["--max-cost-increase", "90"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let o = gate(&["--max-cost-increase", "5%", "--fail-on-new", "low"]);
    assert_eq!((o.code, failed(&o).len()), (Some(1), 2), "{}", o.stderr);
    assert!(o.stdout.contains("gate max-cost-increase FAILED"), "{}", o.stdout);

    // From a subdirectory, with the path given relative to it.
    let o = run_in(&k8s, &[&["diff", "--base", "HEAD~1", ".", "--format", "json"][..], &sel].concat());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v2: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v2["cost"]["delta_monthly"], 81.08);
    assert_eq!(v2["resolved"][1]["location"]["file"], "./payments.yaml");

    // An absolute path, and a single file.
    let abs = k8s.display().to_string();
    let o = run_in(repo, &[&["diff", "--base", "HEAD~1", &abs, "--format", "json"][..], &sel].concat());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v3: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v3["cost"]["delta_monthly"], 81.08);
    let o = run_in(repo, &[&["diff", "--base", "HEAD~1", "k8s/payments.yaml", "--format", "json"][..], &sel].concat());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v4: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v4["cost"]["delta_monthly"], -14.63);
    assert_eq!(v4["resolved"][0]["location"]["file"], "k8s/payments.yaml");

    // A missing ref names the fix; nothing in the working tree changed.
    let o2 = run_in(repo, &[&["diff", "--base", "origin/main", "k8s"][..], &sel].concat());
    assert_eq!(o2.code, Some(2));
    assert!(o2.stderr.contains("fetch-depth: 0"), "{}", o2.stderr);
    let status_after = Command::new("git").args(["status", "--porcelain"]).current_dir(repo).output().expect("git");
    assert_eq!(status_before.stdout, status_after.stdout);

    // Not a repository.
    let plain = tempfile::tempdir().expect("tmp");
    let o = run_in(plain.path(), &["diff", "--no-config", "--base", "HEAD", "."]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("not inside a git repository"), "{}", o.stderr);
}

#[test]
fn markdown_neutralizes_hostile_names() {
    let empty = audit::run(source::Input::default(), &Config::defaults(), &opts());
    let head = audit_dir("manifests-fixtures/report");
    let d = Diff::new(&empty, &head).labeled("base <b>|", "head");
    let md = diff_md::render(&d).expect("md");
    assert!(!md.contains("<img"), "{md}");
    // The label is shown as a code span, where HTML is not interpreted.
    assert!(md.contains("`base <b>|`"), "{md}");
    assert!(!md.contains("@everyone"), "{md}");
    // Every table row keeps its column count: unescaped pipes outside code spans only.
    for line in md.lines().filter(|l| l.starts_with("| `Pod/lab/")) {
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 7, "{line}");
    }
    let t = diff_terminal::render(&d, false);
    assert!(!t.contains('\x1b') && !t.contains("\n# @everyone"), "{t}");
}
