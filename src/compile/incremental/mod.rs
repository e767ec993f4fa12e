//! Incremental models: the typed, validated settings of a model with
//! `materialized: incremental` (strategy, unique key, partition, schema
//! changes, lookback), checked once at compile time so that every error
//! points at the model's file. The BigQuery statements live in [`bigquery`].

pub mod bigquery;

use serde::Serialize;

use crate::error::{Diagnostic, Error, Location, Result};
use crate::project::{ModelConfig, PartitionBy};

/// How a new batch of rows is applied to the existing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Rows of the batch replace the rows with the same `unique_key`; new keys are inserted.
    Merge,
    /// The batch replaces whole partitions: every partition it has rows in.
    InsertOverwrite,
    /// The batch's rows are added.
    Append,
}

impl Strategy {
    const NAMES: [&'static str; 3] = ["merge", "insert_overwrite", "append"];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Merge => "merge",
            Strategy::InsertOverwrite => "insert_overwrite",
            Strategy::Append => "append",
        }
    }
}

/// What to do when the batch's columns differ from the table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnSchemaChange {
    /// Stop with an error naming the columns (the table is left as it was).
    #[default]
    Fail,
    /// Add the batch's new columns (NULL for the rows already there).
    AppendNewColumns,
}

impl OnSchemaChange {
    const NAMES: [&'static str; 2] = ["fail", "append_new_columns"];
}

/// The validated incremental settings of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incremental {
    pub strategy: Strategy,
    /// `merge`: the columns identifying a row (empty for other strategies).
    pub unique_key: Vec<String>,
    /// The table's partitioning, if any (required by `insert_overwrite`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_by: Option<PartitionBy>,
    pub on_schema_change: OnSchemaChange,
    /// Days of late data `incremental_since()` re-reads.
    pub lookback: u32,
}

impl Incremental {
    /// The incremental settings of a model whose config says `materialized: incremental`.
    pub fn from_config(config: &ModelConfig, at: &Location) -> Result<Incremental> {
        let strategy = match config.incremental_strategy.as_deref().map(str::trim) {
            None | Some("merge") => Strategy::Merge,
            Some("insert_overwrite") => Strategy::InsertOverwrite,
            Some("append") => Strategy::Append,
            Some(other) => {
                return Err(error(
                    format!("unknown incremental_strategy `{other}`"),
                    at,
                    match crate::error::closest(other, Strategy::NAMES) {
                        Some(best) => format!(
                            "did you mean `{best}`? (supported: merge, insert_overwrite, append)"
                        ),
                        None => "supported strategies: merge, insert_overwrite, append".into(),
                    },
                ));
            }
        };
        let unique_key = match strategy {
            Strategy::Merge => unique_key(config, at)?,
            _ => Vec::new(),
        };
        let partition_by = config.partition_by.clone();
        if let Some(partition) = &partition_by {
            check_partition(partition, strategy, at)?;
        } else if strategy == Strategy::InsertOverwrite {
            return Err(error(
                "incremental_strategy `insert_overwrite` needs `partition_by` on a DATE column",
                at,
                "add partition_by: {field: <date column>, data_type: date} (insert_overwrite replaces the partitions the new rows fall in)",
            ));
        }
        let on_schema_change = match config.on_schema_change.as_deref().map(str::trim) {
            None | Some("fail") => OnSchemaChange::Fail,
            Some("append_new_columns") => OnSchemaChange::AppendNewColumns,
            Some(other) => {
                return Err(error(
                    format!("unknown on_schema_change `{other}`"),
                    at,
                    match crate::error::closest(other, OnSchemaChange::NAMES) {
                        Some(best) => {
                            format!("did you mean `{best}`? (supported: fail, append_new_columns)")
                        }
                        None => "supported: fail, append_new_columns".into(),
                    },
                ));
            }
        };
        let lookback = match config.lookback {
            None => 0,
            Some(days) => u32::try_from(days).map_err(|_| {
                error(
                    format!("lookback must be a number of days (0 or more), not {days}"),
                    at,
                    "e.g. lookback: 3 re-reads the last 3 days before the newest one already loaded",
                )
            })?,
        };
        Ok(Incremental {
            strategy,
            unique_key,
            partition_by,
            on_schema_change,
            lookback,
        })
    }

