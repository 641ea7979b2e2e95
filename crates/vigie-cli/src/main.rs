//! The `vigie` command line.

mod hunt;
mod ioc_cmd;
mod report_cmd;
mod rules_cmd;
mod simulate_cmd;
mod summary;
mod token_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use vigie_core::Level;
use vigie_sinks::{CsvProfile, OutputFormat};

/// Exit codes, grep-style (documented in the README).
pub mod exit {
    /// Detections were found (hunt), or every rule compiled (rules check).
    pub const FOUND: u8 = 0;
    /// No detection (hunt), or some rules did not compile (rules check).
    pub const NONE: u8 = 1;
    /// An error: bad arguments, no usable rules, or inputs that could not be
    /// read in whole or part (the rest was still processed).
    pub const ERROR: u8 = 2;
}

#[derive(Parser)]
#[command(
    name = "vigie",
    version,
    about = "Threat hunting over Windows and cloud logs with Sigma rules",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run detection rules over logs and write a timeline of detections.
    Hunt(HuntArgs),
    /// Work with rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write simulated logs (a Microsoft 365 / Entra ID tenant).
    #[command(subcommand)]
    Simulate(simulate_cmd::SimulateCommand),
    /// Work with IOC feeds.
    #[command(subcommand)]
    Ioc(IocCommand),
    /// Identity-token forensics: inspect, verify, fetch-keys.
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
    /// Reports over logs: `blast-radius` (what suspicious tokens read).
    #[command(subcommand)]
    Report(report_cmd::ReportCommand),
}

#[derive(Subcommand)]
enum IocCommand {
    /// Load feeds and list every bad indicator with its reason, then the
    /// counts per type (exit 0 all usable, 1 some bad, 2 an error).
    Check {
        /// Feed files or folders, or `builtin`.
        #[arg(required = true, value_name = "FILE_OR_DIR")]
        paths: Vec<PathBuf>,
    },
    /// Count indicators per feed, type, level and confidence.
    Stats {
        /// Feed files or folders, or `builtin`.
        #[arg(required = true, value_name = "FILE_OR_DIR")]
        paths: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Compile rules and list every one that fails, with its reason.
    Check {
        /// Rule files or folders (recursive).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Values for `%name%` placeholders of the `expand` modifier (YAML
        /// map: name → list of values).
        #[arg(long)]
        placeholders: Option<PathBuf>,
        /// A processing pipeline (pySigma YAML, or `builtin:NAME`) applied
        /// to every rule; repeatable, applied by priority then order.
        #[arg(long = "pipeline")]
        pipeline: Vec<PathBuf>,
    },
}

#[derive(Args)]
pub struct HuntArgs {
    /// Log files or folders (recursive); `-` reads standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Sigma rule files or folders; the built-in pack when none is given.
    #[arg(short, long = "rules")]
    pub rules: Vec<PathBuf>,
    /// Write detections here instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, default_value = "table", value_parser = parse_format)]
    pub format: OutputFormat,
    /// CSV column profile: `standard` (Timeline Explorer) or `timesketch`.
    #[arg(long, default_value = "standard", value_parser = parse_profile)]
    pub profile: CsvProfile,
    /// Only report detections of this level or above.
    #[arg(long, default_value = "informational", value_parser = parse_level)]
    pub min_level: Level,
    /// A logsource mapping file (YAML) to extend the built-in one.
    #[arg(long)]
    pub logsource_map: Option<PathBuf>,
    /// Values for `%name%` placeholders of the `expand` modifier (YAML map:
    /// name → list of values). Rules whose placeholders have no values do
    /// not run, and the summary says so.
    #[arg(long)]
    pub placeholders: Option<PathBuf>,
    /// A processing pipeline (pySigma YAML file, or `builtin:NAME`:
    /// winlogbeat, windows-ecs) that adapts every rule to the log's field
    /// names; repeatable, applied by priority then order given.
    #[arg(long = "pipeline")]
    pub pipeline: Vec<PathBuf>,
    /// Time zone of locale-formatted dates without one in cloud exports
    /// (Search-UnifiedAuditLog's `CreationDate`): UTC, local, or an offset
    /// such as +10:00.
    #[arg(long, default_value = "UTC", value_parser = parse_timezone)]
    pub timezone: vigie_sources::cloud::Timezone,
    /// A cloud field mapping file (YAML, the format of
    /// crates/vigie-sources/data/cloud-fields.yaml) to extend the built-in one.
    #[arg(long)]
    pub cloud_fields: Option<PathBuf>,
    /// Memory for held detections, in MiB; past it they are sorted into
    /// runs on disk (in the temporary folder) and merged for output.
    #[arg(long, value_name = "MIB", default_value_t = 96)]
    pub alert_memory: usize,
    /// Cloud records remembered by the duplicate filter (8 bytes each);
    /// later records are kept unchecked, and the summary says how many.
    #[arg(long, default_value_t = vigie_sources::cloud::DEFAULT_DEDUP_CAP)]
    pub dedup_cap: usize,
    /// Worker threads (default: all cores).
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// Read JSON files through buffers instead of memory-mapping the big
    /// ones. Mapping saves copying them, but a file truncated by another
    /// process during the hunt would kill the run (SIGBUS).
    #[arg(long)]
    pub no_mmap: bool,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Also load the built-in rule pack when `--rules` is given (a built-in
    /// rule with the id of an already loaded rule is skipped).
    #[arg(long)]
    pub builtin: bool,
    /// Key set (JWKS) files or folders of dated snapshots for checking the
    /// JWTs found in events. Repeatable. Without it, tokens still get the
    /// checks that need no key (compromised key id, consumer tenant,
    /// `alg: none`, lifetimes).
    #[arg(long = "jwks", value_name = "FILE_OR_DIR")]
    pub jwks: Vec<PathBuf>,
    /// IOC feed files or folders (STIX 2.1, MISP JSON, CSV, lists);
    /// `builtin` for the built-in advisory pack. Repeatable.
    #[arg(long = "ioc", value_name = "FILE_OR_DIR")]
    pub ioc: Vec<PathBuf>,
    /// Also search every string field for the IOC values (slower).
    #[arg(long)]
    pub ioc_any_field: bool,
    /// Count rule evaluations and report, in the summary, how many rules
    /// were evaluated per event and which the most (slightly slower).
    #[arg(long)]
    pub stats: bool,
    /// Keyed detectors on cloud identity logs.
    #[command(flatten)]
    pub identity: report_cmd::IdentityArgs,
}

fn parse_format(s: &str) -> Result<OutputFormat, String> {
    s.parse()
}

fn parse_profile(s: &str) -> Result<CsvProfile, String> {
    s.parse()
}

fn parse_timezone(s: &str) -> Result<vigie_sources::cloud::Timezone, String> {
    s.parse()
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::ERROR } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Hunt(args) => hunt::run(&args),
        Command::Rules(RulesCommand::Check {
            paths,
            placeholders,
            pipeline,
        }) => rules_cmd::check(&paths, placeholders.as_deref(), &pipeline),
        Command::Simulate(command) => simulate_cmd::run(&command),
        Command::Ioc(IocCommand::Check { paths }) => ioc_cmd::check(&paths),
        Command::Ioc(IocCommand::Stats { paths }) => ioc_cmd::stats(&paths),
        Command::Token(command) => token_cmd::run(&command),
        Command::Report(command) => report_cmd::run(&command),
    };
    ExitCode::from(code)
}
