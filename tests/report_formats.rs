//! Snapshots of every report format over one fixed audit of `manifests-fixtures/report/`:
//! findings of several rules, an input error, a skipped document, exemptions by config and by
//! annotation (one unmatched), and names that try to inject Markdown and HTML.

use std::path::PathBuf;

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::{Config, Exemption};
use clustergpt::report::{json, markdown, sarif, terminal};
use clustergpt::rules;
use clustergpt::source;
use clustergpt::yaml::Limits;
use serde_json::Value;

/// The rules the fixture exercises; fixed so that new rules do not change these snapshots.
const RULES: [&str; 3] = ["REL001", "SEC001", "SCH001"];

fn exemption(rules: &[&str], name: &str, reason: &str, line: u32) -> Exemption {
    Exemption {
        rules: rules.iter().map(ToString::to_string).collect(),
        namespace: Some("shop".to_string()),
        kind: Some("Deployment".to_string()),
        name: Some(name.to_string()),
        reason: reason.to_string(),
        owner: Some("platform-team".to_string()),
        expires: None,
        line,
    }
}

fn audit() -> Audit {
    // Integration tests run in the crate root, so paths stay relative and snapshots portable.
    let mut stdin = std::io::empty();
    let input = source::load_paths(&[PathBuf::from("manifests-fixtures/report")], &mut stdin, Limits::default());
    let config = Config {
        exemptions: vec![
            exemption(&["SCH001"], "worker", "replicas is rewritten by the deploy pipeline", 7),
            exemption(&["SEC001"], "legacy-*", "legacy apps are being retired", 12),
        ],
        ..Config::defaults()
    };
    let opts = RunOptions {
        select: RULES.iter().map(ToString::to_string).collect(),
        today: Some("2026-01-01".to_string()),
        ..RunOptions::default()
    };
    audit::run(input, &config, &opts)
}

#[test]
fn fixture_covers_what_the_reports_show() {
    let a = audit();
    let rules: std::collections::BTreeSet<&str> = a.findings.iter().map(|f| f.rule.as_ref()).collect();
    assert!(rules.len() >= 2, "findings from several rules: {rules:?}");
    assert_eq!(a.errors.len(), 1, "{:?}", a.errors);
    assert_eq!(a.skipped.len(), 1, "{:?}", a.skipped);
    assert!(a.suppressed.iter().any(|s| s.by == "annotation"), "{:?}", a.suppressed);
    assert!(a.suppressed.iter().any(|s| s.by.starts_with(".clustergpt.yaml:")), "{:?}", a.suppressed);
    assert_eq!(a.exemption_notes.len(), 1, "{:?}", a.exemption_notes);
    assert!(a.findings.iter().any(|f| f.fix.is_some()));
}

#[test]
fn terminal_snapshot() {
    insta::assert_snapshot!("terminal", terminal::render(&audit(), false));
}

#[test]
fn terminal_colour_only_when_asked() {
    let a = audit();
    assert!(!terminal::render(&a, false).contains('\x1b'));
    assert!(terminal::render(&a, true).contains("\x1b["));
}

#[test]
fn json_snapshot_is_the_serde_serialization() {
    let a = audit();
    let text = json::render(&a).expect("json");
    let back: Audit = serde_json::from_str(&text).expect("parses back");
    // Spans are not part of the JSON; everything else round-trips.
    let mut expected = a.clone();
    for f in &mut expected.findings {
        f.location.span = None;
    }
    assert_eq!(back, expected);
    assert_eq!(text, format!("{}\n", serde_json::to_string_pretty(&a).expect("json")));
    insta::assert_snapshot!("json", text);
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", markdown::render(&audit()).expect("markdown"));
}

#[test]
fn markdown_neutralizes_hostile_names() {
    let md = markdown::render(&audit()).expect("markdown");
    assert!(!md.contains("<img"), "raw HTML leaked");
    assert!(!md.contains("@everyone"), "a mention would notify people");
    assert!(!md.contains("\n# @"), "a newline in a name started a heading");
    // Every table row keeps its column count: count cell separators that are not escaped.
    for table in md.split("\n\n").filter(|b| b.starts_with('|')) {
        let widths: Vec<usize> = table.lines().map(unescaped_pipes).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "broken table:\n{table}");
    }
}

