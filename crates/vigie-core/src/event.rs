//! One log record as a flat list of fields over a single text buffer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::fields::{FieldId, FieldNames, SpellingCache};
use crate::fold;
use crate::position_keys::PositionKeys;

use crate::time::Timestamp;

/// Keys remembered per event buffer beyond their position.
const KEY_CACHE_CAP: usize = 4096;

/// The JSON type a value had in its source (text formats give `Str`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Str,
    Num,
    Bool,
    Null,
}

/// Which family of log an event belongs to; decides how rules are routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EventKind {
    /// A Windows event log record (EVTX, or its JSON exports); routed by
    /// channel and EventID.
    Windows,
    /// Anything else; routed by [`LogSource`].
    #[default]
    Generic,
}

/// Sigma's logsource triple for events whose source says what they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LogSource {
    pub product: Option<&'static str>,
    pub category: Option<&'static str>,
    pub service: Option<&'static str>,
}

/// A borrowed view of one value of a field.
#[derive(Clone, Copy, Debug)]
pub struct ValueRef<'a> {
    /// The value as the log wrote it.
    pub text: &'a str,
    /// The value lower-cased, for Sigma's default case-insensitive matching.
    pub lower: &'a str,
    pub kind: ValueKind,
}

#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Clone, Copy, Debug)]
struct Field {
    value: Span,
    lower: Span,
    kind: ValueKind,
    /// The key's id in the names table, or NONE: kept so that passes over
    /// the fields (the cloud normaliser's) need no second lookup.
    id: u32,
}

/// Sentinel for "no entry".
const NONE: u32 = u32::MAX;

/// Source of key stamps (see [`Event::key_stamp`]). Process-wide and never
/// reused, so that a stamp names one spelling whichever event buffer (or
/// thread) it is seen in: passes swap events and keep per-thread memos.
static NEXT_KEY_STAMP: AtomicU64 = AtomicU64::new(1);

/// Source of event generations (see [`Event::generation`]).
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// A key stamp never handed out before. Relaxed suffices: the counter
/// only has to hand out distinct values.
fn new_key_stamp() -> u64 {
    NEXT_KEY_STAMP.fetch_add(1, Ordering::Relaxed)
}

/// Stamps an event buffer takes from [`NEXT_KEY_STAMP`] at a time: a
/// record whose keys changed positions took one atomic add per key, a
/// locked instruction of some twenty cycles.
const STAMP_BLOCK: u64 = 1024;

/// An event buffer's block of key stamps. A clone starts without one, so
/// that two buffers never hand out the same stamp.
#[derive(Debug, Default)]
struct StampBlock(std::ops::Range<u64>);

impl Clone for StampBlock {
    fn clone(&self) -> Self {
        StampBlock::default()
    }
}

impl StampBlock {
    #[inline]
    fn take(&mut self) -> u64 {
        match self.0.next() {
            Some(stamp) => stamp,
            None => {
                let start = NEXT_KEY_STAMP.fetch_add(STAMP_BLOCK, Ordering::Relaxed);
                self.0 = start + 1..start + STAMP_BLOCK;
                start
            }
        }
    }
}

/// A field key known before the records that use it (a compiled EVTX
/// template's), for [`Event::push_preset`]: it carries a key stamp of its
/// own, taken once, so that an event recognises it by number.
#[derive(Debug)]
pub struct PresetKey {
    text: Box<str>,
    stamp: u64,
    /// The key's id in a names table, kept with the table's version
    /// (version << 32 | id; 0 before the first lookup). Records of
    /// alternating templates put other keys at a position; looking the key
    /// up again each time was a hash lookup for a sixth of an EVTX hunt's
    /// fields.
    resolved: AtomicU64,
}

impl Clone for PresetKey {
    fn clone(&self) -> Self {
        PresetKey {
            text: self.text.clone(),
            stamp: self.stamp,
            resolved: AtomicU64::new(self.resolved.load(Ordering::Relaxed)),
        }
    }
}

