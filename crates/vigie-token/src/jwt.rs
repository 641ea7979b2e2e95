//! Decoding a compact JWS (`header.payload.signature`) without verifying it.
//!
//! The raw token stays inside [`Jwt`]: it is needed to check the signature,
//! but nothing here exposes it. What callers may show is the header, the
//! claims and the [`Jwt::fingerprint`].

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::b64;

/// Longest token accepted. Real access tokens are a few KiB; anything far
/// larger is either not a token or an attempt to exhaust memory.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Hex characters of the token's SHA-256 shown as its fingerprint.
const FINGERPRINT_HEX: usize = 16;

/// A decoded, unverified JWT.
pub struct Jwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// `header.payload` as it appeared: what the signature covers.
    signing_input: String,
    signature: Vec<u8>,
    digest: [u8; 32],
}

impl fmt::Debug for Jwt {
    // Never the token itself, even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("fingerprint", &self.fingerprint())
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish()
    }
}

/// Why a string is not a readable JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    TooLong(usize),
    Segments(usize),
    Header(String),
    Claims(String),
    Signature(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => write!(f, "empty token"),
            DecodeError::TooLong(n) => {
                write!(f, "{n} bytes is longer than any token ({MAX_TOKEN_LEN} max)")
            }
            DecodeError::Segments(5) => write!(
                f,
                "5 segments: an encrypted token (JWE), whose claims cannot be read without the recipient's key"
            ),
            DecodeError::Segments(n) => write!(
                f,
                "{n} segment(s): a signed JWT has 3 (header.payload.signature)"
            ),
            DecodeError::Header(e) => write!(f, "header: {e}"),
            DecodeError::Claims(e) => write!(f, "claims: {e}"),
            DecodeError::Signature(e) => write!(f, "signature: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The SHA-256 of a token string, for deduplication without keeping it.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `sha256:` and the first hex characters of a digest.
pub fn fingerprint_of(digest: &[u8; 32]) -> String {
    let mut out = String::with_capacity(7 + FINGERPRINT_HEX);
    out.push_str("sha256:");
    for byte in digest.iter().take(FINGERPRINT_HEX / 2) {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

fn json_object(segment: &str) -> Result<Map<String, Value>, String> {
    let bytes = b64::decode_url(segment).map_err(|e| format!("not base64url ({e})"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not JSON ({e})")),
    }
}

impl Jwt {
    /// Decodes a compact JWS. Surrounding whitespace and a `Bearer ` prefix
    /// are ignored.
    pub fn decode(token: &str) -> Result<Jwt, DecodeError> {
        let token = strip_bearer(token.trim());
        if token.is_empty() {
            return Err(DecodeError::Empty);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(DecodeError::TooLong(token.len()));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return Err(DecodeError::Segments(parts.len()));
        };
        let header_map = json_object(header).map_err(DecodeError::Header)?;
        let claims_map = json_object(claims).map_err(DecodeError::Claims)?;
        let signature_bytes = b64::decode_url(signature)
            .map_err(|e| DecodeError::Signature(format!("not base64url ({e})")))?;
        Ok(Jwt {
            header: header_map,
            claims: claims_map,
            signing_input: token[..header.len() + 1 + claims.len()].to_owned(),
            signature: signature_bytes,
            digest: token_digest(token),
        })
    }

    /// `sha256:` and the first 16 hex characters of the token's SHA-256:
    /// enough to tell tokens apart and find them again, useless to replay.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.digest)
    }

    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    pub(crate) fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    pub(crate) fn signature(&self) -> &[u8] {
        &self.signature
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim (seconds since the epoch), integer or not.
    pub fn claim_time(&self, name: &str) -> Option<i64> {
        numeric_date(self.claims.get(name)?)
    }

    pub fn alg(&self) -> Option<&str> {
        self.header_str("alg")
    }

    pub fn kid(&self) -> Option<&str> {
        self.header_str("kid")
    }

    pub fn x5t(&self) -> Option<&str> {
        self.header_str("x5t")
    }

    pub fn issuer(&self) -> Option<&str> {
        self.claim_str("iss")
    }

    pub fn tenant(&self) -> Option<&str> {
        self.claim_str("tid")
    }

    /// The `aud` claim, a string or an array of strings.
    pub fn audiences(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The client application: `appid` (v1), `azp` (v2), `client_id`.
    pub fn application(&self) -> Option<&str> {
        ["appid", "azp", "client_id"]
            .iter()
            .find_map(|c| self.claim_str(c))
    }
}

fn strip_bearer(token: &str) -> &str {
    match token.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => token[7..].trim_start(),
        _ => token,
    }
}

/// Seconds since the epoch from a JSON number; `None` for anything else or
/// a value no calendar can hold.
fn numeric_date(value: &Value) -> Option<i64> {
    let seconds = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f.trunc() as i64)
        })?,
        _ => return None,
    };
    // chrono's range is ±262,000 years; refuse what it cannot show.
    chrono::DateTime::from_timestamp(seconds, 0).map(|_| seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(header: &str, claims: &str, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64::encode_url(header.as_bytes()),
            b64::encode_url(claims.as_bytes()),
            b64::encode_url(sig)
        )
    }

    #[test]
    fn decodes_header_claims_and_signature() {
        let t = make(
            r#"{"alg":"RS256","kid":"k1"}"#,
            r#"{"iss":"x","iat":10.5}"#,
            b"sig",
        );
        let jwt = Jwt::decode(&format!("Bearer {t}\n")).expect("decodes");
        assert_eq!(jwt.alg(), Some("RS256"));
        assert_eq!(jwt.kid(), Some("k1"));
        assert_eq!(jwt.claim_time("iat"), Some(10));
        assert_eq!(jwt.signature(), b"sig");
        assert!(jwt.fingerprint().starts_with("sha256:"));
        assert_eq!(jwt.fingerprint().len(), 7 + 16);
        assert!(!format!("{jwt:?}").contains(&t));
    }

    #[test]
    fn rejects_hostile_shapes_without_panicking() {
        for bad in [
            "",
            "Bearer ",
            "a.b",
            "a.b.c.d.e",
            "!!!.e30.",
            "e30.!!!.",
            "WzFd.e30.",
            "e30.e30.***",
            "e30.bnVsbA.",
            "\u{1F600}.\u{1F600}.\u{1F600}",
            "Bearer\u{e9}\u{e9}",
        ] {
            assert!(Jwt::decode(bad).is_err(), "{bad:?}");
        }
        let long = "e".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            Jwt::decode(&long).err(),
            Some(DecodeError::TooLong(MAX_TOKEN_LEN + 1))
        );
    }

    #[test]
    fn times_outside_the_calendar_are_ignored() {
        let t = make(
            r#"{"alg":"none"}"#,
            r#"{"iat":1e300,"exp":"soon","nbf":-99999999999999}"#,
            b"",
        );
        let jwt = Jwt::decode(&t).expect("decodes");
        assert_eq!(jwt.claim_time("iat"), None);
        assert_eq!(jwt.claim_time("exp"), None);
        assert_eq!(jwt.claim_time("nbf"), None);
    }
}
