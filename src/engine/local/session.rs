//! The DataFusion session the local engine runs in, and small Arrow/Parquet
//! helpers around it.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::TableParquetOptions;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::LocalSettings;
use crate::error::{Diagnostic, Error, Result};
use crate::project::ColumnDef;

/// The local engine's memory pool when the profile sets no `memory_limit`:
/// what sorts, aggregates and joins may hold before they spill to disk (the
/// process needs some more for scans, writers and batches in flight).
pub const DEFAULT_MEMORY_LIMIT: usize = 1 << 30;

/// A session with BigQuery functions and predictable types.
pub fn context(settings: &LocalSettings) -> Result<SessionContext> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let config = SessionConfig::new()
        .with_target_partitions(cores)
        .with_information_schema(true)
        .set_bool("datafusion.sql_parser.enable_ident_normalization", true)
        .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false)
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        );
    // Sorts, aggregates and joins share a bounded pool and spill beyond it.
    // Fair shares: each spilling operator may hold an even share, so a
    // build's concurrent models and tests do not starve one another (a
    // first-come pool failed the example's build at 1M customers). The cost:
    // an operator handed one batch larger than its share fails, and the error
    // says to raise `memory_limit`; the one operator that emits such batches,
    // a whole-input window, is followed by a rechunk (`super::rechunk`).
    let limit = settings.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT);
    let mut runtime =
        RuntimeEnvBuilder::new().with_memory_pool(Arc::new(FairSpillPool::new(limit)));
    // A target's spill files go next to its tables (the system's temporary
    // folder can be memory-backed); where that folder cannot be made, and for
    // a scratch engine, DataFusion's default.
    if let Some(spill) = &settings.spill_dir
        && std::fs::create_dir_all(spill).is_ok()
    {
        runtime = runtime.with_temp_file_path(spill);
    }
    let runtime = runtime.build_arc().map_err(|e| {
        Error::execution(Diagnostic::new(format!(
            "cannot start the local engine: {e}"
        )))
    })?;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(super::rechunk::RechunkWindowOutput))
        .with_query_planner(Arc::new(super::planner::CohortQueryPlanner))
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::sql::functions::register_bigquery_functions(&ctx);
    ctx.register_udaf(super::first_value::FirstValue::udaf());
    ctx.add_optimizer_rule(Arc::new(super::first_row::FirstRowPerKey));
    ctx.add_optimizer_rule(Arc::new(super::repeated_keys::RepeatedKeysRule));
    Ok(ctx)
}

/// A session for the engine's own tests: a pool of `memory_limit` (the
/// default without one), DataFusion's temporary files.
#[cfg(test)]
pub fn test_context(memory_limit: Option<usize>) -> SessionContext {
    let settings = LocalSettings {
        root: std::env::temp_dir(),
        memory_limit,
        spill_dir: None,
        as_of: None,
        full_refresh: false,
    };
    match context(&settings) {
        Ok(ctx) => ctx,
        Err(e) => panic!("cannot start a test session: {e}"),
    }
}

/// How many Parquet files the first build of an incremental table may keep
/// open at once (one per partition being written, say a day of sessions):
/// half of the process's open-file limit left after a reserve for reads and
/// spill files, between 64 and 4,096. The `cohort` command raises its soft
/// limit to the hard one at start, so a table of a few years of days keeps
/// one file per day.
pub fn open_file_budget() -> usize {
    let soft = crate::open_files::soft_limit().unwrap_or(1024);
    (soft.saturating_sub(256) / 2).clamp(64, 4096)
}

/// The row count DataFusion reports after a write.
pub fn written_rows(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter_map(|b| b.column(0).as_any().downcast_ref::<UInt64Array>())
        .flat_map(|a| a.iter().flatten())
        .sum()
}

/// The Parquet settings of the files the local engine writes itself
/// (incremental tables): LZ4, fast to write and to read back; dictionary
/// encoding only for text columns, where values repeat (for ids and
/// timestamps it would intern every value for nothing); page statistics, so
/// later reads skip what a filter excludes.
pub fn parquet_properties(schema: &Schema) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        .set_dictionary_enabled(false);
    for field in schema.fields() {
        if is_text(field.data_type()) {
            builder = builder
                .set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), true);
        }
    }
    builder.build()
}

