//! `pgtls quickstart --try`: runs the programs that prove quickstart's files (initdb, the
//! server, psql) on a throwaway cluster. Which installation, what each login must show and
//! whether the trial held are [`pgtls_verify::trial`]'s decisions; this module only starts,
//! feeds and stops the processes.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use pgtls_verify::PgVersion;
use pgtls_verify::server::ServerTls;
use pgtls_verify::trial::{
    self, ClientReport, FindError, Install, LOGIN_QUERY, LOOPBACK, Observed, Step, StepKind,
    TryReport,
};
use time::OffsetDateTime;

use crate::error::CliError;

/// The superuser of the throwaway cluster (`initdb -U`), as on a cluster made by the
/// distributions' packages.
const SUPERUSER: &str = "postgres";

/// How long the server may take to report itself ready.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a fast shutdown may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The installation and the OS user, settled before quickstart writes anything.
pub(super) struct Prepared {
    install: Install,
    version_text: String,
    version: PgVersion,
    /// The client psql and its libpq, whose rules judge the logins.
    client: ClientReport,
    /// As root: the uid and gid initdb and the server run as.
    run_as: Option<(u32, u32)>,
    /// The name of the OS user the server runs as.
    user: String,
}

/// What quickstart wrote and printed, for the trial to use exactly.
pub(super) struct Written<'a> {
    /// The postgresql.conf lines as printed.
    pub(super) conf_lines: &'a [String],
    /// The pg_hba.conf line as printed.
    pub(super) hba_line: &'a str,
    /// The `CREATE ROLE` statements as printed.
    pub(super) create_roles: &'a [String],
    /// The roles, in `--role` order.
    pub(super) roles: &'a [String],
    /// The `--host` names, the first being the printed connection strings' `host=`.
    pub(super) hosts: &'a [String],
    /// The printed connection string of each role, in `--role` order.
    pub(super) clients: Vec<String>,
    /// The server's `ssl_cert_file`.
    pub(super) server_crt: &'a Path,
    /// The server's `ssl_ca_file`.
    pub(super) root_crt: &'a Path,
    /// The server's `ssl_crl_file`.
    pub(super) root_crl: &'a Path,
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !text.is_empty()).then(|| PathBuf::from(text))
}

/// The OS user name of `uid`, from /etc/passwd.
fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                match (f.first(), f.get(2)) {
                    (Some(n), Some(u)) if u.parse() == Ok(uid) => Some((*n).to_owned()),
                    _ => None,
                }
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// psql's version and the libpq the dynamic loader gives it (`LD_TRACE_LOADED_OBJECTS=1`,
/// what `ldd` shows; psql does not run then).
fn read_client(install: &Install) -> Result<ClientReport, CliError> {
    let psql = &install.client.psql;
    let out = client_command(install)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CliError::io("cannot run", psql, e))?;
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    // `--version` again: a program the loader does not trace (static, not glibc's loader)
    // then only prints its version, and the trace names no libpq.
    let trace = client_command(install)
        .arg("--version")
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    trial::client_libpq(&install.client, &said, trace.as_deref()).map_err(|e| match e {
        trial::ClientError::Unsupported { .. } => CliError::BadInput(e.to_string()),
        e => CliError::Other(e.to_string()),
    })
}

/// Finds the installation and the client, reads their versions and settles the OS user:
/// fails before quickstart writes anything.
pub(super) fn prepare(
    pg_bin: Option<&Path>,
    psql: Option<&Path>,
    owner: Option<&str>,
) -> Result<Prepared, CliError> {
    let usual = trial::usual_bindirs(Path::new("/"));
    let path_psql = std::env::var_os("PATH").and_then(|p| trial::find_on_path(&p, "psql"));
    let install = trial::find_install(
        pg_bin,
        psql,
        path_psql.as_deref(),
        pg_config_bindir().as_deref(),
        &usual,
    )
    .map_err(|e| match e {
        FindError::PgBinIncomplete { .. } | FindError::PsqlMissing { .. } => {
            CliError::Usage(e.to_string())
        }
        e => CliError::Other(e.to_string()),
    })?;
    let client = read_client(&install)?;
    let postgres = install.program("postgres");
    let out = command(&install, "postgres")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CliError::io("cannot run", &postgres, e))?;
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let version_text = trial::server_version_text(&said)
        .ok_or_else(|| {
            CliError::Other(format!(
                "{} --version printed {:?}, not `postgres (PostgreSQL) VERSION`{}",
                postgres.display(),
                said.trim(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default()
            ))
        })?
        .to_owned();
    let version = trial::server_major(&version_text)
        .and_then(|m| PgVersion::new(m).ok())
        .ok_or_else(|| {
            CliError::BadInput(format!(
                "{} is PostgreSQL {version_text}: pgtls models 12 to 18; pass --pg-bin DIR of one of those",
                install.bindir.display()
            ))
        })?;
    let (run_as, user) = if rustix::process::geteuid().is_root() {
        // The server refuses to run as root.
        let name = match owner {
            Some(o) => o.to_owned(),
            None if super::os_user(SUPERUSER).is_ok() => SUPERUSER.to_owned(),
            None => {
                return Err(CliError::Usage(format!(
                    "--try as root: the server refuses to run as root and there is no OS user \
                     {SUPERUSER}: pass --owner USER (the OS user to run the throwaway server as; \
                     server.key is given to it)"
                )));
            }
        };
        let ids = super::os_user(&name)?;
        (Some(ids), name)
    } else {
        (None, user_name(rustix::process::geteuid().as_raw()))
    };
    Ok(Prepared {
        install,
        version_text,
        version,
        client,
        run_as,
        user,
    })
}

