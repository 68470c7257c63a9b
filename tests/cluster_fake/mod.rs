//! A loopback Kubernetes API server for the live-cluster tests: a wiremock server whose single
//! responder answers the real REST paths from objects loaded out of JSON fixtures: `/version`,
//! legacy and aggregated discovery, paginated lists (cluster-wide and per namespace, `limit` and
//! `continue`, `remainingItemCount`), `PartialObjectMetadataList` for metadata-only Accept headers,
//! 403 `Status` answers for chosen resources, expired continue tokens (410), slow answers, and a
//! request log (method, path, query, Accept; never the token) for the assertions.
//!
//! Writes (for `remediate`): PATCH with strategic merge or merge patches, `dryRun=All` answered
//! with the merged object without persisting, `resourceVersion` preconditions (409), switches for a
//! webhook that rejects dry runs (400) and for 409/422 answers, and a scripted rollout per patch
//! (status advances after N reads of the object, or the pods' restarts climb). The log keeps each
//! PATCH's content type and body.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clustergpt::cluster::RESOURCES;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "fake-bearer-token-0123456789";

/// How the fake answers discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryMode {
    /// Aggregated (`APIGroupDiscoveryList`) when asked for, legacy otherwise (Kubernetes ≥ 1.30).
    Aggregated,
    /// No aggregated discovery: legacy JSON whatever the Accept header (what a real old server
    /// does, since clients end their Accept list with `application/json`).
    LegacyJson,
    /// No aggregated discovery, and 406 to an Accept header that asks for it.
    Legacy406,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub accept: String,
    pub authorized: bool,
    pub start: Instant,
    pub delay: Duration,
    pub content_type: String,
    pub body: Option<Value>,
}

/// What a patched Deployment's rollout does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// After N reads of the object: rolled out, and its pods run ready without restarts.
    Healthy(usize),
    /// After N reads: rolled out, but its pods' restarts climb on every list (OOMKilled again).
    RestartsClimb(usize),
    /// After N reads: `Progressing` with reason `ProgressDeadlineExceeded`.
    DeadlineExceeded(usize),
}

pub struct State {
    /// Objects per plural resource name (group ignored: the table has no two types with one plural).
    pub objects: BTreeMap<String, Vec<Value>>,
    pub discovery: DiscoveryMode,
    /// Resources answered with 403.
    pub forbidden: BTreeSet<String>,
    /// Resources whose next `continue` request gets 410 Expired (once per entry).
    pub expire_once: BTreeMap<String, usize>,
    /// Resources answered after a delay.
    pub slow: BTreeMap<String, Duration>,
    /// Delay for every list answer (concurrency tests).
    pub list_delay: Duration,
    /// Refuse requests without the bearer token (401); kubectl sends none over plain http.
    pub require_token: bool,
    pub log: Vec<Logged>,
    pub port: u16,
    /// `metrics.k8s.io`: NodeMetrics and PodMetrics items, or absent (no metrics-server).
    pub metrics: Option<(Vec<Value>, Vec<Value>)>,
    /// `metrics.k8s.io` is registered (listed in discovery) but its server is down: 503.
    pub metrics_down: bool,
    /// Resources whose next N list requests get 503.
    pub unavailable: BTreeMap<String, usize>,
    /// Previous-container logs by `ns/pod/container` (text/plain); any other log is 400 as the
    /// real server answers for a container that has no previous instance. `pods/log` in
    /// `forbidden` answers 403.
    pub previous_logs: BTreeMap<String, String>,
    /// Answer log requests whole, as a server that ignores `tailLines` and `limitBytes` would.
    pub ignore_log_limits: bool,
    /// A dry-run-rejecting webhook's name: every `dryRun=All` PATCH gets 400.
    pub dry_run_webhook: Option<String>,
    /// Every PATCH gets this status code and message (409, 422).
    pub patch_fail: Option<(u16, String)>,
    /// Rollouts of the next spec-changing PATCHes of Deployments, StatefulSets and DaemonSets,
    /// first first; once empty a patch rolls out at once, healthy.
    pub rollouts: Vec<Outcome>,
    /// Rollouts in progress: `plural/ns/name` → outcome with reads left.
    pub pending: BTreeMap<String, Outcome>,
    /// Pods whose restarts climb on every pods list, as `ns/label=value` (a revision's pods:
    /// `pod-template-hash=…` or `controller-revision-hash=…`).
    pub climbing: BTreeSet<String>,
    /// Pods a rollout replaces stay listed while they terminate (`deletionTimestamp` set), as
    /// on a real cluster during a pod's grace period; otherwise they are gone at once.
    pub linger_old_pods: bool,
    /// The last resourceVersion handed out.
    pub rv: u64,
}

