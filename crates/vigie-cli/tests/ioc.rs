//! `vigie hunt --ioc` and `vigie ioc check|stats` end to end.

mod common;

use common::*;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn alerts(jsonl: &str) -> Vec<serde_json::Value> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert JSON"))
        .collect()
}

#[test]
fn hunt_with_a_feed_raises_alerts_that_name_indicator_and_feed() {
    let dir = tempfile::tempdir().unwrap();
    // 203.0.113.45 is the public address of the RDP logon in the Windows
    // examples.
    let feed = write(
        dir.path(),
        "rdp-sources.csv",
        "id,type,value,confidence,tags,description\n\
         ioc-rdp-1,ip,203.0.113.40/29,90,apt-x,Known RDP brute-force range\n\
         ioc-unused,domain,nothing-here.example,50,,\n",
    );
    let run = vigie(&[
        "hunt",
        "examples/windows/",
        "--ioc",
        &feed,
        "-f",
        "jsonl",
        "-q",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ioc: Vec<_> = alerts(&run.stdout)
        .into_iter()
        .filter(|a| a["rule"]["id"] == "ioc-rdp-1")
        .collect();
    assert_eq!(ioc.len(), 1, "{}", run.stdout);
    let a = &ioc[0];
    assert_eq!(
        a["rule"]["title"],
        "IOC match: ip 203.0.113.40/29 (rdp-sources)"
    );
    assert_eq!(a["rule"]["author"], "rdp-sources");
    assert_eq!(a["rule"]["level"], "high");
    let description = a["rule"]["description"].as_str().unwrap();
    assert!(description.contains("Known RDP brute-force range"));
    assert!(description.contains("confidence 90"));
    assert!(a["evidence"].to_string().contains("203.0.113.45"), "{a}");
    assert!(a["file"]
        .as_str()
        .unwrap()
        .contains("security-and-system.json"));
    assert!(
        run.stderr.contains("ioc:        2 indicators from 1 feeds"),
        "{}",
        run.stderr
    );
}

#[test]
fn any_field_finds_an_address_inside_a_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let feed = write(dir.path(), "stager.txt", "198.51.100.23\n");
    let typed = vigie(&[
        "hunt",
        "examples/windows/",
        "--ioc",
        &feed,
        "-f",
        "jsonl",
        "-q",
    ]);
    let count = |out: &str| {
        alerts(out)
            .iter()
            .filter(|a| a["rule"]["id"] == "stager:1")
            .count()
    };
    assert_eq!(count(&typed.stdout), 0, "command lines are not IP fields");
    let any = vigie(&[
        "hunt",
        "examples/windows/",
        "--ioc",
        &feed,
        "--ioc-any-field",
        "-f",
        "jsonl",
        "-q",
    ]);
    assert!(count(&any.stdout) >= 3, "{}", any.stderr);
}

#[test]
fn builtin_pack_loads_in_a_hunt() {
    let run = vigie(&["hunt", "examples/", "--ioc", "builtin", "-q", "-f", "csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("ioc:        4 indicators from 2 feeds"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_feed_is_an_error_before_hunting() {
    let run = vigie(&["hunt", "examples/", "--ioc", "/nonexistent/feed.csv", "-q"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("/nonexistent/feed.csv"),
        "{}",
        run.stderr
    );
}

#[test]
fn check_reports_every_bad_indicator_and_exits_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.csv", "type,value\nip,192.0.2.1\n");
    let ok = vigie(&["ioc", "check", &good]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(ok.stdout.contains("1 of 1 indicators loaded"));

    write(
        dir.path(),
        "mixed.json",
        r#"{"type":"bundle","objects":[
          {"type":"indicator","id":"indicator--ok","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2023-01-01T00:00:00Z"},
          {"type":"indicator","id":"indicator--broken","pattern":"[domain-name:value = ","pattern_type":"stix","valid_from":"2023-01-01T00:00:00Z"}
        ]}"#,
    );
    let some_bad = vigie(&["ioc", "check", &dir.path().display().to_string()]);
    assert_eq!(some_bad.code, 1, "{}", some_bad.stdout);
    assert!(
        some_bad.stdout.contains("mixed.json: indicator--broken:"),
        "{}",
        some_bad.stdout
    );
    assert!(some_bad
        .stdout
        .contains("2 of 3 indicators loaded from 2 files"));

    write(dir.path(), "zz-broken.json", "{ not json");
    let error = vigie(&["ioc", "check", &dir.path().display().to_string()]);
    assert_eq!(error.code, 2, "{}", error.stdout);
    assert!(error.stdout.contains("zz-broken.json: invalid JSON"));
    assert_eq!(vigie(&["ioc", "check", "/nonexistent"]).code, 2);
}

#[test]
fn stats_lists_the_builtin_pack() {
    let run = vigie(&["ioc", "stats", "builtin"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("builtin:storm-0558\tkid\tcritical\t100\t1"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("builtin:storm-0558\ttenant-id\tinformational\t10\t1"));
    assert!(run.stdout.contains("total\t\t\t\t4"));
}
