//! The per-input front of an [`EventHandler`]: stamps events with their
//! source and record number, turns problems into [`Diagnostic`]s and keeps
//! the counts that end up in [`crate::FileStats`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use vigie_core::{Event, EventKind};

use crate::cloud::{self, CloudOptions, Verdict};
use crate::{Diagnostic, EventHandler, FileStats, Format, Severity};

pub(crate) struct Sink<'a> {
    handler: &'a dyn EventHandler,
    path: Arc<str>,
    source: u32,
    events: AtomicU64,
    errors: AtomicU64,
    duplicates: AtomicU64,
    bytes: AtomicU64,
    binxml: AtomicU64,
    cloud: &'a CloudOptions,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(
        handler: &'a dyn EventHandler,
        path: Arc<str>,
        source: u32,
        cloud: &'a CloudOptions,
    ) -> Self {
        Sink {
            handler,
            path,
            source,
            events: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            binxml: AtomicU64::new(0),
            cloud,
        }
    }

    /// Hands one finished event to the handler. Generic events go through
    /// the cloud normaliser first (Windows events never do: they are the
    /// hot path and are never cloud records).
    pub(crate) fn event(&self, event: &mut Event, record: u64) {
        if event.kind == EventKind::Generic {
            match cloud::normalise(event, self.cloud) {
                Verdict::Keep => {}
                Verdict::Duplicate => {
                    self.duplicates.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Verdict::Bad(reason) => {
                    self.error(Some(record), reason);
                    return;
                }
            }
        }
        event.source = self.source;
        event.record = record;
        self.events.fetch_add(1, Ordering::Relaxed);
        self.handler.on_event(event);
    }

    pub(crate) fn error(&self, record: Option<u64>, reason: impl Into<String>) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.diagnostic(record, Severity::Error, reason.into());
    }

    pub(crate) fn warning(&self, record: Option<u64>, reason: impl Into<String>) {
        self.diagnostic(record, Severity::Warning, reason.into());
    }

    fn diagnostic(&self, record: Option<u64>, severity: Severity, reason: String) {
        self.handler.on_diagnostic(Diagnostic {
            path: self.path.clone(),
            record,
            severity,
            reason,
        });
    }

    /// Reports `n` bytes consumed.
    pub(crate) fn bytes(&self, n: u64) {
        if n > 0 {
            self.bytes.fetch_add(n, Ordering::Relaxed);
            self.handler.on_bytes(n);
        }
    }

    /// Reports up to `n` bytes, never taking the total past `limit` (for
    /// readers that count in fixed-size chunks).
    pub(crate) fn bytes_up_to(&self, n: u64, limit: u64) {
        let mut granted = 0;
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |done| {
                granted = n.min(limit.saturating_sub(done));
                Some(done + granted)
            });
        if granted > 0 {
            self.handler.on_bytes(granted);
        }
    }

    /// Counts EVTX records read by the BinXML reader.
    pub(crate) fn binxml_records(&self, n: u64) {
        self.binxml.fetch_add(n, Ordering::Relaxed);
    }

    /// The counts of this input, for [`crate::read_input`].
    pub(crate) fn stats(&self, format: Option<Format>) -> FileStats {
        FileStats {
            format,
            events: self.events.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            binxml_records: self.binxml.load(Ordering::Relaxed),
        }
    }
}
