//! End-to-end tests of the `clustergpt` binary: exit codes, formats, stdin, config, determinism.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn clustergpt");
    if let (Some(mut s), Some(text)) = (child.stdin.take(), stdin) {
        s.write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Out {
    run_in(&root(), args, None)
}

fn demo() -> String {
    root().join("examples/demo-app").display().to_string()
}

#[test]
fn demo_reports_findings_and_passes_without_a_gate() {
    let o = run(&["analyze", &demo()]);
    assert_eq!(o.code, Some(0), "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("SEC001"), "{}", o.stdout);
    assert!(o.stdout.contains("Summary:"));
}

#[test]
fn fail_on_gates_with_exit_1() {
    let o = run(&["analyze", &demo(), "--fail-on", "high"]);
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    let o = run(&["analyze", &demo(), "--select", "SCH001", "--fail-on", "high"]);
    assert_eq!(o.code, Some(0), "{}{}", o.stdout, o.stderr);
}

#[test]
fn bad_flags_exit_2() {
    assert_eq!(run(&["analyze", &demo(), "--fail-on", "severe"]).code, Some(2));
    assert_eq!(run(&["analyze", &demo(), "--select", "NOPE999"]).code, Some(2));
    assert_eq!(run(&["analyze", &demo(), "--format", "xml"]).code, Some(2));
    assert_eq!(run(&["frobnicate"]).code, Some(2));
}

#[test]
fn unreadable_input_exits_2_and_still_audits_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("good.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: nginx:1\n      securityContext: {privileged: true}\n").expect("write");
    std::fs::write(dir.path().join("bad.yaml"), "kind: Pod\n  broken: [\n").expect("write");
    let o = run_in(dir.path(), &["analyze", ".", "--format", "json"], None);
    assert_eq!(o.code, Some(2));
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["errors"][0]["source"], "./bad.yaml");
    assert!(v["errors"][0]["line"].as_u64().is_some());
    assert!(v["findings"].as_array().is_some_and(|f| f.iter().any(|f| f["rule"] == "SEC001")));
}

#[test]
fn several_formats_in_one_run_and_byte_identical_reruns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut previous: Option<Vec<String>> = None;
    for _ in 0..2 {
        let args = [
            "analyze",
            &demo(),
            "--format",
            "json=a.json",
            "--format",
            "sarif=a.sarif",
            "--format",
            "md=a.md",
            "--format",
            "terminal",
        ];
        let o = run_in(dir.path(), &args, None);
        assert_eq!(o.code, Some(0), "{}", o.stderr);
        let outputs: Vec<String> = ["a.json", "a.sarif", "a.md"]
            .iter()
            .map(|f| std::fs::read_to_string(dir.path().join(f)).expect("output written"))
            .chain([o.stdout])
            .collect();
        if let Some(p) = &previous {
            assert_eq!(p, &outputs, "outputs differ between runs");
        }
        previous = Some(outputs);
    }
}

#[test]
fn kubectl_json_list_on_stdin() {
    let list = r#"{"apiVersion":"v1","kind":"List","items":[
      {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"prod","uid":"u1"},
       "spec":{"containers":[{"name":"web","image":"nginx:1.27","securityContext":{"privileged":true}}]},
       "status":{"phase":"Running"}},
      {"apiVersion":"v1","kind":"Event","metadata":{"name":"e1","namespace":"prod"},"reason":"BackOff","message":"Back-off restarting failed container"}
    ]}"#;
    let o = run_in(&root(), &["analyze", "-", "--format", "json"], Some(list));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["summary"]["objects"], 2);
    let f = v["findings"].as_array().expect("findings");
    let sec = f.iter().find(|f| f["rule"] == "SEC001").expect("privileged finding");
    assert_eq!(sec["location"]["file"], "-");
    assert_eq!(sec["object"]["namespace"], "prod");
}

#[test]
fn rules_json_contract() {
    let o = run(&["rules", "--format", "json"]);
    assert_eq!(o.code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    let rules = v.as_array().expect("array");
    assert!(rules.len() >= 3);
    for r in rules {
        for k in ["id", "name", "area", "severity", "default_enabled", "summary", "equivalents"] {
            assert!(r.get(k).is_some(), "rule lacks {k}: {r}");
        }
        for tool in ["polaris", "kube_score", "kube_linter", "checkov", "trivy"] {
            assert!(r["equivalents"][tool].is_array(), "{r}");
        }
    }
}

#[test]
fn rules_explain_prints_docs() {
    let o = run(&["rules", "explain", "SEC001"]);
    assert_eq!(o.code, Some(0));
    assert!(o.stdout.contains("## Why it matters"));
    assert_eq!(run(&["rules", "explain", "XYZ999"]).code, Some(2));
}

#[test]
fn init_writes_a_config_that_is_then_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = run_in(dir.path(), &["init"], None);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(dir.path().join(".clustergpt.yaml").exists());
    assert_eq!(run_in(dir.path(), &["init"], None).code, Some(2), "refuses to overwrite");
    // The written config is discovered and valid.
    let o = run_in(dir.path(), &["analyze", &demo()], None);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

#[test]
fn invalid_config_names_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".clustergpt.yaml"), "select: [SEC001]\nfail_on: high\nnot_a_key: 1\n")
        .expect("write");
    let o = run_in(dir.path(), &["analyze", &demo()], None);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains(".clustergpt.yaml:3:1"), "{}", o.stderr);
    assert!(o.stderr.contains("not_a_key"), "{}", o.stderr);
}