#[test]
fn markdown_fix_lines_say_how_to_apply_each_fix() {
    let mut a = audit();
    let fix = a.findings.iter_mut().find_map(|f| f.fix.as_mut()).expect("a fix");
    fix.patch = Some(Box::new(clustergpt::model::Patch {
        patch_type: "strategic".to_string(),
        body: "{}".to_string(),
        kubectl: Some("kubectl patch".to_string()),
        refused: None,
        yaml: "spec:\n  replicas: 2 # ```\n".to_string(),
    }));
    fix.edit_error = Some("flow-style mapping".to_string());
    let md = markdown::render(&a).expect("markdown");
    assert!(md.contains("; not applied to the file automatically: flow-style mapping; live: `kubectl patch`"), "{md}");
    let fix = a.findings.iter_mut().find_map(|f| f.fix.as_mut()).expect("a fix");
    fix.edit_error = None;
    if let Some(p) = fix.patch.as_mut() {
        p.kubectl = None;
        p.refused = Some("`spec.selector` of a Deployment cannot be changed once created".to_string());
    }
    let md = markdown::render(&a).expect("markdown");
    assert!(md.contains("; live: `spec.selector` of a Deployment cannot be changed once created"), "{md}");
    assert!(!md.contains("kubectl patch"), "{md}");
}

#[test]
fn the_demo_report_reads_on_one_screen_per_level_with_relative_paths() {
    let mut stdin = std::io::empty();
    let input = source::load_paths(&[PathBuf::from("examples/demo-app")], &mut stdin, Limits::default());
    let a = audit::run(input, &clustergpt::config::Config::defaults(), &audit::RunOptions::default());
    let md = markdown::render(&a).expect("markdown");
    assert!(md.lines().count() < 300, "{} lines", md.lines().count());
    assert!(md.contains("<details>"), "details are folded");
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(!md.contains(root), "no absolute paths");
    // Code in messages renders as code, not as escaped backticks.
    assert!(md.contains("container `debug` runs privileged") && !md.contains("\\`"), "{md}");
}

fn unescaped_pipes(line: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => n += 1,
            _ => escaped = false,
        }
    }
    n
}

/// SARIF with the rules' prose and the tool version replaced: those change with the rules and
/// releases, not with the renderer.
fn sarif_for_snapshot(a: &Audit) -> Value {
    let mut v: Value = serde_json::from_str(&sarif::render(a).expect("sarif")).expect("sarif is JSON");
    let driver = &mut v["runs"][0]["tool"]["driver"];
    driver["version"] = Value::from("[version]");
    driver["semanticVersion"] = Value::from("[version]");
    for rule in driver["rules"].as_array_mut().expect("rules") {
        let id = rule["id"].as_str().unwrap_or_default().to_string();
        rule["fullDescription"]["text"] = Value::from(format!("[{id}: What it checks]"));
        rule["help"]["text"] = Value::from(format!("[{id}: docs]"));
        rule["help"]["markdown"] = Value::from(format!("[{id}: docs]"));
    }
    v
}

#[test]
fn sarif_snapshot() {
    let text = serde_json::to_string_pretty(&sarif_for_snapshot(&audit())).expect("json");
    insta::assert_snapshot!("sarif", text);
}

#[test]
fn sarif_has_what_code_scanning_requires() {
    let a = audit();
    let v: Value = serde_json::from_str(&sarif::render(&a).expect("sarif")).expect("sarif is JSON");
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().is_some_and(|s| s.contains("sarif-2.1.0")));
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "clustergpt");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));

    // Every rule that ran is described, with its docs.
    let descriptors = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = descriptors.iter().map(|r| r["id"].as_str().expect("id")).collect();
    let mut ran: Vec<&str> = a.rules_run.iter().map(String::as_str).collect();
    ran.sort_unstable();
    assert_eq!(ids, ran);
    for d in descriptors {
        let id = d["id"].as_str().expect("id");
        let meta = rules::find(id).expect("registered").meta();
        assert_eq!(d["name"], meta.name);
        assert_eq!(d["shortDescription"]["text"], meta.summary);
        assert!(!d["fullDescription"]["text"].as_str().expect("fullDescription").is_empty());
        assert_eq!(d["help"]["text"], meta.doc_text());
        assert_eq!(d["help"]["markdown"], meta.doc_text());
        assert!(matches!(d["defaultConfiguration"]["level"].as_str(), Some("error" | "warning" | "note")));
        let props = &d["properties"];
        assert_eq!(props["tags"][0], meta.area.as_str());
        let score: f64 =
            props["security-severity"].as_str().expect("security-severity is a string").parse().expect("number");
        assert!((0.0..=10.0).contains(&score));
        assert!(props["precision"].is_string());
    }

    // Every finding is a result pointing at its rule, file and region, with the fingerprint.
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), a.findings.len());
    for (r, f) in results.iter().zip(&a.findings) {
        assert_eq!(r["ruleId"], f.rule.as_ref());
        let index = usize::try_from(r["ruleIndex"].as_u64().expect("ruleIndex")).expect("index");
        assert_eq!(descriptors[index]["id"], f.rule.as_ref());
        let expected_level = match f.severity.as_str() {
            "critical" | "high" => "error",
            "medium" => "warning",
            _ => "note",
        };
        assert_eq!(r["level"], expected_level);
        assert_eq!(r["message"]["text"], f.message.as_str());
        let physical = &r["locations"][0]["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(!uri.contains('\\') && !uri.starts_with("./") && !uri.starts_with('/'), "{uri}");
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let region = &physical["region"];
        assert_eq!(region["startLine"], f.location.line.expect("line"));
        assert_eq!(region["startColumn"], f.location.column.expect("column"));
        assert!(region["endLine"].as_u64().expect("endLine") >= region["startLine"].as_u64().expect("startLine"));
        assert_eq!(r["partialFingerprints"][sarif::FINGERPRINT_KEY], f.fingerprint.as_str());
        assert!(clustergpt::audit::is_fingerprint(&f.fingerprint));
        assert_eq!(r["properties"]["object"]["name"], f.object.name.as_str());
        assert_eq!(r["properties"]["evidence"].as_array().expect("evidence").len(), f.evidence.len());
        assert!(r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].is_string());
    }

    // Input errors reach the invocation, with file and line.
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"].as_array().expect("notifications");
    let error = notes.iter().find(|n| n["level"] == "error").expect("input error notification");
    let err = &a.errors[0];
    let loc = &error["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], err.source.as_str());
    assert_eq!(loc["region"]["startLine"], err.line.expect("line"));
    assert!(error["message"]["text"].as_str().expect("text").contains(&err.message));
    assert_eq!(invocation["toolConfigurationNotifications"].as_array().expect("config notes").len(), 1);
}

