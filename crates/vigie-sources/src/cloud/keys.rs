//! What the cloud pass reads from a record's keys, gathered in one walk.
//!
//! Shape detection, the Name/Value folding, the IP clean-up, prefix
//! stripping and aliasing all ask questions of the same keys; most keys
//! (the nested fields of an Exchange record run to hundreds) answer "no"
//! to all of them. [`Layout::read`] walks the keys once and lists the few
//! positions each step needs ([`Plan`]); the steps then visit only those.
//!
//! What a key means is derived from its text and id once per spelling and
//! position: records of one input repeat their keys at the same positions,
//! so afterwards it costs one comparison of stamps ([`Event::key_stamp`]).

use vigie_core::{Event, FieldId};

use super::fold::{self, Leaf};
use super::shape::{self, Note};

/// What the id tables of the index say of one key (see `index.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Roles {
    /// A client-address field.
    pub(crate) ip: bool,
    /// `properties.X` / `auditData.X`: the id of `X`.
    pub(crate) strip: Option<FieldId>,
    /// A candidate of some mapping section.
    pub(crate) candidate: bool,
}

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
    /// Its id, when the names table has it.
    pub(crate) id: Option<FieldId>,
    pub(crate) roles: Roles,
    /// Nested, and nothing above applies: the walk skips it.
    pub(crate) inert: bool,
}

impl KeyInfo {
    const EMPTY: KeyInfo = KeyInfo {
        note: Note::None,
        leaf: None,
        nested: false,
        id: None,
        roles: Roles {
            ip: false,
            strip: None,
            candidate: false,
        },
        inert: false,
    };

    fn of(key: &str, id: Option<FieldId>, roles: Roles) -> KeyInfo {
        let note = shape::note_of(key);
        let leaf = fold::split_known_leaf(key)
            .and_then(|(dot, leaf)| Some((u32::try_from(dot).ok()?, leaf)));
        let nested = key.contains('.');
        KeyInfo {
            note,
            leaf,
            nested,
            id,
            roles,
            inert: nested && note == Note::None && leaf.is_none() && roles == Roles::default(),
        }
    }
}

/// A Name/Value bag entry: `bag.Name` at `name`, then `bag.Value` (or
/// `NewValue`, `OldValue`) at `value`, with no top-level key between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pair {
    pub(crate) name: u32,
    pub(crate) value: u32,
    /// Position of the dot in the value's key.
    pub(crate) dot: u32,
    pub(crate) leaf: Leaf,
}

/// The positions of one record each step of the pass visits, in field
/// order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Keys shape detection notes.
    pub(crate) notes: Vec<(u32, Note)>,
    pub(crate) pairs: Vec<Pair>,
    /// Client-address keys with their id.
    pub(crate) ips: Vec<(u32, FieldId)>,
    /// `properties.X` / `auditData.X` keys with the id of `X`.
    pub(crate) strips: Vec<(u32, FieldId)>,
    /// Keys some mapping section may alias, with their id.
    pub(crate) candidates: Vec<(u32, FieldId)>,
}

impl Plan {
    /// Keeps what concerns the fields before `from` (every list is in
    /// field order).
    fn truncate(&mut self, from: u32) {
        fn keep<T>(list: &mut Vec<T>, before: impl Fn(&T) -> bool) {
            let n = list.partition_point(before);
            list.truncate(n);
        }
        keep(&mut self.notes, |&(i, _)| i < from);
        keep(&mut self.pairs, |p| p.value < from);
        keep(&mut self.ips, |&(i, _)| i < from);
        keep(&mut self.strips, |&(i, _)| i < from);
        keep(&mut self.candidates, |&(i, _)| i < from);
    }
}

/// The key memo and the plan of the last record read.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// (key stamp, info) by field position. As long as the longest record
    /// seen, like the event's own per-field buffers. Stamp 0 is never a
    /// field's, so a new entry is always derived.
    memo: Vec<(u64, KeyInfo)>,
    /// The record the plan is for: its generation and field count.
    generation: u64,
    len: usize,
    /// Counts the plans made: changes whenever the plan does.
    version: u64,
    pub(crate) plan: Plan,
}

