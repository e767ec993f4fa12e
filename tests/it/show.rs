//! `cohort show`: inline SQL and model previews in every output format.

use crate::support::{run, write};

#[test]
fn inline_json_works_in_a_fresh_project_and_reads_sources() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["init", "shop"]).ok();
    let project = dir.path().join("shop");
    let out = run(
        &project,
        &[
            "show",
            "--inline",
            "select 1 + 1 as two, 'x' as s",
            "--output",
            "json",
        ],
    )
    .ok();
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["columns"], serde_json::json!(["two", "s"]));
    assert_eq!(value["rows"], serde_json::json!([[2, "x"]]));
    // Sources are readable before anything is built, also through Jinja.
    let out = run(
        &project,
        &[
            "show",
            "--inline",
            "select count(*) as n from {{ source('shop', 'raw_orders') }}",
            "--output",
            "json",
        ],
    )
    .ok();
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["rows"], serde_json::json!([[7]]));
}

#[test]
fn model_preview_as_table_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "models/people.sql",
        "select 1 as id, 'Ann, \"A\"' as name union all select 2, null\n",
    );
    let out = run(
        dir.path(),
        &[
            "show", "--select", "people", "--output", "csv", "--limit", "5",
        ],
    )
    .ok();
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines[1..].sort();
    assert_eq!(lines, ["id,name", "1,\"Ann, \"\"A\"\"\"", "2,"]);
    let out = run(dir.path(), &["show", "--select", "people", "--limit", "1"]).ok();
    assert!(
        out.stdout.contains("| id |") && out.stdout.contains("(1 row)"),
        "{}",
        out.stdout
    );
}

#[test]
fn show_reports_sql_errors_clearly() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    let out = run(
        dir.path(),
        &["show", "--inline", "select from where", "--output", "json"],
    )
    .expect_code(2);
    assert!(out.stderr.contains("error:"), "{}", out.stderr);
    let out = run(
        dir.path(),
        &["show", "--inline", "select * from `analytics.nope`"],
    )
    .expect_code(1);
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
}

#[test]
fn querying_a_source_without_files_names_the_missing_files() {
    let project = crate::support::example_project();
    let out = run(
        project.path(),
        &[
            "show",
            "--inline",
            "select count(*) from {{ source('raw', 'raw_customers') }}",
        ],
    )
    .expect_code(1);
    assert!(
        out.stderr.contains("these sources have no files yet"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("raw.raw_customers"), "{}", out.stderr);
}

#[test]
fn source_columns_are_case_insensitive_like_bigquery() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "models/sources.yml",
        "sources:\n  - name: crm\n    location: data\n    format: csv\n    tables:\n      - name: contacts\n",
    );
    write(
        dir.path(),
        "data/contacts.csv",
        "CustomerID,Email\n1,a@x.com\n2,b@x.com\n",
    );
    let out = run(
        dir.path(),
        &[
            "show",
            "--inline",
            "select sum(customerid) as total, max(EMAIL) as last from `crm.contacts`",
            "--output",
            "json",
        ],
    )
    .ok();
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["rows"], serde_json::json!([[3, "b@x.com"]]));
}
