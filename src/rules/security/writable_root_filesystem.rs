use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::container::{Requirement, linux_workload, require_container_field, sets_or};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every container (init containers included) sets `securityContext.readOnlyRootFilesystem: true`.
    /// The field exists only on containers; a pod-level value is ignored by Kubernetes and here.
    /// Windows pods (`spec.os.name: windows`) are skipped.
    ///
    /// ## Why it matters
    /// A writable root filesystem lets an intruder drop tools and binaries into the container,
    /// or change its configuration, and it hides state in a place that disappears on restart.
    /// Writable paths the app really needs belong on explicit volumes (`emptyDir`).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: web
    ///     image: nginx:1.27
    /// ```
    ///
    /// ## Fix
    /// ```yaml
    ///     securityContext:
    ///       readOnlyRootFilesystem: true
    ///     volumeMounts:
    ///       - { name: tmp, mountPath: /tmp }   # for each path the app writes to
    /// ```
    /// The automatic fix sets the field to true and is unsafe: an app that writes outside its
    /// volumes (caches, `/tmp`, pid files) fails until those paths get `emptyDir` volumes.
    pub struct WritableRootFilesystem;
    meta {
        id: "SEC004",
        name: "writable-root-filesystem",
        area: Area::Security,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container root filesystem is writable",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["notReadOnlyRootFilesystem"],
            kube_score: &["container-security-context-readonlyrootfilesystem"],
            kube_linter: &["no-read-only-root-fs"],
            checkov: &["CKV_K8S_22"],
            trivy: &["KSV014"],
        },
    }
}

impl Rule for WritableRootFilesystem {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = linux_workload(cx, idx) else { return };
        let req = Requirement {
            field: "readOnlyRootFilesystem",
            want: json!(true),
            title: "Make the root filesystem read-only",
            note: "mount emptyDir volumes on the paths the app writes to",
        };
        for c in w.containers() {
            let ok = |v: Option<&Value>| v.and_then(Value::as_bool) == Some(true);
            let message =
                |v: Option<&Value>| sets_or(&c, "readOnlyRootFilesystem", v, "has a writable root filesystem");
            out.extend(require_container_field(&c, &req, ok, message));
        }
    }
}
