//! A working day of the tenant: each user's sessions, mail, Teams and
//! OneDrive activity, phone checks, trips and the ordinary noise, and the
//! administrators' changes to the directory.

use serde::Serialize;

use crate::audit;
use crate::catalog::{
    self, agents, App, City, EXCHANGE, GRAPH, GRAPH_EXPLORER, MICROSOFT_OFFICE, NEW_APPS,
    ONEDRIVE_SYNC, OUTLOOK_DESKTOP, OUTLOOK_MOBILE, OUTLOOK_WEB, SHAREPOINT, SIGN_IN_ERRORS, TEAMS,
    TRAVEL_CITIES,
};
use crate::graph::{self, GraphRequest};
use crate::mailbox::{self, Access, MailAccessSpec};
use crate::records::Record;
use crate::rng::{Rng, Stream};
use crate::sharepoint;
use crate::signins::{sign_in, SignInSpec, Token};
use crate::time::{self, Ticks, HOUR, MINUTE};
use crate::users::{self, Device, DeviceKind, Org, Trip, User};

/// The day being simulated.
pub struct Day<'a> {
    pub org: &'a Org,
    pub seed: u64,
    pub index: u32,
    pub start: Ticks,
}

/// Benign events a detector may flag; listed in the ground truth so that
/// benchmarks can tell expected false positives from misses.
#[derive(Default, Serialize)]
pub struct BenignLog {
    pub new_apps: Vec<BenignApp>,
    pub trips: Vec<BenignTrip>,
    pub new_devices: Vec<BenignDevice>,
}

#[derive(Serialize)]
pub struct BenignApp {
    pub user: String,
    pub app_id: &'static str,
    pub app_name: &'static str,
    pub first_use: String,
    pub reads_mail: bool,
}

#[derive(Serialize)]
pub struct BenignTrip {
    pub user: String,
    pub country: &'static str,
    pub city: &'static str,
    pub ip: String,
    pub depart: String,
    pub back: String,
}

#[derive(Serialize)]
pub struct BenignDevice {
    pub user: String,
    pub device_id: String,
    pub display_name: String,
    pub first_use: String,
}

/// Where the user works from today.
struct Place {
    city: &'static City,
    laptop_ip: String,
    /// `None`: the phone uses the carrier network.
    phone_ip: Option<String>,
}

/// A random offset of `lo..hi` minutes, to the tick: real logs are not
/// aligned on minutes.
fn minutes(rng: &mut Rng, lo: i64, hi: i64) -> Ticks {
    rng.range(lo * MINUTE, hi * MINUTE)
}

/// A successful sign-in to make: on which device, to which app and
/// resource, from where, when.
struct Issue<'a> {
    device: usize,
    app: App,
    resource: catalog::Resource,
    interactive: bool,
    ip: &'a str,
    city: &'static City,
    agent: &'static str,
    at: Ticks,
}

/// Sign-in without the failure path, for apps that refresh silently.
fn issue(
    rng: &mut Rng,
    day: &Day<'_>,
    user: &User,
    how: Issue<'_>,
    out: &mut Vec<Record>,
) -> Option<Token> {
    let spec = SignInSpec {
        user,
        device: &user.devices[how.device],
        app: how.app,
        resource: how.resource,
        interactive: how.interactive,
        ip: how.ip,
        city: how.city,
        user_agent: how.agent,
        error: None,
        time: how.at,
    };
    let (record, token) = sign_in(rng, day.org, &spec);
    out.push(record);
    token
}

fn note_first_sign_in(user: &mut User, token: &Token, city: &'static City) {
    if user.state.first_sign_in_today.is_none() {
        user.state.first_sign_in_today = Some((token.issued, token.ip.clone(), city));
    }
}

fn client_info(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::WindowsLaptop => "Client=MSExchangeRPC",
        DeviceKind::MacLaptop => "Client=REST;Client=RESTSystem;MacOutlook;",
        DeviceKind::IPhone => "Client=OutlookService;Outlook-iOS/2.0;",
        DeviceKind::AndroidPhone => "Client=OutlookService;Outlook-Android/2.0;",
    }
}

