//! The HTML report: one self-contained file from the shared view model, through a handlebars
//! template compiled into the binary (`templates/report.html.hbs`, `templates/diff.html.hbs`).
//!
//! No JavaScript, nothing fetched (inline CSS, inline SVG charts drawn here, no fonts or images),
//! collapsible parts with `<details>`, a table of contents with anchors, light and dark colours
//! from `prefers-color-scheme`, and a print layout. Every value goes through the HTML escape
//! (handlebars' `{{x}}` and [`escape`] in the helpers and charts): object names and messages are data.

use std::fmt::Write as _;

use handlebars::{Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason};
use serde::Serialize;

use crate::audit::Audit;
use crate::diff::Diff;
use crate::model::Severity;
use crate::report::view::{self, DiffReport, Report};

const TEMPLATE: &str = include_str!("templates/report.html.hbs");
const DIFF_TEMPLATE: &str = include_str!("templates/diff.html.hbs");
const CSS: &str = include_str!("templates/report.css");

/// Renders the HTML report of an audit.
///
/// # Errors
/// When the template fails to render.
pub fn render(audit: &Audit) -> anyhow::Result<String> {
    render_report(&Report::of(audit))
}

/// Renders the HTML report of a view.
///
/// # Errors
/// When the template fails to render.
pub fn render_report(report: &Report) -> anyhow::Result<String> {
    let charts = Charts {
        severity_by_area: severity_by_area(&report.executive.area_severity),
        cost_by_namespace: report.cost.as_ref().and_then(cost_by_namespace),
        requests_vs_usage: report.cost.as_ref().and_then(|c| requests_vs_usage(&c.nodes)),
    };
    render_with(TEMPLATE, &Page { r: report, charts, css: CSS, version: env!("CARGO_PKG_VERSION") })
}

/// Renders the HTML report of a diff.
///
/// # Errors
/// When the template fails to render.
pub fn render_diff(diff: &Diff) -> anyhow::Result<String> {
    let report = DiffReport::of(diff);
    let chart = cost_delta(&report.changed, &report.currency);
    render_with(DIFF_TEMPLATE, &DiffPage { r: &report, chart, css: CSS, version: env!("CARGO_PKG_VERSION") })
}

#[derive(Serialize)]
struct Page<'a> {
    r: &'a Report,
    charts: Charts,
    css: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct DiffPage<'a> {
    r: &'a DiffReport,
    chart: Option<String>,
    css: &'static str,
    version: &'static str,
}

/// Inline SVG documents (already escaped); absent when there is nothing to draw.
#[derive(Serialize)]
struct Charts {
    severity_by_area: Option<String>,
    cost_by_namespace: Option<String>,
    requests_vs_usage: Option<String>,
}

fn render_with(template: &str, data: &impl Serialize) -> anyhow::Result<String> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(escape);
    hb.register_helper("inline", Box::new(inline_helper));
    hb.register_helper("loc", Box::new(loc_helper));
    hb.register_helper("plural", Box::new(plural_helper));
    hb.register_template_string("t", template)?;
    Ok(hb.render("t", data)?)
}

/// Escapes text for HTML element content and quoted attributes; control characters (other than
/// line breaks and tabs) become U+FFFD.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            '\r' => {}
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Text whose `backticked` parts are code (as rule messages write them); unbalanced backticks
/// stay text.
#[must_use]
pub fn inline(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for (i, p) in parts.iter().enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(p));
        } else {
            out.push_str(&escape(p));
        }
    }
    out
}

fn param_str<'a>(h: &'a Helper, i: usize, name: &'static str) -> Result<&'a str, RenderErrorReason> {
    let v = h.param(i).ok_or(RenderErrorReason::ParamNotFoundForIndex(name, i))?;
    Ok(v.value().as_str().unwrap_or_default())
}

/// `{{inline text}}`: escaped text with `<code>` for its backticked parts.
fn inline_helper(h: &Helper, _: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let s = param_str(h, 0, "inline")?;
    out.write(&inline(s))?;
    Ok(())
}

/// `{{loc location}}`: a place as code, `context NAME` for live objects.
fn loc_helper(h: &Helper, _: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let v = h.param(0).ok_or(RenderErrorReason::ParamNotFoundForIndex("loc", 0))?.value();
    let text = v.get("text").and_then(|t| t.as_str()).unwrap_or_default();
    let context = v.get("context").and_then(serde_json::Value::as_bool).unwrap_or(false);
    let prefix = if context { "context " } else { "" };
    out.write(&format!("{prefix}<code>{}</code>", escape(text)))?;
    Ok(())
}

/// `{{plural n "word"}}`: `1 word`, `2 words`.
fn plural_helper(h: &Helper, _: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let n = h.param(0).and_then(|v| v.value().as_u64()).unwrap_or(0);
    let word = param_str(h, 1, "plural")?;
    out.write(&escape(&format!("{n} {word}{}", if n == 1 { "" } else { "s" })))?;
    Ok(())
}

