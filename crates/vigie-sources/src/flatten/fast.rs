//! The hot-path JSON reader: a minimal serde `Deserializer` over a whole
//! record already known to be UTF-8, made for the flattener's walk.
//!
//! Why not serde_json alone: on Windows events (paths full of `\\`,
//! rendered messages full of `\r\n\t`) serde_json spent about 12
//! instructions per input byte on strings — a third of a hunt. This reader
//! finds string ends sixteen bytes at a time, unescapes 32-byte windows
//! ([`super::unescape_window`]), and hands out strings without escapes as
//! borrowed slices.
//!
//! It is deliberately *strict and partial*: anything it does not handle
//! itself — any syntax error, a lone surrogate escape, nesting deeper than
//! [`MAX_DEPTH`], and every number other than a plain non-negative integer
//! — either goes to serde_json (numbers: the token's text is parsed by
//! serde_json, so its value is serde_json's to the bit) or fails with
//! [`Bail`]. On `Bail` the caller reads the record again with serde_json,
//! which gives the same events and, for bad input, serde_json's own error
//! message with its position. The one rule that keeps this safe: the
//! reader never accepts a text serde_json rejects, and what it accepts it
//! reads exactly as serde_json does (checked against serde_json over the
//! test corpora and mutated inputs in `fast_tests.rs`).

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use vigie_core::ValueKind;

use super::unescape_window::{unescape_windows, Stop as WindowStop, WINDOW_ROOM};
use super::walk::{root_member, Cx, ElemSeed, ValueSeed};
use super::Mode;

/// Shallower than serde_json's own limit (128), so that every text this
/// reader accepts is within serde_json's limit too.
const MAX_DEPTH: u32 = 100;

/// "Read this record with serde_json instead": the fast reader's only
/// error. The visitors' own errors (record too large, not an object) are
/// turned into it too; serde_json then reports them with a position.
#[derive(Debug)]
pub(crate) struct Bail;

impl fmt::Display for Bail {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("not read by the fast JSON reader")
    }
}

impl std::error::Error for Bail {}

impl de::Error for Bail {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Bail
    }
}

/// A reader over one JSON text. `scratch` receives strings with escapes.
pub(crate) struct FastReader<'de, 's> {
    text: &'de str,
    pos: usize,
    depth: u32,
    scratch: &'s mut Scratch,
}

/// The buffer that strings with escapes are unescaped into.
///
/// Its bytes past the current string are kept, zero-filled when the
/// buffer grows, so that the next string is written into it as it is:
/// cutting the buffer back to each string had it grown (and zero-filled)
/// again for a tenth of the strings.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    bytes: Vec<u8>,
    /// Length of the current string.
    len: usize,
}

impl Scratch {
    /// The current string. Not checked as UTF-8 again: that check was 2%
    /// of a hunt's instructions (Windows messages are hundreds of bytes,
    /// all unescaped), for a result fixed by how [`unescape_into`] builds
    /// the string. The unit tests check it all the same, on every string
    /// of the corpora and of the mutated inputs.
    #[inline]
    fn text(&self) -> Result<&str, Bail> {
        let bytes = self.bytes.get(..self.len).ok_or(Bail)?;
        if cfg!(test) {
            assert!(std::str::from_utf8(bytes).is_ok(), "{bytes:?}");
        }
        // SAFETY: `unescape_into` made these bytes from a `&str` (valid
        // UTF-8) by copying runs whole, each cut only at ASCII bytes (a
        // quote, a backslash, a control character), which are char
        // boundaries, and by writing each escape as one whole char (an
        // ASCII byte, or `char::encode_utf8`). Bytes a block store wrote
        // past a run's end are overwritten by what follows it or lie past
        // `len`. A concatenation of valid UTF-8 strings is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    }
}

/// A string as read: borrowed from the input, or unescaped into scratch.
enum Text<'de> {
    Borrowed(&'de str),
    Scratch,
}

impl<'de, 's> FastReader<'de, 's> {
    pub(crate) fn new(text: &'de str, scratch: &'s mut Scratch) -> Self {
        FastReader {
            text,
            pos: 0,
            depth: 0,
            scratch,
        }
    }

