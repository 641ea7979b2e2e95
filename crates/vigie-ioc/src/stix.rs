//! STIX 2.1 indicators: bundles (or arrays, or one object) of `indicator`
//! objects whose `pattern` is a STIX pattern.
//!
//! Supported patterns: comparisons `PATH = 'value'`, `PATH IN ('a', 'b')`,
//! and `ipv4-addr:value ISSUBSET '10.0.0.0/8'`, joined with `AND`/`OR` and
//! parentheses inside an observation `[...]`, and observations joined with
//! `AND`/`OR`. Logs have no observation objects, so every `AND` means "in
//! the same event". Refused, each with its reason: other operators
//! (`MATCHES`, `LIKE`, `!=`, …), `NOT`, `FOLLOWEDBY` and qualifiers
//! (`WITHIN`, `REPEATS`, `START … STOP`).
//!
//! Object paths (quotes around path parts are optional):
//!
//! | path | type |
//! | --- | --- |
//! | `ipv4-addr:value`, `ipv6-addr:value`, `network-traffic:src_ref.value`, `network-traffic:dst_ref.value` | ip (CIDR allowed) |
//! | `domain-name:value` | domain |
//! | `url:value` | url |
//! | `file:hashes.MD5`, `file:hashes.'SHA-1'`, `file:hashes.'SHA-256'` | hash |
//! | `file:name` | filename |
//! | `email-addr:value`, `email-message:from_ref.value`, `email-message:sender_ref.value`, `email-message:to_refs[*].value` | email |
//! | `user-account:user_id`, `user-account:account_login` | user |
//! | `x509-certificate:hashes.'SHA-1'`, `x509-certificate:hashes.'SHA-256'` | thumbprint |
//! | `network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'` | user-agent |
//! | `x-vigie:kid`, `x-vigie:app_id`, `x-vigie:tenant_id`, `x-vigie:user_agent` | vigie's extensions for what STIX has no object for |

use serde_json::Value;

use crate::indicator::{Atom, Indicator, IocType};
use crate::list::parse_time;
use crate::load::FeedCtx;
use crate::normalize::normalize;

/// A pattern may expand to at most this many alternatives.
const MAX_ALTERNATIVES: usize = 1024;
/// Patterns longer than this are refused (they are not IOCs).
const MAX_PATTERN_BYTES: usize = 64 * 1024;
/// Nesting of parentheses and brackets.
const MAX_DEPTH: usize = 64;

pub fn looks_like_stix(doc: &Value) -> bool {
    let is_stix_object = |v: &Value| v.get("type").and_then(Value::as_str).is_some();
    match doc {
        Value::Object(_) => is_stix_object(doc),
        Value::Array(items) => items.iter().all(is_stix_object),
        _ => false,
    }
}

pub fn load(doc: &Value, ctx: &mut FeedCtx<'_>) {
    let objects: &[Value] = match doc {
        Value::Array(items) => items,
        Value::Object(_) => match doc.get("objects").and_then(Value::as_array) {
            Some(items) => items,
            None => std::slice::from_ref(doc),
        },
        _ => &[],
    };
    for (n, object) in objects.iter().enumerate() {
        if object.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        let at = object
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("objects[{n}]"), str::to_owned);
        if object.get("revoked").and_then(Value::as_bool) == Some(true) {
            ctx.report.skipped += 1;
            continue;
        }
        match indicator(object, &at) {
            Ok(ind) => ctx.push(ind),
            Err(reason) => ctx.bad(at, reason),
        }
    }
}