    /// `materialized: incremental` settings on a model that is not incremental are a mistake.
    pub fn check_unused(config: &ModelConfig, materialized: &str, at: &Location) -> Result<()> {
        let set = [
            (
                "incremental_strategy",
                config.incremental_strategy.is_some(),
            ),
            ("unique_key", config.unique_key.is_some()),
            ("on_schema_change", config.on_schema_change.is_some()),
            ("lookback", config.lookback.is_some()),
        ];
        match set.iter().find(|(_, is_set)| *is_set) {
            Some((key, _)) => Err(error(
                format!(
                    "`{key}` applies to incremental models, but this model is materialized as `{materialized}`"
                ),
                at,
                format!("set materialized: incremental, or remove `{key}`"),
            )),
            None => Ok(()),
        }
    }
}

fn unique_key(config: &ModelConfig, at: &Location) -> Result<Vec<String>> {
    let Some(key) = &config.unique_key else {
        return Err(error(
            "incremental_strategy `merge` needs a `unique_key`",
            at,
            "add unique_key: <column> (or a list of columns) identifying a row, or choose incremental_strategy: append | insert_overwrite",
        ));
    };
    let columns = key.columns();
    if columns.is_empty() {
        return Err(error(
            "unique_key is an empty list",
            at,
            "list the columns identifying a row, e.g. unique_key: [customer_id, order_id]",
        ));
    }
    for column in &columns {
        let valid = !column.is_empty()
            && column
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !column.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(error(
                format!("invalid unique_key column `{column}`"),
                at,
                "unique_key names columns of the model (letters, digits and `_`); write expressions as a column of the SELECT",
            ));
        }
    }
    Ok(columns)
}

fn check_partition(partition: &PartitionBy, strategy: Strategy, at: &Location) -> Result<()> {
    let data_type = partition.data_type.to_ascii_lowercase();
    let granularity = partition.granularity.to_ascii_lowercase();
    if strategy == Strategy::InsertOverwrite && data_type != "date" {
        return Err(error(
            format!(
                "incremental_strategy `insert_overwrite` needs a DATE partition, but `{}` is partitioned as `{data_type}`",
                partition.field
            ),
            at,
            "partition by a DATE column (e.g. add `date(started_at) as event_date` and partition_by: {field: event_date, data_type: date}), or use incremental_strategy: merge",
        ));
    }
    let supported = matches!(data_type.as_str(), "date" | "timestamp" | "datetime")
        && matches!(granularity.as_str(), "day" | "month" | "year" | "hour")
        && !(data_type == "date" && granularity == "hour");
    if !supported {
        return Err(error(
            format!(
                "incremental models cannot be partitioned by `{}` as {data_type} by {granularity}",
                partition.field
            ),
            at,
            "partition_by: {field: <column>, data_type: date|timestamp|datetime, granularity: day|month|year}",
        ));
    }
    Ok(())
}

