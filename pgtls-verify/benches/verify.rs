//! Chain verifications per second (ECDSA P-256 and RSA-2048, one
//! intermediate) set against the signature verifications alone, and
//! host-name checks per second. Fixtures come from tests/fixtures/gen.sh
//! (openssl CLI). Run: `cargo bench -p pgtls-verify --bench verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use pgtls_verify::hostname::Leaf;
use pgtls_verify::{Env, Params, PgVersion, TrustConfig, policy};
use pgtls_x509::Certificate;

#[path = "../tests/common/mod.rs"]
mod common;
use common::fixtures;

fn der(dir: &Path, name: &str) -> pgtls_verify::CertificateDer<'static> {
    pgtls_verify::read_chain_file(&dir.join(format!("{name}.pem")))
        .unwrap()
        .remove(0)
}

fn trust(dir: &Path, root: &str) -> TrustConfig {
    let mut p = Params::default();
    p.sslmode = Some("verify-ca".into());
    p.sslrootcert = Some(dir.join(format!("{root}.pem")));
    let plan = policy::plan(&p, &Env::empty(), PgVersion::V15).unwrap();
    TrustConfig::load(&plan, &Env::empty()).unwrap()
}

fn chains(c: &mut Criterion) {
    let tmp = fixtures();
    let dir = tmp.path();
    let now = pgtls_verify::UnixTime::now();
    for (label, root, int, leaf) in [
        ("ecdsa-p256", "root", "int", "leaf"),
        ("rsa-2048", "rsaroot", "rsaint", "rsaleaf"),
    ] {
        let t = trust(dir, root);
        let chain = vec![der(dir, leaf), der(dir, int)];
        assert!(t.evaluate(&chain, now).unwrap().accepted());
        c.bench_function(&format!("chain/{label}/pgtls-verify"), |b| {
            b.iter(|| black_box(t.evaluate(black_box(&chain), now).unwrap().accepted()))
        });
        // The two signature checks alone (leaf by intermediate, intermediate by root).
        let root_der = der(dir, root);
        let r = Certificate::from_der(&root_der).unwrap();
        let i = Certificate::from_der(&chain[1]).unwrap();
        let l = Certificate::from_der(&chain[0]).unwrap();
        c.bench_function(&format!("chain/{label}/signatures-only"), |b| {
            b.iter(|| {
                assert!(l.is_signed_by(&i));
                assert!(i.is_signed_by(&r));
            })
        });
    }
}

fn hostnames(c: &mut Criterion) {
    let tmp = fixtures();
    let leaf = Leaf::from_der(&der(tmp.path(), "leaf")).unwrap();
    c.bench_function("hostname/match-dns-san", |b| {
        b.iter(|| black_box(leaf.check(black_box("db.example.test"), PgVersion::V15)))
    });
    c.bench_function("hostname/mismatch-message", |b| {
        b.iter(|| black_box(leaf.check(black_box("other.example.test"), PgVersion::V15)))
    });
    c.bench_function("hostname/ip-host", |b| {
        b.iter(|| black_box(leaf.check(black_box("127.0.0.1"), PgVersion::V15)))
    });
}

criterion_group!(benches, chains, hostnames);
criterion_main!(benches);
