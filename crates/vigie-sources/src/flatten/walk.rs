//! The serde side of flattening: seeds and visitors that walk a JSON value
//! and hand its scalars to the [`Record`] being built, naming each by the
//! mode it was found in (see [`super::plan`]).

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use vigie_core::{Event, ValueKind};

use super::{plan, root_child, Mode, Plan, Record};
use crate::windows;

/// The records of an envelope or top-level array, and where they go.
pub(super) struct Split<'a> {
    pub(super) elem: &'a mut Record,
    pub(super) emit: &'a mut dyn FnMut(&mut Event),
    pub(super) emitted: u64,
    pub(super) skipped: u64,
    pub(super) top_array: bool,
}

impl Split<'_> {
    /// Ends an element of a record array: an object, now flattened into
    /// `elem`, is finished and emitted; any other element is counted as
    /// skipped in a top-level array (in an envelope it is a field of the
    /// enclosing record).
    pub(super) fn element_read(&mut self, object: bool, in_envelope: bool) {
        if object {
            windows::finish(&mut self.elem.ev, &self.elem.st);
            (self.emit)(&mut self.elem.ev);
            self.emitted += 1;
        } else if !in_envelope {
            self.skipped += 1;
        }
    }
}

/// The mode of a record's member `key` ([`root_child`]), and whether a
/// scalar of it is pushed under `key` itself rather than under the path:
/// a plain member's is, when its key outlives the reading of its value
/// (`lasting`: borrowed from the input, not unescaped into a buffer the
/// value may reuse). Otherwise the path is set to `key`.
#[inline(always)]
pub(super) fn root_member(
    path: &mut String,
    key: &str,
    lasting: bool,
    first: bool,
    can_split: bool,
) -> (Mode, bool) {
    let child = root_child(key, first, can_split);
    if lasting && child == Mode::Top {
        (child, true)
    } else {
        set(path, key);
        (child, false)
    }
}

pub(super) struct Cx<'a> {
    pub(super) rec: &'a mut Record,
    /// Present while reading a record's top level: envelopes may split it.
    pub(super) split: Option<Split<'a>>,
}

