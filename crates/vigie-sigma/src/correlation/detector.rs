//! Correlations as a stateful detector: facts from base-rule alerts during
//! the scan, sliding windows in event-time order after it.

use std::sync::Arc;

use vigie_core::{Alert, Event, Findings, Stamped, StatefulDetector};

use super::window::{Entry, Windows};
use super::{CorrelationSet, FieldSrc};

/// Default cap on entries held in windows at once (each is well under
/// 200 bytes).
pub const DEFAULT_STATE_CAP: usize = 1_000_000;

/// What is kept of one base-rule alert for one correlation it feeds.
#[derive(Clone, Debug)]
pub struct Fact {
    corr: u32,
    member: u16,
    /// Group-by values; `None` when the event lacks one of the fields.
    key: Option<Box<[Box<str>]>>,
    /// The `field` value(s) (several joined by U+001F).
    value: Option<Box<str>>,
    host: Option<String>,
    user: Option<String>,
}

/// Runs the correlations of a rule set.
pub struct CorrelationDetector {
    set: Arc<CorrelationSet>,
    cap: usize,
}

impl CorrelationDetector {
    pub fn new(set: Arc<CorrelationSet>) -> Self {
        Self::with_state_cap(set, DEFAULT_STATE_CAP)
    }

    /// With a cap on the entries held in windows at once.
    pub fn with_state_cap(set: Arc<CorrelationSet>, cap: usize) -> Self {
        CorrelationDetector { set, cap }
    }
}

/// Reads the values of `srcs` from the event; `None` if one is missing.
/// Only the first value of a multi-valued field is used.
fn read(event: &Event, srcs: &[FieldSrc]) -> Option<Vec<Box<str>>> {
    srcs.iter()
        .map(|s| match s {
            FieldSrc::Event(id) => event.first(*id).map(|v| Box::from(v.text)),
            FieldSrc::Group(_) => None,
        })
        .collect()
}

impl StatefulDetector for CorrelationDetector {
    type Fact = Fact;

    fn name(&self) -> &str {
        "correlation"
    }

    fn observe(&self, event: &Event, alerts: &[Alert], keep: &mut dyn FnMut(Fact)) {
        for alert in alerts {
            let Some(uses) = self.set.by_rule.get(alert.rule.id.as_str()) else {
                continue;
            };
            for &(corr, member) in uses {
                let c = &self.set.list[corr as usize];
                let m = member as usize;
                let key = read(event, &c.group_src[m]).map(Vec::into_boxed_slice);
                let value = if c.fields.is_empty() {
                    None
                } else {
                    read(event, &c.value_src[m]).map(|v| v.join("\u{1f}").into())
                };
                keep(Fact {
                    corr,
                    member,
                    key,
                    value,
                    host: alert.host.clone(),
                    user: alert.user.clone(),
                });
            }
        }
    }

    fn replay(&self, facts: Vec<Stamped<Fact>>, out: &mut Findings) {
        let mut windows = Windows::new(&self.set, self.cap);
        let mut no_time = 0u64;
        let mut no_group = vec![0u64; self.set.list.len()];
        for stamped in facts {
            // An event without a time cannot be placed in any window.
            let Some(time) = stamped.time else {
                no_time += 1;
                continue;
            };
            let f = stamped.fact;
            // Like the group-by of the query languages Sigma converts to,
            // an event without a group-by field belongs to no group.
            let Some(key) = f.key else {
                no_group[f.corr as usize] += 1;
                continue;
            };
            let number = f
                .value
                .as_deref()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|n| n.is_finite())
                .unwrap_or(f64::NAN);
            let entry = Entry {
                time,
                member: f.member,
                value: f.value,
                number,
                source: stamped.source,
                record: stamped.record,
                host: f.host,
                user: f.user,
            };
            windows.add(f.corr, key, entry, out);
        }
        windows.finish(out);
        if no_time > 0 {
            out.note(format!(
                "correlation: {no_time} base-rule matches had no timestamp and were not correlated"
            ));
        }
        for (c, corr) in self.set.list.iter().enumerate() {
            if no_group[c] > 0 {
                out.note(format!(
                    "correlation '{}': {} base-rule matches lacked a group-by field ({}) and were not counted",
                    corr.meta.title,
                    no_group[c],
                    corr.group_by.join(", ")
                ));
            }
            if windows.no_value[c] > 0 {
                out.note(format!(
                    "correlation '{}': {} base-rule matches had no usable value of '{}' and were not counted",
                    corr.meta.title,
                    windows.no_value[c],
                    corr.fields.join(", ")
                ));
            }
        }
        if windows.dropped > 0 {
            out.note(format!(
                "correlation: {} window entries beyond the state cap of {} were dropped; results may be incomplete",
                windows.dropped, self.cap
            ));
        }
    }
}
