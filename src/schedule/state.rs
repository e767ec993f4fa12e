//! The schedule state file (`target/schedule_state.json`, or an object in
//! Cloud Storage, see [`super::store`]): per schedule, the last
//! successfully run day, per incremental model the last day the schedule
//! built it, and a short run history. A file is written through a
//! temporary file, flushed to disk, then renamed into place, so a crash
//! leaves either the old or the new state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::artifacts::write_durably;
use crate::error::{Diagnostic, Error, Result};

/// The state file's name, under the project's target folder.
pub const STATE_FILE: &str = "schedule_state.json";

/// Runs kept per schedule in the history.
pub const HISTORY_LIMIT: usize = 100;

/// The state of every schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub schedules: BTreeMap<String, ScheduleState>,
}

/// One schedule's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// The latest day that ran successfully; the next run starts after it.
    #[serde(default, with = "text::optional_day")]
    pub last_success: Option<NaiveDate>,
    /// Per incremental model the schedule builds: its latest successful build.
    #[serde(default)]
    pub models: BTreeMap<String, ModelState>,
    /// Runs, oldest first (at most [`HISTORY_LIMIT`]).
    #[serde(default)]
    pub history: Vec<DayRun>,
}

/// An incremental model's latest successful build by a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelState {
    /// The latest day (`as_of`) it was built for.
    #[serde(with = "text::day")]
    pub last_success: NaiveDate,
    /// When that build's day-run finished.
    #[serde(with = "text::instant")]
    pub built_at: DateTime<Utc>,
}

/// How one day's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Success,
    Failed,
}

/// One run of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRun {
    #[serde(with = "text::day")]
    pub day: NaiveDate,
    pub status: RunStatus,
    pub attempts: u32,
    #[serde(with = "text::instant")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "text::instant")]
    pub finished_at: DateTime<Utc>,
}

/// Dates and times as ISO 8601 text (chrono's serde feature would rebuild
/// every crate that depends on chrono).
mod text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub mod day {
        use super::*;
        use chrono::NaiveDate;

        pub fn serialize<S: Serializer>(day: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(day)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
            String::deserialize(d)?.parse().map_err(D::Error::custom)
        }
    }

    pub mod optional_day {
        use super::*;
        use chrono::NaiveDate;

        pub fn serialize<S: Serializer>(day: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
            match day {
                Some(day) => s.collect_str(day),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|t| t.parse().map_err(D::Error::custom))
                .transpose()
        }
    }

    pub mod instant {
        use super::*;
        use chrono::{DateTime, SecondsFormat, Utc};

        pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
            DateTime::parse_from_rfc3339(&String::deserialize(d)?)
                .map(|t| t.with_timezone(&Utc))
                .map_err(D::Error::custom)
        }
    }
}

impl State {
    /// The state file of a project whose target folder is `target_dir`.
    pub fn path(target_dir: &Path) -> PathBuf {
        target_dir.join(STATE_FILE)
    }

    /// Read the state; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<State> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(Error::io("read", path, e)),
        };
        State::from_bytes(&bytes, &path.display().to_string())
    }

    /// Parse the state read from `address` (a path or a `gs://` address, for errors).
    pub fn from_bytes(bytes: &[u8], address: &str) -> Result<State> {
        serde_json::from_slice(bytes).map_err(|e| {
            Error::execution(
                Diagnostic::new(format!("{address} is not a schedule state file: {e}"))
                    .help("restore it, or remove it to start over (every schedule then runs only its latest due day)"),
            )
        })
    }

    /// The state as pretty JSON, ending with a newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let text = serde_json::to_string_pretty(self).map_err(|e| {
            Error::execution(Diagnostic::new(format!(
                "cannot serialize the schedule state: {e}"
            )))
        })?;
        Ok(format!("{text}\n").into_bytes())
    }

    /// Write the state durably and atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_durably(path, &self.to_bytes()?)
    }

    pub fn schedule(&self, name: &str) -> Option<&ScheduleState> {
        self.schedules.get(name)
    }

    pub fn last_success(&self, name: &str) -> Option<NaiveDate> {
        self.schedule(name).and_then(|s| s.last_success)
    }

    /// Record a day's run; a success moves `last_success` forward.
    pub fn record(&mut self, name: &str, run: DayRun) {
        let entry = self.schedules.entry(name.to_string()).or_default();
        if run.status == RunStatus::Success && entry.last_success.is_none_or(|d| d < run.day) {
            entry.last_success = Some(run.day);
        }
        entry.history.push(run);
        let excess = entry.history.len().saturating_sub(HISTORY_LIMIT);
        entry.history.drain(..excess);
    }

    /// Record that `schedule` built the incremental `model` for `day`,
    /// finishing at `at`; an older day than the one recorded is ignored.
    pub fn record_model(&mut self, schedule: &str, model: &str, day: NaiveDate, at: DateTime<Utc>) {
        let entry = self.schedules.entry(schedule.to_string()).or_default();
        let newer = entry
            .models
            .get(model)
            .is_none_or(|m| m.last_success <= day);
        if newer {
            entry.models.insert(
                model.to_string(),
                ModelState {
                    last_success: day,
                    built_at: at,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(day: &str, status: RunStatus) -> DayRun {
        let at = DateTime::parse_from_rfc3339("2026-11-23T05:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        DayRun {
            day: day.parse().expect("day"),
            status,
            attempts: 1,
            started_at: at,
            finished_at: at,
        }
    }

    #[test]
    fn success_advances_failure_does_not_and_the_file_round_trips() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = State::path(&dir.path().join("target"));
        assert_eq!(
            State::load(&path).expect("missing is empty"),
            State::default()
        );
        let mut state = State::default();
        state.record("daily", run("2026-11-21", RunStatus::Success));
        state.record("daily", run("2026-11-22", RunStatus::Failed));
        assert_eq!(state.last_success("daily"), "2026-11-21".parse().ok());
        let at = run("2026-11-21", RunStatus::Success).finished_at;
        let day = |d: &str| d.parse::<NaiveDate>().expect("day");
        state.record_model("daily", "orders_inc", day("2026-11-21"), at);
        // A backfill of an older day does not move the model back.
        state.record_model("daily", "orders_inc", day("2026-11-19"), at);
        assert_eq!(
            state
                .schedule("daily")
                .map(|s| s.models["orders_inc"].last_success),
            Some(day("2026-11-21"))
        );
        state.save(&path).expect("save");
        let loaded = State::load(&path).expect("load");
        assert_eq!(loaded, state);
        assert_eq!(loaded.schedule("daily").map(|s| s.history.len()), Some(2));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("target"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(STATE_FILE)]);
    }

    #[test]
    fn history_is_capped_and_a_broken_file_is_an_error() {
        let mut state = State::default();
        for _ in 0..(HISTORY_LIMIT + 5) {
            state.record("daily", run("2026-11-21", RunStatus::Success));
        }
        assert_eq!(
            state.schedule("daily").map(|s| s.history.len()),
            Some(HISTORY_LIMIT)
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(STATE_FILE);
        std::fs::write(&path, "{not json").expect("write");
        let err = State::load(&path).expect_err("broken state");
        assert!(
            err.to_string().contains("is not a schedule state file"),
            "{err}"
        );
    }
}
