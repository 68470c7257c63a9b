//! Live failures: why a workload is failing, diagnosed from status and events.
//!
//! One rule per class of `../shared/live.md` (the `class` values are a contract). Every rule
//! reports on the top-most controller in the input and aggregates its pods, so a replaced pod is
//! the same incident (the fingerprint keys on owner, rule and path, never on the pod name).

use crate::rules::Rule;

pub mod admission_rejected;
pub mod common;
pub mod config_error;
pub mod container_create_error;
pub mod crash_loop;
pub mod create_failed;
pub mod cronjob_not_running;
pub mod evicted;
pub mod hpa_scaling_inactive;
pub mod image_pull;
pub mod ingress_broken;
pub mod init_failing;
pub mod job_failed;
pub mod liveness_failing;
pub mod logs;
pub mod mount_failure;
pub mod node_not_ready;
pub mod node_pressure;
pub mod oom_killed;
pub mod pdb_blocks_disruption;
pub mod preempted;
pub mod pvc_pending;
pub mod readiness_failing;
pub mod resource_pressure;
pub mod rollout_stuck;
pub mod runtime_permission_denied;
pub mod sandbox_failure;
pub mod scheduling_gated;
pub mod service_no_endpoints;
pub mod stuck_terminating;
pub mod unschedulable;
pub mod webhook_unavailable;
pub mod workload_unavailable;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[
    &oom_killed::OomKilled,
    &crash_loop::CrashLoop,
    &image_pull::ImagePull,
    &config_error::ConfigError,
    &container_create_error::ContainerCreateError,
    &unschedulable::Unschedulable,
    &scheduling_gated::SchedulingGated,
    &mount_failure::MountFailure,
    &sandbox_failure::SandboxFailure,
    &readiness_failing::ReadinessFailing,
    &liveness_failing::LivenessFailing,
    &evicted::Evicted,
    &preempted::Preempted,
    &admission_rejected::AdmissionRejected,
    &init_failing::InitFailing,
    &stuck_terminating::StuckTerminating,
    &node_not_ready::NodeNotReady,
    &node_pressure::NodePressure,
    &rollout_stuck::RolloutStuck,
    &create_failed::CreateFailed,
    &workload_unavailable::WorkloadUnavailable,
    &job_failed::JobFailed,
    &cronjob_not_running::CronjobNotRunning,
    &pvc_pending::PvcPending,
    &service_no_endpoints::ServiceNoEndpoints,
    &hpa_scaling_inactive::HpaScalingInactive,
    &ingress_broken::IngressBroken,
    &webhook_unavailable::WebhookUnavailable,
    &pdb_blocks_disruption::PdbBlocksDisruption,
    &resource_pressure::ResourcePressure,
    &runtime_permission_denied::RuntimePermissionDenied,
];

/// The diagnosis class of a rule id (`DIA001` → `oom-killed`).
#[must_use]
pub fn class_of(id: &str) -> Option<&'static str> {
    RULES.iter().zip(CLASSES).find(|(r, _)| r.meta().id == id).map(|(_, c)| *c)
}

/// Every diagnosis class, in rule order.
pub static CLASSES: &[&str] = &[
    oom_killed::CLASS,
    crash_loop::CLASS,
    image_pull::CLASS,
    config_error::CLASS,
    container_create_error::CLASS,
    unschedulable::CLASS,
    scheduling_gated::CLASS,
    mount_failure::CLASS,
    sandbox_failure::CLASS,
    readiness_failing::CLASS,
    liveness_failing::CLASS,
    evicted::CLASS,
    preempted::CLASS,
    admission_rejected::CLASS,
    init_failing::CLASS,
    stuck_terminating::CLASS,
    node_not_ready::CLASS,
    node_pressure::CLASS,
    rollout_stuck::CLASS,
    create_failed::CLASS,
    workload_unavailable::CLASS,
    job_failed::CLASS,
    cronjob_not_running::CLASS,
    pvc_pending::CLASS,
    service_no_endpoints::CLASS,
    hpa_scaling_inactive::CLASS,
    ingress_broken::CLASS,
    webhook_unavailable::CLASS,
    pdb_blocks_disruption::CLASS,
    resource_pressure::CLASS,
    runtime_permission_denied::CLASS,
];
