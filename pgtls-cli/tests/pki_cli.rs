//! The PKI commands' outputs, checked against openssl: inspect (fingerprints, fields,
//! JSON), keys, intermediates with full-chain output, quickstart reruns.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use pgtls_testkit::{openssl, openssl_raw, require_openssl};
use serde_json::Value;

mod pki_support;
use pki_support::{ok, p, pgtls};

fn json(o: Output) -> Value {
    serde_json::from_str(&ok(o)).unwrap()
}

#[test]
fn inspect_agrees_with_openssl() {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let s = d.join("store");
    ok(pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&s),
        "--subject",
        "/O=Inspect/CN=Inspect CA",
        "--path-len",
        "0",
    ]));
    ok(pgtls(&[
        "issue",
        "server",
        "--dir",
        p(&s),
        "--host",
        "db.example.com",
        "--host",
        "10.0.0.7",
        "--days",
        "30",
        "--out-cert",
        p(&d.join("s.crt")),
        "--out-key",
        p(&d.join("s.key")),
        "--key-type",
        "rsa2048",
    ]));
    let v = json(pgtls(&["inspect", p(&d.join("s.crt")), "--json"]));
    assert_eq!(v["kind"], "certificate");
    assert_eq!(v["subject"], "CN=db.example.com");
    assert_eq!(v["issuer"], "O=Inspect, CN=Inspect CA");
    assert_eq!(v["key_type"], "RSA 2048");
    assert_eq!(
        v["subject_alt_names"],
        serde_json::json!(["DNS:db.example.com", "IP:10.0.0.7"])
    );
    assert_eq!(v["extended_key_usage"], serde_json::json!(["serverAuth"]));
    assert_eq!(
        v["key_usage"],
        serde_json::json!(["digitalSignature", "keyEncipherment"])
    );
    // The report describes the certificate, not the moment: days left are in the human text.
    assert!(v.get("days_left").is_none(), "{v}");
    assert_eq!(v["schema_version"], 1);
    let text = ok(pgtls(&["inspect", p(&d.join("s.crt"))]));
    let days: i64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("days left"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no days left line: {text}"));
    assert!(days >= 29, "{text}");
    let fp = openssl(
        d,
        &["x509", "-in", "s.crt", "-noout", "-fingerprint", "-sha256"],
    )
    .unwrap();
    let fp = String::from_utf8_lossy(&fp.stdout)
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(v["sha256_fingerprint"], fp);
    let serial = openssl(d, &["x509", "-in", "s.crt", "-noout", "-serial"]).unwrap();
    assert_eq!(
        format!("serial={}", v["serial"].as_str().unwrap()),
        String::from_utf8_lossy(&serial.stdout).trim()
    );
    // The AKI of the leaf is the CA's SKI.
    let ca = json(pgtls(&["inspect", p(&s.join("cacert.pem")), "--json"]));
    assert_eq!(v["authority_key_identifier"], ca["subject_key_identifier"]);
    assert_eq!(ca["path_len"], 0);
    assert_eq!(ca["is_ca"], true);
    // Human output too.
    let text = ok(pgtls(&["inspect", p(&d.join("s.crt"))]));
    assert!(
        text.contains("DNS:db.example.com") && text.contains("not after"),
        "{text}"
    );

    // Keys: plain, encrypted without and with passphrase.
    let k = json(pgtls(&["inspect", p(&d.join("s.key")), "--json"]));
    assert_eq!(k["kind"], "private_key");
    assert_eq!(k["key_bits"], 2048);
    fs::write(d.join("pw"), "pw\n").unwrap();
    ok(pgtls(&[
        "key",
        "--out",
        p(&d.join("e.key")),
        "--key-type",
        "ed25519",
        "--encrypt",
        "--passphrase-file",
        p(&d.join("pw")),
        "--kdf-iterations",
        "2048",
    ]));
    let mode = fs::metadata(d.join("e.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let out = openssl(
        d,
        &[
            "pkey", "-in", "e.key", "-passin", "pass:pw", "-check", "-noout",
        ],
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
    let e = json(pgtls(&["inspect", p(&d.join("e.key")), "--json"]));
    assert_eq!(e["kind"], "encrypted_private_key");
    let e = json(pgtls(&[
        "inspect",
        p(&d.join("e.key")),
        "--passphrase-file",
        p(&d.join("pw")),
        "--json",
    ]));
    assert_eq!(e["key_type"], "Ed25519");
    assert_eq!(e["encrypted"], true);

    // CSR and CRL.
    ok(pgtls(&[
        "csr",
        "--new-key",
        p(&d.join("c.key")),
        "--subject",
        "/DC=org/DC=example/CN=c",
        "--san",
        "c.example.org",
        "--out",
        p(&d.join("c.csr")),
    ]));
    openssl(d, &["req", "-in", "c.csr", "-verify", "-noout"]).unwrap();
    let c = json(pgtls(&["inspect", p(&d.join("c.csr")), "--json"]));
    assert_eq!(c["subject"], "DC=org, DC=example, CN=c");
    assert_eq!(
        c["requested_subject_alt_names"],
        serde_json::json!(["DNS:c.example.org"])
    );
    ok(pgtls(&[
        "revoke",
        "--dir",
        p(&s),
        "--cert",
        p(&d.join("s.crt")),
        "--reason",
        "cessationOfOperation",
    ]));
    ok(pgtls(&[
        "crl",
        "--dir",
        p(&s),
        "--days",
        "3",
        "--out",
        p(&d.join("x.crl")),
    ]));
    let r = json(pgtls(&["inspect", p(&d.join("x.crl")), "--json"]));
    assert_eq!(r["revoked_count"], 1);
    assert_eq!(r["revoked"][0]["serial"], v["serial"]);
    assert_eq!(r["revoked"][0]["reason"], "cessationOfOperation");
    // The expiry report warns about a CRL that expires within the CRL warning window.
    let o = pgtls(&["expiry", "--dir", p(&s), "--crl-warn-days", "7", "--json"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("CRL"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rep = json(o);
    assert_eq!(rep["certificates"][0]["status"], "revoked");
    assert_eq!(rep["certificates"][0]["expiry"], "revoked");
    assert_eq!(rep["warnings"].as_array().unwrap().len(), 1);
    // --check turns what needs action into exit status 1 (for cron and monitoring), and
    // is quiet when nothing does.
    let o = pgtls(&[
        "expiry",
        "--dir",
        p(&s),
        "--warn-days",
        "7",
        "--crl-warn-days",
        "7",
        "--check",
    ]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("need action within 7 days") && err.contains("CRL"),
        "{err}"
    );
    let o = pgtls(&["expiry", "--dir", p(&s), "--warn-days", "1", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");

    // Garbage is an error naming the file.
    fs::write(d.join("junk.bin"), b"\x00\x01\x02").unwrap();
    let o = pgtls(&["inspect", p(&d.join("junk.bin"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("junk.bin"));
}

#[test]
fn intermediate_ca_and_full_chain() {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let root = d.join("root");
    let mid = d.join("mid");
    ok(pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&root),
        "--cn",
        "Root",
        "--path-len",
        "1",
        "--key-type",
        "p384",
    ]));
    ok(pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&mid),
        "--cn",
        "Intermediate",
        "--days",
        "1000",
        "--path-len",
        "0",
        "--parent",
        p(&root),
    ]));
    ok(pgtls(&[
        "issue",
        "server",
        "--dir",
        p(&mid),
        "--host",
        "db.example.com",
        "--out-cert",
        p(&d.join("s.crt")),
        "--out-key",
        p(&d.join("s.key")),
    ]));
    let chain = fs::read_to_string(d.join("s.crt")).unwrap();
    assert_eq!(
        chain.matches("BEGIN CERTIFICATE").count(),
        2,
        "leaf + intermediate"
    );
    let ca = p(&root.join("cacert.pem")).to_owned();
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            &ca,
            "-untrusted",
            "s.crt",
            "-purpose",
            "sslserver",
            "s.crt",
        ],
    )
    .unwrap();
    // The intermediate is recorded in the root store's index like any issued certificate.
    let rep = json(pgtls(&["expiry", "--dir", p(&root), "--json"]));
    assert_eq!(rep["certificates"][0]["subject"], "/CN=Intermediate");
    // pathlen:0 intermediate cannot make another CA.
    let o = pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&d.join("sub")),
        "--cn",
        "Sub",
        "--days",
        "10",
        "--parent",
        p(&mid),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // An openssl check that fails on a wrong trust anchor.
    let other = d.join("other");
    ok(pgtls(&["ca", "create", "--dir", p(&other), "--cn", "Root"]));
    let o = openssl_raw(
        d,
        &[
            "verify",
            "-CAfile",
            p(&other.join("cacert.pem")),
            "-untrusted",
            "s.crt",
            "s.crt",
        ],
    )
    .unwrap();
    assert!(!o.status.success());
}

#[test]
fn quickstart_reruns_safely() {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("qs");
    let args = [
        "quickstart",
        "--dir",
        p(&dir),
        "--host",
        "db.example.com",
        "--role",
        "app",
        "--json",
    ];
    let v = json(pgtls(&args));
    assert_eq!(v["postgresql_conf"]["ssl"], "on");
    assert_eq!(v["pg_hba"], "hostssl all app all cert");
    assert!(
        v["clients"][0]["conninfo"]
            .as_str()
            .unwrap()
            .contains("sslmode=verify-full")
    );
    for f in [
        "server.key",
        "clients/app/postgresql.key",
        "ca/private/cakey.pem",
    ] {
        assert_eq!(
            fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777,
            0o600,
            "{f}"
        );
    }
    let key = fs::read(dir.join("server.key")).unwrap();
    let ca = fs::read(dir.join("ca/cacert.pem")).unwrap();
    let o = pgtls(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(fs::read(dir.join("server.key")).unwrap(), key);
    let mut forced = args.to_vec();
    forced.push("--force");
    ok(pgtls(&forced));
    assert_ne!(
        fs::read(dir.join("server.key")).unwrap(),
        key,
        "--force makes a new key"
    );
    assert_eq!(
        fs::read(dir.join("ca/cacert.pem")).unwrap(),
        ca,
        "the CA is kept"
    );
    let d = dir.as_path();
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "root.crt",
            "-purpose",
            "sslserver",
            "-verify_hostname",
            "db.example.com",
            "server.crt",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "root.crt",
            "-CRLfile",
            "root.crl",
            "-crl_check",
            "-purpose",
            "sslclient",
            "clients/app/postgresql.crt",
        ],
    )
    .unwrap();
    let rep = json(pgtls(&["expiry", "--dir", p(&dir.join("ca")), "--json"]));
    assert_eq!(rep["certificates"].as_array().unwrap().len(), 4);
}

