use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Node with `MemoryPressure`, `DiskPressure`, `PIDPressure` or `NetworkUnavailable` set to
    /// `True`, with `EvictionThresholdMet`, `ImageGCFailed` and `FreeDiskSpaceFailed` events as evidence.
    /// Only these standard conditions count: vendor conditions (k3s `EtcdIsVoter`, cloud node-monitoring
    /// conditions such as `KernelDeadlock` or `FrequentKubeletRestart`) are ignored, their polarity is
    /// not standard (k8sgpt#1461).
    ///
    /// ## Why it matters
    /// Under pressure the kubelet evicts pods and refuses new ones; without network, pods on the node
    /// cannot be reached.
    ///
    /// ## Example
    /// ```json
    /// "conditions": [{"type": "DiskPressure", "status": "True", "reason": "KubeletHasDiskPressure"}]
    /// ```
    ///
    /// ## Fix
    /// Free or add the resource on the node (image garbage collection, log rotation, larger disks), or
    /// move workloads off it. No automatic fix.
    pub struct NodePressure;
    meta {
        id: "DIA018",
        name: "node-pressure",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Node under memory, disk or PID pressure, or without network",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "node-pressure";

impl Rule for NodePressure {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(n) = cx.object(idx) else { return };
        if n.kind != "Node" {
            return;
        }
        let mut hit: Option<Hit> = None;
        let mut names = Vec::new();
        for kind in ["MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"] {
            let Some((ci, c)) = condition(n, kind) else { continue };
            if s(c, "/status") != "True" {
                continue;
            }
            names.push(kind);
            let base = format!("/status/conditions/{ci}");
            let mut ev = vec![Evidence::note(at(n, &format!("{base}/type")), kind)];
            ev.extend(field(n, &format!("{base}/reason")));
            ev.extend(field(n, &format!("{base}/message")));
            let cause = match kind {
                "MemoryPressure" => "the node is low on memory; the kubelet evicts pods",
                "DiskPressure" => "the node is low on disk; the kubelet evicts pods and garbage-collects images",
                "PIDPressure" => "the node is running out of process ids",
                _ => "the node's network is not configured (CNI)",
            };
            let since = c.get("lastTransitionTime").and_then(Value::as_str);
            hit = Some(match hit {
                None => Hit::new(kind, cause, Confidence::High, ev).subclass(kebab(kind)).since(since),
                Some(h) => h.or(cause, Confidence::High, ev).subclass(kebab(kind)),
            });
        }
        let Some(mut hit) = hit else { return };
        let events = events_with(cx, n, &["EvictionThresholdMet", "ImageGCFailed", "FreeDiskSpaceFailed"]);
        if !events.is_empty() {
            let (ev, count, _) = event_evidence(cx, &events);
            if let Some(h) = hit.hypotheses.first_mut() {
                h.evidence.extend(ev);
            }
            hit = hit.count(count);
        }
        hit.what = names.join(", ");
        report_object(cx, idx, CLASS, "/status/conditions", hit, out);
    }
}
