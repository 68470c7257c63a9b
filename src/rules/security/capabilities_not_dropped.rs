use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::container::{Requirement, linux_workload, require_container_field};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

/// The capabilities container runtimes grant by default (plus `NET_ADMIN`), as Polaris lists them:
/// dropping all of them is as good as dropping `ALL`.
pub const DEFAULT_CAPS: &[&str] = &[
    "NET_ADMIN",
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

declare_rule! {
    /// ## What it checks
    /// Every container drops the capabilities the runtime grants by default:
    /// `securityContext.capabilities.drop` contains `ALL`, or lists every default capability
    /// (`NET_RAW`, `CHOWN`, `DAC_OVERRIDE`, `FOWNER`, `FSETID`, `KILL`, `MKNOD`, `NET_BIND_SERVICE`,
    /// `SETFCAP`, `SETGID`, `SETPCAP`, `SETUID`, `SYS_CHROOT`, `AUDIT_WRITE`, and `NET_ADMIN`).
    /// Names are case-insensitive and must not carry the `CAP_` prefix (containerd prefixes them
    /// itself, so `CAP_ALL` is not read as `ALL`). Pod-level `capabilities` do not exist in Kubernetes
    /// and are ignored. Windows pods are skipped.
    ///
    /// ## Why it matters
    /// The defaults include `NET_RAW` (forge packets, spoof ARP/DNS on the pod network),
    /// `SETUID`/`SETGID`, `DAC_OVERRIDE` (ignore file permissions) and `MKNOD`.
    /// Most applications need none of them; an intruder can use all of them.
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
    ///       capabilities:
    ///         drop: ["ALL"]
    ///         add: ["NET_BIND_SERVICE"]   # only what the process needs
    /// ```
    /// The automatic fix sets `drop: ["ALL"]` (keeping any `add` list) and is unsafe: a process
    /// that binds ports below 1024, changes file ownership or switches user needs those
    /// capabilities added back.
    pub struct CapabilitiesNotDropped;
    meta {
        id: "SEC006",
        name: "capabilities-not-dropped",
        area: Area::Security,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container keeps the default Linux capabilities, NET_RAW included",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["insecureCapabilities"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

/// The upper-cased names in a `drop` list.
fn dropped(drop: Option<&Value>) -> Vec<String> {
    drop.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(|s| s.trim().to_ascii_uppercase()).collect())
        .unwrap_or_default()
}

impl Rule for CapabilitiesNotDropped {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = linux_workload(cx, idx) else { return };
        let req = Requirement {
            field: "capabilities/drop",
            want: json!(["ALL"]),
            title: "Drop ALL capabilities",
            note: "add back only the capabilities the process needs, e.g. NET_BIND_SERVICE",
        };
        let ok = |drop: Option<&Value>| {
            let dropped = dropped(drop);
            dropped.iter().any(|d| d == "ALL") || DEFAULT_CAPS.iter().all(|cap| dropped.iter().any(|d| d == cap))
        };
        for c in w.containers() {
            let message = |drop: Option<&Value>| {
                let dropped = dropped(drop);
                // NET_ADMIN is on the list but not granted by default: do not claim the container keeps it.
                let kept: Vec<&str> = DEFAULT_CAPS
                    .iter()
                    .copied()
                    .filter(|cap| *cap != "NET_ADMIN" && !dropped.iter().any(|d| d == cap))
                    .collect();
                let mut message = if drop.is_none() {
                    format!("container `{}` does not drop any capability (NET_RAW included)", c.name())
                } else if kept.is_empty() {
                    format!("container `{}` does not drop ALL capabilities", c.name())
                } else {
                    format!("container `{}` does not drop ALL capabilities; it keeps {}", c.name(), kept.join(", "))
                };
                if dropped.iter().any(|d| d.starts_with("CAP_")) {
                    message.push_str(" (capability names in drop take no CAP_ prefix)");
                }
                message
            };
            out.extend(require_container_field(&c, &req, ok, message));
        }
    }
}
