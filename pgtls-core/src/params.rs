//! Certificate parameters: plain data.

use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use crate::name::{DistinguishedName, SubjectAltName};
use crate::serial::SerialNumber;

/// How far `Validity::days_from` backdates `not_before`, to tolerate clock skew between
/// the machine that issues and the machines that verify.
pub const BACKDATE: Duration = Duration::minutes(5);

/// The validity period of a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From `now - 5 minutes` (see [`BACKDATE`]) to `now + days`, both truncated to whole
    /// seconds (X.509 times have no fractions).
    pub fn days_from(now: OffsetDateTime, days: u32) -> Self {
        let now = now.replace_nanosecond(0).unwrap_or(now);
        Self {
            not_before: now - BACKDATE,
            not_after: now + Duration::days(i64::from(days)),
        }
    }
}

/// What a certificate is for: decides basic constraints, key usage and extended key usage.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// A CA: `CA:TRUE` (critical), keyCertSign + cRLSign, optional path length.
    Ca {
        /// Maximum number of intermediate CAs below this one.
        path_len: Option<u8>,
    },
    /// A TLS client (PostgreSQL client certificate): `CA:FALSE`, digitalSignature,
    /// clientAuth.
    Client,
    /// A TLS server (PostgreSQL server certificate): `CA:FALSE`, digitalSignature (plus
    /// keyEncipherment for RSA keys), serverAuth.
    Server,
}

/// One name-constraint subtree (RFC 5280 §4.2.1.10).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameConstraint {
    /// A DNS name and everything below it (`example.com`).
    Dns(String),
    /// An e-mail address, host or domain.
    Email(String),
    /// An IP network.
    Ip {
        /// The network address.
        network: IpAddr,
        /// The prefix length.
        prefix: u8,
    },
}

/// Name constraints of a CA certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameConstraints {
    /// Names the CA may certify.
    pub permitted: Vec<NameConstraint>,
    /// Names the CA must not certify.
    pub excluded: Vec<NameConstraint>,
}

/// Everything that goes into a certificate besides the keys and the issuer.
///
/// Build it with a profile ([`CertificateParams::server`], [`CertificateParams::client`],
/// [`CertificateParams::ca`]) and adjust the fields.
#[derive(Clone, Debug)]
pub struct CertificateParams {
    /// The subject name, written byte for byte.
    pub subject: DistinguishedName,
    /// Subject alternative names.
    pub subject_alt_names: Vec<SubjectAltName>,
    /// Validity period.
    pub validity: Validity,
    /// The serial number; `None` draws a random one (the store also checks uniqueness).
    pub serial: Option<SerialNumber>,
    /// What the certificate is for.
    pub usage: Usage,
    /// Name constraints (CA certificates only).
    pub name_constraints: Option<NameConstraints>,
}
