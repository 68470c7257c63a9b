use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::container::{ContainerField, effective_field, linux_workload, pod_field};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

fn confining(v: Option<&Value>) -> bool {
    matches!(v.and_then(Value::as_str), Some("RuntimeDefault" | "Localhost"))
}

declare_rule! {
    /// ## What it checks
    /// Every container runs under a seccomp profile: its effective `seccompProfile.type` is
    /// `RuntimeDefault` or `Localhost`. A container's `securityContext.seccompProfile` overrides the
    /// pod's `securityContext.seccompProfile`, as in Kubernetes, so a container set to `Unconfined`
    /// is reported even when the pod sets `RuntimeDefault`. The pre-1.19 seccomp annotations are
    /// not read (Kubernetes 1.27 stopped honouring them). Windows pods are skipped.
    ///
    /// Containers without a profile of their own are reported once, on the pod spec;
    /// containers that set a non-confining profile themselves are reported one by one.
    ///
    /// ## Why it matters
    /// Without a seccomp profile the container may call every system call the kernel offers,
    /// including rarely used ones behind many container escapes. `RuntimeDefault` blocks the
    /// dangerous ones and almost never breaks applications.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///     - name: web
    ///       image: nginx:1.27
    /// ```
    ///
    /// ## Fix
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     seccompProfile:
    ///       type: RuntimeDefault
    /// ```
    /// The automatic fix sets that pod-level profile (or replaces a container's non-confining type
    /// with `RuntimeDefault`) and is unsafe: a program that uses a system call the runtime's
    /// default profile blocks fails.
    pub struct MissingSeccompProfile;
    meta {
        id: "SEC013",
        name: "missing-seccomp-profile",
        area: Area::Security,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container runs without a seccomp profile",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents::NONE,
    }
}

impl Rule for MissingSeccompProfile {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = linux_workload(cx, idx) else { return };
        let (pod_type, pod_type_path) = pod_field(w, "seccompProfile/type");
        let mut uncovered = Vec::new();
        for c in w.containers() {
            // The container's own profile overrides the pod's; containers without one inherit it.
            let effective = effective_field(w, &c, "seccompProfile/type");
            if confining(effective.value) {
                continue;
            }
            if effective.from_pod || effective.value.is_none() {
                uncovered.push(c);
                continue;
            }
            let own = ContainerField::of(&c, "seccompProfile/type");
            let shown = own.value.map(crate::model::value_text).unwrap_or_default();
            let message = format!("container `{}` sets seccomp profile {shown}", c.name());
            out.push(
                Violation::new(&own.path, message).evidence(own.evidence()).fix(
                    Fix::new(
                        "Use the RuntimeDefault seccomp profile",
                        Applicability::Unsafe,
                        vec![own.set(json!("RuntimeDefault"))],
                    )
                    .with_note("a program using a system call the default profile blocks fails"),
                ),
            );
        }
        if uncovered.is_empty() {
            return;
        }
        let names: Vec<String> = uncovered.iter().map(|c| format!("`{}`", c.name())).collect();
        let (path, message, op) = match pod_type {
            Some(t) => {
                let path = pod_type_path.clone();
                let msg = format!(
                    "the pod's seccomp profile is {} and container{} {} set{} none",
                    crate::model::value_text(t),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", "),
                    if names.len() == 1 { "s" } else { "" },
                );
                (path.clone(), msg, FixOp::Replace { path, value: json!("RuntimeDefault").into() })
            }
            None => {
                let path = w.spec_field("/securityContext/seccompProfile");
                let msg = format!(
                    "no seccomp profile applies to container{} {}",
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", ")
                );
                let op = if w.spec("/securityContext/seccompProfile").is_some_and(Value::is_object) {
                    FixOp::Add { path: format!("{path}/type"), value: json!("RuntimeDefault").into() }
                } else {
                    FixOp::Add { path: path.clone(), value: json!({"type": "RuntimeDefault"}).into() }
                };
                (path, msg, op)
            }
        };
        let mut v = Violation::new(&path, message);
        v = match pod_type {
            Some(t) => v.evidence(Evidence::field(&path, t)),
            None => v.evidence(Evidence::unset(&pod_type_path)),
        };
        for c in &uncovered {
            v = v.evidence(Evidence::unset(c.field("/securityContext/seccompProfile/type")));
        }
        out.push(
            v.fix(
                Fix::new("Set the pod's seccomp profile to RuntimeDefault", Applicability::Unsafe, vec![op])
                    .with_note("a program using a system call the default profile blocks fails"),
            ),
        );
    }
}
