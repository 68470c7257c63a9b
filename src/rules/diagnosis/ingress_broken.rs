use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Gateway, HTTPRoute, GRPCRoute, TLSRoute or TCPRoute with an `Accepted`, `Programmed` or
    /// `ResolvedRefs` condition `False` (in `status.conditions` or any `status.parents[].conditions`), or
    /// an Ingress or Service with `SyncLoadBalancerFailed` events. (Missing backend Services and TLS
    /// Secrets in manifests are ARC rules.)
    ///
    /// ## Why it matters
    /// Traffic for the route's hostnames goes nowhere, or to the previous configuration.
    ///
    /// ## Example
    /// ```json
    /// "parents": [{"conditions": [{"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound"}]}]
    /// ```
    ///
    /// ## Fix
    /// Fix the reference the condition names (backend Service, port, certificate, listener). No automatic
    /// fix.
    pub struct IngressBroken;
    meta {
        id: "DIA027",
        name: "ingress-broken",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Ingress or Gateway API route not accepted, programmed or resolved",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "ingress-broken";

impl Rule for IngressBroken {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        let route =
            matches!(o.kind.as_str(), "Gateway" | "HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute" | "UDPRoute")
                && o.group() == "gateway.networking.k8s.io";
        let mut hit: Option<Hit> = None;
        if route {
            let mut lists: Vec<(String, &Value)> = Vec::new();
            if let Some(c) = o.get("/status/conditions") {
                lists.push(("/status/conditions".to_string(), c));
            }
            for (pi, p) in o.get("/status/parents").and_then(Value::as_array).into_iter().flatten().enumerate() {
                if let Some(c) = p.get("conditions") {
                    lists.push((format!("/status/parents/{pi}/conditions"), c));
                }
            }
            for (base, list) in lists {
                for (ci, c) in list.as_array().into_iter().flatten().enumerate() {
                    let kind = s(c, "/type");
                    if !matches!(kind, "Accepted" | "Programmed" | "ResolvedRefs") || s(c, "/status") != "False" {
                        continue;
                    }
                    let reason = s(c, "/reason");
                    let mut ev = vec![Evidence::note(at(o, &format!("{base}/{ci}/type")), kind)];
                    ev.extend(field(o, &format!("{base}/{ci}/reason")));
                    ev.extend(field(o, &format!("{base}/{ci}/message")));
                    let cause = format!("{kind} is False ({reason}): {}", short(s(c, "/message")));
                    hit = Some(match hit {
                        None => Hit::new(format!("{kind}=False"), cause, Confidence::High, ev).subclass(kebab(reason)),
                        Some(h) => h.or(cause, Confidence::High, ev).subclass(kebab(reason)),
                    });
                }
            }
        } else if matches!(o.kind.as_str(), "Ingress" | "Service") {
            let events = events_with(cx, o, &["SyncLoadBalancerFailed"]);
            if !events.is_empty() {
                let (ev, count, first) = event_evidence(cx, &events);
                let msg = events.last().map_or("", |e| e.message.as_str());
                hit = Some(
                    Hit::new(
                        "load balancer sync failed",
                        format!("the load balancer could not be set up: {}", short(msg)),
                        Confidence::High,
                        ev,
                    )
                    .subclass("load-balancer")
                    .since(first.as_deref())
                    .count(count),
                );
            }
        }
        let Some(hit) = hit else { return };
        report_object(cx, idx, CLASS, "/status", hit, out);
    }
}
