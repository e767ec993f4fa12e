//! Bad input: each case gives one clear message with file:line:col and exit code 2,
//! before anything runs.

use crate::support::{run, write};

/// A minimal valid project: one SQL model reading another.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "cohort.yml", "name: shop\n");
    write(
        dir.path(),
        "models/base.sql",
        "select 1 as id, 'a' as name\n",
    );
    write(
        dir.path(),
        "models/report.sql",
        "select id, name\nfrom {{ ref('base') }}\n",
    );
    dir
}

#[track_caller]
fn expect_config_error(dir: &std::path::Path, location: &str, message: &str) -> String {
    let out = run(dir, &["compile"]).expect_code(2);
    assert!(
        out.stderr.contains(location),
        "expected `{location}` in:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(message),
        "expected `{message}` in:\n{}",
        out.stderr
    );
    assert!(
        !dir.join("target/manifest.json").exists(),
        "nothing is written on a config error"
    );
    out.stderr
}

#[test]
fn valid_minimal_project_compiles() {
    let dir = project();
    run(dir.path(), &["compile"]).ok();
    assert!(dir.path().join("target/manifest.json").is_file());
}

#[test]
fn malformed_yaml_points_at_the_line() {
    let dir = project();
    write(
        dir.path(),
        "models/schema.yml",
        "models:\n  - name: report\n    description: [unclosed\n",
    );
    expect_config_error(dir.path(), "models/schema.yml:", "");
    let out = run(dir.path(), &["compile"]);
    let line_col = regex_line_col(&out.stderr, "models/schema.yml");
    assert!(
        line_col.0 >= 3,
        "line of the error: {:?}\n{}",
        line_col,
        out.stderr
    );
}

#[test]
fn unknown_key_suggests_the_closest() {
    let dir = project();
    write(
        dir.path(),
        "models/schema.yml",
        "models:\n  - name: report\n    descripton: typo\n",
    );
    let stderr = expect_config_error(
        dir.path(),
        "models/schema.yml:3:",
        "unknown field `descripton`",
    );
    assert!(stderr.contains("did you mean `description`?"), "{stderr}");
}

#[test]
fn unknown_key_in_cohort_yml() {
    let dir = project();
    write(
        dir.path(),
        "cohort.yml",
        "name: shop\nmodel_path: [models]\n",
    );
    let stderr = expect_config_error(dir.path(), "cohort.yml:2:", "unknown field `model_path`");
    assert!(stderr.contains("did you mean `model_paths`?"), "{stderr}");
}

#[test]
fn unknown_ref_suggests_model_names() {
    let dir = project();
    write(
        dir.path(),
        "models/report.sql",
        "select id\nfrom {{ ref('bsae') }}\n",
    );
    let stderr = expect_config_error(dir.path(), "models/report.sql:2:", "unknown ref `bsae`");
    assert!(stderr.contains("did you mean `base`?"), "{stderr}");
}

#[test]
fn unknown_ref_in_a_yaml_model_points_at_from() {
    let dir = project();
    write(
        dir.path(),
        "models/yaml_model.yml",
        "models:\n  - name: from_yaml\n    from: ref('reprot')\n    columns:\n      - {name: id}\n",
    );
    let stderr = expect_config_error(
        dir.path(),
        "models/yaml_model.yml:3:",
        "unknown ref `reprot`",
    );
    assert!(stderr.contains("did you mean `report`?"), "{stderr}");
}

#[test]
fn unknown_source_suggests() {
    let dir = project();
    write(
        dir.path(),
        "models/sources.yml",
        "sources:\n  - name: raw\n    tables:\n      - name: orders\n",
    );
    write(
        dir.path(),
        "models/report.sql",
        "select *\nfrom {{ source('raw', 'order') }}\n",
    );
    let stderr = expect_config_error(
        dir.path(),
        "models/report.sql:2:",
        "unknown source `raw.order`",
    );
    assert!(stderr.contains("did you mean `raw.orders`?"), "{stderr}");
}

