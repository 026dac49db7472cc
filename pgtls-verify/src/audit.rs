//! `pgtls audit`: what a running server shows about its TLS, judged as the
//! guides judge it by hand: the `ssl*` settings, the sessions that are not TLS
//! (`pg_stat_ssl` joined with `pg_stat_activity`), the rules of pg_hba.conf
//! through pgtls-hba's linter (with its witness connection for every path that
//! authenticates without TLS), and the expiry of the chain the server sent.
//!
//! This module decides; it does no I/O. The facts come in an [`AuditInput`]
//! (pgtls-postgres's `audit` feature fills one from a live connection made
//! with libpq's semantics), and [`evaluate`] turns them into a [`Report`],
//! the one serde shape `pgtls audit --json` prints.
//!
//! # pg_hba.conf: the file, or the view
//!
//! The rules come from the file itself when the server lets the auditor read
//! it (`pg_read_binary_file(hba_file)`, with every `@file` and, from 16, every
//! `include*` it names, read the same way): the linter then sees exactly the
//! bytes the server parses, quoting and every option included. They are
//! cross-checked against `pg_hba_file_rules` row by row (pgtls renders the
//! view's rows from the file, see [`pgtls_hba::HbaFile::view_rows`]); a
//! disagreement is a finding. Only when the file cannot be read but the view
//! can are the rules rebuilt from the view's rows. The view loses quoting
//! (`"all"` and `all` look the same), `clientname` and a few other options
//! it never shows; a rebuilt rule writes every keyword unquoted, which can
//! only make it match more connections, so a path without TLS is never
//! missed, at worst reported where a quoted name would have closed it.
//! Options are written back as the server reads them (the view's
//! `include_realm=true` is `include_realm=1`, its absence for gss/sspi
//! `include_realm=0`; `ldapscope`, settable only through `ldapurl`, is left
//! out); every loadable rule of the pg_hba corpus rebuilt this way gives its
//! view row back (a unit test, on 12, 15 and 17).
//!
//! Both sources show the file on disk, not the rules in force: the view
//! re-reads the file when queried, and the server keeps its previous rules
//! when a reload finds an error. When the file's modification time is later
//! than `pg_conf_load_time()` the report says the two may differ.
//!
//! # Severity
//!
//! `error` exactly when a client is let in without TLS over TCP (a session
//! seen in `pg_stat_ssl` without TLS, a pg_hba.conf rule the linter finds a
//! TCP connection without TLS for) or the served chain has expired; `warning`
//! for what is weak, soon due, or could not be examined; `info` for context.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use pgtls_hba::{DirEntry, HbaFile, IdentFile, ServerSettings, Source, SourceError, lint};
use serde::Serialize;

use crate::PgVersion;
use crate::doctor::{CERT_WARN_DAYS, Severity};

/// The version of [`Report`]'s JSON shape.
pub const SCHEMA_VERSION: u32 = 1;

/// A fact the server gave, or the server's (or pgtls's) reason it did not.
pub type Fetched<T> = Result<T, String>;

const NOT_READ: &str = "not read";

/// Everything [`evaluate`] looks at, as read from a running server.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuditInput {
    /// The time to judge validity at, in seconds since the epoch.
    pub now: i64,
    /// `server_version` (`15.18 (Debian ...)`).
    pub server_version: String,
    /// `server_version_num` (`150018`).
    pub server_version_num: u32,
    /// The role the audit connected as (`current_user`).
    pub user: String,
    /// Whether that role is a superuser.
    pub superuser: bool,
    /// Whether it has the privileges of `pg_read_all_settings`.
    pub read_all_settings: bool,
    /// Whether it has the privileges of `pg_read_all_stats`.
    pub read_all_stats: bool,
    /// Whether it has the privileges of `pg_read_server_files`.
    pub read_server_files: bool,
    /// `pg_backend_pid()` of the audit's own session.
    pub backend_pid: i32,
    /// `pg_conf_load_time()`, seconds since the epoch.
    pub conf_load_time: Option<f64>,
    /// How the audit itself is connected.
    pub connection: Connection,
    /// The rows of `pg_settings` the audit asked for.
    pub settings: Fetched<Vec<SettingRow>>,
    /// `pg_stat_activity` left-joined with `pg_stat_ssl` and `pg_stat_gssapi`.
    pub sessions: Fetched<Vec<SessionRow>>,
    /// `row_to_json` of every row of `pg_hba_file_rules`, in order.
    pub hba_rules: Fetched<Vec<String>>,
    /// The files `pg_read_binary_file` gave: `hba_file`, `ident_file` and what
    /// they reference.
    pub files: ServerFiles,
    /// The modification time of `hba_file` (`pg_stat_file`), seconds since the epoch.
    pub hba_mtime: Option<Fetched<f64>>,
}

impl AuditInput {
    /// No facts yet, judged at `now` (seconds since the epoch).
    pub fn new(now: i64) -> Self {
        Self {
            now,
            server_version: String::new(),
            server_version_num: 0,
            user: String::new(),
            superuser: false,
            read_all_settings: false,
            read_all_stats: false,
            read_server_files: false,
            backend_pid: 0,
            conf_load_time: None,
            connection: Connection::default(),
            settings: Err(NOT_READ.to_owned()),
            sessions: Err(NOT_READ.to_owned()),
            hba_rules: Err(NOT_READ.to_owned()),
            files: ServerFiles::default(),
            hba_mtime: None,
        }
    }

    /// The server's major version as pgtls models it (the nearest of 12 to 18).
    pub fn version(&self) -> PgVersion {
        let major = self.server_version_num / 10_000;
        PgVersion::new(major).unwrap_or(if major < 12 {
            PgVersion::OLDEST
        } else {
            PgVersion::NEWEST
        })
    }

