//! Rules about how objects fit together.
//!
//! Cross-object rules must tell "the target is missing" from "this input is partial" (a repository
//! often keeps Services, workloads and Secrets in different directories, and operators create pods
//! and Secrets that no manifest declares). The helpers below hold those shared judgements.

use serde_json::{Map, Value};

use crate::model::Object;
use crate::rules::{Context, Rule};
use crate::workload::{Workload, selector_matches};

pub mod backend_port_not_exposed;
pub mod hpa_missing_target;
pub mod ingress_missing_service;
pub mod metadata_instance_mismatch;
pub mod missing_config_reference;
pub mod pdb_selects_nothing;
pub mod service_selects_nothing;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[
    &service_selects_nothing::ServiceSelectsNothing,
    &ingress_missing_service::IngressMissingService,
    &hpa_missing_target::HpaMissingTarget,
    &missing_config_reference::MissingConfigReference,
    &pdb_selects_nothing::PdbSelectsNothing,
    &metadata_instance_mismatch::MetadataInstanceMismatch,
    &backend_port_not_exposed::BackendPortNotExposed,
];

/// Whether a label is set by a controller on the pods it creates rather than by the template
/// (the list is [`crate::kinds::GENERATED_LABELS`]).
#[must_use]
pub fn is_controller_set_label(key: &str) -> bool {
    crate::kinds::is_generated_label(key)
}

