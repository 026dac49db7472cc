//! Shared parts of the pg_hba differential tests (`hba_views.rs`,
//! `hba_connections.rs`): the corpus, known divergences, reading the server
//! log, and running `pgtls hba check`.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pgtls_testkit::pki::{Leaf, OpensslCa};
use pgtls_testkit::{Cluster, require_openssl};
use serde_json::Value;

/// `testdata/hba` of the workspace.
pub(crate) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/hba")
}

/// A corpus directory: the `*.conf` files at its top are cases, everything
/// else (recursively) is a support file that cases `@`-include.
pub(crate) struct Corpus {
    pub(crate) dir: PathBuf,
    pub(crate) cases: Vec<PathBuf>,
    pub(crate) support: Vec<PathBuf>,
}

impl Corpus {
    pub(crate) fn read(dir: &Path) -> Self {
        fn walk(dir: &Path, top: bool, out: &mut Corpus) {
            let mut entries: Vec<PathBuf> = fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    walk(&p, false, out);
                } else if top && p.extension().is_some_and(|x| x == "conf") {
                    out.cases.push(p);
                } else {
                    out.support.push(p);
                }
            }
        }
        let mut c = Self {
            dir: dir.to_path_buf(),
            cases: Vec::new(),
            support: Vec::new(),
        };
        walk(dir, true, &mut c);
        c
    }

    /// Copies the support files into `dst`, keeping relative paths.
    pub(crate) fn copy_support(&self, dst: &Path) {
        for f in &self.support {
            let to = dst.join(f.strip_prefix(&self.dir).unwrap());
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(f, &to).unwrap_or_else(|e| panic!("copy {}: {e}", f.display()));
            fs::set_permissions(&to, fs::Permissions::from_mode(0o644)).unwrap();
        }
    }

    /// A case's name relative to `testdata/hba`, as known-divergences.json uses it.
    pub(crate) fn name(case: &Path) -> String {
        case.strip_prefix(testdata()).unwrap().display().to_string()
    }
}

/// Writes a file the server (another OS user) can read.
pub(crate) fn write_world_readable(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
}

/// Shortens long texts (the corpus has 10 kB tokens) for failure messages.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 600;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}... ({} chars)", s.chars().count())
    }
}

/// `(case, reason)` entries of `testdata/hba/known-divergences.json` for `test`.
pub(crate) fn known_divergences(test: &str) -> BTreeMap<String, String> {
    known_divergences_in(&testdata().join("known-divergences.json"), test)
}

/// The entries for `test` on PostgreSQL `version`: those of
/// `known-divergences.json` (every version) and of
/// `known-divergences-pg<version>.json` when that file exists.
pub(crate) fn known_divergences_for(test: &str, version: u32) -> BTreeMap<String, String> {
    let mut all = known_divergences(test);
    let path = testdata().join(format!("known-divergences-pg{version}.json"));
    if path.exists() {
        all.extend(known_divergences_in(&path, test));
    }
    all
}

fn known_divergences_in(path: &Path, test: &str) -> BTreeMap<String, String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let all: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let list = all["divergences"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no \"divergences\" array", path.display()));
    let mut out = BTreeMap::new();
    for d in list {
        let (Some(t), Some(f), Some(r)) =
            (d["test"].as_str(), d["file"].as_str(), d["reason"].as_str())
        else {
            panic!("{}: entry without test/file/reason: {d}", path.display());
        };
        assert!(
            !r.trim().is_empty(),
            "{}: empty reason for {f}",
            path.display()
        );
        if t == test {
            out.insert(f.to_string(), r.to_string());
        }
    }
    out
}

/// What the server did with a connection attempt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Got past the pg_hba stage (logged in, or a later step failed).
    Matched,
    /// `pg_hba.conf rejects ...`, with the message.
    Reject(String),
    /// `no pg_hba.conf entry ...`, with the message.
    NoMatch(String),
}

