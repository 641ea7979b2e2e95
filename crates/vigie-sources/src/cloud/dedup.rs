//! Dropping records seen twice. Exports overlap (paged
//! `Search-UnifiedAuditLog` calls, re-run collections, the same day pulled
//! by two tools), so the same UAL record (`Id`) or sign-in (`id`) often
//! comes several times, in one file or across files of different shapes.
//! A record's key is a 64-bit keyed hash of its family, id, action and
//! time; the set is shared by every input of a run.
//!
//! The hash key is random per run: record ids come from the input, and a
//! predictable hash would let a crafted record collide with a real one and
//! have it dropped as a "duplicate". The set is capped (8 bytes a record);
//! past the cap new records are kept unchecked and counted, so memory stays
//! bounded whatever the input size.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashSet;
use vigie_core::Event;

use super::index::Tops;
use super::shape::Family;

const SHARDS: usize = 16;

/// Records remembered by default (about 64 MB at most).
pub const DEFAULT_DEDUP_CAP: usize = 4_000_000;

/// The record keys seen in a run.
pub struct Dedup {
    state: RandomState,
    shards: [Mutex<FxHashSet<u64>>; SHARDS],
    cap_per_shard: usize,
    unchecked: AtomicU64,
}

impl Default for Dedup {
    fn default() -> Self {
        Dedup::with_cap(DEFAULT_DEDUP_CAP)
    }
}

impl std::fmt::Debug for Dedup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dedup")
    }
}

impl Dedup {
    /// A filter that remembers about `cap` records.
    pub fn with_cap(cap: usize) -> Dedup {
        Dedup {
            state: RandomState::new(),
            shards: Default::default(),
            cap_per_shard: cap.div_ceil(SHARDS),
            unchecked: AtomicU64::new(0),
        }
    }

    /// `true` the first time a key is offered (and for every key once the
    /// filter is full).
    pub fn first_sighting(&self, key: u64) -> bool {
        let shard = &self.shards[(key as usize) % SHARDS];
        match shard.lock() {
            Ok(mut seen) => {
                if seen.len() >= self.cap_per_shard && !seen.contains(&key) {
                    self.unchecked.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                seen.insert(key)
            }
            // A poisoned shard (a panic elsewhere) must not lose records.
            Err(_) => true,
        }
    }

    /// Records kept without a duplicate check because the filter was full.
    pub fn unchecked(&self) -> u64 {
        self.unchecked.load(Ordering::Relaxed)
    }

    /// The dedup key of a record: its id and time (a re-exported record
    /// has both the same; test and synthetic data reuse ids at other
    /// times) and what it did; for sign-ins without an id, the correlation
    /// id and time.
    /// `bytes` is a reused buffer.
    pub(crate) fn key(
        &self,
        ev: &Event,
        family: Family,
        tops: &Tops,
        bytes: &mut Vec<u8>,
    ) -> Option<u64> {
        let id = Tops::of(&tops.ids, family)
            .iter()
            .find_map(|f| f.get(ev))
            .map(str::trim)
            .filter(|id| !id.is_empty());
        let (id, kind): (&str, u8) = match id {
            Some(id) => (id, 0),
            None if family == Family::SignIn => (tops.correlation_id.get(ev)?.trim(), 1),
            None => return None,
        };
        // The key's bytes are gathered and hashed in one call: SipHash
        // takes the same bytes as written piecemeal, for far less work
        // per record.
        bytes.clear();
        bytes.push(family as u8);
        bytes.push(kind);
        // Ids differ in case between shapes (GUIDs upper/lower).
        let start = bytes.len();
        bytes.extend_from_slice(id.as_bytes());
        bytes[start..].make_ascii_lowercase();
        // What was done, and to what: an id reused by test or synthetic
        // data for another action is not a duplicate.
        for (field, nested) in &tops.discriminators {
            if let Some(value) = field.get(ev).or_else(|| nested.get(ev)) {
                bytes.push(0x1f);
                bytes.extend_from_slice(value.as_bytes());
            }
        }
        bytes.extend_from_slice(&ev.timestamp.unwrap_or(0).to_ne_bytes());
        let mut h = self.state.build_hasher();
        h.write(bytes);
        Some(h.finish())
    }
}

/// Fields that say what a record did, hashed with its id. They read the
/// same in every shape once normalised.
/// Each is looked up at the top, then inside a Graph `auditData` object.
pub(crate) const DISCRIMINATORS: [(&str, &str); 3] = [
    ("Operation", "auditData.Operation"),
    ("category", "auditData.category"),
    ("ObjectId", "auditData.ObjectId"),
];

/// Fields holding a record's unique id, per family, best first.
pub(crate) fn id_fields(family: Family) -> &'static [&'static str] {
    match family {
        Family::Ual => &["Id", "OfficeId", "RecordId", "Identity"],
        Family::SignIn => &["properties.id", "id"],
        Family::Audit => &["properties.id", "id"],
        Family::Risk => &["properties.id", "id"],
        Family::GraphActivity => &["properties.requestId", "requestId", "RequestId"],
        Family::Activity => &["properties.eventDataId", "eventDataId", "EventDataId"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_caught_until_the_cap_then_counted_unchecked() {
        let dedup = Dedup::with_cap(SHARDS * 2);
        assert!(dedup.first_sighting(1));
        assert!(!dedup.first_sighting(1));
        // Fill every shard past its share.
        let offered = (2..2 + SHARDS as u64 * 4)
            .filter(|k| dedup.first_sighting(*k))
            .count();
        assert_eq!(offered, SHARDS * 4, "new keys are always kept");
        assert!(dedup.unchecked() > 0, "keys past the cap are counted");
        // A key remembered before the cap is still caught.
        assert!(!dedup.first_sighting(1));
        let total: usize = dedup
            .shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.len()))
            .sum();
        assert!(total <= SHARDS * 2, "memory stays within the cap: {total}");
    }
}
