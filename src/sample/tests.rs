//! End-to-end tests of `generate`: the files are read back with DataFusion
//! and checked against the data contract and the personas' segments.

use std::path::Path;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use super::clock::DAY_US;
use super::persona::{Persona, Profile};
use super::*;

const SEED: u64 = 42;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn options(dir: &Path, customers: u64, seed: u64) -> SampleOptions {
    SampleOptions {
        customers,
        seed,
        as_of: as_of(),
        out: dir.to_path_buf(),
    }
}

fn end_us() -> i64 {
    Clock::new(as_of()).unwrap().end()
}

/// Customers among 1..=n with `persona`, as the generator assigns them.
fn persona_count(n: u64, persona: Persona) -> i64 {
    (1..=n)
        .filter(|&id| Profile::of(SEED, id).persona == persona)
        .count() as i64
}

async fn context(dir: &Path) -> SessionContext {
    let ctx = SessionContext::new();
    for table in TABLES {
        let path = dir.join(format!("{table}.parquet"));
        ctx.register_parquet(table, path.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
    }
    ctx
}

/// The first row of `sql`'s result, every column cast to Int64.
async fn row(ctx: &SessionContext, sql: &str) -> Vec<i64> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let batch = batches.iter().find(|b| b.num_rows() > 0).expect("no rows");
    batch
        .columns()
        .iter()
        .map(|column| {
            let column = cast(column, &DataType::Int64).unwrap();
            let values = column.as_any().downcast_ref::<Int64Array>().unwrap();
            if values.is_null(0) {
                0
            } else {
                values.value(0)
            }
        })
        .collect()
}

/// SQL for the whole days between timestamp `column` and as_of (0 = as_of).
fn days(column: &str) -> String {
    format!(
        "(({} - arrow_cast({column}, 'Int64')) / {DAY_US})",
        end_us()
    )
}

fn file_bytes(dir: &Path) -> Vec<Vec<u8>> {
    TABLES
        .iter()
        .map(|t| std::fs::read(dir.join(format!("{t}.parquet"))).unwrap())
        .collect()
}

#[test]
fn same_inputs_give_identical_bytes_and_another_seed_differs() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let summary_a = generate(&options(a.path(), 300, SEED)).unwrap();
    let summary_b = generate(&options(b.path(), 300, SEED)).unwrap();
    generate(&options(c.path(), 300, SEED + 1)).unwrap();
    assert_eq!(summary_a, summary_b);
    let (bytes_a, bytes_c) = (file_bytes(a.path()), file_bytes(c.path()));
    assert_eq!(bytes_a, file_bytes(b.path()));
    for (table, (x, y)) in TABLES.iter().zip(bytes_a.iter().zip(&bytes_c)) {
        assert_ne!(x, y, "{table} did not change with the seed");
    }
}

#[test]
fn only_the_four_files_are_left() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/sample");
    let summary = generate(&options(&out, 20, SEED)).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = TABLES.iter().map(|t| format!("{t}.parquet")).collect();
    expected.sort();
    assert_eq!(names, expected);
    let order: Vec<&str> = summary.tables.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(order, TABLES);
}

/// The contract's columns as (name, Arrow type) pairs.
fn contract_columns(table: &schema::Table) -> Vec<(String, DataType)> {
    table
        .columns
        .iter()
        .map(|(name, column)| (name.to_string(), column.data_type()))
        .collect()
}

