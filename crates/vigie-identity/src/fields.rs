//! Reads the identity fields of a cloud event whatever its export shape.
//!
//! The same datum has a different name in each shape (threat brief §3.3–3.7:
//! `AppAccessContext.UniqueTokenId` on mailbox records, `signInActivityId`
//! on Graph activity, `uniqueTokenIdentifier` on sign-ins; camelCase in
//! Graph, PascalCase in Log Analytics, `properties.*` in diagnostic
//! records). Rather than depending on the hunt's interned-name table, one
//! pass over the event's own keys fills a fixed set of slots, only for the
//! few log families read here; a key's role is remembered by position and
//! key stamp, so a record whose keys repeat the last one's costs no hashing.

use rustc_hash::FxHashMap;
use std::sync::OnceLock;
use vigie_core::{parse_timestamp, Event, SpellingCache, Timestamp};

/// Which log an event is, for the identity detectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An Entra ID sign-in (any of the sign-in tables).
    SignIn,
    /// A workload record of the unified audit log (Exchange, SharePoint…).
    Ual,
    /// A Microsoft Graph activity record.
    Graph,
}

impl Kind {
    pub fn of(event: &Event) -> Option<Kind> {
        let ls = event.logsource;
        match (ls.product?, ls.service?) {
            ("azure", "signinlogs") => Some(Kind::SignIn),
            ("azure", "graphactivitylogs") => Some(Kind::Graph),
            ("m365", _) => Some(Kind::Ual),
            _ => None,
        }
    }
}

/// The slots read from an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Slot {
    TokenId,
    SessionId,
    IssuedAt,
    TokenTenant,
    Tenant,
    Upn,
    MailboxUpn,
    UserIdField,
    ObjectId,
    Ip,
    UserAgent,
    ClientInfo,
    AppId,
    ClientAppId,
    Operation,
    RecordType,
    MailAccessType,
    FolderPath,
    MessageId,
    ErrorCode,
    ResultType,
    Country,
    City,
    Latitude,
    Longitude,
    RequestUri,
    RecordId,
    ResourceUrl,
    Category,
    IsInteractive,
}

const SLOTS: usize = Slot::IsInteractive as usize + 1;

/// Lower-cased names (after `properties.` / `auditdata.` is removed) of each
/// slot, best first: a slot keeps the value of the best name the record has.
const NAMES: &[(Slot, &[&str])] = &[
    (
        Slot::TokenId,
        &[
            "appaccesscontext.uniquetokenid",
            "uniquetokenidentifier",
            "uniquetokenid",
            "signinactivityid",
        ],
    ),
    (
        Slot::SessionId,
        &["appaccesscontext.aadsessionid", "sessionid", "c_sid", "sid"],
    ),
    (
        Slot::IssuedAt,
        &["appaccesscontext.issuedattime", "tokenissuedat"],
    ),
    (Slot::TokenTenant, &["tokentenantid"]),
    (
        Slot::Tenant,
        &[
            "organizationid",
            "tenantid",
            "resourcetenantid",
            "aadtenantid",
        ],
    ),
    (Slot::Upn, &["userprincipalname", "userprincipalname_"]),
    (Slot::MailboxUpn, &["mailboxownerupn"]),
    (Slot::UserIdField, &["userid", "userid_"]),
    (Slot::ObjectId, &["tokenobjectid", "aaduserid"]),
    (
        Slot::Ip,
        &[
            "clientipaddress",
            "client_ipaddress",
            "clientip",
            "ipaddress",
            "calleripaddress",
            "actoripaddress",
        ],
    ),
    (Slot::UserAgent, &["useragent"]),
    (Slot::ClientInfo, &["clientinfostring"]),
    (Slot::AppId, &["appid"]),
    (
        Slot::ClientAppId,
        &["clientappid", "appaccesscontext.clientappid"],
    ),
    (Slot::Operation, &["operation", "operationname"]),
    (Slot::RecordType, &["recordtype", "auditlogrecordtype"]),
    (
        Slot::MailAccessType,
        &["operationproperties.mailaccesstype", "mailaccesstype"],
    ),
    (Slot::FolderPath, &["folders.path"]),
    (Slot::MessageId, &["folders.folderitems.internetmessageid"]),
    (Slot::ErrorCode, &["status.errorcode", "errorcode"]),
    (Slot::ResultType, &["resulttype"]),
    (
        Slot::Country,
        &[
            "location.countryorregion",
            "locationdetails.countryorregion",
            "location",
        ],
    ),
    (Slot::City, &["location.city", "locationdetails.city"]),
    (
        Slot::Latitude,
        &[
            "location.geocoordinates.latitude",
            "locationdetails.geocoordinates.latitude",
        ],
    ),
    (
        Slot::Longitude,
        &[
            "location.geocoordinates.longitude",
            "locationdetails.geocoordinates.longitude",
        ],
    ),
    (Slot::RequestUri, &["requesturi"]),
    (Slot::RecordId, &["id", "requestid"]),
    (Slot::ResourceUrl, &["resourceurl"]),
    (Slot::Category, &["category", "type"]),
    (Slot::IsInteractive, &["isinteractive"]),
];

