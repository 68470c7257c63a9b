//! Live clusters as an input: the objects of one or more kubeconfig contexts, read through kube.
//!
//! Read-only by construction: the only requests are `GET /version`, discovery and paginated
//! `list`s of the types in [`RESOURCES`]. Secrets are listed metadata-only
//! (`PartialObjectMetadataList`), so no Secret data is ever requested. A type the credentials may
//! not list (403), that is not there (404) or that does not answer in time becomes a [`Gap`]: the
//! audit reports the rules that needed it as "not evaluated" for that cluster, never as passed.
//!
//! Each page is converted into model objects as it arrives (`managedFields` and the
//! `last-applied-configuration` annotation dropped), and the page itself is freed.

pub mod prometheus;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kube::api::{ApiResource, DynamicObject, ListParams, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{Discovery, Scope, verbs};
use kube::{Client, Config, Resource};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cost::{ClusterUsage, Usage};
use crate::model::{Object, Origin};
use crate::quantity::Quantity;
use crate::rules::diagnosis::logs::{self as log_classes, PreviousLog};
use crate::source::{Gap, Input, InputError};

/// One resource type the rules read: where it is served and how to list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    /// API group, `""` for core.
    pub group: &'static str,
    /// Version listed.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name (the URL segment).
    pub plural: &'static str,
    /// Listed as `PartialObjectMetadataList`: only metadata, never data (Secrets).
    pub metadata_only: bool,
}

const fn r(group: &'static str, version: &'static str, kind: &'static str, plural: &'static str) -> ResourceType {
    ResourceType { group, version, kind, plural, metadata_only: false }
}

/// Every type read from a cluster, in the order objects are handed to the audit. A type the server
/// does not serve (no Gateway API, no VPA, an old `autoscaling/v2`) is not read and is no gap:
/// there are no such objects to miss.
pub const RESOURCES: &[ResourceType] = &[
    r("", "v1", "Namespace", "namespaces"),
    r("", "v1", "Node", "nodes"),
    r("", "v1", "Pod", "pods"),
    r("", "v1", "Service", "services"),
    r("", "v1", "ServiceAccount", "serviceaccounts"),
    r("", "v1", "ConfigMap", "configmaps"),
    ResourceType { metadata_only: true, ..r("", "v1", "Secret", "secrets") },
    r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    r("", "v1", "PersistentVolume", "persistentvolumes"),
    r("", "v1", "ReplicationController", "replicationcontrollers"),
    r("", "v1", "LimitRange", "limitranges"),
    r("", "v1", "ResourceQuota", "resourcequotas"),
    r("", "v1", "Event", "events"),
    r("apps", "v1", "Deployment", "deployments"),
    r("apps", "v1", "StatefulSet", "statefulsets"),
    r("apps", "v1", "DaemonSet", "daemonsets"),
    r("apps", "v1", "ReplicaSet", "replicasets"),
    r("batch", "v1", "Job", "jobs"),
    r("batch", "v1", "CronJob", "cronjobs"),
    r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    r("networking.k8s.io", "v1", "Ingress", "ingresses"),
    r("networking.k8s.io", "v1", "IngressClass", "ingressclasses"),
    r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
    r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles"),
    r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings"),
    r("storage.k8s.io", "v1", "StorageClass", "storageclasses"),
    r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses"),
    r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    r("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
    r("autoscaling.k8s.io", "v1", "VerticalPodAutoscaler", "verticalpodautoscalers"),
];

/// The gap reason of cluster-scoped types a `--namespace` read leaves out by request: reported
/// with the rules that needed them, never a reason for `--require-complete` to fail.
pub const OUT_OF_SCOPE: &str = "out-of-scope";

/// The annotation `kubectl apply` leaves: a full copy of the applied object (Secret data too).
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// How to reach the clusters and how long to try.
#[derive(Debug, Clone)]
pub struct Options {
    /// A kubeconfig file; `None`: `KUBECONFIG` (several files merged), `~/.kube/config`, then the
    /// in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// Contexts to read; empty: the current context.
    pub contexts: Vec<String>,
    /// Namespaces to read; empty: all (and the cluster-scoped types).
    pub namespaces: Vec<String>,
    /// Items per list page.
    pub page_size: u32,
    /// Lists in flight at once, per cluster.
    pub concurrency: usize,
    /// Longest wait for one answer.
    pub request_timeout: Duration,
    /// Longest time for the whole read of one cluster.
    pub deadline: Duration,
    /// When the read happens (RFC 3339, UTC), from the caller's clock.
    pub read_at: String,
    /// Show progress on stderr (the caller sets it when stderr is a terminal).
    pub progress: bool,
    /// Read and classify the previous log of crashing containers (`--logs`).
    pub logs: bool,
    /// The most pods whose previous logs are read, per cluster (the first ones in read order).
    pub log_pods: usize,
    /// Usage history from Prometheus (`--prometheus`), read after the objects.
    pub prometheus: Option<prometheus::Options>,
    /// Also list every custom resource type the server serves (`--crds`).
    pub crds: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            kubeconfig: None,
            contexts: Vec::new(),
            namespaces: Vec::new(),
            page_size: 500,
            concurrency: 4,
            request_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(300),
            read_at: String::new(),
            progress: false,
            logs: false,
            log_pods: 50,
            prometheus: None,
            crds: false,
        }
    }
}

