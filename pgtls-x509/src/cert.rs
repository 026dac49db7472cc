//! Certificates and CRLs, parsed once into owned data the way OpenSSL caches a
//! certificate's extensions (`ossl_x509v3_cache_extensions` in crypto/x509/v3_purp.c):
//! both the verification view (what `X509_verify_cert` consults, for pgtls-verify) and the
//! PKI view (names, validity, usages, extensions as `openssl x509 -text` lists them, for
//! pgtls-core) come from the same parse.

use crate::DistinguishedName;
use crate::signature::{self, KeyKind, PublicKeyInfo, SignatureAlgorithm, SignedData};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::error::X509Error;
use x509_parser::extensions::{GeneralName as XName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use crate::NameError;

/// A parsed X.509 certificate (owned): read once, with what OpenSSL caches about it.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub(crate) der: Vec<u8>,
    pub(crate) tbs: Vec<u8>,
    pub(crate) version: u32,
    pub(crate) serial: Vec<u8>,
    pub(crate) subject: Name,
    pub(crate) issuer: Name,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) sig: Signature,
    pub(crate) spki: SubjectPublicKey,
    pub(crate) ext: Extensions,
    /// First commonName, raw ASN.1 string bytes, plus its tag number.
    pub(crate) first_cn: Option<(u32, Vec<u8>)>,
    /// Self-issued: subject equals issuer (EXFLAG_SI).
    pub(crate) self_issued: bool,
    /// Self-signed as OpenSSL's cache decides it (EXFLAG_SS): self-issued, AKID
    /// consistent with its own SKID, and signature algorithm matching its key.
    pub(crate) self_signed: bool,
}

/// The signature over a certificate or CRL.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Signature {
    /// The algorithm, from [`crate::signature`]'s table; `None` when unknown or its
    /// parameters are not valid (such a signature never verifies).
    pub algorithm: Option<SignatureAlgorithm>,
    /// The signature bits.
    pub value: Vec<u8>,
}

impl Signature {
    /// The signature of a signed structure (certificate or CRL) in `der`.
    fn of(der: &[u8], value: &[u8]) -> Self {
        let alg = SignedData::from_der(der)
            .ok()
            .and_then(|s| SignatureAlgorithm::from_der(s.algorithm).ok());
        Self {
            algorithm: alg,
            value: value.to_vec(),
        }
    }
}

/// A subject public key.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SubjectPublicKey {
    /// The whole `SubjectPublicKeyInfo` element.
    pub der: Vec<u8>,
    /// The key as [`crate::signature`] reads it for verification (`None`: unreadable).
    pub info: Option<PublicKeyInfo>,
    /// The key type.
    pub kind: KeyKind,
    /// Key size in bits (RSA modulus bits, EC field bits), 0 when unknown.
    pub bits: usize,
}

/// The extensions OpenSSL's verifier consults.
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub struct Extensions {
    /// basicConstraints: (cA, pathLenConstraint).
    pub basic_constraints: Option<(bool, Option<u32>)>,
    /// keyUsage bits in OpenSSL's byte order (KU_DIGITAL_SIGNATURE = 0x80, ...).
    pub key_usage: Option<u16>,
    /// extendedKeyUsage OIDs.
    pub ext_key_usage: Option<Vec<String>>,
    /// Netscape cert type, first byte.
    pub ns_cert_type: Option<u8>,
    /// subjectKeyIdentifier.
    pub subject_key_id: Option<Vec<u8>>,
    /// authorityKeyIdentifier.
    pub authority_key_id: Option<AuthorityKeyId>,
    /// subjectAltName entries, or None when the extension is absent.
    pub san: Option<Vec<GeneralName>>,
    /// CRL distribution point full names (URIs, as text) per point.
    pub crl_dp: Option<Vec<Vec<String>>>,
    /// Name constraints: (permitted, excluded) subtrees.
    pub name_constraints: Option<(Vec<GeneralName>, Vec<GeneralName>)>,
    /// A critical extension OpenSSL does not handle (EXFLAG_CRITICAL), by OID.
    pub unhandled_critical: Option<String>,
    /// An extension that failed to parse or appears twice (EXFLAG_INVALID).
    pub invalid: bool,
    /// The first extension that failed to parse, by OID.
    pub unparsable: Option<String>,
    /// The first extension that appears twice, by OID.
    pub duplicate: Option<String>,
    /// Every extension in order: OID (dotted) and whether it is critical.
    pub list: Vec<(String, bool)>,
}

/// authorityKeyIdentifier.
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub struct AuthorityKeyId {
    /// keyIdentifier.
    pub key_id: Option<Vec<u8>>,
    /// The directoryName of authorityCertIssuer.
    pub issuer: Option<Name>,
    /// authorityCertSerialNumber.
    pub serial: Option<Vec<u8>>,
}