pub struct FakeCluster {
    pub server: MockServer,
    pub state: Arc<Mutex<State>>,
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap();
        let query: BTreeMap<String, String> =
            req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let accept = req.headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let authorized = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {TOKEN}"));
        let path = req.url.path().to_string();
        let method = req.method.to_string();
        let content_type =
            req.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let (resp, delay) = if st.require_token && !authorized {
            (status(401, "Unauthorized", "Unauthorized".to_string()), Duration::ZERO)
        } else if method == "PATCH" {
            (patch(&mut st, &path, &query, &content_type, &req.body), Duration::ZERO)
        } else if method != "GET" {
            (status(405, "MethodNotAllowed", format!("{method} is not allowed by the fake")), Duration::ZERO)
        } else {
            answer(&mut st, &path, &query, &accept)
        };
        let body = serde_json::from_slice(&req.body).ok();
        st.log.push(Logged {
            method,
            path,
            query,
            accept,
            authorized,
            start: Instant::now(),
            delay,
            content_type,
            body,
        });
        resp.set_delay(delay)
    }
}

/// `GET pods/{name}/log`: the previous container's text, cut to `tailLines` and `limitBytes`.
fn pod_log(st: &State, ns: &str, pod: &str, query: &BTreeMap<String, String>) -> ResponseTemplate {
    if st.forbidden.contains("pods/log") {
        return status(
            403,
            "Forbidden",
            format!(
                "pods \"{pod}\" is forbidden: User \"system:serviceaccount:audit:clustergpt\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"{ns}\""
            ),
        );
    }
    let container = query.get("container").cloned().unwrap_or_default();
    let text = match st.previous_logs.get(&format!("{ns}/{pod}/{container}")) {
        Some(t) if query.get("previous").map(String::as_str) == Some("true") => t.clone(),
        _ => {
            return status(
                400,
                "BadRequest",
                format!("previous terminated container \"{container}\" in pod \"{pod}\" not found"),
            );
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    if st.ignore_log_limits {
        return ResponseTemplate::new(200).set_body_raw(text.into_bytes(), "text/plain");
    }
    let tail: usize = query.get("tailLines").and_then(|n| n.parse().ok()).unwrap_or(lines.len());
    let mut body = lines[lines.len().saturating_sub(tail)..].join("\n").into_bytes();
    // Bytes, as the real server cuts: possibly inside a character.
    if let Some(limit) = query.get("limitBytes").and_then(|n| n.parse::<usize>().ok()) {
        body.truncate(limit);
    }
    ResponseTemplate::new(200).set_body_raw(body, "text/plain")
}

fn status(code: u16, reason: &str, message: String) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code
    }))
}

fn json_with(body: Value, content_type: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(serde_json::to_vec(&body).unwrap(), content_type)
}

fn plain(body: Value) -> ResponseTemplate {
    json_with(body, "application/json")
}

/// A custom resource type the fake serves besides the connector's table (found only with `--crds`).
pub const CUSTOM_TYPES: &[clustergpt::cluster::ResourceType] = &[clustergpt::cluster::ResourceType {
    group: "monitoring.coreos.com",
    version: "v1",
    kind: "ServiceMonitor",
    plural: "servicemonitors",
    metadata_only: false,
}];

/// Built-in types the connector does not read but verification does (a DaemonSet's revisions).
const VERIFY_TYPES: &[clustergpt::cluster::ResourceType] = &[clustergpt::cluster::ResourceType {
    group: "apps",
    version: "v1",
    kind: "ControllerRevision",
    plural: "controllerrevisions",
    metadata_only: false,
}];

/// The resources the fake serves: the connector's table, a custom resource type and the types
/// verification reads.
fn served() -> impl Iterator<Item = &'static clustergpt::cluster::ResourceType> {
    RESOURCES.iter().chain(CUSTOM_TYPES).chain(VERIFY_TYPES)
}

pub const METRICS: &str = "metrics.k8s.io";

/// The metrics API's two resources, when it is served.
const METRICS_TYPES: &[clustergpt::cluster::ResourceType] = &[
    clustergpt::cluster::ResourceType {
        group: METRICS,
        version: "v1beta1",
        kind: "NodeMetrics",
        plural: "nodes",
        metadata_only: false,
    },
    clustergpt::cluster::ResourceType {
        group: METRICS,
        version: "v1beta1",
        kind: "PodMetrics",
        plural: "pods",
        metadata_only: false,
    },
];

fn discoverable(metrics: bool) -> impl Iterator<Item = &'static clustergpt::cluster::ResourceType> {
    served().chain(METRICS_TYPES.iter().filter(move |_| metrics))
}

fn scope_namespaced(r: &clustergpt::cluster::ResourceType) -> bool {
    if r.group == METRICS { r.plural == "pods" } else { namespaced(r.kind) }
}

