//! Differential suite for `pgtls verify server` against real libpq 15 and PostgreSQL 15.
//!
//! Every server case of `testdata/verify/gen.sh` (openssl-made chains) is served by one
//! PostgreSQL 15 cluster (the chain and key are swapped in with a reload), and psql connects
//! to it under all six sslmodes, with and without the case's root file and CRL. libpq's
//! verdict (did a TLS session complete?) and its message (the text after `failed: `) are
//! compared with `pgtls verify server` run on the same chain file and parameters. How the
//! oracle separates the TLS attempt from libpq's plaintext attempts is described in
//! testdata/verify/README.md. Every mismatch is reported at once; listed divergences
//! (testdata/verify/known-divergences.json) must still diverge.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_common;

use std::fs;
use std::path::{Path, PathBuf};

use pgtls_testkit::Cluster;
use verify_common::{Outcome, Row, brief, libpq_attempts, q, run_pgtls};

const MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];
/// No sslmode given at all: libpq's default (prefer).
const DEFAULT_MODE: &str = "(default)";
/// Spellings libpq refuses (sslmode is compared case-sensitively), for cases flagged `badmode`.
const BAD_MODES: [&str; 2] = ["Require", "verify_full"];
/// Plaintext is refused for this database, so allow/prefer show their TLS attempt's result.
const TLS_ONLY_DB: &str = "tlsonly";
const SSL_QUERY: &str = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";
const HBA: &str = "local all all trust\n\
                   hostnossl tlsonly all 127.0.0.1/32 reject\n\
                   hostssl all all 127.0.0.1/32 trust\n\
                   host all all 127.0.0.1/32 trust\n";

/// One line of cases.tsv.
struct Case {
    name: String,
    chain: PathBuf,
    key: PathBuf,
    /// The sslrootcert value: an absolute path, or `system`; None: not given.
    root: Option<String>,
    crl: Option<String>,
    crldir: Option<String>,
    /// Host names to try under verify-full; None = hostaddr only.
    hosts: Vec<Option<String>>,
    /// Root file (and CRL) go to $HOME/.postgresql instead of parameters.
    home: bool,
    /// A host-name case: no variant without the root file (libpq then checks no names).
    hostname: bool,
    /// Also run with the parameters in the environment (PGSSLMODE, PGSSLROOTCERT, ...).
    env: bool,
    /// Also run with sslmode spellings libpq refuses.
    badmode: bool,
}

/// One connection setting to compare.
struct Probe {
    id: String,
    mode: &'static str,
    host: Option<String>,
    root: Option<String>,
    crl: Option<String>,
    crldir: Option<String>,
    home: PathBuf,
    /// sslmode, root, CRL and CRL directory go in PGSSL* variables instead of parameters.
    via_env: bool,
}

impl Probe {
    /// The PGSSL* variables of a `via_env` probe.
    fn env(&self) -> Vec<(&'static str, String)> {
        if !self.via_env {
            return Vec::new();
        }
        let mut v = Vec::new();
        if self.mode != DEFAULT_MODE {
            v.push(("PGSSLMODE", self.mode.to_string()));
        }
        for (k, x) in [
            ("PGSSLROOTCERT", &self.root),
            ("PGSSLCRL", &self.crl),
            ("PGSSLCRLDIR", &self.crldir),
        ] {
            if let Some(x) = x {
                v.push((k, x.clone()));
            }
        }
        v
    }
}

fn load_cases(out: &Path) -> Vec<Case> {
    let opt = |v: &str| -> Option<String> {
        match v {
            "-" => None,
            "system" => Some("system".into()),
            p => Some(out.join(p).display().to_string()),
        }
    };
    verify_common::read_tsv(&out.join("cases.tsv"))
        .into_iter()
        .map(|f| {
            assert_eq!(f.len(), 8, "cases.tsv line has {} fields: {f:?}", f.len());
            for flag in f[7].split(',') {
                assert!(
                    ["-", "home", "hostname", "env", "badmode"].contains(&flag),
                    "cases.tsv: unknown flag {flag:?} in {f:?}"
                );
            }
            Case {
                name: f[0].clone(),
                chain: out.join(&f[1]),
                key: out.join(&f[2]),
                root: opt(&f[3]),
                crl: opt(&f[4]),
                crldir: opt(&f[5]),
                hosts: f[6]
                    .split(',')
                    .map(|h| (h != "-").then(|| h.to_string()))
                    .collect(),
                home: f[7].split(',').any(|x| x == "home"),
                hostname: f[7].split(',').any(|x| x == "hostname"),
                env: f[7].split(',').any(|x| x == "env"),
                badmode: f[7].split(',').any(|x| x == "badmode"),
            }
        })
        .collect()
}

