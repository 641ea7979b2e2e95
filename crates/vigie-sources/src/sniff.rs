//! Deciding what an input holds from its first bytes. File names are never
//! trusted: exports are renamed, compressed and concatenated freely.

use std::io::{self, Read};

use serde::de::IgnoredAny;

/// What the first bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Empty,
    Gzip,
    Evtx,
    JsonLines,
    JsonDocument,
    /// CSV with a header, and its delimiter.
    Csv(u8),
    /// Not something vigie reads; the reason says what it looks like.
    Unrecognised(String),
}

/// How much is looked at before deciding (and checked for binary content).
const SNIFF_BYTES: usize = 8 * 1024;
/// A CSV header longer than this is not believed to be one.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Leading whitespace skipped at most while looking for the first character.
const MAX_LEADING_BLANK: usize = 1 << 20;

pub(crate) fn sniff<R: Read>(s: &mut Peeked<R>, max_record_bytes: usize) -> io::Result<Sniffed> {
    s.fill_to(SNIFF_BYTES)?;
    let head = s.peek();
    if head.is_empty() {
        return Ok(Sniffed::Empty);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Sniffed::Gzip);
    }
    if head.starts_with(b"ElfFile\0") {
        return Ok(Sniffed::Evtx);
    }
    if head.starts_with(b"ElfChnk\0") {
        return Ok(unrecognised(
            "an EVTX chunk without its file header (carved?), not a format vigie reads",
        ));
    }
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        return Ok(unrecognised(
            "UTF-16 text, not a format vigie reads (convert it to UTF-8)",
        ));
    }
    // PowerShell and Excel write a UTF-8 byte order mark.
    if head.starts_with(b"\xef\xbb\xbf") {
        s.skip(3);
        s.fill_to(SNIFF_BYTES)?;
    }
    if looks_binary(s.peek(), s.at_eof()) {
        return Ok(unrecognised("binary content, not a format vigie reads"));
    }
    let Some(first) = first_non_blank(s)? else {
        return Ok(Sniffed::Empty);
    };
    match s.peek().get(first) {
        Some(b'[') => Ok(Sniffed::JsonDocument),
        Some(b'{') => json_kind(s, first, max_record_bytes),
        Some(b'<') => Ok(unrecognised(
            "XML or HTML, not a format vigie reads (export Windows logs as EVTX or JSON)",
        )),
        _ => {
            // The header (at least) must be in the sample.
            let has_header = first_line(s, MAX_HEADER_BYTES)?.is_some();
            let delimiter = has_header
                .then(|| csv_delimiter(s.peek(), s.at_eof()))
                .flatten();
            match delimiter {
                Some(delimiter) => Ok(Sniffed::Csv(delimiter)),
                None => Ok(unrecognised(
                    "text that is neither JSON nor CSV with a header, not a format vigie reads",
                )),
            }
        }
    }
}

fn unrecognised(reason: &str) -> Sniffed {
    Sniffed::Unrecognised(reason.to_owned())
}

/// NUL bytes or invalid UTF-8 (a sequence cut by the end of the sample is
/// fine unless the input really ends there).
fn looks_binary(head: &[u8], eof: bool) -> bool {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if memchr::memchr(0, head).is_some() {
        return true;
    }
    match std::str::from_utf8(head) {
        Ok(_) => false,
        Err(e) => e.error_len().is_some() || eof && head.len() < SNIFF_BYTES,
    }
}

/// Offset of the first non-whitespace byte, reading on through leading
/// blank space; `None` when there is only whitespace.
fn first_non_blank<R: Read>(s: &mut Peeked<R>) -> io::Result<Option<usize>> {
    let mut from = 0;
    loop {
        let head = s.peek();
        if let Some(i) = head[from..].iter().position(|b| !b.is_ascii_whitespace()) {
            return Ok(Some(from + i));
        }
        if s.at_eof() || head.len() > MAX_LEADING_BLANK {
            return Ok(None);
        }
        from = head.len();
        s.fill_to((head.len() * 2).max(SNIFF_BYTES))?;
    }
}

