//! `cohort compile`, `cohort run` and `cohort build`.

use std::sync::Arc;

use cohort::artifacts;
use cohort::engine::Engine;
use cohort::engine::local::LocalEngine;
use cohort::error::Result;
use cohort::run::Observer as _;
use cohort::run::Status;
use cohort::sample::{self, SampleOptions};
use cohort::testing;
use serde_json::json;

use super::args::{GlobalArgs, RunArgs, SelectArgs};
use super::output::{Printer, thousands};
use super::setup::Session;
use super::{EXIT_CONFIG, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};

/// Default number of models built at once.
const DEFAULT_THREADS: usize = 4;

pub async fn compile(
    global: &GlobalArgs,
    select: &SelectArgs,
    check: bool,
    dry_run: bool,
    printer: &Printer,
) -> Result<u8> {
    let session = Session::open(global)?;
    let selected = session.select(select)?;
    let target_dir = session.target_dir();
    let tests = testing::compile_tests(&session.project, &session.compiled)?;
    artifacts::write_compiled(&target_dir, &session.project, &session.compiled, &tests)?;
    for name in &selected {
        if let Some(node) = session.compiled.nodes.get(name) {
            let path = artifacts::compiled_path(&target_dir, node);
            let shown = path.strip_prefix(&session.project.root).unwrap_or(&path);
            printer.info(&format!(
                "compiled {:<28} -> {}",
                node.name,
                shown.display()
            ));
            printer.event(json!({"event": "compiled", "node": node.unique_id, "path": shown}));
        }
    }
    printer.info(&format!(
        "Compiled {} for target `{}` ({}); manifest at {}",
        node_counts(&session, &selected),
        session.target.name,
        session.target.type_name(),
        target_dir
            .join(artifacts::MANIFEST)
            .strip_prefix(&session.project.root)
            .unwrap_or(&target_dir)
            .display()
    ));
    if check {
        return check_plans(&session, &selected, printer).await;
    }
    if dry_run {
        return super::validate::run(&session, &selected, printer).await;
    }
    Ok(EXIT_OK)
}

/// `cohort compile --check`: plan the selected nodes on the local engine
/// (checking segments against their upstream columns) without building.
async fn check_plans(session: &Session, selected: &[String], printer: &Printer) -> Result<u8> {
    let settings = session.local_settings()?;
    generate_missing_sample_data(session, printer)?;
    let engine = LocalEngine::open(&settings, &session.compiled).await?;
    let problems = engine.check(&session.compiled, selected).await?;
    for problem in &problems {
        printer.error(problem);
    }
    printer.event(json!({"event": "checked", "nodes": selected.len(), "errors": problems.len()}));
    if !problems.is_empty() {
        return Ok(EXIT_FAILED);
    }
    printer.info(&format!(
        "Checked {}: every statement plans on the local engine",
        node_counts(session, selected)
    ));
    Ok(EXIT_OK)
}

pub async fn run(
    global: &GlobalArgs,
    args: &RunArgs,
    command: &str,
    printer: &Printer,
) -> Result<u8> {
    Ok(run_with_summary(global, args, command, printer).await?.0)
}

