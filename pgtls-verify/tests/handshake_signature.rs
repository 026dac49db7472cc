//! Handshake signatures through `LibpqVerifier` (`verify_tls12_signature`,
//! `verify_tls13_signature`), with keys, certificates and signatures made by
//! the openssl CLI.
//!
//! The chain verdict says the certificate is the server's; only the handshake
//! signature says the peer holds its key. A forged signature accepted here
//! would let anyone with a copy of the server's certificate impersonate the
//! server. So, for every key type a PostgreSQL server can be given, every
//! signature scheme a peer can claim, TLS 1.2 and 1.3:
//! - an openssl-made signature is accepted exactly when the claimed scheme is
//!   the one it was made with and fits the key (RFC 8446 4.2.3: no PKCS#1 v1.5
//!   in TLS 1.3, where the ECDSA curve is also fixed by the scheme; RFC 5246 /
//!   RFC 8422: in TLS 1.2 an ECDSA scheme fixes the hash only) and the
//!   verifier advertises the scheme;
//! - a changed message, a changed, truncated or empty signature, and another
//!   key's certificate are refused;
//! - the verdict is rustls' own (webpki) wherever webpki parses the
//!   certificate, and a v1 certificate (libpq accepts those; webpki does not
//!   parse them) is decided as the v3 certificate of the same key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::internal::msgs::codec::Codec;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use pgtls_verify::{Env, LibpqVerifier, Params, PgVersion};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    P521,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// rsaEncryption key.
    Rsa,
    /// id-RSASSA-PSS key (`openssl genpkey -algorithm RSA-PSS`).
    RsaPss,
    Ec(Curve),
    Ed25519,
    Ed448,
}

struct Kind {
    name: &'static str,
    family: Family,
    genpkey: &'static [&'static str],
}

const KINDS: &[Kind] = &[
    Kind {
        name: "rsa2048",
        family: Family::Rsa,
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    },
    Kind {
        name: "rsapss2048",
        family: Family::RsaPss,
        genpkey: &["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
    },
    Kind {
        name: "p256",
        family: Family::Ec(Curve::P256),
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    },
    Kind {
        name: "p384",
        family: Family::Ec(Curve::P384),
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    },
    Kind {
        name: "p521",
        family: Family::Ec(Curve::P521),
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
    },
    Kind {
        name: "ed25519",
        family: Family::Ed25519,
        genpkey: &["-algorithm", "ED25519"],
    },
    Kind {
        name: "ed448",
        family: Family::Ed448,
        genpkey: &["-algorithm", "ED448"],
    },
];

/// Every scheme a peer may claim here, advertised by the verifier or not.
const CLAIMS: &[SignatureScheme] = &[
    SignatureScheme::RSA_PKCS1_SHA1,
    SignatureScheme::ECDSA_SHA1_Legacy,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP521_SHA512,
    SignatureScheme::ED25519,
    SignatureScheme::ED448,
];

/// A command line's words (none of the file names here has a space).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The hash a scheme signs with, as openssl's digest option.
fn digest(s: SignatureScheme) -> Option<&'static str> {
    use SignatureScheme as S;
    match s {
        S::RSA_PKCS1_SHA1 | S::ECDSA_SHA1_Legacy => Some("-sha1"),
        S::RSA_PKCS1_SHA256 | S::RSA_PSS_SHA256 | S::ECDSA_NISTP256_SHA256 => Some("-sha256"),
        S::RSA_PKCS1_SHA384 | S::RSA_PSS_SHA384 | S::ECDSA_NISTP384_SHA384 => Some("-sha384"),
        S::RSA_PKCS1_SHA512 | S::RSA_PSS_SHA512 | S::ECDSA_NISTP521_SHA512 => Some("-sha512"),
        _ => None,
    }
}

fn is_pkcs1(s: SignatureScheme) -> bool {
    use SignatureScheme as S;
    matches!(
        s,
        S::RSA_PKCS1_SHA1 | S::RSA_PKCS1_SHA256 | S::RSA_PKCS1_SHA384 | S::RSA_PKCS1_SHA512
    )
}

fn is_pss(s: SignatureScheme) -> bool {
    use SignatureScheme as S;
    matches!(s, S::RSA_PSS_SHA256 | S::RSA_PSS_SHA384 | S::RSA_PSS_SHA512)
}

fn ecdsa_curve(s: SignatureScheme) -> Option<Option<Curve>> {
    use SignatureScheme as S;
    match s {
        S::ECDSA_SHA1_Legacy => Some(None),
        S::ECDSA_NISTP256_SHA256 => Some(Some(Curve::P256)),
        S::ECDSA_NISTP384_SHA384 => Some(Some(Curve::P384)),
        S::ECDSA_NISTP521_SHA512 => Some(Some(Curve::P521)),
        _ => None,
    }
}

