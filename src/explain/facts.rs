//! The facts: what the explainer may tell a model, built from the [`Audit`] alone.
//!
//! Deny by default: only the typed fields listed here are copied; evidence values only for an
//! allow-list of field names; no messages, env values, annotation values, ConfigMap data or log
//! lines. Every string that remains passes through [`redact::scrub`]. Documented in docs/explain.md.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::redact;
use crate::audit::Audit;
use crate::model::Finding;

/// Version of the facts document; bump it when a field changes meaning.
pub const FACTS_VERSION: &str = "clustergpt.facts/v1";

/// How many findings the facts carry one by one; the rest is summarised by counts.
pub const MAX_FINDINGS: usize = 40;

/// The facts document (`clustergpt.facts/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// [`FACTS_VERSION`].
    pub version: String,
    /// Counts over the whole audit.
    pub summary: FactsSummary,
    /// The monthly cost estimate, when anything was priced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<FactsCost>,
    /// The most severe findings, at most [`MAX_FINDINGS`].
    pub findings: Vec<FindingFact>,
    /// What did not fit, by counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omitted: Option<Omitted>,
}

/// Counts over the whole audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactsSummary {
    /// Objects audited.
    pub objects: usize,
    /// Findings reported.
    pub findings: usize,
    /// Findings per severity.
    pub by_severity: BTreeMap<String, usize>,
    /// Findings per area.
    pub by_area: BTreeMap<String, usize>,
    /// 0 to 100.
    pub risk_score: u32,
}

/// The monthly estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactsCost {
    /// ISO currency code.
    pub currency: String,
    /// Estimated monthly total at minimum replicas.
    pub monthly_total: f64,
    /// At maximum replicas.
    pub monthly_total_max: f64,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingFact {
    /// The finding's fingerprint: what an answer cites.
    pub id: String,
    /// Rule id.
    pub rule: String,
    /// Rule name.
    pub name: String,
    /// Severity.
    pub severity: String,
    /// Area.
    pub area: String,
    /// The object.
    pub object: ObjectFact,
    /// JSON pointer of the field.
    pub path: String,
    /// Evidence: field paths, with values only for allow-listed typed fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceFact>,
    /// The fix we rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixFact>,
    /// Monthly cost change of the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_cost_delta: Option<f64>,
    /// Live diagnosis, in classified form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<DiagnosisFact>,
}

/// Object identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectFact {
    /// Kind.
    pub kind: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// One evidence line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceFact {
    /// Field path.
    pub path: String,
    /// The value, only for allow-listed fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A rendered fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixFact {
    /// What it does.
    pub title: String,
    /// The exact command we rendered (`kubectl patch ...`); answers may only quote these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// A diagnosis without its free text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosisFact {
    /// Failure class.
    pub class: String,
    /// How often it was seen.
    pub count: u64,
    /// Since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Likely causes.
    pub hypotheses: Vec<HypothesisFact>,
}

/// A likely cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HypothesisFact {
    /// The cause, as the rule classified it.
    pub cause: String,
    /// Stable sub-class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subclass: Option<String>,
    /// `low`, `medium` or `high`.
    pub confidence: String,
}

/// What did not fit in the findings list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Omitted {
    /// How many findings.
    pub findings: usize,
    /// Per severity.
    pub by_severity: BTreeMap<String, usize>,
    /// Per rule id.
    pub by_rule: BTreeMap<String, usize>,
}

/// Field names whose evidence values are typed settings or counts, never free text.
const VALUE_FIELDS: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "storage",
    "replicas",
    "minreplicas",
    "maxreplicas",
    "minavailable",
    "maxunavailable",
    "exitcode",
    "reason",
    "restartcount",
    "count",
    "privileged",
    "runasnonroot",
    "runasuser",
    "runasgroup",
    "allowprivilegeescalation",
    "readonlyrootfilesystem",
    "hostnetwork",
    "hostpid",
    "hostipc",
    "hostport",
    "containerport",
    "protocol",
    "imagepullpolicy",
    "image",
    "apiversion",
    "kind",
    "type",
    "phase",
    "lasttimestamp",
    "firsttimestamp",
    "starttime",
    "finishedat",
    "startedat",
    "automountserviceaccounttoken",
    "verbs",
    "add",
    "drop",
];

/// The longest string copied into the facts; longer ones are cut (after scrubbing).
const MAX_STRING: usize = 200;
/// The longest fix command kept; longer commands are dropped, not cut (they must stay verbatim).
const MAX_COMMAND: usize = 2000;

impl Facts {
    /// The ids of the findings that carry a diagnosis.
    #[must_use]
    pub fn diagnosis_ids(&self) -> BTreeSet<&str> {
        self.findings.iter().filter(|f| f.diagnosis.is_some()).map(|f| f.id.as_str()).collect()
    }

    /// Builds the facts from an audit.
    #[must_use]
    pub fn of(audit: &Audit) -> Facts {
        let s = &audit.summary;
        let summary = FactsSummary {
            objects: s.objects,
            findings: s.findings,
            by_severity: s.by_severity.iter().map(|(k, v)| (k.as_str().to_string(), *v)).collect(),
            by_area: s.by_area.iter().map(|(k, v)| (area_name(*k), *v)).collect(),
            risk_score: s.risk_score,
        };
        let c = &audit.cost;
        let cost = (c.monthly_total > 0.0 || c.monthly_total_max > 0.0).then(|| FactsCost {
            currency: clean(&c.currency),
            monthly_total: round2(c.monthly_total),
            monthly_total_max: round2(c.monthly_total_max),
        });
        Facts::build(audit.findings.iter().collect(), summary, cost)
    }

