//! `pgtls quickstart --try`: which PostgreSQL installation to try quickstart's files on, and
//! what counts as proof that they work.
//!
//! The caller runs the programs (initdb, the server, psql as the client); this module decides:
//!
//! * [`find_install`]: the installation: `--pg-bin DIR`, else `pg_config --bindir` (the caller
//!   runs it and passes the answer), else [`usual_bindirs`], newest version first. It must hold
//!   `initdb` and `postgres`; the client ([`Client`]) is `--psql PATH`, else the installation's
//!   own `psql` (with that installation's libpq, [`Install::libdir`]), else the first `psql` on
//!   `PATH` ([`find_on_path`]): a server-only installation (PostgreSQL 12 or 13 from a
//!   server-only package) is tried with a newer client.
//! * [`client_libpq`]: which libpq that psql loads and its major version, whose rules judge
//!   the logins (libpq 14 talking to a server 12 follows libpq 14's rules).
//! * [`Observed`] and [`Refusal`]: what psql's exit status and stderr say: connected, refused by
//!   the server (its `FATAL:` text), or failed on the client's side (libpq's own message, a TLS
//!   failure, no server).
//! * The [`Step`]s of a [`TryReport`]: a verify-full login passes when psql connected over TLS
//!   as the role ([`judge_login`]); a plaintext or certificate-less login passes only when the
//!   *server* refused it with the `FATAL` text pgtls predicts for quickstart's pg_hba.conf line
//!   ([`predict_plaintext`], [`predict_no_certificate`], [`judge_refusal`]): a refusal for
//!   another reason (no such role, no server, a client-side TLS failure) proves nothing about
//!   the line. The trial holds when every step passed and none of the required ones is missing
//!   ([`TryReport::finish`]).
//!
//! And what quickstart warns about before anything is tried ([`quickstart_warnings`]): a
//! certificate login for the superuser `postgres`, an IP-address `--host` that libpq 14 and
//! older cannot match, a CRL the caller's libpq would load (`~/.postgresql/root.crl`) that makes
//! it refuse the new server.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use pgtls_hba::{HbaFile, HbaVerdict, PgVersion, Request, ServerSettings};
use rustls_pki_types::UnixTime;
use serde::Serialize;

use crate::server::{ServerOutcome, ServerTls, decide_client};

/// The version of [`TryReport`]'s JSON shape.
pub const SCHEMA_VERSION: u32 = 1;

/// The programs an installation needs for the trial, with what each is for (`psql` may come
/// from elsewhere: see [`Client`]).
pub const PROGRAMS: [(&str, &str); 3] = [
    ("initdb", "creates the throwaway cluster"),
    ("postgres", "the server"),
    ("psql", "the client, through that installation's libpq"),
];

/// The server programs of [`PROGRAMS`], which the installation itself must hold.
const SERVER_PROGRAMS: usize = 2;

/// The address the throwaway server listens on and every login goes to
/// (`hostaddr=127.0.0.1` next to the printed `host=`, so verify-full checks the
/// certificate against the printed name while the connection goes here).
pub const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The database the printed connection strings name (`dbname=postgres`).
pub const DATABASE: &str = "postgres";

/// What a login runs: one row with `ssl`, the TLS version and `current_user`, `|`-separated
/// (psql `-A -t`), the role last so that a `|` in its name cannot shift the other fields.
pub const LOGIN_QUERY: &str = "select coalesce(s.ssl, false), coalesce(s.version, ''), \
     current_user from pg_stat_ssl s where s.pid = pg_backend_pid()";

/// How an installation was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FoundBy {
    /// `--pg-bin DIR`.
    PgBin,
    /// `pg_config --bindir` (the first `pg_config` on `PATH`).
    PgConfig,
    /// One of [`usual_bindirs`].
    UsualDirectory,
}

impl FoundBy {
    /// `--pg-bin`, `pg_config --bindir`, `a usual directory`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PgBin => "--pg-bin",
            Self::PgConfig => "pg_config --bindir",
            Self::UsualDirectory => "a usual directory",
        }
    }
}

/// Where the trial's client, psql, came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ClientFoundBy {
    /// `--psql PATH`.
    PsqlOption,
    /// The installation's own `psql`, next to its server.
    Installation,
    /// The first `psql` on `PATH` (the installation has none).
    Path,
}

impl ClientFoundBy {
    /// `--psql`, `the installation`, `PATH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PsqlOption => "--psql",
            Self::Installation => "the installation",
            Self::Path => "PATH",
        }
    }
}

/// The trial's client: a psql program and the libraries it runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Client {
    /// The psql program.
    pub psql: PathBuf,
    /// Its installation's own libraries (`DIR/../lib` of the psql's directory when it holds
    /// `libpq.so.5`): `LD_LIBRARY_PATH` for psql, so that it loads its own libpq and not the
    /// server installation's. `None`: the system's.
    pub libdir: Option<PathBuf>,
    /// Where it came from.
    pub found_by: ClientFoundBy,
}

/// A PostgreSQL installation with the server programs of [`PROGRAMS`], and the client to log
/// in with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Install {
    /// The directory holding `initdb` and `postgres`.
    pub bindir: PathBuf,
    /// The installation's own libraries (`BINDIR/../lib` when it holds `libpq.so.5`, as in a
    /// relocatable build): `LD_LIBRARY_PATH` for its programs. `None`: the system's libraries
    /// (a distribution package).
    pub libdir: Option<PathBuf>,
    /// How it was found.
    pub found_by: FoundBy,
    /// The client (psql).
    pub client: Client,
}

impl Install {
    /// The path of one of its server programs (`initdb`, `postgres`).
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

/// Why no installation can be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FindError {
    /// `--pg-bin DIR` lacks one of the programs (psql only when there is none on `PATH`).
    #[error(
        "--pg-bin {}: no {program} there ({what}); pass the bin directory of a PostgreSQL \
         installation that has initdb, postgres and psql{}",
        dir.display(),
        if *program == "psql" { ", or --psql PATH of a client (psql 14 or newer for a server 12 or 13)" } else { "" }
    )]
    PgBinIncomplete {
        /// The directory given.
        dir: PathBuf,
        /// The first program missing.
        program: &'static str,
        /// What that program is for.
        what: &'static str,
    },
    /// Only installations with a server but no psql were found, and no psql on `PATH`.
    #[error(
        "{} has the PostgreSQL server but no psql next to it, and there is no psql on PATH \
         (the client --try logs in with): install a client (Debian/Ubuntu: apt-get install \
         postgresql-client), pass --psql PATH of one, or pass --pg-bin DIR of an installation \
         with initdb, postgres and psql",
        dir.display()
    )]
    NoPsql {
        /// The newest such directory.
        dir: PathBuf,
    },
    /// `--psql PATH` is not a file.
    #[error("--psql {}: no such file (pass the psql program to log in with)", path.display())]
    PsqlMissing {
        /// The path given.
        path: PathBuf,
    },
    /// No installation anywhere.
    #[error(
        "no PostgreSQL server found for --try (looked for initdb, postgres and psql in {}): \
         install the PostgreSQL server and client (Debian/Ubuntu: apt-get install postgresql; \
         Fedora/RHEL: dnf install postgresql-server postgresql), or pass --pg-bin DIR",
        paths_text(tried)
    )]
    NotFound {
        /// Where it looked, in order.
        tried: Vec<PathBuf>,
    },
}

