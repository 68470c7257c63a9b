use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A StatefulSet with fewer ready replicas than declared, or whose `updateRevision` differs from its
    /// `currentRevision` with updated replicas missing (a stuck rolling update); a DaemonSet with
    /// `numberUnavailable` above zero or misscheduled pods. Only objects with status (live data).
    ///
    /// ## Why it matters
    /// StatefulSets update one pod at a time: one failing pod blocks the rest, and a DaemonSet missing on
    /// a node leaves that node without its agent (logs, network, storage).
    ///
    /// ## Example
    /// ```json
    /// "status": {"replicas": 3, "readyReplicas": 1, "currentRevision": "db-6b9f", "updateRevision": "db-7c4d"}
    /// ```
    ///
    /// ## Fix
    /// Fix what the pods' own diagnoses say; for DaemonSets check taints and node selectors. No automatic
    /// fix.
    pub struct WorkloadUnavailable;
    meta {
        id: "DIA021",
        name: "workload-unavailable",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "StatefulSet or DaemonSet with unavailable or misscheduled pods",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "workload-unavailable";

impl Rule for WorkloadUnavailable {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if !has_status(o) || cx.graph.controller(idx).is_some() {
            return;
        }
        let n = |p: &str| o.get(p).and_then(Value::as_i64);
        let hit = match o.kind.as_str() {
            "StatefulSet" => {
                let want = n("/spec/replicas").unwrap_or(1);
                let ready = n("/status/readyReplicas").unwrap_or(0);
                let stuck_update = {
                    let (cur, upd) = (s(&o.body, "/status/currentRevision"), s(&o.body, "/status/updateRevision"));
                    !cur.is_empty() && !upd.is_empty() && cur != upd && n("/status/updatedReplicas").unwrap_or(0) < want
                };
                if ready >= want && !stuck_update {
                    return;
                }
                let mut ev = Vec::new();
                for p in [
                    "/spec/replicas",
                    "/status/readyReplicas",
                    "/status/currentRevision",
                    "/status/updateRevision",
                    "/status/updatedReplicas",
                ] {
                    ev.extend(field(o, p));
                }
                let (sub, cause) = if ready < want {
                    (
                        "not-ready",
                        format!("{ready} of {want} replicas are ready: a failing pod blocks the ordered rollout"),
                    )
                } else {
                    ("update-stuck", "the rolling update does not progress to the new revision".to_string())
                };
                Hit::new(format!("{ready} of {want} ready"), cause, Confidence::Medium, ev).subclass(sub)
            }
            "DaemonSet" => {
                let unavailable = n("/status/numberUnavailable").unwrap_or(0);
                let mis = n("/status/numberMisscheduled").unwrap_or(0);
                if unavailable <= 0 && mis <= 0 {
                    return;
                }
                let mut ev = Vec::new();
                for p in [
                    "/status/desiredNumberScheduled",
                    "/status/numberAvailable",
                    "/status/numberUnavailable",
                    "/status/numberMisscheduled",
                ] {
                    ev.extend(field(o, p));
                }
                let (sub, cause) = if unavailable > 0 {
                    ("unavailable", format!("{unavailable} node(s) have no available pod of this DaemonSet"))
                } else {
                    ("misscheduled", format!("{mis} pod(s) run on nodes they should not (labels or taints changed)"))
                };
                Hit::new(format!("{unavailable} unavailable, {mis} misscheduled"), cause, Confidence::Medium, ev)
                    .subclass(sub)
            }
            _ => return,
        };
        report_object(cx, idx, CLASS, "/status", hit, out);
    }
}
