//! The SARIF we write for the demo validates against the official SARIF 2.1.0 JSON schema
//! (`tests/fixtures/sarif-schema-2.1.0.json`: the OASIS Committee Specification schema, draft-07,
//! vendored unchanged from oasis-tcs/sarif-spec `Documents/CommitteeSpecifications/2.1.0/`
//! at 3682e9ee648f2f3e11ba1fcd47fc390a0b8f9dab). Everything is local: no schema is fetched.
//! (The later `Schemata/` copy moved to draft 2020-12 and puts an `anyOf` inside
//! `region.properties`, which no conforming validator compiles.)

use std::path::PathBuf;

use clustergpt::audit::{self, RunOptions};
use clustergpt::config::Config;
use clustergpt::fix;
use clustergpt::report::sarif;
use clustergpt::source;
use clustergpt::yaml::Limits;
use serde_json::Value;

fn schema() -> Value {
    let text = std::fs::read_to_string("tests/fixtures/sarif-schema-2.1.0.json").expect("vendored schema");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::options()
        // Check `uri`, `uri-reference` and `date-time` too, whatever the draft's default.
        .should_validate_formats(true)
        .build(&schema())
        .expect("the official schema compiles")
}

/// The demo's SARIF, rendered exactly as `clustergpt audit --format sarif` renders it.
fn demo_sarif() -> Value {
    let mut stdin = std::io::empty();
    let input = source::load_paths(&[PathBuf::from("examples/demo-app")], &mut stdin, Limits::default());
    let opts = RunOptions { today: Some("2026-01-01".to_string()), ..RunOptions::default() };
    let (mut audit, objects) = audit::run_with_objects(input, &Config::defaults(), &opts);
    fix::enrich(&mut audit, &objects);
    serde_json::from_str(&sarif::render(&audit).expect("render")).expect("SARIF is JSON")
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn demo_sarif_is_valid_sarif_2_1_0() {
    let sarif = demo_sarif();
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty(), "the demo has findings, so the check covers result objects");
    assert!(
        results.iter().any(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64()),
        "some result has a region"
    );
    let errs = errors(&validator(), &sarif);
    assert!(errs.is_empty(), "SARIF violates the 2.1.0 schema:\n{}", errs.join("\n"));
}

/// The validator really enforces the schema: a broken copy of the same log is rejected.
#[test]
fn schema_rejects_broken_sarif() {
    let v = validator();
    let mut bad_level = demo_sarif();
    bad_level["runs"][0]["results"][0]["level"] = Value::from("critical");
    assert!(!errors(&v, &bad_level).is_empty(), "level outside the enum must be rejected");

    let mut no_message = demo_sarif();
    if let Some(r) = no_message["runs"][0]["results"][0].as_object_mut() {
        r.remove("message");
    }
    assert!(!errors(&v, &no_message).is_empty(), "a result without message must be rejected");

    let mut bad_version = demo_sarif();
    bad_version["version"] = Value::from("2.0.0");
    assert!(!errors(&v, &bad_version).is_empty(), "only version 2.1.0 is valid");
}
