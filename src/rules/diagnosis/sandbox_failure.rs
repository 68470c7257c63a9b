use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A pod that is not running with `FailedCreatePodSandBox` or `NetworkNotReady` events: the
    /// container runtime or the CNI plugin could not set up the pod's sandbox. A `NetworkUnavailable`
    /// condition on its Node corroborates.
    ///
    /// ## Why it matters
    /// No container of the pod can start; when the CNI is broken, every new pod on the node fails the
    /// same way.
    ///
    /// ## Example
    /// ```json
    /// {"kind": "Event", "reason": "FailedCreatePodSandBox", "message": "failed to setup network for sandbox: plugin type=\"calico\" failed (add): error getting ClusterInformation"}
    /// ```
    ///
    /// ## Fix
    /// Repair the CNI plugin (its DaemonSet's pods on that node), free IP addresses in the IPAM pool, or
    /// drain the node. No automatic fix.
    pub struct SandboxFailure;
    meta {
        id: "DIA009",
        name: "sandbox-failure",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Pod sandbox (network namespace) cannot be created",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "sandbox-failure";

impl Rule for SandboxFailure {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    if matches!(phase(pod), "Running" | "Succeeded") {
        return Vec::new();
    }
    let events = events_with(cx, pod, &["FailedCreatePodSandBox", "NetworkNotReady"]);
    if events.is_empty() {
        return Vec::new();
    }
    let (ev, count, first) = event_evidence(cx, &events);
    let msg = events.last().map(|e| e.message.to_ascii_lowercase()).unwrap_or_default();
    let (sub, cause) = if msg.contains("ipam") || msg.contains("no ip addresses") || msg.contains("failed to allocate")
    {
        ("ipam", "the CNI plugin has no IP address to give the pod (IPAM)")
    } else if msg.contains("network") || msg.contains("cni") {
        ("cni", "the CNI plugin failed to set up the pod network")
    } else {
        ("runtime", "the container runtime failed to create the pod sandbox")
    };
    let mut hit = Hit::new("sandbox creation failed", cause, Confidence::High, ev)
        .subclass(sub)
        .since(first.as_deref())
        .count(count);
    let node = s(&pod.body, "/spec/nodeName");
    if let Some(n) = cx.graph.find("Node", None, node).and_then(|i| cx.object(i))
        && condition_is(n, "NetworkUnavailable", "True")
    {
        hit = hit.or(
            format!("node {node} reports NetworkUnavailable"),
            Confidence::Medium,
            vec![Evidence::note(format!("Node/{node} NetworkUnavailable"), "True")],
        );
    }
    vec![hit]
}