/// Which line the server says matched, read from its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Logged {
    /// The file holding the line: from 16 the detail names it (an included
    /// file, or the main one); before 16 only `connection authenticated`
    /// names a file (always `HbaFileName`), the detail says `pg_hba.conf`.
    pub(crate) file: Option<String>,
    pub(crate) line: u32,
    /// The record as the server has it (`rawline`), when the detail gives it.
    pub(crate) raw: Option<String>,
}

impl Logged {
    /// The file of the line; `main` (the server's `hba_file`) when the log
    /// does not name one.
    pub(crate) fn file_or(&self, main: &Path) -> String {
        self.file
            .clone()
            .unwrap_or_else(|| main.display().to_string())
    }
}

/// The matched line in the server log of PostgreSQL `version`, in that
/// version's words: before 16 `Connection matched pg_hba.conf line N: "RAW"`,
/// from 16 `Connection matched file "F" line N: "RAW"`; else (a method that
/// authenticated an identity) `connection authenticated: ... (F:N)`. The other
/// version's form of the detail is an error: the parser would be the wrong one.
pub(crate) fn logged_match(log: &str, version: u32) -> Result<Option<Logged>, String> {
    const OLD: &str = "Connection matched pg_hba.conf line ";
    const NEW: &str = "Connection matched file \"";
    let (mine, other) = if version >= 16 {
        (NEW, OLD)
    } else {
        (OLD, NEW)
    };
    if log.contains(other) {
        return Err(format!(
            "PostgreSQL {version} logged the other versions' form of the matched line ({other:?}):\n{log}"
        ));
    }
    let bad = || format!("cannot read the matched line of PostgreSQL {version}'s log:\n{log}");
    if let Some(i) = log.find(mine) {
        let rest = log[i + mine.len()..].lines().next().unwrap_or("");
        let (file, rest) = if version >= 16 {
            let (f, r) = rest.split_once("\" line ").ok_or_else(bad)?;
            (Some(f.to_string()), r)
        } else {
            (None, rest)
        };
        let (n, raw) = rest.split_once(": \"").ok_or_else(bad)?;
        let raw = raw.strip_suffix('"').ok_or_else(bad)?;
        return Ok(Some(Logged {
            file,
            line: n.parse().map_err(|_| bad())?,
            raw: Some(raw.to_string()),
        }));
    }
    let Some(line) = log
        .lines()
        .find(|l| l.contains("connection authenticated: "))
    else {
        return Ok(None);
    };
    let inner = line.trim_end().strip_suffix(')').ok_or_else(bad)?;
    let inner = inner.rsplit_once(" (").ok_or_else(bad)?.1;
    let (file, n) = inner.rsplit_once(':').ok_or_else(bad)?;
    Ok(Some(Logged {
        file: Some(file.to_string()),
        line: n.parse().map_err(|_| bad())?,
        raw: None,
    }))
}

/// Compares the line `pgtls hba check` printed (`line N of "F": RAW (method
/// M)`) with the one the server logged; `main` is the pg_hba.conf given to
/// both (the file of a line when the server does not name one). The raw line
/// is compared without its outer blanks, which pgtls trims when it prints.
pub(crate) fn judge_logged(logged: &Logged, main: &Path, got: &Answer) -> Vec<String> {
    let mut d = Vec::new();
    let printed = got
        .stdout_first
        .strip_prefix("line ")
        .and_then(|r| r.split_once(" of \""))
        .and_then(|(n, r)| Some((n.parse::<u32>().ok()?, r.split_once("\": ")?)))
        .and_then(|(n, (f, r))| Some((n, f, r.rsplit_once(" (method ")?.0)));
    let Some((line, file, raw)) = printed else {
        d.push(format!(
            "printed {:?}, not `line N of \"FILE\": RAW (method M)`",
            got.stdout_first
        ));
        return d;
    };
    let want_file = logged.file_or(main);
    if (line, file) != (logged.line, want_file.as_str()) {
        d.push(format!(
            "printed line {line} of {file:?}, the server matched line {} of {want_file:?}",
            logged.line
        ));
    }
    if let Some(r) = &logged.raw
        && raw != r.trim()
    {
        d.push(format!("printed the line as {raw:?}, the server has {r:?}"));
    }
    d
}

