use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::reliability::common::{Section, check_resource};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every long-running container (regular containers and sidecars) sets `resources.requests.memory`.
    /// A container that sets only `resources.limits.memory` passes: Kubernetes copies the limit into
    /// the request. Init containers that run to completion are not checked.
    ///
    /// ## Why it matters
    /// The scheduler places pods by their memory requests. A pod without one can be packed onto a node
    /// that cannot hold it, and when the node runs short of memory the kubelet evicts pods using more
    /// than they requested first: with no request at all (BestEffort QoS) the pod is the first to go.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: web
    ///     image: nginx:1.27
    ///     resources:
    ///       requests:
    ///         cpu: 100m
    /// ```
    ///
    /// ## Fix
    /// Request the memory the container uses under normal load:
    /// ```yaml
    ///     resources:
    ///       requests:
    ///         memory: 128Mi
    /// ```
    /// The automatic fix writes the configured default (`rules.default_memory_request`, `128Mi` unless
    /// set) and is unsafe: it changes where pods schedule and what they cost. Adjust it to observed usage.
    pub struct MissingMemoryRequest;
    meta {
        id: "REL002",
        name: "missing-memory-request",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container has no memory request",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["memoryRequestsMissing"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &["CKV_K8S_12"],
            trivy: &["KSV016"],
        },
    }
}

impl Rule for MissingMemoryRequest {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        check_resource(cx, idx, Section::Requests, "memory", &cx.settings.default_memory_request, out);
    }
}
