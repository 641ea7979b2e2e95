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

use vigie_core::{Event, FieldId, ValueKind};

use super::index::Tops;

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

/// Makes each bag entry's value reachable under its name (see the module
/// documentation), for the names some rule uses. `name` and `folds` are
/// reused buffers.
pub(crate) fn name_value_lists(
    ev: &mut Event,
    name: &mut String,
    folds: &mut Vec<(FieldId, usize)>,
) {
    folds.clear();
    super::keys::with_infos(ev, |infos| {
        let names = ev.names();
        // (bag prefix, entry name) of the last `X.Name` seen.
        let mut pending: Option<(&str, &str)> = None;
        for (index, (_, info)) in infos.iter().enumerate() {
            let Some((dot, leaf)) = info.leaf else {
                // A top-level key ends any bag entry; other nested keys
                // (`X.Other` between `X.Name` and `X.Value`) do not.
                if pending.is_some() && !info.nested {
                    pending = None;
                }
                continue;
            };
            let key = ev.key_at(index).unwrap_or("");
            let (Some(bag), Some(leaf_text)) =
                (key.get(..dot as usize), key.get(dot as usize + 1..))
            else {
                continue;
            };
            if leaf == Leaf::Name {
                pending = ev.value_of(index).map(|value| (bag, value.text));
                continue;
            }
            let Some((pending_bag, entry)) = pending else {
                continue;
            };
            if pending_bag != bag || entry.is_empty() {
                continue;
            }
            // Graph audit records and diagnostic records nest the bag
            // one level down; rules name it from the record's top.
            let inner = strip_wrapper(bag);
            let spellings: &[&str] = if inner.len() == bag.len() {
                &[bag]
            } else {
                &[bag, inner]
            };
            for bag in spellings {
                name.clear();
                name.push_str(bag);
                name.push('.');
                name.push_str(entry);
                if leaf == Leaf::Change {
                    name.push('.');
                    name.push_str(leaf_text);
                }
                if let Some(id) = names.get(name) {
                    folds.push((id, index));
                }
            }
            let bare = leaf == Leaf::Value && BARE.iter().any(|b| inner.eq_ignore_ascii_case(b));
            if bare {
                if let Some(id) = names.get(entry) {
                    folds.push((id, index));
                }
            }
        }
    });
    for &(id, index) in folds.iter() {
        ev.alias_id(id, index);
    }
}

/// SigmaHQ's m365 alert rules ask for `status: success`; the UAL says
/// `ResultStatus: Succeeded` (or `Success`, or Exchange's `True`). The
/// normalised word is added as a value of `status` when a rule uses it.
pub(crate) fn ual_status(ev: &mut Event, tops: &Tops) {
    if tops.status.is_none() {
        return;
    }
    let Some(result) = tops.result_status.get(ev) else {
        return;
    };
    let is = |w: &str| result.eq_ignore_ascii_case(w);
    let word = if is("succeeded") || is("success") || is("true") || is("partiallysucceeded") {
        "success"
    } else if is("failed") || is("failure") || is("false") {
        "failure"
    } else {
        return;
    };
    ev.push("status", word, ValueKind::Str);
}
