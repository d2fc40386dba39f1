//! Calendar arithmetic on days since 1970-01-01 (the Arrow `Date32` unit) and
//! seconds since 1970-01-01 (local wall-clock time; stored as microseconds in Parquet).
//!
//! Formatting and parsing are hand-written because the generator formats
//! millions of dates and ingest parses as many; both are strict ISO 8601
//! (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS`).

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub const fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// Civil date `(year, month, day)` of a day number.
pub const fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Today's day number (UTC).
pub fn today() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (secs / 86_400) as i32
}

/// Number of days in a month.
pub const fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// Adds calendar months to a day number, clamping the day of month.
pub fn add_months(days: i32, months: i32) -> i32 {
    let (y, m, d) = civil_from_days(days);
    let total = y * 12 + (m as i32 - 1) + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    days_from_civil(ny, nm, d.min(days_in_month(ny, nm)))
}

fn push_digits(out: &mut Vec<u8>, value: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut v = value;
    for i in (0..width).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

/// Appends `YYYY-MM-DD`.
pub fn push_date(out: &mut Vec<u8>, days: i32) {
    let (y, m, d) = civil_from_days(days);
    push_digits(out, y as u32, 4);
    out.push(b'-');
    push_digits(out, m, 2);
    out.push(b'-');
    push_digits(out, d, 2);
}

/// Appends `YYYY-MM-DDTHH:MM:SS`.
pub fn push_timestamp(out: &mut Vec<u8>, seconds: i64) {
    let days = seconds.div_euclid(86_400) as i32;
    let secs = seconds.rem_euclid(86_400) as u32;
    push_date(out, days);
    out.push(b'T');
    push_digits(out, secs / 3600, 2);
    out.push(b':');
    push_digits(out, secs / 60 % 60, 2);
    out.push(b':');
    push_digits(out, secs % 60, 2);
}

/// Formats a day number as `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    let mut out = Vec::with_capacity(10);
    push_date(&mut out, days);
    String::from_utf8(out).expect("digits and dashes are ASCII")
}

fn parse_digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |acc, &b| acc * 10 + u32::from(b - b'0')))
}

/// Parses a strict `YYYY-MM-DD` into a day number; `None` if malformed or not a real date.
///
/// ```
/// use aftersight::dates::{format_date, parse_date};
///
/// let day = parse_date("2024-02-29").unwrap();
/// assert_eq!(format_date(day + 1), "2024-03-01");
/// assert_eq!(parse_date("2023-02-29"), None);
/// ```
pub fn parse_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = parse_digits(&b[0..4])? as i32;
    let month = parse_digits(&b[5..7])?;
    let day = parse_digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || year == 0 {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses `YYYY-MM-DDTHH:MM:SS` (or with a space instead of `T`) into seconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 19 || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let days = parse_date(&s[..10])?;
    let (h, m, sec) = (
        parse_digits(&b[11..13])?,
        parse_digits(&b[14..16])?,
        parse_digits(&b[17..19])?,
    );
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some(i64::from(days) * 86_400 + i64::from(h * 3600 + m * 60 + sec))
}

/// A calendar month, the period of a report or an executive summary.
/// Written `YYYY-MM`, and parsed strictly in that form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    /// The month `month` (1 to 12) of `year`.
    pub const fn new(year: i32, month: u32) -> Period {
        assert!(month >= 1 && month <= 12, "months run from 1 to 12");
        Period { year, month }
    }

    /// The month that holds a day (days since the epoch).
    pub fn containing(day: i32) -> Period {
        let (year, month, _) = civil_from_days(day);
        Period { year, month }
    }

    /// Its first day (days since the epoch).
    pub fn start(self) -> i32 {
        days_from_civil(self.year, self.month, 1)
    }

    /// The first day of the next month: the period is `[start, end)`.
    pub fn end(self) -> i32 {
        add_months(self.start(), 1)
    }

    /// The period `months` later (earlier when negative).
    pub fn plus_months(self, months: i32) -> Period {
        Period::containing(add_months(self.start(), months))
    }

    /// Months since year 0 (`year * 12 + month - 1`), for arithmetic on months.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    /// The period of a month index (see [`Period::index`]).
    pub fn from_index(index: i64) -> Period {
        Period {
            year: index.div_euclid(12) as i32,
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    /// Year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month, 1 to 12.
    pub fn month(self) -> u32 {
        self.month
    }
}

impl std::str::FromStr for Period {
    type Err = String;

    fn from_str(s: &str) -> Result<Period, String> {
        let day = (s.len() == 7)
            .then(|| parse_date(&format!("{s}-01")))
            .flatten()
            .ok_or_else(|| format!("`{s}` is not a month (YYYY-MM)"))?;
        Ok(Period::containing(day))
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_strictly_and_know_their_bounds() {
        let p: Period = "2026-10".parse().unwrap();
        assert_eq!(p.to_string(), "2026-10");
        assert_eq!(format_date(p.start()), "2026-10-01");
        assert_eq!(format_date(p.end()), "2026-11-01");
        assert_eq!(p.plus_months(-12).to_string(), "2025-10");
        assert_eq!(p.plus_months(3).to_string(), "2027-01");
        assert_eq!(Period::from_index(p.index() + 3), p.plus_months(3));
        assert_eq!(
            Period::containing(parse_date("2024-02-29").unwrap()).to_string(),
            "2024-02"
        );
        for bad in ["2026-13", "2026-1", "../../x", "2026-10-01", ""] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_round_trip_over_a_century() {
        for days in -20_000..40_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(format_date(days_from_civil(2024, 2, 29)), "2024-02-29");
    }

    #[test]
    fn parsing_is_strict() {
        assert_eq!(parse_date("2024-02-29"), Some(days_from_civil(2024, 2, 29)));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "31/02/2024",
            "",
            "2024-02-3x",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(parse_timestamp("1970-01-02T01:02:03"), Some(86_400 + 3723));
        assert_eq!(parse_timestamp("1970-01-02 01:02:03"), Some(86_400 + 3723));
        assert_eq!(parse_timestamp("1970-01-02T24:00:00"), None);
        let mut out = Vec::new();
        push_timestamp(&mut out, 86_400 + 3723);
        assert_eq!(out, b"1970-01-02T01:02:03");
    }

    #[test]
    fn month_arithmetic_clamps() {
        let jan31 = days_from_civil(2023, 1, 31);
        assert_eq!(format_date(add_months(jan31, 1)), "2023-02-28");
        assert_eq!(format_date(add_months(jan31, -2)), "2022-11-30");
        assert_eq!(format_date(add_months(jan31, 36)), "2026-01-31");
    }
}
