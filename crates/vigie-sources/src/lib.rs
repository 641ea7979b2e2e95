//! vigie-sources: everything between a path on the command line and an
//! [`Event`] handed to the detectors.
//!
//! * [`discover()`] expands files and folders into a sorted list of [`Input`]s.
//! * [`read_input`] sniffs what an input holds from its first bytes (never
//!   from its name), undoes gzip, and streams its records as events:
//!   EVTX (through the `evtx` crate), JSON lines, JSON documents (objects,
//!   arrays, `value`/`records`/`Records` envelopes) and CSV with a header.
//! * JSON is flattened by a serde visitor that walks the text once and pushes
//!   fields straight into a reused [`Event`]; no `serde_json::Value` tree is
//!   built per record.
//! * Windows events come out the same whether they were read from EVTX, from
//!   `evtx_dump`'s JSON (`{"Event":{"System":..,"EventData":..}}`) or from the
//!   flat shape of OTRF/Mordor and SIEM exports (see the `windows` module).
//! * Big inputs are read by one thread and processed in parallel on the rayon
//!   pool (EVTX chunks, batches of lines or rows), so memory stays bounded.
//!
//! * Microsoft 365 and Entra ID records, in whichever export shape they
//!   arrive, are recognised and normalised by the [`cloud`] module just
//!   before they are handed on: one event per record, its Sigma logsource,
//!   its timestamp, Sigma's field names as aliases, duplicates dropped.
//!
//! Nothing here panics on bad bytes: every problem becomes a [`Diagnostic`]
//! naming the input, the record when known, and the reason; the records
//! around it still come through.

use std::path::PathBuf;
use std::sync::Arc;

use vigie_core::{Event, FieldNames};

pub mod cloud;
mod csv;
mod discover;
mod evtx;
mod flatten;
mod input;
mod json;
mod mapped;
mod parallel;
mod sink;
mod sniff;
mod time;
mod windows;

pub use discover::discover;

/// One thing to read: a file, or standard input when `path` is `-`.
#[derive(Clone, Debug)]
pub struct Input {
    /// The path to open; `-` means standard input.
    pub path: PathBuf,
    /// How the path is shown in diagnostics and alerts.
    pub display: Arc<str>,
    /// Size in bytes as found by [`discover()`] (0 for standard input); the
    /// denominator of a progress bar fed by [`EventHandler::on_bytes`].
    pub size: u64,
}

impl Input {
    /// Standard input.
    pub fn stdin() -> Self {
        Input {
            path: PathBuf::from("-"),
            display: Arc::from("<stdin>"),
            size: 0,
        }
    }

    /// Whether this input is standard input.
    pub fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Something odd that did not lose data, or lost very little (a ragged
    /// CSV row, an empty file).
    Warning,
    /// Data that could not be read: a record, a chunk or a whole input.
    Error,
}

/// A problem found while discovering or reading an input.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub path: Arc<str>,
    /// Record number (EVTX record id, line, CSV row, array index) when the
    /// problem is tied to one record.
    pub record: Option<u64>,
    pub severity: Severity,
    pub reason: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        match self.record {
            Some(record) => write!(
                f,
                "{level}: {}: record {record}: {}",
                self.path, self.reason
            ),
            None => write!(f, "{level}: {}: {}", self.path, self.reason),
        }
    }
}

/// Receives what [`read_input`] finds. Called from several rayon threads at
/// once, hence `Sync` and `&self`.
pub trait EventHandler: Sync {
    /// One record. The event is reused for the next record once this returns.
    fn on_event(&self, event: &Event);
    fn on_diagnostic(&self, d: Diagnostic);
    /// `n` more bytes of the input (as stored, i.e. compressed for gzip) have
    /// been consumed; for progress reporting.
    fn on_bytes(&self, _n: u64) {}
}

