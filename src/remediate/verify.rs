//! Verification after a patch, bounded in time: the rollout per kind (Deployment, StatefulSet,
//! DaemonSet, or `observedGeneration` for the rest), restarts of the pods of the new revision
//! staying flat over a settle window (old pods on their way out do not count), and the audit run again on a fresh read of the namespace: the fixed
//! findings must be gone and no new diagnosis may appear on the object.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::apply::Cluster;
use super::{Item, Record as _};

/// How to verify.
#[derive(Debug, Clone)]
pub struct Options {
    /// The whole verification of one object may take this long.
    pub timeout: Duration,
    /// Pause between reads.
    pub poll: Duration,
    /// Restarts must stay flat this long once the rollout is done.
    pub settle: Duration,
}

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// Done, with what was checked.
    Done(String),
    /// Not yet, and what it waits for.
    Pending(String),
    /// Failed for good.
    Failed(String),
}

fn int(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

/// The rollout state of an object as the server has it.
#[must_use]
pub fn rollout(kind: &str, o: &Value) -> Rollout {
    let generation = int(o, "/metadata/generation");
    let observed = o.pointer("/status/observedGeneration").and_then(Value::as_i64);
    if let Some(og) = observed
        && og < generation
    {
        return Rollout::Pending(format!("observedGeneration {og} < generation {generation}"));
    }
    let want = o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    match kind {
        "Deployment" => {
            let conditions = o.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
            let progressing = conditions.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Progressing"));
            if let Some(c) = progressing
                && c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded")
            {
                let msg = c.get("message").and_then(Value::as_str).unwrap_or_default();
                return Rollout::Failed(format!("ProgressDeadlineExceeded: {msg}"));
            }
            if observed.is_none() {
                return Rollout::Pending("no observedGeneration yet".to_string());
            }
            let (updated, available, total) =
                (int(o, "/status/updatedReplicas"), int(o, "/status/availableReplicas"), int(o, "/status/replicas"));
            if updated == want && available == want && total == want {
                Rollout::Done(format!("{want}/{want} replicas updated and available"))
            } else {
                Rollout::Pending(format!("updated {updated}, available {available}, total {total} of {want}"))
            }
        }
        "StatefulSet" => {
            let (cur, upd) = (
                o.pointer("/status/currentRevision").and_then(Value::as_str).unwrap_or_default(),
                o.pointer("/status/updateRevision").and_then(Value::as_str).unwrap_or_default(),
            );
            let ready = int(o, "/status/readyReplicas");
            if observed.is_some() && cur == upd && ready == want {
                Rollout::Done(format!("revision {upd}, {ready}/{want} ready"))
            } else {
                Rollout::Pending(format!("revision {cur} → {upd}, {ready}/{want} ready"))
            }
        }
        "DaemonSet" => {
            let desired = int(o, "/status/desiredNumberScheduled");
            let (upd, avail) = (int(o, "/status/updatedNumberScheduled"), int(o, "/status/numberAvailable"));
            if observed.is_some() && upd == desired && avail == desired {
                Rollout::Done(format!("{desired}/{desired} scheduled updated and available"))
            } else {
                Rollout::Pending(format!("updated {upd}, available {avail} of {desired}"))
            }
        }
        _ => Rollout::Done(match observed {
            Some(og) => format!("observedGeneration {og}"),
            None => "no rollout to wait for".to_string(),
        }),
    }
}

/// The label that marks the pods of the object's newest revision, and its value: the
/// `pod-template-hash` of the Deployment's ReplicaSet of its current revision, the StatefulSet's
/// `updateRevision`, the `controller-revision-hash` of the DaemonSet's newest ControllerRevision
/// (its `pod-template-generation` when none is listed). `owned` are the ReplicaSets or
/// ControllerRevisions listed with the object's selector; only those it owns count.
#[must_use]
pub fn revision_label(kind: &str, live: &Value, owned: &[Value]) -> Option<(&'static str, String)> {
    let uid = live.pointer("/metadata/uid").and_then(Value::as_str);
    let mine = |o: &&Value| {
        o.pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|refs| refs.iter().any(|r| uid.is_some() && r.get("uid").and_then(Value::as_str) == uid))
    };
    let label = |o: &Value, k: &str| {
        o.pointer("/metadata/labels").and_then(|l| l.get(k)).and_then(Value::as_str).map(str::to_string)
    };
    const REVISION: &str = "/metadata/annotations/deployment.kubernetes.io~1revision";
    let number = |o: &Value, p: &str| match o.pointer(p) {
        Some(Value::String(s)) => s.parse::<i64>().ok(),
        Some(v) => v.as_i64(),
        None => None,
    };
    match kind {
        "Deployment" => {
            let sets: Vec<&Value> = owned.iter().filter(mine).collect();
            let current = number(live, REVISION);
            let newest = sets
                .iter()
                .find(|rs| current.is_some() && number(rs, REVISION) == current)
                .or_else(|| sets.iter().max_by_key(|rs| number(rs, REVISION)))?;
            Some(("pod-template-hash", label(newest, "pod-template-hash")?))
        }
        "StatefulSet" => live
            .pointer("/status/updateRevision")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .map(|r| ("controller-revision-hash", r.to_string())),
        "DaemonSet" => match owned.iter().filter(mine).max_by_key(|r| number(r, "/revision")) {
            Some(r) => Some(("controller-revision-hash", label(r, "controller-revision-hash")?)),
            None => number(live, "/metadata/generation").map(|g| ("pod-template-generation", g.to_string())),
        },
        _ => None,
    }
}

