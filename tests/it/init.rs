//! `cohort init`: a starter project that builds right away.

use crate::support::{query_int, run};

#[test]
fn init_creates_a_project_that_builds() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["init", "my-shop"]).ok();
    let project = dir.path().join("my-shop");
    let cohort_yml = std::fs::read_to_string(project.join("cohort.yml")).unwrap();
    assert!(cohort_yml.contains("name: my_shop"), "{cohort_yml}");
    let out = run(&project, &["build", "--vars", "{as_of: 2026-11-23}"]).ok();
    assert!(
        out.stdout.contains("2 ok, 0 error, 0 skipped"),
        "{}",
        out.stdout
    );
    // Deduplicated and filtered: 5 completed orders (order 3 sent twice, order 4 refunded).
    assert_eq!(
        query_int(&project, "{}", "select count(*) from `analytics.orders`"),
        5
    );
    assert_eq!(
        query_int(
            &project,
            "{}",
            "select orders from `analytics.customer_revenue` where email = 'ada@example.com'"
        ),
        2
    );
    // A second init into the same folder refuses.
    let out = run(dir.path(), &["init", "my-shop"]).expect_code(2);
    assert!(
        out.stderr.contains("already holds a cohort project"),
        "{}",
        out.stderr
    );
}
