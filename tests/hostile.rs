//! Hostile input: every case must end in an error or findings, never a panic, hang or unbounded memory.

use std::io::Write;
use std::process::{Command, Stdio};

use clustergpt::audit::{self, RunOptions};
use clustergpt::config::Config;
use clustergpt::source::{self, Input};
use clustergpt::yaml::Limits;

fn audit_text(name: &str, text: &str) -> audit::Audit {
    let mut input = Input::default();
    source::load_bytes(name, text.as_bytes().to_vec(), Limits::default(), &mut input);
    audit::run(input, &Config::defaults(), &RunOptions::default())
}

fn one_error(a: &audit::Audit) -> &clustergpt::source::InputError {
    assert_eq!(a.errors.len(), 1, "expected one error, got {:?}", a.errors);
    &a.errors[0]
}

#[test]
fn billion_laughs_is_refused() {
    let mut src = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n",
    );
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        src.push_str(&format!("  a{i}: &a{i} [{}]\n", [p.as_str(); 9].join(",")));
    }
    let a = audit_text("bomb.yaml", &src);
    let e = one_error(&a);
    assert!(e.message.contains("alias"), "{e}");
    assert!(e.line.is_some());
}

#[test]
fn million_deep_flow_nesting_is_refused() {
    let src = "[".repeat(1_000_000);
    let a = audit_text("deep.yaml", &src);
    let e = one_error(&a);
    assert!(e.message.contains("nesting") || e.message.contains("recursion"), "{e}");
}

#[test]
fn million_deep_block_nesting_is_refused() {
    let src = "- ".repeat(1_000_000) + "x\n";
    let a = audit_text("deep-block.yaml", &src);
    let e = one_error(&a);
    assert!(e.message.contains("nesting") || e.message.contains("recursion"), "{e}");
}

#[test]
fn deep_mapping_nesting_is_refused() {
    let mut src = String::new();
    for i in 0..2000 {
        src.push_str(&" ".repeat(i));
        src.push_str("k:\n");
    }
    let a = audit_text("deep-map.yaml", &src);
    let e = one_error(&a);
    assert!(e.message.contains("nesting") || e.message.contains("recursion"), "{e}");
}

#[test]
fn binary_file_is_an_error_naming_the_file() {
    let mut bytes: Vec<u8> = b"apiVersion: v1\nkind: Pod\n".to_vec();
    bytes.extend((0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let mut input = Input::default();
    source::load_bytes("blob.yaml", bytes, Limits::default(), &mut input);
    let a = audit::run(input, &Config::defaults(), &RunOptions::default());
    let e = one_error(&a);
    assert_eq!(e.source, "blob.yaml");
    assert!(e.message.contains("UTF-8"), "{e}");
}

#[test]
fn nul_bytes_in_text_are_an_error() {
    let a = audit_text("nul.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: \"a\0b\"}\n\0\0\0");
    let e = one_error(&a);
    assert_eq!((e.source.as_str(), e.line), ("nul.yaml", Some(3)), "{e}");
    assert!(e.message.starts_with("invalid YAML"), "{e}");
}

#[test]
fn file_over_the_size_limit_is_refused_without_reading_it_all() {
    let limits = Limits { max_bytes: 1024, ..Limits::default() };
    let mut input = Input::default();
    source::load_bytes("big.yaml", vec![b'#'; 4096], limits, &mut input);
    assert_eq!(input.errors.len(), 1);
    assert!(input.errors[0].message.contains("limit"));
}

#[test]
fn hundred_megabyte_file_is_audited() {
    // 100 MB: one object followed by a huge comment block; parsed within the default limits.
    let mut src = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: v\n");
    let line = format!("# {}\n", "x".repeat(1022));
    while src.len() < 100 * 1024 * 1024 {
        src.push_str(&line);
    }
    let a = audit_text("huge.yaml", &src);
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    assert_eq!(a.summary.objects, 1);
}

#[test]
fn wrong_types_everywhere_give_findings_not_panics() {
    let docs = [
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: 5\nspec: []\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: many\n  template:\n    spec:\n      containers: notalist\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - 42\n    - name: [x]\n      image: {a: b}\n      resources: {requests: [1, 2], limits: 7}\n      securityContext: yes\n      env: {a: b}\n      ports: [{containerPort: http}]\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: [a], ports: 80}\n",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\nrules: {verbs: '*'}\n",
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec: {scaleTargetRef: 3, minReplicas: x}\n",
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {selector: 1, minAvailable: {}}\n",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: [{http: {paths: 5}}]}\n",
        "apiVersion: v1\nkind: List\nitems: 5\n",
        "apiVersion: v1\nkind: PodList\nitems: [1, [2], {kind: Pod}]\n",
        "- just\n- a\n- list\n",
        "\"a scalar\"\n",
        "apiVersion: [v1]\nkind: {Pod: 1}\n",
        "? [complex, key]\n: value\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    ];
    let src = docs.join("---\n");
    let all = audit::run(
        {
            let mut input = Input::default();
            source::load_bytes("types.yaml", src.into_bytes(), Limits::default(), &mut input);
            input
        },
        &Config::defaults(),
        &RunOptions { select: vec!["all".to_string()], ..RunOptions::default() },
    );
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    assert!(all.findings.iter().any(|f| f.rule == "SCH001"), "schema findings expected");
    assert!(!all.skipped.is_empty(), "non-objects are listed as skipped");
}

#[test]
fn binary_on_stdin_exits_2_without_panicking() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["analyze", "-", "--color", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&[0xff, 0xfe, 0x00, 0x01, 0x80, 0x81]);
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(2));
    // Input errors are reported on stderr; the report's summary counts them.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("UTF-8"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 input error"));
    assert!(!stderr.contains("panicked"));
}
