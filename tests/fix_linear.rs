//! Fixes on large inputs stay linear, and the fast paths give what the exact ones give.
//!
//! - Suggestions for the items of a `kind: List` come from the item's own text: on a single-line
//!   JSON List no suggestion replaces the line (that is the whole file), in kubectl's indented
//!   JSON and in YAML each suggestion stays inside its item, applies cleanly and matches what the
//!   whole-document computation gives.
//! - `fix` with incremental verification reports exactly what re-auditing everything after every
//!   fix reports, on every rule fixture, the examples and (when present) Polaris's fixtures.
//! - `fix` edits and verifies a List item on the item's own text (the List's file is not copied
//!   or read again per fix), and the result is what re-auditing everything gives.
//!
//! No timing here: the numbers are in BENCHMARKS.md (`scripts/bench.sh`).

use std::path::{Path, PathBuf};

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::fix::{self, Verification, apply_to_text, line_suggestion};
use clustergpt::model::{Finding, Object, Origin};
use clustergpt::source::{self, Input};
use clustergpt::yaml::Limits;
use serde_json::{Value, json};

fn all_rules() -> RunOptions {
    RunOptions { select: vec!["all".to_string()], ..RunOptions::default() }
}

/// Audits one file's text with every rule and enriches the fixes, as `analyze --format json` does.
fn enriched(name: &str, text: &str) -> (Audit, Vec<Object>) {
    let mut input = Input::default();
    source::load_text(name, text.to_string(), Limits::default(), &mut input);
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    let (mut audit, objects) = audit::run_with_objects(input, &Config::defaults(), &all_rules());
    fix::enrich(&mut audit, &objects);
    (audit, objects)
}

fn pod(i: usize) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": format!("app-{i}"), "namespace": format!("ns-{}", i % 3), "labels": {"app": format!("app-{i}")}},
        "spec": {
            "containers": [{
                "name": "app",
                "image": format!("registry.example.com/app:1.{i}"),
                "ports": [{"containerPort": 8080}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}
            }]
        }
    })
}

fn list(n: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": (0..n).map(pod).collect::<Vec<_>>()})
}

/// The object a finding is about.
fn object_of<'a>(objects: &'a [Object], f: &Finding) -> &'a Object {
    objects
        .iter()
        .find(|o| o.file() == f.location.file.as_deref() && clustergpt::model::ObjectRef::of(o) == *f.object)
        .expect("the finding's object")
}

/// The text of an object's node in its file.
fn object_text(o: &Object) -> &str {
    let span = o.spans.as_ref().and_then(|s| s.root()).expect("span");
    &o.source.as_ref().expect("source").text[span.start.byte..span.end.byte]
}

/// Replaces lines `start..=end` (1-based) of `text` with `replacement`.
fn apply_suggestion(text: &str, start: u32, end: u32, replacement: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (s, e) = (start as usize - 1, end as usize);
    let mut out: String = lines[..s].concat();
    out.push_str(replacement);
    out.push('\n');
    out.push_str(&lines[e..].concat());
    out
}

#[test]
fn single_line_json_list_gets_patches_and_no_whole_file_suggestions() {
    let small = serde_json::to_string(&list(50)).expect("json");
    let large = serde_json::to_string(&list(100)).expect("json");
    let mut sizes = Vec::new();
    for text in [&small, &large] {
        let (audit, objects) = enriched("pods.json", text);
        let fixes: Vec<&Finding> =
            audit.findings.iter().filter(|f| f.fix.as_ref().is_some_and(|x| !x.ops.is_empty())).collect();
        assert!(fixes.len() >= 100, "{} fixes", fixes.len());
        for f in &fixes {
            let x = f.fix.as_ref().expect("fix");
            assert!(x.patch.is_some(), "{} has no patch", f.rule);
            // The only line is the whole file: a suggestion would replace every other object too.
            assert_eq!(x.suggestion, None, "{} on {}", f.rule, f.object.name);
            if let Some(e) = &x.edit_error {
                assert!(e.contains("create the new object"), "{}: {e}", f.rule);
            }
            assert!(object_text(object_of(&objects, f)).len() < 1000);
        }
        sizes.push(serde_json::to_string(&audit).expect("json").len());
    }
    // Twice the objects, about twice the output (it used to grow with the square).
    assert!(sizes[1] < sizes[0] * 21 / 10, "output sizes {sizes:?}");
}

