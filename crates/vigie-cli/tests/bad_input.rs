//! Hostile and broken input: each case is reported with its path, record
//! and reason; everything else is still processed; nothing panics.

mod common;

use std::path::Path;

use common::*;

const GOOD_LINE: &str = r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WS1","TimeCreated":"2026-01-01T00:00:00Z","Image":"C:\\Windows\\System32\\wevtutil.exe","CommandLine":"wevtutil.exe cl Security"}"#;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// Runs a hunt over a folder holding the bad file and one good log; the
/// good log's detection must survive.
fn hunt_with(name: &str, bytes: &[u8]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "good.jsonl",
        format!("{GOOD_LINE}\n").as_bytes(),
    );
    write(dir.path(), name, bytes);
    let run = vigie(&["hunt", dir.path().to_str().unwrap(), "-f", "jsonl", "-q"]);
    assert!(
        run.stdout.contains("good.jsonl"),
        "the good file's detection was lost next to {name}\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

#[test]
fn json_line_that_does_not_parse() {
    let bytes = format!("{GOOD_LINE}\n{{\"EventID\": 1, broken\n{GOOD_LINE}\n");
    let run = hunt_with("mixed.jsonl", bytes.as_bytes());
    assert!(
        run.stderr.contains("mixed.jsonl record 2"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 2);
    // Lines 1 and 3 still fire.
    let records: Vec<u64> = detections(&run.stdout)
        .into_iter()
        .filter(|(f, _, _)| f.ends_with("mixed.jsonl"))
        .map(|(_, r, _)| r)
        .collect();
    assert_eq!(records, vec![1, 3]);
}

#[test]
fn ragged_csv_rows() {
    let run = hunt_with(
        "ragged.csv",
        b"EventID,Channel,Image,CommandLine\n\
1,Microsoft-Windows-Sysmon/Operational,C:\\a.exe,a\n\
1,Microsoft-Windows-Sysmon/Operational,C:\\x.exe\n\
1,Microsoft-Windows-Sysmon/Operational,C:\\b.exe,b\n\
1,Microsoft-Windows-Sysmon/Operational,C:\\Windows\\System32\\wevtutil.exe,wevtutil cl System,extra\n",
    );
    assert!(run.stderr.contains("ragged.csv record 2"), "{}", run.stderr);
    assert!(run.stderr.contains("ragged.csv record 4"), "{}", run.stderr);
    // The long row is still read (its rule fires).
    assert!(run.stdout.contains("ragged.csv"), "{}", run.stderr);
}

#[test]
fn truncated_and_corrupt_evtx() {
    let Some(evtx) = shared("evtx/Defense Evasion/DE_1102_security_log_cleared.evtx") else {
        return;
    };
    let bytes = std::fs::read(evtx).unwrap();
    let run = hunt_with("cut.evtx", &bytes[..bytes.len().min(4096 + 30_000)]);
    assert!(run.stderr.contains("cut.evtx"), "{}", run.stderr);
    let mut scribbled = bytes.clone();
    for b in scribbled.iter_mut().skip(4096 + 512).step_by(7).take(5000) {
        *b ^= 0x5a;
    }
    let run = hunt_with("scribbled.evtx", &scribbled);
    assert!(run.stderr.contains("scribbled.evtx"), "{}", run.stderr);
}

#[test]
fn binary_empty_and_unreadable() {
    let run = hunt_with(
        "tool.exe",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
    );
    assert!(
        run.stderr.contains("tool.exe: skipped: binary content"),
        "{}",
        run.stderr
    );
    let run = hunt_with("empty.json", b"");
    assert!(
        run.stderr.contains("empty.json: empty file"),
        "{}",
        run.stderr
    );
    // A missing path named on the command line is an error; the others run.
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "good.jsonl",
        format!("{GOOD_LINE}\n").as_bytes(),
    );
    let run = vigie(&["hunt", &good, "/no/such/file.evtx", "-f", "jsonl", "-q"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/no/such/file.evtx"), "{}", run.stderr);
    assert!(run.stdout.contains("good.jsonl"));
}

#[test]
fn one_hundred_megabyte_line() {
    let mut line = String::with_capacity(101 << 20);
    line.push_str(r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\Windows\\System32\\wevtutil.exe","CommandLine":"wevtutil.exe cl Security "#);
    line.extend(std::iter::repeat_n('A', 100 << 20));
    line.push_str("\"}\n");
    let run = hunt_with("huge.jsonl", line.as_bytes());
    // The huge record is read whole and its rule fires too.
    assert!(run.stdout.contains("huge.jsonl"), "{}", run.stderr);
}

#[test]
fn broken_rule_files_do_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "broken.yml", b"title: [unclosed\n");
    write(dir.path(), "bad-modifier.yml", b"title: x\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|nosuch: x\n  condition: sel\n");
    write(dir.path(), "good.yml", b"title: Log cleared\nid: 11111111-2222-3333-4444-555555555555\nlevel: high\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    CommandLine|contains: ' cl '\n  condition: sel\n");
    let logs = tempfile::tempdir().unwrap();
    let good = write(
        logs.path(),
        "good.jsonl",
        format!("{GOOD_LINE}\n").as_bytes(),
    );
    let run = vigie(&[
        "hunt",
        &good,
        "-r",
        dir.path().to_str().unwrap(),
        "-f",
        "jsonl",
        "-q",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("11111111-2222-3333-4444-555555555555"));
    assert!(run.stderr.contains("2 failed to compile"), "{}", run.stderr);

    let check = vigie(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(check.code, 1);
    assert!(check.stdout.contains("broken.yml"), "{}", check.stdout);
    assert!(
        check.stdout.contains("unknown modifier 'nosuch'"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("1 of 3 rules compiled"),
        "{}",
        check.stdout
    );
}

#[test]
fn csv_formula_injection_and_terminal_escapes_are_neutralised() {
    let dir = tempfile::tempdir().unwrap();
    let evil = r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"=HYPERLINK(\"http://x\")","Image":"C:\\Windows\\System32\\wevtutil.exe","CommandLine":"wevtutil.exe cl Security \u001b[31mRED\u001b]0;title\u0007"}"#;
    let path = write(dir.path(), "evil.jsonl", format!("{evil}\n").as_bytes());
    let csv = vigie(&["hunt", &path, "-f", "csv", "-q"]);
    assert!(csv.stdout.contains("'=HYPERLINK"), "{}", csv.stdout);
    assert!(!csv.stdout.contains(",=HYPERLINK"));
    let table = vigie(&["hunt", &path, "-f", "table", "-q"]);
    assert!(!table.stdout.contains('\u{1b}'), "{:?}", table.stdout);
    assert!(!table.stdout.contains('\u{7}'));
}
