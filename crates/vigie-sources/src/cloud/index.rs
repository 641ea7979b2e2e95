//! The cloud pass's lookups by field id instead of by name.
//!
//! Every key of a record was already looked up once in the names table when
//! the event was built ([`Event::push`] keeps the id). The cloud pass asks
//! many questions of the same keys (is it an IP field? which field does
//! `properties.X` stand for? is it a candidate for a Sigma name?); answering
//! them from tables indexed by that id, instead of rescanning and re-hashing
//! key text, is what makes the pass cheap. It requires the names the pass
//! asks about to be in the table: [`register_names`] adds them, and
//! `read_input` makes sure it has been done.

use std::cell::RefCell;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use vigie_core::{Event, FieldId, FieldNames, LogSource};

use super::fields::FieldMap;
use super::fold::EntryMemo;
use super::keys::{Layout, Roles};
use super::shape::{starts_with_ignore_case, Family};
use super::{dedup, time};

/// Key of the stamp [`register_names`] leaves in a names table.
const MARK: &str = "vigie-sources/cloud";

/// Top-level keys read by name (see [`Tops`])
/// beside the per-family lists of `time.rs` and `dedup.rs` (which
/// [`fixed_names`] reads directly). A key missing here is still found
/// ([`Top`] falls back to a scan), only more slowly.
const LITERAL_KEYS: [&str; 9] = [
    "Workload",
    "OfficeWorkload",
    "service",
    "RecordType",
    "Operation",
    "ResultStatus",
    "riskEventType",
    "properties.riskEventType",
    "correlationId",
];

/// Every top-level key the cloud pass looks up by name.
fn fixed_names() -> impl Iterator<Item = &'static str> {
    Family::ALL
        .iter()
        .flat_map(|f| time::time_fields(*f).iter().chain(dedup::id_fields(*f)))
        .copied()
        .chain(dedup::DISCRIMINATORS.iter().flat_map(|(a, b)| [*a, *b]))
        .chain(LITERAL_KEYS)
}

/// Fields that hold a client address (see `ip.rs`).
pub(crate) const IP_FIELDS: [&str; 9] = [
    "ClientIP",
    "ClientIPAddress",
    "Client_IPAddress",
    "ActorIpAddress",
    "callerIpAddress",
    "ipAddress",
    "IPAddress",
    "clientIp",
    "properties.ipAddress",
];

/// Wrappers whose fields rules name without the prefix.
const PREFIXES: [&str; 2] = ["properties.", "auditData."];

/// Adds every name the cloud pass looks up to `names`: the fixed keys, the
/// mapping's candidates, and the `properties.`/`auditData.` spelling of
/// every name already there (so that unwrapping them is a table lookup).
/// Ids already given keep their value. Call it after every other part has
/// added its names.
pub fn register_names(names: &mut FieldNames, map: &FieldMap) {
    for name in fixed_names().chain(IP_FIELDS) {
        names.intern(name);
    }
    for candidate in map.candidate_names() {
        names.intern(candidate);
    }
    let plain: Vec<String> = names
        .iter()
        .map(|(_, n)| n.to_owned())
        .filter(|n| !PREFIXES.iter().any(|p| starts_with_ignore_case(n, p)))
        .collect();
    for name in plain {
        for prefix in PREFIXES {
            names.intern(&format!("{prefix}{name}"));
        }
    }
    let stamp = stamp(names, map);
    names.set_mark(MARK, stamp);
}

/// Whether [`register_names`] was the last change to `names` for `map`.
pub fn names_ready(names: &FieldNames, map: &FieldMap) -> bool {
    names.mark(MARK) == Some(stamp(names, map))
}

fn stamp(names: &FieldNames, map: &FieldMap) -> u64 {
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    h.write_u64(map.fingerprint());
    h.write_usize(names.len());
    h.finish()
}

const NONE: u32 = u32::MAX;

/// A top-level key the pass reads by name: its id when the names table
/// has it (it does once [`register_names`] ran), else the name, found by
/// scanning the record. Resolved once per index, so that reading it costs
/// no hashing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Top {
    Id(FieldId),
    Scan(&'static str),
}

impl Top {
    fn new(names: &FieldNames, name: &'static str) -> Top {
        names.get(name).map_or(Top::Scan(name), Top::Id)
    }

    /// The first value of the key, compared without regard to case.
    #[inline]
    pub(crate) fn get(self, ev: &Event) -> Option<&str> {
        match self {
            Top::Id(id) => ev.first(id).map(|v| v.text),
            Top::Scan(name) => ev
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.text),
        }
    }
}

