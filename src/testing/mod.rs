//! Data tests: generic tests declared in YAML (`not_null`, `unique`, ...) on
//! models, sources and segments, and singular tests (`data_tests/**/*.sql`).
//! Every test is one BigQuery query returning the failing rows; zero rows
//! passes.
//!
//! - [`spec`]: YAML test entries → typed [`TestDef`]s (config errors with file:line:col).
//! - [`generic`]: a generic test → its BigQuery SQL.
//! - [`compile`]: every test of a project → [`CompiledTest`]s (relations resolved).
//! - [`execute`]: one compiled test on an engine → a [`TestResult`].
//! - [`junit`]: test results → JUnit XML.
//! - [`unit`]: unit tests (fixture rows in, expected rows out).
//! - [`contract`]: enforced model contracts (declared columns and types).

pub mod compile;
pub mod contract;
pub mod execute;
pub mod generic;
pub mod junit;
pub mod spec;
pub mod unit;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::error::Location;

pub use compile::{
    CompiledTest, TestPlan, TestSelection, compile_tests, plan, select_tests, store_failures,
};
pub use execute::execute;

/// What a failing test does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported, but the run still succeeds.
    Warn,
    /// Fails the node it tests (its downstream is skipped) and the command.
    #[default]
    Error,
}

/// The table a test reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A model or segment node, by name.
    Model(String),
    /// A source table.
    Source(String, String),
    /// A singular test names its tables itself.
    Sql,
}

/// A reference to a table in a test argument (`to: ref('customers')`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableRef {
    Model(String),
    Source(String, String),
}

/// The kinds of tests.
#[derive(Debug, Clone, PartialEq)]
pub enum TestKind {
    NotNull,
    Unique,
    /// The column's non-NULL values are among these SQL literals.
    AcceptedValues {
        values: Vec<String>,
    },
    /// Every non-NULL value appears in `to`'s `field`.
    Relationships {
        to: TableRef,
        field: String,
    },
    /// Rows for which a BigQuery boolean expression is false fail.
    ExpressionIsTrue {
        expression: String,
    },
    /// Bounds as SQL literals; `inclusive` (default) includes them.
    AcceptedRange {
        min: Option<String>,
        max: Option<String>,
        inclusive: bool,
    },
    /// The number of rows is within bounds.
    RowCount {
        min: Option<u64>,
        max: Option<u64>,
    },
    /// A `data_tests/**/*.sql` file: BigQuery SQL with Jinja.
    Singular {
        raw: String,
    },
    /// Source freshness: the newest `field` is at most `minutes` old (as of
    /// the end of `as_of`, or now if that is earlier).
    Freshness {
        field: String,
        minutes: u64,
    },
}

impl TestKind {
    /// The YAML name of the kind.
    pub fn name(&self) -> &'static str {
        match self {
            TestKind::NotNull => "not_null",
            TestKind::Unique => "unique",
            TestKind::AcceptedValues { .. } => "accepted_values",
            TestKind::Relationships { .. } => "relationships",
            TestKind::ExpressionIsTrue { .. } => "expression_is_true",
            TestKind::AcceptedRange { .. } => "accepted_range",
            TestKind::RowCount { .. } => "row_count",
            TestKind::Singular { .. } => "singular",
            TestKind::Freshness { .. } => "freshness",
        }
    }
}

/// One test, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TestDef {
    /// Unique across the project (custom `name:` or generated).
    pub name: String,
    pub kind: TestKind,
    pub subject: Subject,
    pub column: Option<String>,
    /// A BigQuery condition: only these rows are tested.
    pub filter: Option<String>,
    pub severity: Severity,
    /// The file defining the test, relative to the project.
    pub path: PathBuf,
    pub defined_at: Location,
}

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    Pass,
    /// Failing rows, severity error.
    Fail,
    /// Failing rows, severity warn.
    Warn,
    /// The query itself failed.
    Error,
    /// Not run: a table it reads failed to build.
    Skipped,
}

impl TestStatus {
    /// Whether this result fails the command (exit code 1).
    pub fn is_failure(self) -> bool {
        matches!(self, TestStatus::Fail | TestStatus::Error)
    }
}

/// One test's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub unique_id: String,
    pub name: String,
    /// The node it tests (model/segment name), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub severity: Severity,
    pub status: TestStatus,
    /// Number of failing rows.
    pub failures: u64,
    #[serde(serialize_with = "seconds")]
    pub execution_time: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Column names of the failing rows.
    #[serde(skip)]
    pub sample_columns: Vec<String>,
    /// The first failing rows, as text.
    #[serde(skip)]
    pub sample_rows: Vec<Vec<String>>,
    /// The compiled SQL (for reports).
    #[serde(skip)]
    pub sql: String,
    /// Where the test is defined, e.g. `models/staging/schema.yml:12:11`.
    pub defined_at: String,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}