/// A selector without the labels controllers add at runtime, or `None` when nothing is left to match
/// (the selector only names runtime labels, so the input cannot tell whether it matches).
#[must_use]
pub fn without_controller_labels(selector: &Value) -> Option<Value> {
    let sel = selector.as_object()?;
    let structured = sel.contains_key("matchLabels") || sel.contains_key("matchExpressions");
    let keep = |m: &Map<String, Value>| -> Map<String, Value> {
        m.iter().filter(|(k, _)| !is_controller_set_label(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let out = if structured {
        let mut out = Map::new();
        if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
            let ml = keep(ml);
            if !ml.is_empty() {
                out.insert("matchLabels".to_string(), Value::Object(ml));
            }
        }
        if let Some(Value::Array(exprs)) = sel.get("matchExpressions") {
            let exprs: Vec<Value> = exprs
                .iter()
                .filter(|e| !e.get("key").and_then(Value::as_str).is_some_and(is_controller_set_label))
                .cloned()
                .collect();
            if !exprs.is_empty() {
                out.insert("matchExpressions".to_string(), Value::Array(exprs));
            }
        }
        out
    } else {
        keep(sel)
    };
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Whether any workload of the namespace has pods the selector matches.
#[must_use]
pub fn any_workload_matches(cx: &Context<'_>, ns: &str, selector: &Value) -> bool {
    cx.graph
        .selector_candidates(ns, selector)
        .into_iter()
        .any(|i| cx.template(i).is_some_and(|w: &Workload<'_>| selector_matches(selector, w.pod_labels)))
}

/// Whether the object is a custom resource (its API group is not one Kubernetes serves itself).
#[must_use]
pub fn is_custom_resource(o: &Object) -> bool {
    !crate::kinds::is_builtin_group(o.group()) && o.kind != "CustomResourceDefinition"
}

/// Custom resource groups and kinds that configure traffic, policy or monitoring but create no
/// pods, Services, ConfigMaps or Secrets of their own name (`*` for the whole group).
const CONFIG_ONLY: &[(&str, &str)] = &[
    ("gateway.networking.k8s.io", "HTTPRoute"),
    ("gateway.networking.k8s.io", "GRPCRoute"),
    ("gateway.networking.k8s.io", "TCPRoute"),
    ("gateway.networking.k8s.io", "TLSRoute"),
    ("gateway.networking.k8s.io", "UDPRoute"),
    ("gateway.networking.k8s.io", "ReferenceGrant"),
    ("gateway.networking.k8s.io", "BackendTLSPolicy"),
    ("autoscaling.k8s.io", "*"),
    ("networking.istio.io", "*"),
    ("security.istio.io", "*"),
    ("telemetry.istio.io", "*"),
    ("cert-manager.io", "*"),
    ("monitoring.coreos.com", "ServiceMonitor"),
    ("monitoring.coreos.com", "PodMonitor"),
    ("monitoring.coreos.com", "PrometheusRule"),
    ("monitoring.coreos.com", "Probe"),
    ("monitoring.coreos.com", "AlertmanagerConfig"),
    ("monitoring.coreos.com", "ScrapeConfig"),
    ("cilium.io", "*"),
    ("projectcontour.io", "HTTPProxy"),
    ("projectcontour.io", "TLSCertificateDelegation"),
    ("traefik.io", "*"),
    ("traefik.containo.us", "*"),
    ("kyverno.io", "*"),
    ("external-secrets.io", "*"),
    ("bitnami.com", "*"),
];

/// Whether a custom resource may make an operator create objects named after it
/// (a Prometheus makes pods, a CephCluster makes ConfigMaps and Services); routes, policies and
/// monitoring configuration do not.
#[must_use]
pub fn may_own_objects(o: &Object) -> bool {
    is_custom_resource(o) && !CONFIG_ONLY.iter().any(|(g, k)| *g == o.group() && (*k == "*" || *k == o.kind))
}

/// A custom resource in the namespace that an operator probably turns into the pods this selector
/// matches: a selector value names it (operators label pods with their owner's name, e.g.
/// `prometheus: k8s`), or the selector matches its own labels (operators copy them onto pods).
#[must_use]
pub fn operator_owner<'a>(cx: &Context<'a>, ns: &str, selector: &Value) -> Option<&'a Object> {
    let values: Vec<&str> = selector_values(selector);
    // Only a selector that requires some label value can be compared with a resource's labels:
    // `{}` or `NotIn`-only selectors would match any labelled resource.
    let has_labels = !values.is_empty();
    cx.graph.in_namespace(ns).iter().filter_map(|&i| cx.object(i)).find(|o| {
        may_own_objects(o)
            && (values.iter().any(|v| {
                *v == o.name
                    || (!o.name.is_empty() && v.strip_prefix(o.name.as_str()).is_some_and(|r| r.starts_with('-')))
            }) || (has_labels && o.labels().is_some() && selector_matches(selector, o.labels())))
    })
}

/// The values a selector requires (`matchLabels` values and `In` values, or a plain map's values).
fn selector_values(selector: &Value) -> Vec<&str> {
    let Some(sel) = selector.as_object() else { return Vec::new() };
    let structured = sel.contains_key("matchLabels") || sel.contains_key("matchExpressions");
    let mut out = Vec::new();
    let labels = if structured { sel.get("matchLabels").and_then(Value::as_object) } else { Some(sel) };
    if let Some(m) = labels {
        out.extend(m.values().filter_map(Value::as_str));
    }
    if structured && let Some(Value::Array(exprs)) = sel.get("matchExpressions") {
        for e in exprs {
            if e.get("operator").and_then(Value::as_str) == Some("In")
                && let Some(Value::Array(vals)) = e.get("values")
            {
                out.extend(vals.iter().filter_map(Value::as_str));
            }
        }
    }
    out
}

/// Whether a custom resource of the namespace looks like the owner of an object of this name:
/// same name, or the name starts with `<resource name>-` (operators name what they create after
/// the resource: CephCluster `rook-ceph` creates ConfigMap `rook-ceph-mon-endpoints`).
#[must_use]
pub fn named_after_custom_resource(cx: &Context<'_>, ns: &str, name: &str) -> bool {
    cx.graph.in_namespace(ns).iter().filter_map(|&i| cx.object(i)).any(|o| {
        may_own_objects(o)
            && !o.name.is_empty()
            && (o.name == name || name.strip_prefix(o.name.as_str()).is_some_and(|rest| rest.starts_with('-')))
    })
}

/// Whether RBAC in the input lets something running in the namespace create this object
/// (`create` on the resource, with no `resourceNames` or with this name), through a Role bound in
/// the namespace or a ClusterRole bound to one of its ServiceAccounts: the object may well be
/// created at runtime (Argo CD's `argocd-redis` Secret, an operator's ConfigMaps).
#[must_use]
pub fn creatable_at_runtime(cx: &Context<'_>, resource: &str, ns: &str, name: &str) -> bool {
    let bindings = cx.graph.of_kind("RoleBinding").iter().chain(cx.graph.of_kind("ClusterRoleBinding"));
    bindings.filter_map(|&i| cx.object(i).map(|b| (i, b))).any(|(i, b)| {
        let in_scope = match b.kind.as_str() {
            "RoleBinding" => b.effective_namespace() == Some(ns),
            "ClusterRoleBinding" => cx
                .graph
                .targets(i, crate::graph::Edge::Binds)
                .into_iter()
                .any(|sa| cx.object(sa).is_some_and(|sa| sa.effective_namespace() == Some(ns))),
            _ => false,
        };
        in_scope
            && cx
                .graph
                .targets(i, crate::graph::Edge::Grants)
                .into_iter()
                .filter_map(|r| cx.object(r))
                .any(|role| role_allows_create(role, resource, name))
    })
}

fn role_allows_create(role: &Object, resource: &str, name: &str) -> bool {
    let Some(Value::Array(rules)) = role.get("/rules") else { return false };
    let has = |rule: &Value, key: &str, want: &str| {
        rule.get(key)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str().is_some_and(|s| s == want || s == "*")))
    };
    rules.iter().any(|rule| {
        has(rule, "apiGroups", "")
            && has(rule, "resources", resource)
            && has(rule, "verbs", "create")
            && rule
                .get("resourceNames")
                .and_then(Value::as_array)
                .is_none_or(|names| names.is_empty() || names.iter().any(|n| n.as_str() == Some(name)))
    })
}
