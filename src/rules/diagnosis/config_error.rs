use crate::declare_rule;
use crate::model::{Area, Confidence, Evidence, Object, Severity};
use crate::rules::diagnosis::common::*;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// A container waiting with `CreateContainerConfigError`. The message is sub-classified:
    /// `missing-secret` (`secret "x" not found`), `missing-configmap`, `missing-key` (`couldn't find key
    /// K in Secret ns/n`), `run-as-root` (`runAsNonRoot` with an image that runs as root); the diagnosis
    /// says whether the named Secret or ConfigMap is in the input.
    ///
    /// ## Why it matters
    /// The container is never created: every pod of the workload waits until the reference is fixed.
    ///
    /// ## Example
    /// ```json
    /// "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret \"db\" not found"}}
    /// ```
    ///
    /// ## Fix
    /// Create the Secret or ConfigMap (or the key), or correct the reference; for `run-as-root`, set
    /// `runAsUser` to a non-zero id or use an image with a non-root user. No automatic fix.
    pub struct ConfigError;
    meta {
        id: "DIA004",
        name: "config-error",
        area: Area::Diagnosis,
        severity: Severity::High,
        default_enabled: true,
        summary: "Container cannot be configured (CreateContainerConfigError)",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

/// The diagnosis class (a contract: see docs/json-schema.md).
pub const CLASS: &str = "config-error";

impl Rule for ConfigError {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        report_pods(cx, idx, CLASS, "/status", out, detect);
    }
}

fn detect(cx: &Context<'_>, _p: usize, pod: &Object) -> Vec<Hit> {
    let statuses = PodStatuses::of(pod);
    statuses.iter(pod).filter(|c| !c.init).filter_map(|c| config_hit(cx, pod, &c)).collect()
}

/// The config-error hit of one container status (shared with init-failing).
#[must_use]
pub fn config_hit(cx: &Context<'_>, pod: &Object, c: &ContainerStatus<'_>) -> Option<Hit> {
    if c.waiting() != "CreateContainerConfigError" {
        return None;
    }
    let msg = s(c.value, "/state/waiting/message");
    let mut ev =
        vec![Evidence::note(at(pod, &format!("{}/state/waiting/reason", c.path)), "CreateContainerConfigError")];
    ev.extend(field(pod, &format!("{}/state/waiting/message", c.path)));
    let quoted = msg.split('"').nth(1).unwrap_or_default();
    let (sub, cause) = if msg.starts_with("secret ") && msg.contains("not found") {
        ("missing-secret", format!("the Secret `{quoted}` does not exist"))
    } else if msg.starts_with("configmap ") && msg.contains("not found") {
        ("missing-configmap", format!("the ConfigMap `{quoted}` does not exist"))
    } else if msg.contains("couldn't find key") {
        ("missing-key", format!("a referenced key is missing: {}", short(msg)))
    } else if msg.contains("runAsNonRoot") {
        ("run-as-root", "runAsNonRoot is set but the image runs as root".to_string())
    } else {
        ("other", format!("the container configuration is invalid: {}", short(msg)))
    };
    let kind = match sub {
        "missing-secret" => Some("Secret"),
        "missing-configmap" => Some("ConfigMap"),
        _ => None,
    };
    if let Some(kind) = kind
        && !quoted.is_empty()
    {
        let there = cx.graph.find(kind, pod.effective_namespace(), quoted).is_some();
        ev.push(Evidence::note(
            format!("{kind}/{}/{quoted}", pod.effective_namespace().unwrap_or_default()),
            if there { "in the input" } else { "not in the input" },
        ));
    }
    Some(Hit::new("CreateContainerConfigError", cause, Confidence::High, ev).subclass(sub).container(c.name()))
}
