use crate::declare_rule;
use crate::model::{Area, Confidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A pod that is not running (Pending, or a container waiting in `ContainerCreating`) with
    /// `FailedMount`, `FailedAttachVolume` or `FailedMapVolume` events. Sub-classes from the message:
    /// `missing-secret`/`missing-configmap` (`secret "s" not found`), `multi-attach` (a ReadWriteOnce
    /// volume still attached elsewhere), `host-path` (hostPath type check), `timeout` (`timed out waiting
    /// for the condition`).
    ///
    /// ## Why it matters
    /// The pod stays in ContainerCreating: it never starts, and the only trace is in events that expire
    /// after an hour.
    ///
    /// ## Example
    /// ```json
    /// {"kind": "Event", "reason": "FailedMount", "involvedObject": {"kind": "Pod", "name": "web-0"},
    ///  "message": "MountVolume.SetUp failed for volume \"certs\" : secret \"tls\" not found"}
    /// ```
    ///
    /// ## Fix
    /// Create the missing Secret or ConfigMap, detach the volume from the old node, fix the hostPath or
    /// the storage driver. No automatic fix.
    pub struct MountFailure;
    meta {
        id: "DIA008",
        name: "mount-failure",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Pod volumes cannot be attached or mounted",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "mount-failure";

impl Rule for MountFailure {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/spec/volumes", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    let statuses = PodStatuses::of(pod);
    let creating = statuses.iter(pod).any(|c| matches!(c.waiting(), "ContainerCreating" | "PodInitializing"));
    if !(phase(pod) == "Pending" || creating) {
        return Vec::new();
    }
    let events = events_with(cx, pod, &["FailedMount", "FailedAttachVolume", "FailedMapVolume"]);
    if events.is_empty() {
        return Vec::new();
    }
    let (mut ev, count, first) = event_evidence(cx, &events);
    ev.extend(field(pod, "/status/phase"));
    // The most specific message wins: a timeout usually follows the real error.
    let specific = |m: &str| {
        if m.contains("Multi-Attach error") {
            0
        } else if m.contains(" not found") && (m.contains("secret \"") || m.contains("configmap \"")) {
            1
        } else if m.contains("hostPath type check failed") {
            2
        } else if m.contains("timed out waiting for the condition") || m.contains("context deadline exceeded") {
            4
        } else {
            3
        }
    };
    let msg = events.iter().rev().map(|e| e.message.as_str()).min_by_key(|m| specific(m)).unwrap_or_default();
    let volume = msg.split("for volume \"").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default();
    let (sub, cause) = match specific(msg) {
        0 => ("multi-attach", "the volume is still attached to another node (ReadWriteOnce)".to_string()),
        1 if msg.contains("secret \"") => {
            ("missing-secret", format!("volume `{volume}` references a Secret that does not exist"))
        }
        1 => ("missing-configmap", format!("volume `{volume}` references a ConfigMap that does not exist")),
        2 => ("host-path", format!("hostPath volume `{volume}` does not exist on the node with the declared type")),
        4 => (
            "timeout",
            "volumes were not attached or mounted in time (storage driver or earlier mount error)".to_string(),
        ),
        _ => ("other", format!("mounting failed: {}", short(msg))),
    };
    vec![
        Hit::new("ContainerCreating: volume mount failed", cause, Confidence::High, ev)
            .subclass(sub)
            .since(first.as_deref())
            .count(count),
    ]
}
