//! CSV timelines: one row per alert, for Timeline Explorer / spreadsheets
//! (the standard profile) or for Timesketch's importer.

use std::borrow::Borrow;
use std::borrow::Cow;
use std::io;

use vigie_core::Alert;

use crate::escape::{details, neutralise_csv_cell};
use crate::{timestamp_text, CsvProfile};

/// Header of the standard profile, in column order.
pub const STANDARD_HEADER: [&str; 12] = [
    "Timestamp",
    "Level",
    "RuleTitle",
    "RuleId",
    "Host",
    "Channel",
    "EventID",
    "User",
    "Details",
    "MitreTags",
    "File",
    "Record",
];

/// Header of the Timesketch profile. Timesketch requires `datetime` (ISO
/// 8601), `timestamp_desc` and `message`; every other column becomes a
/// searchable attribute of the event.
pub const TIMESKETCH_HEADER: [&str; 13] = [
    "datetime",
    "timestamp_desc",
    "message",
    "rule_title",
    "rule_id",
    "level",
    "host",
    "channel",
    "event_id",
    "user",
    "tags",
    "file",
    "record",
];

/// What Timesketch shows as the kind of time: ours is always the event's.
const TIMESTAMP_DESC: &str = "Event Time";

/// Separator inside multi-valued cells (tags); not a CSV delimiter, so the
/// cell needs no quoting, and rare in tag text.
const LIST_SEPARATOR: &str = "¦";

/// Writes `alerts` as CSV in the given profile, header first, in the order
/// given. Cells are quoted per RFC 4180 by the `csv` crate and every cell is
/// passed through [`neutralise_csv_cell`] (see there for why `-1` becomes
/// `'-1`). Rows end in `\n`.
pub fn write_csv<A: Borrow<Alert>>(
    alerts: impl IntoIterator<Item = A>,
    profile: CsvProfile,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let mut writer = ::csv::WriterBuilder::new()
        // Explicit, so output bytes do not change if the crate's default does.
        .terminator(::csv::Terminator::Any(b'\n'))
        .quote_style(::csv::QuoteStyle::Necessary)
        .from_writer(out);
    match profile {
        CsvProfile::Standard => {
            writer.write_record(STANDARD_HEADER)?;
            for alert in alerts {
                write_row(&mut writer, &standard_row(alert.borrow()))?;
            }
        }
        CsvProfile::Timesketch => {
            writer.write_record(TIMESKETCH_HEADER)?;
            for alert in alerts {
                write_row(&mut writer, &timesketch_row(alert.borrow()))?;
            }
        }
    }
    writer.flush()
}

/// One record, every cell neutralised; field by field so that cells that
/// need no change are never copied.
fn write_row<W: io::Write>(
    writer: &mut ::csv::Writer<W>,
    cells: &[Cow<'_, str>],
) -> io::Result<()> {
    for cell in cells {
        writer.write_field(neutralise_csv_cell(cell).as_bytes())?;
    }
    writer.write_record(None::<&[u8]>)?;
    Ok(())
}

fn opt(value: &Option<String>) -> Cow<'_, str> {
    Cow::Borrowed(value.as_deref().unwrap_or(""))
}

fn standard_row(alert: &Alert) -> [Cow<'_, str>; 12] {
    let rule = &*alert.rule;
    [
        Cow::Owned(timestamp_text(alert.timestamp)),
        Cow::Borrowed(rule.level.as_str()),
        Cow::Borrowed(&rule.title),
        Cow::Borrowed(&rule.id),
        opt(&alert.host),
        opt(&alert.channel),
        opt(&alert.event_id),
        opt(&alert.user),
        Cow::Owned(details(alert)),
        Cow::Owned(rule.attack_techniques().join(LIST_SEPARATOR)),
        Cow::Borrowed(&alert.file),
        Cow::Owned(alert.record.to_string()),
    ]
}

