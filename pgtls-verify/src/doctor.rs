//! `pgtls doctor`: what is wrong with a data directory's TLS setup, as the
//! PostgreSQL server would find it, each finding with a stable code and a fix.
//!
//! Why here: the checks are the server's side of TLS, which is this crate's
//! (`server` decides client certificates; the chain, CRL and host-name rules
//! are here), and they need pg_hba.conf, pg_ident.conf and postgresql.conf
//! read exactly as the server reads them, which is pgtls-hba's (its [`lint`]
//! finds the paths without TLS, with a witness). pgtls-verify already depends
//! on pgtls-hba, so the engine adds no edge to the crate graph.
//!
//! What the server does, modelled step by step:
//!
//! * The configuration: `DIR/postgresql.conf` with its includes, then
//!   `postgresql.auto.conf` ([`ConfFile`]); any error there and the server
//!   refuses to start.
//! * `data_directory`: when postgresql.conf names another data directory
//!   (configuration kept apart, as Debian does), the configuration is read
//!   again with that one, which then holds `postgresql.auto.conf` and the
//!   relative `ssl_*` files and gives the server's user (its owner); the
//!   default `hba_file` and `ident_file` stay next to postgresql.conf.
//! * The version: the data directory's `PG_VERSION` (a server of another
//!   major version refuses to start on it), or [`DoctorInput::version`].
//!   What differs between 12 and 18 here: the `ssl*` parameters a server
//!   knows (`ssl_crl_dir` from 14, `ssl_groups` and `ssl_tls13_ciphers` from
//!   18; an unknown one stops a starting server), the default of
//!   `ssl_min_protocol_version` (TLSv1 in 12, TLSv1.2 from 13), and
//!   pg_hba.conf / pg_ident.conf as pgtls-hba reads them for that version.
//! * `ssl` (default `off`); `ssl_cert_file` and `ssl_key_file` (defaults
//!   `server.crt`, `server.key`), `ssl_ca_file`, `ssl_crl_file`,
//!   `ssl_crl_dir`: relative names are relative to the data directory (the
//!   server's working directory once it runs). `hba_file` and `ident_file`
//!   (defaults `DIR/pg_hba.conf`, `DIR/pg_ident.conf`) are made absolute
//!   against the working directory the server was *started* from, before it
//!   changes to the data directory: a relative one is resolved against
//!   [`DoctorInput::server_cwd`] when given, else against the data
//!   directory, and the finding says so.
//! * `be_tls_init`, in its order: the certificate chain file, the key
//!   file's owner and mode (`check_ssl_key_file_permissions`: owned by the
//!   server's user, taken as the data directory's owner, and no group or
//!   world access; or owned by root and at most group read), the key, the
//!   key matching the certificate, the OpenSSL lists (`ssl_ecdh_curve`
//!   before 18, `ssl_groups` from 18, `ssl_ciphers`, `ssl_tls13_ciphers`
//!   from 18: what every OpenSSL refuses is an error, what only some do a
//!   warning), `ssl_ca_file`, then the CRLs; every failure there stops a
//!   starting server.
//! * With a CRL configured the server sets `X509_V_FLAG_CRL_CHECK_ALL`: every
//!   certificate of a client's chain, the root included, needs a current CRL
//!   from its issuer, so every CA in `ssl_ca_file` needs one.
//! * The chain the server sends: the certificates of `ssl_cert_file` after
//!   the first; when there are none, OpenSSL builds the chain from the
//!   `ssl_ca_file` store (automatic chain building).
//! * Host names: libpq's verify-full rules ([`crate::hostname`]).
//!
//! Severity: `error` when the server refuses to start, refuses clients it
//! is meant to admit, or admits one without TLS, or a setting is below the
//! floor (`ssl_min_protocol_version` under TLSv1.2); `warning` for what is
//! weak or merely soon due; `info` for context.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use pgtls_hba::conf::{ConfFile, ConfSetting, parse_bool};
use pgtls_hba::{AuthMethod, ClientCert, FsSource, HbaFile, IdentFile, ServerSettings, lint};
use pgtls_x509::pem::{X509InfoBlock, read_x509_info};
use pgtls_x509::{Certificate, Crl, CrlTime};
use serde::Serialize;

use crate::PgVersion;
use crate::hostname::{HostCheck, Leaf};

mod tls_lists;
use tls_lists::Verdict;

/// Days before a certificate's end from which it is reported as expiring.
pub const CERT_WARN_DAYS: i64 = 30;

/// The version of [`Report`]'s JSON shape.
pub const SCHEMA_VERSION: u32 = 1;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Context.
    Info,
    /// Weak, or soon due.
    Warning,
    /// The server refuses to start, refuses clients, or admits one without TLS.
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Finding {
    /// Severity.
    pub severity: Severity,
    /// A stable code (`ssl-off`, `key-mode`, ...).
    pub code: &'static str,
    /// The file the finding is about, when there is one.
    pub file: Option<String>,
    /// The line in `file`, when there is one.
    pub line: Option<u32>,
    /// What is wrong, and what the server does about it.
    pub message: String,
    /// What to do.
    pub fix: Option<String>,
}

/// The findings of one data directory.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Report {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The findings, in the order they were made.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any finding has severity error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// What to examine.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DoctorInput {
    /// The data directory (`pg_ctl -D`).
    pub data_dir: PathBuf,
    /// Host names clients connect with (checked against the certificate).
    pub hosts: Vec<String>,
    /// The time to check validity at, in seconds since the epoch.
    pub at: i64,
    /// The server's major version; `None`: the one in the data directory's
    /// `PG_VERSION` file (PostgreSQL 15 when it cannot be read, with a finding).
    pub version: Option<PgVersion>,
    /// The directory the server is started from, when known (for a relative
    /// `hba_file` / `ident_file`).
    pub server_cwd: Option<PathBuf>,
}

impl DoctorInput {
    /// A data directory checked at `at`, under the rules of the version its
    /// `PG_VERSION` names.
    pub fn new(data_dir: impl Into<PathBuf>, at: i64) -> Self {
        Self {
            data_dir: data_dir.into(),
            hosts: Vec::new(),
            at,
            version: None,
            server_cwd: None,
        }
    }
}

struct Ctx<'a> {
    input: &'a DoctorInput,
    /// The version whose rules apply.
    version: PgVersion,
    conf: ConfFile,
    /// The server's data directory (`data_directory`, else the configuration directory).
    dir: PathBuf,
    /// The directory `--pgdata` names, where postgresql.conf is (`configdir`).
    config_dir: PathBuf,
    out: Vec<Finding>,
}

/// Where a setting's value came from, for the finding.
fn at(s: Option<&ConfSetting>) -> (Option<String>, Option<u32>) {
    match s {
        Some(s) => (Some(s.file.clone()), Some(s.line)),
        None => (None, None),
    }
}

