//! `pgtls probe` (SSLRequest, no `--direct`) against real servers of every version in
//! `PGTLS_PG_VERSIONS` (12 to 18; 12 and 13 are spoken to with psql/libpq 14, the oldest
//! client the builds have), one cluster per version, the versions in parallel. The
//! oracle is that version's psql.
//!
//! * The verdict table: for each set of trust settings (root, wrong root, no root, a
//!   missing root file, a host the certificate does not name, the address as host, a CRL
//!   that revokes the served certificate, a CRL directory that does not exist), the
//!   probe's verdict under each of the six sslmodes against psql with those settings and
//!   that sslmode. Every case on 15 (or with `PGTLS_PG_MATRIX=full`), elsewhere the cases
//!   whose rules differ between versions and the plain one.
//! * Bytes that come with the server's answer to the SSLRequest (CVE-2021-23222): a
//!   listener in front of the real server answers `S` followed by a forged
//!   AuthenticationOk in one write, then relays the real server's TLS. libpq completes
//!   the handshake and refuses with `received unencrypted data after SSL response`, under
//!   every sslmode that tries TLS; `pgtls probe` and `pgtls_postgres::connect` must refuse
//!   with the same text, never go on. The same listener answering `N` and the forged
//!   message: under require and verify-full, `server does not support SSL, but SSL was
//!   required` (libpq does not look at what came with the `N`).
//!
//! One line per version with its row counts; a version that ran no rows fails, and so
//! does any difference (a probe that accepts where psql refuses is marked FALSE ACCEPT).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pgtls_testkit::Cluster;
use pgtls_testkit::pki::{Leaf, OpensslCa};
use pgtls_verify::{Env, PgVersion};
use verify_common::{HBA, MODES, SSL_QUERY, TLS_ONLY_DB, libpq_attempts, q};

const HOST: &str = "db.example.test";

/// openssl-made files: root `root` and the server leaf `server` (DNS:HOST and
/// IP:127.0.0.1) under it, a second root `other`, and `root.crl` revoking the leaf.
struct Pki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    home: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn pki() -> Pki {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("pgtls-probe-")
        .tempdir()
        .unwrap();
    let d = tmp.path().to_path_buf();
    let root = OpensslCa::root(&d, "root").unwrap();
    let san = format!("DNS:{HOST}");
    root.issue(
        "server",
        &format!("/CN={HOST}"),
        Leaf::Server(&[&san, "IP:127.0.0.1"]),
        None,
    )
    .unwrap();
    OpensslCa::root(&d, "other").unwrap();
    root.revoke("server.crt").unwrap();
    root.crl("root.crl", None).unwrap();
    // An empty HOME: no ~/.postgresql/root.crt or root.crl for either side.
    let home = d.join("home");
    std::fs::create_dir_all(&home).unwrap();
    Pki {
        _tmp: tmp,
        dir: d,
        home,
    }
}

