use serde_json::Value;

use crate::declare_rule;
use crate::graph::Edge;
use crate::model::{Area, Evidence, Severity};
use crate::rules::architecture::{operator_owner, without_controller_labels};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};
use crate::workload::selector_matches;

declare_rule! {
    /// ## What it checks
    /// A Service with a `spec.selector` selects the pods of at least one workload (Pod, Deployment,
    /// StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob) in its namespace.
    ///
    /// To avoid noise on partial inputs the rule stays silent when:
    /// - the Service has no selector (ExternalName, or Endpoints/EndpointSlices managed by hand);
    /// - the input holds no workload at all in the Service's namespace (the workloads live elsewhere,
    ///   e.g. another directory that was not audited);
    /// - the selector only names labels that controllers add at runtime
    ///   (`statefulset.kubernetes.io/pod-name`, `pod-template-hash`, `job-name`, ...), which no
    ///   template carries; those labels are ignored when matching;
    /// - a custom resource in the namespace looks like the pods' owner: a selector value is its name
    ///   or the selector matches its labels (operators such as the Prometheus operator create the
    ///   pods, so no manifest declares them).
    ///
    /// ## Why it matters
    /// A Service that selects no pod has no endpoints: clients get connection refused or time out,
    /// and an Ingress in front of it answers 503. It usually comes from a typo or a label renamed
    /// on one side only.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   selector: { app: web-server }   # the Deployment's pods are labelled app: web
    /// ```
    ///
    /// ## Fix
    /// Make the selector equal to labels the pod template sets (or fix the template's labels).
    /// The finding names the closest workload and the labels that differ. There is no automatic
    /// fix: which side is wrong cannot be known.
    pub struct ServiceSelectsNothing;
    meta {
        id: "ARC001",
        name: "service-selects-nothing",
        area: Area::Architecture,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Service selector matches no workload in the input",
        fix: None,
        equivalents: Equivalents {
            polaris: &[],
            kube_score: &["service-targets-pod"],
            kube_linter: &["dangling-service"],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for ServiceSelectsNothing {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "Service" || o.get("/spec/type").and_then(Value::as_str) == Some("ExternalName") {
            return;
        }
        let Some(selector) = o.get("/spec/selector").filter(|s| s.as_object().is_some_and(|m| !m.is_empty())) else {
            return;
        };
        if !cx.graph.targets(idx, Edge::Selects).is_empty() {
            return;
        }
        let ns = o.effective_namespace().unwrap_or("default");
        let workloads = cx.graph.workloads_in(ns);
        if workloads == 0 {
            return;
        }
        let Some(relaxed) = without_controller_labels(selector) else { return };
        let mut closest: Option<(usize, usize, Vec<String>)> = None;
        for (i, w) in cx.graph.in_namespace(ns).iter().filter_map(|&i| cx.template(i).map(|w| (i, w))) {
            if selector_matches(&relaxed, w.pod_labels) {
                return;
            }
            // Closest workload: most selector labels matched, for the message.
            if let Some(sel) = relaxed.as_object() {
                let mut matched = 0;
                let mut differ = Vec::new();
                for (k, v) in sel {
                    let have = w.pod_labels.and_then(|l| l.get(k));
                    if have.and_then(Value::as_str) == v.as_str() && have.is_some() {
                        matched += 1;
                    } else {
                        let shown = have.map_or_else(|| "<unset>".to_string(), crate::model::value_text);
                        differ.push(format!("{k}: pods have {shown}, selector wants {}", crate::model::value_text(v)));
                    }
                }
                if matched > 0 && closest.as_ref().is_none_or(|(m, _, _)| matched > *m) {
                    closest = Some((matched, i, differ));
                }
            }
        }
        if operator_owner(cx, ns, selector).is_some() {
            return;
        }
        let mut message = format!(
            "selector matches no pods: none of the {workloads} workload(s) in namespace `{ns}` has these labels"
        );
        let mut v = Violation::new("/spec/selector", String::new())
            .evidence(Evidence::field("/spec/selector", selector))
            .evidence(Evidence::note("graph", format!("{workloads} workload(s) in namespace `{ns}`, none selected")));
        if let Some((_, i, differ)) = closest
            && let Some(w) = cx.object(i)
        {
            message.push_str(&format!("; closest is {} `{}` ({})", w.kind, w.name, differ.join("; ")));
            if let Some(path) = cx.template(i).map(|w| format!("{}/labels", w.pod_meta_path)) {
                let labels = w.get(&path).cloned().unwrap_or(Value::Null);
                v = v.evidence(Evidence::note(
                    format!("{}/{}{path}", w.kind, w.name),
                    crate::model::value_text(&labels),
                ));
            }
        }
        let elsewhere = (0..cx.objects.len())
            .filter_map(|i| cx.template(i))
            .find(|w| w.object.effective_namespace() != Some(ns) && selector_matches(&relaxed, w.pod_labels));
        if let Some(w) = elsewhere {
            let other_ns = w.object.effective_namespace().unwrap_or("default");
            message.push_str(&format!(
                "; {} `{}` in namespace `{other_ns}` has them, but a Service only selects pods of its own namespace",
                w.object.kind, w.object.name
            ));
            v = v.evidence(Evidence::note(
                "graph",
                format!("{} `{}` in namespace `{other_ns}` has matching pod labels", w.object.kind, w.object.name),
            ));
        }
        v.message = message;
        out.push(v);
    }
}