#[test]
fn dependency_cycle_is_printed() {
    let dir = project();
    write(
        dir.path(),
        "models/base.sql",
        "select * from {{ ref('report') }}\n",
    );
    let stderr = expect_config_error(dir.path(), "models/", "dependency cycle:");
    assert!(
        stderr.contains("base -> report -> base") || stderr.contains("report -> base -> report"),
        "{stderr}"
    );
}

#[test]
fn duplicate_model_names_show_both_places() {
    let dir = project();
    write(
        dir.path(),
        "models/more.yml",
        "models:\n  - name: base\n    from: ref('report')\n",
    );
    let stderr = expect_config_error(dir.path(), "models/", "duplicate model name `base`");
    assert!(
        stderr.contains("models/more.yml:2:") && stderr.contains("models/base.sql:1:1"),
        "{stderr}"
    );
}

#[test]
fn jinja_error_points_at_the_expression() {
    let dir = project();
    write(
        dir.path(),
        "models/report.sql",
        "select id\nfrom {{ ref('base') }}\nwhere {{ id > }}\n",
    );
    expect_config_error(dir.path(), "models/report.sql:3:", "Jinja syntax error");
}

#[test]
fn undefined_var_is_explained() {
    let dir = project();
    write(
        dir.path(),
        "models/report.sql",
        "select id\nfrom {{ ref('base') }}\nwhere id > {{ var('min_id') }}\n",
    );
    let stderr = expect_config_error(
        dir.path(),
        "models/report.sql:3:",
        "var `min_id` is not defined",
    );
    assert!(stderr.contains("--vars"), "{stderr}");
}

#[test]
fn sql_syntax_error_points_into_the_model() {
    let dir = project();
    let sql = "select id\nfrom {{ ref('base') }}\nwhere id > > 3\n";
    write(dir.path(), "models/report.sql", sql);
    expect_config_error(
        dir.path(),
        "models/report.sql:3:12:",
        "model `report`: syntax error",
    );
    // At the end of the input the error points just past the last character.
    let sql = "select id\nfrom {{ ref('base') }}\nwhere id >\n";
    write(dir.path(), "models/report.sql", sql);
    expect_config_error(dir.path(), "models/report.sql:3:11:", "found: EOF");
}

#[test]
fn bad_materialization_is_suggested() {
    let dir = project();
    write(
        dir.path(),
        "models/report.sql",
        "{{ config(materialized='tabel') }}\nselect 1 as id\n",
    );
    let stderr = expect_config_error(
        dir.path(),
        // The `config(` call.
        "models/report.sql:1:4",
        "unknown materialization `tabel`",
    );
    assert!(stderr.contains("did you mean `table`?"), "{stderr}");
}

#[test]
fn missing_project_file_says_how_to_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(dir.path(), &["build"]).expect_code(2);
    assert!(
        out.stderr.contains("no cohort.yml") && out.stderr.contains("cohort init"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_vars_and_bad_selector_are_usage_errors() {
    let dir = project();
    let out = run(dir.path(), &["ls", "--vars", "{as_of: not-a-date}"]).expect_code(2);
    assert!(out.stderr.contains("as_of"), "{}", out.stderr);
    let out = run(dir.path(), &["ls", "--select", "raport"]).expect_code(2);
    assert!(
        out.stderr.contains("did you mean `report`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_env_var_in_profiles_is_named() {
    let dir = project();
    write(
        dir.path(),
        "profiles.yml",
        "shop:\n  target: prod\n  outputs:\n    prod:\n      type: bigquery\n      project: \"{{ env_var('COHORT_TEST_UNSET_PROJECT') }}\"\n      dataset: marts\n",
    );
    let out = run(dir.path(), &["compile"]).expect_code(2);
    assert!(out.stderr.contains("profiles.yml:6:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("COHORT_TEST_UNSET_PROJECT"),
        "{}",
        out.stderr
    );
}

/// The first `path:LINE:COL` after `path` in `text`.
fn regex_line_col(text: &str, path: &str) -> (usize, usize) {
    let start = text.find(path).map(|i| i + path.len() + 1).unwrap_or(0);
    let mut parts = text[start..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    let line = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let col = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (line, col)
}