#[test]
fn import_an_openssl_ca_and_check_key_matches() {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-subj",
            "/DC=org/DC=example/OU=a/OU=b/CN=Imported",
            "-days",
            "50",
            "-out",
            "ca.pem",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "other.key",
        ],
    )
    .unwrap();
    let s = d.join("store");
    let o = pgtls(&[
        "ca",
        "import",
        "--dir",
        p(&s),
        "--cert",
        p(&d.join("ca.pem")),
        "--key",
        p(&d.join("other.key")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("other.key"));
    assert!(!s.exists(), "a refused import creates nothing");
    ok(pgtls(&[
        "ca",
        "import",
        "--dir",
        p(&s),
        "--cert",
        p(&d.join("ca.pem")),
        "--key",
        p(&d.join("ca.key")),
    ]));
    ok(pgtls(&[
        "issue",
        "client",
        "--dir",
        p(&s),
        "--role",
        "app",
        "--days",
        "20",
        "--out-cert",
        p(&d.join("app.crt")),
        "--out-key",
        p(&d.join("app.key")),
    ]));
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslclient",
            "app.crt",
        ],
    )
    .unwrap();
    let out = ok(pgtls(&[
        "inspect",
        p(&d.join("app.key")),
        "--matches",
        p(&d.join("app.crt")),
    ]));
    assert!(out.contains("belongs to"));
    let o = pgtls(&[
        "inspect",
        p(&d.join("other.key")),
        "--matches",
        p(&d.join("app.crt")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not match"));
}

#[test]
fn ca_check_reports_problems_and_repairs_a_lost_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = d.join("ca");
    ok(pgtls(&["ca", "create", "--dir", p(&s), "--cn", "Check CA"]));
    for role in ["alice", "bob"] {
        ok(pgtls(&[
            "issue",
            "client",
            "--dir",
            p(&s),
            "--role",
            role,
            "--days",
            "30",
            "--out-cert",
            p(&d.join(format!("{role}.crt"))),
            "--out-key",
            p(&d.join(format!("{role}.key"))),
        ]));
    }
    let v = json(pgtls(&["ca", "check", "--dir", p(&s), "--json"]));
    assert_eq!(v["problems"], serde_json::json!([]), "{v}");
    assert_eq!(v["certificates"], 2);

    // index.txt loses bob's line (a crash of another tool, a bad restore): check fails
    // and names the certificate; --repair indexes it; then it can be revoked.
    let index = fs::read_to_string(s.join("index.txt")).unwrap();
    let (alice_line, bob_line) = index.split_once('\n').unwrap();
    let bob_serial = bob_line.split('\t').nth(3).unwrap().to_owned();
    fs::write(s.join("index.txt"), format!("{alice_line}\n")).unwrap();
    let o = pgtls(&["ca", "check", "--dir", p(&s), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["problems"][0]["kind"], "unindexed", "{v}");
    assert_eq!(v["problems"][0]["serial"], bob_serial.as_str(), "{v}");
    let o = pgtls(&["revoke", "--dir", p(&s), "--cert", p(&d.join("bob.crt"))]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "an unindexed certificate cannot be revoked"
    );

    let v = json(pgtls(&[
        "ca",
        "check",
        "--dir",
        p(&s),
        "--repair",
        "--json",
    ]));
    assert_eq!(v["repaired"], serde_json::json!([bob_serial]), "{v}");
    assert_eq!(v["problems"], serde_json::json!([]), "{v}");
    ok(pgtls(&[
        "revoke",
        "--dir",
        p(&s),
        "--cert",
        p(&d.join("bob.crt")),
    ]));

    // A revocation without a new CRL, and a CA key open to others: both reported, in
    // the human output too.
    fs::set_permissions(
        s.join("private/cakey.pem"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let o = pgtls(&["ca", "check", "--dir", p(&s)]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("read the CA key"), "{out}");
    assert!(out.contains("crl.pem: missing, yet"), "{out}");
    fs::set_permissions(
        s.join("private/cakey.pem"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    ok(pgtls(&["crl", "--dir", p(&s)]));
    ok(pgtls(&["ca", "check", "--dir", p(&s)]));

    // The store is moved (or restored elsewhere): its openssl.cnf still names the old
    // directory, where `openssl ca -config` would go on working. Check says so; --repair
    // rewrites it, and openssl then works on the moved store.
    let moved = d.join("moved-ca");
    fs::rename(&s, &moved).unwrap();
    let o = pgtls(&["ca", "check", "--dir", p(&moved), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["problems"][0]["kind"], "openssl_cnf", "{v}");
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&s.canonicalize().unwrap_or(s.clone()).display().to_string())
            || v["problems"][0]["message"]
                .as_str()
                .unwrap()
                .contains(&s.display().to_string()),
        "{v}"
    );
    let v = json(pgtls(&[
        "ca",
        "check",
        "--dir",
        p(&moved),
        "--repair",
        "--json",
    ]));
    assert_eq!(v["openssl_cnf_rewritten"], true, "{v}");
    assert_eq!(v["problems"], serde_json::json!([]), "{v}");
    let cnf = moved.join("openssl.cnf");
    let crl = d.join("openssl-after-move.crl");
    let o = openssl(
        d,
        &[
            "ca",
            "-batch",
            "-config",
            p(&cnf),
            "-gencrl",
            "-out",
            p(&crl),
        ],
    )
    .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        fs::read_to_string(moved.join("crlnumber")).unwrap().trim(),
        "03",
        "openssl ca did not use the moved store's crlnumber"
    );
    ok(pgtls(&["ca", "check", "--dir", p(&moved)]));
}
