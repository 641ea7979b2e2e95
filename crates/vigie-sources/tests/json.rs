//! JSON lines and JSON documents: real OTRF and cloud samples, envelopes,
//! and every way a line can be bad.

mod common;

use common::{options, read, read_bytes, read_stream, read_with, sample};
use vigie_core::{EventKind, ValueKind};
use vigie_sources::Format;

const OTRF: &str =
    "jsonl/otrf-windows/execution/host/psh_powershell_httplistener_2020-11-0204130683.json";

#[test]
fn otrf_flat_windows_lines() {
    let Some(path) = sample(OTRF) else { return };
    let text = std::fs::read_to_string(&path).unwrap();
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let got = read(&path);
    assert_eq!(got.stats.format, Some(Format::JsonLines));
    assert!(got.diagnostics.is_empty(), "{:?}", got.diagnostics);
    assert_eq!(got.events.len(), lines);
    assert_eq!(got.stats.events, lines as u64);
    // Numbered by line, every line once.
    let records: Vec<u64> = got.events.iter().map(|e| e.record).collect();
    assert_eq!(records, (1..=lines as u64).collect::<Vec<_>>());
    for event in &got.events {
        assert_eq!(event.kind, EventKind::Windows, "{event:?}");
        assert!(event.timestamp.is_some());
        // Computer and Provider_Name resolve through the flat names.
        assert_eq!(event.computer.as_deref(), event.get("Hostname"));
        assert!(event.computer.is_some());
        assert_eq!(event.provider.as_deref(), event.get("SourceName"));
    }
    let first = &got.events[0];
    assert_eq!(first.get("EventID"), Some("1102"));
    assert_eq!(first.get("Channel"), Some("Security"));
    assert_eq!(
        first.timestamp,
        vigie_core::parse_timestamp("2020-11-02T04:12:58.211Z")
    );
    assert_eq!(got.bytes, text.len() as u64);
}

#[test]
fn otrf_all_files_read_cleanly() {
    let Some(dir) = common::shared_data() else {
        return;
    };
    let (inputs, diagnostics) = vigie_sources::discover(&[dir.join("jsonl/otrf-windows")]);
    assert!(diagnostics.is_empty());
    let mut events = 0;
    for input in inputs
        .iter()
        .filter(|i| i.path.extension().is_some_and(|e| e == "json"))
    {
        let got = read(&input.path);
        assert!(
            got.diagnostics.is_empty(),
            "{}: {:?}",
            input.display,
            got.diagnostics
        );
        assert!(got.events.iter().all(|e| e.kind == EventKind::Windows));
        assert!(got
            .events
            .iter()
            .all(|e| e.computer.is_some() && e.timestamp.is_some()));
        events += got.events.len();
    }
    // The README's count.
    assert_eq!(events, 11_354);
}

#[test]
fn cloud_samples() {
    let Some(path) = sample("cloud/elastic-integrations/entra_signinlogs_diagnostic.jsonl") else {
        return;
    };
    let got = read(&path);
    assert_eq!(got.events.len(), 5);
    let first = &got.events[0];
    assert_eq!(first.kind, EventKind::Generic);
    assert_eq!(first.get("category"), Some("SignInLogs"));
    assert_eq!(first.get("properties.appDisplayName"), Some("Office 365"));
    assert_eq!(
        first.get("properties.deviceDetail.browser"),
        Some("Chrome 77.0.3865")
    );
    assert!(first.timestamp.is_some(), "from `time`");
    let duration = first.fields.iter().find(|f| f.0 == "durationMs").unwrap();
    assert_eq!((duration.1.as_str(), duration.2), ("0", ValueKind::Num));

    // UAL: arrays of objects flatten under one prefix; CreationTime without
    // a zone is read as UTC.
    let Some(path) = sample("cloud/panther-analysis/m365_audit.jsonl") else {
        return;
    };
    let got = read(&path);
    // Panther's test fixtures reuse record ids (same Id, time and
    // Operation): the cloud reader keeps the first of each.
    assert_eq!(got.events.len() as u64 + got.stats.duplicates, 19);
    let first = &got.events[0];
    assert_eq!(first.all("Actor.Type"), ["0", "5"]);
    assert_eq!(
        first.all("ExtendedProperties.Name")[0],
        "ResultStatusDetail"
    );
    assert_eq!(
        first.timestamp,
        vigie_core::parse_timestamp("2022-12-12T15:57:57Z")
    );

    // A one-line file is a document; Sentinel's SecurityEvent rows are
    // Windows events timed by TimeGenerated.
    let Some(path) = sample("cloud/otrf-goldensaml/OfficeActivityEvents.json") else {
        return;
    };
    let got = read(&path);
    assert_eq!(got.stats.format, Some(Format::JsonDocument));
    assert_eq!(got.events.len(), 1);
    assert_eq!(got.events[0].record, 1);
    let Some(path) = sample("cloud/otrf-goldensaml/WindowsEvents.json") else {
        return;
    };
    let got = read(&path);
    assert_eq!(got.events.len(), 38);
    assert!(got.events.iter().all(|e| e.timestamp.is_some()));
    for event in &got.events {
        let windows = event.get("Channel").or(event.get("EventLog")).is_some();
        assert_eq!(event.kind == EventKind::Windows, windows, "{event:?}");
        if windows {
            let provider = event.get("EventSourceName").or(event.get("Source"));
            assert_eq!(event.provider.as_deref(), provider);
        }
    }
}