/// What one cluster gave.
#[derive(Debug, Clone)]
pub struct ClusterRead {
    /// The context name (the cluster's identity in findings).
    pub context: String,
    /// `gitVersion` of the API server.
    pub server_version: Option<String>,
    /// When it was read (RFC 3339).
    pub read_at: String,
    /// Namespaces the read was limited to (empty: all).
    pub namespaces: Vec<String>,
    /// `aggregated` or `legacy`.
    pub discovery: String,
    /// Objects as read (without managed fields and the last-applied annotation).
    pub objects: Vec<Object>,
    /// Types that could not be read.
    pub gaps: Vec<Gap>,
    /// What `metrics.k8s.io` reported, or why it did not.
    pub usage: ClusterUsage,
    /// Crashing containers' previous logs, classified (`--logs`): the class and one redacted line.
    pub logs: Vec<PreviousLog>,
    /// Container usage over a window from Prometheus (`--prometheus`).
    pub history: Option<crate::cost::prometheus::UsageHistory>,
}

/// Why a cluster could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No usable kubeconfig or in-cluster configuration.
    #[error("{0}")]
    Config(String),
    /// The API server did not answer `/version` or discovery.
    #[error("cannot reach the API server of context `{context}`: {message}")]
    Unreachable {
        /// The context.
        context: String,
        /// What failed.
        message: String,
    },
}

/// Installs ring as the process's rustls crypto provider (once; later calls do nothing), so kube's
/// TLS stack never has to guess between providers.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads every requested context, one after the other, on a runtime of its own.
///
/// # Errors
/// When no kubeconfig or in-cluster configuration can be loaded, or the runtime cannot start.
/// A context that cannot be reached is an `InputError` in the result, not an error.
pub fn read_all(opts: &Options) -> Result<(Vec<ClusterRead>, Vec<InputError>), Error> {
    install_crypto_provider();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let targets = resolve_contexts(opts)?;
        let mut reads = Vec::new();
        let mut errors = Vec::new();
        for target in targets {
            let context = target.name().to_string();
            let client = match target.client(opts).await {
                Ok(c) => c,
                Err(e) => {
                    errors.push(unreachable(&context, &e));
                    continue;
                }
            };
            match read_cluster(client, &context, opts).await {
                Ok(read) => reads.push(read),
                Err(e) => errors.push(unreachable(&context, &e)),
            }
        }
        Ok::<_, Error>((reads, errors))
    })
}

/// A client for the one context `opts` names (or the current one): what `remediate` writes
/// through. Several contexts are refused: a remediation is about one cluster.
///
/// # Errors
/// When no kubeconfig can be loaded, several contexts are named, or the client cannot be built.
pub async fn connect(opts: &Options) -> Result<(String, Client), Error> {
    install_crypto_provider();
    let mut targets = resolve_contexts(opts)?;
    if targets.len() != 1 {
        return Err(Error::Config("remediation works on one cluster at a time: pass one --context".to_string()));
    }
    let Some(target) = targets.pop() else { return Err(Error::Config("no context to connect to".to_string())) };
    let context = target.name().to_string();
    let client = target.client(opts).await?;
    Ok((context, client))
}

fn unreachable(context: &str, e: &Error) -> InputError {
    InputError {
        source: format!("{}{context}", crate::source::CLUSTER_PREFIX),
        line: None,
        column: None,
        message: format!("{e}; check the context with `kubectl --context {context} get --raw /version`"),
    }
}

/// Where a client comes from.
enum Target {
    Kubeconfig { kubeconfig: Box<Kubeconfig>, context: String },
    InCluster,
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Target::Kubeconfig { context, .. } => context,
            Target::InCluster => crate::model::IN_CLUSTER,
        }
    }

    async fn client(self, opts: &Options) -> Result<Client, Error> {
        let name = self.name().to_string();
        let mut config = match self {
            Target::Kubeconfig { kubeconfig, context } => {
                let options = KubeConfigOptions { context: Some(context), ..KubeConfigOptions::default() };
                Config::from_custom_kubeconfig(*kubeconfig, &options)
                    .await
                    .map_err(|e| Error::Config(format!("context `{name}`: {e}")))?
            }
            Target::InCluster => {
                Config::incluster().map_err(|e| Error::Config(format!("in-cluster configuration: {e}")))?
            }
        };
        config.connect_timeout = Some(opts.request_timeout);
        config.read_timeout = Some(opts.request_timeout);
        // kube's retry backs off for minutes (15 tries); lists retry briefly themselves, within the
        // deadline, so one unavailable API cannot eat the whole read.
        config.default_retry = false;
        Client::try_from(config).map_err(|e| Error::Unreachable { context: name, message: e.to_string() })
    }
}

