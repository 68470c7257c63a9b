//! A real Kubernetes in Docker: a k3s server started with the `docker` CLI (the
//! `.github/workflows/e2e.yml` job `k3s` sets `CLUSTERGPT_E2E_DOCKER=1`), the demo app applied with
//! the real kubectl, then `analyze --cluster`, `snapshot` and the snapshot's replay through the
//! binary. k3s ships metrics-server, so usage from `metrics.k8s.io` is exercised too.
//!
//! The docker CLI rather than the testcontainers crate: the same container, without compiling a
//! Docker API client into every `cargo test` run that cannot use it (no engine on most machines).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const IMAGE: &str = "rancher/k3s:v1.31.4-k3s1";

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the container however the test ends.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

fn kubectl(kubeconfig: &Path) -> Command {
    let mut c = Command::new("kubectl");
    c.arg("--kubeconfig").arg(kubeconfig);
    c
}

fn clustergpt(dir: &Path, args: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_clustergpt")).args(args).current_dir(dir).env("NO_COLOR", "1"))
}

#[test]
#[ignore = "needs Docker: set CLUSTERGPT_E2E_DOCKER=1"]
fn k3s_in_docker_is_read_audited_and_replayed() {
    if std::env::var("CLUSTERGPT_E2E_DOCKER").as_deref() != Ok("1") {
        eprintln!("skipped: CLUSTERGPT_E2E_DOCKER is not 1");
        return;
    }
    let name = format!("clustergpt-k3s-{}", std::process::id());
    ok(Command::new("docker").args([
        "run",
        "-d",
        "--privileged",
        "--name",
        &name,
        "-p",
        "127.0.0.1::6443",
        IMAGE,
        "server",
        "--disable",
        "traefik",
    ]));
    let _guard = Container(name.clone());
    let port = ok(Command::new("docker").args(["port", &name, "6443/tcp"]));
    let port = port.lines().next().and_then(|l| l.rsplit(':').next()).expect("mapped port").trim().to_string();

    // The kubeconfig appears once the server is up; it names 127.0.0.1:6443 inside the container.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let kubeconfig: PathBuf = dir.path().join("kubeconfig");
    let started = Instant::now();
    loop {
        let out = run(Command::new("docker").args(["exec", &name, "cat", "/etc/rancher/k3s/k3s.yaml"]));
        if out.status.success() && !out.stdout.is_empty() {
            let text = String::from_utf8_lossy(&out.stdout).replace("127.0.0.1:6443", &format!("127.0.0.1:{port}"));
            std::fs::write(&kubeconfig, text).unwrap();
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "k3s did not write its kubeconfig in 3 minutes");
        std::thread::sleep(Duration::from_secs(2));
    }
    // Nodes register a little after the API answers.
    while !run(kubectl(&kubeconfig).args(["get", "nodes", "-o", "name"])).stdout.starts_with(b"node/") {
        assert!(started.elapsed() < Duration::from_secs(240), "no node registered");
        std::thread::sleep(Duration::from_secs(2));
    }
    ok(kubectl(&kubeconfig).args(["wait", "--for=condition=Ready", "node", "--all", "--timeout=180s"]));

    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-app");
    ok(kubectl(&kubeconfig).arg("apply").arg("-f").arg(demo.join("namespace.yaml")));
    ok(kubectl(&kubeconfig).arg("apply").arg("-f").arg(&demo));

    let k = kubeconfig.to_str().unwrap();
    let live = clustergpt(dir.path(), &["analyze", "--cluster", "--kubeconfig", k, "--format", "json=live.json"]);
    assert!(matches!(live.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&live.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("live.json")).unwrap()).unwrap();
    assert!(
        v["not_evaluated"].as_array().is_none_or(Vec::is_empty),
        "an admin reads everything: {}",
        v["not_evaluated"]
    );
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["object"]["namespace"] == "shop"), "the demo app is audited");
    assert!(v["cost"]["nodes"].as_array().is_some_and(|n| !n.is_empty()), "{}", v["cost"]);

    let snap = dir.path().join("k3s.snap.json.zst");
    let out = clustergpt(dir.path(), &["snapshot", "--cluster", "--kubeconfig", k, "-o", snap.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let replay =
        clustergpt(dir.path(), &["analyze", "--snapshot", snap.to_str().unwrap(), "--format", "json=replay.json"]);
    assert!(matches!(replay.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&replay.stderr));
    // Two reads of a running cluster differ (events, restarts); the replay of one is stable.
    let again =
        clustergpt(dir.path(), &["analyze", "--snapshot", snap.to_str().unwrap(), "--format", "json=again.json"]);
    assert_eq!(again.status.code(), replay.status.code());
    assert_eq!(
        std::fs::read(dir.path().join("replay.json")).unwrap(),
        std::fs::read(dir.path().join("again.json")).unwrap()
    );
}
