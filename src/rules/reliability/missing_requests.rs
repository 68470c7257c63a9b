use serde_json::json;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every long-running container (and sidecar) sets `resources.requests.cpu` and `resources.requests.memory`.
    ///
    /// ## Why it matters
    /// The scheduler places pods by their requests. Without them a pod can land on a node that
    /// cannot run it, it is the first to be evicted under memory pressure (BestEffort QoS),
    /// and cost estimates and autoscaling have nothing to work from.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: web
    ///     image: nginx:1.27
    /// ```
    ///
    /// ## Fix
    /// Set requests from observed usage:
    /// ```yaml
    ///     resources:
    ///       requests: { cpu: 100m, memory: 128Mi }
    /// ```
    /// The automatic fix uses the configured defaults (`rules.default_cpu_request`,
    /// `rules.default_memory_request`) and is unsafe: it changes scheduling and cost.
    pub struct MissingRequests;
    meta {
        id: "REL001",
        name: "missing-requests",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container has no CPU or memory request",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["cpuRequestsMissing", "memoryRequestsMissing"],
            kube_score: &["container-resources"],
            kube_linter: &["unset-cpu-requirements", "unset-memory-requirements"],
            checkov: &["CKV_K8S_10", "CKV_K8S_12"],
            trivy: &["KSV015", "KSV016"],
        },
    }
}

impl Rule for MissingRequests {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.long_running() {
            let missing: Vec<(&str, &String)> =
                [("cpu", &cx.settings.default_cpu_request), ("memory", &cx.settings.default_memory_request)]
                    .into_iter()
                    .filter(|(r, _)| c.get(&format!("/resources/requests/{r}")).is_none_or(serde_json::Value::is_null))
                    .collect();
            if missing.is_empty() {
                continue;
            }
            let names: Vec<&str> = missing.iter().map(|(r, _)| *r).collect();
            let ops = missing
                .iter()
                .map(|(r, v)| FixOp::Add { path: c.field(&format!("/resources/requests/{r}")), value: json!(v) })
                .collect();
            let mut v = Violation::new(
                c.field("/resources"),
                format!("container `{}` has no {} request", c.name(), names.join(" or ")),
            )
            .fix(
                Fix::new(format!("Request {}", names.join(" and ")), Applicability::Unsafe, ops)
                    .with_note("changes scheduling and cost; adjust the values to observed usage"),
            );
            for r in names {
                v = v.evidence(Evidence::unset(c.field(&format!("/resources/requests/{r}"))));
            }
            out.push(v);
        }
    }
}
