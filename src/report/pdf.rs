//! The PDF report, written by the binary itself from the shared view models (the audit's
//! [`Report`], the diff's [`DiffReport`]): A4 or Letter pages, a header with the subject and the
//! audit's time, page numbers, tables that break across pages (their header repeated), the charts
//! drawn as vector bars (the HTML's SVG charts, redrawn with PDF path operators rather than
//! embedded as SVG), and DejaVu fonts (assets/fonts, Bitstream Vera licence) embedded as subsets so
//! any viewer shows the same text and `pdftotext` extracts it. Content and font streams are
//! compressed (FlateDecode).
//!
//! No PDF crate: the layout is a few fixed styles (headings, wrapped paragraphs with inline code,
//! monospace blocks, tables), which is all a report needs; see BENCHMARKS.md for why (typst adds
//! ~20 CPU-minutes of build and ~45 MB; krilla leaves layout to us anyway). Bytes are
//! deterministic: objects in a fixed order, the document id a hash of the content, and the only
//! time the one given in [`Options`] (see `docs/reports.md` for where the CLI takes it from).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::audit::Audit;
use crate::report::view::{self, DiffReport, Report};

static SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
static MONO: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");

const MARGIN: f64 = 50.0;
const BOTTOM: f64 = 52.0;

/// Paper sizes (defined with the configuration, which reads `report.paper`).
pub use crate::config::Paper;

/// How a PDF is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Page size.
    pub paper: Paper,
    /// The audit's time, RFC 3339 in UTC (`2026-12-02T08:23:05Z`) or a day (`2026-12-02`): in
    /// every page header and as the creation date. None: no date at all.
    pub time: Option<String>,
}

impl Options {
    /// A4 with the given time.
    #[must_use]
    pub fn at(time: &str) -> Options {
        Options { paper: Paper::A4, time: Some(time.to_string()) }
    }
}

/// Renders the PDF report of an audit.
///
/// # Errors
/// When an embedded font cannot be read (a build problem, not an input problem).
pub fn render(audit: &Audit, opts: &Options) -> anyhow::Result<Vec<u8>> {
    render_report(&Report::of(audit), opts)
}

/// Renders the PDF report of a view.
///
/// # Errors
/// When an embedded font cannot be read.
pub fn render_report(r: &Report, opts: &Options) -> anyhow::Result<Vec<u8>> {
    let mut d = Doc::new(format!("{}: {}", r.title, r.subject), opts)?;
    layout(&mut d, r);
    Ok(d.finish())
}

/// Renders the PDF report of a diff.
///
/// # Errors
/// When an embedded font cannot be read.
pub fn render_diff(r: &DiffReport, opts: &Options) -> anyhow::Result<Vec<u8>> {
    let mut d = Doc::new(format!("{}: {} → {}", r.title, r.base, r.head), opts)?;
    layout_diff(&mut d, r);
    Ok(d.finish())
}

/// The header's text for a time: the day, with the time of day when known.
fn header_time(t: &str) -> String {
    match t.split_once('T') {
        Some((day, rest)) => format!("{day} {} UTC", rest.get(..5).unwrap_or(rest)),
        None => t.to_string(),
    }
}

