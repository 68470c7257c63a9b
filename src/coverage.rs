//! Which kinds each rule reads, so a resource type a cluster would not let us list marks the rules
//! that needed it "not evaluated" for that cluster instead of letting them pass silently.
//!
//! Pure: a table and a lookup. A rule missing from the table is taken to read every kind, so a new
//! rule errs on the side of "not evaluated".

use serde::{Deserialize, Serialize};

use crate::source::Gap;

/// The kinds with a pod template, or pods themselves: what container rules check.
const WORKLOADS: &[&str] =
    &["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"];

const RBAC: &[&str] = &["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// What a rule reads: workloads (its subjects) and other kinds it looks up.
#[derive(Clone, Copy)]
struct Reads {
    workloads: bool,
    kinds: &'static [&'static str],
}

const fn w(kinds: &'static [&'static str]) -> Reads {
    Reads { workloads: true, kinds }
}

const fn k(kinds: &'static [&'static str]) -> Reads {
    Reads { workloads: false, kinds }
}

/// Rule id → what it reads. Rules checking every object (schema, default namespace) are absent on
/// purpose: they read every kind.
const TABLE: &[(&str, Reads)] = &[
    ("ARC001", w(&["Service"])),
    ("ARC002", k(&["Ingress", "HTTPRoute", "Service"])),
    ("ARC003", w(&["HorizontalPodAutoscaler"])),
    ("ARC005", w(&["ConfigMap", "Secret", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"])),
    ("ARC006", w(&["PodDisruptionBudget"])),
    ("ARC007", w(&[])),
    ("ARC008", k(&["Ingress", "HTTPRoute", "Service"])),
    ("CST001", w(&[])),
    ("CST002", w(&["HorizontalPodAutoscaler", "VerticalPodAutoscaler"])),
    ("CST003", w(&["PersistentVolumeClaim"])),
    ("CST004", w(&[])),
    ("REL001", w(&[])),
    ("REL002", w(&[])),
    ("REL003", w(&[])),
    ("REL004", w(&[])),
    ("REL005", w(&[])),
    ("REL006", w(&[])),
    ("REL007", w(&[])),
    ("REL008", w(&["HorizontalPodAutoscaler"])),
    ("REL009", w(&[])),
    ("REL010", w(&["PodDisruptionBudget"])),
    ("REL011", w(&["PodDisruptionBudget"])),
    ("REL012", w(&[])),
    ("REL013", w(&[])),
    ("REL014", w(&[])),
    ("REL015", w(&["HorizontalPodAutoscaler"])),
    ("REL016", w(&["HorizontalPodAutoscaler"])),
    ("REL017", w(&["PodDisruptionBudget", "HorizontalPodAutoscaler"])),
    ("REL018", w(&[])),
    ("SCH004", w(&[])),
    ("SCH006", k(&["Ingress"])),
    ("SEC001", w(&[])),
    ("SEC002", w(&[])),
    ("SEC003", w(&[])),
    ("SEC004", w(&[])),
    ("SEC005", w(&[])),
    ("SEC006", w(&[])),
    ("SEC007", w(&[])),
    ("SEC008", w(&[])),
    ("SEC009", w(&[])),
    ("SEC010", w(&[])),
    ("SEC011", w(&[])),
    ("SEC012", w(&["ServiceAccount"])),
    ("SEC013", w(&[])),
    ("SEC014", w(&[])),
    ("SEC015", k(&["ConfigMap"])),
    ("SEC016", k(RBAC)),
    ("SEC017", k(RBAC)),
    ("SEC018", k(RBAC)),
    ("SEC019", k(RBAC)),
    ("SEC020", k(RBAC)),
    ("SEC021", w(&["NetworkPolicy", "Namespace"])),
    ("SEC022", w(&["NetworkPolicy", "Namespace"])),
    ("SEC023", w(&[])),
    ("SEC024", w(&[])),
];

/// Whether `rule` reads objects of `kind`.
#[must_use]
pub fn rule_reads(rule: &str, kind: &str) -> bool {
    match TABLE.iter().find(|(id, _)| *id == rule) {
        Some((_, r)) => (r.workloads && WORKLOADS.contains(&kind)) || r.kinds.contains(&kind),
        None => true,
    }
}

/// A resource type a cluster did not let us read, with the rules it leaves unevaluated there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NotEvaluated {
    /// The context (cluster).
    pub context: String,
    /// API group (`""` for core).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub resource: String,
    /// `forbidden`, `not-found`, `timeout`, `deadline`, `error`.
    pub reason: String,
    /// What the server or client said.
    pub message: String,
    /// Rules that ran and read this kind: their results for this cluster are incomplete.
    pub rules: Vec<String>,
}

/// The rules that add previous-log evidence (`--logs`): OOM kills and crash loops.
const LOG_RULES: &[&str] = &["DIA001", "DIA002"];

/// One entry per gap, sorted, with the selected rules each one leaves unevaluated.
#[must_use]
pub fn not_evaluated(gaps: &[Gap], rules_run: &[String]) -> Vec<NotEvaluated> {
    let mut out: Vec<NotEvaluated> = gaps
        .iter()
        .map(|g| NotEvaluated {
            context: g.context.clone(),
            group: g.group.clone(),
            kind: g.kind.clone(),
            resource: g.resource.clone(),
            reason: g.reason.clone(),
            message: g.message.clone(),
            // An unread previous log only takes log evidence from the diagnoses that use it.
            rules: if g.resource == crate::cluster::LOG_RESOURCE {
                rules_run.iter().filter(|r| LOG_RULES.contains(&r.as_str())).cloned().collect()
            } else {
                rules_run.iter().filter(|r| rule_reads(r, &g.kind)).cloned().collect()
            },
        })
        .collect();
    // A type left out by `--namespace` matters only to the rules that read it.
    out.retain(|n| n.reason != crate::cluster::OUT_OF_SCOPE || !n.rules.is_empty());
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads() {
        assert!(rule_reads("SEC001", "Pod") && !rule_reads("SEC001", "Secret"));
        assert!(rule_reads("ARC005", "Secret"));
        assert!(rule_reads("SEC020", "ClusterRole") && !rule_reads("SEC020", "Pod"));
        // Unknown and schema rules read everything.
        assert!(rule_reads("SCH001", "Secret") && rule_reads("XYZ999", "Node"));
    }

    #[test]
    fn every_table_entry_is_a_rule() {
        for (id, _) in TABLE {
            assert!(crate::rules::find(id).is_some(), "{id}");
        }
    }
}
