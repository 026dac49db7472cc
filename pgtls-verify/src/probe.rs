//! Live probe of a PostgreSQL server: negotiate TLS (SSLRequest, or PG17
//! direct TLS with ALPN `postgresql`), capture the certificate chain it sends
//! and the client-CA list of its CertificateRequest, then evaluate offline,
//! for every sslmode, whether libpq would connect.
//!
//! Capturing uses rustls with a verifier that records and accepts (the
//! handshake signatures are still checked); the evaluation is
//! [`crate::verify_server`] on the captured chain.
//!
//! Without TLS: [`plaintext_startup`] sends a StartupMessage with no
//! SSLRequest (libpq's `sslmode=disable`) and classifies the answer
//! ([`PlaintextAnswer`]: pg_hba.conf's `FATAL`, the authentication the server
//! asks for, or a session without any credential), never sending a
//! credential; [`PlaintextAnswer::finding`] says what it means. A login with
//! a client certificate (made by pgtls-postgres) is judged by
//! [`cert_login_finding`]: certificate authentication, a certificate only
//! checked by `clientcert`, trust, or a refusal with libpq's text.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::params::{Env, Params};
use crate::sslmode::SslMode;
use crate::{PgVersion, Verdict};

/// The SSLRequest code (1234 << 16 | 5679).
pub const SSL_REQUEST_CODE: u32 = 80_877_103;
/// The ALPN protocol of PG17 direct TLS.
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// Why a probe could not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// TCP connect or I/O failure.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The server answered the SSLRequest with `N`.
    #[error("server does not support SSL")]
    NoSsl,
    /// The server answered the SSLRequest with something else.
    #[error("received invalid response to SSL negotiation: {0}")]
    BadResponse(char),
    /// Bytes came with the server's `S` (in the same read, before the TLS
    /// handshake): they were not encrypted and may have been injected by a man in
    /// the middle (CVE-2021-23222). libpq reports it once the handshake has
    /// completed, and never goes on.
    #[error("received unencrypted data after SSL response")]
    UnencryptedData,
    /// The TLS handshake failed.
    #[error("TLS handshake failed")]
    Tls(#[source] rustls::Error),
    /// A bad server name for SNI.
    #[error("invalid server name {0:?}")]
    ServerName(String),
    /// Direct TLS: the server closed the connection on the ClientHello, as a server
    /// without direct TLS (before PostgreSQL 17) does: it reads the ClientHello as a
    /// startup packet of invalid length and hangs up without an answer.
    #[error(
        "the server closed the connection on the direct TLS ClientHello: it does not accept \
         direct TLS (PostgreSQL 17+, sslnegotiation=direct); negotiate with an SSLRequest instead"
    )]
    DirectRefused(#[source] std::io::Error),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ProbeError {
    let context = context.into();
    move |source| ProbeError::Io { context, source }
}

/// What the server showed in its handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capture {
    /// The certificate chain as sent (DER, leaf first).
    pub chain: Vec<CertificateDer<'static>>,
    /// The CertificateRequest's CA names (DER), if it asked for a client certificate.
    pub client_ca_names: Option<Vec<Vec<u8>>>,
    /// The negotiated TLS version.
    pub protocol: Option<String>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// Whether direct TLS was used.
    pub direct: bool,
}