impl PresetKey {
    pub fn new(text: impl Into<Box<str>>) -> Self {
        PresetKey {
            text: text.into(),
            stamp: new_key_stamp(),
            resolved: AtomicU64::new(0),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn next_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// One log record. Sources fill it with [`Event::push`]; detectors read it
/// with [`Event::values`]. `clear` keeps the buffers for the next record.
#[derive(Clone, Debug)]
pub struct Event {
    names: Arc<FieldNames>,
    text: String,
    lower: String,
    fields: Vec<Field>,
    /// Per field id, the first entry (index into `entries`) or NONE.
    slots: Vec<u32>,
    /// Per field id, the last entry, so values keep the source's order.
    tails: Vec<u32>,
    /// (field index, next entry) chains: a field id may hold several values
    /// (arrays, repeated Windows `Data` names) and a field may be reachable
    /// under an alias (Security 4688's `NewProcessName` as `Image`).
    entries: Vec<(u32, u32)>,
    touched: Vec<FieldId>,
    /// Field keys by position, with their ids and stamps
    /// ([`Event::key_stamp`]).
    keys: PositionKeys,
    stamps: StampBlock,
    /// Ids of keys seen at another position, by exact spelling (bounded:
    /// hostile input may use a new key in every record).
    seen: SpellingCache<u32>,
    /// See [`Event::generation`].
    generation: u64,
    pub kind: EventKind,
    pub logsource: LogSource,
    pub timestamp: Option<Timestamp>,
    /// Index of the input this event came from (see the hunt's file table).
    pub source: u32,
    /// Record number within the input: EVTX record id, line or row number.
    pub record: u64,
}

impl Event {
    pub fn new(names: Arc<FieldNames>) -> Self {
        let slots = vec![NONE; names.len()];
        Event {
            names,
            text: String::new(),
            lower: String::new(),
            fields: Vec::new(),
            tails: slots.clone(),
            slots,
            entries: Vec::new(),
            touched: Vec::new(),
            keys: PositionKeys::default(),
            stamps: StampBlock::default(),
            seen: SpellingCache::new(KEY_CACHE_CAP),
            generation: next_generation(),
            kind: EventKind::Generic,
            logsource: LogSource::default(),
            timestamp: None,
            source: 0,
            record: 0,
        }
    }

    /// Empties the event, keeping its buffers.
    pub fn clear(&mut self) {
        for id in self.touched.drain(..) {
            self.slots[id.0 as usize] = NONE;
        }
        self.text.clear();
        self.lower.clear();
        self.fields.clear();
        self.entries.clear();
        self.generation = next_generation();
        self.kind = EventKind::Generic;
        self.logsource = LogSource::default();
        self.timestamp = None;
        self.record = 0;
    }

    pub fn names(&self) -> &Arc<FieldNames> {
        &self.names
    }

    /// Adds a field. Returns its index for [`Event::alias`].
    #[inline]
    pub fn push(&mut self, key: &str, value: &str, kind: ValueKind) -> usize {
        let value_start = self.text.len() as u32;
        let lower_start = self.lower.len() as u32;
        if !fold::append_with_lower(&mut self.text, &mut self.lower, value) {
            push_lowercase_mixed(&mut self.lower, value);
        }
        let value_span = Span {
            start: value_start,
            end: self.text.len() as u32,
        };
        let lower_span = Span {
            start: lower_start,
            end: self.lower.len() as u32,
        };
        let index = self.fields.len();
        let id = self.key_id(index, key);
        self.fields.push(Field {
            value: value_span,
            lower: lower_span,
            kind,
            id,
        });
        if id != NONE {
            self.link(FieldId(id), index);
        }
        index
    }

    /// Like [`Event::push`], for a key known in advance: field `index`'s
    /// cached key is recognised by the preset's stamp, without comparing
    /// the key's text (the same preset usually fills the same position of
    /// every record of a template).
    pub fn push_preset(&mut self, key: &PresetKey, value: &str, kind: ValueKind) -> usize {
        let start = self.text.len();
        self.text.push_str(value);
        self.finish_preset(key, start, kind)
    }

    /// Like [`Event::push_preset`], with the value written by `render`
    /// straight after the values before it (one copy fewer than rendering
    /// into a buffer of one's own). `render` appends the value and says how
    /// it is typed; on its error the event is left as it was.
    pub fn push_rendered<E>(
        &mut self,
        key: &PresetKey,
        render: impl FnOnce(&mut String) -> Result<ValueKind, E>,
    ) -> Result<usize, E> {
        let start = self.text.len();
        match render(&mut self.text) {
            Ok(kind) => Ok(self.finish_preset(key, start, kind)),
            Err(e) => {
                self.text.truncate(start);
                Err(e)
            }
        }
    }

    /// Makes the text from `start` to the end a field of key `key`.
    fn finish_preset(&mut self, key: &PresetKey, start: usize, kind: ValueKind) -> usize {
        let value_span = Span {
            start: start as u32,
            end: self.text.len() as u32,
        };
        let lower_start = self.lower.len() as u32;
        push_lowercase(&mut self.lower, &self.text[start..]);
        let lower_span = Span {
            start: lower_start,
            end: self.lower.len() as u32,
        };
        let index = self.fields.len();
        let id = self.preset_key_id(index, key);
        self.fields.push(Field {
            value: value_span,
            lower: lower_span,
            kind,
            id,
        });
        if id != NONE {
            self.link(FieldId(id), index);
        }
        index
    }

    /// [`Event::key_id`] for a preset key: a cached key of the same stamp
    /// is the same spelling (stamps are never reused), so its id stands.
    #[inline]
    fn preset_key_id(&mut self, index: usize, key: &PresetKey) -> u32 {
        if let Some((id, stamp)) = self.keys.id_and_stamp(index) {
            if stamp == key.stamp {
                return id;
            }
        }
        // One atomic word holds the version with the id, so that a
        // reader never pairs one table's version with another's id
        // (Relaxed suffices: the word is the whole message).
        let version = u64::from(self.names.version());
        let resolved = key.resolved.load(Ordering::Relaxed);
        let id = if resolved >> 32 == version {
            resolved as u32
        } else {
            let id = self.resolve(&key.text);
            key.resolved
                .store(version << 32 | u64::from(id), Ordering::Relaxed);
            id
        };
        self.remember_key(index, &key.text, id, key.stamp);
        id
    }

    /// Records `key` as the key of field `index` and returns its id (or
    /// NONE), from the caches when the key was seen before.
    #[inline]
    fn key_id(&mut self, index: usize, key: &str) -> u32 {
        if let Some(id) = self.keys.id_if(index, key) {
            return id;
        }
        // The key this position held before (records of two shapes
        // alternating) keeps its stamp: same spelling, same stamp.
        if let Some(id) = self.keys.promote_if(index, key) {
            return id;
        }
        let id = self.resolve(key);
        // Only a changed spelling takes a new stamp.
        let stamp = self.stamps.take();
        self.remember_key(index, key, id, stamp);
        id
    }

    /// The names-table id of `key` (or NONE), through the spelling cache.
    #[inline]
    fn resolve(&mut self, key: &str) -> u32 {
        let names = &self.names;
        self.seen
            .get_or_insert_with(key, || names.get(key).map_or(NONE, |id| id.0))
    }

    /// Caches `key`, its id and its stamp as the key of field `index`.
    #[inline]
    fn remember_key(&mut self, index: usize, key: &str, id: u32, stamp: u64) {
        self.keys.remember(index, key, id, stamp);
    }

    /// Makes field `index` reachable under `alias` too, unless the event
    /// already has a field of that name.
    pub fn alias(&mut self, alias: &str, index: usize) {
        if let Some(id) = self.names.get(alias) {
            self.alias_id(id, index);
        }
    }

    /// Like [`Event::alias`], for an id of the names table.
    pub fn alias_id(&mut self, id: FieldId, index: usize) {
        if index < self.fields.len()
            && self
                .slots
                .get(id.0 as usize)
                .is_some_and(|&slot| slot == NONE)
        {
            self.link(id, index);
        }
    }

    // Inlined: once per field, its call cost a third of its body.
    #[inline]
    fn link(&mut self, id: FieldId, index: usize) {
        let entry = self.entries.len() as u32;
        self.entries.push((index as u32, NONE));
        let slot = id.0 as usize;
        if self.slots[slot] == NONE {
            self.touched.push(id);
            self.slots[slot] = entry;
        } else {
            let tail = self.tails[slot] as usize;
            self.entries[tail].1 = entry;
        }
        self.tails[slot] = entry;
    }

    fn key_text(&self, index: usize) -> &str {
        self.keys.text(index)
    }

    // Inlined: every value read by a detector goes through here.
    #[inline]
    fn value_at(&self, index: u32) -> ValueRef<'_> {
        let f = &self.fields[index as usize];
        ValueRef {
            text: &self.text[f.value.start as usize..f.value.end as usize],
            lower: &self.lower[f.lower.start as usize..f.lower.end as usize],
            kind: f.kind,
        }
    }

    /// Whether the event has a field of this id.
    #[inline]
    pub fn has(&self, id: FieldId) -> bool {
        self.slots.get(id.0 as usize).is_some_and(|s| *s != NONE)
    }

    /// The values of a field (several for arrays and repeated names).
    #[inline]
    pub fn values(&self, id: FieldId) -> Values<'_> {
        let next = self.slots.get(id.0 as usize).copied().unwrap_or(NONE);
        Values { event: self, next }
    }

    /// The first value of a field.
    #[inline]
    pub fn first(&self, id: FieldId) -> Option<ValueRef<'_>> {
        self.values(id).next()
    }

