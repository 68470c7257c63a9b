//! Diagnosis end to end: the real kubectl dumps of `../shared/corpus/live` (skipped when absent),
//! the false-positive guards, determinism, fingerprints that survive a replaced pod, both Event
//! shapes, and a mixed `kubectl get ... -o json` List on stdin through the binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::model::{Finding, Severity};
use clustergpt::source;
use clustergpt::yaml::Limits;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/diagnosis")
}

fn diagnose_text(name: &str, text: &str) -> Audit {
    let mut input = source::Input::default();
    source::load_bytes(name, text.as_bytes().to_vec(), Limits::default(), &mut input);
    let a = audit::run(
        input,
        &Config::defaults(),
        &RunOptions { select: vec!["diagnosis".into()], ..RunOptions::default() },
    );
    assert!(a.errors.is_empty(), "{name}: {:?}", a.errors);
    a
}

fn diagnose_files(paths: &[PathBuf]) -> Audit {
    let input = source::load_paths(paths, &mut std::io::empty(), Limits::default());
    let a = audit::run(
        input,
        &Config::defaults(),
        &RunOptions { select: vec!["diagnosis".into()], ..RunOptions::default() },
    );
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    a
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(fixtures().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn listing(a: &Audit) -> String {
    a.findings.iter().map(|f| format!("{} {} {} {}\n", f.rule, f.severity, f.object, f.message)).collect()
}

/// The one diagnosis of a class in an audit.
fn only<'a>(a: &'a Audit, class: &str) -> &'a Finding {
    let hits: Vec<&Finding> =
        a.findings.iter().filter(|f| f.diagnosis.as_ref().is_some_and(|d| d.class == class)).collect();
    assert_eq!(hits.len(), 1, "expected one {class} diagnosis:\n{}", listing(a));
    hits[0]
}

fn evidence_text(f: &Finding) -> String {
    let d = f.diagnosis.as_ref().expect("diagnosis");
    d.hypotheses.iter().flat_map(|h| &h.evidence).map(|e| format!("{} = {}\n", e.path, e.value)).collect()
}

// ---------------------------------------------------------------- the real dumps