impl Layout {
    /// Makes the plan that of `ev`'s fields, unless it already is (same
    /// event generation and field count: fields are only ever appended).
    /// `roles` gives what the index's id tables say of an id.
    pub(crate) fn read(&mut self, ev: &Event, roles: impl Fn(FieldId) -> Roles) {
        if self.generation == ev.generation() && self.len == ev.len() && self.len != 0 {
            return;
        }
        let n = ev.len();
        if self.memo.len() < n {
            self.memo.resize(n, (0, KeyInfo::EMPTY));
        }
        // Records of one input mostly repeat the previous record's keys,
        // or at least its first ones (an Exchange record's top-level keys
        // come before its folder lists): the plan is kept up to the first
        // key that differs.
        let mut first_changed = n.min(self.len);
        let stamps = self.memo.iter_mut().take(n).zip(ev.key_stamps());
        for (index, (entry, stamp)) in stamps.enumerate() {
            if entry.0 != stamp {
                // The id is the one the event gave the key when it was
                // pushed.
                let id = ev.key_id_at(index);
                let key = ev.key_at(index).unwrap_or_default();
                *entry = (
                    stamp,
                    KeyInfo::of(key, id, id.map(&roles).unwrap_or_default()),
                );
                first_changed = first_changed.min(index);
            }
        }
        let replan = first_changed < n || n != self.len;
        self.generation = ev.generation();
        self.len = n;
        if replan {
            self.plan_from(ev, first_changed);
            self.version += 1;
        }
    }

    /// The plan's version: what is derived from the plan alone can be
    /// kept until it changes.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Rebuilds the plan from field `from` on, from the memo of the
    /// record's `len` fields.
    fn plan_from(&mut self, ev: &Event, from: usize) {
        let Ok(from32) = u32::try_from(from) else {
            return;
        };
        self.plan.truncate(from32);
        let infos = self.memo.get(..self.len).unwrap_or(&[]);
        // Index and dot of the last `X.Name` since the last top-level key,
        // as of field `from`: found looking back.
        let mut pending: Option<(u32, u32)> = None;
        for (index, (_, info)) in infos.iter().enumerate().take(from).rev() {
            match info.leaf {
                Some((dot, Leaf::Name)) => {
                    pending = u32::try_from(index).ok().map(|i| (i, dot));
                    break;
                }
                None if !info.nested => break,
                _ => {}
            }
        }
        for (index, (_, info)) in infos.iter().enumerate().skip(from) {
            if info.inert {
                continue;
            }
            let Ok(index) = u32::try_from(index) else {
                break;
            };
            plan_key(&mut self.plan, &mut pending, ev, index, info);
        }
    }

    /// The infos of the fields the plan covers, in field order.
    pub(crate) fn infos(&self) -> impl Iterator<Item = &KeyInfo> {
        self.memo.iter().take(self.len).map(|(_, info)| info)
    }
}

/// Lists key `index` for the steps it concerns.
fn plan_key(
    plan: &mut Plan,
    pending: &mut Option<(u32, u32)>,
    ev: &Event,
    index: u32,
    info: &KeyInfo,
) {
    if info.note != Note::None {
        plan.notes.push((index, info.note));
    }
    match info.leaf {
        Some((dot, Leaf::Name)) => *pending = Some((index, dot)),
        Some((dot, leaf)) => {
            if let Some((name, name_dot)) = *pending {
                if same_bag(ev, (name, name_dot), (index, dot)) {
                    plan.pairs.push(Pair {
                        name,
                        value: index,
                        dot,
                        leaf,
                    });
                }
            }
        }
        // A top-level key ends any bag entry; other nested keys
        // (`X.Other` between `X.Name` and `X.Value`) do not.
        None if !info.nested => *pending = None,
        None => {}
    }
    if let Some(id) = info.id {
        if info.roles.ip {
            plan.ips.push((index, id));
        }
        if let Some(inner) = info.roles.strip {
            plan.strips.push((index, inner));
        }
        if info.roles.candidate {
            plan.candidates.push((index, id));
        }
    }
}

