//! BigQuery array access: `arr[OFFSET(i)]`, `[SAFE_OFFSET(i)]`,
//! `[ORDINAL(i)]`, `[SAFE_ORDINAL(i)]` (out of bounds is an error unless
//! SAFE_), ARRAY_LENGTH (0 for an empty array, NULL for NULL), and the
//! offsets of UNNEST ... WITH OFFSET, ARRAY_TO_STRING (STRING or BYTES),
//! and RANGE_BUCKET.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray, UInt64Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use super::common::{
    BqFunction, check_arity, exec_error, i64_at, is_binary, plan_error, ret_int64,
};

/// All UDFs of this module.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        BqFunction::udf("bq_array_offset", ret_element, coerce_at, invoke_offset),
        BqFunction::udf(
            "bq_array_safe_offset",
            ret_element,
            coerce_at,
            invoke_safe_offset,
        ),
        BqFunction::udf("bq_array_ordinal", ret_element, coerce_at, invoke_ordinal),
        BqFunction::udf(
            "bq_array_safe_ordinal",
            ret_element,
            coerce_at,
            invoke_safe_ordinal,
        ),
        BqFunction::udf("bq_array_length", ret_int64, coerce_list_one, invoke_length),
        BqFunction::udf(
            "bq_array_offsets",
            ret_offsets,
            coerce_list_one,
            invoke_offsets,
        ),
        BqFunction::udf(
            "bq_array_or_null",
            ret_same_list,
            coerce_list_one,
            invoke_or_null,
        ),
        BqFunction::udf(
            "bq_scalar_element",
            ret_element,
            coerce_list_one,
            invoke_scalar_element,
        ),
        BqFunction::udf(
            "bq_array_or_empty",
            ret_same_list,
            coerce_list_one,
            invoke_or_empty,
        ),
        BqFunction::udf(
            "bq_array_to_string",
            ret_array_to_string,
            coerce_array_to_string,
            invoke_array_to_string,
        ),
        BqFunction::udf(
            "bq_range_bucket",
            ret_int64,
            coerce_range_bucket,
            invoke_range_bucket,
        ),
    ]
}

fn element_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.data_type().clone())
        }
        DataType::Null => Some(DataType::Null),
        _ => None,
    }
}

fn ret_element(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    types
        .first()
        .and_then(element_type)
        .ok_or_else(|| plan_error("Array element access is only valid on an ARRAY"))
}

fn as_list(t: &DataType) -> Result<DataType> {
    let element =
        element_type(t).ok_or_else(|| plan_error(format!("expected an ARRAY, got {t}")))?;
    Ok(DataType::List(Arc::new(Field::new_list_field(
        element, true,
    ))))
}

fn ret_same_list(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    types
        .first()
        .map(as_list)
        .unwrap_or_else(|| Err(plan_error("missing argument")))
}

fn ret_offsets(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::List(Arc::new(Field::new_list_field(
        DataType::Int64,
        true,
    ))))
}

fn coerce_at(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("OFFSET", types, 2, 2)?;
    Ok(vec![as_list(&types[0])?, DataType::Int64])
}

fn coerce_list_one(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("ARRAY_LENGTH", types, 1, 1)?;
    Ok(vec![as_list(&types[0])?])
}

fn element_at(args: &[ArrayRef], base: i64, safe: bool) -> Result<ArrayRef> {
    if args[0].data_type() == &DataType::Null {
        return Ok(args[0].clone());
    }
    let list = args[0].as_list::<i32>();
    let n = list.len().max(args[1].len());
    let mut indices: Vec<Option<u64>> = Vec::with_capacity(n);
    for i in 0..n {
        let row = i.min(list.len().saturating_sub(1));
        let Some(index) = i64_at(&args[1], i.min(args[1].len().saturating_sub(1))) else {
            indices.push(None);
            continue;
        };
        if list.is_null(row) {
            indices.push(None);
            continue;
        }
        let offsets = list.value_offsets();
        let (start, end) = (i64::from(offsets[row]), i64::from(offsets[row + 1]));
        let pos = index - base;
        if pos >= 0 && pos < end - start {
            indices.push(u64::try_from(start + pos).ok());
        } else if safe {
            indices.push(None);
        } else {
            let kind = if base == 0 { "OFFSET" } else { "ORDINAL" };
            return Err(exec_error(format!(
                "Array index {index} is out of bounds ({kind}; the array has {} elements)",
                end - start
            )));
        }
    }
    let indices = UInt64Array::from(indices);
    Ok(take(list.values().as_ref(), &indices, None)?)
}

