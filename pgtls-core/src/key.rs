//! Private and public keys: generation, loading (PKCS#8, PKCS#1, SEC1, encrypted
//! PKCS#8), writing (PKCS#8 v1, optionally PBES2-encrypted), matching.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use pkcs8::der::pem::LineEnding;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef, pkcs5};
use rcgen::{PublicKeyData, SigningKey as _};

use crate::der::{self, DerError};
use crate::error::Error;
use crate::pem::{encode_pem, looks_like_pem, parse_pem};

const OID_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
const OID_EC: &[u64] = &[1, 2, 840, 10045, 2, 1];
const OID_P256: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
const OID_P384: &[u64] = &[1, 3, 132, 0, 34];
const OID_ED25519: &[u64] = &[1, 3, 101, 112];

/// PBKDF2-HMAC-SHA256 iterations for keys we encrypt (OWASP 2023 recommendation).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// The algorithm of a key to generate.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256, signing with SHA-256 (the default: small and fast).
    EcdsaP256,
    /// ECDSA on NIST P-384, signing with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA with a 2048-bit modulus, PKCS#1 v1.5 SHA-256 signatures.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus (slow to generate: about half a second).
    Rsa4096,
}

impl KeyAlgorithm {
    /// Every algorithm, in the spelling [`FromStr`] accepts.
    pub const NAMES: &'static [&'static str] =
        &["p256", "p384", "ed25519", "rsa2048", "rsa3072", "rsa4096"];
}

impl FromStr for KeyAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "p256" | "ec" | "ecdsa" | "ecdsa-p256" | "prime256v1" => Self::EcdsaP256,
            "p384" | "ecdsa-p384" | "secp384r1" => Self::EcdsaP384,
            "ed25519" => Self::Ed25519,
            "rsa2048" | "rsa" | "rsa-2048" => Self::Rsa2048,
            "rsa3072" | "rsa-3072" => Self::Rsa3072,
            "rsa4096" | "rsa-4096" => Self::Rsa4096,
            _ => {
                return Err(Error::invalid(
                    "key algorithm",
                    format!("{s:?}; expected one of {}", Self::NAMES.join(", ")),
                ));
            }
        })
    }
}

/// The type of a public or private key.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA with a modulus of `bits` bits.
    Rsa {
        /// Modulus size.
        bits: usize,
    },
    /// Anything else (only seen when inspecting foreign certificates).
    Other,
}

impl KeyType {
    /// The key size in bits (the curve size for elliptic-curve keys).
    pub fn bits(&self) -> usize {
        match self {
            Self::EcdsaP256 | Self::Ed25519 => 256,
            Self::EcdsaP384 => 384,
            Self::Rsa { bits } => *bits,
            Self::Other => 0,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EcdsaP256 => f.write_str("ECDSA P-256"),
            Self::EcdsaP384 => f.write_str("ECDSA P-384"),
            Self::Ed25519 => f.write_str("Ed25519"),
            Self::Rsa { bits } => write!(f, "RSA {bits}"),
            Self::Other => f.write_str("unknown"),
        }
    }
}

/// A public key as a DER `SubjectPublicKeyInfo`, kept byte for byte.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    spki: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_type())
    }
}

impl PublicKey {
    /// Wraps a DER `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// [`Error::Malformed`] when it is not a `SEQUENCE { AlgorithmIdentifier, BIT STRING }`.
    pub fn from_spki_der(spki: &[u8], source: &str) -> Result<Self, Error> {
        parse_spki(spki).map_err(|e| Error::malformed(source, "public key", e.0))?;
        Ok(Self {
            spki: spki.to_vec(),
        })
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        parse_spki(&self.spki).map_or(KeyType::Other, |p| p.key_type)
    }

    /// SHA-256 of the DER `SubjectPublicKeyInfo` (as `openssl pkey -pubout -outform DER |
    /// sha256sum` prints it).
    pub fn sha256(&self) -> [u8; 32] {
        sha256(&self.spki)
    }

