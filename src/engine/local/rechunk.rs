//! Cutting the one huge batch a whole-input window emits into copies of
//! the session's batch size, so the memory pool can account for it.
//!
//! DataFusion's `WindowAggExec` (a window that needs its whole partition
//! first, such as `NTILE(5) OVER (ORDER BY x)` over every row) concatenates
//! its input and emits it as a single batch: at 10M customers, 476 MB. The
//! sort of the next window ordering must reserve a batch before it can
//! spill it, and no fair share of the pool holds 476 MB, so the build
//! failed. [`RechunkWindowOutput`] puts a [`RechunkExec`] above every such
//! window; it emits the rows in order, in batches of the session's batch
//! size whose buffers are their own (a slice would still report, and keep
//! alive, the whole buffer), and the consumer spills as it should.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::array::{ArrayRef, MutableArrayData, make_array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::windows::WindowAggExec;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::{Stream, StreamExt};

/// Above every `WindowAggExec`, a [`RechunkExec`] of the session's batch size.
#[derive(Debug, Default)]
pub struct RechunkWindowOutput;

impl PhysicalOptimizerRule for RechunkWindowOutput {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let rows = config.execution.batch_size.get();
        plan.transform_up(|node| {
            if node.is::<WindowAggExec>() {
                Ok(Transformed::yes(
                    Arc::new(RechunkExec::new(node, rows)) as Arc<dyn ExecutionPlan>
                ))
            } else {
                Ok(Transformed::no(node))
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "cohort_rechunk_window_output"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Its input's rows, in order, in batches of at most `rows` rows; a larger
/// batch is copied out piece by piece.
#[derive(Debug)]
pub struct RechunkExec {
    input: Arc<dyn ExecutionPlan>,
    rows: usize,
    properties: Arc<PlanProperties>,
}

impl RechunkExec {
    pub fn new(input: Arc<dyn ExecutionPlan>, rows: usize) -> RechunkExec {
        let properties = Arc::clone(input.properties());
        RechunkExec {
            input,
            rows: rows.max(1),
            properties,
        }
    }
}

impl DisplayAs for RechunkExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "RechunkExec: rows={}", self.rows)
    }
}

impl ExecutionPlan for RechunkExec {
    fn name(&self) -> &str {
        "RechunkExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(datafusion::error::DataFusionError::Internal(format!(
                "RechunkExec takes one child, got {}",
                children.len()
            )));
        }
        Ok(Arc::new(RechunkExec::new(
            children.swap_remove(0),
            self.rows,
        )))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        Ok(Box::pin(RechunkStream {
            input: self.input.execute(partition, context)?,
            rows: self.rows,
            pending: None,
        }))
    }
}

/// The stream of [`RechunkExec`]: the batch being cut, and where it is.
struct RechunkStream {
    input: SendableRecordBatchStream,
    rows: usize,
    pending: Option<(RecordBatch, usize)>,
}

impl RechunkStream {
    /// The next piece of the pending batch, dropping the batch after its last.
    fn next_piece(&mut self) -> Option<Result<RecordBatch>> {
        let (batch, offset) = self.pending.as_mut()?;
        let len = self.rows.min(batch.num_rows() - *offset);
        let piece = copy_rows(batch, *offset, len);
        *offset += len;
        if *offset >= batch.num_rows() {
            self.pending = None;
        }
        Some(piece)
    }
}

impl Stream for RechunkStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(piece) = self.next_piece() {
            return Poll::Ready(Some(piece));
        }
        match self.input.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(batch))) if batch.num_rows() > self.rows => {
                self.pending = Some((batch, 0));
                Poll::Ready(self.next_piece())
            }
            other => other,
        }
    }
}

impl RecordBatchStream for RechunkStream {
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
}