/// One set of trust settings: a name, whether its rules differ between versions (run
/// on every version), the host, and the `--flag value` pairs (as conninfo `flag=value`).
struct Case {
    name: &'static str,
    versioned: bool,
    host: &'static str,
    trust: Vec<(&'static str, String)>,
}

fn cases(pki: &Pki) -> Vec<Case> {
    let root = || ("sslrootcert", pki.path("root.crt"));
    vec![
        Case {
            name: "root",
            versioned: true,
            host: HOST,
            trust: vec![root()],
        },
        // The iPAddress SAN: matched from 15, ignored by libpq 14.
        Case {
            name: "address-as-host",
            versioned: true,
            host: "127.0.0.1",
            trust: vec![root()],
        },
        // ~/.postgresql/root.crt missing: the hint names sslrootcert=system from 16.
        Case {
            name: "no-root",
            versioned: true,
            host: HOST,
            trust: vec![],
        },
        // A CRL directory is a lookup path (14+): CRL checking on, no CRL found.
        Case {
            name: "crl-dir-missing",
            versioned: true,
            host: HOST,
            trust: vec![root(), ("sslcrldir", pki.path("nonexistent-crl-dir"))],
        },
        Case {
            name: "wrong-host",
            versioned: false,
            host: "other.example.test",
            trust: vec![root()],
        },
        Case {
            name: "other-root",
            versioned: false,
            host: HOST,
            trust: vec![("sslrootcert", pki.path("other.crt"))],
        },
        Case {
            name: "missing-root-file",
            versioned: false,
            host: HOST,
            trust: vec![("sslrootcert", pki.path("nonexistent.crt"))],
        },
        Case {
            name: "crl-revokes",
            versioned: false,
            host: HOST,
            trust: vec![root(), ("sslcrl", pki.path("root.crl"))],
        },
    ]
}

/// A cluster of `version` serving the leaf (and asking for no client certificate),
/// with [`HBA`] and the tlsonly database.
fn cluster(version: u32, pki: &Pki) -> Cluster {
    let c = Cluster::builder().version(version).init().unwrap();
    c.copy_files(&pki.dir, &["server.crt", "server.key"], 0o600)
        .unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    c.write_hba(HBA).unwrap();
    let c = c.start_initialized().unwrap();
    c.sql(&format!("create database {TLS_ONLY_DB}")).unwrap();
    c
}

/// libpq's plaintext attempt refused by `hostnossl tlsonly ... reject` (14+ and 12/13
/// wordings): allow's first attempt and prefer's retry, not the TLS verdict.
fn plaintext_refusal(m: &str) -> bool {
    m.starts_with("FATAL:  pg_hba.conf rejects connection")
        && (m.contains("no encryption") || m.ends_with("SSL off"))
}

/// psql's outcome: `accept` (TLS), `plaintext`, or libpq's message for the TLS attempt.
fn psql_outcome(
    c: &Cluster,
    port: u16,
    host: &str,
    mode: &str,
    db: &str,
    extra: &str,
    home: &Path,
) -> String {
    let ci = format!(
        "host={host} hostaddr=127.0.0.1 port={port} user=postgres dbname={db} sslmode={mode} {extra}"
    );
    let home = home.display().to_string();
    let out = verify_common::psql(
        c.client_build(),
        &ci,
        &["-X", "-At", "-c", SSL_QUERY],
        &[("HOME", home.as_str())],
    );
    if out.status.success() {
        return match String::from_utf8_lossy(&out.stdout).trim() {
            "t" => "accept".into(),
            "f" => "plaintext".into(),
            other => format!("BROKEN: psql printed {other:?}"),
        };
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    libpq_attempts(&stderr)
        .into_iter()
        .find(|m| !plaintext_refusal(m))
        .unwrap_or_else(|| format!("BROKEN: no message in {stderr:?}"))
}

/// `pgtls probe 127.0.0.1:PORT --host H --pg-version V --json` with `flags`: the exit
/// code, stdout and the first line of stderr (without `pgtls: error: `).
fn probe(
    port: u16,
    version: u32,
    host: &str,
    flags: &[String],
    home: &Path,
) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    cmd.args(["probe", &format!("127.0.0.1:{port}"), "--host", host])
        .args(["--user", "postgres", "--dbname", "postgres"])
        .args(["--pg-version", &version.to_string(), "--json"])
        .args(flags);
    for v in verify_common::LIBPQ_ENV {
        cmd.env_remove(v);
    }
    cmd.env("HOME", home);
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or("");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        first
            .strip_prefix("pgtls: error: ")
            .or_else(|| first.strip_prefix("pgtls: "))
            .unwrap_or(first)
            .to_string(),
    )
}

/// One row of the probe's `sslmodes` as [`psql_outcome`] words it.
fn probe_words(row: &serde_json::Value) -> String {
    match row["verdict"].as_str() {
        Some("accept") => "accept".into(),
        Some("reject") if row["message"] == pgtls_verify::DISABLE_MESSAGE => "plaintext".into(),
        Some("reject") => row["message"]
            .as_str()
            .and_then(|m| m.lines().next())
            .unwrap_or("(no message)")
            .to_string(),
        other => format!("BROKEN: verdict {other:?}"),
    }
}

#[derive(Default)]
struct Tally {
    rows: usize,
    wrong: Vec<String>,
}

impl Tally {
    fn compare(&mut self, what: &str, libpq: &str, pgtls: &str) {
        self.rows += 1;
        if libpq.starts_with("BROKEN") || libpq != pgtls {
            let fa = if pgtls == "accept" && libpq != "accept" {
                " FALSE ACCEPT"
            } else {
                ""
            };
            self.wrong.push(format!(
                "{what}:{fa}\n      libpq: {libpq}\n      pgtls: {pgtls}"
            ));
        }
    }
}

