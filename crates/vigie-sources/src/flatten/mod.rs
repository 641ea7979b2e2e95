//! JSON to [`Event`] in one pass: a serde `DeserializeSeed`/`Visitor` pair
//! that walks the text and pushes every scalar straight into a reused
//! `Event` under its dotted path. Keys and strings arrive as `&str`
//! (borrowed from the input when they hold no escape, else from the
//! reader's scratch buffer), so a record costs no allocation once the
//! buffers have grown, and no `serde_json::Value` tree is ever built.
//! Whole records are read by the fast reader of [`fast`] first, and by
//! serde_json when it declines (see there).
//!
//! Shapes:
//! * nested objects give dotted keys (`properties.userPrincipalName`);
//! * arrays push the same key once per element, and arrays of objects
//!   flatten each element under the same prefix;
//! * numbers keep their value as text with `ValueKind::Num`, booleans are
//!   `Bool`, null is `Null` (with empty text);
//! * a top-level array, or a top-level `value`/`records`/`Records` array
//!   (the envelopes of Graph, Azure diagnostics and CloudTrail), yields one
//!   event per object element;
//! * `{"Event":{"System":..}}` (evtx_dump's JSON, and this crate's own EVTX
//!   rendering) is mapped to flat Windows field names by the rules in
//!   [`crate::windows`].

use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer};
use vigie_core::{Event, FieldNames, ValueKind};

use crate::windows::{self, RecState};

mod fast;
mod unescape_window;
mod walk;

use fast::FastReader;
use walk::{Cx, Split, ValueSeed};

/// Where the walker is; decides how child keys become field names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The value of a whole record (must be an object, or an array of them).
    Root,
    /// A direct child of the record: noted for timestamps and Windows shape.
    Top,
    /// A top-level `value`/`records`/`Records` member: records when it is an
    /// array, an ordinary field otherwise.
    Envelope,
    /// Anything nested below the top level of a non-Windows record.
    Generic,
    // Windows XML-shaped JSON (see `windows::plan`):
    /// Children of `Event`.
    WinEvent,
    /// Children of `Event.System`.
    System,
    /// A `System` member (null skipped, `TimeCreated` noted).
    SysField,
    /// An XML element: `#attributes` and `#text` are folded into its name.
    WinNested,
    /// Children of an `#attributes` object: `X_Y`.
    Attributes,
    /// Children of `Event.EventData`.
    EventData,
    /// An `EventData.Data` element: unnamed (`Data`) or `Name`d.
    Data,
    /// The `#attributes` of a `Data` element.
    DataAttributes,
    /// The `Name` attribute of a `Data` element.
    DataNameValue,
    /// Children of `Event.UserData` (one wrapper element).
    UserData,
    /// Children of the `UserData` wrapper: top-level fields.
    UserDataInner,
}

/// How a child key turns into the path of its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathOp {
    /// `parent.key`
    Dotted,
    /// `key`, whatever the parent
    Key,
    /// `key` without its last n bytes (`Provider_attributes` -> `Provider`)
    KeyWithoutSuffix(usize),
    /// `parent_key`
    Underscore,
    /// the parent's path (for `#text` and `#attributes`)
    Keep,
    /// a fixed name
    Fixed(&'static str),
    /// `Data.key`
    DataPrefixed,
    /// the `Name` attribute of the current `Data` element, else `Data`
    DataName,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    Skip,
    Go(PathOp, Mode),
}

/// `bytes` as text when they are valid UTF-8: one validation of a whole
/// record, by `simdutf8` (32 bytes at a time where the CPU has AVX2,
/// chosen at run time). Over the OTRF events it took about half the
/// instructions of `is_ascii`'s eight-byte words plus `from_utf8` on the
/// records with a non-ASCII byte, which were checked twice.
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(bytes).ok()
}

