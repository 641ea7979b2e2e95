//! CSV with a header row: each data row is an event whose fields are named
//! by the header. Rows are read by one thread (the `csv` crate handles
//! quoting and multi-line cells) and turned into events in parallel batches.

use std::borrow::Cow;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ::csv::{ByteRecord, ReaderBuilder};
use vigie_core::{Event, ValueKind};

use crate::input::Stream;
use crate::parallel;
use crate::sink::Sink;
use crate::windows::{self, RecState};
use crate::ReadOptions;

const BATCH_ROWS: usize = 2048;
const BATCH_BYTES: usize = 1 << 20;
/// The csv reader reads ahead this much on top of the record it is on.
const READ_AHEAD_SLACK: u64 = 64 * 1024;

struct Header {
    names: Vec<String>,
    /// Per column, its slot for `windows::finish`.
    slots: Vec<Option<usize>>,
}

struct Batch {
    first_row: u64,
    rows: Vec<ByteRecord>,
}

pub(crate) fn read(stream: Stream<'_>, delimiter: u8, opts: &ReadOptions, sink: &Sink<'_>) {
    let since_reset = Arc::new(AtomicU64::new(0));
    let limited = Limited {
        inner: stream,
        read: since_reset.clone(),
        limit: (opts.max_record_bytes as u64).saturating_add(READ_AHEAD_SLACK),
    };
    let mut reader = ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(limited);
    let header = match reader.byte_headers() {
        Ok(h) => header(h),
        Err(e) => {
            sink.error(None, format!("cannot read the CSV header: {e}"));
            return;
        }
    };
    since_reset.store(0, Ordering::Relaxed);

    let mut rows_read = 0u64;
    let mut done = false;
    let batches = std::iter::from_fn(|| {
        if done {
            return None;
        }
        let mut batch = Batch {
            first_row: rows_read + 1,
            rows: Vec::new(),
        };
        let mut bytes = 0;
        while batch.rows.len() < BATCH_ROWS && bytes < BATCH_BYTES {
            let mut row = ByteRecord::new();
            match reader.read_byte_record(&mut row) {
                Ok(true) => {
                    since_reset.store(0, Ordering::Relaxed);
                    rows_read += 1;
                    bytes += row.as_slice().len();
                    batch.rows.push(row);
                }
                Ok(false) => {
                    done = true;
                    break;
                }
                Err(e) => {
                    sink.error(Some(rows_read + 1), format!("cannot read CSV row: {e}"));
                    done = true;
                    break;
                }
            }
        }
        (!batch.rows.is_empty()).then_some(batch)
    });
    parallel::for_each(
        batches,
        || (Event::new(opts.names.clone()), RecState::default()),
        |(event, state), batch| {
            for (i, row) in batch.rows.iter().enumerate() {
                let number = batch.first_row + i as u64;
                row_event(event, state, &header, row, number, sink);
                sink.event(event, number);
            }
        },
    );
}

fn header(raw: &ByteRecord) -> Header {
    let names: Vec<String> = raw
        .iter()
        .enumerate()
        .map(|(i, cell)| {
            let name = String::from_utf8_lossy(cell);
            let name = name.trim();
            if name.is_empty() {
                format!("_column{}", i + 1)
            } else {
                name.to_owned()
            }
        })
        .collect();
    let slots = names.iter().map(|n| windows::top_slot(n)).collect();
    Header { names, slots }
}

fn row_event(
    event: &mut Event,
    state: &mut RecState,
    header: &Header,
    row: &ByteRecord,
    number: u64,
    sink: &Sink<'_>,
) {
    event.clear();
    state.reset();
    if row.len() != header.names.len() {
        sink.warning(
            Some(number),
            format!(
                "row has {} field(s), the header has {}",
                row.len(),
                header.names.len()
            ),
        );
    }
    let mut extra_name = String::new();
    for (i, cell) in row.iter().enumerate() {
        let value: Cow<'_, str> = String::from_utf8_lossy(cell);
        let index = match header.names.get(i) {
            Some(name) => event.push(name, &value, ValueKind::Str),
            None => {
                extra_name.clear();
                extra_name.push_str("_extra");
                extra_name.push_str(&(i + 1 - header.names.len()).to_string());
                event.push(&extra_name, &value, ValueKind::Str)
            }
        };
        if let Some(Some(slot)) = header.slots.get(i) {
            state.note(*slot, index, &value);
        }
    }
    windows::finish(event, state);
}

/// Fails the read once one record has taken more than `limit` bytes, so an
/// unterminated quote cannot pull a whole file into memory.
struct Limited<R> {
    inner: R,
    read: Arc<AtomicU64>,
    limit: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.read.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "record longer than the record limit ({} bytes; unbalanced quote?)",
                    self.limit - READ_AHEAD_SLACK
                ),
            ));
        }
        Ok(n)
    }
}