#[allow(clippy::too_many_arguments)] // one call shape, all of it needed
fn mail_session(
    rng: &mut Rng,
    day: &Day<'_>,
    user: &User,
    token: &Token,
    info: &str,
    syncs: (i64, i64),
    binds: (i64, i64),
    out: &mut Vec<Record>,
) {
    // Counts are drawn here, ranges `lo..hi`, so callers need not hold the rng twice.
    let syncs = rng.range(syncs.0, syncs.1);
    let binds = rng.range(binds.0, binds.1);
    let spec_at = |at| MailAccessSpec {
        owner: user,
        token,
        app_id: token.app.id,
        client_app_id: token.app.id,
        client_info_string: info.to_owned(),
        token_object_id: &user.object_id,
        time: at,
    };
    for _ in 0..syncs {
        let folder = rng.below(2) as usize;
        let count = rng.range(2, 9) as usize;
        let items = mailbox::folder_messages(day.org, user, folder, count, 200);
        let at = token.at(minutes(rng, 1, 50));
        out.push(mailbox::mail_items_accessed(
            rng,
            day.org,
            &spec_at(at),
            Access::Sync,
            &items,
        ));
    }
    for _ in 0..binds {
        let count = rng.range(1, 5) as usize;
        let items = mailbox::recent_messages(rng, user, count, 40);
        let at = token.at(minutes(rng, 1, 55));
        out.push(mailbox::mail_items_accessed(
            rng,
            day.org,
            &spec_at(at),
            Access::Bind,
            &items,
        ));
    }
}

/// Works out today's whereabouts; `None` on a day spent in transit.
fn whereabouts(
    rng: &mut Rng,
    day: &Day<'_>,
    user: &mut User,
    weekend: bool,
    log: &mut BenignLog,
) -> Option<Place> {
    if let Some(trip) = &user.state.trip {
        if day.index > trip.return_day {
            user.state.trip = None;
        }
    }
    if user.state.trip.is_none() && !weekend && rng.chance(0.004) {
        let city = rng.pick(&TRAVEL_CITIES);
        let depart_day = day.index + 1;
        let return_day = depart_day + rng.range(3, 7) as u32;
        let ip = users::travel_ip(rng);
        log.trips.push(BenignTrip {
            user: user.upn.clone(),
            country: city.country,
            city: city.name,
            ip: ip.clone(),
            depart: time::date(day.start + HOUR * 24),
            back: time::date(day.start + HOUR * 24 * i64::from(return_day - day.index)),
        });
        user.state.trip = Some(Trip {
            city,
            ip,
            depart_day,
            return_day,
        });
    }
    if let Some(trip) = &user.state.trip {
        if day.index == trip.depart_day || day.index == trip.return_day {
            return None;
        }
        if day.index > trip.depart_day {
            return Some(Place {
                city: trip.city,
                laptop_ip: trip.ip.clone(),
                phone_ip: Some(trip.ip.clone()),
            });
        }
    }
    let laptop_ip = if rng.chance(0.6) {
        user.office_ip.clone()
    } else {
        user.home_ip.clone()
    };
    Some(Place {
        city: user.home,
        laptop_ip,
        phone_ip: None,
    })
}

