//! Opening an input and dispatching on what it holds: plain or gzip,
//! file or standard input, then the reader of the sniffed format.

use std::fs::File;
use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

use crate::mapped::Mapped;
use crate::sink::Sink;
use crate::sniff::{self, Peeked, Sniffed};
use crate::{csv, evtx, json, Format, Input, ReadOptions};

/// A byte stream as the readers see it.
pub(crate) type Stream<'a> = Peeked<Box<dyn Read + Send + 'a>>;

/// gzip inside gzip inside gzip is already odd; deeper is refused.
const MAX_GZIP_DEPTH: usize = 3;

/// Where the bytes come from.
pub(crate) enum Source<'a> {
    /// A file, or standard input for `-`.
    Input(&'a Input),
    /// Any other stream.
    Reader(Box<dyn Read + Send + 'a>),
}

pub(crate) fn read(source: Source<'_>, opts: &ReadOptions, sink: &Sink<'_>) -> Option<Format> {
    let mut file_input = None;
    // A second handle on a regular file, to map it once sniffed as JSON.
    let mut file_to_map = None;
    let raw: Box<dyn Read + Send + '_> = match source {
        Source::Input(input) if input.is_stdin() => Box::new(Counted {
            inner: io::stdin(),
            sink,
        }),
        Source::Input(input) => match open_file(input) {
            Ok(file) => {
                // Only a regular file can be opened again to be read in
                // place; a pipe (`<(zcat x)`) must be read as a stream.
                if file.metadata().is_ok_and(|m| m.is_file()) {
                    file_input = Some(input);
                    if opts.map_files {
                        file_to_map = file.try_clone().ok();
                    }
                }
                Box::new(Counted { inner: file, sink })
            }
            Err(reason) => {
                sink.error(None, reason);
                return None;
            }
        },
        Source::Reader(reader) => Box::new(Counted {
            inner: reader,
            sink,
        }),
    };
    let mut stream: Stream<'_> = Peeked::new(raw);
    let mut gzip_depth = 0;
    loop {
        let sniffed = match sniff::sniff(&mut stream, opts.max_record_bytes) {
            Ok(sniffed) => sniffed,
            Err(e) => {
                sink.error(None, format!("read error: {e}"));
                return None;
            }
        };
        match sniffed {
            Sniffed::Empty => {
                sink.warning(None, "empty file");
                return None;
            }
            Sniffed::Gzip if gzip_depth < MAX_GZIP_DEPTH => {
                gzip_depth += 1;
                stream = Peeked::new(Box::new(MultiGzDecoder::new(stream)));
            }
            Sniffed::Gzip => {
                sink.error(None, "gzip nested too deeply");
                return None;
            }
            Sniffed::Evtx => {
                // The evtx crate seeks: a plain file is reopened and read in
                // place; anything else (gzip, stdin) is read into memory.
                match file_input {
                    Some(input) if gzip_depth == 0 => evtx::read_file(input, opts, sink),
                    _ => evtx::read_stream(stream, opts, sink),
                }
                return Some(Format::Evtx);
            }
            Sniffed::JsonLines => {
                match mapped(&file_to_map, gzip_depth, &stream) {
                    Some(map) => json::read_lines_mapped(&map, opts, sink),
                    None => json::read_lines(stream, opts, sink),
                }
                return Some(Format::JsonLines);
            }
            Sniffed::JsonDocument => {
                match mapped(&file_to_map, gzip_depth, &stream) {
                    Some(map) => json::read_document_mapped(&map, stream, opts, sink),
                    None => json::read_document(stream, opts, sink),
                }
                return Some(Format::JsonDocument);
            }
            Sniffed::Csv(delimiter) => {
                csv::read(stream, delimiter, opts, sink);
                return Some(Format::Csv);
            }
            Sniffed::Unrecognised(reason) => {
                // Folders of evidence hold notes and tools beside the logs:
                // say what was skipped, but it is not a failed read.
                sink.warning(None, format!("skipped: {reason}"));
                return None;
            }
        }
    }
}

/// The plain file being read, mapped from where sniffing left `stream`
/// (after a byte order mark), when it is one (not gzip, not a stream) and
/// big enough to gain from it.
fn mapped(file: &Option<File>, gzip_depth: usize, stream: &Stream<'_>) -> Option<Mapped> {
    match file {
        Some(file) if gzip_depth == 0 => Mapped::open(file, stream.skipped()),
        _ => None,
    }
}

fn open_file(input: &Input) -> Result<File, String> {
    let meta = std::fs::metadata(&input.path).map_err(|e| format!("cannot open: {e}"))?;
    // Opening a directory succeeds on Unix; reading it does not.
    if meta.is_dir() {
        return Err("is a directory, not a file".into());
    }
    File::open(&input.path).map_err(|e| format!("cannot open: {e}"))
}

/// Reports the bytes read from the underlying input, for progress.
struct Counted<'a, R> {
    inner: R,
    sink: &'a Sink<'a>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sink.bytes(n as u64);
        Ok(n)
    }
}
