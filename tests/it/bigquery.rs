//! The BigQuery target, for real: the `cohort` binary against a BigQuery
//! REST emulator started on a free loopback port ([`crate::emulator`]).

use std::path::Path;

use crate::emulator::{Emulator, FaultProxy, PROJECT, write_profile};
use crate::support::{query, run, sample_vars, write};

/// `cohort show --inline` on the `bq` target, as (columns, rows).
fn bq_query(dir: &Path, vars: &str, sql: &str) -> Vec<Vec<serde_json::Value>> {
    let out = run(
        dir,
        &[
            "show", "--target", "bq", "--vars", vars, "--inline", sql, "--limit", "100000",
            "--output", "json",
        ],
    )
    .ok();
    let value: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("json: {e}\n{}", out.stdout));
    value["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().expect("row").clone())
        .collect()
}

/// A small project: `events` (a table), `daily` (incremental merge on
/// `event_id`, partitioned by day) and `recent` (a view).
fn small_project(emulator_url: &str, extra_profile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\nvars:\n  batch: 1\n");
    write_profile(dir.path(), "shop", emulator_url, extra_profile);
    write(
        dir.path(),
        "models/events.sql",
        "select id as event_id, date_add(date '2026-11-01', interval id day) as event_date, id * {{ var('batch') }} as amount\nfrom unnest(generate_array(1, 3 + {{ var('batch') }})) as id\n",
    );
    write(
        dir.path(),
        "models/daily.sql",
        "{{ config(materialized='incremental', unique_key='event_id', partition_by={'field': 'event_date', 'data_type': 'date'}) }}\nselect event_id, event_date, amount from {{ ref('events') }}\n{% if is_incremental() %}where event_id >= 3{% endif %}\n",
    );
    write(
        dir.path(),
        "models/recent.sql",
        "{{ config(materialized='view') }}\nselect event_id from {{ ref('daily') }} where amount > 1\n",
    );
    write(
        dir.path(),
        "models/schema.yml",
        "models:\n  - name: events\n    description: Generated events.\n    columns:\n      - name: event_id\n        description: The event's id.\n        tests: [unique, not_null]\n",
    );
    dir
}

#[test]
fn a_small_project_builds_tests_and_refreshes_incrementally_on_the_emulator() {
    let emulator = Emulator::start();
    let project = small_project(&emulator.url(), "");
    let dir = project.path();
    let built = run(dir, &["build", "--target", "bq"]).ok();
    assert!(built.stdout.contains("BigQuery"), "{}", built.stdout);
    // The YAML descriptions are on the table, in the dataset the build created.
    let table = crate::emulator::get_json(
        emulator.port,
        &format!("/bigquery/v2/projects/{PROJECT}/datasets/analytics/tables/events"),
    );
    assert_eq!(table["description"], "Generated events.", "{table:#}");
    assert_eq!(
        table["schema"]["fields"][0]["description"], "The event's id.",
        "{table:#}"
    );
    let rows = bq_query(
        dir,
        "{batch: 1}",
        "select count(*) as n, sum(amount) as total from {{ ref('daily') }}",
    );
    assert_eq!(
        rows,
        vec![vec![serde_json::json!(4), serde_json::json!(10)]]
    );
    // The view reads the incremental table.
    let view = bq_query(
        dir,
        "{batch: 1}",
        "select count(*) from {{ ref('recent') }}",
    );
    assert_eq!(view[0][0], serde_json::json!(3));

    // Second run: batch 2 has events 1..5 with doubled amounts; only
    // event_id >= 3 is merged, so events 1 and 2 keep their old amounts.
    run(dir, &["run", "--target", "bq", "--vars", "{batch: 2}"]).ok();
    let rows = bq_query(
        dir,
        "{batch: 2}",
        "select event_id, amount from {{ ref('daily') }} order by event_id",
    );
    let got: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| (r[0].as_i64().unwrap(), r[1].as_i64().unwrap()))
        .collect();
    assert_eq!(got, vec![(1, 1), (2, 2), (3, 6), (4, 8), (5, 10)]);

    // Data tests run on the target.
    let tested = run(dir, &["test", "--target", "bq"]).ok();
    assert!(
        tested.stdout.contains("on target `bq` (BigQuery)"),
        "{}",
        tested.stdout
    );
    assert!(
        tested
            .stdout
            .contains(": 2 passed, 0 failed, 0 warned, 0 errored, 0 skipped"),
        "{}",
        tested.stdout
    );

    // --full-refresh rebuilds the incremental model from scratch.
    run(
        dir,
        &[
            "run",
            "--target",
            "bq",
            "--vars",
            "{batch: 2}",
            "--full-refresh",
            "-s",
            "daily",
        ],
    )
    .ok();
    let rows = bq_query(
        dir,
        "{batch: 2}",
        "select sum(amount) from {{ ref('daily') }}",
    );
    assert_eq!(rows[0][0], serde_json::json!(30));
}

