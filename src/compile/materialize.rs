//! The statement that materializes a compiled SELECT on BigQuery:
//! `CREATE OR REPLACE TABLE ... PARTITION BY ... CLUSTER BY ... OPTIONS(...) AS`
//! or `CREATE OR REPLACE VIEW ... AS`. An incremental model's first build (and
//! `--full-refresh`) is the same `CREATE OR REPLACE TABLE`; its later builds
//! use [`super::incremental::bigquery`].

use std::fmt::Write;

use serde::Serialize;

use super::relation::Relation;
use crate::error::{Diagnostic, Error, Location, Result};
use crate::project::{ModelConfig, PartitionBy};

/// How a model is persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Materialization {
    Table,
    View,
    Incremental,
}

impl Materialization {
    /// Parse a `materialized:` value.
    pub fn parse(value: Option<&str>, at: &Location) -> Result<Materialization> {
        match value.unwrap_or("table") {
            "table" => Ok(Materialization::Table),
            "view" => Ok(Materialization::View),
            "incremental" => Ok(Materialization::Incremental),
            other => Err(Error::config(
                Diagnostic::new(format!("unknown materialization `{other}`"))
                    .at(at.clone())
                    .help(
                        match crate::error::closest(other, ["table", "view", "incremental"]) {
                            Some(best) => format!(
                                "did you mean `{best}`? (supported: table, view, incremental)"
                            ),
                            None => {
                                "supported materializations: table, view, incremental".to_string()
                            }
                        },
                    ),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Materialization::Table => "table",
            Materialization::View => "view",
            Materialization::Incremental => "incremental",
        }
    }
}

/// The full BigQuery statement for a model.
pub fn statement(
    relation: &Relation,
    materialization: Materialization,
    config: &ModelConfig,
    description: Option<&str>,
    select_sql: &str,
    at: &Location,
) -> Result<String> {
    let mut sql = String::new();
    match materialization {
        Materialization::Table | Materialization::Incremental => {
            let _ = writeln!(sql, "create or replace table {}", relation.quoted());
            if let Some(partition) = &config.partition_by {
                let _ = writeln!(sql, "partition by {}", partition_expression(partition, at)?);
            }
            if !config.cluster_by.is_empty() {
                let _ = writeln!(sql, "cluster by {}", config.cluster_by.join(", "));
            }
        }
        Materialization::View => {
            let _ = writeln!(sql, "create or replace view {}", relation.quoted());
        }
    }
    if let Some(options) = options(description, config) {
        let _ = writeln!(sql, "{options}");
    }
    let _ = writeln!(sql, "as");
    sql.push_str(select_sql.trim_end());
    sql.push('\n');
    Ok(sql)
}

fn partition_expression(partition: &PartitionBy, at: &Location) -> Result<String> {
    let field = &partition.field;
    let granularity = partition.granularity.to_ascii_lowercase();
    let unit = match granularity.as_str() {
        "hour" | "day" | "month" | "year" => granularity.to_ascii_uppercase(),
        other => {
            return Err(partition_error(
                format!("unknown partition granularity `{other}`"),
                at,
            ));
        }
    };
    match partition.data_type.to_ascii_lowercase().as_str() {
        "date" if unit == "DAY" => Ok(field.clone()),
        "date" if unit != "HOUR" => Ok(format!("date_trunc({field}, {unit})")),
        "timestamp" if unit == "DAY" => Ok(format!("date({field})")),
        "timestamp" => Ok(format!("timestamp_trunc({field}, {unit})")),
        "datetime" => Ok(format!("datetime_trunc({field}, {unit})")),
        other => Err(partition_error(
            format!(
                "cannot partition by `{field}` of type `{other}` with granularity `{granularity}`"
            ),
            at,
        )),
    }
}

fn partition_error(message: String, at: &Location) -> Error {
    Error::config(
        Diagnostic::new(message)
            .at(at.clone())
            .help("partition_by: {field: <column>, data_type: date|timestamp|datetime, granularity: day|hour|month|year}"),
    )
}

fn options(description: Option<&str>, config: &ModelConfig) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
        parts.push(format!("description = {}", string_literal(d.trim())));
    }
    if !config.labels.is_empty() {
        let labels: Vec<String> = config
            .labels
            .iter()
            .map(|(k, v)| format!("({}, {})", string_literal(k), string_literal(v)))
            .collect();
        parts.push(format!("labels = [{}]", labels.join(", ")));
    }
    (!parts.is_empty()).then(|| format!("options ({})", parts.join(", ")))
}

/// A BigQuery string literal.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
