//! Live probe of a PostgreSQL server: negotiate TLS (SSLRequest, or PG17
//! direct TLS with ALPN `postgresql`), capture the certificate chain it sends
//! and the client-CA list of its CertificateRequest, then evaluate offline,
//! for every sslmode, whether libpq would connect.
//!
//! Capturing uses rustls with a verifier that records and accepts (the
//! handshake signatures are still checked); the evaluation is
//! [`crate::verify_server`] on the captured chain.

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
    let Some(mut tcp) = stream else {
        return Err(ProbeError::Io {
            context: format!("cannot connect to {host}:{port}"),
            source: last.unwrap_or_else(|| std::io::Error::other("no address")),
        });
    };
    tcp.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(io("set timeout"))?;
    if !direct {
        let mut req = Vec::with_capacity(8);
        req.extend_from_slice(&8u32.to_be_bytes());
        req.extend_from_slice(&SSL_REQUEST_CODE.to_be_bytes());
        tcp.write_all(&req).map_err(io("sending SSLRequest"))?;
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b)
            .map_err(io("reading the SSLRequest answer"))?;
        match b[0] {
            b'S' => {}
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
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes());
    for (k, v) in [("user", user), ("database", database)] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let len = u32::try_from(body.len() + 4).unwrap_or(u32::MAX);
    let mut msg = len.to_be_bytes().to_vec();
    msg.extend(body);
    s.write_all(&msg).map_err(io("sending StartupMessage"))?;
    s.flush().map_err(io("sending StartupMessage"))?;
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

/// The server name rustls should send for libpq's `host` (SNI rule of §1.8).
pub fn server_name_for(host: &str) -> ServerName<'static> {
    sni_name(host)
}