fn paths_text(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no directory (none of the usual ones exists)".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The directories where PostgreSQL installations usually are, under the file-system root
/// `root` (`/` on a real machine): versioned ones newest version first
/// (`/usr/lib/postgresql/N/bin` of Debian and Ubuntu, `/usr/pgsql-N/bin` of the PGDG RPMs,
/// Homebrew's `/opt/homebrew/opt/postgresql@N/bin` and `/usr/local/opt/postgresql@N/bin`), then
/// `/usr/local/pgsql/bin` (a build from source) and `/usr/bin` (Fedora's own package). Only
/// directories that exist are listed.
pub fn usual_bindirs(root: &Path) -> Vec<PathBuf> {
    let mut versioned: Vec<(u32, PathBuf)> = Vec::new();
    let mut scan = |parent: &str, prefix: &str| {
        let parent = root.join(parent);
        let Ok(entries) = std::fs::read_dir(&parent) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(v) = name
                .to_str()
                .and_then(|n| n.strip_prefix(prefix))
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let bin = parent.join(&name).join("bin");
            if bin.is_dir() {
                versioned.push((v, bin));
            }
        }
    };
    scan("usr/lib/postgresql", "");
    scan("usr", "pgsql-");
    scan("opt/homebrew/opt", "postgresql@");
    scan("usr/local/opt", "postgresql@");
    // Newest first; ties in the order above.
    versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
    let mut out: Vec<PathBuf> = versioned.into_iter().map(|(_, p)| p).collect();
    for d in ["usr/local/pgsql/bin", "usr/bin"] {
        let d = root.join(d);
        if d.is_dir() {
            out.push(d);
        }
    }
    out
}

fn missing_program(dir: &Path) -> Option<(&'static str, &'static str)> {
    PROGRAMS[..SERVER_PROGRAMS]
        .iter()
        .copied()
        .find(|(p, _)| !dir.join(p).is_file())
}

/// The first `program` in the directories of `path` (the value of `PATH`), as a shell finds
/// it (empty entries are the current directory, as for `execvp`).
pub fn find_on_path(path: &std::ffi::OsStr, program: &str) -> Option<PathBuf> {
    std::env::split_paths(path).find_map(|d| {
        let d = if d.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            d
        };
        let p = d.join(program);
        p.is_file().then_some(p)
    })
}

fn client_at(psql: &Path, found_by: ClientFoundBy) -> Client {
    Client {
        psql: psql.to_path_buf(),
        libdir: psql.parent().and_then(libdir_of),
        found_by,
    }
}

fn libdir_of(bindir: &Path) -> Option<PathBuf> {
    let prefix = bindir.parent()?;
    if prefix == Path::new("/usr") || prefix == Path::new("/") {
        return None;
    }
    let lib = prefix.join("lib");
    lib.join("libpq.so.5").exists().then_some(lib)
}

/// The installation to try on: `pg_bin` when given (it must have the server programs of
/// [`PROGRAMS`]); otherwise `pg_config_bindir` (what `pg_config --bindir` printed, when a
/// `pg_config` is on `PATH`), then `usual` ([`usual_bindirs`]): the first with the server
/// programs and a psql (or any with the server programs when `psql` is given), else the first
/// with the server programs when there is a `path_psql`.
///
/// The client is `psql` (`--psql PATH`) when given, else the installation's own psql, else
/// `path_psql` (the first psql on `PATH`, [`find_on_path`]).
///
/// # Errors
/// [`FindError::PsqlMissing`] for a `psql` that is not a file; [`FindError::PgBinIncomplete`]
/// for a `pg_bin` without a server program, or without a psql when there is no other;
/// otherwise [`FindError::NoPsql`] when only servers without psql were found, or
/// [`FindError::NotFound`].
pub fn find_install(
    pg_bin: Option<&Path>,
    psql: Option<&Path>,
    path_psql: Option<&Path>,
    pg_config_bindir: Option<&Path>,
    usual: &[PathBuf],
) -> Result<Install, FindError> {
    if let Some(p) = psql
        && !p.is_file()
    {
        return Err(FindError::PsqlMissing {
            path: p.to_path_buf(),
        });
    }
    // The client for a server directory `dir`, when there is one.
    let client_for = |dir: &Path| -> Option<Client> {
        if let Some(p) = psql {
            return Some(client_at(p, ClientFoundBy::PsqlOption));
        }
        let own = dir.join("psql");
        if own.is_file() {
            // Next to its server: the installation's libraries.
            return Some(Client {
                psql: own,
                libdir: libdir_of(dir),
                found_by: ClientFoundBy::Installation,
            });
        }
        None
    };
    let install = |dir: &Path, found_by: FoundBy, client: Client| Install {
        bindir: dir.to_path_buf(),
        libdir: libdir_of(dir),
        found_by,
        client,
    };
    if let Some(dir) = pg_bin {
        if let Some((program, what)) = missing_program(dir) {
            return Err(FindError::PgBinIncomplete {
                dir: dir.to_path_buf(),
                program,
                what,
            });
        }
        let client = client_for(dir)
            .or_else(|| path_psql.map(|p| client_at(p, ClientFoundBy::Path)))
            .ok_or_else(|| FindError::PgBinIncomplete {
                dir: dir.to_path_buf(),
                program: PROGRAMS[2].0,
                what: PROGRAMS[2].1,
            })?;
        return Ok(install(dir, FoundBy::PgBin, client));
    }
    let mut tried: Vec<PathBuf> = Vec::new();
    let mut server_only: Option<(PathBuf, FoundBy)> = None;
    let candidates = pg_config_bindir
        .map(|d| (d.to_path_buf(), FoundBy::PgConfig))
        .into_iter()
        .chain(usual.iter().map(|d| (d.clone(), FoundBy::UsualDirectory)));
    for (dir, found_by) in candidates {
        if tried.contains(&dir) {
            continue;
        }
        if missing_program(&dir).is_none() {
            match client_for(&dir) {
                Some(client) => return Ok(install(&dir, found_by, client)),
                None if server_only.is_none() => server_only = Some((dir.clone(), found_by)),
                None => {}
            }
        }
        tried.push(dir);
    }
    match (server_only, path_psql) {
        (Some((dir, found_by)), Some(p)) => {
            Ok(install(&dir, found_by, client_at(p, ClientFoundBy::Path)))
        }
        (Some((dir, _)), None) => Err(FindError::NoPsql { dir }),
        (None, _) => Err(FindError::NotFound { tried }),
    }
}

