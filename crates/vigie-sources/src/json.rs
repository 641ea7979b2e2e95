//! JSON lines and JSON documents.
//!
//! JSON lines are read by one thread into batches of whole lines (about
//! 256 KiB each) that the rayon pool parses in parallel; `par_bridge` pulls a
//! batch only when a worker is free, so memory stays bounded whatever the
//! file size. A line longer than `max_record_bytes` is reported and skipped
//! as it streams past, never held whole.
//!
//! A JSON document (an object, an array, several concatenated values) is
//! parsed in one pass, from memory when it fits in `max_record_bytes` and
//! straight from the stream otherwise; its records are numbered by index.

use std::io::{self, BufRead, BufReader};

use vigie_core::Event;

use crate::flatten::{Flattener, Outcome};
use crate::input::Stream;
use crate::mapped::Mapped;
use crate::parallel;
use crate::sink::Sink;
use crate::ReadOptions;

/// Bytes of lines per parallel batch: big enough to amortise the hand-off,
/// small enough that a 2 MiB file still keeps two cores busy, and that a
/// batch is still in the core's L2 cache (512 KB here) when it is parsed
/// after the pass that counts its lines (1 MiB batches were parsed about
/// 5% slower).
const BATCH_BYTES: usize = 1 << 18;
const READ_BUFFER: usize = 256 * 1024;

pub(crate) fn read_lines(stream: Stream<'_>, opts: &ReadOptions, sink: &Sink<'_>) {
    let reader = BufReader::with_capacity(READ_BUFFER, stream);
    let mut batcher = LineBatcher::new(reader, opts.max_record_bytes, sink);
    parallel::for_each(
        std::iter::from_fn(|| batcher.next_batch()),
        || Flattener::new(&opts.names, opts.max_record_bytes),
        |flattener, batch| {
            parse_batch(
                flattener,
                batch.first_line,
                &batch.data,
                opts.max_record_bytes,
                sink,
            )
        },
    );
}

/// JSON lines of a mapped file:
/// batches are slices of the map, cut after the first newline past
/// [`BATCH_BYTES`]; a worker releases a batch's pages once it is parsed. An
/// over-long line is still skipped by [`parse_line`], without having been
/// copied.
pub(crate) fn read_lines_mapped(mapped: &Mapped, opts: &ReadOptions, sink: &Sink<'_>) {
    let data = mapped.data();
    let total = mapped.file_len();
    let mut pos = 0;
    let mut next_line = 1u64;
    let batches = std::iter::from_fn(|| {
        let rest = data.get(pos..).filter(|rest| !rest.is_empty())?;
        let len = match rest.get(BATCH_BYTES - 1..) {
            Some(tail) => memchr::memchr(b'\n', tail).map_or(rest.len(), |i| BATCH_BYTES + i),
            None => rest.len(),
        };
        let batch = (next_line, pos..pos + len);
        next_line += memchr::memchr_iter(b'\n', &rest[..len]).count() as u64;
        pos += len;
        sink.bytes_up_to(len as u64, total);
        Some(batch)
    });
    parallel::for_each(
        batches,
        || Flattener::new(&opts.names, opts.max_record_bytes),
        |flattener, (first_line, range)| {
            let lines = &data[range.clone()];
            parse_batch(flattener, first_line, lines, opts.max_record_bytes, sink);
            mapped.release(range);
        },
    );
}

/// Whole lines (the last one maybe without its newline) and the number of
/// the first.
struct Batch {
    first_line: u64,
    data: Vec<u8>,
}

struct LineBatcher<'s, R> {
    reader: R,
    max_line: usize,
    sink: &'s Sink<'s>,
    /// The unfinished line carried over to the next batch.
    carry: Vec<u8>,
    /// Number of the first line of `carry`.
    next_line: u64,
    /// Dropping an over-long line until its newline.
    skipping: bool,
    done: bool,
}

impl<'s, R: BufRead> LineBatcher<'s, R> {
    fn new(reader: R, max_line: usize, sink: &'s Sink<'s>) -> Self {
        LineBatcher {
            reader,
            max_line,
            sink,
            carry: Vec::new(),
            next_line: 1,
            skipping: false,
            done: false,
        }
    }

    fn next_batch(&mut self) -> Option<Batch> {
        if self.done {
            return None;
        }
        let first_line = self.next_line;
        let mut data = std::mem::take(&mut self.carry);
        // Complete lines in `data`, and where the unfinished one starts.
        let mut lines = 0u64;
        let mut line_start = 0;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.sink
                        .error(Some(first_line + lines), format!("read error: {e}"));
                    self.done = true;
                    break;
                }
            };
            if buf.is_empty() {
                self.done = true;
                break;
            }
            if self.skipping {
                let used = match memchr::memchr(b'\n', buf) {
                    Some(i) => {
                        // The skipped line stays in the numbering as a blank.
                        self.skipping = false;
                        data.push(b'\n');
                        lines += 1;
                        line_start = data.len();
                        i + 1
                    }
                    None => buf.len(),
                };
                self.reader.consume(used);
                continue;
            }
            let appended = data.len();
            data.extend_from_slice(buf);
            let n = buf.len();
            self.reader.consume(n);
            for i in memchr::memchr_iter(b'\n', &data[appended..]) {
                lines += 1;
                line_start = appended + i + 1;
            }
            if data.len() - line_start > self.max_line {
                self.sink.error(
                    Some(first_line + lines),
                    format!(
                        "line longer than the record limit ({} bytes), skipped",
                        self.max_line
                    ),
                );
                data.truncate(line_start);
                self.skipping = true;
                continue;
            }
            if line_start >= BATCH_BYTES {
                break;
            }
        }
        if !self.done {
            self.carry = data.split_off(line_start);
        }
        self.next_line = first_line + lines;
        if data.is_empty() && self.done {
            return None;
        }
        Some(Batch { first_line, data })
    }
}

