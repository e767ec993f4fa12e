//! BigQuery's `SAFE.` prefix: `SAFE.F(x)` returns NULL where `F` would raise
//! an error. [`SafeFunction`] wraps any scalar UDF: it evaluates the whole
//! batch and, only if that fails, again row by row, turning each failing
//! row into NULL.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, new_null_array};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// The name of the SAFE variant of a function.
pub fn safe_name(inner: &str) -> String {
    format!("bq_safe__{inner}")
}

/// DataFusion functions the translator may emit under `SAFE.`.
pub const SAFE_NATIVE: &[&str] = &[
    "abs",
    "acos",
    "asin",
    "atan",
    "atan2",
    "ceil",
    "cos",
    "exp",
    "floor",
    "ln",
    "log",
    "log10",
    "pow",
    "power",
    "round",
    "sqrt",
    "trunc",
    "lpad",
    "rpad",
    "repeat",
    "left",
    "right",
    "strpos",
    "regexp_like",
    "regexp_replace",
    "array_element",
    "chr",
    "ascii",
    "lower",
    "upper",
    "starts_with",
    "ends_with",
    "reverse",
    "coalesce",
    "nullif",
    "generate_series",
    "digest",
    "sha256",
    "sha512",
];

/// Wraps `inner` so that rows where it fails become NULL.
#[derive(Debug)]
pub struct SafeFunction {
    name: String,
    inner: Arc<ScalarUDF>,
}

impl SafeFunction {
    /// The SAFE variant of `inner`, as a UDF.
    pub fn udf(inner: Arc<ScalarUDF>) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            name: safe_name(inner.name()),
            inner,
        })
    }

    fn row_by_row(&self, args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
        let return_type = args.return_field.data_type().clone();
        let mut pieces: Vec<ArrayRef> = Vec::with_capacity(args.number_rows);
        for row in 0..args.number_rows {
            let row_args = args
                .args
                .iter()
                .map(|a| match a {
                    ColumnarValue::Array(array) => ColumnarValue::Array(array.slice(row, 1)),
                    ColumnarValue::Scalar(s) => ColumnarValue::Scalar(s.clone()),
                })
                .collect();
            let call = ScalarFunctionArgs {
                args: row_args,
                arg_fields: args.arg_fields.clone(),
                number_rows: 1,
                return_field: Arc::clone(&args.return_field),
                config_options: Arc::clone(&args.config_options),
            };
            let piece = match self.inner.invoke_with_args(call) {
                Ok(value) => value
                    .into_array(1)
                    .unwrap_or_else(|_| new_null_array(&return_type, 1)),
                Err(_) => new_null_array(&return_type, 1),
            };
            pieces.push(piece);
        }
        if pieces.is_empty() {
            return Ok(ColumnarValue::Array(new_null_array(&return_type, 0)));
        }
        let refs: Vec<&dyn datafusion::arrow::array::Array> =
            pieces.iter().map(|p| p.as_ref()).collect();
        Ok(ColumnarValue::Array(concat(&refs)?))
    }
}

impl PartialEq for SafeFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for SafeFunction {}

impl Hash for SafeFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for SafeFunction {
    fn name(&self) -> &str {
        &self.name
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
        let retry = args.clone();
        match self.inner.invoke_with_args(args) {
            Ok(value) => Ok(value),
            Err(_) => self.row_by_row(&retry),
        }
    }
}
