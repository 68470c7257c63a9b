//! The cost arithmetic against hand-computed values.
//!
//! With the default prices one vCPU costs 0.031611 × 730 = 23.07603 a month, one GiB of memory
//! 0.004237 × 730 = 3.09301, one GPU 0.95 × 730 = 693.5, one GiB of storage 0.04, one load
//! balancer 0.025 × 730 = 18.25. Every expected value below is worked out from those numbers.

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::cost::{CostReport, RangeEnd, WorkloadCost};
use clustergpt::source::{self, Input};
use clustergpt::yaml::Limits;

const CPU_MONTH: f64 = 23.076_03;
const GIB_MONTH: f64 = 3.093_01;

fn audit_with(yaml: &str, config: &Config, rules: &[&str]) -> Audit {
    let mut input = Input::default();
    source::load_text("t.yaml", yaml.to_string(), Limits::default(), &mut input);
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    let opts = RunOptions {
        select: if rules.is_empty() {
            vec!["SCH003".to_string()]
        } else {
            rules.iter().map(ToString::to_string).collect()
        },
        today: Some("2026-01-01".to_string()),
        ..RunOptions::default()
    };
    audit::run(input, config, &opts)
}

fn cost(yaml: &str) -> CostReport {
    audit_with(yaml, &Config::defaults(), &[]).cost
}

fn item<'a>(c: &'a CostReport, kind: &str, name: &str) -> &'a WorkloadCost {
    c.workloads
        .iter()
        .find(|w| w.kind == kind && w.name == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in {:#?}", c.workloads))
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 0.005, "{a} != {b}");
}

#[test]
fn requests_then_limits_and_quantity_forms() {
    // a: 500m CPU + 128Mi requested; b: only limits (1.5 CPU, 1G), which Kubernetes copies into
    // requests. Per pod 2 CPU and 0.125 + 0.931323 GiB = 1.056323 GiB:
    // 2 × 23.07603 + 1.056323 × 3.09301 = 46.15206 + 3.26722 = 49.41928; × 2 replicas = 98.84.
    let c = cost(
        r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: a
          image: a:1
          resources:
            requests: {cpu: 500m, memory: 128Mi}
            limits: {cpu: '4', memory: 1Gi}
        - name: b
          image: b:1
          resources:
            limits: {cpu: '1.5', memory: 1G}
",
    );
    let w = item(&c, "Deployment", "web");
    close(w.monthly, 98.84);
    close(w.monthly_max, 98.84);
    assert_eq!(w.replicas, Some(2));
    close(w.cpu, 2.0);
    close(w.memory_gib, 1.056);
    assert!(w.assumptions.iter().any(|a| a == "2 replicas"), "{:?}", w.assumptions);
    close(c.monthly_total, 98.84);
    assert_eq!(c.currency, "USD");
    assert!((c.hours_per_month - 730.0).abs() < f64::EPSILON);
}

#[test]
fn init_containers_by_the_max_rule_with_sidecars() {
    // app 250m/256Mi + sidecar 100m/128Mi run together: 350m / 384Mi.
    // The migrate init container runs next to the sidecar started before it: 1.1 CPU / 1152Mi.
    // Per resource the larger wins: 1.1 CPU and 1.125 GiB:
    // 1.1 × 23.07603 + 1.125 × 3.09301 = 25.38363 + 3.47964 = 28.86.
    let c = cost(
        r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      initContainers:
        - name: log-shipper
          image: s:1
          restartPolicy: Always
          resources: {requests: {cpu: 100m, memory: 128Mi}}
        - name: migrate
          image: m:1
          resources: {requests: {cpu: '1', memory: 1Gi}}
      containers:
        - name: app
          image: a:1
          resources: {requests: {cpu: 250m, memory: 256Mi}}
",
    );
    let w = item(&c, "Deployment", "api");
    close(w.monthly, 28.86);
    close(w.cpu, 1.1);
    close(w.memory_gib, 1.125);
    assert_eq!(w.namespace, "default");
    assert!(w.assumptions.iter().any(|a| a.contains("`replicas` unset")), "{:?}", w.assumptions);
    assert!(w.assumptions.iter().any(|a| a.contains("max rule")), "{:?}", w.assumptions);
}

