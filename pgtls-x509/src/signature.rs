//! Signature algorithms: one table from an `AlgorithmIdentifier` to what it means, the
//! RSASSA-PSS parameters parsed field by field, and verification on aws-lc-rs.
//!
//! The table is keyed by the algorithm OID. OpenSSL (behind libpq and the server) looks
//! up the digest and key type by OID and ignores the parameters of every algorithm but
//! RSASSA-PSS (an RSA PKCS#1 signature with absent instead of NULL parameters verifies),
//! so pgtls does the same; for RSASSA-PSS the parameters are parsed as RFC 4055 defines
//! them (hash, MGF1 hash, salt length, trailer field), not searched for OID bytes.

use std::fmt;

use aws_lc_rs::signature as sig;

use crate::der::{self, DerError, tag};

/// A digest algorithm.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hash {
    /// MD2 (broken).
    Md2,
    /// MD4 (broken).
    Md4,
    /// MD5 (broken).
    Md5,
    /// SHA-1 (too weak for OpenSSL security level 2 on anything but a trust anchor).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// The output length in bytes.
    pub fn output_len(self) -> u32 {
        match self {
            Self::Md2 | Self::Md4 | Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    fn from_oid(oid: &[u8]) -> Option<Self> {
        Some(match oid {
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05] => Self::Md5,
            [0x2b, 0x0e, 0x03, 0x02, 0x1a] => Self::Sha1,
            [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, n] => match n {
                1 => Self::Sha256,
                2 => Self::Sha384,
                3 => Self::Sha512,
                4 => Self::Sha224,
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// The key type a signature algorithm needs, or a public key has.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// rsaEncryption.
    Rsa,
    /// id-RSASSA-PSS (an RSA key restricted to PSS).
    RsaPss,
    /// id-ecPublicKey.
    Ec,
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// DSA.
    Dsa,
    /// Anything else.
    Other,
}

impl KeyKind {
    /// The key type of a `SubjectPublicKeyInfo` algorithm OID (content octets).
    pub fn from_spki_oid(oid: &[u8]) -> Self {
        match oid {
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01] => Self::Rsa,
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a] => Self::RsaPss,
            [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] => Self::Ec,
            [0x2b, 0x65, 0x70] => Self::Ed25519,
            [0x2b, 0x65, 0x71] => Self::Ed448,
            [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01] => Self::Dsa,
            _ => Self::Other,
        }
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1), defaults applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PssParams {
    /// hashAlgorithm (default SHA-1).
    pub hash: Hash,
    /// The hash of maskGenAlgorithm MGF1 (default SHA-1).
    pub mgf1_hash: Hash,
    /// saltLength (default 20).
    pub salt_len: u32,
}

/// What an `AlgorithmIdentifier` of a signature means.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// `<hash>WithRSAEncryption` (PKCS#1 v1.5).
    RsaPkcs1(Hash),
    /// RSASSA-PSS.
    RsaPss(PssParams),
    /// `ecdsa-with-<hash>`.
    Ecdsa(Hash),
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// `dsa-with-<hash>`.
    Dsa(Hash),
}

/// Why a signature does not verify.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The `AlgorithmIdentifier` or the key is not DER pgtls can read.
    Malformed(&'static str),
    /// An algorithm OID pgtls does not know (dotted).
    UnknownAlgorithm(String),
    /// RSASSA-PSS parameters that are not valid (or not supported by the backend).
    BadPssParameters(&'static str),
    /// The signature algorithm needs another key type than the key has.
    WrongKeyType,
    /// A known algorithm (or curve) the crypto backend cannot verify.
    Unsupported(SignatureAlgorithm),
    /// The signature is not valid for the message and key.
    Invalid,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed: {why}"),
            Self::UnknownAlgorithm(oid) => write!(f, "unknown signature algorithm {oid}"),
            Self::BadPssParameters(why) => write!(f, "RSASSA-PSS parameters: {why}"),
            Self::WrongKeyType => f.write_str("the signature algorithm does not fit the key"),
            Self::Unsupported(a) => write!(f, "{a:?} signatures cannot be verified"),
            Self::Invalid => f.write_str("the signature does not verify"),
        }
    }
}

impl std::error::Error for SignatureError {}

impl From<DerError> for SignatureError {
    fn from(e: DerError) -> Self {
        Self::Malformed(e.0)
    }
}

const PKCS1: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
const MGF1: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];

