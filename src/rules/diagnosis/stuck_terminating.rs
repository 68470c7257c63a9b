use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A pod whose `metadata.deletionTimestamp` (the deletion time plus its grace period) passed more
    /// than a minute before the input's latest timestamp. Finalizers and the node's `Ready` condition
    /// are the evidence. Pods still within their grace period are not reported (by this rule or any
    /// other diagnosis).
    ///
    /// ## Why it matters
    /// A pod stuck in Terminating holds its name (StatefulSets cannot replace it), its volumes and its IP;
    /// usually a finalizer nobody removes or a node that is gone.
    ///
    /// ## Example
    /// ```json
    /// "metadata": {"deletionTimestamp": "2023-07-11T04:00:00Z", "finalizers": ["example.com/cleanup"]}
    /// ```
    ///
    /// ## Fix
    /// Find the controller of the finalizer, or recover the node; force deletion only once the node is
    /// known to be down. No automatic fix.
    pub struct StuckTerminating;
    meta {
        id: "DIA016",
        name: "stuck-terminating",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Pod still present long after its deletion deadline",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "stuck-terminating";

impl Rule for StuckTerminating {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        // Reported on the pod itself: each stuck pod is its own incident.
        if o.kind != "Pod" {
            return;
        }
        let Some(del) = o.get("/metadata/deletionTimestamp").and_then(Value::as_str) else { return };
        let Some(age) = cx.live().age(Some(del)) else { return };
        if age <= TERMINATING_MARGIN_SECS {
            return;
        }
        let mut ev = vec![Evidence::note(at(o, "/metadata/deletionTimestamp"), del)];
        ev.extend(field(o, "/metadata/finalizers"));
        let mut hit = Hit::new(
            format!("Terminating for {}", human_duration(age)),
            "something keeps the pod from going away",
            Confidence::Low,
            ev.clone(),
        )
        .since(Some(del));
        if o.get("/metadata/finalizers").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            hit = Hit::new(
                format!("Terminating for {}", human_duration(age)),
                "a finalizer is not removed",
                Confidence::High,
                ev,
            )
            .since(Some(del));
        }
        let node = s(&o.body, "/spec/nodeName");
        if let Some(n) = cx.graph.find("Node", None, node).and_then(|i| cx.object(i))
            && !condition_is(n, "Ready", "True")
        {
            hit = hit
                .or(
                    format!("its node {node} is not Ready, so the kubelet cannot confirm the deletion"),
                    Confidence::High,
                    vec![Evidence::note(format!("Node/{node} Ready"), "not True")],
                )
                .subclass("node-not-ready");
        }
        report_object(cx, idx, CLASS, "/metadata/deletionTimestamp", hit, out);
    }
}
