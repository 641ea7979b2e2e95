//! Sigma string values: wildcard parsing and fast matching.
//!
//! A value is parsed into literal runs and wildcards, then classified: most
//! Sigma values end up as plain equality, prefix, suffix or substring tests,
//! which run as `memchr`'s vectorised searches instead of a glob walk.

use memchr::memmem;
use vigie_core::{has_prefix, has_suffix, same_text};

/// One piece of a parsed Sigma value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Lit(String),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Parses Sigma's escape rules: `\*`, `\?` and `\\` are literal `*`, `?`
/// and `\`; any other backslash is itself; unescaped `*` and `?` are
/// wildcards.
pub fn parse_wildcards(value: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut lit = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    lit.push(next);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    tokens.push(Token::Lit(std::mem::take(&mut lit)));
                }
                if c == '*' {
                    // Collapse runs of stars: `**` means the same as `*`.
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                } else {
                    tokens.push(Token::One);
                }
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        tokens.push(Token::Lit(lit));
    }
    tokens
}

/// Tokens for a value taken literally (no wildcards), as encodings need.
pub fn literal(value: &str) -> Vec<Token> {
    if value.is_empty() {
        Vec::new()
    } else {
        vec![Token::Lit(value.to_owned())]
    }
}

/// A compiled string test.
#[derive(Clone, Debug)]
pub enum StrMatch {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(Box<memmem::Finder<'static>>),
    /// `*`: any value at all (but the field must exist).
    Any,
    Glob(Vec<Token>),
}

impl StrMatch {
    /// Builds the cheapest matcher for tokens. When `fold` is set the
    /// literals are lower-cased, to be matched against lower-cased values.
    pub fn compile(mut tokens: Vec<Token>, fold: bool) -> StrMatch {
        if fold {
            for t in &mut tokens {
                if let Token::Lit(s) = t {
                    *s = s.to_lowercase();
                }
            }
        }
        match tokens.as_slice() {
            [] => StrMatch::Equals(String::new()),
            [Token::Lit(s)] => StrMatch::Equals(s.clone()),
            [Token::Star] => StrMatch::Any,
            [Token::Lit(s), Token::Star] => StrMatch::StartsWith(s.clone()),
            [Token::Star, Token::Lit(s)] => StrMatch::EndsWith(s.clone()),
            [Token::Star, Token::Lit(s), Token::Star] => {
                StrMatch::Contains(Box::new(memmem::Finder::new(s.as_bytes()).into_owned()))
            }
            _ => StrMatch::Glob(tokens),
        }
    }

    #[inline]
    pub fn is_match(&self, hay: &str) -> bool {
        match self {
            // Inline compares, as in `AnyOf` (no `memcmp` call per test).
            StrMatch::Equals(s) => same_text(hay.as_bytes(), s.as_bytes()),
            StrMatch::StartsWith(s) => has_prefix(hay.as_bytes(), s.as_bytes()),
            StrMatch::EndsWith(s) => has_suffix(hay.as_bytes(), s.as_bytes()),
            StrMatch::Contains(f) => f.find(hay.as_bytes()).is_some(),
            StrMatch::Any => true,
            StrMatch::Glob(tokens) => glob_match(tokens, hay),
        }
    }

    /// The literal text this matcher needs, if it has a single one; the
    /// candidate index of a faster engine keys on it.
    pub fn required_literal(&self) -> Option<&[u8]> {
        match self {
            StrMatch::Equals(s) | StrMatch::StartsWith(s) | StrMatch::EndsWith(s) => {
                Some(s.as_bytes())
            }
            StrMatch::Contains(f) => Some(f.needle()),
            _ => None,
        }
    }
}

/// Wildcard match with backtracking on the last star only, which is
/// linear-time for patterns without `?` and never exponential.
fn glob_match(tokens: &[Token], hay: &str) -> bool {
    // Position in tokens and hay; the most recent star and the hay position
    // it is currently assumed to have consumed up to.
    let (mut t, mut h) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if t < tokens.len() {
            match &tokens[t] {
                Token::Star => {
                    star = Some((t, h));
                    t += 1;
                    continue;
                }
                Token::Lit(s) => {
                    if star.is_some_and(|(st, _)| st + 1 == t) {
                        // Directly after a star: jump to the next occurrence.
                        if let Some(pos) = memmem::find(&hay.as_bytes()[h..], s.as_bytes()) {
                            let start = h + pos;
                            star = Some((t - 1, start));
                            h = start + s.len();
                            t += 1;
                            continue;
                        }
                        return false;
                    }
                    if hay[h..].starts_with(s.as_str()) {
                        h += s.len();
                        t += 1;
                        continue;
                    }
                }
                Token::One => {
                    if let Some(c) = hay[h..].chars().next() {
                        h += c.len_utf8();
                        t += 1;
                        continue;
                    }
                }
            }
        } else if h == hay.len() || matches!(tokens.last(), Some(Token::Star)) {
            return true;
        }
        // Mismatch: let the last star swallow one more character.
        match star {
            Some((st, consumed)) => match hay[consumed..].chars().next() {
                Some(c) => {
                    let next = consumed + c.len_utf8();
                    star = Some((st, next));
                    t = st + 1;
                    h = next;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, hay: &str) -> bool {
        StrMatch::compile(parse_wildcards(pattern), true).is_match(&hay.to_lowercase())
    }

    #[test]
    fn escapes_follow_the_specification() {
        assert_eq!(parse_wildcards(r"a\*b"), vec![Token::Lit("a*b".into())]);
        assert_eq!(parse_wildcards(r"a\?"), vec![Token::Lit("a?".into())]);
        assert_eq!(
            parse_wildcards(r"C:\Windows\*"),
            vec![Token::Lit(r"C:\Windows*".into())]
        );
        assert_eq!(
            parse_wildcards(r"C:\Windows\\*"),
            vec![Token::Lit(r"C:\Windows\".into()), Token::Star]
        );
        assert_eq!(parse_wildcards(r"\\\*"), vec![Token::Lit(r"\*".into())]);
        assert_eq!(parse_wildcards(r"\\\\"), vec![Token::Lit(r"\\".into())]);
        assert_eq!(parse_wildcards(r"a\b"), vec![Token::Lit(r"a\b".into())]);
    }

    #[test]
    fn classification_and_matching() {
        assert!(m("cmd.exe", "CMD.EXE"));
        assert!(!m("cmd.exe", "xcmd.exe"));
        assert!(m("*\\cmd.exe", "C:\\Windows\\cmd.exe"));
        assert!(m("c:\\windows\\\\*", "C:\\Windows\\x"));
        assert!(m("c:\\windows\\*", "C:\\Windows*"));
        assert!(!m("c:\\windows\\*", "C:\\Windows\\x"));
        assert!(m("*mimikatz*", "run Mimikatz now"));
        assert!(m("prog?.exe", "progA.exe"));
        assert!(!m("prog?.exe", "prog.exe"));
        assert!(m("*a*b*c", "xxaxxbxxc"));
        assert!(!m("*a*b*c", "xxaxxbxxcx"));
        assert!(m("a*", "a"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("?é*", "xÉtoile"));
        assert!(m("*?", "é"));
        assert!(!m("*??", "é"));
        assert!(m("*ab*ab*", "aab_xab"));
    }

    #[test]
    fn glob_is_not_exponential() {
        let pattern = "*a*a*a*a*a*a*a*a*a*a*b";
        let hay = "a".repeat(5000);
        assert!(!m(pattern, &hay));
    }
}
