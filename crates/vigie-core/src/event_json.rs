//! An event written as a JSON object, straight from its fields.
//!
//! Alerts carry the whole event as JSON text, rendered once when the alert
//! is made: building a `serde_json::Value` first (a string and a map entry
//! allocated per field, the map hashing every key) cost more than the
//! detection itself on alert-dense inputs.

use rustc_hash::FxHashMap;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;

use crate::event::{Event, ValueKind, ValueRef};

/// Serializes an event as a JSON object in the source's key order. A name
/// given several values (arrays, repeated Windows `Data` names) becomes an
/// array at the place of its first value.
pub struct EventAsJson<'a>(pub &'a Event);

impl Serialize for EventAsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = self.0;
        let groups = Groups::of(event);
        let mut map = serializer.serialize_map(Some(groups.names))?;
        for (index, (key, value)) in event.iter().enumerate() {
            if groups.later[index] {
                // Written with the first value of its name.
                continue;
            }
            match groups.next[index] {
                NONE => map.serialize_entry(key, &Scalar(value))?,
                _ => map.serialize_entry(
                    key,
                    &Chain {
                        event,
                        first: index as u32,
                        next: &groups.next,
                    },
                )?,
            }
        }
        map.end()
    }
}

const NONE: u32 = u32::MAX;

/// Fields that share a name, linked in source order.
struct Groups {
    /// Per field, the index of the next field of the same name, or NONE.
    next: Vec<u32>,
    /// Per field, whether an earlier field has the same name.
    later: Vec<bool>,
    /// Distinct names.
    names: usize,
}

impl Groups {
    fn of(event: &Event) -> Groups {
        let mut next = vec![NONE; event.len()];
        let mut later = vec![false; event.len()];
        let mut last: FxHashMap<&str, u32> = FxHashMap::default();
        last.reserve(event.len());
        for (index, (key, _)) in event.iter().enumerate() {
            if let Some(previous) = last.insert(key, index as u32) {
                next[previous as usize] = index as u32;
                later[index] = true;
            }
        }
        Groups {
            next,
            later,
            names: last.len(),
        }
    }
}

/// The values of one name, first to last.
struct Chain<'a> {
    event: &'a Event,
    first: u32,
    next: &'a [u32],
}

impl Serialize for Chain<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut at = self.first;
        while let Some(value) = self.event.value_of(at as usize) {
            seq.serialize_element(&Scalar(value))?;
            at = self.next.get(at as usize).copied().unwrap_or(NONE);
        }
        seq.end()
    }
}

/// One value with its source type: numbers as numbers when they read as
/// JSON numbers, else as the text the log held.
struct Scalar<'a>(ValueRef<'a>);

impl Serialize for Scalar<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = &self.0;
        match value.kind {
            ValueKind::Null => serializer.serialize_unit(),
            ValueKind::Bool => serializer.serialize_bool(value.text == "true"),
            ValueKind::Num => match value.text.parse::<serde_json::Number>() {
                Ok(number) => number.serialize(serializer),
                Err(_) => serializer.serialize_str(value.text),
            },
            ValueKind::Str => serializer.serialize_str(value.text),
        }
    }
}

/// `value` rendered as JSON text (`{}` in the impossible case that it does
/// not serialize: every map key here is a string).
pub fn raw_json<T: Serialize + ?Sized>(value: &T) -> Box<RawValue> {
    match serde_json::value::to_raw_value(value) {
        Ok(raw) => raw,
        Err(_) => RawValue::from_string("{}".to_owned()).expect("`{}` is a JSON object"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::event::{Event, ValueKind};
    use crate::fields::FieldNames;

    #[test]
    fn fields_in_source_order_repeated_names_as_arrays() {
        let mut ev = Event::new(Arc::new(FieldNames::new()));
        ev.push("a", "1", ValueKind::Num);
        ev.push("b", "x\"\n\\", ValueKind::Str);
        ev.push("a", "2", ValueKind::Num);
        ev.push("c", "true", ValueKind::Bool);
        ev.push("d", "", ValueKind::Null);
        ev.push("e", "1.50", ValueKind::Num);
        ev.push("f", "0x10", ValueKind::Num);
        ev.push("a", "x", ValueKind::Str);
        ev.push("A", "case differs", ValueKind::Str);
        let text = ev.to_json_text();
        assert_eq!(
            text.get(),
            r#"{"a":[1,2,"x"],"b":"x\"\n\\","c":true,"d":null,"e":1.5,"f":"0x10","A":"case differs"}"#
        );
        // The tree form is the same JSON.
        let tree: serde_json::Value = serde_json::from_str(text.get()).unwrap();
        assert_eq!(ev.to_json(), tree);
        ev.clear();
        assert_eq!(ev.to_json_text().get(), "{}");
    }
}
