//! `vigie hunt` over the bundled examples and the built-in rule pack.

mod common;

use std::collections::BTreeSet;

use common::*;

#[test]
fn examples_fire_exactly_the_expected_detections() {
    let run = vigie(&["hunt", "examples/", "-f", "jsonl", "-q"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let got: BTreeSet<(String, u64, String)> = detections(&run.stdout)
        .into_iter()
        .map(|(f, r, id)| (f.trim_start_matches("examples/").to_string(), r, id))
        .collect();
    let tsv = std::fs::read_to_string(repo().join("examples/expected-detections.tsv")).unwrap();
    let want: BTreeSet<(String, u64, String)> = tsv
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (
                cols[0].to_string(),
                cols[1].parse().unwrap(),
                cols[2].to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
    assert!(want.len() >= 40);
}

#[test]
fn summary_reports_counts_levels_and_skipped_files() {
    let run = vigie(&["hunt", "examples/", "-f", "csv", "-q"]);
    assert!(run.stderr.contains("events:"), "{}", run.stderr);
    assert!(run.stderr.contains("events/s"));
    assert!(run.stderr.contains("detections: 131"), "{}", run.stderr);
    assert!(run.stderr.contains("critical 1"));
    assert!(run.stderr.contains("top rules:"));
    // The README beside the logs is skipped with a warning, not an error.
    assert!(run.stderr.contains("examples/README.md"));
    assert_eq!(run.code, 0);
}

#[test]
fn csv_timeline_is_sorted_with_stable_columns() {
    let run = vigie(&["hunt", "examples/", "-f", "csv", "-q"]);
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Timestamp,Level,RuleTitle,RuleId,Host,Channel,EventID,User,Details,MitreTags,File,Record"
    );
    let mut reader = csv::ReaderBuilder::new().from_reader(run.stdout.as_bytes());
    let stamps: Vec<String> = reader
        .records()
        .map(|r| r.unwrap().get(0).unwrap().to_string())
        .collect();
    assert_eq!(stamps.len(), 131);
    let mut sorted = stamps.clone();
    sorted.sort();
    assert_eq!(stamps, sorted, "timeline is not in time order");
}

#[test]
fn timesketch_profile_has_the_required_columns() {
    let run = vigie(&[
        "hunt",
        "examples/",
        "-f",
        "csv",
        "--profile",
        "timesketch",
        "-q",
    ]);
    let header = run.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("datetime,timestamp_desc,message,"),
        "{header}"
    );
}

#[test]
fn min_level_filters() {
    let run = vigie(&[
        "hunt",
        "examples/",
        "-f",
        "jsonl",
        "-q",
        "--min-level",
        "critical",
    ]);
    let n = run.stdout.lines().count();
    assert_eq!(n, 1, "{}", run.stdout);
    assert!(run.stdout.contains("\"level\":\"critical\""));
}

#[test]
fn same_output_at_any_thread_count() {
    for format in ["csv", "jsonl", "table"] {
        let one = vigie(&["hunt", "examples/", "-f", format, "-q", "-t", "1"]);
        let two = vigie(&["hunt", "examples/", "-f", format, "-q", "-t", "2"]);
        assert_eq!(
            one.stdout, two.stdout,
            "{format} differs between 1 and 2 threads"
        );
        assert!(!one.stdout.is_empty());
    }
}

#[test]
fn output_file_and_jsonl_content() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let run = vigie(&[
        "hunt",
        "examples/",
        "-f",
        "jsonl",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(first["rule"]["tags"].as_array().is_some());
    assert!(first["evidence"].as_object().is_some_and(|e| !e.is_empty()));
    assert!(first["event"].as_object().is_some_and(|e| !e.is_empty()));
}

#[test]
fn stdin_and_gzip_give_the_same_detections() {
    let path = repo().join("examples/windows/sysmon-process-creation.jsonl");
    let bytes = std::fs::read(&path).unwrap();
    let from_file = vigie(&["hunt", path.to_str().unwrap(), "-f", "jsonl", "-q"]);
    let from_stdin = vigie_in(&repo(), &["hunt", "-", "-f", "jsonl", "-q"], Some(&bytes));
    let ids = |r: &Run| {
        detections(&r.stdout)
            .into_iter()
            .map(|(_, rec, id)| (rec, id))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&from_file), ids(&from_stdin));
    assert!(!ids(&from_file).is_empty());

    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("logs.bin");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let from_gz = vigie(&["hunt", gz.to_str().unwrap(), "-f", "jsonl", "-q"]);
    assert_eq!(ids(&from_file), ids(&from_gz));
}

#[test]
fn exit_codes_found_none_error() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.jsonl");
    std::fs::write(&quiet, "{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Image\":\"C:\\\\Windows\\\\notepad.exe\"}\n").unwrap();
    assert_eq!(vigie(&["hunt", "examples/", "-q", "-f", "csv"]).code, 0);
    assert_eq!(vigie(&["hunt", quiet.to_str().unwrap(), "-q"]).code, 1);
    assert_eq!(vigie(&["hunt", "no/such/path", "-q"]).code, 2);
    assert_eq!(
        vigie(&["hunt", "examples/", "-q", "-r", "no/such/rules"]).code,
        2
    );
    assert_eq!(vigie(&["hunt", "examples/", "--format", "pdf"]).code, 2);
}
