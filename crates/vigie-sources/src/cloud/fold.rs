//! Name/Value lists folded into named fields, and the UAL's derived fields.
//!
//! UAL and Entra records carry bags such as
//! `"ExtendedProperties":[{"Name":"UserAgent","Value":"…"}]`; flattened,
//! that is `ExtendedProperties.Name = UserAgent` followed by
//! `ExtendedProperties.Value = …`. Each value is made reachable as
//! `ExtendedProperties.UserAgent` (and, for the bags whose names rules use
//! bare, as `UserAgent`); `ModifiedProperties` / `modifiedProperties`
//! entries as `ModifiedProperties.<Name>.NewValue` and `.OldValue`.
//! These are aliases onto the existing values, made only for names some
//! loaded rule uses, so folding costs no copy.

use vigie_core::{Event, FieldId, FieldNames, ValueKind};

use super::index::Tops;
use super::keys::Pair;

/// Bags whose entry names rules also use without the bag's prefix
/// (`RequestType`, `UserAgent`, `MailAccessType`).
const BARE: [&str; 4] = [
    "ExtendedProperties",
    "Parameters",
    "OperationProperties",
    "DeviceProperties",
];

/// The leaf of a bag entry key (`X.Name`, `X.Value`, …), compared without
/// regard to case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leaf {
    /// `Name`, `key`, `displayName`: names the entry.
    Name,
    /// `Value`: holds it.
    Value,
    /// `NewValue`, `OldValue`: hold it, named with the leaf.
    Change,
}

/// `(position of the dot, leaf)` when `key` is `bag.leaf` for a leaf
/// naming or holding a bag entry; checked from the end. Read through the
/// key memo (`keys.rs`), so once per key spelling and position.
pub(crate) fn split_known_leaf(key: &str) -> Option<(usize, Leaf)> {
    const LEAVES: [(&str, Leaf); 6] = [
        ("Name", Leaf::Name),
        ("key", Leaf::Name),
        ("displayName", Leaf::Name),
        ("Value", Leaf::Value),
        ("NewValue", Leaf::Change),
        ("OldValue", Leaf::Change),
    ];
    LEAVES.iter().find_map(|&(leaf, kind)| {
        let dot = key.len().checked_sub(leaf.len() + 1)?;
        if key.as_bytes()[dot] != b'.' {
            return None;
        }
        let tail = key.get(dot + 1..)?;
        (tail.eq_ignore_ascii_case(leaf) && key.get(..dot).is_some()).then_some((dot, kind))
    })
}

fn strip_wrapper(bag: &str) -> &str {
    ["auditData.", "properties.", "AuditData."]
        .iter()
        .find_map(|p| bag.strip_prefix(p))
        .unwrap_or(bag)
}

/// The ids an entry's value is aliased under, in order: the bag's
/// spelling, the bag's without its wrapper, the bare entry name.
type EntryIds = [Option<FieldId>; 3];

/// Per entry of the plan: the stamp of its value's key, its name, and the
/// ids they give. Records of one input repeat their entries (an Exchange
/// record's `MailAccessType`, `IsThrottled`), so the names table is asked
/// once per change instead of for every record.
#[derive(Debug, Default)]
pub(crate) struct EntryMemo {
    entries: Vec<(u64, String, EntryIds)>,
    /// Reused buffer of the names looked up.
    name: String,
}

/// Makes each bag entry's value reachable under its name (see the module
/// documentation), for the names some rule uses. `pairs` are the record's
/// entries (see `keys.rs`); `folds` is a reused buffer.
pub(crate) fn name_value_lists(
    ev: &mut Event,
    pairs: &[Pair],
    memo: &mut EntryMemo,
    folds: &mut Vec<(FieldId, usize)>,
) {
    folds.clear();
    if memo.entries.len() < pairs.len() {
        memo.entries
            .resize(pairs.len(), (0, String::new(), [None; 3]));
    }
    for (pair, slot) in pairs.iter().zip(memo.entries.iter_mut()) {
        let index = pair.value as usize;
        let Some(entry) = ev.value_of(pair.name as usize).map(|v| v.text) else {
            continue;
        };
        if entry.is_empty() {
            continue;
        }
        let stamp = ev.key_stamp(index);
        if slot.0 != stamp || slot.1 != entry {
            let key = ev.key_at(index).unwrap_or("");
            let ids = entry_ids(ev.names(), key, pair, entry, &mut memo.name);
            *slot = (stamp, entry.to_owned(), ids);
        }
        folds.extend(slot.2.iter().flatten().map(|&id| (id, index)));
    }
    for &(id, index) in folds.iter() {
        ev.alias_id(id, index);
    }
}

/// The ids of the names an entry `entry` of the bag of `key` (the value's
/// key) is reachable under, for the names some rule uses.
fn entry_ids(
    names: &FieldNames,
    key: &str,
    pair: &Pair,
    entry: &str,
    name: &mut String,
) -> EntryIds {
    let mut ids = [None; 3];
    let (Some(bag), Some(leaf_text)) = (
        key.get(..pair.dot as usize),
        key.get(pair.dot as usize + 1..),
    ) else {
        return ids;
    };
    // Graph audit records and diagnostic records nest the bag one level
    // down; rules name it from the record's top.
    let inner = strip_wrapper(bag);
    let spellings: &[&str] = if inner.len() == bag.len() {
        &[bag]
    } else {
        &[bag, inner]
    };
    for (bag, id) in spellings.iter().zip(ids.iter_mut()) {
        name.clear();
        name.push_str(bag);
        name.push('.');
        name.push_str(entry);
        if pair.leaf == Leaf::Change {
            name.push('.');
            name.push_str(leaf_text);
        }
        *id = names.get(name);
    }
    if pair.leaf == Leaf::Value && BARE.iter().any(|b| inner.eq_ignore_ascii_case(b)) {
        ids[2] = names.get(entry);
    }
    ids
}

/// SigmaHQ's m365 alert rules ask for `status: success`; the UAL says
/// `ResultStatus: Succeeded` (or `Success`, or Exchange's `True`). The
/// normalised word is added as a value of `status` when a rule uses it.
/// Returns the index and id of the added field.
pub(crate) fn ual_status(ev: &mut Event, tops: &Tops) -> Option<(usize, FieldId)> {
    let status = tops.status?;
    let result = tops.result_status.get(ev)?;
    let is = |w: &str| result.eq_ignore_ascii_case(w);
    let word = if is("succeeded") || is("success") || is("true") || is("partiallysucceeded") {
        "success"
    } else if is("failed") || is("failure") || is("false") {
        "failure"
    } else {
        return None;
    };
    Some((ev.push("status", word, ValueKind::Str), status))
}