    /// A setting's value, when `pg_settings` showed it.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings
            .as_ref()
            .ok()?
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.setting.as_deref())
    }

    fn setting_row(&self, name: &str) -> Option<&SettingRow> {
        self.settings.as_ref().ok()?.iter().find(|s| s.name == name)
    }

    fn settings_for_hba(&self) -> ServerSettings {
        let mut s = ServerSettings::new(self.version(), self.setting("ssl") == Some("on"));
        s.db_user_namespace = self.setting("db_user_namespace") == Some("on");
        s
    }

    /// Files and directories the hba and ident files reference that are not in
    /// [`AuditInput::files`] yet: read them (`pg_read_binary_file`, `pg_ls_dir`),
    /// insert them, and ask again until none is left.
    pub fn files_wanted(&self) -> Vec<Wanted> {
        for (name, ident) in [("hba_file", false), ("ident_file", true)] {
            let Some(path) = self.setting(name) else {
                continue;
            };
            match self.files.files.get(path) {
                None => {
                    self.files.want(Wanted::File(path.to_owned()));
                }
                Some(Ok(text)) if ident => {
                    let _ = IdentFile::parse(path, text, self.version(), &self.files);
                }
                Some(Ok(text)) => {
                    let _ = HbaFile::parse(path, text, self.settings_for_hba(), &self.files);
                }
                Some(Err(_)) => {}
            }
        }
        self.files.wanted.take().into_iter().collect()
    }
}

/// How the audit's own connection reached the server.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Connection {
    /// The connection uses TLS.
    pub tls: bool,
    /// Over a Unix-domain socket.
    pub unix_socket: bool,
    /// The host as given in the conninfo.
    pub host: Option<String>,
    /// The address connected to.
    pub address: Option<String>,
    /// The port.
    pub port: u16,
    /// The negotiated protocol (`TLSv1.3`).
    pub protocol: Option<String>,
    /// The chain the server sent in the handshake (DER, leaf first).
    pub chain: Vec<crate::CertificateDer<'static>>,
}

/// One row of `pg_settings`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingRow {
    /// `name`.
    pub name: String,
    /// `setting`.
    pub setting: Option<String>,
    /// `source` (`default`, `configuration file`, ...).
    pub source: Option<String>,
    /// `sourcefile` (shown only to roles with `pg_read_all_settings`).
    pub sourcefile: Option<String>,
    /// `sourceline`.
    pub sourceline: Option<i32>,
}

impl SettingRow {
    /// A row with a name and a value.
    pub fn new(name: impl Into<String>, setting: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            setting: Some(setting.into()),
            ..Self::default()
        }
    }
}

/// One row of `pg_stat_activity` with its `pg_stat_ssl` and `pg_stat_gssapi`
/// columns (`NULL`s where the server hides them from the auditor).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionRow {
    /// `pid`.
    pub pid: i32,
    /// `usename`.
    pub user: Option<String>,
    /// `datname`.
    pub database: Option<String>,
    /// `host(client_addr)`.
    pub client_addr: Option<String>,
    /// `client_port` (-1 for a Unix-domain socket).
    pub client_port: Option<i32>,
    /// `application_name`.
    pub application_name: Option<String>,
    /// `backend_type`.
    pub backend_type: Option<String>,
    /// `pg_stat_ssl.ssl`.
    pub ssl: Option<bool>,
    /// `pg_stat_ssl.version`.
    pub tls_version: Option<String>,
    /// `pg_stat_ssl.cipher`.
    pub cipher: Option<String>,
    /// `pg_stat_ssl.client_dn`.
    pub client_dn: Option<String>,
    /// `pg_stat_gssapi.encrypted`.
    pub gss_encrypted: Option<bool>,
}

impl SessionRow {
    /// A row for `pid` with every other column `NULL`.
    pub fn new(pid: i32) -> Self {
        Self {
            pid,
            ..Self::default()
        }
    }
}

/// A file or directory the server could not give.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileError {
    /// The server's message.
    pub message: String,
    /// The file does not exist (what `include_if_exists` skips).
    pub not_found: bool,
}

impl FileError {
    /// A failure with the server's message.
    pub fn new(message: impl Into<String>, not_found: bool) -> Self {
        Self {
            message: message.into(),
            not_found,
        }
    }
}

/// Something [`AuditInput::files_wanted`] asks for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Wanted {
    /// A file's contents.
    File(String),
    /// A directory's entries, and which of them are directories.
    Dir(String),
}

/// The server's files as `pg_read_binary_file` and `pg_ls_dir` gave them: the
/// [`Source`] pg_hba.conf and pg_ident.conf are parsed with.
#[derive(Clone, Debug, Default)]
pub struct ServerFiles {
    files: BTreeMap<String, Result<Vec<u8>, FileError>>,
    dirs: BTreeMap<String, Result<Vec<DirEntry>, FileError>>,
    wanted: RefCell<BTreeSet<Wanted>>,
}

impl ServerFiles {
    /// Records a file's contents or why it could not be read.
    pub fn insert_file(&mut self, path: impl Into<String>, contents: Result<Vec<u8>, FileError>) {
        self.files.insert(path.into(), contents);
    }

    /// Records a directory's entries (`(name, is a directory)`) or why it could
    /// not be listed.
    pub fn insert_dir(
        &mut self,
        path: impl Into<String>,
        entries: Result<Vec<(String, bool)>, FileError>,
    ) {
        let entries = entries.map(|v| {
            v.into_iter()
                .map(|(n, d)| DirEntry::new(n, d))
                .collect::<Vec<_>>()
        });
        self.dirs.insert(path.into(), entries);
    }

    /// A file as it was recorded.
    pub fn file(&self, path: &str) -> Option<&Result<Vec<u8>, FileError>> {
        self.files.get(path)
    }

    fn want(&self, w: Wanted) {
        self.wanted.borrow_mut().insert(w);
    }
}

fn source_error(e: &FileError) -> SourceError {
    if e.not_found {
        SourceError::not_found()
    } else {
        SourceError::other(e.message.clone())
    }
}

