//! EVTX: the file and its 64 KiB chunks through the `evtx` crate, records
//! through our own BinXML reader where it can.
//!
//! The file's chunks are read in order by one thread and parsed on the
//! rayon pool (`par_bridge`), each worker with its own reused state. A
//! chunk's records are first read by [`binxml`] straight into events; from
//! the first record it declines on (a template shape or value type it does
//! not plan, a damaged record), the chunk goes on through the crate: each
//! record rendered to compact JSON by the crate's fast path and flattened
//! from that text by the same visitor as evtx_dump-style JSON, which gives
//! identical events (the differential test holds our reader to it).
//!
//! The crate's own multi-threaded pipeline is not used: it blocks the
//! calling thread on a channel while its jobs run on the rayon pool, which
//! can deadlock when the caller is itself a rayon worker (as it is when the
//! CLI reads several inputs at once).

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxParser, ParserSettings};

use vigie_core::Event;

use crate::flatten::Flattener;
use crate::input::Stream;
use crate::parallel;
use crate::sink::Sink;
use crate::{Input, ReadOptions};

mod binxml;
mod chunks;
mod values;

const FILE_HEADER: u64 = 4096;
const CHUNK: u64 = 65536;
const CHUNK_HEADER: usize = 512;
const RECORD_HEADER: u64 = 24;
/// EVTX that has to be held in memory (from gzip or stdin) is refused past
/// this size rather than exhausting memory on a decompression bomb.
const MAX_IN_MEMORY: u64 = 4 << 30;

/// A chunk to parse, and how many of its bytes are real: all of them, or
/// fewer for the zero-padded remains of a cut one.
type ChunkItem = (Result<EvtxChunkData, EvtxError>, u64);

pub(crate) fn read_file(input: &Input, opts: &ReadOptions, sink: &Sink<'_>) {
    let mut file = match File::open(&input.path) {
        Ok(f) => f,
        Err(e) => return sink.error(None, format!("cannot open: {e}")),
    };
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return sink.error(None, format!("cannot read: {e}")),
    };
    let tail = read_tail(&mut file, size, sink);
    if let Err(e) = file.rewind() {
        return sink.error(None, format!("cannot read: {e}"));
    }
    let Some(count) = chunk_count(&mut file, sink) else {
        return;
    };
    run(file, count, tail, Some(size), opts, sink);
}

/// How many chunks the file has room for, once the crate has read its
/// header (and said why when it cannot).
fn chunk_count<T: Read + Seek>(data: &mut T, sink: &Sink<'_>) -> Option<u64> {
    let header_size = match EvtxParser::from_read_seek(&mut *data) {
        Ok(parser) => u64::from(parser.header().header_block_size),
        Err(e) => {
            sink.error(None, format!("not a readable EVTX file: {}", describe(&e)));
            return None;
        }
    };
    let size = data.seek(SeekFrom::End(0)).ok()?;
    Some(size.saturating_sub(header_size) / CHUNK)
}

pub(crate) fn read_stream(stream: Stream<'_>, opts: &ReadOptions, sink: &Sink<'_>) {
    let mut data = Vec::new();
    if let Err(e) = stream.take(MAX_IN_MEMORY + 1).read_to_end(&mut data) {
        return sink.error(None, format!("read error: {e}"));
    }
    if data.len() as u64 > MAX_IN_MEMORY {
        return sink.error(
            None,
            format!("compressed or piped EVTX larger than {MAX_IN_MEMORY} bytes; decompress it to a file first"),
        );
    }
    let size = data.len() as u64;
    let mut cursor = Cursor::new(data);
    let tail = read_tail(&mut cursor, size, sink);
    cursor.set_position(0);
    let Some(count) = chunk_count(&mut cursor, sink) else {
        return;
    };
    // Bytes were counted as they were read.
    run(cursor, count, tail, None, opts, sink);
}

/// The incomplete chunk at the end of a truncated file (the parser stops
/// before it), zero-padded so that its whole records can still be read.
fn read_tail<R: Read + Seek>(data: &mut R, size: u64, sink: &Sink<'_>) -> Option<ChunkItem> {
    if size <= FILE_HEADER {
        return None;
    }
    let offset = FILE_HEADER + (size - FILE_HEADER) / CHUNK * CHUNK;
    let len = size - offset;
    if len == 0 {
        return None;
    }
    let chunk_number = (offset - FILE_HEADER) / CHUNK;
    let mut bytes = Vec::with_capacity(CHUNK as usize);
    let read = data
        .seek(SeekFrom::Start(offset))
        .and_then(|_| data.by_ref().take(len).read_to_end(&mut bytes));
    if let Err(e) = read {
        sink.error(None, format!("cannot read the last chunk: {e}"));
        return None;
    }
    if bytes.len() < CHUNK_HEADER || !bytes.starts_with(b"ElfChnk\0") {
        sink.warning(
            None,
            format!(
                "{len} bytes after the last chunk that are not a chunk (truncated file?); ignored"
            ),
        );
        return None;
    }
    sink.warning(
        None,
        format!(
            "file ends inside chunk {chunk_number} ({len} of {CHUNK} bytes; truncated?): reading the records it still holds"
        ),
    );
    bytes.resize(CHUNK as usize, 0);
    let chunk = EvtxChunkData::new(bytes, false)
        .map(|mut c| {
            c.number = Some(chunk_number);
            c
        })
        .map_err(|e| EvtxError::FailedToParseChunk {
            chunk_id: chunk_number,
            source: Box::new(e),
        });
    Some((chunk, len))
}