/// One subjectAltName (or name-constraint base) entry.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeneralName {
    /// dNSName, raw IA5String bytes (as libpq compares them: bytes, not text).
    Dns(Vec<u8>),
    /// iPAddress, raw octets (any length; constraints carry address+mask).
    Ip(Vec<u8>),
    /// rfc822Name, raw bytes.
    Email(Vec<u8>),
    /// uniformResourceIdentifier, raw bytes.
    Uri(Vec<u8>),
    /// directoryName.
    Directory(DistinguishedName),
    /// Any other GeneralName type.
    Other,
}

// OpenSSL keyUsage bits (include/openssl/x509v3.h).
/// keyUsage digitalSignature (OpenSSL `KU_DIGITAL_SIGNATURE`).
pub const KU_DIGITAL_SIGNATURE: u16 = 0x0080;
/// keyUsage keyEncipherment.
pub const KU_KEY_ENCIPHERMENT: u16 = 0x0020;
/// keyUsage keyAgreement.
pub const KU_KEY_AGREEMENT: u16 = 0x0008;
/// keyUsage keyCertSign.
pub const KU_KEY_CERT_SIGN: u16 = 0x0004;
/// keyUsage cRLSign.
pub const KU_CRL_SIGN: u16 = 0x0002;

// Netscape cert type bits.
/// Netscape cert type: SSL server.
pub const NS_SSL_SERVER: u8 = 0x40;
/// Netscape cert type: SSL client.
pub const NS_SSL_CLIENT: u8 = 0x80;
/// Netscape cert type: SSL CA.
pub const NS_SSL_CA: u8 = 0x04;
/// Netscape cert type: any CA.
pub const NS_ANY_CA: u8 = 0x07;

/// extendedKeyUsage serverAuth.
pub const OID_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
/// extendedKeyUsage clientAuth.
pub const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
/// Netscape Server Gated Crypto.
pub const OID_NS_SGC: &str = "2.16.840.1.113730.4.1";
/// Microsoft Server Gated Crypto.
pub const OID_MS_SGC: &str = "1.3.6.1.4.1.311.10.3.3";

/// Extensions OpenSSL knows how to process when critical
/// (`X509_supported_extension`, crypto/x509/v3_purp.c, OpenSSL 3.0).
const SUPPORTED_CRITICAL: &[&str] = &[
    "2.16.840.1.113730.1.1", // nsCertType
    "2.5.29.15",             // keyUsage
    "2.5.29.17",             // subjectAltName
    "2.5.29.19",             // basicConstraints
    "2.5.29.32",             // certificatePolicies
    "2.5.29.31",             // cRLDistributionPoints
    "2.5.29.37",             // extendedKeyUsage
    "1.3.6.1.5.5.7.1.7",     // sbgp-ipAddrBlock
    "1.3.6.1.5.5.7.1.8",     // sbgp-autonomousSysNum
    "1.3.6.1.5.5.7.48.1.5",  // OCSP noCheck
    "2.5.29.36",             // policyConstraints
    "1.3.6.1.5.5.7.1.14",    // proxyCertInfo
    "2.5.29.30",             // nameConstraints
    "2.5.29.33",             // policyMappings
    "2.5.29.54",             // inhibitAnyPolicy
];

type Name = DistinguishedName;

fn name_of(raw: &[u8]) -> Result<Name, ParseError> {
    Name::from_der(raw).map_err(ParseError::Name)
}

/// Why a certificate, CRL or request could not be parsed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The DER ends before the object does.
    Truncated,
    /// Bytes follow the object.
    TrailingData,
    /// A part of the object is malformed.
    Invalid(Part),
    /// An issuer or subject name is malformed.
    Name(NameError),
}

/// The part of a certificate, CRL or request that is malformed ([`ParseError::Invalid`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The DER encoding itself (tags, lengths, a value of the wrong type).
    Encoding,
    /// The version.
    Version,
    /// The serial number.
    Serial,
    /// An algorithm identifier.
    AlgorithmIdentifier,
    /// A name.
    Name,
    /// A time (validity, thisUpdate, nextUpdate, revocation date).
    Time,
    /// The subject public key info.
    PublicKey,
    /// The issuer or subject unique identifier.
    UniqueId,
    /// The extensions (malformed, or one twice).
    Extensions,
    /// The attributes of a request (malformed, or one twice).
    Attributes,
    /// The signature value.
    Signature,
    /// The to-be-signed part.
    Tbs,
    /// The object as a whole.
    Structure,
    /// A number.
    Number,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated => f.write_str("the DER ends early"),
            Self::TrailingData => f.write_str("trailing data after the object"),
            Self::Invalid(part) => write!(f, "invalid {part}"),
            Self::Name(e) => write!(f, "name: {e}"),
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Encoding => "DER encoding",
            Self::Version => "version",
            Self::Serial => "serial number",
            Self::AlgorithmIdentifier => "algorithm identifier",
            Self::Name => "name",
            Self::Time => "time",
            Self::PublicKey => "subject public key info",
            Self::UniqueId => "unique identifier",
            Self::Extensions => "extensions",
            Self::Attributes => "attributes",
            Self::Signature => "signature value",
            Self::Tbs => "to-be-signed part",
            Self::Structure => "structure",
            Self::Number => "number",
        })
    }
}

