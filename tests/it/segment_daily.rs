//! Daily segment tables (`cohort segments refresh`): membership, changes and
//! stats per day on hand-made data, idempotent re-runs, backfill, failed
//! refreshes, health commands and the drift guard.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{query, run, write};

/// People seen on different days: `recent` (seen within the last 2 days of
/// `as_of`) changes every day with no change to the data; `big` (revenue
/// over 100) carries attributes and a drift guard.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(
        d,
        "cohort.yml",
        "name: shop\nvars:\n  as_of: 2026-11-23\n  data_dir: data\n",
    );
    write(
        d,
        "data/raw_people.csv",
        "id,email,revenue,seen_at\n1,a@x.com,150.0,2026-11-20\n2,b@y.com,50.0,2026-11-21\n3,\"c\"\"q@z.com\",300.0,2026-11-22\n4,,20.0,2026-11-22\n",
    );
    write(
        d,
        "models/sources.yml",
        "sources:\n  - name: crm\n    location: \"{{ var('data_dir') }}\"\n    format: csv\n    tables:\n      - name: raw_people\n        columns:\n          - {name: id, type: INT64}\n          - {name: email, type: STRING}\n          - {name: revenue, type: FLOAT64}\n          - {name: seen_at, type: DATE}\n",
    );
    write(
        d,
        "segments/s.yml",
        "segments:
  - name: recent
    from: source('crm', 'raw_people')
    entity_key: id
    rules:
      all:
        - {column: seen_at, within_last: 2 days}
  - name: big
    from: source('crm', 'raw_people')
    entity_key: id
    attributes: [email, revenue]
    max_daily_change: 25%
    rules:
      all:
        - {column: revenue, op: gt, value: 100}
",
    );
    dir
}

fn rows(dir: &Path, sql: &str) -> Vec<Vec<Value>> {
    query(dir, "{}", sql).1
}

fn changes(dir: &Path) -> Vec<Vec<Value>> {
    rows(
        dir,
        "select cast(snapshot_date as string), segment, entity_id, change from analytics.segment_changes order by 1, 2, 3",
    )
}

fn stats(dir: &Path) -> Vec<Vec<Value>> {
    rows(
        dir,
        "select cast(snapshot_date as string), segment, size, entered, exited, status from analytics.segment_daily_stats order by 1, 2",
    )
}

fn membership(dir: &Path) -> Vec<Vec<Value>> {
    rows(
        dir,
        "select cast(snapshot_date as string), segment, entity_id, attributes from analytics.segment_membership order by 1, 2, 3",
    )
}

fn refresh(dir: &Path, day: &str) -> crate::support::Run {
    run(dir, &["segments", "refresh", "--date", day])
}

fn change(day: &str, segment: &str, id: &str, what: &str) -> Vec<Value> {
    vec![json!(day), json!(segment), json!(id), json!(what)]
}

#[test]
fn entered_and_exited_across_three_days() {
    let project = project();
    let d = project.path();
    for day in ["2026-11-21", "2026-11-22", "2026-11-23"] {
        refresh(d, day).ok();
    }
    // recent: {1,2} on the 21st, {2,3,4} on the 22nd, {3,4} on the 23rd.
    assert_eq!(
        changes(d),
        vec![
            change("2026-11-21", "big", "1", "entered"),
            change("2026-11-21", "big", "3", "entered"),
            change("2026-11-21", "recent", "1", "entered"),
            change("2026-11-21", "recent", "2", "entered"),
            change("2026-11-22", "recent", "1", "exited"),
            change("2026-11-22", "recent", "3", "entered"),
            change("2026-11-22", "recent", "4", "entered"),
            change("2026-11-23", "recent", "2", "exited"),
        ]
    );
    let recent: Vec<Vec<Value>> = stats(d)
        .into_iter()
        .filter(|r| r[1] == "recent")
        .map(|r| r[2..5].to_vec())
        .collect();
    assert_eq!(
        recent,
        vec![
            vec![json!(2), json!(2), json!(0)],
            vec![json!(3), json!(2), json!(1)],
            vec![json!(2), json!(0), json!(1)],
        ]
    );
    // Attributes are one JSON object per member, escaped.
    let big_23: Vec<Vec<Value>> = membership(d)
        .into_iter()
        .filter(|r| r[0] == "2026-11-23" && r[1] == "big")
        .collect();
    assert_eq!(big_23.len(), 2);
    let attributes: Value =
        serde_json::from_str(big_23[1][3].as_str().expect("text")).expect("json");
    assert_eq!(attributes, json!({"email": "c\"q@z.com", "revenue": 300.0}));
}

