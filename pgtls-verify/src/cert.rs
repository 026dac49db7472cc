//! Certificates and CRLs reduced to the facts OpenSSL's verifier looks at.
//!
//! Everything is extracted once, at parse time, into owned data, the way
//! OpenSSL caches a certificate's extensions (`ossl_x509v3_cache_extensions`
//! in crypto/x509/v3_purp.c): the chain builder then works on plain fields.

use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
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
    pub(crate) alg_oid: String,
    pub(crate) alg_params: Option<Vec<u8>>,
    pub(crate) value: Vec<u8>,
}

/// A subject public key.
#[derive(Clone, Debug)]
pub(crate) struct Spki {
    pub(crate) alg_oid: String,
    /// For EC keys: the named curve OID.
    pub(crate) curve_oid: Option<String>,
    pub(crate) key: Vec<u8>,
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

/// A distinguished name: the DER bytes plus OpenSSL's canonical form
/// (`x509_name_canon`, crypto/x509/x_name.c) used by `X509_NAME_cmp`.
#[derive(Clone, Debug)]
pub(crate) struct Name {
    canon: Vec<Vec<(String, CanonValue)>>,
    /// RDNs in certificate order, members in DER order: (oid, tag, raw bytes).
    pub(crate) rdns: Vec<Vec<(String, u32, Vec<u8>)>>,
    /// OpenSSL's `X509_NAME_hash_ex` (SHA-1 of the canonical encoding, first
    /// four bytes little-endian): the `hhhhhhhh` of hashed directories.
    pub(crate) hash: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum CanonValue {
    Text(Vec<u8>),
    Raw(u32, Vec<u8>),
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.canon == other.canon
    }
}

impl Name {
    fn from_x509(name: &X509Name<'_>) -> Self {
        let mut canon = Vec::new();
        let mut rdns = Vec::new();
        let mut enc = Vec::new();
        for rdn in name.iter() {
            let mut set = Vec::new();
            let mut raw = Vec::new();
            let mut members: Vec<Vec<u8>> = Vec::new();
            for atv in rdn.iter() {
                let oid = atv.attr_type().to_id_string();
                let any = atv.attr_value();
                let tag = any.tag().0;
                let data = any.data.to_vec();
                let value = match canonical_text(tag, &data) {
                    Some(t) => CanonValue::Text(t),
                    None => CanonValue::Raw(tag, data.clone()),
                };
                let mut m = tlv(0x06, atv.attr_type().as_bytes());
                match &value {
                    CanonValue::Text(t) => m.extend(tlv(0x0c, t)),
                    CanonValue::Raw(_, _) => m.extend(any_der(any)),
                }
                members.push(tlv(0x30, &m));
                set.push((oid.clone(), value));
                raw.push((oid, tag, data));
            }
            members.sort();
            enc.extend(tlv(0x31, &members.concat()));
            canon.push(set);
            rdns.push(raw);
        }
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &enc);
        let d = digest.as_ref();
        let hash = u32::from_le_bytes([
            d.first().copied().unwrap_or(0),
            d.get(1).copied().unwrap_or(0),
            d.get(2).copied().unwrap_or(0),
            d.get(3).copied().unwrap_or(0),
        ]);
        Self { canon, rdns, hash }
    }

    /// A one-line rendering for diagnostics (`CN=x, O=y`, certificate order).
    pub(crate) fn display(&self) -> String {
        let mut out = Vec::new();
        for rdn in &self.rdns {
            let parts: Vec<String> = rdn
                .iter()
                .map(|(oid, tag, data)| {
                    let key = short_name(oid).unwrap_or(oid.as_str());
                    let text = string_value(*tag, data)
                        .unwrap_or_else(|| String::from_utf8_lossy(data).into_owned());
                    format!("{key}={text}")
                })
                .collect();
            out.push(parts.join("+"));
        }
        out.join(", ")
    }
}

