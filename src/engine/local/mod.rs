//! The embedded engine: Apache DataFusion running the compiled BigQuery SQL
//! (through [`crate::sql`]) over Parquet files, with tables stored by
//! [`storage`] and swapped in atomically.

mod daily;
mod first_row;
mod first_value;
mod fixtures;
mod incremental;
mod key_pairs;
pub mod partitions;
mod planner;
mod preflight;
mod rechunk;
mod repeated_keys;
pub mod schema_change;
pub mod session;
pub mod storage;

pub use daily::DayStats;
pub use fixtures::UnitOutcome;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::datatypes::Schema;
use datafusion::catalog::TableProvider;
use datafusion::catalog::memory::{MemTable, MemorySchemaProvider};
use datafusion::catalog::view::ViewTable;
use datafusion::common::TableReference;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::file_format::options::ReadOptions;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext};
use futures::future::BoxFuture;

use super::{Engine, Materialized, QueryResult};
use crate::compile::{CompiledNode, CompiledProject, CompiledSource, Materialization, Relation};
use crate::error::{Diagnostic, Error, Result};
use crate::project::FileFormat;
use crate::sql::{SqlError, TranslateOptions};
use storage::{DATA_FILE, Storage, Stored, VIEW_FILE};

/// DataFusion over local Parquet files.
pub struct LocalEngine {
    ctx: SessionContext,
    storage: Storage,
    translate: TranslateOptions,
    /// `--full-refresh`: incremental models are rebuilt from scratch.
    full_refresh: bool,
    /// Sources whose files are missing: relation → expected path.
    missing_sources: BTreeMap<(String, String), PathBuf>,
    /// With [`LocalEngine::open_declared`]: sources that cannot be typed
    /// from their YAML, with the reason.
    untyped_sources: BTreeMap<(String, String), String>,
}

impl std::fmt::Debug for LocalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEngine")
            .field("root", &self.storage.root())
            .finish_non_exhaustive()
    }
}

/// Settings of the local engine.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// Where tables live (absolute).
    pub root: PathBuf,
    /// Memory limit in bytes; sorts, aggregates and joins spill beyond it.
    pub memory_limit: Option<usize>,
    /// Where they spill (`root/.spill` for a target's engine). `None`:
    /// DataFusion's own temporary files in the system's temporary folder,
    /// removed when done (a scratch engine leaves nothing behind).
    pub spill_dir: Option<PathBuf>,
    /// The date `CURRENT_DATE()` returns (the project's `as_of`).
    pub as_of: Option<chrono::NaiveDate>,
    /// Rebuild incremental models from scratch (`--full-refresh`).
    pub full_refresh: bool,
}

impl LocalEngine {
    /// Open the store, register every source file and every relation already built.
    pub async fn open(settings: &LocalSettings, compiled: &CompiledProject) -> Result<LocalEngine> {
        let mut engine = LocalEngine::empty(settings)?;
        for source in compiled.sources.values() {
            engine.register_source(source).await?;
        }
        for name in compiled.graph.order() {
            if let Some(node) = compiled.nodes.get(name) {
                engine.register_existing(&node.relation).await?;
            }
        }
        engine.register_stored_failures(compiled).await?;
        // The daily segment tables (`cohort segments refresh`) are readable too.
        let daily = crate::compile::segment::daily::DailyTables::new(
            compiled.target.project().map(str::to_string),
            compiled.target.dataset(),
        );
        for (relation, _) in daily.all() {
            engine.register_existing(relation).await?;
        }
        Ok(engine)
    }

    /// An engine for unit tests when the target is a warehouse: nothing is
    /// read from `settings.root` (nor written, since unit tests run on
    /// scratch catalogs), no source file is read, and each source is an
    /// empty table typed from its declared columns (`columns: - {name,
    /// type}`). A source that cannot be typed that way is remembered, and
    /// the unit tests that need it fail saying why.
    pub async fn open_declared(
        settings: &LocalSettings,
        compiled: &CompiledProject,
    ) -> Result<LocalEngine> {
        let mut engine = LocalEngine::empty(settings)?;
        for (key, source) in &compiled.sources {
            engine.ensure_schema(&source.relation.dataset)?;
            match session::declared_schema(&source.table.columns) {
                Ok(schema) => {
                    let table =
                        MemTable::try_new(Arc::new(schema), vec![Vec::new()]).map_err(|e| {
                            Error::execution(Diagnostic::new(format!(
                                "cannot register source `{}.{}`: {e}",
                                key.0, key.1
                            )))
                        })?;
                    engine.register_provider(&source.relation, Arc::new(table))?;
                }
                Err(problem) => {
                    engine.untyped_sources.insert(key.clone(), problem);
                }
            }
        }
        Ok(engine)
    }

