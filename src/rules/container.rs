//! Container `securityContext` fields, read once for every rule that checks them.
//!
//! Kubernetes reads some fields only on containers (`allowPrivilegeEscalation`, `privileged`,
//! `readOnlyRootFilesystem`, `capabilities`, `procMount`) and others on both the pod and the
//! container, the container's value winning (`runAsUser`, `runAsGroup`, `runAsNonRoot`,
//! `seccompProfile`, `seLinuxOptions`, `appArmorProfile`, `windowsOptions`).
//! [`ContainerField`] reads the first kind, [`effective_field`] the second, and
//! [`require_container_field`] is the whole "every container sets X" check with its fix.

use serde_json::Value;

use crate::model::{Applicability, Evidence, Fix, FixOp, value_text};
use crate::rules::{Context, Violation};
use crate::workload::{Container, Workload};

/// Whether the pod runs on Windows (`spec.os.name: windows`), where Linux security settings do not apply.
#[must_use]
pub fn is_windows(w: &Workload<'_>) -> bool {
    w.spec("/os/name").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("windows"))
}

/// The workload view of object `idx`, unless its pods run on Windows: the Linux `securityContext`
/// checks skip those.
#[must_use]
pub fn linux_workload<'c, 'a>(cx: &'c Context<'a>, idx: usize) -> Option<&'c Workload<'a>> {
    cx.workload(idx).filter(|w| !is_windows(w))
}

/// One field of a container's `securityContext`, as written (`null` counts as unset).
#[derive(Debug, Clone)]
pub struct ContainerField<'a> {
    /// Absolute JSON pointer of the field, e.g. `/spec/template/spec/containers/0/securityContext/privileged`.
    pub path: String,
    /// Its value, `None` when missing or null.
    pub value: Option<&'a Value>,
}

impl<'a> ContainerField<'a> {
    /// Reads `securityContext/<field>` of a container (`field` may go deeper: `capabilities/drop`).
    #[must_use]
    pub fn of(c: &Container<'a>, field: &str) -> ContainerField<'a> {
        let rel = format!("/securityContext/{field}");
        ContainerField { path: c.field(&rel), value: c.get(&rel).filter(|v| !v.is_null()) }
    }

    /// Evidence of the value, or that it is unset.
    #[must_use]
    pub fn evidence(&self) -> Evidence {
        self.value.map_or_else(|| Evidence::unset(&self.path), |v| Evidence::field(&self.path, v))
    }

    /// The operation that sets the field: `Replace` when it has a value, `Add` otherwise.
    #[must_use]
    pub fn set(&self, value: Value) -> FixOp {
        match self.value {
            Some(_) => FixOp::Replace { path: self.path.clone(), value: value.into() },
            None => FixOp::Add { path: self.path.clone(), value: value.into() },
        }
    }
}

/// A `securityContext` field that the pod sets for all its containers and a container may override.
#[derive(Debug, Clone)]
pub struct EffectiveField<'a> {
    /// The value that applies, `None` when neither the container nor the pod sets it.
    pub value: Option<&'a Value>,
    /// Where that value is set; the container's own path when nothing sets it.
    pub path: String,
    /// Whether the value comes from the pod's `securityContext`.
    pub from_pod: bool,
}

impl EffectiveField<'_> {
    /// Evidence of the applying value, or that it is unset.
    #[must_use]
    pub fn evidence(&self) -> Evidence {
        self.value.map_or_else(|| Evidence::unset(&self.path), |v| Evidence::field(&self.path, v))
    }
}

/// The value of `securityContext/<field>` that applies to a container: the container's own, else the pod's.
#[must_use]
pub fn effective_field<'a>(w: &Workload<'a>, c: &Container<'a>, field: &str) -> EffectiveField<'a> {
    let own = ContainerField::of(c, field);
    if own.value.is_some() {
        return EffectiveField { value: own.value, path: own.path, from_pod: false };
    }
    let rel = format!("/securityContext/{field}");
    match w.spec(&rel).filter(|v| !v.is_null()) {
        Some(v) => EffectiveField { value: Some(v), path: w.spec_field(&rel), from_pod: true },
        None => EffectiveField { value: None, path: own.path, from_pod: false },
    }
}

/// The pod-level `securityContext/<field>` of a workload, as written (`null` counts as unset),
/// with its absolute pointer.
#[must_use]
pub fn pod_field<'a>(w: &Workload<'a>, field: &str) -> (Option<&'a Value>, String) {
    let rel = format!("/securityContext/{field}");
    (w.spec(&rel).filter(|v| !v.is_null()), w.spec_field(&rel))
}

/// What "every container sets `securityContext/<field>` right" requires, and the fix that does it.
pub struct Requirement<'r> {
    /// The field under `securityContext` (`readOnlyRootFilesystem`, `capabilities/drop`).
    pub field: &'r str,
    /// The value the fix writes.
    pub want: Value,
    /// The fix's title.
    pub title: &'static str,
    /// What the fix may break (all these fixes are unsafe).
    pub note: &'static str,
}

/// The shared check of SEC002, SEC004 and SEC006: a violation when a container's field is not
/// `ok`, at the field, with its value (or `<unset>`) as evidence and an unsafe fix that adds the
/// field or replaces its value. `message` gets the value as written (`None` when unset).
pub fn require_container_field(
    c: &Container<'_>,
    req: &Requirement<'_>,
    ok: impl Fn(Option<&Value>) -> bool,
    message: impl Fn(Option<&Value>) -> String,
) -> Option<Violation> {
    let field = ContainerField::of(c, req.field);
    if ok(field.value) {
        return None;
    }
    Some(
        Violation::new(&field.path, message(field.value))
            .evidence(field.evidence())
            .fix(Fix::new(req.title, Applicability::Unsafe, vec![field.set(req.want.clone())]).with_note(req.note)),
    )
}

/// The usual message of [`require_container_field`]: "container `x` sets `field` to v", or `unset`
/// when the field is missing.
#[must_use]
pub fn sets_or(c: &Container<'_>, name: &str, value: Option<&Value>, unset: &str) -> String {
    match value {
        Some(v) => format!("container `{}` sets {name} to {}", c.name(), value_text(v)),
        None => format!("container `{}` {unset}", c.name()),
    }
}
