//! pgtls-x509: the one X.509 layer under pgtls-core (the PKI) and pgtls-verify (libpq's
//! and the server's decisions).
//!
//! Both crates read the same certificates, CRLs and names, and they must read them the
//! same way, the way OpenSSL (behind libpq and the PostgreSQL server) reads them:
//!
//! - [`der`]: a strict DER reader and the few encoders pgtls needs;
//! - [`pem`]: one base64 codec and the two PEM policies that are real: strict for pgtls's
//!   own inputs, and OpenSSL's `PEM_X509_INFO_read_bio` for root and CA files;
//! - [`DistinguishedName`]: exact DER, OpenSSL's canonical form and hash, and every
//!   rendering (display, `openssl` one-line, RFC 2253 as the server prints it) over one
//!   attribute table;
//! - [`signature`]: one table of signature algorithms (RSASSA-PSS parameters parsed) and
//!   verification on aws-lc-rs.
#![forbid(unsafe_code)]

pub mod der;
mod name;
pub mod pem;
pub mod signature;

pub use name::{Attribute, DistinguishedName, NameError};
