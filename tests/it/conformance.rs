//! BigQuery conformance suite: documented examples from Google's BigQuery
//! reference, run through the real `cohort` binary on the local engine.
//!
//! Each `tests/conformance/<area>.yml` file holds a list of cases (name,
//! source URL, SQL, expected columns and rows, or an expected error). One test
//! per file runs every case, collects all mismatches, and fails once with a
//! readable list. Floats compare with a relative tolerance of 1e-9;
//! everything else compares exactly. Rows compare in order unless the case
//! says `ordered: false`, in which case they compare as a multiset.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::support::{repo_root, run};

/// Every area file of the suite.
const AREAS: [&str; 10] = [
    "date",
    "timestamp",
    "string",
    "math",
    "aggregate",
    "window",
    "array",
    "conditional",
    "hash",
    "query_syntax",
];

/// The suite must never shrink below this many cases unnoticed.
const MIN_CASES: usize = 150;

/// One documented example.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    source: String,
    sql: String,
    expect: Expect,
    #[serde(default = "default_ordered")]
    ordered: bool,
    /// How the query or result differs from the documented example, if it does.
    #[serde(default)]
    adapted: Option<String>,
}

fn default_ordered() -> bool {
    true
}

/// The documented result: columns and rows, or an error substring.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    columns: Option<Vec<String>>,
    #[serde(default)]
    rows: Option<Vec<Vec<Value>>>,
    #[serde(default)]
    error: Option<String>,
}

fn area_path(area: &str) -> PathBuf {
    repo_root()
        .join("tests")
        .join("conformance")
        .join(format!("{area}.yml"))
}

fn load(area: &str) -> Vec<Case> {
    let path = area_path(area);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Whether two JSON values are equal: floats within a relative 1e-9, and a
/// float never equal to an integer (FLOAT64 and INT64 results differ).
fn values_match(expected: &Value, got: &Value) -> bool {
    match (expected, got) {
        // FLOAT64 (written with a fraction, `2.0`) never matches INT64 (`2`).
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) if a.is_f64() && b.is_f64() => floats_match(x, y),
            _ => !a.is_f64() && !b.is_f64() && a == b,
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_match(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((ka, va), (kb, vb))| ka == kb && values_match(va, vb))
        }
        _ => expected == got,
    }
}

fn floats_match(x: f64, y: f64) -> bool {
    if x == y {
        return true;
    }
    let scale = x.abs().max(y.abs());
    (x - y).abs() <= 1e-9 * scale
}

fn rows_match(expected: &[Vec<Value>], got: &[Vec<Value>], ordered: bool) -> bool {
    let row_match = |e: &Vec<Value>, g: &Vec<Value>| {
        e.len() == g.len() && e.iter().zip(g).all(|(x, y)| values_match(x, y))
    };
    if expected.len() != got.len() {
        return false;
    }
    if ordered {
        return expected.iter().zip(got).all(|(e, g)| row_match(e, g));
    }
    let mut used = vec![false; got.len()];
    expected.iter().all(|e| {
        let found = got
            .iter()
            .enumerate()
            .find(|(i, g)| !used[*i] && row_match(e, g))
            .map(|(i, _)| i);
        match found {
            Some(i) => {
                used[i] = true;
                true
            }
            None => false,
        }
    })
}

/// Runs one case; `None` when it matches, else a description of the mismatch.
fn check(dir: &std::path::Path, case: &Case) -> Option<String> {
    let out = run(
        dir,
        &[
            "show", "--inline", &case.sql, "--output", "json", "--limit", "1000",
        ],
    );
    let report = |expected: String, got: String| {
        let adapted = case
            .adapted
            .as_deref()
            .map(|a| format!("\n  adapted: {a}"))
            .unwrap_or_default();
        Some(format!(
            "- {}\n  source: {}{adapted}\n  sql: {}\n  expected: {expected}\n  got: {got}\n  stderr: {}",
            case.name,
            case.source,
            case.sql,
            out.stderr.trim()
        ))
    };
    if let Some(error) = &case.expect.error {
        if out.code != 0 && out.stderr.contains(error.as_str()) {
            return None;
        }
        return report(
            format!("an error containing {error:?}"),
            format!("exit code {}, stdout {}", out.code, out.stdout.trim()),
        );
    }
    let expected_columns = case.expect.columns.clone().unwrap_or_default();
    let expected_rows = case.expect.rows.clone().unwrap_or_default();
    let expected = format!(
        "columns {} rows {}",
        Value::from(expected_columns.clone()),
        Value::from(expected_rows.clone())
    );
    if out.code != 0 {
        return report(expected, format!("exit code {}", out.code));
    }
    let value: Value = match serde_json::from_str(&out.stdout) {
        Ok(v) => v,
        Err(e) => return report(expected, format!("invalid JSON ({e}): {}", out.stdout)),
    };
    let columns: Vec<String> = value["columns"]
        .as_array()
        .map(|cols| {
            cols.iter()
                .map(|c| c.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<Vec<Value>> = value["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r.as_array().cloned().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    if columns == expected_columns && rows_match(&expected_rows, &rows, case.ordered) {
        return None;
    }
    report(
        expected,
        format!(
            "columns {} rows {}",
            Value::from(columns),
            Value::from(rows)
        ),
    )
}

/// Runs every case of one area file and fails once with all mismatches.
fn run_area(area: &str) {
    let cases = load(area);
    assert!(!cases.is_empty(), "{area}.yml has no cases");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cohort.yml"), "name: conformance\n").unwrap();
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        assert!(
            names.insert(case.name.as_str()),
            "duplicate case name {} in {area}.yml",
            case.name
        );
        assert!(
            case.expect.error.is_some() != case.expect.rows.is_some(),
            "case {} needs exactly one of expect.rows and expect.error",
            case.name
        );
    }
    let failures: Vec<String> = cases.iter().filter_map(|c| check(dir.path(), c)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} {area} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn date() {
    run_area("date");
}

#[test]
fn timestamp() {
    run_area("timestamp");
}

#[test]
fn string() {
    run_area("string");
}

#[test]
fn math() {
    run_area("math");
}

#[test]
fn aggregate() {
    run_area("aggregate");
}

#[test]
fn window() {
    run_area("window");
}

#[test]
fn array() {
    run_area("array");
}

#[test]
fn conditional() {
    run_area("conditional");
}

#[test]
fn hash() {
    run_area("hash");
}

#[test]
fn query_syntax() {
    run_area("query_syntax");
}

#[test]
fn suite_has_at_least_150_cases() {
    let total: usize = AREAS.iter().map(|area| load(area).len()).sum();
    assert!(
        total >= MIN_CASES,
        "the conformance suite shrank to {total} cases (minimum {MIN_CASES})"
    );
}
