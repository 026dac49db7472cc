//! The cost of the C ABI: a host-name check, a chain verification and a
//! pg_hba.conf evaluation through the exported functions, against the same work done by calling the Rust
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
    let st = unsafe {
        pgtls_ffi::pgtls_leaf_parse(der.as_ptr(), der.len(), &mut ffi_leaf, ptr::null_mut())
    };
    assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
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
            let mut matches = false;
            // SAFETY: live leaf, valid input, output slot.
            let st = unsafe {
                pgtls_ffi::pgtls_leaf_check_host(
                    ffi_leaf,
                    host.as_ptr(),
                    host.len(),
                    15,
                    &mut matches,
                    ptr::null_mut(),
                    ptr::null_mut(),
                )
            };
            assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
            assert!(matches);
        });
    });
    g.finish();
    let mut g = c.benchmark_group("hostname check (mismatch, with message)");
    g.bench_function("rust", |b| {
        b.iter(|| {
            let r = leaf.check(black_box("other.example.com"), PgVersion::V15);
            assert!(matches!(r, HostCheck::Reject(_)));
        });
    });
    g.bench_function("c abi", |b| {
        b.iter(|| {
            let host = black_box("other.example.com");
            let mut matches = true;
            let mut message = ptr::null_mut();
            // SAFETY: live leaf, valid input, output slots; the message is freed once.
            unsafe {
                let st = pgtls_ffi::pgtls_leaf_check_host(
                    ffi_leaf,
                    host.as_ptr(),
                    host.len(),
                    15,
                    &mut matches,
                    &mut message,
                    ptr::null_mut(),
                );
                assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
                assert!(!matches && !message.is_null());
                pgtls_ffi::pgtls_buf_free(message);
            }
        });
    });
    g.finish();
    // SAFETY: freed once.
    unsafe { pgtls_ffi::pgtls_leaf_free(ffi_leaf) };
}

fn chain(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("verify-full chain verification");
    g.bench_function("rust", |b| {
        b.iter(|| {
            let params = Params::parse_conninfo(black_box(&f.conninfo)).unwrap();
            let chain = read_chain_pem(black_box(f.chain_pem.as_bytes())).unwrap();
            let v = verify_server(
                &params,
                &Env::empty(),
                PgVersion::V15,
                &chain,
                pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                    u64::try_from(f.now).unwrap_or(0),
                )),
            )
            .unwrap();
            assert!(v.accepted());
        });
    });
    g.bench_function("c abi", |b| {
        b.iter(|| {
            let mut v = ptr::null_mut();
            // SAFETY: valid inputs and output slot; the verdict is freed once.
            unsafe {
                let st = pgtls_ffi::pgtls_verify_server(
                    f.conninfo.as_ptr(),
                    f.conninfo.len(),
                    f.chain_pem.as_ptr(),
                    f.chain_pem.len(),
                    15,
                    f.now,
                    &mut v,
                    ptr::null_mut(),
                );
                assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
                assert_eq!(
                    pgtls_ffi::pgtls_verdict_outcome(v),
                    pgtls_ffi::pgtls_chain_outcome::Accept
                );
                pgtls_ffi::pgtls_verdict_free(v);
            }
        });
    });
    g.finish();
}

/// A pg_hba.conf of 21 records whose last one matches.
fn hba_text() -> String {
    let mut t = String::new();
    for i in 0..20 {
        t.push_str(&format!("hostssl db{i} all 192.168.{i}.0/24 cert\n"));
    }
    t.push_str("hostssl all all 10.0.0.0/8 scram-sha-256\n");
    t
}

fn hba(c: &mut Criterion) {
    use pgtls_hba::{HbaFile, NoSource, Request, ServerSettings, evaluate};
    let text = hba_text();
    let file = HbaFile::parse(
        "pg_hba.conf",
        text.as_bytes(),
        ServerSettings::new(PgVersion::V15, true),
        &NoSource,
    );
    let mut h = ptr::null_mut();
    // SAFETY: valid input and output slot.
    let st = unsafe {
        pgtls_ffi::pgtls_hba_parse(text.as_ptr(), text.len(), 15, true, &mut h, ptr::null_mut())
    };
    assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
    let (addr, db, user, server) = ("10.1.2.3", "app", "alice", "10.1.0.1/16");
    let mut g = c.benchmark_group("pg_hba.conf evaluation (21 records, last matches)");
    g.bench_function("rust", |b| {
        b.iter(|| {
            let req = Request::tcp(black_box(addr).parse().unwrap(), db, user)
                .with_tls(true)
                .with_server_addresses(vec![("10.1.0.1".parse().unwrap(), 16)]);
            assert_eq!(evaluate(&file, &req).line_number(), Some(21));
        });
    });
    g.bench_function("c abi, request built per call", |b| {
        b.iter(|| {
            let a = black_box(addr);
            let mut r = ptr::null_mut();
            let mut d = ptr::null_mut();
            let e = ptr::null_mut();
            // SAFETY: live hba, valid inputs; request and decision are freed once.
            unsafe {
                let mut st = pgtls_ffi::pgtls_hba_request_new(
                    db.as_ptr(),
                    db.len(),
                    user.as_ptr(),
                    user.len(),
                    &mut r,
                    e,
                );
                assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
                st = pgtls_ffi::pgtls_hba_request_set_address(r, a.as_ptr(), a.len(), e);
                assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
                st = pgtls_ffi::pgtls_hba_request_set_flags(r, pgtls_ffi::PGTLS_HBA_REQUEST_TLS, e);
                assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
                st = pgtls_ffi::pgtls_hba_request_add_server_address(
                    r,
                    server.as_ptr(),
                    server.len(),
                    e,
                );
                assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
                st = pgtls_ffi::pgtls_hba_evaluate_request(h, r, &mut d, e);
                assert_eq!(st, pgtls_ffi::pgtls_status::Ok);
                assert_eq!(pgtls_ffi::pgtls_hba_decision_line(d), 21);
                pgtls_ffi::pgtls_hba_decision_free(d);
                pgtls_ffi::pgtls_hba_request_free(r);
            }
        });
    });
    g.finish();
    // SAFETY: freed once.
    unsafe { pgtls_ffi::pgtls_hba_free(h) };
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(4));
    targets = hostname, chain, hba
}
criterion_main!(benches);
