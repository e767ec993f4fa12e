//! BigQuery arithmetic: `/` (INT64 / INT64 is FLOAT64, division by zero is an
//! error), SAFE_DIVIDE (NULL instead of errors), IEEE_DIVIDE (inf and NaN),
//! GREATEST / LEAST, which are NULL when any argument is NULL, and ROUND's
//! INT64 argument as FLOAT64.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Float64Array, Int64Array,
};
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::compute::{is_null, nullif, or};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, FieldRef, Float64Type, Int64Type, i256,
};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

use super::common::{
    BqFunction, check_arity, exec_error, is_decimal, is_float, plan_error, ret_int64,
};

/// All UDFs of this module.
pub fn udfs() -> Vec<ScalarUDF> {
    let [add, sub, mul] = checked_arithmetic();
    vec![
        add,
        sub,
        mul,
        bq_div(),
        BqFunction::udf(
            "bq_int_to_float",
            ret_coerced,
            coerce_int_to_float,
            invoke_identity,
        ),
        BqFunction::udf("bq_divide", ret_coerced, coerce_divide, invoke_divide),
        BqFunction::udf(
            "bq_safe_divide",
            ret_coerced,
            coerce_divide,
            invoke_safe_divide,
        ),
        BqFunction::udf(
            "bq_ieee_divide",
            ret_coerced,
            coerce_ieee,
            invoke_ieee_divide,
        ),
        ScalarUDF::new_from_impl(NullIfAnyNull::new(
            "bq_greatest",
            datafusion::functions::core::greatest(),
        )),
        ScalarUDF::new_from_impl(NullIfAnyNull::new(
            "bq_least",
            datafusion::functions::core::least(),
        )),
    ]
}

/// `DIV(x, y)`: integer division truncated toward zero, for INT64 and NUMERIC.
fn bq_div() -> ScalarUDF {
    BqFunction::udf("bq_div", ret_coerced, coerce_div, invoke_div)
}

fn coerce_div(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("DIV", types, 2, 2)?;
    if types.iter().any(is_float) {
        return Err(plan_error(
            "DIV takes INT64 or NUMERIC arguments, not FLOAT64",
        ));
    }
    let target = if types.iter().any(is_decimal) {
        DataType::Decimal128(38, 9)
    } else {
        DataType::Int64
    };
    Ok(vec![target.clone(), target])
}

fn invoke_div(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    if let DataType::Decimal128(_, _) = ret {
        let (a, b) = (
            args[0].as_primitive::<Decimal128Type>(),
            args[1].as_primitive::<Decimal128Type>(),
        );
        let mut out = Vec::with_capacity(a.len());
        for (x, y) in a.iter().zip(b.iter()) {
            out.push(match (x, y) {
                (Some(_), Some(0)) => return Err(exec_error("division by zero")),
                (Some(x), Some(y)) => Some(
                    (x / y)
                        .checked_mul(1_000_000_000)
                        .ok_or_else(|| exec_error("numeric overflow in DIV"))?,
                ),
                _ => None,
            });
        }
        return Ok(Arc::new(
            Decimal128Array::from(out).with_precision_and_scale(38, 9)?,
        ));
    }
    let (a, b) = (
        args[0].as_primitive::<Int64Type>(),
        args[1].as_primitive::<Int64Type>(),
    );
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b.iter()) {
        out.push(match (x, y) {
            (Some(x), Some(0)) => return Err(exec_error(format!("division by zero: {x} / 0"))),
            (Some(x), Some(y)) => Some(
                x.checked_div(y)
                    .ok_or_else(|| exec_error(format!("integer overflow: {x} / {y}")))?,
            ),
            _ => None,
        });
    }
    Ok(Arc::new(Int64Array::from(out)))
}

