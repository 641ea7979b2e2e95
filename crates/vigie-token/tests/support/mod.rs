//! Test key pairs, key sets and tokens, all made here: no private key of a
//! real issuer is known, so every forgery test signs with its own key.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rsa::pkcs8::EncodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;

pub const CONSUMER: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
pub const ENTERPRISE: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const ANY_TENANT: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
/// 2023-06-01T00:00:00Z, inside Storm-0558's active window.
pub const IAT_2023: i64 = 1_685_577_600;

pub fn v2_issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

/// The shared data folder, when present (it is not in the repository).
pub fn shared_tokens_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/tokens");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

/// One RSA key per test binary: generating one is slow.
pub fn rsa_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key"))
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A self-signed certificate for the key, valid between two dates.
pub fn certificate(key: &RsaPrivateKey, from: (i32, u8, u8), to: (i32, u8, u8)) -> Vec<u8> {
    let der = key.to_pkcs8_der().expect("pkcs8");
    let pair = rcgen::KeyPair::try_from(der.as_bytes()).expect("rcgen key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vigie test signing key");
    params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
    params
        .self_signed(&pair)
        .expect("certificate")
        .der()
        .to_vec()
}

/// The JWK of the test RSA key; `issuer` is Entra's scope member.
pub fn rsa_jwk(kid: &str, issuer: Option<&str>, cert: Option<&[u8]>) -> Value {
    let public = rsa_key().to_public_key();
    let mut jwk = json!({
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "n": b64url(&public.n().to_bytes_be()),
        "e": b64url(&public.e().to_bytes_be()),
    });
    if let Some(issuer) = issuer {
        jwk["issuer"] = json!(issuer);
    }
    if let Some(cert) = cert {
        jwk["x5c"] = json!([STANDARD.encode(cert)]);
    }
    jwk
}

pub fn write_jwks(dir: &Path, file: &str, keys: &[Value]) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, json!({ "keys": keys }).to_string()).expect("write jwks");
    path
}

pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

pub fn sign_rs256(header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa_key().clone());
    let sig = signer.sign(input.as_bytes()).to_vec();
    format!("{input}.{}", b64url(&sig))
}

pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac key");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64url(&mac.finalize().into_bytes()))
}

/// Claims of an Entra v2.0 access token for `tenant`, issued at `iat`.
pub fn claims(tenant: &str, iat: i64) -> Value {
    json!({
        "aud": "https://outlook.office365.com",
        "iss": v2_issuer(tenant),
        "iat": iat,
        "nbf": iat,
        "exp": iat + 3600,
        "tid": tenant,
        "appid": "00000002-0000-0ff1-ce00-000000000000",
        "scp": "Mail.Read",
        "ver": "2.0",
    })
}
