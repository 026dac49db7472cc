//! `pgtls ca ...`.

use clap::Subcommand;

pub(crate) mod check;
pub(crate) mod create;
pub(crate) mod import;

/// `pgtls ca ...`
#[derive(Subcommand)]
pub(crate) enum CaCommand {
    /// Create a new CA store in DIR.
    Create(create::CaCreateArgs),
    /// Make a store in DIR for an existing CA certificate and key (for example made by
    /// `openssl req -x509`); its subject is kept byte for byte.
    Import(import::CaImportArgs),
    /// Check a store at rest (no CA passphrase needed): every index entry has its
    /// certificate and every certificate is indexed, nothing left by a killed writer,
    /// the CA key closed to others, and crl.pem signed, current and complete. Exit 0
    /// when all is well, 1 when a problem is listed.
    Check(check::CaCheckArgs),
}
