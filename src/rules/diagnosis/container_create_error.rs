use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A container waiting with `CreateContainerError`, `RunContainerError`, `PreStartHookError` or
    /// `PostStartHookError`, or a pod with `FailedPostStartHook`/`FailedPreStopHook` events. The
    /// runtime's message is the evidence.
    ///
    /// ## Why it matters
    /// The runtime refused the container (a bad mount, an entrypoint that cannot run, a name conflict) or
    /// a hook killed it: the pod never becomes ready.
    ///
    /// ## Example
    /// ```json
    /// "state": {"waiting": {"reason": "RunContainerError", "message": "exec: \"wge\": executable file not found in $PATH"}}
    /// ```
    ///
    /// ## Fix
    /// Read the message: fix the command, the mounts or the hook. No automatic fix.
    pub struct ContainerCreateError;
    meta {
        id: "DIA005",
        name: "container-create-error",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container runtime cannot create or start the container, or a lifecycle hook fails",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "container-create-error";

impl Rule for ContainerCreateError {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

/// The waiting reasons of this class.
pub const REASONS: &[&str] = &["CreateContainerError", "RunContainerError", "PreStartHookError", "PostStartHookError"];

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    let statuses = PodStatuses::of(pod);
    let mut hits: Vec<Hit> = statuses.iter(pod).filter(|c| !c.init).filter_map(|c| create_hit(pod, &c)).collect();
    let hooks = events_with(cx, pod, &["FailedPostStartHook", "FailedPreStopHook"]);
    if !hooks.is_empty() && phase(pod) != "Succeeded" {
        let (ev, count, first) = event_evidence(cx, &hooks);
        let name = hooks.iter().find_map(|e| e.container.clone());
        let mut hit =
            Hit::new("lifecycle hook failed", "a lifecycle hook (postStart or preStop) fails", Confidence::High, ev)
                .subclass("hook")
                .since(first.as_deref())
                .count(count);
        if let Some(n) = name {
            hit = hit.container(&n);
        }
        hits.push(hit);
    }
    hits
}

/// The hit of one container status (shared with init-failing).
#[must_use]
pub fn create_hit(pod: &Object, c: &ContainerStatus<'_>) -> Option<Hit> {
    let reason = c.waiting();
    if !REASONS.contains(&reason) {
        return None;
    }
    let msg = s(c.value, "/state/waiting/message");
    let last = c.terminated().map(|(t, _)| s(t, "/message")).filter(|m| !m.is_empty());
    let text = if msg.is_empty() { last.unwrap_or_default() } else { msg };
    let mut ev = vec![Evidence::note(at(pod, &format!("{}/state/waiting/reason", c.path)), reason)];
    ev.extend(field(pod, &format!("{}/state/waiting/message", c.path)));
    if let Some((_, tp)) = c.terminated() {
        ev.extend(field(pod, &format!("{tp}/exitCode")));
        ev.extend(field(pod, &format!("{tp}/message")));
    }
    let sub = if text.contains("executable file not found") || text.contains("no such file or directory") {
        "command-not-found"
    } else if reason.ends_with("HookError") {
        "hook"
    } else {
        "runtime"
    };
    let cause = if text.is_empty() {
        format!("the runtime reported {reason}")
    } else {
        format!("the runtime could not run the container: {}", short(text))
    };
    Some(Hit::new(reason, cause, Confidence::High, ev).subclass(sub).container(c.name()))
}
