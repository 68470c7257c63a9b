//! Facts about Kubernetes kinds and API versions that rules and sources share.

/// Kinds that have no namespace.
#[must_use]
pub fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "PersistentVolume"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "StorageClass"
            | "PriorityClass"
            | "IngressClass"
            | "RuntimeClass"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "APIService"
            | "CSIDriver"
            | "CSINode"
            | "VolumeAttachment"
            | "PodSecurityPolicy"
            | "CertificateSigningRequest"
            | "FlowSchema"
            | "PriorityLevelConfiguration"
            | "ClusterIssuer"
            | "GatewayClass"
            | "VolumeSnapshotClass"
            | "ComponentStatus"
    )
}

/// Kinds whose pod template the workload view understands.
pub const WORKLOAD_KINDS: [&str; 8] =
    ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"];

/// An API version that Kubernetes stopped serving.
#[derive(Debug, Clone, Copy)]
pub struct RemovedApi {
    /// The `apiVersion` as written.
    pub api_version: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// Release that stopped serving it.
    pub removed_in: &'static str,
    /// Release that deprecated it.
    pub deprecated_in: &'static str,
    /// The version to use instead.
    pub replacement: &'static str,
    /// The replacement takes the same fields, so changing `apiVersion` alone is a faithful fix.
    pub same_schema: bool,
}

const fn api(
    api_version: &'static str,
    kind: &'static str,
    deprecated_in: &'static str,
    removed_in: &'static str,
    replacement: &'static str,
    same_schema: bool,
) -> RemovedApi {
    RemovedApi { api_version, kind, removed_in, deprecated_in, replacement, same_schema }
}

/// Removed API versions, from the Kubernetes deprecation guide.
pub const REMOVED_APIS: &[RemovedApi] = &[
    api("extensions/v1beta1", "Deployment", "1.9", "1.16", "apps/v1", false),
    api("apps/v1beta1", "Deployment", "1.9", "1.16", "apps/v1", false),
    api("apps/v1beta2", "Deployment", "1.9", "1.16", "apps/v1", false),
    api("extensions/v1beta1", "DaemonSet", "1.9", "1.16", "apps/v1", false),
    api("apps/v1beta2", "DaemonSet", "1.9", "1.16", "apps/v1", false),
    api("apps/v1beta1", "StatefulSet", "1.9", "1.16", "apps/v1", false),
    api("apps/v1beta2", "StatefulSet", "1.9", "1.16", "apps/v1", false),
    api("extensions/v1beta1", "ReplicaSet", "1.9", "1.16", "apps/v1", false),
    api("apps/v1beta1", "ReplicaSet", "1.9", "1.16", "apps/v1", false),
    api("apps/v1beta2", "ReplicaSet", "1.9", "1.16", "apps/v1", false),
    api("extensions/v1beta1", "NetworkPolicy", "1.9", "1.16", "networking.k8s.io/v1", true),
    api("extensions/v1beta1", "PodSecurityPolicy", "1.10", "1.16", "policy/v1beta1", true),
    api("extensions/v1beta1", "Ingress", "1.14", "1.22", "networking.k8s.io/v1", false),
    api("networking.k8s.io/v1beta1", "Ingress", "1.19", "1.22", "networking.k8s.io/v1", false),
    api("networking.k8s.io/v1beta1", "IngressClass", "1.19", "1.22", "networking.k8s.io/v1", true),
    api("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.16", "1.22", "apiextensions.k8s.io/v1", false),
    api(
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
        "1.16",
        "1.22",
        "admissionregistration.k8s.io/v1",
        false,
    ),
    api(
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
        "1.16",
        "1.22",
        "admissionregistration.k8s.io/v1",
        false,
    ),
    api("apiregistration.k8s.io/v1beta1", "APIService", "1.19", "1.22", "apiregistration.k8s.io/v1", true),
    api("authentication.k8s.io/v1beta1", "TokenReview", "1.19", "1.22", "authentication.k8s.io/v1", true),
    api("authorization.k8s.io/v1beta1", "SubjectAccessReview", "1.19", "1.22", "authorization.k8s.io/v1", true),
    api("certificates.k8s.io/v1beta1", "CertificateSigningRequest", "1.19", "1.22", "certificates.k8s.io/v1", false),
    api("coordination.k8s.io/v1beta1", "Lease", "1.19", "1.22", "coordination.k8s.io/v1", true),
    api("rbac.authorization.k8s.io/v1beta1", "ClusterRole", "1.17", "1.22", "rbac.authorization.k8s.io/v1", true),
    api(
        "rbac.authorization.k8s.io/v1beta1",
        "ClusterRoleBinding",
        "1.17",
        "1.22",
        "rbac.authorization.k8s.io/v1",
        true,
    ),
    api("rbac.authorization.k8s.io/v1beta1", "Role", "1.17", "1.22", "rbac.authorization.k8s.io/v1", true),
    api("rbac.authorization.k8s.io/v1beta1", "RoleBinding", "1.17", "1.22", "rbac.authorization.k8s.io/v1", true),
    api("rbac.authorization.k8s.io/v1alpha1", "ClusterRole", "1.17", "1.22", "rbac.authorization.k8s.io/v1", true),
    api("rbac.authorization.k8s.io/v1alpha1", "Role", "1.17", "1.22", "rbac.authorization.k8s.io/v1", true),
    api("scheduling.k8s.io/v1beta1", "PriorityClass", "1.14", "1.22", "scheduling.k8s.io/v1", true),
    api("storage.k8s.io/v1beta1", "StorageClass", "1.19", "1.22", "storage.k8s.io/v1", true),
    api("storage.k8s.io/v1beta1", "CSIDriver", "1.19", "1.22", "storage.k8s.io/v1", true),
    api("storage.k8s.io/v1beta1", "CSINode", "1.17", "1.22", "storage.k8s.io/v1", true),
    api("storage.k8s.io/v1beta1", "VolumeAttachment", "1.19", "1.22", "storage.k8s.io/v1", true),
    api("batch/v1beta1", "CronJob", "1.21", "1.25", "batch/v1", true),
    api("discovery.k8s.io/v1beta1", "EndpointSlice", "1.21", "1.25", "discovery.k8s.io/v1", false),
    api("events.k8s.io/v1beta1", "Event", "1.21", "1.25", "events.k8s.io/v1", false),
    api("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.22", "1.25", "autoscaling/v2", false),
    api("policy/v1beta1", "PodDisruptionBudget", "1.21", "1.25", "policy/v1", true),
    api("policy/v1beta1", "PodSecurityPolicy", "1.21", "1.25", "Pod Security Admission", false),
    api("node.k8s.io/v1beta1", "RuntimeClass", "1.20", "1.25", "node.k8s.io/v1", true),
    api("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.23", "1.26", "autoscaling/v2", true),
    api("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1", false),
    api(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
        "1.23",
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1",
        false,
    ),
    api("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.24", "1.27", "storage.k8s.io/v1", true),
    api("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", "1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1", true),
    api(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "PriorityLevelConfiguration",
        "1.26",
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
        false,
    ),
    api("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "1.29", "1.32", "flowcontrol.apiserver.k8s.io/v1", true),
    api(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "PriorityLevelConfiguration",
        "1.29",
        "1.32",
        "flowcontrol.apiserver.k8s.io/v1",
        true,
    ),
];

/// The removal entry for an apiVersion and kind, if Kubernetes no longer serves it.
#[must_use]
pub fn removed_api(api_version: &str, kind: &str) -> Option<&'static RemovedApi> {
    REMOVED_APIS.iter().find(|a| a.api_version == api_version && a.kind == kind)
}