/// The first line (without its newline), read up to `limit` bytes; `None`
/// if it is longer.
fn first_line<R: Read>(s: &mut Peeked<R>, limit: usize) -> io::Result<Option<&[u8]>> {
    let end = match find_newline(s, 0, limit)? {
        Some(nl) => nl,
        None if s.at_eof() && s.peek().len() <= limit => s.peek().len(),
        None => return Ok(None),
    };
    Ok(Some(&s.peek()[..end]))
}

/// Position of the first `\n` at or after `from`, reading up to `limit`
/// bytes in all.
fn find_newline<R: Read>(
    s: &mut Peeked<R>,
    from: usize,
    limit: usize,
) -> io::Result<Option<usize>> {
    let mut scanned = from;
    loop {
        let head = s.peek();
        if let Some(i) = memchr::memchr(b'\n', &head[scanned.min(head.len())..]) {
            return Ok(Some(scanned + i));
        }
        if s.at_eof() || head.len() >= limit {
            return Ok(None);
        }
        scanned = head.len();
        let want = head
            .len()
            .saturating_mul(2)
            .clamp(SNIFF_BYTES, limit.max(SNIFF_BYTES));
        s.fill_to(want)?;
    }
}

/// `{` first: JSON lines when the first line is a whole JSON value and
/// more follows it; one document otherwise (a pretty-printed object, or a
/// file of a single line, whose envelope records are then numbered by
/// index).
fn json_kind<R: Read>(
    s: &mut Peeked<R>,
    start: usize,
    max_record_bytes: usize,
) -> io::Result<Sniffed> {
    let limit = max_record_bytes.saturating_add(start);
    let Some(nl) = find_newline(s, start, limit)? else {
        return Ok(Sniffed::JsonDocument);
    };
    let line = &s.peek()[start..nl];
    let complete = serde_json::from_slice::<IgnoredAny>(line).is_ok();
    // A first line that is broken but closes like a record is a damaged
    // JSON line; the line reader will report it.
    let closes = line.trim_ascii_end().ends_with(b"}");
    if !complete && !closes {
        return Ok(Sniffed::JsonDocument);
    }
    // Is there anything after the first line?
    let mut from = nl + 1;
    loop {
        let head = s.peek();
        if head[from.min(head.len())..]
            .iter()
            .any(|b| !b.is_ascii_whitespace())
        {
            return Ok(Sniffed::JsonLines);
        }
        if s.at_eof() || head.len() > limit.saturating_add(MAX_LEADING_BLANK) {
            return Ok(if complete {
                Sniffed::JsonDocument
            } else {
                Sniffed::JsonLines
            });
        }
        from = head.len();
        s.fill_to((head.len() * 2).max(SNIFF_BYTES))?;
    }
}

/// The delimiter of CSV text, if `sample` (the start of the input; all of
/// it when `complete`) looks like CSV with a header: two or more short,
/// mostly non-empty header cells, and at least half of the rows that
/// follow (up to 20) with as many cells. Commas, tabs and semicolons
/// are tried; prose with a comma in its first line is not CSV because its
/// next lines do not line up.
pub(crate) fn csv_delimiter(sample: &[u8], complete: bool) -> Option<u8> {
    let mut best: Option<(u8, usize)> = None;
    for delimiter in [b',', b'\t', b';'] {
        let records = sample_records(sample, delimiter, complete, 21);
        let Some((header, rows)) = records.split_first() else {
            continue;
        };
        if !header_like(header) {
            continue;
        }
        let matching = rows.iter().filter(|r| r.len() == header.len()).count();
        if matching * 2 < rows.len() {
            continue;
        }
        if !matches!(best, Some((_, cells)) if cells >= header.len()) {
            best = Some((delimiter, header.len()));
        }
    }
    best.map(|(delimiter, _)| delimiter)
}

