//! Tests of the fast reader: what it reads and refuses, against
//! serde_json, over the corpora and mutated inputs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use vigie_core::test_rng::XorShift;
use vigie_core::{Event, FieldNames, ValueKind};

use super::*;
use crate::flatten::Flattener;

/// What the fast reader makes of a text, as a `serde_json::Value`;
/// `None` when it bails.
fn fast_value(text: &str) -> Option<Value> {
    fast_value_with(text, &mut Scratch::default())
}

/// The same with a scratch buffer left as earlier reads left it.
fn fast_value_with(text: &str, scratch: &mut Scratch) -> Option<Value> {
    let mut reader = FastReader::new(text, scratch);
    let value = Value::deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Some(value)
}

/// The fast reader either bails or reads exactly what serde_json reads.
fn agrees(text: &str) -> bool {
    match fast_value(text) {
        None => true,
        Some(fast) => serde_json::from_str::<Value>(text).ok() == Some(fast),
    }
}

#[test]
fn reads_what_serde_json_reads() {
    let texts = [
        r#"{"a":"x","b":[1,2,{"c":null}],"d":true,"e":false}"#,
        r#" { "path" : "C:\\Windows\\System32\\cmd.exe" , "m":"a\r\n\tb" } "#,
        r#"{"u":"\u00e9\u4e2d\ud83d\ude00\u0000","q":"\"\/\b\f"}"#,
        r#"{"n":[0,7,18446744073709551615,18446744073709551616,-0,-12,1.5,-2.5e-3,1E300,0.1]}"#,
        r#"[{"a":1},{"b":2},3,"x",[]]"#,
        r#"{"":"","k":{}}"#,
        "\"caf\u{e9} \u{1F600}\"",
    ];
    for text in texts {
        let fast = fast_value(text);
        assert!(fast.is_some(), "fast reader bailed on {text}");
        assert_eq!(fast, serde_json::from_str::<Value>(text).ok(), "{text}");
    }
}