/// The library a dynamically linked program loads as `libpq.so.5`, from the dynamic loader's
/// list of a program's libraries (what `LD_TRACE_LOADED_OBJECTS=1 PROGRAM` prints, as `ldd`
/// shows it: `\tlibpq.so.5 => /usr/lib/x86_64-linux-gnu/libpq.so.5 (0x...)`). `None` when the
/// list names none (a script such as Debian's `pg_wrapper`, a static program, or libpq not
/// found).
pub fn libpq_in_loader_trace(trace: &str) -> Option<PathBuf> {
    trace.lines().find_map(|l| {
        let (name, rest) = l.trim().split_once(" => ")?;
        if !name.starts_with("libpq.so") {
            return None;
        }
        let path = rest.rsplit_once(" (").map_or(rest, |(p, _)| p).trim();
        path.starts_with('/').then(|| PathBuf::from(path))
    })
}

/// The major version of a libpq shared library from the name of the file it is (symbolic
/// links followed: `libpq.so.5` -> `libpq.so.5.15`): since PostgreSQL 10 its minor number is
/// the major version (`libpq.so.5.14` is libpq 14). `None` for another name.
pub fn libpq_major(library: &Path) -> Option<u32> {
    let real = std::fs::canonicalize(library).unwrap_or_else(|_| library.to_path_buf());
    let name = real.file_name()?.to_str()?;
    let minor = name.strip_prefix("libpq.so.5.")?;
    let digits: String = minor.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<u32>().ok().filter(|m| *m >= 10)
}

/// How the client's libpq version was known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LibpqKnownBy {
    /// The name of the `libpq.so.5.N` file the dynamic loader gives psql.
    LibraryFile,
    /// psql's own version (the loader named no libpq file with a version: a wrapper script,
    /// a static psql): assumed to be its libpq's.
    PsqlVersion,
}

/// The trial's client as it runs: psql's version and the libpq it loads, whose major version's
/// rules judge the logins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ClientReport {
    /// The psql program.
    pub psql: String,
    /// Where it came from.
    pub found_by: ClientFoundBy,
    /// psql's version (`14.18`).
    pub psql_version: String,
    /// The libpq file it loads, when the dynamic loader names one.
    pub libpq: Option<String>,
    /// The libpq major version the logins are judged by.
    pub libpq_major: u32,
    /// How [`ClientReport::libpq_major`] was known.
    pub libpq_known_by: LibpqKnownBy,
}

impl ClientReport {
    /// The libpq version whose rules apply.
    pub fn libpq_version(&self) -> PgVersion {
        // Checked by client_libpq.
        PgVersion::new(self.libpq_major).unwrap_or(PgVersion::NEWEST)
    }

    /// One line: `psql 14.18 (/x/bin/psql, from --psql) with libpq 14 (/x/lib/libpq.so.5.14)`.
    pub fn describe(&self) -> String {
        let lib = match (&self.libpq, self.libpq_known_by) {
            (Some(l), LibpqKnownBy::LibraryFile) => format!("libpq {} ({l})", self.libpq_major),
            _ => format!("libpq {} (assumed: psql's version)", self.libpq_major),
        };
        format!(
            "psql {} ({}, from {}) with {lib}",
            self.psql_version,
            self.psql,
            self.found_by.as_str()
        )
    }
}

/// Why the client cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// `psql --version` did not print a version.
    #[error("{} --version printed {said:?}, not `psql (PostgreSQL) VERSION`", psql.display())]
    NoVersion {
        /// The program.
        psql: PathBuf,
        /// What it printed.
        said: String,
    },
    /// A libpq pgtls does not model.
    #[error(
        "{} uses libpq {major}: pgtls models libpq 12 to 18; pass --psql PATH of one of those",
        psql.display()
    )]
    Unsupported {
        /// The program.
        psql: PathBuf,
        /// Its libpq's major version.
        major: u32,
    },
}

/// The client's psql and libpq: `version_output` is what `psql --version` printed,
/// `loader_trace` the dynamic loader's list of its libraries ([`libpq_in_loader_trace`]),
/// when it could be had. The libpq file's own version wins over psql's.
///
/// # Errors
/// [`ClientError`]: no version, or a libpq outside 12 to 18.
pub fn client_libpq(
    client: &Client,
    version_output: &str,
    loader_trace: Option<&str>,
) -> Result<ClientReport, ClientError> {
    let psql_version = server_version_text(version_output)
        .ok_or_else(|| ClientError::NoVersion {
            psql: client.psql.clone(),
            said: version_output.trim().to_owned(),
        })?
        .to_owned();
    let libpq = loader_trace.and_then(libpq_in_loader_trace);
    let (major, known_by) = match libpq.as_deref().and_then(libpq_major) {
        Some(m) => (m, LibpqKnownBy::LibraryFile),
        None => (
            server_major(&psql_version).unwrap_or(0),
            LibpqKnownBy::PsqlVersion,
        ),
    };
    if PgVersion::new(major).is_err() {
        return Err(ClientError::Unsupported {
            psql: client.psql.clone(),
            major,
        });
    }
    Ok(ClientReport {
        psql: client.psql.display().to_string(),
        found_by: client.found_by,
        psql_version,
        libpq: libpq.map(|l| l.display().to_string()),
        libpq_major: major,
        libpq_known_by: known_by,
    })
}

/// The full version from `postgres --version` (`postgres (PostgreSQL) 15.14 (Debian
/// 15.14-0+deb12u1)` gives `15.14`, `postgres (PostgreSQL) 18beta1` gives `18beta1`).
pub fn server_version_text(version_output: &str) -> Option<&str> {
    let rest = version_output.split_once("(PostgreSQL) ")?.1;
    let v = rest.split_whitespace().next()?;
    v.starts_with(|c: char| c.is_ascii_digit()).then_some(v)
}

/// The major version in a [`server_version_text`] (`15.14` gives 15, `18beta1` 18).
pub fn server_major(version_text: &str) -> Option<u32> {
    let digits: String = version_text
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// One step of the trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StepKind {
    /// The installation was found and its version read.
    Server,
    /// `initdb` made the throwaway cluster.
    Initdb,
    /// The server started with quickstart's postgresql.conf and pg_hba.conf lines.
    Start,
    /// The printed `CREATE ROLE` statements ran.
    CreateRoles,
    /// A `sslmode=verify-full` login as a role with its printed connection string.
    Login,
    /// The same login with `host=` another `--host` name.
    Host,
    /// A login without TLS (`sslmode=disable`), which the server must refuse.
    PlaintextRefused,
    /// A TLS login without a client certificate, which the server must refuse.
    NoCertificateRefused,
    /// The server stopped by its pid and the throwaway directory removed.
    Stop,
}

