//! A server certificate rotation, client by client: `pgtls rotation check` and
//! `pgtls rotation plan`.
//!
//! The server presents one chain before the switch and another after it. For each
//! client (a label and its connection settings, [`parse_clients`]) [`check`] says what
//! the client does with each chain: [`Outcome::Verified`] (TLS, the chain was checked),
//! [`Outcome::Unverified`] (TLS without a chain check) or [`Outcome::Fails`] with the
//! message. For a libpq client the verdict is exactly `pgtls verify server`'s
//! ([`crate::verify_server_handshake`] after libpq's service-file lookup,
//! [`Params::apply_service`]); for `allow`/`prefer` it is the TLS attempt's, with
//! [`Fallback::Plaintext`] where libpq would then (or first) use plaintext. Whether that
//! plaintext session gets in is the server's pg_hba.conf's to say: given the file
//! ([`PlaintextRules`]) the report adds its decision and what the client ends up with
//! ([`Connects`]).
//!
//! [`plan`] turns the same inputs into the staged order of a rotation: (1) add the new
//! CA to the root file of every client that verifies, (2) switch the server, (3) later,
//! remove the old CA; which client needs which change before the switch (each proposal is
//! checked by evaluating the client again with the edited root file), which clients
//! connect without verification and would not notice an impostor, and, for client
//! certificates, the server's `ssl_ca_file` and CRL bundle during the overlap of two
//! client CAs ([`ClientCaInput`]).
//!
//! # Other drivers
//!
//! A client line may say `driver=pgjdbc`, `node-postgres`, `pgx` or `sqlx`: its settings
//! are then read with that driver's documented `sslmode` defaults and semantics
//! ([`Driver`]), and the report marks the row as modelled from that driver's
//! documentation. The chain and host-name checks stay libpq's (OpenSSL's rules), and so
//! do the messages: a modelled row says whether the driver connects, not the driver's
//! own error text.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pgtls_hba::{HbaFile, HbaVerdict, Request};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;

use crate::cert::{Cert, Crl};
use crate::params::{Env, Params, conninfo_pairs};
use crate::policy::{self, Attempt, RootPlan};
use crate::{Anchors, PgVersion, ServerHandshake, SslMode, Verdict};

/// The version of the JSON shapes of [`CheckReport`] and [`PlanReport`].
pub const SCHEMA_VERSION: u32 = 1;

// ------------------------------------------------------------------ the clients file

/// One client of the clients file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Client {
    /// The label (first field).
    pub label: String,
    /// The connection settings: a conninfo string or a `postgresql://` URI.
    pub conninfo: String,
    /// Whose semantics the settings have (third field `driver=NAME`; default libpq).
    pub driver: Driver,
    /// The line in the clients file (1-based).
    pub line: usize,
}

impl Client {
    /// A libpq client (for callers that build the list themselves).
    pub fn new(label: impl Into<String>, conninfo: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            conninfo: conninfo.into(),
            driver: Driver::Libpq,
            line: 0,
        }
    }

    /// The same client with another driver's semantics (builder style).
    #[must_use]
    pub fn with_driver(mut self, driver: Driver) -> Self {
        self.driver = driver;
        self
    }
}

/// A line of the clients file that is not `LABEL<TAB>CONNINFO[<TAB>driver=NAME]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
#[non_exhaustive]
pub struct ClientsFileError {
    /// The file, as given.
    pub file: String,
    /// The line (1-based).
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Reads a clients file: one client per line, `LABEL<TAB>CONNINFO`, optionally followed
/// by `<TAB>driver=NAME` ([`Driver`]). Lines whose first non-blank character is `#`, and
/// blank lines, are skipped. The conninfo is checked as its driver reads it (for libpq:
/// `conninfo_parse`, unknown keywords refused).
///
/// # Errors
/// The first bad line, named `file:line`: no tab, an empty or repeated label, a third
/// field that is not `driver=NAME`, an unknown driver, a conninfo its driver refuses, a
/// `service=` for a driver that has no service files, text that is not UTF-8.
pub fn parse_clients(file: &str, text: &[u8]) -> Result<Vec<Client>, ClientsFileError> {
    let mut out: Vec<Client> = Vec::new();
    for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
        let line = i + 1;
        let bad = |reason: String| ClientsFileError {
            file: file.to_owned(),
            line,
            reason,
        };
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(s) = std::str::from_utf8(raw) else {
            return Err(bad("not UTF-8".into()));
        };
        let trimmed = s.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut fields = s.split('\t');
        let label = fields.next().unwrap_or_default();
        let Some(conninfo) = fields.next() else {
            return Err(bad(
                "expected LABEL<TAB>CONNINFO (no tab on the line)".into()
            ));
        };
        if label.trim().is_empty() {
            return Err(bad("empty label".into()));
        }
        let driver = match fields.next() {
            None => Driver::Libpq,
            Some(f) => {
                let Some(name) = f.trim().strip_prefix("driver=") else {
                    return Err(bad(format!(
                        "third field {f:?}: expected driver=NAME (one of {})",
                        Driver::NAMES
                    )));
                };
                name.parse()
                    .map_err(|e: UnknownDriver| bad(e.to_string()))?
            }
        };
        if let Some(extra) = fields.next() {
            return Err(bad(format!("unexpected fourth field {extra:?}")));
        }
        if let Some(prev) = out.iter().find(|c| c.label == label) {
            return Err(bad(format!(
                "label {label:?} is already used on line {}",
                prev.line
            )));
        }
        let pairs = conninfo_pairs(conninfo, driver == Driver::Libpq)
            .map_err(|e| bad(format!("{driver}: {e}")))?;
        if driver == Driver::Libpq {
            Params::parse_conninfo(conninfo).map_err(|e| bad(format!("libpq: {e}")))?;
        }
        if !driver.has_service_files() && pairs.iter().any(|(k, _)| k == "service") {
            return Err(bad(format!(
                "service=: {driver} has no connection service file (libpq and pgx have)"
            )));
        }
        out.push(Client {
            label: label.to_owned(),
            conninfo: conninfo.to_owned(),
            driver,
            line,
        });
    }
    Ok(out)
}

// ------------------------------------------------------------------ drivers

/// Whose `sslmode` semantics a client's settings have.
///
/// Everything but [`Driver::Libpq`] is modelled from the driver's documentation (and,
/// where the documentation is silent or wrong, its source, which the variant names); the
/// report marks those rows ([`Driver::modelled`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Driver {
    /// libpq itself (psql, psycopg, libpq-based drivers): the verdict of `pgtls verify
    /// server`.
    Libpq,
    /// pgjdbc (the PostgreSQL JDBC driver). Its documentation ("Using SSL", "Connecting to
    /// the Database", jdbc.postgresql.org): `ssl=true` alone means `verify-full` ("this is
    /// different than libpq which defaults to a non-validating SSL connection"); `sslmode`
    /// defaults to `prefer`; "require, allow and prefer all default to a non-validating SSL
    /// factory" (no chain check even with a root file); `verify-ca` checks the chain,
    /// `verify-full` the host name too; the root file defaults to
    /// `~/.postgresql/root.crt` (LibPQFactory); no `PG*` variables. `SslMode.of`
    /// (org/postgresql/jdbc/SslMode.java) matches the mode case-insensitively and gives
    /// `verify-full` for `ssl` without `sslmode`; `ConnectionFactoryImpl` retries `prefer`
    /// without TLS only after an authentication error, never after a failed handshake.
    Pgjdbc,
    /// node-postgres (`pg`, with pg-connection-string). Its README
    /// (packages/pg-connection-string): `sslmode=disable` turns TLS off, `no-verify` sets
    /// `rejectUnauthorized: false`, and `prefer`, `require`, `verify-ca`, `verify-full` all
    /// set `ssl` on with Node's default verification (chain and host name, as
    /// `verify-full`); `sslrootcert` is read into `ssl.ca`, otherwise Node's own CA list
    /// applies; no `sslmode` means no TLS (`ssl` defaults to false). With
    /// `uselibpqcompat=true` the modes take libpq's meaning (`prefer`/`require` without
    /// verification, `require` with `sslrootcert` as `verify-ca`). Never a plaintext retry.
    NodePostgres,
    /// pgx (Go, `pgconn.ParseConfig`). Its documentation: libpq's defaults (`prefer` when
    /// not set), `PGSSLMODE` and `PGSSLROOTCERT`, `prefer` and `allow` implemented as
    /// fallback configurations (TLS then plaintext, plaintext then TLS); `configTLS`
    /// (pgconn/config.go): `allow`/`prefer` never verify (`InsecureSkipVerify`),
    /// `require` verifies as `verify-ca` only when `sslrootcert` is given, `verify-ca` and
    /// `verify-full` use `sslrootcert` or else the system roots; no
    /// `~/.postgresql/root.crt` default; an `sslrootcert` that cannot be read fails every
    /// TLS mode.
    Pgx,
    /// SQLx (Rust, `PgConnectOptions`). Its documentation (`PgSslMode`): `prefer` is the
    /// default; `PGSSLMODE` and `PGSSLROOTCERT` are read. Its source
    /// (sqlx-postgres src/connection/tls.rs) departs from the documentation in two places,
    /// and the source is what runs: `allow` connects without TLS ("FIXME: Implement
    /// ALLOW"), and only `verify-ca`/`verify-full` check certificates (the documented
    /// "`require` with a root CA file verifies as `verify-ca`" does not happen); no
    /// plaintext retry after a failed handshake.
    Sqlx,
}

