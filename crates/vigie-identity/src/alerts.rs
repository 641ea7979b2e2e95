//! Building alerts from kept facts. A keyed detector holds no whole event
//! (facts are small by contract), so an alert's `event` is the evidence
//! itself as a JSON object.

use std::sync::Arc;

use vigie_core::{format_timestamp, Alert, RuleMeta, Timestamp};

use crate::access::Access;

/// Ordered `(field, value)` pairs; setting a field again replaces it.
#[derive(Default)]
pub struct Evidence {
    pairs: Vec<(String, String)>,
    user: Option<String>,
}

impl Evidence {
    pub fn set(&mut self, key: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        match self.pairs.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value.to_owned(),
            None => self.pairs.push((key.to_owned(), value.to_owned())),
        }
    }

    pub fn push(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.set(key, v);
        }
    }

    pub fn time(&mut self, key: &str, t: Option<Timestamp>) {
        if let Some(t) = t {
            self.set(key, &format_timestamp(t));
        }
    }

    pub fn user(&mut self, user: Option<&str>) {
        if let Some(u) = user {
            self.user = Some(u.to_owned());
            self.set("User", u);
        }
    }

    /// The identifying fields of an access.
    pub fn access(&mut self, a: &Access) {
        self.set("Kind", a.kind.as_str());
        self.user(a.mailbox.as_deref().or(a.object_id.as_deref()));
        self.push("Mailbox", a.mailbox.as_deref());
        self.push("ObjectId", a.object_id.as_deref());
        self.push("TokenId", a.token.as_deref());
        self.push("SessionId", a.session.as_deref());
        self.push("TokenTenantId", a.token_tenant.as_deref());
        self.push("AppId", a.app.as_deref());
        self.push("ClientAppId", a.client_app.as_deref());
        self.push("IP", a.ip.as_deref());
        self.push("UserAgent", a.user_agent.as_deref());
        self.time("TokenIssuedAt", a.issued_at);
        self.push("TenantId", a.tenant.as_deref());
    }
}

/// An alert of `rule` at the record `record` of its input (the pipeline
/// fills the file from the source given with it).
pub fn build(rule: &Arc<RuleMeta>, time: Option<Timestamp>, record: u64, ev: Evidence) -> Alert {
    let mut map = serde_json::Map::new();
    for (k, v) in &ev.pairs {
        map.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    Alert {
        rule: rule.clone(),
        timestamp: time,
        file: Arc::from(""),
        record,
        host: None,
        user: ev.user,
        channel: Some("identity".to_owned()),
        event_id: None,
        evidence: ev.pairs,
        event: vigie_core::raw_json(&map),
    }
}
