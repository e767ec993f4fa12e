//! Segments: YAML rules compiled to BigQuery SQL and built on DataFusion.
//! Membership is compared with an independent computation on the data; bad
//! segment files fail with file:line:col and exit code 2 before anything is
//! written.

use std::path::Path;

use crate::support::{example_project, query, run, sample_vars, write};

const AS_OF_VARS: &str = "{as_of: 2026-11-23}";

/// The ids a query returns, sorted.
fn ids(dir: &Path, vars: &str, sql: &str) -> Vec<i64> {
    let (_, rows) = query(dir, vars, sql);
    let mut ids: Vec<i64> = rows
        .iter()
        .map(|r| r[0].as_i64().unwrap_or_else(|| panic!("not an id: {r:?}")))
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn example_segments_match_an_independent_computation() {
    let project = example_project();
    let dir = project.path();
    let vars = sample_vars();
    let out = run(dir, &["build", "--vars", &vars]).ok();
    assert!(
        out.stdout.contains("9 ok, 0 error, 0 skipped"),
        "{}",
        out.stdout
    );
    for name in [
        "high_value_churn_risk",
        "high_intent",
        "rfm_champions",
        "clv_platinum",
    ] {
        assert!(
            out.stdout.contains(&format!("analytics.segment_{name} ")),
            "no line for {name}:\n{}",
            out.stdout
        );
    }

    // Each segment against the same definition written by hand.
    let features = "from `analytics.customer_features`";
    let cases = [
        (
            "high_value_churn_risk",
            format!(
                "select customer_id {features} where orders_total >= 3 and days_since_last_order >= 60 and days_since_last_order <= 90 and sessions_30d < sessions_prev_30d"
            ),
        ),
        (
            // "No order in the last 30 days", counted differently than the segment's time window.
            "high_intent",
            format!(
                "select customer_id {features} where pricing_views_7d > 1 and email_opens_30d > 0 and orders_30d = 0"
            ),
        ),
        (
            "rfm_champions",
            format!("select customer_id {features} where r_score + f_score + m_score = 15"),
        ),
        (
            "clv_platinum",
            format!("select customer_id {features} where clv_tier = 'platinum'"),
        ),
    ];
    let mut sizes = Vec::new();
    for (name, expected_sql) in &cases {
        let expected = ids(dir, &vars, expected_sql);
        let actual = ids(
            dir,
            &vars,
            &format!("select customer_id from `analytics.segment_{name}`"),
        );
        assert_eq!(actual, expected, "members of {name}");
        sizes.push((*name, actual.len()));
    }
    // The comparison means something only if segments have members.
    let non_empty = sizes.iter().filter(|(_, n)| *n > 0).count();
    assert!(non_empty >= 3, "segment sizes: {sizes:?}");
    let buyers = ids(
        dir,
        &vars,
        &format!("select customer_id {features} where orders_total > 0"),
    );
    let platinum = sizes.iter().find(|(n, _)| *n == "clv_platinum").unwrap().1;
    assert_eq!(platinum, buyers.len() / 10, "ntile(10): {sizes:?}");

    // Membership rows: entity key, attributes, and the segment's name.
    let (columns, rows) = query(
        dir,
        &vars,
        "select * from `analytics.segment_high_value_churn_risk`",
    );
    assert_eq!(
        columns,
        ["customer_id", "email", "revenue_total", "segment"]
    );
    assert!(
        rows.iter().all(|r| r[3] == "high_value_churn_risk"),
        "{rows:?}"
    );
    let (_, rows) = query(
        dir,
        &vars,
        "select s.email = f.email or (s.email is null and f.email is null) from `analytics.segment_clv_platinum` s join `analytics.customer_features` f using (customer_id)",
    );
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r[0] == true),
        "{rows:?}"
    );
}

