use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;

use super::super::session::test_context;

/// Sessions with duplicates, NULL keys (also first in order), ties on the
/// order column and a second key column.
const ROWS: &str = "create table t (k bigint, k2 varchar, o bigint, v varchar) as values
    (1, 'a', 10, 'old'), (1, 'a', 20, 'new'), (1, 'b', 5, 'other key'),
    (2, 'a', 7, 'only'),
    (null, 'a', 3, 'null key low'), (null, 'a', 9, 'null key high'),
    (null, null, 1, 'both null'),
    (3, 'A', 1, 'upper'), (3, 'a', 2, 'lower'),
    (4, 'x', null, 'null order'), (4, 'x', 1, 'with order')";

async fn session(with_rule: bool) -> SessionContext {
    let ctx = test_context(None);
    let ctx = if with_rule {
        ctx
    } else {
        assert!(ctx.remove_optimizer_rule("cohort_first_row_per_key"));
        ctx
    };
    ctx.sql(ROWS).await.unwrap().collect().await.unwrap();
    ctx
}

async fn sorted_rows(ctx: &SessionContext, sql: &str) -> String {
    let sorted = format!("select * from ({sql}) order by 1, 2, 3, 4, 5");
    let batches = ctx.sql(&sorted).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

async fn optimized_plan(ctx: &SessionContext, sql: &str) -> String {
    let plan = ctx.sql(sql).await.unwrap().into_optimized_plan().unwrap();
    plan.display_indent().to_string()
}

/// Queries the rule rewrites; each must give exactly DataFusion's own result.
const REWRITTEN: [&str; 7] = [
    // Only some columns read: the optimizer prunes between filter and window.
    "select count(*) as n, max(v) as m, min(k2) as k2, 0 as a, 0 as b from (select * from t where k is not null qualify row_number() over (partition by k order by o desc) = 1)",
    "select k, k2, o, v, 0 as pad from t qualify row_number() over (partition by k order by o desc) = 1",
    "select k, k2, o, v, 0 as pad from t qualify row_number() over (partition by k, k2 order by o) <= 1",
    "select k, k2, o, v, 0 as pad from t qualify row_number() over (partition by lower(k2) order by o desc nulls last, k) < 2",
    "select k, k2, o, v, 0 as pad from t qualify 1 = row_number() over (partition by k order by o nulls first) and v <> 'new'",
    "select k, k2, o, v, row_number() over (partition by k order by o) as rn from t qualify rn = 1",
    "select * from (select k, k2, o, v, row_number() over (partition by k2 order by o, v) as rn from t) where rn = 1",
];

#[tokio::test]
async fn first_row_per_key_gives_the_row_number_result_without_a_per_key_window() {
    let (rewritten, native) = (session(true).await, session(false).await);
    for sql in REWRITTEN {
        let plan = optimized_plan(&rewritten, sql).await;
        assert!(
            plan.contains("lag(") && !plan.contains("row_number()"),
            "{sql}\n{plan}"
        );
        assert!(
            optimized_plan(&native, sql).await.contains("row_number()"),
            "{sql}"
        );
        let (ours, theirs) = (
            sorted_rows(&rewritten, sql).await,
            sorted_rows(&native, sql).await,
        );
        assert_eq!(ours, theirs, "{sql}");
    }
}

#[tokio::test]
async fn other_row_number_filters_are_left_alone() {
    let ctx = session(true).await;
    for sql in [
        // Not the first row.
        "select k, o from t qualify row_number() over (partition by k order by o) = 2",
        "select k, o from t qualify row_number() over (partition by k order by o) > 1",
        // No PARTITION BY: one global first row, DataFusion's top-k does it.
        "select k, o from t qualify row_number() over (order by o) = 1",
        // rn read by another condition too.
        "select k, o from t qualify row_number() over (partition by k order by o) = 1 or k = 2",
        // Another window function next to it.
        "select k, o, sum(o) over (partition by k) s from t qualify row_number() over (partition by k order by o) = 1",
        "select k, o from t qualify rank() over (partition by k order by o) = 1",
    ] {
        let plan = optimized_plan(&ctx, sql).await;
        assert!(!plan.contains("lag("), "{sql}\n{plan}");
    }
}

#[tokio::test]
async fn ties_keep_whole_rows() {
    let ctx = session(true).await;
    ctx.sql(
        "create table ties (k bigint, o bigint, a varchar, b varchar) as values
            (1, 5, 'x', 'x'), (1, 5, 'y', 'y'), (1, 5, 'z', 'z'), (2, 1, 'p', 'p')",
    )
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    let sql = "select count(*) as n, count(case when a = b then 1 end) as whole
        from (select * from ties qualify row_number() over (partition by k order by o) = 1)";
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let table = pretty_format_batches(&batches).unwrap().to_string();
    assert!(table.contains("| 2 | 2     |"), "{table}");
}

/// Many keys per hash bucket, NULL keys among them, over several batches and
/// both partitions: the bucketed `LAG` still keeps exactly the first row of
/// every key.
#[tokio::test]
async fn many_keys_per_bucket_across_batches_match_the_row_number_result() {
    let (rewritten, native) = (session(true).await, session(false).await);
    let create = "create table big as select
            case when value % 97 = 0 then null else value % 3000 end as k,
            (value * 7919) % 10007 as o, value as v, 0 as a, 0 as b
        from range(0, 20000)";
    for ctx in [&rewritten, &native] {
        ctx.sql(create).await.unwrap().collect().await.unwrap();
    }
    let sql = "select * from big qualify row_number() over (partition by k order by o desc, v) = 1";
    assert!(
        optimized_plan(&rewritten, sql)
            .await
            .contains("cohort_key_bucket")
    );
    let (ours, theirs) = (
        sorted_rows(&rewritten, sql).await,
        sorted_rows(&native, sql).await,
    );
    assert_eq!(ours.lines().count(), 3001 + 4, "{ours:.300}");
    assert_eq!(ours, theirs);
}
