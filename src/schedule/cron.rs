//! Standard 5-field cron expressions (`minute hour day-of-month month
//! day-of-week`): `*`, numbers, lists `1,15`, ranges `1-5`, steps `*/6` and
//! `10-40/10`, month and weekday names (`jan`, `mon`), and `7` for Sunday.
//! As in Vixie cron, when both day fields are restricted a day matches if
//! either does.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days_of_month: Vec<u32>,
    months: Vec<u32>,
    /// 0 = Sunday ... 6 = Saturday.
    days_of_week: Vec<u32>,
    day_of_month_any: bool,
    day_of_week_any: bool,
}

/// Why a cron expression was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError(pub String);

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Field {
    label: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The first name's value.
    names_start: u32,
}

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Self, CronError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError(format!(
                "`{text}` has {} field(s); a cron expression has 5: minute hour day-of-month month day-of-week",
                parts.len()
            )));
        }
        let field = |i: usize, f: Field| parse_field(parts[i], &f);
        let minutes = field(
            0,
            Field {
                label: "minute",
                min: 0,
                max: 59,
                names: &[],
                names_start: 0,
            },
        )?;
        let hours = field(
            1,
            Field {
                label: "hour",
                min: 0,
                max: 23,
                names: &[],
                names_start: 0,
            },
        )?;
        let days_of_month = field(
            2,
            Field {
                label: "day of month",
                min: 1,
                max: 31,
                names: &[],
                names_start: 1,
            },
        )?;
        let months = field(
            3,
            Field {
                label: "month",
                min: 1,
                max: 12,
                names: &MONTHS,
                names_start: 1,
            },
        )?;
        let mut days_of_week = field(
            4,
            Field {
                label: "day of week",
                min: 0,
                max: 7,
                names: &WEEKDAYS,
                names_start: 0,
            },
        )?;
        for d in &mut days_of_week {
            if *d == 7 {
                *d = 0;
            }
        }
        days_of_week.sort_unstable();
        days_of_week.dedup();
        Ok(Cron {
            text: parts.join(" "),
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            day_of_month_any: parts[2] == "*",
            day_of_week_any: parts[4] == "*",
        })
    }
}

fn parse_field(text: &str, field: &Field) -> Result<Vec<u32>, CronError> {
    let mut values = Vec::new();
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    CronError(format!(
                        "`{step}` is not a step in the {} field",
                        field.label
                    ))
                })?;
                (range, step)
            }
            None => (item, 1),
        };
        let (start, end) = if range == "*" {
            (field.min, field.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, field)?, value(b, field)?)
        } else {
            let v = value(range, field)?;
            // `5/15` means from 5 to the end, every 15.
            (v, if item.contains('/') { field.max } else { v })
        };
        if start > end {
            return Err(CronError(format!(
                "the range `{range}` in the {} field runs backwards",
                field.label
            )));
        }
        values.extend((start..=end).step_by(step as usize));
    }
    values.sort_unstable();
    values.dedup();
    Ok(values)
}

fn value(text: &str, field: &Field) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        return Ok(field.names_start + i as u32);
    }
    match text.parse::<u32>() {
        Ok(v) if (field.min..=field.max).contains(&v) => Ok(v),
        _ => Err(CronError(format!(
            "`{text}` is not a valid {} (expected {}-{})",
            field.label, field.min, field.max
        ))),
    }
}

impl Cron {
    /// The expression as written (fields separated by single spaces).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the expression fires on local calendar day `day`.
    pub fn matches_day(&self, day: NaiveDate) -> bool {
        let month_ok = self.months.contains(&day.month());
        let dom = self.days_of_month.contains(&day.day());
        let dow = self
            .days_of_week
            .contains(&day.weekday().num_days_from_sunday());
        let day_ok = match (self.day_of_month_any, self.day_of_week_any) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        };
        month_ok && day_ok
    }

    /// The local (hour, minute) times of day the expression fires at, in order.
    pub fn times_of_day(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.hours
            .iter()
            .flat_map(move |h| self.minutes.iter().map(move |m| (*h, *m)))
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(text: &str) -> Cron {
        text.parse().expect("valid cron")
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    #[test]
    fn parses_lists_ranges_steps_and_names() {
        let c = cron("0,30 */6 * jan-mar mon-fri");
        assert_eq!(
            c.times_of_day().collect::<Vec<_>>()[..3],
            [(0, 0), (0, 30), (6, 0)]
        );
        assert!(c.matches_day(day("2026-01-05"))); // Monday in January
        assert!(!c.matches_day(day("2026-01-04"))); // Sunday
        assert!(!c.matches_day(day("2026-04-06"))); // Monday in April
        assert_eq!(cron("5/20 0 * * *").minutes, vec![5, 25, 45]);
        assert_eq!(cron("0 0 * * 7").days_of_week, vec![0]);
    }

    #[test]
    fn both_day_fields_restricted_match_either() {
        let c = cron("0 5 1 * mon");
        assert!(c.matches_day(day("2026-12-01"))); // the 1st, a Tuesday
        assert!(c.matches_day(day("2026-12-07"))); // a Monday
        assert!(!c.matches_day(day("2026-12-08")));
    }

    #[test]
    fn rejects_bad_expressions_with_a_reason() {
        for (text, reason) in [
            ("0 5 * *", "has 4 field(s)"),
            ("60 5 * * *", "not a valid minute"),
            ("0 24 * * *", "not a valid hour"),
            ("0 5 * foo *", "not a valid month"),
            ("*/0 5 * * *", "not a step"),
            ("0 9-5 * * *", "runs backwards"),
        ] {
            let err = text.parse::<Cron>().expect_err(text);
            assert!(err.0.contains(reason), "{text}: {err}");
        }
    }
}