#[test]
fn segments_are_nodes_for_ls_compile_and_selection() {
    let project = example_project();
    let dir = project.path();
    let names = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["ls", "--vars", AS_OF_VARS];
        full.extend_from_slice(args);
        run(dir, &full)
            .ok()
            .stdout
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    };
    assert_eq!(
        names(&["--select", "tag:retention"]),
        ["segment_high_value_churn_risk", "segment_rfm_champions"]
    );
    assert_eq!(
        names(&["--select", "tag:segment"]).len(),
        4,
        "every segment carries the `segment` tag"
    );
    let upstream = names(&["--select", "+segment_high_intent"]);
    assert_eq!(
        upstream.last().map(String::as_str),
        Some("segment_high_intent")
    );
    assert_eq!(upstream.len(), 6, "{upstream:?}");
    assert!(upstream.contains(&"customer_features".to_string()));
    assert_eq!(
        names(&[
            "--select",
            "customer_features+",
            "--exclude",
            "segment_clv_platinum"
        ]),
        [
            "customer_features",
            "segment_high_intent",
            "segment_high_value_churn_risk",
            "segment_rfm_champions"
        ]
    );

    let out = run(
        dir,
        &[
            "ls",
            "--vars",
            AS_OF_VARS,
            "--select",
            "segment_rfm_champions",
            "--output",
            "json",
        ],
    )
    .ok();
    let node: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(node["resource_type"], "segment");
    assert_eq!(node["depends_on"], serde_json::json!(["customer_features"]));
    assert_eq!(node["path"], "segments/lifecycle.yml");

    run(dir, &["compile", "--vars", AS_OF_VARS]).ok();
    let sql = std::fs::read_to_string(dir.join("target/compiled/segments/segment_high_intent.sql"))
        .unwrap();
    assert!(sql.contains("from `analytics.customer_features`"), "{sql}");
    assert!(sql.contains("'high_intent' as segment"), "{sql}");
    assert!(
        sql.contains(
            "cast(last_order_date as date) <= date_sub(date '2026-11-23', interval 30 day)"
        ),
        "{sql}"
    );
    let run_sql =
        std::fs::read_to_string(dir.join("target/run/segments/segment_high_intent.sql")).unwrap();
    assert!(
        run_sql.starts_with("create or replace table `analytics.segment_high_intent`"),
        "{run_sql}"
    );
}

/// A hand-made table: five rows, one without an id.
const PEOPLE_SQL: &str = r#"select
    cast(1 as int64) as id, 'Ann' as name, 'DE' as country, 10 as score, 1.5 as amount,
    true as vip, date '2026-11-23' as signup, timestamp '2026-11-23 10:00:00+00' as last_seen
union all select 2, 'O\'Brien \\ "x"', 'FR', 5, 2.0, false, date '2026-10-24', timestamp '2026-11-16 00:00:00+00'
union all select 3, 'Bob', cast(null as string), 0, 3.5, false, date '2026-10-23', timestamp '2026-11-15 23:59:59+00'
union all select 4, 'Olga', 'US', -3, 0.5, cast(null as bool), date '2025-12-31', cast(null as timestamp)
union all select cast(null as int64), 'ghost', 'DE', 100, 2.0, true, date '2026-11-23', timestamp '2026-11-23 00:00:00+00'
"#;

fn people_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cohort.yml",
        "name: shop\nvars:\n  as_of: 2026-11-23\n",
    );
    write(dir.path(), "models/people.sql", PEOPLE_SQL);
    dir
}

/// Segment `name` over `people` with one rule (YAML flow or block text).
fn segment(name: &str, rules: &str) -> String {
    format!(
        "  - name: {name}\n    from: ref('people')\n    entity_key: id\n    attributes: [name]\n    rules:\n{rules}\n"
    )
}

