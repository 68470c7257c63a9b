//! Right-sizing from a Prometheus HTTP API (`--prometheus`), against a loopback Prometheus
//! (`tests/prometheus_fake`) reached by the binary over real HTTP: recommendations checked against
//! hand-computed percentiles and peaks, the queries it sends, credentials, failures that leave the
//! audit intact, and too little history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod prometheus_fake;

use std::path::PathBuf;
use std::process::Command;

use prometheus_fake::{FakePrometheus, Series, hourly};
use serde_json::Value;

const GI: f64 = 1024.0 * 1024.0 * 1024.0;
const MI: f64 = 1024.0 * 1024.0;

fn dump() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/cost/rightsize/dump.json").display().to_string()
}

/// Two pods of `shop/api`, 100 hours of history: `app` is oversized, `proxy` fits.
fn series(hours: u64) -> (Series, Series) {
    let (x, y) = ("shop/api-7d9c5b8f6-x2k9p", "shop/api-7d9c5b8f6-b7h4q");
    let mut cpu = Series::new();
    // x: 0, 1m, 2m, ... (i/1000 cores); y: a flat 50m. p95 over x is rank 0.95·99 = 94.05 → 94.05m.
    cpu.insert(format!("{x}/app"), hourly(hours, |i| (99 - i.min(99)) as f64 / 1000.0));
    cpu.insert(format!("{y}/app"), hourly(hours, |_| 0.05));
    cpu.insert(format!("{x}/proxy"), hourly(hours, |_| 0.09));
    cpu.insert(format!("{y}/proxy"), hourly(hours, |_| 0.08));
    let mut mem = Series::new();
    mem.insert(format!("{x}/app"), hourly(hours, |i| if i == 7 { 300.0 * MI } else { 250.0 * MI }));
    mem.insert(format!("{y}/app"), hourly(hours, |_| 200.0 * MI));
    mem.insert(format!("{x}/proxy"), hourly(hours, |_| 100.0 * MI));
    mem.insert(format!("{y}/proxy"), hourly(hours, |_| 96.0 * MI));
    // Another namespace's pod the input does not hold: read, never reported.
    cpu.insert("other/batch-1/main".into(), hourly(hours, |_| 2.0));
    mem.insert("other/batch-1/main".into(), hourly(hours, |_| GI));
    (cpu, mem)
}

fn start(cpu: Series, mem: Series) -> (FakePrometheus, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let fake = rt.block_on(FakePrometheus::start(cpu, mem));
    (fake, rt)
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("CLUSTERGPT_PROMETHEUS_TOKEN")
        .output()
        .expect("run clustergpt");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn analyze_json(url: &str, extra: &[&str]) -> Value {
    let dump = dump();
    let mut args = vec!["analyze", "--no-config", &dump, "--prometheus", url, "--format", "json"];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, Some(0), "{err}");
    serde_json::from_str(&out).expect("json")
}

