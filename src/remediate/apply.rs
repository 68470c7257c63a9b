//! Writes to the API server: server-side dry runs, patches and restores, all with the field
//! manager `clustergpt` and the live object's `resourceVersion` as a precondition, so a patch never
//! lands on an object that changed since it was read (and backed up).

use std::time::Duration;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

use super::{FIELD_MANAGER, Item, Record as _};
use crate::model::ObjectRef;

/// Why a patch was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// A webhook without `sideEffects: None` rejects dry runs: nothing is known about the fix.
    DryRunNotPossible(String),
    /// 409: the object changed since it was read (or a field belongs to another manager).
    Conflict(String),
    /// 422: the patched object is invalid.
    Invalid(String),
    /// Anything else (403, 404, transport).
    Other(String),
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchError::DryRunNotPossible(w) => write!(f, "dry run not possible: webhook {w}"),
            PatchError::Conflict(m) => write!(f, "conflict (409): {m}"),
            PatchError::Invalid(m) => write!(f, "invalid (422): {m}"),
            PatchError::Other(m) => f.write_str(m),
        }
    }
}

/// The API server of one cluster.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: Client,
    /// The context name (backups are filed under it).
    pub context: String,
    /// Longest wait for one answer.
    pub timeout: Duration,
}

/// What the dry run proved: the live object it started from and the exact patch it accepted.
#[derive(Debug, Clone)]
pub struct Proven {
    /// The live object as read before the dry run (the backup).
    pub live: Value,
    /// The patch as sent, with the live `resourceVersion` as a precondition.
    pub sent: Value,
}

impl Cluster {
    fn api(&self, o: &ObjectRef) -> Result<Api<DynamicObject>, String> {
        let group = o.group();
        let version = o.api_version.rsplit('/').next().unwrap_or_default();
        let plural = crate::cluster::RESOURCES
            .iter()
            .find(|r| r.group == group && r.kind == o.kind)
            .map(|r| r.plural)
            .ok_or_else(|| format!("{} is not a kind ClusterGPT reads, so it is not patched", o.kind))?;
        let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, &o.kind), plural);
        Ok(match &o.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        })
    }

    /// Reads one object as the server has it now.
    ///
    /// # Errors
    /// The server's answer, as text.
    pub async fn get(&self, o: &ObjectRef) -> Result<Value, String> {
        let api = self.api(o)?;
        let got = tokio::time::timeout(self.timeout, api.get(&o.name))
            .await
            .map_err(|_| format!("no answer within {} s", self.timeout.as_secs_f64()))?
            .map_err(|e| describe(&e).to_string())?;
        serde_json::to_value(got).map_err(|e| e.to_string())
    }

    /// Sends a patch (`strategic` or `merge`), as a dry run or for real.
    ///
    /// # Errors
    /// The server's refusal, classified.
    pub async fn patch(
        &self,
        o: &ObjectRef,
        patch_type: &str,
        body: &Value,
        dry_run: bool,
    ) -> Result<Value, PatchError> {
        let api = self.api(o).map_err(PatchError::Other)?;
        let pp = PatchParams { dry_run, field_manager: Some(FIELD_MANAGER.to_string()), ..PatchParams::default() };
        let patch = match patch_type {
            "strategic" => Patch::Strategic(body),
            _ => Patch::Merge(body),
        };
        let answer = tokio::time::timeout(self.timeout, api.patch(&o.name, &pp, &patch))
            .await
            .map_err(|_| PatchError::Other(format!("no answer within {} s", self.timeout.as_secs_f64())))?
            .map_err(|e| describe(&e))?;
        serde_json::to_value(answer).map_err(|e| PatchError::Other(e.to_string()))
    }

    /// The pods of a namespace that carry every label of `selector`.
    ///
    /// # Errors
    /// The server's answer, as text.
    pub async fn pods(&self, namespace: &str, selector: &serde_json::Map<String, Value>) -> Result<Vec<Value>, String> {
        self.list(("", "v1", "Pod", "pods"), namespace, selector).await
    }

    /// The objects of one type (`group, version, kind, plural`) in a namespace that carry every
    /// label of `selector`.
    ///
    /// # Errors
    /// The server's answer, as text.
    pub async fn list(
        &self,
        (group, version, kind, plural): (&str, &str, &str, &str),
        namespace: &str,
        selector: &serde_json::Map<String, Value>,
    ) -> Result<Vec<Value>, String> {
        let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &ar);
        let labels: Vec<String> =
            selector.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
        let lp = kube::api::ListParams::default().labels(&labels.join(","));
        let list = tokio::time::timeout(self.timeout, api.list(&lp))
            .await
            .map_err(|_| format!("no answer within {} s", self.timeout.as_secs_f64()))?
            .map_err(|e| describe(&e).to_string())?;
        let mut out = Vec::new();
        for o in list.items {
            let v = serde_json::to_value(o).map_err(|e| e.to_string())?;
            // Filtered here too: a server may ignore the selector.
            let matches =
                selector.iter().all(|(k, want)| v.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(want));
            if matches {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// The server-side dry run of an item's patch: reads the object, sends the patch with its
    /// `resourceVersion` and `dryRun=All`, and records the diff of the answer against it.
    pub async fn dry_run(&self, item: &mut Item) -> Option<Proven> {
        let live = match self.get(&item.object).await {
            Ok(v) => v,
            Err(e) => {
                item.step("dry-run", false, format!("cannot read the object: {e}"));
                item.set("dry-run-failed", Some(format!("cannot read the object: {e}")));
                return None;
            }
        };
        let sent = with_precondition(&item.patch, &live);
        match self.patch(&item.object, &item.patch_type, &sent, true).await {
            Ok(answer) => {
                item.diff = super::plan::changes(&live, &answer);
                if item.diff.is_empty() {
                    item.step("dry-run", true, "accepted; the server's answer changes nothing");
                    item.set("not-applied", Some("nothing to change: the live object already has the fix".into()));
                    return None;
                }
                let n = item.diff.len();
                item.step("dry-run", true, format!("accepted; {n} field{} change", if n == 1 { "" } else { "s" }));
                item.set("dry-run-ok", None);
                Some(Proven { live, sent })
            }
            Err(e) => {
                let status = if matches!(e, PatchError::DryRunNotPossible(_)) {
                    "dry-run-not-possible"
                } else {
                    "dry-run-failed"
                };
                item.step("dry-run", false, e.to_string());
                item.set(status, Some(e.to_string()));
                None
            }
        }
    }
}

/// The patch with the live object's `resourceVersion`: the server refuses it (409) when the object
/// changed since it was read.
#[must_use]
pub fn with_precondition(patch: &Value, live: &Value) -> Value {
    let mut sent = patch.clone();
    if let (Some(rv), Some(m)) = (live.pointer("/metadata/resourceVersion").cloned(), sent.as_object_mut()) {
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("resourceVersion".to_string(), rv);
        }
    }
    sent
}

