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

/// Where a workload kind keeps its pod template, and how it runs its pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadKind {
    /// API groups that serve the kind (`""` is core).
    pub groups: &'static [&'static str],
    /// The kind.
    pub kind: &'static str,
    /// JSON pointer of the pod spec.
    pub pod_spec: &'static str,
    /// JSON pointer of the pod template's metadata (`/metadata` for a Pod).
    pub pod_meta: &'static str,
    /// JSON pointer of the label selector, where the kind has one the user writes.
    pub selector: Option<&'static str>,
    /// Keeps `spec.replicas` long-running pods (Kubernetes defaults it to 1).
    pub replicated: bool,
    /// Runs its pods to completion.
    pub batch: bool,
}

const fn wk(
    groups: &'static [&'static str],
    kind: &'static str,
    pod_spec: &'static str,
    pod_meta: &'static str,
    selector: Option<&'static str>,
    replicated: bool,
    batch: bool,
) -> WorkloadKind {
    WorkloadKind { groups, kind, pod_spec, pod_meta, selector, replicated, batch }
}

const TEMPLATE_SPEC: &str = "/spec/template/spec";
const TEMPLATE_META: &str = "/spec/template/metadata";
const SELECTOR: Option<&str> = Some("/spec/selector");

/// Every kind the workload view understands: the built-in controllers, and the common CRD workloads
/// (Argo Rollouts `Rollout`, OpenShift `DeploymentConfig`, KEDA `ScaledJob`). Matched on group and
/// kind, so an unrelated `Deployment` of some other API group is not read as one.
pub const WORKLOAD_KINDS: &[WorkloadKind] = &[
    wk(&[""], "Pod", "/spec", "/metadata", None, false, false),
    wk(&["apps", "extensions"], "Deployment", TEMPLATE_SPEC, TEMPLATE_META, SELECTOR, true, false),
    wk(&["apps"], "StatefulSet", TEMPLATE_SPEC, TEMPLATE_META, SELECTOR, true, false),
    wk(&["apps", "extensions"], "DaemonSet", TEMPLATE_SPEC, TEMPLATE_META, SELECTOR, false, false),
    wk(&["apps", "extensions"], "ReplicaSet", TEMPLATE_SPEC, TEMPLATE_META, SELECTOR, true, false),
    // The selector is a plain label map.
    wk(&[""], "ReplicationController", TEMPLATE_SPEC, TEMPLATE_META, SELECTOR, true, false),
    wk(&["batch"], "Job", TEMPLATE_SPEC, TEMPLATE_META, SELECTOR, false, true),
    wk(
        &["batch"],
        "CronJob",
        "/spec/jobTemplate/spec/template/spec",
        "/spec/jobTemplate/spec/template/metadata",
        None,
        false,
        true,
    ),
    wk(&["argoproj.io"], "Rollout", TEMPLATE_SPEC, TEMPLATE_META, SELECTOR, true, false),
    // OpenShift 3 templates still say `apiVersion: v1`; the selector is a plain label map.
    wk(&["apps.openshift.io", ""], "DeploymentConfig", TEMPLATE_SPEC, TEMPLATE_META, SELECTOR, true, false),
    wk(
        &["keda.sh"],
        "ScaledJob",
        "/spec/jobTargetRef/template/spec",
        "/spec/jobTargetRef/template/metadata",
        None,
        false,
        true,
    ),
];

/// The workload kind of an `apiVersion` and kind. An object without `apiVersion` is matched on its
/// kind alone (a partial manifest); otherwise the API group must be one that serves the kind.
#[must_use]
pub fn workload_kind(api_version: &str, kind: &str) -> Option<&'static WorkloadKind> {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    WORKLOAD_KINDS.iter().find(|w| w.kind == kind && (api_version.is_empty() || w.groups.contains(&group)))
}

// Fields the API server and controllers write. Configuration rules never report on them: a live
// object (`kubectl get -o yaml`, a support bundle) carries them although nobody configured them.

/// Top-level fields the API server writes.
pub const SERVER_TOP_LEVEL: &[&str] = &["status"];

