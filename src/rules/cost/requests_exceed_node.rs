use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::quantity::{format_bytes, format_cpu};
use crate::rules::cost::{effective_request, pod_request};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};
use crate::yaml::PointerExt;

declare_rule! {
    /// ## What it checks
    /// One pod's total request fits on the largest node (`rules.node_cpu`, `rules.node_memory`,
    /// default 4 CPU and 16Gi). The total is what the scheduler reserves: regular containers and
    /// sidecars summed, init containers by the largest one (plus the sidecars started before it),
    /// plus `spec.overhead`; a limit counts where the request is unset, as Kubernetes defaults it;
    /// pod-level `spec.resources.requests` replaces the container sum when set.
    ///
    /// ## Why it matters
    /// No node can ever hold the pod: it stays `Pending` with `Insufficient cpu` or
    /// `Insufficient memory`, and a cluster autoscaler cannot help unless it can add a bigger node.
    /// The real allocatable capacity is even lower than the node size (system reservations,
    /// DaemonSets).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: etl
    ///     resources:
    ///       requests: { cpu: "6", memory: 24Gi }   # nodes have 4 CPU / 16Gi
    /// ```
    ///
    /// ## Fix
    /// Lower the requests to what the pod really uses, split the work across more pods, or add a
    /// node pool big enough (and raise `rules.node_cpu` / `rules.node_memory` to match).
    /// There is no automatic fix: the right size depends on the workload.
    pub struct RequestsExceedNode;
    meta {
        id: "CST001",
        name: "requests-exceed-node-size",
        area: Area::Cost,
        severity: Severity::High,
        default_enabled: true,
        summary: "Pod requests more CPU or memory than the largest node has",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// Resource name, label, node capacity, setting name, formatter.
type ResourceCheck = (&'static str, &'static str, f64, &'static str, fn(f64) -> String);

impl Rule for RequestsExceedNode {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let checks: [ResourceCheck; 2] = [
            ("cpu", "CPU", cx.settings.node_cpu, "rules.node_cpu", format_cpu),
            ("memory", "memory", cx.settings.node_memory, "rules.node_memory", format_bytes),
        ];
        for (resource, label, node, setting, fmt) in checks {
            let total = pod_request(w, resource);
            if node <= 0.0 || total <= node {
                continue;
            }
            let pod_level = w.spec(&format!("/resources/requests/{resource}"));
            let mut evidence = Vec::new();
            let mut biggest: Option<(f64, String, String)> = None;
            for c in w.containers() {
                let r = effective_request(&c, resource);
                if r <= 0.0 {
                    continue;
                }
                let section =
                    if c.get(&format!("/resources/requests/{resource}")).is_some() { "requests" } else { "limits" };
                let path = c.field(&format!("/resources/{section}/{resource}"));
                if let Some(v) = c.value.ptr(&format!("/resources/{section}/{resource}")) {
                    evidence.push(Evidence::field(&path, v));
                }
                if biggest.as_ref().is_none_or(|(b, _, _)| r > *b) {
                    let init = if c.is_long_running() { String::new() } else { c.name().to_string() };
                    biggest = Some((r, path, init));
                }
            }
            let mut during = String::new();
            let path = match (pod_level, biggest) {
                (Some(v), _) => {
                    let p = w.spec_field(&format!("/resources/requests/{resource}"));
                    evidence.push(Evidence::field(&p, v));
                    p
                }
                (None, Some((_, p, init))) => {
                    if !init.is_empty() {
                        during = format!(" while init container `{init}` runs (with the sidecars started before it)");
                    }
                    p
                }
                (None, None) => w.spec_field("/overhead"),
            };
            if let Some(v) = w.spec(&format!("/overhead/{resource}")) {
                evidence.push(Evidence::field(w.spec_field(&format!("/overhead/{resource}")), v));
            }
            evidence.push(Evidence::note(setting, fmt(node)));
            let mut v = Violation::new(
                path,
                format!(
                    "each pod requests {} {label}{during}, more than the largest node's {} ({setting}): it can never be \
                     scheduled",
                    fmt(total),
                    fmt(node)
                ),
            );
            for e in evidence {
                v = v.evidence(e);
            }
            out.push(v);
        }
    }
}
