//! Incremental models on hand-made data: each strategy over two builds with
//! changing input, idempotent re-runs, `--full-refresh`, `lookback`, schema
//! changes, a failed build leaving the table intact, the BigQuery scripts
//! `compile` writes, and configuration errors.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::support::{query, run, write};

const VARS: &str = "{data_dir: data}";

/// A project with one CSV source `raw.events` (event_id, event_date, amount).
fn project(model: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "models/sources.yml",
        "sources:\n  - name: raw\n    location: \"{{ var('data_dir') }}\"\n    format: csv\n    tables:\n      - name: events\n        columns:\n          - {name: event_id, type: INT64}\n          - {name: event_date, type: DATE}\n          - {name: amount, type: INT64}\n",
    );
    write(dir.path(), "models/events.sql", model);
    dir
}

/// Replace the source rows: (event_id, event_date, amount).
fn set_rows(dir: &Path, rows: &[(i64, &str, i64)]) {
    let mut csv = String::from("event_id,event_date,amount\n");
    for (id, date, amount) in rows {
        csv.push_str(&format!("{id},{date},{amount}\n"));
    }
    write(dir, "data/events.csv", &csv);
}

fn build(dir: &Path, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["build", "--vars", VARS];
    args.extend_from_slice(extra);
    run(dir, &args)
}

/// The table's rows as (event_id, event_date, amount), ordered.
fn rows(dir: &Path) -> Vec<(i64, String, i64)> {
    let (_, rows) = query(
        dir,
        VARS,
        "select event_id, cast(event_date as string) as d, amount from {{ ref('events') }} order by event_id, d",
    );
    rows.iter()
        .map(|r| {
            (
                r[0].as_i64().expect("id"),
                r[1].as_str().expect("date").to_string(),
                r[2].as_i64().expect("amount"),
            )
        })
        .collect()
}

fn owned(rows: &[(i64, &str, i64)]) -> Vec<(i64, String, i64)> {
    rows.iter()
        .map(|(i, d, a)| (*i, d.to_string(), *a))
        .collect()
}

/// The current version folder of `analytics.events`.
fn current_dir(dir: &Path) -> PathBuf {
    let table = dir.join("target/local/analytics/events");
    let version = std::fs::read_to_string(table.join("CURRENT")).expect("CURRENT");
    table.join(version.trim())
}

/// The data files of the current version: name → inode.
fn files(dir: &Path) -> std::collections::BTreeMap<String, u64> {
    std::fs::read_dir(current_dir(dir))
        .expect("version dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().expect("metadata").ino(),
            )
        })
        .collect()
}

const MERGE: &str = "{{ config(materialized='incremental', unique_key='event_id',
          partition_by={'field': 'event_date', 'data_type': 'date'}) }}
select event_id, event_date, amount
from {{ source('raw', 'events') }}
{% if is_incremental() %}
where event_date >= {{ incremental_since('event_date') }}
{% endif %}
";

const FIRST: &[(i64, &str, i64)] = &[
    (1, "2026-11-20", 10),
    (2, "2026-11-21", 20),
    (3, "2026-11-22", 30),
    (4, "2026-11-22", 40),
];

/// Day 2: event 1 (an old day) and event 3 changed, event 5 is new.
const SECOND: &[(i64, &str, i64)] = &[
    (1, "2026-11-20", 11),
    (2, "2026-11-21", 20),
    (3, "2026-11-22", 33),
    (4, "2026-11-22", 40),
    (5, "2026-11-23", 50),
];

