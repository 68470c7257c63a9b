//! What one pod asks the scheduler for, computed the way Kubernetes computes it.
//!
//! One function, [`pod_requests`], serves the cost estimate and the rules (CST001, CST002), so a
//! report and a finding never disagree about the same pod. Per resource:
//! - a container's request is its `requests` value, else its `limits` value (the API server
//!   defaults the request to the limit);
//! - the containers need the larger of the sum of regular containers and sidecars (init
//!   containers with `restartPolicy: Always`) and, for each init container in order, its request
//!   plus the sidecars started before it;
//! - a pod-level `spec.resources.requests` value (CPU and memory only) replaces that; a pod-level
//!   limit stands in for the request when no container requests the resource (API defaulting);
//! - `spec.overhead` (set from the RuntimeClass) is added.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::quantity::Quantity;
use crate::workload::{Container, Workload};
use crate::yaml::PointerExt;

/// Resource amounts of one pod or container.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PodResources {
    /// vCPUs.
    pub cpu: f64,
    /// Bytes of memory.
    pub memory: f64,
    /// GPUs (every `*/gpu` resource and `gpu.intel.com/*`).
    pub gpu: f64,
}

impl PodResources {
    /// Adds another amount, per resource.
    pub fn add(&mut self, o: PodResources) {
        self.cpu += o.cpu;
        self.memory += o.memory;
        self.gpu += o.gpu;
    }

    /// Keeps the larger amount, per resource.
    pub fn max(&mut self, o: PodResources) {
        self.cpu = self.cpu.max(o.cpu);
        self.memory = self.memory.max(o.memory);
        self.gpu = self.gpu.max(o.gpu);
    }

    /// Whether nothing is requested.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.cpu == 0.0 && self.memory == 0.0 && self.gpu == 0.0
    }

    /// The amount of `cpu` or `memory` (`gpu` for the GPU count), 0 for anything else.
    #[must_use]
    pub fn get(&self, resource: &str) -> f64 {
        match resource {
            "cpu" => self.cpu,
            "memory" => self.memory,
            "gpu" => self.gpu,
            _ => 0.0,
        }
    }

    fn slot(&mut self, resource: &str) -> Option<&mut f64> {
        match resource {
            "cpu" => Some(&mut self.cpu),
            "memory" => Some(&mut self.memory),
            r if is_gpu_resource(r) => Some(&mut self.gpu),
            _ => None,
        }
    }
}

/// Whether a resource name counts GPUs (`nvidia.com/gpu`, `amd.com/gpu`, `gpu.intel.com/i915`).
#[must_use]
pub fn is_gpu_resource(name: &str) -> bool {
    name.ends_with("/gpu") || name.starts_with("gpu.intel.com/")
}

/// Whether a resource name is an accelerator that only special nodes offer: GPUs, TPUs
/// (`google.com/tpu`), AWS Neuron and Habana Gaudi devices.
#[must_use]
pub fn is_accelerator_resource(name: &str) -> bool {
    is_gpu_resource(name)
        || name.ends_with("/tpu")
        || name.starts_with("aws.amazon.com/neuron")
        || name.starts_with("habana.ai/")
}

/// A resource quantity Kubernetes would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} is `{value}`, not a Kubernetes quantity")]
pub struct QuantityError {
    /// JSON pointer of the field.
    pub path: String,
    /// The value as written.
    pub value: String,
}

/// Reads a non-negative quantity at `path` of `base`.
fn quantity(v: &Value, path: String) -> Result<f64, QuantityError> {
    Quantity::from_json(v)
        .map(Quantity::value)
        .filter(|q| *q >= 0.0)
        .ok_or_else(|| QuantityError { path, value: crate::model::value_text(v) })
}

