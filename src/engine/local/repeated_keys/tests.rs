use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int32Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::catalog::memory::MemTable;
use datafusion::prelude::SessionContext;

use super::super::session::test_context;

fn session(memory_limit: Option<usize>, with_rule: bool) -> SessionContext {
    let ctx = test_context(memory_limit);
    if !with_rule {
        assert!(ctx.remove_optimizer_rule("cohort_repeated_keys"));
    }
    ctx
}

/// `rows` ids (`Int32`) in three partitions of several batches: most once,
/// every tenth id `i % 1000` again (so up to `rows / 10_000 + 1` times),
/// every 97th row NULL.
fn register_ids(ctx: &SessionContext, rows: i32) {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, true)]));
    let mut partitions = vec![Vec::new(), Vec::new(), Vec::new()];
    let mut start = 0;
    while start < rows {
        let end = (start + 1_000).min(rows);
        let ids: Int32Array = (start..end)
            .map(|i| match i {
                _ if i % 97 == 0 => None,
                _ if i % 10 == 0 => Some(i % 1_000),
                _ => Some(i + 1_000_000),
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(ids)]).unwrap();
        partitions[(start / 1_000) as usize % 3].push(batch);
        start = end;
    }
    let table = MemTable::try_new(schema, partitions).unwrap();
    ctx.register_table("t", Arc::new(table)).unwrap();
}

/// The repeated ids and their counts, sorted, read without a sort or an
/// aggregate in the engine (a tiny pool could not run them).
async fn repeated(ctx: &SessionContext, sql: &str) -> Vec<(Option<i32>, i64)> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut rows = Vec::new();
    for batch in &batches {
        let (ids, counts) = (
            batch.column(0).as_primitive::<Int32Type>(),
            batch.column(1).as_primitive::<Int64Type>(),
        );
        for i in 0..batch.num_rows() {
            rows.push((ids.is_valid(i).then(|| ids.value(i)), counts.value(i)));
        }
    }
    rows.sort_unstable();
    rows
}

async fn explained(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx
        .sql(&format!("explain analyze {sql}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

const UNIQUE_TESTS: [&str; 3] = [
    "select id as unique_field, count(*) as n_records from t where id is not null group by id having count(*) > 1",
    "select id, count(*) as n from t group by id having count(*) >= 2",
    "select id, count(1) as n from (select id from t where id > 5) group by id having count(1) > 1",
];

#[tokio::test]
async fn repeated_keys_are_those_the_aggregate_finds() {
    let (ours, theirs) = (session(None, true), session(None, false));
    register_ids(&ours, 30_000);
    register_ids(&theirs, 30_000);
    for sql in UNIQUE_TESTS {
        let plan = explained(&ours, sql).await;
        assert!(plan.contains("fallback=0"), "{sql}\n{plan}");
        assert!(
            !explained(&theirs, sql).await.contains("RepeatedKeysExec"),
            "{sql}"
        );
        let found = repeated(&ours, sql).await;
        assert!(found.len() >= 99, "{sql}: {found:?}");
        assert_eq!(found, repeated(&theirs, sql).await, "{sql}");
    }
    // The NULL key is a group too, and has more than one row here.
    let all = repeated(&ours, UNIQUE_TESTS[1]).await;
    assert!(matches!(all.first(), Some((None, n)) if *n > 1), "{all:?}");
}

#[tokio::test]
async fn a_pool_too_small_for_the_keys_runs_the_aggregate() {
    let (ours, theirs) = (session(Some(4 << 20), true), session(None, false));
    // The aggregate that runs instead spills within the 4 MB pool.
    ours.sql("set datafusion.execution.sort_spill_reservation_bytes = 65536")
        .await
        .unwrap();
    register_ids(&ours, 400_000);
    register_ids(&theirs, 400_000);
    let sql = UNIQUE_TESTS[0];
    let plan = explained(&ours, sql).await;
    assert!(plan.contains("fallback=1"), "{plan}");
    assert_eq!(repeated(&ours, sql).await, repeated(&theirs, sql).await);
}

#[tokio::test]
async fn other_counts_and_keys_are_left_to_the_aggregate() {
    let ctx = session(None, true);
    register_ids(&ctx, 1_000);
    for sql in [
        "select id, count(*) from t group by id having count(*) > 2",
        "select id, count(id) from t group by id having count(id) > 1",
        "select cast(id as varchar) as k, count(*) from t group by k having count(*) > 1",
        "select id, count(*), max(id) from t group by id having count(*) > 1",
    ] {
        assert!(
            !explained(&ctx, sql).await.contains("RepeatedKeysExec"),
            "{sql}"
        );
    }
}