#[test]
fn merge_updates_and_inserts_rewriting_only_touched_partitions() {
    let project = project(MERGE);
    let dir = project.path();
    set_rows(dir, FIRST);
    let out = build(dir, &[]).ok();
    assert!(out.stdout.contains("analytics.events"), "{}", out.stdout);
    assert_eq!(rows(dir), owned(FIRST));
    let before = files(dir);
    assert_eq!(
        before.keys().cloned().collect::<Vec<_>>(),
        vec![
            "partition-2026-11-20-00000.parquet",
            "partition-2026-11-21-00000.parquet",
            "partition-2026-11-22-00000.parquet",
        ]
    );

    set_rows(dir, SECOND);
    let out = build(dir, &[]).ok();
    // The batch is the days from the newest one loaded (2026-11-22): 3 rows.
    assert!(out.stdout.contains("3 rows"), "{}", out.stdout);
    let expected = owned(&[
        (1, "2026-11-20", 10), // before the batch's lower bound: not re-read
        (2, "2026-11-21", 20),
        (3, "2026-11-22", 33), // updated
        (4, "2026-11-22", 40),
        (5, "2026-11-23", 50), // inserted
    ]);
    assert_eq!(rows(dir), expected);
    let after = files(dir);
    for day in ["2026-11-20", "2026-11-21"] {
        let name = format!("partition-{day}-00000.parquet");
        assert_eq!(
            before[&name], after[&name],
            "{day} is hard-linked, not rewritten"
        );
    }
    let touched = "partition-2026-11-22-00000.parquet";
    assert_ne!(
        before[touched], after[touched],
        "the touched day is rewritten"
    );
    assert!(after.contains_key("partition-2026-11-23-00000.parquet"));

    // The same input again changes nothing.
    build(dir, &[]).ok();
    assert_eq!(rows(dir), expected);

    // The BigQuery script written for this model prunes the destination.
    let script =
        std::fs::read_to_string(dir.join("target/run/models/events.incremental.sql")).unwrap();
    assert!(
        script.contains("declare cohort_partitions array<date>;"),
        "{script}"
    );
    assert!(
        script.contains("and dest.event_date in unnest(cohort_partitions)"),
        "{script}"
    );
    let batch =
        std::fs::read_to_string(dir.join("target/compiled/models/events.incremental.sql")).unwrap();
    assert!(
        batch.contains("where event_date >= (select max(event_date) from `analytics.events`)"),
        "{batch}"
    );
    let full = std::fs::read_to_string(dir.join("target/run/models/events.sql")).unwrap();
    assert!(
        full.starts_with("create or replace table `analytics.events`"),
        "{full}"
    );
    assert!(!full.contains("where event_date"), "{full}");
}

#[test]
fn full_refresh_rebuilds_from_scratch() {
    let project = project(MERGE);
    let dir = project.path();
    set_rows(dir, FIRST);
    build(dir, &[]).ok();
    set_rows(dir, SECOND);
    let out = build(dir, &["--full-refresh"]).ok();
    assert!(out.stdout.contains("5 rows"), "{}", out.stdout);
    assert_eq!(
        rows(dir),
        owned(SECOND),
        "event 1's change is picked up too"
    );
}

#[test]
fn lookback_rereads_late_data() {
    let model = MERGE.replace(
        "unique_key='event_id',",
        "unique_key='event_id', lookback=2,",
    );
    let project = project(&model);
    let dir = project.path();
    set_rows(dir, FIRST);
    build(dir, &[]).ok();
    set_rows(dir, SECOND);
    let out = build(dir, &[]).ok();
    // From 2026-11-22 minus 2 days: every row is in the batch.
    assert!(out.stdout.contains("5 rows"), "{}", out.stdout);
    assert_eq!(rows(dir), owned(SECOND));
    let batch =
        std::fs::read_to_string(dir.join("target/compiled/models/events.incremental.sql")).unwrap();
    assert!(
        batch
            .contains("(select date_sub(max(event_date), interval 2 day) from `analytics.events`)"),
        "{batch}"
    );
}

#[test]
fn merge_on_a_composite_key_without_partitions() {
    let model = "{{ config(materialized='incremental', unique_key=['event_id', 'event_date']) }}
select event_id, event_date, amount from {{ source('raw', 'events') }}
";
    let project = project(model);
    let dir = project.path();
    set_rows(dir, &[(1, "2026-11-20", 10), (1, "2026-11-21", 20)]);
    build(dir, &[]).ok();
    set_rows(dir, &[(1, "2026-11-21", 21), (2, "2026-11-21", 5)]);
    build(dir, &[]).ok();
    assert_eq!(
        rows(dir),
        owned(&[
            (1, "2026-11-20", 10),
            (1, "2026-11-21", 21),
            (2, "2026-11-21", 5)
        ])
    );
    let script =
        std::fs::read_to_string(dir.join("target/run/models/events.incremental.sql")).unwrap();
    assert!(
        script.contains(
            "on dest.event_id = src.event_id\n    and dest.event_date = src.event_date\n"
        ),
        "{script}"
    );
}

const OVERWRITE: &str =
    "{{ config(materialized='incremental', incremental_strategy='insert_overwrite',
          partition_by={'field': 'event_date', 'data_type': 'date'}) }}
select event_id, event_date, amount
from {{ source('raw', 'events') }}
{% if is_incremental() %}
where event_date >= {{ incremental_since('event_date') }}
{% endif %}
";

