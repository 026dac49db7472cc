//! pgtls-verify: what libpq (and the PostgreSQL server) decide about TLS
//! certificates, rule by rule.
//!
//! - [`policy`]: sslmode × parameters × environment × version → [`policy::Plan`]
//!   (the one home of libpq's quirks: `require` with a root file verifies
//!   like `verify-ca`, a missing root file is an error only for verify-*,
//!   `sslrootcert=system` forces verify-full from PG16, ...);
//! - [`TrustConfig`]: loads the root file and CRLs as `initialize_SSL` does;
//! - chain verification as OpenSSL 3.0's `X509_verify_cert` does it for libpq
//!   (own path builder: libpq accepts v1 certificates, CN-only leaves and
//!   self-signed server certificates that rustls-webpki rejects);
//! - [`hostname`]: libpq's verify-full name rules to the letter;
//! - [`Verdict`]: accept or reject with libpq's exact message and the reason
//!   libpq hides behind `certificate verify failed`;
//! - [`client_cert`]: the client certificate libpq loads and sends, and
//!   `sslcertmode` (PG16+), which needs to know whether the server asks for a
//!   certificate ([`ServerHandshake`]);
//! - [`server`]: what the server decides about a client certificate;
//! - [`LibpqVerifier`]: a rustls `ServerCertVerifier` applying all of this in
//!   a real handshake;
//! - [`probe`]: connect to a server, capture its chain, evaluate every sslmode,
//!   see whether it admits a client without TLS;
//! - [`rotation`]: a server certificate rotation client by client, and its staged plan;
//! - [`audit`]: judge what a running server shows (settings, sessions without
//!   TLS, its pg_hba.conf through the linter, the served chain's expiry);
//! - [`trial`]: `pgtls quickstart --try`: the installation to try quickstart's files on, and
//!   what counts as proof (a verify-full login per role, plaintext and certificate-less logins
//!   refused by the server as pgtls predicts);
//! - [`provider`]: the rustls crypto provider that offers what libpq offers
//!   (aws-lc-rs plus ECDHE on secp521r1, which `ssl_ecdh_curve` may demand).
//!
//! # Quick start
//! ```no_run
//! use pgtls_verify::{Env, Params, PgVersion, verify_server};
//! let params = Params::parse_conninfo(
//!     "host=db.example.test sslmode=verify-full sslrootcert=/etc/pg/root.crt").unwrap();
//! let chain: Vec<rustls_pki_types::CertificateDer<'_>> = vec![/* DER, leaf first */];
//! let now = rustls_pki_types::UnixTime::now();
//! let v = verify_server(&params, &Env::from_process(), PgVersion::V15, &chain, now).unwrap();
//! if !v.accepted() { eprintln!("{}", v.message().unwrap_or_default()); }
//! ```
//!
//! # `sslmode=disable`
//! libpq never does TLS then, so it would not complete a TLS session: the
//! verdict is a reject with the message `sslmode=disable: libpq does not use
//! TLS` (not a libpq text). The same holds for a `host` that names a
//! Unix-domain socket directory (`libpq does not use TLS over a Unix-domain
//! socket`). For `allow` and `prefer` the verdict is the TLS attempt's own;
//! [`Verdict::plaintext_fallback`] says libpq would then use plaintext
//! (never under `sslcertmode=require`, which refuses plaintext sessions).
#![forbid(unsafe_code)]

/// The certificate and time types at pgtls-verify's boundary (rustls-pki-types'), so that
/// callers need no dependency of their own for them.
pub use rustls_pki_types::{CertificateDer, UnixTime};

pub mod audit;
mod cert;
mod chain;
pub mod client_cert;
pub mod doctor;
mod error;
pub mod hostname;
mod outcome;
mod params;
pub mod policy;
pub mod probe;
pub mod provider;
pub mod report;
pub mod rotation;
mod rustls_verifier;
pub mod server;
mod sslmode;
pub mod trial;
mod trust;

/// Known divergences from libpq and the server, with reasons (KNOWN-DIVERGENCES.md).
#[doc = include_str!("../KNOWN-DIVERGENCES.md")]
pub mod manual {}

pub use chain::{ChainFailure, ChainLink, X509Reason};
pub use error::Error;
pub use outcome::{Check, ClientOutcome, Verdict};
pub use params::{
    ConninfoError, DEFAULT_SYSCONFDIR, Env, Params, ServiceError, conninfo_string, conninfo_value,
    keyword_since,
};
pub use pgtls_version::PgVersion;
pub use rustls_verifier::{LibpqRejection, LibpqVerifier, libpq_message};
pub use sslmode::{InvalidSslMode, SslMode};
pub use trust::{MAX_CERT_LIST, RootState, TrustConfig};

/// The message for `sslmode=disable` (pgtls's, libpq has none: it never tries TLS).
pub const DISABLE_MESSAGE: &str = "sslmode=disable: libpq does not use TLS";
/// The message for a Unix-domain socket host (pgtls's).
pub const UNIX_SOCKET_MESSAGE: &str = "libpq does not use TLS over a Unix-domain socket";

