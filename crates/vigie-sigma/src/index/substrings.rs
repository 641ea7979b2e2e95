//! Per-field substring sets: the literals of one field of a route, found
//! in its values by one search.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap;

use super::cover::Cover;
use super::lists::PackedLists;
use crate::gram_set::GramSet;

/// The literals of one field, searched within its values.
pub(super) struct Substrings {
    finder: Finder,
    /// No literal holds a newline: an occurrence lies within one line.
    lines_apart: bool,
    /// Names this set in the per-thread [`ScanMemo`]s: unique among all
    /// sets built by the process, never 0 (an empty memo slot).
    pub(super) id: u64,
}

enum Finder {
    /// Up to two kilobytes of literals.
    Automaton {
        /// Leftmost-longest: with a prefilter it skips most of a value.
        automaton: AhoCorasick,
        /// Per pattern, the literal ids of every pattern it contains
        /// (itself included): a leftmost-longest scan reports only the
        /// longest pattern at each start, and the patterns inside it are
        /// implied.
        implied: PackedLists,
        /// Needles one of which every pattern contains, when a few do: a
        /// value with none of them holds no pattern.
        cover: Option<Cover>,
    },
    /// More: an automaton's states would no longer fit the caches.
    Grams(Box<GramSet>),
}

/// Literals totalling at most this many bytes are searched by a DFA
/// (about 200 bytes of table per literal byte). The library picks a DFA
/// only up to 100 patterns, but short fields scanned often (access masks,
/// image names) cost over 40 instructions per byte as contiguous NFAs,
/// under half that as DFAs. Larger sets go to a [`GramSet`]: as NFAs
/// their states spilled out of the caches and their building was a
/// seventh of loading SigmaHQ. The bound was 8 KB, and the largest DFAs
/// (`ContextInfo`, `Payload`, `ImageLoaded`: a few hundred literals,
/// up to 2 MB of table) were fast per byte but cold: their steps missed
/// a 1 MB cache 1.46 times per event (the core's L2 is 512 KB, and other
/// tenants leave it 1.5 to 2 MB of the L3; beyond that a read costs about
/// 190 ns). At 2 KB those sets are gram sets: 1% more instructions, 0.7
/// fewer such misses per event, 10 MB less memory.
const DFA_MAX_BYTES: usize = 2048;

/// Source of [`Substrings::id`]s.
static NEXT_SUBSTRINGS_ID: AtomicU64 = AtomicU64::new(1);

