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

/// Which PostgreSQL profile a signed CSR gets.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrUsage {
    /// A server certificate (serverAuth; at least one subject alternative name).
    Server,
    /// A client certificate (clientAuth; the subject's first commonName is the role).
    Client,
}

/// How a CSR is signed: the one policy of pgtls, which the `pgtls sign` flags and the C
/// ABI's `pgtls_store_sign_csr` arguments map onto.
///
/// * The subject is the CSR's byte for byte, or `subject` when set.
/// * Subject alternative names are `names`, then, when `copy_requested_names` is set,
///   the DNS and IP names the CSR requests (in its order, without repeats). Other kinds
///   it requests (e-mail, URI, directory names) are never copied, and nothing else the CSR
///   asks for (key usages, basic constraints, validity) is: those come from the profile.
/// * A server certificate needs at least one name.
/// * A client certificate's subject must have a first commonName that is not empty and
///   has no NUL: the server reads that CN as the database role for `cert` and
///   `clientcert=verify-full` (and refuses a certificate without one).
#[derive(Clone, Debug)]
pub struct CsrPolicy {
    /// The profile.
    pub usage: CsrUsage,
    /// Subject alternative names to certify.
    pub names: Vec<SubjectAltName>,
    /// Also certify the DNS and IP names the CSR requests.
    pub copy_requested_names: bool,
    /// Replaces the CSR's subject.
    pub subject: Option<DistinguishedName>,
    /// The validity.
    pub validity: Validity,
}

impl CsrPolicy {
    /// A policy with the CSR's subject, no names and no copying.
    pub fn new(usage: CsrUsage, validity: Validity) -> Self {
        Self {
            usage,
            names: Vec::new(),
            copy_requested_names: false,
            subject: None,
            validity,
        }
    }

    /// The certificate parameters this policy gives `csr`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`]: a server certificate without a name, a client
    /// certificate whose subject has no usable commonName.
    pub fn params(&self, csr: &crate::Csr) -> Result<CertificateParams, Error> {
        let mut names = self.names.clone();
        if self.copy_requested_names {
            for s in csr.requested_sans() {
                if matches!(s, SubjectAltName::Dns(_) | SubjectAltName::Ip(_)) && !names.contains(s)
                {
                    names.push(s.clone());
                }
            }
        }
        let subject = self
            .subject
            .clone()
            .unwrap_or_else(|| csr.subject().clone());
        let mut params = match self.usage {
            CsrUsage::Server => CertificateParams::server(&names, None, self.validity)?,
            CsrUsage::Client => {
                let role = subject
                    .first_common_name()
                    .map(|a| a.display_value())
                    .unwrap_or_default();
                let mut p = CertificateParams::client(&role, self.validity).map_err(|_| {
                    Error::invalid(
                        "subject",
                        "a client certificate needs a commonName (the database role the \
                         server reads), non-empty and without NUL",
                    )
                })?;
                p.subject_alt_names = names;
                p
            }
        };
        params.subject = subject;
        Ok(params)
    }
}
