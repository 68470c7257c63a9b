use crate::declare_rule;
use crate::graph::Edge;
use serde_json::{Value, json};

use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::reliability::common::{autoscaler, is_controlled, max_pods};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every Deployment, StatefulSet, Argo Rollout and OpenShift DeploymentConfig that runs two or more pods (`spec.replicas` of 2 or more, or an
    /// autoscaler whose `maxReplicas` is 2 or more) has a PodDisruptionBudget in its namespace whose
    /// selector matches its pod template's labels (all of `matchLabels` and `matchExpressions`, as
    /// Kubernetes matches them).
    ///
    /// Single-replica workloads are not flagged: a budget cannot keep a single pod available through a
    /// drain without blocking the drain, so the finding there is REL007 (single replica). This is why the
    /// rule is not mapped to Polaris's `missingPodDisruptionBudget`, which flags every Deployment
    /// including single-replica ones; kube-score's PDB checks skip workloads with fewer than two replicas too.
    ///
    /// ## Why it matters
    /// Node drains (upgrades, autoscaler scale-down, maintenance) evict pods without waiting for their
    /// replacements unless a PodDisruptionBudget says how many may be down at once. Without one, a drain
    /// can evict every replica of a workload at the same time.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata: { name: web }
    /// spec:
    ///   replicas: 3
    ///   template:
    ///     metadata:
    ///       labels: { app: web }
    /// # ...and no PodDisruptionBudget selects app=web
    /// ```
    ///
    /// ## Fix
    /// Add a budget that lets one pod be disrupted at a time:
    /// ```yaml
    /// apiVersion: policy/v1
    /// kind: PodDisruptionBudget
    /// metadata: { name: web }
    /// spec:
    ///   maxUnavailable: 1
    ///   selector:
    ///     matchLabels: { app: web }
    /// ```
    ///
    /// The automatic fix (unsafe: it changes how node drains proceed) appends exactly this budget as a
    /// new document after the workload, with the workload's own selector; JSON files and `List` items
    /// get it as a snippet to add by hand.
    pub struct MissingPdb;
    meta {
        id: "REL010",
        name: "missing-pdb",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Multi-replica workload has no PodDisruptionBudget",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &[],
            kube_score: &["deployment-has-poddisruptionbudget", "statefulset-has-poddisruptionbudget"],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for MissingPdb {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let o = w.object;
        if !matches!(w.kind.kind, "Deployment" | "StatefulSet" | "Rollout" | "DeploymentConfig") || is_controlled(o) {
            return;
        }
        let Some(pods) = max_pods(cx, w, idx).filter(|n| *n >= 2) else { return };
        if cx
            .graph
            .sources(idx, Edge::Protects)
            .iter()
            .any(|&p| cx.object(p).is_some_and(|b| b.kind == "PodDisruptionBudget"))
        {
            return;
        }
        let labels = format!("{}/labels", w.pod_meta_path);
        let scale = match autoscaler(cx, idx).and_then(|a| cx.object(a.idx)) {
            Some(a) => Evidence::note("graph", format!("scaled by {} `{}` up to {pods} pods", a.kind, a.name)),
            None => Evidence::note("/spec/replicas", pods.to_string()),
        };
        let mut v = Violation::new(
            "/metadata/name",
            format!("{} `{}` runs up to {pods} pods and no PodDisruptionBudget selects them", o.kind, o.name),
        )
        .evidence(scale)
        .evidence(Evidence::note("graph", "no PodDisruptionBudget in the namespace selects the pod labels"));
        if let Some(l) = o.get(&labels) {
            v = v.evidence(Evidence::field(labels, l));
        }
        if let Some(fix) = pdb_fix(cx, o) {
            v = v.fix(fix);
        }
        out.push(v);
    }
}

/// A budget allowing one pod at a time to be disrupted, selecting the workload's own pods.
fn pdb_fix(cx: &Context<'_>, o: &crate::model::Object) -> Option<Fix> {
    let selector =
        o.get("/spec/selector").filter(|s| s.get("matchLabels").is_some() || s.get("matchExpressions").is_some())?;
    let ns = o.effective_namespace();
    let taken = cx.graph.find("PodDisruptionBudget", ns, &o.name).is_some();
    let name = if taken { format!("{}-pdb", o.name) } else { o.name.clone() };
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), Value::String(name.clone()));
    if let Some(ns) = &o.namespace {
        metadata.insert("namespace".into(), Value::String(ns.clone()));
    }
    let pdb = json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata,
        "spec": { "maxUnavailable": 1, "selector": selector },
    });
    Some(
        Fix::new(
            format!("Add PodDisruptionBudget `{name}` (maxUnavailable: 1)"),
            Applicability::Unsafe,
            vec![FixOp::Create { value: pdb.into() }],
        )
        .with_note("node drains then evict these pods one at a time"),
    )
}
