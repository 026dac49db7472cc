//! Certificates and CRLs reduced to the facts OpenSSL's verifier looks at.
//!
//! Everything is extracted once, at parse time, into owned data, the way
//! OpenSSL caches a certificate's extensions (`ossl_x509v3_cache_extensions`
//! in crypto/x509/v3_purp.c): the chain builder then works on plain fields.

use pgtls_x509::signature::{self, KeyKind, PublicKeyInfo, SignatureAlgorithm, SignedData};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

/// A parsed X.509 certificate (owned).
#[derive(Clone, Debug)]
pub(crate) struct Cert {
    pub(crate) der: Vec<u8>,
    pub(crate) tbs: Vec<u8>,
    pub(crate) version: u32,
    pub(crate) serial: Vec<u8>,
    pub(crate) subject: Name,
    pub(crate) issuer: Name,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) sig: SigInfo,
    pub(crate) spki: Spki,
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
pub(crate) struct SigInfo {
    /// The algorithm, from pgtls-x509's table; `None` when unknown or its parameters
    /// are not valid (such a signature never verifies).
    pub(crate) alg: Option<SignatureAlgorithm>,
    pub(crate) value: Vec<u8>,
}

impl SigInfo {
    /// The signature of a signed structure (certificate or CRL) in `der`.
    fn of(der: &[u8], value: &[u8]) -> Self {
        let alg = SignedData::from_der(der)
            .ok()
            .and_then(|s| SignatureAlgorithm::from_der(s.algorithm).ok());
        Self {
            alg,
            value: value.to_vec(),
        }
    }
}

/// A subject public key.
#[derive(Clone, Debug)]
pub(crate) struct Spki {
    /// The key as pgtls-x509 reads it for verification.
    pub(crate) public: Option<PublicKeyInfo>,
    pub(crate) kind: KeyKind,
    /// Key size in bits (RSA modulus bits, EC field bits), 0 when unknown.
    pub(crate) bits: usize,
}

/// The extensions OpenSSL's verifier consults.
#[derive(Clone, Debug, Default)]
pub(crate) struct Extensions {
    /// basicConstraints: (cA, pathLenConstraint).
    pub(crate) basic_constraints: Option<(bool, Option<u32>)>,
    /// keyUsage bits in OpenSSL's byte order (KU_DIGITAL_SIGNATURE = 0x80, ...).
    pub(crate) key_usage: Option<u16>,
    /// extendedKeyUsage OIDs.
    pub(crate) ext_key_usage: Option<Vec<String>>,
    /// Netscape cert type, first byte.
    pub(crate) ns_cert_type: Option<u8>,
    pub(crate) subject_key_id: Option<Vec<u8>>,
    pub(crate) authority_key_id: Option<Akid>,
    /// subjectAltName entries, or None when the extension is absent.
    pub(crate) san: Option<Vec<San>>,
    /// CRL distribution point full names (URIs, as text) per point.
    pub(crate) crl_dp: Option<Vec<Vec<String>>>,
    /// Name constraints: (permitted, excluded) subtrees.
    pub(crate) name_constraints: Option<(Vec<San>, Vec<San>)>,
    /// A critical extension OpenSSL does not handle (EXFLAG_CRITICAL), by OID.
    pub(crate) unhandled_critical: Option<String>,
    /// An extension that failed to parse or appears twice (EXFLAG_INVALID).
    pub(crate) invalid: bool,
}

/// authorityKeyIdentifier.
#[derive(Clone, Debug, Default)]
pub(crate) struct Akid {
    pub(crate) key_id: Option<Vec<u8>>,
    pub(crate) issuer: Option<Name>,
    pub(crate) serial: Option<Vec<u8>>,
}

/// One subjectAltName (or name-constraint base) entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum San {
    /// dNSName, raw IA5String bytes.
    Dns(Vec<u8>),
    /// iPAddress, raw octets (any length; constraints carry address+mask).
    Ip(Vec<u8>),
    /// Any other GeneralName type.
    Other,
}

