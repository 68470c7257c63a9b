use serde::de::DeserializeOwned;

use crate::declare_rule;
use crate::model::{Area, Evidence, Object, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Objects of the built-in kinds the rules read (workloads, Service, Ingress, HPA, PDB, RBAC,
    /// NetworkPolicy, ConfigMap, Secret, PVC, ServiceAccount) decode against the Kubernetes
    /// API schema: every field has the type the API expects.
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

fn decode<T: DeserializeOwned>(o: &Object) -> Result<(), (String, String)> {
    let result: Result<T, _> = serde_path_to_error::deserialize(&o.body);
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

/// Decodes an object with its typed k8s-openapi view, when its kind is one the rules read.
fn typed_check(o: &Object) -> Result<(), (String, String)> {
    use k8s_openapi::api::{apps::v1 as apps, autoscaling::v2 as hpa, batch::v1 as batch, core::v1 as core};
    use k8s_openapi::api::{networking::v1 as net, policy::v1 as policy, rbac::v1 as rbac};
    match (o.api_version.as_str(), o.kind.as_str()) {
        ("v1", "Pod") => decode::<core::Pod>(o),
        ("v1", "Service") => decode::<core::Service>(o),
        ("v1", "ConfigMap") => decode::<core::ConfigMap>(o),
        ("v1", "Secret") => decode::<core::Secret>(o),
        ("v1", "ServiceAccount") => decode::<core::ServiceAccount>(o),
        ("v1", "PersistentVolumeClaim") => decode::<core::PersistentVolumeClaim>(o),
        ("v1", "ReplicationController") => decode::<core::ReplicationController>(o),
        ("v1", "Namespace") => decode::<core::Namespace>(o),
        ("apps/v1", "Deployment") => decode::<apps::Deployment>(o),
        ("apps/v1", "StatefulSet") => decode::<apps::StatefulSet>(o),
        ("apps/v1", "DaemonSet") => decode::<apps::DaemonSet>(o),
        ("apps/v1", "ReplicaSet") => decode::<apps::ReplicaSet>(o),
        ("batch/v1", "Job") => decode::<batch::Job>(o),
        ("batch/v1", "CronJob") => decode::<batch::CronJob>(o),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => decode::<hpa::HorizontalPodAutoscaler>(o),
        ("policy/v1", "PodDisruptionBudget") => decode::<policy::PodDisruptionBudget>(o),
        ("networking.k8s.io/v1", "Ingress") => decode::<net::Ingress>(o),
        ("networking.k8s.io/v1", "NetworkPolicy") => decode::<net::NetworkPolicy>(o),
        ("rbac.authorization.k8s.io/v1", "Role") => decode::<rbac::Role>(o),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => decode::<rbac::ClusterRole>(o),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => decode::<rbac::RoleBinding>(o),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => decode::<rbac::ClusterRoleBinding>(o),
        _ => Ok(()),
    }
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
