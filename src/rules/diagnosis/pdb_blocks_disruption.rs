use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A PodDisruptionBudget whose status says no pod may be evicted now: `DisruptionAllowed` condition
    /// `False` (`InsufficientPods`), or `disruptionsAllowed: 0` with `expectedPods` above zero. The healthy
    /// and desired counts are evidence. (A budget that can never allow a disruption by configuration is
    /// REL rule territory; this is the live state.)
    ///
    /// ## Why it matters
    /// Node drains and cluster upgrades wait on the budget until they time out.
    ///
    /// ## Example
    /// ```json
    /// "status": {"currentHealthy": 2, "desiredHealthy": 3, "disruptionsAllowed": 0, "expectedPods": 3}
    /// ```
    ///
    /// ## Fix
    /// Make the unhealthy pods healthy (their diagnoses), or relax `minAvailable`/`maxUnavailable`. No
    /// automatic fix.
    pub struct PdbBlocksDisruption;
    meta {
        id: "DIA029",
        name: "pdb-blocks-disruption",
        area: Area::Diagnosis,
        severity: Severity::Low,
        default_enabled: true,
        summary: "PodDisruptionBudget allows no disruption now (drains stall)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "pdb-blocks-disruption";

impl Rule for PdbBlocksDisruption {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(p) = cx.object(idx) else { return };
        if p.kind != "PodDisruptionBudget" || !has_status(p) {
            return;
        }
        let n = |k: &str| p.get(k).and_then(Value::as_i64);
        let blocked_cond = condition(p, "DisruptionAllowed").is_some_and(|(_, c)| s(c, "/status") == "False");
        let zero = n("/status/disruptionsAllowed") == Some(0) && n("/status/expectedPods").unwrap_or(0) > 0;
        if !(blocked_cond || zero) {
            return;
        }
        let mut ev = Vec::new();
        for k in
            ["/status/disruptionsAllowed", "/status/currentHealthy", "/status/desiredHealthy", "/status/expectedPods"]
        {
            ev.extend(field(p, k));
        }
        let (cur, want) = (n("/status/currentHealthy").unwrap_or(0), n("/status/desiredHealthy").unwrap_or(0));
        let (sub, cause) = if cur < want {
            ("insufficient-pods", format!("only {cur} of the {want} pods the budget requires are healthy"))
        } else {
            ("at-budget", "the budget is exactly met: evicting any pod would break it".to_string())
        };
        let hit = Hit::new("no disruption allowed", cause, Confidence::High, ev).subclass(sub);
        report_object(cx, idx, CLASS, "/status/disruptionsAllowed", hit, out);
    }
}
