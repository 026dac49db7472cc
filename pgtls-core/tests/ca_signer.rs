//! A CA whose key signs through a `CaSigner` that is not the in-memory key: every
//! certificate and CRL is signed through the trait (counted), verifies with openssl, and
//! a signer's failure reaches the caller as its own error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pgtls_core::{
    Ca, CaSigner, CertificateParams, CrlParams, DirStore, DistinguishedName, Error, KeyAlgorithm,
    KeyPair, PublicKey, RevokedEntry, SerialNumber, Validity,
};
use pgtls_testkit::{openssl, require_openssl};
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Holds a key as a remote signer would (it never hands the key out) and counts the
/// signatures it makes; fails every signature when `fail` is set.
struct Counting {
    key: KeyPair,
    signed: Arc<AtomicUsize>,
    fail: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("the token is not logged in")]
struct TokenError;

impl CaSigner for Counting {
    fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        if self.fail {
            return Err(Error::Signer {
                source: Box::new(TokenError),
            });
        }
        self.signed.fetch_add(1, Ordering::SeqCst);
        CaSigner::sign(&self.key, message)
    }
}

fn ca_params() -> CertificateParams {
    CertificateParams::ca(
        DistinguishedName::parse_openssl("/O=pgtls test/CN=remote CA").unwrap(),
        Validity::days_from(now(), 30),
        None,
    )
}

#[test]
fn certificates_and_crls_are_signed_through_the_signer() {
    require_openssl().unwrap();
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
    ] {
        let signed = Arc::new(AtomicUsize::new(0));
        let signer = Counting {
            key: KeyPair::generate(alg).unwrap(),
            signed: Arc::clone(&signed),
            fail: false,
        };
        let ca = Ca::create_root_with_signer(&ca_params(), Box::new(signer)).unwrap();
        assert_eq!(
            signed.load(Ordering::SeqCst),
            1,
            "{alg:?}: the CA certificate"
        );
        assert!(ca.key().is_none(), "the key is not in the CA's memory");
        assert!(ca.certificate().is_signed_by(ca.certificate()));

        let leaf_key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let params = CertificateParams::client("alice", Validity::days_from(now(), 7)).unwrap();
        let leaf = ca.issue(&params, &leaf_key.public_key(), now()).unwrap();
        assert_eq!(signed.load(Ordering::SeqCst), 2, "{alg:?}: the leaf");
        assert!(leaf.is_signed_by(ca.certificate()));

        let crl = ca
            .sign_crl(&CrlParams {
                this_update: now(),
                next_update: now() + Duration::days(7),
                crl_number: SerialNumber::from_bytes(&[1]).unwrap(),
                revoked: vec![RevokedEntry {
                    serial: leaf.serial().unwrap(),
                    revoked_at: now(),
                    reason: None,
                }],
            })
            .unwrap();
        assert_eq!(signed.load(Ordering::SeqCst), 3, "{alg:?}: the CRL");
        assert!(crl.is_signed_by(ca.certificate()));

        // An independent check of both signatures.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("ca.pem"), ca.certificate().to_pem()).unwrap();
        fs::write(d.join("leaf.pem"), leaf.to_pem()).unwrap();
        fs::write(d.join("crl.pem"), crl.to_pem()).unwrap();
        openssl(d, &["verify", "-CAfile", "ca.pem", "leaf.pem"]).unwrap();
        let out = openssl(d, &["crl", "-CAfile", "ca.pem", "-in", "crl.pem", "-noout"]).unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("verify OK"), "{alg:?}: {text}");
    }
}

#[test]
fn a_signers_failure_is_its_own_error_and_a_dir_store_needs_the_key() {
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let ca = Ca::create_root(&ca_params(), key).unwrap();
    let pem = ca.key().unwrap().to_pem();
    let failing = Counting {
        key: KeyPair::from_pem_or_der(pem.as_bytes(), None, "key").unwrap(),
        signed: Arc::new(AtomicUsize::new(0)),
        fail: true,
    };
    let remote = Ca::from_signer(
        ca.certificate().clone(),
        Box::new(failing),
        Vec::new(),
        "CA",
    )
    .unwrap();
    let params = CertificateParams::client("bob", Validity::days_from(now(), 7)).unwrap();
    let subject_key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    match remote.issue(&params, &subject_key.public_key(), now()) {
        Err(e @ Error::Signer { .. }) => {
            let source = std::error::Error::source(&e).unwrap();
            assert_eq!(source.to_string(), "the token is not logged in");
        }
        other => panic!("{other:?}"),
    }

    // A directory store writes the CA key to private/cakey.pem: it refuses a CA whose
    // key is elsewhere, and leaves nothing behind.
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("store");
    match DirStore::create(&dir, remote, None) {
        Err(Error::InvalidParameter {
            field: "CA key", ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(!dir.exists());

    // A signer of another key is refused.
    let other = Counting {
        key: KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        signed: Arc::new(AtomicUsize::new(0)),
        fail: false,
    };
    assert!(matches!(
        Ca::from_signer(ca.certificate().clone(), Box::new(other), Vec::new(), "CA"),
        Err(Error::KeyMismatch { .. })
    ));
}
