//! The record of a remediation (`remediation` in the JSON audit): the plan, and every step
//! `clustergpt remediate` took on each object, with its time. Data only; the command that fills
//! it is `remediate`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Applicability, ObjectRef};

/// What a run did, step by step (`remediation` in the JSON audit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Remediation {
    /// `plan`, `dry-run`, `apply`, `rollback` or `fix-pr`.
    pub mode: String,
    /// The cluster (kubeconfig context) the objects were read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub finished_at: String,
    /// The directory the backups of this run went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_dir: Option<String>,
    /// One entry per object, in plan order.
    pub items: Vec<Item>,
    /// Fixes left out of the plan, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// What `--open-fix-pr` did with the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    /// Things a reader must know (`--force-live` on managed objects, limits reached).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One object to patch: its fixes as one patch, and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The object.
    pub object: ObjectRef,
    /// The fixes combined into the patch.
    pub fixes: Vec<PlannedFix>,
    /// `strategic` (strategic merge patch, built-in kinds) or `merge` (JSON merge patch).
    pub patch_type: String,
    /// The patch body.
    pub patch: Value,
    /// The GitOps tool that manages the object (its live changes would be reverted), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    /// Where the item stands: `planned`, `dry-run-ok`, `dry-run-not-possible`, `dry-run-failed`,
    /// `not-applied`, `applied`, `verified`, `verify-failed`, `rolled-back`, `rollback-failed`.
    pub status: String,
    /// Why it stands there, in a sentence (server messages verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the dry run would change, field by field (server-populated fields ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<Change>,
    /// The backup file written before the patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// Every step, in order, with its time.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// One fix of an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedFix {
    /// Rule id.
    pub rule: String,
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// The fix's title.
    pub title: String,
    /// Safe or unsafe.
    pub applicability: Applicability,
}

/// A fix that is not in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Rule id.
    pub rule: String,
    /// `Kind/namespace/name`.
    pub object: String,
    /// The fix's title.
    pub title: String,
    /// Why it was left out, and what would include it.
    pub reason: String,
}

/// One field the patch changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// JSON pointer.
    pub path: String,
    /// The live value (absent: the field is added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The value after the patch (absent: the field is removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// One recorded step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// When it ended (RFC 3339, UTC).
    pub at: String,
    /// `plan`, `dry-run`, `backup`, `patch`, `verify`, `rollback`, `verify-rollback`, ...
    pub step: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// What happened.
    pub detail: String,
}

impl Item {
    /// Records a step that ended at `at`.
    pub fn step_at(&mut self, at: String, step: &str, ok: bool, detail: impl Into<String>) {
        self.steps.push(Step { at, step: step.to_string(), ok, detail: detail.into() });
    }

    /// Sets the status and its reason.
    pub fn set(&mut self, status: &str, reason: Option<String>) {
        self.status = status.to_string();
        self.reason = reason;
    }
}
