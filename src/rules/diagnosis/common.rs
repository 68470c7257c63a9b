//! What every diagnosis rule shares: the event index and the input's "now" (built once per
//! audit, see [`crate::rules::Context::live`]), the subject a diagnosis is reported on (the
//! top-most controller in the input), per-pod hits aggregated into one violation, and the
//! sub-classifiers (exit codes, image pull errors, scheduler messages).
//!
//! Time never comes from the clock: "now" is the latest timestamp in the input, so the same dump
//! always gives the same diagnoses.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::graph::Graph;
use crate::model::{Confidence, Diagnosis, Evidence, Hypothesis, Object, Severity};
use crate::quantity::Quantity;
use crate::rules::{Context, Violation};
use crate::yaml::PointerExt;

/// How long a failure that stopped (a pod Ready again) still counts: older ones are not reported.
pub const DECAY_SECS: i64 = 24 * 3600;
/// Slack past a deletion deadline before a pod counts as stuck terminating.
pub const TERMINATING_MARGIN_SECS: i64 = 60;
/// Longest event message or status message kept in evidence.
const MESSAGE_MAX: usize = 300;
/// Evidence items kept per hypothesis (the pods beyond are counted, not listed).
const EVIDENCE_MAX: usize = 24;

/// Seconds since the epoch as RFC 3339 (UTC, to the second).
#[must_use]
pub fn format_time(secs: u64) -> String {
    let day = civil_date(i64::try_from(secs / 86_400).unwrap_or(0));
    let s = secs % 86_400;
    format!("{day}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (Howard Hinnant's days-to-civil algorithm).
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp (`2023-07-11T04:43:25Z`,
/// `2023-07-11T04:43:25.123456+02:00`). `None` for anything else.
#[must_use]
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't')) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse::<i64>().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = frac.get(digits..)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            if rest.len() != 6 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se - offset)
}

/// A duration for people: `45s`, `12m`, `3h`, `2d`.
#[must_use]
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    if s < 120 {
        format!("{s}s")
    } else if s < 7200 {
        format!("{}m", s / 60)
    } else if s < 172_800 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// One event, read from either shape: core/v1 (`involvedObject`, `message`, `count`,
/// `lastTimestamp`) or events.k8s.io/v1 (`regarding`, `note`, `series`, `eventTime`).
#[derive(Debug, Clone)]
pub struct EventView {
    /// Index of the Event object.
    pub idx: usize,
    /// `Normal` or `Warning`.
    pub kind: String,
    /// `reason`.
    pub reason: String,
    /// `message` or `note`.
    pub message: String,
    /// How many times it happened (at least 1).
    pub count: u64,
    /// First time seen (RFC 3339), when recorded.
    pub first: Option<String>,
    /// Last time seen (RFC 3339), when recorded.
    pub last: Option<String>,
    /// The object it is about: kind, namespace, name, uid.
    pub about: (String, String, String, Option<String>),
    /// The container it is about (`spec.containers{app}` → `app`), when it names one.
    pub container: Option<String>,
}

impl EventView {
    fn read(idx: usize, o: &Object) -> Option<EventView> {
        if o.kind != "Event" {
            return None;
        }
        let b = &o.body;
        let about = b.get("involvedObject").or_else(|| b.get("regarding"))?;
        let s = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let kind = s(about.get("kind"))?;
        let name = s(about.get("name"))?;
        // Events live in their object's namespace; cluster-scoped objects' events in `default`.
        let ns = s(about.get("namespace")).unwrap_or_default();
        let count = b
            .ptr("/series/count")
            .or_else(|| b.get("count"))
            .or_else(|| b.get("deprecatedCount"))
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .max(1);
        let last = s(b.ptr("/series/lastObservedTime"))
            .or_else(|| s(b.get("lastTimestamp")))
            .or_else(|| s(b.get("deprecatedLastTimestamp")))
            .or_else(|| s(b.get("eventTime")))
            .or_else(|| s(b.get("firstTimestamp")))
            .or_else(|| s(b.ptr("/metadata/creationTimestamp")));
        let first = s(b.get("firstTimestamp"))
            .or_else(|| s(b.get("deprecatedFirstTimestamp")))
            .or_else(|| s(b.get("eventTime")))
            .or_else(|| last.clone());
        Some(EventView {
            idx,
            kind: s(b.get("type")).unwrap_or_else(|| "Normal".to_string()),
            reason: s(b.get("reason")).unwrap_or_default(),
            message: s(b.get("message")).or_else(|| s(b.get("note"))).unwrap_or_default(),
            count,
            first,
            last,
            container: s(about.get("fieldPath")).and_then(|f| {
                let inner = f.split_once('{')?.1.strip_suffix('}')?;
                Some(inner.to_string())
            }),
            about: (kind, ns, name, s(about.get("uid"))),
        })
    }

