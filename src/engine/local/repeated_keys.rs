//! `unique` tests without a hash table of every key: a local-engine
//! optimizer rule for
//!
//! ```sql
//! select k, count(*) from t group by k having count(*) > 1
//! ```
//!
//! over one integer column (an id). DataFusion's hash aggregate keeps a
//! group per key: at 20M session ids its table outgrows a fair share of the
//! pool and spills, and the test took seconds on the build's critical path.
//! [`RepeatedKeysRule`] replaces the filtered aggregate with a node that
//! reads the key column alone and finds the repeated keys by sorting hash
//! buckets of plain integers ([`super::key_pairs`]); the original plan stays
//! as its fallback for when the keys would take over half the pool.
//!
//! Only the exact shape is rewritten: a filter `count > 1` (or `>= 2`)
//! directly over an aggregate grouping by one integer expression and
//! computing nothing but `count(*)` (or `count` of a non-NULL literal).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch};
use datafusion::arrow::compute::{SortOptions, cast};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNodeRecursion};
use datafusion::common::{Column, DFSchemaRef, DataFusionError, Result, ScalarValue, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{
    Aggregate, BinaryExpr, Expr, ExprSchemable, Extension, Filter, LogicalPlan, Operator,
    Projection, UserDefinedLogicalNode, UserDefinedLogicalNodeCore, lit,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties,
};
use datafusion::physical_planner::{ExtensionPlanner, PhysicalPlanner};
use futures::TryStreamExt;

use super::key_pairs::{self, is_integer_key};

/// The rule; registered on every local session.
#[derive(Debug, Default)]
pub struct RepeatedKeysRule;

impl OptimizerRule for RepeatedKeysRule {
    fn name(&self) -> &str {
        "cohort_repeated_keys"
    }

    /// The rule walks the plan itself: a node it made keeps the original
    /// aggregate as its fallback, which must not be rewritten again.
    fn apply_order(&self) -> Option<ApplyOrder> {
        None
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_down_with_subqueries(|node| {
            if let LogicalPlan::Extension(extension) = &node
                && extension.node.as_any().is::<RepeatedKeysNode>()
            {
                return Ok(Transformed::new(node, false, TreeNodeRecursion::Jump));
            }
            match repeated_keys_node(&node)? {
                Some(rewritten) => Ok(Transformed::new(rewritten, true, TreeNodeRecursion::Jump)),
                None => Ok(Transformed::no(node)),
            }
        })
    }
}

/// `node` as a [`RepeatedKeysNode`] when it has the shape.
fn repeated_keys_node(node: &LogicalPlan) -> Result<Option<LogicalPlan>> {
    let LogicalPlan::Filter(filter) = node else {
        return Ok(None);
    };
    let LogicalPlan::Aggregate(aggregate) = filter.input.as_ref() else {
        return Ok(None);
    };
    let Some(key) = repeated_key_shape(filter, aggregate) else {
        return Ok(None);
    };
    let pairs = Projection::try_new(
        vec![
            key.alias("cohort_repeated_key"),
            lit(0i64).alias("cohort_repeated_order"),
        ],
        Arc::clone(&aggregate.input),
    )?;
    Ok(Some(LogicalPlan::Extension(Extension {
        node: Arc::new(RepeatedKeysNode {
            pairs: Arc::new(LogicalPlan::Projection(pairs)),
            fallback: Arc::new(node.clone()),
        }),
    })))
}

/// The grouping key when `filter` over `aggregate` is `group by k having
/// count(*) > 1` with `k` an integer.
fn repeated_key_shape(filter: &Filter, aggregate: &Aggregate) -> Option<Expr> {
    let ([key], [count]) = (
        aggregate.group_expr.as_slice(),
        aggregate.aggr_expr.as_slice(),
    ) else {
        return None;
    };
    let key_type = key.get_type(aggregate.input.schema().as_ref()).ok()?;
    if !is_integer_key(&key_type) || !counts_rows(count) {
        return None;
    }
    let (qualifier, field) = aggregate.schema.qualified_field(1);
    let count_column = Column::new(qualifier.cloned(), field.name());
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &filter.predicate else {
        return None;
    };
    let is_count = matches!(left.as_ref(), Expr::Column(c) if *c == count_column);
    let bound = match right.as_ref() {
        Expr::Literal(ScalarValue::Int64(Some(n)), _) => Some(*n),
        _ => None,
    };
    let more_than_one = matches!(
        (op, bound),
        (Operator::Gt, Some(1)) | (Operator::GtEq, Some(2))
    );
    (is_count && more_than_one).then(|| key.clone())
}

/// `count(*)`: `count` of a non-NULL literal, without DISTINCT or FILTER.
fn counts_rows(expr: &Expr) -> bool {
    let expr = match expr {
        Expr::Alias(alias) => alias.expr.as_ref(),
        other => other,
    };
    let Expr::AggregateFunction(AggregateFunction { func, params }) = expr else {
        return false;
    };
    func.name() == "count"
        && !params.distinct
        && params.filter.is_none()
        && params.order_by.is_empty()
        && matches!(params.args.as_slice(), [Expr::Literal(value, _)] if !value.is_null())
}

/// The logical node: `(key, count)` of every key with more than one row.
/// Inputs: the key column (with a constant ordering), and the fallback (the
/// filtered aggregate, whose schema this node has).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd)]
struct RepeatedKeysNode {
    pairs: Arc<LogicalPlan>,
    fallback: Arc<LogicalPlan>,
}

impl UserDefinedLogicalNodeCore for RepeatedKeysNode {
    fn name(&self) -> &str {
        "RepeatedKeys"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.pairs, &self.fallback]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.fallback.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "RepeatedKeys")
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> Result<Self> {
        let Ok([pairs, fallback]) = <[LogicalPlan; 2]>::try_from(inputs) else {
            return internal_err!("RepeatedKeys takes two inputs");
        };
        Ok(RepeatedKeysNode {
            pairs: Arc::new(pairs),
            fallback: Arc::new(fallback),
        })
    }
}