fn live_corpus() -> Option<PathBuf> {
    let root = std::env::var_os("CLUSTERGPT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
        .join("live/troubleshoot-analyze-files");
    if root.is_dir() {
        Some(root)
    } else {
        eprintln!("skipping: no live corpus at {} (set CLUSTERGPT_CORPUS)", root.display());
        None
    }
}

#[test]
fn corpus_oom_killed() {
    let Some(c) = live_corpus() else { return };
    let a = diagnose_files(&[c.join("pods/message-oomkill-pod.json")]);
    let f = only(&a, "oom-killed");
    assert_eq!(
        (f.rule.as_ref(), f.object.kind.as_str(), f.object.name.as_ref()),
        ("DIA001", "Pod", "oom-kill-job3-gbb89")
    );
    let d = f.diagnosis.as_ref().expect("diagnosis");
    assert!(d.summary.contains("container memory-eater: OOMKilled"), "{}", d.summary);
    assert_eq!(d.hypotheses[0].cause, "the container used more than its memory limit (100Mi)");
    let ev = evidence_text(f);
    assert!(ev.contains("/status/containerStatuses/0/state/terminated/exitCode = 137"), "{ev}");
    assert!(ev.contains("/status/containerStatuses/0/state/terminated/reason = OOMKilled"), "{ev}");
    assert!(ev.contains("/spec/containers/0/resources/limits/memory = 100Mi"), "{ev}");
    assert_eq!(d.since.as_deref(), Some("2023-07-11T04:43:25Z"));
}

#[test]
fn corpus_crash_loop_with_its_exit_code() {
    let Some(c) = live_corpus() else { return };
    let a = diagnose_files(&[c.join("pods/message-pod-crashloop-backoff.json")]);
    let f = only(&a, "crash-loop");
    let d = f.diagnosis.as_ref().expect("diagnosis");
    assert_eq!(d.hypotheses[0].subclass.as_deref(), Some("exit-127"));
    assert!(d.hypotheses[0].cause.contains("ContainerCannotRun"), "{}", d.hypotheses[0].cause);
    assert!(d.hypotheses[0].cause.contains("executable file not found"), "{}", d.hypotheses[0].cause);
    assert_eq!(d.count, 4, "restartCount");
    let ev = evidence_text(f);
    assert!(ev.contains("/status/containerStatuses/0/state/waiting/reason = CrashLoopBackOff"), "{ev}");
    assert!(ev.contains("/status/containerStatuses/0/lastState/terminated/exitCode = 127"), "{ev}");
}

#[test]
fn corpus_image_pull_with_its_subclass() {
    let Some(c) = live_corpus() else { return };
    let a =
        diagnose_files(&[c.join("pods/message-image-pull-fail.json"), c.join("events/message-image-pull-fail.json")]);
    let f = only(&a, "image-pull");
    let d = f.diagnosis.as_ref().expect("diagnosis");
    // An x509 error talking to the registry: it cannot be reached safely.
    assert_eq!(d.hypotheses[0].subclass.as_deref(), Some("unreachable"));
    let ev = evidence_text(f);
    assert!(ev.contains("state/waiting/reason = ErrImagePull"), "{ev}");
    assert!(ev.contains("x509: certificate is not valid"), "{ev}");
    assert!(ev.contains("Warning Failed ×"), "events are evidence: {ev}");
}

#[test]
fn corpus_pending_with_the_schedulers_reasons() {
    let Some(c) = live_corpus() else { return };
    let a = diagnose_files(&[c.join("pods/message-pending-pod-resources.json"), c.join("nodes.json")]);
    let f = only(&a, "unschedulable");
    let d = f.diagnosis.as_ref().expect("diagnosis");
    let h = &d.hypotheses[0];
    assert_eq!(h.subclass.as_deref(), Some("insufficient-nvidia.com-gpu"));
    assert!(h.cause.contains("more than any node can offer"), "{}", h.cause);
    assert!(evidence_text(f).contains("/status/allocatable/nvidia.com/gpu"), "{}", evidence_text(f));

    let a = diagnose_files(&[c.join("pods/message-pending-node-affinity.json")]);
    let d = only(&a, "unschedulable").diagnosis.clone().expect("diagnosis");
    assert_eq!(d.hypotheses[0].subclass.as_deref(), Some("node-affinity"));
    assert!(d.hypotheses[0].cause.contains("(1 of 1 nodes)"), "{}", d.hypotheses[0].cause);
}

#[test]
fn corpus_failed_mount() {
    let Some(c) = live_corpus() else { return };
    let a = diagnose_files(&[
        c.join("pods/message-container-creating-failed-mount.json"),
        c.join("events/message-container-creating-failed-mount.json"),
    ]);
    let f = only(&a, "mount-failure");
    let d = f.diagnosis.as_ref().expect("diagnosis");
    // The hostPath error is the cause; the timeout that follows it is not.
    assert_eq!(d.hypotheses[0].subclass.as_deref(), Some("host-path"), "{:?}", d.hypotheses);
    assert!(d.hypotheses[0].cause.contains("`host`"), "{}", d.hypotheses[0].cause);
    assert!(evidence_text(f).contains("FailedMount"), "{}", evidence_text(f));
}

#[test]
fn corpus_init_container_failure() {
    let Some(c) = live_corpus() else { return };
    let a = diagnose_files(&[c.join("pods/message-pod-init-crashloop-backoff.json")]);
    let f = only(&a, "init-failing");
    assert!(f.message.contains("Init:RunContainerError"), "{}", f.message);
    let d = f.diagnosis.as_ref().expect("diagnosis");
    assert_eq!(d.hypotheses[0].subclass.as_deref(), Some("command-not-found"));
}

#[test]
fn corpus_support_bundle_reports_nothing_below_a_controller_and_no_duplicates() {
    let Some(c) = live_corpus() else { return };
    let a = diagnose_files(std::slice::from_ref(&c));
    let mut seen = std::collections::BTreeSet::new();
    for f in &a.findings {
        assert!(seen.insert(f.fingerprint.clone()), "duplicate fingerprint {}", f.fingerprint);
    }
    for class in ["oom-killed", "crash-loop", "image-pull", "unschedulable", "mount-failure"] {
        assert!(
            a.findings.iter().any(|f| f.diagnosis.as_ref().is_some_and(|d| d.class == class)),
            "{class}:\n{}",
            listing(&a)
        );
    }
}

// ---------------------------------------------------------------- guards

fn assert_quiet(rel: &str) {
    let a = diagnose_text(rel, &read(rel));
    assert!(a.findings.is_empty(), "{rel} should give no diagnosis:\n{}", listing(&a));
}

#[test]
fn guard_succeeded_pods_and_their_sidecars_exit_codes() {
    assert_quiet("DIA002/pass-succeeded-sidecar.json");
    assert_quiet("DIA001/pass-succeeded.json");
}

#[test]
fn guard_jobs_that_completed_after_retries() {
    // The Job failed twice (one OOM kill) and then succeeded: no job-failed, no pod diagnosis.
    assert_quiet("DIA022/pass-complete-after-retries.json");
}

#[test]
fn guard_old_restarts_on_a_pod_that_is_ready_now() {
    assert_quiet("DIA002/pass-old-restarts-ready.json");
    assert_quiet("DIA001/pass-old-restart-ready.json");
    // A recent one is still said, as info only.
    let a = diagnose_text("recent", &read("DIA001/fail-recent-restart-ready.json"));
    assert!(!a.findings.is_empty() && a.findings.iter().all(|f| f.severity == Severity::Info), "{}", listing(&a));
}

#[test]
fn guard_wait_for_first_consumer_claims() {
    assert_quiet("DIA024/pass-wait-for-first-consumer.json");
}

#[test]
fn guard_vendor_node_conditions() {
    assert_quiet("DIA018/pass-vendor-conditions.json");
}

#[test]
fn guard_pods_terminating_within_their_grace_period() {
    assert_quiet("guards/terminating-in-grace.json");
    assert_quiet("DIA016/pass-in-grace.json");
}

// ---------------------------------------------------------------- identity and determinism

#[test]
fn the_same_dump_gives_byte_identical_json() {
    let text = read("DIA006/fail-insufficient-cpu.json");
    let one = clustergpt::report::json::render(&diagnose_text("dump.json", &text)).expect("json");
    let two = clustergpt::report::json::render(&diagnose_text("dump.json", &text)).expect("json");
    assert_eq!(one, two);
    assert!(one.contains("\"class\": \"unschedulable\""), "{one}");
}

#[test]
fn a_replaced_pod_is_the_same_incident() {
    let text = read("DIA001/fail-deployment-3-of-3.json");
    let before = diagnose_text("dump.json", &text);
    // The ReplicaSet replaced a pod: new name, new uid, a fresh restart count.
    let replaced = text
        .replace("api-7d9c5b8f6-x2k9p", "api-7d9c5b8f6-zz9zz")
        .replace("\"restartCount\": 14,", "\"restartCount\": 2,");
    assert_ne!(text, replaced);
    let after = diagnose_text("dump.json", &replaced);
    let fp = |a: &Audit| only(a, "oom-killed").fingerprint.clone();
    assert_eq!(fp(&before), fp(&after));
    let f = only(&after, "oom-killed");
    assert_eq!(f.object.kind, "Deployment");
    assert!(f.message.contains("in 3 of 3 pods"), "{}", f.message);
}

#[test]
fn both_event_shapes_are_read() {
    let a = diagnose_text("shape.json", &read("shapes/events-k8s-io-v1.json"));
    let f = only(&a, "crash-loop");
    let ev = evidence_text(f);
    assert!(
        ev.contains("Warning BackOff ×31, last 2026-11-30T09:58:30.000000Z: Back-off restarting failed container app"),
        "{ev}"
    );
    assert_eq!(f.diagnosis.as_ref().map(|d| d.hypotheses[0].subclass.clone()), Some(Some("exit-2".to_string())));
}

// ---------------------------------------------------------------- the binary, stdin

/// What `kubectl get pods,deploy,rs,events,nodes -A -o json` prints: one List of mixed kinds.
fn kubectl_list() -> String {
    let mut items = Vec::new();
    for rel in ["DIA001/fail-deployment-3-of-3.json", "DIA010/fail-probe-port.json", "DIA017/fail-unknown.json"] {
        let v: serde_json::Value = serde_json::from_str(&read(rel)).expect("json");
        items.extend(v["items"].as_array().cloned().unwrap_or_default());
    }
    // Objects several fixtures share appear once, as in a real dump.
    let mut seen = std::collections::BTreeSet::new();
    items.retain(|i| seen.insert((i["kind"].to_string(), i["metadata"]["name"].to_string())));
    serde_json::to_string_pretty(
        &serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}),
    )
    .expect("json")
}

