//! What the cloud pass reads from a key's text, remembered per field
//! position and key stamp ([`Event::key_stamp`]).
//!
//! Shape detection looks at every key of every generic record, and the
//! Name/Value folding at every key of every cloud record; most keys have
//! no id (no detector asked for them), so neither can use the id tables of
//! `index.rs`. Records of one input repeat their keys at the same
//! positions, so what a key means is derived from its text once per
//! spelling and position, and afterwards costs one comparison of stamps.

use std::cell::RefCell;

use vigie_core::Event;

use super::fold::{self, Leaf};
use super::shape::{self, Note};

/// What the pass needs to know of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyInfo {
    /// What shape detection notes for it.
    pub(crate) note: Note,
    /// `bag.leaf` for a leaf naming or holding a Name/Value bag entry:
    /// the position of the dot and which leaf.
    pub(crate) leaf: Option<(u32, Leaf)>,
    /// The key has a dot (is nested).
    pub(crate) nested: bool,
}

impl KeyInfo {
    const EMPTY: KeyInfo = KeyInfo {
        note: Note::None,
        leaf: None,
        nested: false,
    };

    fn of(key: &str) -> KeyInfo {
        KeyInfo {
            note: shape::note_of(key),
            leaf: fold::split_known_leaf(key)
                .and_then(|(dot, leaf)| Some((u32::try_from(dot).ok()?, leaf))),
            nested: key.contains('.'),
        }
    }
}

thread_local! {
    /// (key stamp, info) by field position. As long as the longest record
    /// seen on the thread, like the event's own per-field buffers.
    static MEMO: RefCell<Vec<(u64, KeyInfo)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with the info of every key of `ev`, in field order.
pub(crate) fn with_infos<R>(ev: &Event, f: impl FnOnce(&[(u64, KeyInfo)]) -> R) -> R {
    MEMO.with(|cell| {
        let mut memo = cell.borrow_mut();
        let n = ev.len();
        if memo.len() < n {
            // Stamp 0 is never a field's: new entries are refreshed below.
            memo.resize(n, (0, KeyInfo::EMPTY));
        }
        for (index, entry) in memo.iter_mut().take(n).enumerate() {
            let stamp = ev.key_stamp(index);
            if entry.0 != stamp {
                *entry = (stamp, KeyInfo::of(ev.key_at(index).unwrap_or("")));
            }
        }
        f(&memo[..n])
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vigie_core::{FieldNames, ValueKind};

    use super::*;

    #[test]
    fn infos_follow_the_keys_of_each_record() {
        let mut ev = Event::new(Arc::new(FieldNames::new()));
        let infos = |ev: &Event| with_infos(ev, |i| i.iter().map(|(_, k)| *k).collect::<Vec<_>>());
        ev.push("Workload", "Exchange", ValueKind::Str);
        ev.push("OperationProperties.Name", "A", ValueKind::Str);
        let first = infos(&ev);
        assert_eq!(first[0], KeyInfo::of("Workload"));
        assert_eq!(first[1].leaf, Some((19, Leaf::Name)));
        ev.clear();
        ev.push("properties.x", "1", ValueKind::Str);
        ev.push("OperationProperties.Name", "A", ValueKind::Str);
        ev.push("OperationProperties.Value", "B", ValueKind::Str);
        let second = infos(&ev);
        assert_eq!(second[0], KeyInfo::of("properties.x"));
        assert_eq!(second[0].note, Note::PropertiesPrefix);
        assert_eq!(second[1], first[1]);
        assert_eq!(second[2].leaf, Some((19, Leaf::Value)));
        assert!(second.iter().all(|k| k.nested));
    }
}