#[derive(Debug)]
struct Recorder {
    seen: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut s) = self.seen.lock() {
            s.push(end_entity.clone().into_owned());
            s.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crate::rustls_verifier::handshake_signature(m, c, d, &self.provider, false)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crate::rustls_verifier::handshake_signature(m, c, d, &self.provider, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[derive(Debug)]
struct CaListRecorder(Mutex<Option<Vec<Vec<u8>>>>);

impl ResolvesClientCert for CaListRecorder {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        if let Ok(mut s) = self.0.lock() {
            *s = Some(root_hint_subjects.iter().map(|n| n.to_vec()).collect());
        }
        None
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Opens a TCP connection to the first address of `host` that answers (10 s
/// to connect, 20 s for each read).
fn tcp_connect(host: &str, port: u16) -> Result<TcpStream, ProbeError> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(io(format!("cannot resolve {host}:{port}")))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(10)) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(tcp) = stream else {
        return Err(ProbeError::Io {
            context: format!("cannot connect to {host}:{port}"),
            source: last.unwrap_or_else(|| std::io::Error::other("no address")),
        });
    };
    tcp.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(io("set timeout"))?;
    Ok(tcp)
}

/// Opens TCP, negotiates TLS the PostgreSQL way and completes the handshake
/// with `config`: SSLRequest + `S` first, or (direct) the ClientHello at once.
///
/// # Errors
/// Connection, negotiation or handshake failure.
pub fn connect_tls(
    host: &str,
    port: u16,
    server_name: ServerName<'static>,
    config: Arc<ClientConfig>,
    direct: bool,
) -> Result<StreamOwned<ClientConnection, TcpStream>, ProbeError> {
    let mut tcp = tcp_connect(host, port)?;
    let mut unencrypted = false;
    if !direct {
        let mut req = Vec::with_capacity(8);
        req.extend_from_slice(&8u32.to_be_bytes());
        req.extend_from_slice(&SSL_REQUEST_CODE.to_be_bytes());
        tcp.write_all(&req).map_err(io("sending SSLRequest"))?;
        // One read, as libpq's pqReadData: what came with the answer stays behind
        // and is checked once the handshake is done.
        let mut b = [0u8; 16 * 1024];
        let n = loop {
            match tcp.read(&mut b) {
                Ok(0) => {
                    return Err(ProbeError::Io {
                        context: "reading the SSLRequest answer".into(),
                        source: std::io::ErrorKind::UnexpectedEof.into(),
                    });
                }
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io("reading the SSLRequest answer")(e)),
            }
        };
        match b[0] {
            b'S' => unencrypted = n > 1,
            b'N' => return Err(ProbeError::NoSsl),
            other => return Err(ProbeError::BadResponse(char::from(other))),
        }
    }
    let conn = ClientConnection::new(config, server_name).map_err(ProbeError::Tls)?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(|e| {
            match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(r) => ProbeError::Tls(r.clone()),
                None if direct
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    ProbeError::DirectRefused(e)
                }
                None => ProbeError::Io {
                    context: "TLS handshake".into(),
                    source: e,
                },
            }
        })?;
    }
    if unencrypted {
        return Err(ProbeError::UnencryptedData);
    }
    Ok(tls)
}

/// A rustls client configuration with PostgreSQL's ALPN when `direct`, on
/// [`crate::provider::crypto_provider`] (the key-exchange groups libpq offers).
pub fn client_config(
    verifier: Arc<dyn ServerCertVerifier>,
    direct: bool,
) -> Result<ClientConfig, rustls::Error> {
    let provider = crate::provider::crypto_provider_arc();
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    if direct {
        cfg.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    }
    Ok(cfg)
}

/// libpq's SNI rule: the host, unless it is all digits and dots or contains `:`.
fn sni_name(host: &str) -> ServerName<'static> {
    let is_ip_like = host.bytes().all(|b| b.is_ascii_digit() || b == b'.') || host.contains(':');
    if !is_ip_like && let Ok(n) = ServerName::try_from(host.to_string()) {
        return n;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into()),
    }
}

/// Connects and captures the server's chain and client-CA list.
///
/// # Errors
/// Connection, negotiation or handshake failure.
pub fn capture(host: &str, port: u16, direct: bool) -> Result<Capture, ProbeError> {
    capture_with_sni(host, port, Some(host), direct)
}

