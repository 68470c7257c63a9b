use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Service with a selector whose EndpointSlices (label `kubernetes.io/service-name`) or Endpoints
    /// object in the input list no ready endpoint. Hypotheses: the selector matches no pod in the input,
    /// the matching pods are not ready, or the target port is not a port of the pods. Without
    /// EndpointSlices or Endpoints in the input this rule says nothing.
    ///
    /// ## Why it matters
    /// Every request to the Service fails (connection refused or 503 at the ingress), while the pods may
    /// look fine.
    ///
    /// ## Example
    /// ```json
    /// {"kind": "EndpointSlice", "metadata": {"labels": {"kubernetes.io/service-name": "web"}},
    ///  "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": false}}]}
    /// ```
    ///
    /// ## Fix
    /// Fix the selector or the pods' labels, the pods' readiness, or the target port. No automatic fix.
    pub struct ServiceNoEndpoints;
    meta {
        id: "DIA025",
        name: "service-no-endpoints",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Service has no ready endpoints (live EndpointSlices or Endpoints)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "service-no-endpoints";

impl Rule for ServiceNoEndpoints {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(svc) = cx.object(idx) else { return };
        if svc.kind != "Service" || svc.get("/spec/selector").and_then(Value::as_object).is_none_or(|m| m.is_empty()) {
            return;
        }
        let ns = svc.effective_namespace().unwrap_or("default");
        let mut seen = false;
        let mut ready = 0usize;
        let mut not_ready = 0usize;
        let mut ev = Vec::new();
        for &i in cx.graph.in_namespace(ns) {
            let Some(o) = cx.object(i) else { continue };
            if o.kind == "EndpointSlice"
                && o.get("/metadata/labels/kubernetes.io~1service-name").and_then(Value::as_str)
                    == Some(svc.name.as_str())
            {
                seen = true;
                for e in o.get("/endpoints").and_then(Value::as_array).into_iter().flatten() {
                    if e.pointer("/conditions/ready").and_then(Value::as_bool) == Some(false) {
                        not_ready += 1;
                    } else {
                        ready += 1;
                    }
                }
                ev.push(Evidence::note(
                    o.display_id(),
                    format!("{} endpoint(s)", o.get("/endpoints").and_then(Value::as_array).map_or(0, Vec::len)),
                ));
            } else if o.kind == "Endpoints" && o.name == svc.name {
                seen = true;
                for sub in o.get("/subsets").and_then(Value::as_array).into_iter().flatten() {
                    ready += sub.get("addresses").and_then(Value::as_array).map_or(0, Vec::len);
                    not_ready += sub.get("notReadyAddresses").and_then(Value::as_array).map_or(0, Vec::len);
                }
                ev.push(Evidence::note(o.display_id(), format!("{ready} ready, {not_ready} not ready")));
            }
        }
        if !seen || ready > 0 {
            return;
        }
        ev.extend(field(svc, "/spec/selector"));
        let selected = cx.graph.targets(idx, crate::graph::Edge::Selects);
        let hit = if not_ready > 0 {
            Hit::new(
                "no ready endpoints",
                format!("all {not_ready} backend(s) are not ready (see their pods' diagnoses)"),
                Confidence::High,
                ev,
            )
            .subclass("backends-not-ready")
        } else if selected.is_empty() {
            Hit::new("no endpoints", "the selector matches no pod or workload in the input", Confidence::High, ev)
                .subclass("selector-matches-nothing")
        } else {
            Hit::new(
                "no endpoints",
                "the selector matches workloads but no pod is running, or the target port is not exposed",
                Confidence::Medium,
                ev,
            )
            .subclass("no-running-pods")
        };
        report_object(cx, idx, CLASS, "/spec/selector", hit, out);
    }
}
