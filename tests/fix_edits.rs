//! Text edits from semantic fix operations: only the fixed lines change, in the file's own style.
//! Each case snapshots the unified diff; the round-trip checks assert every other byte is kept.

use clustergpt::fix::{apply_to_text, line_suggestion, unified_diff};
use clustergpt::model::{Applicability, Fix, FixOp, Origin};
use clustergpt::source::{self, Input};
use clustergpt::yaml::Limits;
use serde_json::{Value, json};

fn add(path: &str, value: Value) -> FixOp {
    FixOp::Add { path: path.to_string(), value: value.into() }
}
fn replace(path: &str, value: Value) -> FixOp {
    FixOp::Replace { path: path.to_string(), value: value.into() }
}
fn remove(path: &str) -> FixOp {
    FixOp::Remove { path: path.to_string() }
}

/// Applies `ops` to object number `index` of the file.
fn fix(name: &str, text: &str, index: usize, ops: Vec<FixOp>) -> Result<String, String> {
    let mut input = Input::default();
    source::load_text(name, text.to_string(), Limits::default(), &mut input);
    assert!(input.errors.is_empty(), "{:?}", input.errors);
    let obj = &input.objects[index];
    let Origin::File { prefix, .. } = &obj.origin else { panic!("not from a file") };
    let f = Fix::new("test", Applicability::Safe, ops);
    let src = obj.source.as_ref().expect("source");
    apply_to_text(&src.text, src.json, obj.doc_range.expect("range"), prefix, &obj.body, &f)
}

fn ok(name: &str, text: &str, index: usize, ops: Vec<FixOp>) -> String {
    let fixed = fix(name, text, index, ops).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_preserved(text, &fixed);
    // Idempotent shape: the fixed file parses and holds the same number of objects.
    let mut input = Input::default();
    source::load_text(name, fixed.clone(), Limits::default(), &mut input);
    assert!(input.errors.is_empty(), "{name}: fixed file does not parse: {:?}", input.errors);
    fixed
}

/// Every byte outside the changed region is unchanged: the fixed text is original[..a] + new + original[b..].
fn assert_preserved(original: &str, fixed: &str) {
    let prefix = original.bytes().zip(fixed.bytes()).take_while(|(a, b)| a == b).count();
    let suffix = original.bytes().rev().zip(fixed.bytes().rev()).take_while(|(a, b)| a == b).count();
    let changed_orig = original.len().saturating_sub(prefix + suffix);
    // The removed span is small: at most the lines an edit touches.
    assert!(changed_orig < 400, "edit touched {changed_orig} bytes of the original");
    if original.contains("\r\n") {
        assert!(!fixed.replace("\r\n", "").contains('\n'), "bare LF introduced into a CRLF file");
    }
    assert_eq!(original.ends_with('\n'), fixed.ends_with('\n'), "final newline changed");
}

const DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # the storefront
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27

        # probes come later
        ports:
        - containerPort: 8080
      - name: sidecar
        image: envoy:1.31
";

#[test]
fn add_creates_missing_parents_in_non_indented_style() {
    let fixed = ok(
        "d.yaml",
        DEPLOY,
        0,
        vec![add("/spec/template/spec/containers/0/securityContext/runAsNonRoot", json!(true))],
    );
    insta::assert_snapshot!(unified_diff("d.yaml", DEPLOY, &fixed));
}

#[test]
fn add_list_value_uses_the_files_sequence_style() {
    let fixed = ok(
        "d.yaml",
        DEPLOY,
        0,
        vec![add("/spec/template/spec/containers/1/securityContext/capabilities/drop", json!(["ALL"]))],
    );
    assert!(
        fixed.contains("        securityContext:\n          capabilities:\n            drop:\n            - ALL\n"),
        "{fixed}"
    );
}

#[test]
fn replace_scalar_keeps_comments_and_order() {
    let fixed = ok("d.yaml", DEPLOY, 0, vec![replace("/spec/replicas", json!(2))]);
    assert_eq!(fixed, DEPLOY.replace("replicas: 1", "replicas: 2"));
}

