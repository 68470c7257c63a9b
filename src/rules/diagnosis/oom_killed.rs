use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A container whose last termination (`state.terminated` or `lastState.terminated`) has reason
    /// `OOMKilled` (exit code 137). The diagnosis names the container's `limits.memory`, its restart
    /// count and when it was last killed; a Node event `SystemOOM`/`OOMKilling` adds the hypothesis that
    /// the node itself ran out of memory. Succeeded pods are skipped, and a container that runs again in a
    /// Ready pod is reported as info only (not at all once the kill is more than a day old).
    ///
    /// ## Why it matters
    /// The kernel kills the process without warning: requests in flight fail, and a container that keeps
    /// hitting its limit restarts in a loop with growing back-off.
    ///
    /// ## Example
    /// ```json
    /// "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2023-07-11T04:43:25Z"}}
    /// ```
    ///
    /// ## Fix
    /// Raise `limits.memory` (and `requests.memory`) above the observed peak, or find the leak. No
    /// automatic fix: the right limit depends on the peak, which status does not record.
    pub struct OomKilled;
    meta {
        id: "DIA001",
        name: "oom-killed",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container killed for exceeding its memory (OOMKilled)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "oom-killed";

impl Rule for OomKilled {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    if phase(pod) == "Succeeded" {
        return Vec::new();
    }
    let statuses = PodStatuses::of(pod);
    let mut hits = Vec::new();
    for c in statuses.iter(pod) {
        let Some((t, tp)) = c.terminated() else { continue };
        if s(t, "/reason") != "OOMKilled" {
            continue;
        }
        let finished = t.get("finishedAt").and_then(Value::as_str);
        let Some(cap) = recovery(cx, pod, &c, finished) else { continue };
        let mut ev = vec![Evidence::note(at(pod, &format!("{tp}/reason")), "OOMKilled")];
        ev.extend(field(pod, &format!("{tp}/exitCode")));
        ev.extend(field(pod, &format!("{tp}/finishedAt")));
        ev.extend(field(pod, &format!("{}/restartCount", c.path)));
        let limit = container_spec(pod, c.name()).and_then(|(spec, path)| {
            let v = spec.pointer("/resources/limits/memory")?;
            Some((crate::model::value_text(v), format!("{path}/resources/limits/memory")))
        });
        let cause = match &limit {
            Some((l, path)) => {
                ev.push(Evidence::note(at(pod, path), l.clone()));
                format!("the container used more than its memory limit ({l})")
            }
            None => "the container was killed for memory without a memory limit (the node ran short)".to_string(),
        };
        let mut hit = Hit::new("OOMKilled", cause, Confidence::High, ev)
            .container(c.name())
            .since(finished)
            .count(c.restarts().max(1))
            .cap(cap);
        let node = s(&pod.body, "/spec/nodeName");
        if let Some(n) = cx.graph.find("Node", None, node).and_then(|i| cx.object(i)) {
            let sys = events_with(cx, n, &["SystemOOM", "OOMKilling"]);
            if !sys.is_empty() {
                let (nev, _, _) = event_evidence(cx, &sys);
                hit = hit.or(
                    format!("the node {node} ran out of memory (kernel OOM outside the container's limit)"),
                    Confidence::Medium,
                    nev,
                );
            }
        }
        hits.push(hit.previous_log(cx, pod, c.name()));
    }
    hits
}
