//! Needle covers: a few short strings, one of which every literal of a
//! set contains, searched before the set's automaton.
//!
//! The Sigma keywords of a route are searched in every value of every
//! event (`win_alert_mimikatz_keywords.yml` applies to all Windows
//! events): twenty literals through a Teddy prefilter whose fingerprints
//! (`eve`, `pri`, `ker`, `lsa`) hit ordinary Windows text everywhere, each
//! hit then confirmed by the automaton. Every one of those literals
//! contains `::`, `kiwi` or `mimi`, which 99% of events have none of: one
//! Teddy pass for those three needles settles most events, for about a
//! fifth of what the full search cost. When a needle does occur, the
//! automaton runs as before, so the literals found are exactly those of a
//! search without the cover.

use aho_corasick::packed;
use memchr::memmem;
use rustc_hash::{FxHashMap, FxHashSet};

/// A cover has at most this many needles: each is a pass over the value.
const MAX_NEEDLES: usize = 3;
/// Needle lengths. Two bytes is the least `memmem` searches as a pair;
/// past four, longer windows cover no more literals in practice.
const MIN_NEEDLE: usize = 2;
const MAX_NEEDLE: usize = 4;
/// Larger sets (per-field literal sets, hundreds of paths) have no small
/// cover, and looking for one costs a window count per literal byte.
const MAX_LITERALS: usize = 64;

/// Needles of which every literal of a set contains at least one.
pub(super) struct Cover {
    /// The needles, all searched in one pass (Teddy).
    searcher: packed::Searcher,
}

impl Cover {
    /// A cover of `literals` ([`needles`]), or `None`.
    pub(super) fn build(literals: &[&[u8]]) -> Option<Cover> {
        let searcher = packed::Searcher::new(needles(literals)?)?;
        Some(Cover { searcher })
    }

    /// Whether some needle occurs in `hay`: when none does, no literal of
    /// the set does either.
    #[inline]
    pub(super) fn any_in(&self, hay: &[u8]) -> bool {
        self.searcher.find(hay).is_some()
    }
}

/// At most [`MAX_NEEDLES`] needles covering `literals`, chosen greedily:
/// each the window (of [`MIN_NEEDLE`] to [`MAX_NEEDLE`] bytes) in the most
/// literals not yet covered, the longest (rarer in text) among equals.
/// `None` when there is no such cover, or a literal is shorter than a
/// needle.
fn needles(literals: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
    if literals.is_empty()
        || literals.len() > MAX_LITERALS
        || literals.iter().any(|l| l.len() < MIN_NEEDLE)
    {
        return None;
    }
    let mut uncovered: Vec<&[u8]> = literals.to_vec();
    let mut needles: Vec<Vec<u8>> = Vec::new();
    while !uncovered.is_empty() {
        if needles.len() == MAX_NEEDLES {
            return None;
        }
        let needle = best_needle(&uncovered)?;
        uncovered.retain(|l| memmem::find(l, needle).is_none());
        needles.push(needle.to_vec());
    }
    Some(needles)
}

/// The window in the most of `literals` (each counted once per literal),
/// then the longest, then the least in byte order (so that the choice does
/// not depend on hashing).
fn best_needle<'a>(literals: &[&'a [u8]]) -> Option<&'a [u8]> {
    let mut counts: FxHashMap<&[u8], usize> = FxHashMap::default();
    let mut seen: FxHashSet<&[u8]> = FxHashSet::default();
    for literal in literals {
        seen.clear();
        for len in MIN_NEEDLE..=MAX_NEEDLE {
            for window in literal.windows(len) {
                if seen.insert(window) {
                    *counts.entry(window).or_default() += 1;
                }
            }
        }
    }
    counts
        .into_iter()
        .max_by(|(a, ca), (b, cb)| {
            ca.cmp(cb)
                .then(a.len().cmp(&b.len()))
                .then_with(|| b.cmp(a))
        })
        .map(|(window, _)| window)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIMIKATZ: [&str; 20] = [
        "dpapi::masterkey",
        "eo.oe.kiwi",
        "event::clear",
        "event::drop",
        "gentilkiwi.com",
        "kerberos::golden",
        "kerberos::ptc",
        "kerberos::ptt",
        "kerberos::tgt",
        "kiwi legit printer",
        "lsadump::",
        "mimidrv.sys",
        "\\mimilib.dll",
        "misc::printnightmare",
        "misc::shadowcopies",
        "misc::skeleton",
        "privilege::backup",
        "privilege::debug",
        "privilege::driver",
        "sekurlsa::",
    ];

    fn bytes<'a>(literals: &[&'a str]) -> Vec<&'a [u8]> {
        literals.iter().map(|l| l.as_bytes()).collect()
    }

    fn cover(literals: &[&str]) -> Option<Cover> {
        Cover::build(&bytes(literals))
    }

    #[test]
    fn mimikatz_keywords_are_covered_by_three_needles() {
        assert_eq!(
            needles(&bytes(&MIMIKATZ)),
            Some(vec![b"::".to_vec(), b"kiwi".to_vec(), b"mimi".to_vec()])
        );
        let c = cover(&MIMIKATZ).expect("a cover");
        for literal in MIMIKATZ {
            assert!(c.any_in(literal.as_bytes()), "{literal}");
            assert!(c.any_in(format!("x {literal} y").as_bytes()), "{literal}");
        }
        assert!(!c.any_in(b"an attempt was made to access an object. c:\\windows\\lsass.exe"));
        assert!(!c.any_in(b""));
    }

    #[test]
    fn every_literal_contains_a_needle() {
        let sets: [&[&str]; 4] = [
            &["powershell", "cmd.exe", "whoami"],
            &["ab", "abc", "xab", "zz"],
            &["\\temp\\", "\\tmp\\", "appdata\\local\\temp"],
            &MIMIKATZ,
        ];
        for set in sets {
            let needles = needles(&bytes(set)).expect("a cover");
            assert!(needles.len() <= MAX_NEEDLES);
            for literal in set {
                assert!(
                    needles
                        .iter()
                        .any(|n| memmem::find(literal.as_bytes(), n).is_some()),
                    "{literal} in {set:?}"
                );
            }
        }
    }

    #[test]
    fn no_cover_when_none_is_small() {
        // One-byte literals, four unrelated ones, no literals.
        assert!(cover(&["a", "bcd"]).is_none());
        assert!(cover(&["qqq", "www", "eee", "rrr"]).is_none());
        assert!(cover(&[]).is_none());
        let many: Vec<String> = (0..=MAX_LITERALS).map(|i| format!("::{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(cover(&refs).is_none());
    }
}