fn binary(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn clustergpt");
    if let Some(mut s) = child.stdin.take() {
        s.write_all(stdin.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_mixed_kubectl_list_on_stdin_is_diagnosed_end_to_end() {
    let list = kubectl_list();
    let (code, out, err) = binary(&["analyze", "--no-config", "-"], &list);
    assert_eq!(code, Some(0), "{out}{err}");
    let first = out.lines().next().unwrap_or_default();
    assert_eq!(first, "What is failing now", "{out}");
    assert!(out.contains("DIA001 oom-killed  Deployment api: container app: OOMKilled in 3 of 3 pods"), "{out}");
    assert!(out.contains("DIA017 node-not-ready  Node worker-2"), "{out}");
    assert!(out.contains("Configuration findings"), "{out}");
    let (code, json, err) =
        binary(&["analyze", "--no-config", "--select", "diagnosis", "--format", "json", "-"], &list);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let classes: Vec<&str> =
        v["findings"].as_array().into_iter().flatten().filter_map(|f| f["diagnosis"]["class"].as_str()).collect();
    assert!(
        classes.contains(&"oom-killed")
            && classes.contains(&"readiness-failing")
            && classes.contains(&"node-not-ready"),
        "{classes:?}"
    );
    let (code, _, _) = binary(&["analyze", "--no-config", "--select", "diagnosis", "--fail-on", "high", "-"], &list);
    assert_eq!(code, Some(1), "--fail-on gates diagnoses");
    let (_, md, _) = binary(&["analyze", "--no-config", "--select", "diagnosis", "--format", "md", "-"], &list);
    assert!(md.contains("## What is failing now"), "{md}");
    let (_, sarif, _) = binary(&["analyze", "--no-config", "--select", "diagnosis", "--format", "sarif", "-"], &list);
    assert!(sarif.contains("\"class\": \"oom-killed\""), "{sarif}");
}

// ---------------------------------------------------------------- live → manifest

#[test]
fn an_oom_killed_deployment_links_to_its_manifest_line_and_fix() {
    let dir = fixtures().join("link");
    let dump = dir.join("dump.json").display().to_string();
    let k8s = dir.join("k8s").display().to_string();
    let (code, json, err) = binary(
        &["analyze", "--no-config", "--select", "diagnosis", "--format", "json", &dump, "--manifests", &k8s],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let f = v["findings"].as_array().into_iter().flatten().find(|f| f["rule"] == "DIA001").expect("DIA001");
    let m = &f["diagnosis"]["manifest"];
    assert!(m["location"]["file"].as_str().is_some_and(|p| p.ends_with("k8s/api/deployment.yaml")), "{m}");
    assert_eq!(m["location"]["line"], 29, "the limits.memory line: {m}");
    assert_eq!(m["location"]["path"], "/spec/template/spec/containers/0/resources/limits/memory");
    assert_eq!(m["fix"]["title"], "Raise limits.memory of container app to 384Mi");
    assert_eq!(m["fix"]["applicability"], "unsafe");
    let (_, text, _) = binary(&["analyze", "--no-config", "--select", "diagnosis", &dump, "--manifests", &k8s], "");
    assert!(
        text.contains("k8s/api/deployment.yaml:29  fix: Raise limits.memory of container app to 384Mi (unsafe)"),
        "{text}"
    );

    // `fix --write` raises the limit in the file, and changes nothing else.
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("deployment.yaml");
    let original = std::fs::read_to_string(dir.join("k8s/api/deployment.yaml")).expect("read");
    std::fs::write(&file, &original).expect("write");
    let file_arg = file.display().to_string();
    let (code, _, err) =
        binary(&["fix", "--no-config", "--select", "DIA001", "--live", &dump, "--write", "--verbose", &file_arg], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("skipped DIA001 on Deployment/default/api: Raise limits.memory"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), original, "unsafe needs --unsafe");
    let (code, _, err) =
        binary(&["fix", "--no-config", "--select", "DIA001", "--live", &dump, "--unsafe", "--write", &file_arg], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("applied DIA001 unsafe on Deployment/default/api"), "{err}");
    let fixed = std::fs::read_to_string(&file).expect("read");
    assert_eq!(fixed, original.replace("memory: 256Mi # raised", "memory: 384Mi # raised"), "{fixed}");

    // The same manifest as a Kustomize base: `fix --live` still raises it there (the file is
    // where the object is written), though `fix` builds the kustomization for its own findings.
    if clustergpt::source::render::kustomize_tool().is_none() {
        eprintln!("skipping the Kustomize part: neither kustomize nor kubectl is on PATH");
        return;
    }
    let base = tmp.path().join("base");
    std::fs::create_dir_all(&base).expect("mkdir");
    std::fs::write(base.join("deployment.yaml"), &original).expect("write");
    std::fs::write(base.join("kustomization.yaml"), "resources: [deployment.yaml]\n").expect("write");
    let base_arg = base.display().to_string();
    let (code, _, err) =
        binary(&["fix", "--no-config", "--select", "DIA001", "--live", &dump, "--unsafe", "--write", &base_arg], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("applied DIA001 unsafe on Deployment/default/api"), "{err}");
    let fixed = std::fs::read_to_string(base.join("deployment.yaml")).expect("read");
    assert_eq!(fixed, original.replace("memory: 256Mi # raised", "memory: 384Mi # raised"), "{fixed}");

    // An overlay whose patch sets the limit: the fix goes to the patch line, the base stays.
    std::fs::write(base.join("deployment.yaml"), &original).expect("write");
    let prod = tmp.path().join("prod");
    std::fs::create_dir_all(&prod).expect("mkdir");
    std::fs::write(prod.join("kustomization.yaml"), "resources: [../base]\npatches:\n  - path: memory.yaml\n")
        .expect("write");
    let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            limits:\n              memory: 256Mi # prod\n";
    std::fs::write(prod.join("memory.yaml"), patch).expect("write");
    let prod_arg = prod.display().to_string();
    let (code, _, err) =
        binary(&["fix", "--no-config", "--select", "DIA001", "--live", &dump, "--unsafe", "--write", &prod_arg], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("applied DIA001 unsafe on Deployment/default/api"), "{err}");
    assert_eq!(
        std::fs::read_to_string(prod.join("memory.yaml")).expect("read"),
        patch.replace("256Mi # prod", "384Mi # prod")
    );
    assert_eq!(std::fs::read_to_string(base.join("deployment.yaml")).expect("read"), original);
}

#[test]
fn pods_whose_replicaset_is_missing_are_reported_on_their_deployment() {
    // `kubectl get pods,deploy -o json`: no ReplicaSets in the dump.
    let text = read("DIA001/fail-deployment-3-of-3.json");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    if let Some(items) = v["items"].as_array_mut() {
        items.retain(|i| i["kind"] != "ReplicaSet");
    }
    let without = diagnose_text("dump.json", &serde_json::to_string_pretty(&v).expect("json"));
    let f = only(&without, "oom-killed");
    assert_eq!(f.object.kind, "Deployment");
    assert!(f.message.contains("in 3 of 3 pods"), "{}", f.message);
    assert_eq!(f.fingerprint, only(&diagnose_text("dump.json", &text), "oom-killed").fingerprint);
}

/// Diagnoses a live fixture and links it to manifest text.
fn linked(live_rel: &str, manifest: &str) -> Audit {
    let mut live = source::Input::default();
    source::load_text("live.json", read(live_rel), Limits::default(), &mut live);
    let opts = RunOptions { select: vec!["diagnosis".into()], ..RunOptions::default() };
    let (mut a, objects) = audit::run_with_objects(live, &Config::defaults(), &opts);
    let mut m = source::Input::default();
    source::load_text("k8s/app.yaml", manifest.to_string(), Limits::default(), &mut m);
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    clustergpt::link::link(&mut a, &objects, &m.objects);
    a
}

fn manifest_fix(a: &Audit, class: &str) -> (Option<u32>, String, clustergpt::model::Fix) {
    let link = only(a, class).diagnosis.as_ref().and_then(|d| d.manifest.clone()).expect("linked");
    (link.location.line, link.location.path, link.fix.expect("a manifest fix"))
}

#[test]
fn manifest_fixes_for_probe_ports_missing_tags_and_oversized_requests() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: api-standalone\n  namespace: shop\nspec:\n  containers:\n    - name: app\n      image: registry.example.com/shop/api:1.4.2\n      ports:\n        - containerPort: 8080\n      readinessProbe:\n        httpGet:\n          path: /ready\n          port: 9090\n";
    let (line, path, fix) = manifest_fix(&linked("DIA010/fail-probe-port.json", pod), "readiness-failing");
    assert_eq!((line, path.as_str()), (Some(12), "/spec/containers/0/readinessProbe"));
    assert_eq!(fix.title, "Probe readiness on port 8080 (the container's port) instead of 9090");
    assert_eq!(
        serde_json::to_value(&fix.ops).expect("ops")[0]["path"],
        "/spec/containers/0/readinessProbe/httpGet/port"
    );

    let deploy = |image: &str, cpu: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n    matchLabels:\n      app: api\n  template:\n    metadata:\n      labels:\n        app: api\n    spec:\n      containers:\n        - name: app\n          image: {image}\n          resources:\n            requests:\n              cpu: \"{cpu}\"\n"
        )
    };
    let (_, path, fix) = manifest_fix(
        &linked("DIA003/fail-not-found.json", &deploy("registry.example.com/shop/api:1.4.3", "250m")),
        "image-pull",
    );
    assert_eq!(path, "/spec/template/spec/containers/0/image");
    assert_eq!(fix.applicability, clustergpt::model::Applicability::DisplayOnly);
    assert_eq!(serde_json::to_value(&fix.ops).expect("ops")[0]["value"], "registry.example.com/shop/api:<TAG>");

    let (line, path, fix) = manifest_fix(
        &linked("DIA006/fail-insufficient-cpu.json", &deploy("registry.example.com/shop/api:1.4.2", "4")),
        "unschedulable",
    );
    assert_eq!((line, path.as_str()), (Some(19), "/spec/template/spec/containers/0/resources/requests/cpu"));
    assert_eq!(fix.title, "Lower requests.cpu of container app to 1730m so a node can fit it");
    assert_eq!(fix.applicability, clustergpt::model::Applicability::Unsafe);
}

#[test]
fn hostile_status_values_do_not_break_a_diagnosis() {
    // Wrong types everywhere, counts at the top of u64, timestamps that are not timestamps.
    let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x", "deletionTimestamp": 12},
       "spec": {"containers": "nope"},
       "status": {"phase": 7, "conditions": {"type": "Ready"}, "containerStatuses": [
         {"name": "a", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": "137", "finishedAt": 5}}, "restartCount": -1},
         {"name": "b", "state": {"waiting": {"reason": "ErrImagePull", "message": ["x"]}}}, 42, null]}},
      {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "x"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "x"},
       "reason": "Failed", "message": "toomanyrequests", "count": 18446744073709551615, "lastTimestamp": "9999-12-31T23:59:59Z"},
      {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e2", "namespace": "x"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "x"},
       "reason": "Failed", "message": "again", "count": 18446744073709551615, "lastTimestamp": "0000-01-01T00:00:00Z"},
      {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": ["False"]}, 3]}}
    ]}"#;
    let a = diagnose_text("hostile.json", text);
    assert!(a.internal_errors.is_empty(), "{:#?}", a.internal_errors);
    let f = only(&a, "image-pull");
    assert_eq!(f.diagnosis.as_ref().map(|d| d.count), Some(u64::MAX));
}

