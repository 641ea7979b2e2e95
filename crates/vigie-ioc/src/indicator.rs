//! What an indicator is once loaded, whatever feed format it came from.

use std::fmt;
use std::net::IpAddr;

use vigie_core::{Level, Timestamp};

/// The kinds of observable vigie matches; each lives in its own fields
/// (see `data/fields.yaml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IocType {
    /// An IPv4 or IPv6 address or CIDR block.
    Ip,
    /// A domain; also matches its subdomains.
    Domain,
    Url,
    Email,
    /// MD5, SHA-1 or SHA-256 of a file, as lower-case hex.
    Hash,
    /// A file name (the last component of a path).
    FileName,
    /// An account name or login.
    User,
    UserAgent,
    /// A token signing key id (JWT `kid`, or `x5t` in base64url).
    KeyId,
    /// A certificate thumbprint (hex SHA-1 or SHA-256).
    Thumbprint,
    /// An application (client) id.
    AppId,
    /// A directory tenant id.
    TenantId,
}

impl IocType {
    pub const ALL: [IocType; 12] = [
        IocType::Ip,
        IocType::Domain,
        IocType::Url,
        IocType::Email,
        IocType::Hash,
        IocType::FileName,
        IocType::User,
        IocType::UserAgent,
        IocType::KeyId,
        IocType::Thumbprint,
        IocType::AppId,
        IocType::TenantId,
    ];

    /// The name used in CSV type columns, the field table and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            IocType::Ip => "ip",
            IocType::Domain => "domain",
            IocType::Url => "url",
            IocType::Email => "email",
            IocType::Hash => "hash",
            IocType::FileName => "filename",
            IocType::User => "user",
            IocType::UserAgent => "user-agent",
            IocType::KeyId => "kid",
            IocType::Thumbprint => "thumbprint",
            IocType::AppId => "app-id",
            IocType::TenantId => "tenant-id",
        }
    }

    /// Reads a type name, accepting the usual spellings of other tools.
    pub fn parse(name: &str) -> Option<IocType> {
        let n = name.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Some(match n.as_str() {
            "ip" | "ipv4" | "ipv6" | "ip-addr" | "ipv4-addr" | "ipv6-addr" | "cidr" | "ip-src"
            | "ip-dst" | "address" => IocType::Ip,
            "domain" | "domain-name" | "hostname" | "host" | "fqdn" => IocType::Domain,
            "url" | "uri" | "link-url" => IocType::Url,
            "email" | "email-addr" | "email-address" | "email-src" | "email-dst" | "mail" => {
                IocType::Email
            }
            "hash" | "md5" | "sha1" | "sha-1" | "sha256" | "sha-256" | "filehash" | "file-hash" => {
                IocType::Hash
            }
            "filename" | "file-name" | "file" => IocType::FileName,
            "user" | "username" | "user-account" | "account" | "upn" => IocType::User,
            "user-agent" | "useragent" | "ua" => IocType::UserAgent,
            "kid" | "key-id" | "keyid" | "x5t" => IocType::KeyId,
            "thumbprint"
            | "x509-thumbprint"
            | "certificate-thumbprint"
            | "x509-fingerprint-sha1"
            | "x509-fingerprint-sha256" => IocType::Thumbprint,
            "app-id" | "appid" | "application-id" | "client-id" | "clientappid" => IocType::AppId,
            "tenant-id" | "tenantid" | "tenant" | "tid" => IocType::TenantId,
            _ => return None,
        })
    }
}

impl fmt::Display for IocType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One observable an indicator looks for, normalised for matching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Atom {
    /// An address block; a single address has the full prefix length.
    Ip { addr: IpAddr, prefix: u8 },
    /// Any other type, normalised (see `normalize::normalize`).
    Text { ty: IocType, value: Box<str> },
}

impl Atom {
    pub fn ty(&self) -> IocType {
        match self {
            Atom::Ip { .. } => IocType::Ip,
            Atom::Text { ty, .. } => *ty,
        }
    }

    /// The value as a person reads it (`10.0.0.0/8`, `evil.example`).
    pub fn display(&self) -> String {
        match self {
            Atom::Ip { addr, prefix } => {
                let full = if addr.is_ipv4() { 32 } else { 128 };
                if *prefix == full {
                    addr.to_string()
                } else {
                    format!("{addr}/{prefix}")
                }
            }
            Atom::Text { value, .. } => value.to_string(),
        }
    }
}

/// One indicator: what to look for (OR of ANDs of atoms) and what to say
/// when it is found.
#[derive(Clone, Debug, Default)]
pub struct Indicator {
    /// The feed's id for it (STIX id, MISP attribute uuid, CSV id column),
    /// or `FEED:LINE` when the feed gives none.
    pub id: Box<str>,
    /// Index of the feed in the [`crate::FeedSet`].
    pub feed: u32,
    /// Alternatives, each a set of atoms that must all appear in one event.
    pub any_of: Vec<Vec<Atom>>,
    /// 0–100, as STIX and MISP define it.
    pub confidence: Option<u8>,
    /// A level given by the feed itself (CSV `level` column).
    pub level: Option<Level>,
    pub description: Box<str>,
    pub tags: Vec<Box<str>>,
    pub references: Vec<Box<str>>,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
}

impl Indicator {
    /// The level of its alerts: the feed's own level when it gives one,
    /// otherwise from confidence (unknown confidence reads as medium).
    pub fn alert_level(&self) -> Level {
        if let Some(level) = self.level {
            return level;
        }
        match self.confidence {
            None => Level::Medium,
            Some(c) if c >= 85 => Level::High,
            Some(c) if c >= 50 => Level::Medium,
            Some(c) if c >= 20 => Level::Low,
            Some(_) => Level::Informational,
        }
    }

    /// Whether the indicator applies at `time`. Events without a readable
    /// time are matched: an unknown time is no reason to miss a hit.
    pub fn valid_at(&self, time: Option<Timestamp>) -> bool {
        let Some(t) = time else { return true };
        self.valid_from.is_none_or(|from| t >= from)
            && self.valid_until.is_none_or(|until| t < until)
    }

    /// The first atom's type and value, for titles and statistics.
    pub fn headline(&self) -> Option<&Atom> {
        self.any_of.first().and_then(|all| all.first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip() {
        for ty in IocType::ALL {
            assert_eq!(IocType::parse(ty.as_str()), Some(ty));
        }
        assert_eq!(IocType::parse("SHA-256"), Some(IocType::Hash));
        assert_eq!(IocType::parse("domain_name"), Some(IocType::Domain));
        assert_eq!(IocType::parse("mutex"), None);
    }

    #[test]
    fn validity_window_is_half_open() {
        let ind = Indicator {
            valid_from: Some(100),
            valid_until: Some(200),
            ..Default::default()
        };
        assert!(!ind.valid_at(Some(99)));
        assert!(ind.valid_at(Some(100)));
        assert!(ind.valid_at(Some(199)));
        assert!(!ind.valid_at(Some(200)));
        assert!(ind.valid_at(None));
    }

    #[test]
    fn level_follows_confidence_unless_given() {
        let mut ind = Indicator {
            confidence: Some(90),
            ..Default::default()
        };
        assert_eq!(ind.alert_level(), Level::High);
        ind.confidence = Some(10);
        assert_eq!(ind.alert_level(), Level::Informational);
        ind.level = Some(Level::Critical);
        assert_eq!(ind.alert_level(), Level::Critical);
    }
}
