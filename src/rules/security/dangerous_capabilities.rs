use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::security::common::normalize_cap;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

/// Capabilities that amount to control of the node or of its network.
pub const DANGEROUS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "BPF",
    "DAC_READ_SEARCH",
];

declare_rule! {
    /// ## What it checks
    /// No container adds a dangerous Linux capability in `securityContext.capabilities.add`:
    /// `ALL`, `SYS_ADMIN`, `NET_ADMIN`, `SYS_MODULE`, `SYS_PTRACE`, `SYS_RAWIO`, `SYS_BOOT`,
    /// `SYS_TIME`, `BPF` or `DAC_READ_SEARCH`. Names are compared as the runtime reads them:
    /// case-insensitive, with or without the `CAP_` prefix.
    /// (Polaris's `dangerousCapabilities` knows the first three.)
    ///
    /// ## Why it matters
    /// `SYS_ADMIN` is nearly root on the node (mounts, namespaces, BPF); `NET_ADMIN` reconfigures
    /// the node's network and firewall; `SYS_MODULE` loads kernel modules; `SYS_PTRACE` reads other
    /// processes' memory; `ALL` grants all of them. Each is a short path out of the container.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: ["NET_ADMIN", "CHOWN"]
    /// ```
    ///
    /// ## Fix
    /// Remove the dangerous capabilities and keep only what the process needs:
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: ["CHOWN"]
    /// ```
    /// The automatic fix removes the dangerous entries (or the whole `add` list when nothing else
    /// is left) and is unsafe: a workload that really manages the network or the host stops working.
    pub struct DangerousCapabilities;
    meta {
        id: "SEC005",
        name: "dangerous-capabilities",
        area: Area::Security,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container adds a dangerous Linux capability",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["dangerousCapabilities"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for DangerousCapabilities {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.containers() {
            let Some(Value::Array(add)) = c.get("/securityContext/capabilities/add") else { continue };
            let dangerous = |v: &Value| v.as_str().is_some_and(|s| DANGEROUS.contains(&normalize_cap(s).as_str()));
            let bad: Vec<&str> = add.iter().filter(|v| dangerous(v)).filter_map(Value::as_str).collect();
            if bad.is_empty() {
                continue;
            }
            let path = c.field("/securityContext/capabilities/add");
            let keep: Vec<&Value> = add.iter().filter(|v| !dangerous(v)).collect();
            let op = if keep.is_empty() {
                FixOp::Remove { path: path.clone() }
            } else {
                FixOp::Replace { path: path.clone(), value: json!(keep).into() }
            };
            out.push(
                Violation::new(
                    &path,
                    format!("container `{}` adds dangerous capabilities: {}", c.name(), bad.join(", ")),
                )
                .evidence(Evidence::field(&path, &Value::Array(add.clone())))
                .fix(
                    Fix::new(format!("Stop adding {}", bad.join(", ")), Applicability::Unsafe, vec![op])
                        .with_note("a workload that really manages the host or its network stops working"),
                ),
            );
        }
    }
}
