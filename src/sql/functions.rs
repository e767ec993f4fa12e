//! BigQuery-compatible functions as DataFusion UDFs. The translator
//! ([`super::translate`]) rewrites BigQuery calls whose semantics differ from
//! DataFusion's into calls of these `bq_*` functions; everything else runs on
//! DataFusion's own functions.
//!
//! `SUM` replaces DataFusion's own with one whose INT64 sums are checked
//! for overflow, as in BigQuery.
//!
//! Register them once per session with [`register_bigquery_functions`] (a
//! `SessionContext`) or [`register_on_state`] (a `SessionState`).

mod array;
mod cast;
mod checked_sum;
mod common;
mod datetime;
mod hash;
mod json;
mod list_aggregate;
mod math;
mod safe;
mod string;

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::SessionState;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

pub use cast::bigquery_type;
pub use math::checked_arithmetic;
pub use safe::{SAFE_NATIVE, safe_name};

/// Every UDF the translation may emit.
pub fn bigquery_udfs() -> Vec<ScalarUDF> {
    let mut udfs = vec![cast::bq_cast()];
    udfs.extend(datetime::udfs());
    udfs.extend(string::udfs());
    udfs.extend(math::udfs());
    udfs.extend(array::udfs());
    udfs.extend(json::udfs());
    udfs.push(list_aggregate::udf());
    udfs
}

/// Registers every UDF the translation emits on a session context,
/// including the `SAFE.` variants.
pub fn register_bigquery_functions(ctx: &SessionContext) {
    use datafusion::execution::FunctionRegistry;
    let mut safe = Vec::new();
    for udf in bigquery_udfs() {
        let udf = Arc::new(udf);
        safe.push(safe::SafeFunction::udf(Arc::clone(&udf)));
        ctx.register_udf(udf.as_ref().clone());
    }
    for name in SAFE_NATIVE {
        if let Ok(native) = ctx.udf(name) {
            safe.push(safe::SafeFunction::udf(native));
        }
    }
    for udf in safe {
        ctx.register_udf(udf);
    }
    ctx.register_udaf(checked_sum::checked_sum());
    for f in array_lambdas() {
        ctx.register_higher_order_function(f);
    }
    if let Some(get_field) = bq_get_field(&ctx.state()) {
        ctx.register_udf(get_field);
    }
}

/// DataFusion's array lambdas under `bq_` names, which only the translator
/// writes (BigQuery SQL has no lambdas), for subqueries over a row's array.
fn array_lambdas() -> Vec<Arc<datafusion::logical_expr::HigherOrderUDF>> {
    use datafusion::functions_nested::{array_any_match, array_filter, array_transform};
    vec![
        Arc::new(
            array_filter::array_filter_higher_order_function()
                .as_ref()
                .clone()
                .with_aliases(["bq_array_filter"]),
        ),
        Arc::new(
            array_transform::array_transform_higher_order_function()
                .as_ref()
                .clone()
                .with_aliases(["bq_array_transform"]),
        ),
        Arc::new(
            array_any_match::array_any_match_higher_order_function()
                .as_ref()
                .clone()
                .with_aliases(["bq_array_any_match"]),
        ),
    ]
}

/// `get_field` as `bq_get_field`: STRUCT field access the translator writes
/// (the `bq_` prefix keeps it from being read as BigQuery SQL again).
fn bq_get_field(registry: &dyn datafusion::execution::FunctionRegistry) -> Option<ScalarUDF> {
    registry
        .udf("get_field")
        .ok()
        .map(|f| f.as_ref().clone().with_aliases(["bq_get_field"]))
}

/// Registers every UDF the translation emits on a session state, including
/// the `SAFE.` variants.
pub fn register_on_state(state: &mut SessionState) -> Result<()> {
    use datafusion::execution::FunctionRegistry;
    let mut safe = Vec::new();
    for udf in bigquery_udfs() {
        let udf = Arc::new(udf);
        safe.push(safe::SafeFunction::udf(Arc::clone(&udf)));
        state.register_udf(udf)?;
    }
    for name in SAFE_NATIVE {
        if let Ok(native) = state.udf(name) {
            safe.push(safe::SafeFunction::udf(native));
        }
    }
    for udf in safe {
        state.register_udf(Arc::new(udf))?;
    }
    state.register_udaf(Arc::new(checked_sum::checked_sum()))?;
    for f in array_lambdas() {
        state.register_higher_order_function(f)?;
    }
    if let Some(get_field) = bq_get_field(state) {
        state.register_udf(Arc::new(get_field))?;
    }
    Ok(())
}
