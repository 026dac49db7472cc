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
//! - `require_auth` (16+; 18's SASL mechanisms): every authentication request
//!   of the server is checked before tokio-postgres reads it, so a request
//!   that is not allowed is never answered (no password leaves the client).
//! - Multi-host strings with `target_session_attrs` `any`, `read-write`,
//!   `read-only`, `primary`, `standby`, `prefer-standby` (14+; libpq's second
//!   pass), decided as libpq decides (what the server reported at startup,
//!   else `SHOW transaction_read_only` / `pg_is_in_recovery()`), and
//!   `load_balance_hosts=random` (16+; libpq's generator and shuffle, seeded
//!   per connection; [`Options::random_seed`] for a reproducible order).
//! - `sslnegotiation=direct` (17+) with ALPN `postgresql` (offered on every
//!   TLS connection under 17+ rules, as libpq does), never a fallback.
//! - The password file, service files, the `PG*` variables.
//!
//! For your own `tokio_postgres::Config` or a pool, [`config`] gives the
//! configuration and a [`MakeLibpqTls`] from one conninfo string (libpq's fallback
//! rules then are tokio-postgres's: see [`MakeLibpqTls`]).
//!
//! # Keywords
//! Every keyword libpq (of the version chosen with [`Options::pg_version`], 18 by
//! default) accepts is honoured or refused with an error starting with
//! `pgtls-postgres: ` (never dropped): refused are `client_encoding` other than
//! UTF8 (tokio-postgres always uses UTF8), `gssencmode=require` (no GSSAPI),
//! `requirepeer`, `replication`, `require_auth` with a Unix-domain socket host
//! (tokio-postgres gives no hook on that socket), and the 18-only keywords
//! (`min_protocol_version`, `max_protocol_version`, `oauth_*`, `scram_*_key`)
//! but `sslkeylogfile`, which is honoured (NSS key log lines appended, mode
//! 0600, as libpq 18 writes them; a file that cannot be written is skipped
//! without libpq's warning on stderr). [`config`] also refuses what only
//! [`connect`] can do: `target_session_attrs` `primary`, `standby`,
//! `prefer-standby`, and `require_auth` or `sslcertmode=require` with an
//! sslmode that allows plaintext. `sslsni` and `ssl_min/max_protocol_version`
//! follow libpq (SNI is the `host`, not for digits-and-dots or `:` hosts, on
//! when `sslsni` starts with `1`; a host rustls takes as no DNS name, such as
//! `0x7f.0.0.1`, is refused unless `sslsni=0`; an `ssl_max_protocol_version`
//! below `TLSv1.2` is refused: rustls speaks TLS 1.2 and 1.3). Accepted
//! without effect, as with a libpq that has no Kerberos credentials and an
//! OpenSSL without compression: `gssencmode=prefer`, `krbsrvname`, `gsslib`,
//! `gssdelegation`, `sslcompression`.
//!
//! # Cancelling
//! `Client::cancel_token` works as with tokio-postgres, with one exception: a
//! plaintext session opened under `require_auth` (sslmode `disable`, `allow`,
//! or `prefer` to a server without TLS) passes its socket through the TLS
//! connector with tokio-postgres's direct negotiation, so its cancel token
//! asks for direct TLS and a cancel request to that server fails.
#![forbid(unsafe_code)]

#[cfg(feature = "audit")]
pub mod audit;
mod auth;
mod balance;
mod conninfo;
mod key;
mod settings;
mod tls;

use std::fmt;

use pgtls_verify::{Env, PgVersion, SslMode, policy};
use tokio_postgres::config::SslMode as TpSslMode;
use tokio_postgres::{Client, Connection, Socket};

pub use tls::{LibpqTlsConnect, MakeLibpqTls, TlsError, TlsStream};

use settings::{SessionAttrs, Settings, Target};

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
    random_seed: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