fn run<T: Read + Seek + Send>(
    data: T,
    count: u64,
    tail: Option<ChunkItem>,
    size: Option<u64>,
    opts: &ReadOptions,
    sink: &Sink<'_>,
) {
    let settings = Arc::new(ParserSettings::new().indent(false).num_threads(1));
    let buffers = chunks::Buffers::default();
    let mut chunks = chunks::Chunks::new(data, count, buffers.clone());
    let mut failed = false;
    // The chunk walk does I/O and header parsing: guard it like the rest.
    let chunks = std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match catch_unwind(AssertUnwindSafe(|| chunks.next())) {
            Ok(next) => next.map(|chunk| (chunk, CHUNK)),
            Err(_) => {
                failed = true;
                sink.error(
                    None,
                    "the EVTX parser failed while reading chunks; rest of file skipped",
                );
                None
            }
        }
    })
    .chain(tail);
    parallel::for_each(
        chunks,
        || Pooled::take(opts),
        |worker, item| {
            worker.chunk(item, &settings, sink, &buffers);
            if let Some(size) = size {
                sink.bytes_up_to(CHUNK, size);
            }
        },
    );
    if let Some(size) = size {
        // The file header, and any rounding.
        sink.bytes_up_to(size, size);
    }
}

struct Worker {
    flattener: Flattener,
    reader: binxml::Reader,
    event: Event,
    /// Ids of the records of the current chunk read by `reader`.
    emitted: Vec<u64>,
    fast: bool,
    /// The record cap the worker was built for: a spare worker is reused
    /// only for the same (and for its events' names table).
    max_record_bytes: usize,
}

impl Worker {
    fn new(opts: &ReadOptions) -> Self {
        Worker {
            flattener: Flattener::new(&opts.names, opts.max_record_bytes),
            reader: binxml::Reader::default(),
            event: Event::new(opts.names.clone()),
            emitted: Vec::new(),
            fast: opts.evtx_binxml,
            max_record_bytes: opts.max_record_bytes,
        }
    }

    fn suits(&self, opts: &ReadOptions) -> bool {
        Arc::ptr_eq(self.event.names(), &opts.names)
            && self.max_record_bytes == opts.max_record_bytes
            && self.fast == opts.evtx_binxml
    }
}

/// Spare workers per thread, at most this many.
const SPARE_WORKERS: usize = 2;

thread_local! {
    /// Workers of files this thread finished, kept for the next file.
    /// Collections hold hundreds of small EVTX files (a few dozen records
    /// each): building a worker's events and tables for each, and growing
    /// their buffers again, cost 3% of the hunt's instructions on the
    /// attack samples and a tenth of its cache misses (fresh memory).
    static SPARE: RefCell<Vec<Worker>> = const { RefCell::new(Vec::new()) };
}

/// A worker taken from this thread's spares (or new), given back when
/// dropped.
struct Pooled(Option<Worker>);

impl Pooled {
    fn take(opts: &ReadOptions) -> Self {
        let spare = SPARE
            .try_with(|spare| {
                let mut spare = spare.try_borrow_mut().ok()?;
                let at = spare.iter().position(|w| w.suits(opts))?;
                Some(spare.swap_remove(at))
            })
            .ok()
            .flatten();
        Pooled(Some(spare.unwrap_or_else(|| Worker::new(opts))))
    }
}

impl std::ops::Deref for Pooled {
    type Target = Worker;
    fn deref(&self) -> &Worker {
        self.0
            .as_ref()
            .expect("a pooled worker is only taken on drop")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Worker {
        self.0
            .as_mut()
            .expect("a pooled worker is only taken on drop")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        // A worker a panic went through may hold a half-read record.
        if std::thread::panicking() {
            return;
        }
        let Some(worker) = self.0.take() else {
            return;
        };
        let _ = SPARE.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                if spare.len() < SPARE_WORKERS {
                    spare.push(worker);
                }
            }
        });
    }
}