/// One user's day.
pub fn user_day(day: &Day<'_>, user: &mut User, out: &mut Vec<Record>, log: &mut BenignLog) {
    let mut rng = Rng::stream(
        day.seed,
        Stream::UserDay,
        user.index as u64,
        u64::from(day.index),
    );
    let rng = &mut rng;
    user.state.first_sign_in_today = None;
    // Mail keeps arriving, whatever the user does.
    user.state.received += rng.range(10, 40) as u64;
    let weekend = time::weekday(day.start) >= 5;
    let Some(place) = whereabouts(rng, day, user, weekend, log) else {
        return;
    };
    let offset = place.city.utc_offset_hours * HOUR;
    let start = day.start + user.start_minute * MINUTE + minutes(rng, -30, 30) - offset;

    if weekend {
        if rng.chance(0.3) {
            let at = start + HOUR * rng.range(1, 8);
            phone_check(rng, day, user, &place, at, out);
        }
        return;
    }

    // New device (noise): registered, then signed in interactively.
    if rng.chance(0.002) {
        let index = users::add_device(rng, user);
        user.devices[index].session_id = rng.guid();
        let at = start + minutes(rng, 5, 120);
        let device = &user.devices[index];
        out.push(audit::device_registered(
            rng,
            user,
            device,
            &place.laptop_ip,
            at,
        ));
        log.new_devices.push(BenignDevice {
            user: user.upn.clone(),
            device_id: device.id.clone(),
            display_name: device.display_name.clone(),
            first_use: time::iso_seconds_z(at),
        });
        let (app, agent) = if device.kind.is_phone() {
            (OUTLOOK_MOBILE, agents::OUTLOOK_IOS)
        } else {
            (OUTLOOK_DESKTOP, agents::OUTLOOK_WINDOWS)
        };
        let ip = place.laptop_ip.clone();
        if let Some(token) = issue(
            rng,
            day,
            user,
            Issue {
                device: index,
                app,
                resource: EXCHANGE,
                interactive: true,
                ip: &ip,
                city: place.city,
                agent,
                at: at + MINUTE,
            },
            out,
        ) {
            let info = client_info(user.devices[index].kind);
            mail_session(rng, day, user, &token, info, (1, 2), (1, 2), out);
        }
    }

    // The laptop's working session.
    let laptop = 0;
    let laptop_kind = user.devices[laptop].kind;
    let interactive = user.devices[laptop].session_id.is_empty() || rng.chance(0.2);
    if interactive {
        user.devices[laptop].session_id = rng.guid();
        if rng.chance(0.06) {
            // A failure or interrupt before the successful sign-in (noise).
            let error = *rng.pick(&SIGN_IN_ERRORS);
            let spec = SignInSpec {
                user,
                device: &user.devices[laptop],
                app: OUTLOOK_DESKTOP,
                resource: EXCHANGE,
                interactive: true,
                ip: &place.laptop_ip,
                city: place.city,
                user_agent: outlook_agent(laptop_kind),
                error: Some(error),
                time: start - minutes(rng, 1, 4),
            };
            out.push(sign_in(rng, day.org, &spec).0);
        }
    }
    let mut first_exchange_token = None;
    for hour in 0..user.work_hours {
        let at = start + hour * HOUR + minutes(rng, 0, 8);
        user.state.received += rng.range(1, 6) as u64;
        let ip = place.laptop_ip.clone();
        let token = issue(
            rng,
            day,
            user,
            Issue {
                device: laptop,
                app: OUTLOOK_DESKTOP,
                resource: EXCHANGE,
                interactive: interactive && hour == 0,
                ip: &ip,
                city: place.city,
                agent: outlook_agent(laptop_kind),
                at,
            },
            out,
        );
        if let Some(token) = token {
            note_first_sign_in(user, &token, place.city);
            mail_session(
                rng,
                day,
                user,
                &token,
                client_info(laptop_kind),
                (1, 2),
                (0, 3),
                out,
            );
            first_exchange_token.get_or_insert(token);
        }
        if hour % 2 == 0 {
            let t = at + minutes(rng, 1, 10);
            if let Some(token) = issue(
                rng,
                day,
                user,
                Issue {
                    device: laptop,
                    app: TEAMS,
                    resource: GRAPH,
                    interactive: false,
                    ip: &ip,
                    city: place.city,
                    agent: agents::TEAMS_DESKTOP,
                    at: t,
                },
                out,
            ) {
                for _ in 0..rng.range(1, 5) {
                    let uri = (*rng.pick(&graph::TEAMS_REQUESTS)).to_owned();
                    let req = GraphRequest {
                        token: &token,
                        user_object_id: &user.object_id,
                        method: "GET",
                        uri,
                        scopes: graph::TEAMS_SCOPES,
                        status: 200,
                        identity_provider: graph::tenant_issuer(day.org),
                        time: token.at(minutes(rng, 0, 55)),
                    };
                    out.push(graph::graph_activity(rng, day.org, &req));
                }
            }
        }
        if rng.chance(0.35) {
            let t = at + minutes(rng, 5, 40);
            if let Some(token) = issue(
                rng,
                day,
                user,
                Issue {
                    device: laptop,
                    app: ONEDRIVE_SYNC,
                    resource: SHAREPOINT,
                    interactive: false,
                    ip: &ip,
                    city: place.city,
                    agent: agents::ONEDRIVE,
                    at: t,
                },
                out,
            ) {
                for _ in 0..rng.range(1, 4) {
                    let when = token.at(minutes(rng, 0, 50));
                    let device = &user.devices[laptop];
                    out.push(sharepoint::file_event(
                        rng,
                        day.org,
                        user,
                        &token,
                        &device.display_name,
                        device.managed,
                        when,
                    ));
                }
            }
        }
    }

    // Outlook on the web, for those who like it.
    if user.uses_owa && rng.chance(0.4) {
        let at = start + HOUR * rng.range(1, user.work_hours.max(2)) + minutes(rng, 0, 30);
        let ip = place.laptop_ip.clone();
        let agent = browser_agent(laptop_kind);
        let interactive_owa = rng.chance(0.3);
        if let Some(token) = issue(
            rng,
            day,
            user,
            Issue {
                device: laptop,
                app: OUTLOOK_WEB,
                resource: EXCHANGE,
                interactive: interactive_owa,
                ip: &ip,
                city: place.city,
                agent,
                at,
            },
            out,
        ) {
            out.push(mailbox::owa_auth(
                rng,
                day.org,
                user,
                &token,
                OUTLOOK_WEB,
                token.at(MINUTE),
            ));
            mail_session(
                rng,
                day,
                user,
                &token,
                "Client=OWA;Action=ViaProxy",
                (0, 1),
                (1, 4),
                out,
            );
        }
    }

    // Applications picked up during the period (noise: new apps that sign in).
    if user.state.new_apps.is_empty() && rng.chance(0.003) {
        let app = *rng.pick(&NEW_APPS);
        user.state.new_apps.push(app);
        let at = start + HOUR * rng.range(1, 6);
        log.new_apps.push(BenignApp {
            user: user.upn.clone(),
            app_id: app.id,
            app_name: app.name,
            first_use: time::iso_seconds_z(at),
            reads_mail: true,
        });
        if app == GRAPH_EXPLORER {
            out.push(audit::consent_to_app(
                rng,
                user,
                app.id,
                app.name,
                &place.laptop_ip,
                at - MINUTE,
            ));
        }
        use_new_app(rng, day, user, app, &place, at, out);
    } else if let Some(&app) = user.state.new_apps.first() {
        if rng.chance(0.3) {
            let at = start + HOUR * rng.range(1, 6);
            use_new_app(rng, day, user, app, &place, at, out);
        }
    }

    // A mailbox rule now and then (noise).
    if let Some(token) = &first_exchange_token {
        if rng.chance(0.004) {
            let at = token.at(minutes(rng, 2, 50));
            out.push(mailbox::new_inbox_rule(rng, day.org, user, token, at));
        }
    }

    // The phone, during the day and in the evening.
    for _ in 0..rng.range(2, 5) {
        let at = start + minutes(rng, -60, (user.work_hours + 4) * 60);
        phone_check(rng, day, user, &place, at, out);
    }
}

