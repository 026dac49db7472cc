//! A writer killed at every point of every store operation, on purpose.
//!
//! `store_stress` kills workers at random instants; whether a kill lands inside the short
//! windows of a batch or between the two renames of a CRL depends on the disk's speed
//! (on tmpfs 900 random kills never landed inside a batch). Here the store's named crash
//! points (`crash-points` feature, `PGTLS_CRASH_AT=<point>:<n>`) abort a worker process
//! the n-th time it passes a point, for every point and every n the operation reaches,
//! and the state each abort leaves is checked:
//!
//! * the next `DirStore::open` leaves no temporary or unfinished file, `newcerts/` equals
//!   `index.txt`, and `DirStore::check` finds nothing wrong;
//! * the operation happened entirely or not at all, and which one is fixed by the point:
//!   before the index rename nothing happened, after it everything did;
//! * CRL numbers are never reused (a kill between `crlnumber` and `crl.pem` leaves a gap);
//! * a kill during the clean-up itself is finished by the next open;
//! * the store keeps working, and no serial is ever handed out twice.
//!
//! The number of times each operation passes each point is asserted too, so a change
//! to the write protocol that adds or removes a durable step shows up here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pgtls_core::{
    Ca, CertificateParams, DirStore, DistinguishedName, IndexStatus, KeyAlgorithm, KeyPair,
    RevocationReason, SerialNumber, Store, StoreFiles, Validity,
};
use time::{Duration, OffsetDateTime};

const SIGABRT: i32 = 6;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn client(name: &str) -> CertificateParams {
    CertificateParams::client(name, Validity::days_from(now(), 30)).unwrap()
}