/// `metadata` fields the API server writes.
pub const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// Labels controllers add to what they create (a hash, a uid, a pod name: no template a user
/// writes carries them), with the kinds that carry them on their metadata, pod template or selector.
pub const GENERATED_LABELS: &[(&str, &[&str])] = &[
    ("pod-template-hash", &["ReplicaSet", "Pod"]),
    ("controller-revision-hash", &["Pod", "ControllerRevision"]),
    ("pod-template-generation", &["Pod"]),
    ("statefulset.kubernetes.io/pod-name", &["Pod"]),
    ("apps.kubernetes.io/pod-index", &["Pod"]),
    ("controller-uid", &["Job", "Pod"]),
    ("batch.kubernetes.io/controller-uid", &["Job", "Pod"]),
    ("job-name", &["Job", "Pod"]),
    ("batch.kubernetes.io/job-name", &["Job", "Pod"]),
    ("batch.kubernetes.io/job-completion-index", &["Pod"]),
    // Argo Rollouts' equivalent of pod-template-hash.
    ("rollouts-pod-template-hash", &["ReplicaSet", "Pod"]),
];

/// Whether a label is one a controller sets on what it creates (a hash, a uid, a pod name), so no
/// template a user writes carries it.
#[must_use]
pub fn is_generated_label(key: &str) -> bool {
    GENERATED_LABELS.iter().any(|(k, _)| *k == key)
}

/// Whether a Job's selector is the one the API server generated: `manualSelector` is not `true`
/// and the selector names only the Job's `controller-uid` labels.
#[must_use]
pub fn is_generated_job_selector(selector: &serde_json::Value, manual_selector: Option<&serde_json::Value>) -> bool {
    use serde_json::Value;
    if manual_selector.and_then(Value::as_bool) == Some(true) {
        return false;
    }
    let Some(sel) = selector.as_object() else { return false };
    let uid_key = |k: &str| matches!(k, "controller-uid" | "batch.kubernetes.io/controller-uid");
    let labels_ok = sel.get("matchLabels").and_then(Value::as_object).is_none_or(|m| m.keys().all(|k| uid_key(k)));
    let exprs_ok = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .is_none_or(|a| a.iter().all(|e| e.get("key").and_then(Value::as_str).is_some_and(uid_key)));
    let named = sel.get("matchLabels").and_then(Value::as_object).is_some_and(|m| !m.is_empty());
    labels_ok && exprs_ok && named && sel.keys().all(|k| k == "matchLabels" || k == "matchExpressions")
}

/// The projected volume the ServiceAccount admission plugin adds to every Pod
/// (`kube-api-access-<suffix>`: token, `kube-root-ca.crt`, namespace), mounted into each container.
pub const INJECTED_TOKEN_VOLUME_PREFIX: &str = "kube-api-access-";

/// Whether a JSON pointer of an object (its kind and body) names a field the API server, an
/// admission plugin or a controller writes: `status`, server-written `metadata`, the generated
/// labels of the kinds that carry them (in the object's labels, its pod template's labels, or its
/// selector), and a Pod's injected ServiceAccount token volume and its mounts. Configuration rules
/// never report there.
#[must_use]
pub fn is_server_populated(kind: &str, body: &serde_json::Value, pointer: &str) -> bool {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    match segments.as_slice() {
        [] => return false,
        [first, ..] if SERVER_TOP_LEVEL.contains(first) => return true,
        ["metadata", field, ..] if SERVER_METADATA.contains(field) => return true,
        _ => {}
    }
    // A generated label wherever labels are matched: `.../labels/<key>` or `.../matchLabels/<key>`.
    let generated = segments.windows(2).any(|w| {
        matches!(w[0], "labels" | "matchLabels" | "selector")
            && GENERATED_LABELS
                .iter()
                .any(|(k, kinds)| *k == w[1].replace("~1", "/").replace("~0", "~") && kinds.contains(&kind))
    });
    generated || (kind == "Pod" && is_injected_token_volume(body, &segments))
}

