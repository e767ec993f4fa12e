//! The groups accumulator against DataFusion's own `first_value`.

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::FirstValue;

/// 30,000 rows in 700 groups over several batches and two partitions (so
/// partial states are merged), with NULLs in every column and unique
/// orderings (`id` last), so the first row of each group is well defined.
const ROWS: &str = r#"create table t as select
        value % 700 as g,
        case when value % 13 = 0 then null else 'v' || cast(value as varchar) end as v,
        case when value % 11 = 0 then null else (value * 7919) % 50 end as o,
        to_timestamp_micros(case when value % 17 = 0 then null else (value * 104729) % 99991 end) as ts,
        arrow_cast(cast(case when value % 19 = 0 then null else (value * 31) % 997 end as int), 'Date32') as d,
        arrow_cast(to_timestamp_micros((value * 7) % 5003), 'Timestamp(Microsecond, Some("UTC"))') as tz,
        cast(value as bigint) as id
    from range(0, 30000)"#;

async fn session(ours: bool) -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(2)
        .with_batch_size(1024);
    let ctx = SessionContext::new_with_config(config);
    if ours {
        ctx.register_udaf(FirstValue::udaf());
    }
    ctx.sql(ROWS).await.unwrap().collect().await.unwrap();
    ctx
}

async fn table(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test]
async fn first_value_per_group_matches_datafusion() {
    let (ours, theirs) = (session(true).await, session(false).await);
    for order in [
        "o, id",
        "o desc, id",
        "o nulls first, ts desc, id",
        "ts desc nulls last, id desc",
        "ts nulls first, o desc nulls first, id",
        "d desc, id",
        "d nulls first, tz desc, id",
    ] {
        let sql = format!(
            "select g, first_value(v order by {order}) as first,
                first_value(id order by {order}) filter (where g % 3 <> 0 or o > 10) as filtered
             from t group by g order by g"
        );
        let plan = table(&ours, &format!("explain {sql}")).await;
        assert!(plan.contains("first_value"), "{plan}");
        let (a, b) = (table(&ours, &sql).await, table(&theirs, &sql).await);
        assert_eq!(a.lines().count(), 700 + 4, "{order}");
        assert_eq!(a, b, "{order}");
    }
}

#[tokio::test]
async fn other_orderings_and_ignore_nulls_are_datafusion_s() {
    let (ours, theirs) = (session(true).await, session(false).await);
    for sql in [
        // A text ordering, IGNORE NULLS, and no GROUP BY.
        "select g, first_value(id order by v, id) as f from t group by g order by g",
        "select g, first_value(v ignore nulls order by o, id) as f from t group by g order by g",
        "select first_value(v order by o desc, id) as f from t",
    ] {
        assert_eq!(table(&ours, sql).await, table(&theirs, sql).await, "{sql}");
    }
}
