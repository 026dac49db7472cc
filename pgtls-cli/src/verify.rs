//! `pgtls verify ...` and `pgtls probe` (owned by pgtls-verify's work).

use std::process::ExitCode;

use clap::{Args, Subcommand};

/// `pgtls verify` subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {}

/// `pgtls probe HOST[:PORT]`.
#[derive(Args)]
pub(crate) struct ProbeArgs {
    /// HOST[:PORT] of the server to probe.
    target: String,
}

pub(crate) fn run(cmd: Command) -> ExitCode {
    match cmd {}
}

pub(crate) fn probe(args: ProbeArgs) -> ExitCode {
    eprintln!("pgtls probe {}: not built yet", args.target);
    ExitCode::from(crate::EXIT_USAGE)
}
