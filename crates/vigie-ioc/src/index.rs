//! The typed index: every atom of every indicator, by type, ready for
//! exact lookups that borrow the event's value.
//!
//! IP blocks live in one hash table per prefix length present (longest
//! first): a lookup masks the address once per distinct length, which is a
//! handful of probes even with a million blocks, and needs no trie nodes.
//! Every other type is one hash table of normalised strings; domains are
//! looked up once per label suffix of the host.

use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine;
use rustc_hash::FxHashMap;

use crate::indicator::{Atom, Indicator, IocType};
use crate::normalize::{mask_v4, mask_v6};

/// Where an atom sits: indicator, alternative (OR branch), atom (AND
/// member).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AtomRef {
    pub indicator: u32,
    pub alt: u16,
    pub atom: u16,
}

const END: u32 = u32::MAX;

/// Posting lists as chains in one arena, so that a million keys cost no
/// million small vectors.
#[derive(Default)]
struct Postings {
    cells: Vec<(AtomRef, u32)>,
}

impl Postings {
    fn push(&mut self, head: Option<&mut u32>, r: AtomRef) -> Option<u32> {
        let cell = self.cells.len() as u32;
        match head {
            Some(h) => {
                self.cells.push((r, *h));
                *h = cell;
                None
            }
            None => {
                self.cells.push((r, END));
                Some(cell)
            }
        }
    }

    #[inline]
    fn each(&self, mut cell: u32, f: &mut dyn FnMut(AtomRef)) {
        while cell != END {
            let Some((r, next)) = self.cells.get(cell as usize) else {
                return;
            };
            f(*r);
            cell = *next;
        }
    }
}

/// All loaded indicators, indexed for matching.
#[derive(Default)]
pub struct IocIndex {
    indicators: Vec<Indicator>,
    postings: Postings,
    v4: Vec<(u8, FxHashMap<u32, u32>)>,
    v6: Vec<(u8, FxHashMap<u128, u32>)>,
    /// One table per type (indexed by `IocType as usize`).
    text: Vec<FxHashMap<Box<str>, u32>>,
    types: Vec<IocType>,
    any_field: Option<AnyField>,
}

/// The `--ioc-any-field` automaton: every textual atom, searched in every
/// string field.
struct AnyField {
    automaton: AhoCorasick,
    heads: Vec<u32>,
}

impl IocIndex {
    pub fn new(indicators: Vec<Indicator>) -> IocIndex {
        let mut index = IocIndex::default();
        for (i, ind) in indicators.iter().enumerate() {
            for (a, alt) in ind.any_of.iter().enumerate() {
                for (m, atom) in alt.iter().enumerate() {
                    let r = AtomRef {
                        indicator: i as u32,
                        alt: a.min(u16::MAX as usize) as u16,
                        atom: m.min(u16::MAX as usize) as u16,
                    };
                    index.insert(atom, r);
                }
            }
        }
        index.v4.sort_by_key(|t| std::cmp::Reverse(t.0));
        index.v6.sort_by_key(|t| std::cmp::Reverse(t.0));
        index.types.sort();
        index.types.dedup();
        index.indicators = indicators;
        index
    }

    fn insert(&mut self, atom: &Atom, r: AtomRef) {
        self.types.push(atom.ty());
        match atom {
            Atom::Ip {
                addr: IpAddr::V4(v4),
                prefix,
            } => {
                let table = table_for(&mut self.v4, *prefix);
                let key = mask_v4(u32::from(*v4), *prefix);
                if let Some(cell) = self.postings.push(table.get_mut(&key), r) {
                    table.insert(key, cell);
                }
            }
            Atom::Ip {
                addr: IpAddr::V6(v6),
                prefix,
            } => {
                let table = table_for(&mut self.v6, *prefix);
                let key = mask_v6(u128::from(*v6), *prefix);
                if let Some(cell) = self.postings.push(table.get_mut(&key), r) {
                    table.insert(key, cell);
                }
            }
            Atom::Text { ty, value } => {
                self.insert_text(*ty, value.clone(), r);
                // Token headers carry `x5t`, the base64url of the
                // thumbprint: a thumbprint indicator matches it too.
                if *ty == IocType::Thumbprint {
                    if let Some(x5t) = hex_to_base64url(value) {
                        self.types.push(IocType::KeyId);
                        self.insert_text(IocType::KeyId, x5t.into_boxed_str(), r);
                    }
                }
            }
        }
    }

