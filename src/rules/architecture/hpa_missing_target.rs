use serde_json::{Value, json};

use crate::declare_rule;
use crate::graph::Edge;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

/// Built-in kinds with a `scale` subresource, and their apiVersion.
const SCALABLE: &[(&str, &str)] = &[
    ("Deployment", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("ReplicaSet", "apps/v1"),
    ("ReplicationController", "v1"),
];

/// Built-in workload kinds without a `scale` subresource.
const NOT_SCALABLE: &[&str] = &["DaemonSet", "Job", "CronJob", "Pod"];

declare_rule! {
    /// ## What it checks
    /// A HorizontalPodAutoscaler's `spec.scaleTargetRef` names a workload that exists in the input,
    /// of a kind that can be scaled.
    ///
    /// - A target of a kind without a `scale` subresource (DaemonSet, Job, CronJob, Pod) is always
    ///   reported.
    /// - A target whose name exists in the namespace under another scalable kind (a StatefulSet
    ///   referenced as a Deployment) is reported with a fix.
    /// - Otherwise a missing built-in target is reported only when the input holds at least one
    ///   workload in the HPA's namespace (so the workloads are in scope), and a missing custom
    ///   target (Argo Rollout, ...) only when the input holds objects of that kind there.
    ///
    /// ## Why it matters
    /// The autoscaler does nothing: its status says `FailedGetScale`, and the workload keeps the
    /// replica count of its manifest through every traffic peak.
    ///
    /// ## Example
    /// ```yaml
    /// kind: HorizontalPodAutoscaler
    /// spec:
    ///   scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web-api }  # it is named api
    /// ```
    ///
    /// ## Fix
    /// Name the workload the HPA should scale. When a workload of that name exists under another
    /// scalable kind, the fix rewrites `kind` and `apiVersion`; it is unsafe: the autoscaler starts
    /// changing that workload's replica count, which changes cost and scheduling.
    pub struct HpaMissingTarget;
    meta {
        id: "ARC003",
        name: "hpa-missing-target",
        area: Area::Architecture,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "HorizontalPodAutoscaler targets a workload absent from the input",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &[],
            kube_score: &["horizontalpodautoscaler-has-target"],
            kube_linter: &["dangling-horizontalpodautoscaler"],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for HpaMissingTarget {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "HorizontalPodAutoscaler" {
            return;
        }
        let Some(target) = o.get("/spec/scaleTargetRef") else { return };
        let (Some(kind), Some(name)) =
            (target.get("kind").and_then(Value::as_str), target.get("name").and_then(Value::as_str))
        else {
            return;
        };
        let ns = o.effective_namespace().unwrap_or("default");
        let ref_text = format!("{kind}/{name}");
        let evidence = Evidence::field("/spec/scaleTargetRef", target);
        if NOT_SCALABLE.contains(&kind) {
            out.push(
                Violation::new(
                    "/spec/scaleTargetRef/kind",
                    format!(
                        "scaleTargetRef `{ref_text}`: a {kind} has no scale subresource, so it cannot be autoscaled"
                    ),
                )
                .evidence(evidence),
            );
            return;
        }
        if !cx.graph.targets(idx, Edge::Scales).is_empty() {
            return;
        }
        if let Some((other, api_version)) =
            SCALABLE.iter().find(|(k, _)| *k != kind && cx.graph.find(k, Some(ns), name).is_some())
        {
            out.push(
                Violation::new(
                    "/spec/scaleTargetRef/kind",
                    format!(
                        "scaleTargetRef `{ref_text}` does not exist, but {other} `{name}` does in namespace `{ns}`"
                    ),
                )
                .evidence(evidence)
                .evidence(Evidence::note("graph", format!("{other} `{name}` in namespace `{ns}`")))
                .fix(
                    Fix::new(
                        format!("Target {other} `{name}`"),
                        Applicability::Unsafe,
                        vec![
                            FixOp::Replace {
                                path: "/spec/scaleTargetRef/kind".to_string(),
                                value: json!(other).into(),
                            },
                            FixOp::Add {
                                path: "/spec/scaleTargetRef/apiVersion".to_string(),
                                value: json!(api_version).into(),
                            },
                        ],
                    )
                    .with_note("the autoscaler starts changing this workload's replica count"),
                ),
            );
            return;
        }
        let builtin = SCALABLE.iter().any(|(k, _)| *k == kind);
        let in_scope = if builtin { cx.graph.workloads_in(ns) > 0 } else { cx.graph.count(kind, Some(ns)) > 0 };
        if !in_scope {
            return;
        }
        let scope = if builtin {
            format!("{} workload(s) in namespace `{ns}`", cx.graph.workloads_in(ns))
        } else {
            format!("{} {kind}(s) in namespace `{ns}`", cx.graph.count(kind, Some(ns)))
        };
        out.push(
            Violation::new(
                "/spec/scaleTargetRef/name",
                format!("scaleTargetRef `{ref_text}` is not in the input ({scope}, none named `{name}`)"),
            )
            .evidence(evidence)
            .evidence(Evidence::note("graph", format!("no {kind} `{name}` in namespace `{ns}`"))),
        );
    }
}
