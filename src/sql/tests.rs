//! End-to-end tests of the sql module: BigQuery SQL through [`plan_query`]
//! and DataFusion execution, on small in-memory tables, comparing values.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::functions::register_bigquery_functions;
use super::{SqlError, SqlErrorKind, TranslateOptions, plan_query};

fn days(y: i32, m: u32, d: u32) -> i32 {
    let date = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn micros(text: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp_micros()
}

/// `ds.events`: 4 rows of a user's events with every BigQuery scalar type.
fn events() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("User_Id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("qty", DataType::Int64, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("d", DataType::Date32, true),
        Field::new("price", DataType::Decimal128(38, 9), true),
        Field::new("flag", DataType::Boolean, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![Some(1), Some(1), Some(2), Some(3)])),
        Arc::new(StringArray::from(vec![
            Some(" Ann "),
            Some("ann"),
            Some("Bob"),
            None,
        ])),
        Arc::new(Float64Array::from(vec![
            Some(2.5),
            Some(-1.5),
            Some(10.0),
            None,
        ])),
        Arc::new(Int64Array::from(vec![Some(7), Some(2), Some(0), None])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(micros("2026-01-02 10:00:00")),
                Some(micros("2026-01-05 23:30:00")),
                Some(micros("2025-12-31 08:15:30")),
                None,
            ])
            .with_timezone("UTC"),
        ),
        Arc::new(Date32Array::from(vec![
            Some(days(2026, 1, 2)),
            Some(days(2026, 1, 5)),
            Some(days(2025, 12, 31)),
            None,
        ])),
        Arc::new(
            Decimal128Array::from(vec![
                Some(1_500_000_000),
                Some(2_250_000_000),
                None,
                Some(-500_000_000),
            ])
            .with_precision_and_scale(38, 9)
            .unwrap(),
        ),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
        ])),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

fn context() -> SessionContext {
    let ctx = SessionContext::new();
    register_bigquery_functions(&ctx);
    let catalog = ctx.catalog("datafusion").unwrap();
    catalog
        .register_schema("ds", Arc::new(MemorySchemaProvider::new()))
        .unwrap();
    let batch = events();
    // Columns are registered lowercase, as the engine does.
    let lower = Schema::new(
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_name(f.name().to_lowercase()))
            .collect::<Vec<_>>(),
    );
    let batch = RecordBatch::try_new(Arc::new(lower), batch.columns().to_vec()).unwrap();
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap();
    ctx.register_table("ds.events", Arc::new(table)).unwrap();
    ctx
}

fn opts() -> TranslateOptions {
    TranslateOptions {
        current_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1),
    }
}

/// Runs BigQuery SQL; each row as display strings ("NULL" for NULL).
async fn run(sql: &str) -> Result<Vec<Vec<String>>, String> {
    let ctx = context();
    let plan = plan_query(&ctx.state(), sql, &opts())
        .await
        .map_err(|e| format!("{:?}: {}", e.kind, e.message))?;
    let df = ctx
        .execute_logical_plan(plan)
        .await
        .map_err(|e| e.to_string())?;
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    Ok(rows)
}

/// The single value of a one-row, one-column query.
async fn value(sql: &str) -> String {
    let rows = run(sql).await.unwrap_or_else(|e| panic!("{sql}\n{e}"));
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0][0].clone()
}

