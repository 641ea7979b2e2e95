//! Key-set snapshots on disk, and the choice of the snapshot that was
//! current when a token was issued.
//!
//! Naming convention (the one `fetch-keys` writes and
//! `../shared/data/tokens` follows):
//!
//! * `NAME-DATE.jwks.json`: a key set;
//! * `NAME-DATE.openid-configuration.json`: the metadata document served
//!   with it (optional; gives the issuer of keys that carry none);
//!
//! where `DATE` is `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a partial date counts
//! from its first day). Snapshots sharing a `NAME` are one series; for each
//! series the snapshot used for a token is the latest whose date is not
//! after the token's `iat` (or the earliest, with a note, when all are
//! newer). A file without a date is always used. Nothing is ever fetched.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::keys::{self, key_error, read_limited, Jwk, KeyError};

pub const JWKS_SUFFIX: &str = ".jwks.json";
pub const METADATA_SUFFIX: &str = ".openid-configuration.json";

/// One key set file, with its metadata when it has one.
#[derive(Clone, Debug)]
pub struct KeySet {
    pub path: PathBuf,
    /// Series name and snapshot date, from the file name.
    pub series: String,
    pub date: Option<NaiveDate>,
    /// The metadata document's `issuer`, when one was paired or given.
    pub metadata_issuer: Option<String>,
    pub metadata_path: Option<PathBuf>,
    pub keys: Vec<Jwk>,
    /// Keys skipped, with the reason.
    pub warnings: Vec<String>,
}

impl KeySet {
    /// Reads a key set file, and its sibling metadata document when one
    /// follows the naming convention.
    pub fn load(path: &Path) -> Result<KeySet, KeyError> {
        let bytes = read_limited(path)?;
        let (keys, warnings) = keys::parse_jwks(&bytes).map_err(|e| key_error(path, e))?;
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let stem = file_name
            .strip_suffix(JWKS_SUFFIX)
            .or_else(|| file_name.strip_suffix(".json"))
            .unwrap_or(file_name);
        let (series, date) = split_dated_name(stem);
        let mut set = KeySet {
            path: path.to_owned(),
            series: series.to_owned(),
            date,
            metadata_issuer: None,
            metadata_path: None,
            keys,
            warnings,
        };
        if file_name.ends_with(JWKS_SUFFIX) {
            let sibling = path.with_file_name(format!("{stem}{METADATA_SUFFIX}"));
            if sibling.is_file() {
                set.attach_metadata(&sibling)?;
            }
        }
        Ok(set)
    }

    /// Takes the issuer of keys without their own from a metadata document.
    pub fn attach_metadata(&mut self, path: &Path) -> Result<(), KeyError> {
        let bytes = read_limited(path)?;
        let config = keys::parse_openid_config(&bytes).map_err(|e| key_error(path, e))?;
        self.metadata_issuer = Some(config.issuer);
        self.metadata_path = Some(path.to_owned());
        Ok(())
    }

    /// `path (date)` for reports.
    pub fn label(&self) -> String {
        self.path.display().to_string()
    }

    /// The issuer a key of this set may sign for: its own `issuer` member,
    /// else the metadata document's.
    pub fn scope_of<'a>(&'a self, key: &'a Jwk) -> Option<&'a str> {
        key.issuer.as_deref().or(self.metadata_issuer.as_deref())
    }
}

/// Splits `NAME-YYYY[-MM[-DD]]` into the name and the date.
pub fn split_dated_name(stem: &str) -> (&str, Option<NaiveDate>) {
    let parts: Vec<&str> = stem.rsplitn(4, '-').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    // rsplitn gives the last part first.
    for take in [3usize, 2, 1] {
        if parts.len() <= take {
            continue;
        }
        let date_parts: Vec<&str> = parts[..take].iter().rev().copied().collect();
        let shape_ok = digits(date_parts[0], 4) && date_parts[1..].iter().all(|p| digits(p, 2));
        if !shape_ok {
            continue;
        }
        let num = |i: usize| {
            date_parts
                .get(i)
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
        };
        let year = date_parts[0].parse::<i32>().unwrap_or(0);
        if let Some(date) = NaiveDate::from_ymd_opt(year, num(1), num(2)) {
            let name_len = stem.len() - date_parts.iter().map(|p| p.len() + 1).sum::<usize>();
            return (&stem[..name_len], Some(date));
        }
    }
    (stem, None)
}

/// Every key set given on the command line (files and folders).
#[derive(Clone, Debug, Default)]
pub struct KeyStore {
    pub sets: Vec<KeySet>,
}

/// A key found for a token, with the set it came from.
#[derive(Clone, Copy, Debug)]
pub struct KeyMatch<'a> {
    pub set: &'a KeySet,
    pub key: &'a Jwk,
}