#[test]
fn insert_overwrite_replaces_only_the_touched_day() {
    let project = project(OVERWRITE);
    let dir = project.path();
    set_rows(
        dir,
        &[
            (1, "2026-11-20", 10),
            (2, "2026-11-21", 20),
            (3, "2026-11-21", 30),
        ],
    );
    build(dir, &[]).ok();
    let before = files(dir);
    // Day 21 is restated (event 3 is gone, event 4 is new); day 20 changed
    // too, but is older than the newest day loaded, so it is not re-read.
    let second = [
        (1, "2026-11-20", 99),
        (2, "2026-11-21", 22),
        (4, "2026-11-21", 40),
    ];
    set_rows(dir, &second);
    build(dir, &[]).ok();
    let expected = owned(&[
        (1, "2026-11-20", 10),
        (2, "2026-11-21", 22),
        (4, "2026-11-21", 40),
    ]);
    assert_eq!(rows(dir), expected);
    let after = files(dir);
    assert_eq!(
        before["partition-2026-11-20-00000.parquet"], after["partition-2026-11-20-00000.parquet"],
        "the untouched day's file is the same file"
    );
    assert_ne!(
        before["partition-2026-11-21-00000.parquet"],
        after["partition-2026-11-21-00000.parquet"]
    );
    assert_eq!(after.len(), 2, "{after:?}");

    // Idempotent: the same input gives the same table.
    build(dir, &[]).ok();
    assert_eq!(rows(dir), expected);
    assert_eq!(files(dir).len(), 2);

    let script =
        std::fs::read_to_string(dir.join("target/run/models/events.incremental.sql")).unwrap();
    assert!(script.contains("on false\n"), "{script}");
    assert!(
        script.contains(
            "when not matched by source and dest.event_date in unnest(cohort_partitions) then delete"
        ),
        "{script}"
    );
}

#[test]
fn append_adds_files_and_rows() {
    let model = "{{ config(materialized='incremental', incremental_strategy='append') }}
select event_id, event_date, amount from {{ source('raw', 'events') }}
{% if is_incremental() %}
where event_id > (select max(event_id) from {{ this }})
{% endif %}
";
    let project = project(model);
    let dir = project.path();
    set_rows(dir, &[(1, "2026-11-20", 10), (2, "2026-11-21", 20)]);
    build(dir, &[]).ok();
    let before = files(dir);
    set_rows(
        dir,
        &[
            (1, "2026-11-20", 10),
            (2, "2026-11-21", 20),
            (3, "2026-11-22", 30),
        ],
    );
    let out = build(dir, &[]).ok();
    assert!(
        out.stdout.contains("1 rows") || out.stdout.contains("1 row"),
        "{}",
        out.stdout
    );
    assert_eq!(
        rows(dir),
        owned(&[
            (1, "2026-11-20", 10),
            (2, "2026-11-21", 20),
            (3, "2026-11-22", 30)
        ])
    );
    let after = files(dir);
    assert_eq!(
        after.keys().cloned().collect::<Vec<_>>(),
        vec!["part-00000.parquet", "part-00001.parquet"]
    );
    assert_eq!(before["part-00000.parquet"], after["part-00000.parquet"]);
    let script =
        std::fs::read_to_string(dir.join("target/run/models/events.incremental.sql")).unwrap();
    assert!(
        script.starts_with("insert into `analytics.events`\nselect * from ("),
        "{script}"
    );
}

const WITH_CHANNEL: &str = "select event_id, event_date, amount, 'web' as channel";