    /// The event as one evidence line: `Event/ns/name` = `Warning BackOff ×12, last T: message`.
    #[must_use]
    pub fn evidence(&self, cx: &Context<'_>) -> Evidence {
        let id = cx.object(self.idx).map(Object::display_id).unwrap_or_default();
        let last = self.last.as_deref().map(|t| format!(", last {t}")).unwrap_or_default();
        Evidence::note(id, format!("{} {} ×{}{}: {}", self.kind, self.reason, self.count, last, short(&self.message)))
    }
}

/// Events indexed once by the object they are about, and the input's "now".
#[derive(Debug, Default)]
pub struct LiveIndex {
    events: Vec<EventView>,
    by_uid: BTreeMap<String, Vec<usize>>,
    /// Kind → namespace → name: looked up with borrowed strings (no key built per lookup, which
    /// every diagnosis rule does for every pod).
    by_ref: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<usize>>>>,
    /// The latest timestamp in the input (seconds since the epoch), standing in for "now".
    pub now: Option<i64>,
    /// Whether the input holds any Event at all ("no recent events" is said only then).
    pub has_events: bool,
    /// Whether the input is live state (an Event, or an object with status), not only manifests:
    /// an absence (a Service missing) is a live failure only there.
    pub is_live: bool,
    /// Pods whose ReplicaSet is missing from the input → the Deployment that stands for them.
    pub implied_owner: BTreeMap<usize, usize>,
    /// The reverse: Deployment → those pods.
    pub implied_pods: BTreeMap<usize, Vec<usize>>,
}

impl LiveIndex {
    /// Indexes every Event by uid and by kind/namespace/name, and finds the latest timestamp.
    #[must_use]
    pub fn build(objects: &[Object], graph: &Graph) -> LiveIndex {
        let mut ix = LiveIndex::default();
        for &p in graph.of_kind("Pod") {
            if let Some(d) = implied(objects, graph, p) {
                ix.implied_owner.insert(p, d);
                ix.implied_pods.entry(d).or_default().push(p);
            }
        }
        let mut now: Option<i64> = None;
        let mut bump = |t: Option<&str>| {
            if let Some(t) = t.and_then(parse_time) {
                now = Some(now.map_or(t, |n| n.max(t)));
            }
        };
        for (i, o) in objects.iter().enumerate() {
            if let Some(e) = EventView::read(i, o) {
                bump(e.last.as_deref());
                let n = ix.events.len();
                if let Some(uid) = &e.about.3 {
                    ix.by_uid.entry(uid.clone()).or_default().push(n);
                }
                ix.by_ref
                    .entry(e.about.0.clone())
                    .or_default()
                    .entry(e.about.1.clone())
                    .or_default()
                    .entry(e.about.2.clone())
                    .or_default()
                    .push(n);
                ix.events.push(e);
                continue;
            }
            if let Some(status) = o.body.get("status") {
                ix.is_live |= status.as_object().is_some_and(|m| !m.is_empty());
                for t in timestamps(status) {
                    bump(Some(t));
                }
            }
            bump(o.get("/metadata/creationTimestamp").and_then(Value::as_str));
        }
        ix.has_events = !ix.events.is_empty();
        ix.is_live |= ix.has_events;
        ix.now = now;
        ix
    }

    /// Events about an object: by uid when both sides have one, else by kind, namespace and name.
    /// Sorted by last time, then input order.
    #[must_use]
    pub fn about(&self, o: &Object) -> Vec<&EventView> {
        let uid = o.get("/metadata/uid").and_then(Value::as_str);
        let ns = if o.cluster_scoped { "" } else { o.effective_namespace().unwrap_or("") };
        let mut hits: BTreeSet<usize> = BTreeSet::new();
        if let Some(u) = uid
            && let Some(v) = self.by_uid.get(u)
        {
            hits.extend(v);
        }
        let named = |ns: &str| {
            self.by_ref.get(&o.kind).and_then(|m| m.get(ns)).and_then(|m| m.get(&o.name)).map_or(&[][..], Vec::as_slice)
        };
        let mut by_name = named(ns);
        if by_name.is_empty() && o.cluster_scoped {
            // Events about cluster-scoped objects may carry the `default` namespace.
            by_name = named("default");
        }
        for &n in by_name {
            // An event naming another incarnation (same name, other uid) is not about this one.
            let other =
                matches!((uid, self.events.get(n).and_then(|e| e.about.3.as_deref())), (Some(a), Some(b)) if a != b);
            if !other {
                hits.insert(n);
            }
        }
        let mut out: Vec<&EventView> = hits.into_iter().filter_map(|n| self.events.get(n)).collect();
        out.sort_by(|a, b| (a.last.as_deref(), a.idx).cmp(&(b.last.as_deref(), b.idx)));
        out
    }

    /// Seconds from `t` to now, when both are known.
    #[must_use]
    pub fn age(&self, t: Option<&str>) -> Option<i64> {
        Some(self.now? - parse_time(t?)?)
    }
}

/// Every timestamp-looking string in a status subtree (iteratively: no recursion on input depth).
fn timestamps(v: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    let mut budget = 10_000usize;
    while let Some(n) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        match n {
            Value::String(s) if s.len() >= 20 && parse_time(s).is_some() => out.push(s.as_str()),
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(m) => stack.extend(m.values()),
            _ => {}
        }
    }
    out
}