/// The DER element at the start of `b`: (header length, end of the
/// element); `None` when `b` is too short or the length overflows.
pub(crate) fn first_tlv_bounds(b: &[u8]) -> Option<(usize, usize)> {
    let len_byte = *b.get(1)?;
    let (hdr, len) = if len_byte < 0x80 {
        (2usize, usize::from(len_byte))
    } else {
        let n = usize::from(len_byte & 0x7f);
        let mut l = 0usize;
        for i in 0..n {
            l = l
                .checked_mul(256)?
                .checked_add(usize::from(*b.get(2 + i)?))?;
        }
        (2 + n, l)
    };
    Some((hdr, hdr.checked_add(len)?))
}

/// DER tag-length-value.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut v = vec![tag];
    if n < 0x80 {
        v.push(u8::try_from(n).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        v.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        v.extend(bytes);
    }
    v.extend_from_slice(content);
    v
}

/// The DER of an attribute value as it appeared.
fn any_der(any: &x509_parser::der_parser::asn1_rs::Any<'_>) -> Vec<u8> {
    let h = &any.header;
    let class = (h.class() as u8) << 6;
    let constructed = if h.is_constructed() { 0x20 } else { 0 };
    let t = h.tag().0;
    if t < 31 {
        tlv(class | constructed | u8::try_from(t).unwrap_or(0), any.data)
    } else {
        // High tag numbers do not occur in names in practice; keep the content.
        tlv(class | constructed | 0x1f, any.data)
    }
}

/// Short attribute names as OpenSSL prints them.
pub(crate) fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "street",
        "2.5.4.5" => "serialNumber",
        "2.5.4.4" => "SN",
        "2.5.4.42" => "GN",
        "2.5.4.12" => "title",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.17" => "postalCode",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "emailAddress",
        _ => return None,
    })
}

/// Decodes an ASN.1 string value to UTF-8 text, if the tag is a string type.
pub(crate) fn string_value(tag: u32, data: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, VisibleString, NumericString
        12 | 19 | 22 | 26 | 18 => Some(String::from_utf8_lossy(data).into_owned()),
        // T61String: OpenSSL treats it as Latin-1.
        20 => Some(data.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UCS-2 big endian.
        30 => {
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        // UniversalString: UCS-4 big endian.
        28 => Some(
            data.chunks(4)
                .map(|c| {
                    let mut b = [0u8; 4];
                    for (i, x) in c.iter().enumerate() {
                        if let Some(slot) = b.get_mut(i) {
                            *slot = *x;
                        }
                    }
                    char::from_u32(u32::from_be_bytes(b)).unwrap_or('\u{fffd}')
                })
                .collect(),
        ),
        _ => None,
    }
}

/// OpenSSL's `asn1_string_canon`: to UTF-8, strip leading/trailing spaces,
/// collapse internal runs of white space, ASCII lower-case.
fn canonical_text(tag: u32, data: &[u8]) -> Option<Vec<u8>> {
    let text = string_value(tag, data)?;
    let bytes = text.as_bytes();
    let is_space = |b: u8| b == b' ' || (b'\t'..=b'\r').contains(&b);
    let mut out = Vec::with_capacity(bytes.len());
    let mut start = 0;
    let mut end = bytes.len();
    while start < end && bytes.get(start).is_some_and(|&b| is_space(b)) {
        start += 1;
    }
    while end > start && bytes.get(end - 1).is_some_and(|&b| is_space(b)) {
        end -= 1;
    }
    let mut prev_space = false;
    for &b in bytes.get(start..end).unwrap_or_default() {
        if is_space(b) {
            if !prev_space {
                out.push(b' ');
            }
            prev_space = true;
        } else {
            out.push(b.to_ascii_lowercase());
            prev_space = false;
        }
    }
    Some(out)
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
        let subject = Name::from_x509(x.subject());
        let issuer = Name::from_x509(x.issuer());
        let first_cn = x
            .subject()
            .iter_common_name()
            .next()
            .map(|atv| (atv.attr_value().tag().0, atv.attr_value().data.to_vec()));
        let sig = SigInfo {
            alg_oid: x.signature_algorithm.algorithm.to_id_string(),
            alg_params: x
                .signature_algorithm
                .parameters
                .as_ref()
                .map(|p| p.data.to_vec()),
            value: x.signature_value.data.to_vec(),
        };
        let pk = x.public_key();
        let curve_oid = pk
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string());
        let bits = pk.parsed().map(|p| p.key_size()).unwrap_or(0);
        let spki = Spki {
            alg_oid: pk.algorithm.algorithm.to_id_string(),
            curve_oid,
            key: pk.subject_public_key.data.to_vec(),
            bits,
        };
        let ext = extensions(&x);
        let self_issued = subject == issuer;
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
            && sig_alg_matches_key(&cert.spki, &cert.sig.alg_oid);
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
        self.subject.hash
    }

    /// Subject for reports.
    pub(crate) fn subject_text(&self) -> String {
        self.subject.display()
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
        && *name != issuer.issuer
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

/// Key type of a public key algorithm.
fn key_type(spki_oid: &str) -> &'static str {
    match spki_oid {
        "1.2.840.113549.1.1.1" => "rsa",
        "1.2.840.113549.1.1.10" => "rsa-pss",
        "1.2.840.10045.2.1" => "ec",
        "1.3.101.112" => "ed25519",
        "1.3.101.113" => "ed448",
        "1.2.840.10040.4.1" => "dsa",
        _ => "other",
    }
}