#[test]
fn gzip_equals_plain() {
    let Some(path) = sample(OTRF) else { return };
    let bytes = std::fs::read(&path).unwrap();
    let plain = read(&path);
    let gz = read_bytes(&common::gzip(&bytes));
    assert_eq!(gz.stats.format, Some(Format::JsonLines));
    assert_eq!(gz.events, plain.events);
    // gzip twice, and concatenated gzip members.
    let twice = read_bytes(&common::gzip(&common::gzip(&bytes)));
    assert_eq!(twice.events, plain.events);
    let half = bytes.len() / 2;
    let cut = half + bytes[half..].iter().position(|b| *b == b'\n').unwrap() + 1;
    let mut members = common::gzip(&bytes[..cut]);
    members.extend(common::gzip(&bytes[cut..]));
    assert_eq!(read_bytes(&members).events, plain.events);
    // Compressed bytes are what progress counts.
    assert_eq!(gz.bytes, common::gzip(&bytes).len() as u64);
}

#[test]
fn bad_lines_are_reported_and_the_rest_read() {
    let text = concat_bytes(&[
        b"{\"a\":1}\n",
        b"\n",
        b"{\"a\":2,}\n",
        b"   \r\n",
        b"{\"a\":3}\r\n",
        b"[1,2]\n",
        b"{\"a\":4} {\"a\":5}\n",
        b"\"just a string\"\n",
        b"{\"a\":6}",
    ]);
    let got = read_bytes(&text);
    assert_eq!(got.stats.format, Some(Format::JsonLines));
    let records: Vec<(u64, &str)> = got
        .events
        .iter()
        .map(|e| (e.record, e.get("a").unwrap()))
        .collect();
    assert_eq!(records, [(1, "1"), (5, "3"), (9, "6")]);
    assert!(
        got.has_diagnostic(Some(3), "trailing comma at column 8"),
        "{:?}",
        got.diagnostics
    );
    assert!(got.has_diagnostic(Some(6), "not JSON objects"));
    assert!(got.has_diagnostic(Some(7), "trailing characters"));
    assert!(got.has_diagnostic(Some(8), "expected a JSON object"));
    assert_eq!(got.stats.errors, 3);

    // Invalid UTF-8 past the sniffed start is one bad line, not a binary file.
    let mut text = b"{\"a\":1}\n".repeat(2000);
    text.extend_from_slice(b"{\"a\":\"\xff\"}\n{\"a\":2}\n");
    let got = read_bytes(&text);
    assert_eq!(got.events.len(), 2001);
    assert!(
        got.has_diagnostic(Some(2001), "invalid unicode"),
        "{:?}",
        got.diagnostics
    );
}