fn indicator(object: &Value, id: &str) -> Result<Indicator, String> {
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    if let Some(kind) = text("pattern_type") {
        if kind != "stix" {
            return Err(format!(
                "pattern_type '{kind}' is not supported (only stix)"
            ));
        }
    }
    let pattern = text("pattern").ok_or("indicator without a pattern")?;
    let any_of = parse_pattern(pattern)?;
    let time = |key: &str| -> Result<Option<i64>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_time(s)
                .map(Some)
                .ok_or_else(|| format!("{key} '{s}' is not a timestamp")),
            Some(other) => Err(format!("{key} {other} is not a timestamp")),
        }
    };
    let confidence = match object.get("confidence") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|c| *c <= 100)
                .map(|c| c as u8)
                .ok_or_else(|| format!("confidence {v} is not an integer 0-100"))?,
        ),
    };
    let strings = |key: &str| -> Vec<Box<str>> {
        object
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(Box::from).collect())
            .unwrap_or_default()
    };
    let mut tags = strings("labels");
    tags.extend(strings("indicator_types"));
    let references = object
        .get("external_references")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("url").and_then(Value::as_str))
                .map(Box::from)
                .collect()
        })
        .unwrap_or_default();
    let description = match (text("name"), text("description")) {
        (Some(n), Some(d)) => format!("{n}: {d}"),
        (Some(s), None) | (None, Some(s)) => s.to_owned(),
        (None, None) => String::new(),
    };
    Ok(Indicator {
        id: id.into(),
        any_of,
        confidence,
        description: description.into(),
        tags,
        references,
        valid_from: time("valid_from")?,
        valid_until: time("valid_until")?,
        ..Default::default()
    })
}

