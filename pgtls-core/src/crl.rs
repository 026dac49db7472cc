//! Revocation reasons, CRL generation and parsing.

use std::fmt;
use std::str::FromStr;

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams};
use time::OffsetDateTime;

use crate::ca::Ca;
use crate::cert::Certificate;
use crate::der::{self, Splice};
use crate::error::Error;
use crate::name::DistinguishedName;
use crate::pem::{encode_pem, pem_or_der};
use crate::serial::SerialNumber;

/// Index of `issuer` among the elements of a v2 `TBSCertList`.
const TBS_CRL_ISSUER: usize = 2;

/// Why a certificate was revoked (RFC 5280 §5.3.1 `CRLReason`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    /// unspecified (0)
    Unspecified,
    /// keyCompromise (1)
    KeyCompromise,
    /// cACompromise (2)
    CaCompromise,
    /// affiliationChanged (3)
    AffiliationChanged,
    /// superseded (4)
    Superseded,
    /// cessationOfOperation (5)
    CessationOfOperation,
    /// certificateHold (6)
    CertificateHold,
    /// removeFromCRL (8)
    RemoveFromCrl,
    /// privilegeWithdrawn (9)
    PrivilegeWithdrawn,
    /// aACompromise (10)
    AaCompromise,
}

const REASONS: &[(RevocationReason, u8, &str)] = &[
    (RevocationReason::Unspecified, 0, "unspecified"),
    (RevocationReason::KeyCompromise, 1, "keyCompromise"),
    (RevocationReason::CaCompromise, 2, "CACompromise"),
    (
        RevocationReason::AffiliationChanged,
        3,
        "affiliationChanged",
    ),
    (RevocationReason::Superseded, 4, "superseded"),
    (
        RevocationReason::CessationOfOperation,
        5,
        "cessationOfOperation",
    ),
    (RevocationReason::CertificateHold, 6, "certificateHold"),
    (RevocationReason::RemoveFromCrl, 8, "removeFromCRL"),
    (
        RevocationReason::PrivilegeWithdrawn,
        9,
        "privilegeWithdrawn",
    ),
    (RevocationReason::AaCompromise, 10, "AACompromise"),
];

impl RevocationReason {
    /// The RFC 5280 code.
    pub fn code(self) -> u8 {
        REASONS.iter().find(|r| r.0 == self).map_or(0, |r| r.1)
    }

    /// From the RFC 5280 code.
    pub fn from_code(code: u8) -> Option<Self> {
        REASONS.iter().find(|r| r.1 == code).map(|r| r.0)
    }

    /// The name OpenSSL writes in `index.txt` and accepts for `-crl_reason`.
    pub fn openssl_name(self) -> &'static str {
        REASONS
            .iter()
            .find(|r| r.0 == self)
            .map_or("unspecified", |r| r.2)
    }

    fn to_rcgen(self) -> rcgen::RevocationReason {
        use rcgen::RevocationReason as R;
        match self {
            Self::Unspecified => R::Unspecified,
            Self::KeyCompromise => R::KeyCompromise,
            Self::CaCompromise => R::CaCompromise,
            Self::AffiliationChanged => R::AffiliationChanged,
            Self::Superseded => R::Superseded,
            Self::CessationOfOperation => R::CessationOfOperation,
            Self::CertificateHold => R::CertificateHold,
            Self::RemoveFromCrl => R::RemoveFromCrl,
            Self::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
            Self::AaCompromise => R::AaCompromise,
        }
    }
}

impl FromStr for RevocationReason {
    type Err = Error;

