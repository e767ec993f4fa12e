//! Refreshing the daily segment tables locally for one day. The tables use
//! the partitioned layout of incremental tables ([`super::partitions`]): one
//! file per `snapshot_date`. The three day-D batches are computed first
//! (nothing written), then each table gets a new version in which day D's
//! file holds the other segments' rows of D plus the batch (written even
//! when empty, so a re-run replaces it) and every other day's file is
//! hard-linked; the three versions are published only once all are written.
//! Any failure discards them: the previous tables stay current.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema, SchemaRef};
use datafusion::catalog::memory::MemTable;
use datafusion::prelude::DataFrame;

use super::incremental::{link_or_copy, read, write};
use super::partitions::{self, TableFile};
use super::storage::Stored;
use super::{LocalEngine, schema_change, session};
use crate::compile::segment::daily::{self, DailySegment, DailyTables, Previous};
use crate::error::{Diagnostic, Error, Result};

/// One segment's row of `segment_daily_stats` for the refreshed day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayStats {
    pub segment: String,
    pub size: i64,
    pub entered: i64,
    pub exited: i64,
    pub previous_size: Option<i64>,
    pub status: String,
}

fn arrow_schema(columns: &[(&str, &str)]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, ty)| {
            let data_type = match *ty {
                "DATE" => DataType::Date32,
                "INT64" => DataType::Int64,
                _ => DataType::Utf8,
            };
            Field::new(*name, data_type, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn fail(message: impl std::fmt::Display) -> Error {
    Error::execution(Diagnostic::new(format!(
        "segments refresh failed: {}",
        session::clean_message(&message.to_string())
    )))
}

impl LocalEngine {
    /// Replace day `day` of the daily tables for `segments` (read from their
    /// built tables); returns the day's stats.
    pub async fn refresh_daily(
        &self,
        segments: &[DailySegment],
        tables: &DailyTables,
        day: NaiveDate,
        accept_drift: bool,
    ) -> Result<Vec<DayStats>> {
        // Tables never refreshed yet read as empty (planning only; nothing is written).
        let mut existing: Vec<Option<PathBuf>> = Vec::new();
        for (relation, columns) in tables.all() {
            self.ensure_schema(&relation.dataset)?;
            match self.storage.current(relation)? {
                Some(Stored::Table(path)) if path.is_dir() => {
                    self.register_table_file(relation, &path).await?;
                    existing.push(Some(path));
                }
                _ => {
                    let table =
                        MemTable::try_new(arrow_schema(columns), vec![Vec::new()]).map_err(fail)?;
                    self.register_provider(relation, Arc::new(table))?;
                    existing.push(None);
                }
            }
        }
        let previous = self
            .collect(&format!(
                "select distinct snapshot_date from (\n{}\n)",
                daily::previous_days_select(segments, tables, day)
            ))
            .await?;
        let mut days = Vec::new();
        for batch in &previous {
            let column = batch.column(0).as_primitive::<Date32Type>();
            for i in 0..column.len() {
                if let Some(d) = column.value_as_date(i) {
                    days.push(d);
                }
            }
        }
        let previous = Previous::Days(&days);
        let selects = [
            daily::membership_select(segments, day),
            daily::changes_select(segments, tables, day, previous),
            daily::stats_select(segments, tables, day, previous, accept_drift),
        ];
        let mut batches = Vec::new();
        for ((_, columns), sql) in tables.all().into_iter().zip(selects) {
            let schema = arrow_schema(columns);
            let rows = self.collect(&sql).await?;
            let aligned: Vec<RecordBatch> = rows
                .iter()
                .map(|b| schema_change::align(b, &schema))
                .collect::<Result<_>>()?;
            batches.push(concat_batches(&schema, aligned.iter()).map_err(fail)?);
        }
        let names: BTreeSet<&str> = segments.iter().map(|s| s.name.as_str()).collect();
        let key = Some(day.to_string());
        let mut versions = Vec::new();
        for (((relation, _), old), batch) in tables.all().into_iter().zip(&existing).zip(&batches) {
            let version = self.storage.new_version(relation)?;
            versions.push((relation, version.clone()));
            if let Err(e) = replace_day(old.as_ref(), &version, &key, batch, &names) {
                for (_, v) in &versions {
                    self.storage.discard(v);
                }
                return Err(e);
            }
        }
        for (relation, version) in &versions {
            self.storage.publish(relation, version)?;
            self.register_table_file(relation, version).await?;
        }
        stats_rows(&batches[2])
    }

    async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let plan = self.plan(sql).await.map_err(fail)?;
        DataFrame::new(self.ctx.state(), plan)
            .collect()
            .await
            .map_err(fail)
    }
}

/// Write the new version of one table: every file of `old` but day `key`'s,
/// and day `key`'s file with the rows of other segments kept plus `batch`.
fn replace_day(
    old: Option<&PathBuf>,
    version: &std::path::Path,
    key: &partitions::PartitionKey,
    batch: &RecordBatch,
    segments: &BTreeSet<&str>,
) -> Result<()> {
    let schema = batch.schema();
    let mut parts = Vec::new();
    if let Some(old) = old {
        for file in partitions::list(old)? {
            let path = old.join(&file.name);
            if file.partition.as_ref() == Some(key) {
                let rows = read(&path, &schema)?;
                let segment = rows.column(1).as_string::<i32>();
                let keep: BooleanArray = (0..rows.num_rows())
                    .map(|i| Some(!segments.contains(segment.value(i))))
                    .collect();
                parts.push(filter_record_batch(&rows, &keep).map_err(fail)?);
            } else if file.partition.is_some() {
                link_or_copy(&path, &version.join(&file.name))?;
            }
        }
    }
    parts.push(batch.clone());
    let all = concat_batches(&schema, parts.iter()).map_err(fail)?;
    write(version, &TableFile::name_for(Some(key), 0), &all)
}

fn stats_rows(batch: &RecordBatch) -> Result<Vec<DayStats>> {
    let text = |i: usize| -> Result<&StringArray> {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| fail("unexpected stats column type"))
    };
    let int = |i: usize| batch.column(i).as_primitive::<Int64Type>();
    let (segment, status) = (text(1)?, text(6)?);
    Ok((0..batch.num_rows())
        .map(|i| DayStats {
            segment: segment.value(i).to_string(),
            size: int(2).value(i),
            entered: int(3).value(i),
            exited: int(4).value(i),
            previous_size: (!int(5).is_null(i)).then(|| int(5).value(i)),
            status: status.value(i).to_string(),
        })
        .collect())
}
