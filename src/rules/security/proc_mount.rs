use serde_json::json;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity, value_text};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No container sets `securityContext.procMount` to anything but `Default`
    /// (in practice: `Unmasked`).
    ///
    /// ## Why it matters
    /// The default `/proc` mount masks and makes read-only the paths that expose the host kernel
    /// (`/proc/kcore`, `/proc/sys`, `/proc/sysrq-trigger`, ...). An unmasked `/proc` hands them to
    /// the container. It is only meant for nested container runtimes in user-namespaced pods.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   procMount: Unmasked
    /// ```
    ///
    /// ## Fix
    /// Set `procMount: Default` (or remove it). The automatic fix sets `Default` and is unsafe:
    /// a nested container runtime that relies on the unmasked `/proc` stops working.
    pub struct ProcMount;
    meta {
        id: "SEC023",
        name: "proc-mount",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container unmasks /proc",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["procMount"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &["KSV027"],
        },
    }
}

impl Rule for ProcMount {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.containers() {
            let Some(v) = c.get("/securityContext/procMount").filter(|v| !v.is_null()) else { continue };
            if v.as_str() == Some("Default") {
                continue;
            }
            let path = c.field("/securityContext/procMount");
            out.push(
                Violation::new(&path, format!("container `{}` sets procMount to {}", c.name(), value_text(v)))
                    .evidence(Evidence::field(&path, v))
                    .fix(
                        Fix::new(
                            "Set procMount to Default",
                            Applicability::Unsafe,
                            vec![FixOp::Replace { path, value: json!("Default").into() }],
                        )
                        .with_note("a nested container runtime relying on the unmasked /proc stops working"),
                    ),
            );
        }
    }
}
