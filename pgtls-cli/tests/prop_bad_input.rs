//! Malformed input, class by class (docs/BAD-INPUT.md names these tests): what each
//! library crate answers and what the `pgtls` command answers. Every answer must be a
//! typed error or a well-defined model (never a panic: exit status 101, or a signal),
//! and the CLI's message must name the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

use pgtls_core::{
    Ca, Certificate, CertificateParams, Crl, CrlParams, Csr, DistinguishedName, KeyAlgorithm,
    KeyPair, RevokedEntry, SerialNumber, SubjectAltName, Validity, inspect,
};
use pgtls_hba::{HbaFile, IdentFile, MemorySource, PgVersion, Request, ServerSettings, evaluate};
use pgtls_verify::{Env, Params, verify_server};
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

struct Pki {
    ca: Ca,
    cert: Certificate,
    key: KeyPair,
    csr: Csr,
    crl: Crl,
}

fn pki() -> Pki {
    let ca = Ca::create_root(
        &CertificateParams::ca(
            DistinguishedName::parse_openssl("/CN=Bad Input CA").unwrap(),
            Validity::days_from(now(), 365),
            None,
        ),
        KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap(),
    )
    .unwrap();
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let params = CertificateParams::server(
        &["db.example.test".parse::<SubjectAltName>().unwrap()],
        None,
        Validity::days_from(now(), 30),
    )
    .unwrap();
    let cert = ca.issue(&params, &key.public_key(), now()).unwrap();
    let csr = Csr::create(&DistinguishedName::common_name("alice"), &[], &key).unwrap();
    let crl = ca
        .sign_crl(&CrlParams {
            this_update: now(),
            next_update: now() + Duration::days(1),
            crl_number: SerialNumber::from_bytes(&[1]).unwrap(),
            revoked: vec![RevokedEntry {
                serial: cert.serial().unwrap(),
                revoked_at: now(),
                reason: None,
            }],
        })
        .unwrap();
    Pki {
        ca,
        cert,
        key,
        csr,
        crl,
    }
}

fn pgtls(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args(args)
        .output()
        .unwrap()
}

/// The CLI refused cleanly: exit 1 or 2 (not a panic's 101, not a signal), a message
/// on stderr naming `file`.
fn refused(out: &Output, file: &Path) {
    let err = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(1 | 2)),
        "exit {:?} (101 = panic): {err}",
        out.status
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(&file.display().to_string()),
        "the message does not name {}: {err}",
        file.display()
    );
}

/// The CLI did not crash (any exit 0..=2, no panic text).
fn no_crash(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "exit {:?}: {err}",
        out.status
    );
    assert!(!err.contains("panicked"), "{err}");
}

fn inspect_cli(dir: &Path, name: &str, bytes: &[u8]) -> Output {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    pgtls(&["inspect", p.to_str().unwrap()])
}

/// A DER value nested `depth` SEQUENCEs deep.
fn nested(depth: usize) -> Vec<u8> {
    let mut v = vec![0x05, 0x00];
    for _ in 0..depth {
        let mut len = Vec::new();
        let n = v.len();
        if n < 0x80 {
            len.push(u8::try_from(n).unwrap());
        } else {
            let b = n.to_be_bytes();
            let b: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
            len.push(0x80 | u8::try_from(b.len()).unwrap());
            len.extend(b);
        }
        let mut w = vec![0x30];
        w.extend(len);
        w.extend(v);
        v = w;
    }
    v
}

