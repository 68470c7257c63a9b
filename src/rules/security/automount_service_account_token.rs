use serde_json::{Value, json};

use crate::declare_rule;
use crate::graph::Edge;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Pods do not get a ServiceAccount token mounted automatically. Kubernetes decides as follows:
    /// the pod's `automountServiceAccountToken` wins when set; otherwise the ServiceAccount's
    /// `automountServiceAccountToken`; otherwise the token is mounted.
    /// The ServiceAccount (`serviceAccountName`, `default` when unset) is looked up among the input
    /// objects in the pod's namespace; when it is not in the input, the pod's own setting decides.
    ///
    /// ## Why it matters
    /// The token lets anyone who gets code running in the pod call the Kubernetes API with the
    /// ServiceAccount's permissions. Most applications never call the API, and for them the token
    /// is only an attack path.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata: { name: web }
    /// spec:
    ///   serviceAccountName: web
    ///   containers:
    ///     - { name: web, image: nginx:1.27 }
    /// ---
    /// apiVersion: v1
    /// kind: ServiceAccount
    /// metadata: { name: web }
    /// ```
    ///
    /// ## Fix
    /// Set `automountServiceAccountToken: false` on the ServiceAccount (all its pods) or on the pod
    /// spec; pods that call the API can mount a projected token explicitly. The automatic fix sets
    /// it on the pod spec and is unsafe: an application that calls the Kubernetes API loses access.
    pub struct AutomountServiceAccountToken;
    meta {
        id: "SEC012",
        name: "automounted-service-account-token",
        area: Area::Security,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Pod gets a Kubernetes API token mounted automatically",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["automountServiceAccountToken"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for AutomountServiceAccountToken {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let path = w.spec_field("/automountServiceAccountToken");
        let pod_value = w.spec("/automountServiceAccountToken").filter(|v| !v.is_null());
        let pod = pod_value.and_then(Value::as_bool);
        if pod == Some(false) {
            return;
        }
        let sa_name = w.service_account();
        let sa = cx.graph.targets(idx, Edge::RunsAs).into_iter().find_map(|i| cx.object(i));
        let sa_value = sa.and_then(|o| o.get("/automountServiceAccountToken")).filter(|v| !v.is_null());
        let message = match (pod, sa, sa_value.and_then(Value::as_bool)) {
            (Some(true), _, Some(false)) => format!(
                "pods set automountServiceAccountToken: true, overriding ServiceAccount `{sa_name}`, which disables it"
            ),
            (Some(true), _, _) => "pods set automountServiceAccountToken: true".to_string(),
            (None, Some(_), Some(false)) => return,
            (None, Some(_), _) => format!(
                "the ServiceAccount `{sa_name}` token is mounted: neither the pod nor the ServiceAccount disables automounting"
            ),
            (None, None, _) => format!(
                "the ServiceAccount `{sa_name}` token is mounted: the pod does not disable automounting \
                 (the ServiceAccount is not in the input)"
            ),
            (Some(false), _, _) => return,
        };
        let mut v = Violation::new(&path, message)
            .evidence(pod_value.map_or_else(|| Evidence::unset(&path), |p| Evidence::field(&path, p)));
        if let Some(o) = sa {
            let sa_path = format!("{}/automountServiceAccountToken", o.display_id());
            v = v.evidence(sa_value.map_or_else(|| Evidence::unset(&sa_path), |s| Evidence::field(&sa_path, s)));
        }
        let op = if pod_value.is_some() {
            FixOp::Replace { path: path.clone(), value: json!(false).into() }
        } else {
            FixOp::Add { path: path.clone(), value: json!(false).into() }
        };
        out.push(v.fix(
            Fix::new("Disable ServiceAccount token automounting", Applicability::Unsafe, vec![op]).with_note(
                "an application that calls the Kubernetes API loses access; mount a projected token if it needs one",
            ),
        ));
    }
}