#[test]
fn indented_json_list_suggestions_stay_inside_their_item_and_apply() {
    let text = serde_json::to_string_pretty(&list(30)).expect("json");
    let (audit, objects) = enriched("pods.json", &text);
    let mut checked = 0;
    for f in &audit.findings {
        let Some(x) = &f.fix else { continue };
        let Some(s) = &x.suggestion else { continue };
        let obj = object_of(&objects, f);
        let span = obj.spans.as_ref().and_then(|s| s.root()).expect("span");
        assert!(s.start_line >= span.start.line && s.end_line <= span.end.line, "{}: {s:?} outside {span:?}", f.rule);
        assert!(s.replacement.len() <= object_text(obj).len() + 200, "{}: replacement larger than the item", f.rule);
        // Applying the suggestion alone gives exactly the fixed object and changes no other item.
        let fixed = apply_suggestion(&text, s.start_line, s.end_line, &s.replacement);
        let v: Value = serde_json::from_str(&fixed).expect("still JSON");
        let Origin::File { prefix, .. } = &obj.origin else { panic!("file") };
        let expected = fix::edit::apply_ops_json(&obj.body, &x.ops).expect("ops");
        assert_eq!(v.pointer(prefix), Some(&expected), "{}", f.rule);
        let before: Value = serde_json::from_str(&text).expect("json");
        let items = |v: &Value| v["items"].as_array().map_or(0, Vec::len);
        assert_eq!(items(&v), items(&before));
        for (i, (a, b)) in v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(before["items"].as_array().into_iter().flatten())
            .enumerate()
        {
            if format!("/items/{i}") != *prefix {
                assert_eq!(a, b, "item {i} changed by a fix on {prefix}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} suggestions");
}

/// What the suggestion was before it was computed per item: the whole file edited and diffed.
fn whole_file_suggestion(obj: &Object, f: &Finding) -> Result<Option<clustergpt::model::Suggestion>, String> {
    let src = obj.source.as_ref().expect("source");
    let Origin::File { prefix, .. } = &obj.origin else { panic!("file") };
    let fixed = apply_to_text(
        &src.text,
        src.json,
        obj.doc_range.expect("range"),
        prefix,
        &obj.body,
        f.fix.as_ref().expect("fix"),
    )?;
    Ok(line_suggestion(&src.path, &src.text, &fixed))
}

fn yaml_list(n: usize) -> String {
    let mut s = String::from("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n");
    for i in 0..n {
        s.push_str(&format!(
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: web-{i}  # the storefront\n    namespace: shop\n  spec:\n    replicas: 1\n    selector:\n      matchLabels:\n        app: web-{i}\n    template:\n      metadata:\n        labels:\n          app: web-{i}\n      spec:\n        containers:\n        - name: web\n          image: nginx:1.27\n\n          # probes come later\n          ports:\n          - containerPort: 8080\n        - name: sidecar\n          image: envoy:latest\n"
        ));
    }
    s
}

#[test]
fn list_item_suggestions_are_what_the_whole_document_gives() {
    let deployments: Vec<Value> = (0..12)
        .map(|i| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("web-{i}")},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:latest", "ports": [{"containerPort": 80}]}]}}}})
        })
        .collect();
    let json_list = json!({"apiVersion": "v1", "kind": "List", "items": deployments});
    let mut cases = vec![
        ("gen.yaml".to_string(), yaml_list(12)),
        ("gen.json".to_string(), serde_json::to_string_pretty(&json_list).expect("json")),
        ("pods.json".to_string(), serde_json::to_string_pretty(&list(12)).expect("json")),
    ];
    for id in ["REL001", "SEC001", "REL007"] {
        let dir = fixtures().join(id);
        for e in std::fs::read_dir(&dir).expect("fixtures") {
            let p = e.expect("entry").path();
            let text = std::fs::read_to_string(&p).expect("read");
            if text.contains("kind: List") {
                cases.push((p.display().to_string(), text));
            }
        }
    }
    let mut compared = 0;
    for (name, text) in &cases {
        let (audit, objects) = enriched(name, text);
        for f in &audit.findings {
            let Some(x) = &f.fix else { continue };
            if x.ops.is_empty() {
                continue;
            }
            let obj = object_of(&objects, f);
            let ours = match (&x.suggestion, &x.edit_error) {
                (_, Some(e)) => Err(e.clone()),
                (s, None) => Ok(s.as_deref().cloned()),
            };
            assert_eq!(ours, whole_file_suggestion(obj, f), "{name}: {} on {}", f.rule, f.object.name);
            compared += 1;
        }
    }
    assert!(compared >= 150, "only {compared} fixes compared");
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/rules")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if source::is_manifest_path(&p) {
            out.push(p);
        }
    }
}

fn read(paths: &[PathBuf]) -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    paths
        .iter()
        .map(|p| {
            let name = p.strip_prefix(&root).unwrap_or(p).display().to_string();
            (name, std::fs::read_to_string(p).expect("read"))
        })
        .collect()
}

