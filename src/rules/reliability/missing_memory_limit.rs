use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::reliability::common::{Section, check_resource};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every long-running container (regular containers and sidecars) sets `resources.limits.memory`.
    /// Init containers that run to completion are not checked.
    ///
    /// ## Why it matters
    /// Memory cannot be throttled, only reclaimed by killing. A container without a memory limit
    /// that leaks or spikes takes memory from every other pod on its node until the node runs short,
    /// and then the kubelet evicts pods (not necessarily the culprit) or the kernel OOM-kills
    /// processes. With a limit only the container that exceeds it is restarted.
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
    /// Limit memory to the peak the container needs, with headroom:
    /// ```yaml
    ///     resources:
    ///       limits:
    ///         memory: 512Mi
    /// ```
    /// The automatic fix writes the configured default (`rules.default_memory_limit`, `512Mi` unless
    /// set), raised to the memory request when the request is higher (a limit below the request is
    /// rejected). It is unsafe: a container that uses more memory than the limit is OOM-killed.
    pub struct MissingMemoryLimit;
    meta {
        id: "REL004",
        name: "missing-memory-limit",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container has no memory limit",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["memoryLimitsMissing"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &["CKV_K8S_13"],
            trivy: &["KSV018"],
        },
    }
}

impl Rule for MissingMemoryLimit {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        check_resource(cx, idx, Section::Limits, "memory", &cx.settings.default_memory_limit, out);
    }
}
