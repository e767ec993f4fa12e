//! `cohort test` and the tests `cohort build` runs: every generic test kind
//! passing and failing with the right failing-row count, severities and exit
//! codes, downstream skipping, singular tests, JUnit reports, config errors.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{Run, cohort, example_project, run, sample_vars, write};

/// Five orders (one NULL id, a duplicated id, an unknown status, a negative
/// amount, an amount of 120, a customer that does not exist) and three customers.
const ORDERS_SQL: &str = "select 1 as id, 10 as customer_id, 'paid' as status, 5.0 as amount
union all select 2, 10, 'paid', 7.5
union all select 2, 11, 'refunded', -1.0
union all select cast(null as int64), 12, 'weird', 50.0
union all select 4, 99, 'paid', 120.0
";

const CUSTOMERS_SQL: &str = "select 10 as id union all select 11 union all select 12\n";

/// Each generic test twice: a variant that passes and one that fails.
const SCHEMA_YML: &str = r#"models:
  - name: orders
    columns:
      - name: id
        tests:
          - not_null: {name: not_null_fails}
          - unique: {name: unique_fails}
          - unique: {name: unique_passes, where: "id <> 2"}
      - name: customer_id
        tests:
          - not_null: {name: not_null_passes}
          - relationships: {name: relationships_fails, to: ref('customers'), field: id}
          - relationships: {name: relationships_passes, to: ref('customers'), field: id, where: "customer_id < 50"}
      - name: status
        tests:
          - accepted_values: {name: accepted_values_fails, values: [paid, refunded]}
          - accepted_values: {name: accepted_values_passes, values: [paid, refunded, weird]}
      - name: amount
        tests:
          - accepted_range: {name: accepted_range_fails, min: 0, max: 100}
          - accepted_range: {name: accepted_range_exclusive_fails, min: 5, max: 120, inclusive: false}
          - accepted_range: {name: accepted_range_passes, min: -1, max: 120}
    tests:
      - expression_is_true: {name: expression_is_true_fails, expression: "amount >= 0"}
      - expression_is_true: {name: expression_is_true_passes, expression: "amount > -10"}
      - row_count: {name: row_count_passes, min: 1, max: 5}
      - row_count: {name: row_count_fails, max: 4}
  - name: customers
    columns:
      - name: id
        tests: [unique, not_null]
"#;

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(dir.path(), "models/orders.sql", ORDERS_SQL);
    write(dir.path(), "models/customers.sql", CUSTOMERS_SQL);
    write(dir.path(), "models/schema.yml", SCHEMA_YML);
    dir
}

/// The `test_finished` events of a JSON log, by test name.
fn test_events(stdout: &str) -> BTreeMap<String, serde_json::Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "test_finished")
        .map(|e| (e["name"].as_str().unwrap().to_string(), e))
        .collect()
}

#[test]
fn every_generic_test_passes_and_fails_with_the_right_count() {
    let project = fixture();
    let dir = project.path();
    run(dir, &["run"]).ok();
    let out = run(dir, &["test", "--log-format", "json"]).expect_code(1);
    let events = test_events(&out.stdout);
    let expected: [(&str, u64); 16] = [
        ("not_null_fails", 1),
        ("not_null_passes", 0),
        // id 2 appears twice: one duplicated value.
        ("unique_fails", 1),
        ("unique_passes", 0),
        ("accepted_values_fails", 1),
        ("accepted_values_passes", 0),
        // customer 99 does not exist.
        ("relationships_fails", 1),
        ("relationships_passes", 0),
        ("expression_is_true_fails", 1),
        ("expression_is_true_passes", 0),
        // -1.0 and 120.0 are outside [0, 100]; with bounds excluded, 5.0 and 120.0 fail too.
        ("accepted_range_fails", 2),
        ("accepted_range_exclusive_fails", 3),
        ("accepted_range_passes", 0),
        // Five rows: the count row is the one failing row.
        ("row_count_fails", 1),
        ("row_count_passes", 0),
        ("unique_customers_id", 0),
    ];
    for (name, failures) in expected {
        let event = events
            .get(name)
            .unwrap_or_else(|| panic!("no result for {name}:\n{}", out.stdout));
        assert_eq!(event["failures"], failures, "{name}: {event}");
        let status = if failures == 0 { "pass" } else { "fail" };
        assert_eq!(event["status"], status, "{name}: {event}");
    }
    assert_eq!(events.len(), 17, "{}", out.stdout);

    // The compiled queries are written next to the models.
    assert!(
        dir.join("target/compiled/models/tests/unique_fails.sql")
            .is_file()
    );
}

