//! Building incremental models locally. The batch (the model's SELECT, with
//! `is_incremental()` true when the table exists) runs on DataFusion; the
//! strategy is then applied file by file (see [`super::partitions`]) into a
//! new version folder that becomes current atomically, like every table:
//!
//! - files the batch does not touch are hard-linked into the new version
//!   (copied where links are not possible), never rewritten;
//! - `insert_overwrite` writes one new file per partition in the batch and
//!   drops that partition's old files;
//! - `merge` rewrites only the partitions the batch has rows in (all rows of
//!   an unpartitioned table), without the rows whose `unique_key` is in the
//!   batch, plus the batch's rows;
//! - `append` adds the batch as new files.
//!
//! A failure anywhere discards the new version: the previous table stays.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::prelude::DataFrame;
use futures::StreamExt;

use super::partitions::{self, PartitionKey, TableFile};
use super::schema_change;
use super::storage::Stored;
use super::{LocalEngine, session, sql_error};
use crate::compile::incremental::{Incremental, Strategy};
use crate::compile::{CompiledNode, IncrementalBuild};
use crate::engine::Materialized;
use crate::error::{Diagnostic, Error, Result};
use crate::project::PartitionBy;

impl LocalEngine {
    /// Build an incremental model: from scratch on the first run or with
    /// `--full-refresh`, else by applying the batch to the current version.
    pub(super) async fn build_incremental(&self, node: &CompiledNode) -> Result<Materialized> {
        let incremental = node.incremental.as_ref().ok_or_else(|| {
            Error::execution(Diagnostic::new(format!(
                "model `{}` is incremental but has no incremental build",
                node.name
            )))
        })?;
        // Only a table in the incremental layout (a folder of files) is added
        // to; a view, or a table built as `materialized: table`, is rebuilt.
        let existing = match self.storage.current(&node.relation)? {
            Some(Stored::Table(path)) if !self.full_refresh && path.is_dir() => Some(path),
            _ => None,
        };
        let sql = if existing.is_some() {
            &incremental.sql
        } else {
            &node.sql
        };
        let plan = self.plan(sql).await.map_err(|e| sql_error(node, &e))?;
        let frame = DataFrame::new(self.ctx.state(), plan);
        let schema = schema_change::nullable(frame.schema().as_arrow());
        let version = self.storage.new_version(&node.relation)?;
        let written = match &existing {
            // A first build streams: it can be the whole history.
            None => write_fresh(node, frame, &schema, &version, &incremental.settings).await,
            Some(old) => match collect(node, frame, &schema).await {
                Ok(batch) => apply(node, incremental, old, &version, &batch)
                    .map(|()| batch.num_rows() as u64),
                Err(e) => Err(e),
            },
        };
        let rows = match written {
            Ok(rows) => rows,
            Err(e) => {
                self.storage.discard(&version);
                return Err(located(e, node));
            }
        };
        self.storage.publish(&node.relation, &version)?;
        self.register_table_file(&node.relation, &version).await?;
        Ok(Materialized { rows: Some(rows) })
    }
}

/// `err`, pointing at the model when it points nowhere yet.
fn located(mut err: Error, node: &CompiledNode) -> Error {
    if let Error::Config(d) | Error::Execution(d) = &mut err
        && d.location.is_none()
    {
        d.location = Some(node.defined_at.clone());
    }
    err
}

fn failed(node: &CompiledNode, message: &str) -> Error {
    Error::execution(
        Diagnostic::new(format!("model `{}` failed: {message}", node.name))
            .at(node.defined_at.clone()),
    )
}

/// The batch of an incremental build, as one record batch.
async fn collect(node: &CompiledNode, frame: DataFrame, schema: &SchemaRef) -> Result<RecordBatch> {
    let batches = frame
        .collect()
        .await
        .map_err(|e| failed(node, &session::clean_message(&e.to_string())))?;
    concat_batches(schema, batches.iter()).map_err(|e| failed(node, &e.to_string()))
}

