//! `verify`: the signature, then everything a correct signature does not
//! prove — which issuer and tenant the key may sign for, whether the key was
//! valid when the token was issued, whether it is known to be stolen, and
//! whether the token's own claims make sense.

use serde::Serialize;
use vigie_core::Level;

use crate::compromised::{self, CompromisedKey};
use crate::findings::{Finding, FindingKind};
use crate::inspect::{human_duration, inspect, Inspection, TimeClaim};
use crate::issuer::{self, IssuerKind};
use crate::jwt::Jwt;
use crate::keys::CertificateInfo;
use crate::sig::{self, Algorithm, SignatureCheck};
use crate::store::{KeyMatch, KeySet, KeyStore};

/// Clock skew tolerated before a time is called wrong (as most validators).
pub const CLOCK_SKEW_SECONDS: i64 = 300;

#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The audience the token must be for (`--audience`).
    pub audience: Option<String>,
    /// The issuer the token must come from (`--issuer`).
    pub issuer: Option<String>,
    /// When the token was seen (the event's time, or now): a token issued
    /// later than that is anomalous. `None` skips the check.
    pub seen_at: Option<i64>,
    /// The key sets were given for this very token (`vigie token verify`):
    /// a kid they lack, or an HMAC token, is a finding whatever the issuer.
    /// The hunt leaves it off, so tokens of issuers its key sets do not
    /// cover are not mistaken for forgeries.
    pub keys_are_authoritative: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureStatus {
    Valid,
    Invalid,
    /// `alg: none`.
    Unsigned,
    /// No usable key, or an algorithm vigie refuses to check.
    NotChecked,
}

/// The key a token names, and where it was found.
#[derive(Clone, Debug, Serialize)]
pub struct KeyReport {
    pub kid: Option<String>,
    pub x5t: Option<String>,
    pub key_type: &'static str,
    pub key_set: String,
    pub snapshot_date: Option<String>,
    /// The issuer the key may sign for (its `issuer`, or its metadata's).
    pub scope: Option<String>,
    pub certificate: Option<CertificateInfo>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    #[serde(flatten)]
    pub inspection: Inspection,
    pub signature: SignatureStatus,
    pub signing_key: Option<KeyReport>,
    /// The key-set snapshots consulted.
    pub key_sets: Vec<String>,
    pub findings: Vec<Finding>,
    /// What could not be checked, and why.
    pub notes: Vec<String>,
}

impl Verdict {
    /// Whether anything above informational was found (exit code 1).
    pub fn has_findings(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity > Level::Informational)
    }

    fn add(&mut self, kind: FindingKind, explanation: impl Into<String>) {
        if !self.findings.iter().any(|f| f.kind == kind) {
            self.findings.push(Finding::new(kind, explanation));
        }
    }
}

fn date_of(unix: i64) -> String {
    TimeClaim::utc_of(unix).unwrap_or_else(|| unix.to_string())
}

fn key_name(kid: Option<&str>, x5t: Option<&str>) -> String {
    match (kid, x5t) {
        (Some(kid), _) => format!("key `{kid}`"),
        (None, Some(x5t)) => format!("key with thumbprint `{x5t}`"),
        (None, None) => "the key".into(),
    }
}

/// Verifies a decoded token against local key-set snapshots.
pub fn verify(jwt: &Jwt, store: &KeyStore, opts: &VerifyOptions) -> Verdict {
    let mut v = Verdict {
        inspection: inspect(jwt),
        signature: SignatureStatus::NotChecked,
        signing_key: None,
        key_sets: Vec::new(),
        findings: Vec::new(),
        notes: Vec::new(),
    };
    let iss = jwt.issuer();
    let tid = jwt.tenant();
    let iat = jwt.claim_time("iat");
    let (kid, x5t) = (jwt.kid(), jwt.x5t());

    let (chosen, newer) = store.snapshots_at(iat);
    v.key_sets = chosen.iter().map(|s| s.label()).collect();
    v.key_sets.extend(
        newer
            .iter()
            .map(|s| format!("{} (newer than the token)", s.label())),
    );
    let mut matches = KeyStore::find(&chosen, kid, x5t);
    if matches.is_empty() {
        matches = KeyStore::find(&newer, kid, x5t);
        if let Some(m) = matches.first() {
            v.notes.push(format!(
                "{} was found only in {}, a snapshot newer than the token: no snapshot as old as the token has it",
                key_name(kid, x5t),
                m.set.label()
            ));
        }
    }
    let covered = iss.is_some_and(|iss| store.covers_issuer(iss, tid));
    let relevant = opts.keys_are_authoritative || covered || !matches.is_empty();

    let alg = Algorithm::parse(jwt.alg().unwrap_or(""));
    let named = check_signature(&mut v, jwt, &alg, &matches, &chosen, store, relevant, iss);
    if let Some(m) = named {
        check_key(&mut v, m, iat, iss, tid);
    }
    check_compromised(&mut v, jwt, named, iss, tid);
    check_claims(&mut v, jwt, opts);
    v.findings
        .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.kind.cmp(&b.kind)));
    v
}

