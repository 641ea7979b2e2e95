//! The two kinds of record the identity detectors join: sign-ins (which
//! issue tokens and sessions) and accesses (which present them), as small
//! owned facts.

use vigie_core::{Event, Timestamp};

use crate::fields::{Fields, Kind, Slot};
use crate::strings::{Case, Strings, Sym};

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

/// One record as the identity detectors see it.
pub enum Record<'e> {
    SignIn(Fields<'e>),
    Access(AccessKind, Fields<'e>),
}

/// Reads an event if it is a sign-in or an access with a token or session.
pub fn classify(event: &Event) -> Option<Record<'_>> {
    classify_with(event, false)
}

/// Like [`classify`], keeping every folder path and message id
/// ([`Fields::read_lists`]).
pub fn classify_lists(event: &Event) -> Option<Record<'_>> {
    classify_with(event, true)
}

fn classify_with(event: &Event, lists: bool) -> Option<Record<'_>> {
    let kind = Kind::of(event)?;
    let f = if lists {
        Fields::read_lists(event)
    } else {
        Fields::read(event)
    };
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

/// A sign-in's fields as the record gives them, before they are copied
/// (owned [`SignIn`]) or interned ([`SignInFact`]): the one place that says
/// which slot feeds which field.
pub(crate) struct RawSignIn<'e> {
    tenant: Option<&'e str>,
    token: Option<&'e str>,
    session: Option<&'e str>,
    upn: Option<&'e str>,
    object_id: Option<&'e str>,
    pub(crate) success: bool,
    non_interactive: bool,
    ip: Option<&'e str>,
    /// Country codes only (three letters at most); upper-cased when kept.
    country: Option<&'e str>,
    city: Option<&'e str>,
    geo: Option<(f64, f64)>,
}

impl<'e> RawSignIn<'e> {
    pub(crate) fn from_fields(f: &Fields<'e>) -> RawSignIn<'e> {
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
        RawSignIn {
            tenant: f.get(Slot::Tenant),
            token: f.get(Slot::TokenId),
            session: f.get(Slot::SessionId),
            upn: f.get(Slot::Upn),
            object_id: f.get(Slot::UserIdField),
            success: code.is_none_or(|c| c == "0"),
            non_interactive: f
                .get(Slot::IsInteractive)
                .is_some_and(|v| v.eq_ignore_ascii_case("false"))
                || f.get(Slot::Category)
                    .is_some_and(|c| c.to_ascii_lowercase().contains("noninteractive")),
            ip: f.get(Slot::Ip),
            country: f.get(Slot::Country).filter(|c| c.len() <= 3),
            city: f.get(Slot::City),
            geo,
        }
    }

    /// Whether it names a user (UPN or object id).
    pub(crate) fn has_user(&self) -> bool {
        self.upn.is_some() || self.object_id.is_some()
    }

    pub(crate) fn to_owned(&self) -> SignIn {
        let owned = |v: Option<&str>| v.map(Box::from);
        let lower = |v: Option<&str>| v.map(|s| s.to_ascii_lowercase().into_boxed_str());
        SignIn {
            tenant: lower(self.tenant),
            token: owned(self.token),
            session: lower(self.session),
            upn: lower(self.upn),
            object_id: lower(self.object_id),
            success: self.success,
            non_interactive: self.non_interactive,
            ip: owned(self.ip),
            country: self
                .country
                .map(|c| c.to_ascii_uppercase().into_boxed_str()),
            city: owned(self.city),
            geo: self.geo,
        }
    }

    /// What the orphan-token detector reads of a sign-in (what it issued,
    /// to whom, in which tenant), interned as [`RawSignIn::to_owned`]
    /// would store it; the rest is left out.
    pub(crate) fn intern_issue(&self, s: &mut Strings) -> SignInFact {
        SignInFact {
            tenant: s.opt(self.tenant, Case::Lower),
            token: s.opt(self.token, Case::Keep),
            session: s.opt(self.session, Case::Lower),
            upn: s.opt(self.upn, Case::Lower),
            object_id: s.opt(self.object_id, Case::Lower),
            non_interactive: self.non_interactive,
            ip: None,
            country: None,
            city: None,
            geo: None,
        }
    }

    /// What the baseline detector reads of a sign-in (who, from where, with
    /// which token), interned as [`RawSignIn::to_owned`] would store it.
    pub(crate) fn intern_place(&self, s: &mut Strings) -> SignInFact {
        SignInFact {
            tenant: None,
            token: s.opt(self.token, Case::Keep),
            session: s.opt(self.session, Case::Lower),
            upn: s.opt(self.upn, Case::Lower),
            object_id: s.opt(self.object_id, Case::Lower),
            non_interactive: false,
            ip: s.opt(self.ip, Case::Keep),
            country: s.opt(self.country, Case::Upper),
            city: s.opt(self.city, Case::Keep),
            geo: self.geo,
        }
    }
}

impl SignIn {
    pub fn from_fields(f: &Fields<'_>) -> SignIn {
        RawSignIn::from_fields(f).to_owned()
    }

