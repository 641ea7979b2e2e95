//! Case-insensitive interning of field names.

use std::hash::Hasher;
use std::sync::atomic::{AtomicU32, Ordering};

use hashbrown::HashTable;
use rustc_hash::FxHasher;

/// A field name interned in a [`FieldNames`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// Field ids that every table holds at fixed positions, so that sources and
/// sinks can reach the fields every Windows event has without a lookup.
pub mod well_known {
    use super::FieldId;
    pub const EVENT_ID: FieldId = FieldId(0);
    pub const CHANNEL: FieldId = FieldId(1);
    pub const PROVIDER_NAME: FieldId = FieldId(2);
    pub const COMPUTER: FieldId = FieldId(3);
    /// Names in the order of the ids above.
    pub const NAMES: [&str; 4] = ["EventID", "Channel", "Provider_Name", "Computer"];
}

/// Interned field names. Lookups ignore ASCII case: Windows field names are
/// spelt consistently, but cloud exports and SIEM shapes are not.
#[derive(Clone, Debug)]
pub struct FieldNames {
    /// Ids by case-folded hash of their name; compared without regard to
    /// ASCII case, so a lookup neither copies nor lower-cases the name (it
    /// runs for every key of every record).
    by_name: HashTable<FieldId>,
    names: Vec<Box<str>>,
    /// Stamps left by parts that add the names they need (the cloud
    /// normaliser), so that they can tell whether a table is ready for them.
    marks: Vec<(&'static str, u64)>,
    /// Names the table's contents: a new one for each name added, never 0.
    /// Clones share it until one of them adds a name, so a lookup's result
    /// can be kept with the version it was found in.
    version: u32,
}

/// Source of [`FieldNames::version`]s.
static NEXT_VERSION: AtomicU32 = AtomicU32::new(1);

fn next_version() -> u32 {
    // Relaxed: the counter only hands out distinct values. (Wrapping after
    // four billion added names would take a hostile process years.)
    match NEXT_VERSION.fetch_add(1, Ordering::Relaxed) {
        0 => NEXT_VERSION.fetch_add(1, Ordering::Relaxed),
        v => v,
    }
}

impl Default for FieldNames {
    fn default() -> Self {
        let mut table = FieldNames {
            by_name: HashTable::new(),
            names: Vec::new(),
            marks: Vec::new(),
            version: next_version(),
        };
        for name in well_known::NAMES {
            table.intern(name);
        }
        table
    }
}

impl FieldNames {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the id of `name`, adding it when it is new. The first
    /// spelling seen is the one [`FieldNames::name`] gives back.
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(id) = self.get(name) {
            return id;
        }
        let id = FieldId(self.names.len() as u32);
        self.names.push(name.into());
        self.version = next_version();
        let names = &self.names;
        self.by_name.insert_unique(folded_hash(name), id, |id| {
            folded_hash(names.get(id.0 as usize).map_or("", |n| &**n))
        });
        id
    }

    /// The version of the table's contents (see the field's docs): equal
    /// versions give equal lookups.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Looks a name up without adding it. (`scratch` is no longer used:
    /// lookups do not copy the name.)
    pub fn get_with(&self, name: &str, _scratch: &mut String) -> Option<FieldId> {
        self.get(name)
    }