/// A Kubernetes reason as a sub-class: `BackoffLimitExceeded` → `backoff-limit-exceeded`,
/// `OutOfcpu` → `out-of-cpu`, `PIDPressure` → `pid-pressure`.
#[must_use]
pub fn kebab(reason: &str) -> String {
    if let Some(rest) = reason.strip_prefix("OutOf") {
        return format!("out-of-{}", rest.to_ascii_lowercase());
    }
    let chars: Vec<char> = reason.chars().collect();
    let mut out = String::with_capacity(reason.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| chars.get(j));
        let next = chars.get(i + 1);
        let boundary = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if boundary {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A message cut to a readable length, on one line.
#[must_use]
pub fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= MESSAGE_MAX {
        return one;
    }
    let mut cut: String = one.chars().take(MESSAGE_MAX).collect();
    cut.push('…');
    cut
}

/// `Pod/ns/name` + a status field, as an evidence path.
#[must_use]
pub fn at(o: &Object, pointer: &str) -> String {
    format!("{} {pointer}", o.display_id())
}

/// Evidence of a field's value on an object, when set.
#[must_use]
pub fn field(o: &Object, pointer: &str) -> Option<Evidence> {
    let v = o.get(pointer)?;
    if v.is_null() {
        return None;
    }
    Some(Evidence::note(at(o, pointer), short(&crate::model::value_text(v))))
}

/// The status of a condition type (`True`, `False`, `Unknown`), with the condition itself.
#[must_use]
pub fn condition<'a>(o: &'a Object, kind: &str) -> Option<(usize, &'a Value)> {
    o.get("/status/conditions")?
        .as_array()?
        .iter()
        .enumerate()
        .find(|(_, c)| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// Whether a condition type has status `want`.
#[must_use]
pub fn condition_is(o: &Object, kind: &str, want: &str) -> bool {
    condition(o, kind).is_some_and(|(_, c)| c.get("status").and_then(Value::as_str) == Some(want))
}

/// A string field of a JSON value.
#[must_use]
pub fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.ptr(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// One container's status in a pod, with its JSON pointer.
#[derive(Debug, Clone, Copy)]
pub struct ContainerStatus<'a> {
    /// The status.
    pub value: &'a Value,
    /// `/status/containerStatuses/0`.
    pub path: &'a str,
    /// Init container (`initContainerStatuses`).
    pub init: bool,
}

impl<'a> ContainerStatus<'a> {
    /// `name`.
    #[must_use]
    pub fn name(&self) -> &'a str {
        s(self.value, "/name")
    }
    /// `state.waiting.reason`.
    #[must_use]
    pub fn waiting(&self) -> &'a str {
        s(self.value, "/state/waiting/reason")
    }
    /// The last termination: `state.terminated`, else `lastState.terminated`, with its pointer.
    #[must_use]
    pub fn terminated(&self) -> Option<(&'a Value, String)> {
        for rel in ["/state/terminated", "/lastState/terminated"] {
            if let Some(t) = self.value.ptr(rel).filter(|t| t.is_object()) {
                return Some((t, format!("{}{rel}", self.path)));
            }
        }
        None
    }
    /// `restartCount`.
    #[must_use]
    pub fn restarts(&self) -> u64 {
        self.value.get("restartCount").and_then(Value::as_u64).unwrap_or(0)
    }
    /// Running now.
    #[must_use]
    pub fn running(&self) -> bool {
        self.value.ptr("/state/running").is_some_and(Value::is_object)
    }
}

/// Paths of status pointers, kept alive for [`ContainerStatus::path`].
pub struct PodStatuses {
    items: Vec<(String, bool, usize)>,
}

impl PodStatuses {
    /// The container statuses of a pod (regular, then init).
    #[must_use]
    pub fn of(pod: &Object) -> PodStatuses {
        let mut items = Vec::new();
        for (key, init) in [("containerStatuses", false), ("initContainerStatuses", true)] {
            let n = pod.body.get("status").and_then(|s| s.get(key)).and_then(Value::as_array).map_or(0, Vec::len);
            for i in 0..n {
                items.push((format!("/status/{key}/{i}"), init, i));
            }
        }
        PodStatuses { items }
    }

    /// Iterates them over the pod.
    pub fn iter<'a>(&'a self, pod: &'a Object) -> impl Iterator<Item = ContainerStatus<'a>> {
        self.items
            .iter()
            .filter_map(|(p, init, _)| pod.get(p).map(|value| ContainerStatus { value, path: p.as_str(), init: *init }))
    }
}

