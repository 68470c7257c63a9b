use serde_json::Value;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::schema::removed_api_version::ingress_backend_v1;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};
use crate::yaml::PointerExt;

declare_rule! {
    /// ## What it checks
    /// A `networking.k8s.io/v1` Ingress writes its backends in the v1 form,
    /// `service: { name, port: { number | name } }`, not in the `extensions/v1beta1` /
    /// `networking.k8s.io/v1beta1` form: no `serviceName` or `servicePort` in
    /// `spec.defaultBackend` or `spec.rules[].http.paths[].backend`, and no `spec.backend`
    /// (v1 calls it `spec.defaultBackend`).
    ///
    /// The typed schema check (SCH001) does not see this: unknown fields are not type errors.
    ///
    /// ## Why it matters
    /// v1 has no such fields. With field validation on (the default of `kubectl apply` since
    /// Kubernetes 1.25) the API server rejects the Ingress (`unknown field "serviceName"`); with it
    /// off, it drops them and then rejects a backend that names no Service. Either way the routes
    /// never exist, typically after an apiVersion was bumped without rewriting the backends.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: Ingress
    /// spec:
    ///   rules:
    ///     - http:
    ///         paths:
    ///           - path: /
    ///             pathType: Prefix
    ///             backend:
    ///               serviceName: web
    ///               servicePort: 80
    /// ```
    ///
    /// ## Fix
    /// ```yaml
    ///             backend:
    ///               service:
    ///                 name: web
    ///                 port: { number: 80 }   # or { name: http } for a named port
    /// ```
    /// The automatic fix writes that form (and renames `spec.backend` to `spec.defaultBackend`) and is
    /// safe: the Ingress as written is rejected, and the fix states the same Service and port in the
    /// fields v1 reads. A backend that already has `service` only loses the v1beta1 fields, which
    /// v1 never read. There is no fix when `serviceName` or `servicePort` is missing, or when both
    /// `spec.backend` and `spec.defaultBackend` are set: which one was meant cannot be known.
    pub struct IngressLegacyBackend;
    meta {
        id: "SCH006",
        name: "ingress-legacy-backend",
        area: Area::Schema,
        severity: Severity::High,
        default_enabled: true,
        summary: "networking.k8s.io/v1 Ingress backend uses the removed v1beta1 fields",
        fix: Some(Applicability::Safe),
        equivalents: Equivalents::NONE,
    }
}

const LEGACY_FIELDS: [&str; 2] = ["serviceName", "servicePort"];

/// The fix operations that turn the backend at `path` into the v1 form, when that is unambiguous.
fn backend_ops(path: &str, b: &Value) -> Option<Vec<FixOp>> {
    let mut ops: Vec<FixOp> = LEGACY_FIELDS
        .iter()
        .filter(|f| b.get(**f).is_some())
        .map(|f| FixOp::Remove { path: format!("{path}/{f}") })
        .collect();
    if b.get("service").is_none() {
        if LEGACY_FIELDS.iter().any(|f| b.get(*f).is_none_or(Value::is_null)) {
            return None;
        }
        let service = ingress_backend_v1(b)?.get("service")?.clone();
        ops.push(FixOp::Add { path: format!("{path}/service"), value: service.into() });
    }
    Some(ops)
}

fn legacy_fields(b: &Value) -> Vec<&'static str> {
    LEGACY_FIELDS.into_iter().filter(|f| b.get(*f).is_some()).collect()
}

impl Rule for IngressLegacyBackend {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind != "Ingress" || o.api_version != "networking.k8s.io/v1" {
            return;
        }
        let fix = |ops: Vec<FixOp>| {
            Fix::new("Write the backend in the networking.k8s.io/v1 form", Applicability::Safe, ops)
                .with_note("the same Service and port, in the fields networking.k8s.io/v1 reads")
        };
        if let Some(b) = o.get("/spec/backend").filter(|b| b.is_object()) {
            let mut v = Violation::new(
                "/spec/backend",
                "`spec.backend` is the v1beta1 name of `spec.defaultBackend`: networking.k8s.io/v1 rejects it",
            )
            .evidence(Evidence::field("/spec/backend", b));
            if o.get("/spec/defaultBackend").is_none() {
                // Already v1-shaped inside: move it as is; v1beta1-shaped: convert when complete.
                let converted = if legacy_fields(b).is_empty() {
                    Some(b.clone())
                } else if b.get("service").is_none() && backend_ops("", b).is_some() {
                    ingress_backend_v1(b)
                } else {
                    None
                };
                if let Some(value) = converted {
                    v = v.fix(fix(vec![
                        FixOp::Remove { path: "/spec/backend".to_string() },
                        FixOp::Add { path: "/spec/defaultBackend".to_string(), value: value.into() },
                    ]));
                }
            }
            out.push(v);
        }
        let mut backends: Vec<(String, &Value)> = Vec::new();
        if let Some(b) = o.get("/spec/defaultBackend") {
            backends.push(("/spec/defaultBackend".to_string(), b));
        }
        if let Some(Value::Array(rules)) = o.get("/spec/rules") {
            for (ri, r) in rules.iter().enumerate() {
                let Some(Value::Array(paths)) = r.ptr("/http/paths") else { continue };
                for (pi, p) in paths.iter().enumerate() {
                    if let Some(b) = p.get("backend") {
                        backends.push((format!("/spec/rules/{ri}/http/paths/{pi}/backend"), b));
                    }
                }
            }
        }
        for (path, b) in backends {
            let fields = legacy_fields(b);
            let Some(first) = fields.first() else { continue };
            let shown: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
            let what = if b.get("service").is_some() {
                if fields.len() == 1 {
                    "next to `service`: a v1beta1 field networking.k8s.io/v1 does not have"
                } else {
                    "next to `service`: v1beta1 fields networking.k8s.io/v1 does not have"
                }
            } else {
                "instead of `service: {name, port}`: networking.k8s.io/v1 rejects the Ingress"
            };
            let mut v =
                Violation::new(format!("{path}/{first}"), format!("backend uses {} {what}", shown.join(" and ")));
            for f in &fields {
                v = v.evidence(Evidence::field(format!("{path}/{f}"), b.get(*f).unwrap_or(&Value::Null)));
            }
            if let Some(ops) = backend_ops(&path, b) {
                v = v.fix(fix(ops));
            }
            out.push(v);
        }
    }
}
