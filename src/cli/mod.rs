//! The command-line interface: argument parsing, one module per command,
//! terminal output, and exit codes. Everything here may print; nothing in the
//! library does.

mod args;
mod build;
mod debug;
mod export;
mod init;
mod ls;
mod output;
mod sample_data;
mod schedule;
mod segment_health;
mod segments;
mod setup;
mod show;
mod test;
mod upload;
mod validate;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use cohort::Error;
use output::Printer;

/// Exit codes.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A first build keeps one file open per partition it writes, and the
    // usual soft limit of 1,024 is below a few years of days.
    cohort::open_files::raise_soft_limit(65_536);
    let printer = Printer::new(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&Error::execution(cohort::Diagnostic::new(format!(
                "cannot start the async runtime: {e}"
            ))));
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let outcome = runtime.block_on(dispatch(&cli, &printer));
    // Work abandoned by an interrupt must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            printer.error(&error);
            ExitCode::from(match error {
                Error::Config(_) => EXIT_CONFIG,
                Error::Execution(_) => EXIT_FAILED,
                Error::Interrupted => EXIT_INTERRUPTED,
            })
        }
    }
}

async fn dispatch(cli: &Cli, printer: &Printer) -> Result<u8, Error> {
    let global = &cli.global;
    match &cli.command {
        Command::Init { dir } => init::run(dir, printer),
        Command::Ls { select, output } => ls::run(global, select, *output, printer),
        Command::Compile {
            select,
            check,
            dry_run,
        } => build::compile(global, select, *check, *dry_run, printer).await,
        Command::Validate { select } => build::compile(global, select, false, true, printer).await,
        Command::UploadSources => upload::run(global, printer).await,
        Command::Run(args) => build::run(global, args, "run", printer).await,
        Command::Build(args) => build::run(global, args, "build", printer).await,
        Command::Test(args) => test::run(global, args, printer).await,
        Command::Show {
            select,
            inline,
            limit,
            output,
        } => {
            show::run(
                global,
                select.as_deref(),
                inline.as_deref(),
                *limit,
                *output,
                printer,
            )
            .await
        }
        Command::Segments { command } => segments::run(global, command, printer).await,
        Command::Schedule { command } => schedule::run(global, command, printer).await,
        Command::Export(args) => export::run(global, args, printer).await,
        Command::Debug => debug::run(global, printer).await,
        Command::SampleData {
            customers,
            seed,
            out,
            as_of,
        } => sample_data::run(global, *customers, *seed, out, *as_of, printer),
    }
}
