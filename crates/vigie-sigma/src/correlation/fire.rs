//! The alert a correlation raises when a window meets its condition.

use std::sync::Arc;

use serde_json::{Map, Value};
use vigie_core::{format_timestamp, Alert};

use super::measure::measure_name;
use super::window::Entry;
use super::{Correlation, Kind};

/// Distinct values listed in evidence at most (value_count).
const MAX_VALUES: usize = 10;

/// Formats a measure: integers without a fraction.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:.3}")
    }
}

/// The alert for a firing window: the correlation's rule metadata, the
/// time and record of the window's last event, and as evidence the
/// group-by values, the measure, the condition, the window's bounds, and
/// the rules that contributed.
pub fn fire(corr: &Correlation, key: &[Box<str>], window: &[Entry], m: f64) -> Option<Alert> {
    let (first, last) = (window.first()?, window.last()?);
    let mut evidence: Vec<(String, String)> = Vec::new();
    evidence.push(("correlation".into(), corr.kind.as_str().into()));
    for (name, value) in corr.group_by.iter().zip(key) {
        evidence.push((name.clone(), value.to_string()));
    }
    evidence.push((measure_name(corr.kind).into(), number(m)));
    if !corr.fields.is_empty() {
        evidence.push(("field".into(), corr.fields.join(", ")));
    }
    evidence.push(("condition".into(), corr.condition.describe()));
    evidence.push(("events".into(), window.len().to_string()));
    evidence.push(("window_start".into(), format_timestamp(first.time)));
    evidence.push(("window_end".into(), format_timestamp(last.time)));
    let mut seen = vec![false; corr.member_ids.len()];
    window.iter().for_each(|e| {
        if let Some(s) = seen.get_mut(e.member as usize) {
            *s = true;
        }
    });
    let rules: Vec<&str> = corr
        .member_ids
        .iter()
        .zip(&seen)
        .filter(|(_, s)| **s)
        .map(|(id, _)| id.as_str())
        .collect();
    evidence.push(("rules".into(), rules.join(", ")));
    if matches!(corr.kind, Kind::ValueCount | Kind::ValuePercentile) {
        let mut values: Vec<&str> = window.iter().filter_map(|e| e.value.as_deref()).collect();
        values.sort_unstable();
        values.dedup();
        let more = values.len().saturating_sub(MAX_VALUES);
        values.truncate(MAX_VALUES);
        let mut text = values.join(", ").replace('\u{1f}', "|");
        if more > 0 {
            text.push_str(&format!(" (+{more} more)"));
        }
        evidence.push(("values".into(), text));
    }
    let mut event = Map::new();
    for (k, v) in &evidence {
        event.insert(k.clone(), Value::String(v.clone()));
    }
    event.insert(
        "timespan_seconds".into(),
        Value::from(corr.timespan / 1_000_000),
    );
    Some(Alert {
        rule: corr.meta.clone(),
        timestamp: Some(last.time),
        file: Arc::from(""),
        record: last.record,
        host: last.host.clone(),
        user: last.user.clone(),
        channel: Some("correlation".into()),
        event_id: None,
        evidence,
        event: vigie_core::raw_json(&event),
    })
}
