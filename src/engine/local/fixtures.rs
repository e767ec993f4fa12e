//! Unit tests on the local engine. On a scratch copy of the catalog, the
//! model's upstream models are planned (so their columns are the current
//! SQL's), every table the model reads is replaced by its fixture rows (the
//! given columns, the rest NULL with the column's type; an input left out is
//! empty), the model's compiled SQL runs against them, and its rows are
//! compared with the expected rows as multisets. Nothing is written.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use datafusion::catalog::view::ViewTable;
use datafusion::common::DFSchema;
use datafusion::execution::SessionState;
use datafusion::prelude::DataFrame;

use super::LocalEngine;
use super::preflight::register;
use crate::compile::{CompiledNode, CompiledProject, Relation};
use crate::engine::QueryResult;
use crate::engine::values::{self, Table, bigquery_type};
use crate::error::{Diagnostic, Error, Location, Result, suggestion};
use crate::testing::TableRef;
use crate::testing::unit::{UnitTest, rows_sql};

/// What a unit test's model produced, against what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitOutcome {
    /// The compared columns.
    pub columns: Vec<String>,
    /// Expected rows the model did not produce.
    pub missing: Vec<Vec<String>>,
    /// Rows the model produced that were not expected.
    pub unexpected: Vec<Vec<String>>,
}

impl LocalEngine {
    /// Run `test` (its model resolved in `compiled`) with fixtures in place of its inputs.
    pub async fn unit_test(
        &self,
        compiled: &CompiledProject,
        test: &UnitTest,
    ) -> Result<UnitOutcome> {
        // A segment is tested by its name or its node's (`segment_<name>`).
        let node = compiled
            .nodes
            .get(&test.model)
            .or_else(|| compiled.nodes.get(&format!("segment_{}", test.model)));
        let node = node.ok_or_else(|| {
            config(
                test,
                format!("unknown model `{}`", test.model),
                test.model_at.clone(),
                suggestion(&test.model, compiled.graph.names(), "model"),
            )
        })?;
        self.check_typed_sources(compiled, node, test)?;
        let state = self.scratch_state().await?;
        self.plan_upstream(&state, compiled, node).await;
        let inputs = inputs_of(compiled, node);
        for given in &test.given {
            if !inputs.iter().any(|(r, _)| *r == given.input) {
                let reads: Vec<String> = inputs.iter().map(|(r, _)| describe(r)).collect();
                return Err(config(
                    test,
                    format!("`{}` does not read {}", test.model, describe(&given.input)),
                    given.at.clone(),
                    format!("it reads: {}", reads.join(", ")),
                ));
            }
        }
        for (input, relation) in &inputs {
            let given = test.given.iter().find(|g| g.input == *input);
            let at = given.map_or(test.defined_at.clone(), |g| g.at.clone());
            let columns = self
                .columns_of(&state, &relation.quoted())
                .await
                .map_err(|e| {
                    config(
                        test,
                        format!("cannot read the columns of {}: {e}", describe(input)),
                        at.clone(),
                        "the upstream model must plan (and a source's files must exist) to type the fixture",
                    )
                })?;
            let rows = given.map(|g| g.rows.as_slice()).unwrap_or_default();
            for row in rows {
                for key in row.keys() {
                    if !columns.iter().any(|(c, _)| c.eq_ignore_ascii_case(key)) {
                        return Err(config(
                            test,
                            format!("`{key}` is not a column of {}", describe(input)),
                            at.clone(),
                            suggestion(key, columns.iter().map(|(c, _)| c.as_str()), "column"),
                        ));
                    }
                }
            }
            let sql = rows_sql(&columns, rows);
            let plan = crate::sql::plan_query(&state, &sql, &self.translate)
                .await
                .map_err(|e| {
                    config(
                        test,
                        format!("fixture rows of {}: {}", describe(input), e.message),
                        at.clone(),
                        "write values of the column's type (dates and timestamps as strings)",
                    )
                })?;
            let view = ViewTable::new(plan, Some(sql));
            register(&state, &relation.dataset, &relation.name, Arc::new(view))?;
        }

        let actual = run(&state, self, &node.sql).await?;
        let columns = test.expected_columns();
        let mut picked = Vec::new();
        for column in &columns {
            let index = actual
                .columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(column))
                .ok_or_else(|| {
                    config(
                        test,
                        format!("`{column}` is not a column of `{}`", test.model),
                        test.expect_at.clone(),
                        suggestion(column, actual.columns.iter().map(String::as_str), "column"),
                    )
                })?;
            picked.push(index);
        }
        let typed: Vec<(String, String)> = columns
            .iter()
            .zip(&picked)
            .map(|(c, i)| (c.clone(), actual.types[*i].clone()))
            .collect();
        let expected = if typed.is_empty() {
            Table {
                columns: Vec::new(),
                types: Vec::new(),
                rows: vec![Vec::new(); test.expect.len()],
            }
        } else {
            run(&state, self, &rows_sql(&typed, &test.expect))
                .await
                .map_err(|e| {
                    config(
                        test,
                        format!("expected rows: {e}"),
                        test.expect_at.clone(),
                        "write values of the column's type (dates and timestamps as strings)",
                    )
                })?
        };
        let expected_rows: Vec<Vec<String>> = expected
            .rows
            .iter()
            .map(|r| r.iter().map(text).collect())
            .collect();
        let actual_rows: Vec<Vec<String>> = actual
            .rows
            .iter()
            .map(|r| picked.iter().map(|i| text(&r[*i])).collect())
            .collect();
        let (missing, unexpected) = multiset_diff(expected_rows, actual_rows);
        Ok(UnitOutcome {
            columns,
            missing,
            unexpected,
        })
    }

    /// With sources typed from their YAML ([`LocalEngine::open_declared`]):
    /// every source the model reads, directly or through its upstream
    /// models, must be typed. Otherwise the test fails (an execution error,
    /// so the other unit tests still run) naming the source and column.
    fn check_typed_sources(
        &self,
        compiled: &CompiledProject,
        node: &CompiledNode,
        test: &UnitTest,
    ) -> Result<()> {
        if self.untyped_sources.is_empty() {
            return Ok(());
        }
        let ancestors = compiled.graph.ancestors(&node.name);
        let upstream = ancestors.iter().filter_map(|n| compiled.nodes.get(n));
        for key in std::iter::once(node)
            .chain(upstream)
            .flat_map(|n| n.sources.iter())
        {
            let Some(problem) = self.untyped_sources.get(key) else {
                continue;
            };
            let defined_at = compiled
                .sources
                .get(key)
                .map(|s| s.table.defined_at.clone());
            let mut diagnostic = Diagnostic::new(format!(
                "unit test `{}`: source('{}', '{}') {problem}; on a BigQuery target unit tests type a source's columns from its YAML: declare each column with its type (`- {{name: ..., type: INT64}}`)",
                test.name, key.0, key.1
            ));
            if let Some(at) = defined_at {
                diagnostic = diagnostic.at(at);
            }
            return Err(Error::execution(diagnostic));
        }
        Ok(())
    }

    /// Register each upstream model, planned from its current SQL, as a view.
    async fn plan_upstream(
        &self,
        state: &SessionState,
        compiled: &CompiledProject,
        node: &CompiledNode,
    ) {
        let ancestors = compiled.graph.ancestors(&node.name);
        for name in compiled.graph.order() {
            let Some(upstream) = compiled.nodes.get(name) else {
                continue;
            };
            if !ancestors.contains(name) {
                continue;
            }
            // One that does not plan keeps its built table, if any.
            if let Ok(plan) = crate::sql::plan_query(state, &upstream.sql, &self.translate)
                .await
                .and_then(|p| {
                    crate::sql::lowercase_columns(p).map_err(|e| crate::sql::plan_error(&e))
                })
            {
                let view = ViewTable::new(plan, Some(upstream.sql.clone()));
                let _ = register(
                    state,
                    &upstream.relation.dataset,
                    &upstream.relation.name,
                    Arc::new(view),
                );
            }
        }
    }

    /// Column names and BigQuery types of a relation.
    async fn columns_of(
        &self,
        state: &SessionState,
        relation: &str,
    ) -> Result<Vec<(String, String)>, String> {
        let plan =
            crate::sql::plan_query(state, &format!("select * from {relation}"), &self.translate)
                .await
                .map_err(|e| e.message)?;
        Ok(columns(plan.schema()))
    }
}