fn timesketch_row(alert: &Alert) -> [Cow<'_, str>; 13] {
    let rule = &*alert.rule;
    let summary = details(alert);
    let message = if summary.is_empty() {
        format!("[{}] {}", rule.level, rule.title)
    } else {
        format!("[{}] {}: {}", rule.level, rule.title, summary)
    };
    [
        // An alert without a time gets an empty datetime, which Timesketch
        // rejects for that row: better than inventing 1970 for it.
        Cow::Owned(timestamp_text(alert.timestamp)),
        Cow::Borrowed(TIMESTAMP_DESC),
        Cow::Owned(message),
        Cow::Borrowed(&rule.title),
        Cow::Borrowed(&rule.id),
        Cow::Borrowed(rule.level.as_str()),
        opt(&alert.host),
        opt(&alert.channel),
        opt(&alert.event_id),
        opt(&alert.user),
        Cow::Owned(rule.tags.join(LIST_SEPARATOR)),
        Cow::Borrowed(&alert.file),
        Cow::Owned(alert.record.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{alert, sample};

    fn write(alerts: &[Alert], profile: CsvProfile) -> String {
        let mut buf = Vec::new();
        write_csv(alerts, profile, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn read(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().iter().map(String::from).collect();
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn standard_header_is_exact() {
        let text = write(&[], CsvProfile::Standard);
        assert_eq!(
            text,
            "Timestamp,Level,RuleTitle,RuleId,Host,Channel,EventID,User,Details,MitreTags,File,Record\n"
        );
    }

    #[test]
    fn standard_row_has_every_column() {
        let text = write(&[sample()], CsvProfile::Standard);
        let (_, rows) = read(&text);
        assert_eq!(
            rows,
            vec![vec![
                "2020-10-22T02:57:56.178000Z",
                "high",
                "Suspicious Whoami",
                "0b9e-1",
                "WS01",
                "Security",
                "4688",
                "CORP\\bob",
                "CommandLine: whoami /all ¦ Image: C:\\Windows\\System32\\whoami.exe",
                "T1033¦T1059.001",
                "Security.evtx",
                "42",
            ]]
        );
    }

    #[test]
    fn formula_title_is_neutralised_and_quoted() {
        let payload = "=cmd|' /C calc'!A0";
        let mut a = alert("id", payload);
        a.host = Some("-2+3".into());
        a.user = Some("@evil, \"x\"".into());
        let text = write(&[a], CsvProfile::Standard);
        // `'=cmd|' /C calc'!A0` holds no comma, quote or newline, so RFC 4180
        // leaves it bare; the `@` cell must be quoted with quotes doubled.
        assert!(text.contains(",'=cmd|' /C calc'!A0,"), "{text}");
        assert!(text.contains(",\"'@evil, \"\"x\"\"\","), "{text}");
        let (_, rows) = read(&text);
        assert_eq!(rows[0][2], format!("'{payload}"));
        assert_eq!(rows[0][4], "'-2+3");
        assert_eq!(rows[0][7], "'@evil, \"x\"");
        // No cell of any row may start a formula.
        for cell in &rows[0] {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
        }
    }

    #[test]
    fn awkward_values_round_trip() {
        let nasty = "a,b \"quoted\"\nsecond line\r\nthird ¦ 日本語";
        let mut a = alert("id", nasty);
        a.file = nasty.into();
        a.host = Some(nasty.into());
        let text = write(&[a], CsvProfile::Standard);
        let (header, rows) = read(&text);
        assert_eq!(header.len(), 12);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].len(), 12);
        assert_eq!(rows[0][2], nasty);
        assert_eq!(rows[0][4], nasty);
        assert_eq!(rows[0][10], nasty);
    }

    #[test]
    fn timesketch_columns_and_message() {
        let mut untimed = alert("id2", "No Time");
        untimed.timestamp = None;
        let text = write(&[sample(), untimed], CsvProfile::Timesketch);
        let (header, rows) = read(&text);
        assert_eq!(header, TIMESKETCH_HEADER);
        assert_eq!(
            text.lines().next().unwrap(),
            "datetime,timestamp_desc,message,rule_title,rule_id,level,host,channel,event_id,user,tags,file,record"
        );
        let row = &rows[0];
        assert_eq!(row[0], "2020-10-22T02:57:56.178000Z");
        assert_eq!(row[1], "Event Time");
        assert_eq!(
            row[2],
            "[high] Suspicious Whoami: CommandLine: whoami /all ¦ Image: C:\\Windows\\System32\\whoami.exe"
        );
        assert_eq!(row[5], "high");
        assert_eq!(row[10], "attack.discovery¦attack.t1033¦attack.t1059.001");
        assert_eq!(row[12], "42");
        assert_eq!(rows[1][0], "");
        assert_eq!(rows[1][2], "[informational] No Time");
    }

    #[test]
    fn csv_is_deterministic() {
        let alerts = vec![sample(), alert("b", "B"), sample()];
        for profile in [CsvProfile::Standard, CsvProfile::Timesketch] {
            assert_eq!(write(&alerts, profile), write(&alerts, profile));
        }
    }
}
