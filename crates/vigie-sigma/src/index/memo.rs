//! The scan memo: the literals the last scans of repeated values found.

use std::hash::Hasher;

use rustc_hash::FxHasher;

use super::substrings::Substrings;

/// Values shorter than this (empty ones) are scanned each time. Short
/// values are memoised too: a scan of a six-byte access mask took some 780
/// cycles (the search's setup and the automaton's cold states), a memo hit
/// a fraction of that.
const MEMO_MIN: usize = 1;
/// Longer values (or lines) are scanned each time, which bounds the memo's
/// memory (slots × this length, 32 MB per thread, reached only by values
/// made to).
const MEMO_MAX: usize = 8192;
/// Longer values are looked up line by line when no literal of the set
/// spans a line (see [`ScanMemo::scan`]).
const LINES_FROM: usize = 2048;
/// Slots of the memo (a power of two): 512 KB per thread, besides long
/// values. Logs repeat values across more events than 2,048 slots kept:
/// with 4,096 a hunt's first pass over OTRF's 11,354 events took 0.8%
/// fewer modeled cycles (fewer scans), and the corpus repeated 2.3% fewer
/// (callgrind, 1 MB cache; at the core's 512 KB L2 and a 2 MB L3 share,
/// 2.2% fewer with the smaller DFAs). A smaller memo cost more: 1,024
/// slots +2%.
const MEMO_SLOTS: usize = 4096;

/// The literals the last scans of long values found, per (automaton,
/// value).
/// Logs repeat long values often (a process's call trace, an image's
/// hashes, a registry path), and scanning costs tens of instructions per
/// byte where hashing and comparing cost about one: a repeated value then
/// costs a lookup. Direct-mapped: a slot holds the last scan that hashed
/// to it. Results depend only on the automaton and the value, so a hit
/// offers exactly what a scan would.
#[derive(Default)]
pub(super) struct ScanMemo {
    slots: Vec<MemoSlot>,
    /// The literals of the scan being memoised, before they are sorted
    /// into their slot.
    found: Vec<u32>,
}

/// Bytes of a value kept in its slot itself; a longer one is kept on the
/// heap.
const MEMO_INLINE_BYTES: usize = 40;
/// Literal ids kept in a slot itself; more are kept on the heap.
const MEMO_INLINE_LITERALS: usize = 4;

/// One memoised scan. Short values (image paths, DLL names) and their few
/// literals are kept in the slot, two cache lines: the memo is read at
/// random, and a hit that followed pointers to the value and to the
/// literals took three cache misses instead of one or two.
///
/// Laid out in that order (`repr(C)`) so that the first line holds what
/// every lookup reads: the owner, the hash, the lengths and a short value.
/// A lookup that meets another value, and a hit on a short value that
/// holds no literal (most hits), read that line only; left to the
/// compiler, the vectors' headers came first and every lookup read both.
#[repr(C, align(64))]
struct MemoSlot {
    /// The automaton's [`Substrings::id`]; 0 when the slot is empty.
    owner: u64,
    hash: u64,
    /// Length of the value.
    len: u32,
    /// Number of literal ids.
    count: u32,
    /// The value when it fits; else in `long_value`.
    value: [u8; MEMO_INLINE_BYTES],
    /// The literal ids the scan offered, sorted and without repeats, when
    /// they fit; else in `more_literals`.
    literals: [u32; MEMO_INLINE_LITERALS],
    long_value: Vec<u8>,
    more_literals: Vec<u32>,
}

/// The fields every lookup reads fill the slot's first cache line.
const _: () = assert!(std::mem::offset_of!(MemoSlot, literals) == 64);

impl Default for MemoSlot {
    fn default() -> Self {
        MemoSlot {
            owner: 0,
            hash: 0,
            len: 0,
            count: 0,
            literals: [0; MEMO_INLINE_LITERALS],
            value: [0; MEMO_INLINE_BYTES],
            long_value: Vec::new(),
            more_literals: Vec::new(),
        }
    }
}

impl MemoSlot {
    #[inline]
    fn value(&self) -> &[u8] {
        kept(self.len, &self.value, &self.long_value)
    }

    #[inline]
    fn literals(&self) -> &[u32] {
        kept(self.count, &self.literals, &self.more_literals)
    }

    /// Makes the slot hold `owner`'s scan of `value`, which offered the
    /// literals `found` (sorted, without repeats).
    fn fill(&mut self, owner: u64, hash: u64, value: &[u8], found: &[u32]) {
        self.owner = owner;
        self.hash = hash;
        self.len = keep(value, &mut self.value, &mut self.long_value);
        self.count = keep(found, &mut self.literals, &mut self.more_literals);
    }
}

/// The `len` items kept by [`keep`]: in the slot's array when they fit,
/// else on the heap.
#[inline]
fn kept<'a, T, const N: usize>(len: u32, inline: &'a [T; N], heap: &'a [T]) -> &'a [T] {
    let len = len as usize;
    if len <= N {
        inline.get(..len).unwrap_or_default()
    } else {
        heap
    }
}

/// Keeps `items` in `inline` when they fit, else in `heap`; returns their
/// number, for [`kept`].
fn keep<T: Copy, const N: usize>(items: &[T], inline: &mut [T; N], heap: &mut Vec<T>) -> u32 {
    match inline.get_mut(..items.len()) {
        Some(inline) => inline.copy_from_slice(items),
        None => {
            heap.clear();
            heap.extend_from_slice(items);
        }
    }
    items.len() as u32
}

