//! The one CSR policy (`CsrPolicy`) on CSRs made by openssl: which requested names are
//! copied, when a server certificate has no name, and which commonName a client
//! certificate's role is.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::fs;
use std::path::Path;

use pgtls_core::{
    Ca, CertificateParams, Csr, CsrPolicy, CsrUsage, DistinguishedName, KeyAlgorithm, KeyPair,
    SubjectAltName, Validity,
};

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn csr(dir: &Path, name: &str, subj: &str, san: Option<&str>) -> Csr {
    let key = format!("{name}.key");
    let out = format!("{name}.csr");
    pgtls_testkit::openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ],
    )
    .unwrap();
    let mut args = vec!["req", "-new", "-key", &key, "-subj", subj, "-out", &out];
    let ext;
    if let Some(s) = san {
        ext = format!("subjectAltName={s}");
        args.extend(["-addext", &ext]);
    }
    pgtls_testkit::openssl(dir, &args).unwrap();
    Csr::from_pem_or_der(&fs::read(dir.join(&out)).unwrap(), &out).unwrap()
}

fn ca() -> Ca {
    let params = CertificateParams::ca(
        DistinguishedName::parse_openssl("/CN=Policy CA").unwrap(),
        Validity::days_from(now(), 60),
        Some(0),
    );
    Ca::create_root(&params, KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap()
}

#[test]
fn server_copies_only_requested_dns_and_ip_names() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = ca();
    let r = csr(
        tmp.path(),
        "s",
        "/CN=db",
        Some(
            "DNS:db.example.test,IP:10.0.0.7,email:x@example.test,URI:https://example.test/,DNS:extra.test",
        ),
    );
    let validity = Validity::days_from(now(), 30);
    let mut p = CsrPolicy::new(CsrUsage::Server, validity);
    // No name and no copying: refused by the library.
    let err = ca.sign_csr(&r, &p, now()).unwrap_err().to_string();
    assert!(err.contains("at least one name"), "{err}");
    p.copy_requested_names = true;
    let cert = ca.sign_csr(&r, &p, now()).unwrap();
    let want: Vec<SubjectAltName> = ["db.example.test", "10.0.0.7", "extra.test"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(cert.subject_alt_names(), want.as_slice());
    // Given names first, requested ones after, no repeats.
    p.names = vec!["extra.test".parse().unwrap()];
    let cert = ca.sign_csr(&r, &p, now()).unwrap();
    let got: Vec<String> = cert
        .subject_alt_names()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        ["DNS:extra.test", "DNS:db.example.test", "IP:10.0.0.7"]
    );
    // The subject stays the CSR's, byte for byte.
    assert_eq!(cert.subject().der(), r.subject().der());
}

#[test]
fn client_role_is_the_first_common_name_and_is_required() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = ca();
    let validity = Validity::days_from(now(), 30);
    let p = CsrPolicy::new(CsrUsage::Client, validity);
    let two = csr(tmp.path(), "two", "/CN=first/OU=x/CN=second", None);
    let cert = ca.sign_csr(&two, &p, now()).unwrap();
    assert_eq!(cert.subject().der(), two.subject().der());
    assert_eq!(
        cert.subject()
            .first_common_name()
            .map(|a| a.display_value())
            .as_deref(),
        Some("first")
    );
    let none = csr(tmp.path(), "none", "/O=No Role", None);
    let err = ca.sign_csr(&none, &p, now()).unwrap_err().to_string();
    assert!(err.contains("commonName"), "{err}");
    // A replacement subject is what must have the CN.
    let mut with_subject = p.clone();
    with_subject.subject = Some(DistinguishedName::parse_openssl("/CN=app").unwrap());
    let cert = ca.sign_csr(&none, &with_subject, now()).unwrap();
    assert_eq!(cert.subject().common_name_value().as_deref(), Some("app"));
    // Requested names are copied only when asked.
    let named = csr(tmp.path(), "named", "/CN=app", Some("DNS:app.example.test"));
    assert!(
        ca.sign_csr(&named, &p, now())
            .unwrap()
            .subject_alt_names()
            .is_empty()
    );
}
