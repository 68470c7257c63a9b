use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Job with a `Failed` condition `True` (`BackoffLimitExceeded`, `DeadlineExceeded`,
    /// `PodFailurePolicy`, `MaxFailedIndexesExceeded`), reported on its CronJob when that is in the
    /// input ("2 of 5 jobs"). A Job whose `Complete` or `SuccessCriteriaMet` condition is `True` is never
    /// failed, whatever `status.failed` says: it succeeded after retries (k8sgpt#1723), and its failed
    /// attempts' pods are not diagnosed either.
    ///
    /// ## Why it matters
    /// The batch work did not happen: backups, migrations, reports. The pods that would explain it are
    /// often deleted already, so the Job's condition is the last trace.
    ///
    /// ## Example
    /// ```json
    /// "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]
    /// ```
    ///
    /// ## Fix
    /// Read the failed pods' diagnoses (exit codes, OOM kills); raise `backoffLimit` or
    /// `activeDeadlineSeconds` only when the failures are transient. No automatic fix.
    pub struct JobFailed;
    meta {
        id: "DIA022",
        name: "job-failed",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Job failed (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy ...)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "job-failed";

impl Rule for JobFailed {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(family) = subject_family(cx, idx) else { return };
        let mut hits = Vec::new();
        let mut jobs = 0;
        for i in family {
            let Some(j) = cx.object(i).filter(|o| o.kind == "Job") else { continue };
            jobs += 1;
            if job_completed(j) {
                continue;
            }
            let Some((ci, c)) = condition(j, "Failed") else { continue };
            if s(c, "/status") != "True" {
                continue;
            }
            let reason = s(c, "/reason");
            let mut ev = Vec::new();
            ev.extend(field(j, &format!("/status/conditions/{ci}/reason")));
            ev.extend(field(j, &format!("/status/conditions/{ci}/message")));
            ev.extend(field(j, "/status/failed"));
            ev.extend(field(j, "/spec/backoffLimit"));
            let cause = match reason {
                "BackoffLimitExceeded" => "its pods failed more often than backoffLimit allows",
                "DeadlineExceeded" => "it ran longer than activeDeadlineSeconds",
                "PodFailurePolicy" => "a pod failure matched a FailJob rule of the podFailurePolicy",
                "MaxFailedIndexesExceeded" => "more indexes failed than maxFailedIndexes allows",
                _ => "the Job failed",
            };
            let mut hit =
                Hit::new(format!("Job failed ({reason})"), cause, Confidence::High, ev).subclass(kebab(reason));
            // Down the owner chain: how its pods ended.
            let mut ends: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
            for p in cx.graph.controlled(i) {
                let Some(pod) = cx.object(p).filter(|o| o.kind == "Pod") else { continue };
                let statuses = PodStatuses::of(pod);
                for cs in statuses.iter(pod) {
                    if let Some((t, _)) = cs.terminated() {
                        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
                        if code != 0 {
                            *ends.entry(format!("{} {} (exit {code})", cs.name(), s(t, "/reason"))).or_default() += 1;
                        }
                    }
                }
            }
            if !ends.is_empty() {
                let text: Vec<String> = ends.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
                hit = hit
                    .or(
                        format!("its pods ended with: {}", text.join(", ")),
                        Confidence::High,
                        vec![Evidence::note(format!("{} pods", j.display_id()), text.join(", "))],
                    )
                    .subclass("pods-failed");
            }
            hits.push(hit.since(c.get("lastTransitionTime").and_then(Value::as_str)));
        }
        if hits.is_empty() {
            return;
        }
        let failed = hits.len();
        let Some(o) = cx.object(idx) else { return };
        if o.kind == "CronJob" {
            for h in &mut hits {
                h.what = format!("{failed} of {jobs} jobs failed");
            }
        }
        report_hits(cx, idx, CLASS, "/status/conditions", hits, |_| 0, 0, out);
    }
}
