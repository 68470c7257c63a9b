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
            | "VolumeAttributesClass"
            | "VolumeGroupSnapshotClass"
            | "ClusterTrustBundle"
            | "DeviceClass"
            | "ServiceCIDR"
            | "IPAddress"
            | "MutatingAdmissionPolicy"
            | "MutatingAdmissionPolicyBinding"
            | "StorageVersionMigration"
            | "SecurityContextConstraints"
            | "BucketClass"
            | "BucketAccessClass"
    )
}

/// Whether an API group is served by Kubernetes itself (core, `apps`, `batch`, `*.k8s.io`, ...),
/// as opposed to a custom resource group. Groups under `k8s.io` that are installed as CRDs (Gateway
/// API, VerticalPodAutoscaler, volume snapshots, COSI, `*.x-k8s.io`) count as custom: controllers
/// watch them and may create pods, Services or Secrets for them.
#[must_use]
pub fn is_builtin_group(group: &str) -> bool {
    match group {
        "" | "apps" | "batch" | "autoscaling" | "policy" | "extensions" => true,
        "gateway.networking.k8s.io"
        | "autoscaling.k8s.io"
        | "snapshot.storage.k8s.io"
        | "objectstorage.k8s.io"
        | "policy.networking.k8s.io"
        | "multicluster.k8s.io" => false,
        g if g.ends_with(".x-k8s.io") => false,
        g => g.ends_with(".k8s.io"),
    }
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
    /// What else changes when moving to the replacement (empty when nothing does).
    pub changes: &'static str,
}

const fn api(
    api_version: &'static str,
    kind: &'static str,
    deprecated_in: &'static str,
    removed_in: &'static str,
    replacement: &'static str,
    same_schema: bool,
) -> RemovedApi {
    RemovedApi { api_version, kind, removed_in, deprecated_in, replacement, same_schema, changes: "" }
}

impl RemovedApi {
    const fn changes(mut self, changes: &'static str) -> RemovedApi {
        self.changes = changes;
        self
    }
}

const APPS_V1: &str = "apps/v1 requires `spec.selector` (it is no longer defaulted from the template labels, \
     and it is immutable), and changes defaults: `revisionHistoryLimit` 10, `progressDeadlineSeconds` 600, \
     rolling updates 25% surge / 25% unavailable, StatefulSet and DaemonSet `updateStrategy` RollingUpdate";
const INGRESS_V1: &str = "networking.k8s.io/v1 renames `serviceName`/`servicePort` to `service.name` and \
     `service.port.number` (or `service.port.name`), renames `spec.backend` to `spec.defaultBackend`, and requires \
     `pathType` on every path (v1beta1 meant `ImplementationSpecific`)";
const CRD_V1: &str = "apiextensions.k8s.io/v1 requires a structural `schema.openAPIV3Schema` per version, moves \
     `validation`, `subresources` and `additionalPrinterColumns` under each version, and drops `spec.version`";
const WEBHOOK_V1: &str = "admissionregistration.k8s.io/v1 requires `sideEffects` (None or NoneOnDryRun) and \
     `admissionReviewVersions`, and defaults `failurePolicy` to Fail, `matchPolicy` to Equivalent and \
     `timeoutSeconds` to 10";
const CSR_V1: &str = "certificates.k8s.io/v1 requires `signerName`, and `usages`";
const HPA_V2: &str = "autoscaling/v2 moves metric targets under `target` (`targetAverageUtilization` becomes \
     `target.averageUtilization` with `type: Utilization`, `targetAverageValue` becomes `target.averageValue`)";
const PDB_V1: &str = "in policy/v1 an empty selector `{}` selects every pod of the namespace; \
     in policy/v1beta1 it selected none";
const PSP: &str = "PodSecurityPolicy has no replacement API: enforce the Pod Security Standards with \
     `pod-security.kubernetes.io/*` namespace labels (Pod Security Admission) or a policy engine";
const ENDPOINTSLICE_V1: &str = "discovery.k8s.io/v1 replaces `topology` with `deprecatedTopology`, adds `zone` \
     and `hints`";
const EVENT_V1: &str = "events.k8s.io/v1 renames `deprecatedFirstTimestamp` and friends and requires `eventTime`";
const PLC_V1: &str = "flowcontrol.apiserver.k8s.io/v1 renames `assuredConcurrencyShares` to \
     `nominalConcurrencyShares`";