#[test]
fn sidecars_add_to_the_app_when_init_is_small() {
    // Small init (50m): app 1 + sidecar 0.5 = 1.5 CPU wins; no memory anywhere.
    // 1.5 × 23.07603 = 34.614045 → 34.61.
    let c = cost(
        r"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - {name: side, image: s, restartPolicy: Always, resources: {requests: {cpu: 500m}}}
    - {name: init, image: i, resources: {requests: {cpu: 50m}}}
  containers:
    - {name: app, image: a, resources: {requests: {cpu: '1'}}}
",
    );
    let w = item(&c, "Pod", "p");
    close(w.monthly, 34.61);
    assert!(!w.assumptions.iter().any(|a| a.contains("max rule")), "{:?}", w.assumptions);
    assert!(w.assumptions.iter().any(|a| a.contains("no memory request")), "{:?}", w.assumptions);
}

#[test]
fn pod_level_resources_and_overhead_count_as_for_the_scheduler() {
    // Pod-level CPU request 2 replaces the containers' 500m + 500m; memory has no pod-level value,
    // so the containers' 1Gi + 1Gi counts. The RuntimeClass overhead (250m, 512Mi) is added:
    // 2.25 CPU and 2.5 GiB per pod: 2.25 × 23.07603 + 2.5 × 3.09301 = 51.92107 + 7.73253 = 59.65.
    let yaml = r"
apiVersion: v1
kind: Pod
metadata: {name: vm, namespace: sandbox}
spec:
  runtimeClassName: kata
  overhead: {cpu: 250m, memory: 512Mi}
  resources:
    requests: {cpu: '2'}
  containers:
    - {name: a, image: a:1, resources: {requests: {cpu: 500m, memory: 1Gi}}}
    - {name: b, image: b:1, resources: {requests: {cpu: 500m, memory: 1Gi}}}
";
    let mut config = Config::defaults();
    config.rules.node_cpu = 2.0;
    let a = audit_with(yaml, &config, &["CST001"]);
    let w = item(&a.cost, "Pod", "vm");
    close(w.cpu, 2.25);
    close(w.memory_gib, 2.5);
    close(w.monthly, 59.65);
    assert!(w.assumptions.iter().any(|x| x.contains("pod-level cpu request")), "{:?}", w.assumptions);
    assert!(w.assumptions.iter().any(|x| x.contains("spec.overhead")), "{:?}", w.assumptions);
    // CST001 reads the same figure from the same function.
    let f = a.findings.iter().find(|f| f.rule == "CST001").expect("CST001 on a 2 CPU node");
    assert!(f.message.contains("requests 2.25 CPU"), "{}", f.message);
}

