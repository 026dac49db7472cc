//! Trust bundles and CRL bundles: the PEM files given to libpq as `sslrootcert` /
//! `sslcrl` and to the server as `ssl_ca_file` / `ssl_crl_file`, read strictly, merged
//! (the old and the new CA during a rotation), compared, and listed.
//!
//! The decisions of `pgtls bundle merge|diff|inspect` are all here; the command reads
//! the files, calls these functions and prints the reports.
//!
//! * **Reading** ([`Bundle::parse`]): PEM (text outside blocks ignored, as OpenSSL
//!   ignores it) or one DER certificate or CRL. Every block must be a certificate or a
//!   CRL that parses; anything else is a [`BundleError`] naming the file, the block's
//!   1-based index and its line. A private key is always refused ([`BundleError::PrivateKey`]):
//!   a trust bundle is handed to every client and server.
//! * **Merging** ([`merge`]): certificates are de-duplicated by DER (each duplicate is
//!   reported) and kept in the order they first appear; a certificate that is not a CA
//!   (OpenSSL's `X509_check_ca`) is refused unless [`MergeOptions::allow_leaf`]; one
//!   that is expired or not yet valid is a warning. CRLs are kept one per issuer, the
//!   newest by cRLNumber, then thisUpdate (an older CRL of the same issuer is reported
//!   as superseded: with two current CRLs of one issuer OpenSSL may use either, and the
//!   older one lacks the latest revocations). Two CRLs of one issuer whose order cannot
//!   be told (the same cRLNumber or, without one, the same thisUpdate, with different
//!   contents), or whose cRLNumber and thisUpdate disagree, are a
//!   [`BundleError::CrlConflict`].
//! * **The issuer of a CRL** is the certificate among the inputs whose subject is the
//!   CRL's issuer name and whose key verifies the CRL's signature. Without such a
//!   certificate it is the issuer name together with the CRL's authorityKeyIdentifier;
//!   CRLs of one name without that extension are taken to be of one CA, unless CRLs of
//!   that name carry different key identifiers, which is a
//!   [`BundleError::AmbiguousCrlIssuer`] (add the CA certificates to the inputs). Delta
//!   CRLs are refused: neither libpq nor the server uses them.
//! * **Chains** ([`chains`]): which certificates and CRLs of other files chain to a
//!   bundle's certificates, by verified signatures (the names only select the
//!   candidates), through CA certificates of those files.
//! * **Writing** ([`Bundle::write`]): atomically (a temporary file, fsync, rename), so a
//!   reader never sees a partial bundle.

use std::fmt;
use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::crl::Crl;
use crate::error::Error;
use crate::report::{SCHEMA_VERSION, colon_hex, format_time};

/// Where an entry of a bundle came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Origin {
    /// The file (or label) it was read from.
    pub file: String,
    /// Its 1-based position among the PEM blocks of the file (1 for a DER file).
    pub block: usize,
    /// The 1-based line of its `BEGIN` line (`null` for a DER file).
    pub line: Option<usize>,
}

impl Origin {
    fn new(file: &str, block: usize, line: Option<usize>) -> Self {
        Self {
            file: file.to_owned(),
            block,
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}: PEM block {} (line {line})", self.file, self.block),
            None => write!(f, "{} (DER)", self.file),
        }
    }
}

/// Why a bundle could not be read or merged. Every variant names the file, and where a
/// block is concerned its index and line.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleError {
    /// The input is neither PEM nor one DER certificate or CRL.
    NotPem {
        /// The file.
        file: String,
        /// Why (`no PEM block found`, `not UTF-8 text`).
        reason: String,
    },
    /// A PEM block is broken (no END line, bad base64, empty).
    BadPem {
        /// The block.
        at: Origin,
        /// pgtls-x509's reason.
        reason: pgtls_x509::pem::PemError,
    },
    /// A block does not parse as what its label says.
    BadObject {
        /// The block.
        at: Origin,
        /// `certificate` or `CRL`.
        expected: &'static str,
        /// Why it does not parse.
        reason: String,
    },
    /// A block holds a private key.
    PrivateKey {
        /// The block.
        at: Origin,
        /// Its label (`PRIVATE KEY`, `RSA PRIVATE KEY`, ...).
        label: String,
    },
    /// A block is neither a certificate nor a CRL.
    UnexpectedBlock {
        /// The block.
        at: Origin,
        /// Its label.
        label: String,
    },
    /// A certificate of a trust bundle is not a CA certificate.
    NotCa {
        /// The certificate.
        at: Origin,
        /// Its subject.
        subject: String,
    },
    /// A delta CRL (deltaCRLIndicator).
    DeltaCrl {
        /// The CRL.
        at: Origin,
    },
    /// Two CRLs of one issuer whose order cannot be decided.
    CrlConflict(Box<CrlConflict>),
    /// CRLs with one issuer name but different key identifiers, and one without a key
    /// identifier that no certificate of the inputs verifies.
    AmbiguousCrlIssuer {
        /// The CRL whose CA cannot be told.
        at: Origin,
        /// Its issuer name.
        issuer: String,
    },
}

