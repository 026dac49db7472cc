//! Parse a 10,000-line pg_hba.conf (with and without dropping the model, and
//! the drop alone); parse a 10,000-line pg_ident.conf; evaluate a connection
//! against 10 and 10,000 rules; lint 300 lines. Before the criterion runs, the allocations
//! of one parse of each file are counted and printed. See BENCHMARKS.md
//! ("pgtls-hba") for numbers and the server-side comparison
//! (`server_view.sh`).

#![allow(missing_docs, clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pgtls_hba::{HbaFile, IdentFile, PgVersion, Request, ServerSettings, evaluate, lint};

/// The system allocator, counting allocations (a relaxed add: a few
/// nanoseconds, the same for every variant measured).
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is System's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (including reallocations) and bytes requested by `f`.
fn count<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    let (a, b) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    let v = f();
    (
        v,
        ALLOCS.load(Ordering::Relaxed) - a,
        BYTES.load(Ordering::Relaxed) - b,
    )
}

/// `n` realistic lines: a mix of types, lists, CIDRs, masks, options and comments.
pub fn synthetic(n: usize) -> String {
    let mut s = String::from("# synthetic pg_hba.conf\n");
    for i in 0..n {
        let (a, b) = ((i / 250) % 250, i % 250);
        let line = match i % 5 {
            0 => format!(
                "hostssl db{i},\"app {i}\" u{i},+g{a} 10.{a}.{b}.0/24 scram-sha-256 clientcert=verify-full\n"
            ),
            1 => format!("host    db{i} all 10.{a}.{b}.0 255.255.255.0 md5   # line {i}\n"),
            2 => format!("hostnossl all u{i} fd00:{a:x}:{b:x}::/48 reject\n"),
            3 => format!("hostssl all all 172.16.{a}.{b}/32 cert map=m{a}\n"),
            _ => format!("local   db{i} u{i} peer map=m{b}\n"),
        };
        s.push_str(&line);
    }
    s
}

/// `n` pg_ident.conf lines: plain and quoted names, comments, and one
/// regular expression (with `\1`) every 100 lines.
pub fn synthetic_ident(n: usize) -> String {
    let mut s = String::from("# synthetic pg_ident.conf\n");
    for i in 0..n {
        let line = match i % 4 {
            0 if i % 100 == 0 => format!("certmap{} /^(.*)@dept{i}\\.example\\.com$ \\1\n", i % 7),
            0 => format!("certmap{} cn{i}.example.com u{i}\n", i % 7),
            1 => format!("unixmap{}  sys{i}   \"App User {i}\"   # line {i}\n", i % 3),
            2 => format!("krb \"user{i}@EXAMPLE.COM\" u{i}\n"),
            _ => format!("m{} root{i} postgres\n", i % 11),
        };
        s.push_str(&line);
    }
    s
}

fn benches(c: &mut Criterion) {
    let settings = ServerSettings::new(PgVersion::V15, true);
    let big = synthetic(10_000);
    let ident = synthetic_ident(10_000);
    let (f, n, bytes) = count(|| HbaFile::parse_str(&big, settings.clone()));
    eprintln!("allocations: parse 10000 lines: {n} ({bytes} bytes)");
    let ((), n, _) = count(|| drop(f));
    debug_assert_eq!(n, 0);
    let (f, n, bytes) = count(|| IdentFile::parse_str(&ident, PgVersion::V15));
    eprintln!("allocations: parse 10000 ident lines: {n} ({bytes} bytes)");
    assert!(f.load().is_ok());
    drop(f);

    c.bench_function("parse 10000 lines", |b| {
        // Dropping the model is not part of parsing it.
        b.iter_with_large_drop(|| HbaFile::parse_str(black_box(&big), settings.clone()))
    });
    c.bench_function("parse and drop 10000 lines", |b| {
        b.iter(|| HbaFile::parse_str(black_box(&big), settings.clone()))
    });
    c.bench_function("drop 10000 lines", |b| {
        b.iter_batched(
            || HbaFile::parse_str(&big, settings.clone()),
            drop,
            BatchSize::LargeInput,
        )
    });
    c.bench_function("parse 10000 ident lines", |b| {
        b.iter_with_large_drop(|| IdentFile::parse_str(black_box(&ident), PgVersion::V15))
    });
    let small = HbaFile::parse_str(&synthetic(10), settings.clone());
    let large = HbaFile::parse_str(&big, settings.clone());
    assert!(large.load().is_ok());
    // No line matches: every rule is tried (the worst case).
    let miss = Request::tcp("192.0.2.1".parse().unwrap(), "nodb", "nouser").with_tls(true);
    c.bench_function("evaluate 10 rules (no match)", |b| {
        b.iter(|| evaluate(black_box(&small), black_box(&miss)))
    });
    c.bench_function("evaluate 10000 rules (no match)", |b| {
        b.iter(|| evaluate(black_box(&large), black_box(&miss)))
    });
    // Lint's witness search on the first 300 lines (the part that grows
    // with the file; parsing is a fraction of a millisecond of it).
    let first300 = HbaFile::parse_str(&synthetic(300), settings);
    let mut g = c.benchmark_group("lint");
    g.sample_size(10);
    g.bench_function("lint 300 lines", |b| {
        b.iter(|| lint(black_box(&first300), None))
    });
    g.finish();
}

criterion_group!(hba, benches);
criterion_main!(hba);