const HPA_APP: &str = r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: web
          image: w:1
          resources: {requests: {cpu: '1', memory: 2Gi}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
";

#[test]
fn hpa_gives_a_range_and_the_total_uses_min() {
    // One pod: 23.07603 + 2 × 3.09301 = 29.26205. HPA 2–10 (spec.replicas 3 is ignored).
    let c = cost(HPA_APP);
    let w = item(&c, "Deployment", "web");
    close(w.monthly, 58.52);
    close(w.monthly_max, 292.62);
    assert_eq!((w.replicas, w.replicas_max), (Some(2), Some(10)));
    assert!(
        w.assumptions
            .iter()
            .any(|a| a.contains("HorizontalPodAutoscaler `web` scales it between 2 and 10 replicas; the total uses 2")),
        "{:?}",
        w.assumptions
    );
    close(c.monthly_total, 58.52);
    close(c.monthly_total_max, 292.62);

    let mut cfg = Config::defaults();
    cfg.cost.autoscaled_replicas = RangeEnd::Max;
    let c = audit_with(HPA_APP, &cfg, &[]).cost;
    close(item(&c, "Deployment", "web").monthly, 292.62);
}

#[test]
fn daemonset_counts_configured_nodes() {
    // 100m + 200Mi per pod: 2.307603 + 0.1953125 × 3.09301 = 2.911707; × 3 nodes = 8.74.
    let yaml = r"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ops}
spec:
  template:
    spec:
      containers:
        - {name: a, image: a, resources: {requests: {cpu: 100m, memory: 200Mi}}}
";
    let c = cost(yaml);
    let w = item(&c, "DaemonSet", "agent");
    close(w.monthly, 8.74);
    assert_eq!(w.replicas, Some(3));
    assert!(w.assumptions.iter().any(|a| a.contains("3 nodes")), "{:?}", w.assumptions);
    let mut cfg = Config::defaults();
    cfg.cost.node_count = 10;
    close(item(&audit_with(yaml, &cfg, &[]).cost, "DaemonSet", "agent").monthly, 29.12);
}

#[test]
fn a_live_daemonset_counts_the_nodes_it_is_scheduled_on() {
    // 2.911707 per pod (above) × 5 nodes from the status = 14.56, whatever `cost.node_count` says.
    let yaml = r"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ops}
spec:
  template:
    spec:
      containers:
        - {name: a, image: a, resources: {requests: {cpu: 100m, memory: 200Mi}}}
status: {desiredNumberScheduled: 5, currentNumberScheduled: 5}
";
    let w = item(&cost(yaml), "DaemonSet", "agent").clone();
    assert_eq!(w.replicas, Some(5));
    close(w.monthly, 14.56);
    assert!(w.assumptions.iter().any(|a| a.contains("desiredNumberScheduled")), "{:?}", w.assumptions);
}

#[test]
fn statefulset_claims_times_replicas_by_storage_class() {
    // Pod: 0.5 × 23.07603 + 1 × 3.09301 = 14.631025.
    // Claims per replica: 10Gi of `fast` at 0.10 = 1.00, plus 0.5Ti = 512 GiB of the default class at
    // 0.04 = 20.48. Per replica 36.111025; × 3 = 108.33.
    let mut cfg = Config::defaults();
    cfg.prices.storage_classes.insert("fast".to_string(), 0.10);
    let c = audit_with(
        r"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  replicas: 3
  serviceName: db
  template:
    spec:
      containers:
        - {name: db, image: pg, resources: {requests: {cpu: 500m, memory: 1Gi}}}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        storageClassName: fast
        resources: {requests: {storage: 10Gi}}
    - metadata: {name: logs}
      spec:
        resources: {requests: {storage: 0.5Ti}}
---
# Created by the StatefulSet in a cluster dump: priced on the StatefulSet, not twice.
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-db-0, namespace: data}
spec:
  storageClassName: fast
  resources: {requests: {storage: 10Gi}}
",
        &cfg,
        &[],
    )
    .cost;
    let w = item(&c, "StatefulSet", "db");
    close(w.monthly, 108.33);
    close(w.storage_gib, 522.0);
    assert!(
        w.assumptions.iter().any(|a| a.contains("claim `data` of 10 GiB per replica, class `fast`")),
        "{:?}",
        w.assumptions
    );
    assert_eq!(c.workloads.len(), 1, "{:#?}", c.workloads);
}

