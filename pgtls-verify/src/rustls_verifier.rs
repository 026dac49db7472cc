//! A rustls 0.23 `ServerCertVerifier` that decides as libpq does.
//!
//! A thin adapter: the decision is [`TrustConfig::evaluate_host`], the same
//! code `pgtls verify server` runs. So a Rust client on rustls gets libpq's
//! `verify-ca` (chain only, no name check) and `verify-full` (libpq's
//! host-name rules, CN fallback included), and `require` verifies the chain
//! when a root file exists, as libpq does.
//! Handshake signatures are checked with the crypto provider's algorithms.
//!
//! Every refusal is a `rustls::Error::InvalidCertificate(CertificateError::
//! Other(..))` holding a [`LibpqRejection`], whose `Display` is libpq's
//! message; [`libpq_message`] finds it in any error's chain (through
//! `std::io::Error` and `rustls::Error`, which have no `source`). rustls
//! 0.23's own `Display` of that error prints `CertificateError::Other` in its
//! `Debug` form (`invalid peer certificate: Other(OtherError(LibpqRejection
//! { message: ... }))`): show `libpq_message` to people instead.

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
/// CertificateError::Other(..))`, for every refusal (expired, revoked and
/// bad-signature chains too: [`LibpqRejection::reason`] says which).
///
/// `Display` prints the message alone, as psql prints it after
/// `connection to server at ... failed: `; the alternate form (`{:#}`) adds
/// the hidden reason.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LibpqRejection {
    /// libpq's message, e.g. `SSL error: certificate verify failed`
    /// (pgtls's own text for [`LibpqVerifier`]'s host mismatch, which libpq
    /// cannot meet).
    pub message: String,
    /// OpenSSL's reason, for chain failures.
    pub reason: Option<X509Reason>,
}

impl fmt::Display for LibpqRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if f.alternate()
            && let Some(r) = self.reason
        {
            write!(f, " ({})", r.text())?;
        }
        Ok(())
    }
}

impl std::error::Error for LibpqRejection {}

/// libpq's message in an error or its chain of sources: a [`LibpqRejection`]
/// (also inside a `rustls::Error` and a `std::io::Error`, as rustls and
/// tokio-rustls wrap it), or a [`Refusal`] (the verifier could not be built,
/// as libpq refuses before connecting).
pub fn libpq_message<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a str> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<LibpqRejection>() {
            return Some(&r.message);
        }
        if let Some(r) = e.downcast_ref::<Refusal>() {
            return Some(&r.message);
        }
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(o))) =
            e.downcast_ref::<rustls::Error>()
            && let Some(m) = libpq_message(o.0.as_ref())
        {
            return Some(m);
        }
        // io::Error's source() skips the error it wraps.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(m) = libpq_message(inner)
        {
            return Some(m);
        }
        next = e.source();
    }
    None
}

/// libpq's server-certificate decision as a rustls verifier.
///
/// Build the `ClientConfig` on [`crate::provider::crypto_provider`] (as
/// [`crate::probe::client_config`] does): rustls' own aws-lc-rs provider lacks
/// the secp521r1 group that libpq offers and some servers demand.
///
/// # Which host name is checked (verify-full)
/// The name of the host actually being connected to, never another:
/// - built with a `host` (a list `a,b` too): the `ServerName` rustls passes
///   must be that host (one of the list, compared as libpq compares names,
///   ignoring ASCII case; an IP address as an address), and that host is
///   checked. Any other `ServerName` is refused with a pgtls message naming
///   both (a verifier shared by connections to several hosts would otherwise
///   check the wrong name): build one verifier per host, or one without
///   `host`;
/// - built without `host` and without `hostaddr`: the `ServerName` is the
///   host (a DNS name, or an IP address in its usual text form);
/// - built with `hostaddr` only: libpq has no host name to check, and
///   refuses (`host name must be specified for a verified SSL connection`),
///   whatever the `ServerName`.
///
/// Under `require` and `verify-ca` libpq checks no name, and neither does
/// the verifier: the `ServerName` does not matter.
///
/// `sslcertmode` is not decided here: it depends on whether the server asks
/// for a client certificate, after this verifier has run.
#[derive(Debug)]
pub struct LibpqVerifier {
    trust: TrustConfig,
    provider: Arc<CryptoProvider>,
    /// The configured host(s), split on commas.
    hosts: Vec<String>,
    /// `hostaddr` was given (and no host).
    hostaddr_only: bool,
    verify_full: bool,
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
        let hosts: Vec<String> = plan
            .host
            .as_deref()
            .map(|h| h.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let hostaddr_only =
            hosts.is_empty() && params.hostaddr.as_deref().is_some_and(|a| !a.is_empty());
        Ok(Self {
            trust,
            provider: crate::provider::crypto_provider_arc(),
            hosts,
            hostaddr_only,
            verify_full: plan.mode == crate::SslMode::VerifyFull,
        })
    }

