//! vigie-sim: a simulated Microsoft 365 / Entra ID tenant, for tests,
//! benchmarks and examples.
//!
//! [`simulate`] writes the logs of `users` people over `days` days: Entra
//! sign-ins (interactive and non-interactive, with failures and
//! interrupts), Entra audit events, Exchange `MailItemsAccessed` (Bind and
//! Sync), `OWAAuth`, inbox rules, OneDrive file events and Microsoft Graph
//! activity. Records link exactly as the real logs do (threat brief §3.7):
//! a token's `uti` is its sign-in's `uniqueTokenIdentifier`, the mailbox's
//! `AppAccessContext.UniqueTokenId`, Graph's `signInActivityId`; its `sid`
//! is the sign-in's `sessionId`, Exchange's `SessionId` and
//! `AADSessionId`, Graph's `c_Sid`. Ordinary noise is there: failed sign-ins,
//! business trips, new devices, newly adopted apps, mailbox rules,
//! directory changes.
//!
//! With [`Attack::Storm0558`] an intrusion following the threat brief §1 is
//! injected ([`attack`]) and `ground-truth.json` says exactly what it did.
//!
//! Output is deterministic for a seed: randomness is ChaCha8 with one
//! stream per user-day ([`rng`]), nothing iterates a hash map, and dates
//! start from a fixed default. Records are written as they are made, one
//! day (and at most [`USERS_PER_BATCH`] users) at a time, sorted by time
//! within that batch, so memory stays bounded whatever the tenant's size.

pub mod attack;
mod audit;
pub mod catalog;
mod graph;
pub mod ground_truth;
mod mailbox;
pub mod records;
pub mod rng;
pub mod shapes;
mod sharepoint;
mod signins;
pub mod tenant;
pub mod time;
pub mod users;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use shapes::{Shape, WrittenFile};

use ground_truth::{GroundTruth, TenantFacts};
use records::Record;
use tenant::{BenignLog, Day};

/// Users simulated before their records are sorted and written.
pub const USERS_PER_BATCH: usize = 2000;

/// The default first day, fixed so that output never depends on today.
pub const DEFAULT_START: &str = "2023-06-05";

/// An intrusion to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    Storm0558,
}

