//! pgtls-core: CSRs, CRLs, private keys, and structured certificate issuance.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::OnceLock;

use pgtls_core::{
    Ca, Certificate, CertificateParams, Crl, CrlParams, Csr, CsrPolicy, CsrUsage,
    DistinguishedName, KeyAlgorithm, KeyPair, NameConstraint, NameConstraints, RevocationReason,
    RevokedEntry, SerialNumber, SubjectAltName, Usage, Validity,
};
use time::{Duration, OffsetDateTime};

use super::input::Reader;

/// The fixed "now" of every check (2026-05-28T...Z): fuzzing must be deterministic.
pub const NOW: i64 = 1_780_000_000;

/// `NOW` as a time.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A CA, its files, and a leaf key, made once per process.
#[derive(Debug)]
pub struct Fixture {
    /// The root CA (ECDSA P-256).
    pub ca: Ca,
    /// A second, unrelated root CA.
    pub other: Ca,
    /// A key for leaves.
    pub leaf_key: KeyPair,
    /// Scratch directory (per process).
    pub dir: PathBuf,
    /// `root.crt`: the CA certificate (PEM).
    pub root: PathBuf,
    /// `crl.pem`: a CRL of `ca` revoking serial `0BAD`.
    pub crl: PathBuf,
}

/// The serial that the fixture CRL revokes.
pub fn revoked_serial() -> SerialNumber {
    SerialNumber::from_bytes(&[0x0b, 0xad]).expect("valid serial")
}

fn make_ca(cn: &str) -> Ca {
    let params = CertificateParams::ca(
        DistinguishedName::parse_openssl(&format!("/O=pgtls fuzz/CN={cn}")).expect("name"),
        Validity {
            not_before: now() - Duration::days(365),
            not_after: now() + Duration::days(365 * 20),
        },
        None,
    );
    Ca::create_root(
        &params,
        KeyPair::generate(KeyAlgorithm::EcdsaP256).expect("key"),
    )
    .expect("root CA")
}

/// The process-wide fixture.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let ca = make_ca("Fuzz Root CA");
        let other = make_ca("Other Root CA");
        let dir = std::env::temp_dir().join(format!("pgtls-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let root = dir.join("root.crt");
        std::fs::write(&root, ca.certificate().to_pem()).expect("root.crt");
        let crl = ca
            .sign_crl(&CrlParams {
                this_update: now() - Duration::days(1),
                next_update: now() + Duration::days(30),
                crl_number: SerialNumber::from_bytes(&[1]).expect("serial"),
                revoked: vec![RevokedEntry {
                    serial: revoked_serial(),
                    revoked_at: now() - Duration::days(2),
                    reason: Some(RevocationReason::KeyCompromise),
                }],
            })
            .expect("crl");
        let crl_path = dir.join("crl.pem");
        std::fs::write(&crl_path, crl.to_pem()).expect("crl.pem");
        Fixture {
            ca,
            other,
            leaf_key: KeyPair::generate(KeyAlgorithm::EcdsaP256).expect("key"),
            dir,
            root,
            crl: crl_path,
        }
    })
}

/// CSR bytes (PEM or DER): a CSR that parses re-encodes to itself, and signing it
/// gives a certificate for the CSR's key and subject (byte for byte), signed by the
/// CA, that parses back to the same certificate.
pub fn csr_sign(data: &[u8]) {
    let Ok(csr) = Csr::from_pem_or_der(data, "fuzz") else {
        return;
    };
    let again =
        Csr::from_pem_or_der(csr.to_pem().as_bytes(), "re-encoded").expect("CSR PEM reparse");
    assert_eq!(again.der(), csr.der());
    assert_eq!(again.subject(), csr.subject());
    assert_eq!(again.public_key(), csr.public_key());
    let _ = csr.requested_sans();
    let f = fixture();
    // The one CSR policy: the given name, then the DNS and IP names the CSR requests.
    let mut policy = CsrPolicy::new(CsrUsage::Server, Validity::days_from(now(), 30));
    policy.names = vec![SubjectAltName::Dns("db.example.test".to_owned())];
    policy.copy_requested_names = true;
    let Ok(cert) = f.ca.sign_csr(&csr, &policy, now()) else {
        return;
    };
    let sans = cert.subject_alt_names();
    assert_eq!(
        sans.first(),
        Some(&SubjectAltName::Dns("db.example.test".to_owned()))
    );
    for s in csr.requested_sans() {
        let dns_or_ip = matches!(s, SubjectAltName::Dns(_) | SubjectAltName::Ip(_));
        assert_eq!(
            sans.contains(s),
            dns_or_ip || *s == SubjectAltName::Dns("db.example.test".to_owned()),
            "requested {s} copied (or not) against the policy"
        );
    }
    assert_eq!(
        cert.public_key(),
        csr.public_key(),
        "issued key differs from the CSR's"
    );
    assert_eq!(
        cert.subject().der(),
        csr.subject().der(),
        "subject not kept byte for byte"
    );
    assert_eq!(cert.issuer().der(), f.ca.certificate().subject().der());
    assert!(
        cert.is_signed_by(f.ca.certificate()),
        "not signed by the CA"
    );
    assert!(!cert.is_signed_by(f.other.certificate()));
    let back = Certificate::from_der(cert.der(), "issued").expect("issued cert reparse");
    assert!(back == cert);
}