/// The text after `FATAL:  ` on the first FATAL line of the server log.
pub(crate) fn fatal(log: &str) -> Option<&str> {
    log.lines()
        .find_map(|l| l.split_once(" FATAL:  ").map(|(_, m)| m))
}

/// Classifies an attempt from the server log written meanwhile and the
/// client's stderr; `None` when neither tells.
pub(crate) fn classify(log: &str, client_stderr: &str) -> Option<Outcome> {
    match fatal(log) {
        Some(m) if m.starts_with("pg_hba.conf rejects ") => Some(Outcome::Reject(m.to_string())),
        Some(m) if m.starts_with("no pg_hba.conf entry ") => Some(Outcome::NoMatch(m.to_string())),
        Some(_) => Some(Outcome::Matched),
        None if log.contains("connection authorized: ")
            || log.contains("replication connection authorized: ") =>
        {
            Some(Outcome::Matched)
        }
        // The server asked for a password the client did not have: the
        // pg_hba stage was passed (the server logs nothing when the client
        // hangs up then).
        None if client_stderr.contains("fe_sendauth: no password supplied") => {
            Some(Outcome::Matched)
        }
        None => None,
    }
}

/// A connection as `pgtls hba check` describes it.
pub(crate) struct Conn<'a> {
    /// The server's `ssl` setting.
    pub(crate) server_ssl: bool,
    /// `None`: Unix socket; otherwise the client's IP address.
    pub(crate) address: Option<&'a str>,
    pub(crate) tls: bool,
    pub(crate) database: &'a str,
    pub(crate) user: &'a str,
    pub(crate) member_of: &'a [String],
    /// `"physical"` or `"logical"`.
    pub(crate) replication: Option<&'a str>,
    pub(crate) client_hostname: Option<&'a str>,
}

/// What `pgtls hba check` said, with and without `--json`.
pub(crate) struct Answer {
    pub(crate) code: Option<i32>,
    /// The first line of the plain run's stdout (`line N of "F": ...`).
    pub(crate) stdout_first: String,
    pub(crate) stderr_first: String,
    pub(crate) json: Result<Value, String>,
    pub(crate) json_code: Option<i32>,
    pub(crate) command: String,
}

/// What pgtls is told about the server: its major version and the
/// arguments that describe its build and settings (`--pg-version N ...`).
#[derive(Clone, Debug)]
pub(crate) struct ServerArgs {
    pub(crate) version: u32,
    /// Further arguments, such as `--build-without ldap,pam`.
    pub(crate) extra: Vec<String>,
}

impl ServerArgs {
    /// PostgreSQL `version` with the default build.
    pub(crate) fn new(version: u32) -> Self {
        Self {
            version,
            extra: Vec::new(),
        }
    }

    /// `--pg-version N` and the extra arguments.
    pub(crate) fn args(&self) -> Vec<String> {
        let mut v = vec!["--pg-version".to_string(), self.version.to_string()];
        v.extend(self.extra.iter().cloned());
        v
    }
}

