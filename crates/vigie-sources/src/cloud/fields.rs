//! Sigma field names → the names each cloud shape uses, from
//! `data/cloud-fields.yaml` (embedded) and the user's own file.
//!
//! Resolution happens once per record, when the event is built: for every
//! Sigma name a loaded rule uses that the record lacks, the first candidate
//! the record has becomes an alias ([`Event::alias`]), so rules then read
//! it in O(1) like any field. Which aliases can matter depends on the rules
//! (the interned names), so the lookup tables are built per rule set, per
//! thread, on first use.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use vigie_core::{Event, FieldNames, LogSource};

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
        };
        // The embedded file is checked by a test; never panic on it here.
        let _ = map.extend_yaml(DEFAULT_CLOUD_FIELDS);
        map
    }

    /// Adds the entries of a mapping file (same format); its candidates are
    /// tried before those already present.
    pub fn extend_yaml(&mut self, text: &str) -> Result<(), String> {
        let file: File = parse(text)?;
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

    /// Makes Sigma's names reachable in a cloud event (see the module
    /// documentation).
    pub(crate) fn apply(self: &Arc<Self>, ev: &mut Event, logsource: &LogSource) {
        strip_prefixes(ev);
        let Some(product) = logsource.product else {
            return;
        };
        TABLES.with(|cell| {
            let mut tables = cell.borrow_mut();
            let fresh = !matches!(&*tables, Some(t) if Arc::ptr_eq(&t.map, self) && Arc::ptr_eq(&t.names, ev.names()));
            if fresh {
                *tables = Some(Tables::new(self.clone(), ev.names().clone()));
            }
            if let Some(tables) = &mut *tables {
                tables.apply(ev, product, logsource.service);
            }
        });
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

fn sections(product: &str, service: Option<&str>) -> [Option<String>; 2] {
    let product = product.to_ascii_lowercase();
    let specific = service.map(|s| format!("{product}/{}", s.to_ascii_lowercase()));
    [specific, Some(product)]
}

/// `properties.x` and `auditData.x` are also `x` (when a rule uses `x` and
/// the record has no `x` of its own).
fn strip_prefixes(ev: &mut Event) {
    let names = ev.names().clone();
    let mut scratch = String::new();
    let mut found: Vec<(usize, usize)> = Vec::new();
    for (index, (key, _)) in ev.iter().enumerate() {
        let prefix = if key.len() > 11 && key.as_bytes()[..11].eq_ignore_ascii_case(b"properties.")
        {
            11
        } else if key.starts_with("auditData.") {
            10
        } else {
            continue;
        };
        if names.get_with(&key[prefix..], &mut scratch).is_some() {
            found.push((index, prefix));
        }
    }
    if found.is_empty() {
        return;
    }
    let keys: Vec<(String, usize)> = found
        .iter()
        .filter_map(|&(index, prefix)| {
            let key = ev.iter().nth(index)?.0;
            Some((key[prefix..].to_owned(), index))
        })
        .collect();
    for (alias, index) in keys {
        ev.alias(&alias, index);
    }
}

thread_local! {
    static TABLES: RefCell<Option<Tables>> = const { RefCell::new(None) };
}

/// The aliases that matter for one rule set, ready for one pass per event.
struct Tables {
    map: Arc<FieldMap>,
    names: Arc<FieldNames>,
    by_section: FxHashMap<String, Section>,
}

#[derive(Default)]
struct Section {
    /// Sigma names some rule uses (index = slot).
    sigma: Vec<String>,
    /// Lower-cased candidate → (slot, rank), rank 0 best.
    candidates: FxHashMap<String, Vec<(usize, usize)>>,
}

impl Tables {
    fn new(map: Arc<FieldMap>, names: Arc<FieldNames>) -> Tables {
        let mut by_section: FxHashMap<String, Section> = FxHashMap::default();
        for (section_name, entries) in &map.aliases {
            let mut section = Section::default();
            // Entries seen per slot: a later entry's candidates rank after.
            let mut seen: Vec<usize> = Vec::new();
            for (sigma, candidates) in entries {
                if names.get(sigma).is_none() {
                    continue;
                }
                // A Sigma name listed twice (user file, then built-in):
                // one slot, the user's candidates ranked first.
                let slot = match section
                    .sigma
                    .iter()
                    .position(|s| s.eq_ignore_ascii_case(sigma))
                {
                    Some(slot) => slot,
                    None => {
                        section.sigma.push(sigma.clone());
                        seen.push(0);
                        section.sigma.len() - 1
                    }
                };
                let base = seen[slot] * 1000;
                seen[slot] += 1;
                for (position, candidate) in candidates.iter().enumerate() {
                    section
                        .candidates
                        .entry(candidate.to_ascii_lowercase())
                        .or_default()
                        .push((slot, base + position));
                }
            }
            if !section.sigma.is_empty() {
                by_section.insert(section_name.clone(), section);
            }
        }
        Tables {
            map,
            names,
            by_section,
        }
    }

    fn apply(&mut self, ev: &mut Event, product: &str, service: Option<&str>) {
        for section in sections(product, service).into_iter().flatten() {
            if let Some(section) = self.by_section.get(&section) {
                apply_section(section, ev);
            }
        }
    }
}

fn apply_section(section: &Section, ev: &mut Event) {
    let mut best: Vec<Option<(usize, usize)>> = vec![None; section.sigma.len()];
    let mut lower = String::new();
    for (index, (key, _)) in ev.iter().enumerate() {
        lower.clear();
        lower.push_str(key);
        lower.make_ascii_lowercase();
        let Some(slots) = section.candidates.get(lower.as_str()) else {
            continue;
        };
        for &(slot, rank) in slots {
            let better = match best[slot] {
                Some((_, have)) => rank < have,
                None => true,
            };
            if better {
                best[slot] = Some((index, rank));
            }
        }
    }
    for (slot, found) in best.into_iter().enumerate() {
        if let Some((index, _)) = found {
            ev.alias(&section.sigma[slot], index);
        }
    }
}
