use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A pod with a `DisruptionTarget` condition whose reason is `PreemptionByScheduler`,
    /// `DeletionByTaintManager`, `EvictionByEvictionAPI` or `DeletionByPodGC`, or with `Preempted`
    /// events.
    ///
    /// ## Why it matters
    /// Preemption is by design, but a workload preempted often runs at too low a priority for what it
    /// does.
    ///
    /// ## Example
    /// ```json
    /// "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]
    /// ```
    ///
    /// ## Fix
    /// Give the workload a higher PriorityClass, or add capacity. No automatic fix.
    pub struct Preempted;
    meta {
        id: "DIA013",
        name: "preempted",
        area: Area::Diagnosis,
        severity: Severity::Low,
        default_enabled: true,
        summary: "Pod preempted or deleted by a disruption (scheduler, taint manager, eviction API, pod GC)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "preempted";

impl Rule for Preempted {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status/conditions", out, detect);
    }
}

/// The `DisruptionTarget` reasons of this class.
const REASONS: &[&str] =
    &["PreemptionByScheduler", "DeletionByTaintManager", "EvictionByEvictionAPI", "DeletionByPodGC"];

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    let mut ev = Vec::new();
    let mut reason = String::new();
    let mut since = None;
    if let Some((ci, c)) = condition(pod, "DisruptionTarget")
        && s(c, "/status") == "True"
        && REASONS.contains(&s(c, "/reason"))
    {
        reason = s(c, "/reason").to_string();
        ev.extend(field(pod, &format!("/status/conditions/{ci}/reason")));
        ev.extend(field(pod, &format!("/status/conditions/{ci}/message")));
        since = c.get("lastTransitionTime").and_then(Value::as_str);
    }
    let events = events_with(cx, pod, &["Preempted"]);
    let (eev, count, first) = event_evidence(cx, &events);
    ev.extend(eev);
    if reason.is_empty() && events.is_empty() {
        return Vec::new();
    }
    let (sub, cause) = match reason.as_str() {
        "DeletionByTaintManager" => ("taint-manager", "the node got a NoExecute taint the pod does not tolerate"),
        "EvictionByEvictionAPI" => {
            ("eviction-api", "the pod was evicted through the Eviction API (a drain or an autoscaler)")
        }
        "DeletionByPodGC" => ("pod-gc", "the pod was garbage-collected (its node is gone)"),
        _ => ("scheduler", "the scheduler preempted the pod for a higher-priority one"),
    };
    vec![
        Hit::new(format!("disrupted ({sub})"), cause, Confidence::High, ev)
            .subclass(sub)
            .since(since.or(first.as_deref()))
            .count(count.max(1)),
    ]
}
