//! Keys of the exact-value maps, kept in the map's own buckets when short.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// Bytes a key holds in place: with its tag and length, the size of a
/// boxed slice.
const INLINE: usize = 22;

/// A whole lower-case value an exact witness requires.
///
/// A map keyed by `Box<[u8]>` read three cache lines per hit: the control
/// bytes, the bucket, then the key's bytes on the heap to compare them.
/// The index is read at random, so each was a miss as often as not. Short
/// keys (process names, access masks, logon types) are compared where the
/// bucket already is.
#[derive(Clone, Debug)]
pub(super) enum ExactKey {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl ExactKey {
    pub(super) fn new(value: &[u8]) -> ExactKey {
        let mut bytes = [0u8; INLINE];
        match bytes.get_mut(..value.len()) {
            Some(head) => {
                head.copy_from_slice(value);
                ExactKey::Inline {
                    len: value.len() as u8,
                    bytes,
                }
            }
            None => ExactKey::Heap(value.into()),
        }
    }

    #[inline]
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            ExactKey::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            ExactKey::Heap(bytes) => bytes,
        }
    }
}

impl Borrow<[u8]> for ExactKey {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// Hashed as its bytes, so that a map of keys is looked up by a `&[u8]`
/// (`Borrow` requires the two hashes to agree).
impl Hash for ExactKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for ExactKey {
    fn eq(&self, other: &ExactKey) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ExactKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use rustc_hash::FxHashMap;

    #[test]
    fn keys_of_every_length_are_found_by_their_bytes_and_only_by_them() {
        let values: Vec<Vec<u8>> = (0..=2 * INLINE + 1)
            .map(|n| (0..n).map(|i| b'a' + (i % 26) as u8).collect())
            .collect();
        let map: FxHashMap<ExactKey, u32> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (ExactKey::new(v), i as u32))
            .collect();
        assert_eq!(map.len(), values.len());
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                map.get(v.as_slice()),
                Some(&(i as u32)),
                "length {}",
                v.len()
            );
            assert_eq!(ExactKey::new(v).as_bytes(), v.as_slice());
            // Same length, one byte apart: not found.
            let mut other = v.clone();
            if let Some(last) = other.last_mut() {
                *last = b'!';
                assert_eq!(map.get(other.as_slice()), None, "length {}", v.len());
            }
        }
        assert!(matches!(
            ExactKey::new(&values[INLINE]),
            ExactKey::Inline { .. }
        ));
        assert!(matches!(
            ExactKey::new(&values[INLINE + 1]),
            ExactKey::Heap(_)
        ));
        assert_eq!(
            std::mem::size_of::<ExactKey>(),
            std::mem::size_of::<Box<[u8]>>() + 8
        );
    }
}