fn right_sized(v: &Value) -> Vec<&Value> {
    v["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "CST005").collect()
}

#[test]
fn oversized_requests_get_the_p95_and_peak_plus_15_percent() {
    let (cpu, mem) = series(100);
    let (fake, _rt) = start(cpu, mem);
    let v = analyze_json(&fake.url(), &["--window", "7d"]);
    let found = right_sized(&v);
    assert_eq!(found.len(), 1, "only `app` is off; `proxy` requests what it uses: {found:#?}");
    let f = found[0];
    assert_eq!(f["object"]["name"], "api");
    assert_eq!(f["location"]["path"], "/spec/template/spec/containers/0/resources");
    // CPU: max over pods of each pod's p95 = 94.05m → 95m. Memory: peak 300Mi × 1.15 = 345Mi.
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("requests 1 CPU and 2Gi memory"), "{msg}");
    assert!(
        msg.contains("over 7d it used 94.05m CPU (p95) and at most 300Mi memory: 95m CPU and 345Mi memory fit"),
        "{msg}"
    );
    let ops = &f["fix"]["ops"];
    assert_eq!(ops[0]["path"], "/spec/template/spec/containers/0/resources/requests/cpu");
    assert_eq!(ops[0]["value"], "95m");
    assert_eq!(ops[1]["value"], "345Mi");
    assert_eq!(ops[2]["path"], "/spec/template/spec/containers/0/resources/limits/memory");
    assert_eq!(ops[2]["value"], "345Mi");
    assert_eq!(f["fix"]["applicability"], "unsafe");
    // The saving is priced like any fix: two replicas give back 0.905 CPU and 1703Mi each.
    assert!(f["cost"]["monthly_delta"].as_f64().is_some_and(|d| d < -10.0), "{}", f["cost"]);

    let notes = &v["cost"]["usage_history"];
    assert_eq!(notes[0]["available"], true, "{notes}");
    assert_eq!(notes[0]["containers"], 5);
    assert_eq!(notes[0]["window"], "7d");

    // Two queries, each a range over the window at about 1,000 points, aligned to the step.
    let log = fake.log();
    assert_eq!(log.len(), 2, "{log:#?}");
    for l in &log {
        assert_eq!(l.path, "/api/v1/query_range");
        let n = |k: &str| l.query[k].parse::<u64>().unwrap();
        assert_eq!(n("end") - n("start"), 7 * 86_400);
        assert_eq!(n("step"), 660);
        assert_eq!(n("end") % 660, 0);
        assert!(l.authorization.is_none());
    }
    assert!(log[0].query["query"].contains("rate(container_cpu_usage_seconds_total{"), "{:?}", log[0].query);
    assert!(log[1].query["query"].contains("container_memory_working_set_bytes{"), "{:?}", log[1].query);

    // Same Prometheus answers, same bytes.
    assert_eq!(analyze_json(&fake.url(), &["--window", "7d"]), v);
}

#[test]
fn less_than_a_day_of_history_is_not_judged() {
    let (cpu, mem) = series(20);
    let (fake, _rt) = start(cpu, mem);
    let v = analyze_json(&fake.url(), &[]);
    assert!(right_sized(&v).is_empty());
    assert_eq!(v["cost"]["usage_history"][0]["available"], true);
}

