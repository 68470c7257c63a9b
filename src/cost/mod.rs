//! Cost estimates: what each workload, claim and load balancer costs per month at list prices.
//!
//! Pure: the estimate is computed from the objects, the graph and the configured prices only.
//!
//! - A pod costs its effective requests as the scheduler computes them ([`crate::resources`], shared
//!   with CST001: limits where a request is unset, init containers by the max rule, sidecars added,
//!   pod-level `spec.resources` and `spec.overhead` honoured) × price per hour × hours per month.
//! - Deployments, StatefulSets, ReplicaSets and ReplicationControllers multiply by replicas; an
//!   HorizontalPodAutoscaler (or KEDA ScaledObject) turns that into a min–max range, and the totals
//!   use the end `cost.autoscaled_replicas` names.
//! - DaemonSets multiply by `cost.node_count`; Jobs and CronJobs are listed as not estimated unless
//!   `cost.batch_hours_per_month` says how long their pods run.
//! - PersistentVolumeClaims and StatefulSet `volumeClaimTemplates` (× replicas) are priced by their
//!   requested size and storage class; Services of type LoadBalancer by the load-balancer hour.

pub mod prices;
pub mod prometheus;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use prices::{HOURS_PER_MONTH, PriceModel, money};

use crate::graph::{Edge, Graph};
use crate::model::{CostImpact, Fix, FixOp, Object};
use crate::quantity::Quantity;
use crate::resources::pod_requests;
use crate::workload::Workload;
use crate::yaml::PointerExt;

const GIB: f64 = 1_073_741_824.0;

/// Which end of an autoscaler's replica range the totals use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RangeEnd {
    /// `minReplicas`: what the workload costs at rest (the default).
    #[default]
    Min,
    /// `maxReplicas`: the most it can cost.
    Max,
}

impl RangeEnd {
    /// `min` or `max`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RangeEnd::Min => "min",
            RangeEnd::Max => "max",
        }
    }
}

/// Cost settings that are not prices (`cost:` in `.clustergpt.yaml`).
#[derive(Debug, Clone, PartialEq)]
pub struct CostSettings {
    /// Hours in a month (730).
    pub hours_per_month: f64,
    /// Nodes a DaemonSet runs on, when estimating from manifests.
    pub node_count: u32,
    /// Which end of an autoscaler's range the totals use.
    pub autoscaled_replicas: RangeEnd,
    /// Hours per month that Job and CronJob pods run; `None`: batch workloads are not estimated.
    pub batch_hours_per_month: Option<f64>,
}

/// Default `cost.node_count`.
pub const DEFAULT_NODE_COUNT: u32 = 3;

impl Default for CostSettings {
    fn default() -> CostSettings {
        CostSettings {
            hours_per_month: HOURS_PER_MONTH,
            node_count: DEFAULT_NODE_COUNT,
            autoscaled_replicas: RangeEnd::Min,
            batch_hours_per_month: None,
        }
    }
}

/// The monthly cost of one object (a workload, a claim or a load balancer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadCost {
    /// Kind.
    pub kind: String,
    /// Namespace (`default` when the manifest sets none).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// File the object is in, when it came from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Monthly cost the totals use.
    pub monthly: f64,
    /// Monthly cost at the top of the range (equal to `monthly` without an autoscaler).
    pub monthly_max: f64,
    /// Pods counted (replicas, autoscaler end, or nodes for a DaemonSet); absent for claims and
    /// load balancers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u64>,
    /// Pods at the top of an autoscaler's range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_max: Option<u64>,
    /// Effective vCPU request of one pod.
    #[serde(default)]
    pub cpu: f64,
    /// Effective memory request of one pod, in GiB.
    #[serde(default)]
    pub memory_gib: f64,
    /// GPUs of one pod.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gpu: f64,
    /// Storage in GiB (claims of one pod for workloads, the claim itself for a PVC).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub storage_gib: f64,
    /// What the estimate assumed.
    pub assumptions: Vec<String>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// An object that could not be priced, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unpriced {
    /// Kind.
    pub kind: String,
    /// Namespace, when namespaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// Monthly cost of one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceCost {
    /// Namespace.
    pub namespace: String,
    /// Sum of its objects' `monthly`.
    pub monthly: f64,
    /// Sum of its objects' `monthly_max`.
    pub monthly_max: f64,
    /// Its share of the cluster's idle node cost, in proportion to its `monthly` (one cluster's
    /// nodes in the input only: idle capacity is paid for by whoever runs there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_share: Option<f64>,
}

/// The cost section of an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// ISO currency code of every amount.
    pub currency: String,
    /// Hours per month the estimate assumes.
    pub hours_per_month: f64,
    /// Sum of every object's `monthly`.
    pub monthly_total: f64,
    /// Sum of every object's `monthly_max`.
    pub monthly_total_max: f64,
    /// Totals per namespace, by name.
    pub namespaces: Vec<NamespaceCost>,
    /// Priced objects, by namespace, kind, name.
    pub workloads: Vec<WorkloadCost>,
    /// Objects that could not be priced, with why.
    pub unpriced: Vec<Unpriced>,
    /// Assumptions behind every estimate.
    pub assumptions: Vec<String>,
    /// The prices used.
    pub prices: PriceModel,
    /// Nodes of live clusters (or snapshots), priced by instance type, with what their pods request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeCost>,
    /// Node cost per cluster (context), with its idle part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<ClusterCost>,
    /// Usage histories read from Prometheus for right-sizing (`--prometheus`), or why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_history: Vec<prometheus::HistoryNote>,
}

