//! CSV feeds and plain lists.
//!
//! * With a header row naming a `value` (or `indicator`, `ioc`) column,
//!   the other columns are optional: `id`, `type`, `confidence`, `level`,
//!   `tags`, `description`, `reference`, `valid_from`, `valid_until`.
//!   A row without a type is typed automatically.
//! * Without a header: `TYPE,VALUE` rows when the first cell is a type
//!   name, otherwise one value per line, typed automatically.
//!
//! `#` starts a comment line; tabs separate cells when the first line has
//! tabs and no commas. A broken row is reported with its line; the others
//! load.

use vigie_core::{parse_timestamp, Level, Timestamp};

use crate::indicator::{Indicator, IocType};
use crate::load::FeedCtx;
use crate::normalize::{guess_type, normalize};

#[derive(Default)]
struct Columns {
    id: Option<usize>,
    ty: Option<usize>,
    value: usize,
    confidence: Option<usize>,
    level: Option<usize>,
    tags: Option<usize>,
    description: Option<usize>,
    reference: Option<usize>,
    valid_from: Option<usize>,
    valid_until: Option<usize>,
}

impl Columns {
    /// Reads a header row; `None` when the row is data, not a header.
    fn from_header(cells: &csv::StringRecord) -> Option<Columns> {
        let find = |names: &[&str]| {
            cells.iter().position(|c| {
                let c = c.trim().to_ascii_lowercase().replace([' ', '-'], "_");
                names.contains(&c.as_str())
            })
        };
        let value = find(&["value", "indicator", "ioc", "observable"])?;
        Some(Columns {
            id: find(&["id", "uuid", "indicator_id"]),
            ty: find(&["type", "kind", "ioc_type", "indicator_type"]),
            value,
            confidence: find(&["confidence"]),
            level: find(&["level", "severity"]),
            tags: find(&["tags", "labels"]),
            description: find(&["description", "comment", "name"]),
            reference: find(&["reference", "references", "source", "source_url"]),
            valid_from: find(&["valid_from", "first_seen"]),
            valid_until: find(&["valid_until", "expires", "last_valid"]),
        })
    }
}

pub fn load(text: &str, ctx: &mut FeedCtx<'_>) {
    let first_line = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or("");
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut columns: Option<Columns> = None;
    let mut first = true;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                ctx.bad(format!("line {line}"), format!("unreadable CSV row: {e}"));
                // A CSV error does not stop the reader: go on with the
                // next row.
                continue;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if first {
            first = false;
            if let Some(c) = Columns::from_header(&record) {
                columns = Some(c);
                continue;
            }
        }
        let result = match &columns {
            Some(c) => row_with_header(&record, c, line, ctx.name),
            None => row_without_header(&record, line, ctx.name),
        };
        match result {
            Ok(indicator) => ctx.push(indicator),
            Err((at, reason)) => ctx.bad(at, reason),
        }
    }
}

type RowError = (String, String);

fn row_with_header(
    record: &csv::StringRecord,
    c: &Columns,
    line: u64,
    feed: &str,
) -> Result<Indicator, RowError> {
    let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).filter(|s| !s.is_empty());
    let id = cell(c.id).map_or_else(|| format!("{feed}:{line}"), str::to_owned);
    let at = |reason: String| (format!("line {line} ({id})"), reason);
    let value = cell(Some(c.value)).ok_or_else(|| at("no value".into()))?;
    let ty = match cell(c.ty) {
        Some(name) => {
            IocType::parse(name).ok_or_else(|| at(format!("unknown indicator type '{name}'")))?
        }
        None => guess_type(value).map_err(at)?,
    };
    let atom = normalize(ty, value).map_err(at)?;
    let confidence = match cell(c.confidence) {
        Some(text) => Some(parse_confidence(text).map_err(at)?),
        None => None,
    };
    let level = match cell(c.level) {
        Some(text) => Some(text.parse::<Level>().map_err(at)?),
        None => None,
    };
    let valid_from = parse_time_cell(cell(c.valid_from)).map_err(at)?;
    let valid_until = parse_time_cell(cell(c.valid_until)).map_err(at)?;
    let split = |text: Option<&str>, seps: &[char]| -> Vec<Box<str>> {
        text.map(|t| {
            t.split(seps)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Box::from)
                .collect()
        })
        .unwrap_or_default()
    };
    Ok(Indicator {
        id: id.clone().into(),
        any_of: vec![vec![atom]],
        confidence,
        level,
        description: cell(c.description).unwrap_or("").into(),
        tags: split(cell(c.tags), &[';', '|']),
        references: split(cell(c.reference), &[';', '|', ' ']),
        valid_from,
        valid_until,
        ..Default::default()
    })
}

fn row_without_header(
    record: &csv::StringRecord,
    line: u64,
    feed: &str,
) -> Result<Indicator, RowError> {
    let at = |reason: String| (format!("line {line}"), reason);
    let first = record.get(0).unwrap_or("");
    let (ty, value, description) = match (IocType::parse(first), record.get(1)) {
        (Some(ty), Some(value)) => (ty, value, record.get(2).unwrap_or("")),
        _ => (guess_type(first).map_err(at)?, first, ""),
    };
    let atom = normalize(ty, value).map_err(at)?;
    Ok(Indicator {
        id: format!("{feed}:{line}").into(),
        any_of: vec![vec![atom]],
        description: description.into(),
        ..Default::default()
    })
}

