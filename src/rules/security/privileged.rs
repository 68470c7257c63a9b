use serde_json::json;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation, is_true};

declare_rule! {
    /// ## What it checks
    /// No container sets `securityContext.privileged: true`.
    ///
    /// ## Why it matters
    /// A privileged container has every capability and access to all host devices:
    /// escaping to the node is trivial, and from the node, to the cluster.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   privileged: true
    /// ```
    ///
    /// ## Fix
    /// Set `privileged: false` and grant only the capabilities the process needs.
    /// The automatic fix is unsafe: a workload that really needs host devices stops working.
    pub struct PrivilegedContainer;
    meta {
        id: "SEC001",
        name: "privileged-container",
        area: Area::Security,
        severity: Severity::Critical,
        default_enabled: true,
        summary: "Container runs privileged",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["runAsPrivileged"],
            kube_score: &["container-security-context-privileged"],
            kube_linter: &["privileged-container"],
            checkov: &["CKV_K8S_16"],
            trivy: &["KSV017"],
        },
    }
}

impl Rule for PrivilegedContainer {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.containers() {
            let v = c.get("/securityContext/privileged");
            if !is_true(v) {
                continue;
            }
            let path = c.field("/securityContext/privileged");
            out.push(
                Violation::new(&path, format!("container `{}` runs privileged", c.name()))
                    .evidence(Evidence::field(&path, &json!(true)))
                    .fix(Fix::new(
                        "Set privileged to false",
                        Applicability::Unsafe,
                        vec![FixOp::Replace { path, value: json!(false).into() }],
                    )),
            );
        }
    }
}
