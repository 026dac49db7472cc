//! Differential test: `pgtls hba rules` / `pgtls hba ident` against the
//! `pg_hba_file_rules` / `pg_ident_file_mappings` views of real PostgreSQL
//! servers, one per major version (`PGTLS_PG_VERSIONS`, default all of 12 to
//! 18; builds from the system or `scripts/pg-versions.sh`).
//!
//! Per version, one cluster serves the whole corpus in `testdata/hba/` (see
//! its README.md). `pg_ident_file_mappings` exists from 15: older servers
//! get no ident view pass, but load each ident file instead, and the errors
//! they log are compared with `pgtls hba ident`'s. The builds of other versions than the system's 15 lack
//! LDAP and PAM; the test asks the server which methods its build has (a
//! one-line probe file per method, read through the view) and tells pgtls
//! with `--build-without`. The load pass runs on every file on 15 (or with
//! `PGTLS_PG_MATRIX=full`) and on a sample elsewhere; the view passes, where
//! versions differ, run on every file of every version.
//! The server is started with `hba_file` and `ident_file` pointing into a
//! scratch directory. For each corpus file the test overwrites that file (and
//! copies the `@`-included support files next to it), asks the view, which
//! re-reads the file on every query in PostgreSQL 15, and runs the pgtls
//! command on the very same path, so error texts that contain the file's path
//! agree. While the views are compared the server never reloads a corpus
//! file: a reload happens only after a working file is back in place.
//!
//! The rules corpus runs twice, with `ssl = off` and `ssl = on`, because
//! `hostssl` lines carry a warning in the view when SSL is off.
//!
//! Then a load pass makes the server load each rules file for real (one
//! SIGHUP per file) and holds `pgtls hba check` to what the server did: it
//! refused the file (exit status 3, the server's first error), or it loaded
//! it and answered real connection attempts, on the same line where the
//! server logs one (read in each version's words: `Connection matched
//! pg_hba.conf line N: "RAW"` before 16, `Connection matched file "F" line N:
//! "RAW"` from 16; file, number and text are compared with what `pgtls hba
//! check` prints). For a loaded file the witness
//! connections of `pgtls hba lint` (a TCP connection without TLS reaches
//! line N) are replayed too.
//!
//! Also loaded for real: files with `hostssl` lines under `ssl = off` (the
//! warning's HINT, in the log only, against `pgtls hba lint`), and on 12-16
//! the `md5` files under `db_user_namespace = on` (`--db-user-namespace on`).
//!
//! Every mismatching file is reported in one failure message. Files listed in
//! `testdata/hba/known-divergences.json` for `hba_views` may differ, and the
//! test fails if one of them no longer differs.

// Tests may unwrap (the project's rule); helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use pgtls_testkit::Cluster;
use serde_json::Value;

mod hba_support;
use hba_support::{
    Conn, Corpus, Outcome, ServerArgs, classify, client_hostname, clip, first_load_error,
    interface_cidrs, judge, judge_logged, judge_not_loaded, known_divergences_for, logged_match,
    make_certs, pgtls_check, reload_and_sync, testdata, write_world_readable,
};

/// The configuration the server actually runs with; written back before
/// every reload and at the end.
const WORKING_HBA: &str = "local all all trust\nhost all all 127.0.0.1/32 trust\n";
const WORKING_IDENT: &str = "# no maps\n";

/// Parses JSON lines; bytes that are not UTF-8 (the corpus has some) are
/// replaced the same way on both sides before parsing.
fn json_lines(bytes: &[u8]) -> Result<Vec<Value>, String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("not JSON ({e}): {}", clip(l))))
        .collect()
}

/// Asks the server's view, through psql on the Unix socket. Each row comes
/// as the hex of the exact bytes of `row_to_json`: psql itself drops bytes
/// that are not valid UTF-8 when it prints text, and the corpus has some.
fn view_rows(cluster: &Cluster, view: &str) -> Vec<Value> {
    view_rows_as(cluster, view, "postgres")
}

/// [`view_rows`] connecting as `user` (`postgres@` under `db_user_namespace`,
/// where the server would look for the role `postgres@postgres` otherwise).
fn view_rows_as(cluster: &Cluster, view: &str, user: &str) -> Vec<Value> {
    let out = cluster
        .psql(
            &[
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("select encode(textsend(row_to_json(r)::text), 'hex') from {view} r"),
            ],
            &format!(
                "host={} port={} user={user} dbname=postgres",
                cluster.socket_dir().display(),
                cluster.port()
            ),
            &[],
        )
        .unwrap();
    assert!(
        out.status.success(),
        "psql on {view} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut bytes = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        bytes.extend(unhex(line));
        bytes.push(b'\n');
    }
    json_lines(&bytes).unwrap_or_else(|e| panic!("{view}: {e}"))
}

