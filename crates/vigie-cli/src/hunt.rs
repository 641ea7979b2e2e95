//! `vigie hunt`: sources → events → Sigma rules → alerts → sinks.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use vigie_core::{Alert, Detector, Event, StatefulRunner};
use vigie_sigma::{LogsourceMap, RuleSet, RuleSetBuilder, SigmaDetector};
use vigie_sinks::{AlertStore, OutputFormat, TableOptions};
use vigie_sources::{Diagnostic, EventHandler, Input, ReadOptions, Severity};

use crate::summary::Summary;
use crate::{exit, HuntArgs};

/// Receives events from the sources (on any thread) and runs every
/// detector on each.
struct Pipeline<'a> {
    detectors: &'a [Box<dyn Detector>],
    /// Keyed detectors: they observe each event with the alerts raised on
    /// it, and replay what they kept after the scan.
    stateful: &'a [Box<dyn StatefulRunner>],
    files: &'a [Arc<str>],
    events: AtomicU64,
    /// Detections, held within a memory budget (sorted runs on disk past
    /// it).
    alerts: AlertStore,
    diagnostics: Mutex<Vec<Diagnostic>>,
    progress: ProgressBar,
}

thread_local! {
    static FOUND: RefCell<Vec<Alert>> = const { RefCell::new(Vec::new()) };
}

impl EventHandler for Pipeline<'_> {
    fn on_event(&self, event: &Event) {
        self.events.fetch_add(1, Ordering::Relaxed);
        FOUND.with(|cell| {
            let mut found = cell.borrow_mut();
            for detector in self.detectors {
                detector.detect(event, &mut |mut alert| {
                    // No output holds a whole token, whichever detector fired.
                    vigie_token::redact_alert(&mut alert);
                    alert.file = self
                        .files
                        .get(event.source as usize)
                        .cloned()
                        .unwrap_or_else(|| Arc::from(""));
                    found.push(alert);
                });
            }
            for runner in self.stateful {
                runner.observe(event, &found);
            }
            // Base rules of correlations that generate nothing of their own
            // have done their work once observed.
            found.retain(|a| !a.rule.internal);
            if !found.is_empty() {
                self.alerts.append(&mut found);
            }
        });
    }

    fn on_diagnostic(&self, d: Diagnostic) {
        if let Ok(mut diags) = self.diagnostics.lock() {
            diags.push(d);
        }
    }

    fn on_bytes(&self, n: u64) {
        self.progress.inc(n);
    }
}

/// Loads the rules named on the command line, or the built-in pack.
fn load_rules(args: &HuntArgs) -> Result<(RuleSet, vigie_sigma::LoadReport), String> {
    let mut builder = RuleSetBuilder::new();
    if args.stats {
        builder = builder.count_evaluations();
    }
    if let Some(path) = &args.logsource_map {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        builder.extend_mapping(
            LogsourceMap::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?,
        );
    }
    if let Some(path) = &args.placeholders {
        crate::rules_cmd::load_placeholders(&mut builder, path)?;
    }
    crate::rules_cmd::load_pipelines(&mut builder, &args.pipeline)?;
    for path in &args.rules {
        if !path.exists() {
            return Err(format!("{}: no such rule file or folder", path.display()));
        }
        builder.add_path(path);
    }
    // User rules first: a built-in rule that duplicates one of them by id is
    // skipped (and counted as a duplicate in the summary).
    if args.rules.is_empty() || args.builtin {
        builder.add_builtin();
    }
    let (rules, report) = builder.build();
    if rules.is_empty() {
        return Err(format!(
            "no usable rules ({} failed to compile, {} not routable)",
            report.errors.len(),
            report.unrouted.len()
        ));
    }
    Ok((rules, report))
}

