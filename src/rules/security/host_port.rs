use serde_json::Value;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No container port sets a `hostPort` (other than 0, which means unset).
    ///
    /// ## Why it matters
    /// A host port opens the port on every node the pod runs on, bypassing Services and often
    /// NetworkPolicies, and exposes the pod on the node's address. It also limits scheduling:
    /// only one pod using that port fits on a node, so rollouts and scale-ups can get stuck.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - containerPort: 80
    ///     hostPort: 8080
    /// ```
    ///
    /// ## Fix
    /// Remove `hostPort` and expose the pod through a Service (NodePort or LoadBalancer when it
    /// must be reached from outside). The automatic fix removes the field and is unsafe: clients
    /// that connect to the node's port lose access.
    pub struct HostPort;
    meta {
        id: "SEC011",
        name: "host-port",
        area: Area::Security,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container binds a port on the node",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["hostPortSet"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &["CKV_K8S_26"],
            trivy: &["KSV024"],
        },
    }
}

impl Rule for HostPort {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.containers() {
            let Some(Value::Array(ports)) = c.get("/ports") else { continue };
            for (i, p) in ports.iter().enumerate() {
                let Some(hp) = p.get("hostPort").filter(|v| !v.is_null() && v.as_i64() != Some(0)) else { continue };
                let path = c.field(&format!("/ports/{i}/hostPort"));
                out.push(
                    Violation::new(
                        &path,
                        format!("container `{}` binds node port {}", c.name(), crate::model::value_text(hp)),
                    )
                    .evidence(Evidence::field(&path, hp))
                    .fix(
                        Fix::new("Remove hostPort", Applicability::Unsafe, vec![FixOp::Remove { path: path.clone() }])
                            .with_note("clients that connect to the node's port lose access; expose a Service instead"),
                    ),
                );
            }
        }
    }
}
