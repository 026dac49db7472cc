//! Why a command failed, and the exit status it maps to.

use std::path::Path;

use pgtls_core::Error;

/// Why a command failed.
pub(crate) enum Failure {
    /// A pgtls-core error (exit 1).
    Core(Error),
    /// Bad usage (exit 2).
    Usage(String),
    /// Anything else (exit 1).
    Other(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidParameter { .. } => Self::Usage(chain(&e)),
            e => Self::Core(e),
        }
    }
}

impl Failure {
    pub(crate) fn io(action: &str, path: &Path, e: std::io::Error) -> Self {
        Self::Other(format!("{action} {}: {e}", path.display()))
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

/// Prints a failure and maps it to the exit status: 0 ok, 1 failure, 2 usage.
pub(crate) fn report(result: Result<(), Failure>) -> std::process::ExitCode {
    use std::process::ExitCode;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Core(e)) => {
            eprintln!("pgtls: error: {}", core_message(&e));
            ExitCode::FAILURE
        }
        Err(Failure::Other(m)) => {
            eprintln!("pgtls: error: {m}");
            ExitCode::FAILURE
        }
        Err(Failure::Usage(m)) => {
            eprintln!("pgtls: usage error: {m}");
            ExitCode::from(crate::EXIT_USAGE)
        }
    }
}