/// [`parquet_properties`] for the tables DataFusion writes (`table`
/// models), on top of the session's own writer options `base`.
pub fn table_parquet_options(
    mut base: TableParquetOptions,
    schema: &Schema,
) -> TableParquetOptions {
    base.global.compression = Some("lz4_raw".to_string());
    base.global.dictionary_enabled = Some(false);
    for field in schema.fields() {
        if is_text(field.data_type()) {
            base.column_specific_options
                .entry(field.name().clone())
                .or_default()
                .dictionary_enabled = Some(true);
        }
    }
    base
}

/// Text columns: the ones whose values repeat enough for a dictionary.
fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// A Parquet file with `schema` and no rows (DataFusion writes nothing for empty results).
pub fn write_empty_parquet(path: &Path, schema: SchemaRef) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io("create", path, e))?;
    let writer = ArrowWriter::try_new(file, schema, None).map_err(|e| {
        Error::execution(Diagnostic::new(format!(
            "cannot write {}: {e}",
            path.display()
        )))
    })?;
    writer.close().map(|_| ()).map_err(|e| {
        Error::execution(Diagnostic::new(format!(
            "cannot write {}: {e}",
            path.display()
        )))
    })
}

/// The Arrow schema of a CSV source whose columns all declare a type.
pub fn csv_schema(columns: &[ColumnDef]) -> Option<Schema> {
    if columns.is_empty() {
        return None;
    }
    let fields = columns
        .iter()
        .map(|c| {
            let ty = arrow_type(c.data_type.as_deref()?)?;
            Some(Field::new(&c.name, ty, true))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Schema::new(fields))
}

/// The Arrow schema of a source from its declared columns (names lower
/// case, as the SQL reads them), or why it has none: no columns declared, a
/// column without `type:`, or a type with no local equivalent.
pub fn declared_schema(columns: &[ColumnDef]) -> std::result::Result<Schema, String> {
    if columns.is_empty() {
        return Err("declares no columns".to_string());
    }
    let mut fields = Vec::with_capacity(columns.len());
    for column in columns {
        let Some(declared) = column.data_type.as_deref() else {
            return Err(format!("column `{}` has no declared `type:`", column.name));
        };
        let ty = arrow_type(declared).ok_or_else(|| {
            format!(
                "column `{}` is declared as `{declared}`, a type unit tests cannot use yet",
                column.name
            )
        })?;
        fields.push(Field::new(column.name.to_lowercase(), ty, true));
    }
    Ok(Schema::new(fields))
}

/// The local Arrow type of a BigQuery scalar type name.
pub fn arrow_type(bigquery: &str) -> Option<DataType> {
    Some(match bigquery.trim().to_ascii_uppercase().as_str() {
        "INT64" | "INT" | "INTEGER" | "BIGINT" => DataType::Int64,
        "FLOAT64" | "FLOAT" => DataType::Float64,
        "NUMERIC" | "DECIMAL" => DataType::Decimal128(38, 9),
        "BOOL" | "BOOLEAN" => DataType::Boolean,
        "STRING" => DataType::Utf8,
        "BYTES" => DataType::Binary,
        "DATE" => DataType::Date32,
        "DATETIME" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "TIMESTAMP" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        _ => return None,
    })
}

/// DataFusion error text without its layered prefixes.
pub fn clean_message(message: &str) -> String {
    let mut text = message.trim();
    for prefix in [
        "External error: ",
        "Execution error: ",
        "Error during planning: ",
        "Arrow error: ",
        "Internal error: ",
    ] {
        while let Some(rest) = text.strip_prefix(prefix) {
            text = rest;
        }
    }
    if text.contains("Resources exhausted") {
        // DataFusion's memory pool refused an operator that cannot spill
        // (or a sort that cannot spill any further); its own advice names
        // settings a cohort user does not have.
        return format!(
            "{text} (the local engine's memory pool is `memory_limit`, default {}MB: \
             raise it in the profile's target, e.g. `memory_limit: 4GB`)",
            DEFAULT_MEMORY_LIMIT >> 20
        );
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tables_are_written_with_lz4_and_dictionaries_for_text_only() {
        use datafusion::dataframe::DataFrameWriteOptions;
        use datafusion::parquet::basic::Encoding;
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

        let dir = tempfile::tempdir().unwrap();
        let settings = LocalSettings {
            root: dir.path().to_path_buf(),
            memory_limit: None,
            spill_dir: None,
            as_of: None,
            full_refresh: false,
        };
        let ctx = context(&settings).unwrap();
        let frame = ctx
            .sql(
                "select value as id, 'c' || cast(value % 3 as varchar) as name from range(0, 1000)",
            )
            .await
            .unwrap();
        let schema = frame.schema().as_arrow().clone();
        let options = table_parquet_options(ctx.state().default_table_options().parquet, &schema);
        let file = dir.path().join("t.parquet");
        frame
            .write_parquet(
                &file.to_string_lossy(),
                DataFrameWriteOptions::new().with_single_file_output(true),
                Some(options),
            )
            .await
            .unwrap();

        let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
        let group = reader.metadata().row_group(0);
        let (id, name) = (group.column(0), group.column(1));
        assert_eq!(id.compression(), Compression::LZ4_RAW);
        assert_eq!(name.compression(), Compression::LZ4_RAW);
        let dictionary = |c: &datafusion::parquet::file::metadata::ColumnChunkMetaData| {
            c.encodings().any(|e| e == Encoding::RLE_DICTIONARY)
        };
        assert!(!dictionary(id), "ids are not interned");
        assert!(dictionary(name), "text is");
    }

    #[test]
    fn an_exhausted_memory_pool_says_how_to_raise_it() {
        let message = clean_message(
            "External error: Resources exhausted: Failed to allocate additional 1 KB for CrossJoinExec",
        );
        assert!(
            message.starts_with("Resources exhausted: Failed"),
            "{message}"
        );
        assert!(message.contains("memory_limit: 4GB"), "{message}");
        // A sort that ran out while spilling: DataFusion's advice first.
        let sort = clean_message(
            "External error: Not enough memory to continue external sort. Consider increasing \
             the memory limit config: 'datafusion.runtime.memory_limit'.\ncaused by\n\
             Resources exhausted: Failed to allocate additional 475.9 MB for ExternalSorter[0]",
        );
        assert!(sort.contains("memory_limit: 4GB"), "{sort}");
        assert_eq!(clean_message("Execution error: boom"), "boom");
    }

    #[test]
    fn maps_bigquery_types() {
        assert_eq!(arrow_type("int64"), Some(DataType::Int64));
        assert_eq!(
            arrow_type("TIMESTAMP"),
            Some(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into())
            ))
        );
        assert_eq!(arrow_type("GEOGRAPHY"), None);
    }

    #[test]
    fn declared_schemas_need_every_column_typed() {
        let column = |name: &str, ty: Option<&str>| ColumnDef {
            name: name.into(),
            expr: None,
            data_type: ty.map(Into::into),
            description: None,
            tests: Vec::new(),
        };
        let schema = declared_schema(&[column("ID", Some("int64"))]).unwrap();
        assert_eq!(schema.field(0).name(), "id");
        assert_eq!(schema.field(0).data_type(), &DataType::Int64);
        assert_eq!(declared_schema(&[]).unwrap_err(), "declares no columns");
        let untyped = declared_schema(&[column("id", Some("INT64")), column("note", None)]);
        assert_eq!(
            untyped.unwrap_err(),
            "column `note` has no declared `type:`"
        );
        let other = declared_schema(&[column("area", Some("GEOGRAPHY"))]).unwrap_err();
        assert!(other.contains("`GEOGRAPHY`"), "{other}");
    }

    #[test]
    fn cleans_layered_errors() {
        assert_eq!(
            clean_message("External error: Execution error: boom"),
            "boom"
        );
    }
}
