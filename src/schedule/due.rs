//! When a schedule runs. Each local calendar day on which the cron fires is a
//! *run day*; its refresh date D is that local date, and it is due once its
//! first fire time of the day has passed. A day runs once however often the
//! cron fires on it. Times skipped by a daylight-saving change fire at the
//! first valid minute after the gap; repeated times fire at the first one.
//!
//! All functions are pure and take `now`, so tests control the clock.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::config::Schedule;

/// How far back to look for missed days that `catch_up` leaves out.
const MAX_LOOKBACK_DAYS: i64 = 3660;

/// The days a schedule should run now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DueDays {
    /// Refresh dates to run, oldest first.
    pub days: Vec<NaiveDate>,
    /// Missed run days older than the `catch_up` window: not run.
    pub skipped: Vec<NaiveDate>,
}

/// The first instant the schedule fires on local day `day`, if it fires that day.
pub fn first_fire(schedule: &Schedule, day: NaiveDate) -> Option<DateTime<Utc>> {
    if !schedule.cron.matches_day(day) {
        return None;
    }
    schedule
        .cron
        .times_of_day()
        .filter_map(|(hour, minute)| local_instant(schedule.timezone, day, hour, minute))
        .min()
}

/// `day hour:minute` in `tz`: the first of a repeated time, the first valid
/// minute after a skipped one.
fn local_instant(tz: Tz, day: NaiveDate, hour: u32, minute: u32) -> Option<DateTime<Utc>> {
    let mut local = day.and_hms_opt(hour, minute, 0)?;
    // Gaps are at most a few hours long.
    for _ in 0..(4 * 60) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    None
}

/// The local date of `now` in the schedule's time zone.
pub fn local_today(schedule: &Schedule, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&schedule.timezone).date_naive()
}

