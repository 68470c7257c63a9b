use serde_json::{Value, json};

use crate::declare_rule;
use crate::kinds::{RemovedApi, removed_api};
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Object, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};
use crate::workload::selector_is_empty;
use crate::yaml::PointerExt;

declare_rule! {
    /// ## What it checks
    /// The object's `apiVersion` is still served for its kind. The rule knows every built-in
    /// apiVersion/kind pair the Kubernetes deprecation guide lists as removed (for example
    /// `extensions/v1beta1` Deployment and Ingress, `batch/v1beta1` CronJob, `policy/v1beta1`
    /// PodDisruptionBudget, `autoscaling/v2beta2` HorizontalPodAutoscaler, `flowcontrol` `v1beta3`),
    /// and names the release that removed it and the replacement.
    ///
    /// ## Why it matters
    /// The API server answers `no matches for kind ... in version ...`: the object cannot be
    /// created or updated, so a deploy or an upgrade fails, often only when the cluster is upgraded.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: batch/v1beta1   # removed in 1.25
    /// kind: CronJob
    /// ```
    ///
    /// ## Fix
    /// Move to the replacement apiVersion.
    /// - Safe when the replacement takes the same fields (CronJob, NetworkPolicy, RBAC, PriorityClass,
    ///   `autoscaling/v2beta2` HPA, ...): only `apiVersion` changes. A `policy/v1beta1`
    ///   PodDisruptionBudget with an empty selector (which selected no pod there but would select
    ///   every pod in `policy/v1`) also loses the selector, so it keeps selecting none.
    /// - Unsafe for workloads moving to `apps/v1` (the selector the old version defaulted from the
    ///   template labels is written out, and the old `OnDelete` update strategy is kept, but other
    ///   defaults change) and for Ingress moving to `networking.k8s.io/v1` (backends are rewritten
    ///   and `pathType: ImplementationSpecific`, the old default, is written out), because the
    ///   replacement must be served by the target cluster.
    /// - Display-only otherwise (CRDs, webhooks, `autoscaling/v2beta1` HPA, ...): the finding's
    ///   note says which fields must be rewritten by hand.
    pub struct RemovedApiVersion;
    meta {
        id: "SCH002",
        name: "removed-api-version",
        area: Area::Schema,
        severity: Severity::High,
        default_enabled: true,
        summary: "apiVersion is no longer served by Kubernetes",
        fix: Some(Applicability::Safe),
        equivalents: Equivalents::NONE,
    }
}

fn replace_api(api: &RemovedApi) -> FixOp {
    FixOp::Replace { path: "/apiVersion".to_string(), value: json!(api.replacement).into() }
}

/// The v1 form of a v1beta1 Ingress backend (`serviceName`/`servicePort`), or `None` when it is not one.
pub fn ingress_backend_v1(b: &Value) -> Option<Value> {
    let name = b.get("serviceName")?.clone();
    let port = match b.get("servicePort") {
        Some(Value::Number(n)) => json!({ "number": n }),
        Some(Value::String(s)) => match s.parse::<u64>() {
            Ok(n) => json!({ "number": n }),
            Err(_) => json!({ "name": s }),
        },
        _ => return Some(json!({ "service": { "name": name } })),
    };
    Some(json!({ "service": { "name": name, "port": port } }))
}

fn ingress_fix(o: &Object, api: &RemovedApi) -> Fix {
    let mut ops = vec![replace_api(api)];
    if let Some(b) = o.get("/spec/backend") {
        ops.push(FixOp::Remove { path: "/spec/backend".to_string() });
        let v1 = ingress_backend_v1(b).unwrap_or_else(|| b.clone());
        ops.push(FixOp::Add { path: "/spec/defaultBackend".to_string(), value: v1.into() });
    }
    if let Some(Value::Array(rules)) = o.get("/spec/rules") {
        for (ri, r) in rules.iter().enumerate() {
            let Some(Value::Array(paths)) = r.ptr("/http/paths") else { continue };
            for (pi, p) in paths.iter().enumerate() {
                let base = format!("/spec/rules/{ri}/http/paths/{pi}");
                if let Some(v1) = p.get("backend").and_then(ingress_backend_v1) {
                    ops.push(FixOp::Replace { path: format!("{base}/backend"), value: v1.into() });
                }
                if p.get("pathType").is_none_or(Value::is_null) {
                    ops.push(FixOp::Add {
                        path: format!("{base}/pathType"),
                        value: json!("ImplementationSpecific").into(),
                    });
                }
            }
        }
    }
    Fix::new(format!("Move to {}", api.replacement), Applicability::Unsafe, ops).with_note(format!(
        "backends are rewritten and pathType ImplementationSpecific (the old default) is written out; {} must be \
         served by the target cluster (Kubernetes 1.19+)",
        api.replacement
    ))
}

