use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::container::{ContainerField, Requirement, linux_workload, require_container_field, sets_or};
use crate::rules::security::common::normalize_cap;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation, is_true};

declare_rule! {
    /// ## What it checks
    /// Every container sets `securityContext.allowPrivilegeEscalation: false`.
    /// The field exists only on containers: a pod-level value is ignored by Kubernetes and here.
    /// A container that is privileged or adds `SYS_ADMIN` can always escalate, whatever the field says,
    /// so it is reported even with `allowPrivilegeEscalation: false` — except `privileged: true`,
    /// which SEC001 owns: one problem, one finding (after SEC001's fix, this rule checks the field).
    /// Windows pods (`spec.os.name: windows`) are skipped.
    ///
    /// ## Why it matters
    /// Unless escalation is disabled, a process can gain more privileges than its parent
    /// (setuid binaries, file capabilities): one compromised process becomes root in the container,
    /// the first step towards escaping it. Setting the field to false sets `no_new_privs`.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: web
    ///     image: nginx:1.27
    ///     securityContext:
    ///       allowPrivilegeEscalation: true
    /// ```
    ///
    /// ## Fix
    /// ```yaml
    ///     securityContext:
    ///       allowPrivilegeEscalation: false
    /// ```
    /// The automatic fix sets the field to false and is unsafe: programs that rely on setuid
    /// binaries (`sudo`, `su`, some `ping` builds) stop gaining privileges.
    /// Privileged or `SYS_ADMIN` containers get no automatic fix: the API rejects
    /// `allowPrivilegeEscalation: false` next to `privileged: true`; remove those first (SEC001, SEC005).
    pub struct PrivilegeEscalationAllowed;
    meta {
        id: "SEC002",
        name: "privilege-escalation-allowed",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container may gain more privileges than its parent process",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["privilegeEscalationAllowed"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &["CKV_K8S_20"],
            trivy: &["KSV001"],
        },
    }
}

impl Rule for PrivilegeEscalationAllowed {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = linux_workload(cx, idx) else { return };
        let req = Requirement {
            field: "allowPrivilegeEscalation",
            want: json!(false),
            title: "Set allowPrivilegeEscalation to false",
            note: "setuid programs such as sudo stop gaining privileges",
        };
        for c in w.containers() {
            let privileged = ContainerField::of(&c, "privileged");
            let add = ContainerField::of(&c, "capabilities/add");
            let sys_admin = add
                .value
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().filter_map(Value::as_str).any(|s| normalize_cap(s) == "SYS_ADMIN"));
            if is_true(privileged.value) && cx.runs("SEC001") {
                // SEC001 owns `privileged: true`: one problem, one finding.
                continue;
            }
            if is_true(privileged.value) || sys_admin {
                // No fix: the API rejects allowPrivilegeEscalation: false next to these.
                let (cause, why) = if is_true(privileged.value) {
                    (privileged, "it is privileged")
                } else {
                    (add, "it adds SYS_ADMIN")
                };
                let v = Violation::new(&cause.path, format!("container `{}` can escalate privileges: {why}", c.name()))
                    .evidence(cause.evidence())
                    .evidence(ContainerField::of(&c, req.field).evidence());
                out.push(v);
                continue;
            }
            let ok = |v: Option<&Value>| v.and_then(Value::as_bool) == Some(false);
            let message = |v: Option<&Value>| sets_or(&c, req.field, v, "does not set allowPrivilegeEscalation: false");
            out.extend(require_container_field(&c, &req, ok, message));
        }
    }
}