/// A PDF date (`D:YYYYMMDDHHmmSSZ`, or `D:YYYYMMDD` for a day) from an RFC 3339 UTC time or a
/// day; None for anything else.
fn pdf_date(t: &str) -> Option<String> {
    let digits: String = t.trim_end_matches('Z').chars().filter(char::is_ascii_digit).collect();
    let shape_ok = t.len() >= 10 && t.as_bytes().get(4) == Some(&b'-') && t.as_bytes().get(7) == Some(&b'-');
    match digits.len() {
        8 if shape_ok && t.len() == 10 => Some(format!("D:{digits}")),
        14 if shape_ok && t.ends_with('Z') => Some(format!("D:{digits}Z")),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Fonts: just enough TrueType to measure, map characters to glyphs and subset.

struct Font {
    data: &'static [u8],
    tables: BTreeMap<[u8; 4], (usize, usize)>,
    units: f64,
    cmap: BTreeMap<u32, u16>,
    advances: Vec<u16>,
    ascent: i16,
    descent: i16,
    bbox: [i16; 4],
    /// Glyphs used, with the character each shows (for the ToUnicode map).
    used: BTreeMap<u16, char>,
}

fn u16_at(d: &[u8], at: usize) -> anyhow::Result<u16> {
    d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or_else(|| anyhow::anyhow!("font truncated"))
}

fn u32_at(d: &[u8], at: usize) -> anyhow::Result<u32> {
    d.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| anyhow::anyhow!("font truncated"))
}

impl Font {
    fn parse(data: &'static [u8]) -> anyhow::Result<Font> {
        let n = usize::from(u16_at(data, 4)?);
        let mut tables = BTreeMap::new();
        for i in 0..n {
            let rec = 12 + 16 * i;
            let tag: [u8; 4] = data.get(rec..rec + 4).and_then(|t| t.try_into().ok()).unwrap_or_default();
            tables.insert(tag, (u32_at(data, rec + 8)? as usize, u32_at(data, rec + 12)? as usize));
        }
        let t = |tag: &[u8; 4]| tables.get(tag).copied().ok_or_else(|| anyhow::anyhow!("font lacks a table"));
        let (head, _) = t(b"head")?;
        let (hhea, _) = t(b"hhea")?;
        let (maxp, _) = t(b"maxp")?;
        let (hmtx, _) = t(b"hmtx")?;
        let (cmap, _) = t(b"cmap")?;
        let units = f64::from(u16_at(data, head + 18)?);
        let i16_at = |at: usize| u16_at(data, at).map(|v| v as i16);
        let bbox = [i16_at(head + 36)?, i16_at(head + 38)?, i16_at(head + 40)?, i16_at(head + 42)?];
        let num_glyphs = usize::from(u16_at(data, maxp + 4)?);
        let metrics = usize::from(u16_at(data, hhea + 34)?);
        let mut advances = Vec::with_capacity(num_glyphs);
        for g in 0..num_glyphs {
            advances.push(u16_at(data, hmtx + 4 * g.min(metrics.saturating_sub(1)))?);
        }
        // The Windows Unicode BMP subtable (format 4).
        let mut map = BTreeMap::new();
        let count = usize::from(u16_at(data, cmap + 2)?);
        for i in 0..count {
            let rec = cmap + 4 + 8 * i;
            if (u16_at(data, rec)?, u16_at(data, rec + 2)?) != (3, 1) {
                continue;
            }
            let sub = cmap + u32_at(data, rec + 4)? as usize;
            if u16_at(data, sub)? != 4 {
                continue;
            }
            let segs = usize::from(u16_at(data, sub + 6)?) / 2;
            let ends = sub + 14;
            let starts = ends + 2 * segs + 2;
            let deltas = starts + 2 * segs;
            let ranges = deltas + 2 * segs;
            for s in 0..segs {
                let (start, end) = (u16_at(data, starts + 2 * s)?, u16_at(data, ends + 2 * s)?);
                let delta = u16_at(data, deltas + 2 * s)?;
                let range = usize::from(u16_at(data, ranges + 2 * s)?);
                for c in start..=end {
                    if c == 0xffff {
                        break;
                    }
                    let g = if range == 0 {
                        c.wrapping_add(delta)
                    } else {
                        let at = ranges + 2 * s + range + 2 * usize::from(c - start);
                        match u16_at(data, at)? {
                            0 => 0,
                            g => g.wrapping_add(delta),
                        }
                    };
                    if g != 0 {
                        map.insert(u32::from(c), g);
                    }
                }
            }
        }
        Ok(Font {
            data,
            units,
            cmap: map,
            advances,
            ascent: i16_at(hhea + 4)?,
            descent: i16_at(hhea + 6)?,
            bbox,
            tables,
            used: BTreeMap::new(),
        })
    }

    fn glyph(&self, c: char) -> u16 {
        self.cmap.get(&u32::from(c)).copied().or_else(|| self.cmap.get(&u32::from('?')).copied()).unwrap_or(0)
    }

    /// Whether `c` is drawn: pictographs the font lacks (emoji such as the verdict's 📈, and
    /// their joiners and variation selectors) are left out rather than shown as `?`; other
    /// missing characters (CJK, say) show as `?`, so their place stays visible.
    fn shows(&self, c: char) -> bool {
        let pictograph =
            matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE0F | 0x200D);
        !pictograph || self.cmap.contains_key(&u32::from(c))
    }

    fn width(&self, s: &str, size: f64) -> f64 {
        s.chars()
            .filter(|c| self.shows(*c))
            .map(|c| f64::from(self.advances.get(usize::from(self.glyph(c))).copied().unwrap_or(0)))
            .sum::<f64>()
            * size
            / self.units
    }

    /// The glyph ids of `s` as a hex string, recording them as used.
    fn encode(&mut self, s: &str) -> String {
        let mut out = String::with_capacity(s.len() * 4 + 2);
        out.push('<');
        for c in s.chars() {
            if !self.shows(c) {
                continue;
            }
            let g = self.glyph(c);
            self.used.entry(g).or_insert(c);
            let _ = write!(out, "{g:04X}");
        }
        out.push('>');
        out
    }

    fn table(&self, tag: &[u8; 4]) -> Option<&'static [u8]> {
        let (at, len) = *self.tables.get(tag)?;
        self.data.get(at..at + len)
    }

    /// A TrueType file with only the used glyphs' outlines (ids unchanged, others empty) and the
    /// tables a PDF needs.
    fn subset(&self) -> anyhow::Result<Vec<u8>> {
        let head = self.table(b"head").ok_or_else(|| anyhow::anyhow!("no head"))?;
        let loca = self.table(b"loca").ok_or_else(|| anyhow::anyhow!("no loca"))?;
        let glyf = self.table(b"glyf").ok_or_else(|| anyhow::anyhow!("no glyf"))?;
        let long = u16_at(head, 50)? == 1;
        let n = self.advances.len();
        let offset = |g: usize| -> anyhow::Result<usize> {
            Ok(if long { u32_at(loca, 4 * g)? as usize } else { 2 * usize::from(u16_at(loca, 2 * g)?) })
        };
        // Composite glyphs pull in their components.
        let mut keep: std::collections::BTreeSet<usize> = self.used.keys().map(|g| usize::from(*g)).collect();
        keep.insert(0);
        let mut todo: Vec<usize> = keep.iter().copied().collect();
        while let Some(g) = todo.pop() {
            if g >= n {
                continue;
            }
            let (a, b) = (offset(g)?, offset(g + 1)?);
            if b <= a || (u16_at(glyf, a)? as i16) >= 0 {
                continue;
            }
            let mut at = a + 10;
            loop {
                let flags = u16_at(glyf, at)?;
                let component = usize::from(u16_at(glyf, at + 2)?);
                if keep.insert(component) {
                    todo.push(component);
                }
                at += 4 + if flags & 1 != 0 { 4 } else { 2 };
                at += if flags & 0x8 != 0 {
                    2
                } else if flags & 0x40 != 0 {
                    4
                } else if flags & 0x80 != 0 {
                    8
                } else {
                    0
                };
                if flags & 0x20 == 0 {
                    break;
                }
            }
        }
        let mut new_glyf = Vec::new();
        let mut new_loca = Vec::with_capacity(4 * (n + 1));
        for g in 0..n {
            new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
            if keep.contains(&g) {
                let (a, b) = (offset(g)?, offset(g + 1)?);
                new_glyf.extend_from_slice(glyf.get(a..b).unwrap_or_default());
                while !new_glyf.len().is_multiple_of(4) {
                    new_glyf.push(0);
                }
            }
        }
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        let mut new_head = head.to_vec();
        new_head[8..12].copy_from_slice(&[0; 4]);
        new_head[50..52].copy_from_slice(&1u16.to_be_bytes());
        let mut tables: Vec<([u8; 4], Vec<u8>)> = vec![(*b"head", new_head)];
        for tag in [b"hhea", b"maxp", b"hmtx", b"cvt ", b"fpgm", b"prep"] {
            if let Some(t) = self.table(tag) {
                tables.push((*tag, t.to_vec()));
            }
        }
        tables.push((*b"loca", new_loca));
        tables.push((*b"glyf", new_glyf));
        tables.sort_by_key(|t| t.0);
        let count = tables.len() as u16;
        let mut out = Vec::new();
        out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
        let pow = 1u16 << (15 - count.leading_zeros());
        for v in [count, pow * 16, (pow as f64).log2() as u16, count * 16 - pow * 16] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        let mut at = 12 + 16 * tables.len();
        let mut body = Vec::new();
        for (tag, data) in &tables {
            let sum = data.chunks(4).fold(0u32, |s, c| {
                let mut w = [0u8; 4];
                w[..c.len()].copy_from_slice(c);
                s.wrapping_add(u32::from_be_bytes(w))
            });
            out.extend_from_slice(tag);
            out.extend_from_slice(&sum.to_be_bytes());
            out.extend_from_slice(&(at as u32).to_be_bytes());
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            body.extend_from_slice(data);
            while !body.len().is_multiple_of(4) {
                body.push(0);
            }
            at = 12 + 16 * tables.len() + body.len();
        }
        out.extend_from_slice(&body);
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Pages.

#[derive(Clone, Copy, PartialEq, Eq)]
enum F {
    Sans = 0,
    Bold = 1,
    Mono = 2,
}

struct Doc {
    fonts: [Font; 3],
    pages: Vec<String>,
    page: String,
    y: f64,
    title: String,
    date: Option<String>,
    /// Page width and height, points.
    page_w: f64,
    page_h: f64,
    /// Where text starts on a page.
    top: f64,
    /// Text width.
    width: f64,
}

/// A word and the font it is set in.
type Word = (String, F);

/// A chart row: label, segments (value, colour), value text.
type Bar = (String, Vec<(f64, &'static str)>, String);

fn rgb(hex: &str) -> String {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
    let c = |s: u32| f64::from((v >> s) & 0xff) / 255.0;
    format!("{:.3} {:.3} {:.3}", c(16), c(8), c(0))
}

fn severity_colour(key: &str) -> &'static str {
    match key {
        "critical" => "#b3261e",
        "high" => "#e8710a",
        "medium" => "#a67c00",
        "low" => "#1a73e8",
        _ => "#59636e",
    }
}

impl Doc {
    fn new(title: String, opts: &Options) -> anyhow::Result<Doc> {
        let (page_w, page_h) = opts.paper.size();
        let mut d = Doc {
            fonts: [Font::parse(SANS)?, Font::parse(BOLD)?, Font::parse(MONO)?],
            pages: Vec::new(),
            page: String::new(),
            y: page_h - 62.0,
            title,
            date: opts.time.clone(),
            page_w,
            page_h,
            top: page_h - 62.0,
            width: page_w - 2.0 * MARGIN,
        };
        d.page.push_str("0 g\n");
        Ok(d)
    }

    fn font(&self, f: F) -> &Font {
        &self.fonts[f as usize]
    }

    fn new_page(&mut self) {
        let page = std::mem::take(&mut self.page);
        self.pages.push(page);
        self.page.push_str("0 g\n");
        self.y = self.top;
    }

    /// Starts a new page unless `h` points fit above the bottom margin.
    fn need(&mut self, h: f64) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn text_at(&mut self, f: F, size: f64, x: f64, y: f64, s: &str) {
        let hex = self.fonts[f as usize].encode(s);
        let _ = writeln!(self.page, "BT /F{} {size:.1} Tf {x:.2} {y:.2} Td {hex} Tj ET", f as usize);
    }

    fn colour(&mut self, hex: &str) {
        let _ = writeln!(self.page, "{} rg", rgb(hex));
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, hex: &str) {
        let _ = writeln!(self.page, "{} rg {x:.2} {y:.2} {w:.2} {h:.2} re f 0 g", rgb(hex));
    }

    /// Splits `s` into lines of at most `width`, breaking at spaces, and inside words too long
    /// for a line.
    fn wrap(&self, words: &[Word], size: f64, width: f64) -> Vec<Vec<Word>> {
        let space = self.font(F::Sans).width(" ", size);
        let mut lines: Vec<Vec<Word>> = vec![Vec::new()];
        let mut used = 0.0;
        for (w, f) in words {
            let mut word = w.clone();
            loop {
                let ww = self.font(*f).width(&word, size);
                let Some(line) = lines.last_mut() else { break };
                let gap = if line.is_empty() { 0.0 } else { space };
                if used + gap + ww <= width {
                    line.push((word, *f));
                    used += gap + ww;
                    break;
                }
                if !line.is_empty() && ww <= width {
                    lines.push(Vec::new());
                    used = 0.0;
                    continue;
                }
                // Too long for any line: cut it where the line ends.
                let room = width - used - gap;
                let mut cut = 0;
                let mut acc = 0.0;
                for (i, c) in word.char_indices() {
                    let cw = self.font(*f).width(c.encode_utf8(&mut [0; 4]), size);
                    if acc + cw > room {
                        break;
                    }
                    acc += cw;
                    cut = i + c.len_utf8();
                }
                if cut == 0 {
                    if line.is_empty() {
                        // Not even one character fits: place one anyway.
                        cut = word.chars().next().map_or(word.len(), char::len_utf8);
                    } else {
                        lines.push(Vec::new());
                        used = 0.0;
                        continue;
                    }
                }
                let rest = word.split_off(cut);
                line.push((word, *f));
                lines.push(Vec::new());
                used = 0.0;
                word = rest;
                if word.is_empty() {
                    break;
                }
            }
        }
        lines.retain(|l| !l.is_empty());
        lines
    }

    fn draw_line(&mut self, line: &[Word], size: f64, x: f64, y: f64) {
        let space = self.font(F::Sans).width(" ", size);
        let mut x = x;
        for (i, (w, f)) in line.iter().enumerate() {
            if i > 0 {
                x += space;
            }
            self.text_at(*f, size, x, y, w);
            x += self.font(*f).width(w, size);
        }
    }

    /// A wrapped paragraph at `indent`, breaking across pages.
    fn para(&mut self, words: &[Word], size: f64, indent: f64) {
        let leading = size * 1.35;
        for line in self.wrap(words, size, self.width - indent) {
            self.need(leading);
            self.y -= leading;
            self.draw_line(&line, size, MARGIN + indent, self.y + size * 0.25);
        }
    }

    fn gap(&mut self, h: f64) {
        self.y -= h;
    }

    fn heading(&mut self, text: &str, size: f64) {
        self.need(size * 3.0);
        self.gap(size * 0.8);
        self.para(&plain(text, F::Bold), size, 0.0);
        self.gap(size * 0.3);
    }

    /// Monospace lines (commands), each wrapped.
    fn code(&mut self, text: &str, indent: f64) {
        for line in text.lines() {
            let words: Vec<Word> = vec![(line.to_string(), F::Mono)];
            self.para(&words, 8.0, indent);
        }
    }

    /// A table: `cols` are (title, share of the width, font); rows wrap and break across pages
    /// with the header repeated.
    fn table(&mut self, cols: &[(&str, f64, F)], rows: &[Vec<String>]) {
        let size = 8.5;
        let leading = size * 1.3;
        let widths: Vec<f64> = cols.iter().map(|c| c.1 * self.width).collect();
        let header = |d: &mut Doc| {
            let cells: Vec<Vec<Vec<Word>>> =
                cols.iter().zip(&widths).map(|(c, w)| d.wrap(&plain(c.0, F::Bold), size, w - 6.0)).collect();
            let h = cells.iter().map(Vec::len).max().unwrap_or(1) as f64 * leading + 4.0;
            d.need(h + leading + 4.0);
            d.rect(MARGIN, d.y - h, d.width, h, "#eef1f4");
            d.cells(&cells, &widths, size, leading);
            d.y -= h;
        };
        header(self);
        for row in rows {
            let cells: Vec<Vec<Vec<Word>>> = row
                .iter()
                .zip(cols.iter().zip(&widths))
                .map(|(text, (c, w))| {
                    let words = if c.2 == F::Mono { plain(text, F::Mono) } else { inline_words(text) };
                    self.wrap(&words, size, w - 6.0)
                })
                .collect();
            let h = cells.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64 * leading + 4.0;
            if self.y - h < BOTTOM {
                self.new_page();
                header(self);
            }
            self.cells(&cells, &widths, size, leading);
            self.y -= h;
            let _ = writeln!(
                self.page,
                "0.8 G 0.5 w {MARGIN:.2} {y:.2} m {:.2} {y:.2} l S",
                MARGIN + self.width,
                y = self.y
            );
        }
        self.gap(6.0);
    }

    fn cells(&mut self, cells: &[Vec<Vec<Word>>], widths: &[f64], size: f64, leading: f64) {
        let mut x = MARGIN;
        for (lines, w) in cells.iter().zip(widths) {
            let mut y = self.y;
            for line in lines {
                y -= leading;
                self.draw_line(line, size, x + 3.0, y + size * 0.15);
            }
            x += w;
        }
    }

    /// Horizontal bars with labels and values.
    fn bars(&mut self, title: &str, rows: &[Bar]) {
        let max = rows.iter().map(|r| r.1.iter().map(|s| s.0).sum::<f64>()).fold(0.0, f64::max);
        if rows.is_empty() || max <= 0.0 {
            return;
        }
        self.heading(title, 10.0);
        let (label_w, value_w, row_h) = (130.0, 90.0, 15.0);
        let span = self.width - label_w - value_w;
        for (label, segments, value) in rows {
            self.need(row_h);
            self.y -= row_h;
            let y = self.y;
            self.text_at(F::Sans, 8.0, MARGIN, y + 3.0, &clip(label, 28));
            let mut x = MARGIN + label_w;
            for (v, colour) in segments {
                let w = span * v / max;
                if w > 0.0 {
                    self.rect(x, y, w.max(0.8), 10.0, colour);
                }
                x += w;
            }
            self.text_at(F::Sans, 8.0, x + 4.0, y + 3.0, value);
        }
        self.gap(6.0);
    }

    /// Per node: vCPU allocatable (a grey track), requested (upper bar) and used (lower bar), as
    /// the HTML's requests-vs-usage chart; nodes without usage are left out.
    fn usage_bars(&mut self, nodes: &[view::NodeRow]) {
        let rows: Vec<&view::NodeRow> = nodes.iter().filter(|n| n.cpu_values.2.is_some()).collect();
        let max = rows
            .iter()
            .map(|n| n.cpu_values.1.max(n.cpu_values.0).max(n.cpu_values.2.unwrap_or(0.0)))
            .fold(0.0, f64::max);
        if rows.is_empty() || max <= 0.0 {
            return;
        }
        self.heading("vCPU requested and used per node", 10.0);
        self.need(14.0);
        self.y -= 12.0;
        let y = self.y;
        for (i, (name, colour)) in
            [("requested", "#4a7bd0"), ("used", "#e8710a"), ("allocatable", "#dde3ea")].iter().enumerate()
        {
            let x = MARGIN + 130.0 + 90.0 * i as f64;
            self.rect(x, y, 8.0, 8.0, colour);
            self.text_at(F::Sans, 8.0, x + 11.0, y + 1.0, name);
        }
        let (label_w, value_w, row_h) = (130.0, 110.0, 20.0);
        let span = self.width - label_w - value_w;
        for n in rows {
            let (req, alloc, used) = n.cpu_values;
            let used = used.unwrap_or(0.0);
            self.need(row_h);
            self.y -= row_h;
            let y = self.y;
            self.text_at(F::Sans, 8.0, MARGIN, y + 6.0, &clip(&n.node, 28));
            let x = MARGIN + label_w;
            self.rect(x, y, (span * alloc / max).max(0.8), 16.0, "#dde3ea");
            self.rect(x, y + 8.5, (span * req / max).max(0.8), 6.5, "#4a7bd0");
            self.rect(x, y + 1.0, (span * used / max).max(0.8), 6.5, "#e8710a");
            let end = x + span * alloc.max(req).max(used) / max;
            self.text_at(F::Sans, 8.0, end + 4.0, y + 6.0, &format!("{req:.2} / {used:.2} / {alloc:.2}"));
        }
        self.gap(6.0);
    }

    /// Diverging bars: the monthly cost change per workload (increases right, savings left).
    fn delta_bars(&mut self, title: &str, rows: &[view::DeltaRow]) {
        let max = rows.iter().map(|r| r.value.abs()).fold(0.0, f64::max);
        if rows.is_empty() || max <= 0.0 {
            return;
        }
        self.heading(title, 10.0);
        let (label_w, value_w, row_h) = (190.0, 70.0, 15.0);
        let half = (self.width - label_w - value_w) / 2.0;
        let zero = MARGIN + label_w + half;
        let mut top = self.y;
        for r in rows {
            if self.y - row_h < BOTTOM {
                self.axis(zero, top);
                self.new_page();
                top = self.y;
            }
            self.y -= row_h;
            let y = self.y;
            self.text_at(F::Sans, 8.0, MARGIN, y + 3.0, &clip(&r.object, 40));
            let w = (half * r.value.abs() / max).max(0.8);
            if r.value >= 0.0 {
                self.rect(zero, y, w, 10.0, "#b3261e");
                self.text_at(F::Sans, 8.0, zero + w + 4.0, y + 3.0, &r.delta);
            } else {
                self.rect(zero - w, y, w, 10.0, "#1e7d32");
                self.text_at(F::Sans, 8.0, zero + 4.0, y + 3.0, &r.delta);
            }
        }
        self.axis(zero, top);
        self.gap(6.0);
    }

    /// The zero line of a diverging chart, from `top` down to the current row.
    fn axis(&mut self, x: f64, top: f64) {
        let _ = writeln!(self.page, "0.4 G 0.5 w {x:.2} {:.2} m {x:.2} {:.2} l S", self.y - 2.0, top);
    }

    /// Adds headers and page numbers, then writes the file.
    fn finish(mut self) -> Vec<u8> {
        if !self.page.trim().is_empty() || self.pages.is_empty() {
            let page = std::mem::take(&mut self.page);
            self.pages.push(page);
        }
        let total = self.pages.len();
        let title = self.title.clone();
        let date = self.date.as_deref().map(header_time).unwrap_or_default();
        let (page_w, page_h) = (self.page_w, self.page_h);
        let mut pages = std::mem::take(&mut self.pages);
        for (i, page) in pages.iter_mut().enumerate() {
            let mut chrome = String::new();
            std::mem::swap(&mut self.page, &mut chrome);
            self.colour("#59636e");
            self.text_at(F::Sans, 8.0, MARGIN, page_h - 36.0, &clip(&title, 90));
            let dw = self.font(F::Sans).width(&date, 8.0);
            self.text_at(F::Sans, 8.0, page_w - MARGIN - dw, page_h - 36.0, &date);
            let n = format!("Page {} of {total}", i + 1);
            let nw = self.font(F::Sans).width(&n, 8.0);
            self.text_at(F::Sans, 8.0, (page_w - nw) / 2.0, 28.0, &n);
            let _ = writeln!(
                self.page,
                "0.8 G 0.5 w {MARGIN} {y:.2} m {:.2} {y:.2} l S 0 g",
                page_w - MARGIN,
                y = page_h - 42.0
            );
            std::mem::swap(&mut self.page, &mut chrome);
            page.push_str(&chrome);
        }
        self.write(&pages)
    }

    fn write(&self, pages: &[String]) -> Vec<u8> {
        // Object numbers: 1 catalog, 2 pages, 3 info, then 5 per font, then 2 per page.
        let font_base = 4;
        let page_base = font_base + 5 * self.fonts.len();
        let mut objects: Vec<Vec<u8>> = Vec::new();
        let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", page_base + 2 * i)).collect();
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        objects.push(format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()).into_bytes());
        let mut info = format!("<< /Title {} /Producer (ClusterGPT {})", utf16(&self.title), env!("CARGO_PKG_VERSION"));
        if let Some(d) = self.date.as_deref().and_then(pdf_date) {
            let _ = write!(info, " /CreationDate ({d}) /ModDate ({d})");
        }
        info.push_str(" >>");
        objects.push(info.into_bytes());
        let names = ["DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono"];
        for (i, font) in self.fonts.iter().enumerate() {
            let n = font_base + 5 * i;
            let scale = 1000.0 / font.units;
            let name = format!("AAAAA{}+{}", (b'A' + i as u8) as char, names[i]);
            objects.push(
                format!(
                    "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H /DescendantFonts [{} 0 R] /ToUnicode {} 0 R >>",
                    n + 1,
                    n + 3
                )
                .into_bytes(),
            );
            let widths: Vec<String> = font
                .used
                .keys()
                .map(|g| {
                    let w = f64::from(font.advances.get(usize::from(*g)).copied().unwrap_or(0)) * scale;
                    format!("{g} [{}]", w.round())
                })
                .collect();
            objects.push(
                format!(
                    "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {} 0 R /CIDToGIDMap /Identity /W [{}] >>",
                    n + 2,
                    widths.join(" ")
                )
                .into_bytes(),
            );
            let b = font.bbox.map(|v| (f64::from(v) * scale).round());
            objects.push(
                format!(
                    "<< /Type /FontDescriptor /FontName /{name} /Flags {} /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 {} 0 R >>",
                    if i == 2 { 33 } else { 32 },
                    b[0],
                    b[1],
                    b[2],
                    b[3],
                    (f64::from(font.ascent) * scale).round(),
                    (f64::from(font.descent) * scale).round(),
                    (f64::from(font.ascent) * scale * 0.75).round(),
                    n + 4
                )
                .into_bytes(),
            );
            let mut cmap = String::from(
                "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def 1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
            );
            let used: Vec<(&u16, &char)> = font.used.iter().collect();
            for chunk in used.chunks(100) {
                let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
                for (g, c) in chunk {
                    let mut units = [0u16; 2];
                    let hex: String = c.encode_utf16(&mut units).iter().map(|u| format!("{u:04X}")).collect();
                    let _ = writeln!(cmap, "<{g:04X}> <{hex}>");
                }
                cmap.push_str("endbfchar\n");
            }
            cmap.push_str("endcmap CMapName currentdict /CMap defineresource pop end end");
            objects.push(stream("", cmap.as_bytes()));
            let data = font.subset().unwrap_or_else(|_| font.data.to_vec());
            objects.push(stream(&format!("/Length1 {}", data.len()), &data));
        }
        let fonts: String = (0..self.fonts.len()).map(|i| format!("/F{i} {} 0 R ", font_base + 5 * i)).collect();
        for (i, content) in pages.iter().enumerate() {
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << {fonts}>> >> /Contents {} 0 R >>",
                    self.page_w,
                    self.page_h,
                    page_base + 2 * i + 1
                )
                .into_bytes(),
            );
            objects.push(stream("", content.as_bytes()));
        }
        let mut out: Vec<u8> = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(o);
            out.extend_from_slice(b"\nendobj\n");
        }
        let id: String = Sha256::digest(&out).iter().take(16).map(|b| format!("{b:02x}")).collect();
        let xref = out.len();
        let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for o in &offsets {
            let _ = writeln!(tail, "{o:010} 00000 n ");
        }
        let _ = write!(
            tail,
            "trailer\n<< /Size {} /Root 1 0 R /Info 3 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        );
        out.extend_from_slice(tail.as_bytes());
        out
    }
}