    /// The first value of a field looked up by name (for sinks and tests,
    /// not for hot paths).
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(id) = self.names.get(name) {
            return self.first(id).map(|v| v.text);
        }
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.text)
    }

    /// The lower-cased values of all fields, end to end in source order:
    /// one haystack for searches over every value (Sigma keywords) that
    /// can afford a match across two values.
    pub fn all_lower(&self) -> &str {
        &self.lower
    }

    /// Every field in the order the source gave them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ValueRef<'_>)> + '_ {
        (0..self.fields.len() as u32).map(move |i| (self.key_text(i as usize), self.value_at(i)))
    }

    /// The key stamps ([`Event::key_stamp`]) of the fields, in order: a
    /// pass that remembers something per position compares these and
    /// reads a key's text only when its stamp changed.
    #[inline]
    pub fn key_stamps(&self) -> impl Iterator<Item = u64> + '_ {
        let n = self.fields.len();
        self.keys.stamps(n)
    }

    /// The names-table id of the key of field `index`, if the table has
    /// the key.
    #[inline]
    pub fn key_id_at(&self, index: usize) -> Option<FieldId> {
        self.fields
            .get(index)
            .and_then(|f| (f.id != NONE).then_some(FieldId(f.id)))
    }

    /// The key of field `index` (as returned by [`Event::push`]).
    pub fn key_at(&self, index: usize) -> Option<&str> {
        (index < self.fields.len()).then(|| self.key_text(index))
    }

    /// A number that changes whenever the event is cleared, never reused
    /// in a process. Fields are only ever appended between clears, so
    /// `(generation(), len())` names the fields an event holds: detectors
    /// that read the same event one after the other can share what the
    /// first derived from it.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A stamp of the key spelling of field `index`, non-zero, equal for
    /// two fields (of any events, in this process) only when their keys
    /// are spelt the same. Records repeat their keys at the same positions,
    /// so a pass that derives something from key text (a role, a prefix
    /// test) can remember it by position and stamp instead of re-reading
    /// or hashing the key for every record. 0 for an index out of range.
    #[inline]
    pub fn key_stamp(&self, index: usize) -> u64 {
        if index >= self.fields.len() {
            return 0;
        }
        self.keys.id_and_stamp(index).map_or(0, |(_, stamp)| stamp)
    }

    /// The value of field `index` (as returned by [`Event::push`]).
    pub fn value_of(&self, index: usize) -> Option<ValueRef<'_>> {
        (index < self.fields.len()).then(|| self.value_at(index as u32))
    }

    /// The index of the first field reachable under `id` (its own key or an
    /// alias), like [`Event::first`] but for [`Event::key_at`] and
    /// [`Event::alias`].
    pub fn first_index(&self, id: FieldId) -> Option<usize> {
        let entry = *self.slots.get(id.0 as usize)?;
        self.entries.get(entry as usize).map(|e| e.0 as usize)
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The event as a JSON object; repeated names become arrays. For
    /// examples and tests: read back from [`Event::to_json_text`].
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::from_str(&crate::event_json::write_event_json(self)).unwrap_or_default()
    }

    /// The event as JSON text (what alerts carry), written straight from
    /// the fields: an object in the source's key order, a name given
    /// several values written as an array at the place of its first value.
    pub fn to_json_text(&self) -> Box<serde_json::value::RawValue> {
        crate::event_json::event_json_text(self)
    }
}

