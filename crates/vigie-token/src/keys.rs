//! Key sets (JWKS) and OpenID metadata documents, parsed as hostile input:
//! a key that cannot be read is skipped with a warning naming it, never a
//! panic, and never silently.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use sha1::{Digest, Sha1};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::b64;

/// Largest key set or metadata file read (real ones are a few KiB).
pub const MAX_KEY_FILE_BYTES: u64 = 4 << 20;

/// The public part of a key, as the JWK gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMaterial {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ec {
        curve: String,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    Okp {
        curve: String,
        x: Vec<u8>,
    },
}

impl KeyMaterial {
    pub fn kty(&self) -> &'static str {
        match self {
            KeyMaterial::Rsa { .. } => "RSA",
            KeyMaterial::Ec { .. } => "EC",
            KeyMaterial::Okp { .. } => "OKP",
        }
    }
}

/// The key's X.509 certificate (first `x5c` entry), as far as forensics
/// needs it.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateInfo {
    pub subject: String,
    /// Seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// SHA-1 of the DER certificate, lower-case hex (Microsoft's
    /// "thumbprint"; `x5t` is its base64url form).
    pub sha1_thumbprint: String,
    /// Whether the certificate's public key is the JWK's key. `None` when
    /// the comparison does not apply (non-RSA keys).
    pub matches_key: Option<bool>,
}

/// One key of a key set.
#[derive(Clone, Debug)]
pub struct Jwk {
    pub kid: Option<String>,
    pub x5t: Option<String>,
    pub alg: Option<String>,
    pub key_use: Option<String>,
    /// The issuer this key is published for (Entra's `issuer` member):
    /// `https://login.microsoftonline.com/{tenantid}/v2.0` or a fixed tenant.
    pub issuer: Option<String>,
    pub material: KeyMaterial,
    pub certificate: Option<CertificateInfo>,
    /// Why the `x5c` certificate could not be used, when it could not.
    pub certificate_error: Option<String>,
    /// The JWK as published, compact JSON (for the algorithm-confusion
    /// check, which tries it as an HMAC secret).
    pub json: String,
}

/// An error reading a key file: which file and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for KeyError {}

pub(crate) fn key_error(path: &Path, reason: impl Into<String>) -> KeyError {
    KeyError {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Reads a whole file, refusing anything larger than a key file can be.
pub(crate) fn read_limited(path: &Path) -> Result<Vec<u8>, KeyError> {
    let meta = std::fs::metadata(path).map_err(|e| key_error(path, format!("cannot read: {e}")))?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(key_error(
            path,
            format!(
                "{} bytes is too large for a key set ({MAX_KEY_FILE_BYTES} max)",
                meta.len()
            ),
        ));
    }
    std::fs::read(path).map_err(|e| key_error(path, format!("cannot read: {e}")))
}

/// Parses the keys of a JWKS document (`{"keys":[…]}`) or a single JWK.
/// Returns the keys read and one warning per key skipped.
pub fn parse_jwks(bytes: &[u8]) -> Result<(Vec<Jwk>, Vec<String>), String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let items: Vec<&Value> =
        match &doc {
            Value::Object(map) if map.contains_key("keys") => match map.get("keys") {
                Some(Value::Array(keys)) => keys.iter().collect(),
                _ => return Err("`keys` is not an array".into()),
            },
            Value::Object(map) if map.contains_key("kty") => vec![&doc],
            Value::Object(map) if map.contains_key("jwks_uri") => return Err(
                "this is an OpenID metadata document, not a key set (give it with --openid-config)"
                    .into(),
            ),
            _ => return Err("not a key set: expected {\"keys\":[…]} or a single JWK".into()),
        };
    let mut keys = Vec::new();
    let mut warnings = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match parse_jwk(item) {
            Ok(jwk) => keys.push(jwk),
            Err(e) => {
                let kid = item
                    .get("kid")
                    .and_then(Value::as_str)
                    .unwrap_or("(no kid)");
                warnings.push(format!("key #{} {kid}: skipped: {e}", i + 1));
            }
        }
    }
    Ok((keys, warnings))
}

fn member<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    obj.get(name).and_then(Value::as_str)
}

fn bytes_member(obj: &serde_json::Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text = member(obj, name).ok_or_else(|| format!("no `{name}`"))?;
    let bytes = b64::decode_url(text).map_err(|e| format!("`{name}` is not base64url ({e})"))?;
    if bytes.is_empty() {
        return Err(format!("`{name}` is empty"));
    }
    Ok(bytes)
}

