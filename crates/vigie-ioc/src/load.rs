//! Loading feeds: files, folders and the built-in pack, with the format
//! sniffed from the content; every bad indicator is reported, the rest
//! loads.

use std::path::Path;

use crate::index::IocIndex;
use crate::indicator::Indicator;

/// The name that stands for the built-in pack on the command line.
pub const BUILTIN: &str = "builtin";

/// The built-in pack: (file name under `packs/`, content).
pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    ("storm-0558.csv", include_str!("../packs/storm-0558.csv")),
    (
        "volt-typhoon.csv",
        include_str!("../packs/volt-typhoon.csv"),
    ),
];

/// Folders are read this deep at most (guards against link loops).
const MAX_DEPTH: usize = 16;

/// One indicator (or file) that could not be used, and why.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The file, or `builtin:NAME`.
    pub file: String,
    /// The indicator id, or `line N`, or empty for the whole file.
    pub at: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.file, self.at, self.reason)
        }
    }
}

/// What loading found.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Feed files read.
    pub files: usize,
    /// Indicators that are not meant for detection (MISP `to_ids` false,
    /// STIX `revoked`), left out on purpose.
    pub skipped: usize,
    /// Indicators that could not be used.
    pub bad: Vec<Problem>,
    /// Files that could not be read at all.
    pub errors: Vec<Problem>,
}

/// A feed: one file of indicators.
#[derive(Clone, Debug)]
pub struct Feed {
    /// Short name used in alerts: the file stem, or `builtin:NAME`.
    pub name: String,
    /// Where it came from (path).
    pub origin: String,
}

/// Feeds being loaded; [`FeedSet::into_index`] freezes them for matching.
#[derive(Default)]
pub struct FeedSet {
    pub feeds: Vec<Feed>,
    pub indicators: Vec<Indicator>,
    pub report: LoadReport,
}

/// What a format parser writes into while reading one feed.
pub struct FeedCtx<'a> {
    pub feed: u32,
    /// The feed's short name (ids of indicators that have none derive
    /// from it).
    pub name: &'a str,
    pub origin: &'a str,
    pub indicators: &'a mut Vec<Indicator>,
    pub report: &'a mut LoadReport,
}

impl FeedCtx<'_> {
    pub fn bad(&mut self, at: impl Into<String>, reason: impl Into<String>) {
        self.report.bad.push(Problem {
            file: self.origin.to_owned(),
            at: at.into(),
            reason: reason.into(),
        });
    }

    pub fn push(&mut self, mut indicator: Indicator) {
        indicator.feed = self.feed;
        self.indicators.push(indicator);
    }
}

impl FeedSet {
    pub fn new() -> FeedSet {
        FeedSet::default()
    }

    /// Loads `builtin`, a feed file, or every feed file under a folder
    /// (`.json`, `.csv`, `.tsv`, `.txt`).
    pub fn add_path(&mut self, path: &Path) {
        if path.as_os_str() == BUILTIN {
            self.add_builtin();
        } else if path.is_dir() {
            let mut files = Vec::new();
            collect(path, &mut files, 0);
            files.sort();
            for file in files {
                self.add_file(&file);
            }
        } else {
            self.add_file(path);
        }
    }

    /// Loads the built-in pack.
    pub fn add_builtin(&mut self) {
        for (name, text) in BUILTIN_PACKS {
            let stem = name.rsplit_once('.').map_or(*name, |(s, _)| s);
            self.add_text(&format!("builtin:{stem}"), &format!("builtin:{name}"), text);
        }
    }

    fn add_file(&mut self, path: &Path) {
        let origin = path.display().to_string();
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => return self.file_error(&origin, "file is not UTF-8 text"),
            },
            Err(e) => return self.file_error(&origin, &format!("cannot read: {e}")),
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| origin.clone());
        self.add_text(&name, &origin, &text);
    }

    fn file_error(&mut self, origin: &str, reason: &str) {
        self.report.errors.push(Problem {
            file: origin.to_owned(),
            at: String::new(),
            reason: reason.to_owned(),
        });
    }

    /// Loads one feed's text; the format is sniffed from the content:
    /// JSON is a STIX bundle or a MISP event, anything else a CSV or list.
    pub fn add_text(&mut self, name: &str, origin: &str, text: &str) {
        self.report.files += 1;
        let feed = self.feeds.len() as u32;
        self.feeds.push(Feed {
            name: name.to_owned(),
            origin: origin.to_owned(),
        });
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let before = self.report.bad.len();
        let mut ctx = FeedCtx {
            feed,
            name,
            origin,
            indicators: &mut self.indicators,
            report: &mut self.report,
        };
        let trimmed = text.trim_start();
        let result = if trimmed.starts_with('{') || trimmed.starts_with('[') {
            load_json(text, &mut ctx)
        } else {
            crate::list::load(text, &mut ctx);
            Ok(())
        };
        if let Err(reason) = result {
            self.report.bad.truncate(before);
            self.file_error(origin, &reason);
        }
    }

    /// Freezes the feeds into an index.
    pub fn into_index(self) -> (IocIndex, Vec<Feed>, LoadReport) {
        (IocIndex::new(self.indicators), self.feeds, self.report)
    }
}

fn load_json(text: &str, ctx: &mut FeedCtx<'_>) -> Result<(), String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    if crate::misp::looks_like_misp(&doc) {
        crate::misp::load(&doc, ctx);
        Ok(())
    } else if crate::stix::looks_like_stix(&doc) {
        crate::stix::load(&doc, ctx);
        Ok(())
    } else {
        Err("JSON that is neither a STIX 2.1 bundle/indicator nor a MISP event".into())
    }
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect(&path, out, depth + 1);
        } else if matches!(
            path.extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .as_deref(),
            Some("json" | "csv" | "tsv" | "txt")
        ) {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_loads_without_problems() {
        let mut set = FeedSet::new();
        set.add_builtin();
        assert!(set.report.bad.is_empty(), "{:?}", set.report.bad);
        assert!(set.report.errors.is_empty(), "{:?}", set.report.errors);
        assert!(set.indicators.len() >= 3);
        for ind in &set.indicators {
            assert!(!ind.references.is_empty(), "{} cites no source", ind.id);
            assert!(
                ind.references.iter().all(|r| r.starts_with("https://")),
                "{}",
                ind.id
            );
        }
    }

    #[test]
    fn a_folder_loads_each_feed_and_reports_unreadable_json() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "evil.example\n10.0.0.0/8\n").unwrap();
        std::fs::write(dir.path().join("b.json"), "{not json").unwrap();
        std::fs::write(dir.path().join("README.md"), "ignored").unwrap();
        let mut set = FeedSet::new();
        set.add_path(dir.path());
        assert_eq!(set.indicators.len(), 2);
        assert_eq!(set.report.errors.len(), 1);
        assert!(set.report.errors[0].file.ends_with("b.json"));
        assert!(set.report.errors[0].reason.contains("invalid JSON"));
        assert_eq!(set.feeds.len(), 2);
    }
}
