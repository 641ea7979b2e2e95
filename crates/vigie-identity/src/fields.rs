//! Reads the identity fields of a cloud event whatever its export shape.
//!
//! The same datum has a different name in each shape (threat brief §3.3–3.7:
//! `AppAccessContext.UniqueTokenId` on mailbox records, `signInActivityId`
//! on Graph activity, `uniqueTokenIdentifier` on sign-ins; camelCase in
//! Graph, PascalCase in Log Analytics, `properties.*` in diagnostic
//! records). Rather than depending on the hunt's interned-name table, one
//! pass over the event's own keys fills a fixed set of slots: one hash
//! lookup per field, and only for the few log families read here.

use rustc_hash::FxHashMap;
use std::sync::OnceLock;
use vigie_core::{Event, SpellingCache};

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
/// paths, message ids) keep every value.
pub struct Fields<'e> {
    one: [Option<(&'e str, u8)>; SLOTS],
    pub folders: Vec<&'e str>,
    pub messages: Vec<&'e str>,
}

impl<'e> Fields<'e> {
    pub fn read(event: &'e Event) -> Fields<'e> {
        let mut out = Fields {
            one: [None; SLOTS],
            folders: Vec::new(),
            messages: Vec::new(),
        };
        KEY_ROLES.with(|roles| {
            let mut roles = roles.borrow_mut();
            out.fill(event, &mut roles);
        });
        out
    }

    fn fill(&mut self, event: &'e Event, roles: &mut KeyRoles) {
        // `OperationProperties` is a Name/Value bag: the value after the
        // name `MailAccessType` is the access type.
        let mut access_type_next = false;
        for (name, value) in event.iter() {
            let text = value.text.trim();
            let (slot, rank) = match roles.of(name) {
                Role::None => continue,
                Role::AccessName => {
                    access_type_next = text.eq_ignore_ascii_case("MailAccessType");
                    continue;
                }
                Role::AccessValue => {
                    if std::mem::take(&mut access_type_next) && !text.is_empty() {
                        self.one[Slot::MailAccessType as usize].get_or_insert((text, 0));
                    }
                    continue;
                }
                Role::Slot(slot, rank) => (slot, rank),
            };
            if text.is_empty() {
                continue;
            }
            let out = &mut *self;
            match slot {
                Slot::FolderPath => out.folders.push(text),
                Slot::MessageId => out.messages.push(text),
                _ => {
                    let cell = &mut out.one[slot as usize];
                    if cell.is_none_or(|(_, r)| rank < r) {
                        *cell = Some((text, rank));
                    }
                }
            }
        }
    }

    /// The value of a slot, if the record has it (never empty).
    pub fn get(&self, slot: Slot) -> Option<&'e str> {
        self.one[slot as usize].map(|(v, _)| v)
    }
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

/// Roles of keys by exact spelling, so that the keys every record repeats
/// are neither copied nor lower-cased again.
struct KeyRoles {
    known: SpellingCache<Role>,
    scratch: String,
}

const KEY_ROLES_CAP: usize = 8192;

thread_local! {
    static KEY_ROLES: std::cell::RefCell<KeyRoles> = std::cell::RefCell::new(KeyRoles {
        known: SpellingCache::new(KEY_ROLES_CAP),
        scratch: String::new(),
    });
}

impl KeyRoles {
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
