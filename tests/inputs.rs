//! Reading the shapes real inputs come in (`manifests-fixtures/inputs/`): API lists whose items
//! carry no kind, top-level sequences, concatenated JSON, symbolic link loops, Kustomize patches
//! and component configuration files.

use std::path::{Path, PathBuf};

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::model::Origin;
use clustergpt::source::{self, Input};
use clustergpt::yaml::Limits;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/inputs").join(rel)
}

fn load(paths: &[PathBuf]) -> Input {
    source::load_paths(paths, &mut std::io::empty(), Limits::default())
}

/// Audits with the selected rules and adds suggestions and patches to the fixes, as `analyze` does.
fn audit(input: Input, select: &str) -> Audit {
    let opts = RunOptions { select: select.split(',').map(str::to_string).collect(), ..RunOptions::default() };
    let (mut a, objects) = audit::run_with_objects(input, &Config::defaults(), &opts);
    clustergpt::fix::enrich(&mut a, &objects);
    a
}

/// 1-based line of the first line of `text` containing `needle` after line `after`.
fn line_of(text: &str, needle: &str, after: u32) -> u32 {
    let i = text.lines().enumerate().skip(after as usize).find(|(_, l)| l.contains(needle)).map(|(i, _)| i);
    u32::try_from(i.unwrap_or_else(|| panic!("{needle} not found")) + 1).unwrap_or(0)
}

fn ids(input: &Input) -> Vec<String> {
    input.objects.iter().map(|o| format!("{} {}", o.api_version, o.display_id())).collect()
}

fn prefix(o: &clustergpt::model::Object) -> &str {
    match &o.origin {
        Origin::File { prefix, .. } => prefix,
        Origin::Cluster { .. } | Origin::Snapshot { .. } => panic!("not from a file"),
    }
}

#[test]
fn typed_list_items_take_kind_and_api_version_from_the_list() {
    let path = fixture("deployment-list.json");
    let input = load(std::slice::from_ref(&path));
    assert!(input.errors.is_empty() && input.skipped.is_empty(), "{:?} {:?}", input.errors, input.skipped);
    assert_eq!(ids(&input), ["apps/v1 Deployment/shop/api", "apps/v1 Deployment/shop/web"]);
    assert_eq!(input.objects[1].body["kind"], "Deployment");
    assert_eq!(prefix(&input.objects[1]), "/items/1");

    // Findings point into the item, and the fix edits the item's text only.
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let a = audit(input, "SEC001");
    let f = a.findings.iter().find(|f| f.rule == "SEC001").expect("privileged container flagged");
    assert_eq!(f.location.line, Some(line_of(&text, "\"privileged\": true", 0)));
    let fix = f.fix.as_ref().expect("fix");
    assert!(fix.edit_error.is_none(), "{:?}", fix.edit_error);
    let s = fix.suggestion.as_ref().expect("suggestion");
    assert!(s.replacement.contains("\"privileged\": false"), "{}", s.replacement);

    let name = path.display().to_string();
    let opts = RunOptions { select: vec!["SEC001".into()], ..RunOptions::default() };
    let report = clustergpt::fix::fix_files(&[(name.clone(), text.clone())], &Config::defaults(), &opts, true);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.applied.len(), 1);
    let (_, fixed) = &report.changed[&name];
    let v: serde_json::Value = serde_json::from_str(fixed).expect("still JSON");
    assert_eq!(v["items"][0]["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"], false);
    assert!(v["items"][0].get("kind").is_none(), "the item's text is not given a kind");
}

#[test]
fn a_generic_list_item_without_kind_stays_skipped() {
    let input = load(&[fixture("generic-list.yaml")]);
    assert_eq!(ids(&input), ["v1 ConfigMap/shop/settings"]);
    let reasons: Vec<(Option<u32>, &str)> = input.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [(
            Some(14),
            "List item 1: no apiVersion and kind, so not a Kubernetes object (only a typed list such as \
             DeploymentList gives its items one)"
        )]
    );
}