/// Two CRLs of one issuer whose order cannot be decided ([`BundleError::CrlConflict`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrlConflict {
    /// The issuer.
    pub issuer: String,
    /// One CRL.
    pub first: Origin,
    /// The other.
    pub second: Origin,
    /// Why (the same cRLNumber with different contents, ...).
    pub reason: &'static str,
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPem { file, reason } => {
                write!(
                    f,
                    "{file}: not a PEM bundle (nor a DER certificate or CRL): {reason}"
                )
            }
            Self::BadPem { at, reason } => write!(f, "{at}: {reason}"),
            Self::BadObject {
                at,
                expected,
                reason,
            } => write!(f, "{at}: not a valid {expected}: {reason}"),
            Self::PrivateKey { at, label } => write!(
                f,
                "{at}: a private key ({label}); a bundle is given to every client and server \
                 and must never hold a key: remove the block"
            ),
            Self::UnexpectedBlock { at, label } => write!(
                f,
                "{at}: a {label} block; a bundle holds only CERTIFICATE and X509 CRL blocks"
            ),
            Self::NotCa { at, subject } => write!(
                f,
                "{at}: {subject} is not a CA certificate; a trust bundle holds CA certificates"
            ),
            Self::DeltaCrl { at } => write!(
                f,
                "{at}: a delta CRL; neither libpq nor the PostgreSQL server uses delta CRLs"
            ),
            Self::CrlConflict(c) => write!(
                f,
                "conflicting CRLs of {}: {} and {}: {}",
                c.issuer, c.first, c.second, c.reason
            ),
            Self::AmbiguousCrlIssuer { at, issuer } => write!(
                f,
                "{at}: the CRL of {issuer} has no authorityKeyIdentifier and no certificate of \
                 the inputs verifies it, while other CRLs of that name come from different \
                 keys; add the CA certificates to the inputs"
            ),
        }
    }
}

impl std::error::Error for BundleError {}

/// What a bundle entry is.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Item {
    /// A certificate.
    Certificate(Box<Certificate>),
    /// A CRL.
    Crl(Box<Crl>),
}

impl Item {
    /// The DER.
    pub fn der(&self) -> &[u8] {
        match self {
            Self::Certificate(c) => c.der(),
            Self::Crl(c) => c.der(),
        }
    }

    fn kind(&self) -> EntryKind {
        match self {
            Self::Certificate(_) => EntryKind::Certificate,
            Self::Crl(_) => EntryKind::Crl,
        }
    }

    /// The subject of a certificate, the issuer of a CRL.
    fn name(&self) -> String {
        match self {
            Self::Certificate(c) => c.subject().to_string(),
            Self::Crl(c) => c.issuer().to_string(),
        }
    }

    fn fingerprint(&self) -> [u8; 32] {
        match self {
            Self::Certificate(c) => c.sha256_fingerprint(),
            Self::Crl(c) => c.sha256_fingerprint(),
        }
    }

    fn to_pem(&self) -> String {
        match self {
            Self::Certificate(c) => c.to_pem(),
            Self::Crl(c) => c.to_pem(),
        }
    }
}

/// One certificate or CRL of a bundle, with where it came from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Entry {
    /// Where it was read.
    pub origin: Origin,
    /// The certificate or CRL.
    pub item: Item,
}

/// The certificates and CRLs of a PEM bundle, in order.
#[derive(Clone, Debug, Default)]
pub struct Bundle {
    entries: Vec<Entry>,
}

/// How [`read`] treats blocks that are neither certificates nor CRLs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Blocks {
    /// A bundle: every block is a certificate or a CRL.
    Strict,
    /// Any file of a directory: other blocks (keys, requests) are passed over.
    Scan,
}

fn read(input: &[u8], file: &str, policy: Blocks) -> Result<Vec<Entry>, BundleError> {
    use pgtls_x509::pem::{Encoding, PemError, sniff};
    if sniff(input) == Encoding::Der {
        let at = Origin::new(file, 1, None);
        let item = match Certificate::from_der(input, file) {
            Ok(c) => Item::Certificate(Box::new(c)),
            Err(cert_err) => match Crl::from_der(input, file) {
                Ok(c) => Item::Crl(Box::new(c)),
                Err(_) => {
                    return Err(BundleError::BadObject {
                        at,
                        expected: "certificate",
                        reason: malformed_reason(&cert_err),
                    });
                }
            },
        };
        let entry = Entry { origin: at, item };
        check_entry(&entry)?;
        return Ok(vec![entry]);
    }
    let blocks = pgtls_x509::pem::parse(input).map_err(|e| match e.block() {
        Some((index, line)) => BundleError::BadPem {
            at: Origin::new(file, index, Some(line)),
            reason: e,
        },
        None => BundleError::NotPem {
            file: file.to_owned(),
            reason: match e {
                PemError::NotText => "not UTF-8 text".to_owned(),
                other => other.to_string(),
            },
        },
    })?;
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        let at = Origin::new(file, b.index, Some(b.line));
        let label = b.label.as_str();
        if label.ends_with("PRIVATE KEY") && policy == Blocks::Strict {
            return Err(BundleError::PrivateKey { at, label: b.label });
        }
        let bad = |expected, e: &Error| BundleError::BadObject {
            at: at.clone(),
            expected,
            reason: malformed_reason(e),
        };
        let item = match label {
            "CERTIFICATE" | "X509 CERTIFICATE" if !b.has_headers => Item::Certificate(Box::new(
                Certificate::from_der(&b.der, file).map_err(|e| bad("certificate", &e))?,
            )),
            "X509 CRL" if !b.has_headers => Item::Crl(Box::new(
                Crl::from_der(&b.der, file).map_err(|e| bad("CRL", &e))?,
            )),
            _ if policy == Blocks::Scan => continue,
            _ => {
                return Err(BundleError::UnexpectedBlock { at, label: b.label });
            }
        };
        let entry = Entry { origin: at, item };
        check_entry(&entry)?;
        out.push(entry);
    }
    Ok(out)
}

/// What is refused in any bundle, whatever the merge options.
fn check_entry(e: &Entry) -> Result<(), BundleError> {
    match &e.item {
        Item::Crl(c) if c.x509().is_delta() => Err(BundleError::DeltaCrl {
            at: e.origin.clone(),
        }),
        _ => Ok(()),
    }
}