/// Key type a signature algorithm needs.
fn sig_key_type(sig_oid: &str) -> &'static str {
    match sig_oid {
        "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.113549.1.1.12"
        | "1.2.840.113549.1.1.13"
        | "1.2.840.113549.1.1.14"
        | "1.3.14.3.2.29" => "rsa",
        "1.2.840.113549.1.1.10" => "rsa-pss",
        "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.1"
        | "1.2.840.10045.4.3.2"
        | "1.2.840.10045.4.3.3"
        | "1.2.840.10045.4.3.4" => "ec",
        "1.3.101.112" => "ed25519",
        "1.3.101.113" => "ed448",
        "1.2.840.10040.4.3" | "2.16.840.1.101.3.4.3.2" => "dsa",
        _ => "unknown",
    }
}

/// `check_sig_alg_match`: the signature algorithm's key type is the key's type
/// (an RSA-PSS signature may come from a plain RSA key).
pub(crate) fn sig_alg_matches_key(issuer_key: &Spki, sig_oid: &str) -> bool {
    let k = key_type(&issuer_key.alg_oid);
    let s = sig_key_type(sig_oid);
    s == k || (s == "rsa-pss" && k == "rsa") || s == "unknown"
}

/// Is this signature algorithm's digest weaker than 112 bits (SHA-1, MD5)?
pub(crate) fn sig_digest_too_weak(sig_oid: &str) -> bool {
    matches!(
        sig_oid,
        "1.2.840.113549.1.1.4" // md5WithRSA
            | "1.2.840.113549.1.1.5" // sha1WithRSA
            | "1.3.14.3.2.29"
            | "1.2.840.10045.4.1" // ecdsa-with-SHA1
            | "1.2.840.10040.4.3" // dsa-with-sha1
            | "1.2.840.113549.1.1.2" // md2
            | "1.2.840.113549.1.1.3" // md4
    )
}