impl Worker {
    fn chunk(
        &mut self,
        item: ChunkItem,
        settings: &Arc<ParserSettings>,
        sink: &Sink<'_>,
        buffers: &chunks::Buffers,
    ) {
        let (item, real_len) = item;
        let mut data = match item {
            Ok(data) => data,
            Err(e) => return sink.error(None, describe(&e)),
        };
        let number = data.number;
        // Rendering runs the evtx crate over untrusted bytes: a panic in it
        // costs this chunk's remaining records, not the run. A panic in the
        // handler is not ours to hide, and is passed on.
        let in_handler = Cell::new(false);
        let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
            let resume = if self.fast {
                let resume = self.read_fast(&data, real_len, sink, &in_handler);
                sink.binxml_records(self.emitted.len() as u64);
                resume
            } else {
                Some(CHUNK_HEADER as u64)
            };
            let Some(resume) = resume else {
                return Ok(());
            };
            let emitted = &self.emitted;
            let flattener = &mut self.flattener;
            let mut chunk = data.parse(settings.clone()).map_err(|e| describe(&e))?;
            for record in chunk.iter() {
                let record = match record {
                    Ok(record) => record,
                    // Records read already were read without error.
                    Err(e) if record_id(&e).is_some_and(|id| emitted.contains(&id)) => continue,
                    Err(e) => {
                        sink.error(record_id(&e), describe(&e));
                        continue;
                    }
                };
                if record.binxml_offset < resume + RECORD_HEADER {
                    continue;
                }
                let id = record.event_record_id;
                // In a cut chunk, a record running into the padding would
                // read zeros as its values.
                let end = record.binxml_offset + u64::from(record.binxml_size);
                if end > real_len {
                    sink.error(Some(id), "record cut by the end of the file, skipped");
                    continue;
                }
                match record.into_json_bytes() {
                    Ok(json) => {
                        in_handler.set(true);
                        flatten(flattener, &json.data, id, sink);
                        in_handler.set(false);
                    }
                    Err(e) => sink.error(Some(id), describe(&e)),
                }
            }
            Ok(())
        }));
        buffers.give_back(std::mem::take(&mut data.data));
        let chunk_name = number.map_or_else(|| "a chunk".to_owned(), |n| format!("chunk {n}"));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => sink.error(None, format!("cannot parse {chunk_name}: {reason}")),
            Err(panic) if in_handler.get() => resume_unwind(panic),
            Err(_) => sink.error(
                None,
                format!(
                    "the EVTX parser failed inside {chunk_name}; its remaining records are skipped"
                ),
            ),
        }
    }
}

impl Worker {
    /// Reads the chunk's records with [`binxml`] until one declines, and
    /// returns where that record starts (`None`: all were read).
    fn read_fast(
        &mut self,
        data: &EvtxChunkData,
        real_len: u64,
        sink: &Sink<'_>,
        in_handler: &Cell<bool>,
    ) -> Option<u64> {
        self.emitted.clear();
        let bytes = data.data.as_slice();
        if self.reader.new_chunk(bytes).is_err() {
            return Some(CHUNK_HEADER as u64);
        }
        // As the crate walks them: from the header to the free space or the
        // chunk's last record.
        let live_end = (data.header.free_space_offset as usize).min(bytes.len());
        let mut offset = CHUNK_HEADER;
        while offset < live_end {
            let Ok(raw) = binxml::record_at(bytes, offset) else {
                binxml::debug(format_args!("DECLINED RECORD AT {offset}"));
                return Some(offset as u64);
            };
            // A record running into a cut chunk's padding is the crate's
            // to report.
            if raw.end as u64 > real_len {
                return Some(offset as u64);
            }
            if self
                .reader
                .read_record(bytes, raw.binxml, &mut self.event)
                .is_err()
            {
                return Some(offset as u64);
            }
            self.emitted.push(raw.id);
            let ev = &mut self.event;
            let record = if ev.record > 0 { ev.record } else { raw.id };
            in_handler.set(true);
            sink.event(ev, record);
            in_handler.set(false);
            if raw.id == data.header.last_event_record_id {
                break;
            }
            offset = raw.end;
        }
        None
    }
}

fn flatten(flattener: &mut Flattener, json: &[u8], id: u64, sink: &Sink<'_>) {
    // Numbered by System.EventRecordID (what Event Viewer and other tools
    // show), else by the record header's number.
    let mut emit = |ev: &mut vigie_core::Event| {
        let record = if ev.record > 0 { ev.record } else { id };
        sink.event(ev, record)
    };
    if let Err(e) = flattener.parse_record(json, &mut emit) {
        sink.error(Some(id), format!("cannot read the rendered record: {e}"));
    }
}

fn record_id(e: &EvtxError) -> Option<u64> {
    match e {
        EvtxError::FailedToParseRecord { record_id, .. } => Some(*record_id),
        _ => None,
    }
}

/// An error with its chain of causes: the evtx crate's top-level messages
/// alone say little ("Failed to parse record number 5"), and its wrappers
/// add sentences that say nothing the diagnostic does not already.
fn describe(e: &dyn std::error::Error) -> String {
    const NOISE: [&str; 3] = [
        "Failed to parse record number",
        "An error occurred while trying to",
        "Failed to parse chunk number",
    ];
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(error) = next {
        let text = error.to_string();
        let repeated = parts.last().is_some_and(|last| last.ends_with(&text));
        if !repeated && !NOISE.iter().any(|n| text.starts_with(n)) {
            parts.push(text);
        }
        next = error.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}