/// The first column of every row.
async fn column(sql: &str) -> Vec<String> {
    run(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}\n{e}"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

async fn plan_error(sql: &str) -> SqlError {
    let ctx = context();
    plan_query(&ctx.state(), sql, &opts()).await.unwrap_err()
}

async fn exec_error(sql: &str) -> String {
    run(sql).await.unwrap_err()
}

/// The result's column names.
async fn output_names(sql: &str) -> Vec<String> {
    let ctx = context();
    let plan = plan_query(&ctx.state(), sql, &opts())
        .await
        .unwrap_or_else(|e| panic!("{sql}\n{e:?}"));
    plan.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

async fn check(cases: &[(&str, &str)]) {
    for (expr, expected) in cases {
        let got = value(&format!("SELECT {expr}")).await;
        assert_eq!(&got, expected, "SELECT {expr}");
    }
}

#[tokio::test]
async fn backtick_names_and_case_insensitive_identifiers() {
    let rows = column("SELECT USER_ID FROM `my-project.DS.Events` AS E WHERE e.User_Id = 2").await;
    assert_eq!(rows, ["2"]);
    let rows = column("SELECT user_id FROM `ds.events` ORDER BY user_id LIMIT 1").await;
    assert_eq!(rows, ["1"]);
    let rows = column("SELECT `events`.qty FROM ds.`events` WHERE qty = 7").await;
    assert_eq!(rows, ["7"]);
    let rows =
        column("WITH Recent AS (SELECT * FROM `ds.events`) SELECT COUNT(*) FROM recent").await;
    assert_eq!(rows, ["4"]);
}

#[tokio::test]
async fn casts() {
    check(&[
        ("CAST('42' AS INT64)", "42"),
        ("CAST(2.5 AS INT64)", "3"),
        ("CAST(-2.5 AS INT64)", "-3"),
        ("CAST(NUMERIC '1.5' AS INT64)", "2"),
        ("CAST(1 AS FLOAT64) / 4", "0.25"),
        ("CAST(1.0 AS STRING)", "1"),
        ("CAST(0.25 AS STRING)", "0.25"),
        ("CAST(12 AS STRING)", "12"),
        ("CAST(TRUE AS STRING)", "true"),
        ("CAST('TRUE' AS BOOL)", "true"),
        ("CAST('2026-01-02' AS DATE)", "2026-01-02"),
        ("CAST(DATE '2026-01-02' AS STRING)", "2026-01-02"),
        (
            "CAST('2026-01-02 03:04:05+02' AS TIMESTAMP)",
            "2026-01-02T01:04:05Z",
        ),
        (
            "CAST(TIMESTAMP '2026-01-02 03:04:05' AS STRING)",
            "2026-01-02 03:04:05+00",
        ),
        ("CAST('1.25' AS NUMERIC)", "1.250000000"),
        ("CAST(CAST('1.25' AS NUMERIC) AS STRING)", "1.25"),
        ("SAFE_CAST('abc' AS INT64)", "NULL"),
        ("SAFE_CAST('maybe' AS BOOL)", "NULL"),
        ("SAFE_CAST('2026-13-01' AS DATE)", "NULL"),
        ("SAFE_CAST('7' AS INT64)", "7"),
    ])
    .await;
    assert!(
        exec_error("SELECT CAST('abc' AS INT64)")
            .await
            .contains("abc")
    );
    let e = column("SELECT CAST(price AS STRING) FROM ds.events ORDER BY user_id, qty").await;
    assert_eq!(e, ["2.25", "1.5", "NULL", "-0.5"]);
}

#[tokio::test]
async fn division() {
    check(&[
        ("7 / 2", "3.5"),
        ("1 / 4", "0.25"),
        ("CAST(7 AS NUMERIC) / 2", "3.500000000"),
        ("SAFE_DIVIDE(1, 0)", "NULL"),
        ("SAFE_DIVIDE(6, 4)", "1.5"),
        ("IEEE_DIVIDE(1, 0)", "inf"),
        ("DIV(7, 2)", "3"),
        ("DIV(-7, 2)", "-3"),
        ("MOD(-7, 2)", "-1"),
        ("DIV(CAST('7.9' AS NUMERIC), 2)", "3.000000000"),
        ("SAFE.DIV(1, 0)", "NULL"),
    ])
    .await;
    assert!(
        exec_error("SELECT 1 / 0")
            .await
            .contains("division by zero")
    );
    let rows = column("SELECT qty / 2 FROM ds.events WHERE qty IS NOT NULL ORDER BY qty").await;
    assert_eq!(rows, ["0.0", "1.0", "3.5"]);
}

#[tokio::test]
async fn string_functions() {
    check(&[
        ("LOWER('AbC')", "abc"),
        ("UPPER('AbC')", "ABC"),
        ("TRIM('  x \\t')", "x"),
        ("TRIM('xxaxx', 'x')", "a"),
        ("LTRIM('  x ')", "x "),
        ("RTRIM('  x ')", "  x"),
        ("CONCAT('a', 'b', 'c')", "abc"),
        ("CONCAT('a', NULL)", "NULL"),
        ("CONCAT('n=', 1)", "n=1"),
        ("'a' || 'b'", "ab"),
        ("'a' || NULL", "NULL"),
        ("SUBSTR('apple', 2)", "pple"),
        ("SUBSTR('apple', 2, 2)", "pp"),
        ("SUBSTR('apple', -2)", "le"),
        ("SUBSTRING('apple', 0, 2)", "ap"),
        ("LENGTH('héllo')", "5"),
        ("STARTS_WITH('apple', 'ap')", "true"),
        ("ENDS_WITH('apple', 'le')", "true"),
        ("REPLACE('a-b-c', '-', '+')", "a+b+c"),
        ("REPLACE('abc', '', 'x')", "abc"),
        ("REGEXP_REPLACE('a1b22c', r'\\d', '')", "abc"),
        ("REGEXP_REPLACE('+1 (555) 123', r'\\D', '')", "1555123"),
        ("REGEXP_REPLACE('abc', 'b', 'x')", "axc"),
        ("REGEXP_REPLACE('abc', '(b)', r'[\\1]')", "a[b]c"),
        ("REGEXP_CONTAINS('foo@bar.com', r'@.+\\.')", "true"),
        ("REGEXP_CONTAINS('foo', r'^o')", "false"),
        ("REGEXP_EXTRACT('foo@bar.com', r'@(.+)$')", "bar.com"),
        ("REGEXP_EXTRACT('abc123', r'\\d+')", "123"),
        ("REGEXP_EXTRACT('abc', r'\\d+')", "NULL"),
        ("\"double\"", "double"),
        ("'''triple'''", "triple"),
        ("INITCAP('hello wORLD')", "Hello World"),
        ("STRPOS('apple', 'p')", "2"),
        ("LPAD('7', 3, '0')", "007"),
        ("ARRAY_TO_STRING(SPLIT('a,b,c'), '|')", "a|b|c"),
        ("ARRAY_LENGTH(SPLIT(''))", "1"),
        ("ARRAY_LENGTH(SPLIT('ab', ''))", "2"),
    ])
    .await;
}

#[tokio::test]
async fn hashes() {
    check(&[
        (
            "TO_HEX(SHA256('abc'))",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        ("TO_HEX(MD5('abc'))", "900150983cd24fb0d6963f7d28e17f72"),
        (
            "TO_HEX(SHA1('abc'))",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
        ),
        ("TO_HEX(b'\\x01\\xff')", "01ff"),
        ("TO_HEX(FROM_HEX('0aff'))", "0aff"),
        ("FARM_FINGERPRINT('1footrue')", "-1541654101129638711"),
        (
            "FARM_FINGERPRINT(CONCAT(CAST(2 AS STRING), 'apple', CAST(FALSE AS STRING)))",
            "2794438866806483259",
        ),
    ])
    .await;
}

#[tokio::test]
async fn conditionals() {
    check(&[
        ("COALESCE(NULL, 2, 3)", "2"),
        ("IFNULL(NULL, 'x')", "x"),
        ("NULLIF(1, 1)", "NULL"),
        ("IF(1 < 2, 'yes', 'no')", "yes"),
        ("IF(NULL, 'yes', 'no')", "no"),
        ("CASE WHEN 1 = 2 THEN 'a' ELSE 'b' END", "b"),
        ("CASE 2 WHEN 2 THEN 'two' END", "two"),
        ("1 IS DISTINCT FROM NULL", "true"),
        ("NULL IS NOT DISTINCT FROM NULL", "true"),
        ("'apple' LIKE 'a%'", "true"),
        ("2 IN UNNEST([1, 2])", "true"),
        ("3 NOT IN UNNEST([1, 2])", "true"),
        ("GREATEST(1, 5, 3)", "5"),
        ("GREATEST(1, NULL)", "NULL"),
        ("LEAST(4, 2)", "2"),
        ("ABS(-3)", "3"),
        ("ROUND(2.5)", "3.0"),
        ("ROUND(-2.5)", "-3.0"),
        ("ROUND(1.2345, 2)", "1.23"),
    ])
    .await;
    let rows =
        column("SELECT user_id FROM ds.events WHERE user_id IN UNNEST([2, 3]) ORDER BY 1").await;
    assert_eq!(rows, ["2", "3"]);
}

#[tokio::test]
async fn date_functions() {
    check(&[
        ("DATE '2026-01-02'", "2026-01-02"),
        ("DATE(2026, 1, 2)", "2026-01-02"),
        ("DATE('2026-01-02')", "2026-01-02"),
        ("DATE(TIMESTAMP '2026-01-02 23:59:59')", "2026-01-02"),
        ("TIMESTAMP '2026-01-02 10:00:00'", "2026-01-02T10:00:00Z"),
        ("TIMESTAMP '2026-01-02 10:00:00+02:00'", "2026-01-02T08:00:00Z"),
        ("DATE_DIFF(DATE '2026-01-10', DATE '2026-01-01', DAY)", "9"),
        ("DATE_DIFF(DATE '2026-01-04', DATE '2026-01-03', WEEK)", "1"),
        ("DATE_DIFF(DATE '2026-01-05', DATE '2026-01-04', ISOWEEK)", "1"),
        ("DATE_DIFF(DATE '2026-02-01', DATE '2026-01-31', MONTH)", "1"),
        ("DATE_DIFF(DATE '2026-04-01', DATE '2025-12-31', QUARTER)", "2"),
        ("DATE_DIFF(DATE '2026-01-01', DATE '2025-12-31', YEAR)", "1"),
        ("DATE_DIFF('2026-01-10', '2026-01-01', DAY)", "9"),
        ("TIMESTAMP_DIFF(TIMESTAMP '2026-01-02 10:00:00', TIMESTAMP '2026-01-02 08:30:00', HOUR)", "1"),
        ("TIMESTAMP_DIFF(TIMESTAMP '2026-01-02 10:00:00', TIMESTAMP '2026-01-02 08:30:00', MINUTE)", "90"),
        ("TIMESTAMP_DIFF(TIMESTAMP '2026-01-03', TIMESTAMP '2026-01-01 12:00:00', DAY)", "1"),
        ("TIMESTAMP_DIFF(TIMESTAMP '2026-01-01 00:00:10', TIMESTAMP '2026-01-01', SECOND)", "10"),
        ("DATE_ADD(DATE '2026-01-31', INTERVAL 1 MONTH)", "2026-02-28"),
        ("DATE_ADD(DATE '2026-01-01', INTERVAL 2 WEEK)", "2026-01-15"),
        ("DATE_SUB(DATE '2026-01-01', INTERVAL 1 DAY)", "2025-12-31"),
        ("DATE_SUB(DATE '2026-03-01', INTERVAL 1 YEAR)", "2025-03-01"),
        ("TIMESTAMP_ADD(TIMESTAMP '2026-01-01', INTERVAL 90 MINUTE)", "2026-01-01T01:30:00Z"),
        ("TIMESTAMP_SUB(TIMESTAMP '2026-01-01', INTERVAL 1 SECOND)", "2025-12-31T23:59:59Z"),
        ("DATE_TRUNC(DATE '2026-05-17', MONTH)", "2026-05-01"),
        ("DATE_TRUNC(DATE '2026-05-17', WEEK)", "2026-05-17"),
        ("DATE_TRUNC(DATE '2026-05-20', WEEK(MONDAY))", "2026-05-18"),
        ("DATE_TRUNC(DATE '2026-05-17', QUARTER)", "2026-04-01"),
        ("DATE_TRUNC(DATE '2026-05-17', YEAR)", "2026-01-01"),
        ("TIMESTAMP_TRUNC(TIMESTAMP '2026-05-17 10:45:12', HOUR)", "2026-05-17T10:00:00Z"),
        ("TIMESTAMP_TRUNC(TIMESTAMP '2026-05-17 10:45:12', DAY)", "2026-05-17T00:00:00Z"),
        ("EXTRACT(DAYOFWEEK FROM DATE '2026-01-04')", "1"),
        ("EXTRACT(DAYOFWEEK FROM DATE '2026-01-03')", "7"),
        ("EXTRACT(YEAR FROM DATE '2026-01-03')", "2026"),
        ("EXTRACT(MONTH FROM TIMESTAMP '2026-02-03 04:05:06')", "2"),
        ("EXTRACT(HOUR FROM TIMESTAMP '2026-02-03 04:05:06')", "4"),
        ("EXTRACT(DAYOFYEAR FROM DATE '2026-02-03')", "34"),
        ("EXTRACT(ISOWEEK FROM DATE '2026-01-01')", "1"),
        ("EXTRACT(WEEK FROM DATE '2026-01-03')", "0"),
        ("EXTRACT(QUARTER FROM DATE '2026-08-03')", "3"),
        ("EXTRACT(DATE FROM TIMESTAMP '2026-02-03 04:05:06')", "2026-02-03"),
        ("CURRENT_DATE()", "2026-03-01"),
        ("CURRENT_DATE", "2026-03-01"),
        ("LAST_DAY(DATE '2026-02-10')", "2026-02-28"),
        ("FORMAT_DATE('%Y/%m/%d', DATE '2026-02-10')", "2026/02/10"),
        ("FORMAT_DATE('%b %e, %Y (Q%Q)', DATE '2026-02-10')", "Feb 10, 2026 (Q1)"),
        ("FORMAT_TIMESTAMP('%F %T %Z', TIMESTAMP '2026-02-10 01:02:03')", "2026-02-10 01:02:03 UTC"),
        ("PARSE_DATE('%Y%m%d', '20260210')", "2026-02-10"),
        ("PARSE_DATE('%d/%m/%Y', '10/02/2026')", "2026-02-10"),
        ("PARSE_TIMESTAMP('%Y-%m-%d %H:%M', '2026-02-10 01:02')", "2026-02-10T01:02:00Z"),
        ("ARRAY_LENGTH(GENERATE_DATE_ARRAY(DATE '2026-01-01', DATE '2026-01-31', INTERVAL 1 WEEK))", "5"),
        ("TIMESTAMP_SECONDS(86400)", "1970-01-02T00:00:00Z"),
        ("UNIX_SECONDS(TIMESTAMP '1970-01-02')", "86400"),
    ])
    .await;
    let now = value("SELECT CURRENT_TIMESTAMP() > TIMESTAMP '2020-01-01'").await;
    assert_eq!(now, "true");
    let rows =
        column("SELECT DATE_DIFF(DATE '2026-01-10', d, DAY) FROM ds.events ORDER BY ts").await;
    // BigQuery sorts NULL first in ascending order.
    assert_eq!(rows, ["NULL", "10", "8", "5"]);
    let rows = column("SELECT DATE(ts) FROM ds.events WHERE user_id = 1 ORDER BY ts").await;
    assert_eq!(rows, ["2026-01-02", "2026-01-05"]);
}

#[tokio::test]
async fn aggregates() {
    let rows = run(
        "SELECT user_id, COUNT(*) AS n, COUNTIF(amount > 0) AS pos, LOGICAL_OR(flag) AS any_flag, \
         LOGICAL_AND(flag) AS all_flag, SUM(qty) AS total, MIN(amount), MAX(amount), AVG(qty), \
         ANY_VALUE(name) IS NOT NULL AS has_name, COUNT(DISTINCT name) \
         FROM ds.events GROUP BY user_id ORDER BY user_id",
    )
    .await
    .unwrap();
    assert_eq!(
        rows[0],
        [
            "1", "2", "1", "true", "false", "9", "-1.5", "2.5", "4.5", "true", "2"
        ]
    );
    assert_eq!(
        rows[1],
        [
            "2", "1", "1", "NULL", "NULL", "0", "10.0", "10.0", "0.0", "true", "1"
        ]
    );
    assert_eq!(
        rows[2],
        [
            "3", "1", "0", "true", "true", "NULL", "NULL", "NULL", "NULL", "false", "0"
        ]
    );
    let rows = run("SELECT user_id, COUNT(*) FROM ds.events GROUP BY ALL ORDER BY 1")
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let rows = column("SELECT STRING_AGG(name ORDER BY ts) FROM ds.events").await;
    assert_eq!(rows, ["Bob, Ann ,ann"]);
    let rows = column("SELECT APPROX_COUNT_DISTINCT(user_id) FROM ds.events").await;
    assert_eq!(rows, ["3"]);
}

#[tokio::test]
async fn first_of_limited_array_agg_keeps_bigquery_results() {
    // Rewritten to first_value: NULLs sort first ascending, last descending.
    let rows = column(
        "SELECT ARRAY_AGG(x ORDER BY x DESC LIMIT 1)[ORDINAL(1)] FROM UNNEST([2, NULL, 1]) AS x",
    )
    .await;
    assert_eq!(rows, ["2"]);
    let rows = column(
        "SELECT ARRAY_AGG(x IGNORE NULLS ORDER BY x LIMIT 1)[SAFE_OFFSET(0)] FROM UNNEST([2, NULL, 1]) AS x",
    )
    .await;
    assert_eq!(rows, ["1"]);
    let rows = column(
        "SELECT ARRAY_AGG(x IGNORE NULLS ORDER BY x LIMIT 1)[SAFE_OFFSET(0)] \
         FROM UNNEST([CAST(NULL AS INT64)]) AS x",
    )
    .await;
    assert_eq!(rows, ["NULL"]);
    // Ties on the first key go to the second.
    let rows = column(
        "SELECT ARRAY_AGG(v ORDER BY k, v DESC LIMIT 1)[OFFSET(0)] \
         FROM UNNEST([STRUCT(1 AS k, 'a' AS v), (1, 'c'), (2, 'z')])",
    )
    .await;
    assert_eq!(rows, ["c"]);
}

#[tokio::test]
async fn first_value_idioms() {
    let rows = run(
        "SELECT user_id, ARRAY_AGG(name ORDER BY ts DESC LIMIT 1)[OFFSET(0)] AS last_name, \
         ARRAY_AGG(amount IGNORE NULLS ORDER BY ts)[SAFE_OFFSET(0)] AS first_amount, \
         ARRAY_AGG(name)[SAFE_OFFSET(5)] AS missing, ARRAY_LENGTH(ARRAY_AGG(qty)) AS n \
         FROM ds.events GROUP BY user_id ORDER BY user_id",
    )
    .await
    .unwrap();
    assert_eq!(rows[0], ["1", "ann", "2.5", "NULL", "2"]);
    assert_eq!(rows[1], ["2", "Bob", "10.0", "NULL", "1"]);
    assert_eq!(rows[2], ["3", "NULL", "NULL", "NULL", "1"]);
    check(&[
        ("[10, 20, 30][OFFSET(1)]", "20"),
        ("[10, 20, 30][ORDINAL(1)]", "10"),
        ("[10, 20, 30][SAFE_ORDINAL(4)]", "NULL"),
        ("[10, 20, 30][2]", "30"),
        ("ARRAY_LENGTH([1, 2, 3])", "3"),
    ])
    .await;
    assert!(
        exec_error("SELECT [1][OFFSET(3)]")
            .await
            .contains("out of bounds")
    );
}

#[tokio::test]
async fn windows_and_qualify() {
    let rows = run(
        "SELECT user_id, ts, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts) AS rn, \
         RANK() OVER (ORDER BY user_id) AS rk, DENSE_RANK() OVER (ORDER BY user_id) AS drk, \
         LAG(qty) OVER (PARTITION BY user_id ORDER BY ts) AS prev, \
         LEAD(qty, 1, -1) OVER (PARTITION BY user_id ORDER BY ts) AS next, \
         FIRST_VALUE(qty) OVER (PARTITION BY user_id ORDER BY ts) AS first_q, \
         LAST_VALUE(qty) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_q, \
         SUM(qty) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running, \
         NTILE(2) OVER (ORDER BY user_id) AS half \
         FROM ds.events ORDER BY user_id, ts",
    )
    .await
    .unwrap();
    let first: Vec<&str> = rows[0].iter().map(String::as_str).collect();
    assert_eq!(first[2..], ["1", "1", "1", "NULL", "2", "7", "2", "7", "1"]);
    let second: Vec<&str> = rows[1].iter().map(String::as_str).collect();
    assert_eq!(second[2..], ["2", "1", "1", "7", "-1", "7", "2", "9", "1"]);
    let rows = column(
        "SELECT name FROM ds.events WHERE name IS NOT NULL \
         QUALIFY ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts DESC) = 1 ORDER BY user_id",
    )
    .await;
    assert_eq!(rows, ["ann", "Bob"]);
}

#[tokio::test]
async fn select_star_modifiers_and_set_operations() {
    let rows = run(
        "SELECT * EXCEPT(name, AMOUNT, ts, d, price, flag) FROM ds.events ORDER BY user_id, qty",
    )
    .await
    .unwrap();
    assert_eq!(rows[0], ["1", "2"]);
    let rows = run("SELECT * REPLACE(qty * 10 AS qty) EXCEPT(name, amount, ts, d, price, flag) FROM ds.events ORDER BY 1, 2")
        .await;
    // BigQuery allows only one modifier order (EXCEPT before REPLACE); either way
    // the parse or plan fails cleanly.
    assert!(rows.is_err() || rows.unwrap().len() == 4);
    let rows = run(
        "SELECT * REPLACE(qty * 10 AS qty) FROM (SELECT user_id, qty FROM ds.events) ORDER BY user_id, qty",
    )
    .await
    .unwrap();
    assert_eq!(rows[0], ["1", "20"]);
    let rows = column("SELECT 1 AS x UNION ALL SELECT 1 UNION ALL SELECT 2").await;
    assert_eq!(rows.len(), 3);
    let rows = column(
        "SELECT x FROM (SELECT 1 AS x UNION DISTINCT SELECT 1 UNION DISTINCT SELECT 2) ORDER BY x",
    )
    .await;
    assert_eq!(rows, ["1", "2"]);
    let rows = column("SELECT user_id FROM ds.events INTERSECT DISTINCT SELECT 2").await;
    assert_eq!(rows, ["2"]);
    let rows = column("SELECT x FROM UNNEST([3, 1, 2]) AS x ORDER BY x").await;
    assert_eq!(rows, ["1", "2", "3"]);
}

#[tokio::test]
async fn errors() {
    let err = plan_error("SELECT FOO(1)").await;
    assert_eq!(err.kind, SqlErrorKind::Unsupported);
    assert_eq!(
        err.to_string(),
        "BigQuery feature not supported locally yet: FOO"
    );
    let err = plan_error("SELECT nope FROM ds.events").await;
    assert_eq!(err.kind, SqlErrorKind::Plan);
    assert!(
        !err.message.starts_with("Error during planning"),
        "{}",
        err.message
    );
    let err = plan_error("SELECT FROM WHERE").await;
    assert_eq!(err.kind, SqlErrorKind::Syntax);
    assert_eq!(err.line, Some(1));
    let err =
        plan_error("SELECT x FROM ds.events AS e LEFT JOIN UNNEST(SPLIT(e.name)) AS x ON x = 'a'")
            .await;
    assert_eq!(err.kind, SqlErrorKind::Unsupported);
}

/// Creates `ds.<name>` from DataFusion SQL (not BigQuery SQL) for a test.
async fn create(ctx: &SessionContext, name: &str, select: &str) {
    ctx.sql(&format!("CREATE TABLE ds.{name} AS {select}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
}

fn ts(text: &str) -> String {
    format!("arrow_cast('{text}', 'Timestamp(Microsecond, Some(\"UTC\"))')")
}

/// The example project's customer_features model, as the compiler renders it.
#[tokio::test]
async fn example_customer_features_model() {
    let ctx = context();
    create(
        &ctx,
        "customers",
        "SELECT * FROM (VALUES (1, ' A@X.com ', '+1 555 0100', 'Ann', 'Lee', 'US', '1', true, true), \
         (2, 'bad', '0170 1234', 'Bo', 'Li', 'DE', '2', false, true)) \
         AS t(customer_id, email, phone, first_name, last_name, country, zip, consent_ad_user_data, consent_ad_personalization)",
    )
    .await;
    create(
        &ctx,
        "transactions",
        &format!(
            "SELECT * FROM (VALUES (1, 10.5, {}, DATE '2026-11-01', true), (1, 20.25, {}, DATE '2026-11-20', true), \
             (2, 5.0, {}, DATE '2026-01-01', false)) AS t(customer_id, revenue, ordered_at, order_date, is_revenue)",
            ts("2026-11-01T10:00:00Z"),
            ts("2026-11-20T10:00:00Z"),
            ts("2026-01-01T10:00:00Z")
        ),
    )
    .await;
    create(
        &ctx,
        "sessions",
        &format!(
            "SELECT * FROM (VALUES (1, DATE '2026-11-22', 2, {}), (1, DATE '2026-10-10', 1, {})) \
             AS t(customer_id, session_date, pricing_page_views, started_at)",
            ts("2026-11-22T08:00:00Z"),
            ts("2026-10-10T08:00:00Z")
        ),
    )
    .await;
    create(
        &ctx,
        "campaign_touches",
        &format!(
            "SELECT * FROM (VALUES (1, 'email_open', DATE '2026-11-10', 'email', {}, 2), \
             (1, 'click', DATE '2026-09-10', 'paid_search', {}, 1)) \
             AS t(customer_id, event, touch_date, channel, touched_at, touch_id)",
            ts("2026-11-10T08:00:00Z"),
            ts("2026-09-10T08:00:00Z")
        ),
    )
    .await;
    let as_of = "date('2026-11-23')";
    let window = |col: &str, from: u32, to: u32| {
        format!(
            "countif({col} > date_sub({as_of}, interval {to} day) and {col} <= date_sub({as_of}, interval {from} day))"
        )
    };
    let sql = format!(
        "with orders as (
    select customer_id, count(*) as orders_total, round(sum(revenue), 2) as revenue_total,
        min(ordered_at) as first_order_at, max(ordered_at) as last_order_at,
        countif(order_date > date_sub({as_of}, interval 30 day)) as orders_30d
    from `proj.ds.transactions`
    where is_revenue and customer_id is not null and order_date <= {as_of}
    group by customer_id
),
session_activity as (
    select customer_id, {w1} as sessions_30d, {w2} as sessions_prev_30d,
        sum(if(session_date > date_sub({as_of}, interval 7 day) and session_date <= {as_of}, pricing_page_views, 0)) as pricing_views_7d,
        max(started_at) as last_session_at
    from `proj.ds.sessions` where customer_id is not null group by customer_id
),
touches as (
    select customer_id,
        countif(event = 'email_open' and touch_date > date_sub({as_of}, interval 30 day)) as email_opens_30d,
        array_agg(channel order by touched_at, touch_id limit 1)[offset(0)] as first_touch_channel
    from `proj.ds.campaign_touches` where touch_date <= {as_of} group by customer_id
),
base as (
    select c.customer_id,
        if(regexp_contains(lower(regexp_replace(c.email, r'\\s', '')), r'^[^@]+@[^@]+\\.[^@]+$'), lower(regexp_replace(c.email, r'\\s', '')), null) as email,
        case when starts_with(trim(c.phone), '+') then concat('+', regexp_replace(c.phone, r'[^0-9]', ''))
             when upper(trim(c.country)) = 'DE' and starts_with(regexp_replace(c.phone, r'[^0-9]', ''), '0')
               then concat('+49', substr(regexp_replace(c.phone, r'[^0-9]', ''), 2))
             else null end as phone,
        coalesce(o.orders_total, 0) as orders_total, coalesce(o.orders_30d, 0) as orders_30d,
        coalesce(o.revenue_total, 0) as revenue_total,
        date_diff({as_of}, date(o.last_order_at), day) as days_since_last_order,
        coalesce(s.sessions_30d, 0) as sessions_30d, coalesce(s.sessions_prev_30d, 0) as sessions_prev_30d,
        coalesce(s.pricing_views_7d, 0) as pricing_views_7d,
        coalesce(t.email_opens_30d, 0) as email_opens_30d, t.first_touch_channel,
        round(safe_divide(o.revenue_total, greatest(date_diff({as_of}, date(o.first_order_at), day), 30)) * 365, 2) as predicted_clv
    from `proj.ds.customers` as c
    left join orders as o on o.customer_id = c.customer_id
    left join session_activity as s on s.customer_id = c.customer_id
    left join touches as t on t.customer_id = c.customer_id
),
buyer_scores as (
    select customer_id, ntile(5) over (order by days_since_last_order desc, customer_id) as r_score,
        ntile(10) over (order by predicted_clv, customer_id) as clv_decile
    from base where orders_total > 0
)
select base.*, coalesce(b.r_score, 0) as r_score,
    case when b.clv_decile = 10 then 'platinum' when b.clv_decile >= 1 then 'silver' else 'prospect' end as clv_tier
from base left join buyer_scores as b on b.customer_id = base.customer_id
order by customer_id",
        w1 = window("session_date", 0, 30),
        w2 = window("session_date", 30, 60),
    );
    let plan = plan_query(&ctx.state(), &sql, &opts())
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let batches = ctx
        .execute_logical_plan(plan)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let options = FormatOptions::default().with_null("NULL");
    let batch = &batches[0];
    let row = |r: usize| -> Vec<String> {
        batch
            .columns()
            .iter()
            .map(|c| {
                ArrayFormatter::try_new(c.as_ref(), &options)
                    .unwrap()
                    .value(r)
                    .to_string()
            })
            .collect()
    };
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names[..3], ["customer_id", "email", "phone"]);
    assert_eq!(
        row(0),
        [
            "1",
            "a@x.com",
            "+15550100",
            "2",
            "2",
            "30.75",
            "3",
            "1",
            "1",
            "2",
            "1",
            "paid_search",
            // 30.75 / 30 days * 365 = 374.12499999999994 in FLOAT64
            "374.12",
            "1",
            "silver"
        ]
    );
    assert_eq!(
        row(1),
        [
            "2",
            "NULL",
            "+491701234",
            "0",
            "0",
            "0.0",
            "NULL",
            "0",
            "0",
            "0",
            "0",
            "NULL",
            "NULL",
            "0",
            "prospect"
        ]
    );
}

#[tokio::test]
async fn safe_prefix_and_more_functions() {
    check(&[
        ("SAFE.PARSE_DATE('%Y-%m-%d', 'nope')", "NULL"),
        ("SAFE.PARSE_DATE('%Y-%m-%d', '2026-01-02')", "2026-01-02"),
        ("SAFE.LEFT('abc', 2)", "ab"),
        ("SAFE.DATE_DIFF(DATE '2026-01-02', DATE '2026-01-01', DAY)", "1"),
        ("SAFE.DATE(2026, 2, 30)", "NULL"),
        ("SAFE.LOWER('AB')", "ab"),
        ("TIMESTAMP('2026-01-02 03:04:05', '+02:00')", "2026-01-02T01:04:05Z"),
        ("TIMESTAMP(DATE '2026-01-02')", "2026-01-02T00:00:00Z"),
        ("DATETIME(2026, 1, 2, 3, 4, 5)", "2026-01-02T03:04:05"),
        ("DATETIME_DIFF(DATETIME '2010-07-07 10:20:00', DATETIME '2008-12-25 15:30:00', DAY)", "559"),
        ("TIMESTAMP_DIFF(TIMESTAMP '2010-07-07 10:20:00', TIMESTAMP '2008-12-25 15:30:00', HOUR)", "13410"),
        ("DATE_ADD(DATE '2026-01-01', INTERVAL -1 DAY)", "2025-12-31"),
        ("LAST_DAY(DATE '2026-02-10', YEAR)", "2026-12-31"),
        ("FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3S', TIMESTAMP '2026-02-10 01:02:03.5')", "2026-02-10T01:02:03.500"),
        ("FORMAT_DATE('%A %d %B', DATE '2026-02-10')", "Tuesday 10 February"),
        ("ARRAY_LENGTH(GENERATE_ARRAY(1, 5))", "5"),
        ("ARRAY_TO_STRING(['a', NULL, 'b'], '-')", "a-b"),
        ("STRUCT(1 AS a, 'x' AS b).b", "x"),
        ("ARRAY_AGG(STRUCT(1 AS a, 'x' AS b))[OFFSET(0)].b", "x"),
        ("UNIX_DATE(DATE '1970-01-11')", "10"),
        ("DATE_FROM_UNIX_DATE(10)", "1970-01-11"),
        ("TIMESTAMP_MICROS(1000000)", "1970-01-01T00:00:01Z"),
        ("CAST(TIMESTAMP '2026-01-02 03:04:05.25' AS STRING)", "2026-01-02 03:04:05.250+00"),
        ("LOG(8, 2)", "3.0"),
        ("LOG(1)", "0.0"),
        ("'a\\tb'", "a\tb"),
        ("LENGTH(b'abc')", "3"),
        ("BYTE_LENGTH('é')", "2"),
        ("JSON_VALUE('{\"a\": {\"b\": [1, \"x\"]}}', '$.a.b[1]')", "x"),
        ("JSON_EXTRACT_SCALAR('{\"a\": 1}', '$.a')", "1"),
        ("JSON_EXTRACT_SCALAR('{\"a\": {\"b\": 1}}', '$.a')", "NULL"),
        ("JSON_QUERY('{\"a\": {\"b\": 1}}', '$.a')", "{\"b\":1}"),
        ("JSON_EXTRACT('{\"a\": [1, 2]}', \"$['a']\")", "[1,2]"),
        ("JSON_VALUE('not json', '$')", "NULL"),
        ("'b' IN UNNEST(SPLIT('a,b'))", "true"),
        ("CAST(NULL AS STRING) IN UNNEST(SPLIT('a,b'))", "NULL"),
    ])
    .await;
    let rows = column("SELECT 1 EXCEPT DISTINCT SELECT 2").await;
    assert_eq!(rows, ["1"]);
    let rows = column("SELECT CAST(ts AS STRING) FROM ds.events WHERE user_id = 2").await;
    assert_eq!(rows, ["2025-12-31 08:15:30+00"]);
    let rows = column("SELECT EXTRACT(DAYOFWEEK FROM d) FROM ds.events ORDER BY ts").await;
    // 2025-12-31 is a Wednesday, 2026-01-02 a Friday, 2026-01-05 a Monday.
    assert_eq!(rows, ["NULL", "4", "6", "2"]);
}

#[tokio::test]
async fn unsupported_features_are_named() {
    for (sql, feature) in [
        (
            "SELECT APPROX_QUANTILES(x, 4) FROM UNNEST([1]) AS x",
            "APPROX_QUANTILES",
        ),
        ("SELECT myds.my_udf(1)", "user-defined function"),
        ("SELECT AS STRUCT 1 AS a", "SELECT AS STRUCT"),
        (
            "SELECT CURRENT_DATE('America/New_York')",
            "CURRENT_DATE with a time zone",
        ),
        (
            "SELECT TIMESTAMP '2026-01-01' AT TIME ZONE 'UTC'",
            "AT TIME ZONE",
        ),
        ("SELECT CAST(1 AS NUMERIC(10, 2))", "CAST to NUMERIC(10,2)"),
    ] {
        let err = plan_error(sql).await;
        assert_eq!(err.kind, SqlErrorKind::Unsupported, "{sql}: {err:?}");
        assert!(err.message.contains(feature), "{sql}: {}", err.message);
    }
}

#[tokio::test]
async fn anonymous_columns_are_named_like_bigquery() {
    let names = output_names("SELECT 1, user_id AS ID, e.qty, COUNT(*) FROM ds.events AS e GROUP BY 2, 3 ORDER BY COUNT(*) DESC, 2").await;
    assert_eq!(names, ["f0_", "ID", "qty", "f1_"]);
}

#[tokio::test]
async fn numeric_and_overflow_semantics() {
    check(&[
        ("ROUND(CAST('1.235' AS NUMERIC), 2)", "1.24"),
        ("ROUND(CAST('-1.235' AS NUMERIC), 2)", "-1.24"),
        ("SUM(x) FROM UNNEST([1, 2]) AS x", "3"),
    ])
    .await;
    let err = exec_error("SELECT 9223372036854775807 + x FROM UNNEST([1]) AS x").await;
    assert!(err.contains("overflow"), "{err}");
}

#[tokio::test]
async fn int64_sum_overflow_is_an_error_in_every_form() {
    for sql in [
        "SELECT SUM(x) FROM UNNEST([9223372036854775807, 1]) AS x",
        "SELECT r.g, SUM(r.x) FROM UNNEST([STRUCT(1 AS g, 9223372036854775807 AS x), (1, 1), (2, 5)]) AS r GROUP BY r.g",
        "SELECT SUM(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM UNNEST([1, 9223372036854775807]) AS x",
        "SELECT SUM(x) OVER () FROM UNNEST([1, 9223372036854775807]) AS x",
    ] {
        let err = exec_error(sql).await;
        assert!(err.contains("overflow"), "{sql}: {err}");
    }
    check(&[
        // Checked on the total, so the order rows arrive in does not matter.
        (
            "SUM(x) FROM UNNEST([9223372036854775807, 1, -2]) AS x",
            "9223372036854775806",
        ),
        ("SUM(x) FROM UNNEST([1.5, 2.0]) AS x", "3.5"),
        ("SUM(DISTINCT x) FROM UNNEST([2, 2, 3]) AS x", "5"),
        ("SUM(x) FROM UNNEST(ARRAY<INT64>[NULL]) AS x", "NULL"),
    ])
    .await;
    assert_eq!(
        column("SELECT SUM(r.x) AS s FROM UNNEST([STRUCT(1 AS g, 2 AS x), (1, 3), (2, NULL)]) AS r GROUP BY r.g ORDER BY r.g")
            .await,
        ["5", "NULL"]
    );
    let sums: Vec<String> = run(
        "SELECT SUM(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM UNNEST([1, 2, 4]) AS x ORDER BY x",
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(sums, ["1", "3", "6"]);
}

#[tokio::test]
async fn subquery_predicates_in_the_select_list() {
    check(&[
        (
            "EXISTS(SELECT 1 FROM UNNEST([1, 2]) AS x WHERE x > 1)",
            "true",
        ),
        (
            "NOT EXISTS(SELECT 1 FROM UNNEST([1, 2]) AS x WHERE x > 5)",
            "true",
        ),
        ("2 IN (SELECT x FROM UNNEST([1, 2]) AS x)", "true"),
        ("3 IN (SELECT x FROM UNNEST([1, 2]) AS x)", "false"),
        ("3 IN (SELECT x FROM UNNEST([1, NULL]) AS x)", "NULL"),
        (
            "CAST(NULL AS INT64) IN (SELECT x FROM UNNEST([1]) AS x)",
            "NULL",
        ),
        (
            "CAST(NULL AS INT64) IN (SELECT x FROM UNNEST(ARRAY<INT64>[]) AS x)",
            "false",
        ),
        ("3 NOT IN (SELECT x FROM UNNEST([1, 2]) AS x)", "true"),
        (
            "IF(EXISTS(SELECT 1 FROM UNNEST([1]) AS x), 'yes', 'no')",
            "yes",
        ),
    ])
    .await;
    // In WHERE they stay semi joins.
    assert_eq!(
        column("SELECT x FROM UNNEST([1, 2, 3]) AS x WHERE x IN (SELECT y FROM UNNEST([2, 3]) AS y) ORDER BY x").await,
        ["2", "3"]
    );
}

#[tokio::test]
async fn result_columns_keep_the_written_case() {
    let names = output_names("WITH t AS (SELECT 1 AS CustomerID, 'a' AS Email) SELECT CustomerID, t.Email, CustomerID + 1 AS NextID FROM t").await;
    assert_eq!(names, ["CustomerID", "Email", "NextID"]);
    assert_eq!(
        column("SELECT customerid FROM (SELECT 7 AS CustomerID)").await,
        ["7"]
    );
}

#[tokio::test]
async fn array_to_string_joins_bytes_as_bytes() {
    check(&[
        (
            "TO_HEX(ARRAY_TO_STRING([b'a', b'b', NULL], b'-'))",
            "612d62",
        ),
        (
            "TO_HEX(ARRAY_TO_STRING([b'a', NULL], b'-', b'?'))",
            "612d3f",
        ),
        ("ARRAY_TO_STRING(['a', NULL], '-', NULL)", "NULL"),
        ("ARRAY_TO_STRING(['a', 'b'], NULL)", "NULL"),
        ("ARRAY_TO_STRING(IF(FALSE, ['a'], NULL), '-')", "NULL"),
        ("ARRAY_TO_STRING(ARRAY<STRING>[], '-')", ""),
        (
            "TO_HEX(STRING_AGG(x, b'|')) FROM UNNEST([b'a', b'b']) AS x",
            "617c62",
        ),
    ])
    .await;
}

#[tokio::test]
async fn checked_integer_arithmetic_everywhere() {
    let rows = column("SELECT qty FROM ds.events WHERE qty + 1 > 2 ORDER BY qty * -1").await;
    assert_eq!(rows, ["7", "2"]);
    let rows = column(
        "SELECT qty * 2 AS q2 FROM ds.events WHERE qty IS NOT NULL GROUP BY qty * 2 ORDER BY 1",
    )
    .await;
    assert_eq!(rows, ["0", "4", "14"]);
    let rows = column(
        "SELECT SUM(a.qty + 1) OVER (PARTITION BY a.user_id + 0) FROM ds.events AS a \
         JOIN ds.events AS b ON a.user_id + 1 = b.user_id + 1 AND a.qty = b.qty ORDER BY 1",
    )
    .await;
    assert_eq!(rows, ["1", "11", "11"]);
    let rows = column("SELECT (SELECT MAX(qty) + 1 FROM ds.events) - 1").await;
    assert_eq!(rows, ["7"]);
    check(&[
        ("1.5 + 1", "2.5"),
        ("DATE '2026-01-01' + INTERVAL 1 DAY", "2026-01-02T00:00:00"),
    ])
    .await;
}

#[tokio::test]
async fn unnest_forms() {
    let rows = run(
        "SELECT e.user_id, x FROM ds.events AS e, UNNEST(SPLIT(e.name, 'n')) AS x ORDER BY 1, 2",
    )
    .await
    .unwrap();
    let flat: Vec<String> = rows.iter().map(|r| r.join(":")).collect();
    // " Ann " and "ann" split on 'n'; the NULL name has no elements.
    assert_eq!(flat, ["1:", "1:", "1:", "1: ", "1: A", "1:a", "2:Bob"]);
    let rows = run(
        "SELECT events.user_id, part, pos FROM ds.events CROSS JOIN UNNEST(SPLIT(events.name, 'n')) AS part WITH OFFSET AS pos \
         WHERE events.user_id = 1 AND part != '' ORDER BY 1, 2",
    )
    .await
    .unwrap();
    let flat: Vec<String> = rows.iter().map(|r| r.join(":")).collect();
    assert_eq!(flat, ["1: :2", "1: A:0", "1:a:0"]);
    let rows = run(
        "SELECT e.user_id, x, o FROM ds.events AS e LEFT JOIN UNNEST(SPLIT(e.name, 'o')) AS x WITH OFFSET AS o \
         WHERE e.user_id > 1 ORDER BY 1, 3",
    )
    .await
    .unwrap();
    assert_eq!(
        rows,
        [["2", "B", "0"], ["2", "b", "1"], ["3", "NULL", "NULL"]]
    );
    let rows = run("SELECT x, off FROM UNNEST(['a', 'b']) AS x WITH OFFSET AS off ORDER BY off")
        .await
        .unwrap();
    assert_eq!(rows, [["a", "0"], ["b", "1"]]);
    let rows = run("SELECT offset FROM UNNEST([5, 6]) WITH OFFSET ORDER BY 1")
        .await
        .unwrap();
    assert_eq!(rows, [["0"], ["1"]]);
    let rows = column(
        "SELECT s.k FROM (SELECT [STRUCT('a' AS k, 1 AS v), STRUCT('b' AS k, 2 AS v)] AS params) AS t, \
         UNNEST(t.params) AS s WHERE s.v = 2",
    )
    .await;
    assert_eq!(rows, ["b"]);
}

#[tokio::test]
async fn result_types_are_bigquery_types() {
    let ctx = context();
    let sql = "SELECT STRPOS('ab', 'b') AS p, ROW_NUMBER() OVER () AS rn, RANK() OVER (ORDER BY 1) AS rk, \
               NTILE(2) OVER () AS nt, LENGTH('x') AS len, 7 / 2 AS q, COUNTIF(TRUE) OVER () AS c, \
               DATE '2026-01-01' AS d, TIMESTAMP '2026-01-01' AS ts, CAST('1' AS NUMERIC) AS n, \
               CURRENT_TIMESTAMP() AS now, DATE_DIFF(DATE '2026-01-02', DATE '2026-01-01', DAY) AS dd";
    let plan = plan_query(&ctx.state(), sql, &opts()).await.unwrap();
    let types: Vec<String> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "Int64",
            "Int64",
            "Int64",
            "Int64",
            "Int64",
            "Float64",
            "Int64",
            "Date32",
            "Timestamp(µs, \"UTC\")",
            "Decimal128(38, 9)",
            "Timestamp(µs, \"UTC\")",
            "Int64"
        ]
    );
}

#[tokio::test]
async fn nulls_sort_like_bigquery() {
    let rows = column("SELECT x FROM UNNEST([2, NULL, 1]) AS x ORDER BY x").await;
    assert_eq!(rows, ["NULL", "1", "2"]);
    let rows = column("SELECT x FROM UNNEST([2, NULL, 1]) AS x ORDER BY x DESC").await;
    assert_eq!(rows, ["2", "1", "NULL"]);
    let rows =
        column("SELECT ARRAY_AGG(x ORDER BY x LIMIT 1)[OFFSET(0)] FROM UNNEST([2, NULL, 1]) AS x")
            .await;
    assert_eq!(rows, ["NULL"]);
    let rows = column(
        "SELECT x FROM UNNEST([2, NULL, 1]) AS x QUALIFY ROW_NUMBER() OVER (ORDER BY x) = 1",
    )
    .await;
    assert_eq!(rows, ["NULL"]);
    let rows = column(
        "SELECT FIRST_VALUE(x) OVER w FROM UNNEST([2, NULL, 1]) AS x WINDOW w AS (ORDER BY x DESC) LIMIT 1",
    )
    .await;
    assert_eq!(rows, ["2"]);
}

#[tokio::test]
async fn conformance_suite_fixes() {
    check(&[
        ("SIGN(-25)", "-1"),
        ("SIGN(0)", "0"),
        ("SIGN(2.5)", "1.0"),
        ("CEILING(2.3)", "3.0"),
        ("ROUND(25, -1)", "30.0"),
        ("INSTR('banana', 'an', 1, 2)", "4"),
        ("INSTR('banana', 'an', -1, 1)", "4"),
        ("TO_BASE64(b'foo')", "Zm9v"),
        ("FORMAT('-%s-%i-%%', 'x', 3)", "-x-3-%"),
        ("CONTAINS_SUBSTR('the blue house', 'Blue house')", "true"),
        ("'\\u2168'", "\u{2168}"),
        ("'\\x41\\101\\t|'", "AA\t|"),
        ("'it\\'s'", "it's"),
        ("r'\\d'", "\\d"),
        ("RANGE_BUCKET(20, [0, 10, 20, 30, 40])", "3"),
        ("ARRAY_LENGTH(ARRAY<INT64>[1, 2])", "2"),
        ("SAFE.SUBSTR('bar', 0, -2)", "NULL"),
        ("TIMESTAMP_TRUNC(TIMESTAMP '2008-12-25 15:30:00+00', DAY, '+08:00')", "2008-12-24T16:00:00Z"),
        (
            "(SELECT STRING_AGG(x, '-' ORDER BY x LIMIT 2) FROM UNNEST(['c', NULL, 'a', 'b']) AS x)",
            "a-b",
        ),
        (
            "DATE(TIMESTAMP '2016-12-25 05:30:00+07', 'America/Los_Angeles')",
            "2016-12-24",
        ),
        (
            "TIMESTAMP('2008-07-01 12:00:00', 'Europe/Paris')",
            "2008-07-01T10:00:00Z",
        ),
    ])
    .await;
    let err = exec_error("SELECT TIMESTAMP('2020-03-08 02:30:00', 'America/Los_Angeles')").await;
    assert!(err.contains("skipped or repeated"), "{err}");
    let err = plan_error("SELECT '\\d'").await;
    assert_eq!(err.kind, SqlErrorKind::Syntax, "{err:?}");
    let err = exec_error("SELECT FORMAT('%5d', 1)").await;
    assert!(err.contains("not supported locally yet: FORMAT"), "{err}");
    let ctx = context();
    let plan = plan_query(
        &ctx.state(),
        "SELECT ROUND(2) AS r, t.s.x FROM (SELECT STRUCT(1 AS x) AS s) AS t",
        &opts(),
    )
    .await
    .unwrap();
    let fields: Vec<(String, String)> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect();
    assert_eq!(
        fields,
        [
            ("r".to_string(), "Float64".to_string()),
            ("x".to_string(), "Int64".to_string())
        ]
    );
}

#[tokio::test]
async fn subqueries_over_the_rows_array_become_lambdas() {
    let rows = run(
        "WITH t AS (SELECT 1 AS id, [STRUCT('a' AS key, 10 AS v), STRUCT('b' AS key, 20 AS v)] AS params, 15 AS lim \
         UNION ALL SELECT 2, [STRUCT('b' AS key, 5 AS v)], 0 \
         UNION ALL SELECT 3, IF(FALSE, [STRUCT('a' AS key, 1 AS v)], NULL), 0) \
         SELECT id, \
           (SELECT v FROM UNNEST(params) WHERE key = 'a') AS a, \
           (SELECT p.v * 2 FROM UNNEST(t.params) AS p WHERE p.v > t.lim) AS above, \
           EXISTS(SELECT 1 FROM UNNEST(params) AS p WHERE p.key = 'b') AS has_b, \
           ARRAY(SELECT p.key FROM UNNEST(params) AS p) AS keys \
         FROM t ORDER BY id",
    )
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ["1", "10", "40", "true", "[a, b]"],
            ["2", "NULL", "10", "true", "[b]"],
            ["3", "NULL", "NULL", "false", "[]"],
        ]
    );
    // A scalar subquery with several rows is an error, as in BigQuery.
    let err = exec_error("SELECT (SELECT x FROM UNNEST(xs) AS x) FROM (SELECT [1, 2] AS xs)").await;
    assert!(err.contains("more than one element"), "{err}");
    // Shapes the lambda form does not cover still say so.
    let err = plan_error(
        "SELECT (SELECT COUNT(DISTINCT x) FROM UNNEST(xs) AS x) FROM (SELECT [1, 2] AS xs)",
    )
    .await;
    assert_eq!(err.kind, SqlErrorKind::Unsupported, "{err:?}");
}