/// Every key the pass reads by name, resolved.
pub(crate) struct Tops {
    /// Per family (`Family as usize`): its time fields and id fields.
    pub(crate) time: Vec<Vec<Top>>,
    pub(crate) ids: Vec<Vec<Top>>,
    pub(crate) discriminators: Vec<(Top, Top)>,
    pub(crate) correlation_id: Top,
    pub(crate) workload: Top,
    pub(crate) office_workload: Top,
    pub(crate) service: Top,
    pub(crate) record_type: Top,
    pub(crate) operation: Top,
    pub(crate) result_status: Top,
    pub(crate) risk_event_type: Top,
    pub(crate) properties_risk_event_type: Top,
    /// `status`, when some detector reads it.
    pub(crate) status: Option<FieldId>,
}

impl Tops {
    fn new(names: &FieldNames) -> Tops {
        let top = |name| Top::new(names, name);
        let per_family = |fields: fn(Family) -> &'static [&'static str]| {
            Family::ALL
                .iter()
                .map(|f| fields(*f).iter().map(|n| top(n)).collect())
                .collect()
        };
        Tops {
            time: per_family(time::time_fields),
            ids: per_family(dedup::id_fields),
            discriminators: dedup::DISCRIMINATORS
                .iter()
                .map(|(a, b)| (top(a), top(b)))
                .collect(),
            correlation_id: top("correlationId"),
            workload: top("Workload"),
            office_workload: top("OfficeWorkload"),
            service: top("service"),
            record_type: top("RecordType"),
            operation: top("Operation"),
            result_status: top("ResultStatus"),
            risk_event_type: top("riskEventType"),
            properties_risk_event_type: top("properties.riskEventType"),
            status: names.get("status"),
        }
    }

    /// The keys of a family's list.
    pub(crate) fn of(list: &[Vec<Top>], family: Family) -> &[Top] {
        list.get(family as usize).map_or(&[], Vec::as_slice)
    }
}

/// Per-id answers for one (names table, mapping) pair.
pub(crate) struct CloudIndex {
    names: Arc<FieldNames>,
    map: Arc<FieldMap>,
    pub(crate) tops: Tops,
    /// Id of `properties.X` / `auditData.X` → id of `X` (or NONE).
    strip: Vec<u32>,
    /// Id → is a client-address field.
    ip: Vec<bool>,
    /// Id → is a candidate of some mapping section.
    candidate: Vec<bool>,
    /// Mapping sections by name (`m365/exchange`, `azure`).
    sections: FxHashMap<String, Section>,
    /// Logsource → the sections that apply, most specific first (a few
    /// entries; looked up by the `&'static str` identity of the names).
    by_logsource: Vec<(LogSource, [Option<usize>; 2])>,
    section_list: Vec<Section>,
    /// Per entry of `section_list`: the best candidate per slot among the
    /// fields of the plan, and the plan version it is for. Records of one
    /// input repeat their keys, so the ranking is mostly reused.
    ranked: Vec<(u64, Best)>,
    /// The key memo and the plan of the record being normalised.
    pub(crate) layout: Layout,
    /// Fields the pass added to the record (bare IPs, `status`) with
    /// their id: the plan does not cover them, but stripping and aliasing
    /// see them as they see every field.
    pub(crate) added: Vec<(usize, FieldId)>,
    /// Reused buffer of the IP clean-up.
    pub(crate) ip_text: String,
    /// Reused buffer of the dedup key.
    pub(crate) dedup_bytes: Vec<u8>,
    /// Reused buffer of the best candidate per slot of a section.
    best: Best,
    /// Memo and reused buffer of the Name/Value folding.
    pub(crate) entries: EntryMemo,
    pub(crate) folds: Vec<(FieldId, usize)>,
}

/// One section of the mapping: Sigma names and, per candidate id, the
/// slots it may fill with its rank (lower is better).
#[derive(Default, Clone)]
struct Section {
    sigma: Vec<String>,
    /// Id of each Sigma name (every one is in the names table).
    sigma_ids: Vec<FieldId>,
    candidates: FxHashMap<u32, Vec<(usize, usize)>>,
    /// The same candidates by id, flat: the (slot, rank) pairs of id `i`
    /// are `pairs[starts[i]..starts[i + 1]]`. Looked up for every key of
    /// every cloud record, so an index instead of a hash.
    starts: Vec<u32>,
    pairs: Vec<(usize, usize)>,
}

