//! Object identity and fingerprints: the same object in several files (a multi-region GitOps
//! layout), objects that do not come from files (live clusters, snapshots), baselines written by
//! the previous release, and duplicate objects.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::baseline::{self, Baseline};
use clustergpt::config::Config;
use clustergpt::diff::Diff;
use clustergpt::model::{Finding, Object, Origin};
use clustergpt::report::{json, markdown, sarif, terminal};
use clustergpt::source::{self, Input};
use clustergpt::yaml::Limits;

const REGIONS: &str = "manifests-fixtures/regions";

fn all() -> RunOptions {
    RunOptions { select: vec!["all".into()], today: Some("2026-01-01".into()), ..RunOptions::default() }
}

fn audit_paths(paths: &[PathBuf]) -> Audit {
    let input = source::load_paths(paths, &mut std::io::empty(), Limits::default());
    audit::run(input, &Config::defaults(), &all())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

fn in_file<'a>(a: &'a Audit, needle: &str) -> Vec<&'a Finding> {
    a.findings.iter().filter(|f| f.location.file.as_deref().is_some_and(|p| p.contains(needle))).collect()
}

fn fps(findings: &[&Finding]) -> BTreeSet<String> {
    findings.iter().map(|f| f.fingerprint.clone()).collect()
}

#[test]
fn the_same_object_in_two_files_has_distinct_stable_fingerprints() {
    let a = audit_paths(&[PathBuf::from(REGIONS).join("k8s")]);
    assert!(a.errors.is_empty() && a.skipped.is_empty(), "{:?} {:?}", a.errors, a.skipped);
    let (eu, us) = (in_file(&a, "eu-west"), in_file(&a, "us-east"));
    assert!(!eu.is_empty());
    assert_eq!(eu.len(), us.len(), "each copy has its own findings");
    assert_eq!(eu.len() + us.len(), a.findings.len());
    // One format everywhere: 32 lowercase hex digits, no `-2` suffixes.
    assert!(a.findings.iter().all(|f| audit::is_fingerprint(&f.fingerprint)), "{:?}", a.findings);
    // Distinct per file, unique in the audit.
    assert!(fps(&eu).is_disjoint(&fps(&us)));
    assert_eq!(fps(&a.findings.iter().collect::<Vec<_>>()).len(), a.findings.len());
    // Stable: the same run again gives the same fingerprints.
    assert_eq!(a.findings, audit_paths(&[PathBuf::from(REGIONS).join("k8s")]).findings);

    // A third copy in a second step: the first two keep their fingerprints (no renumbering).
    let tmp = tempfile::tempdir().expect("tmp");
    copy_dir(&Path::new(REGIONS).join("k8s"), &tmp.path().join("k8s"));
    let before = audit_paths(&[tmp.path().join("k8s")]);
    copy_dir(&Path::new(REGIONS).join("third/k8s"), &tmp.path().join("k8s"));
    let after = audit_paths(&[tmp.path().join("k8s")]);
    let third = in_file(&after, "ap-south");
    assert_eq!(third.len(), eu.len());
    for region in ["eu-west", "us-east"] {
        assert_eq!(fps(&in_file(&before, region)), fps(&in_file(&after, region)), "{region}");
    }
    assert!(after.findings.iter().all(|f| audit::is_fingerprint(&f.fingerprint)));
    assert_eq!(fps(&after.findings.iter().collect::<Vec<_>>()).len(), after.findings.len());

    // A diff of the two steps: the third copy's findings are new, nothing else changes.
    let d = Diff::new(&before, &after);
    assert_eq!(fps(&d.new.iter().collect::<Vec<_>>()), fps(&third));
    assert!(d.resolved.is_empty());
}

