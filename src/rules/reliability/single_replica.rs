use serde_json::json;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, Severity};
use crate::rules::reliability::common::{autoscaler, is_controlled, set};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Deployments, StatefulSets, ReplicaSets and ReplicationControllers run at least two replicas:
    /// `spec.replicas` unset (Kubernetes defaults it to 1) or `1` is flagged, unless a
    /// HorizontalPodAutoscaler (or a KEDA ScaledObject) in the input scales the workload, since then
    /// the autoscaler owns the count (REL015 checks its floor). `replicas: 0` is taken as a deliberate
    /// scale-down and not flagged; ReplicaSets owned by a Deployment are checked on the Deployment.
    /// (Polaris's `deploymentMissingReplicas` checks Deployments only and does not look for autoscalers.)
    ///
    /// ## Why it matters
    /// With one replica every node drain, eviction, crash or rollout that cannot surge takes the
    /// service down until the replacement pod is scheduled, pulled and ready.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// spec:
    ///   replicas: 1
    /// ```
    ///
    /// ## Fix
    /// Run two or more replicas (and spread them, REL012), or let an autoscaler with `minReplicas: 2`
    /// manage the count. The automatic fix sets `replicas: 2`; it is unsafe because it roughly doubles
    /// the workload's cost, and because some applications (a database, a singleton scheduler, anything
    /// holding a lock or a ReadWriteOnce volume) do not support a second copy.
    pub struct SingleReplica;
    meta {
        id: "REL007",
        name: "single-replica",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Workload runs a single replica",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["deploymentMissingReplicas"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for SingleReplica {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let o = w.object;
        if !w.is_service_like() || is_controlled(o) || w.replicas != Some(1) || autoscaler(cx, idx).is_some() {
            return;
        }
        let path = "/spec/replicas";
        let evidence = match o.get(path) {
            Some(v) if v.as_i64() == Some(1) => Evidence::field(path, v),
            None | Some(serde_json::Value::Null) => Evidence::note(path, "<unset> (defaults to 1)"),
            // Not a number: the schema rules report it.
            Some(_) => return,
        };
        out.push(
            Violation::new(path, format!("{} `{}` runs a single replica and no autoscaler scales it", o.kind, o.name))
                .evidence(evidence)
                .evidence(Evidence::note("graph", "no HorizontalPodAutoscaler or ScaledObject targets it"))
                .fix(
                    Fix::new("Run 2 replicas", Applicability::Unsafe, vec![set(o, path.to_string(), json!(2))])
                        .with_note("roughly doubles the workload's cost; make sure the app supports a second copy"),
                ),
        );
    }
}