/// One step, passed or failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Step {
    /// Which step.
    pub step: StepKind,
    /// Whether it held.
    pub passed: bool,
    /// The role it logged in as, for the login steps.
    pub role: Option<String>,
    /// The `host=` it used, for the login steps.
    pub host: Option<String>,
    /// The connection string psql was given, for the login steps.
    pub conninfo: Option<String>,
    /// The line printed after ✓ or ✗.
    pub detail: String,
    /// The server's `FATAL:` text, when it refused (without `FATAL:  `).
    pub server_message: Option<String>,
    /// For the refusal steps: the `FATAL` text pgtls predicts.
    pub predicted: Option<String>,
    /// For a login libpq refused on its own side: why, as pgtls's model of libpq says
    /// ([`explain_client_refusal`]), e.g. OpenSSL's reason behind `certificate verify failed`.
    pub explanation: Option<String>,
}

impl Step {
    /// A step the caller decided (finding the server, initdb, start, roles, stop).
    pub fn new(step: StepKind, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            step,
            passed,
            role: None,
            host: None,
            conninfo: None,
            detail: detail.into(),
            server_message: None,
            predicted: None,
            explanation: None,
        }
    }

    /// Adds pgtls's explanation of a client-side refusal to the step and its line.
    pub fn explained(mut self, why: Option<String>) -> Self {
        // Shown only when it says more than libpq's own message already in the line.
        if let Some(w) = &why {
            let said = w.split_once(": ").map_or(w.as_str(), |(_, rest)| rest);
            if !self.detail.contains(said) {
                self.detail.push_str(&format!(" (pgtls: {w})"));
            }
        }
        self.explanation = why;
        self
    }

    /// `✓` or `✗`.
    pub fn mark(&self) -> &'static str {
        if self.passed { "✓" } else { "✗" }
    }
}

/// What psql did with one connection attempt (complete by definition: it exited 0 or not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// psql exited 0; its standard output.
    Connected {
        /// What it printed.
        stdout: String,
    },
    /// psql exited non-zero (or could not run); its standard error.
    Failed {
        /// What it printed (or why it could not run).
        stderr: String,
    },
}

/// Who refused a connection that psql could not make.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The server sent an error during authentication: its `FATAL:` text (the line after
    /// `FATAL:  `).
    Server {
        /// The message.
        fatal: String,
    },
    /// libpq gave up on its own side (TLS verification, no server, a file it cannot read):
    /// its message, without psql's `psql: error: ` and libpq's `connection to server at ...
    /// failed: ` prefixes.
    Client {
        /// The message.
        message: String,
    },
}

impl Refusal {
    /// Reads psql's standard error. libpq prints a server's error as `FATAL:  text` after
    /// `connection to server at "H" (A), port P failed: `; anything else is libpq's own.
    pub fn from_psql_stderr(stderr: &str) -> Self {
        for line in stderr.lines() {
            if let Some((_, fatal)) = line.split_once("FATAL:  ") {
                return Self::Server {
                    fatal: fatal.trim_end().to_owned(),
                };
            }
        }
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let mut message = first.strip_prefix("psql: error: ").unwrap_or(first);
        if message.starts_with("connection to server")
            && let Some((_, rest)) = message.split_once(" failed: ")
        {
            message = rest;
        }
        Self::Client {
            message: message.trim().to_owned(),
        }
    }
}

/// What pgtls predicts the server does with a login.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prediction {
    /// It refuses with this `FATAL` text (without `FATAL:  `).
    Refused(String),
    /// It admits the login (to authentication): the files would let it in.
    Admitted,
    /// pgtls cannot predict it: why.
    Unknown(String),
}

/// What the server does with a login without TLS (`sslmode=disable`) from [`LOOPBACK`] as
/// `role` to [`DATABASE`], by `pg_hba` (the whole pg_hba.conf of the throwaway server) and
/// `version`: quickstart's `hostssl` line must leave it without a matching line.
pub fn predict_plaintext(pg_hba: &str, role: &str, version: PgVersion) -> Prediction {
    let hba = HbaFile::parse_str(pg_hba, ServerSettings::new(version, true));
    let req = Request::tcp(IpAddr::V4(LOOPBACK), DATABASE, role).with_tls(false);
    let d = pgtls_hba::evaluate(&hba, &req);
    match d.verdict() {
        HbaVerdict::Match => Prediction::Admitted,
        HbaVerdict::Reject | HbaVerdict::NoMatch => {
            Prediction::Refused(d.verdict_message().unwrap_or_default().to_owned())
        }
        HbaVerdict::NotLoaded | HbaVerdict::Undecided => {
            Prediction::Unknown(d.verdict_message().unwrap_or_default().to_owned())
        }
        other => Prediction::Unknown(format!("pg_hba verdict {other}")),
    }
}

/// What the server does with a TLS login as `role` that presents no client certificate, when
/// `hba_line` (quickstart's) is the line it matches and `tls` the server's `ssl_ca_file` and
/// `ssl_crl_file`.
pub fn predict_no_certificate(
    tls: &ServerTls,
    hba_line: &str,
    role: &str,
    now: UnixTime,
) -> Prediction {
    match decide_client(tls, hba_line, None, role, None, now) {
        Ok(d) => match d.outcome {
            ServerOutcome::Accept => Prediction::Admitted,
            ServerOutcome::Reject { message, .. } => match message.strip_prefix("FATAL:  ") {
                Some(m) => Prediction::Refused(m.to_owned()),
                None => Prediction::Unknown(format!("not a refusal by the server: {message}")),
            },
            ServerOutcome::Undecided { message, .. } => Prediction::Unknown(message),
        },
        Err(e) => Prediction::Unknown(e.to_string()),
    }
}

/// A role in a step's line: in double quotes, with `"` and `\\` escaped.
fn quoted(role: &str) -> String {
    format!("{role:?}")
}

/// A verify-full login as `role` (with `host`, when it is not the printed one): it passes
/// when psql connected, ran [`LOGIN_QUERY`] and the session is TLS as `role`.
pub fn judge_login(
    step: StepKind,
    role: &str,
    host: &str,
    conninfo: &str,
    observed: &Observed,
) -> Step {
    let what = match step {
        StepKind::Host => format!("verify-full login as {} with host={host}", quoted(role)),
        _ => format!("verify-full login as {}", quoted(role)),
    };
    let (passed, detail, server_message) = match observed {
        Observed::Connected { stdout } => {
            let row = stdout.strip_suffix('\n').unwrap_or(stdout);
            let mut f = row.splitn(3, '|');
            match (f.next(), f.next(), f.next()) {
                (Some("t"), Some(tls), Some(user)) if user == role => (
                    true,
                    format!("{what}: connected over {tls} as current_user {user}"),
                    None,
                ),
                (Some(ssl), _, user) => (
                    false,
                    format!(
                        "{what}: connected, but ssl={ssl}, current_user {}",
                        user.unwrap_or("?")
                    ),
                    None,
                ),
                (None, ..) => (false, format!("{what}: connected, but no row"), None),
            }
        }
        Observed::Failed { stderr } => match Refusal::from_psql_stderr(stderr) {
            Refusal::Server { fatal } => (
                false,
                format!("{what}: refused by the server: FATAL:  {fatal}"),
                Some(fatal),
            ),
            Refusal::Client { message } => (false, format!("{what}: {message}"), None),
        },
    };
    Step {
        step,
        passed,
        role: Some(role.to_owned()),
        host: Some(host.to_owned()),
        conninfo: Some(conninfo.to_owned()),
        detail,
        server_message,
        predicted: None,
        explanation: None,
    }
}

