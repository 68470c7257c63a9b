//! Tests over the shared corpus (`../shared/corpus`, or `$CLUSTERGPT_CORPUS`); each skips cleanly
//! when the corpus is absent.
//!
//! - `real/`: real-world manifests must all be audited without a tool error.
//! - `polaris/`: Polaris's labelled fixtures are a conformance suite for the rules mapped to
//!   Polaris checks (`failure*` must be flagged by the mapped rules alone, `success*` must not).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clustergpt::audit::{self, RunOptions};
use clustergpt::config::Config;
use clustergpt::rules;
use clustergpt::source;
use clustergpt::yaml::Limits;

fn corpus() -> Option<PathBuf> {
    let p = std::env::var_os("CLUSTERGPT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: corpus not found at {} (set CLUSTERGPT_CORPUS)", p.display());
        None
    }
}

#[test]
fn real_world_manifests_audit_without_errors() {
    let Some(c) = corpus() else { return };
    let real = c.join("real");
    if !real.is_dir() {
        return;
    }
    let input = source::load_paths(&[real], &mut std::io::empty(), Limits::default());
    let files = input.files;
    let a = audit::run(input, &Config::defaults(), &RunOptions { select: vec!["all".into()], ..RunOptions::default() });
    assert!(a.errors.is_empty(), "input errors: {:#?}", a.errors);
    assert!(a.summary.objects >= 1000, "only {} objects from {files} files", a.summary.objects);
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &a.findings {
        *per_rule.entry(f.rule.as_ref()).or_insert(0) += 1;
    }
    eprintln!("{} objects, {} findings: {per_rule:?}", a.summary.objects, a.findings.len());
}

/// `live/`: kubectl and support-bundle List dumps. Typed lists (`DeploymentList`, `JobList`, ...)
/// leave `kind` off their items; every item must still be read, none skipped for a missing kind.
#[test]
fn live_dumps_read_every_list_item() {
    let Some(c) = corpus() else { return };
    let live = c.join("live");
    let Ok(index) = std::fs::read_to_string(live.join("INDEX.tsv")) else { return };
    // Column 5 of the index is the item count of each dump.
    let expected: usize = index.lines().skip(1).filter_map(|l| l.split('\t').nth(4)?.parse::<usize>().ok()).sum();
    let input = source::load_paths(&[live], &mut std::io::empty(), Limits::default());
    assert!(input.errors.is_empty(), "input errors: {:#?}", input.errors);
    let missing: Vec<String> = input
        .skipped
        .iter()
        .filter(|s| s.reason.contains("no apiVersion") || s.reason.contains("no kind"))
        .map(|s| format!("{}:{:?} {}", s.source, s.line, s.reason))
        .collect();
    assert!(missing.is_empty(), "{} items skipped for a missing kind: {missing:#?}", missing.len());
    assert_eq!(input.objects.len(), expected, "skipped: {:#?}", input.skipped);
    assert!(input.objects.iter().all(|o| !o.kind.is_empty() && !o.api_version.is_empty()));
}

#[derive(Default)]
struct Tally {
    agree: usize,
    total: usize,
    misses: Vec<String>,
}

#[test]
fn polaris_conformance() {
    let Some(c) = corpus() else { return };
    let dir = c.join("polaris");
    let Ok(index) = std::fs::read_to_string(dir.join("INDEX.tsv")) else { return };
    let mut per_check: BTreeMap<String, Tally> = BTreeMap::new();
    let mut unmapped: BTreeMap<String, usize> = BTreeMap::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [check, file, expected, ..] = cols[..] else { continue };
        if expected != "fail" && expected != "pass" {
            continue;
        }
        let mapped: Vec<String> = rules::registry()
            .iter()
            .filter(|r| r.meta().equivalents.polaris.contains(&check))
            .map(|r| r.meta().id.to_string())
            .collect();
        if mapped.is_empty() {
            *unmapped.entry(check.to_string()).or_insert(0) += 1;
            continue;
        }
        let input = source::load_paths(&[dir.join(file)], &mut std::io::empty(), Limits::default());
        let opts = RunOptions { select: mapped.clone(), ..RunOptions::default() };
        let a = audit::run(input, &Config::defaults(), &opts);
        let flagged = a.findings.iter().any(|f| mapped.iter().any(|m| *m == f.rule));
        let t = per_check.entry(check.to_string()).or_default();
        t.total += 1;
        if flagged == (expected == "fail") && a.errors.is_empty() {
            t.agree += 1;
        } else {
            t.misses.push(format!("{file} (expected {expected}, flagged {flagged}, errors {})", a.errors.len()));
        }
    }
    let (mut agree, mut total) = (0, 0);
    eprintln!("{:<42} {:>7}  rules", "polaris check", "agree");
    for (check, t) in &per_check {
        agree += t.agree;
        total += t.total;
        let ids: Vec<&str> = rules::registry()
            .iter()
            .filter(|r| r.meta().equivalents.polaris.contains(&check.as_str()))
            .map(|r| r.meta().id)
            .collect();
        eprintln!("{check:<42} {:>3}/{:<3}  {}", t.agree, t.total, ids.join(","));
        for m in &t.misses {
            eprintln!("    miss: {m}");
        }
    }
    eprintln!("unmapped checks: {:?}", unmapped.keys().collect::<Vec<_>>());
    let pct = if total == 0 { 100.0 } else { 100.0 * agree as f64 / total as f64 };
    eprintln!("mapped checks: {}, agreement {agree}/{total} = {pct:.1}%", per_check.len());
    let min_checks: usize = std::env::var("POLARIS_MIN_CHECKS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    assert!(per_check.len() >= min_checks, "only {} Polaris checks mapped", per_check.len());
    assert!(pct >= 95.0, "agreement {pct:.1}% is below 95%");
}