/// Which pods to watch: the object's selector narrowed to its newest revision, and how that
/// revision is named in the report. Without a revision (another kind, or the owned objects cannot
/// be listed) every selected pod is watched, and the report says so.
async fn revision_selector(
    cluster: &Cluster,
    kind: &str,
    ns: &str,
    live: &Value,
    selector: &serde_json::Map<String, Value>,
) -> (serde_json::Map<String, Value>, String) {
    let owned_type = match kind {
        "Deployment" => Some(("apps", "v1", "ReplicaSet", "replicasets")),
        "DaemonSet" => Some(("apps", "v1", "ControllerRevision", "controllerrevisions")),
        _ => None,
    };
    let owned = match owned_type {
        Some(t) => match cluster.list(t, ns, selector).await {
            Ok(v) => v,
            Err(e) => {
                return (selector.clone(), format!("of every revision (cannot list {}: {e})", t.3));
            }
        },
        None => Vec::new(),
    };
    match revision_label(kind, live, &owned) {
        Some((k, v)) => {
            let mut narrowed = selector.clone();
            narrowed.insert(k.to_string(), Value::String(v.clone()));
            (narrowed, format!("of revision {v}"))
        }
        None if matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet") => {
            (selector.clone(), "of every revision (the newest is not known)".to_string())
        }
        None => (selector.clone(), String::new()),
    }
}

/// Restarts per pod; pods being deleted are leaving and do not count.
fn restarts(pods: &[Value]) -> BTreeMap<String, i64> {
    pods.iter()
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .map(|p| {
            let name = p.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
            let n: i64 = ["containerStatuses", "initContainerStatuses"]
                .iter()
                .filter_map(|k| p.pointer(&format!("/status/{k}")).and_then(Value::as_array))
                .flatten()
                .map(|c| int(c, "/restartCount"))
                .sum();
            (name, n)
        })
        .collect()
}

/// Waits for the rollout of the item's object, then watches the restarts of the pods of its new
/// revision over the settle window; each outcome is a step of the item. Returns whether both passed.
pub async fn rollout_and_restarts(
    cluster: &Cluster,
    item: &mut Item,
    opts: &Options,
    step: &str,
    deadline: Instant,
    check_restarts: bool,
) -> bool {
    let live = loop {
        let o = match cluster.get(&item.object).await {
            Ok(o) => o,
            Err(e) => {
                item.step(step, false, format!("cannot read the object: {e}"));
                return false;
            }
        };
        let last = match rollout(&item.object.kind, &o) {
            Rollout::Done(what) => {
                item.step(step, true, format!("rollout done: {what}"));
                break o;
            }
            Rollout::Failed(why) => {
                item.step(step, false, format!("rollout failed: {why}"));
                return false;
            }
            Rollout::Pending(what) => what,
        };
        if Instant::now() + opts.poll > deadline {
            item.step(step, false, format!("rollout not done within {} s: {last}", opts.timeout.as_secs()));
            return false;
        }
        tokio::time::sleep(opts.poll).await;
    };
    if !check_restarts {
        return true;
    }
    let (Some(ns), Some(selector)) =
        (item.object.namespace.clone(), live.pointer("/spec/selector/matchLabels").and_then(Value::as_object).cloned())
    else {
        return true;
    };
    let (selector, revision) = revision_selector(cluster, &item.object.kind, &ns, &live, &selector).await;
    let before = match cluster.pods(&ns, &selector).await {
        Ok(p) => restarts(&p),
        Err(e) => {
            item.step(step, false, format!("cannot list the pods: {e}"));
            return false;
        }
    };
    let settle_end = (Instant::now() + opts.settle).min(deadline);
    loop {
        tokio::time::sleep(
            opts.poll.min(settle_end.saturating_duration_since(Instant::now())).max(Duration::from_millis(1)),
        )
        .await;
        let now = match cluster.pods(&ns, &selector).await {
            Ok(p) => restarts(&p),
            Err(e) => {
                item.step(step, false, format!("cannot list the pods: {e}"));
                return false;
            }
        };
        let climbing: Vec<String> = now
            .iter()
            .filter_map(|(pod, n)| {
                // A pod that appeared in the window is compared with zero.
                let b = before.get(pod).copied().unwrap_or(0);
                (*n > b).then(|| format!("{pod} {b} → {n}"))
            })
            .collect();
        if !climbing.is_empty() {
            item.step(step, false, format!("restarts climbing: {}", climbing.join(", ")));
            return false;
        }
        if Instant::now() >= settle_end {
            let total: i64 = now.values().sum();
            let of = if revision.is_empty() { String::new() } else { format!(" {revision}") };
            item.step(step, true, format!("{} pod(s){of}, restarts flat at {total}", now.len()));
            return true;
        }
    }
}

