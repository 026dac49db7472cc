//! Client certificates, encrypted keys, `sslcertmode`, channel binding, service
//! files and the password file: the same conninfo (and environment) through
//! `pgtls_postgres::connect` and through psql, against a real PostgreSQL
//! (pgtls-testkit's clusters; certificates made with the openssl CLI by
//! `tests/fixtures/gen.sh`).
//!
//! Asserted per row, as in `psql_differential.rs`: both connect or both refuse;
//! a session is TLS in one exactly when it is in the other; refusals have
//! psql's message (the first line of the error's Display is psql's text after
//! `failed: `, the whole of it libpq's `PQerrorMessage`). Each test fails if it
//! ran no rows, or saw no contrast, and prints its counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Suite, fixtures, tls_cluster};
use pgtls_testkit::{client_major, full_matrix, pg_versions};
use pgtls_verify::PgVersion;

/// The server versions of `PGTLS_PG_VERSIONS` from `oldest` on, each with the
/// libpq version pgtls models for it (its own, libpq 14 for servers 12 and 13)
/// and whether its whole matrix runs (15, or every version with
/// `PGTLS_PG_MATRIX=full`; a sample otherwise).
fn versions(oldest: u32) -> Vec<(u32, PgVersion, bool)> {
    pg_versions()
        .unwrap()
        .into_iter()
        .filter(|m| *m >= oldest)
        .map(|m| {
            (
                m,
                PgVersion::new(client_major(m)).unwrap(),
                full_matrix(m).unwrap(),
            )
        })
        .collect()
}

/// A suite's name with its server and psql versions (one line per version).
fn suite_name(set: &str, major: u32) -> &'static str {
    Box::leak(format!("{set} (server {major}, psql {})", client_major(major)).into_boxed_str())
}

/// Runs `f` on each version and prints one line per version with its rows;
/// fails when no version ran a row.
fn per_version(set: &str, oldest: u32, mut f: impl FnMut(u32, PgVersion, bool) -> (usize, bool)) {
    let mut lines = Vec::new();
    for (major, version, full) in versions(oldest) {
        let start = std::time::Instant::now();
        let (rows, full) = f(major, version, full);
        lines.push(format!(
            "{set}: server {major}, psql {}: {} rows ({}), {:.1?}",
            client_major(major),
            rows,
            if full { "full" } else { "sample" },
            start.elapsed()
        ));
    }
    for l in &lines {
        println!("{l}");
    }
    assert!(
        !lines.is_empty(),
        "{set}: PGTLS_PG_VERSIONS names no version from {oldest}"
    );
}

fn copy(from: &Path, to: &Path, mode: u32) {
    std::fs::copy(from, to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, owner: &str) {
    let st = std::process::Command::new("chown")
        .arg(owner)
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success(), "chown {owner} {}", path.display());
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap()
}

/// One client-side case: label, the conninfo's certificate part, HOME, extra environment.
type Client<'a> = (&'a str, String, &'a str, Vec<(&'a str, String)>);

