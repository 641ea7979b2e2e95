//! Sigma field names → the names each cloud shape uses, from
//! `data/cloud-fields.yaml` (embedded) and the user's own file.
//!
//! Resolution happens once per record, when the event is built: for every
//! Sigma name a loaded rule uses that the record lacks, the first candidate
//! the record has becomes an alias ([`Event::alias`]), so rules then read
//! it in O(1) like any field. Which aliases can matter depends on the rules
//! (the interned names), so the lookup tables (`index.rs`, by field id) are
//! built per rule set, per thread, on first use.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use serde::Deserialize;

/// The built-in mapping file.
pub const DEFAULT_CLOUD_FIELDS: &str = include_str!("../../data/cloud-fields.yaml");

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    aliases: HashMap<String, Vec<(String, Vec<String>)>>,
    #[serde(default)]
    fields: HashMap<String, Vec<String>>,
}

/// The field mappings of cloud logs (see the module documentation).
#[derive(Debug)]
pub struct FieldMap {
    /// Section (`product` or `product/service`) → (Sigma name, candidates).
    aliases: HashMap<String, Vec<(String, Vec<String>)>>,
    /// Section → field names its records have.
    fields: HashMap<String, Vec<String>>,
    /// A hash of every file text added, in order.
    fingerprint: u64,
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap::builtin()
    }
}

impl FieldMap {
    /// The embedded `data/cloud-fields.yaml`.
    pub fn builtin() -> FieldMap {
        let mut map = FieldMap {
            aliases: HashMap::new(),
            fields: HashMap::new(),
            fingerprint: 0,
        };
        // The embedded file is checked by a test; never panic on it here.
        let _ = map.extend_yaml(DEFAULT_CLOUD_FIELDS);
        map
    }

    /// Adds the entries of a mapping file (same format); its candidates are
    /// tried before those already present.
    pub fn extend_yaml(&mut self, text: &str) -> Result<(), String> {
        let file: File = parse(text)?;
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        h.write_u64(self.fingerprint);
        h.write(text.as_bytes());
        self.fingerprint = h.finish();
        for (section, entries) in file.aliases {
            let list = self
                .aliases
                .entry(section.to_ascii_lowercase())
                .or_default();
            for (sigma, candidates) in entries.into_iter().rev() {
                list.insert(0, (sigma, candidates));
            }
        }
        for (section, names) in file.fields {
            self.fields
                .entry(section.to_ascii_lowercase())
                .or_default()
                .extend(names);
        }
        Ok(())
    }

    /// Whether a Sigma field `name` exists in some shape of `product` /
    /// `service` records (for `vigie rules check`).
    pub fn knows(&self, product: &str, service: Option<&str>, name: &str) -> bool {
        let sections = sections(product, service);
        let head = name.split('.').next().unwrap_or(name);
        let stripped = ["properties.", "auditData."]
            .iter()
            .find_map(|p| name.strip_prefix(p));
        let matches = |known: &str| {
            known.eq_ignore_ascii_case(name)
                || known.eq_ignore_ascii_case(head)
                || stripped.is_some_and(|s| {
                    known.eq_ignore_ascii_case(s)
                        || known.eq_ignore_ascii_case(s.split('.').next().unwrap_or(s))
                })
        };
        sections.iter().flatten().any(|section| {
            let aliased = self.aliases.get(section).is_some_and(|list| {
                list.iter().any(|(sigma, candidates)| {
                    matches(sigma) || candidates.iter().any(|c| matches(c))
                })
            });
            aliased
                || self
                    .fields
                    .get(section)
                    .is_some_and(|list| list.iter().any(|f| matches(f)))
        })
    }

    /// Every candidate name of every section (for `register_names`).
    pub(crate) fn candidate_names(&self) -> impl Iterator<Item = &str> {
        self.aliases
            .values()
            .flatten()
            .flat_map(|(_, candidates)| candidates.iter().map(String::as_str))
    }

    /// The alias sections (lower-case name → Sigma name and candidates, in
    /// priority order).
    pub(crate) fn alias_sections(&self) -> impl Iterator<Item = (&str, &[(String, Vec<String>)])> {
        self.aliases.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Changes whenever the mapping does (names tables registered for one
    /// mapping are re-registered for another).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

fn parse(text: &str) -> Result<File, String> {
    // Sigma names are map keys in the file; keep their order.
    let raw: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("cloud field mapping: {e}"))?;
    let mut file = File::default();
    let Some(root) = raw.as_mapping() else {
        return Ok(file);
    };
    if let Some(aliases) = root.get("aliases").and_then(|v| v.as_mapping()) {
        for (section, entries) in aliases {
            let section = section
                .as_str()
                .ok_or("cloud field mapping: section names must be text")?;
            let Some(entries) = entries.as_mapping() else {
                return Err(format!(
                    "cloud field mapping: aliases.{section} must be a map"
                ));
            };
            let mut list = Vec::new();
            for (sigma, candidates) in entries {
                let sigma = sigma.as_str().ok_or_else(|| {
                    format!("cloud field mapping: aliases.{section}: a key is not text")
                })?;
                let candidates: Vec<String> = serde_yaml::from_value(candidates.clone())
                    .map_err(|e| format!("cloud field mapping: aliases.{section}.{sigma}: {e}"))?;
                list.push((sigma.to_owned(), candidates));
            }
            file.aliases.insert(section.to_owned(), list);
        }
    }
    if let Some(fields) = root.get("fields") {
        file.fields = serde_yaml::from_value(fields.clone())
            .map_err(|e| format!("cloud field mapping: fields: {e}"))?;
    }
    Ok(file)
}

/// The mapping sections a `product`/`service` record reads, most specific
/// first.
pub(crate) fn sections(product: &str, service: Option<&str>) -> [Option<String>; 2] {
    let product = product.to_ascii_lowercase();
    let specific = service.map(|s| format!("{product}/{}", s.to_ascii_lowercase()));
    [specific, Some(product)]
}