/// `bytes` as text when they are all ASCII (checked a word at a time).
#[inline]
pub(crate) fn ascii(bytes: &[u8]) -> Option<&str> {
    // SAFETY: ASCII bytes are valid UTF-8.
    bytes
        .is_ascii()
        .then(|| unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// Envelope members whose array holds the records.
const ENVELOPES: [&str; 3] = ["value", "records", "Records"];

fn plan(mode: Mode, key: &str, first: bool, can_split: bool, time_attrs: bool) -> Plan {
    match mode {
        Mode::Root => Plan::Go(PathOp::Key, root_child(key, first, can_split)),
        Mode::Top | Mode::Envelope | Mode::Generic => Plan::Go(PathOp::Dotted, Mode::Generic),
        _ => windows::plan(mode, key, time_attrs),
    }
}

/// The mode of a record's member `key` (`first`: its first member;
/// `can_split`: envelopes may split the record).
#[inline]
fn root_child(key: &str, first: bool, can_split: bool) -> Mode {
    if first && key == "Event" {
        Mode::WinEvent
    } else if can_split && ENVELOPES.contains(&key) {
        Mode::Envelope
    } else {
        Mode::Top
    }
}

/// One record being built: the event plus the walker's buffers.
pub(crate) struct Record {
    pub(crate) ev: Event,
    pub(crate) st: RecState,
    path: String,
    /// A key with escapes, unescaped (others are borrowed from the input).
    key: String,
    num: String,
    data_name: String,
    has_data_name: bool,
    saw_data_text: bool,
    /// Bytes pushed so far (keys + values + per-field overhead).
    used: usize,
    /// Limit on `used`: flattening can repeat a long key once per array
    /// element, so a small input can expand a lot; this keeps memory and the
    /// event's 32-bit offsets in check.
    cap: usize,
    /// Top-level keys' Windows slots by the key's names-table id.
    slots: windows::SlotsById,
}

impl Record {
    pub(crate) fn new(names: &Arc<FieldNames>, max_record_bytes: usize) -> Self {
        Record {
            ev: Event::new(names.clone()),
            st: RecState::default(),
            path: String::new(),
            key: String::new(),
            num: String::new(),
            data_name: String::new(),
            has_data_name: false,
            saw_data_text: false,
            used: 0,
            cap: flatten_cap(max_record_bytes),
            slots: windows::SlotsById::new(names),
        }
    }

    /// Notes the value of top-level field `index` in its Windows slot, if
    /// its key has one. The key is `key`, or the current path for `None`;
    /// the event looked the key's id up when it was pushed.
    #[inline]
    fn note_top(&mut self, index: usize, key: Option<&str>, text: &str, kind: ValueKind) {
        if kind == ValueKind::Null {
            return;
        }
        let id = self.ev.key_id_at(index);
        let slot = self.slots.get(id, key.unwrap_or(&self.path));
        if let Some(slot) = slot {
            self.st.note(slot, index, text);
        }
    }

    fn reset(&mut self) {
        self.ev.clear();
        self.st.reset();
        self.path.clear();
        self.used = 0;
    }

    fn push<E: de::Error>(&mut self, text: &str, kind: ValueKind) -> Result<usize, E> {
        self.count(self.path.len() + text.len())?;
        Ok(self.ev.push(&self.path, text, kind))
    }

    /// [`Record::push`] under `key` instead of the path.
    #[inline]
    fn push_under<E: de::Error>(
        &mut self,
        key: &str,
        text: &str,
        kind: ValueKind,
    ) -> Result<usize, E> {
        self.count(key.len() + text.len())?;
        Ok(self.ev.push(key, text, kind))
    }

    /// Counts a field of `bytes` (key and value) against the cap.
    #[inline]
    fn count<E: de::Error>(&mut self, bytes: usize) -> Result<(), E> {
        self.used = self.used.saturating_add(bytes + 32);
        if self.used > self.cap {
            return Err(E::custom(format_args!(
                "record too large once flattened (over {} bytes of fields)",
                self.cap
            )));
        }
        Ok(())
    }

    /// Sets the path of the value of `key`, a child of the path's first
    /// `base` bytes.
    fn compose(&mut self, op: PathOp, base: usize, key: &str) {
        let path = &mut self.path;
        match op {
            PathOp::Dotted => {
                path.truncate(base);
                if base > 0 {
                    path.push('.');
                }
                path.push_str(key);
            }
            PathOp::Key => {
                path.clear();
                path.push_str(key);
            }
            PathOp::KeyWithoutSuffix(n) => {
                path.clear();
                let end = key.len().saturating_sub(n);
                path.push_str(key.get(..end).unwrap_or(key));
            }
            PathOp::Underscore => {
                path.truncate(base);
                path.push('_');
                path.push_str(key);
            }
            PathOp::Keep => path.truncate(base),
            PathOp::Fixed(name) => {
                path.clear();
                path.push_str(name);
            }
            PathOp::DataPrefixed => {
                path.clear();
                path.push_str("Data.");
                path.push_str(key);
            }
            PathOp::DataName => {
                path.clear();
                if self.has_data_name {
                    path.push_str(&self.data_name);
                } else {
                    path.push_str("Data");
                }
                self.saw_data_text = true;
            }
        }
    }
}

/// Flattened-size limit for a record read under `max_record_bytes`.
fn flatten_cap(max_record_bytes: usize) -> usize {
    max_record_bytes.saturating_mul(4).clamp(16 << 20, 1 << 30)
}

/// What `Flattener::parse` found besides the events it emitted.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Outcome {
    /// The record itself still has to be emitted (with `emit_root`): it was
    /// an object and not an envelope whose elements were emitted.
    pub(crate) root_pending: bool,
    /// Array elements that were not objects and so gave no event.
    pub(crate) skipped: u64,
}

/// A reusable JSON-to-events converter (one per worker thread).
pub(crate) struct Flattener {
    root: Record,
    elem: Record,
    /// The fast reader's buffer for strings with escapes.
    scratch: fast::Scratch,
}

impl Flattener {
    pub(crate) fn new(names: &Arc<FieldNames>, max_record_bytes: usize) -> Self {
        Flattener {
            root: Record::new(names, max_record_bytes),
            elem: Record::new(names, max_record_bytes),
            scratch: fast::Scratch::default(),
        }
    }

    /// Reads one JSON value from `de`. Records inside envelopes and
    /// top-level arrays are passed to `emit` as they complete; the value's
    /// own record is left for [`Flattener::emit_root`], so that a caller can
    /// first check that nothing follows it.
    pub(crate) fn parse<'de, D: Deserializer<'de>>(
        &mut self,
        de: D,
        emit: &mut dyn FnMut(&mut Event),
    ) -> Result<Outcome, D::Error> {
        self.read_root(emit, |cx| {
            ValueSeed {
                cx,
                mode: Mode::Root,
                key: None,
            }
            .deserialize(de)
        })
    }

    /// [`Flattener::parse`] with the fast reader, whose flat records'
    /// members are read without serde's visitors (see
    /// [`FastReader::root`]).
    fn parse_fast(
        &mut self,
        reader: &mut FastReader<'_, '_>,
        emit: &mut dyn FnMut(&mut Event),
    ) -> Result<Outcome, fast::Bail> {
        self.read_root(emit, |cx| reader.root(cx))
    }

    /// Reads one value with `read`, given the root record's context.
    #[inline]
    fn read_root<E>(
        &mut self,
        emit: &mut dyn FnMut(&mut Event),
        read: impl FnOnce(&mut Cx<'_>) -> Result<(), E>,
    ) -> Result<Outcome, E> {
        self.root.reset();
        let mut cx = Cx {
            rec: &mut self.root,
            split: Some(Split {
                elem: &mut self.elem,
                emit,
                emitted: 0,
                skipped: 0,
                top_array: false,
            }),
        };
        read(&mut cx)?;
        let (emitted, skipped, top_array) = cx
            .split
            .map(|s| (s.emitted, s.skipped, s.top_array))
            .unwrap_or_default();
        Ok(Outcome {
            root_pending: !top_array && emitted == 0,
            skipped,
        })
    }

    /// Reads one whole JSON record (a line, an EVTX record rendered as JSON)
    /// and emits its events. Nothing may follow the value.
    pub(crate) fn parse_record(
        &mut self,
        bytes: &[u8],
        emit: &mut dyn FnMut(&mut Event),
    ) -> Result<Outcome, serde_json::Error> {
        // One bulk UTF-8 check lets both readers skip their per-string one;
        // on invalid UTF-8 serde_json's slice reader finds where, for the
        // message.
        let outcome = match utf8(bytes) {
            Some(text) => {
                let mut read = Outcome::default();
                match self.fast_values(text, false, emit, &mut |outcome| read = outcome) {
                    // The fast pass emitted the root too.
                    Ok(()) => return Ok(read),
                    // Anything the fast reader does not take (bad input
                    // included) is read again by serde_json, which gives
                    // the same events and its own error message. Records
                    // of an envelope that the fast pass already emitted
                    // are not emitted twice.
                    Err(emitted) => {
                        let mut skip = emitted;
                        let mut rest = |ev: &mut Event| {
                            if skip > 0 {
                                skip -= 1;
                            } else {
                                emit(ev)
                            }
                        };
                        let mut de = serde_json::Deserializer::from_str(text);
                        let outcome = self.parse(&mut de, &mut rest)?;
                        de.end()?;
                        outcome
                    }
                }
            }
            None => {
                let mut de = serde_json::Deserializer::from_slice(bytes);
                let outcome = self.parse(&mut de, emit)?;
                de.end()?;
                outcome
            }
        };
        if outcome.root_pending {
            self.emit_root(emit);
        }
        Ok(outcome)
    }

    /// Reads a whole in-memory document — one JSON value or several
    /// concatenated ones (`jq .` output) — with the fast reader, emitting
    /// each value's events (a root that is not an envelope included).
    /// Returns each value's outcome, or, when the fast reader declines the
    /// text, how many events it had already emitted: the caller reads the
    /// document again with serde_json and skips that many.
    pub(crate) fn parse_document(
        &mut self,
        text: &str,
        emit: &mut dyn FnMut(&mut Event),
    ) -> Result<Vec<Outcome>, u64> {
        let mut outcomes = Vec::new();
        self.fast_values(text, true, emit, &mut |outcome| outcomes.push(outcome))?;
        Ok(outcomes)
    }

    /// The fast reader over `text`: one value (a record: nothing may
    /// follow it) or `several` concatenated ones, each value's events
    /// emitted, its root included, and its outcome passed to `outcome`. On
    /// a decline, the number of events already emitted.
    fn fast_values(
        &mut self,
        text: &str,
        several: bool,
        emit: &mut dyn FnMut(&mut Event),
        outcome: &mut dyn FnMut(Outcome),
    ) -> Result<(), u64> {
        let mut emitted = 0u64;
        let mut counting = |ev: &mut Event| {
            emitted += 1;
            emit(ev)
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut reader = FastReader::new(text, &mut scratch);
        let read = loop {
            match self.parse_fast(&mut reader, &mut counting) {
                Ok(value) => {
                    if !several && reader.end().is_err() {
                        break Err(fast::Bail);
                    }
                    if value.root_pending {
                        self.emit_root(&mut counting);
                    }
                    outcome(value);
                }
                Err(bail) => break Err(bail),
            }
            if reader.end().is_ok() {
                break Ok(());
            }
        };
        self.scratch = scratch;
        read.map_err(|fast::Bail| emitted)
    }

    /// Finishes and emits the record read by the last `parse`.
    pub(crate) fn emit_root(&mut self, emit: &mut dyn FnMut(&mut Event)) {
        windows::finish(&mut self.root.ev, &self.root.st);
        emit(&mut self.root.ev);
    }
}

/// Appends the fields of a JSON text to an existing event, under a path
/// prefix: how JSON carried inside strings (UAL `AuditData`, Sentinel's
/// `Folders` and `TargetResources` columns) joins the record it sits in.
/// Reused per thread, like [`Flattener`].
pub(crate) struct Nested {
    rec: Record,
}

impl Nested {
    pub(crate) fn new(names: &Arc<FieldNames>, max_record_bytes: usize) -> Self {
        Nested {
            rec: Record::new(names, max_record_bytes),
        }
    }

    /// Parses `json` and pushes its scalars into `ev` as `prefix.path`
    /// (just `path` when `prefix` is empty). Fields pushed before an error
    /// stay in `ev`; callers drop the event on error.
    pub(crate) fn append(
        &mut self,
        ev: &mut Event,
        prefix: &str,
        json: &str,
    ) -> Result<(), serde_json::Error> {
        // The walker writes into its record's own event: lend it `ev`.
        std::mem::swap(&mut self.rec.ev, ev);
        self.rec.path.clear();
        self.rec.path.push_str(prefix);
        self.rec.used = 0;
        let result = (|| {
            let mut de = serde_json::Deserializer::from_str(json);
            let mut cx = Cx {
                rec: &mut self.rec,
                split: None,
            };
            ValueSeed {
                cx: &mut cx,
                mode: Mode::Generic,
                key: None,
            }
            .deserialize(&mut de)?;
            de.end()
        })();
        std::mem::swap(&mut self.rec.ev, ev);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Arc<FieldNames> {
        Arc::new(FieldNames::new())
    }

    /// Flattens one JSON text into (key, value, kind) triples per event.
    fn flat(json: &str) -> Vec<Vec<(String, String, ValueKind)>> {
        let mut fl = Flattener::new(&names(), 1 << 20);
        let mut out = Vec::new();
        let mut emit = |ev: &mut Event| {
            out.push(
                ev.iter()
                    .map(|(k, v)| (k.to_owned(), v.text.to_owned(), v.kind))
                    .collect::<Vec<_>>(),
            )
        };
        let mut de = serde_json::Deserializer::from_str(json);
        let outcome = fl.parse(&mut de, &mut emit).unwrap();
        if outcome.root_pending {
            fl.emit_root(&mut emit);
        }
        out
    }

    fn pairs(event: &[(String, String, ValueKind)]) -> Vec<(&str, &str)> {
        event
            .iter()
            .map(|(k, v, _)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Top-level scalars are pushed under their key without setting the
    /// path: objects, arrays, floats and escaped keys between them still
    /// get theirs.
    #[test]
    fn top_level_scalars_and_objects_alternate() {
        let events = flat(
            r#"{"s":"1","o":{"k":2},"f":1.5,"t":true,"a":[3],"u":null,"k\u0065y":"v","m":{"x":"y"},"last":7}"#,
        );
        assert_eq!(events.len(), 1);
        assert_eq!(
            pairs(&events[0]),
            vec![
                ("s", "1"),
                ("o.k", "2"),
                ("f", "1.5"),
                ("t", "true"),
                ("a", "3"),
                ("u", ""),
                ("key", "v"),
                ("m.x", "y"),
                ("last", "7"),
            ]
        );
    }

    #[test]
    fn nested_objects_and_arrays() {
        let events = flat(
            r#"{"a":{"b":{"c":"x"}},"n":[1,2.5,true,null],"o":[{"k":"v1"},{"k":"v2","z":{"y":1}}],"e":"tab\there"}"#,
        );
        assert_eq!(events.len(), 1);
        assert_eq!(
            pairs(&events[0]),
            vec![
                ("a.b.c", "x"),
                ("n", "1"),
                ("n", "2.5"),
                ("n", "true"),
                ("n", ""),
                ("o.k", "v1"),
                ("o.k", "v2"),
                ("o.z.y", "1"),
                ("e", "tab\there"),
            ]
        );
        let kinds: Vec<ValueKind> = events[0].iter().map(|(_, _, k)| *k).collect();
        assert_eq!(
            kinds[1..5],
            [
                ValueKind::Num,
                ValueKind::Num,
                ValueKind::Bool,
                ValueKind::Null
            ]
        );
        assert_eq!(kinds[0], ValueKind::Str);
    }

    #[test]
    fn integers_keep_their_text() {
        let events = flat(
            r#"{"a":0,"b":-7,"c":18446744073709551615,"d":-9223372036854775808,"e":1.0,"f":1e300}"#,
        );
        let values: Vec<&str> = events[0].iter().map(|(_, v, _)| v.as_str()).collect();
        assert_eq!(
            values,
            [
                "0",
                "-7",
                "18446744073709551615",
                "-9223372036854775808",
                "1.0",
                "1e300"
            ]
        );
    }

    #[test]
    fn envelopes_split_into_records() {
        let events = flat(r#"{"@odata.context":"x","value":[{"id":1},{"id":2}],"next":"y"}"#);
        assert_eq!(events.len(), 2);
        assert_eq!(pairs(&events[1]), vec![("id", "2")]);
        // An array of scalars is just a field.
        let events = flat(r#"{"name":"n","value":[1,2]}"#);
        assert_eq!(events.len(), 1);
        assert_eq!(
            pairs(&events[0]),
            vec![("name", "n"), ("value", "1"), ("value", "2")]
        );
        // Top-level arrays: objects are records, other elements skipped.
        let events = flat(r#"[{"a":1},5,{"a":2}]"#);
        assert_eq!(events.len(), 2);
    }

    /// The walker's loops for records and for dotted objects skip `plan`;
    /// they are right only while `plan` says this.
    #[test]
    fn plan_is_what_the_special_loops_assume() {
        for key in [
            "", "a", "Event", "value", "records", "Records", "#text", "Data", "System",
        ] {
            for mode in [Mode::Top, Mode::Envelope, Mode::Generic] {
                for (first, can_split) in [(true, true), (false, false)] {
                    assert_eq!(
                        plan(mode, key, first, can_split, false),
                        Plan::Go(PathOp::Dotted, Mode::Generic)
                    );
                }
            }
            for first in [true, false] {
                for can_split in [true, false] {
                    assert_eq!(
                        plan(Mode::Root, key, first, can_split, false),
                        Plan::Go(PathOp::Key, root_child(key, first, can_split))
                    );
                }
            }
        }
        assert_eq!(root_child("Event", true, false), Mode::WinEvent);
        assert_eq!(root_child("Event", false, true), Mode::Top);
        assert_eq!(root_child("value", false, true), Mode::Envelope);
        assert_eq!(root_child("value", false, false), Mode::Top);
    }

    #[test]
    fn scalars_at_the_top_are_rejected() {
        let mut fl = Flattener::new(&names(), 1 << 20);
        let mut de = serde_json::Deserializer::from_str("42");
        let err = fl.parse(&mut de, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
    }

    #[test]
    fn flattened_size_is_capped() {
        // 2 bytes of JSON per element, ~1 KiB of key per element once flat.
        let key = "k".repeat(1000);
        let json = format!(r#"{{"{key}":[{}1]}}"#, "1,".repeat(40_000));
        let mut fl = Flattener::new(&names(), 1024);
        let mut de = serde_json::Deserializer::from_str(&json);
        let err = fl.parse(&mut de, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
    }
}