#[test]
fn every_operator_and_time_window_selects_the_right_rows() {
    let dir = people_project();
    let cases: &[(&str, &str, &[i64])] = &[
        (
            "eq_hostile",
            r#"      {column: name, op: eq, value: "O'Brien \\ \"x\""}"#,
            &[2],
        ),
        ("ne", "      {column: country, op: ne, value: DE}", &[2, 4]),
        ("gt", "      {column: score, op: gt, value: 0}", &[1, 2]),
        (
            "gte",
            "      {column: score, op: gte, value: 0}",
            &[1, 2, 3],
        ),
        ("lt", "      {column: score, op: lt, value: 0}", &[4]),
        (
            "lte",
            "      {column: score, op: lte, value: 5}",
            &[2, 3, 4],
        ),
        (
            "between",
            "      {column: amount, op: between, value: [1.5, 3]}",
            &[1, 2],
        ),
        (
            "in_list",
            "      {column: country, op: in, value: [DE, US]}",
            &[1, 4],
        ),
        (
            "not_in",
            "      {column: country, op: not_in, value: [DE]}",
            &[2, 4],
        ),
        ("is_null", "      {column: country, op: is_null}", &[3]),
        (
            "not_null",
            "      {column: country, op: not_null}",
            &[1, 2, 4],
        ),
        (
            "contains_quote",
            "      {column: name, op: contains, value: \"'\"}",
            &[2],
        ),
        (
            "contains_pct",
            "      {column: name, op: contains, value: \"%\"}",
            &[],
        ),
        (
            "starts_with",
            "      {column: name, op: starts_with, value: O}",
            &[2, 4],
        ),
        ("bool_eq", "      {column: vip, op: eq, value: true}", &[1]),
        (
            "date_gte",
            "      {column: signup, op: gte, value: 2026-01-01}",
            &[1, 2, 3],
        ),
        (
            "ts_lt",
            "      {column: last_seen, op: lt, value: \"2026-11-16 00:00:00\"}",
            &[3],
        ),
        (
            "date_within",
            "      {column: signup, within_last: 30 days}",
            &[1],
        ),
        (
            "date_within_months",
            "      {column: signup, within_last: 2 months}",
            &[1, 2, 3],
        ),
        (
            "ts_within_week",
            "      {column: last_seen, within_last: 1 week}",
            &[1],
        ),
        (
            "ts_older",
            "      {column: last_seen, older_than: 7 days}",
            &[2, 3],
        ),
        (
            "date_older_year",
            "      {column: signup, older_than: 1 year}",
            &[],
        ),
        (
            "nested",
            "      any:\n        - {column: country, op: eq, value: FR}\n        - not:\n            any:\n              - {column: score, op: gt, value: 0}\n              - {column: country, op: is_null}",
            &[2, 4],
        ),
        (
            "escape_hatch",
            "      {sql: \"score * 2 > amount\"}",
            &[1, 2],
        ),
        (
            "all_of",
            "      all:\n        - {column: vip, op: eq, value: false}\n        - {sql: \"lower(name) like 'b%'\"}",
            &[3],
        ),
    ];
    let mut yaml = String::from("segments:\n");
    for (name, rules, _) in cases {
        yaml.push_str(&segment(name, rules));
    }
    write(dir.path(), "segments/cases.yml", &yaml);
    let out = run(dir.path(), &["build"]).ok();
    assert!(
        out.stdout
            .contains(&format!("{} ok, 0 error", cases.len() + 1)),
        "{}",
        out.stdout
    );
    for (name, _, expected) in cases {
        let actual = ids(
            dir.path(),
            "{}",
            &format!("select id from `analytics.segment_{name}`"),
        );
        assert_eq!(actual, *expected, "segment {name}");
    }
    // The hostile string travels through as data, unchanged.
    let (_, rows) = query(
        dir.path(),
        "{}",
        "select name, segment from `analytics.segment_eq_hostile`",
    );
    assert_eq!(
        rows,
        [[
            serde_json::json!("O'Brien \\ \"x\""),
            serde_json::json!("eq_hostile")
        ]]
    );
}

/// A project with one segment whose second rule is `rule` (line 8 of segments/bad.yml).
fn bad_segment(rule: &str) -> tempfile::TempDir {
    let dir = people_project();
    write(
        dir.path(),
        "segments/bad.yml",
        &format!(
            "segments:\n  - name: bad\n    from: ref('people')\n    entity_key: id\n    rules:\n      all:\n        - {{column: score, op: gt, value: 0}}\n        - {rule}\n"
        ),
    );
    dir
}

/// The 1-based column of `needle` on line 8 of segments/bad.yml.
fn column_of(rule: &str, needle: &str) -> usize {
    "        - ".len() + rule.find(needle).expect("needle in rule") + 1
}

#[track_caller]
fn expect_error(command: &str, rule: &str, needle: &str, message: &str, help: &str) {
    let dir = bad_segment(rule);
    let out = run(dir.path(), &[command]).expect_code(2);
    let location = format!("segments/bad.yml:8:{}:", column_of(rule, needle));
    assert!(
        out.stderr.contains(&location),
        "expected `{location}` in:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(message),
        "expected `{message}` in:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(help),
        "expected `{help}` in:\n{}",
        out.stderr
    );
    assert!(
        !dir.path().join("target/local/analytics").exists(),
        "nothing may be built when a segment is wrong"
    );
}

#[test]
fn unknown_column_fails_before_anything_is_built_and_suggests() {
    let rule = "{column: scroe, op: gt, value: 1}";
    expect_error(
        "build",
        rule,
        "scroe",
        "segment `bad`: column `scroe` is not a column of ref('people')",
        "did you mean `score`?",
    );
}