/// The contexts to read: the named ones, or the current one, or the in-cluster account.
fn resolve_contexts(opts: &Options) -> Result<Vec<Target>, Error> {
    let loaded = match &opts.kubeconfig {
        Some(path) => Some(load_kubeconfig(path)?),
        None => match Kubeconfig::read() {
            Ok(kc) => Some(kc),
            // No kubeconfig anywhere: inside a pod, its service account is the way in.
            Err(_) if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() && opts.contexts.is_empty() => None,
            Err(e) => {
                return Err(Error::Config(format!(
                    "cannot load a kubeconfig ({e}); pass --kubeconfig FILE or set KUBECONFIG"
                )));
            }
        },
    };
    let Some(kc) = loaded else { return Ok(vec![Target::InCluster]) };
    let names: Vec<String> = if opts.contexts.is_empty() {
        match &kc.current_context {
            Some(c) if !c.is_empty() => vec![c.clone()],
            _ => return Err(Error::Config("the kubeconfig has no current context; pass --context NAME".to_string())),
        }
    } else {
        opts.contexts.clone()
    };
    let mut out = Vec::new();
    for name in names {
        if !kc.contexts.iter().any(|c| c.name == name) {
            let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
            return Err(Error::Config(format!(
                "no context `{name}` in the kubeconfig (it has: {})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
        }
        if out.iter().any(|t: &Target| t.name() == name) {
            continue;
        }
        out.push(Target::Kubeconfig { kubeconfig: Box::new(kc.clone()), context: name });
    }
    Ok(out)
}

fn load_kubeconfig(path: &Path) -> Result<Kubeconfig, Error> {
    Kubeconfig::read_from(path).map_err(|e| Error::Config(format!("cannot read kubeconfig {}: {e}", path.display())))
}

/// Reads one cluster through `client`.
///
/// # Errors
/// When the API server does not answer `/version` or discovery.
pub async fn read_cluster(client: Client, context: &str, opts: &Options) -> Result<ClusterRead, Error> {
    let deadline = Instant::now() + opts.deadline;
    let unreachable =
        |e: &dyn std::fmt::Display| Error::Unreachable { context: context.to_string(), message: e.to_string() };
    let version = tokio::time::timeout_at(deadline, client.apiserver_version())
        .await
        .map_err(|_| unreachable(&"no answer to /version before the deadline"))?
        .map_err(|e| unreachable(&e))?;
    let (discovery, mode) = tokio::time::timeout_at(deadline, discover(&client, opts.crds))
        .await
        .map_err(|_| unreachable(&"discovery timed out"))?
        .map_err(|e| unreachable(&e))?;

    let semaphore = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut tasks: JoinSet<(usize, Result<Vec<Object>, Gap>)> = JoinSet::new();
    let mut jobs = 0usize;
    let mut out_of_scope = Vec::new();
    let mut types: Vec<(ApiResource, bool, bool)> = RESOURCES
        .iter()
        .filter_map(|rt| served(&discovery, rt).map(|(ar, namespaced)| (ar, namespaced, rt.metadata_only)))
        .collect();
    if opts.crds {
        types.extend(custom_types(&discovery).into_iter().map(|(ar, namespaced)| (ar, namespaced, false)));
    }
    for (ar, namespaced, metadata_only) in types {
        let scopes: Vec<Option<String>> = match (namespaced, opts.namespaces.is_empty()) {
            (_, true) => vec![None],
            (true, false) => opts.namespaces.iter().cloned().map(Some).collect(),
            // Limited to namespaces: cluster-wide types are outside what was asked for, and the
            // rules that read them are said to be not evaluated rather than passed.
            (false, false) => {
                out_of_scope.push(Gap {
                    context: context.to_string(),
                    group: ar.group.clone(),
                    kind: ar.kind.clone(),
                    resource: ar.plural.clone(),
                    reason: OUT_OF_SCOPE.to_string(),
                    message: format!("{} are cluster-scoped: not read with --namespace", ar.plural),
                });
                Vec::new()
            }
        };
        for ns in scopes {
            let job = List {
                client: client.clone(),
                ar: ar.clone(),
                metadata_only,
                namespace: ns,
                context: context.to_string(),
                page_size: opts.page_size.max(1),
                request_timeout: opts.request_timeout,
            };
            let semaphore = Arc::clone(&semaphore);
            let index = jobs;
            jobs += 1;
            tasks.spawn(async move {
                let gap = |reason: &str, message: String| job.gap(reason, message);
                let run = async {
                    let _permit = semaphore.acquire().await;
                    job.run().await
                };
                let result = match tokio::time::timeout_at(deadline, run).await {
                    Ok(r) => r,
                    Err(_) => Err(gap(
                        "deadline",
                        format!("could not list {}: the read's deadline passed before it finished", job.what()),
                    )),
                };
                (index, result)
            });
        }
    }
    let mut results: Vec<(usize, Result<Vec<Object>, Gap>)> = Vec::with_capacity(jobs);
    let mut objects_read = 0usize;
    while let Some(joined) = tasks.join_next().await {
        if opts.progress {
            if let Ok((_, Ok(o))) = &joined {
                objects_read += o.len();
            }
            eprint!("\r\x1b[2Kcontext {context}: {}/{jobs} lists, {objects_read} objects", results.len() + 1);
        }
        // A list task only panics on a bug; its type then stays unread and unreported, so say so.
        match joined {
            Ok(r) => results.push(r),
            Err(e) => {
                return Err(Error::Unreachable {
                    context: context.to_string(),
                    message: format!("a list task failed: {e}"),
                });
            }
        }
    }
    if opts.progress {
        eprint!("\r\x1b[2K");
    }
    // Table order, then namespace order: the same cluster always gives the same object order.
    results.sort_by_key(|(i, _)| *i);
    let mut objects = Vec::new();
    let mut gaps = out_of_scope;
    for (_, r) in results {
        match r {
            Ok(mut o) => objects.append(&mut o),
            Err(g) => gaps.push(g),
        }
    }
    let logs = if opts.logs {
        let (logs, log_gaps) = read_logs(&client, &objects, context, opts, deadline).await;
        gaps.extend(log_gaps);
        logs
    } else {
        Vec::new()
    };
    let usage = match tokio::time::timeout_at(deadline, read_usage(&client, &discovery, context, opts)).await {
        Ok(u) => u,
        Err(_) => ClusterUsage {
            context: context.to_string(),
            note: format!("{METRICS_GROUP} did not answer before the deadline: usage is not shown"),
            ..ClusterUsage::default()
        },
    };
    let history = match &opts.prometheus {
        Some(p) => {
            let p = prometheus::Options { context: context.to_string(), ..p.clone() };
            let now = crate::rules::diagnosis::common::parse_time(&opts.read_at).unwrap_or(0);
            Some(prometheus::read(&p, u64::try_from(now).unwrap_or(0)).await)
        }
        None => None,
    };
    Ok(ClusterRead {
        history,
        context: context.to_string(),
        server_version: Some(version.git_version),
        read_at: opts.read_at.clone(),
        namespaces: opts.namespaces.clone(),
        discovery: mode.to_string(),
        objects,
        gaps,
        usage,
        logs,
    })
}

/// The resource a pod's log is read through; gaps about logs name it.
pub const LOG_RESOURCE: &str = "pods/log";

/// What one previous log gave: its class and line (or nothing recognisable), else why it could not
/// be read (a gap reason and message).
type LogResult = Result<Option<log_classes::LogMatch>, (String, String)>;

/// One previous-log request: which container of which pod.
struct LogTarget {
    uid: String,
    namespace: String,
    pod: String,
    container: String,
}

/// The containers of a pod worth a previous log: crashing ones (restarted after a termination, or
/// waiting in `CrashLoopBackOff`/`Error`). A Succeeded pod's exits are no crash.
fn crashing(pod: &Value) -> Vec<String> {
    if pod.pointer("/status/phase").and_then(Value::as_str) == Some("Succeeded") {
        return Vec::new();
    }
    let mut names = Vec::new();
    for c in pod.pointer("/status/containerStatuses").and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = c.get("name").and_then(Value::as_str) else { continue };
        let restarted = c.get("restartCount").and_then(Value::as_u64).unwrap_or(0) > 0
            && c.pointer("/lastState/terminated").is_some_and(Value::is_object);
        let waiting =
            matches!(c.pointer("/state/waiting/reason").and_then(Value::as_str), Some("CrashLoopBackOff" | "Error"));
        if restarted || waiting {
            names.push(name.to_string());
        }
    }
    names
}

/// Reads the previous log tail of each crashing container (the first `log_pods` pods with one),
/// classifies it at once and keeps only the class and its redacted line. A log that cannot be read
/// (403, 404, timeout) is summed up in a gap per reason, never fatal.
async fn read_logs(
    client: &Client,
    objects: &[Object],
    context: &str,
    opts: &Options,
    deadline: Instant,
) -> (Vec<PreviousLog>, Vec<Gap>) {
    let mut targets = Vec::new();
    let (mut pods, mut over) = (0usize, 0usize);
    for o in objects.iter().filter(|o| o.kind == "Pod" && o.api_version == "v1") {
        let containers = crashing(&o.body);
        if containers.is_empty() {
            continue;
        }
        if pods >= opts.log_pods {
            over += 1;
            continue;
        }
        pods += 1;
        let uid = o.origin.uid().unwrap_or_default().to_string();
        let namespace = o.namespace.clone().unwrap_or_default();
        targets.extend(containers.into_iter().map(|container| LogTarget {
            uid: uid.clone(),
            namespace: namespace.clone(),
            pod: o.name.clone(),
            container,
        }));
    }
    let semaphore = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut tasks: JoinSet<(usize, LogResult)> = JoinSet::new();
    for (index, t) in targets.iter().enumerate() {
        let (client, semaphore, timeout) = (client.clone(), Arc::clone(&semaphore), opts.request_timeout);
        let (namespace, pod, container) = (t.namespace.clone(), t.pod.clone(), t.container.clone());
        tasks.spawn(async move {
            let run = async {
                let _permit = semaphore.acquire().await;
                tokio::time::timeout(timeout, previous_log(&client, &namespace, &pod, &container)).await
            };
            let result = match tokio::time::timeout_at(deadline, run).await {
                Err(_) => Err(("deadline".to_string(), "the read's deadline passed".to_string())),
                Ok(Err(_)) => Err(("timeout".to_string(), format!("no answer within {} s", timeout.as_secs_f64()))),
                Ok(Ok(r)) => r,
            };
            (index, result)
        });
    }
    let mut results = Vec::with_capacity(targets.len());
    while let Some(joined) = tasks.join_next().await {
        // A task only fails on a bug; that log then counts as unread.
        if let Ok(r) = joined {
            results.push(r);
        }
    }
    results.sort_by_key(|(i, _)| *i);
    let mut logs = Vec::new();
    // Per reason: how many logs, and the first one's message (the same cause repeats).
    let mut failed: std::collections::BTreeMap<String, (usize, String)> = std::collections::BTreeMap::new();
    for (i, r) in results {
        let Some(t) = targets.get(i) else { continue };
        match r {
            Ok(Some(found)) => logs.push(PreviousLog {
                uid: t.uid.clone(),
                namespace: t.namespace.clone(),
                pod: t.pod.clone(),
                container: t.container.clone(),
                found,
            }),
            Ok(None) => {}
            Err((reason, message)) => {
                let entry = failed.entry(reason).or_insert((0, String::new()));
                if entry.0 == 0 {
                    entry.1 = format!("{}/{} container {}: {message}", t.namespace, t.pod, t.container);
                }
                entry.0 += 1;
            }
        }
    }
    let gap = |reason: &str, message: String| Gap {
        context: context.to_string(),
        group: String::new(),
        kind: "Pod".to_string(),
        resource: LOG_RESOURCE.to_string(),
        reason: reason.to_string(),
        message,
    };
    let mut gaps: Vec<Gap> = failed
        .into_iter()
        .map(|(reason, (n, first))| {
            gap(&reason, format!("could not read the previous log of {n} crashing container(s), first {first}"))
        })
        .collect();
    if over > 0 {
        gaps.push(gap(
            "limit",
            format!(
                "previous logs were read for the first {} crashing pods; {over} more were not (raise --log-pods)",
                opts.log_pods
            ),
        ));
    }
    (logs, gaps)
}

/// The most of one log body read when the server ignores the limits sent with the request.
const MAX_STREAM: usize = 8 * 1024 * 1024;

/// One previous-container log tail, bounded in lines and bytes, classified as soon as it arrives;
/// the text itself is dropped here.
async fn previous_log(client: &Client, namespace: &str, pod: &str, container: &str) -> LogResult {
    let lp = LogParams {
        container: Some(container.to_string()),
        previous: true,
        tail_lines: i64::try_from(log_classes::MAX_LINES).ok(),
        limit_bytes: i64::try_from(log_classes::MAX_BYTES).ok(),
        ..LogParams::default()
    };
    let req = kube::core::Request::new(format!("/api/v1/namespaces/{namespace}/pods"))
        .logs(pod, &lp)
        .map_err(|e| ("error".to_string(), e.to_string()))?;
    let failed = |reason: &str, message: String| (reason.to_string(), message);
    let res = client.send(req.map(kube::client::Body::from)).await.map_err(|e| failed("error", e.to_string()))?;
    let status = res.status();
    // Read frame by frame, keeping only the last MAX_BYTES: memory stays bounded even when a
    // server ignores `limitBytes` and `tailLines`, and reading stops after MAX_STREAM.
    let mut body = res.into_body();
    let (mut bytes, mut total) = (Vec::new(), 0usize);
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        let frame = frame.map_err(|e| failed("error", e.to_string()))?;
        let Ok(data) = frame.into_data() else { continue };
        total += data.len();
        bytes.extend_from_slice(&data);
        if bytes.len() > 2 * log_classes::MAX_BYTES {
            bytes.drain(..bytes.len() - log_classes::MAX_BYTES);
        }
        if total > MAX_STREAM {
            break;
        }
    }
    if !status.is_success() {
        let message = serde_json::from_slice::<kube::core::Status>(&bytes).map(|s| s.message).unwrap_or_default();
        return Err(match status.as_u16() {
            403 => failed("forbidden", format!("forbidden: {message}")),
            // No previous container (it was replaced, or the pod is gone since the list).
            400 | 404 => failed("not-found", format!("not found: {message}")),
            code => failed("error", format!("{code}: {message}")),
        });
    }
    // Not `request_text`: `limitBytes` may cut a character in two, and a log need not be UTF-8;
    // a server that ignores the limit is cut here.
    let tail = bytes.get(bytes.len().saturating_sub(log_classes::MAX_BYTES)..).unwrap_or_default();
    // A character cut at the end is dropped, not replaced: a replacement character would push the
    // text past the classifier's byte bound and cost it the first line.
    let tail = match std::str::from_utf8(tail) {
        Err(e) if e.error_len().is_none() => tail.get(..e.valid_up_to()).unwrap_or_default(),
        _ => tail,
    };
    Ok(log_classes::classify(&String::from_utf8_lossy(tail)))
}

/// The resource metrics API (metrics-server).
const METRICS_GROUP: &str = "metrics.k8s.io";

/// Node and pod usage from `metrics.k8s.io/v1beta1`, when served: a sample at read time.
async fn read_usage(client: &Client, discovery: &Discovery, context: &str, opts: &Options) -> ClusterUsage {
    let mut u = ClusterUsage { context: context.to_string(), ..ClusterUsage::default() };
    if !discovery.has_group(METRICS_GROUP) {
        u.note = format!("{METRICS_GROUP} is not served (no metrics-server): usage is not shown");
        return u;
    }
    let base = format!("/apis/{METRICS_GROUP}/v1beta1");
    let mut paths = Vec::new();
    if opts.namespaces.is_empty() {
        paths.push((false, format!("{base}/nodes")));
        paths.push((true, format!("{base}/pods")));
    } else {
        paths.extend(opts.namespaces.iter().map(|ns| (true, format!("{base}/namespaces/{ns}/pods"))));
    }
    for (pods, path) in paths {
        let req = match kube::core::Request::new(&path).list(&ListParams::default()) {
            Ok(r) => r,
            Err(e) => {
                u.note = format!("{METRICS_GROUP} could not be asked: {e}");
                return u;
            }
        };
        let page = match tokio::time::timeout(opts.request_timeout, client.request::<Value>(req)).await {
            Ok(Ok(page)) => page,
            Ok(Err(e)) => {
                u.note = format!("{METRICS_GROUP} did not answer ({e}): usage is not shown");
                return u;
            }
            Err(_) => {
                u.note = format!("{METRICS_GROUP} did not answer in time: usage is not shown");
                return u;
            }
        };
        for item in page.get("items").and_then(Value::as_array).into_iter().flatten() {
            let name = item.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            if pods {
                let ns = item.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
                let mut total = Usage::default();
                for c in item.get("containers").and_then(Value::as_array).into_iter().flatten() {
                    let one = usage_of(c.get("usage"));
                    total.cpu += one.cpu;
                    total.memory += one.memory;
                }
                u.pods.insert(format!("{ns}/{name}"), total);
            } else {
                u.nodes.insert(name.to_string(), usage_of(item.get("usage")));
            }
        }
    }
    u.available = true;
    u.note = format!("{METRICS_GROUP}: a sample at read time");
    u
}

/// `{cpu, memory}` quantities; what does not parse counts as zero.
fn usage_of(v: Option<&Value>) -> Usage {
    let q = |k: &str| v.and_then(|v| v.get(k)).and_then(Quantity::from_json).map_or(0.0, Quantity::value);
    Usage { cpu: q("cpu"), memory: q("memory") }
}

/// Discovery limited to the groups of [`RESOURCES`] and the metrics API: aggregated (two requests), else legacy.
async fn discover(client: &Client, crds: bool) -> Result<(Discovery, &'static str), kube::Error> {
    let mut groups: Vec<&str> = RESOURCES.iter().map(|r| r.group).chain([METRICS_GROUP]).collect();
    groups.sort_unstable();
    groups.dedup();
    if crds {
        // Every group: custom resources are found by discovery, not by a table.
        return match Discovery::new(client.clone()).run_aggregated().await {
            Ok(d) if d.has_group("") => Ok((d, "aggregated")),
            Ok(_) | Err(_) => Ok((Discovery::new(client.clone()).run().await?, "legacy")),
        };
    }
    match Discovery::new(client.clone()).filter(&groups).run_aggregated().await {
        // A server without aggregated discovery may answer the legacy list, which reads as an
        // empty aggregated one: only trust it when it has the core group.
        Ok(d) if d.has_group("") => return Ok((d, "aggregated")),
        Ok(_) | Err(_) => {}
    }
    match Discovery::new(client.clone()).filter(&groups).run().await {
        Ok(d) => Ok((d, "legacy")),
        // Legacy discovery fails whole when one aggregated API is down (a metrics-server that
        // does not answer is common): try again without it; usage then says it is not served.
        Err(_) => {
            groups.retain(|g| *g != METRICS_GROUP);
            Ok((Discovery::new(client.clone()).filter(&groups).run().await?, "legacy"))
        }
    }
}

/// API groups the API server itself serves (and aggregated APIs of Kubernetes): not custom
/// resources, and not read beyond the [`RESOURCES`] table.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "metrics.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

/// Custom resource types (`--crds`): every listable resource of a group the API server does not
/// build in, in its preferred version, except the ones [`RESOURCES`] reads already. Sorted by
/// group and plural, so a cluster always gives the same object order.
fn custom_types(discovery: &Discovery) -> Vec<(ApiResource, bool)> {
    let mut out: Vec<(ApiResource, bool)> = discovery
        .groups()
        .filter(|g| !BUILT_IN_GROUPS.contains(&g.name()))
        .flat_map(|g| g.recommended_resources())
        .filter(|(ar, caps)| {
            caps.supports_operation(verbs::LIST)
                && !ar.plural.contains('/')
                && !RESOURCES.iter().any(|r| r.group == ar.group && r.plural == ar.plural)
        })
        .map(|(ar, caps)| (ar, caps.scope == Scope::Namespaced))
        .collect();
    out.sort_by(|a, b| (&a.0.group, &a.0.plural).cmp(&(&b.0.group, &b.0.plural)));
    out
}

/// The served resource for a table entry and whether it is namespaced, when the server has it
/// and allows `list`.
fn served(discovery: &Discovery, rt: &ResourceType) -> Option<(ApiResource, bool)> {
    let group = discovery.get(rt.group)?;
    group
        .versioned_resources(rt.version)
        .into_iter()
        .find(|(ar, caps)| ar.plural == rt.plural && caps.supports_operation(verbs::LIST))
        .map(|(ar, caps)| (ar, caps.scope == Scope::Namespaced))
}

/// One paginated list: a type, cluster-wide or in one namespace.
struct List {
    client: Client,
    ar: ApiResource,
    /// Listed as `PartialObjectMetadataList` (Secrets).
    metadata_only: bool,
    namespace: Option<String>,
    context: String,
    page_size: u32,
    request_timeout: Duration,
}

/// How many times a list restarts after its continue token expired (410) before giving up.
const MAX_RESTARTS: usize = 3;

/// How many times one list retries a 429, 503 or 504 (after 0.4 s, then 0.8 s) before giving up.
const MAX_RETRIES: u32 = 2;

impl List {
    fn what(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} in namespace {ns}", self.ar.plural),
            None => self.ar.plural.clone(),
        }
    }

    fn gap(&self, reason: &str, message: String) -> Gap {
        Gap {
            context: self.context.clone(),
            group: self.ar.group.clone(),
            kind: self.ar.kind.clone(),
            resource: match &self.namespace {
                Some(ns) => format!("{}/{ns}", self.ar.plural),
                None => self.ar.plural.clone(),
            },
            reason: reason.to_string(),
            message,
        }
    }

    async fn run(&self) -> Result<Vec<Object>, Gap> {
        let url = DynamicObject::url_path(&self.ar, self.namespace.as_deref());
        let request = kube::core::Request::new(url);
        let mut restarts = 0;
        let mut retries = 0u32;
        'list: loop {
            let mut objects = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut lp = ListParams::default().limit(self.page_size);
                if let Some(t) = &token {
                    lp = lp.continue_token(t);
                }
                let built = if self.metadata_only { request.list_metadata(&lp) } else { request.list(&lp) };
                let req = built.map_err(|e| self.gap("error", format!("could not list {}: {e}", self.what())))?;
                let page = match tokio::time::timeout(self.request_timeout, self.client.request::<Value>(req)).await {
                    Err(_) => {
                        return Err(self.gap(
                            "timeout",
                            format!(
                                "could not list {}: no answer within {} s",
                                self.what(),
                                self.request_timeout.as_secs_f64()
                            ),
                        ));
                    }
                    Ok(Err(kube::Error::Api(s))) if s.code == 410 && restarts < MAX_RESTARTS => {
                        // The continue token expired (compaction): the list must start again.
                        restarts += 1;
                        continue 'list;
                    }
                    Ok(Err(kube::Error::Api(s))) if matches!(s.code, 429 | 503 | 504) && retries < MAX_RETRIES => {
                        // Busy or briefly unavailable: the same page again after a short pause.
                        retries += 1;
                        tokio::time::sleep(Duration::from_millis(200 << retries)).await;
                        continue;
                    }
                    Ok(Err(e)) => return Err(self.error_gap(&e)),
                    Ok(Ok(page)) => page,
                };
                token = self.take_page(page, &mut objects);
                if token.is_none() {
                    return Ok(objects);
                }
            }
        }
    }

    fn error_gap(&self, e: &kube::Error) -> Gap {
        let what = self.what();
        match e {
            kube::Error::Api(s) if s.code == 403 => {
                self.gap("forbidden", format!("could not list {what}: forbidden: {}", s.message))
            }
            kube::Error::Api(s) if s.code == 404 => {
                self.gap("not-found", format!("could not list {what}: not found: {}", s.message))
            }
            kube::Error::Api(s) if s.code == 410 => self.gap(
                "expired",
                format!("could not list {what}: the list kept expiring (410) after {MAX_RESTARTS} restarts"),
            ),
            kube::Error::Api(s) => {
                self.gap("error", format!("could not list {what}: {} {}: {}", s.code, s.reason, s.message))
            }
            other => self.gap("error", format!("could not list {what}: {other}")),
        }
    }

    /// Converts one page into objects and returns its continue token.
    fn take_page(&self, mut page: Value, objects: &mut Vec<Object>) -> Option<String> {
        let token =
            page.pointer("/metadata/continue").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
        let items = match page.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        drop(page);
        objects.reserve(items.len());
        // A list item that is not an object is no Kubernetes object: nothing to audit.
        for item in items.into_iter().filter(Value::is_object) {
            let body = self.clean(item);
            let uid = body.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
            objects.push(Object::from_body(body, Origin::Cluster { context: self.context.clone(), uid }));
        }
        token
    }

    /// An item as the model keeps it: typed (list items carry no `kind`), without managed fields
    /// or the last-applied copy, and metadata alone for metadata-only types.
    fn clean(&self, item: Value) -> Value {
        let Value::Object(mut map) = item else { return Value::Null };
        if self.metadata_only {
            map.retain(|k, _| k == "metadata");
        }
        map.insert("apiVersion".to_string(), Value::String(self.ar.api_version.clone()));
        map.insert("kind".to_string(), Value::String(self.ar.kind.clone()));
        let mut body = Value::Object(map);
        strip(&mut body);
        body
    }
}