impl SignatureAlgorithm {
    /// Reads a whole `AlgorithmIdentifier` element (`SEQUENCE { OID, parameters }`).
    ///
    /// # Errors
    /// Malformed DER, an unknown OID, or bad RSASSA-PSS parameters.
    pub fn from_der(algorithm_identifier: &[u8]) -> Result<Self, SignatureError> {
        let seq = der::read_tagged(algorithm_identifier, tag::SEQUENCE)?;
        let parts = der::children(seq.content)?;
        let (oid, params) = match parts.as_slice() {
            [oid] => (oid, None),
            [oid, params] => (oid, Some(params)),
            _ => return Err(SignatureError::Malformed("AlgorithmIdentifier")),
        };
        if oid.tag != tag::OID {
            return Err(SignatureError::Malformed(
                "AlgorithmIdentifier without an OID",
            ));
        }
        Self::from_oid(oid.content, params.map(|p| p.raw))
    }

    /// From the algorithm OID (content octets) and the parameters element, if any.
    ///
    /// # Errors
    /// An unknown OID, or bad RSASSA-PSS parameters.
    pub fn from_oid(oid: &[u8], params: Option<&[u8]>) -> Result<Self, SignatureError> {
        use Hash::{Md5, Sha1, Sha224, Sha256, Sha384, Sha512};
        let unknown = || SignatureError::UnknownAlgorithm(der::oid_to_string(oid));
        Ok(match oid {
            [p @ .., n] if p == PKCS1 => match n {
                0x02 => Self::RsaPkcs1(Hash::Md2),
                0x03 => Self::RsaPkcs1(Hash::Md4),
                0x04 => Self::RsaPkcs1(Md5),
                0x05 => Self::RsaPkcs1(Sha1),
                0x0a => Self::RsaPss(pss_params(params)?),
                0x0b => Self::RsaPkcs1(Sha256),
                0x0c => Self::RsaPkcs1(Sha384),
                0x0d => Self::RsaPkcs1(Sha512),
                0x0e => Self::RsaPkcs1(Sha224),
                _ => return Err(unknown()),
            },
            // sha1WithRSASignature (OIW), which OpenSSL also knows.
            [0x2b, 0x0e, 0x03, 0x02, 0x1d] => Self::RsaPkcs1(Sha1),
            [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01] => Self::Ecdsa(Sha1),
            [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, n] => match n {
                1 => Self::Ecdsa(Sha224),
                2 => Self::Ecdsa(Sha256),
                3 => Self::Ecdsa(Sha384),
                4 => Self::Ecdsa(Sha512),
                _ => return Err(unknown()),
            },
            [0x2b, 0x65, 0x70] => Self::Ed25519,
            [0x2b, 0x65, 0x71] => Self::Ed448,
            [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03] => Self::Dsa(Sha1),
            [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, n] => match n {
                1 => Self::Dsa(Sha224),
                2 => Self::Dsa(Sha256),
                _ => return Err(unknown()),
            },
            _ => return Err(unknown()),
        })
    }

    /// The key type that made the signature (`check_sig_alg_match`: an RSASSA-PSS signature
    /// may also come from a plain RSA key, see [`SignatureAlgorithm::fits_key`]).
    pub fn key_kind(&self) -> KeyKind {
        match self {
            Self::RsaPkcs1(_) => KeyKind::Rsa,
            Self::RsaPss(_) => KeyKind::RsaPss,
            Self::Ecdsa(_) => KeyKind::Ec,
            Self::Ed25519 => KeyKind::Ed25519,
            Self::Ed448 => KeyKind::Ed448,
            Self::Dsa(_) => KeyKind::Dsa,
        }
    }

