//! The one error type of pgtls-core.

use std::fmt;
use std::io;
use std::path::PathBuf;

use time::OffsetDateTime;

use crate::serial::SerialNumber;

/// Everything that can go wrong in pgtls-core.
///
/// Each variant names the input it is about: a file path, or for in-memory input the
/// `source` label the caller passed (for example a file name it read the bytes from).
/// `Display` never repeats the text of [`std::error::Error::source`]; print the chain to
/// see the cause. Context is typed (times, serial numbers, paths), and no message tells
/// the reader to use a command-line option: a frontend adds its own hints.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read, written, created or synced.
    #[error("{action} {path}")]
    Io {
        /// What was being done ("cannot read", "cannot write", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },

    /// The input is not what it should be (bad PEM, bad DER, wrong structure).
    #[error("{input}: not a valid {expected}: {reason}")]
    Malformed {
        /// The file or label of the input.
        input: String,
        /// What it should have been ("certificate", "private key", ...).
        expected: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A private key in the traditional OpenSSL `Proc-Type: 4,ENCRYPTED` PEM format.
    #[error(
        "{input}: legacy encrypted PEM key (Proc-Type: 4,ENCRYPTED) is not supported; convert it \
         with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in {input} -out key.pk8.pem` (encrypted \
         PKCS#8) or `openssl pkey -in {input} -out key.pem` (plaintext)"
    )]
    LegacyEncryptedKey {
        /// The file or label of the key.
        input: String,
    },

    /// The key is encrypted and no passphrase was given.
    #[error("{input}: the private key is encrypted; a passphrase is required")]
    PassphraseRequired {
        /// The file or label of the key.
        input: String,
    },

    /// The passphrase does not decrypt the key.
    #[error("{input}: wrong passphrase (or corrupt encrypted key)")]
    WrongPassphrase {
        /// The file or label of the key.
        input: String,
    },

    /// The key algorithm or parameters are not supported.
    #[error("{input}: unsupported key: {reason}")]
    UnsupportedKey {
        /// The file or label of the key.
        input: String,
        /// Why.
        reason: String,
    },

    /// A private key does not belong to a certificate.
    #[error("private key {key} does not match the public key of certificate {certificate}")]
    KeyMismatch {
        /// The file or label of the key.
        key: String,
        /// The file or label of the certificate.
        certificate: String,
    },

    /// A signature (of a CSR, CRL or certificate) does not verify.
    #[error("{input}: the {what} signature does not verify")]
    BadSignature {
        /// The file or label of the signed object.
        input: String,
        /// Which object ("certificate request", "CRL", ...).
        what: &'static str,
    },

    /// A certificate meant to act as a CA is not one.
    #[error("{input}: not a CA certificate: {reason}")]
    NotCa {
        /// The file or label of the certificate.
        input: String,
        /// Why it cannot act as a CA.
        reason: &'static str,
    },

    /// A parameter is not acceptable.
    #[error("invalid {field}: {reason}")]
    InvalidParameter {
        /// The parameter (for example `validity`, `serial`, `subject`).
        field: &'static str,
        /// Why.
        reason: String,
    },

    /// A certificate would outlive the CA certificate that issues it.
    #[error(
        "the certificate would expire at {}, after its issuer ({}); \
         shorten the validity or renew the CA",
        rfc3339(*not_after),
        rfc3339(*issuer_not_after)
    )]
    OutlivesIssuer {
        /// The requested end of validity.
        not_after: OffsetDateTime,
        /// The issuer's end of validity.
        issuer_not_after: OffsetDateTime,
    },

    /// The CA certificate is not valid at `now`.
    #[error("the CA certificate {input} is not valid now ({reason})")]
    CaNotValid {
        /// The file or label of the CA certificate.
        input: String,
        /// Expired, or not valid yet.
        reason: CaValidity,
    },

    /// A signing or key-generation operation failed inside the crypto library.
    #[error("cryptographic operation failed: {operation}")]
    Crypto {
        /// Which operation.
        operation: &'static str,
    },

    /// A [`CaSigner`](crate::CaSigner) outside this process (an HSM, a KMS) could not
    /// sign.
    #[error("the CA key could not sign")]
    Signer {
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Another writer held the store's lock for longer than [`crate::LOCK_WAIT`].
    #[error(
        "the CA store {path} is locked by another process (lock file {lock}); gave up waiting for it"
    )]
    StoreLocked {
        /// The store directory.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },

    /// A store file has content that cannot be accepted.
    #[error("{path}:{line}: {reason}")]
    StoreCorrupt {
        /// The file (`index.txt`, `serial`, `crlnumber`, ...).
        path: PathBuf,
        /// The 1-based line number (0 when the whole file is concerned).
        line: usize,
        /// What is wrong.
        reason: String,
    },

    /// A directory is not a CA store.
    #[error("{path} is not a CA store: {reason}")]
    NotAStore {
        /// The directory.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },

    /// A file exists and overwriting it was not allowed.
    #[error("{path} already exists; refusing to overwrite it")]
    FileExists {
        /// The existing file.
        path: PathBuf,
    },

    /// No certificate with that serial number is in the store.
    #[error("no certificate with serial {serial} in {path}")]
    UnknownSerial {
        /// The serial number.
        serial: SerialNumber,
        /// The index file.
        path: PathBuf,
    },

    /// The certificate is already revoked.
    #[error("certificate {serial} is already revoked (see {path})")]
    AlreadyRevoked {
        /// The serial number.
        serial: SerialNumber,
        /// The index file.
        path: PathBuf,
    },

    /// A certificate given to a store was not issued by the store's CA (its issuer is
    /// not the CA's subject, or the CA's key did not sign it).
    #[error("the certificate {subject} (serial {serial}) was not issued by the CA {ca}")]
    NotIssuedByCa {
        /// The certificate's subject (RFC 4514).
        subject: String,
        /// The certificate's serial number (upper-case hex, as encoded).
        serial: String,
        /// The CA's subject (RFC 4514).
        ca: String,
    },

    /// The serial number is already used in the store.
    #[error("serial {serial} is already used in {path}")]
    DuplicateSerial {
        /// The serial number.
        serial: SerialNumber,
        /// The index file.
        path: PathBuf,
    },
}

/// Why a CA certificate is not valid at a given time ([`Error::CaNotValid`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaValidity {
    /// Its notAfter has passed.
    Expired {
        /// The CA certificate's notAfter.
        not_after: OffsetDateTime,
    },
    /// Its notBefore has not come yet.
    NotYetValid {
        /// The CA certificate's notBefore.
        not_before: OffsetDateTime,
    },
}

impl fmt::Display for CaValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expired { not_after } => write!(f, "expired at {not_after}"),
            Self::NotYetValid { not_before } => write!(f, "not valid before {not_before}"),
        }
    }
}

/// RFC 3339 in UTC to the second (as the CLI prints times).
fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl Error {
    pub(crate) fn malformed(
        input: &str,
        expected: &'static str,
        reason: impl Into<String>,
    ) -> Self {
        Self::Malformed {
            input: input.to_owned(),
            expected,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            field,
            reason: reason.into(),
        }
    }
}

impl From<pgtls_x509::NameError> for Error {
    /// A name built from text (`-subj` syntax, [`crate::DistinguishedName::push`]) that is
    /// not valid.
    fn from(e: pgtls_x509::NameError) -> Self {
        Self::invalid("subject", e.to_string())
    }
}