fn namespaced(kind: &str) -> bool {
    !clustergpt::kinds::is_cluster_scoped(kind)
}

fn answer(st: &mut State, path: &str, query: &BTreeMap<String, String>, accept: &str) -> (ResponseTemplate, Duration) {
    let zero = Duration::ZERO;
    let wants_aggregated = accept.contains("as=APIGroupDiscoveryList");
    match path {
        "/version" => {
            return (
                plain(json!({"major": "1", "minor": "31", "gitVersion": "v1.31.0-fake", "gitCommit": "0",
                    "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23",
                    "compiler": "gc", "platform": "linux/amd64"})),
                zero,
            );
        }
        "/api" | "/apis" => {
            let core = path == "/api";
            if wants_aggregated {
                match st.discovery {
                    DiscoveryMode::Aggregated => {
                        return (
                            json_with(
                                aggregated(core, st.metrics.is_some()),
                                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                            ),
                            zero,
                        );
                    }
                    DiscoveryMode::Legacy406 if !accept.split(',').any(|a| a.trim() == "application/json") => {
                        return (status(406, "NotAcceptable", "only application/json is served".into()), zero);
                    }
                    DiscoveryMode::Legacy406 => {
                        return (status(406, "NotAcceptable", "aggregated discovery is not served".into()), zero);
                    }
                    DiscoveryMode::LegacyJson => {}
                }
            }
            return (
                plain(if core {
                    legacy_core_versions(st.port)
                } else {
                    legacy_groups(st.metrics.is_some() || st.metrics_down)
                }),
                zero,
            );
        }
        _ => {}
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // /api/v1[/namespaces/{ns}]/{plural} or /apis/{g}/{v}[/namespaces/{ns}]/{plural}
    let (group, version, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => {
            return (
                status(404, "NotFound", format!("the server could not find the requested resource ({path})")),
                zero,
            );
        }
    };
    if let ["namespaces", ns, "pods", pod, "log"] = rest {
        return (pod_log(st, ns, pod, query), zero);
    }
    if group == METRICS && st.metrics_down {
        return (
            status(503, "ServiceUnavailable", "the server is currently unable to handle the request".into()),
            zero,
        );
    }
    if group == METRICS {
        let Some((nodes, pods)) = &st.metrics else {
            return (status(404, "NotFound", "the server could not find the requested resource".into()), zero);
        };
        let list = |kind: &str, items: Vec<&Value>| {
            plain(json!({"kind": kind, "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}))
        };
        return match rest {
            [] => (plain(legacy_resource_list(group, version)), zero),
            ["nodes"] => (list("NodeMetricsList", nodes.iter().collect()), zero),
            ["pods"] | ["namespaces", _, "pods"] => {
                let ns = match rest {
                    ["namespaces", ns, _] => Some(*ns),
                    _ => None,
                };
                let items: Vec<&Value> = pods
                    .iter()
                    .filter(|p| ns.is_none() || p.pointer("/metadata/namespace").and_then(Value::as_str) == ns)
                    .collect();
                (list("PodMetricsList", items), zero)
            }
            _ => (status(404, "NotFound", "the server could not find the requested resource".into()), zero),
        };
    }
    if rest.is_empty() {
        return (plain(legacy_resource_list(group, version)), zero);
    }
    let (ns, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return (status(404, "NotFound", "the server could not find the requested resource".into()), zero),
    };
    let Some(rt) = served().find(|r| r.group == group && r.version == version && r.plural == plural) else {
        return (status(404, "NotFound", "the server could not find the requested resource".into()), zero);
    };
    if st.forbidden.contains(plural) {
        let scope = match ns {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let msg = format!(
            "{plural} is forbidden: User \"system:serviceaccount:audit:clustergpt\" cannot list resource \"{plural}\" in API group \"{group}\" {scope}"
        );
        return (status(403, "Forbidden", msg), zero);
    }
    if let Some(n) = st.unavailable.get_mut(plural).filter(|n| **n > 0) {
        *n -= 1;
        return (
            status(503, "ServiceUnavailable", "the server is currently unable to handle the request".into()),
            zero,
        );
    }
    let delay = st.slow.get(plural).copied().unwrap_or(st.list_delay);
    if let Some(name) = name {
        advance_rollout(st, &format!("{plural}/{}/{name}", ns.unwrap_or_default()));
    }
    if plural == "pods" && name.is_none() {
        climb_restarts(st);
    }
    // References only: a page clones just its own items (large synthetic clusters stay linear).
    let all: Vec<&Value> = st
        .objects
        .get(plural)
        .map(|items| {
            items
                .iter()
                .filter(|o| ns.is_none() || o.pointer("/metadata/namespace").and_then(Value::as_str) == ns)
                .collect()
        })
        .unwrap_or_default();
    if let Some(name) = name {
        return match all.into_iter().find(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)) {
            Some(o) => (plain(o.clone()), delay),
            None => (status(404, "NotFound", format!("{plural} \"{name}\" not found")), delay),
        };
    }
    let start: usize = match query.get("continue") {
        Some(token) => {
            if let Some(n) = st.expire_once.get_mut(plural).filter(|n| **n > 0) {
                *n -= 1;
                let msg = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.";
                return (status(410, "Expired", msg.to_string()), delay);
            }
            match token.strip_prefix("offset-").and_then(|n| n.parse().ok()) {
                Some(n) => n,
                None => return (status(400, "BadRequest", "invalid continue token".into()), delay),
            }
        }
        None => 0,
    };
    let all: Vec<&Value> = match query.get("labelSelector").filter(|s| !s.is_empty()) {
        Some(sel) => all.into_iter().filter(|o| labels_match(o, sel)).collect(),
        None => all,
    };
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).filter(|l| *l > 0).unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(all.len());
    let mut meta = json!({"resourceVersion": "1000"});
    if end < all.len() {
        meta["continue"] = json!(format!("offset-{end}"));
        meta["remainingItemCount"] = json!(all.len() - end);
    }
    let page: Vec<Value> =
        all.get(start.min(all.len())..end).unwrap_or_default().iter().map(|o| (*o).clone()).collect();
    let metadata_only = accept.contains("as=PartialObjectMetadataList");
    let body = if metadata_only {
        let items: Vec<Value> = page
            .into_iter()
            .map(
                |o| json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}),
            )
            .collect();
        json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "items": items})
    } else {
        // Items of a typed list carry no kind or apiVersion, as the real server sends them.
        let items: Vec<Value> = page
            .into_iter()
            .map(|mut o| {
                if let Some(m) = o.as_object_mut() {
                    m.remove("kind");
                    m.remove("apiVersion");
                }
                o
            })
            .collect();
        let api_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
        json!({"kind": format!("{}List", rt.kind), "apiVersion": api_version, "metadata": meta, "items": items})
    };
    (plain(body), delay)
}

