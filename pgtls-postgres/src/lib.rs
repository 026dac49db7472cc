//! tokio-postgres connections that behave like psql's: libpq's connection
//! strings, environment, service and password files, all six `sslmode`s with
//! libpq's plaintext fallback rules, and libpq's `verify-ca` / `verify-full`
//! (pgtls-verify's [`LibpqVerifier`](pgtls_verify::LibpqVerifier), CN fallback,
//! IP addresses, CRLs) on rustls.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (client, connection) = pgtls_postgres::connect(
//!     "host=db.example.com dbname=app user=app sslmode=verify-full sslrootcert=/etc/pg/root.crt",
//! )
//! .await?; // on refusal, the error's first line is what psql prints after "failed: "
//! tokio::spawn(connection); // Send + 'static; a current-thread runtime is enough
//! let row = client.query_one("select ssl from pg_stat_ssl where pid = pg_backend_pid()", &[]).await?;
//! assert!(row.get::<_, bool>(0));
//! # Ok(()) }
//! ```
//!
//! # What libpq does that tokio-postgres alone does not
//! - `sslmode=verify-ca|verify-full` (tokio-postgres's `SslMode` has only
//!   disable, prefer and require) and a server with `ssl = off` under them: a
//!   refusal (`server does not support SSL, but SSL was required`), never a
//!   plaintext session.
//! - `prefer`: a failed TLS attempt (handshake, certificate, or the server's own
//!   `FATAL` over TLS) is retried without TLS; `allow`: plaintext first, TLS after
//!   the server's `FATAL`.
//! - `require` with a root file (`~/.postgresql/root.crt` by default) verifies
//!   the chain as `verify-ca` does.
//! - Root file, CRLs and client certificate read for every connection; client
//!   keys with libpq's checks (mode and owner, a key that does not match) and
//!   encrypted ones with `sslpassword` (PKCS#8 and OpenSSL's traditional
//!   `Proc-Type: 4,ENCRYPTED` PEM). libpq asks on the terminal when an
//!   encrypted key has no `sslpassword`; this crate never prompts, and fails as
//!   libpq does without a terminal (`processing error`).
//! - `channel_binding=require` and `sslcertmode=require` (16+) refusals with
//!   libpq's text for whichever authentication the server asked for.
//! - The password file, service files, the `PG*` variables.
//!
//! For your own `tokio_postgres::Config` or a pool, [`config`] gives the
//! configuration and a [`MakeLibpqTls`] from one conninfo string (libpq's fallback
//! rules then are tokio-postgres's: see [`MakeLibpqTls`]).
//!
//! # Keywords
//! Every keyword libpq (of the version chosen with [`Options::pg_version`], 15 by
//! default) accepts is honoured or refused with an error starting with
//! `pgtls-postgres: ` (never dropped): refused are `client_encoding` other than
//! UTF8 (tokio-postgres always uses UTF8), `gssencmode=require` (no GSSAPI),
//! `requirepeer`, `replication`, `target_session_attrs` `primary`, `standby`,
//! `prefer-standby`, `load_balance_hosts=random`, `sslnegotiation=direct`,
//! `require_auth` and the 18-only keywords but `sslkeylogfile`, which is honoured (NSS key
//! log lines appended, mode 0600, as libpq 18 writes them; a file that cannot be written is
//! skipped without libpq's warning on stderr). `sslsni` and
//! `ssl_min/max_protocol_version` follow libpq (SNI is the `host`, not for digits-and-dots
//! or `:` hosts, on when `sslsni` starts with `1`; a host rustls takes as no DNS name, such
//! as `0x7f.0.0.1`, is refused unless `sslsni=0`; an `ssl_max_protocol_version` below
//! `TLSv1.2` is refused: rustls speaks TLS 1.2 and 1.3). Accepted without effect, as with a
//! libpq that has no Kerberos credentials and an OpenSSL without compression:
//! `gssencmode=prefer`, `krbsrvname`, `gsslib`, `gssdelegation`, `sslcompression`.
#![forbid(unsafe_code)]

#[cfg(feature = "audit")]
pub mod audit;
mod conninfo;
mod key;
mod settings;
mod tls;

use std::fmt;

use pgtls_verify::{Env, PgVersion, SslMode, policy};
use tokio_postgres::config::SslMode as TpSslMode;
use tokio_postgres::{Client, Connection, Socket};

pub use tls::{LibpqTlsConnect, MakeLibpqTls, TlsError, TlsStream};