/// Every detector this hunt runs, Sigma first. Other detectors (IOC feeds,
/// token checks) are added here from their options.
fn build_detectors(
    args: &HuntArgs,
    rules: Arc<RuleSet>,
    names: &mut vigie_core::FieldNames,
) -> Result<Vec<Box<dyn Detector>>, String> {
    let mut detectors: Vec<Box<dyn Detector>> = vec![Box::new(SigmaDetector {
        rules,
        min_level: args.min_level,
    })];
    if let Some(ioc) = crate::ioc_cmd::hunt_detector(&args.ioc, args.ioc_any_field, names)? {
        detectors.push(ioc);
    }
    detectors.push(token_detector(args)?);
    Ok(detectors)
}

/// Every keyed detector this hunt runs (Sigma correlations, the cloud
/// identity detectors), from the loaded rules and the options.
fn build_stateful(
    args: &HuntArgs,
    rules: &Arc<RuleSet>,
) -> Result<Vec<Box<dyn StatefulRunner>>, String> {
    let mut stateful: Vec<Box<dyn StatefulRunner>> = Vec::new();
    if let Some(set) = rules.correlations() {
        let detector = vigie_sigma::CorrelationDetector::new(set);
        stateful.push(Box::new(vigie_core::Collector::new(detector)));
    }
    stateful.extend(crate::report_cmd::identity_detectors(&args.identity)?);
    Ok(stateful)
}

/// Replays what each keyed detector kept, in parallel, and returns their
/// alerts (files filled in, tokens redacted, below `--min-level` dropped)
/// and their notes for the summary.
fn finish_stateful(
    stateful: &[Box<dyn StatefulRunner>],
    files: &[Arc<str>],
    min_level: vigie_core::Level,
) -> (Vec<Alert>, Vec<String>) {
    let findings: Vec<_> = stateful.par_iter().map(|r| r.finish()).collect();
    let mut alerts = Vec::new();
    let mut notes = Vec::new();
    for found in findings {
        for (source, mut alert) in found.alerts {
            if alert.rule.internal || alert.rule.level < min_level {
                continue;
            }
            vigie_token::redact_alert(&mut alert);
            if let Some(file) = source.and_then(|s| files.get(s as usize)) {
                alert.file = file.clone();
            }
            alerts.push(alert);
        }
        notes.extend(found.notes);
    }
    (alerts, notes)
}

/// The JWT checks, against the `--jwks` snapshots (none: the checks that
/// need no key still run).
fn token_detector(args: &HuntArgs) -> Result<Box<dyn Detector>, String> {
    let mut store = vigie_token::KeyStore::default();
    for path in &args.jwks {
        store.add_path(path).map_err(|e| e.to_string())?;
    }
    for set in &store.sets {
        for warning in &set.warnings {
            let warning = vigie_token::clean(warning);
            eprintln!("vigie: {}: {warning}", set.path.display());
        }
    }
    let detector = vigie_token::TokenDetector::new(store, args.min_level);
    Ok(Box::new(detector))
}

