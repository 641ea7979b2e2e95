//! The directory: the tenant, its people, their devices, homes, offices and
//! habits, and the state that carries from one day to the next.

use std::collections::BTreeSet;

use crate::catalog::{self, City, DEPARTMENTS, FIRST_NAMES, HOME_CITIES, LAST_NAMES};
use crate::rng::{mix, Rng, Stream};

pub const DOMAIN: &str = "contoso-sim.example";
pub const ORGANIZATION_NAME: &str = "contososim.onmicrosoft.com";

pub struct Tenant {
    pub org: Org,
    pub users: Vec<User>,
}

/// What every record of the tenant needs to know about the organisation.
pub struct Org {
    pub id: String,
    /// Salt of derived values (message ids) so that two seeds differ.
    pub salt: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    WindowsLaptop,
    MacLaptop,
    IPhone,
    AndroidPhone,
}

impl DeviceKind {
    pub fn is_phone(self) -> bool {
        matches!(self, DeviceKind::IPhone | DeviceKind::AndroidPhone)
    }

    pub fn operating_system(self) -> &'static str {
        match self {
            DeviceKind::WindowsLaptop => "Windows10",
            DeviceKind::MacLaptop => "MacOs",
            DeviceKind::IPhone => "Ios",
            DeviceKind::AndroidPhone => "Android",
        }
    }
}

pub struct Device {
    pub id: String,
    pub display_name: String,
    pub kind: DeviceKind,
    pub managed: bool,
    /// Entra session id (`sid`) of the device's current sign-in session;
    /// a new one starts with each interactive sign-in.
    pub session_id: String,
}

/// A business trip: in transit on the first and last day, at `city` between.
pub struct Trip {
    pub city: &'static City,
    pub ip: String,
    pub depart_day: u32,
    pub return_day: u32,
}

pub struct User {
    pub index: usize,
    pub upn: String,
    pub display_name: String,
    pub object_id: String,
    pub sid: String,
    pub user_key: String,
    pub mailbox_guid: String,
    pub mailbox_server: String,
    pub department: &'static str,
    pub home: &'static City,
    pub office_ip: String,
    pub home_ip: String,
    pub devices: Vec<Device>,
    /// Local minute of the day work usually starts.
    pub start_minute: i64,
    pub work_hours: i64,
    pub uses_owa: bool,
    pub is_admin: bool,
    pub state: UserState,
}

