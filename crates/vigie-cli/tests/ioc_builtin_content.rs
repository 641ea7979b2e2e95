//! The built-in detection content: every built-in Sigma rule carries
//! ATT&CK tags, references and an example event, and `--builtin` next to
//! `--rules` skips built-in rules the user already loaded.

mod common;

use std::collections::BTreeSet;

use common::*;

#[test]
fn every_builtin_rule_has_attack_tags_references_and_an_example() {
    let mut builder = vigie_sigma::RuleSetBuilder::new();
    builder.add_builtin();
    let (rules, report) = builder.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let tsv = std::fs::read_to_string(repo().join("examples/expected-detections.tsv")).unwrap();
    let exemplified: BTreeSet<&str> = tsv
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(2))
        .collect();
    let mut problems = Vec::new();
    for rule in rules.rules() {
        let m = &rule.meta;
        if m.attack_techniques().is_empty() {
            problems.push(format!(
                "{} ({}): no ATT&CK technique tag",
                m.title, m.origin
            ));
        }
        if m.references.is_empty() {
            problems.push(format!("{} ({}): no references", m.title, m.origin));
        }
        if !exemplified.contains(m.id.as_str()) {
            problems.push(format!(
                "{} ({}): no example event in examples/expected-detections.tsv",
                m.title, m.origin
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn builtin_rules_that_duplicate_user_rules_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let rule = std::fs::read_to_string(
        repo().join("crates/vigie-sigma/rules/volt-typhoon/proc_creation_netsh_portproxy_add.yml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("my_portproxy.yml"), rule).unwrap();
    let rules = dir.path().display().to_string();

    let alone = vigie(&["hunt", "examples/", "--rules", &rules, "-q", "-f", "csv"]);
    assert!(
        alone.stderr.contains("rules:      1 loaded"),
        "{}",
        alone.stderr
    );

    let both = vigie(&[
        "hunt",
        "examples/",
        "--rules",
        &rules,
        "--builtin",
        "-q",
        "-f",
        "jsonl",
    ]);
    assert_eq!(both.code, 0, "{}", both.stderr);
    assert!(both.stderr.contains(" 1 duplicate)"), "{}", both.stderr);
    // The user's copy is the one loaded: its alerts name the user's file.
    let origins: BTreeSet<String> = both
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|a| a["rule"]["id"] == "724449fb-64dd-4370-9c35-93e2e565bcd3")
        .map(|a| a["rule"]["origin"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(origins.len(), 1, "{origins:?}");
    assert!(
        origins.iter().all(|o| o.ends_with("my_portproxy.yml")),
        "{origins:?}"
    );
}
