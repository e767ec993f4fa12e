//! `cohort segments refresh`: for each day, build the selected segments and
//! what they read with `as_of` = that day (`cohort run --select +segment_x`),
//! then replace that day in the daily segment tables.

use chrono::NaiveDate;
use cohort::compile::segment::daily::{self, DailyTables, STATUS_BLOCKED};
use cohort::engine::local::LocalEngine;
use cohort::error::{Diagnostic, Error, Result};
use cohort::run::RunSummary;
use serde_json::json;

use super::args::{GlobalArgs, RefreshArgs, RunArgs, SegmentsCommand, SelectArgs};
use super::output::Printer;
use super::setup::Session;
use super::{EXIT_FAILED, EXIT_OK};

pub async fn run(global: &GlobalArgs, command: &SegmentsCommand, printer: &Printer) -> Result<u8> {
    match command {
        SegmentsCommand::Refresh(args) => refresh(global, args, printer).await,
        SegmentsCommand::List { output } => {
            super::segment_health::run(global, None, false, *output).await
        }
        SegmentsCommand::Show { name, output } => {
            super::segment_health::run(global, Some(name), true, *output).await
        }
        SegmentsCommand::Profile { output } => {
            super::segment_health::run(global, None, true, *output).await
        }
    }
}

async fn refresh(global: &GlobalArgs, args: &RefreshArgs, printer: &Printer) -> Result<u8> {
    let days = match (args.from, args.to, args.date) {
        (Some(from), Some(to), _) => {
            if from > to {
                return Err(Error::config(
                    Diagnostic::new(format!("--from {from} is after --to {to}"))
                        .help("backfill runs the days from --from to --to, in order"),
                ));
            }
            from.iter_days().take_while(|d| *d <= to).collect()
        }
        (_, _, Some(day)) => vec![day],
        _ => vec![Session::open(global)?.project.as_of],
    };
    for day in days {
        let (code, _) = refresh_day(global, args, day, &[], printer).await?;
        if code != EXIT_OK {
            return Ok(code);
        }
    }
    Ok(EXIT_OK)
}

/// `global` with `as_of` set to `day` on top of any `--vars`.
pub(super) fn as_of(global: &GlobalArgs, day: NaiveDate) -> Result<GlobalArgs> {
    let mut vars = match &global.vars {
        Some(text) => serde_saphyr::from_str::<serde_json::Value>(text).map_err(|e| {
            Error::config(Diagnostic::new(format!(
                "--vars is not a YAML mapping: {e}"
            )))
        })?,
        None => json!({}),
    };
    let Some(map) = vars.as_object_mut() else {
        return Err(Error::config(Diagnostic::new(
            "--vars is not a YAML mapping",
        )));
    };
    map.insert("as_of".into(), json!(day.to_string()));
    let mut global = global.clone();
    global.vars = Some(vars.to_string());
    Ok(global)
}

/// Refresh `day`: build the selected segments and their upstream as of
/// `day`, except the nodes `already_built` selects (a schedule's build of
/// the same day), then replace the day in the daily tables. The build's
/// results come back with the exit code (none when nothing was left to build).
pub(super) async fn refresh_day(
    global: &GlobalArgs,
    args: &RefreshArgs,
    day: NaiveDate,
    already_built: &[String],
    printer: &Printer,
) -> Result<(u8, Option<RunSummary>)> {
    let global = as_of(global, day)?;
    let session = Session::open(&global)?;
    let segments = daily::daily_segments(
        &session.project,
        &session.compiled,
        &session.select(&args.select)?,
    );
    let selected: Vec<String> = segments
        .iter()
        .map(|s| format!("segment_{}", s.name))
        .collect();
    if segments.is_empty() {
        return Err(Error::config(
            Diagnostic::new("no segment is selected").help(
                "declare segments in segments/*.yml, or select them with --select segment_<name>",
            ),
        ));
    }
    printer.info(&format!(
        "Refreshing {day}: building {} segment(s) as of {day}",
        segments.len()
    ));
    let build = RunArgs {
        select: SelectArgs {
            select: selected.iter().map(|n| format!("+{n}")).collect(),
            exclude: already_built.to_vec(),
        },
        threads: None,
        full_refresh: false,
        junit: None,
        store_failures: false,
    };
    // Every node was built (and tested) by the schedule's build of this day.
    let summary = if session.select(&build.select)?.is_empty() {
        None
    } else {
        let (code, summary) =
            super::build::run_with_summary(&global, &build, "run", printer).await?;
        if code != EXIT_OK {
            printer.info(&format!(
                "segments refresh {day}: the build failed; the daily segment tables are unchanged"
            ));
            return Ok((code, Some(summary)));
        }
        Some(summary)
    };
    let tables = DailyTables::new(
        session.target.project().map(str::to_string),
        session.target.dataset(),
    );
    let stats = if session.on_warehouse() {
        let engine = session.bigquery(false).await?;
        engine
            .refresh_daily(&segments, &tables, day, args.accept_drift)
            .await?
    } else {
        let settings = session.local_settings()?;
        let engine = LocalEngine::open(&settings, &session.compiled).await?;
        engine
            .refresh_daily(&segments, &tables, day, args.accept_drift)
            .await?
    };
    let mut blocked = 0;
    for row in &stats {
        printer.info(&format!(
            "{day} {:<28} size {:>7}  entered {:>6}  exited {:>6}  {}",
            row.segment, row.size, row.entered, row.exited, row.status
        ));
        printer.event(json!({
            "event": "segment_refreshed", "date": day.to_string(), "segment": row.segment,
            "size": row.size, "entered": row.entered, "exited": row.exited,
            "previous_size": row.previous_size, "status": row.status,
        }));
        if row.status == STATUS_BLOCKED {
            blocked += 1;
            printer.error(&Error::execution(
                Diagnostic::new(format!(
                    "segment `{}` on {day}: size {} vs {} before is beyond its max_daily_change; its exports are blocked",
                    row.segment,
                    row.size,
                    row.previous_size.unwrap_or_default()
                ))
                .help(format!("check the change, then confirm it with `cohort segments refresh --date {day} --accept-drift`")),
            ));
        }
    }
    Ok((if blocked > 0 { EXIT_FAILED } else { EXIT_OK }, summary))
}
