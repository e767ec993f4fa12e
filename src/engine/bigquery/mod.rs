//! The BigQuery engine: every compiled statement runs as a BigQuery job
//! through `gcp-bigquery-client` ([`jobs`]), against Google or, with
//! `api_base_url`, an emulator. Views and tables run their compiled
//! `CREATE OR REPLACE` (atomic on BigQuery); an incremental model whose
//! table exists runs its compiled MERGE / insert-overwrite / append script,
//! after its columns are checked against the table ([`schema_change`]).
//! Datasets are created when missing, in the profile's location; column
//! descriptions from YAML are applied after a build; a
//! `maximum_bytes_billed` budget is checked with a dry run before a
//! statement runs.

pub mod connect;
mod daily;
pub mod jobs;
pub mod load;
pub mod rows;
mod schema_change;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use gcp_bigquery_client::error::BQError;
use gcp_bigquery_client::model::dataset::Dataset;
use gcp_bigquery_client::model::get_query_results_parameters::GetQueryResultsParameters;
use gcp_bigquery_client::model::table::Table;
use tokio::sync::Mutex;

use super::{Engine, Materialized, QueryResult};
use crate::compile::{CompiledNode, IncrementalBuild, Materialization, Relation};
use crate::error::{Diagnostic, Error, Result};
use crate::profile::{BigQueryTarget, Target, TargetKind};
pub use jobs::{Finished, JobFailure, JobSettings, Jobs};

/// Default `job_timeout`: six hours, BigQuery's own limit for a query job.
const DEFAULT_JOB_TIMEOUT: Duration = Duration::from_secs(6 * 3600);
/// Attempts of a statement that fails transiently.
const ATTEMPTS: u32 = 4;
/// Rows fetched per results page.
const PAGE_ROWS: i32 = 10_000;

/// Settings of a BigQuery engine besides the profile's target.
#[derive(Debug, Clone, Default)]
pub struct BigQuerySettings {
    /// Rebuild incremental models from scratch (`--full-refresh`).
    pub full_refresh: bool,
    /// Labels every job with this run id (default: time and process id).
    pub run_id: Option<String>,
    /// First pause between polls and retries (default 200 ms).
    pub first_backoff: Option<Duration>,
}

/// One statement's dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    /// Bytes the statement would process.
    pub bytes: u64,
}

/// BigQuery (or an emulator of its REST API).
pub struct BigQueryEngine {
    jobs: Jobs,
    target_name: String,
    dataset_location: Option<String>,
    full_refresh: bool,
    /// Datasets known to exist.
    datasets: Mutex<BTreeSet<(String, String)>>,
}

impl std::fmt::Debug for BigQueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BigQueryEngine")
            .field("target", &self.target_name)
            .field("project", &self.jobs.settings().project)
            .finish_non_exhaustive()
    }
}

impl BigQueryEngine {
    /// Connect to the BigQuery target `target` (a configuration error for other targets).
    pub async fn open(target: &Target, settings: &BigQuerySettings) -> Result<BigQueryEngine> {
        let TargetKind::BigQuery(bq) = &target.kind else {
            return Err(Error::config(Diagnostic::new(format!(
                "target `{}` is not a BigQuery target",
                target.name
            ))));
        };
        let client = connect::client(bq, &target.name).await?;
        let run_id = settings.run_id.clone().unwrap_or_else(default_run_id);
        let job_settings = job_settings(bq, &target.name, settings)?;
        Ok(BigQueryEngine {
            jobs: Jobs::new(client, job_settings, run_id),
            target_name: target.name.clone(),
            dataset_location: bq.location.clone(),
            full_refresh: settings.full_refresh,
            datasets: Mutex::new(BTreeSet::new()),
        })
    }

    /// `error`'s text without the credentials' secrets.
    fn clean(&self, error: &dyn std::fmt::Display) -> String {
        self.jobs.settings().redactor.apply(&error.to_string())
    }

    /// This run's id (the `cohort_run_id` label of its jobs).
    pub fn run_id(&self) -> &str {
        self.jobs.run_id()
    }

    /// The GCP project jobs run in.
    pub fn project(&self) -> &str {
        &self.jobs.settings().project
    }