#[test]
fn schema_change_fails_by_default_and_leaves_the_table() {
    let project = project(MERGE);
    let dir = project.path();
    set_rows(dir, FIRST);
    build(dir, &[]).ok();
    let version = current_dir(dir);
    write(
        dir,
        "models/events.sql",
        &MERGE.replace("select event_id, event_date, amount", WITH_CHANNEL),
    );
    set_rows(dir, SECOND);
    let out = build(dir, &[]).expect_code(1);
    assert!(
        out.stderr.contains("new columns `channel`")
            || out.stdout.contains("new columns `channel`"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        current_dir(dir),
        version,
        "the previous version stays current"
    );
    assert_eq!(rows(dir), owned(FIRST));
}

#[test]
fn append_new_columns_adds_nulls_for_old_rows() {
    let project = project(MERGE);
    let dir = project.path();
    set_rows(dir, FIRST);
    build(dir, &[]).ok();
    let model = MERGE
        .replace("select event_id, event_date, amount", WITH_CHANNEL)
        .replace(
            "unique_key='event_id',",
            "unique_key='event_id', on_schema_change='append_new_columns',",
        );
    write(dir, "models/events.sql", &model);
    set_rows(dir, SECOND);
    build(dir, &[]).ok();
    let (columns, rows) = query(
        dir,
        VARS,
        "select event_id, channel from {{ ref('events') }} order by event_id",
    );
    assert_eq!(columns, vec!["event_id", "channel"]);
    let channels: Vec<(i64, Option<String>)> = rows
        .iter()
        .map(|r| (r[0].as_i64().unwrap(), r[1].as_str().map(str::to_string)))
        .collect();
    assert_eq!(
        channels,
        vec![
            (1, None),
            (2, None),
            (3, Some("web".into())),
            (4, Some("web".into())),
            (5, Some("web".into())),
        ]
    );
}

#[test]
fn a_failing_incremental_build_leaves_the_previous_table() {
    let model = MERGE.replace(
        "where event_date >=",
        "where cast(cast(event_id as string) || 'x' as int64) > 0 and event_date >=",
    );
    let project = project(&model);
    let dir = project.path();
    set_rows(dir, FIRST);
    build(dir, &[]).ok();
    let version = current_dir(dir);
    let before = files(dir);
    set_rows(dir, SECOND);
    let out = build(dir, &[]).expect_code(1);
    assert!(
        out.stdout.contains("error") || out.stderr.contains("error"),
        "{}",
        out.stderr
    );
    assert_eq!(current_dir(dir), version);
    assert_eq!(files(dir), before);
    assert_eq!(rows(dir), owned(FIRST));
    let table = dir.join("target/local/analytics/events");
    let versions = std::fs::read_dir(&table)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('v')
        })
        .count();
    assert_eq!(versions, 1, "the failed version is removed");
}

