//! Generated documentation must match the registry.
//! `UPDATE_DOCS=1 cargo test --test docs` rewrites it.

use std::path::Path;

use clustergpt::report::rules_doc;

#[test]
fn rules_reference_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rules_doc::PATH);
    let expected = rules_doc::render();
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "{} is stale: the rule registry changed. Run `UPDATE_DOCS=1 cargo test --test docs` to refresh it, then commit it.",
        rules_doc::PATH
    );
}

#[test]
fn rules_reference_lists_every_rule_once() {
    let doc = rules_doc::render();
    for r in clustergpt::rules::registry() {
        let m = r.meta();
        let heading = format!("\n## {} {}\n", m.id, m.name);
        assert_eq!(doc.matches(&heading).count(), 1, "{} heading", m.id);
        let anchor = format!("](#{}-{})", m.id.to_ascii_lowercase(), m.name);
        assert_eq!(doc.matches(&anchor).count(), 1, "{} index link", m.id);
        // The rule's own sections are nested under its heading.
        assert!(doc.contains("### What it checks"), "{} sections", m.id);
    }
}

/// The rows of the first Markdown table after `heading`: the `code` names in each row's first cell.
fn documented(doc: &str, heading: &str) -> Vec<String> {
    let Some(start) = doc.find(heading) else { panic!("no `{heading}`") };
    let mut names = Vec::new();
    let mut in_table = false;
    for line in doc[start..].lines().skip(1) {
        if line.starts_with('|') {
            in_table = true;
            let first = line.split('|').nth(1).unwrap_or_default();
            names.extend(first.split('`').skip(1).step_by(2).map(str::to_string));
        } else if in_table {
            break;
        }
    }
    names
}

#[test]
fn every_top_level_json_key_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/json-schema.md")).unwrap_or_default();
    let keys = documented(&doc, "## `Audit`");
    let input = clustergpt::source::load_paths(
        &[root.join("examples/demo-app")],
        &mut std::io::empty(),
        clustergpt::yaml::Limits::default(),
    );
    let audit = clustergpt::audit::run(input, &clustergpt::config::Config::defaults(), &Default::default());
    let json = serde_json::to_value(&audit).unwrap_or_default();
    let carried: Vec<&String> = json.as_object().map(|m| m.keys().collect()).unwrap_or_default();
    assert!(!carried.is_empty());
    for k in carried {
        assert!(keys.contains(k), "`{k}` is in the JSON but not in docs/json-schema.md's Audit table");
    }
}

#[test]
fn every_action_input_and_output_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/github-action.md")).unwrap_or_default();
    let action = std::fs::read_to_string(root.join("action.yml")).unwrap_or_default();
    let section = |name: &str| -> Vec<String> {
        let Some(start) = action.find(&format!("\n{name}:\n")) else { panic!("no {name} in action.yml") };
        action[start + name.len() + 3..]
            .lines()
            .take_while(|l| l.is_empty() || l.starts_with(' '))
            .filter_map(|l| l.strip_prefix("  ").and_then(|r| r.strip_suffix(':')).filter(|k| !k.starts_with(' ')))
            .map(str::to_string)
            .collect()
    };
    for (kind, heading) in [("inputs", "## Inputs and flags"), ("outputs", "## Outputs")] {
        let real = section(kind);
        let doc_names = documented(&doc, heading);
        assert!(real.len() > 5, "{kind}: {real:?}");
        for name in &real {
            assert!(doc_names.contains(name), "action {kind} `{name}` is not documented in docs/github-action.md");
        }
        for name in &doc_names {
            assert!(real.contains(name), "docs/github-action.md documents `{name}`, which action.yml has not");
        }
    }
}
