//! Certificate authorities: create (root, intermediate), load, issue.

use rcgen::{
    BasicConstraints, CidrSubnet, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer,
    KeyIdMethod, KeyUsagePurpose,
};
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::csr::Csr;
use crate::der::{self, Splice};
use crate::error::{CaValidity, Error};
use crate::key::{DeferredSigner, KeyPair, KeyType, PublicKey};
use crate::params::{CertificateParams, NameConstraint, Usage};
use crate::serial::SerialNumber;
use crate::signer::CaSigner;

/// Index of `issuer` among the elements of a v3 `TBSCertificate`.
const TBS_ISSUER: usize = 3;
/// Index of `subject`.
const TBS_SUBJECT: usize = 5;
/// Index of `subjectPublicKeyInfo`.
const TBS_SPKI: usize = 6;

/// A certificate authority: its certificate, its signing key (in memory, or any
/// [`CaSigner`]), and the certificates above it (empty for a root).
pub struct Ca {
    cert: Certificate,
    signer: Box<dyn CaSigner>,
    chain: Vec<Certificate>,
    key_id: Vec<u8>,
    label: String,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ca({})", self.cert.subject())
    }
}

impl Ca {
    /// Creates a self-signed root CA from `params` (whose usage must be [`Usage::Ca`]):
    /// basic constraints `CA:TRUE` critical (with the path length if given), key usage
    /// keyCertSign + cRLSign, subject key identifier, optional name constraints.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for non-CA params, an empty subject or an empty
    /// validity; [`Error::Crypto`] if signing fails.
    pub fn create_root(params: &CertificateParams, key: KeyPair) -> Result<Self, Error> {
        Self::create_root_with_signer(params, Box::new(key))
    }

    /// As [`Ca::create_root`], for a key that signs through `signer` (which need not
    /// hold the key in memory).
    ///
    /// # Errors
    /// As [`Ca::create_root`]; [`Error::UnsupportedKey`] for a key type pgtls does not
    /// sign with; what `signer` fails with.
    pub fn create_root_with_signer(
        params: &CertificateParams,
        signer: Box<dyn CaSigner>,
    ) -> Result<Self, Error> {
        if !matches!(params.usage, Usage::Ca { .. }) {
            return Err(Error::invalid(
                "usage",
                "a CA certificate needs the CA profile",
            ));
        }
        let public = signer.public_key();
        let serial = match &params.serial {
            Some(s) => s.clone(),
            None => SerialNumber::random()?,
        };
        let rc = rcgen_params(params, &serial, &public, None)?;
        let unsigned = rc
            .self_signed(&DeferredSigner::for_key(&public, "CA key")?)
            .map_err(|_| Error::Crypto {
                operation: "building the CA certificate",
            })?;
        let der = splice_and_sign(
            unsigned.der(),
            params.subject.der(),
            params.subject.der(),
            public.spki_der(),
            signer.as_ref(),
        )?;
        let cert = Certificate::from_der(&der, "new CA certificate")?;
        Self::from_signer(cert, signer, Vec::new(), "new CA certificate")
    }

