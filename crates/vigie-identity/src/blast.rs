//! The blast radius: what the suspicious tokens touched.
//!
//! Built in two passes so that memory stays small: the detectors first name
//! the suspicious tokens (orphan tokens, OWA tokens no sign-in issued,
//! tokens of sign-ins that travelled impossibly), then a second scan keeps,
//! for the accesses of those tokens only (and of any token issued for the
//! consumer tenant), every message id, folder, IP, user agent and app.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use rustc_hash::FxHashMap;
use serde::Serialize;
use vigie_core::{format_timestamp, Alert, Event, Timestamp};

use crate::access::{classify_lists, Access, AccessKind, Record, SignIn};
use crate::fields::Slot;
use crate::rules::IdentityRules;

/// Token (or session) ids the detectors found suspicious, with why.
#[derive(Default, Debug, Clone)]
pub struct Suspicious {
    pub tokens: BTreeMap<String, BTreeSet<String>>,
}

impl Suspicious {
    /// The token ids named by the alerts of the identity rules that mean
    /// "not the user": orphan tokens, OWA tokens without sign-in, and tokens
    /// of impossible-travel sign-ins.
    pub fn from_alerts<'a>(
        rules: &IdentityRules,
        alerts: impl IntoIterator<Item = &'a Alert>,
    ) -> Self {
        let ids = [
            &rules.orphan_token.id,
            &rules.owa_no_sign_in.id,
            &rules.impossible_travel.id,
        ];
        let mut s = Suspicious::default();
        for a in alerts {
            if !ids.contains(&&a.rule.id) {
                continue;
            }
            if let Some((_, token)) = a.evidence.iter().find(|(k, _)| k == "TokenId") {
                s.tokens
                    .entry(token.clone())
                    .or_default()
                    .insert(a.rule.title.clone());
            }
        }
        s
    }

    fn matches(&self, a: &Access) -> bool {
        match (&a.token, &a.session) {
            (Some(t), _) => self.tokens.contains_key(&**t),
            (None, Some(sid)) => self.tokens.contains_key(&**sid),
            _ => false,
        }
    }
}

/// One suspicious access, kept whole.
struct Entry {
    time: Option<Timestamp>,
    access: Access,
    folders: Vec<String>,
    messages: Vec<String>,
    uri: Option<String>,
}

/// The second pass: observes every event, keeps the suspicious accesses and
/// the directory (object id → UPN) the Graph records need.
pub struct Ledger {
    suspicious: Suspicious,
    entries: Mutex<Vec<Entry>>,
    directory: Mutex<FxHashMap<Box<str>, Box<str>>>,
}

impl Ledger {
    pub fn new(suspicious: Suspicious) -> Self {
        Ledger {
            suspicious,
            entries: Mutex::new(Vec::new()),
            directory: Mutex::new(FxHashMap::default()),
        }
    }

    pub fn observe(&self, event: &Event) {
        match classify_lists(event) {
            Some(Record::SignIn(f)) => {
                let s = SignIn::from_fields(&f);
                if let (Some(oid), Some(upn)) = (s.object_id, s.upn) {
                    if let Ok(mut d) = self.directory.lock() {
                        d.entry(oid).or_insert(upn);
                    }
                }
            }
            Some(Record::Access(kind, f)) => {
                let access = Access::from_fields(kind, &f);
                if !(self.suspicious.matches(&access) || access.consumer_token()) {
                    return;
                }
                let entry = Entry {
                    time: event.timestamp,
                    folders: f.folders.iter().map(|s| (*s).to_owned()).collect(),
                    messages: f.messages.iter().map(|s| (*s).to_owned()).collect(),
                    uri: f.get(Slot::RequestUri).map(str::to_owned),
                    access,
                };
                if let Ok(mut e) = self.entries.lock() {
                    e.push(entry);
                }
            }
            None => {}
        }
    }