    fn empty(settings: &LocalSettings) -> Result<LocalEngine> {
        Ok(LocalEngine {
            ctx: session::context(settings)?,
            storage: Storage::new(settings.root.clone()),
            translate: TranslateOptions {
                current_date: settings.as_of,
            },
            full_refresh: settings.full_refresh,
            missing_sources: BTreeMap::new(),
            untyped_sources: BTreeMap::new(),
        })
    }

    /// Tables of failing test rows (`--store-failures`) are readable too.
    async fn register_stored_failures(&self, compiled: &CompiledProject) -> Result<()> {
        let dataset = format!("{}_test_failures", compiled.target.dataset());
        let Ok(entries) = std::fs::read_dir(self.storage.root().join(&dataset)) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let relation = Relation {
                project: None,
                dataset: dataset.clone(),
                name,
            };
            self.register_existing(&relation).await?;
        }
        Ok(())
    }

    /// The DataFusion session (for tests and tools).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    async fn register_source(&mut self, source: &CompiledSource) -> Result<()> {
        let relation = &source.relation;
        self.ensure_schema(&relation.dataset)?;
        let Some(path) = &source.local_path else {
            return Ok(());
        };
        if !path.exists() {
            self.missing_sources.insert(
                (source.table.source.clone(), source.table.name.clone()),
                path.clone(),
            );
            return Ok(());
        }
        let table = table_ref(relation);
        let location = listing_location(path);
        let result = match source.table.format {
            FileFormat::Parquet => {
                self.ctx
                    .register_parquet(table, &location, ParquetReadOptions::default())
                    .await
            }
            FileFormat::Csv => {
                let schema = session::csv_schema(&source.table.columns);
                let mut options = datafusion::prelude::CsvReadOptions::new().has_header(true);
                if let Some(schema) = &schema {
                    options = options.schema(schema);
                }
                self.ctx.register_csv(table, &location, options).await
            }
        };
        let fail = |e: &dyn std::fmt::Display| {
            Error::execution(
                Diagnostic::new(format!(
                    "cannot read source `{}.{}` from {}: {e}",
                    source.table.source,
                    source.table.name,
                    path.display()
                ))
                .at(source.table.defined_at.clone()),
            )
        };
        result.map_err(|e| fail(&e))?;
        self.lowercase_columns(relation).await.map_err(|e| fail(&e))
    }

    /// BigQuery resolves column names case-insensitively and the translation
    /// lowercases identifiers: expose a file whose columns have upper case
    /// (`CustomerID`) through a projection with lower-case names.
    async fn lowercase_columns(&self, relation: &Relation) -> datafusion::error::Result<()> {
        let table = table_ref(relation);
        let frame = self.ctx.table(table.clone()).await?;
        let fields = frame.schema().fields().clone();
        if fields.iter().all(|f| *f.name() == f.name().to_lowercase()) {
            return Ok(());
        }
        let mut seen = std::collections::BTreeSet::new();
        for f in fields.iter() {
            if !seen.insert(f.name().to_lowercase()) {
                return datafusion::common::plan_err!(
                    "columns differ only in case (`{}`); BigQuery treats them as the same column",
                    f.name()
                );
            }
        }
        let (state, plan) = frame.into_parts();
        let plan = crate::sql::lowercase_columns(plan)?;
        let view = DataFrame::new(state, plan).into_view();
        self.ctx.deregister_table(table.clone())?;
        self.ctx.register_table(table, view)?;
        Ok(())
    }

    async fn register_existing(&self, relation: &Relation) -> Result<()> {
        self.ensure_schema(&relation.dataset)?;
        match self.storage.current(relation)? {
            Some(Stored::Table(path)) => self.register_table_file(relation, &path).await,
            Some(Stored::View(sql)) => {
                // A view whose inputs changed shape no longer plans: leave it out until rebuilt.
                if let Ok(plan) = self.plan(&sql).await {
                    self.register_provider(relation, Arc::new(ViewTable::new(plan, Some(sql))))?;
                    self.resolve_case_insensitively(relation).await?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    async fn register_table_file(&self, relation: &Relation, path: &Path) -> Result<()> {
        let table = table_ref(relation);
        let _ = self.ctx.deregister_table(table.clone());
        let schema = self.version_schema(path).await?;
        let mut options = ParquetReadOptions::default();
        if let Some(schema) = &schema {
            options = options.schema(schema);
        }
        self.ctx
            .register_parquet(table, listing_location(path), options)
            .await
            .map_err(|e| {
                Error::execution(Diagnostic::new(format!(
                    "cannot open table {relation} at {}: {e}",
                    path.display()
                )))
            })?;
        self.resolve_case_insensitively(relation).await
    }

    /// The schema of a table version cohort wrote, inferred by DataFusion
    /// from one of its files: every file of a version has the same columns
    /// (a new column rewrites them all), and DataFusion would otherwise read
    /// the footer of each file (a table of 800 daily partitions: 800 reads
    /// on every start). Only nullability may differ between files (a merge
    /// writes nullable columns), so with several files every column is
    /// taken as nullable, which is what merging their schemas could give at
    /// most. `None` for a version without a data file.
    async fn version_schema(&self, path: &Path) -> Result<Option<Schema>> {
        let (file, files) = if path.is_dir() {
            let files = partitions::list(path)?;
            match files.first() {
                Some(first) => (path.join(&first.name), files.len()),
                None => return Ok(None),
            }
        } else {
            (path.to_path_buf(), 1)
        };
        let infer = async {
            let url = ListingTableUrl::parse(file.to_string_lossy())?;
            let listing = ParquetReadOptions::default()
                .to_listing_options(&self.ctx.copied_config(), self.ctx.copied_table_options());
            listing.infer_schema(&self.ctx.state(), &url).await
        };
        let schema = infer.await.map_err(|e| {
            Error::execution(Diagnostic::new(format!(
                "cannot read the schema of {}: {e}",
                file.display()
            )))
        })?;
        Ok(Some(if files > 1 {
            schema_change::nullable(&schema).as_ref().clone()
        } else {
            schema.as_ref().clone()
        }))
    }

    /// A result column spelled `CustomerID` is still read as `customerid`.
    async fn resolve_case_insensitively(&self, relation: &Relation) -> Result<()> {
        self.lowercase_columns(relation).await.map_err(|e| {
            Error::execution(Diagnostic::new(format!("cannot register {relation}: {e}")))
        })
    }

    fn register_provider(
        &self,
        relation: &Relation,
        provider: Arc<dyn TableProvider>,
    ) -> Result<()> {
        let table = table_ref(relation);
        let _ = self.ctx.deregister_table(table.clone());
        self.ctx
            .register_table(table, provider)
            .map(|_| ())
            .map_err(|e| {
                Error::execution(Diagnostic::new(format!("cannot register {relation}: {e}")))
            })
    }

    fn ensure_schema(&self, dataset: &str) -> Result<()> {
        let catalog = self.ctx.catalog("datafusion").ok_or_else(|| {
            Error::execution(Diagnostic::new("the local engine has no default catalog"))
        })?;
        if catalog.schema(dataset).is_none() {
            catalog
                .register_schema(dataset, Arc::new(MemorySchemaProvider::new()))
                .map_err(|e| {
                    Error::execution(Diagnostic::new(format!(
                        "cannot create dataset {dataset}: {e}"
                    )))
                })?;
        }
        Ok(())
    }

    async fn plan(&self, sql: &str) -> Result<LogicalPlan, SqlError> {
        crate::sql::plan_query(&self.ctx.state(), sql, &self.translate).await
    }

    fn check_sources(&self, node: &CompiledNode) -> Result<()> {
        for key in &node.sources {
            if let Some(path) = self.missing_sources.get(key) {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "model `{}` reads source `{}.{}`, but {} does not exist",
                        node.name,
                        key.0,
                        key.1,
                        path.display()
                    ))
                    .at(node.defined_at.clone())
                    .help("generate sample data with `cohort sample-data --out DIR`, or point the source at your files, e.g. --vars '{data_dir: /path/to/parquet}'"),
                ));
            }
        }
        Ok(())
    }

    /// When sources have no files yet, say which, since a query reading them cannot plan.
    fn missing_sources_help(&self) -> Option<String> {
        if self.missing_sources.is_empty() {
            return None;
        }
        let list: Vec<String> = self
            .missing_sources
            .iter()
            .map(|((s, t), path)| format!("{s}.{t} ({})", path.display()))
            .collect();
        Some(format!(
            "these sources have no files yet: {}; build once (the example project generates sample data) or pass --vars '{{data_dir: /path}}'",
            list.join(", ")
        ))
    }

    async fn build(&self, node: &CompiledNode) -> Result<Materialized> {
        self.check_sources(node)?;
        // A node may live in a dataset of its own (e.g. stored test failures).
        self.ensure_schema(&node.relation.dataset)?;
        if node.materialization == Materialization::Incremental {
            return self.build_incremental(node).await;
        }
        let plan = self
            .plan(&node.sql)
            .await
            .map_err(|e| sql_error(node, &e))?;
        if node.config.contract.as_ref().is_some_and(|c| c.enforced) {
            let planned: Vec<(String, String)> = plan
                .schema()
                .fields()
                .iter()
                .map(|f| {
                    (
                        f.name().clone(),
                        super::values::bigquery_type(f.data_type()),
                    )
                })
                .collect();
            crate::testing::contract::check(node, &planned)?;
        }
        match node.materialization {
            Materialization::Table => self.build_table(node, plan).await,
            Materialization::View => self.build_view(node, plan).await,
            Materialization::Incremental => self.build_incremental(node).await,
        }
    }

    async fn build_table(&self, node: &CompiledNode, plan: LogicalPlan) -> Result<Materialized> {
        let version = self.storage.new_version(&node.relation)?;
        let file = version.join(DATA_FILE);
        let schema = Arc::new(plan.schema().as_arrow().clone());
        let state = self.ctx.state();
        let options =
            session::table_parquet_options(state.default_table_options().parquet, &schema);
        let frame = DataFrame::new(state, plan);
        let written = frame
            .write_parquet(
                &file.to_string_lossy(),
                DataFrameWriteOptions::new().with_single_file_output(true),
                Some(options),
            )
            .await;
        let rows = match written {
            Ok(batches) => session::written_rows(&batches),
            Err(e) => {
                self.storage.discard(&version);
                return Err(Error::execution(
                    Diagnostic::new(format!(
                        "model `{}` failed: {}",
                        node.name,
                        session::clean_message(&e.to_string())
                    ))
                    .at(node.defined_at.clone()),
                ));
            }
        };
        if !file.exists() {
            session::write_empty_parquet(&file, schema)?;
        }
        self.storage.publish(&node.relation, &version)?;
        self.register_table_file(&node.relation, &file).await?;
        Ok(Materialized { rows: Some(rows) })
    }

    async fn build_view(&self, node: &CompiledNode, plan: LogicalPlan) -> Result<Materialized> {
        let version = self.storage.new_version(&node.relation)?;
        let file = version.join(VIEW_FILE);
        if let Err(e) = std::fs::write(&file, &node.sql) {
            self.storage.discard(&version);
            return Err(Error::io("write", &file, e));
        }
        self.storage.publish(&node.relation, &version)?;
        self.register_provider(
            &node.relation,
            Arc::new(ViewTable::new(plan, Some(node.sql.clone()))),
        )?;
        self.resolve_case_insensitively(&node.relation).await?;
        Ok(Materialized { rows: None })
    }

    async fn run_query(&self, sql: &str, limit: Option<usize>) -> Result<QueryResult> {
        let started = Instant::now();
        let plan = self.plan(sql).await.map_err(|e| {
            let mut d = Diagnostic::new(e.to_string());
            if let (Some(line), Some(column)) = (e.line, e.column) {
                d.message = format!("{} (line {line}, column {column})", d.message);
            }
            // A missing table is most likely a source without files yet.
            if e.kind == crate::sql::SqlErrorKind::Plan
                && e.message.contains("not found")
                && let Some(help) = self.missing_sources_help()
            {
                d = d.help(help);
            }
            if e.kind == crate::sql::SqlErrorKind::Syntax {
                Error::config(d)
            } else {
                Error::execution(d)
            }
        })?;
        let mut frame = DataFrame::new(self.ctx.state(), plan);
        if let Some(limit) = limit {
            frame = frame
                .limit(0, Some(limit))
                .map_err(|e| Error::execution(Diagnostic::new(e.to_string())))?;
        }
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await.map_err(|e| {
            Error::execution(Diagnostic::new(session::clean_message(&e.to_string())))
        })?;
        Ok(QueryResult {
            schema,
            batches,
            elapsed: started.elapsed(),
        })
    }
}