/// Parses a STIX pattern into alternatives of atoms that must all match.
pub fn parse_pattern(pattern: &str) -> Result<Vec<Vec<Atom>>, String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err("pattern longer than 64 KiB".into());
    }
    let tokens = tokenize(pattern)?;
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        depth: 0,
    };
    let dnf = parser.observations_or()?;
    match parser.peek() {
        None => Ok(dnf),
        Some(t) => Err(format!("unexpected {} after the pattern", t.describe())),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    LParen,
    RParen,
    Comma,
    Op(String),
    Word(String),
    Path(String, String),
    Str(String),
    /// `h'..'`, `b'..'`, `t'..'` literals.
    Typed(char, String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Open => "'['".into(),
            Token::Close => "']'".into(),
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
            Token::Comma => "','".into(),
            Token::Op(o) => format!("operator '{o}'"),
            Token::Word(w) => format!("'{w}'"),
            Token::Path(t, p) => format!("'{t}:{p}'"),
            Token::Str(s) => format!("string '{s}'"),
            Token::Typed(k, s) => format!("{k}'{s}'"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let quoted = |i: &mut usize| -> Result<String, String> {
        // at the opening quote
        *i += 1;
        let mut s = String::new();
        loop {
            match chars.get(*i) {
                None => return Err("unterminated string".into()),
                Some('\\') => {
                    match chars.get(*i + 1) {
                        Some(c @ ('\'' | '\\')) => s.push(*c),
                        _ => return Err("bad escape in string (only \\' and \\\\)".into()),
                    }
                    *i += 2;
                }
                Some('\'') => {
                    *i += 1;
                    return Ok(s);
                }
                Some(c) => {
                    s.push(*c);
                    *i += 1;
                }
            }
        }
    };
    let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    while let Some(&c) = chars.get(i) {
        match c {
            c if c.is_whitespace() => i += 1,
            '[' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ']' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' => tokens.push(Token::Str(quoted(&mut i)?)),
            '=' | '!' | '<' | '>' => {
                let mut op = c.to_string();
                if chars.get(i + 1) == Some(&'=') {
                    op.push('=');
                    i += 1;
                }
                i += 1;
                tokens.push(Token::Op(op));
            }
            c if word_char(c) => {
                let start = i;
                while chars.get(i).is_some_and(|c| word_char(*c)) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if matches!(word.as_str(), "h" | "b" | "t") && chars.get(i) == Some(&'\'') {
                    let kind = word.chars().next().unwrap_or('t');
                    tokens.push(Token::Typed(kind, quoted(&mut i)?));
                } else if chars.get(i) == Some(&':') {
                    i += 1;
                    tokens.push(Token::Path(
                        word.to_ascii_lowercase(),
                        path(&chars, &mut i)?,
                    ));
                } else {
                    tokens.push(Token::Word(word));
                }
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(tokens)
}

/// An object path after `type:`, with quotes around parts removed:
/// `hashes.'SHA-256'` reads as `hashes.SHA-256`, `to_refs[*].value` stays.
fn path(chars: &[char], i: &mut usize) -> Result<String, String> {
    let part_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::new();
    loop {
        if chars.get(*i) == Some(&'\'') {
            *i += 1;
            loop {
                match chars.get(*i) {
                    None => return Err("unterminated quoted path part".into()),
                    Some('\'') => {
                        *i += 1;
                        break;
                    }
                    Some(&c) => {
                        out.push(c);
                        *i += 1;
                    }
                }
            }
        } else {
            let start = out.len();
            while let Some(&c) = chars.get(*i).filter(|c| part_char(**c)) {
                out.push(c);
                *i += 1;
            }
            if out.len() == start {
                return Err("empty object path part".into());
            }
        }
        // A list index: `[*]` or `[0]`.
        if chars.get(*i) == Some(&'[') {
            let close = chars[*i..].iter().position(|c| *c == ']');
            if let Some(len) = close {
                let inner: String = chars[*i + 1..*i + len].iter().collect();
                if inner == "*" || (!inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()))
                {
                    out.push_str(&format!("[{inner}]"));
                    *i += len + 1;
                }
            }
        }
        if chars.get(*i) == Some(&'.') {
            out.push('.');
            *i += 1;
        } else {
            return Ok(out);
        }
    }
}

/// The indicator type of an object path.
fn path_type(object: &str, path: &str) -> Result<IocType, String> {
    let p = path.to_ascii_lowercase();
    let hash_alg = p.strip_prefix("hashes.").map(|a| a.replace('-', ""));
    let ty = match (object, p.as_str()) {
        ("ipv4-addr" | "ipv6-addr", "value") => IocType::Ip,
        ("network-traffic", "src_ref.value" | "dst_ref.value") => IocType::Ip,
        ("domain-name", "value") => IocType::Domain,
        ("url", "value") => IocType::Url,
        ("file", "name") => IocType::FileName,
        ("file", _) if matches!(hash_alg.as_deref(), Some("md5" | "sha1" | "sha256")) => {
            IocType::Hash
        }
        ("x509-certificate", _) if matches!(hash_alg.as_deref(), Some("sha1" | "sha256")) => {
            IocType::Thumbprint
        }
        ("email-addr", "value") => IocType::Email,
        (
            "email-message",
            "from_ref.value" | "sender_ref.value" | "to_refs[*].value" | "cc_refs[*].value",
        ) => IocType::Email,
        ("user-account", "user_id" | "account_login") => IocType::User,
        ("network-traffic", "extensions.http-request-ext.request_header.user-agent") => {
            IocType::UserAgent
        }
        ("x-vigie", "kid") => IocType::KeyId,
        ("x-vigie", "app_id") => IocType::AppId,
        ("x-vigie", "tenant_id") => IocType::TenantId,
        ("x-vigie", "user_agent") => IocType::UserAgent,
        _ => return Err(format!("object path '{object}:{path}' is not supported")),
    };
    Ok(ty)
}

type Dnf = Vec<Vec<Atom>>;

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.pos);
        self.pos += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, want: Token) -> Result<(), String> {
        match self.next() {
            Some(t) if *t == want => Ok(()),
            Some(t) => Err(format!(
                "expected {}, found {}",
                want.describe(),
                t.describe()
            )),
            None => Err(format!("expected {} at the end", want.describe())),
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("pattern nested too deeply".into());
        }
        Ok(())
    }

    fn observations_or(&mut self) -> Result<Dnf, String> {
        let mut dnf = self.observations_and()?;
        while self.keyword("OR") {
            self.pos += 1;
            dnf.extend(self.observations_and()?);
            check_size(&dnf)?;
        }
        Ok(dnf)
    }

    fn observations_and(&mut self) -> Result<Dnf, String> {
        let mut dnf = self.observation()?;
        loop {
            if self.keyword("AND") {
                self.pos += 1;
                let right = self.observation()?;
                dnf = cross(dnf, right)?;
            } else if self.keyword("FOLLOWEDBY") {
                return Err("FOLLOWEDBY is not supported (no event order in IOC matching)".into());
            } else {
                return Ok(dnf);
            }
        }
    }

    fn observation(&mut self) -> Result<Dnf, String> {
        self.enter()?;
        let dnf = match self.next() {
            Some(Token::Open) => {
                let dnf = self.comparisons_or()?;
                self.expect(Token::Close)?;
                dnf
            }
            Some(Token::LParen) => {
                let dnf = self.observations_or()?;
                self.expect(Token::RParen)?;
                dnf
            }
            Some(t) => return Err(format!("expected '[' or '(', found {}", t.describe())),
            None => return Err("empty pattern".into()),
        };
        for qualifier in ["WITHIN", "REPEATS", "START"] {
            if self.keyword(qualifier) {
                return Err(format!("qualifier {qualifier} is not supported"));
            }
        }
        self.depth -= 1;
        Ok(dnf)
    }

    fn comparisons_or(&mut self) -> Result<Dnf, String> {
        let mut dnf = self.comparisons_and()?;
        while self.keyword("OR") {
            self.pos += 1;
            dnf.extend(self.comparisons_and()?);
            check_size(&dnf)?;
        }
        Ok(dnf)
    }

    fn comparisons_and(&mut self) -> Result<Dnf, String> {
        let mut dnf = self.comparison()?;
        while self.keyword("AND") {
            self.pos += 1;
            let right = self.comparison()?;
            dnf = cross(dnf, right)?;
        }
        Ok(dnf)
    }

    fn comparison(&mut self) -> Result<Dnf, String> {
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            self.enter()?;
            let dnf = self.comparisons_or()?;
            self.expect(Token::RParen)?;
            self.depth -= 1;
            return Ok(dnf);
        }
        let (object, path) = match self.next() {
            Some(Token::Path(o, p)) => (o.clone(), p.clone()),
            Some(t) => return Err(format!("expected an object path, found {}", t.describe())),
            None => return Err("expected a comparison at the end".into()),
        };
        let ty = path_type(&object, &path)?;
        if self.keyword("NOT") {
            return Err("NOT is not supported".into());
        }
        let op = match self.next() {
            Some(Token::Op(op)) => op.clone(),
            Some(Token::Word(w)) => w.to_ascii_uppercase(),
            Some(t) => return Err(format!("expected an operator, found {}", t.describe())),
            None => return Err("expected an operator at the end".into()),
        };
        let values = match op.as_str() {
            "=" => vec![self.string()?],
            "ISSUBSET" if ty == IocType::Ip => vec![self.string()?],
            "IN" => self.string_list()?,
            other => return Err(format!("operator {other} is not supported")),
        };
        values
            .iter()
            .map(|v| {
                normalize(ty, v)
                    .map(|atom| vec![atom])
                    .map_err(|e| format!("{object}:{path}: {e}"))
            })
            .collect()
    }

    fn string(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Str(s)) => Ok(s.clone()),
            Some(t) => Err(format!("expected a quoted string, found {}", t.describe())),
            None => Err("expected a quoted string at the end".into()),
        }
    }

    fn string_list(&mut self) -> Result<Vec<String>, String> {
        self.expect(Token::LParen)?;
        let mut values = vec![self.string()?];
        while self.peek() == Some(&Token::Comma) {
            self.pos += 1;
            values.push(self.string()?);
            if values.len() > MAX_ALTERNATIVES {
                return Err("IN list longer than 1024 values".into());
            }
        }
        self.expect(Token::RParen)?;
        Ok(values)
    }
}