/// `borrow` (the escape-free strings' slicing) is `str::get` with a
/// range: same slice or None for every pair of positions of a text
/// with one-, two-, three- and four-byte chars, out of range included.
#[test]
fn borrow_slices_as_get() {
    let text = "a\"é中😀x\\y";
    for start in 0..=text.len() + 1 {
        for end in 0..=text.len() + 1 {
            assert_eq!(
                borrow(text, start, end),
                text.get(start..end),
                "{start}..{end}"
            );
        }
    }
    // Every string of a record with non-ASCII text next to its quotes
    // is read, borrowed, as serde_json reads it.
    assert!(agrees(r#"{"é":"中","k":"😀x","a":["é","","\u00e9"]}"#));
}

#[test]
fn bails_on_what_serde_json_rejects() {
    let bad = [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{,}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{1:2}",
        "[01]",
        "[1.]",
        "[.5]",
        "[-]",
        "[1e]",
        "[+1]",
        "[1-2]",
        "tru",
        "nul",
        "truex",
        "\"a\u{1}b\"",
        "\"a\tb\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"abc",
        "\"abc\\",
        "{} {}",
        "[1] x",
        "NaN",
        "[Infinity]",
        "{'a':1}",
        "[1E400]",
    ];
    for text in bad {
        assert!(serde_json::from_str::<Value>(text).is_err(), "{text:?}");
        assert_eq!(fast_value(text), None, "fast reader accepted {text:?}");
    }
    // Deeper than the fast reader goes: serde_json's to read.
    let deep = "[".repeat(120) + &"]".repeat(120);
    assert_eq!(fast_value(&deep), None);
    assert!(serde_json::from_str::<Value>(&deep).is_ok());
}

/// Strings with escapes in every arrangement the unescaping loop
/// distinguishes (escapes first, last, back to back, next to `\u`
/// escapes and non-ASCII text, runs across word boundaries and longer
/// than the scratch buffer so far), read one after another with one
/// scratch buffer, as records are.
#[test]
fn escaped_strings_read_as_with_serde_json() {
    let pieces = [
        r"\n",
        r"\r\n",
        r"\t\t",
        r"\\",
        r#"\""#,
        r"\/",
        r"\b\f",
        r"\u0041",
        r"\u00e9",
        r"\u4e2d",
        r"\ud83d\ude00",
        r"\u0000",
        "a",
        "abcdefg",
        "abcdefghijklmnop",
        "é",
        "中文",
        "😀",
        " ",
        "C:",
        "Windows",
    ];
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let mut scratch = Scratch::default();
    for round in 0..3000 {
        let mut body = String::new();
        // Mostly short strings, now and then one longer than anything
        // before, so the buffer grows from a stale length.
        let count = if round % 97 == 0 { 400 } else { rng.below(12) };
        for _ in 0..count {
            body.push_str(pieces[rng.below(pieces.len())]);
        }
        let text = format!("[\"{body}\",\"{body}x\",\"\\\\{body}\"]");
        let want = serde_json::from_str::<Value>(&text).ok();
        assert!(want.is_some(), "{text}");
        assert_eq!(fast_value_with(&text, &mut scratch), want, "{text}");
        // Cut short anywhere: both reject (a backslash may be last).
        let cut = rng.below(text.len());
        if let Some(prefix) = text.get(..cut) {
            assert_eq!(fast_value_with(prefix, &mut scratch), None, "{prefix}");
        }
    }
    for text in [
        r#""\\""#,
        r#""\n\r\t\"\\\/\b\f""#,
        r#""\u00e9\n""#,
        r#""\n\ud83d\ude00\n""#,
    ] {
        assert_eq!(
            fast_value_with(text, &mut scratch),
            serde_json::from_str::<Value>(text).ok(),
            "{text}"
        );
    }
    for text in [
        r#""\"#,
        r#""a\"#,
        r#""\n\"#,
        r#""\n\u"#,
        r#""\ud83d\n""#,
        r#""\n\x""#,
    ] {
        assert_eq!(fast_value_with(text, &mut scratch), None, "{text}");
    }
}

/// Escapes of every kind at every offset around the 32-byte windows
/// of the unescaping (in runs, across a window's end, and as the
/// string's last bytes), in strings long enough to be read window by
/// window, with text after them: read as serde_json reads them.
#[test]
fn escapes_at_every_window_offset_read_as_with_serde_json() {
    let mut scratch = Scratch::default();
    let escapes = [
        r"\n",
        r"\\",
        r#"\""#,
        r"\/",
        r"\u00e9",
        r"\ud83d\ude00",
        r"\r\n\t",
        r"\\\\",
    ];
    for escape in escapes {
        for before in 0..80 {
            for after in [0, 1, 31, 32, 33, 90] {
                let body = format!(r"\\{}{escape}{}", "a".repeat(before), "b".repeat(after));
                let text = format!("[\"{body}\",\"{}\"]", "c".repeat(70));
                let want = serde_json::from_str::<Value>(&text).ok();
                assert!(want.is_some(), "{text}");
                assert_eq!(fast_value_with(&text, &mut scratch), want, "{text}");
                // A bad escape or a raw control character there is refused.
                for bad in [r"\x", "\u{1}", r"\u12z"] {
                    let body = format!(r"\\{}{bad}{}", "a".repeat(before), "b".repeat(after));
                    let text = format!("[\"{body}\",\"{}\"]", "c".repeat(70));
                    assert_eq!(fast_value_with(&text, &mut scratch), None, "{text:?}");
                }
            }
        }
    }
}

/// Every byte below 0x80 and a few longer chars, at every offset in
/// two blocks and after an escape or not: the block-at-a-time scan
/// stops exactly where serde_json does.
#[test]
fn every_byte_is_scanned_as_serde_json_does() {
    let mut scratch = Scratch::default();
    let chars = (0u8..0x80)
        .map(char::from)
        .chain(['é', '\u{7ff}', '\u{800}', '中', '\u{ffff}', '😀']);
    for c in chars {
        for before in 0..2 * BLOCK + 1 {
            for prefix in ["", r"\n", r"\\x"] {
                let after = "b".repeat(BLOCK + 1);
                let text = format!("\"{prefix}{}{c}{after}\"", "a".repeat(before));
                let want = serde_json::from_str::<Value>(&text).ok();
                let got = fast_value_with(&text, &mut scratch);
                if c == '\\' || c == '"' || c < ' ' {
                    // Not a string char: both reject, or (backslash
                    // then `b`) both read the escape.
                    assert!(got.is_none() || got == want, "{text:?}");
                } else {
                    assert!(got.is_some(), "fast reader bailed on {text:?}");
                    assert_eq!(got, want, "{text:?}");
                }
            }
        }
    }
}

/// Strings longer than the room made ahead of them grow it as they
/// are read (in a run of escapes, in a block, at the end of the
/// text), and a short escaped string early in a long document makes
/// room for up to [`ROOM_AHEAD`] bytes, not for the whole document.
#[test]
fn long_strings_grow_their_room_and_short_ones_stay_small() {
    let first_escape_far = format!("{}\\n", "z".repeat(ROOM_AHEAD + 5));
    for piece in [
        r"ab\n",
        r"\r\n\t",
        "abcdefghijklmnopqrstuvwxyz0123456789\\\\",
        &first_escape_far,
    ] {
        for tail in ["", "x", "0123456789abcdef0123"] {
            let body = piece.repeat(3 * ROOM_AHEAD / piece.len());
            let text = format!("[\"{body}{tail}\"]");
            let mut scratch = Scratch::default();
            let got = fast_value_with(&text, &mut scratch);
            assert!(got.is_some(), "bailed on a {} byte string", body.len());
            assert_eq!(got, serde_json::from_str::<Value>(&text).ok());
        }
    }
    let long = "y".repeat(8 * ROOM_AHEAD);
    let text = format!("[\"a\\nb\", \"{long}\"]");
    let mut scratch = Scratch::default();
    assert_eq!(
        fast_value_with(&text, &mut scratch),
        serde_json::from_str::<Value>(&text).ok()
    );
    assert!(
        scratch.bytes.len() <= 2 * ROOM_AHEAD,
        "{}",
        scratch.bytes.len()
    );
}

/// The SIMD block scan and the word scan (the other targets') find
/// the first quote, backslash or control byte of every block as a
/// byte-by-byte search does: each byte value at each position among
/// plain bytes, then random blocks dense in special bytes.
#[test]
fn block_scans_find_the_first_special_byte() {
    let naive = |block: &[u8; BLOCK]| {
        block
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(BLOCK)
    };
    let check = |block: &[u8; BLOCK]| {
        assert_eq!(first_special(block), naive(block), "{block:?}");
        assert_eq!(first_special_in_words(block), naive(block), "{block:?}");
    };
    for plain in [b'a', 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff] {
        for at in 0..BLOCK {
            for b in 0..=255u8 {
                let mut block = [plain; BLOCK];
                block[at] = b;
                check(&block);
            }
        }
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let bytes = [
        b'"',
        b'\\',
        0x00,
        0x1f,
        0x20,
        0x21,
        0x22 ^ 0x80,
        b'a',
        0xdc,
        0xff,
    ];
    for _ in 0..20_000 {
        let block: [u8; BLOCK] = std::array::from_fn(|_| bytes[rng.below(bytes.len())]);
        check(&block);
    }
}

/// Byte-level damage an exporter or an attacker could do to a record.
fn mutate(text: &str, rng: &mut XorShift) -> Vec<u8> {
    const PIECES: [&[u8]; 16] = [
        b"\"", b"\\", b"{", b"}", b"[", b"]", b",", b":", b"0", b"-", b"e", b".", b"\\u",
        b"\\ud83d", b"\x01", b" ",
    ];
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if at < bytes.len() => {
                bytes.remove(at);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                bytes.splice(at..at, piece.iter().copied());
            }
            2 => bytes.truncate(at),
            _ if at < bytes.len() => {
                let piece = PIECES[rng.below(PIECES.len())];
                bytes[at] = piece[0];
            }
            _ => {}
        }
    }
    bytes
}

type Flat = Vec<Vec<(String, String, ValueKind)>>;

fn collect(events: &mut Flat) -> impl FnMut(&mut Event) + '_ {
    |ev: &mut Event| {
        events.push(
            ev.iter()
                .map(|(k, v)| (k.to_owned(), v.text.to_owned(), v.kind))
                .collect(),
        )
    }
}