impl std::error::Error for ParseError {}

impl From<x509_parser::nom::Err<X509Error>> for ParseError {
    /// x509-parser's diagnosis, as the part it names.
    fn from(e: x509_parser::nom::Err<X509Error>) -> Self {
        use X509Error as X;
        let e = match e {
            x509_parser::nom::Err::Incomplete(_) => return Self::Truncated,
            x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e,
        };
        Self::Invalid(match e {
            X::InvalidVersion => Part::Version,
            X::InvalidSerial => Part::Serial,
            X::InvalidAlgorithmIdentifier | X::SignatureUnsupportedAlgorithm => {
                Part::AlgorithmIdentifier
            }
            X::InvalidX509Name => Part::Name,
            X::InvalidDate => Part::Time,
            X::InvalidSPKI => Part::PublicKey,
            X::InvalidSubjectUID | X::InvalidIssuerUID => Part::UniqueId,
            X::InvalidExtensions | X::DuplicateExtensions => Part::Extensions,
            X::InvalidAttributes | X::DuplicateAttributes => Part::Attributes,
            X::InvalidSignatureValue | X::SignatureVerificationError => Part::Signature,
            X::InvalidTbsCertificate => Part::Tbs,
            X::InvalidNumber => Part::Number,
            X::Der(x509_parser::der_parser::error::BerError::Incomplete(_)) => {
                return Self::Truncated;
            }
            X::Der(_) | X::NomError(_) => Part::Encoding,
            _ => Part::Structure,
        })
    }
}

impl Certificate {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, ParseError> {
        let (rest, x) = X509Certificate::from_der(der)?;
        if !rest.is_empty() {
            return Err(ParseError::TrailingData);
        }
        let subject = name_of(x.subject().as_raw())?;
        let issuer = name_of(x.issuer().as_raw())?;
        let first_cn = subject
            .first_common_name()
            .map(|a| (u32::from(a.tag()), a.value_bytes().to_vec()));
        let sig = Signature::of(der, x.signature_value.data.as_ref());
        let pk = x.public_key();
        let bits = pk.parsed().map(|p| p.key_size()).unwrap_or(0);
        let info = PublicKeyInfo::from_der(pk.raw).ok();
        let spki = SubjectPublicKey {
            der: pk.raw.to_vec(),
            kind: info.as_ref().map_or(KeyKind::Other, |p| p.kind),
            info,
            bits,
        };
        let ext = extensions(&x);
        let self_issued = subject.matches(&issuer);
        let mut cert = Self {
            der: der.to_vec(),
            tbs: x.tbs_certificate.as_ref().to_vec(),
            version: x.version().0,
            serial: x.raw_serial().to_vec(),
            subject,
            issuer,
            not_before: x.validity().not_before.timestamp(),
            not_after: x.validity().not_after.timestamp(),
            sig,
            spki,
            ext,
            first_cn,
            self_issued,
            self_signed: false,
        };
        cert.self_signed = self_issued
            && akid_matches(&cert, cert.ext.authority_key_id.as_ref())
            && sig_alg_matches_key(&cert.spki, &cert.sig);
        Ok(cert)
    }

    /// The DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The signed `TBSCertificate` element.
    pub fn tbs(&self) -> &[u8] {
        &self.tbs
    }

    /// The version as written (0 = v1, 2 = v3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The serial number's content octets, as written.
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The subject.
    pub fn subject(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The issuer.
    pub fn issuer(&self) -> &DistinguishedName {
        &self.issuer
    }

    /// notBefore (seconds since the Unix epoch).
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// notAfter (seconds since the Unix epoch).
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.sig
    }

    /// The subject public key.
    pub fn public_key(&self) -> &SubjectPublicKey {
        &self.spki
    }

    /// The extensions as OpenSSL's cache reads them.
    pub fn extensions(&self) -> &Extensions {
        &self.ext
    }

    /// The first commonName: its ASN.1 tag and raw bytes (what libpq and the server read).
    pub fn first_cn(&self) -> Option<(u32, &[u8])> {
        self.first_cn.as_ref().map(|(t, v)| (*t, v.as_slice()))
    }

    /// Self-issued: subject matches issuer (OpenSSL's EXFLAG_SI).
    pub fn is_self_issued(&self) -> bool {
        self.self_issued
    }

    /// Self-signed as OpenSSL's cache decides it (EXFLAG_SS): self-issued, AKID consistent
    /// with its own SKID, and a signature algorithm that fits its key. The signature itself
    /// is not checked (OpenSSL does not either).
    pub fn is_self_signed(&self) -> bool {
        self.self_signed
    }

    /// Whether the signature verifies with `issuer`'s key.
    pub fn is_signed_by(&self, issuer: &Self) -> bool {
        verify_signature(&issuer.spki, &self.sig, &self.tbs)
    }