fn unhex(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// Runs `pgtls hba <what> FILE --pg-version N [--build-without ..] [--ssl S] --format jsonl`.
fn pgtls_rows(
    what: &str,
    file: &Path,
    ssl: Option<&str>,
    server: &ServerArgs,
) -> Result<Vec<Value>, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    cmd.args(["hba", what]).arg(file);
    if what == "ident" {
        // The build does not change how pg_ident.conf is read.
        cmd.args(["--pg-version", &server.version.to_string()]);
    } else {
        cmd.args(server.args());
    }
    if let Some(s) = ssl {
        cmd.args(["--ssl", s]);
    }
    cmd.args(["--format", "jsonl"]);
    let out = cmd.output().map_err(|e| format!("cannot run pgtls: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The contract does not say how `rules` exits for a file with errors, so
    // 0 and 1 are both fine; usage errors (2) and panics (101) are not.
    match out.status.code() {
        Some(0 | 1) => {}
        other => {
            return Err(format!(
                "`pgtls hba {what}` exited with {other:?}; stderr: {}",
                clip(stderr.lines().next().unwrap_or(""))
            ));
        }
    }
    json_lines(&out.stdout).map_err(|e| format!("`pgtls hba {what}` printed {e}"))
}

/// Row-by-row comparison; `None` when equal.
fn compare(expected: &[Value], got: &[Value]) -> Option<String> {
    if expected == got {
        return None;
    }
    let mut msg = String::new();
    if expected.len() != got.len() {
        msg.push_str(&format!(
            "    {} rows from PostgreSQL, {} from pgtls\n",
            expected.len(),
            got.len()
        ));
    }
    for i in 0..expected.len().max(got.len()) {
        let (e, g) = (expected.get(i), got.get(i));
        if e == g {
            continue;
        }
        let line = e
            .or(g)
            .and_then(|r| r.get("line_number"))
            .map_or_else(|| "?".to_string(), ToString::to_string);
        let show =
            |v: Option<&Value>| v.map_or_else(|| "(no row)".into(), |v| clip(&v.to_string()));
        msg.push_str(&format!(
            "    row {} (line {line}):\n      postgres: {}\n      pgtls:    {}\n",
            i + 1,
            show(e),
            show(g)
        ));
    }
    if msg.contains('\u{FFFD}') {
        msg.push_str(
            "    (U+FFFD marks bytes that are not UTF-8: row_to_json has them as they are in the \
             file, psql hides them when it prints; print them raw or as U+FFFD, do not drop them)\n",
        );
    }
    Some(msg)
}

fn wait_for_setting(cluster: &Cluster, name: &str, want: &str) {
    for _ in 0..200 {
        if cluster.sql(&format!("show {name}")).unwrap().trim() == want {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{name} did not become {want}; log:\n{}", cluster.log());
}

struct Run<'a> {
    cluster: &'a Cluster,
    server: ServerArgs,
    /// Where `hba_file` / `ident_file` point.
    live: &'a Path,
    /// Per corpus file (relative name): the mismatch text, if any.
    mismatches: BTreeMap<String, Vec<String>>,
    compared: usize,
    /// Rows the server's views gave, summed over the passes.
    view_rows: usize,
    /// Files and connection attempts of the load pass.
    loaded_files: usize,
    load_attempts: usize,
    /// Lint witnesses replayed against the server.
    witnesses: usize,
    /// Rules files whose ssl-off view has `hostssl` warnings and nothing the
    /// server would refuse, for [`ssl_off_hints`].
    ssl_warning_files: Vec<std::path::PathBuf>,
    /// `hostssl` warnings whose logged HINT was compared (17+ quotes `"ssl = on"`).
    hints: usize,
    /// Load-pass attempts whose matched line the server logged (compared in
    /// full: file, number, text).
    logged_lines: usize,
    /// Where PGTLS_HBADIFF_DUMP output goes for this version.
    dump: Option<std::path::PathBuf>,
    /// Server settings of the pass, for the mismatch report (`oauth_validator_libraries=..`).
    note: String,
    /// Whom the views are asked as (`postgres`; `postgres@` under `db_user_namespace`).
    db_user: &'static str,
}

impl Run<'_> {
    fn pass(&mut self, kind: &str, corpus: &Corpus, ssl: Option<&str>) {
        let (view, what) = match kind {
            "rules" => ("pg_hba_file_rules", "rules"),
            _ => ("pg_ident_file_mappings", "ident"),
        };
        for case in &corpus.cases {
            let rel = Corpus::name(case);
            let bytes = fs::read(case).unwrap();
            write_world_readable(self.live, &bytes);
            let expected = view_rows_as(self.cluster, view, self.db_user);
            self.view_rows += expected.len();
            if kind == "rules" && ssl == Some("off") && loads_with_ssl_warnings(&expected) {
                self.ssl_warning_files.push(case.clone());
            }
            if let Some(dump) = &self.dump {
                // For people working on pgtls-hba: what the server said.
                let name = format!(
                    "{}{}.jsonl",
                    rel.replace('/', "_"),
                    ssl.map_or("", |s| if s == "on" { ".ssl" } else { "" })
                );
                let text: String = expected.iter().map(|v| format!("{v}\n")).collect();
                fs::write(dump.join(name), text).unwrap();
            }
            let got = pgtls_rows(what, self.live, ssl, &self.server);
            self.compared += 1;
            let mut label = ssl.map_or_else(String::new, |s| format!(" (ssl={s})"));
            label.push_str(&self.note);
            let diff = match got {
                Ok(got) => compare(&expected, &got),
                Err(e) => Some(format!(
                    "    {e}\n    postgres had {} rows, first: {}\n",
                    expected.len(),
                    expected
                        .first()
                        .map_or_else(|| "(none)".into(), |v| clip(&v.to_string()))
                )),
            };
            if let Some(d) = diff {
                self.mismatches
                    .entry(rel)
                    .or_default()
                    .push(format!("  `pgtls hba {what}`{label}:\n{d}"));
            }
        }
    }
}

/// How long `pgtls hba lint` may take on one corpus file (it takes
/// milliseconds; this only keeps a runaway from stalling the test).
const LINT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs `cmd` with its output captured; `None` (and the child killed) if it
/// runs longer than `limit`.
fn output_within(mut cmd: Command, limit: std::time::Duration) -> Option<std::process::Output> {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Drain stdout while waiting, so a large output cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stdout = reader.join().unwrap().unwrap();
            return Some(std::process::Output {
                status,
                stdout,
                stderr: Vec::new(),
            });
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Replays the witness connections of `pgtls hba lint --json` findings
/// `no-tls` and `trust-tcp` (a TCP connection without TLS reaches line N)
/// against the server, which has `file` loaded, where the witness is a
/// plain loopback connection (`host 127.0.0.1|::1 no-tls database=D user=U
/// [replication=physical|logical]`): the server must get past the pg_hba
/// stage, and on line N when it names a line (a wrong password makes it
/// name the line for password methods). Returns how many were replayed.
fn replay_witnesses(
    cluster: &Cluster,
    server: &ServerArgs,
    file: &Path,
    nocert: &str,
    diffs: &mut Vec<String>,
) -> usize {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    cmd.args(["hba", "lint"])
        .arg(file)
        .args(server.args())
        .args(["--ssl", "on", "--json"]);
    let Some(out) = output_within(cmd, LINT_TIMEOUT) else {
        diffs.push(format!(
            "`pgtls hba lint --json` did not finish within {} s",
            LINT_TIMEOUT.as_secs()
        ));
        return 0;
    };
    let Ok(Value::Array(findings)) = serde_json::from_slice::<Value>(&out.stdout) else {
        diffs.push(format!(
            "`pgtls hba lint --json` printed no JSON array: {}",
            clip(&String::from_utf8_lossy(&out.stdout))
        ));
        return 0;
    };
    let mut replayed = 0;
    for f in &findings {
        let (Some(code), Some(line), Some(witness)) = (
            f["code"].as_str(),
            f["line"].as_u64(),
            f["witness"].as_str(),
        ) else {
            continue;
        };
        if code != "no-tls" && code != "trust-tcp" {
            continue;
        }
        // Other methods would make the server reach out (LDAP, RADIUS, PAM).
        let message = f["message"].as_str().unwrap_or("");
        if code != "trust-tcp"
            && !["trust", "password", "md5", "scram-sha-256"]
                .iter()
                .any(|m| message.ends_with(&format!(" with {m}")))
        {
            continue;
        }
        let words: Vec<&str> = witness.split(' ').collect();
        let ([kind, addr, "no-tls", db, user] | [kind, addr, "no-tls", db, user, _]) =
            words.as_slice()
        else {
            continue;
        };
        let (Some(db), Some(user)) = (db.strip_prefix("database="), user.strip_prefix("user="))
        else {
            continue;
        };
        let replication = match words.get(5).map(|w| w.strip_prefix("replication=")) {
            None => "",
            Some(Some("physical")) => " replication=true",
            Some(Some("logical")) => " replication=database",
            Some(_) => continue,
        };
        if *kind != "host" || !matches!(*addr, "127.0.0.1" | "::1") {
            continue;
        }
        let from = cluster.log_len();
        // Quoted: a backslash in a name (`/^\1$` is a plain name before 16) is an escape
        // in conninfo values.
        let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
        let out = cluster
            .psql(
                &["-X", "-w", "-At", "-c", "select 1"],
                &format!(
                    "host={addr} port={} user={} dbname={} sslmode=disable \
                     gssencmode=disable {nocert}{replication}",
                    cluster.port(),
                    quote(user),
                    quote(db)
                ),
                &[("PGPASSWORD", "not-the-password")],
            )
            .unwrap();
        let log = cluster.log_since(from);
        let stderr = String::from_utf8_lossy(&out.stderr);
        replayed += 1;
        let logged = match logged_match(&log, server.version) {
            Ok(l) => l,
            Err(e) => {
                diffs.push(e);
                continue;
            }
        };
        let lint_file = f["file"].as_str().unwrap_or("");
        match (classify(&log, &stderr), logged) {
            (Some(Outcome::Matched), Some(l))
                if u64::from(l.line) != line
                    || l.file.as_deref().is_some_and(|f| f != lint_file) =>
            {
                diffs.push(format!(
                    "lint {code} line {line} of {lint_file:?}, witness `{witness}`: the server matched line {} of {:?}",
                    l.line, l.file
                ));
            }
            (Some(Outcome::Matched), _) => {}
            (other, _) => diffs.push(format!(
                "lint {code} line {line}, witness `{witness}`: the server says {other:?}"
            )),
        }
    }
    replayed
}

/// The view rows of a file the server loads, some with the `hostssl`
/// warning: every row a parsed line (a "silent" error leaves the row all
/// NULL) without any other error.
fn loads_with_ssl_warnings(rows: &[Value]) -> bool {
    const WARNING: &str = "hostssl record cannot match because SSL is disabled";
    rows.iter().any(|r| r["error"] == WARNING)
        && rows
            .iter()
            .all(|r| !r["type"].is_null() && (r["error"].is_null() || r["error"] == WARNING))
}

/// `(file, line, "WARNING (the server's hint: HINT)")` of each `hostssl record
/// cannot match because SSL is disabled` the server logged while loading
/// pg_hba.conf: the message, its HINT line and its CONTEXT line (`line N of
/// configuration file "F"`).
fn logged_ssl_warnings(log: &str) -> Vec<(String, u64, String)> {
    let mut out = Vec::new();
    let mut lines = log.lines().peekable();
    while let Some(l) = lines.next() {
        let Some((_, msg)) = l.split_once(" LOG:  ") else {
            continue;
        };
        if !msg.starts_with("hostssl record cannot match because ") {
            continue;
        }
        let (mut hint, mut place) = (None, None);
        while let Some(next) = lines.peek() {
            if let Some((_, h)) = next.split_once(" HINT:  ") {
                hint = Some(h.to_string());
            } else if let Some((_, c)) = next.split_once(" CONTEXT:  ") {
                place = c
                    .strip_prefix("line ")
                    .and_then(|r| r.split_once(" of configuration file \""))
                    .and_then(|(n, f)| Some((f.strip_suffix('"')?.to_string(), n.parse().ok()?)));
            } else {
                break;
            }
            lines.next();
        }
        let (file, line) = place.unwrap_or_else(|| (format!("(no CONTEXT line: {l})"), 0));
        let text = match hint {
            Some(h) => format!("{msg} (the server's hint: {h})"),
            None => msg.to_string(),
        };
        out.push((file, line, text));
    }
    out
}

/// H4.1: with `ssl = off`, loads rules files that have `hostssl` lines (all
/// of [`Run::ssl_warning_files`] with `sample` false, else three) and
/// compares the warnings the server logs, with their HINT (`Set ssl = on in
/// postgresql.conf.`, 17+ `Set "ssl = on" in postgresql.conf.`) and place,
/// with the `hostssl-ssl-off` findings of `pgtls hba lint --ssl off`.
fn ssl_off_hints(run: &mut Run<'_>, sample: bool) {
    let files = std::mem::take(&mut run.ssl_warning_files);
    let take = if sample { 3 } else { files.len() };
    for case in files.iter().take(take) {
        let name = Corpus::name(case);
        write_world_readable(run.live, &fs::read(case).unwrap());
        let log = reload_and_sync(run.cluster);
        assert!(
            !log.contains("was not reloaded"),
            "{name}: the view showed no error but the server refused it:\n{log}"
        );
        let mut server = logged_ssl_warnings(&log);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgtls"));
        cmd.args(["hba", "lint"])
            .arg(run.live)
            .args(run.server.args())
            .args(["--ssl", "off", "--json"]);
        let out = output_within(cmd, LINT_TIMEOUT).expect("`pgtls hba lint` hangs");
        let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let mut pgtls: Vec<(String, u64, String)> = findings
            .iter()
            .filter(|f| f["code"] == "hostssl-ssl-off")
            .map(|f| {
                (
                    f["file"].as_str().unwrap_or("").to_string(),
                    f["line"].as_u64().unwrap_or(0),
                    f["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        server.sort();
        pgtls.sort();
        run.compared += 1;
        run.hints += server.len();
        if server != pgtls {
            run.mismatches.entry(name).or_default().push(format!(
                "  the hostssl warnings logged when loading the file (ssl=off) against `pgtls hba lint --ssl off`:\n    postgres: {server:?}\n    pgtls:    {pgtls:?}\n"
            ));
        }
    }
    write_world_readable(run.live, WORKING_HBA.as_bytes());
    let log = reload_and_sync(run.cluster);
    assert!(!log.contains("was not reloaded"), "{log}");
}

/// Who connects in the load pass: (user, database, roles the user is in).
/// The roles are created at the start of the test.
const LOAD_PASS_USERS: &[(&str, &str, &[&str])] =
    &[("postgres", "postgres", &[]), ("alice", "app", &["staff"])];

/// The load pass: makes the server load each rules file (SIGHUP). A file it
/// refuses must give exit status 3 and the server's first error from
/// `pgtls hba check`; for a file it loads, connection attempts (Unix
/// socket, TCP, TCP with TLS; each `LOAD_PASS_USERS` entry; no password)
/// must get the same verdict and message, and the same line where the
/// server names one.
fn load_pass(run: &mut Run<'_>, rules: &Corpus, scratch: &Path, sample: bool) {
    let cluster = run.cluster;
    let addresses = interface_cidrs().join(",");
    let hostname = client_hostname();
    // libpq would otherwise look in ~/.postgresql for a client certificate.
    let nocert = format!(
        "sslcert={} sslkey={}",
        scratch.join("none.crt").display(),
        scratch.join("none.key").display()
    );
    let conns = [
        (
            format!("host={}", cluster.socket_dir().display()),
            "disable",
            None,
        ),
        ("host=127.0.0.1".to_string(), "disable", Some("127.0.0.1")),
        ("host=127.0.0.1".to_string(), "require", Some("127.0.0.1")),
    ];
    for (i, case) in rules.cases.iter().enumerate() {
        let name = Corpus::name(case);
        if sample && !in_load_sample(i, &name) {
            continue;
        }
        run.loaded_files += 1;
        write_world_readable(run.live, &fs::read(case).unwrap());
        let log = reload_and_sync(cluster);
        let mut diffs = Vec::new();
        if log.contains("pg_hba.conf was not reloaded") {
            let first = first_load_error(&log)
                .unwrap_or_else(|| panic!("{name}: refused, but no error logged:\n{log}"));
            let conn = Conn {
                server_ssl: true,
                address: None,
                tls: false,
                database: "postgres",
                user: "postgres",
                member_of: &[],
                replication: None,
                client_hostname: None,
            };
            if let Some(dump) = &run.dump {
                let path = dump.join(format!("{}.load.txt", name.replace('/', "_")));
                fs::write(path, format!("not loaded: {first}\n")).unwrap();
            }
            run.load_attempts += 1;
            let got = pgtls_check(run.live, &addresses, &conn, &run.server);
            for d in judge_not_loaded(&first, &got) {
                diffs.push(format!("{}: {d}", got.command));
            }
        } else {
            for ((host, sslmode, address), (user, db, groups)) in conns
                .iter()
                .flat_map(|c| LOAD_PASS_USERS.iter().map(move |u| (c, u)))
            {
                let from = cluster.log_len();
                let out = cluster
                    .psql(
                        &["-X", "-w", "-At", "-c", "select 1"],
                        &format!(
                            "{host} port={} user={user} dbname={db} sslmode={sslmode} \
                             gssencmode=disable {nocert}",
                            cluster.port()
                        ),
                        &[],
                    )
                    .unwrap();
                let log = cluster.log_since(from);
                let stderr = String::from_utf8_lossy(&out.stderr);
                let outcome = classify(&log, &stderr).unwrap_or_else(|| {
                    panic!("{name}: {host} {user}@{db} sslmode={sslmode}: cannot tell what happened:\n{log}{stderr}")
                });
                let logged = match logged_match(&log, run.server.version) {
                    Ok(l) => l,
                    Err(e) => {
                        diffs.push(e);
                        None
                    }
                };
                let line = match (&outcome, &logged) {
                    (Outcome::NoMatch(_), _) => Some(None),
                    (_, Some(l)) => Some(Some(l.line)),
                    // trust, reject and password requests name no line.
                    (_, None) => None,
                };
                if let Some(dump) = &run.dump {
                    let path = dump.join(format!("{}.load.txt", name.replace('/', "_")));
                    let mut text = fs::read_to_string(&path).unwrap_or_default();
                    text.push_str(&format!(
                        "{host} {user}@{db} sslmode={sslmode}: {outcome:?}, line {line:?}\n"
                    ));
                    fs::write(path, text).unwrap();
                }
                let conn = Conn {
                    server_ssl: true,
                    address: *address,
                    tls: *sslmode == "require",
                    database: db,
                    user,
                    member_of: &groups.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    replication: None,
                    client_hostname: address.and(hostname.as_deref()),
                };
                run.load_attempts += 1;
                let got = pgtls_check(run.live, &addresses, &conn, &run.server);
                let mut d = judge(&outcome, line, &got);
                if let Some(l) = &logged {
                    run.logged_lines += 1;
                    d.extend(judge_logged(l, run.live, &got));
                }
                for d in d {
                    diffs.push(format!(
                        "{} (server: {outcome:?}, line {line:?}): {d}",
                        got.command
                    ));
                }
            }
            run.witnesses += replay_witnesses(cluster, &run.server, run.live, &nocert, &mut diffs);
        }
        run.compared += 1;
        if !diffs.is_empty() {
            run.mismatches.entry(name).or_default().push(format!(
                "  `pgtls hba check` / `lint` after loading the file (ssl=on):\n    {}\n",
                diffs.join("\n    ")
            ));
        }
    }
}

/// The load pass's sample on versions other than 15 (unless
/// `PGTLS_PG_MATRIX=full`): every fifth file, and the files whose loading
/// differs between versions (include directives, regular expressions,
/// methods and options that came or went, files that load and take
/// connections).
fn in_load_sample(index: usize, name: &str) -> bool {
    const VERSIONED: &[&str] = &[
        "rules/006-",
        "rules/007-",
        "rules/008-",
        "rules/021-",
        "rules/043-",
        "rules/045-",
        "rules/048-",
        "rules/055-",
        "rules/056-",
        "rules/057-",
        "rules/070-",
        "rules/080-",
        "rules/081-",
    ];
    index.is_multiple_of(5) || VERSIONED.iter().any(|p| name.starts_with(p))
}

/// Values of `oauth_validator_libraries` (PGC_SIGHUP) the oauth file is compared under on
/// 18, besides the default '' of the main passes: one library, two, a quoted name with a
/// comma, a path that `canonicalize_path` changes, a list syntax error. (A value of blanks
/// only is left out: PostgreSQL 18.6's backend crashes reading the view then, signal 11.)
const OAUTH_VALIDATOR_LIBRARIES: &[&str] = &["v1", "v1, v2", "\"v1,x\"", "/lib//v3/", "v1,"];

/// Sets one setting in `postgresql.auto.conf` (written as is, quoted) and reloads; the
/// working pg_hba.conf must be in place, as the reload reads it.
fn set_auto_conf(cluster: &Cluster, name: &str, value: &str) {
    let path = cluster.data_dir().join("postgresql.auto.conf");
    let old = fs::read_to_string(&path).unwrap_or_default();
    let mut text: String = old
        .lines()
        .filter(|l| !l.trim_start().starts_with(name))
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
    cluster
        .write_file("postgresql.auto.conf", text.as_bytes(), 0o600)
        .unwrap();
    cluster.sql("select pg_reload_conf()").unwrap();
    wait_for_setting(cluster, name, value);
}

/// On 18: `rules/082-oauth.conf` under each [`OAUTH_VALIDATOR_LIBRARIES`] value, the view
/// against `pgtls hba rules --oauth-validator-libraries VALUE` (ssl on); the setting goes
/// back to '' at the end. Returns how many values were compared.
fn oauth_pass(run: &mut Run<'_>, rules: &Corpus) -> usize {
    let oauth: Vec<_> = rules
        .cases
        .iter()
        .filter(|c| Corpus::name(c) == "rules/082-oauth.conf")
        .cloned()
        .collect();
    assert_eq!(oauth.len(), 1, "rules/082-oauth.conf is not in the corpus");
    let one = Corpus {
        dir: rules.dir.clone(),
        cases: oauth,
        support: Vec::new(),
    };
    let server = run.server.clone();
    for value in OAUTH_VALIDATOR_LIBRARIES {
        write_world_readable(run.live, WORKING_HBA.as_bytes());
        set_auto_conf(run.cluster, "oauth_validator_libraries", value);
        run.server = server.clone();
        run.server
            .extra
            .extend(["--oauth-validator-libraries".to_string(), value.to_string()]);
        run.note = format!(" (oauth_validator_libraries={value:?})");
        run.pass("rules", &one, Some("on"));
    }
    write_world_readable(run.live, WORKING_HBA.as_bytes());
    set_auto_conf(run.cluster, "oauth_validator_libraries", "");
    run.server = server;
    run.note.clear();
    OAUTH_VALIDATOR_LIBRARIES.len()
}

/// The errors the server logged loading pg_ident.conf after the last
/// `received SIGHUP`, as `(message, line of its CONTEXT when it has one)`;
/// `None` when it took the file (no `pg_ident.conf was not reloaded`).
fn logged_ident_errors(log: &str) -> Option<Vec<(String, Option<u64>)>> {
    let after = log.rsplit_once("received SIGHUP")?.1;
    if !after.contains("pg_ident.conf was not reloaded") {
        return None;
    }
    let mut out: Vec<(String, Option<u64>)> = Vec::new();
    for l in after.lines().skip(1) {
        if let Some((_, m)) = l.split_once(" LOG:  ") {
            if m == "pg_ident.conf was not reloaded" {
                break;
            }
            if !m.starts_with("connection received: ") {
                out.push((m.to_string(), None));
            }
        } else if let Some((_, c)) = l.split_once(" CONTEXT:  ")
            && let Some(last) = out.last_mut()
        {
            last.1 = c
                .strip_prefix("line ")
                .and_then(|r| r.split_once(' '))
                .and_then(|(n, _)| n.parse().ok());
        }
    }
    Some(out)
}

/// H9.1 on 12-14, which have no `pg_ident_file_mappings`: the server loads
/// each ident corpus file (SIGHUP) and logs its errors, then `pg_ident.conf
/// was not reloaded`; `pgtls hba ident`'s rows must carry the same errors
/// (for those versions its error column holds the log's text; the log has
/// the tokenizer's errors of all lines before the parser's), on the lines
/// the log's CONTEXT names where it names one, and none for a file the
/// server took. Returns (files, errors compared).
fn ident_log_pass(run: &mut Run<'_>, idents: &Corpus, ident: &Path) -> (usize, usize) {
    let mut errors = 0;
    for case in &idents.cases {
        let name = Corpus::name(case);
        write_world_readable(ident, &fs::read(case).unwrap());
        let log = reload_and_sync(run.cluster);
        let server = logged_ident_errors(&log);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgtls"));
        cmd.args(["hba", "ident"])
            .arg(ident)
            .args(["--pg-version", &run.server.version.to_string()])
            .args(["--format", "jsonl"]);
        let out = cmd.output().unwrap();
        let rows = json_lines(&out.stdout).unwrap_or_default();
        let pgtls: Vec<(String, u64)> = rows
            .iter()
            .filter_map(|r| {
                Some((
                    r["error"].as_str()?.to_string(),
                    r["line_number"].as_u64().unwrap_or(0),
                ))
            })
            .collect();
        run.compared += 1;
        let agree = match &server {
            None => pgtls.is_empty(),
            // The log has the tokenizer's errors (`@file`, token length) of
            // every line first, then the parser's: the same errors, another order.
            Some(s) => {
                let mut a: Vec<&String> = s.iter().map(|(m, _)| m).collect();
                let mut b: Vec<&String> = pgtls.iter().map(|(m, _)| m).collect();
                a.sort();
                b.sort();
                a == b
                    && s.iter().all(|(m, l)| {
                        l.is_none_or(|l| pgtls.iter().any(|(pm, pl)| pm == m && *pl == l))
                    })
            }
        };
        errors += server.as_ref().map_or(0, Vec::len);
        if !agree {
            run.mismatches.entry(name).or_default().push(format!(
                "  the errors logged loading the file as pg_ident.conf against `pgtls hba ident`'s rows:\n    postgres: {}\n    pgtls:    {pgtls:?}\n",
                server.map_or_else(|| "(loaded it)".to_string(), |s| format!("{s:?}"))
            ));
        }
    }
    write_world_readable(ident, WORKING_IDENT.as_bytes());
    let log = reload_and_sync(run.cluster);
    assert!(!log.contains("was not reloaded"), "{log}");
    (idents.cases.len(), errors)
}

/// Sets `db_user_namespace` (PGC_SIGHUP, 12-16) in `postgresql.auto.conf` and
/// reloads by signal: once it is on, the server reads every user name as
/// `user@database` (`postgres@` for the global `postgres`), so `cluster.sql`
/// cannot connect; the setting is read back as the user that works then.
fn set_db_user_namespace(cluster: &Cluster, on: bool) {
    let path = cluster.data_dir().join("postgresql.auto.conf");
    let old = fs::read_to_string(&path).unwrap_or_default();
    let mut text: String = old
        .lines()
        .filter(|l| !l.trim_start().starts_with("db_user_namespace"))
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!(
        "db_user_namespace = {}\n",
        if on { "on" } else { "off" }
    ));
    cluster
        .write_file("postgresql.auto.conf", text.as_bytes(), 0o600)
        .unwrap();
    let log = reload_and_sync(cluster);
    assert!(!log.contains("was not reloaded"), "{log}");
    let user = if on { "postgres@" } else { "postgres" };
    let out = cluster
        .psql(
            &["-X", "-At", "-c", "show db_user_namespace"],
            &format!(
                "host={} port={} user={user} dbname=postgres",
                cluster.socket_dir().display(),
                cluster.port()
            ),
            &[],
        )
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        if on { "on" } else { "off" },
        "db_user_namespace did not change: {}{}",
        String::from_utf8_lossy(&out.stderr),
        cluster.log_since(cluster.log_len().saturating_sub(2000))
    );
}

/// H4.7, 12-16: under `db_user_namespace = on` (`md5` lines are errors), the
/// rules files with `md5` in them (all on 15 or with `PGTLS_PG_MATRIX=full`,
/// else every third) through the view against `pgtls hba rules
/// --db-user-namespace on`, and some of them loaded: a file the server
/// refuses must give exit 3 and its first error from `pgtls hba check
/// --db-user-namespace on`; one it loads, the verdict of a real connection
/// over the Unix socket as `postgres@` (the global user `postgres`). Returns
/// the files compared through the view and loaded.
fn db_user_namespace_pass(run: &mut Run<'_>, rules: &Corpus, sample: bool) -> (usize, usize) {
    let md5: Vec<_> = rules
        .cases
        .iter()
        .filter(|c| {
            fs::read(c)
                .unwrap()
                .windows(3)
                .any(|w| w.eq_ignore_ascii_case(b"md5"))
        })
        .enumerate()
        .filter(|(i, _)| !sample || i % 3 == 0)
        .map(|(_, c)| c.clone())
        .collect();
    let subset = Corpus {
        dir: rules.dir.clone(),
        cases: md5,
        support: Vec::new(),
    };
    write_world_readable(run.live, WORKING_HBA.as_bytes());
    set_db_user_namespace(run.cluster, true);
    let server = run.server.clone();
    run.server
        .extra
        .extend(["--db-user-namespace".to_string(), "on".to_string()]);
    run.note = " (db_user_namespace=on)".into();
    run.db_user = "postgres@";
    run.pass("rules", &subset, Some("on"));
    let addresses = interface_cidrs().join(",");
    let mut loaded = 0;
    for case in subset.cases.iter().take(if sample { 3 } else { 10 }) {
        let name = Corpus::name(case);
        write_world_readable(run.live, &fs::read(case).unwrap());
        let log = reload_and_sync(run.cluster);
        loaded += 1;
        let conn = Conn {
            server_ssl: true,
            address: None,
            tls: false,
            database: "postgres",
            user: "postgres",
            member_of: &[],
            replication: None,
            client_hostname: None,
        };
        let diffs = if log.contains("pg_hba.conf was not reloaded") {
            let first = first_load_error(&log)
                .unwrap_or_else(|| panic!("{name}: refused, but no error logged:\n{log}"));
            judge_not_loaded(
                &first,
                &pgtls_check(run.live, &addresses, &conn, &run.server),
            )
        } else {
            let from = run.cluster.log_len();
            let out = run
                .cluster
                .psql(
                    &["-X", "-w", "-At", "-c", "select 1"],
                    &format!(
                        "host={} port={} user=postgres@ dbname=postgres",
                        run.cluster.socket_dir().display(),
                        run.cluster.port()
                    ),
                    &[],
                )
                .unwrap();
            let log = run.cluster.log_since(from);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let outcome = classify(&log, &stderr).unwrap_or_else(|| {
                panic!(
                    "{name}: postgres@ over the socket: cannot tell what happened:\n{log}{stderr}"
                )
            });
            judge(
                &outcome,
                None,
                &pgtls_check(run.live, &addresses, &conn, &run.server),
            )
        };
        run.compared += 1;
        if !diffs.is_empty() {
            run.mismatches.entry(name).or_default().push(format!(
                "  `pgtls hba check --db-user-namespace on` after loading the file:\n    {}\n",
                diffs.join("\n    ")
            ));
        }
    }
    write_world_readable(run.live, WORKING_HBA.as_bytes());
    set_db_user_namespace(run.cluster, false);
    run.server = server;
    run.note.clear();
    run.db_user = "postgres";
    (subset.cases.len(), loaded)
}

/// Which authentication methods the server's build lacks, asked of the server:
/// for each method a one-line probe file read through `pg_hba_file_rules`
/// (a build without it says `invalid authentication method "M": not
/// supported by this build`). Returns the `--build-without` argument.
fn build_without(cluster: &Cluster, hba: &Path) -> Vec<String> {
    let probes = [
        (
            "ldap",
            "host all all 127.0.0.1/32 ldap ldapserver=127.0.0.1 ldapprefix=a\n",
        ),
        ("pam", "host all all 127.0.0.1/32 pam\n"),
        ("gss", "host all all 127.0.0.1/32 gss\n"),
    ];
    let mut without = Vec::new();
    for (method, line) in probes {
        write_world_readable(hba, line.as_bytes());
        let rows = view_rows(cluster, "pg_hba_file_rules");
        assert_eq!(rows.len(), 1, "probe for {method}: {rows:?}");
        if rows[0]["error"]
            .as_str()
            .is_some_and(|e| e.ends_with("not supported by this build"))
        {
            without.push(method.to_string());
        }
    }
    write_world_readable(hba, WORKING_HBA.as_bytes());
    if without.is_empty() {
        Vec::new()
    } else {
        vec!["--build-without".into(), without.join(",")]
    }
}

/// What one version's run compared.
struct Summary {
    version: u32,
    build: String,
    rules_files: usize,
    ident_files: usize,
    view_rows: usize,
    loaded_files: usize,
    load_attempts: usize,
    witnesses: usize,
    logged_lines: usize,
    hints: usize,
    /// Files compared through the view / loaded under `db_user_namespace = on` (12-16).
    namespace: (usize, usize),
    /// Ident files loaded and the errors their logs had (12-14).
    ident_log: (usize, usize),
    mismatching_files: usize,
    /// `oauth_validator_libraries` values the oauth file was compared under (18).
    oauth_settings: usize,
    report: String,
}

fn run_version(version: u32) -> Summary {
    let full = pgtls_testkit::full_matrix(version).unwrap();
    let scratch = tempfile::Builder::new()
        .prefix("pgtls-hbadiff-")
        .tempdir()
        .unwrap();
    fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let hba_dir = scratch.path().join("hba");
    let ident_dir = scratch.path().join("ident");
    for d in [&hba_dir, &ident_dir] {
        fs::create_dir(d).unwrap();
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let hba = hba_dir.join("pg_hba.conf");
    let ident = ident_dir.join("pg_ident.conf");
    write_world_readable(&hba, WORKING_HBA.as_bytes());
    write_world_readable(&ident, WORKING_IDENT.as_bytes());

    let rules_src = testdata().join("rules");
    let ident_src = testdata().join("ident");
    let rules = Corpus::read(&rules_src);
    let idents = Corpus::read(&ident_src);
    assert!(
        rules.cases.len() >= 60,
        "rules corpus has {} files",
        rules.cases.len()
    );
    assert!(
        idents.cases.len() >= 10,
        "ident corpus has {} files",
        idents.cases.len()
    );
    rules.copy_support(&hba_dir);
    idents.copy_support(&ident_dir);

    make_certs(scratch.path(), "/CN=localhost", &[]);
    let cluster = Cluster::builder().version(version).init().unwrap();
    cluster
        .copy_files(scratch.path(), &["server.crt", "server.key"], 0o600)
        .unwrap();
    cluster
        .append_conf(&format!(
            "hba_file = '{}'\nident_file = '{}'\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
             listen_addresses = '127.0.0.1,::1'\n",
            hba.display(),
            ident.display()
        ))
        .unwrap();
    let cluster = cluster.start_initialized().unwrap();
    cluster
        .sql("create role staff; create role alice login in role staff")
        .unwrap();

    // The oracle depends on the view re-reading the file on each query.
    for db in ["sentinel_one", "sentinel_two"] {
        write_world_readable(&hba, format!("local {db} all reject\n").as_bytes());
        let rows = view_rows(&cluster, "pg_hba_file_rules");
        assert_eq!(rows.len(), 1, "view rows for a one-line file: {rows:?}");
        assert_eq!(
            rows[0]["database"],
            serde_json::json!([db]),
            "the view did not re-read the file"
        );
    }
    let mut server = ServerArgs::new(version);
    server.extra = build_without(&cluster, &hba);

    let dump = std::env::var_os("PGTLS_HBADIFF_DUMP").map(|d| {
        let d = Path::new(&d).join(format!("pg{version}"));
        fs::create_dir_all(&d).unwrap();
        d
    });
    let mut run = Run {
        cluster: &cluster,
        server: server.clone(),
        live: &hba,
        mismatches: BTreeMap::new(),
        compared: 0,
        view_rows: 0,
        loaded_files: 0,
        load_attempts: 0,
        witnesses: 0,
        logged_lines: 0,
        ssl_warning_files: Vec::new(),
        hints: 0,
        dump,
        note: String::new(),
        db_user: "postgres",
    };
    run.pass("rules", &rules, Some("off"));
    // pg_ident_file_mappings came in 15.
    let ident_files = if version >= 15 {
        run.live = &ident;
        run.pass("ident", &idents, None);
        write_world_readable(&ident, WORKING_IDENT.as_bytes());
        idents.cases.len()
    } else {
        0
    };

    // The hint of the hostssl warning is in the log only: files loaded with ssl off.
    run.live = &hba;
    ssl_off_hints(&mut run, !full);

    // ssl = on for the second rules pass; the working file goes back first,
    // since a reload reads it.
    write_world_readable(&hba, WORKING_HBA.as_bytes());
    cluster.sql("alter system set ssl = on").unwrap();
    cluster.sql("select pg_reload_conf()").unwrap();
    wait_for_setting(&cluster, "ssl", "on");
    run.live = &hba;
    run.pass("rules", &rules, Some("on"));
    write_world_readable(&hba, WORKING_HBA.as_bytes());
    let oauth_settings = if version >= 18 {
        oauth_pass(&mut run, &rules)
    } else {
        0
    };

    // The server never took a corpus file.
    let log = cluster.log();
    assert!(
        !log.contains("was not reloaded") && !log.contains("could not load"),
        "the server tried to load a corpus file:\n{log}"
    );
    assert_eq!(cluster.sql("select 1").unwrap().trim(), "1");

    // Files loaded from here on. The ident log on 12-14 (no ident view there).
    let ident_log = if version < 15 {
        ident_log_pass(&mut run, &idents, &ident)
    } else {
        (0, 0)
    };
    // db_user_namespace (removed in 17).
    let namespace = if version <= 16 {
        db_user_namespace_pass(&mut run, &rules, !full)
    } else {
        (0, 0)
    };

    // Load pass: each rules file (or the sample) for real, one reload per file.
    load_pass(&mut run, &rules, scratch.path(), !full);
    write_world_readable(&hba, WORKING_HBA.as_bytes());
    let log = reload_and_sync(&cluster);
    assert!(!log.contains("was not reloaded"), "{log}");
    assert_eq!(cluster.sql("select 1").unwrap().trim(), "1");

    // The witness check must not fade away unnoticed (say, if the witness
    // format changes): the corpus has more than this many.
    assert!(
        run.witnesses >= 6,
        "PostgreSQL {version}: only {} lint witnesses could be replayed; has `pgtls hba lint --json` changed its witness format?",
        run.witnesses
    );
    let known = known_divergences_for("hba_views", version);
    let mut report = String::new();
    for (file, diffs) in &run.mismatches {
        if known.contains_key(file) {
            continue;
        }
        report.push_str(&format!("{file}:\n"));
        for d in diffs {
            report.push_str(d);
        }
    }
    for (file, reason) in &known {
        if !run.mismatches.contains_key(file) {
            report.push_str(&format!(
                "{file}: listed as a known divergence on PostgreSQL {version} ({reason}) but pgtls now agrees with PostgreSQL; remove the entry\n"
            ));
        }
    }
    if !report.is_empty() {
        report = format!(
            "pgtls differs from PostgreSQL {version} ({} of {} comparisons; {} files):\n{report}",
            run.mismatches.values().map(Vec::len).sum::<usize>(),
            run.compared,
            run.mismatches.len()
        );
    }
    Summary {
        version,
        build: server.extra.join(" "),
        rules_files: rules.cases.len(),
        ident_files,
        view_rows: run.view_rows,
        loaded_files: run.loaded_files,
        load_attempts: run.load_attempts,
        witnesses: run.witnesses,
        logged_lines: run.logged_lines,
        hints: run.hints,
        namespace,
        ident_log,
        mismatching_files: run.mismatches.len(),
        oauth_settings,
        report,
    }
}

#[test]
fn views_match_postgresql_every_version() {
    std::net::TcpListener::bind("[::1]:0").expect(
        "this test connects over IPv6 loopback: enable ::1 on lo (for Docker: --sysctl net.ipv6.conf.lo.disable_ipv6=0)",
    );
    let versions = pgtls_testkit::pg_versions().unwrap();
    let mut failures = String::new();
    for v in versions {
        let start = std::time::Instant::now();
        let s = run_version(v);
        println!(
            "PostgreSQL {}: {} view rows over {} rules files x2 (ssl off/on) and {} ident files, \
             load pass {} files / {} `hba check` runs ({} with the matched line logged) / {} lint witnesses, {} logged hostssl hints, {} files mismatching (known or not){}{}{}{}, {:.0?}",
            s.version,
            s.view_rows,
            s.rules_files,
            s.ident_files,
            s.loaded_files,
            s.load_attempts,
            s.logged_lines,
            s.witnesses,
            s.hints,
            s.mismatching_files,
            if s.build.is_empty() {
                String::new()
            } else {
                format!(", pgtls told {}", s.build)
            },
            if s.ident_log.0 == 0 {
                String::new()
            } else {
                format!(
                    ", {} ident files loaded ({} logged errors)",
                    s.ident_log.0, s.ident_log.1
                )
            },
            if s.namespace.0 == 0 {
                String::new()
            } else {
                format!(
                    ", {} md5 files through the view and {} loaded under db_user_namespace=on",
                    s.namespace.0, s.namespace.1
                )
            },
            if s.oauth_settings == 0 {
                String::new()
            } else {
                format!(
                    ", the oauth file under {} oauth_validator_libraries values",
                    s.oauth_settings
                )
            },
            start.elapsed()
        );
        if s.view_rows == 0
            || s.load_attempts == 0
            || s.logged_lines == 0
            || s.hints == 0
            || (v <= 16 && s.namespace.1 == 0)
            || (v < 15 && s.ident_log.1 == 0)
        {
            failures.push_str(&format!(
                "PostgreSQL {v}: the suite ran no rows ({} view rows, {} load-pass runs, {} with a logged line)\n",
                s.view_rows, s.load_attempts, s.logged_lines
            ));
        }
        failures.push_str(&s.report);
    }
    assert!(failures.is_empty(), "{failures}");
}