/// Checks the signature; returns the key the token names (the one that
/// verified it, or the first found), for the key checks.
#[allow(clippy::too_many_arguments)]
fn check_signature<'a>(
    v: &mut Verdict,
    jwt: &Jwt,
    alg: &Algorithm,
    matches: &[KeyMatch<'a>],
    chosen: &[&'a KeySet],
    store: &KeyStore,
    relevant: bool,
    iss: Option<&str>,
) -> Option<KeyMatch<'a>> {
    let (kid, x5t) = (jwt.kid(), jwt.x5t());
    let name = key_name(kid, x5t);
    match alg {
        Algorithm::None => {
            v.signature = SignatureStatus::Unsigned;
            v.add(
                FindingKind::AlgNone,
                "The token is unsigned (`alg: none`): anyone can write one. A verifier that accepts it lets anyone claim any identity.",
            );
            return matches.first().copied();
        }
        Algorithm::Hs(hash) => {
            let public_issuer = iss.is_some_and(issuer::signs_with_public_keys);
            if !(relevant || public_issuer) {
                v.notes.push(format!(
                    "{} is an HMAC token of an issuer no key set covers: an application's own token, not checked",
                    jwt.alg().unwrap_or("HS*")
                ));
                return None;
            }
            // Which public key was used as the secret, if any: try the named
            // key, or every key when the token names none.
            let candidates: Vec<KeyMatch> = if matches.is_empty() && kid.is_none() {
                chosen
                    .iter()
                    .flat_map(|set| set.keys.iter().map(move |key| KeyMatch { set, key }))
                    .take(256)
                    .collect()
            } else {
                matches.to_vec()
            };
            let confirmed = candidates.iter().find_map(|m| {
                sig::hmac_keyed_with_public_key(*hash, m.key, jwt.signing_input(), jwt.signature())
                    .map(|form| (m, form))
            });
            let alg_name = jwt.alg().unwrap_or("HS*");
            let explanation = match confirmed {
                Some((m, form)) => format!(
                    "{alg_name} token whose HMAC secret is {form} of public {} from {}: the algorithm-confusion forgery. \
                     Anyone who downloads the key set can sign such tokens; a verifier that lets the token choose its algorithm accepts them.",
                    key_name(m.key.kid.as_deref(), m.key.x5t.as_deref()),
                    m.set.label()
                ),
                None => format!(
                    "{alg_name} (HMAC, a shared secret) names {name}, but this issuer publishes only public keys: \
                     an HMAC signature can only be checked by mistaking a public key for a secret (algorithm confusion). Refused."
                ),
            };
            v.add(FindingKind::AlgorithmConfusion, explanation);
            return confirmed
                .map(|(m, _)| *m)
                .or_else(|| matches.first().copied());
        }
        Algorithm::Unsupported(a) => {
            if relevant && !store.is_empty() {
                v.add(
                    FindingKind::UnsupportedAlgorithm,
                    format!(
                        "Algorithm `{a}` is not one vigie checks (RS256/384/512, PS256/384/512, ES256/384, EdDSA): the signature was not verified."
                    ),
                );
            }
            return matches.first().copied();
        }
        _ => {}
    }
    if store.is_empty() {
        v.notes
            .push("no key set given: signature and key scope not checked (use --jwks)".into());
        return None;
    }
    if matches.is_empty() {
        if relevant {
            let sets = if v.key_sets.is_empty() {
                "no key set".to_owned()
            } else {
                v.key_sets.join(", ")
            };
            v.add(
                FindingKind::UnknownKid,
                format!(
                    "{name} is in none of the key sets for the token's issue date ({sets}). \
                     Either the issuer never published it, and the token was signed by a key outside its control, or the snapshots miss that period."
                ),
            );
        } else {
            v.notes.push(format!(
                "{name} is not in the key sets, which do not cover issuer `{}`: signature not checked",
                iss.unwrap_or("(none)")
            ));
        }
        return None;
    }
    let mut wrong_type = Vec::new();
    let mut unusable = Vec::new();
    for m in matches {
        match sig::verify(alg, &m.key.material, jwt.signing_input(), jwt.signature()) {
            SignatureCheck::Valid => {
                v.signature = SignatureStatus::Valid;
                if let Some(key_alg) = m.key.alg.as_deref() {
                    if Some(key_alg) != jwt.alg() {
                        v.add(
                            FindingKind::KeyAlgorithmMismatch,
                            format!(
                                "{name} is published for `{key_alg}` but the token uses `{}`.",
                                jwt.alg().unwrap_or("")
                            ),
                        );
                    }
                }
                return Some(*m);
            }
            SignatureCheck::Invalid => {}
            SignatureCheck::WrongKeyType(what) => wrong_type.push(what),
            SignatureCheck::Unusable(why) => unusable.push(why),
        }
    }
    v.signature = SignatureStatus::Invalid;
    let first = matches.first().copied();
    let alg_name = jwt.alg().unwrap_or("");
    if wrong_type.len() == matches.len() {
        v.add(
            FindingKind::KeyAlgorithmMismatch,
            format!("The token claims `{alg_name}`, but {name} is {}: it cannot have made this signature.", wrong_type.join(", ")),
        );
    } else {
        let source = first.map(|m| m.set.label()).unwrap_or_default();
        let extra = if unusable.is_empty() {
            String::new()
        } else {
            format!(" ({})", unusable.join("; "))
        };
        v.add(
            FindingKind::BadSignature,
            format!(
                "The `{alg_name}` signature does not verify with {name} from {source}{extra}: the token was altered or signed by another key that reuses this key id."
            ),
        );
    }
    first
}