#[test]
fn a_failing_test_prints_the_count_and_the_first_failing_rows() {
    let project = fixture();
    let dir = project.path();
    run(dir, &["run"]).ok();
    // Only the tests declared on the selected node run.
    let out = run(dir, &["test", "--select", "customers"]).ok();
    assert!(out.stdout.contains("Running 2 tests"), "{}", out.stdout);
    let out = run(dir, &["test", "--select", "orders"]).expect_code(1);
    assert!(out.stdout.contains("Running 15 tests"), "{}", out.stdout);
    assert!(out.stdout.contains("7 passed, 8 failed"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("error: test `relationships_fails` on `orders` (models/schema.yml:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("1 failing row"), "{}", out.stderr);
    // The failing row itself: order 4 of customer 99.
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("| 4 ") && l.contains("| 99 ")),
        "{}",
        out.stderr
    );
}

#[test]
fn warn_severity_reports_without_failing_and_error_severity_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(dir.path(), "models/orders.sql", ORDERS_SQL);
    let schema = |severity: &str| {
        format!(
            "models:\n  - name: orders\n    columns:\n      - name: id\n        tests:\n          - not_null: {{severity: {severity}}}\n"
        )
    };
    write(dir.path(), "models/schema.yml", &schema("warn"));
    let out = run(dir.path(), &["build"]).ok();
    assert!(out.stdout.contains("WARN"), "{}", out.stdout);
    assert!(out.stdout.contains("1 ok, 0 error"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("warning: test `not_null_orders_id` on `orders`"),
        "{}",
        out.stderr
    );
    run(dir.path(), &["test"]).ok();

    write(dir.path(), "models/schema.yml", &schema("error"));
    let out = run(dir.path(), &["build"]).expect_code(1);
    assert!(out.stdout.contains("FAIL"), "{}", out.stdout);
    assert!(out.stdout.contains("0 ok, 1 error"), "{}", out.stdout);
    run(dir.path(), &["test"]).expect_code(1);
}

#[test]
fn a_failed_test_in_build_skips_downstream_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(dir.path(), "models/orders.sql", ORDERS_SQL);
    write(
        dir.path(),
        "models/order_totals.sql",
        "select customer_id, sum(amount) as total from {{ ref('orders') }} group by customer_id\n",
    );
    write(dir.path(), "models/other.sql", "select 1 as x\n");
    write(
        dir.path(),
        "models/schema.yml",
        "models:\n  - name: orders\n    columns:\n      - name: id\n        tests: [unique]\n  - name: order_totals\n    columns:\n      - name: customer_id\n        tests: [not_null]\n",
    );
    let out = run(dir.path(), &["build"]).expect_code(1);
    assert!(
        out.stdout.contains("1 ok, 1 error, 1 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("upstream `orders` failed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("`orders`: 1 test failed: `unique_orders_id` (1 failing row)"),
        "{}",
        out.stderr
    );
    // The skipped model's test is reported as skipped, not run.
    assert!(
        out.stdout
            .contains("Tests: 0 passed, 1 failed, 0 warned, 0 errored, 1 skipped"),
        "{}",
        out.stdout
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    let status = |name: &str| {
        results["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("orders").as_deref(), Some("error"));
    assert_eq!(status("order_totals").as_deref(), Some("skipped"));
    assert_eq!(status("other").as_deref(), Some("success"));
    let tests = results["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 2, "{results}");
}

#[test]
fn singular_tests_source_tests_and_json_events() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "data/people.csv",
        "id,email\n1,a@example.com\n2,\n3,c@example.com\n",
    );
    write(
        dir.path(),
        "models/sources.yml",
        "sources:\n  - name: crm\n    location: data\n    format: csv\n    tables:\n      - name: people\n        columns:\n          - name: id\n            tests: [unique]\n          - name: email\n            tests: [not_null]\n",
    );
    write(dir.path(), "models/orders.sql", ORDERS_SQL);
    write(
        dir.path(),
        "data_tests/no_refunds_over_limit.sql",
        "-- orders over 100: failing rows\nselect * from {{ ref('orders') }} where amount > {{ var('limit', 100) }}\n",
    );
    write(
        dir.path(),
        "data_tests/people_have_orders.sql",
        "select p.id from {{ source('crm', 'people') }} as p where p.id > 100\n",
    );
    let out = run(dir.path(), &["build", "--log-format", "json"]).expect_code(1);
    let events = test_events(&out.stdout);
    assert_eq!(
        events["no_refunds_over_limit"]["failures"], 1,
        "{}",
        out.stdout
    );
    assert_eq!(events["no_refunds_over_limit"]["node"], "orders");
    assert_eq!(events["people_have_orders"]["status"], "pass");
    assert_eq!(events["not_null_crm_people_email"]["failures"], 1);
    assert_eq!(events["unique_crm_people_id"]["status"], "pass");
    let failing = &events["no_refunds_over_limit"]["failing_rows"];
    assert_eq!(failing["rows"][0][0], "4", "{failing}");
    let finished = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "run_finished")
        .expect("run_finished event");
    assert_eq!(finished["tests"]["fail"], 2, "{finished}");
    assert_eq!(finished["tests"]["pass"], 2, "{finished}");

    // With a higher limit the singular test passes; the source test still fails.
    let out = run(dir.path(), &["test", "--vars", "{limit: 1000}"]).expect_code(1);
    assert!(out.stdout.contains("3 passed, 1 failed"), "{}", out.stdout);
}

#[test]
fn junit_report_lists_every_test_with_failures_escaped() {
    let project = fixture();
    let dir = project.path();
    run(dir, &["run"]).ok();
    run(dir, &["test", "--junit", "reports/junit.xml"]).expect_code(1);
    let xml = std::fs::read_to_string(dir.join("reports/junit.xml")).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    assert!(
        xml.contains(
            "<testsuite name=\"shop\" tests=\"17\" failures=\"8\" errors=\"0\" skipped=\"0\""
        ),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"unique_passes\" classname=\"orders\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"2 failing rows\" type=\"error\">"),
        "{xml}"
    );
    // SQL in the failure text is escaped: `amount >= 0` never appears raw.
    assert!(xml.contains("where not (amount &gt;= 0)"), "{xml}");
    assert!(!xml.contains("amount >= 0"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 17);
    assert_eq!(xml.matches("</testcase>").count(), 8);
    // Written atomically: no temporary file left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

fn expect_config_error(schema: &str, needle: &str, line: usize, help: &str) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(dir.path(), "models/orders.sql", ORDERS_SQL);
    write(dir.path(), "models/schema.yml", schema);
    for command in ["test", "build", "compile"] {
        let out = run(dir.path(), &[command]).expect_code(2);
        assert!(
            out.stderr
                .contains(&format!("error: models/schema.yml:{line}:")),
            "{command}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(needle), "{command}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("help: {help}")),
            "{command}: {}",
            out.stderr
        );
    }
    // Nothing was built.
    assert!(!dir.path().join("target/local").exists());
}

#[test]
fn unknown_tests_and_bad_arguments_are_config_errors_with_locations() {
    let head = "models:\n  - name: orders\n    columns:\n      - name: id\n        tests:\n";
    expect_config_error(
        &format!("{head}          - not_null\n          - uniqe\n"),
        "unknown test `uniqe`",
        7,
        "did you mean `unique`?",
    );
    expect_config_error(
        &format!("{head}          - accepted_values: {{valeus: [a]}}\n"),
        "test `accepted_values`: unknown argument `valeus`",
        6,
        "did you mean `values`?",
    );
    expect_config_error(
        &format!("{head}          - relationships: {{to: ref('custmers'), field: id}}\n"),
        "unknown ref `custmers`",
        6,
        "known models: orders",
    );
    expect_config_error(
        &format!("{head}          - unique: {{severity: fatal}}\n"),
        "severity `fatal` is not `warn` or `error`",
        6,
        "write `severity: warn` or `severity: error`",
    );
    expect_config_error(
        "models:\n  - name: orders\n    tests:\n      - not_null\n",
        "test `not_null` needs a column",
        4,
        "list it under the column's `tests:`",
    );
    expect_config_error(
        &format!("{head}          - not_null: {{where: \"id >\"}}\n"),
        "test `not_null_orders_id`:",
        6,
        "fix the test's SQL",
    );
}

#[test]
fn the_example_project_ships_tests_that_build_runs_and_that_pass() {
    let project = example_project();
    let dir = project.path();
    let vars = sample_vars();
    let out = run(dir, &["build", "--vars", &vars, "--junit", "junit.xml"]).ok();
    assert!(
        out.stdout.contains("9 ok, 0 error, 0 skipped"),
        "{}",
        out.stdout
    );
    let tests_line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Tests: "))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        tests_line.contains(" 0 failed, ") && tests_line.ends_with("0 errored, 0 skipped"),
        "{tests_line}"
    );
    let passed: usize = tests_line["Tests: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(passed >= 20, "{tests_line}");
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        xml.contains("name=\"unique_customers_customer_id\""),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"segment_members_have_orders\""),
        "{xml}"
    );
    assert!(
        Path::new(&dir.join("target/compiled/data_tests/tests/segment_members_have_orders.sql"))
            .is_file()
    );
}

