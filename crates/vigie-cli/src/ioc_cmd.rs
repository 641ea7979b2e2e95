//! `vigie ioc check|stats`, and the IOC detector of `vigie hunt --ioc`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use vigie_core::{Detector, FieldNames, Level};
use vigie_ioc::{FeedSet, FieldTable, IocDetector, IocOptions, IocType, BUILTIN};
use vigie_sinks::strip_control;

use crate::exit;

/// Loads every feed; a path that does not exist is an error (`builtin`
/// names the built-in pack).
fn load(paths: &[PathBuf]) -> Result<FeedSet, String> {
    let mut set = FeedSet::new();
    for path in paths {
        if path.as_os_str() != BUILTIN && !path.exists() {
            return Err(format!(
                "{}: no such IOC feed file or folder",
                path.display()
            ));
        }
        set.add_path(path);
    }
    Ok(set)
}

/// The IOC detector for `hunt --ioc`, or `None` without `--ioc`. Bad
/// indicators are reported on standard error and the rest is used.
pub fn hunt_detector(
    paths: &[PathBuf],
    any_field: bool,
    names: &mut FieldNames,
) -> Result<Option<Box<dyn Detector>>, String> {
    if paths.is_empty() {
        return Ok(None);
    }
    let set = load(paths)?;
    let (index, feeds, report) = set.into_index();
    let mut err = std::io::stderr().lock();
    for problem in report.errors.iter().chain(&report.bad) {
        let _ = writeln!(err, "vigie: ioc: {}", strip_control(&problem.to_string()));
    }
    if let Some(first) = report.errors.first() {
        return Err(format!(
            "cannot read IOC feed {}",
            strip_control(&first.to_string())
        ));
    }
    if index.is_empty() {
        return Err("no usable indicator in the IOC feeds".into());
    }
    let _ = writeln!(
        err,
        "ioc:        {} indicators from {} feeds ({} bad, {} not for detection)",
        index.len(),
        feeds.len(),
        report.bad.len(),
        report.skipped
    );
    let options = IocOptions { any_field };
    let detector = IocDetector::new(index, feeds, &FieldTable::builtin(), names, options)?;
    Ok(Some(Box::new(detector)))
}

/// `vigie ioc check`: 0 all indicators usable, 1 some bad, 2 an error.
pub fn check(paths: &[PathBuf]) -> u8 {
    let set = match load(paths) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("vigie: {e}");
            return exit::ERROR;
        }
    };
    let mut out = std::io::stdout().lock();
    for problem in &set.report.errors {
        let _ = writeln!(out, "error\t{}", strip_control(&problem.to_string()));
    }
    for problem in &set.report.bad {
        let _ = writeln!(out, "bad\t{}", strip_control(&problem.to_string()));
    }
    let mut by_type: BTreeMap<IocType, usize> = BTreeMap::new();
    for ind in &set.indicators {
        for atom in ind.any_of.iter().flatten() {
            *by_type.entry(atom.ty()).or_default() += 1;
        }
    }
    for (ty, n) in &by_type {
        let _ = writeln!(out, "{:>10}  {ty}", n);
    }
    let total = set.indicators.len() + set.report.bad.len();
    let _ = writeln!(
        out,
        "{} of {} indicators loaded from {} files ({} bad, {} not for detection)",
        set.indicators.len(),
        total,
        set.report.files,
        set.report.bad.len(),
        set.report.skipped
    );
    if !set.report.errors.is_empty() {
        exit::ERROR
    } else if !set.report.bad.is_empty() {
        exit::NONE
    } else {
        exit::FOUND
    }
}

/// `vigie ioc stats`: indicators per feed, type and confidence.
pub fn stats(paths: &[PathBuf]) -> u8 {
    let set = match load(paths) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("vigie: {e}");
            return exit::ERROR;
        }
    };
    let mut rows: BTreeMap<(String, IocType, Level, String), usize> = BTreeMap::new();
    for ind in &set.indicators {
        let feed = set
            .feeds
            .get(ind.feed as usize)
            .map_or_else(String::new, |f| f.name.clone());
        let ty = ind.headline().map_or(IocType::Ip, |a| a.ty());
        let confidence = ind
            .confidence
            .map_or_else(|| "-".to_owned(), |c| c.to_string());
        *rows
            .entry((feed, ty, ind.alert_level(), confidence))
            .or_default() += 1;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "feed\ttype\tlevel\tconfidence\tindicators");
    for ((feed, ty, level, confidence), n) in &rows {
        let _ = writeln!(
            out,
            "{}\t{ty}\t{level}\t{confidence}\t{n}",
            strip_control(feed)
        );
    }
    let _ = writeln!(
        out,
        "total\t\t\t\t{} ({} bad, {} not for detection)",
        set.indicators.len(),
        set.report.bad.len(),
        set.report.skipped
    );
    if set.report.errors.is_empty() {
        exit::FOUND
    } else {
        for problem in &set.report.errors {
            eprintln!("vigie: {}", strip_control(&problem.to_string()));
        }
        exit::ERROR
    }
}