/// What an exit code means, for the hypothesis: 1 app error, 2 misuse, 126, 127, 128+n signals.
#[must_use]
pub fn exit_code_meaning(code: i64) -> String {
    match code {
        0 => "exited successfully (exit code 0) but is expected to keep running".to_string(),
        1 => "the application exited with an error (exit code 1)".to_string(),
        2 => "misuse of a shell builtin or bad arguments (exit code 2)".to_string(),
        126 => "the command is not executable (exit code 126: permission or format)".to_string(),
        127 => "the command was not found (exit code 127: wrong command or missing binary)".to_string(),
        137 => "killed by SIGKILL (exit code 137: out of memory or a failed liveness probe)".to_string(),
        139 => "segmentation fault (exit code 139: SIGSEGV)".to_string(),
        143 => "terminated by SIGTERM (exit code 143: stopped or did not handle shutdown)".to_string(),
        c if c > 128 && c < 160 => format!("killed by signal {} (exit code {c})", c - 128),
        c => format!("the application exited with code {c}"),
    }
}

/// Image pull failure sub-class from the waiting reason and the pull messages.
#[must_use]
pub fn image_pull_subclass(reason: &str, messages: &[&str]) -> (&'static str, &'static str) {
    match reason {
        "InvalidImageName" => return ("invalid-name", "the image reference is not a valid image name"),
        "ErrImageNeverPull" => {
            return ("never-pull", "imagePullPolicy is Never and the image is not present on the node");
        }
        _ => {}
    }
    let text = messages.join("\n").to_ascii_lowercase();
    let has = |ws: &[&str]| ws.iter().any(|w| text.contains(w));
    if has(&["toomanyrequests", "429", "rate limit"]) {
        ("rate-limited", "the registry rate-limits pulls (429 toomanyrequests)")
    } else if has(&["not found", "manifest unknown", "name unknown", "repository does not exist", "no such image"]) {
        ("not-found", "the image or tag does not exist in the registry")
    } else if has(&["pull access denied", "unauthorized", "401", "403", "authentication required", "denied"]) {
        ("unauthorized", "the registry refused the credentials (check imagePullSecrets)")
    } else if has(&["exec format error", "no matching manifest"]) {
        ("platform", "the image has no variant for the node's platform")
    } else if has(&[
        "no such host",
        "i/o timeout",
        "dial tcp",
        "connection refused",
        "x509",
        "tls:",
        "network is unreachable",
        "deadline exceeded",
    ]) {
        ("unreachable", "the registry cannot be reached from the node (DNS, network or TLS)")
    } else {
        ("unknown", "the pull failed; the messages do not say why")
    }
}

/// One reason of a scheduler message: `3 Insufficient cpu`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedReason {
    /// Nodes that gave this reason.
    pub nodes: u64,
    /// The reason text.
    pub reason: String,
}

/// Parses `0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {k: v}.
/// preemption: ...` into the total node count and its reasons (most nodes first). Reasons without
/// a count (`pod has unbound immediate PersistentVolumeClaims`) count 0.
#[must_use]
pub fn parse_scheduler_message(msg: &str) -> Option<(u64, Vec<SchedReason>)> {
    let (head, rest) = msg.split_once(" nodes are available: ")?;
    let total: u64 = head.rsplit_once('/').map_or(head, |(_, t)| t).trim().parse().ok()?;
    let body = rest.split(" preemption:").next().unwrap_or(rest);
    let body = body.trim().trim_end_matches('.');
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for ch in body.chars() {
        match ch {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth <= 0 {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(ch);
        }
    }
    parts.push(cur);
    let mut out: Vec<SchedReason> = parts
        .iter()
        .map(|p| p.trim().trim_end_matches('.'))
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once(' ') {
            Some((n, r)) if n.parse::<u64>().is_ok() => {
                SchedReason { nodes: n.parse().unwrap_or(0), reason: r.trim().to_string() }
            }
            _ => SchedReason { nodes: 0, reason: p.to_string() },
        })
        .collect();
    out.sort_by(|a, b| b.nodes.cmp(&a.nodes).then_with(|| a.reason.cmp(&b.reason)));
    Some((total, out))
}

/// The sum of a pod's container requests (limits standing in) for one resource name.
#[must_use]
pub fn pod_request(pod: &Object, resource: &str) -> f64 {
    let Some(cs) = pod.get("/spec/containers").and_then(Value::as_array) else { return 0.0 };
    cs.iter()
        .filter_map(|c| {
            let r = c.get("resources")?;
            r.ptr(&format!("/requests/{}", resource.replace('/', "~1")))
                .or_else(|| r.ptr(&format!("/limits/{}", resource.replace('/', "~1"))))
                .and_then(Quantity::from_json)
        })
        .map(Quantity::value)
        .sum()
}

/// The largest allocatable amount of a resource on the Nodes of the input, with that node's name.
#[must_use]
pub fn max_allocatable(cx: &Context<'_>, resource: &str) -> Option<(f64, String)> {
    let mut best: Option<(f64, String)> = None;
    for &i in cx.graph.of_kind("Node") {
        let Some(n) = cx.object(i) else { continue };
        let key = resource.replace('/', "~1");
        let v = n.get(&format!("/status/allocatable/{key}")).and_then(Quantity::from_json).map_or(0.0, Quantity::value);
        if best.as_ref().is_none_or(|(b, name)| v > *b || (v == *b && n.name < *name)) {
            best = Some((v, n.name.clone()));
        }
    }
    best
}

