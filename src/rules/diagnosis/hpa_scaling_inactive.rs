use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A HorizontalPodAutoscaler whose `AbleToScale` condition is `False` (`FailedGetScale`: the target is
    /// missing), whose `ScalingActive` is `False` (`FailedGetResourceMetric`, `InvalidSelector`: no
    /// metrics, often because the target's containers have no requests), or whose `ScalingLimited` is
    /// `True` (pinned at min or max: low severity). Class `hpa-cannot-scale`.
    ///
    /// ## Why it matters
    /// An autoscaler that cannot read metrics keeps the current replica count under any load: capacity is
    /// not there when needed.
    ///
    /// ## Example
    /// ```json
    /// "conditions": [{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
    ///   "message": "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu"}]
    /// ```
    ///
    /// ## Fix
    /// Set requests on the target's containers, install metrics-server, fix the target reference, or
    /// raise `maxReplicas`. No automatic fix.
    pub struct HpaScalingInactive;
    meta {
        id: "DIA026",
        name: "hpa-scaling-inactive",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "HorizontalPodAutoscaler cannot scale (FailedGetScale, FailedGetResourceMetric, limited)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "hpa-cannot-scale";

impl Rule for HpaScalingInactive {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(h) = cx.object(idx) else { return };
        if h.kind != "HorizontalPodAutoscaler" {
            return;
        }
        let mut hit: Option<Hit> = None;
        for (kind, bad, cap) in [
            ("AbleToScale", "False", None),
            ("ScalingActive", "False", None),
            ("ScalingLimited", "True", Some(Severity::Low)),
        ] {
            let Some((ci, c)) = condition(h, kind) else { continue };
            if s(c, "/status") != bad {
                continue;
            }
            let reason = s(c, "/reason");
            // Scaling disabled on purpose (replicas 0) is not a failure.
            if reason == "ScalingDisabled" {
                continue;
            }
            let mut ev = vec![Evidence::note(at(h, &format!("/status/conditions/{ci}/type")), kind)];
            ev.extend(field(h, &format!("/status/conditions/{ci}/reason")));
            ev.extend(field(h, &format!("/status/conditions/{ci}/message")));
            let msg = s(c, "/message");
            let cause = match reason {
                "FailedGetScale" => "the scale target cannot be read (missing or wrong scaleTargetRef)".to_string(),
                "FailedGetResourceMetric" if msg.contains("missing request") => {
                    "the target's containers have no resource requests, so utilization cannot be computed".to_string()
                }
                "FailedGetResourceMetric"
                | "FailedGetPodsMetric"
                | "FailedGetExternalMetric"
                | "FailedGetObjectMetric" => {
                    "the metrics API returns no metrics for the target (metrics-server or adapter)".to_string()
                }
                "InvalidSelector" => "the target's selector is invalid or overlaps another HPA's".to_string(),
                "TooManyReplicas" | "TooFewReplicas" => {
                    format!("the desired count is clamped by the HPA's bounds ({reason})")
                }
                _ => format!("{kind} is {bad}: {}", short(msg)),
            };
            let h1 = Hit::new(format!("{kind}={bad}"), cause, Confidence::High, ev)
                .subclass(kebab(reason))
                .since(c.get("lastTransitionTime").and_then(Value::as_str));
            hit = Some(match hit {
                None => h1.cap(cap),
                Some(mut prev) => {
                    // Any real failure lifts the cap of a merely limited HPA.
                    if cap.is_none() {
                        prev.cap = None;
                    }
                    prev.hypotheses.extend(h1.hypotheses);
                    prev.what = format!("{}, {kind}={bad}", prev.what);
                    prev
                }
            });
        }
        let Some(hit) = hit else { return };
        report_object(cx, idx, CLASS, "/status/conditions", hit, out);
    }
}
