use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::catalog::memory::MemTable;
use datafusion::physical_plan::collect;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::prelude::SessionContext;

use super::super::super::session::test_context;

fn session(memory_limit: Option<usize>, with_rule: bool) -> SessionContext {
    let ctx = test_context(memory_limit);
    if !with_rule {
        assert!(ctx.remove_optimizer_rule("cohort_first_row_per_key"));
    }
    ctx
}

/// `rows` rows over `keys` keys in three partitions of several batches:
/// some keys once, the first `keys` up to three times with tied, NULL and
/// distinct orderings, some NULL keys; `v` tells the rows apart.
fn register_sessions(ctx: &SessionContext, rows: i64, keys: i64, extreme_order: bool) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, true),
        Field::new("o", DataType::Int64, true),
        Field::new("v", DataType::Utf8, false),
    ]));
    let mut partitions = vec![Vec::new(), Vec::new(), Vec::new()];
    let batch_rows = 1_000;
    let mut start = 0;
    while start < rows {
        let end = (start + batch_rows).min(rows);
        let ids: Vec<i64> = (start..end).collect();
        let key = |i: &i64| match i % 97 {
            0 => None,
            _ if (i / keys) % 3 == 0 => Some(i % keys),
            _ => Some(keys + i),
        };
        let order = |i: &i64| match i % 11 {
            0 => None,
            1 => Some(5),
            _ if extreme_order && i % 13 == 0 => Some(i64::MIN),
            _ => Some((i * 7_919) % 1_000),
        };
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(ids.iter().map(key).collect::<Int64Array>()),
                Arc::new(ids.iter().map(order).collect::<Int64Array>()),
                Arc::new(StringArray::from_iter_values(
                    ids.iter().map(|i| format!("row {i}")),
                )),
            ],
        )
        .unwrap();
        partitions[(start / batch_rows) as usize % 3].push(batch);
        start = end;
    }
    let table = MemTable::try_new(schema, partitions).unwrap();
    ctx.register_table("t", Arc::new(table)).unwrap();
}

/// Our session (the rule on, within `memory_limit`) and DataFusion's own
/// (the rule off, no limit), each with the same `t`.
fn ours_and_theirs(
    memory_limit: Option<usize>,
    rows: i64,
    keys: i64,
    extreme_order: bool,
) -> (SessionContext, SessionContext) {
    let (ours, theirs) = (session(memory_limit, true), session(None, false));
    register_sessions(&ours, rows, keys, extreme_order);
    register_sessions(&theirs, rows, keys, extreme_order);
    (ours, theirs)
}

/// The kept rows' keys and ordering values, sorted (ties may keep any one
/// row, so `v` is left out; without an ordering, any row of the key). Read
/// without an aggregate or a sort, which a tiny pool could not run.
async fn kept(ctx: &SessionContext, order: &str) -> Vec<(Option<i64>, Option<i64>)> {
    let batches = ctx
        .sql(&kept_sql(order))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    key_and_order(&batches, !order.is_empty())
}

fn kept_sql(order: &str) -> String {
    format!("select k, o from t qualify row_number() over (partition by k {order}) = 1")
}

/// The `(k, o)` rows of `batches`, sorted; `o` only `with_order`.
fn key_and_order(batches: &[RecordBatch], with_order: bool) -> Vec<(Option<i64>, Option<i64>)> {
    let mut rows = Vec::new();
    for batch in batches {
        let (k, o) = (
            batch.column(0).as_primitive::<Int64Type>(),
            batch.column(1).as_primitive::<Int64Type>(),
        );
        for i in 0..batch.num_rows() {
            let value = |a: &Int64Array| a.is_valid(i).then(|| a.value(i));
            let ordering = if with_order { value(o) } else { None };
            rows.push((value(k), ordering));
        }
    }
    rows.sort_unstable();
    rows
}

async fn explained(ctx: &SessionContext, order: &str) -> String {
    let sql = format!(
        "explain analyze select count(*) from (
            select * from t qualify row_number() over (partition by k {order}) = 1)"
    );
    let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

const ORDERS: [&str; 5] = [
    "order by o desc",
    "order by o",
    "order by o nulls first",
    "order by o desc nulls last",
    "",
];

/// `ours` ran the key set (`fallback=0`) or the sort (`fallback=1`), as
/// `fallback` says, and kept the rows DataFusion's `row_number()` keeps.
async fn assert_same_rows(
    ours: &SessionContext,
    theirs: &SessionContext,
    order: &str,
    fallback: u8,
) {
    let plan = explained(ours, order).await;
    assert!(
        plan.contains(&format!("fallback={fallback}")),
        "{order}\n{plan}"
    );
    if fallback == 0 {
        assert!(!plan.contains("repeated_keys=0"), "{order}\n{plan}");
    }
    assert_eq!(
        kept(ours, order).await,
        kept(theirs, order).await,
        "{order}"
    );
}

#[tokio::test]
async fn the_key_set_keeps_what_row_number_keeps() {
    let (ours, theirs) = ours_and_theirs(None, 20_000, 3_000, false);
    for order in ORDERS {
        assert_same_rows(&ours, &theirs, order, 0).await;
    }
}

#[tokio::test]
async fn a_pool_too_small_for_the_keys_falls_back_to_sorting() {
    let (ours, theirs) = ours_and_theirs(Some(4 << 20), 400_000, 60_000, false);
    // The sort that runs instead spills within the 4 MB pool.
    ours.sql("set datafusion.execution.sort_spill_reservation_bytes = 65536")
        .await
        .unwrap();
    assert_same_rows(&ours, &theirs, "order by o desc", 1).await;
}

#[tokio::test]
async fn an_ordering_value_at_the_edge_of_int64_falls_back_to_sorting() {
    let (ours, theirs) = ours_and_theirs(None, 20_000, 3_000, true);
    // NULLs first put NULL at the code `i64::MIN` has; descending, not.
    assert_same_rows(&ours, &theirs, "order by o nulls first", 1).await;
    assert_same_rows(&ours, &theirs, "order by o desc", 0).await;
}

#[tokio::test]
async fn text_keys_and_volatile_inputs_are_sorted_instead() {
    let ctx = session(None, true);
    register_sessions(&ctx, 1_000, 100, false);
    for sql in [
        "select * from t qualify row_number() over (partition by v order by o) = 1",
        "select * from t qualify row_number() over (partition by k order by o, v) = 1",
        "select * from (select k, o, random() as r from t) qualify row_number() over (partition by k order by o) = 1",
    ] {
        let plan = ctx.sql(sql).await.unwrap().into_optimized_plan().unwrap();
        let plan = plan.display_indent().to_string();
        assert!(
            !plan.contains("FirstRowsByKeySet") && plan.contains("lag("),
            "{sql}\n{plan}"
        );
    }
}

#[tokio::test]
async fn a_plan_run_again_after_its_state_is_reset_keeps_the_same_rows() {
    // A recursive query runs its term again after `reset_plan_states`; the
    // claims of the repeated keys must start afresh.
    let (ours, theirs) = ours_and_theirs(None, 20_000, 3_000, false);
    let sql = kept_sql("order by o");
    let plan = ours.sql(&sql).await.unwrap();
    let plan = plan.create_physical_plan().await.unwrap();
    let first = collect(Arc::clone(&plan), ours.task_ctx()).await.unwrap();
    let again = reset_plan_states(plan).unwrap();
    let second = collect(again, ours.task_ctx()).await.unwrap();
    let expected = kept(&theirs, "order by o").await;
    assert_eq!(key_and_order(&first, true), expected);
    assert_eq!(key_and_order(&second, true), expected);
}