impl KeyStore {
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Adds a key set file, or every `*.jwks.json` of a folder (not
    /// recursive). A folder without one is an error: a typo must not turn
    /// into "no key known".
    pub fn add_path(&mut self, path: &Path) -> Result<(), KeyError> {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| key_error(path, format!("cannot list: {e}")))?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with(JWKS_SUFFIX))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(key_error(
                    path,
                    format!("no *{JWKS_SUFFIX} key set in this folder"),
                ));
            }
            for file in files {
                self.sets.push(KeySet::load(&file)?);
            }
            Ok(())
        } else if path.exists() {
            self.sets.push(KeySet::load(path)?);
            Ok(())
        } else {
            Err(key_error(path, "no such key set file or folder"))
        }
    }

    /// Gives every set without metadata the issuer of this document
    /// (`--openid-config`).
    pub fn attach_metadata_to_all(&mut self, path: &Path) -> Result<(), KeyError> {
        for set in &mut self.sets {
            set.attach_metadata(path)?;
        }
        Ok(())
    }

    /// The snapshots to use for a token issued at `iat`: per series, the
    /// latest not after `iat`; the earliest when all are newer (returned in
    /// the second list so the caller can say so); every undated set.
    pub fn snapshots_at(&self, iat: Option<i64>) -> (Vec<&KeySet>, Vec<&KeySet>) {
        let day = iat
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| t.date_naive());
        let mut chosen: Vec<&KeySet> = Vec::new();
        let mut newer: Vec<&KeySet> = Vec::new();
        let mut series: Vec<&str> = self.sets.iter().map(|s| s.series.as_str()).collect();
        series.sort_unstable();
        series.dedup();
        for name in series {
            let members: Vec<&KeySet> = self.sets.iter().filter(|s| s.series == name).collect();
            chosen.extend(members.iter().filter(|s| s.date.is_none()));
            let dated = members.iter().filter(|s| s.date.is_some());
            let pick = match day {
                Some(day) => dated
                    .clone()
                    .filter(|s| s.date.is_some_and(|d| d <= day))
                    .max_by_key(|s| s.date),
                None => dated.clone().max_by_key(|s| s.date),
            };
            match pick {
                Some(set) => chosen.push(set),
                None => {
                    if let Some(earliest) = dated.min_by_key(|s| s.date) {
                        newer.push(earliest);
                    }
                }
            }
        }
        (chosen, newer)
    }

    /// Keys of the given snapshots whose `kid` (or, for tokens without
    /// one, `x5t`) is the token's.
    pub fn find<'a>(
        sets: &[&'a KeySet],
        kid: Option<&str>,
        x5t: Option<&str>,
    ) -> Vec<KeyMatch<'a>> {
        let mut found = Vec::new();
        for set in sets {
            for key in &set.keys {
                let hit = match (kid, x5t) {
                    (Some(kid), _) => key.kid.as_deref() == Some(kid),
                    (None, Some(x5t)) => key.x5t.as_deref() == Some(x5t),
                    (None, None) => false,
                };
                if hit {
                    found.push(KeyMatch { set, key });
                }
            }
        }
        found
    }

    /// Whether the loaded sets speak for this issuer, so that a token of it
    /// whose key is missing is suspicious rather than merely foreign.
    pub fn covers_issuer(&self, iss: &str, tid: Option<&str>) -> bool {
        self.sets.iter().any(|set| {
            let scopes = set
                .keys
                .iter()
                .filter_map(|k| k.issuer.as_deref())
                .chain(set.metadata_issuer.as_deref());
            let mut scopes = scopes;
            scopes.any(|scope| crate::issuer::check_key_scope(scope, Some(iss), tid).is_ok())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_names() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(
            split_dated_name("msa-consumer-keys-2016"),
            ("msa-consumer-keys", d(2016, 1, 1))
        );
        assert_eq!(
            split_dated_name("entra-common-2024-10"),
            ("entra-common", d(2024, 10, 1))
        );
        assert_eq!(
            split_dated_name("x-v2-0-2025-03-09"),
            ("x-v2-0", d(2025, 3, 9))
        );
        assert_eq!(split_dated_name("abc-12-2016"), ("abc-12", d(2016, 1, 1)));
        assert_eq!(split_dated_name("keys"), ("keys", None));
        assert_eq!(split_dated_name("2016"), ("2016", None));
        assert_eq!(split_dated_name("k-2016-13-40"), ("k-2016-13-40", None));
    }

    fn set(series: &str, date: Option<&str>) -> KeySet {
        KeySet {
            path: PathBuf::from(format!("{series}-{}", date.unwrap_or("x"))),
            series: series.into(),
            date: date.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            metadata_issuer: None,
            metadata_path: None,
            keys: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn latest_snapshot_not_after_iat() {
        let store = KeyStore {
            sets: vec![
                set("a", Some("2016-01-01")),
                set("a", Some("2020-01-01")),
                set("a", Some("2024-01-01")),
                set("b", Some("2024-01-01")),
                set("c", None),
            ],
        };
        let iat_2021 = 1_609_459_200 + 86_400 * 30;
        let (chosen, newer) = store.snapshots_at(Some(iat_2021));
        let paths: Vec<String> = chosen.iter().map(|s| s.label()).collect();
        assert_eq!(paths, ["a-2020-01-01", "c-x"]);
        assert_eq!(newer.len(), 1);
        assert_eq!(newer[0].label(), "b-2024-01-01");
        let (latest, _) = store.snapshots_at(None);
        assert!(latest.iter().any(|s| s.label() == "a-2024-01-01"));
    }
}