    /// Succeeds when only whitespace follows the value read.
    pub(crate) fn end(&mut self) -> Result<(), Bail> {
        self.skip_ws();
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(Bail)
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Consumes `word` (a literal such as `true`) at the current position.
    fn literal(&mut self, word: &[u8]) -> Result<(), Bail> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// Reads the string whose opening quote is at the current position.
    /// Inlined into its two callers (values, keys): called for nearly
    /// every token, its call and register saves cost more than its body
    /// on short strings.
    #[inline(always)]
    fn string(&mut self) -> Result<Text<'de>, Bail> {
        let text = self.text;
        let start = self.pos + 1;
        let (end, stop) = run_end(text.as_bytes(), start)?;
        if stop == b'"' {
            self.pos = end + 1;
            // Quote and backslash are ASCII, so the slice is on char
            // boundaries: `borrow` checks that in O(1), without
            // re-validating.
            return borrow(text, start, end).map(Text::Borrowed).ok_or(Bail);
        }
        self.unescape(start, end)
    }

    /// Reads the rest of a string that has escapes (the first backslash is
    /// at `first`) into scratch. Kept out of `string` so that the common
    /// escape-free case stays small.
    ///
    /// The string is built as bytes, not pushed as `&str` runs: that
    /// checks two char boundaries and calls `memcpy` per run, which on
    /// Windows messages (an escape every ~15 bytes) cost more than the
    /// copy. [`Scratch::text`] says why the bytes are valid UTF-8.
    #[inline(never)]
    fn unescape(&mut self, start: usize, first: usize) -> Result<Text<'de>, Bail> {
        self.scratch.len = 0;
        let (end, len) =
            unescape_into(self.text.as_bytes(), start, first, &mut self.scratch.bytes)?;
        self.scratch.len = len;
        self.pos = end + 1;
        Ok(Text::Scratch)
    }

    /// Reads a number: plain non-negative integers here, every other form
    /// by serde_json from the token's text.
    fn number<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Bail> {
        if let Some(value) = self.plain_integer() {
            return visitor.visit_u64(value);
        }
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut end = start;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = bytes.get(end) {
            end += 1;
        }
        self.pos = end;
        let token = self.text.get(start..end).ok_or(Bail)?;
        let mut de = serde_json::Deserializer::from_str(token);
        let value = de.deserialize_any(visitor).map_err(|_| Bail)?;
        de.end().map_err(|_| Bail)?;
        Ok(value)
    }

    /// Reads a plain non-negative integer of up to 19 digits (most
    /// numbers of a record); `None`, with nothing consumed, for any other
    /// token.
    #[inline(always)]
    fn plain_integer(&mut self) -> Option<u64> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let end = plain_integer_end(bytes, start)?;
        self.pos = end;
        let digits = bytes.get(start..end)?;
        Some(
            digits
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')),
        )
    }

    /// [`FastReader::plain_integer`]'s token as text, borrowed: its digits
    /// are the integer's decimal text (no sign, no leading zero), which a
    /// record's walk would otherwise compute and format again.
    #[inline(always)]
    fn plain_integer_text(&mut self) -> Option<&'de str> {
        let start = self.pos;
        let end = plain_integer_end(self.text.as_bytes(), start)?;
        self.pos = end;
        borrow(self.text, start, end)
    }

    fn nest(&mut self) -> Result<(), Bail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(Bail)
        } else {
            Ok(())
        }
    }

    /// Reads the object or array whose opening bracket is at the current
    /// position; the visitor must read it to its closing bracket.
    fn container<T>(
        &mut self,
        close: u8,
        visit: impl for<'r> FnOnce(Members<'r, 'de, 's>) -> Result<T, Bail>,
    ) -> Result<T, Bail> {
        self.pos += 1;
        self.nest()?;
        let mut closed = false;
        let value = visit(Members {
            reader: &mut *self,
            close,
            first: true,
            closed: &mut closed,
        })?;
        self.depth -= 1;
        if closed {
            Ok(value)
        } else {
            Err(Bail)
        }
    }
}

