//! Base ↔ head comparison: which findings a change introduces and resolves, what it does to the
//! monthly cost of each workload, and the gates a CI job fails on.
//!
//! Pure: both sides are audits (from a git ref, a directory or a saved JSON audit, read by the
//! CLI); findings are matched by fingerprint (then, for a moved file, by rule, object and field),
//! cost items by kind, namespace and name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::audit::Audit;
use crate::cost::{self, Unpriced, round_cents};
use crate::model::{Finding, Severity};
use crate::source::InputError;

/// Version of the JSON diff schema.
pub const DIFF_SCHEMA_VERSION: &str = "2";

/// How a workload changed between base and head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Only in head.
    Added,
    /// Only in base.
    Removed,
    /// In both, at a different monthly cost.
    Changed,
    /// In both, at the same monthly cost.
    Unchanged,
}

impl Status {
    /// `added`, `removed`, `changed` or `unchanged`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
        }
    }
}

/// The monthly cost of one workload (or claim, or load balancer) on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadDelta {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Added, removed, changed or unchanged.
    pub status: Status,
    /// Monthly cost in base (0 when added).
    pub baseline_monthly: f64,
    /// Monthly cost in head (0 when removed).
    pub head_monthly: f64,
    /// `head_monthly - baseline_monthly`.
    pub delta_monthly: f64,
    /// Change in percent of the baseline; `null` when the baseline is 0.
    pub delta_percent: Option<f64>,
}

/// The cost side of a diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostDiff {
    /// ISO currency code of every amount.
    pub currency: String,
    /// Monthly total of base.
    pub baseline_monthly: f64,
    /// Monthly total of head.
    pub head_monthly: f64,
    /// `head_monthly - baseline_monthly`.
    pub delta_monthly: f64,
    /// Change in percent of the baseline; `null` when the baseline is 0.
    pub delta_percent: Option<f64>,
    /// Every workload of either side, sorted by kind, namespace, name.
    pub workloads: Vec<WorkloadDelta>,
}

/// One gate's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// `fail-on-new` or `max-cost-increase`.
    pub name: String,
    /// Whether the change passes it.
    pub passed: bool,
    /// Why, in one line.
    pub reason: String,
}

/// Facts the renderers show that are not part of the JSON diff contract.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiffContext {
    /// What the base is (`origin/main`, `old/`, `base.json`).
    pub base_label: String,
    /// What the head is.
    pub head_label: String,
    /// Hours per month of the estimate.
    pub hours_per_month: f64,
    /// Assumptions of the head's estimate.
    pub assumptions: Vec<String>,
    /// Head objects that could not be priced.
    pub unpriced: Vec<Unpriced>,
    /// Inputs of the base that could not be read.
    pub base_errors: Vec<InputError>,
    /// Inputs of the head that could not be read.
    pub head_errors: Vec<InputError>,
    /// Head workloads whose autoscaler gives a range: (kind, namespace, name) → monthly at the top.
    pub head_max: BTreeMap<(String, String, String), f64>,
    /// Findings in base.
    pub base_findings: usize,
    /// Findings in head.
    pub head_findings: usize,
}

/// The comparison of two audits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    /// Version of this JSON.
    pub schema_version: String,
    /// Findings in head that base does not have, in the head audit's order.
    pub new: Vec<Finding>,
    /// Findings in base that head does not have, in the base audit's order.
    pub resolved: Vec<Finding>,
    /// Findings in both.
    pub unchanged: usize,
    /// Cost change.
    pub cost: CostDiff,
    /// Gates that were asked for, in the order `fail-on-new`, `max-cost-increase`.
    pub gates: Vec<Gate>,
    /// What renderers show besides the contract.
    #[serde(skip)]
    pub context: DiffContext,
}

/// Percent change, rounded to two decimals; `None` when the baseline is 0.
#[must_use]
pub fn percent(baseline: f64, head: f64) -> Option<f64> {
    (baseline != 0.0).then(|| round_cents((head - baseline) / baseline * 100.0))
}

type Key = (String, String, String);

fn monthly_by_key(a: &Audit) -> BTreeMap<Key, f64> {
    let mut m: BTreeMap<Key, f64> = BTreeMap::new();
    for w in &a.cost.workloads {
        // The same object in several files (overlays, copies) counts each time, as the total does.
        *m.entry((w.kind.clone(), w.namespace.clone(), w.name.clone())).or_insert(0.0) += w.monthly;
    }
    m
}