#[test]
fn a_top_level_sequence_is_read_as_objects() {
    let path = fixture("sequence.yaml");
    let input = load(std::slice::from_ref(&path));
    assert!(input.errors.is_empty() && input.skipped.is_empty(), "{:?} {:?}", input.errors, input.skipped);
    assert_eq!(ids(&input), ["apps/v1 Deployment/shop/worker", "v1 Service/shop/worker"]);
    assert_eq!(input.objects.iter().map(prefix).collect::<Vec<_>>(), ["/0", "/1"]);

    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let a = audit(input, "SEC001,REL010");
    let priv_ = a.findings.iter().find(|f| f.rule == "SEC001").expect("SEC001");
    assert_eq!(priv_.location.line, Some(line_of(&text, "privileged: true", 0)));
    // A fix that edits the item works; one that would add a document is refused with a reason.
    assert!(priv_.fix.as_ref().is_some_and(|f| f.edit_error.is_none() && f.suggestion.is_some()));
    let pdb = a.findings.iter().find(|f| f.rule == "REL010").expect("REL010 (missing PDB) proposes a new object");
    let err = pdb.fix.as_ref().and_then(|f| f.edit_error.clone()).unwrap_or_default();
    assert!(err.contains("item of a list"), "{err}");

    let name = path.display().to_string();
    let opts = RunOptions { select: vec!["SEC001".into()], ..RunOptions::default() };
    let report = clustergpt::fix::fix_files(&[(name.clone(), text.clone())], &Config::defaults(), &opts, true);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let (_, fixed) = &report.changed[&name];
    assert_eq!(fixed, &text.replace("privileged: true", "privileged: false"));
}

#[test]
fn a_sequence_of_non_objects_is_skipped_whole() {
    let mut input = Input::default();
    let ops = "- op: replace\n  path: /spec/replicas\n  value: 3\n";
    source::load_text("ops.yaml", ops.to_string(), Limits::default(), &mut input);
    assert!(input.objects.is_empty());
    assert_eq!(input.skipped.len(), 1, "{:?}", input.skipped);
    assert!(input.skipped[0].reason.starts_with("a sequence of non-objects"), "{}", input.skipped[0].reason);

    let mixed = "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- just text\n";
    let mut input = Input::default();
    source::load_text("mixed.yaml", mixed.to_string(), Limits::default(), &mut input);
    assert_eq!(ids(&input), ["v1 ConfigMap/default/a"]);
    let reasons: Vec<(Option<u32>, &str)> = input.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(reasons, [(Some(4), "item 1 of the sequence: not a mapping, so not a Kubernetes object")]);
}

#[test]
fn concatenated_json_documents_are_split_with_their_positions() {
    let path = fixture("concatenated.json");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let input = load(std::slice::from_ref(&path));
    assert!(input.errors.is_empty() && input.skipped.is_empty(), "{:?} {:?}", input.errors, input.skipped);
    assert_eq!(ids(&input), ["v1 Pod/shop/api-7d9f8b6c5-x2k4q", "apps/v1 Deployment/shop/cache"]);
    let a = audit(input, "SEC001");
    let lines: Vec<Option<u32>> = a.findings.iter().map(|f| f.location.line).collect();
    let first = line_of(&text, "\"privileged\": true", 0);
    assert_eq!(lines, [Some(first), Some(line_of(&text, "\"privileged\": true", first))]);
    // The fix edits the second document in place.
    let fix = a.findings[1].fix.as_ref().expect("fix");
    assert_eq!(fix.suggestion.as_ref().map(|s| s.start_line), lines[1]);

    // The same stream on stdin.
    let mut stdin = std::io::Cursor::new(text.clone().into_bytes());
    let input = source::load_paths(&[PathBuf::from("-")], &mut stdin, Limits::default());
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    assert_eq!(ids(&input).len(), 2);
    assert_eq!(input.objects[1].file(), Some("-"));

    // A broken second value is reported where it is.
    let mut input = Input::default();
    let broken = format!("{text}{{\n  \"kind\": \"Pod\",,\n}}\n");
    source::load_text("-", broken, Limits::default(), &mut input);
    assert_eq!(input.errors.len(), 1, "{:?}", input.errors);
    assert_eq!(input.errors[0].line, Some(u32::try_from(text.lines().count()).unwrap_or(0) + 2));
    assert!(input.errors[0].message.starts_with("invalid JSON"), "{}", input.errors[0].message);
}

