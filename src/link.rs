//! Live → manifest link: each diagnosis on a live top-level owner is matched to the manifest object
//! it was deployed from, so it names the file and line to change, and (where one exists) carries a
//! deterministic fix for that file.
//!
//! Matching is by (API group, kind, namespace, name), with the Argo CD tracking id
//! (`argocd.argoproj.io/tracking-id: app:group/Kind:ns/name`) taking precedence when the live object
//! has one; a manifest without a namespace (set at deploy time by Kustomize, Helm or `kubectl -n`)
//! matches by group, kind and name when exactly one manifest object does. When several copies
//! match, GitOps hints on the live object pick one: the Flux `Kustomization` or `HelmRelease` that
//! applied it names the path it was built from. A Helm release installed under another name than
//! the one the chart was rendered with here is matched through its instance label. Pure: no I/O.

use serde_json::Value;

use crate::audit::Audit;
use crate::model::{Applicability, Fix, FixOp, ManifestLink, Object, ObjectRef, api_group};
use crate::quantity::Quantity;
use crate::workload::Workload;

/// The Argo CD annotation naming the manifest object a live object was synced from.
pub const ARGO_TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";

/// One mebibyte.
const MI: f64 = 1_048_576.0;

/// Links every diagnosis of `audit` whose object is among `live` to its object in `manifests`.
pub fn link(audit: &mut Audit, live: &[Object], manifests: &[Object]) {
    for f in &mut audit.findings {
        if f.rule == RIGHT_SIZE {
            link_usage_finding(f, live, manifests);
            continue;
        }
        let Some(d) = f.diagnosis.as_mut() else { continue };
        let Some(l) = live.iter().find(|o| o.file() == f.location.file.as_deref() && ObjectRef::of(o) == *f.object)
        else {
            continue;
        };
        let Some(m) = find_manifest(l, manifests) else { continue };
        let mut path = manifest_path(l, m, &f.location.path);
        let subclasses: Vec<&str> = d.hypotheses.iter().filter_map(|h| h.subclass.as_deref()).collect();
        let fix = match d.class.as_str() {
            "oom-killed" => {
                // The line to change is the limit (its deepest existing parent when unset).
                path.push_str("/resources/limits/memory");
                memory_fix(l, m, &f.location.path)
            }
            "readiness-failing" if subclasses.contains(&"probe-port") => {
                path.push_str("/readinessProbe");
                probe_port_fix(m, &manifest_path(l, m, &f.location.path))
            }
            "image-pull" if subclasses.first() == Some(&"not-found") => {
                path.push_str("/image");
                image_fix(m, &manifest_path(l, m, &f.location.path))
            }
            "unschedulable" => {
                let fix = requests_fix(m, &d.hypotheses);
                // The line to change is the request the fix lowers.
                if let Some(FixOp::Replace { path: p, .. }) = fix.as_ref().and_then(|f| f.ops.first()) {
                    path.clone_from(p);
                }
                fix
            }
            _ => None,
        };
        d.manifest = Some(Box::new(ManifestLink { object: ObjectRef::of(m), location: m.locate(&path), fix }));
    }
}

/// The rule whose findings come from usage history: only a live cluster shows them, and their
/// fix belongs in the manifest.
const RIGHT_SIZE: &str = "CST005";

/// Links a right-sizing finding to its manifest: the same container's fields there, by name.
/// A manifest that already asks for what the fix sets (changed, not yet deployed) gets no fix.
fn link_usage_finding(f: &mut crate::model::Finding, live: &[Object], manifests: &[Object]) {
    let Some(l) = live.iter().find(|o| o.file() == f.location.file.as_deref() && ObjectRef::of(o) == *f.object) else {
        return;
    };
    let Some(m) = find_manifest(l, manifests) else { return };
    let fix = f.fix.as_ref().and_then(|fix| {
        let ops: Vec<FixOp> = fix
            .ops
            .iter()
            .filter_map(|op| match op {
                FixOp::Add { path, value } => {
                    let path = manifest_path(l, m, path);
                    (m.get(&path) != Some(value)).then(|| FixOp::Add { path, value: value.clone() })
                }
                _ => None,
            })
            .collect();
        (!ops.is_empty()).then(|| Fix { ops, suggestion: None, patch: None, edit_error: None, ..(**fix).clone() })
    });
    let path = manifest_path(l, m, &f.location.path);
    f.manifest = Some(Box::new(ManifestLink { object: ObjectRef::of(m), location: m.locate(&path), fix }));
}

