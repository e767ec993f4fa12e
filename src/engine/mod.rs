//! Engines materialize compiled models and answer queries. The runner sees
//! only [`Engine`]; [`local`] is Apache DataFusion over Parquet files,
//! [`bigquery`] runs BigQuery jobs (Google, or an emulator).

pub mod bigquery;
pub mod local;
pub mod values;

use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use futures::future::BoxFuture;

use crate::compile::CompiledNode;
use crate::error::Result;

/// What materializing a model produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Materialized {
    /// Rows written (tables); `None` for views.
    pub rows: Option<u64>,
}

/// The rows of a query.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub elapsed: Duration,
}

impl QueryResult {
    pub fn row_count(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// A place models are built.
pub trait Engine: Send + Sync {
    /// Build `node` (a table or a view), replacing the previous version only when complete.
    fn materialize<'a>(&'a self, node: &'a CompiledNode) -> BoxFuture<'a, Result<Materialized>>;

    /// Run a BigQuery SELECT and return at most `limit` rows.
    fn query<'a>(
        &'a self,
        sql: &'a str,
        limit: Option<usize>,
    ) -> BoxFuture<'a, Result<QueryResult>>;
}