/// Records the fast reader's own root walk must take whole (no decline
/// to serde_json), giving serde_json's events and skipped counts:
/// compact and spaced members, escaped keys and values (the key's
/// scratch then reused by the value), scalars of every kind, nested
/// members, envelopes and top-level arrays with objects and other
/// elements, a Windows `Event` root, empty objects and arrays.
#[test]
fn flat_records_are_read_by_the_root_walk_as_serde_json_reads_them() {
    let records = [
        r#"{"EventID":4663,"Channel":"Security","Image":"C:\\Windows\\cmd.exe"}"#,
        r#" { "a" : "x" , "b":1 ,"c" :true,"d":null, "e":-2.5e3 } "#,
        r#"{"k\u00e9y":"v\r\n\tw","pl\"ain":"\"q\"","z":"\\"}"#,
        r#"{"Message":"An attempt\r\n\tSubject:\t\tS-1-5","n":{"x":[1,"two",{"y":null}]}}"#,
        r#"{"value":[{"id":"1"},{"id":"2"}],"odata":"x"}"#,
        r#"{"Records":[{"a":1},2,"three"],"b":"c"}"#,
        r##"{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Data":[{"@Name":"Image","#text":"C:\\x.exe"}]}}}"##,
        r#"{"x":"Event","Event":"not first"}"#,
        r#"{}"#,
        r#"{"":""}"#,
        r#"{"big":18446744073709551615,"neg":-9223372036854775808,"f":0.1}"#,
        r#"[{"a":1},{"b":"two","c":{"d":[true]}}, 3 ,["x"],{}]"#,
        r#"{"records":[],"value":[ {"e":"\t"} ,[1,{"f":2}],null]}"#,
        r#"[]"#,
        r#"{"value":{"not":"an array"},"records":"neither"}"#,
    ];
    let names = Arc::new(FieldNames::new());
    let mut fast = Flattener::new(&names, 1 << 20);
    let mut serde = Flattener::new(&names, 1 << 20);
    for text in records {
        let mut events = Vec::new();
        let mut skipped = None;
        let read = fast.fast_values(text, false, &mut collect(&mut events), &mut |o| {
            skipped = Some(o.skipped)
        });
        assert_eq!(read, Ok(()), "declined: {text}");
        let (want, want_skipped) = with_serde(&mut serde, text.as_bytes());
        assert_eq!(events, want, "{text}");
        assert_eq!(skipped, want_skipped.ok(), "{text}");
    }
}