// OpenSSL keyUsage bits (include/openssl/x509v3.h).
pub(crate) const KU_DIGITAL_SIGNATURE: u16 = 0x0080;
pub(crate) const KU_KEY_ENCIPHERMENT: u16 = 0x0020;
pub(crate) const KU_KEY_AGREEMENT: u16 = 0x0008;
pub(crate) const KU_KEY_CERT_SIGN: u16 = 0x0004;
pub(crate) const KU_CRL_SIGN: u16 = 0x0002;

// Netscape cert type bits.
pub(crate) const NS_SSL_SERVER: u8 = 0x40;
pub(crate) const NS_SSL_CLIENT: u8 = 0x80;
pub(crate) const NS_SSL_CA: u8 = 0x04;
pub(crate) const NS_ANY_CA: u8 = 0x07;

pub(crate) const OID_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
pub(crate) const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
pub(crate) const OID_NS_SGC: &str = "2.16.840.1.113730.4.1";
pub(crate) const OID_MS_SGC: &str = "1.3.6.1.4.1.311.10.3.3";

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

/// A distinguished name (pgtls-x509's: exact DER, OpenSSL's canonical form and hash).
pub(crate) type Name = pgtls_x509::DistinguishedName;

fn name_of(raw: &[u8]) -> Result<Name, ParseFailure> {
    Name::from_der(raw).map_err(|e| ParseFailure(format!("name: {e}")))
}

/// Why a certificate could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseFailure(pub(crate) String);

impl Cert {
    /// Parses a DER certificate.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, ParseFailure> {
        let (rest, x) = X509Certificate::from_der(der).map_err(|e| ParseFailure(format!("{e}")))?;
        if !rest.is_empty() {
            return Err(ParseFailure("trailing data after the certificate".into()));
        }
        let subject = name_of(x.subject().as_raw())?;
        let issuer = name_of(x.issuer().as_raw())?;
        let first_cn = subject
            .first_common_name()
            .map(|a| (u32::from(a.tag()), a.value_bytes().to_vec()));
        let sig = SigInfo::of(der, x.signature_value.data.as_ref());
        let pk = x.public_key();
        let bits = pk.parsed().map(|p| p.key_size()).unwrap_or(0);
        let public = PublicKeyInfo::from_der(pk.raw).ok();
        let spki = Spki {
            kind: public.as_ref().map_or(KeyKind::Other, |p| p.kind),
            public,
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

    /// `X509_check_ca`: 0 = not a CA; 1 = basicConstraints CA; 3 = v1
    /// self-signed root; 4 = keyUsage keyCertSign without basicConstraints;
    /// 5 = Netscape CA type.
    pub(crate) fn check_ca(&self) -> u8 {
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
    pub(crate) fn is_ca_flag(&self) -> bool {
        matches!(self.ext.basic_constraints, Some((true, _)))
    }

    /// pathLenConstraint as OpenSSL keeps it (`ex_pathlen`; only for CAs
    /// whose keyUsage, if any, allows certificate signing).
    pub(crate) fn path_len(&self) -> Option<u32> {
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
    pub(crate) fn subject_hash(&self) -> u32 {
        self.subject.hash()
    }

    /// Subject for reports.
    pub(crate) fn subject_text(&self) -> String {
        self.subject.to_string()
    }
}

/// `X509_check_akid(issuer, akid)`: true when no AKID part contradicts the issuer.
pub(crate) fn akid_matches(issuer: &Cert, akid: Option<&Akid>) -> bool {
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
pub(crate) fn sig_alg_matches_key(issuer_key: &Spki, sig: &SigInfo) -> bool {
    sig.alg.is_none_or(|a| a.fits_key(issuer_key.kind))
}

/// Is this signature algorithm's digest weaker than 112 bits (SHA-1, MD5, MD4, MD2)?
pub(crate) fn sig_digest_too_weak(sig: &SigInfo) -> bool {
    sig.alg.is_some_and(|a| a.digest_too_weak())
}

/// Is the key weaker than OpenSSL security level 2 allows (112-bit: RSA/DSA
/// below 2048 bits, EC below 224 bits)?
pub(crate) fn key_too_weak(spki: &Spki) -> bool {
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
        }
        seen.push(oid.clone());
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
                        GeneralName::DirectoryName(dn) => Name::from_der(dn.as_raw()).ok(),
                        _ => None,
                    })
                });
                e.authority_key_id = Some(Akid {
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
                            if let GeneralName::URI(u) = n {
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
            }
            _ => {}
        }
    }
    e
}