/// [`capture`] connecting to `host` but sending `sni` as the server name (none for
/// `None`), as libpq does for `host=NAME hostaddr=ADDR`: the name is libpq's `host`
/// ([`crate::policy::sni_name`]), the address where the probe connects.
///
/// # Errors
/// Connection, negotiation or handshake failure.
pub fn capture_with_sni(
    host: &str,
    port: u16,
    sni: Option<&str>,
    direct: bool,
) -> Result<Capture, ProbeError> {
    let provider = crate::provider::crypto_provider_arc();
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(Vec::new()),
        provider: provider.clone(),
    });
    let ca_list = Arc::new(CaListRecorder(Mutex::new(None)));
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ProbeError::Tls)?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_client_cert_resolver(ca_list.clone());
    if direct {
        cfg.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    }
    let name = sni.map_or_else(|| sni_name("127.0.0.1"), sni_name);
    let tls = connect_tls(host, port, name, Arc::new(cfg), direct)?;
    let chain = recorder.seen.lock().map(|s| s.clone()).unwrap_or_default();
    let client_ca_names = ca_list.0.lock().ok().and_then(|s| s.clone());
    Ok(Capture {
        chain,
        client_ca_names,
        protocol: tls.conn.protocol_version().map(|v| format!("{v:?}")),
        alpn: tls.conn.alpn_protocol().map(<[u8]>::to_vec),
        direct,
    })
}

/// A DER distinguished name as text (`CN=x, O=y`).
pub fn dn_text(der: &[u8]) -> String {
    match pgtls_x509::DistinguishedName::from_der(der) {
        Ok(n) => n.to_string(),
        Err(_) => format!("<{} bytes, unparsable>", der.len()),
    }
}

/// Evaluates the captured handshake under every sslmode, `disable` first
/// (with `base`'s root, CRL, host and client-certificate settings), as libpq
/// `version` would: each verdict is [`crate::verify_server_handshake`]'s, so
/// the probe and `pgtls verify server` share every rule.
///
/// A capture made with direct TLS is evaluated with `sslnegotiation=direct`:
/// libpq 17+ refuses every mode but require, verify-ca and verify-full
/// before connecting (`weak sslmode "prefer" may not be used with
/// sslnegotiation=direct ...`), and libpq before 17 refuses the option. A
/// CertificateRequest in the capture means the server asks for a client
/// certificate (`sslcertmode`). `disable`'s verdict is a refusal with
/// [`crate::DISABLE_MESSAGE`] when libpq would connect without TLS.
///
/// # Errors
/// A captured certificate pgtls cannot parse.
pub fn evaluate_modes(
    capture: &Capture,
    base: &Params,
    env: &Env,
    version: PgVersion,
    now: UnixTime,
) -> Result<Vec<(SslMode, Verdict)>, crate::Error> {
    let server =
        crate::ServerHandshake::new().requesting_client_cert(capture.client_ca_names.is_some());
    let mut out = Vec::new();
    for mode in SslMode::ALL {
        let mut p = base.clone();
        p.sslmode = Some(mode.as_str().to_string());
        if capture.direct {
            p.sslnegotiation = Some("direct".to_string());
        }
        let v = crate::verify_server_handshake(&p, env, version, &capture.chain, server, now)?;
        out.push((mode, v));
    }
    Ok(out)
}

/// Sends a protocol 3.0 StartupMessage on an established (TLS) stream and
/// returns the first backend message: type byte (`R` authentication request,
/// `E` error) and body.
///
/// # Errors
/// I/O failure.
pub fn startup<S: Read + Write>(
    s: &mut S,
    user: &str,
    database: &str,
) -> Result<(u8, Vec<u8>), ProbeError> {
    s.write_all(&startup_packet(&[("user", user), ("database", database)]))
        .map_err(io("sending StartupMessage"))?;
    s.flush().map_err(io("sending StartupMessage"))?;
    read_message(s)
}

/// The server name rustls should send for libpq's `host` (SNI rule of §1.8).
pub fn server_name_for(host: &str) -> ServerName<'static> {
    sni_name(host)
}

// ---------------------------------------------------------------------------
// Without TLS: what the server answers a StartupMessage sent with no SSLRequest.

