//! A faster `first_value(x ORDER BY k, ...)` per group for the local engine.
//!
//! "The first touch's channel per customer"
//! (`array_agg(channel order by touched_at limit 1)[offset(0)]` in BigQuery,
//! translated to `first_value`) is a common marketing aggregate. DataFusion's
//! groups accumulator for it compares every row's ordering as a vector of
//! `ScalarValue`s; at 9M touches that comparison was most of the query's time.
//!
//! [`FirstValue`] is DataFusion's `first_value` with one change: when every
//! ordering column is an integer, date, time or timestamp (and `IGNORE NULLS`
//! is not used), the groups accumulator is [`FirstByGroups`], which compares
//! the ordering as `i64`s and builds a `ScalarValue` only when a group's first
//! row changes. Everything else (the one-group accumulator, other ordering
//! types, window use, the state's layout) is DataFusion's own, so results and
//! plans are the same.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, PrimitiveArray, new_empty_array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, ReversedUDAF, Signature,
};

use super::key_pairs::is_integer_like;

/// DataFusion's `first_value`, with [`FirstByGroups`] as its groups
/// accumulator where that applies. Registered under the same name.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FirstValue {
    inner: AggregateUDF,
}

impl FirstValue {
    /// Wraps DataFusion's `first_value`.
    pub fn udaf() -> AggregateUDF {
        let inner = datafusion::functions_aggregate::first_last::first_value_udaf();
        AggregateUDF::new_from_impl(FirstValue {
            inner: inner.as_ref().clone(),
        })
    }
}

impl FirstValue {
    fn wrapped(&self) -> &Arc<dyn AggregateUDFImpl> {
        self.inner.inner()
    }
}

impl AggregateUDFImpl for FirstValue {
    fn name(&self) -> &str {
        self.wrapped().name()
    }

    fn aliases(&self) -> &[String] {
        self.wrapped().aliases()
    }