/// One container's effective request: `requests`, else `limits`, per resource.
///
/// # Errors
/// The field and value of a quantity Kubernetes would reject.
pub fn container_requests(c: &Container<'_>) -> Result<PodResources, QuantityError> {
    let mut r = PodResources::default();
    let requests = c.value.ptr("/resources/requests").and_then(Value::as_object);
    let limits = c.value.ptr("/resources/limits").and_then(Value::as_object);
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for m in [requests, limits].into_iter().flatten() {
        names.extend(m.keys().map(String::as_str));
    }
    for name in names {
        let (section, v) = match requests.and_then(|m| m.get(name)).filter(|v| !v.is_null()) {
            Some(v) => ("requests", v),
            None => match limits.and_then(|m| m.get(name)).filter(|v| !v.is_null()) {
                Some(v) => ("limits", v),
                None => continue,
            },
        };
        let Some(target) = r.slot(name) else { continue };
        let path = c.field(&format!("/resources/{section}/{}", crate::yaml::escape_segment(name)));
        *target += quantity(v, path)?;
    }
    Ok(r)
}

/// The effective requests of one pod of a workload, and where they come from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PodRequests {
    /// What the scheduler reserves for the pod: the fields below combined.
    pub total: PodResources,
    /// Regular containers and sidecars, summed.
    pub running: PodResources,
    /// The most that init containers need at once (each with the sidecars started before it).
    pub init_peak: PodResources,
    /// Pod-level `spec.resources` values (requests, or limits standing in for them) that replace the
    /// container figures; 0 where unset.
    pub pod_level: PodResources,
    /// `spec.overhead`.
    pub overhead: PodResources,
}

impl PodRequests {
    /// Whether pod-level `spec.resources` sets `resource` (`cpu` or `memory`).
    #[must_use]
    pub fn from_pod_level(&self, resource: &str) -> bool {
        self.pod_level.get(resource) > 0.0
    }

    /// Whether an init container's peak, not the running containers, sets `resource`.
    #[must_use]
    pub fn init_wins(&self, resource: &str) -> bool {
        !self.from_pod_level(resource) && self.init_peak.get(resource) > self.running.get(resource)
    }

    /// Whether an init container sets any resource.
    #[must_use]
    pub fn any_init_wins(&self) -> bool {
        ["cpu", "memory", "gpu"].into_iter().any(|r| self.init_wins(r))
    }
}