/// Iterator over the values of one field.
pub struct Values<'a> {
    event: &'a Event,
    next: u32,
}

impl<'a> Iterator for Values<'a> {
    type Item = ValueRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<ValueRef<'a>> {
        if self.next == NONE {
            return None;
        }
        let (field, next) = self.event.entries[self.next as usize];
        self.next = next;
        Some(self.event.value_at(field))
    }
}

/// Appends `s` lower-cased. ASCII runs are copied and folded in bulk; only
/// the non-ASCII characters go through Unicode case mapping (long messages
/// with one typographic quote would otherwise be folded a char at a time).
///
/// The ASCII case is inlined: it is once per field, from both kinds of
/// push (left to itself, the compiler outlined the whole function and
/// every field paid the call).
#[inline(always)]
fn push_lowercase(out: &mut String, s: &str) {
    if !fold::append_lower(out, s.as_bytes()) {
        push_lowercase_mixed(out, s);
    }
}

/// [`push_lowercase`] of a value with non-ASCII characters.
#[inline(never)]
fn push_lowercase_mixed(out: &mut String, s: &str) {
    let mut rest = s;
    loop {
        let ascii = ascii_prefix_len(rest.as_bytes());
        let start = out.len();
        out.push_str(&rest[..ascii]);
        fold_ascii_tail(out, start);
        rest = &rest[ascii..];
        let mut chars = rest.chars();
        let Some(c) = chars.next() else {
            return;
        };
        out.extend(c.to_lowercase());
        rest = chars.as_str();
    }
}