/// The reason of a [`Error::Malformed`] without the input name it repeats.
fn malformed_reason(e: &Error) -> String {
    match e {
        Error::Malformed { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

impl Bundle {
    /// Reads a bundle: PEM whose every block is a certificate or a CRL, or one DER
    /// certificate or CRL. `file` names the input in errors and reports.
    ///
    /// # Errors
    /// [`BundleError::NotPem`] for input with no PEM block, [`BundleError::BadPem`],
    /// [`BundleError::BadObject`], [`BundleError::PrivateKey`],
    /// [`BundleError::UnexpectedBlock`], [`BundleError::DeltaCrl`].
    pub fn parse(input: &[u8], file: &str) -> Result<Self, BundleError> {
        Ok(Self {
            entries: read(input, file, Blocks::Strict)?,
        })
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The certificates, in order.
    pub fn certificates(&self) -> impl Iterator<Item = (&Origin, &Certificate)> {
        self.entries.iter().filter_map(|e| match &e.item {
            Item::Certificate(c) => Some((&e.origin, c.as_ref())),
            Item::Crl(_) => None,
        })
    }

    /// The CRLs, in order.
    pub fn crls(&self) -> impl Iterator<Item = (&Origin, &Crl)> {
        self.entries.iter().filter_map(|e| match &e.item {
            Item::Crl(c) => Some((&e.origin, c.as_ref())),
            Item::Certificate(_) => None,
        })
    }

    /// The bundle as PEM: the certificates, then the CRLs, each after comment lines
    /// naming it (subject or issuer, validity, SHA-256), which OpenSSL, libpq and the
    /// server skip as they skip any text outside PEM blocks.
    pub fn to_pem(&self) -> String {
        let mut out = String::new();
        let certs = self
            .entries
            .iter()
            .filter(|e| matches!(e.item, Item::Certificate(_)));
        let crls = self
            .entries
            .iter()
            .filter(|e| matches!(e.item, Item::Crl(_)));
        for e in certs.chain(crls) {
            match &e.item {
                Item::Certificate(c) => {
                    out.push_str(&comment("Subject", &c.subject().to_string()));
                    out.push_str(&comment(
                        "Validity",
                        &format!(
                            "{} to {}",
                            format_time(c.not_before()),
                            format_time(c.not_after())
                        ),
                    ));
                }
                Item::Crl(c) => {
                    out.push_str(&comment("CRL issuer", &c.issuer().to_string()));
                    if let Some(n) = c.crl_number() {
                        out.push_str(&comment("CRL number", &n.to_hex()));
                    }
                    out.push_str(&comment("This update", &format_time(c.this_update())));
                }
            }
            out.push_str(&comment("SHA-256", &colon_hex(&e.item.fingerprint())));
            out.push_str(&e.item.to_pem());
        }
        out
    }

    /// Writes [`Bundle::to_pem`] to `path` atomically (mode 0644): a temporary file in
    /// the same directory, fsync, rename, directory fsync; an existing file is replaced
    /// only when `overwrite`.
    ///
    /// # Errors
    /// [`Error::FileExists`], [`Error::Io`].
    pub fn write(&self, path: &Path, overwrite: bool) -> Result<(), Error> {
        crate::store::write_public_file(path, self.to_pem().as_bytes(), overwrite)
    }
}

/// A comment line of a written bundle; control characters are escaped so that no text
/// of a certificate can start a line of its own.
fn comment(key: &str, value: &str) -> String {
    let mut s = format!("# {key}: ");
    for ch in value.chars() {
        if ch.is_control() {
            s.push_str(&format!("\\u{{{:x}}}", u32::from(ch)));
        } else {
            s.push(ch);
        }
    }
    s.push('\n');
    s
}

/// Certificate or CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryKind {
    /// A certificate.
    Certificate,
    /// A CRL.
    Crl,
}

/// Where a certificate's or CRL's validity stands at the time of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Validity {
    /// Within its validity (a CRL: before its nextUpdate, or without one).
    Valid,
    /// Past its notAfter (a CRL: past its nextUpdate, and PostgreSQL then refuses every
    /// certificate of its issuer).
    Expired,
    /// Before its notBefore (a CRL: before its thisUpdate).
    NotYetValid,
}

impl Validity {
    fn of(from: OffsetDateTime, to: Option<OffsetDateTime>, now: OffsetDateTime) -> Self {
        if now < from {
            Self::NotYetValid
        } else if to.is_some_and(|t| t <= now) {
            Self::Expired
        } else {
            Self::Valid
        }
    }

    /// `valid`, `expired`, `not_yet_valid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
        }
    }
}

/// One certificate of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct CertificateEntry {
    /// Where it was read.
    #[serde(flatten)]
    pub origin: Origin,
    /// Subject.
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Serial number, hex (as `openssl x509 -serial` prints it).
    pub serial: String,
    /// notBefore.
    pub not_before: String,
    /// notAfter.
    pub not_after: String,
    /// Where its validity stands at the time of the report.
    pub validity: Validity,
    /// subjectKeyIdentifier.
    pub subject_key_identifier: Option<String>,
    /// authorityKeyIdentifier's keyIdentifier.
    pub authority_key_identifier: Option<String>,
    /// SHA-256 of the DER.
    pub sha256_fingerprint: String,
    /// A CA certificate as OpenSSL's `X509_check_ca` decides it (basicConstraints
    /// cA, a v1 self-signed root, keyUsage keyCertSign without basicConstraints).
    pub ca: bool,
    /// Self-signed: subject and issuer match and its own key verifies its signature.
    pub self_signed: bool,
}

impl CertificateEntry {
    /// The entry of `c`, read at `origin`, at `now`.
    pub fn new(origin: &Origin, c: &Certificate, now: OffsetDateTime) -> Self {
        Self {
            origin: origin.clone(),
            subject: c.subject().to_string(),
            issuer: c.issuer().to_string(),
            serial: c.serial_hex(),
            not_before: format_time(c.not_before()),
            not_after: format_time(c.not_after()),
            validity: Validity::of(c.not_before(), Some(c.not_after()), now),
            subject_key_identifier: c.subject_key_identifier().map(colon_hex),
            authority_key_identifier: c.authority_key_identifier().map(colon_hex),
            sha256_fingerprint: colon_hex(&c.sha256_fingerprint()),
            ca: is_ca(c),
            self_signed: is_self_signed(c),
        }
    }
}

