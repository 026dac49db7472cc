//! A rustls 0.23 `ServerCertVerifier` that decides as libpq does.
//!
//! A thin adapter: the decision is [`TrustConfig::evaluate`], the same code
//! `pgtls verify server` runs. So a Rust client on rustls gets libpq's
//! `verify-ca` (chain only, no name check) and `verify-full` (libpq's
//! host-name rules against the `host` parameter, CN fallback included), and
//! `require` verifies the chain when a root file exists, as libpq does.
//! Handshake signatures are checked with the crypto provider's algorithms.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::chain::X509Reason;
use crate::params::{Env, Params};
use crate::policy::{self, Attempt, Refusal};
use crate::trust::TrustConfig;
use crate::{DISABLE_MESSAGE, UNIX_SOCKET_MESSAGE};

/// Why the verifier refused a server certificate: libpq's message and the
/// hidden OpenSSL reason. Carried in `rustls::Error::InvalidCertificate(
/// CertificateError::Other(..))` (or a more specific `CertificateError`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibpqRejection {
    /// libpq's message, e.g. `SSL error: certificate verify failed`.
    pub message: String,
    /// OpenSSL's reason, for chain failures.
    pub reason: Option<X509Reason>,
}

impl fmt::Display for LibpqRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            Some(r) => write!(f, "{} ({})", self.message, r.text()),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for LibpqRejection {}

/// libpq's server-certificate decision as a rustls verifier.
///
/// Build the `ClientConfig` on [`crate::provider::crypto_provider`] (as
/// [`crate::probe::client_config`] does): rustls' own aws-lc-rs provider lacks
/// the secp521r1 group that libpq offers and some servers demand.
#[derive(Debug)]
pub struct LibpqVerifier {
    trust: TrustConfig,
    provider: Arc<CryptoProvider>,
}

impl LibpqVerifier {
    /// Builds the verifier libpq would use for these parameters (root file
    /// and CRLs are read now, as `initialize_SSL` does per connection).
    ///
    /// # Errors
    /// libpq's refusal (invalid sslmode, missing root file under verify-*,
    /// unreadable root file, ...), or `sslmode=disable` / a Unix-socket host,
    /// where libpq would not use TLS at all.
    pub fn new(params: &Params, env: &Env, version: pgtls_hba::PgVersion) -> Result<Self, Refusal> {
        let plan = policy::plan(params, env, version)?;
        if plan.unix_socket {
            return Err(Refusal {
                message: UNIX_SOCKET_MESSAGE.into(),
            });
        }
        if !plan.attempts.contains(&Attempt::Tls) {
            return Err(Refusal {
                message: DISABLE_MESSAGE.into(),
            });
        }
        let trust = TrustConfig::load(&plan, env)?;
        Ok(Self {
            trust,
            provider: crate::provider::crypto_provider_arc(),
        })
    }

    /// Uses another crypto provider for handshake signatures.
    pub fn with_provider(mut self, provider: Arc<CryptoProvider>) -> Self {
        self.provider = provider;
        self
    }

    /// The trust configuration (root file state) this verifier applies.
    pub fn trust(&self) -> &TrustConfig {
        &self.trust
    }
}

fn to_rustls(message: String, reason: Option<X509Reason>) -> rustls::Error {
    let specific = match reason {
        Some(X509Reason::CertHasExpired) => Some(CertificateError::Expired),
        Some(X509Reason::CertNotYetValid) => Some(CertificateError::NotValidYet),
        Some(X509Reason::CertRevoked) => Some(CertificateError::Revoked),
        Some(X509Reason::CertSignatureFailure) => Some(CertificateError::BadSignature),
        _ => None,
    };
    rustls::Error::InvalidCertificate(specific.unwrap_or_else(|| {
        CertificateError::Other(OtherError(Arc::new(LibpqRejection { message, reason })))
    }))
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.to_vec());
        chain.extend(intermediates.iter().map(|c| c.to_vec()));
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let verdict = self
            .trust
            .evaluate(&chain, now)
            .map_err(|e| to_rustls(e.to_string(), None))?;
        if verdict.accept {
            Ok(ServerCertVerified::assertion())
        } else {
            let reason = verdict.hidden_reason().and_then(|c| c.reason);
            Err(to_rustls(verdict.message.unwrap_or_default(), reason))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(message, cert, dss, &self.provider, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(message, cert, dss, &self.provider, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Verifies a handshake signature with the certificate's public key, taken
/// with x509-parser so that certificates webpki will not parse (v1, as
/// libpq accepts them) still work.
pub(crate) fn handshake_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    provider: &CryptoProvider,
    tls13: bool,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let algs = &provider.signature_verification_algorithms;
    let bad = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
    let (_, x) = X509Certificate::from_der(cert.as_ref()).map_err(|_| bad())?;
    let spki = x.public_key();
    if tls13 {
        let der = rustls_pki_types::SubjectPublicKeyInfoDer::from(spki.raw);
        return rustls::crypto::verify_tls13_signature_with_raw_key(message, &der, dss, algs);
    }
    // The AlgorithmIdentifier's contents (what webpki's algorithm ids hold).
    // (SubjectPublicKeyInfo -> contents -> first element: AlgorithmIdentifier)
    let alg_id = first_tlv_contents(spki.raw)
        .and_then(first_tlv_contents)
        .ok_or_else(bad)?;
    let candidates = algs
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, a)| *a)
        .ok_or(rustls::Error::PeerMisbehaved(
            rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
        ))?;
    for alg in candidates {
        if alg.public_key_alg_id().as_ref() != alg_id {
            continue;
        }
        return alg
            .verify_signature(&spki.subject_public_key.data, message, dss.signature())
            .map(|()| HandshakeSignatureValid::assertion())
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadSignature));
    }
    Err(rustls::Error::InvalidCertificate(
        CertificateError::BadSignature,
    ))
}

/// The contents of the DER element at the start of `b`.
fn first_tlv_contents(b: &[u8]) -> Option<&[u8]> {
    pgtls_x509::der::read(b).ok().map(|(t, _)| t.content)
}
