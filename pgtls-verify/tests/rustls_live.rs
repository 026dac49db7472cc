//! The rustls adapter and the probe against real PostgreSQL servers of each version
//! (`PGTLS_PG_VERSIONS`; 12 and 13 count as 14, whose libpq talks to them), one
//! pgtls-testkit cluster per version, with openssl-made certificates: each connection
//! setting is tried with rustls + `LibpqVerifier` (that version's rules) and with psql/libpq
//! of the same version, and both must agree (connect, or refuse with libpq's message). On
//! 15 (or with `PGTLS_PG_MATRIX=full`) the transport part runs whole; elsewhere its sample:
//! every server key type and `ssl_ecdh_curve` over TLS 1.3 and the TLS 1.2 suites, without
//! the key types and curves over TLS 1.2.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use pgtls_testkit::Cluster;
use pgtls_verify::{Env, LibpqVerifier, Params, PgVersion, probe};

/// rustls: Ok(first backend message type) or Err(libpq-style message).
fn via_rustls(c: &Cluster, conninfo: &str) -> Result<u8, String> {
    let params = Params::parse_conninfo(conninfo).unwrap();
    let env = Env::empty();
    let version = PgVersion::new(c.client_build().major).unwrap();
    let verifier = LibpqVerifier::new(&params, &env, version).map_err(|r| r.message)?;
    let config = probe::client_config(Arc::new(verifier), false).unwrap();
    let host = params.host.unwrap();
    let mut tls = probe::connect_tls(
        "127.0.0.1",
        c.port(),
        probe::server_name_for(&host),
        Arc::new(config),
        false,
    )
    .map_err(|e| match e {
        probe::ProbeError::Tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Other(o),
        )) => o.0.to_string(),
        other => format!("{other:?}"),
    })?;
    probe::startup(&mut tls, "postgres", "postgres")
        .map(|(k, _)| k)
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

/// One cluster per version for both parts; each version prints its rows.
#[test]
fn rustls_and_probe_agree_with_libpq_every_version() {
    let mut versions: Vec<u32> = pgtls_testkit::pg_versions()
        .unwrap()
        .into_iter()
        .map(pgtls_testkit::client_major)
        .collect();
    versions.dedup();
    let mut failures = Vec::new();
    for v in versions {
        let start = std::time::Instant::now();
        let tmp = common::fixtures();
        let (c, rows, mut f) = verifier_part(v, tmp.path());
        let (connected, mut g) =
            transport_part(c, tmp.path(), pgtls_testkit::full_matrix(v).unwrap());
        println!(
            "libpq {v}: verifier {rows} rows, transport {connected} connections, {} differ, {:.0?}",
            f.len() + g.len(),
            start.elapsed()
        );
        if rows == 0 || connected == 0 {
            failures.push(format!("libpq {v}: no rows"));
        }
        failures.append(&mut f);
        failures.append(&mut g);
    }
    assert!(
        failures.is_empty(),
        "rustls + LibpqVerifier and libpq disagree:\n{}",
        failures.join("\n")
    );
}