#[test]
fn claims_load_balancers_and_unpriced_objects() {
    let c = cost(
        r"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: 'true'}
provisioner: x
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: small, namespace: a}
spec:
  resources: {requests: {storage: 2Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: big, namespace: b}
spec:
  storageClassName: standard
  resources: {requests: {storage: 0.5Ti}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: sizeless, namespace: a}
spec: {}
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: a}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: internal, namespace: a}
spec: {ports: [{port: 80}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: a}
spec:
  schedule: '0 1 * * *'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: j, image: j, resources: {requests: {cpu: '1'}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: a}
spec:
  template:
    spec:
      containers: [{name: x, image: x, resources: {requests: {cpu: lots}}}]
",
    );
    // 2Gi × 0.04 = 0.08; 512 GiB × 0.04 = 20.48; one load balancer 18.25.
    close(item(&c, "PersistentVolumeClaim", "small").monthly, 0.08);
    assert!(
        item(&c, "PersistentVolumeClaim", "small").assumptions[0].contains("default class `standard`"),
        "{:?}",
        item(&c, "PersistentVolumeClaim", "small").assumptions
    );
    close(item(&c, "PersistentVolumeClaim", "big").monthly, 20.48);
    close(item(&c, "Service", "edge").monthly, 18.25);
    assert!(!c.workloads.iter().any(|w| w.name == "internal"));
    let unpriced: Vec<(&str, &str)> = c.unpriced.iter().map(|u| (u.kind.as_str(), u.name.as_str())).collect();
    assert_eq!(unpriced, vec![("CronJob", "nightly"), ("Deployment", "broken"), ("PersistentVolumeClaim", "sizeless")]);
    assert!(c.unpriced[1].reason.contains("`lots`"), "{:?}", c.unpriced[1]);
    // Namespace totals: a = 0.08 + 18.25, b = 20.48.
    let ns: Vec<(&str, f64)> = c.namespaces.iter().map(|n| (n.namespace.as_str(), n.monthly)).collect();
    assert_eq!(ns.len(), 2);
    close(ns[0].1, 18.33);
    close(ns[1].1, 20.48);
    close(c.monthly_total, 38.81);
}

#[test]
fn batch_workloads_when_configured() {
    // 4 parallel pods × 1 CPU × 0.031611 × 10 hours = 1.26.
    let mut cfg = Config::defaults();
    cfg.cost.batch_hours_per_month = Some(10.0);
    let c = audit_with(
        r"
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  parallelism: 4
  template:
    spec:
      restartPolicy: Never
      containers: [{name: j, image: j, resources: {requests: {cpu: '1'}}}]
",
        &cfg,
        &[],
    )
    .cost;
    close(item(&c, "Job", "once").monthly, 1.26);
    assert!(c.unpriced.is_empty());
}

#[test]
fn gpus_and_owned_objects() {
    // 1 GPU + 4 CPU + 16Gi, all from limits: 693.5 + 92.30412 + 49.48816 = 835.29.
    let c = cost(
        r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: train}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: t
          image: t
          resources: {limits: {nvidia.com/gpu: 1, cpu: '4', memory: 16Gi}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: train-abc
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: train, uid: x, controller: true}]
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: t
          image: t
          resources: {limits: {nvidia.com/gpu: 1, cpu: '4', memory: 16Gi}}
",
    );
    let w = item(&c, "Deployment", "train");
    close(w.monthly, 835.29);
    close(w.gpu, 1.0);
    assert_eq!(c.workloads.len(), 1, "the owned ReplicaSet is priced on its Deployment");
}

#[test]
fn keda_scaled_object_range() {
    // ScaledObject defaults: 0–100 replicas; pod 1 CPU = 23.07603.
    let c = cost(
        r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: w}
spec:
  template:
    spec:
      containers: [{name: w, image: w, resources: {requests: {cpu: '1'}}}]
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: w}
spec:
  scaleTargetRef: {name: w}
  maxReplicaCount: 4
",
    );
    let w = item(&c, "Deployment", "w");
    close(w.monthly, 0.0);
    close(w.monthly_max, 92.30);
}

