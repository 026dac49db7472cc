//! The JSON reports of pgtls-core's objects: one serializer per report, used
//! by `pgtls inspect|expiry|issue|sign ... --json` and by the C ABI's
//! `*_json` functions alike.
//!
//! One time format throughout: RFC 3339 in UTC to the second
//! ([`format_time`]). Fingerprints and key identifiers are upper-case hex
//! bytes joined by `:`. Every top-level report carries [`SCHEMA_VERSION`];
//! the checked-in schemas (`docs/schemas/`) are derived from these structs
//! (feature `schema`).

use serde::Serialize;
use time::OffsetDateTime;

use crate::{Certificate, Crl, Csr, IndexEntry, IndexStatus, Inspection, KeyPair, PublicKey};

/// The version of the report shapes below; raised when a key changes
/// meaning or goes away (a new key does not raise it).
pub const SCHEMA_VERSION: u32 = 1;

/// A time as every report prints it: RFC 3339, UTC, whole seconds
/// (`2026-01-02T03:04:05Z`).
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Bytes as upper-case hex pairs joined by `:` (OpenSSL's fingerprint form).
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// What kind of object an inspection found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    /// A certificate.
    Certificate,
    /// A certificate signing request.
    Csr,
    /// A CRL.
    Crl,
    /// A private key.
    PrivateKey,
    /// An encrypted private key not decrypted.
    EncryptedPrivateKey,
    /// A public key.
    PublicKey,
}

/// One extension of a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ExtensionReport {
    /// Short name (`subjectAltName`, ...) or the dotted OID.
    pub name: String,
    /// Marked critical.
    pub critical: bool,
}

/// A certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct CertificateReport {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `certificate`.
    pub kind: Kind,
    /// Subject, OpenSSL's one-line form.
    pub subject: String,
    /// Issuer, OpenSSL's one-line form.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// X.509 version (3 for v3).
    pub version: u32,
    /// notBefore.
    pub not_before: String,
    /// notAfter.
    pub not_after: String,
    /// `rsa`, `ecdsa-p256`, ...
    pub key_type: String,
    /// Key size in bits.
    pub key_bits: usize,
    /// subjectAltName entries (`DNS:x`, `IP Address:y`, ...).
    pub subject_alt_names: Vec<String>,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u32>,
    /// keyUsage bits by name.
    pub key_usage: Vec<&'static str>,
    /// extendedKeyUsage purposes.
    pub extended_key_usage: Vec<String>,
    /// subjectKeyIdentifier.
    pub subject_key_identifier: Option<String>,
    /// authorityKeyIdentifier's keyIdentifier.
    pub authority_key_identifier: Option<String>,
    /// Subject and issuer are the same name.
    pub self_issued: bool,
    /// SHA-256 of the DER.
    pub sha256_fingerprint: String,
    /// Every extension, in order.
    pub extensions: Vec<ExtensionReport>,
}

impl From<&Certificate> for CertificateReport {
    fn from(c: &Certificate) -> Self {
        let k = c.public_key().key_type();
        let cons = c.constraints();
        Self {
            schema_version: SCHEMA_VERSION,
            kind: Kind::Certificate,
            subject: c.subject().to_string(),
            issuer: c.issuer().to_string(),
            serial: c.serial_hex(),
            version: c.version() + 1,
            not_before: format_time(c.not_before()),
            not_after: format_time(c.not_after()),
            key_type: k.to_string(),
            key_bits: k.bits(),
            subject_alt_names: c
                .subject_alt_names()
                .iter()
                .map(ToString::to_string)
                .collect(),
            is_ca: cons.is_ca,
            path_len: cons.path_len,
            key_usage: cons.key_usage.clone(),
            extended_key_usage: cons.extended_key_usage.clone(),
            subject_key_identifier: c.subject_key_identifier().map(colon_hex),
            authority_key_identifier: c.authority_key_identifier().map(colon_hex),
            self_issued: c.is_self_issued(),
            sha256_fingerprint: colon_hex(&c.sha256_fingerprint()),
            extensions: c
                .extensions()
                .iter()
                .map(|e| ExtensionReport {
                    name: e.name.clone(),
                    critical: e.critical,
                })
                .collect(),
        }
    }
}