    /// The RFC 5280 method-1 key identifier: SHA-1 of the public key bits (what OpenSSL's
    /// `subjectKeyIdentifier=hash` writes).
    pub fn key_identifier(&self) -> Vec<u8> {
        let bits = parse_spki(&self.spki).map_or_else(|_| Vec::new(), |p| p.key_bits);
        digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &bits)
            .as_ref()
            .to_vec()
    }

    /// Whether both are the same key (type and key bits; the encoding of the algorithm
    /// parameters may differ).
    pub(crate) fn same_key(&self, other: &Self) -> bool {
        self.key_type() == other.key_type() && self.key_bits() == other.key_bits()
    }

    /// The raw public key bits (the BIT STRING content without the unused-bits octet).
    pub(crate) fn key_bits(&self) -> Vec<u8> {
        parse_spki(&self.spki).map_or_else(|_| Vec::new(), |p| p.key_bits)
    }

    /// rcgen's view of this key (only the algorithm matters: we splice the exact SPKI).
    pub(crate) fn for_rcgen(&self, source: &str) -> Result<rcgen::SubjectPublicKeyInfo, Error> {
        rcgen::SubjectPublicKeyInfo::from_der(&self.spki).map_err(|_| Error::UnsupportedKey {
            input: source.to_owned(),
            reason: format!("{} public keys cannot be certified", self.key_type()),
        })
    }
}

struct ParsedSpki {
    key_type: KeyType,
    key_bits: Vec<u8>,
}

fn parse_spki(spki: &[u8]) -> Result<ParsedSpki, DerError> {
    let outer = der::read_all(spki)?;
    let parts = der::children(outer.content)?;
    let [alg, bits] = parts.as_slice() else {
        return Err(DerError("SubjectPublicKeyInfo must have two elements"));
    };
    if alg.tag != 0x30 || bits.tag != 0x03 {
        return Err(DerError("SubjectPublicKeyInfo has the wrong element types"));
    }
    let alg_parts = der::children(alg.content)?;
    let oid = alg_parts
        .first()
        .filter(|o| o.tag == 0x06)
        .ok_or(DerError("AlgorithmIdentifier without OID"))?;
    let key_bits = bits.content.get(1..).unwrap_or_default().to_vec();
    let key_type = if oid.raw == der::oid(OID_RSA) {
        KeyType::Rsa {
            bits: rsa_modulus_bits(&key_bits).unwrap_or(0),
        }
    } else if oid.raw == der::oid(OID_EC) {
        match alg_parts.get(1) {
            Some(p) if p.raw == der::oid(OID_P256) => KeyType::EcdsaP256,
            Some(p) if p.raw == der::oid(OID_P384) => KeyType::EcdsaP384,
            _ => KeyType::Other,
        }
    } else if oid.raw == der::oid(OID_ED25519) {
        KeyType::Ed25519
    } else {
        KeyType::Other
    };
    Ok(ParsedSpki { key_type, key_bits })
}

/// Modulus size from an `RSAPublicKey ::= SEQUENCE { modulus INTEGER, ... }`.
fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Option<usize> {
    let seq = der::read_all(rsa_public_key).ok()?;
    let (n, _) = der::read(seq.content).ok()?;
    let digits: &[u8] = {
        let skip = n.content.iter().take_while(|b| **b == 0).count();
        n.content.get(skip..)?
    };
    let first = *digits.first()?;
    Some(digits.len() * 8 - first.leading_zeros() as usize)
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A private key with its public half, ready to sign.
///
/// Internally always PKCS#8 v1 (Ed25519 included, so that OpenSSL 3.0, and therefore
/// PostgreSQL, can load what we write).
pub struct KeyPair {
    inner: rcgen::KeyPair,
    pkcs8: Vec<u8>,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({}, secret elided)", self.key_type())
    }
}

