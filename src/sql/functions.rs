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
    Ok(())
}
