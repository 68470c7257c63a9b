//! Verification after a patch, bounded in time: the rollout per kind (Deployment, StatefulSet,
//! DaemonSet, or `observedGeneration` for the rest), restarts of the workload's pods staying flat
//! over a settle window, and the audit run again on a fresh read of the namespace: the fixed
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

/// Restarts per pod.
fn restarts(pods: &[Value]) -> BTreeMap<String, i64> {
    pods.iter()
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

/// Waits for the rollout of the item's object, then watches restarts over the settle window;
/// each outcome is a step of the item. Returns whether both passed.
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
            .filter_map(|(pod, n)| before.get(pod).filter(|b| n > *b).map(|b| format!("{pod} {b} → {n}")))
            .collect();
        if !climbing.is_empty() {
            item.step(step, false, format!("restarts climbing: {}", climbing.join(", ")));
            return false;
        }
        if Instant::now() >= settle_end {
            let total: i64 = now.values().sum();
            item.step(step, true, format!("{} pod(s), restarts flat at {total}", now.len()));
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
        on_object.iter().filter(|f| fixed.contains(f.fingerprint.as_str())).map(|f| f.rule.clone()).collect();
    let new: Vec<String> = on_object
        .iter()
        .filter(|f| f.area == crate::model::Area::Diagnosis && !before.contains(&f.rule))
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
}
