//! The CA's signing key behind a trait, so that it need not live in this process.

use crate::error::Error;
use crate::key::{KeyPair, PublicKey};

/// A CA's private key as the CA uses it: to sign. The in-memory [`KeyPair`] is one; a key
/// in an HSM or a KMS can be another (build the CA with [`Ca::from_signer`] or
/// [`Ca::create_root_with_signer`]).
///
/// pgtls builds every certificate and CRL itself and hands the signer only the DER of
/// the `TBSCertificate` or `TBSCertList` to sign; the signature algorithm written next to
/// it is the one the key type implies (see [`CaSigner::sign`]).
///
/// [`Ca::from_signer`]: crate::Ca::from_signer
/// [`Ca::create_root_with_signer`]: crate::Ca::create_root_with_signer
pub trait CaSigner: Send + Sync {
    /// The public half. Its type decides the signature algorithm.
    fn public_key(&self) -> PublicKey;

    /// Signs `message` with the algorithm of the key's type: RSA PKCS#1 v1.5 with
    /// SHA-256 (`sha256WithRSAEncryption`), ECDSA P-256 with SHA-256 and P-384 with
    /// SHA-384 (a DER `ECDSA-Sig-Value`), Ed25519. Returns the signature as it goes into
    /// the BIT STRING.
    ///
    /// # Errors
    /// Whatever stopped the key from signing: [`Error::Signer`] with the cause as its
    /// source for a key outside this process, [`Error::Crypto`] for the in-memory key.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;

    /// The key itself when it is in this process's memory (a [`DirStore`] writes it to
    /// `private/cakey.pem`); `None`, the default, for a key that is not.
    ///
    /// [`DirStore`]: crate::DirStore
    fn key_pair(&self) -> Option<&KeyPair> {
        None
    }
}