impl Attack {
    pub fn parse(text: &str) -> Result<Attack, String> {
        match text {
            "storm-0558" | "storm0558" => Ok(Attack::Storm0558),
            other => Err(format!("unknown attack `{other}` (known: storm-0558)")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub users: usize,
    pub days: u32,
    pub seed: u64,
    /// First day, `YYYY-MM-DD` (UTC).
    pub start: String,
    pub attack: Option<Attack>,
    pub shapes: Vec<Shape>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            users: 25,
            days: 7,
            seed: 1,
            start: DEFAULT_START.to_owned(),
            attack: None,
            shapes: Shape::DEFAULT.to_vec(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// What a run wrote.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Distinct events simulated (each written once per shape of its log).
    pub events: u64,
    pub sign_ins: u64,
    pub directory_audits: u64,
    pub ual: u64,
    pub graph_activity: u64,
    pub attack_events: u64,
    pub files: Vec<WrittenFile>,
    pub ground_truth: Option<PathBuf>,
    pub seconds: f64,
}

impl Summary {
    /// Records written over all shapes (an event in two shapes counts twice).
    pub fn records_written(&self) -> u64 {
        self.files.iter().map(|f| f.records).sum()
    }
}

#[derive(Default)]
struct Counts {
    events: u64,
    sign_ins: u64,
    directory_audits: u64,
    ual: u64,
    graph_activity: u64,
}

impl Counts {
    fn add(&mut self, record: &Record) {
        self.events += 1;
        match record {
            Record::SignIn(_) => self.sign_ins += 1,
            Record::DirectoryAudit(_) => self.directory_audits += 1,
            Record::Ual(_) => self.ual += 1,
            Record::GraphActivity(_) => self.graph_activity += 1,
        }
    }
}

fn flush(
    batch: &mut Vec<Record>,
    writers: &mut shapes::Writers,
    counts: &mut Counts,
) -> io::Result<()> {
    // A stable sort: records of the same instant keep their generation order.
    batch.sort_by_key(Record::time);
    for record in batch.iter() {
        writers.write(record)?;
        counts.add(record);
    }
    batch.clear();
    Ok(())
}

/// Simulates the tenant and writes its logs under `out` (created if needed).
pub fn simulate(config: &Config, out: &Path) -> Result<Summary, SimError> {
    let started = Instant::now();
    let start = time::parse_date(&config.start).ok_or_else(|| {
        SimError::Config(format!(
            "--start `{}` is not a YYYY-MM-DD date",
            config.start
        ))
    })?;
    if config.users == 0 {
        return Err(SimError::Config("--users must be at least 1".to_owned()));
    }
    if config.days == 0 {
        return Err(SimError::Config("--days must be at least 1".to_owned()));
    }
    if config.shapes.is_empty() {
        return Err(SimError::Config("no output shape".to_owned()));
    }
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| SimError::Io { path, source }
    };
    fs::create_dir_all(out).map_err(io_error(out))?;

    let mut directory = users::build_tenant(config.seed, config.users);
    let mut plan = match config.attack {
        Some(Attack::Storm0558) => attack::plan(config.seed, &directory.users, config.days),
        None => None,
    };
    let mut writers =
        shapes::Writers::create(out, &config.shapes, &directory.org.id).map_err(io_error(out))?;
    let mut truth = GroundTruth {
        scenario: "storm-0558".to_owned(),
        tenant: TenantFacts {
            tenant_id: directory.org.id.clone(),
            domain: users::DOMAIN.to_owned(),
            users: config.users,
            days: config.days,
            start: config.start.clone(),
            seed: config.seed,
        },
        ..GroundTruth::default()
    };
    let mut benign = BenignLog::default();
    let mut counts = Counts::default();
    let mut batch: Vec<Record> = Vec::new();
    let mut attack_events = 0u64;

    for day_index in 0..config.days {
        let day = Day {
            org: &directory.org,
            seed: config.seed,
            index: day_index,
            start: start + i64::from(day_index) * time::DAY,
        };
        let total = directory.users.len();
        let mut first = 0;
        while first < total {
            let last = (first + USERS_PER_BATCH).min(total);
            for user in &mut directory.users[first..last] {
                tenant::user_day(&day, user, &mut batch, &mut benign);
            }
            if last < total {
                flush(&mut batch, &mut writers, &mut counts).map_err(io_error(out))?;
            }
            first = last;
        }
        // The last batch of the day also holds the directory's and the actor's records.
        tenant::admin_day(&day, &directory.users, &mut batch);
        if let Some(plan) = &mut plan {
            let before = batch.len();
            attack::attack_day(&day, plan, &directory.users, &mut batch, &mut truth);
            attack_events += (batch.len() - before) as u64;
        }
        flush(&mut batch, &mut writers, &mut counts).map_err(io_error(out))?;
    }
    let files = writers.finish().map_err(io_error(out))?;

    let ground_truth = match &plan {
        Some(plan) => {
            truth.actor = ground_truth::ActorFacts {
                ips: plan.ips.clone(),
                user_agents: vec![
                    catalog::agents::ACTOR_PYTHON,
                    catalog::agents::ACTOR_POWERSHELL,
                ],
                app_ids: vec![attack::ACTOR_APP.id, catalog::GRAPH.id],
                token_tenant_id: catalog::CONSUMER_TENANT_ID,
                working_hours_utc: "01:00-10:00",
            };
            truth.benign = benign;
            let path = out.join("ground-truth.json");
            let text = serde_json::to_string_pretty(&truth).map_err(|e| SimError::Io {
                path: path.clone(),
                source: e.into(),
            })?;
            fs::write(&path, text + "\n").map_err(io_error(&path))?;
            Some(path)
        }
        None => None,
    };
    Ok(Summary {
        events: counts.events,
        sign_ins: counts.sign_ins,
        directory_audits: counts.directory_audits,
        ual: counts.ual,
        graph_activity: counts.graph_activity,
        attack_events,
        files,
        ground_truth,
        seconds: started.elapsed().as_secs_f64(),
    })
}
