//! pgtls-core: the PKI of pgtls — keys, names, a certificate authority, CSRs, the
//! PostgreSQL issuance profiles, revocation and CRLs, and a CA store that `openssl ca`
//! can share.
//!
//! Generation goes through rcgen and parsing through x509-parser, but names are kept as
//! exact DER: a CA made by OpenSSL whose subject repeats an attribute type (`DC=example,
//! DC=org`) issues certificates whose issuer is that subject byte for byte. No function
//! reads the clock: `now` is a parameter.
//!
//! # Quick start
//!
//! ```
//! use pgtls_core::{Ca, CertificateParams, DistinguishedName, KeyAlgorithm, KeyPair,
//!     SubjectAltName, Validity};
//! # fn main() -> Result<(), pgtls_core::Error> {
//! let now = time::OffsetDateTime::now_utc();
//! let ca_params = CertificateParams::ca(
//!     DistinguishedName::parse_openssl("/O=Example/CN=Example PostgreSQL CA")?,
//!     Validity::days_from(now, 3650),
//!     Some(0),
//! );
//! let ca = Ca::create_root(&ca_params, KeyPair::generate(KeyAlgorithm::EcdsaP256)?)?;
//!
//! let server_key = KeyPair::generate(KeyAlgorithm::EcdsaP256)?;
//! let names: Vec<SubjectAltName> = vec!["db.example.com".parse()?];
//! let params = CertificateParams::server(&names, None, Validity::days_from(now, 365))?;
//! let server_cert = ca.issue(&params, &server_key.public_key(), now)?;
//! assert_eq!(server_cert.issuer(), ca.certificate().subject());
//!
//! let client_key = KeyPair::generate(KeyAlgorithm::EcdsaP256)?;
//! let params = CertificateParams::client("app", Validity::days_from(now, 365))?;
//! let client_cert = ca.issue(&params, &client_key.public_key(), now)?;
//! assert_eq!(client_cert.subject().common_name_value().as_deref(), Some("app"));
//! # Ok(()) }
//! ```
//!
//! For a persistent CA use [`DirStore`] (the `openssl ca` directory layout) through the
//! [`Store`] trait.

#![forbid(unsafe_code)]

mod ca;
mod cert;
mod crl;
mod csr;
mod der;
mod error;
mod inspect;
mod key;
mod name;
mod params;
mod pem;
mod profile;
mod serial;
mod store;

pub use ca::Ca;
pub use cert::{Certificate, Constraints, ExtensionInfo};
pub use crl::{Crl, CrlParams, RevocationReason, RevokedEntry};
pub use csr::Csr;
pub use error::Error;
pub use inspect::{Inspection, inspect};
pub use key::{KeyAlgorithm, KeyPair, KeyType, PBKDF2_ITERATIONS, PublicKey};
pub use name::{DistinguishedName, NameAttribute, SubjectAltName};
pub use params::{BACKDATE, CertificateParams, NameConstraint, NameConstraints, Usage, Validity};
pub use pem::{PemBlock, encode_pem, looks_like_pem, parse_pem};
pub use serial::SerialNumber;
pub use store::{
    DirStore, IndexEntry, IndexStatus, Store, StoreFiles, write_key_file, write_public_file,
};
