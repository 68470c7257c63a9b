//! ClusterGPT: audits Kubernetes manifests and clusters.
//!
//! The pipeline is sources → objects → graph → rules → audit → outputs (see ARCHITECTURE.md).
//! Everything between sources and outputs is pure: no I/O, no clock, no network.

pub mod audit;
pub mod baseline;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod cost;
pub mod coverage;
pub mod diff;
pub mod explain;
pub mod fix;
pub mod fix_built;
pub mod git;
pub mod github;
pub mod graph;
pub mod http;
pub mod kinds;
pub mod link;
pub mod model;
pub mod quantity;
pub mod remediate;
pub mod remediation;
pub mod report;
pub mod resources;
pub mod rules;
pub mod settings;
pub mod source;
pub mod workload;
pub mod yaml;
