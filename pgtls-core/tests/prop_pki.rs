//! Property tests for the PKI (issue #6):
//!
//! * CRL generate → parse is the identity (entries, numbers, times, signature);
//! * issue → verify holds for every key type (CA and subject) and every profile,
//!   with `openssl verify` as the independent verifier;
//! * a revoked certificate never verifies once its CRL is loaded (`openssl verify
//!   -crl_check`), and a certificate not on the CRL still does.
//!
//! RSA keys are generated once per size and reused (RSA-4096 takes ~0.5 s).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::sync::OnceLock;

use pgtls_core::{
    Ca, CertificateParams, Crl, CrlParams, DistinguishedName, KeyAlgorithm, KeyPair,
    RevocationReason, RevokedEntry, SerialNumber, SubjectAltName, Usage, Validity,
};
use pgtls_testkit::{openssl_raw, require_openssl};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

const ALGS: [KeyAlgorithm; 6] = [
    KeyAlgorithm::EcdsaP256,
    KeyAlgorithm::EcdsaP384,
    KeyAlgorithm::Ed25519,
    KeyAlgorithm::Rsa2048,
    KeyAlgorithm::Rsa3072,
    KeyAlgorithm::Rsa4096,
];

/// One key per algorithm, made once (the keys themselves are not the property).
fn key(alg: KeyAlgorithm) -> KeyPair {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    let pems = KEYS.get_or_init(|| {
        ALGS.iter()
            .map(|a| KeyPair::generate(*a).unwrap().to_pem())
            .collect()
    });
    let i = ALGS.iter().position(|a| *a == alg).unwrap();
    KeyPair::from_pem_or_der(pems[i].as_bytes(), None, "cached key").unwrap()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn root(alg: KeyAlgorithm, cn: &str) -> Ca {
    let params = CertificateParams::ca(
        DistinguishedName::parse_openssl(&format!("/DC=org/DC=example/O=prop/CN={cn}")).unwrap(),
        Validity::days_from(now(), 3650),
        None,
    );
    Ca::create_root(&params, key(alg)).unwrap()
}

fn alg() -> impl Strategy<Value = KeyAlgorithm> {
    prop::sample::select(ALGS.to_vec())
}

fn reason() -> impl Strategy<Value = Option<RevocationReason>> {
    prop::option::of(
        (0u8..=10)
            .prop_filter("7 is unused", |c| *c != 7)
            .prop_map(|c| RevocationReason::from_code(c).unwrap()),
    )
}

fn serial() -> impl Strategy<Value = SerialNumber> {
    prop::collection::vec(any::<u8>(), 1..=20).prop_filter_map("a valid serial", |mut b| {
        b[0] &= 0x7f;
        if b[0] == 0 {
            b[0] = 1;
        }
        SerialNumber::from_bytes(&b).ok()
    })
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// `openssl verify`: Ok(()) or the output.
fn openssl_verify(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = openssl_raw(dir, args).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.contains(": OK") {
        Ok(())
    } else {
        Err(text)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn crl_generate_then_parse_is_identity(
        entries in prop::collection::vec((serial(), 0i64..100_000_000, reason()), 0..12),
        number in serial(),
        days in 1i64..4000,
        pem in any::<bool>(),
    ) {
        static CA: OnceLock<Ca> = OnceLock::new();
        let ca = CA.get_or_init(|| root(KeyAlgorithm::EcdsaP256, "CRL prop CA"));
        let this_update = now();
        let mut revoked: Vec<RevokedEntry> = entries
            .into_iter()
            .map(|(serial, ago, reason)| RevokedEntry {
                serial,
                revoked_at: this_update - Duration::seconds(ago),
                reason: reason.filter(|r| *r != RevocationReason::Unspecified),
            })
            .collect();
        revoked.sort_by(|a, b| a.serial.cmp(&b.serial));
        revoked.dedup_by(|a, b| a.serial == b.serial);
        let params = CrlParams {
            this_update,
            next_update: this_update + Duration::days(days),
            crl_number: number.clone(),
            revoked: revoked.clone(),
        };
        let crl = ca.sign_crl(&params).unwrap();
        let text = crl.to_pem();
        let parsed = if pem {
            Crl::from_pem_or_der(text.as_bytes(), "pem").unwrap()
        } else {
            Crl::from_der(crl.der(), "der").unwrap()
        };
        prop_assert_eq!(parsed.der(), crl.der());
        let mut got = parsed.entries().to_vec();
        got.sort_by(|a, b| a.serial.cmp(&b.serial));
        prop_assert_eq!(&got, &revoked);
        prop_assert_eq!(parsed.crl_number(), Some(&number));
        prop_assert_eq!(parsed.this_update(), params.this_update);
        prop_assert_eq!(parsed.next_update(), Some(params.next_update));
        prop_assert_eq!(parsed.issuer(), ca.certificate().subject());
        prop_assert!(parsed.is_signed_by(ca.certificate()));
        for e in &revoked {
            prop_assert!(parsed.is_revoked(&e.serial));
        }
    }
}

proptest! {
    // Every case runs openssl a few times: keep the count small; the strategy space
    // is 6 CA key types x 6 subject key types x 3 profiles.
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn issued_certificates_verify_and_revoked_ones_never_do(
        ca_alg in alg(),
        leaf_alg in alg(),
        profile in 0u8..3,
        revoke in any::<bool>(),
        other_revoked in prop::collection::vec(serial(), 0..4),
    ) {
        require_openssl().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let ca = root(ca_alg, "Prop Root");
        let now = now();
        let (params, purpose) = match profile {
            0 => (
                CertificateParams::server(
                    &["db.example.test".parse::<SubjectAltName>().unwrap()],
                    None,
                    Validity::days_from(now, 30),
                )
                .unwrap(),
                "sslserver",
            ),
            1 => (CertificateParams::client("alice", Validity::days_from(now, 30)).unwrap(), "sslclient"),
            _ => (
                CertificateParams::ca(
                    DistinguishedName::parse_openssl("/O=prop/CN=Prop Intermediate").unwrap(),
                    Validity::days_from(now, 30),
                    Some(0),
                ),
                "any",
            ),
        };
        let leaf = ca.issue(&params, &key(leaf_alg).public_key(), now).unwrap();
        prop_assert_eq!(leaf.constraints().is_ca, matches!(params.usage, Usage::Ca { .. }));
        write(dir, "ca.pem", &ca.certificate().to_pem());
        write(dir, "leaf.pem", &leaf.to_pem());
        let purpose_arg = format!("-purpose={purpose}");
        let mut args = vec!["verify", "-CAfile", "ca.pem"];
        if purpose != "any" {
            args.push(purpose_arg.as_str());
        }
        args.push("leaf.pem");
        let plain = openssl_verify(dir, &args);
        prop_assert!(plain.is_ok(), "openssl rejects an issued certificate ({:?} CA, {:?} leaf, profile {}): {}",
            ca_alg, leaf_alg, profile, plain.unwrap_err());

        // The CRL: other serials, plus the leaf's when `revoke`.
        let leaf_serial = leaf.serial().unwrap();
        let mut revoked: Vec<RevokedEntry> = other_revoked
            .into_iter()
            .filter(|s| *s != leaf_serial)
            .map(|serial| RevokedEntry { serial, revoked_at: now - Duration::hours(1), reason: None })
            .collect();
        if revoke {
            revoked.push(RevokedEntry {
                serial: leaf_serial.clone(),
                revoked_at: now - Duration::minutes(1),
                reason: Some(RevocationReason::KeyCompromise),
            });
        }
        let crl = ca
            .sign_crl(&CrlParams {
                this_update: now - Duration::minutes(1),
                next_update: now + Duration::days(1),
                crl_number: SerialNumber::from_bytes(&[1]).unwrap(),
                revoked,
            })
            .unwrap();
        prop_assert_eq!(crl.is_revoked(&leaf_serial), revoke);
        write(dir, "crl.pem", &crl.to_pem());
        let mut args = vec!["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem"];
        if purpose != "any" {
            args.push(purpose_arg.as_str());
        }
        args.push("leaf.pem");
        let with_crl = openssl_verify(dir, &args);
        if revoke {
            let err = with_crl.expect_err("a revoked certificate verified with its CRL loaded");
            prop_assert!(err.contains("certificate revoked"), "unexpected failure: {}", err);
        } else {
            prop_assert!(with_crl.is_ok(), "not revoked but rejected with the CRL: {}", with_crl.unwrap_err());
        }
    }
}