impl Substrings {
    pub(super) fn build(literals: Vec<(Vec<u8>, Vec<u32>)>) -> Result<Substrings, Vec<u32>> {
        let total: usize = literals.iter().map(|(l, _)| l.len()).sum();
        let lines_apart = !literals.iter().any(|(l, _)| l.contains(&b'\n'));
        let finder = if total <= DFA_MAX_BYTES {
            Self::automaton(&literals)?
        } else {
            Finder::Grams(Box::new(GramSet::build(&literals)))
        };
        Ok(Substrings {
            finder,
            lines_apart,
            id: NEXT_SUBSTRINGS_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    fn automaton(literals: &[(Vec<u8>, Vec<u32>)]) -> Result<Finder, Vec<u32>> {
        let patterns: Vec<&[u8]> = literals.iter().map(|(l, _)| l.as_slice()).collect();
        let give_up = || {
            literals
                .iter()
                .flat_map(|(_, r)| r.iter().copied())
                .collect()
        };
        let Ok(automaton) = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
        else {
            return Err(give_up());
        };
        // Which patterns occur inside each pattern: each of its windows
        // as long as some pattern, looked up. (An overlapping automaton
        // would find them too, but building it cost as much as the
        // automaton itself.)
        let by_text: FxHashMap<&[u8], usize> =
            patterns.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let mut lengths: Vec<usize> = patterns.iter().map(|p| p.len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        let mut implied_by_pattern = Vec::with_capacity(literals.len());
        for literal in &patterns {
            let mut implied: Vec<u32> = Vec::new();
            for &len in lengths.iter().take_while(|&&len| len <= literal.len()) {
                for window in literal.windows(len.max(1)) {
                    if let Some(&inner) = by_text.get(window) {
                        implied.extend_from_slice(&literals[inner].1);
                    }
                }
            }
            implied.sort_unstable();
            implied.dedup();
            implied_by_pattern.push(implied);
        }
        Ok(Finder::Automaton {
            automaton,
            implied: PackedLists::new(&implied_by_pattern),
            cover: Cover::build(&patterns),
        })
    }

    /// Whether no literal holds a newline.
    #[inline]
    pub(super) fn lines_apart(&self) -> bool {
        self.lines_apart
    }

    /// Calls `f` with the literal ids of every pattern that occurs in `hay`
    /// (some more than once).
    #[inline]
    pub(super) fn scan(&self, hay: &[u8], f: &mut impl FnMut(u32)) {
        let (automaton, implied) = match &self.finder {
            Finder::Grams(grams) => return grams.scan(hay, f),
            Finder::Automaton {
                automaton,
                implied,
                cover,
            } => {
                if cover.as_ref().is_some_and(|c| !c.any_in(hay)) {
                    return;
                }
                (automaton, implied)
            }
        };
        let mut at = 0;
        // Every start of a match, each with its longest pattern: any
        // pattern occurrence starts at one of them and is a prefix of the
        // longest pattern found there, hence in that pattern's `implied`.
        while at < hay.len() {
            let Some(m) = automaton.find(Input::new(hay).range(at..)) else {
                return;
            };
            for &literal in implied.get(m.pattern().as_usize()) {
                f(literal);
            }
            at = m.start() + 1;
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The rules a scan reports, sorted.
    pub(crate) fn found(s: &Substrings, hay: &str) -> Vec<u32> {
        let mut out = Vec::new();
        s.scan(hay.as_bytes(), &mut |r| out.push(r));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The string values of some OTRF Windows events from the shared data
    /// (none, with a message, when it is absent), lower-cased as `Event`
    /// stores them.
    pub(crate) fn sample_values() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/jsonl/otrf-windows");
        if !root.exists() {
            eprintln!("skipping real values: {} not found", root.display());
            return Vec::new();
        }
        let mut files = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "json") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut out = Vec::new();
        for file in files.iter().step_by(4) {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for line in text.lines().take(2000) {
                let Ok(serde_json::Value::Object(map)) = serde_json::from_str(line) else {
                    continue;
                };
                for v in map.values() {
                    if let serde_json::Value::String(s) = v {
                        out.push(s.to_lowercase());
                    }
                }
            }
        }
        out
    }

    /// A set where rule i requires literal i.
    pub(crate) fn substrings(literals: &[&str]) -> Substrings {
        let mut entries: Vec<(Vec<u8>, Vec<u32>)> = literals
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_bytes().to_vec(), vec![i as u32]))
            .collect();
        entries.sort();
        Substrings::build(entries).unwrap()
    }

    /// A set too large for a DFA (so searched by grams), of literals cut
    /// from the real values themselves, against a plain substring search
    /// of each value.
    #[test]
    fn large_sets_find_what_values_contain() {
        let real = sample_values();
        let mut values: Vec<String> = real.iter().step_by(3).take(4000).cloned().collect();
        values.push("c:\\windows\\system32\\cmd.exe /c whoami".to_owned());
        // Command-line-like values of random pieces, so that the set is
        // large without the shared data too.
        let mut rng = vigie_core::test_rng::XorShift(0x9a3_5e7);
        let pieces = [
            "c:\\windows\\",
            "system32\\",
            "cmd.exe",
            " /c ",
            "powershell",
            " -enc ",
            "ä",
            "😀",
            "http://",
            "a",
            "b",
            "c",
            "0",
            "1",
            "x",
            "-",
            "\\",
            " ",
        ];
        for _ in 0..3000 {
            let n = 1 + rng.below(24);
            values.push((0..n).map(|_| pieces[rng.below(pieces.len())]).collect());
        }
        let mut literals: Vec<String> = ["\\cmd.exe", " /c", "/", "whoami", "c:\\windows\\"]
            .map(str::to_owned)
            .to_vec();
        for v in &values {
            let chars: Vec<char> = v.chars().collect();
            if chars.is_empty() {
                continue;
            }
            let from = rng.below(chars.len());
            let len = 1 + rng.below(20);
            literals.push(chars[from..(from + len).min(chars.len())].iter().collect());
        }
        literals.sort();
        literals.dedup();
        let refs: Vec<&str> = literals.iter().map(String::as_str).collect();
        let s = substrings(&refs);
        assert!(
            matches!(s.finder, Finder::Grams(_)),
            "{} literals",
            refs.len()
        );
        for v in &values {
            let want: Vec<u32> = (0..refs.len() as u32)
                .filter(|&i| v.contains(refs[i as usize]))
                .collect();
            assert_eq!(found(&s, v), want, "on {v:?}");
        }
        eprintln!("{} literals, {} values compared", refs.len(), values.len());
    }

    /// Sets with a needle cover (the mimikatz keywords; three command
    /// words) against a plain substring search, on real values and on
    /// values holding needles with and without literals.
    #[test]
    fn covered_sets_find_what_values_contain() {
        let mimikatz = [
            "dpapi::masterkey",
            "eo.oe.kiwi",
            "event::clear",
            "gentilkiwi.com",
            "kerberos::golden",
            "lsadump::",
            "mimidrv.sys",
            "\\mimilib.dll",
            "sekurlsa::",
        ];
        let words = ["powershell", "whoami", "cmd.exe"];
        let mut values = sample_values();
        values.extend(
            [
                "fe80::1 and ::1",
                "kiwi",
                "c:\\mimi\\",
                "sekurlsa::logonpasswords",
                "x lsadump::sam",
                "c:\\windows\\mimilib.dll",
                "gentilkiwi.com/mimikatz",
                "power",
                "powershell.exe -c whoami",
                "",
            ]
            .map(str::to_owned),
        );
        for set in [&mimikatz[..], &words] {
            let s = substrings(set);
            assert!(
                matches!(s.finder, Finder::Automaton { cover: Some(_), .. }),
                "{set:?} has a cover"
            );
            for v in &values {
                let want: Vec<u32> = (0..set.len() as u32)
                    .filter(|&i| v.contains(set[i as usize]))
                    .collect();
                assert_eq!(found(&s, v), want, "on {v:?}");
            }
        }
    }

    #[test]
    fn scan_reports_overlapping_and_nested_literals() {
        // Rule i requires literal i.
        let literals = ["abc", "cde", "bcd", "bc", "zz", "abcdef"];
        let s = substrings(&literals);
        // Every literal occurring anywhere, whatever overlaps it.
        assert_eq!(found(&s, "xabcdex"), vec![0, 1, 2, 3]);
        assert_eq!(found(&s, "abcdef"), vec![0, 1, 2, 3, 5]);
        assert_eq!(found(&s, "zzz bc"), vec![3, 4]);
        assert_eq!(found(&s, "ab cd ef"), Vec::<u32>::new());
        // Brute force over every window of a haystack with many overlaps.
        let hay = "abcbcdcdezzabcdefzbcd";
        let want: Vec<u32> = (0..literals.len() as u32)
            .filter(|&i| hay.contains(literals[i as usize]))
            .collect();
        assert_eq!(found(&s, hay), want);
    }
}
