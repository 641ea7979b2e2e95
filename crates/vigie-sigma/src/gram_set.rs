//! A large set of substrings found through small bitmaps.
//!
//! An Aho-Corasick automaton over thousands of patterns (the command-line
//! literals of all process-creation rules: 8,693 of them) is megabytes of
//! states, built in a tenth of a second, and its search walks them from
//! byte to byte. Here each pattern of four bytes or more is reached through
//! one *anchor*, a four-byte window of it chosen to be rare among the
//! patterns, and each shorter pattern through its own bytes. A bitmap of
//! hashed anchors, at most 16 KB, is tested at every position of a value;
//! only its hits look up the patterns of that hash and compare them. Every
//! occurrence of every pattern is found, nested and overlapping ones
//! included, so no pattern needs the list of those inside it.

use rustc_hash::FxHashMap;

/// Bits of the bitmap per key it holds, rounded up to a power of two
/// within the bounds below: a position whose window is no key hits about
/// one time in sixteen or less (the command lines' 8,300 anchors reach the
/// cap, 15.8 bits each).
const BITS_PER_KEY: usize = 16;
/// Bitmap sizes (in bits, as powers of two): at least 512 bytes, at most
/// 16 KB, half the core's first-level data cache.
const MIN_BITS_LOG2: u32 = 12;
const MAX_BITS_LOG2: u32 = 17;

/// A set of byte strings, each with the literal ids it stands for.
pub(crate) struct GramSet {
    /// Patterns of four bytes or more, by their anchor window.
    long: Slots,
    /// Per first byte, bit `n - 1` set when a pattern of `n` bytes (1 to
    /// 3) starts with it: positions whose byte starts none (most, outside
    /// command-line switches) skip the short patterns after one lookup in
    /// this small table.
    short_starts: [u8; 256],
    /// Patterns of one to three bytes, by their bytes.
    short: Slots,
    /// All patterns' bytes, end to end.
    bytes: Box<[u8]>,
    /// All patterns' literal ids, end to end.
    literal_ids: Box<[u32]>,
    /// Literal ids of empty patterns, which occur in every value.
    everywhere: Box<[u32]>,
}

/// Entries by key, through a bitmap of hashed keys.
struct Slots {
    /// Bit `slot(key)` is set when some entry has that key.
    bits: Box<[u64]>,
    /// `64 - log2(bit count)`: a key's slot is its hash's top bits.
    shift: u32,
    /// Per bitmap word, how many bits are set in the words before it: a
    /// set bit's rank numbers its slot among the occupied ones, so the
    /// slot table has no empty rows.
    rank: Box<[u32]>,
    /// Entries by occupied slot: those of the slot ranked `r` are
    /// `entries[starts[r]..starts[r + 1]]`.
    starts: Box<[u32]>,
    entries: Box<[Entry]>,
}

/// One pattern, reached through its key.
struct Entry {
    /// [`key`] of its anchor window, or of its whole bytes when shorter
    /// than four.
    key: u64,
    /// Where the anchor window starts in the pattern.
    anchor: u32,
    /// Its bytes, as a range of [`GramSet::bytes`].
    bytes: (u32, u32),
    /// Its literal ids, as a range of [`GramSet::literal_ids`].
    literals: (u32, u32),
}

/// The key of `len` (1 to 4) bytes read little-endian into `window`: the
/// length is part of the key so that `ab` and `ab\0` differ.
#[inline]
fn key(window: u32, len: u32) -> u64 {
    u64::from(window) | (u64::from(len) << 32)
}

/// The low `len` bytes of `window`.
#[inline]
fn low_bytes(window: u32, len: u32) -> u32 {
    match len {
        1 => window & 0xff,
        2 => window & 0xffff,
        3 => window & 0x00ff_ffff,
        _ => window,
    }
}

/// Up to four bytes from `bytes`, little-endian, zero-padded.
#[inline]
fn window_at(bytes: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    let n = bytes.len().min(4);
    w[..n].copy_from_slice(&bytes[..n]);
    u32::from_le_bytes(w)
}

/// Whether bit `at` of `bits` is set (false past its end).
#[inline]
fn bit(bits: &[u64], at: usize) -> bool {
    bits.get(at / 64).is_some_and(|w| w & (1 << (at % 64)) != 0)
}

/// Whether a byte is common in log values (letters, digits, path and
/// option punctuation): anchors are picked among windows rare in
/// patterns, then with the fewest common bytes.
fn common_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b' ' | b'\\' | b'/' | b'.' | b'-' | b':' | b'_')
}