#[test]
fn a_diff_against_the_same_files_elsewhere_matches_every_finding() {
    // `diff --base-dir`, saved audits from two checkouts, a moved file: other paths, same objects.
    let a = audit_paths(&[PathBuf::from(REGIONS).join("k8s")]);
    let tmp = tempfile::tempdir().expect("tmp");
    copy_dir(&Path::new(REGIONS).join("k8s"), &tmp.path().join("moved"));
    let b = audit_paths(&[tmp.path().join("moved")]);
    assert!(fps(&a.findings.iter().collect::<Vec<_>>()).is_disjoint(&fps(&b.findings.iter().collect::<Vec<_>>())));
    let d = Diff::new(&a, &b);
    assert!(d.new.is_empty() && d.resolved.is_empty(), "{:#?} {:#?}", d.new, d.resolved);
    assert_eq!(d.unchanged, a.findings.len());
    // One copy fewer on the other side: exactly its findings are resolved.
    std::fs::remove_dir_all(tmp.path().join("moved/regions/us-east")).expect("rm");
    let c = audit_paths(&[tmp.path().join("moved")]);
    let d = Diff::new(&a, &c);
    assert!(d.new.is_empty());
    assert_eq!(d.resolved.len(), in_file(&a, "us-east").len());
}

#[test]
fn fingerprints_ignore_how_the_path_is_spelled_and_the_api_version() {
    let text = std::fs::read_to_string(Path::new(REGIONS).join("k8s/regions/eu-west/worker.yaml")).expect("read");
    let run = |name: &str, text: &str| {
        let mut input = Input::default();
        source::load_text(name, text.to_string(), Limits::default(), &mut input);
        audit::run(input, &Config::defaults(), &all())
    };
    let plain = run("k8s/worker.yaml", &text);
    let fp = |a: &Audit| a.findings.iter().map(|f| f.fingerprint.clone()).collect::<Vec<_>>();
    assert_eq!(fp(&plain), fp(&run("./k8s//worker.yaml", &text)));
    assert_ne!(fp(&plain), fp(&run("k8s/other.yaml", &text)));
    // The API group is identity, its version is not; the kind's group changing is a new object.
    let beta = run("k8s/worker.yaml", &text.replace("apps/v1", "apps/v1beta2"));
    let same_rule_and_path = |a: &Audit, f: &Finding| {
        a.findings
            .iter()
            .find(|g| g.rule == f.rule && g.location.path == f.location.path)
            .map(|g| g.fingerprint.clone())
    };
    let f = plain.findings.iter().find(|f| f.rule == "SEC001").expect("SEC001");
    assert_eq!(same_rule_and_path(&beta, f), Some(f.fingerprint.clone()));
    let other_group = run("k8s/worker.yaml", &text.replace("apps/v1", "extensions/v1beta1"));
    assert_ne!(same_rule_and_path(&other_group, f), Some(f.fingerprint.clone()));
}

#[test]
fn a_duplicate_object_in_one_file_is_reported_once_and_noted() {
    let text = std::fs::read_to_string(Path::new(REGIONS).join("k8s/regions/eu-west/worker.yaml")).expect("read");
    let twice = format!("{text}---\n{}", text.replace("ghcr.io/acme/worker:1.4.2", "ghcr.io/acme/worker:latest"));
    let mut input = Input::default();
    source::load_text("k8s/worker.yaml", twice, Limits::default(), &mut input);
    let a = audit::run(input, &Config::defaults(), &all());
    let mut once = Input::default();
    source::load_text("k8s/worker.yaml", text, Limits::default(), &mut once);
    let single = audit::run(once, &Config::defaults(), &all());
    // Every fingerprint once; the second copy adds only what it alone has (its `:latest` image).
    let all_fps: Vec<&str> = a.findings.iter().map(|f| f.fingerprint.as_str()).collect();
    assert_eq!(all_fps.iter().collect::<BTreeSet<_>>().len(), all_fps.len(), "{all_fps:?}");
    assert!(single.findings.iter().all(|f| a.findings.iter().any(|g| g.fingerprint == f.fingerprint)));
    let extra: Vec<&Finding> =
        a.findings.iter().filter(|f| !single.findings.iter().any(|g| g.fingerprint == f.fingerprint)).collect();
    assert!(!extra.is_empty() && extra.iter().all(|f| f.location.line > Some(30)), "{extra:#?}");
    assert_eq!(a.skipped.len(), 1, "{:?}", a.skipped);
    let s = &a.skipped[0];
    assert_eq!((s.source.as_str(), s.document), ("k8s/worker.yaml", Some(1)));
    assert!(s.reason.starts_with("duplicate object: Deployment/jobs/worker is already defined at line 3"), "{s:?}");
    // Deterministic.
    assert_eq!(json::render(&a).expect("json"), json::render(&a.clone()).expect("json"));
}