/// Formats an amount of a resource for people.
#[must_use]
pub fn format_amount(resource: &str, v: f64) -> String {
    match resource {
        "cpu" => crate::quantity::format_cpu(v),
        "memory" | "ephemeral-storage" => crate::quantity::format_bytes(v),
        _ => {
            let r = (v * 100.0).round() / 100.0;
            format!("{r}")
        }
    }
}

/// What one pod (or one object) contributes to a diagnosis.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The container, for container-level classes: one diagnosis per container name.
    pub container: Option<String>,
    /// What happened, for the summary (`OOMKilled`, `CrashLoopBackOff`).
    pub what: String,
    /// Causes with their evidence, most likely first.
    pub hypotheses: Vec<Hypothesis>,
    /// When it started (RFC 3339), when known.
    pub since: Option<String>,
    /// How many times (restarts, event count), at least 1.
    pub count: u64,
    /// Caps the severity (old, recovered failures are info at most).
    pub cap: Option<Severity>,
}

impl Hit {
    /// A hit with one hypothesis.
    #[must_use]
    pub fn new(
        what: impl Into<String>,
        cause: impl Into<String>,
        confidence: Confidence,
        evidence: Vec<Evidence>,
    ) -> Hit {
        Hit {
            container: None,
            what: what.into(),
            hypotheses: vec![Hypothesis { cause: cause.into(), subclass: None, confidence, evidence }],
            since: None,
            count: 1,
            cap: None,
        }
    }

    /// Adds a hypothesis.
    #[must_use]
    pub fn or(mut self, cause: impl Into<String>, confidence: Confidence, evidence: Vec<Evidence>) -> Hit {
        self.hypotheses.push(Hypothesis { cause: cause.into(), subclass: None, confidence, evidence });
        self
    }

    /// Adds what the container's previous log says (`--logs`), when it was read and matched a
    /// class: one more hypothesis whose only evidence is the redacted matching line.
    #[must_use]
    pub fn previous_log(mut self, cx: &crate::rules::Context<'_>, pod: &Object, container: &str) -> Hit {
        if let Some(m) = cx.previous_log(pod, container) {
            self.hypotheses.push(m.hypothesis(&pod.display_id(), container));
        }
        self
    }

    /// Sets the sub-class of the last hypothesis.
    #[must_use]
    pub fn subclass(mut self, subclass: impl Into<String>) -> Hit {
        if let Some(h) = self.hypotheses.last_mut() {
            h.subclass = Some(subclass.into());
        }
        self
    }

    /// Caps the severity.
    #[must_use]
    pub fn cap(mut self, cap: Option<Severity>) -> Hit {
        self.cap = cap;
        self
    }

    /// For one container.
    #[must_use]
    pub fn container(mut self, name: &str) -> Hit {
        self.container = Some(name.to_string());
        self
    }

    /// Since when.
    #[must_use]
    pub fn since(mut self, t: Option<&str>) -> Hit {
        self.since = t.filter(|t| !t.is_empty()).map(str::to_string);
        self
    }

    /// How often.
    #[must_use]
    pub fn count(mut self, n: u64) -> Hit {
        self.count = n.max(1);
        self
    }
}

/// Whether a diagnosis for object `idx` is reported here: it is a workload with no controller in
/// the input (Deployment, StatefulSet, DaemonSet, CronJob, Job, a bare ReplicaSet or Pod). The
/// pods it stands for, with the total count. `None` when the object is reported on its owner.
#[must_use]
pub fn subject_pods(cx: &Context<'_>, idx: usize) -> Option<Vec<usize>> {
    let o = cx.object(idx)?;
    if cx.graph.controller(idx).is_some() {
        return None;
    }
    if o.kind == "Pod" {
        return implied_deployment(cx, idx).is_none().then(|| vec![idx]);
    }
    cx.template(idx)?;
    let mut pods: Vec<usize> = cx.graph.controlled(idx);
    if o.kind == "Deployment" {
        pods.extend(cx.live().implied_pods.get(&idx).into_iter().flatten().copied());
        pods.sort_unstable();
        pods.dedup();
    }
    Some(pods.into_iter().filter(|&i| cx.object(i).is_some_and(|p| p.kind == "Pod" && !skipped_pod(cx, i))).collect())
}

/// The Deployment standing for a pod whose ReplicaSet is missing from the input.
#[must_use]
pub fn implied_deployment(cx: &Context<'_>, idx: usize) -> Option<usize> {
    cx.live().implied_owner.get(&idx).copied()
}

