//! Recognising what a file holds.

use crate::cert::Certificate;
use crate::crl::Crl;
use crate::csr::Csr;
use crate::error::Error;
use crate::key::{KeyPair, PublicKey};
use crate::pem::{looks_like_pem, parse_pem};

/// One object found in a file.
#[non_exhaustive]
#[derive(Debug)]
pub enum Inspection {
    /// A certificate.
    Certificate(Box<Certificate>),
    /// A certificate signing request (its signature verified).
    Csr(Csr),
    /// A CRL.
    Crl(Box<Crl>),
    /// A private key (decrypted when it was encrypted and a passphrase was given).
    PrivateKey {
        /// The key.
        key: KeyPair,
        /// Whether the file had it encrypted.
        encrypted: bool,
    },
    /// An encrypted private key that was not decrypted (no passphrase given).
    EncryptedPrivateKey,
    /// A public key.
    PublicKey(PublicKey),
}

/// Finds every certificate, CSR, CRL and key in PEM or DER `input`.
///
/// # Errors
/// The parse errors of each type ([`Error::Malformed`], [`Error::BadSignature`] for a CSR
/// whose signature does not verify, [`Error::LegacyEncryptedKey`], [`Error::WrongPassphrase`]).
pub fn inspect(
    input: &[u8],
    passphrase: Option<&[u8]>,
    source: &str,
) -> Result<Vec<Inspection>, Error> {
    if !looks_like_pem(input) {
        if let Ok(c) = Certificate::from_der(input, source) {
            return Ok(vec![Inspection::Certificate(Box::new(c))]);
        }
        if let Ok(c) = Crl::from_der(input, source) {
            return Ok(vec![Inspection::Crl(Box::new(c))]);
        }
        match Csr::from_der(input, source) {
            Ok(c) => return Ok(vec![Inspection::Csr(c)]),
            Err(e @ Error::BadSignature { .. }) => return Err(e),
            Err(_) => {}
        }
        if let Ok(k) = PublicKey::from_spki_der(input, source) {
            return Ok(vec![Inspection::PublicKey(k)]);
        }
        return match KeyPair::from_pem_or_der(input, passphrase, source) {
            Ok(key) => Ok(vec![Inspection::PrivateKey {
                key,
                encrypted: passphrase.is_some(),
            }]),
            Err(Error::PassphraseRequired { .. }) => Ok(vec![Inspection::EncryptedPrivateKey]),
            Err(Error::Malformed { .. }) => Err(Error::malformed(
                source,
                "certificate, CSR, CRL or key",
                "the DER is none of these",
            )),
            Err(e) => Err(e),
        };
    }
    let mut out = Vec::new();
    for block in parse_pem(input, source)? {
        let item = match block.label.as_str() {
            "CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                Inspection::Certificate(Box::new(Certificate::from_der(&block.der, source)?))
            }
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
                Inspection::Csr(Csr::from_der(&block.der, source)?)
            }
            "X509 CRL" => Inspection::Crl(Box::new(Crl::from_der(&block.der, source)?)),
            "PUBLIC KEY" => Inspection::PublicKey(PublicKey::from_spki_der(&block.der, source)?),
            label if label.ends_with("PRIVATE KEY") => {
                if block.has_headers {
                    return Err(Error::LegacyEncryptedKey {
                        input: source.to_owned(),
                    });
                }
                let encrypted = label == "ENCRYPTED PRIVATE KEY";
                let pem = crate::pem::encode_pem(label, &block.der);
                match KeyPair::from_pem_or_der(pem.as_bytes(), passphrase, source) {
                    Ok(key) => Inspection::PrivateKey { key, encrypted },
                    Err(Error::PassphraseRequired { .. }) => Inspection::EncryptedPrivateKey,
                    Err(e) => return Err(e),
                }
            }
            _ => continue,
        };
        out.push(item);
    }
    if out.is_empty() {
        return Err(Error::malformed(
            source,
            "certificate, CSR, CRL or key",
            "no block of a known type",
        ));
    }
    Ok(out)
}