fn header_like(cells: &[&[u8]]) -> bool {
    let mut non_empty = 0;
    for cell in cells {
        let cell = cell.trim_ascii();
        let cell = cell
            .strip_prefix(b"\"")
            .and_then(|c| c.strip_suffix(b"\""))
            .unwrap_or(cell);
        if cell.len() > 256 {
            return false;
        }
        if !cell.is_empty() {
            non_empty += 1;
        }
    }
    cells.len() >= 2 && non_empty * 2 > cells.len()
}

/// Splits the start of CSV text into records of cells, honouring quotes
/// (a quoted cell may hold delimiters and newlines). Blank lines are
/// skipped; an unfinished last record is dropped unless `complete`.
fn sample_records(sample: &[u8], delimiter: u8, complete: bool, max: usize) -> Vec<Vec<&[u8]>> {
    let mut records = Vec::new();
    let mut cells = Vec::new();
    let mut quoted = false;
    let mut cell_start = 0;
    for (i, &b) in sample.iter().enumerate() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && b == delimiter {
            cells.push(&sample[cell_start..i]);
            cell_start = i + 1;
        } else if !quoted && b == b'\n' {
            let cell = &sample[cell_start..i];
            cells.push(cell.strip_suffix(b"\r").unwrap_or(cell));
            cell_start = i + 1;
            let record = std::mem::take(&mut cells);
            if !(record.len() == 1 && record[0].is_empty()) {
                records.push(record);
                if records.len() == max {
                    return records;
                }
            }
        }
    }
    if complete && cell_start < sample.len() {
        cells.push(&sample[cell_start..]);
        records.push(cells);
    }
    records
}

/// A reader whose first bytes can be looked at before they are consumed.
pub(crate) struct Peeked<R> {
    buf: Vec<u8>,
    pos: usize,
    inner: R,
    eof: bool,
}

thread_local! {
    /// The read-ahead buffer of the last input this thread finished: whole
    /// JSON documents are read into it, and handing it to the next input
    /// saves faulting in and zeroing fresh pages for every file.
    static SPARE_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Buffers larger than this are freed rather than kept for the next input.
const SPARE_KEEP: usize = 64 << 20;

impl<R> Drop for Peeked<R> {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        if buf.capacity() <= SPARE_KEEP {
            buf.clear();
            let _ = SPARE_BUFFER.try_with(|spare| {
                if spare.take().capacity() <= buf.capacity() {
                    spare.set(buf);
                }
            });
        }
    }
}

impl<R: Read> Peeked<R> {
    pub(crate) fn new(inner: R) -> Self {
        let mut buf = SPARE_BUFFER
            .try_with(|spare| spare.take())
            .unwrap_or_default();
        buf.clear();
        Peeked {
            buf,
            pos: 0,
            inner,
            eof: false,
        }
    }

