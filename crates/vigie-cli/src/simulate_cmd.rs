//! `vigie simulate tenant`: writes a simulated tenant's logs (vigie-sim).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use vigie_sim::{Attack, Config, Shape};

use crate::exit;

#[derive(Subcommand)]
pub enum SimulateCommand {
    /// Write a simulated Microsoft 365 / Entra ID tenant's logs, optionally
    /// with an injected intrusion and its ground truth.
    Tenant(TenantArgs),
}

#[derive(Args)]
pub struct TenantArgs {
    /// Output folder (created if needed).
    pub out: PathBuf,
    /// Number of users.
    #[arg(long, default_value_t = 25)]
    pub users: usize,
    /// Number of days.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First day (UTC), YYYY-MM-DD.
    #[arg(long, default_value = vigie_sim::DEFAULT_START)]
    pub start: String,
    /// Inject an intrusion: `storm-0558`.
    #[arg(long, value_parser = Attack::parse)]
    pub attack: Option<Attack>,
    /// Output shapes, comma-separated: ual-json, ual-purview-csv,
    /// entra-graph, entra-diagnostic, graph-activity, or `all`.
    /// Default: ual-json,entra-diagnostic,graph-activity (each event once).
    #[arg(long, value_parser = parse_shapes)]
    pub shapes: Option<ShapeList>,
}

/// The `--shapes` list as one value: clap takes an `Option<Vec<_>>` field
/// for a repeated option of single items, not one item parsed into a list.
#[derive(Clone, Debug)]
pub struct ShapeList(pub Vec<Shape>);

fn parse_shapes(text: &str) -> Result<ShapeList, String> {
    Shape::parse_list(text).map(ShapeList)
}

pub fn run(command: &SimulateCommand) -> u8 {
    match command {
        SimulateCommand::Tenant(args) => tenant(args),
    }
}

fn tenant(args: &TenantArgs) -> u8 {
    let config = Config {
        users: args.users,
        days: args.days,
        seed: args.seed,
        start: args.start.clone(),
        attack: args.attack,
        shapes: args
            .shapes
            .clone()
            .map_or_else(|| Shape::DEFAULT.to_vec(), |list| list.0),
    };
    match vigie_sim::simulate(&config, &args.out) {
        Ok(summary) => {
            let written = summary.records_written();
            let rate = summary.events as f64 / summary.seconds.max(1e-9);
            eprintln!(
                "simulated {} users over {} days (seed {}): {} events \
                 ({} sign-ins, {} directory audits, {} UAL, {} Graph activity; {} from the attack)",
                args.users,
                args.days,
                args.seed,
                summary.events,
                summary.sign_ins,
                summary.directory_audits,
                summary.ual,
                summary.graph_activity,
                summary.attack_events
            );
            eprintln!(
                "wrote {written} records in {} files under {} in {:.2} s ({rate:.0} events/s)",
                summary.files.len(),
                args.out.display(),
                summary.seconds
            );
            if let Some(path) = &summary.ground_truth {
                eprintln!("ground truth: {}", path.display());
            }
            exit::FOUND
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::ERROR
        }
    }
}
