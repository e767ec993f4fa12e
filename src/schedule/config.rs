//! Reading `schedules/*.yml`: each file holds a `schedules:` list. Errors
//! point at file:line:col: a bad cron string, an unknown time zone (with the
//! closest name), a bad `catch_up`, unknown keys (with the closest key), a
//! schedule that does nothing, or a name used twice.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::cron::Cron;
use crate::error::{Diagnostic, Error, Location, Result, suggestion};
use crate::project::yaml::{self, location_of};

/// The folder, under the project, holding the schedule files.
pub const SCHEDULE_DIR: &str = "schedules";

/// The catch-up window when `catch_up` is not set: only the latest due day.
pub const DEFAULT_CATCH_UP_DAYS: u32 = 1;

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub cron: Cron,
    pub timezone: Tz,
    /// Models to build as of each run day (selector syntax, like `--select`).
    pub select: Vec<String>,
    /// Refresh the daily segment tables for each run day.
    pub refresh_segments: bool,
    /// Exports (`cohort export` names) written after the day's refresh.
    pub exports: Vec<String>,
    /// Missed days older than this many days (counting the latest) are skipped.
    pub catch_up_days: u32,
    /// Extra attempts for a failing day.
    pub retries: u32,
    pub defined_at: Location,
}

/// A `schedules/*.yml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<u32>,
    #[serde(default)]
    schedules: Vec<Spanned<ScheduleDef>>,
}

/// One entry under `schedules:`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleDef {
    name: String,
    cron: Spanned<String>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    select: Vec<String>,
    #[serde(default)]
    refresh_segments: bool,
    #[serde(default)]
    exports: Vec<String>,
    #[serde(default)]
    catch_up: Option<Spanned<serde_json::Value>>,
    #[serde(default)]
    retries: u32,
}

/// Every schedule in `root/schedules/*.yml` (files in name order, then entry order).
pub fn load(root: &Path) -> Result<Vec<Schedule>> {
    let dir = root.join(SCHEDULE_DIR);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|ext| ext == "yml" || ext == "yaml")
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("read", &dir, e)),
    };
    files.sort();
    let mut schedules: Vec<Schedule> = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        for schedule in parse(&rel, &text)? {
            if let Some(first) = schedules.iter().find(|s| s.name == schedule.name) {
                return Err(Error::config(
                    Diagnostic::new(format!("schedule `{}` is defined twice", schedule.name))
                        .at(schedule.defined_at.clone())
                        .help(format!("it is first defined at {}", first.defined_at)),
                ));
            }
            schedules.push(schedule);
        }
    }
    Ok(schedules)
}

/// The schedules in one file (`file` is used for locations only).
pub fn parse(file: &Path, text: &str) -> Result<Vec<Schedule>> {
    let parsed: ScheduleFile = yaml::parse(file, text)?;
    parsed
        .schedules
        .iter()
        .map(|def| validate(file, def))
        .collect()
}

fn validate(file: &Path, spanned: &Spanned<ScheduleDef>) -> Result<Schedule> {
    let def = &spanned.value;
    let defined_at = location_of(file, spanned);
    let at = |s: &Spanned<String>| location_of(file, s);
    let cron: Cron =
        def.cron
            .value
            .parse()
            .map_err(|e: super::cron::CronError| {
                Error::config(
            Diagnostic::new(format!("schedule `{}`: {e}", def.name))
                .at(at(&def.cron))
                .help("write a 5-field cron expression, e.g. \"0 5 * * *\" for 05:00 every day"),
        )
            })?;
    let timezone = match &def.timezone {
        None => Tz::UTC,
        Some(tz) => tz.value.parse::<Tz>().map_err(|_| {
            Error::config(
                Diagnostic::new(format!(
                    "schedule `{}`: unknown time zone `{}`",
                    def.name, tz.value
                ))
                .at(at(tz))
                .help(suggestion(
                    &tz.value,
                    chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()),
                    "time zone",
                )),
            )
        })?,
    };
    let catch_up_days = match &def.catch_up {
        None => DEFAULT_CATCH_UP_DAYS,
        Some(value) => parse_days(&value.value).ok_or_else(|| {
            Error::config(
                Diagnostic::new(format!(
                    "schedule `{}`: catch_up `{}` is not a number of days",
                    def.name,
                    value_text(&value.value)
                ))
                .at(location_of(file, value))
                .help("write e.g. `catch_up: 7 days` (at least 1 day)"),
            )
        })?,
    };
    if def.select.is_empty() && !def.refresh_segments {
        return Err(Error::config(
            Diagnostic::new(format!("schedule `{}` does nothing", def.name))
                .at(defined_at)
                .help("give it models to build (`select: [...]`) or `refresh_segments: true`"),
        ));
    }
    Ok(Schedule {
        name: def.name.clone(),
        cron,
        timezone,
        select: def.select.clone(),
        refresh_segments: def.refresh_segments,
        exports: def.exports.clone(),
        catch_up_days,
        retries: def.retries,
        defined_at,
    })
}