    /// A certificate reduced to the names the host-name checks read, for tests of those
    /// checks (no DER, no key, no signature).
    #[doc(hidden)]
    pub fn for_name_checks(san: Option<Vec<GeneralName>>, cn: Option<&[u8]>) -> Self {
        let name = Name::empty();
        Self {
            der: Vec::new(),
            tbs: Vec::new(),
            version: 2,
            serial: vec![1],
            subject: name.clone(),
            issuer: name,
            not_before: 0,
            not_after: 0,
            sig: Signature {
                algorithm: None,
                value: Vec::new(),
            },
            spki: SubjectPublicKey {
                der: Vec::new(),
                info: None,
                kind: KeyKind::Other,
                bits: 0,
            },
            ext: Extensions {
                san,
                ..Extensions::default()
            },
            first_cn: cn.map(|c| (12, c.to_vec())),
            self_issued: false,
            self_signed: false,
        }
    }

    /// `X509_check_ca`: 0 = not a CA; 1 = basicConstraints CA; 3 = v1
    /// self-signed root; 4 = keyUsage keyCertSign without basicConstraints;
    /// 5 = Netscape CA type.
    pub fn check_ca(&self) -> u8 {
        if let Some(ku) = self.ext.key_usage
            && ku & KU_KEY_CERT_SIGN == 0
        {
            return 0;
        }
        if let Some((ca, _)) = self.ext.basic_constraints {
            return u8::from(ca);
        }
        if self.version == 0 && self.self_signed {
            return 3;
        }
        if self.ext.key_usage.is_some() {
            return 4;
        }
        if self.ext.ns_cert_type.is_some_and(|ns| ns & NS_ANY_CA != 0) {
            return 5;
        }
        0
    }

    /// basicConstraints cA is TRUE (EXFLAG_CA).
    pub fn is_ca_flag(&self) -> bool {
        matches!(self.ext.basic_constraints, Some((true, _)))
    }

    /// pathLenConstraint as OpenSSL keeps it (`ex_pathlen`; only for CAs
    /// whose keyUsage, if any, allows certificate signing).
    pub fn path_len(&self) -> Option<u32> {
        match self.ext.basic_constraints {
            Some((true, Some(n))) => {
                if self
                    .ext
                    .key_usage
                    .is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0)
                {
                    None
                } else {
                    Some(n)
                }
            }
            _ => None,
        }
    }

    /// OpenSSL's subject-name hash (`openssl x509 -hash`).
    pub fn subject_hash(&self) -> u32 {
        self.subject.hash()
    }

    /// The subject as [`DistinguishedName`]'s `Display` prints it.
    pub fn subject_text(&self) -> String {
        self.subject.to_string()
    }
}

/// `X509_check_akid(issuer, akid)`: true when no AKID part contradicts the issuer.
pub fn akid_matches(issuer: &Certificate, akid: Option<&AuthorityKeyId>) -> bool {
    let Some(akid) = akid else { return true };
    if let (Some(kid), Some(skid)) = (&akid.key_id, &issuer.ext.subject_key_id)
        && kid != skid
    {
        return false;
    }
    if let Some(serial) = &akid.serial
        && strip_zeros(serial) != strip_zeros(&issuer.serial)
    {
        return false;
    }
    if let Some(name) = &akid.issuer
        && !name.matches(&issuer.issuer)
    {
        return false;
    }
    true
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let mut s = b;
    while s.len() > 1 && s.first() == Some(&0) {
        s = s.get(1..).unwrap_or_default();
    }
    s
}

/// `check_sig_alg_match`: the signature algorithm's key type is the key's type
/// (an RSA-PSS signature may come from a plain RSA key); an algorithm pgtls does
/// not know is not a mismatch (its signature fails to verify instead).
pub fn sig_alg_matches_key(issuer_key: &SubjectPublicKey, sig: &Signature) -> bool {
    sig.algorithm.is_none_or(|a| a.fits_key(issuer_key.kind))
}

/// Is this signature algorithm's digest weaker than 112 bits (SHA-1, MD5, MD4, MD2)?
pub fn sig_digest_too_weak(sig: &Signature) -> bool {
    sig.algorithm.is_some_and(|a| a.digest_too_weak())
}

/// Is the key weaker than OpenSSL security level 2 allows (112-bit: RSA/DSA
/// below 2048 bits, EC below 224 bits)?
pub fn key_too_weak(spki: &SubjectPublicKey) -> bool {
    match spki.kind {
        KeyKind::Rsa | KeyKind::RsaPss | KeyKind::Dsa => spki.bits > 0 && spki.bits < 2048,
        KeyKind::Ec => spki.bits > 0 && spki.bits < 224,
        _ => false,
    }
}