/// A driver name [`Driver::from_str`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown driver {0:?} (one of {names})", names = Driver::NAMES)]
pub struct UnknownDriver(pub String);

impl Driver {
    /// Every driver.
    pub const ALL: [Self; 5] = [
        Self::Libpq,
        Self::Pgjdbc,
        Self::NodePostgres,
        Self::Pgx,
        Self::Sqlx,
    ];

    /// The names, for messages.
    pub const NAMES: &'static str = "libpq, pgjdbc, node-postgres, pgx, sqlx";

    /// The name used in clients files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Libpq => "libpq",
            Self::Pgjdbc => "pgjdbc",
            Self::NodePostgres => "node-postgres",
            Self::Pgx => "pgx",
            Self::Sqlx => "sqlx",
        }
    }

    /// For every driver but libpq, where its model comes from (shown in reports).
    pub fn modelled(self) -> Option<&'static str> {
        Some(match self {
            Self::Libpq => return None,
            Self::Pgjdbc => {
                "modelled from pgjdbc's documentation (Using SSL; sslmode, ssl) and SslMode.of"
            }
            Self::NodePostgres => {
                "modelled from node-postgres's documentation (pg-connection-string README: sslmode, uselibpqcompat)"
            }
            Self::Pgx => "modelled from pgx's documentation (pgconn.ParseConfig) and configTLS",
            Self::Sqlx => {
                "modelled from SQLx's documentation (PgSslMode) and, where they differ, its source (connection/tls.rs)"
            }
        })
    }

    /// Whether the driver reads connection service files (`service=`).
    fn has_service_files(self) -> bool {
        matches!(self, Self::Libpq | Self::Pgx)
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Driver {
    type Err = UnknownDriver;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDriver(s.to_owned()))
    }
}

/// What a driver checks in a TLS attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Checks {
    /// Nothing: any certificate is accepted.
    Nothing,
    /// The chain (verify-ca).
    Chain,
    /// The chain and the host name (verify-full).
    ChainAndHost,
}

/// Where a modelled driver's trust anchors come from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Roots {
    /// A root file (its absence is the driver's error).
    File(PathBuf),
    /// The platform's store (Node's CA list, Go's and SQLx's system roots), modelled as
    /// OpenSSL's default store (`SSL_CERT_FILE`, `SSL_CERT_DIR`).
    System,
}

/// A modelled driver's connection: what it tries, what it checks, against what.
#[derive(Clone, Debug)]
struct Model {
    /// The driver's effective sslmode, as it names it.
    mode: String,
    attempts: Vec<Attempt>,
    checks: Checks,
    roots: Roots,
    /// After a failed TLS attempt, the driver tries plaintext.
    retries_plaintext: bool,
    /// Settings the driver refuses before connecting (its message, pgtls's wording).
    refusal: Option<String>,
}

fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A driver's reading of the settings (every driver but libpq).
fn model(driver: Driver, pairs: &[(String, String)], env: &Env, version: PgVersion) -> Model {
    use Attempt::{Plain, Tls};
    let env_var = |name: &str| env.var(name).filter(|v| !v.is_empty());
    let rootcert = |read_env: bool| {
        pair(pairs, "sslrootcert")
            .filter(|v| !v.is_empty())
            .or_else(|| {
                if read_env {
                    env_var("PGSSLROOTCERT")
                } else {
                    None
                }
            })
            .map(PathBuf::from)
    };
    let mut m = Model {
        mode: String::new(),
        attempts: vec![Tls],
        checks: Checks::Nothing,
        roots: Roots::System,
        retries_plaintext: false,
        refusal: None,
    };
    let file_or_system = |p: Option<PathBuf>| p.map_or(Roots::System, Roots::File);
    match driver {
        Driver::Libpq => {}
        Driver::Pgjdbc => {
            // SslMode.of: sslmode (any case), else `ssl` (true or empty) -> verify-full,
            // else prefer. No PG* variables.
            let ssl = pair(pairs, "ssl").is_some_and(|v| v.is_empty() || v == "true");
            let mode = match pair(pairs, "sslmode") {
                Some(v) => v.to_ascii_lowercase(),
                None if ssl => "verify-full".into(),
                None => "prefer".into(),
            };
            let home_root = policy::home_directory(env, version)
                .map(|h| h.join(".postgresql").join("root.crt"));
            let root = rootcert(false).or(home_root);
            m.roots = Roots::File(root.unwrap_or_else(|| PathBuf::from(".postgresql/root.crt")));
            match mode.as_str() {
                "disable" => m.attempts = vec![Plain],
                "allow" => {
                    m.attempts = vec![Plain, Tls];
                    m.retries_plaintext = true;
                }
                // Retried without TLS only after an authentication error, and nothing is
                // verified: no certificate makes the TLS attempt fail.
                "prefer" => m.attempts = vec![Tls, Plain],
                "require" => {}
                "verify-ca" => m.checks = Checks::Chain,
                "verify-full" => m.checks = Checks::ChainAndHost,
                other => m.refusal = Some(format!("Invalid sslmode value: {other}")),
            }
            m.mode = mode;
        }
        Driver::NodePostgres => {
            let compat = pair(pairs, "uselibpqcompat") == Some("true");
            let given = pair(pairs, "sslmode").or_else(|| env_var("PGSSLMODE"));
            let ssl = pair(pairs, "ssl");
            m.roots = file_or_system(rootcert(false));
            let mode = match (given, ssl) {
                (Some(v), _) => v.to_owned(),
                (None, Some("true" | "1")) => "ssl=true".into(),
                (None, _) => "(none)".into(),
            };
            match (mode.as_str(), compat) {
                ("disable" | "(none)", _) => m.attempts = vec![Plain],
                ("no-verify", _) | ("prefer", true) => {}
                ("require", true) => {
                    if matches!(m.roots, Roots::File(_)) {
                        m.checks = Checks::Chain;
                    }
                }
                ("verify-ca", true) => m.checks = Checks::Chain,
                // Any other sslmode sets `ssl` to an object: Node verifies chain and host.
                _ => m.checks = Checks::ChainAndHost,
            }
            m.mode = mode;
        }
        Driver::Pgx => {
            let mode = pair(pairs, "sslmode")
                .or_else(|| env_var("PGSSLMODE"))
                .unwrap_or("prefer")
                .to_owned();
            let root = rootcert(true);
            m.roots = file_or_system(root.clone());
            match mode.as_str() {
                "disable" => m.attempts = vec![Plain],
                "allow" => {
                    m.attempts = vec![Plain, Tls];
                    m.retries_plaintext = true;
                }
                "prefer" => {
                    m.attempts = vec![Tls, Plain];
                    m.retries_plaintext = true;
                }
                "require" => {
                    if root.is_some() {
                        m.checks = Checks::Chain;
                    }
                }
                "verify-ca" => m.checks = Checks::Chain,
                "verify-full" => m.checks = Checks::ChainAndHost,
                _ => m.refusal = Some("sslmode is invalid".into()),
            }
            // configTLS reads sslrootcert for every TLS mode.
            if let Some(r) = root.as_ref().filter(|_| mode != "disable")
                && let Err(e) = std::fs::read(r)
            {
                m.refusal = Some(format!(
                    "failed to configure TLS (unable to read CA file: open {}: {})",
                    r.display(),
                    io_text(&e)
                ));
            }
            m.mode = mode;
        }
        Driver::Sqlx => {
            let mode = pair(pairs, "sslmode")
                .or_else(|| env_var("PGSSLMODE"))
                .unwrap_or("prefer")
                .to_ascii_lowercase();
            m.roots = file_or_system(rootcert(true));
            match mode.as_str() {
                "disable" | "allow" => m.attempts = vec![Plain],
                "prefer" | "require" => {}
                "verify-ca" => m.checks = Checks::Chain,
                "verify-full" => m.checks = Checks::ChainAndHost,
                other => m.refusal = Some(format!("unknown value {other:?} for `ssl_mode`")),
            }
            m.mode = mode;
        }
    }
    m
}