#[test]
fn value_of_the_wrong_type_fails_the_build() {
    let rule = r#"{column: score, op: gt, value: "high"}"#;
    expect_error(
        "build",
        rule,
        "\"high\"",
        "value \"high\" is STRING but column `score` is INT64",
        "help:",
    );
    let rule = "{column: name, within_last: 30 days}";
    expect_error(
        "build",
        rule,
        "{",
        "`within_last` needs a DATE, DATETIME or TIMESTAMP column, but `name` is STRING",
        "e.g. {column: signup, within_last: 30 days}",
    );
}

#[test]
fn sql_rules_are_planned_against_the_upstream_columns() {
    let rule = r#"{sql: "scroe * 2 > amount"}"#;
    expect_error(
        "build",
        rule,
        "\"scroe",
        "segment `bad`: `sql:` rule `scroe * 2 > amount`",
        "did you mean `score`?",
    );
    let rule = r#"{sql: "score + 1"}"#;
    expect_error(
        "build",
        rule,
        "\"score",
        "`sql:` rule `score + 1` is of type INT64, not BOOL",
        "help:",
    );
}

#[test]
fn bad_operator_fails_at_compile_with_a_suggestion() {
    let rule = "{column: score, op: greater_than, value: 1}";
    expect_error(
        "compile",
        rule,
        "greater_than",
        "segment `bad`: unknown operator `greater_than`",
        "help:",
    );
    let rule = "{column: score, op: gte_, value: 1}";
    expect_error(
        "compile",
        rule,
        "gte_",
        "unknown operator",
        "did you mean `gte`?",
    );
}

#[test]
fn injection_through_sql_or_values_is_rejected_or_inert() {
    for rule in [
        r#"{sql: "true) union all select 1, 'x', 'y' from `analytics.people` where (true"}"#,
        r#"{sql: "score > 0; drop table people"}"#,
        r#"{sql: "score > 0 -- and the rest"}"#,
        r#"{sql: "score > 0 /* swallow"}"#,
    ] {
        let dir = bad_segment(rule);
        let out = run(dir.path(), &["compile"]).expect_code(2);
        let location = format!("segments/bad.yml:8:{}:", column_of(rule, "\""));
        assert!(
            out.stderr.contains(&location),
            "{rule}: expected {location} in\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("`sql:` rule"),
            "{rule}:\n{}",
            out.stderr
        );
        assert!(!dir.path().join("target/manifest.json").exists());
    }
    // A value cannot leave its string literal: it is compared as data.
    let rule = r#"{column: name, op: eq, value: "x' or 1=1 --"}"#;
    let dir = bad_segment(rule);
    let out = run(dir.path(), &["build"]).ok();
    assert!(out.stdout.contains("2 ok, 0 error"), "{}", out.stdout);
    let members = ids(dir.path(), "{}", "select id from `analytics.segment_bad`");
    assert!(members.is_empty(), "{members:?}");
}

