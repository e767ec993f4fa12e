//! Scheduled daily refreshes: schedules declared in `schedules/*.yml`
//! ([`config`]), their cron expressions ([`cron`]), which days are due at a
//! given time ([`due`]), the state of past runs ([`state`]) and the lock that
//! keeps two runs from overlapping ([`lock`]). Running a day is the CLI's job.

pub mod config;
pub mod cron;
pub mod due;
pub mod lock;
pub mod state;

pub use config::Schedule;