/// The verifier, the CRL rules and the probe's capture on a server of `version`: the
/// cluster (serving a v1 certificate at the end), the rows run, and the differences.
fn verifier_part(version: u32, dir: &Path) -> (Cluster, usize, Vec<String>) {
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let pgv = PgVersion::new(version).unwrap();
    let mut rows = 0;

    let c = Cluster::builder().version(version).init().unwrap();
    let mut served = read("leaf.pem");
    served.extend(read("int.pem"));
    c.write_file("server.crt", &served, 0o644).unwrap();
    c.write_file("server.key", &read("leaf.key"), 0o600)
        .unwrap();
    c.write_file("root.crt", &read("root.pem"), 0o644).unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'root.crt'\n")
        .unwrap();
    let c = c.start_initialized().unwrap();

    let root = dir.join("root.pem").display().to_string();
    let root2 = dir.join("root2.pem").display().to_string();
    let cases: Vec<(String, bool)> = vec![
        (
            format!("host=db.example.test sslmode=verify-full sslrootcert={root}"),
            true,
        ),
        // The leaf's iPAddress SAN 127.0.0.1: matched from 15, ignored by libpq 14
        // (measured: both refuse there, with the same text).
        (
            format!("host=127.0.0.1 sslmode=verify-full sslrootcert={root}"),
            version >= 15,
        ),
        (
            format!("host=other.example.test sslmode=verify-full sslrootcert={root}"),
            false,
        ),
        (
            format!("host=other.example.test sslmode=verify-ca sslrootcert={root}"),
            true,
        ),
        (
            format!("host=db.example.test sslmode=verify-ca sslrootcert={root2}"),
            false,
        ),
        (
            format!("host=db.example.test sslmode=require sslrootcert={root2}"),
            false,
        ),
        ("host=db.example.test sslmode=require".to_string(), true),
        (
            format!(
                "host=db.example.test sslmode=verify-ca sslrootcert={}",
                dir.join("missing.pem").display()
            ),
            false,
        ),
    ];
    let mut failures = Vec::new();
    for (ci, want_ok) in &cases {
        rows += 1;
        let r = via_rustls(&c, ci);
        let p = via_psql(&c, ci, &home);
        match (&r, &p) {
            (Ok(b'R'), Ok(())) if *want_ok => {}
            (Err(rm), Err(pm))
                if !*want_ok
                    && pm.starts_with(
                        rm.lines().next().unwrap_or("?").split(" (").next().unwrap(),
                    ) => {}
            _ => failures.push(format!(
                "libpq {version}: {ci}: rustls {r:?} / psql {p:?} (expected ok={want_ok})"
            )),
        }
    }

    // CRL parameters that do not load: libpq's verdict vs pgtls verify_server
    // (a missing sslcrl is ignored; a CRL directory is a lookup path and turns
    // CRL checking on even when it does not exist; a failing sslcrl file keeps
    // the directory from being added).
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let served_chain = pgtls_verify::read_chain_pem(&served).unwrap();
    for extra in [
        "sslcrldir=/nonexistent-pgtls",
        "sslcrl=/nonexistent-pgtls",
        "sslcrl=/nonexistent-pgtls sslcrldir=/nonexistent-pgtls",
    ] {
        let ci = format!("host=db.example.test sslmode=verify-ca sslrootcert={root} {extra}");
        rows += 1;
        let p = via_psql(&c, &ci, &home);
        let v = pgtls_verify::verify_server(
            &Params::parse_conninfo(&ci).unwrap(),
            &Env::empty(),
            pgv,
            &served_chain,
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(now).unwrap_or(0),
            )),
        )
        .unwrap();
        let agree = match &p {
            Ok(()) => v.accepted(),
            Err(m) => !v.accepted() && v.message() == Some(m.as_str()),
        };
        if !agree {
            failures.push(format!(
                "libpq {version}: {ci}: psql {p:?} / pgtls {:?}",
                v.message()
            ));
        }
    }

    // The probe sees the served chain and the client-CA list (ssl_ca_file).
    let cap = probe::capture("127.0.0.1", c.port(), false).unwrap();
    assert_eq!(cap.chain.len(), 2);
    assert_eq!(cap.chain, pgtls_verify::read_chain_pem(&served).unwrap());
    let cas = cap
        .client_ca_names
        .clone()
        .expect("the server asks for a client certificate");
    assert_eq!(
        cas.iter().map(|n| probe::dn_text(n)).collect::<Vec<_>>(),
        vec!["CN=Test Root".to_string()]
    );
    let mut base = Params::default();
    base.host = Some("db.example.test".into());
    base.sslrootcert = Some(dir.join("root.pem"));
    let modes = probe::evaluate_modes(
        &cap,
        &base,
        &Env::empty(),
        pgv,
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now).unwrap_or(0),
        )),
    )
    .unwrap();
    assert_eq!(modes.len(), 6);
    let (disable, tls_modes) = modes.split_first().unwrap();
    assert_eq!(disable.0, pgtls_verify::SslMode::Disable);
    assert_eq!(disable.1.message(), Some(pgtls_verify::DISABLE_MESSAGE));
    assert!(tls_modes.iter().all(|(_, v)| v.accepted()), "{modes:?}");

    // A v1, CN-only server certificate (rustls-webpki rejects it, libpq accepts it).
    c.write_file("server.crt", &read("leafv1.pem"), 0o644)
        .unwrap();
    c.write_file("server.key", &read("leafv1.key"), 0o600)
        .unwrap();
    let c = c.restart().unwrap();
    for (ci, want_ok) in [
        (
            format!("host=db.example.test sslmode=verify-full sslrootcert={root}"),
            true,
        ),
        (
            format!("host=wrong.example.test sslmode=verify-full sslrootcert={root}"),
            false,
        ),
    ] {
        rows += 1;
        let r = via_rustls(&c, &ci);
        let p = via_psql(&c, &ci, &home);
        let agree = match (&r, &p) {
            (Ok(b'R'), Ok(())) => want_ok,
            (Err(rm), Err(pm)) => !want_ok && rm == pm,
            _ => false,
        };
        if !agree {
            failures.push(format!(
                "libpq {version}: v1 {ci}: rustls {r:?} / psql {p:?}"
            ));
        }
    }
    (c, rows, failures)
}