fn columns_of(schema: &datafusion::arrow::datatypes::Schema) -> Vec<(String, DataType)> {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

#[test]
fn files_carry_the_contract_arrow_schema() {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let dir = tempfile::tempdir().unwrap();
    generate(&options(dir.path(), 50, SEED)).unwrap();
    for table in &schema::CONTRACT {
        let path = dir.path().join(format!("{}.parquet", table.name));
        let file = std::fs::File::open(path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let got = columns_of(reader.schema());
        assert_eq!(got, contract_columns(table), "{}", table.name);
    }
}

#[tokio::test]
async fn datafusion_reads_the_contract_schema() {
    let dir = tempfile::tempdir().unwrap();
    generate(&options(dir.path(), 50, SEED)).unwrap();
    // DataFusion reads strings as Utf8View unless told otherwise.
    let config = datafusion::prelude::SessionConfig::new().set_bool(
        "datafusion.execution.parquet.schema_force_view_types",
        false,
    );
    let ctx = SessionContext::new_with_config(config);
    for table in &schema::CONTRACT {
        let path = dir.path().join(format!("{}.parquet", table.name));
        let df = ctx
            .read_parquet(path.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
        let got = columns_of(df.schema().as_arrow());
        assert_eq!(got, contract_columns(table), "{}", table.name);
    }
}

#[tokio::test]
async fn row_counts_are_in_the_expected_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&options(dir.path(), 2_000, SEED)).unwrap();
    let ctx = context(dir.path()).await;
    let counted = row(
        &ctx,
        "SELECT (SELECT COUNT(*) FROM raw_customers) AS c, (SELECT COUNT(*) FROM raw_sessions) AS s, \
         (SELECT COUNT(*) FROM raw_transactions) AS t, (SELECT COUNT(*) FROM raw_campaign_touches) AS a, \
         (SELECT COUNT(DISTINCT customer_id) FROM raw_customers) AS d",
    )
    .await;
    let reported: Vec<i64> = summary.tables.iter().map(|(_, n)| *n as i64).collect();
    assert_eq!(counted[..4], reported[..]);
    let [customers, sessions, transactions, touches, distinct] = counted[..] else {
        panic!("{counted:?}")
    };
    assert_eq!(distinct, 2_000);
    assert!(
        (2_030..=2_100).contains(&customers),
        "customers {customers}"
    );
    assert!((36_000..=44_000).contains(&sessions), "sessions {sessions}");
    assert!(
        (3_400..=4_600).contains(&transactions),
        "transactions {transactions}"
    );
    assert!((18_000..=22_000).contains(&touches), "touches {touches}");
}

#[tokio::test]
async fn buyers_average_about_three_orders() {
    let dir = tempfile::tempdir().unwrap();
    generate(&options(dir.path(), 2_000, SEED)).unwrap();
    let ctx = context(dir.path()).await;
    let [buyers, orders] = row(
        &ctx,
        "SELECT COUNT(DISTINCT customer_id), COUNT(DISTINCT transaction_id) \
         FROM raw_transactions WHERE customer_id IS NOT NULL",
    )
    .await[..] else {
        panic!()
    };
    let per_buyer = orders as f64 / buyers as f64;
    assert!((2.5..=4.0).contains(&per_buyer), "{per_buyer}");
}

#[tokio::test]
async fn timestamps_stay_in_the_400_days_up_to_as_of() {
    let dir = tempfile::tempdir().unwrap();
    generate(&options(dir.path(), 2_000, SEED)).unwrap();
    let ctx = context(dir.path()).await;
    let sql = "SELECT MIN(t), MAX(t) FROM ( \
        SELECT created_at AS t FROM raw_customers UNION ALL \
        SELECT updated_at FROM raw_customers UNION ALL \
        SELECT started_at FROM raw_sessions UNION ALL \
        SELECT ordered_at FROM raw_transactions UNION ALL \
        SELECT updated_at FROM raw_transactions UNION ALL \
        SELECT touched_at FROM raw_campaign_touches)";
    let [min, max] = row(&ctx, sql).await[..] else {
        panic!()
    };
    let window_start = Clock::new(as_of()).unwrap().day_start(399);
    assert!(max <= end_us(), "{max} > {}", end_us());
    assert!(min >= window_start, "{min} < {window_start}");
    // The data reaches both ends of the window.
    assert!(max > end_us() - DAY_US && min < window_start + DAY_US);
}

/// Completed orders, last completed order and session trend per customer,
/// keeping only the newest row of each transaction and one row per session.
fn customer_facts() -> String {
    let (ordered, started, touched) = (days("ordered_at"), days("started_at"), days("touched_at"));
    format!(
        "WITH tx AS (
            SELECT * FROM (
                SELECT *, ROW_NUMBER() OVER (PARTITION BY transaction_id ORDER BY updated_at DESC) AS rn
                FROM raw_transactions WHERE customer_id IS NOT NULL
            ) WHERE rn = 1
        ),
        orders AS (
            SELECT customer_id,
                   SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
                   MIN(CASE WHEN status = 'completed' THEN {ordered} END) AS last_completed,
                   MIN({ordered}) AS last_any,
                   SUM(CASE WHEN status = 'completed' THEN revenue ELSE 0 END) AS spend
            FROM tx GROUP BY customer_id
        ),
        sessions AS (
            SELECT customer_id,
                   SUM(CASE WHEN d < 30 THEN 1 ELSE 0 END) AS last_30,
                   SUM(CASE WHEN d >= 30 AND d < 60 THEN 1 ELSE 0 END) AS prior_30,
                   SUM(CASE WHEN d < 7 THEN pricing_page_views ELSE 0 END) AS pricing_7
            FROM (
                SELECT DISTINCT session_id, customer_id, {started} AS d, pricing_page_views
                FROM raw_sessions WHERE customer_id IS NOT NULL
            ) GROUP BY customer_id
        ),
        opens AS (
            SELECT DISTINCT customer_id FROM raw_campaign_touches
            WHERE event = 'email_open' AND {touched} < 30
        ),
        facts AS (
            SELECT c.customer_id, o.completed, o.last_completed, o.last_any, o.spend,
                   s.last_30, s.prior_30, s.pricing_7, p.customer_id IS NOT NULL AS opened
            FROM (SELECT DISTINCT customer_id FROM raw_customers) c
            LEFT JOIN orders o ON o.customer_id = c.customer_id
            LEFT JOIN sessions s ON s.customer_id = c.customer_id
            LEFT JOIN opens p ON p.customer_id = c.customer_id
        )"
    )
}

