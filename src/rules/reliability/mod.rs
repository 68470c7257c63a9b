//! Availability and resilience rules.

use crate::rules::Rule;

pub mod missing_requests;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[&missing_requests::MissingRequests];
