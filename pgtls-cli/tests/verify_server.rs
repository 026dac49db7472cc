//! Differential suite for `pgtls verify server` against real libpq 14 to 18.
//!
//! For each libpq version (`PGTLS_PG_VERSIONS`; 12 and 13 have no libpq of their own in the
//! builds and count as 14), the server cases of `testdata/verify/gen.sh` (openssl-made chains)
//! are served by one PostgreSQL cluster of that version (the chain and key are swapped in with
//! a reload), and that version's psql connects to it under all six sslmodes, with and without
//! the case's root file and CRL. libpq's verdict (did a TLS session complete?) and its message
//! (the text after `failed: `) are compared with `pgtls verify server --pg-version N` run on
//! the same chain file and parameters. How the oracle separates the TLS attempt from libpq's
//! plaintext attempts is described in testdata/verify/README.md. Every mismatch is reported at
//! once; listed divergences (testdata/verify/known-divergences.json for every version,
//! known-divergences-pgN.json for one) must still diverge. On 15 every case runs; on the
//! other versions the cases where libpq's versions differ plus a sample of the rest
//! ([`in_sample`]), all of them with `PGTLS_PG_MATRIX=full`. One line per version gives its
//! counts; a version that ran no rows fails, and so does any false accept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_common;

use std::fs;
use std::path::{Path, PathBuf};

use pgtls_testkit::Cluster;
use verify_common::{
    Counts, HBA, MODES, Outcome, Row, SSL_QUERY, TLS_ONLY_DB, brief, libpq_attempts, q, run_pgtls,
};

/// No sslmode given at all: libpq's default (prefer).
const DEFAULT_MODE: &str = "(default)";
/// Spellings libpq refuses (sslmode is compared case-sensitively), for cases flagged `badmode`.
const BAD_MODES: [&str; 2] = ["Require", "verify_full"];

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
    /// `SSL_CERT_FILE` for both sides (OpenSSL's default store, which `sslrootcert=system`
    /// loads from 16).
    system_store: Option<String>,
}

