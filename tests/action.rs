//! The composite action's shell steps, run the way GitHub Actions runs them.
//!
//! A `shell: bash` step runs as `bash --noprofile --norc -eo pipefail {0}`, so a failing command
//! ends the step unless its status is consumed. Each `run:` script is taken from `action.yml`,
//! its `env:` is filled from the inputs' defaults, and it runs against stub programs on `PATH`.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn action() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("action.yml");
    let text = std::fs::read_to_string(path).expect("read action.yml");
    let docs = clustergpt::yaml::parse_stream(&text, clustergpt::yaml::Limits::default()).expect("action.yml parses");
    docs[0].root.as_ref().expect("a document").to_json()
}

fn steps(action: &Value) -> Vec<Value> {
    action.pointer("/runs/steps").and_then(Value::as_array).expect("runs.steps").clone()
}

fn step(action: &Value, name: &str) -> Value {
    steps(action)
        .into_iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no step `{name}`"))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Resolves the `${{ ... }}` expressions this action's `env:` blocks use.
fn expression(
    action: &Value,
    value: &str,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let Some(inner) = value.trim().strip_prefix("${{").and_then(|s| s.strip_suffix("}}")) else {
        return value.to_string();
    };
    let e = inner.trim();
    if let Some(name) = e.strip_prefix("inputs.") {
        if let Some(v) = inputs.get(name) {
            return v.clone();
        }
        let default = action.pointer(&format!("/inputs/{name}/default")).unwrap_or_else(|| panic!("no input `{name}`"));
        return expression(action, &text(default), inputs, outputs);
    }
    if let Some(name) = e.strip_prefix("steps.run.outputs.") {
        return outputs.get(name).cloned().unwrap_or_default();
    }
    match e {
        "github.token" => "ghs_test".to_string(),
        "github.action_path" => env!("CARGO_MANIFEST_DIR").to_string(),
        other => panic!("expression `{other}` is not known to this test"),
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn write_exe(path: &Path, body: &str) {
    std::fs::write(path, body).expect("write stub");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Runs one step's script as Actions would, with `bin` first on `PATH`.
fn run_step(step: &Value, env: &BTreeMap<String, String>, bin: &Path, work: &Path) -> Run {
    assert_eq!(step.get("shell").and_then(Value::as_str), Some("bash"), "{step}");
    let script = work.join("step.sh");
    std::fs::write(&script, text(&step["run"])).expect("write script");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script)
        .env_clear()
        .env("PATH", path)
        .envs(env)
        .current_dir(work)
        .output()
        .expect("run bash");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn step_env(
    action: &Value,
    step: &Value,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if let Some(m) = step.get("env").and_then(Value::as_object) {
        for (k, v) in m {
            env.insert(k.clone(), expression(action, &text(v), inputs, outputs));
        }
    }
    env
}

/// `key=value` lines of a `$GITHUB_OUTPUT` file.
fn outputs(file: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A `clustergpt` stub: records its arguments, writes the SARIF file it is asked for (when
/// `STUB_SARIF` is set) and exits with `STUB_EXIT`.
const CLUSTERGPT_STUB: &str = r#"#!/bin/bash
printf '%s\n' "$@" > "$STUB_ARGS"
prev=""
for a in "$@"; do
  if [ "$prev" = "--sarif-file" ] && [ -n "${STUB_SARIF:-}" ]; then echo '{}' > "$a"; fi
  prev="$a"
done
exit "$STUB_EXIT"
"#;

struct Review {
    run: Run,
    outputs: BTreeMap<String, String>,
    args: Vec<String>,
    sarif: PathBuf,
}

/// Runs the "Review the pull request" step with a stub that exits `exit`.
fn review(action: &Value, inputs: &[(&str, &str)], exit: i32, writes_sarif: bool) -> Review {
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    write_exe(&bin.join("clustergpt"), CLUSTERGPT_STUB);
    let inputs: BTreeMap<String, String> = inputs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
    let s = step(action, "Review the pull request");
    let mut env = step_env(action, &s, &inputs, &BTreeMap::new());
    let output_file = tmp.path().join("github_output");
    let args_file = tmp.path().join("args");
    env.insert("GITHUB_OUTPUT".into(), output_file.display().to_string());
    env.insert("RUNNER_TEMP".into(), tmp.path().display().to_string());
    env.insert("STUB_ARGS".into(), args_file.display().to_string());
    env.insert("STUB_EXIT".into(), exit.to_string());
    if writes_sarif {
        env.insert("STUB_SARIF".into(), "1".into());
    }
    let run = run_step(&s, &env, &bin, tmp.path());
    let args = std::fs::read_to_string(&args_file).unwrap_or_default().lines().map(str::to_string).collect();
    Review { run, outputs: outputs(&output_file), args, sarif: tmp.path().join("clustergpt.sarif") }
}

/// Runs the Gate step with the outputs of the review step.
fn gate(action: &Value, outputs: &BTreeMap<String, String>) -> Option<i32> {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = step(action, "Gate");
    let env = step_env(action, &s, &BTreeMap::new(), outputs);
    run_step(&s, &env, tmp.path(), tmp.path()).code
}

#[test]
fn the_review_step_writes_its_outputs_whatever_clustergpt_exits_with() {
    let a = action();
    for exit in [0, 1, 2] {
        let r = review(&a, &[], exit, true);
        // The step itself succeeds, so the SARIF upload and the gate that follow still run.
        assert_eq!(r.run.code, Some(0), "exit {exit}: {}{}", r.run.stdout, r.run.stderr);
        assert_eq!(r.outputs.get("exit-code").map(String::as_str), Some(exit.to_string().as_str()), "{:?}", r.outputs);
        let sarif = r.sarif.display().to_string();
        assert_eq!(r.outputs.get("sarif-path"), Some(&sarif), "exit {exit}: {:?}", r.outputs);
        // The gate then fails the job with clustergpt's own status.
        assert_eq!(gate(&a, &r.outputs), Some(exit), "exit {exit}");
    }
}

#[test]
fn no_sarif_path_when_no_sarif_was_written() {
    let a = action();
    // clustergpt failed before writing SARIF: the exit code is still an output, the upload is skipped.
    let r = review(&a, &[], 2, false);
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    assert_eq!(r.outputs.get("exit-code").map(String::as_str), Some("2"));
    assert!(!r.outputs.contains_key("sarif-path"), "{:?}", r.outputs);
    assert_eq!(gate(&a, &r.outputs), Some(2));

    // Stage 2 of the fork pattern writes no SARIF at all.
    let r = review(&a, &[("post-artifact", "art")], 1, true);
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    assert_eq!(r.outputs.get("exit-code").map(String::as_str), Some("1"));
    assert!(!r.outputs.contains_key("sarif-path"), "{:?}", r.outputs);
    assert!(r.args.windows(2).any(|w| w[0] == "--post-artifact" && w[1] == "art"), "{:?}", r.args);
    assert!(!r.args.iter().any(|x| x == "--sarif-file"), "{:?}", r.args);
}

#[test]
fn inputs_become_flags() {
    let a = action();
    let r = review(
        &a,
        &[
            ("paths", "k8s/base\nk8s/prod apps"),
            ("fail-on", "high"),
            ("select", "SEC001,REL"),
            ("dry-run", "true"),
            ("open-fix-pr", "true"),
        ],
        0,
        true,
    );
    assert_eq!(r.run.code, Some(0), "{}", r.run.stderr);
    let joined = r.args.join(" ");
    assert!(joined.starts_with("pr --token-env CLUSTERGPT_TOKEN"), "{joined}");
    assert!(joined.contains("--fail-on high"), "{joined}");
    assert!(joined.contains("--select SEC001,REL"), "{joined}");
    assert!(joined.contains("--dry-run"), "{joined}");
    assert!(joined.contains("--open-fix-pr"), "{joined}");
    assert!(joined.ends_with("-- k8s/base k8s/prod apps"), "{joined}");
    assert!(!joined.contains("--config"), "empty inputs add no flag: {joined}");
}

#[test]
fn the_gate_fails_closed_without_an_exit_code() {
    let a = action();
    assert_eq!(gate(&a, &BTreeMap::new()), Some(2));
    let ok: BTreeMap<String, String> = [("exit-code".to_string(), "0".to_string())].into();
    assert_eq!(gate(&a, &ok), Some(0));
}

/// Stubs for the install step: `curl` serves files from `$STUB_DIR` (or fails), `cargo` "builds".
const CURL_STUB: &str = r#"#!/bin/bash
out=""; url=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    -*) shift ;;
    *) url="$1"; shift ;;
  esac
done
echo "$url" >> "$STUB_LOG"
[ -n "${STUB_DIR:-}" ] && [ -f "$STUB_DIR/$(basename "$url")" ] || exit 22
cp "$STUB_DIR/$(basename "$url")" "$out"
"#;

const CARGO_STUB: &str = r#"#!/bin/bash
echo "cargo $*" >> "$STUB_LOG"
root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    *) shift ;;
  esac
done
mkdir -p "$root/bin"
printf '#!/bin/sh\necho built\n' > "$root/bin/clustergpt"
chmod +x "$root/bin/clustergpt"
"#;

struct Install {
    run: Run,
    bin_dir: PathBuf,
    github_path: String,
    log: String,
    _tmp: tempfile::TempDir,
}

/// Runs the install step; `release` is `Some(corrupt_checksum)` when a release asset exists.
fn install(version: &str, release: Option<bool>) -> Install {
    let a = action();
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = tmp.path().join("stubs");
    std::fs::create_dir(&bin).expect("stubs");
    write_exe(&bin.join("curl"), CURL_STUB);
    write_exe(&bin.join("cargo"), CARGO_STUB);
    let runner_temp = tmp.path().join("runner");
    std::fs::create_dir(&runner_temp).expect("runner temp");
    let inputs: BTreeMap<String, String> = [("version".to_string(), version.to_string())].into();
    let s = step(&a, "Install clustergpt");
    let mut env = step_env(&a, &s, &inputs, &BTreeMap::new());
    let log = tmp.path().join("log");
    let github_path = tmp.path().join("github_path");
    env.insert("RUNNER_TEMP".into(), runner_temp.display().to_string());
    env.insert("GITHUB_PATH".into(), github_path.display().to_string());
    env.insert("GITHUB_SERVER_URL".into(), "https://github.example".into());
    env.insert("GITHUB_ACTION_REPOSITORY".into(), "clustergpt/clustergpt".into());
    env.insert("STUB_LOG".into(), log.display().to_string());
    if let Some(bad) = release {
        let dir = tmp.path().join("release");
        std::fs::create_dir(&dir).expect("release dir");
        make_release(&dir, &target(), bad);
        env.insert("STUB_DIR".into(), dir.display().to_string());
    }
    let run = run_step(&s, &env, &bin, tmp.path());
    Install {
        run,
        bin_dir: runner_temp.join("clustergpt-bin"),
        github_path: std::fs::read_to_string(&github_path).unwrap_or_default(),
        log: std::fs::read_to_string(&log).unwrap_or_default(),
        _tmp: tmp,
    }
}

/// The release target the install step picks on this machine.
fn target() -> String {
    let arch = Command::new("uname").arg("-m").output().expect("uname");
    let os = Command::new("uname").arg("-s").output().expect("uname");
    let arch = String::from_utf8_lossy(&arch.stdout).trim().to_string();
    let os = String::from_utf8_lossy(&os.stdout).trim().to_string();
    match (os.as_str(), arch.as_str()) {
        ("Linux", "x86_64") => "x86_64-unknown-linux-gnu",
        ("Linux", "aarch64" | "arm64") => "aarch64-unknown-linux-gnu",
        ("Darwin", "arm64") => "aarch64-apple-darwin",
        ("Darwin", "x86_64") => "x86_64-apple-darwin",
        _ => "",
    }
    .to_string()
}

/// Writes `clustergpt-<target>.tar.gz` and its `.sha256` into `dir` (a corrupted sum when `bad`).
fn make_release(dir: &Path, target: &str, bad: bool) {
    let exe = dir.join("clustergpt");
    write_exe(&exe, "#!/bin/sh\necho released\n");
    let asset = format!("clustergpt-{target}.tar.gz");
    let ok = Command::new("tar").args(["-czf", &asset, "clustergpt"]).current_dir(dir).status().expect("tar");
    assert!(ok.success());
    std::fs::remove_file(&exe).expect("rm");
    let sum = Command::new("sha256sum").arg(&asset).current_dir(dir).output().expect("sha256sum");
    let mut line = String::from_utf8_lossy(&sum.stdout).into_owned();
    if bad {
        line.replace_range(0..1, if line.starts_with('0') { "1" } else { "0" });
    }
    std::fs::write(dir.join(format!("{asset}.sha256")), line).expect("write sum");
}

#[test]
fn install_uses_the_release_binary_when_its_checksum_matches() {
    if target().is_empty() {
        return;
    }
    let i = install("v9.9.9", Some(false));
    assert_eq!(i.run.code, Some(0), "{}{}", i.run.stdout, i.run.stderr);
    assert!(i.log.contains("/releases/download/v9.9.9/clustergpt-"), "{}", i.log);
    assert!(!i.log.contains("cargo"), "{}", i.log);
    let out = Command::new(i.bin_dir.join("clustergpt")).output().expect("run installed");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "released");
    assert_eq!(i.github_path.trim(), i.bin_dir.display().to_string());
}

#[test]
fn install_refuses_a_release_binary_with_a_wrong_checksum() {
    if target().is_empty() {
        return;
    }
    let i = install("v9.9.9", Some(true));
    assert_ne!(i.run.code, Some(0), "{}{}", i.run.stdout, i.run.stderr);
    assert!(!i.bin_dir.join("clustergpt").exists());
    assert!(i.github_path.is_empty(), "{}", i.github_path);
}

#[test]
fn install_builds_from_source_without_a_release() {
    let i = install("", None);
    assert_eq!(i.run.code, Some(0), "{}{}", i.run.stdout, i.run.stderr);
    // The default version is the one in Cargo.toml next to action.yml.
    let manifest = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).expect("toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \"").and_then(|r| r.strip_suffix('"')))
        .expect("version");
    if !target().is_empty() {
        assert!(i.log.contains(&format!("/releases/download/v{version}/")), "{}", i.log);
    }
    assert!(i.log.contains("cargo install --locked --root"), "{}", i.log);
    assert!(i.run.stdout.contains("::notice::No release binary"), "{}", i.run.stdout);
    let out = Command::new(i.bin_dir.join("clustergpt")).output().expect("run installed");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "built");
    assert_eq!(i.github_path.trim(), i.bin_dir.display().to_string());
}

