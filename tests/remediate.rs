//! `clustergpt remediate` against the loopback Kubernetes API server (`tests/cluster_fake`),
//! asserted from its request log: no write without `--dry-run`/`--apply`, only dry runs in
//! `--dry-run`, the field manager and content types, the `resourceVersion` precondition on
//! patches and restores, dry-run-rejecting webhooks, 409/422, the GitOps guard, the blast-radius
//! limit, verification with a scripted rollout, and the rollback after a failed verification.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster_fake;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cluster_fake::{FakeCluster, Logged, Outcome};
use serde_json::{Value, json};

fn dump() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/diagnosis/link/dump.json");
    cluster_fake::load_objects(&path)
}

struct Harness {
    fake: FakeCluster,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    _rt: tokio::runtime::Runtime,
}

impl Harness {
    fn new(objects: Vec<Value>) -> Harness {
        clustergpt::cluster::install_crypto_provider();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let fake = rt.block_on(FakeCluster::start(objects));
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, fake.kubeconfig(&["kind-shop"])).unwrap();
        Harness { fake, dir, kubeconfig, _rt: rt }
    }

    fn shop() -> Harness {
        Harness::new(dump())
    }

    /// `clustergpt remediate --cluster ARGS` with fast verification, stdin not a terminal.
    fn run(&self, args: &[&str]) -> Output {
        let k = self.kubeconfig.display().to_string();
        let mut all = vec!["remediate", "--cluster", "--kubeconfig", &k, "--no-config"];
        all.extend(["--poll-interval-ms", "10", "--verify-settle", "0", "--verify-timeout", "10"]);
        all.extend(args);
        Command::new(env!("CARGO_BIN_EXE_clustergpt"))
            .args(&all)
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run clustergpt")
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn json(&self, p: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.path(p)).unwrap()).unwrap()
    }

    fn memory(&self) -> Value {
        let d = self.fake.object("deployments", "shop", "api").unwrap();
        d.pointer("/spec/template/spec/containers/0/resources/limits/memory").cloned().unwrap()
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn dry(l: &Logged) -> bool {
    l.query.get("dryRun").map(String::as_str) == Some("All")
}

fn real_writes(log: &[Logged]) -> Vec<&Logged> {
    log.iter().filter(|l| l.method != "GET" && !dry(l)).collect()
}

const OOM: &[&str] = &["--select", "DIA001", "--unsafe"];

#[test]
fn the_plan_alone_writes_nothing() {
    let h = Harness::shop();
    let o = h.run(&[OOM, &["--plan-out", "plan.json"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(h.fake.log().iter().all(|l| l.method == "GET"), "{:?}", h.fake.patches());
    let plan = h.json("plan.json");
    assert_eq!(plan["mode"], "plan");
    let item = &plan["items"][0];
    assert_eq!(item["object"]["kind"], "Deployment");
    assert_eq!(item["patch_type"], "strategic");
    assert_eq!(
        item["patch"],
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "384Mi"}}}]}}}})
    );
    assert_eq!(item["fixes"][0]["rule"], "DIA001");
    assert!(item["steps"][0]["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(text(&o).contains("nothing was sent"), "{}", text(&o));

    // Safe by default: the memory fix is unsafe, so without --unsafe it is only listed as skipped.
    let o = h.run(&["--select", "DIA001", "--plan-out", "safe.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plan = h.json("safe.json");
    assert_eq!(plan["items"], json!([]));
    assert!(plan["skipped"][0]["reason"].as_str().unwrap().contains("--unsafe"), "{plan}");
}

#[test]
fn a_dry_run_sends_only_dry_runs_with_the_field_manager() {
    let h = Harness::shop();
    let o = h.run(&[OOM, &["--dry-run", "--format", "json=audit.json"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let patches = h.fake.patches();
    assert_eq!(patches.len(), 1, "{patches:?}");
    let p = &patches[0];
    assert!(dry(p), "{p:?}");
    assert_eq!(p.query.get("fieldManager").map(String::as_str), Some("clustergpt"));
    assert!(p.content_type.starts_with("application/strategic-merge-patch+json"), "{p:?}");
    assert_eq!(p.path, "/apis/apps/v1/namespaces/shop/deployments/api");
    // The patch carries the live resourceVersion as a precondition.
    assert_eq!(p.body.as_ref().unwrap().pointer("/metadata/resourceVersion"), Some(&json!("4711")));
    assert!(real_writes(&h.fake.log()).is_empty());
    assert_eq!(h.memory(), json!("256Mi"), "a dry run persists nothing");
    let out = text(&o);
    assert!(out.contains("~ /spec/template/spec/containers/0/resources/limits/memory: \"256Mi\" → \"384Mi\""), "{out}");
    let audit = h.json("audit.json");
    let r = &audit["remediation"];
    assert_eq!(r["mode"], "dry-run");
    assert_eq!(r["context"], "kind-shop");
    assert_eq!(r["items"][0]["status"], "dry-run-ok");
    // Server-populated fields (managedFields, generation, resourceVersion, status) are not in the diff.
    let diff = r["items"][0]["diff"].as_array().unwrap();
    assert_eq!(diff.len(), 1, "{diff:?}");
}

#[test]
fn a_webhook_that_rejects_dry_runs_is_named_and_nothing_is_applied() {
    let h = Harness::shop();
    h.fake.with(|s| s.dry_run_webhook = Some("validate.kyverno.svc".to_string()));
    let o = h.run(&[OOM, &["--apply", "--yes", "--plan-out", "plan.json"]].concat());
    assert_eq!(o.status.code(), Some(0), "not a failed fix: {}", text(&o));
    assert!(text(&o).contains("dry run not possible: webhook validate.kyverno.svc"), "{}", text(&o));
    assert!(real_writes(&h.fake.log()).is_empty(), "never applied without a successful dry run");
    assert_eq!(h.json("plan.json")["items"][0]["status"], "dry-run-not-possible");
}

#[test]
fn conflicts_and_invalid_patches_carry_the_server_message() {
    for (code, msg) in [(409, "the object has been modified"), (422, "spec.template: Invalid value")] {
        let h = Harness::shop();
        h.fake.with(|s| s.patch_fail = Some((code, msg.to_string())));
        let o = h.run(&[OOM, &["--dry-run", "--plan-out", "plan.json"]].concat());
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let reason = h.json("plan.json")["items"][0]["reason"].as_str().unwrap().to_string();
        assert!(reason.contains(&format!("({code})")) && reason.contains(msg), "{reason}");
    }
}

#[test]
fn a_snapshot_is_planned_never_sent() {
    let h = Harness::shop();
    let o = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["remediate", "--snapshot", "x.snap.json.zst", "--dry-run"])
        .current_dir(h.dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--dry-run"), "{}", text(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["remediate", "--select", "DIA001"])
        .current_dir(h.dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--cluster") && text(&o).contains("--snapshot"), "{}", text(&o));
}

#[test]
fn apply_needs_a_confirmation_and_respects_the_blast_radius() {
    let h = Harness::shop();
    let o = h.run(&[OOM, &["--apply"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--yes"), "{}", text(&o));
    assert!(real_writes(&h.fake.log()).is_empty());

    let h = Harness::shop();
    let o = h.run(&[OOM, &["--apply", "--yes", "--max-objects", "0"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--max-objects"), "{}", text(&o));
    assert!(h.fake.patches().is_empty(), "refused before any request");
}

#[test]
fn apply_backs_up_patches_and_verifies() {
    let h = Harness::shop();
    h.fake.with(|s| s.rollouts = vec![Outcome::Healthy(2)]);
    let o = h.run(&[OOM, &["--apply", "--yes", "--format", "json=audit.json", "--format", "md=report.md"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let log = h.fake.log();
    let writes = real_writes(&log);
    assert_eq!(writes.len(), 1, "{writes:?}");
    let w = writes[0];
    assert_eq!(w.method, "PATCH");
    assert_eq!(w.query.get("fieldManager").map(String::as_str), Some("clustergpt"));
    // The same patch as the dry run before it.
    let dry_run = log.iter().position(|l| l.method == "PATCH" && dry(l)).unwrap();
    let real = log.iter().position(|l| l.method == "PATCH" && !dry(l)).unwrap();
    assert!(dry_run < real);
    assert_eq!(log[dry_run].body, w.body);
    assert_eq!(h.memory(), json!("384Mi"));

    let audit = h.json("audit.json");
    let item = &audit["remediation"]["items"][0];
    assert_eq!(item["status"], "verified", "{item:#}");
    let steps: Vec<&str> = item["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["plan", "dry-run", "backup", "patch", "verify", "verify", "verify-diagnosis"], "{item:#}");
    let backup = PathBuf::from(item["backup"].as_str().unwrap());
    let backup = if backup.is_absolute() { backup } else { h.path(&backup.display().to_string()) };
    let saved = std::fs::read_to_string(&backup).unwrap();
    assert!(saved.contains("resourceVersion: \"4711\"") && saved.contains("memory: 256Mi"), "{saved}");
    assert!(!saved.contains("managedFields"), "{saved}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(backup.ends_with("kind-shop/deployment-shop-api.yaml"), "{}", backup.display());
    let md = std::fs::read_to_string(h.path("report.md")).unwrap();
    assert!(md.contains("## Remediation") && md.contains("verified"), "{md}");
}

#[test]
fn a_failed_verification_rolls_back_with_a_precondition() {
    let h = Harness::shop();
    h.fake.with(|s| s.rollouts = vec![Outcome::RestartsClimb(1)]);
    let o = h.run(&[OOM, &["--apply", "--yes", "--plan-out", "plan.json"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let log = h.fake.log();
    let writes = real_writes(&log);
    assert_eq!(writes.len(), 2, "patch, then restore: {writes:?}");
    let patched_rv = h.json("plan.json")["items"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "patch")
        .map(|s| s["detail"].as_str().unwrap().rsplit(' ').next().unwrap().trim_end_matches(')').to_string())
        .unwrap();
    let restore = writes[1];
    assert!(restore.content_type.starts_with("application/merge-patch+json"), "{restore:?}");
    assert_eq!(restore.query.get("fieldManager").map(String::as_str), Some("clustergpt"));
    assert_eq!(restore.body.as_ref().unwrap().pointer("/metadata/resourceVersion"), Some(&json!(patched_rv)));
    assert_eq!(h.memory(), json!("256Mi"), "restored");
    let plan = h.json("plan.json");
    let item = &plan["items"][0];
    assert_eq!(item["status"], "rolled-back", "{item:#}");
    assert!(item["reason"].as_str().unwrap().contains("restarts climbing"), "{item:#}");
    let steps: Vec<&str> = item["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert!(steps.ends_with(&["rollback", "verify-rollback"]), "{steps:?}");
}

#[test]
fn no_rollback_keeps_the_patch_and_rollback_dir_restores_it_once() {
    let h = Harness::shop();
    h.fake.with(|s| s.rollouts = vec![Outcome::DeadlineExceeded(0)]);
    let o = h.run(&[OOM, &["--apply", "--yes", "--no-rollback", "--plan-out", "plan.json"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(real_writes(&h.fake.log()).len(), 1);
    assert_eq!(h.memory(), json!("384Mi"));
    let plan = h.json("plan.json");
    assert_eq!(plan["items"][0]["status"], "verify-failed");
    let dir = plan["backup_dir"].as_str().unwrap().to_string();

    let o = h.run(&["--rollback", &dir, "--plan-out", "rollback.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(h.memory(), json!("256Mi"));
    let writes: Vec<Logged> = real_writes(&h.fake.log()).into_iter().cloned().collect();
    assert_eq!(writes.len(), 2);
    assert!(writes[1].body.as_ref().unwrap().pointer("/metadata/resourceVersion").is_some());
    assert_eq!(h.json("rollback.json")["items"][0]["status"], "rolled-back");

    // Again: the object already is as in the backup, so nothing is sent.
    let o = h.run(&["--rollback", &dir, "--plan-out", "again.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(h.json("again.json")["items"][0]["reason"], "already as in the backup");
    assert_eq!(real_writes(&h.fake.log()).len(), 2);
}

#[test]
fn a_rollback_never_overwrites_a_later_change() {
    let h = Harness::shop();
    h.fake.with(|s| s.rollouts = vec![Outcome::DeadlineExceeded(0)]);
    let o = h.run(&[OOM, &["--apply", "--yes", "--no-rollback", "--plan-out", "plan.json"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let dir = h.json("plan.json")["backup_dir"].as_str().unwrap().to_string();
    // Someone changes the object after the patch.
    h.fake.with(|s| {
        let d = s.objects.get_mut("deployments").unwrap().iter_mut().find(|d| d["metadata"]["name"] == "api").unwrap();
        d["metadata"]["resourceVersion"] = json!("9999");
        d["spec"]["replicas"] = json!(5);
    });
    let o = h.run(&["--rollback", &dir, "--plan-out", "rollback.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = h.json("rollback.json");
    assert_eq!(r["items"][0]["status"], "rollback-failed", "{r:#}");
    assert!(r["items"][0]["reason"].as_str().unwrap().contains("changed after the patch"), "{r:#}");
    assert_eq!(h.fake.object("deployments", "shop", "api").unwrap()["spec"]["replicas"], json!(5));
}

fn with_meta(meta: Value) -> Vec<Value> {
    let mut objects = dump();
    for o in &mut objects {
        if o["kind"] == "Deployment" {
            for (k, v) in meta.as_object().unwrap() {
                o["metadata"][k] = v.clone();
            }
        }
    }
    objects
}

#[test]
fn objects_gitops_tools_manage_are_not_patched_live() {
    for (meta, tool) in [
        (json!({"annotations": {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/api"}}), "Argo CD"),
        (json!({"labels": {"app": "api", "kustomize.toolkit.fluxcd.io/name": "apps"}}), "Flux"),
        (
            json!({"labels": {"app": "api", "app.kubernetes.io/managed-by": "Helm"},
                "annotations": {"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "shop"}}),
            "Helm",
        ),
    ] {
        let h = Harness::new(with_meta(meta));
        let o = h.run(&[OOM, &["--dry-run", "--plan-out", "plan.json"]].concat());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let plan = h.json("plan.json");
        assert_eq!(plan["items"], json!([]), "{tool}: {plan:#}");
        let reason = plan["skipped"][0]["reason"].as_str().unwrap();
        assert!(reason.contains(tool) && reason.contains("--open-fix-pr"), "{reason}");
        assert!(h.fake.patches().is_empty(), "{tool}");

        let o = h.run(&[OOM, &["--dry-run", "--force-live", "--plan-out", "forced.json"]].concat());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let forced = h.json("forced.json");
        assert_eq!(forced["items"][0]["status"], "dry-run-ok", "{tool}");
        assert!(forced["warnings"][0].as_str().unwrap().contains("--force-live"), "{forced:#}");
    }
}

#[test]
fn the_namespace_allow_list_of_the_config_limits_the_plan() {
    let h = Harness::shop();
    std::fs::write(h.path("cfg.yaml"), "remediation:\n  namespaces: [payments]\n").unwrap();
    let k = h.kubeconfig.display().to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["remediate", "--cluster", "--kubeconfig", &k, "--config", "cfg.yaml", "--select", "DIA001", "--unsafe"])
        .args(["--dry-run", "--plan-out", "plan.json"])
        .current_dir(h.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plan = h.json("plan.json");
    assert_eq!(plan["items"], json!([]));
    assert!(plan["skipped"][0]["reason"].as_str().unwrap().contains("remediation.namespaces"), "{plan:#}");
    assert!(h.fake.patches().is_empty());
}

/// The shop dump with its Deployment turned into a StatefulSet or DaemonSet: the same OOMKilled
/// pods, owned and labelled the way that controller does it (no ReplicaSet).
fn as_controller(kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let uid = json!("c0ffee00-0000-4000-8000-000000000001");
    let (label, value) = match kind {
        "StatefulSet" => ("controller-revision-hash", "api-5c6d7e8f9"),
        _ => ("controller-revision-hash", "5c6d7e8f9"),
    };
    let mut i = 0;
    for mut o in dump() {
        match o["kind"].as_str().unwrap() {
            "Deployment" => {
                o["kind"] = json!(kind);
                o["metadata"]["uid"] = uid.clone();
                o["metadata"]["annotations"] = json!({});
                let spec = o["spec"].as_object_mut().unwrap();
                spec.remove("strategy");
                spec.remove("progressDeadlineSeconds");
                if kind == "StatefulSet" {
                    spec.insert("serviceName".into(), json!("api"));
                    o["status"] = json!({"observedGeneration": 4, "replicas": 3, "readyReplicas": 0,
                        "currentReplicas": 3, "updatedReplicas": 3, "currentRevision": value, "updateRevision": value});
                } else {
                    spec.remove("replicas");
                    o["status"] = json!({"observedGeneration": 4, "desiredNumberScheduled": 3,
                        "currentNumberScheduled": 3, "numberReady": 0, "updatedNumberScheduled": 3,
                        "numberAvailable": 0, "numberMisscheduled": 0});
                    out.push(json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
                        "metadata": {"name": format!("api-{value}"), "namespace": "shop",
                            "labels": {"app": "api", label: value},
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": kind, "name": "api", "uid": uid,
                                "controller": true}]},
                        "revision": 4}));
                }
                out.push(o);
            }
            "ReplicaSet" => {}
            "Pod" => {
                o["metadata"]["name"] =
                    json!(if kind == "StatefulSet" { format!("api-{i}") } else { format!("api-x{i}") });
                o["metadata"]["labels"] = json!({"app": "api", label: value});
                o["metadata"]["ownerReferences"] =
                    json!([{"apiVersion": "apps/v1", "kind": kind, "name": "api", "uid": uid, "controller": true}]);
                i += 1;
                out.push(o);
            }
            _ => out.push(o),
        }
    }
    out
}

fn memory_of(h: &Harness, plural: &str) -> Value {
    let o = h.fake.object(plural, "shop", "api").unwrap();
    o.pointer("/spec/template/spec/containers/0/resources/limits/memory").cloned().unwrap()
}

fn step_details<'a>(item: &'a Value, step: &str) -> Vec<&'a str> {
    item["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == step)
        .map(|s| s["detail"].as_str().unwrap())
        .collect()
}

#[test]
fn old_pods_on_their_way_out_do_not_fail_the_verification() {
    let h = Harness::shop();
    // The old ReplicaSet's pods keep crashing while they terminate; only the new revision counts.
    h.fake.with(|s| {
        s.rollouts = vec![Outcome::Healthy(1)];
        s.linger_old_pods = true;
        s.climbing.insert("shop/pod-template-hash=7d9c5b8f6".to_string());
    });
    let o = h.run(&[OOM, &["--apply", "--yes", "--format", "json=audit.json"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let audit = h.json("audit.json");
    let item = &audit["remediation"]["items"][0];
    assert_eq!(item["status"], "verified", "{item:#}");
    let restarts = step_details(item, "verify")[1];
    assert!(restarts.starts_with("3 pod(s) of revision ") && !restarts.contains("7d9c5b8f6"), "{restarts}");
    // The old pods were there all along, terminating, and did climb.
    let old = h.fake.object("pods", "shop", "api-7d9c5b8f6-x2k9p").unwrap();
    assert!(old.pointer("/metadata/deletionTimestamp").is_some(), "{old:#}");
    assert!(old.pointer("/status/containerStatuses/0/restartCount").unwrap().as_i64().unwrap() > 14);
}

#[test]
fn statefulset_and_daemonset_rollouts_are_verified_on_their_new_revision() {
    for (kind, plural) in [("StatefulSet", "statefulsets"), ("DaemonSet", "daemonsets")] {
        let h = Harness::new(as_controller(kind));
        h.fake.with(|s| s.rollouts = vec![Outcome::Healthy(2)]);
        let o = h.run(&[OOM, &["--apply", "--yes", "--format", "json=audit.json"]].concat());
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", text(&o));
        assert_eq!(memory_of(&h, plural), json!("384Mi"), "{kind}");
        let audit = h.json("audit.json");
        let item = &audit["remediation"]["items"][0];
        assert_eq!(item["object"]["kind"], kind, "{item:#}");
        assert_eq!(item["status"], "verified", "{kind}: {item:#}");
        let verify = step_details(item, "verify");
        let rollout = if kind == "StatefulSet" { "rollout done: revision api-" } else { "rollout done: 3/3 scheduled" };
        assert!(verify[0].starts_with(rollout), "{kind}: {verify:?}");
        assert!(
            verify[1].starts_with("3 pod(s) of revision ") && !verify[1].contains("5c6d7e8f9"),
            "{kind}: {verify:?}"
        );
        assert_eq!(step_details(item, "verify-diagnosis").len(), 1, "{item:#}");
    }
}

#[test]
fn a_daemonset_whose_new_pods_keep_crashing_is_rolled_back() {
    let h = Harness::new(as_controller("DaemonSet"));
    h.fake.with(|s| s.rollouts = vec![Outcome::RestartsClimb(1)]);
    let o = h.run(&[OOM, &["--apply", "--yes", "--plan-out", "plan.json"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let item = &h.json("plan.json")["items"][0];
    assert_eq!(item["status"], "rolled-back", "{item:#}");
    assert!(item["reason"].as_str().unwrap().contains("restarts climbing"), "{item:#}");
    assert_eq!(memory_of(&h, "daemonsets"), json!("256Mi"), "restored");
    let writes = real_writes(&h.fake.log()).len();
    assert_eq!(writes, 2, "patch, then restore");
}

/// The gated real-cluster run (the live e2e's switch, `CLUSTERGPT_E2E_KUBECONFIG`; the writes go
/// through the default kubeconfig, the cluster's admin, since the e2e's read-only account may not
/// patch): a Deployment with too low a memory limit, remediated, watched until it verifies.
#[test]
#[ignore = "needs a real cluster: CLUSTERGPT_E2E_KUBECONFIG (see .github/workflows/e2e.yml)"]
fn real_cluster_remediation() {
    if std::env::var_os("CLUSTERGPT_E2E_KUBECONFIG").is_none() {
        return;
    }
    let ns = "clustergpt-remediate-e2e";
    let kubectl = |args: &[&str]| Command::new("kubectl").args(args).output().expect("kubectl");
    let _ = kubectl(&["delete", "namespace", ns, "--ignore-not-found", "--wait"]);
    assert!(kubectl(&["create", "namespace", ns]).status.success());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/remediate/oom-demo.yaml");
    assert!(kubectl(&["-n", ns, "apply", "-f", &manifest.display().to_string()]).status.success());
    // Let it be OOM-killed a few times.
    std::thread::sleep(std::time::Duration::from_secs(60));
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["remediate", "--cluster", "-n", ns, "--select", "DIA001", "--unsafe", "--apply", "--yes"])
        .args(["--target", &format!("deploy/{ns}/oom-demo"), "--verify-timeout", "240", "--plan-out", "plan.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap()).unwrap();
    let _ = kubectl(&["delete", "namespace", ns, "--wait=false"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{plan:#}", text(&o));
    assert_eq!(plan["items"][0]["status"], "verified", "{plan:#}");
}