/// Reads PEM certificates (leaf first), as a server would send them.
///
/// # Errors
/// Unreadable file, malformed PEM, or no certificate in it.
pub fn read_chain_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let data = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    read_chain_pem(&data).map_err(|e| match e {
        Error::NoCertificate { .. } => Error::NoCertificate {
            path: path.to_path_buf(),
        },
        Error::Pem { reason, .. } => Error::Pem {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    })
}

/// Splits PEM text into DER certificates (leaf first).
///
/// # Errors
/// Malformed PEM or no certificate.
pub fn read_chain_pem(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let blocks = pgtls_x509::pem::read_x509_info(data).map_err(|e| Error::Pem {
        path: "<input>".into(),
        reason: e.0,
    })?;
    let certs: Vec<CertificateDer<'static>> = blocks
        .into_iter()
        .filter_map(|b| match b {
            pgtls_x509::pem::X509InfoBlock::Certificate { der, .. } => {
                Some(CertificateDer::from(der))
            }
            pgtls_x509::pem::X509InfoBlock::Crl(_) => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(Error::NoCertificate {
            path: "<input>".into(),
        });
    }
    Ok(certs)
}

/// Reads certificates given as PEM (leaf first) or as one DER certificate, telling the
/// two apart as pgtls-x509's [`pgtls_x509::pem::sniff`] does; input that is neither is
/// returned as one (DER) certificate, for the certificate parser to refuse.
///
/// # Errors
/// Malformed PEM or no certificate in PEM text.
pub fn read_chain_pem_or_der(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    match pgtls_x509::pem::sniff(data) {
        pgtls_x509::pem::Encoding::Pem => read_chain_pem(data),
        _ => Ok(vec![CertificateDer::from(data.to_vec())]),
    }
}

/// What the server does in its handshake, beyond its certificate chain, that
/// libpq's decision depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerHandshake {
    /// The server sends a CertificateRequest: PostgreSQL does when
    /// `ssl_ca_file` is set (the default, empty, does not).
    pub requests_client_cert: bool,
}

impl ServerHandshake {
    /// A server that does not ask for a client certificate (PostgreSQL's default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets whether the server asks for a client certificate (builder style).
    pub fn requesting_client_cert(mut self, yes: bool) -> Self {
        self.requests_client_cert = yes;
        self
    }
}