#[test]
fn yaml_flow_text_that_looks_split_still_reads_as_yaml() {
    // A single-quoted brace fools the splitter into two values; the YAML reading stands.
    let text = "{k: '} {', apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n";
    let mut input = Input::default();
    source::load_text("flow.yaml", text.to_string(), Limits::default(), &mut input);
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    assert_eq!(input.objects.len(), 1);
    assert_eq!(input.objects[0].body["k"], "} {");
    assert!(!input.objects[0].source.as_ref().is_some_and(|s| s.json), "YAML flow text is edited as YAML");
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_once_and_loops_reported() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let cm = |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
    std::fs::write(d.join("a.yaml"), cm("a")).expect("write");
    std::fs::create_dir(d.join("sub")).expect("mkdir");
    std::fs::write(d.join("sub/b.yaml"), cm("b")).expect("write");
    symlink(d, d.join("loop")).expect("link");
    symlink(d.join("a.yaml"), d.join("alias.yaml")).expect("link");
    symlink(d.join("sub"), d.join("sub2")).expect("link");
    symlink(d.join("sub"), d.join("sub/again")).expect("link");

    let input = load(&[d.to_path_buf()]);
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    assert_eq!(input.files, 2);
    let names: Vec<String> = input.objects.iter().map(|o| o.name.clone()).collect();
    assert_eq!(names, ["a", "b"]);
    let rel = |p: &str| p.strip_prefix(&format!("{}/", d.display())).unwrap_or(p).to_string();
    let skipped: Vec<(String, String)> = input
        .skipped
        .iter()
        .map(|s| (rel(&s.source), rel(&s.reason.replace(&format!("{}/", d.display()), ""))))
        .collect();
    let root = d.display().to_string();
    assert_eq!(
        skipped,
        [
            ("alias.yaml".to_string(), "same file as a.yaml; read once".to_string()),
            (
                "loop".to_string(),
                format!("symbolic link loop: this leads back to {root}, which is being read; not followed")
            ),
            (
                "sub/again".to_string(),
                "symbolic link loop: this leads back to sub, which is being read; not followed".to_string()
            ),
            ("sub2".to_string(), "same directory as sub; read once".to_string()),
        ]
    );

    // A file named twice, directly and through its directory, is read once too.
    let input = load(&[d.join("sub"), d.join("sub/b.yaml")]);
    assert_eq!(input.files, 1);
    assert!(input.errors.is_empty(), "{:?}", input.errors);

    // A loop is not an error: the run audits what it read.
    let a = audit(load(&[d.to_path_buf()]), "all");
    assert!(a.errors.is_empty());
}