    /// Cancel the jobs still running (after an interrupt); returns their ids.
    pub async fn cancel_running(&self) -> Vec<String> {
        self.jobs.cancel_running().await
    }

    /// Can the credentials list the target's dataset? `Ok(false)` when it does not exist yet.
    pub async fn dataset_exists(&self, dataset: &str) -> Result<bool> {
        match self
            .jobs
            .client()
            .dataset()
            .get(self.project(), dataset)
            .await
        {
            Ok(_) => Ok(true),
            Err(BQError::ResponseError { error })
                if error.error.code == 404 =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::config(
                Diagnostic::new(format!(
                    "target `{}`: cannot read dataset {}.{dataset}: {}",
                    self.target_name,
                    self.project(),
                    self.clean(&e)
                ))
                .help("check the credentials and that they have roles/bigquery.dataViewer (and dataEditor to build) on the dataset, or roles/bigquery.user on the project"),
            )),
        }
    }

    /// Create `relation`'s dataset in the profile's location when missing.
    pub async fn ensure_dataset(&self, relation: &Relation) -> Result<()> {
        let project = relation
            .project
            .clone()
            .unwrap_or_else(|| self.project().to_string());
        let key = (project.clone(), relation.dataset.clone());
        let mut known = self.datasets.lock().await;
        if known.contains(&key) {
            return Ok(());
        }
        let api = self.jobs.client().dataset();
        if api.get(&project, &relation.dataset).await.is_err() {
            let mut dataset = Dataset::new(&project, &relation.dataset);
            dataset.location = self.dataset_location.clone();
            if let Err(e) = api.create(dataset).await {
                // Created meanwhile by someone else: fine.
                let exists = matches!(&e, gcp_bigquery_client::error::BQError::ResponseError { error } if error.error.code == 409);
                if !exists {
                    return Err(Error::execution(
                        Diagnostic::new(format!(
                            "cannot create dataset {project}.{}: {}",
                            relation.dataset,
                            self.clean(&e)
                        ))
                        .help("create it yourself, or grant the credentials roles/bigquery.dataEditor (bigquery.datasets.create) on the project"),
                    ));
                }
            }
        }
        known.insert(key);
        Ok(())
    }

    /// Dry-run `sql`: BigQuery validates it and says what it would process.
    pub async fn dry_run(&self, sql: &str, model: Option<&str>) -> Result<DryRun, JobFailure> {
        self.jobs.dry_run(sql, model).await.map(|f| DryRun {
            bytes: f.bytes_processed(),
        })
    }

    /// Whether `node` adds its batch to its existing table now (an
    /// incremental model whose table exists, without `--full-refresh`).
    async fn incremental_now<'a>(
        &self,
        node: &'a CompiledNode,
    ) -> Result<Option<&'a IncrementalBuild>> {
        if node.materialization == Materialization::Incremental
            && !self.full_refresh
            && let Some(incremental) = &node.incremental
            && self.table_exists(&node.relation).await?
        {
            return Ok(Some(incremental));
        }
        Ok(None)
    }

    /// Dry-run `node`'s SELECT as it would run now (its incremental batch
    /// when the table exists): valid or BigQuery's error, and its bytes.
    pub async fn dry_run_node(&self, node: &CompiledNode) -> Result<DryRun> {
        let select = self.costed_select(node).await?;
        self.dry_run(select, Some(&node.name))
            .await
            .map_err(|f| job_error(node, &f))
    }

    /// The byte budget of a statement (`maximum_bytes_billed`), if any.
    pub fn byte_budget(&self) -> Option<u64> {
        self.jobs.settings().maximum_bytes_billed
    }

    /// The SELECT whose cost a node's statement carries (what a dry run prices).
    async fn costed_select<'a>(&self, node: &'a CompiledNode) -> Result<&'a str> {
        Ok(match self.incremental_now(node).await? {
            Some(incremental) => &incremental.sql,
            None => &node.sql,
        })
    }

    /// The table (or view) `relation` names, as BigQuery describes it.
    async fn get_table(&self, relation: &Relation) -> std::result::Result<Table, BQError> {
        let project = relation.project.as_deref().unwrap_or(self.project());
        self.jobs
            .client()
            .table()
            .get(project, &relation.dataset, &relation.name, None)
            .await
    }

    async fn table_exists(&self, relation: &Relation) -> Result<bool> {
        match self.get_table(relation).await {
            Ok(_) => Ok(true),
            Err(BQError::ResponseError { error }) if error.error.code == 404 => Ok(false),
            Err(e) => Err(Error::execution(Diagnostic::new(format!(
                "cannot read table {relation}: {}",
                self.clean(&e)
            )))),
        }
    }

    async fn build(&self, node: &CompiledNode) -> Result<Materialized> {
        self.ensure_dataset(&node.relation).await?;
        let budget = node
            .config
            .maximum_bytes_billed
            .or(self.jobs.settings().maximum_bytes_billed);
        if let Some(budget) = budget
            && node.materialization != Materialization::View
        {
            let dry = self.dry_run_node(node).await?;
            if dry.bytes > budget {
                return Err(Error::execution(
                    Diagnostic::new(format!(
                        "model `{}` would process {} bytes, over maximum_bytes_billed ({budget}); not run",
                        node.name, dry.bytes
                    ))
                    .at(node.defined_at.clone())
                    .help("raise maximum_bytes_billed in the profile, or partition/cluster the inputs so less is scanned"),
                ));
            }
        }
        let sql = match self.incremental_now(node).await? {
            Some(incremental) => {
                self.apply_schema_change(node, incremental).await?;
                &incremental.run_sql
            }
            None => &node.run_sql,
        };
        let finished = self
            .jobs
            .run_within(sql, Some(&node.name), budget)
            .await
            .map_err(|f| job_error(node, &f))?;
        self.describe_columns(node).await?;
        let rows = match node.materialization {
            Materialization::View => None,
            _ => self.row_count(&node.relation).await.or(finished.dml_rows()),
        };
        Ok(Materialized { rows })
    }

    async fn row_count(&self, relation: &Relation) -> Option<u64> {
        let table = self.get_table(relation).await.ok()?;
        table.num_rows.and_then(|n| n.parse().ok())
    }

    /// Apply the YAML column descriptions to the built table or view.
    async fn describe_columns(&self, node: &CompiledNode) -> Result<()> {
        let described: HashMap<String, &str> = node
            .columns
            .iter()
            .filter_map(|c| {
                c.description
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                    .map(|d| (c.name.to_lowercase(), d.trim()))
            })
            .collect();
        if described.is_empty() {
            return Ok(());
        }
        let relation = &node.relation;
        let project = relation.project.as_deref().unwrap_or(self.project());
        let api = self.jobs.client().table();
        let fail = |e: &dyn std::fmt::Display| {
            Error::execution(
                Diagnostic::new(format!(
                    "model `{}` was built, but its column descriptions were not applied: {}",
                    node.name,
                    self.clean(e)
                ))
                .at(node.defined_at.clone()),
            )
        };
        let mut table = self.get_table(relation).await.map_err(|e| fail(&e))?;
        let Some(fields) = table.schema.fields.as_mut() else {
            return Ok(());
        };
        let mut changed = false;
        for field in fields.iter_mut() {
            if let Some(description) = described.get(&field.name.to_lowercase())
                && field.description.as_deref() != Some(*description)
            {
                field.description = Some(description.to_string());
                changed = true;
            }
        }
        if changed {
            api.patch(project, &relation.dataset, &relation.name, table)
                .await
                .map_err(|e| fail(&e))?;
        }
        Ok(())
    }

    async fn run_query(&self, sql: &str, limit: Option<usize>) -> Result<QueryResult> {
        let started = Instant::now();
        let finished = self.jobs.run(sql, None).await.map_err(|f| {
            let d = Diagnostic::new(format!("BigQuery: {f}"));
            if f.reason == "invalidQuery" {
                Error::config(d)
            } else {
                Error::execution(d)
            }
        })?;
        let mut parameters = GetQueryResultsParameters {
            location: finished.location.clone(),
            max_results: Some(limit.map_or(PAGE_ROWS, |l| {
                i32::try_from(l.max(1)).map_or(PAGE_ROWS, |l| l.min(PAGE_ROWS))
            })),
            ..Default::default()
        };
        let mut fields = Vec::new();
        let mut schema = rows::schema(&[]);
        let mut batches = Vec::new();
        let mut fetched = 0usize;
        loop {
            let page = self
                .jobs
                .client()
                .job()
                .get_query_results(self.project(), &finished.job_id, parameters.clone())
                .await
                .map_err(|e| {
                    Error::execution(Diagnostic::new(format!(
                        "BigQuery: cannot read the results of job {}: {}",
                        finished.job_id,
                        self.clean(&e)
                    )))
                })?;
            if let Some(errors) = page.errors.as_ref().filter(|e| !e.is_empty()) {
                let e = &errors[0];
                return Err(Error::execution(Diagnostic::new(format!(
                    "BigQuery: {}: {}",
                    e.reason.as_deref().unwrap_or("error"),
                    e.message.as_deref().unwrap_or_default()
                ))));
            }
            if fields.is_empty()
                && let Some(f) = page.schema.as_ref().and_then(|s| s.fields.clone())
            {
                schema = rows::schema(&f);
                fields = f;
            }
            let mut page_rows = page.rows.unwrap_or_default();
            if let Some(limit) = limit {
                page_rows.truncate(limit.saturating_sub(fetched));
            }
            fetched += page_rows.len();
            if !page_rows.is_empty() {
                batches.push(rows::batch(&schema, &fields, &page_rows).map_err(|e| {
                    Error::execution(Diagnostic::new(format!("BigQuery results: {e}")))
                })?);
            }
            let done = limit.is_some_and(|l| fetched >= l);
            match page.page_token {
                Some(token) if !done => parameters.page_token = Some(token),
                _ => break,
            }
        }
        Ok(QueryResult {
            schema,
            batches,
            elapsed: started.elapsed(),
        })
    }
}