/// The first build, streamed into files as DataFusion produces it: one
/// writer per output partition of the plan, each on its own task, so the
/// last operators and the Parquet encoding run on every core. Each writer
/// keeps one file per table partition open (see [`FreshFiles`]) and numbers
/// its files apart from the others'. Returns the rows written.
async fn write_fresh(
    node: &CompiledNode,
    frame: DataFrame,
    schema: &SchemaRef,
    version: &Path,
    settings: &Incremental,
) -> Result<u64> {
    let streams = frame
        .execute_stream_partitioned()
        .await
        .map_err(|e| failed(node, &session::clean_message(&e.to_string())))?;
    let writers = u32::try_from(streams.len().max(1)).unwrap_or(u32::MAX);
    let limits = Limits::default().shared_by(writers);
    // Dropping the set (an error, an interrupt) aborts every writer.
    let mut tasks = tokio::task::JoinSet::new();
    for (first, stream) in (0..writers).zip(streams) {
        let mut files = FreshFiles::new(
            version.to_path_buf(),
            Arc::clone(schema),
            settings.partition_by.clone(),
            limits,
            FileNumbers {
                first,
                step: writers,
            },
        );
        let (node_name, schema) = (node.name.clone(), Arc::clone(schema));
        tasks.spawn(async move {
            let mut stream = stream;
            let mut rows = 0u64;
            let fail = |message: &str| {
                Error::execution(Diagnostic::new(format!(
                    "model `{node_name}` failed: {message}"
                )))
            };
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| fail(&session::clean_message(&e.to_string())))?;
                let batch = RecordBatch::try_new(Arc::clone(&schema), batch.columns().to_vec())
                    .map_err(|e| fail(&e.to_string()))?;
                rows += batch.num_rows() as u64;
                files.push(batch)?;
            }
            files.finish()?;
            Ok::<u64, Error>(rows)
        });
    }
    let mut rows = 0;
    while let Some(joined) = tasks.join_next().await {
        let written = joined.map_err(|e| failed(node, &format!("a writer stopped: {e}")));
        match written.and_then(|r| r) {
            Ok(n) => rows += n,
            Err(e) => {
                tasks.shutdown().await;
                return Err(e);
            }
        }
    }
    if rows == 0 {
        record_columns(version, schema)?;
    }
    Ok(rows)
}

/// One empty file that records the columns of a table with no row at all.
fn record_columns(version: &Path, schema: &SchemaRef) -> Result<()> {
    let path = version.join(TableFile::name_for(None, 0));
    open_writer(&path, schema)?
        .close()
        .map(|_| ())
        .map_err(|e| parquet_error(&path, &e))
}

/// The Parquet files one writer of a first build writes, by partition
/// (`None`: an unpartitioned table). DataFusion's batches hold rows of many
/// partitions each, so batches are gathered up to [`Limits::pending_rows`]
/// and then split by partition at once, each partition written as one
/// batch; memory stays bounded (see [`Limits`]).
struct FreshFiles {
    version: PathBuf,
    schema: SchemaRef,
    partition_by: Option<PartitionBy>,
    limits: Limits,
    numbers: FileNumbers,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    files: BTreeMap<Option<PartitionKey>, PartitionFile>,
    writes: u64,
}

/// The file numbers of one writer among several: `first`, `first + step`,
/// … so that writers never pick the same name.
#[derive(Debug, Clone, Copy)]
struct FileNumbers {
    first: u32,
    step: u32,
}

/// One partition's open file.
#[derive(Default)]
struct PartitionFile {
    /// How many files of this partition were closed before `writer`'s.
    closed: u32,
    writer: Option<(PathBuf, ArrowWriter<File>)>,
    /// The write counter when this file was last written.
    last_write: u64,
}

/// How much a first build gathers and keeps open (per writer, once
/// [`Limits::shared_by`] the writers).
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Rows gathered before they are split by partition and written.
    pending_rows: usize,
    /// Encoded bytes buffered by all writers before their row groups are
    /// flushed (largest first, down to half).
    writer_bytes: usize,
    /// Files open at once; past it the file written longest ago is closed
    /// and its partition's later rows go to the partition's next file.
    open_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            pending_rows: 1 << 20,
            writer_bytes: 256 << 20,
            open_files: session::open_file_budget(),
        }
    }
}

