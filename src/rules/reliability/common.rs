//! Helpers shared by the reliability rules: autoscalers, replica counts, PDB budgets, images.

use serde_json::{Value, json};

use crate::graph::Edge;
use crate::model::{Applicability, Evidence, Fix, FixOp, Object, value_text};
use crate::quantity::Quantity;
use crate::rules::{Context, Violation};
use crate::workload::{Container, ContainerKind, Workload, selector_matches};

/// An autoscaler that owns a workload's replica count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoscaler {
    /// Index of the autoscaler object.
    pub idx: usize,
    /// Its floor (`minReplicas`, defaulted as Kubernetes / KEDA do).
    pub min: i64,
    /// Its ceiling, when set.
    pub max: Option<i64>,
}

/// The HPA (or KEDA ScaledObject) that scales object `idx`, if any; the first one in input order.
#[must_use]
pub fn autoscaler(cx: &Context<'_>, idx: usize) -> Option<Autoscaler> {
    let hpa = cx
        .graph
        .sources(idx, Edge::Scales)
        .into_iter()
        .find(|&i| cx.object(i).is_some_and(|o| o.kind == "HorizontalPodAutoscaler"));
    if let Some(i) = hpa {
        let o = cx.object(i)?;
        return Some(Autoscaler { idx: i, min: hpa_min(o), max: o.get("/spec/maxReplicas").and_then(Value::as_i64) });
    }
    // KEDA creates the HPA in the cluster; in manifests only the ScaledObject is there.
    let i = cx
        .graph
        .sources(idx, Edge::Scales)
        .into_iter()
        .find(|&i| cx.object(i).is_some_and(|o| o.kind == "ScaledObject"))?;
    let o = cx.object(i)?;
    Some(Autoscaler {
        idx: i,
        min: o.get("/spec/minReplicaCount").and_then(Value::as_i64).unwrap_or(0),
        max: Some(o.get("/spec/maxReplicaCount").and_then(Value::as_i64).unwrap_or(100)),
    })
}

/// An HPA's `minReplicas`, 1 when unset (the Kubernetes default).
#[must_use]
pub fn hpa_min(hpa: &Object) -> i64 {
    hpa.get("/spec/minReplicas").and_then(Value::as_i64).unwrap_or(1)
}

/// The one "controlled by" helper, re-exported for the reliability rules.
pub use crate::workload::is_controlled;

/// Kinds that keep a fixed number of identical, long-running pods (Deployment, StatefulSet,
/// ReplicaSet, ReplicationController, Rollout, DeploymentConfig).
#[must_use]
pub fn is_replicated(kind: &str) -> bool {
    crate::kinds::WORKLOAD_KINDS.iter().any(|k| k.kind == kind && k.replicated)
}

/// The most pods a replicated workload runs: `spec.replicas`, or the autoscaler's ceiling.
/// `None` for kinds without a replica count and for ReplicaSets a Deployment owns.
#[must_use]
pub fn max_pods(cx: &Context<'_>, w: &Workload<'_>, idx: usize) -> Option<i64> {
    if !is_replicated(&w.object.kind) || is_controlled(w.object) {
        return None;
    }
    match autoscaler(cx, idx) {
        Some(a) => Some(a.max.unwrap_or(a.min).max(a.min)),
        None => w.replicas,
    }
}

/// An `IntOrString` budget field of a PodDisruptionBudget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// An absolute number of pods.
    Count(i64),
    /// A percentage of the expected pods.
    Percent(f64),
}

impl Budget {
    /// Reads `minAvailable` / `maxUnavailable`; `None` when unset or malformed.
    #[must_use]
    pub fn of(v: Option<&Value>) -> Option<Budget> {
        match v? {
            Value::Number(n) => n.as_i64().map(Budget::Count),
            Value::String(s) => {
                let p = s.trim().strip_suffix('%')?;
                p.trim().parse::<f64>().ok().filter(|x| x.is_finite()).map(Budget::Percent)
            }
            _ => None,
        }
    }

    /// The number of pods it stands for out of `expected`, rounded up as the disruption controller does.
    #[must_use]
    pub fn scaled(self, expected: i64) -> i64 {
        match self {
            Budget::Count(n) => n,
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            Budget::Percent(p) => (p * expected as f64 / 100.0).ceil() as i64,
        }
    }

    /// Whether it is zero (`0` or `0%`).
    #[must_use]
    pub fn is_zero(self) -> bool {
        match self {
            Budget::Count(n) => n <= 0,
            Budget::Percent(p) => p <= 0.0,
        }
    }
}

