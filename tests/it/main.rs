//! Integration tests: the real `cohort` binary driven in temp dirs.

mod build;
mod compile;
mod conformance;
mod errors;
mod export;
mod incremental;
mod init;
mod interrupt;
mod segment_daily;
mod segments;
mod select;
mod show;
mod support;
mod testing;
