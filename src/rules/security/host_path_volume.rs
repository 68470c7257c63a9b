use serde_json::Value;

use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No pod volume is a `hostPath` volume.
    ///
    /// ## Why it matters
    /// A `hostPath` volume exposes the node's filesystem to the pod. Writable mounts of paths such
    /// as `/`, `/etc`, `/var/lib/kubelet` or the container runtime socket hand over the node;
    /// even read-only mounts leak credentials and other tenants' data. Pods with `hostPath`
    /// volumes are also tied to what one node happens to have on disk.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    ///   - name: logs
    ///     hostPath:
    ///       path: /var/log
    /// ```
    ///
    /// ## Fix
    /// Use an `emptyDir`, a PersistentVolumeClaim, a ConfigMap or Secret, or a CSI volume instead.
    /// Node agents that must read the host should be exempted with a reason and mount read-only.
    /// There is no automatic fix: the replacement depends on what the volume is for.
    pub struct HostPathVolume;
    meta {
        id: "SEC010",
        name: "host-path-volume",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Pod mounts a hostPath volume",
        fix: None,
        equivalents: Equivalents {
            polaris: &["hostPathSet"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &["KSV023"],
        },
    }
}

impl Rule for HostPathVolume {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let Some(Value::Array(volumes)) = w.spec("/volumes") else { return };
        for (i, v) in volumes.iter().enumerate() {
            let Some(hp) = v.get("hostPath").filter(|h| !h.is_null()) else { continue };
            let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
            let path = w.spec_field(&format!("/volumes/{i}/hostPath"));
            let host_path = hp.get("path").and_then(Value::as_str);
            let message = match host_path {
                Some(p) => format!("volume `{name}` mounts the node's `{p}` (hostPath)"),
                None => format!("volume `{name}` is a hostPath volume"),
            };
            let mut viol = Violation::new(&path, message);
            viol = match hp.get("path") {
                Some(p) => viol.evidence(Evidence::field(format!("{path}/path"), p)),
                None => viol.evidence(Evidence::field(&path, hp)),
            };
            out.push(viol);
        }
    }
}