/// 0–100, or the words feeds use.
pub(crate) fn parse_confidence(text: &str) -> Result<u8, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "high" => Ok(85),
        "medium" => Ok(50),
        "low" => Ok(15),
        "none" => Ok(0),
        n => n
            .parse::<f64>()
            .ok()
            .filter(|c| (0.0..=100.0).contains(c))
            .map(|c| c.round() as u8)
            .ok_or_else(|| format!("confidence '{text}' is not 0-100, low, medium or high")),
    }
}

/// A timestamp, or a bare date read as midnight UTC.
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    parse_timestamp(text).or_else(|| parse_timestamp(&format!("{}T00:00:00Z", text.trim())))
}

fn parse_time_cell(cell: Option<&str>) -> Result<Option<Timestamp>, String> {
    match cell {
        None => Ok(None),
        Some(text) => parse_time(text)
            .map(Some)
            .ok_or_else(|| format!("'{text}' is not a date or time")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::Atom;
    use crate::load::FeedSet;

    fn load_text(text: &str) -> FeedSet {
        let mut set = FeedSet::new();
        set.add_text("feed", "feed.csv", text);
        set
    }

    fn atom_of(set: &FeedSet, i: usize) -> &Atom {
        &set.indicators[i].any_of[0][0]
    }

    #[test]
    fn header_csv_with_types_confidence_and_validity() {
        let set = load_text(
            "id,type,value,confidence,tags,description,reference,valid_until\n\
             ioc-1,domain,evil.example,90,apt;c2,C2 domain,https://ref.example/a,2024-01-01\n\
             ioc-2,,198.51.100.0/24,low,,,,\n",
        );
        assert!(set.report.bad.is_empty(), "{:?}", set.report.bad);
        assert_eq!(set.indicators.len(), 2);
        let first = &set.indicators[0];
        assert_eq!(&*first.id, "ioc-1");
        assert_eq!(first.confidence, Some(90));
        assert_eq!(first.tags.len(), 2);
        assert_eq!(&*first.references[0], "https://ref.example/a");
        assert!(first.valid_until.is_some());
        assert!(matches!(atom_of(&set, 1), Atom::Ip { prefix: 24, .. }));
        assert_eq!(set.indicators[1].confidence, Some(15));
    }

    #[test]
    fn plain_list_is_typed_automatically() {
        let set = load_text(
            "# comment\nevil.example\n203.0.113.9\nhxxps://bad[.]example/x\n\
             44d88612fea8a8f36de82e1278abb02f\nuser@phish.example\n",
        );
        let types: Vec<IocType> = set.indicators.iter().map(|i| i.any_of[0][0].ty()).collect();
        assert_eq!(
            types,
            vec![
                IocType::Domain,
                IocType::Ip,
                IocType::Url,
                IocType::Hash,
                IocType::Email
            ]
        );
        assert_eq!(&*set.indicators[1].id, "feed:3");
    }

    #[test]
    fn type_value_rows_without_header() {
        let set = load_text(
            "kid,1LTMzakihiRla_8z2BEJVXeWMqo\napp-id,5a95e683-08ad-424e-a441-1d1aec52c02c\n",
        );
        assert!(set.report.bad.is_empty(), "{:?}", set.report.bad);
        assert_eq!(atom_of(&set, 0).ty(), IocType::KeyId);
        assert_eq!(atom_of(&set, 1).ty(), IocType::AppId);
    }

    #[test]
    fn bad_rows_are_reported_with_their_line_and_the_rest_loads() {
        let set = load_text(
            "type,value,confidence\n\
             domain,evil.example,50\n\
             mutex,Global\\x,50\n\
             hash,abc,50\n\
             ip,10.0.0.0/99,50\n\
             domain,ok.example,999\n\
             ,what is this,\n\
             url,https://fine.example/a,\n",
        );
        assert_eq!(set.indicators.len(), 2);
        let bad: Vec<String> = set
            .report
            .bad
            .iter()
            .map(|p| format!("{}: {}", p.at, p.reason))
            .collect();
        assert_eq!(bad.len(), 5, "{bad:?}");
        assert!(bad[0].starts_with("line 3") && bad[0].contains("unknown indicator type 'mutex'"));
        assert!(bad[1].starts_with("line 4") && bad[1].contains("hash"));
        assert!(bad[2].contains("prefix length"));
        assert!(bad[3].contains("confidence"));
        assert!(bad[4].contains("cannot tell the type"));
        assert!(set.report.bad.iter().all(|p| p.file == "feed.csv"));
    }

    #[test]
    fn tab_separated_lists_work() {
        let set = load_text("type\tvalue\nip\t192.0.2.1\n");
        assert_eq!(set.indicators.len(), 1);
    }
}
