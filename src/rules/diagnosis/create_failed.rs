use crate::declare_rule;
use crate::model::{Area, Confidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A ReplicaSet, Job, StatefulSet or DaemonSet with a `ReplicaFailure` condition `True` (reason
    /// `FailedCreate`), or `FailedCreate` events about it; reported on the top-most controller in the
    /// input. Sub-classes from the message: `quota` (`exceeded quota`), `pod-security` (`violates
    /// PodSecurity`), `webhook` (`admission webhook ... denied`), `service-account` (not found).
    ///
    /// ## Why it matters
    /// No pod exists to diagnose: the only trace of the failure is on the controller, and the workload
    /// silently runs fewer replicas than declared.
    ///
    /// ## Example
    /// ```json
    /// {"kind": "Event", "reason": "FailedCreate", "involvedObject": {"kind": "ReplicaSet", "name": "web-7d9c"},
    ///  "message": "Error creating: pods \"web-7d9c-x\" is forbidden: exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=8"}
    /// ```
    ///
    /// ## Fix
    /// Raise the quota or lower the requests, make the pod template meet the namespace's PodSecurity
    /// level, fix the webhook, or create the ServiceAccount. No automatic fix.
    pub struct CreateFailed;
    meta {
        id: "DIA020",
        name: "create-failed",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Controller cannot create pods (quota, PodSecurity, webhook, missing ServiceAccount)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "create-failed";

impl Rule for CreateFailed {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(family) = subject_family(cx, idx) else { return };
        let mut ev = Vec::new();
        let mut messages = Vec::new();
        let mut count: u64 = 0;
        let mut first: Option<String> = None;
        for i in family {
            let Some(o) = cx.object(i) else { continue };
            if !matches!(o.kind.as_str(), "ReplicaSet" | "Job" | "StatefulSet" | "DaemonSet" | "ReplicationController")
            {
                continue;
            }
            if let Some((ci, c)) = condition(o, "ReplicaFailure")
                && s(c, "/status") == "True"
            {
                ev.extend(field(o, &format!("/status/conditions/{ci}/reason")));
                ev.extend(field(o, &format!("/status/conditions/{ci}/message")));
                messages.push(s(c, "/message").to_string());
                count = count.saturating_add(1);
            }
            let events = events_with(cx, o, &["FailedCreate"]);
            let (eev, n, f) = event_evidence(cx, &events);
            ev.extend(eev);
            count = count.saturating_add(n);
            messages.extend(events.iter().map(|e| e.message.clone()));
            first = match (first, f) {
                (Some(a), Some(b)) => Some(if parse_time(&a) <= parse_time(&b) { a } else { b }),
                (a, b) => a.or(b),
            };
        }
        if messages.is_empty() {
            return;
        }
        let msg = messages.last().cloned().unwrap_or_default();
        let (sub, cause) = if msg.contains("exceeded quota") {
            (
                "quota",
                format!("a ResourceQuota is exhausted: {}", short(msg.split("forbidden: ").nth(1).unwrap_or(&msg))),
            )
        } else if msg.contains("violates PodSecurity") {
            ("pod-security", "the pod template violates the namespace's PodSecurity level".to_string())
        } else if msg.contains("admission webhook") {
            ("webhook", format!("an admission webhook denied or failed the request: {}", short(&msg)))
        } else if msg.contains("serviceaccount") && msg.contains("not found") {
            ("service-account", "the pod's ServiceAccount does not exist".to_string())
        } else {
            ("other", format!("the controller cannot create pods: {}", short(&msg)))
        };
        let hit =
            Hit::new("FailedCreate", cause, Confidence::High, ev).subclass(sub).since(first.as_deref()).count(count);
        report_object(cx, idx, CLASS, "/status/conditions", hit, out);
    }
}
