//! The `MakeTlsConnect` / `TlsConnect` pair: a rustls handshake judged by
//! pgtls-verify's [`LibpqVerifier`], built anew for every connection (root file,
//! CRLs and client certificate are read per connection, as libpq reads them).

use std::future::Future;
use std::io;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use pgtls_verify::client_cert::{self, ClientCert};
use pgtls_verify::{Env, LibpqVerifier, Params, PgVersion, policy};

use crate::auth::{self, AuthRules};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// Why a TLS handshake did not complete: libpq's message where libpq has one.
///
/// `Display` prints the message alone.
#[derive(Debug)]
pub struct TlsError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TlsError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// The message (libpq's text for refusals libpq makes).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// What happened in one connection's TLS step (shared with the connect loop, which
/// needs it to apply libpq's fallback rules).
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed(Arc<Mutex<State>>);

#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// The server answered `S` and the handshake started.
    pub(crate) started: bool,
    /// The handshake completed.
    pub(crate) established: bool,
    /// Why it failed.
    pub(crate) failure: Option<String>,
    /// The server sent a CertificateRequest.
    pub(crate) cert_requested: bool,
    /// A client certificate was sent.
    pub(crate) cert_sent: bool,
    /// The code of the server's first `Authentication` message (0 ok, 3
    /// password, 5 md5, 10 SASL...), when one was read through an observed stream.
    pub(crate) auth_request: Option<i32>,
    /// libpq's refusal of an authentication request (`require_auth`,
    /// `sslcertmode`), made before tokio-postgres read it.
    pub(crate) auth_refusal: Option<String>,
    /// A refusal after a completed handshake that libpq does not retry without
    /// TLS, whatever the sslmode (`received unencrypted data after SSL response`).
    pub(crate) hard_failure: Option<String>,
    /// The certificate chain the server sent in a completed handshake (DER, leaf first).
    pub(crate) peer_chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// The negotiated protocol of a completed handshake (`TLSv1.3`, as OpenSSL names it).
    pub(crate) protocol: Option<String>,
}

impl Observed {
    pub(crate) fn get(&self) -> State {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut State)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }
}

/// The TLS settings libpq would use, without the host (that comes per connection).
#[derive(Clone, Debug)]
pub(crate) struct TlsSettings {
    pub(crate) params: Params,
    pub(crate) env: Env,
    pub(crate) version: PgVersion,
    pub(crate) versions: Vec<&'static rustls::SupportedProtocolVersion>,
    pub(crate) sslpassword: Option<String>,
    /// `sslkeylogfile` (18+): where the TLS secrets go, in the NSS key log format.
    pub(crate) sslkeylogfile: Option<std::path::PathBuf>,
    /// What each authentication request is checked against.
    pub(crate) rules: Arc<AuthRules>,
    /// `sslnegotiation=direct` (17+): ALPN must be negotiated.
    pub(crate) direct: bool,
}

/// libpq 18's `sslkeylogfile` (`SSL_CTX_keylog_cb` in fe-secure-openssl.c): each secret as
/// one NSS key log line (`LABEL CLIENT_RANDOM SECRET`, hex), appended to the file, which is
/// opened per line with `O_WRONLY | O_APPEND | O_CREAT` and mode 0600. libpq warns on
/// stderr when the file cannot be opened or written and goes on with the connection; this
/// library goes on without the warning.
#[derive(Debug)]
struct KeyLogPath(std::path::PathBuf);

impl rustls::KeyLog for KeyLogPath {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        use std::fmt::Write as _;
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut line =
            String::with_capacity(label.len() + 2 * (client_random.len() + secret.len()) + 3);
        line.push_str(label);
        line.push(' ');
        for b in client_random {
            let _ = write!(line, "{b:02x}");
        }
        line.push(' ');
        for b in secret {
            let _ = write!(line, "{b:02x}");
        }
        line.push('\n');
        let _ = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.0)
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
}

