//! The PDF report, produced by the binary itself: deterministic bytes, and read back with
//! poppler (`pdftotext`, `pdfinfo`, `pdftoppm`): the executive summary and every finding id of
//! the demo app are in the text, the page count is the document's own, page 1 renders. The
//! poppler checks skip with a message when poppler-utils is missing, unless
//! `CLUSTERGPT_REQUIRE_CHROMIUM` is set (`.ci/run` installs both and sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::report::pdf;
use clustergpt::source;
use clustergpt::yaml::Limits;

fn demo() -> Audit {
    let input = source::load_paths(&[PathBuf::from("examples/demo-app")], &mut std::io::empty(), Limits::default());
    let opts = RunOptions { today: Some("2026-01-01".to_string()), ..RunOptions::default() };
    audit::run(input, &Config::defaults(), &opts)
}

fn poppler(tool: &str) -> bool {
    let found = Command::new(tool).arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CLUSTERGPT_REQUIRE_CHROMIUM").is_none(),
            "CLUSTERGPT_REQUIRE_CHROMIUM is set but {tool} is missing (apt-get install poppler-utils)"
        );
        eprintln!("skipped: {tool} is not installed (apt-get install poppler-utils)");
    }
    found
}

fn run(tool: &str, args: &[&Path], extra: &[&str]) -> String {
    let out = Command::new(tool).args(extra).args(args).output().expect("run poppler");
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn demo_pdf_is_deterministic_and_reads_back() {
    let a = demo();
    let bytes = pdf::render(&a, Some("2026-01-01")).expect("pdf");
    assert_eq!(bytes, pdf::render(&a, Some("2026-01-01")).expect("pdf"), "two runs, same bytes");
    assert!(bytes.starts_with(b"%PDF-1.7") && bytes.ends_with(b"%%EOF\n"));
    let own_pages = bytes.windows(b"/Type /Page /Parent".len()).filter(|w| w == b"/Type /Page /Parent").count();
    assert!((3..40).contains(&own_pages), "{own_pages} pages");
    if !poppler("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("demo.pdf");
    std::fs::write(&file, &bytes).expect("write");
    let info = run("pdfinfo", &[&file], &[]);
    let field =
        |name: &str| info.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_default().to_string();
    assert_eq!(field("Pages:"), own_pages.to_string(), "{info}");
    assert!(field("Page size:").starts_with("595.28 x 841.89 pts (A4)"), "{info}");
    assert!(field("CreationDate:").contains("2026"), "{info}");
    let text = run("pdftotext", &[&file, Path::new("-")], &["-layout"]).replace("\u{c}", "\n");
    for needle in ["Executive summary", "Risk score", "What to do first", "SRE action list", "3. Details", "Page 1 of"]
    {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    for f in &a.findings {
        assert!(text.contains(&f.fingerprint), "finding {} {} missing", f.rule, f.fingerprint);
    }
    // Every page has the header with the subject and the date.
    assert_eq!(text.matches("2026-01-01").count(), own_pages, "{text}");
    let png = dir.path().join("page");
    run("pdftoppm", &[&file, &png], &["-png", "-r", "40", "-f", "1", "-l", "1", "-q"]);
    let rendered = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("page") && e.metadata().is_ok_and(|m| m.len() > 5_000));
    assert!(rendered, "pdftoppm rendered no page 1");
}

#[test]
fn long_tables_break_across_pages_and_hostile_text_is_text() {
    let mut a = demo();
    // 400 priced workloads: the cost table spans pages, its header repeated.
    let w = a.cost.workloads[0].clone();
    for i in 0..400 {
        let mut x = w.clone();
        x.name = format!("w{i:03}-\u{1b}[31m<b>)\\(");
        a.cost.workloads.push(x);
    }
    let bytes = pdf::render(&a, None).expect("pdf");
    if !poppler("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("big.pdf");
    std::fs::write(&file, &bytes).expect("write");
    let text = run("pdftotext", &[&file, Path::new("-")], &[]);
    let headers = text.matches("Workload").count();
    assert!(headers >= 5, "the table header repeats on each page: {headers}\n{text}");
    assert!(text.contains("w399-"), "the last row is there");
}