    /// Interned as it is (already lower- and upper-cased where it should
    /// be): for sign-ins completed by the GeoIP database.
    pub(crate) fn intern(&self, s: &mut Strings) -> SignInFact {
        SignInFact {
            tenant: s.opt(self.tenant.as_deref(), Case::Keep),
            token: s.opt(self.token.as_deref(), Case::Keep),
            session: s.opt(self.session.as_deref(), Case::Keep),
            upn: s.opt(self.upn.as_deref(), Case::Keep),
            object_id: s.opt(self.object_id.as_deref(), Case::Keep),
            non_interactive: self.non_interactive,
            ip: s.opt(self.ip.as_deref(), Case::Keep),
            country: s.opt(self.country.as_deref(), Case::Keep),
            city: s.opt(self.city.as_deref(), Case::Keep),
            geo: self.geo,
        }
    }
}

/// A kept sign-in ([`SignIn`] with interned strings, and only the fields
/// its detector reads: see [`RawSignIn::intern_issue`] and
/// [`RawSignIn::intern_place`]).
#[derive(Clone, Copy, Debug)]
pub struct SignInFact {
    pub(crate) tenant: Option<Sym>,
    pub(crate) token: Option<Sym>,
    pub(crate) session: Option<Sym>,
    pub(crate) upn: Option<Sym>,
    pub(crate) object_id: Option<Sym>,
    pub(crate) non_interactive: bool,
    pub(crate) ip: Option<Sym>,
    pub(crate) country: Option<Sym>,
    pub(crate) city: Option<Sym>,
    pub(crate) geo: Option<(f64, f64)>,
}

/// A kept access ([`Access`] with interned strings): 64 bytes, no heap.
#[derive(Clone, Copy, Debug)]
pub struct AccessFact {
    pub(crate) kind: AccessKind,
    pub(crate) items: u32,
    pub(crate) issued_at: Option<Timestamp>,
    pub(crate) tenant: Option<Sym>,
    pub(crate) token: Option<Sym>,
    pub(crate) session: Option<Sym>,
    pub(crate) token_tenant: Option<Sym>,
    pub(crate) mailbox: Option<Sym>,
    pub(crate) object_id: Option<Sym>,
    pub(crate) ip: Option<Sym>,
    pub(crate) user_agent: Option<Sym>,
    pub(crate) app: Option<Sym>,
    pub(crate) client_app: Option<Sym>,
}

/// An access's fields as the record gives them (see [`RawSignIn`]).
pub(crate) struct RawAccess<'e> {
    kind: AccessKind,
    tenant: Option<&'e str>,
    token: Option<&'e str>,
    session: Option<&'e str>,
    issued_at: Option<Timestamp>,
    token_tenant: Option<&'e str>,
    mailbox: Option<&'e str>,
    object_id: Option<&'e str>,
    ip: Option<&'e str>,
    user_agent: Option<&'e str>,
    app: Option<&'e str>,
    client_app: Option<&'e str>,
    items: u32,
}

