//! The first row per key without sorting the rows: for an integer key and
//! at most one integer-like ordering (a session id and its timestamp, a
//! customer id and its `updated_at`), which is what a staging dedupe is.
//!
//! Sorting every row by `(key, order)` (the [`super`] rewrite's plan) moves
//! whole rows through a sort, its spill files and a merge: at 20M sessions
//! that was most of the example's build. Duplicates are rare in such data,
//! so [`FirstRowsExec`] works in two passes instead:
//!
//! 1. It reads only the key and the ordering (the projection reaches the
//!    scan) and finds every key seen more than once, with its best ordering
//!    value (the rank `ROW_NUMBER() … = 1` keeps), by sorting hash buckets
//!    of integer pairs ([`super::super::key_pairs`]).
//! 2. It streams the full input, partitions in parallel: a row whose key was
//!    seen once passes; a row of a repeated key passes when its ordering is
//!    the best and no other row of that key has passed yet (ties: one row,
//!    as `ROW_NUMBER` picks one). NULL keys form one group, as `PARTITION
//!    BY` groups them.
//!
//! When the pairs would take over half the memory pool (200M rows in a 1 GB
//! pool), or an ordering value cannot be told apart from NULL in their
//! encoding (`i64::MIN` or `i64::MAX`), the node runs its third input
//! instead: the sort-based rewrite, which spills. `EXPLAIN ANALYZE` shows
//! which ran (`fallback=0|1`) and how many keys repeat (`repeated_keys`).
//! The input is read twice, so the rule only uses this node over inputs
//! without volatile functions.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::compute::{SortOptions, filter_record_batch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::hash_utils::RandomState;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchemaRef, DataFusionError, Result, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{
    Expr, ExprSchemable, Extension, LogicalPlan, Projection, SortExpr, UserDefinedLogicalNode,
    UserDefinedLogicalNodeCore, lit,
};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties,
};
use datafusion::physical_planner::{ExtensionPlanner, PhysicalPlanner};
use futures::{StreamExt, TryStreamExt};

use super::super::key_pairs::{self, as_int64, encode, is_integer_key, is_integer_like};

/// Whether [`FirstRowsNode`] computes this first-row-per-key: one integer
/// key, at most one integer-like ordering, and an input that reads the same
/// rows twice.
pub(super) fn applies(keys: &[Expr], order: &[SortExpr], input: &LogicalPlan) -> bool {
    let schema = input.schema();
    let [key] = keys else {
        return false;
    };
    let key_fits = key
        .get_type(schema.as_ref())
        .is_ok_and(|t| is_integer_key(&t));
    let order_fits = match order {
        [] => true,
        [sort] => sort
            .expr
            .get_type(schema.as_ref())
            .is_ok_and(|t| is_integer_like(&t)),
        _ => false,
    };
    key_fits && order_fits && !has_volatile(input)
}

/// The node over `input`, with `fallback` (the same rows, computed by
/// sorting) for when the pairs do not fit in memory.
pub(super) fn node(
    input: Arc<LogicalPlan>,
    key: Expr,
    order: Option<SortExpr>,
    fallback: LogicalPlan,
) -> Result<LogicalPlan> {
    let ordering = order.as_ref().map_or_else(|| lit(0i64), |s| s.expr.clone());
    let pairs = Projection::try_new(
        vec![
            key.clone().alias("cohort_first_row_key"),
            ordering.alias("cohort_first_row_order"),
        ],
        Arc::clone(&input),
    )?;
    Ok(LogicalPlan::Extension(Extension {
        node: Arc::new(FirstRowsNode {
            input,
            pairs: Arc::new(LogicalPlan::Projection(pairs)),
            fallback: Arc::new(fallback),
            key,
            order,
        }),
    }))
}

