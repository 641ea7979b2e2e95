//! `fetch-keys`: saves an issuer's OpenID metadata and key set as dated
//! snapshots for later offline use. The only place vigie touches the
//! network, and only when asked to.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;

use crate::keys;
use crate::store::{JWKS_SUFFIX, METADATA_SUFFIX};

/// Largest metadata or key-set document accepted.
pub const MAX_DOCUMENT_BYTES: u64 = 1 << 20;
/// Whole-request timeout.
pub const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct FetchError(pub String);

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FetchError {}

/// What was saved.
#[derive(Debug)]
pub struct Fetched {
    pub issuer: String,
    pub jwks_uri: String,
    pub metadata_path: PathBuf,
    pub jwks_path: PathBuf,
    pub keys: usize,
    /// Keys of the set that could not be read, with the reason.
    pub warnings: Vec<String>,
}

/// The metadata URL of an issuer (the URL itself when it already is one).
pub fn metadata_url(issuer_url: &str) -> String {
    let trimmed = issuer_url.trim().trim_end_matches('/');
    if trimmed.ends_with("/.well-known/openid-configuration") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/.well-known/openid-configuration")
    }
}

/// A file-name-safe series name for an issuer URL:
/// `https://login.microsoftonline.com/common/v2.0` →
/// `login.microsoftonline.com_common_v2.0`.
pub fn series_name(issuer_url: &str) -> String {
    let url = issuer_url.trim().trim_end_matches('/');
    let url = url.trim_end_matches("/.well-known/openid-configuration");
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let mut name: String = rest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim_matches(|c| c == '_' || c == '.').to_owned();
    name.truncate(120);
    if name.is_empty() {
        "issuer".into()
    } else {
        name
    }
}

fn get(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>, FetchError> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(FetchError(format!(
            "{url}: only http(s) URLs can be fetched"
        )));
    }
    let mut response = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| FetchError(format!("{url}: {e}")))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_DOCUMENT_BYTES)
        .read_to_vec()
        .map_err(|e| {
            FetchError(format!(
                "{url}: {e} (at most {MAX_DOCUMENT_BYTES} bytes are read)"
            ))
        })
}

/// Writes through a temporary file so an interrupted run never leaves a
/// half snapshot under the final name.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| FetchError(format!("{}: cannot write: {e}", path.display())))
}

/// Fetches `ISSUER_URL/.well-known/openid-configuration` and its `jwks_uri`
/// and saves them in `dir` as `NAME-DATE.openid-configuration.json` and
/// `NAME-DATE.jwks.json`, exactly as served.
pub fn fetch_keys(issuer_url: &str, dir: &Path, date: NaiveDate) -> Result<Fetched, FetchError> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .max_redirects(3)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let meta_url = metadata_url(issuer_url);
    let meta_bytes = get(&agent, &meta_url)?;
    let meta = keys::parse_openid_config(&meta_bytes)
        .map_err(|e| FetchError(format!("{meta_url}: {e}")))?;
    let jwks_uri = meta
        .jwks_uri
        .clone()
        .ok_or_else(|| FetchError(format!("{meta_url}: the metadata has no `jwks_uri`")))?;
    let jwks_bytes = get(&agent, &jwks_uri)?;
    let (keys, warnings) =
        keys::parse_jwks(&jwks_bytes).map_err(|e| FetchError(format!("{jwks_uri}: {e}")))?;
    if keys.is_empty() {
        return Err(FetchError(format!(
            "{jwks_uri}: no usable key ({})",
            warnings.join("; ")
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| FetchError(format!("{}: cannot create: {e}", dir.display())))?;
    let stem = format!("{}-{}", series_name(issuer_url), date.format("%Y-%m-%d"));
    let metadata_path = dir.join(format!("{stem}{METADATA_SUFFIX}"));
    let jwks_path = dir.join(format!("{stem}{JWKS_SUFFIX}"));
    write_new(&metadata_path, &meta_bytes)?;
    write_new(&jwks_path, &jwks_bytes)?;
    Ok(Fetched {
        issuer: meta.issuer,
        jwks_uri,
        metadata_path,
        jwks_path,
        keys: keys.len(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::split_dated_name;

    #[test]
    fn names_round_trip_through_the_snapshot_convention() {
        let name = series_name("https://login.microsoftonline.com/common/v2.0/");
        assert_eq!(name, "login.microsoftonline.com_common_v2.0");
        let stem = format!("{name}-2025-01-31");
        assert_eq!(
            split_dated_name(&stem),
            (name.as_str(), NaiveDate::from_ymd_opt(2025, 1, 31))
        );
        assert_eq!(series_name("http://127.0.0.1:8080"), "127.0.0.1_8080");
        assert_eq!(series_name("://"), "issuer");
        assert_eq!(
            metadata_url("https://accounts.google.com/"),
            "https://accounts.google.com/.well-known/openid-configuration"
        );
    }
}