/// Runs `pgtls hba check FILE --pg-version N --ssl on|off ...` twice, plain
/// and with `--json`.
pub(crate) fn pgtls_check(
    file: &Path,
    server_addresses: &str,
    c: &Conn<'_>,
    server: &ServerArgs,
) -> Answer {
    let mut args: Vec<String> = vec!["hba".into(), "check".into(), file.display().to_string()];
    args.extend(server.args());
    args.extend([
        "--ssl".into(),
        if c.server_ssl { "on" } else { "off" }.into(),
    ]);
    match c.address {
        None => args.push("--local".into()),
        Some(a) => {
            args.extend(["--address".into(), a.into()]);
            if c.tls {
                args.push("--tls".into());
            }
        }
    }
    args.extend([
        "--database".into(),
        c.database.into(),
        "--user".into(),
        c.user.into(),
    ]);
    if !c.member_of.is_empty() {
        args.extend(["--member-of".into(), c.member_of.join(",")]);
    }
    if let Some(r) = c.replication {
        args.extend(["--replication".into(), r.into()]);
    }
    if let Some(h) = c.client_hostname {
        args.extend(["--client-hostname".into(), h.into()]);
    }
    args.extend(["--server-address".into(), server_addresses.into()]);
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pgtls"))
            .args(&args)
            .args(extra)
            .output()
            .unwrap()
    };
    let plain = run(&[]);
    let json = run(&["--json"]);
    let json_out = String::from_utf8_lossy(&json.stdout);
    Answer {
        code: plain.status.code(),
        stdout_first: String::from_utf8_lossy(&plain.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        stderr_first: String::from_utf8_lossy(&plain.stderr)
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        json: serde_json::from_str(json_out.trim()).map_err(|e| {
            format!(
                "--json printed no JSON ({e}): {:?}; stderr: {:?}",
                clip(json_out.trim()),
                clip(String::from_utf8_lossy(&json.stderr).trim())
            )
        }),
        json_code: json.status.code(),
        command: format!("pgtls {}", args.join(" ")),
    }
}

/// Compares pgtls's answer with the server's outcome. `line`: `Some(l)`
/// when the server told which line matched (`Some(None)`: none did),
/// `None` when it did not say. Returns what differs.
pub(crate) fn judge(outcome: &Outcome, line: Option<Option<u32>>, got: &Answer) -> Vec<String> {
    let mut d = Vec::new();
    let (verdict, code, message) = match outcome {
        Outcome::Matched => ("match", 0, None),
        Outcome::Reject(m) => ("reject", 1, Some(m.as_str())),
        Outcome::NoMatch(m) => ("no-match", 1, Some(m.as_str())),
    };
    if got.code != Some(code) {
        d.push(format!("exit status {:?}, expected {code}", got.code));
    }
    if let Some(m) = message
        && got.stderr_first != m
    {
        d.push(format!(
            "first stderr line {:?}, expected {m:?}",
            got.stderr_first
        ));
    }
    if got.json_code != Some(code) {
        d.push(format!(
            "--json exit status {:?}, expected {code}",
            got.json_code
        ));
    }
    match &got.json {
        Err(e) => d.push(e.clone()),
        Ok(j) => {
            if j["verdict"] != verdict {
                d.push(format!(
                    "--json verdict {}, expected {verdict:?}",
                    j["verdict"]
                ));
            }
            if let Some(line) = line {
                let want = line.map_or(Value::Null, Value::from);
                if j["line"] != want {
                    d.push(format!("--json line {}, expected {want}", j["line"]));
                }
            }
            if let Some(m) = message
                && j["message"] != m
            {
                d.push(format!("--json message {}, expected {m:?}", j["message"]));
            }
        }
    }
    d
}

/// Compares pgtls's answer for a file the server refused to load (exit 3).
pub(crate) fn judge_not_loaded(first_error: &str, got: &Answer) -> Vec<String> {
    let mut d = Vec::new();
    if got.code != Some(3) {
        d.push(format!("exit status {:?}, expected 3", got.code));
    }
    if !got.stderr_first.contains(first_error) {
        d.push(format!(
            "first stderr line {:?} does not contain the server's first error {first_error:?}",
            got.stderr_first
        ));
    }
    if got.json_code != Some(3) {
        d.push(format!(
            "--json exit status {:?}, expected 3",
            got.json_code
        ));
    }
    match &got.json {
        Err(e) => d.push(e.clone()),
        Ok(j) if j["verdict"] != "not-loaded" => d.push(format!(
            "--json verdict {}, expected \"not-loaded\"",
            j["verdict"]
        )),
        Ok(_) => {}
    }
    d
}

