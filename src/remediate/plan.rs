//! The plan: which fixes of an audit of live objects become which patches. Pure (the caller
//! gives the time).
//!
//! Candidates are the fixes of findings on live (or snapshot) objects, and for diagnoses the fix
//! [`crate::link::live_fix`] computes on the live object. The selection is by `--target`, by
//! applicability (safe by default, unsafe with `--unsafe`, display-only never) and by the GitOps
//! guard: an object Argo CD, Flux or Helm manages would have a live patch reverted, so it is left
//! out unless `--force-live`. The fixes of one object become one patch: a strategic merge patch for
//! built-in kinds (a JSON merge patch where list merge keys do not allow one), a merge patch for
//! custom resources.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Item, PlannedFix, Remediation, Skipped};
use crate::audit::Audit;
use crate::model::{Applicability, Fix, FixOp, Object, ObjectRef, Origin};

/// An object `--target` names: `kind/namespace/name` or `kind/name` (`deploy/shop/api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The kind as given, lower case (`deploy`, `deployment`, `deployments`).
    pub kind: String,
    /// Namespace, when given.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl Target {
    /// Parses `kind/namespace/name` or `kind/name`.
    ///
    /// # Errors
    /// When the text has another shape.
    pub fn parse(s: &str) -> Result<Target, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || format!("--target `{s}`: expected KIND/NAMESPACE/NAME or KIND/NAME, e.g. deploy/shop/api");
        match parts[..] {
            [k, ns, n] if !k.is_empty() && !ns.is_empty() && !n.is_empty() => {
                Ok(Target { kind: k.to_ascii_lowercase(), namespace: Some(ns.to_string()), name: n.to_string() })
            }
            [k, n] if !k.is_empty() && !n.is_empty() => {
                Ok(Target { kind: k.to_ascii_lowercase(), namespace: None, name: n.to_string() })
            }
            _ => Err(bad()),
        }
    }

    /// Whether it names `o`.
    #[must_use]
    pub fn matches(&self, o: &ObjectRef) -> bool {
        kind_matches(&self.kind, &o.kind)
            && self.name == o.name
            && self.namespace.as_ref().is_none_or(|ns| o.namespace.as_deref() == Some(ns.as_str()))
    }
}

/// Whether `given` (kubectl's short names, singular or plural, any case) names `kind`.
fn kind_matches(given: &str, kind: &str) -> bool {
    let k = kind.to_ascii_lowercase();
    if given == k || given == format!("{k}s") {
        return true;
    }
    let short = match kind {
        "Deployment" => "deploy",
        "StatefulSet" => "sts",
        "DaemonSet" => "ds",
        "ReplicaSet" => "rs",
        "Pod" => "po",
        "Service" => "svc",
        "CronJob" => "cj",
        "HorizontalPodAutoscaler" => "hpa",
        "PodDisruptionBudget" => "pdb",
        "Ingress" => "ing",
        "ConfigMap" => "cm",
        "ServiceAccount" => "sa",
        "PersistentVolumeClaim" => "pvc",
        "NetworkPolicy" => "netpol",
        "Namespace" => "ns",
        _ => return crate::cluster::RESOURCES.iter().any(|r| r.kind == kind && r.plural == given),
    };
    given == short || crate::cluster::RESOURCES.iter().any(|r| r.kind == kind && r.plural == given)
}

/// What the plan may include.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only these objects (empty: all).
    pub targets: Vec<Target>,
    /// Include unsafe fixes.
    pub allow_unsafe: bool,
    /// Include objects a GitOps tool manages (with a warning).
    pub force_live: bool,
}

/// The GitOps tool that manages a live object, and the marker that says so.
#[must_use]
pub fn managed_by(o: &Object) -> Option<String> {
    let label = |k: &str| o.labels().and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(id) = o.annotation(crate::link::ARGO_TRACKING_ID) {
        return Some(format!("Argo CD (annotation {}: {id})", crate::link::ARGO_TRACKING_ID));
    }
    for key in ["kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name"] {
        if let Some(v) = label(key) {
            return Some(format!("Flux (label {key}: {v})"));
        }
    }
    if label("app.kubernetes.io/managed-by").is_some_and(|v| v.eq_ignore_ascii_case("helm"))
        && let Some(release) = o.annotation("meta.helm.sh/release-name")
    {
        return Some(format!("Helm (release {release})"));
    }
    if let Some(v) = label("argocd.argoproj.io/instance").or_else(|| label("app.kubernetes.io/instance")) {
        return Some(format!("Argo CD (instance label: {v})"));
    }
    None
}