/// Client certificates and keys: `cert` authentication, `clientcert=verify-full`
/// and `verify-ca` with SCRAM, missing/wrong/unreadable/too-open keys (libpq's
/// key-permission rule: 0600, or 0640 when root owns the key), encrypted keys
/// with `sslpassword`, the `~/.postgresql` defaults and `PGSSLCERT`/`PGSSLKEY`;
/// servers 12-18 (psql 14 for 12 and 13), a sample off 15.
#[test]
fn client_certificates_agree_with_psql() {
    let fx = fixtures();
    let dir = fx.path();
    let root = dir.join("root.pem").display().to_string();
    let f = |n: &str| dir.join(n).display().to_string();

    // Key files with chosen owners and modes.
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let k = |n: &str| keys.join(n).display().to_string();
    copy(&dir.join("client.key"), &keys.join("root-0600.key"), 0o600);
    copy(&dir.join("client.key"), &keys.join("root-0640.key"), 0o640);
    copy(&dir.join("client.key"), &keys.join("root-0644.key"), 0o644);
    copy(&dir.join("client.key"), &keys.join("root-0660.key"), 0o660);
    copy(&dir.join("client.key"), &keys.join("root-0604.key"), 0o604);
    let root_user = is_root();
    if root_user {
        // Owned by someone else (root can read it whatever the mode): libpq's
        // rule for non-root owners applies (0600 or less).
        for (n, m) in [("other-0600.key", 0o600), ("other-0640.key", 0o640)] {
            copy(&dir.join("client.key"), &keys.join(n), m);
            chown(&keys.join(n), "postgres");
        }
    }
    std::fs::create_dir_all(keys.join("dir.key")).unwrap();

    // Homes: empty, and one with ~/.postgresql/postgresql.{crt,key}.
    let empty_home = dir.join("home-empty");
    std::fs::create_dir_all(&empty_home).unwrap();
    let home = dir.join("home-cert");
    std::fs::create_dir_all(home.join(".postgresql")).unwrap();
    copy(
        &dir.join("client.pem"),
        &home.join(".postgresql/postgresql.crt"),
        0o644,
    );
    copy(
        &dir.join("client.key"),
        &home.join(".postgresql/postgresql.key"),
        0o600,
    );
    let empty_home = empty_home.display().to_string();
    let home = home.display().to_string();

    let hbas = [
        (
            "cert",
            "hostssl all all 127.0.0.1/32 cert\nhostnossl all all 127.0.0.1/32 reject\n",
        ),
        (
            "scram+verify-full",
            "hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-full\n",
        ),
        (
            "scram+verify-ca",
            "hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-ca\n",
        ),
        (
            "trust (no cert needed)",
            "host all all 127.0.0.1/32 trust\n",
        ),
    ];
    // (label, client-cert part of the conninfo, HOME, extra env)
    let mut clients: Vec<Client<'_>> = vec![
        ("none", String::new(), &empty_home, vec![]),
        (
            "good",
            format!("sslcert={} sslkey={}", f("client.pem"), f("client.key")),
            &empty_home,
            vec![],
        ),
        ("home defaults", String::new(), &home, vec![]),
        (
            "PGSSLCERT/PGSSLKEY",
            String::new(),
            &empty_home,
            vec![
                ("PGSSLCERT", f("client.pem")),
                ("PGSSLKEY", f("client.key")),
            ],
        ),
        (
            "alice's cert",
            format!("sslcert={} sslkey={}", f("alice.pem"), f("alice.key")),
            &empty_home,
            vec![],
        ),
        (
            "untrusted cert",
            format!(
                "sslcert={} sslkey={}",
                f("client-untrusted.pem"),
                f("client-untrusted.key")
            ),
            &empty_home,
            vec![],
        ),
        (
            "missing sslcert file (ignored)",
            format!("sslcert={} sslkey={}", f("nope.pem"), f("client.key")),
            &empty_home,
            vec![],
        ),
        (
            "missing key",
            format!("sslcert={} sslkey={}", f("client.pem"), f("nope.key")),
            &empty_home,
            vec![],
        ),
        (
            "sslcert without sslkey, no default key",
            format!("sslcert={}", f("client.pem")),
            &empty_home,
            vec![],
        ),
        (
            "wrong key",
            format!("sslcert={} sslkey={}", f("client.pem"), f("other.key")),
            &empty_home,
            vec![],
        ),
        (
            "RSA key for an EC certificate",
            format!("sslcert={} sslkey={}", f("client.pem"), f("other-rsa.key")),
            &empty_home,
            vec![],
        ),
        (
            "expired cert",
            format!(
                "sslcert={} sslkey={}",
                f("client-expired.pem"),
                f("client-expired.key")
            ),
            &empty_home,
            vec![],
        ),
        (
            "key is a directory",
            format!("sslcert={} sslkey={}", f("client.pem"), k("dir.key")),
            &empty_home,
            vec![],
        ),
        (
            "key not a key",
            format!("sslcert={} sslkey={}", f("client.pem"), f("client.pem")),
            &empty_home,
            vec![],
        ),
    ];
    for n in [
        "root-0600.key",
        "root-0640.key",
        "root-0644.key",
        "root-0660.key",
        "root-0604.key",
        "other-0600.key",
        "other-0640.key",
    ] {
        if !root_user && n.starts_with("other-") {
            continue;
        }
        clients.push((
            n,
            format!("sslcert={} sslkey={}", f("client.pem"), k(n)),
            &empty_home,
            vec![],
        ));
    }
    for key in ["client-p8enc.key", "client-legacy.key"] {
        for (pl, pw) in [
            ("right", " sslpassword=s3cret"),
            ("wrong", " sslpassword=nope"),
            ("absent", ""),
            ("empty", " sslpassword=''"),
        ] {
            clients.push((
                match (key, pl) {
                    (_, "right") => key,
                    ("client-p8enc.key", "wrong") => "PKCS#8, wrong password",
                    ("client-p8enc.key", "absent") => "PKCS#8, no sslpassword",
                    ("client-p8enc.key", _) => "PKCS#8, empty sslpassword",
                    (_, "wrong") => "traditional, wrong password",
                    (_, "absent") => "traditional, no sslpassword",
                    _ => "traditional, empty sslpassword",
                },
                format!("sslcert={} sslkey={}{pw}", f("client.pem"), f(key)),
                &empty_home,
                vec![],
            ));
        }
    }
    let modes = [
        ("prefer", String::new()),
        ("require", String::new()),
        (
            "verify-full",
            format!("host=db.example.test sslrootcert={root}"),
        ),
    ];
    // Off the full matrix: every key-permission row (T3.8) and a few others,
    // under `cert` and `clientcert=verify-full`, as postgres.
    let sampled = |cl: &str| {
        cl.starts_with("root-")
            || cl.starts_with("other-")
            || [
                "none",
                "good",
                "home defaults",
                "untrusted cert",
                "alice's cert",
                "client-p8enc.key",
                "PKCS#8, wrong password",
            ]
            .contains(&cl)
    };
    // Servers 12 and 13 with psql 14: the server's side (cert, clientcert) is what differs.
    per_version("client certificates", 12, |major, version, full| {
        let c = tls_cluster(dir, major);
        let port = c.port();
        let mut s = Suite::new(suite_name("client certificates", major), version);
        s.tolerate_startup_reset = true;
        for (hba_name, hba) in hbas {
            if !full && hba_name.starts_with("trust") {
                continue;
            }
            c.write_hba(&format!("local all all trust\n{hba}")).unwrap();
            c.reload().unwrap();
            for (cl_name, cl, h, extra) in &clients {
                if !full && !sampled(cl_name) {
                    continue;
                }
                for (mode, more) in &modes {
                    if !full && *mode == "prefer" {
                        continue;
                    }
                    for (user, pw) in [("postgres", "secret"), ("alice", "alicepw")] {
                        if !full && user == "alice" {
                            continue;
                        }
                        let ci = format!(
                            "hostaddr=127.0.0.1 {more} port={port} user={user} password={pw} dbname=postgres sslmode={mode} {cl}"
                        );
                        let mut env: Vec<(&str, &str)> = vec![("HOME", h)];
                        for (k, v) in extra {
                            env.push((k, v.as_str()));
                        }
                        let _ = s.row(&c, &format!("hba {hba_name}, client {cl_name}"), &ci, &env);
                    }
                }
            }
        }
        let rows = s.rows;
        s.finish();
        (rows, full)
    });
}