impl Options {
    /// The newest libpq's rules (18, [`PgVersion::NEWEST`]), the process
    /// environment.
    pub fn new() -> Self {
        Self {
            version: PgVersion::NEWEST,
            env: None,
            random_seed: None,
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

    /// Seeds `load_balance_hosts=random`'s shuffle (libpq's generator,
    /// `pg_prng_seed`), so that the order hosts and addresses are tried in is
    /// reproducible. Without it, as in libpq, every connection draws a seed of
    /// strong random bits.
    pub fn random_seed(mut self, seed: u64) -> Self {
        self.random_seed = Some(seed);
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
        let mut s =
            Settings::resolve(conninfo, self.environment(), self.version).map_err(Error::option)?;
        s.random_seed = self.random_seed;
        Ok(s)
    }

    fn tls_of(s: &Settings) -> Result<MakeLibpqTls, Error> {
        let plan = policy::plan(&s.tls, &s.env, s.version).map_err(|r| Error::option(r.message))?;
        let rules = auth::AuthRules {
            require_auth: s.require_auth.clone(),
            certmode: plan.certmode,
            channel_binding_disabled: s.channel_binding
                == tokio_postgres::config::ChannelBinding::Disable,
            channel_binding_required: s.channel_binding
                == tokio_postgres::config::ChannelBinding::Require,
        };
        Ok(MakeLibpqTls::from_settings(tls::TlsSettings {
            params: s.tls.clone(),
            env: s.env.clone(),
            version: s.version,
            versions: s.tls_versions.clone(),
            sslpassword: s.value("sslpassword").map(str::to_string),
            sslkeylogfile: s.value("sslkeylogfile").map(std::path::PathBuf::from),
            rules: std::sync::Arc::new(rules),
            direct: s.direct,
        }))
    }

    /// The `MakeTlsConnect` for this conninfo string (see [`MakeLibpqTls`]).
    ///
    /// # Errors
    /// The string's refusal.
    pub fn make_tls(&self, conninfo: &str) -> Result<MakeLibpqTls, Error> {
        Self::tls_of(&self.settings(conninfo)?)
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
        let attrs = s.target_session_attrs.tokio_postgres().ok_or_else(|| {
            Error::option(format!(
                "pgtls-postgres: target_session_attrs={} needs pgtls_postgres::connect (tokio-postgres's Config knows any, read-write and read-only)",
                s.value("target_session_attrs").unwrap_or_default()
            ))
        })?;
        c.target_session_attrs(attrs);
        if s.load_balance {
            c.load_balance_hosts(tokio_postgres::config::LoadBalanceHosts::Random);
        }
        let plan = policy::plan(&s.tls, &s.env, s.version).map_err(|r| Error::option(r.message))?;
        let tls_only = matches!(
            plan.mode,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        );
        // The checks of the server's authentication requests live in the TLS
        // stream: a plaintext session of tokio-postgres's has none.
        if !tls_only {
            let what = if s.require_auth.is_some() {
                Some("require_auth")
            } else if plan.certmode == pgtls_verify::client_cert::CertMode::Require {
                Some("sslcertmode=require")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(Error::option(format!(
                    "pgtls-postgres: {what} with sslmode={} needs pgtls_postgres::connect (a plaintext session of tokio-postgres's Config is not checked); use sslmode=require or stronger",
                    plan.mode.as_str()
                )));
            }
        }
        c.ssl_mode(match plan.mode {
            SslMode::Disable | SslMode::Allow => TpSslMode::Disable,
            SslMode::Prefer => TpSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => TpSslMode::Require,
        });
        if s.direct {
            c.ssl_negotiation(tokio_postgres::config::SslNegotiation::Direct);
        }
        Ok((c, Self::tls_of(&s)?))
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
/// string, for your own pool or `Config` (libpq 18's rules, the process
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

/// Connects as psql would with this conninfo string (libpq 18's rules, the
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
    if let Some(m) = &st.auth_refusal {
        return (Failure::Other, m.clone());
    }
    if let Some(m) = &st.hard_failure {
        return (Failure::Other, m.clone());
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
    let make = Options::tls_of(s)?;
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut last: Option<tokio_postgres::Error> = None;
    let fail = |lines: Vec<(String, String)>, source| Err(Error { lines, source });
    // libpq's ssl_cert_requested / ssl_cert_sent: set by any attempt of the
    // connection (hosts, addresses, prefer's and allow's retries), never reset.
    let mut cert_requested = false;
    let mut cert_sent = false;
    // load_balance_hosts=random: the host list shuffled once (connectOptions2),
    // each host's addresses when they are looked up.
    let mut rng = s.load_balance.then(|| balance::Prng::new(s.random_seed));
    let mut order: Vec<&settings::HostSlot> = s.hosts.iter().collect();
    if let Some(r) = rng.as_mut() {
        r.shuffle(&mut order);
    }
    // prefer-standby: a second pass over the hosts that takes any server.
    let passes: &[SessionAttrs] = match s.target_session_attrs {
        SessionAttrs::PreferStandby => &[SessionAttrs::PreferStandby, SessionAttrs::Any],
        ref one => std::slice::from_ref(one),
    };
    for &target in passes {
        'hosts: for slot in order.iter().copied() {
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
                                format!(
                                    "connection to server at \"{h}\", port {shown_port} failed: "
                                )
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
            if let Some(r) = rng.as_mut() {
                r.shuffle(&mut addrs);
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
                    // libpq's ssl_cert_requested/sent as they stand (sslcertmode's
                    // check at AuthenticationOk sees every attempt's).
                    observed.update(|o| {
                        o.cert_requested = cert_requested;
                        o.cert_sent = cert_sent;
                    });
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
                    let cb_required =
                        s.channel_binding == tokio_postgres::config::ChannelBinding::Require;
                    let plain = matches!(step, Step::Plain | Step::AllowPlain);
                    // Plaintext under require_auth: through the connector, unencrypted
                    // but watched (tokio-postgres's direct negotiation sends no
                    // SSLRequest and hands the socket to the connector).
                    let watched = plain && s.require_auth.is_some() && !cb_required;
                    c.ssl_mode(match step {
                        _ if watched => TpSslMode::Require,
                        Step::Plain | Step::AllowPlain => TpSslMode::Disable,
                        Step::AllowTls | Step::PreferTls => TpSslMode::Prefer,
                        Step::Tls => TpSslMode::Require,
                    });
                    if watched || (step == Step::Tls && s.direct) {
                        c.ssl_negotiation(tokio_postgres::config::SslNegotiation::Direct);
                    }
                    let connector = make.for_attempt(
                        params.host.clone(),
                        params.hostaddr.clone(),
                        observed.clone(),
                        watched,
                    );
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
                        match watched_plain(&c, t, s.connect_timeout, connector, observed.clone())
                            .await
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
                            let mut connection = connection;
                            match check_target(target, &client, &mut connection).await {
                                None => {
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
                                Some(m) => {
                                    lines.push((prefix.clone(), m));
                                    // sendTerminateConn, then the next host.
                                    drop(client);
                                    let _ = connection.await;
                                    continue 'hosts;
                                }
                            }
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
                                Failure::Server { .. }
                                    if step == Step::PreferTls && st.established =>
                                {
                                    step = Step::Plain;
                                }
                                Failure::Tls if step == Step::PreferTls => step = Step::Plain,
                                Failure::Connect => break,
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
    }
    fail(lines, last)
}

/// A server parameter as libpq keeps it (`pqSaveParameterStatus`): on, off, or
/// not reported.
fn reported_on(connection: &PgConnection, name: &str) -> Option<bool> {
    connection.parameter(name).map(|v| v == "on")
}

/// Runs one query while driving the connection (it is not spawned yet), as
/// libpq's `PQsendQueryContinue` in `CONNECTION_CHECK_TARGET`: the first
/// column of its one row, or `None` when it failed or gave another shape.
async fn ask(client: &Client, connection: &mut PgConnection, query: &str) -> Option<String> {
    use std::pin::Pin;
    use std::task::Poll;
    let mut q = std::pin::pin!(client.simple_query(query));
    let messages = std::future::poll_fn(|cx| {
        if Pin::new(&mut *connection).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        q.as_mut().poll(cx).map(Result::ok)
    })
    .await?;
    let mut rows = messages.iter().filter_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    });
    match (rows.next(), rows.next()) {
        (Some(row), None) => Some(row.get(0).unwrap_or_default().to_string()),
        _ => None,
    }
}

/// libpq's `CONNECTION_CHECK_TARGET`: `None` when the server suits
/// `target_session_attrs`, else libpq's message (the next host is tried).
/// What the server reported at startup decides (14+ report
/// `default_transaction_read_only` and `in_hot_standby`); otherwise the query
/// libpq sends.
async fn check_target(
    target: SessionAttrs,
    client: &Client,
    connection: &mut PgConnection,
) -> Option<String> {
    match target {
        SessionAttrs::Any => None,
        SessionAttrs::ReadWrite | SessionAttrs::ReadOnly => {
            let reported = (
                reported_on(connection, "default_transaction_read_only"),
                reported_on(connection, "in_hot_standby"),
            );
            let read_only = match reported {
                (Some(d), Some(h)) => d || h,
                _ => match ask(client, connection, "SHOW transaction_read_only").await {
                    Some(v) => v.starts_with("on"),
                    None => return Some("\"SHOW transaction_read_only\" failed".into()),
                },
            };
            match (target, read_only) {
                (SessionAttrs::ReadWrite, true) => Some("session is read-only".into()),
                (SessionAttrs::ReadOnly, false) => Some("session is not read-only".into()),
                _ => None,
            }
        }
        SessionAttrs::Primary | SessionAttrs::Standby | SessionAttrs::PreferStandby => {
            let standby = match reported_on(connection, "in_hot_standby") {
                Some(h) => h,
                // Before 9.0 there is no standby mode (and no pg_is_in_recovery).
                None if server_version_num(connection).is_some_and(|v| v < 90000) => false,
                None => {
                    match ask(client, connection, "SELECT pg_catalog.pg_is_in_recovery()").await {
                        Some(v) => v.starts_with('t'),
                        None => return Some("\"SELECT pg_is_in_recovery()\" failed".into()),
                    }
                }
            };
            match (target, standby) {
                (SessionAttrs::Primary, true) => Some("server is in hot standby mode".into()),
                (SessionAttrs::Standby | SessionAttrs::PreferStandby, false) => {
                    Some("server is not in hot standby mode".into())
                }
                _ => None,
            }
        }
    }
}

/// `server_version` as libpq's `sversion` (major * 10000 + minor for 10+,
/// major * 10000 + minor * 100 + patch before).
fn server_version_num(connection: &PgConnection) -> Option<u32> {
    let v = connection.parameter("server_version")?;
    let digits: Vec<u32> = v
        .split(|c: char| !c.is_ascii_digit())
        .take_while(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    match digits.as_slice() {
        [major, minor, patch, ..] if *major < 10 => Some(major * 10000 + minor * 100 + patch),
        [major, minor, ..] => Some(major * 10000 + minor),
        [major] => Some(major * 10000),
        [] => None,
    }
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
            let watched = tls::Watched(
                $stream,
                tls::Head::new(observed.clone(), Some(connector.rules()), false),
            );
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

    /// The default rules are the newest libpq's; an older one is a choice.
    #[test]
    fn default_rules_are_the_newest() {
        use super::{Options, PgVersion};
        let env = || pgtls_verify::Env::empty().with_var("HOME", "/nonexistent-home");
        let ci = "host=h user=u sslmode=require sslnegotiation=direct require_auth=scram-sha-256 load_balance_hosts=random";
        assert!(Options::new().env(env()).config(ci).is_ok());
        assert_eq!(
            Options::new()
                .env(env())
                .pg_version(PgVersion::V16)
                .config(ci)
                .unwrap_err()
                .to_string(),
            "invalid connection option \"sslnegotiation\""
        );
        assert_eq!(
            Options::new()
                .env(env())
                .pg_version(PgVersion::V15)
                .config("host=h user=u require_auth=md5")
                .unwrap_err()
                .to_string(),
            "invalid connection option \"require_auth\""
        );
    }
}
