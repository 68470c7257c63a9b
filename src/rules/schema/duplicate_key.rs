use crate::declare_rule;
use crate::model::{Area, Evidence, Severity};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No key appears twice in one mapping of a manifest.
    ///
    /// ## Why it matters
    /// `kubectl apply` decodes manifests strictly and rejects the file (`mapping key "image"
    /// already defined at line 21`); lenient tools (and older ones) silently keep the last value, so
    /// the first is ignored without a word and reviewers read a value that never takes effect. A
    /// repeated `apiVersion`/`kind` at the top level usually means two files were concatenated
    /// without a `---` between them, and the whole first object is lost.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: api
    ///     image: api:1.4
    ///     resources: {limits: {memory: 256Mi}}
    ///     image: api:1.3    # the one lenient tools keep
    /// ```
    ///
    /// ## Fix
    /// Delete the occurrence that is wrong (or add the missing `---`). No automatic fix: only the
    /// author knows which value was meant.
    pub struct DuplicateKey;
    meta {
        id: "SCH007",
        name: "duplicate-key",
        area: Area::Schema,
        severity: Severity::High,
        default_enabled: true,
        summary: "A key appears twice in one mapping",
        fix: None,
        equivalents: Equivalents::NONE,
    }
}

impl Rule for DuplicateKey {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        let Some(spans) = &o.spans else { return };
        let dups = spans.duplicates();
        let lines = |d: &crate::yaml::DuplicateKey| {
            let l: Vec<String> = d.at.iter().map(|s| s.start.line.to_string()).collect();
            l.join(", ")
        };
        // A repeated top-level `kind` is documents run together: one finding says so, and the
        // top-level keys they repeat are its consequences, not separate problems.
        let concatenated = dups.iter().find(|d| d.pointer == "/kind");
        if let Some(d) = concatenated {
            out.push(
                Violation::new(
                    "/kind",
                    format!(
                        "this document holds {} objects without `---` between them (`kind` at lines {}): `kubectl apply` rejects it, and lenient tools read only the last object",
                        d.at.len(),
                        lines(d)
                    ),
                )
                .evidence(Evidence::note("/kind", format!("set at lines {}", lines(d)))),
            );
        }
        for d in dups {
            let top_level = d.pointer.matches('/').count() == 1;
            if concatenated.is_some() && top_level {
                continue;
            }
            let last = d.at.last().map_or(0, |s| s.start.line);
            let message = format!(
                "`{}` appears {} times in one mapping (lines {}): `kubectl apply` rejects this, and lenient tools keep only line {last}'s value",
                d.key,
                d.at.len(),
                lines(d)
            );
            out.push(
                Violation::new(d.pointer.clone(), message)
                    .evidence(Evidence::note(d.pointer.clone(), format!("set at lines {}", lines(d)))),
            );
        }
    }
}
