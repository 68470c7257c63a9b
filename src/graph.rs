//! Relations between objects: which Service selects which workload, what an HPA scales, and so on.
//!
//! Built once per audit from the objects; cross-object rules read it and report on one object.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde_json::Value;

use crate::model::Object;
use crate::workload::{Workload, selector_is_empty, selector_matches};
use crate::yaml::PointerExt;

/// Kinds of relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Edge {
    /// Service → workload whose pods it selects.
    Selects,
    /// Ingress / HTTPRoute → Service it routes to.
    RoutesTo,
    /// HPA / VPA → workload it scales.
    Scales,
    /// PDB → workload whose pods it protects.
    Protects,
    /// Workload → ServiceAccount it runs as.
    RunsAs,
    /// (Cluster)RoleBinding → ServiceAccount subject.
    Binds,
    /// (Cluster)RoleBinding → (Cluster)Role.
    Grants,
    /// Workload → ConfigMap / Secret / PVC it mounts or reads.
    Uses,
    /// NetworkPolicy → workload whose pods it selects.
    Isolates,
}

/// A reference from one object to another that may be missing from the input.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// Kind referred to.
    pub kind: &'static str,
    /// Namespace (None for cluster-scoped targets).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// JSON pointer of the field holding the reference, in the referring object.
    pub path: String,
    /// Whether the reference is `optional: true`.
    pub optional: bool,
}

/// The object graph.
#[derive(Debug, Default)]
pub struct Graph {
    graph: DiGraph<usize, Edge>,
    by_key: BTreeMap<(String, String, String), usize>,
    namespaces_with_netpol: BTreeSet<String>,
    namespaces: BTreeSet<String>,
    kind_counts: BTreeMap<(String, String), usize>,
    workload_counts: BTreeMap<String, usize>,
    /// Object indices per namespace (`""` for cluster-scoped objects), in input order.
    by_namespace: BTreeMap<String, Vec<usize>>,
    /// Object indices per kind, in input order.
    by_kind: BTreeMap<String, Vec<usize>>,
    /// Workloads per namespace, and per (namespace, pod label key, value), so selectors need not
    /// scan every workload.
    workloads_by_ns: BTreeMap<String, Vec<usize>>,
    workloads_by_label: BTreeMap<(String, String, String), Vec<usize>>,
}

fn key(kind: &str, ns: Option<&str>, name: &str) -> (String, String, String) {
    (kind.to_string(), ns.unwrap_or_default().to_string(), name.to_string())
}