    fn insert_text(&mut self, ty: IocType, value: Box<str>, r: AtomRef) {
        let slot = ty as usize;
        if self.text.len() <= slot {
            self.text
                .resize_with(IocType::ALL.len().max(slot + 1), FxHashMap::default);
        }
        let table = &mut self.text[slot];
        if let Some(cell) = self.postings.push(table.get_mut(&value), r) {
            table.insert(value, cell);
        }
    }

    /// Builds the any-field automaton (once, before matching).
    pub fn enable_any_field(&mut self) -> Result<(), String> {
        let mut patterns = Vec::new();
        let mut heads = Vec::new();
        for (value, head) in self.text.iter().flatten() {
            patterns.push(value.to_lowercase());
            heads.push(*head);
        }
        for (prefix, table) in &self.v4 {
            if *prefix == 32 {
                for (bits, head) in table {
                    patterns.push(std::net::Ipv4Addr::from(*bits).to_string());
                    heads.push(*head);
                }
            }
        }
        for (prefix, table) in &self.v6 {
            if *prefix == 128 {
                for (bits, head) in table {
                    patterns.push(std::net::Ipv6Addr::from(*bits).to_string());
                    heads.push(*head);
                }
            }
        }
        let automaton = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| format!("cannot build the any-field automaton: {e}"))?;
        self.any_field = Some(AnyField { automaton, heads });
        Ok(())
    }

    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    pub fn indicator(&self, i: u32) -> Option<&Indicator> {
        self.indicators.get(i as usize)
    }

    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// Whether any atom of this type is loaded.
    pub fn has_type(&self, ty: IocType) -> bool {
        self.types.binary_search(&ty).is_ok()
    }

    pub fn has_any_field(&self) -> bool {
        self.any_field.is_some()
    }

    /// Atoms whose block contains `ip`, longest prefix first.
    #[inline]
    pub fn lookup_ip(&self, ip: IpAddr, f: &mut dyn FnMut(AtomRef)) {
        match ip {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                for (prefix, table) in &self.v4 {
                    if let Some(head) = table.get(&mask_v4(bits, *prefix)) {
                        self.postings.each(*head, f);
                    }
                }
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                for (prefix, table) in &self.v6 {
                    if let Some(head) = table.get(&mask_v6(bits, *prefix)) {
                        self.postings.each(*head, f);
                    }
                }
            }
        }
    }

    /// Atoms of type `ty` equal to `key` (already normalised).
    #[inline]
    pub fn lookup_text(&self, ty: IocType, key: &str, f: &mut dyn FnMut(AtomRef)) {
        if let Some(head) = self.text_get(ty, key) {
            self.postings.each(head, f);
        }
    }

    /// Domain atoms equal to `host` or to one of its parent domains.
    #[inline]
    pub fn lookup_domain(&self, host: &str, f: &mut dyn FnMut(AtomRef)) {
        let mut rest = host;
        loop {
            if let Some(head) = self.text_get(IocType::Domain, rest) {
                self.postings.each(head, f);
            }
            match rest.find('.') {
                Some(dot) => rest = &rest[dot + 1..],
                None => return,
            }
        }
    }

    /// Every atom found anywhere in `lower` at word boundaries.
    pub fn lookup_anywhere(&self, lower: &str, f: &mut dyn FnMut(AtomRef, &str)) {
        let Some(any) = &self.any_field else { return };
        let bytes = lower.as_bytes();
        for m in any.automaton.find_overlapping_iter(lower) {
            if !at_boundary(bytes, m.start(), m.end()) {
                continue;
            }
            if let Some(head) = any.heads.get(m.pattern().as_usize()) {
                let found = &lower[m.start()..m.end()];
                self.postings.each(*head, &mut |r| f(r, found));
            }
        }
    }

    #[inline]
    fn text_get(&self, ty: IocType, key: &str) -> Option<u32> {
        self.text.get(ty as usize)?.get(key).copied()
    }
}

