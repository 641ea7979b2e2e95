//! Compiled detection items and their evaluation against one event.

use std::net::IpAddr;

use rustc_hash::FxHashMap;
use vigie_core::{
    has_prefix, has_suffix, parse_timestamp, same_text, time_part, Event, FieldId, TimePart,
    ValueKind, ValueRef,
};

use crate::pattern::StrMatch;

/// Numeric comparison of the `gt`/`gte`/`lt`/`lte` modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// An IP network for the `cidr` modifier.
#[derive(Clone, Copy, Debug)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.trim(), p.trim().parse::<u8>().ok()?),
            None => (text.trim(), if text.contains(':') { 128 } else { 32 }),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V4(net), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| prefix_eq(&net.octets(), &ip.octets(), self.prefix)),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = (prefix / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = prefix % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

/// Parses an IP the way logs write them: bare, with a port, or bracketed.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = text.rsplit_once(':')?;
    if port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') {
        return host.parse().ok();
    }
    None
}

/// How a `fieldref` compares: the field's value equals, contains, starts
/// or ends with the referenced field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefMode {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

/// A compiled `re` value and what the candidate index can key it on.
#[derive(Clone, Debug)]
pub struct RegexTest {
    pub re: regex::Regex,
    /// Lower-case literals one of which every match contains (see
    /// [`crate::regex_literals`]), when there is such a set.
    pub literals: Option<Vec<Vec<u8>>>,
}

/// One compiled value test.
#[derive(Clone, Debug)]
pub enum ValueMatcher {
    /// A string test on the lower-cased value, or on the value as written
    /// when `cased`.
    Str {
        m: StrMatch,
        cased: bool,
    },
    Regex(Box<RegexTest>),
    Cidr(Cidr),
    Num {
        cmp: Cmp,
        value: f64,
    },
    /// Compared with the value of another field of the same event.
    FieldRef {
        field: FieldId,
        cased: bool,
        mode: RefMode,
    },
    /// A calendar part of a timestamp value (`|hour: 3`, `|hour|gte: 20`).
    TimePart {
        part: TimePart,
        cmp: Option<Cmp>,
        value: i64,
    },
}

impl ValueMatcher {
    #[inline]
    fn is_match(&self, v: ValueRef<'_>, ctx: &Ctx<'_>) -> bool {
        match self {
            ValueMatcher::Str { m, cased } => {
                if v.kind == ValueKind::Null {
                    return false;
                }
                m.is_match(if *cased { v.text } else { v.lower })
            }
            ValueMatcher::Regex(r) => v.kind != ValueKind::Null && r.re.is_match(v.text),
            ValueMatcher::Cidr(net) => parse_ip(v.text).is_some_and(|ip| net.contains(ip)),
            ValueMatcher::Num { cmp, value } => match v.text.trim().parse::<f64>() {
                Ok(x) if v.kind != ValueKind::Null => match cmp {
                    Cmp::Gt => x > *value,
                    Cmp::Gte => x >= *value,
                    Cmp::Lt => x < *value,
                    Cmp::Lte => x <= *value,
                },
                _ => false,
            },
            ValueMatcher::TimePart { part, cmp, value } => {
                let Some(got) = parse_timestamp(v.text).and_then(|ts| time_part(ts, *part)) else {
                    return false;
                };
                match cmp {
                    None => got == *value,
                    Some(Cmp::Gt) => got > *value,
                    Some(Cmp::Gte) => got >= *value,
                    Some(Cmp::Lt) => got < *value,
                    Some(Cmp::Lte) => got <= *value,
                }
            }
            ValueMatcher::FieldRef { field, cased, mode } => ctx.values(*field).any(|other| {
                let (hay, needle) = if *cased {
                    (v.text, other.text)
                } else {
                    (v.lower, other.lower)
                };
                match mode {
                    RefMode::Equals => hay == needle,
                    RefMode::Contains => hay.contains(needle),
                    RefMode::StartsWith => hay.starts_with(needle),
                    RefMode::EndsWith => hay.ends_with(needle),
                }
            }),
        }
    }
}