fn probes(case: &Case, out: &Path, empty_home: &Path) -> Vec<Probe> {
    let mut v = Vec::new();
    let modes: Vec<&'static str> = if case.badmode {
        MODES.iter().chain(&BAD_MODES).copied().collect()
    } else {
        MODES.to_vec()
    };
    let mut add = |variant: &str,
                   via_env: bool,
                   all_hosts: bool,
                   root: Option<String>,
                   crl: Option<String>,
                   crldir: Option<String>,
                   home: PathBuf| {
        // With the parameters in the environment, also leave sslmode out entirely.
        let default = via_env.then_some(DEFAULT_MODE);
        for mode in modes.iter().copied().chain(default) {
            let hosts = if mode == "verify-full" && all_hosts {
                &case.hosts[..]
            } else {
                &case.hosts[..1]
            };
            for host in hosts {
                v.push(Probe {
                    id: format!(
                        "{}/{variant}/host={}",
                        case.name,
                        host.as_deref().unwrap_or("(none)")
                    ),
                    mode,
                    host: host.clone(),
                    root: root.clone(),
                    crl: crl.clone(),
                    crldir: crldir.clone(),
                    home: home.clone(),
                    via_env,
                });
            }
        }
    };
    if case.home {
        let home = out.join("homes").join(&case.name);
        let dot = home.join(".postgresql");
        fs::create_dir_all(&dot).unwrap();
        if let Some(r) = &case.root {
            fs::copy(r, dot.join("root.crt")).unwrap();
        }
        if let Some(c) = &case.crl {
            fs::copy(c, dot.join("root.crl")).unwrap();
        }
        add("home", false, true, None, None, None, home);
        return v;
    }
    add(
        "given",
        false,
        true,
        case.root.clone(),
        case.crl.clone(),
        case.crldir.clone(),
        empty_home.to_path_buf(),
    );
    if case.root.is_some() && !case.hostname {
        add(
            "noroot",
            false,
            false,
            None,
            None,
            None,
            empty_home.to_path_buf(),
        );
    }
    if case.root.is_some() && (case.crl.is_some() || case.crldir.is_some()) {
        add(
            "nocrl",
            false,
            false,
            case.root.clone(),
            None,
            None,
            empty_home.to_path_buf(),
        );
    }
    if case.env {
        add(
            "env",
            true,
            false,
            case.root.clone(),
            case.crl.clone(),
            case.crldir.clone(),
            empty_home.to_path_buf(),
        );
    }
    v
}

/// Runs psql with the probe's parameters against `db`: Ok(the ssl column) or
/// Err((stderr, a one-line summary of the run)).
fn psql(c: &Cluster, p: &Probe, db: &str) -> Result<String, (String, String)> {
    let mut ci = String::new();
    if let Some(h) = &p.host {
        ci.push_str(&format!("host={} ", q(h)));
    }
    ci.push_str(&format!(
        "hostaddr=127.0.0.1 port={} dbname={db} user=postgres",
        c.port()
    ));
    if !p.via_env {
        ci.push_str(&format!(" sslmode={}", p.mode));
        for (k, v) in [
            ("sslrootcert", &p.root),
            ("sslcrl", &p.crl),
            ("sslcrldir", &p.crldir),
        ] {
            if let Some(v) = v {
                ci.push_str(&format!(" {k}={}", q(v)));
            }
        }
    }
    let home = p.home.display().to_string();
    let vars = p.env();
    let mut env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("HOME", home.as_str()));
    let out = verify_common::psql(&ci, &["-X", "-At", "-c", SSL_QUERY], &env);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err((
            String::from_utf8_lossy(&out.stderr).into_owned(),
            brief(&out),
        ))
    }
}

