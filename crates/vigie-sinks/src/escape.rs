//! Escaping for each medium, and the one-line evidence summary.
//!
//! Log text is attacker-controlled: a process command line or a user name is
//! whatever the intruder typed. Each sink makes it inert for its own reader:
//! spreadsheets (formula injection), terminals (escape sequences, bidi
//! reordering). JSON needs nothing here: serde_json's escaping is complete.

use std::borrow::Cow;

use vigie_core::Alert;

/// Longest evidence value kept in [`details`], in characters. Long enough for
/// a real command line, short enough that one encoded PowerShell blob does
/// not make a timeline row megabytes wide.
pub const MAX_DETAIL_VALUE_CHARS: usize = 1024;

/// Separator between `Field: value` pairs in [`details`] (the broken bar that
/// Windows timeline tools use, as it rarely occurs in log values).
pub const DETAIL_SEPARATOR: &str = " ¦ ";

/// Defuses CSV formula injection (OWASP "CSV Injection").
///
/// Spreadsheets evaluate a cell whose text begins with `=`, `+`, `-` or `@`
/// (and, after their own trimming, tab or carriage return) as a formula, so a
/// rule title or command line like `=cmd|' /C calc'!A0` would run when an
/// analyst opens the timeline. Such cells get a leading `'`, which makes the
/// spreadsheet treat them as text; line feed is included too because some
/// importers trim it the same way.
///
/// This deliberately also prefixes harmless values such as `-1`: telling a
/// number from a formula reliably is the spreadsheet's parser's job, and a
/// visible `'` in a rare negative cell is cheaper than a missed payload.
pub fn neutralise_csv_cell(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n') => {
            let mut owned = String::with_capacity(s.len() + 1);
            owned.push('\'');
            owned.push_str(s);
            Cow::Owned(owned)
        }
        _ => Cow::Borrowed(s),
    }
}

/// What [`strip_control`] does with one character.
enum Action {
    Keep,
    Drop,
    Space,
}

fn classify(c: char) -> Action {
    match c {
        // Line breaks and tabs would break the table's rows and columns.
        '\n' | '\r' | '\t' | '\u{0B}' | '\u{0C}' | '\u{2028}' | '\u{2029}' => Action::Space,
        // C0 controls (ESC among them: without it no escape sequence can
        // start), DEL, and C1 controls (U+009B is a one-character CSI).
        '\u{00}'..='\u{1F}' | '\u{7F}'..='\u{9F}' => Action::Drop,
        // Bidi embeddings, overrides and isolates ("Trojan Source",
        // CVE-2021-42574) and the implicit marks: they make text display in
        // an order other than the one it has, e.g. `evil\u{202E}fdp.exe`.
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => Action::Drop,
        _ => Action::Keep,
    }
}

/// Makes text safe to print on a terminal: removes C0 and C1 control
/// characters (including ESC, so `\x1b[31m` degrades to the inert text
/// `[31m`, which also shows the analyst that someone tried), DEL and Unicode
/// bidi controls; turns line breaks and tabs into spaces so a value stays on
/// its row. Borrows when there is nothing to change.
pub fn strip_control(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| matches!(classify(c), Action::Keep)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match classify(c) {
            Action::Keep => out.push(c),
            Action::Space => out.push(' '),
            Action::Drop => {}
        }
    }
    Cow::Owned(out)
}

/// Appends `s` with every run of whitespace collapsed to one space, leading
/// and trailing whitespace dropped, and at most `max_chars` characters kept
/// (a `…` marks a cut). Never splits a character.
fn push_collapsed(out: &mut String, s: &str, max_chars: usize) {
    let mut kept = 0usize;
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            // Only between words: leading whitespace is dropped.
            pending_space = kept > 0;
            continue;
        }
        let needed = if pending_space { 2 } else { 1 };
        if kept + needed > max_chars {
            out.push('…');
            return;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
            kept += 1;
        }
        out.push(c);
        kept += 1;
    }
}

/// The evidence of an alert on one line: `Field: value ¦ Field: value`, in
/// the order the detector gave it. Whitespace (newlines included) is
/// collapsed so the summary fits a spreadsheet cell or table row; each value
/// is cut at [`MAX_DETAIL_VALUE_CHARS`]. Control characters other than
/// whitespace are kept: the terminal sink strips them, CSV and JSON carry
/// them faithfully.
pub fn details(alert: &Alert) -> String {
    let mut out = String::new();
    for (field, value) in &alert.evidence {
        if !out.is_empty() {
            out.push_str(DETAIL_SEPARATOR);
        }
        // Field names come from rules and logs alike; bound them too.
        push_collapsed(&mut out, field, 128);
        out.push_str(": ");
        push_collapsed(&mut out, value, MAX_DETAIL_VALUE_CHARS);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::alert;

    #[test]
    fn formula_prefixes_are_neutralised() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx"] {
            let got = neutralise_csv_cell(bad);
            assert_eq!(got, format!("'{bad}"), "{bad:?}");
        }
        for fine in ["", "a=b", "1-2", " =1", "'quoted", "été"] {
            assert!(
                matches!(neutralise_csv_cell(fine), Cow::Borrowed(_)),
                "{fine:?}"
            );
        }
    }

    #[test]
    fn strip_control_removes_escapes_and_bidi() {
        assert_eq!(strip_control("a\x1b[31mred\x1b[0m"), "a[31mred[0m");
        assert_eq!(strip_control("x\u{9b}2Jy\u{7f}\0"), "x2Jy");
        assert_eq!(strip_control("evil\u{202E}fdp.exe"), "evilfdp.exe");
        assert_eq!(strip_control("\u{2066}a\u{2069}\u{202A}b\u{202C}"), "ab");
        assert_eq!(strip_control("line1\nline2\tx\r\n"), "line1 line2 x  ");
        assert!(matches!(
            strip_control("plain ünïcødé 日本"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn details_collapses_and_truncates() {
        let mut a = alert("r", "T");
        a.evidence = vec![
            ("CommandLine".into(), "  cmd.exe\r\n   /c \t whoami ".into()),
            ("Image".into(), "é".repeat(5000)),
        ];
        let d = details(&a);
        let (first, second) = d.split_once(DETAIL_SEPARATOR).unwrap();
        assert_eq!(first, "CommandLine: cmd.exe /c whoami");
        let value = second.strip_prefix("Image: ").unwrap();
        assert_eq!(value.chars().count(), MAX_DETAIL_VALUE_CHARS + 1);
        assert!(value.ends_with('…'));
        assert_eq!(details(&alert("r", "T")), "");
    }

    #[test]
    fn collapse_respects_limit_exactly() {
        let mut s = String::new();
        push_collapsed(&mut s, "ab cd", 5);
        assert_eq!(s, "ab cd");
        s.clear();
        push_collapsed(&mut s, "ab cd", 4);
        assert_eq!(s, "ab c…");
        s.clear();
        push_collapsed(&mut s, "ab cd", 0);
        assert_eq!(s, "…");
    }
}