/// `channel_binding` disable/prefer/require (string and `PGCHANNELBINDING`) x
/// `sslmode` disable/prefer/require x the server's method: SCRAM (offered as
/// SCRAM-SHA-256-PLUS over TLS), md5 (SCRAM-stored passwords: SCRAM), password,
/// trust and cert.
#[test]
fn channel_binding_agrees_with_psql() {
    let fx = fixtures();
    let dir = fx.path();
    let (home, cert) = common::home_and_cert(dir);
    let methods = [
        "scram-sha-256",
        "md5",
        "password",
        "trust",
        "cert",
        "reject",
    ];
    // Servers 12 and 13 with psql 14 (the server offers SCRAM-SHA-256-PLUS);
    // off the full matrix SCRAM, cert and trust over TCP with a password, and
    // SCRAM over the socket.
    per_version("channel binding", 12, |major, version, full| {
        let c = tls_cluster(dir, major);
        let port = c.port();
        let mut s = Suite::new(suite_name("channel binding", major), version);
        for method in methods {
            if !full && !["scram-sha-256", "cert", "trust"].contains(&method) {
                continue;
            }
            let hba = if method == "cert" {
                "hostssl all all 127.0.0.1/32 cert\n".to_string()
            } else {
                format!("host all all 127.0.0.1/32 {method}\n")
            };
            c.write_hba(&format!("local all all trust\n{hba}")).unwrap();
            c.reload().unwrap();
            for sslmode in ["disable", "prefer", "require"] {
                for cb in [
                    "",
                    "disable",
                    "prefer",
                    "require",
                    "bogus",
                    "env:require",
                    "env:disable",
                ] {
                    let (cb_kw, env_cb) = match cb.strip_prefix("env:") {
                        Some(v) => (String::new(), Some(v)),
                        None if cb.is_empty() => (String::new(), None),
                        None => (format!("channel_binding={cb}"), None),
                    };
                    for pw in ["password=secret", ""] {
                        if !full && pw.is_empty() {
                            continue;
                        }
                        let ci = format!(
                            "host=127.0.0.1 port={port} user=postgres dbname=postgres {pw} sslmode={sslmode} {cb_kw} {cert}"
                        );
                        let mut env = vec![("HOME", home.as_str())];
                        if let Some(v) = env_cb {
                            env.push(("PGCHANNELBINDING", v));
                        }
                        let _ = s.row(&c, &format!("hba {method}"), &ci, &env);
                    }
                }
            }
        }
        // Unix-domain sockets (never TLS).
        let sock = c.socket_dir().display().to_string();
        for method in ["scram-sha-256", "password", "trust"] {
            if !full && method != "scram-sha-256" {
                continue;
            }
            c.write_hba(&format!("local all all {method}\n")).unwrap();
            c.reload().unwrap();
            for cb in ["disable", "prefer", "require"] {
                for pw in ["password=secret", ""] {
                    let ci = format!(
                        "host={sock} port={port} user=postgres dbname=postgres {pw} channel_binding={cb}"
                    );
                    let _ = s.row(
                        &c,
                        &format!("socket, local {method}"),
                        &ci,
                        &[("HOME", home.as_str())],
                    );
                }
            }
        }
        let rows = s.rows;
        s.finish();
        (rows, full)
    });
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The password file (`PGPASSFILE`, `passfile`, `~/.pgpass`; modes, wildcards,
/// escapes, host/hostaddr/socket matching) and service files (`PGSERVICEFILE`,
/// `service=`, `PGSERVICE`, `~/.pg_service.conf`, `PGSYSCONFDIR`; errors).
#[test]
fn password_and_service_files_agree_with_psql() {
    let fx = fixtures();
    let dir = fx.path();
    let c = tls_cluster(dir, 15);
    c.sql("create role \"carol\" login password 'p:w\\d'")
        .unwrap();
    c.write_hba("local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n")
        .unwrap();
    c.reload().unwrap();
    let port = c.port();
    let sock = c.socket_dir().display().to_string();
    let root = dir.join("root.pem").display().to_string();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home_s = home.display().to_string();
    let empty_home = dir.join("home-empty");
    std::fs::create_dir_all(&empty_home).unwrap();
    let empty_home = empty_home.display().to_string();
    let mut s = Suite::new("password and service files", PgVersion::V15);

    // --- the password file ---
    let pf = dir.join("pgpass");
    let pfs = pf.display().to_string();
    let base = format!("host=127.0.0.1 port={port} dbname=postgres sslmode=disable");
    let files: Vec<(&str, String, u32)> = vec![
        (
            "exact",
            format!("127.0.0.1:{port}:postgres:postgres:secret\n"),
            0o600,
        ),
        ("wildcards", "*:*:*:*:secret\n".into(), 0o600),
        (
            "user wildcard only",
            format!("127.0.0.1:{port}:postgres:*:secret\n"),
            0o600,
        ),
        ("wrong password", "*:*:*:postgres:nope\n".into(), 0o600),
        ("mode 0644", "*:*:*:*:secret\n".into(), 0o644),
        ("mode 0640", "*:*:*:*:secret\n".into(), 0o640),
        ("mode 0400", "*:*:*:*:secret\n".into(), 0o400),
        (
            "no match",
            "otherhost:*:*:*:secret\n*:1:*:*:secret\n".into(),
            0o600,
        ),
        (
            "comments, CRLF, first match wins",
            format!("# *:*:*:*:nope\r\n127.0.0.1:{port}:*:postgres:secret\r\n*:*:*:*:nope\n"),
            0o600,
        ),
        ("escaped password", "*:*:*:carol:p\\:w\\\\d\n".into(), 0o600),
        (
            "escaped, unescaped colon ends it",
            "*:*:*:carol:p\\:w\\\\d:extra\n".into(),
            0o600,
        ),
        (
            "host name field",
            format!("db.example.test:{port}:*:*:secret\n"),
            0o600,
        ),
        ("localhost field", "localhost:*:*:*:secret\n".into(), 0o600),
        (
            "socket dir field",
            format!("{sock}:{port}:*:*:secret\n"),
            0o600,
        ),
        (
            "port 5432 default",
            "127.0.0.1:5432:*:*:secret\n".into(),
            0o600,
        ),
        ("trailing empty password", "*:*:*:*:\n".into(), 0o600),
    ];
    for (name, text, mode) in &files {
        write_mode(&pf, text, *mode);
        for user in ["postgres", "carol"] {
            for (form, conn) in [
                ("host", base.clone()),
                (
                    "hostaddr",
                    format!("hostaddr=127.0.0.1 port={port} dbname=postgres sslmode=disable"),
                ),
                (
                    "host+hostaddr",
                    format!(
                        "host=db.example.test hostaddr=127.0.0.1 port={port} dbname=postgres sslmode=disable"
                    ),
                ),
                ("socket", format!("host={sock} port={port} dbname=postgres")),
            ] {
                let ci = format!("{conn} user={user}");
                let label = format!("pgpass {name}, {form}");
                let _ = s.row(
                    &c,
                    &label,
                    &ci,
                    &[("HOME", &empty_home), ("PGPASSFILE", &pfs)],
                );
                if *name == "exact" || *name == "wildcards" {
                    let _ = s.row(
                        &c,
                        &format!("{label}, passfile="),
                        &format!("{ci} passfile={pfs}"),
                        &[("HOME", &empty_home)],
                    );
                    let _ = s.row(
                        &c,
                        &format!("{label}, password= wins"),
                        &format!("{ci} password=nope"),
                        &[("HOME", &empty_home), ("PGPASSFILE", &pfs)],
                    );
                }
            }
        }
    }
    // ~/.pgpass, a directory, a missing file.
    write_mode(&home.join(".pgpass"), "*:*:*:*:secret\n", 0o600);
    let _ = s.row(
        &c,
        "~/.pgpass",
        &format!("{base} user=postgres"),
        &[("HOME", &home_s)],
    );
    let _ = s.row(
        &c,
        "PGPASSFILE beats ~/.pgpass",
        &format!("{base} user=postgres"),
        &[("HOME", &home_s), ("PGPASSFILE", "/nonexistent/pgpass")],
    );
    let pdir = dir.join("pgpass-dir");
    std::fs::create_dir_all(&pdir).unwrap();
    let _ = s.row(
        &c,
        "pgpass is a directory",
        &format!("{base} user=postgres"),
        &[
            ("HOME", &empty_home),
            ("PGPASSFILE", &pdir.display().to_string()),
        ],
    );

    // --- service files ---
    let sf = dir.join("services.conf");
    let sfs = sf.display().to_string();
    let services = format!(
        "# services\n[svc]\nhost=127.0.0.1\nport={port}\nuser=postgres\ndbname=postgres\npassword=secret\nsslmode=require\n\n\
         [alice-ish]\nhost=127.0.0.1\nport={port}\nuser=carol\npassword=p:w\\d\n\
         [full]\nhost=db.example.test\nhostaddr=127.0.0.1\nport={port}\nuser=postgres\npassword=secret\ndbname=postgres\nsslmode=verify-full\nsslrootcert={root}\n\
         [wronghost]\nhost=other.example.test\nhostaddr=127.0.0.1\nport={port}\nuser=postgres\npassword=secret\ndbname=postgres\nsslmode=verify-full\nsslrootcert={root}\n\
         [spaces]\n  host=127.0.0.1  \nport = {port}\nuser=postgres\npassword=secret\n\
         [nested]\nservice=svc\n\
         [syntax]\nhost 127.0.0.1\n\
         [unknown]\nnosuchkeyword=1\n\
         [empty]\n"
    );
    write_mode(&sf, &services, 0o644);
    let env_sf = [
        ("HOME", empty_home.as_str()),
        ("PGSERVICEFILE", sfs.as_str()),
    ];
    for (label, ci) in [
        ("service=svc", "service=svc".to_string()),
        (
            "service=svc, conninfo overrides",
            "service=svc user=carol password=p:w\\\\d sslmode=disable".to_string(),
        ),
        (
            "service=alice-ish",
            "service=alice-ish dbname=postgres".to_string(),
        ),
        ("service=full (verify-full)", "service=full".to_string()),
        (
            "service=wronghost (verify-full)",
            "service=wronghost".to_string(),
        ),
        (
            "service=spaces",
            "service=spaces dbname=postgres".to_string(),
        ),
        ("service=nested", "service=nested".to_string()),
        ("service=syntax", "service=syntax".to_string()),
        ("service=unknown", "service=unknown".to_string()),
        (
            "service=empty",
            format!(
                "service=empty host=127.0.0.1 port={port} user=postgres password=secret dbname=postgres"
            ),
        ),
        ("service=nope", "service=nope".to_string()),
        ("URI ?service=svc", "postgresql:///?service=svc".to_string()),
        (
            "URI ?service=svc&sslmode=disable",
            "postgresql:///?service=svc&sslmode=disable".to_string(),
        ),
    ] {
        let _ = s.row(&c, label, &ci, &env_sf);
    }
    let _ = s.row(
        &c,
        "PGSERVICE=svc",
        "",
        &[
            ("HOME", &empty_home),
            ("PGSERVICEFILE", &sfs),
            ("PGSERVICE", "svc"),
        ],
    );
    let _ = s.row(
        &c,
        "PGSERVICE=svc, service= wins",
        "service=nope",
        &[
            ("HOME", &empty_home),
            ("PGSERVICEFILE", &sfs),
            ("PGSERVICE", "svc"),
        ],
    );
    let _ = s.row(
        &c,
        "PGSERVICEFILE missing",
        "service=svc",
        &[
            ("HOME", &empty_home),
            ("PGSERVICEFILE", "/nonexistent/services.conf"),
        ],
    );
    // ~/.pg_service.conf, then PGSYSCONFDIR/pg_service.conf.
    write_mode(&home.join(".pg_service.conf"), &services, 0o644);
    let _ = s.row(
        &c,
        "~/.pg_service.conf",
        "service=svc",
        &[("HOME", &home_s)],
    );
    let sys = dir.join("sysconf");
    std::fs::create_dir_all(&sys).unwrap();
    write_mode(
        &sys.join("pg_service.conf"),
        &format!(
            "[sysonly]\nhost=127.0.0.1\nport={port}\nuser=postgres\npassword=secret\ndbname=postgres\n[svc]\nhost=nowhere.invalid\n"
        ),
        0o644,
    );
    let sys_s = sys.display().to_string();
    for (label, ci, h) in [
        (
            "PGSYSCONFDIR service",
            "service=sysonly",
            empty_home.as_str(),
        ),
        (
            "PGSYSCONFDIR after ~/.pg_service.conf",
            "service=sysonly",
            home_s.as_str(),
        ),
        (
            "~/.pg_service.conf before PGSYSCONFDIR",
            "service=svc",
            home_s.as_str(),
        ),
        (
            "PGSYSCONFDIR, not found anywhere",
            "service=nope",
            home_s.as_str(),
        ),
    ] {
        let _ = s.row(&c, label, ci, &[("HOME", h), ("PGSYSCONFDIR", &sys_s)]);
    }
    s.finish();
}

/// `sslcertmode` (16+; servers and psql of each version 14-18, from
/// `bash scripts/pg-versions.sh`; the testkit fails with that hint when one is
/// missing) x a server that asks for client certificates (`ssl_ca_file`) or
/// not x client certificate given or not x sslmode; libpq 14 and 15 refusing
/// the keyword.
#[test]
fn sslcertmode_agrees_with_psql() {
    let fx = fixtures();
    let dir = fx.path();
    let (home, cert) = common::home_and_cert(dir);
    // Every libpq 14-18 (14 and 15 refuse the keyword): the whole matrix on
    // 15, 16 and with PGTLS_PG_MATRIX=full, a sample on the others.
    per_version("sslcertmode", 14, |major, version, full| {
        let full = full || major == 16;
        let c = tls_cluster(dir, major);
        let port = c.port();
        let mut s = Suite::new(suite_name("sslcertmode", major), version);
        for (ca_name, ca) in [
            ("asks for a certificate", "'ca.pem'"),
            ("asks for none", "''"),
        ] {
            c.append_conf(&format!("ssl_ca_file = {ca}\n")).unwrap();
            for (hba_name, hba) in [
                ("trust", "host all all 127.0.0.1/32 trust\n"),
                (
                    "cert",
                    "hostssl all all 127.0.0.1/32 cert\nhost all all 127.0.0.1/32 trust\n",
                ),
                // prefer's plaintext retry after a FATAL over TLS: libpq's
                // ssl_cert_requested/ssl_cert_sent stay set from the TLS attempt.
                (
                    "reject over TLS, trust plaintext",
                    "hostssl all all 127.0.0.1/32 reject\nhostnossl all all 127.0.0.1/32 trust\n",
                ),
            ] {
                if hba_name == "cert" && ca == "''" {
                    continue; // the server refuses to load a cert rule without ssl_ca_file
                }
                c.write_hba(&format!("local all all trust\n{hba}")).unwrap();
                c.reload().unwrap();
                for mode in [
                    "",
                    "disable",
                    "allow",
                    "require",
                    "bogus",
                    "env:require",
                    "env:disable",
                ] {
                    if !full && ["", "disable", "env:disable"].contains(&mode) {
                        continue;
                    }
                    let (kw, envv) = match mode.strip_prefix("env:") {
                        Some(v) => (String::new(), Some(v)),
                        None if mode.is_empty() => (String::new(), None),
                        None => (format!("sslcertmode={mode}"), None),
                    };
                    for (cl_name, cl) in [("cert", cert.as_str()), ("no cert", "")] {
                        for sslmode in ["disable", "prefer", "require"] {
                            if !full && sslmode == "disable" {
                                continue;
                            }
                            let ci = format!(
                                "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode={sslmode} {kw} {cl}"
                            );
                            let mut env = vec![("HOME", home.as_str())];
                            if let Some(v) = envv {
                                env.push(("PGSSLCERTMODE", v));
                            }
                            let _ = s.row(
                                &c,
                                &format!(
                                    "server {major} {ca_name}, hba {hba_name}, client {cl_name}"
                                ),
                                &ci,
                                &env,
                            );
                        }
                    }
                }
            }
        }
        let rows = s.rows;
        s.finish();
        (rows, full)
    });
}
