use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::EventView;
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Running pod with a running container whose `ready` is false (the pod's `Ready` condition is
    /// `False`, `ContainersNotReady`). `Unhealthy` events "Readiness probe failed: ..." give the
    /// sub-class (`http-status`, `connection-refused`, `timeout`); a probe port the container does not
    /// expose is its own hypothesis. Without events the diagnosis says so rather than guessing.
    ///
    /// ## Why it matters
    /// A pod that is not ready gets no traffic from its Services: with every pod unready the Service has
    /// no endpoints, and a rollout waiting for readiness stalls.
    ///
    /// ## Example
    /// ```json
    /// {"kind": "Event", "reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed with statuscode: 503"}
    /// ```
    ///
    /// ## Fix
    /// Fix the endpoint the probe calls, its port or path, or give the application more time
    /// (`initialDelaySeconds`, a startup probe). No automatic fix.
    pub struct ReadinessFailing;
    meta {
        id: "DIA010",
        name: "readiness-failing",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Running container is not ready (readiness probe failing)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "readiness-failing";

impl Rule for ReadinessFailing {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    if phase(pod) != "Running" || condition_is(pod, "Ready", "True") {
        return Vec::new();
    }
    let statuses = PodStatuses::of(pod);
    let events = cx.live().about(pod);
    let mut hits = Vec::new();
    for c in statuses.iter(pod).filter(|c| !c.init && c.running()) {
        if c.value.get("ready").and_then(Value::as_bool) != Some(false) {
            continue;
        }
        let mut ev = vec![Evidence::note(at(pod, &format!("{}/ready", c.path)), "false")];
        let probes: Vec<&EventView> = events
            .iter()
            .copied()
            .filter(|e| e.reason == "Unhealthy" && e.message.starts_with("Readiness probe failed"))
            .filter(|e| e.container.as_deref().is_none_or(|n| n == c.name()))
            .collect();
        let (eev, count, first) = event_evidence(cx, &probes);
        ev.extend(eev);
        let msg = probes.last().map(|e| e.message.to_ascii_lowercase()).unwrap_or_default();
        let (sub, cause, conf) = if probes.is_empty() {
            (
                "unknown",
                "the container runs but is not ready; no probe events in the input".to_string(),
                Confidence::Low,
            )
        } else if msg.contains("statuscode") {
            (
                "http-status",
                format!(
                    "the readiness endpoint answers an error: {}",
                    short(probes.last().map_or("", |e| e.message.as_str()))
                ),
                Confidence::High,
            )
        } else if msg.contains("connection refused") {
            ("connection-refused", "nothing listens on the probe's port".to_string(), Confidence::High)
        } else if msg.contains("timeout") || msg.contains("deadline exceeded") {
            ("timeout", "the readiness endpoint does not answer within timeoutSeconds".to_string(), Confidence::High)
        } else {
            (
                "other",
                format!("the readiness probe fails: {}", short(probes.last().map_or("", |e| e.message.as_str()))),
                Confidence::High,
            )
        };
        let mut hit = Hit::new("not ready", cause, conf, ev)
            .subclass(sub)
            .container(c.name())
            .since(first.as_deref())
            .count(count.max(1));
        if let Some((spec, path)) = container_spec(pod, c.name())
            && let Some(port) = probe_port(spec)
            && !exposes(spec, &port)
        {
            hit = hit
                .or(
                    format!("the readiness probe targets port {port}, which the container does not declare"),
                    if conf == Confidence::Low { Confidence::Medium } else { conf },
                    vec![Evidence::note(at(pod, &format!("{path}/readinessProbe")), port.clone())],
                )
                .subclass("probe-port");
        }
        hits.push(hit);
    }
    hits
}

/// The readiness probe's port (number or name), for httpGet, tcpSocket and grpc probes.
fn probe_port(spec: &Value) -> Option<String> {
    let p = spec.get("readinessProbe")?;
    let port =
        p.pointer("/httpGet/port").or_else(|| p.pointer("/tcpSocket/port")).or_else(|| p.pointer("/grpc/port"))?;
    Some(crate::model::value_text(port))
}

/// Whether a container declares a port by number or name. Containers that declare no ports may
/// still listen: only a declared list that lacks the port counts.
fn exposes(spec: &Value, port: &str) -> bool {
    let Some(ports) = spec.get("ports").and_then(Value::as_array) else { return true };
    ports.iter().any(|p| {
        p.get("containerPort").map(crate::model::value_text).as_deref() == Some(port)
            || p.get("name").and_then(Value::as_str) == Some(port)
    })
}
