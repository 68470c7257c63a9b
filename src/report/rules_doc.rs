//! The rule reference (docs/rules.md), generated from the registry.
//!
//! `tests/docs.rs` fails when the committed file differs from [`render`];
//! `UPDATE_DOCS=1 cargo test --test docs` rewrites it.

use std::fmt::Write;

use crate::report::applicability_name;
use crate::report::markdown::{code, escape};
use crate::rules::{self, Rule, RuleMeta};

/// Where the generated reference lives, relative to the crate root.
pub const PATH: &str = "docs/rules.md";

/// The rule reference for every registered rule.
#[must_use]
pub fn render() -> String {
    render_rules(rules::registry())
}

/// The rule reference for the given rules, in the given order.
#[must_use]
pub fn render_rules(rules: &[&dyn Rule]) -> String {
    let mut out = String::new();
    out.push_str(
        "<!-- Generated from the rule registry; do not edit. Refresh: UPDATE_DOCS=1 cargo test --test docs -->\n\n",
    );
    out.push_str("# Rules\n\n");
    let _ = writeln!(
        out,
        "ClusterGPT has {} rule{}. `clustergpt rules` lists them and `clustergpt rules explain ID` prints one rule's documentation.",
        rules.len(),
        if rules.len() == 1 { "" } else { "s" }
    );
    out.push_str(
        "Rules that are off by default run when selected (`select:` in `.clustergpt.yaml`, or `--select`).\n\
         Severities are defaults; `severity:` in `.clustergpt.yaml` overrides them.\n\
         Fix says how the automatic fix may be applied, at most: safe fixes never break a working workload, \
         unsafe ones may change scheduling, security posture or cost, display-only ones need values only you know \
         (a rule whose fix is unsafe may also show display-only fixes where it cannot know the value).\n\
         Equivalents are checks of other tools with the same semantics.\n\n\
         Rules of area `diagnosis` (`DIA*`) read live status and events (a kubectl dump, a snapshot, a cluster) and say \
         nothing about manifests without status. Each has a stable class; its findings carry a `diagnosis` object \
         (class, summary, since, count, ranked hypotheses with evidence: see json-schema.md) and are reported on \
         the top-most controller in the input, aggregating its pods.\n\n",
    );
    out.push_str("| ID | Name | Area | Severity | Default | Fix | Equivalents |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for r in rules {
        let m = r.meta();
        let _ = writeln!(
            out,
            "| [{}](#{}) | {} | {} | {} | {} | {} | {} |",
            m.id,
            anchor(m),
            code(m.name, true),
            m.area,
            m.severity,
            if m.default_enabled { "on" } else { "off" },
            m.fix.map_or("none", applicability_name),
            equivalents(m, true),
        );
    }
    for r in rules {
        let m = r.meta();
        let _ = write!(out, "\n## {} {}\n\n", m.id, m.name);
        let _ = writeln!(out, "{}.\n", escape(m.summary));
        let _ = writeln!(out, "- Area: {}", m.area);
        if let Some(class) = rules::diagnosis::class_of(m.id) {
            let _ = writeln!(out, "- Diagnosis class: {}", code(class, false));
        }
        let _ = writeln!(out, "- Default severity: {}", m.severity);
        let _ = writeln!(out, "- On by default: {}", if m.default_enabled { "yes" } else { "no" });
        let _ = writeln!(out, "- Automatic fix: {}", m.fix.map_or("none", applicability_name));
        let _ = writeln!(out, "- Equivalents: {}", equivalents(m, false));
        out.push('\n');
        out.push_str(&demote_headings(&m.doc_text()));
    }
    out
}

/// GitHub's anchor of the `## ID name` heading.
fn anchor(m: &RuleMeta) -> String {
    format!("{}-{}", m.id.to_ascii_lowercase(), m.name)
}

fn equivalents(m: &RuleMeta, table: bool) -> String {
    let e = m.equivalents;
    let parts: Vec<String> = [
        ("Polaris", e.polaris),
        ("kube-score", e.kube_score),
        ("kube-linter", e.kube_linter),
        ("Checkov", e.checkov),
        ("Trivy", e.trivy),
    ]
    .iter()
    .filter(|(_, ids)| !ids.is_empty())
    .map(|(tool, ids)| {
        let ids: Vec<String> = ids.iter().map(|id| code(id, table)).collect();
        format!("{tool} {}", ids.join(", "))
    })
    .collect();
    if parts.is_empty() { "none".to_string() } else { parts.join("; ") }
}

/// Turns the rule docs' `## Heading` lines into `### Heading`, leaving code blocks alone.
fn demote_headings(doc: &str) -> String {
    let mut out = String::new();
    let mut fence = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
        }
        if !fence && line.starts_with('#') {
            out.push('#');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
