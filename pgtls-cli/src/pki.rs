//! PKI subcommands (owned by pgtls-core's work).

use std::process::ExitCode;

use clap::Subcommand;

/// The top-level PKI subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Print the pgtls version.
    Version,
}

pub(crate) fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Version => {
            println!("pgtls {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
    }
}
