//! `examples/demo-app/WALKTHROUGH.md`: runs the commands of its `sh` blocks, in order, in a copy
//! of `examples/`, and compares every report they write with the committed one under
//! `examples/reports/` byte for byte (PDFs included: `SOURCE_DATE_EPOCH` fixes their date, and no
//! explainer endpoint is configured, so `--explain` is the built-in template).
//! `UPDATE_EXAMPLES=1 cargo test --test walkthrough` rewrites them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// The date the committed PDFs carry (2026-01-01T00:00:00Z).
const SOURCE_DATE_EPOCH: &str = "1767225600";

/// The commands of the walkthrough's `sh` blocks.
fn commands(doc: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            inside = line == "```sh";
            continue;
        }
        if inside && !line.trim().is_empty() {
            out.push(line.split_whitespace().map(str::to_string).collect());
        }
    }
    out
}

#[test]
fn walkthrough_outputs_are_fresh() {
    let doc = std::fs::read_to_string(root().join("examples/demo-app/WALKTHROUGH.md")).expect("walkthrough");
    let work = tempfile::tempdir().expect("tmp");
    let dir = work.path();
    copy_dir(&root().join("examples/demo-app"), &dir.join("demo-app"));
    copy_dir(&root().join("examples/demo-live"), &dir.join("demo-live"));
    std::fs::create_dir_all(dir.join("reports")).expect("mkdir");
    let cmds = commands(&doc);
    assert!(cmds.len() >= 5, "{cmds:?}");
    for cmd in &cmds {
        match cmd.first().map(String::as_str) {
            Some("cp") => {
                assert_eq!(cmd.get(1).map(String::as_str), Some("-r"), "{cmd:?}");
                copy_dir(&dir.join(&cmd[2]), &dir.join(&cmd[3]));
            }
            Some("clustergpt") => {
                let out = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
                    .args(&cmd[1..])
                    .current_dir(dir)
                    .env("NO_COLOR", "1")
                    .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
                    .env_remove("CLUSTERGPT_LLM_API_KEY")
                    .env_remove("OPENAI_API_KEY")
                    .env_remove("CLUSTERGPT_LLM_BASE_URL")
                    .env_remove("CLUSTERGPT_LLM_MODEL")
                    .output()
                    .expect("run clustergpt");
                // 0, or 1 when a gate (the diff's) failed: the reports are written either way.
                assert!(matches!(out.status.code(), Some(0 | 1)), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
            other => panic!("the walkthrough runs only clustergpt and cp, not {other:?}"),
        }
    }
    let update = std::env::var_os("UPDATE_EXAMPLES").is_some_and(|v| v == "1");
    let committed = root().join("examples/reports");
    let mut written: Vec<PathBuf> =
        std::fs::read_dir(dir.join("reports")).expect("reports").filter_map(Result::ok).map(|e| e.path()).collect();
    written.sort();
    assert!(written.len() >= 6, "{written:?}");
    for path in &written {
        let name = path.file_name().expect("name");
        let fresh = std::fs::read(path).expect("read");
        let scratch = dir.display().to_string();
        assert!(!fresh.windows(scratch.len()).any(|w| w == scratch.as_bytes()), "{name:?} holds the scratch path");
        if update {
            std::fs::write(committed.join(name), &fresh).expect("write");
            continue;
        }
        let old = std::fs::read(committed.join(name)).unwrap_or_default();
        assert!(
            old == fresh,
            "examples/reports/{} is stale; run `UPDATE_EXAMPLES=1 cargo test --test walkthrough` and commit it",
            name.to_string_lossy()
        );
    }
}
