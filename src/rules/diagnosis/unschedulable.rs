use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Pending pod whose `PodScheduled` condition is `False` with reason `Unschedulable`. The
    /// scheduler's message (`0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated
    /// taint {...}`) becomes one hypothesis per reason, most nodes first, sub-classed
    /// (`insufficient-cpu`, `taint`, `node-affinity`, `pod-anti-affinity`, `too-many-pods`,
    /// `volume-node-affinity`, `unbound-pvc`); for `Insufficient` reasons the pod's requests are compared
    /// with the largest allocatable amount among the Nodes in the input.
    ///
    /// ## Why it matters
    /// The pod never runs. When the request exceeds every node, no amount of waiting helps; taints and
    /// affinity mismatches are configuration errors the scheduler can only report.
    ///
    /// ## Example
    /// ```json
    /// "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
    ///   "message": "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."}]
    /// ```
    ///
    /// ## Fix
    /// Lower the requests or add capacity, add the toleration or fix the node selector/affinity, bind the
    /// PersistentVolumeClaim. No automatic fix.
    pub struct Unschedulable;
    meta {
        id: "DIA006",
        name: "unschedulable",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Pod cannot be scheduled on any node",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "unschedulable";

impl Rule for Unschedulable {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status/conditions", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    if phase(pod) != "Pending" {
        return Vec::new();
    }
    let Some((ci, cond)) = condition(pod, "PodScheduled") else { return Vec::new() };
    if s(cond, "/status") != "False" || s(cond, "/reason") != "Unschedulable" {
        return Vec::new();
    }
    let base = format!("/status/conditions/{ci}");
    let mut common_ev = vec![Evidence::note(at(pod, &format!("{base}/reason")), "Unschedulable")];
    common_ev.extend(field(pod, &format!("{base}/message")));
    let events = events_with(cx, pod, &["FailedScheduling"]);
    let (eev, count, first) = event_evidence(cx, &events);
    common_ev.extend(eev);
    // The newest scheduler message wins: the condition's, else the last event's.
    let msg = match s(cond, "/message") {
        "" => events.last().map(|e| e.message.as_str()).unwrap_or_default(),
        m => m,
    };
    let since = s(cond, "/lastTransitionTime");
    let mut hit: Option<Hit> = None;
    let parsed = parse_scheduler_message(msg);
    let total = parsed.as_ref().map_or(0, |(t, _)| *t);
    for r in parsed.map(|(_, r)| r).unwrap_or_default() {
        let (sub, cause, conf, extra) = explain(cx, pod, &r, total);
        let mut ev = common_ev.clone();
        ev.extend(extra);
        hit = Some(match hit {
            None => Hit::new("Pending: unschedulable", cause, conf, ev).subclass(sub),
            Some(h) => h.or(cause, conf, ev).subclass(sub),
        });
    }
    let hit = hit.unwrap_or_else(|| {
        Hit::new(
            "Pending: unschedulable",
            format!("the scheduler found no node: {}", short(msg)),
            Confidence::Medium,
            common_ev,
        )
        .subclass("other")
    });
    vec![hit.count(count.max(1)).since(first.as_deref().or(Some(since)))]
}

/// One scheduler reason as a hypothesis: sub-class, cause, confidence, extra evidence.
fn explain(cx: &Context<'_>, pod: &Object, r: &SchedReason, total: u64) -> (String, String, Confidence, Vec<Evidence>) {
    let nodes = if r.nodes > 0 { format!(" ({} of {total} nodes)", r.nodes) } else { String::new() };
    let reason = r.reason.as_str();
    if let Some(res) = reason.strip_prefix("Insufficient ") {
        let res = res.trim();
        let want = pod_request(pod, res);
        let mut ev = vec![Evidence::note(
            at(pod, "/spec/containers/*/resources/requests"),
            format!("{res} {}", format_amount(res, want)),
        )];
        let mut conf = Confidence::High;
        let mut cause =
            format!("not enough {res} free on the nodes{nodes}: the pod requests {}", format_amount(res, want));
        if let Some((max, node)) = max_allocatable(cx, res) {
            ev.push(Evidence::note(format!("Node/{node} /status/allocatable/{res}"), format_amount(res, max)));
            if want > max {
                cause = format!(
                    "the pod requests {} {res}, more than any node can offer (largest allocatable {} on {node})",
                    format_amount(res, want),
                    format_amount(res, max)
                );
            } else {
                // It would fit an empty node: other pods hold the capacity.
                conf = Confidence::Medium;
            }
        }
        return (format!("insufficient-{}", res.replace('/', "-")), cause, conf, ev);
    }
    let (sub, what, extra) = if reason.contains("untolerated taint") || reason.contains("had taint") {
        let tol = pod.get("/spec/tolerations").map(crate::model::value_text).unwrap_or_else(|| "<unset>".to_string());
        (
            "taint",
            format!("nodes carry taints the pod does not tolerate: {reason}"),
            vec![Evidence::note(at(pod, "/spec/tolerations"), short(&tol))],
        )
    } else if reason.contains("node affinity/selector") || reason.contains("node selector") {
        let sel = pod
            .get("/spec/nodeSelector")
            .or_else(|| pod.get("/spec/affinity/nodeAffinity"))
            .map(crate::model::value_text)
            .unwrap_or_else(|| "<unset>".to_string());
        (
            "node-affinity",
            "no node matches the pod's node selector or node affinity".to_string(),
            vec![Evidence::note(at(pod, "/spec/nodeSelector"), short(&sel))],
        )
    } else if reason.contains("anti-affinity") || reason.contains("affinity rules") {
        ("pod-anti-affinity", "pod (anti-)affinity rules exclude the nodes".to_string(), Vec::new())
    } else if reason.contains("Too many pods") {
        ("too-many-pods", "the nodes are at their pod limit".to_string(), Vec::new())
    } else if reason.contains("volume node affinity conflict") {
        ("volume-node-affinity", "the pod's volumes are bound to nodes it cannot use (zone)".to_string(), Vec::new())
    } else if reason.contains("unbound immediate PersistentVolumeClaims")
        || reason.contains("unbound PersistentVolumeClaims")
    {
        ("unbound-pvc", "a PersistentVolumeClaim the pod uses is not bound".to_string(), Vec::new())
    } else if reason.contains("unschedulable") {
        ("node-unschedulable", "the nodes are cordoned (unschedulable)".to_string(), Vec::new())
    } else {
        ("other", format!("the scheduler says: {reason}"), Vec::new())
    };
    (sub.to_string(), format!("{what}{nodes}"), Confidence::High, extra)
}
