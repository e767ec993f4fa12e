//! `SUM` with BigQuery's overflow rule: an INT64 sum that leaves the INT64
//! range is an error ("int64 overflow"), where DataFusion's `sum` wraps
//! around silently. Sums accumulate in 128 bits and are checked when they
//! are read, so the outcome does not depend on the order rows arrive in. The function is DataFusion's own `sum` for every other
//! input type (FLOAT64, NUMERIC, DISTINCT); only its INT64 accumulators
//! (plain, grouped and sliding-window) are replaced by checked ones.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type, UInt64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    ReversedUDAF, SetMonotonicity, Signature,
};

/// The `sum` aggregate with checked INT64 accumulators.
pub fn checked_sum() -> AggregateUDF {
    AggregateUDF::new_from_impl(CheckedSum { inner: sum_udaf() })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CheckedSum {
    inner: Arc<AggregateUDF>,
}

fn overflow() -> DataFusionError {
    DataFusionError::Execution("int64 overflow: SUM of INT64 values out of range".into())
}

fn checked_int64(args: &AccumulatorArgs) -> bool {
    !args.is_distinct && args.return_field.data_type() == &DataType::Int64
}

impl AggregateUDFImpl for CheckedSum {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if checked_int64(&args) {
            return Ok(Box::new(CheckedSumAccumulator::default()));
        }
        self.inner.accumulator(args)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        if checked_int64(&args) {
            return Ok(Box::new(CheckedSumGroups::default()));
        }
        self.inner.create_groups_accumulator(args)
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if checked_int64(&args) {
            return Ok(Box::new(CheckedSlidingSum::default()));
        }
        self.inner.create_sliding_accumulator(args)
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner.inner().set_monotonicity(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// The sum of an INT64 array's non-null values; `None` when all are null.
fn sum_array(values: &ArrayRef) -> Result<Option<i128>> {
    let values = values.as_primitive::<Int64Type>();
    if values.null_count() == values.len() {
        return Ok(None);
    }
    let mut sum = 0i128;
    for v in values.iter().flatten() {
        sum = sum.checked_add(i128::from(v)).ok_or_else(overflow)?;
    }
    Ok(Some(sum))
}

fn add(sum: Option<i128>, more: Option<i128>) -> Result<Option<i128>> {
    match (sum, more) {
        (Some(a), Some(b)) => a.checked_add(b).map(Some).ok_or_else(overflow),
        (a, b) => Ok(a.or(b)),
    }
}

/// A sum as INT64, or the overflow error.
fn to_int64(sum: i128) -> Result<i64> {
    i64::try_from(sum).map_err(|_| overflow())
}

/// One group's INT64 sum (plain aggregation and the final phase).
#[derive(Debug, Default)]
struct CheckedSumAccumulator {
    sum: Option<i128>,
}

impl Accumulator for CheckedSumAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.sum = add(self.sum, sum_array(&values[0])?)?;
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.update_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(self.sum.map(to_int64).transpose()?))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }
}

/// An INT64 sum over a sliding window frame: values enter and leave.
#[derive(Debug, Default)]
struct CheckedSlidingSum {
    sum: i128,
    count: u64,
}

impl CheckedSlidingSum {
    fn apply(&mut self, values: &ArrayRef, sign: i64) -> Result<()> {
        let values = values.as_primitive::<Int64Type>();
        for v in values.iter().flatten() {
            let next = if sign > 0 {
                self.sum.checked_add(i128::from(v))
            } else {
                self.sum.checked_sub(i128::from(v))
            };
            self.sum = next.ok_or_else(overflow)?;
        }
        let counted = u64::try_from(values.len() - values.null_count()).unwrap_or(u64::MAX);
        self.count = if sign > 0 {
            self.count.saturating_add(counted)
        } else {
            self.count.saturating_sub(counted)
        };
        Ok(())
    }
}

impl Accumulator for CheckedSlidingSum {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(&values[0], 1)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(&values[0], -1)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        if let Some(sum) = sum_array(&states[0])? {
            self.sum = self.sum.checked_add(sum).ok_or_else(overflow)?;
        }
        let counts = states[1].as_primitive::<UInt64Type>();
        self.count = counts
            .iter()
            .flatten()
            .fold(self.count, u64::saturating_add);
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            self.evaluate()?,
            ScalarValue::UInt64(Some(self.count)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let sum = (self.count > 0).then_some(self.sum);
        Ok(ScalarValue::Int64(sum.map(to_int64).transpose()?))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }
}