/// Scope, certificate validity and certificate/key consistency of the key
/// the token names.
fn check_key(v: &mut Verdict, m: KeyMatch, iat: Option<i64>, iss: Option<&str>, tid: Option<&str>) {
    let key = m.key;
    let name = key_name(key.kid.as_deref(), key.x5t.as_deref());
    let scope = m.set.scope_of(key);
    v.signing_key = Some(KeyReport {
        kid: key.kid.clone(),
        x5t: key.x5t.clone(),
        key_type: key.material.kty(),
        key_set: m.set.label(),
        snapshot_date: m.set.date.map(|d| d.to_string()),
        scope: scope.map(str::to_owned),
        certificate: key.certificate.clone(),
    });
    match scope {
        Some(scope) => {
            if let Err(violation) = issuer::check_key_scope(scope, iss, tid) {
                let shape = if violation.consumer_key_for_enterprise {
                    " This is Storm-0558's forgery: a consumer (MSA) key signing a token an enterprise service accepts."
                } else {
                    ""
                };
                v.add(
                    FindingKind::KeyScopeViolation,
                    format!(
                        "{name} from {} may sign only for `{}`: {}.{shape}",
                        m.set.label(),
                        violation.allowed,
                        violation.reason
                    ),
                );
            }
        }
        None => v.notes.push(format!(
            "{name} carries no `issuer` and {} has no metadata document: key scope not checked (give --openid-config)",
            m.set.label()
        )),
    }
    match (&key.certificate, &key.certificate_error) {
        (Some(cert), _) => {
            if let Some(iat) = iat {
                if iat < cert.not_before || iat > cert.not_after {
                    let when = if iat > cert.not_after {
                        "expired"
                    } else {
                        "not yet valid"
                    };
                    v.add(
                        FindingKind::KeyNotValidAtIssue,
                        format!(
                            "Issued {} but the certificate of {name} ({}) is valid {} to {}: the key was {when} when the token was signed. \
                             A retired key still signing is a stolen key.",
                            date_of(iat),
                            cert.subject,
                            date_of(cert.not_before),
                            date_of(cert.not_after)
                        ),
                    );
                }
            }
            if cert.matches_key == Some(false) {
                v.add(
                    FindingKind::CertificateKeyMismatch,
                    format!(
                        "The `x5c` certificate of {name} ({}) holds a different public key than the JWK: its validity says nothing about this key.",
                        cert.subject
                    ),
                );
            }
        }
        (None, Some(e)) => v
            .notes
            .push(format!("{name}: {e}: certificate validity not checked")),
        (None, None) => v.notes.push(format!(
            "{name} has no `x5c` certificate: validity at issue time not checked"
        )),
    }
}