    fn signature(&self) -> &Signature {
        self.wrapped().signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.wrapped().return_type(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.wrapped().return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.wrapped().is_nullable()
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.wrapped().accumulator(args)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.wrapped().state_fields(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        FirstByGroups::applies(&args) || self.wrapped().groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        if FirstByGroups::applies(&args) {
            Ok(Box::new(FirstByGroups::new(&args)?))
        } else {
            self.wrapped().create_groups_accumulator(args)
        }
    }

    fn with_beneficial_ordering(
        self: Arc<Self>,
        beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        Ok(self
            .inner
            .clone()
            .with_beneficial_ordering(beneficial_ordering)?
            .map(|inner| Arc::new(FirstValue { inner }) as Arc<dyn AggregateUDFImpl>))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.wrapped().order_sensitivity()
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        self.wrapped().reverse_expr()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.wrapped().coerce_types(arg_types)
    }

    fn supports_null_handling_clause(&self) -> bool {
        self.wrapped().supports_null_handling_clause()
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.wrapped().default_value(data_type)
    }
}

/// `first_value(x ORDER BY k1, k2, ...)` per group, with integer-like
/// ordering columns compared as `i64`s. Per group it keeps the first row's
/// ordering (as `i64`s for comparing, as scalars for the partial state) and
/// value; a group's entries are replaced only when a row orders strictly
/// before them.
#[derive(Debug)]
pub struct FirstByGroups {
    value_type: DataType,
    ordering_types: Vec<DataType>,
    descending: Vec<bool>,
    nulls_first: Vec<bool>,
    /// Per group: set by a row yet?
    is_set: Vec<bool>,
    /// Per group, `ordering_types.len()` entries each: the ordering as i64
    /// (`None`: NULL); cast back to the ordering's type for
    /// [`GroupsAccumulator::state`].
    keys: Vec<Option<i64>>,
    /// Per group: the first row's value.
    values: Vec<ScalarValue>,
    /// Heap bytes held by `values`.
    scalar_bytes: usize,
}

impl FirstByGroups {
    /// Whether this accumulator computes `args`: an ORDER BY of integer-like
    /// columns and no `IGNORE NULLS`.
    fn applies(args: &AccumulatorArgs) -> bool {
        !args.ignore_nulls
            && !args.is_distinct
            && !args.order_bys.is_empty()
            && args.order_bys.iter().all(|sort| {
                sort.expr
                    .data_type(args.schema)
                    .is_ok_and(|t| is_integer_like(&t))
            })
    }

    fn new(args: &AccumulatorArgs) -> Result<Self> {
        let ordering_types = args
            .order_bys
            .iter()
            .map(|sort| sort.expr.data_type(args.schema))
            .collect::<Result<Vec<_>>>()?;
        Ok(FirstByGroups {
            value_type: args.return_field.data_type().clone(),
            ordering_types,
            descending: args
                .order_bys
                .iter()
                .map(|s| s.options.descending)
                .collect(),
            nulls_first: args
                .order_bys
                .iter()
                .map(|s| s.options.nulls_first)
                .collect(),
            is_set: Vec::new(),
            keys: Vec::new(),
            values: Vec::new(),
            scalar_bytes: 0,
        })
    }

    fn width(&self) -> usize {
        self.ordering_types.len()
    }

    fn resize(&mut self, groups: usize) -> Result<()> {
        if groups <= self.is_set.len() {
            return Ok(());
        }
        let null_value = ScalarValue::try_from(&self.value_type)?;
        self.is_set.resize(groups, false);
        self.keys.resize(groups * self.width(), None);
        self.values.resize(groups, null_value);
        Ok(())
    }

    /// Whether row `row` (ordering `keys`) orders strictly before group `group`'s first row.
    fn orders_first(&self, keys: &[Int64Columns], row: usize, group: usize) -> bool {
        let held = &self.keys[group * self.width()..(group + 1) * self.width()];
        for (c, column) in keys.iter().enumerate() {
            let new = column.value(row);
            let ordering = match (new, held[c]) {
                (None, None) => continue,
                (None, Some(_)) => {
                    if self.nulls_first[c] {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Greater
                    }
                }
                (Some(_), None) => {
                    if self.nulls_first[c] {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Less
                    }
                }
                (Some(a), Some(b)) if self.descending[c] => b.cmp(&a),
                (Some(a), Some(b)) => a.cmp(&b),
            };
            if ordering.is_ne() {
                return ordering.is_lt();
            }
        }
        false
    }

    /// Make row `row` group `group`'s first row.
    fn take_row(
        &mut self,
        group: usize,
        row: usize,
        value: &ArrayRef,
        keys: &[Int64Columns],
    ) -> Result<()> {
        let width = self.width();
        let new_value = ScalarValue::try_from_array(value, row)?;
        self.scalar_bytes += new_value.size();
        self.scalar_bytes = self
            .scalar_bytes
            .saturating_sub(std::mem::replace(&mut self.values[group], new_value).size());
        for (c, key) in keys.iter().enumerate() {
            self.keys[group * width + c] = key.value(row);
        }
        self.is_set[group] = true;
        Ok(())
    }

    /// Fold rows into their groups; `set` says which rows count (partial
    /// states that saw no row do not).
    fn fold(
        &mut self,
        value: &ArrayRef,
        ordering: &[ArrayRef],
        set: Option<&BooleanArray>,
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups)?;
        let keys = ordering
            .iter()
            .map(Int64Columns::of)
            .collect::<Result<Vec<_>>>()?;
        let counts = |mask: Option<&BooleanArray>, row: usize| {
            mask.is_none_or(|m| m.is_valid(row) && m.value(row))
        };
        for (row, &group) in group_indices.iter().enumerate() {
            if !counts(opt_filter, row) || !counts(set, row) {
                continue;
            }
            if !self.is_set[group] || self.orders_first(&keys, row, group) {
                self.take_row(group, row, value, &keys)?;
            }
        }
        Ok(())
    }

    /// The emitted groups' values, orderings (one array per column) and flags.
    fn emit(&mut self, emit_to: EmitTo) -> Result<(ArrayRef, Vec<ArrayRef>, BooleanArray)> {
        let width = self.width();
        let values = emit_to.take_needed(&mut self.values);
        let emitted = values.len();
        let is_set = emit_to.take_needed(&mut self.is_set);
        let keys: Vec<Option<i64>> = self.keys.drain(..emitted * width).collect();
        let freed: usize = values.iter().map(ScalarValue::size).sum();
        self.scalar_bytes = self.scalar_bytes.saturating_sub(freed);
        let ordering_arrays = (0..width)
            .map(|c| {
                let column = keys.iter().skip(c).step_by(width).copied();
                from_int64(column, &self.ordering_types[c])
            })
            .collect::<Result<Vec<_>>>()?;
        let value_array = if values.is_empty() {
            new_empty_array(&self.value_type)
        } else {
            ScalarValue::iter_to_array(values)?
        };
        Ok((value_array, ordering_arrays, BooleanArray::from(is_set)))
    }
}

impl GroupsAccumulator for FirstByGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some((value, ordering)) = values.split_first() else {
            return internal_err!("first_value without its argument");
        };
        self.fold(
            value,
            ordering,
            None,
            group_indices,
            opt_filter,
            total_num_groups,
        )
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(self.emit(emit_to)?.0)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (value, orderings, is_set) = self.emit(emit_to)?;
        let mut state = Vec::with_capacity(orderings.len() + 2);
        state.push(value);
        state.extend(orderings);
        state.push(Arc::new(is_set));
        Ok(state)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        // [value, ordering..., is_set], as DataFusion's state fields are.
        let width = self.width();
        if values.len() != width + 2 {
            return internal_err!("first_value state has {} columns", values.len());
        }
        let Some(is_set) = values[width + 1].as_boolean_opt() else {
            return internal_err!("first_value state without its is_set flags");
        };
        let is_set = is_set.clone();
        self.fold(
            &values[0],
            &values[1..=width],
            Some(&is_set),
            group_indices,
            None,
            total_num_groups,
        )
    }

    /// Each row as its own group's state: the row itself, set where the
    /// filter keeps it.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |v| v.len());
        let is_set: BooleanArray = (0..rows)
            .map(|row| Some(opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row))))
            .collect();
        let mut state = values.to_vec();
        state.push(Arc::new(is_set));
        Ok(state)
    }

    fn size(&self) -> usize {
        self.is_set.capacity()
            + self.keys.capacity() * size_of::<Option<i64>>()
            + self.values.capacity() * size_of::<ScalarValue>()
            + self.scalar_bytes
    }
}

/// An ordering column as `i64`s (integers, dates, times, timestamps).
struct Int64Columns(PrimitiveArray<Int64Type>);

impl Int64Columns {
    fn of(column: &ArrayRef) -> Result<Self> {
        let cast = cast(column, &DataType::Int64)?;
        Ok(Int64Columns(cast.as_primitive::<Int64Type>().clone()))
    }

    fn value(&self, row: usize) -> Option<i64> {
        self.0.is_valid(row).then(|| self.0.value(row))
    }
}

/// An ordering column of `data_type` from its `i64`s (the inverse of
/// [`Int64Columns::of`]).
fn from_int64(keys: impl Iterator<Item = Option<i64>>, data_type: &DataType) -> Result<ArrayRef> {
    let int64: ArrayRef = Arc::new(PrimitiveArray::<Int64Type>::from_iter(keys));
    Ok(cast(&int64, data_type)?)
}

#[cfg(test)]
mod tests;
