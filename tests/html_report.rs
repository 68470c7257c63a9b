//! The HTML report: its structure for the demo app, a corpus sample and a diff (headings and
//! anchors, not the bytes of SVG paths), that it is self-contained (nothing fetched, no script),
//! and that hostile names and messages stay text.

use std::path::{Path, PathBuf};

use clustergpt::audit::{self, Audit, RunOptions};
use clustergpt::config::Config;
use clustergpt::diff::Diff;
use clustergpt::report::html;
use clustergpt::source;
use clustergpt::yaml::Limits;

fn audit_paths(paths: &[PathBuf]) -> Audit {
    let input = source::load_paths(paths, &mut std::io::empty(), Limits::default());
    let opts = RunOptions { today: Some("2026-01-01".to_string()), ..RunOptions::default() };
    audit::run(input, &Config::defaults(), &opts)
}

fn demo() -> Audit {
    // Integration tests run in the crate root, so paths stay relative and snapshots portable.
    audit_paths(&[PathBuf::from("examples/demo-app")])
}

/// The document's outline: headings, section and anchor ids, chart titles, one per line.
fn outline(html: &str) -> String {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        let end = rest.find('>').unwrap_or(rest.len() - 1);
        let tag = &rest[1..end];
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if let Some(id) = attr(tag, "id")
            && !["f-", "d-", "r-", "action-"].iter().any(|p| id.starts_with(p))
        {
            out.push(format!("{name}#{id}"));
        }
        if matches!(name.as_str(), "h1" | "h2" | "h3" | "h4" | "title") {
            let close = format!("</{name}>");
            let body_end = rest.find(&close).unwrap_or(end);
            out.push(format!("  {name}: {}", strip_tags(&rest[end + 1..body_end])));
        }
        rest = &rest[end + 1..];
    }
    out.push(format!("actions: {}", html.matches("<li id=\"action-").count()));
    out.join("\n")
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    tag[at..].split('"').next()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Nothing in the page makes a browser fetch or run anything: no such element, no event handler
/// attribute, no URL in any tag or in the style sheet, and every link is an anchor in the page.
/// (Text content is escaped, so `<` there is never a tag.)
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for tag in lower.split('<').skip(1).map(|t| t.split('>').next().unwrap_or_default()) {
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        assert!(
            !["script", "link", "img", "iframe", "object", "embed", "image", "use", "base", "form"]
                .contains(&name.as_str()),
            "element <{tag}>"
        );
        assert!(!tag.contains("http:") && !tag.contains("https:") && !tag.contains("javascript:"), "URL in <{tag}>");
        assert!(
            !tag.split_whitespace().skip(1).any(|a| a.starts_with("on") || a.starts_with("src")),
            "attribute in <{tag}>"
        );
        if let Some(href) = tag.split("href=\"").nth(1) {
            assert!(href.starts_with('#'), "a link leaves the page: <{tag}>");
        }
    }
    let style = lower.split("<style>").nth(1).and_then(|s| s.split("</style>").next()).unwrap_or_default();
    assert!(!style.contains("url(") && !style.contains("@import"), "the style sheet fetches");
}

#[test]
fn demo_report_structure() {
    let a = demo();
    assert!(!a.findings.is_empty());
    let page = html::render(&a).expect("html");
    assert_self_contained(&page);
    // The three levels, in order.
    let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("missing {s}"));
    assert!(at("id=\"summary\"") < at("id=\"actions\"") && at("id=\"actions\"") < at("id=\"details\""));
    // Every finding has an anchor, and every action's links land on one.
    for f in &a.findings {
        assert!(page.contains(&format!("id=\"f-{}\"", f.fingerprint)), "{}", f.rule);
    }
    for link in page.split("href=\"#").skip(1) {
        let target = link.split('"').next().unwrap_or_default();
        assert!(page.contains(&format!("id=\"{target}\"")), "dangling link #{target}");
    }
    assert!(page.contains("<svg class=\"chart\" role=\"img\""), "charts are inline SVG");
    insta::assert_snapshot!("demo_outline", outline(&page));
}

#[test]
fn hostile_names_and_messages_stay_text() {
    let input =
        source::load_paths(&[PathBuf::from("manifests-fixtures/report")], &mut std::io::empty(), Limits::default());
    let opts = RunOptions { today: Some("2026-01-01".to_string()), ..RunOptions::default() };
    let mut a = audit::run(input, &Config::defaults(), &opts);
    let f = a.findings.first_mut().expect("a finding");
    f.message = "<script>alert(1)</script> `\"><img src=x onerror=alert(2)>`".to_string();
    std::sync::Arc::make_mut(&mut f.object).name = "\"><svg onload=alert(3)>".to_string();
    f.evidence
        .push(clustergpt::model::Evidence { path: "</code><b>".to_string(), value: "' onmouseover='x".to_string() });
    a.cost.namespaces.push(clustergpt::cost::NamespaceCost {
        namespace: "<text>ns</text>".to_string(),
        monthly: 5.0,
        monthly_max: 5.0,
        idle_share: None,
    });
    let page = html::render(&a).expect("html");
    assert_self_contained(&page);
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "message escaped");
    assert!(page.contains("<code>&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</code>"), "code span escaped");
    assert!(page.contains("&quot;&gt;&lt;svg onload=alert(3)&gt;"), "object name escaped");
    assert!(!page.contains("<b>"), "evidence escaped");
}

#[test]
fn diff_report_has_the_cost_delta_chart() {
    let dir = |case: &str, side: &str| PathBuf::from(format!("manifests-fixtures/diff/{case}/{side}"));
    let b = audit_paths(&[dir("finding-fixed-and-introduced", "base"), dir("replicas-changed", "base")]);
    let h = audit_paths(&[dir("finding-fixed-and-introduced", "head"), dir("replicas-changed", "head")]);
    let d = Diff::new(&b, &h).labeled("base".to_string(), "head".to_string());
    let page = html::render_diff(&d).expect("html");
    assert_self_contained(&page);
    assert!(page.contains("Monthly cost change per workload"), "{page}");
    // Every workload, changed or not, as the Markdown and PDF diffs list them.
    assert!(page.contains("<summary>Every workload, before and after</summary>"), "{page}");
    let workloads = clustergpt::report::view::DiffReport::of(&d).workloads;
    assert!(workloads.len() >= 2, "{workloads:?}");
    for w in &workloads {
        assert!(page.contains(&format!("<td><code>{}</code></td>", w.object)), "{}", w.object);
    }
    insta::assert_snapshot!("diff_outline", outline(&page));
}

#[test]
fn corpus_sample_structure() {
    let dir = Path::new("../shared/corpus/real/microservices-demo");
    let dir =
        if dir.exists() { dir.to_path_buf() } else { PathBuf::from("/work/shared/corpus/real/microservices-demo") };
    if !dir.exists() {
        eprintln!("skipped: no corpus at {}", dir.display());
        return;
    }
    let a = audit_paths(std::slice::from_ref(&dir));
    let page = html::render(&a).expect("html");
    assert_self_contained(&page);
    // Paths differ by checkout; the outline names areas, kinds and counts, which do not.
    let outline: Vec<String> =
        outline(&page).lines().filter(|l| !l.trim_start().starts_with("h4:")).map(str::to_string).collect();
    insta::assert_snapshot!("corpus_microservices_demo_outline", outline.join("\n"));
}
