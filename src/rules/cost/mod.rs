//! Spend and efficiency rules.

use crate::rules::{Rule, container_resource};
use crate::workload::{Container, Workload};

pub mod high_cpu_without_hpa;
pub mod limits_far_above_requests;
pub mod pvc_without_storage_class;
pub mod requests_exceed_node;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[
    &requests_exceed_node::RequestsExceedNode,
    &high_cpu_without_hpa::HighCpuWithoutHpa,
    &pvc_without_storage_class::PvcWithoutStorageClass,
    &limits_far_above_requests::LimitsFarAboveRequests,
];

/// A container's effective request for a resource: the request, or the limit when only the limit
/// is set (Kubernetes defaults the request to the limit), or 0.
#[must_use]
pub fn effective_request(c: &Container<'_>, resource: &str) -> f64 {
    container_resource(c, "requests", resource)
        .or_else(|| container_resource(c, "limits", resource))
        .map_or(0.0, |q| q.value())
}

/// What the scheduler reserves for one pod of the workload, as Kubernetes computes it:
/// the larger of (regular containers + sidecars) and, for each init container in order, its request
/// plus the sidecars started before it; plus `spec.overhead`. Pod-level `spec.resources.requests`
/// replaces the container sum for that resource when set.
#[must_use]
pub fn pod_request(w: &Workload<'_>, resource: &str) -> f64 {
    let pod_level = w
        .spec(&format!("/resources/requests/{resource}"))
        .and_then(crate::quantity::Quantity::from_json)
        .map(|q| q.value());
    let mut running = 0.0;
    let mut sidecars = 0.0;
    let mut init_peak: f64 = 0.0;
    for c in w.containers() {
        let r = effective_request(&c, resource);
        if c.is_sidecar() {
            sidecars += r;
        } else if c.is_long_running() {
            running += r;
        } else {
            init_peak = init_peak.max(r + sidecars);
        }
    }
    let containers = (running + sidecars).max(init_peak);
    let overhead = w
        .spec(&format!("/overhead/{resource}"))
        .and_then(crate::quantity::Quantity::from_json)
        .map_or(0.0, |q| q.value());
    pod_level.unwrap_or(containers) + overhead
}
