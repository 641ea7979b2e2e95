//! An event buffer's keys by position, kept across records with their ids.
//!
//! Records of one input repeat their keys, mostly in the same order, so a
//! key is usually compared with the one at its position in the last record
//! and neither hashed nor copied. The comparison is on the hot path of
//! every field: short keys (nearly all) are kept in their slot, one cache
//! line per position, not in a string of their own elsewhere on the heap.
//!
//! Each position also keeps the key it held before (when short): logs
//! interleave a few record shapes (a Sysmon process access, an image load,
//! a Security handle event), and with one key per position 8.4 of an OTRF
//! event's 25 keys missed it and went through the spelling cache; with
//! two, 4.6 did (a simulation over `otrf-once.jsonl`).

use crate::fields::same_text;

/// Bytes of a key kept in its slot; longer keys (nested cloud paths) are
/// kept in a string of their own.
const INLINE_KEY: usize = 44;

/// A long key's string is given back when a key of at most this many bytes
/// replaces it: hostile records could otherwise leave a huge key at every
/// position.
pub(crate) const MAX_KEPT_KEY: usize = 256;

#[derive(Clone, Debug, Default)]
pub(crate) struct PositionKeys {
    /// Per position, the current key (the one every reader sees) and the
    /// one before it, kept only when it fits in its slot.
    slots: Vec<[KeySlot; 2]>,
    /// Per position, the current key when it is longer than
    /// [`INLINE_KEY`].
    long: Vec<String>,
}

/// 64 bytes: a cache line.
#[derive(Clone, Copy, Debug)]
struct KeySlot {
    inline: [u8; INLINE_KEY],
    len: u32,
    id: u32,
    stamp: u64,
}

/// A slot that holds no key: its length is none a key can have in a slot,
/// so no lookup matches it.
const EMPTY_SLOT: KeySlot = KeySlot {
    inline: [0; INLINE_KEY],
    len: u32::MAX,
    id: 0,
    stamp: 0,
};

impl PositionKeys {
    /// The slot of position `index` and its key's bytes: in the slot, or
    /// in the position's string when longer.
    #[inline]
    fn cached(&self, index: usize) -> Option<(&KeySlot, &[u8])> {
        let [slot, _] = self.slots.get(index)?;
        let bytes = match slot.inline.get(..slot.len as usize) {
            Some(bytes) => bytes,
            None => self.long.get(index)?.as_bytes(),
        };
        Some((slot, bytes))
    }

    /// The key of position `index`.
    #[inline]
    pub(crate) fn text(&self, index: usize) -> &str {
        self.cached(index)
            // Stored from a `&str`: the check cannot fail.
            .and_then(|(_, bytes)| std::str::from_utf8(bytes).ok())
            .unwrap_or("")
    }

    /// The id cached at `index` when its key is `key`.
    #[inline]
    pub(crate) fn id_if(&self, index: usize, key: &str) -> Option<u32> {
        let (slot, cached) = self.cached(index)?;
        same_text(cached, key.as_bytes()).then_some(slot.id)
    }

    /// When `key` is the key position `index` held before its current
    /// one: makes it current again (with its id and stamp) and returns
    /// its id. The current key becomes the one before.
    #[inline]
    pub(crate) fn promote_if(&mut self, index: usize, key: &str) -> Option<u32> {
        let [current, before] = self.slots.get_mut(index)?;
        let kept = before.inline.get(..before.len as usize)?;
        if !same_text(kept, key.as_bytes()) {
            return None;
        }
        let id = before.id;
        // A long current key (its bytes are in `long`) is not kept.
        let current_is_long = current.len as usize > INLINE_KEY;
        let was = std::mem::replace(current, *before);
        *before = if current_is_long { EMPTY_SLOT } else { was };
        if current_is_long {
            self.give_back_long(index);
        }
        Some(id)
    }

    /// The id and stamp cached at `index`.
    #[inline]
    pub(crate) fn id_and_stamp(&self, index: usize) -> Option<(u32, u64)> {
        self.slots.get(index).map(|[slot, _]| (slot.id, slot.stamp))
    }

