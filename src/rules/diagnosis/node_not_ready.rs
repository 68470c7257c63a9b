use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Node whose `Ready` condition is not `True` (`False` with `KubeletNotReady`, or `Unknown` with
    /// `NodeStatusUnknown` when the kubelet stopped reporting). The condition's reason, message and last
    /// heartbeat, the `node.kubernetes.io/not-ready`/`unreachable` taints and `NodeNotReady`/`Rebooted`
    /// events are evidence.
    ///
    /// ## Why it matters
    /// Pods on a NotReady node are evicted after the toleration period (5 minutes by default) and
    /// nothing new schedules there; a DaemonSet on it is unavailable.
    ///
    /// ## Example
    /// ```json
    /// "conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status."}]
    /// ```
    ///
    /// ## Fix
    /// Check the kubelet and container runtime on the node, its network and its disk; replace the node if
    /// it is gone. No automatic fix.
    pub struct NodeNotReady;
    meta {
        id: "DIA017",
        name: "node-not-ready",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Node not Ready (kubelet down, unreachable or unhealthy)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "node-not-ready";

impl Rule for NodeNotReady {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(n) = cx.object(idx) else { return };
        if n.kind != "Node" {
            return;
        }
        let Some((ci, c)) = condition(n, "Ready") else { return };
        let status = s(c, "/status");
        // Only the three values the API server writes; anything else is not a node status.
        if !matches!(status, "False" | "Unknown") {
            return;
        }
        let base = format!("/status/conditions/{ci}");
        let mut ev = vec![Evidence::note(at(n, &format!("{base}/status")), status)];
        for k in ["reason", "message", "lastHeartbeatTime"] {
            ev.extend(field(n, &format!("{base}/{k}")));
        }
        let taints: Vec<String> = n
            .get("/spec/taints")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter().map(|t| s(t, "/key").to_string()).filter(|k| k.starts_with("node.kubernetes.io/")).collect()
            })
            .unwrap_or_default();
        if !taints.is_empty() {
            ev.push(Evidence::note(at(n, "/spec/taints"), taints.join(", ")));
        }
        let events =
            events_with(cx, n, &["NodeNotReady", "Rebooted", "NodeHasInsufficientMemory", "NodeHasDiskPressure"]);
        let (eev, count, _) = event_evidence(cx, &events);
        ev.extend(eev);
        let (sub, cause) = if status == "Unknown" {
            ("unreachable", "the kubelet stopped reporting (node down, network partition or kubelet crash)".to_string())
        } else {
            ("kubelet-not-ready", format!("the kubelet reports the node unhealthy: {}", short(s(c, "/message"))))
        };
        let since = c.get("lastTransitionTime").and_then(Value::as_str);
        let hit = Hit::new(format!("Ready={status}"), cause, Confidence::High, ev)
            .subclass(sub)
            .since(since)
            .count(count.max(1));
        report_object(cx, idx, CLASS, "/status/conditions", hit, out);
    }
}
