use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::reliability::common::{Section, check_resource};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every long-running container (regular containers and sidecars) sets `resources.requests.cpu`.
    /// A container that sets only `resources.limits.cpu` passes: Kubernetes copies the limit into
    /// the request. Init containers that run to completion are not checked.
    ///
    /// ## Why it matters
    /// The scheduler places pods by their requests and the kernel shares CPU by them under contention.
    /// Without a CPU request a pod may land on a node that is already busy, gets the smallest share
    /// of CPU when the node is contended, and cost estimates and CPU-based autoscaling have nothing
    /// to work from (an HPA on CPU utilization cannot compute it without a request).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: web
    ///     image: nginx:1.27
    ///     resources:
    ///       requests:
    ///         memory: 128Mi
    /// ```
    ///
    /// ## Fix
    /// Request the CPU the container uses under normal load:
    /// ```yaml
    ///     resources:
    ///       requests:
    ///         cpu: 100m
    /// ```
    /// The automatic fix writes the configured default (`rules.default_cpu_request`, `100m` unless set)
    /// and is unsafe: it changes where pods schedule and what they cost. Adjust it to observed usage.
    pub struct MissingCpuRequest;
    meta {
        id: "REL001",
        name: "missing-cpu-request",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container has no CPU request",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["cpuRequestsMissing"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &["CKV_K8S_10"],
            trivy: &["KSV015"],
        },
    }
}

impl Rule for MissingCpuRequest {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        check_resource(cx, idx, Section::Requests, "cpu", &cx.settings.default_cpu_request, out);
    }
}