/// What a probe finding is worth (the doctor's and the audit's scale).
pub use crate::doctor::Severity;

/// One thing the probe found out about the server.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ProbeFinding {
    /// `error` when the server lets a client in without TLS (or a requested
    /// certificate login fails), `warning`, `info`.
    pub severity: Severity,
    /// A stable code (`plaintext-accepted`, `plaintext-refused`, `cert-login-ok`, ...).
    pub code: &'static str,
    /// What was seen, in a sentence.
    pub message: String,
}

impl ProbeFinding {
    /// A check that could not be made (`warning`, `probe-failed`).
    pub fn io(message: String) -> Self {
        Self::new(Severity::Warning, "probe-failed", message)
    }

    fn new(severity: Severity, code: &'static str, message: String) -> Self {
        Self {
            severity,
            code,
            message,
        }
    }
}

/// The authentication request of an `R` message (`AuthenticationXXX`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuthRequest {
    /// `AuthenticationOk` (0): no credential asked (`trust`, or done by the
    /// certificate).
    Ok,
    /// `AuthenticationKerberosV5` (2).
    KerberosV5,
    /// `AuthenticationCleartextPassword` (3): `password`, also `ldap`, `radius`, `pam`.
    CleartextPassword,
    /// `AuthenticationMD5Password` (5): `md5` (with an MD5 password).
    Md5Password,
    /// `AuthenticationGSS` (7).
    Gss,
    /// `AuthenticationSSPI` (9).
    Sspi,
    /// `AuthenticationSASL` (10) with its mechanisms: `scram-sha-256`, or `md5`
    /// with a SCRAM secret.
    Sasl {
        /// The mechanisms offered (`SCRAM-SHA-256`, and `SCRAM-SHA-256-PLUS` over TLS).
        mechanisms: Vec<String>,
    },
    /// Any other code.
    Other {
        /// The code.
        code: i32,
    },
}

impl AuthRequest {
    /// From the body of an `R` message (code, then its data).
    pub fn from_body(body: &[u8]) -> Self {
        let code = body
            .get(..4)
            .map_or(-1, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        match code {
            0 => Self::Ok,
            2 => Self::KerberosV5,
            3 => Self::CleartextPassword,
            5 => Self::Md5Password,
            7 => Self::Gss,
            9 => Self::Sspi,
            10 => Self::Sasl {
                mechanisms: body
                    .get(4..)
                    .unwrap_or_default()
                    .split(|b| *b == 0)
                    .filter(|m| !m.is_empty())
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .collect(),
            },
            code => Self::Other { code },
        }
    }

    /// What the server asks for, in words.
    pub fn describe(&self) -> String {
        match self {
            Self::Ok => "nothing (AuthenticationOk)".into(),
            Self::KerberosV5 => "Kerberos V5 (AuthenticationKerberosV5)".into(),
            Self::CleartextPassword => {
                "a password in clear text (AuthenticationCleartextPassword: password, ldap, radius or pam)".into()
            }
            Self::Md5Password => "an MD5 password (AuthenticationMD5Password)".into(),
            Self::Gss => "GSSAPI (AuthenticationGSS)".into(),
            Self::Sspi => "SSPI (AuthenticationSSPI)".into(),
            Self::Sasl { mechanisms } => {
                format!("SASL ({}) (AuthenticationSASL)", mechanisms.join(", "))
            }
            Self::Other { code } => format!("authentication request {code}"),
        }
    }
}

/// The fields of the server's `ErrorResponse`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ServerError {
    /// `S`: the (localized) severity (`FATAL`).
    pub severity: String,
    /// `C`: the SQLSTATE.
    pub code: String,
    /// `M`: the message.
    pub message: String,
    /// `D`: the detail.
    pub detail: Option<String>,
    /// `H`: the hint.
    pub hint: Option<String>,
}

