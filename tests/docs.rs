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
