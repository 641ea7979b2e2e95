//! Dropping records seen twice. Exports overlap (paged
//! `Search-UnifiedAuditLog` calls, re-run collections, the same day pulled
//! by two tools), so the same UAL record (`Id`) or sign-in (`id`) often
//! comes several times, in one file or across files of different shapes.
//! A record's key is a 128-bit hash of its family, id and time; the set is shared
//! by every input of a run.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;

use vigie_core::Event;

use super::shape::{top, Family};

const SHARDS: usize = 16;

/// The record ids seen in a run.
#[derive(Default)]
pub struct Dedup {
    shards: [Mutex<HashSet<u128>>; SHARDS],
}

impl std::fmt::Debug for Dedup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dedup")
    }
}

impl Dedup {
    /// `true` the first time a key is offered.
    pub fn first_sighting(&self, key: u128) -> bool {
        let shard = &self.shards[(key as usize) % SHARDS];
        match shard.lock() {
            Ok(mut seen) => seen.insert(key),
            // A poisoned shard (a panic elsewhere) must not lose records.
            Err(_) => true,
        }
    }
}

/// Fields that say what a record did, hashed with its id. They read the
/// same in every shape once normalised.
/// Each is looked up at the top, then inside a Graph `auditData` object.
const DISCRIMINATORS: [(&str, &str); 3] = [
    ("Operation", "auditData.Operation"),
    ("category", "auditData.category"),
    ("ObjectId", "auditData.ObjectId"),
];

/// Fields holding a record's unique id, per family, best first.
fn id_fields(family: Family) -> &'static [&'static str] {
    match family {
        Family::Ual => &["Id", "OfficeId", "RecordId", "Identity"],
        Family::SignIn => &["properties.id", "id"],
        Family::Audit => &["properties.id", "id"],
        Family::Risk => &["properties.id", "id"],
        Family::GraphActivity => &["properties.requestId", "requestId", "RequestId"],
        Family::Activity => &["properties.eventDataId", "eventDataId", "EventDataId"],
    }
}

/// The dedup key of a record: its id and time (a re-exported record has
/// both the same; test and synthetic data reuse ids at other times); for
/// sign-ins without an id, the correlation id and time.
pub(crate) fn key(ev: &Event, family: Family) -> Option<u128> {
    let id = id_fields(family)
        .iter()
        .find_map(|f| top(ev, f))
        .filter(|id| !id.trim().is_empty());
    let (id, kind) = match id {
        Some(id) => (id, ""),
        None if family == Family::SignIn => (top(ev, "correlationId")?, "correlation"),
        None => return None,
    };
    // What was done, and to what: an id reused by test or synthetic data
    // for another action is not a duplicate.
    let mut what = String::from(kind);
    for (field, nested) in DISCRIMINATORS {
        if let Some(value) = top(ev, field).or_else(|| top(ev, nested)) {
            what.push('\u{1f}');
            what.push_str(value);
        }
    }
    Some(hash128(family as u8, id, &what, ev.timestamp.unwrap_or(0)))
}

fn hash128(family: u8, a: &str, b: &str, time: i64) -> u128 {
    let half = |seed: u64| {
        let mut h = FixedState(seed).build_hasher();
        h.write_u8(family);
        // Ids differ in case between shapes (GUIDs upper/lower).
        for byte in a.trim().bytes() {
            h.write_u8(byte.to_ascii_lowercase());
        }
        h.write(b.as_bytes());
        h.write_i64(time);
        h.finish()
    };
    (u128::from(half(0x9e37_79b9_7f4a_7c15)) << 64) | u128::from(half(0x2545_f491_4f6c_dd1d))
}

/// SipHash with fixed keys: the same id gives the same key in every
/// thread.
struct FixedState(u64);

impl BuildHasher for FixedState {
    type Hasher = std::hash::DefaultHasher;
    fn build_hasher(&self) -> Self::Hasher {
        let mut h = std::hash::DefaultHasher::new();
        h.write_u64(self.0);
        h
    }
}
