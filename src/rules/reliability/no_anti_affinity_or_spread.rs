use serde_json::{Map, Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::reliability::common::{is_controlled, max_pods, selects_own_pods};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};
use crate::workload::Workload;

declare_rule! {
    /// ## What it checks
    /// A Deployment, StatefulSet, ReplicaSet or ReplicationController that runs two or more pods
    /// (`replicas`, or its autoscaler's `maxReplicas`) tells the scheduler to spread them: a
    /// `podAntiAffinity` term (required or preferred, any topology key) or a `topologySpreadConstraints`
    /// entry whose label selector matches the workload's own pod labels. A term or constraint whose
    /// selector does not match the pods (a copy-paste from another workload, a missing selector) spreads
    /// nothing and is flagged too.
    ///
    /// Not mapped to Polaris's `topologySpreadConstraint` (which requires a spread constraint on every
    /// pod, single-replica and bare pods included, and ignores anti-affinity) nor to kube-linter's
    /// `no-anti-affinity` (which ignores topology spread constraints).
    ///
    /// ## Why it matters
    /// Nothing stops the scheduler from placing every replica on the same node or zone. Then one node
    /// failure, drain or zone outage takes all of them down at once and the replicas buy no availability.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// spec:
    ///   replicas: 3
    ///   template:
    ///     spec:
    ///       containers: [...]   # no affinity, no topologySpreadConstraints
    /// ```
    ///
    /// ## Fix
    /// Spread the pods over nodes (and zones, with `topology.kubernetes.io/zone`):
    /// ```yaml
    ///       topologySpreadConstraints:
    ///         - maxSkew: 1
    ///           topologyKey: kubernetes.io/hostname
    ///           whenUnsatisfiable: ScheduleAnyway
    ///           labelSelector:
    ///             matchLabels: { app: web }
    /// ```
    /// The automatic fix adds that soft constraint over nodes, with the workload's own selector. It is
    /// unsafe because it changes scheduling (pods may go to emptier, possibly more expensive nodes);
    /// `ScheduleAnyway` never leaves a pod pending. When the workload has no selector or pod labels to
    /// reuse, the fix is display-only with a `<LABEL>` placeholder.
    pub struct NoAntiAffinityOrSpread;
    meta {
        id: "REL012",
        name: "no-anti-affinity-or-spread",
        area: Area::Reliability,
        severity: Severity::Low,
        default_enabled: true,
        summary: "Replicas are not spread across nodes",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents::NONE,
    }
}

/// The anti-affinity terms of a pod spec, required and preferred.
fn anti_affinity_terms<'a>(w: &Workload<'a>) -> Vec<&'a Value> {
    let mut terms = Vec::new();
    if let Some(Value::Array(req)) = w.spec("/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution")
    {
        terms.extend(req.iter());
    }
    if let Some(Value::Array(pref)) =
        w.spec("/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution")
    {
        terms.extend(pref.iter().filter_map(|p| p.get("podAffinityTerm")));
    }
    terms
}

/// Whether an anti-affinity term applies to the workload's own pods (same namespace unless
/// `namespaces`/`namespaceSelector` widen it).
fn term_spreads(term: &Value, w: &Workload<'_>) -> bool {
    let ns = w.object.effective_namespace().unwrap_or("default");
    let ns_ok = match term.get("namespaces").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            list.iter().any(|n| n.as_str() == Some(ns)) || term.get("namespaceSelector").is_some()
        }
        _ => true,
    };
    ns_ok && selects_own_pods(term.get("labelSelector"), w)
}

/// The label selector the fix writes: the workload's `matchLabels`-style selector, or its pod labels.
fn own_selector(w: &Workload<'_>) -> Option<Value> {
    if let Some(sel) = w.selector.and_then(Value::as_object) {
        let structured = sel.contains_key("matchLabels") || sel.contains_key("matchExpressions");
        let selector = if structured { Value::Object(sel.clone()) } else { json!({ "matchLabels": sel }) };
        if selects_own_pods(Some(&selector), w) && !crate::workload::selector_is_empty(&selector) {
            return Some(selector);
        }
    }
    let labels: &Map<String, Value> = w.pod_labels.filter(|l| !l.is_empty())?;
    Some(json!({ "matchLabels": labels }))
}

impl Rule for NoAntiAffinityOrSpread {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let o = w.object;
        if is_controlled(o) {
            return;
        }
        let Some(pods) = max_pods(cx, w, idx).filter(|n| *n >= 2) else { return };
        let terms = anti_affinity_terms(w);
        let spread: Vec<&Value> = w
            .spec("/topologySpreadConstraints")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        if terms.iter().any(|t| term_spreads(t, w))
            || spread.iter().any(|c| selects_own_pods(c.get("labelSelector"), w))
        {
            return;
        }
        let path = w.spec_field("/topologySpreadConstraints");
        let message = if terms.is_empty() && spread.is_empty() {
            format!(
                "{} `{}` runs up to {pods} pods with no pod anti-affinity or topology spread constraint",
                o.kind, o.name
            )
        } else {
            format!(
                "{} `{}` runs up to {pods} pods but its anti-affinity and spread constraints do not select its own pods",
                o.kind, o.name
            )
        };
        let mut v =
            Violation::new(&path, message).evidence(Evidence::note("/spec/replicas", format!("up to {pods} pods")));
        v = match w.spec("/topologySpreadConstraints") {
            Some(c) => v.evidence(Evidence::field(&path, c)),
            None => v.evidence(Evidence::unset(&path)),
        };
        let anti = w.spec_field("/affinity/podAntiAffinity");
        v = match w.spec("/affinity/podAntiAffinity") {
            Some(a) => v.evidence(Evidence::field(&anti, a)),
            None => v.evidence(Evidence::unset(&anti)),
        };
        let (selector, applicability) = match own_selector(w) {
            Some(s) => (s, Applicability::Unsafe),
            None => (json!({ "matchLabels": { "<LABEL>": "<VALUE>" } }), Applicability::DisplayOnly),
        };
        let constraint = json!({
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": selector,
        });
        let op = if spread.is_empty() {
            FixOp::Add { path, value: json!([constraint]).into() }
        } else {
            FixOp::Add { path: format!("{path}/{}", spread.len()), value: constraint.into() }
        };
        out.push(
            v.fix(
                Fix::new("Spread pods across nodes", applicability, vec![op])
                    .with_note("changes where pods schedule; ScheduleAnyway never leaves a pod pending"),
            ),
        );
    }
}