#[test]
fn refreshing_the_same_day_twice_gives_the_same_rows() {
    let project = project();
    let d = project.path();
    refresh(d, "2026-11-22").ok();
    refresh(d, "2026-11-23").ok();
    let before = (membership(d), changes(d), stats(d));
    refresh(d, "2026-11-23").ok();
    refresh(d, "2026-11-23").ok();
    let after = (membership(d), changes(d), stats(d));
    assert_eq!(before, after);
    // No duplicates: 5 members on the 22nd (big 1,3; recent 2,3,4), 4 on the 23rd.
    assert_eq!(after.0.len(), 9, "{:?}", after.0);
    // Refreshing one segment keeps the other's rows of that day.
    run(
        d,
        &[
            "segments",
            "refresh",
            "--date",
            "2026-11-23",
            "--select",
            "segment_recent",
        ],
    )
    .ok();
    assert_eq!(membership(d), before.0);
}

#[test]
fn backfill_runs_each_day_in_order_as_of_that_day() {
    let project = project();
    let d = project.path();
    let out = run(
        d,
        &[
            "segments",
            "refresh",
            "--from",
            "2026-11-20",
            "--to",
            "2026-11-23",
        ],
    )
    .ok();
    let first = out.stdout.find("2026-11-20 recent").expect("day 1 line");
    let last = out.stdout.find("2026-11-23 recent").expect("day 4 line");
    assert!(first < last, "{}", out.stdout);
    let sizes: Vec<Vec<Value>> = stats(d)
        .into_iter()
        .filter(|r| r[1] == "recent")
        .map(|r| vec![r[0].clone(), r[2].clone()])
        .collect();
    assert_eq!(
        sizes,
        vec![
            vec![json!("2026-11-20"), json!(1)],
            vec![json!("2026-11-21"), json!(2)],
            vec![json!("2026-11-22"), json!(3)],
            vec![json!("2026-11-23"), json!(2)],
        ]
    );
    assert_eq!(
        run(
            d,
            &[
                "segments",
                "refresh",
                "--from",
                "2026-11-23",
                "--to",
                "2026-11-20"
            ]
        )
        .code,
        2
    );
}

#[test]
fn a_failed_refresh_leaves_the_tables_as_they_were() {
    let project = project();
    let d = project.path();
    refresh(d, "2026-11-22").ok();
    let before = (membership(d), changes(d), stats(d));
    // A value that is not a FLOAT64: building the segments fails.
    write(
        d,
        "data/raw_people.csv",
        "id,email,revenue,seen_at\n1,a@x.com,lots,2026-11-20\n",
    );
    let out = refresh(d, "2026-11-23");
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("daily segment tables are unchanged"),
        "{}",
        out.stdout
    );
    // Read the tables without the broken source.
    std::fs::remove_file(d.join("data/raw_people.csv")).expect("remove");
    assert_eq!((membership(d), changes(d), stats(d)), before);
}

#[test]
fn compile_writes_a_pruned_bigquery_script() {
    let project = project();
    let d = project.path();
    run(d, &["compile"]).ok();
    let sql =
        std::fs::read_to_string(d.join("target/run/segment_daily/refresh.sql")).expect("script");
    assert!(
        sql.contains("partition by snapshot_date\ncluster by segment;"),
        "{sql}"
    );
    assert!(
        sql.contains("when not matched by source and dest.snapshot_date = date '2026-11-23' and dest.segment in ('recent', 'big') then delete")
            || sql.contains("dest.segment in ('big', 'recent') then delete"),
        "{sql}"
    );
    assert!(
        sql.contains("m.snapshot_date in unnest(cohort_previous)"),
        "{sql}"
    );
}

