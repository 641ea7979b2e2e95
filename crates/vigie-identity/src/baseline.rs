//! Baselines per tenant and user: first-seen mail applications (CISA's
//! detection of Storm-0558, threat brief §1.4), new countries and networks,
//! and impossible travel between sign-ins.
//!
//! Everything seen during the learning window (or listed in a baseline
//! file) is normal; afterwards each new thing is reported once and then
//! becomes known, like a "new terms" rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use vigie_core::{Alert, Event, Findings, RuleMeta, Stamped, StatefulDetector, Timestamp};

use crate::access::{classify, AccessFact, AccessKind, RawAccess, RawSignIn, Record, SignInFact};
use crate::alerts::{build, Evidence};
use crate::baseline_file::{distance_km, network, Baseline};
use crate::rules::IdentityRules;
use crate::strings::{Case, SharedStrings, Strings, Sym};
use crate::SECOND;

const DAY: i64 = 24 * 3600 * SECOND;

/// Settings of [`BaselineDetector`].
#[derive(Clone, Debug, Default)]
pub struct BaselineOptions {
    /// Learning window in days from the first event. `None`: 7 days, or a
    /// third of the data's span if that is shorter; 0 when a baseline file
    /// is given.
    pub learn_days: Option<f64>,
    /// Known before this run (`--baseline`).
    pub baseline: Option<Baseline>,
    /// Where to write what this run knows at its end (`--baseline-save`).
    pub save: Option<PathBuf>,
    /// Alert on sign-ins from networks new for the user (low; noisy with
    /// mobile carriers), instead of only counting them.
    pub alert_new_networks: bool,
    /// Locations for sign-ins whose log gives none (`--geoip`).
    pub geoip: Option<std::sync::Arc<crate::GeoDb>>,
}

/// Slower than this between sign-ins more than [`MIN_TRAVEL_KM`] apart is
/// a plane at most.
const MAX_KMH: f64 = 1_000.0;
/// Below this, geolocation error (a carrier's gateway city) dominates.
const MIN_TRAVEL_KM: f64 = 500.0;
/// Most users tracked; beyond, sign-ins of further users are counted.
const MAX_USERS: usize = 1_000_000;
/// Most networks remembered per user.
const MAX_NETWORKS: usize = 4_096;

/// Successful sign-ins naming a user, and mail accesses, with interned
/// strings.
pub enum Fact {
    SignIn(SignInFact),
    Mail(AccessFact),
}

pub struct BaselineDetector {
    options: BaselineOptions,
    rules: IdentityRules,
    strings: SharedStrings,
}

impl BaselineDetector {
    pub fn new(rules: &IdentityRules, options: BaselineOptions) -> Self {
        BaselineDetector {
            options,
            rules: rules.clone(),
            strings: SharedStrings::default(),
        }
    }

    /// End of the learning window, given the span of the data.
    fn learn_end(&self, first: Timestamp, last: Timestamp) -> Timestamp {
        let days = match (self.options.learn_days, &self.options.baseline) {
            (Some(d), _) => d.max(0.0),
            (None, Some(_)) => 0.0,
            (None, None) => 7.0_f64.min(last.saturating_sub(first) as f64 / DAY as f64 / 3.0),
        };
        first.saturating_add((days * DAY as f64) as Timestamp)
    }
}

/// Where a user last signed in from, as far as we trust it.
struct Position {
    time: Timestamp,
    geo: (f64, f64),
    city: Option<Sym>,
    country: Option<Sym>,
    ip: Option<Sym>,
}

/// A `(tenant or mailbox, AppId, ClientAppId)` triple in symbols; a
/// missing tenant or client is the empty string, as in the baseline file.
type MailApp = (Option<Sym>, Option<Sym>, Option<Sym>);

/// The replay's state. `known` is what the baseline file says and what
/// gets saved; the sets beside it hold the same entries in symbols, so
/// that checking a fact against them needs no copy of its strings (they
/// are kept equal: an entry goes into `known` exactly when it is new to
/// its mirror).
#[derive(Default)]
struct State {
    known: Baseline,
    tenant_apps: FxHashSet<MailApp>,
    mailbox_apps: FxHashSet<MailApp>,
    countries: FxHashMap<Sym, FxHashSet<Sym>>,
    networks: FxHashMap<Sym, FxHashSet<Sym>>,
    /// IP → its network, computed once per address.
    network_of: FxHashMap<Sym, Option<Sym>>,
    /// The empty string's symbol.
    empty: Option<Sym>,
    positions: FxHashMap<Sym, Position>,
    users: FxHashSet<Sym>,
    new_networks: u64,
    over_cap: u64,
}