/// A certificate signing request (its signature verified).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct CsrReport {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `csr`.
    pub kind: Kind,
    /// Requested subject.
    pub subject: String,
    /// `valid` (a CSR whose signature fails is not reported, it is an error).
    pub signature: &'static str,
    /// Key type.
    pub key_type: String,
    /// Key size in bits.
    pub key_bits: usize,
    /// The subjectAltName entries it requests.
    pub requested_subject_alt_names: Vec<String>,
    /// SHA-256 of the SubjectPublicKeyInfo.
    pub public_key_sha256: String,
}

impl From<&Csr> for CsrReport {
    fn from(c: &Csr) -> Self {
        let k = c.public_key().key_type();
        Self {
            schema_version: SCHEMA_VERSION,
            kind: Kind::Csr,
            subject: c.subject().to_string(),
            signature: "valid",
            key_type: k.to_string(),
            key_bits: k.bits(),
            requested_subject_alt_names: c
                .requested_sans()
                .iter()
                .map(ToString::to_string)
                .collect(),
            public_key_sha256: colon_hex(&c.public_key().sha256()),
        }
    }
}

/// One revoked certificate of a CRL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct RevokedReport {
    /// Serial number, hex.
    pub serial: String,
    /// Revocation time.
    pub revoked_at: String,
    /// OpenSSL's reason name (`keyCompromise`, ...), `null` without one.
    pub reason: Option<&'static str>,
}

/// A CRL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct CrlReport {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `crl`.
    pub kind: Kind,
    /// Issuer, OpenSSL's one-line form.
    pub issuer: String,
    /// cRLNumber, hex.
    pub crl_number: Option<String>,
    /// thisUpdate.
    pub this_update: String,
    /// nextUpdate.
    pub next_update: Option<String>,
    /// authorityKeyIdentifier's keyIdentifier.
    pub authority_key_identifier: Option<String>,
    /// How many certificates it revokes.
    pub revoked_count: usize,
    /// The revoked certificates, in order.
    pub revoked: Vec<RevokedReport>,
    /// SHA-256 of the DER.
    pub sha256_fingerprint: String,
}

impl From<&Crl> for CrlReport {
    fn from(c: &Crl) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            kind: Kind::Crl,
            issuer: c.issuer().to_string(),
            crl_number: c.crl_number().map(|n| n.to_hex()),
            this_update: format_time(c.this_update()),
            next_update: c.next_update().map(format_time),
            authority_key_identifier: c.authority_key_identifier().map(colon_hex),
            revoked_count: c.entries().len(),
            revoked: c
                .entries()
                .iter()
                .map(|e| RevokedReport {
                    serial: e.serial.to_hex(),
                    revoked_at: format_time(e.revoked_at),
                    reason: e.reason.map(|r| r.openssl_name()),
                })
                .collect(),
            sha256_fingerprint: colon_hex(&c.sha256_fingerprint()),
        }
    }
}

/// A private key (described, never printed), an encrypted key that was
/// not decrypted, or a public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct KeyReport {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `private_key`, `encrypted_private_key` or `public_key`.
    pub kind: Kind,
    /// Key type; `null` for a key not decrypted.
    pub key_type: Option<String>,
    /// Key size in bits; `null` for a key not decrypted.
    pub key_bits: Option<usize>,
    /// For a private key: the file had it encrypted.
    pub encrypted: Option<bool>,
    /// SHA-256 of the SubjectPublicKeyInfo; `null` for a key not decrypted.
    pub public_key_sha256: Option<String>,
}

impl KeyReport {
    /// A private key; `encrypted`: the file had it encrypted.
    pub fn private(key: &KeyPair, encrypted: bool) -> Self {
        let t = key.key_type();
        Self {
            schema_version: SCHEMA_VERSION,
            kind: Kind::PrivateKey,
            key_type: Some(t.to_string()),
            key_bits: Some(t.bits()),
            encrypted: Some(encrypted),
            public_key_sha256: Some(colon_hex(&key.public_key().sha256())),
        }
    }

    /// An encrypted private key that was not decrypted (no passphrase).
    pub fn encrypted() -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            kind: Kind::EncryptedPrivateKey,
            key_type: None,
            key_bits: None,
            encrypted: Some(true),
            public_key_sha256: None,
        }
    }

    /// A public key.
    pub fn public(key: &PublicKey) -> Self {
        let t = key.key_type();
        Self {
            schema_version: SCHEMA_VERSION,
            kind: Kind::PublicKey,
            key_type: Some(t.to_string()),
            key_bits: Some(t.bits()),
            encrypted: None,
            public_key_sha256: Some(colon_hex(&key.sha256())),
        }
    }
}