/// The same deterministic fix as [`link`] gives a manifest, computed on the live object itself
/// (what `remediate` patches when no manifest is given): `None` when the diagnosis has none.
#[must_use]
pub fn live_fix(f: &crate::model::Finding, live: &Object) -> Option<Fix> {
    let d = f.diagnosis.as_ref()?;
    let subclasses: Vec<&str> = d.hypotheses.iter().filter_map(|h| h.subclass.as_deref()).collect();
    match d.class.as_str() {
        "oom-killed" => memory_fix(live, live, &f.location.path),
        "readiness-failing" if subclasses.contains(&"probe-port") => probe_port_fix(live, &f.location.path),
        "image-pull" if subclasses.first() == Some(&"not-found") => image_fix(live, &f.location.path),
        "unschedulable" => requests_fix(live, &d.hypotheses),
        _ => None,
    }
}

/// (group, kind, namespace, name) a live object was deployed as.
fn identity(o: &Object) -> (String, String, Option<String>, String) {
    if let Some(id) = o.annotation(ARGO_TRACKING_ID)
        && let Some((_, rest)) = id.split_once(':')
        && let Some((gk, ns_name)) = rest.split_once(':')
        && let Some((group, kind)) = gk.split_once('/')
    {
        let (ns, name) = ns_name.split_once('/').unwrap_or(("", ns_name));
        let ns = (!ns.is_empty()).then(|| ns.to_string());
        return (group.to_string(), kind.to_string(), ns, name.to_string());
    }
    (o.group().to_string(), o.kind.clone(), o.effective_namespace().map(str::to_string), o.name.clone())
}

/// The manifest a live object was deployed from: the one object of the same (group, kind,
/// namespace, name); a manifest without a namespace counts when no other names one. When several
/// match (the same object in several folders: regions, overlays), the GitOps hints decide, then
/// the copy whose containers run the live images; if that does not single one out, there is no
/// link: a wrong line is worse than none.
fn find_manifest<'a>(live: &Object, manifests: &'a [Object]) -> Option<&'a Object> {
    let (group, kind, ns, name) = identity(live);
    let same_kind = |m: &&Object| api_group(&m.api_version) == group && m.kind == kind;
    let same_ns = |m: &&Object| m.namespace.is_some() && m.effective_namespace().map(str::to_string) == ns;
    let by_name = |name: &dyn Fn(&Object) -> bool| -> Vec<&'a Object> {
        let named: Vec<&Object> = manifests.iter().filter(same_kind).filter(|m| name(m)).collect();
        let scoped: Vec<&Object> = named.iter().copied().filter(same_ns).collect();
        if scoped.is_empty() { named.into_iter().filter(|m| m.namespace.is_none()).collect() } else { scoped }
    };
    let mut candidates = by_name(&|m: &Object| m.name == name);
    if candidates.is_empty()
        && let Some(release) = helm_release(live)
    {
        candidates = by_name(&|m: &Object| renamed_release(m, release, &name));
    }
    if candidates.len() > 1 {
        let applied_from = gitops_paths(live, manifests);
        if !applied_from.is_empty() {
            candidates.retain(|m| applied_from.iter().any(|p| under(&source_dir(m), p)));
        }
    }
    match candidates[..] {
        [] => None,
        [one] => Some(one),
        _ => {
            let live_images = images(live);
            let mut same_images = candidates.into_iter().filter(|m| images(m) == live_images);
            match (same_images.next(), same_images.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        }
    }
}

/// The Helm release a live object belongs to (`helm install`, Flux's helm-controller, Argo CD's
/// Helm source all set the release annotation; older charts only the instance label).
fn helm_release(live: &Object) -> Option<&str> {
    live.annotation("meta.helm.sh/release-name").or_else(|| {
        let labels = live.labels()?;
        let managed = labels.get("app.kubernetes.io/managed-by").and_then(Value::as_str) == Some("Helm");
        managed.then(|| labels.get("app.kubernetes.io/instance").and_then(Value::as_str)).flatten()
    })
}

/// A manifest rendered from a chart under another release name (`helm template` here, `helm
/// install prod` there): its name with its own release replaced by the live one is the live name,
/// and it comes from the same chart.
fn renamed_release(m: &Object, live_release: &str, live_name: &str) -> bool {
    let label = |o: &Object, k: &str| o.labels().and_then(|l| l.get(k)).and_then(Value::as_str).map(str::to_string);
    let Some(ours) = label(m, "app.kubernetes.io/instance") else { return false };
    if label(m, "app.kubernetes.io/managed-by").as_deref() != Some("Helm") || ours.is_empty() {
        return false;
    }
    m.name.replacen(&ours, live_release, 1) == live_name
}