fn live_objects() -> Vec<Object> {
    let deployment = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "prod", "uid": "0b6c4a8e-1111-4c3b-9a1e-2f6d7c8b9a01"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}}, "template": {
            "metadata": {"labels": {"app": "api"}},
            "spec": {"containers": [{"name": "api", "image": "nginx:latest", "securityContext": {"privileged": true}}]}}}
    });
    let role = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "everything", "uid": "0b6c4a8e-2222-4c3b-9a1e-2f6d7c8b9a01"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    });
    let uid = |v: &serde_json::Value| v["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    vec![
        Object::from_body(deployment.clone(), Origin::Cluster { context: "prod".into(), uid: uid(&deployment) }),
        Object::from_body(role.clone(), Origin::Cluster { context: "prod".into(), uid: uid(&role) }),
        Object::from_body(
            deployment.clone(),
            Origin::Snapshot {
                path: "snapshots/prod.json".into(),
                context: "prod-replay".into(),
                uid: uid(&deployment),
            },
        ),
    ]
}

#[test]
fn objects_from_clusters_and_snapshots_render_in_every_format() {
    let input = Input { objects: live_objects(), ..Input::default() };
    let (mut a, objects) = audit::run_with_objects(input, &Config::defaults(), &all());
    clustergpt::fix::enrich(&mut a, &objects);
    assert!(a.errors.is_empty() && a.internal_errors.is_empty() && a.skipped.is_empty());
    assert_eq!(a.summary.files, 0);
    // A snapshot replay reads as the live cluster it was taken from (byte-identical reports).
    assert_eq!(a.summary.contexts, ["prod", "prod-replay"]);
    let sec001: Vec<&Finding> = a.findings.iter().filter(|f| f.rule == "SEC001").collect();
    assert_eq!(sec001.len(), 2, "the live object and its snapshot replay (another context)");
    for f in &a.findings {
        assert!(f.location.file.is_none() && f.location.line.is_none(), "{f:?}");
        assert!(f.object.context.is_some() && f.object.uid.is_some(), "{f:?}");
        assert!(audit::is_fingerprint(&f.fingerprint));
        // Fixes on objects without a file are patches only: no edit error, no line suggestion.
        if let Some(fix) = &f.fix {
            assert!(fix.edit_error.is_none() && fix.suggestion.is_none(), "{fix:?}");
            if !fix.ops.is_empty() {
                assert!(fix.patch.is_some(), "{fix:?}");
            }
        }
    }

    let text = terminal::render(&a, false);
    assert!(text.contains("\ncontext prod\n") || text.starts_with("context prod\n"), "{text}");
    assert!(text.contains("context prod-replay\n"), "{text}");
    assert!(text.contains("Deployment/prod/api at /spec/template/spec/containers/0/securityContext/privileged"));
    assert!(text.contains("3 objects from contexts prod, prod-replay ("), "{text}");
    assert!(!text.contains("(cluster)") && !text.contains("0 files"), "{text}");

    let md = markdown::render(&a).expect("md");
    assert!(md.contains("from contexts prod, prod-replay;"), "{md}");
    assert!(
        md.contains(
            "- context `prod` **SEC001**: `/spec/template/spec/containers/0/securityContext/privileged` = `true`"
        ),
        "{md}"
    );
    assert!(!md.contains("Not applied to the file automatically"), "{md}");

    let j: serde_json::Value = serde_json::from_str(&json::render(&a).expect("json")).expect("json");
    let f = &j["findings"].as_array().expect("findings")[0];
    assert!(f["location"].get("file").is_none());
    assert!(f["object"]["context"].is_string() && f["object"]["uid"].is_string(), "{f}");
    let back: Audit = serde_json::from_value(j).expect("round trip");
    assert_eq!(back.findings.len(), a.findings.len());

    let s: serde_json::Value = serde_json::from_str(&sarif::render(&a).expect("sarif")).expect("sarif");
    let results = s["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), a.findings.len());
    for r in results {
        let loc = &r["locations"][0];
        assert!(loc.get("physicalLocation").is_none(), "{loc}");
        assert!(loc["logicalLocations"][0]["fullyQualifiedName"].is_string());
        assert!(r["partialFingerprints"][sarif::FINGERPRINT_KEY].as_str().is_some_and(audit::is_fingerprint));
    }

    // The diff reports place them by context too.
    let empty = audit::run(Input::default(), &Config::defaults(), &all());
    let d = Diff::new(&empty, &a);
    assert_eq!(d.new.len(), a.findings.len());
    let md = clustergpt::report::diff_md::render(&d).expect("diff md");
    assert!(md.contains("`Deployment/prod/api` · context `prod` · field"), "{md}");
    let text = clustergpt::report::diff_terminal::render(&d, false);
    assert!(text.contains("Deployment/prod/api at /spec/replicas (context prod)"), "{text}");
}

#[test]
fn a_snapshot_replay_fingerprints_like_the_live_run() {
    let live = live_objects().remove(0);
    let mut replay = live.clone();
    replay.origin = Origin::Snapshot { path: "s.json".into(), context: "prod".into(), uid: "x".into() };
    let run = |o: Object| {
        let a = audit::run(Input { objects: vec![o], ..Input::default() }, &Config::defaults(), &all());
        a.findings.into_iter().map(|f| f.fingerprint).collect::<Vec<_>>()
    };
    let fps = run(live);
    assert!(!fps.is_empty());
    assert_eq!(fps, run(replay));
}

#[test]
fn cluster_sources_in_errors_and_skips_render() {
    let mut input = Input { objects: live_objects(), ..Input::default() };
    input.errors.push(source::InputError {
        source: source::cluster_source("prod", "secrets"),
        line: None,
        column: None,
        message: "forbidden: cannot list secrets (403)".into(),
    });
    let a = audit::run(input, &Config::defaults(), &all());
    // Errors go to stderr as `error: {e}`; the terminal report counts them.
    assert!(a.errors[0].to_string().starts_with("cluster:prod/secrets: forbidden"), "{}", a.errors[0]);
    let text = terminal::render(&a, false);
    assert!(text.contains("1 input error"), "{text}");
    let md = markdown::render(&a).expect("md");
    assert!(md.contains("| `cluster:prod/secrets` | forbidden"), "{md}");
    let s: serde_json::Value = serde_json::from_str(&sarif::render(&a).expect("sarif")).expect("sarif");
    let n = &s["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert!(n.get("locations").is_none(), "a cluster resource is not a file: {n}");
    assert_eq!(s["runs"][0]["invocations"][0]["executionSuccessful"], false);
}

// ---------- baselines of the previous release ----------

/// A baseline the previous release wrote for `manifests-fixtures/regions/k8s` (fingerprints
/// without file or API group; the us-east copy numbered `-2`), with
/// `clustergpt baseline write legacy-baseline.json --no-config --select SEC001,SEC003,REL003,REL005,REL006 k8s`.
const LEGACY: &str = "manifests-fixtures/regions/legacy-baseline.json";

/// The rules of the legacy baseline, fixed so that new rules do not change it.
const LEGACY_RULES: &str = "SEC001,SEC003,REL003,REL005,REL006";

fn legacy_audit(paths: &[PathBuf]) -> Audit {
    let input = source::load_paths(paths, &mut std::io::empty(), Limits::default());
    let opts = RunOptions { select: LEGACY_RULES.split(',').map(str::to_string).collect(), ..all() };
    audit::run(input, &Config::defaults(), &opts)
}

#[test]
fn a_legacy_baseline_still_hides_its_findings_and_reports_stale_entries() {
    let old = Baseline::parse(&std::fs::read_to_string(LEGACY).expect("read")).expect("legacy baseline parses");
    assert!(old.is_legacy());
    assert!(old.findings.iter().any(|e| e.fingerprint.ends_with("-2")), "the old format numbered repeats");
    let mut a = legacy_audit(&[PathBuf::from(REGIONS).join("k8s")]);
    let total = a.findings.len();
    baseline::apply(&mut a, &old, LEGACY);
    let report = a.baseline.clone().expect("report");
    assert!(a.findings.is_empty(), "every finding is in the old baseline: {:#?}", a.findings);
    assert_eq!(report.hidden, total);
    assert!(report.stale.is_empty(), "{:?}", report.stale);
    assert!(report.legacy_format);
    assert!(terminal::render(&a, false).contains("rewrite it with `clustergpt baseline write`"));
    assert!(markdown::render(&a).expect("md").contains("rewrite it with `clustergpt baseline write`"));

    // Fix the privileged container in us-east: its (numbered) entry becomes stale.
    let tmp = tempfile::tempdir().expect("tmp");
    copy_dir(&Path::new(REGIONS).join("k8s"), &tmp.path().join("k8s"));
    let us = tmp.path().join("k8s/regions/us-east/worker.yaml");
    let text = std::fs::read_to_string(&us).expect("read").replace("privileged: true", "privileged: false");
    std::fs::write(&us, text).expect("write");
    let mut b = legacy_audit(&[tmp.path().join("k8s")]);
    baseline::apply(&mut b, &old, LEGACY);
    let report = b.baseline.expect("report");
    assert!(b.findings.is_empty(), "{:#?}", b.findings);
    let stale: Vec<(&str, &str)> = report.stale.iter().map(|e| (e.rule.as_str(), e.fingerprint.as_str())).collect();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].0, "SEC001");
    assert!(stale[0].1.ends_with("-2"), "{stale:?}");

    // A new-format baseline of the same audit: matched by the new fingerprints alone.
    let fresh = legacy_audit(&[PathBuf::from(REGIONS).join("k8s")]);
    let written = Baseline::from_audit(&fresh);
    assert_eq!(written.schema_version, baseline::BASELINE_VERSION);
    assert!(!written.is_legacy());
    assert_eq!(written.findings.len(), fresh.findings.len(), "no two findings share a fingerprint");
    let mut c = fresh.clone();
    baseline::apply(&mut c, &Baseline::parse(&written.to_json().expect("json")).expect("parse"), "b.json");
    assert!(c.findings.is_empty());
    let r = c.baseline.expect("report");
    assert!(r.stale.is_empty() && !r.legacy_format);
}