fn verbs() -> Value {
    json!(["get", "list", "watch"])
}

fn aggregated(core: bool, metrics: bool) -> Value {
    let mut groups: BTreeMap<&str, BTreeMap<&str, Vec<Value>>> = BTreeMap::new();
    for r in discoverable(metrics).filter(|r| r.group.is_empty() == core) {
        groups.entry(r.group).or_default().entry(r.version).or_default().push(json!({
            "resource": r.plural,
            "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
            "scope": if scope_namespaced(r) { "Namespaced" } else { "Cluster" },
            "singularResource": r.kind.to_lowercase(),
            "verbs": verbs(),
        }));
    }
    let items: Vec<Value> = groups
        .into_iter()
        .map(|(g, versions)| {
            let versions: Vec<Value> = versions
                .into_iter()
                .map(|(v, resources)| json!({"version": v, "resources": resources, "freshness": "Current"}))
                .collect();
            let mut meta = json!({"creationTimestamp": null});
            if !g.is_empty() {
                meta["name"] = json!(g);
            }
            json!({"metadata": meta, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

fn legacy_core_versions(port: u16) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": format!("127.0.0.1:{port}")}]})
}

fn legacy_groups(metrics: bool) -> Value {
    let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in discoverable(metrics).filter(|r| !r.group.is_empty()) {
        groups.entry(r.group).or_default().insert(r.version);
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(g, versions)| {
            let versions: Vec<Value> =
                versions.iter().map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v})).collect();
            let preferred = versions[0].clone();
            json!({"name": g, "versions": versions, "preferredVersion": preferred})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn legacy_resource_list(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = discoverable(true)
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": scope_namespaced(r),
                "kind": r.kind, "verbs": verbs()})
        })
        .collect();
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

impl FakeCluster {
    /// A fake serving `objects` (full objects with kind and apiVersion).
    pub async fn start(objects: Vec<Value>) -> FakeCluster {
        let mut by_plural: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for o in objects {
            let kind = o["kind"].as_str().unwrap_or_default();
            let group = o["apiVersion"].as_str().unwrap_or_default().rsplit_once('/').map_or("", |(g, _)| g);
            if let Some(r) = served().find(|r| r.kind == kind && r.group == group) {
                by_plural.entry(r.plural.to_string()).or_default().push(o);
            }
        }
        // Real lists come sorted by namespace and name.
        for items in by_plural.values_mut() {
            items.sort_by_key(|o| {
                (
                    o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_string(),
                    o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string(),
                )
            });
        }
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            objects: by_plural,
            discovery: DiscoveryMode::Aggregated,
            forbidden: BTreeSet::new(),
            expire_once: BTreeMap::new(),
            slow: BTreeMap::new(),
            list_delay: Duration::ZERO,
            require_token: true,
            metrics: None,
            metrics_down: false,
            unavailable: BTreeMap::new(),
            log: Vec::new(),
            previous_logs: BTreeMap::new(),
            ignore_log_limits: false,
            dry_run_webhook: None,
            patch_fail: None,
            rollouts: Vec::new(),
            pending: BTreeMap::new(),
            climbing: BTreeSet::new(),
            linger_old_pods: false,
            rv: 5000,
            port: server.address().port(),
        }));
        Mock::given(any()).respond_with(Responder(Arc::clone(&state))).mount(&server).await;
        FakeCluster { server, state }
    }

    pub fn with(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// A kubeconfig with one context per name, all pointing at this fake with the bearer token.
    pub fn kubeconfig(&self, contexts: &[&str]) -> String {
        kubeconfig(&[(&self.url(), contexts)])
    }
}