#[test]
fn findings_whose_fix_changes_cost_carry_it() {
    // REL007: one replica of 1 CPU + 2Gi (29.26205) → two replicas: +29.26.
    // REL001: the fix requests the default 100m CPU on 3 replicas: 3 × 2.307603 = +6.92.
    let a = audit_with(
        r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: single, namespace: shop}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - {name: s, image: s, resources: {requests: {cpu: '1', memory: 2Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: nocpu, namespace: shop}
spec:
  replicas: 3
  template:
    spec:
      containers:
        - {name: n, image: n, resources: {requests: {memory: 1Gi}}}
",
        &Config::defaults(),
        &["REL007", "REL001"],
    );
    let f7 = a.findings.iter().find(|f| f.rule == "REL007").expect("REL007");
    let c7 = f7.cost.as_ref().expect("REL007 cost");
    close(c7.monthly_before, 29.26);
    close(c7.monthly_after, 58.52);
    close(c7.monthly_delta, 29.26);
    let f1 = a.findings.iter().find(|f| f.rule == "REL001").expect("REL001");
    let c1 = f1.cost.as_ref().expect("REL001 cost");
    close(c1.monthly_delta, 6.92);
    close(c1.monthly_after - c1.monthly_before, 3.0 * 0.1 * CPU_MONTH);
    let _ = GIB_MONTH;
    // JSON: present on these, absent elsewhere.
    let json = serde_json::to_value(&a).expect("json");
    assert!(json["findings"][0]["cost"]["monthly_delta"].is_number());
}

#[test]
fn findings_without_cost_effect_have_none() {
    let a = audit_with(
        r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - {name: s, image: s, securityContext: {privileged: true}, resources: {requests: {cpu: '1'}}}
",
        &Config::defaults(),
        &["SEC001"],
    );
    assert!(!a.findings.is_empty());
    assert!(a.findings.iter().all(|f| f.cost.is_none()));
    let json = serde_json::to_value(&a.findings[0]).expect("json");
    assert!(json.get("cost").is_none(), "absent, not null: {json}");
}

#[test]
fn prices_are_configurable_and_stated() {
    let mut cfg = Config::defaults();
    cfg.prices.currency = "EUR".to_string();
    cfg.prices.cpu_hour = 0.05;
    cfg.cost.hours_per_month = 700.0;
    let c = audit_with(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a, resources: {requests: {cpu: '2'}}}]\n",
        &cfg,
        &[],
    )
    .cost;
    // 2 × 0.05 × 700 = 70.
    close(item(&c, "Pod", "p").monthly, 70.0);
    assert_eq!(c.currency, "EUR");
    assert!(c.assumptions.iter().any(|a| a == "700 hours per month"), "{:?}", c.assumptions);
    assert!(c.assumptions[0].contains("€0.05 per vCPU-hour"), "{:?}", c.assumptions);
}

#[test]
fn estimate_is_deterministic_and_round_trips() {
    let a = audit_with(HPA_APP, &Config::defaults(), &["all"]);
    let text = serde_json::to_string(&a).expect("json");
    let back: Audit = serde_json::from_str(&text).expect("parse");
    assert_eq!(back.cost, a.cost);
    assert_eq!(text, serde_json::to_string(&audit_with(HPA_APP, &Config::defaults(), &["all"])).expect("json"));
    // Audits saved before the cost section existed still load.
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("value");
    v.as_object_mut().expect("object").remove("cost");
    let old: Audit = serde_json::from_value(v).expect("old audit");
    assert!(old.cost.workloads.is_empty());
}

#[test]
fn a_fix_on_an_autoscaler_is_priced_on_its_target() {
    // REL015 raises minReplicas 1 → 2 on the HPA; the Deployment (1 CPU + 2Gi = 29.26205 per pod)
    // then costs one more pod at rest.
    let yaml = HPA_APP.replace("minReplicas: 2", "minReplicas: 1");
    let a = audit_with(&yaml, &Config::defaults(), &["REL015"]);
    let f = a.findings.iter().find(|f| f.rule == "REL015").expect("REL015");
    let c = f.cost.as_ref().expect("cost");
    close(c.monthly_before, 29.26);
    close(c.monthly_after, 58.52);
}
