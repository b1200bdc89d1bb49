//! Business days: the night shift's 01:30 sale belongs to the day that started the evening
//! before. A business day runs from the cut-off hour (venue local time) to the next one.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

use crate::settings::Settings;

/// Venue local time = UTC + offset, so UTC = local − offset.
fn offset(settings: &Settings) -> TimeDelta {
    TimeDelta::minutes(i64::from(settings.utc_offset_minutes))
}

fn cutoff(settings: &Settings) -> TimeDelta {
    TimeDelta::hours(i64::from(settings.business_day_cutoff_hour.clamp(0, 23)))
}

/// The business date `at` belongs to.
pub fn business_date(at: DateTime<Utc>, settings: &Settings) -> NaiveDate {
    let shifted = at
        .naive_utc()
        .checked_add_signed(offset(settings) - cutoff(settings));
    // Only an instant hundreds of millennia away can fall outside chrono's range.
    shifted.unwrap_or_else(|| at.naive_utc()).date()
}

/// The instants `[start, end)` of business date `date`, for "today's" queries and Z reports.
pub fn business_day_bounds(date: NaiveDate, settings: &Settings) -> (DateTime<Utc>, DateTime<Utc>) {
    let local_start = date.and_time(NaiveTime::MIN);
    let start_naive = local_start
        .checked_add_signed(cutoff(settings) - offset(settings))
        .unwrap_or(local_start);
    let start = start_naive.and_utc();
    let end = start.checked_add_signed(TimeDelta::days(1)).unwrap_or(start);
    (start, end)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn eat_settings() -> Settings {
        // East Africa Time (UTC+3), day ends at 04:00 local.
        Settings::defaults("Cafe")
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn small_hours_belong_to_the_previous_day() {
        let s = eat_settings();
        // 02:00 local on 15 March = 23:00 UTC on 14 March.
        assert_eq!(business_date(utc(2024, 3, 14, 23, 0, 0), &s), date(2024, 3, 14));
        // 03:59:59 local on the 15th is still the 14th.
        assert_eq!(business_date(utc(2024, 3, 15, 0, 59, 59), &s), date(2024, 3, 14));
        // 04:00:00 local starts the 15th.
        assert_eq!(business_date(utc(2024, 3, 15, 1, 0, 0), &s), date(2024, 3, 15));
        // 23:30 local on the 15th.
        assert_eq!(business_date(utc(2024, 3, 15, 20, 30, 0), &s), date(2024, 3, 15));
    }

    #[test]
    fn midnight_cutoff_and_negative_offsets() {
        let mut s = eat_settings();
        s.business_day_cutoff_hour = 0;
        assert_eq!(business_date(utc(2024, 3, 14, 21, 0, 0), &s), date(2024, 3, 15));
        assert_eq!(business_date(utc(2024, 3, 14, 20, 59, 59), &s), date(2024, 3, 14));
        s.utc_offset_minutes = -300;
        s.business_day_cutoff_hour = 4;
        // 08:59 UTC = 03:59 local (UTC−5): still the previous day.
        assert_eq!(business_date(utc(2024, 1, 1, 8, 59, 0), &s), date(2023, 12, 31));
        assert_eq!(business_date(utc(2024, 1, 1, 9, 0, 0), &s), date(2024, 1, 1));
    }

    #[test]
    fn bounds_match_business_date() {
        let s = eat_settings();
        let (start, end) = business_day_bounds(date(2024, 3, 14), &s);
        assert_eq!(start, utc(2024, 3, 14, 1, 0, 0));
        assert_eq!(end, utc(2024, 3, 15, 1, 0, 0));
        assert_eq!(business_date(start, &s), date(2024, 3, 14));
        assert_eq!(business_date(end - TimeDelta::seconds(1), &s), date(2024, 3, 14));
        assert_eq!(business_date(end, &s), date(2024, 3, 15));
    }
}
