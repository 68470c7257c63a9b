//! The pod template seen through any controller, so container rules are written once.

use serde_json::{Map, Value};

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

/// A pod template behind any workload kind.
#[derive(Debug, Clone)]
pub struct Workload<'a> {
    /// The object.
    pub object: &'a Object,
    /// The pod spec.
    pub pod_spec: &'a Value,
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
    containers: Vec<(String, ContainerKind)>,
}

impl<'a> Workload<'a> {
    /// The workload view of an object, if it has a pod template.
    #[must_use]
    pub fn of(object: &'a Object) -> Option<Workload<'a>> {
        let (spec_path, meta_path): (&'static str, &'static str) = match object.kind.as_str() {
            "Pod" => ("/spec", "/metadata"),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
                ("/spec/template/spec", "/spec/template/metadata")
            }
            "CronJob" => ("/spec/jobTemplate/spec/template/spec", "/spec/jobTemplate/spec/template/metadata"),
            _ => return None,
        };
        let pod_spec = object.body.ptr(spec_path)?;
        if !pod_spec.is_object() {
            return None;
        }
        let replicas = match object.kind.as_str() {
            "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController" => {
                // Kubernetes defaults replicas to 1.
                Some(object.body.ptr("/spec/replicas").map_or(Some(1), Value::as_i64).unwrap_or(1))
            }
            _ => None,
        };
        let pod_labels = object.body.ptr(&format!("{meta_path}/labels")).and_then(Value::as_object);
        let selector = match object.kind.as_str() {
            "Pod" | "CronJob" => None,
            _ => object.body.ptr("/spec/selector"),
        };
        let mut containers = Vec::new();
        for (key, kind) in [("containers", ContainerKind::Regular), ("initContainers", ContainerKind::Init)] {
            if let Some(Value::Array(items)) = pod_spec.get(key) {
                for i in 0..items.len() {
                    containers.push((format!("{spec_path}/{key}/{i}"), kind));
                }
            }
        }
        Some(Workload {
            object,
            pod_spec,
            pod_spec_path: spec_path,
            pod_meta_path: meta_path,
            replicas,
            pod_labels,
            selector,
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

    /// Whether the workload runs to completion (Job, CronJob, or a Pod with restartPolicy other than Always).
    #[must_use]
    pub fn is_batch(&self) -> bool {
        match self.object.kind.as_str() {
            "Job" | "CronJob" => true,
            "Pod" => self.spec("/restartPolicy").and_then(Value::as_str).is_some_and(|p| p != "Always"),
            _ => false,
        }
    }

    /// Whether the object is a long-running controller that keeps several pods (not a bare Pod, not batch).
    #[must_use]
    pub fn is_service_like(&self) -> bool {
        matches!(self.object.kind.as_str(), "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController")
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