fn error(message: impl Into<String>, at: &Location, help: impl Into<String>) -> Error {
    Error::config(Diagnostic::new(message).at(at.clone()).help(help))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::UniqueKey;

    fn at() -> Location {
        Location::new("models/events.yml", 3, 5)
    }

    fn config(strategy: Option<&str>) -> ModelConfig {
        ModelConfig {
            materialized: Some("incremental".into()),
            incremental_strategy: strategy.map(str::to_string),
            ..ModelConfig::default()
        }
    }

    fn date_partition(field: &str, data_type: &str) -> Option<PartitionBy> {
        Some(PartitionBy {
            field: field.into(),
            data_type: data_type.into(),
            granularity: "day".into(),
        })
    }

    fn message(err: Error) -> (String, String) {
        let d = err.diagnostic().expect("diagnostic").clone();
        assert!(err.is_config());
        (
            format!("{}: {}", d.location.expect("location"), d.message),
            d.help.unwrap_or_default(),
        )
    }

    #[test]
    fn merge_is_the_default_and_needs_a_unique_key() {
        let (msg, help) = message(Incremental::from_config(&config(None), &at()).unwrap_err());
        assert_eq!(
            msg,
            "models/events.yml:3:5: incremental_strategy `merge` needs a `unique_key`"
        );
        assert!(help.contains("unique_key: <column>"), "{help}");

        let mut c = config(None);
        c.unique_key = Some(UniqueKey::Many(vec!["a".into(), "b".into()]));
        let inc = Incremental::from_config(&c, &at()).unwrap();
        assert_eq!(inc.strategy, Strategy::Merge);
        assert_eq!(inc.unique_key, vec!["a", "b"]);
        assert_eq!(inc.on_schema_change, OnSchemaChange::Fail);
        assert_eq!(inc.lookback, 0);
    }

    #[test]
    fn invalid_unique_keys_are_rejected() {
        for key in [
            UniqueKey::Many(vec![]),
            UniqueKey::One("lower(email)".into()),
            UniqueKey::One(String::new()),
        ] {
            let mut c = config(Some("merge"));
            c.unique_key = Some(key.clone());
            let (msg, _) = message(Incremental::from_config(&c, &at()).unwrap_err());
            assert!(msg.starts_with("models/events.yml:3:5: "), "{msg}");
            assert!(msg.contains("unique_key"), "{key:?}: {msg}");
        }
    }

    #[test]
    fn unknown_strategy_suggests_the_closest() {
        let (msg, help) =
            message(Incremental::from_config(&config(Some("insert_overwrit")), &at()).unwrap_err());
        assert!(msg.ends_with("unknown incremental_strategy `insert_overwrit`"));
        assert!(
            help.starts_with("did you mean `insert_overwrite`?"),
            "{help}"
        );
    }

    #[test]
    fn insert_overwrite_needs_a_date_partition() {
        let (msg, _) = message(
            Incremental::from_config(&config(Some("insert_overwrite")), &at()).unwrap_err(),
        );
        assert!(
            msg.contains("needs `partition_by` on a DATE column"),
            "{msg}"
        );

        let mut c = config(Some("insert_overwrite"));
        c.partition_by = date_partition("started_at", "timestamp");
        let (msg, _) = message(Incremental::from_config(&c, &at()).unwrap_err());
        assert!(msg.contains("needs a DATE partition"), "{msg}");
        assert!(
            msg.contains("`started_at` is partitioned as `timestamp`"),
            "{msg}"
        );

        c.partition_by = date_partition("event_date", "date");
        let inc = Incremental::from_config(&c, &at()).unwrap();
        assert_eq!(inc.strategy, Strategy::InsertOverwrite);
        assert!(inc.unique_key.is_empty());
    }

    #[test]
    fn on_schema_change_and_lookback_are_checked() {
        let mut c = config(Some("append"));
        c.on_schema_change = Some("append_new_column".into());
        let (msg, help) = message(Incremental::from_config(&c, &at()).unwrap_err());
        assert!(msg.ends_with("unknown on_schema_change `append_new_column`"));
        assert!(help.contains("`append_new_columns`"), "{help}");

        c.on_schema_change = Some("append_new_columns".into());
        c.lookback = Some(-1);
        let (msg, _) = message(Incremental::from_config(&c, &at()).unwrap_err());
        assert!(msg.contains("lookback must be a number of days"), "{msg}");

        c.lookback = Some(3);
        let inc = Incremental::from_config(&c, &at()).unwrap();
        assert_eq!(inc.on_schema_change, OnSchemaChange::AppendNewColumns);
        assert_eq!(inc.lookback, 3);
    }

    #[test]
    fn incremental_settings_on_a_table_are_an_error() {
        let c = ModelConfig {
            unique_key: Some(UniqueKey::One("id".into())),
            ..ModelConfig::default()
        };
        let (msg, help) = message(Incremental::check_unused(&c, "table", &at()).unwrap_err());
        assert!(
            msg.contains("`unique_key` applies to incremental models"),
            "{msg}"
        );
        assert!(help.contains("materialized: incremental"));
        assert!(Incremental::check_unused(&ModelConfig::default(), "table", &at()).is_ok());
    }
}