/// One object found by [`crate::inspect`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
#[non_exhaustive]
pub enum InspectionReport {
    /// A certificate.
    Certificate(Box<CertificateReport>),
    /// A CSR.
    Csr(CsrReport),
    /// A CRL.
    Crl(CrlReport),
    /// A key.
    Key(KeyReport),
}

impl InspectionReport {
    /// The report of one inspected object; `None` for a kind this version
    /// does not describe.
    pub fn new(i: &Inspection) -> Option<Self> {
        Some(match i {
            Inspection::Certificate(c) => Self::Certificate(Box::new(c.as_ref().into())),
            Inspection::Csr(c) => Self::Csr(c.into()),
            Inspection::Crl(c) => Self::Crl(c.as_ref().into()),
            Inspection::PrivateKey { key, encrypted } => {
                Self::Key(KeyReport::private(key, *encrypted))
            }
            Inspection::EncryptedPrivateKey => Self::Key(KeyReport::encrypted()),
            Inspection::PublicKey(k) => Self::Key(KeyReport::public(k)),
        })
    }
}

/// The status of a store entry as `index.txt` records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryStatus {
    /// `V`.
    Valid,
    /// `R`.
    Revoked,
    /// `E` (written by `openssl ca -updatedb`).
    Expired,
}

/// One certificate a store issued (an `index.txt` line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct StoreEntryReport {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Serial number, hex.
    pub serial: String,
    /// Subject, OpenSSL's one-line form.
    pub subject: String,
    /// `valid`, `revoked` or `expired`, as the index records it.
    pub status: EntryStatus,
    /// The certificate's notAfter.
    pub expires: String,
    /// For a revoked certificate: when.
    pub revoked_at: Option<String>,
    /// For a revoked certificate: OpenSSL's reason name, when recorded.
    pub reason: Option<&'static str>,
}

impl From<&IndexEntry> for StoreEntryReport {
    fn from(e: &IndexEntry) -> Self {
        let (status, revoked_at, reason) = match &e.status {
            IndexStatus::Revoked { at, reason } => (
                EntryStatus::Revoked,
                Some(format_time(*at)),
                reason.map(|r| r.openssl_name()),
            ),
            IndexStatus::Expired => (EntryStatus::Expired, None, None),
            IndexStatus::Valid => (EntryStatus::Valid, None, None),
        };
        Self {
            schema_version: SCHEMA_VERSION,
            serial: e.serial.to_hex(),
            subject: e.subject.to_openssl_oneline(),
            status,
            expires: format_time(e.expires),
            revoked_at,
            reason,
        }
    }
}

/// Whole days from `now` to `t` (negative once `t` has passed).
pub fn days_left(t: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (t - now).whole_days()
}

/// Where an issued certificate stands for the expiry report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExpiryState {
    /// Valid beyond the warning window.
    Valid,
    /// Valid, but ends within the warning window.
    Expiring,
    /// Its notAfter has passed (or the index says `E`).
    Expired,
    /// Revoked.
    Revoked,
}

impl ExpiryState {
    /// The state of `e` at `now` with a warning window of `warn_days`.
    pub fn of(e: &IndexEntry, now: OffsetDateTime, warn_days: i64) -> Self {
        match e.status {
            IndexStatus::Revoked { .. } => Self::Revoked,
            _ if e.expires <= now => Self::Expired,
            IndexStatus::Expired => Self::Expired,
            _ if days_left(e.expires, now) <= warn_days => Self::Expiring,
            _ => Self::Valid,
        }
    }

    /// `valid`, `expiring`, `expired`, `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// One issued certificate in the expiry report: its store entry report
/// with the days left and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ExpiryEntryReport {
    /// The store entry, exactly as [`store_entries_json`] reports it.
    #[serde(flatten)]
    pub entry: StoreEntryReport,
    /// Whole days left.
    pub days_left: i64,
    /// `valid`, `expiring`, `expired` or `revoked`.
    pub expiry: ExpiryState,
}

impl ExpiryEntryReport {
    /// The row for `e` at `now` with a warning window of `warn_days`.
    pub fn new(e: &IndexEntry, now: OffsetDateTime, warn_days: i64) -> Self {
        Self {
            entry: e.into(),
            days_left: days_left(e.expires, now),
            expiry: ExpiryState::of(e, now, warn_days),
        }
    }
}