/// `7 days`, `1 day`, `7d` or `7` → 7; zero and anything else → None.
fn parse_days(value: &serde_json::Value) -> Option<u32> {
    let days = match value {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok())?,
        serde_json::Value::String(s) => {
            let s = s.trim();
            let number = s
                .strip_suffix("days")
                .or_else(|| s.strip_suffix("day"))
                .or_else(|| s.strip_suffix('d'))
                .unwrap_or(s);
            number.trim().parse::<u32>().ok()?
        }
        _ => return None,
    };
    (days > 0).then_some(days)
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> Diagnostic {
        let err = parse(Path::new("schedules/s.yml"), text).expect_err("must fail");
        assert!(err.is_config(), "{err}");
        err.diagnostic().expect("diagnostic").clone()
    }

    #[test]
    fn reads_the_issue_example() {
        let text = "schedules:\n  - name: daily_segments\n    cron: \"0 5 * * *\"\n    timezone: Europe/Berlin\n    select: [\"tag:segments+\"]\n    refresh_segments: true\n    exports: [gads_high_value_churn_risk]\n    catch_up: 7 days\n    retries: 2\n";
        let s = parse(Path::new("schedules/s.yml"), text).expect("valid");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "daily_segments");
        assert_eq!(s[0].timezone, chrono_tz::Europe::Berlin);
        assert_eq!(s[0].catch_up_days, 7);
        assert_eq!(s[0].retries, 2);
        assert_eq!(s[0].exports, vec!["gads_high_value_churn_risk"]);
        assert_eq!(s[0].defined_at.line, 2);
    }

    #[test]
    fn bad_cron_points_at_the_cron_value() {
        let d = parse_err(
            "schedules:\n  - name: a\n    cron: \"0 25 * * *\"\n    refresh_segments: true\n",
        );
        assert!(d.message.contains("not a valid hour"), "{d}");
        assert_eq!(
            d.location.as_ref().map(|l| (l.line, l.column)),
            Some((3, 11)),
            "{d}"
        );
    }

    #[test]
    fn unknown_time_zone_suggests_the_closest() {
        let d = parse_err(
            "schedules:\n  - name: a\n    cron: \"0 5 * * *\"\n    timezone: Europe/Berln\n    refresh_segments: true\n",
        );
        assert!(
            d.message.contains("unknown time zone `Europe/Berln`"),
            "{d}"
        );
        assert_eq!(d.location.as_ref().map(|l| l.line), Some(4), "{d}");
        assert_eq!(d.help.as_deref(), Some("did you mean `Europe/Berlin`?"));
    }

    #[test]
    fn bad_catch_up_unknown_key_and_useless_schedule_are_errors() {
        let d = parse_err(
            "schedules:\n  - name: a\n    cron: \"0 5 * * *\"\n    refresh_segments: true\n    catch_up: a week\n",
        );
        assert!(d.message.contains("catch_up `a week`"), "{d}");
        assert_eq!(d.location.as_ref().map(|l| l.line), Some(5), "{d}");
        let d = parse_err(
            "schedules:\n  - name: a\n    cron: \"0 5 * * *\"\n    refresh_segment: true\n",
        );
        assert!(d.message.contains("unknown field `refresh_segment`"), "{d}");
        assert_eq!(d.help.as_deref(), Some("did you mean `refresh_segments`?"));
        let d = parse_err("schedules:\n  - name: a\n    cron: \"0 5 * * *\"\n");
        assert!(d.message.contains("does nothing"), "{d}");
    }

    #[test]
    fn catch_up_forms() {
        use serde_json::json;
        assert_eq!(parse_days(&json!("7 days")), Some(7));
        assert_eq!(parse_days(&json!("1 day")), Some(1));
        assert_eq!(parse_days(&json!("3d")), Some(3));
        assert_eq!(parse_days(&json!(2)), Some(2));
        assert_eq!(parse_days(&json!("0 days")), None);
        assert_eq!(parse_days(&json!(-1)), None);
    }
}