/// The OS error text without Rust's ` (os error N)`.
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.split(" (os error")
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

// ------------------------------------------------------------------ evaluating one client

/// What a client does with the server presenting one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Outcome {
    /// The TLS attempt fails (or there is none: `sslmode=disable`, a Unix socket).
    Fails,
    /// TLS completes without a chain check.
    Unverified,
    /// TLS completes and the chain was checked.
    Verified,
}

impl Outcome {
    /// `verified`, `unverified` or `fails`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fails => "fails",
            Self::Unverified => "unverified",
            Self::Verified => "verified",
        }
    }
}

/// What the client does after (or, for `allow`, before) the TLS attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Fallback {
    /// A plaintext session: retried after the failed TLS attempt (`prefer`), tried first
    /// (`allow`), or the only one (`disable`, a Unix-domain socket).
    Plaintext,
}

/// The server's pg_hba.conf decision for the plaintext session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PlaintextVerdict {
    /// A line admits it to authentication (a method other than `reject`).
    Admitted,
    /// A `reject` line or no line: the server refuses it.
    Refused,
    /// pgtls cannot decide as the server would (see pgtls-hba).
    Undecided,
}

/// The pg_hba.conf decision for a client's plaintext session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct PlaintextReport {
    /// Admitted, refused or undecided.
    pub verdict: PlaintextVerdict,
    /// The pg_hba.conf line that matched.
    pub line: Option<u32>,
    /// For a refusal: the server's FATAL text (psql shows it after `FATAL:  `).
    pub message: Option<String>,
}

/// What the client ends up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Connects {
    /// A TLS session.
    Tls,
    /// A plaintext session.
    Plaintext,
    /// No session.
    No,
    /// It depends on the server's pg_hba.conf, which was not given.
    Unknown,
}

/// One client with one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SideReport {
    /// `verified`, `unverified` or `fails`.
    pub outcome: Outcome,
    /// For `fails`: the message (libpq's, as psql prints it after `connection to server
    /// at ... failed: `); `null` otherwise.
    pub message: Option<String>,
    /// `plaintext` where the client then (or first) uses plaintext; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// For a chain failure: the reason OpenSSL gives and libpq hides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With pg_hba.conf given and a plaintext session in play: the server's decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<PlaintextReport>,
    /// What the client ends up with.
    pub connects: Connects,
    /// The host name was checked (verify-full and its equivalents).
    pub host_checked: bool,
}

impl SideReport {
    /// Whether the client gets a session: from [`SideReport::connects`], or when that is
    /// unknown (no pg_hba.conf given), from the TLS attempt alone.
    pub fn gets_in(&self) -> bool {
        match self.connects {
            Connects::Tls | Connects::Plaintext => true,
            Connects::No => false,
            Connects::Unknown => self.outcome != Outcome::Fails,
        }
    }

    /// verified TLS 3, unverified TLS 2, plaintext 1, nothing 0.
    fn strength(&self) -> u8 {
        if !self.gets_in() {
            return 0;
        }
        match (self.connects, self.outcome) {
            (Connects::Plaintext, _) => 1,
            (_, Outcome::Verified) => 3,
            (_, Outcome::Unverified) => 2,
            (_, Outcome::Fails) => 1,
        }
    }
}

/// How a client fares across the switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Change {
    /// As before.
    Unchanged,
    /// It got in before the switch and does not after it.
    Breaks,
    /// It did not get in before and does after.
    Recovers,
    /// It gets in either way, with less protection after (verified to unverified, TLS
    /// to plaintext).
    Weakens,
    /// It gets in either way, with more protection after.
    Strengthens,
}

impl Change {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Breaks => "breaks",
            Self::Recovers => "recovers",
            Self::Weakens => "weakens",
            Self::Strengthens => "strengthens",
        }
    }

    fn between(before: &SideReport, after: &SideReport) -> Self {
        match (before.gets_in(), after.gets_in()) {
            (true, false) => Self::Breaks,
            (false, true) => Self::Recovers,
            (false, false) => Self::Unchanged,
            (true, true) => match after.strength().cmp(&before.strength()) {
                std::cmp::Ordering::Less => Self::Weakens,
                std::cmp::Ordering::Greater => Self::Strengthens,
                std::cmp::Ordering::Equal => Self::Unchanged,
            },
        }
    }
}

/// One client across the switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ClientReport {
    /// The label.
    pub label: String,
    /// Its line in the clients file (0 when not read from one).
    pub line: usize,
    /// Whose semantics.
    pub driver: Driver,
    /// For drivers other than libpq: where the model comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modelled: Option<&'static str>,
    /// The effective sslmode (the driver's name for it); `null` when the settings are
    /// refused before one is known.
    pub sslmode: Option<String>,
    /// With the server presenting the chain before the switch.
    pub before: SideReport,
    /// With the server presenting the chain after the switch.
    pub after: SideReport,
    /// How it fares across the switch.
    pub change: Change,
}

/// Counts over the clients.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Summary {
    /// Clients.
    pub clients: usize,
    /// Clients that get in before the switch and not after.
    pub breaks: usize,
    /// Clients that get in with less protection after.
    pub weakens: usize,
    /// Clients that do not get in before and do after.
    pub recovers: usize,
    /// Clients that, after the switch, use TLS without checking the chain, or plaintext.
    pub unprotected_after: usize,
}

/// `pgtls rotation check`: every client across the switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct CheckReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The clients, in file order.
    pub clients: Vec<ClientReport>,
    /// Counts.
    pub summary: Summary,
}

impl CheckReport {
    /// Whether a client gets in before the switch and not after it.
    pub fn breaks(&self) -> bool {
        self.summary.breaks > 0
    }
}

/// The server's pg_hba.conf and the client's address as the server sees it: enough to
/// say whether a plaintext session gets in.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct PlaintextRules<'a> {
    /// The server's pg_hba.conf.
    pub hba: &'a HbaFile,
    /// The address the server sees the clients connect from.
    pub client_address: IpAddr,
}

impl<'a> PlaintextRules<'a> {
    /// The rules of `hba` for clients connecting from `client_address`.
    pub fn new(hba: &'a HbaFile, client_address: IpAddr) -> Self {
        Self {
            hba,
            client_address,
        }
    }
}

/// What [`check`] and [`plan`] evaluate the clients against.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Switch<'a> {
    /// The chain the server presents before the switch (DER, leaf first, as sent).
    pub before: &'a [CertificateDer<'a>],
    /// The chain the server presents after it.
    pub after: &'a [CertificateDer<'a>],
    /// Whose libpq rules.
    pub version: PgVersion,
    /// The clients' environment (`PGSSLMODE`, `HOME`, `PGSERVICEFILE`, ...).
    pub env: &'a Env,
    /// When.
    pub now: UnixTime,
    /// The server's pg_hba.conf, to decide plaintext sessions.
    pub plaintext: Option<PlaintextRules<'a>>,
    /// Whether the server asks for client certificates (it has `ssl_ca_file`).
    pub server: ServerHandshake,
}