impl ServerError {
    /// From the body of an `E` message.
    pub fn from_body(body: &[u8]) -> Self {
        let mut e = Self::default();
        for field in body.split(|b| *b == 0) {
            let Some((&t, v)) = field.split_first() else {
                continue;
            };
            let v = String::from_utf8_lossy(v).into_owned();
            match t {
                b'S' => e.severity = v,
                b'C' => e.code = v,
                b'M' => e.message = v,
                b'D' => e.detail = Some(v),
                b'H' => e.hint = Some(v),
                _ => {}
            }
        }
        e
    }

    /// The text libpq prints for it (`pqBuildErrorMessage3`, default
    /// verbosity): `FATAL:  message`, then `DETAIL:` and `HINT:` lines.
    pub fn libpq_text(&self) -> String {
        let mut t = format!("{}:  {}", self.severity, self.message);
        if let Some(d) = &self.detail {
            t.push_str(&format!("\nDETAIL:  {d}"));
        }
        if let Some(h) = &self.hint {
            t.push_str(&format!("\nHINT:  {h}"));
        }
        t
    }

    /// pg_hba.conf's refusal (`no pg_hba.conf entry for ...` or `pg_hba.conf
    /// rejects ...`, SQLSTATE 28000), as opposed to other startup failures.
    pub fn is_hba_refusal(&self) -> bool {
        self.code == "28000"
            && (self.message.starts_with("no pg_hba.conf entry for ")
                || self.message.starts_with("pg_hba.conf rejects "))
    }
}

/// What the server answered a StartupMessage sent without TLS.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PlaintextAnswer {
    /// An `ErrorResponse` before any authentication request: pg_hba.conf's
    /// refusal (or another startup failure, such as too many connections).
    Refused {
        /// The error.
        error: ServerError,
        /// It is pg_hba.conf's refusal.
        by_hba: bool,
        /// What libpq prints.
        text: String,
    },
    /// An authentication request other than `AuthenticationOk`: pg_hba.conf
    /// admitted the connection without TLS and its method now asks for a credential.
    Authentication {
        /// What the server asks for.
        request: AuthRequest,
    },
    /// `AuthenticationOk` and then `ReadyForQuery`: a session without TLS and
    /// without any credential (`trust`).
    LoggedIn,
    /// `AuthenticationOk`, then an `ErrorResponse` (the role or the database
    /// does not exist, ...): pg_hba.conf admitted it without TLS and without a credential.
    AuthenticatedThenRefused {
        /// The error.
        error: ServerError,
        /// What libpq prints.
        text: String,
    },
    /// A message that does not belong there.
    Unexpected {
        /// Its type byte.
        message_type: char,
    },
}

/// A protocol 3.0 StartupMessage for `user` and `database` (with
/// `application_name`).
pub fn startup_message(user: &str, database: &str, application_name: &str) -> Vec<u8> {
    startup_packet(&[
        ("user", user),
        ("database", database),
        ("application_name", application_name),
    ])
}

/// A protocol 3.0 StartupMessage with these parameters.
fn startup_packet(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes());
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let len = u32::try_from(body.len() + 4).unwrap_or(u32::MAX);
    let mut msg = len.to_be_bytes().to_vec();
    msg.extend(body);
    msg
}

/// One backend message: its type byte and body (at most 1 MiB of it).
fn read_message<S: Read>(s: &mut S) -> Result<(u8, Vec<u8>), ProbeError> {
    let mut hdr = [0u8; 5];
    s.read_exact(&mut hdr)
        .map_err(io("reading the startup answer"))?;
    let n = u32::from_be_bytes([hdr[1], hdr[2], hdr[3], hdr[4]]);
    let n = usize::try_from(n)
        .unwrap_or(0)
        .saturating_sub(4)
        .min(1 << 20);
    let mut rest = vec![0u8; n];
    s.read_exact(&mut rest)
        .map_err(io("reading the startup answer"))?;
    Ok((hdr[0], rest))
}