#[test]
fn legacy_fingerprints_are_the_previous_algorithm() {
    let a = legacy_audit(&[PathBuf::from(REGIONS).join("k8s")]);
    let old: BTreeSet<String> = baseline::legacy_fingerprints(&a.findings).into_iter().collect();
    let file: BTreeSet<String> = Baseline::parse(&std::fs::read_to_string(LEGACY).expect("read"))
        .expect("parse")
        .findings
        .into_iter()
        .map(|e| e.fingerprint)
        .collect();
    assert_eq!(old, file);
}

// ---------- the binary ----------

fn clustergpt(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run clustergpt");
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn cli_reads_a_legacy_baseline_and_rewrites_it_in_the_new_format() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().expect("tmp");
    copy_dir(&root.join(REGIONS).join("k8s"), &tmp.path().join("k8s"));
    std::fs::copy(root.join(LEGACY), tmp.path().join("baseline.json")).expect("copy");
    let (code, out, err) = clustergpt(
        tmp.path(),
        &[
            "analyze",
            "--no-config",
            "--select",
            LEGACY_RULES,
            "k8s",
            "--baseline",
            "baseline.json",
            "--fail-on",
            "info",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Summary: 0 findings in 2 objects from 2 files"), "{out}");
    assert!(out.contains("rewrite it with `clustergpt baseline write`"), "{out}");

    let (code, _, err) =
        clustergpt(tmp.path(), &["baseline", "write", "baseline.json", "--no-config", "--select", LEGACY_RULES, "k8s"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("baseline.json")).expect("read")).expect("json");
    assert_eq!(v["schema_version"], baseline::BASELINE_VERSION);
    let entries = v["findings"].as_array().expect("findings");
    assert!(entries.iter().all(|e| e["fingerprint"].as_str().is_some_and(audit::is_fingerprint)), "{v}");
    let (code, out, _) = clustergpt(
        tmp.path(),
        &[
            "analyze",
            "--no-config",
            "--select",
            LEGACY_RULES,
            "k8s",
            "--baseline",
            "baseline.json",
            "--fail-on",
            "info",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("rewrite it"), "{out}");
}