/// One CRL of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct CrlEntry {
    /// Where it was read.
    #[serde(flatten)]
    pub origin: Origin,
    /// Issuer.
    pub issuer: String,
    /// authorityKeyIdentifier's keyIdentifier.
    pub authority_key_identifier: Option<String>,
    /// cRLNumber, hex.
    pub crl_number: Option<String>,
    /// thisUpdate.
    pub this_update: String,
    /// nextUpdate.
    pub next_update: Option<String>,
    /// Where it stands at the time of the report.
    pub validity: Validity,
    /// How many certificates it revokes.
    pub revoked_count: usize,
    /// SHA-256 of the DER.
    pub sha256_fingerprint: String,
}

impl CrlEntry {
    /// The entry of `c`, read at `origin`, at `now`.
    pub fn new(origin: &Origin, c: &Crl, now: OffsetDateTime) -> Self {
        Self {
            origin: origin.clone(),
            issuer: c.issuer().to_string(),
            authority_key_identifier: c.authority_key_identifier().map(colon_hex),
            crl_number: c.crl_number().map(|n| n.to_hex()),
            this_update: format_time(c.this_update()),
            next_update: c.next_update().map(format_time),
            validity: Validity::of(c.this_update(), c.next_update(), now),
            revoked_count: c.entries().len(),
            sha256_fingerprint: colon_hex(&c.sha256_fingerprint()),
        }
    }
}

/// `X509_check_ca`: a certificate OpenSSL accepts as a CA.
fn is_ca(c: &Certificate) -> bool {
    c.x509().check_ca() != 0
}

/// Self-issued, and its own key verifies its signature.
fn is_self_signed(c: &Certificate) -> bool {
    c.x509().is_self_issued() && c.is_signed_by(c)
}

/// A certificate or CRL that appears again (same DER).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct DuplicateEntry {
    /// Certificate or CRL.
    pub kind: EntryKind,
    /// Subject of a certificate, issuer of a CRL.
    pub name: String,
    /// SHA-256 of the DER.
    pub sha256_fingerprint: String,
    /// Where it first appears (the one kept).
    pub first: Origin,
    /// Where it appears again (dropped).
    pub duplicate: Origin,
}

/// An older CRL of an issuer, dropped for a newer one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SupersededCrl {
    /// The issuer.
    pub issuer: String,
    /// The CRL dropped.
    pub dropped: Origin,
    /// Its cRLNumber, hex.
    pub dropped_crl_number: Option<String>,
    /// Its thisUpdate.
    pub dropped_this_update: String,
    /// The newer CRL kept.
    pub kept: Origin,
    /// Its cRLNumber, hex.
    pub kept_crl_number: Option<String>,
    /// Its thisUpdate.
    pub kept_this_update: String,
}

/// What a warning is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WarningCode {
    /// A certificate past its notAfter.
    CertificateExpired,
    /// A certificate before its notBefore.
    CertificateNotYetValid,
    /// A certificate that is not a CA, kept because leaves were allowed.
    NotCa,
    /// A CRL past its nextUpdate: the server refuses every certificate of its issuer.
    CrlExpired,
    /// A CRL whose thisUpdate has not come yet.
    CrlNotYetValid,
    /// CRLs told to be of one issuer by their issuer name only (no key identifier, no
    /// certificate of the inputs verifying them).
    CrlIssuerByName,
}

/// Something kept that needs attention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Warning {
    /// What it is about.
    pub code: WarningCode,
    /// The entry concerned.
    pub at: Origin,
    /// In a sentence.
    pub message: String,
}

/// Options of [`merge`].
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct MergeOptions {
    /// Keep certificates that are not CA certificates (a pinned self-signed server
    /// certificate, say) instead of refusing them.
    pub allow_leaf: bool,
}

impl MergeOptions {
    /// Options that keep (`true`) or refuse non-CA certificates.
    pub fn allow_leaf(allow_leaf: bool) -> Self {
        Self { allow_leaf }
    }
}

/// The report of [`merge`] (`pgtls bundle merge --json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct MergeReport {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The inputs, in order.
    pub inputs: Vec<String>,
    /// Where the merged bundle was written (set by the caller that writes it).
    pub output: Option<String>,
    /// The certificates kept, in the order written.
    pub certificates: Vec<CertificateEntry>,
    /// The CRLs kept, in the order written.
    pub crls: Vec<CrlEntry>,
    /// Entries dropped because an identical one came first.
    pub duplicates: Vec<DuplicateEntry>,
    /// CRLs dropped for a newer CRL of their issuer.
    pub superseded_crls: Vec<SupersededCrl>,
    /// What was kept but needs attention.
    pub warnings: Vec<Warning>,
}

/// The result of [`merge`]: the merged bundle and what was done.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Merged {
    /// The bundle to write.
    pub bundle: Bundle,
    /// What was kept, dropped and found.
    pub report: MergeReport,
}

