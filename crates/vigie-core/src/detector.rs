//! The contract every stateless detector shares (DESIGN.md: "given an event,
//! emit zero or more alerts"). Sigma rules, IOC feeds and token checks all
//! implement it, so the hunt pipeline runs them side by side on any thread.

use std::sync::Arc;

use crate::alert::{Alert, RuleMeta};
use crate::event::Event;
use crate::fields::well_known;

/// A detector that looks at one event at a time, in any order, on any
/// thread.
pub trait Detector: Send + Sync {
    /// A short name for summaries (`sigma`, `ioc`, `token`).
    fn name(&self) -> &str;

    /// Emits the alerts this event raises. Alerts may leave `file` empty:
    /// the pipeline fills it from the event's source index.
    fn detect(&self, event: &Event, emit: &mut dyn FnMut(Alert));
}

/// Field names that carry the acting or targeted account, most specific
/// first.
const USER_FIELDS: &[&str] = &[
    "TargetUserName",
    "SubjectUserName",
    "User",
    "UserName",
    "AccountName",
    "UserId",
    "userPrincipalName",
    "properties.userPrincipalName",
];

impl Alert {
    /// An alert for `event` with the entities every detector reports (time,
    /// host, user, channel, EventID, record, the whole event). `file` is
    /// left empty for the pipeline to fill.
    pub fn for_event(rule: Arc<RuleMeta>, event: &Event, evidence: Vec<(String, String)>) -> Alert {
        let first = |id| event.first(id).map(|v| v.text.to_owned());
        let user = USER_FIELDS
            .iter()
            .find_map(|f| event.get(f).filter(|v| !v.is_empty() && *v != "-"))
            .map(str::to_owned);
        let channel = first(well_known::CHANNEL).or_else(|| {
            let ls = &event.logsource;
            ls.service.or(ls.category).or(ls.product).map(str::to_owned)
        });
        Alert {
            rule,
            timestamp: event.timestamp,
            file: Arc::from(""),
            record: event.record,
            host: first(well_known::COMPUTER),
            user,
            channel,
            event_id: first(well_known::EVENT_ID),
            evidence,
            event: event.to_json_text(),
        }
    }

    /// An alert of another rule on the same event: its entities and JSON
    /// text copied, not read and rendered again (an event that matches
    /// several rules would otherwise be rendered once per rule).
    pub fn for_same_event(&self, rule: Arc<RuleMeta>, evidence: Vec<(String, String)>) -> Alert {
        Alert {
            rule,
            timestamp: self.timestamp,
            file: self.file.clone(),
            record: self.record,
            host: self.host.clone(),
            user: self.user.clone(),
            channel: self.channel.clone(),
            event_id: self.event_id.clone(),
            evidence,
            event: self.event.clone(),
        }
    }
}
