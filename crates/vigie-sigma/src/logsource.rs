//! Logsource routing: which rules an event meets.
//!
//! Windows rules name a Sigma category or service; the mapping file
//! (`data/logsources.yaml`, data not code) says which channels and EventIDs
//! hold such events and how field names differ there. Rules are grouped by
//! (channel, EventID) so an event only meets the rules of its log.

use rustc_hash::FxHashMap;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};

use vigie_core::{well_known, Event, EventKind, FieldId, FieldNames, LogSource};

use crate::compile::Detection;
use crate::index::CandidateIndex;
use crate::rule::CompiledRule;

/// The default mapping, embedded.
pub const DEFAULT_MAPPING: &str = include_str!("../data/logsources.yaml");

#[derive(Debug, Deserialize, Default)]
pub struct LogsourceMap {
    #[serde(default)]
    pub windows: WindowsMap,
    /// `product/service` → the wider `product/service`s its records also
    /// belong to (`m365/exchange` → `m365/audit`).
    #[serde(default)]
    pub also: FxHashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
pub struct WindowsMap {
    /// Sigma service → channel names.
    #[serde(default)]
    pub services: FxHashMap<String, Vec<String>>,
    /// Sigma category → places such events are found.
    #[serde(default)]
    pub categories: FxHashMap<String, Vec<Place>>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Place {
    pub service: String,
    #[serde(default)]
    pub event_ids: Vec<u32>,
    /// Sigma field name → the name this log uses.
    #[serde(default)]
    pub fields: FxHashMap<String, String>,
    /// Field equals value (case-insensitive) conditions.
    #[serde(default)]
    pub conditions: FxHashMap<String, String>,
}

impl LogsourceMap {
    pub fn parse(text: &str) -> Result<LogsourceMap, String> {
        serde_yaml::from_str(text).map_err(|e| format!("logsource mapping: {e}"))
    }

    pub fn default_map() -> LogsourceMap {
        // The embedded file is tested; fall back to empty rather than panic.
        Self::parse(DEFAULT_MAPPING).unwrap_or_default()
    }

    /// Merges `other` into self; its entries win.
    pub fn extend(&mut self, other: LogsourceMap) {
        self.windows.services.extend(other.windows.services);
        self.windows.categories.extend(other.windows.categories);
        self.also.extend(other.also);
    }
}

/// A rule's logsource as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleLogsource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

/// Sigma field id → the id this log uses for it.
pub type Remap = FxHashMap<FieldId, FieldId>;

#[derive(Default)]
struct Group {
    rules: Vec<u32>,
    remap: Option<FxHashMap<FieldId, FieldId>>,
    conditions: Vec<(FieldId, String)>,
    index: Option<CandidateIndex>,
}

/// What a route hands the matcher: its rules (global indices), its field
/// renames and its candidate index.
#[derive(Clone, Copy)]
pub struct Route<'a> {
    pub group: u32,
    pub rules: &'a [u32],
    pub remap: Option<&'a Remap>,
    pub index: Option<&'a CandidateIndex>,
}

/// Routes with fewer rules than this are evaluated without an index.
const INDEX_THRESHOLD: usize = 1;

#[derive(Default)]
struct ChannelRoutes {
    by_event_id: FxHashMap<u32, Vec<u32>>,
    any: Vec<u32>,
}

/// Rules grouped by where their events live.
#[derive(Default)]
pub struct Router {
    groups: Vec<Group>,
    group_keys: FxHashMap<String, u32>,
    channels: FxHashMap<String, ChannelRoutes>,
    windows_any: Vec<u32>,
    generic: Vec<(RuleLogsource, u32)>,
    /// (product, service) → wider services of the same product its records
    /// also belong to (from [`LogsourceMap::also`]), lower case.
    also: Vec<(String, String, Vec<String>)>,
    /// Changes with every rule added, so that a [`RouteMemo`] knows which
    /// router (in which state) it remembers.
    stamp: u64,
}

/// Source of router stamps.
static NEXT_ROUTER_STAMP: AtomicU64 = AtomicU64::new(1);

/// The generic routes whose product, category and service the last
/// logsource fitted. Records of one input share their logsource, and
/// checking every generic route (case-insensitive string comparisons, the
/// wider services) cost about a thousand instructions per cloud record.
/// One per thread.
#[derive(Default)]
pub struct RouteMemo {
    router: u64,
    logsource: Option<LogSource>,
    groups: Vec<u32>,
}

impl RouteMemo {
    /// Whether the memo holds the routes of `logsource` under `router`.
    /// Logsource names are static strings, compared by address: equal
    /// addresses mean equal names (unequal ones only cost a recomputation).
    fn holds(&self, router: u64, logsource: &LogSource) -> bool {
        let same = |a: Option<&'static str>, b: Option<&'static str>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            _ => false,
        };
        self.router == router
            && self.logsource.is_some_and(|m| {
                same(m.product, logsource.product)
                    && same(m.category, logsource.category)
                    && same(m.service, logsource.service)
            })
    }
}

