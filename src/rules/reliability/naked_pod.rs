use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::reliability::common::is_controlled;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No Pod is created on its own: a Pod without `metadata.ownerReferences` (no Deployment,
    /// StatefulSet, DaemonSet, Job or other controller behind it) is flagged. Static pods (mirror pods,
    /// and control-plane manifests labelled `tier: control-plane`) and Helm hook pods (`helm.sh/hook`,
    /// such as `helm test` pods) are meant to be bare and are skipped.
    ///
    /// Polaris's fixture set has a `nakedPod` directory, but it exercises a custom check about labels,
    /// not bare pods, so this rule is not mapped to it.
    ///
    /// ## Why it matters
    /// Nothing recreates a bare pod. When its node fails, is drained or is scaled down, or when the pod
    /// is evicted, it is gone for good; it cannot be rolled out, scaled or rolled back either.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata: { name: worker }
    /// spec:
    ///   containers: [...]
    /// ```
    ///
    /// ## Fix
    /// Wrap the pod spec in a controller: a Deployment for a long-running service, a Job for a task that
    /// runs to completion, a DaemonSet for a per-node agent. There is no automatic fix: the choice of
    /// controller, selector and labels is yours.
    pub struct NakedPod;
    meta {
        id: "REL014",
        name: "naked-pod",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Pod is not managed by a controller",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

impl Rule for NakedPod {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "Pod" || o.group() != "" || is_controlled(o) {
            return;
        }
        let control_plane =
            o.labels().and_then(|l| l.get("tier")).and_then(serde_json::Value::as_str) == Some("control-plane");
        if o.annotation("kubernetes.io/config.mirror").is_some()
            || o.annotation("helm.sh/hook").is_some()
            || control_plane
        {
            return;
        }
        let path = "/metadata/ownerReferences";
        out.push(
            Violation::new(path, format!("Pod `{}` has no controller; nothing recreates it if it is lost", o.name))
                .evidence(Evidence::unset(path)),
        );
    }
}