/// Severity colours, readable on light and dark backgrounds.
fn severity_colour(key: &str) -> &'static str {
    match key {
        "critical" => "#b3261e",
        "high" => "#e8710a",
        "medium" => "#d4a200",
        "low" => "#1a73e8",
        _ => "#7f8c8d",
    }
}

const CHART_WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 170.0;
const VALUE_WIDTH: f64 = 110.0;
const ROW: f64 = 26.0;

/// An `<svg>` with a title and description for screen readers.
fn svg_open(out: &mut String, id: &str, height: f64, title: &str, desc: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" role="img" viewBox="0 0 {CHART_WIDTH} {height}" width="{CHART_WIDTH}" height="{height}" aria-labelledby="{id}-t {id}-d"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        escape(title),
        escape(desc)
    );
}

/// Shortens a label to `max` characters with an ellipsis.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// Stacked horizontal bars: findings per area, one segment per severity.
fn severity_by_area(rows: &[view::AreaSeverity]) -> Option<String> {
    let max = rows.iter().map(|r| r.counts.iter().map(|c| c.count).sum::<usize>()).max()?;
    if max == 0 {
        return None;
    }
    let legend = 24.0;
    let height = legend + ROW * rows.len() as f64 + 6.0;
    let desc: Vec<String> = rows
        .iter()
        .map(|r| {
            let parts: Vec<String> =
                r.counts.iter().filter(|c| c.count > 0).map(|c| format!("{} {}", c.count, c.key)).collect();
            format!("{}: {}", r.area, parts.join(", "))
        })
        .collect();
    let mut out = String::new();
    svg_open(&mut out, "chart-severity", height, "Findings by area and severity", &desc.join("; "));
    let mut x = 0.0;
    for sev in Severity::ALL {
        let _ = write!(
            out,
            r#"<rect x="{x}" y="4" width="12" height="12" fill="{}"/><text x="{}" y="14" class="legend">{}</text>"#,
            severity_colour(sev.as_str()),
            x + 16.0,
            sev.as_str()
        );
        x += 90.0;
    }
    let span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    for (i, r) in rows.iter().enumerate() {
        let y = legend + ROW * i as f64;
        let _ = write!(out, r#"<text x="0" y="{}" class="label">{}</text>"#, y + 16.0, escape(&clip(&r.area, 22)));
        let mut x = LABEL_WIDTH;
        let mut total = 0;
        for c in r.counts.iter().filter(|c| c.count > 0) {
            let w = span * c.count as f64 / max as f64;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{}" width="{w:.1}" height="18" fill="{}"><title>{}: {} {}</title></rect>"#,
                y + 2.0,
                severity_colour(&c.key),
                escape(&r.area),
                c.count,
                c.key
            );
            x += w;
            total += c.count;
        }
        let _ = write!(out, r#"<text x="{:.1}" y="{}" class="value">{total}</text>"#, x + 6.0, y + 16.0);
    }
    out.push_str("</svg>");
    Some(out)
}

/// Horizontal bars: monthly cost per namespace, most expensive first.
fn cost_by_namespace(c: &view::CostView) -> Option<String> {
    let mut rows: Vec<&view::CostNamespaceRow> = c.namespaces.iter().collect();
    rows.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.namespace.cmp(&b.namespace)));
    let max = rows.first()?.value;
    if max <= 0.0 {
        return None;
    }
    let height = ROW * rows.len() as f64 + 6.0;
    let desc: Vec<String> = rows.iter().map(|r| format!("{}: {}", r.namespace, r.monthly)).collect();
    let mut out = String::new();
    svg_open(&mut out, "chart-cost", height, &format!("Monthly cost by namespace ({})", c.currency), &desc.join("; "));
    let span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    for (i, r) in rows.iter().enumerate() {
        let y = ROW * i as f64;
        let w = (span * r.value / max).max(1.0);
        let _ = write!(
            out,
            r#"<text x="0" y="{}" class="label">{}</text><rect x="{LABEL_WIDTH}" y="{}" width="{w:.1}" height="18" class="bar"><title>{}: {}</title></rect><text x="{:.1}" y="{}" class="value">{}</text>"#,
            y + 16.0,
            escape(&clip(&r.namespace, 22)),
            y + 2.0,
            escape(&r.namespace),
            escape(&r.monthly),
            LABEL_WIDTH + w + 6.0,
            y + 16.0,
            escape(&r.monthly)
        );
    }
    out.push_str("</svg>");
    Some(out)
}