/// A login that must be refused ([`StepKind::PlaintextRefused`] or
/// [`StepKind::NoCertificateRefused`]): it passes only when the server refused it with the
/// `FATAL` text pgtls predicts. Getting in fails, and so does a refusal on the client's side
/// or for another reason (those say nothing about quickstart's pg_hba.conf line), and a
/// prediction that is not a refusal.
pub fn judge_refusal(
    step: StepKind,
    role: &str,
    host: &str,
    conninfo: &str,
    observed: &Observed,
    predicted: &Prediction,
) -> Step {
    let what = match step {
        StepKind::PlaintextRefused => {
            format!("plaintext login (sslmode=disable) as {}", quoted(role))
        }
        _ => format!("TLS login without a client certificate as {}", quoted(role)),
    };
    let predicted_text = match predicted {
        Prediction::Refused(m) => Some(m.clone()),
        _ => None,
    };
    let (passed, detail, server_message) = match (observed, predicted) {
        (Observed::Connected { .. }, _) => (
            false,
            format!("{what} got in: the server does not require what quickstart's line requires"),
            None,
        ),
        (Observed::Failed { stderr }, _) => match (Refusal::from_psql_stderr(stderr), predicted) {
            (Refusal::Server { fatal }, Prediction::Refused(p)) if &fatal == p => (
                true,
                format!("{what} refused: FATAL:  {fatal} (as pgtls predicts)"),
                Some(fatal),
            ),
            (Refusal::Server { fatal }, Prediction::Refused(p)) => (
                false,
                format!("{what} refused, but not as pgtls predicts: FATAL:  {fatal} (pgtls: {p})"),
                Some(fatal),
            ),
            (Refusal::Server { fatal }, Prediction::Admitted) => (
                false,
                format!(
                    "{what} refused with FATAL:  {fatal}, where pgtls predicts the files admit it"
                ),
                Some(fatal),
            ),
            (Refusal::Server { fatal }, Prediction::Unknown(why)) => (
                false,
                format!("{what} refused with FATAL:  {fatal}; pgtls cannot predict it: {why}"),
                Some(fatal),
            ),
            (Refusal::Client { message }, _) => (
                false,
                format!("{what} failed on the client's side, not refused by the server: {message}"),
                None,
            ),
        },
    };
    Step {
        step,
        passed,
        role: Some(role.to_owned()),
        host: Some(host.to_owned()),
        conninfo: Some(conninfo.to_owned()),
        detail,
        server_message,
        predicted: predicted_text,
        explanation: None,
    }
}

/// Why libpq refused, on its own side, a login with `conninfo` (and the environment `env`,
/// which supplies `~/.postgresql/root.crl` and the `PGSSL*` variables) to a server presenting
/// `server_chain`: the first failed check of pgtls's verdict, with OpenSSL's hidden reason
/// when there is one. `None` when pgtls accepts (or cannot evaluate) the chain.
pub fn explain_client_refusal(
    conninfo: &str,
    env: &crate::Env,
    version: PgVersion,
    server_chain: &[rustls_pki_types::CertificateDer<'_>],
    now: UnixTime,
) -> Option<String> {
    let params = crate::Params::parse_conninfo(conninfo).ok()?;
    let v = crate::verify_server(&params, env, version, server_chain, now).ok()?;
    if v.accepted() {
        return None;
    }
    let failed = v.checks.iter().find(|c| c.passed == Some(false))?;
    let mut why = format!("{}: {}", failed.name, failed.detail);
    // A chain refused for want of a CRL: say which CRL file libpq loaded (a stale
    // ~/.postgresql/root.crl of another CA is the usual cause).
    if failed.reason.is_some()
        && let Some(crl) = v
            .checks
            .iter()
            .find(|c| c.name == "crl" && c.passed == Some(true))
    {
        why.push_str(&format!("; crl: {}", crl.detail));
    }
    Some(why)
}

/// What quickstart warns about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WarningCode {
    /// `--role postgres`: the superuser gets a certificate login.
    SuperuserRole,
    /// An IP-address `--host` that libpq 14 and older do not match against the certificate.
    IpHostOldLibpq,
    /// A CRL the caller's libpq loads by default makes it refuse the new server.
    ClientCrl,
}

/// One warning of quickstart's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Warning {
    /// Which.
    pub code: WarningCode,
    /// What to tell the user (one line, what happens and what to do).
    pub message: String,
}

/// The name `initdb` gives the bootstrap superuser on the distributions' clusters (and
/// `--try`'s).
pub const BOOTSTRAP_SUPERUSER: &str = "postgres";

/// `--role postgres`: the certificate logs in as the superuser over TCP (from any address
/// quickstart's `all` admits), and `CREATE ROLE postgres` fails where initdb made that role.
pub fn warn_superuser_role(role: &str) -> Option<Warning> {
    (role == BOOTSTRAP_SUPERUSER).then(|| Warning {
        code: WarningCode::SuperuserRole,
        message: format!(
            "--role {role}: {role} is the superuser of a cluster made by initdb or a \
             distribution's package: whoever holds clients/{role}/postgresql.key logs in as \
             superuser over TCP from any address (quickstart's line says `all`), and the printed \
             CREATE ROLE {role} fails there (the role exists); prefer a role without SUPERUSER \
             for certificate logins"
        ),
    })
}

/// The libpq versions that ignore iPAddress SANs (and use the CN only when the certificate has
/// no dNSName SAN).
const OLD_LIBPQ: [PgVersion; 3] = [PgVersion::V12, PgVersion::V13, PgVersion::V14];

