//! `pgtls quickstart` output used by real PostgreSQL servers 12 to 18
//! (`PGTLS_PG_VERSIONS`, one cluster per version in parallel) and their psql (libpq 14
//! for 12 and 13): verify-full with a client certificate under `cert` authentication is
//! accepted; after `pgtls revoke` + `pgtls crl` + reload, the same client is refused.
//! The six rows are the whole matrix on every version.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Output;

use pgtls_testkit::{Cluster, require_openssl, require_postgres};

mod pki_support;
use pki_support::{ok, pgtls};

fn psql(c: &Cluster, client: &Path, user: &str) -> Output {
    let conninfo = format!(
        "host=db.example.com hostaddr=127.0.0.1 port={} user={user} dbname=postgres \
         sslmode=verify-full sslrootcert={d}/root.crt sslcert={d}/postgresql.crt \
         sslkey={d}/postgresql.key",
        c.port(),
        d = client.display()
    );
    c.psql(
        &[
            "-X",
            "-At",
            "-c",
            "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()",
        ],
        &conninfo,
        &[],
    )
    .unwrap()
}

#[test]
fn quickstart_certificates_work_with_every_server_version_and_revocation_takes_effect() {
    require_postgres().unwrap();
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let d = dir.to_str().unwrap();
    let out = ok(pgtls(&[
        "quickstart",
        "--dir",
        d,
        "--host",
        "db.example.com",
        "--host",
        "127.0.0.1",
        "--role",
        "app",
        "--role",
        "bob",
    ]));
    assert!(out.contains("ssl_crl_file"), "{out}");
    assert!(out.contains("hostssl all app,bob all cert"), "{out}");
    assert!(out.contains("sslmode=verify-full"), "{out}");

    // quickstart's CRL (nothing revoked), kept before the revocation.
    let first_crl = fs::read(dir.join("root.crl")).unwrap();
    // Revoke app and publish the CRL now (the CA is shared); each version loads the
    // new CRL after its rows before the revocation.
    let ca = dir.join("ca");
    let app = dir.join("clients/app");
    let out = ok(pgtls(&[
        "revoke",
        "--dir",
        ca.to_str().unwrap(),
        "--cert",
        app.join("postgresql.crt").to_str().unwrap(),
        "--reason",
        "keyCompromise",
    ]));
    assert!(out.contains("revoked"), "{out}");
    ok(pgtls(&[
        "crl",
        "--dir",
        ca.to_str().unwrap(),
        "--days",
        "7",
    ]));
    let revoked_crl = fs::read(ca.join("crl.pem")).unwrap();
    pgtls_testkit::rows_on_every_version(|v| run_version(v, &dir, (&first_crl, &revoked_crl)));
}

/// The server of `version` with quickstart's files from `dir`: the rows with the
/// first CRL, then after loading the one that revokes app; returns how many ran (a
/// failed row panics, naming the version).
fn run_version(version: u32, dir: &Path, (first_crl, revoked_crl): (&[u8], &[u8])) -> usize {
    let v = version;
    let mut rows = 0;
    let c = Cluster::builder().version(version).init().unwrap();
    c.copy_files(dir, &["server.crt", "root.crt"], 0o644)
        .unwrap();
    c.copy_files(dir, &["server.key"], 0o600).unwrap();
    c.write_file("root.crl", first_crl, 0o644).unwrap();
    c.append_conf(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         ssl_ca_file = 'root.crt'\nssl_crl_file = 'root.crl'\n",
    )
    .unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n")
        .unwrap();
    let c = c.start_initialized().unwrap();

    let app = dir.join("clients/app");
    let bob = dir.join("clients/bob");
    let o = psql(&c, &app, "app");
    // The role does not exist yet: authentication passed, then the role check fails.
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains("role \"app\" does not exist"), "{v}: {err}");
    rows += 1;
    c.sql("create role app login; create role bob login")
        .unwrap();
    let o = psql(&c, &app, "app");
    assert!(
        o.status.success(),
        "{v}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "app|t", "{v}");
    rows += 1;
    // The certificate of app does not log in as bob (cert auth compares the CN).
    let o = psql(&c, &app, "bob");
    assert!(!o.status.success(), "{v}: app's certificate logs in as bob");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.contains("certificate authentication failed"),
        "{v}: {err}"
    );
    rows += 1;
    // verify-full checks the host name: a name not in the certificate is refused by libpq.
    let wrong = format!(
        "host=other.example.com hostaddr=127.0.0.1 port={} user=app dbname=postgres sslmode=verify-full \
         sslrootcert={d}/root.crt sslcert={d}/postgresql.crt sslkey={d}/postgresql.key",
        c.port(),
        d = app.display()
    );
    let o = c.psql(&["-X", "-c", "select 1"], &wrong, &[]).unwrap();
    assert!(!o.status.success(), "{v}: a wrong host name is accepted");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains("does not match host name"), "{v}: {err}");
    rows += 1;

    c.write_file("root.crl", revoked_crl, 0o644).unwrap();
    c.reload().unwrap();
    let o = psql(&c, &app, "app");
    assert!(!o.status.success(), "{v}: revoked client still accepted");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains("certificate revoked"), "{v}: {err}");
    rows += 1;
    let o = psql(&c, &bob, "bob");
    assert!(
        o.status.success(),
        "{v}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "bob|t", "{v}");
    rows + 1
}
