//! Record timestamps of cloud logs: which field holds the time in each
//! shape, and the forms it comes in — ISO 8601 with or without `Z` (the UAL
//! writes UTC without one), any number of fractional digits, a trailing
//! space (Purview), PowerShell's `/Date(ms)/`, and locale-formatted local
//! dates (`3/12/2025 7:31:34 AM`) read in the `--timezone` zone.

use chrono::{Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use vigie_core::{Event, Timestamp};

use super::index::Tops;
use super::shape::Family;

/// The zone of locale-formatted dates that do not carry one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timezone {
    #[default]
    Utc,
    /// The zone of the machine vigie runs on (daylight saving included).
    Local,
    /// A fixed offset east of UTC, in seconds.
    Offset(i32),
}

impl std::str::FromStr for Timezone {
    type Err = String;

    /// `UTC`, `Z`, `local`, or an offset: `+10:00`, `-0500`, `+2`,
    /// `UTC+05:30`.
    fn from_str(text: &str) -> Result<Timezone, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") || t == "0" {
            return Ok(Timezone::Utc);
        }
        if t.eq_ignore_ascii_case("local") {
            return Ok(Timezone::Local);
        }
        let bad = || format!("time zone '{text}': expected UTC, local or an offset like +10:00");
        let t = t
            .strip_prefix("UTC")
            .or_else(|| t.strip_prefix("utc"))
            .unwrap_or(t);
        let (sign, rest) = match t.as_bytes().first() {
            Some(b'+') => (1, &t[1..]),
            Some(b'-') => (-1, &t[1..]),
            _ => return Err(bad()),
        };
        let (hours, minutes) = match rest.split_once(':') {
            Some((h, m)) => (h, m),
            None if rest.len() == 4 => (&rest[..2], &rest[2..]),
            None => (rest, "0"),
        };
        let hours: i32 = hours.parse().map_err(|_| bad())?;
        let minutes: i32 = minutes.parse().map_err(|_| bad())?;
        if hours > 14 || minutes > 59 {
            return Err(bad());
        }
        Ok(Timezone::Offset(sign * (hours * 3600 + minutes * 60)))
    }
}

/// Top-level fields holding the record's time, best first, per family.
pub(crate) fn time_fields(family: Family) -> &'static [&'static str] {
    match family {
        Family::Ual => &[
            "CreationTime",
            "createdDateTime",
            "TimeGenerated",
            "CreationDate",
            "Start_Time",
        ],
        Family::SignIn => &[
            "properties.createdDateTime",
            "createdDateTime",
            "time",
            "TimeGenerated",
        ],
        Family::Audit => &[
            "properties.activityDateTime",
            "activityDateTime",
            "time",
            "TimeGenerated",
        ],
        Family::GraphActivity => &["time", "TimeGenerated", "properties.timeGenerated"],
        Family::Activity => &["eventTimestamp", "time", "TimeGenerated"],
        Family::Risk => &[
            "properties.activityDateTime",
            "activityDateTime",
            "detectedDateTime",
            "time",
            "TimeGenerated",
        ],
    }
}

/// The record's time, from the first of its family's time fields that
/// parses.
pub(crate) fn record_time(
    ev: &Event,
    family: Family,
    zone: Timezone,
    tops: &Tops,
) -> Option<Timestamp> {
    Tops::of(&tops.time, family)
        .iter()
        .find_map(|field| parse(field.get(ev)?, zone))
}

/// Parses any timestamp form of the cloud exports (see the module
/// documentation).
pub fn parse(text: &str, zone: Timezone) -> Option<Timestamp> {
    let text = text.trim();
    if let Some(ms) = powershell_date(text) {
        return Some(ms.saturating_mul(1000));
    }
    let first_is_digit = text.bytes().next().is_some_and(|b| b.is_ascii_digit());
    if first_is_digit && text.get(..6).is_some_and(|head| head.contains('/')) {
        return locale_date(text, zone);
    }
    crate::time::parse_timestamp(text)
}

/// `/Date(1741764694000)/` (with or without JSON's `\/` escapes):
/// milliseconds since the epoch, as Windows PowerShell 5 serialises dates.
fn powershell_date(text: &str) -> Option<i64> {
    // Most times are ISO: rejected on their first characters, before the
    // trimming at both ends below.
    if !text.trim_start_matches(['\\', '/']).starts_with("Date(") {
        return None;
    }
    let inner = text
        .trim_matches(|c| c == '\\' || c == '/')
        .strip_prefix("Date(")?
        .strip_suffix(')')?;
    // An offset suffix (`+0100`) does not change the instant.
    let end = inner[1..].find(['+', '-']).map_or(inner.len(), |i| i + 1);
    inner[..end].parse().ok()
}