impl Engine for BigQueryEngine {
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

fn job_settings(
    bq: &BigQueryTarget,
    target_name: &str,
    settings: &BigQuerySettings,
) -> Result<JobSettings> {
    let priority = match bq
        .priority
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => None,
        Some("interactive") => Some("INTERACTIVE".to_string()),
        Some("batch") => Some("BATCH".to_string()),
        Some(other) => {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "target `{target_name}`: unknown priority `{other}`"
                ))
                .help("priority: interactive (default) or batch"),
            ));
        }
    };
    let labels = bq
        .labels
        .iter()
        .map(|(k, v)| (jobs::label_value(k), jobs::label_value(v)))
        .collect();
    Ok(JobSettings {
        project: bq.project.clone(),
        location: bq.location.clone(),
        priority,
        maximum_bytes_billed: bq.maximum_bytes_billed,
        timeout: bq
            .job_timeout
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_JOB_TIMEOUT),
        labels,
        attempts: ATTEMPTS,
        first_backoff: settings.first_backoff.unwrap_or(Duration::from_millis(200)),
        redactor: connect::Redactor::for_target(bq),
    })
}

/// `20261201t152400_12345`: when and which process, unique enough for job ids.
fn default_run_id() -> String {
    format!(
        "{}_{}",
        chrono::Utc::now().format("%Y%m%dt%H%M%S%3f"),
        std::process::id()
    )
}

/// A failed job of `node`, as an error at the model's file.
pub fn job_error(node: &CompiledNode, failure: &JobFailure) -> Error {
    let mut diagnostic = Diagnostic::new(format!(
        "model `{}` failed on BigQuery ({}): {}",
        node.name, failure.reason, failure.message
    ))
    .at(node.defined_at.clone());
    if failure.transient {
        diagnostic =
            diagnostic.help("BigQuery kept failing transiently after retries; run again later");
    } else if failure.reason == "timeout" {
        diagnostic = diagnostic.help("raise job_timeout in the profile");
    } else if failure.reason == "accessDenied" {
        diagnostic = diagnostic.help("grant the credentials roles/bigquery.dataEditor on the dataset and roles/bigquery.jobUser on the project");
    }
    Error::execution(diagnostic)
}