impl GramSet {
    /// The set of `patterns`, each with its literal ids.
    pub(crate) fn build(patterns: &[(Vec<u8>, Vec<u32>)]) -> GramSet {
        // How many patterns hold each four-byte window: an anchor shared by
        // few patterns keeps its slot's list short and is likely rare in
        // values too (`\win`, `.exe` and `http` are in hundreds).
        let mut frequency: FxHashMap<u32, u32> = FxHashMap::default();
        let mut seen: Vec<u32> = Vec::new();
        for (bytes, _) in patterns {
            seen.clear();
            seen.extend(bytes.windows(4).map(window_at));
            seen.sort_unstable();
            seen.dedup();
            for &w in &seen {
                *frequency.entry(w).or_insert(0) += 1;
            }
        }
        let mut bytes = Vec::new();
        let mut literal_ids = Vec::new();
        let mut everywhere = Vec::new();
        let mut long = Vec::with_capacity(patterns.len());
        let mut short = Vec::new();
        let mut short_starts = [0u8; 256];
        for (pattern, ids) in patterns {
            let (key, anchor) = match pattern.len() {
                0 => {
                    everywhere.extend_from_slice(ids);
                    continue;
                }
                n @ 1..=3 => {
                    short_starts[usize::from(pattern[0])] |= 1 << (n - 1);
                    (key(window_at(pattern), n as u32), 0)
                }
                _ => {
                    let (anchor, window) = pattern
                        .windows(4)
                        .map(window_at)
                        .enumerate()
                        .min_by_key(|&(at, w)| {
                            let common =
                                w.to_le_bytes().iter().filter(|&&b| common_byte(b)).count();
                            (frequency.get(&w).copied().unwrap_or(0), common, at)
                        })
                        .unwrap_or((0, 0));
                    (key(window, 4), anchor as u32)
                }
            };
            let from = bytes.len() as u32;
            bytes.extend_from_slice(pattern);
            let ids_from = literal_ids.len() as u32;
            literal_ids.extend_from_slice(ids);
            let entry = Entry {
                key,
                anchor,
                bytes: (from, bytes.len() as u32),
                literals: (ids_from, literal_ids.len() as u32),
            };
            if pattern.len() < 4 {
                &mut short
            } else {
                &mut long
            }
            .push(entry);
        }
        GramSet {
            long: Slots::build(long),
            short_starts,
            short: Slots::build(short),
            bytes: bytes.into_boxed_slice(),
            literal_ids: literal_ids.into_boxed_slice(),
            everywhere: everywhere.into_boxed_slice(),
        }
    }

    /// Calls `f` with the literal ids of every pattern occurring in `hay`,
    /// once per occurrence, in no particular order.
    #[inline]
    pub(crate) fn scan(&self, hay: &[u8], f: &mut impl FnMut(u32)) {
        self.everywhere.iter().for_each(|&id| f(id));
        for (at, window) in hay.windows(4).enumerate() {
            let w = u32::from_le_bytes([window[0], window[1], window[2], window[3]]);
            self.probe(&self.long, key(w, 4), at, hay, f);
            let short = self.short_starts[usize::from(window[0])];
            if short != 0 {
                self.probe_short(w, short, 3, at, hay, f);
            }
        }
        // The last three positions (all of a value under four bytes) start
        // only short patterns.
        for at in hay.len().saturating_sub(3)..hay.len() {
            let Some(tail) = hay.get(at..) else { break };
            let short = tail
                .first()
                .map_or(0, |&b| self.short_starts[usize::from(b)]);
            if short != 0 {
                self.probe_short(window_at(tail), short, tail.len() as u32, at, hay, f);
            }
        }
    }

    /// Probes the short patterns at `at`: of each length up to `room`
    /// whose bit is set in `lengths`.
    #[inline]
    fn probe_short(
        &self,
        window: u32,
        lengths: u8,
        room: u32,
        at: usize,
        hay: &[u8],
        f: &mut impl FnMut(u32),
    ) {
        for len in 1..=room.min(3) {
            if lengths & (1 << (len - 1)) != 0 {
                self.probe(&self.short, key(low_bytes(window, len), len), at, hay, f);
            }
        }
    }

    /// Reports the patterns of `slots` keyed `key`, anchored at `at`, that
    /// occur there; most calls end at the bitmap test.
    #[inline]
    fn probe(&self, slots: &Slots, key: u64, at: usize, hay: &[u8], f: &mut impl FnMut(u32)) {
        if bit(&slots.bits, slot(key, slots.shift)) {
            self.verify(slots, key, at, hay, f);
        }
    }

    /// The slow path of [`probe`](Self::probe): a bitmap hit.
    #[inline(never)]
    fn verify(&self, slots: &Slots, key: u64, at: usize, hay: &[u8], f: &mut impl FnMut(u32)) {
        for e in slots.find(key) {
            if e.key != key {
                continue;
            }
            let Some(start) = at.checked_sub(e.anchor as usize) else {
                continue;
            };
            let pattern = self
                .bytes
                .get(e.bytes.0 as usize..e.bytes.1 as usize)
                .unwrap_or_default();
            if hay.get(start..start + pattern.len()) == Some(pattern) {
                self.literal_ids
                    .get(e.literals.0 as usize..e.literals.1 as usize)
                    .unwrap_or_default()
                    .iter()
                    .for_each(|&id| f(id));
            }
        }
    }
}