/// A FlateDecode stream (zlib at miniz's default level 6; deterministic). At 5,000 findings it
/// costs about a second and shrinks the file from 19 MB to 2.6 MB (BENCHMARKS.md).
fn stream(extra: &str, data: &[u8]) -> Vec<u8> {
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(data, 6);
    let mut o = format!("<< /Length {} /Filter /FlateDecode {extra}>>\nstream\n", packed.len()).into_bytes();
    o.extend_from_slice(&packed);
    o.extend_from_slice(b"\nendstream");
    o
}

/// A text string as UTF-16BE hex with a byte order mark.
fn utf16(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for u in s.encode_utf16() {
        let _ = write!(out, "{u:04X}");
    }
    out.push('>');
    out
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// Control characters would be invisible or break lines: spaces instead.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn plain(s: &str, f: F) -> Vec<Word> {
    clean(s).split(' ').filter(|w| !w.is_empty()).map(|w| (w.to_string(), f)).collect()
}

/// Text whose `backticked` parts are code.
fn inline_words(s: &str) -> Vec<Word> {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return plain(s, F::Sans);
    }
    parts.iter().enumerate().flat_map(|(i, p)| plain(p, if i % 2 == 1 { F::Mono } else { F::Sans })).collect()
}

fn words(parts: &[(&str, F)]) -> Vec<Word> {
    parts.iter().flat_map(|(s, f)| if *f == F::Sans { inline_words(s) } else { plain(s, *f) }).collect()
}

