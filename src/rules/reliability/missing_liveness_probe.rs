use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::reliability::common::check_probe;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every regular container of a long-running workload defines a `livenessProbe`.
    /// Jobs, CronJobs, Pods with `restartPolicy` `OnFailure` or `Never`, and init containers
    /// are not checked.
    ///
    /// ## Why it matters
    /// A process that deadlocks or hangs without exiting keeps its container running: without a
    /// liveness probe the kubelet never restarts it, and the pod stays broken until someone notices.
    /// A liveness probe should check only that the process itself can make progress, not its
    /// dependencies, or an outage of a database restarts every pod at once.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: web
    ///     image: ghcr.io/acme/web:1.4.2
    ///     ports:
    ///       - containerPort: 8080
    /// ```
    ///
    /// ## Fix
    /// Probe a cheap endpoint that fails only when the process is stuck:
    /// ```yaml
    ///     livenessProbe:
    ///       httpGet: { path: /healthz, port: 8080 }
    ///       periodSeconds: 10
    ///       failureThreshold: 3
    /// ```
    /// When the container declares exactly one TCP `containerPort`, the automatic fix adds a
    /// `tcpSocket` probe on that port; it is unsafe because a container that opens the port later
    /// than about 30 seconds after start is restarted in a loop (add a `startupProbe` for slow starters).
    /// Otherwise the fix is display-only: a template with `<HEALTH_PATH>` and `<PORT>` placeholders.
    pub struct MissingLivenessProbe;
    meta {
        id: "REL006",
        name: "missing-liveness-probe",
        area: Area::Reliability,
        severity: Severity::Low,
        default_enabled: true,
        summary: "Container has no liveness probe",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["livenessProbeMissing"],
            kube_score: &[],
            kube_linter: &["no-liveness-probe"],
            checkov: &["CKV_K8S_8"],
            trivy: &[],
        },
    }
}

impl Rule for MissingLivenessProbe {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        check_probe(cx, idx, "livenessProbe", out);
    }
}
