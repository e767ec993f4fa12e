//! `cohort sample-data`: deterministic raw tables for the example project.

use std::path::Path;

use cohort::error::Result;
use cohort::sample::{self, SampleOptions};
use serde_json::json;

use super::EXIT_OK;
use super::args::GlobalArgs;
use super::output::{Printer, thousands};

pub fn run(
    _global: &GlobalArgs,
    customers: u64,
    seed: u64,
    out: &Path,
    as_of: Option<chrono::NaiveDate>,
    printer: &Printer,
) -> Result<u8> {
    let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
    let started = std::time::Instant::now();
    let summary = sample::generate(&SampleOptions {
        customers,
        seed,
        as_of,
        out: out.to_path_buf(),
    })?;
    for (table, rows) in &summary.tables {
        printer.info(&format!("{table:<24} {:>12} rows", thousands(*rows)));
    }
    printer.info(&format!(
        "Wrote sample data for {} customers (seed {seed}, as of {as_of}) to {} in {:.2}s",
        thousands(customers),
        out.display(),
        started.elapsed().as_secs_f64()
    ));
    printer.event(json!({"event": "sample_data_generated", "tables": summary.tables, "out": out}));
    Ok(EXIT_OK)
}
