//! A local-engine optimizer rule for the "first row per key" idiom:
//!
//! ```sql
//! select * from t
//! qualify row_number() over (partition by k order by o) = 1
//! ```
//!
//! BigQuery runs this well. DataFusion plans it as a `BoundedWindowAggExec`
//! that keeps state per partition key, which is fine for a few large
//! partitions and pathological for millions of one-row ones (a dedupe of 20M
//! sessions took minutes). The rule rewrites the plan to the same result
//! without per-key state: sort once by `(k, o)`, and keep a row when it has no
//! predecessor or its key differs from the predecessor's (`LAG` over that
//! order, compared with `IS DISTINCT FROM`, so NULL keys form one group like
//! `PARTITION BY` does). The `row_number` column stays in the schema as the
//! constant 1, which it is for every row the filter keeps.
//!
//! The `LAG` is partitioned by a hash bucket of the key ([`KeyBucket`], 1,024
//! buckets): every row of a key is in the same bucket, so the result is the
//! same, and DataFusion sorts, compares and hands on the rows in as many
//! parallel streams as it has partitions instead of merging them into one.
//!
//! For one integer key and at most one integer-like ordering (the usual
//! staging dedupe: an id and a timestamp), [`key_set`] finds the first rows
//! without sorting them, and keeps this sort-based plan as its fallback.
//!
//! Only the exact shape is rewritten: a filter whose conjuncts include
//! `rn = 1` (or `rn <= 1`, `rn < 2`, either side) directly over a window node
//! computing nothing but that `row_number()` with a `PARTITION BY`; the other
//! conjuncts must not read `rn`. Anything else is left to DataFusion.

use std::sync::Arc;

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue, internal_err};
use datafusion::functions_window::expr_fn::lag;
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::utils::{conjunction, disjunction, split_conjunction};
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprFunctionExt, Filter, LogicalPlan, Operator, Projection,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, SortExpr, Volatility, Window,
    WindowFunctionDefinition, lit,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

mod key_set;

pub use key_set::FirstRowsPlanner;

/// The rule; registered on every local session.
#[derive(Debug, Default)]
pub struct FirstRowPerKey;

impl OptimizerRule for FirstRowPerKey {
    fn name(&self) -> &str {
        "cohort_first_row_per_key"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Filter(filter) = &plan else {
            return Ok(Transformed::no(plan));
        };
        // The filter sits on the window, or on the column-pruning projection
        // the optimizer puts between them.
        let (window, kept) = match filter.input.as_ref() {
            LogicalPlan::Window(window) => (window, None),
            LogicalPlan::Projection(projection) => match projection.input.as_ref() {
                LogicalPlan::Window(window) if only_columns(&projection.expr) => {
                    (window, Some(projection.expr.as_slice()))
                }
                _ => return Ok(Transformed::no(plan)),
            },
            _ => return Ok(Transformed::no(plan)),
        };
        let Some(shape) = FirstRowShape::of(filter, window) else {
            return Ok(Transformed::no(plan));
        };
        shape.rewrite(window, kept).map(Transformed::yes)
    }
}

fn only_columns(exprs: &[Expr]) -> bool {
    exprs.iter().all(|e| matches!(e, Expr::Column(_)))
}

/// A matched `Filter(rn = 1 [AND others]) → Window(row_number() …)`.
struct FirstRowShape {
    /// The `PARTITION BY` expressions.
    keys: Vec<Expr>,
    /// The window's `ORDER BY` (may be empty: any row of the key).
    order: Vec<SortExpr>,
    /// The `row_number()` output column.
    row_number: Column,
    /// The filter's conjuncts other than `rn = 1`.
    other_conditions: Vec<Expr>,
}

