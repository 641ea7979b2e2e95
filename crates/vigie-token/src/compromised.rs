//! The shipped list of publicly known compromised signing keys
//! (`data/compromised-keys.json`, embedded at build time, each entry with
//! its sources).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const LIST: &str = include_str!("../data/compromised-keys.json");

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CompromisedKey {
    pub name: String,
    pub kid: Option<String>,
    pub x5t: Option<String>,
    /// SHA-1 of the key's certificate, lower-case hex.
    pub sha1_thumbprint: Option<String>,
    pub certificate_subject: Option<String>,
    pub certificate_not_before: Option<String>,
    pub certificate_not_after: Option<String>,
    /// The issuer the key was published for: lets the hunt check a token's
    /// scope even without the key set.
    pub issuer: Option<String>,
    pub abused: Option<String>,
    pub sources: Vec<String>,
}

#[derive(Deserialize)]
struct List {
    keys: Vec<CompromisedKey>,
}

/// Every known compromised key. The list is this crate's own data, checked
/// by a unit test, so a parse failure can only come from a bad edit: it
/// yields an empty list rather than a panic at detection time.
pub fn compromised_keys() -> &'static [CompromisedKey] {
    static KEYS: OnceLock<Vec<CompromisedKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        serde_json::from_str::<List>(LIST)
            .map(|l| l.keys)
            .unwrap_or_default()
    })
}

/// The compromised key a token or key names by `kid`, `x5t` or certificate
/// thumbprint, if any.
pub fn lookup(
    kid: Option<&str>,
    x5t: Option<&str>,
    thumbprint: Option<&str>,
) -> Option<&'static CompromisedKey> {
    compromised_keys().iter().find(|k| {
        let same = |a: &Option<String>, b: Option<&str>| {
            matches!((a, b), (Some(a), Some(b)) if a == b)
        };
        same(&k.kid, kid)
            || same(&k.x5t, x5t)
            || matches!((&k.sha1_thumbprint, thumbprint), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64;

    #[test]
    fn the_shipped_list_parses_and_is_consistent() {
        let keys = compromised_keys();
        assert!(!keys.is_empty());
        for k in keys {
            assert!(!k.sources.is_empty(), "{} has no source", k.name);
            // x5t is the base64url of the SHA-1 thumbprint.
            if let (Some(x5t), Some(hex)) = (&k.x5t, &k.sha1_thumbprint) {
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                    .collect();
                assert_eq!(&b64::encode_url(&bytes), x5t);
            }
        }
    }

    #[test]
    fn finds_storm_0558_key_by_any_indicator() {
        assert!(lookup(Some("1LTMzakihiRla_8z2BEJVXeWMqo"), None, None).is_some());
        assert!(lookup(None, None, Some("D4B4CCCDA9228624656BFF33D8110955779632AA")).is_some());
        assert!(lookup(Some("other"), Some("other"), Some("00")).is_none());
        assert!(lookup(None, None, None).is_none());
    }
}
