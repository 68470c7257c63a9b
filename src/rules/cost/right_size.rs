use serde_json::Value;

use crate::cost::prometheus::ContainerHistory;
use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::quantity::{format_bytes, format_cpu};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation, container_resource};

/// One mebibyte.
const MI: f64 = 1_048_576.0;
/// A request this much above the recommendation is worth changing.
const OVER: f64 = 1.3;
/// Smallest CPU change worth a finding, cores.
const MIN_CPU_CHANGE: f64 = 0.05;
/// Smallest memory change worth a finding, bytes.
const MIN_MEMORY_CHANGE: f64 = 64.0 * MI;
/// Floors for the recommendation: nobody should be scheduled on 1m and 3Mi.
const MIN_CPU: f64 = 0.01;
const MIN_MEMORY: f64 = 16.0 * MI;

declare_rule! {
    /// ## What it checks
    /// With usage history from Prometheus (`--prometheus URL`, `--window 7d`): each container's
    /// requests against what it used over the window, across all its workload's pods, as KRR
    /// recommends them: CPU request = the 95th percentile of usage (`rules.rightsize_cpu_percentile`),
    /// memory request = memory limit = the peak working set plus 15%
    /// (`rules.rightsize_memory_buffer`). A container is reported when a request is at least 30%
    /// (and 50m CPU or 64Mi) above the recommendation, or below it: a memory request under the
    /// peak means the node may be overcommitted when it matters. Containers with less than
    /// `rules.rightsize_min_hours` (24) of history are not judged.
    ///
    /// ## Why it matters
    /// Requests are what the cluster reserves and what you pay for, used or not. Most clusters
    /// request several times what they use; a request below real use is the opposite problem:
    /// evictions and noisy neighbours under load.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: api
    ///     resources:
    ///       requests: { cpu: "1", memory: 2Gi }   # used at most 120m (p95) and 300Mi over 7 days
    /// ```
    ///
    /// ## Fix
    /// Set the requests (and the memory limit) to the recommendation. Unsafe: usage over the window
    /// may not include next month's peak (a sale, a batch); check the window covers one.
    pub struct RightSize;
    meta {
        id: "CST005",
        name: "right-size-from-usage",
        area: Area::Cost,
        severity: Severity::Low,
        default_enabled: true,
        summary: "Container requests differ from what it used over the usage window",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents::NONE,
    }
}

