//! The Storm-0558 intrusion (threat brief §1), injected into the tenant.
//!
//! The actor holds a consumer (MSA) signing key and forges tokens for the
//! tenant's users. Forged tokens never pass through Entra ID, so no sign-in
//! carries their `uti`; they carry the consumer `tid`
//! (`9188040d-…`), an AppId that never read mail here, and come from rented
//! servers (198.51.100.0/24) during China working hours. The stages:
//!
//! 1. `owa-token-issuance`: OWA's `GetAccessTokenForResource` mints an
//!    access token against a forged one (an `OWAAuth` record, RecordType
//!    275, whose token id no sign-in issued).
//! 2. `mailbox-read` / `mailbox-sync`: `MailItemsAccessed` Bind and Sync
//!    with the minted token, over several mailboxes and days.
//! 3. `graph-mail-access`: Graph requests for messages and attachments with
//!    a forged Graph token (orphan `signInActivityId`), and the
//!    `MailItemsAccessed` records they cause (AppId = Graph).
//! 4. `session-replay`: once, a stolen session presented to Entra from the
//!    actor's server shortly after the victim's own sign-in elsewhere: a
//!    real sign-in (new IP, new country, impossible travel) whose token
//!    lists mail folders. Not part of Microsoft's account of Storm-0558; it
//!    gives travel and new-IP detectors a true positive.

use std::collections::BTreeSet;

use crate::catalog::{
    agents, App, ACTOR_CITY, CONSUMER_TENANT_ID, EXCHANGE, FOLDERS, GRAPH, OUTLOOK_WEB,
};
use crate::graph::{self, GraphRequest};
use crate::ground_truth::{GroundTruth, MailboxFacts, Stage, TokenFacts};
use crate::mailbox::{self, Access, MailAccessSpec};
use crate::records::Record;
use crate::rng::{Rng, Stream};
use crate::signins::{sign_in, SignInSpec, Token};
use crate::tenant::Day;
use crate::time::{self, Ticks, HOUR, MINUTE, SECOND};
use crate::users::{Device, DeviceKind, User};

/// The actor's client: an application id never registered in the tenant
/// (made up, like all simulated values).
pub const ACTOR_APP: App = App {
    id: "7c1e3f9a-5b2d-4e68-9a0f-2d5c8b1e4f73",
    name: "",
};

/// UTC hours the actor works: 09:00–18:00 in UTC+8.
const ACTOR_HOURS_UTC: (i64, i64) = (1, 10);

pub struct AttackPlan {
    pub victims: Vec<usize>,
    pub ips: Vec<String>,
    pub first_day: u32,
    pub last_day: u32,
    /// (victim, day) pairs with an access session.
    pub sessions: Vec<(usize, u32)>,
    replay_done: bool,
    rng: Rng,
}

/// Chooses victims, infrastructure and days: the attack starts after the
/// first 40% of the period (a clean learning window) and lasts up to three days.
pub fn plan(seed: u64, users: &[User], days: u32) -> Option<AttackPlan> {
    if users.is_empty() || days == 0 {
        return None;
    }
    let mut rng = Rng::stream(seed, Stream::Attack, 0, 0);
    let first_day = if days > 1 { (days * 2 / 5).max(1) } else { 0 };
    let span = (days - first_day).min(3);
    let last_day = first_day + span - 1;
    let wanted = (users.len() / 3).clamp(2, 5).min(users.len());
    let mut victims = BTreeSet::new();
    while victims.len() < wanted {
        victims.insert(rng.below(users.len() as u64) as usize);
    }
    let victims: Vec<usize> = victims.into_iter().collect();
    let mut ips = BTreeSet::new();
    while ips.len() < 3 {
        ips.insert(format!("198.51.100.{}", 10 + rng.below(240)));
    }
    let mut sessions = Vec::new();
    for (i, &victim) in victims.iter().enumerate() {
        let day = first_day + (i as u32 % span);
        sessions.push((victim, day));
        if day < last_day && rng.chance(0.6) {
            sessions.push((victim, day + 1));
        }
    }
    sessions.sort_by_key(|&(v, d)| (d, v));
    Some(AttackPlan {
        victims,
        ips: ips.into_iter().collect(),
        first_day,
        last_day,
        sessions,
        replay_done: false,
        rng,
    })
}

