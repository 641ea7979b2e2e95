//! JSON lines: one self-contained object per alert, for SIEMs and `jq`.
//!
//! The objects are built from borrowed structs with derived `Serialize`, not
//! from `serde_json::Map`, so that key order is the declaration order below
//! whatever serde_json features another crate in the build switches on.

use std::borrow::Borrow;
use std::io::{self, Write};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use vigie_core::{Alert, Level, RuleMeta};

use crate::timestamp_text;

#[derive(Serialize)]
struct Line<'a> {
    /// `null` when the record had no readable time.
    timestamp: Option<String>,
    level: Level,
    rule: Rule<'a>,
    host: &'a Option<String>,
    user: &'a Option<String>,
    channel: &'a Option<String>,
    event_id: &'a Option<String>,
    file: &'a str,
    record: u64,
    evidence: Evidence<'a>,
    event: &'a serde_json::value::RawValue,
}

#[derive(Serialize)]
struct Rule<'a> {
    id: &'a str,
    title: &'a str,
    level: Level,
    tags: &'a [String],
    attack: Vec<String>,
    description: &'a str,
    references: &'a [String],
    author: &'a str,
    origin: &'a str,
}

impl<'a> Rule<'a> {
    fn new(rule: &'a RuleMeta) -> Self {
        Rule {
            id: &rule.id,
            title: &rule.title,
            level: rule.level,
            tags: &rule.tags,
            attack: rule.attack_techniques(),
            description: &rule.description,
            references: &rule.references,
            author: &rule.author,
            origin: &rule.origin,
        }
    }
}

/// Evidence as a JSON object in first-seen field order; a field named more
/// than once (Windows `Data` items, arrays) becomes an array of its values,
/// as in the event itself, so no value is lost to a duplicate key.
struct Evidence<'a>(&'a [(String, String)]);

impl Serialize for Evidence<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Group by name keeping first-seen order. Evidence lists are short
        // (the fields a rule names), so a linear scan beats hashing.
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (name, value) in self.0 {
            match groups.iter_mut().find(|(n, _)| *n == name.as_str()) {
                Some((_, values)) => values.push(value),
                None => groups.push((name, vec![value])),
            }
        }
        let mut map = serializer.serialize_map(Some(groups.len()))?;
        for (name, values) in &groups {
            if let [one] = values.as_slice() {
                map.serialize_entry(name, one)?;
            } else {
                map.serialize_entry(name, &Many(values))?;
            }
        }
        map.end()
    }
}

struct Many<'a>(&'a [&'a str]);

impl Serialize for Many<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

/// Writes one JSON object per alert, each on its own `\n`-terminated line,
/// in the order given. serde_json escapes control characters inside strings,
/// so a value can never break a line.
pub fn write_jsonl<A: Borrow<Alert>>(
    alerts: impl IntoIterator<Item = A>,
    out: &mut dyn Write,
) -> io::Result<()> {
    // serde_json writes in small pieces; buffer so an unbuffered `out`
    // (a raw file or stdout) is not hit with a syscall per token.
    let mut out = io::BufWriter::new(out);
    for alert in alerts {
        let alert = alert.borrow();
        let ts = timestamp_text(alert.timestamp);
        let line = Line {
            timestamp: (!ts.is_empty()).then_some(ts),
            level: alert.rule.level,
            rule: Rule::new(&alert.rule),
            host: &alert.host,
            user: &alert.user,
            channel: &alert.channel,
            event_id: &alert.event_id,
            file: &alert.file,
            record: alert.record,
            evidence: Evidence(&alert.evidence),
            event: &alert.event,
        };
        serde_json::to_writer(&mut out, &line).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{alert, sample};
    use serde_json::{json, Value};

    fn write(alerts: &[Alert]) -> String {
        let mut buf = Vec::new();
        write_jsonl(alerts, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn lines_parse_back_with_every_field() {
        let mut untimed = alert("id2", "line1\nline2 \u{1b}[31m");
        untimed.timestamp = None;
        untimed.evidence = vec![
            ("Data".into(), "x".into()),
            ("Other".into(), "o".into()),
            ("Data".into(), "y".into()),
        ];
        let text = write(&[sample(), untimed]);
        assert!(text.ends_with('\n'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);

        let v: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["timestamp"], "2020-10-22T02:57:56.178000Z");
        assert_eq!(v["level"], "high");
        assert_eq!(v["rule"]["id"], "0b9e-1");
        assert_eq!(v["rule"]["title"], "Suspicious Whoami");
        assert_eq!(v["rule"]["level"], "high");
        assert_eq!(v["rule"]["tags"][1], "attack.t1033");
        assert_eq!(v["rule"]["attack"], json!(["T1033", "T1059.001"]));
        assert_eq!(v["rule"]["description"], "Detects whoami");
        assert_eq!(
            v["rule"]["references"],
            json!(["https://attack.mitre.org/techniques/T1033/"])
        );
        assert_eq!(v["rule"]["author"], "vigie");
        assert_eq!(v["rule"]["origin"], "builtin:test");
        assert_eq!(v["host"], "WS01");
        assert_eq!(v["user"], "CORP\\bob");
        assert_eq!(v["channel"], "Security");
        assert_eq!(v["event_id"], "4688");
        assert_eq!(v["file"], "Security.evtx");
        assert_eq!(v["record"], 42);
        assert_eq!(v["evidence"]["CommandLine"], "whoami /all");
        assert_eq!(v["event"]["EventID"], 4688);

        let v: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["timestamp"], Value::Null);
        assert_eq!(v["host"], Value::Null);
        assert_eq!(v["rule"]["title"], "line1\nline2 \u{1b}[31m");
        assert_eq!(v["evidence"], json!({"Data": ["x", "y"], "Other": "o"}));
    }

    #[test]
    fn key_order_is_fixed() {
        let text = write(&[sample()]);
        let keys = [
            "\"timestamp\"",
            "\"level\"",
            "\"rule\"",
            "\"host\"",
            "\"user\"",
            "\"channel\"",
            "\"event_id\"",
            "\"file\"",
            "\"record\"",
            "\"evidence\"",
            "\"event\"",
        ];
        let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        // Evidence keeps the detector's order, not alphabetical order.
        let mut a = alert("x", "X");
        a.evidence = vec![("Zeta".into(), "1".into()), ("Alpha".into(), "2".into())];
        assert!(write(&[a]).contains(r#""evidence":{"Zeta":"1","Alpha":"2"}"#));
    }

    #[test]
    fn jsonl_is_deterministic_and_empty_is_empty() {
        let alerts = vec![sample(), alert("b", "B")];
        assert_eq!(write(&alerts), write(&alerts));
        assert_eq!(write(&[]), "");
    }
}
