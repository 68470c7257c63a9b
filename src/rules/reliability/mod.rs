//! Availability and resilience rules.

use crate::rules::Rule;

pub mod common;
pub mod default_namespace;
pub mod duplicate_env_keys;
pub mod hpa_cannot_scale;
pub mod hpa_min_replicas;
pub mod image_pull_policy;
pub mod missing_cpu_limit;
pub mod missing_cpu_request;
pub mod missing_liveness_probe;
pub mod missing_memory_limit;
pub mod missing_memory_request;
pub mod missing_pdb;
pub mod missing_priority_class;
pub mod missing_readiness_probe;
pub mod mutable_image_tag;
pub mod naked_pod;
pub mod no_anti_affinity_or_spread;
pub mod pdb_allows_no_disruption;
pub mod pdb_min_available_above_hpa_min;
pub mod single_replica;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[
    &missing_cpu_request::MissingCpuRequest,
    &missing_memory_request::MissingMemoryRequest,
    &missing_cpu_limit::MissingCpuLimit,
    &missing_memory_limit::MissingMemoryLimit,
    &missing_readiness_probe::MissingReadinessProbe,
    &missing_liveness_probe::MissingLivenessProbe,
    &single_replica::SingleReplica,
    &mutable_image_tag::MutableImageTag,
    &image_pull_policy::ImagePullPolicy,
    &missing_pdb::MissingPdb,
    &pdb_allows_no_disruption::PdbAllowsNoDisruption,
    &no_anti_affinity_or_spread::NoAntiAffinityOrSpread,
    &missing_priority_class::MissingPriorityClass,
    &naked_pod::NakedPod,
    &hpa_min_replicas::HpaMinReplicas,
    &hpa_cannot_scale::HpaCannotScale,
    &pdb_min_available_above_hpa_min::PdbMinAvailableAboveHpaMin,
    &duplicate_env_keys::DuplicateEnvKeys,
    &default_namespace::DefaultNamespace,
];