#[test]
fn exemptions_suppress_and_unmatched_ones_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".clustergpt.yaml"),
        "exemptions:\n  - rules: [SEC001]\n    namespace: shop\n    name: api\n    reason: debug sidecar until INC-42 is closed\n  - rules: [SEC001]\n    namespace: nowhere\n    reason: stale\n",
    )
    .expect("write");
    let o = run_in(dir.path(), &["analyze", &demo(), "--format", "json"], None);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert!(!v["findings"].as_array().expect("findings").iter().any(|f| f["rule"] == "SEC001"));
    assert_eq!(v["suppressed"][0]["rule"], "SEC001");
    let notes = v["exemption_notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0]["source"].as_str().is_some_and(|s| s.ends_with(":6")), "{notes:?}");
}

#[test]
fn annotation_exemption_needs_a_reason() {
    let pod = |ann: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    clustergpt.io/ignore: \"{ann}\"\nspec:\n  containers:\n    - name: a\n      image: nginx:1\n      securityContext: {{privileged: true}}\n"
        )
    };
    let with_reason = run_in(
        &root(),
        &["analyze", "-", "--select", "SEC001", "--format", "json"],
        Some(&pod("SEC001: node debugging tool")),
    );
    let v: serde_json::Value = serde_json::from_str(&with_reason.stdout).expect("json");
    assert_eq!(v["summary"]["findings"], 0);
    let without = run_in(&root(), &["analyze", "-", "--select", "SEC001", "--format", "json"], Some(&pod("SEC001")));
    let v: serde_json::Value = serde_json::from_str(&without.stdout).expect("json");
    assert_eq!(v["summary"]["findings"], 1);
    assert!(v["exemption_notes"][0]["message"].as_str().is_some_and(|m| m.contains("no reason")));
}

#[test]
fn broken_pipe_is_not_an_error() {
    // Enough findings that the output outgrows the pipe buffer after `head` has closed it.
    let dir = tempfile::tempdir().expect("tempdir");
    let pods: String = (0..2000)
        .map(|i| format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers: [{{name: a, image: nginx}}]\n"))
        .collect();
    std::fs::write(dir.path().join("pods.yaml"), pods).expect("write");
    // JSON and SARIF are streamed to stdout: the same holds for them.
    for format in ["terminal", "json", "sarif"] {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "'{}' analyze '{}' --select all --color never --format {format} | head -c 1 >/dev/null",
                env!("CARGO_BIN_EXE_clustergpt"),
                dir.path().display()
            ))
            .output()
            .expect("sh");
        // An unhandled EPIPE would print `clustergpt: error: Broken pipe` (or a panic) on stderr.
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("panicked") && !stderr.contains("error"), "{format}: {stderr}");
    }
}

#[test]
fn a_failed_gate_says_so_on_stderr_whatever_the_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = run(&[
        "analyze",
        "examples/demo-app",
        "--fail-on",
        "high",
        "--format",
        &format!("sarif={}", dir.path().join("s.sarif").display()),
    ]);
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(o.stdout.is_empty(), "{}", o.stdout);
    let line = o.stderr.lines().find(|l| l.starts_with("gate failed: ")).unwrap_or_default();
    assert!(line.ends_with(" at or above high") && line.contains(" findings "), "{}", o.stderr);
    // Not a TTY: no `wrote ...` line.
    assert!(!o.stderr.contains("wrote "), "{}", o.stderr);
}

#[test]
fn input_errors_go_to_stderr_not_into_the_report() {
    let o = run(&["analyze", "examples/demo-app", "no-such-dir/app.yaml"]);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("error: no-such-dir/app.yaml"), "{}", o.stderr);
    assert!(!o.stdout.contains("no-such-dir/app.yaml: "), "{}", o.stdout);
    // The summary still counts it.
    assert!(o.stdout.contains("1 input error"), "{}", o.stdout);
}

#[test]
fn diff_names_a_missing_audit_file() {
    let o = run(&["diff", "nope.json", "head.json"]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("nope.json: no such file or directory"), "{}", o.stderr);
}