/// A `tokio_postgres::tls::MakeTlsConnect` that decides as libpq does, for
/// people who build their own `tokio_postgres::Config` (or pool).
///
/// Made from a conninfo string by [`crate::config`] (or [`MakeLibpqTls::new`]),
/// which also gives the `tokio_postgres::Config`. The host name checked under
/// `verify-full` is the host tokio-postgres connects to (its `host`; with only a
/// `hostaddr` tokio-postgres refuses TLS). Root file, CRLs and client certificate
/// are read for every connection.
///
/// tokio-postgres's own `SslMode` decides whether TLS is tried: with
/// `SslMode::Prefer` (its default) a server without TLS gets a plaintext session
/// even under `verify-full`. [`crate::config`] therefore sets `SslMode::Require`
/// for `require`, `verify-ca` and `verify-full`; keep it so. `sslmode=prefer`'s
/// retry after a failed handshake and `allow` need [`crate::connect`].
#[derive(Clone, Debug)]
pub struct MakeLibpqTls {
    settings: Arc<TlsSettings>,
    observed: Option<Observed>,
    /// The host checked instead of tokio-postgres's (set by `connect` for hostaddr-only slots).
    fixed: Option<(Option<String>, Option<String>)>,
    /// A plaintext attempt passed through (see `for_attempt`).
    plain: bool,
}

impl MakeLibpqTls {
    /// From a conninfo string, libpq's environment and the libpq version whose
    /// rules apply.
    ///
    /// # Errors
    /// The connection string's refusal (see [`crate::Error`]).
    pub fn new(conninfo: &str) -> Result<Self, crate::Error> {
        crate::Options::new().make_tls(conninfo)
    }

    pub(crate) fn from_settings(settings: TlsSettings) -> Self {
        Self {
            settings: Arc::new(settings),
            observed: None,
            fixed: None,
            plain: false,
        }
    }

    /// A connector for one attempt of `connect`: the given host/hostaddr pair,
    /// observed. With `plain`, it makes no TLS at all but hands the socket
    /// back watched (`connect` uses it for plaintext attempts under
    /// `require_auth`, with tokio-postgres's direct negotiation, so that no
    /// SSLRequest is sent and every byte of the server passes the checks).
    pub(crate) fn for_attempt(
        &self,
        host: Option<String>,
        hostaddr: Option<String>,
        observed: Observed,
        plain: bool,
    ) -> Self {
        Self {
            settings: self.settings.clone(),
            observed: Some(observed),
            fixed: Some((host, hostaddr)),
            plain,
        }
    }
}

impl MakeLibpqTls {
    pub(crate) fn rules(&self) -> Arc<AuthRules> {
        self.settings.rules.clone()
    }
}

impl<S> MakeTlsConnect<S> for MakeLibpqTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = TlsStream<S>;
    type TlsConnect = LibpqTlsConnect;
    type Error = TlsError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<LibpqTlsConnect, TlsError> {
        let (host, hostaddr) = self
            .fixed
            .clone()
            .unwrap_or_else(|| (Some(domain.to_string()).filter(|d| !d.is_empty()), None));
        Ok(LibpqTlsConnect {
            settings: self.settings.clone(),
            host,
            hostaddr,
            observed: self.observed.clone().unwrap_or_default(),
            plain: self.plain,
        })
    }
}

/// One connection's TLS handshake (made by [`MakeLibpqTls`]).
#[derive(Debug)]
pub struct LibpqTlsConnect {
    settings: Arc<TlsSettings>,
    host: Option<String>,
    hostaddr: Option<String>,
    observed: Observed,
    plain: bool,
}

/// The rustls server name for a connection: libpq's SNI name
/// ([`policy::sni_name`]) when there is one, else an address (rustls sends no SNI for
/// one; the name the certificate is checked against is libpq's `host`, in the verifier).
fn server_name(sni: Option<&str>) -> Result<ServerName<'static>, TlsError> {
    let Some(name) = sni else {
        return Ok(ServerName::IpAddress(
            std::net::IpAddr::from([127, 0, 0, 1]).into(),
        ));
    };
    ServerName::try_from(name.to_string()).map_err(|_| {
        TlsError::new(format!(
            "pgtls-postgres: \"{name}\" cannot be sent as a TLS server name (SNI); set sslsni=0"
        ))
    })
}

