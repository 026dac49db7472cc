//! `pgtls version`.

use crate::error::Failure;

/// Prints the pgtls version.
pub(crate) fn run() -> Result<(), Failure> {
    println!("pgtls {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
