use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::reliability::common::{Section, check_resource};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every long-running container (regular containers and sidecars) sets `resources.limits.cpu`.
    /// Init containers that run to completion are not checked.
    ///
    /// This rule is **off by default**: with CPU requests set (REL001), CPU is already shared by
    /// request under contention, and a CPU limit throttles a container even when the node has idle
    /// CPU, which often hurts latency more than it protects neighbours. Turn it on (`select: [REL003]`)
    /// where policy requires limits, for example namespaces with a ResourceQuota on `limits.cpu`.
    ///
    /// ## Why it matters
    /// Without a CPU limit one container can use all idle CPU of its node. That is usually what you
    /// want, but it makes performance depend on neighbours, and a ResourceQuota that constrains
    /// `limits.cpu` rejects pods that do not set one.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: web
    ///     image: nginx:1.27
    ///     resources:
    ///       requests:
    ///         cpu: 250m
    /// ```
    ///
    /// ## Fix
    /// Limit CPU to the peak the container needs:
    /// ```yaml
    ///     resources:
    ///       limits:
    ///         cpu: 500m
    /// ```
    /// The automatic fix writes the configured default (`rules.default_cpu_limit`, `500m` unless set),
    /// raised to the CPU request when the request is higher (a limit below the request is rejected).
    /// It is unsafe: a container that needs more CPU than the limit is throttled.
    pub struct MissingCpuLimit;
    meta {
        id: "REL003",
        name: "missing-cpu-limit",
        area: Area::Reliability,
        severity: Severity::Low,
        default_enabled: false,
        summary: "Container has no CPU limit",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["cpuLimitsMissing"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &["CKV_K8S_11"],
            trivy: &["KSV011"],
        },
    }
}

impl Rule for MissingCpuLimit {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        check_resource(cx, idx, Section::Limits, "cpu", &cx.settings.default_cpu_limit, out);
    }
}
