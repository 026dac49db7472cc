//! `pgtls version`.

use crate::error::CliError;

/// Prints the pgtls version.
pub(crate) fn run() -> Result<(), CliError> {
    outln!("pgtls {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