impl KeyPair {
    /// Generates a new key.
    ///
    /// # Errors
    /// [`Error::Crypto`] when the crypto library fails.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, Error> {
        let failed = |_| Error::Crypto {
            operation: "key generation",
        };
        let inner = match algorithm {
            KeyAlgorithm::EcdsaP256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyAlgorithm::EcdsaP384 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyAlgorithm::Ed25519 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519),
            KeyAlgorithm::Rsa2048 => {
                rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            }
            KeyAlgorithm::Rsa3072 => {
                rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)
            }
            KeyAlgorithm::Rsa4096 => {
                rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_4096)
            }
        }
        .map_err(failed)?;
        Self::from_pkcs8(inner.serialized_der(), "generated key")
    }

    /// Loads a private key from PEM or DER.
    ///
    /// Accepts PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`)
    /// and PBES2-encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, needs `passphrase`). `source`
    /// names the input in errors.
    ///
    /// # Errors
    /// [`Error::LegacyEncryptedKey`] for the traditional `Proc-Type: 4,ENCRYPTED` format
    /// (with the `openssl` command that converts it), [`Error::PassphraseRequired`],
    /// [`Error::WrongPassphrase`], [`Error::UnsupportedKey`], [`Error::Malformed`].
    pub fn from_pem_or_der(
        input: &[u8],
        passphrase: Option<&[u8]>,
        source: &str,
    ) -> Result<Self, Error> {
        if !looks_like_pem(input) {
            return Self::from_any_der(input, passphrase, source);
        }
        let blocks = parse_pem(input, source)?;
        let block = blocks
            .iter()
            .find(|b| b.label.ends_with("PRIVATE KEY"))
            .ok_or_else(|| Error::malformed(source, "private key", "no PRIVATE KEY block"))?;
        if block.has_headers {
            return Err(Error::LegacyEncryptedKey {
                input: source.to_owned(),
            });
        }
        match block.label.as_str() {
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                Self::from_any_der(&block.der, passphrase, source)
            }
            other => Err(Error::UnsupportedKey {
                input: source.to_owned(),
                reason: format!("PEM label {other:?}"),
            }),
        }
    }

    fn from_any_der(der: &[u8], passphrase: Option<&[u8]>, source: &str) -> Result<Self, Error> {
        let malformed = |e: DerError| Error::malformed(source, "private key", e.0);
        let outer = der::read_all(der).map_err(malformed)?;
        let parts = der::children(outer.content).map_err(malformed)?;
        match parts.as_slice() {
            // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
            [alg, data] if alg.tag == 0x30 && data.tag == 0x04 => {
                let Some(pass) = passphrase else {
                    return Err(Error::PassphraseRequired {
                        input: source.to_owned(),
                    });
                };
                let info = EncryptedPrivateKeyInfoRef::try_from(der).map_err(|e| {
                    Error::UnsupportedKey {
                        input: source.to_owned(),
                        reason: format!("encrypted key format: {e}"),
                    }
                })?;
                let plain = info.decrypt(pass).map_err(|_| Error::WrongPassphrase {
                    input: source.to_owned(),
                })?;
                Self::from_any_der(plain.as_bytes(), None, source).map_err(|e| match e {
                    Error::Malformed { .. } => Error::WrongPassphrase {
                        input: source.to_owned(),
                    },
                    e => e,
                })
            }
            // PrivateKeyInfo ::= SEQUENCE { INTEGER, AlgorithmIdentifier, OCTET STRING, ... }
            [v, alg, key, ..] if v.tag == 0x02 && alg.tag == 0x30 && key.tag == 0x04 => {
                Self::from_pkcs8(der, source)
            }
            // RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qinv }
            [v, n, ..] if parts.len() == 9 && v.tag == 0x02 && n.tag == 0x02 => {
                let alg = der::tlv_parts(0x30, &[&der::oid(OID_RSA), &[0x05, 0x00]]);
                let wrapped =
                    der::tlv_parts(0x30, &[&[0x02, 0x01, 0x00], &alg, &der::tlv(0x04, der)]);
                Self::from_pkcs8(&wrapped, source)
            }
            // ECPrivateKey ::= SEQUENCE { version 1, OCTET STRING, [0] params, [1] pub }
            [v, key, ..] if v.tag == 0x02 && key.tag == 0x04 => {
                let curve = parts
                    .iter()
                    .find(|p| p.tag == 0xa0)
                    .and_then(|p| der::read_all(p.content).ok())
                    .ok_or_else(|| Error::UnsupportedKey {
                        input: source.to_owned(),
                        reason: "EC key without named-curve parameters".to_owned(),
                    })?;
                let alg = der::tlv_parts(0x30, &[&der::oid(OID_EC), curve.raw]);
                let wrapped =
                    der::tlv_parts(0x30, &[&[0x02, 0x01, 0x00], &alg, &der::tlv(0x04, der)]);
                Self::from_pkcs8(&wrapped, source)
            }
            _ => Err(Error::malformed(
                source,
                "private key",
                "not PKCS#8, PKCS#1, SEC1 or encrypted PKCS#8",
            )),
        }
    }

    fn from_pkcs8(pkcs8: &[u8], source: &str) -> Result<Self, Error> {
        // Ed25519 keys from aws-lc are PKCS#8 v2; OpenSSL 3.0 cannot read those.
        let pkcs8 =
            normalize_pkcs8(pkcs8).map_err(|e| Error::malformed(source, "private key", e.0))?;
        // What we keep must be strict DER PKCS#8, or it could not be written encrypted
        // later (found by the key_load fuzz target: a flipped bit aws-lc tolerates).
        PrivateKeyInfoRef::try_from(pkcs8.as_slice()).map_err(|_| {
            Error::malformed(source, "private key", "PKCS#8 structure is not valid DER")
        })?;
        let inner =
            rcgen::KeyPair::try_from(pkcs8.as_slice()).map_err(|_| Error::UnsupportedKey {
                input: source.to_owned(),
                reason: "not an RSA, ECDSA P-256/P-384 or Ed25519 key, or the key is invalid"
                    .to_owned(),
            })?;
        Ok(Self { inner, pkcs8 })
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.public_key().key_type()
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            spki: self.inner.subject_public_key_info(),
        }
    }

    /// Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pem(&self) -> String {
        encode_pem("PRIVATE KEY", &self.pkcs8)
    }

    /// Unencrypted PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// PBES2-encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, PBKDF2-HMAC-SHA256
    /// with 600,000 iterations, AES-256-CBC), which OpenSSL, libpq (`sslpassword`) and the
    /// server (`ssl_passphrase_command`) read.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty passphrase, [`Error::Crypto`] otherwise.
    pub fn to_encrypted_pem(&self, passphrase: &[u8]) -> Result<String, Error> {
        self.to_encrypted_pem_with_iterations(passphrase, PBKDF2_ITERATIONS)
    }

    /// As [`KeyPair::to_encrypted_pem`] with a chosen PBKDF2 iteration count (OpenSSL 3.0's
    /// `openssl pkcs8 -topk8` uses 2048; fewer than 1000 is refused).
    ///
    /// # Errors
    /// As [`KeyPair::to_encrypted_pem`]; [`Error::InvalidParameter`] for too few iterations.
    pub fn to_encrypted_pem_with_iterations(
        &self,
        passphrase: &[u8],
        iterations: u32,
    ) -> Result<String, Error> {
        if iterations < 1000 {
            return Err(Error::invalid("PBKDF2 iterations", "at least 1000"));
        }
        if passphrase.is_empty() {
            return Err(Error::invalid("passphrase", "must not be empty"));
        }
        let crypto = |_| Error::Crypto {
            operation: "key encryption",
        };
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).map_err(crypto)?;
        aws_lc_rs::rand::fill(&mut iv).map_err(crypto)?;
        let params =
            pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv)
                .map_err(|_| Error::Crypto {
                    operation: "key encryption parameters",
                })?;
        let info =
            PrivateKeyInfoRef::try_from(self.pkcs8.as_slice()).map_err(|_| Error::Crypto {
                operation: "key encoding",
            })?;
        let doc = info
            .encrypt_with_params(params, passphrase)
            .map_err(|_| Error::Crypto {
                operation: "key encryption",
            })?;
        let pem = doc
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(|_| Error::Crypto {
                operation: "key encoding",
            })?;
        Ok(pem.as_str().to_owned())
    }

    /// Whether this key is the private half of `public`.
    pub fn matches(&self, public: &PublicKey) -> bool {
        self.public_key().same_key(public)
    }

    /// Signs `message` with the key's algorithm (RSA PKCS#1 v1.5 SHA-256, ECDSA P-256
    /// SHA-256, ECDSA P-384 SHA-384, Ed25519).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DerError> {
        self.inner
            .sign(message)
            .map_err(|_| DerError("signing failed"))
    }
}