fn outlook_agent(kind: DeviceKind) -> &'static str {
    if kind == DeviceKind::MacLaptop {
        agents::OUTLOOK_MAC
    } else {
        agents::OUTLOOK_WINDOWS
    }
}

fn browser_agent(kind: DeviceKind) -> &'static str {
    if kind == DeviceKind::MacLaptop {
        agents::MAC_SAFARI
    } else {
        agents::WINDOWS_EDGE
    }
}

fn phone_check(
    rng: &mut Rng,
    day: &Day<'_>,
    user: &mut User,
    place: &Place,
    at: Ticks,
    out: &mut Vec<Record>,
) {
    let Some(phone) = user.devices.iter().position(|d| d.kind.is_phone()) else {
        return;
    };
    if user.devices[phone].session_id.is_empty() {
        user.devices[phone].session_id = rng.guid();
    }
    let ip = place
        .phone_ip
        .clone()
        .unwrap_or_else(|| users::mobile_ip(rng));
    let kind = user.devices[phone].kind;
    let agent = if kind == DeviceKind::IPhone {
        agents::OUTLOOK_IOS
    } else {
        agents::OUTLOOK_ANDROID
    };
    if let Some(token) = issue(
        rng,
        day,
        user,
        Issue {
            device: phone,
            app: OUTLOOK_MOBILE,
            resource: EXCHANGE,
            interactive: false,
            ip: &ip,
            city: place.city,
            agent,
            at,
        },
        out,
    ) {
        note_first_sign_in(user, &token, place.city);
        mail_session(
            rng,
            day,
            user,
            &token,
            client_info(kind),
            (1, 2),
            (0, 2),
            out,
        );
    }
}

