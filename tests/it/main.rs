//! Integration tests: the real `cohort` binary driven in temp dirs.

mod build;
mod compile;
mod conformance;
mod errors;
mod init;
mod interrupt;
mod select;
mod show;
mod support;