fn apps_fix(o: &Object, api: &RemovedApi) -> Fix {
    let mut ops = vec![replace_api(api)];
    if o.get("/spec/selector").is_none_or(Value::is_null)
        && let Some(labels) = o.get("/spec/template/metadata/labels").and_then(Value::as_object)
    {
        ops.push(FixOp::Add {
            path: "/spec/selector".to_string(),
            value: json!({ "matchLabels": Value::Object(labels.clone()) }).into(),
        });
    }
    // extensions/v1beta1 DaemonSets and apps/v1beta1 StatefulSets defaulted to OnDelete updates.
    let on_delete_default = matches!(
        (o.api_version.as_str(), o.kind.as_str()),
        ("extensions/v1beta1", "DaemonSet") | ("apps/v1beta1", "StatefulSet")
    );
    if on_delete_default && o.get("/spec/updateStrategy/type").is_none() {
        ops.push(FixOp::Add { path: "/spec/updateStrategy/type".to_string(), value: json!("OnDelete").into() });
    }
    Fix::new(format!("Move to {}", api.replacement), Applicability::Unsafe, ops)
        .with_note(format!("the selector the old version defaulted is written out; still, {}", api.changes))
}

fn fix_for(o: &Object, api: &RemovedApi) -> Option<Fix> {
    if !api.replacement.contains('/') && !api.replacement.starts_with('v') {
        return None;
    }
    if o.kind == "PodDisruptionBudget" && o.get("/spec/selector").is_some_and(selector_is_empty) {
        return Some(
            Fix::new(
                format!("Move to {}", api.replacement),
                Applicability::Safe,
                vec![replace_api(api), FixOp::Remove { path: "/spec/selector".to_string() }],
            )
            .with_note(
                "an empty selector selected no pod in policy/v1beta1 but selects every pod in policy/v1; \
                 removing it keeps the budget selecting none, as today",
            ),
        );
    }
    if api.same_schema {
        return Some(Fix::new(format!("Move to {}", api.replacement), Applicability::Safe, vec![replace_api(api)]));
    }
    if api.replacement == "apps/v1" {
        return Some(apps_fix(o, api));
    }
    if o.kind == "Ingress" {
        return Some(ingress_fix(o, api));
    }
    let note = if api.changes.is_empty() { "other fields change too; review them by hand" } else { api.changes };
    Some(
        Fix::new(format!("Move to {}", api.replacement), Applicability::DisplayOnly, vec![replace_api(api)])
            .with_note(note),
    )
}

impl Rule for RemovedApiVersion {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        let Some(api) = removed_api(&o.api_version, &o.kind) else { return };
        let fix = fix_for(o, api);
        let manual = fix.as_ref().is_none_or(|f| f.applicability == Applicability::DisplayOnly);
        let advice = match (fix.is_none(), manual && !api.changes.is_empty()) {
            (true, true) => api.changes.to_string(),
            (false, true) => format!("use `{}` ({})", api.replacement, api.changes),
            _ => format!("use `{}`", api.replacement),
        };
        let message = format!(
            "{} `{}` is no longer served since Kubernetes {} (deprecated in {}); {advice}",
            o.kind, o.api_version, api.removed_in, api.deprecated_in
        );
        let mut v = Violation::new("/apiVersion", message)
            .evidence(Evidence::field("/apiVersion", &Value::String(o.api_version.clone())))
            .evidence(Evidence::note("removed in", format!("Kubernetes {}", api.removed_in)));
        if let Some(f) = fix {
            v = v.fix(f);
        }
        out.push(v);
    }
}
