//! Parse a 10,000-line pg_hba.conf; evaluate a connection against 10 and
//! 10,000 rules. See BENCHMARKS.md ("pgtls-hba") for numbers and the
//! server-side comparison (`server_view.sh`).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pgtls_hba::{HbaFile, PgVersion, Request, ServerSettings, evaluate};

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

fn benches(c: &mut Criterion) {
    let settings = ServerSettings::new(PgVersion::V15, true);
    let big = synthetic(10_000);
    c.bench_function("parse 10000 lines", |b| {
        // Dropping the model is not part of parsing it.
        b.iter_with_large_drop(|| HbaFile::parse_str(black_box(&big), settings))
    });
    let small = HbaFile::parse_str(&synthetic(10), settings);
    let large = HbaFile::parse_str(&big, settings);
    assert!(large.load().is_ok());
    // No line matches: every rule is tried (the worst case).
    let miss = Request::tcp("192.0.2.1".parse().unwrap(), "nodb", "nouser").with_tls(true);
    c.bench_function("evaluate 10 rules (no match)", |b| {
        b.iter(|| evaluate(black_box(&small), black_box(&miss)))
    });
    c.bench_function("evaluate 10000 rules (no match)", |b| {
        b.iter(|| evaluate(black_box(&large), black_box(&miss)))
    });
}

criterion_group!(hba, benches);
criterion_main!(hba);
