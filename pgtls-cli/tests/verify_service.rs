//! `verify server --conninfo "service=NAME"` reads the connection service file as libpq
//! does (`PGSERVICEFILE`, `~/.pg_service.conf`, `PGSYSCONFDIR/pg_service.conf`, `PGSERVICE`),
//! checked against psql 15 connecting to a real PostgreSQL 15 with quickstart's certificates;
//! and `probe --direct` against that server, which has no direct TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

use pgtls_testkit::{Cluster, require_openssl, require_postgres};

mod pki_support;
use pki_support::{ok, p, pgtls};

/// (connected, first line of stderr after `error: `).
fn psql_outcome(c: &Cluster, conninfo: &str, env: &[(&str, &str)]) -> (bool, String) {
    let o = c
        .psql(&["-X", "-At", "-c", "select 1"], conninfo, env)
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let msg = err
        .lines()
        .next()
        .unwrap_or("")
        .split("error: ")
        .last()
        .unwrap_or("")
        .to_owned();
    (o.status.success(), msg)
}

fn pgtls_outcome(chain: &Path, conninfo: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    cmd.args([
        "verify",
        "server",
        "--conninfo",
        conninfo,
        "--chain",
        p(chain),
    ]);
    for v in [
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "PGSSLCRL",
        "PGSSLCRLDIR",
        "PGSSLCERT",
        "PGSSLKEY",
        "PGHOST",
        "PGHOSTADDR",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGSYSCONFDIR",
        "PGSSLCERTMODE",
        "PGSSLSNI",
    ] {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    let o = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (
        o.status.success(),
        err.lines().next().unwrap_or("").to_owned(),
    )
}

/// (label, conninfo, environment).
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

#[test]
fn service_file_settings_apply_as_in_libpq() {
    require_postgres().unwrap();
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let dir = t.join("demo");
    let other = t.join("other");
    for d in [&dir, &other] {
        ok(pgtls(&[
            "quickstart",
            "--dir",
            p(d),
            "--host",
            "localhost",
            "--host",
            "127.0.0.1",
            "--role",
            "app",
        ]));
    }
    let c = Cluster::init().unwrap();
    for (name, mode) in [("server.crt", 0o644), ("server.key", 0o600)] {
        c.write_file(name, &fs::read(dir.join(name)).unwrap(), mode)
            .unwrap();
    }
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    c.write_hba("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        .unwrap();
    let c = c.start_initialized().unwrap();
    let home = t.join("home");
    let sysconf = t.join("sysconf");
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&sysconf).unwrap();
    let conn = format!(
        "host=localhost hostaddr=127.0.0.1 port={} dbname=postgres user=postgres",
        c.port()
    );
    let good = format!(
        "[good]\n# a comment\n  sslmode=verify-full\nsslrootcert={}\n{}\n",
        p(&dir.join("root.crt")),
        conn.replace(' ', "\n")
    );
    let wrong = format!(
        "[wrong]\nsslmode=verify-full\nsslrootcert={}\n{}\n",
        p(&other.join("root.crt")),
        conn.replace(' ', "\n")
    );
    let spaced = "[spaced]\nsslmode = verify-full\n";
    let nested = "[nested]\nservice=good\n";
    let user_file = t.join("services.conf");
    fs::write(&user_file, format!("{good}{wrong}{spaced}{nested}")).unwrap();
    // The system file holds a service the user file does not.
    fs::write(
        sysconf.join("pg_service.conf"),
        wrong.replace("[wrong]", "[sys]"),
    )
    .unwrap();
    fs::write(
        home.join(".pg_service.conf"),
        wrong.replace("[wrong]", "[homewrong]"),
    )
    .unwrap();
    let chain = dir.join("server.crt");
    let (h, sc, uf) = (p(&home), p(&sysconf), p(&user_file));
    let base = [("HOME", h), ("PGSYSCONFDIR", sc)];
    let with_file = [("HOME", h), ("PGSYSCONFDIR", sc), ("PGSERVICEFILE", uf)];
    let missing = t.join("missing.conf");
    let cases: Vec<Case<'_>> = vec![
        ("good", "service=good".into(), with_file.to_vec()),
        ("wrong", "service=wrong".into(), with_file.to_vec()),
        // An explicit setting wins over the service's.
        (
            "wrong+sslmode",
            "service=wrong sslmode=require".into(),
            with_file.to_vec(),
        ),
        (
            "PGSERVICE",
            String::new(),
            [with_file.as_slice(), &[("PGSERVICE", "wrong")]].concat(),
        ),
        ("sysconf", "service=sys".into(), with_file.to_vec()),
        ("home", "service=homewrong".into(), base.to_vec()),
        ("undefined", "service=nope".into(), with_file.to_vec()),
        ("spaced", "service=spaced".into(), with_file.to_vec()),
        ("nested", "service=nested".into(), with_file.to_vec()),
        (
            "missing file",
            "service=good".into(),
            vec![
                ("HOME", h),
                ("PGSYSCONFDIR", sc),
                ("PGSERVICEFILE", p(&missing)),
            ],
        ),
    ];
    let mut rows = Vec::new();
    for (label, conninfo, env) in &cases {
        // psql's conninfo also needs the connection target when the service does not give it.
        let target = if conninfo.contains("service=") && !label.starts_with("missing") {
            conninfo.clone()
        } else {
            format!("{conninfo} {conn}")
        };
        let (pg_ok, pg_msg) = psql_outcome(&c, target.trim(), env);
        let (us_ok, us_msg) = pgtls_outcome(&chain, target.trim(), env);
        rows.push(format!(
            "{label}: psql {pg_ok} {pg_msg:?} / pgtls {us_ok} {us_msg:?}"
        ));
        assert_eq!(pg_ok, us_ok, "{label}: psql {pg_msg:?}, pgtls {us_msg:?}");
        if !pg_ok && (pg_msg.contains("service") || us_msg.contains("service")) {
            assert_eq!(pg_msg, us_msg, "{label}");
        }
    }
    // Both outcomes occur (the suite is not vacuous).
    assert!(rows.iter().any(|r| r.contains("psql true")), "{rows:#?}");
    assert!(rows.iter().any(|r| r.contains("psql false")), "{rows:#?}");
    eprintln!("{rows:#?}");
}

/// `probe --direct` against PostgreSQL 15 (no direct TLS): the server hangs up on the
/// ClientHello, and pgtls says so instead of `unexpected end of file`.
#[test]
fn probe_direct_against_a_server_without_direct_tls() {
    require_postgres().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    ok(pgtls(&[
        "quickstart",
        "--dir",
        p(&dir),
        "--host",
        "localhost",
        "--role",
        "app",
    ]));
    let c = Cluster::init().unwrap();
    for (name, mode) in [("server.crt", 0o644), ("server.key", 0o600)] {
        c.write_file(name, &fs::read(dir.join(name)).unwrap(), mode)
            .unwrap();
    }
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    let c = c.start_initialized().unwrap();
    let target = format!("127.0.0.1:{}", c.port());
    // The SSLRequest way works: the probe is not broken.
    let o = pgtls(&["probe", &target]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = pgtls(&["probe", &target, "--direct"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("does not accept direct TLS"), "{err}");
    assert!(
        c.log().contains("invalid length of startup packet"),
        "{}",
        c.log()
    );
}