/// One node: its price and how much of it the pods scheduled there request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeCost {
    /// The cluster (context) it belongs to; absent for nodes read from files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Node name.
    pub name: String,
    /// `node.kubernetes.io/instance-type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// `topology.kubernetes.io/region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `topology.kubernetes.io/zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Allocatable vCPUs.
    pub cpu_allocatable: f64,
    /// Allocatable memory, GiB.
    pub memory_allocatable_gib: f64,
    /// vCPUs requested by the running pods on it.
    pub cpu_requested: f64,
    /// Memory requested by the running pods on it, GiB.
    pub memory_requested_gib: f64,
    /// Pods counted (not Succeeded or Failed).
    pub pods: u64,
    /// Monthly price of the node.
    pub monthly: f64,
    /// The part of `monthly` no pod requests: price × (1 − the larger of the CPU and memory
    /// request ratios).
    pub idle_monthly: f64,
    /// How it was priced.
    pub priced_by: String,
    /// vCPUs in use, when the cluster's metrics API answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_used: Option<f64>,
    /// Memory in use, GiB, when the cluster's metrics API answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_gib: Option<f64>,
}

/// What a cluster's metrics API (`metrics.k8s.io`) reported: a point-in-time sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterUsage {
    /// The context.
    pub context: String,
    /// Whether `metrics.k8s.io` answered.
    pub available: bool,
    /// Where the numbers come from, or why there are none.
    pub note: String,
    /// Usage per node name.
    #[serde(default)]
    pub nodes: BTreeMap<String, Usage>,
    /// Usage per `namespace/pod`, summed over its containers.
    #[serde(default)]
    pub pods: BTreeMap<String, Usage>,
}

/// CPU and memory in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// vCPUs.
    pub cpu: f64,
    /// Bytes.
    pub memory: f64,
}

/// Node cost of one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterCost {
    /// The context (`""` for nodes read from files).
    pub context: String,
    /// Nodes counted.
    pub nodes: usize,
    /// Sum of the nodes' `monthly`.
    pub monthly: f64,
    /// Sum of the nodes' `idle_monthly`.
    pub idle_monthly: f64,
    /// Where usage comes from (`metrics.k8s.io`), or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
    /// vCPUs in use by its pods, when the metrics API answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_used: Option<f64>,
    /// Memory in use by its pods, GiB, when the metrics API answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_gib: Option<f64>,
}

impl Default for CostReport {
    fn default() -> CostReport {
        CostReport {
            currency: "USD".to_string(),
            hours_per_month: HOURS_PER_MONTH,
            monthly_total: 0.0,
            monthly_total_max: 0.0,
            namespaces: Vec::new(),
            workloads: Vec::new(),
            unpriced: Vec::new(),
            assumptions: Vec::new(),
            prices: PriceModel::default(),
            nodes: Vec::new(),
            clusters: Vec::new(),
            usage_history: Vec::new(),
        }
    }
}

/// Node cost summed per cluster, by context.
fn cluster_costs(nodes: &[NodeCost], usage: &[ClusterUsage]) -> Vec<ClusterCost> {
    let mut by: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    for n in nodes {
        let e = by.entry(n.context.clone().unwrap_or_default()).or_insert((0, 0.0, 0.0));
        e.0 += 1;
        e.1 += n.monthly;
        e.2 += n.idle_monthly;
    }
    for u in usage {
        by.entry(u.context.clone()).or_insert((0, 0.0, 0.0));
    }
    by.into_iter()
        .map(|(context, (nodes, m, idle))| {
            let u = usage.iter().find(|u| u.context == context);
            let total = u.filter(|u| u.available).map(|u| {
                u.pods.values().fold(Usage::default(), |a, p| Usage { cpu: a.cpu + p.cpu, memory: a.memory + p.memory })
            });
            ClusterCost {
                metrics: u.map(|u| u.note.clone()),
                cpu_used: total.map(|t| round_res(t.cpu)),
                memory_used_gib: total.map(|t| round_gib(t.memory / GIB)),
                context,
                nodes,
                monthly: round_cents(m),
                idle_monthly: round_cents(idle),
            }
        })
        .collect()
}

/// A namespace's part of the idle node cost: the cluster's idle cost × its share of the workload
/// cost. `None` without node prices, or with several clusters (their namespaces are summed
/// together, so a share of one cluster's idle capacity could not be told).
fn idle_share(clusters: &[ClusterCost], monthly: f64, total: f64) -> Option<f64> {
    match clusters {
        [one] if one.nodes > 0 && total > 0.0 => Some(round_cents(one.idle_monthly * monthly / total)),
        _ => None,
    }
}