fn extensions(x: &X509Certificate<'_>) -> Extensions {
    let mut e = Extensions::default();
    let mut seen: Vec<String> = Vec::new();
    for ext in x.extensions() {
        let oid = ext.oid.to_id_string();
        if seen.contains(&oid) {
            e.invalid = true;
            e.duplicate.get_or_insert_with(|| oid.clone());
        }
        seen.push(oid.clone());
        e.list.push((oid.clone(), ext.critical));
        if ext.critical
            && !SUPPORTED_CRITICAL.contains(&oid.as_str())
            && e.unhandled_critical.is_none()
        {
            e.unhandled_critical = Some(oid.clone());
        }
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                e.basic_constraints = Some((bc.ca, bc.path_len_constraint));
            }
            ParsedExtension::KeyUsage(ku) => {
                let mut bits = 0u16;
                let map: [(bool, u16); 9] = [
                    (ku.digital_signature(), 0x0080),
                    (ku.non_repudiation(), 0x0040),
                    (ku.key_encipherment(), 0x0020),
                    (ku.data_encipherment(), 0x0010),
                    (ku.key_agreement(), 0x0008),
                    (ku.key_cert_sign(), 0x0004),
                    (ku.crl_sign(), 0x0002),
                    (ku.encipher_only(), 0x0001),
                    (ku.decipher_only(), 0x8000),
                ];
                for (on, bit) in map {
                    if on {
                        bits |= bit;
                    }
                }
                e.key_usage = Some(bits);
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let mut v = Vec::new();
                if eku.any {
                    v.push("2.5.29.37.0".to_string());
                }
                if eku.server_auth {
                    v.push(OID_SERVER_AUTH.to_string());
                }
                if eku.client_auth {
                    v.push(OID_CLIENT_AUTH.to_string());
                }
                if eku.code_signing {
                    v.push("1.3.6.1.5.5.7.3.3".to_string());
                }
                if eku.email_protection {
                    v.push("1.3.6.1.5.5.7.3.4".to_string());
                }
                if eku.time_stamping {
                    v.push("1.3.6.1.5.5.7.3.8".to_string());
                }
                if eku.ocsp_signing {
                    v.push("1.3.6.1.5.5.7.3.9".to_string());
                }
                for o in &eku.other {
                    v.push(o.to_id_string());
                }
                e.ext_key_usage = Some(v);
            }
            ParsedExtension::NSCertType(_) => {
                // BIT STRING: 03 len unused first-byte ...
                e.ns_cert_type = Some(ext.value.get(3).copied().unwrap_or(0));
            }
            ParsedExtension::SubjectKeyIdentifier(kid) => {
                e.subject_key_id = Some(kid.0.to_vec());
            }
            ParsedExtension::AuthorityKeyIdentifier(akid) => {
                let issuer = akid.authority_cert_issuer.as_ref().and_then(|names| {
                    names.iter().find_map(|n| match n {
                        XName::DirectoryName(dn) => Name::from_der(dn.as_raw()).ok(),
                        _ => None,
                    })
                });
                e.authority_key_id = Some(AuthorityKeyId {
                    key_id: akid.key_identifier.as_ref().map(|k| k.0.to_vec()),
                    issuer,
                    serial: akid.authority_cert_serial.map(<[u8]>::to_vec),
                });
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                e.san = Some(san.general_names.iter().map(san_entry).collect());
            }
            ParsedExtension::CRLDistributionPoints(dps) => {
                let mut points = Vec::new();
                for dp in dps.iter() {
                    let mut names = Vec::new();
                    if let Some(x509_parser::extensions::DistributionPointName::FullName(fs)) =
                        &dp.distribution_point
                    {
                        for n in fs {
                            if let XName::URI(u) = n {
                                names.push((*u).to_string());
                            }
                        }
                    }
                    points.push(names);
                }
                e.crl_dp = Some(points);
            }
            ParsedExtension::NameConstraints(nc) => {
                let conv = |v: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
                    v.as_ref()
                        .map(|s| s.iter().map(|st| san_entry(&st.base)).collect())
                        .unwrap_or_default()
                };
                e.name_constraints =
                    Some((conv(&nc.permitted_subtrees), conv(&nc.excluded_subtrees)));
            }
            ParsedExtension::ParseError { .. } => {
                e.invalid = true;
                e.unparsable.get_or_insert_with(|| oid.clone());
            }
            _ => {}
        }
    }
    e
}

fn san_entry(n: &XName<'_>) -> GeneralName {
    match n {
        XName::DNSName(s) => GeneralName::Dns(s.as_bytes().to_vec()),
        XName::IPAddress(b) => GeneralName::Ip(b.to_vec()),
        XName::RFC822Name(s) => GeneralName::Email(s.as_bytes().to_vec()),
        XName::URI(s) => GeneralName::Uri(s.as_bytes().to_vec()),
        XName::DirectoryName(dn) => Name::from_der(dn.as_raw())
            .map(GeneralName::Directory)
            .unwrap_or(GeneralName::Other),
        XName::Invalid(tag, data) if *tag == Tag(2) => GeneralName::Dns(data.to_vec()),
        _ => GeneralName::Other,
    }
}

