//! The PDF report, produced by the binary itself: deterministic bytes, and read back with
//! poppler (`pdftotext`, `pdfinfo`, `pdftoppm`): the executive summary and every finding id of
//! the demo app are in the text, the page count is the document's own, page 1 renders; the same
//! for the diff PDF; Letter paper; compressed streams; the requests-vs-usage chart. The
//! poppler checks skip with a message when poppler-utils is missing, unless
//! `CLUSTERGPT_REQUIRE_CHROMIUM` is set (`.ci/run` installs both and sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::diff::Diff;
use clustergpt::report::pdf::{self, Options, Paper};
use clustergpt::report::view::DiffReport;
use clustergpt::source;
use clustergpt::yaml::Limits;

fn demo() -> Audit {
    audit_of(&["examples/demo-app"])
}

fn audit_of(paths: &[&str]) -> Audit {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let input = source::load_paths(&paths, &mut std::io::empty(), Limits::default());
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
    let bytes = pdf::render(&a, &pdf::Options::at("2026-01-01")).expect("pdf");
    assert_eq!(bytes, pdf::render(&a, &pdf::Options::at("2026-01-01")).expect("pdf"), "two runs, same bytes");
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
    assert!(!text.contains("2026-01-01 00:00"), "a day is shown without a time of day");
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
    let bytes = pdf::render(&a, &pdf::Options::default()).expect("pdf");
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

/// Streams are FlateDecode: no page operator is readable in the file, and each stream inflates.
#[test]
fn streams_are_compressed_and_inflate() {
    let bytes = pdf::render(&demo(), &Options::at("2026-01-01")).expect("pdf");
    assert!(!bytes.windows(3).any(|w| w == b"BT "), "a content stream is not compressed");
    let mut inflated = 0;
    let mut rest = &bytes[..];
    while let Some(at) = rest.windows(7).position(|w| w == b"stream\n") {
        let body = &rest[at + 7..];
        let end = body.windows(10).position(|w| w == b"\nendstream").expect("endstream");
        let data = miniz_oxide::inflate::decompress_to_vec_zlib(&body[..end]).expect("inflates");
        assert!(!data.is_empty());
        inflated += 1;
        rest = &body[end + 10..];
    }
    // 3 fonts × (ToUnicode + font file) + at least 3 pages.
    assert!(inflated >= 9, "{inflated} streams");
}

#[test]
fn letter_paper_and_a_read_time() {
    let opts = Options { paper: Paper::Letter, time: Some("2026-12-02T08:23:05Z".to_string()) };
    let bytes = pdf::render(&demo(), &opts).expect("pdf");
    let info = String::from_utf8_lossy(&bytes);
    assert!(info.contains("/MediaBox [0 0 612 792]"), "letter media box");
    assert!(info.contains("/CreationDate (D:20261202082305Z)"), "creation date from the read time");
    if !poppler("pdfinfo") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("letter.pdf");
    std::fs::write(&file, &bytes).expect("write");
    let info = run("pdfinfo", &[&file], &[]);
    assert!(info.contains("612 x 792 pts (letter)"), "{info}");
    let text = run("pdftotext", &[&file, Path::new("-")], &["-layout"]);
    assert!(text.contains("2026-12-02 08:23 UTC"), "the header shows the read time");
}

/// A diff with new and resolved findings and a cost change both ways: api.yaml leaves, frontend
/// and storage arrive.
fn demo_diff() -> Diff {
    let base = audit_of(&["examples/demo-app/namespace.yaml", "examples/demo-app/api.yaml"]);
    let head = audit_of(&[
        "examples/demo-app/namespace.yaml",
        "examples/demo-app/frontend.yaml",
        "examples/demo-app/storage.yaml",
    ]);
    Diff::new(&base, &head).labeled("before".to_string(), "after".to_string())
}

#[test]
fn diff_pdf_is_deterministic_and_reads_back() {
    let d = demo_diff();
    assert!(!d.new.is_empty() && !d.resolved.is_empty(), "the fixture has both");
    let r = DiffReport::of(&d);
    assert!(r.changed.iter().any(|w| w.value < 0.0), "a saving");
    let bytes = pdf::render_diff(&r, &Options::at("2026-01-01")).expect("pdf");
    assert_eq!(bytes, pdf::render_diff(&r, &Options::at("2026-01-01")).expect("pdf"), "two runs, same bytes");
    if !poppler("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("diff.pdf");
    std::fs::write(&file, &bytes).expect("write");
    let text = run("pdftotext", &[&file, Path::new("-")], &["-layout"]);
    for needle in [
        "Executive summary",
        "Monthly cost change per workload",
        "Cost changes",
        "New findings",
        "Resolved findings",
        "Before and after",
        "Page 1 of",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    for f in d.new.iter().chain(&d.resolved) {
        assert!(text.contains(&f.fingerprint), "finding {} {} missing", f.rule, f.fingerprint);
    }
    assert!(!text.contains('?'), "no unmapped character (the verdict's emoji is left out):\n{text}");
    let png = dir.path().join("page");
    run("pdftoppm", &[&file, &png], &["-png", "-r", "40", "-f", "1", "-l", "1", "-q"]);
    assert!(
        std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("page")),
        "pdftoppm rendered no page 1"
    );
}

#[test]
fn requests_vs_usage_when_metrics_answered() {
    let mut a = demo();
    for (i, used) in [Some(1.5), None, Some(0.25)].into_iter().enumerate() {
        a.cost.nodes.push(clustergpt::cost::NodeCost {
            context: Some("prod".to_string()),
            name: format!("node-{i}"),
            instance_type: Some("m5.xlarge".to_string()),
            region: None,
            zone: None,
            cpu_allocatable: 4.0,
            memory_allocatable_gib: 16.0,
            cpu_requested: 2.0,
            memory_requested_gib: 8.0,
            cpu_used: used,
            memory_used_gib: used.map(|u| u * 2.0),
            pods: 7,
            monthly: 140.0,
            idle_monthly: 70.0,
            priced_by: "instance type".to_string(),
        });
    }
    let bytes = pdf::render(&a, &Options::at("2026-01-01")).expect("pdf");
    if !poppler("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("usage.pdf");
    std::fs::write(&file, &bytes).expect("write");
    let text = run("pdftotext", &[&file, Path::new("-")], &["-layout"]);
    assert!(text.contains("vCPU requested and used per node"), "{text}");
    assert!(text.contains("2.00 / 1.50 / 4.00") && text.contains("2.00 / 0.25 / 4.00"), "{text}");
    assert!(!text.contains("2.00 / 0.00 / 4.00"), "a node without usage is not charted");
    assert!(text.contains("node-1"), "every node is in the nodes table");
}

/// The CLI: `SOURCE_DATE_EPOCH` dates files' reports (same bytes on any day), a bad one is an
/// error, `--paper letter` and `diff --format pdf=PATH` write PDFs, a PDF never goes to stdout.
#[test]
fn cli_writes_reproducible_pdfs() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = env!("CARGO_BIN_EXE_clustergpt");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-app");
    let cli = |args: &[&str], epoch: &str| {
        Command::new(bin).args(args).current_dir(dir.path()).env("SOURCE_DATE_EPOCH", epoch).output().expect("run")
    };
    let demo = demo.to_str().expect("utf-8 path");
    for name in ["a.pdf", "b.pdf"] {
        let out = cli(
            &["analyze", demo, "--no-config", "--format", &format!("pdf={name}"), "--paper", "letter"],
            "1767225600",
        );
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let a = std::fs::read(dir.path().join("a.pdf")).expect("a");
    assert_eq!(a, std::fs::read(dir.path().join("b.pdf")).expect("b"), "same input, same epoch, same bytes");
    let text = String::from_utf8_lossy(&a);
    assert!(text.contains("/CreationDate (D:20260101000000Z)") && text.contains("/MediaBox [0 0 612 792]"));
    let bad = cli(&["analyze", demo, "--no-config", "--format", "pdf=c.pdf"], "tomorrow");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("SOURCE_DATE_EPOCH must be seconds"));
    let diff = cli(&["diff", "--no-config", "--base-dir", demo, "--head-dir", demo, "--format", "pdf=d.pdf"], "0");
    assert_eq!(diff.status.code(), Some(0), "{}", String::from_utf8_lossy(&diff.stderr));
    assert!(std::fs::read(dir.path().join("d.pdf")).expect("d").starts_with(b"%PDF-1.7"));
    let stdout = cli(&["diff", "--no-config", "--base-dir", demo, "--head-dir", demo, "--format", "pdf"], "0");
    assert_eq!(stdout.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stdout.stderr).contains("give it a path"));
}
