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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::alert::{Alert, RuleMeta};
    use crate::event::{Event, ValueKind};
    use crate::fields::FieldNames;

    fn rule(id: &str) -> Arc<RuleMeta> {
        Arc::new(RuleMeta {
            id: id.to_owned(),
            title: format!("rule {id}"),
            ..RuleMeta::default()
        })
    }

    /// Every part of an alert, as text.
    fn parts(a: &Alert) -> String {
        format!(
            "{} {:?} {} {} {:?} {:?} {:?} {:?} {:?} {}",
            a.rule.id,
            a.timestamp,
            a.file,
            a.record,
            a.host,
            a.user,
            a.channel,
            a.event_id,
            a.evidence,
            a.event.get()
        )
    }

    /// A second rule's alert on the same event, copied from the first,
    /// is the alert made from the event itself.
    #[test]
    fn alerts_for_the_same_event_equal_alerts_made_from_it() {
        let mut event = Event::new(Arc::new(FieldNames::new()));
        for (key, value, kind) in [
            ("EventID", "4688", ValueKind::Num),
            ("Channel", "Security", ValueKind::Str),
            ("Computer", "dc1.corp", ValueKind::Str),
            ("SubjectUserName", "alice", ValueKind::Str),
            ("CommandLine", "cmd /c \"whoami\"\n", ValueKind::Str),
        ] {
            event.push(key, value, kind);
        }
        event.record = 42;
        event.timestamp = Some(1_700_000_000_000_000);
        let first = Alert::for_event(rule("a"), &event, vec![("EventID".into(), "4688".into())]);
        let evidence = vec![("CommandLine".into(), "cmd".into())];
        let copied = first.for_same_event(rule("b"), evidence.clone());
        let made = Alert::for_event(rule("b"), &event, evidence);
        assert_eq!(parts(&copied), parts(&made));
        assert_ne!(parts(&copied), parts(&first));
        assert_eq!(made.host.as_deref(), Some("dc1.corp"));
        assert_eq!(made.user.as_deref(), Some("alice"));
        assert!(made.event.get().contains("whoami"), "{}", made.event.get());
    }
}
