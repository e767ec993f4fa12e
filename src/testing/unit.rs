//! Unit tests in YAML: fixture rows for the tables a model reads (`given:`),
//! the rows it must produce (`expect:`). They run on the local engine with
//! the fixtures in place of the real tables (see
//! `engine::local::fixtures`), so they need no data and no warehouse.
//!
//! ```yaml
//! unit_tests:
//!   - name: revenue_counts_completed_orders_only
//!     model: customer_features
//!     given:
//!       - input: ref('customers')
//!         rows: [{customer_id: 1}]
//!       - input: ref('transactions')
//!         rows: [{customer_id: 1, revenue: 10, is_revenue: true}]
//!     expect:
//!       rows: [{customer_id: 1, revenue_total: 10}]
//! ```
//!
//! Columns a fixture row leaves out are NULL (typed like the real table);
//! inputs left out are empty. Only the columns named in `expect:` are
//! compared, as multisets of rows.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::TableRef;
use crate::compile::yaml_model::{FromRef, parse_from};
use crate::error::{Diagnostic, Error, Location, Result};
use crate::project::yaml::location_of;

/// One entry under `unit_tests:`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitTestDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The model (or segment node, `segment_<name>`) under test.
    pub model: Spanned<String>,
    #[serde(default)]
    pub given: Vec<Spanned<GivenDef>>,
    pub expect: Spanned<ExpectDef>,
}

/// Fixture rows for one table the model reads.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenDef {
    /// `ref('model')` or `source('source', 'table')`.
    pub input: Spanned<String>,
    #[serde(default)]
    pub rows: Vec<Map<String, Value>>,
}

/// The rows the model must produce.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDef {
    #[serde(default)]
    pub rows: Vec<Map<String, Value>>,
}

/// A unit test, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitTest {
    pub name: String,
    pub model: String,
    pub model_at: Location,
    pub given: Vec<Given>,
    pub expect: Vec<Map<String, Value>>,
    pub expect_at: Location,
    /// The defining file, relative to the project.
    pub path: std::path::PathBuf,
    pub defined_at: Location,
}

/// One input's fixture rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    pub input: TableRef,
    pub rows: Vec<Map<String, Value>>,
    pub at: Location,
}

impl UnitTest {
    /// Validate a parsed definition from `file`.
    pub fn from_def(def: Spanned<UnitTestDef>, file: &Path) -> Result<UnitTest> {
        let defined_at = location_of(file, &def);
        let def = def.value;
        crate::project::validate_identifier(&def.name, "unit test name", defined_at.clone())?;
        let mut given = Vec::new();
        for g in def.given {
            let at = location_of(file, &g);
            let input_at = location_of(file, &g.value.input);
            let input = match parse_from(&g.value.input.value) {
                Some(FromRef::Ref(name)) => TableRef::Model(name),
                Some(FromRef::Source(s, t)) => TableRef::Source(s, t),
                None => {
                    return Err(Error::config(
                        Diagnostic::new(format!(
                            "unit test `{}`: `{}` is not a relation reference",
                            def.name, g.value.input.value
                        ))
                        .at(input_at)
                        .help("write input: ref('model_name') or input: source('source_name', 'table_name')"),
                    ));
                }
            };
            if given.iter().any(|o: &Given| o.input == input) {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "unit test `{}`: `{}` is given twice",
                        def.name, g.value.input.value
                    ))
                    .at(input_at)
                    .help("list all of its rows under one `input:`"),
                ));
            }
            given.push(Given {
                input,
                rows: g.value.rows,
                at,
            });
        }
        Ok(UnitTest {
            name: def.name,
            model_at: location_of(file, &def.model),
            model: def.model.value.trim().to_string(),
            given,
            expect_at: location_of(file, &def.expect),
            expect: def.expect.value.rows,
            path: file.to_path_buf(),
            defined_at,
        })
    }

    /// The columns `expect:` names, in the order they first appear.
    pub fn expected_columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = Vec::new();
        for row in &self.expect {
            for key in row.keys() {
                if !columns.iter().any(|c| c.eq_ignore_ascii_case(key)) {
                    columns.push(key.clone());
                }
            }
        }
        columns
    }
}