/// Adds `value` under `user` to the saved (text) form of a baseline set.
fn remember(
    saved: &mut BTreeMap<String, BTreeSet<String>>,
    strings: &Strings,
    user: Sym,
    value: Sym,
) {
    saved
        .entry(strings.get(user).to_owned())
        .or_default()
        .insert(strings.get(value).to_owned());
}

impl State {
    fn new(known: Baseline, strings: &mut Strings) -> State {
        let mut st = State {
            empty: strings.intern("", Case::Keep),
            ..State::default()
        };
        let mut sym = |t: &str| strings.intern(t, Case::Keep);
        for (a, b, c) in &known.tenant_mail_apps {
            st.tenant_apps.insert((sym(a), sym(b), sym(c)));
        }
        for (a, b, c) in &known.mailbox_mail_apps {
            st.mailbox_apps.insert((sym(a), sym(b), sym(c)));
        }
        let mut seed = |from: &BTreeMap<String, BTreeSet<String>>,
                        to: &mut FxHashMap<Sym, FxHashSet<Sym>>| {
            for (user, set) in from {
                if let Some(user) = sym(user) {
                    to.entry(user)
                        .or_default()
                        .extend(set.iter().filter_map(|v| sym(v)));
                }
            }
        };
        seed(&known.countries, &mut st.countries);
        seed(&known.networks, &mut st.networks);
        st.known = known;
        st
    }
}

impl StatefulDetector for BaselineDetector {
    type Fact = Fact;

    fn name(&self) -> &str {
        "identity-baseline"
    }

    fn observe(&self, event: &Event, _alerts: &[Alert], keep: &mut dyn FnMut(Fact)) {
        match classify(event) {
            Some(Record::SignIn(f)) => {
                let raw = RawSignIn::from_fields(&f);
                if !(raw.success && raw.has_user()) {
                    return;
                }
                let fact = match &self.options.geoip {
                    // The database fills owned fields; rare enough to copy.
                    Some(db) => {
                        let mut s = raw.to_owned();
                        db.fill(&mut s);
                        s.intern(&mut self.strings.lock())
                    }
                    None => raw.intern_place(&mut self.strings.lock()),
                };
                keep(Fact::SignIn(fact));
            }
            Some(Record::Access(kind @ (AccessKind::MailBind | AccessKind::MailSync), f)) => {
                let raw = RawAccess::from_fields(kind, &f);
                keep(Fact::Mail(raw.intern(&mut self.strings.lock())))
            }
            _ => {}
        }
    }

    fn replay(&self, facts: Vec<Stamped<Fact>>, out: &mut Findings) {
        let times = facts.iter().filter_map(|s| s.time);
        let (Some(first), Some(last)) = (times.clone().min(), times.max()) else {
            return;
        };
        let learn_end = self.learn_end(first, last);
        let mut strings = self.strings.lock();
        let strings: &mut Strings = &mut strings;
        let mut st = State::new(self.options.baseline.clone().unwrap_or_default(), strings);
        st.known.version = Baseline::VERSION;
        for s in &facts {
            let Some(time) = s.time else { continue };
            let learning = time < learn_end;
            match &s.fact {
                Fact::Mail(a) => self.mail(&mut st, strings, s, a, learning, out),
                Fact::SignIn(si) => self.sign_in(&mut st, strings, s, time, si, learning, out),
            }
        }
        if learn_end > first {
            out.note(format!(
                "identity-baseline: learnt from {} to {}; nothing new is reported before",
                vigie_core::format_timestamp(first),
                vigie_core::format_timestamp(learn_end)
            ));
        }
        if st.new_networks > 0 && !self.options.alert_new_networks {
            out.note(format!("identity-baseline: {} sign-ins from networks new for their user (not alerted; --alert-new-networks)", st.new_networks));
        }
        if st.over_cap > 0 {
            out.note(format!("identity-baseline: more than {MAX_USERS} users; {} sign-ins of further users were not judged", st.over_cap));
        }
        if let Some(path) = &self.options.save {
            match st.known.save(path) {
                Ok(()) => out.note(format!(
                    "identity-baseline: baseline saved to {}",
                    path.display()
                )),
                Err(e) => out.note(format!("identity-baseline: {e}")),
            }
        }
    }
}

