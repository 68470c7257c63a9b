//! Kustomize targets built by the real tool (`kustomize`, else `kubectl kustomize`): each finding
//! points at the file and line people edit (resource, patch file, inline patch, generator), and
//! identities carry the overlay's prefix and namespace. Skipped, with the reason printed, when
//! neither tool is on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::source::{self, Input, render};
use clustergpt::yaml::Limits;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn tool() -> bool {
    if render::kustomize_tool().is_none() {
        eprintln!("skipping: neither kustomize nor kubectl is on PATH");
        return false;
    }
    true
}

fn load(paths: &[PathBuf]) -> Input {
    source::load_rendered(
        paths,
        &mut std::io::empty(),
        Limits::default(),
        &source::filter::Filter::default(),
        &render::RenderOptions::default(),
    )
}

fn audit(input: Input) -> Audit {
    audit::run_with_objects(input, &Config::defaults(), &RunOptions::default()).0
}

/// `RULE FILE:LINE:COLUMN POINTER` per finding, paths relative to `root`.
fn placed(a: &Audit, root: &Path) -> Vec<String> {
    let root = format!("{}/", root.display());
    a.findings
        .iter()
        .map(|f| {
            let l = &f.location;
            let at = match (l.line, l.column) {
                (Some(line), Some(col)) => format!("{line}:{col}"),
                (Some(line), None) => line.to_string(),
                _ => "?".to_string(),
            };
            format!("{} {}:{at} {}", f.rule, l.file.as_deref().unwrap_or("-").replace(&root, ""), l.path)
        })
        .collect()
}

#[test]
fn findings_point_at_the_resource_patch_and_component_lines() {
    if !tool() {
        return;
    }
    let root = fixture("tests/fixtures/kustomize-provenance");
    let input = load(std::slice::from_ref(&root));
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    // Only the overlay is built: the base is built through it, the component with it.
    let ids: Vec<String> = input.objects.iter().map(|o| o.display_id()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.contains(&"Deployment/shop-prod/prod-web".to_string()), "{ids:?}");
    assert!(ids.contains(&"Service/shop-prod/prod-web".to_string()), "{ids:?}");
    assert!(ids.iter().any(|i| i.starts_with("ConfigMap/shop-prod/prod-settings-")), "{ids:?}");
    // No annotation of the build is left for rules to read.
    for o in &input.objects {
        assert!(o.body.pointer("/metadata/annotations").is_none(), "{}", o.body);
    }
    let a = audit(input);
    let got = placed(&a, &root);
    let expected = [
        // The name is written in the base, whatever prefix the overlay adds.
        "REL010 base/deployment.yaml:4:3 /metadata/name",
        "SEC021 base/deployment.yaml:13:5 /spec/template/metadata",
        "REL012 base/deployment.yaml:16:5 /spec/template/spec/topologySpreadConstraints",
        "SEC013 base/deployment.yaml:16:5 /spec/template/spec/securityContext/seccompProfile",
        // Missing fields: at the container in the base.
        "REL001 base/deployment.yaml:19:11 /spec/template/spec/containers/0/resources/requests/cpu",
        "REL002 base/deployment.yaml:19:11 /spec/template/spec/containers/0/resources/requests/memory",
        "REL004 base/deployment.yaml:19:11 /spec/template/spec/containers/0/resources/limits/memory",
        // A component's inline JSON 6902 patch: the `value:` line inside the block.
        "SEC008 components/debug/kustomization.yaml:10:9 /spec/template/spec/hostPID",
        // A JSON 6902 patch file.
        "REL008 overlays/prod/patches/image.yaml:3:3 /spec/template/spec/containers/0/image",
        // A strategic-merge patch file (SEC002, the same field, is reported once as SEC001).
        "SEC001 overlays/prod/patches/privileged.yaml:11:13 /spec/template/spec/containers/0/securityContext/privileged",
    ];
    assert_eq!(got, expected);
    for f in &a.findings {
        let r = f.rendered.as_ref().expect("rendered");
        assert_eq!(
            (r.tool.as_str(), r.target.as_str()),
            ("kustomize", root.join("overlays/prod").display().to_string().as_str())
        );
        assert_eq!(f.object.namespace.as_deref(), Some("shop-prod"));
    }
}