/// Reads the server's answer to a StartupMessage: its messages until the
/// outcome is known (an error, an authentication request that needs a
/// credential, or `ReadyForQuery` after `AuthenticationOk`).
///
/// # Errors
/// I/O failure, or the server closing the connection.
pub fn read_startup_answer<S: Read>(s: &mut S) -> Result<PlaintextAnswer, ProbeError> {
    let mut authenticated = false;
    // ParameterStatus, BackendKeyData and notices come between; bounded all the same.
    for _ in 0..256 {
        let (tag, body) = read_message(s)?;
        match tag {
            b'E' => {
                let error = ServerError::from_body(&body);
                let text = error.libpq_text();
                return Ok(if authenticated {
                    PlaintextAnswer::AuthenticatedThenRefused { error, text }
                } else {
                    PlaintextAnswer::Refused {
                        by_hba: error.is_hba_refusal(),
                        error,
                        text,
                    }
                });
            }
            b'R' => match AuthRequest::from_body(&body) {
                AuthRequest::Ok => authenticated = true,
                request => return Ok(PlaintextAnswer::Authentication { request }),
            },
            b'Z' if authenticated => return Ok(PlaintextAnswer::LoggedIn),
            b'S' | b'K' | b'N' | b'v' => {}
            other => {
                return Ok(PlaintextAnswer::Unexpected {
                    message_type: char::from(other),
                });
            }
        }
    }
    Ok(PlaintextAnswer::Unexpected { message_type: '?' })
}

/// Connects to `host:port` over TCP and sends a StartupMessage for `user` and
/// `database` without an SSLRequest (what libpq does under `sslmode=disable`),
/// then classifies the answer. A session that starts is ended at once
/// (`Terminate`); a credential is never sent.
///
/// # Errors
/// Connection or I/O failure.
pub fn plaintext_startup(
    host: &str,
    port: u16,
    user: &str,
    database: &str,
) -> Result<PlaintextAnswer, ProbeError> {
    let mut tcp = tcp_connect(host, port)?;
    tcp.write_all(&startup_message(user, database, "pgtls-probe"))
        .map_err(io("sending StartupMessage"))?;
    let answer = read_startup_answer(&mut tcp)?;
    if answer == PlaintextAnswer::LoggedIn {
        // Terminate; the connection closes either way.
        let _ = tcp.write_all(&[b'X', 0, 0, 0, 4]);
    }
    Ok(answer)
}

