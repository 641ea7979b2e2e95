//! Timestamp parsing on the per-event path.
//!
//! `vigie_core::parse_timestamp` tries chrono's parsers one after another,
//! and chrono re-reads its format string on every call: for zone-less
//! timestamps (`2020-10-21 12:19:01.088`, common in OTRF and SIEM exports)
//! that was a tenth of the time spent reading a JSON line. The plain ISO
//! 8601 shapes are parsed here by hand, to the same instant; anything else
//! goes to the core parser.

use vigie_core::Timestamp;

/// Same result as [`vigie_core::parse_timestamp`], faster on
/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM]`.
pub(crate) fn parse_timestamp(text: &str) -> Option<Timestamp> {
    fast(text.as_bytes()).or_else(|| vigie_core::parse_timestamp(text))
}

fn fast(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    // Leap seconds and odd dates are left to chrono.
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0i64;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        for (i, c) in fraction[..n].iter().enumerate() {
            if i < 6 {
                micros = micros * 10 + i64::from(c - b'0');
            }
        }
        for _ in n..6 {
            micros *= 10;
        }
        rest = &fraction[n..];
    }
    let offset_seconds = match rest {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let seconds = i64::from(h * 3600 + m * 60);
            if *sign == b'+' {
                seconds
            } else {
                -seconds
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        // 28 or 29: the distance to the first of March.
        2 => {
            (days_from_civil(i64::from(year), 3, 1) - days_from_civil(i64::from(year), 2, 1)) as u32
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_core() {
        let mut cases = vec![
            "2020-10-22T02:57:56.178Z".to_owned(),
            "2020-10-21 12:19:01.088".to_owned(),
            "2019-03-19T13:05:42.1234567Z".to_owned(),
            "2021-08-02T13:11:39.7724491Z".to_owned(),
            "2020-10-22T04:57:56.178+02:00".to_owned(),
            "2020-10-22T00:57:56-02:30".to_owned(),
            "2000-02-29T23:59:59Z".to_owned(),
            "1900-02-29T00:00:00Z".to_owned(),
            "2020-13-01T00:00:00Z".to_owned(),
            "2020-12-31T23:59:60Z".to_owned(),
            "1969-12-31T23:59:59.999999Z".to_owned(),
            "2020-01-01T00:00:00.Z".to_owned(),
            "2020-01-01T00:00:00.123456789Z".to_owned(),
            "2020-01-01T00:00:00.1234567891Z".to_owned(),
            "2020-01-01X00:00:00Z".to_owned(),
            "2020-01-01T00:00:00+0100".to_owned(),
        ];
        for year in [1970, 1999, 2000, 2024, 2100] {
            for month in 1..=12 {
                for day in [1, 28, 29, 30, 31] {
                    cases.push(format!("{year}-{month:02}-{day:02}T13:14:15.5Z"));
                    cases.push(format!("{year}-{month:02}-{day:02} 23:59:59"));
                }
            }
        }
        for case in &cases {
            assert_eq!(
                parse_timestamp(case),
                vigie_core::parse_timestamp(case),
                "{case}"
            );
        }
        assert!(fast(b"2020-10-21 12:19:01.088").is_some());
    }
}
