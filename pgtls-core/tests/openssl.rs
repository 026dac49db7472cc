//! Every artefact pgtls-core makes, read back and checked by the openssl CLI.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::fs;
use std::path::Path;

use pgtls_core::{
    Ca, CertificateParams, Crl, CrlParams, Csr, DistinguishedName, Error, KeyAlgorithm, KeyPair,
    RevocationReason, RevokedEntry, SerialNumber, SubjectAltName, Validity,
};
use pgtls_testkit::{openssl, openssl_raw, require_openssl};
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> String {
    fs::write(dir.join(name), data).unwrap();
    name.to_owned()
}

fn stdout(o: std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn root(alg: KeyAlgorithm, subject: &str) -> Ca {
    let p = CertificateParams::ca(
        DistinguishedName::parse_openssl(subject).unwrap(),
        Validity::days_from(now(), 3650),
        None,
    );
    Ca::create_root(&p, KeyPair::generate(alg).unwrap()).unwrap()
}

#[test]
fn chains_verify_for_the_right_purpose_with_every_key_type() {
    require_openssl().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (i, alg) in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
    ]
    .into_iter()
    .enumerate()
    {
        let ca = root(alg, "/DC=org/DC=example/O=Test/CN=Root");
        let ca_file = write(d, &format!("ca{i}.pem"), ca.certificate().to_pem());
        let mid_params = CertificateParams::ca(
            DistinguishedName::parse_openssl("/DC=org/DC=example/CN=Intermediate").unwrap(),
            Validity::days_from(now(), 1000),
            Some(0),
        );
        let mid = ca
            .create_intermediate(&mid_params, KeyPair::generate(alg).unwrap(), now())
            .unwrap();
        let mid_file = write(d, &format!("mid{i}.pem"), mid.certificate().to_pem());

        let skey = KeyPair::generate(alg).unwrap();
        let names: Vec<SubjectAltName> = vec![
            "db.example.com".parse().unwrap(),
            "127.0.0.1".parse().unwrap(),
        ];
        let sp = CertificateParams::server(&names, None, Validity::days_from(now(), 90)).unwrap();
        let server = mid.issue(&sp, &skey.public_key(), now()).unwrap();
        assert_eq!(server.issuer().der(), mid.certificate().subject().der());
        assert_eq!(
            server.authority_key_identifier(),
            Some(mid.key_identifier())
        );
        let s_file = write(d, &format!("server{i}.pem"), server.to_pem());

        let ckey = KeyPair::generate(alg).unwrap();
        let cp = CertificateParams::client("app", Validity::days_from(now(), 90)).unwrap();
        let client = ca.issue(&cp, &ckey.public_key(), now()).unwrap();
        let c_file = write(d, &format!("client{i}.pem"), client.to_pem());

        let ok = openssl(
            d,
            &[
                "verify",
                "-CAfile",
                &ca_file,
                "-untrusted",
                &mid_file,
                "-purpose",
                "sslserver",
                "-verify_hostname",
                "db.example.com",
                &s_file,
            ],
        )
        .unwrap();
        assert!(stdout(ok).contains(": OK"), "{alg:?}");
        openssl(
            d,
            &[
                "verify",
                "-CAfile",
                &ca_file,
                "-untrusted",
                &mid_file,
                "-verify_ip",
                "127.0.0.1",
                &s_file,
            ],
        )
        .unwrap();
        openssl(
            d,
            &[
                "verify",
                "-CAfile",
                &ca_file,
                "-purpose",
                "sslclient",
                &c_file,
            ],
        )
        .unwrap();
        // Wrong purposes are refused: the oracle can say no.
        let bad = openssl_raw(
            d,
            &[
                "verify",
                "-CAfile",
                &ca_file,
                "-purpose",
                "sslserver",
                &c_file,
            ],
        )
        .unwrap();
        assert!(
            !bad.status.success(),
            "client cert accepted as server: {alg:?}"
        );
        let bad = openssl_raw(
            d,
            &[
                "verify",
                "-CAfile",
                &ca_file,
                "-untrusted",
                &mid_file,
                "-purpose",
                "sslclient",
                &s_file,
            ],
        )
        .unwrap();
        assert!(
            !bad.status.success(),
            "server cert accepted as client: {alg:?}"
        );
        let bad = openssl_raw(d, &["verify", "-CAfile", &ca_file, &s_file]).unwrap();
        assert!(
            !bad.status.success(),
            "chain without intermediate accepted: {alg:?}"
        );

        // Keys: what we write, openssl reads and checks.
        let k_file = write(d, &format!("key{i}.pem"), skey.to_pem());
        let out = stdout(openssl(d, &["pkey", "-in", &k_file, "-check", "-noout"]).unwrap());
        assert!(out.contains("valid"), "{alg:?}: {out}");
        let e_file = write(
            d,
            &format!("enc{i}.pem"),
            skey.to_encrypted_pem_with_iterations(b"s3cret", 2048)
                .unwrap(),
        );
        let out = stdout(
            openssl(
                d,
                &[
                    "pkey",
                    "-in",
                    &e_file,
                    "-passin",
                    "pass:s3cret",
                    "-check",
                    "-noout",
                ],
            )
            .unwrap(),
        );
        assert!(out.contains("valid"), "{alg:?}: {out}");
        let bad = openssl_raw(
            d,
            &["pkey", "-in", &e_file, "-passin", "pass:wrong", "-noout"],
        )
        .unwrap();
        assert!(!bad.status.success());
        // And the key belongs to the certificate, as openssl sees it.
        let a = openssl(d, &["pkey", "-in", &k_file, "-pubout"])
            .unwrap()
            .stdout;
        let b = openssl(d, &["x509", "-in", &s_file, "-noout", "-pubkey"])
            .unwrap()
            .stdout;
        assert_eq!(a, b);
    }
}