/// Fixes `files` both ways and requires identical reports. Returns the number of fixes tried and
/// how many of them were checked incrementally.
fn same_both_ways(label: &str, files: &[(String, String)], opts: &RunOptions) -> (usize, usize) {
    let (tried, stats) = same_both_ways_stats(label, files, opts);
    (tried, stats.incremental)
}

fn same_both_ways_stats(
    label: &str,
    files: &[(String, String)],
    opts: &RunOptions,
) -> (usize, clustergpt::fix::VerificationStats) {
    let config = Config::defaults();
    let started = std::time::Instant::now();
    let full = fix::fix_files_with(files, &config, opts, true, Verification::Full);
    let mid = started.elapsed();
    let fast = fix::fix_files_with(files, &config, opts, true, Verification::Incremental);
    eprintln!("{label}: full {mid:?}, incremental {:?}, {:?}", started.elapsed() - mid, fast.verification);
    assert_eq!(full.applied, fast.applied, "{label}: applied");
    assert_eq!(full.failed, fast.failed, "{label}: failed");
    assert_eq!(full.skipped, fast.skipped, "{label}: skipped");
    assert_eq!(full.did_not_converge, fast.did_not_converge, "{label}");
    assert_eq!(full.changed, fast.changed, "{label}: fixed texts");
    assert_eq!(full.after, fast.after, "{label}: audit after fixing");
    assert_eq!(fast.verification.redone_passes, 0, "{label}: the incremental check disagreed with a full audit");
    (full.applied.len() + full.failed.len(), fast.verification)
}

/// A generic List of Deployments, Services selecting them, PDBs and HPAs, so that fixes on one
/// item are checked against its neighbours in the graph.
fn mixed_list(n: usize) -> Value {
    let mut items = Vec::new();
    for i in 0..n {
        let app = format!("web-{}", i % 4);
        items.push(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("web-{i}"), "namespace": "shop"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app}},
                "template": {"metadata": {"labels": {"app": app}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:latest", "ports": [{"containerPort": 80}]}]}}}
        }));
        if i % 2 == 0 {
            items.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("web-{i}"), "namespace": "shop"},
                "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 80}]}}));
        }
        if i % 3 == 0 {
            items.push(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": format!("web-{i}"), "namespace": "shop"},
                "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": app}}}}));
        }
    }
    // The same Pod twice: copies of one object in one file.
    items.push(pod(1));
    items.push(pod(1));
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

#[test]
fn list_items_are_fixed_on_their_own_text_with_the_result_of_full_reaudits() {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap() + "\n";
    let typed = {
        // An API list: the items leave apiVersion and kind to the list.
        let mut l = list(12);
        l["kind"] = json!("PodList");
        for item in l["items"].as_array_mut().unwrap() {
            let m = item.as_object_mut().unwrap();
            m.remove("apiVersion");
            m.remove("kind");
        }
        l
    };
    let mut flow_yaml = yaml_list(3);
    for i in 0..4 {
        flow_yaml.push_str(&format!(
            "- {{apiVersion: v1, kind: Pod, metadata: {{name: flow-{i}, namespace: shop}}, spec: {{containers: [{{name: a, image: 'busybox:1.{i}'}}]}}}}\n"
        ));
    }
    let pure: Vec<(&str, String)> = vec![
        ("pods.json", pretty(&list(15))),
        ("one-line.json", serde_json::to_string(&list(15)).unwrap()),
        ("typed.json", pretty(&typed)),
        ("mixed.json", pretty(&mixed_list(10))),
        ("deployments.yaml", yaml_list(8)),
        ("flow.yaml", flow_yaml),
        // `kubectl get -o json` twice into one file: two Lists one after the other.
        ("twice.json", pretty(&list(4)) + &pretty(&typed)),
        // A byte order mark: positions are read after it, the file's text starts with it.
        ("bom.json", format!("\u{feff}{}", pretty(&list(6)))),
        ("bom.yaml", format!("\u{feff}{}", yaml_list(3))),
        // Windows line endings: fixes write CRLF too.
        ("crlf.json", pretty(&list(6)).replace('\n', "\r\n")),
        ("crlf.yaml", yaml_list(3).replace('\n', "\r\n")),
    ];
    for (name, text) in &pure {
        let files = vec![(format!("in/{name}"), text.clone())];
        let (tried, stats) = same_both_ways_stats(name, &files, &all_rules());
        assert!(tried > 10, "{name}: only {tried} fixes tried");
        assert!(stats.items > 0 && stats.items * 10 >= tried * 9, "{name}: {stats:?} of {tried} fixes");
    }
    // A List among other documents, and the same List in two files: item edits and document
    // edits in one file, and one identity in two places.
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: api\n  template:\n    metadata:\n      labels:\n        app: api\n    spec:\n      containers:\n      - name: api\n        image: api:latest\n";
    let between =
        format!("{deployment}---\n{}---\n{}", yaml_list(3), deployment.replace("name: api\n", "name: api-2\n"));
    let files = vec![
        ("eu/all.yaml".to_string(), between.clone()),
        ("us/all.yaml".to_string(), between),
        ("us/pods.json".to_string(), pretty(&list(5))),
    ];
    let (tried, stats) = same_both_ways_stats("documents and lists", &files, &all_rules());
    assert!(tried > 30 && stats.items > 0, "{stats:?} of {tried}");
}