impl<'de> FastReader<'de, '_> {
    /// Reads one value as a record's root, into `cx`. An object's members
    /// are read here, each scalar handed to the record as
    /// [`Cx::walk_root`] and [`ValueSeed`] would hand it: a flat record
    /// (nearly every JSON line) then takes no call through serde's
    /// visitors per member, whose prologues and dispatch cost about 50
    /// instructions a field. The records of a top-level array or of an
    /// envelope (`{"value": [...]}`, cloud exports) are read the same way.
    /// Other values, and members that are arrays or objects, go through
    /// the visitors as before.
    pub(super) fn root(&mut self, cx: &mut Cx<'_>) -> Result<(), Bail> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.members(cx),
            Some(b'[') if cx.split.is_some() => self.records(cx, false),
            _ => ValueSeed {
                cx,
                mode: Mode::Root,
                key: None,
            }
            .deserialize(&mut *self),
        }
    }

    /// The members of the object at the current position, as a record's
    /// (see [`FastReader::root`]). Inlined into its two callers: a
    /// separate function cost some 170 instructions a record more.
    #[inline(always)]
    fn members(&mut self, cx: &mut Cx<'_>) -> Result<(), Bail> {
        self.pos += 1;
        self.nest()?;
        let can_split = cx.split.is_some();
        let mut first = true;
        while let Some(key) = self.member_key(first)? {
            let (child, key) = match key {
                Text::Borrowed(key) => {
                    let (child, under) = root_member(&mut cx.rec.path, key, true, first, can_split);
                    (child, under.then_some(key))
                }
                Text::Scratch => {
                    let key = self.scratch.text()?;
                    let (child, _) = root_member(&mut cx.rec.path, key, false, first, can_split);
                    (child, None)
                }
            };
            first = false;
            self.skip_ws();
            let seed = |cx| ValueSeed {
                cx,
                mode: child,
                key,
            };
            if self.peek() == Some(b'"') {
                let text = match self.string()? {
                    Text::Borrowed(text) => text,
                    Text::Scratch => self.scratch.text()?,
                };
                seed(&mut *cx).scalar(text, ValueKind::Str)?;
            } else if let Some(digits) = self.plain_integer_text() {
                seed(&mut *cx).scalar(digits, ValueKind::Num)?;
            } else if child == Mode::Envelope && self.peek() == Some(b'[') {
                self.records(cx, true)?;
            } else {
                seed(&mut *cx).deserialize(&mut *self)?;
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// The elements of the array at the current position, each object a
    /// record of its own, as `Cx::records` reads them through serde: an
    /// object is walked by [`FastReader::members`] into the split's
    /// element record and emitted; any other element goes to
    /// [`ElemSeed`] (a field of the enclosing record in an envelope,
    /// skipped in a top-level array).
    fn records(&mut self, cx: &mut Cx<'_>, in_envelope: bool) -> Result<(), Bail> {
        let Cx { rec, split } = cx;
        let Some(split) = split.as_mut() else {
            return Err(Bail);
        };
        self.pos += 1;
        self.nest()?;
        if !in_envelope {
            split.top_array = true;
        }
        let mut first = true;
        while self.step(first, b']')? {
            first = false;
            split.elem.reset();
            self.skip_ws();
            let object = if self.peek() == Some(b'{') {
                self.members(&mut Cx {
                    rec: &mut *split.elem,
                    split: None,
                })?;
                true
            } else {
                ElemSeed {
                    elem: &mut *split.elem,
                    root: rec,
                    in_envelope,
                }
                .deserialize(&mut *self)?
            };
            split.element_read(object, in_envelope);
        }
        self.depth -= 1;
        Ok(())
    }

    /// Steps over the comma before the next member or element of the
    /// container being read: `false` (after consuming it) at `close`, its
    /// closing bracket. Commas only go between members: none first, none
    /// trailing (the member read fails on the bracket).
    #[inline]
    fn step(&mut self, first: bool, close: u8) -> Result<bool, Bail> {
        self.skip_ws();
        match self.peek() {
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) if first => Ok(true),
            _ => Err(Bail),
        }
    }

    /// Steps to the next member's key of an object being read and reads
    /// it: `None` (after consuming it) at the closing brace. Compact JSON
    /// (`,"key"`, or `"key"` first) is recognised directly; anything else
    /// (whitespace, the closing brace) takes the general [`Self::step`].
    #[inline(always)]
    fn member_key(&mut self, first: bool) -> Result<Option<Text<'de>>, Bail> {
        let bytes = self.text.as_bytes();
        let quote = match bytes.get(self.pos) {
            Some(b',') if !first => self.pos + 1,
            Some(b'"') if first => self.pos,
            _ => usize::MAX,
        };
        if bytes.get(quote) == Some(&b'"') {
            self.pos = quote;
        } else {
            if !self.step(first, b'}')? {
                return Ok(None);
            }
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(Bail);
            }
        }
        let key = self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(Bail);
        }
        self.pos += 1;
        Ok(Some(key))
    }
}