pub fn run(args: &HuntArgs) -> u8 {
    if let Some(threads) = args.threads {
        // Only fails when a pool already exists, which is harmless here.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global();
    }
    let started = Instant::now();
    let (rules, report) = match load_rules(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vigie: {e}");
            return exit::ERROR;
        }
    };
    let rules_time = started.elapsed();
    let (inputs, mut discovery_errors) = vigie_sources::discover(&args.paths);
    let files: Vec<Arc<str>> = inputs.iter().map(|i| i.display.clone()).collect();
    let total_bytes: u64 = inputs.iter().map(|i| i.size).sum();
    let progress = progress_bar(args.quiet, total_bytes);
    // Detectors may add the field names they read (the IOC field table) to
    // the table events are built with; ids already given keep their value.
    let mut names = (*rules.names()).clone();
    let rules = Arc::new(rules);
    let detectors = match build_detectors(args, rules.clone(), &mut names) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("vigie: {e}");
            return exit::ERROR;
        }
    };
    let stateful = match build_stateful(args, &rules) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vigie: {e}");
            return exit::ERROR;
        }
    };
    let pipeline = Pipeline {
        detectors: &detectors,
        stateful: &stateful,
        files: &files,
        events: AtomicU64::new(0),
        alerts: AlertStore::new(args.alert_memory.saturating_mul(1 << 20)),
        diagnostics: Mutex::new(Vec::new()),
        progress,
    };
    let cloud = match cloud_options(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vigie: {e}");
            return exit::ERROR;
        }
    };
    // The cloud normaliser's names go last, after every detector's.
    let mut options = ReadOptions::with_cloud(Arc::new(names), cloud);
    options.map_files = !args.no_mmap;
    let scan_started = Instant::now();
    let stats: Vec<_> = inputs
        .par_iter()
        .enumerate()
        .map(|(i, input): (usize, &Input)| {
            vigie_sources::read_input(input, i as u32, &options, &pipeline)
        })
        .collect();
    pipeline.progress.finish_and_clear();
    let (mut correlated, mut notes) = finish_stateful(&stateful, &files, args.min_level);
    let unchecked = options.cloud.dedup.unchecked();
    if unchecked > 0 {
        notes.push(format!(
            "duplicate filter full ({} records remembered): {unchecked} later cloud records were kept without a duplicate check (raise --dedup-cap)",
            args.dedup_cap
        ));
    }
    let scan_time = scan_started.elapsed();

    // The keyed detectors' alerts are few (their state is capped); the
    // summary's blast-radius lines read them.
    let keyed_alerts = correlated.clone();
    pipeline.alerts.append(&mut correlated);
    let tally = pipeline.alerts.tally();
    let mut sorted = pipeline.alerts.into_sorted();
    let mut diagnostics = pipeline.diagnostics.into_inner().unwrap_or_default();
    discovery_errors.append(&mut diagnostics);
    let mut diagnostics = discovery_errors;
    diagnostics.sort_by(|a, b| (&a.path, a.record).cmp(&(&b.path, b.record)));

    let write_result = write_alerts(args, &mut sorted).and_then(|()| match sorted.error() {
        Some(e) => Err(std::io::Error::other(e.to_owned())),
        None => Ok(()),
    });
    let summary = Summary {
        files: inputs.len(),
        events: pipeline.events.load(Ordering::Relaxed),
        bytes: total_bytes,
        rules_loaded: report.loaded,
        rule_report: &report,
        rules_time,
        scan_time,
        tally: &tally,
        keyed_alerts: &keyed_alerts,
        diagnostics: &diagnostics,
        notes: &notes,
        stats: &stats,
        eval_stats: rules.eval_stats(5),
    };
    summary.print(&mut std::io::stderr());
    if let Err(e) = write_result {
        eprintln!("vigie: cannot write output: {e}");
        return exit::ERROR;
    }
    if diagnostics
        .iter()
        .any(|d| matches!(d.severity, Severity::Error))
    {
        exit::ERROR
    } else if tally.total == 0 {
        exit::NONE
    } else {
        exit::FOUND
    }
}

/// The cloud normaliser's settings: `--timezone`, `--cloud-fields`.
fn cloud_options(args: &HuntArgs) -> Result<vigie_sources::cloud::CloudOptions, String> {
    let mut fields = vigie_sources::cloud::FieldMap::builtin();
    if let Some(path) = &args.cloud_fields {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        fields
            .extend_yaml(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(vigie_sources::cloud::CloudOptions {
        timezone: args.timezone,
        fields: Arc::new(fields),
        dedup: Arc::new(vigie_sources::cloud::Dedup::with_cap(args.dedup_cap)),
    })
}

fn progress_bar(quiet: bool, total: u64) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn write_alerts(args: &HuntArgs, alerts: &mut vigie_sinks::Sorted) -> std::io::Result<()> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(File::create(path)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    match args.format {
        OutputFormat::Csv => vigie_sinks::write_csv(alerts, args.profile, &mut out)?,
        OutputFormat::Jsonl => vigie_sinks::write_jsonl(alerts, &mut out)?,
        OutputFormat::Table => {
            let width = if to_terminal {
                std::env::var("COLUMNS")
                    .ok()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(160)
            } else {
                0
            };
            let opts = TableOptions {
                color: to_terminal,
                width,
            };
            vigie_sinks::write_table(alerts, &opts, &mut out)?
        }
    }
    out.flush()
}
