//! Shared machinery of the BigQuery UDFs: one table-driven [`BqFunction`]
//! type (name, return type, coercion, row-wise body), argument helpers, and
//! conversions between arrow values and chrono dates and times.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// Computes the return type from argument types and the literal arguments
/// (`None` where an argument is not a literal or is not known yet).
pub type ReturnFn = fn(&[DataType], &[Option<&ScalarValue>]) -> Result<DataType>;
/// Maps argument types to the types DataFusion must cast the arguments to.
pub type CoerceFn = fn(&[DataType]) -> Result<Vec<DataType>>;
/// Evaluates the function on equal-length argument arrays.
pub type InvokeFn = fn(&[ArrayRef], &DataType) -> Result<ArrayRef>;

/// A BigQuery function implemented row-wise over arrow arrays.
pub struct BqFunction {
    name: &'static str,
    signature: Signature,
    ret: ReturnFn,
    coerce: CoerceFn,
    invoke: InvokeFn,
}

impl BqFunction {
    /// Builds the UDF; arguments are coerced by `coerce`.
    pub fn udf(name: &'static str, ret: ReturnFn, coerce: CoerceFn, invoke: InvokeFn) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            name,
            signature: Signature::user_defined(Volatility::Immutable),
            ret,
            coerce,
            invoke,
        })
    }
}

impl std::fmt::Debug for BqFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BqFunction")
            .field("name", &self.name)
            .finish()
    }
}

impl PartialEq for BqFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for BqFunction {}

impl Hash for BqFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for BqFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let none: Vec<Option<&ScalarValue>> = vec![None; arg_types.len()];
        (self.ret)(arg_types, &none)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let data_type = (self.ret)(&types, args.scalar_arguments)?;
        Ok(Arc::new(Field::new(self.name, data_type, true)))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        (self.coerce)(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let result = (self.invoke)(&arrays, args.return_field.data_type())?;
        if all_scalar && result.len() == 1 {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &result, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(result))
        }
    }
}

/// An execution error with BigQuery's wording.
pub fn exec_error(message: impl Into<String>) -> DataFusionError {
    DataFusionError::Execution(message.into())
}

/// A planning error with BigQuery's wording.
pub fn plan_error(message: impl Into<String>) -> DataFusionError {
    DataFusionError::Plan(message.into())
}

/// The timestamp type of BigQuery TIMESTAMP: microseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The type of BigQuery DATETIME: microseconds, no time zone.
pub fn datetime_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

/// Whether a type holds text.
pub fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Whether a type holds bytes.
pub fn is_binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    )
}

/// Whether a type is a floating point number.
pub fn is_float(t: &DataType) -> bool {
    t.is_floating()
}

/// Whether a type is a decimal (NUMERIC / BIGNUMERIC).
pub fn is_decimal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Decimal32(_, _)
            | DataType::Decimal64(_, _)
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _)
    )
}

/// The literal string argument `i`, e.g. a date part.
pub fn literal_str<'a>(scalars: &'a [Option<&ScalarValue>], i: usize) -> Option<&'a str> {
    match scalars.get(i).copied().flatten() {
        Some(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
        ) => Some(s.as_str()),
        _ => None,
    }
}

/// Checks the number of arguments.
pub fn check_arity(name: &str, types: &[DataType], min: usize, max: usize) -> Result<()> {
    if types.len() < min || types.len() > max {
        return Err(plan_error(format!(
            "{name} expects {} arguments, got {}",
            if min == max {
                min.to_string()
            } else {
                format!("{min} to {max}")
            },
            types.len()
        )));
    }
    Ok(())
}

/// Coerces a text-like or NULL argument to Utf8, leaving bytes as Binary.
pub fn text_or_bytes(t: &DataType) -> DataType {
    if is_binary(t) {
        DataType::Binary
    } else {
        DataType::Utf8
    }
}

/// Coerces an argument to a temporal type: dates stay dates, zoned
/// timestamps become TIMESTAMP, naive ones DATETIME, and text `default`.
pub fn temporal(t: &DataType, default: &DataType) -> DataType {
    match t {
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        DataType::Timestamp(_, Some(_)) => timestamp_type(),
        DataType::Timestamp(_, None) => datetime_type(),
        _ => default.clone(),
    }
}

/// The string value of row `i` of a Utf8 array (after coercion), if not null.
pub fn str_at(array: &ArrayRef, i: usize) -> Option<&str> {
    if array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(i)),
        DataType::Utf8View => Some(array.as_string_view().value(i)),
        _ => None,
    }
}

/// The i64 value of row `i` of an Int64 array (after coercion), if not null.
pub fn i64_at(array: &ArrayRef, i: usize) -> Option<i64> {
    if array.is_null(i) {
        return None;
    }
    array
        .as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>()
        .map(|a| a.value(i))
}

/// The constant string of a literal argument array (first row), e.g. a date part.
pub fn const_str(array: &ArrayRef, what: &str) -> Result<String> {
    if array.is_empty() {
        return Ok(String::new());
    }
    str_at(array, 0)
        .map(str::to_string)
        .ok_or_else(|| exec_error(format!("{what} must be a non-NULL string literal")))
}

/// Days between 1970-01-01 and a date.
pub fn date_to_days(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX)
}

/// The date `days` after 1970-01-01.
pub fn days_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?
        .checked_add_signed(chrono::TimeDelta::days(i64::from(days)))
}

/// Microseconds since the epoch → naive date and time (UTC wall clock).
pub fn micros_to_datetime(micros: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

/// Naive date and time (UTC wall clock) → microseconds since the epoch.
pub fn datetime_to_micros(dt: NaiveDateTime) -> Option<i64> {
    let micros = dt.and_utc().timestamp_micros();
    // BigQuery's range: 0001-01-01 to 9999-12-31.
    let year = chrono::Datelike::year(&dt);
    (1..=9999).contains(&year).then_some(micros)
}

/// A temporal value of a DATE, DATETIME or TIMESTAMP column, as wall clock time (UTC).
pub fn temporal_at(array: &ArrayRef, i: usize) -> Option<NaiveDateTime> {
    if array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::Date32 => {
            let a: &Date32Array = array.as_primitive();
            days_to_date(a.value(i)).and_then(|d| d.and_hms_opt(0, 0, 0))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let a: &TimestampMicrosecondArray = array.as_primitive();
            micros_to_datetime(a.value(i))
        }
        _ => None,
    }
}

/// Builds an array of the temporal `target` type from wall clock values.
pub fn temporal_array(values: Vec<Option<NaiveDateTime>>, target: &DataType) -> Result<ArrayRef> {
    match target {
        DataType::Date32 => Ok(Arc::new(Date32Array::from(
            values
                .into_iter()
                .map(|v| v.map(|dt| date_to_days(dt.date())))
                .collect::<Vec<_>>(),
        ))),
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Some(dt) => Some(datetime_to_micros(dt).ok_or_else(|| {
                        exec_error(format!("{dt} is out of the range of TIMESTAMP values"))
                    })?),
                    None => None,
                });
            }
            Ok(Arc::new(
                TimestampMicrosecondArray::from(out).with_timezone_opt(tz.clone()),
            ))
        }
        other => Err(exec_error(format!("unexpected temporal type {other}"))),
    }
}

// Return-type functions for UDFs whose result type never depends on the arguments.

pub fn ret_int64(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int64)
}

pub fn ret_string(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Utf8)
}

pub fn ret_bool(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Boolean)
}

pub fn ret_binary(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Binary)
}

pub fn ret_date(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Date32)
}

pub fn ret_datetime(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(datetime_type())
}

pub fn ret_timestamp(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(timestamp_type())
}