/// The end of the plain non-negative integer of up to 19 digits at
/// `start` (these cannot overflow), or None when the token is another
/// number: `01` is no JSON, and a sign, fraction or exponent after the
/// digits makes it another form.
#[inline(always)]
fn plain_integer_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut end = start;
    while let Some(b'0'..=b'9') = bytes.get(end) {
        end += 1;
    }
    let digits = end - start;
    let rest = matches!(bytes.get(end), Some(b'-' | b'+' | b'.' | b'e' | b'E'));
    let plain = digits == 1 || (2..=19).contains(&digits) && bytes.get(start) != Some(&b'0');
    (!rest && plain).then_some(end)
}

/// `text[start..end]`, or None off char boundaries. Written with
/// `split_at_checked` because `str::get` with a range was left out of
/// line here (a call per string, about 20 instructions); these two
/// inline into their boundary tests.
#[inline(always)]
fn borrow(text: &str, start: usize, end: usize) -> Option<&str> {
    let (head, _) = text.split_at_checked(end)?;
    head.split_at_checked(start).map(|(_, s)| s)
}

/// Bytes scanned at a time for the end of a string's run.
const BLOCK: usize = 16;

/// The index in `block` of its first quote, backslash or control
/// character, or [`BLOCK`] when it has none.
///
/// SSE2 (part of every x86-64): one XOR maps the quote (0x22) to 0x20
/// and keeps control characters below 0x20, while every other byte stays
/// at 0x21 or above, so quotes and control characters are the bytes whose
/// unsigned maximum with 0x20 is 0x20.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn first_special(block: &[u8; BLOCK]) -> usize {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_xor_si128,
    };
    // SAFETY: SSE2 is enabled on every x86-64 target; the load reads the
    // 16 bytes of `block` and needs no alignment.
    let mask = unsafe {
        let x = _mm_loadu_si128(block.as_ptr().cast());
        let flipped = _mm_xor_si128(x, _mm_set1_epi8(0x02));
        let space = _mm_set1_epi8(0x20);
        let quote_or_control = _mm_cmpeq_epi8(_mm_max_epu8(flipped, space), space);
        let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        _mm_movemask_epi8(_mm_or_si128(quote_or_control, backslash))
    };
    // The mask has 16 bits; the bit above them stands for "none".
    ((mask as u32) | 1 << BLOCK).trailing_zeros() as usize
}

