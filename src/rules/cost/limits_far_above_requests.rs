use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::quantity::{format_bytes, format_cpu};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation, container_resource};

/// How many times the request a limit may be before it is reported.
const MAX_RATIO: f64 = 4.0;

declare_rule! {
    /// ## What it checks
    /// For every long-running container (and sidecar) that sets both, the CPU and memory limits
    /// are at most 4 times the requests.
    ///
    /// Off by default: bursting above the request is a legitimate choice for many workloads, and
    /// the right ratio depends on the cluster's overcommit policy. Enable it where capacity is
    /// planned from requests.
    ///
    /// ## Why it matters
    /// The scheduler places pods by their requests, but they may use up to their limits. When
    /// many pods burst at once the node runs out: for memory the kernel OOM-kills containers and
    /// the kubelet evicts pods, for CPU everything slows down. Cost estimates built on requests
    /// also understate what the workload really consumes.
    ///
    /// ## Example
    /// ```yaml
    /// resources:
    ///   requests: { memory: 256Mi }
    ///   limits: { memory: 4Gi }     # 16x the request
    /// ```
    ///
    /// ## Fix
    /// Raise the request towards observed usage, or lower the limit. There is no automatic fix:
    /// the right values come from the workload's real usage.
    pub struct LimitsFarAboveRequests;
    meta {
        id: "CST004",
        name: "limits-far-above-requests",
        area: Area::Cost,
        severity: Severity::Low,
        default_enabled: false,
        summary: "Container limit is more than 4 times its request",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

impl Rule for LimitsFarAboveRequests {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.long_running() {
            for (resource, label, fmt) in
                [("cpu", "CPU", format_cpu as fn(f64) -> String), ("memory", "memory", format_bytes)]
            {
                let (Some(req), Some(lim)) =
                    (container_resource(&c, "requests", resource), container_resource(&c, "limits", resource))
                else {
                    continue;
                };
                if req.value() <= 0.0 || lim.value() <= req.value() * MAX_RATIO {
                    continue;
                }
                let limit_path = c.field(&format!("/resources/limits/{resource}"));
                let request_path = c.field(&format!("/resources/requests/{resource}"));
                let mut v = Violation::new(
                    &limit_path,
                    format!(
                        "container `{}` may use {} {label} but requests {} ({:.0}x): the scheduler plans for the request",
                        c.name(),
                        fmt(lim.value()),
                        fmt(req.value()),
                        lim.value() / req.value()
                    ),
                );
                for p in [&limit_path, &request_path] {
                    if let Some(val) = cx.object(idx).and_then(|o| o.get(p)) {
                        v = v.evidence(Evidence::field(p.as_str(), val));
                    }
                }
                out.push(v);
            }
        }
    }
}
