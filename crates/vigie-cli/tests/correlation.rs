//! Sigma correlation rules end to end: a hunt over generated JSON lines
//! split across two files, and `vigie rules check` counting them.

mod common;

use std::path::Path;

use common::*;

/// A low base rule (failed logon) and a high correlation over it, in one
/// multi-document file.
const RULES: &str = "
title: Brute force then success
id: corr-brute
level: high
correlation:
  type: temporal_ordered
  rules: [many_failed, logon_ok]
  group-by: [TargetUserName]
  timespan: 10m
---
title: Many failed logons
id: corr-many-failed
name: many_failed
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition:
    gte: 3
---
title: Failed logon
id: base-failed
name: failed_logon
level: low
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: Successful logon
id: base-ok
name: logon_ok
level: low
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4624
  condition: sel
";

fn line(eid: u32, minute: u32, user: &str) -> String {
    format!(
        r#"{{"EventID":{eid},"Channel":"Security","Computer":"DC1","TimeCreated":"2026-01-01T00:{minute:02}:00Z","TargetUserName":"{user}"}}"#
    )
}

fn write(dir: &Path, name: &str, lines: &[String]) {
    std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
}

#[test]
fn hunt_correlates_across_files_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // alice: failures at 00:01 (a) and 00:02, 00:03 (b), success at 00:04 (a).
    // bob: two failures only, then a success.
    write(
        &logs,
        "a.jsonl",
        &[
            line(4625, 1, "alice"),
            line(4624, 4, "alice"),
            line(4625, 1, "bob"),
        ],
    );
    write(
        &logs,
        "b.jsonl",
        &[
            line(4625, 2, "alice"),
            line(4625, 3, "alice"),
            line(4625, 2, "bob"),
            line(4624, 3, "bob"),
        ],
    );
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).unwrap();
    let run = vigie(&[
        "hunt",
        logs.to_str().unwrap(),
        "-r",
        rules.to_str().unwrap(),
        "-f",
        "jsonl",
        "-q",
        "--min-level",
        "high",
    ]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let found = detections(&run.stdout);
    // Only the outer correlation is written: the base rules are under
    // --min-level and, with the inner correlation, generate nothing.
    assert_eq!(found.len(), 1, "{}\n{}", run.stdout, run.stderr);
    let (file, record, rule) = &found[0];
    assert_eq!(rule, "corr-brute");
    assert!(file.ends_with("a.jsonl"), "{file}");
    assert_eq!(*record, 2, "the alert points at alice's success");
    let alert: serde_json::Value =
        serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    let text = alert.to_string();
    assert!(text.contains("alice"), "{text}");
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn rules_check_counts_correlations() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).unwrap();
    let run = vigie(&["rules", "check", rules.to_str().unwrap()]);
    let last = run.stdout.lines().last().unwrap_or("");
    assert!(last.starts_with("4 of 4 rules compiled"), "{last}");
    assert!(last.contains("2 correlations"), "{last}");
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "title: Dangling\ncorrelation: {type: event_count, rules: [nope], group-by: [x], timespan: 1h, condition: {gte: 2}}\n",
    )
    .unwrap();
    let run = vigie(&["rules", "check", bad.to_str().unwrap()]);
    assert!(
        run.stdout.contains("error\t") && run.stdout.contains("unknown rule 'nope'"),
        "{}",
        run.stdout
    );
}