/// [`first_special`] elsewhere.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn first_special(block: &[u8; BLOCK]) -> usize {
    first_special_in_words(block)
}

/// [`first_special`] without SIMD: two words with the bit trick of
/// [`specials`]. Compiled on x86-64 too, for the tests.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn first_special_in_words(block: &[u8; BLOCK]) -> usize {
    let (low, high) = block.split_at(8);
    let word = |half: &[u8]| u64::from_le_bytes(half.try_into().unwrap_or([0; 8]));
    let hits = specials(word(low));
    if hits != 0 {
        return (hits.trailing_zeros() / 8) as usize;
    }
    // No hit gives 64 / 8 + 8 = BLOCK.
    (specials(word(high)).trailing_zeros() / 8) as usize + 8
}

/// The high bit of each byte of `x` (eight string bytes, little-endian)
/// that is a quote, a backslash or a control character, and maybe of
/// bytes after the first such one: borrows can only flag bytes after the
/// first real one, so the lowest flag is exact.
///
/// Quotes and control characters are found with one test: XOR with 0x02
/// maps the quote (0x22) to 0x20 and keeps control characters below 0x20
/// while every other byte stays at 0x21 or above, so they are the bytes
/// below 0x21 afterwards.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn specials(x: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let quote_or_control = (x ^ (ONES * 0x02)).wrapping_sub(ONES * 0x21);
    let backslash = (x ^ (ONES * b'\\' as u64)).wrapping_sub(ONES);
    // A byte's high bit is set where it was below 0x21 (resp. zero); the
    // XORs keep the high bit, so `!x` masks out bytes that had it set.
    (quote_or_control | backslash) & !x & HIGH
}

/// From `from` (inside a string), the position of the next quote or
/// backslash and which it is. Raw control characters are not JSON.
///
/// A block at a time, then byte by byte within a block of the end.
#[inline]
fn run_end(bytes: &[u8], from: usize) -> Result<(usize, u8), Bail> {
    let mut at = from;
    while let Some(block) = bytes.get(at..).and_then(<[u8]>::first_chunk::<BLOCK>) {
        let kept = first_special(block);
        at += kept;
        if kept < BLOCK {
            break;
        }
    }
    while let Some(&b) = bytes.get(at) {
        match b {
            b'"' | b'\\' => return Ok((at, b)),
            0..=0x1f => return Err(Bail),
            _ => at += 1,
        }
    }
    Err(Bail)
}