/// Merges `inputs` (file label and bundle, in order) into one bundle (see the module
/// docs), at `now` for the validity warnings.
///
/// # Errors
/// [`BundleError::NotCa`] (unless [`MergeOptions::allow_leaf`]),
/// [`BundleError::CrlConflict`], [`BundleError::AmbiguousCrlIssuer`].
pub fn merge(
    inputs: &[(String, Bundle)],
    options: &MergeOptions,
    now: OffsetDateTime,
) -> Result<Merged, BundleError> {
    let mut kept: Vec<Entry> = Vec::new();
    let mut duplicates = Vec::new();
    let mut warnings = Vec::new();
    for (_, bundle) in inputs {
        for e in &bundle.entries {
            if let Some(first) = kept.iter().find(|k| k.item.der() == e.item.der()) {
                duplicates.push(DuplicateEntry {
                    kind: e.item.kind(),
                    name: e.item.name(),
                    sha256_fingerprint: colon_hex(&e.item.fingerprint()),
                    first: first.origin.clone(),
                    duplicate: e.origin.clone(),
                });
                continue;
            }
            if let Item::Certificate(c) = &e.item
                && !is_ca(c)
            {
                if !options.allow_leaf {
                    return Err(BundleError::NotCa {
                        at: e.origin.clone(),
                        subject: c.subject().to_string(),
                    });
                }
                warnings.push(Warning {
                    code: WarningCode::NotCa,
                    at: e.origin.clone(),
                    message: format!("{} is not a CA certificate (kept)", c.subject()),
                });
            }
            kept.push(e.clone());
        }
    }
    let (certs, crls): (Vec<Entry>, Vec<Entry>) = kept
        .into_iter()
        .partition(|e| matches!(e.item, Item::Certificate(_)));
    let CrlSelection {
        kept: crls,
        superseded,
        warnings: by_name,
    } = newest_crls(&certs, crls)?;
    warnings.extend(by_name);
    for e in &certs {
        if let Item::Certificate(c) = &e.item {
            match Validity::of(c.not_before(), Some(c.not_after()), now) {
                Validity::Expired => warnings.push(Warning {
                    code: WarningCode::CertificateExpired,
                    at: e.origin.clone(),
                    message: format!("{} expired at {}", c.subject(), format_time(c.not_after())),
                }),
                Validity::NotYetValid => warnings.push(Warning {
                    code: WarningCode::CertificateNotYetValid,
                    at: e.origin.clone(),
                    message: format!(
                        "{} is not valid before {}",
                        c.subject(),
                        format_time(c.not_before())
                    ),
                }),
                Validity::Valid => {}
            }
        }
    }
    for e in &crls {
        if let Item::Crl(c) = &e.item {
            match Validity::of(c.this_update(), c.next_update(), now) {
                Validity::Expired => warnings.push(Warning {
                    code: WarningCode::CrlExpired,
                    at: e.origin.clone(),
                    message: format!(
                        "the newest CRL of {} expired at {} (its nextUpdate): the server \
                         refuses every certificate of that CA until a current CRL is installed",
                        c.issuer(),
                        c.next_update().map(format_time).unwrap_or_default()
                    ),
                }),
                Validity::NotYetValid => warnings.push(Warning {
                    code: WarningCode::CrlNotYetValid,
                    at: e.origin.clone(),
                    message: format!(
                        "the CRL of {} is not valid before {} (its thisUpdate)",
                        c.issuer(),
                        format_time(c.this_update())
                    ),
                }),
                Validity::Valid => {}
            }
        }
    }
    let mut entries = certs;
    entries.extend(crls);
    let bundle = Bundle { entries };
    let report = MergeReport {
        schema_version: SCHEMA_VERSION,
        inputs: inputs.iter().map(|(f, _)| f.clone()).collect(),
        output: None,
        certificates: bundle
            .certificates()
            .map(|(o, c)| CertificateEntry::new(o, c, now))
            .collect(),
        crls: bundle
            .crls()
            .map(|(o, c)| CrlEntry::new(o, c, now))
            .collect(),
        duplicates,
        superseded_crls: superseded,
        warnings,
    };
    Ok(Merged { bundle, report })
}

/// Who issued a CRL, as far as the inputs tell.
#[derive(Clone, PartialEq, Eq)]
enum Signer {
    /// The public key (SubjectPublicKeyInfo) of an input certificate that verifies it,
    /// or whose subject key identifier is the CRL's authority key identifier.
    Key(Vec<u8>),
    /// The CRL's authorityKeyIdentifier, no input certificate having it.
    KeyId(Vec<u8>),
    /// Nothing but the name.
    Unknown,
}

/// One issuer's CRLs, each with its position among all the CRLs read.
struct Group {
    name: pgtls_x509::DistinguishedName,
    signer: Signer,
    members: Vec<(usize, Entry)>,
}

impl Group {
    /// Where the issuer first appears.
    fn first(&self) -> usize {
        self.members
            .iter()
            .map(|(i, _)| *i)
            .min()
            .unwrap_or(usize::MAX)
    }
}

/// What [`newest_crls`] keeps, drops and warns about.
struct CrlSelection {
    kept: Vec<Entry>,
    superseded: Vec<SupersededCrl>,
    warnings: Vec<Warning>,
}

