//! Live clusters against a loopback Kubernetes API server (`tests/cluster_fake`), reached by the
//! real `kube::Client` through a generated kubeconfig: discovery both ways, paging and 410
//! restarts, 403s reported as "not evaluated", timeouts and the deadline, metadata-only Secrets,
//! no writes, the concurrency bound, several contexts, snapshots, and the real `kubectl`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster_fake;
mod prometheus_fake;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cluster_fake::{DiscoveryMode, FakeCluster, Logged, max_in_flight};
use clustergpt::audit::{self, RunOptions};
use clustergpt::cluster::{self, ClusterRead, Options};
use clustergpt::config::Config;
use clustergpt::model::Origin;
use serde_json::Value;

const READ_AT: &str = "2026-12-01T08:00:00Z";

fn fixture() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/cluster/shop.json");
    cluster_fake::load_objects(&path)
}

struct Harness {
    fake: FakeCluster,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    _rt: tokio::runtime::Runtime,
}

impl Harness {
    fn new(objects: Vec<Value>, contexts: &[&str]) -> Harness {
        cluster::install_crypto_provider();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let fake = rt.block_on(FakeCluster::start(objects));
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, fake.kubeconfig(contexts)).unwrap();
        Harness { fake, dir, kubeconfig, _rt: rt }
    }

    fn shop() -> Harness {
        Harness::new(fixture(), &["kind-shop"])
    }

    fn options(&self) -> Options {
        Options {
            kubeconfig: Some(self.kubeconfig.clone()),
            page_size: 2,
            request_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(20),
            read_at: READ_AT.to_string(),
            ..Options::default()
        }
    }

    fn read(&self, opts: &Options) -> Vec<ClusterRead> {
        let (reads, errors) = cluster::read_all(opts).expect("read");
        assert!(errors.is_empty(), "{errors:?}");
        reads
    }

    fn read_one(&self) -> ClusterRead {
        self.read(&self.options()).pop().expect("one cluster")
    }

    fn bin(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_clustergpt"))
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .output()
            .expect("run clustergpt")
    }
}

fn lists<'a>(log: &'a [Logged], resource: &str) -> Vec<&'a Logged> {
    log.iter().filter(|l| l.path.ends_with(&format!("/{resource}")) && l.query.contains_key("limit")).collect()
}

fn assert_read_only(log: &[Logged]) {
    assert!(!log.is_empty());
    for l in log {
        assert_eq!(l.method, "GET", "{l:?}");
        assert!(l.authorized, "every request carries the kubeconfig's token: {l:?}");
        assert!(!l.query.contains_key("watch"), "{l:?}");
    }
    // Secrets are only ever asked for as metadata.
    for l in log.iter().filter(|l| l.path.contains("/secrets")) {
        assert!(l.accept.starts_with("application/json;as=PartialObjectMetadataList"), "{l:?}");
        assert!(!l.accept.contains("as=Table"), "{l:?}");
    }
}