/// Unescapes the string that starts at `start` and has its first
/// backslash at `at` into the start of `out`; returns the position of its
/// closing quote and the string's length.
///
/// The bytes written are valid UTF-8, which [`Scratch::text`] relies on:
/// runs of `bytes` (a `&str`'s) cut only at ASCII bytes, and whole chars.
///
/// Window by window while the text has two windows left, then run by run.
///
/// `out` is written through an index rather than pushed to, its length
/// kept ahead of what is written (zero-filled as it grows, and left so
/// for the next string). It is written as a local slice: byte stores
/// through the vector itself could alias its length, which was then
/// reloaded after every store. Room for the rest of the text (up to
/// [`ROOM_AHEAD`]) is made at once, since unescaping never lengthens a
/// string; the checks in the loop then find room but for longer strings.
fn unescape_into(
    bytes: &[u8],
    start: usize,
    mut at: usize,
    out: &mut Vec<u8>,
) -> Result<(usize, usize), Bail> {
    let head = bytes.get(start..at).ok_or(Bail)?;
    let rest = bytes.len() - start;
    let ahead = rest.min(head.len() + ROOM_AHEAD) + SLACK;
    if out.len() < ahead {
        grow(out, ahead);
    }
    let mut buf = out.as_mut_slice();
    buf.get_mut(..head.len()).ok_or(Bail)?.copy_from_slice(head);
    let mut w = head.len();
    loop {
        // `bytes[at]` is a backslash, or (after the windows stopped) any
        // byte outside an escape.
        if buf.len() < w + WINDOW_ROOM {
            grow(out, w + WINDOW_ROOM);
            buf = out.as_mut_slice();
        }
        match unescape_windows(bytes, at, buf, w)? {
            WindowStop::Closed { at, w } => return Ok((at, w)),
            WindowStop::Open {
                at: stop,
                w: written,
            } => (at, w) = (stop, written),
        }
        // Within two windows of the end of the text: run by run.
        if bytes.get(at) == Some(&b'\\') {
            let letter = *bytes.get(at + 1).ok_or(Bail)?;
            let simple = SIMPLE_ESCAPES[letter as usize];
            if simple != 0 {
                *buf.get_mut(w).ok_or(Bail)? = simple;
                w += 1;
                at += 2;
            } else if letter == b'u' {
                let (c, next) = unicode_escape(bytes, at + 2)?;
                let len = c.len_utf8();
                c.encode_utf8(buf.get_mut(w..w + len).ok_or(Bail)?);
                w += len;
                at = next;
            } else {
                return Err(Bail);
            }
            // Escapes often come in runs (`\r\n\t`, `\\\\`): go
            // straight to the next one.
            if bytes.get(at) == Some(&b'\\') {
                continue;
            }
        }
        // Copy up to the next quote or backslash a block at a time,
        // scanning and copying in one pass: each block is stored whole (no
        // `memcpy` call) and the write position then only advances past
        // the bytes before the first special one, which ends the run.
        let special = loop {
            let Some(block) = bytes.get(at..).and_then(<[u8]>::first_chunk::<BLOCK>) else {
                let (special, at_end, w_end) = copy_to_special(bytes, at, out, w)?;
                (at, w) = (at_end, w_end);
                buf = out.as_mut_slice();
                break special;
            };
            let Some(slot) = buf.get_mut(w..).and_then(<[u8]>::first_chunk_mut::<BLOCK>) else {
                grow(out, w + SLACK);
                buf = out.as_mut_slice();
                continue;
            };
            *slot = *block;
            let kept = first_special(block);
            at += kept;
            w += kept;
            if let Some(&special) = block.get(kept) {
                break special;
            }
        };
        match special {
            b'"' => return Ok((at, w)),
            b'\\' => {}
            _ => return Err(Bail),
        }
    }
}

/// Room kept past the write position by the run-by-run copy (the windows
/// keep [`WINDOW_ROOM`]): the longest escape's bytes (four) and a block.
const SLACK: usize = 4 + BLOCK;

/// Room made for a string's unescaped bytes before it is unescaped, past
/// its part before the first backslash: the rest of the text, up to this.
/// Records are a few kilobytes; a longer string grows the room as it goes.
const ROOM_AHEAD: usize = 64 << 10;

/// The end of a run within a block of the end of the text: copies bytes
/// from `at` on up to the next special one (see [`first_special`]) to
/// `out` from `w` on, and returns that byte and where both stopped.
#[cold]
fn copy_to_special(
    bytes: &[u8],
    mut at: usize,
    out: &mut Vec<u8>,
    mut w: usize,
) -> Result<(u8, usize, usize), Bail> {
    loop {
        let b = *bytes.get(at).ok_or(Bail)?;
        if b == b'"' || b == b'\\' || b < 0x20 {
            return Ok((b, at, w));
        }
        if out.len() <= w {
            grow(out, w + SLACK);
        }
        *out.get_mut(w).ok_or(Bail)? = b;
        w += 1;
        at += 1;
    }
}

/// Makes `out` at least `len` long (zero-filled), doubling so that a long
/// string costs few fills.
#[cold]
fn grow(out: &mut Vec<u8>, len: usize) {
    out.resize(len.max(2 * out.len()).max(64), 0);
}