/// The Deployment of a pod whose ReplicaSet is missing from the input (`kubectl get pods,deploy`):
/// the ReplicaSet is named `<deployment>-<pod-template-hash>`, and the pod carries that hash.
fn implied(objects: &[Object], graph: &Graph, idx: usize) -> Option<usize> {
    let p = objects.get(idx).filter(|o| o.kind == "Pod")?;
    if graph.controller(idx).is_some() {
        return None;
    }
    let owner = crate::workload::controller_ref(p).filter(|r| r.kind == "ReplicaSet" && r.group() == "apps")?;
    let hash = p.get("/metadata/labels/pod-template-hash").and_then(Value::as_str)?;
    let name = owner.name.strip_suffix(hash)?.strip_suffix('-')?;
    // A ReplicaSet of that name in the input would be the controller already; it is absent.
    graph.find("ReplicaSet", p.effective_namespace(), owner.name).is_none().then_some(())?;
    let d = graph.find("Deployment", p.effective_namespace(), name)?;
    graph.controller(d).is_none().then_some(d)
}

/// Pods no diagnosis looks at: terminating within their grace period (they are going away on
/// purpose), and pods of a Job that completed (failed attempts before a success are not failures).
#[must_use]
pub fn skipped_pod(cx: &Context<'_>, idx: usize) -> bool {
    let Some(p) = cx.object(idx) else { return true };
    if terminating_in_grace(cx, p) {
        return true;
    }
    let mut cur = idx;
    for _ in 0..8 {
        let Some(c) = cx.graph.controller(cur) else { break };
        if cx.object(c).is_some_and(|o| o.kind == "Job" && job_completed(o)) {
            return true;
        }
        cur = c;
    }
    false
}

/// A Job that finished successfully, whatever failed on the way (k8sgpt#1723).
#[must_use]
pub fn job_completed(o: &Object) -> bool {
    condition_is(o, "Complete", "True") || condition_is(o, "SuccessCriteriaMet", "True")
}

/// A pod being deleted whose deadline (`deletionTimestamp`, which already includes the grace
/// period) has not passed by more than the margin.
#[must_use]
pub fn terminating_in_grace(cx: &Context<'_>, p: &Object) -> bool {
    let Some(del) = p.get("/metadata/deletionTimestamp").and_then(Value::as_str) else { return false };
    match cx.live().age(Some(del)) {
        Some(age) => age <= TERMINATING_MARGIN_SECS,
        // No clock to compare with: assume it is still within its grace period.
        None => true,
    }
}

/// The JSON pointer of a container in the subject's pod template (or the pod itself), found by
/// name, for the finding's location and manifest link; `/status` when it is not there.
#[must_use]
pub fn container_path(cx: &Context<'_>, idx: usize, name: &str) -> String {
    if let Some(w) = cx.template(idx) {
        for c in w.containers() {
            if c.name() == name {
                return c.path.to_string();
            }
        }
    }
    "/status".to_string()
}

