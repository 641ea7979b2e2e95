//! CSV with a header row.

mod common;

use common::read_bytes;
use vigie_core::{EventKind, ValueKind};
use vigie_sources::Format;

#[test]
fn rows_become_events_named_by_the_header() {
    let text = "\u{feff}TimeCreated,EventID,Channel,Hostname,CommandLine\r\n\
        2020-10-22 02:57:56.178,4688,Security,WS5,\"cmd /c \"\"echo, hi\"\"\"\r\n\
        2020-10-22T02:57:57Z,1,Microsoft-Windows-Sysmon/Operational,WS6,\"multi\r\nline\"\r\n";
    let got = read_bytes(text.as_bytes());
    assert_eq!(got.stats.format, Some(Format::Csv));
    assert!(got.diagnostics.is_empty(), "{:?}", got.diagnostics);
    assert_eq!(got.events.len(), 2);
    let first = &got.events[0];
    assert_eq!(first.record, 1);
    assert_eq!(first.get("CommandLine"), Some(r#"cmd /c "echo, hi""#));
    assert_eq!(first.fields[1].2, ValueKind::Str);
    assert_eq!(first.kind, EventKind::Windows);
    assert_eq!(first.computer.as_deref(), Some("WS5"));
    assert_eq!(
        first.timestamp,
        vigie_core::parse_timestamp("2020-10-22T02:57:56.178Z")
    );
    let second = &got.events[1];
    assert_eq!(second.record, 2, "numbered by data row, not by line");
    assert_eq!(second.get("CommandLine"), Some("multi\r\nline"));
}

#[test]
fn ragged_rows_are_reported_and_kept() {
    let text = "a;b;c\n1;2;3\n4;5\n6;7;8;9;10\n;;\n11;12;13";
    let got = read_bytes(text.as_bytes());
    assert_eq!(got.stats.format, Some(Format::Csv));
    assert_eq!(got.events.len(), 5);
    assert!(got.has_diagnostic(Some(2), "row has 2 field(s), the header has 3"));
    assert!(got.has_diagnostic(Some(3), "row has 5 field(s), the header has 3"));
    assert_eq!(got.warnings().len(), 2);
    assert_eq!(got.stats.errors, 0);
    let short = &got.events[1];
    assert_eq!(short.get("b"), Some("5"));
    assert_eq!(short.get("c"), None);
    let long = &got.events[2];
    assert_eq!(long.get("_extra1"), Some("9"));
    assert_eq!(long.get("_extra2"), Some("10"));
    assert_eq!(got.events[3].get("a"), Some(""));
    assert_eq!(got.events[4].record, 5);
    assert_eq!(got.events[4].kind, EventKind::Generic);
}

#[test]
fn many_rows_and_gzip() {
    let mut text = String::from("id\tname\ttime\n");
    for i in 1..=30_000 {
        text.push_str(&format!("{i}\tn{i}\t2021-01-01T00:00:{:02}Z\n", i % 60));
    }
    let got = read_bytes(text.as_bytes());
    assert_eq!(got.events.len(), 30_000);
    for (i, event) in got.events.iter().enumerate() {
        assert_eq!(event.record, i as u64 + 1);
        assert_eq!(event.get("id"), Some((i + 1).to_string().as_str()));
        assert!(event.timestamp.is_some());
    }
    let gz = read_bytes(&common::gzip(text.as_bytes()));
    assert_eq!(gz.events, got.events);
}

#[test]
fn unbalanced_quote_is_bounded() {
    let mut text = b"a,b\n1,2\n3,\"never closed\n".to_vec();
    text.extend(vec![b'x'; 3 << 20]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, &text).unwrap();
    let mut opts = common::options();
    opts.max_record_bytes = 1 << 20;
    let got = common::read_with(&path, &opts);
    assert_eq!(got.events.len(), 1);
    assert!(
        got.has_diagnostic(Some(2), "record limit"),
        "{:?}",
        got.diagnostics
    );
}

#[test]
fn panther_labels() {
    let Some(path) = common::sample("cloud/panther-analysis/m365_audit.labels.csv") else {
        return;
    };
    let got = common::read(&path);
    assert_eq!(got.stats.format, Some(Format::Csv));
    assert_eq!(got.events.len(), 19);
    assert!(got.events.iter().all(|e| e.get("rule_id").is_some()));
}
