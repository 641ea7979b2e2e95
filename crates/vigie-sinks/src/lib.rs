//! vigie-sinks: where alerts go once the hunt is over.
//!
//! Three formats, each escaped for the medium that will read it:
//!
//! * [`write_csv`]: a timeline for Timeline Explorer or a spreadsheet
//!   ([`CsvProfile::Standard`]) or for Timesketch's importer
//!   ([`CsvProfile::Timesketch`]). RFC 4180 quoting comes from the `csv`
//!   crate; formula injection is defused by [`neutralise_csv_cell`].
//! * [`write_jsonl`]: one JSON object per line with the rule, the evidence
//!   and the whole event; serde_json's escaping is complete for JSON.
//! * [`write_table`]: aligned columns for a terminal; all log text goes
//!   through [`strip_control`] so that logs cannot drive the terminal.
//!
//! [`AlertStore`] holds a run's detections within a memory budget, spilling
//! sorted runs to disk past it, and gives them back in time order.
//!
//! Writers take alerts already sorted (see `Alert::sort_key`) and never
//! reorder them, so the same alerts always give the same bytes. None of them
//! panics on any input: every cut is made on character boundaries.

mod csv;
mod escape;
mod jsonl;
mod spill;
mod table;

use std::fmt;
use std::str::FromStr;

use vigie_core::{format_timestamp, Timestamp};

pub use crate::csv::{write_csv, STANDARD_HEADER, TIMESKETCH_HEADER};
pub use crate::escape::{details, neutralise_csv_cell, strip_control, MAX_DETAIL_VALUE_CHARS};
pub use crate::jsonl::write_jsonl;
pub use crate::spill::{AlertStore, Sorted, Tally, DEFAULT_ALERT_BUDGET};
pub use crate::table::write_table;

/// Which writer to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Csv,
    Jsonl,
    Table,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Csv => "csv",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Table => "table",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(OutputFormat::Csv),
            "jsonl" => Ok(OutputFormat::Jsonl),
            "table" => Ok(OutputFormat::Table),
            other => Err(format!(
                "unknown output format '{other}' (expected csv, jsonl or table)"
            )),
        }
    }
}

/// Column set of the CSV writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CsvProfile {
    /// Timeline Explorer / spreadsheet columns ([`STANDARD_HEADER`]).
    #[default]
    Standard,
    /// Timesketch import columns ([`TIMESKETCH_HEADER`]).
    Timesketch,
}

impl CsvProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            CsvProfile::Standard => "standard",
            CsvProfile::Timesketch => "timesketch",
        }
    }
}

impl fmt::Display for CsvProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CsvProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "standard" => Ok(CsvProfile::Standard),
            "timesketch" => Ok(CsvProfile::Timesketch),
            other => Err(format!(
                "unknown CSV profile '{other}' (expected standard or timesketch)"
            )),
        }
    }
}

/// How [`write_table`] lays out its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableOptions {
    /// Colour the level column with ANSI codes.
    pub color: bool,
    /// Terminal columns each line may take, e.g. 160; `0` means no limit.
    pub width: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            color: false,
            width: 160,
        }
    }
}

/// An alert's time as text, empty when it has none (or is out of range).
fn timestamp_text(ts: Option<Timestamp>) -> String {
    ts.map(format_timestamp).unwrap_or_default()
}

#[cfg(test)]
mod test_support {
    //! Alerts for the writers' tests.

    use std::sync::Arc;

    use vigie_core::{Alert, Level, RuleMeta};

    /// A bare alert: informational, no host/user/channel, no evidence.
    pub fn alert(id: &str, title: &str) -> Alert {
        Alert {
            rule: Arc::new(RuleMeta {
                id: id.into(),
                title: title.into(),
                ..RuleMeta::default()
            }),
            timestamp: Some(0),
            file: "f.evtx".into(),
            record: 1,
            host: None,
            user: None,
            channel: None,
            event_id: None,
            evidence: Vec::new(),
            event: vigie_core::raw_json(&serde_json::json!({})),
        }
    }