fn table() -> &'static FxHashMap<&'static str, (Slot, u8)> {
    static TABLE: OnceLock<FxHashMap<&'static str, (Slot, u8)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = FxHashMap::default();
        for (slot, names) in NAMES {
            for (rank, name) in names.iter().enumerate() {
                map.entry(*name).or_insert((*slot, rank as u8));
            }
        }
        map
    })
}

/// The slots of one event, borrowed from it. Multi-valued slots (folder
/// paths, message ids) are counted, and kept only by [`Fields::read_lists`].
pub struct Fields<'e> {
    event: &'e Event,
    found: Found,
    /// Folder paths and message ids ([`Fields::read_lists`] only: the
    /// detectors need the count, the blast-radius ledger the values).
    pub folders: Vec<&'e str>,
    pub messages: Vec<&'e str>,
}

/// What one pass over an event's keys found, by field index: it does not
/// borrow the event, so the pass's result is remembered for the next
/// reader of the same event ([`LAST`]).
#[derive(Clone, Copy)]
struct Found {
    /// Per slot, the field index of the best value and its rank.
    one: [Option<(u32, u8)>; SLOTS],
    /// Message ids named by the record.
    items: usize,
    /// `IssuedAt` parsed (both detectors ask for it).
    issued_at: Option<Timestamp>,
}

/// The last event read on this thread, by (generation, length): both
/// identity detectors observe every event one after the other, and the
/// second finds the first one's reading here.
struct Last {
    generation: u64,
    len: usize,
    found: Found,
}

thread_local! {
    static LAST: std::cell::Cell<Option<Last>> = const { std::cell::Cell::new(None) };
}