/// Repository paths the live object was applied from, by the Flux objects among the manifests
/// that its labels name: a `Kustomization`'s `spec.path`, a `HelmRelease`'s chart path.
fn gitops_paths(live: &Object, manifests: &[Object]) -> Vec<Vec<String>> {
    let Some(labels) = live.labels() else { return Vec::new() };
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let mut paths = Vec::new();
    for (group, kind, pointer) in [
        ("kustomize.toolkit.fluxcd.io", "Kustomization", "/spec/path"),
        ("helm.toolkit.fluxcd.io", "HelmRelease", "/spec/chart/spec/chart"),
    ] {
        let Some(name) = label(&format!("{group}/name")) else { continue };
        let ns = label(&format!("{group}/namespace"));
        for f in manifests.iter().filter(|m| api_group(&m.api_version) == group && m.kind == kind && m.name == name) {
            if ns.is_some_and(|ns| f.effective_namespace() != Some(ns)) {
                continue;
            }
            if let Some(path) = f.get(pointer).and_then(Value::as_str) {
                paths.push(components(path));
            }
        }
    }
    paths.retain(|p| !p.is_empty());
    paths
}

/// The directory a manifest was built from: the rendered target, else its file's folder.
fn source_dir(m: &Object) -> Vec<String> {
    if let Some(p) = &m.provenance {
        return components(&p.rendered.target);
    }
    let mut c = components(m.file().unwrap_or_default());
    c.pop();
    c
}

/// Normal path components (`.` and empty ones dropped), for comparing paths given from different roots.
fn components(path: &str) -> Vec<String> {
    path.split(['/', '\\']).filter(|c| !c.is_empty() && *c != ".").map(str::to_string).collect()
}

/// `dir` is `path` or below it, where `path` is relative to a repository root that `dir` (relative
/// to wherever the user ran us) may have as any prefix.
fn under(dir: &[String], path: &[String]) -> bool {
    (0..dir.len()).any(|i| dir[i..].starts_with(path))
}

/// Container name → image of an object's pod template, for telling copies of one object apart.
fn images(o: &Object) -> Vec<(String, String)> {
    let Some(w) = Workload::template(o) else { return Vec::new() };
    let mut v: Vec<(String, String)> =
        w.containers().map(|c| (c.name().to_string(), c.image().unwrap_or_default().to_string())).collect();
    v.sort();
    v
}

/// The manifest's pointer for a live pointer: the same container by name (manifests may order
/// containers differently from the live template), else the same path.
fn manifest_path(live: &Object, manifest: &Object, path: &str) -> String {
    let (Some(lw), Some(mw)) = (Workload::template(live), Workload::template(manifest)) else {
        return path.to_string();
    };
    for lc in lw.containers() {
        let Some(rest) = path.strip_prefix(lc.path).filter(|r| r.is_empty() || r.starts_with('/')) else { continue };
        if let Some(mc) = mw.containers().find(|c| c.name() == lc.name()) {
            return format!("{}{rest}", mc.path);
        }
    }
    path.to_string()
}

/// OOMKilled → raise `limits.memory` to the observed peak × 1.5, rounded up to a whole Mi. The
/// container was killed at its live limit, so the peak was at least that.
fn memory_fix(live: &Object, manifest: &Object, live_path: &str) -> Option<Fix> {
    let container_path = manifest_path(live, manifest, live_path);
    let container = manifest.get(&container_path)?;
    let name = container.get("name").and_then(Value::as_str).unwrap_or_default();
    let live_container = live.get(live_path)?;
    let peak = live_container.pointer("/resources/limits/memory").and_then(Quantity::from_json)?.value();
    let manifest_limit =
        container.pointer("/resources/limits/memory").and_then(Quantity::from_json).map(Quantity::value);
    let target = (peak * 1.5 / MI).ceil().max(1.0);
    if manifest_limit.is_some_and(|m| m >= target * MI) {
        // The manifest already asks for more than the live object runs with: it is not deployed yet.
        return None;
    }
    let value = Value::String(format!("{target}Mi"));
    let limit_path = format!("{container_path}/resources/limits/memory");
    let mut ops = vec![FixOp::Add { path: limit_path, value: value.clone().into() }];
    // A request above the new limit would be rejected: keep requests ≤ limits.
    let request = container.pointer("/resources/requests/memory").and_then(Quantity::from_json).map(Quantity::value);
    if request.is_some_and(|r| r > target * MI) {
        ops.push(FixOp::Add { path: format!("{container_path}/resources/requests/memory"), value: value.into() });
    }
    Some(
        Fix::new(format!("Raise limits.memory of container {name} to {target}Mi"), Applicability::Unsafe, ops)
            .with_note(format!(
                "killed at its {} limit: 1.5 × that, rounded up to a Mi; costs more memory per pod",
                crate::quantity::format_bytes(peak)
            )),
    )
}

