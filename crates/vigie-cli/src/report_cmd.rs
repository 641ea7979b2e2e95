//! `vigie report blast-radius`, and the identity detectors' options shared
//! with `vigie hunt`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use rayon::prelude::*;
use vigie_core::{Collector, Event, FieldNames, StatefulRunner};
use vigie_identity::blast::{Ledger, Suspicious};
use vigie_identity::{BaselineDetector, BaselineOptions, IdentityRules, OrphanTokenDetector};
use vigie_sources::{Diagnostic, EventHandler, ReadOptions, Severity};

use crate::exit;

/// Options of the keyed detectors on cloud identity logs.
#[derive(Args, Clone, Debug, Default)]
pub struct IdentityArgs {
    /// Learning window of the baselines (first-seen mail apps, new
    /// countries), in days from the first event. Default: 7, or a third of
    /// the data's span if shorter; 0 with --baseline.
    #[arg(long, value_name = "DAYS")]
    pub learn_days: Option<f64>,
    /// A baseline saved by an earlier run (--baseline-save): what it lists
    /// is known from the start.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Save what this run knows at its end (apps that read mail, countries
    /// and networks per user) as a baseline for later runs.
    #[arg(long, value_name = "FILE")]
    pub baseline_save: Option<PathBuf>,
    /// Alert (low) on sign-ins from networks new for the user; by default
    /// they are only counted in the summary.
    #[arg(long)]
    pub alert_new_networks: bool,
    /// A MaxMind-format database (GeoLite2/GeoIP2 City or Country `.mmdb`)
    /// to locate sign-ins whose log gives no location (new countries,
    /// impossible travel). The logs' own location fields win.
    #[arg(long, value_name = "FILE")]
    pub geoip: Option<PathBuf>,
    /// Do not run the identity detectors.
    #[arg(long)]
    pub no_identity: bool,
}

/// The identity detectors, as keyed runners for the hunt pipeline.
pub fn identity_detectors(args: &IdentityArgs) -> Result<Vec<Box<dyn StatefulRunner>>, String> {
    if args.no_identity {
        return Ok(Vec::new());
    }
    let learn_days = args.learn_days;
    if learn_days.is_some_and(|d| !d.is_finite() || d < 0.0) {
        return Err("--learn-days: expected a number of days, 0 or more".to_owned());
    }
    let baseline = match &args.baseline {
        Some(path) => Some(vigie_identity::Baseline::load(path)?),
        None => None,
    };
    let rules = IdentityRules::new();
    let options = BaselineOptions {
        learn_days,
        baseline,
        save: args.baseline_save.clone(),
        alert_new_networks: args.alert_new_networks,
        geoip: match &args.geoip {
            Some(path) => Some(std::sync::Arc::new(vigie_identity::GeoDb::open(path)?)),
            None => None,
        },
    };
    Ok(vec![
        Box::new(Collector::new(OrphanTokenDetector::new(
            &rules,
            Default::default(),
        ))),
        Box::new(Collector::new(BaselineDetector::new(&rules, options))),
    ])
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// What the suspicious tokens touched: per mailbox, first and last
    /// access, folders, every InternetMessageId read or synchronised, IPs,
    /// user agents and apps; and the attacker's tokens, sessions, IPs and
    /// apps with what each touched.
    BlastRadius(BlastArgs),
}

#[derive(Args)]
pub struct BlastArgs {
    /// Log files or folders (recursive).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// csv, json or markdown.
    #[arg(short, long, default_value = "markdown", value_parser = ["csv", "json", "markdown"])]
    pub format: String,
    /// Write the report here instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub identity: IdentityArgs,
}

pub fn run(command: &ReportCommand) -> u8 {
    match command {
        ReportCommand::BlastRadius(args) => blast_radius(args),
    }
}

/// Calls a function on every event of the inputs, in parallel.
struct Each<F: Fn(&Event) + Sync> {
    on: F,
    errors: std::sync::atomic::AtomicU64,
    report: bool,
}

impl<F: Fn(&Event) + Sync> EventHandler for Each<F> {
    fn on_event(&self, event: &Event) {
        (self.on)(event)
    }

    fn on_diagnostic(&self, d: Diagnostic) {
        if matches!(d.severity, Severity::Error) {
            self.errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if self.report {
            eprintln!("vigie: {}", vigie_sinks::strip_control(&d.to_string()));
        }
    }
}

/// One scan of every input; a fresh duplicate filter each time, since each
/// pass must see every record once.
fn scan(inputs: &[vigie_sources::Input], report: bool, on: impl Fn(&Event) + Sync) -> u64 {
    let options = ReadOptions::new(Arc::new(FieldNames::new()));
    let each = Each {
        on,
        errors: Default::default(),
        report,
    };
    inputs.par_iter().enumerate().for_each(|(i, input)| {
        vigie_sources::read_input(input, i as u32, &options, &each);
    });
    each.errors.into_inner()
}

fn blast_radius(args: &BlastArgs) -> u8 {
    let (inputs, discovery) = vigie_sources::discover(&args.paths);
    for d in &discovery {
        eprintln!("vigie: {}", vigie_sinks::strip_control(&d.to_string()));
    }
    let detectors = match identity_detectors(&IdentityArgs {
        no_identity: false,
        ..args.identity.clone()
    }) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("vigie: {e}");
            return exit::ERROR;
        }
    };
    // Pass 1: the detectors name the suspicious tokens.
    let errors = scan(&inputs, true, |event| {
        for d in &detectors {
            d.observe(event, &[]);
        }
    });
    let findings: Vec<_> = detectors.iter().map(|d| d.finish()).collect();
    let rules = IdentityRules::new();
    let alerts = findings
        .iter()
        .flat_map(|f| f.alerts.iter().map(|(_, a)| a));
    let suspicious = Suspicious::from_alerts(&rules, alerts);
    for note in findings.iter().flat_map(|f| &f.notes) {
        eprintln!("vigie: {}", vigie_sinks::strip_control(note));
    }
    // Pass 2: everything those tokens (and consumer-tenant tokens) touched.
    let ledger = Ledger::new(suspicious);
    scan(&inputs, false, |event| ledger.observe(event));
    let radius = ledger.finish();
    if let Err(e) = write(args, &radius) {
        eprintln!("vigie: cannot write the report: {e}");
        return exit::ERROR;
    }
    eprintln!(
        "vigie: blast radius: {} suspicious accesses, {} mailboxes",
        radius.accesses,
        radius.mailboxes.len()
    );
    if errors > 0
        || discovery
            .iter()
            .any(|d| matches!(d.severity, Severity::Error))
    {
        exit::ERROR
    } else if radius.accesses == 0 {
        exit::NONE
    } else {
        exit::FOUND
    }
}

fn write(args: &BlastArgs, radius: &vigie_identity::blast::BlastRadius) -> std::io::Result<()> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(File::create(path)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    match args.format.as_str() {
        "csv" => vigie_identity::report::write_csv(radius, &mut out)?,
        "json" => vigie_identity::report::write_json(radius, &mut out)?,
        _ => vigie_identity::report::write_markdown(radius, &mut out)?,
    }
    out.flush()
}