/// libpq's verdict on the probe: did the TLS attempt complete, and if not, its message.
fn oracle(c: &Cluster, p: &Probe) -> (Outcome, String) {
    if p.mode == "disable" {
        return match psql(c, p, "postgres") {
            Ok(ssl) if ssl == "f" => (Outcome::Reject(None), "plaintext session".into()),
            Ok(ssl) => (
                Outcome::Broken(format!("sslmode=disable gave ssl={ssl}")),
                String::new(),
            ),
            Err((_, b)) => (
                Outcome::Broken(format!("sslmode=disable failed: {b}")),
                String::new(),
            ),
        };
    }
    let tls = match psql(c, p, TLS_ONLY_DB) {
        Ok(ssl) if ssl == "t" => (Outcome::Accept, "TLS session".to_string()),
        Ok(ssl) => (
            Outcome::Broken(format!("{TLS_ONLY_DB} answered ssl={ssl}")),
            String::new(),
        ),
        Err((stderr, b)) => {
            // Drop allow's/prefer's plaintext attempt, which the hba line rejects.
            let msg = libpq_attempts(&stderr).into_iter().find(|m| {
                !(m.starts_with("FATAL:  pg_hba.conf rejects connection")
                    && m.contains("no encryption"))
            });
            (Outcome::Reject(msg), b)
        }
    };
    if p.mode == "prefer" {
        // Cross-check: with plaintext allowed, prefer falls back silently after a failed
        // TLS attempt (ssl=f), and uses TLS when the attempt succeeds.
        let want = if tls.0 == Outcome::Accept { "t" } else { "f" };
        match psql(c, p, "postgres") {
            Ok(ssl) if ssl == want => {}
            Ok(ssl) => {
                return (
                    Outcome::Broken(format!(
                        "oracle inconsistent: {TLS_ONLY_DB} gave {} but prefer on a plaintext-accepting db gave ssl={ssl}",
                        tls.0.show()
                    )),
                    tls.1,
                );
            }
            Err((_, b)) => {
                return (
                    Outcome::Broken(format!("prefer on a plaintext-accepting db failed: {b}")),
                    tls.1,
                );
            }
        }
    }
    tls
}

fn pgtls(case: &Case, p: &Probe) -> (Outcome, String) {
    let mut args: Vec<String> = vec!["verify".into(), "server".into()];
    if let Some(h) = &p.host {
        args.extend(["--host".into(), h.clone()]);
    }
    args.extend(["--hostaddr".into(), "127.0.0.1".into()]);
    if !p.via_env {
        args.extend(["--sslmode".into(), p.mode.to_string()]);
        for (k, v) in [
            ("--sslrootcert", &p.root),
            ("--sslcrl", &p.crl),
            ("--sslcrldir", &p.crldir),
        ] {
            if let Some(v) = v {
                args.extend([k.to_string(), v.clone()]);
            }
        }
    }
    args.extend([
        "--pg-version".into(),
        "15".into(),
        "--chain".into(),
        case.chain.display().to_string(),
    ]);
    let vars = p.env();
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (outcome, stderr) = run_pgtls(&args, &p.home, &env);
    // The --json form must say the same: {"verdict":"accept"|"reject","message":...}, with the
    // same exit status.
    args.push("--json".into());
    match (&outcome, json_verdict(&args, &p.home, &env)) {
        (Outcome::Broken(_), _) => (outcome, stderr),
        (_, Err(e)) => (Outcome::Broken(format!("--json: {e}")), stderr),
        (_, Ok((j, code))) => {
            let code_ok = code == Some(if j == Outcome::Accept { 0 } else { 1 });
            if j == outcome && code_ok {
                (outcome, stderr)
            } else {
                let msg = format!(
                    "--json says {} (exit {code:?}) but without --json: {}",
                    j.show(),
                    outcome.show()
                );
                (Outcome::Broken(msg), stderr)
            }
        }
    }
}

/// The verdict and message printed by `pgtls verify server ... --json` on stdout, and its exit
/// status.
fn json_verdict(
    args: &[String],
    home: &Path,
    env: &[(&str, &str)],
) -> Result<(Outcome, Option<i32>), String> {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.args(args);
    for v in verify_common::LIBPQ_ENV {
        c.env_remove(v);
    }
    c.env("HOME", home);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "stdout is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    // The JSON message may carry libpq's whole text (hint lines too); stderr's first line is
    // its first line.
    let message = v
        .get("message")
        .and_then(|m| m.as_str())
        .and_then(|m| m.lines().next())
        .map(str::to_string);
    let code = out.status.code();
    match v.get("verdict").and_then(|x| x.as_str()) {
        Some("accept") => Ok((Outcome::Accept, code)),
        Some("reject") => Ok((Outcome::Reject(message), code)),
        other => Err(format!("\"verdict\" is {other:?}")),
    }
}