/// What libpq would decide for a server presenting `chain` (DER, leaf first)
/// with these parameters, at `now`, the server
/// not asking for a client certificate (PostgreSQL's default: no
/// `ssl_ca_file`). [`verify_server_handshake`] says whether it asks.
///
/// # Errors
/// Only for input pgtls cannot evaluate (an unparsable certificate); libpq's
/// refusals are `Ok` verdicts with `accept == false`.
pub fn verify_server(
    params: &Params,
    env: &Env,
    version: PgVersion,
    chain: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<Verdict, Error> {
    verify_server_handshake(params, env, version, chain, ServerHandshake::new(), now)
}

/// What libpq would decide for a server presenting `chain` (DER, leaf first)
/// and behaving as `server` says, with these parameters, at `now`.
///
/// In libpq's order: the parameters, the root file and CRLs, the client
/// certificate and key, the server's chain and host name; then, after
/// authentication, `sslcertmode=require` (refused unless the server asked
/// for a certificate and libpq had one to send).
///
/// # Errors
/// Only for input pgtls cannot evaluate (an unparsable certificate); libpq's
/// refusals are `Ok` verdicts with `accept == false`.
pub fn verify_server_handshake(
    params: &Params,
    env: &Env,
    version: PgVersion,
    chain: &[CertificateDer<'_>],
    server: ServerHandshake,
    now: UnixTime,
) -> Result<Verdict, Error> {
    let mut checks = Vec::new();
    let plan = match policy::plan(params, env, version) {
        Ok(p) => p,
        Err(r) => {
            checks.push(Check::fail("sslmode", r.message.clone()));
            return Ok(Verdict::reject(r.message, false, checks));
        }
    };
    decide_with_plan(&plan, env, chain, server, now, Anchors::AsConfigured)
}

/// The trust anchors a decision uses: the root file as libpq loads it, or that
/// with certificates added or taken away (what a rotation plan asks "what if").
#[derive(Clone, Copy, Debug)]
pub(crate) enum Anchors<'a> {
    /// What the plan's root file (or the system store) holds.
    AsConfigured,
    /// That plus these certificates (a root file created with them when there is
    /// none: the chain is then verified).
    Plus(&'a [cert::Cert]),
    /// That plus the first, without the certificates equal to one of the second.
    PlusMinus(&'a [cert::Cert], &'a [cert::Cert]),
    /// That plus these certificates and these CRLs (a CRL file given the new CA's CRL).
    PlusCrls(&'a [cert::Cert], &'a [cert::Crl]),
}

/// [`verify_server_handshake`] from libpq's [`policy::Plan`] on: the root file and
/// CRLs, the client certificate, the chain and host name, `sslcertmode`.
pub(crate) fn decide_with_plan(
    plan: &policy::Plan,
    env: &Env,
    chain: &[CertificateDer<'_>],
    server: ServerHandshake,
    now: UnixTime,
    anchors: Anchors<'_>,
) -> Result<Verdict, Error> {
    let mut checks = vec![Check::pass(
        "sslmode",
        format!(
            "sslmode={} ({:?}), PostgreSQL {}",
            plan.mode, plan.mode_source, plan.version
        ),
    )];
    if plan.unix_socket {
        checks.push(Check::fail("transport", UNIX_SOCKET_MESSAGE));
        return Ok(Verdict::reject(UNIX_SOCKET_MESSAGE, false, checks));
    }
    if !plan.attempts.contains(&policy::Attempt::Tls) {
        checks.push(Check::fail("transport", DISABLE_MESSAGE));
        return Ok(Verdict::reject(DISABLE_MESSAGE, false, checks));
    }
    // Under sslcertmode=require no plaintext session completes: libpq refuses
    // it at AuthenticationOk (no certificate was requested).
    let fallback = plan.mode.allows_plaintext() && plan.certmode != client_cert::CertMode::Require;
    let loaded = match (TrustConfig::load(plan, env), anchors) {
        (r, Anchors::AsConfigured) => r,
        (Ok(t), Anchors::Plus(add)) => Ok(t.with_anchors(add, &[])),
        (Ok(t), Anchors::PlusMinus(add, remove)) => Ok(t.with_anchors(add, remove)),
        (Ok(t), Anchors::PlusCrls(add, crls)) => Ok(t.with_anchors(add, &[]).with_crls(crls)),
        // A root file that does not exist, created with the certificates added.
        (Err(_), Anchors::Plus(add) | Anchors::PlusMinus(add, _) | Anchors::PlusCrls(add, _))
            if plan.root_file_missing() =>
        {
            Ok(TrustConfig::from_anchors(plan, add))
        }
        (Err(r), _) => Err(r),
    };
    let trust = match loaded {
        Ok(t) => t,
        Err(r) => {
            checks.push(Check::fail("root", r.message.clone()));
            let mut v = Verdict::reject(r.message, true, checks);
            v.plaintext_fallback = fallback;
            return Ok(v);
        }
    };
    let client = match client_cert::load(plan) {
        Ok(c) => c,
        Err(r) => {
            checks.push(Check::fail("client-cert", r.message.clone()));
            let mut v = Verdict::reject(r.message, true, checks);
            v.plaintext_fallback = fallback;
            return Ok(v);
        }
    };
    let client_check = Check::pass("client-cert", client.detail());
    let mut v = trust.evaluate(chain, now)?;
    let mut all = checks;
    all.push(client_check);
    all.append(&mut v.checks);
    v.checks = all;
    if v.accepted() {
        let sent = server.requests_client_cert && client.is_loaded();
        let detail = format!(
            "sslcertmode={}: the server {} a certificate, {}",
            plan.certmode,
            if server.requests_client_cert {
                "asks for"
            } else {
                "does not ask for"
            },
            if sent { "one is sent" } else { "none is sent" }
        );
        match client_cert::check_after_authentication(
            plan.certmode,
            server.requests_client_cert,
            client.is_loaded(),
        ) {
            Ok(()) => {
                v.checks.push(Check::pass("sslcertmode", detail));
                v.client_cert_sent = sent;
            }
            Err(msg) => {
                v.checks.push(Check::fail("sslcertmode", detail));
                let checks = std::mem::take(&mut v.checks);
                v = Verdict::reject(msg, true, checks);
            }
        }
    }
    v.plaintext_fallback = !v.accepted() && fallback;
    Ok(v)
}

/// Seconds since the Unix epoch, as the chain checks count them.
pub(crate) fn unix_secs(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

/// The subject of a DER certificate as one line (`CN=x, O=y`), if it parses.
pub fn certificate_subject(der: &[u8]) -> Option<String> {
    cert::Cert::from_der(der).ok().map(|c| c.subject_text())
}

/// OpenSSL's subject-name hash of a DER certificate (`openssl x509 -hash`),
/// the `hhhhhhhh` of `hhhhhhhh.0` in hashed directories such as `sslcrldir`.
pub fn certificate_subject_hash(der: &[u8]) -> Option<u32> {
    cert::Cert::from_der(der).ok().map(|c| c.subject_hash())
}

/// OpenSSL's issuer-name hash of a DER CRL (`openssl crl -hash`), the
/// `hhhhhhhh` of `hhhhhhhh.r0` in `sslcrldir` / `ssl_crl_dir`.
pub fn crl_issuer_hash(der: &[u8]) -> Option<u32> {
    cert::Crl::from_der(der).ok().map(|c| c.issuer().hash())
}