#[test]
fn the_drift_guard_blocks_until_accepted() {
    let project = project();
    let d = project.path();
    refresh(d, "2026-11-22").ok();
    // big grows from 2 to 4 members (+100%, beyond 25%).
    write(
        d,
        "data/raw_people.csv",
        "id,email,revenue,seen_at\n1,a@x.com,150.0,2026-11-20\n2,b@y.com,500.0,2026-11-21\n3,c@z.com,300.0,2026-11-22\n4,,200.0,2026-11-22\n",
    );
    let out = refresh(d, "2026-11-23");
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("segment `big` on 2026-11-23"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--accept-drift"), "{}", out.stderr);
    let day = |rows: Vec<Vec<Value>>| -> Vec<Vec<Value>> {
        rows.into_iter().filter(|r| r[0] == "2026-11-23").collect()
    };
    assert_eq!(
        day(stats(d)),
        vec![
            vec![
                json!("2026-11-23"),
                json!("big"),
                json!(4),
                json!(2),
                json!(0),
                json!("drift_blocked")
            ],
            vec![
                json!("2026-11-23"),
                json!("recent"),
                json!(2),
                json!(0),
                json!(1),
                json!("ok")
            ],
        ]
    );
    run(
        d,
        &[
            "segments",
            "refresh",
            "--date",
            "2026-11-23",
            "--accept-drift",
        ],
    )
    .ok();
    assert_eq!(day(stats(d))[0][5], json!("drift_accepted"));
    // A later refresh of the day keeps the confirmation while the size is the same.
    refresh(d, "2026-11-23").ok();
    assert_eq!(day(stats(d))[0][5], json!("drift_accepted"));
    let show = run(d, &["segments", "show", "big", "--output", "json"]).ok();
    assert!(
        show.stdout.contains("\"status\":\"drift_accepted\""),
        "{}",
        show.stdout
    );
}

fn json_out(dir: &Path, args: &[&str]) -> Value {
    let out = run(dir, args).ok();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("json: {e}\n{}", out.stdout))
}

#[test]
fn list_show_and_profile_report_health_from_the_daily_tables() {
    let project = project();
    let d = project.path();
    assert_eq!(run(d, &["segments", "list"]).code, 2, "no snapshot yet");
    run(
        d,
        &[
            "segments",
            "refresh",
            "--from",
            "2026-11-20",
            "--to",
            "2026-11-23",
        ],
    )
    .ok();
    let list = json_out(d, &["segments", "list", "--output", "json"]);
    assert_eq!(list["snapshot_date"], "2026-11-23");
    let segments = list["segments"].as_array().expect("segments");
    let names: Vec<&str> = segments
        .iter()
        .map(|s| s["segment"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["big", "recent"]);
    // recent over 7 days: entered 1 (20th), 2 (21st), 3 and 4 (22nd); exited 1, 2.
    assert_eq!(segments[1]["size"], 2);
    assert_eq!(segments[1]["entered_7d"], 4);
    assert_eq!(segments[1]["exited_7d"], 2);
    assert_eq!(segments[1]["share"], 0.5);
    assert!(list.get("overlap").is_none());

    let show = json_out(d, &["segments", "show", "segment_big", "--output", "json"]);
    assert_eq!(show["segment"], "big");
    assert_eq!(show["entities"], 4);
    assert_eq!(show["revenue_attribute"], "revenue");
    assert_eq!(show["average_revenue"], 225.0);
    assert_eq!(show["status"], "ok");
    assert_eq!(show["overlap"], json!({"big": 2, "recent": 1}));

    let profile = json_out(d, &["segments", "profile", "--output", "json"]);
    assert_eq!(
        profile["overlap"],
        json!({"big": {"big": 2, "recent": 1}, "recent": {"big": 1, "recent": 2}})
    );
    assert_eq!(profile["segments"][1]["average_revenue"], Value::Null);

    let unknown = run(d, &["segments", "show", "bgi"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no segment is named `bgi`"),
        "{}",
        unknown.stderr
    );
}