/// One of the installation's programs, with `LD_LIBRARY_PATH` on its own libraries when it
/// brings them.
fn command(install: &Install, program: &str) -> Command {
    let mut c = Command::new(install.program(program));
    if let Some(lib) = &install.libdir {
        c.env("LD_LIBRARY_PATH", lib);
    }
    c
}

/// The client's psql, with `LD_LIBRARY_PATH` on its own installation's libraries when it
/// brings them (never the server installation's: a psql 14 must not load libpq 12).
fn client_command(install: &Install) -> Command {
    let mut c = Command::new(&install.client.psql);
    if let Some(lib) = &install.client.libdir {
        c.env("LD_LIBRARY_PATH", lib);
    }
    c
}

impl Prepared {
    /// The libpq version whose rules apply to the logins: the client's.
    pub(super) fn client_version(&self) -> PgVersion {
        self.client.libpq_version()
    }
}

/// A server program (initdb, postgres), as the unprivileged user when we are root.
fn server_command(p: &Prepared, program: &str, cwd: &Path) -> Command {
    let mut c = command(&p.install, program);
    if let Some((uid, gid)) = p.run_as {
        // std drops the supplementary groups (setgroups(0)) before setuid.
        c.uid(uid).gid(gid);
    }
    c.current_dir(cwd).stdin(Stdio::null());
    c
}

/// psql with `conninfo`. `clean`: without the caller's libpq environment (`PG*`) and with
/// `home` as `HOME` (no ~/.postgresql, ~/.pgpass or service file), for the refusals and the
/// superuser session; otherwise with the caller's whole environment, as the printed line
/// would run.
fn psql(p: &Prepared, conninfo: &str, sql: &str, clean: Option<&Path>) -> Observed {
    let mut c = client_command(&p.install);
    c.args([
        "-X",
        "-w",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
        "-d",
    ])
    .arg(conninfo)
    .stdin(Stdio::null());
    if let Some(home) = clean {
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PG") {
                c.env_remove(k);
            }
        }
        c.env("HOME", home);
    }
    if std::env::var_os("PGCONNECT_TIMEOUT").is_none() || clean.is_some() {
        c.env("PGCONNECT_TIMEOUT", "10");
    }
    match c.output() {
        Ok(o) if o.status.success() => Observed::Connected {
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        },
        Ok(o) => Observed::Failed {
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Err(e) => Observed::Failed {
            stderr: format!("cannot run {}: {e}", p.install.client.psql.display()),
        },
    }
}

/// The server's own lines worth showing from its log: the FATAL ones, else the last few.
fn log_excerpt(log: &Path) -> String {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let fatal: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("FATAL:  ").map(|(_, m)| m))
        .collect();
    if !fatal.is_empty() {
        return format!("FATAL:  {}", fatal.join("; FATAL:  "));
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(3)..].join("; ")
}

fn last_lines(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join("; ")
}

/// The running server; stopped by its pid when dropped.
struct Server {
    child: Child,
    exited: Option<ExitStatus>,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited (reaped: its pid is then no longer ours to signal).
    fn poll(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.exited = Some(status);
        }
        self.exited
    }

    /// Fast shutdown (SIGINT) by pid, SIGKILL after [`STOP_TIMEOUT`]; what happened.
    fn stop(&mut self) -> Result<String, String> {
        let pid = self.pid();
        if let Some(status) = self.poll() {
            return Ok(format!(
                "pid {pid} had already exited, {}",
                exit_text(status)
            ));
        }
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::INT,
        )
        .map_err(|e| format!("cannot signal the server (pid {pid}): {e}"))?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.poll() {
                return Ok(format!(
                    "pid {pid} stopped by SIGINT (fast shutdown), {}",
                    exit_text(status)
                ));
            }
            sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.exited = self.child.wait().ok();
        Err(format!(
            "the server (pid {pid}) did not stop within {} s of SIGINT; killed",
            STOP_TIMEOUT.as_secs()
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.stop();
        }
    }
}