impl Limits {
    /// These limits split between `writers` writers working at once.
    fn shared_by(self, writers: u32) -> Limits {
        let writers = writers.max(1) as usize;
        Limits {
            pending_rows: (self.pending_rows / writers).max(1),
            writer_bytes: self.writer_bytes / writers,
            open_files: (self.open_files / writers).max(1),
        }
    }
}

impl FreshFiles {
    fn new(
        version: PathBuf,
        schema: SchemaRef,
        partition_by: Option<PartitionBy>,
        limits: Limits,
        numbers: FileNumbers,
    ) -> Self {
        FreshFiles {
            version,
            schema,
            partition_by,
            limits,
            numbers,
            pending: Vec::new(),
            pending_rows: 0,
            files: BTreeMap::new(),
            writes: 0,
        }
    }

    fn push(&mut self, batch: RecordBatch) -> Result<()> {
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= self.limits.pending_rows {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Split the gathered rows by partition and write each partition's rows.
    fn write_pending(&mut self) -> Result<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let batch = concat_batches(&self.schema, self.pending.iter())
            .map_err(|e| Error::execution(Diagnostic::new(e.to_string())))?;
        self.pending.clear();
        self.pending_rows = 0;
        match &self.partition_by {
            Some(partition) => {
                for (key, rows) in partitions::split(&batch, partition)? {
                    self.write(Some(key), &rows)?;
                }
            }
            None => self.write(None, &batch)?,
        }
        self.bound_writer_memory()
    }

    fn write(&mut self, partition: Option<PartitionKey>, rows: &RecordBatch) -> Result<()> {
        let open = self.files.values().filter(|f| f.writer.is_some()).count();
        let needs_open = self
            .files
            .get(&partition)
            .is_none_or(|f| f.writer.is_none());
        if needs_open && open >= self.limits.open_files {
            self.close_oldest()?;
        }
        self.writes += 1;
        let file = self.files.entry(partition.clone()).or_default();
        file.last_write = self.writes;
        if file.writer.is_none() {
            let seq = file
                .closed
                .checked_mul(self.numbers.step)
                .and_then(|n| n.checked_add(self.numbers.first))
                .ok_or_else(|| {
                    Error::execution(Diagnostic::new(
                        "an incremental build ran out of file numbers for one partition",
                    ))
                })?;
            let path = self
                .version
                .join(TableFile::name_for(partition.as_ref(), seq));
            let writer = open_writer(&path, &self.schema)?;
            file.writer = Some((path, writer));
        }
        if let Some((path, writer)) = &mut file.writer {
            writer.write(rows).map_err(|e| parquet_error(path, &e))?;
        }
        Ok(())
    }

    /// Close the file written longest ago; its partition continues in a new file.
    fn close_oldest(&mut self) -> Result<()> {
        let oldest = self
            .files
            .values_mut()
            .filter(|f| f.writer.is_some())
            .min_by_key(|f| f.last_write);
        if let Some(file) = oldest
            && let Some((path, writer)) = file.writer.take()
        {
            writer.close().map_err(|e| parquet_error(&path, &e))?;
            file.closed += 1;
        }
        Ok(())
    }

    /// Flush row groups, largest first, while the writers buffer too much.
    fn bound_writer_memory(&mut self) -> Result<()> {
        let mut sizes: Vec<(usize, Option<PartitionKey>)> = self
            .files
            .iter()
            .filter_map(|(key, f)| {
                f.writer
                    .as_ref()
                    .map(|(_, w)| (w.memory_size(), key.clone()))
            })
            .collect();
        let mut total: usize = sizes.iter().map(|(size, _)| size).sum();
        if total <= self.limits.writer_bytes {
            return Ok(());
        }
        sizes.sort_unstable_by_key(|(size, _)| std::cmp::Reverse(*size));
        for (size, key) in sizes {
            if total <= self.limits.writer_bytes / 2 {
                break;
            }
            if let Some(PartitionFile {
                writer: Some((path, writer)),
                ..
            }) = self.files.get_mut(&key)
            {
                writer.flush().map_err(|e| parquet_error(path, &e))?;
            }
            total -= size;
        }
        Ok(())
    }

    /// Write what is gathered and close every file.
    fn finish(mut self) -> Result<()> {
        self.write_pending()?;
        for file in self.files.into_values() {
            if let Some((path, writer)) = file.writer {
                writer.close().map_err(|e| parquet_error(&path, &e))?;
            }
        }
        Ok(())
    }
}

fn open_writer(path: &Path, schema: &SchemaRef) -> Result<ArrowWriter<File>> {
    let file = File::create(path).map_err(|e| Error::io("create", path, e))?;
    let properties = session::parquet_properties(schema);
    ArrowWriter::try_new(file, Arc::clone(schema), Some(properties))
        .map_err(|e| parquet_error(path, &e))
}

/// Apply `batch` to the table in `old`, writing the new version into `version`.
fn apply(
    node: &CompiledNode,
    incremental: &IncrementalBuild,
    old: &Path,
    version: &Path,
    batch: &RecordBatch,
) -> Result<()> {
    let settings = &incremental.settings;
    let files = partitions::list(old)?;
    let table_schema = match files.first() {
        Some(file) => schema_change::nullable(read_schema(&old.join(&file.name))?.as_ref()),
        None => batch.schema(),
    };
    let (schema, diff) = schema_change::resolve(
        &node.name,
        &table_schema,
        &batch.schema(),
        settings.on_schema_change,
    )?;
    let batch = schema_change::align(batch, &schema)?;
    // New columns: the rows already stored are rewritten with NULLs in them.
    let rewrite_all = !diff.added.is_empty();
    let carry = |file: &TableFile| -> Result<()> {
        let from = old.join(&file.name);
        let to = version.join(&file.name);
        if rewrite_all {
            let rows = read(&from, &schema)?;
            write(version, &file.name, &rows)
        } else {
            link_or_copy(&from, &to)
        }
    };
    let grouped: BTreeMap<PartitionKey, RecordBatch> = match &settings.partition_by {
        Some(partition) => partitions::split(&batch, partition)?,
        None => BTreeMap::new(),
    };
    match settings.strategy {
        Strategy::Append => {
            files.iter().try_for_each(carry)?;
            match &settings.partition_by {
                Some(_) => {
                    for (key, rows) in &grouped {
                        let seq = partitions::next_seq(&files, Some(key));
                        write(version, &TableFile::name_for(Some(key), seq), rows)?;
                    }
                }
                None => {
                    let seq = partitions::next_seq(&files, None);
                    write(version, &TableFile::name_for(None, seq), &batch)?;
                }
            }
        }
        Strategy::InsertOverwrite => {
            // Rows whose partition is NULL are added, as BigQuery does (NULL is never "in" a list).
            let replaced: BTreeSet<&PartitionKey> =
                grouped.keys().filter(|k| k.is_some()).collect();
            for file in &files {
                if !file
                    .partition
                    .as_ref()
                    .is_some_and(|k| replaced.contains(k))
                {
                    carry(file)?;
                }
            }
            for (key, rows) in &grouped {
                let seq = match key {
                    Some(_) => 0,
                    None => partitions::next_seq(&files, Some(key)),
                };
                write(version, &TableFile::name_for(Some(key), seq), rows)?;
            }
        }
        Strategy::Merge => merge(
            node,
            &settings.unique_key,
            &files,
            old,
            version,
            &schema,
            &batch,
            &grouped,
            settings.partition_by.is_some(),
            &carry,
        )?,
    }
    Ok(())
}

/// `merge`: the touched partitions (every file when unpartitioned) lose the
/// rows whose key is in the batch and gain the batch's rows. Partitions are
/// rewritten in parallel, each on its own.
#[allow(clippy::too_many_arguments)]
fn merge(
    node: &CompiledNode,
    unique_key: &[String],
    files: &[TableFile],
    old: &Path,
    version: &Path,
    schema: &SchemaRef,
    batch: &RecordBatch,
    grouped: &BTreeMap<PartitionKey, RecordBatch>,
    partitioned: bool,
    carry: &dyn Fn(&TableFile) -> Result<()>,
) -> Result<()> {
    let keys = KeyColumns::new(node, unique_key, schema)?;
    let incoming_rows = keys.rows(batch)?;
    let incoming = keys.set(batch, &incoming_rows);
    let rewrite = |key: Option<&PartitionKey>, stored: &[&TableFile], new: &RecordBatch| {
        let mut parts = Vec::with_capacity(stored.len() + 1);
        for file in stored {
            parts.push(keys.without(&read(&old.join(&file.name), schema)?, &incoming)?);
        }
        parts.push(new.clone());
        let all = concat_batches(schema, parts.iter()).map_err(|e| failed(node, &e.to_string()))?;
        let seq = match key {
            Some(Some(_)) | None => 0,
            Some(null) => partitions::next_seq(files, Some(null)),
        };
        write(version, &TableFile::name_for(key, seq), &all)
    };
    if !partitioned {
        let stored: Vec<&TableFile> = files.iter().collect();
        return rewrite(None, &stored, batch);
    }
    // As on BigQuery, only rows in the batch's (non-NULL) partitions are
    // matched; rows with a NULL partition are added as a new file.
    let mut stored: BTreeMap<&PartitionKey, Vec<&TableFile>> = BTreeMap::new();
    for file in files {
        match &file.partition {
            Some(key) if key.is_some() && grouped.contains_key(key) => {
                stored.entry(key).or_default().push(file)
            }
            _ => carry(file)?,
        }
    }
    let work: Vec<(&PartitionKey, &RecordBatch)> = grouped.iter().collect();
    crate::parallel::map(&work, |(key, rows)| {
        let in_partition = match key {
            Some(_) => stored.get(key).map(Vec::as_slice).unwrap_or_default(),
            None => &[],
        };
        rewrite(Some(key), in_partition, rows)
    })
    .into_iter()
    .collect()
}

/// The `unique_key` columns of a table, compared as Arrow rows.
struct KeyColumns {
    indices: Vec<usize>,
    converter: RowConverter,
}

impl KeyColumns {
    fn new(node: &CompiledNode, unique_key: &[String], schema: &SchemaRef) -> Result<Self> {
        let mut indices = Vec::new();
        let mut fields = Vec::new();
        for column in unique_key {
            let index = schema
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(column))
                .ok_or_else(|| {
                    Error::config(
                        Diagnostic::new(format!(
                            "model `{}`: unique_key column `{column}` is not a column of the model",
                            node.name
                        ))
                        .at(node.defined_at.clone())
                        .help(crate::error::suggestion(
                            column,
                            schema.fields().iter().map(|f| f.name().as_str()),
                            "column",
                        )),
                    )
                })?;
            indices.push(index);
            fields.push(SortField::new(schema.field(index).data_type().clone()));
        }
        let converter = RowConverter::new(fields)
            .map_err(|e| Error::execution(Diagnostic::new(e.to_string())))?;
        Ok(KeyColumns { indices, converter })
    }