impl Probe {
    /// The PGSSL* variables of a `via_env` probe, and `SSL_CERT_FILE`.
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if let Some(f) = &self.system_store {
            v.push(("SSL_CERT_FILE", f.clone()));
        }
        if !self.via_env {
            return v;
        }
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
        // With the parameters in the environment, also leave sslmode out entirely; the same
        // with the system store (whose default mode is verify-full from 16).
        let system_store =
            (variant == "system-store").then(|| out.join("ca/rootA/crt.pem").display().to_string());
        let default = (via_env || system_store.is_some()).then_some(DEFAULT_MODE);
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
                    system_store: system_store.clone(),
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
    // sslrootcert=system with OpenSSL's default store holding the case's root
    // (SSL_CERT_FILE): from 16 libpq accepts; on 15 "system" is a relative file name.
    if case.root.as_deref() == Some("system") {
        add(
            "system-store",
            false,
            true,
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
        if p.mode != DEFAULT_MODE {
            ci.push_str(&format!(" sslmode={}", p.mode));
        }
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
    let out = verify_common::psql(c.client_build(), &ci, &["-X", "-At", "-c", SSL_QUERY], &env);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err((
            String::from_utf8_lossy(&out.stderr).into_owned(),
            brief(&out),
        ))
    }
}

/// libpq refused the parameters before any connection attempt (no `connection to server at`
/// line).
fn before_connecting(stderr: &str) -> bool {
    !stderr.trim().is_empty() && !stderr.contains("connection to server at ")
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
            // libpq 16+ refuses sslmode=disable with sslrootcert=system before connecting.
            Err((stderr, b)) if before_connecting(&stderr) => (
                Outcome::Reject(libpq_attempts(&stderr).into_iter().next()),
                b,
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
            // Refused before connecting (a weak sslmode with sslrootcert=system, 16+): the
            // same refusal whatever the database.
            Err((stderr, _))
                if before_connecting(&stderr)
                    && tls.0 == Outcome::Reject(libpq_attempts(&stderr).into_iter().next()) => {}
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

fn pgtls(case: &Case, p: &Probe, version: u32) -> (Outcome, String) {
    let mut args: Vec<String> = vec!["verify".into(), "server".into()];
    if let Some(h) = &p.host {
        args.extend(["--host".into(), h.clone()]);
    }
    args.extend(["--hostaddr".into(), "127.0.0.1".into()]);
    if !p.via_env {
        if p.mode != DEFAULT_MODE {
            args.extend(["--sslmode".into(), p.mode.to_string()]);
        }
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
        version.to_string(),
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
        let out = verify_common::psql(
            c.client_build(),
            &superuser,
            &["-X", "-At", "-c", "show ssl_cert_file"],
            &[],
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let reload = verify_common::psql(
        c.client_build(),
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

/// The cases run on versions other than 15 (unless `PGTLS_PG_MATRIX=full`): those whose
/// libpq rules differ between versions (host names: no iPAddress SAN matching and the CN
/// rule before 15; `sslrootcert=system` from 16; the `$HOME/.postgresql` defaults, `~` from
/// the passwd entry in 14; the default host name of a hostaddr-only connection; CRL
/// directories; root files that do not load; the environment and sslmode spellings), and
/// every fourth of the rest.
fn in_sample(index: usize, case: &Case) -> bool {
    const VERSIONED: &[&str] = &[
        "cn-only",
        "cn-ip",
        "cn-ip6",
        "cn-wildcard",
        "san-dns-cn-differ",
        "san-ip4",
        "san-ip6",
        "san-ipv4-mapped",
        "san-dns-holds-ip",
        "san-dns-cn-ip",
        "san-ip-other-cn-ip",
        "san-ip-and-dns",
        "san-ip-badlen",
        "san-email-only",
        "san-many",
        "san-wildcard",
        "multi-cn",
        "no-names",
        "chain-direct",
        "rootcert-system",
        "hostaddr-only",
        "root-empty",
        "root-garbage",
        "root-is-directory",
        "root-file-with-crl",
        "crl-dir-revoked",
        "crl-file-and-dir",
        "crl-missing-file",
        "crl-garbage-file",
        "crl-home-revoked",
        "home-root",
        "home-root-wrong-ca",
    ];
    index.is_multiple_of(4) || VERSIONED.contains(&case.name.as_str())
}

/// Runs the suite against libpq `version` (and a server of that version): the report
/// (empty = pass) and the counts.
fn run_version(version: u32, cases: &[Case], out: &Path, empty_home: &Path) -> (String, Counts) {
    let full = pgtls_testkit::full_matrix(version).unwrap();
    // One cluster, ssl=on with the first case's chain; hba: plaintext refused for TLS_ONLY_DB.
    let c = Cluster::builder().version(version).init().unwrap();
    assert_eq!(c.client_build().major, version, "libpq {version}");
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
    let mut ran_cases = 0;
    for (i, case) in cases.iter().enumerate() {
        if !full && !in_sample(i, case) {
            continue;
        }
        ran_cases += 1;
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
        let ps = probes(case, out, empty_home);
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
                                let (g, gd) = pgtls(case, p, version);
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

    let divergences = verify_common::known_divergences_for("known-divergences", version);
    let min_each = if full { 100 } else { 20 };
    let (report, table, counts) =
        verify_common::reconcile(&rows, &divergences, "server", min_each, !full);
    let path =
        verify_common::write_results(&format!("verify_server-pg{version}-results.tsv"), &table);
    let report = if report.is_empty() {
        report
    } else {
        format!(
            "libpq {version}:\n{report}\n(all {} probes with libpq's and pgtls's results: {})\n",
            rows.len(),
            path.display()
        )
    };
    println!(
        "libpq {version}: {ran_cases} of {} cases ({}), {}; results in {}",
        cases.len(),
        if full { "full matrix" } else { "sample" },
        counts.show(),
        path.display()
    );
    (report, counts)
}

#[test]
fn pgtls_verify_server_agrees_with_libpq_every_version() {
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

    let mut failures = String::new();
    for version in verify_common::client_versions() {
        let start = std::time::Instant::now();
        let (report, counts) = run_version(version, &cases, &out, &empty_home);
        println!("libpq {version}: {:.0?}", start.elapsed());
        failures.push_str(&report);
        if counts.rows == 0 {
            failures.push_str(&format!("libpq {version}: the suite ran no rows\n"));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}