#[test]
fn bigquery_compile_writes_both_statements() {
    let project = project(MERGE.replace("partition_by={'field': 'event_date', 'data_type': 'date'}", "partition_by={'field': 'event_date', 'data_type': 'date'}, cluster_by=['event_id']").as_str());
    let dir = project.path();
    write(
        dir,
        "profiles.yml",
        "shop:\n  target: prod\n  outputs:\n    prod:\n      type: bigquery\n      project: acme\n      dataset: mkt\n",
    );
    run(dir, &["compile", "--vars", VARS]).ok();
    let full = std::fs::read_to_string(dir.join("target/run/models/events.sql")).unwrap();
    assert!(
        full.starts_with("create or replace table `acme.mkt.events`\npartition by event_date\ncluster by event_id\n"),
        "{full}"
    );
    let script =
        std::fs::read_to_string(dir.join("target/run/models/events.incremental.sql")).unwrap();
    assert!(
        script.contains("merge into `acme.mkt.events` as dest"),
        "{script}"
    );
    assert!(script.contains("from `acme.mkt.events`)"), "{script}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("target/manifest.json")).unwrap())
            .unwrap();
    let node = &manifest["nodes"]["model.shop.events"];
    assert_eq!(node["materialized"], "incremental");
    assert_eq!(node["incremental"]["strategy"], "merge");
    assert_eq!(
        node["incremental"]["unique_key"],
        serde_json::json!(["event_id"])
    );
}

#[track_caller]
fn expect_config_error(dir: &Path, location: &str, message: &str, help: &str) {
    let out = run(dir, &["build", "--vars", VARS]).expect_code(2);
    for needle in [location, message, help] {
        assert!(
            out.stderr.contains(needle),
            "expected `{needle}` in:\n{}",
            out.stderr
        );
    }
    assert!(!dir.join("target/local/analytics/events").exists());
}

#[test]
fn config_errors_point_at_the_config() {
    let sql = |config: &str| {
        format!(
            "-- events\n  {{{{ config({config}) }}}}\nselect 1 as event_id, date '2026-11-20' as event_date\n"
        )
    };
    let cases = [
        (
            "materialized='incremental'",
            "incremental_strategy `merge` needs a `unique_key`",
            "unique_key: <column>",
        ),
        (
            "materialized='incremental', unique_key='lower(email)'",
            "invalid unique_key column `lower(email)`",
            "unique_key names columns",
        ),
        (
            "materialized='incremental', incremental_strategy='merg', unique_key='event_id'",
            "unknown incremental_strategy `merg`",
            "did you mean `merge`?",
        ),
        (
            "materialized='incremental', incremental_strategy='insert_overwrite'",
            "needs `partition_by` on a DATE column",
            "add partition_by",
        ),
        (
            "materialized='incremental', incremental_strategy='insert_overwrite', partition_by={'field': 'event_at', 'data_type': 'timestamp'}",
            "needs a DATE partition, but `event_at` is partitioned as `timestamp`",
            "partition by a DATE column",
        ),
        (
            "materialized='incremental', incremental_strategy='append', on_schema_change='sync'",
            "unknown on_schema_change `sync`",
            "supported: fail, append_new_columns",
        ),
        (
            "materialized='table', unique_key='event_id'",
            "`unique_key` applies to incremental models",
            "set materialized: incremental",
        ),
        (
            "materialized='incremntal'",
            "unknown materialization `incremntal`",
            "did you mean `incremental`?",
        ),
    ];
    for (config, message, help) in cases {
        let project = project(&sql(config));
        expect_config_error(project.path(), "models/events.sql:2:6:", message, help);
    }
}

#[test]
fn yaml_config_errors_point_at_the_model_entry() {
    let project = project("select 1 as event_id\n");
    let dir = project.path();
    write(
        dir,
        "models/events.yml",
        "models:\n  - name: events\n    config:\n      materialized: incremental\n      incremental_strategy: upsert\n",
    );
    expect_config_error(
        dir,
        "models/events.yml:2:",
        "unknown incremental_strategy `upsert`",
        "supported",
    );
}

#[test]
fn incremental_since_outside_is_incremental_is_an_error() {
    let project = project(
        "{{ config(materialized='incremental', unique_key='event_id') }}\nselect event_id from {{ source('raw', 'events') }}\nwhere event_date >= {{ incremental_since('event_date') }}\n",
    );
    let out = run(project.path(), &["compile", "--vars", VARS]).expect_code(2);
    assert!(
        out.stderr.contains("models/events.sql:3:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("incremental_since('event_date') is only defined on incremental runs"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("{% if is_incremental() %}"),
        "{}",
        out.stderr
    );
}

/// The rows of run_results.json's only result.
fn rows_built(dir: &Path) -> u64 {
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    results["results"][0]["rows"].as_u64().expect("rows")
}

#[test]
fn example_transactions_rebuild_incrementally_to_the_same_table() {
    let project = crate::support::example_project();
    let dir = project.path();
    let vars = crate::support::sample_vars();
    let fingerprint = || {
        query(
            dir,
            &vars,
            "select count(*), count(distinct transaction_id), cast(round(sum(revenue) * 100) as int64), countif(is_revenue), cast(max(updated_at) as string) from `analytics.transactions`",
        )
        .1
    };
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "--vars", &vars, "--select", "transactions"];
        args.extend_from_slice(extra);
        run(dir, &args).ok()
    };
    let out = build(&[]);
    assert!(
        out.stdout.contains("incremental analytics.transactions"),
        "{}",
        out.stdout
    );
    let full_rows = rows_built(dir);
    let full = fingerprint();

    // The second build re-reads only the versions sent in the last 3 days
    // before the newest one, and the table stays the same.
    build(&[]);
    let batch_rows = rows_built(dir);
    assert!(
        batch_rows > 0 && batch_rows * 10 < full_rows,
        "batch {batch_rows} of {full_rows}"
    );
    assert_eq!(fingerprint(), full);

    build(&["--full-refresh"]);
    assert_eq!(rows_built(dir), full_rows);
    assert_eq!(fingerprint(), full);
}

#[test]
fn a_half_written_version_is_never_read_and_is_cleaned_up() {
    let project = project(MERGE);
    let dir = project.path();
    set_rows(dir, FIRST);
    build(dir, &[]).ok();
    // What a build killed while writing leaves: a version folder that
    // `CURRENT` does not point at, with a truncated file.
    let table = dir.join("target/local/analytics/events");
    let stray = table.join("v999999999999999999999999-1");
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::write(
        stray.join("partition-2026-11-20-00000.parquet"),
        b"PAR1 half",
    )
    .unwrap();
    assert_eq!(rows(dir), owned(FIRST));
    set_rows(dir, SECOND);
    build(dir, &[]).ok();
    assert_eq!(rows(dir).len(), 5);
    assert!(!stray.exists(), "the abandoned version is removed");
}