/// Events and outcome of `parse_record` (fast reader, serde_json on bail).
fn with_fast(fl: &mut Flattener, bytes: &[u8]) -> (Flat, Result<u64, String>) {
    let mut events = Vec::new();
    let result = fl.parse_record(bytes, &mut collect(&mut events));
    (events, result.map(|o| o.skipped).map_err(|e| e.to_string()))
}

/// The same with serde_json alone, as before the fast reader existed.
fn with_serde(fl: &mut Flattener, bytes: &[u8]) -> (Flat, Result<u64, String>) {
    with_deserializer(fl, serde_json::Deserializer::from_slice(bytes))
}

/// The same through serde_json's reader over `io::Read`, which lends
/// no string: every key reaches the walker unborrowed (`visit_str`).
fn with_serde_unborrowed(fl: &mut Flattener, bytes: &[u8]) -> (Flat, Result<u64, String>) {
    with_deserializer(fl, serde_json::Deserializer::from_reader(bytes))
}

/// Events and outcome of one record read by `de`.
fn with_deserializer<'de, R: serde_json::de::Read<'de>>(
    fl: &mut Flattener,
    mut de: serde_json::Deserializer<R>,
) -> (Flat, Result<u64, String>) {
    let mut events = Vec::new();
    let mut emit = collect(&mut events);
    let result = fl.parse(&mut de, &mut emit).and_then(|outcome| {
        de.end()?;
        if outcome.root_pending {
            fl.emit_root(&mut emit);
        }
        Ok(outcome.skipped)
    });
    drop(emit);
    (events, result.map_err(|e| e.to_string()))
}