#[test]
fn four_space_indented_sequences() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n    name: p\nspec:\n    containers:\n        -   name: a\n            image: nginx:1\n";
    let fixed = ok(
        "p.yaml",
        text,
        0,
        vec![
            add("/spec/containers/0/resources/requests/cpu", json!("100m")),
            add("/spec/containers/0/resources/requests/memory", json!("128Mi")),
        ],
    );
    insta::assert_snapshot!(unified_diff("p.yaml", text, &fixed));
}

#[test]
fn crlf_and_missing_final_newline_are_kept() {
    let text = "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  hostNetwork: true\r\n  containers:\r\n  - name: a\r\n    image: nginx:1";
    let fixed = ok(
        "crlf.yaml",
        text,
        0,
        vec![remove("/spec/hostNetwork"), add("/spec/containers/0/imagePullPolicy", json!("Always"))],
    );
    assert_eq!(
        fixed,
        "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: nginx:1\r\n    imagePullPolicy: Always"
    );
}

#[test]
fn quoting_style_is_kept_and_yaml_11_words_are_quoted() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: 'nginx:1'\n    imagePullPolicy: 'IfNotPresent'\n    env:\n    - name: FLAG\n      value: \"x\\ty\"\n";
    let fixed = ok(
        "q.yaml",
        text,
        0,
        vec![
            replace("/spec/containers/0/imagePullPolicy", json!("Always")),
            add("/spec/containers/0/workingDir", json!("yes")),
        ],
    );
    assert!(fixed.contains("imagePullPolicy: 'Always'"), "{fixed}");
    assert!(fixed.contains("workingDir: \"yes\""), "a plain yes would be read as true: {fixed}");
    assert!(fixed.contains("value: \"x\\ty\""), "escapes inside strings are untouched");
}

#[test]
fn null_and_empty_flow_values_become_block_mappings() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext:\n  containers:\n  - name: a\n    image: nginx:1\n    securityContext: {}\n";
    let fixed = ok(
        "n.yaml",
        text,
        0,
        vec![
            add("/spec/securityContext/runAsNonRoot", json!(true)),
            add("/spec/containers/0/securityContext/privileged", json!(false)),
        ],
    );
    insta::assert_snapshot!(unified_diff("n.yaml", text, &fixed));
}

#[test]
fn appends_to_an_existing_list() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1\n    securityContext:\n      capabilities:\n        drop:\n          - NET_ADMIN # keep\n";
    let fixed =
        ok("l.yaml", text, 0, vec![add("/spec/containers/0/securityContext/capabilities/drop/-", json!("ALL"))]);
    assert!(fixed.ends_with("          - NET_ADMIN # keep\n          - ALL\n"), "{fixed}");
}

#[test]
fn removes_a_key_and_its_nested_value() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  volumes:\n  - name: host\n    hostPath:\n      path: /\n  containers:\n  - name: a\n    image: nginx:1\n";
    let fixed = ok("r.yaml", text, 0, vec![remove("/spec/volumes/0/hostPath"), remove("/spec/hostPID")]);
    assert_eq!(
        fixed,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - name: host\n  containers:\n  - name: a\n    image: nginx:1\n"
    );
}

#[test]
fn only_the_targeted_document_changes() {
    let text = format!("{DEPLOY}---\n# second\n{}", DEPLOY.replace("name: web   # the storefront", "name: api"));
    let fixed = ok("multi.yaml", &text, 1, vec![replace("/spec/replicas", json!(3))]);
    let (first, second) = fixed.split_once("---\n").expect("two docs");
    assert_eq!(first, DEPLOY);
    assert!(second.contains("replicas: 3"));
}

#[test]
fn list_items_are_edited_in_place() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec:\n    containers:\n    - name: a\n      image: x:1\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n  spec:\n    containers:\n    - name: b\n      image: x:1\n";
    let fixed = ok("list.yaml", text, 1, vec![add("/spec/automountServiceAccountToken", json!(false))]);
    insta::assert_snapshot!(unified_diff("list.yaml", text, &fixed));
}