impl ScanMemo {
    /// Offers to `f` the literals of every pattern of `s` occurring in
    /// `hay`, like [`Substrings::scan`].
    ///
    /// A long value is taken a line at a time when no literal of `s` holds
    /// a newline: a literal occurrence then lies within one line, so the
    /// lines' literals together are the value's. PowerShell's
    /// `ContextInfo` and `Payload` (7 KB, 40 lines) are unique by a
    /// sequence number but 94% of their lines repeat, the five-kilobyte
    /// `Host Application` command line included; scanned whole they were
    /// 7% of a hunt's instructions for under 2% of the events.
    #[inline]
    pub(super) fn scan(&mut self, s: &Substrings, hay: &[u8], f: &mut impl FnMut(u32)) {
        if hay.len() > LINES_FROM && s.lines_apart() {
            return self.scan_lines(s, hay, f);
        }
        self.scan_value(s, hay, f);
    }

    /// [`ScanMemo::scan`] of each line of `hay` (its newline included).
    #[inline(never)]
    fn scan_lines(&mut self, s: &Substrings, hay: &[u8], f: &mut impl FnMut(u32)) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', hay) {
            self.scan_value(s, hay.get(start..=end).unwrap_or_default(), f);
            start = end + 1;
        }
        if let Some(last) = hay.get(start..).filter(|rest| !rest.is_empty()) {
            self.scan_value(s, last, f);
        }
    }

    /// [`ScanMemo::scan`] of `hay` as one value.
    #[inline]
    fn scan_value(&mut self, s: &Substrings, hay: &[u8], f: &mut impl FnMut(u32)) {
        if !(MEMO_MIN..=MEMO_MAX).contains(&hay.len()) {
            s.scan(hay, f);
            return;
        }
        if self.slots.is_empty() {
            // Allocated on first use: threads that never meet a long value
            // (or an index) pay nothing.
            self.slots.resize_with(MEMO_SLOTS, MemoSlot::default);
        }
        let mut hasher = FxHasher::default();
        hasher.write_u64(s.id);
        hasher.write(hay);
        let hash = hasher.finish();
        // The high half is the better mixed one.
        let at = (hash >> 32) as usize % self.slots.len();
        let Some(slot) = self.slots.get_mut(at) else {
            s.scan(hay, f);
            return;
        };
        if slot.owner != s.id || slot.hash != hash || slot.value() != hay {
            let found = &mut self.found;
            found.clear();
            s.scan(hay, &mut |literal| found.push(literal));
            found.sort_unstable();
            found.dedup();
            slot.fill(s.id, hash, hay, found);
        }
        slot.literals().iter().for_each(|&literal| f(literal));
    }
}

#[cfg(test)]
mod tests {
    use super::super::substrings::tests::{found, sample_values, substrings};
    use super::*;

    #[test]
    fn memo_offers_what_a_scan_offers() {
        // Automata over the same values: a memo slot must never answer for
        // another one.
        let a = substrings(&["\\system32\\", "ntdll.dll", ".exe", "powershell", "wow64"]);
        let b = substrings(&["microsoft", "\\windows\\", "svchost", "kernelbase"]);
        // Many literals per value: more than a slot keeps in itself.
        let c = substrings(&["c:", "\\", "windows", "system", "32", "dll", "exe", "x"]);
        // A literal across lines: such a set takes long values whole.
        let d = substrings(&["\r\n        host", "informational", "-enc", "x\nx"]);
        let mut values = vec![
            "c:\\windows\\system32\\ntdll.dll+9c534|c:\\windows\\system32\\kernelbase.dll"
                .to_owned(),
            "c:\\windows\\syswow64\\windowspowershell\\v1.0\\powershell.exe".to_owned(),
            "c:\\program files\\microsoft office\\root\\office16\\winword.exe".to_owned(),
            // Below the memo's bounds, at them and above them.
            "x".repeat(MEMO_MIN - 1),
            "x".repeat(MEMO_MIN),
            "x".repeat(MEMO_MAX),
            "x".repeat(MEMO_MAX) + ".exe",
            // Short values: access masks, a bare extension.
            "0x1010".to_owned(),
            ".exe".to_owned(),
            // Values that just fit in a slot, and just do not.
            "x".repeat(MEMO_INLINE_BYTES - 4) + ".exe",
            "x".repeat(MEMO_INLINE_BYTES - 3) + ".exe",
        ];
        // Long values of many lines (PowerShell's `ContextInfo`), lines
        // longer than a slot keeps whole, and a line longer than the memo
        // takes.
        let context = "        severity = informational\r\n        host application = \
                       c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe -enc \
                       x\r\n        sequence number = 17\r\n";
        for lines in [
            LINES_FROM / context.len(),
            LINES_FROM / context.len() + 1,
            200,
        ] {
            values.push(context.repeat(lines));
            values.push(context.repeat(lines) + "c:\\windows\\ntdll.dll");
        }
        values.push("x\n".repeat(LINES_FROM) + &"x".repeat(MEMO_MAX + 1) + "\nwow64");
        values.push("\n".repeat(LINES_FROM + 1));
        let real = sample_values();
        values.extend(real.iter().cloned());
        // Each value twice, so that the second meets the first's slot; a
        // one-slot memo makes every value evict the previous one.
        for slots in [MEMO_SLOTS, 1] {
            let mut memo = ScanMemo {
                slots: (0..slots).map(|_| MemoSlot::default()).collect(),
                found: Vec::new(),
            };
            for v in values.iter().chain(&values) {
                for s in [&a, &b, &c, &d] {
                    let want = found(s, v);
                    let mut got = Vec::new();
                    memo.scan(s, v.as_bytes(), &mut |r| got.push(r));
                    got.sort_unstable();
                    got.dedup();
                    assert_eq!(got, want, "memo and scan disagree on {v:?}");
                }
            }
        }
        eprintln!("{} real values compared", real.len());
    }
}