/// Keys with escapes (read into the key buffer) and without (borrowed
/// from the input) at every level the walker names differently: record
/// members, nested objects, an empty parent, arrays of objects,
/// envelopes (an escaped envelope name included) and Windows shapes.
/// The fast reader, serde_json over a slice (borrowed keys) and over a
/// reader (no key borrowed) all give the same events.
#[test]
fn escaped_and_plain_keys_flatten_alike() {
    let texts = [
        r#"{"a\u0062c":1,"plain":{"x\u0079z":{"deep":"v","d\u0065ep2":[1,2]},"k":"v"},"arr":[{"e\u0073c":1,"p":2},{"p":3}],"":{"e\u0073":"x","p":"y"}}"#,
        r#"{"r\u0065cords":[{"k\u0065y":"v","n":{"a\u0062":1}},{"key":"w","n":{"ab":2}}]}"#,
        r#"{"id":"x","value":[{"k\u0065y":"v"},{"key":"w"},3],"n\u0065xt":"y"}"#,
        r#"[{"\u0061":{"\u0062":[{"\u0063":null}]}},{"a":{"b":[{"c":true}]}}]"#,
        r##"{"Ev\u0065nt":{"System":{"Provider_attributes":{"Name":"x"},"Event\u0049D":4624,"TimeCreated_attributes":{"SystemTime":"2020-01-01T00:00:00Z"}},"EventData":{"Data":[{"#attributes":{"Name":"S\u0075bject"},"#text":"v"},{"#attributes":{"N\u0061me":"Other"},"#text":"w"},{"#attributes":{"Name":"Empty"}}]}}}"##,
        r##"{"Event":{"System":{"Provider_attributes":{"Name":"x"},"EventID":4624},"EventData":{"Data":[{"#attributes":{"Name":"Subject"},"#text":"v"}]}}}"##,
    ];
    let names = Arc::new(FieldNames::new());
    let mut fast = Flattener::new(&names, 1 << 24);
    let mut serde = Flattener::new(&names, 1 << 24);
    for text in texts {
        let want = with_serde(&mut serde, text.as_bytes());
        assert!(want.1.is_ok(), "{text}: {:?}", want.1);
        assert_eq!(with_fast(&mut fast, text.as_bytes()), want, "{text}");
        assert_eq!(
            with_serde_unborrowed(&mut serde, text.as_bytes()),
            want,
            "{text}"
        );
    }
    // What the first one flattens to, spelled out.
    let (events, _) = with_fast(&mut fast, texts[0].as_bytes());
    let keys: Vec<&str> = events[0].iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "abc",
            "plain.xyz.deep",
            "plain.xyz.deep2",
            "plain.xyz.deep2",
            "plain.k",
            "arr.esc",
            "arr.p",
            "arr.p",
            "es",
            "p"
        ]
    );
    // The escaped envelope name splits the record as the plain one.
    let (events, _) = with_fast(&mut fast, texts[1].as_bytes());
    assert_eq!(events.len(), 2);
    assert_eq!(events[0][1].0, "n.ab");
}

/// Every record of the corpora reads the same whether keys are lent
/// by the input or copied (serde_json over a slice or over a reader).
#[test]
fn corpora_flatten_alike_with_unborrowed_keys() {
    let names = Arc::new(FieldNames::new());
    let mut fl = Flattener::new(&names, 1 << 24);
    let mut records = 0;
    for file in corpus_files() {
        let Ok(data) = std::fs::read(&file) else {
            continue;
        };
        for line in data
            .split(|&b| b == b'\n')
            .filter(|l| l.first() == Some(&b'{'))
        {
            let want = with_serde(&mut fl, line);
            if want.1.is_err() {
                continue;
            }
            records += 1;
            assert_eq!(
                with_serde_unborrowed(&mut fl, line),
                want,
                "{}",
                file.display()
            );
        }
    }
    eprintln!("{records} records compared");
}

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let mut files = Vec::new();
    let mut dirs = vec![root.join("jsonl"), root.join("cloud")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "json" || e == "jsonl" || e == "ndjson")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A document's values read by serde_json one after another, as
/// `read_document` does without the fast reader: the events, each
/// value's skipped count, and whether the document ended cleanly.
fn document_with_serde(fl: &mut Flattener, text: &str) -> (Flat, Vec<u64>, bool) {
    let (mut events, mut skipped) = (Vec::new(), Vec::new());
    let mut emit = collect(&mut events);
    let mut de = serde_json::Deserializer::from_str(text);
    let clean = loop {
        match fl.parse(&mut de, &mut emit) {
            Ok(outcome) => {
                if outcome.root_pending {
                    fl.emit_root(&mut emit);
                }
                skipped.push(outcome.skipped);
            }
            Err(_) => break false,
        }
        if de.end().is_ok() {
            break true;
        }
    };
    drop(emit);
    (events, skipped, clean)
}

