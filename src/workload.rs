//! The pod template seen through any controller, so container rules are written once.

use serde_json::{Map, Value};

use crate::kinds::WorkloadKind;
use crate::model::Object;
use crate::yaml::PointerExt;

/// Whether a container is a regular, init or ephemeral container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// `containers`.
    Regular,
    /// `initContainers` (sidecars have `restartPolicy: Always`).
    Init,
}

/// One container of a workload, with the JSON pointer of its definition.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// The container's JSON.
    pub value: &'a Value,
    /// JSON pointer, e.g. `/spec/template/spec/containers/0`.
    pub path: &'a str,
    /// Regular or init.
    pub kind: ContainerKind,
}

impl<'a> Container<'a> {
    /// `name`.
    #[must_use]
    pub fn name(&self) -> &'a str {
        self.value.get("name").and_then(Value::as_str).unwrap_or_default()
    }

    /// `image`.
    #[must_use]
    pub fn image(&self) -> Option<&'a str> {
        self.value.get("image").and_then(Value::as_str)
    }

    /// A field by relative JSON pointer (`/securityContext/privileged`).
    #[must_use]
    pub fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.value.ptr(pointer)
    }

    /// Absolute JSON pointer of a field relative to this container.
    #[must_use]
    pub fn field(&self, rel: &str) -> String {
        format!("{}{}", self.path, rel)
    }

    /// A sidecar: an init container that keeps running (`restartPolicy: Always`).
    #[must_use]
    pub fn is_sidecar(&self) -> bool {
        self.kind == ContainerKind::Init && self.get("/restartPolicy").and_then(Value::as_str) == Some("Always")
    }

    /// Runs for the pod's lifetime: a regular container or a sidecar.
    #[must_use]
    pub fn is_long_running(&self) -> bool {
        self.kind == ContainerKind::Regular || self.is_sidecar()
    }
}

/// The controller of an object, as its `metadata.ownerReferences` entry with `controller: true`
/// names it. Resolving it against the input is the graph's job ([`crate::graph::Graph::owner`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerRef<'a> {
    /// `apiVersion` of the owner.
    pub api_version: &'a str,
    /// Kind of the owner.
    pub kind: &'a str,
    /// Name of the owner (in the object's namespace: owners are never in another namespace).
    pub name: &'a str,
    /// UID of the owner, when recorded (always in live objects).
    pub uid: Option<&'a str>,
}

impl<'a> OwnerRef<'a> {
    /// API group of the owner (empty for core).
    #[must_use]
    pub fn group(&self) -> &'a str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

/// The controller an object declares in `metadata.ownerReferences` (`controller: true`), if any.
#[must_use]
pub fn controller_ref(o: &Object) -> Option<OwnerRef<'_>> {
    let refs = o.get("/metadata/ownerReferences")?.as_array()?;
    refs.iter().filter(|r| r.get("controller").and_then(Value::as_bool) == Some(true)).find_map(|r| {
        let s = |k: &str| r.get(k).and_then(Value::as_str);
        Some(OwnerRef {
            api_version: s("apiVersion").unwrap_or_default(),
            kind: s("kind")?,
            name: s("name")?,
            uid: s("uid").filter(|u| !u.is_empty()),
        })
    })
}

/// Whether a controller manages the object (a ReplicaSet of a Deployment, a Pod of a Job), whether
/// or not that controller is in the input: change the controller, not this object.
#[must_use]
pub fn is_controlled(o: &Object) -> bool {
    controller_ref(o).is_some()
}

/// Stands in for the pod spec of a template that has labels but no spec.
static NO_POD_SPEC: Value = Value::Null;

/// A pod template behind any workload kind.
#[derive(Debug, Clone)]
pub struct Workload<'a> {
    /// The object.
    pub object: &'a Object,
    /// How its kind holds the pod template.
    pub kind: &'static WorkloadKind,
    /// The pod spec (`null` in a template view without one, see [`Workload::template`]).
    pub pod_spec: &'a Value,
    /// Whether the object has a pod spec (always true for [`Workload::of`]).
    pub has_pod_spec: bool,
    /// JSON pointer of the pod spec (`/spec/template/spec`).
    pub pod_spec_path: &'static str,
    /// JSON pointer of the pod template metadata (`/spec/template/metadata`, `/metadata` for Pods).
    pub pod_meta_path: &'static str,
    /// Declared replicas; `None` where the kind has no replica count (DaemonSet, Job, Pod).
    pub replicas: Option<i64>,
    /// Labels of the pods it creates.
    pub pod_labels: Option<&'a Map<String, Value>>,
    /// Selector (`matchLabels`/`matchExpressions`, or a plain map for ReplicationController).
    pub selector: Option<&'a Value>,
    /// The controller it declares (`metadata.ownerReferences`), whether or not it is in the input.
    pub owner: Option<OwnerRef<'a>>,
    containers: Vec<(String, ContainerKind)>,
}