#[test]
fn generated_objects_and_transformer_settings_point_at_the_kustomization() {
    if !tool() {
        return;
    }
    let root = fixture("tests/fixtures/kustomize-provenance");
    let input = load(&[root.join("overlays/prod")]);
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    let k = root.join("overlays/prod/kustomization.yaml").display().to_string();
    let cm = input.objects.iter().find(|o| o.kind == "ConfigMap").expect("configmap");
    let at = |p: &str| {
        let l = cm.locate(p);
        (l.file.unwrap_or_default(), l.line)
    };
    assert_eq!(at(""), (k.clone(), Some(18)), "the generator entry");
    assert_eq!(at("/data/FEATURE_X"), (k.clone(), Some(21)), "the literal");
    assert_eq!(at("/metadata/namespace"), (k.clone(), Some(3)), "the namespace setting");
    let svc = input.objects.iter().find(|o| o.kind == "Service").expect("service");
    let l = svc.locate("/spec/ports/0/targetPort");
    assert_eq!(
        (l.file.as_deref(), l.line),
        (Some(root.join("base/service.yaml").display().to_string().as_str()), Some(10))
    );
}

#[test]
fn a_value_no_patch_can_be_proven_to_set_names_the_file_and_no_line() {
    if !tool() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    std::fs::create_dir_all(d.join("app")).expect("mkdir");
    std::fs::write(
        d.join("app/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - name: web\n          image: web:1.0\n",
    )
    .expect("write");
    // A target by regular expression is not evaluated here: the line it sets is not claimed.
    std::fs::write(
        d.join("app/kustomization.yaml"),
        "resources: [deployment.yaml]\npatches:\n  - target: {kind: Deployment, name: 'w.*'}\n    patch: |-\n      - op: replace\n        path: /spec/template/spec/containers/0/image\n        value: web:latest\n",
    )
    .expect("write");
    let a = audit(load(&[d.join("app")]));
    let f = a.findings.iter().find(|f| f.rule == "REL008").expect("REL008");
    assert_eq!(f.location.file.as_deref(), Some(d.join("app/deployment.yaml").display().to_string().as_str()));
    assert_eq!((f.location.line, f.location.column), (None, None));
}

#[test]
fn a_target_the_tool_cannot_build_is_an_error_on_the_target_and_its_files_are_not_audited_alone() {
    if !tool() {
        return;
    }
    // The inputs fixture's patches name `web` without the namespace its base sets: Kustomize
    // refuses it. Before, its patch files were audited as objects (false findings).
    let dir = fixture("manifests-fixtures/inputs/kustomize");
    let input = load(std::slice::from_ref(&dir));
    assert_eq!(input.errors.len(), 1, "{:?}", input.errors);
    let e = &input.errors[0];
    assert_eq!(e.source, dir.join("overlays/prod").display().to_string());
    assert!(e.message.contains("no matches for Id Deployment.v1.apps/web"), "{}", e.message);
    // The base is not built again on its own; no patch, resource or kustomization is read alone.
    assert!(input.objects.is_empty(), "{:?}", input.objects.iter().map(|o| o.display_id()).collect::<Vec<_>>());
    assert_eq!(input.skipped.len(), 7, "{:?}", input.skipped);
}

#[test]
fn without_a_tool_the_target_is_an_error_naming_it_and_plain_files_are_still_audited() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    std::fs::create_dir_all(d.join("k")).expect("mkdir");
    std::fs::write(d.join("k/kustomization.yaml"), "resources: [cm.yaml]\n").expect("write");
    std::fs::write(d.join("k/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n").expect("write");
    std::fs::write(d.join("pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: c:1\n      securityContext: {privileged: true}\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["analyze", "--format", "json"])
        .arg(d)
        .env("PATH", d.join("no-such-dir"))
        .output()
        .expect("run");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let errors = json["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let message = errors[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("neither `kustomize` nor `kubectl` is on PATH") && message.contains("install kubectl"),
        "{message}"
    );
    assert_eq!(errors[0]["source"], d.join("k").display().to_string());
    let rules: Vec<&str> =
        json["findings"].as_array().expect("findings").iter().filter_map(|f| f["rule"].as_str()).collect();
    assert!(rules.contains(&"SEC001"), "{rules:?}");
}

/// Copies a fixture into a fresh temporary directory.
fn copy_fixture(rel: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        for e in std::fs::read_dir(from).expect("read_dir") {
            let e = e.expect("entry");
            let dest = to.join(e.file_name());
            if e.file_type().expect("type").is_dir() {
                std::fs::create_dir(&dest).expect("mkdir");
                copy(&e.path(), &dest);
            } else {
                std::fs::copy(e.path(), &dest).expect("copy");
            }
        }
    }
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    copy(&fixture(rel), tmp.path());
    tmp
}

/// A fix of a built object is a suggestion on the file that sets the field: the overlay's own
/// patch (strategic merge: the patch's container, at its index in the patch; JSON 6902: the
/// `value:`), before the base the overlay shares. What no file can change says so.
#[test]
fn suggestions_land_on_the_overlay_patch_lines() {
    if !tool() {
        return;
    }
    let root = fixture("tests/fixtures/kustomize-provenance");
    let (mut a, objects) =
        audit::run_with_objects(load(std::slice::from_ref(&root)), &Config::defaults(), &RunOptions::default());
    clustergpt::fix::enrich(&mut a, &objects);
    let prefix = format!("{}/", root.display());
    let sug = |rule: &str| {
        let f = a.findings.iter().find(|f| f.rule == rule).unwrap_or_else(|| panic!("{rule}"));
        let fix = f.fix.as_ref().unwrap_or_else(|| panic!("{rule} has a fix"));
        match &fix.suggestion {
            Some(s) => Ok((s.file.replace(&prefix, ""), s.start_line, s.end_line, s.replacement.clone())),
            None => Err(fix.edit_error.clone().unwrap_or_default()),
        }
    };
    let patch = "overlays/prod/patches/privileged.yaml".to_string();
    assert_eq!(sug("SEC001"), Ok((patch.clone(), 11, 11, "            privileged: false".to_string())));
    // The memory limit is missing: it joins the patch's container (the overlay's own file), not the base.
    assert_eq!(
        sug("REL004"),
        Ok((
            patch.clone(),
            11,
            11,
            "            privileged: true\n          resources:\n            limits:\n              memory: 512Mi"
                .to_string()
        ))
    );
    // A JSON 6902 patch file: its `value:` line (the placeholder fix is display-only, but exact).
    assert_eq!(
        sug("REL008"),
        Ok((
            "overlays/prod/patches/image.yaml".to_string(),
            3,
            3,
            "  value: \"registry.example.com/web:<VERSION>\"".to_string()
        ))
    );
    // An inline patch of a component is a string inside a kustomization: no text edit.
    assert!(sug("SEC008").unwrap_err().contains("change it by hand"));
    // A new object (a PodDisruptionBudget) belongs in the kustomization's resources.
    assert!(sug("REL010").unwrap_err().contains("add it to the kustomization's resources"));
}

/// `fix --write` on a repository with an overlay: each fix goes to the overlay's patch, the
/// overlay is built again in a copy of the tree to check the finding is gone, and only then are
/// the user's files written. The base and the component are untouched; a second run has nothing
/// left to do.
#[test]
fn fix_writes_the_overlay_patch_after_building_it_again() {
    if !tool() {
        return;
    }
    let tmp = copy_fixture("tests/fixtures/kustomize-provenance");
    let d = tmp.path();
    let before_base = std::fs::read_to_string(d.join("base/deployment.yaml")).expect("read");
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_clustergpt")).current_dir(d).args(args).output().expect("run");
    // Without --write: a diff of the patch file, nothing written.
    let out = run(&["fix", ".", "--no-config", "--unsafe"]);
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.starts_with("--- a/overlays/prod/patches/privileged.yaml\n"), "{diff}");
    assert!(
        diff.contains("+            privileged: false\n") && diff.contains("+              memory: 512Mi\n"),
        "{diff}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 fixes would be applied, 0 failed, 3 skipped in 1 file"), "{stderr}");
    assert!(
        stderr.contains("skipped 2 fixes of built objects that no patch, values or resource file can carry"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let out = run(&["fix", ".", "--no-config", "--unsafe", "--verbose"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipped SEC008") && stderr.contains("skipped REL010"), "{stderr}");
    let patch = std::fs::read_to_string(d.join("overlays/prod/patches/privileged.yaml")).expect("read");
    assert!(patch.contains("privileged: true"), "{patch}");
    // With --write: written, and the build no longer shows the fixed findings.
    let out = run(&["fix", ".", "--no-config", "--unsafe", "--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let patch = std::fs::read_to_string(d.join("overlays/prod/patches/privileged.yaml")).expect("read");
    assert!(patch.contains("privileged: false") && patch.starts_with("apiVersion: apps/v1\n"), "{patch}");
    assert_eq!(std::fs::read_to_string(d.join("base/deployment.yaml")).expect("read"), before_base);
    let out = run(&["analyze", ".", "--no-config", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut rules: Vec<&str> =
        json["findings"].as_array().expect("findings").iter().filter_map(|f| f["rule"].as_str()).collect();
    rules.sort_unstable();
    assert_eq!(rules, ["REL008", "REL010", "SEC008", "SEC021"]);
    let out = run(&["fix", ".", "--no-config", "--unsafe"]);
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// `baseline write` builds kustomizations as `analyze` does: the baseline it writes hides every
/// finding of the built overlay (the same fingerprints), and none of a patch file read alone.
#[test]
fn a_baseline_of_a_kustomize_repository_hides_what_analyze_reports() {
    if !tool() {
        return;
    }
    let tmp = copy_fixture("tests/fixtures/kustomize-provenance");
    let d = tmp.path();
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_clustergpt")).current_dir(d).args(args).output().expect("run");
    let out = run(&["baseline", "write", "baseline.json", "--no-config"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("baseline.json")).expect("read")).expect("json");
    assert_eq!(b["findings"].as_array().expect("findings").len(), 10, "{b}");
    let out = run(&["analyze", "--no-config", "--baseline", "baseline.json", "--fail-on", "info", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(a["findings"], serde_json::json!([]));
    assert_eq!(a["baseline"]["hidden"], 10);
}

/// Like the plain-file fixer, `fix` on built objects runs in passes: making a container
/// unprivileged reveals that it may still escalate (SEC002, reported once as SEC001 while
/// privileged), which the next build finds and the next pass fixes, in the same base file.
#[test]
fn fixes_of_built_objects_run_in_passes() {
    if !tool() {
        return;
    }
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let d = tmp.path();
    std::fs::create_dir_all(d.join("base")).expect("mkdir");
    std::fs::create_dir_all(d.join("prod")).expect("mkdir");
    std::fs::write(d.join("base/kustomization.yaml"), "resources: [deploy.yaml]\n").expect("write");
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n          securityContext:\n            privileged: true # debug only\n";
    std::fs::write(d.join("base/deploy.yaml"), deploy).expect("write");
    std::fs::write(d.join("prod/kustomization.yaml"), "resources: [../base]\nnamespace: prod\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .current_dir(d)
        .args(["fix", ".", "--no-config", "--unsafe", "--write", "--select", "SEC001,SEC002"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("applied SEC001") && stderr.contains("applied SEC002"), "{stderr}");
    let fixed = std::fs::read_to_string(d.join("base/deploy.yaml")).expect("read");
    assert!(
        fixed.ends_with("            privileged: false # debug only\n            allowPrivilegeEscalation: false\n"),
        "{fixed}"
    );
}
