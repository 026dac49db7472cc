//! The verification budget against a crafted worst case: a root file whose two trusted
//! CAs are cross-signed by each other (neither self-signed, so OpenSSL's `build_chain`
//! walks the cycle to the depth limit) behind 2,000 unrelated certificates that every
//! step of the walk looks at. OpenSSL does about 100 x 2,000 issuer checks and stops with
//! `certificate chain too long`; pgtls must give the same verdict (not run out of budget,
//! which would say `unspecified certificate verification error`), and its work is bounded
//! by the budget's linear limits, so no hostile root file can make it exponential.
//! Certificates come from the openssl CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::fs;
use std::path::Path;

use pgtls_verify::{Env, Params, PgVersion, verify_server};

fn openssl(dir: &Path, args: &str) {
    let args: Vec<&str> = args.split_whitespace().collect();
    pgtls_testkit::openssl(dir, &args).unwrap();
}

const CA_EXT: &str = "[ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, \
                      keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n\
                      authorityKeyIdentifier = keyid\n\
                      [leaf]\nbasicConstraints = CA:FALSE\nsubjectAltName = DNS:db.test\n\
                      subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";

#[test]
fn cross_signed_cycle_behind_thousands_of_decoys_ends_as_openssl_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("ext.cnf"), CA_EXT).unwrap();
    for k in ["a", "b", "leaf", "decoy"] {
        openssl(
            d,
            &format!("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out {k}.key"),
        );
    }
    openssl(
        d,
        "req -new -x509 -key decoy.key -subj /CN=Decoy -days 30 -out decoy-self.pem \
         -addext basicConstraints=critical,CA:TRUE",
    );
    openssl(d, "req -new -key a.key -subj /CN=CycleA -out a.csr");
    openssl(d, "req -new -key b.key -subj /CN=CycleB -out b.csr");
    openssl(d, "req -new -key leaf.key -subj /CN=db.test -out leaf.csr");
    // Self-signed stand-ins give each CA its name and key; the cross certificates (A
    // signed by B, B signed by A) are the ones trusted.
    openssl(
        d,
        "req -new -x509 -key a.key -subj /CN=CycleA -days 30 -out a-self.pem",
    );
    openssl(
        d,
        "req -new -x509 -key b.key -subj /CN=CycleB -days 30 -out b-self.pem",
    );
    openssl(
        d,
        "x509 -req -in a.csr -CA b-self.pem -CAkey b.key -set_serial 11 -days 30 \
         -extfile ext.cnf -extensions ca -out a-by-b.pem",
    );
    openssl(
        d,
        "x509 -req -in b.csr -CA a-self.pem -CAkey a.key -set_serial 12 -days 30 \
         -extfile ext.cnf -extensions ca -out b-by-a.pem",
    );
    openssl(
        d,
        "x509 -req -in leaf.csr -CA a-self.pem -CAkey a.key -set_serial 13 -days 30 \
         -extfile ext.cnf -extensions leaf -out leaf.pem",
    );
    let decoy = fs::read_to_string(d.join("decoy-self.pem")).unwrap();
    let mut root = decoy.repeat(2000);
    root.push_str(&fs::read_to_string(d.join("a-by-b.pem")).unwrap());
    root.push_str(&fs::read_to_string(d.join("b-by-a.pem")).unwrap());
    fs::write(d.join("root.pem"), root).unwrap();

    let out = pgtls_testkit::openssl_raw(
        d,
        &[
            "verify",
            "-purpose",
            "sslserver",
            "-auth_level",
            "2",
            "-CAfile",
            "root.pem",
            "leaf.pem",
        ],
    )
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "openssl accepted: {text}");
    assert!(
        text.contains("certificate chain too long"),
        "openssl's verdict changed: {text}"
    );

    let params = Params::parse_conninfo(&format!(
        "host=db.test sslmode=verify-ca sslrootcert={}",
        d.join("root.pem").display()
    ))
    .unwrap();
    let chain = pgtls_verify::read_chain_file(&d.join("leaf.pem")).unwrap();
    let v = verify_server(
        &params,
        &Env::empty(),
        PgVersion::V15,
        &chain,
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now()).unwrap_or(0),
        )),
    )
    .unwrap();
    assert!(!v.accepted(), "pgtls accepted a chain openssl refuses");
    let reason = v.checks.iter().find_map(|c| c.reason);
    assert_eq!(
        reason.map(|r| r.text()),
        Some("certificate chain too long"),
        "{:#?}",
        v.checks
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}