    /// OpenSSL's `check_sig_alg_match`: the key can have made this signature.
    pub fn fits_key(&self, key: KeyKind) -> bool {
        let k = self.key_kind();
        k == key || (k == KeyKind::RsaPss && key == KeyKind::Rsa)
    }

    /// The digest, when the algorithm has a separate one (not Ed25519/Ed448).
    pub fn hash(&self) -> Option<Hash> {
        match self {
            Self::RsaPkcs1(h) | Self::Ecdsa(h) | Self::Dsa(h) => Some(*h),
            Self::RsaPss(p) => Some(p.hash),
            Self::Ed25519 | Self::Ed448 => None,
        }
    }

    /// Whether the digest is below OpenSSL security level 2's 112 bits (MD2, MD4, MD5,
    /// SHA-1): such
    /// a signature is refused on every certificate but the trust anchor
    /// (`CA signature digest algorithm too weak`).
    pub fn digest_too_weak(&self) -> bool {
        matches!(
            self.hash(),
            Some(Hash::Md2 | Hash::Md4 | Hash::Md5 | Hash::Sha1)
        )
    }
}

/// RFC 4055 `RSASSA-PSS-params`: every field `[n] EXPLICIT`, all optional with defaults.
fn pss_params(params: Option<&[u8]>) -> Result<PssParams, SignatureError> {
    let bad = SignatureError::BadPssParameters;
    let mut out = PssParams {
        hash: Hash::Sha1,
        mgf1_hash: Hash::Sha1,
        salt_len: 20,
    };
    let Some(params) = params else {
        // OpenSSL refuses PSS without parameters in a certificate signature.
        return Err(bad("absent"));
    };
    let seq = der::read_tagged(params, tag::SEQUENCE).map_err(|_| bad("not a SEQUENCE"))?;
    let mut last = None;
    for field in der::children(seq.content).map_err(|_| bad("not DER"))? {
        let n = field.tag ^ 0xa0;
        if field.tag & 0xe0 != 0xa0 || n > 3 || last.is_some_and(|l| n <= l) {
            return Err(bad("unexpected field"));
        }
        last = Some(n);
        let inner = der::read_all(field.content).map_err(|_| bad("not DER"))?;
        match n {
            0 => out.hash = hash_of(inner.raw).ok_or(bad("unknown hash"))?,
            1 => {
                let parts = der::children(inner.content).map_err(|_| bad("not DER"))?;
                let [oid, h] = parts.as_slice() else {
                    return Err(bad("maskGenAlgorithm"));
                };
                if oid.tag != tag::OID || oid.content != MGF1 {
                    return Err(bad("mask generation is not MGF1"));
                }
                out.mgf1_hash = hash_of(h.raw).ok_or(bad("unknown MGF1 hash"))?;
            }
            2 => {
                if inner.tag != tag::INTEGER
                    || inner.content.is_empty()
                    || inner.content.len() > 4
                    || inner.content.first().is_some_and(|b| b & 0x80 != 0)
                {
                    return Err(bad("saltLength"));
                }
                out.salt_len = inner
                    .content
                    .iter()
                    .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            }
            _ => {
                if inner.tag != tag::INTEGER || inner.content != [1] {
                    return Err(bad("trailerField is not 1"));
                }
            }
        }
    }
    Ok(out)
}

/// A hash `AlgorithmIdentifier` (parameters absent or NULL).
fn hash_of(alg: &[u8]) -> Option<Hash> {
    let seq = der::read_tagged(alg, tag::SEQUENCE).ok()?;
    let parts = der::children(seq.content).ok()?;
    match parts.as_slice() {
        [oid]
        | [
            oid,
            der::Tlv {
                tag: tag::NULL,
                content: [],
                ..
            },
        ] if oid.tag == tag::OID => Hash::from_oid(oid.content),
        _ => None,
    }
}