/// What changes as days go by.
#[derive(Default)]
pub struct UserState {
    /// Messages received so far; message `n` of a mailbox is derived from
    /// (mailbox, n), so mail is never stored.
    pub received: u64,
    pub trip: Option<Trip>,
    /// Applications picked up during the period (benign first-seen apps).
    pub new_apps: Vec<catalog::App>,
    /// The first successful sign-in of the current day: time, IP, city.
    pub first_sign_in_today: Option<(i64, String, &'static City)>,
}

impl User {
    pub fn primary_device(&self) -> &Device {
        // Every user is created with a laptop first.
        &self.devices[0]
    }
}

/// Office egress addresses: one per home city, 203.0.113.0/24 (RFC 5737).
pub fn office_ip(city_index: usize) -> String {
    format!("203.0.113.{}", 10 + city_index)
}

/// Home broadband: one per user in 198.18.0.0/15 (RFC 2544 benchmarking).
pub fn home_ip(user_index: usize) -> String {
    let n = user_index + 1;
    format!("198.{}.{}.{}", 18 + (n >> 16) % 2, (n >> 8) & 255, n & 255)
}

/// Mobile carrier addresses, shared address space 100.64.0.0/10 (RFC 6598).
pub fn mobile_ip(rng: &mut Rng) -> String {
    format!(
        "100.{}.{}.{}",
        64 + rng.below(64),
        rng.below(256),
        1 + rng.below(254)
    )
}

/// Hotel and conference networks, 192.0.2.0/24 (RFC 5737).
pub fn travel_ip(rng: &mut Rng) -> String {
    format!("192.0.2.{}", 1 + rng.below(254))
}

fn new_device(rng: &mut Rng, kind: DeviceKind, first: &str) -> Device {
    let (prefix, managed) = match kind {
        DeviceKind::WindowsLaptop => ("LT", true),
        DeviceKind::MacLaptop => ("MAC", true),
        DeviceKind::IPhone => ("iPhone", false),
        DeviceKind::AndroidPhone => ("Pixel", false),
    };
    let display_name = if kind.is_phone() {
        format!("{first}'s {prefix}")
    } else {
        format!("{prefix}-{}", rng.hex_upper(6))
    };
    Device {
        id: rng.guid(),
        display_name,
        kind,
        managed,
        session_id: String::new(),
    }
}

/// A device bought during the period (noise: "new devices").
pub fn add_device(rng: &mut Rng, user: &mut User) -> usize {
    let kind = if rng.chance(0.5) {
        DeviceKind::IPhone
    } else {
        DeviceKind::WindowsLaptop
    };
    let first = user
        .display_name
        .split(' ')
        .next()
        .unwrap_or("User")
        .to_owned();
    let device = new_device(rng, kind, &first);
    user.devices.push(device);
    user.devices.len() - 1
}

/// Builds the directory of `count` users from the seed.
pub fn build_tenant(seed: u64, count: usize) -> Tenant {
    let mut rng = Rng::stream(seed, Stream::Directory, 0, 0);
    let id = rng.guid();
    let salt = rng.next_u64();
    let domain_sid = format!(
        "S-1-5-21-{}-{}-{}",
        1_000_000_000 + rng.below(3_000_000_000),
        1_000_000_000 + rng.below(3_000_000_000),
        1_000_000_000 + rng.below(3_000_000_000)
    );
    let mut taken = BTreeSet::new();
    let mut users = Vec::with_capacity(count);
    for index in 0..count {
        let first = *rng.pick(&FIRST_NAMES);
        let last = *rng.pick(&LAST_NAMES);
        let mut local = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        if !taken.insert(local.clone()) {
            // Namesakes get a number, as directories do.
            local = format!("{local}{index}");
            taken.insert(local.clone());
        }
        let home_index = rng.below(HOME_CITIES.len() as u64) as usize;
        let laptop_kind = if rng.chance(0.8) {
            DeviceKind::WindowsLaptop
        } else {
            DeviceKind::MacLaptop
        };
        let phone_kind = if rng.chance(0.6) {
            DeviceKind::IPhone
        } else {
            DeviceKind::AndroidPhone
        };
        let devices = vec![
            new_device(&mut rng, laptop_kind, first),
            new_device(&mut rng, phone_kind, first),
        ];
        let received = 400 + rng.below(3000);
        users.push(User {
            index,
            upn: format!("{local}@{DOMAIN}"),
            display_name: format!("{first} {last}"),
            object_id: rng.guid(),
            sid: format!("{domain_sid}-{}", 10_000 + index),
            user_key: format!("1003{:012X}", mix(salt ^ index as u64) & 0xffff_ffff_ffff),
            mailbox_guid: rng.guid(),
            mailbox_server: format!(
                "{}{}PR{:02}MB{:04}",
                ["BN", "DM", "AM", "DB"][rng.below(4) as usize],
                rng.below(10),
                rng.below(20),
                rng.below(10_000)
            ),
            department: DEPARTMENTS[rng.below(DEPARTMENTS.len() as u64) as usize],
            home: &HOME_CITIES[home_index],
            office_ip: office_ip(home_index),
            home_ip: home_ip(index),
            devices,
            start_minute: 7 * 60 + rng.range(0, 150),
            work_hours: rng.range(7, 10),
            uses_owa: rng.chance(0.35),
            is_admin: index < 2 || (index % 97 == 0),
            state: UserState {
                received,
                ..UserState::default()
            },
        });
    }
    Tenant {
        org: Org { id, salt },
        users,
    }
}