/// The replicated workloads a PodDisruptionBudget protects, with their pod floor
/// (`spec.replicas`, or the autoscaler's `minReplicas`) and their autoscaler.
/// `None` when it protects nothing, or a pod whose count is unknown here (DaemonSet, Job).
#[must_use]
pub fn protected_floor(cx: &Context<'_>, pdb_idx: usize) -> Option<(Vec<usize>, i64, Vec<Autoscaler>)> {
    let targets = cx.graph.targets(pdb_idx, Edge::Protects);
    if targets.is_empty() {
        return None;
    }
    let mut floor = 0;
    let mut scalers = Vec::new();
    let mut counted = Vec::new();
    for t in targets {
        let o = cx.object(t)?;
        if cx.graph.controller(t).is_some() {
            // Pods and ReplicaSets of a controller that is in the input too are counted there.
            continue;
        }
        // The template view: a workload whose template has labels but no pod spec still counts.
        let w = cx.template(t)?;
        if o.kind == "Pod" {
            floor += 1;
        } else if is_replicated(&o.kind) {
            match autoscaler(cx, t) {
                Some(a) => {
                    floor += a.min;
                    scalers.push(a);
                }
                None => floor += w.replicas?,
            }
        } else {
            return None;
        }
        counted.push(t);
    }
    if counted.is_empty() { None } else { Some((counted, floor, scalers)) }
}

/// Where an image stands on pinning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef<'a> {
    /// `name@sha256:...` (with or without a tag).
    Digest,
    /// `name:tag` with a tag other than `latest`.
    Tag(&'a str),
    /// `name:latest`.
    Latest,
    /// No tag at all (Kubernetes pulls `latest`).
    Untagged,
}

/// Parses an image reference: the tag is after the last `:` of the last path component,
/// so a registry port (`localhost:5000/app`) is not a tag.
#[must_use]
pub fn image_ref(image: &str) -> ImageRef<'_> {
    if image.contains('@') {
        return ImageRef::Digest;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, "latest")) => ImageRef::Latest,
        Some((_, "")) | None => ImageRef::Untagged,
        Some((_, tag)) => ImageRef::Tag(tag),
    }
}

/// The image name without its tag (`nginx:latest` → `nginx`).
#[must_use]
pub fn image_repository(image: &str) -> &str {
    let cut = image.rfind('/').map_or(0, |i| i + 1);
    match image[cut..].rfind(':') {
        Some(i) => &image[..cut + i],
        None => image,
    }
}

/// A fix op that sets `path`: `Replace` when the field exists (and is not null), `Add` otherwise.
#[must_use]
pub fn set(o: &Object, path: String, value: Value) -> FixOp {
    if o.get(&path).is_some_and(|v| !v.is_null()) {
        FixOp::Replace { path, value: value.into() }
    } else {
        FixOp::Add { path, value: value.into() }
    }
}

/// Whether a field is missing, null or an empty string (what Polaris and the API treat as unset).
#[must_use]
pub fn is_unset(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

/// The single TCP `containerPort` a container declares, if it declares exactly one.
#[must_use]
pub fn single_tcp_port(c: &Container<'_>) -> Option<i64> {
    let ports = c.get("/ports")?.as_array()?;
    let tcp: Vec<i64> = ports
        .iter()
        .filter(|p| p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == "TCP")
        .filter_map(|p| p.get("containerPort").and_then(Value::as_i64))
        .collect();
    match tcp[..] {
        [port] => Some(port),
        _ => None,
    }
}

/// A placeholder probe for display-only fixes.
#[must_use]
pub fn probe_template() -> Value {
    json!({ "httpGet": { "path": "<HEALTH_PATH>", "port": "<PORT>" } })
}

/// Whether a label selector, possibly null, selects a workload's own pods.
#[must_use]
pub fn selects_own_pods(selector: Option<&Value>, w: &Workload<'_>) -> bool {
    selector.is_some_and(|s| s.is_object() && selector_matches(s, w.pod_labels))
}

/// `requests` or `limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `resources.requests`.
    Requests,
    /// `resources.limits`.
    Limits,
}

