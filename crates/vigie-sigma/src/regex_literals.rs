//! Literals a regex match must contain, for the candidate index.
//!
//! A rule whose only test is a regex would otherwise be evaluated on every
//! event of its route. regex-syntax's extractor gives the finite set of
//! prefixes (or suffixes) every match starts (ends) with; lower-cased, one
//! of them must then occur in the lower-cased value.

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Literals shorter than this say too little to be worth indexing...
pub const MIN_LITERAL: usize = 2;

/// ...except these bytes, which log values seldom hold but obfuscated
/// command lines do: PowerShell's escape (`` IN`V`o`Ke ``) and cmd's
/// (`p^o^w^e^r^s^h^e^l^l`). A regex built around them has no longer
/// literal, and would otherwise be evaluated on every event.
const RARE_BYTES: &[u8] = b"`^";

/// Whether `literal` is worth indexing: `min_len` bytes, or one rare byte.
pub fn worth_indexing(literal: &[u8], min_len: usize) -> bool {
    literal.len() >= min_len || matches!(literal, [byte] if RARE_BYTES.contains(byte))
}

/// Lower-case ASCII literals one of which every match of `pattern` (built
/// with Sigma's `i`/`m`/`s` flags) contains, or `None` when there is no
/// such finite set worth indexing.
///
/// Under Unicode case folding `(?i)s` also matches `ſ` and `(?i)k` the
/// Kelvin sign, whose lower-case forms are not the ASCII letters; a literal
/// is therefore cut at its first non-ASCII byte (a prefix of a prefix is
/// still one), or after its last one for suffixes.
pub fn required_literals(pattern: &str, flags: &str, min_len: usize) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .build()
        .parse(pattern)
        .ok()?;
    let mut best: Option<Vec<Vec<u8>>> = None;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let prefix = matches!(kind, ExtractKind::Prefix);
        let mut extractor = Extractor::new();
        extractor.kind(kind).limit_total(256);
        let seq = extractor.extract(&hir);
        let Some(literals) = seq.literals() else {
            continue;
        };
        if literals.is_empty() {
            continue;
        }
        let mut set: Vec<Vec<u8>> = literals
            .iter()
            .map(|lit| {
                let bytes = lit.as_bytes();
                let ascii = if prefix {
                    let end = bytes
                        .iter()
                        .position(|b| !b.is_ascii())
                        .unwrap_or(bytes.len());
                    &bytes[..end]
                } else {
                    let start = bytes
                        .iter()
                        .rposition(|b| !b.is_ascii())
                        .map_or(0, |i| i + 1);
                    &bytes[start..]
                };
                ascii.to_ascii_lowercase()
            })
            .collect();
        if set.iter().any(|l| !worth_indexing(l, min_len)) {
            continue;
        }
        minimise(&mut set, prefix);
        let shortest = |s: &Vec<Vec<u8>>| s.iter().map(Vec::len).min().unwrap_or(0);
        if best.as_ref().is_none_or(|b| shortest(&set) > shortest(b)) {
            best = Some(set);
        }
    }
    // A literal every match contains somewhere in the middle (`&&` in
    // `(?i)set.*&&\s?set`, whose prefix `set` is no witness: `ſ` folds to
    // `s`): matched byte for byte in the original text, so lower-cased
    // char by char, as event values are, it is in the lower-cased value.
    if let Some(inner) = required_inner(&hir)
        .and_then(|l| String::from_utf8(l).ok())
        .map(|l| l.chars().flat_map(char::to_lowercase).collect::<String>())
        .filter(|l| worth_indexing(l.as_bytes(), min_len))
    {
        let shortest = |s: &Vec<Vec<u8>>| s.iter().map(Vec::len).min().unwrap_or(0);
        if best.as_ref().is_none_or(|b| inner.len() > shortest(b)) {
            best = Some(vec![inner.into_bytes()]);
        }
    }
    best
}

/// The longest literal that every match of `hir` contains: literals of a
/// concatenation (or of a group or a repetition of at least one, within
/// one) are each required; alternations and optional parts are not.
fn required_inner(hir: &Hir) -> Option<Vec<u8>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(lit.0.to_vec()),
        HirKind::Capture(group) => required_inner(&group.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required_inner(&rep.sub),
        HirKind::Concat(items) => {
            let mut best: Option<Vec<u8>> = None;
            // Longest first; of equal length, the one with fewer letters
            // (`&&` occurs in fewer values than `et`).
            let rank = |l: &Vec<u8>| {
                let letters = l.iter().filter(|b| b.is_ascii_alphabetic()).count();
                (l.len(), l.len() - letters)
            };
            let mut keep = |candidate: Option<Vec<u8>>| {
                if let Some(c) = candidate {
                    if best.as_ref().is_none_or(|b| rank(&c) > rank(b)) {
                        best = Some(c);
                    }
                }
            };
            // Adjacent literals are one longer literal.
            let mut run: Vec<u8> = Vec::new();
            for item in items {
                if let HirKind::Literal(lit) = item.kind() {
                    run.extend_from_slice(&lit.0);
                    continue;
                }
                if let Some(byte) = folded_ascii(item) {
                    run.push(byte);
                    continue;
                }
                keep((!run.is_empty()).then(|| std::mem::take(&mut run)));
                keep(required_inner(item));
            }
            keep((!run.is_empty()).then_some(run));
            best
        }
        _ => None,
    }
}