#[test]
fn sarif_uris_are_relative_forward_slash_references() {
    let uri = |p: &str| sarif::artifact_location(p);
    assert_eq!(uri("./k8s/app.yaml")["uri"], "k8s/app.yaml");
    assert_eq!(uri("k8s\\app.yaml")["uri"], "k8s/app.yaml");
    assert_eq!(uri("k8s/my app:v1.yaml")["uri"], "k8s/my%20app%3Av1.yaml");
    assert_eq!(uri("k8s/app.yaml")["uriBaseId"], "%SRCROOT%");
    assert_eq!(uri("/srv/k8s/app.yaml")["uri"], "file:///srv/k8s/app.yaml");
    assert!(uri("/srv/k8s/app.yaml").get("uriBaseId").is_none());
    assert_eq!(uri("C:\\k8s\\app.yaml")["uri"], "file:///C:/k8s/app.yaml");
}

#[test]
fn empty_audit_renders_everywhere() {
    let a = audit::run(source::Input::default(), &Config::defaults(), &RunOptions::default());
    assert!(terminal::render(&a, false).contains("0 findings"));
    let md = markdown::render(&a).expect("markdown");
    assert!(md.contains("No findings"), "{md}");
    assert!(!md.contains("## Top findings"));
    let v: Value = serde_json::from_str(&sarif::render(&a).expect("sarif")).expect("json");
    assert_eq!(v["runs"][0]["results"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["runs"][0]["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn renderers_are_deterministic() {
    let (a, b) = (audit(), audit());
    assert_eq!(sarif::render(&a).expect("sarif"), sarif::render(&b).expect("sarif"));
    assert_eq!(markdown::render(&a).expect("md"), markdown::render(&b).expect("md"));
    assert_eq!(terminal::render(&a, true), terminal::render(&b, true));
}

/// SARIF and the terminal give fix titles, not suggestions or patches: the CLI computes those
/// only for the formats that show them, so enriching must not change a byte of either.
#[test]
fn sarif_and_terminal_do_not_depend_on_rendered_fixes() {
    let mut stdin = std::io::empty();
    let input = source::load_paths(&[PathBuf::from("manifests-fixtures")], &mut stdin, Limits::default());
    let opts =
        RunOptions { select: vec!["all".to_string()], today: Some("2026-01-01".to_string()), ..RunOptions::default() };
    let (mut audit, objects) = audit::run_with_objects(input, &Config::defaults(), &opts);
    let before = (sarif::render(&audit).unwrap(), terminal::render(&audit, false));
    clustergpt::fix::enrich(&mut audit, &objects);
    let rendered = audit.findings.iter().filter_map(|f| f.fix.as_ref()).filter(|x| x.patch.is_some()).count();
    assert!(rendered > 100, "only {rendered} fixes rendered");
    assert_eq!((sarif::render(&audit).unwrap(), terminal::render(&audit, false)), before);
}