/// `M/D/YYYY h:mm:ss AM` (US) or `D/M/YYYY HH:mm:ss` (day first when the
/// first number cannot be a month), in `zone`.
fn locale_date(text: &str, zone: Timezone) -> Option<Timestamp> {
    let mut parts = text.split_whitespace();
    let date = parts.next()?;
    let time = parts.next().unwrap_or("0:00:00");
    let meridiem = parts.next();
    let mut d = date.split(['/', '.', '-']);
    let a: u32 = d.next()?.parse().ok()?;
    let b: u32 = d.next()?.parse().ok()?;
    let year: i32 = d.next()?.parse().ok()?;
    let (month, day) = if a > 12 { (b, a) } else { (a, b) };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let mut t = time.split(':');
    let mut hour: u32 = t.next()?.parse().ok()?;
    let minute: u32 = t.next()?.parse().ok()?;
    let seconds = t.next().unwrap_or("0");
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let second: u32 = whole.parse().ok()?;
    let mut micros: u32 = 0;
    for (i, c) in fraction.bytes().take(6).enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        micros += u32::from(c - b'0') * 10u32.pow(5 - i as u32);
    }
    match meridiem.map(str::to_ascii_uppercase).as_deref() {
        Some("PM") if hour < 12 => hour += 12,
        Some("AM") if hour == 12 => hour = 0,
        Some("AM" | "PM") | None => {}
        Some(_) => return None,
    }
    let naive = NaiveDateTime::new(
        date,
        NaiveTime::from_hms_micro_opt(hour, minute, second, micros)?,
    );
    let utc_micros = naive.and_utc().timestamp_micros();
    match zone {
        Timezone::Utc => Some(utc_micros),
        Timezone::Offset(seconds) => Some(utc_micros - i64::from(seconds) * 1_000_000),
        Timezone::Local => Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|dt| dt.timestamp_micros()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Timestamp {
        vigie_core::parse_timestamp(text).unwrap_or_default()
    }

    #[test]
    fn every_form_of_the_brief() {
        let z = Timezone::Utc;
        assert_eq!(
            parse("2023-06-12T14:03:27", z),
            Some(utc("2023-06-12T14:03:27Z"))
        );
        assert_eq!(
            parse("2026-01-24T06:54:24.0000000Z ", z),
            Some(utc("2026-01-24T06:54:24Z"))
        );
        assert_eq!(
            parse("2019-10-18T04:45:48.0729893-05:00", z),
            Some(utc("2019-10-18T09:45:48.0729893Z"))
        );
        assert_eq!(
            parse("6/26/2022 5:40:02 AM", z),
            Some(utc("2022-06-26T05:40:02Z"))
        );
        assert_eq!(
            parse("11/21/2023 3:04:05 PM", z),
            Some(utc("2023-11-21T15:04:05Z"))
        );
        assert_eq!(
            parse("26/06/2022 17:40:02", z),
            Some(utc("2022-06-26T17:40:02Z"))
        );
        assert_eq!(
            parse("12/1/2022 12:00:01 AM", z),
            Some(utc("2022-12-01T00:00:01Z"))
        );
        assert_eq!(
            parse("/Date(1741764694000)/", z),
            Some(utc("2025-03-12T07:31:34Z"))
        );
        let aest: Timezone = "+10:00".parse().unwrap_or_default();
        assert_eq!(
            parse("3/12/2025 7:31:34 AM", aest),
            Some(utc("2025-03-11T21:31:34Z"))
        );
        // The zone only applies to locale dates.
        assert_eq!(
            parse("2023-06-12T14:03:27", aest),
            Some(utc("2023-06-12T14:03:27Z"))
        );
        assert_eq!(parse("13/13/2022 1:00:00", z), None);
        assert_eq!(parse("1/2/x", z), None);
    }

    #[test]
    fn zones_parse() {
        assert_eq!("UTC".parse(), Ok(Timezone::Utc));
        assert_eq!("local".parse(), Ok(Timezone::Local));
        assert_eq!("-0500".parse(), Ok(Timezone::Offset(-5 * 3600)));
        assert_eq!("UTC+05:30".parse(), Ok(Timezone::Offset(5 * 3600 + 1800)));
        assert_eq!("+2".parse(), Ok(Timezone::Offset(7200)));
        assert!("Mars/Olympus".parse::<Timezone>().is_err());
    }
}