/// What a finding is about, without where its object was read from.
type Subject<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, &'a str, &'a str);

fn subject(f: &Finding) -> Subject<'_> {
    let o = &f.object;
    (&f.rule, o.group(), &o.kind, o.namespace.as_deref(), &o.name, &f.location.path)
}

/// Head findings base does not have, and base findings head does not have. Findings match by
/// fingerprint; what is left then matches by rule, object and field, paired in audit order, so a
/// file that moved (or a base read from another directory) does not turn every finding in it
/// into a new and a resolved one. Copies of one object in several files still count each.
fn unmatched<'a>(base: &'a [Finding], head: &'a [Finding]) -> (Vec<&'a Finding>, Vec<&'a Finding>) {
    let base_fps: BTreeSet<&str> = base.iter().map(|f| f.fingerprint.as_str()).collect();
    let head_fps: BTreeSet<&str> = head.iter().map(|f| f.fingerprint.as_str()).collect();
    let new: Vec<&Finding> = head.iter().filter(|f| !base_fps.contains(f.fingerprint.as_str())).collect();
    let resolved: Vec<&Finding> = base.iter().filter(|f| !head_fps.contains(f.fingerprint.as_str())).collect();
    let mut left: BTreeMap<Subject<'_>, usize> = BTreeMap::new();
    for f in &resolved {
        *left.entry(subject(f)).or_insert(0) += 1;
    }
    let mut paired: BTreeMap<Subject<'_>, usize> = BTreeMap::new();
    let new: Vec<&Finding> = new
        .into_iter()
        .filter(|f| match left.get_mut(&subject(f)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                *paired.entry(subject(f)).or_insert(0) += 1;
                false
            }
            _ => true,
        })
        .collect();
    let resolved: Vec<&Finding> = resolved
        .into_iter()
        .filter(|f| match paired.get_mut(&subject(f)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect();
    (new, resolved)
}

impl Diff {
    /// Compares base with head.
    #[must_use]
    pub fn new(base: &Audit, head: &Audit) -> Diff {
        let (new, resolved) = unmatched(&base.findings, &head.findings);
        let new: Vec<Finding> = new.into_iter().cloned().collect();
        let resolved: Vec<Finding> = resolved.into_iter().cloned().collect();
        let unchanged = head.findings.len() - new.len();

        let b = monthly_by_key(base);
        let h = monthly_by_key(head);
        let mut keys: Vec<&Key> = b.keys().chain(h.keys()).collect();
        keys.sort();
        keys.dedup();
        let workloads: Vec<WorkloadDelta> = keys
            .into_iter()
            .map(|k| {
                let (bm, hm) = (b.get(k).copied(), h.get(k).copied());
                let status = match (bm, hm) {
                    (None, _) => Status::Added,
                    (_, None) => Status::Removed,
                    (Some(x), Some(y)) if round_cents(x) == round_cents(y) => Status::Unchanged,
                    _ => Status::Changed,
                };
                let (bm, hm) = (round_cents(bm.unwrap_or(0.0)), round_cents(hm.unwrap_or(0.0)));
                WorkloadDelta {
                    kind: k.0.clone(),
                    namespace: k.1.clone(),
                    name: k.2.clone(),
                    status,
                    baseline_monthly: bm,
                    head_monthly: hm,
                    delta_monthly: round_cents(hm - bm),
                    delta_percent: percent(bm, hm),
                }
            })
            .collect();
        let (bt, ht) = (round_cents(base.cost.monthly_total), round_cents(head.cost.monthly_total));
        let currency =
            if head.cost.currency.is_empty() { base.cost.currency.clone() } else { head.cost.currency.clone() };
        Diff {
            schema_version: DIFF_SCHEMA_VERSION.to_string(),
            new,
            resolved,
            unchanged,
            cost: CostDiff {
                currency,
                baseline_monthly: bt,
                head_monthly: ht,
                delta_monthly: round_cents(ht - bt),
                delta_percent: percent(bt, ht),
                workloads,
            },
            gates: Vec::new(),
            context: DiffContext {
                hours_per_month: head.cost.hours_per_month,
                assumptions: head.cost.assumptions.clone(),
                unpriced: head.cost.unpriced.clone(),
                base_errors: base.errors.clone(),
                head_errors: head.errors.clone(),
                head_max: head
                    .cost
                    .workloads
                    .iter()
                    .filter(|w| w.monthly_max != w.monthly)
                    .map(|w| ((w.kind.clone(), w.namespace.clone(), w.name.clone()), w.monthly_max))
                    .collect(),
                base_findings: base.findings.len(),
                head_findings: head.findings.len(),
                ..DiffContext::default()
            },
        }
    }

    /// Sets the labels renderers show for base and head.
    #[must_use]
    pub fn labeled(mut self, base: impl Into<String>, head: impl Into<String>) -> Diff {
        self.context.base_label = base.into();
        self.context.head_label = head.into();
        self
    }

    /// Evaluates the gates asked for and records them in `gates`.
    pub fn evaluate_gates(&mut self, fail_on_new: Option<Severity>, max_cost_increase: Option<CostLimit>) {
        self.gates.clear();
        if let Some(min) = fail_on_new {
            let hits: Vec<&Finding> = self.new.iter().filter(|f| f.severity >= min).collect();
            let reason = if hits.is_empty() {
                format!("no new findings at or above {min}")
            } else {
                format!("{} at or above {min} ({})", plural(hits.len(), "new finding"), severity_counts(&hits))
            };
            self.gates.push(Gate { name: "fail-on-new".to_string(), passed: hits.is_empty(), reason });
        }
        if let Some(limit) = max_cost_increase {
            let c = &self.cost;
            let m = |v: f64| cost::money(&c.currency, v);
            let change = format!("{}{}", signed_money(&c.currency, c.delta_monthly), percent_suffix(c.delta_percent));
            let increase = format!("{}{}", m(c.delta_monthly), percent_suffix(c.delta_percent));
            let (passed, reason) = match limit {
                CostLimit::Amount(max) => {
                    let passed = c.delta_monthly <= max;
                    let reason = if passed {
                        format!("monthly cost change {change} is within the limit of {}", m(max))
                    } else {
                        format!("monthly cost would increase by {increase}, over the limit of {}", m(max))
                    };
                    (passed, reason)
                }
                CostLimit::Percent(max) => match c.delta_percent {
                    Some(p) => {
                        let passed = p <= max;
                        let reason = if passed {
                            format!("monthly cost change {change} is within the limit of {}%", trim(max))
                        } else {
                            format!("monthly cost would increase by {increase}, over the limit of {}%", trim(max))
                        };
                        (passed, reason)
                    }
                    None if c.delta_monthly > 0.0 => (
                        false,
                        format!(
                            "monthly cost would rise from {} to {}: an increase from zero exceeds any percentage limit",
                            m(c.baseline_monthly),
                            m(c.head_monthly)
                        ),
                    ),
                    None => (true, format!("monthly cost change {change} is within the limit of {}%", trim(max))),
                },
            };
            self.gates.push(Gate { name: "max-cost-increase".to_string(), passed, reason });
        }
    }

    /// Whether every gate passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.gates.iter().all(|g| g.passed)
    }

    /// The one-line verdict: `Monthly cost will increase by $586.00 (+78%) 📈 · 3 new findings (1 high) · 2 resolved`.
    #[must_use]
    pub fn verdict(&self) -> String {
        let c = &self.cost;
        let cost = if c.delta_monthly > 0.0 {
            format!(
                "Monthly cost will increase by {}{} 📈",
                cost::money(&c.currency, c.delta_monthly),
                percent_suffix(c.delta_percent)
            )
        } else if c.delta_monthly < 0.0 {
            format!(
                "Monthly cost will decrease by {}{} 📉",
                cost::money(&c.currency, -c.delta_monthly),
                percent_suffix(c.delta_percent)
            )
        } else {
            "Monthly cost will not change".to_string()
        };
        let new = if self.new.is_empty() {
            "no new findings".to_string()
        } else {
            let refs: Vec<&Finding> = self.new.iter().collect();
            format!("{} ({})", plural(self.new.len(), "new finding"), severity_counts(&refs))
        };
        format!("{cost} · {new} · {} resolved", self.resolved.len())
    }

    /// The diff as pretty JSON with a trailing newline (the `--format json` contract).
    ///
    /// # Errors
    /// Only if serialization fails, which the types rule out.
    pub fn to_json(&self) -> serde_json::Result<String> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    /// The head's monthly cost of a workload as text, with the autoscaler's range when it has one:
    /// `$87.79` or `$87.79 (up to $351.14)`.
    #[must_use]
    pub fn head_text(&self, w: &WorkloadDelta) -> String {
        let base = cost::money(&self.cost.currency, w.head_monthly);
        match self.context.head_max.get(&(w.kind.clone(), w.namespace.clone(), w.name.clone())) {
            Some(max) => format!("{base} (up to {})", cost::money(&self.cost.currency, *max)),
            None => base,
        }
    }

    /// Workloads whose cost changed (added, removed, changed), largest change first.
    #[must_use]
    pub fn changed_workloads(&self) -> Vec<&WorkloadDelta> {
        let mut v: Vec<&WorkloadDelta> = self.cost.workloads.iter().filter(|w| w.status != Status::Unchanged).collect();
        v.sort_by(|a, b| {
            b.delta_monthly
                .abs()
                .total_cmp(&a.delta_monthly.abs())
                .then_with(|| (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name)))
        });
        v
    }
}

