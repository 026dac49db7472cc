//! What a CA says its chain is: `Ca::chain_pem` (its whole path, root included),
//! `Ca::presented_chain` (what a certificate holder sends after its own: no root) and
//! `Ca::full_chain_pem` (leaf then that), for a root, an intermediate, and a CA two
//! levels down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pgtls_core::{
    Ca, Certificate, CertificateParams, DistinguishedName, KeyAlgorithm, KeyPair, Validity,
};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn key() -> KeyPair {
    KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()
}

fn ca_params(name: &str, days: u32) -> CertificateParams {
    CertificateParams::ca(
        DistinguishedName::common_name(name),
        Validity::days_from(now(), days),
        None,
    )
}

fn subjects(pem: &str) -> Vec<String> {
    Certificate::chain_from_pem_or_der(pem.as_bytes(), "chain")
        .unwrap()
        .iter()
        .map(|c| c.subject().to_string())
        .collect()
}

fn leaf(ca: &Ca) -> Certificate {
    let p = CertificateParams::client("alice", Validity::days_from(now(), 30)).unwrap();
    ca.issue(&p, &key().public_key(), now()).unwrap()
}

#[test]
fn a_root_presents_nothing() {
    let root = Ca::create_root(&ca_params("Root", 3650), key()).unwrap();
    assert!(root.presented_chain().is_empty());
    assert_eq!(subjects(&root.chain_pem()), ["CN=Root"]);
    let l = leaf(&root);
    assert_eq!(root.full_chain_pem(&l), l.to_pem());
}

#[test]
fn intermediates_present_themselves_and_those_above_but_not_the_root() {
    let root = Ca::create_root(&ca_params("Root", 3650), key()).unwrap();
    let mid = root
        .create_intermediate(&ca_params("Mid", 3000), key(), now())
        .unwrap();
    let low = mid
        .create_intermediate(&ca_params("Low", 2000), key(), now())
        .unwrap();

    let names = |ca: &Ca| -> Vec<String> {
        ca.presented_chain()
            .iter()
            .map(|c| c.subject().to_string())
            .collect()
    };
    assert_eq!(names(&mid), ["CN=Mid"]);
    assert_eq!(names(&low), ["CN=Low", "CN=Mid"]);
    assert_eq!(subjects(&low.chain_pem()), ["CN=Low", "CN=Mid", "CN=Root"]);

    let l = leaf(&low);
    assert_eq!(
        subjects(&low.full_chain_pem(&l)),
        ["CN=alice", "CN=Low", "CN=Mid"]
    );
    // Each certificate of the full chain is signed by the next one.
    let chain =
        Certificate::chain_from_pem_or_der(low.full_chain_pem(&l).as_bytes(), "chain").unwrap();
    for pair in chain.windows(2) {
        assert!(pair[0].is_signed_by(&pair[1]));
    }
    assert!(chain[2].is_signed_by(root.certificate()));
}

#[test]
fn a_loaded_intermediate_given_its_root_in_the_chain_leaves_it_out() {
    // As `pgtls ca import --chain` loads one: the chain file holds the root.
    let root = Ca::create_root(&ca_params("Root", 3650), key()).unwrap();
    let k = key();
    let pem = k.to_pem();
    let mid = root
        .create_intermediate(&ca_params("Mid", 3000), k, now())
        .unwrap();
    let reloaded = Ca::from_parts(
        mid.certificate().clone(),
        KeyPair::from_pem_or_der(pem.as_bytes(), None, "key").unwrap(),
        vec![root.certificate().clone()],
        "mid",
    )
    .unwrap();
    let names: Vec<String> = reloaded
        .presented_chain()
        .iter()
        .map(|c| c.subject().to_string())
        .collect();
    assert_eq!(names, ["CN=Mid"]);
}
