//! Per-rule fixtures: `manifests-fixtures/rules/<ID>/fail*.yaml` must be flagged by rule ID alone,
//! `pass*.yaml` must not, and the findings on failing files are snapshotted.
//! A `config.yaml` next to the fixtures configures that rule's settings; a `usage-history.json`
//! (a Prometheus usage history as `--prometheus` reads it) is given to every fixture of that rule.
//! Diagnosis rules (`DIA*`) keep theirs under `manifests-fixtures/diagnosis/<ID>/`: live dumps
//! in the layout of `kubectl get -o json`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use clustergpt::audit::{self, RunOptions};
use clustergpt::config::{self, Config};
use clustergpt::rules;
use clustergpt::source;
use clustergpt::yaml::Limits;

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/rules")
}

fn diagnosis_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/diagnosis")
}

/// The fixture directory of a rule.
fn rule_dir(id: &str) -> PathBuf {
    if id.starts_with("DIA") { diagnosis_root().join(id) } else { fixtures_root().join(id) }
}

/// A rule's usage history, next to its fixtures.
const HISTORY: &str = "usage-history.json";

fn run_rule(id: &str, file: &Path, cfg: &Config) -> audit::Audit {
    let rel = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(file).to_path_buf();
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut input = source::Input::default();
    source::load_bytes(&rel.display().to_string(), bytes, Limits::default(), &mut input);
    if let Ok(text) = std::fs::read_to_string(rule_dir(id).join(HISTORY)) {
        input.history.push(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{id}/{HISTORY}: {e}")));
    }
    let opts = RunOptions { select: vec![id.to_string()], ..RunOptions::default() };
    audit::run(input, cfg, &opts)
}

fn render(a: &audit::Audit) -> String {
    let mut s = String::new();
    for f in &a.findings {
        let _ = writeln!(
            s,
            "{}:{}:{} {} {} [{}] {}",
            f.location.file.as_deref().unwrap_or("-"),
            f.location.line.unwrap_or(0),
            f.location.column.unwrap_or(0),
            f.rule,
            f.severity,
            f.object.kind,
            f.message
        );
        let _ = writeln!(s, "  at {}", f.location.path);
        for e in &f.evidence {
            let _ = writeln!(s, "  evidence {} = {}", e.path, e.value);
        }
        if let Some(d) = &f.diagnosis {
            let since = d.since.as_deref().unwrap_or("-");
            let _ = writeln!(s, "  diagnosis {}: {} (since {since}, count {})", d.class, d.summary, d.count);
            for h in &d.hypotheses {
                let sub = h.subclass.as_deref().unwrap_or("-");
                let _ =
                    writeln!(s, "    {} [{sub}] {} ({} evidence)", h.confidence.as_str(), h.cause, h.evidence.len());
            }
        }
        if let Some(fix) = &f.fix {
            let _ = writeln!(s, "  fix ({:?}): {}", fix.applicability, fix.title);
            for op in &fix.ops {
                let _ = writeln!(s, "    {}", serde_json::to_string(op).unwrap_or_default());
            }
        }
    }
    for e in &a.errors {
        let _ = writeln!(s, "error {e}");
    }
    s
}

/// Applies the rule's fixes (unsafe included) and renders the diff and the outcome of each fix.
/// A second run over the fixed text must change nothing.
fn render_fix(id: &str, file: &Path, cfg: &Config, problems: &mut Vec<String>) -> String {
    let rel = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(file).display().to_string();
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let opts = RunOptions { select: vec![id.to_string()], ..RunOptions::default() };
    let report = clustergpt::fix::fix_files(&[(rel.clone(), text.clone())], cfg, &opts, true);
    let mut s = String::from("\n--- clustergpt fix --unsafe ---\n");
    for x in &report.applied {
        let _ = writeln!(s, "applied {} on {}: {}", x.rule, x.object, x.title);
    }
    for x in &report.failed {
        let _ = writeln!(s, "failed {} on {}: {} ({})", x.rule, x.object, x.title, x.reason);
    }
    for x in &report.skipped {
        let _ = writeln!(s, "skipped {} on {}: {} ({})", x.rule, x.object, x.title, x.reason);
    }
    if let Some((original, fixed)) = report.changed.get(&rel) {
        s.push_str(&clustergpt::fix::unified_diff(&rel, original, fixed));
        let again = clustergpt::fix::fix_files(&[(rel.clone(), fixed.clone())], cfg, &opts, true);
        if !again.changed.is_empty() {
            problems.push(format!("{id}/{rel}: a second fix run changed the file again"));
        }
    }
    s
}

#[test]
fn every_rule_has_passing_and_failing_fixtures() {
    let mut missing = Vec::new();
    for r in rules::registry() {
        let dir = rule_dir(r.meta().id);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        if !names.iter().any(|n| n.starts_with("fail")) || !names.iter().any(|n| n.starts_with("pass")) {
            missing.push(r.meta().id);
        }
    }
    assert!(missing.is_empty(), "rules without fail*/pass* fixtures: {missing:?}");
}

#[test]
fn fixtures_pass_and_fail_as_labelled() {
    let mut problems = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_root())
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    // The diagnosis root also holds shared fixtures (guards, dumps): only rule directories here.
    dirs.extend(
        std::fs::read_dir(diagnosis_root())
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("DIA"))),
    );
    dirs.sort();
    for dir in dirs {
        let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        assert!(rules::find(&id).is_some(), "fixture directory {id} names no rule");
        let cfg_path = dir.join("config.yaml");
        let cfg = if cfg_path.exists() {
            config::load(&cfg_path).unwrap_or_else(|e| panic!("{}: {e:?}", cfg_path.display()))
        } else {
            Config::defaults()
        };
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(&dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
        files.sort();
        for f in files {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name == "config.yaml" || name == HISTORY || !source::is_manifest_path(&f) {
                continue;
            }
            let a = run_rule(&id, &f, &cfg);
            if !a.errors.is_empty() {
                problems.push(format!("{id}/{name}: input errors {:?}", a.errors));
            }
            let hits = a.findings.iter().filter(|x| x.rule == id).count();
            if name.starts_with("fail") {
                if hits == 0 {
                    problems.push(format!("{id}/{name}: expected a finding, got none"));
                }
                let mut shown = render(&a);
                shown.push_str(&render_fix(&id, &f, &cfg, &mut problems));
                insta::assert_snapshot!(format!("{id}__{name}"), shown);
            } else if name.starts_with("pass") && hits > 0 {
                problems.push(format!("{id}/{name}: expected no finding, got:\n{}", render(&a)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rule_metadata_is_complete_and_unique() {
    let mut ids = std::collections::BTreeSet::new();
    let mut names = std::collections::BTreeSet::new();
    for r in rules::registry() {
        let m = r.meta();
        assert!(ids.insert(m.id), "duplicate id {}", m.id);
        assert!(names.insert(m.name), "duplicate name {}", m.name);
        assert!(
            m.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} not kebab-case",
            m.name
        );
        let prefix = match m.area {
            clustergpt::model::Area::Reliability => "REL",
            clustergpt::model::Area::Security => "SEC",
            clustergpt::model::Area::Cost => "CST",
            clustergpt::model::Area::Architecture => "ARC",
            clustergpt::model::Area::Schema => "SCH",
            clustergpt::model::Area::Diagnosis => "DIA",
        };
        assert!(m.id.starts_with(prefix) && m.id.len() == 6, "{} should be {prefix}NNN", m.id);
        let doc = m.doc_text();
        for h in ["## What it checks", "## Why it matters", "## Example", "## Fix"] {
            assert!(doc.contains(h), "{} docs lack `{h}`", m.id);
        }
        assert!(!m.summary.ends_with('.'), "{} summary ends with a period", m.id);
        // The Fix section says how the automatic fix may be applied.
        let fix_section = doc.split("## Fix").nth(1).unwrap_or_default().to_lowercase();
        let word = match m.fix {
            Some(clustergpt::model::Applicability::Safe) => Some("safe"),
            Some(clustergpt::model::Applicability::Unsafe) => Some("unsafe"),
            Some(clustergpt::model::Applicability::DisplayOnly) => Some("display-only"),
            None => None,
        };
        if let Some(w) = word {
            assert!(fix_section.contains(w), "{} docs' Fix section does not say the fix is {w}", m.id);
        }
    }
}

/// How permissive an applicability is: safe fixes may be applied by default, unsafe ones with
/// `--unsafe`, display-only ones never.
fn permissiveness(a: clustergpt::model::Applicability) -> u8 {
    match a {
        clustergpt::model::Applicability::Safe => 2,
        clustergpt::model::Applicability::Unsafe => 1,
        clustergpt::model::Applicability::DisplayOnly => 0,
    }
}

/// `RuleMeta.fix` is the most permissive applicability a rule's fixes may have (`None`: it never
/// emits one). Every fix a rule emits on its fixtures stays within it, some fixture reaches it (so
/// the declaration is not overstated), and the rule's Fix section names every applicability seen.
#[test]
fn emitted_fixes_match_declared_applicability() {
    use std::collections::{BTreeMap, BTreeSet};
    let mut seen: BTreeMap<&'static str, BTreeSet<u8>> = BTreeMap::new();
    let mut problems = Vec::new();
    for r in rules::registry() {
        let m = r.meta();
        let dir = rule_dir(m.id);
        let cfg_path = dir.join("config.yaml");
        let cfg = if cfg_path.exists() {
            config::load(&cfg_path).unwrap_or_else(|e| panic!("{}: {e:?}", cfg_path.display()))
        } else {
            Config::defaults()
        };
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(&dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
        files.sort();
        let levels = seen.entry(m.id).or_default();
        for f in
            files.iter().filter(|f| source::is_manifest_path(f) && !f.ends_with("config.yaml") && !f.ends_with(HISTORY))
        {
            for finding in run_rule(m.id, f, &cfg).findings.iter().filter(|x| x.rule == m.id) {
                let Some(fix) = &finding.fix else { continue };
                levels.insert(permissiveness(fix.applicability));
                match m.fix {
                    None => problems.push(format!("{}: declares no fix but emits one ({})", m.id, fix.title)),
                    Some(declared) if permissiveness(fix.applicability) > permissiveness(declared) => {
                        problems.push(format!(
                            "{}: declares {declared:?} but emits a {:?} fix ({})",
                            m.id, fix.applicability, fix.title
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        if let Some(declared) = m.fix
            && !levels.contains(&permissiveness(declared))
        {
            problems.push(format!("{}: declares {declared:?}, but no fixture emits such a fix", m.id));
        }
        let fix_section = m.doc_text().split("## Fix").nth(1).unwrap_or_default().to_lowercase();
        for (level, word) in [(2, "safe"), (1, "unsafe"), (0, "display-only")] {
            if levels.contains(&level) && !fix_section.contains(word) {
                problems.push(format!("{}: emits {word} fixes but its Fix section does not say so", m.id));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