/// Rounds an amount to cents (and turns `-0` into `0`).
#[must_use]
pub fn round_cents(v: f64) -> f64 {
    let r = (v * 100.0).round() / 100.0;
    if r == 0.0 || !r.is_finite() { 0.0 } else { r }
}

pub use crate::resources::{PodResources, is_gpu_resource};

impl PodResources {
    /// Price of this pod per hour.
    #[must_use]
    pub fn hourly(&self, p: &PriceModel) -> f64 {
        self.cpu * p.cpu_hour + self.memory / GIB * p.memory_gib_hour + self.gpu * p.gpu_hour
    }
}

/// The replica range an autoscaler gives a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scaler {
    kind: &'static str,
    name: String,
    min: u64,
    max: u64,
}

enum Priced {
    Yes(WorkloadCost),
    No(String),
    NotACostItem,
}

/// What pricing one object looks up among all the others, found in one pass over them.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    /// KEDA ScaledObjects by (namespace, kind, name) of their target.
    scaled_objects: BTreeMap<(String, String, String), usize>,
    /// `(namespace, "<template>-<statefulset>-")` prefixes of claims StatefulSets create.
    sts_claim_prefixes: BTreeSet<(String, String)>,
    /// The cluster's default StorageClass, when the input has one.
    default_class: Option<String>,
}

impl Lookups {
    /// The kinds the lookups are made of: an edit of any other object leaves them as they are.
    pub const KINDS: [&'static str; 3] = ["ScaledObject", "StatefulSet", "StorageClass"];

    /// Finds ScaledObjects, StatefulSet claim templates and the default StorageClass.
    #[must_use]
    pub fn build(objects: &[Object]) -> Lookups {
        let mut scaled_objects = BTreeMap::new();
        let mut sts_claim_prefixes = BTreeSet::new();
        let mut default_class = None;
        for (i, o) in objects.iter().enumerate() {
            match o.kind.as_str() {
                "ScaledObject" => {
                    if let Some(r) = o.get("/spec/scaleTargetRef")
                        && let Some(name) = r.get("name").and_then(Value::as_str)
                    {
                        let kind = r.get("kind").and_then(Value::as_str).unwrap_or("Deployment");
                        scaled_objects.entry((ns_of(o), kind.to_string(), name.to_string())).or_insert(i);
                    }
                }
                "StatefulSet" => {
                    if let Some(Value::Array(ts)) = o.get("/spec/volumeClaimTemplates") {
                        for t in ts {
                            if let Some(tn) = t.ptr("/metadata/name").and_then(Value::as_str) {
                                sts_claim_prefixes.insert((ns_of(o), format!("{tn}-{}-", o.name)));
                            }
                        }
                    }
                }
                "StorageClass" => {
                    let default = [
                        "storageclass.kubernetes.io/is-default-class",
                        "storageclass.beta.kubernetes.io/is-default-class",
                    ]
                    .iter()
                    .any(|a| o.annotation(a) == Some("true"));
                    if default && default_class.as_ref().is_none_or(|d: &String| o.name < *d) {
                        default_class = Some(o.name.clone());
                    }
                }
                _ => {}
            }
        }
        Lookups { scaled_objects, sts_claim_prefixes, default_class }
    }
}

/// The estimator over one input.
pub struct Estimator<'a> {
    objects: &'a [Object],
    graph: &'a Graph,
    prices: &'a PriceModel,
    settings: &'a CostSettings,
    lookups: std::borrow::Cow<'a, Lookups>,
    /// Monthly cost of each object as it is, computed once: several findings on one object ask.
    before: std::cell::RefCell<BTreeMap<usize, Option<(f64, bool)>>>,
    /// What live clusters' metrics APIs reported.
    usage: &'a [ClusterUsage],
}

