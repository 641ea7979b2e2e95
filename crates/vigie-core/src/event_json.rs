//! An event written as JSON text, straight from its fields.
//!
//! Alerts carry the whole event as JSON text, rendered once when the alert
//! is made. On alert-dense inputs this rendering used to cost as much as a
//! tenth of a hunt: serde_json escapes strings a byte at a time (events
//! hold multi-kilobyte values, PowerShell script blocks and payloads), every
//! number went through `serde_json::Number`, and grouping repeated names
//! hashed every key. This module writes the text itself, byte for byte as
//! serde_json would (the tests hold the serde_json rendering as an oracle):
//!
//! * strings are scanned eight bytes at a time and clean runs copied whole;
//! * plain integers, which serde_json prints unchanged, are copied as is;
//! * repeated names are found by a scan over the (few) distinct names.

use rustc_hash::FxHashMap;
use serde::de::value::{Error as ValueError, MapDeserializer};
use serde::de::Deserialize;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::event::{Event, ValueKind, ValueRef};

/// The event as JSON text: an object in the source's key order, a name
/// given several values (arrays, repeated Windows `Data` names) written
/// as an array at the place of its first value.
pub fn event_json_text(event: &Event) -> Box<RawValue> {
    match raw_value_without_parse(write_event_json(event)) {
        Some(raw) => raw,
        None => RawValue::from_string(write_event_json(event)).unwrap_or_else(|_| empty_object()),
    }
}

/// The JSON text of [`event_json_text`] as a `String`.
pub fn write_event_json(event: &Event) -> String {
    let groups = Groups::of(event);
    let mut out = String::with_capacity(text_capacity(event));
    out.push('{');
    let mut first_entry = true;
    for (index, (key, value)) in event.iter().enumerate() {
        if groups.later[index] {
            // Written with the first value of its name.
            continue;
        }
        if !first_entry {
            out.push(',');
        }
        first_entry = false;
        push_json_string(&mut out, key);
        out.push(':');
        match groups.next[index] {
            NONE => push_scalar(&mut out, value),
            _ => push_chain(&mut out, event, index, &groups.next),
        }
    }
    out.push('}');
    out
}

/// Room for the text when no value needs escaping: keys, values, quotes
/// and separators. Escapes are rare enough to leave to the `String`.
fn text_capacity(event: &Event) -> usize {
    let fields: usize = event
        .iter()
        .map(|(key, value)| key.len() + value.text.len() + 6)
        .sum();
    fields + 2
}

/// Writes the values of one name, first to last, as a JSON array.
fn push_chain(out: &mut String, event: &Event, first: usize, next: &[u32]) {
    out.push('[');
    let mut at = first;
    while let Some(value) = event.value_of(at) {
        if at != first {
            out.push(',');
        }
        push_scalar(out, value);
        at = next.get(at).map_or(usize::MAX, |&n| n as usize);
    }
    out.push(']');
}

/// Writes one value with its source type: numbers as numbers when they
/// read as JSON numbers, else as the text the log held.
fn push_scalar(out: &mut String, value: ValueRef<'_>) {
    match value.kind {
        ValueKind::Null => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.text == "true" {
            "true"
        } else {
            "false"
        }),
        ValueKind::Num => push_number(out, value.text),
        ValueKind::Str => push_json_string(out, value.text),
    }
}

/// Writes a number as serde_json writes `text.parse::<Number>()`, or the
/// text as a string when it is no JSON number (`0x10`).
fn push_number(out: &mut String, text: &str) {
    if is_plain_integer(text) {
        out.push_str(text);
        return;
    }
    // Decimals, exponents, `-0` and big integers: serde_json normalises
    // them (`1.50` is `1.5`, `-0` is `-0.0`); rare enough to ask it.
    let rendered = text
        .parse::<serde_json::Number>()
        .ok()
        .and_then(|number| serde_json::to_string(&number).ok());
    match rendered {
        Some(number) => out.push_str(&number),
        None => push_json_string(out, text),
    }
}