impl<'a> Switch<'a> {
    /// A switch from `before` to `after` under PostgreSQL 15's rules, at `now`.
    pub fn new(
        before: &'a [CertificateDer<'a>],
        after: &'a [CertificateDer<'a>],
        env: &'a Env,
        now: UnixTime,
    ) -> Self {
        Self {
            before,
            after,
            version: PgVersion::V15,
            env,
            now,
            plaintext: None,
            server: ServerHandshake::new(),
        }
    }
}

/// A client resolved once: its libpq plan (or the driver's model on top of one), the
/// settings' refusal if any, and who it logs in as.
struct Resolved {
    /// The effective sslmode.
    mode: Option<String>,
    /// The plan the engine evaluates (`None`: refused before connecting).
    plan: Option<policy::Plan>,
    /// libpq clients: the parameters after the service lookup (evaluated through
    /// `verify_server_handshake`, exactly as `pgtls verify server` does).
    params: Option<Params>,
    /// The refusal before any connection (libpq's message, or the driver's).
    refusal: Option<String>,
    /// Plaintext retry after a failed TLS attempt (drivers; libpq's is in the verdict).
    driver_retries_plaintext: bool,
    user: String,
    dbname: String,
}

fn resolve(client: &Client, env: &Env, version: PgVersion) -> Resolved {
    let mut r = Resolved {
        mode: None,
        plan: None,
        params: None,
        refusal: None,
        driver_retries_plaintext: false,
        user: String::new(),
        dbname: String::new(),
    };
    let libpq_uri = client.driver == Driver::Libpq;
    let pairs = match conninfo_pairs(&client.conninfo, libpq_uri) {
        Ok(p) => p,
        Err(e) => {
            r.refusal = Some(e.to_string());
            return r;
        }
    };
    // The service file (libpq's lookup; pgx reads the same files) fills what the
    // settings leave unset.
    let mut params = match client.driver {
        Driver::Libpq => match Params::parse_conninfo(&client.conninfo) {
            Ok(p) => p,
            Err(e) => {
                r.refusal = Some(e.to_string());
                return r;
            }
        },
        _ => lenient_params(&pairs),
    };
    if client.driver.has_service_files()
        && let Err(e) = params.apply_service(env, version)
    {
        r.refusal = Some(e.to_string());
        return r;
    }
    let user = params
        .user
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| env.var("PGUSER").map(str::to_owned))
        .or_else(|| env.passwd_user.clone())
        .unwrap_or_default();
    r.dbname = params
        .dbname
        .clone()
        .filter(|d| !d.is_empty())
        .or_else(|| env.var("PGDATABASE").map(str::to_owned))
        .unwrap_or_else(|| user.clone());
    r.user = user;
    if client.driver == Driver::Libpq {
        match policy::plan(&params, env, version) {
            Ok(p) => {
                r.mode = Some(p.mode.to_string());
                r.plan = Some(p);
            }
            Err(e) => r.refusal = Some(e.message),
        }
        r.params = Some(params);
        return r;
    }
    // A driver: its model on top of libpq's plan for the same host (the engine's chain
    // and host-name checks are OpenSSL's and libpq's).
    let mut merged = pairs;
    for (k, v) in service_pairs(&params) {
        if pair(&merged, k).is_none() {
            merged.push((k.to_owned(), v));
        }
    }
    let m = model(client.driver, &merged, env, version);
    r.mode = Some(m.mode.clone());
    if let Some(refusal) = m.refusal {
        r.refusal = Some(refusal);
        return r;
    }
    let mut base = Params::default();
    base.host.clone_from(&params.host);
    base.hostaddr.clone_from(&params.hostaddr);
    base.sslmode = Some("require".into());
    let Ok(mut plan) = policy::plan(&base, &Env::empty(), version) else {
        r.refusal = Some("pgtls cannot model these settings".into());
        return r;
    };
    plan.mode = match m.checks {
        Checks::Nothing => SslMode::Require,
        Checks::Chain => SslMode::VerifyCa,
        Checks::ChainAndHost => SslMode::VerifyFull,
    };
    plan.root = match (m.checks, &m.roots) {
        (Checks::Nothing, _) => RootPlan::NoHomeDirectory,
        (_, Roots::File(p)) => RootPlan::File(p.clone()),
        (_, Roots::System) => RootPlan::System,
    };
    plan.crl = policy::CrlPlan::default();
    plan.client_cert = crate::client_cert::ClientCertPlan::default();
    if !plan.unix_socket {
        plan.attempts = m.attempts;
    }
    r.driver_retries_plaintext = m.retries_plaintext;
    r.plan = Some(plan);
    r
}

/// The libpq keywords a service file may have set, as pairs (for drivers).
fn service_pairs(p: &Params) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut push = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            out.push((k, v));
        }
    };
    push("sslmode", p.sslmode.clone());
    push(
        "sslrootcert",
        p.sslrootcert.as_ref().map(|x| x.display().to_string()),
    );
    push("host", p.host.clone());
    push("hostaddr", p.hostaddr.clone());
    out
}

/// The libpq keywords of a driver's pairs (unknown keys ignored, as drivers pass them on).
fn lenient_params(pairs: &[(String, String)]) -> Params {
    let mut p = Params::default();
    for (k, v) in pairs {
        p.set(k, v.clone());
    }
    p
}