fn columns(schema: &DFSchema) -> Vec<(String, String)> {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), bigquery_type(f.data_type())))
        .collect()
}

/// Every table a node reads, with its relation.
fn inputs_of(compiled: &CompiledProject, node: &CompiledNode) -> Vec<(TableRef, Relation)> {
    let models = node.depends_on.iter().filter_map(|m| {
        compiled
            .nodes
            .get(m)
            .map(|n| (TableRef::Model(m.clone()), n.relation.clone()))
    });
    let sources = node.sources.iter().filter_map(|(s, t)| {
        compiled
            .sources
            .get(&(s.clone(), t.clone()))
            .map(|c| (TableRef::Source(s.clone(), t.clone()), c.relation.clone()))
    });
    models.chain(sources).collect()
}

async fn run(state: &SessionState, engine: &LocalEngine, sql: &str) -> Result<Table> {
    let started = Instant::now();
    let plan = crate::sql::plan_query(state, sql, &engine.translate)
        .await
        .map_err(|e| Error::execution(Diagnostic::new(e.message)))?;
    let frame = DataFrame::new(state.clone(), plan);
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await.map_err(|e| {
        Error::execution(Diagnostic::new(super::session::clean_message(
            &e.to_string(),
        )))
    })?;
    Ok(values::table(&QueryResult {
        schema,
        batches,
        elapsed: started.elapsed(),
    }))
}

/// Rows only in `expected`, rows only in `actual` (each counted with multiplicity).
fn multiset_diff(
    expected: Vec<Vec<String>>,
    actual: Vec<Vec<String>>,
) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let mut counts: BTreeMap<Vec<String>, i64> = BTreeMap::new();
    for row in expected {
        *counts.entry(row).or_default() += 1;
    }
    for row in actual {
        *counts.entry(row).or_default() -= 1;
    }
    let (mut missing, mut unexpected) = (Vec::new(), Vec::new());
    for (row, n) in counts {
        for _ in 0..n.max(0) {
            missing.push(row.clone());
        }
        for _ in 0..(-n).max(0) {
            unexpected.push(row.clone());
        }
    }
    (missing, unexpected)
}

fn describe(input: &TableRef) -> String {
    match input {
        TableRef::Model(m) => format!("ref('{m}')"),
        TableRef::Source(s, t) => format!("source('{s}', '{t}')"),
    }
}

fn config(test: &UnitTest, message: String, at: Location, help: impl Into<String>) -> Error {
    Error::config(
        Diagnostic::new(format!("unit test `{}`: {message}", test.name))
            .at(at)
            .help(help),
    )
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multisets_count_repeated_rows() {
        let row = |s: &str| vec![s.to_string()];
        let (missing, unexpected) = multiset_diff(
            vec![row("a"), row("a"), row("b")],
            vec![row("a"), row("c"), row("b")],
        );
        assert_eq!(missing, vec![row("a")]);
        assert_eq!(unexpected, vec![row("c")]);
    }
}