/// What one detection item (`Field|modifiers: values`) tests.
#[derive(Clone, Debug)]
pub enum Test {
    /// `|exists: true/false`.
    Exists(bool),
    /// `Field: null`: absent, JSON null or empty.
    Null,
    /// Values: each entry holds the alternatives one rule value expands to
    /// (windash and base64offset give several). Entries are OR-ed, or
    /// AND-ed with `all`; `negate` is the `neq` modifier.
    Values {
        values: Vec<Vec<ValueMatcher>>,
        all: bool,
        negate: bool,
        /// The same alternatives regrouped for a faster "does any match",
        /// when the list is not `all` and has enough `contains` literals.
        any: Option<Box<AnyOf>>,
    },
}

/// A value list's alternatives regrouped: long `contains` lists (SigmaHQ
/// has rules with hundreds of command-line fragments) are searched in one
/// Aho-Corasick pass instead of one substring search per literal, and long
/// `endswith`, `startswith` and whole-value lists (dozens of image names)
/// are compared from one buffer each instead of a heap string per value:
/// a rule evaluated in full then reads a few cache lines in sequence, not
/// one cold line per value.
#[derive(Clone, Debug)]
pub struct AnyOf {
    /// The literals of the case-insensitive `contains` alternatives, when
    /// there are enough of them.
    contains: Option<aho_corasick::AhoCorasick>,
    /// Case-insensitive whole values, prefixes and suffixes.
    equals: Needles,
    starts: Needles,
    ends: Needles,
    /// Every other alternative, tested one by one.
    rest: Vec<ValueMatcher>,
}

/// Fewer literals than this (`contains` ones, or the others together) are
/// tested one by one.
const ANY_OF_MIN: usize = 4;

impl AnyOf {
    /// Regroups `values` (OR-ed entries of OR-ed alternatives), or `None`
    /// when there is too little to gain.
    pub fn build(values: &[Vec<ValueMatcher>]) -> Option<Box<AnyOf>> {
        // The case-insensitive `contains` alternatives, with their literals.
        let mut contains: Vec<(&ValueMatcher, &[u8])> = Vec::new();
        let (mut equals, mut starts, mut ends) =
            (Needles::default(), Needles::default(), Needles::default());
        let mut rest = Vec::new();
        for m in values.iter().flatten() {
            let ValueMatcher::Str {
                m: test,
                cased: false,
            } = m
            else {
                rest.push(m.clone());
                continue;
            };
            match test {
                StrMatch::Contains(finder) => contains.push((m, finder.needle())),
                StrMatch::Equals(s) => equals.push(s.as_bytes()),
                StrMatch::StartsWith(s) => starts.push(s.as_bytes()),
                StrMatch::EndsWith(s) => ends.push(s.as_bytes()),
                _ => rest.push(m.clone()),
            }
        }
        let grouped = equals.len() + starts.len() + ends.len();
        if contains.len() < ANY_OF_MIN && grouped < ANY_OF_MIN {
            return None;
        }
        let contains = if contains.len() >= ANY_OF_MIN {
            // A contiguous NFA builds several times faster than the DFA
            // the builder would pick for small sets, and with its
            // prefilter searches about as fast: thousands of these are
            // built at load.
            Some(
                aho_corasick::AhoCorasick::builder()
                    .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                    .build(contains.iter().map(|(_, literal)| literal))
                    .ok()?,
            )
        } else {
            // Too few to search together: tested one by one.
            rest.extend(contains.iter().map(|(m, _)| (*m).clone()));
            None
        };
        Some(Box::new(AnyOf {
            contains,
            equals,
            starts,
            ends,
            rest,
        }))
    }

    #[inline]
    fn is_match(&self, v: ValueRef<'_>, ctx: &Ctx<'_>) -> bool {
        if v.kind != ValueKind::Null {
            let hay = v.lower.as_bytes();
            // Compared inline (`same_text`): these are a few short needles
            // tested against most values of their field, where `==` and
            // `ends_with` called `memcmp` for each.
            if self.equals.iter().any(|n| same_text(n, hay))
                || self.ends.iter().any(|n| has_suffix(hay, n))
                || self.starts.iter().any(|n| has_prefix(hay, n))
                || self.contains.as_ref().is_some_and(|c| c.is_match(hay))
            {
                return true;
            }
        }
        self.rest.iter().any(|m| m.is_match(v, ctx))
    }
}