/// A source and a model summing paid orders, with one unit test whose
/// expected rows are `expect`.
fn unit_project(given_columns: &str, expect: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "data/orders.csv",
        "customer_id,amount,status,note\n1,5.0,paid,x\n",
    );
    write(
        dir.path(),
        "models/paid.sql",
        "select customer_id, sum(amount) as total, count(*) as n\nfrom {{ source('shop', 'orders') }}\nwhere status = 'paid'\ngroup by customer_id\n",
    );
    write(
        dir.path(),
        "models/schema.yml",
        &format!(
            r#"sources:
  - name: shop
    location: data
    format: csv
    tables:
      - name: orders
        columns:
          - {{name: customer_id, type: INT64}}
          - {{name: amount, type: FLOAT64}}
          - {{name: status, type: STRING}}
          - {{name: note, type: STRING}}
unit_tests:
  - name: paid_orders_are_summed
    model: paid
    given:
      - input: source('shop', 'orders')
        rows:
          - {{customer_id: 1, {given_columns}: 10, status: paid}}
          - {{customer_id: 1, {given_columns}: 2.5, status: paid}}
          - {{customer_id: 1, {given_columns}: 100, status: refunded}}
          - {{customer_id: 2, {given_columns}: 7, status: paid}}
    expect:
      rows:
{expect}"#
        ),
    );
    dir
}