/// Plans a [`RepeatedKeysNode`] as a [`RepeatedKeysExec`].
#[derive(Debug)]
pub struct RepeatedKeysPlanner;

#[async_trait]
impl ExtensionPlanner for RepeatedKeysPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(node) = node.as_any().downcast_ref::<RepeatedKeysNode>() else {
            return Ok(None);
        };
        let [pairs, fallback] = physical_inputs else {
            return internal_err!("RepeatedKeys takes two inputs");
        };
        let schema: SchemaRef = Arc::new(node.fallback.schema().as_arrow().clone());
        Ok(Some(Arc::new(RepeatedKeysExec::new(
            Arc::clone(pairs),
            Arc::clone(fallback),
            schema,
        ))))
    }
}

/// The physical node: one partition of `(key, count)` rows.
#[derive(Debug)]
pub struct RepeatedKeysExec {
    pairs: Arc<dyn ExecutionPlan>,
    fallback: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    /// `repeated_keys` and `fallback` (1 when the aggregate ran), shown by
    /// `EXPLAIN ANALYZE`.
    metrics: ExecutionPlanMetricsSet,
}

impl RepeatedKeysExec {
    fn new(
        pairs: Arc<dyn ExecutionPlan>,
        fallback: Arc<dyn ExecutionPlan>,
        schema: SchemaRef,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        RepeatedKeysExec {
            pairs,
            fallback,
            schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for RepeatedKeysExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "RepeatedKeysExec")
    }
}

impl ExecutionPlan for RepeatedKeysExec {
    fn name(&self) -> &str {
        "RepeatedKeysExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.pairs, &self.fallback]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![true, false]
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
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
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Ok([pairs, fallback]) = <[Arc<dyn ExecutionPlan>; 2]>::try_from(children) else {
            return internal_err!("RepeatedKeysExec takes two children");
        };
        Ok(Arc::new(RepeatedKeysExec::new(
            pairs,
            fallback,
            Arc::clone(&self.schema),
        )))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return internal_err!("RepeatedKeysExec has one partition, not {partition}");
        }
        let (pairs, schema) = (Arc::clone(&self.pairs), Arc::clone(&self.schema));
        let fallback: Arc<dyn ExecutionPlan> =
            if self.fallback.output_partitioning().partition_count() == 1 {
                Arc::clone(&self.fallback)
            } else {
                Arc::new(CoalescePartitionsExec::new(Arc::clone(&self.fallback)))
            };
        let metrics = self.metrics.clone();
        let stream = async move {
            let options = SortOptions::default();
            let found = key_pairs::repeated_keys(&pairs, &context, options, "RepeatedKeys").await?;
            let count = |name: &'static str, value: usize| {
                MetricBuilder::new(&metrics).global_counter(name).add(value);
            };
            count("fallback", usize::from(found.is_none()));
            let Some(found) = found else {
                return fallback.execute(0, context);
            };
            count("repeated_keys", found.keys.len());
            let batch = repeated_rows(&found, &schema)?;
            let rows = context.session_config().batch_size().max(1);
            let batches: Vec<Result<RecordBatch>> = (0..batch.num_rows())
                .step_by(rows)
                .map(|offset| Ok(batch.slice(offset, rows.min(batch.num_rows() - offset))))
                .collect();
            Ok(Box::pin(RecordBatchStreamAdapter::new(
                schema,
                futures::stream::iter(batches),
            )) as SendableRecordBatchStream)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            futures::stream::once(stream).try_flatten(),
        )))
    }
}

/// The `(key, count)` rows of `found` in the aggregate's schema.
fn repeated_rows(found: &key_pairs::Repeated, schema: &SchemaRef) -> Result<RecordBatch> {
    let null_key = found.null_key.filter(|(rows, _)| *rows > 1);
    let keys: Int64Array = found
        .keys
        .iter()
        .map(|k| Some(k.key))
        .chain(null_key.map(|_| None))
        .collect();
    let counts: Int64Array = found
        .keys
        .iter()
        .map(|k| k.rows)
        .chain(null_key.map(|(rows, _)| rows))
        .map(|rows| i64::try_from(rows).ok())
        .collect();
    let fields = schema.fields();
    let (Some(key_field), Some(count_field)) = (fields.first(), fields.get(1)) else {
        return internal_err!("RepeatedKeys: the aggregate has two columns");
    };
    let key: ArrayRef = cast(&(Arc::new(keys) as ArrayRef), key_field.data_type())?;
    let count: ArrayRef = cast(&(Arc::new(counts) as ArrayRef), count_field.data_type())?;
    RecordBatch::try_new(Arc::clone(schema), vec![key, count])
        .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
}

#[cfg(test)]
mod tests;
