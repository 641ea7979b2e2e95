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
