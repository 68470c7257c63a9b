//! The explainer: a narrative of the audit (executive summary, SRE actions, PR text, CTO summary).
//!
//! A model only narrates: it gets the redacted [`Facts`], never the objects; its answer is
//! validated against the facts and any failure falls back to the deterministic [`template`].
//! Nothing here changes findings, severities, fixes or gates. See docs/explain.md.

pub mod answer;
pub mod cache;
pub mod facts;
pub mod openai;
pub mod pr;
pub mod pseudonym;
pub mod redact;

use std::collections::BTreeMap;

pub use cache::Cache;
pub use facts::Facts;
pub use openai::{LlmConfig, OpenAiCompatible, Trace};
pub use pseudonym::NamePolicy;

use crate::audit::{Audit, DiagnosisNarrative, Explanation, SreAction};
use crate::model::Severity;

/// Command-line switches of the explainer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switches {
    /// `--anonymize`: every object and namespace name becomes a pseudonym before it is sent.
    pub anonymize: bool,
    /// `--no-cache`: neither read nor write the answer cache.
    pub no_cache: bool,
}

/// Who writes the explanation.
#[derive(Debug, Clone)]
// One per command run: boxing the client would only change every constructor.
#[allow(clippy::large_enum_variant)]
pub enum Explainer {
    /// Deterministic, offline (the default).
    Template,
    /// An OpenAI-compatible chat completions endpoint.
    OpenAiCompatible(OpenAiCompatible),
}

impl Explainer {
    /// The model endpoint the environment configures, else the template.
    #[must_use]
    pub fn from_env() -> Explainer {
        Explainer::configured(&crate::config::LlmSettings::default(), Switches::default())
    }

    /// The model endpoint the environment and the `llm:` settings configure (the environment
    /// first), else the template; with the answer cache and pseudonyms.
    #[must_use]
    pub fn configured(settings: &crate::config::LlmSettings, switches: Switches) -> Explainer {
        Explainer::configured_with(settings, switches, |k| std::env::var(k).ok())
    }

    /// [`Explainer::configured`] reading variables through `get`.
    pub fn configured_with(
        settings: &crate::config::LlmSettings,
        switches: Switches,
        get: impl Fn(&str) -> Option<String>,
    ) -> Explainer {
        let Some(cfg) = LlmConfig::resolve(settings, &get) else { return Explainer::Template };
        let dir = Cache::default_dir(&get);
        let cache = if switches.no_cache { None } else { dir.clone().map(Cache::at) };
        let names =
            NamePolicy { all: switches.anonymize || settings.anonymize, patterns: settings.anonymize_patterns.clone() };
        Explainer::OpenAiCompatible(OpenAiCompatible::new(cfg).with_cache(cache).with_pseudonyms(names, dir))
    }

    /// Who writes: the model id, or `template`.
    #[must_use]
    pub fn source(&self) -> &str {
        match self {
            Explainer::Template => "template",
            Explainer::OpenAiCompatible(c) => &c.config().model,
        }
    }

    /// Explains the facts. Never fails: a model's failure yields the template with the reason.
    pub async fn explain(&self, facts: &Facts) -> Explanation {
        match self {
            Explainer::Template => template(facts, None),
            Explainer::OpenAiCompatible(client) => match client.explain(facts).await {
                Ok(e) => e,
                Err(reason) => template(facts, Some(reason)),
            },
        }
    }

    /// The explanation with what was sent and received (`clustergpt explain`).
    pub async fn trace(&self, facts: &Facts) -> Trace {
        match self {
            Explainer::Template => Trace {
                facts: facts.clone(),
                messages: serde_json::Value::Null,
                answer: None,
                cached: false,
                explanation: template(facts, None),
            },
            Explainer::OpenAiCompatible(client) => client.explain_traced(facts).await,
        }
    }

    /// [`Explainer::trace`] on a runtime of its own.
    #[must_use]
    pub fn trace_blocking(&self, facts: &Facts) -> Trace {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt.block_on(self.trace(facts)),
            Err(e) => Trace {
                facts: facts.clone(),
                messages: serde_json::Value::Null,
                answer: None,
                cached: false,
                explanation: template(facts, Some(format!("cannot start the runtime: {e}"))),
            },
        }
    }

    /// [`Explainer::explain`] on a runtime of its own, for the synchronous commands.
    #[must_use]
    pub fn explain_blocking(&self, facts: &Facts) -> Explanation {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt.block_on(self.explain(facts)),
            Err(e) => template(facts, Some(format!("cannot start the runtime: {e}"))),
        }
    }
}

