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

/// The inode of a file: an atomic rewrite renames a new file into place.
#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
}

#[test]
fn a_generated_project_compiles_and_recompiling_rewrites_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    crate::synthetic::write_project(dir, 250).unwrap();
    run(dir, &["compile"]).ok();
    let first = read_tree(&dir.join("target"));
    let selects = first
        .keys()
        .filter(|p| p.starts_with("compiled/") && !p.contains("/tests/"))
        .count();
    let tests = first.keys().filter(|p| p.contains("/tests/")).count();
    assert_eq!((selects, tests), (250, 500));
    let manifest: serde_json::Value = serde_json::from_slice(&first["manifest.json"]).unwrap();
    let node = &manifest["nodes"]["model.synthetic.m00104"];
    assert_eq!(node["materialized"], "table");
    assert!(
        node["compiled_code"]
            .as_str()
            .unwrap()
            .contains("from `analytics.m0"),
        "{node}"
    );
    assert_eq!(
        manifest["nodes"]["model.synthetic.m00105"]["materialized"],
        "view"
    );

    // The same project again: the same bytes, and no file written anew.
    let select = dir.join("target/compiled/models/group_001/m00150.sql");
    let statement = dir.join("target/run/models/group_001/m00150.sql");
    #[cfg(unix)]
    let before = (inode(&select), inode(&statement));
    run(dir, &["compile"]).ok();
    assert!(
        read_tree(&dir.join("target")) == first,
        "a recompile changed the output"
    );
    #[cfg(unix)]
    assert_eq!((inode(&select), inode(&statement)), before);

    // A model gone (with its properties): its files and tests go too; a changed one is rewritten.
    let group = dir.join("models/group_002");
    std::fs::remove_file(group.join("m00249.sql")).unwrap();
    let schema = std::fs::read_to_string(group.join("schema.yml")).unwrap();
    let kept = &schema[..schema.find("  - name: m00249").unwrap()];
    std::fs::write(group.join("schema.yml"), kept).unwrap();
    let sql = std::fs::read_to_string(dir.join("models/group_001/m00150.sql")).unwrap();
    std::fs::write(
        dir.join("models/group_001/m00150.sql"),
        sql.replace("-- Model 150", "-- Model one hundred fifty"),
    )
    .unwrap();
    run(dir, &["compile"]).ok();
    let after = read_tree(&dir.join("target"));
    assert!(!after.contains_key("compiled/models/group_002/m00249.sql"));
    assert!(!after.contains_key("run/models/group_002/m00249.sql"));
    assert!(
        !after
            .keys()
            .any(|p| p.contains("/tests/") && p.contains("m00249")),
        "tests of a removed model are removed"
    );
    assert_eq!(after.len(), first.len() - 4);
    let text = String::from_utf8(after["compiled/models/group_001/m00150.sql"].clone()).unwrap();
    assert!(text.contains("-- Model one hundred fifty"), "{text}");
}