    /// The host name verify-full checks for a connection to `server_name`,
    /// or the refusal when it is not the configured host.
    fn host_for(&self, server_name: &ServerName<'_>) -> Result<Option<String>, rustls::Error> {
        let (name, ip) = match server_name {
            ServerName::DnsName(d) => (d.as_ref().to_string(), None),
            ServerName::IpAddress(a) => {
                let ip = std::net::IpAddr::from(*a);
                (ip.to_string(), Some(ip))
            }
            _ => (String::new(), None),
        };
        if self.hostaddr_only {
            return Ok(None);
        }
        if self.hosts.is_empty() {
            return Ok((!name.is_empty()).then_some(name));
        }
        let same = |h: &str| match ip {
            Some(ip) => h.parse::<std::net::IpAddr>().is_ok_and(|x| x == ip),
            None => h.eq_ignore_ascii_case(&name),
        };
        match self.hosts.iter().find(|h| same(h)) {
            Some(h) => Ok(Some(h.clone())),
            None => Err(to_rustls(
                format!(
                    "server name \"{name}\" is not the host this verifier was built for (\"{}\"): libpq checks the host it connects to; build one LibpqVerifier per host, or one without host",
                    self.hosts.join(",")
                ),
                None,
            )),
        }
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
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
        LibpqRejection { message, reason },
    ))))
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let host = if self.verify_full {
            self.host_for(server_name)?
        } else {
            None
        };
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone());
        chain.extend(intermediates.iter().cloned());
        let verdict = self
            .trust
            .evaluate_host(&chain, now, host.as_deref())
            .map_err(|e| to_rustls(e.to_string(), None))?;
        if verdict.accepted() {
            Ok(ServerCertVerified::assertion())
        } else {
            let reason = verdict.hidden_reason().and_then(|c| c.reason);
            Err(to_rustls(
                verdict.message().unwrap_or_default().to_owned(),
                reason,
            ))
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
/// with pgtls-x509 so that certificates webpki will not parse (v1, as libpq
/// accepts them) still work.
pub(crate) fn handshake_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    provider: &CryptoProvider,
    tls13: bool,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let algs = &provider.signature_verification_algorithms;
    let bad = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
    let x = pgtls_x509::Certificate::from_der(cert.as_ref()).map_err(|_| bad())?;
    let spki = x.public_key();
    let key = spki.info.as_ref().ok_or_else(bad)?;
    if tls13 {
        let der = rustls_pki_types::SubjectPublicKeyInfoDer::from(spki.der.as_slice());
        return rustls::crypto::verify_tls13_signature_with_raw_key(message, &der, dss, algs);
    }
    // The AlgorithmIdentifier's contents (what webpki's algorithm ids hold).
    // (SubjectPublicKeyInfo -> contents -> first element: AlgorithmIdentifier)
    let alg_id = first_tlv_contents(&spki.der)
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
            .verify_signature(&key.key, message, dss.signature())
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