/// The effective requests of one pod of a workload (see the module docs for the rules).
///
/// # Errors
/// The field and value of a quantity Kubernetes would reject.
pub fn pod_requests(w: &Workload<'_>) -> Result<PodRequests, QuantityError> {
    let mut running = PodResources::default();
    let mut sidecars = PodResources::default();
    let mut init_peak = PodResources::default();
    // `containers()` lists regular containers first, then init containers in start order.
    for c in w.containers() {
        let r = container_requests(&c)?;
        if c.is_sidecar() {
            running.add(r);
            sidecars.add(r);
            init_peak.max(sidecars);
        } else if c.is_long_running() {
            running.add(r);
        } else {
            let mut with_sidecars = r;
            with_sidecars.add(sidecars);
            init_peak.max(with_sidecars);
        }
    }
    let mut containers = running;
    containers.max(init_peak);
    let mut pod_level = PodResources::default();
    for resource in ["cpu", "memory"] {
        let read = |section: &str| -> Result<Option<f64>, QuantityError> {
            let rel = format!("/resources/{section}/{resource}");
            w.spec(&rel).filter(|v| !v.is_null()).map(|v| quantity(v, w.spec_field(&rel))).transpose()
        };
        // A pod-level limit becomes the request only when no container requests the resource.
        let value = match read("requests")? {
            Some(v) => Some(v),
            None if containers.get(resource) == 0.0 => read("limits")?,
            None => None,
        };
        if let (Some(v), Some(slot)) = (value, pod_level.slot(resource)) {
            *slot = v;
        }
    }
    let mut overhead = PodResources::default();
    if let Some(Value::Object(m)) = w.spec("/overhead") {
        for (name, v) in m {
            if let Some(slot) = overhead.slot(name) {
                *slot += quantity(v, w.spec_field(&format!("/overhead/{}", crate::yaml::escape_segment(name))))?;
            }
        }
    }
    let mut total = containers;
    for resource in ["cpu", "memory"] {
        if pod_level.get(resource) > 0.0
            && let Some(slot) = total.slot(resource)
        {
            *slot = pod_level.get(resource);
        }
    }
    total.add(overhead);
    Ok(PodRequests { total, running, init_peak, pod_level, overhead })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Object, Origin};
    use serde_json::json;

    const GI: f64 = 1024.0 * 1024.0 * 1024.0;
    const MI: f64 = 1024.0 * 1024.0;

    fn pod(spec: Value) -> Object {
        Object::from_body(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}),
            Origin::File { path: "p.yaml".into(), document: 0, prefix: String::new() },
        )
    }

    fn requests(spec: Value) -> Result<PodRequests, QuantityError> {
        let o = pod(spec);
        let w = Workload::of(&o).ok_or_else(|| QuantityError { path: "-".into(), value: "-".into() })?;
        pod_requests(&w)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn regular_containers_sum_and_limits_stand_in_for_requests() {
        let r = requests(json!({"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
            {"name": "b", "resources": {"limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 2}}}
        ]}))
        .unwrap();
        assert!(close(r.total.cpu, 1.25));
        assert!(close(r.total.memory, 256.0 * MI + GI));
        assert!(close(r.total.gpu, 2.0));
        assert!(!r.any_init_wins());
    }

    #[test]
    fn init_containers_by_the_max_rule_with_sidecars_started_before_them() {
        // Running: app 1 CPU + sidecar 0.5 = 1.5. Init peaks: setup 1 (before the sidecar),
        // migrate 2 + sidecar 0.5 = 2.5. Effective: max(1.5, 2.5) = 2.5 CPU.
        // Memory: running 512Mi + 128Mi = 640Mi; init peaks 1Gi and 256Mi + 128Mi: 1Gi wins.
        let r = requests(json!({
            "initContainers": [
                {"name": "setup", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
                {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}}},
                {"name": "migrate", "resources": {"requests": {"cpu": "2", "memory": "256Mi"}}}
            ],
            "containers": [{"name": "app", "resources": {"requests": {"cpu": "1", "memory": "512Mi"}}}]
        }))
        .unwrap();
        assert!(close(r.running.cpu, 1.5));
        assert!(close(r.init_peak.cpu, 2.5));
        assert!(close(r.total.cpu, 2.5));
        assert!(close(r.total.memory, GI));
        assert!(r.init_wins("cpu") && r.init_wins("memory"));
    }

    #[test]
    fn pod_level_requests_replace_the_container_sum_and_overhead_is_added() {
        // CPU: pod-level 4 replaces the containers' 1, plus 250m overhead = 4.25.
        // Memory: no pod-level value: containers' 2Gi plus 120Mi overhead.
        let r = requests(json!({
            "resources": {"requests": {"cpu": "4"}},
            "overhead": {"cpu": "250m", "memory": "120Mi"},
            "containers": [{"name": "app", "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}]
        }))
        .unwrap();
        assert!(close(r.total.cpu, 4.25));
        assert!(close(r.total.memory, 2.0 * GI + 120.0 * MI));
        assert!(r.from_pod_level("cpu") && !r.from_pod_level("memory"));
    }

    #[test]
    fn pod_level_limit_is_the_request_only_when_no_container_requests() {
        let r = requests(json!({
            "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
            "containers": [{"name": "app", "resources": {"requests": {"memory": "1Gi"}}}]
        }))
        .unwrap();
        assert!(close(r.total.cpu, 2.0));
        assert!(close(r.total.memory, GI));
    }

    #[test]
    fn invalid_quantities_name_their_field() {
        let e =
            requests(json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "lots"}}}]})).unwrap_err();
        assert_eq!(e.path, "/spec/containers/0/resources/requests/cpu");
        assert_eq!(e.to_string(), "/spec/containers/0/resources/requests/cpu is `lots`, not a Kubernetes quantity");
        let e = requests(json!({"overhead": {"memory": "-1Gi"}, "containers": [{"name": "a"}]})).unwrap_err();
        assert_eq!(e.path, "/spec/overhead/memory");
    }

    #[test]
    fn accelerators() {
        for n in ["nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "google.com/tpu", "aws.amazon.com/neuroncore"]
        {
            assert!(is_accelerator_resource(n), "{n}");
        }
        assert!(!is_accelerator_resource("ephemeral-storage"));
        assert!(!is_gpu_resource("google.com/tpu"));
    }
}
