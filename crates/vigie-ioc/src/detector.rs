//! Matching events against the index: the `Detector` of IOC feeds.
//!
//! Per event, the detector reads only the fields the field table names for
//! the types that are loaded (an O(1) lookup each), normalises each value
//! once by borrowing it (the event already holds a lower-cased copy), and
//! looks it up. An event that matches nothing allocates nothing: the hit
//! list is only allocated on the first hit.

use std::sync::Arc;

use vigie_core::{Alert, Detector, Event, FieldId, FieldNames, RuleMeta, ValueRef};

use crate::fields::FieldTable;
use crate::index::{AtomRef, IocIndex};
use crate::indicator::{Indicator, IocType};
use crate::load::Feed;
use crate::normalize::{account_short, basename, host, parse_ip, url, url_host};

#[derive(Clone, Copy, Debug, Default)]
pub struct IocOptions {
    /// Also search every string field for every textual indicator
    /// (Aho-Corasick, at word boundaries).
    pub any_field: bool,
}

/// IOC feeds as a pipeline detector.
pub struct IocDetector {
    index: IocIndex,
    feeds: Vec<Feed>,
    /// (type, field) pairs worth reading for the loaded indicators.
    fields: Vec<(IocType, FieldId)>,
}

/// One atom found in one field value.
struct Hit<'e> {
    atom: AtomRef,
    field: &'e str,
    value: &'e str,
}

impl IocDetector {
    /// Prepares matching: interns the field table's names in `names` (the
    /// table events are built with) and keeps the fields of loaded types.
    pub fn new(
        mut index: IocIndex,
        feeds: Vec<Feed>,
        table: &FieldTable,
        names: &mut FieldNames,
        options: IocOptions,
    ) -> Result<IocDetector, String> {
        if options.any_field {
            index.enable_any_field()?;
        }
        let has = |t| index.has_type(t);
        let mut fields = Vec::new();
        for ty in IocType::ALL {
            let wanted = match ty {
                // Host names may be IPs; URLs and addresses carry hosts.
                IocType::Domain => has(IocType::Domain) || has(IocType::Ip),
                IocType::Url => has(IocType::Url) || has(IocType::Domain) || has(IocType::Ip),
                IocType::Email => has(IocType::Email) || has(IocType::Domain),
                other => has(other),
            };
            if wanted {
                for name in table.fields_of(ty) {
                    let id = names.intern(name);
                    if !fields.contains(&(ty, id)) {
                        fields.push((ty, id));
                    }
                }
            }
        }
        Ok(IocDetector {
            index,
            feeds,
            fields,
        })
    }

    pub fn index(&self) -> &IocIndex {
        &self.index
    }

    fn feed_name(&self, ind: &Indicator) -> &str {
        self.feeds
            .get(ind.feed as usize)
            .map_or("", |f| f.name.as_str())
    }

    /// Looks one value of a field of type `ty` up.
    fn match_value(&self, ty: IocType, v: ValueRef<'_>, found: &mut dyn FnMut(AtomRef)) {
        let idx = &self.index;
        let lower = v.lower.trim();
        if lower.is_empty() || lower == "-" {
            return;
        }
        match ty {
            IocType::Ip => match parse_ip(lower) {
                Some(ip) => idx.lookup_ip(ip, found),
                // Lists: Sysmon DNS `QueryResults`, comma-separated IPs.
                None if lower.contains([';', ',', ' ']) => {
                    for part in lower.split([';', ',', ' ']) {
                        if let Some(ip) = parse_ip(part) {
                            idx.lookup_ip(ip, found);
                        }
                    }
                }
                None => {}
            },
            IocType::Domain => self.match_host(host(lower), found),
            IocType::Url => {
                let u = url(lower);
                idx.lookup_text(IocType::Url, u, found);
                if u.contains("://") {
                    self.match_host(url_host(u), found);
                }
            }
            IocType::Email => {
                for address in lower.split([';', ',', ' ']).filter(|a| a.contains('@')) {
                    let address = address.trim_matches(['<', '>', '"']);
                    idx.lookup_text(IocType::Email, address, found);
                    if let Some((_, domain)) = address.rsplit_once('@') {
                        idx.lookup_domain(domain, found);
                    }
                }
            }
            IocType::Hash => {
                // Sysmon: `SHA1=…,MD5=…,SHA256=…,IMPHASH=…`.
                for part in lower.split(',') {
                    let digest = part.rsplit_once('=').map_or(part, |(_, d)| d).trim();
                    idx.lookup_text(IocType::Hash, digest, found);
                }
            }
            IocType::FileName => idx.lookup_text(IocType::FileName, basename(lower), found),
            IocType::User => {
                idx.lookup_text(IocType::User, lower, found);
                if let Some(short) = account_short(lower) {
                    idx.lookup_text(IocType::User, short, found);
                }
            }
            // Key ids are base64url: compare the text as written.
            IocType::KeyId => idx.lookup_text(IocType::KeyId, v.text.trim(), found),
            IocType::AppId | IocType::TenantId => {
                idx.lookup_text(ty, lower.trim_matches(['{', '}']), found)
            }
            IocType::UserAgent | IocType::Thumbprint => idx.lookup_text(ty, lower, found),
        }
    }