/// A `SubjectPublicKeyInfo`, read for verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// The key type.
    pub kind: KeyKind,
    /// For EC keys, the named curve OID (content octets).
    pub curve: Option<Vec<u8>>,
    /// The subjectPublicKey BIT STRING's bits.
    pub key: Vec<u8>,
}

const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

impl PublicKeyInfo {
    /// Reads a whole `SubjectPublicKeyInfo` element.
    ///
    /// # Errors
    /// Malformed DER.
    pub fn from_der(spki: &[u8]) -> Result<Self, SignatureError> {
        let seq = der::read_tagged(spki, tag::SEQUENCE)?;
        let parts = der::children(seq.content)?;
        let [alg, bits] = parts.as_slice() else {
            return Err(SignatureError::Malformed("SubjectPublicKeyInfo"));
        };
        let alg_parts = der::children(alg.content)?;
        let Some(oid) = alg_parts.first().filter(|o| o.tag == tag::OID) else {
            return Err(SignatureError::Malformed("SubjectPublicKeyInfo algorithm"));
        };
        let kind = KeyKind::from_spki_oid(oid.content);
        let curve = match alg_parts.get(1) {
            Some(p) if kind == KeyKind::Ec && p.tag == tag::OID => Some(p.content.to_vec()),
            _ => None,
        };
        let key = match bits.content.split_first() {
            Some((0, key)) if bits.tag == tag::BIT_STRING => key.to_vec(),
            _ => return Err(SignatureError::Malformed("subjectPublicKey")),
        };
        Ok(Self { kind, curve, key })
    }
}

/// Verifies `signature` over `message` with `key`, for `algorithm`.
///
/// # Errors
/// [`SignatureError::WrongKeyType`], [`SignatureError::Unsupported`] for what aws-lc-rs
/// cannot verify (SHA-224, Ed448, DSA, MD5, RSASSA-PSS whose MGF1 hash is not its hash
/// or whose salt is not as long as the hash, other curves), [`SignatureError::Invalid`].
pub fn verify(
    algorithm: &SignatureAlgorithm,
    key: &PublicKeyInfo,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    use Hash::{Sha1, Sha256, Sha384, Sha512};
    if !algorithm.fits_key(key.kind) {
        return Err(SignatureError::WrongKeyType);
    }
    let unsupported = || SignatureError::Unsupported(*algorithm);
    let curve = key.curve.as_deref();
    let alg: &dyn sig::VerificationAlgorithm = match algorithm {
        SignatureAlgorithm::RsaPkcs1(h) => match h {
            Sha1 => &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Sha256 => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Sha512 => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            _ => return Err(unsupported()),
        },
        SignatureAlgorithm::RsaPss(p) => {
            // aws-lc-rs verifies PSS with MGF1 over the same hash and a salt as long as
            // the hash; OpenSSL verifies any parameters (a false reject, listed in
            // pgtls-verify's KNOWN-DIVERGENCES.md).
            if p.mgf1_hash != p.hash || p.salt_len != p.hash.output_len() {
                return Err(unsupported());
            }
            match p.hash {
                Sha256 => &sig::RSA_PSS_2048_8192_SHA256,
                Sha384 => &sig::RSA_PSS_2048_8192_SHA384,
                Sha512 => &sig::RSA_PSS_2048_8192_SHA512,
                _ => return Err(unsupported()),
            }
        }
        SignatureAlgorithm::Ecdsa(h) => match (h, curve) {
            (Sha256, Some(P256)) => &sig::ECDSA_P256_SHA256_ASN1,
            (Sha256, Some(P384)) => &sig::ECDSA_P384_SHA256_ASN1,
            (Sha256, Some(P521)) => &sig::ECDSA_P521_SHA256_ASN1,
            (Sha384, Some(P256)) => &sig::ECDSA_P256_SHA384_ASN1,
            (Sha384, Some(P384)) => &sig::ECDSA_P384_SHA384_ASN1,
            (Sha384, Some(P521)) => &sig::ECDSA_P521_SHA384_ASN1,
            (Sha512, Some(P256)) => &sig::ECDSA_P256_SHA512_ASN1,
            (Sha512, Some(P384)) => &sig::ECDSA_P384_SHA512_ASN1,
            (Sha512, Some(P521)) => &sig::ECDSA_P521_SHA512_ASN1,
            _ => return Err(unsupported()),
        },
        SignatureAlgorithm::Ed25519 => &sig::ED25519,
        SignatureAlgorithm::Ed448 | SignatureAlgorithm::Dsa(_) => return Err(unsupported()),
    };
    sig::UnparsedPublicKey::new(alg, &key.key)
        .verify(message, signature)
        .map_err(|_| SignatureError::Invalid)
}