/// The transport around the verifier, against a real server: every server key
/// type (handshake signatures), every `ssl_ecdh_curve` (key exchange), TLS 1.3
/// and 1.2, and TLS 1.2 cipher suites. rustls + `LibpqVerifier` on
/// `probe::client_config` must connect where psql connects, except for what
/// KNOWN-DIVERGENCES.md lists (Ed448 and id-RSASSA-PSS keys; CBC, DHE and
/// RSA-key-exchange suites), where it must fail the handshake (a false reject,
/// never a false accept). A case psql cannot connect in fails the test: it
/// would prove nothing.
fn transport_part(c: Cluster, dir: &Path, full: bool) -> (usize, Vec<String>) {
    let version = c.client_build().major;
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    // An openssl command line (no file name here has a space).
    let ossl = |line: &str| {
        let args: Vec<&str> = line.split_whitespace().collect();
        pgtls_testkit::openssl(dir, &args).unwrap();
    };
    // A server certificate for the key file `key`, from the fixture root.
    let issue = |key: &str, out: &str| {
        ossl(&format!(
            "req -new -key {key} -subj /CN=db.example.test -out {out}.csr"
        ));
        ossl(&format!(
            "x509 -req -in {out}.csr -CA root.pem -CAkey root.key -days 2 -extfile srv.ext -extensions v3 -out {out}"
        ));
    };
    // (name, genpkey arguments, rustls connects over TLS 1.3, over TLS 1.2).
    // P-521 over TLS 1.2 needs secp521r1 among the client's groups (OpenSSL
    // takes them as the curves it may use for the certificate, RFC 8422 5.1):
    // rustls' aws-lc-rs provider has none, `provider::crypto_provider` adds it.
    let kinds = [
        (
            "rsa2048",
            "-algorithm RSA -pkeyopt rsa_keygen_bits:2048",
            true,
            true,
        ),
        (
            "rsapss",
            "-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048",
            false,
            false,
        ),
        (
            "p256",
            "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
            true,
            true,
        ),
        (
            "p384",
            "-algorithm EC -pkeyopt ec_paramgen_curve:P-384",
            true,
            true,
        ),
        (
            "p521",
            "-algorithm EC -pkeyopt ec_paramgen_curve:P-521",
            true,
            true,
        ),
        ("ed25519", "-algorithm ED25519", true, true),
        ("ed448", "-algorithm ED448", false, false),
    ];
    // The cluster of verifier_part, already with ssl on and ssl_ca_file.
    let ci = format!(
        "host=db.example.test sslmode=verify-full sslrootcert={}",
        dir.join("root.pem").display()
    );
    // Serves `cert` and `key` with `conf` appended (a later setting wins),
    // then connects through psql and through rustls.
    let attempt = |cert: &str, key: &str, conf: &str| {
        c.write_file("server.crt", &read(cert), 0o644).unwrap();
        c.write_file("server.key", &read(key), 0o600).unwrap();
        c.append_conf(conf).unwrap();
        c.reload().unwrap();
        (via_psql(&c, &ci, &home), via_rustls(&c, &ci))
    };
    let mut failures = Vec::new();
    let mut connected = 0;
    // psql must connect; rustls as `rustls_connects` says.
    let mut judge = |what: String,
                     (p, r): (Result<(), String>, Result<u8, String>),
                     rustls_connects: bool| {
        match (&p, &r) {
                (Ok(()), Ok(b'R')) if rustls_connects => connected += 1,
                (Ok(()), Err(_)) if !rustls_connects => {}
                _ => failures.push(format!(
                    "libpq {version}: {what}: psql {p:?} / rustls {r:?} (rustls should connect: {rustls_connects})"
                )),
            }
    };
    for tls in ["TLSv1.3", "TLSv1.2"] {
        if tls == "TLSv1.2" && !full {
            continue;
        }
        let versions =
            format!("ssl_min_protocol_version = '{tls}'\nssl_max_protocol_version = '{tls}'\n");
        for (name, genpkey, over13, over12) in kinds {
            let (key, cert) = (format!("k-{name}.key"), format!("k-{name}.pem"));
            ossl(&format!("genpkey {genpkey} -out {key}"));
            issue(&key, &cert);
            let conf = format!("ssl_ecdh_curve = 'prime256v1'\n{versions}");
            let over = if tls == "TLSv1.3" { over13 } else { over12 };
            judge(
                format!("{name} key, {tls}"),
                attempt(&cert, &key, &conf),
                over,
            );
        }
        // ssl_ecdh_curve: the one group the server does ECDHE on (OpenSSL 3
        // offers no other). rustls must connect with each (secp521r1 is not in
        // rustls' aws-lc-rs provider).
        for curve in ["prime256v1", "secp384r1", "secp521r1"] {
            let conf = format!("ssl_ecdh_curve = '{curve}'\n{versions}");
            let result = attempt("leafd.pem", "leafd.key", &conf);
            judge(format!("ssl_ecdh_curve {curve}, {tls}"), result, true);
        }
    }
    // TLS 1.2 cipher suites (`ssl_ciphers`): rustls has ECDHE with AES-GCM or
    // ChaCha20-Poly1305 only; a server restricted to CBC, DHE or RSA key
    // exchange suites refuses it where psql connects (KNOWN-DIVERGENCES.md).
    issue("k-rsa2048.key", "krsa.pem");
    let tls12 = "ssl_ecdh_curve = 'prime256v1'\nssl_min_protocol_version = 'TLSv1.2'\nssl_max_protocol_version = 'TLSv1.2'\n";
    for (cert, key, suites, rustls_connects) in [
        (
            "leafd.pem",
            "leafd.key",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            true,
        ),
        (
            "leafd.pem",
            "leafd.key",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            true,
        ),
        ("leafd.pem", "leafd.key", "ECDHE-ECDSA-AES128-SHA256", false),
        ("leafd.pem", "leafd.key", "ECDHE-ECDSA-AES256-SHA", false),
        (
            "krsa.pem",
            "k-rsa2048.key",
            "ECDHE-RSA-AES256-GCM-SHA384",
            true,
        ),
        (
            "krsa.pem",
            "k-rsa2048.key",
            "DHE-RSA-AES256-GCM-SHA384",
            false,
        ),
        ("krsa.pem", "k-rsa2048.key", "AES256-GCM-SHA384", false),
    ] {
        let result = attempt(cert, key, &format!("{tls12}ssl_ciphers = '{suites}'\n"));
        judge(format!("ssl_ciphers {suites}"), result, rustls_connects);
    }
    if !failures.is_empty() {
        failures.push(format!(
            "server log of libpq {version}'s server:\n{}",
            c.log()
        ));
    }
    // 5 key types and 3 curves per TLS version, 3 suites.
    let want = if full { 19 } else { 11 };
    if connected != want {
        failures.push(format!(
            "libpq {version}: {connected} connections through rustls, expected {want}"
        ));
    }
    (connected, failures)
}