impl Cx<'_> {
    /// Pushes a scalar at the current path. The modes of nearly every
    /// field of a cloud record come first and inline; the rest (errors,
    /// Windows) is out of line.
    #[inline(always)]
    fn scalar<E: de::Error>(&mut self, mode: Mode, text: &str, kind: ValueKind) -> Result<(), E> {
        let rec = &mut *self.rec;
        match mode {
            Mode::Generic => rec.push(text, kind).map(drop),
            Mode::Top | Mode::Envelope => {
                let index = rec.push(text, kind)?;
                rec.note_top(index, None, text, kind);
                Ok(())
            }
            _ => self.other_scalar(mode, text, kind),
        }
    }

    /// [`Cx::scalar`] of a top-level value in `Mode::Top`, under `key`
    /// (the path was not set to it).
    #[inline(always)]
    fn top_scalar<E: de::Error>(
        &mut self,
        key: &str,
        text: &str,
        kind: ValueKind,
    ) -> Result<(), E> {
        let rec = &mut *self.rec;
        let index = rec.push_under(key, text, kind)?;
        rec.note_top(index, Some(key), text, kind);
        Ok(())
    }

    #[inline(never)]
    fn other_scalar<E: de::Error>(
        &mut self,
        mode: Mode,
        text: &str,
        kind: ValueKind,
    ) -> Result<(), E> {
        let rec = &mut *self.rec;
        match mode {
            Mode::Root => Err(E::custom(format_args!(
                "expected a JSON object, found {}",
                kind_name(kind, text)
            ))),
            Mode::DataNameValue => {
                rec.data_name.clear();
                rec.data_name.push_str(text);
                rec.has_data_name = true;
                Ok(())
            }
            // Empty System elements (`"Correlation": null`) say nothing.
            Mode::SysField if kind == ValueKind::Null => Ok(()),
            _ => {
                rec.push(text, kind)?;
                match mode {
                    Mode::SysField if rec.path == "TimeCreated" => rec.st.note_system_time(text),
                    Mode::SysField if rec.path == "EventRecordID" => rec.st.note_record_id(text),
                    _ => {}
                }
                Ok(())
            }
        }
    }

    fn walk_map<'de, A: MapAccess<'de>>(&mut self, mode: Mode, map: A) -> Result<(), A::Error> {
        match mode {
            // `plan` makes every child of these `parent.key` in Generic mode.
            Mode::Top | Mode::Envelope | Mode::Generic => self.walk_dotted(map),
            Mode::Root => self.walk_root(map),
            _ => self.walk_planned(mode, map),
        }
    }

    /// The members of a record: each is named by its key alone, in the
    /// mode `root_child` gives (what `plan` says for Root, without its
    /// general dispatch: flat records are mostly top-level members).
    fn walk_root<'de, A: MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
        let can_split = self.split.is_some();
        let mut first = true;
        while let Some(key) = map.next_key_seed(KeySeed(&mut self.rec.key))? {
            let rec = &mut *self.rec;
            let (child, key) = match key {
                Key::Borrowed(key) => {
                    let (child, under) = root_member(&mut rec.path, key, true, first, can_split);
                    (child, under.then_some(key))
                }
                Key::Buffered => {
                    let (child, _) = root_member(&mut rec.path, &rec.key, false, first, can_split);
                    (child, None)
                }
            };
            first = false;
            map.next_value_seed(ValueSeed {
                cx: &mut *self,
                mode: child,
                key,
            })?;
        }
        Ok(())
    }

    /// The members of an object whose children are all `parent.key`,
    /// Generic (what `plan` says for Top, Envelope and Generic, which is
    /// nearly every object of a cloud record): no plan per key, and the
    /// separator is written once for all the members.
    fn walk_dotted<'de, A: MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
        let base = self.rec.path.len();
        // An empty parent (a top-level key "", or `Nested` without a
        // prefix) names its children without a dot, as `compose` does.
        let stem = if base > 0 {
            self.rec.path.push('.');
            base + 1
        } else {
            0
        };
        while let Some(key) = map.next_key_seed(KeySeed(&mut self.rec.key))? {
            let rec = &mut *self.rec;
            rec.path.truncate(stem);
            match key {
                Key::Borrowed(key) => rec.path.push_str(key),
                Key::Buffered => rec.path.push_str(&rec.key),
            }
            map.next_value_seed(ValueSeed {
                cx: &mut *self,
                mode: Mode::Generic,
                key: None,
            })?;
        }
        // Leave the path as an empty object left it before.
        self.rec.path.truncate(base);
        Ok(())
    }

    fn walk_planned<'de, A: MapAccess<'de>>(
        &mut self,
        mode: Mode,
        mut map: A,
    ) -> Result<(), A::Error> {
        let base = self.rec.path.len();
        let time_attrs = mode == Mode::Attributes && self.rec.path == "TimeCreated";
        if mode == Mode::Data {
            self.rec.has_data_name = false;
            self.rec.saw_data_text = false;
        }
        let mut first = true;
        while let Some(key) = map.next_key_seed(KeySeed(&mut self.rec.key))? {
            let can_split = self.split.is_some();
            let rec = &mut *self.rec;
            let step = |rec: &mut Record, key: &str| {
                let plan = plan(mode, key, first, can_split, time_attrs);
                if let Plan::Go(op, _) = plan {
                    rec.compose(op, base, key);
                }
                plan
            };
            let plan = match key {
                Key::Borrowed(key) => step(rec, key),
                // `compose` writes the record, so the buffer holding the key
                // is lent out of it for the call.
                Key::Buffered => {
                    let key = std::mem::take(&mut rec.key);
                    let plan = step(rec, &key);
                    rec.key = key;
                    plan
                }
            };
            first = false;
            match plan {
                Plan::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
                Plan::Go(_, child) => {
                    if child == Mode::System {
                        self.rec.st.windows = true;
                    }
                    map.next_value_seed(ValueSeed {
                        cx: &mut *self,
                        mode: child,
                        key: None,
                    })?;
                }
            }
        }
        // `<Data Name="X"/>` with no text is still field X, empty.
        if mode == Mode::Data && self.rec.has_data_name && !self.rec.saw_data_text {
            let rec = &mut *self.rec;
            rec.path.clear();
            rec.path.push_str(&rec.data_name);
            rec.push::<A::Error>("", ValueKind::Str)?;
        }
        Ok(())
    }

    fn walk_seq<'de, A: SeqAccess<'de>>(&mut self, mode: Mode, mut seq: A) -> Result<(), A::Error> {
        match mode {
            Mode::Root => return self.records(seq, false),
            Mode::Envelope if self.split.is_some() => return self.records(seq, true),
            _ => {}
        }
        // Every element starts from the array's own path. Children of most
        // modes only append to it; the Windows modes below name children
        // absolutely, so their path is put back explicitly.
        let base = self.rec.path.len();
        let saved = match mode {
            Mode::WinEvent | Mode::System | Mode::UserData | Mode::UserDataInner => {
                Some(self.rec.path.clone())
            }
            _ => None,
        };
        loop {
            match (mode, &saved) {
                (Mode::Data, _) => set(&mut self.rec.path, "Data"),
                (Mode::EventData, _) => set(&mut self.rec.path, "EventData"),
                (_, Some(saved)) => set(&mut self.rec.path, saved),
                _ => self.rec.path.truncate(base),
            }
            let seed = ValueSeed {
                cx: &mut *self,
                mode,
                key: None,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
        }
    }

    /// The elements of a top-level array or envelope: each object is a
    /// record of its own. Other elements of an envelope stay fields of the
    /// enclosing record (`"value": [1, 2]` is just a field); those of a
    /// top-level array are counted as skipped.
    fn records<'de, A: SeqAccess<'de>>(
        &mut self,
        mut seq: A,
        in_envelope: bool,
    ) -> Result<(), A::Error> {
        let Cx { rec, split } = self;
        let Some(split) = split.as_mut() else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        if !in_envelope {
            split.top_array = true;
        }
        loop {
            split.elem.reset();
            let seed = ElemSeed {
                elem: &mut *split.elem,
                root: rec,
                in_envelope,
            };
            match seq.next_element_seed(seed)? {
                None => return Ok(()),
                Some(object) => split.element_read(object, in_envelope),
            }
        }
    }
}