    /// Loads an existing CA (for example one made by `openssl req -x509`) from its
    /// certificate, its key and the certificates above it. Its subject is kept byte for
    /// byte: the issuer of everything it signs is exactly that subject.
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] when the key does not belong to the certificate,
    /// [`Error::NotCa`] when the certificate is not a CA (no `CA:TRUE`, or key usage
    /// without keyCertSign).
    pub fn from_parts(
        cert: Certificate,
        key: KeyPair,
        chain: Vec<Certificate>,
        label: &str,
    ) -> Result<Self, Error> {
        Self::from_signer(cert, Box::new(key), chain, label)
    }

    /// As [`Ca::from_parts`], for a key that signs through `signer`.
    ///
    /// # Errors
    /// As [`Ca::from_parts`]; [`Error::UnsupportedKey`] for a key type pgtls does not
    /// sign with.
    pub fn from_signer(
        cert: Certificate,
        signer: Box<dyn CaSigner>,
        chain: Vec<Certificate>,
        label: &str,
    ) -> Result<Self, Error> {
        if !signer.public_key().same_key(cert.public_key()) {
            return Err(Error::KeyMismatch {
                key: format!("for {label}"),
                certificate: label.to_owned(),
            });
        }
        let c = cert.constraints();
        if !c.is_ca {
            return Err(Error::NotCa {
                input: label.to_owned(),
                reason: "basic constraints do not say CA:TRUE",
            });
        }
        if !c.key_usage.is_empty() && !c.key_usage.contains(&"keyCertSign") {
            return Err(Error::NotCa {
                input: label.to_owned(),
                reason: "key usage does not include keyCertSign",
            });
        }
        DeferredSigner::for_key(cert.public_key(), label)?;
        let key_id = cert
            .subject_key_identifier()
            .map_or_else(|| cert.public_key().key_identifier(), <[u8]>::to_vec);
        Ok(Self {
            cert,
            signer,
            chain,
            key_id,
            label: label.to_owned(),
        })
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The certificates above this CA, nearest first (empty for a root).
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// This CA's certificate followed by the certificates above it, as PEM (a root's
    /// own certificate alone): the CA's whole path, root included.
    pub fn chain_pem(&self) -> String {
        std::iter::once(&self.cert)
            .chain(&self.chain)
            .map(Certificate::to_pem)
            .collect()
    }

    /// The CA certificates that the holder of a certificate this CA issued sends after
    /// its own (a server's `ssl_cert_file`, a client's `sslcert`), nearest first: this
    /// CA's certificate and the ones above it, without self-issued ones. The root is
    /// what the other side must already trust (its `sslrootcert` or `ssl_ca_file`), so
    /// it is not sent; for a root CA the list is empty.
    pub fn presented_chain(&self) -> Vec<&Certificate> {
        if self.cert.is_self_issued() {
            return Vec::new();
        }
        std::iter::once(&self.cert)
            .chain(self.chain.iter().filter(|c| !c.is_self_issued()))
            .collect()
    }

    /// `leaf` followed by [`Ca::presented_chain`], as PEM: the file a server's
    /// `ssl_cert_file` or a client's `sslcert` holds for a certificate this CA issued.
    pub fn full_chain_pem(&self, leaf: &Certificate) -> String {
        std::iter::once(leaf)
            .chain(self.presented_chain())
            .map(Certificate::to_pem)
            .collect()
    }

    /// The CA's private key, when it is in memory (see [`CaSigner::key_pair`]).
    pub fn key(&self) -> Option<&KeyPair> {
        self.signer.key_pair()
    }

    /// What signs for the CA.
    pub fn signer(&self) -> &dyn CaSigner {
        self.signer.as_ref()
    }

    /// The key identifier issued certificates and CRLs carry as authority key identifier:
    /// the CA's subject key identifier, or the SHA-1 of its key when it has none.
    pub fn key_identifier(&self) -> &[u8] {
        &self.key_id
    }

    /// Issues a certificate for `subject_key` with `params`, signed by this CA.
    ///
    /// The issuer is this CA's subject byte for byte; the authority key identifier is
    /// this CA's key identifier; the serial is `params.serial` or a random one. A
    /// certificate never outlives its issuer: that is an error, not a silent clamp, so
    /// the validity you asked for is the validity you get.
    ///
    /// # Errors
    /// [`Error::CaNotValid`] when the CA is not valid at `now`; [`Error::OutlivesIssuer`];
    /// [`Error::InvalidParameter`] for an empty validity or a CA profile with a path
    /// length that this CA's own path length forbids; [`Error::UnsupportedKey`].
    pub fn issue(
        &self,
        params: &CertificateParams,
        subject_key: &PublicKey,
        now: OffsetDateTime,
    ) -> Result<Certificate, Error> {
        if now > self.cert.not_after() {
            return Err(Error::CaNotValid {
                input: self.label.clone(),
                reason: CaValidity::Expired {
                    not_after: self.cert.not_after(),
                },
            });
        }
        if now < self.cert.not_before() {
            return Err(Error::CaNotValid {
                input: self.label.clone(),
                reason: CaValidity::NotYetValid {
                    not_before: self.cert.not_before(),
                },
            });
        }
        if params.validity.not_after > self.cert.not_after() {
            return Err(Error::OutlivesIssuer {
                not_after: params.validity.not_after,
                issuer_not_after: self.cert.not_after(),
            });
        }
        if let (Usage::Ca { .. }, Some(0)) = (params.usage, self.cert.constraints().path_len) {
            return Err(Error::invalid(
                "usage",
                "this CA has pathlen:0 and cannot issue CA certificates",
            ));
        }
        let serial = match &params.serial {
            Some(s) => s.clone(),
            None => SerialNumber::random()?,
        };
        self.issue_with_serial(params, subject_key, &serial)
    }

    pub(crate) fn issue_with_serial(
        &self,
        params: &CertificateParams,
        subject_key: &PublicKey,
        serial: &SerialNumber,
    ) -> Result<Certificate, Error> {
        let rc = rcgen_params(params, serial, subject_key, Some(&self.key_id))?;
        let spki = subject_key.for_rcgen("subject public key")?;
        let issuer = self.rcgen_issuer()?;
        let unsigned = rc.signed_by(&spki, &issuer).map_err(|_| Error::Crypto {
            operation: "building the certificate",
        })?;
        let der = splice_and_sign(
            unsigned.der(),
            self.cert.subject().der(),
            params.subject.der(),
            subject_key.spki_der(),
            self.signer.as_ref(),
        )?;
        Certificate::from_der(&der, "issued certificate")
    }

    /// Issues a CA certificate for `key` and returns the new intermediate CA (its chain is
    /// this CA's certificate followed by this CA's chain).
    ///
    /// # Errors
    /// As [`Ca::issue`].
    pub fn create_intermediate(
        &self,
        params: &CertificateParams,
        key: KeyPair,
        now: OffsetDateTime,
    ) -> Result<Self, Error> {
        if !matches!(params.usage, Usage::Ca { .. }) {
            return Err(Error::invalid(
                "usage",
                "an intermediate CA needs the CA profile",
            ));
        }
        let cert = self.issue(params, &key.public_key(), now)?;
        let mut chain = vec![self.cert.clone()];
        chain.extend(self.chain.iter().cloned());
        Self::from_parts(cert, key, chain, "new intermediate CA certificate")
    }

    pub(crate) fn rcgen_issuer(&self) -> Result<Issuer<'static, DeferredSigner>, Error> {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "placeholder");
        p.key_identifier_method = KeyIdMethod::PreSpecified(self.key_id.clone());
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let signer = DeferredSigner::for_key(self.cert.public_key(), &self.label)?;
        Ok(Issuer::new(p, signer))
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }
}