#[test]
fn truncated_inputs() {
    let p = pki();
    let tmp = tempfile::tempdir().unwrap();
    let ders: [(&str, Vec<u8>); 3] = [
        ("cert", p.cert.der().to_vec()),
        ("csr", p.csr.der().to_vec()),
        ("crl", p.crl.der().to_vec()),
    ];
    for (what, der) in &ders {
        for cut in (0..der.len()).step_by(7) {
            let part = &der[..cut];
            assert!(
                Certificate::from_der(part, what).is_err(),
                "{what} cut at {cut} parsed as a certificate"
            );
            assert!(
                Csr::from_der(part, what).is_err(),
                "{what} cut at {cut} parsed as a CSR"
            );
            assert!(
                Crl::from_der(part, what).is_err(),
                "{what} cut at {cut} parsed as a CRL"
            );
        }
        // The CLI, on a few cuts.
        for cut in [1, der.len() / 2, der.len() - 1] {
            let out = inspect_cli(tmp.path(), &format!("{what}-{cut}.der"), &der[..cut]);
            refused(&out, &tmp.path().join(format!("{what}-{cut}.der")));
        }
    }
    let key_der = p.key.to_pkcs8_der().to_vec();
    for cut in (0..key_der.len()).step_by(5) {
        assert!(
            KeyPair::from_pem_or_der(&key_der[..cut], None, "key").is_err(),
            "key cut at {cut}"
        );
    }
    // PEM cut before its END line.
    let pem = p.cert.to_pem();
    for cut in (0..pem.find("-----END").unwrap()).step_by(13) {
        assert!(
            Certificate::from_pem_or_der(&pem.as_bytes()[..cut], "pem").is_err(),
            "PEM cut at {cut}"
        );
    }
    let out = inspect_cli(tmp.path(), "cut.pem", &pem.as_bytes()[..pem.len() / 2]);
    refused(&out, &tmp.path().join("cut.pem"));
    // pg_hba.conf cut mid-record: the record is parsed as the server would (an error
    // for the line, not a crash), and the file does not load.
    let f = HbaFile::parse_str(
        "hostssl all all 10.0.0.0/8 scram-sha-2",
        ServerSettings::default(),
    );
    assert!(f.load().is_err());
    let f = HbaFile::parse_str("host all all 10.0.0.0/8 \\", ServerSettings::default());
    assert!(f.load().is_err());
    // conninfo cut inside a quoted value.
    assert!(Params::parse_conninfo("host='db.example").is_err());
    assert!(Params::parse_conninfo("postgresql://[::1").is_err());
}

#[test]
fn oversized_inputs() {
    let p = pki();
    let tmp = tempfile::tempdir().unwrap();
    // 4 MiB of DER length claiming more than there is.
    let mut big = vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff];
    big.extend(std::iter::repeat_n(0u8, 4 << 20));
    assert!(Certificate::from_der(&big, "big").is_err());
    assert!(Crl::from_der(&big, "big").is_err());
    assert!(KeyPair::from_pem_or_der(&big, None, "big").is_err());
    let out = inspect_cli(tmp.path(), "big.der", &big);
    refused(&out, &tmp.path().join("big.der"));
    // A chain over OpenSSL's max_cert_list: libpq's handshake fails.
    let chain: Vec<pgtls_verify::CertificateDer<'_>> =
        std::iter::repeat_n(p.cert.der().into(), 400).collect();
    let root = tmp.path().join("root.crt");
    std::fs::write(&root, p.ca.certificate().to_pem()).unwrap();
    let mut params = Params::default();
    params.set("sslmode", "verify-ca".into());
    params.set("host", "db.example.test".into());
    params.set("sslrootcert", root.display().to_string());
    let v = verify_server(
        &params,
        &Env::empty(),
        PgVersion::V15,
        &chain,
        pgtls_verify::UnixTime::now(),
    )
    .unwrap();
    assert!(!v.accepted());
    assert_eq!(v.message(), Some("SSL error: excessive message size"));
    // A 2 MiB pg_hba.conf line.
    let long = format!("host all {} 0.0.0.0/0 trust\n", "u".repeat(2 << 20));
    let f = HbaFile::parse_str(&long, ServerSettings::default());
    assert_eq!(f.lines().len(), 1);
    // A 1 MiB conninfo value.
    let ci = format!("host={}", "h".repeat(1 << 20));
    assert_eq!(
        Params::parse_conninfo(&ci).unwrap().host.map(|h| h.len()),
        Some(1 << 20)
    );
}

