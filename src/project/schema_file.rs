//! The YAML files under `models/`: `sources:` (raw tables) and `models:`
//! (YAML-declared models, or properties of SQL models) and `segments:`
//! (see [`super::segment`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// One `models/**/*.yml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaFile {
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    pub sources: Vec<Spanned<SourceDef>>,
    #[serde(default)]
    pub models: Vec<Spanned<ModelDef>>,
    /// Segments may live next to models (`models/segments/*.yml`).
    #[serde(default)]
    pub segments: Vec<Spanned<super::segment::SegmentDef>>,
    /// Unit tests: fixture rows in, expected rows out (see `crate::testing::unit`).
    #[serde(default)]
    pub unit_tests: Vec<Spanned<crate::testing::unit::UnitTestDef>>,
}

/// A group of raw tables living in one dataset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The BigQuery dataset; defaults to the source's name.
    #[serde(default)]
    pub schema: Option<String>,
    /// The BigQuery project; defaults to the target's project.
    #[serde(default)]
    pub project: Option<String>,
    /// For local runs: the folder holding the tables' files (Jinja allowed, e.g. `{{ var('data_dir') }}`).
    #[serde(default)]
    pub location: Option<String>,
    /// For local runs: `parquet` (default) or `csv`.
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// The TIMESTAMP column saying when a row was loaded (default for the tables).
    #[serde(default)]
    pub loaded_at_field: Option<String>,
    /// `{warn_after: {count: 2, period: day}, error_after: {...}}` (default for the tables).
    #[serde(default)]
    pub freshness: Option<Spanned<serde_json::Value>>,
    pub tables: Vec<Spanned<SourceTableDef>>,
}

/// File format of a local source table.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    #[default]
    Parquet,
    Csv,
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
        }
    }
}

/// One raw table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceTableDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The table's name in the warehouse, when it differs from `name`.
    #[serde(default)]
    pub identifier: Option<String>,
    /// For local runs: the file (or folder of files) inside the source's location;
    /// defaults to `<name>.<format>`.
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub columns: Vec<ColumnDef>,
    /// Table-level generic tests (`row_count`, `expression_is_true`, or a column test with `column:`).
    #[serde(default, alias = "data_tests")]
    pub tests: Vec<Spanned<serde_json::Value>>,
    /// The TIMESTAMP column saying when a row was loaded.
    #[serde(default)]
    pub loaded_at_field: Option<String>,
    /// How old the newest row may be: `{warn_after: {count: 2, period: day}, error_after: ...}`.
    #[serde(default)]
    pub freshness: Option<Spanned<serde_json::Value>>,
}

/// A column of a source or model.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    pub name: String,
    /// BigQuery SQL computing the column (YAML models); defaults to the column's name.
    #[serde(default, alias = "expression")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// BigQuery type; in a YAML model the column is cast to it.
    #[serde(default, rename = "type", alias = "data_type")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Generic tests of the column (`unique`, `not_null`, ...; see `crate::testing::spec`).
    #[serde(default, alias = "data_tests", skip_serializing)]
    pub tests: Vec<Spanned<serde_json::Value>>,
}

/// A model declared in YAML, or the properties of a SQL model of the same name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `ref('model')` or `source('source', 'table')`; absent for a SQL model's properties.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// Alias of the `from` relation, for joins.
    #[serde(default, rename = "as")]
    pub from_alias: Option<String>,
    #[serde(default)]
    pub joins: Vec<Spanned<JoinDef>>,
    #[serde(default)]
    pub columns: Vec<ColumnDef>,
    /// Row filters (BigQuery boolean expressions), combined with AND, applied before dedupe.
    #[serde(default, rename = "where")]
    pub filters: Option<OneOrMany>,
    /// Incremental models: a row filter added on incremental runs only
    /// (when `is_incremental()`), e.g. `updated_at >= {{ incremental_since('updated_at', 'timestamp') }}`.
    #[serde(default)]
    pub incremental_where: Option<String>,
    #[serde(default)]
    pub dedupe: Option<DedupeDef>,
    /// Aggregate: group by these expressions (the columns then hold aggregates).
    #[serde(default)]
    pub group_by: Vec<String>,
    #[serde(default)]
    pub having: Option<String>,
    #[serde(default)]
    pub config: Option<ModelConfig>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Model-level generic tests (`row_count`, `expression_is_true`, or a column test with `column:`).
    #[serde(default, alias = "data_tests")]
    pub tests: Vec<Spanned<serde_json::Value>>,
}