/// Replaces issuer, subject and public key with exact bytes and signs.
fn splice_and_sign(
    unsigned: &[u8],
    issuer: &[u8],
    subject: &[u8],
    spki: &[u8],
    signer: &dyn CaSigner,
) -> Result<Vec<u8>, Error> {
    let splice = Splice {
        replace: vec![
            (TBS_ISSUER, issuer),
            (TBS_SUBJECT, subject),
            (TBS_SPKI, spki),
        ],
    };
    resign_with(unsigned, &splice, signer, "signing the certificate")
}

/// `der::resign` with `signer`, keeping the signer's own error.
pub(crate) fn resign_with(
    unsigned: &[u8],
    splice: &Splice<'_>,
    signer: &dyn CaSigner,
    operation: &'static str,
) -> Result<Vec<u8>, Error> {
    let mut failure = None;
    der::resign(unsigned, splice, |tbs| {
        signer.sign(tbs).map_err(|e| {
            failure = Some(e);
            der::DerError("signing failed")
        })
    })
    .map_err(|_| failure.unwrap_or(Error::Crypto { operation }))
}

fn rcgen_params(
    params: &CertificateParams,
    serial: &SerialNumber,
    subject_key: &PublicKey,
    authority_key_id: Option<&[u8]>,
) -> Result<rcgen::CertificateParams, Error> {
    let v = params.validity;
    if v.not_after <= v.not_before {
        return Err(Error::invalid(
            "validity",
            "not_after must be after not_before",
        ));
    }
    let mut p = rcgen::CertificateParams::default();
    p.not_before = v.not_before;
    p.not_after = v.not_after;
    p.serial_number = Some(serial.to_rcgen());
    // A placeholder with the same emptiness as the real subject, so that rcgen marks the
    // SAN critical exactly when the subject is empty (RFC 5280 §4.2.1.6).
    p.distinguished_name = rcgen::DistinguishedName::new();
    if !params.subject.is_empty() {
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "placeholder");
    } else if params.subject_alt_names.is_empty() {
        return Err(Error::invalid(
            "subject",
            "a certificate with an empty subject needs subject alternative names",
        ));
    }
    p.subject_alt_names = params
        .subject_alt_names
        .iter()
        .map(|s| s.to_rcgen())
        .collect::<Result<_, _>>()?;
    p.key_identifier_method = KeyIdMethod::PreSpecified(subject_key.key_identifier());
    p.use_authority_key_identifier_extension = authority_key_id.is_some();
    match params.usage {
        Usage::Ca { path_len } => {
            p.is_ca = IsCa::Ca(match path_len {
                Some(n) => BasicConstraints::Constrained(n),
                None => BasicConstraints::Unconstrained,
            });
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Usage::Server => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            if matches!(subject_key.key_type(), KeyType::Rsa { .. }) {
                p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
            }
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        Usage::Client => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
    }
    if let Some(nc) = &params.name_constraints {
        if !matches!(params.usage, Usage::Ca { .. }) {
            return Err(Error::invalid(
                "name constraints",
                "only CA certificates carry name constraints",
            ));
        }
        let conv = |list: &[NameConstraint]| -> Vec<GeneralSubtree> {
            list.iter()
                .map(|c| match c {
                    NameConstraint::Dns(d) => GeneralSubtree::DnsName(d.clone()),
                    NameConstraint::Email(e) => GeneralSubtree::Rfc822Name(e.clone()),
                    NameConstraint::Ip { network, prefix } => {
                        GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(*network, *prefix))
                    }
                })
                .collect()
        };
        p.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: conv(&nc.permitted),
            excluded_subtrees: conv(&nc.excluded),
        });
    }
    Ok(p)
}

impl Ca {
    /// Signs a CSR as `policy` says (see [`CsrPolicy`](crate::CsrPolicy): the one CSR policy of pgtls).
    ///
    /// # Errors
    /// As [`CsrPolicy::params`](crate::CsrPolicy::params) and [`Ca::issue`].
    pub fn sign_csr(
        &self,
        csr: &Csr,
        policy: &crate::CsrPolicy,
        now: OffsetDateTime,
    ) -> Result<Certificate, Error> {
        self.issue(&policy.params(csr)?, csr.public_key(), now)
    }
}
