use serde_json::{Map, Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation, is_true};
use crate::workload::{selector_is_empty, selector_matches};

declare_rule! {
    /// ## What it checks
    /// A controller's `spec.selector` matches the labels of its own pod template, as the API
    /// server requires:
    /// - Deployment, StatefulSet, DaemonSet and ReplicaSet (`apps/v1`) must have a non-empty
    ///   selector that matches `spec.template.metadata.labels`;
    /// - a ReplicationController's selector, when set, must match its template labels;
    /// - a Job (or a CronJob's job template) may only set `selector` together with
    ///   `manualSelector: true`, and then it must match the template labels. A selector that names
    ///   only the Job's `controller-uid` (what the API server generates, as in a Job read from a
    ///   cluster) is not reported.
    ///
    /// ## Why it matters
    /// The API server rejects the object (`selector does not match template labels`,
    /// `spec.selector: Required value`, `` `selector` not auto-generated ``), so the deploy fails.
    /// Because the selector is immutable, it often comes from editing the template labels of an
    /// existing workload.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// spec:
    ///   selector:
    ///     matchLabels: { app: web }
    ///   template:
    ///     metadata:
    ///       labels: { app: frontend }
    /// ```
    ///
    /// ## Fix
    /// - A missing or empty selector: the fix writes `matchLabels` equal to the template labels
    ///   (what older API versions defaulted). Safe: the object is rejected today.
    /// - Template labels missing keys the selector requires: the fix adds them to the template.
    ///   Unsafe: Services and policies selecting on those labels start matching the pods.
    /// - Conflicting values: the fix shown sets the template labels to the selector's values; it is
    ///   display-only, since either side may be the intended one (the selector cannot change on an
    ///   existing workload).
    /// - A Job selector without `manualSelector`: the fix removes the selector (Kubernetes generates
    ///   one). Safe: the object is rejected today.
    pub struct SelectorTemplateMismatch;
    meta {
        id: "SCH004",
        name: "selector-template-mismatch",
        area: Area::Schema,
        severity: Severity::High,
        default_enabled: true,
        summary: "Controller selector does not match its own pod template labels",
        fix: Some(Applicability::Safe),
        equivalents: Equivalents {
            polaris: &[],
            kube_score: &[],
            kube_linter: &["mismatching-selector"],
            checkov: &[],
            trivy: &[],
        },
    }
}

fn labels_value(labels: Option<&Map<String, Value>>) -> Value {
    labels.map_or(Value::Null, |l| Value::Object(l.clone()))
}

impl Rule for SelectorTemplateMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        let o = w.object;
        let labels_path = format!("{}/labels", w.pod_meta_path);
        let (selector_path, job_prefix) = match o.kind.as_str() {
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "ReplicationController"
            | "Rollout"
            | "DeploymentConfig" => ("/spec/selector".to_string(), None),
            "Job" => ("/spec/selector".to_string(), Some("/spec")),
            "CronJob" => ("/spec/jobTemplate/spec/selector".to_string(), Some("/spec/jobTemplate/spec")),
            _ => return,
        };
        let selector = o.get(&selector_path).filter(|s| !s.is_null());
        let template_labels = w.pod_labels;

        if let Some(prefix) = job_prefix {
            let Some(sel) = selector else { return };
            let manual = o.get(&format!("{prefix}/manualSelector"));
            if crate::kinds::is_generated_job_selector(sel, manual) {
                // A live Job: the API server wrote this selector (`controller-uid`).
                return;
            }
            if !is_true(manual) {
                out.push(
                    Violation::new(
                        &selector_path,
                        "Job sets `selector` without `manualSelector: true`: the API server rejects it (Kubernetes \
                         generates the selector)",
                    )
                    .evidence(Evidence::field(&selector_path, sel))
                    .evidence(Evidence::unset(format!("{prefix}/manualSelector")))
                    .fix(Fix::new(
                        "Remove the selector",
                        Applicability::Safe,
                        vec![FixOp::Remove { path: selector_path.clone() }],
                    )),
                );
                return;
            }
        }

        // apps/v1 (and later) require a non-empty selector; older versions defaulted it (SCH002's concern).
        let requires_selector = o.kind != "ReplicationController" && job_prefix.is_none() && o.api_version == "apps/v1";
        let selector = match selector {
            Some(sel) if !selector_is_empty(sel) => sel,
            other if requires_selector => {
                let what = if other.is_some() { "is empty" } else { "is missing" };
                let mut v = Violation::new(
                    &selector_path,
                    format!("{} `spec.selector` {what}: the API server rejects it", o.kind),
                )
                .evidence(
                    other.map_or_else(|| Evidence::unset(&selector_path), |s| Evidence::field(&selector_path, s)),
                );
                if let Some(l) = template_labels.filter(|l| !l.is_empty()) {
                    v = v.evidence(Evidence::field(&labels_path, &labels_value(Some(l)))).fix(Fix::new(
                        "Select the template labels",
                        Applicability::Safe,
                        vec![FixOp::Add {
                            path: format!("{selector_path}/matchLabels"),
                            value: Value::Object(l.clone()).into(),
                        }],
                    ));
                }
                out.push(v);
                return;
            }
            _ => return,
        };
        if selector_matches(selector, template_labels) {
            return;
        }
        let mut v = Violation::new(
            &selector_path,
            format!("`spec.selector` does not match the pod template's labels: the API server rejects this {}", o.kind),
        )
        .evidence(Evidence::field(&selector_path, selector))
        .evidence(match template_labels {
            Some(l) => Evidence::field(&labels_path, &labels_value(Some(l))),
            None => Evidence::unset(&labels_path),
        });
        // Fix from matchLabels (or a ReplicationController's plain map); matchExpressions need a human.
        let structured = selector.get("matchLabels").is_some() || selector.get("matchExpressions").is_some();
        let required =
            if structured { selector.get("matchLabels").and_then(Value::as_object) } else { selector.as_object() };
        let template_ok_without_labels = if structured {
            let only_exprs =
                json!({ "matchExpressions": selector.get("matchExpressions").cloned().unwrap_or(json!([])) });
            selector.get("matchExpressions").is_none() || selector_matches(&only_exprs, template_labels)
        } else {
            true
        };
        if let Some(required) = required
            && template_ok_without_labels
        {
            let mut ops = Vec::new();
            let mut conflict = false;
            for (k, want) in required {
                let have = template_labels.and_then(|l| l.get(k));
                if have == Some(want) {
                    continue;
                }
                let path = format!("{labels_path}/{}", crate::yaml::escape_segment(k));
                if have.is_some() {
                    conflict = true;
                    ops.push(FixOp::Replace { path, value: want.clone().into() });
                } else {
                    ops.push(FixOp::Add { path, value: want.clone().into() });
                }
            }
            if !ops.is_empty() {
                let fix = if conflict {
                    Fix::new("Set the template labels to the selector's values", Applicability::DisplayOnly, ops)
                        .with_note("either the selector or the template labels may be the intended side")
                } else {
                    Fix::new("Add the selected labels to the pod template", Applicability::Unsafe, ops)
                        .with_note("Services and policies selecting on these labels start matching the pods")
                };
                v = v.fix(fix);
            }
        }
        out.push(v);
    }
}