/// One string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A join in a YAML model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinDef {
    /// `left` (default), `inner`, `right`, `full`.
    #[serde(default)]
    pub join: JoinKind,
    pub to: Spanned<String>,
    #[serde(rename = "as")]
    pub alias: String,
    /// The join condition, or use `using`.
    #[serde(default)]
    pub on: Option<String>,
    #[serde(default)]
    pub using: Vec<String>,
}

/// The kind of a YAML model join.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JoinKind {
    #[default]
    Left,
    Inner,
    Right,
    Full,
}

impl JoinKind {
    pub fn sql(self) -> &'static str {
        match self {
            JoinKind::Left => "left join",
            JoinKind::Inner => "inner join",
            JoinKind::Right => "right join",
            JoinKind::Full => "full outer join",
        }
    }
}

/// Keep one row per key: the first by `order_by`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeDef {
    pub by: Vec<String>,
    pub order_by: String,
}

/// Model configuration, from YAML `config:` or Jinja `{{ config(...) }}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub materialized: Option<String>,
    /// Custom dataset suffix: the model lands in `<target dataset>_<schema>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The relation's name, when it differs from the model's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_by: Option<PartitionBy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_by: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Incremental models: `merge` (default with `unique_key`), `insert_overwrite` or `append`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental_strategy: Option<String>,
    /// Incremental `merge`: the column (or columns) identifying a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_key: Option<UniqueKey>,
    /// Incremental models: `fail` (default) or `append_new_columns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_schema_change: Option<String>,
    /// Incremental models: days of late data re-read by `incremental_since()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback: Option<i64>,
    /// `{enforced: true}`: the produced columns must match the declared ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractConfig>,
    /// BigQuery: the most bytes one build of this model may process (its
    /// dry run is checked before it runs); overrides the profile's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_bytes_billed: Option<u64>,
}

/// `unique_key:` as one column or a list of columns.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum UniqueKey {
    One(String),
    Many(Vec<String>),
}

impl UniqueKey {
    /// The key's columns, in order.
    pub fn columns(&self) -> Vec<String> {
        match self {
            UniqueKey::One(c) => vec![c.clone()],
            UniqueKey::Many(v) => v.clone(),
        }
    }
}

/// A model's contract.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContractConfig {
    #[serde(default)]
    pub enforced: bool,
}

impl ModelConfig {
    /// `self` with every unset field taken from `defaults`.
    pub fn or(mut self, defaults: &ModelConfig) -> ModelConfig {
        if self.materialized.is_none() {
            self.materialized.clone_from(&defaults.materialized);
        }
        if self.schema.is_none() {
            self.schema.clone_from(&defaults.schema);
        }
        if self.alias.is_none() {
            self.alias.clone_from(&defaults.alias);
        }
        if self.partition_by.is_none() {
            self.partition_by.clone_from(&defaults.partition_by);
        }
        if self.cluster_by.is_empty() {
            self.cluster_by.clone_from(&defaults.cluster_by);
        }
        if self.enabled.is_none() {
            self.enabled = defaults.enabled;
        }
        if self.incremental_strategy.is_none() {
            self.incremental_strategy
                .clone_from(&defaults.incremental_strategy);
        }
        if self.unique_key.is_none() {
            self.unique_key.clone_from(&defaults.unique_key);
        }
        if self.on_schema_change.is_none() {
            self.on_schema_change.clone_from(&defaults.on_schema_change);
        }
        if self.lookback.is_none() {
            self.lookback = defaults.lookback;
        }
        if self.contract.is_none() {
            self.contract.clone_from(&defaults.contract);
        }
        if self.maximum_bytes_billed.is_none() {
            self.maximum_bytes_billed = defaults.maximum_bytes_billed;
        }
        for (k, v) in &defaults.labels {
            self.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for tag in &defaults.tags {
            if !self.tags.contains(tag) {
                self.tags.push(tag.clone());
            }
        }
        self
    }
}

/// BigQuery partitioning of a table.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartitionBy {
    pub field: String,
    /// `date` (default), `timestamp`, `datetime` or `int64`.
    #[serde(default = "default_partition_type")]
    pub data_type: String,
    /// `day` (default), `hour`, `month`, `year`.
    #[serde(default = "default_granularity")]
    pub granularity: String,
}

fn default_partition_type() -> String {
    "date".into()
}

fn default_granularity() -> String {
    "day".into()
}
