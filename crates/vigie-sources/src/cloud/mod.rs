//! Microsoft 365 and Entra ID records in every export shape responders
//! receive (threat brief §3.3–3.6): recognised, normalised, given their
//! Sigma logsource and timestamp, and de-duplicated.
//!
//! Every reader (JSON lines, JSON documents, CSV) flattens a record into an
//! [`Event`] as usual; [`normalise`] then looks at the event's top-level
//! keys ([`shape`]) and, for a cloud record only:
//! * unwraps the `AuditData` JSON string of Search-UnifiedAuditLog and
//!   Purview CSV/JSON exports into the record itself, and flattens the other
//!   JSON-in-string columns of Log Analytics rows (`Folders`,
//!   `TargetResources`, `InitiatedBy`, …) under their column name;
//! * folds Name/Value lists (`ExtendedProperties`, `Parameters`,
//!   `OperationProperties`, `ModifiedProperties`, `additionalDetails`,
//!   `modifiedProperties`) into named fields ([`fold`]);
//! * adds the normalised form of IPs written with a port or brackets;
//! * makes Sigma's field names reachable through the mapping file
//!   `data/cloud-fields.yaml` ([`fields`]);
//! * sets `event.logsource` and the timestamp ([`time`]), and drops records
//!   whose id was already seen in this run ([`dedup`]).
//!
//! Windows events never come here, and a generic record is recognised as
//! non-cloud by one pass over its keys, so other logs pay next to nothing.

use std::cell::RefCell;
use std::sync::Arc;

use vigie_core::{Event, FieldNames};

use crate::flatten::Nested;

pub mod dedup;
pub mod fields;
mod fold;
mod index;
mod ip;
mod keys;
pub mod rules;
mod shape;
pub mod time;

pub use dedup::{Dedup, DEFAULT_DEDUP_CAP};
pub use fields::FieldMap;
pub use index::{names_ready, register_names};
pub use time::Timezone;

use shape::{Family, Shape};

/// Settings and shared state of the cloud normaliser for one run.
#[derive(Clone, Debug, Default)]
pub struct CloudOptions {
    /// The zone of locale-formatted dates without one
    /// (`11/21/2023 3:04:05 PM` in Search-UnifiedAuditLog's
    /// `CreationDate`); `--timezone`.
    pub timezone: Timezone,
    /// Sigma field name → the names each shape uses (built-in mapping file
    /// plus the user's).
    pub fields: Arc<FieldMap>,
    /// Record ids seen so far, across every input of the run.
    pub dedup: Arc<Dedup>,
}

/// What becomes of an event.
#[derive(Debug)]
pub(crate) enum Verdict {
    Keep,
    /// Same record id as an earlier record: dropped and counted.
    Duplicate,
    /// A cloud record that cannot be read (its `AuditData` is not JSON):
    /// reported and dropped.
    Bad(String),
}