#[test]
fn unit_tests_pass_on_fixtures_and_fail_with_a_diff() {
    // The fixture replaces the real table (one row of customer 1, total 5.0);
    // `note` is left out and is NULL.
    let good = "        - {customer_id: 1, total: 12.5}\n        - {customer_id: 2, total: 7}\n";
    let project = unit_project("amount", good);
    let out = run(project.path(), &["test"]).ok();
    assert!(out.stdout.contains("1 unit test"), "{}", out.stdout);
    assert!(out.stdout.contains("1 passed, 0 failed"), "{}", out.stdout);
    // `build` runs it too, before the models.
    let out = run(project.path(), &["build"]).ok();
    assert!(out.stdout.contains("Tests: 1 passed"), "{}", out.stdout);

    // Wrong expectations: one expected row is missing, one produced row unexpected.
    let bad = "        - {customer_id: 1, total: 12.5}\n        - {customer_id: 2, total: 8}\n";
    let project = unit_project("amount", bad);
    let out = run(project.path(), &["test"]).expect_code(1);
    assert!(
        out.stderr.contains(
            "error: test `paid_orders_are_summed` on `paid` (models/schema.yml:13:5): 1 expected row missing (-), 1 unexpected row (+)"
        ),
        "{}",
        out.stderr
    );
    let diff: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("  | "))
        .collect();
    assert_eq!(diff.len(), 3, "{}", out.stderr);
    assert!(
        diff[1].contains("| -    | 2           | 8.0"),
        "{}",
        out.stderr
    );
    assert!(
        diff[2].contains("| +    | 2           | 7.0"),
        "{}",
        out.stderr
    );

    // Rows compare as multisets: the same row expected twice is missing once.
    let twice = "        - {customer_id: 1, total: 12.5}\n        - {customer_id: 1, total: 12.5}\n        - {customer_id: 2, total: 7}\n";
    let out = run(unit_project("amount", twice).path(), &["test"]).expect_code(1);
    assert!(
        out.stderr
            .contains("1 expected row missing (-), 0 unexpected rows (+)"),
        "{}",
        out.stderr
    );
}