    fn match_host(&self, host: &str, found: &mut dyn FnMut(AtomRef)) {
        match parse_ip(host) {
            Some(ip) => self.index.lookup_ip(ip, found),
            None => self.index.lookup_domain(host, found),
        }
    }

    /// Turns the hits of one event into alerts: one per indicator whose
    /// every atom of some alternative was seen, within its validity.
    fn report(&self, event: &Event, mut hits: Vec<Hit<'_>>, emit: &mut dyn FnMut(Alert)) {
        hits.sort_by(|a, b| a.atom.cmp(&b.atom).then(a.field.cmp(b.field)));
        let mut start = 0;
        while start < hits.len() {
            let indicator = hits[start].atom.indicator;
            let end = start
                + hits[start..]
                    .iter()
                    .take_while(|h| h.atom.indicator == indicator)
                    .count();
            let group = &hits[start..end];
            start = end;
            let Some(ind) = self.index.indicator(indicator) else {
                continue;
            };
            if !ind.valid_at(event.timestamp) {
                continue;
            }
            let satisfied = |alt: u16| {
                let need = ind.any_of.get(alt as usize).map_or(usize::MAX, Vec::len);
                let mut atoms: Vec<u16> = group
                    .iter()
                    .filter(|h| h.atom.alt == alt)
                    .map(|h| h.atom.atom)
                    .collect();
                atoms.dedup();
                atoms.len() == need
            };
            let Some(alt) = group.iter().map(|h| h.atom.alt).find(|a| satisfied(*a)) else {
                continue;
            };
            let mut evidence: Vec<(String, String)> = Vec::new();
            for h in group.iter().filter(|h| h.atom.alt == alt) {
                let pair = (h.field.to_owned(), h.value.to_owned());
                if !evidence.contains(&pair) {
                    evidence.push(pair);
                }
            }
            emit(Alert::for_event(self.rule_meta(ind, alt), event, evidence));
        }
    }

    /// The rule an indicator stands for. Built per alert, not per
    /// indicator: a million indicators need no million rule records.
    fn rule_meta(&self, ind: &Indicator, alt: u16) -> Arc<RuleMeta> {
        let feed = self.feed_name(ind);
        let (ty, value) = ind
            .any_of
            .get(alt as usize)
            .map(|atoms| {
                let types: Vec<&str> = atoms.iter().map(|a| a.ty().as_str()).collect();
                let values: Vec<String> = atoms.iter().map(|a| a.display()).collect();
                (types.join("+"), values.join(" + "))
            })
            .unwrap_or_default();
        let confidence = ind
            .confidence
            .map_or_else(|| "unknown".to_owned(), |c| c.to_string());
        let mut description = ind.description.to_string();
        if !description.is_empty() {
            description.push(' ');
        }
        description.push_str(&format!("(feed {feed}, confidence {confidence})"));
        let mut tags: Vec<String> = ind.tags.iter().map(|t| t.to_string()).collect();
        tags.push(format!("ioc.{}", ty.replace('+', ".")));
        Arc::new(RuleMeta {
            id: ind.id.to_string(),
            title: format!("IOC match: {ty} {value} ({feed})"),
            level: ind.alert_level(),
            tags,
            description,
            references: ind.references.iter().map(|r| r.to_string()).collect(),
            author: feed.to_owned(),
            origin: self
                .feeds
                .get(ind.feed as usize)
                .map_or_else(String::new, |f| format!("ioc:{}", f.origin)),
            internal: false,
        })
    }
}

impl Detector for IocDetector {
    fn name(&self) -> &str {
        "ioc"
    }

    fn detect(&self, event: &Event, emit: &mut dyn FnMut(Alert)) {
        let names = event.names();
        let mut hits: Vec<Hit<'_>> = Vec::new();
        for (ty, id) in &self.fields {
            for v in event.values(*id) {
                self.match_value(*ty, v, &mut |atom| {
                    hits.push(Hit {
                        atom,
                        field: names.name(*id),
                        value: v.text,
                    })
                });
            }
        }
        if self.index.has_any_field() {
            for (key, v) in event.iter() {
                self.index.lookup_anywhere(v.lower, &mut |atom, _| {
                    hits.push(Hit {
                        atom,
                        field: key,
                        value: v.text,
                    })
                });
            }
        }
        if !hits.is_empty() {
            self.report(event, hits, emit);
        }
    }
}
