//! `clustergpt remediate`: ClusterGPT's own deterministic fixes applied to a live cluster, proven
//! first by a server-side dry run, backed up, verified, and rolled back when verification fails;
//! or, for objects Argo CD, Flux or Helm manage, proposed to Git as a pull request instead.
//!
//! [`plan`] is pure (audit → patches); [`apply`] talks to the API server (dry run, patch, restore);
//! [`backup`] writes and reads the backups; [`verify`] watches the rollout and re-runs the
//! diagnosis. Every step is recorded in a [`Remediation`] (`crate::remediation`, data only) with
//! its time, which the JSON audit and the Markdown report carry under `remediation`.

pub mod apply;
pub mod backup;
pub mod cli;
pub mod gitops;
pub mod plan;
pub mod verify;

pub use crate::remediation::{Change, Item, PlannedFix, Remediation, Skipped, Step};

/// The field manager every write is sent with, so `managedFields` name who changed what.
pub const FIELD_MANAGER: &str = "clustergpt";

/// Steps recorded at the current time (the clock is the front-end's, not the record's).
pub trait Record {
    /// Records a step that ends now.
    fn step(&mut self, step: &str, ok: bool, detail: impl Into<String>);
}

impl Record for Item {
    fn step(&mut self, step: &str, ok: bool, detail: impl Into<String>) {
        self.step_at(crate::settings::now_utc(), step, ok, detail);
    }
}