fn exit_text(status: ExitStatus) -> String {
    match status.code() {
        Some(c) => format!("exit status {c}"),
        None => status.to_string(),
    }
}

/// Waits until the server says `ready` in postmaster.pid (what `pg_ctl -w` waits for), or
/// exits.
fn wait_ready(server: &mut Server, data: &Path) -> Result<(), String> {
    let pidfile = data.join("postmaster.pid");
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(status) = server.poll() {
            return Err(format!(
                "server did not start: it exited, {}",
                exit_text(status)
            ));
        }
        if let Ok(text) = std::fs::read_to_string(&pidfile)
            && text.lines().nth(7).map(str::trim) == Some("ready")
        {
            return Ok(());
        }
        sleep(Duration::from_millis(20));
    }
    Err(format!(
        "server did not start: not ready within {} s",
        START_TIMEOUT.as_secs()
    ))
}

fn append(path: &Path, text: &str) -> Result<(), CliError> {
    // Opening the existing file keeps its owner (the server's user) and mode.
    let mut f = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| CliError::io("cannot open", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| CliError::io("cannot write", path, e))
}

fn replace(path: &Path, text: &str) -> Result<(), CliError> {
    let mut f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| CliError::io("cannot open", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| CliError::io("cannot write", path, e))
}

fn free_port() -> Result<u16, CliError> {
    let l = std::net::TcpListener::bind((LOOPBACK, 0))
        .map_err(|e| CliError::Other(format!("no free port on 127.0.0.1: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| CliError::Other(format!("no free port on 127.0.0.1: {e}")))
}

/// Runs the trial, calling `emit` with each step as it completes.
///
/// # Errors
/// Only for what stops the trial from running at all (no temporary directory, `emit`
/// failing); a step that fails is a ✗ in the report.
pub(super) fn run(
    p: &Prepared,
    w: &Written<'_>,
    now: OffsetDateTime,
    mut emit: impl FnMut(&Step) -> Result<(), CliError>,
) -> Result<TryReport, CliError> {
    let mut report = TryReport::new(w.roles);
    report.bindir = Some(p.install.bindir.display().to_string());
    report.version = Some(p.version_text.clone());
    report.client = Some(p.client.clone());
    report.server_user = Some(p.user.clone());
    let mut push = |report: &mut TryReport, step: Step| -> Result<bool, CliError> {
        emit(&step)?;
        Ok(report.push(step))
    };
    push(
        &mut report,
        Step::new(
            StepKind::Server,
            true,
            format!(
                "PostgreSQL {} in {} (initdb, postgres; found by {}{}); client {}{}: the logins \
                 are judged by libpq {}'s rules",
                p.version_text,
                p.install.bindir.display(),
                p.install.found_by.as_str(),
                p.install
                    .libdir
                    .as_ref()
                    .map(|l| format!("; LD_LIBRARY_PATH={}", l.display()))
                    .unwrap_or_default(),
                p.client.describe(),
                p.install
                    .client
                    .libdir
                    .as_ref()
                    .map(|l| format!(", LD_LIBRARY_PATH={}", l.display()))
                    .unwrap_or_default(),
                p.client.libpq_major
            ),
        ),
    )?;

    // The throwaway directory: the data directory, the socket, the log. Removed at the end
    // (and by TempDir's drop on any early return).
    let tmp = tempfile::Builder::new()
        .prefix("pgtls-try-")
        .tempdir()
        .map_err(|e| CliError::Other(format!("cannot create a temporary directory: {e}")))?;
    let dir = tmp.path().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| CliError::io("cannot chmod", &dir, e))?;
    if let Some((uid, gid)) = p.run_as {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| CliError::io("cannot give to the server's user", &dir, e))?;
    }
    let data = dir.join("data");
    let out = server_command(p, "initdb", &dir)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .output();
    let initdb_ok = match out {
        Ok(o) if o.status.success() => push(
            &mut report,
            Step::new(
                StepKind::Initdb,
                true,
                format!(
                    "initdb of a throwaway cluster in {} as OS user {}",
                    data.display(),
                    p.user
                ),
            ),
        )?,
        Ok(o) => push(
            &mut report,
            Step::new(
                StepKind::Initdb,
                false,
                format!(
                    "initdb of {} as OS user {} failed ({}): {}",
                    data.display(),
                    p.user,
                    o.status,
                    last_lines(&o.stderr)
                ),
            ),
        )?,
        Err(e) => push(
            &mut report,
            Step::new(
                StepKind::Initdb,
                false,
                format!("cannot run {}: {e}", p.install.program("initdb").display()),
            ),
        )?,
    };
    let stopped = if initdb_ok {
        run_server(p, w, now, &dir, &data, &mut report, &mut push)?
    } else {
        None
    };
    let removed = tmp.close().map_err(|e| {
        format!(
            "cannot remove the throwaway directory {}: {e}",
            dir.display()
        )
    });
    let step = match (stopped, removed) {
        (None, Ok(())) => Step::new(
            StepKind::Stop,
            true,
            format!(
                "no server was started; throwaway directory {} removed",
                dir.display()
            ),
        ),
        (Some(Ok(how)), Ok(())) => Step::new(
            StepKind::Stop,
            true,
            format!(
                "server {how}; throwaway directory {} removed",
                dir.display()
            ),
        ),
        (Some(Err(e)), _) | (_, Err(e)) => Step::new(StepKind::Stop, false, e),
    };
    push(&mut report, step)?;
    report.finish();
    Ok(report)
}

type Push<'a> = dyn FnMut(&mut TryReport, Step) -> Result<bool, CliError> + 'a;

/// The pg_hba.conf of the throwaway server: the superuser's Unix-socket line for `CREATE
/// ROLE`, then quickstart's line as printed.
fn hba_text(w: &Written<'_>) -> String {
    format!(
        "# pgtls quickstart --try: the superuser over this server's own Unix socket (in a\n\
         # directory only its OS user can open), for CREATE ROLE\n\
         local all {SUPERUSER} trust\n\
         # quickstart's pg_hba.conf line, as printed\n{}\n",
        w.hba_line
    )
}

/// Configures, starts, tries and stops the server of an initdb'd `data` directory; how the
/// server stopped, when one was started.
fn run_server(
    p: &Prepared,
    w: &Written<'_>,
    now: OffsetDateTime,
    dir: &Path,
    data: &Path,
    report: &mut TryReport,
    push: &mut Push<'_>,
) -> Result<Option<Result<String, String>>, CliError> {
    let port = free_port()?;
    report.port = Some(port);
    let conf = format!(
        "\n# pgtls quickstart --try: this throwaway server's own settings\n\
         listen_addresses = '{LOOPBACK}'\nport = {port}\nunix_socket_directories = {}\n\
         fsync = off\n\
         # quickstart's postgresql.conf lines, as printed\n{}\n",
        pgtls_hba::conf::quote_string(&dir.display().to_string()),
        w.conf_lines.join("\n")
    );
    append(&data.join("postgresql.conf"), &conf)?;
    replace(&data.join("pg_hba.conf"), &hba_text(w))?;

    let log_path = dir.join("server.log");
    let log = File::create(&log_path).map_err(|e| CliError::io("cannot create", &log_path, e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| CliError::io("cannot open", &log_path, e))?;
    let child = server_command(p, "postgres", dir)
        .arg("-D")
        .arg(data)
        .stdout(log)
        .stderr(log2)
        .spawn();
    let mut server = match child {
        Ok(child) => Server {
            child,
            exited: None,
        },
        Err(e) => {
            push(
                report,
                Step::new(
                    StepKind::Start,
                    false,
                    format!(
                        "cannot run {}: {e}",
                        p.install.program("postgres").display()
                    ),
                ),
            )?;
            return Ok(None);
        }
    };
    let pid = server.pid();
    if let Err(why) = wait_ready(&mut server, data) {
        let excerpt = log_excerpt(&log_path);
        let hint = if p.run_as.is_some() && excerpt.contains("Permission denied") {
            format!(
                " (the server runs as OS user {}: the files in postgresql.conf and the \
                 directories above them must be readable by it; see --owner)",
                p.user
            )
        } else {
            String::new()
        };
        push(
            report,
            Step::new(StepKind::Start, false, format!("{why}: {excerpt}{hint}")),
        )?;
        return Ok(Some(server.stop()));
    }
    push(
        report,
        Step::new(
            StepKind::Start,
            true,
            format!(
                "server started on {LOOPBACK}:{port} (pid {pid}, as OS user {}) with quickstart's \
                 postgresql.conf lines and pg_hba.conf line",
                p.user
            ),
        ),
    )?;

    let admin = pgtls_verify::conninfo_string([
        ("host", dir.display().to_string().as_str()),
        ("port", port.to_string().as_str()),
        ("user", SUPERUSER),
        ("dbname", trial::DATABASE),
    ]);
    let sql = w.create_roles.join("\n");
    let step = match psql(p, &admin, &sql, Some(dir)) {
        Observed::Connected { .. } => Step::new(
            StepKind::CreateRoles,
            true,
            format!(
                "the printed CREATE ROLE statements ran ({} role(s))",
                w.create_roles.len()
            ),
        ),
        Observed::Failed { stderr } => Step::new(
            StepKind::CreateRoles,
            false,
            format!(
                "the printed CREATE ROLE statements failed: {}",
                last_lines(stderr.as_bytes())
            ),
        ),
    };
    if push(report, step)? {
        try_logins(p, w, now, dir, port, report, push)?;
    }

    Ok(Some(server.stop()))
}

/// The verify-full logins with the printed strings, the other host names, and the two
/// refusals.
fn try_logins(
    p: &Prepared,
    w: &Written<'_>,
    now: OffsetDateTime,
    dir: &Path,
    port: u16,
    report: &mut TryReport,
    push: &mut Push<'_>,
) -> Result<(), CliError> {
    let local = format!("hostaddr={LOOPBACK} port={port}");
    let host = w.hosts.first().map(String::as_str).unwrap_or("localhost");
    let at = pgtls_verify::UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(now.unix_timestamp()).unwrap_or(0),
    ));
    // What pgtls says about a login libpq refused on its own side (with the caller's
    // environment, as psql ran).
    let chain = pgtls_verify::read_chain_file(w.server_crt).ok();
    let explain = |step: Step, seen: &Observed| match (&chain, seen) {
        (Some(chain), Observed::Failed { .. }) if !step.passed && step.server_message.is_none() => {
            let env = pgtls_verify::Env::from_process();
            let conninfo = step.conninfo.clone().unwrap_or_default();
            step.explained(trial::explain_client_refusal(
                &conninfo,
                &env,
                p.client_version(),
                chain,
                at,
            ))
        }
        _ => step,
    };
    for (role, printed) in w.roles.iter().zip(&w.clients) {
        let conninfo = format!("{printed} {local}");
        let seen = psql(p, &conninfo, LOGIN_QUERY, None);
        let step = trial::judge_login(StepKind::Login, role, host, &conninfo, &seen);
        push(report, explain(step, &seen))?;
    }
    let (Some(role), Some(printed)) = (w.roles.first(), w.clients.first()) else {
        return Ok(());
    };
    for other in w.hosts.iter().skip(1) {
        let conninfo = format!(
            "{printed} {} {local}",
            pgtls_verify::conninfo_string([("host", other.as_str())])
        );
        let seen = psql(p, &conninfo, LOGIN_QUERY, None);
        let step = trial::judge_login(StepKind::Host, role, other, &conninfo, &seen);
        push(report, explain(step, &seen))?;
    }

    let conninfo = format!("{printed} sslmode=disable gssencmode=disable {local}");
    let seen = psql(p, &conninfo, LOGIN_QUERY, Some(dir));
    let predicted = trial::predict_plaintext(&hba_text(w), role, p.version);
    push(
        report,
        trial::judge_refusal(
            StepKind::PlaintextRefused,
            role,
            host,
            &conninfo,
            &seen,
            &predicted,
        ),
    )?;

    // A certificate file that does not exist: libpq then sends none (sslcertmode=disable
    // would say it directly, but only from libpq 16 on).
    let none = dir.join("no-client-certificate");
    let conninfo = format!(
        "{printed} {} {local}",
        pgtls_verify::conninfo_string([
            (
                "sslcert",
                none.join("postgresql.crt").display().to_string().as_str()
            ),
            (
                "sslkey",
                none.join("postgresql.key").display().to_string().as_str()
            ),
        ])
    );
    let seen = psql(p, &conninfo, LOGIN_QUERY, Some(dir));
    let mut tls = ServerTls::new(w.root_crt, p.version);
    tls.ssl_crl_file = Some(w.root_crl.to_path_buf());
    let predicted = trial::predict_no_certificate(&tls, w.hba_line, role, at);
    push(
        report,
        trial::judge_refusal(
            StepKind::NoCertificateRefused,
            role,
            host,
            &conninfo,
            &seen,
            &predicted,
        ),
    )?;
    Ok(())
}