fn parse_batch(
    flattener: &mut Flattener,
    first_line: u64,
    data: &[u8],
    max_line: usize,
    sink: &Sink<'_>,
) {
    let mut number = first_line;
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let line = &data[start..end];
        parse_line(flattener, line, number, max_line, sink);
        number += 1;
        start = end + 1;
    }
}

fn parse_line(
    flattener: &mut Flattener,
    line: &[u8],
    number: u64,
    max_line: usize,
    sink: &Sink<'_>,
) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    if line.len() > max_line {
        sink.error(
            Some(number),
            format!("line longer than the record limit ({max_line} bytes), skipped"),
        );
        return;
    }
    let mut emit = |ev: &mut Event| sink.event(ev, number);
    match flattener.parse_record(line, &mut emit) {
        Ok(outcome) => report_skipped(outcome, Some(number), sink),
        Err(e) => sink.error(Some(number), line_error(&e)),
    }
}

/// serde's message with the position made relative to the line.
fn line_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |at| &text[..at]);
    if e.column() > 0 {
        format!("invalid JSON: {message} at column {}", e.column())
    } else {
        format!("invalid JSON: {message}")
    }
}

fn report_skipped(outcome: Outcome, record: Option<u64>, sink: &Sink<'_>) {
    if outcome.skipped > 0 {
        sink.warning(
            record,
            format!(
                "{} array element(s) that are not JSON objects skipped",
                outcome.skipped
            ),
        );
    }
}

pub(crate) fn read_document(mut stream: Stream<'_>, opts: &ReadOptions, sink: &Sink<'_>) {
    let limit = opts.max_record_bytes;
    if let Err(e) = stream.fill_to(limit.saturating_add(1)) {
        sink.error(None, format!("read error: {e}"));
        return;
    }
    let mut flattener = Flattener::new(&opts.names, opts.max_record_bytes);
    if stream.at_eof() {
        document_in_memory(stream.peek(), &mut flattener, sink);
    } else {
        // Too big to hold: parse as it streams (serde_json reads the bytes
        // one at a time from the buffer, slower but bounded in memory).
        let reader = BufReader::with_capacity(READ_BUFFER, stream);
        let mut de = serde_json::Deserializer::from_reader(reader);
        document_values(&mut de, &mut flattener, sink, 0);
    }
}

/// A JSON document of a mapped file, parsed in place when it is within the
/// record limit (else from `stream`, as if it were not mapped).
pub(crate) fn read_document_mapped(
    mapped: &Mapped,
    stream: Stream<'_>,
    opts: &ReadOptions,
    sink: &Sink<'_>,
) {
    let bytes = mapped.data();
    if bytes.len() > opts.max_record_bytes {
        return read_document(stream, opts, sink);
    }
    let mut flattener = Flattener::new(&opts.names, opts.max_record_bytes);
    sink.bytes_up_to(bytes.len() as u64, mapped.file_len());
    document_in_memory(bytes, &mut flattener, sink);
}

/// A whole JSON document held in memory.
fn document_in_memory(bytes: &[u8], flattener: &mut Flattener, sink: &Sink<'_>) {
    // Valid UTF-8 checked once, in bulk, rather than string by string.
    match crate::flatten::utf8(bytes) {
        Some(text) => {
            let mut index = 0u64;
            let mut emit = |ev: &mut Event| {
                index += 1;
                sink.event(ev, index);
            };
            match flattener.parse_document(text, &mut emit) {
                Ok(outcomes) => {
                    for outcome in outcomes {
                        report_skipped(outcome, None, sink);
                    }
                }
                // What the fast reader declines, serde_json reads again
                // (its events and error messages are the reference),
                // without the events already emitted.
                Err(emitted) => {
                    let mut de = serde_json::Deserializer::from_str(text);
                    document_values(&mut de, flattener, sink, emitted);
                }
            }
        }
        None => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            document_values(&mut de, flattener, sink, 0);
        }
    }
}

/// Reads JSON values until the input ends: one for a normal document,
/// several for concatenated pretty-printed objects (`jq .` output).
/// The first `skip` events are numbered but not emitted (the fast reader
/// emitted them already).
fn document_values<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    flattener: &mut Flattener,
    sink: &Sink<'_>,
    mut skip: u64,
) {
    let mut index = 0u64;
    loop {
        let mut emit = |ev: &mut Event| {
            index += 1;
            if skip > 0 {
                skip -= 1;
            } else {
                sink.event(ev, index);
            }
        };
        match flattener.parse(&mut *de, &mut emit) {
            Ok(outcome) => {
                if outcome.root_pending {
                    flattener.emit_root(&mut emit);
                }
                report_skipped(outcome, None, sink);
            }
            Err(e) => {
                sink.error(Some(index + 1), format!("invalid JSON: {e}"));
                return;
            }
        }
        if de.end().is_ok() {
            return;
        }
    }
}