/// The schemes whose signatures openssl makes with a key of this family.
fn signable(f: Family) -> Vec<SignatureScheme> {
    CLAIMS
        .iter()
        .copied()
        .filter(|&s| match f {
            Family::Rsa => is_pkcs1(s) || is_pss(s),
            Family::RsaPss => is_pss(s),
            Family::Ec(_) => ecdsa_curve(s).is_some(),
            Family::Ed25519 => s == SignatureScheme::ED25519,
            Family::Ed448 => s == SignatureScheme::ED448,
        })
        .collect()
}

/// Signs `msg` (file in `dir`) with `key` as scheme `s` would, into `out`.
fn sign(dir: &Path, key: &str, s: SignatureScheme, out: &str) {
    if let Some(d) = digest(s) {
        let mut args = vec!["dgst", d, "-sign", key, "-out", out];
        if is_pss(s) {
            // RFC 8446: the salt is as long as the hash.
            args.extend([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:digest",
            ]);
        }
        args.push("msg");
        openssl(dir, &args);
    } else {
        openssl(
            dir,
            &[
                "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", "msg", "-out", out,
            ],
        );
    }
}

/// The independent model: does a signature made as `claim` with a key of
/// `family` verify under `claim` in this TLS version?
fn fits(
    family: Family,
    claim: SignatureScheme,
    tls13: bool,
    advertised: &[SignatureScheme],
) -> bool {
    if !advertised.contains(&claim) {
        return false;
    }
    if tls13 && (is_pkcs1(claim) || digest(claim) == Some("-sha1")) {
        return false;
    }
    match family {
        // rsa_pss_rsae_*: the key is rsaEncryption.
        Family::Rsa => is_pkcs1(claim) || is_pss(claim),
        // rsa_pss_pss_* would fit; the verifier does not advertise them.
        Family::RsaPss => false,
        Family::Ec(curve) => match ecdsa_curve(claim) {
            Some(Some(c)) => !tls13 || c == curve,
            _ => false,
        },
        Family::Ed25519 => claim == SignatureScheme::ED25519,
        Family::Ed448 => claim == SignatureScheme::ED448,
    }
}

fn dss(scheme: SignatureScheme, sig: &[u8]) -> DigitallySignedStruct {
    // As a peer sends it: scheme (u16), signature length (u16), signature.
    let mut wire = Vec::new();
    scheme.encode(&mut wire);
    wire.extend_from_slice(&u16::try_from(sig.len()).unwrap().to_be_bytes());
    wire.extend_from_slice(sig);
    DigitallySignedStruct::read_bytes(&wire).unwrap()
}

fn cert(dir: &Path, name: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(dir.join(name)).unwrap()
}

