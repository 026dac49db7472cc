//! pgtls-core benchmarks: issuance through the store vs the bare signature, batch
//! issuance (10 and 100 certificates per commit) on disk and on tmpfs, RSA-4096 key
//! generation, CRL generation and parsing with 100,000 revoked entries.
//!
//! cargo bench -p pgtls-core --bench pki -- --warm-up-time 1 --measurement-time 3
//!
//! The on-disk stores live under `CARGO_TARGET_TMPDIR` (the target directory, on the
//! disk), the tmpfs ones under /dev/shm.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pgtls_core::{
    Ca, CertificateParams, Crl, CrlParams, DirStore, DistinguishedName, KeyAlgorithm, KeyPair,
    PublicKey, RevocationReason, RevokedEntry, SerialNumber, Store, Validity,
};
use time::OffsetDateTime;

fn root(now: OffsetDateTime) -> Ca {
    let p = CertificateParams::ca(
        DistinguishedName::parse_openssl("/DC=org/DC=example/CN=Bench CA").unwrap(),
        Validity::days_from(now, 3650),
        None,
    );
    Ca::create_root(&p, KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap()
}

/// A fresh store is made every this many issuances (not timed), so the index stays the
/// size of a real small CA rather than growing with the sample count.
const STORE_SIZE: u64 = 500;

fn issuance(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let leaf = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let params = CertificateParams::client("app", Validity::days_from(now, 365)).unwrap();
    let mut g = c.benchmark_group("issue_p256");

    // The bare ECDSA P-256 signature over a certificate-sized message.
    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let raw = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref()).unwrap();
    let tbs = vec![0x5a_u8; 400];
    g.bench_function("bare_signature", |b| {
        b.iter(|| black_box(raw.sign(&rng, black_box(&tbs)).unwrap()))
    });

    // A complete certificate from a CA in memory (rcgen build + name splice + signature).
    let ca = root(now);
    g.bench_function("ca_issue_in_memory", |b| {
        b.iter(|| black_box(ca.issue(&params, &leaf.public_key(), now).unwrap()))
    });

    // Through the directory store: lock, read and check index.txt, unique random serial,
    // sign, write the certificate and index.txt to fsynced temporaries, pending rename,
    // commit, move to newcerts/ (two file fsyncs, four directory fsyncs). On the disk the
    // fsyncs dominate; on tmpfs (fsync is free) what remains is the store's own work.
    let disk = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    g.bench_function("store_issue_disk", |b| {
        b.iter_custom(|iters| store_issue(disk.path(), iters, now, &params, &leaf))
    });
    if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
        g.bench_function("store_issue_tmpfs", |b| {
            b.iter_custom(|iters| store_issue(shm.path(), iters, now, &params, &leaf))
        });
    }
    g.finish();

    // Batches: one iteration is one batch of `n` certificates under one lock and one
    // commit (syncfs instead of per-file fsyncs from 4 on); criterion's throughput is
    // certificates per second, the time per certificate is the batch time / n.
    for n in [10_u64, 100] {
        let mut g = c.benchmark_group(format!("issue_batch{n}_p256"));
        g.throughput(Throughput::Elements(n));
        g.sample_size(10);
        let reqs: Vec<(CertificateParams, PublicKey)> = (0..n)
            .map(|_| (params.clone(), leaf.public_key()))
            .collect();
        g.bench_function("store_disk", |b| {
            b.iter_custom(|iters| store_batch(disk.path(), iters, now, &reqs))
        });
        if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
            g.bench_function("store_tmpfs", |b| {
                b.iter_custom(|iters| store_batch(shm.path(), iters, now, &reqs))
            });
        }
        g.finish();
    }
}

/// `iters` batches, a fresh store every `STORE_SIZE` certificates (not timed).
fn store_batch(
    base: &std::path::Path,
    iters: u64,
    now: OffsetDateTime,
    reqs: &[(CertificateParams, PublicKey)],
) -> Duration {
    let per_store = (STORE_SIZE / reqs.len() as u64).max(1);
    let mut total = Duration::ZERO;
    let mut done = 0;
    let mut n = 0;
    while done < iters {
        n += 1;
        let dir = base.join(format!("b{n}"));
        let store = DirStore::create(&dir, root(now), None).unwrap();
        let batches = (iters - done).min(per_store);
        let start = Instant::now();
        for _ in 0..batches {
            black_box(store.issue_batch(reqs, now).unwrap());
        }
        total += start.elapsed();
        done += batches;
        std::fs::remove_dir_all(&dir).unwrap();
    }
    total
}

fn store_issue(
    base: &std::path::Path,
    iters: u64,
    now: OffsetDateTime,
    params: &CertificateParams,
    leaf: &KeyPair,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    let mut n = 0;
    while done < iters {
        n += 1;
        let dir = base.join(format!("s{n}"));
        let store = DirStore::create(&dir, root(now), None).unwrap();
        let batch = (iters - done).min(STORE_SIZE);
        let start = Instant::now();
        for _ in 0..batch {
            black_box(store.issue(params, &leaf.public_key(), now).unwrap());
        }
        total += start.elapsed();
        done += batch;
        std::fs::remove_dir_all(&dir).unwrap();
    }
    total
}

fn keygen(c: &mut Criterion) {
    let mut g = c.benchmark_group("keygen");
    g.sample_size(10);
    g.bench_function("rsa4096", |b| {
        b.iter(|| black_box(KeyPair::generate(KeyAlgorithm::Rsa4096).unwrap()))
    });
    g.bench_function("p256", |b| {
        b.iter(|| black_box(KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()))
    });
    g.finish();
}

fn crl(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let ca = root(now);
    let revoked: Vec<RevokedEntry> = (0..100_000)
        .map(|_| RevokedEntry {
            serial: SerialNumber::random().unwrap(),
            revoked_at: now,
            reason: Some(RevocationReason::KeyCompromise),
        })
        .collect();
    let params = CrlParams {
        this_update: now,
        next_update: now + time::Duration::days(7),
        crl_number: SerialNumber::from_bytes(&[1]).unwrap(),
        revoked,
    };
    let mut g = c.benchmark_group("crl_100k");
    g.sample_size(10);
    g.bench_function("generate", |b| {
        b.iter(|| black_box(ca.sign_crl(&params).unwrap()))
    });
    let der = ca.sign_crl(&params).unwrap().der().to_vec();
    eprintln!("CRL with 100,000 entries: {} bytes DER", der.len());
    g.bench_function("parse", |b| {
        b.iter(|| black_box(Crl::from_der(black_box(&der), "bench").unwrap()))
    });
    g.finish();
}

criterion_group!(benches, issuance, keygen, crl);
criterion_main!(benches);
