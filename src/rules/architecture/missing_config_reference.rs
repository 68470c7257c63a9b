use std::collections::BTreeMap;

use serde_json::Value;

use crate::declare_rule;
use crate::graph::{Reference, workload_references};
use crate::model::{Area, Evidence, Object, Severity};
use crate::rules::architecture::{creatable_at_runtime, named_after_custom_resource};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

/// ConfigMaps Kubernetes or a mesh creates in every namespace.
const ALWAYS_PRESENT: &[&str] = &["kube-root-ca.crt", "openshift-service-ca.crt", "istio-ca-root-cert"];

declare_rule! {
    /// ## What it checks
    /// Every ConfigMap and Secret a workload's pods read through `env[].valueFrom`, `envFrom`,
    /// `configMap`/`secret` volumes or projected volumes, without `optional: true`, is in the input.
    ///
    /// Secrets in particular are often created outside git (sealed or external secrets, CI, an
    /// operator), so the rule stays silent when:
    /// - the input holds no object of that kind (ConfigMap or Secret) in the workload's namespace
    ///   (those objects are managed elsewhere);
    /// - a cert-manager `Certificate` (`spec.secretName`), `SealedSecret` or `ExternalSecret`
    ///   (`spec.target.name`) in the namespace produces it;
    /// - a custom resource of the namespace has its name, or is a prefix of it followed by `-`
    ///   (CephCluster `rook-ceph` makes ConfigMap `rook-ceph-mon-endpoints`);
    /// - RBAC in the input lets something running in the namespace `create` that kind (a Role bound
    ///   there, or a ClusterRole bound to one of its ServiceAccounts, without `resourceNames` or
    ///   naming it): Argo CD's `argocd-redis` Secret is created this way by an init container;
    /// - the ConfigMap is one Kubernetes or the mesh creates in every namespace (`kube-root-ca.crt`,
    ///   `openshift-service-ca.crt`, `istio-ca-root-cert`).
    ///
    /// `imagePullSecrets` are not checked: a missing pull secret does not stop a pod (the kubelet
    /// pulls anonymously), and they are almost always created outside the manifests.
    ///
    /// ## Why it matters
    /// A pod that reads a missing ConfigMap or Secret never starts: `CreateContainerConfigError`
    /// for environment references, `ContainerCreating` with `FailedMount` events for volumes.
    ///
    /// ## Example
    /// ```yaml
    /// envFrom:
    ///   - configMapRef: { name: web-config }   # the ConfigMap is named web-settings
    /// ```
    ///
    /// ## Fix
    /// Fix the name, add the object, or mark the reference `optional: true` if the pod works
    /// without it. There is no automatic fix: which one is right cannot be known.
    pub struct MissingConfigReference;
    meta {
        id: "ARC005",
        name: "missing-configmap-or-secret",
        area: Area::Architecture,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Pod reads a ConfigMap or Secret absent from the input",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// Whether some object of the namespace creates this Secret.
fn secret_produced_by(o: &Object, name: &str) -> bool {
    let s = |p: &str| o.get(p).and_then(Value::as_str);
    match o.kind.as_str() {
        "Certificate" => s("/spec/secretName") == Some(name),
        "SealedSecret" => o.name == name || s("/spec/template/metadata/name") == Some(name),
        "ExternalSecret" | "ClusterExternalSecret" => s("/spec/target/name").map_or(o.name == name, |t| t == name),
        _ => false,
    }
}

impl Rule for MissingConfigReference {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let ns = w.object.effective_namespace().unwrap_or("default");
        let mut missing: BTreeMap<(&'static str, String), Vec<Reference>> = BTreeMap::new();
        let mut order = Vec::new();
        for r in workload_references(w) {
            if !matches!(r.kind, "ConfigMap" | "Secret") || r.optional || r.path.contains("/imagePullSecrets/") {
                continue;
            }
            if r.kind == "ConfigMap" && ALWAYS_PRESENT.contains(&r.name.as_str()) {
                continue;
            }
            if cx.graph.find(r.kind, Some(ns), &r.name).is_some() || cx.graph.count(r.kind, Some(ns)) == 0 {
                continue;
            }
            let resource = if r.kind == "Secret" { "secrets" } else { "configmaps" };
            let produced = named_after_custom_resource(cx, ns, &r.name)
                || creatable_at_runtime(cx, resource, ns, &r.name)
                || (r.kind == "Secret"
                    && cx
                        .objects
                        .iter()
                        .any(|o| o.effective_namespace() == Some(ns) && secret_produced_by(o, &r.name)));
            if produced {
                continue;
            }
            let key = (r.kind, r.name.clone());
            if !missing.contains_key(&key) {
                order.push(key.clone());
            }
            missing.entry(key).or_default().push(r);
        }
        for key in order {
            let Some(refs) = missing.get(&key) else { continue };
            let (kind, name) = &key;
            let present = cx.graph.count(kind, Some(ns));
            let mut v = Violation::new(
                refs[0].path.clone(),
                format!(
                    "{kind} `{name}` is not in the input ({present} other {kind}(s) in namespace `{ns}`) and the \
                     reference is not optional: pods will not start"
                ),
            )
            .evidence(Evidence::note("graph", format!("no {kind} `{name}` in namespace `{ns}`")));
            for r in refs {
                v = v.evidence(Evidence::field(&r.path, &Value::String(r.name.clone())));
            }
            out.push(v);
        }
    }
}