impl Ctx<'_> {
    fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        place: (Option<String>, Option<u32>),
        message: String,
        fix: Option<String>,
    ) {
        self.out.push(Finding {
            severity,
            code,
            file: place.0,
            line: place.1,
            message,
            fix,
        });
    }

    fn setting(&self, name: &str) -> Option<&ConfSetting> {
        self.conf.get(name)
    }

    /// A data-directory-relative file setting: (path, how it was named, place).
    fn data_file(&self, name: &str, default: &str) -> Option<FileSetting> {
        let s = self.setting(name);
        let value = s.map_or(default, |s| s.value.as_str()).to_owned();
        if value.is_empty() {
            return None;
        }
        let relative = !value.starts_with('/');
        let path = if relative {
            self.dir.join(&value)
        } else {
            PathBuf::from(&value)
        };
        let named = if relative {
            format!(
                "{name} = '{value}' (relative, so {} in the data directory)",
                path.display()
            )
        } else {
            format!("{name} = '{value}'")
        };
        Some(FileSetting {
            path,
            named,
            place: at(s),
        })
    }
}

struct FileSetting {
    path: PathBuf,
    named: String,
    place: (Option<String>, Option<u32>),
}

/// `strerror` text of an I/O error.
fn strerror(e: &std::io::Error) -> String {
    let t = e.to_string();
    match t.rfind(" (os error ") {
        Some(i) => t[..i].to_owned(),
        None => t,
    }
}

/// Examines a data directory.
pub fn diagnose(input: &DoctorInput) -> Report {
    let dir = if input.data_dir.is_absolute() {
        input.data_dir.clone()
    } else {
        std::env::current_dir()
            .map(|c| c.join(&input.data_dir))
            .unwrap_or_else(|_| input.data_dir.clone())
    };
    let mut cx = Ctx {
        input,
        version: input.version.unwrap_or_default(),
        conf: ConfFile::default(),
        dir: dir.clone(),
        config_dir: dir.clone(),
        out: Vec::new(),
    };
    if std::fs::metadata(&dir).is_ok_and(|m| m.is_dir()) {
        locate_data_dir(&mut cx);
    }
    let dir = cx.dir.clone();
    let dir_text = dir.display().to_string();
    let meta = match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => {
            cx.push(
                Severity::Error,
                "data-dir",
                (Some(dir_text.clone()), None),
                format!("{dir_text} is not a directory"),
                Some("pass the data directory (pg_ctl -D) as --pgdata".into()),
            );
            return finish(cx.out);
        }
        Err(e) => {
            cx.push(
                Severity::Error,
                "data-dir",
                (Some(dir_text.clone()), None),
                format!(
                    "cannot read the data directory {dir_text}: {}",
                    strerror(&e)
                ),
                Some("pass the data directory (pg_ctl -D) as --pgdata".into()),
            );
            return finish(cx.out);
        }
    };
    check_version(&mut cx);
    let server_uid = meta.uid();
    if meta.mode() & 0o027 != 0 {
        cx.push(
            Severity::Error,
            "data-dir-mode",
            (Some(dir_text.clone()), None),
            format!(
                "data directory \"{dir_text}\" has invalid permissions (mode {:04o}): the server refuses to start. Permissions should be u=rwx (0700) or u=rwx,g=rx (0750).",
                meta.mode() & 0o7777
            ),
            Some(format!("chmod 0700 {dir_text}")),
        );
    }
    for e in cx.conf.errors().to_vec() {
        cx.push(
            Severity::Error,
            "conf-error",
            (Some(e.file.clone()), (e.line > 0).then_some(e.line)),
            format!(
                "{}: the server refuses to start (configuration file \"{}\" contains errors)",
                e.message,
                cx.conf.main_file()
            ),
            Some("correct this line (values with characters other than letters, digits, _ - . : / need single quotes)".into()),
        );
    }
    check_parameters(&mut cx);
    let ssl = check_ssl(&mut cx);
    check_protocol(&mut cx, ssl);
    if ssl {
        check_openssl_lists(&mut cx);
    }
    let ca = check_server_files(&mut cx, server_uid);
    check_hba(&mut cx, ssl, ca);
    finish(cx.out)
}

/// Reads the configuration; with `data_directory` set (the configuration
/// kept apart from the data, as Debian does), reads it again with that data
/// directory, as `SelectConfigFiles` does.
fn locate_data_dir(cx: &mut Ctx<'_>) {
    let config = cx.config_dir.display().to_string();
    let main = format!("{}/postgresql.conf", config.trim_end_matches('/'));
    cx.conf = ConfFile::read(&main, &config, &FsSource);
    let Some(dd) = cx.conf.get("data_directory").cloned() else {
        return;
    };
    if dd.value.is_empty() {
        return;
    }
    let (real, note) = if dd.value.starts_with('/') {
        (PathBuf::from(&dd.value), String::new())
    } else {
        let base = cx
            .input
            .server_cwd
            .clone()
            .unwrap_or_else(|| cx.config_dir.clone());
        (
            base.join(&dd.value),
            format!(
                " (relative: read against {}, while the server resolves it against the directory it is started from)",
                base.display()
            ),
        )
    };
    if real == cx.config_dir {
        return;
    }
    cx.conf = ConfFile::read(&main, &real.display().to_string(), &FsSource);
    cx.dir.clone_from(&real);
    cx.push(
        Severity::Info,
        "data-directory",
        at(Some(&dd)),
        format!(
            "data_directory = '{}'{note}: the ssl_* files and postgresql.auto.conf are taken from {}",
            dd.value,
            real.display()
        ),
        None,
    );
}

fn finish(findings: Vec<Finding>) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        findings,
    }
}

fn check_ssl(cx: &mut Ctx<'_>) -> bool {
    let s = cx.setting("ssl").cloned();
    let place = at(s.as_ref());
    let fix = Some("set ssl = on in postgresql.conf and restart the server".to_owned());
    match s.as_ref().map(|s| parse_bool(&s.value)) {
        None => {
            cx.push(
                Severity::Error,
                "ssl-off",
                (Some(cx.conf.main_file().to_owned()), None),
                "ssl is not set, so it is off: the server accepts no TLS connection".into(),
                fix,
            );
            false
        }
        Some(Some(true)) => true,
        Some(Some(false)) => {
            cx.push(
                Severity::Error,
                "ssl-off",
                place,
                "ssl = off: the server accepts no TLS connection".into(),
                fix,
            );
            false
        }
        Some(None) => {
            cx.push(
                Severity::Error,
                "ssl-invalid",
                place,
                format!(
                    "parameter \"ssl\" requires a Boolean value (it is '{}'): the server refuses to start",
                    s.as_ref().map(|s| s.value.as_str()).unwrap_or_default()
                ),
                fix,
            );
            false
        }
    }
}

