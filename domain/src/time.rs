//! Event time: parsing the timestamp spellings AWS uses, and UTC calendar days.

use std::fmt;

/// Milliseconds since the Unix epoch, UTC. The only clock the folds ever see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// A UTC calendar day, counted in days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

const MS_PER_DAY: i64 = 86_400_000;

impl Day {
    /// The first day an event may fall on, 0001-01-01 UTC. The parser reads years 0000 to
    /// 9999 with any offset, so an instant can land a day outside four-digit years; inputs
    /// are rejected outside `FIRST..=LAST`, which open-ended queries cover whole.
    pub const FIRST: Day = Day(-719_162);
    /// The last day an event may fall on, 9999-12-31 UTC (see [`Day::FIRST`]).
    pub const LAST: Day = Day(2_932_896);
}

impl Timestamp {
    /// Parses ISO-8601 / RFC 3339 as AWS writes it: `2024-06-03T14:02:10.815Z`,
    /// `2017-12-22T18:43:48Z`, `2018-10-08T14:05:45 +0000`, `2009-12-03T04:24:21.000-05:00`.
    /// Fractions beyond milliseconds are truncated. Returns `None` for anything else.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() < 19 {
            return None;
        }
        let year = digits(b, 0, 4)?;
        let month = digits(b, 5, 2)?;
        let day = digits(b, 8, 2)?;
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        let hour = digits(b, 11, 2)?;
        let minute = digits(b, 14, 2)?;
        let second = digits(b, 17, 2)?;
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut i = 19;
        let mut millis = 0i64;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 3 {
                    millis = millis * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 {
                return None;
            }
            for _ in n..3 {
                millis *= 10;
            }
        }
        if i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let offset_minutes: i64 = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) => {
                let rest = &b[i + 1..];
                let (h, m) = match rest.len() {
                    4 => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                    5 if rest[2] == b':' => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                    2 => (digits(rest, 0, 2)?, 0),
                    _ => return None,
                };
                if h > 23 || m > 59 {
                    return None;
                }
                let total = i64::from(h) * 60 + i64::from(m);
                if sign == b'+' { total } else { -total }
            }
            _ => return None,
        };
        let days = days_from_civil(year as i64, month, day);
        let secs = days * 86_400
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second.min(59))
            - offset_minutes * 60;
        Some(Timestamp(secs * 1000 + millis))
    }

    /// The UTC calendar day this instant falls on.
    pub fn day(self) -> Day {
        Day(self.0.div_euclid(MS_PER_DAY) as i32)
    }

    /// This instant plus whole days.
    pub fn plus_days(self, days: i64) -> Timestamp {
        Timestamp(self.0 + days * MS_PER_DAY)
    }

    /// Seconds since the epoch (DynamoDB TTL attributes use seconds).
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }
}

impl fmt::Display for Timestamp {
    /// Always `YYYY-MM-DDTHH:MM:SS.mmmZ`: fixed width, so it sorts as text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d) = civil_from_days(self.0.div_euclid(MS_PER_DAY));
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
        let (mi, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

impl Day {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Day> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let (y, m, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        Some(Day(days_from_civil(y as i64, m, d) as i32))
    }

    /// The day of a proleptic Gregorian date, or `None` when the month or day is out of range.
    pub fn from_civil(year: i32, month: u32, day: u32) -> Option<Day> {
        let leap_year =
            year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0);
        let max = match month {
            2 if leap_year => 29,
            m => days_in_month(2001, m),
        };
        if !(1..=12).contains(&month) || day < 1 || day > max {
            return None;
        }
        Some(Day(days_from_civil(i64::from(year), month, day) as i32))
    }

    /// `(year, month, day)` of this day.
    pub fn civil(self) -> (i32, u32, u32) {
        let (y, m, d) = civil_from_days(i64::from(self.0));
        (y as i32, m, d)
    }

    /// The first instant of this day.
    pub fn start(self) -> Timestamp {
        Timestamp(i64::from(self.0) * MS_PER_DAY)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_aws_spelling_to_the_same_instant() {
        let z = Timestamp::parse("2018-10-08T14:05:45.000Z").unwrap();
        assert_eq!(Timestamp::parse("2018-10-08T14:05:45Z"), Some(z));
        assert_eq!(Timestamp::parse("2018-10-08T14:05:45 +0000"), Some(z));
        assert_eq!(Timestamp::parse("2018-10-08T09:05:45-05:00"), Some(z));
        assert_eq!(Timestamp::parse("2018-10-08T14:05:45.000123Z"), Some(z));
        assert_eq!(z.0, 1_539_007_545_000);
        assert_eq!(z.to_string(), "2018-10-08T14:05:45.000Z");
    }

    #[test]
    fn keeps_milliseconds_and_formats_fixed_width() {
        let t = Timestamp::parse("2024-06-03T14:02:10.815Z").unwrap();
        assert_eq!(t.to_string(), "2024-06-03T14:02:10.815Z");
        assert_eq!(
            Timestamp::parse("2024-06-03T14:02:10.8Z").unwrap().0 % 1000,
            800
        );
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-06-03T24:00:00Z",
            "2024-06-03T14:02:10",
            "2024-06-03T14:02:10.Z",
            "2024-06-03T14:02:10Zjunk",
            "2024-06-03T14:02:10+25:00",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_are_utc_calendar_days() {
        let t = Timestamp::parse("2024-06-03T23:59:59.999Z").unwrap();
        assert_eq!(t.day().to_string(), "2024-06-03");
        let t = Timestamp::parse("2024-06-03T23:30:00-01:00").unwrap();
        assert_eq!(t.day().to_string(), "2024-06-04");
        assert_eq!(Day::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert_eq!(Day::parse("2023-02-29"), None);
        assert_eq!(Day::parse("1969-12-31").unwrap().0, -1);
        assert_eq!(Day::parse("1970-01-01").unwrap().start(), Timestamp(0));
        assert_eq!(Day::FIRST.to_string(), "0001-01-01");
        assert_eq!(Day::LAST.to_string(), "9999-12-31");
    }
}