#[test]
fn a_failing_prometheus_is_reported_and_the_audit_goes_on() {
    let (cpu, mem) = series(100);
    let (fake, _rt) = start(cpu, mem);
    fake.state.lock().unwrap().fail = Some(503);
    let dump = dump();
    let (code, out, err) = run(&["analyze", "--no-config", &dump, "--prometheus", &fake.url()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains("CST005"));
    assert!(
        out.contains("Usage history: Prometheus at http://127.0.0.1:")
            && out.contains("HTTP 503: unavailable: the storage is being compacted: right-sizing is not evaluated"),
        "{out}"
    );
    // The documents say it too.
    let (_, md, _) = run(&["analyze", "--no-config", &dump, "--prometheus", &fake.url(), "--format", "md"]);
    assert!(md.contains("right-sizing is not evaluated"), "{md}");
    let (_, html, _) = run(&["analyze", "--no-config", &dump, "--prometheus", &fake.url(), "--format", "html"]);
    assert!(html.contains("<li>Usage: Prometheus at http://127.0.0.1:"), "usage note in the HTML");
    // A port nobody listens on, and a window that is not one.
    let (code, out, _) = run(&["analyze", "--no-config", &dump, "--prometheus", "http://127.0.0.1:9"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Usage history: Prometheus at http://127.0.0.1:9: cannot connect"), "{out}");
    let (code, _, err) = run(&["analyze", "--no-config", &dump, "--prometheus", &fake.url(), "--window", "1y"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("invalid window `1y`"), "{err}");
}

#[test]
fn credentials_in_the_url_become_basic_auth_and_are_never_printed() {
    let (cpu, mem) = series(100);
    let (fake, _rt) = start(cpu, mem);
    // base64("ops:s3cret/pw") — the password percent-encoded in the URL.
    fake.state.lock().unwrap().require_auth = Some("Basic b3BzOnMzY3JldC9wdw==".into());
    let url = fake.url().replace("http://", "http://ops:s3cret%2Fpw@");
    let dump = dump();
    let (code, out, err) = run(&["analyze", "--no-config", &dump, "--prometheus", &url, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains("s3cret") && !err.contains("s3cret"));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(right_sized(&v).len(), 1, "{}", v["cost"]["usage_history"]);
    assert_eq!(v["cost"]["usage_history"][0]["source"], fake.url());

    // A bearer token from the environment instead.
    fake.state.lock().unwrap().require_auth = Some("Bearer tok-123".into());
    let out = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["analyze", "--no-config", &dump, "--prometheus", &fake.url(), "--format", "json"])
        .env("CLUSTERGPT_PROMETHEUS_TOKEN", "tok-123")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(right_sized(&v).len(), 1, "{}", v["cost"]["usage_history"]);
}

#[test]
fn right_sizing_lands_on_the_manifest_line_and_fix_live_writes_it() {
    let (cpu, mem) = series(100);
    let (fake, _rt) = start(cpu, mem);
    let k8s = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/cost/rightsize/k8s");
    let v = analyze_json(&fake.url(), &["--manifests", k8s.to_str().unwrap()]);
    let f = right_sized(&v)[0];
    let m = &f["manifest"];
    assert!(m["location"]["file"].as_str().is_some_and(|p| p.ends_with("k8s/api.yaml")), "{m}");
    // The manifest lists `app` second: the link follows the container by name.
    assert_eq!(m["location"]["path"], "/spec/template/spec/containers/1/resources", "{m}");
    assert_eq!(m["location"]["line"], 28, "{m}");
    assert_eq!(m["fix"]["ops"][0]["path"], "/spec/template/spec/containers/1/resources/requests/cpu", "{m}");

    // The Markdown and HTML reports name the manifest line next to the finding.
    let out = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (md, html, pdf) = (out.path().join("r.md"), out.path().join("r.html"), out.path().join("r.pdf"));
    let (live, k8s_dir) = (dump(), k8s.to_str().unwrap());
    let (md_arg, html_arg) = (format!("md={}", md.display()), format!("html={}", html.display()));
    let pdf_arg = format!("pdf={}", pdf.display());
    let args = ["analyze", "--no-config", &live, "--prometheus", &fake.url(), "--manifests", k8s_dir];
    let (code, _, err) =
        run(&[&args[..], &["--format", &md_arg, "--format", &html_arg, "--format", &pdf_arg]].concat());
    assert_eq!(code, Some(0), "{err}");
    // The PDF too, when poppler can read it back.
    match std::process::Command::new("pdftotext").arg("-layout").arg(&pdf).arg("-").output() {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let line = text.lines().find(|l| l.contains("Manifest:")).unwrap_or_default();
            assert!(line.contains("api.yaml:28") && line.contains("fix (unsafe):"), "{text}");
        }
        _ => eprintln!("pdftotext not installed (poppler-utils): PDF text not checked"),
    }
    let md = std::fs::read_to_string(md).unwrap();
    let line = md.lines().find(|l| l.contains("**CST005**")).unwrap_or_default();
    assert!(line.contains("Manifest: `") && line.contains("api.yaml:28`, fix (unsafe): "), "{md}");
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.contains("<p>Manifest: <code>") && html.contains("api.yaml:28</code>, fix (unsafe): "), "{html}");

    // `fix --live` writes it into a copy of the manifests, comments and flow style kept.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let file = tmp.path().join("api.yaml");
    std::fs::copy(k8s.join("api.yaml"), &file).unwrap();
    let dump = dump();
    let dir = tmp.path().to_str().unwrap();
    let (code, _, err) = run(&["fix", "--no-config", dir, "--live", &dump, "--prometheus", &fake.url(), "--write"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("unsafe"), "right-sizing is unsafe: skipped without --unsafe: {err}");
    let (code, _, err) = run(&[
        "fix",
        "--no-config",
        dir,
        "--live",
        &dump,
        "--prometheus",
        &fake.url(),
        "--unsafe",
        "--write",
        "--select",
        "CST005",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("requests: {cpu: 100m, memory: 128Mi}"), "proxy untouched:\n{text}");
    assert!(text.contains("cpu: \"95m\"       # sized for launch day"), "quotes and comment kept: {text}");
    assert!(text.contains("memory: 345Mi"), "{text}");
    assert!(!text.contains("2Gi"), "{text}");
    assert!(text.contains("# The manifest the live `shop/api` was deployed from."), "{text}");
}