/// Checked INT64 `+`, `-`, `*`: overflow is an error.
pub fn checked_arithmetic() -> [ScalarUDF; 3] {
    [
        BqFunction::udf(
            "bq_checked_add",
            ret_int64,
            coerce_int64_pair,
            invoke_checked_add,
        ),
        BqFunction::udf(
            "bq_checked_sub",
            ret_int64,
            coerce_int64_pair,
            invoke_checked_sub,
        ),
        BqFunction::udf(
            "bq_checked_mul",
            ret_int64,
            coerce_int64_pair,
            invoke_checked_mul,
        ),
    ]
}

fn coerce_int64_pair(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("+", types, 2, 2)?;
    Ok(vec![DataType::Int64, DataType::Int64])
}

fn overflow_error(e: datafusion::arrow::error::ArrowError) -> datafusion::error::DataFusionError {
    exec_error(format!("integer overflow: {e}"))
}

fn invoke_checked_add(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    numeric::add(&args[0], &args[1]).map_err(overflow_error)
}

fn invoke_checked_sub(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    numeric::sub(&args[0], &args[1]).map_err(overflow_error)
}

fn invoke_checked_mul(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    numeric::mul(&args[0], &args[1]).map_err(overflow_error)
}

/// ROUND's argument: INT64 becomes FLOAT64 (BigQuery's ROUND(INT64) is
/// FLOAT64); FLOAT64 and NUMERIC stay as they are.
fn coerce_int_to_float(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("ROUND", types, 1, 1)?;
    Ok(vec![
        if types[0].is_integer() || types[0] == DataType::Null {
            DataType::Float64
        } else {
            types[0].clone()
        },
    ])
}

fn invoke_identity(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    Ok(Arc::clone(&args[0]))
}

fn ret_coerced(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(types.first().cloned().unwrap_or(DataType::Float64))
}

/// The common type of a division: FLOAT64 if either side is a float or both
/// are integers, NUMERIC if a side is NUMERIC.
fn coerce_divide(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("/", types, 2, 2)?;
    let target = if types.iter().any(is_float) {
        DataType::Float64
    } else if types
        .iter()
        .any(|t| matches!(t, DataType::Decimal256(_, _)))
    {
        return Err(plan_error(
            "BigQuery feature not supported locally yet: BIGNUMERIC division",
        ));
    } else if types.iter().any(is_decimal) {
        DataType::Decimal128(38, 9)
    } else {
        DataType::Float64
    };
    Ok(vec![target.clone(), target])
}

fn coerce_ieee(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("IEEE_DIVIDE", types, 2, 2)?;
    Ok(vec![DataType::Float64, DataType::Float64])
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OnError {
    Fail,
    Null,
}

fn divide(args: &[ArrayRef], on_error: OnError) -> Result<ArrayRef> {
    match args[0].data_type() {
        DataType::Decimal128(_, _) => divide_decimal(args, on_error),
        _ => divide_float(args, on_error),
    }
}

fn divide_float(args: &[ArrayRef], on_error: OnError) -> Result<ArrayRef> {
    let (a, b) = (
        args[0].as_primitive::<Float64Type>(),
        args[1].as_primitive::<Float64Type>(),
    );
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b.iter()) {
        out.push(match (x, y) {
            (Some(x), Some(y)) if y == 0.0 => match on_error {
                OnError::Null => None,
                OnError::Fail => return Err(exec_error(format!("division by zero: {x} / {y}"))),
            },
            (Some(x), Some(y)) => Some(x / y),
            _ => None,
        });
    }
    Ok(Arc::new(Float64Array::from(out)))
}

