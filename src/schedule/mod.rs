//! Scheduled daily refreshes: schedules declared in `schedules/*.yml`
//! ([`config`]), their cron expressions ([`cron`]), which days are due at a
//! given time ([`due`]), the state of past runs ([`state`]) kept in the
//! target folder or Cloud Storage ([`store`]), the lock that keeps two runs
//! from overlapping ([`lock`]) and the results of each day-run
//! ([`history`]). Running a day is the CLI's job.

pub mod config;
pub mod cron;
pub mod due;
pub mod history;
pub mod lock;
pub mod state;
pub mod store;

pub use config::Schedule;