/// Per-thread buffers.
struct Scratch {
    names: Arc<FieldNames>,
    nested: Nested,
    /// The rebuilt event when a wrapper is unwrapped.
    rebuilt: Event,
    /// JSON-in-string values waiting to be flattened.
    pending: Vec<(String, String)>,
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

/// Limit on a JSON string flattened into its record (the readers' record
/// limit already bounds the whole record).
const MAX_NESTED_BYTES: usize = 64 << 20;

/// Recognises and normalises a generic event in place (see the module
/// documentation). Non-cloud events are left untouched.
// Out of line, like `normalise_with`, so that profiles show what the pass
// costs (shape detection included).
#[inline(never)]
pub(crate) fn normalise(ev: &mut Event, opts: &CloudOptions) -> Verdict {
    index::with_index(ev, &opts.fields, |ev, index| {
        index.read_keys(ev);
        let Some(found) = shape::classify(ev, &index.layout.plan.notes) else {
            return Verdict::Keep;
        };
        SCRATCH.with(|cell| {
            let mut slot = cell.borrow_mut();
            let scratch = match &mut *slot {
                Some(s) if Arc::ptr_eq(&s.names, ev.names()) => s,
                other => other.insert(Scratch {
                    names: ev.names().clone(),
                    nested: Nested::new(ev.names(), MAX_NESTED_BYTES),
                    rebuilt: Event::new(ev.names().clone()),
                    pending: Vec::new(),
                }),
            };
            normalise_with(ev, found, opts, scratch, index)
        })
    })
}

#[inline(never)]
fn normalise_with(
    ev: &mut Event,
    mut found: Shape,
    opts: &CloudOptions,
    s: &mut Scratch,
    index: &mut index::CloudIndex,
) -> Verdict {
    if found.wrapped {
        if let Err(reason) = unwrap_audit_data(ev, s) {
            return Verdict::Bad(reason);
        }
        // What the wrapper held decides the family (Graph audit records,
        // Entra records exported through the same tools).
        index.read_keys(ev);
        match shape::classify(ev, &index.layout.plan.notes) {
            Some(inner) if !inner.wrapped => found = inner,
            _ => found.family = Family::Ual,
        }
    }
    if found.strings_hold_json {
        flatten_json_strings(ev, s, index.layout.infos());
        // Flattened strings add fields: the plan must cover them.
        index.read_keys(ev);
    }
    index.added.clear();
    fold::name_value_lists(
        ev,
        &index.layout.plan.pairs,
        &mut index.entries,
        &mut index.folds,
    );
    ip::normalise(ev, index);
    let logsource = shape::logsource(ev, found.family, &index.tops);
    ev.logsource = logsource;
    if found.family == Family::Ual {
        if let Some(added) = fold::ual_status(ev, &index.tops) {
            index.added.push(added);
        }
    }
    index.strip_prefixes(ev);
    index.apply_aliases(ev, &logsource);
    if let Some(ts) = time::record_time(ev, found.family, opts.timezone, &index.tops) {
        ev.timestamp = Some(ts);
    }
    let key = opts
        .dedup
        .key(ev, found.family, &index.tops, &mut index.dedup_bytes);
    match key {
        Some(key) if !opts.dedup.first_sighting(key) => Verdict::Duplicate,
        _ => Verdict::Keep,
    }
}

/// Replaces a wrapper row (Search-UnifiedAuditLog / Purview / Extractor
/// Suite CSV or JSON) by its `AuditData` record, followed by the wrapper's
/// columns the record does not have (`ResultIndex`, `Identity`,
/// `AssociatedAdminUnits`, …): the record is the authority.
fn unwrap_audit_data(ev: &mut Event, s: &mut Scratch) -> Result<(), String> {
    let Some(audit) = ev.iter().find(|(k, _)| k.eq_ignore_ascii_case("AuditData")) else {
        return Err("AuditData column missing".into());
    };
    let text = audit.1.text.trim();
    if !text.starts_with('{') {
        return Err(format!(
            "AuditData is not a JSON object (starts with {:?})",
            text.chars().take(20).collect::<String>()
        ));
    }
    s.rebuilt.clear();
    if let Err(e) = s.nested.append(&mut s.rebuilt, "", text) {
        return Err(format!("AuditData is not valid JSON: {e}"));
    }
    for (key, value) in ev.iter() {
        if key.eq_ignore_ascii_case("AuditData") || has_key(&s.rebuilt, key) {
            continue;
        }
        s.rebuilt.push(key, value.text, value.kind);
    }
    std::mem::swap(ev, &mut s.rebuilt);
    ev.source = s.rebuilt.source;
    ev.record = s.rebuilt.record;
    Ok(())
}

fn has_key(ev: &Event, key: &str) -> bool {
    ev.iter().any(|(k, _)| k.eq_ignore_ascii_case(key))
}

/// Top-level string values that hold JSON objects or arrays (Log
/// Analytics writes dynamic columns that way) are flattened under their
/// column name; the string itself stays, for rules that search it whole.
/// `infos` are those of the event's keys (see `keys.rs`).
fn flatten_json_strings<'a>(
    ev: &mut Event,
    s: &mut Scratch,
    infos: impl Iterator<Item = &'a keys::KeyInfo>,
) {
    s.pending.clear();
    for (index, info) in infos.enumerate() {
        if info.nested {
            continue;
        }
        let (Some(key), Some(value)) = (ev.key_at(index), ev.value_of(index)) else {
            continue;
        };
        if value.kind != vigie_core::ValueKind::Str {
            continue;
        }
        let t = value.text.trim_start();
        let looks_json = (t.starts_with('{') && t.ends_with('}'))
            || (t.starts_with("[{") && t.ends_with(']'))
            || (t.starts_with("[\"") && t.ends_with(']'));
        if looks_json && t.len() <= MAX_NESTED_BYTES {
            s.pending.push((key.to_owned(), t.to_owned()));
        }
    }
    for (key, text) in &s.pending {
        // A value that only looks like JSON stays a plain string.
        let _ = s.nested.append(ev, key, text);
    }
}
