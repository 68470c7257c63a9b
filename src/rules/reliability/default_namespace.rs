use serde_json::json;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No namespaced object says `metadata.namespace: default` explicitly.
    ///
    /// Objects *without* a namespace are not flagged: manifests often leave it out on purpose so that
    /// `kubectl apply -n <ns>`, Helm (`--namespace`) or Kustomize (`namespace:`) decide where they go.
    /// Objects Kubernetes itself keeps in `default` (the `kubernetes` Service and its endpoints, the
    /// `default` ServiceAccount, the `kube-root-ca.crt` ConfigMap, Events) are skipped, so live audits
    /// only report what someone deployed there.
    ///
    /// ## Why it matters
    /// The `default` namespace is where everything lands that nobody placed: workloads there share
    /// ResourceQuotas, LimitRanges, NetworkPolicies and RBAC with every stray `kubectl run`, and cannot
    /// be given their own. Naming it explicitly pins the object there even when the deploy tool is told
    /// to use another namespace.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   name: web
    ///   namespace: default
    /// ```
    ///
    /// ## Fix
    /// Put the application in its own namespace (or drop the field and choose it at deploy time). The fix
    /// is display-only: moving an object changes which Services, ConfigMaps and Secrets it can see, so it
    /// shows a `<NAMESPACE>` placeholder.
    pub struct DefaultNamespace;
    meta {
        id: "REL019",
        name: "default-namespace",
        area: Area::Reliability,
        severity: Severity::Low,
        default_enabled: true,
        summary: "Object is placed in the default namespace explicitly",
        fix: Some(Applicability::DisplayOnly),
        equivalents: Equivalents::NONE,
    }
}

/// Objects Kubernetes creates in `default` by itself.
fn is_system_object(kind: &str, name: &str) -> bool {
    matches!(
        (kind, name),
        ("Service" | "Endpoints" | "EndpointSlice", "kubernetes")
            | ("ServiceAccount", "default")
            | ("ConfigMap", "kube-root-ca.crt")
            | ("Event", _)
    )
}

impl Rule for DefaultNamespace {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.namespace.as_deref() != Some("default")
            || crate::kinds::is_cluster_scoped(&o.kind)
            || is_system_object(&o.kind, &o.name)
        {
            return;
        }
        let path = "/metadata/namespace";
        out.push(
            Violation::new(path, format!("{} `{}` is placed in the `default` namespace", o.kind, o.name))
                .evidence(Evidence::field(path, &json!("default")))
                .fix(
                    Fix::new(
                        "Move it to its own namespace",
                        Applicability::DisplayOnly,
                        vec![FixOp::Replace { path: path.to_string(), value: json!("<NAMESPACE>").into() }],
                    )
                    .with_note("replace <NAMESPACE>; objects it refers to must move with it"),
                ),
        );
    }
}
