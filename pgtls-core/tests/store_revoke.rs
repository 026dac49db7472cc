//! `Store::revoke_certificate`: a certificate of the store's CA is revoked; one of
//! another CA (even with the same subject, or with a serial the store knows) is refused
//! with `Error::NotIssuedByCa` and the index is left as it was; one the CA signed but
//! the store never recorded is an unknown serial.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use pgtls_core::{
    Ca, CertificateParams, DirStore, DistinguishedName, Error, IndexStatus, KeyAlgorithm, KeyPair,
    RevocationReason, Store, StoreFiles, Validity,
};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn root(name: &str) -> Ca {
    let p = CertificateParams::ca(
        DistinguishedName::common_name(name),
        Validity::days_from(now(), 3650),
        None,
    );
    Ca::create_root(&p, KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap()
}

fn client(name: &str) -> CertificateParams {
    CertificateParams::client(name, Validity::days_from(now(), 30)).unwrap()
}

fn key() -> KeyPair {
    KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()
}

fn index(dir: &Path) -> Vec<u8> {
    fs::read(StoreFiles::in_dir(dir).index).unwrap()
}

#[test]
fn revokes_a_certificate_of_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store = DirStore::create(tmp.path(), root("Revoke CA"), None).unwrap();
    let cert = store
        .issue(&client("alice"), &key().public_key(), now())
        .unwrap();
    let entry = store
        .revoke_certificate(&cert, Some(RevocationReason::KeyCompromise), now())
        .unwrap();
    assert_eq!(Some(&entry.serial), cert.serial().as_ref());
    assert!(matches!(
        entry.status,
        IndexStatus::Revoked {
            reason: Some(RevocationReason::KeyCompromise),
            ..
        }
    ));
    let listed = store.entries().unwrap();
    assert!(matches!(listed[0].status, IndexStatus::Revoked { .. }));
    // Twice is the store's own refusal.
    assert!(matches!(
        store.revoke_certificate(&cert, None, now()),
        Err(Error::AlreadyRevoked { .. })
    ));
}

#[test]
fn refuses_a_certificate_of_another_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let store = DirStore::create(tmp.path(), root("Revoke CA"), None).unwrap();
    let mine = store
        .issue(&client("alice"), &key().public_key(), now())
        .unwrap();
    let before = index(tmp.path());

    // Another CA with the same name, issuing with the serial the store knows: the issuer
    // name matches, only the signature tells them apart.
    let twin = root("Revoke CA");
    let mut p = client("alice");
    p.serial = mine.serial();
    let forged = twin.issue(&p, &key().public_key(), now()).unwrap();
    assert_eq!(forged.serial(), mine.serial());
    assert_eq!(forged.issuer(), mine.issuer());
    let err = store.revoke_certificate(&forged, None, now()).unwrap_err();
    let Error::NotIssuedByCa {
        subject,
        serial,
        ca,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(subject, "CN=alice");
    assert_eq!(serial, &mine.serial_hex());
    assert_eq!(ca, "CN=Revoke CA");

    // A CA of another name.
    let other = root("Other CA");
    let theirs = other
        .issue(&client("bob"), &key().public_key(), now())
        .unwrap();
    assert!(matches!(
        store.revoke_certificate(&theirs, None, now()),
        Err(Error::NotIssuedByCa { .. })
    ));
    // The CA certificate of another CA is not issued by this one either.
    assert!(matches!(
        store.revoke_certificate(other.certificate(), None, now()),
        Err(Error::NotIssuedByCa { .. })
    ));

    assert_eq!(index(tmp.path()), before, "a refusal changed the index");
}

#[test]
fn a_certificate_the_store_never_recorded_is_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let store = DirStore::create(tmp.path(), root("Revoke CA"), None).unwrap();
    store
        .issue(&client("alice"), &key().public_key(), now())
        .unwrap();
    let before = index(tmp.path());
    // Signed by the store's CA key, but not through the store.
    let unrecorded = store
        .ca()
        .issue(&client("carol"), &key().public_key(), now())
        .unwrap();
    assert!(matches!(
        store.revoke_certificate(&unrecorded, None, now()),
        Err(Error::UnknownSerial { .. })
    ));
    assert_eq!(index(tmp.path()), before);
}