impl FirstRowShape {
    fn of(filter: &Filter, window: &Window) -> Option<Self> {
        let [expr] = window.window_expr.as_slice() else {
            return None;
        };
        let Expr::WindowFunction(function) = strip_alias(expr) else {
            return None;
        };
        let WindowFunction { fun, params } = function.as_ref();
        let is_row_number =
            matches!(fun, WindowFunctionDefinition::WindowUDF(udf) if udf.name() == "row_number");
        if !is_row_number
            || params.partition_by.is_empty()
            || !params.args.is_empty()
            || params.filter.is_some()
        {
            return None;
        }
        let last = window.schema.fields().len().checked_sub(1)?;
        let (qualifier, field) = window.schema.qualified_field(last);
        let row_number = Column::new(qualifier.cloned(), field.name());

        let mut first_row_conditions = 0;
        let mut other_conditions = Vec::new();
        for condition in split_conjunction(&filter.predicate) {
            if keeps_first_row(condition, &row_number) {
                first_row_conditions += 1;
            } else if condition.column_refs().contains(&row_number) {
                return None;
            } else {
                other_conditions.push(condition.clone());
            }
        }
        (first_row_conditions > 0).then(|| FirstRowShape {
            keys: params.partition_by.clone(),
            order: params.order_by.clone(),
            row_number,
            other_conditions,
        })
    }

    /// `Projection(the columns kept, rn as 1) → Filter(others) → first rows
    /// of each key`, the first rows computed by [`key_set`] where it
    /// applies, else by [`lag_first_rows`]. `kept` is the pruning
    /// projection's columns when there was one, else every column.
    fn rewrite(self, window: &Window, kept: Option<&[Expr]>) -> Result<LogicalPlan> {
        let input = Arc::clone(&window.input);
        let input_columns: Vec<Column> = input.schema().columns();
        let by_sorting = lag_first_rows(&self.keys, &self.order, Arc::clone(&input))?;
        let first_rows = match (self.keys.as_slice(), self.order.as_slice()) {
            ([key], order) if key_set::applies(&self.keys, &self.order, &input) => {
                key_set::node(input, key.clone(), order.first().cloned(), by_sorting)?
            }
            _ => by_sorting,
        };
        let filtered = match conjunction(self.other_conditions) {
            Some(predicate) => {
                LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(first_rows))?)
            }
            None => first_rows,
        };

        let row_number_as_one = || {
            lit(ScalarValue::UInt64(Some(1))).alias_qualified(
                self.row_number.relation.clone(),
                self.row_number.name.clone(),
            )
        };
        let projection: Vec<Expr> = match kept {
            None => input_columns
                .into_iter()
                .map(Expr::Column)
                .chain([row_number_as_one()])
                .collect(),
            Some(kept) => kept
                .iter()
                .map(|e| match e {
                    Expr::Column(c) if *c == self.row_number => row_number_as_one(),
                    other => other.clone(),
                })
                .collect(),
        };
        Projection::try_new(projection, Arc::new(filtered)).map(LogicalPlan::Projection)
    }
}