    /// OpenSSL's names, case-insensitively, or kebab-case (`key-compromise`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let norm: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        REASONS
            .iter()
            .find(|r| r.2.to_ascii_lowercase() == norm)
            .map(|r| r.0)
            .ok_or_else(|| {
                Error::invalid(
                    "revocation reason",
                    format!(
                        "{s:?}; expected one of {}",
                        REASONS.iter().map(|r| r.2).collect::<Vec<_>>().join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.openssl_name())
    }
}

/// One revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Its serial number.
    pub serial: SerialNumber,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// Why (`None`: no reasonCode entry extension).
    pub reason: Option<RevocationReason>,
}

/// What goes into a CRL.
#[derive(Clone, Debug)]
pub struct CrlParams {
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate: after this time OpenSSL (the PostgreSQL server with `ssl_crl_file`,
    /// libpq with `sslcrl`) treats the CRL as expired and refuses every certificate.
    pub next_update: OffsetDateTime,
    /// The cRLNumber extension: must increase with every CRL of this CA.
    pub crl_number: SerialNumber,
    /// The revoked certificates.
    pub revoked: Vec<RevokedEntry>,
}

impl Ca {
    /// Signs a v2 CRL: issuer = this CA's subject byte for byte, authority key identifier
    /// = this CA's key identifier, cRLNumber, no issuing distribution point (OpenSSL
    /// would otherwise reject the CRL for certificates without a matching distribution
    /// point: "different CRL scope").
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `next_update` is not after `this_update`;
    /// [`Error::NotCa`] when the CA's key usage lacks cRLSign; [`Error::Crypto`].
    pub fn sign_crl(&self, params: &CrlParams) -> Result<Crl, Error> {
        if params.next_update <= params.this_update {
            return Err(Error::invalid("next update", "must be after this update"));
        }
        let ku = &self.certificate().constraints().key_usage;
        if !ku.is_empty() && !ku.contains(&"cRLSign") {
            return Err(Error::NotCa {
                input: self.label().to_owned(),
                reason: "key usage does not include cRLSign",
            });
        }
        let rc = CertificateRevocationListParams {
            this_update: params.this_update,
            next_update: params.next_update,
            crl_number: params.crl_number.to_rcgen(),
            issuing_distribution_point: None,
            revoked_certs: params
                .revoked
                .iter()
                .map(|r| RevokedCertParams {
                    serial_number: r.serial.to_rcgen(),
                    revocation_time: r.revoked_at,
                    reason_code: r.reason.map(RevocationReason::to_rcgen),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::PreSpecified(self.key_identifier().to_vec()),
        };
        let unsigned = rc
            .signed_by(&self.rcgen_issuer()?)
            .map_err(|_| Error::Crypto {
                operation: "building the CRL",
            })?;
        let splice = Splice {
            replace: vec![(TBS_CRL_ISSUER, self.certificate().subject().der())],
        };
        let der =
            crate::ca::resign_with(unsigned.der(), &splice, self.signer(), "signing the CRL")?;
        Crl::from_der(&der, "new CRL")
    }
}

/// A parsed certificate revocation list.
#[derive(Clone, Debug)]
pub struct Crl {
    x509: pgtls_x509::Crl,
    der: Vec<u8>,
    issuer: DistinguishedName,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    crl_number: Option<SerialNumber>,
    authority_key_id: Option<Vec<u8>>,
    entries: Vec<RevokedEntry>,
}

impl Crl {
    /// Parses PEM (`X509 CRL`) or DER.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn from_pem_or_der(input: &[u8], source: &str) -> Result<Self, Error> {
        let der = pem_or_der(input, &["X509 CRL"], source, "CRL")?;
        Self::from_der(&der, source)
    }

    /// Parses DER.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn from_der(der: &[u8], source: &str) -> Result<Self, Error> {
        let x = pgtls_x509::Crl::from_der(der)
            .map_err(|e| Error::malformed(source, "CRL", e.to_string()))?;
        if der::read_all(der).is_err() {
            return Err(Error::malformed(source, "CRL", "trailing data"));
        }
        let time = |t: i64| {
            OffsetDateTime::from_unix_timestamp(t)
                .map_err(|_| Error::malformed(source, "CRL", "time out of range"))
        };
        let mut entries = Vec::new();
        for r in x.entries() {
            let serial = SerialNumber::from_bytes(&r.serial).map_err(|_| {
                Error::malformed(source, "CRL", "revoked entry with a non-positive serial")
            })?;
            entries.push(RevokedEntry {
                serial,
                revoked_at: time(r.revoked_at)?,
                reason: r.reason.and_then(RevocationReason::from_code),
            });
        }
        Ok(Self {
            der: der.to_vec(),
            issuer: x.issuer().clone(),
            this_update: time(x.this_update())?,
            next_update: x.next_update().map(time).transpose()?,
            crl_number: x
                .crl_number()
                .and_then(|n| SerialNumber::from_bytes(n).ok()),
            authority_key_id: x.authority_key_id().and_then(|a| a.key_id.clone()),
            entries,
            x509: x,
        })
    }

    /// The DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The verification view: the CRL as pgtls-x509 (and OpenSSL) reads it.
    pub fn x509(&self) -> &pgtls_x509::Crl {
        &self.x509
    }

    /// PEM (`-----BEGIN X509 CRL-----`).
    pub fn to_pem(&self) -> String {
        encode_pem("X509 CRL", &self.der)
    }

    /// The issuer, byte for byte.
    pub fn issuer(&self) -> &DistinguishedName {
        &self.issuer
    }

    /// thisUpdate.
    pub fn this_update(&self) -> OffsetDateTime {
        self.this_update
    }

    /// nextUpdate, if present.
    pub fn next_update(&self) -> Option<OffsetDateTime> {
        self.next_update
    }

    /// The cRLNumber extension, if present.
    pub fn crl_number(&self) -> Option<&SerialNumber> {
        self.crl_number.as_ref()
    }

    /// The authority key identifier, if present.
    pub fn authority_key_identifier(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    /// The revoked certificates.
    pub fn entries(&self) -> &[RevokedEntry] {
        &self.entries
    }

    /// SHA-256 of the DER.
    pub fn sha256_fingerprint(&self) -> [u8; 32] {
        crate::key::sha256(&self.der)
    }

    /// Whether `serial` is listed.
    pub fn is_revoked(&self, serial: &SerialNumber) -> bool {
        self.entries.iter().any(|e| &e.serial == serial)
    }

    /// Whether the signature verifies with `issuer`'s key.
    pub fn is_signed_by(&self, issuer: &Certificate) -> bool {
        self.x509.is_signed_by(issuer.x509())
    }

    /// The renewal window in whole days: `given`, else a third of the CRL's
    /// own period, at least one day ([`pgtls_x509::crl_renewal_window`], the
    /// rule `pgtls doctor` applies too); `None` for neither a window given
    /// nor a nextUpdate.
    pub fn renewal_window_days(&self, given: Option<u32>) -> Option<i64> {
        match given {
            Some(d) => Some(i64::from(d)),
            None => self
                .x509
                .next_update()
                .map(|next| pgtls_x509::crl_renewal_window(self.x509.this_update(), next) / 86_400),
        }
    }

    /// Whether the CRL is due for republishing at `now`: valid, with
    /// nextUpdate within [`Crl::renewal_window_days`] of `given`.
    pub fn is_due(&self, now: OffsetDateTime, given: Option<u32>) -> bool {
        let window = self
            .renewal_window_days(given)
            .map(|d| d.saturating_mul(86_400));
        self.x509.time_at(now.unix_timestamp(), window) == pgtls_x509::CrlTime::Due
    }

    /// Whether nextUpdate is at or before `now`: OpenSSL, and with it the
    /// server and libpq, then refuses the CRL ("CRL has expired").
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.x509.time_at(now.unix_timestamp(), None) == pgtls_x509::CrlTime::Expired
    }
}
