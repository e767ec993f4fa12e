//! `cohort schedule list | run-due | install`: scheduled daily refreshes.
//! `run-due` takes the lock, runs each schedule's due days oldest first
//! (build the selection as of D, then refresh the segments for D, each
//! model built once), records every day in the state (a file in `target/`
//! or a `gs://` object) and in `target/run_history/`, and prints a one-line
//! summary.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use cohort::error::{Diagnostic, Error, Result};
use cohort::project::Project;
use cohort::run::Status;
use cohort::schedule::config::{self, Schedule};
use cohort::schedule::due;
use cohort::schedule::history::{self, DayRecord, StepRun};
use cohort::schedule::state::{DayRun, RunStatus};
use cohort::schedule::store::{StateLocation, StateStore};
use serde_json::json;

use super::args::{
    ClockArgs, ExportArgs, GlobalArgs, InstallArgs, ListOutput, RefreshArgs, RunArgs,
    ScheduleCommand, SelectArgs,
};
use super::output::Printer;
use super::{EXIT_CONFIG, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};

/// How often the installed triggers call `run-due`.
const TRIGGER_EVERY_MINUTES: u32 = 15;

pub async fn run(global: &GlobalArgs, command: &ScheduleCommand, printer: &Printer) -> Result<u8> {
    match command {
        ScheduleCommand::List { output, clock } => list(global, *output, clock, printer).await,
        ScheduleCommand::RunDue { clock } => run_due(global, now(clock)?, printer).await,
        ScheduleCommand::Daemon { clock } => daemon(global, clock, printer).await,
        ScheduleCommand::Install(args) => install(global, args, printer),
    }
}

fn now(clock: &ClockArgs) -> Result<DateTime<Utc>> {
    match &clock.now {
        None => Ok(Utc::now()),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                Error::config(
                    Diagnostic::new(format!("--now `{text}` is not an RFC 3339 time: {e}"))
                        .help("write e.g. 2026-11-23T05:00:00Z"),
                )
            }),
    }
}

/// The project and its schedules (a configuration error when there are none).
fn load(global: &GlobalArgs) -> Result<(Project, Vec<Schedule>)> {
    let project = super::setup::load_project(global)?;
    let schedules = config::load(&project.root)?;
    if schedules.is_empty() {
        return Err(Error::config(
            Diagnostic::new("no schedule is defined")
                .help("declare schedules in schedules/*.yml (see \"Schedules\" in README.md)"),
        ));
    }
    Ok((project, schedules))
}

/// Where the project's schedule state lives: `schedule_state:` of the
/// profile target (a `gs://` folder), else the target folder.
async fn open_store(global: &GlobalArgs, project: &Project) -> Result<StateStore> {
    let target = super::setup::resolve_target(project, global)?;
    let location = match target.schedule_state() {
        Some(text) => StateLocation::parse_gcs(text).map_err(|problem| {
            Error::config(
                Diagnostic::new(format!(
                    "target `{}`: schedule_state: {problem}",
                    target.name
                ))
                .help("write `schedule_state: gs://BUCKET/PREFIX/` in the profile target"),
            )
        })?,
        None => StateLocation::Target(project.target_dir()),
    };
    StateStore::open(&location, &super::export::gcs_settings(&target.kind)).await
}

