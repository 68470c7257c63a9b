use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::security::common::is_windows;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every container is kept from running as root: its effective `runAsUser` is not 0, and either
    /// that user is set (1 or more) or `runAsNonRoot: true` applies.
    /// Container `securityContext` values override the pod's `securityContext`, as in Kubernetes:
    /// `runAsNonRoot: false` on a container undoes `runAsNonRoot: true` on the pod.
    /// Windows pods (`spec.os.name: windows`) are skipped.
    ///
    /// ## Why it matters
    /// Without these settings the container runs as whatever user the image declares, usually root.
    /// Root in a container is one kernel bug or one misconfigured mount away from root on the node.
    /// `runAsNonRoot: true` makes the kubelet refuse to start a container whose user is root.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///     - name: web
    ///       image: nginx:1.27
    ///       securityContext:
    ///         runAsNonRoot: false
    /// ```
    ///
    /// ## Fix
    /// ```yaml
    ///       securityContext:
    ///         runAsNonRoot: true
    /// ```
    /// and, if the image does not declare a numeric non-root `USER`, a `runAsUser` such as 10001.
    /// The automatic fix sets `runAsNonRoot: true` on the container and is unsafe: an image that
    /// runs as root no longer starts. A container with `runAsUser: 0` gets no automatic fix,
    /// because the right user id depends on the image.
    pub struct RunAsRoot;
    meta {
        id: "SEC003",
        name: "run-as-root",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container may run as root",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["runAsRootAllowed"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for RunAsRoot {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        if is_windows(w) {
            return;
        }
        for c in w.containers() {
            // Effective values and the path that sets them: container first, then pod.
            let pick = |field: &str| -> (Option<&Value>, String) {
                let rel = format!("/securityContext/{field}");
                match c.get(&rel).filter(|x| !x.is_null()) {
                    Some(v) => (Some(v), c.field(&rel)),
                    None => match w.spec(&rel).filter(|x| !x.is_null()) {
                        Some(v) => (Some(v), w.spec_field(&rel)),
                        None => (None, c.field(&rel)),
                    },
                }
            };
            let (user, user_path) = pick("runAsUser");
            let (non_root, non_root_path) = pick("runAsNonRoot");
            let uid = user.and_then(Value::as_i64);
            let from_pod = |p: &str| if p.starts_with(c.path) { "" } else { ", set on the pod" };
            // Reported on the container, so each container has its own finding even when the pod sets the value.
            let container_user = c.field("/securityContext/runAsUser");
            let container_non_root = c.field("/securityContext/runAsNonRoot");
            if uid == Some(0) {
                let mut v = Violation::new(
                    &container_user,
                    format!("container `{}` runs as root (runAsUser: 0{})", c.name(), from_pod(&user_path)),
                )
                .evidence(Evidence::field(&user_path, &json!(0)));
                if let Some(n) = non_root {
                    v = v.evidence(Evidence::field(&non_root_path, n));
                }
                out.push(v);
                continue;
            }
            if uid.is_some_and(|u| u > 0) || non_root.and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let (message, op) = match non_root {
                Some(n) => (
                    format!(
                        "container `{}` sets runAsNonRoot to {}{}",
                        c.name(),
                        crate::model::value_text(n),
                        from_pod(&non_root_path)
                    ),
                    if non_root_path == container_non_root {
                        FixOp::Replace { path: container_non_root.clone(), value: json!(true) }
                    } else {
                        FixOp::Add { path: container_non_root.clone(), value: json!(true) }
                    },
                ),
                None => (
                    format!(
                        "container `{}` may run as root: neither runAsNonRoot: true nor a non-root runAsUser is set",
                        c.name()
                    ),
                    FixOp::Add { path: container_non_root.clone(), value: json!(true) },
                ),
            };
            let v = Violation::new(&container_non_root, message)
                .evidence(
                    non_root.map_or_else(|| Evidence::unset(&non_root_path), |n| Evidence::field(&non_root_path, n)),
                )
                .evidence(user.map_or_else(|| Evidence::unset(&user_path), |u| Evidence::field(&user_path, u)))
                .fix(Fix::new("Set runAsNonRoot to true", Applicability::Unsafe, vec![op]).with_note(
                    "an image whose user is root will no longer start; set runAsUser if it has no numeric USER",
                ));
            out.push(v);
        }
    }
}