fn ns_of(o: &Object) -> String {
    o.effective_namespace().unwrap_or_default().to_string()
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl<'a> Estimator<'a> {
    /// Prepares an estimate over the objects.
    #[must_use]
    pub fn new(objects: &'a [Object], graph: &'a Graph, prices: &'a PriceModel, settings: &'a CostSettings) -> Self {
        Estimator::with_lookups(objects, graph, prices, settings, std::borrow::Cow::Owned(Lookups::build(objects)))
    }

    /// [`Estimator::new`] with the lookups already built over the same objects.
    #[must_use]
    pub fn with_lookups(
        objects: &'a [Object],
        graph: &'a Graph,
        prices: &'a PriceModel,
        settings: &'a CostSettings,
        lookups: std::borrow::Cow<'a, Lookups>,
    ) -> Self {
        Estimator {
            objects,
            graph,
            prices,
            settings,
            lookups,
            before: std::cell::RefCell::new(BTreeMap::new()),
            usage: &[],
        }
    }

    /// Adds what live clusters' metrics APIs reported (node usage, per-cluster totals).
    #[must_use]
    pub fn with_usage(mut self, usage: &'a [ClusterUsage]) -> Self {
        self.usage = usage;
        self
    }

    /// The cost report over every object.
    #[must_use]
    pub fn report(&self) -> CostReport {
        let mut workloads = Vec::new();
        let mut unpriced = Vec::new();
        for (idx, o) in self.objects.iter().enumerate() {
            match self.price(idx, o, None) {
                Priced::Yes(w) => workloads.push(w),
                Priced::No(reason) => unpriced.push(Unpriced {
                    kind: o.kind.clone(),
                    namespace: o.effective_namespace().map(str::to_string),
                    name: o.name.clone(),
                    reason,
                }),
                Priced::NotACostItem => {}
            }
        }
        workloads.sort_by(|a, b| {
            (&a.namespace, &a.kind, &a.name, &a.file)
                .cmp(&(&b.namespace, &b.kind, &b.name, &b.file))
                .then(a.monthly.total_cmp(&b.monthly))
        });
        unpriced.sort();
        let nodes = self.nodes();
        let mut namespaces: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        let (mut total, mut total_max) = (0.0, 0.0);
        for w in &workloads {
            let e = namespaces.entry(w.namespace.clone()).or_insert((0.0, 0.0));
            e.0 += w.monthly;
            e.1 += w.monthly_max;
            total += w.monthly;
            total_max += w.monthly_max;
        }
        let clusters = cluster_costs(&nodes, self.usage);
        CostReport {
            currency: self.prices.currency.clone(),
            hours_per_month: self.settings.hours_per_month,
            monthly_total: round_cents(total),
            monthly_total_max: round_cents(total_max),
            namespaces: namespaces
                .into_iter()
                .map(|(namespace, (m, x))| NamespaceCost {
                    namespace,
                    monthly: round_cents(m),
                    monthly_max: round_cents(x),
                    idle_share: idle_share(&clusters, m, total),
                })
                .collect(),
            workloads,
            unpriced,
            assumptions: self.assumptions(),
            prices: self.prices.clone(),
            clusters,
            usage_history: Vec::new(),
            nodes,
        }
    }

    /// Every Node object priced, with the requests of the pods scheduled on it (same cluster).
    fn nodes(&self) -> Vec<NodeCost> {
        let hours = self.settings.hours_per_month;
        // (context, node name) → (cpu, memory bytes, pods)
        let mut requested: BTreeMap<(Option<&str>, &str), (f64, f64, u64)> = BTreeMap::new();
        for o in self.objects.iter().filter(|o| o.kind == "Pod") {
            let phase = o.get("/status/phase").and_then(Value::as_str);
            let Some(node) = o.get("/spec/nodeName").and_then(Value::as_str) else { continue };
            if matches!(phase, Some("Succeeded" | "Failed")) {
                continue;
            }
            let Some(r) = Workload::of(o).and_then(|w| pod_requests(&w).ok()) else { continue };
            let e = requested.entry((o.origin.context(), node)).or_insert((0.0, 0.0, 0));
            e.0 += r.total.cpu;
            e.1 += r.total.memory;
            e.2 += 1;
        }
        let quantity = |o: &Object, path: &str| o.get(path).and_then(Quantity::from_json).map_or(0.0, Quantity::value);
        let mut out = Vec::new();
        for o in self.objects.iter().filter(|o| o.kind == "Node") {
            let label = |k: &str| o.labels().and_then(|l| l.get(k)).and_then(Value::as_str).map(str::to_string);
            let instance_type =
                label("node.kubernetes.io/instance-type").or_else(|| label("beta.kubernetes.io/instance-type"));
            let cpu_alloc = quantity(o, "/status/allocatable/cpu");
            let mem_alloc = quantity(o, "/status/allocatable/memory");
            let (hourly, priced_by) = match instance_type.as_deref().and_then(|t| self.prices.instance_hour(t)) {
                Some(h) => (h, format!("instance type {}", instance_type.as_deref().unwrap_or_default())),
                None => {
                    let cpu = quantity(o, "/status/capacity/cpu").max(cpu_alloc);
                    let mem = quantity(o, "/status/capacity/memory").max(mem_alloc);
                    (
                        cpu * self.prices.cpu_hour + mem / GIB * self.prices.memory_gib_hour,
                        "per-resource prices on its capacity (instance type unknown or not in the price table)"
                            .to_string(),
                    )
                }
            };
            let (cpu_req, mem_req, pods) =
                requested.get(&(o.origin.context(), o.name.as_str())).copied().unwrap_or((0.0, 0.0, 0));
            let ratio = |req: f64, alloc: f64| if alloc > 0.0 { (req / alloc).clamp(0.0, 1.0) } else { 0.0 };
            let used = ratio(cpu_req, cpu_alloc).max(ratio(mem_req, mem_alloc));
            let monthly = hourly * hours;
            let sample = self
                .usage
                .iter()
                .find(|u| u.available && Some(u.context.as_str()) == o.origin.context())
                .and_then(|u| u.nodes.get(&o.name));
            out.push(NodeCost {
                context: o.origin.context().map(str::to_string),
                name: o.name.clone(),
                instance_type,
                region: label("topology.kubernetes.io/region"),
                zone: label("topology.kubernetes.io/zone"),
                cpu_allocatable: round_res(cpu_alloc),
                memory_allocatable_gib: round_gib(mem_alloc / GIB),
                cpu_requested: round_res(cpu_req),
                memory_requested_gib: round_gib(mem_req / GIB),
                pods,
                monthly: round_cents(monthly),
                idle_monthly: round_cents(monthly * (1.0 - used)),
                priced_by,
                cpu_used: sample.map(|s| round_res(s.cpu)),
                memory_used_gib: sample.map(|s| round_gib(s.memory / GIB)),
            });
        }
        out.sort_by(|a, b| (&a.context, &a.name).cmp(&(&b.context, &b.name)));
        out
    }

    fn assumptions(&self) -> Vec<String> {
        let p = self.prices;
        let s = self.settings;
        let m = |v: f64| prices::unit_price(&p.currency, v);
        let mut out = vec![
            format!(
                "Approximate: list prices of {} per vCPU-hour, {} per GiB-hour of memory, {} per GPU-hour, {} per GiB-month of storage and {} per LoadBalancer-hour (override them under `prices:`)",
                m(p.cpu_hour),
                m(p.memory_gib_hour),
                m(p.gpu_hour),
                m(p.storage_gib_month),
                m(p.load_balancer_hour)
            ),
            format!("{} hours per month", trim(s.hours_per_month)),
            "Pods are priced by their requests (limits where a request is unset, as Kubernetes defaults them; init containers by the max rule); actual usage, node overhead, bin-packing, network and discounts are not included".to_string(),
            format!(
                "Autoscaled workloads are totalled at their {} replicas; `monthly_max` holds the other end",
                if s.autoscaled_replicas == RangeEnd::Min { "minimum" } else { "maximum" }
            ),
            format!("DaemonSets run on {} nodes (`cost.node_count`)", s.node_count),
        ];
        match s.batch_hours_per_month {
            Some(h) => {
                out.push(format!("Job and CronJob pods run {} hours per month (`cost.batch_hours_per_month`)", trim(h)))
            }
            None => out.push(
                "Jobs and CronJobs are not estimated (set `cost.batch_hours_per_month` to price them)".to_string(),
            ),
        }
        for (class, price) in &p.storage_classes {
            out.push(format!("Storage class `{class}` costs {} per GiB-month", m(*price)));
        }
        out
    }

    fn body_of<'b>(&'b self, i: usize, over: Option<(usize, &'b Object)>) -> Option<&'b Object> {
        match over {
            Some((oi, o)) if oi == i => Some(o),
            _ => self.objects.get(i),
        }
    }

    fn scaler(&self, idx: usize, o: &Object, over: Option<(usize, &Object)>) -> Option<Scaler> {
        let hpa = self
            .graph
            .sources(idx, Edge::Scales)
            .into_iter()
            .filter_map(|i| self.body_of(i, over))
            .find(|h| h.kind == "HorizontalPodAutoscaler");
        if let Some(h) = hpa {
            let min = u(h.get("/spec/minReplicas").and_then(Value::as_i64).unwrap_or(1));
            let max = h.get("/spec/maxReplicas").and_then(Value::as_i64).map_or(min, u).max(min);
            return Some(Scaler { kind: "HorizontalPodAutoscaler", name: h.name.clone(), min, max });
        }
        let key = (ns_of(o), o.kind.clone(), o.name.clone());
        let si = *self.lookups.scaled_objects.get(&key)?;
        let so = self.body_of(si, over)?;
        let min = u(so.get("/spec/minReplicaCount").and_then(Value::as_i64).unwrap_or(0));
        let max = u(so.get("/spec/maxReplicaCount").and_then(Value::as_i64).unwrap_or(100)).max(min);
        Some(Scaler { kind: "ScaledObject", name: so.name.clone(), min, max })
    }

    fn item(&self, o: &Object) -> WorkloadCost {
        WorkloadCost {
            kind: o.kind.clone(),
            namespace: ns_of(o),
            name: o.name.clone(),
            file: o.file().map(str::to_string),
            monthly: 0.0,
            monthly_max: 0.0,
            replicas: None,
            replicas_max: None,
            cpu: 0.0,
            memory_gib: 0.0,
            gpu: 0.0,
            storage_gib: 0.0,
            assumptions: Vec::new(),
        }
    }

    fn storage_class_text(&self, class: Option<&str>) -> (Option<String>, String) {
        let p = self.prices;
        match class {
            Some("") => {
                (None, format!("no storage class (static volume), {} per GiB-month", p.money(p.storage_gib_month)))
            }
            Some(c) => {
                let known = p.storage_classes.contains_key(c);
                (
                    Some(c.to_string()),
                    format!(
                        "class `{c}` at {} per GiB-month{}",
                        p.money(p.storage_price(Some(c))),
                        if known { "" } else { " (no class price configured; default storage price)" }
                    ),
                )
            }
            None => match &self.lookups.default_class {
                Some(d) => (
                    Some(d.clone()),
                    format!("default class `{d}` at {} per GiB-month", p.money(p.storage_price(Some(d)))),
                ),
                None => {
                    (None, format!("the cluster's default class at {} per GiB-month", p.money(p.storage_gib_month)))
                }
            },
        }
    }

    /// Prices object `idx`, read as `o` (which may be a fixed copy); `over` replaces one other
    /// object (an autoscaler) while pricing.
    fn price(&self, idx: usize, o: &Object, over: Option<(usize, &Object)>) -> Priced {
        match o.kind.as_str() {
            "PersistentVolumeClaim" => self.price_claim(o),
            "Service" => self.price_load_balancer(o),
            _ => match Workload::of(o) {
                Some(w) => self.price_workload(idx, &w, over),
                None => Priced::NotACostItem,
            },
        }
    }

    fn price_claim(&self, o: &Object) -> Priced {
        let ns = ns_of(o);
        if self.lookups.sts_claim_prefixes.iter().any(|(pns, prefix)| {
            *pns == ns
                && o.name
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
        }) {
            // Created from a StatefulSet's volumeClaimTemplates: priced on the StatefulSet.
            return Priced::NotACostItem;
        }
        let Some(v) = o.get("/spec/resources/requests/storage") else {
            return Priced::No("no `spec.resources.requests.storage`: the claim's size is unknown".to_string());
        };
        let Some(bytes) = Quantity::from_json(v).map(Quantity::value).filter(|b| *b >= 0.0) else {
            return Priced::No(format!(
                "storage request `{}` is not a Kubernetes quantity",
                crate::model::value_text(v)
            ));
        };
        let class = o.get("/spec/storageClassName").and_then(Value::as_str);
        let (class, text) = self.storage_class_text(class);
        let gib = bytes / GIB;
        let monthly = gib * self.prices.storage_price(class.as_deref());
        let mut w = self.item(o);
        w.storage_gib = round_gib(gib);
        w.monthly = round_cents(monthly);
        w.monthly_max = w.monthly;
        w.assumptions.push(format!("{} GiB requested, {text}", trim(round_gib(gib))));
        Priced::Yes(w)
    }

    fn price_load_balancer(&self, o: &Object) -> Priced {
        if o.get("/spec/type").and_then(Value::as_str) != Some("LoadBalancer") {
            return Priced::NotACostItem;
        }
        let p = self.prices;
        let mut w = self.item(o);
        w.monthly = round_cents(p.load_balancer_hour * self.settings.hours_per_month);
        w.monthly_max = w.monthly;
        w.assumptions.push(format!(
            "one cloud load balancer at {} per hour; data processing and traffic not included",
            p.money(p.load_balancer_hour)
        ));
        Priced::Yes(w)
    }

    fn price_workload(&self, idx: usize, wl: &Workload<'_>, over: Option<(usize, &Object)>) -> Priced {
        let o = wl.object;
        if self.graph.controller(idx).is_some() {
            // Its controller is in the input: priced there.
            return Priced::NotACostItem;
        }
        let requests = match pod_requests(wl) {
            Ok(r) => r,
            Err(e) => return Priced::No(e.to_string()),
        };
        let pod = requests.total;
        let hours = self.settings.hours_per_month;
        let mut w = self.item(o);
        w.cpu = round_res(pod.cpu);
        w.memory_gib = round_gib(pod.memory / GIB);
        w.gpu = pod.gpu;
        let batch = wl.is_batch();
        // (replicas used, replicas at the top of the range, hours each pod runs)
        let (count, count_max, pod_hours) = if batch {
            let Some(bh) = self.settings.batch_hours_per_month else {
                return Priced::No(
                    "runs to completion: not estimated (set `cost.batch_hours_per_month` to price batch pods)"
                        .to_string(),
                );
            };
            let par_path = match o.kind.as_str() {
                "CronJob" => Some("/spec/jobTemplate/spec/parallelism"),
                "Job" => Some("/spec/parallelism"),
                _ => None,
            };
            let par = par_path.and_then(|p| o.get(p)).and_then(Value::as_i64).map_or(1, u);
            w.assumptions.push(format!(
                "{par} pod{} running {} hours per month (`cost.batch_hours_per_month`)",
                plural(par),
                trim(bh)
            ));
            (par, par, bh)
        } else {
            match o.kind.as_str() {
                "DaemonSet" => match o.get("/status/desiredNumberScheduled").and_then(Value::as_i64) {
                    // A live DaemonSet says how many nodes it runs on.
                    Some(n) => {
                        let n = u(n);
                        w.assumptions.push(format!(
                            "one pod on each of the {n} node{} it is scheduled on (`status.desiredNumberScheduled`)",
                            plural(n)
                        ));
                        (n, n, hours)
                    }
                    None => {
                        let n = u64::from(self.settings.node_count);
                        w.assumptions.push(format!("one pod on each of {n} node{} (`cost.node_count`)", plural(n)));
                        (n, n, hours)
                    }
                },
                "Pod" => (1, 1, hours),
                _ => match self.scaler(idx, o, over) {
                    Some(s) => {
                        let used = if self.settings.autoscaled_replicas == RangeEnd::Min { s.min } else { s.max };
                        w.assumptions.push(format!(
                            "{} `{}` scales it between {} and {} replicas; the total uses {used} ({})",
                            s.kind,
                            s.name,
                            s.min,
                            s.max,
                            self.settings.autoscaled_replicas.as_str()
                        ));
                        (used, s.max, hours)
                    }
                    None => {
                        let n = wl.replicas.map_or(1, u);
                        match o.get("/spec/replicas") {
                            None | Some(Value::Null) => {
                                w.assumptions.push("`replicas` unset: Kubernetes runs 1".to_string());
                            }
                            Some(_) if n == 0 => w.assumptions.push("scaled to 0 replicas".to_string()),
                            Some(_) => w.assumptions.push(format!("{n} replica{}", plural(n))),
                        }
                        (n, n, hours)
                    }
                },
            }
        };
        if requests.any_init_wins() {
            w.assumptions.push(
                "an init container requests more than the running containers: the pod's effective request is the init container's (max rule)"
                    .to_string(),
            );
        }
        let pod_level: Vec<&str> = ["cpu", "memory"].into_iter().filter(|r| requests.from_pod_level(r)).collect();
        if !pod_level.is_empty() {
            w.assumptions.push(format!(
                "the pod-level {} request (`spec.resources`) replaces the containers' requests",
                pod_level.join(" and ")
            ));
        }
        if !requests.overhead.is_zero() {
            w.assumptions.push("the pod overhead (`spec.overhead`) is added to each pod".to_string());
        }
        for c in wl.long_running() {
            let res = c.value.get("resources");
            let has = |r: &str| {
                ["requests", "limits"]
                    .iter()
                    .any(|s| res.and_then(|x| x.get(*s)).and_then(|x| x.get(r)).is_some_and(|v| !v.is_null()))
            };
            let missing: Vec<&str> = [("cpu", "CPU"), ("memory", "memory")]
                .into_iter()
                .filter(|(r, _)| !has(r) && !requests.from_pod_level(r))
                .map(|(_, label)| label)
                .collect();
            if !missing.is_empty() {
                w.assumptions.push(format!(
                    "container `{}` has no {} request or limit: priced at 0 (the real cost is unknown)",
                    c.name(),
                    missing.join(" or ")
                ));
            }
        }
        let pod_monthly = pod.hourly(self.prices) * pod_hours;
        // Claims from volumeClaimTemplates: one set per replica.
        let mut storage_monthly = 0.0;
        let mut storage_gib = 0.0;
        if o.kind == "StatefulSet"
            && let Some(Value::Array(ts)) = o.get("/spec/volumeClaimTemplates")
        {
            for t in ts {
                let tn = t.ptr("/metadata/name").and_then(Value::as_str).unwrap_or("<unnamed>");
                let Some(v) = t.ptr("/spec/resources/requests/storage") else {
                    w.assumptions.push(format!("claim template `{tn}` has no storage request: not priced"));
                    continue;
                };
                let Some(bytes) = Quantity::from_json(v).map(Quantity::value).filter(|b| *b >= 0.0) else {
                    return Priced::No(format!(
                        "volumeClaimTemplates `{tn}` storage request `{}` is not a Kubernetes quantity",
                        crate::model::value_text(v)
                    ));
                };
                let (class, text) = self.storage_class_text(t.ptr("/spec/storageClassName").and_then(Value::as_str));
                let gib = bytes / GIB;
                storage_gib += gib;
                storage_monthly += gib * self.prices.storage_price(class.as_deref());
                w.assumptions.push(format!("claim `{tn}` of {} GiB per replica, {text}", trim(round_gib(gib))));
            }
        }
        let per_replica = pod_monthly + storage_monthly;
        w.storage_gib = round_gib(storage_gib);
        w.replicas = Some(count);
        w.replicas_max = (count_max != count).then_some(count_max);
        w.monthly = round_cents(per_replica * count as f64);
        w.monthly_max = round_cents(per_replica * count_max as f64);
        if pod.is_zero() && storage_gib == 0.0 {
            w.assumptions.push("no container requests CPU, memory or GPUs: estimated at 0".to_string());
        }
        Priced::Yes(w)
    }

    /// The monthly cost of object `idx` and of what it scales, with `replacement` standing in for
    /// it (`None`: as it is). `None` when any of them cannot be priced.
    fn affected_monthly(&self, idx: usize, replacement: Option<&Object>) -> Option<(f64, bool)> {
        let o = self.objects.get(idx)?;
        let subject = replacement.unwrap_or(o);
        let targets: Vec<usize> = match o.kind.as_str() {
            "HorizontalPodAutoscaler" => self.graph.targets(idx, Edge::Scales),
            "ScaledObject" => self
                .lookups
                .scaled_objects
                .iter()
                .filter(|(_, i)| **i == idx)
                .filter_map(|((ns, k, n), _)| self.graph.find(k, Some(ns), n))
                .collect(),
            _ => Vec::new(),
        };
        let mut total = 0.0;
        let mut any = false;
        if targets.is_empty() {
            match self.price(idx, subject, None) {
                Priced::Yes(w) => {
                    total += w.monthly;
                    any = true;
                }
                Priced::No(_) => return None,
                Priced::NotACostItem => {}
            }
        } else {
            for t in targets {
                let to = self.objects.get(t)?;
                match self.price(t, to, Some((idx, subject))) {
                    Priced::Yes(w) => {
                        total += w.monthly;
                        any = true;
                    }
                    Priced::No(_) => return None,
                    Priced::NotACostItem => {}
                }
            }
        }
        Some((total, any))
    }

    /// How applying a fix to object `idx` changes the monthly cost, when it does.
    #[must_use]
    pub fn fix_impact(&self, idx: usize, fix: &Fix) -> Option<CostImpact> {
        if !fix.ops.iter().any(touches_cost) {
            return None;
        }
        let o = self.objects.get(idx)?;
        let cached = self.before.borrow().get(&idx).copied();
        let current = match cached {
            Some(c) => c,
            None => {
                let c = self.affected_monthly(idx, None);
                self.before.borrow_mut().insert(idx, c);
                c
            }
        };
        let (before, priced) = current?;
        if !priced {
            return None;
        }
        let fixed_body = crate::model::apply_ops(&o.body, &fix.ops).ok()?;
        let fixed = Object::from_body(fixed_body, o.origin.clone());
        let (after, _) = self.affected_monthly(idx, Some(&fixed))?;
        let delta = round_cents(after - before);
        (delta != 0.0).then(|| CostImpact {
            currency: self.prices.currency.clone(),
            monthly_before: round_cents(before),
            monthly_after: round_cents(after),
            monthly_delta: delta,
        })
    }
}

/// Fields whose value changes what an object costs.
const COST_FIELDS: [&str; 11] = [
    "resources",
    "replicas",
    "minReplicas",
    "maxReplicas",
    "minReplicaCount",
    "maxReplicaCount",
    "volumeClaimTemplates",
    "storageClassName",
    "parallelism",
    "scaleTargetRef",
    "overhead",
];

/// Whether an operation may change what an object costs (so the fix is worth pricing).
fn touches_cost(op: &FixOp) -> bool {
    fn value_has(v: &Value) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, x)| {
                COST_FIELDS.contains(&k.as_str())
                    || matches!(k.as_str(), "containers" | "initContainers")
                    || value_has(x)
            }),
            Value::Array(a) => a.iter().any(value_has),
            _ => false,
        }
    }
    let (path, value) = match op {
        FixOp::Add { path, value } | FixOp::Replace { path, value } => (path, Some(&**value)),
        FixOp::Remove { path } => (path, None),
        // A new object (a PodDisruptionBudget) is not priced.
        FixOp::Create { .. } => return false,
    };
    // Borrowed segments: every fix of an audit is asked this.
    let segs: Vec<std::borrow::Cow<'_, str>> = crate::yaml::pointer_segments_cow(path).collect();
    let whole_container =
        segs.iter().rposition(|s| s == "containers" || s == "initContainers").is_some_and(|i| segs.len() <= i + 2);
    // Whole specs or templates, and a Service's `/spec/type`.
    let above_pod_spec = segs.last().is_none_or(|s| matches!(s.as_ref(), "spec" | "template" | "jobTemplate"))
        || segs == ["spec", "type"];
    // A whole Service spec may change its type to LoadBalancer.
    let service_type = segs == ["spec"] && value.and_then(|v| v.get("type")).is_some();
    segs.iter().any(|s| COST_FIELDS.contains(&s.as_ref()))
        || whole_container
        || above_pod_spec
        || service_type
        || value.is_some_and(value_has)
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn round_gib(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn round_res(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A number without trailing zeros (`730`, `0.5`).
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Estimates the cost of every object.
#[must_use]
pub fn estimate(objects: &[Object], graph: &Graph, prices: &PriceModel, settings: &CostSettings) -> CostReport {
    Estimator::new(objects, graph, prices, settings).report()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn which_fix_operations_are_priced() {
        let replace = |p: &str, v: Value| FixOp::Replace { path: p.to_string(), value: v.into() };
        let add = |p: &str, v: Value| FixOp::Add { path: p.to_string(), value: v.into() };
        assert!(touches_cost(&replace("/spec/replicas", json!(2))));
        assert!(touches_cost(&add("/spec/template/spec/containers/0/resources/requests/cpu", json!("100m"))));
        assert!(touches_cost(&add("/spec/template/spec/containers/0", json!({"name": "x"}))));
        assert!(touches_cost(&add("/spec/minReplicas", json!(2))));
        assert!(touches_cost(&replace("/spec/type", json!("ClusterIP"))));
        assert!(touches_cost(&add("/spec/template/spec/containers/0/x", json!({"resources": {}}))));
        assert!(!touches_cost(&add("/spec/template/spec/containers/0/securityContext/privileged", json!(false))));
        assert!(!touches_cost(&add(
            "/spec/template/spec/securityContext/seccompProfile/type",
            json!("RuntimeDefault")
        )));
        assert!(!touches_cost(&FixOp::Remove { path: "/spec/template/spec/hostNetwork".to_string() }));
    }

    #[test]
    fn rounding() {
        assert!((round_cents(1.005_000_1) - 1.01).abs() < 1e-9);
        assert_eq!(round_cents(-0.001).to_bits(), 0.0f64.to_bits());
        assert_eq!(round_cents(f64::NAN), 0.0);
    }
}