/// A parsed CRL (owned).
#[derive(Clone, Debug)]
pub struct Crl {
    pub(crate) der: Vec<u8>,
    pub(crate) crl_number: Option<Vec<u8>>,
    pub(crate) entries: Vec<RevokedCertificate>,
    pub(crate) issuer: Name,
    pub(crate) this_update: i64,
    pub(crate) next_update: Option<i64>,
    pub(crate) tbs: Vec<u8>,
    pub(crate) sig: Signature,
    /// Revoked serials (raw, leading zeros stripped) with "removeFromCRL" flag.
    pub(crate) revoked: Vec<(Vec<u8>, bool)>,
    pub(crate) akid: Option<AuthorityKeyId>,
    pub(crate) idp: Option<IssuingDistributionPoint>,
    /// A critical CRL extension OpenSSL does not handle.
    pub(crate) unhandled_critical: bool,
    /// A delta CRL (deltaCRLIndicator): OpenSSL skips it at this stage.
    pub(crate) is_delta: bool,
}

/// One entry of a CRL's revokedCertificates.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedCertificate {
    /// The serial number's content octets, as written.
    pub serial: Vec<u8>,
    /// revocationDate (seconds since the Unix epoch).
    pub revoked_at: i64,
    /// The reasonCode entry extension, if any (RFC 5280 `CRLReason`).
    pub reason: Option<u8>,
}

/// issuingDistributionPoint, reduced.
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub struct IssuingDistributionPoint {
    /// The full-name URIs of distributionPoint (`Some(empty)`: a point without URIs).
    pub uris: Option<Vec<String>>,
    /// onlyContainsUserCerts.
    pub only_user: bool,
    /// onlyContainsCACerts.
    pub only_ca: bool,
    /// onlyContainsAttributeCerts.
    pub only_attr: bool,
    /// indirectCRL.
    pub indirect: bool,
    /// onlySomeReasons is present.
    pub some_reasons: bool,
}

impl Crl {
    /// Parses a DER CRL.
    pub fn from_der(der: &[u8]) -> Result<Self, ParseError> {
        // Bytes after the CRL are ignored, as OpenSSL's d2i ignores them in a root file.
        let (_, c) = CertificateRevocationList::from_der(der)?;
        let mut akid = None;
        let mut idp = None;
        let mut unhandled_critical = false;
        let mut is_delta = false;
        for ext in c.extensions() {
            let oid = ext.oid.to_id_string();
            match oid.as_str() {
                "2.5.29.27" => is_delta = true,
                "2.5.29.20" | "2.5.29.35" | "2.5.29.28" | "2.5.29.18" | "2.5.29.46" => {}
                _ if ext.critical => unhandled_critical = true,
                _ => {}
            }
            match ext.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    akid = Some(AuthorityKeyId {
                        key_id: a.key_identifier.as_ref().map(|k| k.0.to_vec()),
                        issuer: None,
                        serial: a.authority_cert_serial.map(<[u8]>::to_vec),
                    });
                }
                ParsedExtension::IssuingDistributionPoint(p) => {
                    let uris = match &p.distribution_point {
                        Some(x509_parser::extensions::DistributionPointName::FullName(fs)) => Some(
                            fs.iter()
                                .filter_map(|n| match n {
                                    XName::URI(u) => Some((*u).to_string()),
                                    _ => None,
                                })
                                .collect(),
                        ),
                        Some(_) => Some(Vec::new()),
                        None => None,
                    };
                    idp = Some(IssuingDistributionPoint {
                        uris,
                        only_user: p.only_contains_user_certs,
                        only_ca: p.only_contains_ca_certs,
                        only_attr: p.only_contains_attribute_certs,
                        indirect: p.indirect_crl,
                        some_reasons: p.only_some_reasons.is_some(),
                    });
                }
                _ => {}
            }
        }
        let entries: Vec<RevokedCertificate> = c
            .iter_revoked_certificates()
            .map(|r| RevokedCertificate {
                serial: r.raw_serial().to_vec(),
                revoked_at: r.revocation_date.timestamp(),
                reason: r.reason_code().map(|(_, rc)| rc.0),
            })
            .collect();
        let revoked = entries
            .iter()
            .map(|r| (strip_zeros(&r.serial).to_vec(), r.reason == Some(8)))
            .collect();
        let crl_number = c.crl_number().map(|n| n.to_bytes_be());
        Ok(Self {
            der: der.to_vec(),
            crl_number,
            entries,
            issuer: name_of(c.issuer().as_raw())?,
            this_update: c.last_update().timestamp(),
            next_update: c.next_update().map(|t| t.timestamp()),
            tbs: c.tbs_cert_list.as_ref().to_vec(),
            sig: Signature::of(der, c.signature_value.data.as_ref()),
            revoked,
            akid,
            idp,
            unhandled_critical,
            is_delta,
        })
    }

    /// The DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The signed `TBSCertList` element.
    pub fn tbs(&self) -> &[u8] {
        &self.tbs
    }

    /// The issuer.
    pub fn issuer(&self) -> &DistinguishedName {
        &self.issuer
    }

    /// thisUpdate (seconds since the Unix epoch).
    pub fn this_update(&self) -> i64 {
        self.this_update
    }

    /// nextUpdate (seconds since the Unix epoch), if present.
    pub fn next_update(&self) -> Option<i64> {
        self.next_update
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.sig
    }

    /// The revoked certificates, in order.
    pub fn entries(&self) -> &[RevokedCertificate] {
        &self.entries
    }

    /// The cRLNumber extension's value (big-endian), if present.
    pub fn crl_number(&self) -> Option<&[u8]> {
        self.crl_number.as_deref()
    }

    /// authorityKeyIdentifier.
    pub fn authority_key_id(&self) -> Option<&AuthorityKeyId> {
        self.akid.as_ref()
    }

    /// issuingDistributionPoint.
    pub fn issuing_distribution_point(&self) -> Option<&IssuingDistributionPoint> {
        self.idp.as_ref()
    }

    /// A critical CRL extension OpenSSL does not handle.
    pub fn has_unhandled_critical_extension(&self) -> bool {
        self.unhandled_critical
    }

    /// A delta CRL (deltaCRLIndicator), which OpenSSL skips at this stage.
    pub fn is_delta(&self) -> bool {
        self.is_delta
    }

    /// Whether the signature verifies with `issuer`'s key.
    pub fn is_signed_by(&self, issuer: &Certificate) -> bool {
        verify_signature(&issuer.spki, &self.sig, &self.tbs)
    }

    /// Is `serial` listed (and not removeFromCRL)?
    pub fn revokes(&self, serial: &[u8]) -> bool {
        let s = strip_zeros(serial);
        self.revoked.iter().any(|(r, remove)| r == s && !remove)
    }

    /// Where this CRL stands at `now` (see [`crl_time`]); `window` is the
    /// renewal window in seconds, [`crl_renewal_window`] when `None`.
    pub fn time_at(&self, now: i64, window: Option<i64>) -> CrlTime {
        crl_time(self.this_update, self.next_update, now, window)
    }
}

