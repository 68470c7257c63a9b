//! Spend and efficiency rules.

use crate::resources::container_requests;
use crate::rules::Rule;
use crate::workload::Container;

pub mod high_cpu_without_hpa;
pub mod limits_far_above_requests;
pub mod pvc_without_storage_class;
pub mod requests_exceed_node;
pub mod right_size;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[
    &requests_exceed_node::RequestsExceedNode,
    &high_cpu_without_hpa::HighCpuWithoutHpa,
    &pvc_without_storage_class::PvcWithoutStorageClass,
    &limits_far_above_requests::LimitsFarAboveRequests,
    &right_size::RightSize,
];

/// A container's effective request for `cpu` or `memory`: the request, or the limit when only the
/// limit is set (Kubernetes defaults the request to the limit), or 0 (also for a quantity Kubernetes
/// would reject, which the estimate reports).
#[must_use]
pub fn effective_request(c: &Container<'_>, resource: &str) -> f64 {
    container_requests(c).map_or(0.0, |r| r.get(resource))
}
