//! Ownership and live objects: findings on a pod template are reported once, on the top-most
//! controller in the input; fields the API server writes never produce configuration findings;
//! CRD workloads (Rollout, DeploymentConfig, ScaledJob) are audited like the built-in ones; a pod
//! template with labels but no spec still takes part in selector matching.
//!
//! Fixtures are in `manifests-fixtures/ownership/` (kubectl dumps written from real shapes); the
//! corpus test reads `../shared/corpus/live` and skips cleanly without it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::model::Finding;
use clustergpt::source;
use clustergpt::yaml::Limits;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/ownership").join(name)
}

fn audit_files(files: &[PathBuf], select: &[&str]) -> Audit {
    let mut input = source::Input::default();
    for f in files {
        let rel = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(f).display().to_string();
        let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        source::load_bytes(&rel, bytes, Limits::default(), &mut input);
    }
    let opts = RunOptions { select: select.iter().map(|s| (*s).to_string()).collect(), ..RunOptions::default() };
    audit::run(input, &Config::defaults(), &opts)
}

fn audit_fixture(name: &str, select: &[&str]) -> Audit {
    audit_files(&[fixture(name)], select)
}

fn id(f: &Finding) -> String {
    format!("{}/{}", f.object.kind, f.object.name)
}

fn listing(a: &Audit) -> String {
    a.findings.iter().map(|f| format!("{} {} {}\n", f.rule, id(f), f.location.path)).collect()
}

fn owns(f: &Finding) -> Option<&str> {
    f.evidence.iter().find(|e| e.path == "owns").map(|e| e.value.as_str())
}

/// The path of a finding relative to the pod spec, so the same container field compares equal
/// across a Deployment (`/spec/template/spec/...`) and a Pod (`/spec/...`).
fn pod_relative(f: &Finding) -> Option<String> {
    let p = &f.location.path;
    ["/spec/jobTemplate/spec/template/spec", "/spec/template/spec", "/spec"]
        .iter()
        .find_map(|prefix| p.strip_prefix(prefix).filter(|r| r.is_empty() || r.starts_with('/')))
        .map(str::to_string)
}

#[test]
fn deployment_dump_reports_each_container_finding_once_on_the_deployment() {
    let a = audit_fixture("kubectl-deploy-rs-pods.json", &["all"]);
    assert!(a.errors.is_empty() && a.skipped.is_empty(), "{:?} {:?}", a.errors, a.skipped);
    assert_eq!(a.summary.objects, 5);
    let on_owned: Vec<&Finding> =
        a.findings.iter().filter(|f| f.object.kind == "ReplicaSet" || f.object.kind == "Pod").collect();
    assert!(on_owned.is_empty(), "findings on controlled objects:\n{}", listing(&a));

    let template: Vec<&Finding> =
        a.findings.iter().filter(|f| f.location.path.starts_with("/spec/template/spec/containers/0")).collect();
    // The container has no requests, limits or probes and runs with the default security context.
    for rule in ["REL001", "REL002", "REL005", "REL006", "SEC006"] {
        let n = template.iter().filter(|f| f.rule == rule).count();
        assert_eq!(n, 1, "{rule} should be reported once:\n{}", listing(&a));
    }
    let mut seen = BTreeSet::new();
    for f in &template {
        assert_eq!(id(f), "Deployment/web");
        assert!(seen.insert((f.rule.clone(), f.location.path.clone())), "duplicate {} at {}", f.rule, f.location.path);
        assert_eq!(
            owns(f),
            Some(
                "ReplicaSet/shop/web-5d8f7b9c4, ReplicaSet/shop/web-6c7d8e9f1, Pod/shop/web-5d8f7b9c4-abcde, \
                 Pod/shop/web-5d8f7b9c4-fghij"
            ),
            "{} lacks the ownership evidence: {:?}",
            f.rule,
            f.evidence
        );
    }
    // Findings outside the template (replicas, the object itself) carry no ownership line.
    assert!(a.findings.iter().filter(|f| !f.location.path.starts_with("/spec/template")).all(|f| owns(f).is_none()));
    assert_eq!(a.architecture.relations.get("Owns"), Some(&4), "{:?}", a.architecture.relations);
    // Cost prices the pods once, on the Deployment.
    let priced: Vec<String> = a.cost.workloads.iter().map(|w| format!("{}/{}", w.kind, w.name)).collect();
    assert_eq!(priced, ["Deployment/web"], "{priced:?}");
}