fn invoke_offset(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    element_at(args, 0, false)
}

fn invoke_safe_offset(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    element_at(args, 0, true)
}

fn invoke_ordinal(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    element_at(args, 1, false)
}

fn invoke_safe_ordinal(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    element_at(args, 1, true)
}

fn invoke_length(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    if args[0].data_type() == &DataType::Null {
        return Ok(cast(&args[0], &DataType::Int64)?);
    }
    let list = args[0].as_list::<i32>();
    let out: Int64Array = (0..list.len())
        .map(|i| {
            (!list.is_null(i)).then(|| {
                let offsets = list.value_offsets();
                i64::from(offsets[i + 1] - offsets[i])
            })
        })
        .collect();
    Ok(Arc::new(out))
}

/// `[0, 1, ..., n - 1]` for an array of n elements (UNNEST ... WITH OFFSET).
fn invoke_offsets(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let field = Arc::new(Field::new_list_field(DataType::Int64, true));
    if args[0].data_type() == &DataType::Null {
        return Ok(datafusion::arrow::array::new_null_array(
            &DataType::List(field),
            args[0].len(),
        ));
    }
    let list = args[0].as_list::<i32>();
    let offsets = list.offsets().clone();
    let mut values = Vec::with_capacity(list.values().len());
    for i in 0..list.len() {
        let n = offsets[i + 1] - offsets[i];
        values.extend((0..n).map(i64::from));
    }
    let nulls = list.nulls().cloned();
    Ok(Arc::new(ListArray::try_new(
        field,
        offsets,
        Arc::new(Int64Array::from(values)),
        nulls,
    )?))
}

/// A scalar subquery's value over an array: NULL when the array is empty or
/// NULL, its element when it has one, an error when it has more.
fn invoke_scalar_element(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    if args[0].data_type() == &DataType::Null {
        return Ok(datafusion::arrow::array::new_null_array(ret, args[0].len()));
    }
    let list = args[0].as_list::<i32>();
    let offsets = list.value_offsets();
    let mut indices: Vec<Option<u64>> = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let len = offsets[i + 1] - offsets[i];
        if list.is_null(i) || len == 0 {
            indices.push(None);
        } else if len == 1 {
            indices.push(u64::try_from(offsets[i]).ok());
        } else {
            return Err(exec_error(format!(
                "Scalar subquery produced more than one element ({len})"
            )));
        }
    }
    Ok(take(
        list.values().as_ref(),
        &UInt64Array::from(indices),
        None,
    )?)
}

/// The array itself, or an empty array of its type when it is NULL (`ARRAY(...)` is never NULL).
fn invoke_or_empty(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let DataType::List(field) = ret else {
        return Err(exec_error("expected an ARRAY"));
    };
    if args[0].data_type() == &DataType::Null {
        let values = datafusion::arrow::array::new_empty_array(field.data_type());
        let offsets = OffsetBuffer::new_zeroed(args[0].len());
        return Ok(Arc::new(ListArray::try_new(
            Arc::clone(field),
            offsets,
            values,
            None,
        )?));
    }
    let list = args[0].as_list::<i32>();
    Ok(Arc::new(ListArray::try_new(
        Arc::clone(field),
        list.offsets().clone(),
        Arc::clone(list.values()),
        None,
    )?))
}

