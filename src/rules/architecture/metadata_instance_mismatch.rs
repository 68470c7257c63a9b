use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

const LABEL: &str = "app.kubernetes.io/instance";
const LABEL_PATH: &str = "/metadata/labels/app.kubernetes.io~1instance";

declare_rule! {
    /// ## What it checks
    /// A workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet,
    /// ReplicationController, or a bare Pod) that no controller manages has the label `app.kubernetes.io/instance` on its own
    /// metadata, equal to its `metadata.name`, as Polaris's `metadataAndInstanceMismatched` requires.
    ///
    /// Off by default: Helm sets `app.kubernetes.io/instance` to the release name, which usually
    /// differs from object names (`my-release` vs `my-release-web`), and many projects do not use
    /// the recommended labels at all. Enable it where the team's convention is instance = name.
    ///
    /// ## Why it matters
    /// Dashboards, cost reports and `kubectl -l` queries group objects by the recommended labels;
    /// a missing or inconsistent instance label puts the workload in the wrong group or in none.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata:
    ///   name: checkout
    ///   labels:
    ///     app.kubernetes.io/instance: payments
    /// ```
    ///
    /// ## Fix
    /// Set `app.kubernetes.io/instance` to the object's name. The automatic fix is unsafe: tools
    /// select on this label (Argo CD tracks the resources of an Application by it by default, and
    /// on a bare Pod it changes which Services and policies select the pod).
    pub struct MetadataInstanceMismatch;
    meta {
        id: "ARC007",
        name: "metadata-instance-mismatch",
        area: Area::Architecture,
        severity: Severity::Low,
        default_enabled: false,
        summary: "Label app.kubernetes.io/instance does not match metadata.name",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["metadataAndInstanceMismatched"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for MetadataInstanceMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        if w.owner.is_some() {
            // A controller created it: its generated name (`web-5d8f7b9c4-abcde`) is not a label to copy.
            return;
        }
        let o = w.object;
        let Some(name) = o.get("/metadata/name").and_then(Value::as_str).filter(|n| !n.is_empty()) else { return };
        let have = o.labels().and_then(|l| l.get(LABEL));
        if have.and_then(Value::as_str) == Some(name) {
            return;
        }
        let (message, evidence, op) = match have {
            Some(v) => (
                format!("label `{LABEL}` is `{}`, not the object's name `{name}`", crate::model::value_text(v)),
                Evidence::field(LABEL_PATH, v),
                FixOp::Replace { path: LABEL_PATH.to_string(), value: json!(name).into() },
            ),
            None => (
                format!("label `{LABEL}` is not set; it should be the object's name `{name}`"),
                Evidence::unset(LABEL_PATH),
                FixOp::Add { path: LABEL_PATH.to_string(), value: json!(name).into() },
            ),
        };
        out.push(
            Violation::new(LABEL_PATH, message)
                .evidence(evidence)
                .evidence(Evidence::field("/metadata/name", &json!(name)))
                .fix(
                    Fix::new(format!("Set {LABEL} to {name}"), Applicability::Unsafe, vec![op])
                        .with_note("tools such as Argo CD and label selectors may rely on the current value"),
                ),
        );
    }
}
