//! The description of a fix pull request (`pr --open-fix-pr`, `audit-issue`, `remediate
//! --open-fix-pr`), written from structured facts only.
//!
//! The template is the default: deterministic, so a rerun does not touch an unchanged PR. With
//! `--explain` and an endpoint, the model's validated `pr_title`/`pr_body` lead and the template's
//! table of fixes follows, collapsed; the footer says who wrote the description.

use crate::model::CostImpact;
use crate::report::markdown::{code, escape};

/// One fix that was applied, with what the audit knew about it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedFact {
    /// Rule id (`REL009`).
    pub rule: String,
    /// Rule name (`image-pull-policy`), when known.
    pub rule_name: String,
    /// Fix title.
    pub title: String,
    /// The object, `Kind/namespace/name` or `Kind/name`.
    pub object: String,
    /// Repository-relative file.
    pub file: Option<String>,
    /// 1-based line of the finding, when known.
    pub line: Option<u32>,
    /// Why it matters: the rule's one-line summary.
    pub why: String,
    /// The finding's message.
    pub message: String,
    /// Evidence as `path = value` lines.
    pub evidence: Vec<String>,
    /// Monthly cost change of the fix, when it has one.
    pub cost: Option<CostImpact>,
    /// The finding the fix addresses, when known: what a model's facts are built from.
    pub finding: Option<crate::model::Finding>,
}

/// Everything a remediation PR description may say.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FixFacts {
    /// The branch the fixes are proposed into.
    pub target_branch: String,
    /// The commit the fixes were computed on.
    pub source_sha: String,
    /// The pull request the fixes are for, when any.
    pub pull_request: Option<u64>,
    /// Fixes applied, in order.
    pub applied: Vec<AppliedFact>,
    /// Files changed.
    pub files: Vec<String>,
    /// Fixes that were not applied because they are unsafe or need values only a person knows.
    pub skipped: usize,
}

/// Hidden marker at the top of every remediation PR body.
pub const MARKER: &str = "<!-- clustergpt:fix-pr -->";

/// GitHub's limit on a PR body is 65,536 characters; stay under it.
const MAX_BODY: usize = 60_000;

fn money(v: f64, currency: &str) -> String {
    let sign = if v > 0.0 {
        "+"
    } else if v < 0.0 {
        "−"
    } else {
        ""
    };
    format!("{sign}{:.2} {currency}", v.abs())
}

/// The template's title.
#[must_use]
pub fn title(facts: &FixFacts) -> String {
    let n = facts.applied.len();
    format!(
        "ClusterGPT: {n} safe fix{} for {}",
        if n == 1 { "" } else { "es" },
        facts.target_branch.chars().filter(|c| !c.is_control()).collect::<String>()
    )
}

/// The template's body; `by` says who wrote the description (the footer).
#[must_use]
pub fn body(facts: &FixFacts, by: &str) -> String {
    let mut s = format!("{MARKER}\n## ClusterGPT: safe fixes\n\n");
    s.push_str(&intro(facts));
    s.push_str(&fixes(facts));
    finish(s, by)
}