impl Explainer {
    /// The title and body of a fix pull request: the model's `pr_title`/`pr_body` (from the facts
    /// of the applied fixes) followed by the template's list of fixes, else the template; the body
    /// says which.
    pub async fn fix_pr_text(&self, fx: &pr::FixFacts) -> (String, String) {
        let Explainer::OpenAiCompatible(client) = self else {
            return (pr::title(fx), pr::body(fx, "the built-in template"));
        };
        let findings: Vec<&crate::model::Finding> = fx.applied.iter().filter_map(|a| a.finding.as_ref()).collect();
        let facts = Facts::of_findings(&findings);
        match client.explain(&facts).await {
            Ok(e) => {
                let title = pr::model_title(&e.pr_title);
                let title = if title.is_empty() { pr::title(fx) } else { title };
                (title, pr::model_body(fx, &e.pr_body, &written_by(&e)))
            }
            Err(reason) => (pr::title(fx), pr::body(fx, &written_by(&template(&facts, Some(reason))))),
        }
    }
}

/// Who wrote an explanation, for a footer (Markdown): "`model` from redacted facts", or "the
/// built-in template" with why a model's answer was not used.
#[must_use]
pub fn written_by(e: &Explanation) -> String {
    use crate::report::markdown::{code, escape};
    match (&e.reason, e.source.as_str()) {
        (Some(r), _) => format!("the built-in template (the model's answer was not used: {})", escape(r)),
        (None, "template") => "the built-in template".to_string(),
        (None, model) => format!("{} from redacted facts", code(model, false)),
    }
}

/// A collapsed "Summary" section for a pull request comment: the executive summary and the
/// actions, with who wrote them.
#[must_use]
pub fn summary_section(e: &Explanation) -> String {
    use crate::report::markdown::escape;
    let mut s = format!(
        "\n<details><summary>Summary (written by {})</summary>\n\n{}\n",
        written_by(e),
        escape(&e.exec_summary)
    );
    if !e.sre_actions.is_empty() {
        s.push('\n');
        for a in &e.sre_actions {
            s.push_str(&format!("- **{}** {}\n", escape(&a.priority), escape(&a.action)));
        }
    }
    s.push_str("\n</details>");
    s
}

/// Adds the explanation to the audit (`analyze --explain`).
pub fn explain_audit(audit: &mut Audit, explainer: &Explainer) {
    let facts = Facts::of(audit);
    audit.explanation = Some(explainer.explain_blocking(&facts));
}

/// The priority of a severity: `p1` fix now, `p2` soon, `p3` eventually.
fn priority(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "p1",
        Severity::Medium => "p2",
        Severity::Low | Severity::Info => "p3",
    }
}

/// How many actions the template lists.
const TEMPLATE_ACTIONS: usize = 10;

