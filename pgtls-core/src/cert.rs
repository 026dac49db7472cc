//! Certificates: parsing and the fields pgtls needs.

use std::fmt;

use pgtls_x509::GeneralName;
use time::OffsetDateTime;

use crate::error::Error;
use crate::key::{PublicKey, sha256};
use crate::name::{DistinguishedName, SubjectAltName};
use crate::pem::{encode_pem, looks_like_pem, parse_pem};
use crate::serial::SerialNumber;

/// An X.509 certificate (DER), parsed once when created: the PKI view of pgtls-x509's
/// [`pgtls_x509::Certificate`] (whose verification view [`Certificate::x509`] gives).
#[derive(Clone)]
pub struct Certificate {
    x509: pgtls_x509::Certificate,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    public_key: PublicKey,
    sans: Vec<SubjectAltName>,
    constraints: Constraints,
    extensions: Vec<ExtensionInfo>,
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der() == other.der()
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({})", self.subject())
    }
}

/// Basic constraints and key usage of a certificate, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Constraints {
    /// `CA:TRUE`.
    pub is_ca: bool,
    /// The path length constraint.
    pub path_len: Option<u32>,
    /// Key usage names (`digitalSignature`, `keyCertSign`, ...), empty when absent.
    pub key_usage: Vec<&'static str>,
    /// Extended key usage names (`serverAuth`, `clientAuth`, or dotted OIDs).
    pub extended_key_usage: Vec<String>,
}

/// One extension, for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionInfo {
    /// A short name (`subjectAltName`, ...) or the dotted OID.
    pub name: String,
    /// Whether it is marked critical.
    pub critical: bool,
}