fn set(path: &mut String, to: &str) {
    path.clear();
    path.push_str(to);
}

fn kind_name(kind: ValueKind, text: &str) -> String {
    match kind {
        ValueKind::Str => "a string".into(),
        ValueKind::Null => "null".into(),
        ValueKind::Bool | ValueKind::Num => format!("`{text}`"),
    }
}

/// A map key as read: borrowed from the input (no escapes, the common
/// case), or unescaped into the buffer of the [`KeySeed`].
enum Key<'de> {
    Borrowed(&'de str),
    Buffered,
}

/// Reads a map key, copying it into the buffer only when the reader cannot
/// lend it for the input's lifetime.
struct KeySeed<'k>(&'k mut String);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Key<'de>, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        self.0.clear();
        self.0.push_str(v);
        Ok(Key::Buffered)
    }
}

/// Reads any value at the current path, in a mode.
pub(super) struct ValueSeed<'c, 'a, 'k> {
    pub(super) cx: &'c mut Cx<'a>,
    pub(super) mode: Mode,
    /// A record's top-level key, when the path has not been set to it: a
    /// scalar (nearly every top-level value) is pushed under the key
    /// itself, without copying it into the path first.
    pub(super) key: Option<&'k str>,
}

impl<'c, 'a> ValueSeed<'c, 'a, '_> {
    /// Pushes a scalar, under the key when the seed has one. Forced inline:
    /// the fast reader's root walk calls it for nearly every member, and
    /// as a call it cost 1.5M instructions more over 2,271 OTRF events.
    #[inline(always)]
    pub(super) fn scalar<E: de::Error>(self, text: &str, kind: ValueKind) -> Result<(), E> {
        match self.key {
            Some(key) => self.cx.top_scalar(key, text, kind),
            None => self.cx.scalar(self.mode, text, kind),
        }
    }

    /// The context, with the path set to the key when the seed has one
    /// (for a value that is not a scalar).
    fn at_path(self) -> (&'c mut Cx<'a>, Mode) {
        if let Some(key) = self.key {
            set(&mut self.cx.rec.path, key);
        }
        (self.cx, self.mode)
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        let text = if v { "true" } else { "false" };
        self.scalar(text, ValueKind::Bool)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        let mut buf = [0u8; 20];
        let text = integer(&mut buf, v.unsigned_abs(), v < 0);
        self.scalar(text, ValueKind::Num)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let mut buf = [0u8; 20];
        let text = integer(&mut buf, v, false);
        self.scalar(text, ValueKind::Num)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // Debug is the shortest text that reads back as the same float and
        // keeps a `.0` on whole numbers, like serde_json's own output.
        let (cx, mode) = self.at_path();
        number(cx, mode, format_args!("{v:?}"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(v, ValueKind::Str)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar("", ValueKind::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let (cx, mode) = self.at_path();
        cx.walk_map(mode, map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let (cx, mode) = self.at_path();
        cx.walk_seq(mode, seq)
    }
}

/// Decimal text of an integer, without going through `fmt` (numbers are
/// on the hot path: every EventID, ProcessId, Level, Task...).
pub(super) fn integer(buf: &mut [u8; 20], mut v: u64, negative: bool) -> &str {
    // Most numbers of a record are small (a status, a type, a count): a
    // slice of a table is cheaper than the digits plus a UTF-8 check.
    if !negative && v < 1000 {
        let at = 3 * v as usize;
        let skip = match v {
            0..=9 => 2,
            10..=99 => 1,
            _ => 0,
        };
        if let Some(text) = SMALL_INTEGERS.get(at + skip..at + 3) {
            return text;
        }
    }
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        buf[at] = b'-';
    }
    // Digits and a sign are ASCII: checked a word at a time, not by the
    // general UTF-8 check (some 60 instructions for a four-digit EventID).
    super::ascii(&buf[at..]).unwrap_or("0")
}

/// "000", "001", ... "999": the integers below 1000 on three digits each.
const SMALL_INTEGERS: &str = {
    const fn table() -> [u8; 3000] {
        let mut bytes = [0u8; 3000];
        let mut n = 0;
        while n < 1000 {
            bytes[3 * n] = b'0' + (n / 100) as u8;
            bytes[3 * n + 1] = b'0' + (n / 10 % 10) as u8;
            bytes[3 * n + 2] = b'0' + (n % 10) as u8;
            n += 1;
        }
        bytes
    }
    const BYTES: [u8; 3000] = table();
    match std::str::from_utf8(&BYTES) {
        Ok(text) => text,
        Err(_) => panic!("digits are ASCII"),
    }
};

fn number<E: de::Error>(cx: &mut Cx<'_>, mode: Mode, value: fmt::Arguments<'_>) -> Result<(), E> {
    let mut num = std::mem::take(&mut cx.rec.num);
    num.clear();
    let _ = num.write_fmt(value);
    let result = cx.scalar(mode, &num, ValueKind::Num);
    cx.rec.num = num;
    result
}

/// One element of a record array: `true` when it was an object, now
/// flattened into `elem`.
pub(super) struct ElemSeed<'r> {
    pub(super) elem: &'r mut Record,
    pub(super) root: &'r mut Record,
    pub(super) in_envelope: bool,
}

impl ElemSeed<'_> {
    /// A non-object element of an envelope is a field of the enclosing
    /// record, as it would be without envelope handling.
    fn root_scalar<E: de::Error>(self, text: &str, kind: ValueKind) -> Result<bool, E> {
        if self.in_envelope {
            let mut cx = Cx {
                rec: self.root,
                split: None,
            };
            cx.scalar::<E>(Mode::Generic, text, kind)?;
        }
        Ok(false)
    }
}

impl<'de> DeserializeSeed<'de> for ElemSeed<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElemSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.root_scalar(if v { "true" } else { "false" }, ValueKind::Bool)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.root_scalar(&v.to_string(), ValueKind::Num)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.root_scalar(&v.to_string(), ValueKind::Num)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.root_scalar(&format!("{v:?}"), ValueKind::Num)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.root_scalar(v, ValueKind::Str)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.root_scalar("", ValueKind::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        let mut cx = Cx {
            rec: self.elem,
            split: None,
        };
        cx.walk_map(Mode::Root, map)?;
        Ok(true)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        if self.in_envelope {
            let mut cx = Cx {
                rec: self.root,
                split: None,
            };
            cx.walk_seq(Mode::Generic, seq)?;
        } else {
            let mut seq = seq;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_as_their_decimal_text() {
        let mut buf = [0u8; 20];
        let values = (0..=2000u64).chain([9_999, 10_000, 123_456_789, u64::MAX]);
        for v in values {
            assert_eq!(integer(&mut buf, v, false), v.to_string());
        }
        for v in [1u64, 9, 10, 999, 1000, 1 << 63] {
            assert_eq!(integer(&mut buf, v, true), format!("-{v}"));
        }
    }
}