    fn columns(&self, batch: &RecordBatch) -> Vec<ArrayRef> {
        self.indices
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect()
    }

    /// Whether row `i` has a NULL key part (NULL never equals anything, as in SQL).
    fn has_null(columns: &[ArrayRef], i: usize) -> bool {
        columns.iter().any(|c| c.is_null(i))
    }

    /// The keys of `batch`, one comparable byte string per row.
    fn rows(&self, batch: &RecordBatch) -> Result<Rows> {
        self.converter
            .convert_columns(&self.columns(batch))
            .map_err(|e| Error::execution(Diagnostic::new(e.to_string())))
    }

    /// The keys of `batch` (rows with a NULL key part left out), borrowed
    /// from its [`Self::rows`].
    fn set<'r>(&self, batch: &RecordBatch, rows: &'r Rows) -> HashSet<&'r [u8]> {
        let columns = self.columns(batch);
        (0..batch.num_rows())
            .filter(|&i| !Self::has_null(&columns, i))
            .map(|i| rows.row(i).data())
            .collect()
    }

    /// `batch` without the rows whose key is in `keys`.
    fn without(&self, batch: &RecordBatch, keys: &HashSet<&[u8]>) -> Result<RecordBatch> {
        let columns = self.columns(batch);
        let rows = self.rows(batch)?;
        let keep: BooleanArray = (0..batch.num_rows())
            .map(|i| Some(Self::has_null(&columns, i) || !keys.contains(rows.row(i).data())))
            .collect();
        filter_record_batch(batch, &keep)
            .map_err(|e| Error::execution(Diagnostic::new(e.to_string())))
    }
}

