use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A CronJob (with status) that is suspended (info: often on purpose), has `TooManyMissedTimes` or
    /// `FailedNeedsStart` events (the controller gave up on missed schedules), or whose most recent Job
    /// in the input failed without a later success.
    ///
    /// ## Why it matters
    /// Scheduled work that silently stops running is noticed when its result is missing: a backup that
    /// has not run for weeks.
    ///
    /// ## Example
    /// ```json
    /// {"kind": "Event", "reason": "TooManyMissedTimes", "involvedObject": {"kind": "CronJob", "name": "backup"},
    ///  "message": "too many missed start times (> 100). Set or decrease .spec.startingDeadlineSeconds or check clock skew"}
    /// ```
    ///
    /// ## Fix
    /// Unsuspend it, set `startingDeadlineSeconds`, fix the failing Job. No automatic fix.
    pub struct CronjobNotRunning;
    meta {
        id: "DIA023",
        name: "cronjob-not-running",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "CronJob not running its jobs (suspended, missed schedules, last job failed)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "cronjob-not-running";

impl Rule for CronjobNotRunning {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(cj) = cx.object(idx) else { return };
        if cj.kind != "CronJob" || (!has_status(cj) && cx.live().about(cj).is_empty()) {
            return;
        }
        let mut parts: Vec<Hit> = Vec::new();
        let missed = events_with(cx, cj, &["TooManyMissedTimes", "FailedNeedsStart", "MissSchedule"]);
        if !missed.is_empty() {
            let (ev, count, first) = event_evidence(cx, &missed);
            parts.push(
                Hit::new(
                    "missed schedules",
                    "the controller missed too many start times and stopped (set startingDeadlineSeconds)",
                    Confidence::High,
                    ev,
                )
                .subclass("missed-schedules")
                .since(first.as_deref())
                .count(count),
            );
        }
        // The newest Job of the CronJob in the input, by creation time then name.
        let newest =
            cx.graph.controlled(idx).into_iter().filter_map(|i| cx.object(i)).filter(|o| o.kind == "Job").max_by(
                |a, b| {
                    (s(&a.body, "/metadata/creationTimestamp"), &a.name)
                        .cmp(&(s(&b.body, "/metadata/creationTimestamp"), &b.name))
                },
            );
        if let Some(j) = newest
            && !job_completed(j)
            && condition_is(j, "Failed", "True")
        {
            let ev = vec![Evidence::note(format!("{} Failed", j.display_id()), "True")];
            parts.push(
                Hit::new("last job failed", format!("its most recent Job {} failed", j.name), Confidence::High, ev)
                    .subclass("last-job-failed"),
            );
        }
        if cj.get("/spec/suspend").and_then(Value::as_bool) == Some(true) {
            let ev = vec![Evidence::note(at(cj, "/spec/suspend"), "true")];
            let suspended =
                Hit::new("suspended", "the CronJob is suspended", Confidence::High, ev).subclass("suspended");
            // Suspending is usually deliberate: info only, unless something else is wrong too.
            parts.push(if parts.is_empty() { suspended.cap(Some(Severity::Info)) } else { suspended });
        }
        let mut parts = parts.into_iter();
        let Some(mut hit) = parts.next() else { return };
        for p in parts {
            hit.hypotheses.extend(p.hypotheses);
        }
        hit.what = hit.hypotheses.iter().filter_map(|h| h.subclass.clone()).collect::<Vec<_>>().join(", ");
        hit.evidence_schedule(cj);
        report_object(cx, idx, CLASS, "/spec/schedule", hit, out);
    }
}

trait Schedule {
    fn evidence_schedule(&mut self, cj: &Object);
}

impl Schedule for Hit {
    /// Adds the schedule and last schedule time to the first hypothesis.
    fn evidence_schedule(&mut self, cj: &Object) {
        if let Some(h) = self.hypotheses.first_mut() {
            h.evidence.extend(field(cj, "/spec/schedule"));
            h.evidence.extend(field(cj, "/status/lastScheduleTime"));
            h.evidence.extend(field(cj, "/status/lastSuccessfulTime"));
        }
    }
}