#[test]
fn unit_test_columns_are_checked_against_the_planned_schemas() {
    let good = "        - {customer_id: 1, total: 12.5}\n";
    let out = run(unit_project("amout", good).path(), &["test"]).expect_code(2);
    assert!(
        out.stderr.contains(
            "error: models/schema.yml:16:9: unit test `paid_orders_are_summed`: `amout` is not a column of source('shop', 'orders')"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("help: did you mean `amount`?"),
        "{}",
        out.stderr
    );

    let unknown = "        - {customer_id: 1, totl: 12.5}\n";
    let out = run(unit_project("amount", unknown).path(), &["build"]).expect_code(2);
    assert!(
        out.stderr.contains("`totl` is not a column of `paid`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("help: did you mean `total`?"),
        "{}",
        out.stderr
    );
}

/// A model with an enforced contract over `columns` (YAML flow entries) and a model downstream.
fn contract_project(columns: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "models/orders.sql",
        "select 1 as id, 'a' as name, 2.5 as amount\n",
    );
    write(
        dir.path(),
        "models/after_orders.sql",
        "select id from {{ ref('orders') }}\n",
    );
    write(
        dir.path(),
        "models/schema.yml",
        &format!(
            "models:\n  - name: orders\n    config:\n      contract: {{enforced: true}}\n    columns:\n{columns}"
        ),
    );
    dir
}

#[test]
fn an_enforced_contract_fails_the_model_before_writing_and_names_the_column() {
    let ok = "      - {name: id, type: INT64}\n      - {name: name, type: STRING}\n      - {name: amount, type: float64}\n";
    run(contract_project(ok).path(), &["build"]).ok();

    for (columns, message) in [
        (
            "      - {name: id, type: STRING}\n      - {name: name, type: STRING}\n      - {name: amount, type: FLOAT64}\n",
            "model `orders`: contract violated: column `id` is INT64, the contract says STRING",
        ),
        (
            "      - {name: id, type: INT64}\n      - {name: name, type: STRING}\n      - {name: amount, type: FLOAT64}\n      - {name: email, type: STRING}\n",
            "column `email` is declared but not produced",
        ),
        (
            "      - {name: id, type: INT64}\n      - {name: amount, type: FLOAT64}\n",
            "column `name` (STRING) is produced but not declared",
        ),
        (
            "      - {name: id, type: INT64}\n      - {name: name}\n      - {name: amount, type: FLOAT64}\n",
            "column `name` has no type",
        ),
    ] {
        let project = contract_project(columns);
        let out = run(project.path(), &["build"]).expect_code(2);
        assert!(out.stderr.contains(message), "{message}: {}", out.stderr);
        assert!(
            out.stdout.contains("0 ok, 1 error, 1 skipped"),
            "{}",
            out.stdout
        );
        // Nothing was written for the model.
        assert!(
            !project
                .path()
                .join("target/local/analytics/orders/CURRENT")
                .exists()
        );
    }
}

fn freshness_project(table_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "data/events.csv",
        "id,loaded_at\n1,2026-11-18T00:00:00Z\n2,2026-11-20T10:00:00Z\n",
    );
    write(
        dir.path(),
        "models/sources.yml",
        &format!(
            "sources:\n  - name: app\n    location: data\n    format: csv\n    tables:\n      - name: events\n        columns:\n          - {{name: id, type: INT64}}\n          - {{name: loaded_at, type: TIMESTAMP}}\n{table_extra}"
        ),
    );
    dir
}