/// Whether serde_json would print `text` unchanged as an integer: an
/// optional `-`, then a lone `0` (not after `-`: `-0` reads as a float)
/// or up to 18 digits without a leading zero, which fit an `i64` and a
/// `u64` whatever they are.
fn is_plain_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text).as_bytes();
    match digits {
        [b'0'] => digits.len() == text.len(),
        [b'1'..=b'9', rest @ ..] => rest.len() < 18 && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// Writes `text` as a JSON string, escaped exactly as serde_json escapes:
/// `"` and `\`, the short forms `\b \f \n \r \t`, other bytes below 0x20
/// as `\u00xx`; everything else (DEL, all of non-ASCII) as it is.
fn push_json_string(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    let bytes = text.as_bytes();
    let mut clean_from = 0;
    while let Some(at) = next_to_escape(bytes, clean_from) {
        // Bytes to escape are ASCII, so `at` is a character boundary.
        out.push_str(&text[clean_from..at]);
        push_escape(out, bytes[at]);
        clean_from = at + 1;
    }
    out.push_str(&text[clean_from..]);
    out.push('"');
}

/// Word of eight copies of `byte`.
const fn splat(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

const HIGH_BITS: u64 = splat(0x80);

/// The high bit of the lowest byte of `word` below `bound` (`bound` at most
/// 0x80) is set, and no bit below it. Bytes above the lowest match may be
/// flagged wrongly (a borrow runs into them), which finding the first byte
/// to escape does not mind.
const fn bytes_below(word: u64, bound: u8) -> u64 {
    word.wrapping_sub(splat(bound)) & !word & HIGH_BITS
}

/// Like [`bytes_below`], for bytes equal to `byte`.
const fn bytes_equal(word: u64, byte: u8) -> u64 {
    bytes_below(word ^ splat(byte), 1)
}

/// The index, from `from` on, of the first byte JSON strings escape.
/// Eight bytes at a time: a word with no control byte, no `"` and no `\`
/// is skipped whole.
fn next_to_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let mut words = rest.chunks_exact(8);
    for (number, chunk) in words.by_ref().enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let flags = bytes_below(word, 0x20) | bytes_equal(word, b'"') | bytes_equal(word, b'\\');
        if flags != 0 {
            // Little-endian: the lowest flag is the first byte.
            return Some(from + number * 8 + (flags.trailing_zeros() / 8) as usize);
        }
    }
    let tail = words.remainder();
    let tail_start = bytes.len() - tail.len();
    tail.iter()
        .position(|&byte| needs_escape(byte))
        .map(|offset| tail_start + offset)
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

fn push_escape(out: &mut String, byte: u8) {
    let short = match byte {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        0x08 => "\\b",
        0x0c => "\\f",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
            return;
        }
    };
    out.push_str(short);
}

/// `text`, known to be one JSON value, as a `RawValue`, without the parse
/// that `RawValue::from_string` makes to validate it (that parse would
/// cost as much again as writing the text).
///
/// serde_json has no public constructor for that. `Box<RawValue>`
/// deserializes from a map whose one key is serde_json's private raw-value
/// token and whose value is the text, taking the `String` as it is (that
/// is how serde_json's own deserializer hands raw text over). serde's
/// in-memory map deserializer plays that part here: no parse, no copy.
/// This beats serializing a struct named after the token (how `RawValue`
/// serializes): that copies the text again, and a serde_json that stopped
/// honouring the token would quietly write a one-field object instead of
/// the event, where this fails (`None`) and the caller takes the
/// validating path. A unit test catches such a change.
fn raw_value_without_parse(text: String) -> Option<Box<RawValue>> {
    const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";
    let entry = std::iter::once((RAW_VALUE_TOKEN, text));
    let map = MapDeserializer::<_, ValueError>::new(entry);
    Box::<RawValue>::deserialize(map).ok()
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).expect("`{}` is a JSON object")
}

/// `value` rendered as JSON text (`{}` in the impossible case that it does
/// not serialize: every map key here is a string).
pub fn raw_json<T: Serialize + ?Sized>(value: &T) -> Box<RawValue> {
    match serde_json::value::to_raw_value(value) {
        Ok(raw) => raw,
        Err(_) => empty_object(),
    }
}

const NONE: u32 = u32::MAX;

/// Fields that share a name, linked in source order.
struct Groups {
    /// Per field, the index of the next field of the same name, or NONE.
    next: Vec<u32>,
    /// Per field, whether an earlier field has the same name.
    later: Vec<bool>,
}

/// Above this many fields, repeated names are found by hashing rather than
/// by comparing each name with the distinct names before it.
const SCAN_LIMIT: usize = 64;

