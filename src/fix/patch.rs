//! A fix as a patch for a live object: a strategic merge patch where Kubernetes' list merge keys
//! allow it, a JSON patch (RFC 6902) otherwise, plus the exact `kubectl patch` command.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::fix::edit::to_block_yaml;
use crate::model::{Fix, FixOp, Object, Patch};
use crate::yaml::PointerExt;
use crate::yaml::{escape_segment, pointer_segments, pointer_segments_cow};

/// Lists Kubernetes merges by a key in strategic merge patches, and that key.
fn merge_key(list: &str) -> Option<&'static str> {
    match list {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => {
            Some("name")
        }
        "ports" => Some("containerPort"),
        "volumeMounts" => Some("mountPath"),
        _ => None,
    }
}

/// Builds the patch for a fix on an object.
#[must_use]
pub fn patch_for(obj: &Object, fix: &Fix) -> Option<Patch> {
    if fix.ops.is_empty() {
        return None;
    }
    // A live object's command names the cluster it was read from: with several contexts, the
    // current one may be another cluster with an object of the same name.
    let context = obj
        .origin
        .context()
        .filter(|c| *c != crate::model::IN_CLUSTER)
        .map(|c| format!(" --context {}", shell_quote(c)))
        .unwrap_or_default();
    if let [FixOp::Create { value }] = fix.ops.as_slice() {
        // A new object is created with `kubectl apply`, not patched into this one.
        let yaml = to_block_yaml(value);
        let body = serde_json::to_string(value).ok()?;
        let kubectl = format!("kubectl{context} apply -f - <<'EOF'\n{yaml}EOF");
        return Some(Patch { patch_type: "create".to_string(), body, kubectl: Some(kubectl), refused: None, yaml });
    }
    if fix.ops.iter().any(|op| matches!(op, FixOp::Create { .. })) {
        return None;
    }
    let (patch_type, body) = match strategic(obj, &fix.ops) {
        Some(smp) => ("strategic", smp),
        None => ("json", json_patch(obj, &fix.ops)?),
    };
    let body_text = serde_json::to_string(&body).ok()?;
    let refused = live_refusal(obj, &fix.ops);
    let kubectl = refused.is_none().then(|| {
        let resource = format!("{}/{}", obj.kind.to_ascii_lowercase(), obj.name);
        let ns = obj.effective_namespace().map(|n| format!(" -n {}", shell_quote(n))).unwrap_or_default();
        format!(
            "kubectl{context} patch {}{ns} --type {patch_type} -p {}",
            shell_quote(&resource),
            shell_quote(&body_text)
        )
    });
    let yaml = if patch_type == "strategic" {
        // Show the patch with the object's identity so it reads as a partial manifest.
        let mut ident = Map::new();
        ident.insert("apiVersion".into(), json!(obj.api_version));
        ident.insert("kind".into(), json!(obj.kind));
        let mut meta = Map::new();
        meta.insert("name".into(), json!(obj.name));
        if let Some(ns) = obj.effective_namespace() {
            meta.insert("namespace".into(), json!(ns));
        }
        // The body is not needed after this: its map moves into the snippet's.
        let mut merged = match body {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let patch_meta = merged.remove("metadata");
        if let Some(Value::Object(pm)) = patch_meta {
            meta.extend(pm);
        }
        ident.insert("metadata".into(), Value::Object(meta));
        ident.extend(merged);
        to_block_yaml(&Value::Object(ident))
    } else {
        to_block_yaml(&body)
    };
    Some(Patch { patch_type: patch_type.to_string(), body: body_text, kubectl, refused, yaml })
}

/// Why the API server would reject these operations on a live object, if it would: the fields
/// it validates as immutable on update. A `kubectl patch` there only produces an error.
#[must_use]
pub fn live_refusal(obj: &Object, ops: &[FixOp]) -> Option<String> {
    let paths: Vec<&str> = ops
        .iter()
        .filter_map(|op| match op {
            FixOp::Add { path, .. } | FixOp::Replace { path, .. } | FixOp::Remove { path } => Some(path.as_str()),
            FixOp::Create { .. } => None,
        })
        .collect();
    let under = |prefix: &str| {
        paths.iter().find(|p| p.strip_prefix(prefix).is_some_and(|r| r.is_empty() || r.starts_with('/')))
    };
    let kind = obj.kind.as_str();
    if under("/apiVersion").is_some() || under("/kind").is_some() {
        return Some(format!(
            "a live object's apiVersion cannot be patched (the API server stores {kind} in its own version): apply the fixed manifest with `kubectl apply -f`"
        ));
    }
    let recreate = |field: &str| {
        Some(format!(
            "`{field}` of a {kind} cannot be changed once created: apply the fixed manifest by deleting and recreating the object"
        ))
    };
    match kind {
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" if under("/spec/selector").is_some() => {
            return recreate("spec.selector");
        }
        "StatefulSet" => {
            for f in ["volumeClaimTemplates", "serviceName", "podManagementPolicy"] {
                if under(&format!("/spec/{f}")).is_some() {
                    return recreate(&format!("spec.{f}"));
                }
            }
        }
        "Job" => {
            for f in ["selector", "template", "completions", "completionMode"] {
                if under(&format!("/spec/{f}")).is_some() {
                    return recreate(&format!("spec.{f}"));
                }
            }
        }
        // Only the storage request may grow; every other field of a claim's spec is fixed.
        "PersistentVolumeClaim" => {
            if let Some(p) = paths.iter().find(|p| p.starts_with("/spec/") && !p.starts_with("/spec/resources")) {
                return recreate(&top_field(p));
            }
        }
        "Service" => {
            for f in ["clusterIP", "clusterIPs"] {
                if under(&format!("/spec/{f}")).is_some() {
                    return recreate(&format!("spec.{f}"));
                }
            }
        }
        // A pod's spec is fixed but for images, tolerations, activeDeadlineSeconds and the
        // scheduling gates: fix its controller, or the manifest.
        "Pod" => {
            let mutable = |p: &str| {
                let image = p
                    .strip_prefix("/spec/containers/")
                    .or_else(|| p.strip_prefix("/spec/initContainers/"))
                    .and_then(|rest| rest.split_once('/'))
                    .is_some_and(|(_, field)| field == "image");
                image
                    || p.starts_with("/spec/tolerations")
                    || p.starts_with("/spec/activeDeadlineSeconds")
                    || p.starts_with("/spec/schedulingGates")
            };
            if let Some(p) = paths.iter().find(|p| p.starts_with("/spec/") && !mutable(p)) {
                let field = top_field(p);
                return Some(format!(
                    "`{field}` of a running Pod cannot be changed: change the controller that creates it, or recreate the Pod from the fixed manifest"
                ));
            }
        }
        _ => {}
    }
    None
}

