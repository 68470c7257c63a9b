use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::EventView;
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// `Unhealthy` events "Liveness probe failed" or "Startup probe failed" about a pod, with `Killing`
    /// events "failed liveness probe, will be restarted" as corroboration. The container's restart count
    /// and last exit code (137, 143) are evidence, and so are the probe's `initialDelaySeconds` ×
    /// `failureThreshold` × `periodSeconds` when they leave the application less time than it took to
    /// start.
    ///
    /// ## Why it matters
    /// A liveness probe that fails on a healthy-but-slow application kills it over and over: the probe
    /// itself causes the outage.
    ///
    /// ## Example
    /// ```json
    /// {"kind": "Event", "reason": "Unhealthy", "message": "Liveness probe failed: Get \"http://10.1.2.3:8080/healthz\": context deadline exceeded"}
    /// ```
    ///
    /// ## Fix
    /// Make the endpoint cheap and independent of dependencies, raise `timeoutSeconds` or
    /// `failureThreshold`, or add a startup probe for slow starts. No automatic fix.
    pub struct LivenessFailing;
    meta {
        id: "DIA011",
        name: "liveness-failing",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Liveness or startup probe failing and restarting the container",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "liveness-failing";

impl Rule for LivenessFailing {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    if matches!(phase(pod), "Succeeded" | "Failed") {
        return Vec::new();
    }
    let events = cx.live().about(pod);
    let failing: Vec<&EventView> = events
        .iter()
        .copied()
        .filter(|e| {
            e.reason == "Unhealthy"
                && (e.message.starts_with("Liveness probe failed") || e.message.starts_with("Startup probe failed"))
        })
        .collect();
    if failing.is_empty() {
        return Vec::new();
    }
    let mut by_container: std::collections::BTreeMap<String, Vec<&EventView>> = std::collections::BTreeMap::new();
    for e in &failing {
        by_container.entry(e.container.clone().unwrap_or_default()).or_default().push(e);
    }
    let statuses = PodStatuses::of(pod);
    let mut hits = Vec::new();
    for (name, evs) in by_container {
        let (mut ev, count, first) = event_evidence(cx, &evs);
        let killing: Vec<&EventView> = events
            .iter()
            .copied()
            .filter(|e| {
                e.reason == "Killing"
                    && e.message.contains("liveness")
                    && e.container.as_deref().is_none_or(|n| n == name)
            })
            .collect();
        let (kev, _, _) = event_evidence(cx, &killing);
        ev.extend(kev);
        if let Some(c) = statuses.iter(pod).find(|c| c.name() == name) {
            ev.extend(field(pod, &format!("{}/restartCount", c.path)));
            if let Some((_, tp)) = c.terminated() {
                ev.extend(field(pod, &format!("{tp}/exitCode")));
            }
        }
        let startup = evs.iter().all(|e| e.message.starts_with("Startup"));
        let msg = evs.last().map(|e| e.message.to_ascii_lowercase()).unwrap_or_default();
        let sub = if msg.contains("statuscode") {
            "http-status"
        } else if msg.contains("connection refused") {
            "connection-refused"
        } else if msg.contains("deadline exceeded") || msg.contains("timeout") {
            "timeout"
        } else {
            "other"
        };
        let probe = if startup { "startup" } else { "liveness" };
        let cause = format!(
            "the {probe} probe fails ({sub}) and the kubelet restarts the container: {}",
            short(evs.last().map_or("", |e| e.message.as_str()))
        );
        let mut hit = Hit::new(
            format!("{probe} probe failing"),
            cause,
            if killing.is_empty() { Confidence::Medium } else { Confidence::High },
            ev,
        )
        .subclass(sub)
        .since(first.as_deref())
        .count(count);
        if let Some((spec, path)) = container_spec(pod, &name)
            && let Some(p) = spec.get(if startup { "startupProbe" } else { "livenessProbe" })
        {
            let n = |k: &str, d: i64| p.get(k).and_then(Value::as_i64).unwrap_or(d);
            let budget = n("initialDelaySeconds", 0) + n("failureThreshold", 3) * n("periodSeconds", 10);
            if !startup && spec.get("startupProbe").is_none() && budget < 30 {
                hit = hit.or(format!("the probe allows only {budget}s before the first restart and there is no startup probe: a slow start is killed"), Confidence::Low, vec![Evidence::note(at(pod, &format!("{path}/livenessProbe")), crate::model::value_text(p))]).subclass("too-early");
            }
        }
        if !name.is_empty() {
            hit = hit.container(&name);
        }
        hits.push(hit);
    }
    hits
}