/// The cache key of a source build: stable for the same sources, new when any source changes.
#[test]
fn the_source_build_cache_key_follows_the_sources() {
    let a = action();
    let s = step(&a, "Source build cache key");
    let key = |action_path: &Path| {
        let tmp = tempfile::tempdir().expect("tmp");
        let out = tmp.path().join("out");
        let mut env = step_env(&a, &s, &BTreeMap::new(), &BTreeMap::new());
        env.insert("ACTION_PATH".into(), action_path.display().to_string());
        env.insert("GITHUB_OUTPUT".into(), out.display().to_string());
        let run = run_step(&s, &env, tmp.path(), tmp.path());
        assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
        outputs(&out).get("key").cloned().expect("key output")
    };
    let src = tempfile::tempdir().expect("src");
    std::fs::create_dir(src.path().join("src")).expect("mkdir");
    std::fs::create_dir(src.path().join("assets")).expect("mkdir");
    for (f, t) in [
        ("Cargo.toml", "[package]\n"),
        ("Cargo.lock", "# lock\n"),
        ("src/main.rs", "fn main() {}\n"),
        ("assets/font.ttf", "glyphs"),
    ] {
        std::fs::write(src.path().join(f), t).expect("write");
    }
    let first = key(src.path());
    assert!(first.starts_with("clustergpt-build-") && first.len() > 30, "{first}");
    assert_eq!(key(src.path()), first);
    std::fs::write(src.path().join("src/main.rs"), "fn main() { }\n").expect("write");
    let second = key(src.path());
    assert_ne!(second, first);
    // The embedded assets (the PDF report's fonts) are sources too.
    std::fs::write(src.path().join("assets/font.ttf"), "other glyphs").expect("write");
    assert_ne!(key(src.path()), second);
    // The real action's sources give a key too.
    assert!(key(Path::new(env!("CARGO_MANIFEST_DIR"))).starts_with("clustergpt-build-"));
}