fn version_line(dir: &Path, name: &str) -> String {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(["x509", "-noout", "-text", "-in", name])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.trim_start().starts_with("Version:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn handshake_signatures_are_refused_unless_made_by_the_certificates_key() {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut msg: Vec<u8> = b"TLS 1.3, server CertificateVerify\0".to_vec();
    msg.extend((0u8..=255).map(|i| i.wrapping_mul(37)));
    std::fs::write(dir.join("msg"), &msg).unwrap();
    let mut changed = msg.clone();
    if let Some(last) = changed.last_mut() {
        *last ^= 1;
    }

    let params = Params::parse_conninfo("host=db.example.test sslmode=require").unwrap();
    let verifier = LibpqVerifier::new(&params, &Env::empty(), PgVersion::V15).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let advertised = verifier.supported_verify_schemes();
    let algs = provider.signature_verification_algorithms;

    let mut checked = 0usize;
    let mut accepted = 0usize;
    for kind in KINDS {
        let n = kind.name;
        // Key a signs; b is another key of the same type. a has a v3 and a
        // v1 certificate.
        for k in ["a", "b"] {
            let key = format!("{n}-{k}.key");
            let mut args = vec!["genpkey"];
            args.extend(kind.genpkey);
            args.extend(["-out", key.as_str()]);
            openssl(dir, &args);
            let v3 = format!(
                "req -new -x509 -key {key} -subj /CN=db.example.test -days 2 -out {n}-{k}-v3.pem"
            );
            openssl(dir, &words(&v3));
        }
        // No extensions file: `openssl x509 -req` makes a v1 certificate.
        let csr = format!("req -new -key {n}-a.key -subj /CN=db.example.test -out {n}-a.csr");
        openssl(dir, &words(&csr));
        let v1 = format!("x509 -req -in {n}-a.csr -signkey {n}-a.key -days 2 -out {n}-a-v1.pem");
        openssl(dir, &words(&v1));
        assert_eq!(
            version_line(dir, &format!("{n}-a-v1.pem")),
            "Version: 1 (0x0)"
        );
        assert_eq!(
            version_line(dir, &format!("{n}-a-v3.pem")),
            "Version: 3 (0x2)"
        );
        let a3 = cert(dir, &format!("{n}-a-v3.pem"));
        let a1 = cert(dir, &format!("{n}-a-v1.pem"));
        let b3 = cert(dir, &format!("{n}-b-v3.pem"));
        // Why the v1 case matters: webpki does not take it.
        assert!(
            webpki_parses(&a3),
            "{n}: webpki should parse the v3 certificate"
        );
        assert!(!webpki_parses(&a1), "{n}: webpki parsed a v1 certificate");

        for signed in signable(kind.family) {
            let sig_file = format!("{n}-{signed:?}.sig");
            sign(dir, &format!("{n}-a.key"), signed, &sig_file);
            let sig = std::fs::read(dir.join(&sig_file)).unwrap();
            let mut flipped = sig.clone();
            let mid = flipped.len() / 2;
            flipped[mid] ^= 0x10;
            let truncated = &sig[..sig.len() - 1];
            for &claim in CLAIMS {
                for tls13 in [false, true] {
                    let run = |m: &[u8], c: &CertificateDer<'_>, s: &[u8]| {
                        let d = dss(claim, s);
                        if tls13 {
                            verifier.verify_tls13_signature(m, c, &d).is_ok()
                        } else {
                            verifier.verify_tls12_signature(m, c, &d).is_ok()
                        }
                    };
                    let rustls_own = |m: &[u8], c: &CertificateDer<'_>, s: &[u8]| {
                        let d = dss(claim, s);
                        if tls13 {
                            rustls::crypto::verify_tls13_signature(m, c, &d, &algs).is_ok()
                        } else {
                            rustls::crypto::verify_tls12_signature(m, c, &d, &algs).is_ok()
                        }
                    };
                    let what = format!("{n} signed {signed:?}, claimed {claim:?}, tls13={tls13}");
                    let expect = claim == signed && fits(kind.family, claim, tls13, &advertised);

                    let got = run(&msg, &a3, &sig);
                    assert_eq!(got, expect, "{what}: v3 certificate");
                    assert_eq!(
                        got,
                        rustls_own(&msg, &a3, &sig),
                        "{what}: rustls' own verdict"
                    );
                    assert_eq!(
                        run(&msg, &a1, &sig),
                        got,
                        "{what}: v1 certificate of the same key"
                    );
                    accepted += usize::from(got);

                    for (case, m, c, s) in [
                        ("changed message", changed.as_slice(), &a3, sig.as_slice()),
                        (
                            "changed message, v1",
                            changed.as_slice(),
                            &a1,
                            sig.as_slice(),
                        ),
                        (
                            "flipped signature bit",
                            msg.as_slice(),
                            &a3,
                            flipped.as_slice(),
                        ),
                        (
                            "flipped signature bit, v1",
                            msg.as_slice(),
                            &a1,
                            flipped.as_slice(),
                        ),
                        ("truncated signature", msg.as_slice(), &a3, truncated),
                        ("empty signature", msg.as_slice(), &a3, &[][..]),
                        ("empty signature, v1", msg.as_slice(), &a1, &[][..]),
                        (
                            "another key's certificate",
                            msg.as_slice(),
                            &b3,
                            sig.as_slice(),
                        ),
                    ] {
                        assert!(!run(m, c, s), "{what}: {case} accepted");
                        if webpki_parses(c) {
                            assert!(!rustls_own(m, c, s), "{what}: {case}: rustls accepts");
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    // Not vacuous: RSA (PKCS#1 in 1.2, PSS in both), ECDSA (three curves,
    // cross-curve in 1.2) and Ed25519 signatures were accepted.
    assert!(checked > 300, "only {checked} combinations checked");
    assert!(accepted >= 20, "only {accepted} signatures accepted");
}

/// A certificate whose key type the verifier cannot use, or a signature
/// scheme it never advertised, is a refusal, not an error path that accepts.
#[test]
fn a_garbage_certificate_is_refused() {
    let params = Params::parse_conninfo("host=db.example.test sslmode=require").unwrap();
    let verifier = LibpqVerifier::new(&params, &Env::empty(), PgVersion::V15).unwrap();
    for der in [
        &b""[..],
        b"\x30\x00",
        b"\x30\x03\x02\x01\x00",
        &[0xffu8; 64][..],
    ] {
        let c = CertificateDer::from(der.to_vec());
        for &claim in CLAIMS {
            let d = dss(claim, &[0u8; 64]);
            assert!(verifier.verify_tls12_signature(b"m", &c, &d).is_err());
            assert!(verifier.verify_tls13_signature(b"m", &c, &d).is_err());
        }
    }
}

fn webpki_parses(c: &CertificateDer<'_>) -> bool {
    webpki::EndEntityCert::try_from(c).is_ok()
}
