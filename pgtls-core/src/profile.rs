//! The PostgreSQL profiles: the only module that knows PostgreSQL.

use crate::error::Error;
use crate::name::{DistinguishedName, SubjectAltName};
use crate::params::{CertificateParams, Usage, Validity};

impl CertificateParams {
    /// A PostgreSQL server certificate: the names go into the subject alternative name
    /// (DNS names and IP addresses, which libpq's `sslmode=verify-full` compares with
    /// `host`), extended key usage serverAuth, and `CN` = `common_name` or else the first
    /// name (libpq ignores the CN when a SAN of the same kind is present, older clients
    /// look at it).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `names` is empty.
    pub fn server(
        names: &[SubjectAltName],
        common_name: Option<&str>,
        validity: Validity,
    ) -> Result<Self, Error> {
        let first = names.first().ok_or_else(|| {
            Error::invalid("host names", "a server certificate needs at least one name")
        })?;
        let cn = match (common_name, first) {
            (Some(cn), _) => cn.to_owned(),
            (None, SubjectAltName::Dns(d)) => d.clone(),
            (None, SubjectAltName::Ip(ip)) => ip.to_string(),
            (None, other) => other.to_string(),
        };
        Ok(Self {
            subject: DistinguishedName::common_name(&cn),
            subject_alt_names: names.to_vec(),
            validity,
            serial: None,
            usage: Usage::Server,
            name_constraints: None,
        })
    }

    /// A PostgreSQL client certificate for database role `role`: `CN` = the role (what
    /// `cert` authentication and `clientcert=verify-full` compare with the user name),
    /// extended key usage clientAuth, no SAN unless added.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty role or one containing NUL (the server
    /// rejects certificates with embedded NULs in the CN).
    pub fn client(role: &str, validity: Validity) -> Result<Self, Error> {
        if role.is_empty() || role.contains('\0') {
            return Err(Error::invalid(
                "role",
                "must be non-empty and contain no NUL character",
            ));
        }
        Ok(Self {
            subject: DistinguishedName::common_name(role),
            subject_alt_names: Vec::new(),
            validity,
            serial: None,
            usage: Usage::Client,
            name_constraints: None,
        })
    }

    /// A CA certificate (root or intermediate) with `subject`.
    pub fn ca(subject: DistinguishedName, validity: Validity, path_len: Option<u8>) -> Self {
        Self {
            subject,
            subject_alt_names: Vec::new(),
            validity,
            serial: None,
            usage: Usage::Ca { path_len },
            name_constraints: None,
        }
    }
}
