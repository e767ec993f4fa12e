//! `cohort test`: run the unit tests and the data tests of the selected
//! nodes on the tables already built, print each result (the failing-row
//! count and the first failing rows), and optionally write a JUnit XML
//! report. On a BigQuery target the unit tests run on a scratch local
//! engine and the data tests run on BigQuery.

use std::path::Path;
use std::time::Instant;

use cohort::artifacts;
use cohort::engine::local::LocalEngine;
use cohort::error::Result;
use cohort::run::{Observer, RunSummary};
use cohort::testing::{self, TestResult};
use serde_json::json;

use super::args::{GlobalArgs, TestArgs};
use super::output::Printer;
use super::setup::Session;
use super::{EXIT_FAILED, EXIT_OK};

pub async fn run(global: &GlobalArgs, args: &TestArgs, printer: &Printer) -> Result<u8> {
    let session = Session::open(global)?;
    let selected = session.select(&args.select)?;
    let target_dir = session.target_dir();
    let mut tests = session.write_and_select_tests(
        &selected,
        &args.select,
        testing::TestSelection::DeclaringNode,
        args.store_failures,
    )?;
    // In dependency order of the node each test reads, then by name.
    let position = |t: &testing::CompiledTest| {
        t.node
            .as_ref()
            .and_then(|n| selected.iter().position(|s| s == n))
            .unwrap_or(usize::MAX)
    };
    tests.sort_by(|a, b| {
        position(a)
            .cmp(&position(b))
            .then_with(|| a.name.cmp(&b.name))
    });

    // On a warehouse target the unit tests run on a scratch local engine
    // with sources typed from their YAML, the data tests on the warehouse.
    let on_warehouse = session.on_warehouse();
    // Without credentials the data tests are skipped, saying which
    // credential is missing, so CI can still run the unit tests.
    let mut no_warehouse = None;
    let (engine, warehouse) = if on_warehouse {
        let warehouse = match session.bigquery(false).await {
            Ok(w) => Some(w),
            Err(e) if e.is_config() => {
                no_warehouse = Some(format!(
                    "skipped: cannot connect to BigQuery: {}",
                    e.diagnostic()
                        .map(|d| d.message.clone())
                        .unwrap_or_default()
                ));
                None
            }
            Err(e) => return Err(e),
        };
        (
            LocalEngine::open_declared(&session.unit_test_settings(), &session.compiled).await?,
            warehouse,
        )
    } else {
        (
            LocalEngine::open(&session.local_settings()?, &session.compiled).await?,
            None,
        )
    };
    let everything = args.select.is_everything();
    let units = session
        .project
        .unit_tests
        .iter()
        .filter(|t| unit_selected(t, &selected, everything))
        .count();
    let unit_text = match units {
        0 => String::new(),
        1 => " and 1 unit test".to_string(),
        n => format!(" and {n} unit tests"),
    };
    if let Some(reason) = &no_warehouse {
        printer.info(&format!(
            "Running {units} unit test{} on a scratch local engine (DataFusion); {} data test{} {reason}",
            if units == 1 { "" } else { "s" },
            tests.len(),
            if tests.len() == 1 { "" } else { "s" },
        ));
    } else if on_warehouse {
        printer.info(&format!(
            "Running {} test{} on target `{}` (BigQuery){}",
            tests.len(),
            if tests.len() == 1 { "" } else { "s" },
            session.target.name,
            match units {
                0 => String::new(),
                1 => ", and 1 unit test on a scratch local engine".to_string(),
                n => format!(", and {n} unit tests on a scratch local engine"),
            }
        ));
    } else {
        printer.info(&format!(
            "Running {} test{}{unit_text} on target `{}` (DataFusion, local)",
            tests.len(),
            if tests.len() == 1 { "" } else { "s" },
            session.target.name
        ));
    }
    printer.event(json!({
        "event": "run_started", "command": "test", "target": session.target.name,
        "tests": tests.len(), "as_of": session.project.as_of.to_string(),
    }));
    let started = Instant::now();
    let reporter = printer.run_observer(0);
    let mut results = run_unit_tests(&session, &engine, &selected, everything, &|r| {
        reporter.test_finished(r)
    })
    .await?;
    if let Some(reason) = &no_warehouse {
        for test in &tests {
            let skipped = testing::execute::skipped(test, Some(reason.clone()));
            reporter.test_finished(&skipped);
            results.push(skipped);
        }
    } else {
        let data_engine: &dyn cohort::engine::Engine = match &warehouse {
            Some(w) => w,
            None => &engine,
        };
        results.extend(
            testing::execute::execute_all(data_engine, &tests, &|r| reporter.test_finished(r))
                .await,
        );
    }
    reporter.finish();
    let summary = RunSummary {
        results: Vec::new(),
        elapsed: started.elapsed(),
        interrupted: false,
        tests: results,
    };
    artifacts::write_run_results(&target_dir, "test", &summary)?;
    if let Some(path) = &args.junit {
        write_junit(path, &session, &summary.tests)?;
    }
    printer.test_summary(&summary);
    Ok(if summary.tests.iter().any(|t| t.status.is_failure()) {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Write the JUnit XML report of `results` to `path` (relative paths are
/// relative to the current folder), atomically.
pub fn write_junit(path: &Path, session: &Session, results: &[TestResult]) -> Result<()> {
    let xml = testing::junit::report(session.project.name(), results);
    artifacts::write_atomic(path, xml.as_bytes())
}

/// Run the unit tests of the selected models (all of them with no
/// selection) on the local engine, calling `on_result` as each finishes.
pub async fn run_unit_tests(
    session: &Session,
    engine: &LocalEngine,
    selected: &[String],
    everything: bool,
    on_result: &dyn Fn(&TestResult),
) -> Result<Vec<TestResult>> {
    let mut results = Vec::new();
    for test in &session.project.unit_tests {
        if !unit_selected(test, selected, everything) {
            continue;
        }
        let started = Instant::now();
        let outcome = engine.unit_test(&session.compiled, test).await;
        let result =
            testing::unit::to_result(session.project.name(), test, outcome, started.elapsed())?;
        on_result(&result);
        results.push(result);
    }
    Ok(results)
}

/// A unit test runs when its model (or segment) is selected.
fn unit_selected(test: &testing::unit::UnitTest, selected: &[String], everything: bool) -> bool {
    let node = format!("segment_{}", test.model);
    everything || selected.iter().any(|s| *s == test.model || *s == node)
}
