//! vigie-core: the model every part of vigie shares.
//!
//! * [`FieldNames`] interns field names (case-insensitively) so that detectors
//!   look fields up by a small integer instead of hashing strings per event.
//! * [`Event`] is one log record as a flat, borrowed-from-one-buffer list of
//!   fields, with an O(1) index by [`FieldId`]; it is built once per record by
//!   a source and reused for the next record, so the hot path allocates
//!   nothing once buffers have grown.
//! * [`LogSource`] says which log an event came from, in Sigma's terms.
//! * [`Alert`] is the one schema every detector emits and every sink writes;
//!   [`Detector`] is the contract of every stateless detector,
//!   [`StatefulDetector`] that of keyed ones (observe during the scan, replay
//!   in event-time order after it).

mod alert;
mod detector;
mod event;
mod event_json;
mod fields;
mod fold;
mod position_keys;
mod stateful;
/// Test support shared with the other crates' tests and examples
/// (feature `test-rng`, enabled by their dev-dependencies only).
#[cfg(any(test, feature = "test-rng"))]
#[doc(hidden)]
pub mod test_rng;
mod time;

pub use alert::{Alert, Level, RuleMeta};
pub use detector::Detector;
pub use event::{Event, EventKind, LogSource, PresetKey, ValueKind, ValueRef, Values};
pub use event_json::raw_json;
pub use fields::{
    has_prefix, has_suffix, same_text, well_known, FieldId, FieldNames, SpellingCache,
};
pub use stateful::{
    Collector, Findings, Stamped, StatefulDetector, StatefulRunner, DEFAULT_FACT_CAP,
};
pub use time::{format_timestamp, parse_timestamp, time_part, TimePart, Timestamp};