/// The array itself, or `[NULL]` when it is empty or NULL (LEFT JOIN UNNEST).
fn invoke_or_null(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let DataType::List(field) = ret else {
        return Err(exec_error("expected an ARRAY"));
    };
    if args[0].data_type() == &DataType::Null {
        let values = datafusion::arrow::array::new_null_array(field.data_type(), args[0].len());
        let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(1, args[0].len()));
        return Ok(Arc::new(ListArray::try_new(
            Arc::clone(field),
            offsets,
            values,
            None,
        )?));
    }
    let list = args[0].as_list::<i32>();
    let values = list.values();
    let null_element = datafusion::arrow::array::new_null_array(values.data_type(), 1);
    let mut pieces: Vec<ArrayRef> = Vec::with_capacity(list.len());
    let mut lengths = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let (start, end) = (list.value_offsets()[i], list.value_offsets()[i + 1]);
        let len = usize::try_from(end - start).unwrap_or(0);
        if list.is_null(i) || len == 0 {
            pieces.push(Arc::clone(&null_element));
            lengths.push(1);
        } else {
            pieces.push(values.slice(usize::try_from(start).unwrap_or(0), len));
            lengths.push(len);
        }
    }
    let refs: Vec<&dyn Array> = pieces.iter().map(|p| p.as_ref()).collect();
    let values = if refs.is_empty() {
        datafusion::arrow::array::new_empty_array(values.data_type())
    } else {
        datafusion::arrow::compute::concat(&refs)?
    };
    let offsets = OffsetBuffer::from_lengths(lengths);
    Ok(Arc::new(ListArray::try_new(
        Arc::clone(field),
        offsets,
        values,
        None,
    )?))
}

/// The element type ARRAY_TO_STRING joins: BYTES stays BYTES, anything else is STRING.
fn joined_type(types: &[DataType]) -> DataType {
    match types.first().and_then(element_type) {
        Some(t) if is_binary(&t) => DataType::Binary,
        _ => DataType::Utf8,
    }
}

fn ret_array_to_string(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(joined_type(types))
}

fn coerce_array_to_string(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("ARRAY_TO_STRING", types, 2, 3)?;
    let t = joined_type(types);
    let mut out = vec![DataType::List(Arc::new(Field::new_list_field(
        t.clone(),
        true,
    )))];
    out.extend(std::iter::repeat_n(t, types.len() - 1));
    Ok(out)
}

/// The bytes of row `i` of a Utf8 or Binary array (after coercion), if not null.
fn bytes_at(array: &dyn Array, i: usize) -> Option<&[u8]> {
    if array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(i).as_bytes()),
        DataType::Binary => Some(array.as_binary::<i32>().value(i)),
        _ => None,
    }
}

/// ARRAY_TO_STRING(array, delimiter [, null_text]): NULL elements are left
/// out unless `null_text` is given; a NULL argument gives NULL.
fn invoke_array_to_string(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let values = list.values();
    let mut joined: Vec<Option<Vec<u8>>> = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let delimiter = bytes_at(args[1].as_ref(), i);
        let null_text = args.get(2).map(|a| bytes_at(a.as_ref(), i));
        let (Some(delimiter), false, false) =
            (delimiter, list.is_null(i), matches!(null_text, Some(None)))
        else {
            joined.push(None);
            continue;
        };
        let offsets = list.value_offsets();
        let (start, end) = (offsets[i], offsets[i + 1]);
        let mut out = Vec::new();
        let mut first = true;
        for j in start..end {
            let element = bytes_at(values.as_ref(), usize::try_from(j).unwrap_or(0));
            let Some(piece) = element.or(null_text.flatten()) else {
                continue;
            };
            if !first {
                out.extend_from_slice(delimiter);
            }
            out.extend_from_slice(piece);
            first = false;
        }
        joined.push(Some(out));
    }
    if *ret == DataType::Binary {
        return Ok(Arc::new(datafusion::arrow::array::BinaryArray::from_iter(
            joined,
        )));
    }
    let strings = joined
        .into_iter()
        .map(|b| b.map(String::from_utf8).transpose())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| exec_error("ARRAY_TO_STRING produced invalid UTF-8"))?;
    Ok(Arc::new(datafusion::arrow::array::StringArray::from(
        strings,
    )))
}