fn parse_jwk(value: &Value) -> Result<Jwk, String> {
    let Value::Object(obj) = value else {
        return Err("not a JSON object".into());
    };
    let kty = member(obj, "kty").ok_or("no `kty`")?;
    let material = match kty {
        "RSA" => KeyMaterial::Rsa {
            n: bytes_member(obj, "n")?,
            e: bytes_member(obj, "e")?,
        },
        "EC" => KeyMaterial::Ec {
            curve: member(obj, "crv").ok_or("no `crv`")?.to_owned(),
            x: bytes_member(obj, "x")?,
            y: bytes_member(obj, "y")?,
        },
        "OKP" => KeyMaterial::Okp {
            curve: member(obj, "crv").ok_or("no `crv`")?.to_owned(),
            x: bytes_member(obj, "x")?,
        },
        "oct" => return Err("a symmetric secret (`oct`) has no place in a public key set".into()),
        other => return Err(format!("unsupported key type `{other}`")),
    };
    let (certificate, certificate_error) = match obj.get("x5c") {
        None => (None, None),
        Some(x5c) => match first_certificate(x5c, &material) {
            Ok(cert) => (Some(cert), None),
            Err(e) => (None, Some(e)),
        },
    };
    Ok(Jwk {
        kid: member(obj, "kid").map(str::to_owned),
        x5t: member(obj, "x5t").map(str::to_owned),
        alg: member(obj, "alg").map(str::to_owned),
        key_use: member(obj, "use").map(str::to_owned),
        issuer: member(obj, "issuer").map(str::to_owned),
        material,
        certificate,
        certificate_error,
        json: value.to_string(),
    })
}

fn first_certificate(x5c: &Value, material: &KeyMaterial) -> Result<CertificateInfo, String> {
    let text = x5c
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .ok_or("`x5c` is not an array of base64 strings")?;
    let der = b64::decode_std(text).map_err(|e| format!("`x5c` is not base64 ({e})"))?;
    certificate_info(&der, material)
}

/// Reads what forensics needs from a DER certificate.
pub fn certificate_info(der: &[u8], material: &KeyMaterial) -> Result<CertificateInfo, String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("`x5c` certificate is not X.509 DER ({e})"))?;
    let validity = cert.validity();
    let thumbprint: String = Sha1::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let matches_key = match (material, cert.public_key().parsed()) {
        (KeyMaterial::Rsa { n, e }, Ok(PublicKey::RSA(rsa))) => Some(
            strip_zeros(rsa.modulus) == strip_zeros(n)
                && strip_zeros(rsa.exponent) == strip_zeros(e),
        ),
        (KeyMaterial::Rsa { .. }, _) => Some(false),
        _ => None,
    };
    Ok(CertificateInfo {
        subject: cert.subject().to_string(),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        sha1_thumbprint: thumbprint,
        matches_key,
    })
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The parts of an OpenID Provider Metadata document this tool uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenIdConfig {
    pub issuer: String,
    pub jwks_uri: Option<String>,
}

pub fn parse_openid_config(bytes: &[u8]) -> Result<OpenIdConfig, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let issuer = doc
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or("not an OpenID metadata document: no `issuer`")?;
    Ok(OpenIdConfig {
        issuer: issuer.to_owned(),
        jwks_uri: doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_are_skipped_with_a_reason() {
        let doc = br#"{"keys":[
            {"kty":"RSA","kid":"ok","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"no-n","e":"AQAB"},
            {"kty":"EC","kid":"bad-x","crv":"P-256","x":"!!","y":"AA"},
            {"kty":"oct","kid":"secret","k":"AA"},
            {"kty":"RSA","kid":"bad-cert","n":"AQAB","e":"AQAB","x5c":["AAAA"]},
            42
        ]}"#;
        let (keys, warnings) = parse_jwks(doc).expect("a key set");
        assert_eq!(keys.len(), 2);
        assert!(keys[1].certificate.is_none());
        assert!(keys[1].certificate_error.is_some());
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].contains("no-n"));
    }

    #[test]
    fn documents_that_are_not_key_sets() {
        assert!(parse_jwks(b"").is_err());
        assert!(parse_jwks(b"[]").is_err());
        assert!(parse_jwks(br#"{"keys":{}}"#).is_err());
        let meta = br#"{"issuer":"x","jwks_uri":"y"}"#;
        assert!(parse_jwks(meta).unwrap_err().contains("--openid-config"));
        assert_eq!(parse_openid_config(meta).map(|c| c.issuer), Ok("x".into()));
        assert!(parse_openid_config(b"{}").is_err());
    }
}
