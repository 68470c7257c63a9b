//! The versioned JSON audit (contract documented in docs/json-schema.md).

use std::io::Write;

use crate::audit::Audit;
use crate::fix::Enricher;
use crate::model::Finding;

/// Renders the audit as pretty JSON with a trailing newline.
///
/// # Errors
/// Only if serialization fails, which the types rule out.
pub fn render(audit: &Audit) -> serde_json::Result<String> {
    let mut out = Vec::new();
    write(audit, &mut out)?;
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// Writes what [`render`] returns to `w` without building it in memory first.
///
/// # Errors
/// When writing fails.
pub fn write(audit: &Audit, w: &mut dyn Write) -> serde_json::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    write_with(audit, w, threads, BATCH)
}

/// Writes the audit as [`write`] would after `fix::enrich`, enriching each batch of findings
/// just before it is written and dropping its suggestions and patches after: a large audit's
/// rendered fixes are never all in memory at once.
///
/// # Errors
/// When writing fails.
pub fn write_enriching(audit: &mut Audit, enricher: &Enricher<'_>, w: &mut dyn Write) -> serde_json::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    write_enriching_with(audit, enricher, w, threads, BATCH)
}

/// Findings a worker renders at a time (memory stays bounded by a few of these, not by the
/// report's hundreds of megabytes).
const BATCH: usize = 512;

/// The audit written exactly as `serde_json::to_writer_pretty` writes it, its findings rendered
/// on `threads` threads.
fn write_with(audit: &Audit, w: &mut dyn Write, threads: usize, batch: usize) -> serde_json::Result<()> {
    if threads <= 1 || audit.findings.len() < 2 * MIN_SLICE {
        serde_json::to_writer_pretty(&mut *w, audit)?;
        return w.write_all(b"\n").map_err(serde_json::Error::io);
    }
    let shell = serde_json::to_string_pretty(&audit.without_findings())?;
    let chunks = audit.findings.chunks(batch.max(1)).map(Chunk::Rendered).collect();
    write_batches(|| Ok(shell), chunks, w, threads)
}

fn write_enriching_with(
    audit: &mut Audit,
    enricher: &Enricher<'_>,
    w: &mut dyn Write,
    threads: usize,
    batch: usize,
) -> serde_json::Result<()> {
    if threads <= 1 || audit.findings.len() < 2 * MIN_SLICE {
        enricher.enrich(&mut audit.findings);
        return write_with(audit, w, threads, batch);
    }
    // The rest of the audit (its cost report lists every workload) is rendered while the
    // workers enrich their first chunks.
    let shell = audit.without_findings();
    let chunks = audit.findings.chunks_mut(batch.max(1)).map(|c| Chunk::Enriched(c, enricher)).collect();
    write_batches(|| serde_json::to_string_pretty(&shell), chunks, w, threads)
}