impl<'a> Workload<'a> {
    /// The workload view of an object, if it has a pod spec. Container and pod rules read this.
    #[must_use]
    pub fn of(object: &'a Object) -> Option<Workload<'a>> {
        Workload::template(object).filter(|w| w.has_pod_spec)
    }

    /// The workload view of an object whose pod template may lack a spec (a Kustomize base or a
    /// partial manifest with `spec.template.metadata.labels` only): selectors still match its
    /// labels, but it has no containers.
    #[must_use]
    pub fn template(object: &'a Object) -> Option<Workload<'a>> {
        let kind = crate::kinds::workload_kind(&object.api_version, &object.kind)?;
        let (spec_path, meta_path) = (kind.pod_spec, kind.pod_meta);
        let pod_spec = object.body.ptr(spec_path).filter(|v| v.is_object());
        let pod_labels = object.body.ptr(&format!("{meta_path}/labels")).and_then(Value::as_object);
        if pod_spec.is_none() && pod_labels.is_none() {
            return None;
        }
        let replicas = kind.replicated.then(|| {
            // Kubernetes defaults replicas to 1.
            object.body.ptr("/spec/replicas").map_or(Some(1), Value::as_i64).unwrap_or(1)
        });
        let selector = kind.selector.and_then(|p| object.body.ptr(p));
        let mut containers = Vec::new();
        if let Some(pod_spec) = pod_spec {
            for (key, ck) in [("containers", ContainerKind::Regular), ("initContainers", ContainerKind::Init)] {
                if let Some(Value::Array(items)) = pod_spec.get(key) {
                    for i in 0..items.len() {
                        containers.push((format!("{spec_path}/{key}/{i}"), ck));
                    }
                }
            }
        }
        Some(Workload {
            object,
            kind,
            pod_spec: pod_spec.unwrap_or(&NO_POD_SPEC),
            has_pod_spec: pod_spec.is_some(),
            pod_spec_path: spec_path,
            pod_meta_path: meta_path,
            replicas,
            pod_labels,
            selector,
            owner: controller_ref(object),
            containers,
        })
    }

    /// All containers (regular then init), with their paths.
    pub fn containers(&self) -> impl Iterator<Item = Container<'_>> {
        self.containers.iter().filter_map(move |(path, kind)| {
            self.object.body.ptr(path).filter(|v| v.is_object()).map(|value| Container { value, path, kind: *kind })
        })
    }

    /// Regular containers and sidecars: those that run for the pod's lifetime.
    pub fn long_running(&self) -> impl Iterator<Item = Container<'_>> {
        self.containers().filter(Container::is_long_running)
    }

    /// A pod spec field by relative pointer (`/hostNetwork`).
    #[must_use]
    pub fn spec(&self, pointer: &str) -> Option<&'a Value> {
        self.pod_spec.ptr(pointer)
    }

    /// Absolute pointer of a pod spec field.
    #[must_use]
    pub fn spec_field(&self, rel: &str) -> String {
        format!("{}{}", self.pod_spec_path, rel)
    }

    /// Whether the workload runs to completion (Job, CronJob, ScaledJob, or a Pod with restartPolicy
    /// other than Always).
    #[must_use]
    pub fn is_batch(&self) -> bool {
        self.kind.batch
            || (self.kind.kind == "Pod"
                && self.spec("/restartPolicy").and_then(Value::as_str).is_some_and(|p| p != "Always"))
    }

    /// Whether the object is a long-running controller that keeps several pods (Deployment,
    /// StatefulSet, ReplicaSet, ReplicationController, Rollout, DeploymentConfig).
    #[must_use]
    pub fn is_service_like(&self) -> bool {
        self.kind.replicated
    }

    /// The ServiceAccount pods run as.
    #[must_use]
    pub fn service_account(&self) -> &'a str {
        self.spec("/serviceAccountName")
            .or_else(|| self.spec("/serviceAccount"))
            .and_then(Value::as_str)
            .unwrap_or("default")
    }
}

/// Whether a label selector (`matchLabels` + `matchExpressions`, or a plain map) matches labels.
/// An empty selector matches everything, as in Kubernetes.
#[must_use]
pub fn selector_matches(selector: &Value, labels: Option<&Map<String, Value>>) -> bool {
    let empty = Map::new();
    let labels = labels.unwrap_or(&empty);
    let Some(sel) = selector.as_object() else { return false };
    let structured = sel.contains_key("matchLabels") || sel.contains_key("matchExpressions");
    let match_labels = if structured { sel.get("matchLabels").and_then(Value::as_object) } else { Some(sel) };
    if let Some(ml) = match_labels {
        for (k, v) in ml {
            if labels.get(k).and_then(Value::as_str) != v.as_str() {
                return false;
            }
        }
    }
    if structured && let Some(Value::Array(exprs)) = sel.get("matchExpressions") {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let op = e.get("operator").and_then(Value::as_str).unwrap_or_default();
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let have = labels.get(key).and_then(Value::as_str);
            let ok = match op {
                "In" => have.is_some_and(|h| values.contains(&h)),
                "NotIn" => have.is_none_or(|h| !values.contains(&h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// Whether a selector selects nothing in particular (`{}`), which in Kubernetes means "everything".
#[must_use]
pub fn selector_is_empty(selector: &Value) -> bool {
    match selector.as_object() {
        None => true,
        Some(m) => m.values().all(|v| match v {
            Value::Object(o) => o.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            _ => false,
        }),
    }
}