#[test]
fn wrong_type_inputs() {
    let p = pki();
    let tmp = tempfile::tempdir().unwrap();
    let key_pem = p.key.to_pem();
    let cert_pem = p.cert.to_pem();
    let e = Certificate::from_pem_or_der(key_pem.as_bytes(), "k.pem").unwrap_err();
    assert!(e.to_string().contains("k.pem"), "{e}");
    assert!(KeyPair::from_pem_or_der(cert_pem.as_bytes(), None, "c.pem").is_err());
    assert!(Csr::from_pem_or_der(cert_pem.as_bytes(), "c.pem").is_err());
    assert!(Crl::from_pem_or_der(p.csr.der(), "csr").is_err());
    assert!(Certificate::from_der(p.crl.der(), "crl").is_err());
    // The CLI's `sign` given a certificate where a CSR belongs.
    let c = tmp.path().join("cert.pem");
    std::fs::write(&c, &cert_pem).unwrap();
    let out = pgtls(&["hba", "rules", c.to_str().unwrap()]);
    no_crash(&out);
    // pg_hba.conf holding a certificate: every line is an invalid record.
    let f = HbaFile::parse_str(&cert_pem, ServerSettings::default());
    assert!(f.load().is_err());
    assert!(f.lines().iter().all(|l| l.result.is_err()));
    // conninfo with a non-keyword, and an sslmode that is not one.
    assert!(Params::parse_conninfo("sslmod=require").is_err());
    let mut params = Params::default();
    params.set("sslmode", "verify_full".into());
    let v = verify_server(
        &params,
        &Env::empty(),
        PgVersion::V15,
        &[pgtls_verify::CertificateDer::from(p.cert.der().to_vec())],
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(0).unwrap_or(0),
        )),
    )
    .unwrap();
    assert!(!v.accepted() && v.message().unwrap().contains("sslmode"));
}

#[test]
fn wrong_encoding_inputs() {
    let p = pki();
    let tmp = tempfile::tempdir().unwrap();
    // UTF-16 pg_hba.conf.
    let utf16: Vec<u8> = "host all all 0.0.0.0/0 trust\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let f = HbaFile::parse(
        "pg_hba.conf",
        &utf16,
        ServerSettings::default(),
        &MemorySource::new(),
    );
    assert!(f.load().is_err() || f.lines().is_empty());
    let hf = tmp.path().join("utf16.conf");
    std::fs::write(&hf, &utf16).unwrap();
    no_crash(&pgtls(&["hba", "rules", hf.to_str().unwrap()]));
    // Latin-1 in pg_ident.conf.
    let i = IdentFile::parse(
        "pg_ident.conf",
        b"m j\xf6rg joerg\n",
        PgVersion::V15,
        &MemorySource::new(),
    );
    let _ = i.check_usermap(Some("m"), "j\u{f6}rg", "joerg", &[], false);
    // PEM with a broken base64 body.
    let pem = p.cert.to_pem().replacen('M', "!", 1);
    assert!(Certificate::from_pem_or_der(pem.as_bytes(), "b64").is_err());
    let out = inspect_cli(tmp.path(), "b64.pem", pem.as_bytes());
    refused(&out, &tmp.path().join("b64.pem"));
    // BER (indefinite length) instead of DER.
    let der = p.cert.der();
    let mut ber = vec![0x30, 0x80];
    ber.extend_from_slice(&der[4..]);
    ber.extend_from_slice(&[0, 0]);
    assert!(Certificate::from_der(&ber, "ber").is_err());
    // A URI with bad percent-encoding.
    assert!(Params::parse_conninfo("postgresql://h/db?sslmode=%zz").is_err());
}

#[test]
fn hostile_nesting() {
    let tmp = tempfile::tempdir().unwrap();
    // 100 000 nested SEQUENCEs: parsers must not recurse into a stack overflow.
    let deep = nested(100_000);
    assert!(Certificate::from_der(&deep, "deep").is_err());
    assert!(Csr::from_der(&deep, "deep").is_err());
    assert!(Crl::from_der(&deep, "deep").is_err());
    assert!(KeyPair::from_pem_or_der(&deep, None, "deep").is_err());
    assert!(inspect(&deep, None, "deep").is_err());
    let out = inspect_cli(tmp.path(), "deep.der", &deep);
    refused(&out, &tmp.path().join("deep.der"));
    // include / @file loops in pg_hba.conf.
    let src = MemorySource::new()
        .with("/d/loop.conf", "include loop.conf\n")
        .with("/d/a", "@b\n")
        .with("/d/b", "@a\n");
    let v16 = ServerSettings::new(PgVersion::V16, true);
    let f = HbaFile::parse("/d/pg_hba.conf", b"include loop.conf\n", v16.clone(), &src);
    assert!(f.load().is_err(), "an include loop must not load");
    let f = HbaFile::parse(
        "/d/pg_hba.conf",
        b"host @a all 0.0.0.0/0 trust\n",
        v16,
        &src,
    );
    let _ = evaluate(&f, &Request::local("a", "b"));
    let loop_dir = tmp.path().join("loop");
    std::fs::create_dir(&loop_dir).unwrap();
    std::fs::write(loop_dir.join("pg_hba.conf"), "include pg_hba.conf\n").unwrap();
    no_crash(&pgtls(&[
        "hba",
        "rules",
        "--pg-version",
        "16",
        loop_dir.join("pg_hba.conf").to_str().unwrap(),
    ]));
}