/// Keeps the ground truth as records are written.
struct Recorder<'a> {
    truth: &'a mut GroundTruth,
}

impl Recorder<'_> {
    fn stage(&mut self, name: &'static str, description: &'static str, at: Ticks, mailbox: &str) {
        let stamp = time::iso_seconds_z(at);
        if let Some(stage) = self.truth.stages.iter_mut().find(|s| s.name == name) {
            if stamp < stage.first {
                stage.first = stamp.clone();
            }
            if stamp > stage.last {
                stage.last = stamp;
            }
            stage.records += 1;
            stage.mailboxes.insert(mailbox.to_owned());
        } else {
            self.truth.stages.push(Stage {
                name,
                description,
                first: stamp.clone(),
                last: stamp,
                records: 1,
                mailboxes: BTreeSet::from([mailbox.to_owned()]),
            });
        }
    }

    fn mailbox(&mut self, user: &User) -> &mut MailboxFacts {
        let position = self.truth.mailboxes.iter().position(|m| m.upn == user.upn);
        let index = match position {
            Some(i) => i,
            None => {
                self.truth.mailboxes.push(MailboxFacts {
                    upn: user.upn.clone(),
                    object_id: user.object_id.clone(),
                    ..MailboxFacts::default()
                });
                self.truth.mailboxes.len() - 1
            }
        };
        &mut self.truth.mailboxes[index]
    }

    fn touch(&mut self, user: &User, at: Ticks, ip: &str) {
        let stamp = time::iso_seconds_z(at);
        let facts = self.mailbox(user);
        if facts.first_access.is_empty() || stamp < facts.first_access {
            facts.first_access = stamp.clone();
        }
        if stamp > facts.last_access {
            facts.last_access = stamp;
        }
        facts.ips.insert(ip.to_owned());
    }

    fn token(&mut self, token: &Token, kind: &'static str, has_sign_in: bool, mailbox: &str) {
        self.truth.tokens.push(TokenFacts {
            id: token.uti.clone(),
            kind,
            has_sign_in,
            mailbox: mailbox.to_owned(),
            app_id: token.app.id,
            resource_id: token.resource.id,
            issued: time::iso_seconds_z(token.issued),
            ip: token.ip.clone(),
        });
    }
}

fn ual_id(record: &Record) -> Option<String> {
    match record {
        Record::Ual(r) => Some(r.id.clone()),
        _ => None,
    }
}

fn forged_token(
    rng: &mut Rng,
    resource: crate::catalog::Resource,
    ip: &str,
    agent: &'static str,
    at: Ticks,
) -> Token {
    Token {
        uti: rng.token_id(),
        // Forged tokens belong to no Entra session.
        session_id: String::new(),
        issued: at,
        expires: at + HOUR,
        app: ACTOR_APP,
        resource,
        ip: ip.to_owned(),
        user_agent: agent,
        device_id: String::new(),
        tenant_id: CONSUMER_TENANT_ID.to_owned(),
        correlation_id: rng.guid(),
    }
}

/// Writes the day's attack records, if the plan has any for `day`.
pub fn attack_day(
    day: &Day<'_>,
    plan: &mut AttackPlan,
    users: &[User],
    out: &mut Vec<Record>,
    truth: &mut GroundTruth,
) {
    if day.index < plan.first_day || day.index > plan.last_day {
        return;
    }
    let sessions: Vec<usize> = plan
        .sessions
        .iter()
        .filter(|&&(_, d)| d == day.index)
        .map(|&(v, _)| v)
        .collect();
    let mut rec = Recorder { truth };
    for victim in sessions {
        let user = &users[victim];
        access_session(day, plan, user, out, &mut rec);
    }
    if !plan.replay_done {
        // The first victim who signed in today, as seen from their own logs.
        let candidate = plan
            .victims
            .iter()
            .map(|&v| &users[v])
            .find(|u| u.state.first_sign_in_today.is_some());
        if let Some(user) = candidate {
            session_replay(day, plan, user, out, &mut rec);
            plan.replay_done = true;
        }
    }
}