/// A `--max-cost-increase` limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CostLimit {
    /// An amount per month in the report's currency.
    Amount(f64),
    /// Percent of the base's monthly cost.
    Percent(f64),
}

impl CostLimit {
    /// Parses `100`, `$100`, `99.5` or `10%`.
    ///
    /// # Errors
    /// What to write instead.
    pub fn parse(s: &str) -> Result<CostLimit, String> {
        let t = s.trim();
        let bad = || format!("`{s}` is not a cost limit; write an amount per month (`100`) or a percentage (`10%`)");
        let (num, pct) = match t.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (t.trim_start_matches(['$', '€', '£']).trim(), false),
        };
        let v: f64 = num.replace(',', "").parse().map_err(|_| bad())?;
        if !v.is_finite() || v < 0.0 {
            return Err(bad());
        }
        Ok(if pct { CostLimit::Percent(v) } else { CostLimit::Amount(v) })
    }
}

/// `+$12.00`, `-$3.50`, `$0.00`.
#[must_use]
pub fn signed_money(currency: &str, v: f64) -> String {
    if v > 0.0 { format!("+{}", cost::money(currency, v)) } else { cost::money(currency, v) }
}

/// ` (+78%)`, ` (-7.5%)`, or empty when there is no percentage.
#[must_use]
pub fn percent_suffix(p: Option<f64>) -> String {
    match p {
        Some(p) => format!(" ({})", percent_text(p)),
        None => String::new(),
    }
}