async fn segment_count(ctx: &SessionContext, condition: &str) -> i64 {
    let sql = format!(
        "{} SELECT COUNT(*) FROM facts WHERE {condition}",
        customer_facts()
    );
    row(ctx, &sql).await[0]
}

#[tokio::test]
async fn personas_populate_the_segments() {
    let n = 2_000;
    let dir = tempfile::tempdir().unwrap();
    generate(&options(dir.path(), n, SEED)).unwrap();
    let ctx = context(dir.path()).await;

    let churn = segment_count(
        &ctx,
        "completed > 2 AND last_completed BETWEEN 60 AND 90 AND last_30 < prior_30",
    )
    .await;
    let churn_persona = persona_count(n, Persona::ChurnRisk);
    assert!(churn_persona > 40, "{churn_persona}");
    assert!(
        churn >= churn_persona && churn <= churn_persona * 6 / 5 + 5,
        "churn {churn} vs {churn_persona}"
    );

    let intent = segment_count(
        &ctx,
        "pricing_7 >= 2 AND opened AND (last_any IS NULL OR last_any >= 30)",
    )
    .await;
    let intent_persona = persona_count(n, Persona::HighIntent);
    assert!(intent_persona > 40, "{intent_persona}");
    assert!(
        intent >= intent_persona && intent <= intent_persona * 13 / 10 + 5,
        "intent {intent} vs {intent_persona}"
    );

    let one_time = segment_count(&ctx, "completed = 1").await;
    let never = segment_count(&ctx, "completed IS NULL").await;
    let lapsed = segment_count(&ctx, "last_completed > 180").await;
    for (name, count) in [
        ("one-time", one_time),
        ("never bought", never),
        ("lapsed", lapsed),
    ] {
        assert!(
            count > n as i64 / 20 && count < n as i64 / 2,
            "{name}: {count}"
        );
    }
}

/// Customers whose R, F and M quintile scores among buyers are all at
/// least `cut` (ties broken by customer_id, as in customer_features).
async fn rfm_count(ctx: &SessionContext, cut: i64) -> i64 {
    let sql = format!(
        "{},
        scored AS (
            SELECT customer_id,
                   NTILE(5) OVER (ORDER BY last_completed DESC, customer_id) AS r,
                   NTILE(5) OVER (ORDER BY completed, customer_id) AS f,
                   NTILE(5) OVER (ORDER BY spend, customer_id) AS m
            FROM facts WHERE completed > 0
        )
        SELECT COUNT(*) FROM scored WHERE r >= {cut} AND f >= {cut} AND m >= {cut}",
        customer_facts()
    );
    row(ctx, &sql).await[0]
}

#[tokio::test]
async fn rfm_champions_are_mostly_the_champion_persona() {
    let n = 2_000;
    let dir = tempfile::tempdir().unwrap();
    generate(&options(dir.path(), n, SEED)).unwrap();
    let ctx = context(dir.path()).await;
    let persona = persona_count(n, Persona::Champion);
    let top = rfm_count(&ctx, 5).await;
    assert!(
        top >= persona * 7 / 10 && top <= persona * 13 / 10,
        "{top} vs {persona}"
    );
    let high = rfm_count(&ctx, 4).await;
    assert!(
        high >= persona && high <= n as i64 / 10,
        "{high} vs {persona}"
    );
}