/// The CA certificate in the expiry report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ExpiryCaReport {
    /// Subject.
    pub subject: String,
    /// notAfter.
    pub not_after: String,
    /// Whole days left.
    pub days_left: i64,
}

/// The CRL in the expiry report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ExpiryCrlReport {
    /// nextUpdate.
    pub next_update: Option<String>,
    /// Whole days to nextUpdate.
    pub days_left: Option<i64>,
    /// nextUpdate has passed: PostgreSQL rejects every client certificate.
    pub expired: bool,
    /// Not expired, but nextUpdate is within `warn_days`: publish a new CRL.
    pub due: bool,
    /// The warning threshold in days applied to it.
    pub warn_days: i64,
}

/// The expiry report over a store (`pgtls expiry --json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ExpiryReport {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The CA certificate.
    pub ca: ExpiryCaReport,
    /// The issued certificates, in index order.
    pub certificates: Vec<ExpiryEntryReport>,
    /// The store's CRL, when it has one.
    pub crl: Option<ExpiryCrlReport>,
    /// What needs action, in sentences.
    pub warnings: Vec<String>,
}

impl ExpiryReport {
    /// The report at `now`: `warn_days` is the window for certificates,
    /// `crl` the store's CRL with its own window in days when one is given
    /// (by default [`Crl::renewal_window_days`]: a third of its period).
    pub fn new(
        ca: &Certificate,
        entries: &[IndexEntry],
        crl: Option<(&Crl, Option<u32>)>,
        now: OffsetDateTime,
        warn_days: i64,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            ca: ExpiryCaReport {
                subject: ca.subject().to_string(),
                not_after: format_time(ca.not_after()),
                days_left: days_left(ca.not_after(), now),
            },
            certificates: entries
                .iter()
                .map(|e| ExpiryEntryReport::new(e, now, warn_days))
                .collect(),
            crl: crl.map(|(c, given)| {
                let next = c.next_update();
                ExpiryCrlReport {
                    next_update: next.map(format_time),
                    days_left: next.map(|t| days_left(t, now)),
                    expired: c.is_expired(now),
                    due: c.is_due(now, given),
                    warn_days: c.renewal_window_days(given).unwrap_or(1),
                }
            }),
            warnings: Vec::new(),
        }
    }
}

/// Serializes a report as one line of JSON.
pub fn to_json(report: &impl Serialize) -> String {
    // Serializing these structs (strings, numbers, options) cannot fail.
    serde_json::to_string(report).unwrap_or_default()
}

/// What [`crate::inspect`] found, as a JSON array of [`InspectionReport`]
/// (`pgtls inspect --json`, `pgtls_inspect_json`).
pub fn inspection_json(items: &[Inspection]) -> String {
    to_json(
        &items
            .iter()
            .filter_map(InspectionReport::new)
            .collect::<Vec<_>>(),
    )
}

/// Store entries as a JSON array of [`StoreEntryReport`]
/// (`pgtls_store_entries_json`, and the entries of `pgtls expiry --json`).
pub fn store_entries_json(entries: &[IndexEntry]) -> String {
    to_json(
        &entries
            .iter()
            .map(StoreEntryReport::from)
            .collect::<Vec<_>>(),
    )
}

impl Certificate {
    /// The report (`pgtls_cert_to_json`, `pgtls inspect --json`).
    pub fn report(&self) -> CertificateReport {
        self.into()
    }
}

/// The JSON schemas of the reports, by file name (`docs/schemas/NAME`).
#[cfg(feature = "schema")]
pub fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    vec![
        ("certificate.json", schemars::schema_for!(CertificateReport)),
        (
            "inspection.json",
            schemars::schema_for!(Vec<InspectionReport>),
        ),
        (
            "store-entries.json",
            schemars::schema_for!(Vec<StoreEntryReport>),
        ),
        ("expiry.json", schemars::schema_for!(ExpiryReport)),
        (
            "bundle-merge.json",
            schemars::schema_for!(crate::bundle::MergeReport),
        ),
        (
            "bundle-diff.json",
            schemars::schema_for!(crate::bundle::DiffReport),
        ),
        (
            "bundle-inspect.json",
            schemars::schema_for!(crate::bundle::InspectReport),
        ),
    ]
}