#[test]
fn install_uses_a_cached_source_build_without_downloading_or_building() {
    let a = action();
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = tmp.path().join("stubs");
    std::fs::create_dir(&bin).expect("stubs");
    write_exe(&bin.join("curl"), CURL_STUB);
    write_exe(&bin.join("cargo"), CARGO_STUB);
    let runner_temp = tmp.path().join("runner");
    std::fs::create_dir_all(runner_temp.join("clustergpt-build/bin")).expect("cache dir");
    write_exe(&runner_temp.join("clustergpt-build/bin/clustergpt"), "#!/bin/sh\necho cached\n");
    let s = step(&a, "Install clustergpt");
    let mut env = step_env(&a, &s, &BTreeMap::new(), &BTreeMap::new());
    let log = tmp.path().join("log");
    let github_path = tmp.path().join("github_path");
    env.insert("RUNNER_TEMP".into(), runner_temp.display().to_string());
    env.insert("GITHUB_PATH".into(), github_path.display().to_string());
    env.insert("GITHUB_SERVER_URL".into(), "https://github.example".into());
    env.insert("STUB_LOG".into(), log.display().to_string());
    let run = run_step(&s, &env, &bin, tmp.path());
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "", "neither curl nor cargo runs");
    let out = Command::new(runner_temp.join("clustergpt-bin/clustergpt")).output().expect("run installed");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "cached");
    assert_eq!(
        std::fs::read_to_string(&github_path).unwrap_or_default().trim(),
        runner_temp.join("clustergpt-bin").display().to_string()
    );
}

/// Every step that runs a script is covered above; a new one needs a test here too.
#[test]
fn every_script_step_is_tested() {
    let a = action();
    let scripted: Vec<String> = steps(&a).iter().filter(|s| s.get("run").is_some()).map(|s| text(&s["name"])).collect();
    assert_eq!(scripted, ["Source build cache key", "Install clustergpt", "Review the pull request", "Gate"]);
    for s in steps(&a).iter().filter(|s| s.get("run").is_some()) {
        assert_eq!(s.get("shell").and_then(Value::as_str), Some("bash"), "{s}");
    }
}