    /// Looks a name up without adding it.
    #[inline]
    pub fn get(&self, name: &str) -> Option<FieldId> {
        let names = &self.names;
        self.by_name
            .find(folded_hash(name), |id| {
                names
                    .get(id.0 as usize)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .copied()
    }

    /// The name of an id (as first interned).
    pub fn name(&self, id: FieldId) -> &str {
        self.names.get(id.0 as usize).map(|s| &**s).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Leaves a stamp `key = value` (replacing an earlier one).
    pub fn set_mark(&mut self, key: &'static str, value: u64) {
        self.marks.retain(|(k, _)| *k != key);
        self.marks.push((key, value));
    }

    /// The stamp left under `key`, if any.
    pub fn mark(&self, key: &str) -> Option<u64> {
        self.marks.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// Every id with its name, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (FieldId, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (FieldId(i as u32), &**n))
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A hash of `name` that ignores ASCII case: bit 5 is set on every byte,
/// which makes `A`–`Z` hash like `a`–`z` (the few other bytes that differ
/// only in that bit merely share a hash; equality still compares exactly).
#[inline]
fn folded_hash(name: &str) -> u64 {
    const FOLD: u64 = 0x2020_2020_2020_2020;
    let bytes = name.as_bytes();
    let mut h = FxHasher::default();
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h.write_u64(u64::from_le_bytes(word) | FOLD);
    }
    let mut tail = [0u8; 8];
    let rest = chunks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    h.write_u64(u64::from_le_bytes(tail) | FOLD);
    h.write_usize(bytes.len());
    h.finish()
}

/// Longer names are derived every time, not cached: a record may hold a
/// key of hundreds of megabytes, and a cache of thousands of them would
/// keep the input in memory.
const MAX_CACHED_NAME: usize = 256;

/// Values derived from a name, remembered by the name's exact spelling:
/// records repeat their keys, so the derivation (a case-folded lookup, a
/// lower-cased copy) runs once per spelling. Bounded, because hostile input
/// may bring a new key in every record: past `cap` entries, and for names
/// longer than 256 bytes, the derivation just runs every time.
#[derive(Clone, Debug)]
pub struct SpellingCache<V> {
    /// Per name: where it is in `spellings` (start, length), and its value.
    /// The names are end to end in one buffer rather than each boxed, so
    /// that the few dozen a log uses share a few cache lines: a lookup
    /// compares against them, and scattered boxes were a cold line each.
    map: HashTable<(u32, u32, V)>,
    spellings: String,
    cap: usize,
}

impl<V: Copy> SpellingCache<V> {
    pub fn new(cap: usize) -> Self {
        SpellingCache {
            map: HashTable::new(),
            spellings: String::new(),
            cap,
        }
    }

    /// The value for `name`, derived by `derive` the first time.
    #[inline]
    pub fn get_or_insert_with(&mut self, name: &str, derive: impl FnOnce() -> V) -> V {
        let hash = spelling_hash(name.as_bytes());
        let spellings = self.spellings.as_bytes();
        if let Some(&(_, _, v)) = self.map.find(hash, |&(start, len, _)| {
            same_text(spelling(spellings, start, len), name.as_bytes())
        }) {
            return v;
        }
        let v = derive();
        if self.map.len() < self.cap && name.len() <= MAX_CACHED_NAME {
            let start = self.spellings.len() as u32;
            self.spellings.push_str(name);
            let spellings = self.spellings.as_bytes();
            self.map
                .insert_unique(hash, (start, name.len() as u32, v), |&(start, len, _)| {
                    spelling_hash(spelling(spellings, start, len))
                });
        }
        v
    }
}

/// The name of a [`SpellingCache`] entry: `len` bytes of `spellings` from
/// `start`.
#[inline]
fn spelling(spellings: &[u8], start: u32, len: u32) -> &[u8] {
    let start = start as usize;
    spellings
        .get(start..start + len as usize)
        .unwrap_or_default()
}

#[inline]
fn spelling_hash(name: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(name);
    hasher.finish()
}

/// Whether `a` and `b` are the same bytes. Keys (and the needles of rule
/// values) are short: up to sixteen bytes are compared as two
/// (overlapping) words inline, where `==` on slices calls `memcmp`, whose
/// call and size dispatch cost more than the comparison. Longer ones go to
/// `==`.
#[inline(always)]
pub fn same_text(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let len = a.len();
    let word = |s: &[u8], at: usize| -> u64 {
        s.get(at..at + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    };
    let half = |s: &[u8], at: usize| -> u32 {
        s.get(at..at + 4)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u32::from_le_bytes)
    };
    match len {
        8..=16 => word(a, 0) == word(b, 0) && word(a, len - 8) == word(b, len - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, len - 4) == half(b, len - 4),
        // Shorter ones are few bytes; longer ones are rare.
        _ => a == b,
    }
}

/// Whether `hay` starts with `needle`, compared as [`same_text`] does.
#[inline(always)]
pub fn has_prefix(hay: &[u8], needle: &[u8]) -> bool {
    hay.get(..needle.len())
        .is_some_and(|head| same_text(head, needle))
}

/// Whether `hay` ends with `needle`, compared as [`same_text`] does.
#[inline(always)]
pub fn has_suffix(hay: &[u8], needle: &[u8]) -> bool {
    let tail = hay
        .len()
        .checked_sub(needle.len())
        .and_then(|at| hay.get(at..));
    tail.is_some_and(|tail| same_text(tail, needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_cache_keeps_short_names_only() {
        let mut cache = SpellingCache::new(8);
        let long = "k".repeat(MAX_CACHED_NAME + 1);
        let mut derived = 0;
        for _ in 0..2 {
            assert_eq!(
                cache.get_or_insert_with("Image", || {
                    derived += 1;
                    1
                }),
                1
            );
            assert_eq!(
                cache.get_or_insert_with(&long, || {
                    derived += 1;
                    2
                }),
                2
            );
        }
        // "Image" once, the long name each time.
        assert_eq!(derived, 3);
        assert_eq!(cache.map.len(), 1);
    }

    #[test]
    fn same_text_is_byte_equality() {
        let mut random = crate::test_rng::XorShift(0x5eed_cafe);
        // Every length around the word boundaries, equal and differing in
        // each position.
        for len in 0..40 {
            let a: Vec<u8> = (0..len).map(|_| b"ab"[random.below(2)]).collect();
            assert!(same_text(&a, &a.clone()));
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 1 << random.below(8);
                assert!(!same_text(&a, &b), "{a:?} {b:?}");
            }
            let mut longer = a.clone();
            longer.push(b'a');
            assert!(!same_text(&a, &longer));
            assert!(!same_text(&longer, &a));
        }
    }

    /// Prefix and suffix tests agree with the standard library's on every
    /// cut of values around the word boundaries, and on needles longer
    /// than the value.
    #[test]
    fn prefixes_and_suffixes_as_the_standard_library_finds_them() {
        let mut random = crate::test_rng::XorShift(0xfeed_5eed);
        for len in 0..40 {
            let hay: Vec<u8> = (0..len).map(|_| b"ab"[random.below(2)]).collect();
            for cut in 0..=len + 2 {
                let mut needles = vec![hay.get(..cut).unwrap_or(&hay).to_vec()];
                needles.push(hay.get(len.saturating_sub(cut)..).unwrap_or(&hay).to_vec());
                needles.push((0..cut).map(|_| b"ab"[random.below(2)]).collect());
                for needle in &needles {
                    assert_eq!(has_prefix(&hay, needle), hay.starts_with(needle));
                    assert_eq!(has_suffix(&hay, needle), hay.ends_with(needle));
                }
            }
        }
    }

    #[test]
    fn interning_ignores_case_and_keeps_first_spelling() {
        let mut names = FieldNames::new();
        let a = names.intern("CommandLine");
        let b = names.intern("commandline");
        assert_eq!(a, b);
        assert_eq!(names.name(a), "CommandLine");
        assert_eq!(names.get("COMMANDLINE"), Some(a));
        assert_eq!(names.get("Image"), None);
        assert_eq!(names.get("eventid"), Some(well_known::EVENT_ID));
    }
}
