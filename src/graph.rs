//! Relations between objects: which Service selects which workload, what an HPA scales, and so on.
//!
//! Built once per audit from the objects; cross-object rules read it and report on one object.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde_json::Value;

use crate::model::Object;
use crate::workload::{OwnerRef, Workload, controller_ref, selector_is_empty, selector_matches};
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
    /// Controller → object it manages (`metadata.ownerReferences` with `controller: true`):
    /// Deployment → ReplicaSet → Pod, CronJob → Job → Pod, Rollout → ReplicaSet.
    Owns,
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
    /// Per object: its controller in the input, when that controller is a workload with a pod
    /// spec (the object's pods come from that template).
    controller: Vec<Option<usize>>,
}

fn uid_of(o: &Object) -> Option<&str> {
    o.get("/metadata/uid").and_then(Value::as_str).filter(|u| !u.is_empty())
}

/// An owner reference with a UID names that object only; without one on either side, the name does.
fn uids_agree(r: &OwnerRef<'_>, owner_uid: Option<&str>) -> bool {
    match (r.uid, owner_uid) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

fn key(kind: &str, ns: Option<&str>, name: &str) -> (String, String, String) {
    (kind.to_string(), ns.unwrap_or_default().to_string(), name.to_string())
}

/// From this many objects the workload views are built on a second core during the indexing.
const PARALLEL_VIEWS_MIN: usize = 2048;

impl Graph {
    /// Builds the graph over objects (indices into `objects` name the nodes).
    #[must_use]
    pub fn build(objects: &[Object]) -> Graph {
        // Selectors match template labels even where the template has no pod spec (a Kustomize
        // base); references and ServiceAccounts need the spec. Each object's view is its own:
        // a large input builds them on another core while the indexes below are filled.
        let views = || -> Vec<(usize, Workload<'_>)> {
            objects.iter().enumerate().filter_map(|(i, o)| Workload::template(o).map(|w| (i, w))).collect()
        };
        if objects.len() < PARALLEL_VIEWS_MIN {
            let mut g = Graph::default();
            g.index(objects);
            return g.link(objects, views());
        }
        std::thread::scope(|scope| {
            let templates = scope.spawn(views);
            let mut g = Graph::default();
            g.index(objects);
            let templates = templates.join().unwrap_or_else(|_| views());
            g.link(objects, templates)
        })
    }

    /// The indexes by identity, namespace and kind.
    fn index(&mut self, objects: &[Object]) {
        let g = self;
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
            if crate::kinds::workload_kind(&o.api_version, &o.kind).is_some() {
                *g.workload_counts.entry(ns).or_insert(0) += 1;
            }
        }
    }

    /// The edges, from the indexes and the objects' workload views.
    fn link(self, objects: &[Object], templates: Vec<(usize, Workload<'_>)>) -> Graph {
        let mut g = self;
        let mut workload_at: BTreeMap<usize, &Workload<'_>> = BTreeMap::new();
        for (wi, w) in &templates {
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
        g.link_owners(objects, &templates);
        for (wi, w) in templates.iter().filter(|(_, w)| w.has_pod_spec) {
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

    /// Resolves each object's controller (`ownerReferences`, `controller: true`) against the input
    /// and adds `Owns` edges: by UID when both sides carry one (kubectl dumps do), else by API
    /// group, kind, namespace and name.
    fn link_owners(&mut self, objects: &[Object], templates: &[(usize, Workload<'_>)]) {
        let mut by_uid: BTreeMap<&str, usize> = BTreeMap::new();
        let mut by_name: BTreeMap<(&str, Option<&str>, &str), Vec<usize>> = BTreeMap::new();
        for (i, o) in objects.iter().enumerate() {
            if let Some(u) = uid_of(o) {
                by_uid.entry(u).or_insert(i);
            }
            by_name.entry((o.kind.as_str(), o.effective_namespace(), o.name.as_str())).or_default().push(i);
        }
        let with_spec: BTreeSet<usize> = templates.iter().filter(|(_, w)| w.has_pod_spec).map(|(i, _)| *i).collect();
        self.controller = vec![None; objects.len()];
        for (i, o) in objects.iter().enumerate() {
            let Some(r) = controller_ref(o) else { continue };
            let same_group =
                |c: &Object| r.api_version.is_empty() || c.api_version.is_empty() || c.group() == r.group();
            let by_uid_hit = r
                .uid
                .and_then(|u| by_uid.get(u))
                .copied()
                .filter(|&c| objects.get(c).is_some_and(|c| c.kind == r.kind && same_group(c)));
            let owner = by_uid_hit.or_else(|| {
                let ns = if crate::kinds::is_cluster_scoped(r.kind) { None } else { o.effective_namespace() };
                by_name
                    .get(&(r.kind, ns, r.name))
                    .into_iter()
                    .flatten()
                    .copied()
                    .find(|&c| objects.get(c).is_some_and(|c| same_group(c) && uids_agree(&r, uid_of(c))))
            });
            if let Some(owner) = owner.filter(|&c| c != i) {
                self.add(owner, i, Edge::Owns);
                if with_spec.contains(&owner) {
                    self.controller[i] = Some(owner);
                }
            }
        }
        self.break_controller_cycles();
    }

    /// Hostile input may declare A controls B controls A; drop the link that closes each cycle so
    /// every chain ends at a top-most controller. Linear: each object is walked once.
    fn break_controller_cycles(&mut self) {
        // 0: not visited, 1: on the current walk, 2: done.
        let mut state = vec![0u8; self.controller.len()];
        for start in 0..self.controller.len() {
            let mut path = Vec::new();
            let mut n = start;
            loop {
                if state[n] != 0 {
                    break;
                }
                state[n] = 1;
                path.push(n);
                match self.controller[n] {
                    Some(c) if state[c] == 1 => {
                        self.controller[n] = None;
                        break;
                    }
                    Some(c) => n = c,
                    None => break,
                }
            }
            for p in path {
                state[p] = 2;
            }
        }
    }

    /// The controller of object `idx` in the input, when it is a workload with a pod spec: the
    /// object's pods come from that controller's template, so findings on the template belong there.
    /// `None` for objects whose controller is absent from the input (a bare dump of Pods) or is not
    /// a workload (a Node's mirror Pods, an operator's custom resource).
    #[must_use]
    pub fn controller(&self, idx: usize) -> Option<usize> {
        self.controller.get(idx).copied().flatten()
    }

    /// The top-most workload controller of object `idx` in the input, `idx` itself when it has none:
    /// Pod → ReplicaSet → Deployment gives the Deployment.
    #[must_use]
    pub fn top_controller(&self, idx: usize) -> usize {
        let mut top = idx;
        // Chains end: build breaks cycles. Bounded all the same.
        for _ in 0..self.controller.len() {
            match self.controller(top) {
                Some(c) => top = c,
                None => break,
            }
        }
        top
    }

    /// Every object whose top-most workload controller is `idx` (ReplicaSets and Pods of a
    /// Deployment), sorted; empty when it controls nothing in the input.
    #[must_use]
    pub fn controlled(&self, idx: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut queue = vec![idx];
        let mut seen = BTreeSet::from([idx]);
        while let Some(n) = queue.pop() {
            for m in self.targets(n, Edge::Owns) {
                if self.controller(m) == Some(n) && seen.insert(m) {
                    out.push(m);
                    queue.push(m);
                }
            }
        }
        out.sort_unstable();
        out
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

    /// Every object linked to this one by an edge of any kind, in either direction, sorted.
    /// `fix` uses it to find the objects whose cross-object findings an edit can change.
    #[must_use]
    pub fn linked(&self, n: usize) -> Vec<usize> {
        if n >= self.graph.node_count() {
            return Vec::new();
        }
        let mut v: Vec<usize> = self.graph.neighbors_undirected(NodeIndex::new(n)).map(NodeIndex::index).collect();
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Origin;

    fn obj(body: Value) -> Object {
        Object::from_body(body, Origin::File { path: "t.yaml".into(), document: 0, prefix: String::new() })
    }

    fn owned_by(kind: &str, name: &str, uid: Option<&str>) -> Value {
        let mut r = json!({ "apiVersion": "apps/v1", "kind": kind, "name": name, "controller": true });
        if let Some(u) = uid {
            r["uid"] = json!(u);
        }
        json!([r])
    }

    fn rs(name: &str, uid: Option<&str>, owner: Option<Value>) -> Object {
        let mut b = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": { "name": name, "namespace": "ns" },
            "spec": { "template": { "spec": { "containers": [{ "name": "c", "image": "i" }] } } },
        });
        if let Some(u) = uid {
            b["metadata"]["uid"] = json!(u);
        }
        if let Some(o) = owner {
            b["metadata"]["ownerReferences"] = o;
        }
        obj(b)
    }

    fn deployment(name: &str, uid: Option<&str>) -> Object {
        let mut o = rs(name, uid, None);
        o.kind = "Deployment".into();
        o
    }

    #[test]
    fn resolves_by_uid_and_by_name() {
        let objects = vec![
            deployment("web", Some("d1")),
            rs("web-1", Some("r1"), Some(owned_by("Deployment", "web", Some("d1")))),
            // Manifests carry no uids: the name decides.
            deployment("api", None),
            rs("api-1", None, Some(owned_by("Deployment", "api", None))),
        ];
        let g = Graph::build(&objects);
        assert_eq!(g.controller(1), Some(0));
        assert_eq!(g.controller(3), Some(2));
        assert_eq!(g.controlled(0), vec![1]);
        assert_eq!(g.top_controller(1), 0);
    }

    #[test]
    fn a_different_uid_is_another_object() {
        // The Deployment was deleted and recreated under the same name: the old ReplicaSet is not its.
        let objects = vec![
            deployment("web", Some("d2")),
            rs("web-1", Some("r1"), Some(owned_by("Deployment", "web", Some("d1")))),
        ];
        let g = Graph::build(&objects);
        assert_eq!(g.controller(1), None);
        assert!(g.targets(0, Edge::Owns).is_empty());
    }

    #[test]
    fn owners_without_a_pod_template_do_not_take_findings() {
        let mut mirror = rs("etcd-node-a", Some("p1"), None);
        mirror.kind = "Pod".into();
        mirror.api_version = "v1".into();
        mirror.body["metadata"]["ownerReferences"] =
            json!([{ "apiVersion": "v1", "kind": "Node", "name": "node-a", "uid": "n1", "controller": true }]);
        let node = obj(json!({ "apiVersion": "v1", "kind": "Node", "metadata": { "name": "node-a", "uid": "n1" } }));
        let g = Graph::build(&[node, mirror]);
        assert_eq!(g.targets(0, Edge::Owns), vec![1]);
        assert_eq!(g.controller(1), None);
    }

    #[test]
    fn ownership_cycles_are_broken() {
        let objects = vec![
            rs("a", Some("ua"), Some(owned_by("ReplicaSet", "b", Some("ub")))),
            rs("b", Some("ub"), Some(owned_by("ReplicaSet", "a", Some("ua")))),
            rs("c", Some("uc"), Some(owned_by("ReplicaSet", "c", Some("uc")))),
        ];
        let g = Graph::build(&objects);
        let tops: BTreeSet<usize> = (0..3).map(|i| g.top_controller(i)).collect();
        assert_eq!(g.controller(2), None, "an object never controls itself");
        assert_eq!(tops.len(), 2, "a and b end at one top: {tops:?}");
        assert!((0..2).any(|i| g.controller(i).is_none()));
    }
}
