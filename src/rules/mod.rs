//! The rule engine's contract: rule metadata, the check context, and the registry.
//!
//! One file per rule, grouped by area. Each file declares its rule with [`declare_rule!`],
//! whose doc comment is the user documentation (`clustergpt rules explain ID`).
//! Checks read the object, the graph and settings; they never do I/O.

use serde_json::Value;

use crate::graph::Graph;
use crate::model::{Applicability, Area, Diagnosis, Evidence, Fix, Object, Severity};
use crate::quantity::Quantity;
use crate::workload::{Container, Workload};

pub mod architecture;
pub mod container;
pub mod cost;
pub mod diagnosis;
pub mod reliability;
pub mod schema;
pub mod security;
mod selection;

pub use selection::{select, selector_hits, selector_is_known};

/// The same check in other tools, so users can migrate and results can be compared.
#[derive(Debug, Clone, Copy)]
pub struct Equivalents {
    /// Polaris check IDs.
    pub polaris: &'static [&'static str],
    /// kube-score check names.
    pub kube_score: &'static [&'static str],
    /// kube-linter check names.
    pub kube_linter: &'static [&'static str],
    /// Checkov CKV ids.
    pub checkov: &'static [&'static str],
    /// Trivy KSV ids.
    pub trivy: &'static [&'static str],
}

impl Equivalents {
    /// No equivalents.
    pub const NONE: Equivalents =
        Equivalents { polaris: &[], kube_score: &[], kube_linter: &[], checkov: &[], trivy: &[] };
}

/// Everything about a rule except its check.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    /// Stable id: area prefix + number (`SEC001`).
    pub id: &'static str,
    /// Kebab-case name (`privileged-container`).
    pub name: &'static str,
    /// Area.
    pub area: Area,
    /// Default severity.
    pub severity: Severity,
    /// Runs unless deselected.
    pub default_enabled: bool,
    /// One line on what it checks.
    pub summary: &'static str,
    /// Full docs (What it checks / Why it matters / Example / Fix), from the rule's doc comment.
    pub doc: &'static str,
    /// The most permissive applicability its fixes may have (safe, then unsafe, then display-only):
    /// a rule declared unsafe may also emit display-only fixes, never safe ones. `None` when it
    /// never emits a fix. `tests/rule_fixtures.rs` checks every rule's fixtures against it.
    pub fix: Option<Applicability>,
    /// Equivalent checks in other tools.
    pub equivalents: Equivalents,
}

impl RuleMeta {
    /// The doc comment with the one leading space rustdoc keeps removed from each line.
    #[must_use]
    pub fn doc_text(&self) -> String {
        let mut out = String::new();
        for line in self.doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out.trim_end().to_string()
    }
}

/// Declares a rule: a unit struct documented by the doc comment, with its metadata as `META`.
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $ty:ident;
        meta { $($field:ident : $value:expr),* $(,)? }
    ) => {
        $(#[doc = $doc])*
        $vis struct $ty;
        impl $ty {
            /// The rule's metadata.
            pub const META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
                doc: concat!($($doc, "\n"),*),
                $($field: $value),*
            };
        }
    };
}

/// Settings rules read (from `.clustergpt.yaml`, `rules:` section).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSettings {
    /// CPU of the largest node a pod may land on, in cores.
    pub node_cpu: f64,
    /// Memory of that node, in bytes.
    pub node_memory: f64,
    /// CPU request (cores) above which a workload without an HPA is flagged.
    pub high_cpu_request: f64,
    /// Require `priorityClassName` on workloads.
    pub require_priority_class: bool,
    /// Registries images must come from (empty: any).
    pub allowed_registries: Vec<String>,
    /// Default CPU request used by fixes.
    pub default_cpu_request: String,
    /// Default memory request used by fixes.
    pub default_memory_request: String,
    /// Default CPU limit used by fixes.
    pub default_cpu_limit: String,
    /// Default memory limit used by fixes.
    pub default_memory_limit: String,
    /// Right-sizing (CST005): the CPU usage percentile a request should cover.
    pub rightsize_cpu_percentile: f64,
    /// Right-sizing: memory request and limit = peak working set + this many percent.
    pub rightsize_memory_buffer: f64,
    /// Right-sizing: containers with less history than this (hours) are not judged.
    pub rightsize_min_hours: f64,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            node_cpu: 4.0,
            node_memory: 16.0 * 1024.0 * 1024.0 * 1024.0,
            high_cpu_request: 1.0,
            require_priority_class: false,
            allowed_registries: Vec::new(),
            default_cpu_request: "100m".to_string(),
            default_memory_request: "128Mi".to_string(),
            default_cpu_limit: "500m".to_string(),
            default_memory_limit: "512Mi".to_string(),
            rightsize_cpu_percentile: 95.0,
            rightsize_memory_buffer: 15.0,
            rightsize_min_hours: 24.0,
        }
    }
}