impl Router {
    fn group(&mut self, key: String) -> (u32, bool) {
        if let Some(g) = self.group_keys.get(&key) {
            return (*g, false);
        }
        let g = self.groups.len() as u32;
        self.groups.push(Group::default());
        self.group_keys.insert(key, g);
        (g, true)
    }

    /// Routes rule `rule`. Returns an error when a Windows rule's logsource
    /// is not in the mapping (the rule then meets no event).
    pub fn add(
        &mut self,
        rule: u32,
        ls: &RuleLogsource,
        map: &LogsourceMap,
        names: &mut FieldNames,
    ) -> Result<(), String> {
        self.stamp = NEXT_ROUTER_STAMP.fetch_add(1, Ordering::Relaxed);
        let is_windows = ls.product.as_deref() == Some("windows");
        if self.also.is_empty() && !map.also.is_empty() {
            self.also = parse_also(&map.also);
        }
        if !is_windows {
            let key = format!("generic:{:?}", ls);
            let (g, new) = self.group(key);
            if new {
                self.generic.push((ls.clone(), g));
            }
            self.groups[g as usize].rules.push(rule);
            return Ok(());
        }
        let win = &map.windows;
        match (&ls.category, &ls.service) {
            (Some(category), service) => {
                let places = win.categories.get(category).ok_or_else(|| {
                    format!("logsource category '{category}' is not mapped to Windows channels")
                })?;
                let mut routed = false;
                for (i, place) in places.iter().enumerate() {
                    if service.as_ref().is_some_and(|s| *s != place.service) {
                        continue;
                    }
                    let Some(channels) = win.services.get(&place.service) else {
                        continue;
                    };
                    let (g, new) = self.group(format!("category:{category}#{i}"));
                    if new {
                        let group = &mut self.groups[g as usize];
                        if !place.fields.is_empty() {
                            group.remap = Some(
                                place
                                    .fields
                                    .iter()
                                    .map(|(sigma, log)| (names.intern(sigma), names.intern(log)))
                                    .collect(),
                            );
                        }
                        group.conditions = place
                            .conditions
                            .iter()
                            .map(|(f, v)| (names.intern(f), v.to_lowercase()))
                            .collect();
                        for channel in channels {
                            let routes = self.channels.entry(channel.to_lowercase()).or_default();
                            if place.event_ids.is_empty() {
                                routes.any.push(g);
                            } else {
                                for eid in &place.event_ids {
                                    routes.by_event_id.entry(*eid).or_default().push(g);
                                }
                            }
                        }
                    }
                    self.groups[g as usize].rules.push(rule);
                    routed = true;
                }
                if !routed {
                    return Err(format!(
                        "logsource category '{category}' has no Windows channel for service {service:?}"
                    ));
                }
            }
            (None, Some(service)) => {
                let channels = win.services.get(service).ok_or_else(|| {
                    format!("logsource service '{service}' is not mapped to a Windows channel")
                })?;
                let (g, new) = self.group(format!("service:{service}"));
                if new {
                    for channel in channels {
                        self.channels
                            .entry(channel.to_lowercase())
                            .or_default()
                            .any
                            .push(g);
                    }
                }
                self.groups[g as usize].rules.push(rule);
            }
            (None, None) => {
                let (g, new) = self.group("windows".into());
                if new {
                    self.windows_any.push(g);
                }
                self.groups[g as usize].rules.push(rule);
            }
        }
        Ok(())
    }

    /// The field renames of a group.
    /// The wider services a record of `product/service` also belongs to.
    fn wider_services(&self, product: Option<&str>, service: Option<&str>) -> &[String] {
        let (Some(product), Some(service)) = (product, service) else {
            return &[];
        };
        self.also
            .iter()
            .find(|(p, s, _)| p.eq_ignore_ascii_case(product) && s.eq_ignore_ascii_case(service))
            .map_or(&[], |(_, _, wider)| wider.as_slice())
    }

