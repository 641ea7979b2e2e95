//! Value modifiers: turning `Field|mod|mod: value` into matchers.

use base64::Engine as _;
use vigie_core::{FieldNames, TimePart};

use crate::matcher::{Cidr, Cmp, RefMode, RegexTest, ValueMatcher};
use crate::pattern::{literal, parse_wildcards, StrMatch, Token};
use crate::regex_literals::MIN_LITERAL;

/// Text encodings applied before base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    LittleEndian,
    BigEndian,
    LittleEndianWithBom,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    Exact,
    Contains,
    StartsWith,
    EndsWith,
}

/// The modifiers of one detection item, parsed.
#[derive(Clone, Debug, Default)]
pub struct Modifiers {
    placement: Option<Placement>,
    pub all: bool,
    pub neq: bool,
    base64: bool,
    base64offset: bool,
    encoding: Option<Encoding>,
    windash: bool,
    re: bool,
    re_flags: String,
    cidr: bool,
    pub cased: bool,
    pub exists: bool,
    cmp: Option<Cmp>,
    fieldref: bool,
    time_part: Option<TimePart>,
    /// `expand`: `%name%` placeholders are replaced by their values.
    pub expand: bool,
}

impl Modifiers {
    pub fn parse(mods: &[&str]) -> Result<Modifiers, String> {
        let mut m = Modifiers::default();
        let set_placement = |m: &mut Modifiers, p: Placement| {
            if m.placement.is_some_and(|old| old != p) {
                return Err("conflicting contains/startswith/endswith modifiers".to_string());
            }
            m.placement = Some(p);
            Ok(())
        };
        for raw in mods {
            match raw.to_ascii_lowercase().as_str() {
                "contains" => set_placement(&mut m, Placement::Contains)?,
                "startswith" => set_placement(&mut m, Placement::StartsWith)?,
                "endswith" => set_placement(&mut m, Placement::EndsWith)?,
                "all" => m.all = true,
                "neq" => m.neq = true,
                "base64" => m.base64 = true,
                "base64offset" => m.base64offset = true,
                "utf16le" | "wide" => m.encoding = Some(Encoding::LittleEndian),
                "utf16be" => m.encoding = Some(Encoding::BigEndian),
                "utf16" => m.encoding = Some(Encoding::LittleEndianWithBom),
                "windash" => m.windash = true,
                "re" => m.re = true,
                "i" | "m" | "s" if m.re => m.re_flags.push_str(raw),
                "cidr" => m.cidr = true,
                "cased" => m.cased = true,
                "exists" => m.exists = true,
                "gt" => m.cmp = Some(Cmp::Gt),
                "gte" => m.cmp = Some(Cmp::Gte),
                "lt" => m.cmp = Some(Cmp::Lt),
                "lte" => m.cmp = Some(Cmp::Lte),
                "fieldref" => m.fieldref = true,
                "expand" => m.expand = true,
                "minute" => m.time_part = Some(TimePart::Minute),
                "hour" => m.time_part = Some(TimePart::Hour),
                "day" => m.time_part = Some(TimePart::Day),
                "week" => m.time_part = Some(TimePart::Week),
                "month" => m.time_part = Some(TimePart::Month),
                "year" => m.time_part = Some(TimePart::Year),
                other => return Err(format!("unknown modifier '{other}'")),
            }
        }
        if m.encoding.is_some() && !(m.base64 || m.base64offset) {
            return Err("utf16 modifiers need base64 or base64offset after them".into());
        }
        if m.re && (m.placement.is_some() || m.base64 || m.base64offset || m.windash) {
            return Err("modifier 're' cannot be combined with string modifiers".into());
        }
        Ok(m)
    }

    /// Compiles one rule value into its alternatives.
    pub fn compile_value(
        &self,
        value: &str,
        names: &mut FieldNames,
    ) -> Result<Vec<ValueMatcher>, String> {
        if self.re {
            let re = compile_regex(value, &self.re_flags)?;
            let literals =
                crate::regex_literals::required_literals(value, &self.re_flags, MIN_LITERAL);
            return Ok(vec![ValueMatcher::Regex(Box::new(RegexTest {
                re,
                literals,
            }))]);
        }
        if self.cidr {
            let net = Cidr::parse(value).ok_or_else(|| format!("invalid CIDR '{value}'"))?;
            return Ok(vec![ValueMatcher::Cidr(net)]);
        }
        if let Some(part) = self.time_part {
            let value: i64 = value
                .trim()
                .parse()
                .map_err(|_| format!("'{value}' is not a whole number for a time-part modifier"))?;
            return Ok(vec![ValueMatcher::TimePart {
                part,
                cmp: self.cmp,
                value,
            }]);
        }
        if let Some(cmp) = self.cmp {
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("'{value}' is not a number for a numeric comparison"))?;
            return Ok(vec![ValueMatcher::Num { cmp, value }]);
        }
        if self.fieldref {
            let mode = match self.placement {
                None | Some(Placement::Exact) => RefMode::Equals,
                Some(Placement::Contains) => RefMode::Contains,
                Some(Placement::StartsWith) => RefMode::StartsWith,
                Some(Placement::EndsWith) => RefMode::EndsWith,
            };
            return Ok(vec![ValueMatcher::FieldRef {
                field: names.intern(value),
                cased: self.cased,
                mode,
            }]);
        }
        let texts = if self.windash {
            windash_variants(value)?
        } else {
            vec![value.to_owned()]
        };
        let mut token_sets: Vec<Vec<Token>> = Vec::new();
        for text in &texts {
            if self.base64 || self.base64offset {
                let bytes = encode(text, self.encoding);
                if self.base64 {
                    token_sets.push(literal(
                        &base64::engine::general_purpose::STANDARD.encode(&bytes),
                    ));
                } else {
                    for variant in base64_offsets(&bytes) {
                        token_sets.push(literal(&variant));
                    }
                }
            } else {
                token_sets.push(parse_wildcards(text));
            }
        }
        // Encoded values are matched by content; base64offset implies contains.
        let placement = self.placement.unwrap_or(if self.base64offset {
            Placement::Contains
        } else {
            Placement::Exact
        });
        Ok(token_sets
            .into_iter()
            .map(|mut tokens| {
                if matches!(placement, Placement::Contains | Placement::EndsWith)
                    && tokens.first() != Some(&Token::Star)
                {
                    tokens.insert(0, Token::Star);
                }
                if matches!(placement, Placement::Contains | Placement::StartsWith)
                    && tokens.last() != Some(&Token::Star)
                {
                    tokens.push(Token::Star);
                }
                ValueMatcher::Str {
                    m: StrMatch::compile(tokens, !self.cased),
                    cased: self.cased,
                }
            })
            .collect())
    }
}

