//! The alert schema every detector emits and every sink writes.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

use crate::time::Timestamp;

/// Sigma's levels, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Ok(Level::Informational),
            "low" => Ok(Level::Low),
            "medium" => Ok(Level::Medium),
            "high" => Ok(Level::High),
            "critical" => Ok(Level::Critical),
            other => Err(format!("unknown level '{other}'")),
        }
    }
}

/// What a detection rule says about itself; shared by all its alerts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleMeta {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub tags: Vec<String>,
    pub description: String,
    pub references: Vec<String>,
    pub author: String,
    /// Where the rule came from: a path, or `builtin:NAME`.
    pub origin: String,
    /// Its alerts feed stateful detectors (the base rules of a Sigma
    /// correlation with `generate: false`) but are not written out.
    #[serde(skip)]
    pub internal: bool,
}

impl RuleMeta {
    /// ATT&CK technique tags (`attack.t1059.001`) written as `T1059.001`.
    pub fn attack_techniques(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack.t"))
            .map(|t| format!("T{}", t.to_ascii_uppercase()))
            .collect()
    }
}

/// One detection: which rule fired on which record, and why.
#[derive(Clone, Debug)]
pub struct Alert {
    pub rule: Arc<RuleMeta>,
    /// Event time, microseconds since the epoch; `None` when the record had
    /// no readable time.
    pub timestamp: Option<Timestamp>,
    /// Input path the record came from.
    pub file: Arc<str>,
    /// Record number within the file (EVTX record id, line or row).
    pub record: u64,
    pub host: Option<String>,
    pub user: Option<String>,
    /// Windows channel, or the log's name for other sources.
    pub channel: Option<String>,
    pub event_id: Option<String>,
    /// The fields the rule looked at, with the event's values.
    pub evidence: Vec<(String, String)>,
    /// The whole event as JSON text (an object), rendered once when the
    /// alert is made; [`crate::raw_json`] renders any other value.
    pub event: Box<serde_json::value::RawValue>,
}

impl Alert {
    /// A total order for output: time, then file, record and rule, so that
    /// the same input gives the same bytes at any thread count.
    pub fn sort_key(&self) -> (i64, &str, u64, &str, &str) {
        (
            self.timestamp.unwrap_or(i64::MIN),
            &self.file,
            self.record,
            &self.rule.id,
            &self.rule.title,
        )
    }
}