fn strategic(obj: &Object, ops: &[FixOp]) -> Option<Value> {
    let mut root = Value::Object(Map::new());
    for op in ops {
        let (path, value) = match op {
            FixOp::Add { path, value } | FixOp::Replace { path, value } => (path, Some(&**value)),
            // `null` deletes a map key in a merge patch.
            FixOp::Remove { path } => (path, None),
            FixOp::Create { .. } => return None,
        };
        // The value is copied once, where it lands.
        let value = || value.cloned().unwrap_or(Value::Null);
        let segs: Vec<Cow<'_, str>> = pointer_segments_cow(path).collect();
        if segs.first().is_some_and(|s| s == "apiVersion" || s == "kind") {
            return None;
        }
        let mut cur = &mut root;
        let mut src = Some(&obj.body);
        let mut i = 0;
        while i < segs.len() {
            let seg = &segs[i];
            let last = i + 1 == segs.len();
            let is_index = seg.parse::<usize>().is_ok();
            if is_index || seg == "-" {
                return None; // handled below via the list's merge key
            }
            let next_is_index = segs.get(i + 1).is_some_and(|s| s.parse::<usize>().is_ok());
            if last {
                cur.as_object_mut()?.insert(seg.to_string(), value());
                break;
            }
            if next_is_index {
                // A list: Kubernetes merges it by a key; address the item by that key's value.
                let key = merge_key(seg.as_ref())?;
                let ix: usize = segs[i + 1].parse().ok()?;
                if i + 2 == segs.len() && matches!(op, FixOp::Remove { .. }) {
                    return None;
                }
                let item_src = src.and_then(|s| s.get(seg.as_ref())).and_then(|l| l.get(ix))?;
                let key_value = item_src.get(key)?.clone();
                let list = cur.as_object_mut()?.entry(seg.as_ref()).or_insert_with(|| Value::Array(Vec::new()));
                let arr = list.as_array_mut()?;
                let pos = match arr.iter().position(|it| it.get(key) == Some(&key_value)) {
                    Some(p) => p,
                    None => {
                        arr.push(json!({ key: key_value }));
                        arr.len() - 1
                    }
                };
                if i + 2 == segs.len() {
                    // Replacing a whole item: merge its fields.
                    if let (Some(item), Value::Object(fields)) =
                        (arr.get_mut(pos).and_then(Value::as_object_mut), value())
                    {
                        item.extend(fields);
                    }
                    break;
                }
                cur = arr.get_mut(pos)?;
                src = Some(item_src);
                i += 2;
                continue;
            }
            src = src.and_then(|s| s.get(seg.as_ref()));
            cur = cur.as_object_mut()?.entry(seg.as_ref()).or_insert_with(|| Value::Object(Map::new()));
            i += 1;
        }
    }
    Some(root)
}

