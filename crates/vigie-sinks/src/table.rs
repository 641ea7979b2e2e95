//! A fixed-width table for reading alerts on a terminal.
//!
//! Everything that came from a log goes through [`strip_control`] before it
//! is measured or printed: a terminal interprets escape sequences and bidi
//! controls, so an attacker who controls a command line must not control the
//! analyst's screen. The only escape sequences in the output are the level
//! colours this module adds itself, and only when asked.

use std::borrow::{Borrow, Cow};
use std::io::{self, Write};

use vigie_core::{Alert, Level};

use crate::escape::{details, strip_control};
use crate::{timestamp_text, TableOptions};

const SEPARATOR: &str = "  ";
const ELLIPSIS: char = '…';
/// Shown for a missing value, so empty cells do not read as misalignment.
const MISSING: &str = "-";

/// Column headers, in order.
const HEADERS: [&str; COLUMNS] = ["Timestamp", "Level", "Rule", "Host", "EventID", "Details"];
const COLUMNS: usize = 6;
const DETAILS: usize = 5;
/// Widest a column grows to when there is room; Details takes the rest.
const CAP: [usize; COLUMNS] = [27, 13, 48, 24, 10, usize::MAX];
/// Narrowest a column is shrunk to before the next one in [`SHRINK_ORDER`]
/// gives way (20 keeps a timestamp's seconds before the `…`).
const MIN: [usize; COLUMNS] = [20, 4, 16, 8, 5, 10];
/// Which columns give up width first when the terminal is narrow: the long
/// free text first, the short identifying fields last.
const SHRINK_ORDER: [usize; COLUMNS] = [DETAILS, 2, 3, 0, 4, 1];

/// Rows whose widths decide the columns; later rows are cut to fit, so a
/// long timeline streams in bounded memory.
const WIDTH_SAMPLE: usize = 10_000;

/// Writes a header, a rule line and one row per alert, in the order given.
/// Lines are at most `opts.width` terminal columns (`0` means no limit, e.g.
/// when the output is not a terminal); cells that do not fit end in `…`.
/// Column widths come from the first [`WIDTH_SAMPLE`] rows.
pub fn write_table<A: Borrow<Alert>>(
    alerts: impl IntoIterator<Item = A>,
    opts: &TableOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut alerts = alerts.into_iter();
    let mut head: Vec<(Level, [String; COLUMNS])> = Vec::new();
    for alert in alerts.by_ref() {
        let alert = alert.borrow();
        head.push((alert.rule.level, cells(alert)));
        if head.len() == WIDTH_SAMPLE {
            break;
        }
    }
    let rows: Vec<&[String; COLUMNS]> = head.iter().map(|(_, r)| r).collect();
    let widths = column_widths(&rows, opts.width);
    let budget = (opts.width > 0).then_some(opts.width);
    let mut out = io::BufWriter::new(out);

    let mut line = Line::new(budget);
    for (i, header) in HEADERS.iter().enumerate() {
        line.cell(i, header, widths[i], opts.color.then_some("1"));
    }
    line.finish(&mut out)?;
    let mut line = Line::new(budget);
    for (i, w) in widths.iter().enumerate() {
        line.cell(i, &"-".repeat(*w), *w, None);
    }
    line.finish(&mut out)?;

    let write_row =
        |out: &mut io::BufWriter<&mut dyn Write>, level: Level, row: &[String; COLUMNS]| {
            let mut line = Line::new(budget);
            for (i, text) in row.iter().enumerate() {
                let colour = if i == 1 && opts.color {
                    Some(level_colour(level))
                } else {
                    None
                };
                line.cell(i, text, widths[i], colour);
            }
            line.finish(out)
        };
    for (level, row) in &head {
        write_row(&mut out, *level, row)?;
    }
    for alert in alerts {
        let alert = alert.borrow();
        write_row(&mut out, alert.rule.level, &cells(alert))?;
    }
    out.flush()
}

