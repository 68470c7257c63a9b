//! Rules about manifests Kubernetes would reject or read differently.

use crate::rules::Rule;

pub mod duplicate_key;
pub mod ingress_legacy_backend;
pub mod invalid_field;
pub mod invalid_label;
pub mod missing_name;
pub mod removed_api_version;
pub mod selector_template_mismatch;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[
    &invalid_field::InvalidField,
    &removed_api_version::RemovedApiVersion,
    &missing_name::MissingName,
    &selector_template_mismatch::SelectorTemplateMismatch,
    &invalid_label::InvalidLabel,
    &ingress_legacy_backend::IngressLegacyBackend,
    &duplicate_key::DuplicateKey,
];
