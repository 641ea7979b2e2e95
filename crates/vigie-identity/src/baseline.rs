//! Baselines per tenant and user: first-seen mail applications (CISA's
//! detection of Storm-0558, threat brief §1.4), new countries and networks,
//! and impossible travel between sign-ins.
//!
//! Everything seen during the learning window (or listed in a baseline
//! file) is normal; afterwards each new thing is reported once and then
//! becomes known, like a "new terms" rule.

use std::path::PathBuf;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use vigie_core::{Alert, Event, Findings, RuleMeta, Stamped, StatefulDetector, Timestamp};

use crate::access::{classify, Access, AccessKind, Record, SignIn};
use crate::alerts::{build, Evidence};
use crate::baseline_file::{distance_km, network, Baseline};
use crate::rules::IdentityRules;
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

pub enum Fact {
    SignIn(SignIn),
    Mail(Box<Access>),
}

pub struct BaselineDetector {
    options: BaselineOptions,
    rules: IdentityRules,
}

impl BaselineDetector {
    pub fn new(rules: &IdentityRules, options: BaselineOptions) -> Self {
        BaselineDetector {
            options,
            rules: rules.clone(),
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
    place: String,
    ip: String,
}

#[derive(Default)]
struct State {
    known: Baseline,
    positions: FxHashMap<Box<str>, Position>,
    users: FxHashSet<Box<str>>,
    new_networks: u64,
    over_cap: u64,
}

impl StatefulDetector for BaselineDetector {
    type Fact = Fact;

    fn name(&self) -> &str {
        "identity-baseline"
    }

    fn observe(&self, event: &Event, _alerts: &[Alert], keep: &mut dyn FnMut(Fact)) {
        match classify(event) {
            Some(Record::SignIn(f)) => {
                let mut s = SignIn::from_fields(&f);
                if let Some(db) = &self.options.geoip {
                    db.fill(&mut s);
                }
                if s.success && (s.upn.is_some() || s.object_id.is_some()) {
                    keep(Fact::SignIn(s));
                }
            }
            Some(Record::Access(kind @ (AccessKind::MailBind | AccessKind::MailSync), f)) => {
                keep(Fact::Mail(Box::new(Access::from_fields(kind, &f))))
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
        let mut st = State {
            known: self.options.baseline.clone().unwrap_or_default(),
            ..State::default()
        };
        st.known.version = Baseline::VERSION;
        for s in &facts {
            let Some(time) = s.time else { continue };
            let learning = time < learn_end;
            match &s.fact {
                Fact::Mail(a) => self.mail(&mut st, s, a, learning, out),
                Fact::SignIn(si) => self.sign_in(&mut st, s, time, si, learning, out),
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
        s: &Stamped<Fact>,
        a: &Access,
        learning: bool,
        out: &mut Findings,
    ) {
        let (Some(app), Some(mailbox)) = (a.app.as_deref(), a.mailbox.as_deref()) else {
            return;
        };
        let client = a.client_app.as_deref().unwrap_or("").to_owned();
        let tenant = a.tenant.as_deref().unwrap_or("").to_owned();
        let in_tenant = (tenant, app.to_owned(), client.clone());
        let in_mailbox = (mailbox.to_owned(), app.to_owned(), client);
        let new_tenant = !st.known.tenant_mail_apps.contains(&in_tenant);
        let new_mailbox = !st.known.mailbox_mail_apps.contains(&in_mailbox);
        if !learning && (new_tenant || new_mailbox) {
            let rule = if new_tenant {
                &self.rules.first_seen_mail_app
            } else {
                &self.rules.first_seen_mail_app_user
            };
            let mut ev = Evidence::default();
            ev.access(a);
            ev.set("NewTo", if new_tenant { "tenant" } else { "mailbox" });
            out.alert(Some(s.source), build(rule, s.time, s.record, ev));
        }
        st.known.tenant_mail_apps.insert(in_tenant);
        st.known.mailbox_mail_apps.insert(in_mailbox);
    }

    fn sign_in(
        &self,
        st: &mut State,
        s: &Stamped<Fact>,
        time: Timestamp,
        si: &SignIn,
        learning: bool,
        out: &mut Findings,
    ) {
        let Some(user) = si.upn.as_deref().or(si.object_id.as_deref()) else {
            return;
        };
        if !st.users.contains(user) {
            if st.users.len() >= MAX_USERS {
                st.over_cap += 1;
                return;
            }
            st.users.insert(Box::from(user));
        }
        let evidence = |extra: &[(&str, String)]| {
            let mut ev = Evidence::default();
            ev.user(Some(user));
            ev.push("IP", si.ip.as_deref());
            ev.push("Country", si.country.as_deref());
            ev.push("City", si.city.as_deref());
            ev.push("TokenId", si.token.as_deref());
            ev.push("SessionId", si.session.as_deref());
            for (k, v) in extra {
                ev.set(k, v);
            }
            ev
        };
        if let Some(country) = si.country.as_deref() {
            let known = st.known.countries.entry(user.to_owned()).or_default();
            if known.insert(country.to_owned()) && !learning && known.len() > 1 {
                let ev = evidence(&[]);
                out.alert(
                    Some(s.source),
                    build(&self.rules.new_country, s.time, s.record, ev),
                );
            }
        }
        if let Some(net) = si.ip.as_deref().and_then(network) {
            let known = st.known.networks.entry(user.to_owned()).or_default();
            if known.len() < MAX_NETWORKS
                && known.insert(net.clone())
                && !learning
                && known.len() > 1
            {
                st.new_networks += 1;
                if self.options.alert_new_networks {
                    let ev = evidence(&[("Network", net)]);
                    out.alert(
                        Some(s.source),
                        build(&self.rules.new_network, s.time, s.record, ev),
                    );
                }
            }
        }
        let Some(geo) = si.geo else { return };
        let place = [si.city.as_deref(), si.country.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(prev) = st.positions.get(user) {
            let km = distance_km(prev.geo, geo);
            let hours =
                time.saturating_sub(prev.time).max(60 * SECOND) as f64 / (3600 * SECOND) as f64;
            if km > MIN_TRAVEL_KM && km / hours > MAX_KMH {
                let ev = evidence(&[
                    ("PreviousPlace", prev.place.clone()),
                    ("PreviousIP", prev.ip.clone()),
                    ("PreviousTime", vigie_core::format_timestamp(prev.time)),
                    ("DistanceKm", format!("{km:.0}")),
                    ("SpeedKmh", format!("{:.0}", km / hours)),
                ]);
                out.alert(
                    Some(s.source),
                    build(&self.rules.impossible_travel, s.time, s.record, ev),
                );
                // The implausible position is not the user's: keep the old one.
                return;
            }
        }
        let ip = si.ip.as_deref().unwrap_or("").to_owned();
        st.positions.insert(
            Box::from(user),
            Position {
                time,
                geo,
                place,
                ip,
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