/// The verdict table of `pgtls probe` against psql, on the cluster `c`.
fn table(c: &Cluster, pki: &Pki, full: bool, t: &mut Tally) {
    let version = c.client_build().major;
    for case in cases(pki) {
        if !full && !case.versioned {
            continue;
        }
        let extra: String = case
            .trust
            .iter()
            .map(|(k, v)| format!("{k}={} ", q(v)))
            .collect();
        let flags: Vec<String> = case
            .trust
            .iter()
            .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
            .collect();
        let what = format!("server {}, libpq {version}, {}", c.version(), case.name);
        let (code, out, err) = probe(c.port(), version, case.host, &flags, &pki.home);
        let j: serde_json::Value = match serde_json::from_str(&out) {
            Ok(j) if code == 0 => j,
            _ => {
                t.rows += 1;
                t.wrong
                    .push(format!("{what}: probe exit {code}: {err} {out}"));
                continue;
            }
        };
        let rows = j["sslmodes"].as_array().cloned().unwrap_or_default();
        let got: Vec<&str> = rows.iter().filter_map(|r| r["sslmode"].as_str()).collect();
        if got != MODES {
            t.wrong
                .push(format!("{what}: the probe's sslmodes are {got:?}"));
        }
        for row in &rows {
            let mode = row["sslmode"].as_str().unwrap_or("?");
            // disable speaks plaintext, which tlsonly refuses: it goes to postgres.
            let db = if mode == "disable" {
                "postgres"
            } else {
                TLS_ONLY_DB
            };
            let libpq = psql_outcome(c, c.port(), case.host, mode, db, &extra, &pki.home);
            t.compare(
                &format!("{what}, sslmode={mode}"),
                &libpq,
                &probe_words(row),
            );
        }
    }
}

/// A listener in front of the server on `upstream`: it answers an SSLRequest with
/// `answer` and `extra` in one write, then relays (after its own SSLRequest upstream
/// for `S`); any other first packet is relayed as it is.
fn tap(upstream: u16, answer: u8, extra: &'static [u8]) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = relay(s, upstream, answer, extra);
            });
        }
    });
    port
}

fn relay(mut client: TcpStream, upstream: u16, answer: u8, extra: &[u8]) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut first = [0u8; 8];
    client.read_exact(&mut first)?;
    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
    if first[4..] == pgtls_verify::probe::SSL_REQUEST_CODE.to_be_bytes() {
        let mut reply = vec![answer];
        reply.extend_from_slice(extra);
        client.write_all(&reply)?;
        if answer == b'S' {
            server.write_all(&first)?;
            let mut s = [0u8; 1];
            server.read_exact(&mut s)?;
            if s[0] != b'S' {
                return Ok(());
            }
        }
    } else {
        server.write_all(&first)?;
    }
    let (mut c2, mut s2) = (client.try_clone()?, server.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = up.join();
    Ok(())
}

/// A forged AuthenticationOk, as a man in the middle would put it in front of the TLS.
const FORGED_AUTH_OK: &[u8] = &[b'R', 0, 0, 0, 8, 0, 0, 0, 0];

/// `pgtls_postgres::connect` on a thread of its own (a blocked read must not hang the
/// test): `accept` / `plaintext` / the first line after `failed: `.
fn pg_outcome(version: u32, conninfo: &str, home: &Path) -> String {
    let (tx, rx) = mpsc::channel();
    let ci = conninfo.to_string();
    let env = Env::empty()
        .with_var("HOME", &home.display().to_string())
        .with_var("PGCONNECT_TIMEOUT", "20")
        .with_passwd_home(Some(home.to_path_buf()));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = rt.block_on(async {
            let v = PgVersion::new(version).unwrap();
            match pgtls_postgres::Options::new()
                .pg_version(v)
                .env(env)
                .connect(&ci)
                .await
            {
                Ok((client, connection)) => {
                    let task = tokio::spawn(connection);
                    let row = client.query_one(SSL_QUERY, &[]).await;
                    drop(client);
                    let _ = task.await;
                    match row {
                        Ok(r) if r.get::<_, bool>(0) => "accept".to_string(),
                        Ok(_) => "plaintext".to_string(),
                        Err(e) => format!("BROKEN: query: {e}"),
                    }
                }
                Err(e) => libpq_attempts(&e.libpq_message())
                    .into_iter()
                    .find(|m| !plaintext_refusal(m))
                    .unwrap_or_else(|| "(no message)".to_string()),
            }
        });
        let _ = tx.send(r);
    });
    rx.recv_timeout(Duration::from_secs(40))
        .unwrap_or_else(|_| "BROKEN: pgtls-postgres blocked".into())
}