// ---------------------------------------------------------------------------------------------
// The document.

fn layout(d: &mut Doc, r: &Report) {
    let x = &r.executive;
    d.y = d.top - 10.0;
    d.para(&plain(&r.title, F::Bold), 20.0, 0.0);
    let head = if x.findings == 0 {
        format!("No findings in {} objects from {}.", x.objects, r.subject)
    } else {
        format!("{} findings in {} objects from {}.", x.findings, x.objects, r.subject)
    };
    d.para(&plain(&head, F::Sans), 10.0, 0.0);

    d.heading("1. Executive summary", 15.0);
    d.para(&words(&[(&format!("Risk score {}/100:", x.risk_score), F::Bold), (x.risk_meaning, F::Sans)]), 11.0, 0.0);
    let counts: Vec<String> = x.severities.iter().map(|c| format!("{} {}", c.count, c.key)).collect();
    d.para(&plain(&format!("Findings by severity: {}.", counts.join(", ")), F::Sans), 10.0, 0.0);
    if let Some(m) = &x.monthly {
        let mut s = format!("Estimated monthly cost {m}");
        if let Some(max) = &x.monthly_max {
            let _ = write!(s, " (up to {max} with autoscalers at their maximum)");
        }
        if let Some(at) = x.at_risk.as_ref().filter(|_| x.findings > 0) {
            let _ = write!(s, "; {at} of it runs workloads with critical or high findings");
        }
        if let Some(f) = &x.fix_delta {
            let _ = write!(s, "; applying every fix changes it by {f}");
        }
        s.push('.');
        d.para(&plain(&s, F::Sans), 10.0, 0.0);
    }
    if let Some(e) = &x.explanation {
        d.heading("In short", 11.0);
        d.para(&plain(&e.cto_summary, F::Sans), 10.0, 0.0);
        d.gap(4.0);
        d.para(&plain(&e.exec_summary, F::Sans), 10.0, 0.0);
    }
    if !x.first.is_empty() {
        d.heading("What to do first", 11.0);
        for (i, a) in x.first.iter().enumerate() {
            let mut w = plain(&format!("{}. {}", i + 1, a.priority), F::Bold);
            w.extend(inline_words(&a.title_inline));
            if let Some(c) = &a.cost {
                w.extend(plain(&format!("({c} per month)"), F::Sans));
            }
            d.para(&w, 10.0, 8.0);
        }
    }
    let area_rows: Vec<Bar> = x
        .area_severity
        .iter()
        .map(|a| {
            let total: usize = a.counts.iter().map(|c| c.count).sum();
            (
                a.area.clone(),
                a.counts.iter().map(|c| (c.count as f64, severity_colour(&c.key))).collect(),
                total.to_string(),
            )
        })
        .collect();
    d.bars("Findings by area (critical, high, medium, low, info)", &area_rows);
    if let Some(c) = &r.cost {
        let mut ns: Vec<&view::CostNamespaceRow> = c.namespaces.iter().collect();
        ns.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.namespace.cmp(&b.namespace)));
        let rows: Vec<Bar> =
            ns.iter().map(|n| (n.namespace.clone(), vec![(n.value, "#4a7bd0")], n.monthly.clone())).collect();
        d.bars(&format!("Monthly cost by namespace ({})", c.currency), &rows);
        d.usage_bars(&c.nodes);
    }

    d.heading("2. SRE action list", 15.0);
    if r.actions.is_empty() {
        d.para(&plain("Nothing to do: no findings.", F::Sans), 10.0, 0.0);
    }
    for (i, a) in r.actions.iter().enumerate() {
        d.need(40.0);
        d.gap(3.0);
        let mut w = plain(&format!("{}. {} ({})", i + 1, a.priority, a.severity), F::Bold);
        w.extend(inline_words(&a.title_inline));
        if let Some(c) = &a.cost {
            w.extend(plain(&format!("· {c} per month"), F::Bold));
        }
        d.para(&w, 10.0, 0.0);
        let refs: Vec<String> = a
            .findings
            .iter()
            .map(|f| if f.rule.is_empty() { f.id.clone() } else { format!("{} {}", f.rule, f.object) })
            .collect();
        d.para(&plain(&format!("Resolves: {}", refs.join(", ")), F::Sans), 8.5, 12.0);
        if !a.commands.is_empty() {
            let mut cmds = a.commands.join("\n");
            if a.more_commands > 0 {
                let _ = write!(cmds, "\n# and {} more", a.more_commands);
            }
            d.code(&cmds, 12.0);
        }
    }

    d.heading("3. Details", 15.0);
    if !r.diagnoses.is_empty() {
        d.heading("What is failing now", 12.0);
        for g in &r.diagnoses {
            d.need(40.0);
            let mut w = plain(&format!("[{}] {}", g.severity, g.rule), F::Bold);
            w.extend(plain(&g.class, F::Mono));
            w.extend(plain("in", F::Sans));
            w.extend(plain(&g.object, F::Mono));
            d.para(&w, 10.0, 0.0);
            d.para(&plain(&format!("{}; seen {} time(s).", g.summary, g.count), F::Sans), 9.0, 12.0);
            for h in &g.hypotheses {
                d.para(&plain(&format!("- {} ({} confidence)", h.cause, h.confidence), F::Sans), 9.0, 12.0);
                for e in &h.evidence {
                    d.code(&format!("{} = {}", e.path, e.value.as_deref().unwrap_or_default()), 24.0);
                }
            }
            if let Some(m) = &g.manifest {
                manifest(d, m, 12.0);
            }
        }
    }
    if r.details.is_empty() {
        d.para(&plain("No findings.", F::Sans), 10.0, 0.0);
    }
    for area in &r.details {
        d.heading(&format!("{} ({})", area.area, area.count), 12.0);
        for o in &area.objects {
            d.need(50.0);
            d.gap(4.0);
            let mut w = plain(&o.object, F::Mono);
            w.extend(plain(&o.source, F::Sans));
            d.para(&w, 9.5, 0.0);
            for f in &o.findings {
                finding(d, f);
            }
        }
    }

    d.heading("Architecture", 15.0);
    let a = &r.architecture;
    d.para(
        &plain(
            &format!("{} objects in {} namespaces: {}.", a.objects, a.namespaces.len(), a.namespaces.join(", ")),
            F::Sans,
        ),
        10.0,
        0.0,
    );
    let rows: Vec<Vec<String>> = a.kinds.iter().map(|k| vec![k.name.clone(), k.count.to_string()]).collect();
    d.table(&[("Kind", 0.7, F::Sans), ("Objects", 0.3, F::Sans)], &rows);
    if !a.relations.is_empty() {
        let rows: Vec<Vec<String>> = a.relations.iter().map(|k| vec![k.name.clone(), k.count.to_string()]).collect();
        d.table(&[("Relation", 0.7, F::Sans), ("Count", 0.3, F::Sans)], &rows);
    }

    if let Some(c) = &r.cost {
        d.heading("Cost", 15.0);
        let mut s = format!("Approximate monthly cost at list prices: {}", c.total);
        if let Some(max) = &c.total_max {
            let _ = write!(s, " (up to {max} with autoscalers at their maximum)");
        }
        let _ = write!(s, " in {}, {} hours/month.", c.currency, c.hours);
        d.para(&plain(&s, F::Sans), 10.0, 0.0);
        let rows: Vec<Vec<String>> =
            c.namespaces.iter().map(|n| vec![n.namespace.clone(), n.monthly.clone()]).collect();
        d.table(&[("Namespace", 0.7, F::Mono), ("Monthly", 0.3, F::Sans)], &rows);
        let rows: Vec<Vec<String>> = c
            .workloads
            .iter()
            .map(|w| {
                vec![
                    w.object.clone(),
                    w.pods.clone(),
                    w.cpu.clone(),
                    w.memory.clone(),
                    w.storage.clone(),
                    w.monthly.clone(),
                ]
            })
            .collect();
        if !rows.is_empty() {
            d.table(
                &[
                    ("Workload", 0.36, F::Mono),
                    ("Pods", 0.1, F::Sans),
                    ("vCPU/pod", 0.12, F::Sans),
                    ("Memory/pod", 0.14, F::Sans),
                    ("Storage", 0.12, F::Sans),
                    ("Monthly", 0.16, F::Sans),
                ],
                &rows,
            );
        }
        if !c.unpriced.is_empty() {
            let rows: Vec<Vec<String>> =
                c.unpriced.iter().map(|u| vec![u.object.clone(), u.reason_inline.clone()]).collect();
            d.table(&[("Not priced", 0.4, F::Mono), ("Why", 0.6, F::Sans)], &rows);
        }
        if !c.nodes.is_empty() {
            let rows: Vec<Vec<String>> = c
                .nodes
                .iter()
                .map(|n| {
                    vec![
                        n.node.clone(),
                        n.instance.clone(),
                        n.cpu.clone(),
                        n.memory.clone(),
                        n.pods.to_string(),
                        n.monthly.clone(),
                        n.idle.clone(),
                    ]
                })
                .collect();
            d.table(
                &[
                    ("Node", 0.24, F::Mono),
                    ("Instance", 0.14, F::Mono),
                    ("vCPU requested / allocatable", 0.15, F::Sans),
                    ("Memory requested / allocatable", 0.17, F::Sans),
                    ("Pods", 0.08, F::Sans),
                    ("Monthly", 0.11, F::Sans),
                    ("Idle", 0.11, F::Sans),
                ],
                &rows,
            );
        }
        for u in &c.usage_inline {
            d.para(&inline_words(&format!("Usage: {u}")), 10.0, 0.0);
        }
    }

    if !r.not_evaluated.is_empty() {
        d.heading("Not evaluated", 15.0);
        d.para(
            &plain(
                "These cluster resources could not be listed, so the rules that read them were not evaluated on that cluster (they did not pass).",
                F::Sans,
            ),
            10.0,
            0.0,
        );
        let rows: Vec<Vec<String>> = r
            .not_evaluated
            .iter()
            .map(|g| vec![g.context.clone(), g.resource.clone(), g.reason.clone(), g.message.clone(), g.rules.clone()])
            .collect();
        d.table(
            &[
                ("Context", 0.15, F::Mono),
                ("Resource", 0.15, F::Mono),
                ("Reason", 0.12, F::Sans),
                ("Message", 0.38, F::Sans),
                ("Rules", 0.2, F::Sans),
            ],
            &rows,
        );
    }

    d.heading("Inputs", 15.0);
    let i = &r.inputs;
    d.para(&plain(&format!("Read from {}; {} rules ran.", i.read_from, i.rules_run), F::Sans), 10.0, 0.0);
    if !i.errors.is_empty() {
        let rows: Vec<Vec<String>> = i.errors.iter().map(|e| vec![e.location.clone(), e.message.clone()]).collect();
        d.table(&[("Could not be read", 0.35, F::Mono), ("Error", 0.65, F::Sans)], &rows);
    }
    if !i.skipped.is_empty() {
        let rows: Vec<Vec<String>> = i.skipped.iter().map(|k| vec![k.location.clone(), k.reason.clone()]).collect();
        d.table(&[("Skipped", 0.35, F::Mono), ("Reason", 0.65, F::Sans)], &rows);
    }
    if !i.suppressed.is_empty() {
        let rows: Vec<Vec<String>> = i
            .suppressed
            .iter()
            .map(|s| vec![s.rule.clone(), s.object.clone(), s.by.clone(), s.reason.clone()])
            .collect();
        d.table(
            &[("Suppressed", 0.15, F::Sans), ("Object", 0.3, F::Mono), ("By", 0.2, F::Sans), ("Reason", 0.35, F::Sans)],
            &rows,
        );
    }
}