#[test]
fn source_freshness_warns_then_fails_as_the_newest_row_ages() {
    let project = freshness_project(
        "        loaded_at_field: loaded_at\n        freshness:\n          warn_after: {count: 1, period: day}\n          error_after: {count: 72, period: hour}\n",
    );
    let dir = project.path();
    // Ages are measured at the end of as_of: 14 hours, 38 hours, 110 hours.
    let status = |as_of: &str, code: i32| {
        let vars = format!("{{as_of: {as_of}}}");
        let out = run(dir, &["test", "--vars", &vars, "--log-format", "json"]).expect_code(code);
        let events = test_events(&out.stdout);
        (
            events["freshness_app_events_warn"]["status"].clone(),
            events["freshness_app_events_error"]["status"].clone(),
        )
    };
    assert_eq!(status("2026-11-20", 0), ("pass".into(), "pass".into()));
    assert_eq!(status("2026-11-21", 0), ("warn".into(), "pass".into()));
    assert_eq!(status("2026-11-24", 1), ("warn".into(), "fail".into()));

    let project = freshness_project("        freshness: {warn_after: {count: 1, period: day}}\n");
    let out = run(project.path(), &["test"]).expect_code(2);
    assert!(
        out.stderr
            .contains("error: models/sources.yml:10:20: freshness needs `loaded_at_field`"),
        "{}",
        out.stderr
    );
    let project = freshness_project(
        "        loaded_at_field: loaded_at\n        freshness: {warn_after: {count: 1, period: fortnight}}\n",
    );
    let out = run(project.path(), &["test"]).expect_code(2);
    assert!(
        out.stderr
            .contains("`warn_after` must be {count: N, period: minute|hour|day}"),
        "{}",
        out.stderr
    );
}

#[test]
fn store_failures_keeps_the_failing_rows_as_a_table() {
    let project = fixture();
    let dir = project.path();
    run(dir, &["run"]).ok();
    let out = run(dir, &["test", "--select", "orders", "--store-failures"]).expect_code(1);
    assert!(
        out.stdout
            .contains("2 failing rows, stored in analytics_test_failures.accepted_range_fails"),
        "{}",
        out.stdout
    );
    // Only failing tests leave a table.
    let stored = dir.join("target/local/analytics_test_failures");
    assert!(stored.join("accepted_range_fails/CURRENT").is_file());
    assert!(!stored.join("accepted_range_passes").exists());
    let tables = std::fs::read_dir(&stored).unwrap().count();
    assert_eq!(tables, 8, "one table per failing test");
    // The stored rows are the failing rows, readable in later commands.
    let (_, rows) = crate::support::query(
        dir,
        "{}",
        "select id, amount from `analytics_test_failures.accepted_range_fails` order by id",
    );
    assert_eq!(
        rows,
        vec![
            vec![serde_json::json!(2), serde_json::json!(-1.0)],
            vec![serde_json::json!(4), serde_json::json!(120.0)]
        ]
    );
}

/// A project on a BigQuery target (no credentials, no files): a source typed
/// in YAML (`note_type` is the declaration of its `note` column), a model
/// summing paid orders with a data test, and one unit test expecting `expect`.
fn warehouse_project(note_type: &str, expect: &str) -> tempfile::TempDir {
    warehouse_project_with(note_type, "", expect)
}

/// [`warehouse_project`] with `source_extra` (YAML lines) on the source.
fn warehouse_project_with(note_type: &str, source_extra: &str, expect: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: local\n    prod:\n      type: bigquery\n      project: acme\n      dataset: mkt\n",
    );
    write(
        dir.path(),
        "models/paid.sql",
        "select customer_id, sum(amount) as total\nfrom {{ source('shop', 'orders') }}\nwhere status = 'paid'\ngroup by customer_id\n",
    );
    write(
        dir.path(),
        "models/schema.yml",
        &format!(
            r#"sources:
  - name: shop
{source_extra}    tables:
      - name: orders
        columns:
          - {{name: customer_id, type: INT64}}
          - {{name: Amount, type: FLOAT64}}
          - {{name: status, type: STRING}}
          - {{name: note{note_type}}}
models:
  - name: paid
    columns:
      - name: customer_id
        tests: [unique]
unit_tests:
  - name: paid_orders_are_summed
    model: paid
    given:
      - input: source('shop', 'orders')
        rows:
          - {{customer_id: 1, amount: 10, status: paid}}
          - {{customer_id: 1, amount: 2.5, status: paid}}
          - {{customer_id: 2, amount: 7, status: refunded}}
    expect:
      rows:
{expect}"#
        ),
    );
    dir
}