#[test]
fn kustomize_patches_are_skipped_not_audited() {
    let dir = fixture("kustomize");
    let input = load(std::slice::from_ref(&dir));
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    assert_eq!(ids(&input), ["apps/v1 Deployment/shop/web", "v1 ConfigMap/shop/web-settings"]);
    let d = dir.display().to_string();
    let mut skipped: Vec<(String, String)> =
        input.skipped.iter().map(|s| (s.source.replace(&d, "K"), s.reason.replace(&d, "K"))).collect();
    skipped.sort();
    let patch = "Kustomize patch (listed in K/overlays/prod/kustomization.yaml); audit the built output: \
                 `kubectl kustomize K/overlays/prod | clustergpt analyze -`";
    assert_eq!(
        skipped,
        [
            (
                "K/base/kustomization.yaml".to_string(),
                "kustomize.config.k8s.io/v1beta1 Kustomization is a Kustomize file, not a Kubernetes object; audit the \
                 built output: `kubectl kustomize K/base | clustergpt analyze -`"
                    .to_string()
            ),
            (
                "K/overlays/prod/kustomization.yaml".to_string(),
                "a Kustomize file, not a Kubernetes object; audit the built output: `kubectl kustomize \
                 K/overlays/prod | clustergpt analyze -`"
                    .to_string()
            ),
            ("K/overlays/prod/patches/image.json".to_string(), patch.to_string()),
            ("K/overlays/prod/patches/replicas.yaml".to_string(), patch.to_string()),
            ("K/overlays/prod/patches/resources.yaml".to_string(), patch.to_string()),
        ]
    );
    let a = audit(input, "all");
    let on_patches: Vec<String> = a
        .findings
        .iter()
        .filter(|f| f.location.file.as_deref().is_some_and(|f| f.contains("patches")))
        .map(|f| format!("{} {:?}", f.rule, f.location.file))
        .collect();
    assert!(on_patches.is_empty(), "{on_patches:?}");

    // `collect_files`, what `fix` edits, leaves patches out too.
    let p = dir.join("overlays/prod/patches/replicas.yaml");
    let files = source::collect_files(std::slice::from_ref(&dir), &source::Filter::default(), &mut Vec::new());
    assert!(!files.contains(&p), "{files:?}");
    assert!(files.contains(&dir.join("base/deployment.yaml")));
}

#[test]
fn a_patch_named_on_its_own_next_to_its_kustomization_is_skipped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    std::fs::write(d.join("kustomization.yaml"), "patchesStrategicMerge:\n  - patch.yaml\n").expect("write");
    let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n";
    std::fs::write(d.join("patch.yaml"), patch).expect("write");
    let input = load(&[d.join("patch.yaml")]);
    assert!(input.objects.is_empty());
    assert_eq!(input.skipped.len(), 1, "{:?}", input.skipped);
    assert!(input.skipped[0].reason.starts_with("Kustomize patch (listed in"), "{}", input.skipped[0].reason);
}

#[test]
fn component_configuration_files_are_skipped_not_audited() {
    let dir = fixture("config-files");
    let input = load(std::slice::from_ref(&dir));
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    assert!(input.objects.is_empty(), "{:?}", ids(&input));
    let d = format!("{}/", dir.display());
    let skipped: Vec<(String, usize, String)> = input
        .skipped
        .iter()
        .map(|s| (s.source.replace(&d, ""), s.document.unwrap_or(usize::MAX), s.reason.replace(&d, "D/")))
        .collect();
    let dir_s = dir.display().to_string();
    let expected: Vec<(String, usize, String)> = [
        ("Chart.yaml", 0, format!("Helm chart metadata, not a Kubernetes object; audit the rendered chart: `helm template {dir_s} | clustergpt analyze -`")),
        ("admission.yaml", 0, "apiserver.config.k8s.io/v1 AdmissionConfiguration is a Kubernetes component configuration, not a Kubernetes object".to_string()),
        ("admission.yaml", 1, "eventratelimit.admission.k8s.io/v1alpha1 Configuration is an admission plugin configuration, not a Kubernetes object".to_string()),
        ("admission.yaml", 2, "apiserver.k8s.io/v1alpha1 EgressSelectorConfiguration is an API server configuration, not a Kubernetes object".to_string()),
        ("admission.yaml", 3, "audit.k8s.io/v1 Policy is an API server audit policy, not a Kubernetes object".to_string()),
        ("kube-scheduler.yaml", 0, "kubescheduler.config.k8s.io/v1 KubeSchedulerConfiguration is a Kubernetes component configuration, not a Kubernetes object".to_string()),
        ("kubeadm.yaml", 0, "kubeadm.k8s.io/v1beta4 ClusterConfiguration is a kubeadm configuration, not a Kubernetes object".to_string()),
        ("kubeconfig.yaml", 0, "v1 Config is a kubeconfig, not a Kubernetes object".to_string()),
        ("kubelet.yaml", 0, "kubelet.config.k8s.io/v1beta1 KubeletConfiguration is a Kubernetes component configuration, not a Kubernetes object".to_string()),
        ("values.yaml", 0, format!("Helm chart values, not a Kubernetes object; audit the rendered chart: `helm template {dir_s} | clustergpt analyze -`")),
    ]
    .into_iter()
    .map(|(f, i, r)| (f.to_string(), i, r))
    .collect();
    assert_eq!(skipped, expected);
    let a = audit(input, "all");
    assert!(a.findings.is_empty(), "{:?}", a.findings.iter().map(|f| (&f.rule, &f.message)).collect::<Vec<_>>());
}