/// The CRLs kept (the newest of each issuer, in the order the issuers first appear),
/// the ones superseded, and the warnings about issuers told by name only.
fn newest_crls(certs: &[Entry], crls: Vec<Entry>) -> Result<CrlSelection, BundleError> {
    let issuers: Vec<&Certificate> = certs
        .iter()
        .filter_map(|e| match &e.item {
            Item::Certificate(c) => Some(c.as_ref()),
            Item::Crl(_) => None,
        })
        .collect();
    let verifier = |c: &Crl| {
        issuers
            .iter()
            .find(|i| i.subject().matches(c.issuer()) && c.is_signed_by(i))
            .map(|i| i.x509().public_key().der.clone())
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut unknown: Vec<(usize, Entry)> = Vec::new();
    for (seq, e) in crls.into_iter().enumerate() {
        let Item::Crl(c) = &e.item else { continue };
        let signer = match (verifier(c), c.authority_key_identifier()) {
            (Some(key), _) => Signer::Key(key),
            (None, Some(kid)) => match issuers.iter().find(|i| {
                i.subject().matches(c.issuer()) && i.subject_key_identifier() == Some(kid)
            }) {
                Some(i) => Signer::Key(i.x509().public_key().der.clone()),
                None => Signer::KeyId(kid.to_vec()),
            },
            (None, None) => Signer::Unknown,
        };
        if signer == Signer::Unknown {
            unknown.push((seq, e));
            continue;
        }
        let name = c.issuer().clone();
        match groups
            .iter_mut()
            .find(|g| g.name.matches(&name) && g.signer == signer)
        {
            Some(g) => g.members.push((seq, e)),
            None => groups.push(Group {
                name,
                signer,
                members: vec![(seq, e)],
            }),
        }
    }
    // CRLs known only by their issuer name join the one group of that name, or form
    // one; with several groups of that name, their CA cannot be told.
    let mut by_name_only: Vec<usize> = Vec::new();
    for (seq, e) in unknown {
        let Item::Crl(c) = &e.item else { continue };
        let same_name: Vec<usize> = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.name.matches(c.issuer()))
            .map(|(i, _)| i)
            .collect();
        let target = match same_name.as_slice() {
            [] => {
                groups.push(Group {
                    name: c.issuer().clone(),
                    signer: Signer::Unknown,
                    members: Vec::new(),
                });
                groups.len() - 1
            }
            [one] => *one,
            _ => {
                return Err(BundleError::AmbiguousCrlIssuer {
                    at: e.origin.clone(),
                    issuer: c.issuer().to_string(),
                });
            }
        };
        if let Some(g) = groups.get_mut(target) {
            g.members.push((seq, e));
        }
        if !by_name_only.contains(&target) {
            by_name_only.push(target);
        }
    }
    let mut ordered: Vec<(usize, Group)> = groups.into_iter().enumerate().collect();
    ordered.sort_by_key(|(_, g)| g.first());
    let mut kept = Vec::new();
    let mut superseded = Vec::new();
    let mut warnings = Vec::new();
    for (gi, mut g) in ordered {
        g.members.sort_by_key(|(seq, _)| *seq);
        let members: Vec<Entry> = g.members.into_iter().map(|(_, e)| e).collect();
        let newest = newest_of(&members)?;
        let Some(best) = members.get(newest) else {
            continue;
        };
        let Item::Crl(best_crl) = &best.item else {
            continue;
        };
        if members.len() > 1 && by_name_only.contains(&gi) {
            warnings.push(Warning {
                code: WarningCode::CrlIssuerByName,
                at: best.origin.clone(),
                message: format!(
                    "{} CRLs of {} were taken to be of one CA by their issuer name alone (not \
                     every one has an authorityKeyIdentifier, and no certificate of the inputs \
                     verifies them)",
                    members.len(),
                    best_crl.issuer()
                ),
            });
        }
        for (i, e) in members.iter().enumerate() {
            if i == newest {
                continue;
            }
            if let Item::Crl(c) = &e.item {
                superseded.push(SupersededCrl {
                    issuer: c.issuer().to_string(),
                    dropped: e.origin.clone(),
                    dropped_crl_number: c.crl_number().map(|n| n.to_hex()),
                    dropped_this_update: format_time(c.this_update()),
                    kept: best.origin.clone(),
                    kept_crl_number: best_crl.crl_number().map(|n| n.to_hex()),
                    kept_this_update: format_time(best_crl.this_update()),
                });
            }
        }
        kept.push(best.clone());
    }
    Ok(CrlSelection {
        kept,
        superseded,
        warnings,
    })
}

/// The position of the newest CRL of one issuer's `members`, or the conflict that
/// prevents telling.
fn newest_of(members: &[Entry]) -> Result<usize, BundleError> {
    fn crl(e: &Entry) -> Option<&Crl> {
        match &e.item {
            Item::Crl(c) => Some(c.as_ref()),
            Item::Certificate(_) => None,
        }
    }
    let conflict = |a: &Entry, b: &Entry, reason| {
        let issuer = match &a.item {
            Item::Crl(c) => c.issuer().to_string(),
            Item::Certificate(c) => c.subject().to_string(),
        };
        BundleError::CrlConflict(Box::new(CrlConflict {
            issuer,
            first: a.origin.clone(),
            second: b.origin.clone(),
            reason,
        }))
    };
    // Every pair must be ordered, and the two orders must agree.
    for (i, a) in members.iter().enumerate() {
        for b in members.iter().skip(i + 1) {
            let (Some(ca), Some(cb)) = (crl(a), crl(b)) else {
                continue;
            };
            match (ca.crl_number(), cb.crl_number()) {
                (Some(na), Some(nb)) => {
                    if na == nb {
                        return Err(conflict(a, b, "the same cRLNumber with different contents"));
                    }
                    let by_time = ca.this_update().cmp(&cb.this_update());
                    if by_time != std::cmp::Ordering::Equal && by_time != na.cmp(nb) {
                        return Err(conflict(
                            a,
                            b,
                            "the higher cRLNumber has the earlier thisUpdate",
                        ));
                    }
                }
                _ => {
                    if ca.this_update() == cb.this_update() {
                        return Err(conflict(
                            a,
                            b,
                            "the same thisUpdate with different contents, and no cRLNumber \
                             on both to order them",
                        ));
                    }
                }
            }
        }
    }
    let newer = |a: &Crl, b: &Crl| match (a.crl_number(), b.crl_number()) {
        (Some(na), Some(nb)) => na > nb,
        _ => a.this_update() > b.this_update(),
    };
    let mut best = 0;
    for (i, e) in members.iter().enumerate().skip(1) {
        if let (Some(c), Some(b)) = (crl(e), members.get(best).and_then(crl))
            && newer(c, b)
        {
            best = i;
        }
    }
    Ok(best)
}

/// One entry of [`DiffReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct DiffEntry {
    /// Certificate or CRL.
    pub kind: EntryKind,
    /// Subject of a certificate, issuer of a CRL.
    pub name: String,
    /// SHA-256 of the DER.
    pub sha256_fingerprint: String,
    /// Where it is (in the new bundle for an added entry, in the old one otherwise).
    pub at: Origin,
}

