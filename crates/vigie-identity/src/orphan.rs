//! Orphan tokens: accesses (mailbox, Graph, SharePoint, OWAAuth) whose
//! token id and session id match no sign-in (threat brief §1.5 item 2).
//!
//! A forged token never passes through Entra ID, so no sign-in row carries
//! its `uti`. The join keys are Microsoft's linkable identifiers (brief
//! §3.7). The verdict needs the sign-in logs of the time the token was
//! issued: where they do not cover it, the access is counted in a note, not
//! alerted on.

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use vigie_core::{Event, Findings, RuleMeta, Stamped, StatefulDetector, Timestamp};

use crate::access::{classify, AccessFact, AccessKind, RawAccess, RawSignIn, Record, SignInFact};
use crate::alerts::{build, Evidence};
use crate::issued::{Issued, Verdict};
use crate::rules::IdentityRules;
use crate::strings::{SharedStrings, Strings, Sym};
use crate::SECOND;

const MINUTE: i64 = 60 * SECOND;
pub(crate) const HOUR: i64 = 60 * MINUTE;

/// Settings of [`OrphanTokenDetector`].
#[derive(Clone, Debug)]
pub struct OrphanOptions {
    /// Longest token lifetime: a sign-in older than this cannot have issued
    /// the token used now (28 h: continuous-access-evaluation tokens).
    pub max_token_lifetime: i64,
    /// Longest a session lives between the sign-ins that refresh it.
    pub max_session_age: i64,
    /// Clock skew allowed between logs.
    pub skew: i64,
    /// Most distinct orphan tokens kept; beyond, counted in a note.
    pub max_tokens: usize,
}

impl Default for OrphanOptions {
    fn default() -> Self {
        OrphanOptions {
            max_token_lifetime: 28 * HOUR,
            max_session_age: 7 * 24 * HOUR,
            skew: 5 * MINUTE,
            max_tokens: 100_000,
        }
    }
}

/// One fact per sign-in (every one: failed sign-ins issue session ids
/// too) and per access, with interned strings.
pub enum Fact {
    SignIn(SignInFact),
    Access(AccessFact),
}

pub struct OrphanTokenDetector {
    pub options: OrphanOptions,
    orphan: Arc<RuleMeta>,
    owa: Arc<RuleMeta>,
    strings: SharedStrings,
}

impl OrphanTokenDetector {
    pub fn new(rules: &IdentityRules, options: OrphanOptions) -> Self {
        OrphanTokenDetector {
            options,
            orphan: rules.orphan_token.clone(),
            owa: rules.owa_no_sign_in.clone(),
            strings: SharedStrings::default(),
        }
    }
}

/// One orphan token's uses (text borrowed from the detector's strings).
struct Uses<'s> {
    first: (Option<Timestamp>, u32, u64),
    last: Option<Timestamp>,
    access: AccessFact,
    count: u64,
    items: u64,
    kinds: BTreeSet<AccessKind>,
    mailboxes: BTreeSet<&'s str>,
    ips: BTreeSet<&'s str>,
}

impl StatefulDetector for OrphanTokenDetector {
    type Fact = Fact;

    fn name(&self) -> &str {
        "orphan-token"
    }

    fn observe(&self, event: &Event, _alerts: &[vigie_core::Alert], keep: &mut dyn FnMut(Fact)) {
        match classify(event) {
            Some(Record::SignIn(f)) => {
                let raw = RawSignIn::from_fields(&f);
                keep(Fact::SignIn(raw.intern_issue(&mut self.strings.lock())))
            }
            Some(Record::Access(kind, f)) => {
                let raw = RawAccess::from_fields(kind, &f);
                keep(Fact::Access(raw.intern(&mut self.strings.lock())))
            }
            None => {}
        }
    }