impl Slots {
    fn build(mut entries: Vec<Entry>) -> Slots {
        let mut distinct: Vec<u64> = entries.iter().map(|e| e.key).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let bits_log2 = (distinct.len() * BITS_PER_KEY)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(MIN_BITS_LOG2, MAX_BITS_LOG2);
        let shift = 64 - bits_log2;
        let mut bits = vec![0u64; (1usize << bits_log2) / 64].into_boxed_slice();
        for e in &entries {
            let s = slot(e.key, shift);
            bits[s / 64] |= 1 << (s % 64);
        }
        let mut rank = Vec::with_capacity(bits.len());
        let mut before = 0u32;
        for word in bits.iter() {
            rank.push(before);
            before += word.count_ones();
        }
        let rank = rank.into_boxed_slice();
        // Entries sorted by slot, then counted per occupied slot.
        entries.sort_by_key(|e| (slot(e.key, shift), e.key, e.bytes));
        let mut starts = vec![0u32; before as usize + 1];
        for e in &entries {
            if let Some(r) = rank_of(&bits, &rank, slot(e.key, shift)) {
                starts[r + 1] += 1;
            }
        }
        for r in 0..before as usize {
            starts[r + 1] += starts[r];
        }
        Slots {
            bits,
            shift,
            rank,
            starts: starts.into_boxed_slice(),
            entries: entries.into_boxed_slice(),
        }
    }

    /// The entries in `key`'s slot (other keys' too, on a collision).
    #[inline]
    fn find(&self, key: u64) -> &[Entry] {
        let Some(r) = rank_of(&self.bits, &self.rank, slot(key, self.shift)) else {
            return &[];
        };
        match (self.starts.get(r), self.starts.get(r + 1)) {
            (Some(&from), Some(&to)) => self
                .entries
                .get(from as usize..to as usize)
                .unwrap_or_default(),
            _ => &[],
        }
    }
}

/// The rank of slot `s` among the set bits, when it is set.
#[inline]
fn rank_of(bits: &[u64], rank: &[u32], s: usize) -> Option<usize> {
    let word = *bits.get(s / 64)?;
    let mask = 1u64 << (s % 64);
    if word & mask == 0 {
        return None;
    }
    let below = (word & (mask - 1)).count_ones();
    Some(*rank.get(s / 64)? as usize + below as usize)
}

/// The bitmap slot of `key`: the top bits of a multiplicative hash.
#[inline]
fn slot(key: u64, shift: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_core::test_rng::XorShift;

    fn set(patterns: &[&[u8]]) -> GramSet {
        let entries: Vec<(Vec<u8>, Vec<u32>)> = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (p.to_vec(), vec![i as u32]))
            .collect();
        GramSet::build(&entries)
    }

    fn found(set: &GramSet, hay: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        set.scan(hay, &mut |id| out.push(id));
        out.sort_unstable();
        out.dedup();
        out
    }

    fn naive(patterns: &[&[u8]], hay: &[u8]) -> Vec<u32> {
        patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_empty() || hay.windows(p.len()).any(|w| w == **p))
            .map(|(i, _)| i as u32)
            .collect()
    }

    #[test]
    fn finds_nested_overlapping_and_edge_patterns() {
        let patterns: &[&[u8]] = &[
            b"\\windows\\system32\\",
            b"\\system32",
            b"system",
            b" -e",
            b" /c",
            b"/c",
            b"c",
            b"exe",
            b"cmd.exe",
            b"d.ex",
            b"\xf0\x9f\x91\xa9\xf0\x9f\x8f\xbb",
        ];
        let s = set(patterns);
        for hay in [
            &b"c:\\windows\\system32\\cmd.exe /c whoami"[..],
            b"cmd.exe",
            b"exe",
            b"c",
            b"",
            b"/c",
            b" /",
            b"x \xf0\x9f\x91\xa9\xf0\x9f\x8f\xbb",
            b"powershell -enc",
        ] {
            assert_eq!(
                found(&s, hay),
                naive(patterns, hay),
                "{:?}",
                String::from_utf8_lossy(hay)
            );
        }
        assert_eq!(found(&s, b"cmd.exe"), vec![6, 7, 8, 9]);
    }

    #[test]
    fn empty_patterns_occur_everywhere() {
        let s = set(&[b"", b"abcd"]);
        assert_eq!(found(&s, b""), vec![0]);
        assert_eq!(found(&s, b"xabcdx"), vec![0, 1]);
    }

    /// Random patterns over a four-letter alphabet (so that they share
    /// windows, prefixes and overlaps) against random values: the set finds
    /// exactly the patterns a naive search finds, over bitmaps of every
    /// size.
    #[test]
    fn agrees_with_a_naive_search() {
        let mut rng = XorShift(0x005e_ed0f_9aa5);
        for round in 0..60 {
            let count = 1 + rng.below(if round % 3 == 0 { 3000 } else { 40 });
            let owned: Vec<Vec<u8>> = (0..count)
                .map(|_| {
                    let len = 1 + rng.below(9);
                    (0..len).map(|_| b"abc\\"[rng.below(4)]).collect()
                })
                .collect();
            let patterns: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            let s = set(&patterns);
            for _ in 0..40 {
                let len = rng.below(40);
                let hay: Vec<u8> = (0..len).map(|_| b"abc\\x"[rng.below(5)]).collect();
                assert_eq!(found(&s, &hay), naive(&patterns, &hay), "round {round}");
            }
        }
    }
}