const DAY: i64 = 86_400;

/// Where a CRL stands at a moment: for a verifier, as OpenSSL's
/// `check_crl_time` decides (and with it libpq and the PostgreSQL server), and
/// for its publisher, whether it is due for republishing.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrlTime {
    /// thisUpdate is after the moment: OpenSSL refuses it ("CRL is not yet valid").
    NotYetValid,
    /// Valid, and nextUpdate is absent or further away than the renewal window.
    Current,
    /// Valid, but nextUpdate is within the renewal window: republish it now.
    Due,
    /// nextUpdate is at or before the moment: OpenSSL refuses it ("CRL has expired").
    Expired,
}

/// The renewal window of a CRL valid from `this_update` to `next_update`, in
/// seconds: a third of its own period in whole days, at least one day.
///
/// A CRL is meant to be republished well before its nextUpdate, on a schedule
/// tied to its period; a fixed window as long as the period would flag every
/// fresh CRL (issue 14, bug 2: a fresh 30-day CRL under a 30-day warning).
/// Whole days, so that a report in days (`pgtls expiry`) and one in seconds
/// (`pgtls doctor`) draw the line at the same moment.
pub fn crl_renewal_window(this_update: i64, next_update: i64) -> i64 {
    let period_days = next_update.saturating_sub(this_update) / DAY;
    (period_days / 3).max(1).saturating_mul(DAY)
}

/// Where a CRL with these times stands at `now`. OpenSSL compares with
/// `X509_cmp_time`, for which a time equal to `now` is in the past: a CRL
/// whose nextUpdate is `now` has expired; one whose thisUpdate is `now` is
/// valid. `window` (seconds) defaults to [`crl_renewal_window`].
pub fn crl_time(
    this_update: i64,
    next_update: Option<i64>,
    now: i64,
    window: Option<i64>,
) -> CrlTime {
    if this_update > now {
        return CrlTime::NotYetValid;
    }
    let Some(next) = next_update else {
        return CrlTime::Current;
    };
    if next <= now {
        return CrlTime::Expired;
    }
    let window = window.unwrap_or_else(|| crl_renewal_window(this_update, next));
    if next - now < window {
        CrlTime::Due
    } else {
        CrlTime::Current
    }
}

/// Verifies `sig` over `data` with the public key `key` (pgtls-x509's table).
pub fn verify_signature(key: &SubjectPublicKey, sig: &Signature, data: &[u8]) -> bool {
    match (&sig.algorithm, &key.info) {
        (Some(alg), Some(public)) => signature::verify(alg, public, data, &sig.value).is_ok(),
        _ => false,
    }
}

/// A PKCS#10 certification request, parsed.
#[derive(Clone, Debug)]
pub struct CertificationRequest {
    der: Vec<u8>,
    subject: DistinguishedName,
    public_key: SubjectPublicKey,
    requested_san: Vec<GeneralName>,
}

