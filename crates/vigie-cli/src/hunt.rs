//! `vigie hunt`: sources → events → Sigma rules → alerts → sinks.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use vigie_core::{well_known, Alert, Event, Level};
use vigie_sigma::{LogsourceMap, Match, RuleSet, RuleSetBuilder};
use vigie_sinks::{OutputFormat, TableOptions};
use vigie_sources::{Diagnostic, EventHandler, Input, ReadOptions, Severity};

use crate::summary::Summary;
use crate::{exit, HuntArgs};

/// Field names that carry the acting or targeted account, most specific
/// first.
const USER_FIELDS: &[&str] = &[
    "TargetUserName",
    "SubjectUserName",
    "User",
    "UserName",
    "AccountName",
    "UserId",
    "userPrincipalName",
    "properties.userPrincipalName",
];

/// Receives events from the sources (on any thread) and runs the rules.
struct Detector<'a> {
    rules: &'a RuleSet,
    min_level: Level,
    files: &'a [Arc<str>],
    events: AtomicU64,
    alerts: Mutex<Vec<Alert>>,
    diagnostics: Mutex<Vec<Diagnostic>>,
    progress: ProgressBar,
}

thread_local! {
    static MATCHES: RefCell<Vec<Match>> = const { RefCell::new(Vec::new()) };
}

impl EventHandler for Detector<'_> {
    fn on_event(&self, event: &Event) {
        self.events.fetch_add(1, Ordering::Relaxed);
        MATCHES.with(|cell| {
            let mut matches = cell.borrow_mut();
            matches.clear();
            self.rules.matches(event, &mut matches);
            if matches.is_empty() {
                return;
            }
            let mut found = Vec::new();
            for m in matches.iter() {
                let rule = &self.rules.rule(m.rule).meta;
                if rule.level >= self.min_level {
                    found.push(self.alert(m, event));
                }
            }
            if !found.is_empty() {
                if let Ok(mut alerts) = self.alerts.lock() {
                    alerts.extend(found);
                }
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

impl Detector<'_> {
    fn alert(&self, m: &Match, event: &Event) -> Alert {
        let rule = self.rules.rule(m.rule).meta.clone();
        let first = |id| event.first(id).map(|v| v.text.to_owned());
        let user = USER_FIELDS
            .iter()
            .find_map(|f| event.get(f).filter(|v| !v.is_empty() && *v != "-"))
            .map(str::to_owned);
        let channel = first(well_known::CHANNEL).or_else(|| {
            let ls = &event.logsource;
            ls.service.or(ls.category).or(ls.product).map(str::to_owned)
        });
        Alert {
            rule,
            timestamp: event.timestamp,
            file: self
                .files
                .get(event.source as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from("")),
            record: event.record,
            host: first(well_known::COMPUTER),
            user,
            channel,
            event_id: first(well_known::EVENT_ID),
            evidence: self.rules.evidence(m, event),
            event: event.to_json(),
        }
    }
}

/// Loads the rules named on the command line, or the built-in pack.
fn load_rules(args: &HuntArgs) -> Result<(RuleSet, vigie_sigma::LoadReport), String> {
    let mut builder = RuleSetBuilder::new();
    if let Some(path) = &args.logsource_map {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        builder.extend_mapping(
            LogsourceMap::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?,
        );
    }
    if args.rules.is_empty() {
        builder.add_builtin();
    }
    for path in &args.rules {
        if !path.exists() {
            return Err(format!("{}: no such rule file or folder", path.display()));
        }
        builder.add_path(path);
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
    let detector = Detector {
        rules: &rules,
        min_level: args.min_level,
        files: &files,
        events: AtomicU64::new(0),
        alerts: Mutex::new(Vec::new()),
        diagnostics: Mutex::new(Vec::new()),
        progress,
    };
    let options = ReadOptions {
        names: rules.names(),
        max_record_bytes: 256 << 20,
    };
    let scan_started = Instant::now();
    let stats: Vec<_> = inputs
        .par_iter()
        .enumerate()
        .map(|(i, input): (usize, &Input)| {
            vigie_sources::read_input(input, i as u32, &options, &detector)
        })
        .collect();
    let scan_time = scan_started.elapsed();
    detector.progress.finish_and_clear();

    let mut alerts = detector.alerts.into_inner().unwrap_or_default();
    alerts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut diagnostics = detector.diagnostics.into_inner().unwrap_or_default();
    discovery_errors.append(&mut diagnostics);
    let mut diagnostics = discovery_errors;
    diagnostics.sort_by(|a, b| (&a.path, a.record).cmp(&(&b.path, b.record)));

    let write_result = write_alerts(args, &alerts);
    let summary = Summary {
        files: inputs.len(),
        events: detector.events.load(Ordering::Relaxed),
        bytes: total_bytes,
        rules_loaded: report.loaded,
        rule_report: &report,
        rules_time,
        scan_time,
        alerts: &alerts,
        diagnostics: &diagnostics,
        stats: &stats,
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
    } else if alerts.is_empty() {
        exit::NONE
    } else {
        exit::FOUND
    }
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

fn write_alerts(args: &HuntArgs, alerts: &[Alert]) -> std::io::Result<()> {
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