#[test]
fn reads_every_object_page_by_page_through_aggregated_discovery() {
    let h = Harness::shop();
    let read = h.read_one();
    assert_eq!(read.context, "kind-shop");
    assert_eq!(read.discovery, "aggregated");
    assert_eq!(read.server_version.as_deref(), Some("v1.31.0-fake"));
    assert_eq!(read.read_at, READ_AT);
    assert!(read.gaps.is_empty(), "{:?}", read.gaps);
    assert_eq!(read.objects.len(), fixture().len());

    for o in &read.objects {
        assert!(!o.api_version.is_empty() && !o.kind.is_empty(), "{:?}", o.body);
        let meta = &o.body["metadata"];
        assert!(meta.get("managedFields").is_none(), "{}", o.body);
        assert!(meta.pointer("/annotations/kubectl.kubernetes.io~1last-applied-configuration").is_none(), "{}", o.body);
        match &o.origin {
            Origin::Cluster { context, uid } => {
                assert_eq!(context, "kind-shop");
                assert_eq!(Some(uid.as_str()), meta["uid"].as_str());
            }
            other => panic!("{other:?}"),
        }
    }
    let secret = read.objects.iter().find(|o| o.kind == "Secret").expect("secret");
    assert_eq!(secret.api_version, "v1");
    assert_eq!(secret.body.as_object().map(|m| m.len()), Some(3), "metadata only: {}", secret.body);
    assert!(!secret.body.to_string().contains("aHVudGVyMg=="), "no Secret data, not even in annotations");
    let deployment = read.objects.iter().find(|o| o.kind == "Deployment").expect("deployment");
    assert_eq!(deployment.body["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");

    let log = h.fake.log();
    assert_read_only(&log);
    // Five pods in pages of two: three requests, each continuing where the last stopped.
    let pods = lists(&log, "pods");
    let tokens: Vec<Option<&str>> = pods.iter().map(|l| l.query.get("continue").map(String::as_str)).collect();
    assert_eq!(tokens, [None, Some("offset-2"), Some("offset-4")]);
    assert!(pods.iter().all(|l| l.query.get("limit").map(String::as_str) == Some("2")));
    // Two discovery requests, no per-group ones.
    assert!(!log.iter().any(|l| l.path.starts_with("/apis/") && l.path.matches('/').count() == 3), "{log:?}");
}

#[test]
fn falls_back_to_legacy_discovery_both_ways() {
    for mode in [DiscoveryMode::LegacyJson, DiscoveryMode::Legacy406] {
        let h = Harness::shop();
        h.fake.with(|s| s.discovery = mode);
        let read = h.read_one();
        assert_eq!(read.discovery, "legacy", "{mode:?}");
        assert_eq!(read.objects.len(), fixture().len(), "{mode:?}");
        let log = h.fake.log();
        assert_read_only(&log);
        assert!(log.iter().any(|l| l.path == "/apis/apps/v1"), "legacy discovery asks each group: {mode:?}");
    }
}

#[test]
fn legacy_discovery_survives_a_metrics_api_that_is_down() {
    let h = Harness::shop();
    h.fake.with(|s| {
        s.discovery = DiscoveryMode::LegacyJson;
        s.metrics_down = true;
    });
    let read = h.read_one();
    assert_eq!(read.discovery, "legacy");
    assert_eq!(read.objects.len(), fixture().len());
    assert!(!read.usage.available);
    assert!(read.usage.note.contains("not served"), "{}", read.usage.note);
}

#[test]
fn unavailable_answers_are_retried_briefly_then_reported() {
    let h = Harness::shop();
    h.fake.with(|s| {
        s.unavailable.insert("pods".into(), 2);
        s.unavailable.insert("services".into(), 10);
    });
    let read = h.read_one();
    assert_eq!(read.objects.iter().filter(|o| o.kind == "Pod").count(), 5, "two 503s, then the list");
    let gaps: Vec<(&str, &str)> = read.gaps.iter().map(|g| (g.resource.as_str(), g.reason.as_str())).collect();
    assert_eq!(gaps, [("services", "error")]);
    assert!(read.gaps[0].message.contains("503"), "{}", read.gaps[0].message);
}

#[test]
fn an_expired_continue_token_restarts_the_list() {
    let h = Harness::shop();
    h.fake.with(|s| {
        s.expire_once.insert("pods".into(), 1);
    });
    let read = h.read_one();
    assert!(read.gaps.is_empty(), "{:?}", read.gaps);
    let mut pods: Vec<&str> = read.objects.iter().filter(|o| o.kind == "Pod").map(|o| o.name.as_str()).collect();
    assert_eq!(pods.len(), 5);
    pods.dedup();
    assert_eq!(pods.len(), 5, "no duplicates after the restart");
    let log = h.fake.log();
    let tokens: Vec<Option<&str>> =
        lists(&log, "pods").iter().map(|l| l.query.get("continue").map(String::as_str)).collect();
    assert_eq!(tokens, [None, Some("offset-2"), None, Some("offset-2"), Some("offset-4")]);
}

#[test]
fn forbidden_resources_are_gaps_and_their_rules_are_not_evaluated() {
    let h = Harness::shop();
    h.fake.with(|s| {
        s.forbidden.insert("secrets".into());
        s.forbidden.insert("clusterroles".into());
    });
    let read = h.read_one();
    let gaps: Vec<(&str, &str)> = read.gaps.iter().map(|g| (g.resource.as_str(), g.reason.as_str())).collect();
    assert_eq!(gaps, [("secrets", "forbidden"), ("clusterroles", "forbidden")]);
    assert_eq!(
        read.gaps[0].message,
        "could not list secrets: forbidden: secrets is forbidden: User \"system:serviceaccount:audit:clustergpt\" \
         cannot list resource \"secrets\" in API group \"\" at the cluster scope"
    );
    assert!(!read.objects.iter().any(|o| o.kind == "Secret" || o.kind == "ClusterRole"));
    assert!(read.objects.iter().any(|o| o.kind == "ClusterRoleBinding"));

    let input = cluster::into_input(vec![read], Vec::new());
    let opts = RunOptions { today: Some("2026-12-01".into()), ..RunOptions::default() };
    let a = audit::run(input, &Config::defaults(), &opts);
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    assert_eq!(a.summary.contexts, ["kind-shop"]);
    let secrets = a.not_evaluated.iter().find(|n| n.resource == "secrets").expect("secrets gap");
    assert!(secrets.rules.iter().any(|r| r == "ARC005"), "{secrets:?}");
    assert!(!secrets.rules.iter().any(|r| r == "SEC001"), "{secrets:?}");
    let roles = a.not_evaluated.iter().find(|n| n.resource == "clusterroles").expect("roles gap");
    assert!(roles.rules.iter().any(|r| r == "SEC016"), "{roles:?}");

    let text = clustergpt::report::terminal::render(&a, false);
    assert!(text.contains("not evaluated: context kind-shop: could not list secrets: forbidden"), "{text}");
    let md = clustergpt::report::markdown::render(&a).unwrap();
    assert!(md.contains("## Not evaluated"), "{md}");
    assert!(md.contains("| `kind-shop` | `secrets` | forbidden |"), "{md}");
    let json: Value = serde_json::from_str(&clustergpt::report::json::render(&a).unwrap()).unwrap();
    assert_eq!(json["not_evaluated"][0]["reason"], "forbidden");
    let sarif = clustergpt::report::sarif::render(&a).unwrap();
    assert!(sarif.contains("rules not evaluated there"), "{sarif}");

    // The command line: gaps are reported; --require-complete makes them exit 2.
    let out = h.bin(&["analyze", "--cluster", "--format", "json"]);
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = h.bin(&["analyze", "--cluster", "--require-complete", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--require-complete"));
}

#[test]
fn slow_answers_become_timeouts_and_the_deadline_bounds_the_read() {
    let h = Harness::shop();
    h.fake.with(|s| {
        s.slow.insert("pods".into(), Duration::from_secs(3));
    });
    let opts = Options { request_timeout: Duration::from_millis(500), ..h.options() };
    let started = std::time::Instant::now();
    let read = h.read(&opts).pop().unwrap();
    let gaps: Vec<(&str, &str)> = read.gaps.iter().map(|g| (g.resource.as_str(), g.reason.as_str())).collect();
    assert_eq!(gaps, [("pods", "timeout")]);
    assert!(read.objects.iter().any(|o| o.kind == "Deployment"));
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    let h = Harness::shop();
    h.fake.with(|s| {
        s.slow.insert("deployments".into(), Duration::from_secs(4));
    });
    let opts = Options { request_timeout: Duration::from_secs(10), deadline: Duration::from_secs(1), ..h.options() };
    let started = std::time::Instant::now();
    let read = h.read(&opts).pop().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let deployments = read.gaps.iter().find(|g| g.resource == "deployments").expect("deployments gap");
    assert_eq!(deployments.reason, "deadline");
    assert!(read.objects.iter().any(|o| o.kind == "Pod"));
}

#[test]
fn concurrency_is_bounded() {
    for bound in [1, 3] {
        let h = Harness::shop();
        h.fake.with(|s| s.list_delay = Duration::from_millis(60));
        let opts = Options { concurrency: bound, ..h.options() };
        let read = h.read(&opts).pop().unwrap();
        assert!(read.gaps.is_empty(), "{:?}", read.gaps);
        let seen = max_in_flight(&h.fake.log());
        assert!(seen <= bound, "{seen} lists in flight with a bound of {bound}");
        assert!(seen >= bound.min(2), "lists do run side by side: {seen}");
    }
}

#[test]
fn several_contexts_make_one_audit_and_namespaces_limit_the_read() {
    let h = Harness::new(fixture(), &["eu", "us"]);
    let opts = Options { contexts: vec!["us".into(), "eu".into()], ..h.options() };
    let reads = h.read(&opts);
    assert_eq!(reads.iter().map(|r| r.context.as_str()).collect::<Vec<_>>(), ["us", "eu"]);
    let input = cluster::into_input(reads, Vec::new());
    let a = audit::run(input, &Config::defaults(), &RunOptions::default());
    assert_eq!(a.summary.contexts, ["eu", "us"]);
    let sec001: Vec<Option<&str>> =
        a.findings.iter().filter(|f| f.rule == "SEC001").map(|f| f.object.context.as_deref()).collect();
    assert!(sec001.contains(&Some("eu")) && sec001.contains(&Some("us")), "{sec001:?}");
    // The same object in two clusters is two findings, with different fingerprints.
    let fps: std::collections::BTreeSet<&str> =
        a.findings.iter().filter(|f| f.rule == "SEC001").map(|f| f.fingerprint.as_str()).collect();
    assert_eq!(fps.len(), sec001.len());
    // Each fix's kubectl command names the cluster it was read from, never the current context.
    let (mut a, objects) = {
        let input = cluster::into_input(h.read(&opts), Vec::new());
        audit::run_with_objects(input, &Config::defaults(), &RunOptions::default())
    };
    clustergpt::fix::enrich(&mut a, &objects);
    let commands: Vec<(String, String)> = a
        .findings
        .iter()
        .filter(|f| f.rule == "SEC001")
        .filter_map(|f| {
            let cmd = f.fix.as_ref()?.patch.as_ref()?.kubectl.clone()?;
            Some((f.object.context.clone().unwrap_or_default(), cmd))
        })
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    for (context, cmd) in &commands {
        assert!(cmd.starts_with(&format!("kubectl --context {context} patch ")), "{cmd}");
    }

    let h = Harness::shop();
    let opts = Options { namespaces: vec!["shop".into()], ..h.options() };
    let read = h.read(&opts).pop().unwrap();
    assert!(read.objects.iter().all(|o| o.namespace.as_deref() == Some("shop")), "only the namespace");
    let log = h.fake.log();
    assert!(log.iter().any(|l| l.path == "/api/v1/namespaces/shop/pods"));
    assert!(!log.iter().any(|l| l.path == "/api/v1/nodes" || l.path == "/api/v1/pods"), "{log:?}");
    // What --namespace leaves out is said, with the rules that needed it, and is no failure of the read.
    assert!(read.gaps.iter().any(|g| g.resource == "nodes" && g.reason == cluster::OUT_OF_SCOPE), "{:?}", read.gaps);
    let a = audit::run(cluster::into_input(vec![read], Vec::new()), &Config::defaults(), &RunOptions::default());
    let roles = a.not_evaluated.iter().find(|n| n.resource == "clusterrolebindings").expect("clusterrolebindings");
    assert!(!roles.rules.is_empty(), "{roles:?}");
    assert!(a.not_evaluated.iter().all(|n| !n.rules.is_empty()), "{:?}", a.not_evaluated);
    let out = h.bin(&["analyze", "--cluster", "-n", "shop", "--require-complete"]);
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    let err = cluster::read_all(&Options { contexts: vec!["nope".into()], ..h.options() }).unwrap_err();
    assert!(err.to_string().contains("no context `nope`"), "{err}");
}

#[test]
fn an_unreachable_cluster_is_an_input_error() {
    cluster::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    // Nothing listens on port 9 of the loopback.
    std::fs::write(&kc, cluster_fake::kubeconfig(&[("http://127.0.0.1:9", &["gone"])])).unwrap();
    let opts = Options { kubeconfig: Some(kc), request_timeout: Duration::from_secs(2), ..Options::default() };
    let (reads, errors) = cluster::read_all(&opts).unwrap();
    assert!(reads.is_empty());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].source, "cluster:gone");
    assert!(!errors[0].message.contains(cluster_fake::TOKEN));
}

#[test]
fn a_snapshot_replays_byte_identical_to_the_live_run() {
    let h = Harness::shop();
    h.fake.with(|s| {
        s.forbidden.insert("configmaps".into());
    });
    let snap = h.dir.path().join("shop.snap.json.zst");
    let out = h.bin(&["snapshot", "--cluster", "--page-size", "2", "-o", snap.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not list configmaps: forbidden"), "{stderr}");

    let formats = |prefix: &str| {
        vec![
            "--format".to_string(),
            format!("json={prefix}.json"),
            "--format".to_string(),
            format!("sarif={prefix}.sarif"),
            "--format".to_string(),
            format!("md={prefix}.md"),
        ]
    };
    let mut live = vec!["analyze".to_string(), "--cluster".to_string()];
    live.extend(formats("live"));
    let live_out = h.bin(&live.iter().map(String::as_str).collect::<Vec<_>>());
    let mut replay = vec!["analyze".to_string(), "--snapshot".to_string(), snap.display().to_string()];
    replay.extend(formats("replay"));
    let replay_out = h.bin(&replay.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(live_out.status.code(), replay_out.status.code());
    for ext in ["json", "sarif", "md"] {
        let a = std::fs::read(h.dir.path().join(format!("live.{ext}"))).unwrap();
        let b = std::fs::read(h.dir.path().join(format!("replay.{ext}"))).unwrap();
        assert!(!a.is_empty());
        assert!(a == b, "{ext} differs:\n{}\n---\n{}", String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
    }
    let json: Value = serde_json::from_slice(&std::fs::read(h.dir.path().join("replay.json")).unwrap()).unwrap();
    assert_eq!(json["summary"]["contexts"][0], "kind-shop");
    assert_eq!(json["not_evaluated"][0]["resource"], "configmaps");

    // The file itself: versioned, compressed, no Secret data, no managed fields.
    let s = cluster::snapshot::Snapshot::read(&snap).unwrap();
    assert_eq!((s.format.as_str(), s.version), (cluster::snapshot::FORMAT, cluster::snapshot::VERSION));
    assert_eq!(s.clusters[0].server_version.as_deref(), Some("v1.31.0-fake"));
    assert_eq!(s.clusters[0].gaps.len(), 1);
    let text = serde_json::to_string(&s).unwrap();
    assert!(!text.contains("aHVudGVyMg==") && !text.contains("managedFields"));
    assert_eq!(&std::fs::read(&snap).unwrap()[..4], &[0x28, 0xB5, 0x2F, 0xFD]);

    // A damaged or foreign file is refused with its name.
    let bad = h.dir.path().join("bad.json");
    std::fs::write(&bad, "{\"format\": \"other\"}").unwrap();
    let out = h.bin(&["analyze", "--snapshot", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a clustergpt snapshot"));
}

#[test]
fn the_live_corpus_dumps_read_through_the_fake() {
    // Like tests/corpus.rs: `$CLUSTERGPT_CORPUS`, else `../shared/corpus` beside the repository.
    let corpus = std::env::var_os("CLUSTERGPT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let dir = corpus.join("live/troubleshoot-analyze-files/support-bundle/cluster-resources");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let objects = cluster_fake::load_dir(&dir);
    let served = objects
        .iter()
        .filter(|o| {
            let kind = o["kind"].as_str().unwrap_or_default();
            cluster::RESOURCES.iter().any(|r| r.kind == kind)
        })
        .count();
    assert!(served > 10, "{served}");
    let h = Harness::new(objects, &["bundle"]);
    let read = h.read(&Options { page_size: 7, ..h.options() }).pop().unwrap();
    assert_eq!(read.objects.len(), served);
    let a = audit::run(cluster::into_input(vec![read], Vec::new()), &Config::defaults(), &RunOptions::default());
    assert!(a.errors.is_empty() && a.internal_errors.is_empty(), "{:?} {:?}", a.errors, a.internal_errors);
    assert_read_only(&h.fake.log());
}

#[test]
fn kubectl_reads_the_fake_too() {
    if Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        eprintln!("skipped: kubectl is not installed");
        return;
    }
    let h = Harness::shop();
    // kubectl sends no credentials over plain http: let it in anonymously.
    h.fake.with(|s| s.require_token = false);
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&h.kubeconfig)
            .args(args)
            .env("HOME", h.dir.path())
            .env("KUBECACHEDIR", h.dir.path().join("cache"))
            .output()
            .expect("run kubectl")
    };
    let out = kubectl(&["get", "pods", "-A", "--chunk-size=2", "-o", "name"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names = String::from_utf8_lossy(&out.stdout);
    assert_eq!(names.lines().count(), 5, "{names}");
    assert!(names.contains("pod/web-5d8f7-a1b2c") && names.contains("pod/coredns-0"), "{names}");
    let tokens: Vec<Option<String>> =
        lists(&h.fake.log(), "pods").iter().map(|l| l.query.get("continue").cloned()).collect();
    assert_eq!(tokens.len(), 3, "kubectl paged in twos: {tokens:?}");

    let out = kubectl(&["api-resources", "--no-headers"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in ["deployments", "secrets", "endpointslices", "clusterroles"] {
        assert!(text.lines().any(|l| l.starts_with(want)), "{want} in:\n{text}");
    }
    assert_read_only_anonymous(&h.fake.log());
}

fn assert_read_only_anonymous(log: &[Logged]) {
    assert!(log.iter().all(|l| l.method == "GET"), "{log:?}");
}

/// A real cluster (kind in `.github/workflows/e2e.yml`): everything the read-only role grants is
/// read, nothing is a gap, and the demo app is there.
#[test]
#[ignore = "needs a real cluster: set CLUSTERGPT_E2E_KUBECONFIG"]
fn real_cluster_reads_completely() {
    let Some(kubeconfig) = std::env::var_os("CLUSTERGPT_E2E_KUBECONFIG") else {
        eprintln!("skipped: CLUSTERGPT_E2E_KUBECONFIG is not set");
        return;
    };
    cluster::install_crypto_provider();
    let opts = Options { kubeconfig: Some(PathBuf::from(kubeconfig)), read_at: READ_AT.into(), ..Options::default() };
    let (reads, errors) = cluster::read_all(&opts).expect("kubeconfig");
    assert!(errors.is_empty(), "{errors:?}");
    let read = &reads[0];
    assert!(read.gaps.is_empty(), "{:?}", read.gaps);
    assert!(read.objects.iter().any(|o| o.kind == "Node"));
    assert!(read.objects.iter().any(|o| o.kind == "Deployment"));
    assert!(read.objects.iter().filter(|o| o.kind == "Secret").all(|o| o.body.get("data").is_none()));
}

#[test]
fn live_nodes_are_priced_by_instance_type_with_their_idle_part() {
    let h = Harness::shop();
    let read = h.read_one();
    let a = audit::run(cluster::into_input(vec![read], Vec::new()), &Config::defaults(), &RunOptions::default());
    let nodes = &a.cost.nodes;
    assert_eq!(nodes.len(), 1);
    let n = &nodes[0];
    assert_eq!((n.name.as_str(), n.context.as_deref()), ("node-1", Some("kind-shop")));
    assert_eq!(n.instance_type.as_deref(), Some("m5.large"));
    assert_eq!(n.region.as_deref(), Some("us-east-1"));
    // m5.large: 0.096 per hour × 730 hours.
    assert_eq!(n.monthly, 70.08);
    assert_eq!((n.cpu_allocatable, n.memory_allocatable_gib), (1.93, 7.0));
    // Running pods on it: three web pods and the debug pod request nothing; coredns 100m and 70Mi.
    assert_eq!(n.pods, 5);
    assert_eq!(n.cpu_requested, 0.1);
    // Idle: the larger ratio is CPU, 0.1 / 1.93.
    let idle = ((70.08 * (1.0 - 0.1 / 1.93)) * 100.0_f64).round() / 100.0;
    assert_eq!(n.idle_monthly, idle);
    assert_eq!(a.cost.clusters.len(), 1);
    assert_eq!((a.cost.clusters[0].context.as_str(), a.cost.clusters[0].nodes), ("kind-shop", 1));
    // The idle part is shared by the namespaces in proportion to what they cost.
    let shares: Vec<(f64, f64)> =
        a.cost.namespaces.iter().map(|n| (n.monthly, n.idle_share.expect("one cluster: a share"))).collect();
    let sum: f64 = shares.iter().map(|s| s.1).sum();
    assert!((sum - idle).abs() < 0.02, "{shares:?} vs {idle}");
    for (m, share) in &shares {
        assert!((share - idle * m / a.cost.monthly_total).abs() < 0.006, "{shares:?}");
    }
    let text = clustergpt::report::terminal::render(&a, false);
    assert!(text.contains("Nodes: 1 node of context kind-shop cost $70.08 per month"), "{text}");
    let md = clustergpt::report::markdown::render(&a).unwrap();
    assert!(md.contains("| `node-1` | `kind-shop` | `m5.large` | 0.1 / 1.93 | "), "{md}");
}

#[test]
fn usage_comes_from_the_metrics_api_and_its_absence_is_said() {
    // No metrics-server: said, and no numbers.
    let h = Harness::shop();
    let read = h.read_one();
    assert!(!read.usage.available);
    assert!(read.usage.note.contains("not served (no metrics-server)"), "{}", read.usage.note);
    let a = audit::run(cluster::into_input(vec![read], Vec::new()), &Config::defaults(), &RunOptions::default());
    assert_eq!(a.cost.nodes[0].cpu_used, None);
    let text = clustergpt::report::terminal::render(&a, false);
    assert!(text.contains("  usage: metrics.k8s.io is not served (no metrics-server)"), "{text}");

    let h = Harness::shop();
    h.fake.with(|s| {
        let nodes =
            vec![serde_json::json!({"metadata": {"name": "node-1"}, "usage": {"cpu": "250m", "memory": "2Gi"}})];
        let pods = vec![
            serde_json::json!({"metadata": {"name": "web-5d8f7-a1b2c", "namespace": "shop"},
                "containers": [{"name": "web", "usage": {"cpu": "20m", "memory": "64Mi"}}]}),
            serde_json::json!({"metadata": {"name": "coredns-0", "namespace": "kube-system"},
                "containers": [{"name": "coredns", "usage": {"cpu": "5m", "memory": "20Mi"}}]}),
        ];
        s.metrics = Some((nodes, pods));
    });
    let read = h.read_one();
    assert!(read.usage.available, "{}", read.usage.note);
    assert_eq!(read.usage.pods.len(), 2);
    let a =
        audit::run(cluster::into_input(vec![read.clone()], Vec::new()), &Config::defaults(), &RunOptions::default());
    let n = &a.cost.nodes[0];
    assert_eq!((n.cpu_used, n.memory_used_gib), (Some(0.25), Some(2.0)));
    let c = &a.cost.clusters[0];
    // Pods: 20m + 5m; 64Mi + 20Mi = 84Mi = 0.08203125 GiB.
    assert_eq!(c.cpu_used, Some(0.025));
    assert!(c.memory_used_gib.is_some_and(|m| (m - 0.082).abs() < 0.001), "{c:?}");
    assert_read_only(&h.fake.log());
    // Snapshots carry the sample.
    let snap = cluster::snapshot::Snapshot::of(&[read]);
    assert_eq!(snap.clusters[0].usage.as_ref().map(|u| u.nodes.len()), Some(1));
}

#[test]
fn two_snapshots_diff_like_two_audits() {
    let h = Harness::shop();
    let monday = h.dir.path().join("monday.snap.json.zst");
    let friday = h.dir.path().join("friday.snap.json.zst");
    let out = h.bin(&["snapshot", "--cluster", "-o", monday.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // By Friday the debug pod is gone.
    h.fake.with(|s| {
        if let Some(pods) = s.objects.get_mut("pods") {
            pods.retain(|p| p["metadata"]["name"] != "debug");
        }
    });
    let out = h.bin(&["snapshot", "--cluster", "-o", friday.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = h.bin(&["diff", monday.to_str().unwrap(), friday.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(d["new"].as_array().is_some_and(Vec::is_empty), "{d}");
    let resolved = d["resolved"].as_array().unwrap();
    assert!(!resolved.is_empty(), "{d}");
    assert!(resolved.iter().all(|f| f["object"]["name"] == "debug" && f["object"]["context"] == "kind-shop"), "{d}");
    assert!(d["unchanged"].as_u64().is_some_and(|n| n > 0), "{d}");
}

/// The synthetic cluster of the scale checks: `pods` bare Pods (11 findings each) on `pods / 20`
/// priced Nodes, with `pods / 5` Events.
fn synthetic_objects(pods: usize) -> Vec<Value> {
    let nodes = (pods / 20).max(1);
    let mut objects = Vec::with_capacity(pods + nodes + pods / 5);
    for n in 0..nodes {
        objects.push(serde_json::json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("node-{n}"), "uid": format!("n{n}"), "labels": {"node.kubernetes.io/instance-type": "m5.large"}},
            "status": {"allocatable": {"cpu": "1930m", "memory": "7Gi"}}}));
    }
    for p in 0..pods {
        objects.push(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("pod-{p}"), "namespace": format!("ns-{}", p % 50), "uid": format!("p{p}"), "labels": {"app": format!("a{}", p % 500)}},
            "spec": {"nodeName": format!("node-{}", p % nodes), "containers": [{"name": "c", "image": "nginx:1.27",
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}]},
            "status": {"phase": "Running"}}));
    }
    for e in 0..pods / 5 {
        objects.push(serde_json::json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("ev-{e}"), "namespace": format!("ns-{}", e % 50), "uid": format!("e{e}")},
            "involvedObject": {"kind": "Pod", "name": format!("pod-{e}")}, "reason": "Pulled", "message": "pulled"}));
    }
    objects
}

fn synthetic_pods() -> usize {
    std::env::var("CLUSTERGPT_SYNTHETIC_PODS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

/// Scale check, run by hand: `cargo test --test cluster -- --ignored synthetic --nocapture`
/// (`CLUSTERGPT_SYNTHETIC_PODS`, default 20,000 pods on 1,000 nodes with 4,000 events).
#[test]
#[ignore = "a scale measurement, not a check: run by hand"]
fn synthetic_cluster_scale() {
    let pods = synthetic_pods();
    let nodes = (pods / 20).max(1);
    let h = Harness::new(synthetic_objects(pods), &["big"]);
    let started = std::time::Instant::now();
    let read = h.read(&Options { page_size: 500, ..h.options() }).pop().unwrap();
    let read_time = started.elapsed();
    let n = read.objects.len();
    let a = audit::run(cluster::into_input(vec![read], Vec::new()), &Config::defaults(), &RunOptions::default());
    eprintln!(
        "{pods} pods, {nodes} nodes: read {n} objects in {:.2} s, audited in {:.2} s more; {} findings",
        read_time.as_secs_f64(),
        (started.elapsed() - read_time).as_secs_f64(),
        a.findings.len()
    );
    assert_eq!(a.cost.nodes.len(), nodes);
}

/// Serves the synthetic cluster until killed, for timing the real binary in its own process
/// (BENCHMARKS.md): writes a kubeconfig (context `big`) to `CLUSTERGPT_SERVE_KUBECONFIG`.
#[test]
#[ignore = "a server for measurements by hand; runs until killed"]
fn serve_synthetic_cluster() {
    let Ok(path) = std::env::var("CLUSTERGPT_SERVE_KUBECONFIG") else {
        eprintln!("skipped: set CLUSTERGPT_SERVE_KUBECONFIG to the kubeconfig path to write");
        return;
    };
    let h = Harness::new(synthetic_objects(synthetic_pods()), &["big"]);
    std::fs::write(&path, std::fs::read(&h.kubeconfig).unwrap()).unwrap();
    eprintln!("serving {} pods at {}; kubeconfig {path}", synthetic_pods(), h.fake.url());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// A pod of namespace `shop` whose container `name` crash-loops (exit 2, 5 restarts).
fn crashing_pod(pod: &str, container: &str) -> Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod, "namespace": "shop", "uid": format!("uid-{pod}")},
        "spec": {"nodeName": "node-1", "containers": [{"name": container, "image": "example/app:1"}, {"name": "sidecar", "image": "example/side:1"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": container, "ready": false, "restartCount": 5, "image": "example/app:1", "imageID": "",
             "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
             "lastState": {"terminated": {"exitCode": 2, "reason": "Error",
                "startedAt": "2026-12-01T07:50:00Z", "finishedAt": "2026-12-01T07:55:00Z"}}},
            {"name": "sidecar", "ready": true, "restartCount": 0, "image": "example/side:1", "imageID": "",
             "state": {"running": {"startedAt": "2026-11-30T10:00:00Z"}}}
        ]}
    })
}

const TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";

/// The shop plus three crash-looping pods whose previous logs say why.
fn crashing_shop() -> Harness {
    let mut objects = fixture();
    objects.push(crashing_pod("api-1", "api"));
    objects.push(crashing_pod("worker-1", "worker"));
    objects.push(crashing_pod("client-1", "client"));
    let h = Harness::new(objects, &["kind-shop"]);
    h.fake.with(|s| {
        let logs = [
            (
                "shop/api-1/api",
                format!(
                    "starting up with secret sauce\npanic: invalid memory address or nil pointer dereference token={TOKEN}\ngoroutine 1 [running]:\nmain.main()"
                ),
            ),
            (
                "shop/worker-1/worker",
                "Traceback (most recent call last):\n  File \"app.py\", line 1\nModuleNotFoundError: No module named 'requests'"
                    .to_string(),
            ),
            ("shop/client-1/client", "dial tcp 10.96.12.34:5432: connect: connection refused".to_string()),
        ];
        for (k, v) in logs {
            s.previous_logs.insert(k.to_string(), v);
        }
    });
    h
}

fn log_requests(log: &[Logged]) -> Vec<&Logged> {
    log.iter().filter(|l| l.path.ends_with("/log")).collect()
}

#[test]
fn a_server_ignoring_log_limits_has_the_tail_of_its_stream_classified() {
    let h = crashing_shop();
    h.fake.with(|s| {
        s.ignore_log_limits = true;
        // 3 MiB of chatter, then the line that says why it crashed.
        let mut log = "INFO request served in 3ms\n".repeat(3 * 1024 * 1024 / 26);
        log.push_str("panic: runtime error: index out of range [3] with length 3\n");
        s.previous_logs.insert("shop/api-1/api".to_string(), log);
    });
    let read = h.read(&Options { logs: true, ..h.options() }).pop().expect("one cluster");
    let api = read.logs.iter().find(|l| l.pod == "api-1").expect("api-1 classified");
    assert_eq!(api.found.class.as_str(), "panic");
}

#[test]
fn logs_of_crashing_containers_become_hypotheses_with_one_redacted_line() {
    let h = crashing_shop();
    let read = h.read(&Options { logs: true, ..h.options() }).pop().expect("one cluster");
    assert!(read.gaps.is_empty(), "{:?}", read.gaps);
    // In the order the server listed the pods, whatever the concurrency.
    let classes: Vec<(&str, &str, &str)> =
        read.logs.iter().map(|l| (l.pod.as_str(), l.container.as_str(), l.found.class.as_str())).collect();
    assert_eq!(
        classes,
        [
            ("api-1", "api", "panic"),
            ("client-1", "client", "connection-refused"),
            ("worker-1", "worker", "missing-module")
        ]
    );

    // Only the crashing containers' previous logs, bounded; never the sidecar, never a healthy pod.
    let log = h.fake.log();
    assert_read_only(&log);
    let mut asked: Vec<String> = log_requests(&log)
        .iter()
        .map(|l| {
            assert_eq!(l.query.get("previous").map(String::as_str), Some("true"), "{l:?}");
            assert_eq!(l.query.get("tailLines").map(String::as_str), Some("200"), "{l:?}");
            assert_eq!(l.query.get("limitBytes").map(String::as_str), Some("65536"), "{l:?}");
            format!("{} {}", l.path, l.query["container"])
        })
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        [
            "/api/v1/namespaces/shop/pods/api-1/log api",
            "/api/v1/namespaces/shop/pods/client-1/log client",
            "/api/v1/namespaces/shop/pods/worker-1/log worker",
        ]
    );

    // The diagnosis carries the class as a hypothesis; the token is redacted, the rest of the log absent.
    let input = cluster::into_input(vec![read], Vec::new());
    let a = audit::run(input, &Config::defaults(), &RunOptions::default());
    let json = clustergpt::report::json::render(&a).unwrap();
    assert!(!json.contains(TOKEN) && !json.contains("secret sauce") && !json.contains("main.main"), "{json}");
    assert!(json.contains("token=<redacted>"), "{json}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let subclasses = |pod: &str| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "DIA002" && f["object"]["name"] == pod)
            .flat_map(|f| f["diagnosis"]["hypotheses"].as_array().unwrap().iter())
            .filter_map(|h| h["subclass"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(subclasses("api-1"), ["exit-2", "log-panic"]);
    assert_eq!(subclasses("worker-1"), ["exit-2", "log-missing-module"]);
    assert_eq!(subclasses("client-1"), ["exit-2", "log-connection-refused"]);
    assert!(json.contains("`10.96.12.34:5432` refuses connections"), "{json}");
    let text = clustergpt::report::terminal::render(&a, false);
    assert!(!text.contains(TOKEN), "{text}");

    // The command line, with a pod cap of one: one pod's logs, the rest said.
    let out = h.bin(&["analyze", "--cluster", "--logs", "--log-pods", "1", "--format", "json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("log-panic") && !stdout.contains("log-missing-module"), "{stdout}");
    assert!(stdout.contains("raise --log-pods"), "{stdout}");
    assert!(!stdout.contains(TOKEN) && !String::from_utf8_lossy(&out.stderr).contains(TOKEN));
}

#[test]
fn without_logs_no_log_is_requested() {
    let h = crashing_shop();
    let read = h.read_one();
    assert!(read.logs.is_empty());
    let out = h.bin(&["analyze", "--cluster", "--format", "json"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("log-panic"));
    assert!(log_requests(&h.fake.log()).is_empty());
}

#[test]
fn forbidden_logs_are_reported_and_the_run_continues() {
    let h = crashing_shop();
    h.fake.with(|s| {
        s.forbidden.insert("pods/log".into());
    });
    let read = h.read(&Options { logs: true, ..h.options() }).pop().expect("one cluster");
    assert!(read.logs.is_empty());
    assert_eq!(read.objects.len(), fixture().len() + 3);
    let gaps: Vec<(&str, &str)> = read.gaps.iter().map(|g| (g.resource.as_str(), g.reason.as_str())).collect();
    assert_eq!(gaps, [("pods/log", "forbidden")]);
    assert!(read.gaps[0].message.contains("of 3 crashing container(s)"), "{}", read.gaps[0].message);
    assert!(read.gaps[0].message.contains("cannot get resource \"pods/log\""), "{}", read.gaps[0].message);

    let input = cluster::into_input(vec![read], Vec::new());
    let a = audit::run(input, &Config::defaults(), &RunOptions::default());
    let gap = a.not_evaluated.iter().find(|n| n.resource == "pods/log").expect("log gap");
    assert_eq!(gap.rules, ["DIA001", "DIA002"]);
    // The crash loops are still diagnosed, from status.
    assert_eq!(a.findings.iter().filter(|f| f.rule == "DIA002").count(), 3);
}

#[test]
fn a_snapshot_with_logs_replays_byte_identical() {
    let h = crashing_shop();
    let snap = h.dir.path().join("logs.snap.json.zst");
    let out = h.bin(&["snapshot", "--cluster", "--logs", "-o", snap.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let live = h.bin(&["analyze", "--cluster", "--logs", "--format", "json=live.json"]);
    let replay = h.bin(&["analyze", "--snapshot", snap.to_str().unwrap(), "--format", "json=replay.json"]);
    assert_eq!(live.status.code(), replay.status.code());
    let a = std::fs::read(h.dir.path().join("live.json")).unwrap();
    let b = std::fs::read(h.dir.path().join("replay.json")).unwrap();
    assert!(String::from_utf8_lossy(&a).contains("log-missing-module"));
    assert!(a == b, "{}\n---\n{}", String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));

    // The snapshot keeps the classes and redacted lines, never the logs.
    let s = cluster::snapshot::Snapshot::read(&snap).unwrap();
    assert_eq!(s.clusters[0].logs.len(), 3);
    let text = serde_json::to_string(&s).unwrap();
    assert!(!text.contains(TOKEN) && !text.contains("secret sauce") && !text.contains("File \\\"app.py\\\""), "{text}");
    assert!(text.contains("\"class\":\"connection-refused\""), "{text}");
}

#[test]
fn a_log_cut_inside_a_character_by_limit_bytes_is_still_classified() {
    let mut objects = fixture();
    objects.push(crashing_pod("big-1", "big"));
    let h = Harness::new(objects, &["kind-shop"]);
    // 13 bytes, then two-byte characters past 64 KiB: the server's cut lands inside one.
    let text = format!("panic: boom!\n{}", "é".repeat(40_000));
    h.fake.with(|s| {
        s.previous_logs.insert("shop/big-1/big".into(), text);
    });
    let read = h.read(&Options { logs: true, ..h.options() }).pop().expect("one cluster");
    assert!(read.gaps.is_empty(), "{:?}", read.gaps);
    let classes: Vec<&str> = read.logs.iter().map(|l| l.found.class.as_str()).collect();
    assert_eq!(classes, ["panic"]);
    assert_eq!(read.logs[0].found.line, "panic: boom!");
}

#[test]
fn right_sizing_reads_prometheus_once_and_a_snapshot_replays_it() {
    let h = Harness::shop();
    let mut cpu = prometheus_fake::Series::new();
    let mut mem = prometheus_fake::Series::new();
    for pod in ["web-5d8f7-a1b2c", "web-5d8f7-d3e4f", "web-5d8f7-g5h6i"] {
        cpu.insert(format!("shop/{pod}/web"), prometheus_fake::hourly(48, |i| if i % 10 == 0 { 0.4 } else { 0.2 }));
        mem.insert(format!("shop/{pod}/web"), prometheus_fake::hourly(48, |_| 100.0 * 1_048_576.0));
    }
    let prom = h._rt.block_on(prometheus_fake::FakePrometheus::start(cpu, mem));
    let url = prom.url();
    let snap = h.dir.path().join("shop.snap.json.zst");
    // Two runs straddling a step boundary would ask for different windows: retry once.
    for attempt in 0..2 {
        let out = h.bin(&["snapshot", "--cluster", "-n", "shop", "--prometheus", &url, "-o", snap.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let live = h.bin(&["analyze", "--cluster", "-n", "shop", "--prometheus", &url, "--format", "json=live.json"]);
        let replay = h.bin(&["analyze", "--snapshot", snap.to_str().unwrap(), "--format", "json=replay.json"]);
        assert_eq!(live.status.code(), replay.status.code());
        let read = |f: &str| std::fs::read(h.dir.path().join(f)).unwrap();
        let (a, b) = (read("live.json"), read("replay.json"));
        if a != b && attempt == 0 {
            continue;
        }
        assert!(a == b, "{}\n---\n{}", String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
        let v: Value = serde_json::from_slice(&a).unwrap();
        let f = v["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "CST005").expect("CST005");
        assert_eq!(f["object"]["name"], "web");
        // Requests unset: p95 of 0.2/0.4 samples (every tenth hour 0.4) is 0.4; peak 100Mi × 1.15.
        assert_eq!(f["fix"]["ops"][0]["value"], "400m", "{f}");
        assert_eq!(f["fix"]["ops"][1]["value"], "115Mi", "{f}");
        break;
    }
    // A snapshot and a live read (twice on a retry), each two queries restricted to the namespace read.
    let log = prom.log();
    assert!(log.len() == 4 || log.len() == 8, "{log:#?}");
    assert!(log.iter().all(|l| l.query["query"].contains(r#"namespace=~"shop""#)), "{log:#?}");
}

#[test]
fn custom_resources_are_read_only_when_asked_for() {
    let mut objects = fixture();
    objects.push(serde_json::json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": "web", "namespace": "shop", "uid": "sm-1"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "endpoints": [{"port": "http"}]}}));
    for mode in [DiscoveryMode::Aggregated, DiscoveryMode::LegacyJson] {
        let h = Harness::new(objects.clone(), &["kind-shop"]);
        h.fake.with(|s| s.discovery = mode);
        let without = h.read_one();
        assert!(!without.objects.iter().any(|o| o.kind == "ServiceMonitor"), "{mode:?}");
        assert!(!h.fake.log().iter().any(|l| l.path.contains("servicemonitors")), "{mode:?}");

        let read = h.read(&Options { crds: true, ..h.options() }).pop().unwrap();
        let sm: Vec<&clustergpt::model::Object> = read.objects.iter().filter(|o| o.kind == "ServiceMonitor").collect();
        let paths: Vec<String> = h.fake.log().iter().map(|l| l.path.clone()).collect();
        assert_eq!(sm.len(), 1, "{mode:?} {paths:?}");
        assert_eq!((sm[0].api_version.as_str(), sm[0].name.as_str()), ("monitoring.coreos.com/v1", "web"));
        assert!(read.gaps.is_empty(), "{:?}", read.gaps);
        // The built-in types are read as before, once each.
        assert_eq!(read.objects.len(), without.objects.len() + 1, "{mode:?}");
        assert_read_only(&h.fake.log());
    }
}