/// A benign newly adopted app reading the user's own mail, with a sign-in
/// behind every token.
fn use_new_app(
    rng: &mut Rng,
    day: &Day<'_>,
    user: &mut User,
    app: App,
    place: &Place,
    at: Ticks,
    out: &mut Vec<Record>,
) {
    let laptop_kind = user.devices[0].kind;
    let ip = place.laptop_ip.clone();
    if app == GRAPH_EXPLORER {
        let Some(token) = issue(
            rng,
            day,
            user,
            Issue {
                device: 0,
                app,
                resource: GRAPH,
                interactive: true,
                ip: &ip,
                city: place.city,
                agent: browser_agent(laptop_kind),
                at,
            },
            out,
        ) else {
            return;
        };
        let req = GraphRequest {
            token: &token,
            user_object_id: &user.object_id,
            method: "GET",
            uri: "https://graph.microsoft.com/v1.0/me/messages?$top=10".to_owned(),
            scopes: graph::MAIL_SCOPES,
            status: 200,
            identity_provider: graph::tenant_issuer(day.org),
            time: token.at(MINUTE),
        };
        out.push(graph::graph_activity(rng, day.org, &req));
        let items = mailbox::recent_messages(rng, user, 5, 20);
        let spec = MailAccessSpec {
            owner: user,
            token: &token,
            app_id: GRAPH.id,
            client_app_id: app.id,
            client_info_string: "Client=REST;;".to_owned(),
            token_object_id: &user.object_id,
            time: token.at(MINUTE + 2 * crate::time::SECOND),
        };
        out.push(mailbox::mail_items_accessed(
            rng,
            day.org,
            &spec,
            Access::Bind,
            &items,
        ));
    } else {
        debug_assert_eq!(app, MICROSOFT_OFFICE);
        let Some(token) = issue(
            rng,
            day,
            user,
            Issue {
                device: 0,
                app,
                resource: EXCHANGE,
                interactive: false,
                ip: &ip,
                city: place.city,
                agent: outlook_agent(laptop_kind),
                at,
            },
            out,
        ) else {
            return;
        };
        mail_session(
            rng,
            day,
            user,
            &token,
            "Client=REST;Client=RESTSystem;;",
            (0, 1),
            (1, 3),
            out,
        );
    }
}

/// The administrators' changes to the directory on a weekday.
pub fn admin_day(day: &Day<'_>, users: &[User], out: &mut Vec<Record>) {
    if time::weekday(day.start) >= 5 {
        return;
    }
    let admins: Vec<&User> = users.iter().filter(|u| u.is_admin).collect();
    if admins.is_empty() {
        return;
    }
    let mut rng = Rng::stream(day.seed, Stream::AdminDay, 0, u64::from(day.index));
    let rng = &mut rng;
    let changes = 1 + users.len() / 40;
    for _ in 0..changes {
        let admin = *rng.pick(&admins);
        let target = rng.pick(users);
        let at = day.start + admin.start_minute * MINUTE + minutes(rng, 30, 360)
            - admin.home.utc_offset_hours * HOUR;
        // The portal runs in a browser session of its own.
        let portal = Device {
            id: admin.primary_device().id.clone(),
            display_name: admin.primary_device().display_name.clone(),
            kind: admin.primary_device().kind,
            managed: admin.primary_device().managed,
            session_id: rng.guid(),
        };
        let spec = SignInSpec {
            user: admin,
            device: &portal,
            app: audit::ADMIN_APP,
            resource: catalog::AZURE_MANAGEMENT,
            interactive: true,
            ip: &admin.office_ip,
            city: admin.home,
            user_agent: agents::WINDOWS_EDGE,
            error: None,
            time: at,
        };
        out.push(sign_in(rng, day.org, &spec).0);
        let change_at = at + minutes(rng, 1, 20);
        out.push(audit::admin_change(rng, admin, target, change_at));
    }
}