impl Section {
    /// Builds the flat table from `candidates` for ids below `ids`.
    fn flatten(&mut self, ids: usize) {
        self.starts = Vec::with_capacity(ids + 1);
        self.pairs.clear();
        for id in 0..ids {
            self.starts.push(self.pairs.len() as u32);
            if let Some(pairs) = u32::try_from(id)
                .ok()
                .and_then(|id| self.candidates.get(&id))
            {
                self.pairs.extend_from_slice(pairs);
            }
        }
        self.starts.push(self.pairs.len() as u32);
    }

    #[inline]
    fn slots_of(&self, id: FieldId) -> &[(usize, usize)] {
        let i = id.0 as usize;
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&a), Some(&b)) => self.pairs.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

impl CloudIndex {
    fn new(names: Arc<FieldNames>, map: Arc<FieldMap>) -> CloudIndex {
        let mut strip = vec![NONE; names.len()];
        let mut ip = vec![false; names.len()];
        let mut scratch = String::new();
        for (id, name) in names.iter() {
            for prefix in PREFIXES {
                if starts_with_ignore_case(name, prefix) {
                    if let Some(inner) = names.get_with(&name[prefix.len()..], &mut scratch) {
                        strip[id.0 as usize] = inner.0;
                    }
                }
            }
        }
        for name in IP_FIELDS {
            if let Some(id) = names.get(name) {
                ip[id.0 as usize] = true;
            }
        }
        let mut sections = FxHashMap::default();
        let mut candidate = vec![false; names.len()];
        for (section_name, entries) in map.alias_sections() {
            let mut section = build_section(&names, entries);
            if !section.sigma.is_empty() {
                for id in section.candidates.keys() {
                    if let Some(flag) = candidate.get_mut(*id as usize) {
                        *flag = true;
                    }
                }
                section.flatten(names.len());
                sections.insert(section_name.to_owned(), section);
            }
        }
        CloudIndex {
            tops: Tops::new(&names),
            names,
            map,
            strip,
            ip,
            candidate,
            sections,
            by_logsource: Vec::new(),
            section_list: Vec::new(),
            ranked: Vec::new(),
            layout: Layout::default(),
            added: Vec::new(),
            ip_text: String::new(),
            dedup_bytes: Vec::new(),
            best: Vec::new(),
            entries: EntryMemo::default(),
            folds: Vec::new(),
        }
    }

    /// Reads the keys of `ev` into the layout's plan (see `keys.rs`),
    /// unless the plan is already that of `ev`.
    pub(crate) fn read_keys(&mut self, ev: &Event) {
        let (ip, strip, candidate) = (&self.ip, &self.strip, &self.candidate);
        self.layout.read(ev, |id| {
            let i = id.0 as usize;
            Roles {
                ip: ip.get(i).copied().unwrap_or(false),
                strip: strip
                    .get(i)
                    .filter(|&&inner| inner != NONE)
                    .map(|&inner| FieldId(inner)),
                candidate: candidate.get(i).copied().unwrap_or(false),
            }
        });
    }

    /// `properties.x` and `auditData.x` are also `x` (when a rule uses `x`
    /// and the record has no `x` of its own): diagnostic-setting and Graph
    /// audit records nest what rules name at the top.
    pub(crate) fn strip_prefixes(&self, ev: &mut Event) {
        for &(index, inner) in &self.layout.plan.strips {
            ev.alias_id(inner, index as usize);
        }
        for &(index, id) in &self.added {
            if let Some(inner) = self.stripped(id) {
                ev.alias_id(inner, index);
            }
        }
    }

    /// The id `properties.X`/`auditData.X` stands for.
    fn stripped(&self, id: FieldId) -> Option<FieldId> {
        match self.strip.get(id.0 as usize) {
            Some(&inner) if inner != NONE => Some(FieldId(inner)),
            _ => None,
        }
    }

