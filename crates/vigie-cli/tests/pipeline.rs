//! `--pipeline`: a hunt over Winlogbeat-shaped JSON lines, which the
//! Sigma-named rule only matches through a processing pipeline.

mod common;

use common::*;

const RULE: &str = "title: Whoami
id: pipe-whoami
level: high
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\whoami.exe'
    CommandLine|contains: '/all'
  condition: sel
";

/// Sysmon EventID 1 (and 3, which is not process creation) as Winlogbeat
/// writes it without ECS renaming.
fn line(eid: u32, image: &str, cmd: &str) -> String {
    let image = image.replace('\\', "\\\\");
    format!(
        r#"{{"@timestamp":"2026-01-01T00:00:0{eid}Z","winlog":{{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":{eid},"computer_name":"WS1","event_data":{{"Image":"{image}","CommandLine":"{cmd}"}}}}}}"#
    )
}

#[test]
fn hunt_with_builtin_and_file_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("winlogbeat.jsonl");
    let lines = [
        line(1, "C:\\Windows\\System32\\whoami.exe", "whoami /all"),
        line(3, "C:\\Windows\\System32\\whoami.exe", "whoami /all"),
        line(1, "C:\\Windows\\System32\\cmd.exe", "cmd /all"),
    ];
    std::fs::write(&logs, lines.join("\n") + "\n").unwrap();
    let rules = dir.path().join("rule.yml");
    std::fs::write(&rules, RULE).unwrap();
    let hunt = |extra: &[&str]| {
        let mut args = vec![
            "hunt",
            logs.to_str().unwrap(),
            "-r",
            rules.to_str().unwrap(),
            "-f",
            "jsonl",
            "-q",
        ];
        args.extend_from_slice(extra);
        vigie(&args)
    };
    // Without a pipeline the Windows rule never meets these records.
    let run = hunt(&[]);
    assert!(detections(&run.stdout).is_empty(), "{}", run.stdout);

    let run = hunt(&["--pipeline", "builtin:winlogbeat"]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let found = detections(&run.stdout);
    assert_eq!(found.len(), 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(found[0].1, 1);
    assert_eq!(found[0].2, "pipe-whoami");

    // A user pipeline file: the two fields renamed, nothing else.
    let pipe = dir.path().join("mine.yml");
    std::fs::write(
        &pipe,
        "name: mine\ntransformations:\n  - type: field_name_mapping\n    mapping:\n      Image: winlog.event_data.Image\n      CommandLine: winlog.event_data.CommandLine\n  - type: change_logsource\n",
    )
    .unwrap();
    let run = hunt(&["--pipeline", pipe.to_str().unwrap()]);
    // No channel test in this pipeline: EventID 3 matches too.
    assert_eq!(
        detections(&run.stdout).len(),
        2,
        "{}\n{}",
        run.stdout,
        run.stderr
    );

    // Unknown names and unsupported transformations stop the hunt.
    let run = hunt(&["--pipeline", "builtin:nope"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("winlogbeat"), "{}", run.stderr);
    std::fs::write(
        &pipe,
        "transformations:\n  - type: map_string\n    mapping: {a: b}\n",
    )
    .unwrap();
    let run = hunt(&["--pipeline", pipe.to_str().unwrap()]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("map_string"), "{}", run.stderr);
}

#[test]
fn rules_check_applies_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rule.yml");
    std::fs::write(
        &rules,
        format!("{RULE}---\ntitle: Odd\nlogsource: {{product: windows, category: no_such}}\ndetection:\n  sel:\n    a: b\n  condition: sel\n"),
    )
    .unwrap();
    let run = vigie(&[
        "rules",
        "check",
        rules.to_str().unwrap(),
        "--pipeline",
        "builtin:windows-ecs",
    ]);
    assert!(
        run.stdout
            .contains("no Windows channel for this rule's logsource"),
        "{}",
        run.stdout
    );
    let last = run.stdout.lines().last().unwrap_or("");
    assert!(last.contains("1 usable"), "{last}");
}
