//! Values appended to an event's buffers sixteen bytes at a time: the text
//! as it is and, in the same pass, lower-cased when it is ASCII.
//!
//! Every store is a whole block, written into room reserved beforehand,
//! and the buffers' lengths are set once at the end. A value's last block
//! overlaps the one before it (rewriting the overlap with the same bytes);
//! a value under sixteen bytes is gathered by two overlapping loads. This
//! replaced a `memcpy` call of a varying length (whose branches
//! mispredicted) and a fold in eight-byte words that updated the buffer's
//! length per word. The room is cut to the value's size once, so that the
//! loop over whole blocks has no bound check, and a block is stored by
//! one copy of sixteen bytes (storing it byte by byte, or through
//! `array::map`, was compiled to sixteen single-byte stores).

use std::mem::MaybeUninit;

/// Bytes per block.
const BLOCK: usize = 16;

type Block = [u8; BLOCK];

/// Appends `value` to `text` and, when it is all ASCII, its lower-case
/// form to `lower`, in one pass; returns whether `lower` was appended to
/// (else it is left as it was).
#[inline(always)]
pub(crate) fn append_with_lower(text: &mut String, lower: &mut String, value: &str) -> bool {
    let bytes = value.as_bytes();
    let len = bytes.len();
    text.reserve(len + BLOCK);
    lower.reserve(len + BLOCK);
    let (text_len, lower_len) = (text.len(), lower.len());
    // SAFETY: the vectors' lengths only change by the `set_len`s below.
    // `text` then ends with exactly the bytes of `value` (a `&str`), all
    // written: `written` holds only if every block was stored, and the
    // blocks cover the value (the bytes stored past its end lie beyond the
    // new length). `lower` gets its new length only when every byte was
    // ASCII, so its new bytes are ASCII too. Nothing between the two
    // `as_mut_vec`s and the `set_len`s can panic.
    let text_vec = unsafe { text.as_mut_vec() };
    let lower_vec = unsafe { lower.as_mut_vec() };
    let mut high = 0;
    let mut both = |block: Block, text_slot: &mut Slot, lower_slot: &mut Slot| {
        store(text_slot, block);
        let (folded, block_high) = fold_block(block);
        high |= block_high;
        store(lower_slot, folded);
    };
    let written = match (room(text_vec, len), room(lower_vec, len)) {
        (Some(text_room), Some(lower_room)) => {
            let (blocks, rest) = bytes.as_chunks::<BLOCK>();
            let text_slots = text_room.as_chunks_mut::<BLOCK>().0.iter_mut();
            let lower_slots = lower_room.as_chunks_mut::<BLOCK>().0.iter_mut();
            for ((block, text_slot), lower_slot) in blocks.iter().zip(text_slots).zip(lower_slots) {
                both(*block, text_slot, lower_slot);
            }
            rest.is_empty()
                || match (last_slot(text_room, len), last_slot(lower_room, len)) {
                    (Some(text_slot), Some(lower_slot)) => {
                        both(last_block(bytes), text_slot, lower_slot);
                        true
                    }
                    _ => false,
                }
        }
        _ => false,
    };
    if !written {
        // Not reached (the room was reserved); kept safe all the same.
        text.push_str(value);
        return false;
    }
    unsafe { text_vec.set_len(text_len + bytes.len()) };
    if high != 0 {
        return false;
    }
    unsafe { lower_vec.set_len(lower_len + bytes.len()) };
    true
}

/// Appends `bytes` lower-cased to `lower` when they are all ASCII and
/// returns true; else leaves `lower` as it was and returns false.
#[inline(always)]
pub(crate) fn append_lower(lower: &mut String, bytes: &[u8]) -> bool {
    let len = bytes.len();
    lower.reserve(len + BLOCK);
    let lower_len = lower.len();
    // SAFETY: as in `append_with_lower`: the length is set only when every
    // block was stored and every byte was ASCII.
    let lower_vec = unsafe { lower.as_mut_vec() };
    let mut high = 0;
    let mut one = |block: Block, lower_slot: &mut Slot| {
        let (folded, block_high) = fold_block(block);
        high |= block_high;
        store(lower_slot, folded);
    };
    let written = match room(lower_vec, len) {
        Some(lower_room) => {
            let (blocks, rest) = bytes.as_chunks::<BLOCK>();
            let lower_slots = lower_room.as_chunks_mut::<BLOCK>().0.iter_mut();
            for (block, lower_slot) in blocks.iter().zip(lower_slots) {
                one(*block, lower_slot);
            }
            rest.is_empty()
                || match last_slot(lower_room, len) {
                    Some(lower_slot) => {
                        one(last_block(bytes), lower_slot);
                        true
                    }
                    None => false,
                }
        }
        None => false,
    };
    if !written || high != 0 {
        return false;
    }
    unsafe { lower_vec.set_len(lower_len + bytes.len()) };
    true
}

