//! `pgtls version`.

use crate::error::CliError;

/// Prints the pgtls version.
pub(crate) fn run() -> Result<(), CliError> {
    println!("pgtls {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