/// A readiness probe on a port the container does not declare → the container's port, when it
/// declares exactly one.
fn probe_port_fix(manifest: &Object, container_path: &str) -> Option<Fix> {
    let c = manifest.get(container_path)?;
    let probe = c.get("readinessProbe")?;
    let kind = ["httpGet", "tcpSocket", "grpc"].into_iter().find(|k| probe.get(k).is_some())?;
    let ports = c.get("ports").and_then(Value::as_array)?;
    let [only] = &ports[..] else { return None };
    let port = only.get("containerPort")?.clone();
    let path = format!("{container_path}/readinessProbe/{kind}/port");
    let old = probe.pointer(&format!("/{kind}/port")).map(crate::model::value_text).unwrap_or_default();
    Some(
        Fix::new(
            format!(
                "Probe readiness on port {} (the container's port) instead of {old}",
                crate::model::value_text(&port)
            ),
            Applicability::Unsafe,
            vec![FixOp::Replace { path, value: port.into() }],
        )
        .with_note("the probe called a port nothing declares; check the application listens there"),
    )
}

/// An image tag that does not exist → display-only: only the user knows the right tag.
fn image_fix(manifest: &Object, container_path: &str) -> Option<Fix> {
    let image = manifest.get(&format!("{container_path}/image")).and_then(Value::as_str)?;
    let repo = image.split('@').next().unwrap_or(image);
    // The last `:` after the last `/` starts the tag.
    let base = match repo.rsplit_once(':') {
        Some((b, tag)) if !tag.contains('/') => b,
        _ => repo,
    };
    Some(
        Fix::new(
            format!("Use an image tag that exists (`{image}` was not found)"),
            Applicability::DisplayOnly,
            vec![FixOp::Replace {
                path: format!("{container_path}/image"),
                value: Value::String(format!("{base}:<TAG>")).into(),
            }],
        )
        .with_note("pick a tag the registry has (or push this one)"),
    )
}

