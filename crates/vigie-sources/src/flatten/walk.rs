//! The serde side of flattening: seeds and visitors that walk a JSON value
//! and hand its scalars to the [`Record`] being built, naming each by the
//! mode it was found in (see [`super::plan`]).

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use vigie_core::{Event, ValueKind};

use super::{plan, Mode, Plan, Record};
use crate::windows;

/// The records of an envelope or top-level array, and where they go.
pub(super) struct Split<'a> {
    pub(super) elem: &'a mut Record,
    pub(super) emit: &'a mut dyn FnMut(&mut Event),
    pub(super) emitted: u64,
    pub(super) skipped: u64,
    pub(super) top_array: bool,
}

pub(super) struct Cx<'a> {
    pub(super) rec: &'a mut Record,
    /// Present while reading a record's top level: envelopes may split it.
    pub(super) split: Option<Split<'a>>,
}

impl Cx<'_> {
    fn scalar<E: de::Error>(&mut self, mode: Mode, text: &str, kind: ValueKind) -> Result<(), E> {
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
                let index = rec.push(text, kind)?;
                match mode {
                    Mode::Top | Mode::Envelope if kind != ValueKind::Null => {
                        if let Some(slot) = rec.top_slot(index) {
                            rec.st.note(slot, index, text);
                        }
                    }
                    Mode::SysField if rec.path == "TimeCreated" => rec.st.note_system_time(text),
                    Mode::SysField if rec.path == "EventRecordID" => rec.st.note_record_id(text),
                    _ => {}
                }
                Ok(())
            }
        }
    }

    fn walk_map<'de, A: MapAccess<'de>>(&mut self, mode: Mode, mut map: A) -> Result<(), A::Error> {
        let base = self.rec.path.len();
        let time_attrs = mode == Mode::Attributes && self.rec.path == "TimeCreated";
        if mode == Mode::Data {
            self.rec.has_data_name = false;
            self.rec.saw_data_text = false;
        }
        let mut first = true;
        loop {
            self.rec.key.clear();
            if map.next_key_seed(KeySeed(&mut self.rec.key))?.is_none() {
                break;
            }
            let plan = plan(mode, &self.rec.key, first, self.split.is_some(), time_attrs);
            first = false;
            match plan {
                Plan::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
                Plan::Go(op, child) => {
                    self.rec.compose(op, base);
                    if child == Mode::System {
                        self.rec.st.windows = true;
                    }
                    map.next_value_seed(ValueSeed {
                        cx: &mut *self,
                        mode: child,
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
                Some(true) => {
                    windows::finish(&mut split.elem.ev, &split.elem.st);
                    (split.emit)(&mut split.elem.ev);
                    split.emitted += 1;
                }
                Some(false) => {
                    if !in_envelope {
                        split.skipped += 1;
                    }
                }
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

/// Appends a map key to a buffer.
struct KeySeed<'k>(&'k mut String);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }
}

/// Reads any value at the current path, in a mode.
pub(super) struct ValueSeed<'c, 'a> {
    pub(super) cx: &'c mut Cx<'a>,
    pub(super) mode: Mode,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        let text = if v { "true" } else { "false" };
        self.cx.scalar(self.mode, text, ValueKind::Bool)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        let mut buf = [0u8; 20];
        let text = integer(&mut buf, v.unsigned_abs(), v < 0);
        self.cx.scalar(self.mode, text, ValueKind::Num)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let mut buf = [0u8; 20];
        let text = integer(&mut buf, v, false);
        self.cx.scalar(self.mode, text, ValueKind::Num)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // Debug is the shortest text that reads back as the same float and
        // keeps a `.0` on whole numbers, like serde_json's own output.
        number(self.cx, self.mode, format_args!("{v:?}"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.cx.scalar(self.mode, v, ValueKind::Str)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.cx.scalar(self.mode, "", ValueKind::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.cx.walk_map(self.mode, map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.cx.walk_seq(self.mode, seq)
    }
}

/// Decimal text of an integer, without going through `fmt` (numbers are
/// on the hot path: every EventID, ProcessId, Level, Task...).
fn integer(buf: &mut [u8; 20], mut v: u64, negative: bool) -> &str {
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
    std::str::from_utf8(&buf[at..]).unwrap_or("0")
}

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
struct ElemSeed<'r> {
    elem: &'r mut Record,
    root: &'r mut Record,
    in_envelope: bool,
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
