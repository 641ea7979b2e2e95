//! Time as 100-nanosecond ticks since the Unix epoch (UTC), and the text
//! forms each log writes.
//!
//! The simulator keeps its own calendar arithmetic (days ↔ civil dates) so
//! that output never depends on the local time zone or today's date.

use std::fmt::Write as _;

/// 100-nanosecond ticks since 1970-01-01T00:00:00Z: the resolution of the
/// seven-digit fractions that Entra ID and Azure Monitor write.
pub type Ticks = i64;

pub const SECOND: Ticks = 10_000_000;
pub const MINUTE: Ticks = 60 * SECOND;
pub const HOUR: Ticks = 60 * MINUTE;
pub const DAY: Ticks = 24 * HOUR;

/// Days since the epoch of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let shifted_month = if m > 2 { m - 3 } else { m + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month, day) of a day count since the epoch.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses `YYYY-MM-DD` into the ticks of that day's midnight UTC.
pub fn parse_date(text: &str) -> Option<Ticks> {
    let mut parts = text.trim().split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Reject dates such as 2023-02-30 that the arithmetic would roll over.
    if civil_from_days(days) != (year, month, day) {
        return None;
    }
    Some(days * DAY)
}

/// Day of the week, 0 = Monday … 6 = Sunday.
pub fn weekday(t: Ticks) -> u32 {
    // 1970-01-01 was a Thursday (3 in this numbering).
    (t.div_euclid(DAY) + 3).rem_euclid(7) as u32
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    fraction: i64,
}

fn parts(t: Ticks) -> Parts {
    let days = t.div_euclid(DAY);
    let in_day = t.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    Parts {
        year,
        month,
        day,
        hour: in_day / HOUR,
        minute: in_day % HOUR / MINUTE,
        second: in_day % MINUTE / SECOND,
        fraction: in_day % SECOND,
    }
}

fn write_base(out: &mut String, p: &Parts) {
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    );
}

/// `2023-06-12T14:03:27`: the UAL's `CreationTime` (UTC, no zone marker).
pub fn ual(t: Ticks) -> String {
    let mut s = String::with_capacity(19);
    write_base(&mut s, &parts(t));
    s
}

/// `2023-06-12T14:03:27Z`: Graph's `createdDateTime` / `activityDateTime`.
pub fn iso_seconds_z(t: Ticks) -> String {
    let mut s = String::with_capacity(20);
    write_base(&mut s, &parts(t));
    s.push('Z');
    s
}

/// `2023-06-12T13:58:02.3097429Z`: Azure Monitor's `time`.
pub fn iso_ticks_z(t: Ticks) -> String {
    let p = parts(t);
    let mut s = String::with_capacity(28);
    write_base(&mut s, &p);
    let _ = write!(s, ".{:07}Z", p.fraction);
    s
}

/// `2023-06-12` for file names and summaries.
pub fn date(t: Ticks) -> String {
    let p = parts(t);
    format!("{:04}-{:02}-{:02}", p.year, p.month, p.day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_dates() {
        let t = parse_date("2023-06-12").unwrap_or_default();
        assert_eq!(
            ual(t + 14 * HOUR + 3 * MINUTE + 27 * SECOND),
            "2023-06-12T14:03:27"
        );
        assert_eq!(iso_ticks_z(t + 3_097_429), "2023-06-12T00:00:00.3097429Z");
        assert_eq!(weekday(t), 0, "2023-06-12 was a Monday");
        assert!(parse_date("2023-02-30").is_none());
        assert!(parse_date("2024-02-29").is_some());
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }
}