#[test]
fn a_model_switched_from_table_to_incremental_is_rebuilt_once() {
    let project = project(
        "{{ config(materialized='table') }}\nselect event_id, event_date, amount from {{ source('raw', 'events') }}\n",
    );
    let dir = project.path();
    set_rows(dir, FIRST);
    build(dir, &[]).ok();
    assert!(current_dir(dir).join("data.parquet").is_file());
    write(dir, "models/events.sql", MERGE);
    set_rows(dir, SECOND);
    let out = build(dir, &[]).ok();
    // Rebuilt from scratch (every row), then incremental from there on.
    assert!(out.stdout.contains("5 rows"), "{}", out.stdout);
    assert_eq!(rows(dir), owned(SECOND));
    assert!(files(dir).contains_key("partition-2026-11-23-00000.parquet"));
    // The next build is incremental: only the newest day (2026-11-23) is re-read.
    let out = build(dir, &[]).ok();
    assert!(out.stdout.contains(" 1 rows"), "{}", out.stdout);
    assert_eq!(rows(dir), owned(SECOND));
}

/// Every table of the example project, ordered by its key, as JSON rows.
fn example_tables(dir: &Path, vars: &str) -> Vec<(String, Vec<Vec<serde_json::Value>>)> {
    [
        ("customers", "customer_id"),
        ("sessions", "session_id"),
        ("transactions", "transaction_id"),
        ("campaign_touches", "touch_id"),
        ("customer_features", "customer_id"),
    ]
    .into_iter()
    .map(|(model, key)| {
        let sql = format!("select * from {{{{ ref('{model}') }}}} order by {key}");
        (model.to_string(), query(dir, vars, &sql).1)
    })
    .collect()
}

/// The rows `build` reported for an incremental model (the batch's).
fn batch_rows(stdout: &str, model: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.contains(&format!("incremental analytics.{model} ")))
        .unwrap_or_else(|| panic!("no incremental build of {model} in:\n{stdout}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "rows").expect("row count");
    words[at - 1].replace(',', "").parse().expect("a number")
}

#[test]
fn the_example_refreshed_daily_equals_a_full_build() {
    // Yesterday: the sample data as it stood at midnight, built and refreshed.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let full_data = crate::support::sample_data();
    let cut = tempfile::tempdir().unwrap();
    cohort::sample::arrived_before(full_data, cut.path(), day).unwrap();
    let daily = crate::support::example_project();
    let yesterday = format!(
        "{{as_of: 2026-11-22, data_dir: '{}'}}",
        cut.path().display()
    );
    run(daily.path(), &["run", "--vars", &yesterday]).ok();
    run(daily.path(), &["segments", "refresh", "--vars", &yesterday]).ok();
    // Today: the staging models take in the new rows only.
    let today = crate::support::sample_vars();
    let refresh_day = |dir: &Path| {
        run(
            dir,
            &[
                "segments",
                "refresh",
                "--date",
                "2026-11-23",
                "--vars",
                &today,
            ],
        )
        .ok()
    };
    let out = refresh_day(daily.path());
    let all_sessions = crate::support::query_int(
        daily.path(),
        &today,
        "select count(*) from {{ ref('sessions') }}",
    );
    let batch = batch_rows(&out.stdout, "sessions");
    assert!(
        batch > 0 && (batch as i64) < all_sessions / 10,
        "{batch} of {all_sessions}"
    );
    for model in ["customers", "transactions", "campaign_touches"] {
        assert!(
            batch_rows(&out.stdout, model) > 0,
            "{model}: {}",
            out.stdout
        );
    }

    // The same day built from scratch gives the same tables and members.
    let full = crate::support::example_project();
    run(full.path(), &["run", "--full-refresh", "--vars", &today]).ok();
    refresh_day(full.path());
    let (refreshed, rebuilt) = (
        example_tables(daily.path(), &today),
        example_tables(full.path(), &today),
    );
    for ((model, a), (_, b)) in refreshed.iter().zip(&rebuilt) {
        assert!(!a.is_empty(), "{model} is empty");
        assert!(a == b, "{model} differs after the daily refresh");
    }
    let members = "select segment, entity_id, attributes from `analytics.segment_membership` \
                   where snapshot_date = date '2026-11-23' order by segment, entity_id";
    let (a, b) = (
        query(daily.path(), &today, members).1,
        query(full.path(), &today, members).1,
    );
    assert!(a.len() > 50, "{} members", a.len());
    assert_eq!(a, b);
}
