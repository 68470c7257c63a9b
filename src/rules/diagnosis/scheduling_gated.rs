use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Pending pod whose `PodScheduled` condition has reason `SchedulingGated`, or that lists
    /// `spec.schedulingGates`. The gate names are the evidence: some controller must remove them.
    ///
    /// ## Why it matters
    /// A gate that is never removed (its controller is gone or failing) keeps the pod Pending forever,
    /// silently.
    ///
    /// ## Example
    /// ```json
    /// "spec": {"schedulingGates": [{"name": "example.com/quota"}]},
    /// "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}
    /// ```
    ///
    /// ## Fix
    /// Check the controller that owns each gate; remove the gate if that controller is gone. No automatic
    /// fix.
    pub struct SchedulingGated;
    meta {
        id: "DIA007",
        name: "scheduling-gated",
        area: Area::Diagnosis,
        severity: Severity::Low,
        default_enabled: true,
        summary: "Pod held back by scheduling gates",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "scheduling-gated";

impl Rule for SchedulingGated {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status/conditions", out, detect);
    }
}

fn detect(_cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    if phase(pod) != "Pending" {
        return Vec::new();
    }
    let gated = condition(pod, "PodScheduled").is_some_and(|(_, c)| s(c, "/reason") == "SchedulingGated");
    let gates: Vec<String> = pod
        .get("/spec/schedulingGates")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|g| g.get("name").and_then(Value::as_str)).map(str::to_string).collect())
        .unwrap_or_default();
    if !gated && gates.is_empty() {
        return Vec::new();
    }
    let mut ev = vec![Evidence::note(
        at(pod, "/spec/schedulingGates"),
        if gates.is_empty() { "<unset>".to_string() } else { gates.join(", ") },
    )];
    if let Some((ci, _)) = condition(pod, "PodScheduled") {
        ev.extend(field(pod, &format!("/status/conditions/{ci}/reason")));
    }
    let cause = format!(
        "scheduling gates not removed yet: {}",
        if gates.is_empty() { "(names not in the input)".to_string() } else { gates.join(", ") }
    );
    vec![Hit::new("SchedulingGated", cause, Confidence::High, ev)]
}