pub(super) fn read_schema(path: &Path) -> Result<SchemaRef> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(path, &e))?;
    Ok(builder.schema().clone())
}

/// The rows of one data file, lined up with `schema`.
pub(super) fn read(path: &Path, schema: &SchemaRef) -> Result<RecordBatch> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| parquet_error(path, &e))?;
    let mut batches = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| parquet_error(path, &e))?;
        batches.push(schema_change::align(&batch, schema)?);
    }
    concat_batches(schema, batches.iter()).map_err(|e| parquet_error(path, &e))
}

/// Write `batch` as `version/name`.
///
/// Like every local table write, files are not synced one by one (that costs
/// seconds for a table of hundreds of daily partitions); the version folder
/// is synced before `CURRENT` points at it.
pub(super) fn write(version: &Path, name: &str, batch: &RecordBatch) -> Result<()> {
    let path = version.join(name);
    let mut writer = open_writer(&path, &batch.schema())?;
    writer.write(batch).map_err(|e| parquet_error(&path, &e))?;
    writer
        .close()
        .map(|_| ())
        .map_err(|e| parquet_error(&path, &e))
}

/// An unchanged file joins the new version as a hard link (a copy where links fail).
pub(super) fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| Error::io("copy", from, e))
}

fn parquet_error(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::execution(Diagnostic::new(format!(
        "cannot use {}: {e}",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, Int64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    /// More partitions than files may stay open, rows of every partition
    /// spread over several batches: every row lands in its partition's
    /// files, none twice.
    #[test]
    fn fresh_files_keep_every_row_in_its_partition() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("day", DataType::Date32, true),
        ]));
        let limits = Limits {
            pending_rows: 100,
            writer_bytes: 1,
            open_files: 16,
        };
        let days = 40;
        let dir = tempfile::tempdir().unwrap();
        let partition = PartitionBy {
            field: "day".into(),
            data_type: "date".into(),
            granularity: "day".into(),
        };
        // Two writers share the folder, as two output partitions do.
        let mut writers: Vec<FreshFiles> = (0..2)
            .map(|first| {
                FreshFiles::new(
                    dir.path().to_path_buf(),
                    Arc::clone(&schema),
                    Some(partition.clone()),
                    limits,
                    FileNumbers { first, step: 2 },
                )
            })
            .collect();
        let mut id = 0;
        for round in 0..6 {
            let ids: Vec<i64> = (id..id + i64::from(days) * 2).collect();
            id += i64::from(days) * 2;
            let day: Vec<i32> = ids.iter().map(|i| 20_000 + (*i as i32 % days)).collect();
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(Date32Array::from(day)),
                ],
            )
            .unwrap();
            writers[round % 2].push(batch).unwrap();
        }
        for files in writers {
            files.finish().unwrap();
        }

        let listed = partitions::list(dir.path()).unwrap();
        let mut seen = Vec::new();
        for file in &listed {
            let rows = read(&dir.path().join(&file.name), &schema).unwrap();
            let key = file.partition.clone().flatten().unwrap();
            let (ids, day) = (
                rows.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap(),
                rows.column(1)
                    .as_any()
                    .downcast_ref::<Date32Array>()
                    .unwrap(),
            );
            for i in 0..rows.num_rows() {
                let date = day.value_as_date(i).unwrap().to_string();
                assert_eq!(date, key, "{}", file.name);
                seen.push(ids.value(i));
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..id).collect::<Vec<_>>());
        let partitions: BTreeSet<_> = listed.iter().map(|f| f.partition.clone()).collect();
        assert_eq!(partitions.len(), days as usize);
        // Closed for others and continued in a further file of the same
        // writer; both writers wrote every partition.
        assert!(listed.iter().any(|f| f.seq > 1), "{listed:?}");
        assert!(listed.iter().any(|f| f.seq % 2 == 1), "{listed:?}");
    }

    #[test]
    fn an_empty_fresh_build_still_records_its_columns() {
        let schema: SchemaRef =
            Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
        let dir = tempfile::tempdir().unwrap();
        record_columns(dir.path(), &schema).unwrap();
        let listed = partitions::list(dir.path()).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            read_schema(&dir.path().join(&listed[0].name))
                .unwrap()
                .fields()
                .len(),
            1
        );
    }
}