fn table_for<K>(tables: &mut Vec<(u8, FxHashMap<K, u32>)>, prefix: u8) -> &mut FxHashMap<K, u32> {
    let pos = match tables.iter().position(|(p, _)| *p == prefix) {
        Some(pos) => pos,
        None => {
            tables.push((prefix, FxHashMap::default()));
            tables.len() - 1
        }
    };
    &mut tables[pos].1
}

/// A match must not be glued to a longer word: `evil.example` is found in
/// `a.evil.example/x` but not in `notevil.example` or `evil.example.org`.
fn at_boundary(bytes: &[u8], start: usize, end: usize) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let before_ok = start == 0 || !word(bytes[start - 1]);
    let after_ok = match bytes.get(end) {
        None => true,
        Some(b'.') => !bytes.get(end + 1).is_some_and(|b| word(*b)),
        Some(b) => !word(*b),
    };
    before_ok && after_ok
}

fn hex_to_base64url(hex: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;

    fn index(atoms: &[(IocType, &str)]) -> IocIndex {
        let indicators = atoms
            .iter()
            .map(|(ty, v)| Indicator {
                id: v.to_string().into(),
                any_of: vec![vec![normalize(*ty, v).unwrap()]],
                ..Default::default()
            })
            .collect();
        IocIndex::new(indicators)
    }

    fn ips(index: &IocIndex, ip: &str) -> Vec<u32> {
        let mut out = Vec::new();
        index.lookup_ip(ip.parse().unwrap(), &mut |r| out.push(r.indicator));
        out.sort();
        out
    }

    #[test]
    fn cidr_v4_and_v6_longest_first_and_all_covering() {
        let idx = index(&[
            (IocType::Ip, "10.0.0.0/8"),
            (IocType::Ip, "10.1.0.0/16"),
            (IocType::Ip, "10.1.2.3"),
            (IocType::Ip, "2001:db8::/32"),
            (IocType::Ip, "2001:db8:1::7"),
            (IocType::Ip, "0.0.0.0/0"),
        ]);
        assert_eq!(ips(&idx, "10.1.2.3"), vec![0, 1, 2, 5]);
        assert_eq!(ips(&idx, "10.200.0.1"), vec![0, 5]);
        assert_eq!(ips(&idx, "11.0.0.1"), vec![5]);
        assert_eq!(ips(&idx, "2001:db8:1::7"), vec![3, 4]);
        assert_eq!(ips(&idx, "2001:db9::1"), Vec::<u32>::new());
    }

    #[test]
    fn domains_match_subdomains_not_substrings() {
        let idx = index(&[(IocType::Domain, "evil.com")]);
        let hit = |host: &str| {
            let mut n = 0;
            idx.lookup_domain(host, &mut |_| n += 1);
            n
        };
        assert_eq!(hit("evil.com"), 1);
        assert_eq!(hit("a.b.evil.com"), 1);
        assert_eq!(hit("notevil.com"), 0);
        assert_eq!(hit("evil.com.attacker.net"), 0);
        assert_eq!(hit("com"), 0);
    }

    #[test]
    fn thumbprints_also_match_as_x5t() {
        let idx = index(&[(
            IocType::Thumbprint,
            "d4b4cccda9228624656bff33d8110955779632aa",
        )]);
        let mut n = 0;
        idx.lookup_text(IocType::KeyId, "1LTMzakihiRla_8z2BEJVXeWMqo", &mut |_| {
            n += 1
        });
        assert_eq!(n, 1);
    }

    #[test]
    fn any_field_respects_word_boundaries() {
        let mut idx = index(&[(IocType::Domain, "evil.com"), (IocType::Ip, "1.2.3.4")]);
        idx.enable_any_field().unwrap();
        let hits = |s: &str| {
            let mut n = 0;
            idx.lookup_anywhere(s, &mut |_, _| n += 1);
            n
        };
        assert_eq!(hits("curl https://x.evil.com/a"), 1);
        assert_eq!(hits("see notevil.com"), 0);
        assert_eq!(hits("evil.com.org"), 0);
        assert_eq!(hits("ping 1.2.3.4."), 1);
        assert_eq!(hits("ping 1.2.3.45"), 0);
    }
}