/// The diff: (1) summary with the cost change, gates and the cost delta chart, (2) new findings,
/// (3) resolved findings, then every workload's cost before and after, and the inputs.
fn layout_diff(d: &mut Doc, r: &DiffReport) {
    d.y = d.top - 10.0;
    let mut w = plain(&r.title, F::Bold);
    w.extend(plain(&format!("{} → {}", r.base, r.head), F::Mono));
    d.para(&w, 20.0, 0.0);
    d.para(&plain(&r.verdict, F::Bold), 10.0, 0.0);

    d.heading("1. Executive summary", 15.0);
    d.para(
        &plain(
            &format!(
                "Estimated monthly cost {} → {}: {} per month ({}), in {}, {} hours/month, approximate.",
                r.base_monthly, r.head_monthly, r.delta, r.percent, r.currency, r.hours
            ),
            F::Sans,
        ),
        10.0,
        0.0,
    );
    d.para(
        &plain(
            &format!(
                "{} new findings, {} resolved; {} findings in base, {} in head ({} unchanged).",
                r.new.len(),
                r.resolved.len(),
                r.base_findings,
                r.head_findings,
                r.unchanged
            ),
            F::Sans,
        ),
        10.0,
        0.0,
    );
    if !r.gates.is_empty() {
        let rows: Vec<Vec<String>> = r
            .gates
            .iter()
            .map(|g| vec![g.name.clone(), if g.passed { "passed" } else { "FAILED" }.to_string(), g.reason.clone()])
            .collect();
        d.table(&[("Gate", 0.25, F::Mono), ("Result", 0.15, F::Sans), ("Reason", 0.6, F::Sans)], &rows);
    }
    d.delta_bars(&format!("Monthly cost change per workload ({})", r.currency), &r.changed);
    if r.changed.is_empty() {
        d.para(&plain("No workload's estimated cost changes.", F::Sans), 10.0, 0.0);
    } else {
        d.heading("Cost changes", 12.0);
        let mut rows = delta_rows(&r.changed);
        rows.push(vec![
            "Total".to_string(),
            String::new(),
            r.base_monthly.clone(),
            r.head_monthly.clone(),
            r.delta.clone(),
            r.percent.clone(),
        ]);
        d.table(&DELTA_COLUMNS, &rows);
    }

    d.heading(&format!("2. New findings ({})", r.new.len()), 15.0);
    if r.new.is_empty() {
        d.para(&plain("No new findings.", F::Sans), 10.0, 0.0);
    }
    for f in &r.new {
        finding(d, f);
    }
    d.heading(&format!("3. Resolved findings ({})", r.resolved.len()), 15.0);
    if r.resolved.is_empty() {
        d.para(&plain("No findings resolved.", F::Sans), 10.0, 0.0);
    }
    for f in &r.resolved {
        finding_head(d, f);
    }

    d.heading("Before and after", 15.0);
    if r.workloads.is_empty() {
        d.para(&plain("No workload was priced.", F::Sans), 10.0, 0.0);
    } else {
        d.table(&DELTA_COLUMNS, &delta_rows(&r.workloads));
    }
    if !r.assumptions_inline.is_empty() {
        d.heading("Assumptions", 11.0);
        for a in &r.assumptions_inline {
            d.para(&inline_words(&format!("- {a}")), 9.0, 0.0);
        }
    }
    if !r.unpriced.is_empty() {
        let rows: Vec<Vec<String>> =
            r.unpriced.iter().map(|u| vec![u.object.clone(), u.reason_inline.clone()]).collect();
        d.table(&[("Not priced", 0.4, F::Mono), ("Why", 0.6, F::Sans)], &rows);
    }
    for (title, errors) in [
        ("Inputs of the head that could not be read (not audited)", &r.head_errors),
        ("Inputs of the base that could not be read (not audited)", &r.base_errors),
    ] {
        if !errors.is_empty() {
            let rows: Vec<Vec<String>> = errors.iter().map(|e| vec![e.location.clone(), e.message.clone()]).collect();
            d.heading(title, 11.0);
            d.table(&[("Input", 0.35, F::Mono), ("Error", 0.65, F::Sans)], &rows);
        }
    }
}