fn describe_compromised(bad: &CompromisedKey) -> String {
    let mut s = format!("Signed by a publicly known compromised key: {}", bad.name);
    if let Some(t) = &bad.sha1_thumbprint {
        s.push_str(&format!(" (certificate thumbprint {t}"));
        if let Some(subject) = &bad.certificate_subject {
            s.push_str(&format!(", {subject}"));
        }
        s.push(')');
    }
    s.push_str(
        ". Whoever holds this key can sign any token it is trusted for: treat the token as forged",
    );
    if let Some(abused) = &bad.abused {
        s.push_str(&format!(" ({abused})"));
    }
    s.push('.');
    if let Some(source) = bad.sources.first() {
        s.push_str(&format!(" Source: {source}"));
    }
    s
}

fn check_compromised(
    v: &mut Verdict,
    jwt: &Jwt,
    named: Option<KeyMatch>,
    iss: Option<&str>,
    tid: Option<&str>,
) {
    let by_key = named.and_then(|m| {
        let thumb = m
            .key
            .certificate
            .as_ref()
            .map(|c| c.sha1_thumbprint.as_str());
        compromised::lookup(m.key.kid.as_deref(), m.key.x5t.as_deref(), thumb)
    });
    let Some(bad) = by_key.or_else(|| compromised::lookup(jwt.kid(), jwt.x5t(), None)) else {
        return;
    };
    v.add(FindingKind::CompromisedKey, describe_compromised(bad));
    // Without its key set, the list still knows what the key was for.
    if named.is_none() {
        if let Some(scope) = &bad.issuer {
            if let Err(violation) = issuer::check_key_scope(scope, iss, tid) {
                v.add(
                    FindingKind::KeyScopeViolation,
                    format!(
                        "The compromised key was published for `{}` only: {}.",
                        violation.allowed, violation.reason
                    ),
                );
            }
        }
    }
}

fn check_claims(v: &mut Verdict, jwt: &Jwt, opts: &VerifyOptions) {
    let iss = jwt.issuer();
    let tid = jwt.tenant();
    if let (Some(iss), Some(tid)) = (iss, tid) {
        if let Some(in_iss) = issuer::tenant_in_issuer(iss) {
            if !in_iss.eq_ignore_ascii_case(tid) {
                v.add(
                    FindingKind::IssuerTenantMismatch,
                    format!("The issuer names tenant {in_iss} but `tid` says {tid}: Microsoft never issues such a token."),
                );
            }
        }
    }
    if v.inspection.issuer_kind == IssuerKind::Consumer {
        v.add(
            FindingKind::ConsumerTenantToken,
            "A personal Microsoft account (consumer tenant) token. Normal for Outlook.com or OneDrive; \
             on an organisation's mailbox, Graph or SharePoint it is the Storm-0558 pattern.",
        );
    }
    if let Some(expected) = &opts.audience {
        let audiences = jwt.audiences();
        if !audiences.iter().any(|a| a == expected) {
            v.add(
                FindingKind::AudienceMismatch,
                format!(
                    "Expected audience `{expected}`, the token is for {:?}.",
                    audiences
                ),
            );
        }
    }
    if let Some(expected) = &opts.issuer {
        if iss != Some(expected.as_str()) {
            v.add(
                FindingKind::IssuerMismatch,
                format!(
                    "Expected issuer `{expected}`, the token says `{}`.",
                    iss.unwrap_or("(none)")
                ),
            );
        }
    }
    let iat = jwt.claim_time("iat");
    let nbf = jwt.claim_time("nbf");
    let exp = jwt.claim_time("exp");
    if let (Some(start), Some(exp)) = (iat.or(nbf), exp) {
        if exp < start {
            v.add(
                FindingKind::ExpBeforeIat,
                format!(
                    "Expires {} before it was issued or valid ({}): no issuer writes that.",
                    date_of(exp),
                    date_of(start)
                ),
            );
        } else if let Some(max) = iss.and_then(issuer::normal_max_lifetime) {
            let lifetime = exp.saturating_sub(start);
            if lifetime > max + CLOCK_SKEW_SECONDS {
                v.add(
                    FindingKind::LifetimeTooLong,
                    format!(
                        "Valid for {}, but this issuer's tokens live at most {}: forgers mint long-lived tokens.",
                        human_duration(lifetime),
                        human_duration(max)
                    ),
                );
            }
        }
    }
    if let (Some(iat), Some(seen)) = (iat, opts.seen_at) {
        if iat > seen.saturating_add(CLOCK_SKEW_SECONDS) {
            v.add(
                FindingKind::FutureIat,
                format!(
                    "Issued {}, {} after it was seen ({}): its times were made up.",
                    date_of(iat),
                    human_duration(iat.saturating_sub(seen)),
                    date_of(seen)
                ),
            );
        }
    }
}
