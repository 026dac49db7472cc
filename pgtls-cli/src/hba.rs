//! `pgtls hba ...` (owned by pgtls-hba's work).

use std::process::ExitCode;

use clap::Subcommand;

/// `pgtls hba` subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {}

pub(crate) fn run(cmd: Command) -> ExitCode {
    match cmd {}
}