/// The days to run at `now`, given the last successfully run day. Without a
/// last run only the latest due day runs (a new schedule does not backfill);
/// otherwise every due day after it within `catch_up` days up to today.
pub fn due_days(
    schedule: &Schedule,
    last_success: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> DueDays {
    let today = local_today(schedule, now);
    let window = i64::from(schedule.catch_up_days.max(1));
    let window_start = today - Duration::days(window - 1);
    let is_due = |day: NaiveDate| first_fire(schedule, day).is_some_and(|t| t <= now);
    let Some(last) = last_success else {
        let latest = (0..window)
            .map(|back| today - Duration::days(back))
            .find(|day| is_due(*day));
        return DueDays {
            days: latest.into_iter().collect(),
            skipped: Vec::new(),
        };
    };
    let days = window_start
        .iter_days()
        .take_while(|d| *d <= today)
        .filter(|d| *d > last && is_due(*d))
        .collect();
    let lookback_start = (last + Duration::days(1)).max(today - Duration::days(MAX_LOOKBACK_DAYS));
    let skipped = lookback_start
        .iter_days()
        .take_while(|d| *d < window_start)
        .filter(|d| is_due(*d))
        .collect();
    DueDays { days, skipped }
}

/// The next `count` run days whose first fire time is after `now`, with that time.
pub fn next_runs(
    schedule: &Schedule,
    now: DateTime<Utc>,
    count: usize,
) -> Vec<(NaiveDate, DateTime<Tz>)> {
    local_today(schedule, now)
        .iter_days()
        .take(MAX_LOOKBACK_DAYS as usize)
        .filter_map(|day| {
            first_fire(schedule, day)
                .filter(|t| *t > now)
                .map(|t| (day, t.with_timezone(&schedule.timezone)))
        })
        .take(count)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    fn schedule(cron: &str, tz: Tz, catch_up_days: u32) -> Schedule {
        Schedule {
            name: "s".into(),
            cron: cron.parse().expect("cron"),
            timezone: tz,
            select: Vec::new(),
            refresh_segments: true,
            exports: Vec::new(),
            catch_up_days,
            retries: 0,
            defined_at: Location::file_start("schedules/s.yml"),
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn days(texts: &[&str]) -> Vec<NaiveDate> {
        texts.iter().map(|t| day(t)).collect()
    }

    #[test]
    fn berlin_five_am_is_four_utc_in_winter_and_three_in_summer() {
        let s = schedule("0 5 * * *", chrono_tz::Europe::Berlin, 7);
        assert_eq!(
            first_fire(&s, day("2026-12-01")),
            Some(utc("2026-12-01T04:00:00Z"))
        );
        assert_eq!(
            first_fire(&s, day("2026-07-01")),
            Some(utc("2026-07-01T03:00:00Z"))
        );
        // Not due a minute before, due at the minute.
        assert!(
            due_days(&s, Some(day("2026-11-30")), utc("2026-12-01T03:59:00Z"))
                .days
                .is_empty()
        );
        assert_eq!(
            due_days(&s, Some(day("2026-11-30")), utc("2026-12-01T04:00:00Z")).days,
            days(&["2026-12-01"])
        );
    }

    #[test]
    fn the_refresh_date_is_the_local_date_not_the_utc_date() {
        // 23:45 UTC on Dec 1 is 00:45 on Dec 2 in Berlin; 04:30 UTC on Dec 2 is 23:30 on Dec 1 in New York.
        let berlin = schedule("30 0 * * *", chrono_tz::Europe::Berlin, 1);
        assert_eq!(
            due_days(
                &berlin,
                Some(day("2026-12-01")),
                utc("2026-12-01T23:45:00Z")
            )
            .days,
            days(&["2026-12-02"])
        );
        let new_york = schedule("30 23 * * *", chrono_tz::America::New_York, 1);
        assert_eq!(
            due_days(
                &new_york,
                Some(day("2026-11-30")),
                utc("2026-12-02T04:30:00Z")
            )
            .days,
            days(&["2026-12-01"])
        );
    }

    #[test]
    fn a_time_skipped_by_spring_forward_fires_right_after_the_gap() {
        // Europe/Berlin jumps from 02:00 to 03:00 on 2026-03-29.
        let s = schedule("30 2 * * *", chrono_tz::Europe::Berlin, 7);
        assert_eq!(
            first_fire(&s, day("2026-03-28")),
            Some(utc("2026-03-28T01:30:00Z"))
        );
        assert_eq!(
            first_fire(&s, day("2026-03-29")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            first_fire(&s, day("2026-03-30")),
            Some(utc("2026-03-30T00:30:00Z"))
        );
        assert_eq!(
            due_days(&s, Some(day("2026-03-27")), utc("2026-03-30T06:00:00Z")).days,
            days(&["2026-03-28", "2026-03-29", "2026-03-30"])
        );
    }

    #[test]
    fn a_time_repeated_by_fall_back_runs_once_at_the_first() {
        // America/New_York repeats 01:00-02:00 on 2026-11-01.
        let s = schedule("30 1 * * *", chrono_tz::America::New_York, 3);
        assert_eq!(
            first_fire(&s, day("2026-11-01")),
            Some(utc("2026-11-01T05:30:00Z"))
        );
        assert_eq!(
            first_fire(&s, day("2026-11-02")),
            Some(utc("2026-11-02T06:30:00Z"))
        );
        // Between the two 01:30s the day is due once; after the second, nothing new.
        let after_first = due_days(&s, Some(day("2026-10-31")), utc("2026-11-01T05:45:00Z"));
        assert_eq!(after_first.days, days(&["2026-11-01"]));
        assert!(
            due_days(&s, Some(day("2026-11-01")), utc("2026-11-01T06:45:00Z"))
                .days
                .is_empty()
        );
    }

    #[test]
    fn catch_up_runs_missed_days_oldest_first_and_reports_older_ones() {
        let s = schedule("0 5 * * *", Tz::UTC, 3);
        let due = due_days(&s, Some(day("2026-11-15")), utc("2026-11-20T06:00:00Z"));
        assert_eq!(due.days, days(&["2026-11-18", "2026-11-19", "2026-11-20"]));
        assert_eq!(due.skipped, days(&["2026-11-16", "2026-11-17"]));
        // Before today's 05:00 today is not due yet.
        let due = due_days(&s, Some(day("2026-11-17")), utc("2026-11-20T04:00:00Z"));
        assert_eq!(due.days, days(&["2026-11-18", "2026-11-19"]));
    }

    #[test]
    fn nothing_is_due_twice_and_a_new_schedule_runs_only_the_latest_day() {
        let s = schedule("0 5 * * *", Tz::UTC, 7);
        let now = utc("2026-11-20T06:00:00Z");
        assert!(due_days(&s, Some(day("2026-11-20")), now).days.is_empty());
        assert_eq!(due_days(&s, None, now).days, days(&["2026-11-20"]));
        assert_eq!(
            due_days(&s, None, utc("2026-11-20T04:00:00Z")).days,
            days(&["2026-11-19"])
        );
    }

    #[test]
    fn weekday_schedules_skip_other_days_and_next_runs_are_in_local_time() {
        let s = schedule("0 7 * * mon-fri", chrono_tz::America::New_York, 7);
        // 2026-11-21/22 are a weekend.
        let due = due_days(&s, Some(day("2026-11-19")), utc("2026-11-23T13:00:00Z"));
        assert_eq!(due.days, days(&["2026-11-20", "2026-11-23"]));
        let next = next_runs(&s, utc("2026-11-23T13:00:00Z"), 2);
        let shown: Vec<String> = next.iter().map(|(_, t)| t.to_rfc3339()).collect();
        assert_eq!(
            shown,
            vec!["2026-11-24T07:00:00-05:00", "2026-11-25T07:00:00-05:00"]
        );
    }
}
