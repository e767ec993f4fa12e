//! The `cohort` executable: parse arguments, run the command, map the
//! outcome to an exit code (0 ok, 1 a model failed, 2 usage or configuration
//! error, 130 interrupted).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