#[test]
fn unit_tests_run_locally_on_a_bigquery_target_and_data_tests_are_skipped() {
    let good = "        - {customer_id: 1, total: 12.5}\n";
    let project = warehouse_project(", type: STRING", good);
    let dir = project.path();
    // The scratch engine leaves nothing in the system's temporary folder.
    let temp = tempfile::tempdir().unwrap();
    let output = cohort(dir)
        .args(["test", "--target", "prod", "--junit", "junit.xml"])
        .env("TMPDIR", temp.path())
        .output()
        .expect("run cohort");
    let left: Vec<_> = std::fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "the unit test run left {left:?} in TMPDIR");
    let out = Run::from_output(output).ok();
    assert!(
        out.stdout
            .contains("Running 1 unit test on a scratch local engine"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(": 1 passed, 0 failed, 0 warned, 0 errored, 1 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("skipped: cannot connect to BigQuery: target `prod`: method `oauth` found no application default credentials"),
        "{}",
        out.stdout
    );
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(xml.contains("skipped=\"1\""), "{xml}");
    // Nothing was built or stored for the local target.
    assert!(!dir.join("target/local").exists());

    // A wrong expectation fails with the diff.
    let bad = "        - {customer_id: 1, total: 13}\n";
    let project = warehouse_project(", type: STRING", bad);
    let out = run(project.path(), &["test", "--target", "prod"]).expect_code(1);
    assert!(
        out.stderr
            .contains("1 expected row missing (-), 1 unexpected row (+)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("| +    | 1") && l.contains("12.5")),
        "{}",
        out.stderr
    );
    assert!(!project.path().join("target/local").exists());
}

#[test]
fn a_source_column_without_a_declared_type_fails_the_unit_test_on_bigquery() {
    let good = "        - {customer_id: 1, total: 12.5}\n";
    let project = warehouse_project("", good);
    let out = run(project.path(), &["test", "--target", "prod"]).expect_code(1);
    assert!(
        out.stderr.contains(
            "source('shop', 'orders') column `note` has no declared `type:`; on a BigQuery target unit tests type a source's columns from its YAML"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("declare each column with its type (`- {name: ..., type: INT64}`)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("0 passed, 0 failed, 0 warned, 1 errored"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_failing_unit_test_in_build_leaves_its_model_unbuilt_and_skips_downstream() {
    let bad = "        - {customer_id: 1, total: 13}\n";
    let source = "    location: data\n    format: csv\n";
    let project = warehouse_project_with(", type: STRING", source, bad);
    let dir = project.path();
    write(
        dir,
        "data/orders.csv",
        "customer_id,Amount,status,note\n1,5.0,paid,x\n",
    );
    write(
        dir,
        "models/paid_top.sql",
        "select * from {{ ref('paid') }} where total > 10\n",
    );
    write(dir, "models/other.sql", "select 1 as x\n");
    // The unit test fails on its fixtures, so the model it tests is not built at all.
    let out = run(dir, &["build"]).expect_code(1);
    assert!(
        out.stdout.contains("1 ok, 1 error, 1 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("`paid` was not built: unit test `paid_orders_are_summed` failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("upstream `paid` failed"),
        "{}",
        out.stdout
    );
    assert!(!dir.join("target/local/analytics/paid").exists());
    assert!(dir.join("target/local/analytics/other/CURRENT").is_file());
    // No table to read: the stored model is absent.
    let out = run(
        dir,
        &["show", "--inline", "select * from {{ ref('paid') }}"],
    );
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
}