#[test]
fn pods_without_their_owner_in_the_input_are_audited() {
    let a = audit_fixture("kubectl-pods-only.json", &["all"]);
    assert_eq!(a.summary.objects, 2);
    for pod in ["Pod/web-5d8f7b9c4-abcde", "Pod/web-5d8f7b9c4-fghij"] {
        let rules: BTreeSet<&str> = a.findings.iter().filter(|f| id(f) == pod).map(|f| f.rule.as_ref()).collect();
        for rule in ["REL001", "REL002", "REL005", "REL006"] {
            assert!(rules.contains(rule), "{pod} lacks {rule}:\n{}", listing(&a));
        }
        assert!(a.findings.iter().filter(|f| id(f) == pod).all(|f| owns(f).is_none()));
    }
    // Managed by a ReplicaSet (not in the input): not a naked pod, not a single replica, and its
    // generated name is not the instance label it should carry; the injected token volume's
    // `kube-root-ca.crt` is not a missing ConfigMap.
    assert!(
        !a.findings.iter().any(|f| ["REL014", "REL007", "ARC007", "ARC005"].contains(&f.rule.as_ref())),
        "{}",
        listing(&a)
    );
}

#[test]
fn cronjob_dump_reports_on_the_cronjob_only() {
    let a = audit_fixture("kubectl-cronjob-job-pods.json", &["all"]);
    assert!(a.findings.iter().all(|f| f.object.kind == "CronJob"), "findings on the Job or its Pod:\n{}", listing(&a));
    let f = a.findings.iter().find(|f| f.rule == "REL001").unwrap_or_else(|| panic!("no REL001:\n{}", listing(&a)));
    assert_eq!(owns(f), Some("Job/batch-jobs/nightly-report-29876540, Pod/batch-jobs/nightly-report-29876540-q7w2x"));
    let per_rule_path: BTreeMap<(String, Option<String>), usize> =
        a.findings.iter().fold(BTreeMap::new(), |mut m, f| {
            *m.entry((f.rule.to_string(), pod_relative(f))).or_insert(0) += 1;
            m
        });
    assert!(per_rule_path.values().all(|n| *n == 1), "{per_rule_path:?}");
}

#[test]
fn live_job_with_a_generated_selector_is_not_sch004() {
    let a = audit_fixture("kubectl-job.json", &["SCH004"]);
    assert_eq!(a.summary.objects, 1);
    assert!(a.findings.is_empty(), "{}", listing(&a));
    // The Job alone is still audited (its CronJob is not in the input).
    let all = audit_fixture("kubectl-job.json", &["all"]);
    assert!(all.findings.iter().any(|f| f.rule == "REL001" && id(f) == "Job/db-migrate"), "{}", listing(&all));
    // Nothing is reported on what the API server wrote.
    assert!(
        all.findings.iter().all(|f| !f.location.path.starts_with("/status")
            && !f.location.path.starts_with("/metadata/managedFields")
            && !f.location.path.contains("controller-uid")
            && !f.location.path.contains("job-name")),
        "{}",
        listing(&all)
    );
}

#[test]
fn crd_workloads_get_container_findings() {
    let a = audit_fixture("crd-workloads.yaml", &["all"]);
    let privileged: BTreeSet<String> = a.findings.iter().filter(|f| f.rule == "SEC001").map(id).collect();
    let want: BTreeSet<String> = ["Rollout/checkout", "DeploymentConfig/billing", "ScaledJob/thumbnails"]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    assert_eq!(privileged, want, "{}", listing(&a));
    let at = |who: &str| a.findings.iter().filter(|f| id(f) == who).map(|f| f.rule.to_string()).collect::<Vec<_>>();
    // The Rollout with a workloadRef has no pod spec; the `deploy.example.com` Deployment is not a workload.
    assert!(at("Rollout/cart").iter().all(|r| !r.starts_with("REL00") && !r.starts_with("SEC")), "{}", listing(&a));
    assert!(at("Deployment/release-42").iter().all(|r| r != "SEC001"), "{}", listing(&a));
    // Replicated CRD workloads are treated like Deployments (a PDB for 2+ pods), ScaledJob like a Job.
    for who in ["Rollout/checkout", "DeploymentConfig/billing"] {
        assert!(at(who).contains(&"REL010".to_string()), "{who} lacks REL010:\n{}", listing(&a));
    }
    let probes = |who: &str| at(who).iter().any(|r| r == "REL005" || r == "REL006");
    assert!(probes("Rollout/checkout") && !probes("ScaledJob/thumbnails"), "{}", listing(&a));
}

