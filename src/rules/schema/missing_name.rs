use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Object, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every object has a non-empty `metadata.name` (or `metadata.generateName`).
    ///
    /// Component and tool configuration files (`*.config.k8s.io` such as
    /// `KubeSchedulerConfiguration`, kubeadm, audit policies, admission plugin configurations,
    /// kubeconfigs, Kustomize files) are not API objects: they are listed as skipped when read, not
    /// checked. Documents of a custom API group without any `metadata` are taken for other tools'
    /// configuration files and not checked either.
    ///
    /// ## Why it matters
    /// The API server rejects an object without a name (`resource name may not be empty`), so
    /// the whole apply fails. Usually a templating value came out empty.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ConfigMap
    /// metadata:
    ///   name: ""        # {{ .Values.name }} was not set
    /// ```
    ///
    /// ## Fix
    /// Give the object a name. The fix is display-only: it writes a `<NAME>` placeholder to replace.
    pub struct MissingName;
    meta {
        id: "SCH003",
        name: "missing-name",
        area: Area::Schema,
        severity: Severity::High,
        default_enabled: true,
        summary: "Object has no metadata.name",
        fix: Some(Applicability::DisplayOnly),
        equivalents: Equivalents::NONE,
    }
}

/// Whether a document is a tool's configuration file rather than an API object. Sources skip the
/// known ones already; objects from elsewhere get the same answer here.
fn is_config_file(o: &Object) -> bool {
    crate::kinds::config_file(&o.api_version, &o.kind).is_some()
        || (o.get("/metadata").is_none() && !crate::kinds::is_builtin_group(o.group()))
}

impl Rule for MissingName {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        let named = |p: &str| o.get(p).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
        if named("/metadata/name") || named("/metadata/generateName") || is_config_file(o) {
            return;
        }
        let evidence = match o.get("/metadata/name") {
            Some(Value::String(s)) => Evidence::note("/metadata/name", format!("{s:?}")),
            Some(v) => Evidence::field("/metadata/name", v),
            None => Evidence::unset("/metadata/name"),
        };
        out.push(
            Violation::new("/metadata/name", format!("{} has no name: the API server rejects it", o.kind))
                .evidence(evidence)
                .fix(
                    Fix::new(
                        "Name the object",
                        Applicability::DisplayOnly,
                        vec![FixOp::Add { path: "/metadata/name".to_string(), value: json!("<NAME>").into() }],
                    )
                    .with_note("replace <NAME> with the object's name"),
                ),
        );
    }
}
