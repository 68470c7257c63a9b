//! Baselines: the fingerprints of findings a team has accepted for now.
//!
//! `clustergpt baseline write FILE` stores the fingerprints of today's findings;
//! `clustergpt analyze --baseline FILE` then reports only findings that are not in it, and lists
//! baseline entries that no longer match anything (fixed, or the object is gone) so the file can
//! shrink. Fingerprints ignore line numbers, so a baseline survives unrelated edits.
//!
//! Version 1 files (written before fingerprints included the object's file or context) hold
//! fingerprints of the old algorithm; they are still matched, by those old fingerprints, for one
//! release, and the report says to rewrite them with `clustergpt baseline write`.
//!
//! Pure: reading and writing the file is the CLI's job.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

// The report types are part of `Audit`, so they live with it (no audit ↔ baseline cycle).
use crate::audit::{self, Audit};
pub use crate::audit::{BaselineEntry, BaselineReport};
use crate::model::Finding;

/// Version of the baseline file format.
pub const BASELINE_VERSION: &str = "2";

/// The previous version: fingerprints of the old algorithm, read for one release.
pub const LEGACY_BASELINE_VERSION: &str = "1";

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
                rule: f.rule.to_string(),
                object: f.object.to_string(),
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
            Some(BASELINE_VERSION | LEGACY_BASELINE_VERSION) => {}
            Some(other) => {
                return Err(format!(
                    "baseline version `{other}` is not supported (this build reads version {BASELINE_VERSION}); rewrite it with `clustergpt baseline write`"
                ));
            }
            None => {
                return Err("no `schema_version`: not a baseline written by `clustergpt baseline write`".to_string());
            }
        }
        let b: Baseline = serde_json::from_value(v).map_err(|e| format!("malformed baseline: {e}"))?;
        // Version 1 numbered repeats (`<hex>-2`); version 2 has one format.
        let ok = |fp: &str| {
            audit::is_fingerprint(fp)
                || (b.is_legacy()
                    && fp.split_once('-').is_some_and(|(hex, n)| {
                        audit::is_fingerprint(hex) && !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit())
                    }))
        };
        if let Some(e) = b.findings.iter().find(|e| !ok(&e.fingerprint)) {
            return Err(format!(
                "malformed baseline: `{}` is not a fingerprint (32 lowercase hex digits); rewrite it with `clustergpt baseline write`",
                e.fingerprint
            ));
        }
        Ok(b)
    }

    /// Whether the file holds fingerprints of the previous release's algorithm.
    #[must_use]
    pub fn is_legacy(&self) -> bool {
        self.schema_version == LEGACY_BASELINE_VERSION
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
/// recomputes the summary. Entries of a legacy (version 1) file match a finding by its new or
/// its old fingerprint.
pub fn apply(a: &mut Audit, baseline: &Baseline, file: &str) {
    let known: BTreeSet<&str> = baseline.findings.iter().map(|e| e.fingerprint.as_str()).collect();
    let legacy = baseline.is_legacy();
    let old: Vec<String> = if legacy { legacy_fingerprints(&a.findings) } else { Vec::new() };
    let mut present: BTreeSet<String> = a
        .findings
        .iter()
        .map(|f| f.fingerprint.clone())
        .chain(a.suppressed.iter().map(|s| s.fingerprint.clone()))
        .collect();
    if legacy {
        present.extend(old.iter().cloned());
        // Suppressed findings were never numbered.
        present.extend(a.suppressed.iter().map(|s| {
            let ns = s.object.namespace.as_deref().unwrap_or("");
            audit::hex32([s.rule.as_str(), &s.object.kind, ns, &s.object.name, &s.path])
        }));
    }
    let before = a.findings.len();
    let findings = std::mem::take(&mut a.findings);
    a.findings = findings
        .into_iter()
        .enumerate()
        .filter(|(i, f)| {
            !(known.contains(f.fingerprint.as_str()) || old.get(*i).is_some_and(|fp| known.contains(fp.as_str())))
        })
        .map(|(_, f)| f)
        .collect();
    let hidden = before - a.findings.len();
    let ran: BTreeSet<&str> = a.rules_run.iter().map(String::as_str).collect();
    let stale: Vec<BaselineEntry> = baseline
        .findings
        .iter()
        .filter(|e| ran.contains(e.rule.as_str()) && !present.contains(&e.fingerprint))
        .cloned()
        .collect();
    a.baseline = Some(BaselineReport { file: file.to_string(), hidden, stale, legacy_format: legacy });
    audit::refresh_summary(a);
}

/// The fingerprints the previous release gave these findings (in audit order): rule, kind,
/// namespace, name and path, without file or API group; repeats numbered `-2`, `-3`, ... in
/// audit order, as that release did.
#[must_use]
pub fn legacy_fingerprints(findings: &[Finding]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    findings
        .iter()
        .map(|f| {
            let o = &f.object;
            let ns = o.namespace.as_deref().unwrap_or("");
            let fp = audit::hex32([f.rule.as_ref(), &o.kind, ns, &o.name, &f.location.path]);
            let n = seen.entry(fp.clone()).or_insert(0);
            *n += 1;
            if *n > 1 { format!("{fp}-{n}") } else { fp }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_the_fingerprint_format_of_each_version() {
        let fp = "0123456789abcdef0123456789abcdef";
        let file = |version: &str, fp: &str| {
            format!(
                r#"{{"schema_version": "{version}", "findings": [{{"fingerprint": "{fp}", "rule": "SEC001", "object": "Pod/default/a", "path": "/spec"}}]}}"#
            )
        };
        assert!(Baseline::parse(&file("2", fp)).is_ok());
        assert!(Baseline::parse(&file("1", fp)).is_ok_and(|b| b.is_legacy()));
        assert!(Baseline::parse(&file("1", &format!("{fp}-2"))).is_ok());
        let err = Baseline::parse(&file("2", &format!("{fp}-2"))).expect_err("numbered in version 2");
        assert!(err.contains("is not a fingerprint"), "{err}");
        assert!(Baseline::parse(&file("2", "abc")).is_err());
        assert!(Baseline::parse(&file("3", fp)).is_err_and(|e| e.contains("not supported")));
    }
}
