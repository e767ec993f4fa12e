//! Deterministic sample data for the example project (`cohort sample-data`).
//!
//! [`generate`] writes four Parquet files, `raw_customers`, `raw_sessions`,
//! `raw_transactions` and `raw_campaign_touches`, with the schemas of the
//! data contract and the dirt real sources have (duplicates, odd case,
//! padding, NULLs, national phone formats). Customers follow personas
//! (`persona.rs`) so that the example's segments are populated.
//!
//! Output is byte-for-byte identical for the same `(customers, seed, as_of)`:
//! the random numbers come from our own xoshiro256** (`rng.rs`), drawn from
//! streams derived from `(seed, customer_id)`. Rows are generated one
//! customer at a time and streamed in record batches to one writer thread per
//! file, so memory stays bounded for millions of customers. Each file is
//! written under a temporary name and renamed into place once all four are
//! complete.

mod address;
mod clock;
mod customers;
mod cut;
mod email;
mod generator;
mod names;
mod persona;
mod phone;
mod rng;
mod schema;
mod sessions;
mod table;
mod touches;
mod transactions;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::thread::ScopedJoinHandle;

use datafusion::arrow::record_batch::RecordBatch;

use crate::{Diagnostic, Error};
use clock::Clock;
use customers::{CustomerBatch, CustomerRow};
pub use cut::arrived_before;
use generator::{Activity, Generator};
use sessions::SessionBatch;
use table::{BATCH_ROWS, Feed, feed};
use touches::TouchBatch;
use transactions::TransactionBatch;
use writer::{FinishedFile, ParquetFile};

/// The tables written, in file order.
pub const TABLES: [&str; 4] = [
    schema::CONTRACT[0].name,
    schema::CONTRACT[1].name,
    schema::CONTRACT[2].name,
    schema::CONTRACT[3].name,
];

/// The most customers one run may generate (ids and memory stay far from limits).
pub const MAX_CUSTOMERS: u64 = 100_000_000;

/// Customers whose second CRM records are written together, after them.
const CHUNK_CUSTOMERS: u64 = 4_096;

/// What to generate, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    /// Number of customers (ids 1..=customers).
    pub customers: u64,
    /// Seed of all randomness: same seed, same bytes.
    pub seed: u64,
    /// The day the data ends: every timestamp is in the 400 days up to and
    /// including it.
    pub as_of: chrono::NaiveDate,
    /// Directory for the Parquet files (created if missing).
    pub out: PathBuf,
}

/// What was written: each table and its row count, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSummary {
    pub tables: Vec<(String, u64)>,
}

/// Generates the sample tables into `opts.out`.
///
/// Fails with a config error for impossible options (no customers, too many,
/// an `as_of` at the edge of the calendar) and an execution error when a file
/// cannot be written; then no file is left under its final name.
pub fn generate(opts: &SampleOptions) -> Result<SampleSummary, Error> {
    let clock = validate(opts)?;
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| Error::io("create the output directory", &opts.out, e))?;
    let files = create_files(&opts.out)?;
    let finished = write_tables(opts, clock, files)?;
    publish(finished)
}

/// Checks the options; returns the calendar of `as_of`.
fn validate(opts: &SampleOptions) -> Result<Clock, Error> {
    if opts.customers == 0 || opts.customers > MAX_CUSTOMERS {
        return Err(Error::config(
            Diagnostic::new(format!(
                "cannot generate {} customers: the number must be between 1 and {MAX_CUSTOMERS}",
                opts.customers
            ))
            .help("the example project uses 5000 customers"),
        ));
    }
    Clock::new(opts.as_of).ok_or_else(|| {
        Error::config(
            Diagnostic::new(format!("as-of date {} is out of range", opts.as_of))
                .help("use a date like 2026-11-23"),
        )
    })
}

/// The four files, under temporary names, in [`TABLES`] order.
fn create_files(dir: &Path) -> Result<Vec<ParquetFile>, Error> {
    schema::CONTRACT
        .iter()
        .map(|table| ParquetFile::create(dir, table))
        .collect()
}

/// Generates all rows on this thread while one thread per file writes them.
fn write_tables(
    opts: &SampleOptions,
    clock: Clock,
    files: Vec<ParquetFile>,
) -> Result<Vec<(FinishedFile, u64)>, Error> {
    let (feeds, receivers) = Feeds::new();
    std::thread::scope(|scope| {
        let writers: Vec<_> = files
            .into_iter()
            .zip(receivers)
            .map(|(file, receiver)| scope.spawn(move || table::drain(file, receiver)))
            .collect();
        let generated = feeds.run(opts, clock);
        let written: Vec<_> = writers.into_iter().map(join_writer).collect();
        outcome(generated, written)
    })
}