/// What a check sees: every object, the graph, settings.
pub struct Context<'a> {
    /// All objects of the audit.
    pub objects: &'a [Object],
    /// The object graph.
    pub graph: &'a Graph,
    /// Settings.
    pub settings: &'a RuleSettings,
    /// Built on first use: `fix` checks a few objects against a context over all of them.
    templates: Cells<Option<Workload<'a>>>,
    /// Ownership evidence per object, computed on first use (many findings on one object ask).
    owns: Cells<Option<Evidence>>,
    /// Events by object and the input's "now", built on first use by a diagnosis rule.
    live: std::sync::OnceLock<diagnosis::common::LiveIndex>,
    /// The same, built by the caller: `fix` checks a few objects at a time and keeps the index
    /// while its edits cannot change it.
    shared_live: Option<&'a diagnosis::common::LiveIndex>,
    /// Classified previous logs of crashing containers (`--logs`), empty otherwise.
    logs: &'a [diagnosis::logs::PreviousLog],
    /// Usage histories (`--prometheus`), empty otherwise.
    history: &'a [crate::cost::prometheus::UsageHistory],
    /// Ids of the rules this audit runs, when known: a rule that defers an overlapping problem to
    /// another (see docs/rules.md) only does so when that one runs.
    selected: Option<Vec<&'static str>>,
}

/// One value per object, computed on first use, in pages allocated on first use: `fix` checks a
/// few objects against a context over all of them, many times.
struct Cells<T> {
    pages: Vec<std::sync::OnceLock<Box<[std::sync::OnceLock<T>]>>>,
}

/// Objects per page of [`Cells`].
const PAGE: usize = 64;

impl<T> Cells<T> {
    fn new(len: usize) -> Cells<T> {
        Cells { pages: (0..len.div_ceil(PAGE)).map(|_| std::sync::OnceLock::new()).collect() }
    }

    fn get(&self, idx: usize) -> Option<&std::sync::OnceLock<T>> {
        let page = self.pages.get(idx / PAGE)?.get_or_init(|| (0..PAGE).map(|_| std::sync::OnceLock::new()).collect());
        page.get(idx % PAGE)
    }
}

/// How many controlled objects an ownership evidence line names before it says "and N more".
const OWNED_SHOWN: usize = 5;