/// Whether two `bag.leaf` keys (index, dot) have the same bag.
fn same_bag(ev: &Event, a: (u32, u32), b: (u32, u32)) -> bool {
    let bag = |(index, dot): (u32, u32)| {
        ev.key_at(index as usize)
            .and_then(|key| key.get(..dot as usize))
    };
    matches!((bag(a), bag(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vigie_core::{FieldNames, ValueKind};

    use super::*;

    #[test]
    fn plan_follows_the_keys_of_each_record() {
        let mut names = FieldNames::new();
        let ip = names.intern("ClientIP");
        let mut ev = Event::new(Arc::new(names));
        let mut layout = Layout::default();
        let roles = |id: FieldId| Roles {
            ip: id == ip,
            ..Roles::default()
        };
        ev.push("Workload", "Exchange", ValueKind::Str);
        ev.push("OperationProperties.Name", "A", ValueKind::Str);
        ev.push("ClientIP", "1.2.3.4:5", ValueKind::Str);
        layout.read(&ev, roles);
        assert_eq!(layout.plan.notes, vec![(0, Note::Workload)]);
        assert_eq!(layout.plan.ips, vec![(2, ip)]);
        assert!(layout.plan.pairs.is_empty());
        ev.clear();
        ev.push("properties.x", "1", ValueKind::Str);
        ev.push("OperationProperties.Name", "A", ValueKind::Str);
        ev.push("OperationProperties.Other", "-", ValueKind::Str);
        ev.push("OperationProperties.Value", "B", ValueKind::Str);
        ev.push("Parameters.Value", "C", ValueKind::Str);
        layout.read(&ev, roles);
        assert_eq!(layout.plan.notes, vec![(0, Note::PropertiesPrefix)]);
        assert!(layout.plan.ips.is_empty());
        assert_eq!(
            layout.plan.pairs,
            vec![Pair {
                name: 1,
                value: 3,
                dot: 19,
                leaf: Leaf::Value
            }]
        );
        assert!(layout.infos().all(|k| k.nested));
        // A top-level key between Name and Value ends the entry.
        ev.clear();
        ev.push("X.Name", "A", ValueKind::Str);
        ev.push("Top", "-", ValueKind::Str);
        ev.push("X.Value", "B", ValueKind::Str);
        layout.read(&ev, roles);
        assert!(layout.plan.pairs.is_empty());
    }

    #[test]
    fn a_plan_kept_in_part_equals_one_made_afresh() {
        let mut names = FieldNames::new();
        let ip = names.intern("ClientIP");
        let mut ev = Event::new(Arc::new(names));
        let roles = |id: FieldId| Roles {
            ip: id == ip,
            ..Roles::default()
        };
        let records: [&[&str]; 6] = [
            &["Workload", "B.Name", "B.Value", "ClientIP", "F.Id", "F.Id"],
            &["Workload", "B.Name", "B.Value", "ClientIP", "F.Id"],
            &["Workload", "B.Name", "B.Value", "ClientIP", "F.Id", "F.Id"],
            &[
                "Workload", "B.Name", "F.Id", "B.Value", "B.Name", "Top", "B.Value",
            ],
            &["Workload", "B.Name", "F.Id", "B.NewValue", "ClientIP"],
            &["properties.x", "B.Name", "F.Id", "B.NewValue"],
        ];
        let mut kept = Layout::default();
        for keys in records.iter().chain(records.iter().rev()) {
            ev.clear();
            for key in *keys {
                ev.push(key, "v", ValueKind::Str);
            }
            kept.read(&ev, roles);
            let mut fresh = Layout::default();
            fresh.read(&ev, roles);
            assert_eq!(kept.plan, fresh.plan, "{keys:?}");
        }
    }
}