async fn list(
    global: &GlobalArgs,
    output: ListOutput,
    clock: &ClockArgs,
    printer: &Printer,
) -> Result<u8> {
    let now = now(clock)?;
    let (project, schedules) = load(global)?;
    let state = open_store(global, &project).await?.load().await?;
    let mut rows = Vec::new();
    let mut text = String::new();
    for schedule in &schedules {
        let saved = state.schedule(&schedule.name);
        let last_success = saved.and_then(|s| s.last_success);
        let last_run = saved.and_then(|s| s.history.last());
        let models: Vec<_> = saved.map(|s| s.models.iter().collect()).unwrap_or_default();
        let due_now = due::due_days(schedule, last_success, now).days;
        let next: Vec<String> = due::next_runs(schedule, now, 3)
            .iter()
            .map(|(_, t)| t.format("%Y-%m-%d %H:%M %Z").to_string())
            .collect();
        rows.push(json!({
            "name": schedule.name,
            "cron": schedule.cron.as_str(),
            "timezone": schedule.timezone.name(),
            "select": schedule.select,
            "refresh_segments": schedule.refresh_segments,
            "exports": schedule.exports,
            "catch_up_days": schedule.catch_up_days,
            "retries": schedule.retries,
            "last_success": last_success.map(|d| d.to_string()),
            "last_run": last_run.map(|r| json!({
                "day": r.day.to_string(), "status": r.status, "attempts": r.attempts,
                "finished_at": r.finished_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })),
            "incremental_models": models.iter().map(|(name, m)| json!({
                "name": name, "last_success": m.last_success.to_string(),
                "built_at": m.built_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })).collect::<Vec<_>>(),
            "due_now": due_now.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "next_runs": next,
        }));
        text.push_str(&format!(
            "{}  {}  {}\n",
            schedule.name,
            schedule.cron,
            schedule.timezone.name()
        ));
        text.push_str(&format!(
            "  last success: {}\n",
            last_success.map_or("never".to_string(), |d| d.to_string())
        ));
        if let Some(run) = last_run {
            text.push_str(&format!(
                "  last run:     {} {} ({} attempt(s), finished {})\n",
                run.day,
                status_word(run.status),
                run.attempts,
                run.finished_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        for (name, model) in &models {
            text.push_str(&format!(
                "  incremental:  {name} built for {} (at {})\n",
                model.last_success,
                model
                    .built_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        text.push_str(&format!(
            "  due now:      {}\n",
            join_days(&due_now, "nothing")
        ));
        text.push_str(&format!("  next runs:    {}\n", next.join(", ")));
        if !schedule.exports.is_empty() {
            text.push_str(&format!(
                "  exports:      {}\n",
                schedule.exports.join(", ")
            ));
        }
    }
    match output {
        ListOutput::Json => printer.data(&serde_json::Value::Array(rows).to_string()),
        ListOutput::Text => printer.data(&text),
    }
    Ok(EXIT_OK)
}

fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Success => "succeeded",
        RunStatus::Failed => "failed",
    }
}

fn join_days(days: &[NaiveDate], empty: &str) -> String {
    if days.is_empty() {
        empty.to_string()
    } else {
        days.iter()
            .map(NaiveDate::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn run_due(global: &GlobalArgs, now: DateTime<Utc>, printer: &Printer) -> Result<u8> {
    let (project, schedules) = load(global)?;
    let mut store = open_store(global, &project).await?;
    let lock = store.lock(now).await?;
    let ran = run_locked(global, &project, &schedules, &mut store, now, printer).await;
    let released = store.unlock(lock).await;
    let code = ran?;
    released?;
    Ok(code)
}

/// Test hook, not a user feature (hence undocumented in the README): with
/// `COHORT_TEST_HOLD_LOCK` set, `run-due` says so on stdout once it holds
/// the lock and has read the state, then waits for its stdin to close. A
/// test can so run a second process, or change the state, while this one
/// provably holds the lock, without any timing.
const HOLD_LOCK_ENV: &str = "COHORT_TEST_HOLD_LOCK";

async fn hold_lock_for_tests(printer: &Printer) {
    if std::env::var_os(HOLD_LOCK_ENV).is_none() {
        return;
    }
    printer.data("schedule run-due: holding the lock");
    let _ = tokio::task::spawn_blocking(|| {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    })
    .await;
}

/// run-due's work, once the lock is held.
async fn run_locked(
    global: &GlobalArgs,
    project: &Project,
    schedules: &[Schedule],
    store: &mut StateStore,
    now: DateTime<Utc>,
    printer: &Printer,
) -> Result<u8> {
    let target_dir = project.target_dir();
    let mut state = store.load().await?;
    hold_lock_for_tests(printer).await;
    let mut succeeded: Vec<String> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    let mut exit = EXIT_OK;
    for schedule in schedules {
        let due = due::due_days(schedule, state.last_success(&schedule.name), now);
        if !due.skipped.is_empty() {
            printer.info(&format!(
                "schedule {}: {} missed day(s) before the catch_up window of {} day(s) are not run: {}",
                schedule.name,
                due.skipped.len(),
                schedule.catch_up_days,
                join_days(&due.skipped, "")
            ));
        }
        for day in due.days {
            let started_at = Utc::now();
            let mut steps = Vec::new();
            let (code, attempts) =
                run_day_with_retries(global, schedule, day, &mut steps, printer).await?;
            if code == EXIT_INTERRUPTED {
                return Ok(EXIT_INTERRUPTED);
            }
            let finished_at = Utc::now();
            let status = if code == EXIT_OK {
                RunStatus::Success
            } else {
                RunStatus::Failed
            };
            history::append(
                &target_dir,
                &DayRecord {
                    schedule: &schedule.name,
                    day,
                    status,
                    attempts,
                    started_at,
                    finished_at,
                    steps: &steps,
                },
            )?;
            state.record(
                &schedule.name,
                DayRun {
                    day,
                    status,
                    attempts,
                    started_at,
                    finished_at,
                },
            );
            for result in steps.iter().flat_map(|s| &s.summary.results) {
                if result.materialization == "incremental" && result.status == Status::Success {
                    state.record_model(&schedule.name, &result.name, day, finished_at);
                }
            }
            store.save(&state).await?;
            printer.event(json!({
                "event": "schedule_day", "schedule": schedule.name, "date": day.to_string(),
                "status": status, "attempts": attempts,
            }));
            let label = format!("{} {day}", schedule.name);
            if status == RunStatus::Success {
                succeeded.push(label);
            } else {
                printer.info(&format!(
                    "schedule {}: {day} failed after {attempts} attempt(s); its later days wait, and the next run-due retries {day}",
                    schedule.name
                ));
                failed.push(label);
                exit = exit.max(if code == EXIT_CONFIG {
                    EXIT_CONFIG
                } else {
                    EXIT_FAILED
                });
                break;
            }
        }
    }
    summary(printer, &succeeded, &failed);
    Ok(exit)
}

/// The longest the daemon sleeps before looking at the clock again.
const DAEMON_MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(3600);

/// run-due in a loop. `--now` shifts the daemon's clock (it then runs on
/// from that time). SIGTERM while waiting, or during a step outside a
/// build, exits 0 once the step is done; SIGTERM during a build stops the
/// build safely (the day is not recorded, so the next run retries it) and
/// exits 130.
async fn daemon(global: &GlobalArgs, clock: &ClockArgs, printer: &Printer) -> Result<u8> {
    let offset = now(clock)? - Utc::now();
    let clock_now = || Utc::now() + offset;
    // Registered now, so a signal during a step is kept until the wait below.
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| {
            Error::execution(Diagnostic::new(format!("cannot listen for SIGTERM: {e}")))
        })?;
    #[cfg(not(unix))]
    let mut term = ();
    loop {
        match run_due(global, clock_now(), printer).await {
            Ok(EXIT_INTERRUPTED) => return Ok(EXIT_INTERRUPTED),
            Ok(_) => {}
            Err(error @ Error::Execution(_)) => printer.error(&error),
            Err(other) => return Err(other),
        }
        let (_, schedules) = load(global)?;
        let now = clock_now();
        let Some(next) = schedules
            .iter()
            .filter_map(|s| {
                due::next_runs(s, now, 1)
                    .first()
                    .map(|(_, t)| t.with_timezone(&Utc))
            })
            .min()
        else {
            return Err(Error::config(Diagnostic::new(
                "no schedule has a next run time",
            )));
        };
        printer.info(&format!(
            "schedule daemon: waiting until {}",
            next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
        let wait = (next - now)
            .to_std()
            .unwrap_or_default()
            .min(DAEMON_MAX_SLEEP);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = terminated(&mut term) => {
                printer.info("schedule daemon: stopped");
                return Ok(EXIT_OK);
            }
            _ = tokio::signal::ctrl_c() => {
                printer.info("schedule daemon: stopped");
                return Ok(EXIT_OK);
            }
        }
    }
}

#[cfg(unix)]
async fn terminated(term: &mut tokio::signal::unix::Signal) {
    term.recv().await;
}

#[cfg(not(unix))]
async fn terminated(_: &mut ()) {
    std::future::pending::<()>().await;
}

/// The one-line summary, printed even with --quiet (for cron mail).
fn summary(printer: &Printer, succeeded: &[String], failed: &[String]) {
    if printer.json {
        printer.event(json!({
            "event": "schedule_run_due", "succeeded": succeeded, "failed": failed,
        }));
        return;
    }
    let line = match (succeeded.is_empty(), failed.is_empty()) {
        (true, true) => "schedule run-due: nothing is due".to_string(),
        _ => format!(
            "schedule run-due: {} day(s) succeeded{}, {} failed{}",
            succeeded.len(),
            list_suffix(succeeded),
            failed.len(),
            list_suffix(failed)
        ),
    };
    printer.data(&line);
}

fn list_suffix(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(" ({})", items.join(", "))
    }
}

/// Run `day` up to `1 + retries` times; a configuration problem is not retried.
async fn run_day_with_retries(
    global: &GlobalArgs,
    schedule: &Schedule,
    day: NaiveDate,
    steps: &mut Vec<StepRun>,
    printer: &Printer,
) -> Result<(u8, u32)> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        printer.info(&format!(
            "schedule {}: running {day} (attempt {attempts} of {})",
            schedule.name,
            schedule.retries + 1
        ));
        let code = match run_day(global, schedule, day, attempts, steps, printer).await {
            Ok(code) => code,
            Err(error @ Error::Execution(_)) => {
                printer.error(&error);
                EXIT_FAILED
            }
            Err(other) => return Err(other),
        };
        if code == EXIT_OK || code == EXIT_CONFIG || code == EXIT_INTERRUPTED {
            return Ok((code, attempts));
        }
        if attempts > schedule.retries {
            return Ok((code, attempts));
        }
    }
}

/// One day: build the selection as of `day` (with its tests), refresh the
/// segments for `day` (building only what the first build did not), then
/// write the day's exports. A failed step stops the day before the next:
/// nothing is exported from a failed build or refresh (and `cohort export`
/// itself refuses a drift-blocked day). Each build's results go to `steps`.
async fn run_day(
    global: &GlobalArgs,
    schedule: &Schedule,
    day: NaiveDate,
    attempt: u32,
    steps: &mut Vec<StepRun>,
    printer: &Printer,
) -> Result<u8> {
    let global = super::segments::as_of(global, day)?;
    if !schedule.select.is_empty() {
        let args = RunArgs {
            select: SelectArgs {
                select: schedule.select.clone(),
                exclude: Vec::new(),
            },
            threads: None,
            full_refresh: false,
            junit: None,
            store_failures: false,
        };
        let (code, summary) =
            super::build::run_with_summary(&global, &args, "build", printer).await?;
        steps.push(StepRun {
            attempt,
            step: "build",
            summary,
        });
        if code != EXIT_OK {
            printer.info(&format!(
                "schedule {}: the build of {day} failed; its segments are not refreshed",
                schedule.name
            ));
            return Ok(code);
        }
    }
    if schedule.refresh_segments {
        let args = RefreshArgs {
            select: SelectArgs::default(),
            date: Some(day),
            from: None,
            to: None,
            accept_drift: false,
        };
        let (code, summary) =
            super::segments::refresh_day(&global, &args, day, &schedule.select, printer).await?;
        if let Some(summary) = summary {
            steps.push(StepRun {
                attempt,
                step: "segments_refresh",
                summary,
            });
        }
        if code != EXIT_OK {
            printer.info(&format!(
                "schedule {}: the segments refresh of {day} failed; nothing is exported",
                schedule.name
            ));
            return Ok(code);
        }
    }
    if !schedule.exports.is_empty() {
        let args = ExportArgs {
            names: schedule.exports.clone(),
            date: Some(day),
            dry_run: false,
            output: ListOutput::Text,
        };
        return super::export::run(&global, &args, printer).await;
    }
    Ok(EXIT_OK)
}

fn install(global: &GlobalArgs, args: &InstallArgs, printer: &Printer) -> Result<u8> {
    let dir = std::path::absolute(&global.project_dir)
        .map_err(|e| Error::io("resolve", &global.project_dir, e))?;
    // Fail early on a project without valid schedules.
    load(global)?;
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("cohort"));
    let text = if args.crontab {
        crontab(&dir, &exe)
    } else if args.systemd {
        systemd(&dir, &exe)
    } else {
        github_actions()
    };
    printer.data(&text);
    Ok(EXIT_OK)
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

fn crontab(dir: &Path, exe: &Path) -> String {
    format!(
        "# cohort: run the due schedules of {dir} (add with `crontab -e`)\n*/{TRIGGER_EVERY_MINUTES} * * * * cd {} && {} schedule run-due --quiet\n",
        quote(dir),
        quote(exe),
        dir = dir.display()
    )
}

fn systemd(dir: &Path, exe: &Path) -> String {
    format!(
        "# /etc/systemd/system/cohort-schedule.service\n[Unit]\nDescription=cohort: run the due schedules of {dir}\n\n[Service]\nType=oneshot\nWorkingDirectory={dir}\nExecStart={exe} schedule run-due --quiet\n\n# /etc/systemd/system/cohort-schedule.timer\n[Unit]\nDescription=cohort: call run-due every {TRIGGER_EVERY_MINUTES} minutes\n\n[Timer]\nOnCalendar=*:0/{TRIGGER_EVERY_MINUTES}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n\n# then: systemctl daemon-reload && systemctl enable --now cohort-schedule.timer\n",
        dir = dir.display(),
        exe = exe.display()
    )
}

fn github_actions() -> String {
    format!(
        r#"# .github/workflows/cohort-schedule.yml
# run-due keeps its state in target/schedule_state.json; the cache steps carry it from run to run
# (or set `schedule_state: gs://BUCKET/PREFIX/` in the profile target and drop them).
name: cohort schedules
on:
  schedule:
    - cron: "*/{TRIGGER_EVERY_MINUTES} * * * *"
  workflow_dispatch: {{}}
concurrency:
  group: cohort-schedule
  cancel-in-progress: false
jobs:
  run-due:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/cache/restore@v4
        with:
          path: target/schedule_state.json
          key: cohort-schedule-state-${{{{ github.run_id }}}}
          restore-keys: cohort-schedule-state-
      # Install cohort the way your team does, and authenticate to BigQuery
      # (e.g. google-github-actions/auth) when the target is a warehouse.
      - run: cargo install --locked cohort
      - run: cohort schedule run-due
      - uses: actions/cache/save@v4
        if: always()
        with:
          path: target/schedule_state.json
          key: cohort-schedule-state-${{{{ github.run_id }}}}
"#
    )
}