/// Runs `detect` on every pod a subject stands for and reports one violation per container (or
/// one for the subject), aggregating pods: "in 3 of 5 pods". `path` is where a subject-level hit
/// is reported.
pub fn report_pods(
    cx: &Context<'_>,
    idx: usize,
    class: &str,
    path: &str,
    out: &mut Vec<Violation>,
    detect: impl Fn(&Context<'_>, usize, &Object) -> Vec<Hit>,
) {
    let Some(pods) = subject_pods(cx, idx) else { return };
    if pods.is_empty() {
        return;
    }
    let mut hits: Vec<Hit> = Vec::new();
    let mut pods_hit: BTreeMap<Option<String>, BTreeSet<usize>> = BTreeMap::new();
    for &p in &pods {
        let Some(pod) = cx.object(p) else { continue };
        if p != idx && skipped_pod(cx, p) {
            continue;
        }
        if p == idx && skipped_pod(cx, p) {
            return;
        }
        let found = detect(cx, p, pod);
        if found.is_empty() {
            continue;
        }
        // Built only for a pod with hits: every diagnosis rule visits every pod.
        let uid = field(pod, "/metadata/uid");
        for mut h in found {
            pods_hit.entry(h.container.clone()).or_default().insert(p);
            // The pod's UID first: names are reused, UIDs say which incarnation failed.
            if let (Some(u), Some(first)) = (&uid, h.hypotheses.first_mut()) {
                first.evidence.insert(0, u.clone());
            }
            hits.push(h);
        }
    }
    let total = pods.len();
    report_hits(cx, idx, class, path, hits, |c| pods_hit.get(c).map_or(0, BTreeSet::len), total, out);
}

/// Reports hits on one subject: grouped by container, hypotheses merged by cause.
#[allow(clippy::too_many_arguments)]
pub fn report_hits(
    cx: &Context<'_>,
    idx: usize,
    class: &str,
    path: &str,
    hits: Vec<Hit>,
    affected: impl Fn(&Option<String>) -> usize,
    total: usize,
    out: &mut Vec<Violation>,
) {
    let Some(subject) = cx.object(idx) else { return };
    let mut groups: BTreeMap<Option<String>, Vec<Hit>> = BTreeMap::new();
    for h in hits {
        groups.entry(h.container.clone()).or_default().push(h);
    }
    for (container, hs) in groups {
        let n = affected(&container);
        // Counts come from the input: saturate rather than overflow.
        let count: u64 = hs.iter().fold(0u64, |a, h| a.saturating_add(h.count)).max(1);
        let since = hs.iter().filter_map(|h| h.since.clone()).min_by_key(|t| parse_time(t).unwrap_or(i64::MAX));
        let cap = if hs.iter().all(|h| h.cap.is_some()) { hs.iter().filter_map(|h| h.cap).max() } else { None };
        let mut whats: Vec<String> = hs.iter().map(|h| h.what.clone()).collect();
        whats.sort();
        whats.dedup();
        let mut merged: Vec<Hypothesis> = Vec::new();
        for h in hs {
            for hy in h.hypotheses {
                match merged.iter_mut().find(|m| m.cause == hy.cause) {
                    Some(m) => {
                        m.confidence = m.confidence.max(hy.confidence);
                        for e in hy.evidence {
                            if m.evidence.len() < EVIDENCE_MAX && !m.evidence.contains(&e) {
                                m.evidence.push(e);
                            }
                        }
                    }
                    None => merged.push(Hypothesis {
                        cause: hy.cause,
                        subclass: hy.subclass,
                        confidence: hy.confidence,
                        evidence: hy.evidence.into_iter().take(EVIDENCE_MAX).collect(),
                    }),
                }
            }
        }
        // Most likely first; ties keep the order the rule gave.
        merged.sort_by_key(|h| std::cmp::Reverse(h.confidence));
        let scope = if subject.kind == "Pod" || total == 0 {
            String::new()
        } else {
            format!(" in {n} of {total} pod{}", if total == 1 { "" } else { "s" })
        };
        let who = container.as_deref().map(|c| format!("container {c}: ")).unwrap_or_default();
        let summary = format!("{who}{}{scope}", whats.join(", "));
        let top = merged.first().map(|h| h.cause.clone()).unwrap_or_default();
        let times = if count > 1 { format!(", {count} times") } else { String::new() };
        let message = format!("{} {}: {summary}{times}; likely cause: {top}", subject.kind, subject.name);
        let p = match &container {
            Some(c) => container_path(cx, idx, c),
            None => path.to_string(),
        };
        let mut v = Violation::new(p, message);
        v.evidence = merged.first().map(|h| h.evidence.clone()).unwrap_or_default();
        if !cx.live().has_events {
            v.evidence.push(Evidence::note("events", "no events in the input (events expire after about an hour)"));
        }
        v.severity_cap = cap;
        v.diagnosis =
            Some(Diagnosis { class: class.to_string(), summary, since, count, hypotheses: merged, manifest: None });
        out.push(v);
    }
}

/// Reports one object-level diagnosis (Node, PVC, Deployment conditions ...).
pub fn report_object(cx: &Context<'_>, idx: usize, class: &str, path: &str, hit: Hit, out: &mut Vec<Violation>) {
    report_hits(cx, idx, class, path, vec![hit], |_| 0, 0, out);
}

/// For a failure that stopped (the container runs again and the pod is Ready): `None` when it
/// finished longer ago than [`DECAY_SECS`] (not reported), `Some(Some(Info))` while recent (info
/// at most); `Some(None)` for a failure that is current.
#[must_use]
pub fn recovery(
    cx: &Context<'_>,
    pod: &Object,
    c: &ContainerStatus<'_>,
    finished: Option<&str>,
) -> Option<Option<Severity>> {
    if !c.running() || !condition_is(pod, "Ready", "True") {
        return Some(None);
    }
    match cx.live().age(finished) {
        Some(age) if age > DECAY_SECS => None,
        _ => Some(Some(Severity::Info)),
    }
}

/// A container's spec in a pod, by name (regular or init), with its JSON pointer.
#[must_use]
pub fn container_spec<'a>(pod: &'a Object, name: &str) -> Option<(&'a Value, String)> {
    for key in ["containers", "initContainers"] {
        let Some(cs) = pod.get(&format!("/spec/{key}")).and_then(Value::as_array) else { continue };
        for (i, c) in cs.iter().enumerate() {
            if c.get("name").and_then(Value::as_str) == Some(name) {
                return Some((c, format!("/spec/{key}/{i}")));
            }
        }
    }
    None
}

/// Evidence of the events about an object with one of the reasons, with their total count and
/// the earliest first time.
#[must_use]
pub fn event_evidence(cx: &Context<'_>, events: &[&EventView]) -> (Vec<Evidence>, u64, Option<String>) {
    let ev = events.iter().map(|e| e.evidence(cx)).collect();
    let count = events.iter().fold(0u64, |a, e| a.saturating_add(e.count));
    let first = events.iter().filter_map(|e| e.first.clone()).min_by_key(|t| parse_time(t).unwrap_or(i64::MAX));
    (ev, count, first)
}

/// The pod's phase.
#[must_use]
pub fn phase(pod: &Object) -> &str {
    s(&pod.body, "/status/phase")
}

/// Whether an object carries live status (a dump), not only a manifest.
#[must_use]
pub fn has_status(o: &Object) -> bool {
    o.body.get("status").and_then(Value::as_object).is_some_and(|m| !m.is_empty())
}

