//! Compiles the SigmaHQ rule set from `../shared/data/sigma` (skipped when
//! the shared data is not there, as in a fresh clone).

use std::path::PathBuf;

use vigie_sigma::RuleSetBuilder;

fn shared(rel: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: shared data not found at {}", path.display());
        None
    }
}

#[test]
fn at_least_95_percent_of_sigmahq_windows_rules_compile() {
    let Some(dir) = shared("sigma/rules/windows") else {
        return;
    };
    let mut builder = RuleSetBuilder::new();
    builder.add_path(&dir);
    let (rules, report) = builder.build();
    let compiled = report.loaded + report.unrouted.len() + report.duplicates.len();
    let total = compiled + report.errors.len();
    for p in &report.errors {
        eprintln!("error: {}: {}", p.origin, p.reason);
    }
    for p in report.unrouted.iter().take(50) {
        eprintln!("unrouted: {}: {}", p.origin, p.reason);
    }
    eprintln!(
        "{compiled}/{total} compiled, {} routed, {} unrouted",
        rules.len(),
        report.unrouted.len()
    );
    assert!(
        total > 2000,
        "expected the SigmaHQ windows rules, found {total}"
    );
    assert!(
        compiled * 100 >= total * 95,
        "only {compiled} of {total} compiled"
    );
}

/// The candidate index must never change what matches: compare against
/// evaluating every rule, over the OTRF Windows JSON events.
#[test]
fn candidate_index_changes_no_result() {
    let (Some(rules_dir), Some(data)) =
        (shared("sigma/rules/windows"), shared("jsonl/otrf-windows"))
    else {
        return;
    };
    let build = |indexed: bool| {
        let mut b = RuleSetBuilder::new();
        if !indexed {
            b = b.without_index();
        }
        b.add_path(&rules_dir);
        b.build().0
    };
    let (fast, slow) = (build(true), build(false));
    let mut files = Vec::new();
    let mut stack = vec![data];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                files.push(p);
            }
        }
    }
    let (mut events, mut hits) = (0, 0);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let Ok(serde_json::Value::Object(map)) = serde_json::from_str(line) else {
                continue;
            };
            let mut ev = vigie_core::Event::new(fast.names());
            ev.kind = vigie_core::EventKind::Windows;
            for (k, v) in &map {
                match v {
                    serde_json::Value::String(s) => ev.push(k, s, vigie_core::ValueKind::Str),
                    other => ev.push(k, &other.to_string(), vigie_core::ValueKind::Num),
                };
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            fast.matches(&ev, &mut a);
            slow.matches(&ev, &mut b);
            let ids = |v: &Vec<vigie_sigma::Match>| v.iter().map(|m| m.rule).collect::<Vec<_>>();
            assert_eq!(ids(&a), ids(&b), "index changed the result for {line}");
            events += 1;
            hits += a.len();
        }
    }
    eprintln!("{events} events, {hits} matches, identical with and without the index");
    assert!(
        events > 10_000 && hits > 100,
        "{events} events, {hits} hits"
    );
}