impl Graph {
    /// Builds the graph over objects (indices into `objects` name the nodes).
    #[must_use]
    pub fn build(objects: &[Object]) -> Graph {
        let mut g = Graph::default();
        for (i, o) in objects.iter().enumerate() {
            let n = g.graph.add_node(i);
            debug_assert_eq!(n.index(), i);
            g.by_key.entry(key(&o.kind, o.effective_namespace(), &o.name)).or_insert(i);
            if let Some(ns) = o.effective_namespace() {
                g.namespaces.insert(ns.to_string());
            }
            if o.kind == "Namespace" {
                g.namespaces.insert(o.name.clone());
            }
            if o.kind == "NetworkPolicy" {
                g.namespaces_with_netpol.insert(o.effective_namespace().unwrap_or("default").to_string());
            }
            let ns = o.effective_namespace().unwrap_or_default().to_string();
            g.by_namespace.entry(ns.clone()).or_default().push(i);
            g.by_kind.entry(o.kind.clone()).or_default().push(i);
            *g.kind_counts.entry((ns.clone(), o.kind.clone())).or_insert(0) += 1;
            if crate::kinds::WORKLOAD_KINDS.contains(&o.kind.as_str()) {
                *g.workload_counts.entry(ns).or_insert(0) += 1;
            }
        }
        let workloads: Vec<(usize, Workload<'_>)> =
            objects.iter().enumerate().filter_map(|(i, o)| Workload::of(o).map(|w| (i, w))).collect();
        let mut workload_at: BTreeMap<usize, &Workload<'_>> = BTreeMap::new();
        for (wi, w) in &workloads {
            let ns = w.object.effective_namespace().unwrap_or_default().to_string();
            g.workloads_by_ns.entry(ns.clone()).or_default().push(*wi);
            if let Some(labels) = w.pod_labels {
                for (k, v) in labels {
                    if let Some(v) = v.as_str() {
                        g.workloads_by_label.entry((ns.clone(), k.clone(), v.to_string())).or_default().push(*wi);
                    }
                }
            }
            workload_at.insert(*wi, w);
        }
        let matching = |g: &Graph, ns: Option<&str>, sel: &Value| -> Vec<usize> {
            g.selector_candidates(ns.unwrap_or_default(), sel)
                .into_iter()
                .filter(|wi| workload_at.get(wi).is_some_and(|w| selector_matches(sel, w.pod_labels)))
                .collect()
        };

        for (i, o) in objects.iter().enumerate() {
            let ns = o.effective_namespace();
            match o.kind.as_str() {
                "Service" => {
                    if let Some(sel) = o.get("/spec/selector").filter(|s| !selector_is_empty(s)) {
                        for wi in matching(&g, ns, sel) {
                            g.add(i, wi, Edge::Selects);
                        }
                    }
                }
                "PodDisruptionBudget" | "NetworkPolicy" => {
                    let (path, edge) = if o.kind == "NetworkPolicy" {
                        ("/spec/podSelector", Edge::Isolates)
                    } else {
                        ("/spec/selector", Edge::Protects)
                    };
                    if let Some(sel) = o.get(path) {
                        for wi in matching(&g, ns, sel) {
                            g.add(i, wi, edge);
                        }
                    }
                }
                "ScaledObject" => {
                    // KEDA: the HPA it creates exists only in the cluster; the ScaledObject scales the target.
                    if let Some(t) = o.get("/spec/scaleTargetRef")
                        && let Some(n) = t.get("name").and_then(Value::as_str)
                    {
                        let k = t.get("kind").and_then(Value::as_str).unwrap_or("Deployment");
                        if let Some(&wi) = g.by_key.get(&key(k, ns, n)) {
                            g.add(i, wi, Edge::Scales);
                        }
                    }
                }
                "HorizontalPodAutoscaler" | "VerticalPodAutoscaler" => {
                    if let Some(t) = o.get("/spec/scaleTargetRef").or_else(|| o.get("/spec/targetRef"))
                        && let (Some(k), Some(n)) =
                            (t.get("kind").and_then(Value::as_str), t.get("name").and_then(Value::as_str))
                        && let Some(&wi) = g.by_key.get(&key(k, ns, n))
                    {
                        g.add(i, wi, Edge::Scales);
                    }
                }
                "Ingress" | "HTTPRoute" | "GRPCRoute" => {
                    for r in backend_refs(o) {
                        if let Some(&si) = g.by_key.get(&key("Service", r.namespace.as_deref(), &r.name)) {
                            g.add(i, si, Edge::RoutesTo);
                        }
                    }
                }
                "RoleBinding" | "ClusterRoleBinding" => {
                    if let Some(r) = role_ref(o)
                        && let Some(&ri) = g.by_key.get(&key(r.kind, r.namespace.as_deref(), &r.name))
                    {
                        g.add(i, ri, Edge::Grants);
                    }
                    if let Some(Value::Array(subjects)) = o.get("/subjects") {
                        for s in subjects {
                            if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount") {
                                let sns = s.get("namespace").and_then(Value::as_str).or(ns);
                                let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
                                if let Some(&sa) = g.by_key.get(&key("ServiceAccount", sns, name)) {
                                    g.add(i, sa, Edge::Binds);
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for (wi, w) in &workloads {
            let ns = w.object.effective_namespace();
            if let Some(&sa) = g.by_key.get(&key("ServiceAccount", ns, w.service_account())) {
                g.add(*wi, sa, Edge::RunsAs);
            }
            for r in workload_references(w) {
                if let Some(&t) = g.by_key.get(&key(r.kind, r.namespace.as_deref(), &r.name)) {
                    g.add(*wi, t, Edge::Uses);
                }
            }
        }
        g
    }

    fn add(&mut self, from: usize, to: usize, e: Edge) {
        self.graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), e);
    }

    /// Objects this one points to through an edge kind, sorted.
    #[must_use]
    pub fn targets(&self, from: usize, edge: Edge) -> Vec<usize> {
        self.neighbors(from, edge, Direction::Outgoing)
    }

    /// Objects that point to this one through an edge kind, sorted.
    #[must_use]
    pub fn sources(&self, to: usize, edge: Edge) -> Vec<usize> {
        self.neighbors(to, edge, Direction::Incoming)
    }

    fn neighbors(&self, n: usize, edge: Edge, dir: Direction) -> Vec<usize> {
        if n >= self.graph.node_count() {
            return Vec::new();
        }
        let mut v: Vec<usize> = self
            .graph
            .edges_directed(NodeIndex::new(n), dir)
            .filter(|e| *e.weight() == edge)
            .map(|e| if dir == Direction::Outgoing { e.target().index() } else { e.source().index() })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Finds an object by kind, namespace and name.
    #[must_use]
    pub fn find(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<usize> {
        self.by_key.get(&key(kind, namespace, name)).copied()
    }

    /// Whether any NetworkPolicy in the input lives in this namespace.
    #[must_use]
    pub fn namespace_has_network_policy(&self, ns: &str) -> bool {
        self.namespaces_with_netpol.contains(ns)
    }

    /// How many objects of a kind the input holds in a namespace (`None` for cluster-scoped kinds).
    #[must_use]
    pub fn count(&self, kind: &str, namespace: Option<&str>) -> usize {
        self.kind_counts.get(&(namespace.unwrap_or_default().to_string(), kind.to_string())).copied().unwrap_or(0)
    }

    /// Objects in a namespace (`""` for cluster-scoped ones), in input order.
    #[must_use]
    pub fn in_namespace(&self, namespace: &str) -> &[usize] {
        self.by_namespace.get(namespace).map_or(&[], Vec::as_slice)
    }

    /// Objects of a kind, in input order.
    #[must_use]
    pub fn of_kind(&self, kind: &str) -> &[usize] {
        self.by_kind.get(kind).map_or(&[], Vec::as_slice)
    }

    /// Workloads of a namespace that a selector may match (a superset; check with
    /// `selector_matches`): those carrying the selector's first required label, or every workload
    /// of the namespace when the selector requires no label value.
    #[must_use]
    pub fn selector_candidates(&self, namespace: &str, selector: &Value) -> Vec<usize> {
        let sel = selector.as_object();
        let structured = sel.is_some_and(|m| m.contains_key("matchLabels") || m.contains_key("matchExpressions"));
        let required = if structured { sel.and_then(|m| m.get("matchLabels")).and_then(Value::as_object) } else { sel };
        if let Some((k, v)) = required.and_then(|m| m.iter().next())
            && let Some(v) = v.as_str()
        {
            return self
                .workloads_by_label
                .get(&(namespace.to_string(), k.clone(), v.to_string()))
                .cloned()
                .unwrap_or_default();
        }
        self.workloads_by_ns.get(namespace).cloned().unwrap_or_default()
    }

    /// How many workloads (Pod, Deployment, ..., CronJob) the input holds in a namespace.
    /// Cross-object rules use it to tell "the target is missing" from "this input is partial".
    #[must_use]
    pub fn workloads_in(&self, namespace: &str) -> usize {
        self.workload_counts.get(namespace).copied().unwrap_or(0)
    }

    /// Every namespace seen.
    #[must_use]
    pub fn namespaces(&self) -> &BTreeSet<String> {
        &self.namespaces
    }

    /// Number of edges, by kind, for the architecture summary.
    #[must_use]
    pub fn edge_counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for e in self.graph.edge_references() {
            *m.entry(format!("{:?}", e.weight())).or_insert(0) += 1;
        }
        m
    }
}

/// A binding's roleRef.
#[must_use]
pub fn role_ref(o: &Object) -> Option<Reference> {
    let r = o.get("/roleRef")?;
    let kind = match r.get("kind").and_then(Value::as_str)? {
        "ClusterRole" => "ClusterRole",
        "Role" => "Role",
        _ => return None,
    };
    Some(Reference {
        kind,
        namespace: if kind == "Role" { o.effective_namespace().map(str::to_string) } else { None },
        name: r.get("name").and_then(Value::as_str)?.to_string(),
        path: "/roleRef".to_string(),
        optional: false,
    })
}

/// Services an Ingress or route sends traffic to.
#[must_use]
pub fn backend_refs(o: &Object) -> Vec<Reference> {
    let ns = o.effective_namespace().map(str::to_string);
    let mut out = Vec::new();
    let svc = |name: Option<&Value>, path: String, out: &mut Vec<Reference>| {
        if let Some(n) = name.and_then(Value::as_str) {
            out.push(Reference { kind: "Service", namespace: ns.clone(), name: n.to_string(), path, optional: false });
        }
    };
    match o.kind.as_str() {
        "Ingress" => {
            let default = o.get("/spec/defaultBackend").or_else(|| o.get("/spec/backend"));
            if let Some(b) = default {
                let p = if o.get("/spec/defaultBackend").is_some() { "/spec/defaultBackend" } else { "/spec/backend" };
                let new = b.ptr("/service/name");
                let field = if new.is_some() { "service/name" } else { "serviceName" };
                svc(new.or_else(|| b.get("serviceName")), format!("{p}/{field}"), &mut out);
            }
            if let Some(Value::Array(rules)) = o.get("/spec/rules") {
                for (ri, r) in rules.iter().enumerate() {
                    if let Some(Value::Array(paths)) = r.ptr("/http/paths") {
                        for (pi, p) in paths.iter().enumerate() {
                            let b = p.get("backend");
                            let new = b.and_then(|b| b.ptr("/service/name"));
                            let path = if new.is_some() {
                                format!("/spec/rules/{ri}/http/paths/{pi}/backend/service/name")
                            } else {
                                format!("/spec/rules/{ri}/http/paths/{pi}/backend/serviceName")
                            };
                            svc(new.or_else(|| b.and_then(|b| b.get("serviceName"))), path, &mut out);
                        }
                    }
                }
            }
        }
        "HTTPRoute" | "GRPCRoute" => {
            if let Some(Value::Array(rules)) = o.get("/spec/rules") {
                for (ri, r) in rules.iter().enumerate() {
                    if let Some(Value::Array(refs)) = r.get("backendRefs") {
                        for (bi, b) in refs.iter().enumerate() {
                            let kind = b.get("kind").and_then(Value::as_str).unwrap_or("Service");
                            let group = b.get("group").and_then(Value::as_str).unwrap_or("");
                            if kind != "Service" || !group.is_empty() {
                                continue;
                            }
                            let bns =
                                b.get("namespace").and_then(Value::as_str).map(str::to_string).or_else(|| ns.clone());
                            if let Some(n) = b.get("name").and_then(Value::as_str) {
                                out.push(Reference {
                                    kind: "Service",
                                    namespace: bns,
                                    name: n.to_string(),
                                    path: format!("/spec/rules/{ri}/backendRefs/{bi}/name"),
                                    optional: false,
                                });
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// ConfigMaps, Secrets and PVCs a workload's pods read, with the field that names each.
#[must_use]
pub fn workload_references(w: &Workload<'_>) -> Vec<Reference> {
    let ns = w.object.effective_namespace().map(str::to_string);
    let mut out = Vec::new();
    let mut push = |kind: &'static str, name: Option<&Value>, path: String, optional: Option<&Value>| {
        if let Some(n) = name.and_then(Value::as_str) {
            out.push(Reference {
                kind,
                namespace: ns.clone(),
                name: n.to_string(),
                path,
                optional: optional.and_then(Value::as_bool).unwrap_or(false),
            });
        }
    };
    if let Some(Value::Array(vols)) = w.spec("/volumes") {
        for (i, v) in vols.iter().enumerate() {
            let base = w.spec_field(&format!("/volumes/{i}"));
            if let Some(cm) = v.get("configMap") {
                push("ConfigMap", cm.get("name"), format!("{base}/configMap/name"), cm.get("optional"));
            }
            if let Some(s) = v.get("secret") {
                push("Secret", s.get("secretName"), format!("{base}/secret/secretName"), s.get("optional"));
            }
            if let Some(p) = v.get("persistentVolumeClaim") {
                push(
                    "PersistentVolumeClaim",
                    p.get("claimName"),
                    format!("{base}/persistentVolumeClaim/claimName"),
                    None,
                );
            }
            if let Some(Value::Array(sources)) = v.ptr("/projected/sources") {
                for (si, s) in sources.iter().enumerate() {
                    if let Some(cm) = s.get("configMap") {
                        push(
                            "ConfigMap",
                            cm.get("name"),
                            format!("{base}/projected/sources/{si}/configMap/name"),
                            cm.get("optional"),
                        );
                    }
                    if let Some(sec) = s.get("secret") {
                        push(
                            "Secret",
                            sec.get("name"),
                            format!("{base}/projected/sources/{si}/secret/name"),
                            sec.get("optional"),
                        );
                    }
                }
            }
        }
    }
    for c in w.containers() {
        if let Some(Value::Array(env)) = c.get("/env") {
            for (i, e) in env.iter().enumerate() {
                if let Some(r) = e.ptr("/valueFrom/configMapKeyRef") {
                    push(
                        "ConfigMap",
                        r.get("name"),
                        c.field(&format!("/env/{i}/valueFrom/configMapKeyRef/name")),
                        r.get("optional"),
                    );
                }
                if let Some(r) = e.ptr("/valueFrom/secretKeyRef") {
                    push(
                        "Secret",
                        r.get("name"),
                        c.field(&format!("/env/{i}/valueFrom/secretKeyRef/name")),
                        r.get("optional"),
                    );
                }
            }
        }
        if let Some(Value::Array(env_from)) = c.get("/envFrom") {
            for (i, e) in env_from.iter().enumerate() {
                if let Some(r) = e.get("configMapRef") {
                    push(
                        "ConfigMap",
                        r.get("name"),
                        c.field(&format!("/envFrom/{i}/configMapRef/name")),
                        r.get("optional"),
                    );
                }
                if let Some(r) = e.get("secretRef") {
                    push("Secret", r.get("name"), c.field(&format!("/envFrom/{i}/secretRef/name")), r.get("optional"));
                }
            }
        }
    }
    if let Some(Value::Array(secrets)) = w.spec("/imagePullSecrets") {
        for (i, s) in secrets.iter().enumerate() {
            push("Secret", s.get("name"), w.spec_field(&format!("/imagePullSecrets/{i}/name")), None);
        }
    }
    out
}
