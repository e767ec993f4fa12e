//! Time for sample data: every timestamp is drawn as "some time on the day
//! `days_ago` days before `as_of`", in UTC microseconds, and never later than
//! the end of the `as_of` day.

use chrono::NaiveDate;

use super::rng::Rng;

/// Microseconds in one day.
pub const DAY_US: i64 = 86_400_000_000;
/// Microseconds in one hour.
pub const HOUR_US: i64 = 3_600_000_000;
/// How many days of history the sample covers (`as_of` itself is day 0).
pub const WINDOW_DAYS: i64 = 400;
/// The oldest day, in days before `as_of`.
pub const OLDEST_DAY: i64 = WINDOW_DAYS - 1;

/// Relative weight of each UTC hour of the day for activity (quiet nights).
const HOUR_WEIGHTS: [u64; 24] = [
    2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 9, 7, 5, 3,
];

/// Running totals of [`HOUR_WEIGHTS`] (drawing an hour is on the hot path).
const HOUR_TOTALS: [u64; 24] = {
    let mut totals = [0; 24];
    let mut sum = 0;
    let mut hour = 0;
    while hour < 24 {
        sum += HOUR_WEIGHTS[hour];
        totals[hour] = sum;
        hour += 1;
    }
    totals
};

/// Seconds of each day left free at its end, so that a later "update" of any
/// event always fits before the end of the `as_of` day.
const DAY_END_MARGIN_S: u64 = 120;

/// The sample's calendar, anchored on the `as_of` date.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Microseconds since the epoch of `as_of` 00:00:00 UTC.
    as_of_midnight: i64,
}

impl Clock {
    /// The clock for `as_of`, or `None` when the window does not fit chrono's range.
    pub fn new(as_of: NaiveDate) -> Option<Self> {
        as_of.checked_add_days(chrono::Days::new(1))?;
        as_of.checked_sub_days(chrono::Days::new(WINDOW_DAYS as u64))?;
        let as_of_midnight = as_of.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros();
        Some(Clock { as_of_midnight })
    }

    /// The last microsecond of the `as_of` day: no timestamp is later.
    pub fn end(&self) -> i64 {
        self.as_of_midnight + DAY_US - 1
    }

    /// Midnight (UTC) of the day `days_ago` days before `as_of` (clamped to the window).
    pub fn day_start(&self, days_ago: i64) -> i64 {
        self.as_of_midnight - days_ago.clamp(0, OLDEST_DAY) * DAY_US
    }

    /// A random moment on the day `days_ago` days before `as_of`, busier by day.
    pub fn at(&self, rng: &mut Rng, days_ago: i64) -> i64 {
        let roll = rng.below(HOUR_TOTALS[23]);
        let hour = HOUR_TOTALS.partition_point(|&total| total <= roll) as u64;
        let max_second = if hour == 23 {
            3_600 - DAY_END_MARGIN_S
        } else {
            3_600
        };
        let second = hour * 3_600 + rng.below(max_second);
        let micros = rng.below(1_000_000);
        self.day_start(days_ago) + (second * 1_000_000 + micros) as i64
    }

    /// A moment strictly after `ts`, at most `max_delay_us` later, and never
    /// after [`Clock::end`] (returns `ts` only if `ts` is already the end).
    pub fn later(&self, rng: &mut Rng, ts: i64, max_delay_us: i64) -> i64 {
        let room = (self.end() - ts).min(max_delay_us);
        if room < 1 {
            return ts.min(self.end());
        }
        ts + 1 + rng.below(room as u64) as i64
    }

    /// The whole days between `ts` and the `as_of` day (0 for the `as_of` day itself).
    pub fn days_ago(&self, ts: i64) -> i64 {
        (self.as_of_midnight + DAY_US - 1 - ts).div_euclid(DAY_US)
    }

    /// The Unix time in seconds of `ts`.
    pub fn unix_seconds(ts: i64) -> i64 {
        ts.div_euclid(1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        Clock::new(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()).unwrap()
    }

    #[test]
    fn end_is_the_last_microsecond_of_as_of() {
        let end = chrono::DateTime::from_timestamp_micros(clock().end()).unwrap();
        assert_eq!(end.to_rfc3339(), "2026-11-23T23:59:59.999999+00:00");
    }

    #[test]
    fn random_moments_stay_on_their_day() {
        let c = clock();
        let mut rng = Rng::seeded(5);
        for days_ago in [0, 1, 30, OLDEST_DAY] {
            for _ in 0..2_000 {
                let ts = c.at(&mut rng, days_ago);
                assert_eq!(c.days_ago(ts), days_ago);
                assert!(ts < c.end() - DAY_END_MARGIN_S as i64 * 1_000_000 + 1_000_000);
            }
        }
    }

    #[test]
    fn later_is_strictly_later_and_never_past_the_end() {
        let c = clock();
        let mut rng = Rng::seeded(6);
        for _ in 0..2_000 {
            let ts = c.at(&mut rng, 0);
            let later = c.later(&mut rng, ts, 30 * DAY_US);
            assert!(later > ts && later <= c.end());
        }
        assert_eq!(c.later(&mut rng, c.end(), DAY_US), c.end());
    }

    #[test]
    fn hours_follow_their_weights() {
        let c = clock();
        let mut rng = Rng::seeded(8);
        let mut counts = [0u64; 24];
        for _ in 0..200_000 {
            let ts = c.at(&mut rng, 3);
            counts[((ts - c.day_start(3)) / HOUR_US) as usize] += 1;
        }
        let total: u64 = HOUR_WEIGHTS.iter().sum();
        for (hour, &count) in counts.iter().enumerate() {
            let expected = 200_000 * HOUR_WEIGHTS[hour] / total;
            assert!(
                count.abs_diff(expected) < expected / 10 + 50,
                "{hour}: {count} vs {expected}"
            );
        }
    }

    #[test]
    fn days_are_clamped_to_the_window() {
        let c = clock();
        assert_eq!(c.day_start(-5), c.day_start(0));
        assert_eq!(c.day_start(10_000), c.day_start(OLDEST_DAY));
        assert_eq!(c.days_ago(c.day_start(OLDEST_DAY)), OLDEST_DAY);
    }

    #[test]
    fn extreme_dates_are_rejected() {
        assert!(Clock::new(NaiveDate::MAX).is_none());
        assert!(Clock::new(NaiveDate::MIN).is_none());
    }
}