/// libpq's text for a key that is not the certificate's. OpenSSL keeps one
/// certificate/key slot per key type: a key of the certificate's type replaces
/// the slot's key after `X509_check_private_key` (`could not load private key
/// file`: `key values mismatch`); a key of another type goes to an empty slot,
/// and `SSL_check_private_key` then finds no certificate for it.
fn mismatch_message(ck: &rustls::sign::CertifiedKey, key_file: &str) -> String {
    /// The AlgorithmIdentifier's OID of a SubjectPublicKeyInfo.
    fn alg(spki: &[u8]) -> Option<Vec<u8>> {
        let top = pgtls_x509::der::read_all(spki).ok()?;
        let parts = pgtls_x509::der::children(top.content).ok()?;
        let ai = pgtls_x509::der::children(parts.first()?.content).ok()?;
        Some(ai.first()?.raw.to_vec())
    }
    let key_alg = ck.key.public_key().and_then(|k| alg(k.as_ref()));
    let cert_alg = ck
        .end_entity_cert()
        .ok()
        .and_then(|c| pgtls_x509::Certificate::from_der(c.as_ref()).ok())
        .and_then(|c| alg(&c.public_key().der));
    if key_alg.is_some() && cert_alg.is_some() && key_alg != cert_alg {
        format!(
            "certificate does not match private key file \"{key_file}\": no certificate assigned"
        )
    } else {
        format!("could not load private key file \"{key_file}\": key values mismatch")
    }
}

/// Records whether the server asked for a client certificate, and answers with
/// the loaded one if any.
#[derive(Debug)]
struct CertResolver {
    key: Option<Arc<rustls::sign::CertifiedKey>>,
    observed: Observed,
}

impl rustls::client::ResolvesClientCert for CertResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.observed.update(|s| s.cert_requested = true);
        let key = self.key.as_ref()?;
        key.key.choose_scheme(sigschemes)?;
        self.observed.update(|s| s.cert_sent = true);
        Some(key.clone())
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

impl LibpqTlsConnect {
    /// The name libpq would send as SNI for this attempt.
    fn sni(&self) -> Option<&str> {
        let s = &self.settings;
        policy::sni_name(
            self.host.as_deref(),
            s.params.sslsni.as_deref(),
            &s.env,
            s.version,
        )
    }

    /// What libpq does between the server's `S` and the handshake
    /// (`initialize_SSL`): root file, CRLs, client certificate and key.
    fn client_config(&self) -> Result<ClientConfig, TlsError> {
        let s = &self.settings;
        let mut params = s.params.clone();
        params.host = self.host.clone();
        params.hostaddr = self.hostaddr.clone();
        let verifier =
            LibpqVerifier::new(&params, &s.env, s.version).map_err(|r| TlsError::new(r.message))?;
        let plan =
            policy::plan(&params, &s.env, s.version).map_err(|r| TlsError::new(r.message))?;
        let client = client_cert::load(&plan).map_err(|r| TlsError::new(r.message))?;
        let provider = pgtls_verify::provider::crypto_provider_arc();
        let key = match client {
            ClientCert::None { .. } => None,
            ClientCert::Loaded { cert, key, .. } => {
                let chain = pgtls_verify::read_chain_file(&cert).map_err(|e| {
                    TlsError::new(format!(
                        "could not read certificate file \"{}\": {e}",
                        cert.display()
                    ))
                })?;
                let der = crate::key::load(&key, s.sslpassword.as_deref()).map_err(
                    |(file, reason)| {
                        TlsError::new(format!(
                            "could not load private key file \"{file}\": {reason}"
                        ))
                    },
                )?;
                let shown = key.display();
                let signing = provider.key_provider.load_private_key(der).map_err(|e| {
                    TlsError::new(format!("could not load private key file \"{shown}\": {e}"))
                })?;
                let ck = rustls::sign::CertifiedKey::new(chain, signing);
                if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) =
                    ck.keys_match()
                {
                    return Err(TlsError::new(mismatch_message(&ck, &shown.to_string())));
                }
                Some(Arc::new(ck))
            }
        };
        let resolver = CertResolver {
            key,
            observed: self.observed.clone(),
        };
        let mut cfg = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&s.versions)
            .map_err(|e| TlsError::new(format!("SSL error: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_cert_resolver(Arc::new(resolver));
        cfg.enable_sni = self.sni().is_some();
        if let Some(path) = &s.sslkeylogfile {
            cfg.key_log = Arc::new(KeyLogPath(path.clone()));
        }
        // libpq 17+ always offers ALPN `postgresql` (fe-secure-openssl.c).
        if s.version >= PgVersion::V17 {
            cfg.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
        }
        Ok(cfg)
    }
}

/// libpq's text for a rustls error that is not the verifier's.
pub(crate) fn rustls_message(e: &io::Error) -> String {
    if let Some(m) = pgtls_verify::libpq_message(e) {
        return m.to_string();
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return "SSL SYSCALL error: EOF detected".into();
    }
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::AlertReceived(a)) => match alert_reason(*a) {
            Some(r) => format!("SSL error: {r}"),
            None => format!("SSL error: {}", rustls::Error::AlertReceived(*a)),
        },
        Some(r) => format!("SSL error: {r}"),
        None => format!("SSL SYSCALL error: {e}"),
    }
}

