//! Why a command failed, and the one place a failure becomes stderr text and an
//! exit status ([`CliError::report`], called from `main` only).
//!
//! Commands return `Result<Decided, CliError>`: a decision (`crate::exit_code`
//! maps it to 0/1/3/4) or a failure mapped here: bad usage or input pgtls cannot
//! evaluate exits 2, a failed operation 1, a closed stdout 141.

use std::path::Path;
use std::process::ExitCode;

use pgtls_core::Error;

use crate::EXIT_USAGE;

/// Exit status of a Unix tool killed by SIGPIPE (128 + 13), as shells report it.
pub(crate) const EXIT_BROKEN_PIPE: u8 = 141;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum CliError {
    /// A pgtls-core error (exit 1).
    Core(Error),
    /// Bad usage (exit 2): `pgtls: usage error: ...`.
    Usage(String),
    /// Input pgtls cannot evaluate, or a configuration the server would not run with
    /// (exit 2): `pgtls: error: ...`.
    BadInput(String),
    /// Anything else (exit 1): `pgtls: error: ...`.
    Other(String),
    /// Writing to stdout failed. A closed pipe (`pgtls ... | head -1`) ends quietly
    /// with 141, as a tool killed by SIGPIPE would; any other write error is reported
    /// and exits 1.
    Stdout(std::io::Error),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidParameter { .. } => Self::Usage(chain(&e)),
            e => Self::Core(e),
        }
    }
}

impl CliError {
    /// [`CliError::BadInput`] from anything that displays.
    pub(crate) fn bad_input(msg: impl std::fmt::Display) -> Self {
        Self::BadInput(msg.to_string())
    }

    pub(crate) fn io(action: &str, path: &Path, e: std::io::Error) -> Self {
        Self::Other(format!("{action} {}: {e}", path.display()))
    }

    /// The message without the `pgtls: ...` prefix.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Core(e) => core_message(e),
            Self::Usage(m) | Self::BadInput(m) | Self::Other(m) => m.clone(),
            Self::Stdout(e) => format!("cannot write to stdout: {e}"),
        }
    }

    /// Prints the failure on stderr and gives its exit status.
    pub(crate) fn report(&self) -> ExitCode {
        match self {
            Self::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                ExitCode::from(EXIT_BROKEN_PIPE)
            }
            Self::Usage(m) => {
                eprintln!("pgtls: usage error: {m}");
                ExitCode::from(EXIT_USAGE)
            }
            Self::BadInput(_) => {
                eprintln!("pgtls: error: {}", self.message());
                ExitCode::from(EXIT_USAGE)
            }
            Self::Core(_) | Self::Other(_) | Self::Stdout(_) => {
                eprintln!("pgtls: error: {}", self.message());
                ExitCode::FAILURE
            }
        }
    }
}

/// A pgtls-core error as the CLI prints it: the error and its causes, with the CLI's
/// own hint where it has one.
pub(crate) fn core_message(e: &Error) -> String {
    let mut s = chain(e);
    if matches!(e, Error::FileExists { .. }) {
        s.push_str(" (use --force to replace it)");
    }
    s
}

/// The error and its causes, `: `-separated.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
