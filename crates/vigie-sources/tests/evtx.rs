//! EVTX reading against the EVTX-ATTACK-SAMPLES files, and the promise that
//! a record gives the same event from EVTX and from evtx_dump's JSON.

mod common;

use std::path::Path;

use common::{read, read_bytes, read_stream, sample, shared_data};
use vigie_core::{EventKind, ValueKind};
use vigie_sources::Format;

const SYSMON: &str = "evtx/Defense Evasion/DE_ProcessHerpaderping_Sysmon_11_10_1_7.evtx";
const SECURITY: &str = "evtx/Credential Access/tutto_malseclogon.evtx";

#[test]
fn sysmon_process_creation() {
    let Some(path) = sample(SYSMON) else { return };
    let got = read(&path);
    assert_eq!(got.stats.format, Some(Format::Evtx));
    assert!(got.errors().is_empty(), "{:?}", got.diagnostics);
    assert_eq!(got.stats.events, got.events.len() as u64);
    assert!(got
        .events
        .iter()
        .all(|e| e.kind == EventKind::Windows && e.source == 7));
    assert!(got.events.iter().all(|e| e.timestamp.is_some()));

    let event = got
        .events
        .iter()
        .find(|e| e.get("EventID") == Some("1"))
        .expect("a Sysmon process creation");
    assert_eq!(
        event.get("Channel"),
        Some("Microsoft-Windows-Sysmon/Operational")
    );
    assert_eq!(event.get("CommandLine"), Some(r#"".\samir.exe""#));
    assert_eq!(
        event.get("Image"),
        Some(r"C:\Users\bouss\Downloads\samir.exe")
    );
    assert_eq!(event.provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
    assert_eq!(event.computer.as_deref(), Some("LAPTOP-JU4M3I0E"));
    assert_eq!(event.get("Security_UserID"), Some("S-1-5-18"));
    assert_eq!(event.get("Execution_ProcessID"), Some("5400"));
    assert_eq!(
        event.get("TimeCreated"),
        Some("2020-10-27T10:17:18.3977626Z")
    );
    assert_eq!(
        event.timestamp,
        vigie_core::parse_timestamp("2020-10-27T10:17:18.397762Z")
    );
    // Numbered by System.EventRecordID.
    assert_eq!(event.record, 2246493);
    assert_eq!(event.get("EventRecordID"), Some("2246493"));
    let kinds: Vec<ValueKind> = ["EventID", "ProcessId", "CommandLine"]
        .iter()
        .map(|k| event.fields.iter().find(|f| f.0 == *k).unwrap().2)
        .collect();
    assert_eq!(kinds, [ValueKind::Num, ValueKind::Num, ValueKind::Str]);
    // Every byte of the file was reported consumed.
    assert_eq!(got.bytes, std::fs::metadata(&path).unwrap().len());
}

#[test]
fn security_event_data_and_user_data() {
    let Some(path) = sample(SECURITY) else { return };
    let got = read(&path);
    assert!(got.errors().is_empty(), "{:?}", got.diagnostics);
    let created = got
        .events
        .iter()
        .find(|e| e.get("EventID") == Some("4688"))
        .expect("a 4688");
    assert_eq!(created.get("Channel"), Some("Security"));
    assert!(created.get("NewProcessName").is_some());
    assert!(created.get("SubjectUserName").is_some());
    // Security 1102 keeps its fields under UserData.LogFileCleared.
    if let Some(cleared) = got.events.iter().find(|e| e.get("EventID") == Some("1102")) {
        assert!(cleared.get("SubjectUserName").is_some(), "{cleared:?}");
    }
}

/// Renders every record as `evtx_dump -o jsonl` does, reads that back as
/// JSON lines, and compares field by field with reading the EVTX itself.
fn same_as_evtx_dump(path: &Path) {
    let mut parser = evtx::EvtxParser::from_path(path)
        .unwrap()
        .with_configuration(evtx::ParserSettings::new().indent(false).num_threads(1));
    let mut jsonl = String::new();
    for record in parser.records_json() {
        jsonl.push_str(&record.unwrap().data);
        jsonl.push('\n');
    }
    let from_json = read_bytes(jsonl.as_bytes());
    let from_evtx = read(path);
    // A single record makes a one-line file: a JSON document.
    let want = if from_evtx.events.len() == 1 {
        Format::JsonDocument
    } else {
        Format::JsonLines
    };
    assert_eq!(from_json.stats.format, Some(want));
    assert!(from_json.errors().is_empty(), "{:?}", from_json.diagnostics);
    assert_eq!(
        from_json.events.len(),
        from_evtx.events.len(),
        "{}",
        path.display()
    );
    // JSON lines are numbered by line: pair them up by EventRecordID.
    let mut json_events = from_json.events.clone();
    json_events.sort_by_key(|e| e.get("EventRecordID").map(|v| v.parse::<u64>().unwrap()));
    for (j, e) in json_events.iter().zip(&from_evtx.events) {
        assert_eq!(j.fields, e.fields, "{}", path.display());
        assert_eq!(j.kind, e.kind);
        assert_eq!(j.timestamp, e.timestamp);
        assert_eq!(j.computer, e.computer);
        assert_eq!(j.provider, e.provider);
    }
}

#[test]
fn evtx_and_evtx_dump_json_give_the_same_events() {
    for name in [SYSMON, SECURITY] {
        let Some(path) = sample(name) else { return };
        same_as_evtx_dump(&path);
    }
}

/// All 277 samples: no errors, and the JSON route agrees everywhere.
#[test]
fn every_sample_reads_cleanly_and_agrees_with_its_json() {
    let Some(dir) = shared_data() else { return };
    let mut files: Vec<_> = walk(&dir.join("evtx"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .collect();
    files.sort();
    assert!(files.len() > 200);
    let mut events = 0;
    for path in &files {
        let got = read(path);
        assert!(
            got.errors().is_empty(),
            "{}: {:?}",
            path.display(),
            got.diagnostics
        );
        events += got.events.len();
        same_as_evtx_dump(path);
    }
    assert!(events > 8000, "{events}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn gzip_and_streams_equal_the_plain_file() {
    let Some(path) = sample(SYSMON) else { return };
    let plain = read(&path);
    let bytes = std::fs::read(&path).unwrap();
    let gz = read_bytes(&common::gzip(&bytes));
    assert_eq!(gz.stats.format, Some(Format::Evtx));
    assert_eq!(gz.events, plain.events);
    let piped = read_stream(bytes);
    assert_eq!(piped.events, plain.events);
    assert!(gz.diagnostics.is_empty() && piped.diagnostics.is_empty());
}

#[test]
fn truncated_file_keeps_the_records_it_holds() {
    let Some(path) = sample("evtx/Lateral Movement/LM_5145_Remote_FileCopy.evtx") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let whole = read(&path);
    // Cut inside the second chunk.
    let cut = 4096 + 65536 + 20_000;
    assert!(bytes.len() > cut + 65536);
    let got = read_bytes(&bytes[..cut]);
    assert!(
        got.has_diagnostic(None, "file ends inside chunk 1"),
        "{:?}",
        got.diagnostics
    );
    assert!(got
        .diagnostics
        .iter()
        .any(|d| d.reason.contains("record cut")));
    assert!(!got.events.is_empty());
    assert!(got.events.len() < whole.events.len());
    // Everything that came through is a record of the whole file, intact.
    for event in &got.events {
        let twin = whole.events.iter().find(|e| e.record == event.record);
        assert_eq!(twin.map(|t| &t.fields), Some(&event.fields));
    }
    // More than the first chunk: the cut one gave its whole records.
    let first_chunk_only = read_bytes(&bytes[..4096 + 65536]);
    assert!(got.events.len() > first_chunk_only.events.len());

    // Cut inside the file header.
    let got = read_bytes(&bytes[..1000]);
    assert_eq!(got.stats.format, Some(Format::Evtx));
    assert!(got.events.is_empty());
    assert_eq!(got.errors().len(), 1, "{:?}", got.diagnostics);
}

#[test]
fn corrupt_chunks_are_reported_and_the_rest_is_read() {
    let Some(path) = sample("evtx/Lateral Movement/LM_5145_Remote_FileCopy.evtx") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let whole = read(&path);
    // Scribble over the records of the first chunk (keep its header).
    let mut damaged = bytes.clone();
    let mut next = common::xorshift32(0x2545_f491);
    for b in &mut damaged[4096 + 600..4096 + 65536] {
        *b = next() as u8;
    }
    let got = read_bytes(&damaged);
    assert!(!got.errors().is_empty());
    assert!(got.events.len() < whole.events.len());
    // Later chunks are untouched and come through whole.
    let last = whole.events.last().unwrap();
    assert!(got.events.iter().any(|e| e.fields == last.fields));

    // Random bytes behind a valid magic: diagnostics, never a panic.
    for round in 0..20u32 {
        let mut noise = b"ElfFile\0".to_vec();
        let mut next = common::xorshift32(0x9e37_79b9_u32.wrapping_mul(round + 1));
        for _ in 0..(4096 + 65536 * 2) {
            noise.push(next() as u8);
        }
        let got = read_bytes(&noise);
        assert!(!got.diagnostics.is_empty());
    }
}

/// Every EVTX file under `dir`, sorted (as `discover` finds inputs).
fn evtx_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let (inputs, _) = vigie_sources::discover(&[dir.to_path_buf()]);
    inputs
        .into_iter()
        .map(|input| input.path)
        .filter(|path| {
            path.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
        })
        .collect()
}

/// vigie's BinXML reader against the crate's JSON rendering read back by
/// the JSON reader: the same events (fields, kinds, order, record numbers,
/// timestamps) and the same diagnostics for every sample file, and the
/// BinXML reader takes most records.
#[test]
fn binxml_reader_gives_the_events_of_the_json_route() {
    let Some(data) = shared_data() else { return };
    let files = evtx_files(&data.join("evtx"));
    assert!(files.len() > 200, "{} EVTX files", files.len());
    let fast = common::options();
    let mut json = common::options();
    json.evtx_binxml = false;
    let (mut records, mut by_binxml) = (0, 0);
    let mut differ = Vec::new();
    for path in &files {
        let a = common::read_with(path, &fast);
        let b = common::read_with(path, &json);
        assert_eq!(b.stats.binxml_records, 0);
        records += b.stats.events;
        by_binxml += a.stats.binxml_records;
        assert_eq!(
            a.sorted_diagnostics(),
            b.sorted_diagnostics(),
            "{}",
            path.display()
        );
        assert_eq!(a.events.len(), b.events.len(), "{}", path.display());
        for (x, y) in a.events.iter().zip(&b.events) {
            if x != y {
                differ.push(format!("{}: {:?}\n  vs {:?}", path.display(), x, y));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{} differ:\n{}",
        differ.len(),
        differ[..differ.len().min(5)].join("\n")
    );
    eprintln!("{by_binxml} of {records} records read by the BinXML reader");
    assert!(by_binxml * 10 >= records * 9, "{by_binxml} of {records}");
}

/// Damaged copies of sample files (bytes of their chunks overwritten at
/// random, by a seeded generator): the BinXML reader never panics, and
/// reads what the crate's route reads — the same events, the same
/// diagnostics — except that it may read a record the crate refused (a
/// damaged template GUID makes the crate look for the template elsewhere),
/// in place of the crate's error about it.
#[test]
fn damaged_records_read_as_the_json_route_reads_them() {
    let Some(data) = shared_data() else { return };
    let files = evtx_files(&data.join("evtx"));
    let fast = common::options();
    let mut json = common::options();
    json.evtx_binxml = false;
    let dir = tempfile::tempdir().unwrap();
    let mut random = vigie_core::test_rng::XorShift(0x9e37_79b9_7f4a_7c15);
    let mut next = || random.next_u64();
    let (mut copies, mut identical, mut differ) = (0, 0, Vec::new());
    for path in files.iter().step_by(2) {
        let original = std::fs::read(path).unwrap();
        if original.len() <= 4096 + 512 {
            continue;
        }
        for round in 0..4 {
            let mut bytes = original.clone();
            // From one byte to a few dozen, anywhere past the file header.
            for _ in 0..1 + next() % (8 << round) {
                let at = 4096 + (next() as usize) % (bytes.len() - 4096);
                bytes[at] = next() as u8;
            }
            let copy = dir.path().join(format!("damaged-{copies}.evtx"));
            std::fs::write(&copy, &bytes).unwrap();
            copies += 1;
            let ours = common::read_with(&copy, &fast);
            let crates = common::read_with(&copy, &json);
            let (our_diagnostics, crate_diagnostics) =
                (ours.sorted_diagnostics(), crates.sorted_diagnostics());
            if ours.events == crates.events && our_diagnostics == crate_diagnostics {
                identical += 1;
                continue;
            }
            let mut extra = ours.events.clone();
            let lost =
                crates
                    .events
                    .iter()
                    .any(|event| match extra.iter().position(|e| e == event) {
                        Some(at) => {
                            extra.remove(at);
                            false
                        }
                        None => true,
                    });
            let refused = crate_diagnostics
                .iter()
                .filter(|d| !our_diagnostics.contains(d))
                .count();
            let new_diagnostic = our_diagnostics
                .iter()
                .any(|d| !crate_diagnostics.contains(d));
            if lost || new_diagnostic || extra.len() > refused {
                differ.push(format!(
                    "{} round {round}: {} events vs {}\n  {our_diagnostics:?}\n  vs {crate_diagnostics:?}",
                    path.display(),
                    ours.events.len(),
                    crates.events.len()
                ));
            }
        }
    }
    assert!(copies > 100, "{copies} copies");
    assert!(
        identical * 10 >= copies * 9,
        "{identical} of {copies} identical"
    );
    assert!(
        differ.is_empty(),
        "{} of {copies} differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

/// Readers keep a file's worker (its events, tables and buffers) for the
/// next file with the same options. Every sample read in turn with one set
/// of options (workers reused, across channels and templates) gives the
/// events and diagnostics of the same file read with options of its own
/// (a fresh worker: workers built for other options are never taken).
#[test]
fn reused_workers_read_as_fresh_ones() {
    let Some(data) = shared_data() else { return };
    let files = evtx_files(&data.join("evtx"));
    assert!(files.len() > 200, "{} EVTX files", files.len());
    let shared = common::options();
    for path in &files {
        let reused = common::read_with(path, &shared);
        let fresh = common::read_with(path, &common::options());
        assert_eq!(
            reused.sorted_diagnostics(),
            fresh.sorted_diagnostics(),
            "{}",
            path.display()
        );
        assert_eq!(reused.events, fresh.events, "{}", path.display());
    }
}