/// Classifies a kube error: dry-run-rejecting webhooks, 409 and 422 with the server's message.
#[must_use]
pub fn describe(e: &kube::Error) -> PatchError {
    match e {
        kube::Error::Api(s) => {
            let msg = s.message.clone();
            if s.code == 400 && msg.contains("dry run") {
                PatchError::DryRunNotPossible(webhook_name(&msg).unwrap_or_else(|| "(unnamed)".to_string()))
            } else if s.code == 409 {
                PatchError::Conflict(msg)
            } else if s.code == 422 {
                PatchError::Invalid(msg)
            } else {
                PatchError::Other(format!("{} {}: {msg}", s.code, s.reason))
            }
        }
        other => PatchError::Other(other.to_string()),
    }
}

/// The webhook a dry-run refusal names: `admission webhook "NAME" does not support dry run`.
fn webhook_name(msg: &str) -> Option<String> {
    let rest = msg.split_once("webhook \"")?.1;
    Some(rest.split_once('"')?.0.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_refusals_name_the_webhook() {
        assert_eq!(
            webhook_name("admission webhook \"validate.kyverno.svc\" does not support dry run").as_deref(),
            Some("validate.kyverno.svc")
        );
        assert_eq!(webhook_name("no quotes"), None);
    }

    #[test]
    fn preconditions_carry_the_live_resource_version() {
        let sent = with_precondition(&json!({"spec": {"a": 1}}), &json!({"metadata": {"resourceVersion": "42"}}));
        assert_eq!(sent, json!({"spec": {"a": 1}, "metadata": {"resourceVersion": "42"}}));
    }
}