    /// Makes each Sigma name of the logsource's sections reachable through
    /// the best candidate the record has.
    pub(crate) fn apply_aliases(&mut self, ev: &mut Event, logsource: &LogSource) {
        let sections = self.sections_for(logsource);
        let version = self.layout.version();
        for slot in sections.into_iter().flatten() {
            let (Some(section), Some((ranked_for, ranked))) =
                (self.section_list.get(slot), self.ranked.get_mut(slot))
            else {
                continue;
            };
            if *ranked_for != version {
                ranked.clear();
                ranked.resize(section.sigma.len(), None);
                let fields = self.layout.plan.candidates.iter();
                rank(section, ranked, fields.map(|&(i, id)| (i as usize, id)));
                *ranked_for = version;
            }
            // The fields the pass added come after the record's own.
            self.best.clone_from(ranked);
            rank(section, &mut self.best, self.added.iter().copied());
            for (slot, found) in self.best.iter().enumerate() {
                if let (Some((index, _)), Some(&id)) = (found, section.sigma_ids.get(slot)) {
                    ev.alias_id(id, *index);
                }
            }
        }
    }

    fn sections_for(&mut self, ls: &LogSource) -> [Option<usize>; 2] {
        if let Some((_, found)) = self.by_logsource.iter().find(|(l, _)| l == ls) {
            return *found;
        }
        let mut found = [None, None];
        if let Some(product) = ls.product {
            for (i, name) in super::fields::sections(product, ls.service)
                .into_iter()
                .enumerate()
            {
                if let Some(section) = name.and_then(|n| self.sections.get(&n)) {
                    self.section_list.push(section.clone());
                    // No plan has this version: ranked on first use.
                    self.ranked.push((u64::MAX, Best::new()));
                    found[i] = Some(self.section_list.len() - 1);
                }
            }
        }
        self.by_logsource.push((*ls, found));
        found
    }
}

fn build_section(names: &FieldNames, entries: &[(String, Vec<String>)]) -> Section {
    let mut section = Section::default();
    // Entries seen per slot: a later entry's candidates rank after.
    let mut seen: Vec<usize> = Vec::new();
    for (sigma, candidates) in entries {
        // Only names some detector reads are worth an alias.
        if names.get(sigma).is_none() {
            continue;
        }
        // A Sigma name listed twice (user file, then built-in): one slot,
        // the user's candidates ranked first.
        let slot = match section
            .sigma
            .iter()
            .position(|s| s.eq_ignore_ascii_case(sigma))
        {
            Some(slot) => slot,
            None => {
                let Some(id) = names.get(sigma) else {
                    continue;
                };
                section.sigma.push(sigma.clone());
                section.sigma_ids.push(id);
                seen.push(0);
                section.sigma.len() - 1
            }
        };
        let base = seen[slot] * 1000;
        seen[slot] += 1;
        for (position, candidate) in candidates.iter().enumerate() {
            if let Some(id) = names.get(candidate) {
                section
                    .candidates
                    .entry(id.0)
                    .or_default()
                    .push((slot, base + position));
            }
        }
    }
    section
}

/// The best candidate per slot of a section: (field index, rank).
type Best = Vec<Option<(usize, usize)>>;

/// Ranks `fields` (field index, id; in field order) into `best`: a field
/// replaces a slot's candidate when its rank is lower (so the first of
/// equal rank stays).
fn rank(section: &Section, best: &mut Best, fields: impl Iterator<Item = (usize, FieldId)>) {
    for (index, id) in fields {
        for &(slot, rank) in section.slots_of(id) {
            let Some(cell) = best.get_mut(slot) else {
                continue;
            };
            let better = match *cell {
                Some((_, have)) => rank < have,
                None => true,
            };
            if better {
                *cell = Some((index, rank));
            }
        }
    }
}

thread_local! {
    static INDEX: RefCell<Option<CloudIndex>> = const { RefCell::new(None) };
}

/// Runs `f` with `ev` and this thread's index for `ev`'s names table and
/// `map`, building the index on first use.
pub(crate) fn with_index<R>(
    ev: &mut Event,
    map: &Arc<FieldMap>,
    f: impl FnOnce(&mut Event, &mut CloudIndex) -> R,
) -> R {
    INDEX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let index = ready(&mut slot, ev.names(), map);
        f(ev, index)
    })
}

/// The index in `slot`, (re)built unless it is for `names` and `map`.
fn ready<'a>(
    slot: &'a mut Option<CloudIndex>,
    names: &Arc<FieldNames>,
    map: &Arc<FieldMap>,
) -> &'a mut CloudIndex {
    let fresh =
        !matches!(&*slot, Some(i) if Arc::ptr_eq(&i.map, map) && Arc::ptr_eq(&i.names, names));
    if fresh {
        *slot = None;
    }
    slot.get_or_insert_with(|| CloudIndex::new(names.clone(), map.clone()))
}