/// psql, `pgtls_postgres` and `pgtls probe` through a listener that sends bytes with
/// its answer to the SSLRequest.
fn ssl_response(c: &Cluster, pki: &Pki, t: &mut Tally) {
    let version = c.client_build().major;
    let root = pki.path("root.crt");
    // (sslmode, database): prefer also to a database plaintext may reach, where a
    // retry without TLS would log in.
    let tls_modes = [
        ("prefer", TLS_ONLY_DB),
        ("prefer", "postgres"),
        ("require", TLS_ONLY_DB),
        ("verify-ca", TLS_ONLY_DB),
        ("verify-full", TLS_ONLY_DB),
    ];
    for (answer, modes) in [
        (b'S', &tls_modes[..]),
        (
            b'N',
            &[("require", TLS_ONLY_DB), ("verify-full", TLS_ONLY_DB)][..],
        ),
    ] {
        let port = tap(c.port(), answer, FORGED_AUTH_OK);
        let what = format!(
            "libpq {version}, '{}' and a forged AuthenticationOk in one write",
            char::from(answer)
        );
        let mut require_text = None;
        for &(mode, db) in modes {
            let trust = format!("sslrootcert={}", q(&root));
            let libpq = psql_outcome(c, port, HOST, mode, db, &trust, &pki.home);
            let ci = format!(
                "host={HOST} hostaddr=127.0.0.1 port={port} user=postgres dbname={db} \
                 sslmode={mode} {trust}"
            );
            let ours = pg_outcome(version, &ci, &pki.home);
            t.compare(
                &format!("{what}, sslmode={mode} dbname={db}: pgtls_postgres"),
                &libpq,
                &ours,
            );
            if mode == "require" {
                require_text = Some(libpq);
            }
        }
        // The probe's capture is the TLS attempt every TLS mode makes: it must fail
        // with the text libpq gives under require, and say nothing of the server.
        let libpq = require_text.unwrap_or_default();
        let (code, out, err) = probe(
            port,
            version,
            HOST,
            &["--sslrootcert".into(), root.clone()],
            &pki.home,
        );
        let ours = if code == 0 {
            format!("accept (exit 0: {})", out.trim())
        } else {
            err
        };
        let ours = match answer {
            // The probe has no sslmode to refuse in: its own words for the `N`.
            b'N' if ours == "server does not support SSL" && libpq.starts_with(&ours) => {
                libpq.clone()
            }
            _ => ours,
        };
        t.compare(&format!("{what}: pgtls probe"), &libpq, &ours);
    }
}

#[test]
fn probe_and_ssl_response_live_every_version() {
    let pki = pki();
    let versions = pgtls_testkit::pg_versions().unwrap();
    let start = Instant::now();
    let results: Vec<(u32, String, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = versions
            .iter()
            .map(|&v| {
                let pki = &pki;
                s.spawn(move || {
                    let begin = Instant::now();
                    let c = cluster(v, pki);
                    let full = pgtls_testkit::full_matrix(v).unwrap();
                    let mut table_rows = Tally::default();
                    table(&c, pki, full, &mut table_rows);
                    // 12 and 13 have libpq 14, whose rows the 14 server gives.
                    let mut response_rows = Tally::default();
                    if c.client_build().major == v {
                        ssl_response(&c, pki, &mut response_rows);
                    }
                    let line = format!(
                        "server {v} (libpq {}): probe table {} rows ({}), SSL response {} rows, {} differ, {:.0?}",
                        c.client_build().major,
                        table_rows.rows,
                        if full { "full" } else { "sample" },
                        response_rows.rows,
                        table_rows.wrong.len() + response_rows.wrong.len(),
                        begin.elapsed()
                    );
                    let mut wrong = table_rows.wrong;
                    if table_rows.rows == 0 {
                        wrong.push(format!("server {v}: the probe table ran no rows"));
                    }
                    wrong.extend(response_rows.wrong);
                    (v, line, wrong)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut failures = Vec::new();
    for (_, line, wrong) in results {
        println!("{line}");
        failures.extend(wrong);
    }
    println!("all versions: {:.0?}", start.elapsed());
    if versions.is_empty() {
        failures.push("no PostgreSQL version ran".into());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