/// INT64 sums of many groups (hash aggregation).
#[derive(Debug, Default)]
struct CheckedSumGroups {
    sums: Vec<i128>,
    seen: Vec<bool>,
}

impl CheckedSumGroups {
    fn add_rows(
        &mut self,
        values: &ArrayRef,
        group_indices: &[usize],
        filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.sums.resize(total_num_groups, 0);
        self.seen.resize(total_num_groups, false);
        let values = values.as_primitive::<Int64Type>();
        for (row, &group) in group_indices.iter().enumerate() {
            if values.is_null(row) || filter.is_some_and(|f| !f.is_valid(row) || !f.value(row)) {
                continue;
            }
            self.sums[group] = self.sums[group]
                .checked_add(i128::from(values.value(row)))
                .ok_or_else(overflow)?;
            self.seen[group] = true;
        }
        Ok(())
    }

    fn emit(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let sums = emit_to.take_needed(&mut self.sums);
        let seen = emit_to.take_needed(&mut self.seen);
        let sums = sums
            .into_iter()
            .zip(&seen)
            .map(|(sum, &seen)| if seen { to_int64(sum) } else { Ok(0) })
            .collect::<Result<Vec<i64>>>()?;
        Ok(Arc::new(Int64Array::new(
            sums.into(),
            Some(NullBuffer::from(seen)),
        )))
    }
}

impl GroupsAccumulator for CheckedSumGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.add_rows(&values[0], group_indices, opt_filter, total_num_groups)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.add_rows(&values[0], group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        self.emit(emit_to)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.emit(emit_to)?])
    }

    /// Each row as its own group: the values themselves, NULL where filtered out.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let values = values[0].as_primitive::<Int64Type>();
        let Some(filter) = opt_filter else {
            return Ok(vec![Arc::new(values.clone())]);
        };
        let kept: Int64Array = values
            .iter()
            .enumerate()
            .map(|(row, v)| v.filter(|_| filter.is_valid(row) && filter.value(row)))
            .collect();
        Ok(vec![Arc::new(kept)])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * size_of::<i128>() + self.seen.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    #[test]
    fn plain_sum_errors_on_overflow_and_ignores_nulls() {
        let mut acc = CheckedSumAccumulator::default();
        acc.update_batch(&[ints(&[None])]).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(None));
        acc.update_batch(&[ints(&[Some(i64::MAX - 1), None])])
            .unwrap();
        acc.update_batch(&[ints(&[Some(1)])]).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(Some(i64::MAX)));
        acc.update_batch(&[ints(&[Some(1)])]).unwrap();
        let err = acc.evaluate().unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
        // Back in range: the result does not depend on the order of the rows.
        acc.update_batch(&[ints(&[Some(-2)])]).unwrap();
        assert_eq!(
            acc.evaluate().unwrap(),
            ScalarValue::Int64(Some(i64::MAX - 1))
        );
    }

    #[test]
    fn grouped_sum_checks_each_group_and_keeps_empty_groups_null() {
        let mut groups = CheckedSumGroups::default();
        groups
            .update_batch(
                &[ints(&[Some(1), Some(2), None, Some(i64::MAX)])],
                &[0, 0, 1, 2],
                None,
                3,
            )
            .unwrap();
        let out = groups.evaluate(EmitTo::All).unwrap();
        let out = out.as_primitive::<Int64Type>();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            [Some(3), None, Some(i64::MAX)]
        );
        groups
            .update_batch(&[ints(&[Some(i64::MAX), Some(1)])], &[0, 0], None, 1)
            .unwrap();
        let err = groups.evaluate(EmitTo::All).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
    }

    #[test]
    fn sliding_sum_retracts_and_checks() {
        let mut acc = CheckedSlidingSum::default();
        acc.update_batch(&[ints(&[Some(5), Some(7)])]).unwrap();
        acc.retract_batch(&[ints(&[Some(5)])]).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(Some(7)));
        acc.retract_batch(&[ints(&[Some(7)])]).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(None));
        acc.update_batch(&[ints(&[Some(i64::MAX), Some(1)])])
            .unwrap();
        assert!(acc.evaluate().is_err());
    }
}