impl Source for ServerFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        match self.files.get(path) {
            Some(Ok(b)) => Ok(b.clone()),
            Some(Err(e)) => Err(source_error(e)),
            None => {
                self.want(Wanted::File(path.to_owned()));
                Err(SourceError::not_found())
            }
        }
    }

    fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, SourceError> {
        match self.dirs.get(path) {
            Some(Ok(v)) => Ok(v.clone()),
            Some(Err(e)) => Err(source_error(e)),
            None => {
                self.want(Wanted::Dir(path.to_owned()));
                Err(SourceError::not_found())
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The report.

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Finding {
    /// Severity.
    pub severity: Severity,
    /// A stable code (`session-no-tls`, `hba-no-tls`, `chain-expired`, ...).
    pub code: &'static str,
    /// The file the finding is about, when there is one.
    pub file: Option<String>,
    /// The line in `file`, when there is one.
    pub line: Option<u32>,
    /// What is wrong, and what it means for clients.
    pub message: String,
    /// What to do.
    pub fix: Option<String>,
    /// For a rule: a connection the linter found that proves the finding.
    pub witness: Option<String>,
}

impl Finding {
    fn new(severity: Severity, code: &'static str, message: String) -> Self {
        Self {
            severity,
            code,
            file: None,
            line: None,
            message,
            fix: None,
            witness: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    fn at(mut self, file: Option<String>, line: Option<u32>) -> Self {
        self.file = file;
        self.line = line;
        self
    }
}

/// Who the audit connected as, and to what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ServerReport {
    /// `server_version`.
    pub version: String,
    /// `server_version_num`.
    pub version_num: u32,
    /// The major version whose rules pgtls applied.
    pub modelled_as: u32,
    /// The auditing role.
    pub user: String,
    /// It is a superuser.
    pub superuser: bool,
    /// It has the privileges of `pg_read_all_settings`.
    pub read_all_settings: bool,
    /// It has the privileges of `pg_read_all_stats`.
    pub read_all_stats: bool,
    /// It has the privileges of `pg_read_server_files`.
    pub read_server_files: bool,
}

/// How the audit's connection travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Transport {
    /// TCP with TLS.
    Tls,
    /// TCP without TLS.
    TcpNoTls,
    /// A Unix-domain socket (never TLS).
    UnixSocket,
    /// The server does not say (the auditor may not see it, or the address is unknown).
    Unknown,
}

/// The audit's own connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ConnectionReport {
    /// `tls`, `tcp-no-tls` or `unix-socket`.
    pub transport: Transport,
    /// The host as given.
    pub host: Option<String>,
    /// The address connected to.
    pub address: Option<String>,
    /// The port.
    pub port: u16,
    /// The negotiated TLS protocol.
    pub protocol: Option<String>,
    /// The audit's own backend.
    pub pid: i32,
}

/// One setting as `pg_settings` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SettingReport {
    /// The setting's name.
    pub name: String,
    /// Its value; `null` when `pg_settings` does not show it to the auditor.
    pub setting: Option<String>,
    /// Where the value comes from (`default`, `configuration file`, ...).
    pub source: Option<String>,
    /// The file that sets it (visible with `pg_read_all_settings`).
    pub file: Option<String>,
    /// The line in `file`.
    pub line: Option<i32>,
}

/// A session that is not a TLS session (or that the auditor cannot see).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SessionReport {
    /// The backend's pid.
    pub pid: i32,
    /// The role.
    pub user: Option<String>,
    /// The database.
    pub database: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The client's port (-1: a Unix-domain socket).
    pub client_port: Option<i32>,
    /// `application_name`.
    pub application_name: Option<String>,
    /// `backend_type`.
    pub backend_type: Option<String>,
    /// How it is connected.
    pub transport: Transport,
    /// Encrypted by GSSAPI (not TLS).
    pub gss_encrypted: bool,
    /// The audit's own session.
    pub own: bool,
}

/// The sessions, counted by transport; every one that is not TLS listed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SessionsReport {
    /// Whether `pg_stat_activity` / `pg_stat_ssl` could be read at all.
    pub available: bool,
    /// Client sessions over TCP with TLS.
    pub tls: u32,
    /// Client sessions over TCP without TLS.
    pub tcp_no_tls: u32,
    /// Client sessions over a Unix-domain socket.
    pub unix_socket: u32,
    /// Sessions the auditor cannot classify.
    pub unknown: u32,
    /// Server processes (background workers, autovacuum, checkpointer, ...).
    pub background: u32,
    /// Every client session that is not TLS, or cannot be classified.
    pub not_tls: Vec<SessionReport>,
}

/// Where the audited rules came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum HbaSource {
    /// The file's bytes (`pg_read_binary_file`), parsed as the server parses them.
    File,
    /// Rebuilt from the rows of `pg_hba_file_rules`.
    View,
    /// Neither could be read.
    Unavailable,
}

/// The rules of pg_hba.conf.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct HbaReport {
    /// `file`, `view` or `unavailable`.
    pub source: HbaSource,
    /// Why that source, and what it cannot show.
    pub note: String,
    /// `hba_file`, when `pg_settings` showed it.
    pub file: Option<String>,
    /// Rules that load (lines without an error).
    pub rules: usize,
    /// Whether pgtls's reading of the file gives the server's `pg_hba_file_rules`
    /// row for row (`null`: not compared).
    pub view_agrees: Option<bool>,
}

/// Validity of one certificate of the served chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Validity {
    /// Valid for more than the warning period.
    Valid,
    /// Valid, but ends within the warning period.
    Expiring,
    /// Ended.
    Expired,
    /// Not valid yet.
    NotYetValid,
    /// pgtls cannot parse it.
    Unparsable,
}

/// One certificate of the chain the server sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ChainCertReport {
    /// 0 for the server's own certificate.
    pub depth: usize,
    /// Subject.
    pub subject: Option<String>,
    /// Issuer.
    pub issuer: Option<String>,
    /// Start of validity, RFC 3339.
    pub not_before: Option<String>,
    /// End of validity, RFC 3339.
    pub not_after: Option<String>,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: Option<i64>,
    /// `valid`, `expiring`, `expired`, `not-yet-valid` or `unparsable`.
    pub validity: Validity,
}

/// Something the audit could not look at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Unavailable {
    /// The view, column, setting or function (`pg_hba_file_rules`,
    /// `pg_settings.ssl_ciphers`, `pg_read_binary_file(hba_file)`, ...).
    pub what: String,
    /// Why: the server's message, and the privilege that would show it.
    pub reason: String,
}