/// A chunk of findings for a worker: to render as they are, or to enrich just before rendering
/// and strip of their suggestions and patches just after.
enum Chunk<'f, 'o> {
    Rendered(&'f [Finding]),
    Enriched(&'f mut [Finding], &'f Enricher<'o>),
}

impl Chunk<'_, '_> {
    fn render(self) -> serde_json::Result<Vec<u8>> {
        match self {
            Chunk::Rendered(c) => render_items(c),
            Chunk::Enriched(c, enricher) => {
                enricher.enrich(c);
                let out = render_items(c);
                for fix in c.iter_mut().filter_map(|f| f.fix.as_mut()) {
                    fix.suggestion = None;
                    fix.patch = None;
                }
                out
            }
        }
    }
}

/// Writes `shell` (the audit without findings, pretty-printed, rendered once the workers have
/// started) with the findings spliced into its empty array. `schema_version` comes first and is
/// a plain string, so the first such line is the findings'. The chunks are dealt round-robin to `threads` workers, which render them in
/// order while this thread writes what they hand back, in order; a worker runs at most two
/// chunks ahead, so memory stays bounded by a few chunks.
fn write_batches(
    shell: impl FnOnce() -> serde_json::Result<String>,
    chunks: Vec<Chunk<'_, '_>>,
    w: &mut dyn Write,
    threads: usize,
) -> serde_json::Result<()> {
    let io = serde_json::Error::io;
    const EMPTY: &str = "\n  \"findings\": [],\n";
    let count = chunks.len();
    let mut dealt: Vec<Vec<Chunk<'_, '_>>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, c) in chunks.into_iter().enumerate() {
        dealt[i % threads].push(c);
    }
    let written = std::thread::scope(|scope| -> serde_json::Result<(String, usize)> {
        let mut inboxes = Vec::with_capacity(threads);
        for mine in dealt {
            let (tx, rx) = std::sync::mpsc::sync_channel::<serde_json::Result<Vec<u8>>>(2);
            inboxes.push(rx);
            scope.spawn(move || {
                for c in mine {
                    // The writer stopped (an error): nothing more to do.
                    if tx.send(c.render()).is_err() {
                        return;
                    }
                }
            });
        }
        let shell = shell()?;
        let at =
            shell.find(EMPTY).ok_or_else(|| io(std::io::Error::other("internal: no findings array in the audit")))?;
        w.write_all(&shell.as_bytes()[..at]).map_err(io)?;
        w.write_all(b"\n  \"findings\": [").map_err(io)?;
        for i in 0..count {
            let bytes =
                inboxes[i % threads].recv().map_err(|_| io(std::io::Error::other("a rendering thread stopped")))??;
            if i > 0 {
                w.write_all(b",").map_err(io)?;
            }
            w.write_all(&bytes).map_err(io)?;
        }
        Ok((shell, at))
    });
    let (shell, at) = written?;
    w.write_all(b"\n  ],\n").map_err(io)?;
    w.write_all(&shell.as_bytes()[at + EMPTY.len()..]).map_err(io)?;
    w.write_all(b"\n").map_err(io)
}

/// Below this many findings a thread costs more than it saves.
const MIN_SLICE: usize = 256;

/// Findings as the items of the pretty-printed `findings` array (at depth 2), comma-separated.
fn render_items(findings: &[Finding]) -> serde_json::Result<Vec<u8>> {
    use serde::Serialize;
    let mut out = Vec::with_capacity(findings.len() * 2048);
    for (i, f) in findings.iter().enumerate() {
        out.extend_from_slice(if i > 0 { b",\n    " } else { b"\n    " });
        f.serialize(&mut serde_json::Serializer::with_formatter(&mut out, Nested { depth: 2, has_value: false }))?;
    }
    Ok(out)
}

/// serde_json's pretty formatter (two spaces), starting `depth` levels deep: a finding written
/// inside the audit's `findings` array, without rendering it alone and indenting it after.
struct Nested {
    depth: usize,
    has_value: bool,
}

impl Nested {
    fn newline<W: ?Sized + Write>(&self, w: &mut W, comma: bool) -> std::io::Result<()> {
        // A comma, a newline and the indentation in one or two writes, not one per level.
        const LINE: &[u8] = b",\n                                                                ";
        let (line, lead) = if comma { (LINE, 2) } else { (&LINE[1..], 1) };
        let want = lead + 2 * self.depth;
        match line.get(..want) {
            Some(l) => w.write_all(l),
            None => {
                w.write_all(line)?;
                for _ in 0..(want - line.len()) / 2 {
                    w.write_all(b"  ")?;
                }
                Ok(())
            }
        }
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w, false)?;
        }
        w.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.newline(w, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.newline(w, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_indent_at_any_depth() {
        for depth in [0, 1, 2, 31, 32, 33, 40, 100] {
            for comma in [false, true] {
                let mut out = Vec::new();
                Nested { depth, has_value: false }.newline(&mut out, comma).unwrap_or_default();
                let want = format!("{}\n{}", if comma { "," } else { "" }, "  ".repeat(depth));
                assert_eq!(String::from_utf8_lossy(&out), want, "depth {depth}, comma {comma}");
            }
        }
    }

    #[test]
    fn findings_rendered_in_parallel_read_exactly_as_serde_writes_them() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures");
        let input = crate::source::load_paths(&[dir], &mut std::io::empty(), crate::yaml::Limits::default());
        let (mut audit, objects) = crate::audit::run_with_objects(
            input,
            &crate::config::Config::defaults(),
            &crate::audit::RunOptions::default(),
        );
        let plain = audit.clone();
        crate::fix::enrich(&mut audit, &objects);
        assert!(
            audit.findings.iter().any(|f| f.fix.as_ref().is_some_and(|x| x.suggestion.is_some() && x.patch.is_some()))
        );
        assert!(audit.findings.len() > 2 * MIN_SLICE, "the fixtures give {} findings", audit.findings.len());
        let mut expected = serde_json::to_vec_pretty(&audit).unwrap();
        expected.push(b'\n');
        // Enriched batch by batch while writing: the same bytes.
        let enricher = crate::fix::Enricher::new(&objects);
        for (threads, batch) in [(2, 2048), (3, 300), (1, 8)] {
            let mut lazy = plain.clone();
            let mut got = Vec::new();
            write_enriching_with(&mut lazy, &enricher, &mut got, threads, batch).unwrap();
            assert!(got == expected, "enriching on {threads} threads, batches of {batch}: output differs");
        }
        for (threads, batch) in [(2, 8192), (3, 300), (4, 1)] {
            let mut got = Vec::new();
            write_with(&audit, &mut got, threads, batch).unwrap();
            assert!(got == expected, "{threads} threads, batches of {batch}: output differs");
        }
        // Too few findings to split: the plain path.
        audit.findings.truncate(3);
        let mut got = Vec::new();
        write_with(&audit, &mut got, 2, 8192).unwrap();
        let mut expected = serde_json::to_vec_pretty(&audit).unwrap();
        expected.push(b'\n');
        assert_eq!(got, expected);
    }
}
