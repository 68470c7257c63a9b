use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A container waiting in `CrashLoopBackOff`, or running after failed restarts. The last
    /// termination's exit code is sub-classified: 1 application error, 2 misuse, 126 not executable, 127
    /// command not found, 137 SIGKILL, 139 SIGSEGV, 143 SIGTERM; `ContainerCannotRun`/`StartError`
    /// messages and `BackOff`/liveness `Killing` events are evidence. Succeeded pods (and their sidecars'
    /// exit codes) are skipped; restarts of a container that runs again in a Ready pod are info at most,
    /// and not reported once the last one is more than a day old. With `analyze --cluster --logs`, the
    /// previous container's log tail is classified (panic, out of memory, missing module or file,
    /// connection refused to a named host, ...) and adds a hypothesis whose only evidence is one
    /// redacted line; nothing else of the log is kept.
    ///
    /// ## Why it matters
    /// A crash-looping container serves nothing, and its back-off grows to five minutes between attempts,
    /// so the outage outlasts the cause.
    ///
    /// ## Example
    /// ```json
    /// "state": {"waiting": {"reason": "CrashLoopBackOff"}},
    /// "lastState": {"terminated": {"exitCode": 127, "reason": "ContainerCannotRun"}}
    /// ```
    ///
    /// ## Fix
    /// Follow the top hypothesis: fix the command or image for 126/127, read the previous container's
    /// logs (`kubectl logs --previous`) for 1 and 2, check memory for 137. No automatic fix.
    pub struct CrashLoop;
    meta {
        id: "DIA002",
        name: "crash-loop",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container restarting in a loop (CrashLoopBackOff) or restarting repeatedly",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "crash-loop";

impl Rule for CrashLoop {
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
    let events = cx.live().about(pod);
    let mut hits = Vec::new();
    for c in statuses.iter(pod).filter(|c| !c.init) {
        let looping = c.waiting() == "CrashLoopBackOff";
        let Some((t, tp)) = c.terminated() else {
            if looping {
                let ev = vec![Evidence::note(at(pod, &format!("{}/state/waiting/reason", c.path)), "CrashLoopBackOff")];
                hits.push(
                    Hit::new(
                        "CrashLoopBackOff",
                        "the container keeps exiting; no termination recorded",
                        Confidence::Low,
                        ev,
                    )
                    .container(c.name())
                    .count(c.restarts())
                    .previous_log(cx, pod, c.name()),
                );
            }
            continue;
        };
        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        let reason = s(t, "/reason");
        // OOM kills are their own class (oom-killed).
        if reason == "OOMKilled" || (!looping && (c.restarts() == 0 || code == 0)) {
            continue;
        }
        let finished = t.get("finishedAt").and_then(Value::as_str);
        let cap = if looping {
            None
        } else {
            match recovery(cx, pod, &c, finished) {
                Some(cap) => cap,
                None => continue,
            }
        };
        let mut ev = Vec::new();
        if looping {
            ev.push(Evidence::note(at(pod, &format!("{}/state/waiting/reason", c.path)), "CrashLoopBackOff"));
        }
        ev.extend(field(pod, &format!("{tp}/exitCode")));
        ev.extend(field(pod, &format!("{tp}/reason")));
        ev.extend(field(pod, &format!("{tp}/message")));
        ev.extend(field(pod, &format!("{tp}/finishedAt")));
        ev.extend(field(pod, &format!("{}/restartCount", c.path)));
        let mine: Vec<&EventView> = events
            .iter()
            .copied()
            .filter(|e| e.container.as_deref().is_none_or(|n| n == c.name()))
            .filter(|e| e.reason == "BackOff")
            .collect();
        let (bev, _, _) = event_evidence(cx, &mine);
        ev.extend(bev);
        let mut cause = exit_code_meaning(code);
        if matches!(reason, "ContainerCannotRun" | "StartError") {
            let msg = s(t, "/message");
            cause = format!("the container could not start ({reason}): {}", short(msg));
        }
        let what = if looping {
            "CrashLoopBackOff".to_string()
        } else if cap.is_some() {
            "restarted (Ready now)".to_string()
        } else {
            "restarted, not Ready".to_string()
        };
        let mut hit = Hit::new(what, cause, Confidence::High, ev)
            .subclass(format!("exit-{code}"))
            .container(c.name())
            .since(finished)
            .count(c.restarts().max(1))
            .cap(cap);
        let killed: Vec<&EventView> = events
            .iter()
            .copied()
            .filter(|e| e.container.as_deref().is_none_or(|n| n == c.name()))
            .filter(|e| {
                (e.reason == "Killing" && e.message.contains("liveness"))
                    || (e.reason == "Unhealthy" && e.message.starts_with("Liveness"))
            })
            .collect();
        if !killed.is_empty() {
            let (kev, _, _) = event_evidence(cx, &killed);
            // The kubelet's own Killing event names the cause: the exit code is its consequence.
            let confirmed = killed.iter().any(|e| e.reason == "Killing");
            let conf = if confirmed { Confidence::High } else { Confidence::Medium };
            hit = hit
                .or("the liveness probe fails and the kubelet restarts the container", conf, kev)
                .subclass("liveness");
            if confirmed {
                hit.hypotheses.rotate_right(1);
            }
        }
        hits.push(hit.previous_log(cx, pod, c.name()));
    }
    hits
}