/// The report of [`diff`] (`pgtls bundle diff --json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct DiffReport {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The old bundle.
    pub old: String,
    /// The new bundle.
    pub new: String,
    /// Both hold the same certificates and CRLs (by DER; order and repeats aside).
    pub same: bool,
    /// In the new bundle only.
    pub added: Vec<DiffEntry>,
    /// In the old bundle only.
    pub removed: Vec<DiffEntry>,
    /// In both.
    pub kept: Vec<DiffEntry>,
}

/// Compares two bundles by DER: what `new` adds to `old`, removes from it and keeps.
pub fn diff(old: (&str, &Bundle), new: (&str, &Bundle)) -> DiffReport {
    let entry = |e: &Entry| DiffEntry {
        kind: e.item.kind(),
        name: e.item.name(),
        sha256_fingerprint: colon_hex(&e.item.fingerprint()),
        at: e.origin.clone(),
    };
    let unique = |b: &Bundle| {
        let mut seen: Vec<&[u8]> = Vec::new();
        b.entries
            .iter()
            .filter(|e| {
                if seen.contains(&e.item.der()) {
                    false
                } else {
                    seen.push(e.item.der());
                    true
                }
            })
            .cloned()
            .collect::<Vec<Entry>>()
    };
    let (a, b) = (unique(old.1), unique(new.1));
    let in_set = |set: &[Entry], e: &Entry| set.iter().any(|x| x.item.der() == e.item.der());
    let added: Vec<DiffEntry> = b.iter().filter(|e| !in_set(&a, e)).map(entry).collect();
    let removed: Vec<DiffEntry> = a.iter().filter(|e| !in_set(&b, e)).map(entry).collect();
    let kept: Vec<DiffEntry> = a.iter().filter(|e| in_set(&b, e)).map(entry).collect();
    DiffReport {
        schema_version: SCHEMA_VERSION,
        old: old.0.to_owned(),
        new: new.0.to_owned(),
        same: added.is_empty() && removed.is_empty(),
        added,
        removed,
        kept,
    }
}

/// How an entry of another file reaches a certificate of the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ChainLink {
    /// The bundle certificate it chains to: its SHA-256.
    pub anchor_sha256: String,
    /// Its subject.
    pub anchor_subject: String,
    /// The CA certificates between the entry and the anchor, nearest first (subjects).
    pub through: Vec<String>,
}

/// One certificate or CRL found in the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct DirectoryEntry {
    /// Where it was read.
    #[serde(flatten)]
    pub origin: Origin,
    /// Certificate or CRL.
    pub kind: EntryKind,
    /// Subject of a certificate, issuer of a CRL.
    pub name: String,
    /// SHA-256 of the DER.
    pub sha256_fingerprint: String,
    /// It is itself a certificate of the bundle (same DER).
    pub in_bundle: bool,
    /// The bundle certificates it chains to, by verified signatures (empty: none).
    pub chains_to: Vec<ChainLink>,
}

/// A file of the directory that holds no certificate or CRL pgtls can read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SkippedFile {
    /// The file.
    pub file: String,
    /// Why.
    pub reason: String,
}

impl SkippedFile {
    /// A file passed over, and why (a caller that could not read it, say).
    pub fn new(file: &str, reason: &str) -> Self {
        Self {
            file: file.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// What [`chains`] found in a directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct DirectoryReport {
    /// The directory.
    pub dir: String,
    /// Its certificates and CRLs, by file name, then in file order.
    pub entries: Vec<DirectoryEntry>,
    /// Its files without a readable certificate or CRL.
    pub skipped: Vec<SkippedFile>,
}

/// The report of [`inspect`] (`pgtls bundle inspect --json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct InspectReport {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The bundle.
    pub file: String,
    /// Its certificates, in order.
    pub certificates: Vec<CertificateEntry>,
    /// Its CRLs, in order.
    pub crls: Vec<CrlEntry>,
    /// Entries that repeat an earlier one (same DER).
    pub duplicates: Vec<DuplicateEntry>,
    /// With a directory: what in it chains to the bundle.
    pub directory: Option<DirectoryReport>,
}

/// Lists the entries of `bundle` (read from `file`) at `now`.
pub fn inspect(file: &str, bundle: &Bundle, now: OffsetDateTime) -> InspectReport {
    let mut duplicates = Vec::new();
    for (i, e) in bundle.entries.iter().enumerate() {
        if let Some(first) = bundle
            .entries
            .iter()
            .take(i)
            .find(|f| f.item.der() == e.item.der())
        {
            duplicates.push(DuplicateEntry {
                kind: e.item.kind(),
                name: e.item.name(),
                sha256_fingerprint: colon_hex(&e.item.fingerprint()),
                first: first.origin.clone(),
                duplicate: e.origin.clone(),
            });
        }
    }
    InspectReport {
        schema_version: SCHEMA_VERSION,
        file: file.to_owned(),
        certificates: bundle
            .certificates()
            .map(|(o, c)| CertificateEntry::new(o, c, now))
            .collect(),
        crls: bundle
            .crls()
            .map(|(o, c)| CrlEntry::new(o, c, now))
            .collect(),
        duplicates,
        directory: None,
    }
}

/// The longest chain [`chains`] follows from an entry to the bundle (intermediates).
const MAX_DEPTH: usize = 8;

/// Which certificates and CRLs of `files` (name and contents, as read from the
/// directory `dir`) chain to a certificate of `bundle`: a certificate or CRL chains to
/// a bundle certificate that verifies its signature, or to one a CA certificate of the
/// files chains to when that CA certificate verifies it (at most eight levels). Names
/// only select the candidates; every link is a verified signature. Files that are not
/// PEM or DER certificates and CRLs (keys, notes) are listed as skipped; blocks other
/// than certificates and CRLs inside a PEM file are passed over.
pub fn chains(bundle: &Bundle, dir: &str, files: &[(String, Vec<u8>)]) -> DirectoryReport {
    let mut found: Vec<Entry> = Vec::new();
    let mut skipped = Vec::new();
    for (name, bytes) in files {
        match read(bytes, name, Blocks::Scan) {
            Ok(v) if v.is_empty() => skipped.push(SkippedFile {
                file: name.clone(),
                reason: "no certificate or CRL".to_owned(),
            }),
            Ok(v) => found.extend(v),
            Err(e) => {
                // The reason without the file name the entry already carries.
                let text = e.to_string();
                let reason = text
                    .strip_prefix(name.as_str())
                    .map(|r| r.trim_start_matches(':').trim_start())
                    .unwrap_or(&text);
                skipped.push(SkippedFile {
                    file: name.clone(),
                    reason: reason.to_owned(),
                });
            }
        }
    }
    let anchors: Vec<&Certificate> = bundle.certificates().map(|(_, c)| c).collect();
    let intermediates: Vec<&Certificate> = found
        .iter()
        .filter_map(|e| match &e.item {
            Item::Certificate(c) if is_ca(c) => Some(c.as_ref()),
            _ => None,
        })
        .collect();
    let entries = found
        .iter()
        .map(|e| {
            let mut links = Vec::new();
            let mut path = Vec::new();
            walk(
                Signed::of(&e.item),
                &anchors,
                &intermediates,
                &mut path,
                &mut links,
            );
            DirectoryEntry {
                origin: e.origin.clone(),
                kind: e.item.kind(),
                name: e.item.name(),
                sha256_fingerprint: colon_hex(&e.item.fingerprint()),
                in_bundle: anchors.iter().any(|a| a.der() == e.item.der()),
                chains_to: links,
            }
        })
        .collect();
    DirectoryReport {
        dir: dir.to_owned(),
        entries,
        skipped,
    }
}

/// A signed object whose issuer [`walk`] looks for.
#[derive(Clone, Copy)]
enum Signed<'a> {
    Certificate(&'a Certificate),
    Crl(&'a Crl),
}

impl<'a> Signed<'a> {
    fn of(item: &'a Item) -> Self {
        match item {
            Item::Certificate(c) => Self::Certificate(c),
            Item::Crl(c) => Self::Crl(c),
        }
    }

    fn issuer(self) -> &'a pgtls_x509::DistinguishedName {
        match self {
            Self::Certificate(c) => c.issuer(),
            Self::Crl(c) => c.issuer(),
        }
    }

    fn der(self) -> &'a [u8] {
        match self {
            Self::Certificate(c) => c.der(),
            Self::Crl(c) => c.der(),
        }
    }