/// What `pgtls audit` found on a running server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The server and the auditing role.
    pub server: ServerReport,
    /// The audit's own connection.
    pub connection: ConnectionReport,
    /// The `ssl*` settings and the others the guides check.
    pub settings: Vec<SettingReport>,
    /// The sessions.
    pub sessions: SessionsReport,
    /// The rules of pg_hba.conf.
    pub hba: HbaReport,
    /// The chain the server sent in the audit's handshake, leaf first.
    pub chain: Vec<ChainCertReport>,
    /// What could not be examined, and why.
    pub unavailable: Vec<Unavailable>,
    /// The findings, settings first, then sessions, rules, chain.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any finding has severity error (`pgtls audit` exits 1).
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        crate::report::to_json(self)
    }
}

// ---------------------------------------------------------------------------
// The decisions.

/// The settings the guides check: (name, first major, last major, hidden from
/// roles without `pg_read_all_settings`) from guc_tables.c of each release
/// branch (`GUC_SUPERUSER_ONLY`).
const GUIDE_SETTINGS: &[(&str, u32, u32, bool)] = &[
    ("ssl", 12, 99, false),
    ("ssl_cert_file", 12, 99, false),
    ("ssl_key_file", 12, 99, false),
    ("ssl_ca_file", 12, 99, false),
    ("ssl_crl_file", 12, 99, false),
    ("ssl_crl_dir", 14, 99, false),
    ("ssl_min_protocol_version", 12, 99, true),
    ("ssl_max_protocol_version", 12, 99, true),
    ("ssl_ciphers", 12, 99, true),
    ("ssl_tls13_ciphers", 18, 99, true),
    ("ssl_prefer_server_ciphers", 12, 99, false),
    ("ssl_ecdh_curve", 12, 17, true),
    ("ssl_groups", 18, 99, true),
    ("ssl_dh_params_file", 12, 99, true),
    ("ssl_passphrase_command", 12, 99, true),
    ("ssl_passphrase_command_supports_reload", 12, 99, false),
    ("ssl_library", 12, 99, false),
    ("password_encryption", 12, 99, false),
    ("db_user_namespace", 12, 16, false),
    ("hba_file", 12, 99, true),
    ("ident_file", 12, 99, true),
];

/// The names the audit asks `pg_settings` for: every `ssl%` setting and these.
pub const EXTRA_SETTINGS: &[&str] = &[
    "password_encryption",
    "db_user_namespace",
    "hba_file",
    "ident_file",
];

