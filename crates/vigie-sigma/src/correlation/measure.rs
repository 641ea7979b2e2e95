//! What a correlation measures over the entries of one window.

use rustc_hash::FxHashSet;

use super::window::Entry;
use super::{Correlation, Kind};

/// The window's measure, compared with the condition:
///
/// - event_count: events;
/// - value_count: distinct values of `field` (a tuple when several);
/// - temporal: distinct rules that matched;
/// - temporal_ordered: how many of the rules, in their listed order, occur
///   one after the other (a full ordered sequence counts them all);
/// - value_sum, value_avg, value_median: of the numeric `field` values;
/// - value_percentile: the share (percent) of the window's values equal to
///   the newest event's value: how rare that value is in the window (the
///   specification's example: "a process name under 1% of all processes").
pub fn measure<'a, I>(corr: &Correlation, entries: I) -> f64
where
    I: Iterator<Item = &'a Entry> + Clone,
{
    match corr.kind {
        Kind::EventCount => entries.count() as f64,
        Kind::ValueCount => {
            let values: FxHashSet<&str> = entries.filter_map(|e| e.value.as_deref()).collect();
            values.len() as f64
        }
        Kind::Temporal => {
            let mut seen = vec![false; corr.members.len()];
            entries.for_each(|e| {
                if let Some(s) = seen.get_mut(e.member as usize) {
                    *s = true;
                }
            });
            seen.iter().filter(|s| **s).count() as f64
        }
        Kind::TemporalOrdered => {
            // Greedy matching finds the longest ordered prefix: taking the
            // earliest occurrence of each rule never hurts the next ones.
            let mut next = 0usize;
            for e in entries {
                if e.member as usize == next {
                    next += 1;
                    if next == corr.members.len() {
                        break;
                    }
                }
            }
            next as f64
        }
        Kind::ValueSum => entries.map(|e| e.number).sum(),
        Kind::ValueAvg => {
            let (sum, n) = entries.fold((0.0, 0usize), |(s, n), e| (s + e.number, n + 1));
            if n == 0 {
                0.0
            } else {
                sum / n as f64
            }
        }
        Kind::ValueMedian => {
            let mut v: Vec<f64> = entries.map(|e| e.number).collect();
            if v.is_empty() {
                return 0.0;
            }
            v.sort_by(f64::total_cmp);
            let mid = v.len() / 2;
            if v.len() % 2 == 1 {
                v[mid]
            } else {
                (v[mid - 1] + v[mid]) / 2.0
            }
        }
        Kind::ValuePercentile => {
            let Some(last) = entries.clone().last().and_then(|e| e.value.clone()) else {
                return 0.0;
            };
            let (same, n) = entries.fold((0usize, 0usize), |(s, n), e| {
                (s + usize::from(e.value.as_deref() == Some(&*last)), n + 1)
            });
            if n == 0 {
                0.0
            } else {
                same as f64 * 100.0 / n as f64
            }
        }
    }
}

/// The evidence name of the measure.
pub fn measure_name(kind: Kind) -> &'static str {
    match kind {
        Kind::EventCount => "count",
        Kind::ValueCount => "distinct_values",
        Kind::Temporal | Kind::TemporalOrdered => "rules_matched",
        Kind::ValueSum => "sum",
        Kind::ValueAvg => "average",
        Kind::ValuePercentile => "percent_of_window",
        Kind::ValueMedian => "median",
    }
}
