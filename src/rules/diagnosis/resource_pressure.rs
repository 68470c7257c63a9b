use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::quantity::Quantity;
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// When `PodMetrics` (metrics.k8s.io) are in the input: a container using 90% or more of its
    /// `limits.memory` (the next spike is an OOM kill), or 95% or more of its `limits.cpu` (throttled).
    /// Without metrics this rule says nothing.
    ///
    /// ## Why it matters
    /// These are the failures about to happen: OOM kills and latency from CPU throttling.
    ///
    /// ## Example
    /// ```json
    /// {"kind": "PodMetrics", "containers": [{"name": "app", "usage": {"memory": "245Mi", "cpu": "12m"}}]}
    /// ```
    ///
    /// ## Fix
    /// Raise the limit above the working set, or reduce the usage. No automatic fix.
    pub struct ResourcePressure;
    meta {
        id: "DIA030",
        name: "resource-pressure",
        area: Area::Diagnosis,
        severity: Severity::Low,
        default_enabled: true,
        summary: "Container usage near its memory limit or at its CPU limit (metrics)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "resource-pressure";

impl Rule for ResourcePressure {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    let Some(m) = cx.graph.find("PodMetrics", pod.effective_namespace(), &pod.name).and_then(|i| cx.object(i)) else {
        return Vec::new();
    };
    let Some(cs) = m.get("/containers").and_then(Value::as_array) else { return Vec::new() };
    let mut hits = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        let name = s(c, "/name");
        let Some((spec, path)) = container_spec(pod, name) else { continue };
        for (res, threshold) in [("memory", 0.9), ("cpu", 0.95)] {
            let used = c.pointer(&format!("/usage/{res}")).and_then(Quantity::from_json).map(Quantity::value);
            let limit =
                spec.pointer(&format!("/resources/limits/{res}")).and_then(Quantity::from_json).map(Quantity::value);
            let (Some(used), Some(limit)) = (used, limit) else { continue };
            if limit <= 0.0 || used < limit * threshold {
                continue;
            }
            let pct = (used / limit * 100.0).round();
            let ev = vec![
                Evidence::note(format!("{} /containers/{i}/usage/{res}", m.display_id()), format_amount(res, used)),
                Evidence::note(at(pod, &format!("{path}/resources/limits/{res}")), format_amount(res, limit)),
            ];
            let cause = if res == "memory" {
                format!("memory at {pct}% of its limit: the next spike is an OOM kill")
            } else {
                format!("CPU at {pct}% of its limit: the container is throttled")
            };
            hits.push(Hit::new(format!("{res} near limit"), cause, Confidence::High, ev).subclass(res).container(name));
        }
    }
    hits
}