/// CRL bytes: a CRL that parses re-encodes (DER and PEM) to the same CRL; every
/// listed serial is revoked according to `is_revoked`; signature checks do not panic.
pub fn crl_parse(data: &[u8]) {
    let Ok(crl) = Crl::from_pem_or_der(data, "fuzz") else {
        return;
    };
    let der = Crl::from_der(crl.der(), "der").expect("CRL DER reparse");
    assert_eq!(der.der(), crl.der());
    assert_eq!(der.entries(), crl.entries());
    let pem = Crl::from_pem_or_der(crl.to_pem().as_bytes(), "pem").expect("CRL PEM reparse");
    assert_eq!(pem.der(), crl.der());
    for e in crl.entries() {
        assert!(
            crl.is_revoked(&e.serial),
            "listed serial {} not revoked",
            e.serial.to_hex()
        );
    }
    let _ = (
        crl.issuer(),
        crl.this_update(),
        crl.next_update(),
        crl.crl_number(),
    );
    let _ = crl.authority_key_identifier();
    let f = fixture();
    let _ = crl.is_signed_by(f.ca.certificate());
}

/// Private-key bytes (PEM or DER, plain or encrypted; the first byte picks the
/// passphrase): a key that loads re-encodes to PKCS#8 that loads to the same key, and
/// an encrypted copy decrypts to the same key only with the right passphrase.
pub fn key_load(data: &[u8]) {
    let mut r = Reader::new(data);
    let pass: Option<&[u8]> = match r.u8() % 3 {
        0 => None,
        1 => Some(b"secret"),
        _ => Some(b""),
    };
    let input = r.rest();
    let Ok(key) = KeyPair::from_pem_or_der(input, pass, "fuzz") else {
        return;
    };
    let pem = key.to_pem();
    let back = KeyPair::from_pem_or_der(pem.as_bytes(), None, "pem").expect("own PEM reloads");
    assert_eq!(back.to_pkcs8_der(), key.to_pkcs8_der());
    assert!(back.matches(&key.public_key()));
    let back = KeyPair::from_pem_or_der(key.to_pkcs8_der(), None, "der").expect("own DER reloads");
    assert_eq!(back.public_key(), key.public_key());
    let enc = key
        .to_encrypted_pem_with_iterations(b"fuzz pass", 1000)
        .expect("encrypt");
    let dec = KeyPair::from_pem_or_der(enc.as_bytes(), Some(b"fuzz pass"), "enc").expect("decrypt");
    assert_eq!(dec.to_pkcs8_der(), key.to_pkcs8_der());
    assert!(KeyPair::from_pem_or_der(enc.as_bytes(), Some(b"wrong"), "enc").is_err());
    assert!(KeyPair::from_pem_or_der(enc.as_bytes(), None, "enc").is_err());
}

const ATTR_KINDS: &[&str] = &[
    "CN",
    "O",
    "OU",
    "DC",
    "C",
    "L",
    "ST",
    "emailAddress",
    "UID",
    "XX",
];
const LABEL: &[u8] = b"abcxyz019-_.*";

fn san(r: &mut Reader<'_>) -> SubjectAltName {
    match r.below(5) {
        0 | 1 => SubjectAltName::Dns(r.string_from(LABEL, 40)),
        2 => SubjectAltName::Ip(IpAddr::V4(Ipv4Addr::new(r.u8(), r.u8(), r.u8(), r.u8()))),
        3 => SubjectAltName::Ip(IpAddr::V6(Ipv6Addr::new(
            u16::from(r.u8()),
            0,
            0,
            0,
            0,
            0,
            0,
            u16::from(r.u8()),
        ))),
        _ => SubjectAltName::Email(format!("{}@example.test", r.string_from(LABEL, 10))),
    }
}