/// NUMERIC division at scale 9, rounding halfway cases away from zero.
fn divide_decimal(args: &[ArrayRef], on_error: OnError) -> Result<ArrayRef> {
    let (a, b) = (
        args[0].as_primitive::<Decimal128Type>(),
        args[1].as_primitive::<Decimal128Type>(),
    );
    let scale = i256::from_i128(1_000_000_000);
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b.iter()) {
        let (Some(x), Some(y)) = (x, y) else {
            out.push(None);
            continue;
        };
        let quotient = if y == 0 {
            None
        } else {
            decimal_quotient(x, y, scale)
        };
        match (quotient, on_error) {
            (Some(q), _) => out.push(Some(q)),
            (None, OnError::Null) => out.push(None),
            (None, OnError::Fail) if y == 0 => return Err(exec_error("division by zero")),
            (None, OnError::Fail) => return Err(exec_error("numeric overflow in division")),
        }
    }
    Ok(Arc::new(
        Decimal128Array::from(out).with_precision_and_scale(38, 9)?,
    ))
}

fn decimal_quotient(x: i128, y: i128, scale: i256) -> Option<i128> {
    let n = i256::from_i128(x).checked_mul(scale)?;
    let d = i256::from_i128(y);
    let q = n.checked_div(d)?;
    let r = n.checked_rem(d)?;
    let twice = r.checked_mul(i256::from_i128(2))?;
    let round_away = twice.wrapping_abs() >= d.wrapping_abs();
    let negative = (x < 0) != (y < 0);
    let q = match (round_away, negative) {
        (true, true) => q.checked_sub(i256::ONE)?,
        (true, false) => q.checked_add(i256::ONE)?,
        _ => q,
    };
    let q = q.to_i128()?;
    (q.unsigned_abs() < 10_u128.pow(38)).then_some(q)
}

fn invoke_divide(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    divide(args, OnError::Fail)
}

fn invoke_safe_divide(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    divide(args, OnError::Null)
}

fn invoke_ieee_divide(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (a, b) = (
        args[0].as_primitive::<Float64Type>(),
        args[1].as_primitive::<Float64Type>(),
    );
    let out: Float64Array = a.iter().zip(b.iter()).map(|(x, y)| Some(x? / y?)).collect();
    Ok(Arc::new(out))
}

/// Wraps a DataFusion function so that it returns NULL when any argument is
/// NULL (BigQuery's GREATEST and LEAST).
#[derive(Debug)]
struct NullIfAnyNull {
    name: &'static str,
    inner: Arc<ScalarUDF>,
}

impl NullIfAnyNull {
    fn new(name: &'static str, inner: Arc<ScalarUDF>) -> Self {
        Self { name, inner }
    }
}

impl PartialEq for NullIfAnyNull {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for NullIfAnyNull {}

impl Hash for NullIfAnyNull {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for NullIfAnyNull {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let return_type = args.return_field.data_type().clone();
        let rows = args.number_rows;
        if args
            .args
            .iter()
            .any(|a| matches!(a, ColumnarValue::Scalar(s) if s.is_null()))
        {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from(&return_type)?));
        }
        let mut mask: Option<BooleanArray> = None;
        for arg in &args.args {
            if let ColumnarValue::Array(a) = arg
                && a.null_count() > 0
            {
                let nulls = is_null(a.as_ref())?;
                mask = Some(match mask {
                    None => nulls,
                    Some(m) => or(&m, &nulls)?,
                });
            }
        }
        let result = self.inner.invoke_with_args(args)?;
        let Some(mask) = mask else {
            return Ok(result);
        };
        let array = result.into_array(rows)?;
        Ok(ColumnarValue::Array(nullif(array.as_ref(), &mask)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_quotient_rounds_half_away() {
        let scale = i256::from_i128(1_000_000_000);
        // 1 / 3 at scale 9 = 0.333333333
        assert_eq!(
            decimal_quotient(1_000_000_000, 3_000_000_000, scale),
            Some(333_333_333)
        );
        // 2 / 3 = 0.666666667
        assert_eq!(
            decimal_quotient(2_000_000_000, 3_000_000_000, scale),
            Some(666_666_667)
        );
        assert_eq!(
            decimal_quotient(-2_000_000_000, 3_000_000_000, scale),
            Some(-666_666_667)
        );
    }
}