    pub fn finish(self) -> BlastRadius {
        let directory = self.directory.into_inner().unwrap_or_default();
        let mut entries = self.entries.into_inner().unwrap_or_default();
        entries.sort_by_key(|e| e.time);
        let mut radius = BlastRadius::default();
        let mut mailboxes: BTreeMap<String, Mailbox> = BTreeMap::new();
        let mut groups: BTreeMap<(&'static str, String), Group> = BTreeMap::new();
        for e in &entries {
            let a = &e.access;
            let mailbox = resolve(a, e.uri.as_deref(), &directory);
            let token = a
                .token
                .as_deref()
                .or(a.session.as_deref())
                .unwrap_or("")
                .to_owned();
            let app = format!(
                "{} / {}",
                a.app.as_deref().unwrap_or("-"),
                a.client_app.as_deref().unwrap_or("-")
            );
            let keys = [
                ("token", token.clone()),
                ("session", a.session.as_deref().unwrap_or("").to_owned()),
                ("ip", a.ip.as_deref().unwrap_or("").to_owned()),
                ("app", app.clone()),
            ];
            for key in keys.into_iter().filter(|k| !k.1.is_empty()) {
                let reasons = self
                    .suspicious
                    .tokens
                    .get(&token)
                    .cloned()
                    .unwrap_or_default();
                let g = groups.entry(key).or_default();
                g.add(e.time, a, &mailbox);
                g.reasons.extend(reasons);
                if a.consumer_token() {
                    g.reasons
                        .insert("token issued for the consumer tenant".to_owned());
                }
            }
            if a.kind == AccessKind::OwaAuth {
                // Token issuance, not mailbox access: listed with its token.
                continue;
            }
            let Some(mailbox) = mailbox else { continue };
            let m = mailboxes.entry(mailbox.clone()).or_insert_with(|| Mailbox {
                mailbox,
                ..Mailbox::default()
            });
            m.first_access = m
                .first_access
                .clone()
                .or_else(|| e.time.map(format_timestamp));
            m.last_access = e.time.map(format_timestamp).or(m.last_access.take());
            m.ips.extend(a.ip.as_deref().map(str::to_owned));
            m.user_agents
                .extend(a.user_agent.as_deref().map(str::to_owned));
            m.apps.insert(app);
            m.tokens.insert(token);
            m.folders.extend(e.folders.iter().cloned());
            match a.kind {
                AccessKind::MailBind | AccessKind::MailSync => {
                    m.mail_items_accessed_records += 1;
                    let set = if a.kind == AccessKind::MailBind {
                        &mut m.read
                    } else {
                        &mut m.synced
                    };
                    set.extend(e.messages.iter().cloned());
                }
                AccessKind::Graph => {
                    m.graph_requests += 1;
                    m.graph_uris.extend(e.uri.clone());
                }
                _ => m.other_records += 1,
            }
        }
        radius.mailboxes = mailboxes.into_values().collect();
        for ((scope, key), mut g) in groups {
            // Exchange gives each record of a forged token its own session
            // id; only a session presented again says something.
            if scope == "session" && g.accesses < 2 {
                continue;
            }
            g.scope = scope;
            g.key = key;
            radius.groups.push(g);
        }
        radius.accesses = entries.len() as u64;
        radius
    }
}

/// The mailbox an access touched: the UAL's owner UPN, else the Graph
/// request's `/users/{upn}` or its user's UPN from the sign-ins.
fn resolve(a: &Access, uri: Option<&str>, dir: &FxHashMap<Box<str>, Box<str>>) -> Option<String> {
    if let Some(m) = &a.mailbox {
        return Some(m.to_string());
    }
    let from_uri = uri.and_then(|u| {
        let rest = u.split("/users/").nth(1)?;
        let who = rest.split(['/', '?']).next()?;
        who.contains('@').then(|| who.to_ascii_lowercase())
    });
    from_uri
        .or_else(|| {
            a.object_id
                .as_ref()
                .and_then(|o| dir.get(o))
                .map(|u| u.to_string())
        })
        .or_else(|| a.object_id.as_ref().map(|o| o.to_string()))
}

/// What a responder hands on: per mailbox, what was read, and the
/// attacker's tokens, sessions, IPs and apps with what each touched.
#[derive(Default, Debug, Serialize)]
pub struct BlastRadius {
    pub accesses: u64,
    pub mailboxes: Vec<Mailbox>,
    pub groups: Vec<Group>,
}

#[derive(Default, Debug, Serialize)]
pub struct Mailbox {
    pub mailbox: String,
    pub first_access: Option<String>,
    pub last_access: Option<String>,
    pub folders: BTreeSet<String>,
    /// InternetMessageIds read (MailItemsAccessed Bind).
    pub read: BTreeSet<String>,
    /// InternetMessageIds synchronised (MailItemsAccessed Sync).
    pub synced: BTreeSet<String>,
    pub mail_items_accessed_records: u64,
    pub graph_requests: u64,
    pub other_records: u64,
    pub graph_uris: BTreeSet<String>,
    pub ips: BTreeSet<String>,
    pub user_agents: BTreeSet<String>,
    /// `AppId / ClientAppId`.
    pub apps: BTreeSet<String>,
    pub tokens: BTreeSet<String>,
}

/// The accesses sharing one token, session, IP or app.
#[derive(Default, Debug, Serialize)]
pub struct Group {
    pub scope: &'static str,
    pub key: String,
    pub reasons: BTreeSet<String>,
    pub first: Option<String>,
    pub last: Option<String>,
    pub accesses: u64,
    pub kinds: BTreeSet<&'static str>,
    pub mailboxes: BTreeSet<String>,
    pub ips: BTreeSet<String>,
    pub user_agents: BTreeSet<String>,
}

impl Group {
    fn add(&mut self, time: Option<Timestamp>, a: &Access, mailbox: &Option<String>) {
        self.first = self.first.clone().or_else(|| time.map(format_timestamp));
        self.last = time.map(format_timestamp).or(self.last.take());
        self.accesses += 1;
        self.kinds.insert(a.kind.as_str());
        self.mailboxes.extend(mailbox.clone());
        self.ips.extend(a.ip.as_deref().map(str::to_owned));
        self.user_agents
            .extend(a.user_agent.as_deref().map(str::to_owned));
    }
}
