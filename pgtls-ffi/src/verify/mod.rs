//! pgtls-verify through the C ABI: what libpq decides about a server's
//! certificate chain under an sslmode (`chain`), libpq's host-name check
//! (`leaf`) and what the server decides about a client's certificate
//! (`client`).

mod chain;
mod client;
mod leaf;

pub use chain::*;
pub use client::*;
pub use leaf::*;

use crate::error::Error;
use crate::status::pgtls_status;

fn verify_error(e: &::pgtls_verify::Error) -> Error {
    use ::pgtls_verify::Error as E;
    let status = match e {
        E::Read { .. } => pgtls_status::Io,
        E::Pem { .. } => pgtls_status::ParsePem,
        E::NoCertificate { .. } | E::BadCertificate { .. } | E::NoServerCertificate => {
            pgtls_status::ParseCertificate
        }
        E::Invalid { .. } | E::IdentNeeded { .. } => pgtls_status::InvalidArgument,
        _ => pgtls_status::Internal,
    };
    Error::from_std(status, e)
}

/// `now` (seconds since the Unix epoch, as C passes it) as a time; a moment before
/// 1970 is not one libpq can be asked about.
fn unix_time(now: i64) -> Result<rustls_pki_types::UnixTime, Error> {
    let secs = u64::try_from(now).map_err(|_| {
        Error::new(
            pgtls_status::InvalidArgument,
            format!("now: {now} is before 1970"),
        )
    })?;
    Ok(rustls_pki_types::UnixTime::since_unix_epoch(
        std::time::Duration::from_secs(secs),
    ))
}