/// The three parts of a signed structure (certificate, CRL, CSR):
/// `SEQUENCE { tbs, signatureAlgorithm, signatureValue BIT STRING }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedData<'a> {
    /// The signed bytes (the whole to-be-signed element).
    pub tbs: &'a [u8],
    /// The whole `AlgorithmIdentifier` element.
    pub algorithm: &'a [u8],
    /// The signature bits.
    pub signature: &'a [u8],
}

impl<'a> SignedData<'a> {
    /// Splits a signed structure.
    ///
    /// # Errors
    /// [`DerError`] when it is not one.
    pub fn from_der(der: &'a [u8]) -> Result<Self, DerError> {
        let outer = der::read_tagged(der, tag::SEQUENCE)?;
        let parts = der::children(outer.content)?;
        let [tbs, alg, bits] = parts.as_slice() else {
            return Err(DerError("a signed structure has three elements"));
        };
        let signature = match bits.content.split_first() {
            Some((0, s)) if bits.tag == tag::BIT_STRING => s,
            _ => return Err(DerError("the signature is not a whole-byte BIT STRING")),
        };
        Ok(Self {
            tbs: tbs.raw,
            algorithm: alg.raw,
            signature,
        })
    }

    /// Verifies the signature with the issuer's `SubjectPublicKeyInfo` (DER).
    ///
    /// # Errors
    /// As [`verify`], and a malformed algorithm or key.
    pub fn verify_with(&self, issuer_spki: &[u8]) -> Result<(), SignatureError> {
        let alg = SignatureAlgorithm::from_der(self.algorithm)?;
        let key = PublicKeyInfo::from_der(issuer_spki)?;
        verify(&alg, &key, self.tbs, self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alg(oid: &[u64], params: Option<&[u8]>) -> Vec<u8> {
        let o = der::oid(oid);
        match params {
            Some(p) => der::tlv_parts(tag::SEQUENCE, &[&o, p]),
            None => der::tlv(tag::SEQUENCE, &o),
        }
    }

    fn hash_alg(arcs: &[u64]) -> Vec<u8> {
        der::tlv_parts(tag::SEQUENCE, &[&der::oid(arcs), &[0x05, 0x00]])
    }

    const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];
    const SHA384: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 2];
    const PSS: &[u64] = &[1, 2, 840, 113549, 1, 1, 10];

    fn pss(hash: &[u64], mgf: &[u64], salt: Option<u8>) -> Vec<u8> {
        let mgf1 = der::tlv_parts(
            tag::SEQUENCE,
            &[&der::oid(&[1, 2, 840, 113549, 1, 1, 8]), &hash_alg(mgf)],
        );
        let mut fields = vec![der::tlv(0xa0, &hash_alg(hash)), der::tlv(0xa1, &mgf1)];
        if let Some(s) = salt {
            fields.push(der::tlv(0xa2, &der::tlv(tag::INTEGER, &[s])));
        }
        alg(PSS, Some(&der::tlv(tag::SEQUENCE, &fields.concat())))
    }

