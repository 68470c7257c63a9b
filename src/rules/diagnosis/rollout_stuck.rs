use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Deployment whose `Progressing` condition is `False` with `ProgressDeadlineExceeded`, or whose
    /// `Available` condition is `False` (`MinimumReplicasUnavailable`). The evidence follows the owner
    /// chain down: the waiting reasons of the new pods in the input say why they do not become
    /// available (each also has its own diagnosis).
    ///
    /// ## Why it matters
    /// A stuck rollout leaves old and new versions side by side and blocks the next deploy; below minimum
    /// availability the service is degraded now.
    ///
    /// ## Example
    /// ```json
    /// "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
    ///   "message": "ReplicaSet \"web-7d9c\" has timed out progressing."}]
    /// ```
    ///
    /// ## Fix
    /// Fix what the new pods' diagnoses say, or roll back (`kubectl rollout undo`). No automatic fix.
    pub struct RolloutStuck;
    meta {
        id: "DIA019",
        name: "rollout-stuck",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Deployment rollout stuck (ProgressDeadlineExceeded) or below its minimum availability",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "rollout-stuck";

impl Rule for RolloutStuck {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(d) = cx.object(idx) else { return };
        if d.kind != "Deployment" || cx.graph.controller(idx).is_some() {
            return;
        }
        let mut hit: Option<Hit> = None;
        if let Some((ci, c)) = condition(d, "Progressing")
            && s(c, "/status") == "False"
            && s(c, "/reason") == "ProgressDeadlineExceeded"
        {
            let mut ev = Vec::new();
            ev.extend(field(d, &format!("/status/conditions/{ci}/reason")));
            ev.extend(field(d, &format!("/status/conditions/{ci}/message")));
            ev.extend(field(d, "/spec/progressDeadlineSeconds"));
            let since = c.get("lastTransitionTime").and_then(Value::as_str);
            hit = Some(
                Hit::new(
                    "rollout stuck (ProgressDeadlineExceeded)",
                    "the new ReplicaSet's pods did not become available within progressDeadlineSeconds",
                    Confidence::High,
                    ev,
                )
                .subclass("progress-deadline")
                .since(since),
            );
        }
        if let Some((ci, c)) = condition(d, "Available")
            && s(c, "/status") == "False"
        {
            let mut ev = Vec::new();
            ev.extend(field(d, &format!("/status/conditions/{ci}/reason")));
            ev.extend(field(d, "/status/availableReplicas"));
            ev.extend(field(d, "/status/replicas"));
            let cause = "fewer pods are available than the minimum the strategy allows";
            let since = c.get("lastTransitionTime").and_then(Value::as_str);
            hit = Some(match hit {
                None => Hit::new("below minimum availability", cause, Confidence::High, ev)
                    .subclass("minimum-replicas-unavailable")
                    .since(since),
                Some(h) => h.or(cause, Confidence::High, ev).subclass("minimum-replicas-unavailable"),
            });
        }
        let Some(mut hit) = hit else { return };
        // Down the owner chain: why the pods are not available.
        let mut reasons: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for p in subject_pods(cx, idx).unwrap_or_default() {
            let Some(pod) = cx.object(p).filter(|o| o.kind == "Pod") else { continue };
            let statuses = PodStatuses::of(pod);
            for c in statuses.iter(pod) {
                let w = c.waiting();
                if !w.is_empty() {
                    *reasons.entry(format!("{} {w}", c.name())).or_default() += 1;
                }
            }
            if phase(pod) == "Pending"
                && condition(pod, "PodScheduled").is_some_and(|(_, c)| s(c, "/reason") == "Unschedulable")
            {
                *reasons.entry("Unschedulable".to_string()).or_default() += 1;
            }
        }
        if !reasons.is_empty() {
            let text: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
            hit = hit
                .or(
                    format!("its pods are failing: {}", text.join(", ")),
                    Confidence::High,
                    vec![Evidence::note(format!("{} pods", d.display_id()), text.join(", "))],
                )
                .subclass("pods-failing");
        }
        report_object(cx, idx, CLASS, "/status/conditions", hit, out);
    }
}