#[tokio::test]
async fn unnest_of_a_struct_literal_makes_its_fields_columns() {
    let names = output_names("SELECT * FROM UNNEST([STRUCT('a' AS k, 1 AS v), ('b', 2)])").await;
    assert_eq!(names, ["k", "v"]);
    assert_eq!(
        run("SELECT t.k, v, o FROM UNNEST([STRUCT('a' AS k, 1 AS v), STRUCT('b' AS k, 2 AS v)]) AS t WITH OFFSET AS o ORDER BY o")
            .await
            .unwrap(),
        [["a", "1", "0"], ["b", "2", "1"]]
    );
}

#[tokio::test]
async fn aggregates_over_the_rows_array() {
    let rows = run(
        "WITH orders AS (SELECT 1 AS id, [STRUCT('a' AS name, 2.5 AS price, 2 AS qty), STRUCT('b' AS name, 1.0 AS price, 1 AS qty)] AS items \
         UNION ALL SELECT 2, IF(FALSE, [STRUCT('a' AS name, 2.5 AS price, 2 AS qty)], NULL)) \
         SELECT id, \
           (SELECT COUNT(*) FROM UNNEST(items)) AS n, \
           (SELECT SUM(i.price * i.qty) FROM UNNEST(items) AS i) AS revenue, \
           (SELECT SUM(qty) FROM UNNEST(items) WHERE price > 1) AS big_qty, \
           (SELECT COUNTIF(i.qty > 1) FROM UNNEST(items) AS i) AS multi, \
           (SELECT MAX(name) FROM UNNEST(items)) AS last_name, \
           (SELECT LOGICAL_AND(qty > 0) FROM UNNEST(items)) AS all_positive \
         FROM orders ORDER BY id",
    )
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ["1", "2", "6.0", "2", "1", "b", "true"],
            ["2", "0", "NULL", "NULL", "0", "NULL", "NULL"],
        ]
    );
    let err = exec_error(
        "SELECT (SELECT SUM(x) FROM UNNEST(xs) AS x) FROM (SELECT [9223372036854775807, 1] AS xs)",
    )
    .await;
    assert!(err.contains("overflow"), "{err}");
}
