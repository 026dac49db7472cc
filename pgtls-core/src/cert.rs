//! Certificates: parsing and the fields pgtls needs.

use std::fmt;

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use crate::error::Error;
use crate::key::{PublicKey, sha256};
use crate::name::{DistinguishedName, SubjectAltName};
use crate::pem::{encode_pem, looks_like_pem, parse_pem};
use crate::serial::SerialNumber;

/// An X.509 certificate (DER), parsed once when created.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    subject: DistinguishedName,
    issuer: DistinguishedName,
    raw_serial: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    public_key: PublicKey,
    ski: Option<Vec<u8>>,
    aki: Option<Vec<u8>>,
    sans: Vec<SubjectAltName>,
    constraints: Constraints,
    extensions: Vec<ExtensionInfo>,
    version: u32,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({})", self.subject)
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
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| Error::malformed(source, "certificate", e.to_string()))?;
        if !rest.is_empty() {
            return Err(Error::malformed(source, "certificate", "trailing data"));
        }
        let bad = |what: String| Error::malformed(source, "certificate", what);
        let subject = crate::name::name_from_der(cert.subject().as_raw(), source)?;
        let issuer = crate::name::name_from_der(cert.issuer().as_raw(), source)?;
        let public_key = PublicKey::from_spki_der(cert.public_key().raw, source)?;
        let mut ski = None;
        let mut aki = None;
        for e in cert.iter_extensions() {
            match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
                }
                ParsedExtension::ParseError { .. } => {
                    return Err(bad(format!(
                        "extension {} does not parse",
                        extension_name(&e.oid.to_id_string())
                    )));
                }
                _ => {}
            }
        }
        let sans = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(general_name_to_san)
                .collect(),
            Ok(None) => Vec::new(),
            Err(_) => return Err(bad("duplicate or malformed subjectAltName".to_owned())),
        };
        let extensions = cert
            .extensions()
            .iter()
            .map(|e| ExtensionInfo {
                name: extension_name(&e.oid.to_id_string()),
                critical: e.critical,
            })
            .collect();
        Ok(Self {
            der: der.to_vec(),
            subject,
            issuer,
            raw_serial: cert.raw_serial().to_vec(),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            public_key,
            ski,
            aki,
            sans,
            constraints: constraints(&cert),
            extensions,
            version: cert.version().0,
        })
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
        &self.der
    }

    /// PEM (`-----BEGIN CERTIFICATE-----`).
    pub fn to_pem(&self) -> String {
        encode_pem("CERTIFICATE", &self.der)
    }

    /// The subject, byte for byte.
    pub fn subject(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The issuer, byte for byte.
    pub fn issuer(&self) -> &DistinguishedName {
        &self.issuer
    }

    /// The serial number (`None` for zero or negative serials, which some old tools wrote).
    pub fn serial(&self) -> Option<SerialNumber> {
        SerialNumber::from_bytes(&self.raw_serial).ok()
    }

    /// Upper-case hex of the raw serial, as OpenSSL prints it.
    pub fn serial_hex(&self) -> String {
        self.raw_serial.iter().map(|b| format!("{b:02X}")).collect()
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
        self.ski.as_deref()
    }

    /// The key identifier of the authority key identifier extension, if present.
    pub fn authority_key_identifier(&self) -> Option<&[u8]> {
        self.aki.as_deref()
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
        self.version
    }

    /// Whether the subject equals the issuer (byte for byte).
    pub fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }

    /// SHA-256 of the DER (the fingerprint `openssl x509 -fingerprint -sha256` prints).
    pub fn sha256_fingerprint(&self) -> [u8; 32] {
        sha256(&self.der)
    }

    /// Whether the signature verifies with `issuer`'s public key.
    pub fn is_signed_by(&self, issuer: &Self) -> bool {
        signed_by(&self.der, issuer)
    }
}

/// Whether the signed structure `der` (certificate, CRL) verifies with `issuer`'s key,
/// through pgtls-x509's signature table.
pub(crate) fn signed_by(der: &[u8], issuer: &Certificate) -> bool {
    pgtls_x509::signature::SignedData::from_der(der)
        .is_ok_and(|s| s.verify_with(issuer.public_key().spki_der()).is_ok())
}

pub(crate) fn general_name_to_san(g: &GeneralName<'_>) -> Option<SubjectAltName> {
    match g {
        GeneralName::DNSName(d) => Some(SubjectAltName::Dns((*d).to_owned())),
        GeneralName::RFC822Name(e) => Some(SubjectAltName::Email((*e).to_owned())),
        GeneralName::URI(u) => Some(SubjectAltName::Uri((*u).to_owned())),
        GeneralName::IPAddress(b) => match b.len() {
            4 => <[u8; 4]>::try_from(*b)
                .ok()
                .map(|a| SubjectAltName::Ip(a.into())),
            16 => <[u8; 16]>::try_from(*b)
                .ok()
                .map(|a| SubjectAltName::Ip(a.into())),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn extension_name(oid: &str) -> String {
    match oid {
        "2.5.29.14" => "subjectKeyIdentifier",
        "2.5.29.15" => "keyUsage",
        "2.5.29.17" => "subjectAltName",
        "2.5.29.19" => "basicConstraints",
        "2.5.29.20" => "cRLNumber",
        "2.5.29.21" => "reasonCode",
        "2.5.29.28" => "issuingDistributionPoint",
        "2.5.29.30" => "nameConstraints",
        "2.5.29.31" => "cRLDistributionPoints",
        "2.5.29.32" => "certificatePolicies",
        "2.5.29.35" => "authorityKeyIdentifier",
        "2.5.29.37" => "extendedKeyUsage",
        "1.3.6.1.5.5.7.1.1" => "authorityInfoAccess",
        other => return other.to_owned(),
    }
    .to_owned()
}

fn constraints(cert: &X509Certificate<'_>) -> Constraints {
    let mut c = Constraints::default();
    if let Ok(Some(bc)) = cert.basic_constraints() {
        c.is_ca = bc.value.ca;
        c.path_len = bc.value.path_len_constraint;
    }
    if let Ok(Some(ku)) = cert.key_usage() {
        let ku = ku.value;
        let flags = [
            (ku.digital_signature(), "digitalSignature"),
            (ku.non_repudiation(), "nonRepudiation"),
            (ku.key_encipherment(), "keyEncipherment"),
            (ku.data_encipherment(), "dataEncipherment"),
            (ku.key_agreement(), "keyAgreement"),
            (ku.key_cert_sign(), "keyCertSign"),
            (ku.crl_sign(), "cRLSign"),
            (ku.encipher_only(), "encipherOnly"),
            (ku.decipher_only(), "decipherOnly"),
        ];
        c.key_usage = flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
    }
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let e = eku.value;
        for (on, n) in [
            (e.any, "anyExtendedKeyUsage"),
            (e.server_auth, "serverAuth"),
            (e.client_auth, "clientAuth"),
            (e.code_signing, "codeSigning"),
            (e.email_protection, "emailProtection"),
            (e.time_stamping, "timeStamping"),
            (e.ocsp_signing, "OCSPSigning"),
        ] {
            if on {
                c.extended_key_usage.push(n.to_owned());
            }
        }
        c.extended_key_usage
            .extend(e.other.iter().map(|o| o.to_id_string()));
    }
    c
}