    /// Facts about some findings only (a pull request's new findings, the fixes of a fix PR):
    /// the summary counts them (risk score included); there is no cost total.
    #[must_use]
    pub fn of_findings(findings: &[&Finding]) -> Facts {
        let mut severities = BTreeMap::new();
        let mut by_area = BTreeMap::new();
        let mut objects = BTreeSet::new();
        for f in findings {
            *severities.entry(f.severity).or_insert(0) += 1;
            *by_area.entry(area_name(f.area)).or_insert(0) += 1;
            objects.insert((&f.object.kind, &f.object.namespace, &f.object.name));
        }
        let risk_score = crate::audit::risk_score(&severities, objects.len());
        let by_severity = severities.iter().map(|(k, v)| (k.as_str().to_string(), *v)).collect();
        let summary =
            FactsSummary { objects: objects.len(), findings: findings.len(), by_severity, by_area, risk_score };
        Facts::build(findings.to_vec(), summary, None)
    }

    fn build(mut order: Vec<&Finding>, summary: FactsSummary, cost: Option<FactsCost>) -> Facts {
        // Most severe first; the sort is stable, so ties keep the audit's order.
        order.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let (kept, rest) = order.split_at(order.len().min(MAX_FINDINGS));
        let omitted = (!rest.is_empty()).then(|| {
            let mut by_severity = BTreeMap::new();
            let mut by_rule = BTreeMap::new();
            for f in rest {
                *by_severity.entry(f.severity.as_str().to_string()).or_insert(0) += 1;
                *by_rule.entry(clean(&f.rule)).or_insert(0) += 1;
            }
            Omitted { findings: rest.len(), by_severity, by_rule }
        });
        Facts {
            version: FACTS_VERSION.to_string(),
            summary,
            cost,
            findings: kept.iter().map(|f| finding(f)).collect(),
            omitted,
        }
    }

    /// Finding ids an answer may cite.
    #[must_use]
    pub fn finding_ids(&self) -> BTreeSet<&str> {
        self.findings.iter().map(|f| f.id.as_str()).collect()
    }

    /// The fix commands an answer may quote, verbatim.
    #[must_use]
    pub fn commands(&self) -> BTreeSet<&str> {
        self.findings.iter().filter_map(|f| f.fix.as_ref()?.command.as_deref()).collect()
    }

    /// Canonical JSON (compact, fields in declaration order): what is sent and hashed.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn finding(f: &Finding) -> FindingFact {
    let evidence = f
        .evidence
        .iter()
        .map(|e| EvidenceFact { path: clean(&e.path), value: allowed_value(&e.path, &e.value) })
        .collect();
    let fix = f.fix.as_ref().map(|fix| FixFact {
        title: clean(&fix.title),
        command: fix
            .patch
            .as_ref()
            .and_then(|p| p.kubectl.as_deref())
            .map(redact::scrub)
            .filter(|c| c.len() <= MAX_COMMAND && !c.contains("[REDACTED:")),
    });
    let diagnosis = f.diagnosis.as_ref().map(|d| DiagnosisFact {
        class: clean(&d.class),
        count: d.count,
        since: d.since.as_deref().map(clean),
        hypotheses: d
            .hypotheses
            .iter()
            .map(|h| HypothesisFact {
                cause: clean(&h.cause),
                subclass: h.subclass.as_deref().map(clean),
                confidence: format!("{:?}", h.confidence).to_ascii_lowercase(),
            })
            .collect(),
    });
    FindingFact {
        id: clean(&f.fingerprint),
        rule: clean(&f.rule),
        name: clean(&f.name),
        severity: f.severity.as_str().to_string(),
        area: area_name(f.area),
        object: ObjectFact {
            kind: clean(&f.object.kind),
            namespace: f.object.namespace.as_deref().map(clean),
            name: clean(&f.object.name),
        },
        path: clean(&f.location.path),
        evidence,
        fix,
        monthly_cost_delta: f.cost.as_ref().map(|c| round2(c.monthly_delta)),
        diagnosis,
    }
}

/// The value of an allow-listed field, scrubbed and short; `None` for every other field.
fn allowed_value(path: &str, value: &str) -> Option<String> {
    let field = path.rsplit(['/', '.']).next().unwrap_or(path).to_ascii_lowercase();
    if !VALUE_FIELDS.contains(&field.as_str()) || value.len() > 120 || value.contains('\n') {
        return None;
    }
    // An image keeps its repository only: tags and digests can carry build metadata.
    let value = if field == "image" { image_repository(value) } else { value };
    let v = redact::scrub(value);
    (!v.contains("[REDACTED:")).then_some(v)
}

/// `registry/repo:tag@sha256:...` → `registry/repo`.
fn image_repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest[last_slash..].find(':') {
        Some(colon) => &no_digest[..last_slash + colon],
        None => no_digest,
    }
}

/// Scrubbed and cut to [`MAX_STRING`] bytes (at a character boundary).
fn clean(s: &str) -> String {
    let mut out = redact::scrub(s);
    if out.len() > MAX_STRING {
        let mut cut = MAX_STRING;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

fn area_name(a: crate::model::Area) -> String {
    serde_json::to_value(a).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