/// Serves `case`'s chain: new files, postgresql.auto.conf, reload, and checks the server took it.
fn install(c: &Cluster, case: &Case, i: usize) -> Result<(), String> {
    let crt = format!("srv-{i:03}.crt");
    let key = format!("srv-{i:03}.key");
    let read = |p: &Path| fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    c.write_file(&crt, &read(&case.chain)?, 0o600)?;
    c.write_file(&key, &read(&case.key)?, 0o600)?;
    let before = c.log_len();
    c.write_file(
        "postgresql.auto.conf",
        format!("ssl_cert_file = '{crt}'\nssl_key_file = '{key}'\n").as_bytes(),
        0o600,
    )?;
    // The postmaster re-reads the configuration and its SSL context in one SIGHUP handler,
    // before it forks the next backend: once a new session shows the new file, the SSL
    // context is the new one (or its failure is in the log).
    let superuser = format!(
        "host={} port={} user=postgres dbname=postgres",
        c.socket_dir().display(),
        c.port()
    );
    let show = || {
        let out = verify_common::psql(&superuser, &["-X", "-At", "-c", "show ssl_cert_file"], &[]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let reload = verify_common::psql(
        &superuser,
        &["-X", "-At", "-c", "select pg_reload_conf()"],
        &[],
    );
    if !reload.status.success() {
        return Err(format!("pg_reload_conf failed: {}", brief(&reload)));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut shown = show();
    while shown != crt && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        shown = show();
    }
    let log = c.log_since(before);
    if shown != crt {
        return Err(format!(
            "server still uses ssl_cert_file {shown:?} after reload; log:\n{log}"
        ));
    }
    if log.contains("SSL configuration was not reloaded") || log.contains("could not load") {
        return Err(format!(
            "server did not load the case's certificate:\n{log}"
        ));
    }
    Ok(())
}

#[test]
fn pgtls_verify_server_agrees_with_libpq() {
    let tmp = tempfile::Builder::new()
        .prefix("pgtls-verifydiff-")
        .tempdir()
        .unwrap();
    let out = tmp.path().join("cases");
    verify_common::generate(&out).unwrap();
    let cases = load_cases(&out);
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let empty_home = out.join("homes/empty");
    fs::create_dir_all(&empty_home).unwrap();

    // One cluster, ssl=on with the first case's chain; hba: plaintext refused for TLS_ONLY_DB.
    let c = Cluster::init().unwrap();
    c.write_file("srv-init.crt", &fs::read(&cases[0].chain).unwrap(), 0o600)
        .unwrap();
    c.write_file("srv-init.key", &fs::read(&cases[0].key).unwrap(), 0o600)
        .unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'srv-init.crt'\nssl_key_file = 'srv-init.key'\n")
        .unwrap();
    c.write_hba(HBA).unwrap();
    let c = c.start_initialized().unwrap();
    c.sql(&format!("create database {TLS_ONLY_DB}")).unwrap();

    let mut rows = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if let Err(e) = install(&c, case, i) {
            rows.push(Row {
                id: format!("{}/server", case.name),
                mode: "-".into(),
                oracle: Outcome::Broken(e),
                pgtls: Outcome::Broken("not run".into()),
                detail: String::new(),
            });
            continue;
        }
        let ps = probes(case, &out, &empty_home);
        // psql runs are mostly waiting on the server: three at a time.
        let chunk = ps.len().div_ceil(3).max(1);
        let results: Vec<Row> = std::thread::scope(|s| {
            let handles: Vec<_> = ps
                .chunks(chunk)
                .map(|part| {
                    let c = &c;
                    s.spawn(move || {
                        part.iter()
                            .map(|p| {
                                let (o, od) = oracle(c, p);
                                let (g, gd) = pgtls(case, p);
                                Row {
                                    id: p.id.clone(),
                                    mode: p.mode.to_string(),
                                    oracle: o,
                                    pgtls: g,
                                    detail: format!(
                                        "{od} | pgtls stderr: {:?}",
                                        gd.lines().next().unwrap_or("")
                                    ),
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        rows.extend(results);
    }

    let divergences = verify_common::known_divergences("known-divergences.json");
    let (report, table) = verify_common::reconcile(&rows, &divergences, "server", 100);
    let path = verify_common::write_results("verify_server-results.tsv", &table);
    let agreeing = rows
        .iter()
        .filter(|r| verify_common::agree(&r.oracle, &r.pgtls))
        .count();
    println!(
        "{} cases, {} probes, {agreeing} agree; results in {}",
        cases.len(),
        rows.len(),
        path.display()
    );
    assert!(
        report.is_empty(),
        "{report}\n(all {} probes with libpq's and pgtls's results: {})",
        rows.len(),
        path.display()
    );
}
