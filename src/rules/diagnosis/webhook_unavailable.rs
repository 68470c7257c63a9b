use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A ValidatingWebhookConfiguration or MutatingWebhookConfiguration whose webhook calls a Service
    /// that has no ready endpoint in the input's EndpointSlices or Endpoints, or that is missing from
    /// live input (status or events present) holding other objects of its namespace; in manifests
    /// alone a missing Service is not a live failure. With `failurePolicy: Fail` (the default) every
    /// matching create or update is rejected (ties to `create-failed`); with `Ignore` the finding is low.
    ///
    /// ## Why it matters
    /// A dead webhook with `failurePolicy: Fail` blocks deployments cluster-wide, including the fix for
    /// the webhook itself when it matches its own namespace.
    ///
    /// ## Example
    /// ```json
    /// "webhooks": [{"name": "v.example.com", "failurePolicy": "Fail", "clientConfig": {"service": {"namespace": "hooks", "name": "validator"}}}]
    /// ```
    ///
    /// ## Fix
    /// Restore the webhook's pods, or set `failurePolicy: Ignore` while it is down, or delete the
    /// configuration of an uninstalled tool. No automatic fix.
    pub struct WebhookUnavailable;
    meta {
        id: "DIA028",
        name: "webhook-unavailable",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Admission webhook's Service missing or without ready endpoints",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "webhook-unavailable";

impl Rule for WebhookUnavailable {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if !matches!(o.kind.as_str(), "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration") {
            return;
        }
        let mut hit: Option<Hit> = None;
        for (wi, w) in o.get("/webhooks").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let ns = s(w, "/clientConfig/service/namespace");
            let name = s(w, "/clientConfig/service/name");
            if ns.is_empty() || name.is_empty() {
                continue;
            }
            let policy = w.get("failurePolicy").and_then(Value::as_str).unwrap_or("Fail");
            let svc = cx.graph.find("Service", Some(ns), name);
            let state = match svc {
                None if cx.live().is_live && !cx.graph.in_namespace(ns).is_empty() => {
                    Some(("service-missing", format!("its Service {ns}/{name} does not exist")))
                }
                None => None,
                Some(_) => endpoints_ready(cx, ns, name)
                    .filter(|r| *r == 0)
                    .map(|_| ("no-endpoints", format!("its Service {ns}/{name} has no ready endpoint"))),
            };
            let Some((sub, what)) = state else { continue };
            let ev = vec![
                Evidence::note(at(o, &format!("/webhooks/{wi}/clientConfig/service")), format!("{ns}/{name}")),
                Evidence::note(at(o, &format!("/webhooks/{wi}/failurePolicy")), policy),
            ];
            let wname = s(w, "/name");
            let cause = format!("webhook {wname} is unreachable: {what}; failurePolicy {policy}");
            let cap = if policy == "Ignore" { Some(Severity::Low) } else { None };
            hit = Some(match hit {
                None => Hit::new("webhook unreachable", cause, Confidence::High, ev).subclass(sub).cap(cap),
                Some(mut h) => {
                    if cap.is_none() {
                        h.cap = None;
                    }
                    h.or(cause, Confidence::High, ev).subclass(sub)
                }
            });
        }
        let Some(hit) = hit else { return };
        report_object(cx, idx, CLASS, "/webhooks", hit, out);
    }
}

/// Ready endpoints of a Service, when its EndpointSlices or Endpoints are in the input.
fn endpoints_ready(cx: &Context<'_>, ns: &str, name: &str) -> Option<usize> {
    let mut seen = false;
    let mut ready = 0;
    for &i in cx.graph.in_namespace(ns) {
        let Some(o) = cx.object(i) else { continue };
        if o.kind == "EndpointSlice"
            && o.get("/metadata/labels/kubernetes.io~1service-name").and_then(Value::as_str) == Some(name)
        {
            seen = true;
            ready += o
                .get("/endpoints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| e.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false))
                .count();
        } else if o.kind == "Endpoints" && o.name == name {
            seen = true;
            ready += o
                .get("/subsets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| s.get("addresses").and_then(Value::as_array).map_or(0, Vec::len))
                .sum::<usize>();
        }
    }
    seen.then_some(ready)
}