/// Is the key weaker than OpenSSL security level 2 allows (112-bit: RSA/DSA
/// below 2048 bits, EC below 224 bits)?
pub(crate) fn key_too_weak(spki: &Spki) -> bool {
    match key_type(&spki.alg_oid) {
        "rsa" | "rsa-pss" | "dsa" => spki.bits > 0 && spki.bits < 2048,
        "ec" => spki.bits > 0 && spki.bits < 224,
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
                        GeneralName::DirectoryName(dn) => Some(Name::from_x509(dn)),
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
            issuer: Name::from_x509(c.issuer()),
            this_update: c.last_update().timestamp(),
            next_update: c.next_update().map(|t| t.timestamp()),
            tbs: c.tbs_cert_list.as_ref().to_vec(),
            sig: SigInfo {
                alg_oid: c.signature_algorithm.algorithm.to_id_string(),
                alg_params: c
                    .signature_algorithm
                    .parameters
                    .as_ref()
                    .map(|p| p.data.to_vec()),
                value: c.signature_value.data.to_vec(),
            },
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

/// Verifies `sig` over `data` with the public key `key`.
pub(crate) fn verify_signature(key: &Spki, sig: &SigInfo, data: &[u8]) -> bool {
    use aws_lc_rs::signature as s;
    let alg: &dyn s::VerificationAlgorithm = match sig.alg_oid.as_str() {
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => {
            &s::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        "1.2.840.113549.1.1.11" => &s::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        "1.2.840.113549.1.1.12" => &s::RSA_PKCS1_2048_8192_SHA384,
        "1.2.840.113549.1.1.13" => &s::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        "1.2.840.113549.1.1.10" => match pss_hash(sig.alg_params.as_deref()) {
            Some(256) => &s::RSA_PSS_2048_8192_SHA256,
            Some(384) => &s::RSA_PSS_2048_8192_SHA384,
            Some(512) => &s::RSA_PSS_2048_8192_SHA512,
            _ => return false,
        },
        "1.2.840.10045.4.3.2" => match key.curve_oid.as_deref() {
            Some("1.2.840.10045.3.1.7") => &s::ECDSA_P256_SHA256_ASN1,
            Some("1.3.132.0.34") => &s::ECDSA_P384_SHA256_ASN1,
            Some("1.3.132.0.35") => &s::ECDSA_P521_SHA256_ASN1,
            _ => return false,
        },
        "1.2.840.10045.4.3.3" => match key.curve_oid.as_deref() {
            Some("1.2.840.10045.3.1.7") => &s::ECDSA_P256_SHA384_ASN1,
            Some("1.3.132.0.34") => &s::ECDSA_P384_SHA384_ASN1,
            Some("1.3.132.0.35") => &s::ECDSA_P521_SHA384_ASN1,
            _ => return false,
        },
        "1.2.840.10045.4.3.4" => match key.curve_oid.as_deref() {
            Some("1.2.840.10045.3.1.7") => &s::ECDSA_P256_SHA512_ASN1,
            Some("1.3.132.0.34") => &s::ECDSA_P384_SHA512_ASN1,
            Some("1.3.132.0.35") => &s::ECDSA_P521_SHA512_ASN1,
            _ => return false,
        },
        "1.3.101.112" => &s::ED25519,
        _ => return false,
    };
    s::UnparsedPublicKey::new(alg, &key.key)
        .verify(data, &sig.value)
        .is_ok()
}

/// The hash size named in RSASSA-PSS parameters (SHA-1 default when absent).
fn pss_hash(params: Option<&[u8]>) -> Option<u32> {
    let p = params?;
    // Look for the hash algorithm OIDs' distinguishing bytes.
    let sha256 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    let sha384 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
    let sha512 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
    let has = |needle: &[u8]| p.windows(needle.len()).any(|w| w == needle);
    if has(&sha256) {
        Some(256)
    } else if has(&sha384) {
        Some(384)
    } else if has(&sha512) {
        Some(512)
    } else {
        None
    }
}

#[cfg(test)]
impl Cert {
    /// A certificate reduced to the names the host-name check reads.
    pub(crate) fn synthetic(san: Option<Vec<San>>, cn: Option<&[u8]>) -> Self {
        let name = Name {
            canon: Vec::new(),
            rdns: Vec::new(),
            hash: 0,
        };
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
                alg_oid: String::new(),
                alg_params: None,
                value: Vec::new(),
            },
            spki: Spki {
                alg_oid: String::new(),
                curve_oid: None,
                key: Vec::new(),
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