/// Removed API versions, from the Kubernetes deprecation guide
/// (<https://kubernetes.io/docs/reference/using-api/deprecation-guide/>).
pub const REMOVED_APIS: &[RemovedApi] = &[
    api("extensions/v1beta1", "Deployment", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("apps/v1beta1", "Deployment", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("apps/v1beta2", "Deployment", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("extensions/v1beta1", "DaemonSet", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("apps/v1beta2", "DaemonSet", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("apps/v1beta1", "StatefulSet", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("apps/v1beta2", "StatefulSet", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("extensions/v1beta1", "ReplicaSet", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("apps/v1beta1", "ReplicaSet", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("apps/v1beta2", "ReplicaSet", "1.9", "1.16", "apps/v1", false).changes(APPS_V1),
    api("apps/v1beta1", "ControllerRevision", "1.9", "1.16", "apps/v1", true),
    api("apps/v1beta2", "ControllerRevision", "1.9", "1.16", "apps/v1", true),
    api("extensions/v1beta1", "NetworkPolicy", "1.9", "1.16", "networking.k8s.io/v1", true),
    api("extensions/v1beta1", "PodSecurityPolicy", "1.10", "1.16", "Pod Security Admission", false).changes(PSP),
    api("batch/v2alpha1", "CronJob", "1.8", "1.21", "batch/v1", true),
    api("extensions/v1beta1", "Ingress", "1.14", "1.22", "networking.k8s.io/v1", false).changes(INGRESS_V1),
    api("networking.k8s.io/v1beta1", "Ingress", "1.19", "1.22", "networking.k8s.io/v1", false).changes(INGRESS_V1),
    api("networking.k8s.io/v1beta1", "IngressClass", "1.19", "1.22", "networking.k8s.io/v1", true),
    api("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.16", "1.22", "apiextensions.k8s.io/v1", false)
        .changes(CRD_V1),
    api(
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
        "1.16",
        "1.22",
        "admissionregistration.k8s.io/v1",
        false,
    )
    .changes(WEBHOOK_V1),
    api(
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
        "1.16",
        "1.22",
        "admissionregistration.k8s.io/v1",
        false,
    )
    .changes(WEBHOOK_V1),
    api("apiregistration.k8s.io/v1beta1", "APIService", "1.19", "1.22", "apiregistration.k8s.io/v1", true),
    api("authentication.k8s.io/v1beta1", "TokenReview", "1.19", "1.22", "authentication.k8s.io/v1", true),
    api("authorization.k8s.io/v1beta1", "SubjectAccessReview", "1.19", "1.22", "authorization.k8s.io/v1", true),
    api("authorization.k8s.io/v1beta1", "LocalSubjectAccessReview", "1.19", "1.22", "authorization.k8s.io/v1", true),
    api("authorization.k8s.io/v1beta1", "SelfSubjectAccessReview", "1.19", "1.22", "authorization.k8s.io/v1", true),
    api("authorization.k8s.io/v1beta1", "SelfSubjectRulesReview", "1.19", "1.22", "authorization.k8s.io/v1", true),
    api("certificates.k8s.io/v1beta1", "CertificateSigningRequest", "1.19", "1.22", "certificates.k8s.io/v1", false)
        .changes(CSR_V1),
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
    api(
        "rbac.authorization.k8s.io/v1alpha1",
        "ClusterRoleBinding",
        "1.17",
        "1.22",
        "rbac.authorization.k8s.io/v1",
        true,
    ),
    api("rbac.authorization.k8s.io/v1alpha1", "Role", "1.17", "1.22", "rbac.authorization.k8s.io/v1", true),
    api("rbac.authorization.k8s.io/v1alpha1", "RoleBinding", "1.17", "1.22", "rbac.authorization.k8s.io/v1", true),
    api("scheduling.k8s.io/v1beta1", "PriorityClass", "1.14", "1.22", "scheduling.k8s.io/v1", true),
    api("storage.k8s.io/v1beta1", "StorageClass", "1.19", "1.22", "storage.k8s.io/v1", true),
    api("storage.k8s.io/v1beta1", "CSIDriver", "1.19", "1.22", "storage.k8s.io/v1", true),
    api("storage.k8s.io/v1beta1", "CSINode", "1.17", "1.22", "storage.k8s.io/v1", true),
    api("storage.k8s.io/v1beta1", "VolumeAttachment", "1.19", "1.22", "storage.k8s.io/v1", true),
    api("batch/v1beta1", "CronJob", "1.21", "1.25", "batch/v1", true),
    api("discovery.k8s.io/v1beta1", "EndpointSlice", "1.21", "1.25", "discovery.k8s.io/v1", false)
        .changes(ENDPOINTSLICE_V1),
    api("events.k8s.io/v1beta1", "Event", "1.21", "1.25", "events.k8s.io/v1", false).changes(EVENT_V1),
    api("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.22", "1.25", "autoscaling/v2", false).changes(HPA_V2),
    api("policy/v1beta1", "PodDisruptionBudget", "1.21", "1.25", "policy/v1", true).changes(PDB_V1),
    api("policy/v1beta1", "PodSecurityPolicy", "1.21", "1.25", "Pod Security Admission", false).changes(PSP),
    api("node.k8s.io/v1beta1", "RuntimeClass", "1.20", "1.25", "node.k8s.io/v1", true),
    api("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.23", "1.26", "autoscaling/v2", true),
    api("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1", true),
    api(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
        "1.23",
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1",
        false,
    )
    .changes(PLC_V1),
    api("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.24", "1.27", "storage.k8s.io/v1", true),
    api("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", "1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1", true),
    api(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "PriorityLevelConfiguration",
        "1.26",
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
        false,
    )
    .changes(PLC_V1),
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

/// What a document is when its apiVersion and kind name a component or tool configuration file
/// (kube-scheduler, kubelet, kubeadm, kubeconfig, Kustomize, ...) rather than an API object: such
/// files are read by a program from disk, never sent to the API server, so object rules do not
/// apply to them. Object kinds that merely end in `Configuration` (`MutatingWebhookConfiguration`,
/// `PriorityLevelConfiguration`) are API objects and are not matched.
#[must_use]
pub fn config_file(api_version: &str, kind: &str) -> Option<&'static str> {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let what = match (group, kind) {
        ("kustomize.config.k8s.io", _) => "a Kustomize file",
        (g, _) if g.ends_with(".config.k8s.io") => "a Kubernetes component configuration",
        ("kubeadm.k8s.io", _) => "a kubeadm configuration",
        ("audit.k8s.io", _) => "an API server audit policy",
        ("apiserver.k8s.io", _) => "an API server configuration",
        (g, "Configuration") if g.ends_with(".admission.k8s.io") => "an admission plugin configuration",
        ("client.authentication.k8s.io", _) => "a client credential plugin message",
        ("", "Config") => "a kubeconfig",
        ("kind.x-k8s.io", "Cluster") => "a kind cluster configuration",
        ("k3d.io", _) => "a k3d configuration",
        ("skaffold", _) => "a Skaffold configuration",
        // Kustomize generator and transformer plugin configurations.
        ("builtin", _) => "a Kustomize plugin configuration",
        _ => return None,
    };
    Some(what)
}

#[cfg(test)]
mod tests {
    use super::config_file;

    #[test]
    fn config_files_are_not_objects() {
        for (api_version, kind) in [
            ("kubescheduler.config.k8s.io/v1", "KubeSchedulerConfiguration"),
            ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"),
            ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration"),
            ("apiserver.config.k8s.io/v1", "EncryptionConfiguration"),
            ("apiserver.k8s.io/v1alpha1", "AdmissionConfiguration"),
            ("eventratelimit.admission.k8s.io/v1alpha1", "Configuration"),
            ("kubeadm.k8s.io/v1beta4", "ClusterConfiguration"),
            ("audit.k8s.io/v1", "Policy"),
            ("v1", "Config"),
            ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
            ("kustomize.config.k8s.io/v1alpha1", "Component"),
            ("kind.x-k8s.io/v1alpha4", "Cluster"),
        ] {
            assert!(config_file(api_version, kind).is_some(), "{api_version} {kind}");
        }
        for (api_version, kind) in [
            ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
            ("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration"),
            ("v1", "ConfigMap"),
            ("cluster.x-k8s.io/v1beta1", "Cluster"),
            ("serving.knative.dev/v1", "Configuration"),
        ] {
            assert!(config_file(api_version, kind).is_none(), "{api_version} {kind}");
        }
    }
}