fn is_injected_token_volume(body: &serde_json::Value, segments: &[&str]) -> bool {
    let named = |p: String| {
        body.pointer(&p)
            .and_then(serde_json::Value::as_str)
            .is_some_and(|n| n.starts_with(INJECTED_TOKEN_VOLUME_PREFIX))
    };
    match segments {
        ["spec", "volumes", i, ..] => {
            named(format!("/spec/volumes/{i}/name")) && body.pointer(&format!("/spec/volumes/{i}/projected")).is_some()
        }
        ["spec", list @ ("containers" | "initContainers" | "ephemeralContainers"), i, "volumeMounts", j, ..] => {
            named(format!("/spec/{list}/{i}/volumeMounts/{j}/name"))
        }
        _ => false,
    }
}

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
    use serde_json::json;

    use super::*;

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

    #[test]
    fn workload_kinds_check_the_group() {
        assert!(workload_kind("apps/v1", "Deployment").is_some());
        assert!(workload_kind("extensions/v1beta1", "Deployment").is_some());
        assert!(workload_kind("", "Deployment").is_some(), "a partial manifest without apiVersion");
        assert!(workload_kind("deploy.example.com/v1", "Deployment").is_none());
        assert!(workload_kind("argoproj.io/v1alpha1", "Rollout").is_some_and(|k| k.replicated));
        assert!(workload_kind("apps.openshift.io/v1", "DeploymentConfig").is_some());
        assert!(workload_kind("v1", "DeploymentConfig").is_some());
        assert!(workload_kind("keda.sh/v1alpha1", "ScaledJob").is_some_and(|k| k.batch));
        assert!(workload_kind("keda.sh/v1alpha1", "ScaledObject").is_none());
    }

    #[test]
    fn generated_job_selectors() {
        let uid = json!({ "matchLabels": { "controller-uid": "u" } });
        let new_uid = json!({ "matchLabels": { "batch.kubernetes.io/controller-uid": "u" } });
        let app = json!({ "matchLabels": { "app": "x" } });
        let mixed = json!({ "matchLabels": { "controller-uid": "u", "app": "x" } });
        assert!(is_generated_job_selector(&uid, None));
        assert!(is_generated_job_selector(&new_uid, Some(&json!(false))));
        assert!(!is_generated_job_selector(&uid, Some(&json!(true))), "manualSelector: the user wrote it");
        assert!(!is_generated_job_selector(&app, None));
        assert!(!is_generated_job_selector(&mixed, None));
        assert!(!is_generated_job_selector(&json!({}), None));
    }

    fn obj(kind: &str) -> (&str, serde_json::Value) {
        let body = json!({
            "apiVersion": "v1", "kind": kind, "metadata": { "name": "x" },
            "spec": {
                "containers": [{ "name": "c", "volumeMounts": [
                    { "name": "data", "mountPath": "/data" },
                    { "name": "kube-api-access-7xk2p", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount" },
                ] }],
                "volumes": [
                    { "name": "data", "emptyDir": {} },
                    { "name": "kube-api-access-7xk2p", "projected": { "sources": [] } },
                ],
            },
        });
        (kind, body)
    }

    #[test]
    fn server_populated_fields() {
        let (pod, rs, job, deploy) = (obj("Pod"), obj("ReplicaSet"), obj("Job"), obj("Deployment"));
        assert!(is_server_populated(pod.0, &pod.1, "/status/phase"));
        assert!(is_server_populated(deploy.0, &deploy.1, "/metadata/managedFields/0"));
        assert!(is_server_populated(job.0, &job.1, "/metadata/uid"));
        assert!(is_server_populated(rs.0, &rs.1, "/spec/selector/matchLabels/pod-template-hash"));
        assert!(is_server_populated(
            job.0,
            &job.1,
            "/spec/template/metadata/labels/batch.kubernetes.io~1controller-uid"
        ));
        assert!(!is_server_populated(deploy.0, &deploy.1, "/spec/template/metadata/labels/pod-template-hash"));
        assert!(!is_server_populated(deploy.0, &deploy.1, "/metadata/name"));
        assert!(!is_server_populated(deploy.0, &deploy.1, "/spec/template/spec/containers/0/image"));
        assert!(is_server_populated(pod.0, &pod.1, "/spec/volumes/1/projected"));
        assert!(is_server_populated(pod.0, &pod.1, "/spec/containers/0/volumeMounts/1/readOnly"));
        assert!(!is_server_populated(pod.0, &pod.1, "/spec/volumes/0"));
        assert!(!is_server_populated(pod.0, &pod.1, "/spec/containers/0/volumeMounts/0"));
        assert!(!is_server_populated(deploy.0, &deploy.1, "/spec/volumes/1"), "only Pods get the injected volume");
        assert!(is_generated_label("controller-revision-hash") && !is_generated_label("app"));
    }
}