/// A kubeconfig (JSON is YAML) for servers and their context names; the first is current.
pub fn kubeconfig(servers: &[(&str, &[&str])]) -> String {
    let mut clusters = Vec::new();
    let mut contexts = Vec::new();
    for (i, (url, names)) in servers.iter().enumerate() {
        clusters.push(json!({"name": format!("fake{i}"), "cluster": {"server": url}}));
        for n in *names {
            contexts.push(json!({"name": n, "context": {"cluster": format!("fake{i}"), "user": "auditor"}}));
        }
    }
    let current = contexts.first().map(|c| c["name"].clone()).unwrap_or(Value::Null);
    serde_json::to_string_pretty(&json!({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": clusters, "contexts": contexts,
        "users": [{"name": "auditor", "user": {"token": TOKEN}}]
    }))
    .unwrap()
}

/// Objects of a fixture file: a `List`, a typed list, or an array.
pub fn load_objects(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    list_items(v)
}

fn list_items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        Value::Object(mut m) => {
            let list_kind = m.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
            let api_version = m.get("apiVersion").cloned().unwrap_or(Value::Null);
            match m.remove("items") {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .map(|mut o| {
                        if o.get("kind").is_none()
                            && let Some(kind) = list_kind.strip_suffix("List").filter(|k| !k.is_empty())
                        {
                            o["kind"] = json!(kind);
                            o["apiVersion"] = api_version.clone();
                        }
                        o
                    })
                    .collect(),
                _ => vec![Value::Object(m)],
            }
        }
        _ => Vec::new(),
    }
}

/// Every object of the JSON files under `dir` (recursively), deduplicated by kind, namespace
/// and name.
pub fn load_dir(dir: &Path) -> Vec<Value> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for f in files {
        for o in load_objects(&f) {
            let key = (
                o["kind"].as_str().unwrap_or_default().to_string(),
                o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_string(),
                o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string(),
            );
            if seen.insert(key) {
                out.push(o);
            }
        }
    }
    out
}

/// The most list requests in flight at once, from the log (each answer occupies
/// `[start, start + delay)`).
pub fn max_in_flight(log: &[Logged]) -> usize {
    let lists: Vec<&Logged> = log.iter().filter(|l| l.query.contains_key("limit")).collect();
    let mut best = 0;
    for a in &lists {
        let n = lists.iter().filter(|b| b.start <= a.start && a.start < b.start + b.delay).count();
        best = best.max(n);
    }
    best
}

/// `k=v,k2=v2` against an object's labels.
fn labels_match(o: &Value, selector: &str) -> bool {
    selector.split(',').all(|kv| match kv.split_once('=') {
        Some((k, v)) => {
            o.pointer("/metadata/labels").and_then(|l| l.get(k.trim())).and_then(Value::as_str) == Some(v.trim())
        }
        None => o.pointer("/metadata/labels").and_then(|l| l.get(kv.trim())).is_some(),
    })
}

/// List merge keys the fake's strategic merge knows (the ones ClusterGPT's patches use).
fn merge_key(list: &str) -> Option<&'static str> {
    match list {
        "containers" | "initContainers" | "volumes" | "env" | "imagePullSecrets" => Some("name"),
        "ports" => Some("containerPort"),
        "volumeMounts" => Some("mountPath"),
        _ => None,
    }
}