/// Sixteen bytes of spare room, where a block is stored.
type Slot = [MaybeUninit<u8>; BLOCK];

/// The spare room of `buffer` for a value of `len` bytes written in whole
/// blocks: `len` plus a block (None if it was not reserved). Cut to size
/// once, so that the loop over a value's whole blocks walks the value and
/// the rooms in step, with no bound check per block (a check per block
/// and per buffer was half of that loop's instructions).
#[inline(always)]
fn room(buffer: &mut Vec<u8>, len: usize) -> Option<&mut [MaybeUninit<u8>]> {
    buffer.spare_capacity_mut().get_mut(..len + BLOCK)
}

/// Where the last block of a value of `len` bytes goes in its `room`: the
/// value's last sixteen bytes, or its start when it is shorter.
#[inline(always)]
fn last_slot(room: &mut [MaybeUninit<u8>], len: usize) -> Option<&mut Slot> {
    room.get_mut(len.saturating_sub(BLOCK)..)?.first_chunk_mut()
}

/// The last block of `bytes`, which [`last_slot`] places: its last
/// sixteen bytes, or all of them padded with zeros when they are fewer.
#[inline(always)]
fn last_block(bytes: &[u8]) -> Block {
    match bytes.last_chunk::<BLOCK>() {
        Some(last) => *last,
        None => short_block(bytes),
    }
}

/// Writes `block` into `slot`.
#[inline(always)]
fn store(slot: &mut Slot, block: Block) {
    slot.write_copy_of_slice(&block);
}

/// A value of one to fifteen bytes as a block, zero above them, from two
/// loads that overlap (or one byte).
#[inline(always)]
fn short_block(bytes: &[u8]) -> Block {
    let word = match bytes.len() {
        8..=15 => overlapping_ends::<8>(bytes),
        4..=7 => overlapping_ends::<4>(bytes),
        2 | 3 => overlapping_ends::<2>(bytes),
        _ => bytes.first().map_or(0, |&b| u128::from(b)),
    };
    word.to_le_bytes()
}

/// The first and the last `N` bytes of `bytes` (`N` to `2N` of them)
/// placed where they are, as a little-endian number: where they overlap,
/// the same bytes meet.
#[inline(always)]
fn overlapping_ends<const N: usize>(bytes: &[u8]) -> u128 {
    // `N` is a constant: the copy is one load.
    let word = |chunk: &[u8; N]| {
        let mut w = [0u8; BLOCK];
        w[..N].copy_from_slice(chunk);
        u128::from_le_bytes(w)
    };
    let low = bytes.first_chunk::<N>().map_or(0, word);
    let high = bytes.last_chunk::<N>().map_or(0, word);
    low | high << (8 * (bytes.len() - N))
}

/// `block` with `A` to `Z` lower-cased, and a value that is not zero when
/// a byte is not ASCII (such blocks are discarded by the callers).
///
/// SSE2 (part of every x86-64): adding 0x80 - `A` moves `A`..=`Z`, and
/// nothing else, to the 26 lowest signed byte values.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn fold_block(block: Block) -> (Block, u32) {
    use std::arch::x86_64::{
        _mm_add_epi8, _mm_and_si128, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8, _mm_storeu_si128,
    };
    let mut folded = [0u8; BLOCK];
    // SAFETY: SSE2 is enabled on every x86-64 target; the load and the
    // store touch the sixteen bytes of `block` and `folded`, and need no
    // alignment.
    let high = unsafe {
        let x = _mm_loadu_si128(block.as_ptr().cast());
        let shifted = _mm_add_epi8(x, _mm_set1_epi8((0x80 - b'A') as i8));
        let upper = _mm_cmplt_epi8(shifted, _mm_set1_epi8((0x80 + 26u8) as i8));
        let lowered = _mm_or_si128(x, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
        _mm_storeu_si128(folded.as_mut_ptr().cast(), lowered);
        _mm_movemask_epi8(x)
    };
    (folded, high as u32)
}

