//! Benchmark: what one day costs. A full build of the example project at N
//! customers (default 1,000,000), data tests included (`cohort build
//! --full-refresh`), against the daily cycle that keeps it fresh:
//! yesterday's state is built from the sample data cut at midnight, then one
//! `cohort segments refresh` takes in the new day (incremental models read
//! the new rows only; `customer_features` and the segments are recomputed as
//! of the new day) and writes the daily segment tables. It drives the real
//! `cohort` binary and checks that the refreshed membership equals the one a
//! full build gives for the same day.
//!
//! Run: `cargo bench --bench daily`. `COHORT_BENCH_CUSTOMERS` (default
//! 1000000) and `COHORT_BENCH_RUNS` (default 3) change the scale and the
//! repetitions; `COHORT_BENCH_DIR` keeps the work files in that folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use cohort::sample::{self, SampleOptions};

#[path = "support/files.rs"]
mod files;
#[path = "support/process.rs"]
mod process;

use files::copy_tree;
use process::{BenchResult, Measured, cohort};

/// The example project's files (everything but `target/`).
const PROJECT_FILES: &[&str] = &["cohort.yml", "models", "macros", "segments", "data_tests"];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Output of `cohort show` (CSV), for comparing results.
fn show_csv(project: &Path, vars: &str, sql: &str) -> BenchResult<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args([
            "show", "--output", "csv", "--limit", "1000", "--vars", vars, "--inline", sql,
        ])
        .current_dir(project)
        .output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A fresh copy of the example project in `dir`.
fn example_project(dir: &Path) -> BenchResult<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    for name in PROJECT_FILES {
        copy_tree(&root.join(name), &dir.join(name))?;
    }
    Ok(dir.to_path_buf())
}

fn median(samples: &[Measured]) -> (Duration, f64) {
    let mut times: Vec<Duration> = samples.iter().map(|m| m.elapsed).collect();
    times.sort();
    let peak = samples.iter().map(|m| m.peak_mib).fold(0.0, f64::max);
    (times[times.len() / 2], peak)
}

/// Segment sizes and a checksum of their members on `day`, from the daily table.
fn membership_digest(project: &Path, vars: &str, day: NaiveDate) -> BenchResult<String> {
    show_csv(
        project,
        vars,
        &format!(
            "select segment, count(*) as members, sum(cast(entity_id as int64)) as id_sum, \
             sum(length(attributes)) as attribute_chars \
             from `analytics.segment_membership` where snapshot_date = date '{day}' \
             group by segment order by segment"
        ),
    )
}

fn main() -> BenchResult<()> {
    let customers = env_number("COHORT_BENCH_CUSTOMERS", 1_000_000);
    let runs = env_number("COHORT_BENCH_RUNS", 3).max(1);
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).ok_or("date")?;
    let yesterday = day.pred_opt().ok_or("date")?;
    let scratch = tempfile::tempdir()?;
    let work = match std::env::var_os("COHORT_BENCH_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => scratch.path().to_path_buf(),
    };
    let full_data = work.join("data-full");
    let cut_data = work.join("data-yesterday");

    let t = Instant::now();
    sample::generate(&SampleOptions {
        customers: customers as u64,
        seed: 42,
        as_of: day,
        out: full_data.clone(),
    })?;
    sample::arrived_before(&full_data, &cut_data, day)?;
    println!(
        "sample data: {customers} customers up to {day}, and the same cut at its midnight ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let vars_full = format!("{{data_dir: '{}', as_of: {day}}}", full_data.display());
    let vars_yesterday = format!("{{data_dir: '{}', as_of: {yesterday}}}", cut_data.display());

    // Full build of day D from scratch: models, segments and their data
    // tests, as the goal (and dbt's `build`) counts it.
    let full_project = example_project(&work.join("full"))?;
    let mut full = Vec::new();
    for _ in 0..runs {
        full.push(cohort(
            &full_project,
            &["build", "--full-refresh", "--vars", &vars_full],
        )?);
    }
    let day_arg = day.to_string();
    cohort(
        &full_project,
        &[
            "segments", "refresh", "--date", &day_arg, "--vars", &vars_full,
        ],
    )?;
    let expected = membership_digest(&full_project, &vars_full, day)?;

    // Yesterday's state, then the daily refresh of day D on top of it.
    let daily_project = example_project(&work.join("daily"))?;
    let yesterday_arg = yesterday.to_string();
    cohort(
        &daily_project,
        &["run", "--full-refresh", "--vars", &vars_yesterday],
    )?;
    cohort(
        &daily_project,
        &[
            "segments",
            "refresh",
            "--date",
            &yesterday_arg,
            "--vars",
            &vars_yesterday,
        ],
    )?;
    let state = daily_project.join("target");
    let saved = work.join("yesterday-target");
    // A kept COHORT_BENCH_DIR holds an earlier run's copy: copying over it
    // would add its stale table versions, which each timed refresh would
    // then delete.
    if saved.exists() {
        std::fs::remove_dir_all(&saved)?;
    }
    copy_tree(&state, &saved)?;
    let mut daily = Vec::new();
    for _ in 0..runs {
        std::fs::remove_dir_all(&state)?;
        copy_tree(&saved, &state)?;
        daily.push(cohort(
            &daily_project,
            &[
                "segments", "refresh", "--date", &day_arg, "--vars", &vars_full,
            ],
        )?);
    }
    let refreshed = membership_digest(&daily_project, &vars_full, day)?;

    let (full_time, full_peak) = median(&full);
    let (daily_time, daily_peak) = median(&daily);
    println!("\n| work ({customers} customers, median of {runs}) | time | peak memory |");
    println!("|---|---|---|");
    println!(
        "| full build with tests (`cohort build --full-refresh`) | {:.1} s | {full_peak:.0} MiB |",
        full_time.as_secs_f64()
    );
    println!(
        "| daily refresh (`cohort segments refresh --date {day}`) | {:.1} s | {daily_peak:.0} MiB |",
        daily_time.as_secs_f64()
    );
    println!(
        "\ndaily refresh / full build = {:.1}%",
        100.0 * daily_time.as_secs_f64() / full_time.as_secs_f64()
    );
    if refreshed != expected {
        return Err(format!(
            "the daily refresh's membership differs from a full build's:\nfull build:\n{expected}\ndaily refresh:\n{refreshed}"
        )
        .into());
    }
    println!("membership on {day} equals the full build's:\n{refreshed}");
    Ok(())
}
