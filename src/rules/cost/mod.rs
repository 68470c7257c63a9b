//! Spend and efficiency rules.

use crate::rules::Rule;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[];