/// Largest single record (JSON line, JSON document held in memory, CSV row)
/// read by default.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 256 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The interned field names events are built against (the detectors'
    /// table).
    pub names: Arc<FieldNames>,
    /// Records longer than this are reported and skipped without being
    /// buffered whole (default [`DEFAULT_MAX_RECORD_BYTES`]).
    pub max_record_bytes: usize,
    /// Read big plain JSON files in place through a memory map (default)
    /// rather than copying them into buffers; see the `mapped` module for
    /// the one risk, a file truncated by another process during the hunt.
    pub map_files: bool,
    /// Read EVTX records with vigie's own BinXML reader where it can
    /// (default), else every record through the `evtx` crate's JSON
    /// rendering; both give the same events (see the `evtx` module).
    pub evtx_binxml: bool,
    /// Cloud log settings and state shared by every input of a run (time
    /// zone of locale dates, field mappings, the duplicate filter).
    pub cloud: cloud::CloudOptions,
}

impl ReadOptions {
    /// Options for events built against `names`, plus the names the cloud
    /// normaliser looks up (ids already given keep their value).
    pub fn new(names: Arc<FieldNames>) -> Self {
        ReadOptions::with_cloud(names, cloud::CloudOptions::default())
    }

    /// Like [`ReadOptions::new`] with these cloud settings.
    pub fn with_cloud(names: Arc<FieldNames>, cloud: cloud::CloudOptions) -> Self {
        let mut options = ReadOptions {
            names,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            map_files: true,
            evtx_binxml: true,
            cloud,
        };
        options.prepare();
        options
    }

    /// Adds the names the cloud normaliser looks up to `names`, unless they
    /// are there (callers that change `names` or `cloud` after building the
    /// options need not call it: every read does when needed).
    pub fn prepare(&mut self) {
        if !cloud::names_ready(&self.names, &self.cloud.fields) {
            let mut names = (*self.names).clone();
            windows::register_names(&mut names);
            cloud::register_names(&mut names, &self.cloud.fields);
            self.names = Arc::new(names);
        }
    }

    /// These options, prepared (see [`ReadOptions::prepare`]).
    fn prepared(&self) -> std::borrow::Cow<'_, ReadOptions> {
        if cloud::names_ready(&self.names, &self.cloud.fields) {
            std::borrow::Cow::Borrowed(self)
        } else {
            let mut copy = self.clone();
            copy.prepare();
            std::borrow::Cow::Owned(copy)
        }
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions::new(Arc::new(FieldNames::new()))
    }
}

/// The formats [`read_input`] recognises (gzip is undone before sniffing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Evtx,
    JsonLines,
    JsonDocument,
    Csv,
}

/// What reading one input gave.
#[derive(Default, Debug, Clone)]
pub struct FileStats {
    /// `None` when the content was not recognised (or could not be read).
    pub format: Option<Format>,
    /// Events passed to [`EventHandler::on_event`].
    pub events: u64,
    /// Diagnostics of [`Severity::Error`].
    pub errors: u64,
    /// Cloud records dropped because an earlier one (in this input or any
    /// other of the run) had the same record id.
    pub duplicates: u64,
    /// EVTX records read by vigie's own BinXML reader; the other EVTX
    /// events went through the `evtx` crate's JSON rendering.
    pub binxml_records: u64,
}

/// Reads one input, calling `handler.on_event` for each record (possibly
/// from several rayon threads at once) and `handler.on_diagnostic` for every
/// problem. Every event gets `source = source_index` and `record` = EVTX
/// EventRecordID, 1-based line number (JSON lines), 1-based data row (CSV)
/// or 1-based index of the record in a JSON document.
pub fn read_input(
    input: &Input,
    source_index: u32,
    opts: &ReadOptions,
    handler: &dyn EventHandler,
) -> FileStats {
    let opts = opts.prepared();
    let sink = sink::Sink::new(handler, input.display.clone(), source_index, &opts.cloud);
    let format = input::read(input::Source::Input(input), &opts, &sink);
    sink.stats(format)
}

/// Like [`read_input`], for a stream that is not a file on disk (a pipe, a
/// socket, a member of an archive): the same sniffing and readers, except
/// that EVTX, which needs to seek, is read into memory first. `display`
/// names the stream in diagnostics.
pub fn read_reader(
    reader: impl std::io::Read + Send,
    display: Arc<str>,
    source_index: u32,
    opts: &ReadOptions,
    handler: &dyn EventHandler,
) -> FileStats {
    let opts = opts.prepared();
    let sink = sink::Sink::new(handler, display, source_index, &opts.cloud);
    let format = input::read(input::Source::Reader(Box::new(reader)), &opts, &sink);
    sink.stats(format)
}
