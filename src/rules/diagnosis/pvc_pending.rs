use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A PersistentVolumeClaim in phase `Pending` or `Lost`, with `ProvisioningFailed`/`FailedBinding`
    /// events and a missing StorageClass as hypotheses. A claim of a `WaitForFirstConsumer` StorageClass
    /// (or with a `WaitForFirstConsumer` event) is normal until a scheduled pod uses it, and is not
    /// reported until then.
    ///
    /// ## Why it matters
    /// Pods that mount the claim stay Pending; a Lost claim's data is gone from the cluster's view.
    ///
    /// ## Example
    /// ```json
    /// "spec": {"storageClassName": "fast"}, "status": {"phase": "Pending"}
    /// ```
    ///
    /// ## Fix
    /// Create the StorageClass or fix the name, repair the provisioner, or provide a matching
    /// PersistentVolume. No automatic fix.
    pub struct PvcPending;
    meta {
        id: "DIA024",
        name: "pvc-pending",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "PersistentVolumeClaim Pending or Lost",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "pvc-pending";

impl Rule for PvcPending {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(pvc) = cx.object(idx) else { return };
        if pvc.kind != "PersistentVolumeClaim" {
            return;
        }
        let ph = s(&pvc.body, "/status/phase");
        if !matches!(ph, "Pending" | "Lost") {
            return;
        }
        let class = s(&pvc.body, "/spec/storageClassName");
        let sc =
            if class.is_empty() { None } else { cx.graph.find("StorageClass", None, class).and_then(|i| cx.object(i)) };
        let wait_event = !events_with(cx, pvc, &["WaitForFirstConsumer"]).is_empty();
        let wffc = wait_event || sc.is_some_and(|c| s(&c.body, "/volumeBindingMode") == "WaitForFirstConsumer");
        let ns = pvc.effective_namespace();
        let used_by_scheduled =
            cx.graph.in_namespace(ns.unwrap_or("default")).iter().filter_map(|&i| cx.object(i)).any(|p| {
                p.kind == "Pod"
                    && !s(&p.body, "/spec/nodeName").is_empty()
                    && p.get("/spec/volumes")
                        .and_then(Value::as_array)
                        .is_some_and(|vs| vs.iter().any(|v| s(v, "/persistentVolumeClaim/claimName") == pvc.name))
            });
        if ph == "Pending" && wffc && !used_by_scheduled {
            return;
        }
        let mut ev = vec![Evidence::note(at(pvc, "/status/phase"), ph)];
        ev.extend(field(pvc, "/spec/storageClassName"));
        let events = events_with(cx, pvc, &["ProvisioningFailed", "FailedBinding", "ExternalProvisioning"]);
        let (eev, count, first) = event_evidence(cx, &events);
        let hit = if ph == "Lost" {
            Hit::new("Lost", "the bound PersistentVolume no longer exists", Confidence::High, ev).subclass("lost")
        } else if !class.is_empty() && sc.is_none() && !cx.graph.of_kind("StorageClass").is_empty() {
            ev.extend(eev);
            Hit::new("Pending", format!("the StorageClass `{class}` does not exist"), Confidence::High, ev)
                .subclass("storage-class-missing")
        } else if let Some(e) = events.iter().rev().find(|e| e.reason == "ProvisioningFailed") {
            let cause = format!("the provisioner failed: {}", short(&e.message));
            ev.extend(eev);
            Hit::new("Pending", cause, Confidence::High, ev).subclass("provisioning-failed")
        } else if !events.is_empty() {
            ev.extend(eev);
            Hit::new("Pending", "no PersistentVolume matches and none was provisioned", Confidence::Medium, ev)
                .subclass("no-match")
        } else {
            Hit::new("Pending", "the claim is not bound; no events in the input say why", Confidence::Low, ev)
                .subclass("unknown")
        };
        report_object(cx, idx, CLASS, "/status/phase", hit.since(first.as_deref()).count(count.max(1)), out);
    }
}