/// `PG_VERSION`: which server the data directory is for. A server of
/// another major version refuses to start on it (`database files are
/// incompatible with server`).
fn check_version(cx: &mut Ctx<'_>) {
    let path = cx.dir.join("PG_VERSION");
    let file = Some(path.display().to_string());
    let found = std::fs::read_to_string(&path)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let parsed = found
        .as_deref()
        .and_then(|t| t.parse::<u32>().ok())
        .and_then(|m| PgVersion::new(m).ok());
    match (cx.input.version, found, parsed) {
        (Some(given), Some(text), parsed) if parsed != Some(given) => cx.push(
            Severity::Error,
            "pg-version-mismatch",
            (file, None),
            format!(
                "the data directory was initialized by PostgreSQL version {text}, which is not compatible with PostgreSQL {given}: that server refuses to start (database files are incompatible with server)"
            ),
            Some(format!(
                "start the data directory with PostgreSQL {text}'s server, or upgrade it with pg_upgrade (or leave out --pg-version)"
            )),
        ),
        (Some(_), _, _) => {}
        (None, Some(_), Some(v)) => cx.version = v,
        (None, Some(text), None) => cx.push(
            Severity::Warning,
            "pg-version-unknown",
            (file, None),
            format!(
                "PG_VERSION says {text:?}, not a major version pgtls models (12 to 18): the rules of PostgreSQL {} are applied",
                cx.version
            ),
            Some("pass the server's version with --pg-version".into()),
        ),
        (None, None, _) => cx.push(
            Severity::Warning,
            "pg-version-unknown",
            (file, None),
            format!(
                "no PG_VERSION in the data directory: the rules of PostgreSQL {} are applied",
                cx.version
            ),
            Some("pass the data directory the server runs on, or its version with --pg-version".into()),
        ),
    }
}

/// The TLS parameters (`ssl*`) of a PostgreSQL version, from its
/// `guc_tables.c` (`guc.c` before 15): `ssl_crl_dir` came in 14,
/// `ssl_groups` and `ssl_tls13_ciphers` in 18 (where `ssl_ecdh_curve` is
/// an old name of `ssl_groups`).
fn ssl_parameters(v: PgVersion) -> Vec<&'static str> {
    let mut names = vec![
        "ssl",
        "ssl_ca_file",
        "ssl_cert_file",
        "ssl_ciphers",
        "ssl_crl_file",
        "ssl_dh_params_file",
        "ssl_ecdh_curve",
        "ssl_key_file",
        "ssl_library",
        "ssl_max_protocol_version",
        "ssl_min_protocol_version",
        "ssl_passphrase_command",
        "ssl_passphrase_command_supports_reload",
        "ssl_prefer_server_ciphers",
        "ssl_renegotiation_limit",
    ];
    if v >= PgVersion::V14 {
        names.push("ssl_crl_dir");
    }
    if v >= PgVersion::V18 {
        names.extend(["ssl_groups", "ssl_tls13_ciphers"]);
    }
    names
}

/// Settings of TLS parameters the server refuses at startup: a name it does
/// not know (`sslmode` is libpq's; `ssl_crl_dir` before 14), the read-only
/// `ssl_library`, and `ssl_renegotiation_limit` other than 0. A postmaster
/// logs each and stops (`configuration file "..." contains errors`); a
/// reload skips them.
fn check_parameters(cx: &mut Ctx<'_>) {
    let known = ssl_parameters(cx.version);
    let version = cx.version;
    let bad: Vec<(ConfSetting, String)> = cx
        .conf
        .settings()
        .iter()
        .filter(|s| {
            let n = s.name.to_ascii_lowercase();
            n.starts_with("ssl") && !n.contains('.')
        })
        .filter_map(|s| {
            let n = s.name.to_ascii_lowercase();
            let why = if !known.contains(&n.as_str()) {
                let came = match n.as_str() {
                    "ssl_crl_dir" => " (it came with PostgreSQL 14)",
                    "ssl_groups" | "ssl_tls13_ciphers" => " (it came with PostgreSQL 18)",
                    "sslmode" | "sslrootcert" | "sslcert" | "sslkey" | "sslcrl" | "sslcrldir"
                    | "sslnegotiation" | "sslcertmode" | "sslsni" | "sslcompression"
                    | "sslpassword" => " (it is a libpq connection parameter)",
                    _ => "",
                };
                format!(
                    "unrecognized configuration parameter \"{}\" in file \"{}\" line {}{came}: PostgreSQL {version} refuses to start",
                    s.name, s.file, s.line
                )
            } else if n == "ssl_library" {
                "parameter \"ssl_library\" cannot be changed: the server refuses to start".into()
            } else if n == "ssl_renegotiation_limit" && !is_zero(&s.value) {
                format!(
                    "{} is outside the valid range for parameter \"ssl_renegotiation_limit\" (0 .. 0): the server refuses to start",
                    s.value
                )
            } else {
                return None;
            };
            Some((s.clone(), why))
        })
        .collect();
    for (s, why) in bad {
        cx.push(
            Severity::Error,
            "conf-parameter",
            at(Some(&s)),
            why,
            Some(format!("remove the {} line", s.name)),
        );
    }
}

/// An integer setting that the server reads as 0 (`parse_int` rounds a
/// fraction).
fn is_zero(v: &str) -> bool {
    let v = v.trim();
    v.parse::<i64>().is_ok_and(|n| n == 0)
        || v.parse::<f64>()
            .is_ok_and(|f| f.is_finite() && f.round() == 0.0)
}

/// `ssl_protocol_versions_info`: the rank of a protocol version name
/// (compared without regard to case), `Some(0)` for `''` (any).
fn protocol_rank(v: &str) -> Option<u8> {
    match v.to_ascii_lowercase().as_str() {
        "" => Some(0),
        "tlsv1" => Some(10),
        "tlsv1.1" => Some(11),
        "tlsv1.2" => Some(12),
        "tlsv1.3" => Some(13),
        _ => None,
    }
}

