//! Helpers shared by the integration tests.

use vigie_core::{Event, EventKind, ValueKind};
use vigie_sigma::RuleSet;

/// A Sysmon process creation (EventID 1) with the given fields, built with
/// the set's names; the value `<null>` gives a JSON null.
pub fn sysmon_event(set: &RuleSet, fields: &[(&str, &str)]) -> Event {
    let mut ev = Event::new(set.names());
    ev.kind = EventKind::Windows;
    ev.push("EventID", "1", ValueKind::Num);
    ev.push(
        "Channel",
        "Microsoft-Windows-Sysmon/Operational",
        ValueKind::Str,
    );
    for (k, v) in fields {
        if *v == "<null>" {
            ev.push(k, "", ValueKind::Null);
        } else {
            ev.push(k, v, ValueKind::Str);
        }
    }
    ev
}
