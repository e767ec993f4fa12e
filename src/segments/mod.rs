//! Working with the daily segment tables once they are built.
//!
//! - [`health`]: size, share, overlap, revenue and recent movement per segment.

pub mod health;