/// OpenSSL's reason string for a fatal alert received from the server
/// (`SSL_R_SSLV3_ALERT_*`, `SSL_R_TLSV1_ALERT_*`, `SSL_R_TLSV13_ALERT_*`).
fn alert_reason(a: rustls::AlertDescription) -> Option<&'static str> {
    use rustls::AlertDescription as A;
    Some(match a {
        A::UnexpectedMessage => "sslv3 alert unexpected message",
        A::BadRecordMac => "sslv3 alert bad record mac",
        A::DecompressionFailure => "sslv3 alert decompression failure",
        A::HandshakeFailure => "sslv3 alert handshake failure",
        A::NoCertificate => "sslv3 alert no certificate",
        A::BadCertificate => "sslv3 alert bad certificate",
        A::UnsupportedCertificate => "sslv3 alert unsupported certificate",
        A::CertificateRevoked => "sslv3 alert certificate revoked",
        A::CertificateExpired => "sslv3 alert certificate expired",
        A::CertificateUnknown => "sslv3 alert certificate unknown",
        A::IllegalParameter => "sslv3 alert illegal parameter",
        A::DecryptionFailed => "tlsv1 alert decryption failed",
        A::RecordOverflow => "tlsv1 alert record overflow",
        A::UnknownCA => "tlsv1 alert unknown ca",
        A::AccessDenied => "tlsv1 alert access denied",
        A::DecodeError => "tlsv1 alert decode error",
        A::DecryptError => "tlsv1 alert decrypt error",
        A::ExportRestriction => "tlsv1 alert export restriction",
        A::ProtocolVersion => "tlsv1 alert protocol version",
        A::InsufficientSecurity => "tlsv1 alert insufficient security",
        A::InternalError => "tlsv1 alert internal error",
        A::InappropriateFallback => "tlsv1 alert inappropriate fallback",
        A::UserCanceled => "tlsv1 alert user cancelled",
        A::NoRenegotiation => "tlsv1 alert no renegotiation",
        A::MissingExtension => "tlsv13 alert missing extension",
        A::UnsupportedExtension => "tlsv1 unsupported extension",
        A::CertificateUnobtainable => "tlsv1 certificate unobtainable",
        A::UnrecognisedName => "tlsv1 unrecognized name",
        A::BadCertificateStatusResponse => "tlsv1 bad certificate status response",
        A::BadCertificateHashValue => "tlsv1 bad certificate hash value",
        A::CertificateRequired => "tlsv13 alert certificate required",
        A::NoApplicationProtocol => "tlsv1 alert no application protocol",
        _ => return None,
    })
}