fn concat_bytes(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn long_lines() {
    // A 100 MB line between two small ones.
    let mut text = String::from("{\"n\":1}\n{\"big\":\"");
    text.push_str(&"x".repeat(100 << 20));
    text.push_str("\"}\n{\"n\":3}\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    std::fs::write(&path, &text).unwrap();
    drop(text);

    let got = read(&path);
    assert!(got.diagnostics.is_empty(), "{:?}", got.diagnostics);
    assert_eq!(got.events.len(), 3);
    assert_eq!(got.events[1].get("big").map(str::len), Some(100 << 20));

    // Over the limit: reported, skipped as it streams, neighbours intact.
    let mut opts = options();
    opts.max_record_bytes = 1 << 20;
    let got = read_with(&path, &opts);
    assert!(
        got.has_diagnostic(Some(2), "longer than the record limit"),
        "{:?}",
        got.diagnostics
    );
    let records: Vec<u64> = got.events.iter().map(|e| e.record).collect();
    assert_eq!(records, [1, 3]);
}

#[test]
fn many_lines_in_parallel_batches() {
    let mut text = String::new();
    let n = 60_000;
    for i in 1..=n {
        text.push_str(&format!(
            "{{\"i\":{i},\"EventID\":4688,\"Channel\":\"Security\",\"Hostname\":\"h{i}\",\"TimeCreated\":\"2020-10-21 12:19:01.088\",\"pad\":\"{}\"}}\n",
            "p".repeat(i % 50)
        ));
    }
    assert!(text.len() > 4 << 20);
    let got = read_bytes(text.as_bytes());
    assert!(got.diagnostics.is_empty());
    assert_eq!(got.events.len(), n);
    for (i, event) in got.events.iter().enumerate() {
        let line = i as u64 + 1;
        assert_eq!(event.record, line);
        assert_eq!(event.get("i"), Some(line.to_string().as_str()));
        assert_eq!(event.computer.as_deref(), Some(format!("h{line}").as_str()));
    }
    assert_eq!(got.bytes, text.len() as u64);
    // The same through a non-file stream.
    assert_eq!(read_stream(text.into_bytes()).events, got.events);
}

#[test]
fn documents_and_envelopes() {
    // Graph-style envelope: one event per element, numbered by index.
    let got = read_bytes(
        br#"{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
  "value": [
    {"id": "a", "createdDateTime": "2021-08-02T13:29:25Z", "status": {"errorCode": 0}},
    {"id": "b", "createdDateTime": "2021-08-02T13:30:25Z", "status": {"errorCode": 50126}}
  ]
}
"#,
    );
    assert_eq!(got.stats.format, Some(Format::JsonDocument));
    let ids: Vec<(u64, &str)> = got
        .events
        .iter()
        .map(|e| (e.record, e.get("id").unwrap()))
        .collect();
    assert_eq!(ids, [(1, "a"), (2, "b")]);
    assert_eq!(got.events[1].get("status.errorCode"), Some("50126"));
    assert!(got.events[0].timestamp.is_some());
    assert!(got.events[0].get("@odata.context").is_none());

    // CloudTrail, on one line.
    let got = read_bytes(br#"{"Records":[{"eventName":"ConsoleLogin","eventTime":"2021-01-01T00:00:00Z"},{"eventName":"GetObject"}]}"#);
    assert_eq!(got.events.len(), 2);
    assert!(got.events[0].timestamp.is_some());

    // A top-level array, pretty-printed, with a non-object element.
    let got = read_bytes(b"[\n  {\"a\": 1},\n  7,\n  {\"a\": 2}\n]\n");
    let values: Vec<(u64, &str)> = got
        .events
        .iter()
        .map(|e| (e.record, e.get("a").unwrap()))
        .collect();
    assert_eq!(values, [(1, "1"), (2, "2")]);
    assert!(got.has_diagnostic(None, "not JSON objects"));

    // Concatenated pretty-printed objects (`jq .` output).
    let got = read_bytes(b"{\n \"a\": 1\n}\n{\n \"a\": 2\n}\n");
    assert_eq!(got.events.len(), 2);

    // An object without envelope is one event.
    let got = read_bytes(b"{\n \"value\": 3,\n \"records\": \"x\"\n}");
    assert_eq!(got.events.len(), 1);
    assert_eq!(got.events[0].get("value"), Some("3"));

    // Broken documents: what came before the error is kept.
    let got = read_bytes(b"[{\"a\":1},{\"a\":2},{\"a\":");
    assert_eq!(got.events.len(), 2);
    assert!(
        got.has_diagnostic(Some(3), "EOF while parsing"),
        "{:?}",
        got.diagnostics
    );
}

#[test]
fn documents_bigger_than_the_limit_stream() {
    let mut text = String::from("[");
    for i in 0..20_000 {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!("{{\"i\":{i},\"s\":\"esc\\\"aped\"}}"));
    }
    text.push(']');
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    std::fs::write(&path, &text).unwrap();
    let mut opts = options();
    opts.max_record_bytes = 4096;
    let small = read_with(&path, &opts);
    let normal = read(&path);
    assert!(small.diagnostics.is_empty(), "{:?}", small.diagnostics);
    assert_eq!(small.events.len(), 20_000);
    assert_eq!(small.events, normal.events);
    assert_eq!(small.events[5].get("s"), Some("esc\"aped"));
}

#[test]
fn evtx_dump_shape_from_json_lines() {
    let line = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"{54849625-5478-4994-a5ba-3e3b0328c30d}"}},"EventID":4688,"Version":2,"Level":0,"Task":13312,"Opcode":0,"Keywords":"0x8020000000000000","TimeCreated":{"#attributes":{"SystemTime":"2019-02-13T18:01:47.5624124Z"}},"EventRecordID":227695,"Correlation":null,"Execution":{"#attributes":{"ProcessID":4,"ThreadID":56}},"Channel":"Security","Computer":"PC01.example.corp","Security":null},"EventData":{"SubjectUserSid":"S-1-5-18","NewProcessName":"C:\\Windows\\System32\\TSTheme.exe","CommandLine":""}}}"##;
    let got = read_bytes(format!("{line}\n{line}\n").as_bytes());
    assert_eq!(got.events.len(), 2);
    let event = &got.events[0];
    assert_eq!(event.record, 1, "JSON lines are numbered by line");
    assert_eq!(event.kind, EventKind::Windows);
    assert_eq!(
        event.provider.as_deref(),
        Some("Microsoft-Windows-Security-Auditing")
    );
    assert_eq!(event.computer.as_deref(), Some("PC01.example.corp"));
    assert_eq!(
        event.get("NewProcessName"),
        Some(r"C:\Windows\System32\TSTheme.exe")
    );
    assert_eq!(event.get("CommandLine"), Some(""));
    assert!(event.get("Correlation").is_none());
    assert!(event.timestamp.is_some());
}

