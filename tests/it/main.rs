//! Integration tests: the real `cohort` binary driven in temp dirs.

mod bigquery;
mod build;
mod compile;
mod conformance;
mod emulator;
mod errors;
mod export;
mod incremental;
mod init;
mod interrupt;
mod schedule;
mod segment_daily;
mod segments;
mod select;
mod show;
mod support;
#[path = "../../benches/support/synthetic.rs"]
mod synthetic;
mod testing;