/// The server's first error after the last `received SIGHUP` in `log`.
/// Lines the server logs without rejecting the file are not errors: an
/// unknown `ldapscheme` (spec R6), the "record cannot match" warnings
/// (R4.1), and for `include_if_exists` of a missing file (16+) the pair
/// `could not open file "F": No such file or directory` + `skipping missing
/// authentication file "F"`.
pub(crate) fn first_load_error(log: &str) -> Option<String> {
    let after = log.rsplit_once("received SIGHUP")?.1;
    let messages: Vec<&str> = after
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(" LOG:  ").map(|(_, m)| m))
        .collect();
    messages
        .iter()
        .enumerate()
        .find(|(i, m)| {
            let skipped_missing = m
                .strip_prefix("could not open file \"")
                .and_then(|r| r.strip_suffix("\": No such file or directory"))
                .is_some_and(|f| {
                    messages.get(i + 1).is_some_and(|n| {
                        *n == format!("skipping missing authentication file \"{f}\"")
                    })
                });
            !m.starts_with("connection received: ")
                && !m.starts_with("invalid ldapscheme value: ")
                && !m.contains(" record cannot match because ")
                && !m.starts_with("skipping missing authentication file ")
                && !skipped_missing
        })
        .map(|(_, m)| (*m).to_string())
}

/// Sends SIGHUP to the postmaster and returns once a connection attempt has
/// been served after it: the postmaster reloads inside its SIGHUP handler
/// and forks backends only afterwards, so the new rules (or the refusal)
/// are then in place and logged. Returns the log since the signal.
pub(crate) fn reload_and_sync(cluster: &Cluster) -> String {
    let from = cluster.log_len();
    let pidfile = cluster.data_dir().join("postmaster.pid");
    let pid = fs::read_to_string(&pidfile).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_string();
    let st = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(st.success(), "kill -HUP {pid} failed");
    cluster
        .wait_for_log(from, "received SIGHUP")
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = cluster
        .psql(
            &["-X", "-w", "-At", "-c", "select 1"],
            &format!(
                "host={} port={} user=hbadiff_sync dbname=postgres",
                cluster.socket_dir().display(),
                cluster.port()
            ),
            &[],
        )
        .unwrap();
    cluster.log_since(from)
}

/// The server's interface addresses as CIDRs, for `samehost`/`samenet`.
pub(crate) fn interface_cidrs() -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "addr", "show"])
        .output()
        .expect("the `ip` command is needed to list interfaces: apt-get install iproute2");
    assert!(out.status.success(), "ip -o addr show failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|t| *t == "inet" || *t == "inet6")?;
            w.next().map(str::to_string)
        })
        .collect()
}

/// What reverse-then-forward resolution gives for 127.0.0.1, as the server
/// does it for host-name lines (through the same resolver, getent).
pub(crate) fn client_hostname() -> Option<String> {
    let getent = |args: &[&str]| {
        let out = Command::new("getent")
            .args(args)
            .output()
            .expect("getent (libc-bin) is needed to resolve host names as the server does");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let reverse = getent(&["hosts", "127.0.0.1"]);
    let name = reverse.split_whitespace().nth(1)?.to_string();
    let forward = getent(&["ahostsv4", &name]);
    forward
        .split_whitespace()
        .any(|t| t == "127.0.0.1")
        .then_some(name)
}

/// Makes a P-256 CA (`ca.crt`, `ca.key`) and, signed by it, a server key and certificate
/// (`server.*`) for `server` (an `openssl req -subj` subject) and one client key and
/// certificate per `(file stem, subject)`, with the openssl CLI (keys 0600, as libpq wants
/// them).
pub(crate) fn make_certs(dir: &Path, server: &str, clients: &[(&str, &str)]) {
    require_openssl().unwrap();
    let ca = OpensslCa::root(dir, "ca").unwrap();
    ca.issue("server", server, Leaf::Server(&[]), None).unwrap();
    for &(name, subject) in clients {
        ca.issue(name, subject, Leaf::Client, None).unwrap();
    }
}