/// `ssl_min_protocol_version` and `ssl_max_protocol_version`. The minimum's
/// default is TLSv1 in PostgreSQL 12 and TLSv1.2 from 13 (commit
/// b1abfec825); it cannot be `''`. A range with the maximum below the
/// minimum stops the server in `be_tls_init`. Below TLSv1.2 is under the
/// floor whatever OpenSSL then does: 1.1.1 accepts TLS 1.0/1.1 at its
/// default security level, OpenSSL 3 only at level 0 (checked against
/// PostgreSQL 15 on OpenSSL 3 and 12 on 1.1.1, pgtls-cli/tests/doctor.rs).
fn check_protocol(cx: &mut Ctx<'_>, ssl: bool) {
    let min = cx.setting("ssl_min_protocol_version").cloned();
    let max = cx.setting("ssl_max_protocol_version").cloned();
    let mut invalid = false;
    for (s, allow_any) in [(&min, false), (&max, true)] {
        let Some(s) = s else { continue };
        let rank = protocol_rank(&s.value);
        if rank.is_none() || (rank == Some(0) && !allow_any) {
            invalid = true;
            cx.push(
                Severity::Error,
                "protocol-invalid",
                at(Some(s)),
                format!(
                    "invalid value for parameter \"{}\": \"{}\": the server refuses to start",
                    s.name, s.value
                ),
                Some(if allow_any {
                    "use TLSv1.2 or TLSv1.3, or '' for no maximum".into()
                } else {
                    "use TLSv1.2 or TLSv1.3".into()
                }),
            );
        }
    }
    if invalid {
        return;
    }
    let default_min = if cx.version >= PgVersion::V13 { 12 } else { 10 };
    let min_rank = min
        .as_ref()
        .and_then(|s| protocol_rank(&s.value))
        .unwrap_or(default_min);
    let max_rank = max
        .as_ref()
        .and_then(|s| protocol_rank(&s.value))
        .unwrap_or(0);
    if ssl && max_rank != 0 && max_rank < min_rank {
        let place = at(max.as_ref());
        cx.push(
            Severity::Error,
            "protocol-range",
            place,
            format!(
                "ssl_max_protocol_version = {} is below ssl_min_protocol_version ({}): the server refuses to start (could not set SSL protocol version range)",
                max.as_ref().map(|s| s.value.as_str()).unwrap_or_default(),
                min.as_ref().map_or("TLSv1.2, the default", |s| s.value.as_str())
            ),
            Some("set ssl_max_protocol_version = '' (no maximum) or at least the minimum".into()),
        );
        return;
    }
    if min_rank >= 12 {
        return;
    }
    let shown = match &min {
        Some(s) => format!("ssl_min_protocol_version = {}", s.value),
        None => format!(
            "ssl_min_protocol_version is not set, and PostgreSQL {}'s default is TLSv1",
            cx.version
        ),
    };
    let seclevel0 = cx
        .setting("ssl_ciphers")
        .is_some_and(|c| c.value.to_ascii_uppercase().contains("@SECLEVEL=0"));
    let effect = if seclevel0 {
        "and ssl_ciphers lowers OpenSSL's security level to 0: clients get in over TLS 1.0/1.1"
    } else {
        "a server on OpenSSL 1.1.1 lets clients in over TLS 1.0/1.1 (OpenSSL 3 refuses them unless ssl_ciphers lowers its security level with @SECLEVEL=0)"
    };
    let place = at(min.as_ref());
    cx.push(
        Severity::Error,
        "protocol-floor",
        if min.is_some() {
            place
        } else {
            (Some(cx.conf.main_file().to_owned()), None)
        },
        format!("{shown}, below TLSv1.2: {effect}"),
        Some("set ssl_min_protocol_version = 'TLSv1.2' or 'TLSv1.3'".into()),
    );
}

/// The lists `be_tls_init` hands to OpenSSL after the key and the protocol
/// range ([`tls_lists`]): the curve (`ssl_ecdh_curve`, 12 to 17) or the
/// groups (`ssl_groups`, 18, where `ssl_ecdh_curve` is its old name and the
/// later line of the two wins), `ssl_ciphers`, and `ssl_tls13_ciphers` (18).
/// Unset, each has a default every OpenSSL takes. Wrong for every OpenSSL:
/// an error (the server refuses to start, and the finding quotes its log
/// line); wrong for some: a warning that it depends on the server's OpenSSL.
fn check_openssl_lists(cx: &mut Ctx<'_>) {
    let v18 = cx.version >= PgVersion::V18;
    let curve = if v18 {
        cx.conf
            .settings()
            .iter()
            .rev()
            .find(|s| {
                s.name.eq_ignore_ascii_case("ssl_groups")
                    || s.name.eq_ignore_ascii_case("ssl_ecdh_curve")
            })
            .cloned()
    } else {
        cx.setting("ssl_ecdh_curve").cloned()
    };
    let mut lists = Vec::new();
    if let Some(s) = curve {
        let (verdict, codes, fix) = if v18 {
            (
                tls_lists::groups(&s.value),
                ("groups-invalid", "groups-openssl", "groups-openssl"),
                "use group names separated by colons that every OpenSSL knows, such as X25519:prime256v1 (the default)",
            )
        } else {
            (
                tls_lists::ecdh_curve(&s.value),
                (
                    "ecdh-curve-invalid",
                    "ecdh-curve-invalid",
                    "ecdh-curve-invalid",
                ),
                "use one curve's OpenSSL short name, such as prime256v1 (the default) or secp384r1",
            )
        };
        let shown = if v18 && s.name.eq_ignore_ascii_case("ssl_ecdh_curve") {
            format!("{} (the old name of ssl_groups)", s.name)
        } else {
            s.name.clone()
        };
        lists.push((s, shown, verdict, codes, fix));
    }
    if let Some(s) = cx.setting("ssl_ciphers").cloned() {
        let shown = s.name.clone();
        lists.push((
            s.clone(),
            shown,
            tls_lists::ciphers(&s.value, v18),
            ("ciphers-invalid", "ciphers-openssl", "ciphers-ignored"),
            "use an OpenSSL cipher string that selects TLS 1.2 ciphers, such as HIGH:MEDIUM:+3DES:!aNULL (the default) or HIGH:!aNULL",
        ));
    }
    if let Some(s) = cx.setting("ssl_tls13_ciphers").filter(|_| v18).cloned() {
        let shown = s.name.clone();
        lists.push((
            s.clone(),
            shown,
            tls_lists::tls13_ciphers(&s.value),
            ("tls13-ciphers-invalid", "tls13-ciphers-openssl", "tls13-ciphers-ignored"),
            "use TLS 1.3 suite names separated by colons, such as TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256, or '' for OpenSSL's default",
        ));
    }
    for (s, shown, verdict, (bad, depends, ignored), fix) in lists {
        match verdict {
            Verdict::Fine => {}
            Verdict::Invalid { why, logged } => cx.push(
                Severity::Error,
                bad,
                at(Some(&s)),
                if why.contains(&logged) {
                    format!("{shown} = '{}': {why}", s.value)
                } else {
                    format!("{shown} = '{}': {why} ({logged})", s.value)
                },
                Some(fix.into()),
            ),
            Verdict::Ignored(why) => cx.push(
                Severity::Warning,
                ignored,
                at(Some(&s)),
                format!("{shown} = '{}': {why}", s.value),
                Some("remove the names OpenSSL ignores (or correct them)".into()),
            ),
            Verdict::Depends(why) => cx.push(
                Severity::Warning,
                depends,
                at(Some(&s)),
                format!(
                    "{shown} = '{}': whether the server takes it depends on the server's OpenSSL: {why}",
                    s.value
                ),
                Some(format!(
                    "check it with the OpenSSL the server links (ldd on its postgres binary), or {fix}"
                )),
            ),
        }
    }
}