/// [`run`], also handing back the run's results (what `run_results.json` holds).
pub(super) async fn run_with_summary(
    global: &GlobalArgs,
    args: &RunArgs,
    command: &str,
    printer: &Printer,
) -> Result<(u8, cohort::run::RunSummary)> {
    let session = Session::open(global)?;
    let selected = session.select(&args.select)?;
    let target_dir = session.target_dir();
    let tests = session.write_and_select_tests(
        &selected,
        &args.select,
        testing::TestSelection::EveryNodeRead,
        args.store_failures,
    )?;
    // `build` runs the selected nodes' tests; `run` only builds.
    let mut test_plan = if command == "build" {
        testing::plan(&session.compiled, tests, &selected)
    } else {
        testing::TestPlan::default()
    };
    let (local, warehouse, engine_name) = if session.on_warehouse() {
        let warehouse = Arc::new(session.bigquery(args.full_refresh).await?);
        let name = format!("BigQuery, project {}", warehouse.project());
        // Unit tests run on fixtures, on a scratch local engine.
        let scratch =
            LocalEngine::open_declared(&session.unit_test_settings(), &session.compiled).await?;
        (Arc::new(scratch), Some(warehouse), name)
    } else {
        let mut settings = session.local_settings()?;
        settings.full_refresh = args.full_refresh;
        generate_missing_sample_data(&session, printer)?;
        let engine = Arc::new(LocalEngine::open(&settings, &session.compiled).await?);
        // Segment columns and types are checked by planning, before any table is written;
        // models that do not plan are reported by the build itself.
        engine.check(&session.compiled, &selected).await?;
        (engine, None, "DataFusion, local".to_string())
    };
    let engine: Arc<dyn Engine> = match &warehouse {
        Some(w) => w.clone(),
        None => local.clone(),
    };
    let threads = args
        .threads
        .or(session.target.threads())
        .unwrap_or(DEFAULT_THREADS);

    printer.info(&format!(
        "Building {} on target `{}` ({engine_name}) as of {}",
        node_counts(&session, &selected),
        session.target.name,
        session.project.as_of
    ));
    printer.event(json!({
        "event": "run_started", "command": command, "target": session.target.name,
        "nodes": selected.len(), "as_of": session.project.as_of.to_string(),
    }));
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(wait_for_interrupt(cancel_tx));
    let reporter = printer.run_observer(selected.len());
    // Unit tests need no data: they run first, on fixtures (`build` only).
    let unit_results = if command == "build" {
        let everything = args.select.is_everything();
        let report = |r: &cohort::testing::TestResult| reporter.test_finished(r);
        super::test::run_unit_tests(&session, &local, &selected, everything, &report).await?
    } else {
        Vec::new()
    };
    block_failed_unit_tests(&session, &unit_results, &mut test_plan);
    let mut summary = cohort::run::run_with_tests(
        &session.compiled,
        &selected,
        engine,
        threads,
        &reporter,
        cancel_rx,
        &test_plan,
    )
    .await;
    reporter.finish();
    signals.abort();
    if summary.interrupted
        && let Some(warehouse) = &warehouse
    {
        let cancelled = warehouse.cancel_running().await;
        if !cancelled.is_empty() {
            printer.info(&format!(
                "Cancelled {} running BigQuery job(s): {}",
                cancelled.len(),
                cancelled.join(", ")
            ));
        }
    }
    summary.tests.splice(0..0, unit_results);
    artifacts::write_run_results(&target_dir, command, &summary)?;
    if let Some(path) = &args.junit {
        super::test::write_junit(path, &session, &summary.tests)?;
    }
    printer.summary(&summary);

    if summary.interrupted {
        return Ok((EXIT_INTERRUPTED, summary));
    }
    let failed: Vec<_> = summary
        .results
        .iter()
        .filter(|r| r.status == Status::Error)
        .collect();
    let tests_failed = summary.tests.iter().any(|t| t.status.is_failure());
    let code = match failed.as_slice() {
        [] if tests_failed => EXIT_FAILED,
        [] => EXIT_OK,
        f if f.iter().all(|r| r.config_error) => EXIT_CONFIG,
        _ => EXIT_FAILED,
    };
    Ok((code, summary))
}

/// A model (or segment) whose unit test failed is not built: the run
/// reports it failed, with the test's name, and skips its downstream.
fn block_failed_unit_tests(
    session: &Session,
    unit_results: &[testing::TestResult],
    plan: &mut testing::TestPlan,
) {
    let mut failed: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for result in unit_results.iter().filter(|r| r.status.is_failure()) {
        let Some(model) = &result.node else { continue };
        let node = if session.compiled.nodes.contains_key(model) {
            model.clone()
        } else {
            format!("segment_{model}")
        };
        failed
            .entry(node)
            .or_default()
            .push(format!("`{}`", result.name));
    }
    for (node, tests) in failed {
        let reason = format!(
            "`{node}` was not built: unit test{} {} failed",
            if tests.len() == 1 { "" } else { "s" },
            tests.join(", ")
        );
        plan.blocked.insert(node, reason);
    }
}

/// "5 models and 4 segments", "1 model".
fn node_counts(session: &Session, selected: &[String]) -> String {
    let segments = selected
        .iter()
        .filter(|n| {
            session
                .compiled
                .nodes
                .get(*n)
                .is_some_and(|node| node.segment.is_some())
        })
        .count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let models = plural(selected.len() - segments, "model");
    match segments {
        0 => models,
        n => format!("{models} and {}", plural(n, "segment")),
    }
}

/// Resolve when Ctrl-C or SIGTERM arrives, and tell the runner to stop.
async fn wait_for_interrupt(cancel: tokio::sync::watch::Sender<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            let _ = cancel.send(true);
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    let _ = cancel.send(true);
}

/// The example project declares `sample_data:`: when its sources point into
/// that folder and the files are not there, generate them first.
pub(super) fn generate_missing_sample_data(session: &Session, printer: &Printer) -> Result<()> {
    let Some(config) = &session.project.file.sample_data else {
        return Ok(());
    };
    let dir = session.project.root.join(&config.dir);
    let missing = session.compiled.sources.values().any(|s| {
        s.local_path
            .as_ref()
            .is_some_and(|p| p.starts_with(&dir) && !p.exists())
    });
    if !missing {
        return Ok(());
    }
    printer.info(&format!(
        "Generating sample data: {} customers (seed {}) as of {} into {}",
        thousands(config.customers),
        config.seed,
        session.project.as_of,
        config.dir.display()
    ));
    let summary = sample::generate(&SampleOptions {
        customers: config.customers,
        seed: config.seed,
        as_of: session.project.as_of,
        out: dir,
    })?;
    printer.event(json!({"event": "sample_data_generated", "tables": summary.tables}));
    Ok(())
}
