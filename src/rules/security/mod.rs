//! Attack surface and least-privilege rules.

use crate::rules::Rule;

pub mod privileged;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[&privileged::PrivilegedContainer];
