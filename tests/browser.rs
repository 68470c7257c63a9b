//! The HTML report in a real browser: headless Chromium renders the demo report to a PNG, as
//! written (its own Content-Security-Policy, `default-src 'none'`, lets no script run) and under
//! Jenkins' default CSP for published HTML (no scripts and no inline styles either), and prints
//! it to PDF as a cross-check. Chromium's `--blink-settings=scriptEnabled=false` cannot be used:
//! headless capture itself then writes nothing; the page's CSP blocks scripts instead. Skipped with a message when
//! Chromium is not installed, unless `CLUSTERGPT_REQUIRE_CHROMIUM` is set (`.ci/run` sets it and
//! installs Debian's `chromium`). `CLUSTERGPT_WRITE_SCREENSHOT=1` also refreshes
//! `docs/report-first-screen.png`, the README's picture.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Chromium, or `None` after saying why the test is skipped (a failure when it is required).
fn browser_or_skip() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("CLUSTERGPT_REQUIRE_CHROMIUM").is_none(),
            "CLUSTERGPT_REQUIRE_CHROMIUM is set but no chromium is on PATH (apt-get install chromium)"
        );
        eprintln!(
            "skipped: chromium is not installed (apt-get install chromium); set CLUSTERGPT_REQUIRE_CHROMIUM to fail instead"
        );
    }
    found
}

/// Runs a command with a deadline, killing it (by its handle) when it hangs.
fn run(cmd: &mut Command, limit: Duration) -> bool {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.success();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish in {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn demo_report(dir: &Path) -> PathBuf {
    let out = dir.join("demo.html");
    let status = Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["analyze", "--no-config", "examples/demo-app", "--format"])
        .arg(format!("html={}", out.display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run clustergpt");
    assert_eq!(status.code(), Some(0));
    out
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        // Offline: the report must not need the network.
        .arg("--proxy-server=127.0.0.1:9")
        .arg("--window-size=1280,1000");
    c
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn demo_report_renders_in_chromium_with_scripts_and_inline_styles_blocked() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let html = demo_report(dir.path());
    let page = std::fs::read_to_string(&html).expect("report");
    assert!(page.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""), "the page blocks scripts");
    // Jenkins' default CSP for archived HTML, as a second policy (both apply).
    let jenkins = dir.path().join("jenkins.html");
    let csp = r#"<head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; style-src 'self'">"#;
    std::fs::write(&jenkins, page.replacen("<head>", csp, 1)).expect("write");
    for (name, file) in [("report.png", &html), ("jenkins.png", &jenkins)] {
        let png = dir.path().join(name);
        let mut c = headless(&browser, &dir.path().join(format!("profile-{name}")));
        c.arg(format!("--screenshot={}", png.display())).arg(format!("file://{}", file.display()));
        assert!(run(&mut c, Duration::from_secs(90)), "chromium failed ({name})");
        let bytes = std::fs::read(&png).expect("screenshot written");
        assert_eq!(png_size(&bytes), (1280, 1000), "{name}");
        // A blank or unstyled error page compresses to a few KB; the report's first screen does not.
        assert!(bytes.len() > 30_000, "{name}: {} bytes, nothing rendered?", bytes.len());
        if name == "report.png" && std::env::var_os("CLUSTERGPT_WRITE_SCREENSHOT").is_some() {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-first-screen.png");
            std::fs::copy(&png, docs).expect("write docs screenshot");
        }
    }
}

#[test]
fn demo_report_prints_to_pdf_in_chromium() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let html = demo_report(dir.path());
    let pdf = dir.path().join("demo.pdf");
    let mut c = headless(&browser, &dir.path().join("profile"));
    c.arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()));
    assert!(run(&mut c, Duration::from_secs(90)), "chromium failed to print");
    let bytes = std::fs::read(&pdf).expect("pdf written");
    assert!(bytes.starts_with(b"%PDF-") && bytes.len() > 20_000, "{} bytes", bytes.len());
    // With poppler's pdftotext, the printed text has every level and every finding's rule.
    let Ok(out) = Command::new("pdftotext").arg(&pdf).arg("-").output() else {
        eprintln!("pdftotext not installed (poppler-utils): text not checked");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    for heading in ["Executive summary", "SRE action list", "Details", "SEC001"] {
        assert!(text.contains(heading), "{heading} missing from the printed report");
    }
}