impl Groups {
    fn of(event: &Event) -> Groups {
        let mut groups = Groups {
            next: vec![NONE; event.len()],
            later: vec![false; event.len()],
        };
        if event.len() <= SCAN_LIMIT {
            groups.link_by_scan(event);
        } else {
            groups.link_by_hash(event);
        }
        groups
    }

    /// Links field `index` after `previous`, the last field of its name.
    fn link(&mut self, previous: u32, index: usize) {
        self.next[previous as usize] = index as u32;
        self.later[index] = true;
    }

    /// Events are small (Windows events have a few dozen fields, mostly
    /// distinct): comparing a cheap fingerprint with those of the distinct
    /// names so far costs less than hashing every name.
    fn link_by_scan(&mut self, event: &Event) {
        // Per distinct name: fingerprint, first field, last field.
        let mut distinct: Vec<(u64, u32, u32)> = Vec::with_capacity(event.len());
        for (index, (key, _)) in event.iter().enumerate() {
            let print = fingerprint(key);
            let same = distinct.iter_mut().find(|(other, first, _)| {
                *other == print && event.key_at(*first as usize) == Some(key)
            });
            match same {
                Some((_, _, last)) => {
                    let previous = *last;
                    *last = index as u32;
                    self.link(previous, index);
                }
                None => distinct.push((print, index as u32, index as u32)),
            }
        }
    }

    fn link_by_hash(&mut self, event: &Event) {
        let mut last: FxHashMap<&str, u32> = FxHashMap::default();
        last.reserve(event.len());
        for (index, (key, _)) in event.iter().enumerate() {
            if let Some(previous) = last.insert(key, index as u32) {
                self.link(previous, index);
            }
        }
    }
}