impl PlaintextAnswer {
    /// The finding for `user` on `database`: `error` when the server admits
    /// the connection without TLS (it asks for a credential, or needs none).
    pub fn finding(&self, user: &str, database: &str) -> ProbeFinding {
        let who = format!("user \"{user}\" on database \"{database}\"");
        match self {
            Self::Refused {
                by_hba: true, text, ..
            } => ProbeFinding::new(
                Severity::Info,
                "plaintext-refused",
                format!("without TLS, pg_hba.conf refuses {who}: {text}"),
            ),
            Self::Refused { text, .. } => ProbeFinding::new(
                Severity::Warning,
                "plaintext-refused-other",
                format!(
                    "without TLS, the server refuses {who} before authentication, but not in pg_hba.conf's words (so pg_hba.conf's decision is unknown): {text}"
                ),
            ),
            Self::Authentication { request } => ProbeFinding::new(
                Severity::Error,
                "plaintext-accepted",
                format!(
                    "without TLS, pg_hba.conf admits {who} and the server asks for {}: a client can log in without TLS",
                    request.describe()
                ),
            ),
            Self::LoggedIn => ProbeFinding::new(
                Severity::Error,
                "plaintext-accepted",
                format!("without TLS, the server lets {who} in without any credential (trust)"),
            ),
            Self::AuthenticatedThenRefused { text, .. } => ProbeFinding::new(
                Severity::Error,
                "plaintext-accepted",
                format!(
                    "without TLS, pg_hba.conf admits {who} without any credential (trust); this login then failed: {text}"
                ),
            ),
            Self::Unexpected { message_type } => ProbeFinding::new(
                Severity::Warning,
                "plaintext-unexpected",
                format!(
                    "without TLS, the server answered {who} with an unexpected message '{message_type}'"
                ),
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// A login with a client certificate.

/// What a completed login showed (pgtls-postgres's `audit` feature fills it
/// from a real connection).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct CertLogin {
    /// The role logged in as.
    pub user: String,
    /// The database.
    pub database: String,
    /// The session uses TLS.
    pub tls: bool,
    /// The server asked for a client certificate (its CertificateRequest).
    pub cert_requested: bool,
    /// libpq sent one.
    pub cert_sent: bool,
    /// The server's first authentication request over the session (0: none needed).
    pub auth_request: Option<i32>,
    /// `pg_stat_ssl.client_dn` of the session: the certificate the server accepted.
    pub client_dn: Option<String>,
    /// `system_user` (16+): `cert:CN` after certificate authentication.
    pub system_user: Option<String>,
    /// `server_version_num`.
    pub server_version_num: u32,
}

impl CertLogin {
    /// A login as `user` on `database`, nothing else known yet.
    pub fn new(user: impl Into<String>, database: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            database: database.into(),
            ..Self::default()
        }
    }
}

/// Whether certificate authentication succeeded: the finding for a login
/// that completed (`Ok`) or the refusal's libpq text (`Err`).
pub fn cert_login_finding(login: &Result<CertLogin, String>) -> ProbeFinding {
    let l = match login {
        Err(text) => {
            return ProbeFinding::new(
                Severity::Error,
                "cert-login-refused",
                format!("the login with the client certificate was refused: {text}"),
            );
        }
        Ok(l) => l,
    };
    let who = format!("\"{}\" on database \"{}\"", l.user, l.database);
    if !l.tls {
        return ProbeFinding::new(
            Severity::Error,
            "cert-login-no-tls",
            format!(
                "logged in as {who} without TLS (sslmode allowed plaintext): no certificate was used"
            ),
        );
    }
    if !l.cert_sent {
        let why = if l.cert_requested {
            "the server asked for one, but none was loaded (sslcert/sslkey)"
        } else {
            "the server did not ask for one: its ssl_ca_file is empty"
        };
        return ProbeFinding::new(
            Severity::Warning,
            "cert-login-no-cert",
            format!(
                "logged in as {who} over TLS without a client certificate ({why}): this is not certificate authentication"
            ),
        );
    }
    let dn = l
        .client_dn
        .as_deref()
        .map_or_else(String::new, |d| format!(" (the server saw {d})"));
    match l.system_user.as_deref() {
        Some(s) if s.starts_with("cert:") => ProbeFinding::new(
            Severity::Info,
            "cert-login-ok",
            format!(
                "certificate authentication succeeded: logged in as {who} with the client certificate{dn}, system_user {s}"
            ),
        ),
        Some(s) => ProbeFinding::new(
            Severity::Info,
            "cert-login-clientcert",
            format!(
                "logged in as {who}: the client certificate was checked{dn} and the method was {} (system_user {s}), not cert",
                s.split(':').next().unwrap_or(s)
            ),
        ),
        None if l.server_version_num >= 160_000 => ProbeFinding::new(
            Severity::Warning,
            "cert-login-trust",
            format!(
                "logged in as {who} with the client certificate{dn}, but without any authentication (trust: system_user is null): the certificate did not authenticate the role"
            ),
        ),
        None if l.auth_request == Some(0) => ProbeFinding::new(
            Severity::Info,
            "cert-login-ok",
            format!(
                "logged in as {who} with the client certificate{dn} and no password asked: certificate authentication, or trust with clientcert (PostgreSQL before 16 has no system_user to tell them apart)"
            ),
        ),
        None => ProbeFinding::new(
            Severity::Info,
            "cert-login-clientcert",
            format!(
                "logged in as {who}: the client certificate was sent{dn} and the server also asked for a credential (authentication request {})",
                l.auth_request.unwrap_or(-1)
            ),
        ),
    }
}