/// The six cells of one alert, already made terminal-safe.
fn cells(alert: &Alert) -> [String; COLUMNS] {
    fn safe(s: &str) -> String {
        let s = strip_control(s);
        let s = s.trim();
        if s.is_empty() {
            MISSING.to_owned()
        } else {
            s.to_owned()
        }
    }
    fn opt(v: &Option<String>) -> String {
        safe(v.as_deref().unwrap_or(""))
    }
    [
        safe(&timestamp_text(alert.timestamp)),
        alert.rule.level.as_str().to_owned(),
        safe(&alert.rule.title),
        opt(&alert.host),
        opt(&alert.event_id),
        safe(&details(alert)),
    ]
}

fn level_colour(level: Level) -> &'static str {
    match level {
        Level::Critical => "1;31",
        Level::High => "31",
        Level::Medium => "33",
        Level::Low => "32",
        Level::Informational => "36",
    }
}

/// Natural widths (widest cell, capped), then shrunk to fit `width`.
fn column_widths(rows: &[&[String; COLUMNS]], width: usize) -> [usize; COLUMNS] {
    let mut widths = [0usize; COLUMNS];
    for i in 0..COLUMNS {
        let widest = rows
            .iter()
            .map(|r| display_width(&r[i]))
            .chain([display_width(HEADERS[i])])
            .max()
            .unwrap_or(0);
        widths[i] = widest.min(CAP[i]);
    }
    if width == 0 {
        return widths;
    }
    let total = widths.iter().sum::<usize>() + SEPARATOR.len() * (COLUMNS - 1);
    let mut excess = total.saturating_sub(width);
    for i in SHRINK_ORDER {
        if excess == 0 {
            break;
        }
        let give = widths[i].saturating_sub(MIN[i]).min(excess);
        widths[i] -= give;
        excess -= give;
    }
    // Anything still too wide is clipped at the line's end by `Line`.
    widths
}

/// One output line with a budget of terminal columns; text past the budget
/// is dropped, so colour codes are never cut in half.
struct Line {
    buf: String,
    budget: Option<usize>,
    used: usize,
}

impl Line {
    fn new(budget: Option<usize>) -> Self {
        Line {
            buf: String::new(),
            budget,
            used: 0,
        }
    }

    fn room(&self) -> usize {
        self.budget
            .map_or(usize::MAX, |b| b.saturating_sub(self.used))
    }

    /// Appends plain text, cut to the remaining budget.
    fn push(&mut self, text: &str) {
        let (fitted, w) = fit(text, self.room());
        self.buf.push_str(&fitted);
        self.used += w;
    }

    /// Appends column `index`: separator, text cut to `width` (with `…`),
    /// optional colour around the text only, padding unless last.
    fn cell(&mut self, index: usize, text: &str, width: usize, colour: Option<&str>) {
        if index > 0 {
            self.push(SEPARATOR);
        }
        // Cut to the column first (with `…`), then to what is left of the
        // line; pad to the column width so later columns stay aligned.
        let (text, cell_width) = fit(text, width);
        let (text, w) = fit(&text, self.room());
        if let (Some(code), false) = (colour, text.is_empty()) {
            self.buf.push_str("\x1b[");
            self.buf.push_str(code);
            self.buf.push('m');
            self.buf.push_str(&text);
            self.buf.push_str("\x1b[0m");
        } else {
            self.buf.push_str(&text);
        }
        self.used += w;
        if index + 1 < COLUMNS {
            self.push(&" ".repeat(width.saturating_sub(cell_width)));
        }
    }

    fn finish(mut self, out: &mut impl Write) -> io::Result<()> {
        // Padding of clipped trailing columns is noise.
        let trimmed = self.buf.trim_end_matches(' ').len();
        self.buf.truncate(trimmed);
        self.buf.push('\n');
        out.write_all(self.buf.as_bytes())
    }
}

/// Cuts `text` to at most `width` terminal columns, ending in `…` when cut.
/// Works on whole characters, so it never splits UTF-8. Returns the text and
/// its width.
fn fit(text: &str, width: usize) -> (Cow<'_, str>, usize) {
    let full = display_width(text);
    if full <= width {
        return (Cow::Borrowed(text), full);
    }
    if width == 0 {
        return (Cow::Borrowed(""), 0);
    }
    // Leave one column for the ellipsis.
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push(ELLIPSIS);
    (Cow::Owned(out), used + 1)
}

fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Terminal columns a character takes: an approximation of Unicode East
/// Asian Width (wide: 2) and of zero-width marks (0), enough to keep CJK and
/// emoji from pushing columns out of line without a width-table dependency.
fn char_width(c: char) -> usize {
    match c as u32 {
        // Combining marks, zero-width space/joiners, variation selectors, BOM.
        0x0300..=0x036F
        | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF
        | 0x200B..=0x200D
        | 0x20D0..=0x20FF
        | 0xFE00..=0xFE0F
        | 0xFE20..=0xFE2F
        | 0xFEFF => 0,
        // Hangul Jamo, CJK, Hangul syllables, compatibility ideographs,
        // fullwidth forms, emoji, and the supplementary ideographic planes.
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{alert, sample};

    fn write(alerts: &[Alert], color: bool, width: usize) -> String {
        let mut buf = Vec::new();
        write_table(alerts, &TableOptions { color, width }, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn hostile() -> Alert {
        let mut a = alert("id", "Title\x1b[31mRED\x1b]0;pwned\x07");
        a.host = Some("host\u{202E}exe.txt\u{2066}x\u{2069}".into());
        a.event_id = Some("1\u{9b}2J".into());
        a.evidence = vec![("CommandLine".into(), "a\nb\tc\r\u{202D}d\u{7f}".into())];
        a
    }

    #[test]
    fn strips_escapes_and_bidi_from_log_text() {
        let text = write(&[hostile()], false, 0);
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(!text.contains('\u{9b}'));
        assert!(!text.contains('\x07'));
        assert!(!text.contains('\u{7f}'));
        for bidi in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2069}',
        ] {
            assert!(!text.contains(bidi));
        }
        // The payload stays visible as inert text, one row per alert.
        assert!(text.contains("Title[31mRED]0;pwned"), "{text}");
        assert!(text.contains("hostexe.txtx"));
        assert!(text.contains("CommandLine: a b c d"));
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn colour_only_when_asked_and_only_ours() {
        let alerts = [hostile(), sample()];
        assert!(!write(&alerts, false, 160).contains('\x1b'));
        let coloured = write(&alerts, true, 160);
        // Header cells (6, bold) and one level per row, each opened and reset.
        assert_eq!(
            coloured.matches('\x1b').count(),
            2 * (COLUMNS + alerts.len())
        );
        assert!(coloured.contains("\x1b[31mhigh\x1b[0m"));
        assert!(!coloured.contains("\x1b[31mRED"));
    }

    #[test]
    fn lines_fit_the_width() {
        let mut long = sample();
        long.evidence = vec![("CommandLine".into(), "powershell -enc ".repeat(200))];
        long.rule = std::sync::Arc::new(vigie_core::RuleMeta {
            title: "日本語のルール名".repeat(20),
            ..(*long.rule).clone()
        });
        for width in [0, 1, 5, 20, 40, 80, 120, 160, 400] {
            let text = write(&[long.clone(), sample()], false, width);
            for line in text.lines() {
                if width > 0 {
                    assert!(display_width(line) <= width, "{width}: {line}");
                }
            }
        }
        let text = write(&[long], false, 120);
        let row = text.lines().nth(2).unwrap();
        assert!(row.ends_with('…'));
        assert!(row.contains("日本"));
    }

    #[test]
    fn truncation_never_splits_a_char() {
        for s in [
            "ééééé",
            "日本語日本語",
            "a😀b😀c",
            "e\u{301}e\u{301}e\u{301}",
            "",
        ] {
            for w in 0..12 {
                let (cut, used) = fit(s, w);
                assert!(used <= w);
                assert_eq!(display_width(&cut), used);
                assert!(s.starts_with(cut.trim_end_matches(ELLIPSIS)));
            }
        }
        let mut a = alert("id", &"é".repeat(300));
        a.host = Some("日".repeat(100));
        for width in 0..60 {
            write(&[a.clone()], true, width);
        }
    }

    #[test]
    fn empty_input_and_determinism() {
        let empty = write(&[], true, 80);
        assert_eq!(empty.lines().count(), 2);
        assert!(empty.contains("Timestamp"));
        let alerts = [sample(), hostile(), alert("z", "Z")];
        assert_eq!(write(&alerts, true, 100), write(&alerts, true, 100));
        assert!(write(&alerts, false, 100).contains("informational"));
    }
}