/// Sigma regexes are PCRE-flavoured; the `regex` crate covers the subset
/// the specification allows. A size limit keeps hostile rules from
/// exhausting memory.
fn compile_regex(pattern: &str, flags: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .size_limit(1 << 22)
        .dfa_size_limit(1 << 22)
        .build()
        .map_err(|e| {
            let first = e
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string();
            format!("regex '{pattern}' does not compile: {first}")
        })
}

fn encode(text: &str, encoding: Option<Encoding>) -> Vec<u8> {
    match encoding {
        None => text.as_bytes().to_vec(),
        Some(Encoding::LittleEndian) => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Some(Encoding::BigEndian) => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Some(Encoding::LittleEndianWithBom) => [0xff, 0xfe]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
    }
}

/// The three base64 forms of `bytes` at offsets 0, 1 and 2 within a longer
/// encoded string, trimmed to the characters that do not depend on the
/// neighbouring bytes.
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for shift in 0..3 {
        let mut padded = vec![b' '; shift];
        padded.extend_from_slice(bytes);
        let encoded = engine.encode(&padded);
        let end_trim = END[(bytes.len() + shift) % 3];
        let stop = encoded.len().saturating_sub(end_trim);
        if START[shift] <= stop {
            out.push(encoded[START[shift]..stop].to_string());
        }
    }
    out.retain(|s| !s.is_empty());
    out.dedup();
    out
}

/// Every way to write the command-line switches of `value` with the dash
/// characters Windows accepts. Only dashes that start a switch (at the
/// start or after whitespace) vary, like SigmaHQ's tooling.
fn windash_variants(value: &str) -> Result<Vec<String>, String> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let chars: Vec<char> = value.chars().collect();
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            DASHES.contains(&chars[i])
                && (i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == '*')
        })
        .collect();
    if positions.len() > 4 {
        return Err(format!(
            "windash on '{value}' has {} switches: too many permutations",
            positions.len()
        ));
    }
    let mut out = Vec::new();
    let combos = DASHES.len().pow(positions.len() as u32);
    for mut n in 0..combos {
        let mut variant = chars.clone();
        for &p in &positions {
            variant[p] = DASHES[n % DASHES.len()];
            n /= DASHES.len();
        }
        out.push(variant.into_iter().collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64offset_matches_the_specification_example() {
        // The specification's example: "/bin/bash" at the three offsets.
        let v = base64_offsets(b"/bin/bash");
        assert_eq!(v, vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]);
    }

    #[test]
    fn utf16_encodings() {
        assert_eq!(encode("cmd", Some(Encoding::LittleEndian)), b"c\0m\0d\0");
        assert_eq!(encode("cmd", Some(Encoding::BigEndian)), b"\0c\0m\0d");
        assert_eq!(
            encode("cmd", Some(Encoding::LittleEndianWithBom)),
            b"\xff\xfec\0m\0d\0".to_vec()
        );
    }

    #[test]
    fn windash_permutes_switch_dashes_only() {
        let v = windash_variants("-foo x-y").unwrap();
        assert_eq!(v.len(), 5);
        assert!(v.contains(&"/foo x-y".to_string()));
        assert!(v.contains(&"\u{2013}foo x-y".to_string()));
        assert_eq!(windash_variants(" -a -b").unwrap().len(), 25);
        assert!(windash_variants("-a -b -c -d -e").is_err());
    }

    #[test]
    fn modifier_errors() {
        assert!(Modifiers::parse(&["bogus"]).is_err());
        assert!(Modifiers::parse(&["contains", "startswith"]).is_err());
        assert!(Modifiers::parse(&["wide"]).is_err());
        assert!(Modifiers::parse(&["re", "contains"]).is_err());
        assert!(Modifiers::parse(&["wide", "base64offset", "contains"]).is_ok());
        assert!(Modifiers::parse(&["re", "i", "m", "s"]).is_ok());
    }
}
