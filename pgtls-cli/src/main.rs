//! `pgtls`: create a PostgreSQL CA and certificates, model pg_hba.conf, and
//! answer what libpq and the server would decide.
//!
//! This crate adds no logic: argument parsing, files, output and exit codes.
//! Each command group lives in its own module:
//! - [`pki`]: CA, keys, CSRs, issuance, revocation, CRLs, inspection;
//! - [`hba`]: `pgtls hba ...`;
//! - [`verify`]: `pgtls verify ...` and `pgtls probe`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod hba;
mod pki;
mod verify;

/// Exit status for bad usage (clap also exits with 2).
pub(crate) const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "pgtls",
    version,
    about = "PostgreSQL TLS done right: CA, pg_hba.conf, libpq sslmode"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Pki(pki::Command),
    /// Read, evaluate, lint and edit pg_hba.conf / pg_ident.conf as the server does.
    Hba {
        #[command(subcommand)]
        command: hba::Command,
    },
    /// Decide as libpq (server certificate) or the server (client certificate) would.
    Verify {
        #[command(subcommand)]
        command: verify::Command,
    },
    /// Connect to a running server and report, per sslmode, whether libpq would connect.
    Probe(verify::ProbeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Pki(cmd) => pki::run(cmd),
        Command::Hba { command } => hba::run(command),
        Command::Verify { command } => verify::run(command),
        Command::Probe(args) => verify::probe(args),
    }
}