/// The server's certificate files. Returns whether `ssl_ca_file` loaded.
fn check_server_files(cx: &mut Ctx<'_>, server_uid: u32) -> bool {
    let Some(cert) = cx.data_file("ssl_cert_file", "server.crt") else {
        cx.push(
            Severity::Error,
            "cert-missing",
            at(cx.setting("ssl_cert_file")),
            "ssl_cert_file is empty: the server refuses to start with ssl = on".into(),
            Some("set ssl_cert_file to the server certificate".into()),
        );
        return false;
    };
    let chain = load_chain(cx, &cert);
    let key = cx.data_file("ssl_key_file", "server.key");
    let key_ok = match &key {
        None => {
            cx.push(
                Severity::Error,
                "key-missing",
                at(cx.setting("ssl_key_file")),
                "ssl_key_file is empty: the server refuses to start with ssl = on".into(),
                Some("set ssl_key_file to the server's private key".into()),
            );
            None
        }
        Some(k) => check_key_permissions(cx, k, server_uid).then(|| read_key(cx, k)),
    };
    if let (Some(chain), Some(Some(pk)), Some(k)) = (&chain, &key_ok, &key)
        && let Some(leaf) = chain.first()
        && !key_matches(leaf, pk)
    {
        cx.push(
            Severity::Error,
            "key-mismatch",
            k.place.clone(),
            format!(
                "the private key {} does not match the certificate {}: the server refuses to start (could not load private key file: key values mismatch)",
                k.path.display(),
                cert.path.display()
            ),
            Some("configure the key the certificate was issued for, or reissue the certificate for this key".into()),
        );
    }
    let ca = cx.data_file("ssl_ca_file", "");
    let ca_certs = match &ca {
        None => None,
        Some(f) => load_ca(cx, f),
    };
    if let Some(chain) = &chain {
        check_leaf(cx, &cert, chain, ca_certs.as_deref().unwrap_or_default());
    }
    if let (Some(f), Some(cas)) = (&ca, &ca_certs) {
        check_crls(cx, f, cas);
    }
    ca_certs.is_some()
}

