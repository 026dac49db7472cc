//! `LibpqVerifier` checks the name of the host actually being connected to (issue 15),
//! and its refusals carry libpq's message.
//!
//! Live part: a real PostgreSQL 15 server (pgtls-testkit) serving an openssl-made chain
//! for `db.example.test` (and IP 127.0.0.1); rustls connects with a verifier built from one
//! conninfo and the `ServerName` of the host it connects to, and psql connects to that host
//! (`hostaddr=127.0.0.1`): both must connect, or both refuse (with libpq's message where
//! libpq has one).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use pgtls_testkit::Cluster;
use pgtls_verify::{Env, LibpqRejection, LibpqVerifier, Params, PgVersion, libpq_message, probe};
use rustls::client::danger::ServerCertVerifier;
use rustls_pki_types::{ServerName, UnixTime};

/// rustls with a verifier built from `conninfo`, connecting to `name`.
fn via_rustls(port: u16, conninfo: &str, name: &str) -> Result<(), String> {
    let params = Params::parse_conninfo(conninfo).unwrap();
    let verifier = LibpqVerifier::new(&params, &Env::empty(), PgVersion::V15)
        .map_err(|r| format!("no verifier: {r}"))?;
    let config = probe::client_config(Arc::new(verifier), false).unwrap();
    let mut tls = probe::connect_tls(
        "127.0.0.1",
        port,
        probe::server_name_for(name),
        Arc::new(config),
        false,
    )
    .map_err(|e| {
        libpq_message(&e)
            .map(str::to_string)
            .unwrap_or_else(|| format!("no libpq message in {e:?}"))
    })?;
    probe::startup(&mut tls, "postgres", "postgres")
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// psql: Ok(()) or Err(first failure message after `failed: `).
fn via_psql(c: &Cluster, conninfo: &str, home: &Path) -> Result<(), String> {
    let ci = format!(
        "{conninfo} hostaddr=127.0.0.1 port={} user=postgres dbname=postgres",
        c.port()
    );
    let home = home.display().to_string();
    let out = c
        .psql(&["-X", "-Atc", "select 1"], &ci, &[("HOME", home.as_str())])
        .unwrap();
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or_default();
    Err(first.split(" failed: ").nth(1).unwrap_or(first).to_string())
}

const MISMATCH: &str = "is not the host this verifier was built for";

#[test]
fn the_verifier_checks_the_host_being_connected_to() {
    let tmp = common::fixtures();
    let dir = tmp.path();
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let c = Cluster::init().unwrap();
    let mut served = read("leaf.pem");
    served.extend(read("int.pem"));
    c.write_file("server.crt", &served, 0o644).unwrap();
    c.write_file("server.key", &read("leaf.key"), 0o600)
        .unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    let c = c.start_initialized().unwrap();
    let root = dir.join("root.pem").display().to_string();
    let full = format!("sslmode=verify-full sslrootcert={root}");

    // Issue 15's false accept: a verifier built for the certificate's host, used for a
    // connection to another host. libpq, connecting to that host, refuses.
    let psql_other = via_psql(&c, &format!("host=other.test {full}"), &home);
    assert!(
        psql_other
            .as_ref()
            .is_err_and(|m| m.contains("does not match host name \"other.test\"")),
        "psql: {psql_other:?}"
    );
    let got = via_rustls(
        c.port(),
        &format!("host=db.example.test {full}"),
        "other.test",
    );
    assert!(
        got.as_ref().is_err_and(|m| m.contains(MISMATCH)),
        "a verifier for db.example.test connecting to other.test: {got:?}"
    );

    // Settings where libpq's verdict applies as is: (verifier conninfo, ServerName,
    // psql conninfo for the host connected to).
    let cases: Vec<(String, &str, String)> = vec![
        // No host configured: the ServerName is the host.
        (
            full.clone(),
            "other.test",
            format!("host=other.test {full}"),
        ),
        (
            full.clone(),
            "db.example.test",
            format!("host=db.example.test {full}"),
        ),
        (full.clone(), "127.0.0.1", format!("host=127.0.0.1 {full}")),
        // The configured host, in another case; one host of a list.
        (
            format!("host=db.example.test {full}"),
            "DB.Example.TEST",
            format!("host=DB.Example.TEST {full}"),
        ),
        (
            format!("host=other.test,db.example.test {full}"),
            "db.example.test",
            format!("host=db.example.test {full}"),
        ),
        (
            format!("host=db.example.test,other.test {full}"),
            "other.test",
            format!("host=other.test {full}"),
        ),
        // verify-ca checks no name.
        (
            format!("host=other.test sslmode=verify-ca sslrootcert={root}"),
            "db.example.test",
            format!("host=db.example.test sslmode=verify-ca sslrootcert={root}"),
        ),
    ];
    let mut wrong = Vec::new();
    for (verifier, name, psql) in &cases {
        let want = via_psql(&c, psql, &home);
        let got = via_rustls(c.port(), verifier, name);
        if want != got {
            wrong.push(format!(
                "verifier {verifier:?} to {name}: psql {want:?}, rustls {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // hostaddr only: libpq has no host name of the connection to check, whatever the
    // ServerName. (psql then compares its default Unix-socket directory and refuses with
    // that name; pgtls says `host name must be specified`: KNOWN-DIVERGENCES.md.)
    let psql = via_psql(&c, &full, &home);
    assert!(psql.is_err(), "{psql:?}");
    let got = via_rustls(
        c.port(),
        &format!("hostaddr=127.0.0.1 {full}"),
        "db.example.test",
    );
    assert_eq!(
        got,
        Err("host name must be specified for a verified SSL connection".to_string())
    );
    // A ServerName outside the list is refused.
    let got = via_rustls(
        c.port(),
        &format!("host=db.example.test,other.test {full}"),
        "third.test",
    );
    assert!(got.is_err_and(|m| m.contains(MISMATCH)));
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Every refusal carries libpq's message: Display of the rejection is the message, and
/// `libpq_message` finds it through rustls::Error and std::io::Error.
#[test]
fn refusals_carry_libpqs_message() {
    let tmp = common::fixtures();
    let dir = tmp.path();
    let der = |n: &str| {
        pgtls_verify::read_chain_file(&dir.join(n))
            .unwrap()
            .remove(0)
    };
    let leaf = der("leaf.pem");
    let int = der("int.pem");
    let root = dir.join("root.pem").display().to_string();
    let name = ServerName::try_from("db.example.test").unwrap();
    let verifier = |ci: &str| {
        LibpqVerifier::new(
            &Params::parse_conninfo(ci).unwrap(),
            &Env::empty(),
            PgVersion::V15,
        )
        .unwrap()
    };
    let v = verifier(&format!(
        "host=db.example.test sslmode=verify-full sslrootcert={root}"
    ));
    let at = |secs: u64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    // Expired (825 days of validity), not yet valid, no intermediate.
    for (when, chain, reason) in [
        (
            now() + 900 * 86_400,
            vec![int.clone()],
            pgtls_verify::X509Reason::CertHasExpired,
        ),
        (
            now() - 86_400,
            vec![int.clone()],
            pgtls_verify::X509Reason::CertNotYetValid,
        ),
    ] {
        let e = v
            .verify_server_cert(&leaf, &chain, &name, &[], at(when))
            .unwrap_err();
        assert_eq!(
            libpq_message(&e),
            Some("SSL error: certificate verify failed"),
            "{e:?}"
        );
        let rustls::Error::InvalidCertificate(rustls::CertificateError::Other(o)) = &e else {
            panic!("{e:?}")
        };
        let r = o.0.downcast_ref::<LibpqRejection>().unwrap();
        assert_eq!(r.reason, Some(reason));
        assert_eq!(r.to_string(), "SSL error: certificate verify failed");
        assert_eq!(
            format!("{r:#}"),
            format!("SSL error: certificate verify failed ({})", reason.text())
        );
        // rustls's own Display shows CertificateError::Other in its Debug form.
        assert!(
            e.to_string()
                .contains("message: \"SSL error: certificate verify failed\""),
            "{e}"
        );
        // Wrapped as tokio-rustls and StreamOwned wrap it.
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, e.clone());
        assert_eq!(
            libpq_message(&io),
            Some("SSL error: certificate verify failed")
        );
    }
    // The right host is accepted; another (no host configured: the ServerName is the
    // host) is refused with libpq's host-name message.
    let e = v
        .verify_server_cert(
            &leaf,
            std::slice::from_ref(&int),
            &ServerName::try_from("db.example.test").unwrap(),
            &[],
            at(now()),
        )
        .map(|_| ());
    assert!(e.is_ok());
    let v = verifier(&format!("sslmode=verify-full sslrootcert={root}"));
    let e = v
        .verify_server_cert(
            &leaf,
            &[int],
            &ServerName::try_from("other.test").unwrap(),
            &[],
            at(now()),
        )
        .unwrap_err();
    assert_eq!(
        libpq_message(&e),
        Some(
            "server certificate for \"db.example.test\" (and 1 other name) does not match host name \"other.test\""
        )
    );
    // A verifier that cannot be built: the Refusal is found too.
    let r = LibpqVerifier::new(
        &Params::parse_conninfo("sslmode=verify-full sslrootcert=/nonexistent/root.crt").unwrap(),
        &Env::empty(),
        PgVersion::V15,
    )
    .unwrap_err();
    assert!(libpq_message(&r).is_some_and(|m| m.starts_with("root certificate file")));
    assert_eq!(libpq_message(&std::io::Error::other("x")), None);
}