fn san_entry(n: &GeneralName<'_>) -> San {
    match n {
        GeneralName::DNSName(s) => San::Dns(s.as_bytes().to_vec()),
        GeneralName::IPAddress(b) => San::Ip(b.to_vec()),
        GeneralName::Invalid(tag, data) if *tag == Tag(2) => San::Dns(data.to_vec()),
        _ => San::Other,
    }
}

/// A parsed CRL (owned).
#[derive(Clone, Debug)]
pub(crate) struct Crl {
    pub(crate) issuer: Name,
    pub(crate) this_update: i64,
    pub(crate) next_update: Option<i64>,
    pub(crate) tbs: Vec<u8>,
    pub(crate) sig: SigInfo,
    /// Revoked serials (raw, leading zeros stripped) with "removeFromCRL" flag.
    pub(crate) revoked: Vec<(Vec<u8>, bool)>,
    pub(crate) akid: Option<Akid>,
    pub(crate) idp: Option<Idp>,
    /// A critical CRL extension OpenSSL does not handle.
    pub(crate) unhandled_critical: bool,
    /// A delta CRL (deltaCRLIndicator): OpenSSL skips it at this stage.
    pub(crate) is_delta: bool,
}

/// issuingDistributionPoint, reduced.
#[derive(Clone, Debug, Default)]
pub(crate) struct Idp {
    pub(crate) uris: Option<Vec<String>>,
    pub(crate) only_user: bool,
    pub(crate) only_ca: bool,
    pub(crate) only_attr: bool,
    pub(crate) indirect: bool,
    pub(crate) some_reasons: bool,
}

impl Crl {
    /// Parses a DER CRL.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, ParseFailure> {
        let (_, c) =
            CertificateRevocationList::from_der(der).map_err(|e| ParseFailure(format!("{e}")))?;
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
                    akid = Some(Akid {
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
                                    GeneralName::URI(u) => Some((*u).to_string()),
                                    _ => None,
                                })
                                .collect(),
                        ),
                        Some(_) => Some(Vec::new()),
                        None => None,
                    };
                    idp = Some(Idp {
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
        let revoked = c
            .iter_revoked_certificates()
            .map(|r| {
                let remove = r.reason_code().is_some_and(|(_, rc)| rc.0 == 8);
                (strip_zeros(r.raw_serial()).to_vec(), remove)
            })
            .collect();
        Ok(Self {
            issuer: name_of(c.issuer().as_raw())?,
            this_update: c.last_update().timestamp(),
            next_update: c.next_update().map(|t| t.timestamp()),
            tbs: c.tbs_cert_list.as_ref().to_vec(),
            sig: SigInfo::of(der, c.signature_value.data.as_ref()),
            revoked,
            akid,
            idp,
            unhandled_critical,
            is_delta,
        })
    }

    /// Is `serial` listed (and not removeFromCRL)?
    pub(crate) fn revokes(&self, serial: &[u8]) -> bool {
        let s = strip_zeros(serial);
        self.revoked.iter().any(|(r, remove)| r == s && !remove)
    }
}

/// Verifies `sig` over `data` with the public key `key` (pgtls-x509's table).
pub(crate) fn verify_signature(key: &Spki, sig: &SigInfo, data: &[u8]) -> bool {
    match (&sig.alg, &key.public) {
        (Some(alg), Some(public)) => signature::verify(alg, public, data, &sig.value).is_ok(),
        _ => false,
    }
}

#[cfg(test)]
impl Cert {
    /// A certificate reduced to the names the host-name check reads.
    pub(crate) fn synthetic(san: Option<Vec<San>>, cn: Option<&[u8]>) -> Self {
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
            sig: SigInfo {
                alg: None,
                value: Vec::new(),
            },
            spki: Spki {
                public: None,
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
}
