use serde_json::Value;

use crate::declare_rule;
use crate::graph::Edge;
use crate::model::{Area, Evidence, Severity};
use crate::quantity::{Quantity, format_cpu};
use crate::rules::cost::effective_request;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A Deployment whose pods each request at least `rules.high_cpu_request` CPU (default 1 core;
    /// regular containers and sidecars summed, a limit counting where the request is unset) is
    /// scaled by something: a HorizontalPodAutoscaler, a KEDA `ScaledObject`, or a
    /// VerticalPodAutoscaler that updates pods (`updateMode` other than `Off`).
    ///
    /// Only Deployments are checked: StatefulSets usually hold data (databases, queues) whose
    /// replica count is a capacity decision, not something to autoscale; Deployments scaled to zero
    /// are skipped.
    ///
    /// ## Why it matters
    /// Requests are reserved whether the pods are busy or idle. A large fixed request on every
    /// replica pays for peak capacity around the clock; an autoscaler lets quiet hours run on fewer
    /// replicas.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// spec:
    ///   replicas: 6
    ///   template:
    ///     spec:
    ///       containers:
    ///         - name: api
    ///           resources: { requests: { cpu: "2" } }   # 12 CPU reserved at all times
    /// ```
    ///
    /// ## Fix
    /// Add a HorizontalPodAutoscaler targeting the Deployment (and drop `spec.replicas` so the
    /// two do not fight), or right-size the request from observed usage. There is no automatic fix:
    /// a new object with load-dependent bounds is needed.
    pub struct HighCpuWithoutHpa;
    meta {
        id: "CST002",
        name: "high-cpu-without-hpa",
        area: Area::Cost,
        severity: Severity::Low,
        default_enabled: true,
        summary: "Deployment with a large CPU request per pod has no autoscaler",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

impl Rule for HighCpuWithoutHpa {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let o = w.object;
        if o.kind != "Deployment" {
            return;
        }
        let replicas = w.replicas.unwrap_or(1);
        if replicas <= 0 {
            return;
        }
        let mut evidence = Vec::new();
        let per_pod = if let Some(v) = w.spec("/resources/requests/cpu") {
            evidence.push(Evidence::field(w.spec_field("/resources/requests/cpu"), v));
            Quantity::from_json(v).map_or(0.0, Quantity::value)
        } else {
            let mut sum = 0.0;
            for c in w.long_running() {
                let r = effective_request(&c, "cpu");
                if r > 0.0 {
                    let section = if c.get("/resources/requests/cpu").is_some() { "requests" } else { "limits" };
                    if let Some(v) = c.get(&format!("/resources/{section}/cpu")) {
                        evidence.push(Evidence::field(c.field(&format!("/resources/{section}/cpu")), v));
                    }
                }
                sum += r;
            }
            sum
        };
        let threshold = cx.settings.high_cpu_request;
        if per_pod < threshold || per_pod <= 0.0 {
            return;
        }
        let scaled = cx.graph.sources(idx, Edge::Scales).into_iter().filter_map(|i| cx.object(i)).any(|s| {
            s.kind == "HorizontalPodAutoscaler"
                || (s.kind == "VerticalPodAutoscaler"
                    && s.get("/spec/updatePolicy/updateMode").and_then(Value::as_str) != Some("Off"))
        });
        let keda = cx
            .graph
            .sources(idx, Edge::Scales)
            .into_iter()
            .any(|i| cx.object(i).is_some_and(|s| s.kind == "ScaledObject"));
        if scaled || keda {
            return;
        }
        let (path, replicas_evidence) = match o.get("/spec/replicas") {
            Some(v) => ("/spec/replicas", Evidence::field("/spec/replicas", v)),
            None => ("/spec", Evidence::note("/spec/replicas", "<unset> (defaults to 1)")),
        };
        let mut v = Violation::new(
            path,
            format!(
                "each pod requests {} CPU ({} CPU reserved across {replicas} replica(s) at all times) and no \
                 autoscaler scales this Deployment",
                format_cpu(per_pod),
                format_cpu(per_pod * replicas as f64)
            ),
        )
        .evidence(replicas_evidence)
        .evidence(Evidence::note("rules.high_cpu_request", format_cpu(threshold)));
        for e in evidence {
            v = v.evidence(e);
        }
        out.push(v);
    }
}