#[test]
fn rollout_dump_reports_on_the_rollout() {
    let a = audit_fixture("rollout-rs-pods.yaml", &["SEC001"]);
    assert_eq!(a.findings.len(), 1, "{}", listing(&a));
    let f = &a.findings[0];
    assert_eq!(id(f), "Rollout/checkout");
    assert_eq!(owns(f), Some("ReplicaSet/shop/checkout-6f7b8c9d5, Pod/shop/checkout-6f7b8c9d5-x8k2m"));
}

#[test]
fn template_labels_without_a_pod_spec_are_selected() {
    let a = audit_fixture("labels-without-spec.yaml", &["all"]);
    let rules: Vec<&str> = a.findings.iter().map(|f| f.rule.as_ref()).collect();
    // The Service and the PDB select the Deployment's pods.
    assert!(!rules.contains(&"ARC001") && !rules.contains(&"ARC006"), "{}", listing(&a));
    let budget = a
        .findings
        .iter()
        .find(|f| f.object.kind == "PodDisruptionBudget" && f.rule == "REL011")
        .unwrap_or_else(|| panic!("the budget's finding is missing:\n{}", listing(&a)));
    assert!(budget.message.contains("2 of 2"), "{}", budget.message);
    // No container or pod rule reports the missing spec.
    assert!(
        a.findings
            .iter()
            .filter(|f| f.object.kind == "Deployment")
            .all(|f| !f.location.path.starts_with("/spec/template")),
        "{}",
        listing(&a)
    );
}

fn live_corpus() -> Option<PathBuf> {
    let root = std::env::var_os("CLUSTERGPT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
        .join("live");
    if root.is_dir() {
        Some(root)
    } else {
        eprintln!("skipping: no live corpus at {}", root.display());
        None
    }
}

#[test]
fn live_corpus_has_no_findings_from_server_fields_or_ownership() {
    let Some(live) = live_corpus() else { return };
    let input = source::load_paths(&[live], &mut std::io::empty(), Limits::default());
    // (kind, namespace, name) of every object, and of each object's declared controller.
    let key = |k: &str, ns: Option<&str>, n: &str| (k.to_string(), ns.unwrap_or_default().to_string(), n.to_string());
    let present: BTreeSet<_> = input.objects.iter().map(|o| key(&o.kind, o.effective_namespace(), &o.name)).collect();
    let controller_of: BTreeMap<_, _> = input
        .objects
        .iter()
        .filter_map(|o| {
            let refs = o.get("/metadata/ownerReferences")?.as_array()?;
            let r = refs.iter().find(|r| r["controller"] == true)?;
            let owner = key(r["kind"].as_str()?, o.effective_namespace(), r["name"].as_str()?);
            Some((key(&o.kind, o.effective_namespace(), &o.name), owner))
        })
        .collect();
    let opts = RunOptions { select: vec!["all".to_string()], ..RunOptions::default() };
    let a = audit::run(input, &Config::defaults(), &opts);
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    let jobs_audited = a.findings.iter().filter(|f| f.object.kind == "Job").count();
    assert!(jobs_audited > 0, "the live Jobs were not read:\n{}", listing(&a));
    let jobs = a.findings.iter().filter(|f| f.rule == "SCH004" && f.object.kind == "Job").count();
    assert_eq!(jobs, 0, "SCH004 on live Jobs:\n{}", listing(&a));
    // Configuration rules never report on server-written fields; diagnoses read status by design.
    assert!(
        a.findings.iter().filter(|f| f.area != clustergpt::model::Area::Diagnosis).all(|f| !f
            .location
            .path
            .starts_with("/status")
            && !f.location.path.starts_with("/metadata/managedFields")),
        "findings on server-written fields"
    );
    // Each finding once per object and field: no duplicates through ownership. (The corpus holds
    // each dump twice, under `support-bundle/` too, so identity includes the file.)
    let mut seen = BTreeSet::new();
    for f in &a.findings {
        let key = (f.rule.clone(), f.location.file.clone(), id(f), f.location.path.clone());
        assert!(seen.insert(key), "duplicate {} on {} at {}", f.rule, id(f), f.location.path);
    }
    // Once per owner chain: nothing is reported on an object whose controller is in the input.
    for f in &a.findings {
        let k = key(&f.object.kind, f.object.namespace.as_deref(), &f.object.name);
        if let Some(owner) = controller_of.get(&k) {
            assert!(
                !present.contains(owner),
                "{} on {} although its controller {owner:?} is in the input",
                f.rule,
                id(f)
            );
        }
    }
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &a.findings {
        *per_rule.entry(f.rule.as_ref()).or_insert(0) += 1;
    }
    eprintln!("{} objects, {} findings: {per_rule:?}", a.summary.objects, a.findings.len());
}