    /// The stamps of the first `n` positions.
    pub(crate) fn stamps(&self, n: usize) -> impl Iterator<Item = u64> + '_ {
        self.slots
            .get(..n)
            .unwrap_or(&[])
            .iter()
            .map(|[s, _]| s.stamp)
    }

    /// Caches `key`, its id and its stamp at position `index`.
    #[inline]
    pub(crate) fn remember(&mut self, index: usize, key: &str, id: u32, stamp: u64) {
        if key.len() <= MAX_KEPT_KEY {
            self.give_back_long(index);
        }
        if self.slots.len() <= index {
            self.slots.resize(index + 1, [EMPTY_SLOT; 2]);
        }
        let Some([slot, before]) = self.slots.get_mut(index) else {
            return;
        };
        // The key it replaces is kept as the one before, when it fits.
        if slot.len as usize <= INLINE_KEY {
            *before = *slot;
        }
        slot.len = key.len() as u32;
        slot.id = id;
        slot.stamp = stamp;
        match slot.inline.get_mut(..key.len()) {
            Some(inline) => inline.copy_from_slice(key.as_bytes()),
            None => {
                if self.long.len() <= index {
                    self.long.resize_with(index + 1, String::new);
                }
                if let Some(long) = self.long.get_mut(index) {
                    long.clear();
                    long.push_str(key);
                }
            }
        }
    }

    /// Gives back position `index`'s long-key string when it holds more
    /// than [`MAX_KEPT_KEY`] bytes, once a shorter key has replaced it:
    /// hostile records could otherwise leave a huge key at every position.
    fn give_back_long(&mut self, index: usize) {
        if let Some(long) = self.long.get_mut(index) {
            if long.capacity() > MAX_KEPT_KEY {
                *long = String::new();
            }
        }
    }

    /// The memory held for position `index`'s key beyond its slot.
    #[cfg(test)]
    pub(crate) fn held(&self, index: usize) -> usize {
        self.long.get(index).map_or(0, String::capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_every_length_are_kept_by_position() {
        let mut keys = PositionKeys::default();
        let texts: Vec<String> = (0..80)
            .map(|n| "é".repeat(n / 2) + &"k".repeat(n % 2))
            .collect();
        for (i, key) in texts.iter().enumerate() {
            keys.remember(i, key, i as u32, 100 + i as u64);
        }
        for (i, key) in texts.iter().enumerate() {
            assert_eq!(keys.text(i), key);
            assert_eq!(keys.id_if(i, key), Some(i as u32));
            assert_eq!(keys.id_if(i, &format!("{key}x")), None);
            assert_eq!(keys.id_and_stamp(i), Some((i as u32, 100 + i as u64)));
        }
        // A short key replacing a long one, and the other way round.
        keys.remember(70, "Image", 7, 1);
        assert_eq!(keys.text(70), "Image");
        assert_eq!(keys.id_if(70, &texts[70]), None);
        keys.remember(3, &texts[79], 9, 2);
        assert_eq!(keys.text(3), texts[79]);
        assert_eq!(keys.id_if(3, &texts[79]), Some(9));
        assert_eq!(keys.stamps(3).collect::<Vec<_>>(), vec![100, 101, 102]);
        assert_eq!(keys.text(80), "");
        assert_eq!(keys.id_if(80, ""), None);
    }

    #[test]
    fn the_key_before_comes_back_with_its_id_and_stamp() {
        let mut keys = PositionKeys::default();
        keys.remember(0, "Image", 1, 11);
        keys.remember(0, "TargetObject", 2, 12);
        assert_eq!(keys.id_if(0, "Image"), None);
        // Records of two shapes alternating: each key comes back.
        for _ in 0..3 {
            assert_eq!(keys.promote_if(0, "Image"), Some(1));
            assert_eq!(keys.text(0), "Image");
            assert_eq!(keys.id_and_stamp(0), Some((1, 11)));
            assert_eq!(keys.promote_if(0, "Image"), None);
            assert_eq!(keys.promote_if(0, "TargetObject"), Some(2));
            assert_eq!(keys.text(0), "TargetObject");
            assert_eq!(keys.id_and_stamp(0), Some((2, 12)));
        }
        assert_eq!(keys.promote_if(0, "CommandLine"), None);
        assert_eq!(keys.promote_if(1, "Image"), None);
        // A long key is current only: it is not kept as the one before.
        let long = "k".repeat(INLINE_KEY + 1);
        keys.remember(0, &long, 3, 13);
        assert_eq!(keys.text(0), long);
        assert_eq!(keys.promote_if(0, "TargetObject"), Some(2));
        assert_eq!(keys.promote_if(0, &long), None);
        assert_eq!(keys.text(0), "TargetObject");
        // A huge key is given back when the key before comes back.
        keys.remember(0, &"k".repeat(1 << 20), 4, 14);
        assert!(keys.held(0) >= 1 << 20);
        assert_eq!(keys.promote_if(0, "TargetObject"), Some(2));
        assert!(keys.held(0) <= MAX_KEPT_KEY);
        assert_eq!(keys.stamps(1).collect::<Vec<_>>(), vec![12]);
    }

    #[test]
    fn huge_keys_are_given_back() {
        let mut keys = PositionKeys::default();
        keys.remember(0, &"k".repeat(1 << 20), 0, 0);
        assert!(keys.held(0) >= 1 << 20);
        keys.remember(0, "EventID", 0, 0);
        assert!(keys.held(0) <= MAX_KEPT_KEY);
    }
}