fn load_chain(cx: &mut Ctx<'_>, f: &FileSetting) -> Option<Vec<Certificate>> {
    let fix = Some(format!(
        "put the server certificate (PEM, leaf first, then intermediates) at {}",
        f.path.display()
    ));
    let data = match std::fs::read(&f.path) {
        Ok(d) => d,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                "cert-missing"
            } else {
                "cert-unreadable"
            };
            cx.push(
                Severity::Error,
                code,
                f.place.clone(),
                format!(
                    "could not load server certificate file \"{}\": {}: the server refuses to start ({})",
                    f.path.display(),
                    strerror(&e),
                    f.named
                ),
                fix,
            );
            return None;
        }
    };
    let certs: Vec<Certificate> = match read_x509_info(&data) {
        Ok(blocks) => blocks
            .into_iter()
            .filter_map(|b| match b {
                X509InfoBlock::Certificate { der, .. } => Certificate::from_der(&der).ok(),
                X509InfoBlock::Crl(_) => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    if certs.is_empty() {
        cx.push(
            Severity::Error,
            "cert-invalid",
            f.place.clone(),
            format!(
                "could not load server certificate file \"{}\": no PEM certificate in it: the server refuses to start ({})",
                f.path.display(),
                f.named
            ),
            fix,
        );
        return None;
    }
    Some(certs)
}

/// `check_ssl_key_file_permissions`.
fn check_key_permissions(cx: &mut Ctx<'_>, f: &FileSetting, server_uid: u32) -> bool {
    let p = f.path.display().to_string();
    let meta = match std::fs::metadata(&f.path) {
        Ok(m) => m,
        Err(e) => {
            cx.push(
                Severity::Error,
                if e.kind() == std::io::ErrorKind::NotFound {
                    "key-missing"
                } else {
                    "key-unreadable"
                },
                f.place.clone(),
                format!(
                    "could not access private key file \"{p}\": {}: the server refuses to start ({})",
                    strerror(&e),
                    f.named
                ),
                Some(format!("put the server's private key at {p}")),
            );
            return false;
        }
    };
    if !meta.is_file() {
        cx.push(
            Severity::Error,
            "key-not-regular",
            f.place.clone(),
            format!("private key file \"{p}\" is not a regular file: the server refuses to start"),
            Some(format!("put the server's private key at {p}")),
        );
        return false;
    }
    let (uid, mode) = (meta.uid(), meta.mode());
    if uid != server_uid && uid != 0 {
        cx.push(
            Severity::Error,
            "key-owner",
            f.place.clone(),
            format!(
                "private key file \"{p}\" must be owned by the database user or root (it is owned by uid {uid}; the server runs as uid {server_uid}, the data directory's owner): the server refuses to start"
            ),
            Some(format!("chown the key to the server's user (uid {server_uid}) and chmod 0600 {p}")),
        );
        return false;
    }
    let open = if uid == server_uid {
        mode & 0o077 != 0
    } else {
        mode & 0o037 != 0
    };
    if open {
        cx.push(
            Severity::Error,
            "key-mode",
            f.place.clone(),
            format!(
                "private key file \"{p}\" has group or world access (mode {:04o}): the server refuses to start. File must have permissions u=rw (0600) or less if owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root.",
                mode & 0o7777
            ),
            Some(format!("chmod 0600 {p}")),
        );
        return false;
    }
    true
}

/// The public key bytes of the private key (as in the certificate's
/// subjectPublicKey BIT STRING), or `None` after a finding.
fn read_key(cx: &mut Ctx<'_>, f: &FileSetting) -> Option<Vec<u8>> {
    let p = f.path.display().to_string();
    let data = match std::fs::read(&f.path) {
        Ok(d) => d,
        Err(e) => {
            cx.push(
                Severity::Error,
                "key-unreadable",
                f.place.clone(),
                format!("could not load private key file \"{p}\": {}", strerror(&e)),
                None,
            );
            return None;
        }
    };
    let blocks = pgtls_x509::pem::parse(&data).unwrap_or_default();
    let block = blocks.iter().find(|b| b.label.ends_with("PRIVATE KEY"));
    let Some(block) = block else {
        cx.push(
            Severity::Error,
            "key-invalid",
            f.place.clone(),
            format!("could not load private key file \"{p}\": no PEM private key in it: the server refuses to start"),
            Some(format!("put the server's private key (PEM) at {p}")),
        );
        return None;
    };
    if block.label == "ENCRYPTED PRIVATE KEY" || block.has_headers {
        let has_command = cx
            .setting("ssl_passphrase_command")
            .is_some_and(|s| !s.value.is_empty());
        if !has_command {
            cx.push(
                Severity::Error,
                "key-encrypted",
                f.place.clone(),
                format!("private key file \"{p}\" is encrypted and no ssl_passphrase_command is set: a server started without a terminal cannot read it"),
                Some("set ssl_passphrase_command, or store the key unencrypted (mode 0600)".into()),
            );
        }
        return None;
    }
    let public = public_key_of(&block.label, &block.der);
    if public.is_none() {
        cx.push(
            Severity::Error,
            "key-invalid",
            f.place.clone(),
            format!("could not load private key file \"{p}\": the key does not parse: the server refuses to start"),
            Some(format!("put the server's private key (PEM) at {p}")),
        );
    }
    public
}

fn public_key_of(label: &str, der: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::signature::{self, KeyPair};
    match label {
        "RSA PRIVATE KEY" => signature::RsaKeyPair::from_der(der)
            .ok()
            .map(|k| k.public_key().as_ref().to_vec()),
        "EC PRIVATE KEY" | "PRIVATE KEY" => {
            if label == "PRIVATE KEY" {
                if let Ok(k) = signature::RsaKeyPair::from_pkcs8(der) {
                    return Some(k.public_key().as_ref().to_vec());
                }
                if let Ok(k) = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                    return Some(k.public_key().as_ref().to_vec());
                }
            }
            for alg in [
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            ] {
                if let Ok(k) = signature::EcdsaKeyPair::from_private_key_der(alg, der) {
                    return Some(k.public_key().as_ref().to_vec());
                }
            }
            None
        }
        _ => None,
    }
}

/// The subjectPublicKey bits of a certificate.
fn spki_bits(cert: &Certificate) -> Option<Vec<u8>> {
    use pgtls_x509::der;
    let spki = der::read_all(&cert.public_key().der).ok()?;
    let parts = der::children(spki.content).ok()?;
    let bits = parts.get(1)?;
    let (unused, rest) = bits.content.split_first()?;
    (*unused == 0).then(|| rest.to_vec())
}

fn key_matches(leaf: &Certificate, public: &[u8]) -> bool {
    spki_bits(leaf).is_some_and(|b| b == public)
}

fn load_ca(cx: &mut Ctx<'_>, f: &FileSetting) -> Option<Vec<Certificate>> {
    let p = f.path.display().to_string();
    let data = match std::fs::read(&f.path) {
        Ok(d) => d,
        Err(e) => {
            cx.push(
                Severity::Error,
                "ca-file-unreadable",
                f.place.clone(),
                format!(
                    "could not load root certificate file \"{p}\": {}: the server refuses to start ({})",
                    strerror(&e),
                    f.named
                ),
                Some(format!("put the CA certificates for client certificates at {p}, or unset ssl_ca_file")),
            );
            return None;
        }
    };
    let certs: Vec<Certificate> = read_x509_info(&data)
        .map(|blocks| {
            blocks
                .into_iter()
                .filter_map(|b| match b {
                    X509InfoBlock::Certificate { der, .. } => Certificate::from_der(&der).ok(),
                    X509InfoBlock::Crl(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if certs.is_empty() {
        cx.push(
            Severity::Error,
            "ca-file-invalid",
            f.place.clone(),
            format!("could not load root certificate file \"{p}\": no certificate in it: the server refuses to start"),
            Some(format!("put the CA certificates (PEM) at {p}, or unset ssl_ca_file")),
        );
        return None;
    }
    Some(certs)
}

fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn check_leaf(cx: &mut Ctx<'_>, f: &FileSetting, chain: &[Certificate], cas: &[Certificate]) {
    let Some(leaf) = chain.first() else { return };
    let now = cx.input.at;
    let subject = leaf.subject_text();
    let reissue = Some(format!(
        "issue a new server certificate and install it at {}, then reload the server",
        f.path.display()
    ));
    if leaf.not_after() < now {
        cx.push(
            Severity::Error,
            "cert-expired",
            f.place.clone(),
            format!(
                "the server certificate ({subject}) expired at {}: clients that verify it (verify-ca, verify-full) refuse the server",
                fmt_time(leaf.not_after())
            ),
            reissue,
        );
    } else if leaf.not_before() > now {
        cx.push(
            Severity::Error,
            "cert-not-yet-valid",
            f.place.clone(),
            format!(
                "the server certificate ({subject}) is not valid before {}: clients that verify it refuse the server",
                fmt_time(leaf.not_before())
            ),
            reissue,
        );
    } else if leaf.not_after() - now < CERT_WARN_DAYS * 86_400 {
        cx.push(
            Severity::Warning,
            "cert-expiring",
            f.place.clone(),
            format!(
                "the server certificate ({subject}) expires at {}, within {CERT_WARN_DAYS} days",
                fmt_time(leaf.not_after())
            ),
            reissue,
        );
    }
    // The chain the server sends, and where the issuers are.
    let extras = &chain[1..];
    let served: &[Certificate] = if extras.is_empty() { cas } else { extras };
    let find = |c: &Certificate, set: &[Certificate]| -> Option<Certificate> {
        set.iter()
            .find(|i| i.subject().matches(c.issuer()) && c.is_signed_by(i))
            .cloned()
    };
    let mut current = leaf.clone();
    let mut seen = 0;
    // The CA of the path (as far as it is known) that ends first, if before the leaf.
    let mut first_end: Option<Certificate> = None;
    let mut note_end = |i: &Certificate| {
        if i.not_after() < leaf.not_after()
            && first_end
                .as_ref()
                .is_none_or(|e| i.not_after() < e.not_after())
        {
            first_end = Some(i.clone());
        }
    };
    while !current.is_self_issued() && seen < 16 {
        seen += 1;
        if let Some(i) = find(&current, served) {
            note_end(&i);
            current = i;
            continue;
        }
        if let Some(i) = find(&current, cas) {
            note_end(&i);
            if !i.is_self_issued() {
                cx.push(
                    Severity::Error,
                    "chain-incomplete",
                    f.place.clone(),
                    format!(
                        "the server sends its certificate without the intermediate CA {} (it is in ssl_ca_file, not in {}): clients that trust only the root cannot verify the server",
                        i.subject_text(),
                        f.path.display()
                    ),
                    Some(format!(
                        "append the intermediate certificates (leaf first, then each issuer) to {}",
                        f.path.display()
                    )),
                );
                // Its issuers, for their ends.
                let mut up = i;
                let mut more = 0;
                while !up.is_self_issued() && more < 16 {
                    more += 1;
                    match find(&up, cas) {
                        Some(n) => {
                            note_end(&n);
                            up = n;
                        }
                        None => break,
                    }
                }
            }
            break;
        }
        cx.push(
            Severity::Warning,
            "chain-unknown-issuer",
            f.place.clone(),
            format!(
                "the issuer {} of {} is neither in {} nor in ssl_ca_file: unless it is a root the clients trust, clients cannot verify the server",
                current.issuer().oneline(),
                current.subject_text(),
                f.path.display()
            ),
            Some(format!(
                "append the intermediate certificates to {}",
                f.path.display()
            )),
        );
        break;
    }
    if let Some(issuer) = first_end {
        outlives(cx, f, leaf, &issuer, now);
    }
    for host in &cx.input.hosts {
        let Ok(l) = Leaf::from_der(leaf.der()) else {
            break;
        };
        if let HostCheck::Reject(msg) = l.check(host, cx.version) {
            cx.push(
                Severity::Error,
                "host-not-covered",
                f.place.clone(),
                format!("clients connecting to \"{host}\" with sslmode=verify-full refuse the server: {msg}"),
                Some(format!(
                    "issue the server certificate with {host} among its subject alternative names"
                )),
            );
        }
    }
}

fn outlives(cx: &mut Ctx<'_>, f: &FileSetting, leaf: &Certificate, issuer: &Certificate, now: i64) {
    let when = if issuer.not_after() < now {
        "it has expired, and clients that verify (verify-ca, verify-full) refuse the server now"
    } else {
        "from then on clients that verify (verify-ca, verify-full) refuse the server"
    };
    cx.push(
        Severity::Error,
        "cert-outlives-issuer",
        f.place.clone(),
        format!(
            "the server certificate ends at {} but the CA {} of its chain ends at {}: {when} (certificate has expired)",
            fmt_time(leaf.not_after()),
            issuer.subject_text(),
            fmt_time(issuer.not_after())
        ),
        Some("reissue the server certificate to end before its CA, and renew the CA in time".into()),
    );
}

/// Every CRL the server loads: from `ssl_crl_file` (and the CA file) and
/// `ssl_crl_dir` (`HASH.rN`).
fn check_crls(cx: &mut Ctx<'_>, ca_file: &FileSetting, cas: &[Certificate]) {
    let crl_file = cx.data_file("ssl_crl_file", "");
    let crl_dir = cx.data_file("ssl_crl_dir", "");
    if crl_file.is_none() && crl_dir.is_none() {
        return;
    }
    // (crl, where it came from, whether only CAs of this hash may use it)
    let mut crls: Vec<(Crl, String, Option<u32>)> = Vec::new();
    let read_crls = |data: &[u8]| -> Vec<Crl> {
        read_x509_info(data)
            .map(|bs| {
                bs.into_iter()
                    .filter_map(|b| match b {
                        X509InfoBlock::Crl(der) => Crl::from_der(&der).ok(),
                        X509InfoBlock::Certificate { .. } => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    if let Ok(data) = std::fs::read(&ca_file.path) {
        for c in read_crls(&data) {
            crls.push((c, ca_file.path.display().to_string(), None));
        }
    }
    if let Some(f) = &crl_file {
        match std::fs::read(&f.path) {
            Ok(data) => {
                let found = read_crls(&data);
                // X509_load_cert_crl_file fails when it finds nothing it can load.
                if read_x509_info(&data).map_or(true, |b| b.is_empty()) {
                    cx.push(
                        Severity::Error,
                        "crl-file-invalid",
                        f.place.clone(),
                        format!(
                            "could not load SSL certificate revocation list file \"{}\": no PEM CRL in it: the server refuses to start ({})",
                            f.path.display(),
                            f.named
                        ),
                        Some(format!("publish the CRL (PEM) at {}, or unset ssl_crl_file", f.path.display())),
                    );
                    return;
                }
                for c in found {
                    crls.push((c, f.path.display().to_string(), None));
                }
            }
            Err(e) => {
                cx.push(
                    Severity::Error,
                    "crl-file-unreadable",
                    f.place.clone(),
                    format!(
                        "could not load SSL certificate revocation list file \"{}\": {}: the server refuses to start ({})",
                        f.path.display(),
                        strerror(&e),
                        f.named
                    ),
                    Some(format!("publish the CRL at {}, or unset ssl_crl_file", f.path.display())),
                );
                return;
            }
        }
    }
    if let Some(d) = &crl_dir
        && let Ok(rd) = std::fs::read_dir(&d.path)
    {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((hash, n)) = name.split_once(".r") else {
                continue;
            };
            if hash.len() != 8 || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(h) = u32::from_str_radix(hash, 16) else {
                continue;
            };
            if let Ok(data) = std::fs::read(e.path()) {
                for c in read_crls(&data) {
                    crls.push((c, e.path().display().to_string(), Some(h)));
                }
            }
        }
    }
    let place = crl_file.as_ref().map_or_else(
        || {
            crl_dir
                .as_ref()
                .map(|d| d.place.clone())
                .unwrap_or_default()
        },
        |f| f.place.clone(),
    );
    let now = cx.input.at;
    let mut used = BTreeSet::new();
    for ca in cas {
        let candidates: Vec<usize> = crls
            .iter()
            .enumerate()
            .filter(|(_, (c, _, h))| {
                c.issuer().matches(ca.subject()) && h.is_none_or(|h| h == ca.subject_hash())
            })
            .map(|(i, _)| i)
            .collect();
        let signed: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|i| crls[*i].0.is_signed_by(ca))
            .collect();
        used.extend(candidates.iter().copied());
        let name = ca.subject_text();
        if signed.is_empty() {
            if let Some(i) = candidates.first() {
                cx.push(
                    Severity::Error,
                    "crl-bad-signature",
                    place.clone(),
                    format!(
                        "the CRL for {name} in {} is not signed by that CA: clients with its certificates are refused (CRL signature failure)",
                        crls[*i].1
                    ),
                    Some(format!("publish a CRL signed by {name}")),
                );
            } else {
                cx.push(
                    Severity::Error,
                    "crl-missing",
                    place.clone(),
                    format!(
                        "a CRL is configured but none is from {name} (in ssl_ca_file): the server checks every level of a client's chain, so clients with certificates under this CA are refused (unable to get certificate CRL)"
                    ),
                    Some(format!(
                        "add a current CRL of {name} to the CRL file (or directory), or remove the CA from ssl_ca_file"
                    )),
                );
            }
            continue;
        }
        // The most recent of the CRLs signed by this CA.
        let Some(best) = signed
            .iter()
            .map(|i| &crls[*i])
            .max_by_key(|(c, _, _)| c.this_update())
        else {
            continue;
        };
        let (crl, from, _) = best;
        match crl.time_at(now, None) {
            CrlTime::NotYetValid => cx.push(
                Severity::Error,
                "crl-not-yet-valid",
                place.clone(),
                format!("the CRL of {name} in {from} is not valid before {}: clients with its certificates are refused (CRL is not yet valid)", fmt_time(crl.this_update())),
                Some(format!("publish a current CRL of {name}")),
            ),
            CrlTime::Expired => cx.push(
                Severity::Error,
                "crl-expired",
                place.clone(),
                format!(
                    "the CRL of {name} in {from} expired at {}: clients with its certificates are refused (CRL has expired)",
                    crl.next_update().map(fmt_time).unwrap_or_default()
                ),
                Some(format!("publish a new CRL of {name} (pgtls crl) and reload the server")),
            ),
            CrlTime::Due => cx.push(
                Severity::Warning,
                "crl-expiring",
                place.clone(),
                format!(
                    "the CRL of {name} in {from} expires at {}, within its renewal window (a third of its period, at least a day): from then on clients with its certificates are refused (CRL has expired)",
                    crl.next_update().map(fmt_time).unwrap_or_default()
                ),
                Some(format!(
                    "publish a new CRL of {name} (pgtls crl) and reload the server"
                )),
            ),
            _ => {}
        }
    }
    for (i, (c, from, _)) in crls.iter().enumerate() {
        if !used.contains(&i) {
            cx.push(
                Severity::Warning,
                "crl-unknown-issuer",
                place.clone(),
                format!(
                    "the CRL from {} in {from} belongs to no CA in ssl_ca_file",
                    c.issuer().oneline()
                ),
                None,
            );
        }
    }
}

fn resolve_server_path(cx: &Ctx<'_>, name: &str, default: &str) -> (PathBuf, Option<String>) {
    match cx.setting(name) {
        // The default is next to postgresql.conf (the server's configdir).
        None => (cx.config_dir.join(default), None),
        Some(s) if s.value.starts_with('/') => (PathBuf::from(&s.value), None),
        Some(s) => {
            let (base, said) = match &cx.input.server_cwd {
                Some(c) => (c.clone(), "the directory the server is started from"),
                None => (
                    cx.dir.clone(),
                    "assumed here to be the data directory; the server resolves it against the directory it is started from",
                ),
            };
            let p = base.join(&s.value);
            let note = format!(
                "{name} = '{}' is relative: read as {} ({said})",
                s.value,
                p.display()
            );
            (p, Some(note))
        }
    }
}

fn check_hba(cx: &mut Ctx<'_>, ssl: bool, ca_loaded: bool) {
    let version = cx.version;
    let (hba_path, hba_note) = resolve_server_path(cx, "hba_file", "pg_hba.conf");
    let (ident_path, ident_note) = resolve_server_path(cx, "ident_file", "pg_ident.conf");
    for (note, name) in [(hba_note, "hba_file"), (ident_note, "ident_file")] {
        if let Some(n) = note {
            let place = at(cx.setting(name));
            cx.push(
                Severity::Warning,
                "relative-path",
                place,
                n,
                Some(format!("use an absolute path for {name}")),
            );
        }
    }
    let hba_name = hba_path.display().to_string();
    let text = match std::fs::read(&hba_path) {
        Ok(t) => t,
        Err(e) => {
            cx.push(
                Severity::Error,
                "hba-unreadable",
                (Some(hba_name.clone()), None),
                format!(
                    "could not open configuration file \"{hba_name}\": {}: the server refuses to start (could not load pg_hba.conf)",
                    strerror(&e)
                ),
                Some(format!("put pg_hba.conf at {hba_name} or set hba_file")),
            );
            return;
        }
    };
    let ident_name = ident_path.display().to_string();
    let ident = match std::fs::read(&ident_path) {
        Ok(t) => Some(IdentFile::parse(&ident_name, &t, version, &FsSource)),
        Err(e) => {
            cx.push(
                Severity::Error,
                "ident-unreadable",
                (Some(ident_name.clone()), None),
                format!(
                    "could not open usermap file \"{ident_name}\": {}: every map= login fails",
                    strerror(&e)
                ),
                Some(format!(
                    "put pg_ident.conf at {ident_name} or set ident_file"
                )),
            );
            None
        }
    };
    if let Some(id) = &ident
        && let Err(l) = id.load()
    {
        let msg = l
            .result
            .as_ref()
            .err()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        cx.push(
            Severity::Error,
            "ident-not-loading",
            (Some(l.file.clone()), Some(l.line_number)),
            format!("pg_ident.conf does not load ({msg}): the server uses no user maps, so every map= login fails"),
            Some("correct the line".into()),
        );
    }
    let mut settings = ServerSettings::new(version, ssl);
    if let Some(libs) = cx.setting("oauth_validator_libraries") {
        settings.oauth_validator_libraries.clone_from(&libs.value);
    }
    let hba = HbaFile::parse(&hba_name, &text, settings, &FsSource);
    if let Err(l) = hba.load() {
        let msg = l
            .result
            .as_ref()
            .err()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        cx.push(
            Severity::Error,
            "hba-not-loading",
            (Some(l.file.clone()), Some(l.line_number)),
            format!("{msg}: the server refuses to start (could not load pg_hba.conf)"),
            Some("correct the line".into()),
        );
    }
    for (l, r) in hba.rules() {
        let wants_cert = r.method == AuthMethod::Cert || r.options.clientcert != ClientCert::Off;
        if wants_cert && !ca_loaded {
            cx.push(
                Severity::Error,
                "cert-without-ca",
                (Some(l.file.clone()), Some(l.line_number)),
                "this line checks client certificates but no ssl_ca_file is loaded: every client it matches is refused (client certificates can only be checked if a root certificate store is available)".into(),
                Some("set ssl_ca_file to the CA that issues the client certificates".into()),
            );
        }
    }
    let usable_ident = ident.as_ref().filter(|i| i.load().is_ok());
    for f in lint(&hba, usable_ident) {
        let (severity, code) = match f.code {
            "no-tls" => (Severity::Error, "hba-no-tls"),
            "missing-map" => (Severity::Error, "hba-missing-map"),
            "invalid-line" | "cert-not-tls" | "empty" => continue, // hba-not-loading says it
            "tls-required" => (Severity::Info, "hba-tls-required"),
            "tls-undecided" => (Severity::Info, "hba-tls-undecided"),
            // Without TLS, hba-no-tls (an error) already says it; over TLS it is weak.
            "trust-tcp" => (Severity::Warning, "hba-trust-tcp"),
            other => (
                match f.severity {
                    pgtls_hba::Severity::Error => Severity::Error,
                    pgtls_hba::Severity::Warning => Severity::Warning,
                    _ => Severity::Info,
                },
                hba_code(other),
            ),
        };
        let message = match &f.witness {
            Some(w) => format!("{} (for example: {w})", f.message),
            None => f.message.clone(),
        };
        let fix = match code {
            "hba-no-tls" | "hba-trust-tcp" => Some(
                "make the line hostssl (or add `hostnossl all all 0.0.0.0/0 reject` and `hostnossl all all ::/0 reject` before it): pgtls hba enforce-tls".into(),
            ),
            "hba-missing-map" => Some("define the map in pg_ident.conf or correct map=".into()),
            _ => None,
        };
        cx.push(
            severity,
            code,
            (Some(f.file.clone()), (f.line > 0).then_some(f.line)),
            message,
            fix,
        );
    }
    if hba.load().is_ok() && hba.lines().is_empty() {
        cx.push(
            Severity::Error,
            "hba-not-loading",
            (Some(hba_name), None),
            "pg_hba.conf contains no entries: the server refuses to start".into(),
            Some("add the lines clients need".into()),
        );
    }
}

/// The doctor's (and the audit's) code for a linter code.
pub(crate) fn hba_code(code: &str) -> &'static str {
    match code {
        "hostssl-ssl-off" => "hba-hostssl-ssl-off",
        "shadowed" => "hba-shadowed",
        "weak-password" => "hba-weak-password",
        "empty-map" => "hba-empty-map",
        "verify-ca-trust" => "hba-verify-ca-trust",
        "clientname-unused" => "hba-clientname-unused",
        "wide-weak" => "hba-wide-weak",
        "quoted-keyword" => "hba-quoted-keyword",
        "not-analysed" => "hba-not-analysed",
        _ => "hba-other",
    }
}