impl<'a> Context<'a> {
    /// Prepares a context over objects.
    #[must_use]
    pub fn new(objects: &'a [Object], graph: &'a Graph, settings: &'a RuleSettings) -> Context<'a> {
        let templates = Cells::new(objects.len());
        let owns = Cells::new(objects.len());
        Context {
            objects,
            graph,
            settings,
            templates,
            owns,
            live: std::sync::OnceLock::new(),
            shared_live: None,
            logs: &[],
            history: &[],
            selected: None,
        }
    }

    /// The same context knowing which rules run.
    #[must_use]
    pub fn with_selected(mut self, rules: &[&'static dyn Rule]) -> Context<'a> {
        self.selected = Some(rules.iter().map(|r| r.meta().id).collect());
        self
    }

    /// Whether rule `id` runs in this audit (true when unknown).
    #[must_use]
    pub fn runs(&self, id: &str) -> bool {
        self.selected.as_ref().is_none_or(|ids| ids.contains(&id))
    }

    /// The same context with the events index already built over the same objects.
    #[must_use]
    pub fn with_live(mut self, live: Option<&'a diagnosis::common::LiveIndex>) -> Context<'a> {
        self.shared_live = live;
        self
    }

    /// The same context with the classified previous logs a live read (or its snapshot) carried.
    #[must_use]
    pub fn with_logs(mut self, logs: &'a [diagnosis::logs::PreviousLog]) -> Context<'a> {
        self.logs = logs;
        self
    }

    /// The same context with the usage histories read from Prometheus (or a snapshot of them).
    #[must_use]
    pub fn with_history(mut self, history: &'a [crate::cost::prometheus::UsageHistory]) -> Context<'a> {
        self.history = history;
        self
    }

    /// Usage histories: empty unless `--prometheus` was given (or a snapshot carried them).
    #[must_use]
    pub fn history(&self) -> &'a [crate::cost::prometheus::UsageHistory] {
        self.history
    }

    /// What the previous log of `container` in `pod` says, when it was read and classified.
    #[must_use]
    pub fn previous_log(&self, pod: &Object, container: &str) -> Option<&'a diagnosis::logs::LogMatch> {
        let uid = pod.origin.uid().filter(|u| !u.is_empty())?;
        self.logs.iter().find(|l| l.uid == uid && l.container == container).map(|l| &l.found)
    }

    /// The workload view of object `idx`, for the rules that check its pod template: `None` when
    /// it has no pod spec, and when its controller is in the input (a ReplicaSet or Pod of a
    /// Deployment in the same dump): the template's findings are reported once, on the top-most
    /// controller (see [`Context::ownership_evidence`]).
    #[must_use]
    pub fn workload(&self, idx: usize) -> Option<&Workload<'a>> {
        self.template(idx).filter(|w| w.has_pod_spec && self.graph.controller(idx).is_none())
    }

    /// The workload view of any object with a pod template, controlled or not, with or without a
    /// pod spec: for cross-object rules that match selectors or count replicas.
    #[must_use]
    pub fn template(&self, idx: usize) -> Option<&Workload<'a>> {
        let (cell, o) = (self.templates.get(idx)?, self.objects.get(idx)?);
        cell.get_or_init(|| Workload::template(o)).as_ref()
    }

    /// Events indexed by the object they are about, and the input's "now": built once per audit.
    #[must_use]
    pub fn live(&self) -> &diagnosis::common::LiveIndex {
        if let Some(live) = self.shared_live {
            return live;
        }
        self.live.get_or_init(|| diagnosis::common::LiveIndex::build(self.objects, self.graph))
    }

    /// Object `idx`.
    #[must_use]
    pub fn object(&self, idx: usize) -> Option<&'a Object> {
        self.objects.get(idx)
    }

    /// The objects a workload controls in the input, as one evidence line (`owns` = `ReplicaSet/ns/a,
    /// Pod/ns/a-x, ...`), when it controls any.
    #[must_use]
    pub fn ownership_evidence(&self, idx: usize) -> Option<Evidence> {
        self.owns.get(idx)?.get_or_init(|| self.compute_ownership_evidence(idx)).clone()
    }

    fn compute_ownership_evidence(&self, idx: usize) -> Option<Evidence> {
        let controlled = self.graph.controlled(idx);
        if controlled.is_empty() {
            return None;
        }
        let mut names: Vec<String> =
            controlled.iter().take(OWNED_SHOWN).filter_map(|&i| self.object(i)).map(Object::display_id).collect();
        if controlled.len() > OWNED_SHOWN {
            names.push(format!("and {} more", controlled.len() - OWNED_SHOWN));
        }
        Some(Evidence::note("owns", names.join(", ")))
    }

    /// What the engine does with the violations a rule reported on object `idx`: drops those on
    /// fields the API server writes (`status`, `metadata.managedFields`, generated labels, the
    /// injected token volume: see [`crate::kinds::is_server_populated`]), which no configuration
    /// change can fix, and adds the ownership evidence to those inside the pod template.
    pub fn after_check(&self, idx: usize, violations: &mut Vec<Violation>) {
        let Some(o) = self.object(idx) else { return };
        violations.retain(|v| !crate::kinds::is_server_populated(&o.kind, &o.body, &v.path));
        self.annotate_ownership(idx, violations);
    }

    /// Adds the ownership evidence to violations inside the pod template: those findings stand for
    /// the controlled ReplicaSets and Pods too, which are not checked on their own.
    fn annotate_ownership(&self, idx: usize, violations: &mut [Violation]) {
        let Some(w) = self.template(idx) else { return };
        // The template root: `/spec/template` of `/spec/template/metadata`.
        let root = w.pod_meta_path.strip_suffix("/metadata").unwrap_or_default();
        if root.is_empty() || violations.is_empty() {
            return;
        }
        let Some(e) = self.ownership_evidence(idx) else { return };
        for v in violations.iter_mut() {
            let under = v.path.strip_prefix(root).is_some_and(|r| r.is_empty() || r.starts_with('/'));
            if under {
                v.evidence.push(e.clone());
            }
        }
    }
}

/// One problem a check found; the engine turns it into a [`crate::model::Finding`].
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// JSON pointer of the field at fault (or the deepest existing parent for missing fields).
    pub path: String,
    /// What is wrong, specific to this object.
    pub message: String,
    /// Facts behind it.
    pub evidence: Vec<Evidence>,
    /// A deterministic fix.
    pub fix: Option<Fix>,
    /// The diagnosis, for live-failure rules.
    pub diagnosis: Option<Diagnosis>,
    /// The most severe this finding may be (an old, recovered failure is info at most).
    pub severity_cap: Option<Severity>,
}