/// ASCII-lower-cases `out` from `start` to its end.
///
/// The range is widened to the left to a multiple of eight bytes when
/// `out` has them: the folding loop then ends on whole words instead of a
/// byte-at-a-time tail (most values are short, so the tail was most of the
/// cost). The bytes taken in are output of this function already, which
/// holds no ASCII capital (Unicode lower-casing never yields one), so
/// folding them again changes nothing; a widened start inside a non-ASCII
/// char is not a char boundary and falls back to the exact range.
#[inline]
fn fold_ascii_tail(out: &mut str, start: usize) {
    let end = out.len();
    let len = end - start;
    let from = end.checked_sub(len.next_multiple_of(8)).unwrap_or(start);
    if out.is_char_boundary(from) {
        out[from..].make_ascii_lowercase();
    } else {
        out[start..].make_ascii_lowercase();
    }
}

/// Length of the ASCII prefix of `bytes`, eight bytes at a time.
#[inline]
fn ascii_prefix_len(bytes: &[u8]) -> usize {
    let mut n = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if u64::from_ne_bytes(word) & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        n += 8;
    }
    n + bytes[n..].iter().take_while(|b| b.is_ascii()).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::well_known;

    fn names() -> Arc<FieldNames> {
        let mut n = FieldNames::new();
        n.intern("CommandLine");
        n.intern("Image");
        n.intern("NewProcessName");
        Arc::new(n)
    }

    #[test]
    fn values_lower_cased_as_char_by_char() {
        // Every ASCII byte, and the ASCII and char paths meeting at every
        // offset.
        let ascii: String = (0u8..128).map(char::from).collect();
        let mut texts = vec![ascii.clone(), ascii.repeat(3)];
        for cut in 0..24 {
            let mut mixed: String = ascii.chars().cycle().skip(60).take(cut).collect();
            mixed.push_str("ÉCOLE Straße İ ΣΑΣ 😀 MiXeD");
            texts.push(mixed);
        }
        let mut ev = Event::new(names());
        for text in &texts {
            let i = ev.push("k", text, ValueKind::Str);
            let v = ev.value_of(i).unwrap();
            let want: String = text.chars().flat_map(char::to_lowercase).collect();
            assert_eq!(v.text, text);
            assert_eq!(v.lower, want, "{text:?}");
        }
    }

    /// Folding a value also re-folds up to seven bytes of the values
    /// before it: every value, read back after all were pushed, is still
    /// its own lower-casing, whatever (multi-byte chars, capitals that
    /// lower-case to ASCII, empty values) came before it at any offset.
    #[test]
    fn lower_casing_leaves_earlier_values_alone() {
        let pieces = [
            "",
            "A",
            "ÄÖ",
            "K",
            "İ",
            "😀",
            "MiXeD",
            "x",
            "ΣΑΣ",
            "ABCDEFG",
            "ABCDEFGHI",
            "é",
        ];
        let mut random = crate::test_rng::XorShift(0x2545_F491_4F6C_DD1D);
        let mut ev = Event::new(names());
        let mut want = Vec::new();
        for _ in 0..2000 {
            let rng = random.next_u64();
            let text: String = (0..rng % 4)
                .map(|i| pieces[(rng >> (8 * i + 8)) as usize % pieces.len()])
                .collect();
            let i = ev.push("k", &text, ValueKind::Str);
            want.push((
                i,
                text.chars()
                    .flat_map(char::to_lowercase)
                    .collect::<String>(),
            ));
        }
        for (i, lower) in want {
            assert_eq!(ev.value_of(i).unwrap().lower, lower);
        }
    }

    /// A huge key once at a position does not stay in memory after a
    /// short one replaced it there.
    #[test]
    fn huge_keys_are_not_held_by_their_position() {
        let mut ev = Event::new(names());
        let huge = "k".repeat(1 << 20);
        ev.push(&huge, "1", ValueKind::Num);
        ev.clear();
        ev.push("EventID", "1", ValueKind::Num);
        assert_eq!(ev.key_at(0), Some("EventID"));
        assert!(ev.keys.held(0) <= crate::position_keys::MAX_KEPT_KEY);
    }

    #[test]
    fn fields_resolve_by_id_and_clear_resets() {
        let names = names();
        let cmd = names.get("CommandLine").unwrap();
        let mut ev = Event::new(names);
        ev.push("EventID", "1", ValueKind::Num);
        ev.push("commandline", "C:\\Windows\\CMD.exe /c", ValueKind::Str);
        let v = ev.first(cmd).unwrap();
        assert_eq!(v.text, "C:\\Windows\\CMD.exe /c");
        assert_eq!(v.lower, "c:\\windows\\cmd.exe /c");
        assert_eq!(ev.first(well_known::EVENT_ID).unwrap().text, "1");
        ev.clear();
        assert!(ev.first(cmd).is_none());
        assert!(ev.is_empty());
    }

    #[test]
    fn repeated_names_and_aliases() {
        let names = names();
        let image = names.get("Image").unwrap();
        let mut ev = Event::new(names);
        let i = ev.push("NewProcessName", "C:\\a.exe", ValueKind::Str);
        ev.alias("Image", i);
        assert_eq!(ev.first(image).unwrap().text, "C:\\a.exe");
        ev.push("Data", "x", ValueKind::Str);
        ev.push("Data", "y", ValueKind::Str);
        ev.push("Data", "z", ValueKind::Str);
        assert_eq!(ev.to_json()["Data"], serde_json::json!(["x", "y", "z"]));
        // Values come back in the source's order: routing reads the first
        // Channel of an event whose UserData repeats the name.
        let data = ev.names().get("EventID").unwrap();
        ev.push("EventID", "104", ValueKind::Num);
        ev.push("EventID", "7", ValueKind::Num);
        let texts: Vec<&str> = ev.values(data).map(|v| v.text).collect();
        assert_eq!(texts, vec!["104", "7"]);
    }

    #[test]
    fn non_ascii_values_lowercase() {
        let mut ev = Event::new(names());
        ev.push("CommandLine", "ÄBC", ValueKind::Str);
        assert_eq!(ev.get("commandline"), Some("ÄBC"));
        let id = ev.names().get("CommandLine").unwrap();
        assert_eq!(ev.first(id).unwrap().lower, "äbc");
        ev.push("CommandLine", "Say “HELLO” to ΣΑΣ İ", ValueKind::Str);
        let lowered: Vec<&str> = ev.values(id).map(|v| v.lower).collect();
        assert_eq!(lowered[1], "say “hello” to σασ i\u{307}");
    }

    #[test]
    fn keys_survive_reuse_across_records_in_any_order() {
        let names = names();
        let cmd = names.get("CommandLine").unwrap();
        let image = names.get("Image").unwrap();
        let mut ev = Event::new(names);
        for round in 0..3 {
            ev.clear();
            let (a, b) = if round == 1 {
                ("Image", "CommandLine")
            } else {
                ("CommandLine", "Image")
            };
            ev.push(a, "a", ValueKind::Str);
            ev.push("Unknown", "u", ValueKind::Str);
            ev.push(b, "b", ValueKind::Str);
            assert_eq!((ev.key_at(1), ev.key_id_at(1)), (Some("Unknown"), None));
            assert_eq!(ev.key_at(0), Some(a));
            assert_eq!(ev.key_at(2), Some(b));
            let (want_cmd, want_image) = if round == 1 { ("b", "a") } else { ("a", "b") };
            assert_eq!(ev.first(cmd).unwrap().text, want_cmd);
            assert_eq!(ev.first(image).unwrap().text, want_image);
        }
    }

    /// A preset key's remembered id is used only with the table contents
    /// it was found in: a table that gained the name, or lacks it, gets
    /// its own answer, alternating as events of both tables alternate.
    #[test]
    fn preset_key_ids_follow_table_versions() {
        let without = names();
        let mut grown = (*without).clone();
        assert_eq!(grown.version(), without.version());
        let zed = grown.intern("Zed");
        assert_ne!(grown.version(), without.version());
        let grown = Arc::new(grown);
        let (key, other) = (PresetKey::new("Zed"), PresetKey::new("Image"));
        let image = without.get("Image").unwrap();
        let mut a = Event::new(without);
        let mut b = Event::new(grown);
        for _ in 0..3 {
            for (ev, want) in [(&mut a, None), (&mut b, Some(zed))] {
                ev.clear();
                // Another key first at each position, so that the preset is
                // not recognised by its stamp and its id is looked up.
                ev.push_preset(&other, "x", ValueKind::Str);
                ev.push_preset(&key, "z", ValueKind::Str);
                assert_eq!(ev.key_id_at(0), Some(image));
                assert_eq!(ev.key_id_at(1), want);
                assert_eq!(ev.key_at(1), Some("Zed"));
                ev.clear();
                ev.push_preset(&key, "z", ValueKind::Str);
                assert_eq!(ev.key_id_at(0), want);
            }
        }
    }

    /// Preset keys give the fields `push` would give, keep their stamp at
    /// any position, and a failed render leaves the event as it was.
    #[test]
    fn preset_keys_push_as_plain_keys() {
        let names = names();
        let cmd = names.get("CommandLine").unwrap();
        let (command_line, unknown) = (PresetKey::new("CommandLine"), PresetKey::new("X"));
        let mut ev = Event::new(names);
        for round in 0..3 {
            ev.clear();
            ev.push("EventID", "1", ValueKind::Num);
            if round == 1 {
                ev.push_preset(&unknown, "u", ValueKind::Str);
            }
            let failed: Result<usize, ()> = ev.push_rendered(&command_line, |out| {
                out.push_str("partial");
                Err(())
            });
            assert!(failed.is_err());
            let i = ev
                .push_rendered(&command_line, |out| {
                    out.push_str("CMD.exe /C");
                    Ok::<_, ()>(ValueKind::Str)
                })
                .unwrap();
            assert_eq!(ev.key_at(i), Some("CommandLine"));
            assert_eq!(ev.key_id_at(i), Some(cmd));
            let v = ev.first(cmd).unwrap();
            assert_eq!((v.text, v.lower), ("CMD.exe /C", "cmd.exe /c"));
            assert_eq!(
                ev.all_lower(),
                if round == 1 {
                    "1ucmd.exe /c"
                } else {
                    "1cmd.exe /c"
                }
            );
            assert_eq!(ev.key_stamp(i), command_line.stamp);
        }
        // A plain push of the same spelling keeps the preset's stamp.
        ev.clear();
        ev.push("EventID", "1", ValueKind::Num);
        ev.push("CommandLine", "x", ValueKind::Str);
        assert_eq!(ev.key_stamp(1), command_line.stamp);
        assert_eq!(ev.key_at(1), Some(command_line.as_str()));
    }

    #[test]
    fn key_stamps_follow_spellings() {
        let mut ev = Event::new(names());
        ev.push("A", "1", ValueKind::Str);
        ev.push("B", "2", ValueKind::Str);
        let (a, b) = (ev.key_stamp(0), ev.key_stamp(1));
        assert!(a != 0 && b != 0 && a != b);
        assert_eq!(ev.key_stamp(2), 0);
        ev.clear();
        ev.push("A", "3", ValueKind::Str);
        ev.push("C", "4", ValueKind::Str);
        assert_eq!(ev.key_stamp(0), a, "same spelling, same stamp");
        assert!(ev.key_stamp(1) != b, "new spelling, new stamp");
        // The slice view agrees and covers this record's fields only.
        let all: Vec<u64> = ev.key_stamps().collect();
        assert_eq!(all, [ev.key_stamp(0), ev.key_stamp(1)]);
        assert_eq!(ev.key_id_at(0), ev.names().get("A"));
        assert_eq!(ev.key_id_at(2), None);
        let mut other = Event::new(names());
        other.push("B", "5", ValueKind::Str);
        assert!(other.key_stamp(0) != b, "stamps are not shared by buffers");
        let g = ev.generation();
        ev.push("D", "5", ValueKind::Str);
        assert_eq!(ev.generation(), g, "pushes keep the generation");
        ev.clear();
        assert!(ev.generation() != g && other.generation() != g);
    }
}