/// Builds the plan from an audit of live objects and those objects, at time `now`.
#[must_use]
pub fn build(audit: &Audit, objects: &[Object], opts: &Options, now: &str) -> Remediation {
    let mut r = Remediation { mode: "plan".to_string(), started_at: now.to_string(), ..Remediation::default() };
    // Fixes per object, in audit order; the object's index keeps the patch's source at hand.
    let mut per_object: BTreeMap<usize, Vec<(PlannedFix, Fix)>> = BTreeMap::new();
    let live: BTreeMap<ObjectRef, usize> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o.origin, Origin::Cluster { .. } | Origin::Snapshot { .. }))
        .map(|(i, o)| (ObjectRef::of(o), i))
        .collect();
    for f in &audit.findings {
        let Some(&i) = live.get(&f.object) else { continue };
        let obj = &objects[i];
        if !opts.targets.is_empty() && !opts.targets.iter().any(|t| t.matches(&f.object)) {
            continue;
        }
        let fix = f.fix.as_deref().cloned().or_else(|| crate::link::live_fix(f, obj));
        let Some(fix) = fix else { continue };
        let skip = |reason: String| Skipped {
            rule: f.rule.to_string(),
            object: f.object.to_string(),
            title: fix.title.to_string(),
            reason,
        };
        let reason = match fix.applicability {
            Applicability::DisplayOnly => {
                Some(format!("display-only: {}", fix.note.as_deref().unwrap_or("it needs values only you know")))
            }
            Applicability::Unsafe if !opts.allow_unsafe => Some(
                "unsafe (it changes scheduling, security posture or cost): pass --unsafe to include it".to_string(),
            ),
            _ if obj.kind == "Secret" => Some("Secrets are never patched".to_string()),
            _ if fix.ops.is_empty() || fix.ops.iter().any(|op| matches!(op, FixOp::Create { .. })) => {
                Some("it creates a new object: apply it from a manifest".to_string())
            }
            // The API server would reject it: say why instead of sending a doomed patch.
            _ => crate::fix::patch::live_refusal(obj, &fix.ops),
        };
        if let Some(reason) = reason {
            r.skipped.push(skip(reason));
            continue;
        }
        let planned = PlannedFix {
            rule: f.rule.to_string(),
            fingerprint: f.fingerprint.clone(),
            title: fix.title.to_string(),
            applicability: fix.applicability,
        };
        per_object.entry(i).or_default().push((planned, fix));
    }
    for (i, fixes) in per_object {
        let obj = &objects[i];
        let manager = managed_by(obj);
        if manager.is_some() && !opts.force_live {
            for (p, _) in &fixes {
                r.skipped.push(Skipped {
                    rule: p.rule.clone(),
                    object: obj.display_id(),
                    title: p.title.to_string(),
                    reason: format!(
                        "managed by {}: a live patch would be reverted; fix the manifests with --manifests DIR --open-fix-pr (or --force-live)",
                        manager.as_deref().unwrap_or_default()
                    ),
                });
            }
            continue;
        }
        if let Some(m) = &manager {
            r.warnings.push(format!(
                "{} is managed by {m}: patched live because of --force-live; the next sync may revert it",
                obj.display_id()
            ));
        }
        let ops: Vec<FixOp> = fixes.iter().flat_map(|(_, f)| f.ops.iter().cloned()).collect();
        let Some((patch_type, patch)) = patch_of(obj, &ops) else {
            for (p, _) in &fixes {
                r.skipped.push(Skipped {
                    rule: p.rule.clone(),
                    object: obj.display_id(),
                    title: p.title.to_string(),
                    reason: "its operations do not apply to the live object".to_string(),
                });
            }
            continue;
        };
        let mut item = Item {
            object: ObjectRef::of(obj),
            fixes: fixes.into_iter().map(|(p, _)| p).collect(),
            patch_type: patch_type.to_string(),
            patch,
            managed_by: manager,
            status: "planned".to_string(),
            reason: None,
            diff: Vec::new(),
            backup: None,
            steps: Vec::new(),
        };
        let titles: Vec<&str> = item.fixes.iter().map(|f| f.title.as_str()).collect();
        let detail = format!("{} patch: {}", item.patch_type, titles.join("; "));
        item.step_at(now.to_string(), "plan", true, detail);
        r.items.push(item);
    }
    r.context = r.items.first().and_then(|i| i.object.context.clone());
    r
}

/// The patch for operations on an object: strategic merge for built-in kinds where the list merge
/// keys allow it, a JSON merge patch otherwise.
#[must_use]
pub fn patch_of(obj: &Object, ops: &[FixOp]) -> Option<(&'static str, Value)> {
    let fixed = crate::model::apply_ops(&obj.body, ops).ok()?;
    if crate::kinds::is_builtin_group(obj.group()) {
        let fix = Fix::new("", Applicability::Safe, ops.to_vec());
        if let Some(p) = crate::fix::patch::patch_for(obj, &fix).filter(|p| p.patch_type == "strategic")
            && let Ok(body) = serde_json::from_str::<Value>(&p.body)
        {
            return Some(("strategic", body));
        }
    }
    let diff = merge_diff(&obj.body, &fixed)?;
    Some(("merge", diff))
}

/// The JSON merge patch (RFC 7386) that turns `old` into `new`; `None` when they are equal.
#[must_use]
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = Map::new();
            for (k, v) in b {
                match a.get(k) {
                    Some(old_v) => {
                        if let Some(d) = merge_diff(old_v, v) {
                            out.insert(k.clone(), d);
                        }
                    }
                    None => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                out.insert(k.clone(), Value::Null);
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        _ if old == new => None,
        _ => Some(new.clone()),
    }
}

