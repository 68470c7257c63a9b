use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::quantity::{format_bytes, format_cpu};
use crate::resources::{is_accelerator_resource, pod_requests};
use crate::rules::cost::effective_request;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};
use crate::workload::Workload;
use crate::yaml::{PointerExt, escape_segment};

declare_rule! {
    /// ## What it checks
    /// One pod's total request fits on the largest node (`rules.node_cpu`, `rules.node_memory`,
    /// default 4 CPU and 16Gi). The total is what the scheduler reserves: regular containers and
    /// sidecars summed, init containers by the largest one (plus the sidecars started before it),
    /// plus `spec.overhead`; a limit counts where the request is unset, as Kubernetes defaults it;
    /// pod-level `spec.resources.requests` replaces the container sum when set. The cost estimate
    /// computes the same figure.
    ///
    /// Pods that ask for an accelerator (`nvidia.com/gpu`, `amd.com/gpu`, any `*/gpu`,
    /// `google.com/tpu`, AWS Neuron, Habana Gaudi), or select nodes by accelerator or machine type
    /// (a `nodeSelector` or required node affinity on `node.kubernetes.io/instance-type`,
    /// `cloud.google.com/gke-accelerator`, `nvidia.com/gpu.product`, Karpenter's instance labels...),
    /// are not checked: they run on a dedicated node pool, usually much larger than the general
    /// one, and `rules.node_cpu` / `rules.node_memory` describe only one node size. Claiming such a
    /// pod can never be scheduled from the default 4 CPU / 16Gi would be wrong far more often than right.
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

/// Whether a node label key picks nodes by accelerator or machine type (`nvidia.com/gpu.product`,
/// `cloud.google.com/gke-accelerator`, `node.kubernetes.io/instance-type`, Karpenter's
/// `karpenter.k8s.aws/instance-family`...).
fn selects_node_type(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let words = k.split(['/', '.', '-', '_']).any(|w| matches!(w, "gpu" | "tpu" | "accelerator"));
    words
        || k.starts_with("nvidia.com/")
        || k.starts_with("karpenter.k8s.aws/instance-")
        || k.starts_with("karpenter.azure.com/sku-")
        || ["instance-type", "instance-family", "instance-size", "machine-family", "machine-type"]
            .iter()
            .any(|t| k.ends_with(t))
}

/// Why the pod runs on a dedicated node pool whose size `rules.node_cpu` does not describe: it asks
/// for an accelerator, or selects nodes by accelerator or machine type (nodeSelector, or required
/// node affinity). The evidence names the field.
fn dedicated_nodes(w: &Workload<'_>) -> Option<Evidence> {
    for c in w.containers() {
        for section in ["requests", "limits"] {
            if let Some(Value::Object(m)) = c.get(&format!("/resources/{section}"))
                && let Some((name, v)) = m.iter().find(|(name, _)| is_accelerator_resource(name))
            {
                return Some(Evidence::field(c.field(&format!("/resources/{section}/{}", escape_segment(name))), v));
            }
        }
    }
    if let Some(Value::Object(m)) = w.spec("/nodeSelector")
        && let Some((key, v)) = m.iter().find(|(k, _)| selects_node_type(k))
    {
        return Some(Evidence::field(w.spec_field(&format!("/nodeSelector/{}", escape_segment(key))), v));
    }
    let terms = "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms";
    if let Some(Value::Array(terms_list)) = w.spec(terms) {
        for (t, term) in terms_list.iter().enumerate() {
            let Some(Value::Array(exprs)) = term.get("matchExpressions") else { continue };
            for (e, expr) in exprs.iter().enumerate() {
                if expr.get("key").and_then(Value::as_str).is_some_and(selects_node_type) {
                    let path = w.spec_field(&format!("{terms}/{t}/matchExpressions/{e}/key"));
                    return Some(Evidence::field(path, expr.get("key").unwrap_or(&Value::Null)));
                }
            }
        }
    }
    None
}

impl Rule for RequestsExceedNode {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        // A quantity Kubernetes would reject: the cost estimate reports it, there is nothing to compare.
        let Ok(requests) = pod_requests(w) else { return };
        if dedicated_nodes(w).is_some() {
            return;
        }
        let checks: [ResourceCheck; 2] = [
            ("cpu", "CPU", cx.settings.node_cpu, "rules.node_cpu", format_cpu),
            ("memory", "memory", cx.settings.node_memory, "rules.node_memory", format_bytes),
        ];
        for (resource, label, node, setting, fmt) in checks {
            let total = requests.total.get(resource);
            if node <= 0.0 || total <= node {
                continue;
            }
            let mut evidence = Vec::new();
            // The largest running container and the largest init container, as (request, path, name).
            let mut biggest: [Option<(f64, String, &str)>; 2] = [None, None];
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
                let slot = &mut biggest[usize::from(!c.is_long_running())];
                if slot.as_ref().is_none_or(|(b, _, _)| r > *b) {
                    *slot = Some((r, path, c.name()));
                }
            }
            let mut during = String::new();
            let [running, init] = biggest;
            let path = if requests.from_pod_level(resource) {
                let section =
                    if w.spec(&format!("/resources/requests/{resource}")).is_some() { "requests" } else { "limits" };
                let p = w.spec_field(&format!("/resources/{section}/{resource}"));
                if let Some(v) = w.spec(&format!("/resources/{section}/{resource}")) {
                    evidence.push(Evidence::field(&p, v));
                }
                p
            } else if requests.init_wins(resource)
                && let Some((_, p, name)) = init
            {
                during = format!(" while init container `{name}` runs (with the sidecars started before it)");
                p
            } else if let Some((_, p, _)) = running.or(init) {
                p
            } else {
                w.spec_field("/overhead")
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