/// RFC 7386 merge, with strategic merge's keyed lists when `strategic`.
fn merge_into(target: &mut Value, patch: &Value, strategic: bool) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().unwrap();
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match (t.get_mut(k), v) {
            (Some(cur @ Value::Object(_)), Value::Object(_)) => merge_into(cur, v, strategic),
            (Some(Value::Array(cur)), Value::Array(items)) if strategic && merge_key(k).is_some() => {
                let key = merge_key(k).unwrap();
                for item in items {
                    match cur.iter_mut().find(|c| c.get(key).is_some() && c.get(key) == item.get(key)) {
                        Some(c) => merge_into(c, item, strategic),
                        None => cur.push(item.clone()),
                    }
                }
            }
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `PATCH` of one object.
fn patch(
    st: &mut State,
    path: &str,
    query: &BTreeMap<String, String>,
    content_type: &str,
    body: &[u8],
) -> ResponseTemplate {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let rest = match parts.as_slice() {
        ["api", _, rest @ ..] | ["apis", _, _, rest @ ..] => rest,
        _ => return status(404, "NotFound", "the server could not find the requested resource".into()),
    };
    let (ns, plural, name) = match rest {
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, *name),
        [plural, name] => (None, *plural, *name),
        _ => return status(405, "MethodNotAllowed", "PATCH needs one object".into()),
    };
    let strategic = content_type.starts_with("application/strategic-merge-patch+json");
    if !strategic && !content_type.starts_with("application/merge-patch+json") {
        return status(415, "UnsupportedMediaType", format!("the fake does not take {content_type} patches"));
    }
    let Ok(p) = serde_json::from_slice::<Value>(body) else {
        return status(400, "BadRequest", "the patch is not JSON".into());
    };
    let dry = query.get("dryRun").map(String::as_str) == Some("All");
    if dry && let Some(w) = &st.dry_run_webhook {
        return status(400, "BadRequest", format!("admission webhook \"{w}\" does not support dry run"));
    }
    if let Some((code, msg)) = &st.patch_fail {
        let reason = if *code == 409 { "Conflict" } else { "Invalid" };
        return status(*code, reason, msg.clone());
    }
    let Some(i) = st.objects.get(plural).and_then(|items| {
        items.iter().position(|o| {
            o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                && o.pointer("/metadata/namespace").and_then(Value::as_str) == ns
        })
    }) else {
        return status(404, "NotFound", format!("{plural} \"{name}\" not found"));
    };
    let current = st.objects[plural][i].clone();
    let rv_now = current.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    if let Some(want) = p.pointer("/metadata/resourceVersion").and_then(Value::as_str)
        && want != rv_now
    {
        return status(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        );
    }
    let mut merged = current.clone();
    merge_into(&mut merged, &p, strategic);
    let manager = query.get("fieldManager").cloned().unwrap_or_default();
    merged["metadata"]["managedFields"] =
        json!([{"manager": manager, "operation": "Update", "apiVersion": current["apiVersion"]}]);
    merged["metadata"]["resourceVersion"] = json!(rv_now);
    let spec_changed = merged.get("spec") != current.get("spec");
    if spec_changed {
        let g = current.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
        merged["metadata"]["generation"] = json!(g + 1);
    }
    if dry {
        return plain(merged);
    }
    st.rv += 1;
    merged["metadata"]["resourceVersion"] = json!(st.rv.to_string());
    let key = format!("{plural}/{}/{name}", ns.unwrap_or_default());
    if spec_changed && matches!(plural, "deployments" | "statefulsets" | "daemonsets") {
        let outcome = if st.rollouts.is_empty() { Outcome::Healthy(0) } else { st.rollouts.remove(0) };
        new_revision(st, plural, &mut merged);
        if let Outcome::Healthy(0) = outcome {
            st.objects.get_mut(plural).unwrap()[i] = merged.clone();
            finish_rollout(st, &key, outcome);
            let done = st.objects[plural][i].clone();
            return plain(done);
        }
        st.pending.insert(key, outcome);
    }
    st.objects.get_mut(plural).unwrap()[i] = merged.clone();
    plain(merged)
}

/// A short, stable hash of a pod template, as the controllers name revisions.
fn template_hash(template: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in template.to_string().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:09x}", h & 0xf_ffff_ffff)
}

fn owner(kind: &str, o: &Value) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": kind, "name": o["metadata"]["name"], "uid": o["metadata"]["uid"],
        "controller": true}])
}

fn same(o: &Value, ns: &str, name: &str) -> bool {
    o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
        && o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
}

