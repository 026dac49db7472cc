//! Test support shared by pgtls's crates: a throwaway PostgreSQL cluster on
//! 127.0.0.1 with a free port, and a thin wrapper over the `openssl` CLI.
//!
//! Real parts, not mocks: the cluster is the PostgreSQL server installed on the
//! machine (`/usr/lib/postgresql/<major>/bin`, override with `PGTLS_PG_BINDIR`).
//! When the tests run as root, `initdb`/`pg_ctl` run as the `postgres` OS user
//! through `runuser` (the server refuses to run as root). A missing server makes
//! [`Cluster::start`] fail with a message naming the package to install; tests
//! never skip silently.
//!
//! The cluster is stopped by the pid in `postmaster.pid` when the [`Cluster`]
//! is dropped.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The PostgreSQL major version the tests run against.
pub const PG_MAJOR: u32 = 15;

/// Directory holding `initdb`, `pg_ctl` and `postgres`.
pub fn pg_bindir() -> PathBuf {
    std::env::var_os("PGTLS_PG_BINDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("/usr/lib/postgresql/{PG_MAJOR}/bin")))
}

/// Fails with an installation hint when the PostgreSQL server binaries are missing.
pub fn require_postgres() -> Result<(), String> {
    let initdb = pg_bindir().join("initdb");
    if initdb.exists() {
        Ok(())
    } else {
        Err(format!(
            "{} not found: install the PostgreSQL {PG_MAJOR} server (apt-get install postgresql-{PG_MAJOR}) \
             or set PGTLS_PG_BINDIR",
            initdb.display()
        ))
    }
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

/// Runs a PostgreSQL server program, as `postgres` when we are root.
fn pg_command(program: &str) -> Command {
    let path = pg_bindir().join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
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
}

impl Cluster {
    /// `initdb`s a new cluster (trust auth, no fsync) and starts it with the
    /// extra `postgresql.conf` lines given. Files the configuration refers to
    /// can be written into [`Cluster::data_dir`] before a [`Cluster::restart`],
    /// or with [`Cluster::init`] + [`Cluster::start_initialized`].
    pub fn start(conf: &str) -> Result<Self, String> {
        let c = Self::init()?;
        c.append_conf(conf)?;
        c.start_initialized()
    }

    /// `initdb`s a new cluster without starting it.
    pub fn init() -> Result<Self, String> {
        require_postgres()?;
        let dir = tempfile::Builder::new()
            .prefix("pgtls-pg-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod: {e}"))?;
        give_to_postgres(dir.path()).map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        let out = pg_command("initdb")
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
        check(out, "initdb")?;
        let port = free_port().map_err(|e| format!("free port: {e}"))?;
        let c = Self {
            dir,
            port,
            stopped: true,
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
        let out = pg_command("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .arg("start")
            .output()
            .map_err(|e| format!("pg_ctl start: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "pg_ctl start failed: {}\nserver log:\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.log()
            ));
        }
        self.stopped = false;
        Ok(self)
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

    /// Replaces `pg_hba.conf`.
    pub fn write_hba(&self, text: &str) -> Result<(), String> {
        self.write_file("pg_hba.conf", text.as_bytes(), 0o600)
    }

    /// Replaces `pg_ident.conf`.
    pub fn write_ident(&self, text: &str) -> Result<(), String> {
        self.write_file("pg_ident.conf", text.as_bytes(), 0o600)
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

    /// Sends SIGHUP through `pg_ctl reload` and waits until the server has
    /// re-read its files (a short, bounded wait for the log line).
    pub fn reload(&self) -> Result<(), String> {
        let before = self.log_len();
        let out = pg_command("pg_ctl")
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
        let mut c = Command::new("psql");
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
        c.output()
            .map_err(|e| format!("psql: {e} (install postgresql-client-{PG_MAJOR})"))
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
}