/// Length and first, middle and last bytes of a name: equal for equal
/// names, and rarely for different ones, read in a few loads.
fn fingerprint(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let byte_at = |at: usize| bytes.get(at).map_or(0, |&b| u64::from(b));
    let len = bytes.len();
    (len as u64) | byte_at(0) << 32 | byte_at(len / 2) << 40 | byte_at(len.wrapping_sub(1)) << 48
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustc_hash::FxHashMap;
    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

    use super::{
        bytes_below, bytes_equal, fingerprint, is_plain_integer, needs_escape,
        raw_value_without_parse, write_event_json,
    };
    use crate::event::{Event, ValueKind, ValueRef};
    use crate::fields::FieldNames;
    use crate::test_rng::XorShift;

    /// The rendering this module replaced, through serde_json: the oracle
    /// the hand-written text must equal byte for byte.
    struct EventAsJson<'a>(&'a Event);

    impl Serialize for EventAsJson<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let event = self.0;
            let fields: Vec<(&str, ValueRef<'_>)> = event.iter().collect();
            let mut first_of: FxHashMap<&str, usize> = FxHashMap::default();
            for (index, (key, _)) in fields.iter().enumerate() {
                first_of.entry(key).or_insert(index);
            }
            let mut map = serializer.serialize_map(Some(first_of.len()))?;
            for (index, (key, value)) in fields.iter().enumerate() {
                if first_of[key] != index {
                    continue;
                }
                let values: Vec<ValueRef<'_>> = fields
                    .iter()
                    .filter(|(other, _)| other == key)
                    .map(|(_, v)| *v)
                    .collect();
                if values.len() == 1 {
                    map.serialize_entry(key, &Scalar(*value))?;
                } else {
                    map.serialize_entry(key, &Values(values))?;
                }
            }
            map.end()
        }
    }

    struct Values<'a>(Vec<ValueRef<'a>>);

    impl Serialize for Values<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut seq = serializer.serialize_seq(None)?;
            for value in &self.0 {
                seq.serialize_element(&Scalar(*value))?;
            }
            seq.end()
        }
    }

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

    fn oracle(event: &Event) -> String {
        serde_json::to_string(&EventAsJson(event)).unwrap()
    }

    fn event() -> Event {
        Event::new(Arc::new(FieldNames::new()))
    }

    /// Asserts the new text, as a string and as the alert's `RawValue`,
    /// equals serde_json's.
    fn assert_same_as_serde_json(event: &Event) {
        let expected = oracle(event);
        assert_eq!(write_event_json(event), expected);
        assert_eq!(event.to_json_text().get(), expected);
    }

    #[test]
    fn fields_in_source_order_repeated_names_as_arrays() {
        let mut ev = event();
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
        assert_same_as_serde_json(&ev);
        // The tree form is the same JSON.
        let tree: serde_json::Value = serde_json::from_str(text.get()).unwrap();
        assert_eq!(ev.to_json(), tree);
        ev.clear();
        assert_eq!(ev.to_json_text().get(), "{}");
        assert_same_as_serde_json(&ev);
    }

    #[test]
    fn every_kind_and_repeated_names_as_serde_json() {
        let mut ev = event();
        ev.push("Data", "first", ValueKind::Str);
        ev.push("EventID", "4688", ValueKind::Num);
        ev.push("Data", "12", ValueKind::Num);
        ev.push("flag", "true", ValueKind::Bool);
        ev.push("off", "false", ValueKind::Bool);
        ev.push("odd bool", "yes", ValueKind::Bool);
        ev.push("nothing", "", ValueKind::Null);
        ev.push("Data", "", ValueKind::Null);
        ev.push("Data", "true", ValueKind::Bool);
        ev.push("", "empty key", ValueKind::Str);
        ev.push("", "", ValueKind::Str);
        ev.push("k\"ey\\\n\u{1}é", "key escapes", ValueKind::Str);
        ev.push("flag", "again", ValueKind::Str);
        assert_same_as_serde_json(&ev);
    }

    #[test]
    fn names_alike_in_fingerprint_stay_apart() {
        assert_eq!(fingerprint("axcd"), fingerprint("aycd"));
        let mut ev = event();
        ev.push("axcd", "1", ValueKind::Num);
        ev.push("aycd", "2", ValueKind::Num);
        ev.push("axcd", "3", ValueKind::Num);
        ev.push("aycd", "4", ValueKind::Num);
        assert_eq!(write_event_json(&ev), r#"{"axcd":[1,3],"aycd":[2,4]}"#);
        assert_same_as_serde_json(&ev);
    }

    #[test]
    fn large_events_group_names_as_serde_json() {
        // Past the scan limit, names are grouped by hashing.
        let mut ev = event();
        for n in 0..300 {
            let key = format!("k{}", n % 97);
            ev.push(&key, &n.to_string(), ValueKind::Num);
        }
        assert_same_as_serde_json(&ev);
    }

    #[test]
    fn every_ascii_byte_escaped_as_serde_json() {
        for byte in 0u8..=0x7f {
            let mut ev = event();
            let alone = char::from(byte).to_string();
            ev.push(&alone, &alone, ValueKind::Str);
            let padded = format!("abc{alone}defghij{alone}{alone}klmnopq");
            ev.push("padded", &padded, ValueKind::Str);
            assert_same_as_serde_json(&ev);
        }
    }

    #[test]
    fn escapes_at_every_offset_as_serde_json() {
        let specials = [
            "\"", "\\", "\u{0}", "\u{1f}", "\n", "\u{7f}", "é", "中", "😀",
        ];
        for special in specials {
            for len in 0..40 {
                for at in 0..=len {
                    let mut value = "x".repeat(at);
                    value.push_str(special);
                    value.push_str(&"y".repeat(len - at));
                    let mut ev = event();
                    ev.push("v", &value, ValueKind::Str);
                    assert_same_as_serde_json(&ev);
                }
            }
        }
    }

    #[test]
    fn word_flags_mark_the_first_byte_to_escape() {
        // Every byte at every place among every other byte: the lowest flag
        // is the first byte to escape, whatever the borrows do above it.
        for byte in 0u8..=255 {
            for other in 0u8..=255 {
                for place in 0..8 {
                    let mut bytes = [other; 8];
                    bytes[place] = byte;
                    let word = u64::from_le_bytes(bytes);
                    let flags = bytes_below(word, 0x20)
                        | bytes_equal(word, b'"')
                        | bytes_equal(word, b'\\');
                    match bytes.iter().position(|&b| needs_escape(b)) {
                        Some(first) => assert_eq!((flags.trailing_zeros() / 8) as usize, first),
                        None => assert_eq!(flags, 0),
                    }
                }
            }
        }
    }

    #[test]
    fn two_escapes_at_every_pair_of_offsets_as_serde_json() {
        for len in 1..24 {
            for first in 0..len {
                for second in first..len {
                    let mut value = vec![b'x'; len];
                    value[first] = b'"';
                    value[second] = 0x01;
                    let value = String::from_utf8(value).unwrap();
                    let mut ev = event();
                    ev.push("v", &value, ValueKind::Str);
                    assert_same_as_serde_json(&ev);
                }
            }
        }
    }

    #[test]
    fn long_values_as_serde_json() {
        // Multi-kilobyte script blocks: clean runs with sparse escapes.
        let line = "$x = Get-Item \"C:\\Windows\\Temp\"\r\n\tWrite-Host 'héllo 😀'\u{7f}\u{1b}[0m ";
        let mut ev = event();
        ev.push("ScriptBlockText", &line.repeat(200), ValueKind::Str);
        ev.push("Payload", &"A".repeat(5000), ValueKind::Str);
        assert_same_as_serde_json(&ev);
    }

    const NUMBERS: &[&str] = &[
        "0",
        "-0",
        "00",
        "007",
        "-007",
        "1",
        "-1",
        "10",
        "1e5",
        "1E5",
        "1e-5",
        "-1e5",
        "1.0",
        "1.50",
        "-1.5",
        "0.0",
        "-0.0",
        ".5",
        "5.",
        "+1",
        "1_000",
        " 1",
        "1 ",
        "0x10",
        "-",
        "",
        "--1",
        "1-",
        "NaN",
        "inf",
        "123456789012345678",
        "-123456789012345678",
        "999999999999999999",
        "-999999999999999999",
        "1234567890123456789",
        "-1234567890123456789",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
        "1e400",
        "-1e400",
        "4294967296",
        "٣",
    ];

    #[test]
    fn numbers_of_every_shape_as_serde_json() {
        for text in NUMBERS {
            let mut ev = event();
            ev.push("n", text, ValueKind::Num);
            assert_same_as_serde_json(&ev);
        }
    }

    #[test]
    fn plain_integers_are_what_serde_json_prints_unchanged() {
        for text in NUMBERS {
            if is_plain_integer(text) {
                let number: serde_json::Number = text.parse().unwrap();
                assert_eq!(serde_json::to_string(&number).unwrap(), *text);
            }
        }
        for plain in ["0", "7", "-7", "123456789012345678", "-999999999999999999"] {
            assert!(is_plain_integer(plain), "{plain}");
        }
        for other in [
            "-0",
            "00",
            "007",
            "1e5",
            "1.0",
            "",
            "-",
            "1234567890123456789",
        ] {
            assert!(!is_plain_integer(other), "{other}");
        }
    }

    #[test]
    fn random_events_as_serde_json() {
        const PIECES: &[&str] = &[
            "a", "Z", "0", "9", " ", "-", ".", "e", "\"", "\\", "/", "\u{0}", "\u{8}", "\t", "\n",
            "\u{b}", "\u{c}", "\r", "\u{1f}", "\u{7f}", "\u{80}", "é", "中", "😀", "\u{2028}",
        ];
        const KEYS: &[&str] = &["Data", "data", "EventID", "k", "", "k\"\\\n", "Ünï"];
        const KINDS: [ValueKind; 4] = [
            ValueKind::Str,
            ValueKind::Num,
            ValueKind::Bool,
            ValueKind::Null,
        ];
        let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut ev = event();
        for _ in 0..3000 {
            ev.clear();
            for _ in 0..random.below(8) {
                let mut value = String::new();
                for _ in 0..random.below(48) {
                    value.push_str(PIECES[random.below(PIECES.len())]);
                }
                let key = KEYS[random.below(KEYS.len())];
                ev.push(key, &value, KINDS[random.below(KINDS.len())]);
            }
            assert_same_as_serde_json(&ev);
        }
    }

    #[test]
    fn raw_value_is_taken_without_a_parse() {
        // Fails if serde_json stops honouring its raw-value token in
        // deserialization: alerts would then take the validating path.
        let text = r#"{"a":[1,{"b":"c\"\\\n\u0001"},null],"é😀":-1.5e3,"t":true}"#;
        let raw = raw_value_without_parse(text.to_owned()).expect("serde_json took the text");
        assert_eq!(raw.get(), text);
        // And the alert's text serializes verbatim.
        assert_eq!(serde_json::to_string(&raw).unwrap(), text);
    }
}
