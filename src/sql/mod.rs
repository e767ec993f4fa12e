//! BigQuery SQL for the local engine: parse GoogleSQL text with sqlparser's
//! BigQuery dialect, rewrite what DataFusion does differently, and plan it.
//!
//! - [`parse`]: text → sqlparser AST, syntax errors with line:col.
//! - [`translate`]: BigQuery AST → an AST DataFusion plans with BigQuery's semantics.
//! - [`functions`]: BigQuery-compatible functions registered as DataFusion UDFs.
//!
//! The entry point is [`plan_query`]; the session it plans on must have had
//! [`functions::register_bigquery_functions`] called on it.

mod checked;
pub mod functions;
mod names;

pub use names::lowercase_columns;
pub mod parse;
pub mod translate;

use datafusion::execution::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::tokenizer::Span;

/// A SQL problem with its position in the SQL text (1-based), when known.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlError {
    /// What kind of problem this is.
    pub kind: SqlErrorKind,
    /// The message, without position.
    pub message: String,
    /// 1-based line in the SQL text.
    pub line: Option<usize>,
    /// 1-based column in the SQL text.
    pub column: Option<usize>,
}

/// The kinds of [`SqlError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlErrorKind {
    /// The text does not parse as BigQuery SQL.
    Syntax,
    /// Valid BigQuery, but the local engine cannot run it with BigQuery's semantics.
    Unsupported,
    /// The query does not plan (unknown column or table, type mismatch, ...).
    Plan,
}

impl SqlError {
    /// A syntax error.
    pub fn syntax(message: impl Into<String>) -> Self {
        Self::new(SqlErrorKind::Syntax, message.into())
    }

    /// A BigQuery feature the local engine does not support; `feature` names it.
    pub fn unsupported(feature: impl AsRef<str>) -> Self {
        Self::new(
            SqlErrorKind::Unsupported,
            format!(
                "BigQuery feature not supported locally yet: {}",
                feature.as_ref()
            ),
        )
    }

    /// A planning error.
    pub fn plan(message: impl Into<String>) -> Self {
        Self::new(SqlErrorKind::Plan, message.into())
    }

    fn new(kind: SqlErrorKind, message: String) -> Self {
        Self {
            kind,
            message,
            line: None,
            column: None,
        }
    }

    /// Sets the position from a sqlparser span, when it has one (line 0 means unknown).
    pub fn at_span(mut self, span: Span) -> Self {
        if span.start.line > 0 && self.line.is_none() {
            self.line = usize::try_from(span.start.line).ok();
            self.column = usize::try_from(span.start.column).ok();
        }
        self
    }
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqlError {}

/// Options of one translation.
#[derive(Debug, Clone, Default)]
pub struct TranslateOptions {
    /// `CURRENT_DATE()` returns this when set (the project's `as_of`).
    pub current_date: Option<chrono::NaiveDate>,
}

/// Parse BigQuery SQL, translate it, and plan it on `state`.
///
/// The SQL must hold exactly one query statement. `state` must know the
/// BigQuery functions (see [`functions::register_bigquery_functions`]).
pub async fn plan_query(
    state: &SessionState,
    sql: &str,
    opts: &TranslateOptions,
) -> Result<LogicalPlan, SqlError> {
    let statement = parse::parse_single(sql)?;
    let written = names::written_names(&statement);
    let translated = translate::to_datafusion(statement, opts)?;
    state
        .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
            translated,
        )))
        .await
        .and_then(checked::check_integer_overflow)
        .and_then(|plan| names::restore_case(plan, &written))
        .map_err(|e| plan_error(&e))
}

/// Maps a DataFusion error to a [`SqlError`], keeping only its message.
pub fn plan_error(err: &datafusion::error::DataFusionError) -> SqlError {
    let message = strip_datafusion_noise(&err.to_string());
    if message.starts_with("This feature is not implemented") {
        let feature = message
            .trim_start_matches("This feature is not implemented")
            .trim_start_matches(':')
            .trim();
        return SqlError::unsupported(feature);
    }
    SqlError::plan(message)
}

/// Removes DataFusion's category prefixes and trailing backtraces from a message.
fn strip_datafusion_noise(message: &str) -> String {
    const PREFIXES: [&str; 6] = [
        "Error during planning: ",
        "Schema error: ",
        "SQL error: ",
        "Execution error: ",
        "Internal error: ",
        "Arrow error: ",
    ];
    let mut text = message.trim();
    while let Some(rest) = PREFIXES.iter().find_map(|p| text.strip_prefix(p)) {
        text = rest.trim_start();
    }
    let text = text.split("\n\nbacktrace").next().unwrap_or(text);
    text.trim().to_string()
}

#[cfg(test)]
mod tests;
