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
//!    scan), collects the pairs in hash buckets, sorts each bucket on its own
//!    core and keeps, for every key seen more than once, the best ordering
//!    value (the same rank `ROW_NUMBER() … = 1` keeps).
//! 2. It streams the full input, partitions in parallel: a row whose key was
//!    seen once passes; a row of a repeated key passes when its ordering is
//!    the best and no other row of that key has passed yet (ties: one row,
//!    as `ROW_NUMBER` picks one). NULL keys form one group, as `PARTITION
//!    BY` groups them.
//!
//! The pairs take 16 bytes a row from the memory pool, up to half of it (the
//! rest stays for operators running beside it). When they would take more
//! (200M rows in a 1 GB pool), or an ordering value cannot be told apart
//! from NULL in the encoding (`i64::MIN` or `i64::MAX`), the node runs its
//! third input instead: the sort-based rewrite, which spills.
//! The input is read twice, so the rule only uses this node over inputs
//! without volatile functions.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::{SortOptions, cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::hash_utils::RandomState;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchemaRef, DataFusionError, Result, internal_err};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryReservation};
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
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use futures::{StreamExt, TryStreamExt};

use super::super::first_value::is_integer_like;

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

fn is_integer_key(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
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

/// The local engine's query planner: DataFusion's, plus [`FirstRowsNode`].
#[derive(Debug, Default)]
pub struct CohortQueryPlanner;

#[async_trait]
impl QueryPlanner for CohortQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session_state: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(FirstRowsPlanner)])
            .create_physical_plan(logical_plan, session_state)
            .await
    }
}

struct FirstRowsPlanner;

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
        let partitions = input.output_partitioning().partition_count().max(1);
        let fallback_matched = if fallback.output_partitioning().partition_count() == partitions {
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

/// A column of integers (or dates, timestamps) as `Int64`.
fn as_int64(array: &ArrayRef) -> Result<ArrayRef> {
    if array.data_type() == &DataType::Int64 {
        return Ok(Arc::clone(array));
    }
    Ok(cast(array, &DataType::Int64)?)
}

/// An ordering value as a `u64` that sorts first-row-first: smaller is
/// better, NULL at the end `options` puts it.
fn encode(value: Option<i64>, options: SortOptions) -> u64 {
    match value {
        None if options.nulls_first => 0,
        None => u64::MAX,
        Some(v) => {
            let ascending = (v as u64) ^ (1 << 63);
            if options.descending {
                !ascending
            } else {
                ascending
            }
        }
    }
}

/// The `(key, ordering)` pairs of one input partition, in hash buckets, and
/// the orderings of its NULL-key rows.
#[derive(Default)]
struct Pairs {
    /// Per bucket, chunks of [`CHUNK_PAIRS`] pairs (the memory taken is
    /// what is used, give or take a chunk, not a doubled vector).
    buckets: Vec<Vec<Vec<(i64, u64)>>>,
    null_key: Vec<u64>,
}

/// Pairs per chunk of [`Pairs`] (1 MiB).
const CHUNK_PAIRS: usize = 1 << 16;

impl Pairs {
    fn push(&mut self, bucket: usize, pair: (i64, u64)) {
        let Some(chunks) = self.buckets.get_mut(bucket) else {
            return;
        };
        match chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK_PAIRS => chunk.push(pair),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK_PAIRS);
                chunk.push(pair);
                chunks.push(chunk);
            }
        }
    }

    fn capacity_bytes(&self) -> usize {
        let chunks: usize = self
            .buckets
            .iter()
            .flatten()
            .map(|chunk| chunk.capacity() * size_of::<(i64, u64)>())
            .sum();
        chunks + self.null_key.capacity() * size_of::<u64>()
    }
}

/// The memory the pairs may take: a share of the pool, so that operators
/// running beside this one (a hash join's build side cannot spill) keep
/// room. Past it the sort runs instead.
struct Budget {
    reservation: MemoryReservation,
    limit: usize,
}

impl Budget {
    fn try_grow(&mut self, bytes: usize) -> bool {
        self.reservation.size().saturating_add(bytes) <= self.limit
            && self.reservation.try_grow(bytes).is_ok()
    }
}