/// Flattens a JSON value into its set of leaf paths, for comparing our fixed files with Polaris's
/// `mutated*.yaml` by keys rather than formatting.
fn leaf_paths(v: &serde_json::Value, prefix: String, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, c) in m {
                leaf_paths(c, format!("{prefix}/{k}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                leaf_paths(c, format!("{prefix}/{i}"), out);
            }
        }
        _ => {
            out.insert(prefix);
        }
    }
}

fn bodies(path: &std::path::Path, text: &str) -> Vec<serde_json::Value> {
    let mut input = source::Input::default();
    source::load_text(&path.display().to_string(), text.to_string(), Limits::default(), &mut input);
    input.objects.into_iter().map(|o| o.body).collect()
}

#[test]
fn polaris_failures_are_fixed_by_fix_unsafe() {
    let Some(c) = corpus() else { return };
    let dir = c.join("polaris");
    let Ok(index) = std::fs::read_to_string(dir.join("INDEX.tsv")) else { return };
    let (mut fixed, mut fixable, mut same_keys, mut compared, mut display_only) = (0, 0, 0, 0, 0);
    let mut problems = Vec::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [check, file, "fail", ..] = cols[..] else { continue };
        let mapped: Vec<String> = rules::registry()
            .iter()
            .filter(|r| {
                r.meta().equivalents.polaris.contains(&check)
                    && r.meta().fix.is_some_and(|a| a != clustergpt::model::Applicability::DisplayOnly)
            })
            .map(|r| r.meta().id.to_string())
            .collect();
        if mapped.is_empty() {
            continue;
        }
        let path = dir.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let opts = RunOptions { select: mapped.clone(), ..RunOptions::default() };
        let name = path.display().to_string();
        let report = clustergpt::fix::fix_files(&[(name.clone(), text.clone())], &Config::defaults(), &opts, true);
        let after = report.after.as_ref().expect("audit after fixing");
        let new_text = report.changed.get(&name).map_or(text.clone(), |(_, t)| t.clone());
        // Findings whose fix needs values only a person knows (a probe's endpoint) are not counted.
        let applicable = |f: &&clustergpt::model::Finding| {
            mapped.iter().any(|m| *m == f.rule)
                && f.fix.as_ref().is_some_and(|x| x.applicability != clustergpt::model::Applicability::DisplayOnly)
        };
        if report.applied.is_empty() && !after.findings.iter().any(|f| applicable(&f)) {
            display_only += 1;
            continue;
        }
        fixable += 1;
        let remaining: Vec<&str> = after.findings.iter().filter(applicable).map(|f| f.rule.as_ref()).collect();
        if after.errors.is_empty() && remaining.is_empty() {
            fixed += 1;
        } else {
            let reasons: Vec<String> = report.failed.iter().map(|f| format!("{}: {}", f.rule, f.reason)).collect();
            problems.push(format!("{file}: remaining {remaining:?}, errors {:?}, failed {reasons:?}", after.errors));
        }
        // Compare with Polaris's expected output where it ships one.
        let stem = std::path::Path::new(file).file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let mutated = path.with_file_name(stem.replacen("failure", "mutated", 1));
        if mutated != path
            && let Ok(expected) = std::fs::read_to_string(&mutated)
        {
            compared += 1;
            let mut ours = std::collections::BTreeSet::new();
            let mut theirs = std::collections::BTreeSet::new();
            for b in bodies(&path, &new_text) {
                leaf_paths(&b, String::new(), &mut ours);
            }
            for b in bodies(&mutated, &expected) {
                leaf_paths(&b, String::new(), &mut theirs);
            }
            if ours == theirs {
                same_keys += 1;
            } else {
                let only_ours: Vec<&String> = ours.difference(&theirs).collect();
                let only_theirs: Vec<&String> = theirs.difference(&ours).collect();
                eprintln!(
                    "{file}: differs from {}: only ours {only_ours:?}, only polaris {only_theirs:?}",
                    mutated.display()
                );
            }
        }
    }
    eprintln!(
        "fixed {fixed}/{fixable} Polaris failure fixtures ({display_only} more have display-only fixes); {same_keys}/{compared} match Polaris's mutated files key for key"
    );
    for p in &problems {
        eprintln!("  not fixed: {p}");
    }
    assert_eq!(fixed, fixable, "some failure fixtures were not fixed");
}
