//! An event buffer's keys by position, kept across records with their ids.
//!
//! Records of one input repeat their keys, mostly in the same order, so a
//! key is usually compared with the one at its position in the last record
//! and neither hashed nor copied. The comparison is on the hot path of
//! every field: short keys (nearly all) are kept in their slot, one cache
//! line per position, not in a string of their own elsewhere on the heap.

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
    slots: Vec<KeySlot>,
    /// Per position, the key when it is longer than [`INLINE_KEY`].
    long: Vec<String>,
}

/// 64 bytes: a cache line.
#[derive(Clone, Debug)]
struct KeySlot {
    inline: [u8; INLINE_KEY],
    len: u32,
    id: u32,
    stamp: u64,
}

impl PositionKeys {
    /// The slot of position `index` and its key's bytes: in the slot, or
    /// in the position's string when longer.
    #[inline]
    fn cached(&self, index: usize) -> Option<(&KeySlot, &[u8])> {
        let slot = self.slots.get(index)?;
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

    /// The id and stamp cached at `index`.
    #[inline]
    pub(crate) fn id_and_stamp(&self, index: usize) -> Option<(u32, u64)> {
        self.slots.get(index).map(|slot| (slot.id, slot.stamp))
    }

    /// The stamps of the first `n` positions.
    pub(crate) fn stamps(&self, n: usize) -> impl Iterator<Item = u64> + '_ {
        self.slots.get(..n).unwrap_or(&[]).iter().map(|s| s.stamp)
    }

    /// Caches `key`, its id and its stamp at position `index`.
    #[inline]
    pub(crate) fn remember(&mut self, index: usize, key: &str, id: u32, stamp: u64) {
        if key.len() <= MAX_KEPT_KEY {
            if let Some(long) = self.long.get_mut(index) {
                if long.capacity() > MAX_KEPT_KEY {
                    *long = String::new();
                }
            }
        }
        if self.slots.len() <= index {
            self.slots.resize(
                index + 1,
                KeySlot {
                    inline: [0; INLINE_KEY],
                    len: 0,
                    id: 0,
                    stamp: 0,
                },
            );
        }
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
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
    fn huge_keys_are_given_back() {
        let mut keys = PositionKeys::default();
        keys.remember(0, &"k".repeat(1 << 20), 0, 0);
        assert!(keys.held(0) >= 1 << 20);
        keys.remember(0, "EventID", 0, 0);
        assert!(keys.held(0) <= MAX_KEPT_KEY);
    }
}