#[test]
fn json_files_get_json_edits() {
    let text = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"p\"},\n  \"spec\": {\n    \"hostIPC\": true,\n    \"containers\": [\n      {\n        \"name\": \"a\",\n        \"image\": \"nginx:1\",\n        \"imagePullPolicy\": \"IfNotPresent\"\n      }\n    ]\n  }\n}\n";
    let fixed = ok(
        "p.json",
        text,
        0,
        vec![
            remove("/spec/hostIPC"),
            replace("/spec/containers/0/imagePullPolicy", json!("Always")),
            add("/spec/containers/0/securityContext/runAsNonRoot", json!(true)),
        ],
    );
    let v: Value = serde_json::from_str(&fixed).expect("still JSON");
    assert_eq!(v["spec"]["containers"][0]["securityContext"]["runAsNonRoot"], true);
    assert!(v["spec"].get("hostIPC").is_none());
    insta::assert_snapshot!(unified_diff("p.json", text, &fixed));
}

#[test]
fn no_faithful_edit_is_an_error_with_a_reason() {
    let anchored =
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - &c\n    name: a\n    image: x\n";
    let e = fix("a.yaml", anchored, 0, vec![add("/spec/containers/0/securityContext/privileged", json!(false))])
        .expect_err("anchor");
    assert!(e.contains("anchor"), "{e}");

    let merged =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: &l {a: b}\ndata:\n  <<: {k: v}\n  x: y\n";
    let e = fix("m.yaml", merged, 0, vec![replace("/data/k", json!("w"))]).expect_err("merge");
    assert!(e.contains("merge"), "{e}");
}

#[test]
fn flow_collections_are_edited_in_flow_style() {
    let flow = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: true, containers: [{name: a, image: \"x:1\", resources: {requests: {memory: 1Gi}}}]}\n";
    let fixed = ok(
        "f.yaml",
        flow,
        0,
        vec![
            remove("/spec/hostNetwork"),
            add("/spec/containers/0/resources/requests/cpu", json!("100m")),
            add("/spec/containers/0/securityContext/capabilities/drop", json!(["ALL"])),
        ],
    );
    assert_eq!(
        fixed,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: \"x:1\", resources: {requests: {memory: 1Gi, cpu: 100m}}, securityContext: {capabilities: {drop: [ALL]}}}]}\n"
    );
}

#[test]
fn suggestions_cover_whole_lines() {
    let fixed = ok("d.yaml", DEPLOY, 0, vec![replace("/spec/replicas", json!(3))]);
    let s = line_suggestion("d.yaml", DEPLOY, &fixed).expect("suggestion");
    assert_eq!((s.start_line, s.end_line, s.replacement.as_str()), (6, 6, "  replicas: 3"));
    // A pure insertion replaces the line before it with itself plus the new lines.
    let fixed = ok("d.yaml", DEPLOY, 0, vec![add("/spec/template/spec/containers/1/imagePullPolicy", json!("Always"))]);
    let s = line_suggestion("d.yaml", DEPLOY, &fixed).expect("suggestion");
    assert_eq!((s.start_line, s.end_line), (17, 17));
    assert_eq!(s.replacement, "        image: envoy:1.31\n        imagePullPolicy: Always");
}

#[test]
fn trailing_comments_survive_scalar_replacement() {
    for v in ["\"\"", "''", "\"1\"", "x", "'y'"] {
        let text = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  priorityClassName: {v}     # keep me\n  containers: []\n"
        );
        let fixed = ok("c.yaml", &text, 0, vec![replace("/spec/priorityClassName", json!("high"))]);
        assert!(fixed.contains("priorityClassName: "), "{fixed}");
        assert!(fixed.contains("     # keep me\n"), "comment lost for {v}: {fixed}");
    }
}