/// The deterministic explanation: the same facts always give the same text.
#[must_use]
pub fn template(facts: &Facts, reason: Option<String>) -> Explanation {
    let s = &facts.summary;
    let count = |sev: &str| s.by_severity.get(sev).copied().unwrap_or(0);
    let severities = ["critical", "high", "medium", "low", "info"]
        .iter()
        .filter(|sev| count(sev) > 0)
        .map(|sev| format!("{} {sev}", count(sev)))
        .collect::<Vec<_>>()
        .join(", ");
    let cost = facts.cost.as_ref().map_or(String::new(), |c| {
        format!(
            " Estimated monthly cost: {:.2} {} (up to {:.2} at maximum replicas).",
            c.monthly_total, c.currency, c.monthly_total_max
        )
    });
    let exec_summary = if s.findings == 0 {
        format!("No findings across {} objects.{cost}", s.objects)
    } else {
        format!(
            "{} finding{} across {} objects ({severities}); risk score {}/100.{cost}",
            s.findings,
            if s.findings == 1 { "" } else { "s" },
            s.objects,
            s.risk_score
        )
    };
    let urgent = count("critical") + count("high");
    let cto_summary = if s.findings == 0 {
        format!("The audited configuration has no known reliability, security or cost issues.{cost}")
    } else {
        format!(
            "Risk score {}/100. {urgent} issue{} should be fixed before the next release; {} more can be scheduled.{cost}",
            s.risk_score,
            if urgent == 1 { "" } else { "s" },
            s.findings.saturating_sub(urgent)
        )
    };
    // One action per rule, most severe rule first (facts are sorted by severity).
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    let mut groups: Vec<(&facts::FindingFact, Vec<&facts::FindingFact>)> = Vec::new();
    for f in &facts.findings {
        match by_rule.get(f.rule.as_str()) {
            Some(&i) => groups[i].1.push(f),
            None => {
                by_rule.insert(&f.rule, groups.len());
                groups.push((f, vec![f]));
            }
        }
    }
    let sre_actions: Vec<SreAction> = groups
        .iter()
        .take(TEMPLATE_ACTIONS)
        .map(|(first, all)| {
            let sev = Severity::parse(&first.severity).unwrap_or(Severity::Info);
            let objects = all.iter().map(|f| f.object.name.as_str()).collect::<Vec<_>>();
            let what = first.fix.as_ref().map_or_else(|| format!("Address {}", first.name), |f| f.title.clone());
            let action = if all.len() == 1 {
                format!("{what} ({} {}, rule {}).", first.object.kind, first.object.name, first.rule)
            } else {
                format!("{what} on {} objects ({}, rule {}).", all.len(), objects.join(", "), first.rule)
            };
            // A command only when it covers the whole action: one finding, one rendered command.
            let command = if all.len() == 1 { first.fix.as_ref().and_then(|f| f.command.clone()) } else { None };
            SreAction {
                finding_ids: all.iter().map(|f| f.id.clone()).collect(),
                action,
                command,
                priority: priority(sev).to_string(),
            }
        })
        .collect();
    let fixable = facts.findings.iter().filter(|f| f.fix.is_some()).count();
    let pr_title = if fixable == 0 {
        "Address ClusterGPT audit findings".to_string()
    } else {
        format!("Fix {fixable} ClusterGPT finding{}", if fixable == 1 { "" } else { "s" })
    };
    let mut pr_body = format!("{exec_summary}\n\n");
    for a in &sre_actions {
        pr_body.push_str(&format!("- **{}** {}\n", a.priority, a.action));
    }
    if let Some(o) = &facts.omitted {
        pr_body.push_str(&format!("\n{} more finding(s) are not listed here.\n", o.findings));
    }
    Explanation {
        source: "template".to_string(),
        reason,
        exec_summary,
        cto_summary,
        sre_actions,
        pr_title,
        pr_body: pr_body.trim_end().to_string(),
        diagnoses: narratives(facts, "template", |_| None),
    }
}

/// One narrative per diagnosis in the facts, in their order: `model`'s where `written` has one
/// for the finding id, else the template's.
fn narratives(facts: &Facts, model: &str, written: impl Fn(&str) -> Option<String>) -> Vec<DiagnosisNarrative> {
    facts
        .findings
        .iter()
        .filter_map(|f| {
            let d = f.diagnosis.as_ref()?;
            let (narrative, source) = match written(&f.id) {
                Some(n) => (n, model.to_string()),
                None => (template_narrative(f, d), "template".to_string()),
            };
            Some(DiagnosisNarrative { finding_id: f.id.clone(), narrative, source })
        })
        .collect()
}

/// The template's narrative of one diagnosis: what fails, how often and since when, the causes
/// by confidence, the fix.
fn template_narrative(f: &facts::FindingFact, d: &facts::DiagnosisFact) -> String {
    let since = d.since.as_deref().map(|t| format!(" since {t}")).unwrap_or_default();
    let times = if d.count == 1 { "once".to_string() } else { format!("{} times", d.count) };
    let mut s = format!("{} {}: {} seen {times}{since}.", f.object.kind, f.object.name, d.class);
    let mut causes = d.hypotheses.iter();
    if let Some(h) = causes.next() {
        s.push_str(&format!(" Most likely cause ({} confidence): {}.", h.confidence, h.cause.trim_end_matches('.')));
    }
    let others: Vec<String> = causes.map(|h| format!("{} ({})", h.cause.trim_end_matches('.'), h.confidence)).collect();
    if !others.is_empty() {
        s.push_str(&format!(" Also possible: {}.", others.join("; ")));
    }
    if let Some(fix) = &f.fix {
        s.push_str(&format!(" Fix: {}.", fix.title.trim_end_matches('.')));
    }
    s
}