#[test]
fn a_failing_data_test_on_the_emulator_fails_the_build() {
    let emulator = Emulator::start();
    let project = small_project(&emulator.url(), "");
    let dir = project.path();
    write(
        dir,
        "models/schema.yml",
        "models:\n  - name: events\n    columns:\n      - name: amount\n        tests:\n          - accepted_values: {values: [1, 2]}\n",
    );
    let out = run(dir, &["build", "--target", "bq", "-s", "events"]).expect_code(1);
    assert!(
        out.stdout.contains("2 failing rows"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    // --store-failures keeps the failing rows in a table on the target.
    let out = run(dir, &["test", "--target", "bq", "--store-failures"]).expect_code(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    let stored = all
        .split(", stored in ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no stored failures:\n{all}"));
    let rows = bq_query(
        dir,
        "{batch: 1}",
        &format!("select count(*) from `{stored}`"),
    );
    assert_eq!(rows[0][0], serde_json::json!(2), "{all}");
}

#[test]
fn a_model_error_is_reported_with_bigquerys_reason_at_the_model_file() {
    let emulator = Emulator::start();
    let project = small_project(&emulator.url(), "");
    let dir = project.path();
    write(
        dir,
        "models/broken.sql",
        "select no_such_column from {{ ref('events') }}\n",
    );
    let out = run(dir, &["build", "--target", "bq"]).expect_code(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("models/broken.sql"), "{all}");
    assert!(all.contains("invalidQuery"), "{all}");
    assert!(all.contains("no_such_column"), "{all}");
}

#[test]
fn dry_runs_report_valid_and_invalid_models_and_the_bytes_budget_stops_a_build() {
    let emulator = Emulator::start();
    let proxy = FaultProxy::start(emulator.port, 0);
    let project = small_project(&proxy.url(), "      maximum_bytes_billed: 1000000\n");
    let dir = project.path();
    run(dir, &["build", "--target", "bq"]).ok();
    write(
        dir,
        "models/broken.sql",
        "select no_such_column from {{ ref('events') }}\n",
    );

    let out = run(dir, &["validate", "--target", "bq"]).expect_code(1);
    assert!(out.stdout.contains("valid events"), "{}", out.stdout);
    assert!(out.stdout.contains("error broken"), "{}", out.stdout);
    assert!(out.stderr.contains("models/broken.sql"), "{}", out.stderr);
    let out = run(
        dir,
        &["compile", "--dry-run", "--target", "bq", "-s", "events"],
    )
    .ok();
    assert!(
        out.stdout.contains("1 valid, 0 with errors"),
        "{}",
        out.stdout
    );

    // The emulator prices every query at 0 bytes: the proxy reports 5 GB.
    proxy.price_dry_runs(5_000_000_000);
    let out = run(dir, &["validate", "--target", "bq", "-s", "events"]).expect_code(1);
    assert!(
        out.stdout.contains("over maximum_bytes_billed"),
        "{}",
        out.stdout
    );
    let before = bq_query(
        dir,
        "{batch: 1}",
        "select count(*) from {{ ref('events') }}",
    );
    let out = run(
        dir,
        &[
            "run",
            "--target",
            "bq",
            "--vars",
            "{batch: 5}",
            "-s",
            "events",
        ],
    )
    .expect_code(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("would process 5000000000 bytes"), "{all}");
    // Not run: the table still has the first build's rows.
    let after = bq_query(
        dir,
        "{batch: 1}",
        "select count(*) from {{ ref('events') }}",
    );
    assert_eq!(before, after);
    // A per-model budget overrides the profile's.
    write(
        dir,
        "models/events.yml",
        "models:\n  - name: events\n    config: {maximum_bytes_billed: 10000000000}\n",
    );
    std::fs::remove_file(dir.join("models/schema.yml")).unwrap();
    run(
        dir,
        &[
            "run",
            "--target",
            "bq",
            "--vars",
            "{batch: 5}",
            "-s",
            "events",
        ],
    )
    .ok();
    let after = bq_query(
        dir,
        "{batch: 5}",
        "select count(*) from {{ ref('events') }}",
    );
    assert_eq!(after[0][0], serde_json::json!(8));
    // BigQuery enforces the budget too: the job carries it.
    let last_build = proxy
        .bodies()
        .iter()
        .rev()
        .filter_map(|b| serde_json::from_str::<serde_json::Value>(b).ok())
        .find(|b| {
            b["configuration"]["labels"]["cohort_model"] == "events"
                && b["configuration"]["dryRun"] == false
        })
        .expect("a job building events");
    assert_eq!(
        last_build["configuration"]["query"]["maximumBytesBilled"], "10000000000",
        "{last_build:#}"
    );
}

#[test]
fn transient_errors_are_retried_and_jobs_carry_the_run_labels() {
    let emulator = Emulator::start();
    let proxy = FaultProxy::start(emulator.port, 2);
    let project = small_project(
        &proxy.url(),
        "      priority: batch\n      labels: {team: growth}\n",
    );
    let dir = project.path();
    run(dir, &["run", "--target", "bq", "-s", "events"]).ok();
    assert_eq!(proxy.injected(), 2, "the proxy served its 503s");
    let rows = bq_query(
        dir,
        "{batch: 1}",
        "select count(*) from {{ ref('events') }}",
    );
    assert_eq!(rows[0][0], serde_json::json!(4));
    let jobs: Vec<serde_json::Value> = proxy
        .bodies()
        .iter()
        .filter_map(|b| serde_json::from_str::<serde_json::Value>(b).ok())
        .filter(|b| b["configuration"]["query"]["query"].is_string())
        .collect();
    let build = jobs
        .iter()
        .find(|j| j["configuration"]["labels"]["cohort_model"] == "events")
        .unwrap_or_else(|| panic!("no job labelled cohort_model=events: {jobs:#?}"));
    assert!(
        build["configuration"]["labels"]["cohort_run_id"].is_string(),
        "{build:#}"
    );
    assert_eq!(
        build["configuration"]["labels"]["team"], "growth",
        "{build:#}"
    );
    assert_eq!(
        build["configuration"]["query"]["priority"], "BATCH",
        "{build:#}"
    );
}

#[test]
fn debug_checks_the_target_and_never_prints_the_key() {
    let emulator = Emulator::start();
    let project = small_project(&emulator.url(), "");
    let dir = project.path();
    let out = run(dir, &["debug", "--target", "bq"]).ok();
    assert!(out.stdout.contains("connection     ok"), "{}", out.stdout);
    assert!(out.stdout.contains("does not exist yet"), "{}", out.stdout);
    run(dir, &["run", "--target", "bq", "-s", "events"]).ok();
    let out = run(dir, &["debug", "--target", "bq"]).ok();
    assert!(
        out.stdout
            .contains(&format!("ok ({PROJECT}.analytics is readable)")),
        "{}",
        out.stdout
    );

    // A service-account key from an environment variable: whatever fails, the key never shows.
    let secret = "SECRET-PRIVATE-KEY-MATERIAL-123";
    let key = serde_json::json!({
        "type": "service_account", "project_id": PROJECT, "private_key_id": secret,
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n"),
        "client_email": format!("cohort@{secret}.iam.gserviceaccount.com"), "client_id": "1",
        "token_uri": "http://127.0.0.1:9/token",
    });
    write_profile(
        dir,
        "shop",
        &emulator.url(),
        "    keyed:\n      type: bigquery\n      project: cohort-test\n      dataset: analytics\n      method: service-account-json\n      keyfile_json: \"{{ env_var('COHORT_TEST_SA_KEY') }}\"\n",
    );
    let profile = std::fs::read_to_string(dir.join("profiles.yml")).unwrap();
    let profile = profile.replace(
        "      keyfile_json:",
        &format!(
            "      api_base_url: {}\n      keyfile_json:",
            emulator.url()
        ),
    );
    std::fs::write(dir.join("profiles.yml"), profile).unwrap();
    for args in [
        vec!["debug", "--target", "keyed"],
        vec!["build", "--target", "keyed"],
        vec!["--log-format", "json", "build", "--target", "keyed"],
        vec!["validate", "--target", "keyed"],
    ] {
        let out = crate::support::cohort(dir)
            .args(&args)
            .env("COHORT_TEST_SA_KEY", key.to_string())
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(
            out.status.code(),
            Some(0),
            "{args:?} cannot succeed without a token: {all}"
        );
        assert!(!all.contains(secret), "{args:?} printed the key:\n{all}");
        for file in ["target/run_results.json", "target/manifest.json"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
            assert!(!text.contains(secret), "{file} holds the key");
        }
    }
}

#[test]
fn the_example_project_segments_on_the_emulator_match_the_local_engine() {
    let emulator = Emulator::start();
    let project = crate::support::example_project();
    let dir = project.path();
    write_profile(dir, "marketing", &emulator.url(), "");
    let vars = sample_vars();
    run(dir, &["upload-sources", "--target", "bq", "--vars", &vars]).ok();
    let built = run(dir, &["build", "--target", "bq", "--vars", &vars]);
    let built = built.ok();
    assert!(built.stdout.contains("BigQuery"), "{}", built.stdout);
    run(dir, &["build", "--vars", &vars]).ok();
    let segments: Vec<String> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .flat_map(|e| {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            text.lines()
                .take_while(|l| !l.starts_with("unit_tests:"))
                .filter_map(|l| l.trim().strip_prefix("- name: ").map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(segments.len(), 4, "{segments:?}");
    for segment in &segments {
        let sql = format!(
            "select customer_id from {{{{ ref('segment_{segment}') }}}} order by customer_id"
        );
        let local = query(dir, &vars, &sql).1;
        let warehouse = bq_query(dir, &vars, &sql);
        assert!(!local.is_empty(), "segment {segment} is empty locally");
        assert_eq!(
            local, warehouse,
            "segment {segment}: local and BigQuery members differ"
        );
    }
    // The data tests pass there too.
    let tested = run(dir, &["test", "--target", "bq", "--vars", &vars]).ok();
    assert!(tested.stdout.contains("(BigQuery)"), "{}", tested.stdout);

    // The daily segment tables, refreshed on both, hold the same members.
    run(
        dir,
        &["segments", "refresh", "--target", "bq", "--vars", &vars],
    )
    .ok();
    run(dir, &["segments", "refresh", "--vars", &vars]).ok();
    let sql =
        "select segment, entity_id from `analytics.segment_membership` order by segment, entity_id";
    let local = query(dir, &vars, sql).1;
    let warehouse = bq_query(dir, &vars, sql);
    assert!(!local.is_empty());
    assert_eq!(local, warehouse, "daily membership differs");
    // Segment health reads the daily tables on either target alike.
    let health = |target: &str| {
        let out = run(
            dir,
            &[
                "segments", "profile", "--target", target, "--vars", &vars, "--output", "json",
            ],
        )
        .ok();
        serde_json::from_str::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("json: {e}\n{}", out.stdout))
    };
    assert_eq!(health("local"), health("bq"), "segment health differs");
}

#[test]
fn an_interrupted_build_cancels_its_running_job() {
    let emulator = Emulator::start();
    let proxy = FaultProxy::start(emulator.port, 0);
    let project = small_project(&proxy.url(), "");
    let dir = project.path();
    write(
        dir,
        "models/slow.sql",
        "select 'slow job' as label, * from {{ ref('events') }}\n",
    );
    proxy.hold_jobs_containing("slow job");
    let child = crate::support::cohort(dir)
        .args([
            "run",
            "--target",
            "bq",
            "--threads",
            "1",
            "-s",
            "events",
            "slow",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until `slow`'s job is in flight: the proxy holds it, as a long query would be.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while proxy.holding() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(proxy.holding(), 1, "the slow job never started");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let out = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(130), "{out}");
    let cancels = proxy.cancels();
    assert_eq!(cancels.len(), 1, "{cancels:?}\n{out}");
    assert!(cancels[0].contains("/jobs/cohort_"), "{cancels:?}");
    assert!(out.contains("Cancelled 1 running BigQuery job"), "{out}");
}

#[test]
fn an_incremental_models_new_column_fails_or_is_appended_as_configured() {
    let emulator = Emulator::start();
    let project = small_project(&emulator.url(), "");
    let dir = project.path();
    run(dir, &["run", "--target", "bq", "-s", "events", "daily"]).ok();
    let daily = |on_schema_change: &str| {
        format!(
            "{{{{ config(materialized='incremental', unique_key='event_id', on_schema_change='{on_schema_change}', partition_by={{'field': 'event_date', 'data_type': 'date'}}) }}}}\nselect event_id, event_date, amount, 'new' as note from {{{{ ref('events') }}}}\n{{% if is_incremental() %}}where event_id >= 3{{% endif %}}\n"
        )
    };
    write(dir, "models/daily.sql", &daily("fail"));
    let out = run(dir, &["run", "--target", "bq", "-s", "daily"]).expect_code(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("the columns changed (new columns `note`) and on_schema_change is `fail`"),
        "{all}"
    );
    assert!(all.contains("models/daily.sql"), "{all}");

    write(dir, "models/daily.sql", &daily("append_new_columns"));
    run(dir, &["run", "--target", "bq", "-s", "daily"]).ok();
    let rows = bq_query(
        dir,
        "{batch: 1}",
        "select event_id, note from {{ ref('daily') }} order by event_id",
    );
    let notes: Vec<(i64, Option<String>)> = rows
        .iter()
        .map(|r| (r[0].as_i64().unwrap(), r[1].as_str().map(str::to_string)))
        .collect();
    let new = || Some("new".to_string());
    assert_eq!(notes, vec![(1, None), (2, None), (3, new()), (4, new())]);
}
