use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Failed pod with `status.reason: Evicted` (or a `DisruptionTarget` condition with reason
    /// `TerminationByKubelet`). The kubelet's message says which resource ran short; sub-classes
    /// `memory`, `ephemeral-storage`, `disk`, `pids`.
    ///
    /// ## Why it matters
    /// Evictions under memory pressure hit the pods that exceed their requests first: a workload whose
    /// pods keep being evicted is using more than it asks for, or shares a node that is overcommitted.
    ///
    /// ## Example
    /// ```json
    /// "status": {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory. Container app was using 1200Mi, request is 256Mi."}
    /// ```
    ///
    /// ## Fix
    /// Raise requests to what the pods use, set ephemeral-storage requests and limits, or add node
    /// capacity. No automatic fix.
    pub struct Evicted;
    meta {
        id: "DIA012",
        name: "evicted",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Pod evicted by the kubelet under node pressure",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "evicted";

impl Rule for Evicted {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status/reason", out, detect);
    }
}

fn detect(_cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    let by_kubelet = condition(pod, "DisruptionTarget")
        .is_some_and(|(_, c)| s(c, "/reason") == "TerminationByKubelet" && s(c, "/status") == "True");
    let evicted = phase(pod) == "Failed" && s(&pod.body, "/status/reason") == "Evicted";
    if !(evicted || by_kubelet) {
        return Vec::new();
    }
    let msg = s(&pod.body, "/status/message");
    let mut ev = Vec::new();
    ev.extend(field(pod, "/status/reason"));
    ev.extend(field(pod, "/status/message"));
    let low = msg.to_ascii_lowercase();
    let (sub, cause) = if low.contains("ephemeral-storage") {
        ("ephemeral-storage", "the node ran low on ephemeral storage (logs, emptyDir, writable layers)")
    } else if low.contains("memory") {
        ("memory", "the node ran low on memory and evicted pods above their requests")
    } else if low.contains("nodefs") || low.contains("imagefs") || low.contains("disk") {
        ("disk", "the node ran low on disk")
    } else if low.contains("pid") {
        ("pids", "the node ran out of process ids")
    } else {
        ("other", "the kubelet evicted the pod")
    };
    let since = pod.get("/status/startTime").and_then(Value::as_str);
    vec![Hit::new("Evicted", cause, Confidence::High, ev).subclass(sub).since(since)]
}