#[test]
fn ca_certificate_has_the_required_extensions() {
    require_openssl().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut p = CertificateParams::ca(
        DistinguishedName::parse_openssl("/CN=Constrained").unwrap(),
        Validity::days_from(now(), 365),
        Some(1),
    );
    p.name_constraints = Some(pgtls_core::NameConstraints {
        permitted: vec![pgtls_core::NameConstraint::Dns("example.com".into())],
        excluded: vec![],
    });
    let ca = Ca::create_root(&p, KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap();
    let f = write(d, "ca.pem", ca.certificate().to_pem());
    let text = stdout(openssl(d, &["x509", "-in", &f, "-noout", "-text"]).unwrap());
    assert!(
        text.contains("X509v3 Basic Constraints: critical"),
        "{text}"
    );
    assert!(text.contains("CA:TRUE, pathlen:1"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
    assert!(
        text.contains("Permitted:") && text.contains("DNS:example.com"),
        "{text}"
    );

    // Name constraints are enforced by openssl on what we issue.
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let inside = CertificateParams::server(
        &["db.example.com".parse().unwrap()],
        None,
        Validity::days_from(now(), 30),
    )
    .unwrap();
    let outside = CertificateParams::server(
        &["db.example.net".parse().unwrap()],
        None,
        Validity::days_from(now(), 30),
    )
    .unwrap();
    let good = write(
        d,
        "in.pem",
        ca.issue(&inside, &key.public_key(), now())
            .unwrap()
            .to_pem(),
    );
    let bad = write(
        d,
        "out.pem",
        ca.issue(&outside, &key.public_key(), now())
            .unwrap()
            .to_pem(),
    );
    openssl(d, &["verify", "-CAfile", &f, &good]).unwrap();
    let o = openssl_raw(d, &["verify", "-CAfile", &f, &bad]).unwrap();
    assert!(
        !o.status.success(),
        "name constraint not enforced: {}",
        stdout(o)
    );
}

#[test]
fn csrs_both_ways_with_exact_subjects() {
    require_openssl().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = root(KeyAlgorithm::EcdsaP256, "/CN=CSR Root");
    let ca_file = write(d, "ca.pem", ca.certificate().to_pem());

    // pgtls CSR -> openssl req -verify
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let subject = DistinguishedName::parse_openssl("/DC=org/DC=example/OU=a/OU=b/CN=bob").unwrap();
    let csr = Csr::create(&subject, &["bob.example.org".parse().unwrap()], &key).unwrap();
    let f = write(d, "ours.csr", csr.to_pem());
    let out = stdout(
        openssl(
            d,
            &[
                "req", "-in", &f, "-verify", "-noout", "-subject", "-nameopt", "compat",
            ],
        )
        .unwrap(),
    );
    assert!(out.contains("/DC=org/DC=example/OU=a/OU=b/CN=bob"), "{out}");

    // openssl CSR (P-384 key, SHA-256 signature, repeated RDN types) -> pgtls signs.
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "o.key",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "o.key",
            "-sha256",
            "-subj",
            "/DC=org/DC=example/OU=x/OU=y/CN=alice",
            "-addext",
            "subjectAltName=DNS:evil.example.com",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-out",
            "o.csr",
        ],
    )
    .unwrap();
    let csr = Csr::from_pem_or_der(&fs::read(d.join("o.csr")).unwrap(), "o.csr").unwrap();
    assert_eq!(
        csr.requested_sans(),
        &["evil.example.com".parse::<SubjectAltName>().unwrap()]
    );
    let policy =
        pgtls_core::CsrPolicy::new(pgtls_core::CsrUsage::Client, Validity::days_from(now(), 30));
    let cert = ca.sign_csr(&csr, &policy, now()).unwrap();
    assert_eq!(cert.subject().der(), csr.subject().der());
    assert!(
        cert.subject_alt_names().is_empty(),
        "requested SAN must not be copied"
    );
    assert!(
        !cert.constraints().is_ca,
        "requested CA:TRUE must not be honoured"
    );
    let cf = write(d, "alice.pem", cert.to_pem());
    openssl(
        d,
        &["verify", "-CAfile", &ca_file, "-purpose", "sslclient", &cf],
    )
    .unwrap();
    let a = openssl(
        d,
        &[
            "req", "-in", "o.csr", "-noout", "-subject", "-nameopt", "RFC2253",
        ],
    )
    .unwrap()
    .stdout;
    let b = openssl(
        d,
        &[
            "x509", "-in", &cf, "-noout", "-subject", "-nameopt", "RFC2253",
        ],
    )
    .unwrap()
    .stdout;
    assert_eq!(
        String::from_utf8_lossy(&a).replace("subject=", ""),
        String::from_utf8_lossy(&b).replace("subject=", "")
    );

    // A CSR whose signature is broken is refused.
    let mut der = csr.der().to_vec();
    let n = der.len();
    der[n - 5] ^= 0x55;
    match Csr::from_pem_or_der(&der, "broken.csr") {
        Err(Error::BadSignature { input, .. }) => assert_eq!(input, "broken.csr"),
        other => panic!("{other:?}"),
    }
    // openssl agrees it is broken.
    write(d, "broken.der", &der);
    let o = openssl_raw(
        d,
        &[
            "req",
            "-inform",
            "DER",
            "-in",
            "broken.der",
            "-verify",
            "-noout",
        ],
    )
    .unwrap();
    assert!(!o.status.success() || stdout(o).contains("fail"));
}

#[test]
fn openssl_made_ca_with_two_dc_keeps_its_subject_and_crls_verify() {
    require_openssl().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "ca.key",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-days",
            "100",
            "-subj",
            "/DC=org/DC=example/CN=Legacy CA",
            "-out",
            "ca.pem",
        ],
    )
    .unwrap();
    let cert =
        pgtls_core::Certificate::from_pem_or_der(&fs::read(d.join("ca.pem")).unwrap(), "ca.pem")
            .unwrap();
    let key =
        KeyPair::from_pem_or_der(&fs::read(d.join("ca.key")).unwrap(), None, "ca.key").unwrap();
    let ca = Ca::from_parts(cert, key, vec![], "ca.pem").unwrap();

    let leaf_key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let p = CertificateParams::client("app", Validity::days_from(now(), 30)).unwrap();
    let leaf = ca.issue(&p, &leaf_key.public_key(), now()).unwrap();
    let lf = write(d, "leaf.pem", leaf.to_pem());
    openssl(
        d,
        &["verify", "-CAfile", "ca.pem", "-purpose", "sslclient", &lf],
    )
    .unwrap();

    // A leaf never outlives its issuer.
    let long = CertificateParams::client("app", Validity::days_from(now(), 365)).unwrap();
    assert!(matches!(
        ca.issue(&long, &leaf_key.public_key(), now()),
        Err(Error::OutlivesIssuer { .. })
    ));
    // A CA that expired cannot issue.
    assert!(matches!(
        ca.issue(&p, &leaf_key.public_key(), now() + Duration::days(200)),
        Err(Error::CaNotValid { .. })
    ));

    // CRL: verified by openssl, revokes the leaf, AKI equals the CA's SKI.
    let crl_params = CrlParams {
        this_update: now(),
        next_update: now() + Duration::days(7),
        crl_number: SerialNumber::from_bytes(&[3]).unwrap(),
        revoked: vec![RevokedEntry {
            serial: leaf.serial().unwrap(),
            revoked_at: now(),
            reason: Some(RevocationReason::KeyCompromise),
        }],
    };
    let crl = ca.sign_crl(&crl_params).unwrap();
    assert_eq!(crl.issuer().der(), ca.certificate().subject().der());
    assert_eq!(
        crl.authority_key_identifier(),
        ca.certificate().subject_key_identifier()
    );
    let cf = write(d, "crl.pem", crl.to_pem());
    let out = stdout(
        openssl(
            d,
            &["crl", "-in", &cf, "-CAfile", "ca.pem", "-noout", "-text"],
        )
        .unwrap(),
    );
    assert!(out.contains("verify OK"), "{out}");
    assert!(out.contains("Key Compromise"), "{out}");
    assert!(!out.contains("Issuing Distribution Point"), "{out}");
    let o = openssl_raw(
        d,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            &cf,
            "-crl_check",
            &lf,
        ],
    )
    .unwrap();
    let text = stdout(o);
    assert!(text.contains("certificate revoked"), "{text}");
    let parsed = Crl::from_pem_or_der(crl.to_pem().as_bytes(), "crl.pem").unwrap();
    assert!(parsed.is_revoked(&leaf.serial().unwrap()));
    assert!(parsed.is_signed_by(ca.certificate()));
    assert_eq!(parsed.crl_number().unwrap().to_hex(), "03");

    // An empty CRL does not revoke.
    let empty = ca
        .sign_crl(&CrlParams {
            revoked: vec![],
            ..crl_params
        })
        .unwrap();
    let ef = write(d, "empty.pem", empty.to_pem());
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            &ef,
            "-crl_check",
            &lf,
        ],
    )
    .unwrap();

    // The key does not match another CA certificate.
    let other = root(KeyAlgorithm::EcdsaP256, "/CN=Other");
    let key =
        KeyPair::from_pem_or_der(&fs::read(d.join("ca.key")).unwrap(), None, "ca.key").unwrap();
    assert!(matches!(
        Ca::from_parts(other.certificate().clone(), key, vec![], "other.pem"),
        Err(Error::KeyMismatch { .. })
    ));
}