use settings::{Settings, Target};

/// The connection future [`connect`] returns: spawn it, as with
/// `tokio_postgres::connect`.
pub type PgConnection = Connection<Socket, TlsStream<Socket>>;

/// A refused connection, with libpq's text.
///
/// `Display` is what psql prints after `psql: error: `, without the first
/// `connection to server at "...", port N failed: ` (its first line is what
/// psql prints after `failed: `); later attempts (libpq's fallback, other hosts
/// or addresses) follow on their own lines, prefixed as libpq prefixes them.
/// [`Error::libpq_message`] is the whole text, as `PQerrorMessage` gives it.
#[derive(Debug)]
pub struct Error {
    /// Each failure, with its `connection to server ...` prefix (empty for
    /// failures before any connection).
    lines: Vec<(String, String)>,
    source: Option<tokio_postgres::Error>,
}

impl Error {
    fn option(message: String) -> Self {
        Self {
            lines: vec![(String::new(), message)],
            source: None,
        }
    }

    /// The whole message as libpq's `PQerrorMessage` would give it (without the
    /// final newline).
    pub fn libpq_message(&self) -> String {
        self.lines
            .iter()
            .map(|(p, m)| format!("{p}{m}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The message of the first failure (what psql prints after `failed: `).
    pub fn first_message(&self) -> &str {
        self.lines.first().map_or("", |(_, m)| m.as_str())
    }

    /// The server's error, when the last failure was one.
    pub fn as_db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        self.source
            .as_ref()
            .and_then(tokio_postgres::Error::as_db_error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (p, m)) in self.lines.iter().enumerate() {
            if i > 0 {
                write!(f, "\n{p}")?;
            }
            f.write_str(m)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Which libpq's rules apply and which environment is read.
#[derive(Clone, Debug)]
pub struct Options {
    version: PgVersion,
    env: Option<Env>,
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

impl Options {
    /// libpq 15's rules, the process environment.
    pub fn new() -> Self {
        Self {
            version: PgVersion::V15,
            env: None,
        }
    }

    /// The libpq version whose rules apply (keywords, defaults, messages).
    pub fn pg_version(mut self, version: PgVersion) -> Self {
        self.version = version;
        self
    }

    /// Reads this environment instead of the process's (`PG*`, `HOME`).
    pub fn env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    fn environment(&self) -> Env {
        self.env.clone().unwrap_or_else(|| {
            let mut env = Env::from_process();
            for (k, v) in std::env::vars() {
                if k.starts_with("PG") {
                    env = env.with_var(&k, &v);
                }
            }
            env
        })
    }

    fn settings(&self, conninfo: &str) -> Result<Settings, Error> {
        Settings::resolve(conninfo, self.environment(), self.version).map_err(Error::option)
    }

    fn tls_of(s: &Settings) -> MakeLibpqTls {
        MakeLibpqTls::from_settings(tls::TlsSettings {
            params: s.tls.clone(),
            env: s.env.clone(),
            version: s.version,
            versions: s.tls_versions.clone(),
            sslpassword: s.value("sslpassword").map(str::to_string),
            sslkeylogfile: s.value("sslkeylogfile").map(std::path::PathBuf::from),
        })
    }

    /// The `MakeTlsConnect` for this conninfo string (see [`MakeLibpqTls`]).
    ///
    /// # Errors
    /// The string's refusal.
    pub fn make_tls(&self, conninfo: &str) -> Result<MakeLibpqTls, Error> {
        Ok(Self::tls_of(&self.settings(conninfo)?))
    }

    /// See [`config`].
    ///
    /// # Errors
    /// The string's refusal, or a string tokio-postgres cannot express.
    pub fn config(&self, conninfo: &str) -> Result<(tokio_postgres::Config, MakeLibpqTls), Error> {
        let s = self.settings(conninfo)?;
        let mut c = s.base_config().map_err(Error::option)?;
        let mut any_password = None;
        for slot in &s.hosts {
            match &slot.target {
                Target::Unix(p) => {
                    c.host_path(p);
                }
                Target::Name(h) => {
                    c.host(h);
                }
                Target::Address(a) => {
                    c.host(slot.host.as_deref().unwrap_or(&a.to_string()));
                    c.hostaddr(*a);
                }
            }
            if let Some((p, _)) = &slot.password {
                any_password.get_or_insert(p.clone());
            }
        }
        let ports: Vec<u16> = s.hosts.iter().map(|h| h.port).collect();
        for p in ports {
            c.port(p);
        }
        if let Some(p) = any_password {
            c.password(p);
        }
        let plan = policy::plan(&s.tls, &s.env, s.version).map_err(|r| Error::option(r.message))?;
        c.ssl_mode(match plan.mode {
            SslMode::Disable | SslMode::Allow => TpSslMode::Disable,
            SslMode::Prefer => TpSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => TpSslMode::Require,
        });
        Ok((c, Self::tls_of(&s)))
    }

    /// See [`connect`].
    ///
    /// # Errors
    /// libpq's refusal (see [`Error`]).
    pub async fn connect(&self, conninfo: &str) -> Result<(Client, PgConnection), Error> {
        let s = self.settings(conninfo)?;
        connect_settings(&s).await
    }
}

/// The tokio-postgres configuration and the TLS connector for one conninfo
/// string, for your own pool or `Config` (libpq 15's rules, the process
/// environment). `sslmode` maps to tokio-postgres's as close as it goes:
/// `disable` and `allow` to `Disable` (so `allow` never tries TLS), `prefer` to
/// `Prefer` (TLS if the server offers it; no retry after a failed handshake),
/// `require`, `verify-ca`, `verify-full` to `Require`. [`connect`] has libpq's
/// exact sequence.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (config, tls) = pgtls_postgres::config("host=db.example.com sslmode=verify-full user=app")?;
/// let (client, connection) = config.connect(tls).await?;
/// tokio::spawn(connection);
/// # Ok(()) }
/// ```
///
/// # Errors
/// The string's refusal.
pub fn config(conninfo: &str) -> Result<(tokio_postgres::Config, MakeLibpqTls), Error> {
    Options::new().config(conninfo)
}

/// Connects as psql would with this conninfo string (libpq 15's rules, the
/// process environment), returning the client and the connection future to
/// spawn, as `tokio_postgres::connect` does.
///
/// # Errors
/// libpq's refusal: the first line of the error's `Display` is what psql prints
/// after `connection to server at ... failed: `.
pub async fn connect(conninfo: &str) -> Result<(Client, PgConnection), Error> {
    Options::new().connect(conninfo).await
}

/// What one attempt's failure means for libpq's next step.
enum Failure {
    /// The server's `ErrorResponse` during startup.
    Server { code: String },
    /// The TLS step failed (handshake, certificate, client key...).
    Tls,
    /// The server answered `N` under require/verify-*.
    NoSsl,
    /// No connection (refused, unreachable, timeout): try the next address.
    Connect,
    /// A read-only / read-write mismatch: the next host.
    SessionAttrs,
    /// Anything else: a hard failure.
    Other,
}

/// `strerror` text from an `io::Error`'s Display.
fn strerror(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::TimedOut {
        return "timeout expired".into();
    }
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s.get(..i).unwrap_or(&s).to_string(),
        None => s,
    }
}

fn io_source(e: &tokio_postgres::Error) -> Option<&std::io::Error> {
    std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>())
}

/// libpq's text for the server's `ErrorResponse` (`pqBuildErrorMessage3`, default verbosity).
fn db_text(db: &tokio_postgres::error::DbError) -> String {
    let mut t = format!("{}:  {}", db.severity(), db.message());
    if let Some(d) = db.detail() {
        t.push_str(&format!("\nDETAIL:  {d}"));
    }
    if let Some(h) = db.hint() {
        t.push_str(&format!("\nHINT:  {h}"));
    }
    if let Some(w) = db.where_() {
        t.push_str(&format!("\nCONTEXT:  {w}"));
    }
    t
}

/// libpq's refusal under `channel_binding=require` for the authentication the
/// server asked for (`pg_SASL_init`, `check_expected_areq`).
fn channel_binding_message(tls_in_use: bool, auth_request: Option<i32>) -> &'static str {
    match auth_request {
        Some(10) if !tls_in_use => "channel binding required, but SSL not in use",
        Some(10) => {
            "channel binding is required, but server did not offer an authentication method that supports channel binding"
        }
        Some(0) => {
            "channel binding required, but server authenticated client without channel binding"
        }
        _ => "channel binding required but not supported by server's authentication request",
    }
}

fn classify(
    e: &tokio_postgres::Error,
    st: &tls::State,
    unix: bool,
    password_from: Option<&std::path::Path>,
    channel_binding_required: bool,
) -> (Failure, String) {
    if let Some(db) = e.as_db_error() {
        let mut t = db_text(db);
        if let Some(file) = password_from
            && db.code().code() == "28P01"
        {
            t.push_str(&format!(
                "\npassword retrieved from file \"{}\"",
                file.display()
            ));
        }
        return (
            Failure::Server {
                code: db.code().code().to_string(),
            },
            t,
        );
    }
    if let Some(f) = &st.failure {
        return (Failure::Tls, f.clone());
    }
    // tokio-postgres's Display shows only the kind; the cause is its source.
    let mut text = e.to_string();
    if let Some(cause) = std::error::Error::source(e) {
        text = format!("{text}: {cause}");
    }
    if channel_binding_required
        && (text.ends_with("server did not use channel binding")
            || (text.ends_with("password missing")
                && !st.established
                && st.auth_request == Some(10)))
    {
        return (
            Failure::Other,
            channel_binding_message(st.established, st.auth_request).into(),
        );
    }
    if !st.started && text.ends_with("server does not support TLS") {
        return (
            Failure::NoSsl,
            "server does not support SSL, but SSL was required".into(),
        );
    }
    if text.ends_with("password missing") {
        return (Failure::Other, "fe_sendauth: no password supplied".into());
    }
    if let Some(io) = io_source(e) {
        if text.starts_with("error connecting to server") {
            if io.kind() == std::io::ErrorKind::PermissionDenied {
                let m = if text.contains("does not allow writes") {
                    "session is read-only"
                } else {
                    "session is not read-only"
                };
                return (Failure::SessionAttrs, m.into());
            }
            let hint = if unix {
                "\tIs the server running locally and accepting connections on that socket?"
            } else {
                "\tIs the server running on that host and accepting TCP/IP connections?"
            };
            return (Failure::Connect, format!("{}\n{hint}", strerror(io)));
        }
        // A TLS alert after the handshake (TLS 1.3: the server refusing the
        // client certificate): libpq's SSL_read reports it as the handshake would.
        if io
            .get_ref()
            .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some())
        {
            return (Failure::Other, tls::rustls_message(io));
        }
        if io.kind() == std::io::ErrorKind::UnexpectedEof {
            return (
                Failure::Other,
                "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.".into(),
            );
        }
        return (Failure::Other, strerror(io));
    }
    (Failure::Other, text)
}

/// libpq's attempt sequence for one address.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Plaintext (disable, Unix sockets, prefer's retry).
    Plain,
    /// `allow`'s first, plaintext attempt (TLS follows the server's error).
    AllowPlain,
    /// TLS if the server offers it, no retry (allow's second attempt).
    AllowTls,
    /// `prefer`'s first attempt: TLS if offered; a failure over TLS is retried plain.
    PreferTls,
    /// require / verify-*: TLS or nothing.
    Tls,
}

/// A connection made by [`connect_observed`], with what its successful attempt saw.
#[cfg_attr(not(feature = "audit"), allow(dead_code))]
pub(crate) struct Connected {
    pub(crate) client: Client,
    pub(crate) connection: PgConnection,
    /// The TLS step of the attempt that connected (`established` false: no TLS).
    pub(crate) tls: tls::State,
    /// Over a Unix-domain socket.
    pub(crate) unix: bool,
    /// The `host` of the slot that connected (as given), and the port.
    pub(crate) host: Option<String>,
    /// The address connected to (TCP).
    pub(crate) addr: Option<std::net::IpAddr>,
    pub(crate) port: u16,
}

async fn connect_settings(s: &Settings) -> Result<(Client, PgConnection), Error> {
    connect_observed(s).await.map(|c| (c.client, c.connection))
}

/// libpq's connection sequence (`PQconnectPoll` over hosts, addresses and the
/// sslmode's attempts); the connection that succeeded, with its observations.
pub(crate) async fn connect_observed(s: &Settings) -> Result<Connected, Error> {
    let base = s.base_config().map_err(Error::option)?;
    let make = Options::tls_of(s);
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut last: Option<tokio_postgres::Error> = None;
    let fail = |lines: Vec<(String, String)>, source| Err(Error { lines, source });
    // libpq's ssl_cert_requested / ssl_cert_sent: set by any attempt of the
    // connection (hosts, addresses, prefer's and allow's retries), never reset.
    let mut cert_requested = false;
    let mut cert_sent = false;
    'hosts: for slot in &s.hosts {
        let mut params = s.tls.clone();
        params.host = slot.host.clone().filter(|h| !h.is_empty());
        params.hostaddr = slot.hostaddr.clone().filter(|h| !h.is_empty());
        let plan =
            policy::plan(&params, &s.env, s.version).map_err(|r| Error::option(r.message))?;
        // (address to connect, prefix, unix)
        let mut addrs: Vec<(Option<std::net::IpAddr>, String, bool)> = Vec::new();
        let port = &slot.port;
        let shown_port = if slot.port_text.is_empty() {
            settings::DEFAULT_PORT.to_string()
        } else {
            slot.port_text.clone()
        };
        match &slot.target {
            Target::Address(a) => addrs.push((
                Some(*a),
                format!(
                    "connection to server at \"{}\", port {shown_port} failed: ",
                    slot.hostaddr.as_deref().unwrap_or_default()
                ),
                false,
            )),
            Target::Name(h) => match tokio::net::lookup_host((h.as_str(), *port)).await {
                Ok(it) => {
                    let mut seen = Vec::new();
                    for sa in it {
                        if seen.contains(&sa.ip()) {
                            continue;
                        }
                        seen.push(sa.ip());
                        let ip = sa.ip().to_string();
                        let prefix = if &ip == h {
                            format!("connection to server at \"{h}\", port {shown_port} failed: ")
                        } else {
                            format!(
                                "connection to server at \"{h}\" ({ip}), port {shown_port} failed: "
                            )
                        };
                        addrs.push((Some(sa.ip()), prefix, false));
                    }
                }
                Err(e) => {
                    let t = e.to_string();
                    let reason = t
                        .strip_prefix("failed to lookup address information: ")
                        .unwrap_or(&t);
                    lines.push((
                        String::new(),
                        format!("could not translate host name \"{h}\" to address: {reason}"),
                    ));
                    continue 'hosts;
                }
            },
            Target::Unix(dir) => addrs.push((
                None,
                format!(
                    "connection to server on socket \"{}/.s.PGSQL.{port}\" failed: ",
                    dir.display()
                ),
                true,
            )),
        }
        for (ip, prefix, unix) in addrs {
            let mut step = if unix {
                Step::Plain
            } else {
                match plan.mode {
                    SslMode::Disable => Step::Plain,
                    SslMode::Allow => Step::AllowPlain,
                    SslMode::Prefer => Step::PreferTls,
                    SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Step::Tls,
                }
            };
            loop {
                let observed = tls::Observed::default();
                let mut c = base.clone();
                match (&slot.target, ip) {
                    (Target::Unix(dir), _) => {
                        c.host_path(dir);
                    }
                    (_, Some(ip)) => {
                        // tokio-postgres needs a host name for TLS: the hostaddr itself
                        // when there is no host (the verifier knows there is none).
                        c.host(params.host.clone().unwrap_or_else(|| ip.to_string()));
                        c.hostaddr(ip);
                    }
                    (_, None) => {}
                }
                c.port(*port);
                if let Some((p, _)) = &slot.password {
                    c.password(p.clone());
                }
                c.ssl_mode(match step {
                    Step::Plain | Step::AllowPlain => TpSslMode::Disable,
                    Step::AllowTls | Step::PreferTls => TpSslMode::Prefer,
                    Step::Tls => TpSslMode::Require,
                });
                let connector = make.for_attempt(
                    params.host.clone(),
                    params.hostaddr.clone(),
                    observed.clone(),
                );
                let cb_required =
                    s.channel_binding == tokio_postgres::config::ChannelBinding::Require;
                let result = if cb_required && matches!(step, Step::Plain | Step::AllowPlain) {
                    // Refused whatever the server does; which message depends on the
                    // authentication it asks for, read through a watched socket.
                    let t = match (&slot.target, ip) {
                        (Target::Unix(dir), _) => {
                            WatchTarget::Unix(dir.join(format!(".s.PGSQL.{port}")))
                        }
                        (_, Some(ip)) => WatchTarget::Tcp(std::net::SocketAddr::new(ip, *port)),
                        (_, None) => WatchTarget::Unix(std::path::PathBuf::new()),
                    };
                    match watched_plain(&c, t, s.connect_timeout, connector, observed.clone()).await
                    {
                        Ok(Some(e)) => Err(e),
                        Ok(None) => {
                            // Not reached: tokio-postgres refuses without channel binding.
                            lines.push((
                                prefix.clone(),
                                channel_binding_message(false, Some(0)).into(),
                            ));
                            return fail(lines, None);
                        }
                        Err(io) => {
                            let hint = if unix {
                                "\tIs the server running locally and accepting connections on that socket?"
                            } else {
                                "\tIs the server running on that host and accepting TCP/IP connections?"
                            };
                            lines.push((prefix.clone(), format!("{}\n{hint}", strerror(&io))));
                            break;
                        }
                    }
                } else {
                    c.connect(connector).await
                };
                let st = observed.get();
                cert_requested |= st.cert_requested;
                cert_sent |= st.cert_sent;
                match result {
                    Ok((client, connection)) => {
                        let check = pgtls_verify::client_cert::check_after_authentication(
                            plan.certmode,
                            cert_requested,
                            cert_sent,
                        );
                        if let Err(m) = check {
                            lines.push((prefix.clone(), m.to_string()));
                            return fail(lines, None);
                        }
                        return Ok(Connected {
                            client,
                            connection,
                            tls: st,
                            unix,
                            host: slot.host.clone().filter(|h| !h.is_empty()),
                            addr: ip,
                            port: *port,
                        });
                    }
                    Err(e) => {
                        let from_file = slot
                            .password
                            .as_ref()
                            .filter(|(_, f)| *f)
                            .and(s.passfile.as_deref());
                        let (kind, msg) = classify(&e, &st, unix, from_file, cb_required);
                        lines.push((prefix.clone(), msg));
                        last = Some(e);
                        match kind {
                            Failure::Server { code } if code == "57P03" => continue 'hosts,
                            Failure::Server { .. } if step == Step::AllowPlain => {
                                step = Step::AllowTls;
                            }
                            Failure::Server { .. } if step == Step::PreferTls && st.established => {
                                step = Step::Plain;
                            }
                            Failure::Tls if step == Step::PreferTls => step = Step::Plain,
                            Failure::Connect => break,
                            Failure::SessionAttrs => continue 'hosts,
                            Failure::Server { .. }
                            | Failure::Tls
                            | Failure::NoSsl
                            | Failure::Other => {
                                return fail(lines, last);
                            }
                        }
                    }
                }
            }
        }
    }
    fail(lines, last)
}

