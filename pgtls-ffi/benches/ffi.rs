//! The cost of the C ABI: a host-name check and a chain verification through
//! the exported functions, against the same work done by calling the Rust
//! crates directly. The difference is the per-call overhead of pgtls-ffi
//! (argument checks, conversions, catch_unwind, result objects).
//!
//! `cargo bench -p pgtls-ffi --bench ffi`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::ptr;

use criterion::{Criterion, criterion_group, criterion_main};
use pgtls_core::{Ca, CertificateParams, DistinguishedName, KeyAlgorithm, KeyPair, Validity};
use pgtls_verify::hostname::{HostCheck, Leaf};
use pgtls_verify::{Env, Params, PgVersion, read_chain_pem, verify_server};

struct Fixture {
    _dir: tempfile::TempDir,
    chain_pem: String,
    conninfo: String,
    now: i64,
}

fn fixture() -> Fixture {
    let now_t = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let ca_params = CertificateParams::ca(
        DistinguishedName::parse_openssl("/O=bench/CN=Bench CA").unwrap(),
        Validity::days_from(now_t, 3650),
        Some(0),
    );
    let ca = Ca::create_root(
        &ca_params,
        KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap(),
    )
    .unwrap();
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let names = vec!["db.example.com".parse().unwrap()];
    let params = CertificateParams::server(&names, None, Validity::days_from(now_t, 365)).unwrap();
    let cert = ca.issue(&params, &key.public_key(), now_t).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.crt");
    std::fs::write(&root, ca.certificate().to_pem()).unwrap();
    Fixture {
        conninfo: format!(
            "host=db.example.com sslmode=verify-full sslrootcert={}",
            root.display()
        ),
        chain_pem: cert.to_pem(),
        now: now_t.unix_timestamp(),
        _dir: dir,
    }
}

fn hostname(c: &mut Criterion) {
    let f = fixture();
    let der = read_chain_pem(f.chain_pem.as_bytes()).unwrap().remove(0);
    let leaf = Leaf::from_der(&der).unwrap();
    let mut ffi_leaf = ptr::null_mut();
    // SAFETY: valid (ptr, len) input and output slot.
    let st =
        unsafe { pgtls::pgtls_leaf_parse(der.as_ptr(), der.len(), &mut ffi_leaf, ptr::null_mut()) };
    assert_eq!(st, pgtls::pgtls_status::Ok);
    let mut g = c.benchmark_group("hostname check (match)");
    g.bench_function("rust", |b| {
        b.iter(|| {
            let r = leaf.check(black_box("db.example.com"), PgVersion::V15);
            assert!(matches!(r, HostCheck::Match(_)));
        });
    });
    g.bench_function("c abi", |b| {
        b.iter(|| {
            let host = black_box("db.example.com");
            // SAFETY: live leaf, valid input.
            let st = unsafe {
                pgtls::pgtls_leaf_check_host(
                    ffi_leaf,
                    host.as_ptr(),
                    host.len(),
                    15,
                    ptr::null_mut(),
                )
            };
            assert_eq!(st, pgtls::pgtls_status::Ok);
        });
    });
    g.finish();
    let mut g = c.benchmark_group("hostname check (mismatch, with error object)");
    g.bench_function("rust", |b| {
        b.iter(|| {
            let r = leaf.check(black_box("other.example.com"), PgVersion::V15);
            assert!(matches!(r, HostCheck::Reject(_)));
        });
    });
    g.bench_function("c abi", |b| {
        b.iter(|| {
            let host = black_box("other.example.com");
            let mut err = ptr::null_mut();
            // SAFETY: live leaf, valid input, error slot.
            let st = unsafe {
                pgtls::pgtls_leaf_check_host(ffi_leaf, host.as_ptr(), host.len(), 15, &mut err)
            };
            assert_eq!(st, pgtls::pgtls_status::HostnameMismatch);
            // SAFETY: the error object came from pgtls.
            unsafe { pgtls::pgtls_error_free(err) };
        });
    });
    g.finish();
    // SAFETY: freed once.
    unsafe { pgtls::pgtls_leaf_free(ffi_leaf) };
}

fn chain(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("verify-full chain verification");
    g.bench_function("rust", |b| {
        b.iter(|| {
            let params = Params::parse_conninfo(black_box(&f.conninfo)).unwrap();
            let chain = read_chain_pem(black_box(f.chain_pem.as_bytes())).unwrap();
            let v = verify_server(&params, &Env::empty(), PgVersion::V15, &chain, f.now).unwrap();
            assert!(v.accept);
        });
    });
    g.bench_function("c abi", |b| {
        b.iter(|| {
            let mut v = ptr::null_mut();
            // SAFETY: valid inputs and output slot; the verdict is freed once.
            unsafe {
                let st = pgtls::pgtls_verify_server(
                    f.conninfo.as_ptr(),
                    f.conninfo.len(),
                    f.chain_pem.as_ptr(),
                    f.chain_pem.len(),
                    15,
                    f.now,
                    &mut v,
                    ptr::null_mut(),
                );
                assert_eq!(st, pgtls::pgtls_status::Ok);
                assert!(pgtls::pgtls_verdict_accept(v));
                pgtls::pgtls_verdict_free(v);
            }
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(4));
    targets = hostname, chain
}
criterion_main!(benches);