/// The operations a worker runs.
fn run_op(dir: &Path, op: &str) {
    if op == "create" {
        let p = CertificateParams::ca(
            DistinguishedName::common_name("Created CA"),
            Validity::days_from(now(), 3650),
            None,
        );
        let ca = Ca::create_root(&p, KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap();
        DirStore::create(dir, ca, None).unwrap();
        return;
    }
    let store = DirStore::open(dir, None).unwrap();
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    match op {
        "open" => {}
        "issue1" => {
            store
                .issue(&client("one"), &key.public_key(), now())
                .unwrap();
        }
        "issue5" => {
            let reqs: Vec<_> = (0..5)
                .map(|i| (client(&format!("batch{i}")), key.public_key()))
                .collect();
            store.issue_batch(&reqs, now()).unwrap();
        }
        "revoke" => {
            let e = store
                .entries()
                .unwrap()
                .into_iter()
                .find(|e| e.status == IndexStatus::Valid)
                .unwrap();
            store
                .revoke(&e.serial, Some(RevocationReason::Superseded), now())
                .unwrap();
        }
        "crl" => {
            store
                .generate_crl(now() + Duration::days(7), now())
                .unwrap();
        }
        other => panic!("unknown operation {other}"),
    }
}

/// The worker process: this test binary re-run with `--ignored --exact crash_worker`.
#[test]
#[ignore = "worker process body, started by the other tests"]
fn crash_worker() {
    let dir = PathBuf::from(std::env::var("PGTLS_CRASH_TEST_DIR").unwrap());
    run_op(&dir, &std::env::var("PGTLS_CRASH_TEST_OP").unwrap());
}

/// Runs `op` in a worker with `PGTLS_CRASH_AT=point:n`: true if it aborted there,
/// false if it finished (the operation passes `point` fewer than n times).
fn worker(dir: &Path, op: &str, crash_at: Option<(&str, usize)>) -> bool {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "crash_worker", "--nocapture"])
        .env("PGTLS_CRASH_TEST_DIR", dir)
        .env("PGTLS_CRASH_TEST_OP", op)
        .env_remove("PGTLS_CRASH_AT");
    if let Some((point, n)) = crash_at {
        cmd.env("PGTLS_CRASH_AT", format!("{point}:{n}"));
    }
    let out = cmd.output().unwrap();
    match (out.status.success(), out.status.signal()) {
        (true, _) => false,
        (false, Some(SIGABRT)) if crash_at.is_some() => true,
        _ => panic!(
            "worker {op} (crash at {crash_at:?}) failed: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The store's durable state, as the crash tests compare it.
#[derive(Clone, Debug, PartialEq)]
struct State {
    /// Serial → revoked?
    index: BTreeMap<String, bool>,
    crlnumber: String,
    crl: Option<String>,
}

fn state(dir: &Path) -> State {
    let files = StoreFiles::in_dir(dir);
    let index = DirStore::read_entries(&files)
        .unwrap()
        .into_iter()
        .map(|e| {
            let revoked = matches!(e.status, IndexStatus::Revoked { .. });
            (e.serial.to_hex(), revoked)
        })
        .collect();
    let crlnumber = std::fs::read_to_string(&files.crlnumber)
        .unwrap()
        .trim()
        .to_owned();
    let crl = DirStore::open(dir, None)
        .unwrap()
        .current_crl()
        .unwrap()
        .and_then(|c| c.crl_number().map(SerialNumber::to_hex));
    State {
        index,
        crlnumber,
        crl,
    }
}

/// Opens the store after a crash and checks everything that must hold whatever the
/// point; returns its state.
fn recovered(dir: &Path, what: &str, stale_crl_allowed: bool) -> State {
    DirStore::open(dir, None).unwrap();
    assert_eq!(
        common::store_leftovers(dir),
        Vec::<PathBuf>::new(),
        "{what}: left after open"
    );
    let report = DirStore::check(&StoreFiles::in_dir(dir), now()).unwrap();
    let problems: Vec<_> = report
        .problems
        .iter()
        .filter(|p| !(stale_crl_allowed && matches!(p, pgtls_core::StoreProblem::Crl { .. })))
        .collect();
    assert!(problems.is_empty(), "{what}: {problems:?}");
    let s = state(dir);
    let newcerts: Vec<String> = common::newcert_serials(dir).into_iter().collect();
    assert_eq!(
        newcerts,
        s.index.keys().cloned().collect::<Vec<_>>(),
        "{what}: newcerts/ and index.txt disagree"
    );
    if let Some(crl) = &s.crl {
        let (crl, next) = (
            SerialNumber::from_hex(crl).unwrap(),
            SerialNumber::from_hex(&s.crlnumber).unwrap(),
        );
        assert!(
            crl < next,
            "{what}: crl.pem {crl} not below crlnumber {next}"
        );
    }
    s
}

fn copy_store(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a failed");
    // A copy is a moved store: point its openssl.cnf at itself.
    assert!(DirStore::rewrite_openssl_cnf(&StoreFiles::in_dir(to)).unwrap());
}

/// A store with three certificates, one revoked, and a CRL.
fn template(root: &Path) -> PathBuf {
    let dir = root.join("template");
    let p = CertificateParams::ca(
        DistinguishedName::common_name("Crash CA"),
        Validity::days_from(now(), 3650),
        None,
    );
    let ca = Ca::create_root(&p, KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap();
    let s = DirStore::create(&dir, ca, None).unwrap();
    let k = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let serials: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            s.issue(&client(n), &k.public_key(), now())
                .unwrap()
                .serial()
                .unwrap()
        })
        .collect();
    s.revoke(&serials[0], None, now()).unwrap();
    s.generate_crl(now() + Duration::days(7), now()).unwrap();
    dir
}

/// Every (point, n) that `op` reaches, each in a fresh copy of the template: returns
/// how many times the operation passes each point, and checks each crash's state
/// with `expect(point, n, before, after_crash)`.
fn walk(
    root: &Path,
    template: &Path,
    op: &str,
    expect: impl Fn(&str, usize, &State, &State),
) -> BTreeMap<&'static str, usize> {
    let before = state(template);
    let mut passes = BTreeMap::new();
    let mut case = 0;
    for point in pgtls_core::crash::POINTS {
        let mut n = 1;
        loop {
            case += 1;
            let dir = root.join(format!("{op}-{case}"));
            copy_store(template, &dir);
            let what = format!("{op} killed at {point}:{n}");
            if !worker(&dir, op, Some((point, n))) {
                break;
            }
            let after = recovered(&dir, &what, op == "revoke");
            expect(point, n, &before, &after);
            // The store goes on working, and hands out no serial twice.
            worker(&dir, "issue1", None);
            let again = recovered(&dir, &format!("{what}, then issue1"), op == "revoke");
            assert_eq!(again.index.len(), after.index.len() + 1, "{what}");
            std::fs::remove_dir_all(&dir).unwrap();
            n += 1;
        }
        passes.insert(*point, n - 1);
    }
    passes
}

fn counts(pairs: &[(&'static str, usize)]) -> BTreeMap<&'static str, usize> {
    pgtls_core::crash::POINTS
        .iter()
        .map(|p| {
            let n = pairs.iter().find(|(q, _)| q == p).map_or(0, |(_, n)| *n);
            (*p, n)
        })
        .collect()
}

fn issue_expect(batch: usize) -> impl Fn(&str, usize, &State, &State) {
    move |point, n, before, after| {
        let what = format!("killed at {point}:{n}");
        let committed = matches!(point, "issue.committed" | "issue.moved");
        if committed {
            assert_eq!(after.index.len(), before.index.len() + batch, "{what}");
            assert!(
                before
                    .index
                    .iter()
                    .all(|(s, r)| after.index.get(s) == Some(r)),
                "{what}: old entries changed"
            );
        } else {
            assert_eq!(
                after, before,
                "{what}: an uncommitted issuance left a trace"
            );
        }
        assert_eq!(
            (&after.crlnumber, &after.crl),
            (&before.crlnumber, &before.crl)
        );
    }
}

#[test]
fn an_issuance_killed_anywhere_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path());
    let passes = walk(tmp.path(), &t, "issue1", issue_expect(1));
    // certificate + index.txt written, one pending rename, the commit, one move.
    assert_eq!(
        passes,
        counts(&[
            ("tmp.written", 2),
            ("issue.staged", 1),
            ("issue.committed", 1),
            ("issue.moved", 1)
        ])
    );
}

#[test]
fn a_batch_killed_anywhere_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path());
    let passes = walk(tmp.path(), &t, "issue5", issue_expect(5));
    assert_eq!(
        passes,
        counts(&[
            ("tmp.written", 6),
            ("issue.staged", 5),
            ("issue.committed", 1),
            ("issue.moved", 5)
        ])
    );
}

