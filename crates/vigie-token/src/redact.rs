//! Keeping whole tokens out of every output: each JWT-shaped string is
//! replaced by `<jwt sha256:…>`, its fingerprint.

use std::borrow::Cow;

use serde_json::{Map, Value};
use vigie_core::Alert;

use crate::jwt::{fingerprint_of, token_digest};
use crate::scan::token_spans;

/// `text` with every token replaced by its fingerprint (borrowed when there
/// is none).
pub fn redact_str(text: &str) -> Cow<'_, str> {
    let mut spans = token_spans(text).peekable();
    if spans.peek().is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in spans {
        out.push_str(&text[last..start]);
        out.push_str("<jwt ");
        out.push_str(&fingerprint_of(&token_digest(&text[start..end])));
        out.push('>');
        last = end;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// Redacts every string (and key) of a JSON value in place.
pub fn redact_value(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(r) = redact_str(s) {
                *s = r;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::Object(map) => {
            let has_token_key = map.keys().any(|k| matches!(redact_str(k), Cow::Owned(_)));
            if has_token_key {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    redact_value(&mut v);
                    map.insert(redact_str(&k).into_owned(), v);
                }
            } else {
                map.values_mut().for_each(redact_value);
            }
        }
        _ => {}
    }
}

pub fn redact_map(map: &Map<String, Value>) -> Map<String, Value> {
    let mut value = Value::Object(map.clone());
    redact_value(&mut value);
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Removes tokens from an alert of any detector: its evidence and its copy
/// of the event. The hunt applies it to every alert, so a Sigma rule that
/// matched a log line holding a token does not leak the token either.
pub fn redact_alert(alert: &mut Alert) {
    for (_, value) in &mut alert.evidence {
        if let Cow::Owned(r) = redact_str(value) {
            *value = r;
        }
    }
    // Parsed only when a token may be there: every token starts with
    // `eyJ`, and JSON text never escapes its characters. (Not `has_token`
    // on the text: an escape such as `\n` before a token would read as a
    // letter and hide the token's start.)
    if alert.event.get().contains("eyJ") {
        if let Ok(mut event) = serde_json::from_str::<Value>(alert.event.get()) {
            redact_value(&mut event);
            alert.event = vigie_core::raw_json(&event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl";

    #[test]
    fn tokens_become_fingerprints() {
        let text = format!("Bearer {T} and {T}");
        let out = redact_str(&text);
        assert!(!out.contains(T));
        assert_eq!(out.matches("<jwt sha256:").count(), 2);
        assert!(matches!(redact_str("plain"), Cow::Borrowed(_)));
        let mut v = serde_json::json!({"a": [T], T: {"b": T}, "n": 1});
        redact_value(&mut v);
        assert!(!v.to_string().contains(T));
    }
}
