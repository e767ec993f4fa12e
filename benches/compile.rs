//! Benchmark: compile speed of large projects and CLI start-up. Generates
//! synthetic projects (`support/synthetic.rs`: SQL models with Jinja, refs,
//! a macro call and an `{% if %}` each, typed columns and two tests per
//! model, sources at the roots) and times the real binary on them:
//! `cohort compile` (render, parse, graph, tests, every artifact written) and
//! `cohort ls` (load, compile in memory, list), then `cohort ls` on the
//! example project (start-up). Prints a table of medians and peak memory.
//!
//! Run: `cargo bench --bench compile`. `COHORT_BENCH_MODELS` (default
//! `2000,20000`) sets the project sizes, `COHORT_BENCH_RUNS` (default 5) the
//! runs per measurement (the example's `ls` runs 4 times as often);
//! `COHORT_BENCH_DIR` keeps the generated projects in that folder.

#[path = "support/files.rs"]
mod files;
#[path = "support/process.rs"]
mod process;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use files::copy_tree;
use process::{BenchResult, Measured, median_of};

/// The example project's files (everything but `target/`).
const EXAMPLE_FILES: &[&str] = &[
    "cohort.yml",
    "models",
    "macros",
    "segments",
    "data_tests",
    "exports",
];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn sizes() -> Vec<usize> {
    std::env::var("COHORT_BENCH_MODELS")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|n| n.trim().replace('_', "").parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![2_000, 20_000])
}

/// Files under `dir` with the extension `ext`, recursively.
fn count_files(dir: &Path, ext: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| e.path())
        .map(|p| {
            if p.is_dir() {
                count_files(&p, ext)
            } else {
                usize::from(p.extension().is_some_and(|e| e == ext))
            }
        })
        .sum()
}

struct Row {
    what: String,
    measured: Measured,
}

fn format_time(time: Duration) -> String {
    if time < Duration::from_secs(1) {
        format!("{:.0} ms", time.as_secs_f64() * 1e3)
    } else {
        format!("{:.2} s", time.as_secs_f64())
    }
}

fn main() -> BenchResult<()> {
    let runs = env_number("COHORT_BENCH_RUNS", 5).max(1);
    let scratch = tempfile::tempdir()?;
    let work = match std::env::var_os("COHORT_BENCH_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => scratch.path().to_path_buf(),
    };
    let mut rows = Vec::new();

    for models in sizes() {
        let project = work.join(format!("synthetic-{models}"));
        if project.exists() {
            std::fs::remove_dir_all(&project)?;
        }
        let t = Instant::now();
        synthetic::write_project(&project, models)?;
        println!(
            "generated {models} models ({} tests) in {} ({:.1} s)",
            2 * models,
            project.display(),
            t.elapsed().as_secs_f64()
        );
        // One untimed run: the files in the page cache, the output checked.
        process::cohort(&project, &["compile"])?;
        let compiled = count_files(&project.join("target/compiled"), "sql");
        if compiled != 3 * models {
            return Err(format!(
                "expected {} compiled files (models and tests), found {compiled}",
                3 * models
            )
            .into());
        }
        rows.push(Row {
            what: format!("`cohort compile`, {models} models"),
            measured: median_of(&project, &["compile"], runs)?,
        });
        rows.push(Row {
            what: format!("`cohort ls`, {models} models"),
            measured: median_of(&project, &["ls"], runs)?,
        });
    }

    let example = work.join("example");
    if example.exists() {
        std::fs::remove_dir_all(&example)?;
    }
    std::fs::create_dir_all(&example)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in EXAMPLE_FILES {
        copy_tree(&root.join(name), &example.join(name))?;
    }
    process::cohort(&example, &["ls"])?;
    rows.push(Row {
        what: "`cohort ls`, example project (start-up)".into(),
        measured: median_of(&example, &["ls"], 4 * runs)?,
    });

    println!(
        "\n| command (median of {runs} runs; example: {}) | wall time | CPU time | peak memory |",
        4 * runs
    );
    println!("|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {:.0} MiB |",
            row.what,
            format_time(row.measured.elapsed),
            format_time(row.measured.cpu),
            row.measured.peak_mib
        );
    }
    Ok(())
}