const DELTA_COLUMNS: [(&str, f64, F); 6] = [
    ("Workload", 0.38, F::Mono),
    ("Status", 0.11, F::Sans),
    ("Baseline", 0.13, F::Sans),
    ("New", 0.13, F::Sans),
    ("Change", 0.14, F::Sans),
    ("%", 0.11, F::Sans),
];

fn delta_rows(rows: &[view::DeltaRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|w| {
            vec![
                w.object.clone(),
                w.status.to_string(),
                w.base.clone(),
                w.head.clone(),
                w.delta.clone(),
                w.percent.clone(),
            ]
        })
        .collect()
}

fn finding(d: &mut Doc, f: &view::FindingView) {
    finding_head(d, f);
    for e in &f.evidence {
        match &e.value {
            Some(v) => d.code(&format!("{} = {}", e.path, v), 24.0),
            None => d.code(&format!("field {}", e.path), 24.0),
        }
    }
    if let Some(x) = &f.fix {
        let mut w = plain(&format!("Fix ({}):", x.applicability), F::Bold);
        w.extend(inline_words(&x.title_inline));
        if let Some(c) = &x.cost {
            w.extend(plain(&format!("({c} per month)"), F::Sans));
        }
        if let Some(why) = &x.edit_error {
            w.extend(plain(&format!("; not applied to the file automatically: {why}"), F::Sans));
        }
        d.para(&w, 9.0, 24.0);
        for c in [&x.command, &x.kubectl, &x.json_patch].into_iter().flatten() {
            d.code(c, 24.0);
        }
    }
    if let Some(m) = &f.manifest {
        manifest(d, m, 24.0);
    }
}

