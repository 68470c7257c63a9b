//! Snapshot files: what `snapshot --cluster` read, replayed by `analyze --snapshot`.
//!
//! A versioned JSON document, zstd-compressed: per cluster, the context, the server version, the
//! read time, the namespaces it was limited to, what could not be read (gaps) and the objects as
//! read (managed fields and the last-applied annotation already dropped). The replay gives its
//! objects the snapshot's context and UIDs, so it audits exactly as the live run that wrote it.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ClusterRead;
use crate::model::{Object, Origin};
use crate::source::{Gap, Input};

/// The `format` field of every snapshot.
pub const FORMAT: &str = "clustergpt-snapshot";

/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// zstd frames start with these bytes; anything else is read as plain JSON.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The most a snapshot may decompress to: a bomb stops here instead of filling memory.
const MAX_DECOMPRESSED: u64 = 8 << 30;

/// A snapshot file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written by this build.
    pub version: u32,
    /// One entry per context read.
    pub clusters: Vec<ClusterSnapshot>,
}

/// One cluster in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    /// The context name.
    pub context: String,
    /// `gitVersion` of the API server.
    #[serde(default)]
    pub server_version: Option<String>,
    /// When it was read (RFC 3339, UTC): the replay's "now".
    pub read_at: String,
    /// Namespaces the read was limited to (empty: all).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// `aggregated` or `legacy`.
    #[serde(default)]
    pub discovery: String,
    /// What could not be read.
    #[serde(default)]
    pub gaps: Vec<Gap>,
    /// What the metrics API reported (absent in snapshots without it).
    #[serde(default)]
    pub usage: Option<crate::cost::ClusterUsage>,
    /// Crashing containers' previous logs as classified at read time (`--logs`): the class and one
    /// redacted line each, never the log itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<crate::rules::diagnosis::logs::PreviousLog>,
    /// Container usage over a window from Prometheus (`--prometheus`), as reduced at read time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<crate::cost::prometheus::UsageHistory>,
    /// The objects, as read.
    pub objects: Vec<Value>,
}

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// File system or compression.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Not a snapshot, or a damaged one.
    #[error("{path}: not a clustergpt snapshot: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Snapshot {
    /// The snapshot of live reads.
    #[must_use]
    pub fn of(reads: &[ClusterRead]) -> Snapshot {
        Snapshot {
            format: FORMAT.to_string(),
            version: VERSION,
            clusters: reads
                .iter()
                .map(|r| ClusterSnapshot {
                    context: r.context.clone(),
                    server_version: r.server_version.clone(),
                    read_at: r.read_at.clone(),
                    namespaces: r.namespaces.clone(),
                    discovery: r.discovery.clone(),
                    gaps: r.gaps.clone(),
                    usage: Some(r.usage.clone()),
                    logs: r.logs.clone(),
                    history: r.history.clone(),
                    objects: r.objects.iter().map(|o| o.body.clone()).collect(),
                })
                .collect(),
        }
    }

    /// Writes it compressed (zstd level 3).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let io = |source: std::io::Error| Error::Io { path: path.display().to_string(), source };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut encoder = zstd::Encoder::new(std::io::BufWriter::new(file), 3).map_err(io)?;
        serde_json::to_writer(&mut encoder, self).map_err(|e| io(std::io::Error::other(e)))?;
        let mut inner = encoder.finish().map_err(io)?;
        inner.flush().map_err(io)
    }

    /// Reads a snapshot (zstd-compressed or plain JSON).
    ///
    /// # Errors
    /// When the file cannot be read, is not a snapshot, or is of a newer version.
    pub fn read(path: &Path) -> Result<Snapshot, Error> {
        let name = path.display().to_string();
        let io = |source: std::io::Error| Error::Io { path: name.clone(), source };
        let mut file = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
        let mut magic = [0u8; 4];
        let n = read_prefix(&mut file, &mut magic).map_err(io)?;
        let head = std::io::Cursor::new(magic[..n].to_vec()).chain(file);
        let value: Value = if magic == ZSTD_MAGIC {
            let decoder = zstd::Decoder::new(head).map_err(io)?;
            serde_json::from_reader(decoder.take(MAX_DECOMPRESSED))
        } else {
            serde_json::from_reader(head.take(MAX_DECOMPRESSED))
        }
        .map_err(|e| Error::Format { path: name.clone(), message: e.to_string() })?;
        Snapshot::from_value(value).map_err(|message| Error::Format { path: name.clone(), message })
    }

    /// Checks the header before decoding the rest, so a newer file says so.
    fn from_value(value: Value) -> Result<Snapshot, String> {
        if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(format!("no `format: {FORMAT}` field"));
        }
        match value.get("version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => return Err(format!("version {v}; this clustergpt reads version {VERSION}: upgrade it")),
            None => return Err("no `version` field".to_string()),
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// The latest read time: the replay's "now".
    #[must_use]
    pub fn read_at(&self) -> Option<&str> {
        self.clusters.iter().map(|c| c.read_at.as_str()).max()
    }

    /// The audit input: objects with `Origin::Snapshot` (same context and UIDs as the live run).
    #[must_use]
    pub fn into_input(self, path: &str) -> Input {
        let mut input = Input::default();
        for c in self.clusters {
            input.gaps.extend(c.gaps);
            input.usage.extend(c.usage);
            input.logs.extend(c.logs);
            input.history.extend(c.history);
            for body in c.objects {
                let uid = body.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
                let origin = Origin::Snapshot { path: path.to_string(), context: c.context.clone(), uid };
                input.objects.push(Object::from_body(body, origin));
            }
        }
        input
    }
}

/// Fills `buf` as far as the input goes; returns how many bytes were read.
fn read_prefix(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checked() {
        assert!(Snapshot::from_value(serde_json::json!({"format": "x"})).is_err());
        let newer = serde_json::json!({"format": FORMAT, "version": 99, "clusters": []});
        assert!(Snapshot::from_value(newer).is_err_and(|e| e.contains("version 99")));
        let ok = serde_json::json!({"format": FORMAT, "version": VERSION, "clusters": []});
        assert!(Snapshot::from_value(ok).is_ok());
    }
}
