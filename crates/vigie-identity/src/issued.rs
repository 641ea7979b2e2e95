//! What the sign-ins issued (token and session ids, the span their logs
//! cover, who is who), and the verdict on one access against it.

use rustc_hash::FxHashMap;
use vigie_core::Timestamp;

use crate::access::{Access, SignIn};
use crate::orphan::{OrphanOptions, HOUR};

/// What the sign-ins issued: token and session ids with their times, and
/// the span each tenant's sign-in logs cover.
#[derive(Default)]
pub struct Issued {
    tokens: FxHashMap<Box<str>, Vec<Timestamp>>,
    sessions: FxHashMap<Box<str>, Vec<Timestamp>>,
    coverage: FxHashMap<Box<str>, (Timestamp, Timestamp)>,
    all: Option<(Timestamp, Timestamp)>,
    /// Object id → UPN, to name the mailbox of Graph records.
    directory: FxHashMap<Box<str>, Box<str>>,
    non_interactive: bool,
}

/// Whether an access's token was issued by a sign-in in the logs.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Issued,
    Orphan,
    /// Neither id matched, but the sign-in logs do not cover the time the
    /// token was issued.
    NotCovered,
    /// The record has neither a token id nor a session id.
    NoIds,
}

impl Issued {
    pub fn add(&mut self, time: Timestamp, s: &SignIn) {
        if let Some(t) = &s.token {
            self.tokens.entry(t.clone()).or_default().push(time);
        }
        if let Some(sid) = &s.session {
            self.sessions.entry(sid.clone()).or_default().push(time);
        }
        self.non_interactive |= s.non_interactive;
        if let (Some(oid), Some(upn)) = (&s.object_id, &s.upn) {
            self.directory
                .entry(oid.clone())
                .or_insert_with(|| upn.clone());
        }
        let widen = |span: &mut (Timestamp, Timestamp)| {
            span.0 = span.0.min(time);
            span.1 = span.1.max(time);
        };
        widen(self.all.get_or_insert((time, time)));
        if let Some(tenant) = &s.tenant {
            widen(self.coverage.entry(tenant.clone()).or_insert((time, time)));
        }
    }

    /// The UPN of an object id, when a sign-in named both.
    pub fn upn(&self, object_id: &str) -> Option<&str> {
        self.directory.get(object_id).map(|u| &**u)
    }

    /// Whether any non-interactive sign-in was seen.
    pub fn has_non_interactive(&self) -> bool {
        self.non_interactive
    }

    pub fn has_sign_ins(&self) -> bool {
        self.all.is_some()
    }

    pub fn judge(&self, o: &OrphanOptions, time: Timestamp, a: &Access) -> Verdict {
        if a.token.is_none() && a.session.is_none() {
            return Verdict::NoIds;
        }
        let within = |times: Option<&Vec<Timestamp>>, age: i64| {
            times.is_some_and(|ts| {
                ts.iter()
                    .any(|&t| t <= time.saturating_add(o.skew) && t >= time.saturating_sub(age))
            })
        };
        if within(
            a.token.as_ref().and_then(|t| self.tokens.get(t)),
            o.max_token_lifetime,
        ) || within(
            a.session.as_ref().and_then(|s| self.sessions.get(s)),
            o.max_session_age,
        ) {
            return Verdict::Issued;
        }
        // When was it issued? The record may say; else assume an hour ago.
        let issued = a
            .issued_at
            .filter(|&i| i <= time.saturating_add(o.skew))
            .unwrap_or(time.saturating_sub(HOUR));
        let span = a
            .tenant
            .as_ref()
            .and_then(|t| self.coverage.get(t))
            .or(self.all.as_ref());
        match span {
            Some(&(from, to))
                if from.saturating_sub(o.skew) <= issued && issued <= to.saturating_add(o.skew) =>
            {
                Verdict::Orphan
            }
            _ => Verdict::NotCovered,
        }
    }
}
