//! Text renderings of inspections and verdicts, safe for a terminal: token
//! claims are attacker-written, so control and bidi characters are shown
//! escaped, never interpreted.

use std::fmt::Write;

use serde_json::{Map, Value};

use crate::inspect::{human_duration, Inspection};
use crate::verify::{SignatureStatus, Verdict};

/// `text` with control, bidi and other invisible formatting characters
/// escaped as `\u{…}`.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let invisible = c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
        if invisible {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn json_line(map: &Map<String, Value>) -> String {
    clean(&serde_json::to_string(map).unwrap_or_default())
}

fn field(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        let _ = writeln!(out, "{name:<10}{}", clean(value));
    }
}

pub fn inspection_text(i: &Inspection) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "token     {}", i.fingerprint);
    field(&mut out, "algorithm", i.algorithm.as_deref());
    field(&mut out, "key id", i.key_id.as_deref());
    field(&mut out, "issuer", i.issuer.as_deref());
    let _ = writeln!(out, "kind      {}", i.issuer_kind.describe());
    field(&mut out, "tenant", i.tenant.as_deref());
    field(&mut out, "app", i.application.as_deref());
    if !i.audience.is_empty() {
        field(&mut out, "audience", Some(&i.audience.join(", ")));
    }
    field(&mut out, "subject", i.subject.as_deref());
    for (name, t) in [
        ("issued", &i.issued_at),
        ("not before", &i.not_before),
        ("expires", &i.expires),
    ] {
        if let Some(t) = t {
            let _ = writeln!(out, "{name:<10}{} ({})", t.utc, t.unix);
        }
    }
    if let Some(l) = i.lifetime_seconds {
        let _ = writeln!(out, "lifetime  {}", human_duration(l));
    }
    let _ = writeln!(out, "header    {}", json_line(&i.header));
    let _ = writeln!(out, "claims    {}", json_line(&i.claims));
    let _ = writeln!(out);
    for line in &i.explanation {
        let _ = writeln!(out, "  {}", clean(line));
    }
    out
}

pub fn verdict_text(v: &Verdict) -> String {
    let mut out = inspection_text(&v.inspection);
    let _ = writeln!(out);
    let signature = match v.signature {
        SignatureStatus::Valid => "VALID",
        SignatureStatus::Invalid => "INVALID",
        SignatureStatus::Unsigned => "none (unsigned token)",
        SignatureStatus::NotChecked => "not checked",
    };
    let _ = writeln!(out, "signature {signature}");
    if let Some(k) = &v.signing_key {
        let kid = k.kid.as_deref().or(k.x5t.as_deref()).unwrap_or("?");
        let date = k
            .snapshot_date
            .as_deref()
            .map(|d| format!(", snapshot {d}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "key       {} {} from {}{date}",
            k.key_type,
            clean(kid),
            clean(&k.key_set)
        );
        field(&mut out, "scope", k.scope.as_deref());
        if let Some(c) = &k.certificate {
            let _ = writeln!(
                out,
                "cert      {}, valid {} to {}, SHA-1 {}",
                clean(&c.subject),
                crate::inspect::TimeClaim::utc_of(c.not_before).unwrap_or_default(),
                crate::inspect::TimeClaim::utc_of(c.not_after).unwrap_or_default(),
                c.sha1_thumbprint
            );
        }
    }
    if v.key_sets.len() > 1 || v.signing_key.is_none() {
        for set in &v.key_sets {
            let _ = writeln!(out, "key set   {}", clean(set));
        }
    }
    for note in &v.notes {
        let _ = writeln!(out, "note      {}", clean(note));
    }
    let _ = writeln!(out);
    if v.findings.is_empty() {
        let _ = writeln!(out, "verdict   clean: no finding");
    } else {
        let _ = writeln!(out, "findings  {}", v.findings.len());
        for f in &v.findings {
            let _ = writeln!(
                out,
                "  {:<13} {}: {}",
                f.severity.as_str().to_uppercase(),
                f.kind_id(),
                clean(&f.explanation)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_escaped() {
        assert_eq!(
            clean("a\u{1b}[31mb\u{202e}c\nd"),
            "a\\u{1b}[31mb\\u{202e}c\\u{a}d"
        );
        assert_eq!(clean("plain é"), "plain é");
    }
}
