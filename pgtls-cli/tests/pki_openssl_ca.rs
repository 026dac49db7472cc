//! One store, two tools: `openssl ca` revokes and publishes CRLs on a pgtls store, and
//! pgtls issues, revokes and publishes CRLs on a store `openssl ca` made (whose CA subject
//! has two DC= attributes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::process::Output;

use pgtls_testkit::{openssl, openssl_raw, require_openssl};

mod pki_support;
use pki_support::{ok, p, pgtls};

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn openssl_ca_revokes_and_publishes_on_a_pgtls_store() {
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
        "/DC=org/DC=example/CN=Store CA",
    ]));
    let cnf = s.join("openssl.cnf");
    let app_crt = d.join("app.crt");
    let app_key = d.join("app.key");
    ok(pgtls(&[
        "issue",
        "client",
        "--dir",
        p(&s),
        "--role",
        "app",
        "--out-cert",
        p(&app_crt),
        "--out-key",
        p(&app_key),
        "--days",
        "30",
    ]));
    let bob_crt = d.join("bob.crt");
    ok(pgtls(&[
        "issue",
        "client",
        "--dir",
        p(&s),
        "--role",
        "bob",
        "--out-cert",
        p(&bob_crt),
        "--out-key",
        p(&d.join("bob.key")),
        "--days",
        "30",
    ]));
    // openssl ca can also issue on the store.
    openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "o.key",
            "-subj",
            "/CN=carol",
            "-out",
            "o.csr",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "ca",
            "-batch",
            "-config",
            p(&cnf),
            "-in",
            "o.csr",
            "-out",
            "carol.crt",
            "-days",
            "10",
        ],
    )
    .unwrap();
    openssl(
        d,
        &["verify", "-CAfile", p(&s.join("cacert.pem")), "carol.crt"],
    )
    .unwrap();

    openssl(
        d,
        &[
            "ca",
            "-config",
            p(&cnf),
            "-revoke",
            p(&app_crt),
            "-crl_reason",
            "keyCompromise",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "ca",
            "-config",
            p(&cnf),
            "-gencrl",
            "-out",
            p(&s.join("crl.pem")),
        ],
    )
    .unwrap();
    let ca = p(&s.join("cacert.pem")).to_owned();
    let crl = p(&s.join("crl.pem")).to_owned();
    let o = openssl_raw(
        d,
        &[
            "verify",
            "-CAfile",
            &ca,
            "-CRLfile",
            &crl,
            "-crl_check",
            p(&app_crt),
        ],
    )
    .unwrap();
    assert!(text(&o).contains("certificate revoked"), "{}", text(&o));
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            &ca,
            "-CRLfile",
            &crl,
            "-crl_check",
            p(&bob_crt),
        ],
    )
    .unwrap();

    // pgtls reads what openssl wrote: the index shows app revoked, carol valid.
    let report = ok(pgtls(&[
        "expiry",
        "--dir",
        p(&s),
        "--warn-days",
        "7",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    let rows = v["certificates"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let status = |cn: &str| {
        rows.iter()
            .find(|r| r["subject"] == format!("/CN={cn}"))
            .map(|r| r["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status("app"), "revoked");
    assert_eq!(status("bob"), "valid");
    assert_eq!(status("carol"), "valid");
    // Revoking twice is refused, whoever revoked first.
    let o = pgtls(&["revoke", "--dir", p(&s), "--cert", p(&app_crt)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("already revoked"), "{}", text(&o));
    // pgtls revokes carol (issued by openssl) and publishes: the CRL number follows openssl's.
    ok(pgtls(&[
        "revoke",
        "--dir",
        p(&s),
        "--cert",
        &d.join("carol.crt").display().to_string(),
        "--reason",
        "superseded",
    ]));
    let out = ok(pgtls(&["crl", "--dir", p(&s), "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["crl_number"], "02", "{out}");
    assert_eq!(v["revoked"], 2);
    // The store both tools wrote is sound by `pgtls ca check`.
    let v: serde_json::Value =
        serde_json::from_str(&ok(pgtls(&["ca", "check", "--dir", p(&s), "--json"]))).unwrap();
    assert_eq!(v["problems"], serde_json::json!([]), "{v}");
    assert_eq!(
        (v["indexed"].as_u64(), v["revoked"].as_u64()),
        (Some(3), Some(2)),
        "{v}"
    );
    let o = openssl(d, &["crl", "-in", &crl, "-CAfile", &ca, "-noout", "-text"]).unwrap();
    let t = text(&o);
    assert!(
        t.contains("verify OK") && t.contains("Key Compromise") && t.contains("Superseded"),
        "{t}"
    );
    let o = openssl_raw(
        d,
        &[
            "verify",
            "-CAfile",
            &ca,
            "-CRLfile",
            &crl,
            "-crl_check",
            "carol.crt",
        ],
    )
    .unwrap();
    assert!(text(&o).contains("certificate revoked"), "{}", text(&o));
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            &ca,
            "-CRLfile",
            &crl,
            "-crl_check",
            p(&bob_crt),
        ],
    )
    .unwrap();
    // And openssl ca still reads the index pgtls rewrote.
    openssl(
        d,
        &["ca", "-config", p(&cnf), "-gencrl", "-out", "again.pem"],
    )
    .unwrap();
    let t = text(&openssl(d, &["crl", "-in", "again.pem", "-noout", "-text"]).unwrap());
    assert!(
        t.contains("Superseded") && t.contains("Key Compromise"),
        "{t}"
    );
}

#[test]
fn pgtls_works_on_a_store_openssl_made_with_two_dc() {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let s = d.join("demoCA");
    fs::create_dir_all(s.join("newcerts")).unwrap();
    fs::create_dir_all(s.join("private")).unwrap();
    fs::write(s.join("index.txt"), "").unwrap();
    fs::write(s.join("serial"), "1000\n").unwrap();
    fs::write(s.join("crlnumber"), "1000\n").unwrap();
    let cnf = format!(
        "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndir = {}\nnew_certs_dir = $dir/newcerts\n\
         database = $dir/index.txt\nserial = $dir/serial\ncrlnumber = $dir/crlnumber\n\
         certificate = $dir/cacert.pem\nprivate_key = $dir/private/cakey.pem\ndefault_md = sha256\n\
         default_days = 30\ndefault_crl_days = 7\npolicy = pol\nx509_extensions = leaf\n\
         [ pol ]\ncommonName = supplied\n[ leaf ]\nbasicConstraints = CA:FALSE\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\nextendedKeyUsage = clientAuth\n",
        s.display()
    );
    fs::write(d.join("ca.cnf"), cnf).unwrap();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "demoCA/private/cakey.pem",
            "-subj",
            "/DC=org/DC=example/CN=Legacy CA",
            "-days",
            "100",
            "-out",
            "demoCA/cacert.pem",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "old.key",
            "-subj",
            "/CN=old",
            "-out",
            "old.csr",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "ca", "-batch", "-config", "ca.cnf", "-in", "old.csr", "-out", "old.crt",
        ],
    )
    .unwrap();

    let store = p(&s);
    let new_crt = d.join("new.crt");
    ok(pgtls(&[
        "issue",
        "client",
        "--dir",
        store,
        "--role",
        "new",
        "--days",
        "30",
        "--out-cert",
        p(&new_crt),
        "--out-key",
        p(&d.join("new.key")),
    ]));
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "demoCA/cacert.pem",
            "-purpose",
            "sslclient",
            p(&new_crt),
        ],
    )
    .unwrap();
    let issuer = openssl(
        d,
        &[
            "x509",
            "-in",
            p(&new_crt),
            "-noout",
            "-issuer",
            "-nameopt",
            "RFC2253",
        ],
    )
    .unwrap();
    let subject = openssl(
        d,
        &[
            "x509",
            "-in",
            "demoCA/cacert.pem",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
        ],
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&issuer.stdout).replace("issuer=", ""),
        String::from_utf8_lossy(&subject.stdout).replace("subject=", "")
    );
    assert!(String::from_utf8_lossy(&subject.stdout).contains("DC=example,DC=org"));
    // A leaf that would outlive the CA is refused (exit 1) and nothing is recorded.
    let index_before = fs::read(s.join("index.txt")).unwrap();
    let o = pgtls(&[
        "issue",
        "client",
        "--dir",
        store,
        "--role",
        "long",
        "--days",
        "400",
        "--out-cert",
        p(&d.join("l.crt")),
        "--out-key",
        p(&d.join("l.key")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("after its issuer"), "{}", text(&o));
    assert_eq!(fs::read(s.join("index.txt")).unwrap(), index_before);
    assert!(!d.join("l.key").exists());

    let old = d.join("old.crt");
    ok(pgtls(&[
        "revoke",
        "--dir",
        store,
        "--cert",
        p(&old),
        "--reason",
        "superseded",
    ]));
    let out = ok(pgtls(&["crl", "--dir", store, "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["crl_number"], "1000");
    let crl = p(&s.join("crl.pem")).to_owned();
    let o = openssl_raw(
        d,
        &[
            "verify",
            "-CAfile",
            "demoCA/cacert.pem",
            "-CRLfile",
            &crl,
            "-crl_check",
            "old.crt",
        ],
    )
    .unwrap();
    assert!(text(&o).contains("certificate revoked"), "{}", text(&o));
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "demoCA/cacert.pem",
            "-CRLfile",
            &crl,
            "-crl_check",
            p(&new_crt),
        ],
    )
    .unwrap();
    assert_eq!(fs::read_to_string(s.join("crlnumber")).unwrap(), "1001\n");
    let v: serde_json::Value =
        serde_json::from_str(&ok(pgtls(&["ca", "check", "--dir", store, "--json"]))).unwrap();
    assert_eq!(v["problems"], serde_json::json!([]), "{v}");
    // openssl ca reads the index pgtls wrote and issues the next CRL number.
    openssl(d, &["ca", "-config", "ca.cnf", "-gencrl", "-out", "o.crl"]).unwrap();
    let t = text(&openssl(d, &["crl", "-in", "o.crl", "-noout", "-text"]).unwrap());
    // crlnumber 1001 (hex) = 4097: the number after the one pgtls used.
    assert!(t.contains("Superseded") && t.contains("4097"), "{t}");
}