impl<S> TlsConnect<S> for LibpqTlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = TlsStream<S>;
    type Error = TlsError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsStream<S>, TlsError>> + Send>>;

    fn connect(self, mut stream: S) -> Self::Future {
        Box::pin(async move {
            let rules = Some(self.settings.rules.clone());
            if self.plain {
                // A plaintext attempt of `connect` under require_auth: no
                // handshake, the server's messages watched (see `for_attempt`).
                return Ok(TlsStream(
                    Inner::Plain(stream),
                    Head::new(self.observed.clone(), rules, false),
                ));
            }
            self.observed.update(|s| s.started = true);
            let fail = |e: TlsError| {
                self.observed
                    .update(|s| s.failure = Some(e.message.clone()));
                e
            };
            let cfg = self.client_config().map_err(fail)?;
            let name = server_name(self.sni()).map_err(fail)?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
            // Bytes that came with the server's `S` are libpq's buffered data, not
            // the handshake's (there is no `S` with direct TLS).
            let unencrypted = !self.settings.direct && take_ready(&mut stream).await;
            match connector.connect(name, stream).await {
                Ok(_) if unencrypted => {
                    // fe-connect.c, after pqsecure_open_client succeeds (CVE-2021-23222).
                    let m = "received unencrypted data after SSL response";
                    self.observed.update(|s| {
                        s.established = true;
                        s.hard_failure = Some(m.into());
                    });
                    Err(fail(TlsError::new(m)))
                }
                Ok(tls) => {
                    let session = tls.get_ref().1;
                    let chain: Vec<_> = session
                        .peer_certificates()
                        .unwrap_or_default()
                        .iter()
                        .map(|c| c.clone().into_owned())
                        .collect();
                    let protocol = session.protocol_version().map(protocol_name);
                    self.observed.update(|s| {
                        s.established = true;
                        s.peer_chain = chain;
                        s.protocol = protocol;
                    });
                    // ALPN is mandatory with direct SSL connections (fe-secure-openssl.c).
                    if self.settings.direct {
                        match tls.get_ref().1.alpn_protocol() {
                            None => {
                                return Err(fail(TlsError::new(
                                    "direct SSL connection was established without ALPN protocol negotiation extension",
                                )));
                            }
                            Some(p) if p != ALPN_POSTGRESQL => {
                                return Err(fail(TlsError::new(
                                    "SSL connection was established with unexpected ALPN protocol",
                                )));
                            }
                            Some(_) => {}
                        }
                    }
                    Ok(TlsStream(
                        Inner::Tls(Box::new(tls)),
                        Head::new(self.observed.clone(), rules, true),
                    ))
                }
                Err(e) => Err(fail(TlsError {
                    message: rustls_message(&e),
                    source: Some(Box::new(e)),
                })),
            }
        })
    }
}

/// Reads (and drops) whatever the socket already holds, without waiting: true
/// when there was something. Before the ClientHello a server has nothing to send,
/// so these are bytes that came with its answer to the SSLRequest, which libpq's
/// read of that answer takes into its buffer and refuses once the handshake is
/// done (`received unencrypted data after SSL response`).
async fn take_ready<S: AsyncRead + Unpin>(stream: &mut S) -> bool {
    let mut buf = [0u8; 4096];
    let mut any = false;
    // Bounded: a peer that keeps sending is refused all the same.
    for _ in 0..256 {
        let got = std::future::poll_fn(|cx| {
            let mut rb = ReadBuf::new(&mut buf);
            Poll::Ready(match Pin::new(&mut *stream).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => rb.filled().len(),
                Poll::Ready(Err(_)) | Poll::Pending => 0,
            })
        })
        .await;
        if got == 0 {
            break;
        }
        any = true;
    }
    any
}

/// OpenSSL's name of a protocol version (`SSL_get_version`), as `pg_stat_ssl` shows it.
fn protocol_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        other => format!("{other:?}"),
    }
}

/// libpq's ALPN protocol (`PG_ALPN_PROTOCOL`, sent by libpq 17+).
pub(crate) const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// A TLS session to a PostgreSQL server, with `tls-server-end-point` channel
/// binding for SCRAM-SHA-256-PLUS; or, for a plaintext attempt of
/// [`crate::connect`] under `require_auth`, the plain socket whose
/// authentication requests pgtls-postgres checks before tokio-postgres reads
/// them.
#[derive(Debug)]
pub struct TlsStream<S>(Inner<S>, Head);