fn json_patch(obj: &Object, ops: &[FixOp]) -> Option<Value> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            FixOp::Replace { path, value } => out.push(json!({"op": "replace", "path": path, "value": value})),
            FixOp::Remove { path } => out.push(json!({"op": "remove", "path": path})),
            FixOp::Create { .. } => return None,
            FixOp::Add { path, value } => {
                // JSON patch cannot create parents: add the missing subtree at the deepest existing parent.
                let segs: Vec<String> = pointer_segments(path).collect();
                let mut depth = 0;
                let mut cur = &obj.body;
                for s in &segs[..segs.len().saturating_sub(1)] {
                    let next = match cur {
                        Value::Object(m) => m.get(s),
                        Value::Array(a) => s.parse::<usize>().ok().and_then(|i| a.get(i)),
                        _ => None,
                    };
                    match next {
                        Some(n) if !n.is_null() => {
                            cur = n;
                            depth += 1;
                        }
                        _ => break,
                    }
                }
                let mut nested = value.clone();
                for s in segs[depth + 1..].iter().rev() {
                    nested = json!({ s.clone(): nested }).into();
                }
                let at: String = segs[..=depth].iter().map(|s| format!("/{}", escape_segment(s))).collect();
                let exists = obj.body.ptr(&at).is_some();
                let kind = if exists && !at.ends_with("/-") { "replace" } else { "add" };
                out.push(json!({"op": kind, "path": at, "value": nested}));
            }
        }
    }
    Some(Value::Array(out))
}

/// Quotes for a POSIX shell.
#[must_use]
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `/spec/storageClassName/x` → `spec.storageClassName`: the field named in a refusal.
fn top_field(pointer: &str) -> String {
    pointer.trim_start_matches('/').split('/').take(2).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Applicability, Origin};

    fn obj(kind: &str) -> Object {
        let body =
            json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x", "namespace": "shop"}, "spec": {}});
        Object::from_body(body, Origin::File { path: "x.yaml".into(), document: 0, prefix: String::new() })
    }

    #[test]
    fn live_commands_name_their_context_except_in_cluster() {
        let fix =
            Fix::new("t", Applicability::Safe, vec![FixOp::Add { path: "/spec/x".into(), value: json!(1).into() }]);
        let live = |context: &str| {
            let mut o = obj("Deployment");
            o.origin = Origin::Cluster { context: context.to_string(), uid: "u".into() };
            patch_for(&o, &fix).and_then(|p| p.kubectl).unwrap_or_default()
        };
        assert!(
            live("prod eu").starts_with("kubectl --context 'prod eu' patch deployment/x -n shop "),
            "{}",
            live("prod eu")
        );
        assert!(live(crate::model::IN_CLUSTER).starts_with("kubectl patch "));
        let file = patch_for(&obj("Deployment"), &fix).and_then(|p| p.kubectl).unwrap_or_default();
        assert!(file.starts_with("kubectl patch "), "{file}");
    }

    fn refused(kind: &str, path: &str) -> Option<String> {
        let fix =
            Fix::new("t", Applicability::Safe, vec![FixOp::Add { path: path.to_string(), value: json!("v").into() }]);
        let p = patch_for(&obj(kind), &fix)?;
        assert_eq!(p.kubectl.is_none(), p.refused.is_some(), "a command or a reason, never both");
        p.refused
    }

    #[test]
    fn no_kubectl_patch_where_kubernetes_refuses_the_change() {
        assert!(refused("Deployment", "/apiVersion").is_some_and(|r| r.contains("apiVersion")));
        assert!(refused("Deployment", "/spec/selector/matchLabels/app").is_some_and(|r| r.contains("spec.selector")));
        assert!(
            refused("PersistentVolumeClaim", "/spec/storageClassName")
                .is_some_and(|r| r.contains("spec.storageClassName"))
        );
        assert!(refused("StatefulSet", "/spec/volumeClaimTemplates/0/spec").is_some());
        assert!(refused("Pod", "/spec/containers/0/resources/limits/memory").is_some_and(|r| r.contains("controller")));
        assert_eq!(refused("Pod", "/spec/containers/0/image"), None);
        assert_eq!(refused("PersistentVolumeClaim", "/spec/resources/requests/storage"), None);
        assert_eq!(refused("Deployment", "/spec/template/spec/containers/0/image"), None);
    }
}