/// For each `--host` that is an IP address (`hosts[0]` being the printed connection strings'
/// `host=`): whether libpq 12 to 14, which ignore iPAddress SANs, refuse `host=IP` under
/// verify-full against `server_cert` (DER), as pgtls's model of their host-name check says; a
/// warning with libpq's message for each that they refuse.
pub fn warn_ip_hosts(server_cert: &[u8], hosts: &[String]) -> Vec<Warning> {
    let Ok(leaf) = crate::hostname::Leaf::from_der(server_cert) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        if crate::hostname::host_kind(host.as_bytes()) != crate::hostname::HostKind::Ip {
            continue;
        }
        let refused: Vec<(PgVersion, String)> = OLD_LIBPQ
            .iter()
            .filter_map(|v| match leaf.check(host, *v) {
                crate::hostname::HostCheck::Reject(m) => Some((*v, m)),
                crate::hostname::HostCheck::Match(_) => None,
            })
            .collect();
        let (Some((first, msg)), Some((last, _))) = (refused.first(), refused.last()) else {
            continue;
        };
        let which = if first == last {
            format!("libpq {first}")
        } else {
            format!("libpq {first} to {last}")
        };
        let printed = if i == 0 {
            " (the printed connection strings' host=)"
        } else {
            ""
        };
        out.push(Warning {
            code: WarningCode::IpHostOldLibpq,
            message: format!(
                "--host {host}{printed}: {which} match no iPAddress SAN (and no CN when a \
                 dNSName SAN is present): their verify-full with host={host} fails ({msg}); \
                 libpq 15 and newer accept it. For older clients connect with a DNS \
                 --host name (hostaddr={host} next to it keeps the address)"
            ),
        });
    }
    out
}

