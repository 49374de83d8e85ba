//! Calendar arithmetic for the demo CRM: ISO 8601 dates and timestamps in UTC.
//! It never reads a time zone or the local clock apart from `now_millis`.

use std::time::{SystemTime, UNIX_EPOCH};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), so seed dates can be spread without a date crate.
pub(super) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
pub(super) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
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
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses the `YYYY-MM-DD` at the start of `text` into days since the epoch.
pub(super) fn parse_day(text: &str) -> Option<i64> {
    let year = text.get(0..4)?.parse::<i64>().ok()?;
    let month = text.get(5..7)?.parse::<i64>().ok()?;
    let day = text.get(8..10)?.parse::<i64>().ok()?;
    let separators_ok = text.get(4..5) == Some("-") && text.get(7..8) == Some("-");
    if !separators_ok || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Milliseconds since the epoch of `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.mmm]]Z`,
/// so search filters can compare stored dates with HubSpot's epoch-millisecond values.
pub(super) fn parse_millis(text: &str) -> Option<i64> {
    let days = parse_day(text)?;
    let mut millis = days * MILLIS_PER_DAY;
    if text.len() == 10 {
        return Some(millis);
    }
    if text.get(10..11) != Some("T") {
        return None;
    }
    let hours = text.get(11..13)?.parse::<i64>().ok()?;
    let minutes = text.get(14..16)?.parse::<i64>().ok()?;
    let seconds = text
        .get(17..19)
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    let fraction = text
        .get(20..23)
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    millis += ((hours * 60 + minutes) * 60 + seconds) * 1000 + fraction;
    Some(millis)
}

/// `YYYY-MM-DD` of a day number.
pub(super) fn format_day(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the shape HubSpot uses for every timestamp.
pub(super) fn format_millis(millis: i64) -> String {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let in_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (hours, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, fraction) = (rest / 1000, rest % 1000);
    format!(
        "{}T{hours:02}:{minutes:02}:{seconds:02}.{fraction:03}Z",
        format_day(days)
    )
}

/// The current time in milliseconds since the epoch, for batch answers'
/// `startedAt`/`completedAt` and the timestamps of writes: seeded data never
/// depends on the clock.
pub(super) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// [`now_millis`] in HubSpot's timestamp shape.
pub(super) fn now_iso() -> String {
    format_millis(now_millis())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(format_day(days_from_civil(2024, 2, 29)), "2024-02-29");
        for days in [-1000, 0, 19_000, 20_819, 40_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn parses_and_formats_timestamps() {
        let millis = parse_millis("2026-11-29T08:15:30.250Z").unwrap();
        assert_eq!(format_millis(millis), "2026-11-29T08:15:30.250Z");
        assert_eq!(parse_millis("2026-11-29"), Some(20_786 * MILLIS_PER_DAY));
        assert_eq!(parse_millis("20261129"), None);
        assert_eq!(parse_day("2026-13-01"), None);
    }
}
