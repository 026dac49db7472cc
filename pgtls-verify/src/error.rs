//! pgtls-verify's own errors (input it cannot evaluate). libpq's refusals are
//! not errors: they are [`crate::Verdict`]s.

use std::path::PathBuf;

/// Input pgtls cannot evaluate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{}: cannot read", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file is malformed.
    #[error("{}: malformed PEM ({reason})", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// A chain file holds no certificate.
    #[error("{}: no certificate found (expected PEM CERTIFICATE blocks, leaf first)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A certificate could not be parsed.
    #[error("certificate {index} (0 = leaf) could not be parsed: {reason}")]
    BadCertificate {
        /// Position in the chain.
        index: usize,
        /// What is malformed.
        reason: pgtls_x509::ParseError,
    },
    /// The server's Certificate message holds no certificate.
    #[error("certificate 0 (0 = leaf) could not be parsed: the server sent no certificate")]
    NoServerCertificate,
    /// A pg_hba.conf line with `map=` was given without the pg_ident.conf the
    /// server would read for it: what the map allows cannot be known.
    #[error(
        "the pg_hba.conf line uses map={map}: the server looks the map up in its ident_file \
         (pg_ident.conf in the data directory unless ident_file says otherwise); give that file \
         (an empty file if there is none)"
    )]
    IdentNeeded {
        /// The map name.
        map: String,
    },
    /// A certificate the server side could not parse.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was being read.
        what: String,
        /// Why it failed.
        reason: String,
    },
}