/// A writer thread's result (a panic becomes an error).
fn join_writer(
    handle: ScopedJoinHandle<'_, Result<(FinishedFile, u64), Error>>,
) -> Result<(FinishedFile, u64), Error> {
    handle.join().unwrap_or_else(|_| {
        Err(Error::execution(Diagnostic::new(
            "a sample data writer thread panicked",
        )))
    })
}

/// The finished files if generation and every writer succeeded, else the
/// first error (unpublished files are removed when dropped).
fn outcome(
    generated: Result<bool, Error>,
    written: Vec<Result<(FinishedFile, u64), Error>>,
) -> Result<Vec<(FinishedFile, u64)>, Error> {
    let complete = generated?;
    let finished = written.into_iter().collect::<Result<Vec<_>, _>>()?;
    if !complete {
        return Err(Error::execution(Diagnostic::new(
            "sample data generation stopped before all rows were written",
        )));
    }
    Ok(finished)
}

/// Renames every finished file into place; the summary of what was written.
fn publish(finished: Vec<(FinishedFile, u64)>) -> Result<SampleSummary, Error> {
    let mut tables = Vec::with_capacity(finished.len());
    for (file, rows) in finished {
        let table = file.table().to_string();
        file.publish()?;
        tables.push((table, rows));
    }
    Ok(SampleSummary { tables })
}

/// The generating side of all four tables.
struct Feeds {
    customers: Feed<CustomerBatch>,
    sessions: Feed<SessionBatch>,
    transactions: Feed<TransactionBatch>,
    touches: Feed<TouchBatch>,
}

impl Feeds {
    /// The feeds, and their writers' receivers in [`TABLES`] order.
    fn new() -> (Feeds, Vec<Receiver<RecordBatch>>) {
        let (customers, c) = feed(TABLES[0], CustomerBatch::new(BATCH_ROWS));
        let (sessions, s) = feed(TABLES[1], SessionBatch::new(BATCH_ROWS));
        let (transactions, t) = feed(TABLES[2], TransactionBatch::new(BATCH_ROWS));
        let (touches, a) = feed(TABLES[3], TouchBatch::new(BATCH_ROWS));
        let feeds = Feeds {
            customers,
            sessions,
            transactions,
            touches,
        };
        (feeds, vec![c, s, t, a])
    }

    /// Generates every customer; returns false if a writer stopped early.
    /// Consumes the feeds so that the writers see the end of their input.
    fn run(mut self, opts: &SampleOptions, clock: Clock) -> Result<bool, Error> {
        let mut generator = Generator::new(opts.seed, opts.customers, clock);
        let mut activity = Activity::default();
        let mut resyncs: Vec<CustomerRow> = Vec::new();
        for customer_id in 1..=opts.customers {
            generator.fill(customer_id, &mut activity);
            self.push(&activity);
            resyncs.extend(activity.resync.take());
            if customer_id % CHUNK_CUSTOMERS == 0 || customer_id == opts.customers {
                resyncs
                    .drain(..)
                    .for_each(|row| self.customers.batch.push(&row));
            }
            if !self.flush_full()? {
                return Ok(false);
            }
        }
        self.flush_all()
    }

    /// Appends one customer's rows to the builders.
    fn push(&mut self, activity: &Activity) {
        if let Some(customer) = &activity.customer {
            self.customers.batch.push(customer);
        }
        self.sessions.batch.push_all(&activity.sessions);
        for row in &activity.transactions {
            self.transactions.batch.push(row);
        }
        for row in &activity.touches {
            self.touches.batch.push(row);
        }
    }

    /// Sends every full batch; false if a writer stopped.
    fn flush_full(&mut self) -> Result<bool, Error> {
        Ok(self.customers.flush_if_full()?
            & self.sessions.flush_if_full()?
            & self.transactions.flush_if_full()?
            & self.touches.flush_if_full()?)
    }

    /// Sends the remaining rows; false if a writer stopped.
    fn flush_all(&mut self) -> Result<bool, Error> {
        Ok(self.customers.flush()?
            & self.sessions.flush()?
            & self.transactions.flush()?
            & self.touches.flush()?)
    }
}

#[cfg(test)]
mod tests;