/// The byte a class stands for in the lower-cased value: `[Ee]`, which
/// `(?i)e` compiles to, is `e` there, as is `[e]`. Letters whose case
/// folding reaches beyond ASCII (`(?i)k` also matches the Kelvin sign,
/// `(?i)s` the long s) are three-member classes, and are not literals.
fn folded_ascii(hir: &Hir) -> Option<u8> {
    let HirKind::Class(class) = hir.kind() else {
        return None;
    };
    let members: Vec<(u32, u32)> = match class {
        Class::Unicode(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
    };
    let ascii = |c: u32| u8::try_from(c).ok().filter(u8::is_ascii);
    match members.as_slice() {
        [(a, b)] if a == b => ascii(*a).map(|c| c.to_ascii_lowercase()),
        [(a, a2), (b, b2)] if a == a2 && b == b2 => {
            let (a, b) = (ascii(*a)?, ascii(*b)?);
            (a.is_ascii_alphabetic() && a.eq_ignore_ascii_case(&b)).then(|| a.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// Drops literals that contain another one of the set at the same end:
/// wherever they occur, the shorter one does too.
fn minimise(set: &mut Vec<Vec<u8>>, prefix: bool) {
    if !prefix {
        set.iter_mut().for_each(|l| l.reverse());
    }
    set.sort();
    set.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(set.len());
    for lit in set.drain(..) {
        if !kept.last().is_some_and(|k| lit.starts_with(k)) {
            kept.push(lit);
        }
    }
    if !prefix {
        kept.iter_mut().for_each(|l| l.reverse());
    }
    *set = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(pattern: &str, flags: &str) -> Option<Vec<String>> {
        required_literals(pattern, flags, 2).map(|set| {
            set.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn prefixes_suffixes_and_case() {
        assert_eq!(lits(r"ipconfig\s+/all", ""), Some(vec!["ipconfig".into()]));
        assert_eq!(
            lits(r"(arp|route)\s+(-a|print)", ""),
            Some(vec!["arp".into(), "route".into()])
        );
        // Only a suffix is fixed.
        assert_eq!(lits(r"\d+\.exe", ""), Some(vec![".exe".into()]));
        // Case variants fold into one literal.
        assert_eq!(lits("(?i)IpConfig", ""), Some(vec!["ipconfig".into()]));
        assert_eq!(lits("ipCONFIG", "i"), Some(vec!["ipconfig".into()]));
    }

    /// One-byte literals only when the byte is rare in log values: the
    /// PowerShell token obfuscation regex of SigmaHQ is keyed on its
    /// backtick, and `\w+\\\w+` on nothing.
    #[test]
    fn rare_single_bytes_are_literals() {
        assert_eq!(
            lits(r"\w+`(?:\w+|-|.)`[\w+|\s]", ""),
            Some(vec!["`".into()])
        );
        assert_eq!(lits(r"\w\^\w\^\w", ""), Some(vec!["^".into()]));
        assert_eq!(lits(r"\w+\\\w+", ""), None);
        assert_eq!(lits(r"\w+ \w+", ""), None);
    }

    #[test]
    fn inner_literals_every_match_contains() {
        // Invoke-Obfuscation via stdin: the prefix `set` is cut (`ſ`), `&&`
        // is required in the middle.
        assert_eq!(
            lits(
                r#"(?i)(?:set).*&&\s?set.*(?:environment|invoke|\$\{?input).*&&.*""#,
                ""
            ),
            Some(vec!["&&".into()])
        );
        // Inside a group and a repetition of at least one.
        assert_eq!(lits(r"\w+(?:x-Foo\d)+\s", ""), Some(vec!["x-foo".into()]));
        // Not inside an alternation or an optional part.
        assert_eq!(lits(r"\w+(?:ab|cd)\d", ""), None);
        assert_eq!(lits(r"\w+(?:abc)?\d", ""), None);
        assert_eq!(lits(r"\w+(?:abc)*\d", ""), None);
        // Case-insensitive letters are classes ([Ww]): still literals of
        // the lower-cased value, up to a letter that folds beyond ASCII.
        assert_eq!(
            lits(r"(?i)\.exe\s+[^x]{0,64}werfaultsecure\.exe\s+\d", ""),
            Some(vec!["ecure.exe".into()])
        );
        assert_eq!(lits(r"\w+WerFault\d", "i"), Some(vec!["werfault".into()]));
        assert_eq!(lits(r"\w+[Xx][.]exe", ""), Some(vec!["x.exe".into()]));
        // [Ab] is two letters, not one letter in two cases.
        assert_eq!(lits(r"\w+[Ab]cd\w", ""), Some(vec!["cd".into()]));
        let re = regex::Regex::new(r"(?i)\w+werfault\d").unwrap();
        assert!(re.is_match("xWERFAULT1"));
        assert!("xwerfault1".contains("werfault"));
        // Every match does contain the literal, lower-cased.
        let re = regex::Regex::new(r"(?i)a.*MiD-Dle.*z").unwrap();
        let hay = "A xx MID-DLE yy Z";
        assert!(re.is_match(hay));
        assert_eq!(lits(r"a.*MiD-Dle.*z", ""), Some(vec!["mid-dle".into()]));
    }

    #[test]
    fn no_literals_when_a_match_needs_none() {
        assert_eq!(lits(r".*", ""), None);
        assert_eq!(lits(r"\w+", ""), None);
        assert_eq!(lits(r"a?", ""), None);
        assert_eq!(lits(r"[^x]{3}", ""), None);
        // `ſ` and the Kelvin sign match (?i)s and (?i)k but do not lower
        // to them: literals stop before them.
        assert_eq!(lits("(?i)mask", ""), Some(vec!["ma".into()]));
        assert_eq!(lits("mask", "i"), Some(vec!["ma".into()]));
        assert_eq!(lits("(?i)ks", ""), None);
        assert_eq!(lits("mask", ""), Some(vec!["mask".into()]));
        // Longer literals with a shorter one at the same end add nothing.
        assert_eq!(lits(r"(abc|ab)\d", ""), Some(vec!["ab".into()]));
    }
}