/// `parse_document` either reads a document exactly as serde_json does,
/// or declines it having emitted a prefix of serde_json's events (which
/// `read_document` then skips when serde_json reads it again).
/// True when the fast reader read it.
fn document_agrees(fast: &mut Flattener, serde: &mut Flattener, text: &str) -> bool {
    let (want, want_skipped, clean) = document_with_serde(serde, text);
    let mut events = Vec::new();
    let got = fast.parse_document(text, &mut collect(&mut events));
    match got {
        Ok(outcomes) => {
            assert!(
                clean,
                "fast reader accepted a document serde_json rejects: {text}"
            );
            assert_eq!(events, want, "{text}");
            let skipped: Vec<u64> = outcomes.iter().map(|o| o.skipped).collect();
            assert_eq!(skipped, want_skipped, "{text}");
            true
        }
        Err(emitted) => {
            assert_eq!(events.len() as u64, emitted, "{text}");
            assert_eq!(events[..], want[..events.len()], "{text}");
            false
        }
    }
}

#[test]
fn documents_read_as_with_serde_json() {
    let names = Arc::new(FieldNames::new());
    let mut fast = Flattener::new(&names, 1 << 24);
    let mut serde = Flattener::new(&names, 1 << 24);
    let texts = [
        r#"{"records":[{"a":1},{"b":"x"}]}"#,
        r#"{"value":[{"a":1},2,{"b":"\u00e9"}]}"#,
        "{\n  \"a\": 1\n}\n{\n  \"b\": [1,2]\n}\n",
        r#"[{"a":1},{"b":2}] [{"c":3}]"#,
        r#"{"a":1} {"b":2} x"#,
        r#"{"a":1} {"b":"\ud800"}"#,
        r#"{"a":1} {"b":1.5e3}"#,
        "",
        "  ",
    ];
    let accepted: Vec<bool> = texts
        .iter()
        .map(|text| document_agrees(&mut fast, &mut serde, text))
        .collect();
    // Envelopes, arrays and concatenated values are the fast reader's.
    assert_eq!(accepted[..4], [true; 4]);
    let files = corpus_files();
    if files.is_empty() {
        eprintln!("skipping the corpus part: ../shared/data/jsonl and cloud not found");
        return;
    }
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let (mut documents, mut fast_read) = (0, 0);
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        documents += 1;
        fast_read += usize::from(document_agrees(&mut fast, &mut serde, &text));
        if text.len() > 1 << 20 {
            continue;
        }
        for _ in 0..4 {
            let damaged = mutate(&text, &mut rng);
            if let Ok(damaged) = std::str::from_utf8(&damaged) {
                document_agrees(&mut fast, &mut serde, damaged);
            }
        }
    }
    assert!(documents > 10, "only {documents} documents read");
    assert!(
        fast_read * 10 > documents * 9,
        "fast reader read {fast_read} of {documents}"
    );
}

/// Every record of the shared corpora, and damaged copies of a sample
/// of them: the flattener with the fast reader gives the same events
/// and the same errors as with serde_json alone, and the fast reader
/// never accepts a text serde_json rejects.
#[test]
fn corpora_flatten_as_with_serde_json() {
    let files = corpus_files();
    if files.is_empty() {
        eprintln!("skipping: ../shared/data/jsonl and cloud not found");
        return;
    }
    let names = Arc::new(FieldNames::new());
    let mut fast = Flattener::new(&names, 1 << 24);
    let mut serde = Flattener::new(&names, 1 << 24);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut records, mut mutants) = (0, 0);
    for file in &files {
        let Ok(data) = std::fs::read(file) else {
            continue;
        };
        // JSON-lines files record by record; documents whole.
        let lines: Vec<&[u8]> =
            if data.iter().filter(|&&b| b == b'\n').count() > 1 && data.first() == Some(&b'{') {
                data.split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .collect()
            } else {
                vec![data.as_slice()]
            };
        for line in lines {
            records += 1;
            let want = with_serde(&mut serde, line);
            assert_eq!(with_fast(&mut fast, line), want, "{}", file.display());
            if records % 7 != 0 {
                continue;
            }
            let Ok(text) = std::str::from_utf8(line) else {
                continue;
            };
            for _ in 0..12 {
                let damaged = mutate(text, &mut rng);
                mutants += 1;
                let want = with_serde(&mut serde, &damaged);
                assert_eq!(
                    with_fast(&mut fast, &damaged),
                    want,
                    "{}: {}",
                    file.display(),
                    String::from_utf8_lossy(&damaged)
                );
                if let Ok(damaged) = std::str::from_utf8(&damaged) {
                    assert!(agrees(damaged), "{damaged}");
                }
            }
        }
    }
    assert!(records > 1000, "only {records} records read");
    eprintln!("{records} records and {mutants} damaged copies compared");
}
