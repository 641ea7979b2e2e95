//! Unescaping a string thirty-two bytes at a time: one scan of a window
//! finds all of its quotes, backslashes and control characters, and the
//! escapes in it are then taken one after the other from that mask.
//!
//! Why: a rendered Windows message holds an escape every thirteen bytes
//! or so (`\r\n\t`, `\\` in paths). Unescaped run by run, each escape
//! started a new block scan at the byte after it: some 55 instructions
//! and most of a mispredicted branch per escape, a sixth of a hunt's
//! instructions over the OTRF events. Here an escape costs its decoding,
//! a copy of the run before it (one 32-byte move, whatever its length)
//! and a bit cleared in the mask.
//!
//! The routine stops, for [`super::fast`]'s run-by-run loop to go on,
//! within two windows of the end of the text: it then stands outside any
//! escape.

use super::fast::{unicode_escape, Bail, SIMPLE_ESCAPES};

/// Bytes per window.
const WINDOW: usize = 32;

/// Output room a window needs past the write position: a copy of a whole
/// window from its last byte, and the longest decoded escape.
pub(super) const WINDOW_ROOM: usize = 2 * WINDOW + 4;

/// Where [`unescape_windows`] stopped.
pub(super) enum Stop {
    /// At the string's closing quote, with the unescaped string's length.
    Closed { at: usize, w: usize },
    /// At `at` (outside any escape), `w` bytes written: too near the end
    /// of the text or of the room.
    Open { at: usize, w: usize },
}

/// Unescapes the string's bytes from `at` (outside any escape) into `out`
/// from `w` on, a window at a time; see the module documentation.
///
/// Within a window, offsets are masked to it (`& (WINDOW - 1)`, which
/// changes none: the input offsets of escapes and runs are in the window,
/// and output trails input): the compiler then sees every access in
/// bounds of the fixed-size views and checks none per escape.
#[inline]
pub(super) fn unescape_windows(
    bytes: &[u8],
    mut at: usize,
    out: &mut [u8],
    mut w: usize,
) -> Result<Stop, Bail> {
    const LAST: usize = WINDOW - 1;
    'windows: loop {
        // The window, and what a copy of a whole window from its last
        // byte reads and writes.
        let (Some(ahead), Some(room)) = (
            bytes
                .get(at..)
                .and_then(<[u8]>::first_chunk::<{ 2 * WINDOW }>),
            out.get_mut(w..)
                .and_then(<[u8]>::first_chunk_mut::<WINDOW_ROOM>),
        ) else {
            return Ok(Stop::Open { at, w });
        };
        let mut specials = special_mask(ahead);
        // Input and output offsets in the window.
        let (mut from, mut to) = (0, 0);
        loop {
            let special = specials.trailing_zeros() as usize;
            // The run from `from` up to the special byte, with whatever
            // follows it (overwritten next).
            if let (Some(run), Some(slot)) = (
                ahead
                    .get(from & LAST..)
                    .and_then(<[u8]>::first_chunk::<WINDOW>),
                room.get_mut(to & LAST..)
                    .and_then(<[u8]>::first_chunk_mut::<WINDOW>),
            ) {
                *slot = *run;
            }
            to += special - from;
            if special >= WINDOW {
                (at, w) = (at + WINDOW, w + to);
                continue 'windows;
            }
            let special = special & LAST;
            match ahead[special] {
                b'"' => {
                    return Ok(Stop::Closed {
                        at: at + special,
                        w: w + to,
                    })
                }
                b'\\' => {}
                _ => return Err(Bail),
            }
            // Decoded as `fast::unescape_into`'s run-by-run loop does,
            // written out here: through one helper taking a 4-byte slot,
            // hunts ran 2% slower (1 GB, 7 interleaved rounds).
            let letter = ahead[special + 1];
            let decoded = SIMPLE_ESCAPES[letter as usize];
            let next = if decoded != 0 {
                room[to & LAST] = decoded;
                to += 1;
                special + 2
            } else if letter == b'u' {
                let (c, end) = unicode_escape(bytes, at + special + 2)?;
                let len = c.len_utf8();
                c.encode_utf8(room.get_mut(to..to + len).ok_or(Bail)?);
                to += len;
                end - at
            } else {
                return Err(Bail);
            };
            if next >= WINDOW {
                (at, w) = (at + next, w + to);
                continue 'windows;
            }
            // The escape's letter may be a backslash or quote: not special.
            specials &= u32::MAX << next;
            from = next;
        }
    }
}

/// Bit `i` set where byte `i` of the window is a quote, a backslash or a
/// control character.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn special_mask(ahead: &[u8; 2 * WINDOW]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_xor_si128,
    };
    // SSE2 (every x86-64), as in `first_special`: the quote XOR 0x02 and
    // the control characters are the bytes whose maximum with 0x20 is 0x20.
    let half = |offset: usize| {
        // SAFETY: reads 16 of `ahead`'s 64 bytes (offset 0 or 16); no
        // alignment is needed.
        unsafe {
            let x = _mm_loadu_si128(ahead.as_ptr().add(offset).cast());
            let flipped = _mm_xor_si128(x, _mm_set1_epi8(0x02));
            let space = _mm_set1_epi8(0x20);
            let quote_or_control = _mm_cmpeq_epi8(_mm_max_epu8(flipped, space), space);
            let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(quote_or_control, backslash)) as u32 & 0xffff
        }
    };
    half(0) | half(16) << 16
}

/// [`special_mask`] without SIMD, a byte at a time.
#[cfg(not(target_arch = "x86_64"))]
fn special_mask(ahead: &[u8; 2 * WINDOW]) -> u32 {
    ahead
        .iter()
        .take(WINDOW)
        .enumerate()
        .filter(|(_, &b)| b == b'"' || b == b'\\' || b < 0x20)
        .fold(0, |mask, (i, _)| mask | 1 << i)
}