impl Certificate {
    /// From DER. `source` names the input in errors.
    ///
    /// # Errors
    /// [`Error::Malformed`] when it does not parse as a certificate.
    pub fn from_der(der: &[u8], source: &str) -> Result<Self, Error> {
        let x509 = pgtls_x509::Certificate::from_der(der)
            .map_err(|e| Error::malformed(source, "certificate", e.to_string()))?;
        let bad = |what: String| Error::malformed(source, "certificate", what);
        let ext = x509.extensions();
        const SAN: &str = "2.5.29.17";
        if ext.unparsable.as_deref() == Some(SAN) || ext.duplicate.as_deref() == Some(SAN) {
            return Err(bad("duplicate or malformed subjectAltName".to_owned()));
        }
        if let Some(oid) = &ext.unparsable {
            return Err(bad(format!(
                "extension {} does not parse",
                pgtls_x509::extension_name(oid)
            )));
        }
        let time = |t: i64| {
            OffsetDateTime::from_unix_timestamp(t)
                .map_err(|_| bad("validity out of range".to_owned()))
        };
        let public_key = PublicKey::from_spki_der(&x509.public_key().der, source)?;
        let sans = ext
            .san
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(general_name_to_san)
            .collect();
        let extensions = ext
            .list
            .iter()
            .map(|(oid, critical)| ExtensionInfo {
                name: pgtls_x509::extension_name(oid),
                critical: *critical,
            })
            .collect();
        let constraints = Constraints {
            is_ca: ext.basic_constraints.is_some_and(|(ca, _)| ca),
            path_len: ext.basic_constraints.and_then(|(_, n)| n),
            key_usage: ext
                .key_usage
                .map(pgtls_x509::key_usage_names)
                .unwrap_or_default(),
            extended_key_usage: ext
                .ext_key_usage
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|o| pgtls_x509::extended_key_usage_name(o))
                .collect(),
        };
        Ok(Self {
            not_before: time(x509.not_before())?,
            not_after: time(x509.not_after())?,
            public_key,
            sans,
            constraints,
            extensions,
            x509,
        })
    }

    /// The verification view: what OpenSSL caches about this certificate.
    pub fn x509(&self) -> &pgtls_x509::Certificate {
        &self.x509
    }

    /// Every certificate of a PEM file (a chain, leaf first), or the one certificate of a
    /// DER file.
    ///
    /// # Errors
    /// [`Error::Malformed`] when the input has no certificate or one does not parse.
    pub fn chain_from_pem_or_der(input: &[u8], source: &str) -> Result<Vec<Self>, Error> {
        if !looks_like_pem(input) {
            return Ok(vec![Self::from_der(input, source)?]);
        }
        let certs = parse_pem(input, source)?
            .into_iter()
            .filter(|b| b.label == "CERTIFICATE" || b.label == "TRUSTED CERTIFICATE")
            .map(|b| Self::from_der(&b.der, source))
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(Error::malformed(
                source,
                "certificate",
                "no CERTIFICATE block",
            ));
        }
        Ok(certs)
    }

    /// The first certificate of PEM or DER input.
    ///
    /// # Errors
    /// As [`Certificate::chain_from_pem_or_der`].
    pub fn from_pem_or_der(input: &[u8], source: &str) -> Result<Self, Error> {
        let mut chain = Self::chain_from_pem_or_der(input, source)?;
        Ok(chain.swap_remove(0))
    }

    /// The DER.
    pub fn der(&self) -> &[u8] {
        self.x509.der()
    }

    /// PEM (`-----BEGIN CERTIFICATE-----`).
    pub fn to_pem(&self) -> String {
        encode_pem("CERTIFICATE", self.der())
    }

    /// The subject, byte for byte.
    pub fn subject(&self) -> &DistinguishedName {
        self.x509.subject()
    }

    /// The issuer, byte for byte.
    pub fn issuer(&self) -> &DistinguishedName {
        self.x509.issuer()
    }

    /// The serial number (`None` for zero or negative serials, which some old tools wrote).
    pub fn serial(&self) -> Option<SerialNumber> {
        SerialNumber::from_bytes(self.x509.serial()).ok()
    }

    /// Upper-case hex of the serial, as OpenSSL prints it (`openssl x509 -serial`,
    /// `index.txt`): the DER sign octet of a positive serial whose top bit is set is not
    /// part of the number, so `00 93 3A` prints as `933A`.
    pub fn serial_hex(&self) -> String {
        let raw = self.x509.serial();
        let mut digits = raw;
        while let [0, rest @ ..] = digits
            && !rest.is_empty()
        {
            digits = rest;
        }
        digits.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The subject public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The subject key identifier extension, if present.
    pub fn subject_key_identifier(&self) -> Option<&[u8]> {
        self.x509.extensions().subject_key_id.as_deref()
    }

    /// The key identifier of the authority key identifier extension, if present.
    pub fn authority_key_identifier(&self) -> Option<&[u8]> {
        self.x509
            .extensions()
            .authority_key_id
            .as_ref()
            .and_then(|a| a.key_id.as_deref())
    }

    /// Subject alternative names (DNS, IP, e-mail, URI; other kinds are skipped).
    pub fn subject_alt_names(&self) -> &[SubjectAltName] {
        &self.sans
    }

    /// Basic constraints and key usages.
    pub fn constraints(&self) -> &Constraints {
        &self.constraints
    }

    /// The extensions, in order.
    pub fn extensions(&self) -> &[ExtensionInfo] {
        &self.extensions
    }

    /// The X.509 version as written (0 = v1, 2 = v3).
    pub fn version(&self) -> u32 {
        self.x509.version()
    }

    /// Whether the subject equals the issuer (byte for byte).
    pub fn is_self_issued(&self) -> bool {
        self.subject() == self.issuer()
    }

    /// SHA-256 of the DER (the fingerprint `openssl x509 -fingerprint -sha256` prints).
    pub fn sha256_fingerprint(&self) -> [u8; 32] {
        sha256(self.der())
    }

    /// Whether the signature verifies with `issuer`'s public key.
    pub fn is_signed_by(&self, issuer: &Self) -> bool {
        self.x509.is_signed_by(&issuer.x509)
    }
}

/// The subjectAltName entries pgtls-core models (DNS, e-mail, URI as ASCII text, IPv4/IPv6
/// addresses); other kinds are skipped.
pub(crate) fn general_name_to_san(g: &GeneralName) -> Option<SubjectAltName> {
    let text = |b: &[u8]| {
        b.is_ascii()
            .then(|| String::from_utf8(b.to_vec()).ok())
            .flatten()
    };
    match g {
        GeneralName::Dns(d) => text(d).map(SubjectAltName::Dns),
        GeneralName::Email(e) => text(e).map(SubjectAltName::Email),
        GeneralName::Uri(u) => text(u).map(SubjectAltName::Uri),
        GeneralName::Ip(b) => match b.len() {
            4 => <[u8; 4]>::try_from(b.as_slice())
                .ok()
                .map(|a| SubjectAltName::Ip(a.into())),
            16 => <[u8; 16]>::try_from(b.as_slice())
                .ok()
                .map(|a| SubjectAltName::Ip(a.into())),
            _ => None,
        },
        _ => None,
    }
}