#[test]
fn a_diagnosis_links_through_a_kustomize_overlay_to_the_patch_line_that_sets_the_limit() {
    if std::process::Command::new("kubectl").args(["version", "--client"]).output().is_err() {
        eprintln!("skipping: kubectl (for `kubectl kustomize`) is not on PATH");
        return;
    }
    let dir = fixtures().join("link-kustomize");
    let dump = dir.join("dump.json").display().to_string();
    let overlay = dir.join("k8s/overlays/prod").display().to_string();
    let (code, json, err) = binary(
        &["analyze", "--no-config", "--select", "diagnosis", "--format", "json", &dump, "--manifests", &overlay],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let f = v["findings"].as_array().into_iter().flatten().find(|f| f["rule"] == "DIA001").expect("DIA001");
    let m = &f["diagnosis"]["manifest"];
    // The built object is `prod-api` in `shop`; the 256Mi limit comes from the overlay's patch.
    assert_eq!(m["object"]["name"], "prod-api", "{m}");
    assert!(m["location"]["file"].as_str().is_some_and(|p| p.ends_with("overlays/prod/memory.yaml")), "{m}");
    assert_eq!(m["location"]["line"], 13, "the patch's limits.memory line: {m}");
    assert_eq!(m["fix"]["title"], "Raise limits.memory of container app to 384Mi");
}

#[test]
fn the_same_object_in_two_region_folders_links_to_the_copy_running_the_live_image_or_to_none() {
    let dump = fixtures().join("link/dump.json").display().to_string();
    let dir = fixtures().join("link-regions");
    let link_of = |k8s: &std::path::Path| -> serde_json::Value {
        let k8s = k8s.display().to_string();
        let (code, json, err) = binary(
            &["analyze", "--no-config", "--select", "DIA001", "--format", "json", &dump, "--manifests", &k8s],
            "",
        );
        assert_eq!(code, Some(0), "{err}");
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        v["findings"][0]["diagnosis"]["manifest"].clone()
    };
    // eu runs the live image (1.4.2), us an older one: eu, whatever the walk order.
    let m = link_of(&dir.join("k8s"));
    assert!(m["location"]["file"].as_str().is_some_and(|p| p.ends_with("k8s/eu/deployment.yaml")), "{m}");
    assert_eq!(m["location"]["line"], 28, "{m}");

    // Two copies that both run the live image: no way to tell, so no link rather than a guess.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    for region in ["eu", "us"] {
        std::fs::create_dir_all(tmp.path().join(region)).expect("mkdir");
        std::fs::copy(dir.join("k8s/eu/deployment.yaml"), tmp.path().join(region).join("deployment.yaml"))
            .expect("copy");
    }
    assert!(link_of(tmp.path()).is_null());
}

#[test]
fn identical_region_copies_are_told_apart_by_the_flux_kustomization_that_applied_the_object() {
    let dir = fixtures().join("link-flux");
    let (dump, k8s) = (dir.join("dump.json").display().to_string(), dir.join("repo").display().to_string());
    let (code, json, err) =
        binary(&["analyze", "--no-config", "--select", "DIA001", "--format", "json", &dump, "--manifests", &k8s], "");
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let m = &v["findings"][0]["diagnosis"]["manifest"];
    // The live Deployment carries `kustomize.toolkit.fluxcd.io/name: apps-us`, whose path is ./k8s/us.
    assert!(m["location"]["file"].as_str().is_some_and(|p| p.ends_with("k8s/us/deployment.yaml")), "{m}");
    assert_eq!(m["location"]["line"], 28, "{m}");
}
