//! Baselines: the fingerprints of findings a team has accepted for now.
//!
//! `clustergpt baseline write FILE` stores the fingerprints of today's findings;
//! `clustergpt analyze --baseline FILE` then reports only findings that are not in it, and lists
//! baseline entries that no longer match anything (fixed, or the object is gone) so the file can
//! shrink. Fingerprints ignore line numbers, so a baseline survives unrelated edits.
//!
//! Pure: reading and writing the file is the CLI's job.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

// The report types are part of `Audit`, so they live with it (no audit ↔ baseline cycle).
use crate::audit::{self, Audit};
pub use crate::audit::{BaselineEntry, BaselineReport};
use crate::report::object_id;

/// Version of the baseline file format.
pub const BASELINE_VERSION: &str = "1";

/// The baseline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version.
    pub schema_version: String,
    /// Accepted findings, sorted by fingerprint.
    pub findings: Vec<BaselineEntry>,
}

impl Baseline {
    /// The baseline of an audit's findings.
    #[must_use]
    pub fn from_audit(a: &Audit) -> Baseline {
        let mut findings: Vec<BaselineEntry> = a
            .findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.clone(),
                object: object_id(&f.object),
                path: f.location.path.clone(),
            })
            .collect();
        findings.sort();
        findings.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        Baseline { schema_version: BASELINE_VERSION.to_string(), findings }
    }

    /// Reads a baseline file's text.
    ///
    /// # Errors
    /// When the text is not a baseline of a known version.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("not JSON ({e}); write one with `clustergpt baseline write`"))?;
        match v.get("schema_version").and_then(serde_json::Value::as_str) {
            Some(BASELINE_VERSION) => {}
            Some(other) => {
                return Err(format!(
                    "baseline version `{other}` is not supported (this build reads version {BASELINE_VERSION}); rewrite it with `clustergpt baseline write`"
                ));
            }
            None => {
                return Err("no `schema_version`: not a baseline written by `clustergpt baseline write`".to_string());
            }
        }
        serde_json::from_value(v).map_err(|e| format!("malformed baseline: {e}"))
    }

    /// The file's text: pretty JSON with a trailing newline.
    ///
    /// # Errors
    /// Only if serialization fails, which the types rule out.
    pub fn to_json(&self) -> serde_json::Result<String> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }
}

/// Removes the baseline's findings from the audit, records what it did in `audit.baseline`, and
/// recomputes the summary.
pub fn apply(a: &mut Audit, baseline: &Baseline, file: &str) {
    let known: BTreeSet<&str> = baseline.findings.iter().map(|e| e.fingerprint.as_str()).collect();
    let before = a.findings.len();
    let present: BTreeSet<String> = a
        .findings
        .iter()
        .map(|f| f.fingerprint.clone())
        .chain(a.suppressed.iter().map(|s| s.fingerprint.clone()))
        .collect();
    a.findings.retain(|f| !known.contains(f.fingerprint.as_str()));
    let hidden = before - a.findings.len();
    let ran: BTreeSet<&str> = a.rules_run.iter().map(String::as_str).collect();
    let stale: Vec<BaselineEntry> = baseline
        .findings
        .iter()
        .filter(|e| ran.contains(e.rule.as_str()) && !present.contains(&e.fingerprint))
        .cloned()
        .collect();
    a.baseline = Some(BaselineReport { file: file.to_string(), hidden, stale });
    audit::refresh_summary(a);
}
