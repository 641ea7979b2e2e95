//! Timestamps: microseconds since the Unix epoch, UTC.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Timestamp = i64;

/// Naive (zone-less) layouts seen in exports; read as UTC.
const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
];

/// Parses the timestamp forms logs use: RFC 3339 (with `Z` or an offset,
/// any fractional precision), and zone-less forms read as UTC.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc).timestamp_micros());
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    // ISO without a zone (UAL `CreationTime`, `AppAccessContext.IssuedAtTime`)
    // is the common case: chrono's own parser for it, before the format
    // strings (which chrono re-reads on every call). It takes no zone and
    // the format below requires one, so the order changes no result.
    if let Ok(dt) = naive.parse::<NaiveDateTime>() {
        return Some(Utc.from_utc_datetime(&dt).timestamp_micros());
    }
    // "2020-10-22 02:57:56.178+02:00" with a space instead of T.
    if let Ok(dt) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(dt.with_timezone(&Utc).timestamp_micros());
    }
    for format in NAIVE_FORMATS {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(Utc.from_utc_datetime(&dt).timestamp_micros());
        }
    }
    None
}

/// Formats as `2020-10-22T02:57:56.178000Z` (fixed width, sorts as text).
pub fn format_timestamp(ts: Timestamp) -> String {
    match Utc.timestamp_micros(ts).single() {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms_to_the_same_instant() {
        let want = parse_timestamp("2020-10-22T02:57:56.178Z").unwrap();
        for form in [
            "2020-10-22T02:57:56.178000Z",
            "2020-10-22T02:57:56.1780000Z",
            "2020-10-22 02:57:56.178",
            "2020-10-22T04:57:56.178+02:00",
            "2020-10-22T02:57:56.178",
            "2020-10-22 02:57:56.178Z",
            "2020-10-22 04:57:56.178+02:00",
            "2020-10-22 00:57:56.178-0200",
        ] {
            assert_eq!(parse_timestamp(form), Some(want), "{form}");
        }
        assert_eq!(format_timestamp(want), "2020-10-22T02:57:56.178000Z");
        assert_eq!(
            parse_timestamp("10/22/2020 2:57:56 AM"),
            parse_timestamp("2020-10-22T02:57:56Z")
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "yesterday", "2020-13-45T99:00:00Z", &"9".repeat(500)] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}

/// A calendar part of a timestamp, for Sigma's time modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    /// ISO 8601 week number (1–53).
    Week,
    Month,
    Year,
}

/// The given part of a UTC timestamp.
pub fn time_part(ts: Timestamp, part: TimePart) -> Option<i64> {
    use chrono::{Datelike, Timelike};
    let dt = Utc.timestamp_micros(ts).single()?;
    Some(match part {
        TimePart::Minute => dt.minute() as i64,
        TimePart::Hour => dt.hour() as i64,
        TimePart::Day => dt.day() as i64,
        TimePart::Week => dt.iso_week().week() as i64,
        TimePart::Month => dt.month() as i64,
        TimePart::Year => dt.year() as i64,
    })
}

#[cfg(test)]
mod part_tests {
    use super::*;

    #[test]
    fn parts_of_a_known_instant() {
        let ts = parse_timestamp("2024-12-30T23:59:10Z").unwrap();
        assert_eq!(time_part(ts, TimePart::Minute), Some(59));
        assert_eq!(time_part(ts, TimePart::Hour), Some(23));
        assert_eq!(time_part(ts, TimePart::Day), Some(30));
        // 2024-12-30 is in ISO week 1 of 2025.
        assert_eq!(time_part(ts, TimePart::Week), Some(1));
        assert_eq!(time_part(ts, TimePart::Month), Some(12));
        assert_eq!(time_part(ts, TimePart::Year), Some(2024));
    }
}