impl Rule for RightSize {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        if cx.history().is_empty() {
            return;
        }
        let Some(w) = cx.workload(idx) else { return };
        let o = w.object;
        // Pods of this workload in the input: itself for a bare Pod.
        let pods: Vec<usize> = if o.kind == "Pod" {
            vec![idx]
        } else {
            cx.graph.controlled(idx).into_iter().filter(|&i| cx.object(i).is_some_and(|p| p.kind == "Pod")).collect()
        };
        if pods.is_empty() {
            return;
        }
        let s = cx.settings;
        for c in w.long_running() {
            let Some(used) = merged(cx, &pods, c.name()) else { continue };
            if used.hours < s.rightsize_min_hours {
                continue;
            }
            let cpu_rec = (used.cpu.max(MIN_CPU) * 1000.0).ceil() / 1000.0;
            let mem_rec =
                ((used.memory_max * (1.0 + s.rightsize_memory_buffer / 100.0)).max(MIN_MEMORY) / MI).ceil() * MI;
            let cpu_req = container_resource(&c, "requests", "cpu").map(|q| q.value());
            let mem_req = container_resource(&c, "requests", "memory").map(|q| q.value());
            let mem_lim = container_resource(&c, "limits", "memory").map(|q| q.value());
            let cpu_off = cpu_req.is_none_or(|r| (r > cpu_rec * OVER && r - cpu_rec >= MIN_CPU_CHANGE) || r < used.cpu);
            let mem_off =
                mem_req.is_none_or(|r| (r > mem_rec * OVER && r - mem_rec >= MIN_MEMORY_CHANGE) || r < used.memory_max);
            if !cpu_off && !mem_off {
                continue;
            }
            let shown = |v: Option<f64>, f: fn(f64) -> String| v.map_or_else(|| "nothing".to_string(), f);
            let (window, pct) = history_terms(cx);
            let mut v = Violation::new(
                c.field("/resources"),
                format!(
                    "container `{}` requests {} CPU and {} memory; over {window} it used {} CPU (p{pct}) and at most {} memory: {} CPU and {} memory fit",
                    c.name(),
                    shown(cpu_req, format_cpu),
                    shown(mem_req, format_bytes),
                    format_cpu(used.cpu),
                    format_bytes(used.memory_max),
                    format_cpu(cpu_rec),
                    format_bytes(mem_rec),
                ),
            )
            .evidence(Evidence::note("usage", format!(
                "p{pct} {} CPU, peak {} CPU, peak {} working set, {:.0} h of history over {} pod{}",
                format_cpu(used.cpu),
                format_cpu(used.cpu_max),
                format_bytes(used.memory_max),
                used.hours,
                pods.len(),
                if pods.len() == 1 { "" } else { "s" }
            )));
            for p in ["/resources/requests/cpu", "/resources/requests/memory", "/resources/limits/memory"] {
                let path = c.field(p);
                if let Some(val) = o.get(&path) {
                    v = v.evidence(Evidence::field(path.as_str(), val));
                }
            }
            let mut ops = Vec::new();
            let mut changes = Vec::new();
            if cpu_off {
                ops.push(FixOp::Add {
                    path: c.field("/resources/requests/cpu"),
                    value: Value::String(cpu_quantity(cpu_rec)).into(),
                });
                changes.push(format!("requests.cpu {}", cpu_quantity(cpu_rec)));
            }
            if mem_off || mem_lim.is_some_and(|l| l < mem_rec) {
                let value = Value::String(format!("{}Mi", mem_rec / MI));
                ops.push(FixOp::Add { path: c.field("/resources/requests/memory"), value: value.clone().into() });
                ops.push(FixOp::Add { path: c.field("/resources/limits/memory"), value: value.into() });
                changes.push(format!("requests.memory = limits.memory {}Mi", mem_rec / MI));
            }
            let fix = Fix::new(
                format!("Right-size container {}: {}", c.name(), changes.join(", ")),
                Applicability::Unsafe,
                ops,
            )
            .with_note(format!(
                "from {window} of usage: CPU request = p{pct}, memory request = limit = peak + {}%; the window may miss a seasonal peak",
                s.rightsize_memory_buffer
            ));
            out.push(v.fix(fix));
        }
    }
}

/// The container's usage across pods: the highest percentile and peaks of any pod (a replica that
/// takes more traffic sets the request for all), the longest history.
fn merged(cx: &Context<'_>, pods: &[usize], container: &str) -> Option<ContainerHistory> {
    let mut out: Option<ContainerHistory> = None;
    for &p in pods {
        let Some(pod) = cx.object(p) else { continue };
        let (ns, context) = (pod.effective_namespace().unwrap_or_default(), pod.origin.context().unwrap_or_default());
        for h in cx.history() {
            let Some(c) = h.container(context, ns, &pod.name, container) else { continue };
            let m = out.get_or_insert(*c);
            m.cpu = m.cpu.max(c.cpu);
            m.cpu_max = m.cpu_max.max(c.cpu_max);
            m.memory_max = m.memory_max.max(c.memory_max);
            m.hours = m.hours.max(c.hours);
        }
    }
    out
}

/// The window and percentile the histories were read with, for messages.
fn history_terms(cx: &Context<'_>) -> (String, String) {
    cx.history().iter().find(|h| h.available).map_or_else(
        || ("the window".to_string(), "95".to_string()),
        |h| (h.window.clone(), format!("{}", h.cpu_percentile)),
    )
}

/// Cores as a Kubernetes quantity: whole millicores.
fn cpu_quantity(cores: f64) -> String {
    format!("{}m", (cores * 1000.0).round())
}