fn access_session(
    day: &Day<'_>,
    plan: &mut AttackPlan,
    user: &User,
    out: &mut Vec<Record>,
    rec: &mut Recorder<'_>,
) {
    let rng = &mut plan.rng;
    let ip = plan.ips[rng.below(plan.ips.len() as u64) as usize].clone();
    let start =
        day.start + HOUR * rng.range(ACTOR_HOURS_UTC.0, ACTOR_HOURS_UTC.1 - 1) + rng.range(0, HOUR);

    // Stage 1: a forged token presented to OWA; OWA mints an access token.
    let minted = forged_token(rng, EXCHANGE, &ip, agents::ACTOR_PYTHON, start + MINUTE);
    let record = mailbox::owa_auth(rng, day.org, user, &minted, ACTOR_APP, minted.issued);
    rec.truth.records.ual.extend(ual_id(&record));
    rec.stage("owa-token-issuance", "OWAAuth (RecordType 275): OWA issued an access token against a forged token; no sign-in issued either", minted.issued, &user.upn);
    rec.token(&minted, "owa-minted", false, &user.upn);
    out.push(record);

    // Stage 2: read (Bind) and synchronise (Sync) mail with the minted token.
    let received = user.state.received;
    let mut at = minted.issued + MINUTE * 2;
    for _ in 0..rng.range(3, 9) {
        let count = rng.range(2, 11) as usize;
        let items = mailbox::recent_messages(rng, user, count, received);
        at += rng.range(MINUTE, 6 * MINUTE);
        write_mail_access(
            rng,
            day,
            user,
            &minted,
            ACTOR_APP.id,
            at,
            Access::Bind,
            &items,
            out,
            rec,
        );
    }
    for _ in 0..rng.range(1, 3) {
        let folder = rng.below(3) as usize;
        let items = mailbox::folder_messages(day.org, user, folder, 20, 400);
        at += rng.range(MINUTE, 4 * MINUTE);
        write_mail_access(
            rng,
            day,
            user,
            &minted,
            ACTOR_APP.id,
            at,
            Access::Sync,
            &items,
            out,
            rec,
        );
    }

    // Stage 3: Graph with a forged Graph token.
    let forged = forged_token(rng, GRAPH, &ip, agents::ACTOR_POWERSHELL, at + MINUTE);
    rec.token(&forged, "forged", false, &user.upn);
    let issuer = format!("https://login.microsoftonline.com/{CONSUMER_TENANT_ID}/v2.0");
    let base = format!("https://graph.microsoft.com/v1.0/users/{}", user.upn);
    let mut uris = vec![
        format!("{base}/mailFolders"),
        format!("{base}/mailFolders/inbox/messages?$top=50&$select=subject,from,receivedDateTime"),
    ];
    for _ in 0..rng.range(1, 4) {
        uris.push(format!(
            "{base}/messages/AAMkA{}/attachments",
            rng.hex_upper(24)
        ));
    }
    let mut when = forged.issued;
    for uri in uris {
        when += rng.range(5 * SECOND, 90 * SECOND);
        let req = GraphRequest {
            token: &forged,
            user_object_id: &user.object_id,
            method: "GET",
            uri,
            scopes: graph::MAIL_SCOPES,
            status: 200,
            identity_provider: issuer.clone(),
            time: when,
        };
        let record = graph::graph_activity(rng, day.org, &req);
        if let Record::GraphActivity(g) = &record {
            rec.truth.records.graph_activity.push(g.request_id.clone());
        }
        rec.stage("graph-mail-access", "Microsoft Graph requests for mail with a forged token (signInActivityId matches no sign-in)", when, &user.upn);
        rec.touch(user, when, &ip);
        rec.mailbox(user).graph_requests += 1;
        out.push(record);
    }
    let count = rng.range(5, 16) as usize;
    let items = mailbox::recent_messages(rng, user, count, received);
    write_mail_access(
        rng,
        day,
        user,
        &forged,
        GRAPH.id,
        when + SECOND * 3,
        Access::Bind,
        &items,
        out,
        rec,
    );
}

