//! pgtls-core through the C ABI: keys, a CA, the directory CA store (issue,
//! sign a CSR, revoke, CRL), certificates and inspection. One object family
//! per file: `key`, `cert`, `ca`, `store`, `csr`, `inspect`.

mod ca;
mod cert;
mod csr;
mod inspect;
mod key;
mod store;

pub use ca::*;
pub use cert::*;
pub use csr::*;
pub use inspect::*;
pub use key::*;
pub use store::*;

use pgtls_core::{KeyPair, SubjectAltName, Validity};
use time::OffsetDateTime;

use crate::error::Error;
use crate::status::pgtls_status;

/// Maps a pgtls-core error to a status and its full message.
pub(crate) fn core_error(e: &pgtls_core::Error) -> Error {
    use pgtls_core::Error as E;
    let status = match e {
        E::Io { .. } => pgtls_status::Io,
        E::Malformed { expected, .. } => match *expected {
            "certificate" => pgtls_status::ParseCertificate,
            "private key" => pgtls_status::ParseKey,
            "certificate request" | "certificate signing request" => pgtls_status::ParseCsr,
            "CRL" => pgtls_status::ParseCrl,
            _ => pgtls_status::ParsePem,
        },
        E::LegacyEncryptedKey { .. }
        | E::PassphraseRequired { .. }
        | E::WrongPassphrase { .. }
        | E::UnsupportedKey { .. } => pgtls_status::ParseKey,
        E::BadSignature { .. } => pgtls_status::ParseCsr,
        E::KeyMismatch { .. } | E::NotCa { .. } => pgtls_status::WrongObject,
        E::InvalidParameter { .. } => pgtls_status::InvalidArgument,
        E::OutlivesIssuer { .. } | E::CaNotValid { .. } | E::Crypto { .. } => pgtls_status::Issue,
        E::StoreLocked { .. } | E::StoreCorrupt { .. } | E::NotAStore { .. } => pgtls_status::Store,
        E::UnknownSerial { .. } => pgtls_status::NotFound,
        E::FileExists { .. } | E::AlreadyRevoked { .. } | E::DuplicateSerial { .. } => {
            pgtls_status::AlreadyExists
        }
        _ => pgtls_status::Internal,
    };
    Error::from_std(status, e)
}

/// Seconds since the Unix epoch, as every `now` argument is given.
pub(crate) fn unix_time(secs: i64, what: &str) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| {
        Error::new(
            pgtls_status::InvalidArgument,
            format!("{what}: {secs} is not a representable time"),
        )
    })
}

/// A comma-separated list of host names / IP addresses.
pub(super) fn names_list(list: &str) -> Result<Vec<SubjectAltName>, Error> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<SubjectAltName>().map_err(|e| core_error(&e)))
        .collect()
}

pub(super) fn copy_key(key: &KeyPair) -> Result<KeyPair, Error> {
    KeyPair::from_pem_or_der(key.to_pkcs8_der(), None, "key").map_err(|e| core_error(&e))
}

pub(super) fn validity(days: u32, now: OffsetDateTime) -> Validity {
    Validity::days_from(now, days)
}