/// A model's title: one line, no control characters.
#[must_use]
pub fn model_title(title: &str) -> String {
    title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// A model's body first (mentions defused), then the template's list of fixes, collapsed.
#[must_use]
pub fn model_body(facts: &FixFacts, model_text: &str, by: &str) -> String {
    let mut s = format!("{MARKER}\n## ClusterGPT: safe fixes\n\n");
    // `@name` in a model's text must not notify anyone (a zero-width space, as `escape` does).
    s.push_str(model_text.trim().replace('@', "@&#8203;").as_str());
    s.push_str("\n\n");
    s.push_str(&intro(facts));
    s.push_str("<details><summary>The fixes</summary>\n\n");
    s.push_str(&fixes(facts));
    s.push_str("\n</details>\n");
    finish(s, by)
}

fn intro(facts: &FixFacts) -> String {
    let short: String = facts.source_sha.chars().take(7).collect();
    let target = code(&facts.target_branch, false);
    match facts.pull_request {
        Some(n) => {
            format!("Merge this into {target} to apply the fixes to #{n}. They were computed on commit `{short}`.\n\n")
        }
        None => format!("Merge this into {target}. The fixes were computed on commit `{short}`.\n\n"),
    }
}

fn finish(mut s: String, by: &str) -> String {
    s.push_str(&format!(
        "\n<sub>ClusterGPT · description written by {by} · this pull request is updated on every run and closed when nothing is left to fix</sub>\n"
    ));
    if s.len() > MAX_BODY {
        s = crate::report::diff_md::truncate_middle(&s, MAX_BODY);
    }
    s
}

/// The table of fixes and their details, cost, files and what was skipped.
fn fixes(facts: &FixFacts) -> String {
    let mut s = String::new();
    s.push_str(
        "Only **safe** fixes are here: each one was verified not to change anything but its finding, and \
         cannot break a workload that works today.\n\n",
    );
    s.push_str("| Rule | Fix | Object | Where |\n|---|---|---|---|\n");
    for f in &facts.applied {
        let place = match (&f.file, f.line) {
            (Some(file), Some(line)) => code(&format!("{file}:{line}"), true),
            (Some(file), None) => code(file, true),
            _ => String::new(),
        };
        s.push_str(&format!(
            "| **{}** | {} | {} | {place} |\n",
            escape(&f.rule),
            escape(&f.title).replace('|', "\\|"),
            code(&f.object, true)
        ));
    }
    s.push_str("\n### Details\n");
    for f in &facts.applied {
        let name = if f.rule_name.is_empty() { String::new() } else { format!(" {}", code(&f.rule_name, false)) };
        s.push_str(&format!("\n#### {}{name}: {}\n\n", escape(&f.rule), escape(&f.title)));
        s.push_str(&format!("- **Object:** {}", code(&f.object, false)));
        if let Some(file) = &f.file {
            let at = f.line.map_or_else(|| file.clone(), |l| format!("{file}:{l}"));
            s.push_str(&format!(" at {}", code(&at, false)));
        }
        s.push('\n');
        if !f.message.is_empty() {
            s.push_str(&format!("- **Finding:** {}\n", escape(&f.message)));
        }
        if !f.why.is_empty() {
            s.push_str(&format!("- **Why:** {}\n", escape(&f.why)));
        }
        for e in &f.evidence {
            s.push_str(&format!("- **Evidence:** {}\n", code(e, false)));
        }
        if let Some(c) = &f.cost {
            s.push_str(&format!(
                "- **Cost:** {} per month ({} → {})\n",
                money(c.monthly_delta, &c.currency),
                money(c.monthly_before, &c.currency).trim_start_matches('+'),
                money(c.monthly_after, &c.currency).trim_start_matches('+')
            ));
        }
    }
    let total: f64 = facts.applied.iter().filter_map(|f| f.cost.as_ref()).map(|c| c.monthly_delta).sum();
    if let Some(currency) = facts.applied.iter().find_map(|f| f.cost.as_ref()).map(|c| c.currency.clone()) {
        s.push_str(&format!("\n**Monthly cost change of these fixes:** {}\n", money(total, &currency)));
    }
    s.push_str(&format!(
        "\n**Files changed:** {}\n",
        facts.files.iter().map(|f| code(f, false)).collect::<Vec<_>>().join(", ")
    ));
    if facts.skipped > 0 {
        s.push_str(&format!(
            "\n{} more fix{} need{} a person (unsafe, or values only you know): run `clustergpt fix` locally to review them.\n",
            facts.skipped,
            if facts.skipped == 1 { "" } else { "es" },
            if facts.skipped == 1 { "s" } else { "" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_deterministic_and_complete() {
        let facts = FixFacts {
            target_branch: "feature/x".into(),
            source_sha: "a".repeat(40),
            pull_request: Some(7),
            applied: vec![AppliedFact {
                rule: "REL009".into(),
                rule_name: "image-pull-policy".into(),
                title: "Set imagePullPolicy: Always".into(),
                object: "Deployment/web".into(),
                file: Some("k8s/app.yaml".into()),
                line: Some(24),
                why: "Containers pull their image on every start".into(),
                message: "no pull policy".into(),
                evidence: vec!["/spec/template/spec/containers/0/imagePullPolicy = <unset>".into()],
                cost: Some(CostImpact {
                    currency: "USD".into(),
                    monthly_before: 10.0,
                    monthly_after: 5.0,
                    monthly_delta: -5.0,
                }),
                finding: None,
            }],
            files: vec!["k8s/app.yaml".into()],
            skipped: 1,
        };
        let body = body(&facts, "the built-in template");
        assert_eq!(body, super::body(&facts, "the built-in template"));
        assert!(body.contains("description written by the built-in template"));
        assert!(body.starts_with(MARKER));
        assert!(body.contains("`k8s/app.yaml:24`"), "{body}");
        assert!(body.contains("**Why:** Containers pull"));
        assert!(body.contains("**Evidence:**"));
        assert!(body.contains("−5.00 USD per month"), "{body}");
        assert!(body.contains("#7"));
        assert_eq!(title(&facts), "ClusterGPT: 1 safe fix for feature/x");
        let model = model_body(&facts, "Pins the pull policy. cc @octocat", "`m` from redacted facts");
        assert!(
            model.starts_with(MARKER) && model.contains("<details>") && model.contains("@&#8203;octocat"),
            "{model}"
        );
        assert!(model.contains("**Why:** Containers pull"));
    }
}