/// What the controller does when a workload's template changes: a Deployment gets (or reuses)
/// the ReplicaSet of the new template and a new revision number, a StatefulSet a new
/// `updateRevision`, a DaemonSet a new ControllerRevision.
fn new_revision(st: &mut State, plural: &str, w: &mut Value) {
    let hash = template_hash(&w["spec"]["template"]);
    let ns = w.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_string();
    let name = w.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let selector = w.pointer("/spec/selector/matchLabels").cloned().unwrap_or(json!({}));
    match plural {
        "deployments" => {
            const REV: &str = "deployment.kubernetes.io/revision";
            let sets = st.objects.entry("replicasets".into()).or_default();
            let newest = sets
                .iter()
                .filter(|rs| rs.pointer("/metadata/ownerReferences/0/uid") == w.pointer("/metadata/uid"))
                .filter_map(|rs| rs.pointer("/metadata/annotations")?.get(REV)?.as_str()?.parse::<i64>().ok())
                .max()
                .unwrap_or(0);
            let rev = (newest + 1).to_string();
            let rs_name = format!("{name}-{hash}");
            match sets.iter_mut().find(|rs| same(rs, &ns, &rs_name)) {
                Some(rs) => rs["metadata"]["annotations"][REV] = json!(rev),
                None => {
                    let mut labels = w.pointer("/spec/template/metadata/labels").cloned().unwrap_or(json!({}));
                    labels["pod-template-hash"] = json!(hash);
                    let mut template = w["spec"]["template"].clone();
                    template["metadata"]["labels"] = labels.clone();
                    sets.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": rs_name, "namespace": ns, "uid": format!("rs-{hash}"),
                            "labels": labels, "annotations": {REV: rev}, "ownerReferences": owner("Deployment", w)},
                        "spec": {"replicas": w["spec"]["replicas"], "selector": {"matchLabels": selector},
                            "template": template}}));
                }
            }
            w["metadata"]["annotations"][REV] = json!(rev);
        }
        "statefulsets" => w["status"]["updateRevision"] = json!(format!("{name}-{hash}")),
        _ => {
            let revisions = st.objects.entry("controllerrevisions".into()).or_default();
            let newest = revisions
                .iter()
                .filter(|r| r.pointer("/metadata/ownerReferences/0/uid") == w.pointer("/metadata/uid"))
                .filter_map(|r| r.get("revision").and_then(Value::as_i64))
                .max()
                .unwrap_or(0);
            let mut labels = selector;
            labels["controller-revision-hash"] = json!(hash);
            revisions.push(json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": {"name": format!("{name}-{hash}"), "namespace": ns, "labels": labels,
                    "ownerReferences": owner("DaemonSet", w)},
                "revision": newest + 1}));
        }
    }
}

/// A workload's status once rolled out (or past its deadline).
fn roll_out(w: &mut Value, deadline: bool) {
    let generation = w.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
    let want = w.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    match w.get("kind").and_then(Value::as_str) {
        Some("StatefulSet") => {
            let update = w["status"]["updateRevision"].clone();
            w["status"] = json!({"observedGeneration": generation, "replicas": want, "readyReplicas": want,
                "currentReplicas": want, "updatedReplicas": want, "updateRevision": update,
                "currentRevision": if deadline { json!("") } else { update.clone() }});
        }
        Some("DaemonSet") => {
            let desired = w.pointer("/status/desiredNumberScheduled").and_then(Value::as_i64).unwrap_or(1);
            let done = if deadline { 0 } else { desired };
            w["status"] = json!({"observedGeneration": generation, "desiredNumberScheduled": desired,
                "currentNumberScheduled": desired, "numberReady": done, "updatedNumberScheduled": done,
                "numberAvailable": done});
        }
        _ if !deadline => {
            w["status"] = json!({"observedGeneration": generation, "replicas": want, "updatedReplicas": want,
            "readyReplicas": want, "availableReplicas": want,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
        }
        _ => {
            w["status"] = json!({"observedGeneration": generation, "replicas": want, "updatedReplicas": 0,
            "availableReplicas": 0,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                "message": "ReplicaSet has timed out progressing."}]});
        }
    }
}

/// One read of a workload with a rollout in progress.
fn advance_rollout(st: &mut State, key: &str) {
    let Some(outcome) = st.pending.get_mut(key) else { return };
    let left = match outcome {
        Outcome::Healthy(n) | Outcome::RestartsClimb(n) | Outcome::DeadlineExceeded(n) => n,
    };
    if *left > 0 {
        *left -= 1;
        return;
    }
    let outcome = *outcome;
    st.pending.remove(key);
    finish_rollout(st, key, outcome);
}

