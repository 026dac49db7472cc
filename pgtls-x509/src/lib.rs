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
//! - [`Certificate`], [`Crl`]: parsed once, with what OpenSSL caches (the verification
//!   view for pgtls-verify, the PKI view for pgtls-core);
//! - [`signature`]: one table of signature algorithms (RSASSA-PSS parameters parsed) and
//!   verification on aws-lc-rs.
//!
//! # Why a crate of its own
//!
//! The alternative was pgtls-core's lower half, with pgtls-verify depending on core. That
//! would hand pgtls-verify (and everything that only verifies: the rustls verifier, the C
//! ABI's verify functions, a PostgreSQL extension) the whole PKI mechanism it does not
//! need: rcgen, PKCS#8 with its ciphers, the CA store with its locks and files. Reading is
//! what both need, and reading is what must agree, so reading is the crate: the only one
//! that depends on x509-parser, with no file I/O, no clock and no PostgreSQL knowledge.
//! Times are seconds since the Unix epoch (`i64`, which holds the pre-1970 and post-9999
//! times certificates can carry); the crates above convert at their boundaries.
#![forbid(unsafe_code)]

mod cert;
pub mod der;
mod name;
pub mod pem;
pub mod signature;

pub use cert::{
    AuthorityKeyId, Certificate, CertificationRequest, Crl, CrlTime, Extensions, GeneralName,
    IssuingDistributionPoint, ParseError, Part, RevokedCertificate, Signature, SubjectPublicKey,
    akid_matches, crl_renewal_window, crl_time, extended_key_usage_name, extension_name,
    key_too_weak, key_usage_names, sig_alg_matches_key, sig_digest_too_weak, verify_signature,
};
pub use name::{Attribute, DistinguishedName, NameError};

/// OpenSSL's flag bits and OIDs that the verification view is expressed in.
pub mod consts {
    pub use crate::cert::{
        KU_CRL_SIGN, KU_DIGITAL_SIGNATURE, KU_KEY_AGREEMENT, KU_KEY_CERT_SIGN, KU_KEY_ENCIPHERMENT,
        NS_ANY_CA, NS_SSL_CA, NS_SSL_CLIENT, NS_SSL_SERVER, OID_CLIENT_AUTH, OID_MS_SGC,
        OID_NS_SGC, OID_SERVER_AUTH,
    };
}