fn check_size(dnf: &Dnf) -> Result<(), String> {
    if dnf.len() > MAX_ALTERNATIVES {
        return Err("pattern expands to more than 1024 alternatives".into());
    }
    Ok(())
}

/// `(a OR b) AND (c OR d)` = `ac OR ad OR bc OR bd`.
fn cross(left: Dnf, right: Dnf) -> Result<Dnf, String> {
    if left.len().saturating_mul(right.len()) > MAX_ALTERNATIVES {
        return Err("pattern expands to more than 1024 alternatives".into());
    }
    let mut out = Vec::with_capacity(left.len() * right.len());
    for l in &left {
        for r in &right {
            let mut all = l.clone();
            all.extend(r.iter().cloned());
            out.push(all);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::FeedSet;

    fn shape(pattern: &str) -> Vec<Vec<String>> {
        parse_pattern(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .iter()
            .map(|all| {
                all.iter()
                    .map(|a| format!("{}:{}", a.ty(), a.display()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn common_pattern_forms() {
        assert_eq!(
            shape("[ipv4-addr:value = '198.51.100.7']"),
            vec![vec!["ip:198.51.100.7"]]
        );
        assert_eq!(
            shape("[ipv4-addr:value = '198.51.100.0/24']"),
            vec![vec!["ip:198.51.100.0/24"]]
        );
        assert_eq!(
            shape("[ipv4-addr:value ISSUBSET '10.0.0.0/8']"),
            vec![vec!["ip:10.0.0.0/8"]]
        );
        assert_eq!(
            shape("[ipv6-addr:value = '2001:db8::/32']"),
            vec![vec!["ip:2001:db8::/32"]]
        );
        assert_eq!(
            shape("[domain-name:value = 'Evil.Example']"),
            vec![vec!["domain:evil.example"]]
        );
        assert_eq!(
            shape("[url:value = 'http://evil.example/a']"),
            vec![vec!["url:http://evil.example/a"]]
        );
        assert_eq!(
            shape("[file:hashes.'SHA-256' = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']"),
            vec![vec![format!("hash:{}", "a".repeat(64))]]
        );
        assert_eq!(
            shape("[file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']").len(),
            1
        );
        assert_eq!(
            shape("[file:hashes.'SHA-1' = 'd4b4cccda9228624656bff33d8110955779632aa']").len(),
            1
        );
        assert_eq!(
            shape("[email-addr:value = 'a@evil.example']"),
            vec![vec!["email:a@evil.example"]]
        );
        assert_eq!(
            shape("[user-account:user_id = 'Admin']"),
            vec![vec!["user:admin"]]
        );
        assert_eq!(
            shape("[x509-certificate:hashes.'SHA-1' = 'd4b4cccda9228624656bff33d8110955779632aa']"),
            vec![vec!["thumbprint:d4b4cccda9228624656bff33d8110955779632aa"]]
        );
        assert_eq!(
            shape("[x-vigie:kid = '1LTMzakihiRla_8z2BEJVXeWMqo']"),
            vec![vec!["kid:1LTMzakihiRla_8z2BEJVXeWMqo"]]
        );
        assert_eq!(
            shape("[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'Bad/1.0']"),
            vec![vec!["user-agent:bad/1.0"]]
        );
        assert_eq!(
            shape("[email-message:to_refs[*].value = 'x@y.example']").len(),
            1
        );
    }

    #[test]
    fn and_or_and_in_expand_to_alternatives() {
        assert_eq!(
            shape("[domain-name:value = 'a.example' OR domain-name:value = 'b.example']"),
            vec![vec!["domain:a.example"], vec!["domain:b.example"]]
        );
        assert_eq!(
            shape("[ipv4-addr:value = '192.0.2.1' AND (domain-name:value = 'a.example' OR domain-name:value = 'b.example')]"),
            vec![
                vec!["ip:192.0.2.1", "domain:a.example"],
                vec!["ip:192.0.2.1", "domain:b.example"]
            ]
        );
        assert_eq!(
            shape("[ipv4-addr:value = '192.0.2.1'] AND [url:value = 'http://x.example/']"),
            vec![vec!["ip:192.0.2.1", "url:http://x.example"]]
        );
        assert_eq!(
            shape("[ipv4-addr:value = '192.0.2.1'] OR ([domain-name:value = 'c.example'])"),
            vec![vec!["ip:192.0.2.1"], vec!["domain:c.example"]]
        );
        assert_eq!(
            shape("[domain-name:value IN ('a.example', 'b.example')]").len(),
            2
        );
        assert_eq!(
            shape("[user-account:user_id = 'o\\'brien']"),
            vec![vec!["user:o'brien"]]
        );
    }

    #[test]
    fn malformed_and_unsupported_patterns_say_why() {
        for (pattern, why) in [
            ("[ipv4-addr:value = '1.2.3.4'", "expected ']'"),
            ("ipv4-addr:value = '1.2.3.4'", "expected '[' or '('"),
            ("[ipv4-addr:value = '1.2.3.999']", "not an IP address"),
            ("[ipv4-addr:value MATCHES '^1']", "operator MATCHES"),
            ("[ipv4-addr:value != '1.2.3.4']", "operator !="),
            ("[process:name = 'x']", "object path 'process:name'"),
            ("[file:hashes.'SHA-512' = 'aa']", "not supported"),
            (
                "[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS",
                "qualifier WITHIN",
            ),
            ("[a:b = 'x'] FOLLOWEDBY [c:d = 'y']", "not supported"),
            ("[domain-name:value = 'unterminated]", "unterminated string"),
            ("[domain-name:value = 'a.example'] extra", "unexpected"),
            ("", "empty pattern"),
            ("[domain-name:value NOT = 'a.example']", "NOT"),
        ] {
            let err = parse_pattern(pattern).expect_err(pattern);
            assert!(err.contains(why), "{pattern}: {err}");
        }
    }

    #[test]
    fn deep_or_huge_patterns_are_refused_not_crashed() {
        let deep = format!(
            "{}[domain-name:value = 'a.example']{}",
            "(".repeat(500),
            ")".repeat(500)
        );
        assert!(parse_pattern(&deep).is_err());
        let clause = "(domain-name:value = 'a.example' OR domain-name:value = 'b.example')";
        let wide = format!("[{}]", [clause; 12].join(" AND "));
        assert!(parse_pattern(&wide).unwrap_err().contains("alternatives"));
    }

    #[test]
    fn bundle_loads_good_indicators_and_reports_bad_ones() {
        let bundle = r#"{"type":"bundle","id":"bundle--1","objects":[
          {"type":"identity","id":"identity--1","name":"x"},
          {"type":"indicator","id":"indicator--good","name":"C2","pattern":"[domain-name:value = 'evil.example']",
           "pattern_type":"stix","valid_from":"2023-05-15T00:00:00Z","valid_until":"2023-08-01T00:00:00Z",
           "confidence":80,"labels":["storm-0558"],"indicator_types":["malicious-activity"],
           "external_references":[{"source_name":"ref","url":"https://ref.example/x"}]},
          {"type":"indicator","id":"indicator--bad","pattern":"[ipv4-addr:value = 'nope']","pattern_type":"stix","valid_from":"2023-01-01T00:00:00Z"},
          {"type":"indicator","id":"indicator--sigma","pattern":"title: x","pattern_type":"sigma","valid_from":"2023-01-01T00:00:00Z"},
          {"type":"indicator","id":"indicator--revoked","revoked":true,"pattern":"[domain-name:value = 'old.example']","pattern_type":"stix","valid_from":"2023-01-01T00:00:00Z"},
          {"type":"indicator","id":"indicator--time","pattern":"[domain-name:value = 'b.example']","valid_from":"yesterday"}
        ]}"#;
        let mut set = FeedSet::new();
        set.add_text("feed", "feed.json", bundle);
        assert_eq!(set.indicators.len(), 1);
        let good = &set.indicators[0];
        assert_eq!(&*good.id, "indicator--good");
        assert_eq!(good.confidence, Some(80));
        assert!(good.valid_from.is_some() && good.valid_until.is_some());
        assert_eq!(good.tags.len(), 2);
        assert_eq!(good.references.len(), 1);
        assert_eq!(set.report.skipped, 1);
        let bad: Vec<(&str, &str)> = set
            .report
            .bad
            .iter()
            .map(|p| (p.at.as_str(), p.reason.as_str()))
            .collect();
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert_eq!(bad[0].0, "indicator--bad");
        assert!(bad[0].1.contains("not an IP address"));
        assert!(bad[1].1.contains("pattern_type 'sigma'"));
        assert!(bad[2].1.contains("valid_from 'yesterday'"));
    }
}
