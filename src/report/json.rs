//! The versioned JSON audit (contract documented in docs/json-schema.md).

use std::io::Write;

use crate::audit::Audit;
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

/// Findings rendered together: every core renders a slice of a batch, then the batch is written
/// (memory stays bounded by the batch, not the report's hundreds of megabytes).
const BATCH: usize = 8192;

/// The audit written exactly as `serde_json::to_writer_pretty` writes it, its findings rendered
/// on `threads` threads.
fn write_with(audit: &Audit, w: &mut dyn Write, threads: usize, batch: usize) -> serde_json::Result<()> {
    let io = serde_json::Error::io;
    if threads <= 1 || audit.findings.len() < 2 * MIN_SLICE {
        serde_json::to_writer_pretty(&mut *w, audit)?;
        return w.write_all(b"\n").map_err(io);
    }
    // Everything but the findings, written as usual; the findings are spliced into its empty
    // array. `schema_version` comes first and is a plain string, so the first such line is it.
    let shell = serde_json::to_string_pretty(&audit.without_findings())?;
    const EMPTY: &str = "\n  \"findings\": [],\n";
    let Some(at) = shell.find(EMPTY) else {
        serde_json::to_writer_pretty(&mut *w, audit)?;
        return w.write_all(b"\n").map_err(io);
    };
    w.write_all(&shell.as_bytes()[..at]).map_err(io)?;
    w.write_all(b"\n  \"findings\": [").map_err(io)?;
    let mut first = true;
    for part in audit.findings.chunks(batch) {
        let slice = part.len().div_ceil(threads).max(MIN_SLICE);
        let rendered: Vec<serde_json::Result<Vec<u8>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = part.chunks(slice).map(|c| scope.spawn(move || render_items(c))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(serde_json::Error::io(panicked())))).collect()
        });
        for r in rendered {
            let bytes = r?;
            if !first {
                w.write_all(b",").map_err(io)?;
            }
            first = false;
            w.write_all(&bytes).map_err(io)?;
        }
    }
    w.write_all(b"\n  ],\n").map_err(io)?;
    w.write_all(&shell.as_bytes()[at + EMPTY.len()..]).map_err(io)?;
    w.write_all(b"\n").map_err(io)
}

/// Below this many findings a thread costs more than it saves.
const MIN_SLICE: usize = 256;

fn panicked() -> std::io::Error {
    std::io::Error::other("a rendering thread panicked")
}

/// Findings as the items of the pretty-printed `findings` array (at depth 2), comma-separated.
/// JSON strings never hold a raw newline, so indenting after each newline is exact.
fn render_items(findings: &[Finding]) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(findings.len() * 2048);
    let mut one = Vec::with_capacity(4096);
    for (i, f) in findings.iter().enumerate() {
        one.clear();
        serde_json::to_writer_pretty(&mut one, f)?;
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"\n    ");
        for line in one.split_inclusive(|b| *b == b'\n') {
            out.extend_from_slice(line);
            if line.ends_with(b"\n") {
                out.extend_from_slice(b"    ");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_rendered_in_parallel_read_exactly_as_serde_writes_them() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures");
        let input = crate::source::load_paths(&[dir], &mut std::io::empty(), crate::yaml::Limits::default());
        let (mut audit, objects) = crate::audit::run_with_objects(
            input,
            &crate::config::Config::defaults(),
            &crate::audit::RunOptions::default(),
        );
        crate::fix::enrich(&mut audit, &objects);
        assert!(
            audit.findings.iter().any(|f| f.fix.as_ref().is_some_and(|x| x.suggestion.is_some() && x.patch.is_some()))
        );
        assert!(audit.findings.len() > 2 * MIN_SLICE, "the fixtures give {} findings", audit.findings.len());
        let mut expected = serde_json::to_vec_pretty(&audit).unwrap();
        expected.push(b'\n');
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
