//! Finding JWTs inside arbitrary log text, cheaply: a SIMD search for
//! `eyJ` (the base64url of `{"`), then a check of the shape around it. Text
//! without `eyJ` costs one scan and no allocation.

use std::sync::OnceLock;

use memchr::memmem::Finder;

use crate::jwt::MAX_TOKEN_LEN;

/// Shortest plausible token: `{"alg":"none"}` and `{}` encoded, two dots.
const MIN_TOKEN_LEN: usize = 24;

fn finder() -> &'static Finder<'static> {
    static FINDER: OnceLock<Finder<'static>> = OnceLock::new();
    FINDER.get_or_init(|| Finder::new(b"eyJ"))
}

/// Whether an event may carry a token, from its lower-cased values end to
/// end ([`vigie_core::Event::all_lower`]): one search per event instead of
/// one per value. Every `eyJ` lower-cases to `eyj`, so `false` is certain.
pub fn may_hold_token(all_lower: &str) -> bool {
    static LOWER: OnceLock<Finder<'static>> = OnceLock::new();
    LOWER
        .get_or_init(|| Finder::new(b"eyj"))
        .find(all_lower.as_bytes())
        .is_some()
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Byte ranges of the JWT-shaped strings in `text`: three base64url
/// segments, the first starting with `eyJ`, of a sane length. Encrypted
/// tokens (five segments) are left alone: their claims cannot be read.
pub fn token_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut from = 0usize;
    std::iter::from_fn(move || {
        while from < bytes.len() {
            let start = from + finder().find(&bytes[from..])?;
            let boundary = start == 0 || !(is_b64url(bytes[start - 1]) || bytes[start - 1] == b'.');
            let mut end = start;
            let mut dots = 0usize;
            while end < bytes.len() && (is_b64url(bytes[end]) || bytes[end] == b'.') {
                dots += usize::from(bytes[end] == b'.');
                end += 1;
            }
            from = end.max(start + 1);
            // A sentence may end right after a token: drop trailing dots
            // beyond the two a token has.
            while dots > 2 && end > start && bytes[end - 1] == b'.' {
                end -= 1;
                dots -= 1;
            }
            let len = end - start;
            if !boundary || dots != 2 || !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&len) {
                continue;
            }
            let token = &text[start..end];
            let mut segments = token.split('.');
            let header = segments.next().unwrap_or("");
            let payload = segments.next().unwrap_or("");
            if header.len() >= 10 && payload.len() >= 2 {
                return Some((start, end));
            }
        }
        None
    })
}

/// The JWT-shaped strings in `text`.
pub fn find_tokens(text: &str) -> impl Iterator<Item = &str> + '_ {
    token_spans(text).map(move |(s, e)| &text[s..e])
}

/// Whether `text` holds anything JWT-shaped.
pub fn has_token(text: &str) -> bool {
    token_spans(text).next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl";

    #[test]
    fn finds_tokens_in_log_text() {
        let line = format!(r#"{{"h":"Authorization: Bearer {T}","q":"/cb?id_token={T}&x=1"}}"#);
        assert_eq!(find_tokens(&line).collect::<Vec<_>>(), [T, T]);
        assert_eq!(
            find_tokens(&format!("ends with {T}.")).collect::<Vec<_>>(),
            [T]
        );
        let unsigned = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.";
        assert_eq!(find_tokens(unsigned).collect::<Vec<_>>(), [unsigned]);
    }

    #[test]
    fn ignores_what_is_not_a_token() {
        for text in [
            "",
            "eyJ",
            "no token here",
            "xeyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln",
            "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0",
            "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.a.b.c",
            "eyJhbGciOiJSUzI1NiJ9eyJpc3MiOiJ4In0c2ln",
            "eyJ.a.b",
        ] {
            assert!(!has_token(text), "{text}");
        }
        // Non-ASCII around a token is fine.
        assert!(has_token(&format!("é{T}é")));
    }

    #[test]
    fn event_prefilter_never_hides_a_token() {
        let names = std::sync::Arc::new(vigie_core::FieldNames::new());
        let mut event = vigie_core::Event::new(names);
        event.push(
            "Message",
            "Ünïcode then a Bearer ",
            vigie_core::ValueKind::Str,
        );
        assert!(!may_hold_token(event.all_lower()));
        event.push(
            "Header",
            &format!("Authorization: Bearer {T}"),
            vigie_core::ValueKind::Str,
        );
        assert!(may_hold_token(event.all_lower()));
    }
}
