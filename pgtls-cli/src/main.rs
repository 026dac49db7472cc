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

mod doctor;
mod hba;
mod pki;
mod verify;

/// Exit status for bad usage (clap also exits with 2).
pub(crate) const EXIT_USAGE: u8 = 2;

/// What a decision command found, for its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decided {
    /// libpq connects, the server authenticates, a pg_hba line admits, a
    /// map allows, no error finding.
    Accept,
    /// A refusal (or an error finding).
    Reject,
    /// `hba check`: the file would not load.
    NotLoaded,
    /// pgtls cannot decide the way PostgreSQL would.
    Undecided,
}

impl From<&pgtls_verify::Verdict> for Decided {
    fn from(v: &pgtls_verify::Verdict) -> Self {
        match v.outcome {
            pgtls_verify::ClientOutcome::Accept => Self::Accept,
            _ => Self::Reject,
        }
    }
}

impl From<&pgtls_verify::server::ServerDecision> for Decided {
    fn from(d: &pgtls_verify::server::ServerDecision) -> Self {
        use pgtls_verify::server::ServerOutcome;
        match d.outcome {
            ServerOutcome::Accept => Self::Accept,
            ServerOutcome::Undecided { .. } => Self::Undecided,
            _ => Self::Reject,
        }
    }
}

impl From<pgtls_hba::HbaVerdict> for Decided {
    fn from(v: pgtls_hba::HbaVerdict) -> Self {
        use pgtls_hba::HbaVerdict;
        match v {
            HbaVerdict::Match => Self::Accept,
            HbaVerdict::NotLoaded => Self::NotLoaded,
            HbaVerdict::Undecided => Self::Undecided,
            _ => Self::Reject,
        }
    }
}

impl From<&pgtls_hba::UsermapOutcome> for Decided {
    fn from(o: &pgtls_hba::UsermapOutcome) -> Self {
        use pgtls_hba::UsermapOutcome;
        match o {
            UsermapOutcome::Allowed => Self::Accept,
            UsermapOutcome::Denied | UsermapOutcome::Error => Self::Reject,
            _ => Self::Undecided,
        }
    }
}

/// The one place a decision becomes an exit status (the command-line
/// contracts: `verify server` 0/1, `verify client` 0/1 and 4 when undecided,
/// `hba check` 0/1/3 and 4 when undecided, `hba map` 0/1/4, `hba lint` 0/1;
/// 2 is bad usage everywhere).
pub(crate) fn exit_code(d: impl Into<Decided>) -> ExitCode {
    ExitCode::from(match d.into() {
        Decided::Accept => 0,
        Decided::Reject => 1,
        Decided::NotLoaded => 3,
        Decided::Undecided => 4,
    })
}

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
    /// Check a data directory's TLS setup as the server would find it: findings with fixes.
    Doctor(doctor::DoctorArgs),
}

/// Exit status of a Unix tool killed by SIGPIPE (128 + 13), as shells report it.
const EXIT_BROKEN_PIPE: i32 = 141;

/// `pgtls hba rules F | head -1` closes the pipe early: Rust ignores SIGPIPE, so
/// `println!` panics on EPIPE. End quietly with the status a Unix tool killed by
/// SIGPIPE has, instead of a panic message and status 101.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if text.starts_with("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    match cli.command {
        Command::Pki(cmd) => pki::run(cmd),
        Command::Hba { command } => hba::run(command),
        Command::Verify { command } => verify::run(command),
        Command::Probe(args) => verify::probe(args),
        Command::Doctor(args) => doctor::run(&args),
    }
}