impl BaselineDetector {
    fn mail(
        &self,
        st: &mut State,
        strings: &Strings,
        s: &Stamped<Fact>,
        a: &AccessFact,
        learning: bool,
        out: &mut Findings,
    ) {
        let (Some(app), Some(mailbox)) = (a.app, a.mailbox) else {
            return;
        };
        let client = a.client_app.or(st.empty);
        let in_tenant = (a.tenant.or(st.empty), Some(app), client);
        let in_mailbox = (Some(mailbox), Some(app), client);
        let new_tenant = !st.tenant_apps.contains(&in_tenant);
        let new_mailbox = !st.mailbox_apps.contains(&in_mailbox);
        if !learning && (new_tenant || new_mailbox) {
            let rule = if new_tenant {
                &self.rules.first_seen_mail_app
            } else {
                &self.rules.first_seen_mail_app_user
            };
            let mut ev = Evidence::default();
            ev.access(&a.resolve(strings));
            ev.set("NewTo", if new_tenant { "tenant" } else { "mailbox" });
            out.alert(Some(s.source), build(rule, s.time, s.record, ev));
        }
        let text = |(a, b, c): MailApp| {
            let t = |v: Option<Sym>| strings.text(v).unwrap_or("").to_owned();
            (t(a), t(b), t(c))
        };
        if new_tenant {
            st.tenant_apps.insert(in_tenant);
            st.known.tenant_mail_apps.insert(text(in_tenant));
        }
        if new_mailbox {
            st.mailbox_apps.insert(in_mailbox);
            st.known.mailbox_mail_apps.insert(text(in_mailbox));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sign_in(
        &self,
        st: &mut State,
        strings: &mut Strings,
        s: &Stamped<Fact>,
        time: Timestamp,
        si: &SignInFact,
        learning: bool,
        out: &mut Findings,
    ) {
        let Some(user) = si.upn.or(si.object_id) else {
            return;
        };
        if !st.users.contains(&user) {
            if st.users.len() >= MAX_USERS {
                st.over_cap += 1;
                return;
            }
            st.users.insert(user);
        }
        let evidence = |strings: &Strings, extra: &[(&str, String)]| {
            let mut ev = Evidence::default();
            ev.user(Some(strings.get(user)));
            ev.push("IP", strings.text(si.ip));
            ev.push("Country", strings.text(si.country));
            ev.push("City", strings.text(si.city));
            ev.push("TokenId", strings.text(si.token));
            ev.push("SessionId", strings.text(si.session));
            for (k, v) in extra {
                ev.set(k, v);
            }
            ev
        };
        if let Some(country) = si.country {
            let known = st.countries.entry(user).or_default();
            if known.insert(country) {
                remember(&mut st.known.countries, strings, user, country);
                if !learning && known.len() > 1 {
                    let ev = evidence(strings, &[]);
                    out.alert(
                        Some(s.source),
                        build(&self.rules.new_country, s.time, s.record, ev),
                    );
                }
            }
        }
        let net = si.ip.and_then(|ip| {
            *st.network_of.entry(ip).or_insert_with(|| {
                let net = network(strings.get(ip))?;
                strings.intern(&net, Case::Keep)
            })
        });
        if let Some(net) = net {
            let known = st.networks.entry(user).or_default();
            if known.len() < MAX_NETWORKS && known.insert(net) {
                remember(&mut st.known.networks, strings, user, net);
                if !learning && known.len() > 1 {
                    st.new_networks += 1;
                    if self.options.alert_new_networks {
                        let ev = evidence(strings, &[("Network", strings.get(net).to_owned())]);
                        out.alert(
                            Some(s.source),
                            build(&self.rules.new_network, s.time, s.record, ev),
                        );
                    }
                }
            }
        }
        let Some(geo) = si.geo else { return };
        if let Some(prev) = st.positions.get(&user) {
            let km = distance_km(prev.geo, geo);
            let hours =
                time.saturating_sub(prev.time).max(60 * SECOND) as f64 / (3600 * SECOND) as f64;
            if km > MIN_TRAVEL_KM && km / hours > MAX_KMH {
                let place = [strings.text(prev.city), strings.text(prev.country)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ");
                let ev = evidence(
                    strings,
                    &[
                        ("PreviousPlace", place),
                        ("PreviousIP", strings.text(prev.ip).unwrap_or("").to_owned()),
                        ("PreviousTime", vigie_core::format_timestamp(prev.time)),
                        ("DistanceKm", format!("{km:.0}")),
                        ("SpeedKmh", format!("{:.0}", km / hours)),
                    ],
                );
                out.alert(
                    Some(s.source),
                    build(&self.rules.impossible_travel, s.time, s.record, ev),
                );
                // The implausible position is not the user's: keep the old one.
                return;
            }
        }
        st.positions.insert(
            user,
            Position {
                time,
                geo,
                city: si.city,
                country: si.country,
                ip: si.ip,
            },
        );
    }
}

/// The rules, shared with the CLI's listing.
pub fn rule_list(rules: &IdentityRules) -> Vec<Arc<RuleMeta>> {
    vec![
        rules.orphan_token.clone(),
        rules.owa_no_sign_in.clone(),
        rules.first_seen_mail_app.clone(),
        rules.first_seen_mail_app_user.clone(),
        rules.new_country.clone(),
        rules.new_network.clone(),
        rules.impossible_travel.clone(),
    ]
}
