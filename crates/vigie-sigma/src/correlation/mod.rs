//! Sigma correlation rules (specification v2.1): event_count, value_count,
//! temporal, temporal_ordered, value_sum, value_avg, value_percentile and
//! value_median, with group-by, field aliases and chains of correlations.
//!
//! Correlations are a [`vigie_core::StatefulDetector`]: during the scan,
//! [`CorrelationDetector`] keeps a small fact for each alert of a base rule
//! (which correlation, its group-by values, its `field` value); after the
//! scan it replays the facts of all inputs in event-time order through
//! sliding windows (see `window.rs` for the exact semantics).

mod detector;
mod fire;
mod legacy;
mod measure;
mod parse;
mod resolve;
mod window;

use std::sync::Arc;

use rustc_hash::FxHashMap;
use vigie_core::{FieldId, RuleMeta};

pub use detector::{CorrelationDetector, Fact};
pub(crate) use legacy::split_aggregation;
pub(crate) use parse::{parse_correlation, CorrelationDoc};
pub use parse::{parse_timespan, Kind};
pub(crate) use resolve::resolve;

/// What a correlation refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    /// A Sigma rule, by its index in the rule set.
    Rule(u32),
    /// Another correlation (a chain), by its index in the set.
    Correlation(u32),
}

/// Where a group-by or value field is read for one member.
#[derive(Clone, Copy, Debug)]
pub enum FieldSrc {
    /// A field of the event the base rule matched.
    Event(FieldId),
    /// The n-th group-by value of the inner correlation's firing.
    Group(usize),
}

/// One correlation, resolved.
#[derive(Clone, Debug)]
pub struct Correlation {
    pub meta: Arc<RuleMeta>,
    pub kind: Kind,
    /// Window length, microseconds.
    pub timespan: i64,
    pub condition: parse::Condition,
    /// Tested as each event arrives (conditions with only lower bounds, and
    /// the averaging types), else when a window closes.
    pub on_arrival: bool,
    /// Group-by names as written (alias names included).
    pub group_by: Vec<String>,
    /// `condition.field` names.
    pub fields: Vec<String>,
    pub members: Vec<Member>,
    /// Ids of the members, for evidence.
    pub member_ids: Vec<String>,
    /// Per member, per group-by name: where its value is read.
    pub group_src: Vec<Vec<FieldSrc>>,
    /// Per member, per `field`: where its value is read.
    pub value_src: Vec<Vec<FieldSrc>>,
    /// Correlations this one's firings feed: (correlation, member position).
    pub consumers: Vec<(u32, u16)>,
}

/// Every correlation of a rule set.
#[derive(Clone, Debug, Default)]
pub struct CorrelationSet {
    pub list: Vec<Correlation>,
    /// Sigma rule id → the (correlation, member position) it feeds.
    pub by_rule: FxHashMap<String, Vec<(u32, u16)>>,
}

impl CorrelationSet {
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