/// Rows `offset..offset + len` of `batch` in buffers of their own.
pub fn copy_rows(batch: &RecordBatch, offset: usize, len: usize) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .map(|column| {
            let data = column.to_data();
            let mut copy = MutableArrayData::new(vec![&data], false, len);
            copy.try_extend(0, offset, offset + len)?;
            Ok(make_array(copy.freeze()))
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(len));
    Ok(RecordBatch::try_new_with_options(
        batch.schema(),
        columns,
        &options,
    )?)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Array;
    use datafusion::execution::memory_pool::FairSpillPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    /// Two whole-input windows in a row: the second one's sort receives the
    /// first one's output.
    const WINDOWS: &str =
        "select a, b, ntile(4) over (order by a) as na, ntile(4) over (order by b) as nb from t";
    const SUMMARY: &str = "select count(*) as n, sum(na) as na, sum(nb) as nb, sum(na * a) as wa, sum(nb * b) as wb from w";

    /// A session whose pool holds `pool` bytes, with or without the rule,
    /// and `t`: 200,000 rows of two orderings.
    async fn session(pool: usize, with_rule: bool) -> SessionContext {
        let config = SessionConfig::new()
            .with_target_partitions(2)
            .with_batch_size(1024)
            .set_usize(
                "datafusion.execution.sort_spill_reservation_bytes",
                64 << 10,
            );
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(pool)))
            .build_arc()
            .unwrap();
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features();
        if with_rule {
            state = state.with_physical_optimizer_rule(Arc::new(RechunkWindowOutput));
        }
        let ctx = SessionContext::new_with_state(state.build());
        ctx.sql("create table t as select value as a, (value * 7919) % 200003 as b from generate_series(1, 200000)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        ctx
    }

    async fn summary(ctx: &SessionContext) -> Result<String> {
        ctx.sql(&format!("create or replace view w as {WINDOWS}"))
            .await?
            .collect()
            .await?;
        let batches = ctx.sql(SUMMARY).await?.collect().await?;
        Ok(datafusion::arrow::util::pretty::pretty_format_batches(&batches)?.to_string())
    }

    #[tokio::test]
    async fn a_whole_input_window_feeds_a_small_pool_in_batches_it_can_spill() {
        let expected = summary(&session(1 << 30, false).await).await.unwrap();
        let small_pool = 2 << 20;

        let without = summary(&session(small_pool, false).await).await;
        let message = without
            .expect_err("one 4.8 MB batch cannot enter a 2 MB pool")
            .to_string();
        assert!(message.contains("for ExternalSorter["), "{message}");

        let ctx = session(small_pool, true).await;
        let plan = ctx
            .sql(WINDOWS)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(false)
            .to_string();
        assert_eq!(
            shown.matches("RechunkExec: rows=1024").count(),
            2,
            "{shown}"
        );
        assert_eq!(summary(&ctx).await.unwrap(), expected);

        let batches = ctx.sql(WINDOWS).await.unwrap().collect().await.unwrap();
        assert!(batches.iter().all(|b| b.num_rows() <= 1024));
        assert_eq!(
            batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
            200_000
        );
    }

    #[test]
    fn a_piece_owns_its_buffers() {
        let values: Vec<Option<&str>> = (0..10_000)
            .map(|i| (i % 7 != 0).then_some("customer"))
            .collect();
        let text: ArrayRef = Arc::new(datafusion::arrow::array::StringArray::from(values));
        let numbers: ArrayRef = Arc::new(datafusion::arrow::array::Int64Array::from_iter_values(
            0..10_000,
        ));
        let batch = RecordBatch::try_from_iter([("t", text), ("n", numbers)]).unwrap();

        let piece = copy_rows(&batch, 9_000, 100).unwrap();
        assert_eq!(piece.num_rows(), 100);
        assert_eq!(
            piece.column(0).as_ref(),
            batch.column(0).slice(9_000, 100).as_ref()
        );
        assert_eq!(
            piece.column(1).as_ref(),
            batch.column(1).slice(9_000, 100).as_ref()
        );
        let size = |b: &RecordBatch| {
            b.columns()
                .iter()
                .map(|c| c.get_array_memory_size())
                .sum::<usize>()
        };
        assert!(
            size(&piece) * 20 < size(&batch),
            "a piece of 1 % holds {} of {} bytes",
            size(&piece),
            size(&batch)
        );
    }
}