    fn replay(&self, facts: Vec<Stamped<Fact>>, out: &mut Findings) {
        let o = &self.options;
        let strings = self.strings.lock();
        let strings: &Strings = &strings;
        let mut issued = Issued::default();
        for s in &facts {
            if let (Fact::SignIn(si), Some(t)) = (&s.fact, s.time) {
                issued.add(t, si);
            }
        }
        let (mut uncovered, mut no_ids, mut untimed, mut dropped) = (0u64, 0u64, 0u64, 0u64);
        // Keyed by token, else session (`None`: neither, never an orphan).
        let mut order: Vec<Option<Sym>> = Vec::new();
        let mut orphans: FxHashMap<Option<Sym>, Uses> = FxHashMap::default();
        for s in facts {
            let Fact::Access(a) = &s.fact else { continue };
            let mut a = *a;
            if a.mailbox.is_none() {
                a.mailbox = a.object_id.and_then(|o| issued.upn(o));
            }
            let Some(time) = s.time else {
                untimed += 1;
                continue;
            };
            match issued.judge(o, time, &a) {
                Verdict::Issued => continue,
                Verdict::NoIds => no_ids += 1,
                Verdict::NotCovered => uncovered += 1,
                Verdict::Orphan if a.kind == AccessKind::OwaAuth => {
                    out.alert(Some(s.source), owa_alert(&self.owa, &s, &a, strings));
                }
                Verdict::Orphan => {
                    // Session-only records (no token id) are keyed by session.
                    let key = a.token.or(a.session);
                    if !orphans.contains_key(&key) {
                        if orphans.len() >= o.max_tokens {
                            dropped += 1;
                            continue;
                        }
                        order.push(key);
                        orphans.insert(
                            key,
                            Uses {
                                first: (s.time, s.source, s.record),
                                last: s.time,
                                access: a,
                                count: 0,
                                items: 0,
                                kinds: BTreeSet::new(),
                                mailboxes: BTreeSet::new(),
                                ips: BTreeSet::new(),
                            },
                        );
                    }
                    if let Some(u) = orphans.get_mut(&key) {
                        u.last = s.time;
                        u.count += 1;
                        u.items += u64::from(a.items);
                        u.kinds.insert(a.kind);
                        u.mailboxes.extend(strings.text(a.mailbox.or(a.object_id)));
                        u.ips.extend(strings.text(a.ip));
                    }
                }
            }
        }
        // Clients refresh their tokens in non-interactive sign-ins; an
        // export without them makes most honest tokens look orphan.
        let rule = if issued.has_sign_ins() && !issued.has_non_interactive() && !order.is_empty() {
            out.note("orphan-token: no non-interactive sign-ins in the input (they issue most tokens); orphan-token alerts lowered to medium");
            let mut lowered = (*self.orphan).clone();
            lowered.level = vigie_core::Level::Medium;
            Arc::new(lowered)
        } else {
            self.orphan.clone()
        };
        for key in order {
            if let Some(u) = orphans.remove(&key) {
                let key = strings.text(key).unwrap_or("");
                out.alert(Some(u.first.1), orphan_alert(&rule, key, u, strings));
            }
        }
        if !issued.has_sign_ins() && uncovered > 0 {
            out.note(format!("orphan-token: no sign-in logs in the input; {uncovered} token uses could not be checked against the sign-ins that issued them"));
        } else if uncovered > 0 {
            out.note(format!("orphan-token: {uncovered} token uses matched no sign-in but fell outside the time the sign-in logs cover; not judged"));
        }
        if no_ids > 0 {
            out.note(format!("orphan-token: {no_ids} workload records carried neither a token id nor a session id; not judged"));
        }
        if untimed > 0 {
            out.note(format!(
                "orphan-token: {untimed} workload records had no readable time; not judged"
            ));
        }
        if dropped > 0 {
            out.note(format!("orphan-token: more than {} orphan tokens; {dropped} further uses were not reported", o.max_tokens));
        }
    }
}

fn owa_alert(
    rule: &Arc<RuleMeta>,
    s: &Stamped<Fact>,
    a: &AccessFact,
    strings: &Strings,
) -> vigie_core::Alert {
    let mut ev = Evidence::default();
    ev.push("Operation", Some("GetAccessTokenForResource"));
    ev.access(&a.resolve(strings));
    build(rule, s.time, s.record, ev)
}

fn orphan_alert(rule: &Arc<RuleMeta>, key: &str, u: Uses, strings: &Strings) -> vigie_core::Alert {
    let mut ev = Evidence::default();
    ev.access(&u.access.resolve(strings));
    ev.set("TokenId", key);
    ev.set("Uses", &u.count.to_string());
    ev.set("MessageIds", &u.items.to_string());
    let kinds: Vec<&str> = u.kinds.iter().map(|k| k.as_str()).collect();
    ev.set("Kinds", &kinds.join(", "));
    ev.set("Mailboxes", &join(&u.mailboxes));
    ev.set("IPs", &join(&u.ips));
    ev.time("FirstUse", u.first.0);
    ev.time("LastUse", u.last);
    build(rule, u.first.0, u.first.2, ev)
}

fn join(set: &BTreeSet<&str>) -> String {
    set.iter().copied().collect::<Vec<_>>().join(", ")
}