/// A JSON fixture value as a BigQuery literal cast to `ty` (a BigQuery type name).
pub fn typed_literal(value: &Value, ty: &str) -> String {
    let literal = match value {
        Value::Null => "NULL".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => crate::compile::segment::rules::string_literal(s),
        other => crate::compile::segment::rules::string_literal(&other.to_string()),
    };
    format!("cast({literal} as {ty})")
}

/// `select cast(.. as T) as c, ...` for each row (missing columns NULL), as one query.
pub fn rows_sql(columns: &[(String, String)], rows: &[Map<String, Value>]) -> String {
    let select = |row: Option<&Map<String, Value>>| {
        let cells: Vec<String> = columns
            .iter()
            .map(|(name, ty)| {
                let value = row
                    .and_then(|r| r.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null);
                format!("{} as `{name}`", typed_literal(&value, ty))
            })
            .collect();
        format!("select {}", cells.join(", "))
    };
    if rows.is_empty() {
        return format!("select * from ({}) as no_rows where false", select(None));
    }
    rows.iter()
        .map(|r| select(Some(r)))
        .collect::<Vec<_>>()
        .join("\nunion all ")
}

/// The result of a unit test run: `Err` only for configuration errors
/// (exit code 2); a query that fails is a result with status `error`.
pub fn to_result(
    project_name: &str,
    test: &UnitTest,
    outcome: Result<crate::engine::local::UnitOutcome>,
    elapsed: std::time::Duration,
) -> Result<super::TestResult> {
    use super::{Severity, TestResult, TestStatus};
    let mut result = TestResult {
        unique_id: format!("unit_test.{project_name}.{}.{}", test.model, test.name),
        name: test.name.clone(),
        node: Some(test.model.clone()),
        severity: Severity::Error,
        status: TestStatus::Pass,
        failures: 0,
        execution_time: elapsed,
        message: None,
        sample_columns: Vec::new(),
        sample_rows: Vec::new(),
        sql: String::new(),
        defined_at: test.defined_at.to_string(),
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(err @ Error::Config(_)) => return Err(err),
        Err(err) => {
            result.status = TestStatus::Error;
            result.message = Some(err.to_string());
            return Ok(result);
        }
    };
    let (missing, unexpected) = (outcome.missing.len(), outcome.unexpected.len());
    if missing + unexpected == 0 {
        return Ok(result);
    }
    result.status = TestStatus::Fail;
    result.failures = (missing + unexpected) as u64;
    result.message = Some(format!(
        "{missing} expected row{} missing (-), {unexpected} unexpected row{} (+)",
        if missing == 1 { "" } else { "s" },
        if unexpected == 1 { "" } else { "s" },
    ));
    result.sample_columns = std::iter::once("diff".to_string())
        .chain(outcome.columns)
        .collect();
    let marked = |mark: &str, rows: Vec<Vec<String>>| {
        rows.into_iter()
            .map(|r| {
                std::iter::once(mark.to_string())
                    .chain(r)
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    result.sample_rows = marked("-", outcome.missing);
    result.sample_rows.extend(marked("+", outcome.unexpected));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_rows_fill_missing_columns_with_typed_nulls() {
        let columns = vec![
            ("id".to_string(), "INT64".to_string()),
            ("email".to_string(), "STRING".to_string()),
        ];
        let rows: Vec<Map<String, Value>> =
            serde_json::from_str(r#"[{"id": 1}, {"ID": 2, "email": "o'b"}]"#).unwrap();
        let sql = rows_sql(&columns, &rows);
        assert_eq!(
            sql,
            "select cast(1 as INT64) as `id`, cast(NULL as STRING) as `email`\nunion all select cast(2 as INT64) as `id`, cast('o\\'b' as STRING) as `email`"
        );
        crate::sql::parse::parse_bigquery(&sql).unwrap();
        let empty = rows_sql(&columns, &[]);
        assert!(empty.ends_with("where false"), "{empty}");
        crate::sql::parse::parse_bigquery(&empty).unwrap();
    }
}
