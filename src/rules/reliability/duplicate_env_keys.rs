use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No container (init containers included) lists the same name twice in `env`. One finding per
    /// container names every repeated variable; the last definition is the value the container gets.
    ///
    /// ## Why it matters
    /// The kubelet keeps the last definition and silently drops the others, so whoever edits the first
    /// one changes nothing. Tools disagree about duplicates too: `kubectl apply` merges `env` by name and
    /// can drop or resurrect entries, and server-side apply rejects the list outright.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    ///   - name: LOG_LEVEL
    ///     value: info
    ///   - name: LOG_LEVEL
    ///     value: debug     # this one wins
    /// ```
    ///
    /// ## Fix
    /// Keep one entry per name. The automatic fix removes the earlier entries and keeps the ones that take
    /// effect today. It is safe, since the container's environment stays the same, except when an entry
    /// between two definitions refers to the name as `$(NAME)`: that reference expands to the earlier
    /// value, so the fix is unsafe there.
    pub struct DuplicateEnvKeys;
    meta {
        id: "REL018",
        name: "duplicate-env-keys",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container defines the same environment variable twice",
        fix: Some(Applicability::Safe),
        equivalents: Equivalents {
            polaris: &[],
            kube_score: &[],
            kube_linter: &["duplicate-env-var"],
            checkov: &[],
            trivy: &[],
        },
    }
}

impl Rule for DuplicateEnvKeys {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.containers() {
            let Some(Value::Array(env)) = c.get("/env") else { continue };
            let mut positions: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (i, e) in env.iter().enumerate() {
                if let Some(name) = e.get("name").and_then(Value::as_str) {
                    positions.entry(name).or_default().push(i);
                }
            }
            // One finding per container, whose fix removes every overridden entry at once: removing them
            // one by one would shift the indices the other findings point at.
            let mut overridden: Vec<usize> = Vec::new();
            let mut names = Vec::new();
            let mut evidence = Vec::new();
            let mut referenced = Vec::new();
            for (name, at) in positions {
                let Some((&last, earlier)) = at.split_last() else { continue };
                if earlier.is_empty() {
                    continue;
                }
                names.push(format!("`{name}` {} times", at.len()));
                let reference = format!("$({name})");
                for &i in &at {
                    evidence.push(Evidence::field(c.field(&format!("/env/{i}/name")), &json!(name)));
                }
                for &i in earlier {
                    overridden.push(i);
                    // A `$(NAME)` between this entry and the effective one expands to this entry's value.
                    if env[i + 1..last]
                        .iter()
                        .any(|e| e.get("value").and_then(Value::as_str).is_some_and(|v| v.contains(&reference)))
                    {
                        referenced.push(reference.clone());
                    }
                }
            }
            if overridden.is_empty() {
                continue;
            }
            overridden.sort_unstable_by(|a, b| b.cmp(a));
            referenced.dedup();
            let applicability = if referenced.is_empty() { Applicability::Safe } else { Applicability::Unsafe };
            let ops = overridden.iter().map(|i| FixOp::Remove { path: c.field(&format!("/env/{i}")) }).collect();
            let mut fix = Fix::new("Remove the overridden env entries", applicability, ops);
            if !referenced.is_empty() {
                fix = fix.with_note(format!(
                    "later entries refer to {}, which expand to a removed value",
                    referenced.join(", ")
                ));
            }
            let listed = match names.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => names.join(""),
            };
            let mut v = Violation::new(
                c.field("/env"),
                format!("container `{}` defines {listed}; only the last definition of each takes effect", c.name()),
            )
            .fix(fix);
            for e in evidence {
                v = v.evidence(e);
            }
            out.push(v);
        }
    }
}
