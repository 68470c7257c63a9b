use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Object, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};
use crate::yaml::PointerExt;

const BETA_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

declare_rule! {
    /// ## What it checks
    /// Every PersistentVolumeClaim names its StorageClass (`spec.storageClassName`, or the legacy
    /// `volume.beta.kubernetes.io/storage-class` annotation): standalone claims, StatefulSet
    /// `volumeClaimTemplates`, and generic ephemeral volumes (`volumes[].ephemeral`).
    /// `storageClassName: ""` counts as set: it explicitly asks for a pre-provisioned volume.
    ///
    /// ## Why it matters
    /// Without a class the claim gets whatever the cluster's default StorageClass is: often a
    /// premium SSD in one cluster, a slow disk in another, and nothing at all (the claim stays
    /// `Pending`) where no default exists. The storage cost cannot be estimated from the manifest.
    /// A claim pre-bound to a PersistentVolume (`volumeName`) also gets the default class, and then
    /// does not bind unless the volume has that same class.
    ///
    /// ## Example
    /// ```yaml
    /// kind: PersistentVolumeClaim
    /// spec:
    ///   accessModes: [ReadWriteOnce]
    ///   resources: { requests: { storage: 100Gi } }
    /// ```
    ///
    /// ## Fix
    /// Set `storageClassName` to the class the data needs (for a claim pre-bound to a volume in the
    /// input, the volume's class). The fix is display-only: the class is a choice only the team can
    /// make, and `storageClassName` is immutable, so an existing claim must be recreated
    /// (`kubectl apply` is rejected otherwise).
    pub struct PvcWithoutStorageClass;
    meta {
        id: "CST003",
        name: "pvc-without-storage-class",
        area: Area::Cost,
        severity: Severity::Low,
        default_enabled: true,
        summary: "PersistentVolumeClaim does not name a StorageClass",
        fix: Some(Applicability::DisplayOnly),
        equivalents: Equivalents::NONE,
    }
}

/// Checks one claim spec at `base` (the claim object, or a template holding `metadata` and `spec`).
fn check_claim(cx: &Context<'_>, o: &Object, base: &str, what: &str, out: &mut Vec<Violation>) {
    let class_path = format!("{base}/spec/storageClassName");
    if o.get(&class_path).is_some_and(|v| !v.is_null()) {
        return;
    }
    let annotations = format!("{base}/metadata/annotations");
    if o.get(&annotations).and_then(|a| a.get(BETA_ANNOTATION)).is_some() {
        return;
    }
    let volume_name = o.get(&format!("{base}/spec/volumeName")).and_then(Value::as_str).filter(|n| !n.is_empty());
    let mut v = Violation::new(&class_path, String::new()).evidence(Evidence::unset(&class_path));
    let (message, value, note) = match volume_name {
        Some(pv_name) => {
            let pv_class = cx
                .graph
                .find("PersistentVolume", None, pv_name)
                .and_then(|i| cx.object(i))
                .map(|pv| pv.get("/spec/storageClassName").and_then(Value::as_str).unwrap_or_default().to_string());
            v = v.evidence(Evidence::field(format!("{base}/spec/volumeName"), &json!(pv_name)));
            let value = pv_class.clone().unwrap_or_else(|| "<STORAGE_CLASS>".to_string());
            (
                format!(
                    "{what} is pre-bound to PersistentVolume `{pv_name}` but names no StorageClass: the default class \
                     is assigned and binding fails unless the volume has that class"
                ),
                value,
                if pv_class.is_some() {
                    "uses the volume's class; storageClassName is immutable, so recreate an existing claim"
                } else {
                    "use the volume's storageClassName (\"\" if it has none); storageClassName is immutable, so \
                     recreate an existing claim"
                },
            )
        }
        None => (
            format!("{what} names no StorageClass: it gets the cluster's default class, whatever that costs"),
            "<STORAGE_CLASS>".to_string(),
            "replace <STORAGE_CLASS> with the class the data needs; storageClassName is immutable, so recreate an \
             existing claim",
        ),
    };
    v.message = message;
    out.push(
        v.fix(
            Fix::new(
                "Set storageClassName",
                Applicability::DisplayOnly,
                vec![FixOp::Add { path: class_path, value: json!(value).into() }],
            )
            .with_note(note),
        ),
    );
}

impl Rule for PvcWithoutStorageClass {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if o.kind == "PersistentVolumeClaim" {
            check_claim(cx, o, "", "claim", out);
            return;
        }
        if o.kind == "StatefulSet"
            && let Some(Value::Array(templates)) = o.get("/spec/volumeClaimTemplates")
        {
            for (i, t) in templates.iter().enumerate() {
                let name = t.ptr("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                check_claim(
                    cx,
                    o,
                    &format!("/spec/volumeClaimTemplates/{i}"),
                    &format!("volumeClaimTemplate `{name}`"),
                    out,
                );
            }
        }
        if let Some(w) = cx.workload(idx)
            && let Some(Value::Array(volumes)) = w.spec("/volumes")
        {
            for (i, vol) in volumes.iter().enumerate() {
                if vol.ptr("/ephemeral/volumeClaimTemplate").is_some() {
                    let name = vol.get("name").and_then(Value::as_str).unwrap_or_default();
                    let base = w.spec_field(&format!("/volumes/{i}/ephemeral/volumeClaimTemplate"));
                    check_claim(cx, o, &base, &format!("ephemeral volume `{name}`"), out);
                }
            }
        }
    }
}