/// The objects a top-level subject stands for (itself first, then what it controls), or `None`
/// when the object is reported on its controller.
#[must_use]
pub fn subject_family(cx: &Context<'_>, idx: usize) -> Option<Vec<usize>> {
    if cx.graph.controller(idx).is_some() {
        return None;
    }
    let mut v = vec![idx];
    v.extend(cx.graph.controlled(idx));
    Some(v)
}

/// Events about a pod with one of the reasons, as evidence, with their total count and first time.
#[must_use]
pub fn events_with<'a>(cx: &'a Context<'_>, o: &Object, reasons: &[&str]) -> Vec<&'a EventView> {
    cx.live().about(o).into_iter().filter(|e| reasons.contains(&e.reason.as_str())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_as_kubernetes_writes_them() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2023-07-11T04:43:25Z"), Some(1_689_050_605));
        assert_eq!(parse_time("2023-07-11T04:43:25.123456Z"), Some(1_689_050_605));
        assert_eq!(parse_time("2023-07-11T06:43:25+02:00"), Some(1_689_050_605));
        for bad in ["", "2023-07-11", "2023-13-11T04:43:25Z", "2023-07-11T04:43:25", "yesterday at noon!!"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(human_duration(3 * 3600 + 5), "3h");
        assert_eq!(kebab("BackoffLimitExceeded"), "backoff-limit-exceeded");
        assert_eq!(kebab("OutOfcpu"), "out-of-cpu");
        assert_eq!(kebab("PIDPressure"), "pid-pressure");
        assert_eq!(kebab("FailedGetResourceMetric"), "failed-get-resource-metric");
    }

    #[test]
    fn scheduler_messages_split_into_reasons() {
        let msg = "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: , dedicated: gpu}. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.";
        let (total, reasons) = parse_scheduler_message(msg).expect("parsed");
        assert_eq!(total, 5);
        assert_eq!(
            reasons,
            vec![
                SchedReason { nodes: 3, reason: "Insufficient cpu".into() },
                SchedReason {
                    nodes: 2,
                    reason: "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: , dedicated: gpu}"
                        .into()
                },
            ]
        );
        let (_, r) = parse_scheduler_message(
            "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: x",
        )
        .expect("parsed");
        assert_eq!(
            r,
            vec![SchedReason { nodes: 0, reason: "pod has unbound immediate PersistentVolumeClaims".into() }]
        );
        assert!(parse_scheduler_message("no nodes here").is_none());
    }

    #[test]
    fn image_pull_errors_are_subclassified() {
        let sub = |m: &str| image_pull_subclass("ErrImagePull", &[m]).0;
        assert_eq!(sub("manifest for nginx:1.299 not found: manifest unknown"), "not-found");
        assert_eq!(
            sub("pull access denied for acme/x, repository does not exist or may require 'docker login'"),
            "not-found"
        );
        assert_eq!(sub("failed to authorize: 401 Unauthorized"), "unauthorized");
        assert_eq!(sub("429 Too Many Requests - Server message: toomanyrequests: rate limit"), "rate-limited");
        assert_eq!(sub("dial tcp: lookup registry.local: no such host"), "unreachable");
        assert_eq!(sub("no matching manifest for linux/arm64 in the manifest list entries"), "platform");
        assert_eq!(sub("something else"), "unknown");
        assert_eq!(image_pull_subclass("InvalidImageName", &[]).0, "invalid-name");
    }

    #[test]
    fn exit_codes_say_what_they_mean() {
        for (code, word) in [
            (1, "error"),
            (2, "misuse"),
            (126, "not executable"),
            (127, "not found"),
            (137, "SIGKILL"),
            (139, "SIGSEGV"),
            (143, "SIGTERM"),
            (130, "signal 2"),
        ] {
            assert!(exit_code_meaning(code).contains(word), "{code}: {}", exit_code_meaning(code));
        }
    }

    #[test]
    fn now_is_the_latest_timestamp_of_the_input() {
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z",
            "deletionTimestamp": "2027-01-01T00:00:00Z"},
            "status": {"containerStatuses": [{"state": {"running": {"startedAt": "2026-01-02T00:00:00Z"}}}]}});
        let ev = serde_json::json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "BackOff", "count": 3,
            "lastTimestamp": "2026-01-03T00:00:00Z"});
        let origin = || crate::model::Origin::File { path: "t".into(), document: 0, prefix: String::new() };
        let objects = vec![Object::from_body(pod, origin()), Object::from_body(ev, origin())];
        let graph = Graph::build(&objects);
        let ix = LiveIndex::build(&objects, &graph);
        // The deletion deadline is a future time, not an observation: it does not move "now".
        assert_eq!(ix.now, parse_time("2026-01-03T00:00:00Z"));
        let about = ix.about(&objects[0]);
        assert_eq!(about.len(), 1);
        assert_eq!((about[0].reason.as_str(), about[0].count), ("BackOff", 3));
    }
}