/// Fields a server sets that a diff of the dry run against the live object ignores.
fn ignored(path: &str) -> bool {
    matches!(path, "/metadata/managedFields" | "/metadata/resourceVersion" | "/metadata/generation" | "/status")
        || path.starts_with("/status/")
        || path.starts_with("/metadata/managedFields/")
}

/// The fields that differ between the live object and the server's answer, as JSON pointers.
#[must_use]
pub fn changes(before: &Value, after: &Value) -> Vec<super::Change> {
    let mut out = Vec::new();
    walk(String::new(), Some(before), Some(after), &mut out);
    out
}

fn walk(path: String, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<super::Change>) {
    if ignored(&path) || a == b {
        return;
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                walk(format!("{path}/{}", crate::yaml::escape_segment(k)), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                walk(format!("{path}/{i}"), Some(p), Some(q), out);
            }
        }
        _ => {
            // Environment values may be secrets: the diff says that they change, not what they are.
            let secret = path.contains("/env/") && path.ends_with("/value");
            let hide =
                |v: Option<&Value>| v.map(|v| if secret { Value::String("[REDACTED]".into()) } else { v.clone() });
            out.push(super::Change { before: hide(a), after: hide(b), path });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_diff_sets_changed_and_nulls_removed_keys() {
        let old = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]});
        let new = json!({"a": 1, "b": {"c": 5}, "l": [1], "e": "x"});
        assert_eq!(merge_diff(&old, &new), Some(json!({"b": {"c": 5, "d": null}, "l": [1], "e": "x"})));
        assert_eq!(merge_diff(&old, &old), None);
    }

    #[test]
    fn changes_ignore_server_fields() {
        let a = json!({"metadata": {"resourceVersion": "1", "generation": 1}, "spec": {"x": 1}, "status": {"y": 1}});
        let b = json!({"metadata": {"resourceVersion": "2", "generation": 2, "managedFields": []}, "spec": {"x": 2}, "status": {}});
        let c = changes(&a, &b);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].path, "/spec/x");
        let env = changes(
            &json!({"env": [{"name": "P", "value": "hunter2"}]}),
            &json!({"env": [{"name": "P", "value": "x"}]}),
        );
        assert_eq!(env[0].before, Some(json!("[REDACTED]")));
    }

    #[test]
    fn targets_use_kubectl_short_names() {
        let t = Target::parse("deploy/shop/api").unwrap_or_else(|e| panic!("{e}"));
        let o = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "api".into(),
            uid: None,
            context: None,
        };
        assert!(t.matches(&o));
        assert!(Target::parse("deployments/api").is_ok_and(|t| t.matches(&o)));
        assert!(!Target::parse("sts/shop/api").is_ok_and(|t| t.matches(&o)));
        assert!(Target::parse("api").is_err());
    }

    #[test]
    fn custom_resources_get_merge_patches_and_built_ins_strategic_ones() {
        let origin = || Origin::Cluster { context: "c".into(), uid: "u".into() };
        let ops = vec![FixOp::Add { path: "/spec/template/spec/containers/0/image".into(), value: json!("b").into() }];
        let body = json!({"metadata": {"name": "a"}, "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "a"}]}}}});
        let mut cr = body.clone();
        cr["apiVersion"] = json!("example.com/v1");
        cr["kind"] = json!("Widget");
        let (t, p) = patch_of(&Object::from_body(cr, origin()), &ops).unwrap();
        assert_eq!(t, "merge");
        assert_eq!(p, json!({"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "b"}]}}}}));
        let mut d = body;
        d["apiVersion"] = json!("apps/v1");
        d["kind"] = json!("Deployment");
        let (t, p) = patch_of(&Object::from_body(d, origin()), &ops).unwrap();
        assert_eq!(t, "strategic");
        assert_eq!(p, json!({"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "b"}]}}}}));
    }

    #[test]
    fn gitops_markers_name_their_tool() {
        let o = |meta: Value| {
            Object::from_body(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta}),
                Origin::Cluster { context: "c".into(), uid: "u".into() },
            )
        };
        let argo =
            o(json!({"name": "a", "annotations": {"argocd.argoproj.io/tracking-id": "app:apps/Deployment:ns/a"}}));
        assert!(managed_by(&argo).is_some_and(|m| m.starts_with("Argo CD")));
        let flux = o(json!({"name": "a", "labels": {"kustomize.toolkit.fluxcd.io/name": "apps"}}));
        assert!(managed_by(&flux).is_some_and(|m| m.starts_with("Flux")));
        let helm = o(json!({"name": "a", "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "shop"}}));
        assert_eq!(managed_by(&helm).as_deref(), Some("Helm (release shop)"));
        assert!(managed_by(&o(json!({"name": "a", "labels": {"app": "a"}}))).is_none());
    }
}