/// Structured issuance: certificate parameters built from fuzzer bytes, issued by the
/// fixture CA. Whatever is issued parses back with the requested subject (byte for
/// byte), SANs, serial, validity and CA flag, is signed by the CA and not by another;
/// a server certificate verifies under libpq's `verify-ca` with the CA as root, and
/// a client certificate is accepted by the server-side check.
pub fn cert_issue(data: &[u8]) {
    let mut r = Reader::new(data);
    let mut subject = DistinguishedName::empty();
    for _ in 0..r.below(4) {
        let kind = r.pick(ATTR_KINDS);
        let value = r.text(24);
        if subject.push(kind, &value).is_err() {
            // Invalid attributes are refused, never written.
        }
    }
    let sans: Vec<SubjectAltName> = (0..r.below(4)).map(|_| san(&mut r)).collect();
    let usage = match r.below(4) {
        0 => Usage::Ca {
            path_len: r.bool().then(|| r.u8() % 3),
        },
        1 => Usage::Client,
        _ => Usage::Server,
    };
    let days = 1 + u32::from(r.u8()) * 30;
    let serial = r
        .bool()
        .then(|| SerialNumber::from_bytes(r.bytes(21)).ok())
        .flatten();
    let constraints = (matches!(usage, Usage::Ca { .. }) && r.bool()).then(|| NameConstraints {
        permitted: vec![NameConstraint::Dns(r.string_from(LABEL, 12))],
        excluded: vec![NameConstraint::Ip {
            network: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)),
            prefix: r.u8() % 33,
        }],
    });
    let alg = match r.below(8) {
        0 => KeyAlgorithm::Ed25519,
        1 => KeyAlgorithm::EcdsaP384,
        _ => KeyAlgorithm::EcdsaP256,
    };
    let key = KeyPair::generate(alg).expect("key generation");
    let params = CertificateParams {
        subject,
        subject_alt_names: sans,
        validity: Validity::days_from(now(), days),
        serial,
        usage,
        name_constraints: constraints,
    };
    let f = fixture();
    let Ok(cert) = f.ca.issue(&params, &key.public_key(), now()) else {
        return;
    };
    let back = Certificate::from_der(cert.der(), "issued").expect("issued certificate reparses");
    assert!(back == cert);
    assert_eq!(
        cert.subject().der(),
        params.subject.der(),
        "subject not byte for byte"
    );
    assert_eq!(cert.issuer().der(), f.ca.certificate().subject().der());
    assert_eq!(cert.public_key(), &key.public_key());
    let mut want = params.subject_alt_names.clone();
    let mut got = cert.subject_alt_names().to_vec();
    want.sort_by_key(|s| format!("{s:?}"));
    got.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(got, want, "SANs differ");
    if let Some(s) = &params.serial {
        assert_eq!(cert.serial().as_ref(), Some(s));
    }
    assert_eq!(cert.not_before(), params.validity.not_before);
    assert_eq!(cert.not_after(), params.validity.not_after);
    assert_eq!(
        cert.constraints().is_ca,
        matches!(params.usage, Usage::Ca { .. }),
        "CA flag differs"
    );
    assert!(cert.is_signed_by(f.ca.certificate()));
    assert!(!cert.is_signed_by(f.other.certificate()));

    // issue -> verify: libpq (verify-ca, the fixture root) accepts a server certificate.
    if params.usage == Usage::Server {
        let mut p = pgtls_verify::Params::default();
        p.set("sslmode", "verify-ca".to_owned());
        p.set("host", "db.example.test".to_owned());
        p.set("sslrootcert", f.root.display().to_string());
        let v = pgtls_verify::verify_server(
            &p,
            &pgtls_verify::Env::empty(),
            pgtls_verify::PgVersion::V15,
            &[pgtls_verify::CertificateDer::from(cert.der().to_vec())],
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(NOW).unwrap_or(0),
            )),
        )
        .expect("verify_server on an issued certificate");
        assert!(
            v.accepted(),
            "issued server certificate rejected: {:?}",
            v.checks
        );
    }

    // issue -> handshake: the issued certificate's key signs (through the rustls
    // verifier, TLS 1.2 and 1.3); the CA's certificate never takes that signature.
    if r.bool() {
        let message = r.rest();
        super::verify::handshake_signatures(cert.der(), &key, message, message);
        super::verify::handshake_signatures(f.ca.certificate().der(), &key, message, message);
    }
}