/// Big plain files are memory-mapped: every event, record number,
/// diagnostic and byte count must be what the buffered reader gives.
#[test]
fn mapped_files_read_as_buffered() {
    let dir = tempfile::tempdir().unwrap();
    let compare = |path: &std::path::Path, max_record_bytes: usize| {
        let mut buffered = options();
        buffered.max_record_bytes = max_record_bytes;
        buffered.map_files = false;
        let mut mapped = buffered.clone();
        mapped.map_files = true;
        let (a, b) = (read_with(path, &buffered), read_with(path, &mapped));
        let sorted = |r: &common::Read| {
            let mut d: Vec<_> = r
                .diagnostics
                .iter()
                .map(|d| (d.record, d.reason.clone()))
                .collect();
            d.sort();
            d
        };
        assert_eq!(a.events, b.events);
        assert_eq!(sorted(&a), sorted(&b));
        assert_eq!(a.stats.events, b.stats.events);
        assert_eq!(a.stats.errors, b.stats.errors);
        assert_eq!(a.bytes, b.bytes);
        b
    };

    // JSON lines past the mapping threshold, with a byte order mark, CRLF
    // and blank lines, bad lines, lines of every length across the batch
    // boundaries, an over-long line, and no newline at the end.
    let mut text = b"\xef\xbb\xbf".to_vec();
    let mut i = 0u64;
    while text.len() < 6 << 20 {
        i += 1;
        let line = match i % 97 {
            0 => "\r\n".to_owned(),
            13 => "{\"broken\":\n".to_owned(),
            50 => format!("{{\"i\":{i},\"s\":\"{}\"}}\r\n", "e\\\"".repeat(300)),
            _ => format!(
                "{{\"i\":{i},\"pad\":\"{}\"}}\n",
                "p".repeat((i * 37 % 1500) as usize)
            ),
        };
        text.extend_from_slice(line.as_bytes());
        if i == 3000 {
            text.extend_from_slice(
                format!("{{\"big\":\"{}\"}}\n", "x".repeat(300 << 10)).as_bytes(),
            );
        }
    }
    text.extend_from_slice(b"{\"last\":true}");
    let path = dir.path().join("lines.jsonl");
    std::fs::write(&path, &text).unwrap();
    let got = compare(&path, 256 << 10);
    assert!(got.events.len() > 5_000);
    assert!(got.has_diagnostic(Some(3001), "longer than the record limit"));
    assert_eq!(got.events.last().and_then(|e| e.get("last")), Some("true"));
    let got = compare(&path, vigie_sources::DEFAULT_MAX_RECORD_BYTES);
    assert!(got.events.iter().any(|e| e.get("big").is_some()));

    // A JSON document past the threshold, with a byte order mark: read in
    // place, or streamed when over the record limit.
    let mut doc = String::from("\u{feff}{\"records\":[");
    for i in 0..40_000 {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(
            "{{\"i\":{i},\"s\":\"esc\\\"aped {}\"}}",
            "d".repeat(i % 200)
        ));
    }
    doc.push_str("]}");
    let path = dir.path().join("doc.json");
    std::fs::write(&path, &doc).unwrap();
    assert!(doc.len() > 4 << 20);
    let got = compare(&path, vigie_sources::DEFAULT_MAX_RECORD_BYTES);
    assert_eq!(got.events.len(), 40_000);
    assert_eq!(got.stats.format, Some(Format::JsonDocument));
    compare(&path, 1 << 20);
    // Truncated: the events before the error, and the same error.
    std::fs::write(&path, &doc[..doc.len() - 100]).unwrap();
    let got = compare(&path, vigie_sources::DEFAULT_MAX_RECORD_BYTES);
    assert_eq!(got.errors().len(), 1);
}
