//! `pgtls`: create a PostgreSQL CA and certificates, model pg_hba.conf, and
//! answer what libpq and the server would decide.
//!
//! This crate adds no logic: argument parsing, files, output and exit codes.
//! Each command lives in its own module under [`cmd`], laid out as the clap tree
//! (`cmd::ca::create` is `pgtls ca create`); the argument groups several commands
//! share are in [`args`], errors and their exit statuses in [`error`].

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[macro_use]
mod output;
mod args;
mod cmd;
mod error;
mod pki;

use error::CliError;

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
    /// Print the pgtls version.
    Version,
    /// Create a certificate authority store (root, or intermediate under another store),
    /// import one, or check one.
    Ca {
        #[command(subcommand)]
        command: cmd::ca::CaCommand,
    },
    /// Generate a private key (PKCS#8, optionally encrypted).
    Key(cmd::key::KeyArgs),
    /// Create a certificate signing request (with an existing or a new key).
    Csr(cmd::csr::CsrArgs),
    /// Sign a CSR with a store's CA (the CSR's requested extensions are ignored).
    Sign(cmd::sign::SignArgs),
    /// Issue a server or client certificate with a new key, directly from a store.
    Issue {
        #[command(subcommand)]
        command: cmd::issue::IssueCommand,
    },
    /// Revoke a certificate of a store by serial or certificate file.
    Revoke(cmd::revoke::RevokeArgs),
    /// Generate the store's CRL (next CRL number) and write it.
    Crl(cmd::crl::CrlArgs),
    /// Summarise a certificate, chain, CSR, CRL or key.
    Inspect(cmd::inspect::InspectArgs),
    /// Report the expiry of every certificate of a store, and of its CRL.
    Expiry(cmd::expiry::ExpiryArgs),
    /// Create a CA, server and client certificates and a CRL for PostgreSQL in one go.
    Quickstart(cmd::quickstart::QuickstartArgs),
    /// Read, evaluate, lint and edit pg_hba.conf / pg_ident.conf as the server does.
    Hba {
        #[command(subcommand)]
        command: cmd::hba::Command,
    },
    /// Decide as libpq (server certificate) or the server (client certificate) would.
    Verify {
        #[command(subcommand)]
        command: cmd::verify::Command,
    },
    /// Connect to a running server and report, per sslmode, whether libpq would connect;
    /// whether it admits the user without TLS; optionally log in with a client certificate.
    Probe(cmd::probe::ProbeArgs),
    /// Check a data directory's TLS setup as the server would find it: findings with fixes.
    Doctor(cmd::doctor::DoctorArgs),
    /// Merge, compare and list PEM trust bundles and CRL bundles (old and new CA).
    Bundle {
        #[command(subcommand)]
        command: cmd::bundle::BundleCommand,
    },
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(cmd::completions::CompletionsArgs),
    /// Print the manual page, or write one page per command with --out DIR.
    Man(cmd::man::ManArgs),
    /// A server certificate rotation, client by client: check it, and plan its stages.
    Rotation {
        #[command(subcommand)]
        command: cmd::rotation::Command,
    },
    /// Connect to a running server and report its TLS settings, the sessions without TLS,
    /// its pg_hba.conf through the linter and the served chain's expiry.
    Audit(cmd::audit::AuditArgs),
}

/// Runs a command: its decision, or why it failed.
fn run(command: Command) -> Result<Decided, CliError> {
    use cmd::ca::CaCommand;
    let now = time::OffsetDateTime::now_utc();
    let done = |r: Result<(), CliError>| r.map(|()| Decided::Accept);
    match command {
        Command::Version => done(cmd::version::run()),
        Command::Ca {
            command: CaCommand::Create(a),
        } => done(cmd::ca::create::run(&a, now)),
        Command::Ca {
            command: CaCommand::Import(a),
        } => done(cmd::ca::import::run(&a)),
        Command::Ca {
            command: CaCommand::Check(a),
        } => done(cmd::ca::check::run(&a, now)),
        Command::Key(a) => done(cmd::key::run(&a)),
        Command::Csr(a) => done(cmd::csr::run(&a)),
        Command::Sign(a) => done(cmd::sign::run(&a, now)),
        Command::Issue { command } => done(cmd::issue::run(&command, now)),
        Command::Revoke(a) => done(cmd::revoke::run(&a, now)),
        Command::Crl(a) => done(cmd::crl::run(&a, now)),
        Command::Inspect(a) => done(cmd::inspect::run(&a, now)),
        Command::Expiry(a) => done(cmd::expiry::run(&a, now)),
        Command::Quickstart(a) => cmd::quickstart::run(&a, now),
        Command::Hba { command } => cmd::hba::run(command),
        Command::Verify { command } => cmd::verify::run(command),
        Command::Probe(args) => cmd::probe::run(&args),
        Command::Doctor(args) => cmd::doctor::run(&args),
        Command::Bundle { command } => cmd::bundle::run(&command),
        Command::Completions(a) => done(cmd::completions::run(&a, Cli::command())),
        Command::Man(a) => done(cmd::man::run(&a, Cli::command())),
        Command::Rotation { command } => cmd::rotation::run(command),
        Command::Audit(args) => cmd::audit::run(&args),
    }
}

/// Runs the command and maps its result to the exit status, the one place that does.
///
/// Rust ignores SIGPIPE, so a closed stdout (`pgtls hba rules F | head -1`) is a
/// write error (EPIPE): every command prints through `outln!`/`out!`, which return
/// it as [`CliError::Stdout`], and it ends quietly with 141 (what a Unix tool
/// killed by SIGPIPE reports); another write error on stdout (a full disk) is
/// reported on stderr and exits 1.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli.command).and_then(|d| {
        // What is still buffered: a write error here is a write error of the command.
        std::io::Write::flush(&mut std::io::stdout()).map_err(CliError::Stdout)?;
        Ok(d)
    });
    match result {
        Ok(d) => exit_code(d),
        Err(e) => e.report(),
    }
}
