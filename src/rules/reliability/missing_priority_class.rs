use serde_json::json;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::reliability::common::{is_controlled, is_unset};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, RuleSettings, Violation};

declare_rule! {
    /// ## What it checks
    /// Every workload's pod spec sets `priorityClassName` (Jobs and CronJobs included).
    ///
    /// This rule is **off by default**: many clusters run everything at the default priority on
    /// purpose. It runs when `rules.require_priority_class: true` is set in `.clustergpt.yaml`, or when
    /// it is selected (`select: [REL013]` or `--select REL013`).
    ///
    /// ## Why it matters
    /// When a cluster is full, the scheduler preempts lower-priority pods to place higher-priority ones,
    /// and under node pressure the kubelet evicts by priority too. Pods without a class all get the
    /// default priority (usually 0), so a batch job and the checkout service are equally likely to be
    /// evicted or left pending.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   template:
    ///     spec:
    ///       containers: [...]   # no priorityClassName
    /// ```
    ///
    /// ## Fix
    /// Set a PriorityClass that exists in the cluster:
    /// ```yaml
    ///     spec:
    ///       priorityClassName: business-critical
    /// ```
    /// The fix is display-only: the class names are cluster-specific, so it writes a
    /// `<PRIORITY_CLASS>` placeholder.
    pub struct MissingPriorityClass;
    meta {
        id: "REL013",
        name: "missing-priority-class",
        area: Area::Reliability,
        severity: Severity::Low,
        default_enabled: false,
        summary: "Pod spec sets no priorityClassName",
        fix: Some(Applicability::DisplayOnly),
        equivalents: Equivalents {
            polaris: &["priorityClassNotSet"],
            kube_score: &[],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for MissingPriorityClass {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn enabled_by_settings(&self, settings: &RuleSettings) -> bool {
        settings.require_priority_class
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        if (w.object.kind == "Pod" || w.object.kind == "ReplicaSet") && is_controlled(w.object) {
            // Checked on the controller that owns it.
            return;
        }
        let path = w.spec_field("/priorityClassName");
        if !is_unset(w.spec("/priorityClassName")) {
            return;
        }
        out.push(
            Violation::new(&path, format!("{} `{}` sets no priorityClassName", w.object.kind, w.object.name))
                .evidence(Evidence::unset(&path))
                .fix(
                    Fix::new(
                        "Set a priority class",
                        Applicability::DisplayOnly,
                        vec![FixOp::Add { path, value: json!("<PRIORITY_CLASS>").into() }],
                    )
                    .with_note("replace <PRIORITY_CLASS> with a PriorityClass that exists in the cluster"),
                ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::{RunOptions, selected_rules};
    use crate::config::Config;

    fn runs_rel013(cfg: &Config, opts: &RunOptions) -> bool {
        selected_rules(cfg, opts).iter().any(|r| r.meta().id == "REL013")
    }

    #[test]
    fn off_by_default_on_with_setting_or_selection() {
        let mut cfg = Config::defaults();
        assert!(!runs_rel013(&cfg, &RunOptions::default()));
        assert!(runs_rel013(&cfg, &RunOptions { select: vec!["REL013".into()], ..RunOptions::default() }));
        cfg.rules.require_priority_class = true;
        assert!(runs_rel013(&cfg, &RunOptions::default()));
        cfg.ignore = vec!["missing-priority-class".into()];
        assert!(!runs_rel013(&cfg, &RunOptions::default()));
    }
}
