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

use vigie_core::{Event, ValueKind};

/// Bags whose entry names rules also use without the bag's prefix
/// (`RequestType`, `UserAgent`, `MailAccessType`).
const BARE: [&str; 4] = [
    "ExtendedProperties",
    "Parameters",
    "OperationProperties",
    "DeviceProperties",
];

fn is_name_key(leaf: &str) -> bool {
    ["Name", "key", "displayName"]
        .iter()
        .any(|n| leaf.eq_ignore_ascii_case(n))
}

fn is_value_key(leaf: &str) -> bool {
    ["Value", "NewValue", "OldValue"]
        .iter()
        .any(|n| leaf.eq_ignore_ascii_case(n))
}

/// `(bag, leaf)` when `key` is `bag.leaf` for a leaf naming or holding a
/// bag entry; checked from the end, so that the many other keys of a
/// record cost a few byte comparisons and no search for the last dot.
fn split_known_leaf(key: &str) -> Option<(&str, &str)> {
    const LEAVES: [&str; 6] = [
        "Name",
        "key",
        "displayName",
        "Value",
        "NewValue",
        "OldValue",
    ];
    LEAVES.iter().find_map(|leaf| {
        let dot = key.len().checked_sub(leaf.len() + 1)?;
        if key.as_bytes()[dot] != b'.' {
            return None;
        }
        let tail = key.get(dot + 1..)?;
        tail.eq_ignore_ascii_case(leaf)
            .then(|| (key.get(..dot).unwrap_or(""), tail))
    })
}

fn strip_wrapper(bag: &str) -> &str {
    ["auditData.", "properties.", "AuditData."]
        .iter()
        .find_map(|p| bag.strip_prefix(p))
        .unwrap_or(bag)
}

pub(crate) fn name_value_lists(ev: &mut Event) {
    let names = ev.names().clone();
    let mut scratch = String::new();
    let mut name = String::new();
    let mut folds: Vec<(String, usize)> = Vec::new();
    {
        // (bag prefix, entry name) of the last `X.Name` seen.
        let mut pending: Option<(&str, &str)> = None;
        for (index, (key, _)) in ev.keys().enumerate() {
            let Some((bag, leaf)) = split_known_leaf(key) else {
                // A top-level key ends any bag entry; other nested keys
                // (`X.Other` between `X.Name` and `X.Value`) do not.
                if pending.is_some() && !key.contains('.') {
                    pending = None;
                }
                continue;
            };
            if is_name_key(leaf) {
                pending = ev.value_of(index).map(|value| (bag, value.text));
                continue;
            }
            let Some((pending_bag, entry)) = pending else {
                continue;
            };
            if pending_bag != bag || !is_value_key(leaf) || entry.is_empty() {
                continue;
            }
            // Graph audit records and diagnostic records nest the bag
            // one level down; rules name it from the record's top.
            let inner = strip_wrapper(bag);
            for bag in [bag, inner] {
                name.clear();
                name.push_str(bag);
                name.push('.');
                name.push_str(entry);
                if !leaf.eq_ignore_ascii_case("Value") {
                    name.push('.');
                    name.push_str(leaf);
                }
                if names.get_with(&name, &mut scratch).is_some() {
                    folds.push((name.clone(), index));
                }
            }
            let bare = leaf.eq_ignore_ascii_case("Value")
                && BARE.iter().any(|b| inner.eq_ignore_ascii_case(b));
            if bare && names.get_with(entry, &mut scratch).is_some() {
                folds.push((entry.to_owned(), index));
            }
        }
    }
    for (alias, index) in &folds {
        ev.alias(alias, *index);
    }
}

/// SigmaHQ's m365 alert rules ask for `status: success`; the UAL says
/// `ResultStatus: Succeeded` (or `Success`, or Exchange's `True`). The
/// normalised word is added as a value of `status` when a rule uses it.
pub(crate) fn ual_status(ev: &mut Event) {
    if ev.names().get("status").is_none() {
        return;
    }
    let Some(result) = super::shape::top(ev, "ResultStatus") else {
        return;
    };
    let word = match result.to_ascii_lowercase().as_str() {
        "succeeded" | "success" | "true" | "partiallysucceeded" => "success",
        "failed" | "failure" | "false" => "failure",
        _ => return,
    };
    ev.push("status", word, ValueKind::Str);
}
