//! `vigie rules check`.

use std::path::{Path, PathBuf};

use vigie_sigma::RuleSetBuilder;

use crate::exit;

pub fn check(paths: &[PathBuf], placeholders: Option<&Path>, pipelines: &[PathBuf]) -> u8 {
    let started = std::time::Instant::now();
    let mut builder = RuleSetBuilder::new();
    if let Err(e) = load_pipelines(&mut builder, pipelines) {
        eprintln!("vigie: {e}");
        return exit::ERROR;
    }
    if let Some(path) = placeholders {
        if let Err(e) = load_placeholders(&mut builder, path) {
            eprintln!("vigie: {e}");
            return exit::ERROR;
        }
    }
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
    let cloud_paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let cloud_map = vigie_sources::cloud::FieldMap::builtin();
    for p in vigie_sources::cloud::rules::check_cloud_rule_fields(&cloud_paths, &cloud_map) {
        println!("no-field\t{}\t{}", p.origin, p.reason);
    }
    for p in &report.needs_placeholders {
        println!("placeholder\t{}\t{}", p.origin, p.reason);
    }
    let compiled = report.loaded
        + report.correlations
        + report.unrouted.len()
        + report.duplicates.len()
        + report.needs_placeholders.len();
    let total = compiled + report.errors.len();
    let share = if total == 0 {
        100.0
    } else {
        compiled as f64 * 100.0 / total as f64
    };
    println!(
        "{compiled} of {total} rules compiled ({share:.2}%) from {} files in {:.2}s; {} usable, {} correlations, {} with a logsource vigie does not map, {} waiting for placeholder values, {} duplicate ids, {} filters, {} failed",
        report.files,
        started.elapsed().as_secs_f64(),
        report.loaded,
        report.correlations,
        report.unrouted.len(),
        report.needs_placeholders.len(),
        report.duplicates.len(),
        report.filters,
        report.errors.len()
    );
    if report.errors.is_empty() {
        exit::FOUND
    } else {
        exit::NONE
    }
}

/// Adds processing pipelines (files, or `builtin:NAME`) to the builder;
/// they must come before the rules, which they rewrite as they load.
pub fn load_pipelines(builder: &mut RuleSetBuilder, pipelines: &[PathBuf]) -> Result<(), String> {
    for path in pipelines {
        let shown = path.display().to_string();
        let text = match shown.strip_prefix("builtin:") {
            Some(name) => vigie_sigma::pipeline::builtin(name)
                .ok_or_else(|| {
                    let names: Vec<&str> = vigie_sigma::pipeline::BUILTIN_PIPELINES
                        .iter()
                        .map(|(n, _)| *n)
                        .collect();
                    format!(
                        "no built-in pipeline '{name}' (built-in: {})",
                        names.join(", ")
                    )
                })?
                .to_owned(),
            None => {
                std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?
            }
        };
        builder.add_pipeline_yaml(&shown, &text)?;
    }
    Ok(())
}

/// Reads a placeholder file into the builder.
pub fn load_placeholders(builder: &mut RuleSetBuilder, path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    builder
        .placeholders_yaml(&text)
        .map_err(|e| format!("{}: {e}", path.display()))
}
