//! What the sign-ins issued (token and session ids, the span their logs
//! cover, who is who), and the verdict on one access against it.

use rustc_hash::FxHashMap;
use vigie_core::Timestamp;

use crate::access::{AccessFact, SignInFact};
use crate::orphan::{OrphanOptions, HOUR};
use crate::strings::Sym;

/// What the sign-ins issued: token and session ids with their times, and
/// the span each tenant's sign-in logs cover. Keyed by the symbols of the
/// detector's string table (equal symbols are equal strings).
#[derive(Default)]
pub struct Issued {
    tokens: FxHashMap<Sym, Vec<Timestamp>>,
    sessions: FxHashMap<Sym, Vec<Timestamp>>,
    coverage: FxHashMap<Sym, (Timestamp, Timestamp)>,
    all: Option<(Timestamp, Timestamp)>,
    /// Object id → UPN, to name the mailbox of Graph records.
    directory: FxHashMap<Sym, Sym>,
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
    pub fn add(&mut self, time: Timestamp, s: &SignInFact) {
        if let Some(t) = s.token {
            self.tokens.entry(t).or_default().push(time);
        }
        if let Some(sid) = s.session {
            self.sessions.entry(sid).or_default().push(time);
        }
        self.non_interactive |= s.non_interactive;
        if let (Some(oid), Some(upn)) = (s.object_id, s.upn) {
            self.directory.entry(oid).or_insert(upn);
        }
        let widen = |span: &mut (Timestamp, Timestamp)| {
            span.0 = span.0.min(time);
            span.1 = span.1.max(time);
        };
        widen(self.all.get_or_insert((time, time)));
        if let Some(tenant) = s.tenant {
            widen(self.coverage.entry(tenant).or_insert((time, time)));
        }
    }

    /// The UPN of an object id, when a sign-in named both.
    pub fn upn(&self, object_id: Sym) -> Option<Sym> {
        self.directory.get(&object_id).copied()
    }

    /// Whether any non-interactive sign-in was seen.
    pub fn has_non_interactive(&self) -> bool {
        self.non_interactive
    }

    pub fn has_sign_ins(&self) -> bool {
        self.all.is_some()
    }

    pub fn judge(&self, o: &OrphanOptions, time: Timestamp, a: &AccessFact) -> Verdict {
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
            a.token.and_then(|t| self.tokens.get(&t)),
            o.max_token_lifetime,
        ) || within(
            a.session.and_then(|s| self.sessions.get(&s)),
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
            .and_then(|t| self.coverage.get(&t))
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