impl CertificationRequest {
    /// Parses a DER request (its self-signature is not checked here: see
    /// [`CertificationRequest::verify_self_signature`]).
    ///
    /// # Errors
    /// [`ParseError`] for DER that is not a request, or trailing data.
    pub fn from_der(der: &[u8]) -> Result<Self, ParseError> {
        use x509_parser::prelude::X509CertificationRequest;
        let (rest, csr) = X509CertificationRequest::from_der(der)?;
        if !rest.is_empty() {
            return Err(ParseError::TrailingData);
        }
        let info = &csr.certification_request_info;
        let subject = name_of(info.subject.as_raw())?;
        let raw = info.subject_pki.raw;
        let key_info = PublicKeyInfo::from_der(raw).ok();
        let bits = info.subject_pki.parsed().map(|p| p.key_size()).unwrap_or(0);
        let public_key = SubjectPublicKey {
            der: raw.to_vec(),
            kind: key_info.as_ref().map_or(KeyKind::Other, |p| p.kind),
            info: key_info,
            bits,
        };
        let mut requested_san = Vec::new();
        if let Some(exts) = csr.requested_extensions() {
            for e in exts {
                if let ParsedExtension::SubjectAlternativeName(san) = e {
                    requested_san.extend(san.general_names.iter().map(san_entry));
                }
            }
        }
        Ok(Self {
            der: der.to_vec(),
            subject,
            public_key,
            requested_san,
        })
    }

    /// Verifies the request's signature with its own key.
    ///
    /// # Errors
    /// [`signature::SignatureError`] when it does not verify.
    pub fn verify_self_signature(&self) -> Result<(), signature::SignatureError> {
        SignedData::from_der(&self.der)?.verify_with(&self.public_key.der)
    }

    /// The DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The requested subject.
    pub fn subject(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The key to certify.
    pub fn public_key(&self) -> &SubjectPublicKey {
        &self.public_key
    }

    /// The names of a requested subjectAltName extension, in order.
    pub fn requested_san(&self) -> &[GeneralName] {
        &self.requested_san
    }
}

/// Extension names as `openssl x509 -text` titles them (short forms), or the dotted OID.
pub fn extension_name(oid: &str) -> String {
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

/// keyUsage bit names (in OpenSSL's bit order, as `openssl x509 -text` lists them).
pub fn key_usage_names(bits: u16) -> Vec<&'static str> {
    [
        (0x0080, "digitalSignature"),
        (0x0040, "nonRepudiation"),
        (0x0020, "keyEncipherment"),
        (0x0010, "dataEncipherment"),
        (0x0008, "keyAgreement"),
        (0x0004, "keyCertSign"),
        (0x0002, "cRLSign"),
        (0x0001, "encipherOnly"),
        (0x8000, "decipherOnly"),
    ]
    .iter()
    .filter(|(bit, _)| bits & bit != 0)
    .map(|(_, n)| *n)
    .collect()
}

/// The name of an extendedKeyUsage OID (`serverAuth`, ...), or the dotted OID.
pub fn extended_key_usage_name(oid: &str) -> String {
    match oid {
        "2.5.29.37.0" => "anyExtendedKeyUsage",
        "1.3.6.1.5.5.7.3.1" => "serverAuth",
        "1.3.6.1.5.5.7.3.2" => "clientAuth",
        "1.3.6.1.5.5.7.3.3" => "codeSigning",
        "1.3.6.1.5.5.7.3.4" => "emailProtection",
        "1.3.6.1.5.5.7.3.8" => "timeStamping",
        "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
        other => return other.to_owned(),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::{CrlTime, DAY, crl_renewal_window, crl_time};

    #[test]
    fn crl_windows_and_boundaries() {
        // A 30-day CRL: due in its last 10 days; a 2-day one in its last day; a 1-hour
        // one always (the window is at least a day).
        assert_eq!(crl_renewal_window(0, 30 * DAY), 10 * DAY);
        assert_eq!(crl_renewal_window(0, 30 * DAY + DAY - 1), 10 * DAY);
        assert_eq!(crl_renewal_window(0, 2 * DAY), DAY);
        assert_eq!(crl_renewal_window(0, 3600), DAY);
        let t = |now| crl_time(0, Some(30 * DAY), now, None);
        assert_eq!(t(-1), CrlTime::NotYetValid);
        assert_eq!(t(0), CrlTime::Current);
        assert_eq!(t(20 * DAY), CrlTime::Current);
        assert_eq!(t(20 * DAY + 1), CrlTime::Due);
        assert_eq!(t(30 * DAY - 1), CrlTime::Due);
        // X509_cmp_time: nextUpdate equal to now has passed.
        assert_eq!(t(30 * DAY), CrlTime::Expired);
        assert_eq!(crl_time(0, None, 1000 * DAY, None), CrlTime::Current);
        assert_eq!(
            crl_time(0, Some(30 * DAY), 25 * DAY, Some(4 * DAY)),
            CrlTime::Current
        );
        assert_eq!(
            crl_time(0, Some(30 * DAY), 25 * DAY, Some(6 * DAY)),
            CrlTime::Due
        );
    }
}
