//! `vigie rules check` over SigmaHQ and the built-in pack.

mod common;

use common::*;

#[test]
fn at_least_95_percent_of_sigmahq_windows_rules_compile() {
    let Some(rules) = shared("sigma/rules/windows") else {
        return;
    };
    let run = vigie(&["rules", "check", rules.to_str().unwrap()]);
    let last = run.stdout.lines().last().unwrap_or("").to_string();
    // "N of M rules compiled (P%) ..."
    let mut words = last.split_whitespace();
    let compiled: f64 = words.next().unwrap().parse().unwrap();
    let total: f64 = words.nth(1).unwrap().parse().unwrap();
    assert!(total > 2000.0, "{last}");
    assert!(compiled / total >= 0.95, "{last}");
}

#[test]
fn every_failure_is_listed_with_file_and_reason() {
    let Some(rules) = shared("sigma/unsupported") else {
        return;
    };
    let run = vigie(&["rules", "check", rules.to_str().unwrap()]);
    let errors: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("error\t"))
        .collect();
    assert!(
        !errors.is_empty(),
        "the unsupported rules should not all compile"
    );
    for line in &errors {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "{line}");
        assert!(cols[1].contains(".yml"), "{line}");
        assert!(!cols[2].is_empty(), "{line}");
    }
    assert!(
        run.stdout.contains("aggregation"),
        "legacy aggregations should be named"
    );
    assert_eq!(run.code, 1);
}