/// Reads every pair and builds the [`KeySet`], or decides on the fallback.
async fn first_pass(
    pairs: &Arc<dyn ExecutionPlan>,
    context: &Arc<TaskContext>,
    options: SortOptions,
) -> Result<Pass> {
    let buckets = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = context.memory_pool();
    let limit = match pool.memory_limit() {
        MemoryLimit::Finite(bytes) => bytes / 2,
        MemoryLimit::Infinite | MemoryLimit::Unknown => usize::MAX,
    };
    let reservation = Arc::new(Mutex::new(Budget {
        reservation: MemoryConsumer::new("FirstRowsByKeySet").register(pool),
        limit,
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for partition in 0..pairs.output_partitioning().partition_count() {
        let stream = pairs.execute(partition, Arc::clone(context))?;
        let reservation = Arc::clone(&reservation);
        tasks.spawn(collect_pairs(stream, buckets, reservation, options));
    }
    let mut collected = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let done = joined.map_err(|e| DataFusionError::External(Box::new(e)))??;
        match done {
            Some(pairs) => collected.push(pairs),
            None => {
                // The other partitions' pairs and their memory go before
                // the sort starts.
                tasks.shutdown().await;
                return Ok(Pass::Fallback);
            }
        }
    }
    let set = tokio::task::spawn_blocking(move || key_set(collected, buckets))
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    drop(reservation);
    Ok(Pass::KeySet(set))
}

/// One partition's pairs; `None` when the pool cannot hold them or an
/// ordering value collides with NULL's encoding.
async fn collect_pairs(
    mut stream: SendableRecordBatchStream,
    buckets: usize,
    reservation: Arc<Mutex<Budget>>,
    options: SortOptions,
) -> Result<Option<Pairs>> {
    let null_code = encode(None, options);
    let mut pairs = Pairs {
        buckets: vec![Vec::new(); buckets],
        null_key: Vec::new(),
    };
    let state = RandomState::default();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let (Some(keys), Some(orders)) = (batch.columns().first(), batch.columns().get(1)) else {
            return internal_err!("first rows: the pairs have two columns");
        };
        let (keys, orders) = (as_int64(keys)?, as_int64(orders)?);
        let (keys, orders) = (
            keys.as_primitive::<Int64Type>(),
            orders.as_primitive::<Int64Type>(),
        );
        let before = pairs.capacity_bytes();
        for row in 0..batch.num_rows() {
            let order = orders.is_valid(row).then(|| orders.value(row));
            let code = encode(order, options);
            if order.is_some() && code == null_code {
                return Ok(None);
            }
            if keys.is_null(row) {
                pairs.null_key.push(code);
            } else {
                let key = keys.value(row);
                let bucket = (std::hash::BuildHasher::hash_one(&state, key) as usize) % buckets;
                pairs.push(bucket, (key, code));
            }
        }
        let grown = pairs.capacity_bytes().saturating_sub(before);
        let fits = reservation
            .lock()
            .map_err(|_| DataFusionError::Internal("first rows: a lock was poisoned".into()))?
            .try_grow(grown);
        if !fits {
            return Ok(None);
        }
    }
    Ok(Some(pairs))
}

/// Sorts each bucket (every partition's share of it) on its own thread and
/// keeps the repeated keys with their best ordering value.
fn key_set(collected: Vec<Pairs>, buckets: usize) -> KeySet {
    let mut chunks: Vec<Vec<Vec<(i64, u64)>>> = vec![Vec::new(); buckets];
    let mut null_key: Vec<u64> = Vec::new();
    for pairs in collected {
        for (bucket, part) in pairs.buckets.into_iter().enumerate() {
            if let Some(all) = chunks.get_mut(bucket) {
                all.extend(part);
            }
        }
        null_key.extend(pairs.null_key);
    }
    // One vector per bucket, each chunk freed once copied.
    let by_bucket: Vec<Vec<(i64, u64)>> = chunks
        .into_iter()
        .map(|bucket| {
            let mut all = Vec::with_capacity(bucket.iter().map(Vec::len).sum());
            for chunk in bucket {
                all.extend_from_slice(&chunk);
            }
            all
        })
        .collect();
    let repeated: Vec<Vec<(i64, u64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = by_bucket
            .into_iter()
            .map(|mut bucket| {
                scope.spawn(move || {
                    bucket.sort_unstable();
                    let mut repeated = Vec::new();
                    for run in bucket.chunk_by(|a, b| a.0 == b.0) {
                        if let [first, _, ..] = run {
                            repeated.push(*first);
                        }
                    }
                    repeated
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let count = repeated.iter().map(Vec::len).sum();
    let mut set = KeySet {
        repeated: HashMap::with_capacity_and_hasher(count, RandomState::default()),
        best: Vec::with_capacity(count),
        passed: Vec::with_capacity(count),
        null_key: null_key
            .iter()
            .min()
            .map(|best| (*best, AtomicBool::new(false))),
    };
    for (key, best) in repeated.into_iter().flatten() {
        set.repeated.insert(key, set.best.len());
        set.best.push(best);
        set.passed.push(AtomicBool::new(false));
    }
    set
}

#[cfg(test)]
mod tests;