/// The manifest a live object was deployed from, and the fix there (as Markdown and HTML show it).
fn manifest(d: &mut Doc, m: &view::ManifestView, indent: f64) {
    let mut w = plain("Manifest:", F::Bold);
    w.extend(plain(&m.at, F::Mono));
    if let Some((kind, title)) = &m.fix {
        w.extend(plain(&format!("fix ({kind}): {title}"), F::Sans));
    }
    d.para(&w, 9.0, indent);
}

/// A finding's first lines: severity, rule, object, place, id, and the message.
fn finding_head(d: &mut Doc, f: &view::FindingView) {
    d.need(30.0);
    d.gap(2.0);
    let sev = severity_colour(f.severity);
    d.colour(sev);
    let mut w = plain(&format!("[{}]", f.severity), F::Bold);
    w.extend(plain(&f.rule, F::Bold));
    w.extend(plain(&f.name, F::Mono));
    w.extend(plain("·", F::Sans));
    let at = if f.location.context { format!("context {}", f.location.text) } else { f.location.text.clone() };
    w.extend(plain(&at, F::Mono));
    // The id the explainer's actions (and the JSON) cite.
    w.extend(plain(&format!("id {}", f.id), F::Mono));
    d.para(&w, 9.0, 12.0);
    d.colour("#000000");
    d.para(&inline_words(&f.message_inline), 9.0, 12.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fonts_parse_and_measure() {
        let f = Font::parse(SANS).expect("font");
        assert!(f.glyph('A') != 0 && f.glyph('→') != 0);
        assert!(f.width("WWW", 10.0) > f.width("iii", 10.0));
        let mono = Font::parse(MONO).expect("font");
        assert!((mono.width("WWW", 10.0) - mono.width("iii", 10.0)).abs() < 1e-9);
    }

    #[test]
    fn dates_for_the_header_and_the_metadata() {
        assert_eq!(pdf_date("2026-12-02T08:23:05Z").as_deref(), Some("D:20261202082305Z"));
        assert_eq!(pdf_date("2026-12-02").as_deref(), Some("D:20261202"));
        assert_eq!(pdf_date("yesterday"), None);
        assert_eq!(pdf_date("2026-12-02T08:23:05+01:00"), None);
        assert_eq!(header_time("2026-12-02T08:23:05Z"), "2026-12-02 08:23 UTC");
        assert_eq!(header_time("2026-12-02"), "2026-12-02");
        assert_eq!(Paper::parse("LETTER"), Some(Paper::Letter));
        assert_eq!(Paper::parse("a5"), None);
    }

    #[test]
    fn missing_pictographs_are_left_out_other_characters_show_as_a_question_mark() {
        let f = Font::parse(SANS).expect("font");
        assert!(!f.shows('📈') && f.shows('✓') && f.shows('a'));
        assert!(f.shows('漢'), "shown, as `?`");
        assert_eq!(f.width("a📈", 10.0), f.width("a", 10.0));
    }

    #[test]
    fn long_words_wrap_inside_the_width() {
        let d = Doc::new("t".into(), &Options::default()).expect("doc");
        let long = "x".repeat(400);
        let lines = d.wrap(&[(long, F::Mono), ("tail".into(), F::Sans)], 8.0, 200.0);
        assert!(lines.len() > 3);
        for l in &lines {
            let w: f64 = l.iter().map(|(s, f)| d.font(*f).width(s, 8.0)).sum();
            assert!(w <= 200.0 + 1e-6, "{w}");
        }
    }
}