#[test]
fn nul_bytes() {
    let p = pki();
    let tmp = tempfile::tempdir().unwrap();
    let f = HbaFile::parse(
        "pg_hba.conf",
        b"host all al\0l 0.0.0.0/0 trust\n",
        ServerSettings::default(),
        &MemorySource::new(),
    );
    let _ = f.view_rows();
    let hf = tmp.path().join("nul.conf");
    std::fs::write(&hf, b"host all al\0l 0.0.0.0/0 trust\n").unwrap();
    no_crash(&pgtls(&["hba", "rules", hf.to_str().unwrap()]));
    let _ = Params::parse_conninfo("host=a\0b");
    // A PEM with a NUL inside.
    let mut pem = p.cert.to_pem().into_bytes();
    pem[40] = 0;
    assert!(Certificate::from_pem_or_der(&pem, "nul").is_err());
    // A client role with NUL is refused at issuance (the server rejects such CNs).
    assert!(CertificateParams::client("al\0ice", Validity::days_from(now(), 1)).is_err());
}

#[test]
fn huge_counts() {
    let p = pki();
    // A CRL with 20 000 entries round-trips.
    let revoked: Vec<RevokedEntry> = (1u32..=20_000)
        .map(|i| RevokedEntry {
            serial: SerialNumber::from_bytes(&i.to_be_bytes()).unwrap(),
            revoked_at: now(),
            reason: None,
        })
        .collect();
    let crl =
        p.ca.sign_crl(&CrlParams {
            this_update: now(),
            next_update: now() + Duration::days(1),
            crl_number: SerialNumber::from_bytes(&[2]).unwrap(),
            revoked,
        })
        .unwrap();
    assert_eq!(
        Crl::from_der(crl.der(), "big").unwrap().entries().len(),
        20_000
    );
    // 50 000 pg_hba.conf records.
    let text: String = (0..50_000)
        .map(|i| format!("host db{i} all 10.0.0.0/8 trust\n"))
        .collect();
    let f = HbaFile::parse_str(&text, ServerSettings::default());
    assert_eq!(f.lines().len(), 50_000);
    let d = evaluate(
        &f,
        &Request::tcp("10.0.0.1".parse().unwrap(), "db49999", "u"),
    );
    assert_eq!(d.line_number(), Some(50_000));
    // 5 000 conninfo keywords.
    let ci: String = (0..5_000).map(|i| format!("host=h{i} ")).collect();
    assert_eq!(
        Params::parse_conninfo(&ci).unwrap().host.as_deref(),
        Some("h4999")
    );
    // 1 000 certificates in one PEM file.
    let pem: String = std::iter::repeat_n(p.cert.to_pem(), 1_000).collect();
    assert_eq!(
        Certificate::chain_from_pem_or_der(pem.as_bytes(), "many")
            .unwrap()
            .len(),
        1_000
    );
}

/// Pseudo-random bytes (a fixed LCG, so failures reproduce): every parser answers
/// with a value or an error.
#[test]
fn random_bytes_never_panic() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..300 {
        let len = (round * 7) % 2000;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        let _ = Certificate::from_pem_or_der(&bytes, "x");
        let _ = Csr::from_pem_or_der(&bytes, "x");
        let _ = Crl::from_pem_or_der(&bytes, "x");
        let _ = KeyPair::from_pem_or_der(&bytes, Some(b"pw"), "x");
        let _ = inspect(&bytes, None, "x");
        let _ = HbaFile::parse(
            "pg_hba.conf",
            &bytes,
            ServerSettings::default(),
            &MemorySource::new(),
        );
        let _ = IdentFile::parse(
            "pg_ident.conf",
            &bytes,
            PgVersion::V16,
            &MemorySource::new(),
        );
        let _ = Params::parse_conninfo(&String::from_utf8_lossy(&bytes));
        let _ = pgtls_verify::read_chain_pem(&bytes);
    }
}