/// Judges the facts. Never fails: what is missing is reported as unavailable.
pub fn evaluate(input: &AuditInput) -> Report {
    let version = input.version();
    let mut findings = Vec::new();
    let mut unavailable = Vec::new();
    let major = input.server_version_num / 10_000;
    if version.major() != major {
        findings.push(Finding::new(
            Severity::Warning,
            "version-not-modelled",
            format!(
                "PostgreSQL {major} is outside the versions pgtls models (12 to 18): its rules are read as {version}'s"
            ),
        ));
    }
    let privileged = input.superuser || input.read_all_settings;
    if !input.superuser {
        findings.push(Finding::new(
            Severity::Info,
            "auditor-privileges",
            format!(
                "auditing as \"{}\", not a superuser (pg_read_all_settings: {}, pg_read_all_stats: {}, pg_read_server_files: {}): what this role cannot see is listed as unavailable",
                input.user,
                yes_no(input.read_all_settings),
                yes_no(input.read_all_stats),
                yes_no(input.read_server_files),
            ),
        ).fix("audit as a superuser, or grant the auditing role pg_read_all_settings, pg_read_all_stats and pg_read_server_files (and SELECT on pg_hba_file_rules)"));
    }
    let settings = audit_settings(input, privileged, &mut findings, &mut unavailable);
    let connection = ConnectionReport {
        transport: if input.connection.unix_socket {
            Transport::UnixSocket
        } else if input.connection.tls {
            Transport::Tls
        } else {
            Transport::TcpNoTls
        },
        host: input.connection.host.clone(),
        address: input.connection.address.clone(),
        port: input.connection.port,
        protocol: input.connection.protocol.clone(),
        pid: input.backend_pid,
    };
    let sessions = audit_sessions(input, &mut findings, &mut unavailable);
    let hba = audit_hba(input, &mut findings, &mut unavailable);
    let chain = audit_chain(input, &mut findings);
    Report {
        schema_version: SCHEMA_VERSION,
        server: ServerReport {
            version: input.server_version.clone(),
            version_num: input.server_version_num,
            modelled_as: version.major(),
            user: input.user.clone(),
            superuser: input.superuser,
            read_all_settings: input.read_all_settings,
            read_all_stats: input.read_all_stats,
            read_server_files: input.read_server_files,
        },
        connection,
        settings,
        sessions,
        hba,
        chain,
        unavailable,
        findings,
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn protocol_rank(v: &str) -> Option<u8> {
    match v {
        "TLSv1" => Some(10),
        "TLSv1.1" => Some(11),
        "TLSv1.2" => Some(12),
        "TLSv1.3" => Some(13),
        _ => None,
    }
}

fn audit_settings(
    input: &AuditInput,
    privileged: bool,
    out: &mut Vec<Finding>,
    unavailable: &mut Vec<Unavailable>,
) -> Vec<SettingReport> {
    let rows = match &input.settings {
        Ok(r) => r.clone(),
        Err(e) => {
            unavailable.push(Unavailable {
                what: "pg_settings".into(),
                reason: e.clone(),
            });
            out.push(Finding::new(
                Severity::Warning,
                "settings-unavailable",
                format!("pg_settings could not be read: {e}"),
            ));
            return Vec::new();
        }
    };
    let major = input.version().major();
    let mut report: Vec<SettingReport> = rows
        .iter()
        .map(|r| SettingReport {
            name: r.name.clone(),
            setting: r.setting.clone(),
            source: r.source.clone(),
            file: r.sourcefile.clone(),
            line: r.sourceline,
        })
        .collect();
    for &(name, since, until, hidden) in GUIDE_SETTINGS {
        if major < since || major > until || rows.iter().any(|r| r.name == name) {
            continue;
        }
        let reason = if hidden && !privileged {
            format!(
                "pg_settings does not show {name} to a role without the privileges of pg_read_all_settings"
            )
        } else {
            format!("PostgreSQL {major} has {name}, but pg_settings did not show it")
        };
        unavailable.push(Unavailable {
            what: format!("pg_settings.{name}"),
            reason,
        });
        report.push(SettingReport {
            name: name.to_owned(),
            setting: None,
            source: None,
            file: None,
            line: None,
        });
    }
    report.sort_by(|a, b| a.name.cmp(&b.name));
    let place = |name: &str| {
        input.setting_row(name).map_or((None, None), |r| {
            (
                r.sourcefile.clone(),
                r.sourceline.and_then(|l| u32::try_from(l).ok()),
            )
        })
    };
    let ssl_on = input.setting("ssl") == Some("on");
    if input.setting("ssl") == Some("off") {
        let (f, l) = place("ssl");
        out.push(
            Finding::new(
                Severity::Warning,
                "ssl-off",
                "ssl = off: the server accepts no TLS connection, every client that gets in over TCP is without TLS".into(),
            )
            .at(f, l)
            .fix("set ssl = on with ssl_cert_file and ssl_key_file, then reload"),
        );
    }
    if let Some(min) = input.setting("ssl_min_protocol_version")
        && protocol_rank(min).is_some_and(|r| r < 12)
    {
        let (f, l) = place("ssl_min_protocol_version");
        out.push(
            Finding::new(
                Severity::Warning,
                "min-protocol",
                format!("ssl_min_protocol_version = {min}: the server accepts TLS versions below TLSv1.2"),
            )
            .at(f, l)
            .fix("ssl_min_protocol_version = 'TLSv1.2' (the default from PostgreSQL 13)"),
        );
    }
    if let Some(max) = input.setting("ssl_max_protocol_version")
        && protocol_rank(max).is_some_and(|r| r < 13)
    {
        let (f, l) = place("ssl_max_protocol_version");
        out.push(
            Finding::new(
                Severity::Info,
                "max-protocol",
                format!("ssl_max_protocol_version = {max}: TLSv1.3 is not offered"),
            )
            .at(f, l),
        );
    }
    if input.setting("password_encryption") == Some("md5") {
        let (f, l) = place("password_encryption");
        out.push(
            Finding::new(
                Severity::Warning,
                "password-md5",
                "password_encryption = md5: new passwords are stored as MD5 hashes (deprecated from PostgreSQL 18), which SCRAM cannot use".into(),
            )
            .at(f, l)
            .fix("password_encryption = 'scram-sha-256', then reset the passwords"),
        );
    }
    if input.setting("ssl_prefer_server_ciphers") == Some("off") {
        let (f, l) = place("ssl_prefer_server_ciphers");
        out.push(
            Finding::new(
                Severity::Info,
                "client-cipher-order",
                "ssl_prefer_server_ciphers = off: the client's cipher order wins".into(),
            )
            .at(f, l),
        );
    }
    if ssl_on {
        match input.setting("ssl_ca_file") {
            Some("") => out.push(Finding::new(
                Severity::Info,
                "no-client-ca",
                "ssl_ca_file is empty: the server asks for no client certificate and cannot check one (cert and clientcert lines refuse every client)".into(),
            )),
            Some(_) => {
                let crl = input.setting("ssl_crl_file").unwrap_or("");
                let dir = input.setting("ssl_crl_dir").unwrap_or("");
                if crl.is_empty() && dir.is_empty() {
                    out.push(Finding::new(
                        Severity::Info,
                        "no-crl",
                        "ssl_ca_file is set but no ssl_crl_file or ssl_crl_dir: a revoked client certificate is still accepted".into(),
                    ));
                }
            }
            None => {}
        }
    }
    report
}

fn audit_sessions(
    input: &AuditInput,
    out: &mut Vec<Finding>,
    unavailable: &mut Vec<Unavailable>,
) -> SessionsReport {
    let rows = match &input.sessions {
        Ok(r) => r,
        Err(e) => {
            unavailable.push(Unavailable {
                what: "pg_stat_activity, pg_stat_ssl".into(),
                reason: e.clone(),
            });
            out.push(Finding::new(
                Severity::Warning,
                "sessions-unavailable",
                format!("the sessions could not be read: {e}"),
            ));
            return SessionsReport::default();
        }
    };
    let mut rep = SessionsReport {
        available: true,
        ..SessionsReport::default()
    };
    let mut hidden = Vec::new();
    for r in rows {
        let own = r.pid == input.backend_pid;
        let client = matches!(
            r.backend_type.as_deref(),
            Some("client backend" | "walsender")
        );
        let transport = if r.ssl.is_none() || r.backend_type.is_none() {
            // The server hides these columns from roles without the privileges of
            // pg_read_all_stats (or of the session's role).
            if r.user.is_none() {
                // An auxiliary process (no role): checkpointer, walwriter, ...
                rep.background += 1;
                continue;
            }
            hidden.push(r.pid);
            Transport::Unknown
        } else if !client {
            rep.background += 1;
            continue;
        } else if r.ssl == Some(true) {
            rep.tls += 1;
            continue;
        } else if r.client_port == Some(-1) {
            Transport::UnixSocket
        } else if r.client_addr.is_some() {
            Transport::TcpNoTls
        } else {
            Transport::Unknown
        };
        let s = SessionReport {
            pid: r.pid,
            user: r.user.clone(),
            database: r.database.clone(),
            client_addr: r.client_addr.clone(),
            client_port: r.client_port,
            application_name: r.application_name.clone(),
            backend_type: r.backend_type.clone(),
            transport,
            gss_encrypted: r.gss_encrypted == Some(true),
            own,
        };
        let who = describe_session(&s);
        match transport {
            Transport::TcpNoTls => {
                rep.tcp_no_tls += 1;
                let gss = if s.gss_encrypted {
                    " (GSSAPI-encrypted, but not TLS)"
                } else {
                    ""
                };
                let mine = if own {
                    " (this audit's own connection: connect with sslmode=require or stronger)"
                } else {
                    ""
                };
                out.push(
                    Finding::new(
                        Severity::Error,
                        "session-no-tls",
                        format!("{who} is connected over TCP without TLS{gss}{mine}"),
                    )
                    .fix(format!(
                        "make the pg_hba.conf lines that admit it hostssl (pgtls hba enforce-tls), reload, then end the session: select pg_terminate_backend({})",
                        s.pid
                    )),
                );
            }
            Transport::UnixSocket => {
                rep.unix_socket += 1;
                out.push(Finding::new(
                    Severity::Info,
                    "session-unix-socket",
                    format!("{who} is connected over a Unix-domain socket (never TLS, not reachable over the network)"),
                ));
            }
            Transport::Unknown => {
                rep.unknown += 1;
                let why = if hidden.contains(&s.pid) {
                    format!(
                        "pg_stat_ssl.ssl, pg_stat_activity.client_addr and backend_type are hidden from \"{}\" (they need the privileges of pg_read_all_stats or of the session's role)",
                        input.user
                    )
                } else {
                    "the server does not know its client address".to_owned()
                };
                out.push(Finding::new(
                    Severity::Warning,
                    "session-unknown",
                    format!("{who} could not be examined: {why}"),
                ));
            }
            Transport::Tls => {}
        }
        rep.not_tls.push(s);
    }
    if !hidden.is_empty() {
        unavailable.push(Unavailable {
            what: "pg_stat_ssl.ssl, pg_stat_activity.client_addr".into(),
            reason: format!(
                "hidden for {} session(s) of other roles: \"{}\" lacks the privileges of pg_read_all_stats",
                hidden.len(),
                input.user
            ),
        });
    }
    rep
}

fn describe_session(s: &SessionReport) -> String {
    let mut t = format!("session {}", s.pid);
    if let Some(u) = &s.user {
        t.push_str(&format!(" of user \"{u}\""));
    }
    if let Some(d) = &s.database {
        t.push_str(&format!(" on database \"{d}\""));
    }
    if let Some(a) = &s.client_addr {
        match s.client_port {
            Some(p) if p >= 0 => t.push_str(&format!(" from {a} port {p}")),
            _ => t.push_str(&format!(" from {a}")),
        }
    }
    if let Some(a) = s.application_name.as_deref().filter(|a| !a.is_empty()) {
        t.push_str(&format!(" (application_name \"{a}\")"));
    }
    t
}

/// pg_hba.conf as parsed, with where each parsed record really is.
struct Rules {
    hba: HbaFile,
    /// For rules rebuilt from the view: (file, line) of each synthetic line.
    places: Option<Vec<(String, u32)>>,
}

impl Rules {
    fn place(&self, file: &str, line: u32) -> (Option<String>, Option<u32>) {
        match &self.places {
            None => (Some(file.to_owned()), (line > 0).then_some(line)),
            Some(p) => match usize::try_from(line)
                .ok()
                .and_then(|l| l.checked_sub(1))
                .and_then(|i| p.get(i))
            {
                Some((f, l)) => (Some(f.clone()), Some(*l)),
                None => (Some(file.to_owned()), None),
            },
        }
    }
}

fn json_str(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(str::to_owned)
}

fn json_list(v: &serde_json::Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// pg_hba.conf text rebuilt from the view.
struct Rebuilt {
    text: String,
    /// (file, line) of each line of `text`.
    places: Vec<(String, u32)>,
    /// The rows with an error: (file, line, error).
    errors: Vec<(String, u32, String)>,
}

/// Rules rebuilt from `pg_hba_file_rules` rows: one line per loadable row,
/// every token quoted only where the syntax needs it (so keywords stay
/// keywords); the rows with an error, as (file, line, error).
fn rebuild(rows: &[serde_json::Value], hba_name: &str) -> Rebuilt {
    use pgtls_hba::quote_token;
    let mut text = String::new();
    let mut places = Vec::new();
    let mut errors = Vec::new();
    for r in rows {
        let file = json_str(r, "file_name").unwrap_or_else(|| hba_name.to_owned());
        let line = r
            .get("line_number")
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        let (Some(kind), Some(method)) = (json_str(r, "type"), json_str(r, "auth_method")) else {
            let e = json_str(r, "error").unwrap_or_else(|| {
                "the view shows the row without any column or error text (a line the server cannot load)".to_owned()
            });
            errors.push((file, line, e));
            continue;
        };
        let list = |k: &str| {
            json_list(r, k)
                .iter()
                .map(|t| quote_token(t))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut l = format!("{kind} {} {}", list("database"), list("user_name"));
        if kind != "local" {
            if let Some(a) = json_str(r, "address") {
                l.push(' ');
                l.push_str(&quote_token(&a));
            }
            if let Some(m) = json_str(r, "netmask") {
                l.push(' ');
                l.push_str(&m);
            }
        }
        l.push(' ');
        l.push_str(&method);
        let options = json_list(r, "options");
        // include_realm is on by default for gss and sspi; the view shows it only when on.
        if matches!(method.as_str(), "gss" | "sspi")
            && !options.iter().any(|o| o.starts_with("include_realm="))
        {
            l.push_str(" include_realm=0");
        }
        for o in options {
            // The view shows the booleans as `=true`; the server reads only `1` as true.
            // ldapscope is shown but can be set only through ldapurl: it is left out
            // (it does not change who may connect without TLS).
            let o = match o.split_once('=') {
                Some(("ldapscope", _)) => continue,
                Some((k @ ("include_realm" | "ldaptls" | "delegate_ident_mapping"), "true")) => {
                    format!("{k}=1")
                }
                _ => o,
            };
            l.push(' ');
            l.push_str(&quote_token(&o));
        }
        text.push_str(&l);
        text.push('\n');
        places.push((file, line));
    }
    Rebuilt {
        text,
        places,
        errors,
    }
}

fn audit_hba(
    input: &AuditInput,
    out: &mut Vec<Finding>,
    unavailable: &mut Vec<Unavailable>,
) -> HbaReport {
    let hba_name = input.setting("hba_file").map(str::to_owned);
    let settings = input.settings_for_hba();
    let view: Option<Vec<serde_json::Value>> = match &input.hba_rules {
        Ok(rows) => {
            let parsed: Result<Vec<serde_json::Value>, _> =
                rows.iter().map(|r| serde_json::from_str(r)).collect();
            match parsed {
                Ok(v) => Some(v),
                Err(e) => {
                    unavailable.push(Unavailable {
                        what: "pg_hba_file_rules".into(),
                        reason: format!("a row is not JSON: {e}"),
                    });
                    None
                }
            }
        }
        Err(e) => {
            unavailable.push(Unavailable {
                what: "pg_hba_file_rules".into(),
                reason: format!("{e} (the view is readable by superusers, or with SELECT granted on it and EXECUTE on pg_hba_file_rules())"),
            });
            None
        }
    };
    let file_text: Option<&Vec<u8>> = match &hba_name {
        None => {
            unavailable.push(Unavailable {
                what: "pg_read_binary_file(hba_file)".into(),
                reason: "the location of pg_hba.conf (hba_file) is hidden from roles without pg_read_all_settings".into(),
            });
            None
        }
        Some(n) => match input.files.file(n) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                unavailable.push(Unavailable {
                    what: format!("pg_read_binary_file('{n}')"),
                    reason: format!(
                        "{} (reading server files needs superuser or pg_read_server_files)",
                        e.message
                    ),
                });
                None
            }
            None => {
                unavailable.push(Unavailable {
                    what: format!("pg_read_binary_file('{n}')"),
                    reason: "not read".into(),
                });
                None
            }
        },
    };
    let name = hba_name.clone().unwrap_or_else(|| "pg_hba.conf".to_owned());
    let (rules, source, note, view_agrees) = if let Some(text) = file_text {
        let hba = HbaFile::parse(&name, text, settings, &input.files);
        let agrees = view.as_ref().map(|rows| {
            let ours: Vec<serde_json::Value> = hba
                .view_rows()
                .iter()
                .filter_map(|r| serde_json::from_str(&r.to_json()).ok())
                .collect();
            let first = rows
                .iter()
                .zip(&ours)
                .position(|(a, b)| a != b)
                .or_else(|| (rows.len() != ours.len()).then(|| rows.len().min(ours.len())));
            if let Some(i) = first {
                let show = |v: Option<&serde_json::Value>| {
                    v.map_or_else(|| "(no row)".to_owned(), serde_json::Value::to_string)
                };
                out.push(Finding::new(
                    Severity::Warning,
                    "hba-view-mismatch",
                    format!(
                        "pgtls reads pg_hba.conf differently from this server at row {}: the server's pg_hba_file_rules has {}, pgtls has {}; the findings below follow pgtls's reading",
                        i + 1,
                        show(rows.get(i)),
                        show(ours.get(i))
                    ),
                ).at(Some(name.clone()), None).fix("report this to pgtls with the file; meanwhile trust the server's view"));
            }
            first.is_none()
        });
        let note = match agrees {
            Some(true) => {
                "read from the file (pg_read_binary_file), parsed as the server parses it, and identical row for row to the server's pg_hba_file_rules"
            }
            Some(false) => {
                "read from the file (pg_read_binary_file), parsed as the server parses it; pg_hba_file_rules differs (see hba-view-mismatch)"
            }
            None => {
                "read from the file (pg_read_binary_file), parsed as the server parses it; pg_hba_file_rules could not be read to cross-check"
            }
        };
        (
            Some(Rules { hba, places: None }),
            HbaSource::File,
            note.to_owned(),
            agrees,
        )
    } else if let Some(rows) = &view {
        let Rebuilt {
            text,
            places,
            errors,
        } = rebuild(rows, &name);
        for (f, l, e) in &errors {
            out.push(hba_not_loading(e, f, (*l > 0).then_some(*l)));
        }
        let hba = HbaFile::parse(&name, text.as_bytes(), settings, &pgtls_hba::NoSource);
        (
            errors.is_empty().then_some(Rules {
                hba,
                places: Some(places),
            }),
            HbaSource::View,
            "rebuilt from pg_hba_file_rules because the file itself could not be read: quoting is lost, so a quoted \"all\" is read as the keyword all (which can only make a line match more, never hide a path without TLS), and clientname is not shown".to_owned(),
            None,
        )
    } else {
        out.push(Finding::new(
            Severity::Warning,
            "hba-unavailable",
            format!("the rules of pg_hba.conf could not be read (neither the file nor pg_hba_file_rules is visible to \"{}\"): paths without TLS were not checked", input.user),
        ).fix("audit as a superuser, or grant pg_read_server_files and SELECT on pg_hba_file_rules"));
        (
            None,
            HbaSource::Unavailable,
            "neither the file nor pg_hba_file_rules could be read".to_owned(),
            None,
        )
    };
    let mut count = 0;
    if let Some(rules) = &rules {
        count = rules.hba.rules().count();
        if source == HbaSource::File
            && let Err(l) = rules.hba.load()
        {
            let msg = l
                .result
                .as_ref()
                .err()
                .map(|e| e.message.clone())
                .unwrap_or_default();
            out.push(hba_not_loading(&msg, &l.file, Some(l.line_number)));
        }
        let ident = ident_file(input);
        if ident.is_none() {
            unavailable.push(Unavailable {
                what: "pg_read_binary_file(ident_file)".into(),
                reason: "pg_ident.conf could not be read (or does not load): map= names were not checked".into(),
            });
        }
        lint_findings(rules, ident.as_ref(), out);
    }
    if let (Some(Ok(mtime)), Some(loaded)) = (&input.hba_mtime, input.conf_load_time)
        && *mtime > loaded
    {
        out.push(
            Finding::new(
                Severity::Warning,
                "hba-changed-since-reload",
                format!(
                    "pg_hba.conf was modified ({}) after the server last loaded its configuration ({}): the rules in force may differ from the file and from pg_hba_file_rules, which both show the file on disk",
                    fmt_time_f(*mtime),
                    fmt_time_f(loaded)
                ),
            )
            .at(hba_name.clone(), None)
            .fix("reload the server (select pg_reload_conf()) once the file is right"),
        );
    } else if let Some(Err(e)) = &input.hba_mtime {
        unavailable.push(Unavailable {
            what: "pg_stat_file(hba_file)".into(),
            reason: format!("{e}: whether the file changed since the last reload is unknown"),
        });
    }
    HbaReport {
        source,
        note,
        file: hba_name,
        rules: count,
        view_agrees,
    }
}

/// The finding for a pg_hba.conf that does not load: `message` is the
/// server's (or pgtls's) error at `file`:`line`.
fn hba_not_loading(message: &str, file: &str, line: Option<u32>) -> Finding {
    Finding::new(
        Severity::Warning,
        "hba-not-loading",
        format!("pg_hba.conf on disk does not load ({message}): a reload keeps the rules in force, a restart fails; the rules in force cannot be seen"),
    )
    .at(Some(file.to_owned()), line)
    .fix("correct the line, then reload")
}

fn ident_file(input: &AuditInput) -> Option<IdentFile> {
    let name = input.setting("ident_file")?;
    let text = input.files.file(name)?.as_ref().ok()?;
    let ident = IdentFile::parse(name, text, input.version(), &input.files);
    ident.load().is_ok().then_some(ident)
}

fn lint_findings(rules: &Rules, ident: Option<&IdentFile>, out: &mut Vec<Finding>) {
    for f in lint(&rules.hba, ident) {
        let (severity, code) = match f.code {
            "no-tls" => (Severity::Error, "hba-no-tls"),
            // hba-not-loading says it.
            "invalid-line" | "cert-not-tls" | "empty" => continue,
            "missing-map" => (Severity::Warning, "hba-missing-map"),
            "tls-required" => (Severity::Info, "hba-tls-required"),
            "tls-undecided" => (Severity::Warning, "hba-tls-undecided"),
            "trust-tcp" => (Severity::Warning, "hba-trust-tcp"),
            other => (
                match f.severity {
                    pgtls_hba::Severity::Info => Severity::Info,
                    _ => Severity::Warning,
                },
                crate::doctor::hba_code(other),
            ),
        };
        let (file, line) = rules.place(&f.file, f.line);
        let fix = match code {
            "hba-no-tls" | "hba-trust-tcp" => Some(
                "make the line hostssl (or put `hostnossl all all 0.0.0.0/0 reject` and `hostnossl all all ::/0 reject` before it: pgtls hba enforce-tls), then reload".to_owned(),
            ),
            "hba-missing-map" => Some("define the map in pg_ident.conf or correct map=".to_owned()),
            _ => None,
        };
        out.push(Finding {
            severity,
            code,
            file,
            line,
            message: f.message.clone(),
            fix,
            witness: f.witness.clone(),
        });
    }
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

fn fmt_time_f(t: f64) -> String {
    // Whole seconds are enough to show; the comparison used the fraction.
    #[allow(clippy::cast_possible_truncation)]
    fmt_time(t.floor() as i64)
}

fn audit_chain(input: &AuditInput, out: &mut Vec<Finding>) -> Vec<ChainCertReport> {
    let c = &input.connection;
    if !c.tls {
        let why = if c.unix_socket {
            "over a Unix-domain socket"
        } else {
            "without TLS"
        };
        out.push(
            Finding::new(
                Severity::Info,
                "chain-not-seen",
                format!("the audit connected {why}: the server sent no certificate chain to check"),
            )
            .fix("audit over TCP with sslmode=require or stronger to check the served chain"),
        );
        return Vec::new();
    }
    let now = input.now;
    let mut rep = Vec::new();
    for (depth, der) in c.chain.iter().enumerate() {
        let Ok(cert) = pgtls_x509::Certificate::from_der(der.as_ref()) else {
            out.push(Finding::new(
                Severity::Warning,
                "chain-unparsable",
                format!("certificate {depth} of the served chain cannot be parsed"),
            ));
            rep.push(ChainCertReport {
                depth,
                subject: None,
                issuer: None,
                not_before: None,
                not_after: None,
                days_left: None,
                validity: Validity::Unparsable,
            });
            continue;
        };
        let subject = cert.subject_text();
        let left = cert.not_after() - now;
        let days = left.div_euclid(86_400);
        let validity = if left < 0 {
            Validity::Expired
        } else if cert.not_before() > now {
            Validity::NotYetValid
        } else if left < CERT_WARN_DAYS * 86_400 {
            Validity::Expiring
        } else {
            Validity::Valid
        };
        let which = if depth == 0 {
            "the server's certificate".to_owned()
        } else {
            format!("certificate {depth} of the served chain")
        };
        let end = fmt_time(cert.not_after());
        match validity {
            Validity::Expired => out.push(
                Finding::new(
                    Severity::Error,
                    "chain-expired",
                    format!("{which} ({subject}) expired at {end}, {} day(s) ago: libpq refuses it under verify-ca and verify-full (and under require with a root file)", -days),
                )
                .fix("install a renewed certificate (ssl_cert_file) and reload"),
            ),
            Validity::Expiring => out.push(
                Finding::new(
                    Severity::Warning,
                    "chain-expiring",
                    format!("{which} ({subject}) expires at {end}, in {days} day(s) (within {CERT_WARN_DAYS})"),
                )
                .fix("renew it and reload before it expires"),
            ),
            Validity::NotYetValid => out.push(Finding::new(
                Severity::Warning,
                "chain-not-yet-valid",
                format!("{which} ({subject}) is valid only from {}: libpq refuses it under verify-ca and verify-full until then", fmt_time(cert.not_before())),
            )),
            Validity::Valid | Validity::Unparsable => {}
        }
        rep.push(ChainCertReport {
            depth,
            subject: Some(subject),
            issuer: Some(cert.issuer().to_string()),
            not_before: Some(fmt_time(cert.not_before())),
            not_after: Some(end),
            days_left: Some(days),
            validity,
        });
    }
    rep
}

#[cfg(test)]
mod tests;
