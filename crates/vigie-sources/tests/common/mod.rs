//! Helpers shared by the integration tests: a handler that records
//! everything, and access to the reference data next to the repository.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vigie_core::{Event, EventKind, FieldNames, ValueKind};
use vigie_sources::{
    read_input, read_reader, Diagnostic, EventHandler, FileStats, Input, ReadOptions, Severity,
};

/// One event, copied out of the reused buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Got {
    pub record: u64,
    pub source: u32,
    pub kind: EventKind,
    pub timestamp: Option<i64>,
    pub fields: Vec<(String, String, ValueKind)>,
    /// Values of a few names looked up through the event's index (so
    /// aliases show).
    pub computer: Option<String>,
    pub provider: Option<String>,
}

impl Got {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _, _)| k == key)
            .map(|(_, v, _)| v.as_str())
            .collect()
    }
}

#[derive(Default)]
pub struct Collect {
    pub events: Mutex<Vec<Got>>,
    pub diagnostics: Mutex<Vec<Diagnostic>>,
    pub bytes: AtomicU64,
}

impl EventHandler for Collect {
    fn on_event(&self, event: &Event) {
        let got = Got {
            record: event.record,
            source: event.source,
            kind: event.kind,
            timestamp: event.timestamp,
            fields: event
                .iter()
                .map(|(k, v)| (k.to_owned(), v.text.to_owned(), v.kind))
                .collect(),
            computer: event.get("Computer").map(str::to_owned),
            provider: event.get("Provider_Name").map(str::to_owned),
        };
        self.events.lock().unwrap().push(got);
    }

    fn on_diagnostic(&self, d: Diagnostic) {
        self.diagnostics.lock().unwrap().push(d);
    }

    fn on_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
}

/// What reading one input gave, events sorted by record number.
pub struct Read {
    pub stats: FileStats,
    pub events: Vec<Got>,
    pub diagnostics: Vec<Diagnostic>,
    pub bytes: u64,
}

impl Read {
    pub fn errors(&self) -> Vec<&Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect()
    }

    pub fn warnings(&self) -> Vec<&Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect()
    }

    /// Every diagnostic as text, sorted (parallel readers report in any
    /// order).
    pub fn sorted_diagnostics(&self) -> Vec<String> {
        let mut d: Vec<String> = self.diagnostics.iter().map(|d| d.to_string()).collect();
        d.sort();
        d
    }

    pub fn has_diagnostic(&self, record: Option<u64>, text: &str) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.record == record && d.reason.contains(text))
    }
}

pub fn options() -> ReadOptions {
    let mut names = FieldNames::new();
    for name in [
        "CommandLine",
        "Image",
        "Hostname",
        "SourceName",
        "TimeCreated",
    ] {
        names.intern(name);
    }
    ReadOptions::new(Arc::new(names))
}

fn finish(stats: FileStats, handler: Collect) -> Read {
    let mut events = handler.events.into_inner().unwrap();
    // Parallel readers emit in any order; records sharing a number (an
    // envelope on one line) are ordered by content.
    events.sort_by(|a, b| {
        let text = |g: &Got| {
            g.fields
                .iter()
                .map(|(k, v, _)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        a.record.cmp(&b.record).then_with(|| text(a).cmp(&text(b)))
    });
    Read {
        stats,
        events,
        diagnostics: handler.diagnostics.into_inner().unwrap(),
        bytes: handler.bytes.load(Ordering::Relaxed),
    }
}

pub fn read_with(path: &Path, opts: &ReadOptions) -> Read {
    let input = Input {
        path: path.to_path_buf(),
        display: Arc::from(path.to_string_lossy().as_ref()),
        size: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    };
    let handler = Collect::default();
    let stats = read_input(&input, 7, opts, &handler);
    finish(stats, handler)
}

pub fn read(path: &Path) -> Read {
    read_with(path, &options())
}

/// Reads bytes as a non-file stream (the path standard input takes).
pub fn read_stream(bytes: Vec<u8>) -> Read {
    let handler = Collect::default();
    let stats = read_reader(
        std::io::Cursor::new(bytes),
        Arc::from("<stream>"),
        7,
        &options(),
        &handler,
    );
    finish(stats, handler)
}

/// Writes `bytes` to a temporary file and reads it.
pub fn read_bytes(bytes: &[u8]) -> Read {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input");
    std::fs::write(&path, bytes).unwrap();
    read(&path)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The reference data folder, when this checkout has one next to it.
pub fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: shared data not found");
        None
    }
}

/// A file under the reference data folder, or `None` (with a message).
pub fn sample(relative: &str) -> Option<PathBuf> {
    let path = shared_data()?.join(relative);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipping: {} not found", path.display());
        None
    }
}

/// A deterministic 32-bit xorshift generator (13, 17, 5) from `seed`, so
/// that a failing input can be replayed.
pub fn xorshift32(mut seed: u32) -> impl FnMut() -> u32 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    }
}
