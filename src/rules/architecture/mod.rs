//! Rules about how objects fit together.

use crate::rules::Rule;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[];
