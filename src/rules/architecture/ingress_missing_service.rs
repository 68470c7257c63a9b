use std::collections::BTreeMap;

use crate::declare_rule;
use crate::graph::{Reference, backend_refs};
use crate::model::{Area, Evidence, Severity};
use crate::rules::architecture::{creatable_at_runtime, named_after_custom_resource};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every Service an Ingress (`defaultBackend`, `rules[].http.paths[].backend`, and the legacy
    /// `serviceName` form) or a Gateway API HTTPRoute/GRPCRoute (`backendRefs` of kind Service)
    /// sends traffic to exists in the input.
    ///
    /// To avoid noise on partial inputs the rule only reports a missing Service when the input holds
    /// at least one Service in the namespace the backend points to (so that namespace's Services
    /// are in scope). It also stays silent when the Service is probably created at runtime:
    /// - a custom resource of the namespace has its name, or is a prefix of it followed by `-`
    ///   (operators name what they create after the resource: Knative Service `hello` makes
    ///   `hello-00001-private`, CephCluster `rook-ceph` makes `rook-ceph-mgr-dashboard`); routes,
    ///   policies and monitoring resources do not count;
    /// - RBAC in the input lets something in the namespace `create` Services.
    ///
    /// ## Why it matters
    /// Traffic for that host or path has nowhere to go: the controller answers 503 (Ingress) or
    /// 500 (Gateway API), usually because of a typo or a Service renamed on one side only.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Ingress
    /// spec:
    ///   rules:
    ///     - http:
    ///         paths:
    ///           - path: /
    ///             pathType: Prefix
    ///             backend:
    ///               service: { name: web-svc, port: { number: 80 } }   # the Service is named web
    /// ```
    ///
    /// ## Fix
    /// Point the backend at the Service's real name, or add the Service. There is no automatic fix:
    /// which side is wrong cannot be known.
    pub struct IngressMissingService;
    meta {
        id: "ARC002",
        name: "ingress-missing-service",
        area: Area::Architecture,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Ingress or route sends traffic to a Service absent from the input",
        fix: None,
        equivalents: Equivalents {
            polaris: &[],
            kube_score: &["ingress-targets-service"],
            kube_linter: &["dangling-ingress"],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for IngressMissingService {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if !matches!(o.kind.as_str(), "Ingress" | "HTTPRoute" | "GRPCRoute") {
            return;
        }
        // One finding per missing Service, at its first reference, with every reference as evidence.
        let mut missing: BTreeMap<(String, String), Vec<Reference>> = BTreeMap::new();
        let mut order = Vec::new();
        for r in backend_refs(o) {
            let ns = r.namespace.clone().unwrap_or_else(|| "default".to_string());
            if cx.graph.find("Service", Some(&ns), &r.name).is_some() || cx.graph.count("Service", Some(&ns)) == 0 {
                continue;
            }
            if named_after_custom_resource(cx, &ns, &r.name) || creatable_at_runtime(cx, "services", &ns, &r.name) {
                continue;
            }
            let key = (ns, r.name.clone());
            if !missing.contains_key(&key) {
                order.push(key.clone());
            }
            missing.entry(key).or_default().push(r);
        }
        for key in order {
            let Some(refs) = missing.get(&key) else { continue };
            let (ns, name) = &key;
            let services = cx.graph.count("Service", Some(ns));
            let mut v = Violation::new(
                refs[0].path.clone(),
                format!(
                    "backend Service `{name}` is not in the input ({services} other Service(s) in namespace `{ns}`)"
                ),
            )
            .evidence(Evidence::note("graph", format!("no Service `{name}` in namespace `{ns}`")));
            for r in refs {
                v = v.evidence(Evidence::field(&r.path, &serde_json::Value::String(r.name.clone())));
            }
            out.push(v);
        }
    }
}
