use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::diagnosis::config_error::config_hit;
use crate::rules::diagnosis::container_create_error::create_hit;
use crate::rules::diagnosis::image_pull::pull_hit;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// An init container (not a running sidecar) that is waiting with an error (`CrashLoopBackOff`,
    /// an image pull error, `CreateContainerConfigError`, `RunContainerError` ...) or terminated with a
    /// non-zero exit code. The hypotheses are those of `crash-loop`, `image-pull`, `config-error` and
    /// `container-create-error`, applied to the init container.
    ///
    /// ## Why it matters
    /// The pod's regular containers never start while an init container fails: the pod shows `Init:`
    /// statuses forever.
    ///
    /// ## Example
    /// ```json
    /// "initContainerStatuses": [{"name": "migrate", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
    ///   "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]
    /// ```
    ///
    /// ## Fix
    /// Fix what the init container does (its command, image, configuration, the service it waits for).
    /// No automatic fix.
    pub struct InitFailing;
    meta {
        id: "DIA015",
        name: "init-failing",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Init container failing, so the pod never starts",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "init-failing";

impl Rule for InitFailing {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    if matches!(phase(pod), "Succeeded" | "Running") {
        return Vec::new();
    }
    let statuses = PodStatuses::of(pod);
    let mut hits = Vec::new();
    for c in statuses.iter(pod).filter(|c| c.init) {
        let hit = pull_hit(cx, pod, &c)
            .or_else(|| config_hit(cx, pod, &c))
            .or_else(|| create_hit(pod, &c))
            .or_else(|| exit_hit(pod, &c));
        if let Some(h) = hit {
            hits.push(Hit { what: format!("Init:{}", h.what), ..h });
        }
    }
    hits
}

/// An init container that crash-loops or terminated with a non-zero code.
fn exit_hit(pod: &Object, c: &ContainerStatus<'_>) -> Option<Hit> {
    let (t, tp) = c.terminated()?;
    let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
    if code == 0 {
        return None;
    }
    let mut ev = Vec::new();
    if !c.waiting().is_empty() {
        ev.extend(field(pod, &format!("{}/state/waiting/reason", c.path)));
    }
    ev.extend(field(pod, &format!("{tp}/exitCode")));
    ev.extend(field(pod, &format!("{tp}/reason")));
    ev.extend(field(pod, &format!("{tp}/message")));
    ev.extend(field(pod, &format!("{}/restartCount", c.path)));
    let what = if c.waiting().is_empty() { "Error".to_string() } else { c.waiting().to_string() };
    let finished = t.get("finishedAt").and_then(Value::as_str);
    Some(
        Hit::new(what, exit_code_meaning(code), Confidence::High, ev)
            .subclass(format!("exit-{code}"))
            .container(c.name())
            .since(finished)
            .count(c.restarts().max(1)),
    )
}
