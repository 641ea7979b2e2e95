//! The `vigie` command line.

mod hunt;
mod rules_cmd;
mod summary;

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
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Compile rules and list every one that fails, with its reason.
    Check {
        /// Rule files or folders (recursive).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
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
    /// Worker threads (default: all cores).
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

fn parse_format(s: &str) -> Result<OutputFormat, String> {
    s.parse()
}

fn parse_profile(s: &str) -> Result<CsvProfile, String> {
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
        Command::Rules(RulesCommand::Check { paths }) => rules_cmd::check(&paths),
    };
    ExitCode::from(code)
}
