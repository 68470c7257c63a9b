use crate::declare_rule;
use crate::model::{Applicability, Area, Severity};
use crate::rules::reliability::common::check_probe;
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every regular container of a long-running workload defines a `readinessProbe`.
    /// Jobs, CronJobs, Pods with `restartPolicy` `OnFailure` or `Never`, and init containers
    /// (which have no readiness) are not checked.
    ///
    /// ## Why it matters
    /// Without a readiness probe a pod counts as ready as soon as its containers start.
    /// Services send it traffic before the application can answer, a rolling update replaces
    /// old pods with new ones that are not serving yet, and a pod that stops being able to serve
    /// keeps receiving requests.
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
    /// Probe an endpoint that answers only when the app can serve:
    /// ```yaml
    ///     readinessProbe:
    ///       httpGet: { path: /ready, port: 8080 }
    ///       periodSeconds: 5
    /// ```
    /// When the container declares exactly one TCP `containerPort`, the automatic fix adds a
    /// `tcpSocket` probe on that port; it is unsafe because an open port is a weak signal of readiness
    /// and a pod that never opens it never becomes ready. Otherwise the fix is display-only: a template
    /// with `<HEALTH_PATH>` and `<PORT>` placeholders, since only you know the endpoint.
    pub struct MissingReadinessProbe;
    meta {
        id: "REL005",
        name: "missing-readiness-probe",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container has no readiness probe",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["readinessProbeMissing"],
            kube_score: &[],
            kube_linter: &["no-readiness-probe"],
            checkov: &["CKV_K8S_9"],
            trivy: &[],
        },
    }
}

impl Rule for MissingReadinessProbe {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        check_probe(cx, idx, "readinessProbe", out);
    }
}
