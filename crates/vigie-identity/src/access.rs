//! The two kinds of record the identity detectors join: sign-ins (which
//! issue tokens and sessions) and accesses (which present them), as small
//! owned facts.

use vigie_core::{parse_timestamp, Event, Timestamp};

use crate::fields::{Fields, Kind, Slot};

/// The Microsoft-account ("consumer") tenant: tokens of enterprise
/// mailboxes never carry it legitimately (threat brief §1.2).
pub const CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// What kind of access a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessKind {
    /// MailItemsAccessed, with its access type.
    MailBind,
    MailSync,
    /// OWAAuth (RecordType 275): OWA minted a token.
    OwaAuth,
    /// A Microsoft Graph request.
    Graph,
    /// Any other workload record carrying a token id (SharePoint, …).
    Other,
}

impl AccessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::MailBind => "MailItemsAccessed Bind",
            AccessKind::MailSync => "MailItemsAccessed Sync",
            AccessKind::OwaAuth => "OWAAuth",
            AccessKind::Graph => "Graph",
            AccessKind::Other => "Other",
        }
    }
}

/// A sign-in: what it issued, to whom, from where.
#[derive(Clone, Debug)]
pub struct SignIn {
    pub tenant: Option<Box<str>>,
    pub token: Option<Box<str>>,
    pub session: Option<Box<str>>,
    pub upn: Option<Box<str>>,
    pub object_id: Option<Box<str>>,
    pub success: bool,
    /// A non-interactive sign-in (token refresh by a client): most tokens
    /// are issued by these, so their absence matters to orphan checks.
    pub non_interactive: bool,
    pub ip: Option<Box<str>>,
    pub country: Option<Box<str>>,
    pub city: Option<Box<str>>,
    /// Latitude and longitude, when the log gives them and they are sane.
    pub geo: Option<(f64, f64)>,
}

/// A workload record that presented a token.
#[derive(Clone, Debug)]
pub struct Access {
    pub kind: AccessKind,
    pub tenant: Option<Box<str>>,
    pub token: Option<Box<str>>,
    pub session: Option<Box<str>>,
    pub issued_at: Option<Timestamp>,
    pub token_tenant: Option<Box<str>>,
    /// The mailbox (UPN) for mail records, else the acting user's UPN.
    pub mailbox: Option<Box<str>>,
    /// The acting user's object id (Graph `userId`, UAL `TokenObjectId`).
    pub object_id: Option<Box<str>>,
    pub ip: Option<Box<str>>,
    pub user_agent: Option<Box<str>>,
    pub app: Option<Box<str>>,
    pub client_app: Option<Box<str>>,
    /// Message ids named by the record (mail records).
    pub items: u32,
}

fn owned(v: Option<&str>) -> Option<Box<str>> {
    v.map(Box::from)
}

fn lower(v: Option<&str>) -> Option<Box<str>> {
    v.map(|s| s.to_ascii_lowercase().into_boxed_str())
}

/// One record as the identity detectors see it.
pub enum Record<'e> {
    SignIn(Fields<'e>),
    Access(AccessKind, Fields<'e>),
}

/// Reads an event if it is a sign-in or an access with a token or session.
pub fn classify(event: &Event) -> Option<Record<'_>> {
    let kind = Kind::of(event)?;
    let f = Fields::read(event);
    match kind {
        Kind::SignIn => Some(Record::SignIn(f)),
        Kind::Graph => Some(Record::Access(AccessKind::Graph, f)),
        Kind::Ual => {
            let op = f.get(Slot::Operation).unwrap_or("");
            let access = if op.eq_ignore_ascii_case("MailItemsAccessed") {
                match f.get(Slot::MailAccessType) {
                    Some(t) if t.eq_ignore_ascii_case("sync") => AccessKind::MailSync,
                    _ => AccessKind::MailBind,
                }
            } else if f.get(Slot::RecordType) == Some("275")
                || op.eq_ignore_ascii_case("GetAccessTokenForResource")
            {
                AccessKind::OwaAuth
            } else if f.get(Slot::TokenId).is_some() {
                AccessKind::Other
            } else {
                return None;
            };
            Some(Record::Access(access, f))
        }
    }
}

impl SignIn {
    pub fn from_fields(f: &Fields<'_>) -> SignIn {
        let code = f.get(Slot::ErrorCode).or_else(|| f.get(Slot::ResultType));
        let lat = f.get(Slot::Latitude).and_then(|v| v.parse::<f64>().ok());
        let lon = f.get(Slot::Longitude).and_then(|v| v.parse::<f64>().ok());
        let geo = match (lat, lon) {
            (Some(a), Some(o))
                if (-90.0..=90.0).contains(&a)
                    && (-180.0..=180.0).contains(&o)
                    && !(a == 0.0 && o == 0.0) =>
            {
                Some((a, o))
            }
            _ => None,
        };
        SignIn {
            tenant: lower(f.get(Slot::Tenant)),
            token: owned(f.get(Slot::TokenId)),
            session: lower(f.get(Slot::SessionId)),
            upn: lower(f.get(Slot::Upn)),
            object_id: lower(f.get(Slot::UserIdField)),
            success: code.is_none_or(|c| c == "0"),
            non_interactive: f
                .get(Slot::IsInteractive)
                .is_some_and(|v| v.eq_ignore_ascii_case("false"))
                || f.get(Slot::Category)
                    .is_some_and(|c| c.to_ascii_lowercase().contains("noninteractive")),
            ip: owned(f.get(Slot::Ip)),
            country: f
                .get(Slot::Country)
                .filter(|c| c.len() <= 3)
                .map(|c| c.to_ascii_uppercase().into_boxed_str()),
            city: owned(f.get(Slot::City)),
            geo,
        }
    }
}

impl Access {
    pub fn from_fields(kind: AccessKind, f: &Fields<'_>) -> Access {
        // Graph's `userId` is an object id; the UAL's is a UPN.
        let (mailbox, object_id) = if kind == AccessKind::Graph {
            (None, f.get(Slot::UserIdField))
        } else {
            (
                f.get(Slot::MailboxUpn).or_else(|| f.get(Slot::UserIdField)),
                f.get(Slot::ObjectId),
            )
        };
        let issued_at = f.get(Slot::IssuedAt).and_then(parse_timestamp);
        Access {
            kind,
            tenant: lower(f.get(Slot::Tenant)),
            token: owned(f.get(Slot::TokenId)),
            session: lower(f.get(Slot::SessionId)),
            issued_at,
            token_tenant: lower(f.get(Slot::TokenTenant)),
            mailbox: lower(mailbox),
            object_id: lower(object_id),
            ip: owned(f.get(Slot::Ip)),
            user_agent: owned(f.get(Slot::UserAgent).or_else(|| f.get(Slot::ClientInfo))),
            app: lower(f.get(Slot::AppId)),
            client_app: lower(f.get(Slot::ClientAppId)),
            items: f.messages.len().min(u32::MAX as usize) as u32,
        }
    }

    /// Whether the token was issued for the consumer tenant.
    pub fn consumer_token(&self) -> bool {
        self.token_tenant.as_deref() == Some(CONSUMER_TENANT)
    }
}