/// The shared check of REL001-REL004: every long-running container sets `resources.<section>.<resource>`.
/// A request counts as set when only the limit is (Kubernetes copies the limit into the request).
/// The fix writes `default`, raised to the request for limits so the limit is never below it.
pub fn check_resource(
    cx: &Context<'_>,
    idx: usize,
    section: Section,
    resource: &str,
    default: &str,
    out: &mut Vec<Violation>,
) {
    let Some(w) = cx.workload(idx) else { return };
    let (key, other, noun) = match section {
        Section::Requests => ("requests", "limits", "request"),
        Section::Limits => ("limits", "requests", "limit"),
    };
    let label = if resource == "cpu" { "CPU" } else { "memory" };
    for c in w.long_running() {
        let path = c.field(&format!("/resources/{key}/{resource}"));
        if !is_unset(w.object.get(&path)) {
            continue;
        }
        let other_path = c.field(&format!("/resources/{other}/{resource}"));
        let other_value = w.object.get(&other_path).filter(|v| !is_unset(Some(v)));
        if section == Section::Requests && other_value.is_some() {
            continue;
        }
        let mut value = Value::String(default.to_string());
        if section == Section::Limits
            && let Some(req) = other_value
            && let (Some(rq), Some(def)) = (Quantity::from_json(req), Quantity::parse(default))
            && rq.0 > def.0
        {
            value = req.clone();
        }
        let (title, note) = match (section, resource) {
            (Section::Requests, _) => (
                format!("Request {} {label}", value_text(&value)),
                "changes scheduling and cost; set it from observed usage",
            ),
            (Section::Limits, "cpu") => (
                format!("Limit CPU to {}", value_text(&value)),
                "a container that needs more CPU than its limit is throttled; set it from observed peak usage",
            ),
            (Section::Limits, _) => (
                format!("Limit memory to {}", value_text(&value)),
                "a container that uses more memory than its limit is OOM-killed; set it from observed peak usage",
            ),
        };
        let mut v = Violation::new(&path, format!("container `{}` has no {label} {noun}", c.name()))
            .evidence(Evidence::unset(&path))
            .fix(Fix::new(title, Applicability::Unsafe, vec![set(w.object, path.clone(), value)]).with_note(note));
        if let Some(o) = other_value {
            v = v.evidence(Evidence::field(&other_path, o));
        }
        out.push(v);
    }
}

/// The shared check of REL005/REL006: every regular container of a long-running workload sets `probe`
/// (`readinessProbe` or `livenessProbe`). Jobs, CronJobs, run-to-completion Pods and init containers
/// are not checked.
pub fn check_probe(cx: &Context<'_>, idx: usize, probe: &str, out: &mut Vec<Violation>) {
    let Some(w) = cx.workload(idx) else { return };
    if w.is_batch() {
        return;
    }
    let kind = if probe == "readinessProbe" { "readiness" } else { "liveness" };
    for c in w.containers().filter(|c| c.kind == ContainerKind::Regular) {
        let path = c.field(&format!("/{probe}"));
        if w.object.get(&path).is_some_and(|v| !v.is_null()) {
            continue;
        }
        let fix = match single_tcp_port(&c) {
            Some(port) => Fix::new(
                format!("Add a TCP {kind} probe on port {port}"),
                Applicability::Unsafe,
                vec![FixOp::Add { path: path.clone(), value: json!({ "tcpSocket": { "port": port } }).into() }],
            )
            .with_note(if kind == "readiness" {
                "an open port is not the same as ready to serve; prefer an HTTP or gRPC check the app answers \
                 only when it can serve, and tune the timings"
            } else {
                "a slow-starting app is restarted if the port is not open within about 30 s; add a startupProbe \
                 or initialDelaySeconds if it needs longer"
            }),
            None => Fix::new(
                format!("Add a {kind} probe"),
                Applicability::DisplayOnly,
                vec![FixOp::Add { path: path.clone(), value: probe_template().into() }],
            )
            .with_note(
                "replace <HEALTH_PATH> and <PORT> with an endpoint the app serves, or use tcpSocket, grpc or exec",
            ),
        };
        out.push(
            Violation::new(&path, format!("container `{}` has no {kind} probe", c.name()))
                .evidence(Evidence::unset(&path))
                .fix(fix),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_image_refs() {
        assert_eq!(image_ref("nginx"), ImageRef::Untagged);
        assert_eq!(image_ref("nginx:latest"), ImageRef::Latest);
        assert_eq!(image_ref("nginx:1.27"), ImageRef::Tag("1.27"));
        assert_eq!(image_ref("localhost:5000/app"), ImageRef::Untagged);
        assert_eq!(image_ref("localhost:5000/app:v2"), ImageRef::Tag("v2"));
        assert_eq!(image_ref("nginx@sha256:abcd"), ImageRef::Digest);
        assert_eq!(image_ref("nginx:1.27@sha256:abcd"), ImageRef::Digest);
        assert_eq!(image_repository("localhost:5000/app:v2"), "localhost:5000/app");
        assert_eq!(image_repository("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(image_repository("nginx:latest"), "nginx");
    }

    #[test]
    fn budgets_round_up() {
        assert_eq!(Budget::of(Some(&json!("90%"))).map(|b| b.scaled(5)), Some(5));
        assert_eq!(Budget::of(Some(&json!("50%"))).map(|b| b.scaled(5)), Some(3));
        assert_eq!(Budget::of(Some(&json!(2))).map(|b| b.scaled(5)), Some(2));
        assert!(Budget::of(Some(&json!("0%"))).is_some_and(Budget::is_zero));
        assert_eq!(Budget::of(Some(&json!("two"))), None);
    }
}