#[test]
fn rules_takes_analyzes_format_names() {
    let terminal = run(&["rules", "--format", "terminal"]);
    let table = run(&["rules", "--format", "table"]);
    assert_eq!(terminal.code, Some(0), "{}", terminal.stderr);
    assert_eq!(terminal.stdout, table.stdout);
    assert!(run(&["rules", "--format", "json"]).stdout.trim_start().starts_with('['));
    let help = run(&["analyze", "--help"]);
    let flat = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("critical, high, medium, low or info"), "{}", help.stdout);
}

#[test]
fn concise_prints_one_clickable_line_per_finding() {
    let o = run(&["analyze", "examples/demo-app", "--format", "concise"]);
    let json = run(&["analyze", "examples/demo-app", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let n = v["findings"].as_array().map_or(0, Vec::len);
    assert!(n > 0);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), n, "{}", o.stdout);
    let f = &v["findings"][0];
    let first = format!(
        "{}:{}:{}: {} {} {}",
        f["location"]["file"].as_str().unwrap_or_default(),
        f["location"]["line"],
        f["location"]["column"],
        f["severity"].as_str().unwrap_or_default(),
        f["rule"].as_str().unwrap_or_default(),
        f["message"].as_str().unwrap_or_default()
    );
    assert_eq!(lines[0], first);
}

#[test]
fn min_severity_hides_findings_but_not_from_the_gate() {
    let all = run(&["analyze", "examples/demo-app", "--format", "concise"]);
    let high = run(&[
        "analyze",
        "examples/demo-app",
        "--format",
        "concise",
        "--min-severity",
        "critical",
        "--fail-on",
        "medium",
    ]);
    assert!(high.stdout.lines().count() < all.stdout.lines().count());
    assert!(high.stdout.lines().all(|l| l.contains(": critical ")), "{}", high.stdout);
    assert!(high.stderr.contains("below --min-severity not shown"), "{}", high.stderr);
    // The gate counts what is hidden too.
    assert_eq!(high.code, Some(1));
    let gate = high.stderr.lines().find(|l| l.starts_with("gate failed: ")).unwrap_or_default();
    let n: usize = gate.trim_start_matches("gate failed: ").split(' ').next().and_then(|x| x.parse().ok()).unwrap_or(0);
    assert!(n > high.stdout.lines().count(), "{gate}");
}

#[test]
fn files_concatenated_without_separators_are_reported_not_lost() {
    let dir = root().join("examples/demo-app");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("demo")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    let text: String = names.iter().map(|p| std::fs::read_to_string(p).expect("read")).collect();
    let out = run_in(&root(), &["analyze", "-", "--select", "SCH007", "--format", "concise"], Some(&text));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(lines.iter().all(|l| l.contains("objects without `---` between them")), "{}", out.stdout);
}

#[test]
fn overlapping_rules_report_one_problem_once_and_the_other_takes_over_when_the_owner_is_off() {
    let rules_of = |args: &[&str]| -> Vec<String> {
        let mut all =
            vec!["analyze", "examples/demo-app", "--format", "concise", "--select", "SEC001,SEC002,SEC021,SEC022"];
        all.extend_from_slice(args);
        let out = run(&all);
        out.stdout
            .lines()
            .map(|l| {
                l.split(' ').nth(2).unwrap_or_default().to_string() + " " + l.split(':').next().unwrap_or_default()
            })
            .collect()
    };
    let both = rules_of(&[]);
    // The namespace without any NetworkPolicy: once, on the Namespace (SEC022), not on each workload.
    assert_eq!(both.iter().filter(|r| r.starts_with("SEC022")).count(), 1, "{both:?}");
    assert!(!both.iter().any(|r| r.starts_with("SEC021")), "{both:?}");
    // `privileged: true` in api.yaml's debug container: SEC001 only.
    assert_eq!(both.iter().filter(|r| *r == "SEC001 examples/demo-app/api.yaml").count(), 1, "{both:?}");
    assert_eq!(
        both.iter().filter(|r| *r == "SEC002 examples/demo-app/api.yaml").count(),
        1,
        "only the `api` container: {both:?}"
    );
    let without_owners = rules_of(&["--ignore", "SEC001,SEC022"]);
    assert_eq!(without_owners.iter().filter(|r| r.starts_with("SEC021")).count(), 3, "{without_owners:?}");
    assert_eq!(
        without_owners.iter().filter(|r| *r == "SEC002 examples/demo-app/api.yaml").count(),
        2,
        "{without_owners:?}"
    );
    let json = run(&["analyze", "examples/demo-app", "--format", "json", "--select", "SEC021,SEC022"]).stdout;
    assert!(json.contains("\"value\": \"CronJob orders-backup, Deployment api, Deployment frontend\""), "{json}");
}
