//! `cohort compile`: BigQuery SQL for every model, valid and deterministic.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{example_project, run, write};

fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn compiles_every_model_to_statements_that_reparse_as_bigquery() {
    let project = example_project();
    let dir = project.path();
    run(dir, &["compile", "--vars", "{as_of: 2026-11-23}"]).ok();
    let compiled = read_tree(&dir.join("target/compiled"));
    let runs = read_tree(&dir.join("target/run"));
    let expected = [
        "models/staging/customers.sql",
        "models/staging/sessions.sql",
        "models/staging/transactions.sql",
        "models/staging/campaign_touches.sql",
        "models/marts/customer_features.sql",
    ];
    for path in expected {
        assert!(
            compiled.contains_key(path),
            "missing compiled/{path}: {:?}",
            compiled.keys()
        );
        assert!(runs.contains_key(path), "missing run/{path}");
    }
    for (path, bytes) in compiled.iter().chain(runs.iter()) {
        let sql = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            !sql.contains("{{") && !sql.contains("{%"),
            "unrendered Jinja in {path}"
        );
        let parsed = cohort::sql::parse::parse_bigquery(&sql);
        assert!(
            parsed.is_ok(),
            "{path} does not parse as BigQuery: {parsed:?}\n{sql}"
        );
    }
    let sessions = String::from_utf8(runs["models/staging/sessions.sql"].clone()).unwrap();
    assert!(sessions.starts_with("create or replace table `analytics.sessions`\npartition by date(started_at)\ncluster by customer_id\n"), "{sessions}");
    let features =
        String::from_utf8(compiled["models/marts/customer_features.sql"].clone()).unwrap();
    assert!(
        features.contains("from `analytics.transactions`"),
        "{features}"
    );
    assert!(features.contains("date('2026-11-23')"), "{features}");
}

#[test]
fn output_is_byte_identical_across_runs() {
    let project = example_project();
    let dir = project.path();
    run(dir, &["compile", "--vars", "{as_of: 2026-11-23}"]).ok();
    let first = read_tree(&dir.join("target"));
    run(dir, &["compile", "--vars", "{as_of: 2026-11-23}"]).ok();
    let second = read_tree(&dir.join("target"));
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &first {
        assert!(bytes == &second[path], "{path} differs between runs");
    }
    let manifest: serde_json::Value = serde_json::from_slice(&first["manifest.json"]).unwrap();
    let node = &manifest["nodes"]["model.marketing.customer_features"];
    assert_eq!(node["materialized"], "table");
    let deps: Vec<&str> = node["depends_on"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        deps,
        [
            "model.marketing.campaign_touches",
            "model.marketing.customers",
            "model.marketing.sessions",
            "model.marketing.transactions"
        ]
    );
    assert_eq!(node["checksum"]["checksum"].as_str().unwrap().len(), 64);
}

#[test]
fn bigquery_target_uses_project_qualified_names() {
    let project = example_project();
    let dir = project.path();
    write(
        dir,
        "profiles.yml",
        "marketing:\n  target: prod\n  outputs:\n    prod:\n      type: bigquery\n      project: acme-data\n      dataset: mkt\n      keyfile_json: \"{{ env_var('COHORT_TEST_KEY', 'sekrit-value') }}\"\n",
    );
    let out = run(dir, &["compile", "--vars", "{as_of: 2026-11-23}"]).ok();
    assert!(!out.stdout.contains("sekrit-value") && !out.stderr.contains("sekrit-value"));
    let sql =
        std::fs::read_to_string(dir.join("target/run/models/marts/customer_features.sql")).unwrap();
    assert!(
        sql.starts_with("create or replace table `acme-data.mkt.customer_features`"),
        "{sql}"
    );
    assert!(sql.contains("`acme-data.mkt.customers`"), "{sql}");
    let customers =
        std::fs::read_to_string(dir.join("target/run/models/staging/customers.sql")).unwrap();
    assert!(
        customers.contains("from `acme-data.raw.raw_customers`"),
        "{customers}"
    );
    assert!(
        customers.contains("options (description = \"One row per customer"),
        "{customers}"
    );
    // No credentials on this machine: a clear configuration error, nothing runs.
    let out = run(dir, &["build", "--vars", "{as_of: 2026-11-23}"]).expect_code(2);
    assert!(
        out.stderr
            .contains("found no application default credentials"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("sekrit-value"), "{}", out.stderr);
    let debug = run(dir, &["debug", "--vars", "{as_of: 2026-11-23}"]);
    assert!(!debug.stdout.contains("sekrit-value") && !debug.stderr.contains("sekrit-value"));
}