/// Where a watched plaintext attempt connects.
enum WatchTarget {
    Tcp(std::net::SocketAddr),
    Unix(std::path::PathBuf),
}

/// A plaintext attempt under `channel_binding=require` over a socket whose
/// first authentication request is recorded: `Ok(Some)` is tokio-postgres's
/// refusal (it always refuses: no TLS, no channel binding), `Ok(None)` a
/// session it accepted all the same (dropped), `Err` the socket's failure.
async fn watched_plain(
    c: &tokio_postgres::Config,
    target: WatchTarget,
    timeout: Option<std::time::Duration>,
    connector: MakeLibpqTls,
    observed: tls::Observed,
) -> Result<Option<tokio_postgres::Error>, std::io::Error> {
    use tokio_postgres::tls::MakeTlsConnect;
    async fn with_timeout<T>(
        t: Option<std::time::Duration>,
        f: impl Future<Output = std::io::Result<T>>,
    ) -> std::io::Result<T> {
        match t {
            Some(t) => tokio::time::timeout(t, f)
                .await
                .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())),
            None => f.await,
        }
    }
    let mut connector = connector;
    macro_rules! run {
        ($stream:expr, $ty:ty) => {{
            let tls = MakeTlsConnect::<tls::Watched<$ty>>::make_tls_connect(&mut connector, "")
                .map_err(std::io::Error::other)?;
            let watched = tls::Watched($stream, tls::Head::new(observed.clone()));
            match c.connect_raw(watched, tls).await {
                Err(e) => Ok(Some(e)),
                Ok(_) => Ok(None),
            }
        }};
    }
    match target {
        WatchTarget::Tcp(addr) => {
            let s = with_timeout(timeout, tokio::net::TcpStream::connect(addr)).await?;
            s.set_nodelay(true)?;
            run!(s, tokio::net::TcpStream)
        }
        WatchTarget::Unix(path) => {
            let s = with_timeout(timeout, tokio::net::UnixStream::connect(path)).await?;
            run!(s, tokio::net::UnixStream)
        }
    }
}

#[cfg(test)]
mod tests {
    /// The contract: the connection future can be spawned anywhere.
    #[test]
    fn connection_is_send_and_static() {
        fn spawnable<T: Future + Send + 'static>() {}
        spawnable::<super::PgConnection>();
        fn send<T: Send>(_: &T) {}
        send(&super::connect("host=x"));
    }
}