impl Violation {
    /// A violation at a path.
    #[must_use]
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Violation {
        Violation {
            path: path.into(),
            message: message.into(),
            evidence: Vec::new(),
            fix: None,
            diagnosis: None,
            severity_cap: None,
        }
    }

    /// Adds evidence.
    #[must_use]
    pub fn evidence(mut self, e: Evidence) -> Violation {
        self.evidence.push(e);
        self
    }

    /// Sets the fix.
    #[must_use]
    pub fn fix(mut self, fix: Fix) -> Violation {
        self.fix = Some(fix);
        self
    }
}

/// A rule.
pub trait Rule: Send + Sync {
    /// Its metadata.
    fn meta(&self) -> &'static RuleMeta;
    /// Checks object `idx` of `cx.objects`, pushing violations for that object only.
    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>);
    /// Whether settings turn this rule on although it is off by default
    /// (e.g. `require_priority_class` for the priority-class rule). Only consulted when no `select` is given.
    fn enabled_by_settings(&self, _settings: &RuleSettings) -> bool {
        false
    }
}

/// Every rule, in id order.
#[must_use]
pub fn registry() -> &'static [&'static dyn Rule] {
    static REGISTRY: std::sync::LazyLock<Vec<&'static dyn Rule>> = std::sync::LazyLock::new(|| {
        let mut all: Vec<&'static dyn Rule> = Vec::new();
        for area in
            [reliability::RULES, security::RULES, cost::RULES, architecture::RULES, schema::RULES, diagnosis::RULES]
        {
            all.extend_from_slice(area);
        }
        all.sort_by_key(|r| r.meta().id);
        all
    });
    &REGISTRY
}

/// Looks up a rule by id or name (case-insensitive for ids).
#[must_use]
pub fn find(id_or_name: &str) -> Option<&'static dyn Rule> {
    registry().iter().copied().find(|r| r.meta().id.eq_ignore_ascii_case(id_or_name) || r.meta().name == id_or_name)
}

// Helpers shared by rules.

/// A container's resource quantity (`requests`/`limits`, `cpu`/`memory`) if set and parseable.
#[must_use]
pub fn container_resource(c: &Container<'_>, section: &str, resource: &str) -> Option<Quantity> {
    c.value.get("resources")?.get(section)?.get(resource).and_then(Quantity::from_json)
}

/// Whether a JSON value is `true`.
#[must_use]
pub fn is_true(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool) == Some(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Origin;

    #[test]
    fn the_engine_drops_violations_on_server_written_fields() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": "p", "labels": { "pod-template-hash": "abc" } },
            "spec": { "containers": [{ "name": "c", "image": "i" }] },
            "status": { "phase": "Running" },
        });
        let objects =
            vec![Object::from_body(pod, Origin::File { path: "t".into(), document: 0, prefix: String::new() })];
        let graph = Graph::build(&objects);
        let settings = RuleSettings::default();
        let cx = Context::new(&objects, &graph, &settings);
        let mut v = vec![
            Violation::new("/status/phase", "a"),
            Violation::new("/metadata/labels/pod-template-hash", "b"),
            Violation::new("/spec/containers/0/image", "c"),
        ];
        cx.after_check(0, &mut v);
        assert_eq!(v.iter().map(|v| v.message.as_str()).collect::<Vec<_>>(), ["c"]);
    }
}
