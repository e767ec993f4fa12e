//! Node selection: `name`, `+name`, `name+`, `tag:x`, `path:dir`, `--exclude`.

use crate::support::{example_project, run, sample_vars};

fn ls(dir: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut full = vec!["ls", "--vars", "{as_of: 2026-11-23}"];
    full.extend_from_slice(args);
    run(dir, &full)
        .ok()
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn selectors_pick_the_right_nodes_in_dependency_order() {
    let project = example_project();
    let dir = project.path();
    assert_eq!(
        ls(dir, &[]),
        [
            "campaign_touches",
            "customers",
            "sessions",
            "transactions",
            "customer_features",
            "segment_clv_platinum",
            "segment_high_intent",
            "segment_high_value_churn_risk",
            "segment_rfm_champions"
        ]
    );
    assert_eq!(ls(dir, &["--select", "customers"]), ["customers"]);
    assert_eq!(
        ls(dir, &["--select", "customers+", "--exclude", "tag:segment"]),
        ["customers", "customer_features"]
    );
    assert_eq!(
        ls(dir, &["--select", "+customer_features"]),
        [
            "campaign_touches",
            "customers",
            "sessions",
            "transactions",
            "customer_features"
        ]
    );
    assert_eq!(
        ls(dir, &["--select", "tag:features"]),
        ["customer_features"]
    );
    assert_eq!(ls(dir, &["--select", "path:models/staging"]).len(), 4);
    assert_eq!(
        ls(
            dir,
            &["--select", "+customer_features", "--exclude", "tag:staging"]
        ),
        ["customer_features"]
    );
    assert_eq!(
        ls(dir, &["--select", "sessions transactions"]),
        ["sessions", "transactions"]
    );
}

#[test]
fn build_honours_selection() {
    let project = example_project();
    let dir = project.path();
    let out = run(
        dir,
        &["build", "--vars", &sample_vars(), "--select", "customers"],
    )
    .ok();
    assert!(
        out.stdout.contains("1 ok, 0 error, 0 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        dir.join("target/local/analytics/customers/CURRENT")
            .is_file()
    );
    assert!(!dir.join("target/local/analytics/sessions").exists());
}
