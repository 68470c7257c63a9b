//! Rules about manifests Kubernetes would reject or read differently.

use crate::rules::Rule;

pub mod invalid_field;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[&invalid_field::InvalidField];