#[test]
fn git_base_skips_the_same_kustomize_patches() {
    use std::process::Command;
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipping: git is not installed");
        return;
    }
    // Not under /tmp: another test asserts what happens outside any repository there.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let repo = tmp.path();
    let git = |args: &[&str]| {
        let o = Command::new("git").args(args).current_dir(repo).output().expect("git");
        assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    git(&["init", "--quiet"]);
    git(&["config", "user.name", "ClusterGPT Test"]);
    git(&["config", "user.email", "test@example.invalid"]);
    git(&["config", "commit.gpgsign", "false"]);
    copy_dir(&fixture("kustomize"), &repo.join("k"));
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "base"]);
    let base = clustergpt::git::load(repo, "HEAD", &[PathBuf::from("k")], Limits::default()).expect("git load");
    let mut from_git: Vec<String> = base.skipped.iter().map(|s| format!("{} {}", s.source, s.reason)).collect();
    from_git.sort();
    let head = load(&[repo.join("k")]);
    let root = format!("{}/", repo.display());
    let mut from_disk: Vec<String> =
        head.skipped.iter().map(|s| format!("{} {}", s.source, s.reason).replace(&root, "")).collect();
    from_disk.sort();
    assert_eq!(from_git, from_disk);
    assert_eq!(from_git.iter().filter(|s| s.contains("Kustomize patch")).count(), 3);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// A tree like a real repository's: generated output that `.gitignore` leaves out (with one file
/// re-included by `!`), vendored charts that `exclude:` in the config leaves out, and a file that
/// `--exclude` leaves out on the command line.
fn excluded_tree() -> tempfile::TempDir {
    excluded_tree_in(Path::new(env!("CARGO_TARGET_TMPDIR")))
}

fn excluded_tree_in(parent: &Path) -> tempfile::TempDir {
    let tmp = tempfile::Builder::new().prefix("walk").tempdir_in(parent).expect("tmp");
    let d = tmp.path();
    let pod = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: a\n    image: nginx\n"
        )
    };
    for (path, text) in [
        ("k8s/app.yaml", pod("app")),
        ("k8s/app.generated.yaml", pod("generated")),
        ("out/rendered.yaml", pod("rendered")),
        ("out/keep.yaml", pod("keep")),
        ("vendor/chart/x.yaml", pod("vendored")),
        ("k8s/vendor/y.yaml", pod("nested-vendor")),
        (".gitignore", "out/*\n!out/keep.yaml\n".to_string()),
        (".clustergpt.yaml", "exclude:\n  - /vendor/\n".to_string()),
    ] {
        let p = d.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    std::fs::create_dir_all(d.join(".git")).expect("a repository");
    tmp
}