    /// A fully populated alert.
    pub fn sample() -> Alert {
        Alert {
            rule: Arc::new(RuleMeta {
                id: "0b9e-1".into(),
                title: "Suspicious Whoami".into(),
                level: Level::High,
                tags: vec![
                    "attack.discovery".into(),
                    "attack.t1033".into(),
                    "attack.t1059.001".into(),
                ],
                description: "Detects whoami".into(),
                references: vec!["https://attack.mitre.org/techniques/T1033/".into()],
                author: "vigie".into(),
                origin: "builtin:test".into(),
                internal: false,
            }),
            timestamp: vigie_core::parse_timestamp("2020-10-22T02:57:56.178Z"),
            file: "Security.evtx".into(),
            record: 42,
            host: Some("WS01".into()),
            user: Some("CORP\\bob".into()),
            channel: Some("Security".into()),
            event_id: Some("4688".into()),
            evidence: vec![
                ("CommandLine".into(), "whoami /all".into()),
                ("Image".into(), "C:\\Windows\\System32\\whoami.exe".into()),
            ],
            event: vigie_core::raw_json(
                &serde_json::json!({"EventID": 4688, "CommandLine": "whoami /all"}),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_profiles_parse() {
        for f in [OutputFormat::Csv, OutputFormat::Jsonl, OutputFormat::Table] {
            assert_eq!(f.as_str().parse::<OutputFormat>(), Ok(f));
        }
        assert_eq!(" CSV ".parse::<OutputFormat>(), Ok(OutputFormat::Csv));
        assert!("json".parse::<OutputFormat>().is_err());
        assert_eq!(
            "timesketch".parse::<CsvProfile>(),
            Ok(CsvProfile::Timesketch)
        );
        assert_eq!("standard".parse::<CsvProfile>(), Ok(CsvProfile::Standard));
        assert_eq!(CsvProfile::default(), CsvProfile::Standard);
        assert!("excel".parse::<CsvProfile>().is_err());
    }

    #[test]
    fn out_of_range_timestamp_is_empty_not_a_panic() {
        assert_eq!(timestamp_text(None), "");
        let mut a = test_support::sample();
        a.timestamp = Some(i64::MIN);
        let alerts = [a];
        let mut buf = Vec::new();
        write_csv(&alerts, CsvProfile::Standard, &mut buf).unwrap();
        write_csv(&alerts, CsvProfile::Timesketch, &mut buf).unwrap();
        write_jsonl(&alerts, &mut buf).unwrap();
        write_table(&alerts, &TableOptions::default(), &mut buf).unwrap();
    }

    #[test]
    fn odd_and_huge_input_never_panics() {
        let huge = "x\u{0}é😀\u{202E}\u{301}=".repeat(50_000);
        let mut a = test_support::sample();
        a.rule = std::sync::Arc::new(vigie_core::RuleMeta {
            title: huge.clone(),
            tags: vec!["attack.t".into(), "attack.".into(), huge.clone()],
            ..vigie_core::RuleMeta::default()
        });
        a.host = Some(String::new());
        a.user = Some("\u{FEFF}\u{200D}".into());
        a.evidence = vec![(huge.clone(), huge.clone()), (String::new(), String::new())];
        a.event = vigie_core::raw_json(&serde_json::json!({ "k": huge }));
        let alerts = [a, test_support::alert("", "")];
        for width in [0, 1, 2, 3, 7, 160] {
            for color in [false, true] {
                let mut buf = Vec::new();
                write_table(&alerts, &TableOptions { color, width }, &mut buf).unwrap();
                assert!(std::str::from_utf8(&buf).is_ok());
            }
        }
        for profile in [CsvProfile::Standard, CsvProfile::Timesketch] {
            let mut buf = Vec::new();
            write_csv(&alerts, profile, &mut buf).unwrap();
            let rows = ::csv::Reader::from_reader(buf.as_slice()).records().count();
            assert_eq!(rows, 2);
        }
        let mut buf = Vec::new();
        write_jsonl(&alerts, &mut buf).unwrap();
        assert_eq!(buf.iter().filter(|b| **b == b'\n').count(), 2);
    }
}