/// Drops what a cluster adds that audits never read and snapshots should not carry:
/// `managedFields`, and the `last-applied-configuration` annotation (a full copy of the object,
/// Secret data included).
pub fn strip(body: &mut Value) {
    let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    meta.remove("managedFields");
    let empty = match meta.get_mut("annotations").and_then(Value::as_object_mut) {
        Some(annotations) => {
            annotations.remove(LAST_APPLIED);
            annotations.is_empty()
        }
        None => false,
    };
    if empty {
        meta.remove("annotations");
    }
}

/// The audit input of live reads: their objects (`Origin::Cluster`) and gaps.
#[must_use]
pub fn into_input(reads: Vec<ClusterRead>, errors: Vec<InputError>) -> Input {
    let mut input = Input { errors, ..Input::default() };
    for read in reads {
        input.objects.extend(read.objects);
        input.gaps.extend(read.gaps);
        input.usage.push(read.usage);
        input.logs.extend(read.logs);
        input.history.extend(read.history);
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strip_drops_managed_fields_and_last_applied() {
        let mut body = json!({"metadata": {"name": "a", "managedFields": [{}],
            "annotations": {LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}}});
        strip(&mut body);
        assert_eq!(body, json!({"metadata": {"name": "a"}}));
        let mut kept = json!({"metadata": {"annotations": {"a": "b", LAST_APPLIED: "{}"}}});
        strip(&mut kept);
        assert_eq!(kept, json!({"metadata": {"annotations": {"a": "b"}}}));
    }

    #[test]
    fn table_is_consistent() {
        for (i, a) in RESOURCES.iter().enumerate() {
            assert!(!RESOURCES[..i].iter().any(|b| b.group == a.group && b.plural == a.plural), "{a:?}");
        }
        assert!(RESOURCES.iter().filter(|r| r.metadata_only).all(|r| r.kind == "Secret"));
    }
}