/// The first row of each key by sorting: `Projection(input's columns) →
/// Filter(first of its key) → Window(LAG over (keys, order)) → input`.
fn lag_first_rows(
    keys: &[Expr],
    order: &[SortExpr],
    input: Arc<LogicalPlan>,
) -> Result<LogicalPlan> {
    let input_columns: Vec<Column> = input.schema().columns();
    let mut sort: Vec<SortExpr> = keys
        .iter()
        .map(|key| key.clone().sort(true, true))
        .collect();
    sort.extend(order.iter().cloned());
    let bucket = ScalarUDF::new_from_impl(KeyBucket::new()).call(keys.to_vec());
    let over = |value: Expr| {
        lag(value, Some(1), None)
            .partition_by(vec![bucket.clone()])
            .order_by(sort.clone())
            .build()
    };
    let mut lags = vec![over(lit(true))?];
    for key in keys {
        lags.push(over(key.clone())?);
    }
    let lag_window = Window::try_new(lags, input)?;
    let lag_columns: Vec<Column> = (input_columns.len()..lag_window.schema.fields().len())
        .map(|i| {
            let (qualifier, field) = lag_window.schema.qualified_field(i);
            Column::new(qualifier.cloned(), field.name())
        })
        .collect();
    let Some((has_previous, previous_keys)) = lag_columns.split_first() else {
        return internal_err!("first row per key: the LAG window has no column");
    };

    // The first row of its bucket, or a key unlike the row before.
    let mut first_of_key = vec![Expr::Column(has_previous.clone()).is_null()];
    for (key, previous) in keys.iter().zip(previous_keys) {
        first_of_key.push(Expr::BinaryExpr(BinaryExpr::new(
            Box::new(key.clone()),
            Operator::IsDistinctFrom,
            Box::new(Expr::Column(previous.clone())),
        )));
    }
    let predicate = disjunction(first_of_key).unwrap_or_else(|| lit(true));
    let filtered = Filter::try_new(predicate, Arc::new(LogicalPlan::Window(lag_window)))?;
    let columns = input_columns.into_iter().map(Expr::Column).collect();
    Projection::try_new(columns, Arc::new(LogicalPlan::Filter(filtered)))
        .map(LogicalPlan::Projection)
}

/// `cohort_key_bucket(k, ...)`: a hash of the key columns folded into
/// [`KeyBucket::BUCKETS`] buckets (NULLs hash alike, so NULL keys share one).
#[derive(Debug, PartialEq, Eq, Hash)]
struct KeyBucket {
    signature: Signature,
}

impl KeyBucket {
    const BUCKETS: u64 = 1024;

    fn new() -> Self {
        KeyBucket {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for KeyBucket {
    fn name(&self) -> &str {
        "cohort_key_bucket"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut hashes = vec![0u64; args.number_rows];
        create_hashes(&arrays, &RandomState::with_seed(0), &mut hashes)?;
        let buckets: UInt32Array = hashes
            .iter()
            .map(|h| (h % Self::BUCKETS) as u32)
            .collect::<Vec<u32>>()
            .into();
        Ok(ColumnarValue::Array(std::sync::Arc::new(buckets)))
    }
}

fn strip_alias(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(alias) => strip_alias(&alias.expr),
        other => other,
    }
}

/// `rn = 1`, `rn <= 1`, `rn < 2` (or mirrored), `rn` possibly cast.
fn keeps_first_row(condition: &Expr, row_number: &Column) -> bool {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = condition else {
        return false;
    };
    let is_rn = |e: &Expr| matches!(strip_cast(e), Expr::Column(c) if c == row_number);
    let bound = |e: &Expr| match strip_cast(e) {
        Expr::Literal(value, _) => integer(value),
        _ => None,
    };
    match (is_rn(left), is_rn(right)) {
        (true, false) => matches!(
            (op, bound(right)),
            (Operator::Eq | Operator::LtEq, Some(1)) | (Operator::Lt, Some(2))
        ),
        (false, true) => matches!(
            (op, bound(left)),
            (Operator::Eq | Operator::GtEq, Some(1)) | (Operator::Gt, Some(2))
        ),
        _ => false,
    }
}

fn strip_cast(expr: &Expr) -> &Expr {
    match expr {
        Expr::Cast(cast) => strip_cast(&cast.expr),
        Expr::TryCast(cast) => strip_cast(&cast.expr),
        other => other,
    }
}

fn integer(value: &ScalarValue) -> Option<i128> {
    match value {
        ScalarValue::Int8(v) => v.map(i128::from),
        ScalarValue::Int16(v) => v.map(i128::from),
        ScalarValue::Int32(v) => v.map(i128::from),
        ScalarValue::Int64(v) => v.map(i128::from),
        ScalarValue::UInt8(v) => v.map(i128::from),
        ScalarValue::UInt16(v) => v.map(i128::from),
        ScalarValue::UInt32(v) => v.map(i128::from),
        ScalarValue::UInt64(v) => v.map(i128::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