/// Per node: vCPU allocatable (track), requested and used (when the metrics API answered).
fn requests_vs_usage(nodes: &[view::NodeRow]) -> Option<String> {
    let rows: Vec<&view::NodeRow> = nodes.iter().filter(|n| n.cpu_values.2.is_some()).collect();
    let max =
        rows.iter().map(|n| n.cpu_values.1.max(n.cpu_values.0).max(n.cpu_values.2.unwrap_or(0.0))).fold(0.0, f64::max);
    if rows.is_empty() || max <= 0.0 {
        return None;
    }
    let row = ROW * 1.5;
    let legend = 24.0;
    let height = legend + row * rows.len() as f64 + 6.0;
    let desc: Vec<String> = rows
        .iter()
        .map(|n| {
            let (req, alloc, used) = n.cpu_values;
            format!("{}: {req:.2} vCPU requested, {:.2} used, {alloc:.2} allocatable", n.node, used.unwrap_or(0.0))
        })
        .collect();
    let mut out = String::new();
    svg_open(&mut out, "chart-usage", height, "vCPU requested and used per node", &desc.join("; "));
    out.push_str(r#"<rect x="0" y="4" width="12" height="12" class="bar"/><text x="16" y="14" class="legend">requested</text><rect x="110" y="4" width="12" height="12" class="used"/><text x="126" y="14" class="legend">used</text><rect x="200" y="4" width="12" height="12" class="track"/><text x="216" y="14" class="legend">allocatable</text>"#);
    let span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    for (i, n) in rows.iter().enumerate() {
        let (req, alloc, used) = n.cpu_values;
        let used = used.unwrap_or(0.0);
        let y = legend + row * i as f64;
        let _ = write!(
            out,
            r#"<text x="0" y="{}" class="label">{}</text><rect x="{LABEL_WIDTH}" y="{}" width="{:.1}" height="30" class="track"/><rect x="{LABEL_WIDTH}" y="{}" width="{:.1}" height="13" class="bar"><title>{}: {req:.2} vCPU requested</title></rect><rect x="{LABEL_WIDTH}" y="{}" width="{:.1}" height="13" class="used"><title>{}: {used:.2} vCPU used</title></rect><text x="{:.1}" y="{}" class="value">{req:.2} / {used:.2} / {alloc:.2}</text>"#,
            y + 20.0,
            escape(&clip(&n.node, 22)),
            y + 2.0,
            span * alloc / max,
            y + 3.0,
            span * req / max,
            escape(&n.node),
            y + 17.0,
            span * used / max,
            escape(&n.node),
            LABEL_WIDTH + span * alloc.max(req).max(used) / max + 6.0,
            y + 20.0
        );
    }
    out.push_str("</svg>");
    Some(out)
}

/// Diverging bars: the monthly cost change per workload (increases right, savings left).
fn cost_delta(rows: &[view::DeltaRow], currency: &str) -> Option<String> {
    let max = rows.iter().map(|r| r.value.abs()).fold(0.0, f64::max);
    if rows.is_empty() || max <= 0.0 {
        return None;
    }
    let height = ROW * rows.len() as f64 + 6.0;
    let desc: Vec<String> = rows.iter().map(|r| format!("{} ({}): {}", r.object, r.status, r.delta)).collect();
    let mut out = String::new();
    svg_open(
        &mut out,
        "chart-delta",
        height,
        &format!("Monthly cost change per workload ({currency})"),
        &desc.join("; "),
    );
    let label = 230.0;
    let half = (CHART_WIDTH - label - VALUE_WIDTH) / 2.0;
    let zero = label + half;
    let _ = write!(out, r#"<line x1="{zero}" y1="0" x2="{zero}" y2="{height}" class="axis"/>"#);
    for (i, r) in rows.iter().enumerate() {
        let y = ROW * i as f64;
        let w = (half * r.value.abs() / max).max(1.0);
        let (x, class, tx, anchor) = if r.value >= 0.0 {
            (zero, "up", zero + w + 4.0, "start")
        } else {
            (zero - w, "down", zero + 4.0, "start")
        };
        let _ = write!(
            out,
            r#"<text x="0" y="{}" class="label">{}</text><rect x="{x:.1}" y="{}" width="{w:.1}" height="18" class="{class}"><title>{}: {}</title></rect><text x="{tx:.1}" y="{}" class="value" text-anchor="{anchor}">{}</text>"#,
            y + 16.0,
            escape(&clip(&r.object, 32)),
            y + 2.0,
            escape(&r.object),
            escape(&r.delta),
            y + 16.0,
            escape(&r.delta)
        );
    }
    out.push_str("</svg>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_and_inline_neutralize_markup() {
        assert_eq!(escape("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert(1)&gt;");
        assert_eq!(escape("a\"b'c&\u{1b}"), "a&quot;b&#39;c&amp;\u{fffd}");
        assert_eq!(inline("set `<b>` now"), "set <code>&lt;b&gt;</code> now");
        assert_eq!(inline("odd ` tick <"), "odd ` tick &lt;");
    }

    #[test]
    fn charts_have_titles_and_escape_labels() {
        let rows = vec![view::AreaSeverity {
            area: "<script>".to_string(),
            counts: vec![view::Count { name: "High".into(), key: "high".into(), count: 2 }],
        }];
        let svg = severity_by_area(&rows).expect("chart");
        assert!(svg.contains("<title id=\"chart-severity-t\">Findings by area and severity</title>"));
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(severity_by_area(&[]).is_none());
    }
}
