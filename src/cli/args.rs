//! Command-line arguments (clap types only; no behaviour).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cohort",
    version,
    about = "Marketing data models and audience segments: BigQuery SQL, built on BigQuery or locally on DataFusion",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Flags every command accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// The project folder (holding cohort.yml).
    #[arg(long, global = true, default_value = ".", env = "COHORT_PROJECT_DIR")]
    pub project_dir: PathBuf,
    /// Where profiles.yml is (default: the project folder, then ~/.cohort/).
    #[arg(long, global = true, env = "COHORT_PROFILES_DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// The target in the profile to use.
    #[arg(long, short = 't', global = true, env = "COHORT_TARGET")]
    pub target: Option<String>,
    /// Variables as YAML, e.g. '{as_of: 2026-11-23, data_dir: /data}'.
    #[arg(long, global = true)]
    pub vars: Option<String>,
    /// Print only errors and the final summary.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// `text` for people, `json` for one JSON event per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Which nodes a command acts on.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Nodes to include: `name`, `+name`, `name+`, `tag:x`, `path:dir` (space or comma separated).
    #[arg(long, short = 's', num_args = 1..)]
    pub select: Vec<String>,
    /// Nodes to leave out (same syntax).
    #[arg(long, num_args = 1..)]
    pub exclude: Vec<String>,
}

impl SelectArgs {
    /// True when neither `--select` nor `--exclude` is given.
    pub fn is_everything(&self) -> bool {
        self.select.is_empty() && self.exclude.is_empty()
    }
}

/// Flags of commands that build.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Models built at once (default: the target's `threads`, else 4).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Rebuild incremental models from scratch.
    #[arg(long)]
    pub full_refresh: bool,
    /// Write the data tests' results as JUnit XML to this file (`build`).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Keep each failing test's rows as a table in `<dataset>_test_failures` (`build`).
    #[arg(long)]
    pub store_failures: bool,
}

/// Flags of `cohort test`.
#[derive(Debug, Args, Clone)]
pub struct TestArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Write the results as JUnit XML to this file.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Keep each failing test's rows as a table in `<dataset>_test_failures`.
    #[arg(long)]
    pub store_failures: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, working project in DIR.
    Init { dir: PathBuf },
    /// List the project's nodes.
    Ls {
        #[command(flatten)]
        select: SelectArgs,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t = ListOutput::Text)]
        output: ListOutput,
    },
    /// Compile every model to BigQuery SQL under target/.
    Compile {
        #[command(flatten)]
        select: SelectArgs,
        /// Also plan the selected nodes on the local engine (segments checked
        /// against their upstream columns), without building anything.
        #[arg(long)]
        check: bool,
        /// Dry-run every selected model on the BigQuery target: valid or
        /// its error, and the bytes it would process. Nothing runs.
        #[arg(long, conflicts_with = "check")]
        dry_run: bool,
    },
    /// Dry-run the selected models on the BigQuery target (same as `compile --dry-run`).
    Validate {
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Load the sources' local files (such as the sample data) into their tables on the BigQuery target.
    UploadSources,
    /// Build the selected models.
    Run(RunArgs),
    /// Build the selected models, running each one's data tests right after it.
    Build(RunArgs),
    /// Run the data tests of the selected nodes (on the tables already built).
    Test(TestArgs),
    /// Preview a model's rows or run ad-hoc BigQuery SQL.
    Show {
        /// The model to preview.
        #[arg(long, short = 's', conflicts_with = "inline")]
        select: Option<String>,
        /// BigQuery SQL to run (Jinja allowed: ref(), source(), var()).
        #[arg(long)]
        inline: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = ShowOutput::Table)]
        output: ShowOutput,
    },
    /// Audience segments: refresh the daily segment tables.
    Segments {
        #[command(subcommand)]
        command: SegmentsCommand,
    },
    /// Scheduled daily refreshes (schedules/*.yml): list them, run what is due, install a trigger.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Write Customer Match files (normalized, hashed, consent-checked) for a segment snapshot.
    Export(ExportArgs),
    /// Check the project, the profile and the connection.
    Debug,
    /// Write deterministic sample data (the example project's four raw tables) as Parquet.
    SampleData {
        /// Number of customers.
        #[arg(long, default_value_t = 5_000)]
        customers: u64,
        /// Random seed: the same seed gives the same files.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// The last day of data (default: today, or vars.as_of).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SegmentsCommand {
    /// Build the segments (and what they read) as of a day, then replace that
    /// day in segment_membership, segment_changes and segment_daily_stats.
    Refresh(RefreshArgs),
    /// Every segment's size, share, recent movement and drift status (latest snapshot).
    List {
        #[arg(long, value_enum, default_value_t = ListOutput::Text)]
        output: ListOutput,
    },
    /// One segment's health and its overlap with the others.
    Show {
        /// The segment (`high_intent` or `segment_high_intent`).
        name: String,
        #[arg(long, value_enum, default_value_t = ListOutput::Text)]
        output: ListOutput,
    },
    /// Every segment's health with the overlap matrix and average revenue.
    Profile {
        #[arg(long, value_enum, default_value_t = ListOutput::Text)]
        output: ListOutput,
    },
}

/// Flags of `cohort segments refresh`.
#[derive(Debug, Args, Clone)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// The day to refresh (default: as_of).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub date: Option<chrono::NaiveDate>,
    /// Backfill: the first day (with --to).
    #[arg(long, requires = "to")]
    pub from: Option<chrono::NaiveDate>,
    /// Backfill: the last day (with --from).
    #[arg(long, requires = "from")]
    pub to: Option<chrono::NaiveDate>,
    /// Accept size swings beyond a segment's max_daily_change (unblocks its exports).
    #[arg(long)]
    pub accept_drift: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Each schedule: its next run times, what is due now, the last run and its status.
    List {
        #[arg(long, value_enum, default_value_t = ListOutput::Text)]
        output: ListOutput,
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// Run every day that is due since each schedule's last successful day
    /// (oldest first, within catch_up), then stop. Safe to call every few minutes.
    RunDue {
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// The same as run-due in a loop for containers: run what is due, sleep
    /// until the next run time, repeat. SIGTERM or Ctrl-C while waiting exits 0.
    Daemon {
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// Print a ready-to-use trigger that calls `cohort schedule run-due` every 15 minutes.
    Install(InstallArgs),
}

/// The clock of schedule commands.
#[derive(Debug, Args, Clone, Default)]
pub struct ClockArgs {
    /// Take this RFC 3339 time as the current time (for tests and dry checks).
    #[arg(long, hide = true, env = "COHORT_NOW", value_name = "RFC3339")]
    pub now: Option<String>,
}

/// Flags of `cohort schedule install` (exactly one).
#[derive(Debug, Args, Clone)]
#[group(required = true, multiple = false)]
pub struct InstallArgs {
    /// A crontab line.
    #[arg(long)]
    pub crontab: bool,
    /// A systemd service and timer unit.
    #[arg(long)]
    pub systemd: bool,
    /// A GitHub Actions workflow.
    #[arg(long)]
    pub github_actions: bool,
}

/// Flags of `cohort export`.
#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// The exports to run (default: all of them).
    pub names: Vec<String>,
    /// The segment snapshot day (default: each segment's latest refreshed day).
    #[arg(long)]
    pub date: Option<chrono::NaiveDate>,
    /// Print what would be written (counts, rejects, object names); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `text`, or `json` (one document with every export's counts and objects).
    #[arg(long, value_enum, default_value_t = ListOutput::Text)]
    pub output: ListOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListOutput {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowOutput {
    Table,
    Json,
    Csv,
}