/// What each simple escape letter (`\n`, ...) stands for; 0 for the
/// others (`u`, which takes hex digits, and letters JSON does not have).
pub(super) const SIMPLE_ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'/' as usize] = b'/';
    table[b'b' as usize] = 0x08;
    table[b'f' as usize] = 0x0c;
    table[b'n' as usize] = b'\n';
    table[b'r' as usize] = b'\r';
    table[b't' as usize] = b'\t';
    table
};

/// Decodes the `\u` escape whose hex digits start at `at`; returns the
/// char and the position after the escape (after both halves of a
/// surrogate pair).
pub(super) fn unicode_escape(bytes: &[u8], at: usize) -> Result<(char, usize), Bail> {
    let unit = hex4(bytes, at)?;
    match unit {
        // A high surrogate must be followed by `\u` and a low one.
        0xD800..=0xDBFF => {
            if bytes.get(at + 4..at + 6) != Some(b"\\u") {
                return Err(Bail);
            }
            let low = hex4(bytes, at + 6)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(Bail);
            }
            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            Ok((char::from_u32(code).ok_or(Bail)?, at + 10))
        }
        // Lone low surrogate: serde_json's call.
        0xDC00..=0xDFFF => Err(Bail),
        _ => Ok((char::from_u32(unit).ok_or(Bail)?, at + 4)),
    }
}

fn hex4(bytes: &[u8], at: usize) -> Result<u32, Bail> {
    let digits = bytes.get(at..at + 4).ok_or(Bail)?;
    digits.iter().try_fold(0u32, |n, &b| {
        let d = (b as char).to_digit(16).ok_or(Bail)?;
        Ok(n * 16 + d)
    })
}

impl<'de> Deserializer<'de> for &mut FastReader<'de, '_> {
    type Error = Bail;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        self.skip_ws();
        match self.peek().ok_or(Bail)? {
            b'"' => match self.string()? {
                Text::Borrowed(s) => visitor.visit_borrowed_str(s),
                Text::Scratch => visitor.visit_str(self.scratch.text()?),
            },
            b'{' => self.container(b'}', |members| visitor.visit_map(members)),
            b'[' => self.container(b']', |members| visitor.visit_seq(members)),
            b't' => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            b'-' | b'0'..=b'9' => self.number(visitor),
            _ => Err(Bail),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        self.skip_ws();
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The members of an object or the elements of an array; `closed` is set
/// on the closing bracket.
struct Members<'r, 'de, 's> {
    reader: &'r mut FastReader<'de, 's>,
    /// `}` or `]`.
    close: u8,
    first: bool,
    closed: &'r mut bool,
}

impl Members<'_, '_, '_> {
    /// Steps over the comma before the next member: `false` (after
    /// consuming it) at the closing bracket. Commas only go between
    /// members: none first, none trailing (the member read fails on `]`).
    #[inline]
    fn next(&mut self) -> Result<bool, Bail> {
        let more = self.reader.step(self.first, self.close)?;
        if more {
            self.first = false;
        } else {
            *self.closed = true;
        }
        Ok(more)
    }
}

impl<'de> MapAccess<'de> for Members<'_, 'de, '_> {
    type Error = Bail;

    // Inlined into the walker's loops: one call per member less.
    #[inline(always)]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Bail> {
        let Some(key) = self.reader.member_key(self.first)? else {
            *self.closed = true;
            return Ok(None);
        };
        self.first = false;
        // The key is known to be a string: hand it over as
        // `deserialize_any` would (borrowed when it has no escape), without
        // the dispatch on its first byte.
        let key = match key {
            Text::Borrowed(key) => seed.deserialize(BorrowedStrDeserializer::<Bail>::new(key))?,
            Text::Scratch => {
                seed.deserialize(StrDeserializer::<Bail>::new(self.reader.scratch.text()?))?
            }
        };
        Ok(Some(key))
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Bail> {
        seed.deserialize(&mut *self.reader)
    }
}

impl<'de> SeqAccess<'de> for Members<'_, 'de, '_> {
    type Error = Bail;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Bail> {
        if !self.next()? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