/// Whether libpq, with `conninfo` (a printed connection string) and the caller's environment
/// `env` (its `HOME`'s `~/.postgresql/root.crl`, `PGSSLCRL`, `PGSSLCRLDIR`), refuses a server
/// presenting `server_chain` because of a CRL it loads on its own (a stale root.crl of another
/// CA turns CRL checking on for every certificate of the chain: `unable to get certificate
/// CRL`). `None` when it accepts, or refuses for another reason.
pub fn warn_client_crl(
    conninfo: &str,
    env: &crate::Env,
    version: PgVersion,
    server_chain: &[rustls_pki_types::CertificateDer<'_>],
    now: UnixTime,
) -> Option<Warning> {
    use crate::X509Reason as R;
    let params = crate::Params::parse_conninfo(conninfo).ok()?;
    let v = crate::verify_server(&params, env, version, server_chain, now).ok()?;
    if v.accepted() {
        return None;
    }
    let failed = v.checks.iter().find(|c| c.passed == Some(false))?;
    let reason = failed.reason?;
    let crl_reason = matches!(
        reason,
        R::UnableToGetCrl
            | R::CrlSignatureFailure
            | R::CrlNotYetValid
            | R::CrlHasExpired
            | R::CertRevoked
            | R::UnableToGetCrlIssuer
            | R::KeyUsageNoCrlSign
            | R::UnhandledCriticalCrlExtension
            | R::DifferentCrlScope
    );
    let crl = v
        .checks
        .iter()
        .find(|c| c.name == "crl" && c.passed == Some(true))?;
    if !crl_reason {
        return None;
    }
    Some(Warning {
        code: WarningCode::ClientCrl,
        message: format!(
            "libpq here loads a CRL the printed connection strings do not name ({}) and then \
             refuses this server ({}: {}); move that file away (libpq reads \
             ~/.postgresql/root.crl under verify-ca and verify-full whenever sslcrl and \
             sslcrldir are unset), or unset PGSSLCRL/PGSSLCRLDIR",
            crl.detail,
            v.message().unwrap_or("certificate verify failed"),
            failed.detail
        ),
    })
}

/// Everything quickstart warns about: [`warn_superuser_role`] for each role,
/// [`warn_ip_hosts`], and [`warn_client_crl`] for the first role's printed `conninfo` with the
/// caller's `env` at libpq `version` (the trial's client's, else the newest).
pub fn quickstart_warnings(
    roles: &[String],
    hosts: &[String],
    conninfo: &str,
    env: &crate::Env,
    version: PgVersion,
    server_chain: &[rustls_pki_types::CertificateDer<'_>],
    now: UnixTime,
) -> Vec<Warning> {
    let mut out: Vec<Warning> = roles
        .iter()
        .filter_map(|r| warn_superuser_role(r))
        .collect();
    if let Some(leaf) = server_chain.first() {
        out.extend(warn_ip_hosts(leaf.as_ref(), hosts));
    }
    out.extend(warn_client_crl(conninfo, env, version, server_chain, now));
    out
}

/// The trial: the installation, the steps, and whether it held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct TryReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The installation's bin directory, once found.
    pub bindir: Option<String>,
    /// The server's version (`15.14`), once read.
    pub version: Option<String>,
    /// The client the logins ran with (its libpq's rules judge them), once read.
    pub client: Option<ClientReport>,
    /// The server's TCP port on 127.0.0.1, once chosen.
    pub port: Option<u16>,
    /// The OS user the server ran as.
    pub server_user: Option<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Every step passed and none of the required ones is missing (set by
    /// [`TryReport::finish`]).
    pub passed: bool,
    /// The roles that must each have a passed [`StepKind::Login`].
    #[serde(skip)]
    roles: Vec<String>,
}

impl TryReport {
    /// An empty trial for quickstart's `roles`.
    pub fn new(roles: &[String]) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            bindir: None,
            version: None,
            client: None,
            port: None,
            server_user: None,
            steps: Vec::new(),
            passed: false,
            roles: roles.to_vec(),
        }
    }

    /// Adds a step; returns whether it passed.
    pub fn push(&mut self, step: Step) -> bool {
        let passed = step.passed;
        self.steps.push(step);
        passed
    }

    /// What is missing for the trial to hold: each required step that did not run (the
    /// server found, initdb, start, roles, a login per role, both refusals, stop).
    pub fn missing(&self) -> Vec<String> {
        let has = |k: StepKind, role: Option<&str>| {
            self.steps
                .iter()
                .any(|s| s.step == k && (role.is_none() || s.role.as_deref() == role))
        };
        let mut out = Vec::new();
        for (k, name) in [
            (StepKind::Server, "server"),
            (StepKind::Initdb, "initdb"),
            (StepKind::Start, "start"),
            (StepKind::CreateRoles, "create-roles"),
        ] {
            if !has(k, None) {
                out.push(name.to_owned());
            }
        }
        for r in &self.roles {
            if !has(StepKind::Login, Some(r)) {
                out.push(format!("login as {}", quoted(r)));
            }
        }
        for (k, name) in [
            (StepKind::PlaintextRefused, "plaintext-refused"),
            (StepKind::NoCertificateRefused, "no-certificate-refused"),
            (StepKind::Stop, "stop"),
        ] {
            if !has(k, None) {
                out.push(name.to_owned());
            }
        }
        out
    }

    /// Decides [`TryReport::passed`]: every step passed and [`TryReport::missing`] is empty.
    pub fn finish(&mut self) -> bool {
        self.passed = !self.roles.is_empty()
            && self.steps.iter().all(|s| s.passed)
            && self.missing().is_empty();
        self.passed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HBA: &str = "local all postgres trust\nhostssl all app,\"ops team\" all cert\n";

    #[test]
    fn versions_are_read_from_postgres_version() {
        let v = server_version_text("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n");
        assert_eq!(v, Some("15.14"));
        assert_eq!(server_major("15.14"), Some(15));
        assert_eq!(
            server_version_text("postgres (PostgreSQL) 18beta1\n"),
            Some("18beta1")
        );
        assert_eq!(server_major("18beta1"), Some(18));
        assert_eq!(server_version_text("psql (PostgreSQL) 17.2"), Some("17.2"));
        assert_eq!(server_version_text("something else"), None);
    }

    #[test]
    fn usual_directories_newest_first_and_first_complete_wins() {
        let root = tempfile::tempdir().unwrap();
        let mk = |d: &str, programs: &[&str]| {
            let p = root.path().join(d);
            std::fs::create_dir_all(&p).unwrap();
            for prog in programs {
                std::fs::write(p.join(prog), b"").unwrap();
            }
            p
        };
        let all = ["initdb", "postgres", "psql"];
        let d9 = mk("usr/lib/postgresql/9/bin", &all);
        let d15 = mk("usr/lib/postgresql/15/bin", &all);
        let d17 = mk("usr/pgsql-17/bin", &["initdb", "postgres"]);
        let src = mk("usr/local/pgsql/bin", &all);
        mk("usr/lib/postgresql/notaversion/bin", &all);
        let usual = usual_bindirs(root.path());
        assert_eq!(usual, vec![d17.clone(), d15.clone(), d9, src]);
        // 17 has no psql: 15 is the newest complete one.
        let i = find_install(None, None, None, None, &usual).unwrap();
        assert_eq!(
            (i.bindir, i.found_by),
            (d15.clone(), FoundBy::UsualDirectory)
        );
        // pg_config's answer comes first.
        let i = find_install(None, None, None, Some(&d15), &[]).unwrap();
        assert_eq!(i.found_by, FoundBy::PgConfig);
        // Only servers without psql: say so.
        let e = find_install(None, None, None, None, std::slice::from_ref(&d17)).unwrap_err();
        assert!(
            matches!(e, FindError::NoPsql { ref dir } if *dir == d17),
            "{e}"
        );
        assert!(e.to_string().contains("no psql"), "{e}");
        // --pg-bin is taken as given, and names what it lacks.
        let e = find_install(Some(&d17), None, None, Some(&d15), &usual).unwrap_err();
        assert!(e.to_string().contains("no psql there"), "{e}");
        let empty = mk("empty", &[]);
        let e = find_install(Some(&empty), None, None, None, &usual).unwrap_err();
        assert!(e.to_string().contains("no initdb there"), "{e}");
        let e = find_install(None, None, None, None, &[]).unwrap_err();
        assert!(e.to_string().contains("pass --pg-bin DIR"), "{e}");
        assert!(e.to_string().contains("apt-get install postgresql"), "{e}");
    }

    #[test]
    fn a_server_without_psql_takes_the_client_from_psql_or_path() {
        let root = tempfile::tempdir().unwrap();
        let mk = |d: &str, programs: &[&str]| {
            let p = root.path().join(d);
            std::fs::create_dir_all(&p).unwrap();
            for prog in programs {
                std::fs::write(p.join(prog), b"").unwrap();
            }
            p
        };
        let d12 = mk("12/bin", &["initdb", "postgres"]);
        let d14 = mk("14/bin", &["initdb", "postgres", "psql"]);
        mk("14/lib", &["libpq.so.5"]);
        let psql14 = d14.join("psql");
        let other = mk("other/bin", &["psql"]);
        // --psql: the server's directory need not have one; the client's own libraries.
        let i = find_install(
            Some(&d12),
            Some(&psql14),
            Some(&other.join("psql")),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(i.bindir, d12);
        assert_eq!(i.client.psql, psql14);
        assert_eq!(i.client.found_by, ClientFoundBy::PsqlOption);
        assert_eq!(i.client.libdir, Some(root.path().join("14/lib")));
        // --psql also wins over the installation's own.
        let i = find_install(Some(&d14), Some(&other.join("psql")), None, None, &[]).unwrap();
        assert_eq!(
            (i.client.found_by, i.client.libdir),
            (ClientFoundBy::PsqlOption, None)
        );
        // No --psql: the installation's own, else PATH's.
        let i = find_install(Some(&d14), None, Some(&other.join("psql")), None, &[]).unwrap();
        assert_eq!(i.client.found_by, ClientFoundBy::Installation);
        let i = find_install(Some(&d12), None, Some(&other.join("psql")), None, &[]).unwrap();
        assert_eq!(
            (i.client.psql.clone(), i.client.found_by),
            (other.join("psql"), ClientFoundBy::Path)
        );
        // Searching: a complete installation first, else a server with PATH's psql.
        let usual = vec![d12.clone(), d14.clone()];
        let i = find_install(None, None, Some(&other.join("psql")), None, &usual).unwrap();
        assert_eq!(i.bindir, d14);
        let i = find_install(None, None, Some(&other.join("psql")), None, &usual[..1]).unwrap();
        assert_eq!(
            (i.bindir, i.client.found_by),
            (d12.clone(), ClientFoundBy::Path)
        );
        let i = find_install(None, Some(&psql14), None, None, &usual).unwrap();
        assert_eq!(
            (i.bindir, i.client.found_by),
            (d12.clone(), ClientFoundBy::PsqlOption)
        );
        // Nothing: say what to pass.
        let e = find_install(Some(&d12), None, None, None, &[]).unwrap_err();
        assert!(
            e.to_string().contains("no psql there") && e.to_string().contains("--psql PATH"),
            "{e}"
        );
        let e = find_install(None, None, None, None, &usual[..1]).unwrap_err();
        assert!(
            matches!(e, FindError::NoPsql { .. }) && e.to_string().contains("--psql PATH"),
            "{e}"
        );
        let e =
            find_install(Some(&d12), Some(&root.path().join("nope")), None, None, &[]).unwrap_err();
        assert!(matches!(e, FindError::PsqlMissing { .. }), "{e}");
        // PATH: the first directory that has it.
        let path = std::env::join_paths([&d12, &other, &d14]).unwrap();
        assert_eq!(find_on_path(&path, "psql"), Some(other.join("psql")));
        assert_eq!(find_on_path(&path, "nothing"), None);
    }

    #[test]
    fn the_client_libpq_is_the_loaded_files_version() {
        let root = tempfile::tempdir().unwrap();
        let lib = root.path().join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("libpq.so.5.14"), b"").unwrap();
        std::os::unix::fs::symlink("libpq.so.5.14", lib.join("libpq.so.5")).unwrap();
        assert_eq!(libpq_major(&lib.join("libpq.so.5")), Some(14));
        assert_eq!(libpq_major(Path::new("/x/libpq.so.5")), None);
        let trace = format!(
            "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibpq.so.5 => {}/libpq.so.5 (0x00007f5a)\n\
             \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f12)\n",
            lib.display()
        );
        assert_eq!(libpq_in_loader_trace(&trace), Some(lib.join("libpq.so.5")));
        assert_eq!(libpq_in_loader_trace("\tlibpq.so.5 => not found\n"), None);
        let client = Client {
            psql: root.path().join("bin/psql"),
            libdir: None,
            found_by: ClientFoundBy::PsqlOption,
        };
        // The file's version wins over psql's.
        let r = client_libpq(&client, "psql (PostgreSQL) 15.14 (Debian)\n", Some(&trace)).unwrap();
        assert_eq!((r.psql_version.as_str(), r.libpq_major), ("15.14", 14));
        assert_eq!(r.libpq_known_by, LibpqKnownBy::LibraryFile);
        assert_eq!(r.libpq_version(), PgVersion::V14);
        assert!(r.describe().contains("with libpq 14 ("), "{}", r.describe());
        // A wrapper script: psql's version, said to be assumed.
        let r = client_libpq(
            &client,
            "psql (PostgreSQL) 16.2\n",
            Some("\tlibc.so.6 => /l (0x1)\n"),
        )
        .unwrap();
        assert_eq!(
            (r.libpq_major, r.libpq_known_by),
            (16, LibpqKnownBy::PsqlVersion)
        );
        assert!(r.describe().contains("assumed"), "{}", r.describe());
        assert!(matches!(
            client_libpq(&client, "psql (PostgreSQL) 11.2\n", None),
            Err(ClientError::Unsupported { major: 11, .. })
        ));
        assert!(matches!(
            client_libpq(&client, "nonsense", None),
            Err(ClientError::NoVersion { .. })
        ));
    }

    #[test]
    fn the_superuser_role_is_warned_about() {
        let w = warn_superuser_role("postgres").unwrap();
        assert_eq!(w.code, WarningCode::SuperuserRole);
        assert!(w.message.contains("superuser"), "{}", w.message);
        assert_eq!(warn_superuser_role("Postgres"), None);
        assert_eq!(warn_superuser_role("app"), None);
    }

    #[test]
    fn a_relocatable_build_brings_its_libpq() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("17/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(root.path().join("17/lib")).unwrap();
        for p in ["initdb", "postgres", "psql"] {
            std::fs::write(bin.join(p), b"").unwrap();
        }
        assert_eq!(
            find_install(Some(&bin), None, None, None, &[])
                .unwrap()
                .libdir,
            None
        );
        std::fs::write(root.path().join("17/lib/libpq.so.5"), b"").unwrap();
        assert_eq!(
            find_install(Some(&bin), None, None, None, &[])
                .unwrap()
                .libdir,
            Some(root.path().join("17/lib"))
        );
    }

    #[test]
    fn psql_errors_are_told_apart() {
        let server = "psql: error: connection to server at \"db.example.com\" (127.0.0.1), \
                      port 5432 failed: FATAL:  no pg_hba.conf entry for host \"127.0.0.1\", \
                      user \"app\", database \"postgres\", no encryption\n";
        assert_eq!(
            Refusal::from_psql_stderr(server),
            Refusal::Server {
                fatal: "no pg_hba.conf entry for host \"127.0.0.1\", user \"app\", database \
                        \"postgres\", no encryption"
                    .into()
            }
        );
        let client = "psql: error: connection to server at \"db.example.com\" (127.0.0.1), \
                      port 5432 failed: SSL error: certificate verify failed\n";
        assert_eq!(
            Refusal::from_psql_stderr(client),
            Refusal::Client {
                message: "SSL error: certificate verify failed".into()
            }
        );
    }

    #[test]
    fn a_refusal_counts_only_from_the_server_and_as_predicted() {
        let p = predict_plaintext(HBA, "ops team", PgVersion::V15);
        let fatal = "no pg_hba.conf entry for host \"127.0.0.1\", user \"ops team\", database \
                     \"postgres\", no encryption";
        assert_eq!(p, Prediction::Refused(fatal.into()));
        let failed = |s: &str| Observed::Failed {
            stderr: format!(
                "psql: error: connection to server at \"h\" (127.0.0.1), port 1 failed: {s}\n"
            ),
        };
        let k = StepKind::PlaintextRefused;
        let ok = judge_refusal(
            k,
            "ops team",
            "h",
            "c",
            &failed(&format!("FATAL:  {fatal}")),
            &p,
        );
        assert!(ok.passed, "{}", ok.detail);
        assert_eq!(ok.server_message.as_deref(), Some(fatal));
        // Refused for another reason, refused by libpq, or let in: not a pass.
        let other = failed("FATAL:  role \"ops team\" does not exist");
        assert!(!judge_refusal(k, "ops team", "h", "c", &other, &p).passed);
        let client = failed("Connection refused");
        assert!(!judge_refusal(k, "ops team", "h", "c", &client, &p).passed);
        let got_in = Observed::Connected {
            stdout: "f||ops team\n".into(),
        };
        assert!(!judge_refusal(k, "ops team", "h", "c", &got_in, &p).passed);
        // A pg_hba.conf that lets plaintext in: pgtls predicts admission, and a refusal by the
        // server is then not "as predicted".
        let open = predict_plaintext("host all all all trust\n", "app", PgVersion::V15);
        assert_eq!(open, Prediction::Admitted);
        assert!(
            !judge_refusal(
                k,
                "app",
                "h",
                "c",
                &failed(&format!("FATAL:  {fatal}")),
                &open
            )
            .passed
        );
    }

    #[test]
    fn a_login_counts_only_over_tls_as_the_role() {
        let k = StepKind::Login;
        let ok = Observed::Connected {
            stdout: "t|TLSv1.3|a|b\n".into(),
        };
        assert!(judge_login(k, "a|b", "h", "c", &ok).passed);
        assert!(!judge_login(k, "a", "h", "c", &ok).passed);
        let plain = Observed::Connected {
            stdout: "f||app\n".into(),
        };
        assert!(!judge_login(k, "app", "h", "c", &plain).passed);
        let none = Observed::Connected { stdout: "".into() };
        assert!(!judge_login(k, "app", "h", "c", &none).passed);
    }

    #[test]
    fn a_trial_holds_only_with_every_required_step() {
        let roles = vec!["app".to_owned()];
        let mut r = TryReport::new(&roles);
        assert!(!r.finish());
        for k in [
            StepKind::Server,
            StepKind::Initdb,
            StepKind::Start,
            StepKind::CreateRoles,
            StepKind::PlaintextRefused,
            StepKind::NoCertificateRefused,
        ] {
            r.push(Step::new(k, true, "x"));
        }
        r.push(Step::new(StepKind::Stop, true, "x"));
        assert!(!r.finish(), "no login as app");
        assert_eq!(r.missing(), vec!["login as \"app\"".to_owned()]);
        let login = judge_login(
            StepKind::Login,
            "app",
            "h",
            "c",
            &Observed::Connected {
                stdout: "t|TLSv1.3|app\n".into(),
            },
        );
        r.push(login);
        assert!(r.finish());
        r.push(Step::new(StepKind::Host, false, "x"));
        assert!(!r.finish());
    }
}