/// Whether any expression of `plan` (or below it, subqueries included) is
/// volatile (`RAND()`): reading it twice would not give the same rows.
fn has_volatile(plan: &LogicalPlan) -> bool {
    let mut volatile = false;
    let _ = plan.apply_with_subqueries(|node| {
        let _ = node.apply_expressions(|expr| {
            volatile |= expr.is_volatile();
            Ok(if volatile {
                TreeNodeRecursion::Stop
            } else {
                TreeNodeRecursion::Continue
            })
        });
        Ok(if volatile {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    volatile
}

/// The logical node: the rows of `input` that are first of their key.
/// Inputs: the rows, their `(key, ordering)` pairs, and the fallback.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd)]
struct FirstRowsNode {
    input: Arc<LogicalPlan>,
    pairs: Arc<LogicalPlan>,
    fallback: Arc<LogicalPlan>,
    key: Expr,
    order: Option<SortExpr>,
}

impl UserDefinedLogicalNodeCore for FirstRowsNode {
    fn name(&self) -> &str {
        "FirstRowsByKeySet"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input, &self.pairs, &self.fallback]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        let mut exprs = vec![self.key.clone()];
        exprs.extend(self.order.iter().map(|s| s.expr.clone()));
        exprs
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "FirstRowsByKeySet: key={}", self.key)?;
        if let Some(order) = &self.order {
            write!(f, ", order={order}")?;
        }
        Ok(())
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> Result<Self> {
        let (Ok([input, pairs, fallback]), Some(key)) =
            (<[LogicalPlan; 3]>::try_from(inputs), exprs.first())
        else {
            return internal_err!("FirstRowsByKeySet takes three inputs and a key");
        };
        let order = match (&self.order, exprs.get(1)) {
            (Some(sort), Some(expr)) => Some(SortExpr {
                expr: expr.clone(),
                ..sort.clone()
            }),
            _ => None,
        };
        Ok(FirstRowsNode {
            input: Arc::new(input),
            pairs: Arc::new(pairs),
            fallback: Arc::new(fallback),
            key: key.clone(),
            order,
        })
    }
}

/// Plans a [`FirstRowsNode`] as a [`FirstRowsExec`].
#[derive(Debug)]
pub struct FirstRowsPlanner;

#[async_trait]
impl ExtensionPlanner for FirstRowsPlanner {
    async fn plan_extension(
        &self,
        planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn Session,
        planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(node) = node.as_any().downcast_ref::<FirstRowsNode>() else {
            return Ok(None);
        };
        let (Some(logical_input), [input, pairs, fallback]) =
            (logical_inputs.first(), physical_inputs)
        else {
            return internal_err!("FirstRowsByKeySet takes three inputs");
        };
        let schema = logical_input.schema();
        let key = planner.create_physical_expr(&node.key, schema, session, planning_ctx)?;
        let order = match &node.order {
            Some(sort) => Some((
                planner.create_physical_expr(&sort.expr, schema, session, planning_ctx)?,
                SortOptions {
                    descending: !sort.asc,
                    nulls_first: sort.nulls_first,
                },
            )),
            None => None,
        };
        Ok(Some(Arc::new(FirstRowsExec::new(
            Arc::clone(input),
            Arc::clone(pairs),
            Arc::clone(fallback),
            Exprs { key, order },
        )?)))
    }
}

/// The key and ordering, evaluated on the input's rows.
#[derive(Debug, Clone)]
struct Exprs {
    key: Arc<dyn PhysicalExpr>,
    order: Option<(Arc<dyn PhysicalExpr>, SortOptions)>,
}

impl Exprs {
    fn options(&self) -> SortOptions {
        self.order
            .as_ref()
            .map_or(SortOptions::default(), |(_, o)| *o)
    }
}

/// What the first pass decided, shared by every output partition.
#[derive(Debug)]
enum Pass {
    KeySet(KeySet),
    Fallback,
}

type SharedPass = Arc<tokio::sync::OnceCell<std::result::Result<Arc<Pass>, Arc<DataFusionError>>>>;

/// The physical node (see the module documentation).
#[derive(Debug)]
pub struct FirstRowsExec {
    input: Arc<dyn ExecutionPlan>,
    pairs: Arc<dyn ExecutionPlan>,
    fallback: Arc<dyn ExecutionPlan>,
    /// `fallback` with as many output partitions as `input`.
    fallback_matched: Arc<dyn ExecutionPlan>,
    exprs: Exprs,
    properties: Arc<PlanProperties>,
    /// One execution's key set and claims. A plan run again (a recursive
    /// query) is first `reset_state`, whose default goes through
    /// `with_new_children`: a new node, a new pass.
    pass: SharedPass,
    /// `repeated_keys` and `fallback` (1 when the sort ran), shown by
    /// `EXPLAIN ANALYZE`.
    metrics: ExecutionPlanMetricsSet,
}

impl FirstRowsExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        pairs: Arc<dyn ExecutionPlan>,
        fallback: Arc<dyn ExecutionPlan>,
        exprs: Exprs,
    ) -> Result<Self> {
        let partitions = input.output_partitioning().partition_count();
        let same = fallback.output_partitioning().partition_count() == partitions;
        // With no partition to produce, nothing runs the fallback either.
        let fallback_matched = if same || partitions == 0 {
            Arc::clone(&fallback)
        } else {
            Arc::new(RepartitionExec::try_new(
                Arc::clone(&fallback),
                Partitioning::RoundRobinBatch(partitions),
            )?) as Arc<dyn ExecutionPlan>
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(input.schema()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(FirstRowsExec {
            input,
            pairs,
            fallback,
            fallback_matched,
            exprs,
            properties: Arc::new(properties),
            pass: Arc::default(),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

impl DisplayAs for FirstRowsExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "FirstRowsByKeySetExec: key={}", self.exprs.key)
    }
}

impl ExecutionPlan for FirstRowsExec {
    fn name(&self) -> &str {
        "FirstRowsByKeySetExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input, &self.pairs, &self.fallback]
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false, false, false]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![true, false, false]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        if f(&self.exprs.key)? == TreeNodeRecursion::Stop {
            return Ok(TreeNodeRecursion::Stop);
        }
        match &self.exprs.order {
            Some((order, _)) => f(order),
            None => Ok(TreeNodeRecursion::Continue),
        }
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Ok([input, pairs, fallback]) = <[Arc<dyn ExecutionPlan>; 3]>::try_from(children) else {
            return internal_err!("FirstRowsByKeySetExec takes three children");
        };
        Ok(Arc::new(FirstRowsExec::new(
            input,
            pairs,
            fallback,
            self.exprs.clone(),
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let pass = Arc::clone(&self.pass);
        let (input, pairs) = (Arc::clone(&self.input), Arc::clone(&self.pairs));
        let fallback = Arc::clone(&self.fallback_matched);
        let exprs = self.exprs.clone();
        let schema = self.input.schema();
        let metrics = self.metrics.clone();
        let stream = async move {
            let decided = pass
                .get_or_init(|| async {
                    let decided = first_pass(&pairs, &context, exprs.options()).await;
                    if let Ok(decided) = &decided {
                        let (repeated, fallback) = match decided {
                            Pass::KeySet(set) => (set.best.len(), 0),
                            Pass::Fallback => (0, 1),
                        };
                        MetricBuilder::new(&metrics)
                            .global_counter("repeated_keys")
                            .add(repeated);
                        MetricBuilder::new(&metrics)
                            .global_counter("fallback")
                            .add(fallback);
                    }
                    decided.map(Arc::new).map_err(Arc::new)
                })
                .await
                .clone()
                .map_err(DataFusionError::Shared)?;
            let set = match decided.as_ref() {
                Pass::Fallback => return fallback.execute(partition, context),
                Pass::KeySet(_) => Arc::clone(&decided),
            };
            let rows = input.execute(partition, context)?;
            let kept = rows.map(move |batch| match set.as_ref() {
                Pass::KeySet(set) => set.first_rows(&batch?, &exprs),
                Pass::Fallback => internal_err!("first rows: no key set"),
            });
            Ok(
                Box::pin(RecordBatchStreamAdapter::new(input.schema(), kept))
                    as SendableRecordBatchStream,
            )
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::once(stream).try_flatten(),
        )))
    }
}

/// The keys seen more than once, each with its best ordering value and
/// whether one of its rows has passed.
#[derive(Debug)]
struct KeySet {
    repeated: HashMap<i64, usize, RandomState>,
    best: Vec<u64>,
    passed: Vec<AtomicBool>,
    /// The NULL key's group: its best ordering value and whether a row passed.
    null_key: Option<(u64, AtomicBool)>,
}

impl KeySet {
    /// The rows of `batch` that are first of their key.
    fn first_rows(&self, batch: &RecordBatch, exprs: &Exprs) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let keys = as_int64(&exprs.key.evaluate(batch)?.into_array(rows)?)?;
        let keys = keys.as_primitive::<Int64Type>();
        let orders = match &exprs.order {
            Some((order, _)) => Some(as_int64(&order.evaluate(batch)?.into_array(rows)?)?),
            None => None,
        };
        let orders = orders.as_ref().map(|o| o.as_primitive::<Int64Type>());
        let options = exprs.options();
        let order_at = |row: usize| match orders {
            Some(o) => encode(o.is_valid(row).then(|| o.value(row)), options),
            None => encode(Some(0), options),
        };
        let claim = |best: u64, passed: &AtomicBool, row: usize| {
            order_at(row) == best && !passed.swap(true, Ordering::Relaxed)
        };
        let keep: BooleanArray = (0..rows)
            .map(|row| {
                Some(if keys.is_null(row) {
                    self.null_key
                        .as_ref()
                        .is_some_and(|(best, passed)| claim(*best, passed, row))
                } else {
                    match self.repeated.get(&keys.value(row)) {
                        None => true,
                        Some(&slot) => claim(self.best[slot], &self.passed[slot], row),
                    }
                })
            })
            .collect();
        Ok(filter_record_batch(batch, &keep)?)
    }
}

/// Reads every `(key, ordering)` pair and builds the [`KeySet`], or decides
/// on the fallback.
async fn first_pass(
    pairs: &Arc<dyn ExecutionPlan>,
    context: &Arc<TaskContext>,
    options: SortOptions,
) -> Result<Pass> {
    let Some(repeated) =
        key_pairs::repeated_keys(pairs, context, options, "FirstRowsByKeySet").await?
    else {
        return Ok(Pass::Fallback);
    };
    let count = repeated.keys.len();
    let mut set = KeySet {
        repeated: HashMap::with_capacity_and_hasher(count, RandomState::default()),
        best: Vec::with_capacity(count),
        passed: Vec::with_capacity(count),
        null_key: repeated
            .null_key
            .map(|(_, best)| (best, AtomicBool::new(false))),
    };
    for repeated in repeated.keys {
        set.repeated.insert(repeated.key, set.best.len());
        set.best.push(repeated.best);
        set.passed.push(AtomicBool::new(false));
    }
    Ok(Pass::KeySet(set))
}

#[cfg(test)]
mod tests;