#[test]
fn unknown_ref_in_from_suggests_the_model() {
    let dir = people_project();
    write(
        dir.path(),
        "segments/bad.yml",
        "segments:\n  - name: bad\n    from: ref('peple')\n    entity_key: id\n    rules: {column: score, op: gt, value: 0}\n",
    );
    let out = run(dir.path(), &["compile"]).expect_code(2);
    assert!(
        out.stderr.contains("segments/bad.yml:3:11:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("segment `bad`: unknown ref `peple`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `people`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn unknown_keys_and_duplicate_names_are_config_errors() {
    let dir = people_project();
    write(
        dir.path(),
        "segments/bad.yml",
        "segments:\n  - name: bad\n    from: ref('people')\n    entity_key: id\n    atributes: [name]\n    rules: {column: score, op: gt, value: 0}\n",
    );
    let out = run(dir.path(), &["compile"]).expect_code(2);
    assert!(out.stderr.contains("segments/bad.yml:5:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `attributes`?"),
        "{}",
        out.stderr
    );

    // Segments may also live under models/ (models/segments/*.yml).
    write(
        dir.path(),
        "segments/bad.yml",
        "segments:\n  - name: twice\n    from: ref('people')\n    entity_key: id\n    rules: {column: score, op: gt, value: 0}\n",
    );
    write(
        dir.path(),
        "models/segments/more.yml",
        "segments:\n  - name: twice\n    from: ref('people')\n    entity_key: id\n    rules: {column: score, op: lt, value: 0}\n",
    );
    let out = run(dir.path(), &["compile"]).expect_code(2);
    assert!(out.stderr.contains("segment_twice"), "{}", out.stderr);
    assert!(out.stderr.contains("segments/bad.yml:2:"), "{}", out.stderr);
    std::fs::remove_file(dir.path().join("segments/bad.yml")).unwrap();
    run(dir.path(), &["build"]).ok();
    assert_eq!(
        ids(dir.path(), "{}", "select id from `analytics.segment_twice`"),
        [4]
    );
}

#[test]
fn a_segment_can_read_a_source_table_and_be_a_view() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cohort.yml",
        "name: shop\nvars:\n  as_of: 2026-11-23\n  data_dir: data\n",
    );
    write(
        dir.path(),
        "data/raw_people.csv",
        "id,email,seen_at\n1,a@x.com,2026-11-20T10:00:00Z\n2,b@y.com,2026-01-01T00:00:00Z\n3,,2026-11-22T00:00:00Z\n",
    );
    write(
        dir.path(),
        "models/sources.yml",
        "sources:\n  - name: crm\n    location: \"{{ var('data_dir') }}\"\n    format: csv\n    tables:\n      - name: raw_people\n        columns:\n          - {name: id, type: INT64}\n          - {name: email, type: STRING}\n          - {name: seen_at, type: TIMESTAMP}\n",
    );
    write(
        dir.path(),
        "segments/recent.yml",
        "segments:\n  - name: recent_x\n    from: source('crm', 'raw_people')\n    entity_key: id\n    attributes: [email]\n    config: {materialized: view}\n    rules:\n      all:\n        - {column: seen_at, within_last: 2 weeks}\n        - {column: email, op: not_null}\n",
    );
    let out = run(dir.path(), &["build"]).ok();
    assert!(
        out.stdout.contains("view  analytics.segment_recent_x"),
        "{}",
        out.stdout
    );
    let (_, rows) = query(
        dir.path(),
        "{}",
        "select id, email, segment from `analytics.segment_recent_x`",
    );
    assert_eq!(
        rows,
        [[
            serde_json::json!(1),
            serde_json::json!("a@x.com"),
            serde_json::json!("recent_x")
        ]]
    );

    // A typo in a column of the source is caught by planning the source too.
    write(
        dir.path(),
        "segments/recent.yml",
        "segments:\n  - name: recent_x\n    from: source('crm', 'raw_people')\n    entity_key: id\n    rules: {column: seen, within_last: 2 weeks}\n",
    );
    let out = run(dir.path(), &["build"]).expect_code(2);
    assert!(
        out.stderr.contains("segments/recent.yml:5:21:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `seen_at`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn sql_rules_test_one_row_at_a_time() {
    for rule in [
        r#"{sql: "count(*) > 1"}"#,
        r#"{sql: "row_number() over (order by id) > 1"}"#,
    ] {
        let dir = bad_segment(rule);
        let out = run(dir.path(), &["build"]).expect_code(2);
        let location = format!("segments/bad.yml:8:{}:", column_of(rule, "\""));
        assert!(
            out.stderr.contains(&location),
            "{rule}: expected {location} in\n{}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains("aggregate and window functions are not allowed"),
            "{rule}:\n{}",
            out.stderr
        );
        assert!(!dir.path().join("target/local/analytics").exists());
    }
}

#[test]
fn compile_check_plans_without_building() {
    let rule = "{column: scroe, op: gt, value: 1}";
    let dir = bad_segment(rule);
    let out = run(dir.path(), &["compile", "--check"]).expect_code(2);
    let location = format!("segments/bad.yml:8:{}:", column_of(rule, "scroe"));
    assert!(out.stderr.contains(&location), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `score`?"),
        "{}",
        out.stderr
    );

    // Fixed, the check passes; a model that does not plan fails it (exit 1).
    let dir = bad_segment("{column: score, op: lt, value: 9}");
    let out = run(dir.path(), &["compile", "--check"]).ok();
    assert!(
        out.stdout
            .contains("Checked 1 model and 1 segment: every statement plans"),
        "{}",
        out.stdout
    );
    write(
        dir.path(),
        "models/broken.sql",
        "select nope from {{ ref('people') }}\n",
    );
    let out = run(dir.path(), &["compile", "--check"]).expect_code(1);
    assert!(out.stderr.contains("model `broken`"), "{}", out.stderr);
    assert!(!dir.path().join("target/local/analytics").exists());
}
