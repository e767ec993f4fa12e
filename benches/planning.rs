//! Benchmark: the local engine's per-model overhead — parse the compiled
//! BigQuery SQL, translate it, and plan it on DataFusion — for every model of
//! the example project. Also times project load + compile.
//!
//! Run: `cargo bench --bench planning` (prints medians of repeated runs).

use std::path::Path;
use std::time::{Duration, Instant};

use cohort::compile;
use cohort::engine::local::{LocalEngine, LocalSettings};
use cohort::profile::Target;
use cohort::project::{LoadOptions, Project};
use cohort::sample::{self, SampleOptions};
use cohort::sql::{self, TranslateOptions};

/// Timed repetitions per measurement; `COHORT_BENCH_RUNS` overrides it
/// (e.g. 1 under valgrind's callgrind, which counts instructions).
fn runs() -> usize {
    std::env::var("COHORT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).ok_or("date")?;
    let scratch = tempfile::tempdir()?;
    let data = scratch.path().join("data");
    sample::generate(&SampleOptions {
        customers: 200,
        seed: 1,
        as_of,
        out: data.clone(),
    })?;
    let options = LoadOptions {
        vars_override: Some(format!(
            "{{as_of: 2026-11-23, data_dir: '{}'}}",
            data.display()
        )),
        today: Some(as_of),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Target::default_local();

    let load_compile = median(
        (0..runs().min(50))
            .map(|_| {
                let t = Instant::now();
                let project = Project::load(root, &options).expect("load");
                compile::compile(&project, &target).expect("compile");
                t.elapsed()
            })
            .collect(),
    );
    println!(
        "load + compile example project (5 models, 4 segments): {:>9.3} ms (median of 50)",
        load_compile.as_secs_f64() * 1e3
    );

    let project = Project::load(root, &options)?;
    let compiled = compile::compile(&project, &target)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let settings = LocalSettings {
        root: scratch.path().join("local"),
        memory_limit: None,
        spill_dir: None,
        as_of: Some(as_of),
        full_refresh: false,
    };
    let engine = runtime.block_on(LocalEngine::open(&settings, &compiled))?;
    let state = engine.context().state();
    let translate = TranslateOptions {
        current_date: Some(as_of),
    };
    println!(
        "{:<20} {:>12} {:>12} {:>12}",
        "model", "parse", "translate", "plan (all)"
    );
    for name in compiled.graph.order() {
        let node = &compiled.nodes[name];
        let parse = median(
            (0..runs())
                .map(|_| {
                    let t = Instant::now();
                    let _ = sql::parse::parse_bigquery(&node.sql).expect("parse");
                    t.elapsed()
                })
                .collect(),
        );
        let statement = sql::parse::parse_single(&node.sql)?;
        let translate_time = median(
            (0..runs())
                .map(|_| {
                    let t = Instant::now();
                    let _ = sql::translate::to_datafusion(statement.clone(), &translate)
                        .expect("translate");
                    t.elapsed()
                })
                .collect(),
        );
        let plan = median(
            (0..runs())
                .map(|_| {
                    let t = Instant::now();
                    let _ = runtime
                        .block_on(sql::plan_query(&state, &node.sql, &translate))
                        .expect("plan");
                    t.elapsed()
                })
                .collect(),
        );
        println!(
            "{:<20} {:>9.3} ms {:>9.3} ms {:>9.3} ms",
            name,
            parse.as_secs_f64() * 1e3,
            translate_time.as_secs_f64() * 1e3,
            plan.as_secs_f64() * 1e3
        );
        // The engine must stay usable: build each model so the next one plans against real tables.
        runtime.block_on(cohort::engine::Engine::materialize(&engine, node))?;
    }
    Ok(())
}