/// The end of a rollout: the workload's status, and (unless it is past its deadline) its old
/// pods replaced by pods of the new revision, running and ready, whose restarts climb for
/// `RestartsClimb`.
fn finish_rollout(st: &mut State, key: &str, outcome: Outcome) {
    let mut parts = key.splitn(3, '/');
    let (Some(plural), Some(ns), Some(name)) = (parts.next(), parts.next(), parts.next()) else { return };
    let Some(w) = st.objects.get_mut(plural).and_then(|items| items.iter_mut().find(|o| same(o, ns, name))) else {
        return;
    };
    let deadline = matches!(outcome, Outcome::DeadlineExceeded(_));
    roll_out(w, deadline);
    if deadline {
        return;
    }
    let w = w.clone();
    let selector = w.pointer("/spec/selector/matchLabels").cloned().unwrap_or(json!({}));
    let hash = template_hash(&w["spec"]["template"]);
    // Pods are named `{prefix}{i}` as each controller names them.
    let (label, value, owner_ref, prefix): (&str, String, Value, String) = match plural {
        "deployments" => {
            let rs = format!("{name}-{hash}");
            let uid = st.objects["replicasets"].iter().find(|r| same(r, ns, &rs)).map(|r| r["metadata"]["uid"].clone());
            let o = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": uid,
                "controller": true}]);
            ("pod-template-hash", hash.clone(), o, format!("{rs}-n"))
        }
        "statefulsets" => {
            ("controller-revision-hash", format!("{name}-{hash}"), owner("StatefulSet", &w), format!("{name}-"))
        }
        _ => ("controller-revision-hash", hash.clone(), owner("DaemonSet", &w), format!("{name}-{}", &hash[..5])),
    };
    let linger = st.linger_old_pods && plural != "statefulsets";
    let pods = st.objects.entry("pods".into()).or_default();
    let is_old = |p: &Value| {
        p.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
            && selector
                .as_object()
                .into_iter()
                .flatten()
                .all(|(k, v)| p.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
            && p.pointer("/metadata/deletionTimestamp").is_none()
    };
    let old: Vec<Value> = pods.iter().filter(|p| is_old(p)).cloned().collect();
    if linger {
        for p in pods.iter_mut().filter(|p| is_old(p)) {
            p["metadata"]["deletionTimestamp"] = json!("2099-01-01T00:00:00Z");
        }
    } else {
        pods.retain(|p| !is_old(p));
    }
    let count = match plural {
        "daemonsets" => w.pointer("/status/desiredNumberScheduled").and_then(Value::as_i64).unwrap_or(1),
        _ => w.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1),
    };
    let mut labels = w.pointer("/spec/template/metadata/labels").cloned().unwrap_or(json!({}));
    labels[label] = json!(value);
    let statuses: Vec<Value> = w
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "ready": true, "restartCount": 0, "started": true,
            "state": {"running": {"startedAt": "2026-12-01T10:00:00Z"}}})
        })
        .collect();
    for i in 0..usize::try_from(count).unwrap_or(1) {
        let mut spec = w["spec"]["template"]["spec"].clone();
        if let Some(node) = old.get(i).and_then(|p| p.pointer("/spec/nodeName")) {
            spec["nodeName"] = node.clone();
        }
        pods.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{prefix}{i}"), "namespace": ns, "uid": format!("pod-{hash}-{i}"), "labels": labels,
                "ownerReferences": owner_ref, "creationTimestamp": "2026-12-01T10:00:00Z"},
            "spec": spec,
            "status": {"phase": "Running", "startTime": "2026-12-01T10:00:00Z",
                "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}],
                "containerStatuses": statuses}}));
    }
    if let Outcome::RestartsClimb(_) = outcome {
        st.climbing.insert(format!("{ns}/{label}={value}"));
    }
}

/// The pods of a namespace that carry every label of `selector`.
fn pods_of<'a>(st: &'a mut State, ns: &str, selector: &Value) -> Vec<&'a mut Value> {
    let want = selector.as_object().cloned().unwrap_or_default();
    st.objects
        .get_mut("pods")
        .map(|pods| {
            pods.iter_mut()
                .filter(|p| {
                    p.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
                        && want.iter().all(|(k, v)| p.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every pods list: the pods in `climbing` restart once more, OOMKilled.
fn climb_restarts(st: &mut State) {
    let climbing: Vec<(String, String, String)> = st
        .climbing
        .iter()
        .filter_map(|k| {
            let (ns, sel) = k.split_once('/')?;
            let (l, v) = sel.split_once('=')?;
            Some((ns.to_string(), l.to_string(), v.to_string()))
        })
        .collect();
    for (ns, label, value) in climbing {
        for pod in pods_of(st, &ns, &json!({ label: value })) {
            for c in pod.pointer_mut("/status/containerStatuses").and_then(Value::as_array_mut).into_iter().flatten() {
                let n = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
                c["restartCount"] = json!(n + 1);
                c["lastState"] = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled",
                    "startedAt": "2026-12-01T10:00:00Z", "finishedAt": "2026-12-01T10:01:00Z"}});
            }
        }
    }
}

impl FakeCluster {
    /// The PATCH requests, in order.
    pub fn patches(&self) -> Vec<Logged> {
        self.log().into_iter().filter(|l| l.method == "PATCH").collect()
    }

    /// The object as the fake holds it now.
    pub fn object(&self, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let st = self.state.lock().unwrap();
        st.objects
            .get(plural)?
            .iter()
            .find(|o| {
                o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                    && o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
            })
            .cloned()
    }
}
