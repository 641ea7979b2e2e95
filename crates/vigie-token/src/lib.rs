//! vigie-token: identity-token forensics, for Storm-0558-style forgeries —
//! tokens correctly signed by the wrong key.
//!
//! A signature check alone would have accepted Storm-0558's tokens: they
//! were signed by a genuine Microsoft key. So [`verify()`] goes on to ask
//! what a correct signature does not prove:
//!
//! * **scope**: may the key that signed (found by `kid`) sign for the
//!   token's issuer and tenant? The issuer-substitution rule Microsoft
//!   added after the incident ([`issuer::check_key_scope`]): a key
//!   published for `https://login.microsoftonline.com/{tenantid}/v2.0`
//!   signs for the token's own tenant only; a consumer (MSA) key signs for
//!   the consumer tenant only;
//! * **time**: was the key's certificate valid when the token was issued?
//! * **reputation**: is the key on the shipped compromised list
//!   (`data/compromised-keys.json`, with sources)?
//! * **form**: `alg: none`, HMAC where only public keys exist (algorithm
//!   confusion), unknown key ids, bad signatures, impossible lifetimes.
//!
//! Key sets are local snapshots ([`KeyStore`], [`store`] documents the file
//! naming): nothing is fetched while verifying or hunting; [`fetch_keys`]
//! saves snapshots when asked. No output ever holds a whole token: a
//! token is shown as its header, its claims and its fingerprint
//! (`sha256:` + 16 hex), and [`redact`] strips tokens from any text.
//!
//! Cryptography is RustCrypto's (`rsa`, `p256`, `p384`, `ed25519-dalek`,
//! `hmac`, `sha1`, `sha2`) and `x509-parser`'s; nothing here is hand-made.

mod b64;
pub mod compromised;
mod detector;
mod fetch;
mod findings;
mod inspect;
pub mod issuer;
mod jwt;
pub mod keys;
pub mod redact;
mod report;
mod scan;
mod sig;
pub mod store;
mod verify;

pub use detector::TokenDetector;
pub use fetch::{fetch_keys, metadata_url, series_name, FetchError, Fetched};
pub use findings::{Finding, FindingKind};
pub use inspect::{inspect, Inspection, TimeClaim};
pub use issuer::{IssuerKind, CONSUMER_TENANT};
pub use jwt::{DecodeError, Jwt, MAX_TOKEN_LEN};
pub use keys::KeyError;
pub use redact::{redact_alert, redact_str};
pub use report::{clean, inspection_text, verdict_text};
pub use scan::{find_tokens, has_token};
pub use store::{KeySet, KeyStore};
pub use verify::{verify, KeyReport, SignatureStatus, Verdict, VerifyOptions};

pub use chrono::NaiveDate;

/// Today's date in UTC (the date `fetch-keys` puts in snapshot names).
pub fn today_utc() -> NaiveDate {
    chrono::Utc::now().date_naive()
}