#[derive(Debug)]
enum Inner<S> {
    Tls(Box<tokio_rustls::client::TlsStream<S>>),
    Plain(S),
}

impl<S> TlsStream<S> {
    /// The rustls session (protocol version, cipher suite, peer
    /// certificates, ALPN); `None` for a plaintext session.
    pub fn session(&self) -> Option<&rustls::ClientConnection> {
        match &self.0 {
            Inner::Tls(t) => Some(t.get_ref().1),
            Inner::Plain(_) => None,
        }
    }
}

/// The server's messages until authentication is over, parsed as they
/// arrive: the first request's code is recorded (libpq's channel-binding
/// messages depend on it), and each request is checked against the
/// connection's [`AuthRules`] (`sslcertmode`, `require_auth`) before
/// tokio-postgres can read it; a request that is not allowed ends the stream
/// with libpq's message, unanswered.
#[derive(Debug, Default)]
pub(crate) struct Head {
    /// The current message's type and length, as they arrive.
    header: Vec<u8>,
    /// The start of its body (a SASL request's mechanism list).
    body: Vec<u8>,
    /// Body bytes still to come.
    remaining: usize,
    /// Authentication is over (AuthenticationOk or an error): nothing more to check.
    done: bool,
    /// The client has sent its last authentication message (libpq's
    /// `client_finished_auth`).
    finished: bool,
    /// The refusal, once made (every later read fails with it too).
    refused: Option<String>,
    tls: bool,
    rules: Option<Arc<AuthRules>>,
    observed: Observed,
}

/// The longest body prefix kept (a SASL mechanism list is far shorter).
const BODY_KEPT: usize = 1024;

impl Head {
    pub(crate) fn new(observed: Observed, rules: Option<Arc<AuthRules>>, tls: bool) -> Self {
        Self {
            tls,
            rules,
            observed,
            ..Self::default()
        }
    }

    /// Feeds bytes the server sent; `Err` is the refusal of a request.
    fn note(&mut self, mut data: &[u8]) -> Result<(), String> {
        if let Some(r) = &self.refused {
            return Err(r.clone());
        }
        while !self.done && !data.is_empty() {
            if self.header.len() < 5 {
                let take = (5 - self.header.len()).min(data.len());
                let (h, rest) = data.split_at(take);
                self.header.extend_from_slice(h);
                data = rest;
                if self.header.len() == 5 {
                    let mut len = [0u8; 4];
                    len.copy_from_slice(self.header.get(1..5).unwrap_or(&[0; 4]));
                    self.remaining = usize::try_from(u32::from_be_bytes(len))
                        .unwrap_or(0)
                        .saturating_sub(4);
                    self.body.clear();
                    if self.remaining == 0 {
                        self.message()?;
                    }
                }
                continue;
            }
            let take = self.remaining.min(data.len());
            let (b, rest) = data.split_at(take);
            let keep = BODY_KEPT.saturating_sub(self.body.len()).min(b.len());
            self.body
                .extend_from_slice(b.get(..keep).unwrap_or_default());
            self.remaining -= take;
            data = rest;
            if self.remaining == 0 {
                self.message()?;
            }
        }
        Ok(())
    }

    /// One whole message from the server.
    fn message(&mut self) -> Result<(), String> {
        let kind = self.header.first().copied().unwrap_or(0);
        self.header.clear();
        if kind == b'E' {
            self.done = true;
            return Ok(());
        }
        if kind != b'R' {
            return Ok(()); // a notice, NegotiateProtocolVersion: keep watching
        }
        let Some(code) = self.body.get(..4).map(|c| {
            let mut b = [0u8; 4];
            b.copy_from_slice(c);
            i32::from_be_bytes(b)
        }) else {
            return Ok(());
        };
        self.observed.update(|s| {
            s.auth_request.get_or_insert(code);
        });
        if code == auth::OK {
            self.done = true;
        }
        if let Err(m) = self.check(code) {
            self.observed.update(|s| s.auth_refusal = Some(m.clone()));
            self.refused = Some(m.clone());
            return Err(m);
        }
        if matches!(code, 3 | 5 | auth::SASL_CONT) {
            self.finished = true;
        }
        Ok(())
    }