/// Byte strings end to end in one buffer.
#[derive(Clone, Debug, Default)]
struct Needles {
    bytes: Vec<u8>,
    /// Where each string ends in `bytes`.
    ends: Vec<u32>,
}

impl Needles {
    fn push(&mut self, needle: &[u8]) {
        self.bytes.extend_from_slice(needle);
        self.ends.push(self.bytes.len() as u32);
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let needle = self.bytes.get(start..end as usize).unwrap_or_default();
            start = end as usize;
            needle
        })
    }
}

/// A detection item: a test on one field, or on every field (keywords).
#[derive(Clone, Debug)]
pub struct Predicate {
    pub field: Option<FieldId>,
    pub test: Test,
}

/// Evaluation context: the event and the field renames of the route the
/// event was matched under (Security 4688's `NewProcessName` for `Image`).
pub struct Ctx<'a> {
    pub event: &'a Event,
    pub remap: Option<&'a FxHashMap<FieldId, FieldId>>,
}

impl<'a> Ctx<'a> {
    #[inline]
    pub fn resolve(&self, id: FieldId) -> FieldId {
        if let Some(remap) = self.remap {
            if let Some(target) = remap.get(&id) {
                if !self.event.has(id) {
                    return *target;
                }
            }
        }
        id
    }

    #[inline]
    pub fn values(&self, id: FieldId) -> vigie_core::Values<'a> {
        self.event.values(self.resolve(id))
    }
}

impl Predicate {
    pub fn eval(&self, ctx: &Ctx<'_>) -> bool {
        match self.field {
            Some(field) => self.eval_field(field, ctx),
            None => self.eval_keywords(ctx),
        }
    }

    fn eval_field(&self, field: FieldId, ctx: &Ctx<'_>) -> bool {
        let id = ctx.resolve(field);
        match &self.test {
            Test::Exists(want) => ctx.event.has(id) == *want,
            Test::Null => ctx
                .event
                .values(id)
                .all(|v| v.kind == ValueKind::Null || v.text.is_empty()),
            Test::Values {
                any: Some(any),
                all: false,
                negate,
                ..
            } => {
                let found = ctx.event.values(id).any(|v| any.is_match(v, ctx));
                if *negate {
                    ctx.event.has(id) && !found
                } else {
                    found
                }
            }
            Test::Values {
                values,
                all,
                negate,
                ..
            } => {
                let matches_one = |alternatives: &Vec<ValueMatcher>| {
                    ctx.event
                        .values(id)
                        .any(|v| alternatives.iter().any(|m| m.is_match(v, ctx)))
                };
                if *negate {
                    ctx.event.has(id) && !values.iter().any(matches_one)
                } else if *all {
                    values.iter().all(matches_one)
                } else {
                    values.iter().any(matches_one)
                }
            }
        }
    }

    /// Keywords search every value of the event.
    fn eval_keywords(&self, ctx: &Ctx<'_>) -> bool {
        let Test::Values {
            values, all, any, ..
        } = &self.test
        else {
            return false;
        };
        if let (Some(any), false) = (any, *all) {
            return ctx.event.iter().any(|(_, v)| any.is_match(v, ctx));
        }
        let matches_one = |alternatives: &Vec<ValueMatcher>| {
            ctx.event
                .iter()
                .any(|(_, v)| alternatives.iter().any(|m| m.is_match(v, ctx)))
        };
        if *all {
            values.iter().all(matches_one)
        } else {
            values.iter().any(matches_one)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_v4_v6_and_mapped() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.1.2.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.9.9.9".parse().unwrap()));
        let net6 = Cidr::parse("fe80::/10").unwrap();
        assert!(net6.contains("fe80::1".parse().unwrap()));
        assert!(!net6.contains("fec0::1".parse().unwrap()));
        let odd = Cidr::parse("192.168.1.0/23").unwrap();
        assert!(odd.contains("192.168.0.7".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn ips_with_ports_and_brackets() {
        assert_eq!(parse_ip("1.2.3.4:443"), "1.2.3.4".parse().ok());
        assert_eq!(parse_ip("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("host:80"), None);
    }
}
