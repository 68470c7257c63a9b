use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, Severity};
use crate::rules::container::{ContainerField, EffectiveField, effective_field, linux_workload};
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
        let Some(w) = linux_workload(cx, idx) else { return };
        for c in w.containers() {
            let user = effective_field(w, &c, "runAsUser");
            let non_root = effective_field(w, &c, "runAsNonRoot");
            let uid = user.value.and_then(Value::as_i64);
            let from_pod = |f: &EffectiveField<'_>| if f.from_pod { ", set on the pod" } else { "" };
            // Reported on the container, so each container has its own finding even when the pod sets the value.
            let container_user = ContainerField::of(&c, "runAsUser");
            let container_non_root = ContainerField::of(&c, "runAsNonRoot");
            if uid == Some(0) {
                let mut v = Violation::new(
                    &container_user.path,
                    format!("container `{}` runs as root (runAsUser: 0{})", c.name(), from_pod(&user)),
                )
                .evidence(Evidence::field(&user.path, &json!(0)));
                if non_root.value.is_some() {
                    v = v.evidence(non_root.evidence());
                }
                out.push(v);
                continue;
            }
            if uid.is_some_and(|u| u > 0) || non_root.value.and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let message = match non_root.value {
                Some(n) => format!(
                    "container `{}` sets runAsNonRoot to {}{}",
                    c.name(),
                    crate::model::value_text(n),
                    from_pod(&non_root)
                ),
                None => format!(
                    "container `{}` may run as root: neither runAsNonRoot: true nor a non-root runAsUser is set",
                    c.name()
                ),
            };
            let v = Violation::new(&container_non_root.path, message)
                .evidence(non_root.evidence())
                .evidence(user.evidence())
                .fix(
                    Fix::new(
                        "Set runAsNonRoot to true",
                        Applicability::Unsafe,
                        vec![container_non_root.set(json!(true))],
                    )
                    .with_note(
                        "an image whose user is root will no longer start; set runAsUser if it has no numeric USER",
                    ),
                );
            out.push(v);
        }
    }
}
