//! `inspect`: what a token says about itself, decoded but not verified,
//! with a plain-language explanation.

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::compromised;
use crate::issuer::{self, IssuerKind};
use crate::jwt::Jwt;
use crate::redact;

/// A NumericDate claim, as a number and in UTC.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TimeClaim {
    pub unix: i64,
    pub utc: String,
}

impl TimeClaim {
    fn new(unix: i64) -> Option<TimeClaim> {
        Some(TimeClaim {
            unix,
            utc: TimeClaim::utc_of(unix)?,
        })
    }

    /// RFC 3339 in UTC, to the second.
    pub fn utc_of(unix: i64) -> Option<String> {
        Some(DateTime::from_timestamp(unix, 0)?.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    /// `sha256:` + 16 hex characters: the token itself is never shown.
    pub fingerprint: String,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub algorithm: Option<String>,
    pub key_id: Option<String>,
    pub issuer: Option<String>,
    pub issuer_kind: IssuerKind,
    pub tenant: Option<String>,
    pub application: Option<String>,
    pub audience: Vec<String>,
    pub subject: Option<String>,
    pub issued_at: Option<TimeClaim>,
    pub not_before: Option<TimeClaim>,
    pub expires: Option<TimeClaim>,
    pub lifetime_seconds: Option<i64>,
    pub explanation: Vec<String>,
}

/// A duration in words (`1 h 30 min`, `2 d`).
pub fn human_duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "min"), (sec, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if parts.is_empty() {
        "0 s".into()
    } else {
        format!("{sign}{}", parts.join(" "))
    }
}

fn token_type(jwt: &Jwt) -> &'static str {
    if jwt.claims.contains_key("scp") {
        "an access token with delegated scopes (`scp`): an application acting for a user"
    } else if jwt.claims.contains_key("roles") && !jwt.claims.contains_key("nonce") {
        "an access token with application roles (`roles`)"
    } else if jwt.claims.contains_key("nonce") || jwt.claims.contains_key("at_hash") {
        "an ID token (sign-in proof for an application)"
    } else {
        "a token (ID or access: no `scp`, `roles` or `nonce` says which)"
    }
}

pub fn inspect(jwt: &Jwt) -> Inspection {
    let iss = jwt.issuer();
    let tid = jwt.tenant();
    let kind = issuer::classify(iss, tid);
    let tenant = tid
        .map(str::to_owned)
        .or_else(|| iss.and_then(issuer::tenant_in_issuer).map(str::to_owned));
    let iat = jwt.claim_time("iat");
    let exp = jwt.claim_time("exp");
    let lifetime = match (iat.or(jwt.claim_time("nbf")), exp) {
        (Some(start), Some(end)) => end.checked_sub(start),
        _ => None,
    };
    let mut inspection = Inspection {
        fingerprint: jwt.fingerprint(),
        header: redact::redact_map(&jwt.header),
        claims: redact::redact_map(&jwt.claims),
        algorithm: jwt.alg().map(str::to_owned),
        key_id: jwt.kid().map(str::to_owned),
        issuer: iss.map(str::to_owned),
        issuer_kind: kind,
        tenant,
        application: jwt.application().map(str::to_owned),
        audience: jwt.audiences(),
        subject: jwt.claim_str("sub").map(str::to_owned),
        issued_at: iat.and_then(TimeClaim::new),
        not_before: jwt.claim_time("nbf").and_then(TimeClaim::new),
        expires: exp.and_then(TimeClaim::new),
        lifetime_seconds: lifetime,
        explanation: Vec::new(),
    };
    inspection.explanation = explain(jwt, &inspection);
    inspection
}

fn explain(jwt: &Jwt, i: &Inspection) -> Vec<String> {
    let mut lines = Vec::new();
    let version = jwt
        .claim_str("ver")
        .map(|v| format!(" (token version {v})"))
        .unwrap_or_default();
    lines.push(format!("This is {}{version}.", token_type(jwt)));
    match (&i.issuer, i.issuer_kind) {
        (Some(iss), kind) => lines.push(format!("Issued by `{iss}`: {}.", kind.describe())),
        (None, kind) => lines.push(format!("It names {}.", kind.describe())),
    }
    if let Some(tenant) = &i.tenant {
        let what = if tenant.eq_ignore_ascii_case(issuer::CONSUMER_TENANT) {
            "the consumer tenant of personal Microsoft accounts, never an organisation"
        } else {
            "the organisation the token is for"
        };
        lines.push(format!("Tenant `{tenant}`: {what}."));
    }
    if let Some(app) = &i.application {
        lines.push(format!("Requested by application (client) `{app}`."));
    }
    if !i.audience.is_empty() {
        lines.push(format!(
            "Meant for (audience) {}.",
            i.audience
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut times = Vec::new();
    if let Some(t) = &i.issued_at {
        times.push(format!("issued {}", t.utc));
    }
    if let Some(t) = &i.not_before {
        times.push(format!("valid from {}", t.utc));
    }
    if let Some(t) = &i.expires {
        times.push(format!("expires {}", t.utc));
    }
    if let Some(l) = i.lifetime_seconds {
        times.push(format!("a lifetime of {}", human_duration(l)));
    }
    if !times.is_empty() {
        lines.push(format!("Times (UTC): {}.", times.join(", ")));
    }
    let key = match (&i.key_id, jwt.x5t()) {
        (Some(kid), _) => format!("key id `{kid}`"),
        (None, Some(x5t)) => format!("certificate thumbprint `{x5t}` (no key id)"),
        (None, None) => "no key id".into(),
    };
    match i.algorithm.as_deref() {
        Some(alg) if alg.eq_ignore_ascii_case("none") => {
            lines.push("It is NOT signed (`alg: none`): anyone could have written it.".into())
        }
        Some(alg) if alg.starts_with("HS") => lines.push(format!(
            "Signed with {alg}, a shared secret ({key}): identity providers sign with public keys, so this is either an application's own token or a forgery."
        )),
        Some(alg) => lines.push(format!(
            "Signed with {alg}, {key}; this signature is NOT checked here (use `vigie token verify`)."
        )),
        None => lines.push("The header names no algorithm.".into()),
    }
    if let Some(bad) = compromised::lookup(i.key_id.as_deref(), jwt.x5t(), None) {
        lines.push(format!(
            "WARNING: {key} is a publicly known compromised key: {}.",
            bad.name
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        assert_eq!(human_duration(86_400), "1 d");
        assert_eq!(human_duration(5_400), "1 h 30 min");
        assert_eq!(human_duration(0), "0 s");
        assert_eq!(human_duration(-61), "-1 min 1 s");
        assert!(!human_duration(i64::MIN).is_empty());
    }
}
