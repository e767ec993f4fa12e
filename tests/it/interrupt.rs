//! A build that is killed or interrupted halfway leaves the previous tables intact.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{cohort, query_int, run, write};

/// A project whose `big` model writes `side * side` rows after `first` is built.
fn project(rows: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cohort.yml", "name: shop\n");
    // The cross join of unnested arrays is over-counted by DataFusion's
    // memory accounting; the test is about interruption, not memory.
    write(
        dir.path(),
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: local\n      memory_limit: 64GB\n",
    );
    write(dir.path(), "models/first.sql", "select 1 as id\n");
    set_rows(dir.path(), rows);
    dir
}

fn set_rows(dir: &std::path::Path, side: u64) {
    write(
        dir,
        "models/big.sql",
        &format!(
            "select a * {side} + b as id, f.id as first_id\nfrom unnest(generate_array(1, {side})) as a\ncross join unnest(generate_array(1, {side})) as b\ncross join {{{{ ref('first') }}}} as f\n"
        ),
    );
}

/// Start a build, wait until `first` is reported built, then send `signal`.
fn start_and_signal(dir: &std::path::Path, signal: &str) -> std::process::ExitStatus {
    let mut child = cohort(dir)
        .args(["build", "--threads", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("analytics.first") {
            break;
        }
    }
    // Keep reading, so the build never writes into a closed pipe.
    let drain = std::thread::spawn(move || lines.count());
    std::thread::sleep(std::time::Duration::from_millis(400));
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} failed");
    let exit = child.wait().unwrap();
    let _ = drain.join();
    exit
}

fn big_count(dir: &std::path::Path) -> i64 {
    query_int(dir, "{}", "select count(*) from `analytics.big`")
}

#[test]
fn killed_build_keeps_the_previous_table() {
    let dir = project(30);
    run(dir.path(), &["build"]).ok();
    assert_eq!(big_count(dir.path()), 900);

    set_rows(dir.path(), 20_000);
    let status = start_and_signal(dir.path(), "-KILL");
    assert_eq!(
        status.code(),
        None,
        "the build was killed while `big` was being written"
    );
    assert_eq!(
        big_count(dir.path()),
        900,
        "the previous version is still current and complete"
    );

    // The next build completes and removes the abandoned version.
    set_rows(dir.path(), 40);
    run(dir.path(), &["build"]).ok();
    assert_eq!(big_count(dir.path()), 1_600);
    let versions = std::fs::read_dir(dir.path().join("target/local/analytics/big"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('v')
        })
        .count();
    assert_eq!(versions, 1, "abandoned versions are cleaned up");
}

#[test]
fn interrupted_build_exits_130_and_keeps_the_previous_table() {
    let dir = project(30);
    run(dir.path(), &["build"]).ok();

    set_rows(dir.path(), 20_000);
    let status = start_and_signal(dir.path(), "-INT");
    assert_eq!(status.code(), Some(130));
    assert_eq!(big_count(dir.path()), 900);
    let results = std::fs::read_to_string(dir.path().join("target/run_results.json")).unwrap();
    assert!(results.contains("\"interrupted\": true"), "{results}");
}
