use crate::declare_rule;
use crate::model::{Area, Confidence, Object, Severity};
use crate::rules::diagnosis::common::EventView;
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Events about a pod (or its workload) whose message says `forbidden: User
    /// "system:serviceaccount:NS:NAME" cannot VERB resource ...`: the workload's ServiceAccount lacks a
    /// permission it uses. (With `--logs`, the same message in the previous container's logs.)
    ///
    /// ## Why it matters
    /// The application fails on every call it is not allowed to make, often as a crash loop whose logs
    /// are the only explanation.
    ///
    /// ## Example
    /// ```json
    /// {"kind": "Event", "type": "Warning", "message": "pods is forbidden: User \"system:serviceaccount:shop:web\" cannot list resource \"pods\" in API group \"\" in the namespace \"shop\""}
    /// ```
    ///
    /// ## Fix
    /// Bind a Role granting exactly that verb and resource to the ServiceAccount, or stop the call. No
    /// automatic fix.
    pub struct RuntimePermissionDenied;
    meta {
        id: "DIA031",
        name: "runtime-permission-denied",
        area: Area::Diagnosis,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Workload denied by RBAC at run time (forbidden: User system:serviceaccount:...)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "runtime-permission-denied";

impl Rule for RuntimePermissionDenied {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    let denied: Vec<&EventView> = cx
        .live()
        .about(pod)
        .into_iter()
        .filter(|e| e.message.contains("forbidden: User \"system:serviceaccount:"))
        .collect();
    if denied.is_empty() {
        return Vec::new();
    }
    let (mut ev, count, first) = event_evidence(cx, &denied);
    ev.extend(field(pod, "/spec/serviceAccountName"));
    let msg = denied.last().map_or("", |e| e.message.as_str());
    let sa = msg.split("system:serviceaccount:").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default();
    let what = msg.split("\" cannot ").nth(1).map(|r| r.split(" in ").next().unwrap_or(r)).unwrap_or("call the API");
    let cause = format!("ServiceAccount {sa} is not allowed to {what}");
    vec![Hit::new("forbidden by RBAC", cause, Confidence::High, ev).since(first.as_deref()).count(count)]
}
