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

/// A fix of a rendered chart edits the values file given last (what it sets overrides the chart's
/// defaults for this environment), on the key the template reads; a field the values cannot set
/// alone (an image made of two keys and `.Chart.AppVersion`) gets no edit, and says why.
#[test]
fn fixes_on_a_chart_edit_the_values_file_given_last() {
    let config = clustergpt::config::Config::defaults();
    let (mut a, objects) = clustergpt::audit::run_with_objects(from_recorded(), &config, &Default::default());
    clustergpt::fix::enrich(&mut a, &objects);
    let prod = chart().join("values-prod.yaml").display().to_string();
    let sug = |rule: &str| {
        let f = a.findings.iter().find(|f| f.rule == rule).unwrap_or_else(|| panic!("{rule}"));
        let fix = f.fix.as_ref().unwrap_or_else(|| panic!("{rule} has a fix"));
        match &fix.suggestion {
            Some(s) => Ok((s.file.clone(), s.start_line, s.end_line, s.replacement.clone())),
            None => Err(fix.edit_error.clone().unwrap_or_default()),
        }
    };
    // `with .Values.securityContext` + `toYaml .`: the key values-prod.yaml sets.
    assert_eq!(sug("SEC001"), Ok((prod.clone(), 11, 11, "  privileged: false".to_string())));
    // A missing limit joins the resources block of values-prod.yaml (merged over values.yaml's).
    assert_eq!(sug("REL004"), Ok((prod.clone(), 8, 8, "    cpu: 250m\n  limits:\n    memory: 512Mi".to_string())));
    // `image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"`.
    let e = sug("REL008").unwrap_err();
    assert!(e.contains("/spec/template/spec/containers/0/image") && e.contains("chart's template"), "{e}");
    // Every suggestion edits the values file, never the rendered output or a template.
    for f in &a.findings {
        if let Some(s) = f.fix.as_ref().and_then(|x| x.suggestion.as_ref()) {
            assert_eq!(s.file, prod, "{}: {s:?}", f.rule);
        }
    }
}

/// A value given with `--set` is in no values file: the field it sets is never put on a values
/// line, and a fix of it edits nothing (a values file would not win over `--set`).
#[test]
fn a_value_set_on_the_command_line_is_not_attributed_to_a_values_file() {
    // What `helm template ... --set replicaCount=3` prints: only the replicas differ.
    let text = recorded().replace("replicas: 1", "replicas: 3");
    assert_ne!(text, recorded());
    let mut input = Input::default();
    let c = chart();
    render::helm_output(&c, text, &[c.join("values-prod.yaml")], Limits::default(), &mut input);
    let d = &input.objects[1];
    assert_eq!(at(d, "/spec/replicas"), "templates/deployment.yaml:?");
    let p = d.provenance.as_ref().expect("provenance");
    assert!(!p.edits.contains_key("/spec/replicas"));
    // The rest still maps.
    assert_eq!(at(d, "/spec/template/spec/containers/0/securityContext/privileged"), "values-prod.yaml:11");
}

/// `--values` and `--set` reach `helm template` for the chart given as a path, after the chart's
/// own values, in order. A program named `helm` on PATH records its arguments and prints the
/// recorded output (helm itself runs in the `helm` CI job).
#[cfg(unix)]
#[test]
fn values_and_set_flags_reach_helm_template() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let args = dir.path().join("args");
    let helm = dir.path().join("helm");
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\ncat '{}'\n",
        args.display(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/helm/api.prod.rendered.yaml").display()
    );
    std::fs::write(&helm, script).expect("write");
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", path)
        .args(["analyze", "tests/fixtures/helm/api", "--no-config", "--format", "json"])
        .args([
            "--values",
            "tests/fixtures/helm/api/values-prod.yaml",
            "--set",
            "image.tag=1.4",
            "--set",
            "logLevel=debug",
        ])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"tool\": \"helm\""), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let got = std::fs::read_to_string(&args).expect("helm ran");
    let got: Vec<&str> = got.lines().collect();
    // Absolute: helm runs in a temporary home.
    let (chart, values) = (chart().display().to_string(), chart().join("values-prod.yaml").display().to_string());
    assert_eq!(
        got,
        [
            "template",
            "api",
            chart.as_str(),
            "--include-crds",
            "--values",
            values.as_str(),
            "--set",
            "image.tag=1.4",
            "--set",
            "logLevel=debug"
        ]
    );
    // Flags for charts need a chart.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["analyze", "tests/fixtures/kustomize-provenance", "--no-config", "--set", "a=b"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("apply to a Helm chart given as a path"));
}

/// `fix --write` on a chart: the edits go to the values file given last, the chart is rendered
/// again with `helm template` in a copy of the tree, and only fixes whose findings are gone are
/// written; the chart's own values and templates are untouched.
#[test]
#[ignore = "needs helm on PATH; run with CLUSTERGPT_HELM=1 (the helm CI job)"]
fn fix_writes_the_values_file_after_rendering_again() {
    if std::env::var_os("CLUSTERGPT_HELM").is_none() {
        eprintln!("skipping: set CLUSTERGPT_HELM=1 to run helm");
        return;
    }
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let d = tmp.path().join("api");
    std::fs::create_dir_all(d.join("templates")).expect("mkdir");
    for f in ["Chart.yaml", "values.yaml", "values-prod.yaml", "templates/deployment.yaml", "templates/service.yaml"] {
        std::fs::copy(chart().join(f), d.join(f)).expect("copy");
    }
    let untouched = |f: &str| std::fs::read_to_string(d.join(f)).expect("read");
    let before: Vec<String> = ["values.yaml", "templates/deployment.yaml"].map(untouched).to_vec();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_clustergpt"))
            .current_dir(tmp.path())
            .args(args)
            .args(["api", "--values", "api/values-prod.yaml", "--no-config"])
            .output()
            .expect("run")
    };
    let out = run(&["fix", "--unsafe", "--write"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("applied SEC001") && stderr.contains("applied REL004"), "{stderr}");
    // Unprivileged, the container must also forbid escalation: found and fixed by a second pass.
    assert!(stderr.contains("applied SEC002"), "{stderr}");
    let prod = untouched("values-prod.yaml");
    assert!(prod.contains("privileged: false") && prod.contains("memory: 512Mi"), "{prod}");
    assert!(prod.contains("allowPrivilegeEscalation: false"), "{prod}");
    assert_eq!(["values.yaml", "templates/deployment.yaml"].map(untouched).to_vec(), before);
    let out = run(&["analyze", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rules: Vec<&str> =
        json["findings"].as_array().expect("findings").iter().filter_map(|f| f["rule"].as_str()).collect();
    assert!(!rules.contains(&"SEC001") && !rules.contains(&"REL004"), "{rules:?}");

    // A value given with --set wins over any values file: an edit there does not fix it, which the
    // second rendering shows; the other fixes are still checked (one at a time) and kept.
    std::fs::copy(chart().join("values-prod.yaml"), d.join("values-prod.yaml")).expect("copy");
    let out = run(&["fix", "--unsafe", "--write", "--set", "securityContext.privileged=true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed SEC001") && stderr.contains("the finding remains after building again"),
        "{stderr}"
    );
    assert!(stderr.contains("applied REL004"), "{stderr}");
    let prod = untouched("values-prod.yaml");
    assert!(prod.contains("privileged: true") && prod.contains("memory: 512Mi"), "{prod}");
}