#[allow(clippy::too_many_arguments)]
fn write_mail_access(
    rng: &mut Rng,
    day: &Day<'_>,
    user: &User,
    token: &Token,
    app_id: &'static str,
    at: Ticks,
    access: Access,
    items: &[u64],
    out: &mut Vec<Record>,
    rec: &mut Recorder<'_>,
) {
    let spec = MailAccessSpec {
        owner: user,
        token,
        app_id,
        client_app_id: ACTOR_APP.id,
        client_info_string: "Client=REST;;".to_owned(),
        token_object_id: &user.object_id,
        time: token.at(at - token.issued),
    };
    let record = mailbox::mail_items_accessed(rng, day.org, &spec, access, items);
    rec.truth.records.ual.extend(ual_id(&record));
    let (stage, description) = match access {
        Access::Bind => ("mailbox-read", "MailItemsAccessed Bind with an orphan token, consumer TokenTenantId and an AppId never seen reading mail"),
        Access::Sync => ("mailbox-sync", "MailItemsAccessed Sync of whole folders with an orphan token"),
    };
    rec.stage(stage, description, spec.time, &user.upn);
    rec.touch(user, spec.time, &token.ip);
    let facts = rec.mailbox(user);
    facts.mail_items_accessed_records += 1;
    for &seq in items {
        let folder = mailbox::message_folder(day.org, user, seq);
        facts.folders.insert(FOLDERS[folder].0);
        let id = mailbox::message_id(day.org, user, seq);
        match access {
            Access::Bind => facts.read.insert(id),
            Access::Sync => facts.synced.insert(id),
        };
    }
    out.push(record);
}

fn session_replay(
    day: &Day<'_>,
    plan: &mut AttackPlan,
    user: &User,
    out: &mut Vec<Record>,
    rec: &mut Recorder<'_>,
) {
    let Some((first, _, _)) = &user.state.first_sign_in_today else {
        return;
    };
    let rng = &mut plan.rng;
    let ip = plan.ips[0].clone();
    let at = first + rng.range(25 * MINUTE, 50 * MINUTE);
    // A stolen session: the victim's session id, on no device of theirs.
    let stolen = Device {
        id: String::new(),
        display_name: String::new(),
        kind: DeviceKind::WindowsLaptop,
        managed: false,
        session_id: user.primary_device().session_id.clone(),
    };
    let spec = SignInSpec {
        user,
        device: &stolen,
        app: OUTLOOK_WEB,
        resource: GRAPH,
        interactive: false,
        ip: &ip,
        city: &ACTOR_CITY,
        user_agent: agents::ACTOR_PYTHON,
        error: None,
        time: at,
    };
    let (record, token) = sign_in(rng, day.org, &spec);
    if let Record::SignIn(s) = &record {
        rec.truth.records.sign_ins.push(s.id.clone());
    }
    out.push(record);
    rec.stage("session-replay", "A stolen session presented from the actor's server minutes after the victim's own sign-in elsewhere (new IP and country, impossible travel)", at, &user.upn);
    let Some(token) = token else {
        return;
    };
    rec.token(&token, "replayed-session", true, &user.upn);
    let req = GraphRequest {
        token: &token,
        user_object_id: &user.object_id,
        method: "GET",
        uri: "https://graph.microsoft.com/v1.0/me/mailFolders".to_owned(),
        scopes: graph::MAIL_SCOPES,
        status: 200,
        identity_provider: graph::tenant_issuer(day.org),
        time: token.at(MINUTE * 2),
    };
    let record = graph::graph_activity(rng, day.org, &req);
    if let Record::GraphActivity(g) = &record {
        rec.truth.records.graph_activity.push(g.request_id.clone());
    }
    rec.stage("session-replay", "", req.time, &user.upn);
    rec.touch(user, req.time, &ip);
    rec.mailbox(user).graph_requests += 1;
    out.push(record);
}
