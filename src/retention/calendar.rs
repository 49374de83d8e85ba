//! Calendar days for the deletion concept: dates as records hold them, periods in calendar
//! units, and the clock that says what "today" is. Reads the system clock only through
//! [`Clock::System`], and never rounds a month to a number of days.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A calendar day: days since 1970-01-01 (proleptic Gregorian, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    pub fn from_civil(year: i64, month: i64, day: i64) -> Day {
        let year = if month <= 2 { year - 1 } else { year };
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month_index = (month + 9) % 12;
        let day_of_year = (153 * month_index + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Day(era * 146_097 + day_of_era - 719_468)
    }

    pub fn civil(self) -> (i64, i64, i64) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        (year_of_era + era * 400 + i64::from(month <= 2), month, day)
    }

    /// `YYYY-MM-DD` (anything may follow: a timestamp), or epoch milliseconds as some CRMs
    /// give date-time properties.
    pub fn parse(text: &str) -> Option<Day> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.len() > 8 {
            let millis: i64 = text.parse().ok()?;
            return Some(Day(millis.div_euclid(86_400_000)));
        }
        let year = text.get(0..4)?.parse::<i64>().ok()?;
        let month = text.get(5..7)?.parse::<i64>().ok()?;
        let day = text.get(8..10)?.parse::<i64>().ok()?;
        let separators = text.get(4..5) == Some("-") && text.get(7..8) == Some("-");
        if !separators
            || !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
        {
            return None;
        }
        Some(Day::from_civil(year, month, day))
    }

    /// The first day of the next calendar year: where a period "from the end of the
    /// calendar year" starts running.
    pub fn end_of_year(self) -> Day {
        let (y, _, _) = self.civil();
        Day::from_civil(y + 1, 1, 1)
    }

    /// This day plus a period; a month end is clamped (31 Jan + 1 month = 28/29 Feb).
    pub fn plus(self, period: Period) -> Day {
        let (y, m, d) = self.civil();
        let months = match period.unit {
            Unit::Days => return Day(self.0 + i64::from(period.count)),
            Unit::Months => i64::from(period.count),
            Unit::Years => i64::from(period.count) * 12,
        };
        let index = y * 12 + (m - 1) + months;
        let (ny, nm) = (index.div_euclid(12), index.rem_euclid(12) + 1);
        Day::from_civil(ny, nm, d.min(days_in_month(ny, nm)))
    }

    /// Today by the system clock (UTC).
    pub fn today() -> Day {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Day(i64::try_from(secs / 86_400).unwrap_or(0))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Where "today" comes from: the system date, or a fixed day (`[retention] today` in
/// crmgate.toml, for tests and demos of a given date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(Day),
}

impl Clock {
    pub fn today(self) -> Day {
        match self {
            Clock::System => Day::today(),
            Clock::Fixed(d) => d,
        }
    }
}

/// A retention period in calendar units. Not `humantime`: it counts a month as 30.44 days,
/// and a legal period of "24 months" ends on the same day of the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub count: u32,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Days,
    Months,
    Years,
}

impl Period {
    /// `24 months`, `3 years`, `1 year`, `90 days`.
    pub fn parse(text: &str) -> Option<Period> {
        let mut parts = text.split_whitespace();
        let count: u32 = parts.next()?.parse().ok()?;
        let unit = match parts.next()? {
            "day" | "days" => Unit::Days,
            "month" | "months" => Unit::Months,
            "year" | "years" => Unit::Years,
            _ => return None,
        };
        (parts.next().is_none() && count > 0).then_some(Period { count, unit })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match (self.unit, self.count) {
            (Unit::Days, 1) => "day",
            (Unit::Days, _) => "days",
            (Unit::Months, 1) => "month",
            (Unit::Months, _) => "months",
            (Unit::Years, 1) => "year",
            (Unit::Years, _) => "years",
        };
        write!(f, "{} {unit}", self.count)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn periods_count_calendar_months_and_clamp_month_ends() {
        let p = Period::parse("24 months").unwrap();
        assert_eq!(day("2024-12-01").plus(p).to_string(), "2026-12-01");
        let one = Period::parse("1 month").unwrap();
        assert_eq!(day("2025-01-31").plus(one).to_string(), "2025-02-28");
        assert_eq!(day("2024-01-31").plus(one).to_string(), "2024-02-29");
        let years = Period::parse("8 years").unwrap();
        assert_eq!(
            day("2019-12-23").end_of_year().plus(years).to_string(),
            "2028-01-01"
        );
        assert!(Period::parse("24 monthz").is_none());
        assert!(Period::parse("0 days").is_none());
        assert!(Period::parse("2 years ago").is_none());
    }

    #[test]
    fn dates_are_read_as_days_or_epoch_millis() {
        assert_eq!(day("2026-12-02T10:00:00Z").to_string(), "2026-12-02");
        assert_eq!(day("1764633600000").to_string(), "2025-12-02");
        assert!(Day::parse("2026-02-30").is_none());
        assert!(Day::parse("tomorrow").is_none());
    }
}