    /// `check_expected_areq` (and 18's `pg_SASL_init` mechanism check).
    fn check(&self, code: i32) -> Result<(), String> {
        let Some(rules) = &self.rules else {
            return Ok(());
        };
        if code == auth::OK {
            let st = self.observed.get();
            client_cert::check_after_authentication(
                rules.certmode,
                st.cert_requested,
                st.cert_sent,
            )
            .map_err(str::to_string)?;
        }
        let Some(ra) = &rules.require_auth else {
            return Ok(());
        };
        ra.check(code, self.finished)?;
        // channel_binding=require without TLS is refused first (pg_SASL_init).
        if code == auth::SASL && (self.tls || !rules.channel_binding_required) {
            let list = self.body.get(4..).unwrap_or_default();
            if let Some(m) =
                auth::selected_mechanism(list, self.tls, rules.channel_binding_disabled)
            {
                ra.check_mechanism(m)?;
            }
        }
        Ok(())
    }
}

/// Reads from `inner` and shows what arrived to `head`; a refused request
/// is taken back out of `buf` and the read fails.
fn read_noting<R: AsyncRead>(
    inner: Pin<&mut R>,
    head: &mut Head,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if let Some(r) = &head.refused {
        return Poll::Ready(Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            r.clone(),
        )));
    }
    let before = buf.filled().len();
    let r = inner.poll_read(cx, buf);
    if !head.done
        && let Poll::Ready(Ok(())) = &r
        && let Err(m) = head.note(buf.filled().get(before..).unwrap_or_default())
    {
        buf.set_filled(before);
        return Poll::Ready(Err(io::Error::new(io::ErrorKind::PermissionDenied, m)));
    }
    r
}

/// A stream that records the server's first authentication request (for
/// plaintext attempts, where no [`TlsStream`] sees the bytes).
#[derive(Debug)]
pub(crate) struct Watched<S>(pub(crate) S, pub(crate) Head);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        read_noting(Pin::new(&mut this.0), &mut this.1, cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// RFC 5929 `tls-server-end-point`: the certificate's hash with its signature's
/// digest (SHA-256 for MD5 and SHA-1); none for Ed25519/Ed448 and RSASSA-PSS,
/// which PostgreSQL's server cannot bind either.
fn end_point(cert: &[u8]) -> Option<Vec<u8>> {
    use pgtls_x509::signature::{Hash, SignatureAlgorithm};
    let top = pgtls_x509::der::read_all(cert).ok()?;
    let parts = pgtls_x509::der::children(top.content).ok()?;
    let alg = SignatureAlgorithm::from_der(parts.get(1)?.raw).ok()?;
    if matches!(alg, SignatureAlgorithm::RsaPss(_)) {
        return None;
    }
    let digest = match alg.hash()? {
        Hash::Md5 | Hash::Sha1 | Hash::Sha256 => &aws_lc_rs::digest::SHA256,
        Hash::Sha224 => &aws_lc_rs::digest::SHA224,
        Hash::Sha384 => &aws_lc_rs::digest::SHA384,
        Hash::Sha512 => &aws_lc_rs::digest::SHA512,
        _ => return None,
    };
    Some(aws_lc_rs::digest::digest(digest, cert).as_ref().to_vec())
}

impl<S> tokio_postgres::tls::TlsStream for TlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn channel_binding(&self) -> ChannelBinding {
        match self
            .session()
            .and_then(|s| s.peer_certificates())
            .and_then(|c| c.first())
            .and_then(|c| end_point(c.as_ref()))
        {
            Some(h) => ChannelBinding::tls_server_end_point(h),
            None => ChannelBinding::none(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match &mut this.0 {
            Inner::Tls(t) => read_noting(Pin::new(t.as_mut()), &mut this.1, cx, buf),
            Inner::Plain(p) => read_noting(Pin::new(p), &mut this.1, cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.0 {
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
            Inner::Plain(p) => Pin::new(p).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.0 {
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_flush(cx),
            Inner::Plain(p) => Pin::new(p).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.0 {
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_shutdown(cx),
            Inner::Plain(p) => Pin::new(p).poll_shutdown(cx),
        }
    }
}