/// RANGE_BUCKET(point, boundaries): INT64 values compare exactly, any FLOAT64
/// makes both FLOAT64; NUMERIC is not supported locally yet.
fn coerce_range_bucket(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("RANGE_BUCKET", types, 2, 2)?;
    let element = element_type(&types[1])
        .ok_or_else(|| plan_error("RANGE_BUCKET expects an ARRAY as its second argument"))?;
    let numeric = |t: &DataType| match t {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Null => {
            Ok(false)
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Ok(true),
        other => Err(plan_error(format!(
            "BigQuery feature not supported locally yet: RANGE_BUCKET of {other}"
        ))),
    };
    let float = numeric(&types[0])? | numeric(&element)?;
    let t = if float {
        DataType::Float64
    } else {
        DataType::Int64
    };
    Ok(vec![
        t.clone(),
        DataType::List(Arc::new(Field::new_list_field(t, true))),
    ])
}

/// The number of boundaries at or below `point` (the 0-based position of its
/// upper bound); an error when the boundaries hold NULL or NaN or are not
/// sorted ascending.
fn range_bucket<T: PartialOrd + Copy>(point: T, boundaries: &[Option<T>]) -> Result<i64> {
    let mut previous: Option<T> = None;
    let mut count = 0i64;
    for b in boundaries {
        // NaN is the only value not equal to itself.
        let Some(b) = b.filter(|b| b.partial_cmp(b).is_some()) else {
            return Err(exec_error(
                "RANGE_BUCKET: the boundaries array must not contain NULL or NaN",
            ));
        };
        if previous.is_some_and(|p| p > b) {
            return Err(exec_error(
                "RANGE_BUCKET: the boundaries array must be sorted in ascending order",
            ));
        }
        previous = Some(b);
        if b <= point {
            count += 1;
        }
    }
    Ok(count)
}

fn invoke_range_bucket(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    use datafusion::arrow::datatypes::{Float64Type, Int64Type};
    let lists = args[1].as_list::<i32>();
    let n = args[0].len().max(lists.len());
    let mut out: Vec<Option<i64>> = Vec::with_capacity(n);
    for i in 0..n {
        if args[0].is_null(i) || lists.is_null(i) {
            out.push(None);
            continue;
        }
        let values = lists.value(i);
        let bucket = if *args[0].data_type() == DataType::Float64 {
            let point = args[0].as_primitive::<Float64Type>().value(i);
            if point.is_nan() {
                return Err(exec_error(
                    "BigQuery feature not supported locally yet: RANGE_BUCKET of NaN",
                ));
            }
            let bounds: Vec<Option<f64>> = values.as_primitive::<Float64Type>().iter().collect();
            range_bucket(point, &bounds)?
        } else {
            let point = args[0].as_primitive::<Int64Type>().value(i);
            let bounds: Vec<Option<i64>> = values.as_primitive::<Int64Type>().iter().collect();
            range_bucket(point, &bounds)?
        };
        out.push(Some(bucket));
    }
    Ok(Arc::new(Int64Array::from(out)))
}

#[cfg(test)]
mod tests {
    use super::range_bucket;

    #[test]
    fn range_bucket_matches_bigquery() {
        let b = [Some(0), Some(10), Some(20), Some(30), Some(40)];
        assert_eq!(range_bucket(20, &b).unwrap(), 3);
        assert_eq!(range_bucket(25, &b).unwrap(), 3);
        assert_eq!(range_bucket(-10, &b).unwrap(), 0);
        assert_eq!(range_bucket(80, &b).unwrap(), 5);
        assert_eq!(range_bucket(20, &[]).unwrap(), 0);
        assert!(range_bucket(20, &[Some(10), Some(5)]).is_err());
        assert!(range_bucket(20, &[Some(10), None]).is_err());
        assert!(range_bucket(1.0, &[Some(f64::NAN)]).is_err());
    }
}
