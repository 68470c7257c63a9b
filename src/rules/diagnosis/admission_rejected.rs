use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Failed pod whose `status.reason` is `OutOfcpu`, `OutOfmemory`, `OutOfpods` (any `OutOf...`),
    /// `NodeAffinity`, `UnexpectedAdmissionError` or `NodeShutdown`: the node refused to run it after
    /// the scheduler placed it there.
    ///
    /// ## Why it matters
    /// The scheduler and the kubelet disagree about the node (stale capacity, a node label that changed,
    /// a static pod hogging resources): the controller keeps creating pods that fail the same way.
    ///
    /// ## Example
    /// ```json
    /// "status": {"phase": "Failed", "reason": "OutOfcpu", "message": "Pod Node didn't have enough resource: cpu, requested: 2000, used: 3500, capacity: 4000"}
    /// ```
    ///
    /// ## Fix
    /// Check the node's capacity and labels against the pod's requests and affinity; delete the failed
    /// pods once fixed. No automatic fix.
    pub struct AdmissionRejected;
    meta {
        id: "DIA014",
        name: "admission-rejected",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Pod rejected by the kubelet at admission (OutOfcpu, NodeAffinity, NodeShutdown ...)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "admission-rejected";

impl Rule for AdmissionRejected {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status/reason", out, detect);
    }
}

fn detect(_cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    let reason = s(&pod.body, "/status/reason");
    let known =
        reason.starts_with("OutOf") || matches!(reason, "NodeAffinity" | "UnexpectedAdmissionError" | "NodeShutdown");
    if phase(pod) != "Failed" || !known {
        return Vec::new();
    }
    let mut ev = Vec::new();
    ev.extend(field(pod, "/status/reason"));
    ev.extend(field(pod, "/status/message"));
    ev.extend(field(pod, "/spec/nodeName"));
    let cause = match reason {
        "NodeAffinity" => "the node no longer matches the pod's node affinity or selector".to_string(),
        "NodeShutdown" => "the node was shutting down".to_string(),
        "UnexpectedAdmissionError" => {
            "the kubelet failed to admit the pod (device plugin or resource manager error)".to_string()
        }
        r => format!("the node had no room left for the pod ({r})"),
    };
    let since = pod.get("/status/startTime").and_then(Value::as_str);
    vec![Hit::new(reason, cause, Confidence::High, ev).subclass(kebab(reason)).since(since)]
}