impl<'e> Fields<'e> {
    /// The slots and the message count.
    pub fn read(event: &'e Event) -> Fields<'e> {
        let key = (event.generation(), event.len());
        let remembered = LAST.with(|last| match last.take() {
            Some(l) if (l.generation, l.len) == key => {
                let found = l.found;
                last.set(Some(l));
                Some(found)
            }
            other => {
                last.set(other);
                None
            }
        });
        let found = match remembered {
            Some(found) => found,
            None => {
                let mut lists = None;
                let found =
                    KEY_ROLES.with(|roles| scan(event, &mut roles.borrow_mut(), &mut lists));
                LAST.with(|last| {
                    last.set(Some(Last {
                        generation: key.0,
                        len: key.1,
                        found,
                    }))
                });
                found
            }
        };
        Fields {
            event,
            found,
            folders: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// Like [`Fields::read`], also keeping every folder path and message
    /// id.
    pub fn read_lists(event: &'e Event) -> Fields<'e> {
        let mut lists = Some((Vec::new(), Vec::new()));
        let found = KEY_ROLES.with(|roles| scan(event, &mut roles.borrow_mut(), &mut lists));
        let (folders, messages) = lists.unwrap_or_default();
        Fields {
            event,
            found,
            folders,
            messages,
        }
    }

    /// The value of a slot, if the record has it (never empty).
    pub fn get(&self, slot: Slot) -> Option<&'e str> {
        let (index, _) = self.found.one[slot as usize]?;
        self.event.value_of(index as usize).map(|v| v.text.trim())
    }

    /// Message ids named by the record.
    pub fn items(&self) -> usize {
        self.found.items
    }

    /// The token's issue time (`IssuedAt`), parsed.
    pub fn issued_at(&self) -> Option<Timestamp> {
        self.found.issued_at
    }
}

/// One pass over the keys of `event`.
fn scan<'e>(
    event: &'e Event,
    roles: &mut KeyRoles,
    lists: &mut Option<(Vec<&'e str>, Vec<&'e str>)>,
) -> Found {
    let mut found = Found {
        one: [None; SLOTS],
        items: 0,
        issued_at: None,
    };
    // `OperationProperties` is a Name/Value bag: the value after the
    // name `MailAccessType` is the access type.
    let mut access_type_next = false;
    for index in 0..event.len() {
        // The role first, by key stamp: most keys have none, and their
        // values are then neither sliced nor trimmed.
        let role = roles.at(event, index);
        if matches!(role, Role::None) {
            continue;
        }
        let Some(value) = event.value_of(index) else {
            continue;
        };
        let text = value.text.trim();
        let at = index as u32;
        let (slot, rank) = match role {
            Role::None => continue,
            Role::AccessName => {
                access_type_next = text.eq_ignore_ascii_case("MailAccessType");
                continue;
            }
            Role::AccessValue => {
                if std::mem::take(&mut access_type_next) && !text.is_empty() {
                    found.one[Slot::MailAccessType as usize].get_or_insert((at, 0));
                }
                continue;
            }
            Role::Slot(slot, rank) => (slot, rank),
        };
        if text.is_empty() {
            continue;
        }
        match slot {
            Slot::FolderPath => {
                if let Some((folders, _)) = lists {
                    folders.push(text);
                }
            }
            Slot::MessageId => {
                found.items += 1;
                if let Some((_, messages)) = lists {
                    messages.push(text);
                }
            }
            _ => {
                let cell = &mut found.one[slot as usize];
                if cell.is_none_or(|(_, r)| rank < r) {
                    *cell = Some((at, rank));
                }
            }
        }
    }
    found.issued_at = found.one[Slot::IssuedAt as usize]
        .and_then(|(index, _)| event.value_of(index as usize))
        .and_then(|v| parse_issued(v.text.trim()));
    found
}

/// [`parse_timestamp`], with a fast path for the zone-less form every
/// `AppAccessContext.IssuedAtTime` has (`2023-06-05T05:01:04`): fixed
/// offsets instead of the general parser's RFC 3339 attempt and chrono's
/// `FromStr`.
fn parse_issued(text: &str) -> Option<Timestamp> {
    fast_iso(text).or_else(|| parse_timestamp(text))
}

fn fast_iso(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)?;
    // Out-of-range parts (a leap second, 24:00) go to the general parser.
    let time = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(time.and_utc().timestamp_micros())
}

/// What a key means to [`Fields::read`].
#[derive(Clone, Copy)]
enum Role {
    None,
    /// `OperationProperties.Name`
    AccessName,
    /// `OperationProperties.Value`
    AccessValue,
    Slot(Slot, u8),
}

/// Roles of keys, remembered by field position and key stamp
/// ([`Event::key_stamp`]): records of one input repeat their keys at the
/// same positions, so most keys cost one comparison, no hashing. A key
/// met at a new position falls back to a cache by exact spelling, so that
/// it is still neither copied nor lower-cased again.
struct KeyRoles {
    by_position: Vec<(u64, Role)>,
    known: SpellingCache<Role>,
    scratch: String,
}

const KEY_ROLES_CAP: usize = 8192;
/// Positions remembered (records with more fields derive the rest).
const POSITIONS_CAP: usize = 8192;

thread_local! {
    static KEY_ROLES: std::cell::RefCell<KeyRoles> = std::cell::RefCell::new(KeyRoles {
        by_position: Vec::new(),
        known: SpellingCache::new(KEY_ROLES_CAP),
        scratch: String::new(),
    });
}

impl KeyRoles {
    #[inline]
    fn at(&mut self, event: &Event, index: usize) -> Role {
        let stamp = event.key_stamp(index);
        if let Some(&(seen, role)) = self.by_position.get(index) {
            // Stamps are never 0 for a field: a fresh entry never matches.
            if seen == stamp {
                return role;
            }
        }
        let role = self.of(event.key_at(index).unwrap_or(""));
        if index < POSITIONS_CAP {
            if index >= self.by_position.len() {
                self.by_position.resize(index + 1, (0, Role::None));
            }
            self.by_position[index] = (stamp, role);
        }
        role
    }

    fn of(&mut self, name: &str) -> Role {
        let scratch = &mut self.scratch;
        self.known.get_or_insert_with(name, || {
            scratch.clear();
            scratch.push_str(name);
            scratch.make_ascii_lowercase();
            match strip_prefix(scratch) {
                "operationproperties.name" => Role::AccessName,
                "operationproperties.value" => Role::AccessValue,
                bare => table()
                    .get(bare)
                    .map_or(Role::None, |&(slot, rank)| Role::Slot(slot, rank)),
            }
        })
    }
}

fn strip_prefix(key: &str) -> &str {
    for prefix in ["properties.", "auditdata.", "appaccesscontext_"] {
        if let Some(rest) = key.strip_prefix(prefix) {
            return rest;
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_iso_agrees_with_the_general_parser() {
        for text in [
            "2023-06-05T05:01:04",
            "1999-12-31T23:59:59",
            "2024-02-29T00:00:00",
            "2023-02-29T00:00:00",
            "2023-06-05T24:00:00",
            "2023-06-05T23:59:60",
            "2023-06-05T05:01:04Z",
            "2023-06-05 05:01:04",
            "2023-6-05T05:01:04",
            "+023-06-05T05:01:04",
            "2023-06-05T05:01:0x",
        ] {
            assert_eq!(parse_issued(text), parse_timestamp(text), "{text}");
        }
        assert!(fast_iso("2023-06-05T05:01:04").is_some());
    }
}