/// `+78%`, `-7.5%`, `0%`: whole percents from 10 up, one decimal below.
#[must_use]
pub fn percent_text(p: f64) -> String {
    let body = if p.abs() >= 10.0 { format!("{:.0}", p.abs()) } else { trim_1(p.abs()) };
    let sign = if p > 0.0 && body != "0" {
        "+"
    } else if p < 0.0 && body != "0" {
        "-"
    } else {
        ""
    };
    format!("{sign}{body}%")
}

fn trim_1(v: f64) -> String {
    let s = format!("{v:.1}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `1 critical, 2 high`, most severe first.
#[must_use]
pub fn severity_counts(findings: &[&Finding]) -> String {
    Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_limits_parse() {
        assert_eq!(CostLimit::parse("100"), Ok(CostLimit::Amount(100.0)));
        assert_eq!(CostLimit::parse("$1,000.50"), Ok(CostLimit::Amount(1000.5)));
        assert_eq!(CostLimit::parse("10%"), Ok(CostLimit::Percent(10.0)));
        assert_eq!(CostLimit::parse(" 2.5 % "), Ok(CostLimit::Percent(2.5)));
        assert!(CostLimit::parse("ten").is_err());
        assert!(CostLimit::parse("-5").is_err());
        assert!(CostLimit::parse("%").is_err());
    }

    #[test]
    fn percent_texts() {
        assert_eq!(percent_text(78.2), "+78%");
        assert_eq!(percent_text(-7.5), "-7.5%");
        assert_eq!(percent_text(0.0), "0%");
        assert_eq!(percent_text(0.04), "0%");
        assert_eq!(percent_text(-100.0), "-100%");
        assert_eq!(signed_money("USD", 12.0), "+$12.00");
        assert_eq!(signed_money("USD", -3.5), "-$3.50");
        assert_eq!(percent(0.0, 5.0), None);
        assert_eq!(percent(200.0, 300.0), Some(50.0));
    }
}
