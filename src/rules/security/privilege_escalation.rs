use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::security::common::{is_windows, normalize_cap};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation, is_true};

declare_rule! {
    /// ## What it checks
    /// Every container sets `securityContext.allowPrivilegeEscalation: false`.
    /// The field exists only on containers: a pod-level value is ignored by Kubernetes and here.
    /// A container that is privileged or adds `SYS_ADMIN` can always escalate, whatever the field says,
    /// so it is reported even with `allowPrivilegeEscalation: false`.
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
        let Some(w) = cx.workload(idx) else { return };
        if is_windows(w) {
            return;
        }
        for c in w.containers() {
            let path = c.field("/securityContext/allowPrivilegeEscalation");
            let value = c.get("/securityContext/allowPrivilegeEscalation");
            let privileged = is_true(c.get("/securityContext/privileged"));
            let sys_admin = c
                .get("/securityContext/capabilities/add")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().filter_map(Value::as_str).any(|s| normalize_cap(s) == "SYS_ADMIN"));
            if privileged || sys_admin {
                let (cause_path, cause, cause_value) = if privileged {
                    (c.field("/securityContext/privileged"), "it is privileged", json!(true))
                } else {
                    let add = c.get("/securityContext/capabilities/add").cloned().unwrap_or(Value::Null);
                    (c.field("/securityContext/capabilities/add"), "it adds SYS_ADMIN", add)
                };
                let v =
                    Violation::new(&cause_path, format!("container `{}` can escalate privileges: {cause}", c.name()))
                        .evidence(Evidence::field(&cause_path, &cause_value))
                        .evidence(value.map_or_else(|| Evidence::unset(&path), |x| Evidence::field(&path, x)));
                out.push(v);
                continue;
            }
            if value.and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let (evidence, op, message) = match value {
                Some(x) if !x.is_null() => (
                    Evidence::field(&path, x),
                    FixOp::Replace { path: path.clone(), value: json!(false) },
                    format!(
                        "container `{}` sets allowPrivilegeEscalation to {}",
                        c.name(),
                        crate::model::value_text(x)
                    ),
                ),
                _ => (
                    Evidence::unset(&path),
                    FixOp::Add { path: path.clone(), value: json!(false) },
                    format!("container `{}` does not set allowPrivilegeEscalation: false", c.name()),
                ),
            };
            out.push(
                Violation::new(&path, message).evidence(evidence).fix(
                    Fix::new("Set allowPrivilegeEscalation to false", Applicability::Unsafe, vec![op])
                        .with_note("setuid programs such as sudo stop gaining privileges"),
                ),
            );
        }
    }
}