/// [`fold_block`] elsewhere.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn fold_block(block: Block) -> (Block, u32) {
    fold_block_in_words(block)
}

/// [`fold_block`] without SIMD, in two words. Compiled on x86-64 too, for
/// the tests.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn fold_block_in_words(block: Block) -> (Block, u32) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (low, high) = block.split_at(8);
    let word = |half: &[u8]| u64::from_le_bytes(half.try_into().unwrap_or([0; 8]));
    let (low, high) = (word(low), word(high));
    let mut folded = [0u8; BLOCK];
    folded[..8].copy_from_slice(&lower_ascii_word(low).to_le_bytes());
    folded[8..].copy_from_slice(&lower_ascii_word(high).to_le_bytes());
    (folded, u32::from((low | high) & HIGH != 0))
}

/// Eight ASCII bytes lower-cased at once: a byte gets 0x20 when it is
/// from `A` to `Z`. (Bytes of 0x80 and more are not ASCII; the caller
/// discards words holding any.)
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn lower_ascii_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Per byte below 0x80, no carry between bytes: the high bit is set
    // when the byte is at least `A`, and when it is above `Z`.
    let at_least_a = w.wrapping_add(ONES * (0x80 - u64::from(b'A')));
    let above_z = w.wrapping_add(ONES * (0x80 - u64::from(b'Z') - 1));
    let upper = at_least_a & !above_z & (ONES * 0x80);
    w | upper >> 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// Mostly ASCII (capitals and the bytes around them), sometimes a
    /// high byte.
    fn random_value(random: &mut XorShift, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                let r = random.next_u64();
                if r.is_multiple_of(97) {
                    0x80 | (r >> 8) as u8
                } else {
                    (r >> 8) as u8 & 0x7f
                }
            })
            .collect()
    }

    /// Values of every length up to three blocks and more, ASCII or not,
    /// after text already in the buffers: what is appended is what the
    /// standard library makes of them, and a value with a non-ASCII byte
    /// leaves the lower-case buffer as it was.
    #[test]
    fn values_append_as_text_and_lower_cased_in_blocks() {
        let mut random = XorShift(0x0dd_ba11_5eed);
        for round in 0..6000 {
            let bytes = random_value(&mut random, round % 53);
            let before = "Ab".repeat(round % 5);
            let mut lower = before.to_lowercase();
            let appended = append_lower(&mut lower, &bytes);
            assert_eq!(appended, bytes.is_ascii(), "{bytes:?}");
            let mut want = before.to_lowercase();
            if appended {
                want.push_str(std::str::from_utf8(&bytes.to_ascii_lowercase()).unwrap());
            }
            assert_eq!(lower, want, "{bytes:?}");

            let value = String::from_utf8_lossy(&bytes).into_owned();
            let mut text = before.clone();
            let mut lower = before.to_lowercase();
            let appended = append_with_lower(&mut text, &mut lower, &value);
            assert_eq!(appended, value.is_ascii(), "{value:?}");
            assert_eq!(text, before.clone() + &value, "{value:?}");
            let mut want = before.to_lowercase();
            if appended {
                want.push_str(&value.to_ascii_lowercase());
            }
            assert_eq!(lower, want, "{value:?}");
        }
    }

    /// Every byte value at every position of a block folds alike with SIMD
    /// and in words, as `to_ascii_lowercase` folds it, and a non-ASCII
    /// byte is flagged by both.
    #[test]
    fn blocks_fold_alike_with_and_without_simd() {
        for filler in [b'a', b'A', b'@', b'[', b'Z', 0x7f, 0x80, 0xc1, 0xff] {
            for at in 0..BLOCK {
                for b in 0..=255u8 {
                    let mut block = [filler; BLOCK];
                    block[at] = b;
                    let (folded, high) = fold_block(block);
                    let (in_words, high_in_words) = fold_block_in_words(block);
                    let ascii = block.is_ascii();
                    assert_eq!(high == 0, ascii, "{block:?}");
                    assert_eq!(high_in_words == 0, ascii, "{block:?}");
                    if ascii {
                        assert_eq!(folded.to_vec(), block.to_ascii_lowercase(), "{block:?}");
                        assert_eq!(in_words, folded, "{block:?}");
                    }
                }
            }
        }
    }
}