#[test]
fn a_revocation_killed_anywhere_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path());
    let passes = walk(tmp.path(), &t, "revoke", |point, n, before, after| {
        let revoked = |s: &State| s.index.values().filter(|r| **r).count();
        let what = format!("killed at {point}:{n}");
        assert_eq!(after.index.len(), before.index.len(), "{what}");
        match point {
            "tmp.written" => assert_eq!(after, before, "{what}"),
            "tmp.renamed" => assert_eq!(revoked(after), revoked(before) + 1, "{what}"),
            _ => panic!("{what}: not a point of a revocation"),
        }
    });
    assert_eq!(passes, counts(&[("tmp.written", 1), ("tmp.renamed", 1)]));
}

#[test]
fn a_crl_killed_anywhere_never_reuses_a_number() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path());
    let passes = walk(tmp.path(), &t, "crl", |point, n, before, after| {
        let what = format!("killed at {point}:{n}");
        let next = |h: &str| SerialNumber::from_hex(h).unwrap().next().unwrap().to_hex();
        assert_eq!(after.index, before.index, "{what}");
        match (point, n) {
            ("tmp.written", _) => assert_eq!(after, before, "{what}"),
            // crlnumber advanced, crl.pem not replaced yet: a gap, never a reuse.
            ("tmp.renamed", 1) | ("crl.numbered", 1) => {
                assert_eq!(after.crlnumber, next(&before.crlnumber), "{what}");
                assert_eq!(after.crl, before.crl, "{what}");
            }
            ("tmp.renamed", 2) => {
                assert_eq!(after.crlnumber, next(&before.crlnumber), "{what}");
                assert_eq!(after.crl.as_deref(), Some(&*before.crlnumber), "{what}");
            }
            _ => panic!("{what}: not a point of a CRL"),
        }
    });
    assert_eq!(
        passes,
        counts(&[("tmp.written", 2), ("tmp.renamed", 2), ("crl.numbered", 1)])
    );
}

#[test]
fn a_kill_during_the_clean_up_is_finished_by_the_next_open() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path());
    let before = state(&t);
    let dir = tmp.path().join("recover");
    copy_store(&t, &dir);
    // Killed right after the commit: five certificates recorded, none moved yet.
    assert!(worker(&dir, "issue5", Some(("issue.committed", 1))));
    let pending = |d: &Path| {
        common::store_leftovers(d)
            .iter()
            .filter(|p| p.to_string_lossy().contains(".pgtls-pending-"))
            .count()
    };
    assert_eq!(pending(&dir), 5);
    // Each open is killed after finishing one more of them.
    for left in (1..5).rev() {
        assert!(worker(&dir, "open", Some(("recover.moved", 1))));
        assert_eq!(pending(&dir), left);
    }
    let after = recovered(&dir, "after the interrupted clean-ups", false);
    assert_eq!(after.index.len(), before.index.len() + 5);
}

#[test]
fn a_create_killed_anywhere_leaves_no_store_and_does_not_stop_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let mut passes = BTreeMap::new();
    for point in pgtls_core::crash::POINTS {
        let mut n = 1;
        loop {
            let parent = tmp.path().join(format!("{point}-{n}"));
            let dir = parent.join("ca");
            let what = format!("create killed at {point}:{n}");
            if !worker(&dir, "create", Some((point, n))) {
                break;
            }
            assert!(!dir.exists(), "{what}: a store directory appeared");
            let staged: Vec<_> = std::fs::read_dir(&parent).unwrap().collect();
            assert_eq!(
                staged.len(),
                1,
                "{what}: expected the one staging directory"
            );
            // The next create goes through and removes what the killed one left.
            worker(&dir, "create", None);
            let left: Vec<_> = std::fs::read_dir(&parent)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(left, vec![std::ffi::OsString::from("ca")], "{what}");
            let s = recovered(&dir, &what, false);
            assert!(s.index.is_empty() && s.crl.is_none(), "{what}: {s:?}");
            assert_eq!(s.crlnumber, "01");
            n += 1;
        }
        passes.insert(*point, n - 1);
    }
    // Six files through a temporary and a rename each (the key is written in place,
    // 0600 from its creation, inside the staging directory), then the one rename.
    assert_eq!(
        passes,
        counts(&[("tmp.written", 6), ("tmp.renamed", 6), ("create.staged", 1)])
    );
}