    /// `issuer`'s subject is this object's issuer and its key verifies the signature.
    fn issued_by(self, issuer: &Certificate) -> bool {
        issuer.subject().matches(self.issuer())
            && match self {
                Self::Certificate(c) => c.is_signed_by(issuer),
                Self::Crl(c) => c.is_signed_by(issuer),
            }
    }
}

/// Follows `item` up through `intermediates` (the certificates on `path` so far) to
/// the `anchors`, adding every anchor reached (once) to `links`.
fn walk<'a>(
    item: Signed<'_>,
    anchors: &[&Certificate],
    intermediates: &[&'a Certificate],
    path: &mut Vec<&'a Certificate>,
    links: &mut Vec<ChainLink>,
) {
    for a in anchors {
        if item.issued_by(a) {
            let sha = colon_hex(&a.sha256_fingerprint());
            if !links.iter().any(|l| l.anchor_sha256 == sha) {
                links.push(ChainLink {
                    anchor_sha256: sha,
                    anchor_subject: a.subject().to_string(),
                    through: path.iter().map(|c| c.subject().to_string()).collect(),
                });
            }
        }
    }
    if path.len() >= MAX_DEPTH {
        return;
    }
    for &i in intermediates {
        // Not through itself, one already on the path, or a bundle certificate (an
        // anchor ends a chain).
        if i.der() == item.der()
            || path.iter().any(|p| p.der() == i.der())
            || anchors.iter().any(|a| a.der() == i.der())
        {
            continue;
        }
        if item.issued_by(i) {
            path.push(i);
            walk(Signed::Certificate(i), anchors, intermediates, path, links);
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_cannot_start_a_line_of_their_own() {
        let c = comment("Subject", "CN=x\n-----BEGIN CERTIFICATE-----\r");
        assert_eq!(c.lines().count(), 1, "{c}");
        assert!(c.starts_with("# Subject: CN=x\\u{a}-----BEGIN"), "{c}");
    }

    #[test]
    fn reading_names_file_block_and_line() {
        let e = Bundle::parse(b"", "f.pem").unwrap_err();
        assert!(matches!(e, BundleError::NotPem { .. }), "{e:?}");
        let two = "junk\n-----BEGIN X509 CRL-----\nTWFu\n-----END X509 CRL-----\n\
                   -----BEGIN PRIVATE KEY-----\nTWFu\n-----END PRIVATE KEY-----\n";
        // The CRL block does not parse: block 1, line 2.
        let e = Bundle::parse(two.as_bytes(), "f.pem").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("f.pem: PEM block 1 (line 2): not a valid CRL: "),
            "{e}"
        );
        let key_only = "-----BEGIN EC PRIVATE KEY-----\nTWFu\n-----END EC PRIVATE KEY-----\n";
        let e = Bundle::parse(key_only.as_bytes(), "k.pem").unwrap_err();
        assert_eq!(
            e,
            BundleError::PrivateKey {
                at: Origin::new("k.pem", 1, Some(1)),
                label: "EC PRIVATE KEY".to_owned()
            }
        );
        // Scanning a directory passes keys over.
        assert!(
            read(key_only.as_bytes(), "k.pem", Blocks::Scan)
                .unwrap()
                .is_empty()
        );
    }
}