#[test]
fn keys_openssl_makes_load_in_every_format() {
    require_openssl().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(d, &["genrsa", "-traditional", "-out", "rsa1.pem", "2048"]).unwrap();
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "sec1.pem",
        ],
    )
    .unwrap();
    openssl(d, &["genpkey", "-algorithm", "ED25519", "-out", "ed.pem"]).unwrap();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-aes-256-cbc",
            "-pass",
            "pass:pw",
            "-out",
            "enc.pem",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "genrsa",
            "-aes256",
            "-traditional",
            "-passout",
            "pass:pw",
            "-out",
            "legacy.pem",
            "2048",
        ],
    )
    .unwrap();
    openssl(
        d,
        &[
            "pkey", "-in", "sec1.pem", "-outform", "DER", "-out", "p8.der",
        ],
    )
    .unwrap();
    for (f, pass) in [
        ("rsa1.pem", None),
        ("sec1.pem", None),
        ("ed.pem", None),
        ("enc.pem", Some(&b"pw"[..])),
        ("p8.der", None),
    ] {
        let k = KeyPair::from_pem_or_der(&fs::read(d.join(f)).unwrap(), pass, f).unwrap();
        // Written back as PKCS#8, openssl reads the same public key.
        write(d, "back.pem", k.to_pem());
        let a = openssl(d, &["pkey", "-in", "back.pem", "-pubout"])
            .unwrap()
            .stdout;
        let mut args = vec!["pkey", "-in", f, "-pubout"];
        if f.ends_with(".der") {
            args.extend(["-inform", "DER"]);
        }
        if pass.is_some() {
            args.extend(["-passin", "pass:pw"]);
        }
        let b = openssl(d, &args).unwrap().stdout;
        assert_eq!(a, b, "{f}");
    }
    match KeyPair::from_pem_or_der(
        &fs::read(d.join("legacy.pem")).unwrap(),
        Some(b"pw"),
        "legacy.pem",
    ) {
        Err(e @ Error::LegacyEncryptedKey { .. }) => {
            assert!(e.to_string().contains("openssl pkcs8 -topk8"))
        }
        other => panic!("{other:?}"),
    }
    match KeyPair::from_pem_or_der(
        &fs::read(d.join("enc.pem")).unwrap(),
        Some(b"nope"),
        "enc.pem",
    ) {
        Err(Error::WrongPassphrase { input }) => assert_eq!(input, "enc.pem"),
        other => panic!("{other:?}"),
    }
    let text = fs::read(d.join("rsa1.pem")).unwrap();
    for cut in [10, text.len() / 2, text.len() - 30] {
        assert!(KeyPair::from_pem_or_der(&text[..cut], None, "cut.pem").is_err());
    }
    assert!(KeyPair::from_pem_or_der(b"\x30\x03\x02\x01\x00", None, "g.der").is_err());
}

/// A serial whose top bit is set carries a DER sign octet (`00 93 ..`) that is not part
/// of the number: `serial_hex` prints what `openssl x509 -serial` prints, for serials
/// openssl itself wrote, with and without that octet, and for the smallest ones.
#[test]
fn serial_hex_is_what_openssl_prints() {
    require_openssl().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "k.pem",
        ],
    )
    .unwrap();
    for serial in ["0x933A12", "0x7F01", "0x00FF", "1", "0x80", "0x0100"] {
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-key",
                "k.pem",
                "-subj",
                "/CN=s",
                "-days",
                "1",
                "-set_serial",
                serial,
                "-out",
                "c.pem",
            ],
        )
        .unwrap();
        let printed = stdout(openssl(d, &["x509", "-in", "c.pem", "-noout", "-serial"]).unwrap());
        let want = printed.trim().trim_start_matches("serial=");
        let cert =
            pgtls_core::Certificate::from_pem_or_der(&fs::read(d.join("c.pem")).unwrap(), "c.pem")
                .unwrap();
        assert_eq!(cert.serial_hex(), want, "serial {serial}");
    }
}
