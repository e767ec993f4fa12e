//! `bq_list_aggregate(kind, array)`: one aggregate over each row's array,
//! for a subquery that aggregates the current row's array, e.g. the GA4
//! `(SELECT SUM(price * quantity) FROM UNNEST(items))`. The kinds and their
//! BigQuery results: `count_star` and `count` (INT64, 0 for an empty or NULL
//! array; `count` skips NULLs), `countif` (INT64), `sum` (INT64 with the
//! overflow error, or FLOAT64), `avg` (FLOAT64), `min` / `max` (the element
//! type), `logical_and` / `logical_or` (BOOL). Every kind but the counts is
//! NULL when no element is non-NULL.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, new_empty_array};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_aggregate::min_max::{MaxAccumulator, MinAccumulator};
use datafusion::logical_expr::{Accumulator, ScalarUDF};

use super::common::{BqFunction, check_arity, const_str, exec_error, literal_str, plan_error};

/// The UDF.
pub fn udf() -> ScalarUDF {
    BqFunction::udf("bq_list_aggregate", ret, coerce, invoke)
}

const KINDS: [&str; 9] = [
    "count_star",
    "count",
    "countif",
    "sum",
    "avg",
    "min",
    "max",
    "logical_and",
    "logical_or",
];

fn element(types: &[DataType]) -> DataType {
    match types.get(1) {
        Some(DataType::List(f) | DataType::LargeList(f)) => f.data_type().clone(),
        _ => DataType::Null,
    }
}

fn ret(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let kind = literal_str(scalars, 0).unwrap_or("count");
    let element = element(types);
    Ok(match kind {
        "count_star" | "count" | "countif" => DataType::Int64,
        "avg" => DataType::Float64,
        "logical_and" | "logical_or" => DataType::Boolean,
        "sum" if element.is_signed_integer() || element == DataType::Null => DataType::Int64,
        "sum" if element.is_floating() => DataType::Float64,
        "sum" => {
            return Err(plan_error(format!(
                "BigQuery feature not supported locally yet: SUM of {element} over an array in a subquery"
            )));
        }
        _ => element,
    })
}

fn coerce(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("bq_list_aggregate", types, 2, 2)?;
    Ok(vec![DataType::Utf8, types[1].clone()])
}

fn invoke(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let kind = const_str(&args[0], "aggregate kind")?;
    if !KINDS.contains(&kind.as_str()) {
        return Err(exec_error(format!("unknown array aggregate {kind}")));
    }
    let counts = matches!(kind.as_str(), "count_star" | "count" | "countif");
    let mut values = Vec::with_capacity(args[1].len());
    for row in 0..args[1].len() {
        let slice = match args[1].data_type() {
            DataType::List(_) if !args[1].is_null(row) => Some(args[1].as_list::<i32>().value(row)),
            _ => None,
        };
        let value = match slice {
            Some(slice) => aggregate(&kind, &slice, ret)?,
            None if counts => ScalarValue::Int64(Some(0)),
            None => ScalarValue::try_from(ret)?,
        };
        values.push(value);
    }
    if values.is_empty() {
        return Ok(new_empty_array(ret));
    }
    ScalarValue::iter_to_array(values)
}

fn count(n: usize) -> ScalarValue {
    ScalarValue::Int64(Some(i64::try_from(n).unwrap_or(i64::MAX)))
}

fn aggregate(kind: &str, slice: &ArrayRef, ret: &DataType) -> Result<ScalarValue> {
    let non_null = slice.len() - slice.null_count();
    Ok(match kind {
        "count_star" => count(slice.len()),
        "count" => count(non_null),
        "countif" => count(slice.as_boolean_opt().map_or(0, |b| b.true_count())),
        "sum" if *ret == DataType::Int64 => {
            let mut sum = 0i128;
            if let Some(ints) = slice.as_primitive_opt::<Int64Type>() {
                for v in ints.iter().flatten() {
                    sum += i128::from(v);
                }
            }
            if non_null == 0 {
                ScalarValue::Int64(None)
            } else {
                let sum = i64::try_from(sum)
                    .map_err(|_| exec_error("int64 overflow: SUM of INT64 values out of range"))?;
                ScalarValue::Int64(Some(sum))
            }
        }
        "sum" | "avg" => {
            let floats = datafusion::arrow::compute::cast(slice, &DataType::Float64)?;
            let floats = floats.as_primitive::<Float64Type>();
            let sum: f64 = floats.iter().flatten().sum();
            let value = if kind == "avg" {
                sum / non_null as f64
            } else {
                sum
            };
            ScalarValue::Float64((non_null > 0).then_some(value))
        }
        "min" | "max" => {
            let mut acc: Box<dyn Accumulator> = if kind == "min" {
                Box::new(MinAccumulator::try_new(slice.data_type())?)
            } else {
                Box::new(MaxAccumulator::try_new(slice.data_type())?)
            };
            acc.update_batch(std::slice::from_ref(slice))?;
            acc.evaluate()?
        }
        _ => {
            let Some(bools) = slice.as_boolean_opt() else {
                return Err(exec_error("LOGICAL_AND / LOGICAL_OR need BOOL values"));
            };
            let (trues, falses) = (bools.true_count(), non_null - bools.true_count());
            ScalarValue::Boolean((non_null > 0).then_some(if kind == "logical_and" {
                falses == 0
            } else {
                trues > 0
            }))
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use datafusion::arrow::array::ListArray;
    use datafusion::arrow::datatypes::Int64Type;

    fn lists() -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), None, Some(5)]),
            Some(vec![]),
            None,
        ]))
    }

    fn run(kind: &str) -> Vec<ScalarValue> {
        let kind_scalar = ScalarValue::Utf8(Some(kind.to_string()));
        let types = [DataType::Utf8, lists().data_type().clone()];
        let ret = ret(&types, &[Some(&kind_scalar), None]).unwrap();
        let kinds: ArrayRef = Arc::new(datafusion::arrow::array::StringArray::from(vec![kind; 3]));
        let out = invoke(&[kinds, lists()], &ret).unwrap();
        (0..out.len())
            .map(|i| ScalarValue::try_from_array(&out, i).unwrap())
            .collect()
    }

    #[test]
    fn aggregates_follow_bigquery_on_empty_null_and_null_elements() {
        use ScalarValue::{Float64, Int64};
        assert_eq!(
            run("count_star"),
            [Int64(Some(3)), Int64(Some(0)), Int64(Some(0))]
        );
        assert_eq!(
            run("count"),
            [Int64(Some(2)), Int64(Some(0)), Int64(Some(0))]
        );
        assert_eq!(run("sum"), [Int64(Some(6)), Int64(None), Int64(None)]);
        assert_eq!(
            run("avg"),
            [Float64(Some(3.0)), Float64(None), Float64(None)]
        );
        assert_eq!(run("min"), [Int64(Some(1)), Int64(None), Int64(None)]);
        assert_eq!(run("max"), [Int64(Some(5)), Int64(None), Int64(None)]);
    }

    #[test]
    fn int64_sum_overflow_is_an_error() {
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(i64::MAX), Some(1)]),
        ]));
        let kinds: ArrayRef = Arc::new(datafusion::arrow::array::StringArray::from(vec!["sum"]));
        let err = invoke(&[kinds, list], &DataType::Int64).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
    }
}