/// Evaluates one client with one chain (`anchors`: the root file as it is, or edited).
fn side(
    client: &Client,
    r: &Resolved,
    chain: &[CertificateDer<'_>],
    sw: &Switch<'_>,
    anchors: Anchors<'_>,
) -> Result<(SideReport, Option<Verdict>), crate::Error> {
    let plaintext_decision = || -> Option<PlaintextReport> {
        let rules = sw.plaintext?;
        let d = pgtls_hba::evaluate(
            rules.hba,
            &Request::tcp(rules.client_address, &r.dbname, &r.user),
        );
        Some(PlaintextReport {
            verdict: match d.verdict() {
                HbaVerdict::Match => PlaintextVerdict::Admitted,
                HbaVerdict::Undecided => PlaintextVerdict::Undecided,
                _ => PlaintextVerdict::Refused,
            },
            line: d.line_number(),
            message: d.verdict_message().map(str::to_owned),
        })
    };
    let (Some(plan), None) = (&r.plan, &r.refusal) else {
        // Refused before any connection: no TLS, no plaintext either.
        let report = SideReport {
            outcome: Outcome::Fails,
            message: r.refusal.clone(),
            fallback: None,
            reason: None,
            plaintext: None,
            connects: Connects::No,
            host_checked: false,
        };
        return Ok((report, None));
    };
    let mut v = match (&r.params, anchors) {
        // libpq as it is configured: exactly `pgtls verify server`'s evaluation.
        (Some(params), Anchors::AsConfigured) => {
            crate::verify_server_handshake(params, sw.env, sw.version, chain, sw.server, sw.now)?
        }
        _ => crate::decide_with_plan(plan, sw.env, chain, sw.server, sw.now, anchors)?,
    };
    if client.driver != Driver::Libpq {
        v.plaintext_fallback = !v.accepted() && r.driver_retries_plaintext;
        if v.message() == Some(crate::DISABLE_MESSAGE) {
            v = Verdict::refused_without_tls(format!(
                "{} does not use TLS with sslmode {}",
                client.driver,
                r.mode.as_deref().unwrap_or("(none)")
            ));
        }
    }
    let verified = v
        .checks
        .iter()
        .any(|c| c.name == "chain" && c.passed == Some(true));
    let host_checked = v
        .checks
        .iter()
        .any(|c| c.name == "hostname" && c.passed == Some(true));
    let outcome = match (v.accepted(), verified) {
        (false, _) => Outcome::Fails,
        (true, true) => Outcome::Verified,
        (true, false) => Outcome::Unverified,
    };
    let plain_only = !plan.attempts.contains(&Attempt::Tls);
    let plain_first = plan.attempts.first() == Some(&Attempt::Plain);
    // As `verify server`'s `plaintext_fallback`: the TLS attempt failed and plaintext
    // follows (prefer) or came first (allow); or there is no TLS attempt at all.
    let fallback = (v.plaintext_fallback || plain_only).then_some(Fallback::Plaintext);
    let plaintext = if fallback.is_some() || plain_first {
        plaintext_decision()
    } else {
        None
    };
    let plain = |p: &Option<PlaintextReport>| match p.as_ref().map(|p| p.verdict) {
        Some(PlaintextVerdict::Admitted) => Connects::Plaintext,
        Some(PlaintextVerdict::Refused) => Connects::No,
        _ => Connects::Unknown,
    };
    let tls = if v.accepted() {
        Connects::Tls
    } else {
        Connects::No
    };
    let connects = if plain_only {
        plain(&plaintext)
    } else if plain_first {
        match plain(&plaintext) {
            Connects::No => tls,
            other => other,
        }
    } else if v.accepted() {
        Connects::Tls
    } else if v.plaintext_fallback {
        plain(&plaintext)
    } else {
        Connects::No
    };
    let report = SideReport {
        outcome,
        message: v.message().map(str::to_owned),
        fallback,
        reason: v
            .hidden_reason()
            .and_then(|c| c.reason)
            .map(|x| x.text().to_owned()),
        plaintext,
        connects,
        host_checked,
    };
    Ok((report, Some(v)))
}

/// `pgtls rotation check`: every client with the chain before and after the switch.
///
/// # Errors
/// A certificate of either chain that pgtls cannot parse.
pub fn check(clients: &[Client], sw: &Switch<'_>) -> Result<CheckReport, crate::Error> {
    let mut out = Vec::with_capacity(clients.len());
    for c in clients {
        let r = resolve(c, sw.env, sw.version);
        let (before, _) = side(c, &r, sw.before, sw, Anchors::AsConfigured)?;
        let (after, _) = side(c, &r, sw.after, sw, Anchors::AsConfigured)?;
        out.push(ClientReport {
            label: c.label.clone(),
            line: c.line,
            driver: c.driver,
            modelled: c.driver.modelled(),
            sslmode: r.mode.clone(),
            change: Change::between(&before, &after),
            before,
            after,
        });
    }
    let summary = summarize(&out);
    Ok(CheckReport {
        schema_version: SCHEMA_VERSION,
        clients: out,
        summary,
    })
}

fn summarize(clients: &[ClientReport]) -> Summary {
    let count = |f: &dyn Fn(&ClientReport) -> bool| clients.iter().filter(|c| f(c)).count();
    Summary {
        clients: clients.len(),
        breaks: count(&|c| c.change == Change::Breaks),
        weakens: count(&|c| c.change == Change::Weakens),
        recovers: count(&|c| c.change == Change::Recovers),
        unprotected_after: count(&|c| c.after.gets_in() && c.after.strength() < 3),
    }
}

// ------------------------------------------------------------------ the plan

/// The client-certificate side of a rotation: the server's current client CA, the new
/// one, and the CRLs there are.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ClientCaInput {
    /// The certificates of the current `ssl_ca_file` (DER).
    pub old_ca: Vec<CertificateDer<'static>>,
    /// The new client CA's certificates (DER; root and any intermediates).
    pub new_ca: Vec<CertificateDer<'static>>,
    /// The CRLs available (DER), each with where it came from.
    pub crls: Vec<(String, Vec<u8>)>,
    /// Whether the server has a CRL configured (`ssl_crl_file`/`ssl_crl_dir`); `None`:
    /// when any CRL is given.
    pub crl_configured: Option<bool>,
}

/// What the clients' side of the plan says about one client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Need {
    /// It gets in after the switch as it is.
    Nothing,
    /// It does not use TLS at all (`sslmode=disable`, a Unix-domain socket): the switch
    /// does not concern it.
    NoTls,
    /// Its root file needs the new CA before the switch.
    AddNewCa,
    /// Its root file needs the new CA, and its CRL file (or directory) the new CA's CRL:
    /// with a CRL configured libpq checks one for every CA level of the chain.
    AddNewCaAndCrl,
    /// `sslmode=allow`: it tries plaintext first and the server's pg_hba.conf admits it,
    /// so it connects without TLS before and after the switch (no root file change
    /// matters; it would not notice an impostor).
    ConnectsWithoutTls,
    /// It verifies against the platform's store: the new CA must be in it (or the client
    /// given a root file with it).
    AddNewCaToSystemStore,
    /// The new server certificate does not cover the host name it checks: no root file
    /// edit helps.
    HostNotCovered,
    /// It fails before the switch already.
    FailsAlready,
    /// It breaks and nothing pgtls can propose on the client fixes it.
    Unresolved,
}

/// The plan for one client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ClientPlan {
    /// The label.
    pub label: String,
    /// Whose semantics.
    pub driver: Driver,
    /// For drivers other than libpq: where the model comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modelled: Option<&'static str>,
    /// The effective sslmode.
    pub sslmode: Option<String>,
    /// The root file it verifies against (`system` for the platform's store), when it
    /// verifies.
    pub root_file: Option<String>,
    /// As `rotation check` says, before the switch.
    pub before: Outcome,
    /// As `rotation check` says, after the switch, with nothing changed.
    pub after: Outcome,
    /// What it needs.
    pub need: Need,
    /// The change, in a sentence.
    pub action: String,
    /// With the proposed root file: the outcome before and after the switch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_change: Option<[Outcome; 2]>,
    /// Old CA certificates the last stage removes from its root file (subjects).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove_later: Vec<String>,
    /// It checks the server's chain after the switch (an impostor without a certificate
    /// from a trusted CA is refused).
    pub verifies: bool,
    /// It checks the host name too (an impostor with another host's certificate from the
    /// same CA is refused).
    pub checks_host: bool,
}

/// One step of the staged order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Stage {
    /// 1, 2, 3, ...
    pub step: u32,
    /// What the stage is.
    pub title: String,
    /// What to do in it, one sentence each (a client's label first when it is about one).
    pub actions: Vec<String>,
}

/// The state of one client CA's CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CrlState {
    /// A current CRL signed by it is in the bundle.
    Current,
    /// Its CRL's nextUpdate has passed.
    Expired,
    /// No CRL from it.
    Missing,
    /// No CRL is configured on the server: none is needed.
    NotNeeded,
}

/// One CA of the overlap `ssl_ca_file`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ClientCaEntry {
    /// Its subject.
    pub subject: String,
    /// `old` or `new`.
    pub from: &'static str,
    /// Its CRL.
    pub crl: CrlState,
    /// Where its CRL came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crl_source: Option<String>,
}

/// The server side of a client CA change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ClientCaPlan {
    /// Every CA of the overlap `ssl_ca_file` (old and new, each once), with its CRL.
    pub ssl_ca_file: Vec<ClientCaEntry>,
    /// The server has a CRL configured (then every CA level needs one).
    pub crl_configured: bool,
    /// The CRLs the overlap `ssl_crl_file` bundles (where each came from).
    pub ssl_crl_file: Vec<String>,
    /// What would refuse clients during the overlap.
    pub problems: Vec<String>,
}

/// `pgtls rotation plan`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct PlanReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The new CA clients are given (subjects).
    pub new_ca: Vec<String>,
    /// The staged order.
    pub stages: Vec<Stage>,
    /// Each client.
    pub clients: Vec<ClientPlan>,
    /// Clients that, after the switch, connect without checking the server's chain (TLS
    /// without verification, or plaintext): they would not notice an impostor.
    pub unverified: Vec<String>,
    /// The server side of client certificates, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificates: Option<ClientCaPlan>,
    /// What the plan cannot fix: clients that break whatever their root file holds,
    /// client CAs that would be refused.
    pub problems: Vec<String>,
}