/// Requests above every node's allocatable → lowered to 90% of the largest node's allocatable, when
/// one container of the pod template requests that resource (unsafe: the application gets less).
fn requests_fix(manifest: &Object, hypotheses: &[crate::model::Hypothesis]) -> Option<Fix> {
    let w = Workload::template(manifest)?;
    for h in hypotheses {
        let Some(res) = h.subclass.as_deref().and_then(|s| s.strip_prefix("insufficient-")) else { continue };
        if !matches!(res, "cpu" | "memory") || !h.cause.contains("more than any node can offer") {
            continue;
        }
        let Some(alloc) = h
            .evidence
            .iter()
            .find(|e| e.path.starts_with("Node/") && e.path.ends_with(&format!("/status/allocatable/{res}")))
            .and_then(|e| Quantity::parse(&e.value))
            .map(Quantity::value)
        else {
            continue;
        };
        let asking: Vec<_> =
            w.containers().filter(|c| c.get(&format!("/resources/requests/{res}")).is_some()).collect();
        let [c] = &asking[..] else { continue };
        let value = if res == "cpu" {
            format!("{}m", ((alloc * 0.9 * 1000.0) / 10.0).floor() * 10.0)
        } else {
            format!("{}Mi", (alloc * 0.9 / MI).floor())
        };
        let path = c.field(&format!("/resources/requests/{res}"));
        let mut ops = vec![FixOp::Replace { path, value: Value::String(value.clone()).into() }];
        // Limits below the new request would be rejected; limits above it stay.
        let limit = c.get(&format!("/resources/limits/{res}")).and_then(Quantity::from_json).map(Quantity::value);
        let new = Quantity::parse(&value).map_or(0.0, Quantity::value);
        if limit.is_some_and(|l| l < new) {
            ops.push(FixOp::Replace {
                path: c.field(&format!("/resources/limits/{res}")),
                value: Value::String(value.clone()).into(),
            });
        }
        return Some(
            Fix::new(format!("Lower requests.{res} of container {} to {value} so a node can fit it", c.name()), Applicability::Unsafe, ops)
                .with_note("90% of the largest node's allocatable; the application gets less than it asked for, or add bigger nodes instead"),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;

    fn obj(v: Value, file: &str) -> Object {
        Object::from_body(v, Origin::File { path: file.into(), document: 0, prefix: String::new() })
    }

    #[test]
    fn tracking_ids_and_unset_namespaces_match() {
        let live = obj(
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api-prod", "namespace": "shop",
                "annotations": {ARGO_TRACKING_ID: "shop:apps/Deployment:shop/api"}}}),
            "dump.json",
        );
        let m1 = obj(
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}}),
            "k8s/a.yaml",
        );
        let m2 =
            obj(serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}}), "k8s/b.yaml");
        let ms = [m2, m1];
        assert_eq!(find_manifest(&live, &ms).map(Object::display_id), Some("Deployment/default/api".to_string()));
        let other = obj(
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}),
            "d",
        );
        assert!(find_manifest(&other, &ms).is_none());
    }

    fn deploy(name: &str, ns: Option<&str>, labels: Value, annotations: Value, file: &str) -> Object {
        let mut meta = serde_json::json!({"name": name, "labels": labels, "annotations": annotations});
        if let Some(ns) = ns {
            meta["namespace"] = ns.into();
        }
        obj(serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta}), file)
    }

    #[test]
    fn a_flux_kustomization_picks_the_copy_under_its_path() {
        let flux = |name: &str, path: &str| {
            obj(
                serde_json::json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                    "metadata": {"name": name, "namespace": "flux-system"}, "spec": {"path": path}}),
                "repo/clusters/flux.yaml",
            )
        };
        let none = serde_json::json!({});
        let ms = [
            flux("apps-eu", "./k8s/eu"),
            flux("apps-us", "./k8s/us/"),
            deploy("api", None, none.clone(), none.clone(), "repo/k8s/eu/api.yaml"),
            deploy("api", None, none.clone(), none.clone(), "repo/k8s/us/api.yaml"),
            deploy("api", None, none.clone(), none.clone(), "repo/k8s/usa/api.yaml"),
        ];
        let live = |ks: &str, ns: &str| {
            deploy(
                "api",
                Some("shop"),
                serde_json::json!({"kustomize.toolkit.fluxcd.io/name": ks, "kustomize.toolkit.fluxcd.io/namespace": ns}),
                none.clone(),
                "dump.json",
            )
        };
        assert_eq!(
            find_manifest(&live("apps-us", "flux-system"), &ms).and_then(Object::file),
            Some("repo/k8s/us/api.yaml")
        );
        assert_eq!(
            find_manifest(&live("apps-eu", "flux-system"), &ms).and_then(Object::file),
            Some("repo/k8s/eu/api.yaml")
        );
        // The Kustomization named in another namespace, or not among the manifests: no guess.
        assert!(find_manifest(&live("apps-us", "elsewhere"), &ms).is_none());
        assert!(find_manifest(&live("apps-asia", "flux-system"), &ms).is_none());
    }

    #[test]
    fn a_helm_release_installed_under_another_name_matches_the_chart_rendered_here() {
        let helm = |instance: &str| serde_json::json!({"app.kubernetes.io/instance": instance, "app.kubernetes.io/managed-by": "Helm"});
        let none = serde_json::json!({});
        // `helm template api charts/api` here; `helm install prod-api charts/api` there.
        let ms = [deploy("api-web", None, helm("api"), none.clone(), "charts/api/templates/deployment.yaml")];
        let live = deploy(
            "prod-api-web",
            Some("shop"),
            helm("prod-api"),
            serde_json::json!({"meta.helm.sh/release-name": "prod-api"}),
            "d",
        );
        assert_eq!(find_manifest(&live, &ms).map(|m| m.name.as_str()), Some("api-web"));
        // Without Helm's marks the names are simply different objects.
        let plain = deploy("prod-api-web", Some("shop"), none.clone(), none.clone(), "d");
        assert!(find_manifest(&plain, &ms).is_none());
        let other = deploy("prod-api-worker", Some("shop"), helm("prod-api"), none, "d");
        assert!(find_manifest(&other, &ms).is_none());
    }
}