/// The audit run again on a fresh read: the fixed findings must be gone and no diagnosis the
/// object did not have before may appear. `before` are the diagnosis rules the object had.
pub fn findings_gone(item: &mut Item, audit: &crate::audit::Audit, before: &BTreeSet<String>) -> bool {
    let fixed: BTreeSet<&str> = item.fixes.iter().map(|f| f.fingerprint.as_str()).collect();
    let on_object: Vec<&crate::model::Finding> = audit
        .findings
        .iter()
        .filter(|f| {
            f.object.kind == item.object.kind
                && f.object.namespace == item.object.namespace
                && f.object.name == item.object.name
        })
        .collect();
    let remaining: Vec<String> =
        on_object.iter().filter(|f| fixed.contains(f.fingerprint.as_str())).map(|f| f.rule.to_string()).collect();
    let new: Vec<String> = on_object
        .iter()
        .filter(|f| f.area == crate::model::Area::Diagnosis && !before.contains(f.rule.as_ref()))
        .map(|f| format!("{} ({})", f.rule, f.message))
        .collect();
    if !remaining.is_empty() {
        item.step("verify-diagnosis", false, format!("still found on a fresh read: {}", remaining.join(", ")));
        return false;
    }
    if !new.is_empty() {
        item.step("verify-diagnosis", false, format!("new diagnosis on a fresh read: {}", new.join("; ")));
        return false;
    }
    let rules: Vec<&str> = item.fixes.iter().map(|f| f.rule.as_str()).collect();
    item.step("verify-diagnosis", true, format!("{} gone on a fresh read, no new diagnosis", rules.join(", ")));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployments_roll_out_when_every_replica_is_updated_and_available() {
        let mut d = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 0, "availableReplicas": 2}});
        assert!(matches!(rollout("Deployment", &d), Rollout::Pending(_)));
        d["status"] = json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2});
        assert!(matches!(rollout("Deployment", &d), Rollout::Done(_)));
        d["status"]["conditions"] =
            json!([{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "m"}]);
        assert!(matches!(rollout("Deployment", &d), Rollout::Failed(_)));
    }

    #[test]
    fn statefulsets_and_daemonsets() {
        let s = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "currentRevision": "a", "updateRevision": "b", "readyReplicas": 1}});
        assert!(matches!(rollout("StatefulSet", &s), Rollout::Pending(_)));
        let d = json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1,
            "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3}});
        assert!(matches!(rollout("DaemonSet", &d), Rollout::Done(_)));
    }

    #[test]
    fn the_new_revision_is_the_replicaset_of_the_deployments_revision() {
        let d = json!({"metadata": {"uid": "d1", "annotations": {"deployment.kubernetes.io/revision": "3"}}});
        let rs = |hash: &str, rev: &str, owner: &str| {
            json!({"metadata": {"labels": {"pod-template-hash": hash},
                "annotations": {"deployment.kubernetes.io/revision": rev}, "ownerReferences": [{"uid": owner}]}})
        };
        // Another Deployment's newer set with the same labels does not count.
        let sets = [rs("old", "2", "d1"), rs("new", "3", "d1"), rs("other", "9", "d2")];
        assert_eq!(revision_label("Deployment", &d, &sets), Some(("pod-template-hash", "new".to_string())));
        // Without the Deployment's annotation, the highest revision it owns.
        let bare = json!({"metadata": {"uid": "d1"}});
        assert_eq!(revision_label("Deployment", &bare, &sets), Some(("pod-template-hash", "new".to_string())));
        assert_eq!(revision_label("Deployment", &d, &[rs("x", "1", "d2")]), None);
    }

    #[test]
    fn statefulset_and_daemonset_revisions() {
        let s = json!({"metadata": {"uid": "s"}, "status": {"updateRevision": "web-6f8d7c9b5"}});
        assert_eq!(revision_label("StatefulSet", &s, &[]), Some(("controller-revision-hash", "web-6f8d7c9b5".into())));
        let ds = json!({"metadata": {"uid": "ds", "generation": 4}});
        let cr = |hash: &str, rev: i64| {
            json!({"metadata": {"labels": {"controller-revision-hash": hash}, "ownerReferences": [{"uid": "ds"}]},
                "revision": rev})
        };
        assert_eq!(
            revision_label("DaemonSet", &ds, &[cr("aaa", 1), cr("bbb", 2)]),
            Some(("controller-revision-hash", "bbb".to_string()))
        );
        assert_eq!(revision_label("DaemonSet", &ds, &[]), Some(("pod-template-generation", "4".to_string())));
        assert_eq!(revision_label("ConfigMap", &ds, &[]), None);
    }
}