    /// The bytes read ahead and not consumed yet.
    pub(crate) fn peek(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Whether the underlying reader is exhausted (so `peek` is all there
    /// is).
    pub(crate) fn at_eof(&self) -> bool {
        self.eof
    }

    /// Bytes of the look-ahead consumed by sniffing (a byte order mark),
    /// as long as nothing has been read through `Read` yet: where a reader
    /// of the whole input in place starts.
    pub(crate) fn skipped(&self) -> usize {
        self.pos
    }

    fn skip(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }

    /// Reads ahead until `n` bytes are available or the input ends.
    pub(crate) fn fill_to(&mut self, n: usize) -> io::Result<()> {
        while !self.eof && self.buf.len() - self.pos < n {
            let want = n - (self.buf.len() - self.pos);
            // Grow geometrically: `n` can be the record limit (256 MiB)
            // when the input is a few bytes long.
            let step = want.clamp(SNIFF_BYTES, self.buf.len().max(64 * 1024));
            let start = self.buf.len();
            // Into the spare capacity, without zeroing it first.
            self.buf.reserve(step);
            match (&mut self.inner)
                .take(step as u64)
                .read_to_end(&mut self.buf)
            {
                Ok(got) if got < step => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Peeked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let ahead = self.peek();
        if !ahead.is_empty() {
            let n = ahead.len().min(out.len());
            out[..n].copy_from_slice(&ahead[..n]);
            self.pos += n;
            if self.pos == self.buf.len() {
                // Done with the look-ahead: give its memory back.
                self.buf = Vec::new();
                self.pos = 0;
            }
            return Ok(n);
        }
        if self.eof {
            return Ok(0);
        }
        self.inner.read(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff_bytes(bytes: &[u8]) -> Sniffed {
        let mut s = Peeked::new(bytes);
        sniff(&mut s, 1 << 20).unwrap()
    }

    #[test]
    fn formats_by_content() {
        assert_eq!(sniff_bytes(b""), Sniffed::Empty);
        assert_eq!(sniff_bytes(b" \n\t\n"), Sniffed::Empty);
        assert_eq!(sniff_bytes(b"\x1f\x8b\x08\x00"), Sniffed::Gzip);
        assert_eq!(sniff_bytes(b"ElfFile\0rest"), Sniffed::Evtx);
        assert_eq!(sniff_bytes(b"  [{\"a\":1}]"), Sniffed::JsonDocument);
        assert_eq!(sniff_bytes(b"{\"a\":1}\n{\"a\":2}\n"), Sniffed::JsonLines);
        assert_eq!(sniff_bytes(b"{\"a\":1}\n\n"), Sniffed::JsonDocument);
        assert_eq!(sniff_bytes(b"{\n  \"a\": 1\n}\n"), Sniffed::JsonDocument);
        assert_eq!(sniff_bytes(b"{\"a\":}\n{\"a\":2}\n"), Sniffed::JsonLines);
        assert_eq!(
            sniff_bytes(b"\xef\xbb\xbfa,b,c\n1,2,3\n"),
            Sniffed::Csv(b',')
        );
        assert_eq!(sniff_bytes(b"a\tb\n1\t2\n"), Sniffed::Csv(b'\t'));
        assert_eq!(sniff_bytes(b"\"x,y\";b;c\n"), Sniffed::Csv(b';'));
        assert_eq!(sniff_bytes(b"a,b\n\"1\n2\",3\n4,5\n"), Sniffed::Csv(b','));
        // Prose with a comma in its first line.
        assert!(matches!(
            sniff_bytes(b"# Samples: audit, sign-in\n\nSome text here.\nMore text.\n"),
            Sniffed::Unrecognised(_)
        ));
        assert!(matches!(
            sniff_bytes(b"just some words\n"),
            Sniffed::Unrecognised(_)
        ));
        assert!(
            matches!(sniff_bytes(b"a,\x00b\n"), Sniffed::Unrecognised(r) if r.contains("binary"))
        );
        assert!(
            matches!(sniff_bytes(b"a,b\xff\xfe\n"), Sniffed::Unrecognised(r) if r.contains("binary"))
        );
        assert!(matches!(sniff_bytes(b"<Events>"), Sniffed::Unrecognised(r) if r.contains("XML")));
    }

    #[test]
    fn peeked_bytes_are_read_back() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let mut s = Peeked::new(&data[..]);
        s.fill_to(10_000).unwrap();
        s.skip(3);
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        assert_eq!(out, &data[3..]);
    }

    #[test]
    fn utf8_cut_at_the_sample_edge_is_not_binary() {
        let mut text = "a,b\n".to_string();
        while text.len() < SNIFF_BYTES - 1 {
            text.push('é');
        }
        assert!(!looks_binary(&text.as_bytes()[..SNIFF_BYTES], false));
    }
}
