use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Evidence, Object, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Objects of the common built-in kinds (workloads, Service, Ingress, IngressClass, HPA
    /// `autoscaling/v1` and `v2`, PDB, RBAC, NetworkPolicy, ConfigMap, Secret, PersistentVolume,
    /// PVC, ServiceAccount, Namespace, LimitRange, ResourceQuota, PriorityClass, StorageClass)
    /// decode against the Kubernetes API schema: every field has the type the API expects.
    /// `key: null` is read as the API server reads it: the field is left unset.
    ///
    /// ## Why it matters
    /// The API server rejects such an object (`kubectl apply` fails), or a typo'd value silently
    /// means something else. Other rules may also misread a field of the wrong type.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   replicas: "three"
    /// ```
    ///
    /// ## Fix
    /// Give the field the type the API expects; the finding names the field and the expected type.
    pub struct InvalidField;
    meta {
        id: "SCH001",
        name: "invalid-field-type",
        area: Area::Schema,
        severity: Severity::High,
        default_enabled: true,
        summary: "Field has a type the Kubernetes API rejects",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

fn has_null_member(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.values().any(|c| c.is_null() || has_null_member(c)),
        Value::Array(a) => a.iter().any(has_null_member),
        _ => false,
    }
}

/// Drops `key: null` members: the API server's JSON decoder leaves a field untouched when it reads
/// null (a null label value becomes "", a null optional field stays unset), while serde rejects
/// null for non-optional Rust fields. Nulls inside arrays are kept: Go decodes them as empty
/// structs, which validation then rejects, so reporting them is right.
fn without_null_members(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter().filter(|(_, c)| !c.is_null()).map(|(k, c)| (k.clone(), without_null_members(c))).collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_null_members).collect()),
        other => other.clone(),
    }
}

fn decode<T: DeserializeOwned>(o: &Object) -> Result<(), (String, String)> {
    let cleaned;
    let body = if has_null_member(&o.body) {
        cleaned = without_null_members(&o.body);
        &cleaned
    } else {
        &o.body
    };
    let result: Result<T, _> = serde_path_to_error::deserialize(body);
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            let mut pointer = String::new();
            for seg in e.path().iter() {
                use serde_path_to_error::Segment;
                match seg {
                    Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                    Segment::Map { key } | Segment::Enum { variant: key } => {
                        pointer.push('/');
                        pointer.push_str(&crate::yaml::escape_segment(key));
                    }
                    Segment::Unknown => break,
                }
            }
            Err((pointer, e.into_inner().to_string()))
        }
    }
}

type Decoder = fn(&Object) -> Result<(), (String, String)>;

mod typed {
    pub use k8s_openapi::api::{apps::v1 as apps, autoscaling::v1 as hpa1, autoscaling::v2 as hpa, batch::v1 as batch};
    pub use k8s_openapi::api::{core::v1 as core, networking::v1 as net, policy::v1 as policy, rbac::v1 as rbac};
    pub use k8s_openapi::api::{scheduling::v1 as scheduling, storage::v1 as storage};
}

/// The kinds decoded against their k8s-openapi type: the ones rules read, and common built-ins.
const TYPED: &[(&str, &str, Decoder)] = {
    use typed::*;
    &[
        ("v1", "Pod", decode::<core::Pod>),
        ("v1", "Service", decode::<core::Service>),
        ("v1", "ConfigMap", decode::<core::ConfigMap>),
        ("v1", "Secret", decode::<core::Secret>),
        ("v1", "ServiceAccount", decode::<core::ServiceAccount>),
        ("v1", "PersistentVolumeClaim", decode::<core::PersistentVolumeClaim>),
        ("v1", "PersistentVolume", decode::<core::PersistentVolume>),
        ("v1", "ReplicationController", decode::<core::ReplicationController>),
        ("v1", "Namespace", decode::<core::Namespace>),
        ("v1", "LimitRange", decode::<core::LimitRange>),
        ("v1", "ResourceQuota", decode::<core::ResourceQuota>),
        ("apps/v1", "Deployment", decode::<apps::Deployment>),
        ("apps/v1", "StatefulSet", decode::<apps::StatefulSet>),
        ("apps/v1", "DaemonSet", decode::<apps::DaemonSet>),
        ("apps/v1", "ReplicaSet", decode::<apps::ReplicaSet>),
        ("batch/v1", "Job", decode::<batch::Job>),
        ("batch/v1", "CronJob", decode::<batch::CronJob>),
        ("autoscaling/v1", "HorizontalPodAutoscaler", decode::<hpa1::HorizontalPodAutoscaler>),
        ("autoscaling/v2", "HorizontalPodAutoscaler", decode::<hpa::HorizontalPodAutoscaler>),
        ("policy/v1", "PodDisruptionBudget", decode::<policy::PodDisruptionBudget>),
        ("networking.k8s.io/v1", "Ingress", decode::<net::Ingress>),
        ("networking.k8s.io/v1", "IngressClass", decode::<net::IngressClass>),
        ("networking.k8s.io/v1", "NetworkPolicy", decode::<net::NetworkPolicy>),
        ("rbac.authorization.k8s.io/v1", "Role", decode::<rbac::Role>),
        ("rbac.authorization.k8s.io/v1", "ClusterRole", decode::<rbac::ClusterRole>),
        ("rbac.authorization.k8s.io/v1", "RoleBinding", decode::<rbac::RoleBinding>),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", decode::<rbac::ClusterRoleBinding>),
        ("scheduling.k8s.io/v1", "PriorityClass", decode::<scheduling::PriorityClass>),
        ("storage.k8s.io/v1", "StorageClass", decode::<storage::StorageClass>),
    ]
};

fn decoder(o: &Object) -> Option<Decoder> {
    TYPED.iter().find(|(v, k, _)| *v == o.api_version && *k == o.kind).map(|(_, _, d)| *d)
}

/// Whether SCH001 decodes this object against its Kubernetes type (so it reports type errors there).
#[must_use]
pub fn is_typed(o: &Object) -> bool {
    decoder(o).is_some()
}

/// Decodes an object with its typed k8s-openapi view, when its kind is one of [`TYPED`].
fn typed_check(o: &Object) -> Result<(), (String, String)> {
    decoder(o).map_or(Ok(()), |d| d(o))
}

impl Rule for InvalidField {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if let Err((path, message)) = typed_check(o) {
            let shown = if path.is_empty() { "/".to_string() } else { path.clone() };
            let value = o.get(&path).map_or_else(|| "<unset>".to_string(), crate::model::value_text);
            out.push(
                Violation::new(path, format!("`{shown}` does not match the {} schema: {message}", o.kind))
                    .evidence(Evidence::note(shown, value)),
            );
        }
    }
}
