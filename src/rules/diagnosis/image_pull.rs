use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::EventView;
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A container waiting with `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`,
    /// `ErrImageNeverPull` or `ImageInspectError`. The waiting message and the pod's `Failed` events give
    /// the sub-class: `not-found` (tag or repository missing), `unauthorized` (credentials; the
    /// diagnosis says whether the pod's `imagePullSecrets` are in the input), `rate-limited` (429),
    /// `unreachable` (DNS, network, TLS), `platform` (no image for the node's architecture).
    ///
    /// ## Why it matters
    /// The pod never starts: a rollout with a typo in a tag stalls, and a registry outage or rate limit
    /// stops every new pod on every node.
    ///
    /// ## Example
    /// ```json
    /// "state": {"waiting": {"reason": "ErrImagePull", "message": "manifest for nginx:1.299 not found: manifest unknown"}}
    /// ```
    ///
    /// ## Fix
    /// Fix the image reference, add or repair the pull secret, mirror the image, or wait out a rate limit.
    /// No automatic fix.
    pub struct ImagePull;
    meta {
        id: "DIA003",
        name: "image-pull",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container image cannot be pulled (ErrImagePull, ImagePullBackOff)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "image-pull";

impl Rule for ImagePull {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

/// The waiting reasons of an image that cannot be pulled.
pub const REASONS: &[&str] =
    &["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "ImageInspectError"];

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    let statuses = PodStatuses::of(pod);
    statuses.iter(pod).filter(|c| !c.init).filter_map(|c| pull_hit(cx, pod, &c)).collect()
}

/// The image-pull hit of one container status, when it cannot pull (shared with init-failing).
#[must_use]
pub fn pull_hit(cx: &Context<'_>, pod: &Object, c: &ContainerStatus<'_>) -> Option<Hit> {
    let reason = c.waiting();
    if !REASONS.contains(&reason) {
        return None;
    }
    let waiting_msg = s(c.value, "/state/waiting/message");
    let events: Vec<&EventView> = cx
        .live()
        .about(pod)
        .into_iter()
        .filter(|e| e.container.as_deref().is_none_or(|n| n == c.name()))
        .filter(|e| matches!(e.reason.as_str(), "Failed" | "BackOff" | "ErrImageNeverPull" | "InspectFailed"))
        .collect();
    let mut messages: Vec<&str> = vec![waiting_msg];
    messages.extend(events.iter().map(|e| e.message.as_str()));
    let (sub, desc) = image_pull_subclass(reason, &messages);
    let image = s(c.value, "/image");
    let mut ev = vec![Evidence::note(at(pod, &format!("{}/state/waiting/reason", c.path)), reason)];
    ev.extend(field(pod, &format!("{}/state/waiting/message", c.path)));
    if let Some((spec, path)) = container_spec(pod, c.name()) {
        if let Some(img) = spec.get("image") {
            ev.push(Evidence::note(at(pod, &format!("{path}/image")), crate::model::value_text(img)));
        }
    } else if !image.is_empty() {
        ev.push(Evidence::note(at(pod, &format!("{}/image", c.path)), image));
    }
    let (eev, count, first) = event_evidence(cx, &events);
    ev.extend(eev);
    if sub == "unauthorized" {
        let secrets: Vec<&str> = pod
            .get("/spec/imagePullSecrets")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.get("name").and_then(Value::as_str)).collect())
            .unwrap_or_default();
        if secrets.is_empty() {
            ev.push(Evidence::note(at(pod, "/spec/imagePullSecrets"), "<unset>"));
        }
        for name in secrets {
            let there = cx.graph.find("Secret", pod.effective_namespace(), name).is_some();
            let state = if there { "present in the input" } else { "not in the input" };
            ev.push(Evidence::note(at(pod, "/spec/imagePullSecrets"), format!("{name} ({state})")));
        }
    }
    Some(
        Hit::new(reason, desc, if sub == "unknown" { Confidence::Low } else { Confidence::High }, ev)
            .subclass(sub)
            .container(c.name())
            .since(first.as_deref())
            .count(count.max(1)),
    )
}