#[tokio::test]
async fn the_data_is_dirty_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    generate(&options(dir.path(), 2_000, SEED)).unwrap();
    let ctx = context(dir.path()).await;
    let checks = [
        (
            "duplicated customers",
            "SELECT 10000 * (COUNT(*) - COUNT(DISTINCT customer_id)) / COUNT(DISTINCT customer_id) FROM raw_customers",
            1.5,
            4.5,
        ),
        (
            "NULL emails",
            "SELECT 10000 * SUM(CASE WHEN email IS NULL THEN 1 ELSE 0 END) / COUNT(*) FROM raw_customers",
            3.0,
            10.0,
        ),
        (
            "padded or upper-case emails",
            "SELECT 10000 * SUM(CASE WHEN email <> lower(trim(email)) THEN 1 ELSE 0 END) / COUNT(*) FROM raw_customers",
            10.0,
            30.0,
        ),
        (
            "lower-case or padded countries",
            "SELECT 10000 * SUM(CASE WHEN country NOT IN ('US','DE','GB','FR','CA') THEN 1 ELSE 0 END) / COUNT(*) FROM raw_customers",
            5.0,
            12.0,
        ),
        (
            "countries that are not ISO codes once trimmed and upper-cased",
            "SELECT 10000 * SUM(CASE WHEN upper(trim(country)) IN ('US','DE','GB','FR','CA') THEN 0 ELSE 1 END) / COUNT(*) FROM raw_customers",
            0.0,
            0.0,
        ),
        (
            "anonymous sessions",
            "SELECT 10000 * SUM(CASE WHEN customer_id IS NULL THEN 1 ELSE 0 END) / COUNT(*) FROM raw_sessions",
            10.0,
            20.0,
        ),
        (
            "duplicate sessions",
            "SELECT 10000 * (COUNT(*) - COUNT(DISTINCT session_id)) / COUNT(*) FROM raw_sessions",
            0.5,
            1.5,
        ),
        (
            "re-sent transactions",
            "SELECT 10000 * (COUNT(*) - COUNT(DISTINCT transaction_id)) / COUNT(*) FROM raw_transactions",
            1.0,
            3.5,
        ),
        (
            "guest transactions",
            "SELECT 10000 * SUM(CASE WHEN customer_id IS NULL THEN 1 ELSE 0 END) / COUNT(*) FROM raw_transactions",
            1.0,
            6.0,
        ),
        (
            "unmatched touches",
            "SELECT 10000 * SUM(CASE WHEN customer_id IS NULL THEN 1 ELSE 0 END) / COUNT(*) FROM raw_campaign_touches",
            3.0,
            10.0,
        ),
        (
            "touches of unknown customers",
            "SELECT 10000 * SUM(CASE WHEN customer_id > 2000 THEN 1 ELSE 0 END) / COUNT(*) FROM raw_campaign_touches",
            0.01,
            0.5,
        ),
        (
            "lower-case channels",
            "SELECT 10000 * SUM(CASE WHEN channel = lower(channel) THEN 1 ELSE 0 END) / COUNT(*) FROM raw_sessions",
            60.0,
            80.0,
        ),
    ];
    for (what, sql, lo, hi) in checks {
        let got = row(&ctx, sql).await[0] as f64 / 100.0;
        assert!(
            (lo..=hi).contains(&got),
            "{what}: {got}% not in {lo}..={hi}"
        );
    }
    let [refunded, odd_currency] = row(
        &ctx,
        "SELECT SUM(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN currency <> upper(currency) THEN 1 ELSE 0 END) FROM raw_transactions",
    )
    .await[..] else {
        panic!()
    };
    assert!(
        refunded > 0 && odd_currency > 0,
        "{refunded} {odd_currency}"
    );
}

#[test]
fn a_file_in_place_of_the_directory_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample");
    std::fs::write(&out, b"not a directory").unwrap();
    let err = generate(&options(&out, 10, SEED)).unwrap_err();
    assert!(!err.is_config(), "{err}");
    assert!(err.to_string().contains("sample"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"not a directory");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn zero_customers_is_a_config_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample");
    let err = generate(&options(&out, 0, SEED)).unwrap_err();
    assert!(err.is_config(), "{err}");
    assert!(!out.exists());
}

#[test]
fn an_as_of_at_the_end_of_time_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SampleOptions {
        as_of: NaiveDate::MAX,
        ..options(dir.path(), 10, SEED)
    };
    assert!(generate(&opts).unwrap_err().is_config());
}