/// The in-memory key signs for itself.
impl crate::CaSigner for KeyPair {
    fn public_key(&self) -> PublicKey {
        Self::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Self::sign(self, message).map_err(|_| Error::Crypto {
            operation: "signing with the CA key",
        })
    }

    fn key_pair(&self) -> Option<&KeyPair> {
        Some(self)
    }
}

/// Rewrites PKCS#8 v2 (with public key) as v1; other PKCS#8 pass unchanged.
fn normalize_pkcs8(pkcs8: &[u8]) -> Result<Vec<u8>, DerError> {
    let outer = der::read_all(pkcs8)?;
    let parts = der::children(outer.content)?;
    if parts.iter().any(|p| p.tag == 0x81 || p.tag == 0xa1) {
        let kept: Vec<&[u8]> = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.tag != 0x81 && p.tag != 0xa1)
            .map(|(i, p)| {
                if i == 0 {
                    &[0x02, 0x01, 0x00][..]
                } else {
                    p.raw
                }
            })
            .collect();
        return Ok(der::tlv_parts(0x30, &kept));
    }
    Ok(pkcs8.to_vec())
}

/// rcgen signer that reports a key's algorithm and public key but signs nothing: the
/// structure is re-signed after the names are spliced in (see `der::resign`), by the
/// key itself or by a [`CaSigner`](crate::CaSigner).
pub(crate) struct DeferredSigner {
    key_bits: Vec<u8>,
    algorithm: &'static rcgen::SignatureAlgorithm,
}

