//! Helm charts: provenance of `helm template` output to the values key (in the values file that
//! wins) or the template, on output recorded from `tests/fixtures/helm/api` with
//! `helm template api tests/fixtures/helm/api --include-crds --values tests/fixtures/helm/api/values-prod.yaml`.
//! The live path (`helm` on PATH) runs with `CLUSTERGPT_HELM=1` (the `helm` CI job).

use std::path::{Path, PathBuf};

use clustergpt::model::Object;
use clustergpt::source::{self, Input, render};
use clustergpt::yaml::Limits;

fn chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/helm/api")
}

fn recorded() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/helm/api.prod.rendered.yaml");
    std::fs::read_to_string(p).expect("recorded output")
}

fn from_recorded() -> Input {
    let mut input = Input::default();
    let c = chart();
    render::helm_output(&c, recorded(), &[c.join("values-prod.yaml")], Limits::default(), &mut input);
    input
}

/// `FILE:LINE` (or `FILE:?`) of a field, relative to the chart.
fn at(o: &Object, pointer: &str) -> String {
    let l = o.locate(pointer);
    let root = format!("{}/", chart().display());
    let file = l.file.unwrap_or_default().replace(&root, "");
    match l.line {
        Some(line) => format!("{file}:{line}"),
        None => format!("{file}:?"),
    }
}

fn check(input: &Input) {
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    let ids: Vec<String> = input.objects.iter().map(Object::display_id).collect();
    assert_eq!(ids, ["Service/default/api-api", "Deployment/default/api-api"]);
    let d = &input.objects[1];
    let c = "/spec/template/spec/containers/0";
    let got: Vec<(String, String)> = [
        // replicaCount: values-prod.yaml wins over values.yaml.
        "/spec/replicas".to_string(),
        // "{{ repository }}:{{ tag | default .Chart.AppVersion }}": the tag, set in values-prod.yaml.
        format!("{c}/image"),
        format!("{c}/imagePullPolicy"),
        // `default "info" | quote`, set in values.yaml.
        format!("{c}/env/0/value"),
        // toYaml of a block merged from both files: each field from the file that set it.
        format!("{c}/resources"),
        format!("{c}/resources/requests/cpu"),
        format!("{c}/resources/requests/memory"),
        format!("{c}/resources/limits/memory"),
        // `with .Values.securityContext` + `toYaml .`.
        format!("{c}/securityContext/privileged"),
        format!("{c}/securityContext/runAsNonRoot"),
        // From .Release/.Chart, or a literal: not proven, so no line.
        "/metadata/name".to_string(),
        format!("{c}/ports/0/containerPort"),
    ]
    .into_iter()
    .map(|p| {
        let a = at(d, &p);
        (p, a)
    })
    .collect();
    let want = [
        "values-prod.yaml:1",
        "values-prod.yaml:4",
        "values.yaml:7",
        "values.yaml:12",
        // The block as the last file sets it: where a missing limit goes for this environment.
        "values-prod.yaml:6",
        "values-prod.yaml:8",
        "values.yaml:17",
        "values-prod.yaml:6",
        "values-prod.yaml:11",
        "values.yaml:20",
        "templates/deployment.yaml:?",
        "templates/deployment.yaml:?",
    ];
    let got_at: Vec<&str> = got.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(got_at, want, "{got:#?}");
    let svc = &input.objects[0];
    assert_eq!(at(svc, "/spec/ports/0/port"), "values.yaml:10");
    let r = d.provenance.as_ref().map(|p| (p.rendered.tool.clone(), p.rendered.document));
    assert_eq!(r, Some(("helm".to_string(), 1)));
}

#[test]
fn recorded_output_maps_fields_to_values_keys_and_templates() {
    check(&from_recorded());
}

#[test]
fn findings_on_a_chart_land_on_the_values_line() {
    let a = clustergpt::audit::run(from_recorded(), &clustergpt::config::Config::defaults(), &Default::default());
    let f = a.findings.iter().find(|f| f.rule == "SEC001").expect("SEC001");
    let l = &f.location;
    assert_eq!((l.file.clone(), l.line), (Some(chart().join("values-prod.yaml").display().to_string()), Some(11)));
    let f = a.findings.iter().find(|f| f.rule == "REL008").expect("REL008");
    assert_eq!(f.location.line, Some(4));
    assert_eq!(f.rendered.as_ref().map(|r| r.tool.as_str()), Some("helm"));
}

#[test]
fn a_chart_without_helm_is_an_error_naming_it_and_its_templates_are_never_parsed() {
    if render::which("helm").is_some() {
        eprintln!("skipping: helm is on PATH");
        return;
    }
    let input = source::load_rendered(
        &[chart()],
        &mut std::io::empty(),
        Limits::default(),
        &source::filter::Filter::default(),
        &render::RenderOptions::default(),
    );
    assert_eq!(input.errors.len(), 1, "{:?}", input.errors);
    assert!(input.errors[0].message.contains("`helm` is not on PATH"), "{}", input.errors[0].message);
    assert!(input.objects.is_empty());
    assert!(input.skipped.iter().all(|s| s.reason.starts_with("part of a Helm chart")), "{:?}", input.skipped);
}

/// The recorded output is what `helm template` produces, and the live path traces the same way.
#[test]
#[ignore = "needs helm on PATH; run with CLUSTERGPT_HELM=1 (the helm CI job)"]
fn live_helm_template_matches_the_recording() {
    if std::env::var_os("CLUSTERGPT_HELM").is_none() {
        eprintln!("skipping: set CLUSTERGPT_HELM=1 to run helm");
        return;
    }
    let c = chart();
    let out = std::process::Command::new("helm")
        .args(["template", "api"])
        .arg(&c)
        .arg("--include-crds")
        .arg("--values")
        .arg(c.join("values-prod.yaml"))
        .output()
        .expect("helm");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), recorded());
    let opts = render::RenderOptions {
        discover: false,
        targets: vec![render::Target {
            path: c.clone(),
            values: vec![c.join("values-prod.yaml")],
            release: Some("api".to_string()),
            ..render::Target::default()
        }],
        ..render::RenderOptions::default()
    };
    check(&source::load_rendered(
        std::slice::from_ref(&c),
        &mut std::io::empty(),
        Limits::default(),
        &source::filter::Filter::default(),
        &opts,
    ));
}