impl Engine for LocalEngine {
    fn materialize<'a>(&'a self, node: &'a CompiledNode) -> BoxFuture<'a, Result<Materialized>> {
        Box::pin(self.build(node))
    }

    fn query<'a>(
        &'a self,
        sql: &'a str,
        limit: Option<usize>,
    ) -> BoxFuture<'a, Result<QueryResult>> {
        Box::pin(self.run_query(sql, limit))
    }
}

fn table_ref(relation: &Relation) -> TableReference {
    TableReference::partial(relation.dataset.as_str(), relation.name.as_str())
}

/// DataFusion lists folders when the location ends with `/`.
fn listing_location(path: &Path) -> String {
    let mut text = path.to_string_lossy().to_string();
    if path.is_dir() && !text.ends_with('/') {
        text.push('/');
    }
    text
}

fn sql_error(node: &CompiledNode, err: &SqlError) -> Error {
    let mut location = node.defined_at.clone();
    if let (Some(line), Some(column)) = (err.line, err.column)
        && node.path.extension().is_some_and(|e| e == "sql")
    {
        location.line = line;
        location.column = column;
    }
    let diagnostic = Diagnostic::new(format!("model `{}`: {err}", node.name)).at(location);
    match err.kind {
        crate::sql::SqlErrorKind::Unsupported => Error::execution(
            diagnostic.help("this BigQuery feature has no local equivalent yet; build on a BigQuery target or rewrite the expression"),
        ),
        _ => Error::execution(diagnostic),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type};

    /// A version whose files differ in nullability (a merge writes nullable
    /// columns next to a first build's required ones) reads every row, and
    /// the NULLs are NULLs, whichever file the schema was read from.
    #[tokio::test]
    async fn a_version_of_several_files_keeps_the_nulls_of_any_file() {
        let dir = tempfile::tempdir().unwrap();
        let version = dir.path().join("v1");
        std::fs::create_dir_all(&version).unwrap();
        let write = |name: &str, nullable: bool, values: Vec<Option<i64>>| {
            let field = Field::new("x", DataType::Int64, nullable);
            let schema = Arc::new(Schema::new(vec![field]));
            let column = Arc::new(Int64Array::from(values));
            let batch = RecordBatch::try_new(schema, vec![column]).unwrap();
            incremental::write(&version, name, &batch).unwrap();
        };
        write(
            "partition-2026-11-20-00000.parquet",
            false,
            vec![Some(1), Some(2)],
        );
        write(
            "partition-2026-11-21-00000.parquet",
            true,
            vec![Some(3), None],
        );
        let engine = LocalEngine::empty(&LocalSettings {
            root: dir.path().to_path_buf(),
            memory_limit: None,
            spill_dir: None,
            as_of: None,
            full_refresh: false,
        })
        .unwrap();
        let relation = Relation {
            project: None,
            dataset: "analytics".into(),
            name: "events".into(),
        };
        engine.ensure_schema(&relation.dataset).unwrap();
        engine
            .register_table_file(&relation, &version)
            .await
            .unwrap();
        let batches = engine
            .ctx
            .sql("select count(*), count(x), sum(x) from analytics.events")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let value = |i: usize| batches[0].column(i).as_primitive::<Int64Type>().value(0);
        assert_eq!((value(0), value(1), value(2)), (4, 3, 6));
    }
}