    #[test]
    fn table() {
        let sha256_rsa = alg(&[1, 2, 840, 113549, 1, 1, 11], Some(&[0x05, 0x00]));
        assert_eq!(
            SignatureAlgorithm::from_der(&sha256_rsa).unwrap(),
            SignatureAlgorithm::RsaPkcs1(Hash::Sha256)
        );
        // OpenSSL ignores the parameters of PKCS#1: absent verifies too.
        let absent = alg(&[1, 2, 840, 113549, 1, 1, 11], None);
        assert_eq!(
            SignatureAlgorithm::from_der(&absent).unwrap(),
            SignatureAlgorithm::RsaPkcs1(Hash::Sha256)
        );
        let ecdsa = alg(&[1, 2, 840, 10045, 4, 3, 3], None);
        assert_eq!(
            SignatureAlgorithm::from_der(&ecdsa).unwrap(),
            SignatureAlgorithm::Ecdsa(Hash::Sha384)
        );
        assert!(SignatureAlgorithm::from_der(&alg(&[1, 2, 3], None)).is_err());
        assert!(SignatureAlgorithm::RsaPkcs1(Hash::Sha1).digest_too_weak());
        assert!(!SignatureAlgorithm::Ed25519.digest_too_weak());
        assert!(
            SignatureAlgorithm::RsaPss(PssParams {
                hash: Hash::Sha256,
                mgf1_hash: Hash::Sha256,
                salt_len: 32
            })
            .fits_key(KeyKind::Rsa)
        );
        assert!(!SignatureAlgorithm::Ecdsa(Hash::Sha256).fits_key(KeyKind::Rsa));
    }

    #[test]
    fn pss_parameters_are_parsed_not_searched() {
        let a = SignatureAlgorithm::from_der(&pss(SHA256, SHA256, Some(32))).unwrap();
        assert_eq!(
            a,
            SignatureAlgorithm::RsaPss(PssParams {
                hash: Hash::Sha256,
                mgf1_hash: Hash::Sha256,
                salt_len: 32
            })
        );
        // The MGF1 hash is its own field: SHA-384 content with a SHA-256 MGF1.
        let mixed = SignatureAlgorithm::from_der(&pss(SHA384, SHA256, None)).unwrap();
        assert_eq!(
            mixed,
            SignatureAlgorithm::RsaPss(PssParams {
                hash: Hash::Sha384,
                mgf1_hash: Hash::Sha256,
                salt_len: 20
            })
        );
        let key = PublicKeyInfo {
            kind: KeyKind::Rsa,
            curve: None,
            key: Vec::new(),
        };
        assert_eq!(
            verify(&mixed, &key, b"m", b"s"),
            Err(SignatureError::Unsupported(mixed))
        );
        // Defaults: empty parameters mean SHA-1 everywhere, salt 20.
        let empty = alg(PSS, Some(&[0x30, 0x00]));
        assert_eq!(
            SignatureAlgorithm::from_der(&empty).unwrap(),
            SignatureAlgorithm::RsaPss(PssParams {
                hash: Hash::Sha1,
                mgf1_hash: Hash::Sha1,
                salt_len: 20
            })
        );
        assert!(SignatureAlgorithm::from_der(&alg(PSS, None)).is_err());
        // Fields out of order, or a trailer other than 1.
        let swapped = der::tlv(
            tag::SEQUENCE,
            &[
                der::tlv(0xa2, &der::tlv(tag::INTEGER, &[32])),
                der::tlv(0xa0, &hash_alg(SHA256)),
            ]
            .concat(),
        );
        assert!(SignatureAlgorithm::from_der(&alg(PSS, Some(&swapped))).is_err());
        let trailer = der::tlv(
            tag::SEQUENCE,
            &der::tlv(0xa3, &der::tlv(tag::INTEGER, &[2])),
        );
        assert!(SignatureAlgorithm::from_der(&alg(PSS, Some(&trailer))).is_err());
    }
}
