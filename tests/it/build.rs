//! `cohort build` on the example project, end to end on DataFusion.

use crate::support::{example_project, query, query_int, run, sample_vars, write};

const MODELS: [&str; 5] = [
    "campaign_touches",
    "customer_features",
    "customers",
    "sessions",
    "transactions",
];

#[test]
fn builds_every_model_of_the_example_project() {
    let project = example_project();
    let dir = project.path();
    let vars = sample_vars();
    let out = run(dir, &["build", "--vars", &vars]).ok();
    for model in MODELS {
        assert!(
            out.stdout.contains(&format!(".{model} ")),
            "no line for {model}:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.contains("9 ok, 0 error, 0 skipped"),
        "{}",
        out.stdout
    );

    // run_results.json records every node as a success with rows.
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    let results = results["results"].as_array().unwrap();
    // Five models and four segments (segments are checked in tests/it/segments.rs).
    assert_eq!(results.len(), 9);
    for r in results {
        assert_eq!(r["status"], "success", "{r}");
        if MODELS.contains(&r["name"].as_str().unwrap()) {
            assert!(r["rows"].as_u64().unwrap() > 0, "{r}");
        }
    }

    // customers: one row per raw customer id, newest record wins.
    let raw_ids = query_int(
        dir,
        &vars,
        "select count(distinct customer_id) from `raw.raw_customers`",
    );
    let customers = query_int(dir, &vars, "select count(*) from `analytics.customers`");
    let distinct = query_int(
        dir,
        &vars,
        "select count(distinct customer_id) from `analytics.customers`",
    );
    assert_eq!(customers, raw_ids);
    assert_eq!(distinct, customers);

    // Phones are E.164 or NULL; "+44 (0)7911 ..." loses its trunk zero (regression).
    let bad_phones = query_int(
        dir,
        &vars,
        "select count(*) from `analytics.customers` where phone is not null and not regexp_contains(phone, r'^\\+[1-9][0-9]{7,14}$')",
    );
    assert_eq!(bad_phones, 0);
    let trunk_zero = query_int(
        dir,
        &vars,
        "select count(*) from `analytics.customers` where starts_with(phone, '+440')",
    );
    assert_eq!(trunk_zero, 0);

    // sessions and transactions are deduplicated.
    let dup_sessions = query_int(
        dir,
        &vars,
        "select count(*) from (select session_id from `analytics.sessions` group by session_id having count(*) > 1)",
    );
    assert_eq!(dup_sessions, 0);

    // customer_features: one row per customer, features consistent with the inputs.
    let features = query_int(
        dir,
        &vars,
        "select count(*) from `analytics.customer_features`",
    );
    assert_eq!(features, customers);
    let (_, rows) = query(
        dir,
        &vars,
        "select customer_id, orders_total from `analytics.customer_features` where orders_total > 0 order by customer_id limit 5",
    );
    for row in rows {
        let id = row[0].as_i64().unwrap();
        let expected = query_int(
            dir,
            &vars,
            &format!(
                "select count(*) from `analytics.transactions` where customer_id = {id} and is_revenue and order_date <= date '2026-11-23'"
            ),
        );
        assert_eq!(
            row[1].as_i64().unwrap(),
            expected,
            "orders_total of customer {id}"
        );
    }
    let bad_tiers = query_int(
        dir,
        &vars,
        "select count(*) from `analytics.customer_features` where clv_tier not in ('platinum', 'gold', 'silver', 'prospect')",
    );
    assert_eq!(bad_tiers, 0);
    let scored = query_int(
        dir,
        &vars,
        "select countif(r_score between 1 and 5) from `analytics.customer_features` where orders_total > 0",
    );
    let buyers = query_int(
        dir,
        &vars,
        "select count(*) from `analytics.customer_features` where orders_total > 0",
    );
    assert_eq!(scored, buyers);
}

#[test]
fn a_failing_model_exits_1_and_skips_downstream() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(dir.path(), "models/good.sql", "select 1 as id\n");
    write(
        dir.path(),
        "models/bad.sql",
        "select cast('not a number' as int64) as id from {{ ref('good') }}\n",
    );
    write(
        dir.path(),
        "models/after_bad.sql",
        "select id from {{ ref('bad') }}\n",
    );
    let out = run(dir.path(), &["build"]).expect_code(1);
    assert!(
        out.stdout.contains("1 ok, 1 error, 1 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("upstream `bad` failed"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("model `bad`"), "{}", out.stderr);
    let results = std::fs::read_to_string(dir.path().join("target/run_results.json")).unwrap();
    assert!(results.contains("\"skipped\""), "{results}");
}

#[test]
fn views_and_custom_schemas() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "models/numbers.sql",
        "{{ config(schema='staging') }}\nselect 1 as n union all select 2 union all select 3\n",
    );
    write(
        dir.path(),
        "models/doubled.sql",
        "{{ config(materialized='view') }}\nselect n * 2 as n2 from {{ ref('numbers') }}\n",
    );
    let out = run(dir.path(), &["build"]).ok();
    assert!(
        out.stdout.contains("analytics_staging.numbers"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("view  analytics.doubled"),
        "{}",
        out.stdout
    );
    // A later command sees the view (registered from storage) and the table.
    let total = query_int(dir.path(), "{}", "select sum(n2) from `analytics.doubled`");
    assert_eq!(total, 12);
}

#[test]
fn json_log_format_emits_one_event_per_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(dir.path(), "models/one.sql", "select 1 as id\n");
    let out = run(dir.path(), &["build", "--log-format", "json"]).ok();
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "node_started",
            "node_finished",
            "run_finished"
        ],
        "{}",
        out.stdout
    );
    assert_eq!(events[2]["status"], "success");
    assert_eq!(events[2]["rows"], 1);
}

