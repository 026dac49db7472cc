//! Certificate signing requests: create, parse, verify.

use crate::der::{self, Splice};
use crate::error::Error;
use crate::key::{DeferredSigner, KeyPair, PublicKey};
use crate::name::{DistinguishedName, SubjectAltName};
use crate::pem::{encode_pem, pem_or_der};

/// A PKCS#10 certificate signing request whose self-signature has been verified.
#[derive(Clone, Debug)]
pub struct Csr {
    der: Vec<u8>,
    subject: DistinguishedName,
    public_key: PublicKey,
    requested_sans: Vec<SubjectAltName>,
}

impl Csr {
    /// Creates a CSR for `key` with `subject` (byte for byte) and, if not empty, a
    /// requested subjectAltName extension.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for SANs that cannot be encoded, [`Error::Crypto`].
    pub fn create(
        subject: &DistinguishedName,
        sans: &[SubjectAltName],
        key: &KeyPair,
    ) -> Result<Self, Error> {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "placeholder");
        p.subject_alt_names = sans
            .iter()
            .map(SubjectAltName::to_rcgen)
            .collect::<Result<_, _>>()?;
        let unsigned = p
            .serialize_request(&DeferredSigner::for_key(&key.public_key(), "key")?)
            .map_err(|_| Error::Crypto {
                operation: "building the certificate request",
            })?;
        let splice = Splice {
            replace: vec![(1, subject.der())],
        };
        let der = der::resign(unsigned.der(), &splice, |tbs| key.sign(tbs)).map_err(|_| {
            Error::Crypto {
                operation: "signing the certificate request",
            }
        })?;
        Self::from_der(&der, "new certificate request")
    }

    /// Parses a PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`) or DER CSR and
    /// verifies its self-signature.
    ///
    /// # Errors
    /// [`Error::Malformed`]; [`Error::BadSignature`] when the signature does not verify.
    pub fn from_pem_or_der(input: &[u8], source: &str) -> Result<Self, Error> {
        let der = pem_or_der(
            input,
            &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
            source,
            "certificate request",
        )?;
        Self::from_der(&der, source)
    }

    /// Parses a DER CSR and verifies its self-signature.
    ///
    /// # Errors
    /// As [`Csr::from_pem_or_der`].
    pub fn from_der(der: &[u8], source: &str) -> Result<Self, Error> {
        let csr = pgtls_x509::CertificationRequest::from_der(der)
            .map_err(|e| Error::malformed(source, "certificate request", e.to_string()))?;
        csr.verify_self_signature()
            .map_err(|_| Error::BadSignature {
                input: source.to_owned(),
                what: "certificate request",
            })?;
        let subject = csr.subject().clone();
        let public_key = PublicKey::from_spki_der(&csr.public_key().der, source)?;
        let requested_sans = csr
            .requested_san()
            .iter()
            .filter_map(crate::cert::general_name_to_san)
            .collect();
        Ok(Self {
            der: der.to_vec(),
            subject,
            public_key,
            requested_sans,
        })
    }

    /// The DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM (`-----BEGIN CERTIFICATE REQUEST-----`).
    pub fn to_pem(&self) -> String {
        encode_pem("CERTIFICATE REQUEST", &self.der)
    }

    /// The requested subject, byte for byte.
    pub fn subject(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The public key to certify.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Subject alternative names the requester asked for. They are not copied into
    /// certificates unless the caller puts them into the parameters.
    pub fn requested_sans(&self) -> &[SubjectAltName] {
        &self.requested_sans
    }
}
