//! pgtls-core: the PKI of pgtls — keys, names, a certificate authority, CSRs, the
//! PostgreSQL issuance profiles, revocation and CRLs, and a CA store that `openssl ca`
//! can share.
//!
//! Generation goes through rcgen; parsing, names and signature checks go through
//! pgtls-x509 (the X.509 layer pgtls-verify reads with too), and names are kept as exact DER: a CA made by OpenSSL whose subject repeats an attribute type (`DC=example,
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
//!
//! # Decisions
//!
//! * **Exact names.** rcgen keeps one value per attribute type, so it cannot write
//!   `DC=example, DC=org`. pgtls lets rcgen build the certificate, CSR or CRL with a
//!   placeholder name and a signer that signs nothing, then splices the exact issuer,
//!   subject and public-key bytes into the to-be-signed structure and signs once. The
//!   issuer of everything a CA signs is its subject byte for byte; the subject of a signed
//!   CSR is the CSR's subject byte for byte (repeated and multi-valued RDNs included).
//! * **CSRs** are parsed and their signatures verified with pgtls-x509; the key's
//!   algorithm comes from the key (a P-384 key in a SHA-256-signed CSR is certified as
//!   P-384). How a CSR is signed is one policy, [`CsrPolicy`] (the CLI's flags and the
//!   C ABI's arguments map onto it): requested DNS and IP names are copied only when
//!   asked, nothing else the CSR requests is, and a client certificate needs the
//!   commonName the server reads as its role.
//! * **Validity.** A certificate that would outlive its issuer is an error
//!   ([`Error::OutlivesIssuer`]), not a silent clamp: you get the validity you asked for
//!   or a reason. (`pgtls quickstart` shortens its leaves to the CA's end and prints a
//!   warning.) [`Validity::days_from`] backdates `not_before` by five minutes for clock
//!   skew.
//! * **Serials** are 159 random bits (20 octets, positive), checked unique against
//!   `index.txt` and `newcerts/`; the `serial` file is left to `openssl ca`.
//! * **Key identifiers**: subject key identifiers are the SHA-1 of the public key bits
//!   (RFC 5280 method 1, as OpenSSL writes them); the authority key identifier of every
//!   certificate and CRL is the issuing CA's subject key identifier (or that hash when an
//!   imported CA has none).
//! * **CRLs** are v2 with cRLNumber and authority key identifier and no issuing
//!   distribution point; an `unspecified` reason is written as no reason code.
//! * **Keys** are written as PKCS#8 v1 (Ed25519 too, for OpenSSL < 3.5), optionally
//!   PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC). The legacy `Proc-Type: 4,ENCRYPTED` format
//!   is refused with the `openssl pkcs8 -topk8` command that converts it.

#![forbid(unsafe_code)]

pub mod bundle;
mod ca;
mod cert;
#[cfg(feature = "crash-points")]
#[doc(hidden)]
pub mod crash;
#[cfg(not(feature = "crash-points"))]
mod crash;
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
pub mod report;
mod serial;
mod signer;
mod store;

pub use ca::Ca;
pub use cert::{Certificate, Constraints, ExtensionInfo};
pub use crl::{Crl, CrlParams, RevocationReason, RevokedEntry};
pub use csr::Csr;
pub use error::{CaValidity, Error};
pub use inspect::{Inspection, inspect};
pub use key::{KeyAlgorithm, KeyPair, KeyType, PBKDF2_ITERATIONS, PublicKey};
pub use name::{DistinguishedName, SubjectAltName};
pub use params::{BACKDATE, CertificateParams, NameConstraint, NameConstraints, Usage, Validity};
pub use pem::{PemBlock, encode_pem, looks_like_pem, parse_pem};
pub use profile::{CsrPolicy, CsrUsage};
pub use serial::SerialNumber;
pub use signer::CaSigner;
pub use store::{
    DirStore, IndexEntry, IndexStatus, LOCK_WAIT, NewFile, Store, StoreCheck, StoreFiles,
    StoreProblem, write_files, write_key_file, write_public_file,
};