#[test]
fn as_of_var_changes_the_window_deterministically() {
    let project = example_project();
    let dir = project.path();
    let data = crate::support::sample_data();
    let vars_a = format!("{{as_of: 2026-11-23, data_dir: '{}'}}", data.display());
    let vars_b = format!("{{as_of: 2026-08-01, data_dir: '{}'}}", data.display());
    run(
        dir,
        &["build", "--vars", &vars_a, "--select", "+customer_features"],
    )
    .ok();
    let sql = "select sum(orders_total) from `analytics.customer_features`";
    let a = query_int(dir, &vars_a, sql);
    run(
        dir,
        &["build", "--vars", &vars_b, "--select", "+customer_features"],
    )
    .ok();
    let b = query_int(dir, &vars_b, sql);
    assert!(b < a, "orders up to an earlier as_of are fewer: {b} vs {a}");
    run(
        dir,
        &["build", "--vars", &vars_a, "--select", "customer_features"],
    )
    .ok();
    assert_eq!(query_int(dir, &vars_a, sql), a, "same as_of, same result");
}

#[test]
fn result_columns_keep_their_case_and_resolve_case_insensitively_downstream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    crate::support::write(root, "cohort.yml", "name: casing\n");
    crate::support::write(
        root,
        "models/crm.sql",
        "select 7 as CustomerID, 'a@x.io' as Email",
    );
    crate::support::write(
        root,
        "models/contacts.sql",
        "select customerid, EMAIL as contact_email from {{ ref('crm') }}",
    );
    crate::support::write(
        root,
        "segments/known.yml",
        "segments:\n  - name: known\n    from: ref('crm')\n    entity_key: customerid\n    rules:\n      all:\n        - {column: email, op: not_null}\n",
    );
    crate::support::run(root, &["build"]).ok();
    // The stored table keeps the written case.
    let stored = root.join("target/local");
    let parquet = walk(&stored)
        .into_iter()
        .find(|p| {
            p.to_string_lossy().contains("crm") && p.extension().is_some_and(|e| e == "parquet")
        })
        .expect("crm parquet file");
    let bytes = std::fs::read(&parquet).expect("read parquet");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("CustomerID") && text.contains("Email"),
        "{}",
        parquet.display()
    );
    let (columns, rows) = crate::support::query(
        root,
        "{}",
        "select customerid as CustomerID, email as Email from {{ ref('crm') }}",
    );
    assert_eq!(columns, ["CustomerID", "Email"]);
    assert_eq!(rows, [[serde_json::json!(7), serde_json::json!("a@x.io")]]);
    let (columns, rows) = crate::support::query(root, "{}", "select * from {{ ref('contacts') }}");
    assert_eq!(columns, ["customerid", "contact_email"]);
    assert_eq!(rows, [[serde_json::json!(7), serde_json::json!("a@x.io")]]);
    let members = crate::support::query_int(
        root,
        "{}",
        "select count(*) from {{ ref('segment_known') }}",
    );
    assert_eq!(members, 1);
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