fn names_read(dir: &Path, args: &[&str]) -> (Vec<String>, serde_json::Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["analyze", "--format", "json"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // Every pod here has findings, so the objects read are the objects findings name.
    let mut names: Vec<String> = json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["object"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    (names, json)
}

#[test]
fn gitignore_config_exclude_and_flag_exclude_prune_the_walk() {
    let tmp = excluded_tree();
    let (names, json) = names_read(tmp.path(), &["--exclude", "*.generated.yaml"]);
    // `/vendor/` is anchored to the config's directory: k8s/vendor is still read.
    assert_eq!(names, ["app", "keep", "nested-vendor"]);
    let reasons: Vec<&str> =
        json["skipped"].as_array().into_iter().flatten().filter_map(|s| s["reason"].as_str()).collect();
    assert!(
        reasons.contains(
            &"2 paths left out by --exclude/exclude: (k8s/app.generated.yaml, vendor); narrow the globs to read them"
        ),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"1 path left out by .gitignore (out/rendered.yaml); --no-ignore reads them"),
        "{reasons:?}"
    );

    let (names, _) = names_read(tmp.path(), &["--no-ignore", "--no-config"]);
    assert_eq!(names, ["app", "generated", "keep", "nested-vendor", "rendered", "vendored"]);
}

#[test]
fn gitignore_counts_only_inside_a_repository_and_named_files_are_always_read() {
    // The system temporary directory is inside no repository (the target directory may be).
    let tmp = excluded_tree_in(&std::env::temp_dir());
    std::fs::remove_dir(tmp.path().join(".git")).expect("rmdir");
    let (names, _) = names_read(tmp.path(), &["--no-config"]);
    assert!(names.contains(&"rendered".to_string()), "no repository, no .gitignore: {names:?}");
    let tmp = excluded_tree();
    let (names, _) = names_read(tmp.path(), &["out/rendered.yaml", "--exclude", "out/"]);
    assert_eq!(names, ["rendered"], "a file named on the command line is read");
}

#[test]
fn a_bad_exclude_glob_is_an_error_naming_it() {
    let tmp = excluded_tree();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["analyze", "--exclude", "{a,b"])
        .current_dir(tmp.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--exclude: error parsing glob '{a,b': unclosed alternate group"), "{err}");
}

#[test]
fn diff_base_leaves_out_what_the_working_tree_walk_leaves_out() {
    use std::process::Command;
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = excluded_tree();
    let repo = tmp.path();
    std::fs::remove_dir(repo.join(".git")).expect("rmdir");
    let git = |args: &[&str]| {
        let o = Command::new("git").args(args).current_dir(repo).output().expect("git");
        assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    git(&["init", "--quiet"]);
    git(&["config", "user.name", "ClusterGPT Test"]);
    git(&["config", "user.email", "test@example.invalid"]);
    git(&["config", "commit.gpgsign", "false"]);
    // Tracked although ignored: a walk of the working tree still leaves it out, so must the base.
    git(&["add", "-f", "."]);
    git(&["commit", "--quiet", "-m", "base"]);
    let pats = vec!["*.generated.yaml".to_string()];
    let filter = source::Filter::new([(repo, pats.as_slice(), "--exclude")], true).expect("filter");
    let base = clustergpt::git::load_filtered(repo, "HEAD", &[PathBuf::from(".")], Limits::default(), &filter)
        .expect("git load");
    let head = source::load_paths_filtered(&[repo.to_path_buf()], &mut std::io::empty(), Limits::default(), &filter);
    let names = |i: &Input| {
        let mut n: Vec<String> = i.objects.iter().map(|o| o.name.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&base), ["app", "keep", "nested-vendor", "vendored"]);
    assert_eq!(names(&base), names(&head));
}

#[test]
fn helm_templates_are_skipped_even_when_they_parse_and_alert_templates_are_not() {
    let input = load(&[fixture("templates")]);
    let names: Vec<&str> = input.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["node"], "the PrometheusRule is read");
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    let skipped: Vec<String> =
        input.skipped.iter().map(|s| format!("{}:{:?} {}", s.source, s.line, s.reason)).collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].ends_with(
        "quoted-helm.yaml:Some(5) a Helm template (`{{ .Release.Name }}`), not a manifest; audit it rendered: `helm template <chart> | clustergpt analyze -`"
    ), "{skipped:?}");
}