    pub fn remap(&self, group: u32) -> Option<&FxHashMap<FieldId, FieldId>> {
        self.groups.get(group as usize)?.remap.as_ref()
    }

    /// Builds the candidate index of every route large enough to need one.
    pub fn build_indexes(&mut self, rules: &[CompiledRule]) {
        use rayon::prelude::*;
        // Routes are independent: build their automata on all cores.
        self.groups.par_iter_mut().for_each(|group| {
            if group.rules.len() >= INDEX_THRESHOLD {
                let detections: Vec<&Detection> = group
                    .rules
                    .iter()
                    .map(|r| &rules[*r as usize].detection)
                    .collect();
                let index = CandidateIndex::build(&detections);
                if std::env::var_os("VIGIE_DEBUG_INDEX").is_some() {
                    for local in index.always() {
                        let r = group.rules[*local as usize];
                        eprintln!(
                            "always: {} ({})",
                            rules[r as usize].meta.title, rules[r as usize].meta.origin
                        );
                    }
                }
                group.index = Some(index);
            }
        });
    }

    /// The generic routes whose product, category and service `ls` fits.
    fn generic_groups<'a>(&'a self, ls: &'a LogSource) -> impl Iterator<Item = u32> + 'a {
        let wider = self.wider_services(ls.product, ls.service);
        self.generic.iter().filter_map(move |(spec, g)| {
            let fits = |want: &Option<String>, have: Option<&str>| match want {
                None => true,
                Some(w) => have.is_some_and(|h| h.eq_ignore_ascii_case(w)),
            };
            let service_fits = fits(&spec.service, ls.service)
                || spec
                    .service
                    .as_ref()
                    .is_some_and(|w| wider.iter().any(|s| s.eq_ignore_ascii_case(w)));
            (fits(&spec.product, ls.product) && fits(&spec.category, ls.category) && service_fits)
                .then_some(*g)
        })
    }

    /// Calls `f(route)` for each route whose rules the event meets.
    /// `memo` is the calling thread's.
    pub fn for_each_route<'a>(
        &'a self,
        event: &Event,
        memo: &mut RouteMemo,
        mut f: impl FnMut(Route<'a>),
    ) {
        let visit = |g: u32, f: &mut dyn FnMut(Route<'a>)| {
            let group = &self.groups[g as usize];
            let ok = group
                .conditions
                .iter()
                .all(|(field, want)| event.values(*field).any(|v| v.lower == want.as_str()));
            if ok {
                f(Route {
                    group: g,
                    rules: &group.rules,
                    remap: group.remap.as_ref(),
                    index: group.index.as_ref(),
                });
            }
        };
        match event.kind {
            EventKind::Windows => {
                if let Some(channel) = event.first(well_known::CHANNEL) {
                    if let Some(routes) = self.channels.get(channel.lower) {
                        let eid = event
                            .first(well_known::EVENT_ID)
                            .and_then(|v| v.text.trim().parse::<u32>().ok());
                        if let Some(list) = eid.and_then(|e| routes.by_event_id.get(&e)) {
                            for g in list {
                                visit(*g, &mut f);
                            }
                        }
                        for g in &routes.any {
                            visit(*g, &mut f);
                        }
                    }
                }
                for g in &self.windows_any {
                    visit(*g, &mut f);
                }
            }
            EventKind::Generic => {
                let ls = &event.logsource;
                if !memo.holds(self.stamp, ls) {
                    memo.groups.clear();
                    memo.groups.extend(self.generic_groups(ls));
                    memo.router = self.stamp;
                    memo.logsource = Some(*ls);
                }
                for g in &memo.groups {
                    visit(*g, &mut f);
                }
            }
        }
    }
}

/// `product/service` → wider services of the same product (entries naming
/// another product are ignored: a record has one product).
fn parse_also(also: &FxHashMap<String, Vec<String>>) -> Vec<(String, String, Vec<String>)> {
    let mut out: Vec<(String, String, Vec<String>)> = also
        .iter()
        .filter_map(|(key, wider)| {
            let (product, service) = key.split_once('/')?;
            let product = product.trim().to_ascii_lowercase();
            let services = wider
                .iter()
                .filter_map(|w| {
                    let (p, s) = w.split_once('/')?;
                    (p.trim().eq_ignore_ascii_case(&product)).then(|| s.trim().to_ascii_lowercase())
                })
                .collect();
            Some((product, service.trim().to_ascii_lowercase(), services))
        })
        .collect();
    // Deterministic order whatever the map's.
    out.sort();
    out
}