impl DeferredSigner {
    /// For the private half of `key`, signing with the algorithm its type implies (the
    /// one [`CaSigner::sign`](crate::CaSigner::sign) documents).
    ///
    /// # Errors
    /// [`Error::UnsupportedKey`] for a key type pgtls does not sign with.
    pub(crate) fn for_key(key: &PublicKey, source: &str) -> Result<Self, Error> {
        let algorithm = match key.key_type() {
            KeyType::Rsa { .. } => &rcgen::PKCS_RSA_SHA256,
            KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
            KeyType::Other => {
                return Err(Error::UnsupportedKey {
                    input: source.to_owned(),
                    reason: "pgtls signs with RSA, ECDSA P-256/P-384 and Ed25519 keys only"
                        .to_owned(),
                });
            }
        };
        Ok(Self {
            key_bits: key.key_bits(),
            algorithm,
        })
    }
}

impl PublicKeyData for DeferredSigner {
    fn der_bytes(&self) -> &[u8] {
        &self.key_bits
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm
    }
}

impl rcgen::SigningKey for DeferredSigner {
    fn sign(&self, _msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_and_reload_all_types() {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::Rsa2048,
        ] {
            let k = KeyPair::generate(alg).unwrap();
            let pem = k.to_pem();
            let back = KeyPair::from_pem_or_der(pem.as_bytes(), None, "k").unwrap();
            assert!(back.matches(&k.public_key()), "{alg:?}");
            assert_eq!(back.key_type(), k.key_type());
        }
    }

    #[test]
    fn ed25519_is_pkcs8_v1() {
        let k = KeyPair::generate(KeyAlgorithm::Ed25519).unwrap();
        let outer = der::read_all(k.to_pkcs8_der()).unwrap();
        let parts = der::children(outer.content).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].content, &[0]);
    }

    #[test]
    fn encrypted_round_trip_and_wrong_passphrase() {
        let k = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let enc = k.to_encrypted_pem_with_iterations(b"secret", 2048).unwrap();
        assert!(enc.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let back = KeyPair::from_pem_or_der(enc.as_bytes(), Some(b"secret"), "k").unwrap();
        assert!(back.matches(&k.public_key()));
        assert!(matches!(
            KeyPair::from_pem_or_der(enc.as_bytes(), Some(b"wrong"), "k"),
            Err(Error::WrongPassphrase { .. })
        ));
        assert!(matches!(
            KeyPair::from_pem_or_der(enc.as_bytes(), None, "k"),
            Err(Error::PassphraseRequired { .. })
        ));
    }

    #[test]
    fn legacy_encrypted_pem_is_refused_with_advice() {
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let err = KeyPair::from_pem_or_der(legacy.as_bytes(), None, "old.key").unwrap_err();
        assert!(matches!(err, Error::LegacyEncryptedKey { .. }));
        assert!(err.to_string().contains("openssl pkcs8 -topk8"));
    }
}
