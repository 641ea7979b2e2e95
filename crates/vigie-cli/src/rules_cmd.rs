//! `vigie rules check`.

use std::path::PathBuf;

use vigie_sigma::RuleSetBuilder;

use crate::exit;

pub fn check(paths: &[PathBuf]) -> u8 {
    let started = std::time::Instant::now();
    let mut builder = RuleSetBuilder::new();
    for path in paths {
        if !path.exists() {
            eprintln!("vigie: {}: no such file or folder", path.display());
            return exit::ERROR;
        }
        builder.add_path(path);
    }
    let (_, report) = builder.build();
    for p in &report.errors {
        println!("error\t{}\t{}", p.origin, p.reason);
    }
    for p in &report.unrouted {
        println!("unrouted\t{}\t{}", p.origin, p.reason);
    }
    for p in &report.duplicates {
        println!("duplicate\t{}\t{}", p.origin, p.reason);
    }
    let compiled = report.loaded + report.unrouted.len() + report.duplicates.len();
    let total = compiled + report.errors.len();
    let share = if total == 0 {
        100.0
    } else {
        compiled as f64 * 100.0 / total as f64
    };
    println!(
        "{compiled} of {total} rules compiled ({share:.2}%) from {} files in {:.2}s; {} usable, {} with a logsource vigie does not map, {} duplicate ids, {} failed",
        report.files,
        started.elapsed().as_secs_f64(),
        report.loaded,
        report.unrouted.len(),
        report.duplicates.len(),
        report.errors.len()
    );
    if report.errors.is_empty() {
        exit::FOUND
    } else {
        exit::NONE
    }
}