impl PlanReport {
    /// Whether something would still break with the plan carried out.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// The new CA a plan hands out: `given` (certificates), or the self-signed certificates
/// `after` sends.
///
/// # Errors
/// A certificate pgtls cannot parse.
pub fn new_ca_certificates(
    given: &[CertificateDer<'_>],
    after: &[CertificateDer<'_>],
) -> Result<Vec<CertificateDer<'static>>, crate::Error> {
    if !given.is_empty() {
        crate::trust::parse_chain(given)?;
        return Ok(given.iter().map(|c| c.clone().into_owned()).collect());
    }
    let certs = crate::trust::parse_chain(after)?;
    Ok(certs
        .iter()
        .zip(after)
        .filter(|(c, _)| c.is_self_signed())
        .map(|(_, d)| d.clone().into_owned())
        .collect())
}

/// `pgtls rotation plan`: the staged order for `clients` across `sw`, handing out
/// `new_ca` (see [`new_ca_certificates`]); with `client_ca`, the server side of a client
/// CA change too.
///
/// # Errors
/// A certificate pgtls cannot parse.
pub fn plan(
    clients: &[Client],
    sw: &Switch<'_>,
    new_ca: &[CertificateDer<'_>],
    client_ca: Option<&ClientCaInput>,
) -> Result<PlanReport, crate::Error> {
    plan_with_new_crls(clients, sw, new_ca, &[], client_ca)
}

/// [`plan`], given the new CA's CRLs too (DER, [`read_crls`]): a client whose CRL file
/// has no CRL of the new CA (with a CRL configured libpq checks every CA level) is told
/// to add them, the proposal checked like the root file's.
///
/// # Errors
/// A certificate or CRL pgtls cannot parse.
pub fn plan_with_new_crls(
    clients: &[Client],
    sw: &Switch<'_>,
    new_ca: &[CertificateDer<'_>],
    new_crls: &[Vec<u8>],
    client_ca: Option<&ClientCaInput>,
) -> Result<PlanReport, crate::Error> {
    let new_crl_list = new_crls
        .iter()
        .map(|d| Crl::from_der(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| crate::Error::Invalid {
            what: "new CA CRL".into(),
            reason: format!("not a CRL: {e}"),
        })?;
    let new_certs = crate::trust::parse_chain(new_ca)?;
    let before_certs = crate::trust::parse_chain(sw.before)?;
    let after_certs = crate::trust::parse_chain(sw.after)?;
    let now = crate::unix_secs(sw.now);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut unverified = Vec::new();
    let mut stage1 = Vec::new();
    let mut stage3 = Vec::new();
    for c in clients {
        let r = resolve(c, sw.env, sw.version);
        let (before, _) = side(c, &r, sw.before, sw, Anchors::AsConfigured)?;
        let (after, after_v) = side(c, &r, sw.after, sw, Anchors::AsConfigured)?;
        let root_file = r.plan.as_ref().and_then(|p| match &p.root {
            RootPlan::System => Some("system".to_owned()),
            RootPlan::File(f) if r.refusal.is_none() => Some(f.display().to_string()),
            _ => None,
        });
        // Whether the client verifies at all (a root file is loaded, or verify-*).
        let verifying = before.outcome == Outcome::Verified
            || after.outcome == Outcome::Verified
            || r.plan.as_ref().is_some_and(|p| p.mode.is_verify());
        let mut p = ClientPlan {
            label: c.label.clone(),
            driver: c.driver,
            modelled: c.driver.modelled(),
            sslmode: r.mode.clone(),
            root_file: root_file.clone().filter(|_| verifying),
            before: before.outcome,
            after: after.outcome,
            need: Need::Nothing,
            action: String::new(),
            with_change: None,
            remove_later: Vec::new(),
            verifies: after.outcome == Outcome::Verified,
            checks_host: after.host_checked,
        };
        let hostname_failed = after_v.as_ref().is_some_and(|v| {
            v.checks
                .iter()
                .any(|x| x.name == "hostname" && x.passed == Some(false))
        });
        let system = root_file.as_deref() == Some("system");
        let no_tls = r
            .plan
            .as_ref()
            .is_some_and(|p| r.refusal.is_none() && !p.attempts.contains(&Attempt::Tls));
        let plain_first = r
            .plan
            .as_ref()
            .is_some_and(|p| p.attempts.first() == Some(&Attempt::Plain));
        fn admitted(s: &SideReport) -> Option<&PlaintextReport> {
            s.plaintext
                .as_ref()
                .filter(|x| x.verdict == PlaintextVerdict::Admitted)
        }
        if no_tls {
            p.need = Need::NoTls;
            p.action = "does not use TLS: the switch does not concern it, and it would not notice an impostor".into();
        } else if let (true, Some(hba), Some(_)) =
            (plain_first, admitted(&after), admitted(&before))
        {
            p.need = Need::ConnectsWithoutTls;
            p.action = format!(
                "connects without TLS: sslmode={} tries plaintext first and the server's pg_hba.conf{} admits it, before and after the switch; no root file change matters, and it would not notice an impostor",
                r.mode.as_deref().unwrap_or("allow"),
                hba.line.map(|l| format!(" (line {l})")).unwrap_or_default()
            );
        } else if after.outcome != Outcome::Fails {
            p.action = match after.outcome {
                Outcome::Verified => "nothing: it verifies the new chain as it is".into(),
                _ => "nothing to connect; it does not verify the server".into(),
            };
        } else if before.outcome == Outcome::Fails && !verifying {
            p.need = Need::FailsAlready;
            p.action = format!(
                "fails before the switch already: {}",
                before.message.as_deref().unwrap_or("")
            );
        } else if hostname_failed {
            p.need = Need::HostNotCovered;
            p.action = format!(
                "the new server certificate does not cover the host it checks ({}): reissue it with that name in its subjectAltName, or connect with a name it covers",
                after.message.as_deref().unwrap_or("")
            );
            problems.push(format!("{}: {}", c.label, p.action));
        } else {
            // Would the root file with the new CA added verify both chains?
            let (b2, _) = side(c, &r, sw.before, sw, Anchors::Plus(&new_certs))?;
            let (a2, a2_v) = side(c, &r, sw.after, sw, Anchors::Plus(&new_certs))?;
            p.with_change = Some([b2.outcome, a2.outcome]);
            // The CRL file given the new CA's CRLs too, when the CRL was what failed.
            let crl_fix =
                |a2: &SideReport| -> Result<Option<(SideReport, SideReport)>, crate::Error> {
                    let no_crl =
                        a2.reason.as_deref() == Some(crate::X509Reason::UnableToGetCrl.text());
                    if !no_crl || new_crl_list.is_empty() || new_certs.is_empty() {
                        return Ok(None);
                    }
                    let with = Anchors::PlusCrls(&new_certs, &new_crl_list);
                    let (b3, _) = side(c, &r, sw.before, sw, with)?;
                    let (a3, _) = side(c, &r, sw.after, sw, with)?;
                    let keeps = b3.outcome != Outcome::Fails || before.outcome == Outcome::Fails;
                    Ok((a3.outcome != Outcome::Fails && keeps).then_some((b3, a3)))
                };
            let host_after_edit = a2_v.as_ref().is_some_and(|v| {
                v.checks
                    .iter()
                    .any(|x| x.name == "hostname" && x.passed == Some(false))
            });
            let chain_fixed = a2.outcome != Outcome::Fails || host_after_edit;
            let keeps_before = b2.outcome != Outcome::Fails || before.outcome == Outcome::Fails;
            if chain_fixed && keeps_before && !new_certs.is_empty() {
                let file = root_file.clone().unwrap_or_else(|| "its root file".into());
                p.need = if system {
                    Need::AddNewCaToSystemStore
                } else {
                    Need::AddNewCa
                };
                p.action = if system {
                    format!(
                        "add the new CA ({}) to the platform's trust store, or give it sslrootcert with the old and the new CA",
                        subjects(&new_certs)
                    )
                } else if r.plan.as_ref().is_some_and(policy::Plan::root_file_missing) {
                    format!(
                        "create {file} with the old and the new CA ({})",
                        subjects(&new_certs)
                    )
                } else {
                    format!("add the new CA ({}) to {file}", subjects(&new_certs))
                };
                stage1.push(format!("{}: {}", c.label, p.action));
                if host_after_edit {
                    p.need = Need::HostNotCovered;
                    p.action = format!(
                        "{}; and the new server certificate does not cover the host it checks ({}): reissue it with that name in its subjectAltName, or connect with a name it covers",
                        p.action,
                        a2.message.as_deref().unwrap_or("")
                    );
                    problems.push(format!("{}: {}", c.label, p.action));
                }
            } else if before.outcome == Outcome::Fails {
                p.need = Need::FailsAlready;
                p.action = format!(
                    "fails before the switch already: {}",
                    before.message.as_deref().unwrap_or("")
                );
            } else if let Some((b3, a3)) = crl_fix(&a2)? {
                let pl = r.plan.as_ref();
                let crl_at = pl
                    .and_then(|x| x.crl.file.as_ref())
                    .map(|f| f.display().to_string())
                    .or_else(|| {
                        pl.and_then(|x| x.crl.dir.as_ref()).map(|d| {
                            format!(
                                "the CRL directory {} (named by `openssl crl -hash`, .r0)",
                                d.display()
                            )
                        })
                    })
                    .unwrap_or_else(|| "its CRL file".into());
                p.need = Need::AddNewCaAndCrl;
                p.with_change = Some([b3.outcome, a3.outcome]);
                p.action = format!(
                    "add the new CA ({}) to {} and the new CA's CRL to {crl_at} (libpq checks a CRL for every CA level once one loads)",
                    subjects(&new_certs),
                    root_file.clone().unwrap_or_else(|| "its root file".into())
                );
                stage1.push(format!("{}: {}", c.label, p.action));
            } else {
                p.need = Need::Unresolved;
                let crl = a2.reason.as_deref() == Some(crate::X509Reason::UnableToGetCrl.text());
                p.action = if crl && new_crl_list.is_empty() {
                    "breaks even with the new CA in its root file: its CRL file has no CRL of the new CA (libpq checks every level once a CRL loads): add the new CA's CRL to its sslcrl file (given with --new-crl, the plan checks that)".into()
                } else if crl {
                    "breaks even with the new CA in its root file and the given new CA CRLs in its CRL file: a CA level of the new chain still has no current CRL".into()
                } else {
                    format!(
                        "breaks even with the new CA in its root file: {}",
                        a2.message.as_deref().unwrap_or("")
                    )
                };
                problems.push(format!("{}: {}", c.label, p.action));
            }
        }
        // The last stage: the old CA the client's root file no longer needs.
        if let Some(plan) = r.plan.as_ref().filter(|_| r.refusal.is_none() && !system) {
            let cfg = crate::TrustConfig::load(plan, sw.env)
                .map(|t| t.with_anchors(&new_certs, &[]))
                .or_else(|_| {
                    if plan.root_file_missing() {
                        Ok(crate::TrustConfig::from_anchors(plan, &new_certs))
                    } else {
                        Err(())
                    }
                });
            if let Ok(cfg) = cfg {
                let old = cfg.anchors_used(&before_certs, now);
                let kept = cfg.anchors_used(&after_certs, now);
                let remove: Vec<Cert> = old
                    .into_iter()
                    .filter(|o| !kept.iter().any(|k| k.der() == o.der()))
                    .filter(|o| !new_certs.iter().any(|n| n.der() == o.der()))
                    .collect();
                if !remove.is_empty() && !kept.is_empty() {
                    let (a3, _) =
                        side(c, &r, sw.after, sw, Anchors::PlusMinus(&new_certs, &remove))?;
                    if a3.outcome == Outcome::Verified {
                        p.remove_later = remove.iter().map(Cert::subject_text).collect();
                        stage3.push(format!(
                            "{}: remove the old CA ({}) from {}",
                            c.label,
                            subjects(&remove),
                            root_file.clone().unwrap_or_default()
                        ));
                    }
                }
            }
        }
        let final_outcome = match p.need {
            Need::AddNewCa | Need::AddNewCaToSystemStore | Need::AddNewCaAndCrl => {
                p.with_change.map_or(after.outcome, |w| w[1])
            }
            _ => after.outcome,
        };
        // What the client checks once the plan is carried out (a host the certificate
        // does not cover: the chain still verifies, the name check is what fails).
        p.verifies = final_outcome == Outcome::Verified || p.need == Need::HostNotCovered;
        p.checks_host = p.verifies
            && r.plan
                .as_ref()
                .is_some_and(|pl| pl.mode == SslMode::VerifyFull);
        if (after.gets_in() && final_outcome != Outcome::Verified)
            || (final_outcome == Outcome::Fails && after.fallback.is_some())
        {
            unverified.push(c.label.clone());
        }
        out.push(p);
    }
    if new_certs.is_empty() {
        problems.push(
            "the new CA is not known (the chain after the switch sends no self-signed certificate): give it with --new-ca".into(),
        );
    }
    let client_certificates = client_ca.map(|ca| client_ca_plan(ca, now));
    if let Some(cc) = &client_certificates {
        problems.extend(cc.problems.iter().cloned());
    }
    let mut stages = vec![Stage {
        step: 1,
        title: "before the switch: add the new CA to every verifying client's root file".into(),
        actions: if stage1.is_empty() {
            vec!["no client needs a change".into()]
        } else {
            stage1
        },
    }];
    if let Some(cc) = &client_certificates {
        let mut actions = Vec::new();
        if cc.crl_configured {
            actions.push(
                "publish a current CRL of every new client CA level and bundle it with the old CA's CRLs in ssl_crl_file (PostgreSQL checks a CRL for every CA level once a CRL is configured)".into(),
            );
        }
        actions.push(format!(
            "set ssl_ca_file to the old and the new client CA together ({}), then reload: the server asks for and accepts client certificates of both",
            cc.ssl_ca_file
                .iter()
                .map(|e| e.subject.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ));
        stages.push(Stage {
            step: 2,
            title: "the server's client CA: overlap the old and the new".into(),
            actions,
        });
    }
    stages.push(Stage {
        step: u32::try_from(stages.len()).unwrap_or(u32::MAX).saturating_add(1),
        title: "switch the server to the new chain".into(),
        actions: vec![
            "point ssl_cert_file and ssl_key_file at the new certificate chain and key (or replace the files), then pg_ctl reload or SELECT pg_reload_conf(); new connections get the new chain".into(),
        ],
    });
    if client_certificates.is_some() {
        stages.push(Stage {
            step: u32::try_from(stages.len()).unwrap_or(u32::MAX).saturating_add(1),
            title: "move client certificates to the new client CA".into(),
            actions: vec![
                "issue each client its certificate from the new client CA and roll it out; the server accepts both meanwhile".into(),
            ],
        });
    }
    let mut last = if stage3.is_empty() {
        vec!["no root file holds an old CA that the new chain does not need".into()]
    } else {
        stage3
    };
    if client_certificates.is_some() {
        last.push(
            "once no client uses a certificate of the old client CA: remove it from ssl_ca_file and its CRL from ssl_crl_file, then reload".into(),
        );
    }
    stages.push(Stage {
        step: u32::try_from(stages.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1),
        title: "later, once no server presents the old chain: remove the old CA".into(),
        actions: last,
    });
    Ok(PlanReport {
        schema_version: SCHEMA_VERSION,
        new_ca: new_certs.iter().map(Cert::subject_text).collect(),
        stages,
        clients: out,
        unverified,
        client_certificates,
        problems,
    })
}

fn subjects(certs: &[Cert]) -> String {
    certs
        .iter()
        .map(Cert::subject_text)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The server's client-CA overlap: every CA of old and new once, and each one's CRL when
/// a CRL is configured (`X509_V_FLAG_CRL_CHECK_ALL`: every level of a client's chain
/// needs a current CRL from its issuer, so every CA in `ssl_ca_file` needs one).
fn client_ca_plan(input: &ClientCaInput, now: i64) -> ClientCaPlan {
    let mut cas: Vec<(Cert, &'static str)> = Vec::new();
    let mut problems = Vec::new();
    for (from, list) in [("old", &input.old_ca), ("new", &input.new_ca)] {
        for der in list {
            match Cert::from_der(der) {
                Ok(c) => {
                    if !cas.iter().any(|(x, _)| x.der() == c.der()) {
                        cas.push((c, from));
                    }
                }
                Err(e) => problems.push(format!(
                    "a {from} client CA certificate does not parse: {e}"
                )),
            }
        }
    }
    let mut crls: Vec<(Crl, String)> = Vec::new();
    for (source, der) in &input.crls {
        match Crl::from_der(der) {
            Ok(c) => crls.push((c, source.clone())),
            Err(e) => problems.push(format!("{source}: a CRL does not parse: {e}")),
        }
    }
    let configured = input.crl_configured.unwrap_or(!crls.is_empty());
    let mut entries = Vec::new();
    for (ca, from) in &cas {
        let name = ca.subject_text();
        let theirs: Vec<&(Crl, String)> = crls
            .iter()
            .filter(|(crl, _)| crl.issuer().matches(ca.subject()) && crl.is_signed_by(ca))
            .collect();
        let current = theirs
            .iter()
            .find(|(crl, _)| crl.this_update() <= now && crl.next_update().is_none_or(|n| now < n));
        let (state, source) = match (configured, current, theirs.first()) {
            (false, _, _) => (CrlState::NotNeeded, None),
            (true, Some((_, s)), _) => (CrlState::Current, Some(s.clone())),
            (true, None, Some((_, s))) => (CrlState::Expired, Some(s.clone())),
            (true, None, None) => (CrlState::Missing, None),
        };
        match state {
            CrlState::Missing => problems.push(format!(
                "client CA {name} ({from}) has no CRL in the bundle: once a CRL is configured PostgreSQL checks every CA level, so clients with certificates under it are refused (SSL error: {}; server log: certificate verify failed, unable to get certificate CRL): publish its CRL and add it to ssl_crl_file",
                crate::server::alert_text(crate::X509Reason::UnableToGetCrl)
            )),
            CrlState::Expired => problems.push(format!(
                "the CRL of client CA {name} ({from}) has expired: clients with certificates under it are refused (SSL error: {}; server log: CRL has expired): publish a new CRL",
                crate::server::alert_text(crate::X509Reason::CrlHasExpired)
            )),
            _ => {}
        }
        entries.push(ClientCaEntry {
            subject: name,
            from,
            crl: state,
            crl_source: source,
        });
    }
    ClientCaPlan {
        ssl_ca_file: entries,
        crl_configured: configured,
        ssl_crl_file: if configured {
            crls.iter().map(|(_, s)| s.clone()).collect()
        } else {
            Vec::new()
        },
        problems,
    }
}

/// The CRLs of a file's contents (DER each): PEM `X509 CRL` blocks, or one DER CRL.
///
/// # Errors
/// Malformed PEM, PEM without a CRL, or DER that is not a CRL.
pub fn read_crls(data: &[u8]) -> Result<Vec<Vec<u8>>, crate::Error> {
    let invalid = |reason: String| crate::Error::Invalid {
        what: "CRL file".into(),
        reason,
    };
    let ders = match pgtls_x509::pem::sniff(data) {
        pgtls_x509::pem::Encoding::Pem => pgtls_x509::pem::read_x509_info(data)
            .map_err(|e| invalid(format!("malformed PEM ({})", e.0)))?
            .into_iter()
            .filter_map(|b| match b {
                pgtls_x509::pem::X509InfoBlock::Crl(der) => Some(der),
                pgtls_x509::pem::X509InfoBlock::Certificate { .. } => None,
            })
            .collect(),
        _ => vec![data.to_vec()],
    };
    if ders.is_empty() {
        return Err(invalid("no X509 CRL block in it".into()));
    }
    for d in &ders {
        Crl::from_der(d).map_err(|e| invalid(format!("not a CRL: {e}")))?;
    }
    Ok(ders)
}

/// Reads a clients file from disk ([`parse_clients`]); the name in errors is `path` as
/// given.
///
/// # Errors
/// The file cannot be read (reason `cannot read: ...`, line 0), or a bad line.
pub fn read_clients_file(path: &Path) -> Result<Vec<Client>, ClientsFileError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ClientsFileError {
        file: name.clone(),
        line: 0,
        reason: format!("cannot read: {}", io_text(&e)),
    })?;
    parse_clients(&name, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_file_lines() {
        let text = b"# comment\n\n  # indented comment\r\na\thost=x sslmode=require\r\nb\tpostgresql://h/db?ssl=true\tdriver=pgjdbc\n";
        let c = parse_clients("f", text).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].label.as_str(), c[0].line), ("a", 4));
        assert_eq!(c[0].conninfo, "host=x sslmode=require");
        assert_eq!(c[1].driver, Driver::Pgjdbc);
        let e = parse_clients("f", b"a\thost=x\nb host=y\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:2: expected LABEL<TAB>CONNINFO (no tab on the line)"
        );
        let e = parse_clients("f", b"a\tfoo=1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:1: libpq: invalid connection option \"foo\""
        );
        // Other drivers pass unknown keys on; the syntax is still checked.
        assert!(parse_clients("f", b"a\tfoo=1\tdriver=pgx\n").is_ok());
        assert!(parse_clients("f", b"a\thost='x\tdriver=pgx\n").is_err());
    }

    #[test]
    fn driver_names_round_trip() {
        for d in Driver::ALL {
            assert_eq!(d.as_str().parse::<Driver>().unwrap(), d);
            assert_eq!(d.modelled().is_none(), d == Driver::Libpq);
        }
        assert!("JDBC".parse::<Driver>().is_err());
    }

    #[test]
    fn driver_defaults() {
        let env = Env::empty();
        let m = |d, s: &str| {
            let pairs = conninfo_pairs(s, false).unwrap();
            model(d, &pairs, &env, PgVersion::V15)
        };
        let jdbc = m(Driver::Pgjdbc, "postgresql://h/db?ssl=true");
        assert_eq!(
            (jdbc.mode.as_str(), jdbc.checks),
            ("verify-full", Checks::ChainAndHost)
        );
        let jdbc = m(Driver::Pgjdbc, "host=h sslmode=VERIFY-CA");
        assert_eq!(jdbc.checks, Checks::Chain);
        assert!(m(Driver::Pgjdbc, "host=h sslmode=bogus").refusal.is_some());
        let node = m(Driver::NodePostgres, "host=h");
        assert_eq!(node.attempts, vec![Attempt::Plain]);
        let node = m(
            Driver::NodePostgres,
            "host=h sslmode=require uselibpqcompat=true",
        );
        assert_eq!(node.checks, Checks::Nothing);
        let pgx = m(Driver::Pgx, "host=h");
        assert_eq!((pgx.mode.as_str(), pgx.retries_plaintext), ("prefer", true));
        let sqlx = m(Driver::Sqlx, "host=h sslmode=allow");
        assert_eq!(sqlx.attempts, vec![Attempt::Plain]);
    }

    #[test]
    fn changes() {
        let side = |outcome, connects| SideReport {
            outcome,
            message: None,
            fallback: None,
            reason: None,
            plaintext: None,
            connects,
            host_checked: false,
        };
        use Connects::*;
        use Outcome::*;
        let c = |a: &SideReport, b: &SideReport| Change::between(a, b);
        assert_eq!(c(&side(Verified, Tls), &side(Fails, No)), Change::Breaks);
        assert_eq!(
            c(&side(Verified, Tls), &side(Fails, Plaintext)),
            Change::Weakens
        );
        assert_eq!(
            c(&side(Fails, No), &side(Unverified, Tls)),
            Change::Recovers
        );
        assert_eq!(
            c(&side(Unverified, Tls), &side(Verified, Tls)),
            Change::Strengthens
        );
        // Without pg_hba.conf a failed TLS attempt counts as not getting in.
        assert_eq!(
            c(&side(Verified, Unknown), &side(Fails, Unknown)),
            Change::Breaks
        );
        assert_eq!(
            c(&side(Fails, Unknown), &side(Fails, Unknown)),
            Change::Unchanged
        );
    }
}