impl<'e> RawAccess<'e> {
    pub(crate) fn from_fields(kind: AccessKind, f: &Fields<'e>) -> RawAccess<'e> {
        // Graph's `userId` is an object id; the UAL's is a UPN.
        let (mailbox, object_id) = if kind == AccessKind::Graph {
            (None, f.get(Slot::UserIdField))
        } else {
            (
                f.get(Slot::MailboxUpn).or_else(|| f.get(Slot::UserIdField)),
                f.get(Slot::ObjectId),
            )
        };
        RawAccess {
            kind,
            tenant: f.get(Slot::Tenant),
            token: f.get(Slot::TokenId),
            session: f.get(Slot::SessionId),
            issued_at: f.issued_at(),
            token_tenant: f.get(Slot::TokenTenant),
            mailbox,
            object_id,
            ip: f.get(Slot::Ip),
            user_agent: f.get(Slot::UserAgent).or_else(|| f.get(Slot::ClientInfo)),
            app: f.get(Slot::AppId),
            client_app: f.get(Slot::ClientAppId),
            items: f.items().min(u32::MAX as usize) as u32,
        }
    }

    pub(crate) fn to_owned(&self) -> Access {
        let owned = |v: Option<&str>| v.map(Box::from);
        let lower = |v: Option<&str>| v.map(|s| s.to_ascii_lowercase().into_boxed_str());
        Access {
            kind: self.kind,
            tenant: lower(self.tenant),
            token: owned(self.token),
            session: lower(self.session),
            issued_at: self.issued_at,
            token_tenant: lower(self.token_tenant),
            mailbox: lower(self.mailbox),
            object_id: lower(self.object_id),
            ip: owned(self.ip),
            user_agent: owned(self.user_agent),
            app: lower(self.app),
            client_app: lower(self.client_app),
            items: self.items,
        }
    }

    /// Interned as [`RawAccess::to_owned`] would store it.
    pub(crate) fn intern(&self, s: &mut Strings) -> AccessFact {
        AccessFact {
            kind: self.kind,
            items: self.items,
            issued_at: self.issued_at,
            tenant: s.opt(self.tenant, Case::Lower),
            token: s.opt(self.token, Case::Keep),
            session: s.opt(self.session, Case::Lower),
            token_tenant: s.opt(self.token_tenant, Case::Lower),
            mailbox: s.opt(self.mailbox, Case::Lower),
            object_id: s.opt(self.object_id, Case::Lower),
            ip: s.opt(self.ip, Case::Keep),
            user_agent: s.opt(self.user_agent, Case::Keep),
            app: s.opt(self.app, Case::Lower),
            client_app: s.opt(self.client_app, Case::Lower),
        }
    }
}

impl AccessFact {
    /// The access with its text, for an alert's evidence.
    pub(crate) fn resolve(&self, s: &Strings) -> Access {
        let owned = |v: Option<Sym>| s.text(v).map(Box::from);
        Access {
            kind: self.kind,
            tenant: owned(self.tenant),
            token: owned(self.token),
            session: owned(self.session),
            issued_at: self.issued_at,
            token_tenant: owned(self.token_tenant),
            mailbox: owned(self.mailbox),
            object_id: owned(self.object_id),
            ip: owned(self.ip),
            user_agent: owned(self.user_agent),
            app: owned(self.app),
            client_app: owned(self.client_app),
            items: self.items,
        }
    }
}

impl Access {
    pub fn from_fields(kind: AccessKind, f: &Fields<'_>) -> Access {
        RawAccess::from_fields(kind, f).to_owned()
    }

    /// Whether the token was issued for the consumer tenant.
    pub fn consumer_token(&self) -> bool {
        self.token_tenant.as_deref() == Some(CONSUMER_TENANT)
    }
}
