//! Running one compiled test on an engine: count the failing rows, and when
//! there are any, fetch the first few to show.

use std::time::Instant;

use super::{CompiledTest, Severity, TestResult, TestStatus};
use crate::compile::{CompiledNode, Materialization};
use crate::engine::Engine;
use crate::engine::values;
use crate::project::ModelConfig;

/// How many failing rows a result keeps to show.
pub const SAMPLE_ROWS: usize = 5;

/// Run `test` on `engine`. Never fails: a query error is a result with status `error`.
pub async fn execute(engine: &dyn Engine, test: &CompiledTest) -> TestResult {
    let started = Instant::now();
    let mut result = skipped(test, None);
    let count_sql = format!(
        "select count(*) as failures from (\n{}) as failing_rows",
        test.sql
    );
    let failures = match engine.query(&count_sql, Some(1)).await {
        Ok(counted) => values::table(&counted)
            .rows
            .first()
            .and_then(|row| row.first())
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0),
        Err(err) => {
            result.status = TestStatus::Error;
            result.message = Some(err.to_string());
            result.execution_time = started.elapsed();
            return result;
        }
    };
    result.failures = failures;
    if failures > 0 {
        if let Ok(sample) = engine.query(&test.sql, Some(SAMPLE_ROWS)).await {
            let table = values::table(&sample);
            result.sample_rows = table
                .rows
                .iter()
                .map(|row| row.iter().map(text).collect())
                .collect();
            result.sample_columns = table.columns;
        }
        result.status = match test.severity {
            Severity::Error => TestStatus::Fail,
            Severity::Warn => TestStatus::Warn,
        };
        let mut message = format!(
            "{failures} failing row{}",
            if failures == 1 { "" } else { "s" }
        );
        if let Some(relation) = &test.store_failures {
            match engine.materialize(&failures_node(test, relation)).await {
                Ok(_) => message.push_str(&format!(", stored in {relation}")),
                Err(e) => message.push_str(&format!(", not stored: {e}")),
            }
        }
        result.message = Some(message);
    } else {
        result.status = TestStatus::Pass;
    }
    result.execution_time = started.elapsed();
    result
}

/// A node whose table is the failing rows of `test`.
fn failures_node(test: &CompiledTest, relation: &crate::compile::Relation) -> CompiledNode {
    CompiledNode {
        name: test.name.clone(),
        unique_id: format!("{}.failures", test.unique_id),
        path: test.path.clone(),
        relation: relation.clone(),
        materialization: Materialization::Table,
        config: ModelConfig::default(),
        depends_on: test.depends_on.clone(),
        sources: Vec::new(),
        sql: test.sql.clone(),
        run_sql: format!(
            "create or replace table {} as\n{}",
            relation.quoted(),
            test.sql
        ),
        checksum: String::new(),
        description: None,
        columns: Vec::new(),
        defined_at: test.defined_at.clone(),
        segment: None,
        incremental: None,
    }
}

/// The result of a test that did not run, with the reason.
pub fn skipped(test: &CompiledTest, reason: Option<String>) -> TestResult {
    TestResult {
        unique_id: test.unique_id.clone(),
        name: test.name.clone(),
        node: test.node.clone(),
        severity: test.severity,
        status: TestStatus::Skipped,
        failures: 0,
        execution_time: std::time::Duration::ZERO,
        message: reason,
        sample_columns: Vec::new(),
        sample_rows: Vec::new(),
        sql: test.sql.clone(),
        defined_at: test.defined_at.to_string(),
    }
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Run `tests` one after another, calling `on_result` as each finishes.
pub async fn execute_all(
    engine: &dyn Engine,
    tests: &[CompiledTest],
    on_result: &(dyn Fn(&TestResult) + Sync),
) -> Vec<TestResult> {
    let mut results = Vec::with_capacity(tests.len());
    for test in tests {
        let result = execute(engine, test).await;
        on_result(&result);
        results.push(result);
    }
    results
}