#[test]
fn incremental_verification_matches_full_reaudits_on_every_rule_fixture() {
    let mut paths = Vec::new();
    yaml_files(&fixtures(), &mut paths);
    assert!(paths.len() > 100);
    let (mut tried, mut incremental) = (0, 0);
    // One file at a time with every rule selected.
    for p in &paths {
        let files = read(std::slice::from_ref(p));
        let (t, i) = same_both_ways(&files[0].0, &files, &all_rules());
        tried += t;
        incremental += i;
    }
    assert!(tried > 300, "only {tried} fixes tried");
    assert!(incremental * 10 > tried * 9, "only {incremental} of {tried} fixes checked incrementally");
}

#[test]
fn incremental_verification_matches_full_reaudits_across_files() {
    // Many files audited together: cross-object rules see objects of other files, created
    // objects shift the documents after them, several fixes land in one file per pass.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in ["examples", "manifests-fixtures/rules/ARC001", "manifests-fixtures/rules/REL010"] {
        let mut paths = Vec::new();
        yaml_files(&root.join(dir), &mut paths);
        let files = read(&paths);
        let (tried, _) = same_both_ways(dir, &files, &all_rules());
        assert!(tried > 10, "{dir}: only {tried} fixes tried");
    }
}

#[test]
fn incremental_verification_matches_full_reaudits_on_polaris_fixtures() {
    let corpus = std::env::var_os("CLUSTERGPT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let dir = corpus.join("polaris");
    let Ok(index) = std::fs::read_to_string(dir.join("INDEX.tsv")) else {
        eprintln!("skipping: no Polaris fixtures under {}", corpus.display());
        return;
    };
    let (mut tried, mut incremental) = (0, 0);
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [_, file, "fail", ..] = cols[..] else { continue };
        let path = dir.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let (t, i) = same_both_ways(file, &[(path.display().to_string(), text)], &all_rules());
        tried += t;
        incremental += i;
    }
    assert!(tried > 50, "only {tried} fixes tried");
    assert!(incremental * 10 > tried * 9, "only {incremental} of {tried} fixes checked incrementally");
}

#[test]
fn removing_host_network_may_reveal_the_missing_network_policy() {
    // On the host network NetworkPolicies do not apply (SEC021 skips the pod); on the pod network
    // they do, so the fix legitimately reveals SEC021 and must still be applied.
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: agent\n  namespace: ops\nspec:\n  \
                selector:\n    matchLabels: {app: agent}\n  template:\n    metadata:\n      labels: {app: agent}\n    \
                spec:\n      hostNetwork: true\n      containers:\n      - name: a\n        image: agent:1.0\n";
    let opts = RunOptions { select: vec!["SEC007".into(), "SEC021".into()], ..RunOptions::default() };
    let report = fix::fix_files(&[("agent.yaml".to_string(), text.to_string())], &Config::defaults(), &opts, true);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.applied.iter().map(|a| a.rule.as_str()).collect::<Vec<_>>(), ["SEC007"]);
}

#[test]
fn fixed_files_keep_their_byte_order_mark() {
    let deployment = "\u{feff}apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: api\n  template:\n    metadata:\n      labels:\n        app: api\n    spec:\n      containers:\n      - name: api\n        image: api:1.0\n";
    let files = vec![
        ("a/deploy.yaml".to_string(), deployment.to_string()),
        ("a/pods.json".to_string(), format!("\u{feff}{}", serde_json::to_string_pretty(&list(3)).unwrap())),
    ];
    let report = fix::fix_files(&files, &Config::defaults(), &RunOptions::default(), true);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.changed.len(), 2);
    for (path, text) in &files {
        let (original, fixed) = &report.changed[path];
        assert_eq!(original, text, "{path}: the original is the file as read");
        assert!(fixed.starts_with('\u{feff}') && !fixed[3..].starts_with('\u{feff}'), "{path}: one mark, kept");
        let diff = fix::unified_diff(path, original, fixed);
        assert!(!diff.contains('\u{feff}'), "{path}: the diff does not touch the mark:\n{diff}");
    }
}
